-- Consents (issue 4, SECURITY.md CF-03): what a user allowed a client,
-- remembered per user and client. scope is the space-separated set that
-- was granted; a later request is covered only when every requested scope
-- is in it. Deleting the user or the client deletes the consent.
CREATE TABLE consents (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client ON consents (client_id);
