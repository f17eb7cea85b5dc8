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

/*
 * The acr of a session's amr (space-separated RFC 8176 values): ACR_PHR
 * when a passkey was one of the factors of a multi-factor sign-in ("hwk"
 * or "swk", and "mfa"), else ACR_MFA when amr has "mfa", else ACR_PWD;
 * NULL for a NULL or empty amr (nothing known: the claim is left out).
 * The one place this mapping is made (docs/mfa.md, decision 0069).
 */
const char *mfa_acr(const char *amr);
/* Whether the space-separated amr holds the value method. */
bool mfa_amr_has(const char *amr, const char *method);
/* How strong an acr value is: 1 ACR_PWD, 2 ACR_MFA, 3 ACR_PHR; 0 for a
 * value we do not issue (a client's acr_values may name any). */
int mfa_acr_rank(const char *acr, size_t len);

/*
 * The policy mfa = required (docs/mfa.md): *open is whether user_id, who
 * has no second factor, may still sign in with one factor. Always true
 * under mfa = optional; under required, during mfa_enrol_grace from the
 * account's creation or the operator's last `user mfa reset` (its audit
 * row), whichever is later.
 */
int mfa_grace_open(struct db *db, const struct config *cfg, const char *user_id,
    int64_t now, bool *open) PC_WUR;
/*
 * The end of a sign-in that proved amr (web_signin_done): *ok false when
 * mfa = required, amr lacks "mfa", the user has no second factor and the
 * grace is over: the sign-in is refused (decision 0069: the user asks the
 * operator, whose reset opens a new grace). A store error fails closed.
 */
int mfa_signin_allowed(struct db *db, const struct config *cfg,
    const char *user_id, const char *amr, int64_t now, bool *ok) PC_WUR;

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
/* What protects user_id, as an operator sees it (`portcullis user mfa
 * list`, the admin API's GET /users/{id}/factors): no secret.
 * store_mfa_detail_clear it. */
struct store_mfa_detail;
int mfa_detail(
    struct db *db, const char *user_id, struct store_mfa_detail *out) PC_WUR;

/* ---- TOTP (auth/totp.c) ---- */
#define TOTP_SEED_BYTES 20 /* MF-06: 160 bits */
#define TOTP_DIGITS 6
#define TOTP_PERIOD 30
#define TOTP_SECRET_B32_MAX 40 /* 32 base32 characters and a NUL, rounded */
/*
 * Starts (or restarts) an enrolment: a new random seed, sealed under mk,
 * stored not yet active (any earlier unactivated one is replaced). A user
 * with an active credential gets PC_ERR_CONFLICT: it is removed first
 * (MF-05; one row per user, docs/decisions/0066-totp.md). secret gets
 * the seed in base32 for the page; uri (NULL: not wanted) the otpauth://
 * URI for the QR code, with issuer and label (label: the account's email).
 */
int totp_enrol_begin(struct db *db, const struct masterkey *mk,
    const char *user_id, const char *issuer, const char *label, int64_t now,
    char secret[TOTP_SECRET_B32_MAX], char **uri) PC_WUR;
/*
 * Activates the pending enrolment (begun less than TOTP_ENROL_TTL ago)
 * with its first valid code (MF-05); that code's step is spent. 0,
 * PC_ERR_VERIFY (wrong or malformed code), PC_ERR_NOT_FOUND (no pending
 * enrolment, or too old), a store error.
 */
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

/*
 * A pending enrolment can be activated for this long after it began
 * (a seed shown on a page left open is not activated days later).
 */
#define TOTP_ENROL_TTL 900
/*
 * The RFC 4226 / 6238 code of seed (HMAC-SHA-1) at time step step, with
 * digits (6..8) digits, generated by liboath, into out (digits + 1).
 * 0 or PC_ERR_INVALID / PC_ERR_CRYPTO.
 */
int totp_generate(const uint8_t *seed, size_t n, int64_t step, unsigned digits,
    char *out) PC_WUR;
/* The user's TOTP state for the account pages (no secret in it). */
struct totp_status {
	bool active;	      /* an activated credential */
	int64_t activated_at; /* when (0: none) */
	int64_t last_used_at; /* last accepted code (0: never) */
};
int totp_status_get(
    struct db *db, const char *user_id, struct totp_status *out) PC_WUR;
/*
 * MF-05: removes the user's TOTP credential (active or pending); a
 * removed credential fails at once. *removed (may be NULL) is whether an
 * active one went.
 */
int totp_remove(struct db *db, const char *user_id, bool *removed) PC_WUR;

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
/*
 * A code is its index (1..RECOVERY_CODES, not secret: it names the one
 * stored hash a guess is checked against, so a guess costs one Argon2id
 * verification, not ten) and 80 CSPRNG bits written as 16 characters of
 * Crockford base32 ("0-9A-Z" without I, L, O, U), shown as
 * "3-ABCD-EFGH-JKMN-PQRS" (docs/decisions/0067-recovery-codes.md).
 * Typed codes may be lower case, with or without spaces and hyphens; I
 * and L read as 1, O as 0.
 */
#define RECOVERY_SECRET_CHARS 16 /* 80 bits, 5 per character */
#define RECOVERY_INPUT_MAX 64	 /* longer input is refused before any work */

struct pwjob;

/* A new set: what to show (code) and what to hash (secret), per index. */
struct recovery_set {
	char code[RECOVERY_CODES][RECOVERY_CODE_MAX];
	char secret[RECOVERY_CODES][RECOVERY_SECRET_CHARS + 1];
};
/* Fills out with RECOVERY_CODES new codes; code[i] has index i + 1. */
void recovery_generate(struct recovery_set *out);
/* Wipes a set. */
void recovery_set_clear(struct recovery_set *s);
/*
 * A typed code: 0 with *idx (1..RECOVERY_CODES) and the secret in its
 * canonical form (upper case, I/L as 1, O as 0), or PC_ERR_INVALID for
 * anything else (over RECOVERY_INPUT_MAX bytes, a wrong length, a
 * character outside the alphabet, an index out of range).
 */
int recovery_parse(const char *typed, unsigned *idx,
    char secret[RECOVERY_SECRET_CHARS + 1]) PC_WUR;
/*
 * Stores the Argon2id hashes of a new set (phc[i]: the code of index
 * i + 1), replacing the user's old set, spent codes included, in one
 * transaction (MF-07: regenerating invalidates the old set).
 */
int recovery_store(struct db *db, const char *user_id,
    const char *const phc[RECOVERY_CODES], int64_t now) PC_WUR;
/* How many of the user's codes are unspent. */
int recovery_left(struct db *db, const char *user_id, unsigned *left) PC_WUR;

/*
 * Checking a typed code, around one Argon2id job of the hashing pool:
 *   recovery_check_begin  parses the code and reads the hash of its
 *                         index; malformed: PC_ERR_VERIFY at once;
 *   recovery_check_job    the job: the typed secret against that hash,
 *                         or, when the index has no unspent code, the
 *                         same work against the dummy hash (PWJOB_DUMMY,
 *                         never a match), so a guess cannot tell spent
 *                         or unknown indexes from wrong codes by time;
 *   recovery_check_finish with the job's result: 0 when the code was
 *                         right and this call spent it (exactly one of
 *                         two concurrent uses), PC_ERR_VERIFY for a
 *                         wrong, unknown, spent or just-spent code, or
 *                         a store error;
 *   recovery_check_clear  wipes it.
 */
struct recovery_check {
	unsigned idx;
	char secret[RECOVERY_SECRET_CHARS + 1];
	char *phc; /* NULL: no unspent code at idx (dummy work) */
};
int recovery_check_begin(struct db *db, const char *user_id, const char *typed,
    struct recovery_check *c) PC_WUR;
void recovery_check_job(const struct recovery_check *c, struct pwjob *job);
int recovery_check_finish(struct db *db, const char *user_id,
    const struct recovery_check *c, int hash_result, int64_t now) PC_WUR;
void recovery_check_clear(struct recovery_check *c);

/* ---- passkeys (auth/passkey.c; WA-01..08) ---- */
#define PASSKEY_CHALLENGE_TTL 300	 /* WA-02: at most 5 minutes */
#define PASSKEY_CHALLENGES_PER_SESSION 8 /* DS-04 */
#define PASSKEY_MAX_PER_USER 20		 /* DS-04 */
#define PASSKEY_NAME_MAX 64		 /* bytes */
#define PASSKEY_B64_CHALLENGE 44	 /* 43 base64url characters + NUL */
#define PASSKEY_ID_LEN 40		 /* "pk_" + 22, NUL, rounded */

enum passkey_purpose {
	PASSKEY_REGISTER, /* enrolment on the account page */
	PASSKEY_LOGIN,	  /* passwordless: the credential names the user */
	PASSKEY_FACTOR,	  /* second factor or step-up for a known user */
};

/*
 * Whether this issuer can offer passkeys: NULL when it can, else why not
 * (its host is an IP address, which browsers refuse as an RP ID).
 */
const char *passkey_unavailable(const struct config *cfg);

/* What a page hands navigator.credentials.create() / get(). */
struct passkey_options {
	char challenge[PASSKEY_B64_CHALLENGE];
	char rp_id[256];   /* the issuer's host */
	char *user_handle; /* register: the opaque handle (WA-05) */
	char *user_name;   /* register: the account's email */
	char **cred_ids;   /* register: to exclude; factor: allowed */
	size_t n_cred_ids;
	bool uv_required; /* WA-04 */
};
void passkey_options_clear(struct passkey_options *o);

/*
 * Starts a ceremony for the browser session s (WA-02): 32 random bytes,
 * stored as their hash bound to s's id hash and purpose, live for
 * PASSKEY_CHALLENGE_TTL. user_id: the user enrolling (register) or
 * proving a factor (factor); NULL for a passwordless sign-in (login,
 * which always requires UV). uv_required: for a factor (step-up needs
 * it). PC_ERR_UNSUPPORTED (passkey_unavailable), PC_ERR_NOT_FOUND
 * (factor: the user has no passkey that may sign in), PC_ERR_TOO_LARGE
 * (register: the user has PASSKEY_MAX_PER_USER already), store errors.
 */
int passkey_begin(struct db *db, const struct config *cfg,
    const struct session *s, enum passkey_purpose purpose, const char *user_id,
    bool uv_required, int64_t now, struct passkey_options *out) PC_WUR;

/* An enrolment's answer, the browser's base64url fields. */
struct passkey_registration {
	const char *challenge;
	const char *client_data;
	const char *attestation_object;
	const char *transports; /* space-separated, may be NULL */
	const char *name;	/* the user's name for it, may be NULL */
};
/*
 * Finishes an enrolment for user_id in session s: the challenge taken
 * (single use, this session, purpose register, this user), the response
 * verified (wa_register_verify: origin and RP ID of the issuer, WA-01),
 * the credential stored (WA-05: a credential id registered anywhere is
 * PC_ERR_CONFLICT). id gets the new passkey's id. PC_ERR_NOT_FOUND: no
 * such live challenge; PC_ERR_VERIFY / PC_ERR_INVALID: the response
 * did not verify; PC_ERR_TOO_LARGE, PC_ERR_UNSUPPORTED, store errors.
 */
int passkey_register_finish(struct db *db, const struct config *cfg,
    const struct session *s, const char *user_id,
    const struct passkey_registration *in, int64_t now,
    char id[PASSKEY_ID_LEN]) PC_WUR;

/* A sign-in's answer, the browser's base64url fields. */
struct passkey_assertion {
	const char *challenge;
	const char *credential_id;
	const char *client_data;
	const char *authenticator_data;
	const char *signature;
	const char *user_handle; /* may be NULL or "" for a factor */
};
/* What a verified assertion proved. */
struct passkey_result {
	char *user_id; /* whose passkey (malloc'd; also on a clone) */
	char id[PASSKEY_ID_LEN];
	bool uv;     /* the authenticator verified the user */
	bool synced; /* backup eligible: "swk", else "hwk" */
	bool cloned; /* WA-03 fired: the credential is now flagged */
};
void passkey_result_clear(struct passkey_result *r);
/*
 * Finishes a sign-in in session s. purpose login: passwordless; the
 * credential's user is the one whose webauthn_handle the assertion's
 * userHandle is, and UV is required. purpose factor: the credential must
 * be expect_user_id's (UV as the challenge asked). Then the signature
 * (wa_assert_verify) and the counter (WA-03: a counter that does not
 * increase flags the credential, sets out->cloned and fails with
 * PC_ERR_CONFLICT; the caller audits mfa.passkey.cloned). A flagged
 * credential or a disabled user never signs in. PC_ERR_NOT_FOUND: no
 * such live challenge; PC_ERR_VERIFY: anything else that failed.
 */
int passkey_assert_finish(struct db *db, const struct config *cfg,
    const struct session *s, enum passkey_purpose purpose,
    const char *expect_user_id, const struct passkey_assertion *in, int64_t now,
    struct passkey_result *out) PC_WUR;
/*
 * The amr after a passkey: before's methods ("" for passwordless, "pwd"
 * after a password), then "hwk" or "swk", then "mfa" when two factors
 * or a user-verifying passkey were used (RFC 8176).
 */
void passkey_amr(
    const char *before, const struct passkey_result *p, char *out, size_t n);

/* A user's passkeys for the account page. */
struct passkey_view {
	char id[PASSKEY_ID_LEN];
	char *name;
	int64_t created_at, last_used_at, cloned_at; /* 0: never */
	bool synced;
};
int passkey_list(struct db *db, const char *user_id, struct passkey_view **v,
    size_t *n) PC_WUR;
void passkey_views_free(struct passkey_view *v, size_t n);
/* PC_ERR_NOT_FOUND when user_id has no such passkey; PC_ERR_INVALID for
 * an empty or too long name. */
int passkey_rename(struct db *db, const char *user_id, const char *id,
    const char *name) PC_WUR;
int passkey_remove(struct db *db, const char *user_id, const char *id) PC_WUR;

#endif
