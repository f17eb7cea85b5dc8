-- Browser sessions (SECURITY.md SS-01..SS-10). The cookie carries 256
-- random bits; only id_hash, the lower-case hex SHA-256 of those 32 bytes,
-- is stored (SS-03), so reading this table yields no live cookie. user_id
-- is NULL for a pre-session (anonymous, carries the login form's CSRF
-- token, LG-07). There is no CSRF column: the CSRF key is derived from the
-- session id itself (src/auth/session.c), so it too exists only where the
-- cookie does. Times are unix seconds; auth_time is 0 for a pre-session;
-- expires_at is the absolute end, fixed at creation. ip and user_agent are
-- capped before they are stored; amr is a space-separated list of methods.
CREATE TABLE sessions (
    id_hash TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    auth_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    amr TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
