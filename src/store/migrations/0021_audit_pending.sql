-- Audit rows written but not chained yet (issue 13, decision 0051). On
-- PostgreSQL a request's audit row is inserted here in a write transaction
-- that takes no global lock; the chainer (one at a time across every node)
-- later gives it the next seq and chain mac in audit_log and deletes it
-- here, in one transaction. SQLite chains in the append itself and leaves
-- this table empty.
--
-- id is 32 random hex digits. mac is HMAC-SHA-256 with the audit key over
-- "pc-audit-pending-v1", id, ts_ms and every column (src/audit/audit.c), so
-- a row cannot be forged or edited here without the key, only deleted
-- (`portcullis audit verify` checks these macs and reports rows left here
-- too long). The service role needs SELECT, INSERT and DELETE on it.
CREATE TABLE audit_pending (
    id TEXT NOT NULL PRIMARY KEY,
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
    mac TEXT NOT NULL
);
CREATE INDEX audit_pending_order ON audit_pending (ts_ms, id);
