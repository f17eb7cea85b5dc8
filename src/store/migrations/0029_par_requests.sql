-- Pushed authorization requests (issue 15 item 5, RFC 9126; SECURITY.md
-- AZ-12, AZ-13, DS-04). A client POSTs its authorization request to /par
-- and gets back a request_uri (urn:ietf:params:oauth:request_uri: and 256
-- random bits) to send the browser to /authorize with. uri_hash is the
-- SHA-256 (hex) of that whole request_uri: the value itself is never
-- stored. params are the pushed parameters, already validated, as an
-- application/x-www-form-urlencoded string without any client credential.
-- A row is taken (deleted) once, by the client it was pushed by, before
-- expires_at (setting par_ttl, 5..600 s); later rows are dead and purged.
-- ip is the pusher's address: a public client's pushes are capped per IP,
-- every client's per client (DS-04), the oldest (by created_ms) going
-- first.
CREATE TABLE par_requests (
    uri_hash TEXT NOT NULL PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    params TEXT NOT NULL,
    ip TEXT NOT NULL,
    public_client BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX par_requests_expires ON par_requests (expires_at);
CREATE INDEX par_requests_client ON par_requests (client_id, created_ms);
CREATE INDEX par_requests_ip ON par_requests (ip, created_ms)
    WHERE public_client = 1;
