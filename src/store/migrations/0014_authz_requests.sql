-- Pending authorization requests (issue 4, SECURITY.md AZ-03, CF-03): an
-- /authorize request that waits for the user to sign in or to consent.
-- The browser carries only an opaque id (256 random bits; its SHA-256 is
-- the key here), never a return URL. A request is taken (deleted) once,
-- when a code or an error is sent back; rows past expires_at are dead and
-- purged. ip is the client IP that started it: each IP holds a capped
-- number of them (DS-04), the oldest going first.
CREATE TABLE authz_requests (
    id_hash TEXT NOT NULL PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    state TEXT NULL,
    nonce TEXT NULL,
    code_challenge TEXT NOT NULL,
    scope TEXT NOT NULL,
    prompt INTEGER NOT NULL,
    login_sid TEXT NULL,
    login_hint TEXT NULL,
    hint_sub TEXT NULL,
    ip TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX authz_requests_expires ON authz_requests (expires_at);
CREATE INDEX authz_requests_ip ON authz_requests (ip, created_at);
