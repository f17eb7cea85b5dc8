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

#endif
