-- Audit retention (issue 17, item 7; decision 0077; SECURITY.md AU-05).
-- `portcullis audit prune` deletes the oldest rows of audit_log, a whole
-- prefix of the chain at a time (seq first..seq, all older than the
-- retention), and in the same transaction records here the anchor the
-- rest of the chain starts from: seq and mac are the last pruned row's
-- seq and chain mac, so the first remaining row (seq + 1) links to it.
-- `portcullis audit verify` starts from the newest anchor: a row missing
-- after it (deleted outside prune) is a gap no anchor explains.
--
-- amac is HMAC-SHA-256 with the audit key over "pc-audit-anchor-v1" and
-- every other column (src/audit/audit.c, audit_anchor_mac()): an anchor
-- edited, or forged to hide rows deleted from the front, does not verify
-- without the master key. Only the newest anchor matters; prune deletes
-- the older ones in its transaction (the chain's audit.prune rows keep
-- the history).
--
-- The serving role needs only SELECT here: grant INSERT and DELETE (and
-- DELETE on audit_log) to the role that prunes (docs/operations.md).
CREATE TABLE audit_anchor (
    seq BIGINT NOT NULL PRIMARY KEY,
    mac TEXT NOT NULL,
    ts_ms BIGINT NOT NULL,
    first_seq BIGINT NOT NULL,
    pruned BIGINT NOT NULL,
    cutoff_ms BIGINT NOT NULL,
    pruned_at_ms BIGINT NOT NULL,
    amac TEXT NOT NULL
);
