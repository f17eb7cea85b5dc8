-- Service accounts and groups (issue 14; SECURITY.md section M, SS-08).
--
-- A service account is a principal that is not a person: "svc_" + 22
-- base64url characters of 128 random bits, never reused (a deleted id goes
-- to deleted_service_accounts). It has no credentials row and no password:
-- it never signs in on the login page. scopes is the space-separated set
-- its tokens may carry (with the scopes of its groups); resources the
-- space-separated RFC 8707 resource URIs it may get tokens for ('' = any
-- registered resource, within its scopes). owner_id is a user ("usr_") or
-- a group ("grp_") answerable for it, or NULL. expires_at NULL: no expiry;
-- disabled_at NULL: enabled. tokens_revoked_at: the last time it was
-- disabled; a token issued at or before it stays dead after enabling again
-- (SS-08: a disable revokes, it does not pause). Checked by
-- src/machine/service_account.c before they get here.
CREATE TABLE service_accounts (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    owner_id TEXT NULL,
    scopes TEXT NOT NULL DEFAULT '',
    resources TEXT NOT NULL DEFAULT '',
    expires_at BIGINT NULL,
    disabled_at BIGINT NULL,
    tokens_revoked_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX service_accounts_owner ON service_accounts (owner_id);

-- Tombstones: an id listed here is never inserted again, so a token's sub
-- provably never names a different service account.
CREATE TABLE deleted_service_accounts (
    id TEXT NOT NULL PRIMARY KEY,
    deleted_at BIGINT NOT NULL
);

-- Groups of users and service accounts: "grp_" ids, unique names. scopes
-- are granted to the service accounts among the members (users get only
-- what they consent to); a group's name is what the "groups" claim says.
CREATE TABLE groups (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    scopes TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE deleted_groups (
    id TEXT NOT NULL PRIMARY KEY,
    deleted_at BIGINT NOT NULL
);

-- member_id is a user ("usr_") or a service account ("svc_"); no foreign
-- key as it names either table: the store checks it exists when adding,
-- and deleting a service account deletes its memberships.
CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

-- A client bound to a service account (AK-08): its client_credentials
-- tokens have sub = the service account. NULL: an ordinary client.
-- Additive: a node that does not know the column never reads or writes it.
ALTER TABLE clients ADD COLUMN service_account_id TEXT NULL;
CREATE INDEX clients_service_account ON clients (service_account_id);
