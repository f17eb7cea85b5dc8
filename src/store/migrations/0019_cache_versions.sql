-- Versions the per-node caches check on every grant (issue 13; decision
-- 0049; SECURITY.md TK-07, TK-08). One statement reads both rows.
--
-- 'clients': + 1 in the same transaction as every write that changes a
-- client, its redirect URIs or its secrets (src/store/clients.c). A node
-- whose cached client carries another value reads the client again, so a
-- deleted client, a rotated secret or a changed registration is seen at
-- the next request on every node and after a change by the CLI.
--
-- 'client_auth_failure_window': the latest throttle window (window_start)
-- in which a failed client authentication was counted, raised in the same
-- transaction as the count (src/store/throttle.c). While it is below the
-- current window no client_ip or client_pair row of that window exists, so
-- the TK-08 check needs no read of its own. It starts at the latest such
-- window already counted (-1: none).
CREATE TABLE cache_versions (
    name TEXT NOT NULL PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO cache_versions (name, value) VALUES ('clients', 0);
INSERT INTO cache_versions (name, value)
    SELECT 'client_auth_failure_window', COALESCE(MAX(window_start), -1)
    FROM throttle_windows WHERE scope IN ('client_ip', 'client_pair');
