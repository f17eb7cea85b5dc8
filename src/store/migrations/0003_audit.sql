-- The audit log (SECURITY.md AU-01, AU-02, AU-05). Rows are only ever
-- inserted: seq counts 1, 2, 3, ... without gaps, and each row carries the
-- mac of the row before it (prev_mac; 64 zero hex digits for seq 1) and its
-- own mac, an HMAC-SHA-256 over prev_mac and every column of the row, keyed
-- from the master key (src/audit/audit.c). An edited, deleted or reordered
-- row breaks the chain and `portcullis audit verify` names it.
--
-- SQLite has no grants, so nothing here stops a writer with file access;
-- the chain detects it. On PostgreSQL the service role will be given
-- INSERT and SELECT only (REVOKE UPDATE, DELETE ON audit_log).
--
-- ts_ms is UTC milliseconds; session_hash is the first 16 hex digits of
-- SHA-256 of a session id, never the id; details is a compact JSON object
-- with no secrets (AU-03).
CREATE TABLE audit_log (
    seq BIGINT NOT NULL PRIMARY KEY,
    ts_ms BIGINT NOT NULL,
    event TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'alert')),
    actor TEXT,
    target TEXT,
    ip TEXT,
    user_agent TEXT,
    request_id TEXT,
    session_hash TEXT,
    details TEXT,
    prev_mac TEXT NOT NULL,
    mac TEXT NOT NULL
);
