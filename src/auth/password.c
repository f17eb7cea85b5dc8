/*
 * Passwords: the policy for new passwords and Argon2id hashing
 * (SECURITY.md PW-01..06, LG-02, DS-02; Part 2.1 and 2.2).
 *
 * Every copy of a password made here (its NFKC form, the lower-cased form
 * the blocklist compares) lives in sodium_malloc memory and is wiped when
 * freed. Nothing here logs. Residue we cannot wipe: libunistring's own
 * scratch space inside u8_normalize/u8_tolower and zxcvbn-c's internal
 * copies; both are freed before the call returns.
 *
 * Strength threshold: zxcvbn-c returns the entropy of its best match
 * sequence in bits (log2 of the guesses an attacker who knows the common
 * patterns needs). We refuse below PW_MIN_ENTROPY = 30 bits, about 1e9
 * guesses: between zxcvbn's score 3 (1e8, "moderate protection from an
 * offline slow-hash attack") and score 4 (1e10). At our Argon2id default
 * (64 MiB, t = 3) that is years of one core per account, while
 * 15-character phrases of three or four ordinary words
 * ("blue sky running", 44.7 bits) still pass; "qwertyuiopasdfgh"
 * (17.9), "passwordpassword" (1.0) and "abcdefghijklmnop" (5.0) do not.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>
#include <zxcvbn.h>

#include "auth/auth.h"

/* Generated from src/auth/common-passwords.txt by scripts/embed_list.py:
 * NFKC, lower-cased, unique, sorted by bytes. */
extern const char *const pc_common_passwords[];
extern const size_t pc_common_passwords_count;

/* NFKC grows UTF-8 at most ~11x (U+FDFA: 3 bytes to 33); lower-casing at
 * most 1.5x. Larger results still work (copied into secure memory). */
#define NFKC_GROWTH 12
#define LOWER_GROWTH 2
#define CONTEXT_MAX_WORDS 32
#define ARGON2ID_PREFIX "$argon2id$v=19$"

static const char *const service_word = "portcullis";

static const char msg_ok[] = "The password meets the policy.";
static const char msg_short[] = "The password is too short: use at least 15 "
				"characters.";
static const char msg_short_mfa[] = "The password is too short: use at least "
				    "8 characters.";
static const char msg_long[] = "The password is too long: use at most 256 "
			       "characters.";
static const char msg_text[] = "The password contains characters that are "
			       "not allowed, such as control characters or "
			       "invalid text.";
static const char msg_common[] = "The password is too common: it is on a "
				 "list of frequently used passwords, "
				 "possibly repeated or with digits added.";
static const char msg_context[] = "The password contains your name, part of "
				  "your email address or the name of this "
				  "service.";
static const char msg_weak[] = "The password is too easy to guess: try a "
			       "longer phrase of unrelated words.";

static int
ensure_sodium(void)
{
	return sodium_init() < 0 ? PC_ERR_INTERNAL : 0;
}

static void
secure_free(uint8_t *p, size_t n)
{
	if (p == NULL)
		return;
	sodium_memzero(p, n);
	sodium_free(p);
}

/*
 * libunistring wrote into buf when the result fit, else into memory it
 * malloc'd: move such a result into secure memory and wipe the original.
 * Returns the secure buffer (NUL-terminated at n) or NULL.
 */
static uint8_t *
adopt(uint8_t *res, uint8_t *buf, size_t buf_cap, size_t n)
{
	uint8_t *p;

	if (res == buf) {
		buf[n] = '\0';
		return buf;
	}
	p = sodium_malloc(n + 1);
	if (p != NULL) {
		memcpy(p, res, n);
		p[n] = '\0';
	}
	pc_freezero(res, n);
	secure_free(buf, buf_cap);
	return p;
}

/*
 * Valid UTF-8 (no surrogates, no overlongs)? Sets *has_control when a C0,
 * DEL or C1 control character (NUL included) appears.
 */
static bool
utf8_ok(const uint8_t *s, size_t n, bool *has_control)
{
	size_t i = 0;
	ucs4_t uc;
	int k;

	*has_control = false;
	if (n > 0 && u8_check(s, n) != NULL)
		return false;
	while (i < n) {
		k = u8_mbtouc(&uc, s + i, n - i);
		if (k <= 0)
			return false;
		if (uc < 0x20 || (uc >= 0x7f && uc <= 0x9f))
			*has_control = true;
		i += (size_t)k;
	}
	return true;
}

/* The NFKC form of valid UTF-8 in sodium_malloc memory, NUL-terminated. */
static int
nfkc(const uint8_t *s, size_t n, uint8_t **outp, size_t *out_len,
    size_t *out_cap)
{
	size_t cap = n * NFKC_GROWTH + 1, len = cap - 1;
	uint8_t *buf, *res;

	*outp = NULL;
	if ((buf = sodium_malloc(cap)) == NULL)
		return PC_ERR_INTERNAL;
	res = u8_normalize(UNINORM_NFKC, s, n, buf, &len);
	if (res == NULL) {
		secure_free(buf, cap);
		return errno == EILSEQ ? PC_ERR_INVALID : PC_ERR_INTERNAL;
	}
	if (res != buf)
		cap = len + 1;
	if ((*outp = adopt(res, buf, n * NFKC_GROWTH + 1, len)) == NULL)
		return PC_ERR_INTERNAL;
	*out_len = len;
	*out_cap = cap;
	return 0;
}

/* Lower-cased copy (no further normalization) in secure memory. */
static int
lower(const uint8_t *s, size_t n, uint8_t **outp, size_t *out_len,
    size_t *out_cap)
{
	size_t cap = n * LOWER_GROWTH + 1, len = cap - 1;
	uint8_t *buf, *res;

	*outp = NULL;
	if ((buf = sodium_malloc(cap)) == NULL)
		return PC_ERR_INTERNAL;
	res = u8_tolower(s, n, NULL, NULL, buf, &len);
	if (res == NULL) {
		secure_free(buf, cap);
		return errno == EILSEQ ? PC_ERR_INVALID : PC_ERR_INTERNAL;
	}
	if (res != buf)
		cap = len + 1;
	if ((*outp = adopt(res, buf, n * LOWER_GROWTH + 1, len)) == NULL)
		return PC_ERR_INTERNAL;
	*out_len = len;
	*out_cap = cap;
	return 0;
}

/* Checks the cap and UTF-8, then normalizes: shared by hash and verify. */
static int
prepare(const char *pw, size_t len, uint8_t **outp, size_t *out_len,
    size_t *out_cap)
{
	bool ctl;

	*outp = NULL;
	if (pw == NULL && len > 0)
		return PC_ERR_INVALID;
	if (len > PW_MAX_BYTES)
		return PC_ERR_TOO_LARGE;
	if (!utf8_ok((const uint8_t *)pw, len, &ctl))
		return PC_ERR_INVALID;
	return nfkc((const uint8_t *)(pw != NULL ? pw : ""), len, outp, out_len,
	    out_cap);
}

/* ---- common-password list ---- */

static int
entry_cmp(const uint8_t *s, size_t n, const char *e)
{
	size_t elen = strlen(e);
	int c = memcmp(s, e, n < elen ? n : elen);

	if (c != 0)
		return c;
	return n < elen ? -1 : n > elen ? 1 : 0;
}

static bool
listed(const uint8_t *s, size_t n)
{
	size_t lo = 0, hi = pc_common_passwords_count, mid;
	int c;

	if (n == 0)
		return false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = entry_cmp(s, n, pc_common_passwords[mid]);
		if (c == 0)
			return true;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

/* s is its first p bytes repeated (n / p >= 2 times) and those are listed. */
static bool
repeat_listed(const uint8_t *s, size_t n)
{
	for (size_t p = 1; p <= n / 2; p++) {
		size_t i;

		if (n % p != 0)
			continue;
		for (i = p; i < n && s[i] == s[i - p]; i++)
			;
		if (i == n && listed(s, p))
			return true;
	}
	return false;
}

/*
 * s (lower-cased NFKC) is a listed password, or one repeated, or either of
 * those followed by ASCII digits, punctuation or spaces
 * ("passwordpassword", "password12345678", "dragondragon!!!1").
 */
static bool
is_common(const uint8_t *s, size_t n)
{
	size_t end = n;

	if (listed(s, n) || repeat_listed(s, n))
		return true;
	while (end > 0 && s[end - 1] < 0x80 &&
	    (isdigit(s[end - 1]) || ispunct(s[end - 1]) || s[end - 1] == ' '))
		end--;
	if (end == 0 || end == n)
		return false;
	return listed(s, end) || repeat_listed(s, end);
}

/* ---- context words ---- */

struct ctxwords {
	char *w[CONTEXT_MAX_WORDS + 1]; /* NULL-terminated for zxcvbn */
	size_t n;
};

static void
ctxwords_free(struct ctxwords *cw)
{
	for (size_t i = 0; i < cw->n; i++)
		free(cw->w[i]);
	cw->n = 0;
	cw->w[0] = NULL;
}

/* Splits one context string (NFKC, lower-cased) at ASCII non-alphanumeric
 * bytes and keeps the words of at least 4 code points. */
static void
ctxwords_add(struct ctxwords *cw, const char *item)
{
	size_t n, i = 0, start;
	uint8_t *low;

	if (item == NULL ||
	    u8_check((const uint8_t *)item, strlen(item)) != NULL)
		return;
	n = 0;
	low = u8_tolower(
	    (const uint8_t *)item, strlen(item), NULL, UNINORM_NFKC, NULL, &n);
	if (low == NULL)
		return;
	while (i < n && cw->n < CONTEXT_MAX_WORDS) {
		while (i < n && low[i] < 0x80 && !isalnum(low[i]))
			i++;
		start = i;
		while (i < n && (low[i] >= 0x80 || isalnum(low[i])))
			i++;
		if (i > start && u8_mbsnlen(low + start, i - start) >= 4) {
			cw->w[cw->n++] =
			    xstrndup((const char *)low + start, i - start);
			cw->w[cw->n] = NULL;
		}
	}
	free(low);
}

static bool
has_context(const uint8_t *s, size_t n, const struct ctxwords *cw)
{
	for (size_t i = 0; i < cw->n; i++) {
		if (memmem(s, n, cw->w[i], strlen(cw->w[i])) != NULL)
			return true;
	}
	return false;
}

/* ---- public ---- */

int
pw_params_from_config(
    const struct config *cfg, struct pw_params *out, char *err, size_t err_len)
{
	/* OWASP equal-strength Argon2id settings (p = 1), in KiB by t. */
	static const long long floor_kib[] = { 0, 47104, 19456, 12288, 9216,
		7168 };
	long long t, m, kib, need;

	if (err != NULL && err_len > 0)
		err[0] = '\0';
	if (cfg == NULL || out == NULL)
		return PC_ERR_INVALID;
	t = (long long)cfg->pwhash_iterations;
	m = (long long)cfg->pwhash_memory;
	if (t < (long long)crypto_pwhash_argon2id_OPSLIMIT_MIN ||
	    (unsigned long long)t > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
	    m < (long long)crypto_pwhash_argon2id_MEMLIMIT_MIN ||
	    (unsigned long long)m > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
		if (err != NULL && err_len > 0)
			snprintf(err, err_len,
			    "pwhash_memory %lld bytes / pwhash_iterations "
			    "%lld: outside what Argon2id accepts",
			    m, t);
		return PC_ERR_CONFIG;
	}
	kib = m / 1024;
	need = floor_kib[t < 5 ? t : 5];
	if (kib < need) {
		if (err != NULL && err_len > 0)
			snprintf(err, err_len,
			    "pwhash_memory %lld KiB with pwhash_iterations "
			    "%lld is below the OWASP minimum for Argon2id "
			    "(at least %lld KiB at t = %lld; SECURITY.md "
			    "Part 2.1)",
			    kib, t, need, t);
		return PC_ERR_CONFIG;
	}
	out->opslimit = (unsigned long long)t;
	out->memlimit = (size_t)m;
	return 0;
}

int
pw_check(const char *pw, size_t len, bool has_mfa, const char *const *context,
    struct pw_check *out)
{
	int r = PC_ERR_INTERNAL;
	uint8_t *nf = NULL, *low = NULL;
	size_t nf_len = 0, nf_cap = 0, low_len = 0, low_cap = 0, chars;
	struct ctxwords cw = { .n = 0 };
	bool ctl;
	double bits;

	out->verdict = PW_OK;
	out->message = msg_ok;
	cw.w[0] = NULL;
	if (pw == NULL && len > 0)
		return PC_ERR_INVALID;
	/* DS-02: the byte cap comes before any other work. */
	if (len > PW_MAX_BYTES) {
		out->verdict = PW_TOO_LONG;
		out->message = msg_long;
		return 0;
	}
	if (pw == NULL)
		pw = "";
	if (!utf8_ok((const uint8_t *)pw, len, &ctl) || ctl) {
		out->verdict = PW_NOT_TEXT;
		out->message = msg_text;
		return 0;
	}
	if ((r = ensure_sodium()) != 0 ||
	    (r = nfkc((const uint8_t *)pw, len, &nf, &nf_len, &nf_cap)) != 0)
		goto out;
	chars = u8_mbsnlen(nf, nf_len);
	if (chars < (has_mfa ? PW_MIN_CHARS_MFA : PW_MIN_CHARS)) {
		out->verdict = PW_TOO_SHORT;
		out->message = has_mfa ? msg_short_mfa : msg_short;
		r = 0;
		goto out;
	}
	if (chars > PW_MAX_CHARS) {
		out->verdict = PW_TOO_LONG;
		out->message = msg_long;
		r = 0;
		goto out;
	}
	if ((r = lower(nf, nf_len, &low, &low_len, &low_cap)) != 0)
		goto out;
	if (is_common(low, low_len)) {
		out->verdict = PW_COMMON;
		out->message = msg_common;
		r = 0;
		goto out;
	}
	ctxwords_add(&cw, service_word);
	for (size_t i = 0; context != NULL && context[i] != NULL; i++)
		ctxwords_add(&cw, context[i]);
	if (has_context(low, low_len, &cw)) {
		out->verdict = PW_CONTEXT;
		out->message = msg_context;
		r = 0;
		goto out;
	}
	bits = ZxcvbnMatch((const char *)nf, (const char **)cw.w, NULL);
	if (!(bits >= PW_MIN_ENTROPY)) {
		out->verdict = PW_WEAK;
		out->message = msg_weak;
	}
	r = 0;
out:
	ctxwords_free(&cw);
	secure_free(low, low_cap);
	secure_free(nf, nf_cap);
	return r;
}

static bool
params_ok(const struct pw_params *p)
{
	return p != NULL &&
	    p->opslimit >= crypto_pwhash_argon2id_OPSLIMIT_MIN &&
	    p->opslimit <= crypto_pwhash_argon2id_OPSLIMIT_MAX &&
	    p->memlimit >= crypto_pwhash_argon2id_MEMLIMIT_MIN &&
	    p->memlimit <= crypto_pwhash_argon2id_MEMLIMIT_MAX;
}

int
pw_hash(
    const struct pw_params *p, const char *pw, size_t len, char out[PW_PHC_MAX])
{
	int r;
	uint8_t *nf = NULL;
	size_t nf_len = 0, nf_cap = 0;

	_Static_assert(PW_PHC_MAX == crypto_pwhash_STRBYTES, "PHC size");
	out[0] = '\0';
	if (!params_ok(p))
		return PC_ERR_INVALID;
	if ((r = ensure_sodium()) != 0 ||
	    (r = prepare(pw, len, &nf, &nf_len, &nf_cap)) != 0)
		goto out;
	if (crypto_pwhash_str_alg(out, (const char *)nf, nf_len, p->opslimit,
		p->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		out[0] = '\0';
		r = PC_ERR_CRYPTO;
		goto out;
	}
	r = 0;
out:
	secure_free(nf, nf_cap);
	return r;
}

static bool
phc_ok(const char *phc)
{
	return phc != NULL && memchr(phc, '\0', PW_PHC_MAX) != NULL &&
	    (strncmp(phc, "$argon2id$", 10) == 0 ||
		strncmp(phc, "$argon2i$", 9) == 0);
}

int
pw_verify(const char *phc, const char *pw, size_t len)
{
	int r;
	uint8_t *nf = NULL;
	size_t nf_len = 0, nf_cap = 0;

	if (!phc_ok(phc))
		return PC_ERR_INVALID;
	if ((r = ensure_sodium()) != 0)
		return r;
	if ((r = prepare(pw, len, &nf, &nf_len, &nf_cap)) != 0) {
		r = r == PC_ERR_INTERNAL ? r : PC_ERR_INVALID;
		goto out;
	}
	r = crypto_pwhash_str_verify(phc, (const char *)nf, nf_len) == 0
	    ? 0
	    : PC_ERR_VERIFY;
out:
	secure_free(nf, nf_cap);
	return r;
}

bool
pw_needs_rehash(const struct pw_params *p, const char *phc)
{
	if (!params_ok(p) || phc == NULL ||
	    memchr(phc, '\0', PW_PHC_MAX) == NULL ||
	    strncmp(phc, ARGON2ID_PREFIX, strlen(ARGON2ID_PREFIX)) != 0)
		return true;
	return crypto_pwhash_str_needs_rehash(phc, p->opslimit, p->memlimit) !=
	    0;
}

static pthread_mutex_t dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static char dummy_phc[PW_PHC_MAX];
static struct pw_params dummy_params;

void
pw_dummy_verify(const struct pw_params *p, const char *pw, size_t len)
{
	char phc[PW_PHC_MAX];
	uint8_t rnd[16];
	char hex[2 * sizeof(rnd) + 1];
	int r;

	if (!params_ok(p) || ensure_sodium() != 0)
		return;
	pthread_mutex_lock(&dummy_lock);
	if (dummy_phc[0] == '\0' || dummy_params.opslimit != p->opslimit ||
	    dummy_params.memlimit != p->memlimit) {
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
		if (pw_hash(p, hex, strlen(hex), dummy_phc) == 0)
			dummy_params = *p;
		else
			dummy_phc[0] = '\0';
		sodium_memzero(hex, sizeof(hex));
		sodium_memzero(rnd, sizeof(rnd));
	}
	memcpy(phc, dummy_phc, sizeof(phc));
	pthread_mutex_unlock(&dummy_lock);
	if (phc[0] == '\0')
		return;
	/* The answer is thrown away; only the work matters. */
	r = pw_verify(phc, pw, len);
	(void)r;
}
