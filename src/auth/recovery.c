/*
 * Recovery codes (SECURITY.md MF-07, Part 2.6; docs/decisions/
 * 0067-recovery-codes.md): the way back in when the second factor is
 * lost. Ten codes, each a short non-secret index and 80 CSPRNG bits in
 * Crockford base32. Only Argon2id hashes are stored (80 bits is below
 * the 112 that a plain hash would need), one per index, so a guess is
 * checked against exactly one hash: one Argon2id verification per guess,
 * not ten. The hashing runs on the hashing pool (the pages hand our jobs
 * to it); this file builds the jobs and decides from their results.
 *
 * An index with no unspent code still costs the full verification, made
 * against the pool's dummy hash, so the time of a failure does not tell
 * spent indexes from wrong codes. A right code is spent by one
 * conditional UPDATE, so it works once however many requests race.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "crypto/crypto.h"
#include "store/store.h"

_Static_assert(RECOVERY_SECRET_CHARS * 5 == 80, "MF-07: 80 bits per code");
_Static_assert(RECOVERY_CODES <= 99, "the table's idx is 1..99");

/* Crockford base32: no I, L, O, U. */
static const char B32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* A typed character's canonical symbol, or 0 when it is not one. */
static char
b32_canon(char ch)
{
	if (ch >= 'a' && ch <= 'z')
		ch = (char)(ch - 'a' + 'A');
	if (ch == 'O')
		return '0';
	if (ch == 'I' || ch == 'L')
		return '1';
	if (ch == '\0' || ch == 'U')
		return 0;
	return strchr(B32, ch) != NULL ? ch : 0;
}

void
recovery_generate(struct recovery_set *out)
{
	unsigned char raw[RECOVERY_SECRET_CHARS * 5 / 8];

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < RECOVERY_CODES; i++) {
		char *s = out->secret[i];

		random_bytes(raw, sizeof(raw));
		/* 80 bits, 5 at a time, most significant first. */
		for (unsigned k = 0; k < RECOVERY_SECRET_CHARS; k++) {
			unsigned bit = k * 5, v = 0;

			for (unsigned j = 0; j < 5; j++, bit++)
				v = (v << 1) |
				    ((raw[bit / 8] >> (7 - bit % 8)) & 1u);
			s[k] = B32[v];
		}
		s[RECOVERY_SECRET_CHARS] = '\0';
		snprintf(out->code[i], RECOVERY_CODE_MAX,
		    "%u-%.4s-%.4s-%.4s-%.4s", i + 1, s, s + 4, s + 8, s + 12);
	}
	sodium_memzero(raw, sizeof(raw));
}

void
recovery_set_clear(struct recovery_set *s)
{
	if (s != NULL)
		sodium_memzero(s, sizeof(*s));
}

int
recovery_parse(
    const char *typed, unsigned *idx, char secret[RECOVERY_SECRET_CHARS + 1])
{
	/* At most two index digits and the secret, without separators. */
	char sig[2 + RECOVERY_SECRET_CHARS + 1];
	size_t n = 0, len, ndig;
	unsigned v = 0;
	int r = PC_ERR_INVALID;

	*idx = 0;
	secret[0] = '\0';
	if (typed == NULL ||
	    (len = strnlen(typed, RECOVERY_INPUT_MAX + 1)) > RECOVERY_INPUT_MAX)
		return PC_ERR_INVALID;
	for (size_t i = 0; i < len; i++) {
		char ch = typed[i];

		if (ch == ' ' || ch == '-' || ch == '\t')
			continue;
		if (n == sizeof(sig) - 1)
			goto out;
		sig[n++] = ch;
	}
	/*
	 * The secret is always the last 16 characters, so the index needs
	 * no separator (and a secret starting with a digit is no problem).
	 */
	if (n <= RECOVERY_SECRET_CHARS)
		goto out;
	ndig = n - RECOVERY_SECRET_CHARS;
	for (size_t i = 0; i < ndig; i++) {
		if (sig[i] < '0' || sig[i] > '9')
			goto out;
		v = v * 10 + (unsigned)(sig[i] - '0');
	}
	if (v < 1 || v > RECOVERY_CODES)
		goto out;
	for (size_t i = 0; i < RECOVERY_SECRET_CHARS; i++) {
		char c = b32_canon(sig[ndig + i]);

		if (c == 0) {
			sodium_memzero(secret, RECOVERY_SECRET_CHARS + 1);
			goto out;
		}
		secret[i] = c;
	}
	secret[RECOVERY_SECRET_CHARS] = '\0';
	*idx = v;
	r = 0;
out:
	sodium_memzero(sig, sizeof(sig));
	return r;
}

int
recovery_store(struct db *db, const char *user_id,
    const char *const phc[RECOVERY_CODES], int64_t now)
{
	for (unsigned i = 0; i < RECOVERY_CODES; i++)
		if (phc[i] == NULL || strncmp(phc[i], "$argon2id$", 10) != 0)
			return PC_ERR_INVALID; /* MF-07: only Argon2id */
	return store_recovery_replace(db, user_id, phc, RECOVERY_CODES, now);
}

int
recovery_left(struct db *db, const char *user_id, unsigned *left)
{
	int64_t n = 0;
	int r = store_recovery_left(db, user_id, &n);

	*left = r == 0 && n > 0 ? (unsigned)n : 0;
	return r;
}

int
recovery_check_begin(struct db *db, const char *user_id, const char *typed,
    struct recovery_check *c)
{
	int r;

	memset(c, 0, sizeof(*c));
	if (recovery_parse(typed, &c->idx, c->secret) != 0) {
		/* Not a recovery code at all: nothing to hash. */
		recovery_check_clear(c);
		return PC_ERR_VERIFY;
	}
	r = store_recovery_phc(db, user_id, c->idx, &c->phc);
	if (r == PC_ERR_NOT_FOUND) {
		/* Unknown or spent: the dummy work, then a failure. */
		c->phc = NULL;
		return 0;
	}
	if (r != 0)
		recovery_check_clear(c);
	return r;
}

void
recovery_check_job(const struct recovery_check *c, struct pwjob *job)
{
	memset(job, 0, sizeof(*job));
	job->kind = c->phc != NULL ? PWJOB_VERIFY : PWJOB_DUMMY;
	job->pw = c->secret;
	job->pw_len = strlen(c->secret);
	job->phc = c->phc;
}

int
recovery_check_finish(struct db *db, const char *user_id,
    const struct recovery_check *c, int hash_result, int64_t now)
{
	int r;

	/* A dummy job never matches; no hash, no success, whatever came. */
	if (c->idx == 0 || c->phc == NULL || hash_result != 0)
		return PC_ERR_VERIFY;
	r = store_recovery_spend(db, user_id, c->idx, c->phc, now);
	if (r == PC_ERR_NOT_FOUND)
		return PC_ERR_VERIFY; /* spent by a concurrent use */
	return r;
}

void
recovery_check_clear(struct recovery_check *c)
{
	if (c == NULL)
		return;
	pc_freezero_str(c->phc);
	sodium_memzero(c, sizeof(*c));
}
