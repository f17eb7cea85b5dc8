-- Issue 15 (agents acting for people): the columns every part of it reads.
--
-- clients.kind: 'client' (every client so far) or 'agent' (an AI agent or
-- other software acting for users; src/oauth/client.c checks its rules).
-- owner_id: the user ("usr_") or group ("grp_") answerable for it, or NULL.
-- resources: the space-separated RFC 8707 resource URIs it may ever ask
-- for ('' = none listed). max_delegation_depth: how many further hops a
-- token it holds may be exchanged through (capped by the server's
-- delegation_max_depth); may_delegate: whether it may hand a token to
-- another agent; allow_impersonation: whether its token exchanges may
-- omit "act" (off: delegation, never impersonation, TX-01).
-- dpop_required / par_required: it must use DPoP (RFC 9449) / pushed
-- authorization requests (RFC 9126). cors_origins: space-separated browser
-- origins allowed besides those of its redirect URIs (CF-05).
-- registration: 'operator' (made with the CLI), 'dynamic' (RFC 7591) or
-- 'metadata' (a client ID metadata document); anything but 'operator' is
-- shown as unverified. disabled_at NULL: enabled.
ALTER TABLE clients ADD COLUMN kind TEXT NOT NULL DEFAULT 'client';
ALTER TABLE clients ADD COLUMN owner_id TEXT NULL;
ALTER TABLE clients ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN max_delegation_depth BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN may_delegate BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN allow_impersonation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN dpop_required BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN par_required BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN cors_origins TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN registration TEXT NOT NULL DEFAULT 'operator';
ALTER TABLE clients ADD COLUMN disabled_at BIGINT NULL;
CREATE INDEX clients_owner ON clients (owner_id);

-- A resource whose tokens must be DPoP-bound (RFC 9728
-- dpop_bound_access_tokens_required).
ALTER TABLE resources ADD COLUMN dpop_required BIGINT NOT NULL DEFAULT 0;

-- The grant (token family): the RFC 8707 resource its access tokens are
-- for (NULL: the issuer), the DPoP key thumbprint its refresh tokens are
-- bound to (NULL: not bound), and when it was last used (a refresh or a
-- token exchange; NULL: not since it was issued).
ALTER TABLE token_families ADD COLUMN resource TEXT NULL;
ALTER TABLE token_families ADD COLUMN dpop_jkt TEXT NULL;
ALTER TABLE token_families ADD COLUMN last_used_at BIGINT NULL;
