-- Second factors and passkeys (issue 16; SECURITY.md J: MF-01..08,
-- S: WA-01..08). Every binary value is base64url text, as elsewhere.
--
-- users.webauthn_handle is the opaque random user handle (WebAuthn
-- user.id, 32 bytes, base64url) given to authenticators: never the email
-- or the user id (WA-05). Created on the first passkey enrolment.
ALTER TABLE users ADD COLUMN webauthn_handle TEXT NULL;
CREATE UNIQUE INDEX users_webauthn_handle ON users (webauthn_handle)
    WHERE webauthn_handle IS NOT NULL;

-- A TOTP credential (RFC 6238). One per user. seed_sealed is the 20-byte
-- seed sealed with the master key (MF-06), never readable in the clear
-- from the store. activated_at NULL: enrolment started, not yet proven by
-- a first code (MF-05); such rows never verify a sign-in and are replaced
-- by the next enrolment. last_step is the last accepted time step: only
-- later steps are accepted (MF-01).
CREATE TABLE totp_credentials (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    seed_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    activated_at BIGINT NULL,
    last_step BIGINT NOT NULL DEFAULT 0,
    last_used_at BIGINT NULL
);

-- A passkey / WebAuthn credential (WA-01..08). credential_id is the
-- authenticator's id (base64url), unique across all users (WA-05).
-- public_key is the COSE key as the authenticator sent it; alg its COSE
-- algorithm (-7 ES256, -8 EdDSA, -257 RS256: WA-06). sign_count is the
-- highest counter seen; cloned_at is set when a counter failed to
-- increase (WA-03) and the credential then never signs in. uv: the
-- authenticator verified the user at enrolment. backup_eligible (BE
-- flag): a synced passkey ("swk"), otherwise a device-bound one ("hwk").
-- attestation: the format the enrolment presented ('none', 'packed',
-- 'fido-u2f', 'tpm', ...) and whether its statement was verified.
CREATE TABLE webauthn_credentials (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    public_key TEXT NOT NULL,
    alg BIGINT NOT NULL,
    sign_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    aaguid TEXT NOT NULL DEFAULT '',
    uv BIGINT NOT NULL DEFAULT 0,
    backup_eligible BIGINT NOT NULL DEFAULT 0,
    attestation TEXT NOT NULL DEFAULT 'none',
    attestation_verified BIGINT NOT NULL DEFAULT 0,
    transports TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NULL,
    cloned_at BIGINT NULL
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);

-- A WebAuthn ceremony's challenge (WA-02): 32 random bytes, kept only as
-- their SHA-256 (hex), bound to the browser session that asked for it
-- (session_hash, the session row's id_hash) and to one purpose
-- ('register', 'login', 'factor'), single use (deleted when spent),
-- valid until expires_at (at most 5 minutes). user_id: the user an
-- enrolment or a second-factor step is for; NULL for a passwordless
-- sign-in, where the credential names the user.
CREATE TABLE webauthn_challenges (
    challenge_hash TEXT NOT NULL PRIMARY KEY,
    session_hash TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('register', 'login', 'factor')),
    user_id TEXT NULL REFERENCES users (id) ON DELETE CASCADE,
    uv_required BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_challenges_session ON webauthn_challenges (session_hash);
CREATE INDEX webauthn_challenges_expires ON webauthn_challenges (expires_at);

-- Recovery codes (MF-07): 10 per user, each 80 random bits behind a
-- short non-secret index (idx, 1..10) so that one guess costs one
-- Argon2id verification. phc is the Argon2id hash (salted per code).
-- used_at set: spent. Regenerating deletes the old set in the same
-- transaction that inserts the new one.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idx BIGINT NOT NULL CHECK (idx BETWEEN 1 AND 99),
    phc TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT NULL,
    PRIMARY KEY (user_id, idx)
);

-- Per-account second-factor failures (MF-03), counted before the check
-- and never reset by the password: only by a correct factor or an
-- operator reset. blocked_until: the backoff in force (Part 2: after 5
-- consecutive failures 30 s, doubling). totp_suspended_at: set after 20
-- consecutive failures; TOTP is then refused until a recovery code or an
-- operator reset clears it. Past 100 consecutive failures every factor
-- is refused until an operator reset.
CREATE TABLE mfa_state (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    failures BIGINT NOT NULL DEFAULT 0,
    last_failure_at BIGINT NULL,
    blocked_until BIGINT NOT NULL DEFAULT 0,
    totp_suspended_at BIGINT NULL,
    notified_at BIGINT NULL
);

-- The pending second-factor step (MF-04). After a correct password, the
-- browser gets a new session id whose row has user_id NULL (so no page
-- that needs a signed-in user accepts it) and mfa_user_id set: it allows
-- only the factor step, for that user, until mfa_expires_at (0: not pending). mfa_amr is
-- what the sign-in proved so far ("pwd"). Completing the step replaces
-- the row with a full session under a new id (SS-01).
ALTER TABLE sessions ADD COLUMN mfa_user_id TEXT NULL
    REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE sessions ADD COLUMN mfa_amr TEXT NULL;
ALTER TABLE sessions ADD COLUMN mfa_expires_at BIGINT NOT NULL DEFAULT 0;

-- MF policy per client: every sign-in for this client needs a second
-- factor (or a user-verifying passkey).
ALTER TABLE clients ADD COLUMN require_mfa BIGINT NOT NULL DEFAULT 0;
