-- Signing keys. The private part is sealed with a key derived from the
-- master key (XChaCha20-Poly1305, the kid as associated data); the public
-- part is the JWK published at /jwks.json. Rows are never updated: a key's
-- retirement follows from the activate_at of the next key of its alg, so
-- every node computes the same key ring from the same rows.
CREATE TABLE signing_keys (
    kid TEXT NOT NULL PRIMARY KEY,
    alg TEXT NOT NULL CHECK (alg IN ('ES256', 'RS256', 'PS256', 'EdDSA')),
    public_jwk TEXT NOT NULL,
    private_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    activate_at BIGINT NOT NULL
);
CREATE INDEX signing_keys_alg_activate ON signing_keys (alg, activate_at);
