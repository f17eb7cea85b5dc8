/*
 * Unit tests for jose/b64url.c: RFC 4648 §10 vectors in the URL alphabet,
 * round trips, and every way of spelling bytes that strict decoding must
 * refuse (padding, whitespace, the standard alphabet, non-canonical bits).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "jose/jose.h"

static int
decode_str(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	return b64url_decode(s, strlen(s), out, cap, len);
}

static void
test_b64url_rfc4648_vectors(void **state)
{
	static const struct {
		const char *plain;
		const char *enc;
	} v[] = {
		{ "", "" },
		{ "f", "Zg" },
		{ "fo", "Zm8" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg" },
		{ "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	char enc[16];
	uint8_t dec[16];
	size_t i, len;

	(void)state;
	for (i = 0; i < PC_NELEM(v); i++) {
		size_t n = strlen(v[i].plain);

		assert_int_equal(b64url_encoded_len(n), strlen(v[i].enc));
		b64url_encode((const uint8_t *)v[i].plain, n, enc);
		assert_string_equal(enc, v[i].enc);
		assert_int_equal(
		    decode_str(v[i].enc, dec, sizeof(dec), &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(dec, v[i].plain, n);
	}
}

/* 0xfb 0xff is "+/8=" in base64 and "-_8" in base64url. */
static void
test_b64url_url_alphabet(void **state)
{
	static const uint8_t raw[] = { 0xfb, 0xff };
	char enc[8];
	uint8_t dec[4];
	size_t len;

	(void)state;
	b64url_encode(raw, sizeof(raw), enc);
	assert_string_equal(enc, "-_8");
	assert_int_equal(decode_str("-_8", dec, sizeof(dec), &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(dec, raw, 2);
	assert_int_equal(
	    decode_str("+/8", dec, sizeof(dec), &len), PC_ERR_INVALID);
}

/* Every 6-bit value maps to its own character and back. */
static void
test_b64url_all_values(void **state)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t raw[48], dec[48];
	char enc[65];
	size_t i, len;

	(void)state;
	/* 64 characters, each value once: 0, 1, ..., 63 in 6-bit groups. */
	for (i = 0; i < 64; i += 4) {
		uint32_t w = (uint32_t)i << 18 | (uint32_t)(i + 1) << 12 |
		    (uint32_t)(i + 2) << 6 | (uint32_t)(i + 3);

		raw[i / 4 * 3] = (uint8_t)(w >> 16);
		raw[i / 4 * 3 + 1] = (uint8_t)(w >> 8);
		raw[i / 4 * 3 + 2] = (uint8_t)w;
	}
	b64url_encode(raw, sizeof(raw), enc);
	assert_string_equal(enc, alpha);
	assert_int_equal(decode_str(alpha, dec, sizeof(dec), &len), 0);
	assert_int_equal(len, sizeof(raw));
	assert_memory_equal(dec, raw, sizeof(raw));
}

/* Every byte that is not in the alphabet is refused, in any position. */
static void
test_b64url_rejects_bytes_outside_alphabet(void **state)
{
	char in[5] = "AAAA";
	uint8_t dec[4];
	size_t len;
	int c, pos;

	(void)state;
	for (c = 0; c < 256; c++) {
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_';

		for (pos = 0; pos < 4; pos++) {
			memcpy(in, "AAAA", 4);
			in[pos] = (char)c;
			assert_int_equal(
			    b64url_decode(in, 4, dec, sizeof(dec), &len),
			    ok ? 0 : PC_ERR_INVALID);
			if (!ok)
				assert_int_equal(len, 0);
		}
	}
}

static void
test_b64url_rejects_padding(void **state)
{
	uint8_t dec[16];
	size_t len;

	(void)state;
	assert_int_equal(
	    decode_str("Zg==", dec, sizeof(dec), &len), PC_ERR_INVALID);
	assert_int_equal(
	    decode_str("Zg=", dec, sizeof(dec), &len), PC_ERR_INVALID);
	assert_int_equal(
	    decode_str("Zm8=", dec, sizeof(dec), &len), PC_ERR_INVALID);
	assert_int_equal(
	    decode_str("=", dec, sizeof(dec), &len), PC_ERR_INVALID);
}

static void
test_b64url_rejects_whitespace(void **state)
{
	uint8_t dec[16];
	size_t len;

	(void)state;
	assert_int_equal(
	    decode_str("Zm9v Yg", dec, sizeof(dec), &len), PC_ERR_INVALID);
	assert_int_equal(
	    decode_str("Zm9v\nYmFy", dec, sizeof(dec), &len), PC_ERR_INVALID);
	assert_int_equal(
	    decode_str(" Zm9v", dec, sizeof(dec), &len), PC_ERR_INVALID);
	assert_int_equal(
	    decode_str("Zm9v\r\n", dec, sizeof(dec), &len), PC_ERR_INVALID);
	assert_int_equal(
	    decode_str("Zm9\tv", dec, sizeof(dec), &len), PC_ERR_INVALID);
}

/* A NUL inside the given length is data, and not in the alphabet. */
static void
test_b64url_rejects_embedded_nul(void **state)
{
	uint8_t dec[16];
	size_t len;

	(void)state;
	assert_int_equal(
	    b64url_decode("Zm\0v", 4, dec, sizeof(dec), &len), PC_ERR_INVALID);
}

/* "Zh" and "Zg" would both give "f" to a lax decoder. */
static void
test_b64url_rejects_noncanonical_bits(void **state)
{
	uint8_t dec[16];
	size_t len;
	const char *bad[] = { "Zh", "Zv", "Zm9", "Zm-", "Zm9vYh", "Zm9vYmF" };
	size_t i;

	(void)state;
	for (i = 0; i < PC_NELEM(bad); i++)
		assert_int_equal(
		    decode_str(bad[i], dec, sizeof(dec), &len), PC_ERR_INVALID);
	assert_int_equal(decode_str("Zg", dec, sizeof(dec), &len), 0);
	assert_int_equal(decode_str("Zm8", dec, sizeof(dec), &len), 0);
	assert_int_equal(decode_str("Zm9vYmE", dec, sizeof(dec), &len), 0);
}

static void
test_b64url_rejects_lone_char(void **state)
{
	uint8_t dec[16];
	size_t len;

	(void)state;
	assert_int_equal(
	    decode_str("Z", dec, sizeof(dec), &len), PC_ERR_INVALID);
	assert_int_equal(
	    decode_str("Zm9vY", dec, sizeof(dec), &len), PC_ERR_INVALID);
}

static void
test_b64url_output_cap(void **state)
{
	uint8_t dec[6];
	size_t len = 99;

	(void)state;
	assert_int_equal(
	    decode_str("Zm9vYmFy", dec, 5, &len), PC_ERR_TOO_LARGE);
	assert_int_equal(len, 0);
	assert_int_equal(decode_str("Zm9vYmFy", dec, 6, &len), 0);
	assert_int_equal(len, 6);
	assert_int_equal(decode_str("", NULL, 0, &len), 0);
	assert_int_equal(len, 0);
}

static void
test_b64url_roundtrip_random(void **state)
{
	uint8_t raw[97], dec[97];
	char enc[140];
	size_t n, len;

	(void)state;
	for (n = 0; n <= sizeof(raw); n++) {
		randombytes_buf(raw, n);
		b64url_encode(raw, n, enc);
		assert_int_equal(strlen(enc), b64url_encoded_len(n));
		assert_int_equal(
		    b64url_decode(enc, strlen(enc), dec, n, &len), 0);
		assert_int_equal(len, n);
		if (n > 0)
			assert_memory_equal(dec, raw, n);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_rfc4648_vectors),
		cmocka_unit_test(test_b64url_url_alphabet),
		cmocka_unit_test(test_b64url_all_values),
		cmocka_unit_test(test_b64url_rejects_bytes_outside_alphabet),
		cmocka_unit_test(test_b64url_rejects_padding),
		cmocka_unit_test(test_b64url_rejects_whitespace),
		cmocka_unit_test(test_b64url_rejects_embedded_nul),
		cmocka_unit_test(test_b64url_rejects_noncanonical_bits),
		cmocka_unit_test(test_b64url_rejects_lone_char),
		cmocka_unit_test(test_b64url_output_cap),
		cmocka_unit_test(test_b64url_roundtrip_random),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
