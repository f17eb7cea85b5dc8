-- Users. id is the OIDC sub: "usr_" + 22 base64url characters of 128 random
-- bits, never derived from the email, never changed and never reused
-- (OI-07). email is kept as entered; email_key is its ASCII lower-cased form
-- and carries the case-insensitive uniqueness.
CREATE TABLE users (
    id TEXT NOT NULL PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    email_verified BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    disabled_at BIGINT NULL
);
CREATE INDEX users_created ON users (created_at);

-- One row per credential kind a user holds. secret is the Argon2id PHC
-- string for kind 'password' (PW-01); later kinds widen the CHECK.
CREATE TABLE credentials (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('password')),
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Tombstones of deleted users: an id listed here is never inserted again,
-- so a sub provably never comes back for someone else.
CREATE TABLE deleted_users (
    id TEXT NOT NULL PRIMARY KEY,
    deleted_at BIGINT NOT NULL
);
