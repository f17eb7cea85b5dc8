-- DPoP proof replay cache (RFC 9449 §11.1; SECURITY.md RT-06, TX-06,
-- DS-04; issue 15). Every accepted proof leaves the SHA-256 hex of its
-- key's thumbprint and its jti here until the proof could no longer be
-- accepted anyway (its iat + 60 s, Part 2.5: at most 75 s from now), so a
-- second use of the same proof by the same key is a replay. Only the hash
-- is kept (a jti over 256 bytes is refused before it gets here), expired
-- rows are purged every minute, and the insert that decides is one atomic
-- statement, so two nodes or threads racing with one proof cannot both
-- win.
CREATE TABLE dpop_jtis (
    jti_hash TEXT NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dpop_jtis_expires ON dpop_jtis (expires_at);
