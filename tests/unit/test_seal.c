/*
 * Unit tests for crypto/seal.c and crypto/masterkey.c: sealed text is
 * bound to its key and its associated data (a kid), any change to it
 * fails, and each seal uses a fresh nonce; the master key file is created
 * 0600 without following links or overwriting, is refused when group or
 * others may touch it or when it is a symlink, the environment variable
 * wins and is wiped, and production never creates a key by itself.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/crypto.h"

#define MK_ENV "PORTCULLIS_MASTER_KEY"

/* ------------------------------------------------------------------ */
/* seal / unseal */

static const uint8_t plain[] = "the private key, in DER";

static char *
seal_ok(const uint8_t key[32], const char *aad, const uint8_t *pt, size_t n)
{
	char *text = NULL;

	assert_int_equal(seal(key, aad, pt, n, &text), 0);
	assert_non_null(text);
	return text;
}

/* unseal must fail with want (0: any error) and hand back nothing. */
static void
unseal_fails(const uint8_t key[32], const char *aad, const char *text, int want)
{
	uint8_t *pt = (uint8_t *)1;
	size_t n = 99;
	int r = unseal(key, aad, text, &pt, &n);

	if (want != 0)
		assert_int_equal(r, want);
	else
		assert_true(r < 0);
	assert_null(pt);
	assert_int_equal(n, 0);
}

static void
test_seal_round_trip(void **state)
{
	uint8_t key[32], *pt = NULL, big[64 * 1024];
	size_t n = 0;
	char *text;

	(void)state;
	randombytes_buf(key, sizeof(key));
	text = seal_ok(key, "kid-1", plain, sizeof(plain));
	assert_memory_equal(text, "v1.", 3);
	for (const char *p = text + 3; *p != '\0'; p++)
		assert_non_null(
		    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
			   "opqrstuvwxyz0123456789-_",
			*p));
	assert_int_equal(unseal(key, "kid-1", text, &pt, &n), 0);
	assert_int_equal(n, sizeof(plain));
	assert_memory_equal(pt, plain, n);
	sodium_free(pt); /* sodium_malloc'd: sodium_free checks its canary */
	free(text);

	/* Empty plaintext and empty associated data. */
	text = seal_ok(key, "", plain, 0);
	assert_int_equal(unseal(key, "", text, &pt, &n), 0);
	assert_int_equal(n, 0);
	assert_non_null(pt);
	sodium_free(pt);
	free(text);

	/* The largest plaintext, and one byte more. */
	randombytes_buf(big, sizeof(big));
	text = seal_ok(key, "big", big, sizeof(big));
	assert_int_equal(unseal(key, "big", text, &pt, &n), 0);
	assert_int_equal(n, sizeof(big));
	assert_memory_equal(pt, big, n);
	sodium_free(pt);
	free(text);
	text = (char *)1;
	assert_int_equal(
	    seal(key, "big", big, sizeof(big) + 1, &text), PC_ERR_TOO_LARGE);
	assert_null(text);
}

static void
test_seal_wrong_key(void **state)
{
	uint8_t key[32], other[32];
	char *text;

	(void)state;
	randombytes_buf(key, sizeof(key));
	memcpy(other, key, sizeof(other));
	other[31] ^= 0x01;
	text = seal_ok(key, "kid-1", plain, sizeof(plain));
	unseal_fails(other, "kid-1", text, PC_ERR_VERIFY);
	memset(other, 0, sizeof(other));
	unseal_fails(other, "kid-1", text, PC_ERR_VERIFY);
	free(text);
}

/* The aad binds a sealed key to its row: another kid does not open it. */
static void
test_seal_wrong_aad(void **state)
{
	static const char *const wrong[] = { "kid-2", "kid-", "kid-1 ", "KID-1",
		"", "kid-1\n", "kid-11" };
	uint8_t key[32];
	char *text;

	(void)state;
	randombytes_buf(key, sizeof(key));
	text = seal_ok(key, "kid-1", plain, sizeof(plain));
	for (size_t i = 0; i < PC_NELEM(wrong); i++)
		unseal_fails(key, wrong[i], text, PC_ERR_VERIFY);
	free(text);
	text = seal_ok(key, "", plain, sizeof(plain));
	unseal_fails(key, "kid-1", text, PC_ERR_VERIFY);
	free(text);
}

/* Every bit of nonce, ciphertext and tag is covered. */
static void
test_seal_flipped_bytes(void **state)
{
	uint8_t key[32], raw[256];
	size_t rlen = 0;
	char *text, tampered[400];

	(void)state;
	randombytes_buf(key, sizeof(key));
	text = seal_ok(key, "kid-1", plain, sizeof(plain));
	assert_int_equal(
	    b64url_decode(text + 3, strlen(text) - 3, raw, sizeof(raw), &rlen),
	    0);
	assert_int_equal(rlen, 24 + sizeof(plain) + 16);
	for (size_t i = 0; i < rlen; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			raw[i] ^= (uint8_t)(1u << bit);
			memcpy(tampered, "v1.", 3);
			b64url_encode(raw, rlen, tampered + 3);
			unseal_fails(key, "kid-1", tampered, PC_ERR_VERIFY);
			raw[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* Changing any one character of the text fails as well. */
	for (size_t i = 3; i < strlen(text); i++) {
		snprintf(tampered, sizeof(tampered), "%s", text);
		tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
		unseal_fails(key, "kid-1", tampered, 0);
	}
	free(text);
}

static void
test_seal_truncated_and_extended(void **state)
{
	uint8_t key[32];
	char *text, cut[400];
	size_t len;

	(void)state;
	randombytes_buf(key, sizeof(key));
	text = seal_ok(key, "kid-1", plain, sizeof(plain));
	len = strlen(text);
	for (size_t n = 0; n < len; n++) {
		memcpy(cut, text, n);
		cut[n] = '\0';
		unseal_fails(key, "kid-1", cut, 0);
	}
	snprintf(cut, sizeof(cut), "%sA", text);
	unseal_fails(key, "kid-1", cut, 0);
	snprintf(cut, sizeof(cut), "%sAAAA", text);
	unseal_fails(key, "kid-1", cut, 0);
	snprintf(cut, sizeof(cut), "%s.", text);
	unseal_fails(key, "kid-1", cut, PC_ERR_INVALID);
	free(text);
}

static void
test_seal_bad_text_form(void **state)
{
	uint8_t key[32];
	char *text, bad[400];

	(void)state;
	randombytes_buf(key, sizeof(key));
	text = seal_ok(key, "kid-1", plain, sizeof(plain));
	/* Missing or different version prefix. */
	unseal_fails(key, "kid-1", text + 3, PC_ERR_INVALID);
	snprintf(bad, sizeof(bad), "v2.%s", text + 3);
	unseal_fails(key, "kid-1", bad, PC_ERR_INVALID);
	snprintf(bad, sizeof(bad), "V1.%s", text + 3);
	unseal_fails(key, "kid-1", bad, PC_ERR_INVALID);
	snprintf(bad, sizeof(bad), "v1%s", text + 3);
	unseal_fails(key, "kid-1", bad, PC_ERR_INVALID);
	snprintf(bad, sizeof(bad), " %s", text);
	unseal_fails(key, "kid-1", bad, PC_ERR_INVALID);
	unseal_fails(key, "kid-1", "", PC_ERR_INVALID);
	unseal_fails(key, "kid-1", "v1.", PC_ERR_INVALID);
	unseal_fails(key, "kid-1", "v1", PC_ERR_INVALID);
	/* Not base64url: other alphabets, padding, whitespace. */
	unseal_fails(key, "kid-1", "v1.!!!!", PC_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%s=", text);
	unseal_fails(key, "kid-1", bad, PC_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%s", text);
	bad[10] = '+';
	unseal_fails(key, "kid-1", bad, PC_ERR_INVALID);
	bad[10] = '/';
	unseal_fails(key, "kid-1", bad, PC_ERR_INVALID);
	bad[10] = ' ';
	unseal_fails(key, "kid-1", bad, PC_ERR_INVALID);
	snprintf(bad, sizeof(bad), "%s\n", text);
	unseal_fails(key, "kid-1", bad, PC_ERR_INVALID);
	/* Well-formed but shorter than nonce and tag. */
	unseal_fails(key, "kid-1",
	    "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", PC_ERR_INVALID);
	free(text);
}

static void
test_seal_oversized_text(void **state)
{
	size_t n = 200 * 1024;
	char *text = malloc(n + 1);
	uint8_t key[32];

	(void)state;
	assert_non_null(text);
	randombytes_buf(key, sizeof(key));
	memcpy(text, "v1.", 3);
	memset(text + 3, 'A', n - 3);
	text[n] = '\0';
	unseal_fails(key, "kid-1", text, PC_ERR_INVALID);
	free(text);
}

/* A fresh random nonce per seal: equal plaintexts never look equal. */
static void
test_seal_nonce_is_random(void **state)
{
	uint8_t key[32], a_raw[128], b_raw[128];
	size_t a_len, b_len;
	char *a, *b;

	(void)state;
	randombytes_buf(key, sizeof(key));
	a = seal_ok(key, "kid-1", plain, sizeof(plain));
	b = seal_ok(key, "kid-1", plain, sizeof(plain));
	assert_int_equal(strlen(a), strlen(b));
	assert_string_not_equal(a, b);
	assert_int_equal(
	    b64url_decode(a + 3, strlen(a) - 3, a_raw, sizeof(a_raw), &a_len),
	    0);
	assert_int_equal(
	    b64url_decode(b + 3, strlen(b) - 3, b_raw, sizeof(b_raw), &b_len),
	    0);
	assert_memory_not_equal(a_raw, b_raw, 24);
	assert_memory_not_equal(a_raw + 24, b_raw + 24, a_len - 24);
	free(a);
	free(b);
}

/* ------------------------------------------------------------------ */
/* The master key */

struct mk_fixture {
	char dir[64];
	char path[128]; /* <dir>/master.key */
	struct config cfg;
};

static int
mk_setup(void **state)
{
	struct mk_fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL)
		return -1;
	unsetenv(MK_ENV);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pc-test-seal-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/master.key", f->dir);
	config_defaults(&f->cfg);
	if (config_set(&f->cfg, "data_dir", f->dir, CONFIG_SRC_FLAG, err,
		sizeof(err)) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
mk_teardown(void **state)
{
	static const char *const names[] = { "master.key", "link.key",
		"other.key", "target.key", "sub" };
	struct mk_fixture *f = *state;
	char p[192];

	unsetenv(MK_ENV);
	for (size_t i = 0; i < PC_NELEM(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, names[i]);
		if (unlink(p) != 0 && errno == EISDIR)
			(void)rmdir(p);
		(void)rmdir(p);
	}
	config_free(&f->cfg);
	if (rmdir(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp;

	(void)unlink(path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* A fingerprint of a master key through the only door it has. */
static void
fingerprint(const struct masterkey *mk, uint8_t out[32])
{
	masterkey_derive(mk, "testtest", 0, out);
}

/* The derivation of a raw 32-byte key, for comparison. */
static void
expected_fingerprint(const uint8_t key[32], uint8_t out[32])
{
	assert_int_equal(
	    crypto_kdf_derive_from_key(out, 32, 0, "testtest", key), 0);
}

static int
load(struct mk_fixture *f, bool create, struct masterkey **mk,
    enum masterkey_source *src, char *err, size_t err_len)
{
	return masterkey_load(&f->cfg, create, mk, src, err, err_len);
}

static void
test_seal_masterkey_path(void **state)
{
	struct mk_fixture *f = *state;
	char p[4096], err[256];

	masterkey_path(&f->cfg, p, sizeof(p));
	assert_string_equal(p, f->path);
	assert_int_equal(config_set(&f->cfg, "master_key_file", "/etc/pc.key",
			     CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	masterkey_path(&f->cfg, p, sizeof(p));
	assert_string_equal(p, "/etc/pc.key");
}

static void
test_seal_masterkey_create_file(void **state)
{
	struct mk_fixture *f = *state;
	char err[512] = "", before[128] = "", after[128] = "";
	struct stat st;
	FILE *fp;
	uint8_t key[64];
	size_t len;

	assert_int_equal(masterkey_create_file(f->path, err, sizeof(err)), 0);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	fp = fopen(f->path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(before, sizeof(before), fp));
	fclose(fp);
	/* 32 bytes in base64url and a newline. */
	len = strlen(before);
	assert_int_equal(len, 44);
	assert_int_equal(before[43], '\n');
	assert_int_equal(b64url_decode(before, 43, key, sizeof(key), &len), 0);
	assert_int_equal(len, 32);

	/* Never overwritten. */
	assert_int_equal(
	    masterkey_create_file(f->path, err, sizeof(err)), PC_ERR_IO);
	assert_non_null(strstr(err, f->path));
	fp = fopen(f->path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(after, sizeof(after), fp));
	fclose(fp);
	assert_string_equal(before, after);
	sodium_memzero(key, sizeof(key));
}

/* A planted symlink does not redirect the new key elsewhere. */
static void
test_seal_masterkey_create_refuses_symlink(void **state)
{
	struct mk_fixture *f = *state;
	char target[192], err[512];
	struct stat st;

	snprintf(target, sizeof(target), "%s/target.key", f->dir);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(
	    masterkey_create_file(f->path, err, sizeof(err)), PC_ERR_IO);
	assert_int_equal(stat(target, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_seal_masterkey_load_refuses_loose_modes(void **state)
{
	static const mode_t modes[] = { 0640, 0604, 0644, 0660, 0606, 0610,
		0601, 0620, 0602, 0666, 0777 };
	struct mk_fixture *f = *state;
	struct masterkey *mk = (struct masterkey *)1;
	enum masterkey_source src;
	char err[512];

	assert_int_equal(masterkey_create_file(f->path, err, sizeof(err)), 0);
	for (size_t i = 0; i < PC_NELEM(modes); i++) {
		assert_int_equal(chmod(f->path, modes[i]), 0);
		err[0] = '\0';
		if (load(f, false, &mk, &src, err, sizeof(err)) != PC_ERR_PERM)
			fail_msg("mode %04o accepted", (unsigned)modes[i]);
		assert_null(mk);
		assert_non_null(strstr(err, "chmod 600"));
	}
	/* The refusal did not touch the file. */
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(load(f, false, &mk, &src, err, sizeof(err)), 0);
	assert_int_equal(src, MASTERKEY_FILE);
	masterkey_free(mk);
	assert_int_equal(chmod(f->path, 0400), 0);
	assert_int_equal(load(f, false, &mk, &src, err, sizeof(err)), 0);
	masterkey_free(mk);
}

static void
test_seal_masterkey_load_refuses_symlink(void **state)
{
	struct mk_fixture *f = *state;
	struct masterkey *mk = (struct masterkey *)1;
	enum masterkey_source src;
	char target[192], err[512];
	struct stat st;

	snprintf(target, sizeof(target), "%s/target.key", f->dir);
	assert_int_equal(masterkey_create_file(target, err, sizeof(err)), 0);
	assert_int_equal(symlink(target, f->path), 0);
	assert_true(load(f, false, &mk, &src, err, sizeof(err)) < 0);
	assert_null(mk);
	/* Not even with create: the link is not replaced or followed. */
	assert_true(load(f, true, &mk, &src, err, sizeof(err)) < 0);
	assert_null(mk);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* A dangling link is no better. */
	assert_int_equal(unlink(target), 0);
	assert_true(load(f, true, &mk, &src, err, sizeof(err)) < 0);
	assert_null(mk);
	assert_int_equal(stat(target, &st), -1);
}

static void
test_seal_masterkey_load_refuses_non_file(void **state)
{
	struct mk_fixture *f = *state;
	struct masterkey *mk = (struct masterkey *)1;
	enum masterkey_source src;
	char err[512];

	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_true(load(f, true, &mk, &src, err, sizeof(err)) < 0);
	assert_null(mk);
	assert_int_equal(rmdir(f->path), 0);
}

static void
test_seal_masterkey_load_file_encodings(void **state)
{
	struct mk_fixture *f = *state;
	struct masterkey *mk = NULL;
	enum masterkey_source src;
	uint8_t key[32], want[32], got[32];
	char hex[65], b64[44], text[160], err[512];

	randombytes_buf(key, sizeof(key));
	expected_fingerprint(key, want);
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	b64url_encode(key, sizeof(key), b64);

	snprintf(text, sizeof(text), "%s\n", b64);
	write_file(f->path, text, 0600);
	assert_int_equal(load(f, false, &mk, &src, err, sizeof(err)), 0);
	assert_int_equal(src, MASTERKEY_FILE);
	fingerprint(mk, got);
	assert_memory_equal(got, want, 32);
	masterkey_free(mk);

	snprintf(text, sizeof(text), "%s\r\n", hex);
	write_file(f->path, text, 0600);
	assert_int_equal(load(f, false, &mk, &src, err, sizeof(err)), 0);
	fingerprint(mk, got);
	assert_memory_equal(got, want, 32);
	masterkey_free(mk);

	/* Not a key: wrong length, wrong alphabet, empty. */
	write_file(f->path, "not a key\n", 0600);
	assert_int_equal(
	    load(f, false, &mk, &src, err, sizeof(err)), PC_ERR_INVALID);
	assert_null(mk);
	hex[62] = '\0';
	write_file(f->path, hex, 0600);
	assert_int_equal(
	    load(f, false, &mk, &src, err, sizeof(err)), PC_ERR_INVALID);
	write_file(f->path, "", 0600);
	assert_int_equal(
	    load(f, false, &mk, &src, err, sizeof(err)), PC_ERR_INVALID);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(text, sizeof(text));
}

/* The variable wins over the file, in hex or base64url, and is gone after. */
static void
test_seal_masterkey_load_env(void **state)
{
	struct mk_fixture *f = *state;
	struct masterkey *mk = NULL;
	enum masterkey_source src;
	uint8_t key[32], want[32], got[32];
	char hex[65], b64[44], err[512];
	static char var[sizeof(MK_ENV) + 65];

	randombytes_buf(key, sizeof(key));
	expected_fingerprint(key, want);
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	b64url_encode(key, sizeof(key), b64);
	/* A file holding another key: the environment comes first. */
	assert_int_equal(masterkey_create_file(f->path, err, sizeof(err)), 0);

	assert_int_equal(setenv(MK_ENV, hex, 1), 0);
	assert_int_equal(load(f, false, &mk, &src, err, sizeof(err)), 0);
	assert_int_equal(src, MASTERKEY_ENV);
	assert_null(getenv(MK_ENV));
	fingerprint(mk, got);
	assert_memory_equal(got, want, 32);
	masterkey_free(mk);

	/* putenv puts our own buffer in the environment, so the wipe of the
	 * value in place can be seen. */
	snprintf(var, sizeof(var), "%s=%s", MK_ENV, b64);
	assert_int_equal(putenv(var), 0);
	assert_int_equal(load(f, false, &mk, &src, err, sizeof(err)), 0);
	assert_int_equal(src, MASTERKEY_ENV);
	assert_null(getenv(MK_ENV));
	fingerprint(mk, got);
	assert_memory_equal(got, want, 32);
	masterkey_free(mk);
	for (size_t i = sizeof(MK_ENV); i < sizeof(MK_ENV) + 43; i++)
		assert_int_equal(var[i], '\0');

	/* Without the variable, the file's own key. */
	assert_int_equal(load(f, false, &mk, &src, err, sizeof(err)), 0);
	assert_int_equal(src, MASTERKEY_FILE);
	fingerprint(mk, got);
	assert_memory_not_equal(got, want, 32);
	masterkey_free(mk);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(b64, sizeof(b64));
}

static void
test_seal_masterkey_load_bad_env(void **state)
{
	static const char *const bad[] = {
		"zz",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccdde"
		"e",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddee"
		"ff0",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"not a key at all",
		"0x00112233445566778899aabbccddeeff00112233445566778899aabbccdd"
		"ee",
	};
	struct mk_fixture *f = *state;
	struct masterkey *mk = (struct masterkey *)1;
	enum masterkey_source src;
	char err[512];
	struct stat st;

	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		assert_int_equal(setenv(MK_ENV, bad[i], 1), 0);
		err[0] = '\0';
		/* Even with create: a bad variable is an error, not a reason
		 * to make up a new key. */
		if (load(f, true, &mk, &src, err, sizeof(err)) == 0)
			fail_msg("bad key '%s' accepted", bad[i]);
		assert_null(mk);
		assert_null(getenv(MK_ENV));
		assert_non_null(strstr(err, MK_ENV));
		/* The value is not echoed back. */
		assert_null(strstr(err, bad[i]));
		assert_int_equal(lstat(f->path, &st), -1);
	}
}

/* Production: no variable, no file, no key. Nothing is created. */
static void
test_seal_masterkey_load_missing_production(void **state)
{
	struct mk_fixture *f = *state;
	struct masterkey *mk = (struct masterkey *)1;
	enum masterkey_source src;
	char err[512] = "";
	struct stat st;

	assert_int_equal(
	    load(f, false, &mk, &src, err, sizeof(err)), PC_ERR_NOT_FOUND);
	assert_null(mk);
	assert_non_null(strstr(err, MK_ENV));
	assert_non_null(strstr(err, f->path));
	assert_int_equal(lstat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
	/* An empty variable counts as absent. */
	assert_int_equal(setenv(MK_ENV, "", 1), 0);
	assert_int_equal(
	    load(f, false, &mk, &src, err, sizeof(err)), PC_ERR_NOT_FOUND);
	assert_int_equal(lstat(f->path, &st), -1);
}

static void
test_seal_masterkey_load_creates_in_development(void **state)
{
	struct mk_fixture *f = *state;
	struct masterkey *a = NULL, *b = NULL;
	enum masterkey_source src;
	uint8_t fa[32], fb[32];
	char err[512] = "";
	struct stat st;

	assert_int_equal(load(f, true, &a, &src, err, sizeof(err)), 0);
	assert_int_equal(src, MASTERKEY_CREATED);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(load(f, true, &b, &src, err, sizeof(err)), 0);
	assert_int_equal(src, MASTERKEY_FILE);
	fingerprint(a, fa);
	fingerprint(b, fb);
	assert_memory_equal(fa, fb, 32);
	masterkey_free(a);
	masterkey_free(b);
	masterkey_free(NULL);
}

static void
test_seal_masterkey_derive(void **state)
{
	struct mk_fixture *f = *state;
	struct masterkey *a = NULL, *b = NULL;
	enum masterkey_source src;
	uint8_t x[32], y[32];
	char other[192], err[512];

	assert_int_equal(load(f, true, &a, &src, err, sizeof(err)), 0);
	snprintf(other, sizeof(other), "%s/other.key", f->dir);
	assert_int_equal(config_set(&f->cfg, "master_key_file", other,
			     CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_equal(load(f, true, &b, &src, err, sizeof(err)), 0);
	/* Deterministic. */
	masterkey_derive(a, "signkeys", 1, x);
	masterkey_derive(a, "signkeys", 1, y);
	assert_memory_equal(x, y, 32);
	/* Per context, per id, per master key. */
	masterkey_derive(a, "sessions", 1, y);
	assert_memory_not_equal(x, y, 32);
	masterkey_derive(a, "signkeyt", 1, y);
	assert_memory_not_equal(x, y, 32);
	masterkey_derive(a, "signkeys", 2, y);
	assert_memory_not_equal(x, y, 32);
	masterkey_derive(a, "signkeys", 0, y);
	assert_memory_not_equal(x, y, 32);
	masterkey_derive(b, "signkeys", 1, y);
	assert_memory_not_equal(x, y, 32);
	masterkey_free(a);
	masterkey_free(b);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, mk_setup, mk_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_round_trip),
		cmocka_unit_test(test_seal_wrong_key),
		cmocka_unit_test(test_seal_wrong_aad),
		cmocka_unit_test(test_seal_flipped_bytes),
		cmocka_unit_test(test_seal_truncated_and_extended),
		cmocka_unit_test(test_seal_bad_text_form),
		cmocka_unit_test(test_seal_oversized_text),
		cmocka_unit_test(test_seal_nonce_is_random),
		T(test_seal_masterkey_path),
		T(test_seal_masterkey_create_file),
		T(test_seal_masterkey_create_refuses_symlink),
		T(test_seal_masterkey_load_refuses_loose_modes),
		T(test_seal_masterkey_load_refuses_symlink),
		T(test_seal_masterkey_load_refuses_non_file),
		T(test_seal_masterkey_load_file_encodings),
		T(test_seal_masterkey_load_env),
		T(test_seal_masterkey_load_bad_env),
		T(test_seal_masterkey_load_missing_production),
		T(test_seal_masterkey_load_creates_in_development),
		T(test_seal_masterkey_derive),
	};
#undef T

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
