-- Delegation a person can see (issue 15; SECURITY.md TX-04, TX-08).
--
-- resource (RFC 8707) is the one registered resource an authorization
-- request named: kept on the pending request while the user signs in and
-- consents, then on the code, and from the code on the token family
-- (token_families.resource, migration 0027), so every access token of
-- that grant has aud = the resource. NULL: tokens for us, as before.
--
-- grant_expires_at is the end of a delegation to an agent, as the user
-- chose it on the consent page (at most the delegation_ttl setting): the
-- family redeemed from the code ends then, and with it every token
-- derived from it. NULL: the usual refresh_token_absolute.
--
-- Additive: a node that does not know the columns never writes them, and
-- its rows read as "no resource, the usual lifetime".
ALTER TABLE authz_requests ADD COLUMN resource TEXT NULL;
ALTER TABLE auth_codes ADD COLUMN resource TEXT NULL;
ALTER TABLE auth_codes ADD COLUMN grant_expires_at BIGINT NULL;
