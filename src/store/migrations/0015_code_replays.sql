-- A replay of an authorization code that arrives after the winning
-- redemption but before the winner has recorded its token family
-- (family_id still NULL) has nothing to revoke. It marks the code
-- instead (replayed_at); recording the family then reports the replay,
-- and the winner revokes its own family (TK-01). Additive: a node that
-- does not know the column never reads or writes it.
ALTER TABLE auth_codes ADD COLUMN replayed_at BIGINT NULL;
