/*
 * The store's second factors and passkeys (migration 0032; issue 16).
 * Included at the end of store.h. The rules live in src/auth/ (mfa.h,
 * webauthn.h); each table has its own file here:
 *   store/mfa.c        what protects an account, reset, mfa_state
 *   store/totp.c       totp_credentials
 *   store/recovery.c   recovery_codes
 *   store/passkeys.c   webauthn_credentials, webauthn_challenges,
 *                      users.webauthn_handle
 */
#ifndef PC_STORE_MFA_H
#define PC_STORE_MFA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* ---- what protects an account (store/mfa.c) ---- */
struct store_mfa_factors {
	bool totp;	       /* an activated TOTP credential */
	int64_t passkeys;      /* passkeys not flagged as cloned */
	int64_t recovery_left; /* unspent recovery codes */
};
int store_mfa_factors(
    struct db *db, const char *user_id, struct store_mfa_factors *out) PC_WUR;
/*
 * Removes user_id's credentials of the kinds set (totp, passkeys,
 * recovery codes; the pending challenges go with the passkeys) and clears
 * mfa_state, in one transaction. *removed (may be NULL) gets how many
 * credentials (rows of the three credential tables) went.
 */
int store_mfa_reset(struct db *db, const char *user_id, bool totp,
    bool passkeys, bool recovery, int64_t *removed) PC_WUR;

/* ---- what the operator sees (store/mfa.c; `portcullis user mfa list`,
 * h-policy) ---- */
struct store_mfa_passkey {
	char *id;
	char *name;
	bool backup_eligible; /* a synced passkey */
	int64_t created_at;
	int64_t last_used_at; /* 0: never */
	int64_t cloned_at;    /* 0: not flagged (WA-03) */
};
struct store_mfa_detail {
	bool totp;		   /* a TOTP credential row exists */
	int64_t totp_created_at;   /* enrolment started */
	int64_t totp_activated_at; /* 0: pending, not a factor yet */
	int64_t totp_last_used_at; /* 0: never */
	struct store_mfa_passkey *passkeys;
	size_t n_passkeys;
	int64_t recovery_left;	/* unspent recovery codes */
	int64_t recovery_total; /* codes in the current set */
	int64_t failures;	/* consecutive factor failures (MF-03) */
	bool totp_suspended;
};
void store_mfa_detail_clear(struct store_mfa_detail *d);
/* Everything about user_id's factors, read in one snapshot; no secret. */
int store_mfa_detail(
    struct db *db, const char *user_id, struct store_mfa_detail *out) PC_WUR;
/* ---- TOTP (store/totp.c; the rules: auth/totp.c) ---- */
/*
 * totp_credentials holds one row per user: either a pending enrolment
 * (activated_at NULL) or the active credential. seed_sealed is opaque
 * here (sealed by auth/totp.c, MF-06).
 */
struct store_totp {
	char *seed_sealed;    /* malloc'd */
	int64_t created_at;   /* when this seed was made */
	int64_t activated_at; /* 0: a pending enrolment */
	int64_t last_step;    /* last accepted time step (MF-01) */
	int64_t last_used_at; /* 0: never */
};
/* Wipes and frees out's members. */
void store_totp_clear(struct store_totp *t);
/* user_id's row, pending or active; PC_ERR_NOT_FOUND when none. */
int store_totp_get(
    struct db *db, const char *user_id, struct store_totp *out) PC_WUR;
/*
 * Stores a pending enrolment, replacing an earlier pending one.
 * PC_ERR_CONFLICT when the user has an active credential (it is never
 * overwritten by an unproven seed; the one row per user cannot hold both).
 */
int store_totp_put_pending(struct db *db, const char *user_id,
    const char *seed_sealed, int64_t now) PC_WUR;
/*
 * The pending enrolment whose seed is seed_sealed becomes the active
 * credential with step as its last accepted step (MF-05). PC_ERR_NOT_FOUND
 * when that pending row is no longer there (replaced, removed, active).
 */
int store_totp_activate(struct db *db, const char *user_id,
    const char *seed_sealed, int64_t step, int64_t now) PC_WUR;
/*
 * MF-01: moves the active credential sealed as seed_sealed to step, only
 * if step is later than its last accepted step, in one statement (two
 * requests with one code: one wins). PC_ERR_CONFLICT when it was not
 * (a replay, an older step, or the credential changed meanwhile).
 */
int store_totp_advance(struct db *db, const char *user_id,
    const char *seed_sealed, int64_t step, int64_t now) PC_WUR;
/* Deletes user_id's row (pending or active); *removed (may be NULL) is
 * whether an active credential went. */
int store_totp_remove(struct db *db, const char *user_id, bool *removed) PC_WUR;
/* ---- the per-account failure counter (store/mfa_state.c; MF-03) ---- */
struct store_mfa_state {
	int64_t failures;	   /* consecutive failures counted */
	int64_t last_failure_at;   /* 0: none */
	int64_t blocked_until;	   /* no factor is checked before this */
	int64_t totp_suspended_at; /* 0: TOTP not suspended */
	int64_t notified_at;	   /* 0: never told */
};
/*
 * The policy's verdict on one attempt (auth/mfa_attempt.c): seen is the
 * account's state before it (attempts in flight counted); true lets the
 * attempt be checked, with next->blocked_until and
 * next->totp_suspended_at the state to keep after it.
 */
typedef bool (*store_mfa_decide_fn)(void *arg,
    const struct store_mfa_state *seen, struct store_mfa_state *next);
/*
 * One write transaction: failures + 1 (the row made when missing), decide
 * on what was there before, then keep next (blocked_until never moves
 * back) and last_failure_at = now; a refusal rolls the count back. So N
 * concurrent attempts on any node count N and each sees those before it.
 * *allowed: decide's answer; seen (may be NULL): the state before.
 */
int store_mfa_attempt_begin(struct db *db, const char *user_id, int64_t now,
    store_mfa_decide_fn decide, void *arg, bool *allowed,
    struct store_mfa_state *seen) PC_WUR;
/* A correct factor: failures and the backoff back to 0; clear_suspension
 * also lifts a TOTP suspension. */
int store_mfa_attempt_ok(
    struct db *db, const char *user_id, bool clear_suspension) PC_WUR;
/* The account's state (all 0 when it has none). */
int store_mfa_state_get(
    struct db *db, const char *user_id, struct store_mfa_state *out) PC_WUR;
/* The user was told of a burst of failures at now. */
int store_mfa_notified(struct db *db, const char *user_id, int64_t now) PC_WUR;

/* ---- passkeys (store/passkeys.c; WA-02, WA-03, WA-05) ---- */
/* A row of webauthn_credentials. Binary values are base64url text. */
struct store_passkey {
	char id[40]; /* our id ("pk_" + random) */
	char *user_id;
	char *credential_id;
	char *public_key; /* the COSE key */
	int64_t alg;
	int64_t sign_count;
	char *name;
	char *aaguid;
	bool uv, backup_eligible;
	char *attestation;
	bool attestation_verified;
	char *transports;
	int64_t created_at, last_used_at, cloned_at; /* 0: never */
};
void store_passkey_clear(struct store_passkey *p);
void store_passkeys_free(struct store_passkey *v, size_t n);
/*
 * Inserts p (every field but last_used_at and cloned_at) unless the user
 * already has max_per_user of them (DS-04: PC_ERR_TOO_LARGE). The same
 * credential_id, for this user or any other: PC_ERR_CONFLICT (WA-05).
 */
int store_passkey_insert(
    struct db *db, const struct store_passkey *p, int64_t max_per_user) PC_WUR;
/* A user's passkeys, oldest first; *v malloc'd (free with
 * store_passkeys_free). */
int store_passkeys_list(struct db *db, const char *user_id,
    struct store_passkey **v, size_t *n) PC_WUR;
/* The passkey with this credential id, any user's. PC_ERR_NOT_FOUND. */
int store_passkey_get(
    struct db *db, const char *credential_id, struct store_passkey *out) PC_WUR;
/*
 * A use that passed its counter check: sign_count old -> seen and
 * last_used_at, only while the row still holds old and is not flagged
 * (one UPDATE: of two uses that saw the same counter one wins).
 * PC_ERR_CONFLICT when it lost (counter moved, or flagged meanwhile).
 */
int store_passkey_use(struct db *db, const char *credential_id, int64_t old,
    int64_t seen, int64_t now) PC_WUR;
/* WA-03: flags the credential as cloned (first flag kept). */
int store_passkey_flag_cloned(
    struct db *db, const char *credential_id, int64_t now) PC_WUR;
/* Renames / deletes user_id's passkey id. PC_ERR_NOT_FOUND when there is
 * no such passkey of that user. */
int store_passkey_rename(struct db *db, const char *user_id, const char *id,
    const char *name) PC_WUR;
int
store_passkey_delete(struct db *db, const char *user_id, const char *id) PC_WUR;

/* A row of webauthn_challenges (WA-02). */
struct store_wa_challenge {
	char challenge_hash[PC_SHA256_HEX_LEN + 1];
	char session_hash[PC_SHA256_HEX_LEN + 1];
	char purpose[16]; /* "register", "login", "factor" */
	char *user_id;	  /* NULL: a passwordless sign-in */
	bool uv_required;
	int64_t created_at, expires_at;
};
void store_wa_challenge_clear(struct store_wa_challenge *c);
/*
 * Stores c and, in the same transaction, keeps at most max_per_session
 * of its session's challenges: the new one and the newest others
 * (DS-04: one browser reloading a page cannot fill the table).
 */
int store_wa_challenge_put(struct db *db, const struct store_wa_challenge *c,
    int64_t max_per_session) PC_WUR;
/*
 * Takes (deletes and returns) the challenge challenge_hash if it belongs
 * to session_hash and purpose and is live at now; single use. Otherwise
 * PC_ERR_NOT_FOUND and nothing changes.
 */
int store_wa_challenge_take(struct db *db, const char *challenge_hash,
    const char *session_hash, const char *purpose, int64_t now,
    struct store_wa_challenge *out) PC_WUR;
int
store_wa_challenges_purge(struct db *db, int64_t now, int64_t *deleted) PC_WUR;

/*
 * users.webauthn_handle (WA-05): the user's handle; when there is none
 * yet, candidate becomes it (a concurrent first enrolment's handle wins
 * and is returned). *out malloc'd. PC_ERR_NOT_FOUND: no such user.
 */
int store_user_webauthn_handle(struct db *db, const char *user_id,
    const char *candidate, char **out) PC_WUR;
/* The user whose handle is handle. *user_id malloc'd. PC_ERR_NOT_FOUND. */
int store_user_by_webauthn_handle(
    struct db *db, const char *handle, char **user_id) PC_WUR;
/* ---- recovery codes (store/recovery.c; MF-07) ---- */
/*
 * Replaces user_id's whole set of recovery codes with phc[0..n) as
 * indexes 1..n, in one transaction: every earlier code, spent or not, is
 * gone when this returns 0, and nothing changed when it does not.
 */
int store_recovery_replace(struct db *db, const char *user_id,
    const char *const *phc, size_t n, int64_t now) PC_WUR;
/*
 * The Argon2id hash of user_id's code idx (malloc'd into *phc) when that
 * code exists and is unspent; PC_ERR_NOT_FOUND otherwise.
 */
int store_recovery_phc(
    struct db *db, const char *user_id, int64_t idx, char **phc) PC_WUR;
/*
 * Spends code idx of user_id, if it is still unspent and still the one
 * whose hash is phc (a regeneration in between leaves the new code
 * alone). One statement: of two concurrent uses exactly one gets 0, the
 * other PC_ERR_NOT_FOUND.
 */
int store_recovery_spend(struct db *db, const char *user_id, int64_t idx,
    const char *phc, int64_t now) PC_WUR;
/* How many of user_id's codes are unspent. */
int
store_recovery_left(struct db *db, const char *user_id, int64_t *left) PC_WUR;

#endif
