-- Clients that register themselves (issue 15 item 6; SECURITY.md CR-01,
-- CR-03, CR-07; decision 0063). The client rows themselves are ordinary
-- `clients` rows with registration 'dynamic' (RFC 7591) or 'metadata' (a
-- client ID metadata document; client_id is its https URL, and updated_at
-- is the time of the last successful fetch).
--
-- Initial access tokens (RFC 7591 §3): what an operator hands out so that
-- a client may register when client_registration is 'token'. Only the hex
-- SHA-256 of the token's 32 random bytes is kept. token_id is the public
-- handle for list and revoke. Each token registers at most max_clients
-- clients (CR-07); used_clients counts them, in the transaction that
-- inserts the client, so two registrations cannot both take the last use.
CREATE TABLE client_initial_tokens (
    token_id TEXT NOT NULL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    max_clients BIGINT NOT NULL,
    used_clients BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NULL,
    CHECK (used_clients <= max_clients)
);
-- The registration of a dynamically registered client (RFC 7592): the hex
-- SHA-256 of its registration access token's 32 random bytes (CR-03),
-- replaced on every update, and the initial token it registered with
-- (NULL: open registration). Goes with its client.
CREATE TABLE client_registrations (
    client_id TEXT NOT NULL PRIMARY KEY
        REFERENCES clients (client_id) ON DELETE CASCADE,
    access_token_hash TEXT NOT NULL,
    initial_token_id TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- The purge of unused self-registered clients (CR-07) asks, per such
-- client, whether it has any token family.
CREATE INDEX token_families_client ON token_families (client_id);
CREATE INDEX clients_registration ON clients (registration, created_at);
