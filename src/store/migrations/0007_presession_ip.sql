-- DS-04: pre-sessions (user_id NULL, created by every sign-in or reset
-- form) are capped per client IP; this index finds them.
CREATE INDEX sessions_pre_ip ON sessions (ip, created_at) WHERE user_id IS NULL;
