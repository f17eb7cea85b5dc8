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

#endif
