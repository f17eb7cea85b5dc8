-- Refresh tokens (issue 4, SECURITY.md RT section). Every refresh token
-- belongs to a family: the chain of rotations that began with one
-- authorization. Only the hex SHA-256 of a token's 32 random bytes is
-- stored. A token is used once (used_at set by the rotation that consumed
-- it); presenting a used token again is reuse, and revokes the whole
-- family (revoked_at). The family's absolute end is fixed at creation;
-- each token's own expires_at is the idle limit, capped by it.
CREATE TABLE token_families (
    family_id TEXT NOT NULL PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL DEFAULT '',
    sid TEXT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NULL,
    revoke_reason TEXT NULL
);
CREATE INDEX token_families_user ON token_families (user_id);
CREATE INDEX token_families_expires ON token_families (expires_at);

CREATE TABLE refresh_tokens (
    token_hash TEXT NOT NULL PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES token_families (family_id)
        ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
