-- Keys that rotate themselves (issue 17, item 6; decision 0076). One row
-- per step a signing key went through under signing_key_rotate_every:
--
--   succeeded  a successor was added for kid (successor: its kid)
--   retired    kid stopped signing (done_at: its successor's activation)
--   dropped    kid left the JWKS for good and its row was deleted
--
-- The primary key is what makes each step happen once across nodes: every
-- node checks on its own clock, and the node whose INSERT ... ON CONFLICT
-- DO NOTHING inserts the row is the one that does the step (adds the key,
-- deletes the row) and writes its audit row, in the same transaction.
-- Rows of signing_keys stay never updated: a key's state still follows
-- from the rows and the clock; this table only records who did what.
--
-- Additive: a node that does not know it is unaffected.
CREATE TABLE signing_key_steps (
    kid TEXT NOT NULL,
    step TEXT NOT NULL CHECK (step IN ('succeeded', 'retired', 'dropped')),
    done_at BIGINT NOT NULL,
    successor TEXT,
    PRIMARY KEY (kid, step)
);
