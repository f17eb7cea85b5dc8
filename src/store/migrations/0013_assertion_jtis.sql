-- private_key_jwt replay cache (RFC 7523 §3 item 7, SECURITY.md TK-09):
-- the jti of every accepted client assertion, as the SHA-256 hex of its
-- bytes, per client, kept until the assertion could no longer be accepted
-- (its exp plus the leeway). A second use of the same (client, jti) while
-- the row lives is a replay. Expired rows are purged every minute.
CREATE TABLE assertion_jtis (
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    jti_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti_hash)
);
CREATE INDEX assertion_jtis_expires ON assertion_jtis (expires_at);
