-- Whether a refresh grant re-issues an ID token (issue 13; OIDC Core
-- §12.2 lets the server omit it). 1, the default, keeps what every client
-- had before: an ID token with each refresh of an openid grant. 0 answers
-- a refresh with the access and refresh tokens only, which saves the ID
-- token's signature (an RSA-3072 one is most of a rotation's CPU).
-- Additive: a node that does not know the column never reads or writes
-- it, and the clients it inserts get the default.
ALTER TABLE clients ADD COLUMN id_token_on_refresh BIGINT NOT NULL DEFAULT 1;
