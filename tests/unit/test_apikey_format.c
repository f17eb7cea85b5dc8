/*
 * The API key format (src/machine/apikey_format.c; SECURITY.md Part 2.7,
 * AK-01..03): strict parsing, the checksum's exact encoding, the
 * uniformity of the secret's characters, and the text scanner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "machine/machine.h"

static const char b62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void
test_apikey_generate_parses_back(void **state)
{
	struct apikey_parts a, b;
	char key[APIKEY_MAX_LEN + 1], key2[APIKEY_MAX_LEN + 1];

	(void)state;
	assert_int_equal(apikey_generate(APIKEY_SA, &a, key), 0);
	assert_int_equal(strlen(key), APIKEY_MAX_LEN - 1);
	assert_memory_equal(key, "pck_sa_", 7);
	assert_int_equal(apikey_parse(key, strlen(key), &b), 0);
	assert_int_equal(b.kind, APIKEY_SA);
	assert_string_equal(a.key_id, b.key_id);
	assert_string_equal(a.secret, b.secret);
	assert_int_equal(apikey_generate(APIKEY_USR, &a, key2), 0);
	assert_int_equal(strlen(key2), APIKEY_MAX_LEN);
	assert_memory_equal(key2, "pck_usr_", 8);
	assert_int_equal(apikey_parse(key2, strlen(key2), &b), 0);
	assert_int_equal(b.kind, APIKEY_USR);
	/* Fresh every time. */
	assert_string_not_equal(key, key2);
	assert_int_not_equal(apikey_generate(APIKEY_NONE, &a, key), 0);
}

/* AK-02: the check is CRC32 of the body, big-endian base62, 6 digits. */
static void
test_apikey_checksum_encoding(void **state)
{
	const char *body = "pck_sa_0123456789abcdef_"
			   "0000000000000000000000000000000000000000000";
	char out[APIKEY_CHECK_CHARS + 1], want[APIKEY_CHECK_CHARS + 1];
	unsigned long v =
	    crc32(crc32(0L, Z_NULL, 0), (const Bytef *)body, strlen(body));

	(void)state;
	for (int i = 5; i >= 0; i--) {
		want[i] = b62[v % 62];
		v /= 62;
	}
	want[6] = '\0';
	apikey_checksum(body, strlen(body), out);
	assert_string_equal(out, want);
	/* Known values: CRC32("") = 0 gives "000000"; CRC32("123456789") is
	 * 0xCBF43926, the published check value of the IEEE polynomial. */
	apikey_checksum("", 0, out);
	assert_string_equal(out, "000000");
	v = 0xCBF43926UL;
	for (int i = 5; i >= 0; i--) {
		want[i] = b62[v % 62];
		v /= 62;
	}
	apikey_checksum("123456789", 9, out);
	assert_string_equal(out, want);
	/* The largest CRC still fits in 6 digits (62^6 > 2^32). */
	assert_true(62ULL * 62 * 62 * 62 * 62 * 62 > 0xFFFFFFFFULL);
}

/* AK-03: exact lengths, alphabet, tag and checksum, nothing else. */
static void
test_apikey_parse_strict(void **state)
{
	struct apikey_parts p;
	char key[APIKEY_MAX_LEN + 1], bad[APIKEY_MAX_LEN + 8];
	size_t n;

	(void)state;
	assert_int_equal(apikey_generate(APIKEY_SA, &p, key), 0);
	n = strlen(key);
	/* Each single-character change is refused. */
	for (size_t i = 0; i < n; i++) {
		memcpy(bad, key, n + 1);
		bad[i] = bad[i] == 'x' ? 'y' : 'x';
		assert_int_equal(apikey_parse(bad, n, &p), PC_ERR_INVALID);
		assert_int_equal(p.kind, APIKEY_NONE);
		assert_string_equal(p.secret, "");
	}
	/* Truncated, extended, or with a NUL inside. */
	assert_int_equal(apikey_parse(key, n - 1, &p), PC_ERR_INVALID);
	memcpy(bad, key, n);
	bad[n] = 'A';
	assert_int_equal(apikey_parse(bad, n + 1, &p), PC_ERR_INVALID);
	memcpy(bad, key, n + 1);
	bad[20] = '\0';
	assert_int_equal(apikey_parse(bad, n, &p), PC_ERR_INVALID);
	/* The wrong tag with a valid checksum over it. */
	memcpy(bad, "pck_xx_", 7);
	memcpy(bad + 7, key + 7, n - 7 - 6);
	apikey_checksum(bad, n - 6, bad + n - 6);
	assert_int_equal(apikey_parse(bad, n, &p), PC_ERR_INVALID);
	/* A non-base62 character with a valid checksum over it. */
	memcpy(bad, key, n + 1);
	bad[30] = '-';
	apikey_checksum(bad, n - 6, bad + n - 6);
	assert_int_equal(apikey_parse(bad, n, &p), PC_ERR_INVALID);
	/* Upper-case prefix, empty, NULL. */
	memcpy(bad, key, n + 1);
	bad[0] = 'P';
	assert_int_equal(apikey_parse(bad, n, &p), PC_ERR_INVALID);
	assert_int_equal(apikey_parse("", 0, &p), PC_ERR_INVALID);
	assert_int_equal(apikey_parse(NULL, 0, &p), PC_ERR_INVALID);
	/* A look-alike with a correct checksum parses: the format is
	 * public; only the store can tell it is not a key. */
	memcpy(bad, key, n + 1);
	bad[40] = bad[40] == 'Q' ? 'R' : 'Q';
	apikey_checksum(bad, n - 6, bad + n - 6);
	assert_int_equal(apikey_parse(bad, n, &p), 0);
}

/* AK-01: rejection sampling keeps every base62 digit equally likely. */
static void
test_apikey_base62_rejection(void **state)
{
	uint8_t all[256];
	char out[256];
	int count[62] = { 0 };
	size_t k;

	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	k = apikey_base62_from_bytes(all, sizeof(all), out, sizeof(out));
	/* 248..255 are dropped; each digit comes from exactly 4 bytes. */
	assert_int_equal(k, 248);
	for (size_t i = 0; i < k; i++) {
		const char *c = strchr(b62, out[i]);

		assert_non_null(c);
		count[c - b62]++;
	}
	for (int i = 0; i < 62; i++)
		assert_int_equal(count[i], 4);
	/* want caps the output. */
	assert_int_equal(apikey_base62_from_bytes(all, 256, out, 3), 3);
	assert_memory_equal(out, "012", 3);
	assert_int_equal(out[0], '0');
	all[0] = 250;
	all[1] = 61;
	assert_int_equal(apikey_base62_from_bytes(all, 2, out, 2), 1);
	assert_int_equal(out[0], 'z');
}

struct hits {
	size_t n;
	char v[8][APIKEY_MAX_LEN + 1];
};

static int
collect(const char *p, size_t n, void *arg)
{
	struct hits *h = arg;

	assert_true(n <= APIKEY_MAX_LEN);
	if (h->n < 8) {
		memcpy(h->v[h->n], p, n);
		h->v[h->n][n] = '\0';
	}
	h->n++;
	return 0;
}

/* AK-02: the scanner finds every candidate, bounded by non-alphanumerics. */
static void
test_apikey_scan(void **state)
{
	struct apikey_parts p;
	char k1[APIKEY_MAX_LEN + 1], k2[APIKEY_MAX_LEN + 1];
	char text[1024];
	struct hits h = { 0 };

	(void)state;
	assert_int_equal(apikey_generate(APIKEY_SA, &p, k1), 0);
	assert_int_equal(apikey_generate(APIKEY_USR, &p, k2), 0);
	snprintf(text, sizeof(text), "export KEY=%s\n\"%s\",x%s y %sZ (%s)", k1,
	    k2, k1, k2, k1);
	assert_int_equal(apikey_scan(text, strlen(text), collect, &h), 0);
	/* "x" before and "Z" after continue the run: not candidates. */
	assert_int_equal(h.n, 3);
	assert_string_equal(h.v[0], k1);
	assert_string_equal(h.v[1], k2);
	assert_string_equal(h.v[2], k1);
	/* At the very start and end of the text; underscore bounds too. */
	h.n = 0;
	assert_int_equal(apikey_scan(k1, strlen(k1), collect, &h), 0);
	assert_int_equal(h.n, 1);
	h.n = 0;
	snprintf(text, sizeof(text), "_%s_", k2);
	assert_int_equal(apikey_scan(text, strlen(text), collect, &h), 0);
	assert_int_equal(h.n, 1);
	/* Truncated at the end of the text: nothing. */
	h.n = 0;
	assert_int_equal(apikey_scan(k1, strlen(k1) - 1, collect, &h), 0);
	assert_int_equal(h.n, 0);
	/* The scanner does not judge the checksum: a broken one is still a
	 * candidate (revoke-leaked reports it as such). */
	h.n = 0;
	snprintf(text, sizeof(text), "%s", k1);
	text[strlen(text) - 1] = text[strlen(text) - 1] == 'a' ? 'b' : 'a';
	assert_int_equal(apikey_scan(text, strlen(text), collect, &h), 0);
	assert_int_equal(h.n, 1);
	/* A non-zero return stops the scan. */
	assert_int_equal(apikey_scan("pck_", 4, collect, &h), 0);
}

static void
test_apikey_public_id(void **state)
{
	char id[APIKEY_PUBLIC_ID_LEN + 1], k[APIKEY_ID_CHARS + 1];

	(void)state;
	apikey_public_id("0123456789abcdef", id);
	assert_string_equal(id, "key_0123456789abcdef");
	assert_int_equal(principal_kind(id), PRINCIPAL_API_KEY);
	assert_int_equal(apikey_id_from_public(id, k), 0);
	assert_string_equal(k, "0123456789abcdef");
	assert_int_equal(
	    apikey_id_from_public("key_0123456789abcde", k), PC_ERR_INVALID);
	assert_int_equal(
	    apikey_id_from_public("svc_0123456789abcdef", k), PC_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apikey_generate_parses_back),
		cmocka_unit_test(test_apikey_checksum_encoding),
		cmocka_unit_test(test_apikey_parse_strict),
		cmocka_unit_test(test_apikey_base62_rejection),
		cmocka_unit_test(test_apikey_scan),
		cmocka_unit_test(test_apikey_public_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
