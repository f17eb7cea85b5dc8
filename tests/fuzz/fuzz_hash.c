/*
 * libFuzzer driver for the hash and secret strings Portcullis parses back
 * from storage: the Argon2id PHC string of a password (pw_verify,
 * pw_needs_rehash; src/auth/password.c), the sealed-secret text
 * "v1.<base64url>" (unseal; src/crypto/seal.c: signing keys, the master-key
 * check, RT-02 refresh successors) and the master key file (masterkey_load;
 * src/crypto/masterkey.c). Client secrets are stored as a SHA-256 hex
 * digest that is only compared, never parsed; the secrets clients present
 * (cookies, codes, tokens) are reached through fuzz_router.
 *
 * Input: a first byte choosing the target (low two bits) and whether to
 * run the round trip (bit 2), then "string\nsecret"; for the master key
 * file, the rest of the input is the file.
 *
 * Costs: a PHC string carries its own Argon2 cost, so a fuzzed one could
 * ask for gigabytes. Strings whose m, t or p (any number after '=') is over
 * a small bound are still parsed by pw_needs_rehash but not verified. New
 * hashes use the smallest parameters libsodium takes (t = 1, 8 KiB)
 * through struct pw_params, the parameter pw_hash already takes.
 *
 * Promises checked besides "no crash, leak or hang":
 *   - pw_verify answers 0, PC_ERR_VERIFY or PC_ERR_INVALID; a string of
 *     PW_PHC_MAX bytes or more, or not Argon2, is PC_ERR_INVALID; a string
 *     that accepts a password refuses that password with a byte appended;
 *   - a new hash of the secret (when it is a valid password) verifies, needs
 *     no re-hash under its own parameters and needs one under others;
 *     pw_hash and pw_verify agree on what is not a valid password;
 *   - nothing the fuzzer writes unseals (the key is random per process);
 *     sealed text round-trips, fails under another aad, and any one-byte
 *     change to it fails or gives back exactly the same plaintext.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "util/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Largest Argon2 cost a fuzzed PHC string may ask pw_verify for. */
#define MAX_M_KIB 32
#define MAX_T 2
#define MAX_OTHER 64

static const struct pw_params minimal = { 1, 8192 };
static const struct pw_params other = { 2, 8192 };
static uint8_t seal_key[32];
static char dir[64], key_path[128];
static struct config cfg;
static bool ready;

static void
cleanup(void)
{
	(void)unlink(key_path);
	(void)rmdir(dir);
	config_free(&cfg);
}

static void
setup(void)
{
	char err[256];

	if (crypto_init() != 0)
		abort();
	randombytes_buf(seal_key, sizeof(seal_key));
	/* tmpfs when there is one: no disk I/O per write or commit. */
	snprintf(dir, sizeof(dir), "%s/pc-fuzz-hash-XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(key_path, sizeof(key_path), "%s/master.key", dir);
	unsetenv("PORTCULLIS_MASTER_KEY");
	config_defaults(&cfg);
	if (config_set(&cfg, "master_key_file", key_path, CONFIG_SRC_FLAG, err,
		sizeof(err)) != 0)
		abort();
	atexit(cleanup);
	ready = true;
}

/* Splits at the next '\n': [*p, nl) is returned, *p moves past it. */
static char *
piece(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	const uint8_t *e = nl != NULL ? nl : end;
	char *s = malloc((size_t)(e - *p) + 1);

	if (s == NULL)
		abort();
	memcpy(s, *p, (size_t)(e - *p));
	s[e - *p] = '\0';
	*len = (size_t)(e - *p);
	*p = nl != NULL ? nl + 1 : end;
	return s;
}

/*
 * Whether every number libsodium would read from phc is small: it reads
 * m, t, p (and v) only as the digits right after an '='.
 */
static bool
cost_small(const char *phc)
{
	for (const char *q = strchr(phc, '='); q != NULL;
	     q = strchr(q + 1, '=')) {
		unsigned long v = 0;
		const char *d = q + 1;
		unsigned long max = q > phc && q[-1] == 'm' ? MAX_M_KIB
		    : q > phc && q[-1] == 't'		    ? MAX_T
							    : MAX_OTHER;

		while (*d >= '0' && *d <= '9') {
			v = v * 10 + (unsigned long)(*d - '0');
			if (v > max)
				return false;
			d++;
		}
	}
	return true;
}

static void
phc_target(const char *phc, const char *pw, size_t pw_len, bool round)
{
	size_t n = strlen(phc);
	int r;

	(void)pw_needs_rehash(&minimal, phc);
	if (cost_small(phc)) {
		r = pw_verify(phc, pw, pw_len);
		if (r != 0 && r != PC_ERR_VERIFY && r != PC_ERR_INVALID)
			abort();
		if (n >= PW_PHC_MAX && r != PC_ERR_INVALID)
			abort();
		if (strncmp(phc, "$argon2id$", 10) != 0 &&
		    strncmp(phc, "$argon2i$", 9) != 0 && r != PC_ERR_INVALID)
			abort();
		if (r == 0 && pw_len < PW_MAX_BYTES) {
			char *more = malloc(pw_len + 2);

			if (more == NULL)
				abort();
			memcpy(more, pw, pw_len);
			more[pw_len] = 'x';
			more[pw_len + 1] = '\0';
			if (pw_verify(phc, more, pw_len + 1) == 0)
				abort();
			free(more);
		}
	}
	if (round) {
		char out[PW_PHC_MAX];

		r = pw_hash(&minimal, pw, pw_len, out);
		if (r == 0) {
			if (pw_verify(out, pw, pw_len) != 0 ||
			    pw_needs_rehash(&minimal, out) ||
			    !pw_needs_rehash(&other, out))
				abort();
		} else {
			if (r != PC_ERR_INVALID && r != PC_ERR_TOO_LARGE)
				abort();
			/* What cannot be hashed cannot be verified. */
			if (cost_small(phc) &&
			    pw_verify(phc, pw, pw_len) != PC_ERR_INVALID)
				abort();
		}
		sodium_memzero(out, sizeof(out));
	}
}

static void
sealed_target(const char *text, const char *pt, size_t pt_len, bool round)
{
	uint8_t *got = NULL;
	size_t n = 0;
	char *sealed = NULL;
	int r;

	r = unseal(seal_key, "fuzz", text, &got, &n);
	if (r == 0)
		abort(); /* the fuzzer does not have the key */
	if (r != PC_ERR_INVALID && r != PC_ERR_VERIFY)
		abort();
	if (!round)
		return;
	r = seal(seal_key, "fuzz", (const uint8_t *)pt, pt_len, &sealed);
	if (r != 0)
		abort(); /* pt is under SEAL_MAX: the input is capped */
	if (unseal(seal_key, "fuzz", sealed, &got, &n) != 0 || n != pt_len ||
	    (n > 0 && memcmp(got, pt, n) != 0))
		abort();
	sodium_free(got);
	got = NULL;
	if (unseal(seal_key, "fuzz2", sealed, &got, &n) != PC_ERR_VERIFY)
		abort();
	/* One byte of the text replaced by one of the input's. */
	if (text[0] != '\0') {
		size_t len = strlen(sealed),
		       at = (size_t)(uint8_t)text[0] % len;

		sealed[at] = text[strlen(text) - 1];
		r = unseal(seal_key, "fuzz", sealed, &got, &n);
		if (r == 0 &&
		    (n != pt_len || (n > 0 && memcmp(got, pt, n) != 0)))
			abort();
		if (got != NULL)
			sodium_free(got);
	}
	free(sealed);
}

static void
masterkey_target(const char *text, size_t len)
{
	struct masterkey *mk = NULL;
	enum masterkey_source src;
	char err[256];
	int fd, r;

	(void)unlink(key_path);
	fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || (len > 0 && write(fd, text, len) != (ssize_t)len))
		abort();
	close(fd);
	r = masterkey_load(&cfg, false, &mk, &src, err, sizeof(err));
	if (r == 0) {
		if (mk == NULL || src != MASTERKEY_FILE)
			abort();
		masterkey_free(mk);
	} else if (mk != NULL || err[0] == '\0') {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + (size > 0 ? 1 : 0), *end = data + size;
	uint8_t mode = size > 0 ? data[0] : 0;
	size_t alen, blen;
	char *a, *b;

	if (!ready)
		setup();
	if (size > 8192)
		return 0;
	if ((mode & 3) == 2) {
		masterkey_target((const char *)p, (size_t)(end - p));
		return 0;
	}
	a = piece(&p, end, &alen);
	b = piece(&p, end, &blen);
	if ((mode & 3) == 1)
		sealed_target(a, b, blen, (mode & 4) != 0);
	else
		phc_target(a, b, blen, (mode & 4) != 0);
	free(a);
	free(b);
	return 0;
}
