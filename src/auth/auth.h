/*
 * auth: users, passwords and login. Each part of the module keeps its
 * declarations in its own marked section below.
 */
#ifndef PC_AUTH_H
#define PC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/config.h"
#include "util/util.h"

/* ---- Passwords (src/auth/password.c; SECURITY.md PW-01..06, LG-02) ---- */

#define PW_MAX_BYTES 1024   /* hard input cap, checked before anything */
#define PW_MAX_CHARS 256    /* code points after NFKC */
#define PW_MIN_CHARS 15	    /* password is the only factor (PW-03) */
#define PW_MIN_CHARS_MFA 8  /* the account has MFA (PW-03) */
#define PW_MIN_ENTROPY 30.0 /* zxcvbn-c bits (log2 of guesses), see .c */
#define PW_PHC_MAX 128	    /* crypto_pwhash_STRBYTES, NUL included */

/* Argon2id cost: libsodium's crypto_pwhash_str (Argon2id v1.3, p = 1). */
struct pw_params {
	unsigned long long opslimit; /* t */
	size_t memlimit;	     /* bytes; m = memlimit / 1024 KiB */
};

/*
 * From config: pwhash_memory (size, default 64m), pwhash_iterations
 * (default 3). Refuses values below the OWASP floor (SECURITY.md Part 2.1:
 * t = 1 needs m >= 46 MiB, t = 2 19 MiB, t = 3 12 MiB, t = 4 9 MiB,
 * t >= 5 7 MiB) with a clear err. Call it at start-up.
 */
int pw_params_from_config(const struct config *cfg, struct pw_params *out,
    char *err, size_t err_len) PC_WUR;

/* Why a new password is refused; message is a fixed, user-facing English
 * sentence (PW-06: give the reason). */
enum pw_verdict {
	PW_OK = 0,
	PW_TOO_SHORT,
	PW_TOO_LONG,
	PW_NOT_TEXT,
	PW_COMMON,
	PW_CONTEXT,
	PW_WEAK
};

struct pw_check {
	enum pw_verdict verdict;
	const char *message;
};

/*
 * The policy for a new password (registration, change, reset). In order:
 * over PW_MAX_BYTES bytes (PW_TOO_LONG, nothing else is looked at);
 * invalid UTF-8 or a control character (PW_NOT_TEXT); NFKC; fewer than
 * PW_MIN_CHARS code points (PW_MIN_CHARS_MFA with has_mfa) or more than
 * PW_MAX_CHARS (PW_TOO_SHORT, PW_TOO_LONG); on the common-password list
 * (PW_COMMON); containing a context word (PW_CONTEXT); zxcvbn-c entropy
 * below PW_MIN_ENTROPY (PW_WEAK). context is a NULL-terminated array
 * (email local part, display name, ...) or NULL; "portcullis" is always
 * a context word. Returns 0 with out filled, or a PC_ERR_* (no memory).
 */
int pw_check(const char *pw, size_t len, bool has_mfa,
    const char *const *context, struct pw_check *out) PC_WUR;

/*
 * Hash / verify the NFKC form, so "é" precomposed and decomposed match
 * (PW-05). Output PHC string "$argon2id$v=19$m=..,t=..,p=1$<salt>$<hash>".
 * Both refuse more than PW_MAX_BYTES (PC_ERR_TOO_LARGE) and invalid UTF-8
 * (PC_ERR_INVALID) before any hashing.
 */
int pw_hash(const struct pw_params *p, const char *pw, size_t len,
    char out[PW_PHC_MAX]) PC_WUR;
/* 0 match, PC_ERR_VERIFY no match, PC_ERR_INVALID bad input. */
int pw_verify(const char *phc, const char *pw, size_t len) PC_WUR;
/* True when phc is not Argon2id with exactly p (re-hash after login). */
bool pw_needs_rehash(const struct pw_params *p, const char *phc);
/* Equal-time work for unknown users (LG-02): verifies against a fixed
 * dummy hash made once with p. */
void pw_dummy_verify(const struct pw_params *p, const char *pw, size_t len);

/* ---- end Passwords ---- */

/* ---- Users (src/auth/user.c; SECURITY.md OI-07, SS-08) ---- */

struct db;
struct store_user;

/*
 * A user id is the OIDC sub: USER_ID_PREFIX + 22 base64url characters of
 * 128 random bits. Opaque, immutable, never derived from the email and
 * never reused (deleted ids stay in a tombstone table).
 */
#define USER_ID_PREFIX "usr_"
#define USER_ID_RANDOM_BYTES 16
#define USER_ID_LEN 26
#define USER_EMAIL_MAX 254
#define USER_EMAIL_LOCAL_MAX 64
#define USER_EMAIL_DOMAIN_MAX 253
#define USER_NAME_MAX 256 /* bytes */

/*
 * Email syntax, deliberately simple (the address is proven by the
 * verification mail, not by a parser): at most USER_EMAIL_MAX bytes of
 * valid UTF-8, no space, control character or DEL, exactly one '@', a
 * local part of 1..64 bytes, a domain of 1..253 bytes that contains a '.'
 * and neither starts nor ends with one. Uniqueness is case-insensitive
 * through ASCII lower-casing of the whole address (store_email_key).
 */
bool user_email_valid(const char *email);
/* A display name: "" or text (no control characters) of <= 256 bytes. */
bool user_name_valid(const char *name);
void user_id_new(char out[USER_ID_LEN + 1]);
/*
 * Creates a user without a password. PC_ERR_INVALID for a bad email or
 * name, PC_ERR_CONFLICT when the email (in any case) is taken. out is the
 * stored row (store_user_clear it).
 */
int user_create(struct db *db, const char *email, const char *name,
    bool verified, struct store_user *out) PC_WUR;
/*
 * The same, with a password when pw is not NULL: it is judged by
 * pw_check (context: email local part, name, "portcullis") and hashed
 * before anything is stored, then user and credential are inserted in one
 * transaction. A refused password gives PC_ERR_INVALID with check->verdict
 * != PW_OK and check->message saying why; nothing is stored.
 */
int user_create_with_password(struct db *db, const struct pw_params *p,
    const char *email, const char *name, bool verified, const char *pw,
    size_t pw_len, struct pw_check *check, struct store_user *out) PC_WUR;
/* Sets or replaces the password; refusals as above. */
int
user_set_password(struct db *db, const struct pw_params *p, const char *user_id,
    const char *pw, size_t pw_len, struct pw_check *check) PC_WUR;
/* PC_ERR_NOT_FOUND for an unknown id. */
int user_disable(struct db *db, const char *user_id, int64_t now) PC_WUR;
int user_enable(struct db *db, const char *user_id, int64_t now) PC_WUR;

/* ---- end Users ---- */

#endif
