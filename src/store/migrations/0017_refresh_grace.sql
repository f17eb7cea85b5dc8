-- The refresh reuse grace (refresh_reuse_interval, RT-02; issue 11). When
-- it is on, a rotation records on the consumed token the hash of the
-- successor it issued (next_hash) and that successor itself, sealed with
-- a subkey of the master key and bound to the consumed token's hash
-- (next_sealed, never plaintext). A repeat of the consumed token by the
-- same client within the interval gets that same successor back, never a
-- second one. next_sealed is erased once it can no longer be resent: when
-- the successor is rotated, at the first repeat outside the window, and
-- by the purge once the longest allowed interval (10 s) has passed.
-- Additive: a node that does not know the columns never reads or writes
-- them, and with the grace off (the default) they stay NULL.
ALTER TABLE refresh_tokens ADD COLUMN next_hash TEXT NULL;
ALTER TABLE refresh_tokens ADD COLUMN next_sealed TEXT NULL;
CREATE INDEX refresh_tokens_next ON refresh_tokens (next_hash)
    WHERE next_sealed IS NOT NULL;
