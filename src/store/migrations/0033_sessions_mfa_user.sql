-- The pending second-factor steps of a user (issue 16; SECURITY.md MF-04,
-- SS-07, SS-08, RS-08). A pending step is a session row with user_id NULL
-- and mfa_user_id set (migration 0032). Whatever ends a user's sessions
-- (a password change or reset, disabling the account, an operator's
-- sign-out) ends their pending steps too, by mfa_user_id; deleting a user
-- cascades through the same column. This index keeps both from reading
-- every session. Partial: signed-in sessions and pre-sessions have no
-- mfa_user_id.
--
-- Additive: a node that does not know it is unaffected.
CREATE INDEX sessions_mfa_user ON sessions (mfa_user_id)
    WHERE mfa_user_id IS NOT NULL;
