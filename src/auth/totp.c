/*
 * TOTP (RFC 6238) as a second factor (issue 16; SECURITY.md MF-01, MF-02,
 * MF-05, MF-06; docs/decisions/0066-totp.md).
 *
 * The seed is 20 bytes from the CSPRNG, sealed under a key derived from
 * the master key and bound to its user (the store never holds it in the
 * clear), shown once as base32 text and an otpauth:// URI while the
 * enrolment is pending, and never again. liboath generates the expected
 * codes for the current step and the previous one; the comparison is ours
 * (sodium_memcmp), because liboath's own validation compares with strcmp.
 * A step is accepted once: the store moves the last accepted step forward
 * only when the new one is later, in one statement, so a replayed code,
 * an older one after a newer one and the loser of two concurrent requests
 * all fail. Time is the server's clock only.
 *
 * Counting attempts (MF-03) is the caller's: totp_verify() is called only
 * after mfa_attempt_begin() allowed it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "auth/mfa.h"
#include "crypto/crypto.h"
#include "store/store.h"

#define SEAL_CTX "totpseed" /* masterkey_derive context, 8 characters */
#define AAD_PREFIX "pc-totp-seed-v1:"
#define USER_ID_MAX 128
#define CODE_INPUT_MAX 32 /* longer input is not a code: no work */
#define URI_MAX 1024

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_status = OATH_OK;

static void
oath_start(void)
{
	oath_status = oath_init();
}

static bool
oath_ready(void)
{
	return pthread_once(&oath_once, oath_start) == 0 &&
	    oath_status == OATH_OK;
}

int
totp_generate(
    const uint8_t *seed, size_t n, int64_t step, unsigned digits, char *out)
{
	if (seed == NULL || n == 0 || step < 0 || digits < 6 || digits > 8 ||
	    step > (int64_t)(INT64_MAX / TOTP_PERIOD))
		return PC_ERR_INVALID;
	if (!oath_ready())
		return PC_ERR_CRYPTO;
	/* liboath counts steps from time 0 in periods of 30 s: step * 30
	 * is a time within (at the start of) that step. */
	if (oath_totp_generate2((const char *)seed, n,
		(time_t)(step * TOTP_PERIOD), TOTP_PERIOD, 0, digits, 0,
		out) != OATH_OK) {
		sodium_memzero(out, digits + 1);
		return PC_ERR_CRYPTO;
	}
	return 0;
}

static bool
user_ok(const char *user_id)
{
	return user_id != NULL && user_id[0] != '\0' &&
	    strlen(user_id) <= USER_ID_MAX;
}

/* The sealing key and the associated data binding a seed to its user. */
static void
seal_params(const struct masterkey *mk, const char *user_id, uint8_t key[32],
    char aad[sizeof(AAD_PREFIX) + USER_ID_MAX])
{
	masterkey_derive(mk, SEAL_CTX, 1, key);
	snprintf(
	    aad, sizeof(AAD_PREFIX) + USER_ID_MAX, "%s%s", AAD_PREFIX, user_id);
}

/*
 * A code as typed: spaces anywhere are dropped ("123 456" as apps show
 * it), then exactly TOTP_DIGITS ASCII digits. false: malformed.
 */
static bool
code_parse(const char *code, char out[TOTP_DIGITS + 1])
{
	size_t n = 0;

	if (code == NULL || strnlen(code, CODE_INPUT_MAX + 1) > CODE_INPUT_MAX)
		return false;
	for (const char *p = code; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		if (*p < '0' || *p > '9' || n == TOTP_DIGITS)
			return false;
		out[n++] = *p;
	}
	out[n] = '\0';
	return n == TOTP_DIGITS;
}

/*
 * MF-02: which step code is for, among t (now's) and t - 1, and later
 * than last (MF-01). Both codes are always generated and compared in
 * constant time. 0 with *step, PC_ERR_VERIFY, or an error.
 */
static int
match_step(const uint8_t *seed, const char want[TOTP_DIGITS + 1], int64_t now,
    int64_t last, int64_t *step)
{
	char got[2][TOTP_DIGITS + 1];
	int64_t t = now / TOTP_PERIOD;
	bool ok[2] = { false, false };
	int r = 0;

	for (int i = 0; i < 2 && r == 0; i++) {
		r = totp_generate(
		    seed, TOTP_SEED_BYTES, t - i, TOTP_DIGITS, got[i]);
		if (r == 0)
			ok[i] = sodium_memcmp(got[i], want, TOTP_DIGITS) == 0;
	}
	sodium_memzero(got, sizeof(got));
	if (r != 0)
		return r;
	if (ok[0] && t > last)
		*step = t;
	else if (ok[1] && t - 1 > last)
		*step = t - 1;
	else
		return PC_ERR_VERIFY;
	return 0;
}

/* Unseals row's seed and matches code against it. */
static int
check_code(const struct masterkey *mk, const char *user_id,
    const struct store_totp *row, const char want[TOTP_DIGITS + 1], int64_t now,
    int64_t *step)
{
	char aad[sizeof(AAD_PREFIX) + USER_ID_MAX];
	uint8_t key[32], *seed = NULL;
	size_t n = 0;
	int r;

	seal_params(mk, user_id, key, aad);
	r = unseal(key, aad, row->seed_sealed, &seed, &n);
	sodium_memzero(key, sizeof(key));
	if (r != 0)
		return PC_ERR_CRYPTO; /* not ours, or not this user's */
	if (n != TOTP_SEED_BYTES)
		r = PC_ERR_CRYPTO;
	else
		r = match_step(seed, want, now, row->last_step, step);
	sodium_free(seed); /* zeroed before release */
	return r;
}

/* RFC 3986 unreserved characters stay, everything else is %XX. */
static int
uri_put(struct buf *b, const char *s)
{
	int r = 0;

	for (const unsigned char *p = (const unsigned char *)s;
	     *p != '\0' && r == 0; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~')
			r = buf_putc(b, (char)*p);
		else
			r = buf_printf(b, "%%%02X", *p);
	}
	return r;
}

/* otpauth://totp/ISSUER:LABEL?secret=...&issuer=ISSUER&... (Key URI
 * Format, as Google Authenticator and the others read it). */
static int
make_uri(const char *issuer, const char *label, const char *secret, char **out)
{
	struct buf b;
	int r;

	buf_init(&b, URI_MAX);
	if ((r = buf_puts(&b, "otpauth://totp/")) == 0 &&
	    (r = uri_put(&b, issuer)) == 0 && (r = buf_putc(&b, ':')) == 0 &&
	    (r = uri_put(&b, label)) == 0 &&
	    (r = buf_printf(&b, "?secret=%s&issuer=", secret)) == 0 &&
	    (r = uri_put(&b, issuer)) == 0)
		r = buf_printf(&b, "&algorithm=SHA1&digits=%d&period=%d",
		    TOTP_DIGITS, TOTP_PERIOD);
	if (r == 0)
		*out = buf_steal(&b);
	else
		buf_free(&b);
	return r;
}

/* base32 (RFC 4648, no padding for 20 bytes) through liboath. */
static int
seed_b32(const uint8_t seed[TOTP_SEED_BYTES], char secret[TOTP_SECRET_B32_MAX])
{
	char *enc = NULL;
	size_t len = 0;

	if (!oath_ready() ||
	    oath_base32_encode(
		(const char *)seed, TOTP_SEED_BYTES, &enc, &len) != OATH_OK)
		return PC_ERR_CRYPTO;
	if (len == 0 || len >= TOTP_SECRET_B32_MAX) {
		pc_freezero(enc, len);
		return PC_ERR_CRYPTO;
	}
	memcpy(secret, enc, len);
	secret[len] = '\0';
	pc_freezero(enc, len);
	return 0;
}

int
totp_enrol_begin(struct db *db, const struct masterkey *mk, const char *user_id,
    const char *issuer, const char *label, int64_t now,
    char secret[TOTP_SECRET_B32_MAX], char **uri)
{
	char aad[sizeof(AAD_PREFIX) + USER_ID_MAX];
	uint8_t key[32], seed[TOTP_SEED_BYTES];
	char *sealed = NULL;
	int r;

	secret[0] = '\0';
	if (uri != NULL)
		*uri = NULL;
	if (!user_ok(user_id) || issuer == NULL || label == NULL || now < 0)
		return PC_ERR_INVALID;
	random_bytes(seed, sizeof(seed)); /* MF-06: 160 bits, CSPRNG */
	seal_params(mk, user_id, key, aad);
	r = seal(key, aad, seed, sizeof(seed), &sealed);
	sodium_memzero(key, sizeof(key));
	if (r == 0)
		r = seed_b32(seed, secret);
	sodium_memzero(seed, sizeof(seed));
	if (r == 0)
		r = store_totp_put_pending(db, user_id, sealed, now);
	if (r == 0 && uri != NULL)
		r = make_uri(issuer, label, secret, uri);
	if (sealed != NULL)
		pc_freezero_str(sealed);
	if (r != 0) {
		sodium_memzero(secret, TOTP_SECRET_B32_MAX);
		if (uri != NULL && *uri != NULL) {
			pc_freezero_str(*uri);
			*uri = NULL;
		}
	}
	return r;
}

int
totp_enrol_activate(struct db *db, const struct masterkey *mk,
    const char *user_id, const char *code, int64_t now)
{
	struct store_totp row;
	char want[TOTP_DIGITS + 1];
	int64_t step = 0;
	int r;

	if (!code_parse(code, want))
		return PC_ERR_VERIFY;
	if (!user_ok(user_id) || now < 0) {
		sodium_memzero(want, sizeof(want));
		return PC_ERR_INVALID;
	}
	r = store_totp_get(db, user_id, &row);
	/* Only a pending enrolment of the last TOTP_ENROL_TTL seconds. */
	if (r == 0 &&
	    (row.activated_at != 0 || now - row.created_at >= TOTP_ENROL_TTL ||
		now < row.created_at))
		r = PC_ERR_NOT_FOUND;
	if (r == 0)
		r = check_code(mk, user_id, &row, want, now, &step);
	/* MF-05: the very seed the code proved, and only if still pending;
	 * its step is spent (MF-01: the code cannot sign in again). */
	if (r == 0)
		r = store_totp_activate(
		    db, user_id, row.seed_sealed, step, now);
	sodium_memzero(want, sizeof(want));
	store_totp_clear(&row);
	return r;
}

int
totp_verify(struct db *db, const struct masterkey *mk, const char *user_id,
    const char *code, int64_t now)
{
	struct store_totp row;
	char want[TOTP_DIGITS + 1];
	int64_t step = 0;
	int r;

	if (!code_parse(code, want))
		return PC_ERR_VERIFY; /* no store, no crypto */
	if (!user_ok(user_id) || now < 0) {
		sodium_memzero(want, sizeof(want));
		return PC_ERR_INVALID;
	}
	r = store_totp_get(db, user_id, &row);
	if (r == 0 && row.activated_at == 0)
		r = PC_ERR_NOT_FOUND; /* a pending enrolment never signs in */
	if (r == 0)
		r = check_code(mk, user_id, &row, want, now, &step);
	/* MF-01: one acceptance per step, decided by the store. */
	if (r == 0) {
		r = store_totp_advance(db, user_id, row.seed_sealed, step, now);
		if (r == PC_ERR_CONFLICT)
			r = PC_ERR_VERIFY;
	}
	sodium_memzero(want, sizeof(want));
	store_totp_clear(&row);
	return r;
}

int
totp_status_get(struct db *db, const char *user_id, struct totp_status *out)
{
	struct store_totp row;
	int r;

	memset(out, 0, sizeof(*out));
	if (!user_ok(user_id))
		return PC_ERR_INVALID;
	r = store_totp_get(db, user_id, &row);
	if (r == PC_ERR_NOT_FOUND)
		return 0;
	if (r == 0 && row.activated_at != 0) {
		out->active = true;
		out->activated_at = row.activated_at;
		out->last_used_at = row.last_used_at;
	}
	store_totp_clear(&row);
	return r;
}

int
totp_remove(struct db *db, const char *user_id, bool *removed)
{
	if (removed != NULL)
		*removed = false;
	if (!user_ok(user_id))
		return PC_ERR_INVALID;
	return store_totp_remove(db, user_id, removed);
}
