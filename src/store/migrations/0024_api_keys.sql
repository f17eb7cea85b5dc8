-- API keys (issue 14, SECURITY.md AK-01..08, Part 2.7). A key is
-- pck_<sa|usr>_<key_id>_<secret><check>; only key_id (16 base62
-- characters, not secret; the public id is "key_" || key_id) and the hex
-- SHA-256 of the 43-character secret are kept (AK-01): the key is shown
-- once at creation and cannot be recovered from here.
--
-- kind is the key's type tag: 'sa' (owner_id a svc_ service account) or
-- 'usr' (a personal key, owner_id a usr_ user). scopes is a
-- space-separated list; resource_id the RFC 8707 URI the key is confined
-- to, or NULL. Every key expires (expires_at NOT NULL, AK-05). revoked_at
-- and revoke_reason are set once, never cleared; replaced_by is the
-- key_id of the successor a rotation issued. last_used_at/last_used_ip
-- are written at most once per few minutes per key
-- (src/machine/apikey.c), never on every request.
CREATE TABLE api_keys (
    key_id TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('sa', 'usr')),
    owner_id TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    resource_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoke_reason TEXT,
    replaced_by TEXT,
    last_used_at BIGINT,
    last_used_ip TEXT
);
CREATE INDEX api_keys_owner ON api_keys (owner_id);
