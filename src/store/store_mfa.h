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
