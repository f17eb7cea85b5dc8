/*
 * Second factors and passkeys: the domain (issue 16; SECURITY.md J:
 * MF-01..08, S: WA-01..08). Pages in src/web/ call these, never the store.
 *
 *   auth/mfa.c       what protects an account, operator reset, the
 *                    per-account failure counter (MF-03), amr/acr
 *   auth/totp.c      TOTP (RFC 6238 through liboath; MF-01, 02, 05, 06)
 *   auth/recovery.c  recovery codes (MF-07), hashed through the pool
 *   auth/passkey.c   passkeys: challenges, enrolment, sign-in (WA-*);
 *                    the parsing and verification is auth/webauthn.c
 */
#ifndef PC_AUTH_MFA_H
#define PC_AUTH_MFA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct db;
struct config;
struct masterkey;
struct session;

/* ---- amr (RFC 8176) and acr values (docs/mfa.md) ---- */
#define AMR_PWD "pwd"	/* a password */
#define AMR_OTP "otp"	/* a TOTP or a recovery code */
#define AMR_HWK "hwk"	/* a device-bound passkey */
#define AMR_SWK "swk"	/* a synced passkey (backup eligible) */
#define AMR_USER "user" /* user presence only, never verification */
#define AMR_MFA "mfa"	/* two independent factors, or a verifying passkey */
/* acr: one factor; two (or a user-verifying passkey); a passkey was used */
#define ACR_PWD "urn:portcullis:acr:pwd"
#define ACR_MFA "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
#define ACR_PHR "phr"

/* ---- what protects an account (auth/mfa.c) ---- */
struct mfa_factors {
	bool totp;		/* an activated TOTP credential */
	unsigned passkeys;	/* passkeys that may sign in (not cloned) */
	unsigned recovery_left; /* unspent recovery codes */
};
int mfa_factors_get(
    struct db *db, const char *user_id, struct mfa_factors *out) PC_WUR;
/* A real second factor: TOTP or a passkey (recovery codes alone are not). */
bool mfa_has_factor(const struct mfa_factors *f);
/*
 * Operator reset (MF-05, `portcullis user mfa reset`): removes the
 * user's factors of kind ("totp", "passkey", "recovery"; NULL: all) and
 * clears the failure counter, in one transaction. *removed (may be NULL)
 * gets how many credentials went. PC_ERR_INVALID for an unknown kind.
 */
int mfa_reset(struct db *db, const char *user_id, const char *kind,
    size_t *removed) PC_WUR;

/* ---- TOTP (auth/totp.c) ---- */
#define TOTP_SEED_BYTES 20 /* MF-06: 160 bits */
#define TOTP_DIGITS 6
#define TOTP_PERIOD 30
#define TOTP_SECRET_B32_MAX 40 /* 32 base32 characters and a NUL, rounded */
/*
 * Starts (or restarts) an enrolment: a new random seed, sealed under mk,
 * stored not yet active (any earlier unactivated one is replaced; an
 * active credential stays until the new one is activated). secret gets
 * the seed in base32 for the page; uri (NULL: not wanted) the otpauth://
 * URI for the QR code, with issuer and label (label: the account's email).
 */
int totp_enrol_begin(struct db *db, const struct masterkey *mk,
    const char *user_id, const char *issuer, const char *label, int64_t now,
    char secret[TOTP_SECRET_B32_MAX], char **uri) PC_WUR;
/* Activates the pending enrolment with its first valid code (MF-05). */
int totp_enrol_activate(struct db *db, const struct masterkey *mk,
    const char *user_id, const char *code, int64_t now) PC_WUR;
/*
 * MF-01, MF-02: code is valid for the active credential at step t or t-1
 * (t = now / 30), and later than the last accepted step, which then moves
 * to it (atomically: two requests with one code, one wins). 0, or
 * PC_ERR_VERIFY (wrong, replayed, malformed), PC_ERR_NOT_FOUND (no active
 * TOTP), a store error. The caller counts the attempt first (MF-03).
 */
int totp_verify(struct db *db, const struct masterkey *mk, const char *user_id,
    const char *code, int64_t now) PC_WUR;

/* ---- the per-account failure counter (MF-03; auth/mfa.c) ---- */
struct mfa_verdict {
	bool allowed;	     /* may check a factor now */
	bool totp_suspended; /* 20 failures in a row: TOTP refused */
	bool locked;	     /* 100 in a row: every factor refused */
	int64_t retry_after; /* s, when !allowed */
	int64_t failures;    /* consecutive failures, this one included */
};
/*
 * Counts this attempt as a failure before the factor is checked, in the
 * same transaction that reads the limits (a burst of N counts N), and
 * says whether the check may run. mfa_attempt_ok() after a correct factor
 * takes the count back to 0 (and, for a recovery code, lifts a TOTP
 * suspension). Never touched by the password (MF-03).
 */
int mfa_attempt_begin(struct db *db, const struct config *cfg,
    const char *user_id, int64_t now, struct mfa_verdict *out) PC_WUR;
int mfa_attempt_ok(struct db *db, const char *user_id, bool recovery) PC_WUR;
/*
 * The limits of SECURITY.md Part 2 "TOTP failures" (auth/mfa_attempt.c):
 * from the 5th consecutive failure on, mfa_backoff_base (30 s) before the
 * next attempt, doubling to mfa_backoff_max; past 20, TOTP is refused
 * until a recovery code succeeds or an operator resets; past 100, every
 * factor is refused until an operator reset (NIST SP 800-63B §3.2.2).
 * The user is mailed at the 5th, 20th and 100th failure (MF-03).
 */
#define MFA_BACKOFF_AFTER 5
#define MFA_SUSPEND_AFTER 20
#define MFA_LOCK_AFTER 100
/* Whether failures (mfa_verdict.failures of a failed attempt) is one the
 * user is told about. */
bool mfa_failure_notifies(int64_t failures);
/* Records that the user was told (mfa_state.notified_at). */
int
mfa_attempt_notified(struct db *db, const char *user_id, int64_t now) PC_WUR;

/* ---- recovery codes (auth/recovery.c) ---- */
#define RECOVERY_CODES 10
#define RECOVERY_CODE_MAX 32 /* "K-XXXX-XXXX-XXXX-XXXX" and a NUL, rounded */

#endif
