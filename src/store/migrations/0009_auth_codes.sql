-- Authorization codes (issue 4, SECURITY.md TK-01, TK-02): only the hex
-- SHA-256 of the code's 32 random bytes is stored. A code is redeemed once:
-- used_at is set in the same statement that checks it is NULL, so of two
-- concurrent redemptions exactly one wins. The row stays until it expires,
-- so a replay is recognised (not just "unknown") and the token family
-- issued from it (family_id) can be revoked. Deleting the client or the
-- user deletes their codes.
CREATE TABLE auth_codes (
    code_hash TEXT NOT NULL PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT NULL,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL DEFAULT '',
    sid TEXT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT NULL,
    family_id TEXT NULL
);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);
