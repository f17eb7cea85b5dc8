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

#endif
