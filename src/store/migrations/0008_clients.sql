-- OAuth clients (issue 4). client_id is "pcc_" + 22 base64url characters
-- of 128 random bits, never reused: a deleted id goes to deleted_clients.
-- grant_types and scopes are space-separated lists, checked by
-- src/oauth/client.c before they get here. jwks is the registered JWKS
-- (JSON text) of a private_key_jwt client, else NULL.
CREATE TABLE clients (
    client_id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    is_public BIGINT NOT NULL DEFAULT 0,
    token_endpoint_auth_method TEXT NOT NULL CHECK (
        token_endpoint_auth_method IN ('client_secret_basic',
            'client_secret_post', 'private_key_jwt', 'none')),
    grant_types TEXT NOT NULL,
    scopes TEXT NOT NULL,
    id_token_signed_response_alg TEXT NOT NULL,
    first_party BIGINT NOT NULL DEFAULT 0,
    jwks TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX clients_created ON clients (created_at);

-- Registered redirect URIs, compared byte for byte (AZ-01); kind 'login'
-- for the authorization endpoint, 'post_logout' for RP-initiated logout.
CREATE TABLE client_redirect_uris (
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('login', 'post_logout')),
    uri TEXT NOT NULL,
    PRIMARY KEY (client_id, kind, uri)
);

-- Client secrets (TK-08): only the hex SHA-256 of the 32 random bytes.
-- expires_at NULL is the current secret; a row with expires_at set is the
-- previous one, still accepted until then (rotation overlap). At most two
-- rows per client.
CREATE TABLE client_secrets (
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NULL
);
CREATE INDEX client_secrets_client ON client_secrets (client_id);

-- Tombstones of deleted clients: an id listed here is never inserted again.
CREATE TABLE deleted_clients (
    client_id TEXT NOT NULL PRIMARY KEY,
    deleted_at BIGINT NOT NULL
);
