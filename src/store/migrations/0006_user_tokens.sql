-- One-time tokens sent by mail: password reset and email verification
-- (SECURITY.md RS-02..RS-04, RS-10). The link carries 256 random bits;
-- only token_hash, the lower-case hex SHA-256 of those 32 bytes, is
-- stored (RS-02), so reading this table yields no working link. email is
-- the exact address the token was sent to: a verify token verifies only
-- that value (RS-10). A token is live while now < expires_at (unix
-- seconds); using it deletes the row (single use, RS-03).
CREATE TABLE user_tokens (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('reset', 'verify')),
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX user_tokens_user ON user_tokens (user_id);
CREATE INDEX user_tokens_expires ON user_tokens (expires_at);
