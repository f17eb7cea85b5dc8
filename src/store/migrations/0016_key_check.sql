-- Master-key proof and write probe (issue 11, items 6 and 8).
--
-- key_check holds one value sealed under the master key (context
-- "keycheck"). Every command that writes, and serve, unseals it first and
-- refuses to write when it does not unseal: a store always has something
-- to prove the key against, even before it has signing keys. The row
-- itself needs the master key, so it is written by the first command that
-- holds one (docs/architecture.md, "Master key, sealing and the key
-- ring"), not here. One row: id is always 1.
CREATE TABLE key_check (
    id INTEGER NOT NULL PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- /readyz proves that the store takes writes by updating this row at most
-- once per probe interval (src/server/health.c). One row per store: nodes
-- share it, and a write from any of them is as good as another.
CREATE TABLE health_probe (
    id INTEGER NOT NULL PRIMARY KEY,
    probed_at BIGINT NOT NULL
);
