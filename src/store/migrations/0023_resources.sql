-- Resources (issue 14, RFC 8707): the APIs that accept our access tokens.
-- id is the resource identifier itself, an absolute https URI without
-- query or fragment (http only for a loopback host), checked by
-- src/machine/resource.c; a token minted for it carries exactly this aud.
-- scopes is the space-separated list of scopes the resource knows (at
-- least one). client_id is the confidential client the resource server
-- authenticates with at /introspect, where it learns about the tokens
-- whose aud is this resource and nothing else (SECURITY.md IR-02, TX-04);
-- one client serves at most one resource. Deleting that client leaves the
-- resource without introspection credentials (SET NULL).
CREATE TABLE resources (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL CHECK (scopes <> ''),
    client_id TEXT NULL UNIQUE
        REFERENCES clients (client_id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
