-- The audit query for principals (issue 14; SECURITY.md TX-07):
-- `portcullis audit query --principal ID [--since T] [--until T]` reads the
-- rows where actor = ID or target = ID, oldest first, in a time window
-- (src/store/audit_query.c). It runs as two range scans, one per index
-- below, each already in (ts_ms, seq) order, merged; so a service
-- account with a year of history answers without reading the whole log.
-- The inventory's "scopes used in the last 30 days" reads a credential's
-- token.issue rows through the first one.
--
-- audit_pending needs none: it holds only the rows of the last moments
-- (decision 0051) and is read whole. On PostgreSQL building these on a
-- large audit_log holds the chainer (pending rows wait) but no request.
CREATE INDEX audit_log_actor ON audit_log (actor, ts_ms, seq);
CREATE INDEX audit_log_target ON audit_log (target, ts_ms, seq);
