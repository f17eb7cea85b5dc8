-- Workload federation (issue 14 item 5; SECURITY.md DS-05, JW-01..09,
-- TX-05): external issuers whose tokens a workload may exchange at /token
-- for a short-lived access token of a service account, with no static
-- secret on the workload's side.
--
-- A trust (id wif_...) names one issuer (unique: a token's iss selects at
-- most one trust) and where its keys come from: an inline JWKS given at
-- `federation add` time, or an https jwks_uri fetched per DS-05 (exactly
-- one of the two). audience is what the token's aud must contain; algs the
-- space-separated JOSE algorithms accepted; max_lifetime the longest token
-- (exp - iat) accepted, in seconds.
CREATE TABLE workload_trusts (
    trust_id TEXT PRIMARY KEY,
    issuer TEXT NOT NULL UNIQUE,
    jwks TEXT,
    jwks_uri TEXT,
    audience TEXT NOT NULL,
    algs TEXT NOT NULL,
    max_lifetime BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CHECK ((jwks IS NULL) <> (jwks_uri IS NULL))
);
-- The rules of a trust, tried in rule_no order; the first that matches
-- gives the service account. sub_pattern is an exact sub or a pattern
-- whose only wildcard is '*' (anchored); claims a JSON object of other
-- claims that must equal the given strings; scopes (NULL: no narrowing)
-- the most the rule grants. No foreign key to service_accounts: the
-- account's liveness is checked at every exchange.
CREATE TABLE workload_rules (
    trust_id TEXT NOT NULL REFERENCES workload_trusts (trust_id)
        ON DELETE CASCADE,
    rule_no BIGINT NOT NULL,
    sub_pattern TEXT NOT NULL,
    claims TEXT NOT NULL,
    service_account_id TEXT NOT NULL,
    scopes TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (trust_id, rule_no)
);
-- The replay cache of exchanged subject tokens (TX-05): the SHA-256 hex of
-- each accepted jti, per trust, kept until the token could no longer be
-- accepted (its exp plus the leeway). A second use while the row lives is
-- a replay. Expired rows are purged with the other caches. (Not the
-- private_key_jwt table assertion_jtis: its rows belong to clients.)
CREATE TABLE workload_jtis (
    trust_id TEXT NOT NULL REFERENCES workload_trusts (trust_id)
        ON DELETE CASCADE,
    jti_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (trust_id, jti_hash)
);
CREATE INDEX workload_jtis_expires ON workload_jtis (expires_at);
