-- Revoked access tokens (issue 4, SECURITY.md IR-04, IR-06; RFC 7009).
-- Access tokens are self-contained JWTs; revoking one puts its jti here
-- until the token's own exp, after which the token is dead anyway and the
-- row is purged. Tokens of a user grant die with their family instead
-- (token_families.revoked_at), so only the jti of a token revoked by
-- itself is ever listed.
CREATE TABLE revoked_access_tokens (
    jti TEXT NOT NULL PRIMARY KEY,
    client_id TEXT NOT NULL,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_access_tokens_expires
    ON revoked_access_tokens (expires_at);
