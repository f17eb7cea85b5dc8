/*
 * Unit tests for jose/jwk.c: algorithm names, RFC 7638 and RFC 8037
 * thumbprints, public JWK export (JW-09: never a private member) and
 * strict import (weak RSA, off-curve and small-order points refused).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "jose/jose.h"

/* RFC 7638 §3.1. */
#define RFC7638_N \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1" \
	"RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n" \
	"9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZ" \
	"gnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6W" \
	"eZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqD" \
	"Kgw"
#define RFC7638_THUMB "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

/* RFC 8037 A.2 (public key) and A.3 (its thumbprint). */
#define RFC8037_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define RFC8037_THUMB "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

/* RFC 7515 A.3. */
#define RFC7515_A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define RFC7515_A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define RFC7515_A3_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"

static EVP_PKEY *key_ec, *key_rsa, *key_ed, *key_rsa1024, *key_p384;

static int
setup(void **state)
{
	(void)state;
	key_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	key_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	key_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	key_rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	key_p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	return key_ec == NULL || key_rsa == NULL || key_ed == NULL ||
		key_rsa1024 == NULL || key_p384 == NULL
	    ? -1
	    : 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key_ec);
	EVP_PKEY_free(key_rsa);
	EVP_PKEY_free(key_ed);
	EVP_PKEY_free(key_rsa1024);
	EVP_PKEY_free(key_p384);
	return 0;
}

static json_t *
jparse(const char *s)
{
	json_t *j = NULL;

	assert_int_equal(jose_json_parse(s, strlen(s), 8, &j), 0);
	return j;
}

/* The base64url of a BIGNUM parameter, minimal or left-padded to pad. */
static char *
bn_b64(EVP_PKEY *pkey, const char *param, int pad)
{
	BIGNUM *bn = NULL;
	uint8_t b[1024];
	int len;
	char *s;

	assert_int_equal(EVP_PKEY_get_bn_param(pkey, param, &bn), 1);
	len = pad > 0 ? pad : BN_num_bytes(bn);
	assert_int_equal(BN_bn2binpad(bn, b, len), len);
	BN_free(bn);
	s = malloc(b64url_encoded_len((size_t)len) + 1);
	assert_non_null(s);
	b64url_encode(b, (size_t)len, s);
	return s;
}

static char *
b64(const uint8_t *p, size_t n)
{
	char *s = malloc(b64url_encoded_len(n) + 1);

	assert_non_null(s);
	b64url_encode(p, n, s);
	return s;
}

/* Expects jwk_to_pkey to refuse jwk for alg; consumes jwk. */
static void
assert_refused(json_t *jwk, enum jose_alg alg)
{
	EVP_PKEY *pkey = (EVP_PKEY *)&pkey;

	assert_non_null(jwk);
	assert_int_equal(jwk_to_pkey(jwk, alg, &pkey), PC_ERR_INVALID);
	assert_null(pkey);
	json_decref(jwk);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_jwk_alg_names(void **state)
{
	static const enum jose_alg algs[] = { JOSE_ALG_ES256, JOSE_ALG_RS256,
		JOSE_ALG_PS256, JOSE_ALG_EDDSA };
	size_t i;

	(void)state;
	assert_string_equal(jose_alg_name(JOSE_ALG_ES256), "ES256");
	assert_string_equal(jose_alg_name(JOSE_ALG_RS256), "RS256");
	assert_string_equal(jose_alg_name(JOSE_ALG_PS256), "PS256");
	assert_string_equal(jose_alg_name(JOSE_ALG_EDDSA), "EdDSA");
	assert_null(jose_alg_name(JOSE_ALG_INVALID));
	assert_null(jose_alg_name((enum jose_alg)42));
	for (i = 0; i < PC_NELEM(algs); i++) {
		const char *s = jose_alg_name(algs[i]);

		assert_int_equal(jose_alg_parse(s, strlen(s)), algs[i]);
	}
}

static void
test_jwk_JW01_alg_parse_exact(void **state)
{
	static const char *const bad[] = {
		"none",
		"None",
		"NONE",
		"noNE",
		"nOnE",
		"",
		"HS256",
		"HS384",
		"HS512",
		"es256",
		"Es256",
		"rs256",
		"EDDSA",
		"eddsa",
		"ES256 ",
		" ES256",
		"ES2566",
		"ES25",
		"RS384",
		"ES384",
		"PS512",
		"Ed25519",
		"RSA1_5",
		"dir",
	};
	size_t i;

	(void)state;
	for (i = 0; i < PC_NELEM(bad); i++)
		assert_int_equal(
		    jose_alg_parse(bad[i], strlen(bad[i])), JOSE_ALG_INVALID);
	/* Length is authoritative: a trailing NUL is not ignored. */
	assert_int_equal(jose_alg_parse("ES256\0", 6), JOSE_ALG_INVALID);
	assert_int_equal(jose_alg_parse("ES256", 4), JOSE_ALG_INVALID);
	assert_int_equal(jose_alg_parse(NULL, 0), JOSE_ALG_INVALID);
}

static void
test_jwk_JW02_alg_key_ok_matrix(void **state)
{
	(void)state;
	assert_true(jose_alg_key_ok(JOSE_ALG_ES256, key_ec));
	assert_true(jose_alg_key_ok(JOSE_ALG_RS256, key_rsa));
	assert_true(jose_alg_key_ok(JOSE_ALG_PS256, key_rsa));
	assert_true(jose_alg_key_ok(JOSE_ALG_EDDSA, key_ed));

	assert_false(jose_alg_key_ok(JOSE_ALG_ES256, key_rsa));
	assert_false(jose_alg_key_ok(JOSE_ALG_ES256, key_ed));
	assert_false(jose_alg_key_ok(JOSE_ALG_ES256, key_p384));
	assert_false(jose_alg_key_ok(JOSE_ALG_RS256, key_ec));
	assert_false(jose_alg_key_ok(JOSE_ALG_PS256, key_ed));
	assert_false(jose_alg_key_ok(JOSE_ALG_EDDSA, key_ec));
	assert_false(jose_alg_key_ok(JOSE_ALG_EDDSA, key_rsa));
	/* JW-09: RSA under 2048 bits is a weak key. */
	assert_false(jose_alg_key_ok(JOSE_ALG_RS256, key_rsa1024));
	assert_false(jose_alg_key_ok(JOSE_ALG_PS256, key_rsa1024));
	assert_false(jose_alg_key_ok(JOSE_ALG_INVALID, key_rsa));
	assert_false(jose_alg_key_ok(JOSE_ALG_RS256, NULL));
}

static void
test_jwk_rfc7638_thumbprint(void **state)
{
	json_t *jwk;
	EVP_PKEY *pkey = NULL;
	char tp[44];

	(void)state;
	/* The RFC's JWK, with its optional members. */
	jwk =
	    jparse("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\","
		   "\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}");
	assert_int_equal(jwk_to_pkey(jwk, JOSE_ALG_RS256, &pkey), 0);
	assert_int_equal(jwk_thumbprint(pkey, tp), 0);
	assert_string_equal(tp, RFC7638_THUMB);
	EVP_PKEY_free(pkey);
	json_decref(jwk);
}

static void
test_jwk_rfc8037_ed25519_thumbprint(void **state)
{
	json_t *jwk;
	EVP_PKEY *pkey = NULL;
	char tp[44];

	(void)state;
	jwk = jparse(
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "\"}");
	assert_int_equal(jwk_to_pkey(jwk, JOSE_ALG_EDDSA, &pkey), 0);
	assert_int_equal(jwk_thumbprint(pkey, tp), 0);
	assert_string_equal(tp, RFC8037_THUMB);
	EVP_PKEY_free(pkey);
	json_decref(jwk);
}

/* The RFC 7515 A.3 key imports, and exports back to the same x and y. */
static void
test_jwk_rfc7515_a3_ec_roundtrip(void **state)
{
	json_t *jwk, *out = NULL;
	EVP_PKEY *pkey = NULL;

	(void)state;
	jwk = jparse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_A3_X
		     "\",\"y\":\"" RFC7515_A3_Y "\"}");
	assert_int_equal(jwk_to_pkey(jwk, JOSE_ALG_ES256, &pkey), 0);
	assert_int_equal(
	    jwk_from_pkey(pkey, JOSE_ALG_ES256, "e9bc097a", &out), 0);
	assert_string_equal(
	    json_string_value(json_object_get(out, "x")), RFC7515_A3_X);
	assert_string_equal(
	    json_string_value(json_object_get(out, "y")), RFC7515_A3_Y);
	assert_string_equal(
	    json_string_value(json_object_get(out, "crv")), "P-256");
	EVP_PKEY_free(pkey);
	json_decref(jwk);
	json_decref(out);
}

/* Private members in an imported JWK are ignored: the key is public. */
static void
test_jwk_private_members_ignored(void **state)
{
	json_t *jwk;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;

	(void)state;
	jwk =
	    jparse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_A3_X
		   "\",\"y\":\"" RFC7515_A3_Y "\",\"d\":\"" RFC7515_A3_D "\"}");
	assert_int_equal(jwk_to_pkey(jwk, JOSE_ALG_ES256, &pkey), 0);
	assert_int_not_equal(
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
	assert_null(d);
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	json_decref(jwk);
}

static void
check_members(json_t *jwk, const char *const *want, size_t nwant)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi",
		"oth", "k" };
	char *dump;
	size_t i;

	assert_int_equal(json_object_size(jwk), nwant);
	for (i = 0; i < nwant; i++)
		assert_true(json_is_string(json_object_get(jwk, want[i])));
	for (i = 0; i < PC_NELEM(priv); i++)
		assert_null(json_object_get(jwk, priv[i]));
	dump = json_dumps(jwk, JSON_COMPACT);
	assert_non_null(dump);
	assert_null(strstr(dump, "\"d\""));
	assert_null(strstr(dump, "\"p\""));
	assert_null(strstr(dump, "\"q\""));
	free(dump);
	assert_string_equal(
	    json_string_value(json_object_get(jwk, "use")), "sig");
}

/* JW-09: the keys handed in are private; the JWKs carry none of it. */
static void
test_jwk_JW09_from_pkey_no_private_members(void **state)
{
	static const char *const ec[] = { "kty", "crv", "x", "y", "kid", "alg",
		"use" };
	static const char *const rsa[] = { "kty", "n", "e", "kid", "alg",
		"use" };
	static const char *const okp[] = { "kty", "crv", "x", "kid", "alg",
		"use" };
	json_t *jwk = NULL;

	(void)state;
	assert_int_equal(
	    jwk_from_pkey(key_ec, JOSE_ALG_ES256, "k-ec", &jwk), 0);
	check_members(jwk, ec, PC_NELEM(ec));
	assert_string_equal(
	    json_string_value(json_object_get(jwk, "kty")), "EC");
	assert_string_equal(
	    json_string_value(json_object_get(jwk, "alg")), "ES256");
	assert_string_equal(
	    json_string_value(json_object_get(jwk, "kid")), "k-ec");
	json_decref(jwk);

	assert_int_equal(
	    jwk_from_pkey(key_rsa, JOSE_ALG_PS256, "k-rsa", &jwk), 0);
	check_members(jwk, rsa, PC_NELEM(rsa));
	assert_string_equal(
	    json_string_value(json_object_get(jwk, "e")), "AQAB");
	assert_string_equal(
	    json_string_value(json_object_get(jwk, "alg")), "PS256");
	/* 2048 bits: 256 bytes, no leading zero, 342 characters. */
	assert_int_equal(json_string_length(json_object_get(jwk, "n")), 342);
	json_decref(jwk);

	assert_int_equal(
	    jwk_from_pkey(key_ed, JOSE_ALG_EDDSA, "k-ed", &jwk), 0);
	check_members(jwk, okp, PC_NELEM(okp));
	assert_string_equal(
	    json_string_value(json_object_get(jwk, "crv")), "Ed25519");
	assert_string_equal(
	    json_string_value(json_object_get(jwk, "kty")), "OKP");
	json_decref(jwk);

	/* No kid: no "kid" member. */
	assert_int_equal(jwk_from_pkey(key_ed, JOSE_ALG_EDDSA, NULL, &jwk), 0);
	assert_null(json_object_get(jwk, "kid"));
	json_decref(jwk);
}

static void
roundtrip(EVP_PKEY *key, enum jose_alg alg)
{
	json_t *jwk = NULL;
	EVP_PKEY *pub = NULL;
	char t1[44], t2[44];

	assert_int_equal(jwk_from_pkey(key, alg, "rt", &jwk), 0);
	assert_int_equal(jwk_to_pkey(jwk, alg, &pub), 0);
	assert_int_equal(EVP_PKEY_eq(key, pub), 1);
	assert_int_equal(jwk_thumbprint(key, t1), 0);
	assert_int_equal(jwk_thumbprint(pub, t2), 0);
	assert_string_equal(t1, t2);
	assert_int_equal(strlen(t1), 43);
	EVP_PKEY_free(pub);
	json_decref(jwk);
}

static void
test_jwk_from_to_roundtrip(void **state)
{
	(void)state;
	roundtrip(key_ec, JOSE_ALG_ES256);
	roundtrip(key_rsa, JOSE_ALG_RS256);
	roundtrip(key_rsa, JOSE_ALG_PS256);
	roundtrip(key_ed, JOSE_ALG_EDDSA);
}

static void
test_jwk_from_pkey_refuses_wrong_alg(void **state)
{
	json_t *jwk = (json_t *)&jwk;

	(void)state;
	assert_int_equal(
	    jwk_from_pkey(key_ec, JOSE_ALG_RS256, "k", &jwk), PC_ERR_INVALID);
	assert_null(jwk);
	assert_int_equal(
	    jwk_from_pkey(key_rsa, JOSE_ALG_ES256, "k", &jwk), PC_ERR_INVALID);
	assert_int_equal(
	    jwk_from_pkey(key_ed, JOSE_ALG_INVALID, "k", &jwk), PC_ERR_INVALID);
	assert_int_equal(
	    jwk_from_pkey(key_p384, JOSE_ALG_ES256, "k", &jwk), PC_ERR_INVALID);
	assert_int_equal(jwk_from_pkey(key_rsa1024, JOSE_ALG_RS256, "k", &jwk),
	    PC_ERR_INVALID);
	/* A kid that is not UTF-8 cannot be a JSON string. */
	assert_int_equal(jwk_from_pkey(key_ed, JOSE_ALG_EDDSA, "k\xff", &jwk),
	    PC_ERR_INVALID);
	assert_null(jwk);
}

/* RFC 7518 §6.2.1.2: x and y are always 32 bytes, leading zeros kept. */
static void
test_jwk_ec_coordinates_fixed_length(void **state)
{
	EVP_PKEY *k = NULL;
	BIGNUM *x = NULL;
	json_t *jwk = NULL;
	int i;

	(void)state;
	for (i = 0; i < 8192; i++) {
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		assert_non_null(k);
		assert_int_equal(
		    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
		if (BN_num_bytes(x) < 32)
			break;
		BN_free(x);
		x = NULL;
		EVP_PKEY_free(k);
		k = NULL;
	}
	assert_non_null(k);
	BN_free(x);
	assert_int_equal(jwk_from_pkey(k, JOSE_ALG_ES256, NULL, &jwk), 0);
	assert_int_equal(json_string_length(json_object_get(jwk, "x")), 43);
	assert_int_equal(json_string_length(json_object_get(jwk, "y")), 43);
	{
		const json_t *jx = json_object_get(jwk, "x");
		uint8_t xb[32];
		size_t len;

		assert_int_equal(
		    b64url_decode(json_string_value(jx), json_string_length(jx),
			xb, sizeof(xb), &len),
		    0);
		assert_int_equal(len, 32);
		assert_int_equal(xb[0], 0);
	}
	json_decref(jwk);
	roundtrip(k, JOSE_ALG_ES256);
	EVP_PKEY_free(k);
}

static void
test_jwk_JW09_rsa1024_refused(void **state)
{
	char *n, *e;

	(void)state;
	n = bn_b64(key_rsa1024, OSSL_PKEY_PARAM_RSA_N, 0);
	e = bn_b64(key_rsa1024, OSSL_PKEY_PARAM_RSA_E, 0);
	assert_refused(
	    json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n, "e", e),
	    JOSE_ALG_RS256);
	assert_refused(
	    json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n, "e", e),
	    JOSE_ALG_PS256);
	free(n);
	free(e);
}

static void
test_jwk_rsa_bounds(void **state)
{
	char *n, *e, *big, *zn;
	uint8_t raw[1025];
	size_t i;

	(void)state;
	n = bn_b64(key_rsa, OSSL_PKEY_PARAM_RSA_N, 0);
	e = bn_b64(key_rsa, OSSL_PKEY_PARAM_RSA_E, 0);
	/* The good key, to show the rest fail for the reason given. */
	{
		json_t *jwk =
		    json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n, "e", e);
		EVP_PKEY *pkey = NULL;

		assert_int_equal(jwk_to_pkey(jwk, JOSE_ALG_RS256, &pkey), 0);
		EVP_PKEY_free(pkey);
		json_decref(jwk);
	}
	/*
	 * e = 1 makes every message its own signature; even e is no RSA
	 * key; small e (3, 5) is below the SP 800-56B floor of 2^16 + 1.
	 */
	assert_refused(
	    json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n, "e", "AQ"),
	    JOSE_ALG_RS256);
	assert_refused(
	    json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n, "e", "Aw"),
	    JOSE_ALG_RS256);
	assert_refused(
	    json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n, "e", "BQ"),
	    JOSE_ALG_RS256);
	assert_refused(
	    json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n, "e", "AQAC"),
	    JOSE_ALG_RS256);
	assert_refused(
	    json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n, "e", "AAEAAQ"),
	    JOSE_ALG_RS256); /* leading zero */
	assert_refused(
	    json_pack("{s:s, s:s}", "kty", "RSA", "n", n), JOSE_ALG_RS256);
	assert_refused(
	    json_pack("{s:s, s:s}", "kty", "RSA", "e", e), JOSE_ALG_RS256);
	assert_refused(
	    json_pack("{s:s, s:s, s:i}", "kty", "RSA", "n", n, "e", 65537),
	    JOSE_ALG_RS256);
	/* An even modulus. */
	{
		uint8_t nb[256];
		size_t len;
		char *ev;

		assert_int_equal(
		    b64url_decode(n, strlen(n), nb, sizeof(nb), &len), 0);
		nb[len - 1] &= 0xfe;
		ev = b64(nb, len);
		assert_refused(
		    json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", ev, "e", e),
		    JOSE_ALG_RS256);
		free(ev);
	}
	/* Base64urlUInt (RFC 7518 §2): no leading zero octet. */
	zn = malloc(strlen(n) + 3);
	assert_non_null(zn);
	{
		uint8_t nb[257];
		size_t len;

		nb[0] = 0;
		assert_int_equal(
		    b64url_decode(n, strlen(n), nb + 1, 256, &len), 0);
		b64url_encode(nb, len + 1, zn);
		assert_refused(
		    json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", zn, "e", e),
		    JOSE_ALG_RS256);
	}
	/* Over 8192 bits. */
	for (i = 0; i < sizeof(raw); i++)
		raw[i] = 0xff;
	big = b64(raw, sizeof(raw));
	assert_refused(
	    json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", big, "e", e),
	    JOSE_ALG_RS256);
	free(big);
	free(zn);
	free(n);
	free(e);
}

static void
test_jwk_ec_point_not_on_curve_refused(void **state)
{
	char *x, *y, *y2, *ff, *zero;
	uint8_t yb[32], b[32];
	size_t len;

	(void)state;
	x = bn_b64(key_ec, OSSL_PKEY_PARAM_EC_PUB_X, 32);
	y = bn_b64(key_ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
	assert_int_equal(b64url_decode(y, strlen(y), yb, sizeof(yb), &len), 0);
	yb[31] ^= 0x01;
	y2 = b64(yb, sizeof(yb));
	assert_refused(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
			   "P-256", "x", x, "y", y2),
	    JOSE_ALG_ES256);
	/* (0, 0) and coordinates not below p. */
	memset(b, 0, sizeof(b));
	zero = b64(b, sizeof(b));
	assert_refused(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
			   "P-256", "x", zero, "y", zero),
	    JOSE_ALG_ES256);
	memset(b, 0xff, sizeof(b));
	ff = b64(b, sizeof(b));
	assert_refused(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
			   "P-256", "x", x, "y", ff),
	    JOSE_ALG_ES256);
	assert_refused(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
			   "P-256", "x", ff, "y", y),
	    JOSE_ALG_ES256);
	free(x);
	free(y);
	free(y2);
	free(ff);
	free(zero);
}

static void
test_jwk_ec_coordinate_length_refused(void **state)
{
	char *x, *y, *s31, *s33;
	uint8_t b[33];

	(void)state;
	x = bn_b64(key_ec, OSSL_PKEY_PARAM_EC_PUB_X, 32);
	y = bn_b64(key_ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
	memset(b, 0x11, sizeof(b));
	s31 = b64(b, 31);
	s33 = b64(b, 33);
	assert_refused(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
			   "P-256", "x", s31, "y", y),
	    JOSE_ALG_ES256);
	assert_refused(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
			   "P-256", "x", x, "y", s33),
	    JOSE_ALG_ES256);
	assert_refused(
	    json_pack("{s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", x),
	    JOSE_ALG_ES256);
	free(x);
	free(y);
	free(s31);
	free(s33);
}

static void
test_jwk_kty_crv_alg_mismatch_refused(void **state)
{
	char *x, *y, *ex, *n, *e;

	(void)state;
	x = bn_b64(key_ec, OSSL_PKEY_PARAM_EC_PUB_X, 32);
	y = bn_b64(key_ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
	n = bn_b64(key_rsa, OSSL_PKEY_PARAM_RSA_N, 0);
	e = bn_b64(key_rsa, OSSL_PKEY_PARAM_RSA_E, 0);
	{
		uint8_t raw[32];
		size_t len = sizeof(raw);

		assert_int_equal(
		    EVP_PKEY_get_raw_public_key(key_ed, raw, &len), 1);
		ex = b64(raw, len);
	}
	/* A good EC JWK asked for as another algorithm. */
	assert_refused(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
			   "P-256", "x", x, "y", y),
	    JOSE_ALG_RS256);
	assert_refused(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
			   "P-256", "x", x, "y", y),
	    JOSE_ALG_EDDSA);
	assert_refused(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
			   "P-256", "x", x, "y", y),
	    JOSE_ALG_INVALID);
	/* "alg" in the JWK must be the one asked for. */
	assert_refused(json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC",
			   "crv", "P-256", "x", x, "y", y, "alg", "RS256"),
	    JOSE_ALG_ES256);
	assert_refused(json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC",
			   "crv", "P-256", "x", x, "y", y, "alg", "es256"),
	    JOSE_ALG_ES256);
	assert_refused(json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC",
			   "crv", "P-256", "x", x, "y", y, "alg", "none"),
	    JOSE_ALG_ES256);
	assert_refused(json_pack("{s:s, s:s, s:s, s:s, s:i}", "kty", "EC",
			   "crv", "P-256", "x", x, "y", y, "alg", 1),
	    JOSE_ALG_ES256);
	/* An RS256 key is not a PS256 key (one algorithm per key). */
	assert_refused(json_pack("{s:s, s:s, s:s, s:s}", "kty", "RSA", "n", n,
			   "e", e, "alg", "RS256"),
	    JOSE_ALG_PS256);
	/* "use" other than "sig". */
	assert_refused(json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC",
			   "crv", "P-256", "x", x, "y", y, "use", "enc"),
	    JOSE_ALG_ES256);
	/* Wrong or missing kty and crv. */
	assert_refused(json_pack("{s:s, s:s, s:s, s:s}", "kty", "ec", "crv",
			   "P-256", "x", x, "y", y),
	    JOSE_ALG_ES256);
	assert_refused(
	    json_pack("{s:s, s:s, s:s}", "crv", "P-256", "x", x, "y", y),
	    JOSE_ALG_ES256);
	assert_refused(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
			   "P-384", "x", x, "y", y),
	    JOSE_ALG_ES256);
	assert_refused(
	    json_pack("{s:s, s:s, s:s}", "kty", "EC", "x", x, "y", y),
	    JOSE_ALG_ES256);
	assert_refused(json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv",
			   "X25519", "x", ex),
	    JOSE_ALG_EDDSA);
	assert_refused(json_pack("{s:s, s:s, s:s}", "kty", "EC", "crv",
			   "Ed25519", "x", ex),
	    JOSE_ALG_EDDSA);
	assert_refused(
	    json_pack("{s:s, s:s}", "kty", "oct", "k", "AAAA"), JOSE_ALG_RS256);
	assert_refused(json_pack("[s]", "RSA"), JOSE_ALG_RS256);
	free(x);
	free(y);
	free(ex);
	free(n);
	free(e);
}

static void
test_jwk_strict_b64url_members(void **state)
{
	json_t *jwk;
	EVP_PKEY *pkey = NULL;

	(void)state;
	jwk = jparse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_A3_X
		     "\",\"y\":\"" RFC7515_A3_Y "\"}");
	assert_int_equal(jwk_to_pkey(jwk, JOSE_ALG_ES256, &pkey), 0);
	EVP_PKEY_free(pkey);
	json_decref(jwk);
	/* Padding, standard alphabet, whitespace. */
	assert_refused(
	    jparse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_A3_X
		   "=\",\"y\":\"" RFC7515_A3_Y "\"}"),
	    JOSE_ALG_ES256);
	assert_refused(
	    jparse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_A3_X
		   "\",\"y\":\""
		   "x/FEzRu9m36HLN/tue659LNpXW6pCyStikYjKIWI5a0\"}"),
	    JOSE_ALG_ES256);
	assert_refused(
	    jparse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\" " RFC7515_A3_X
		   "\",\"y\":\"" RFC7515_A3_Y "\"}"),
	    JOSE_ALG_ES256);
	assert_refused(jparse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\""
			      "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp\"}"),
	    JOSE_ALG_EDDSA);
}

static void
test_jwk_ed25519_bad_points_refused(void **state)
{
	uint8_t b[32];
	char *s;

	(void)state;
	/* The identity (0, 1): small order, verifies forged signatures. */
	memset(b, 0, sizeof(b));
	b[0] = 0x01;
	s = b64(b, sizeof(b));
	assert_refused(json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv",
			   "Ed25519", "x", s),
	    JOSE_ALG_EDDSA);
	free(s);
	/* y = p: not canonical. */
	memset(b, 0xff, sizeof(b));
	b[0] = 0xed;
	b[31] = 0x7f;
	s = b64(b, sizeof(b));
	assert_refused(json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv",
			   "Ed25519", "x", s),
	    JOSE_ALG_EDDSA);
	free(s);
	/* 31 bytes. */
	s = b64(b, 31);
	assert_refused(json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv",
			   "Ed25519", "x", s),
	    JOSE_ALG_EDDSA);
	free(s);
}

static void
test_jwk_thumbprint_refuses_other_keys(void **state)
{
	char tp[44];

	(void)state;
	assert_int_equal(jwk_thumbprint(key_p384, tp), PC_ERR_UNSUPPORTED);
	assert_int_equal(jwk_thumbprint(NULL, tp), PC_ERR_INVALID);
	assert_int_equal(ERR_peek_error(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwk_alg_names),
		cmocka_unit_test(test_jwk_JW01_alg_parse_exact),
		cmocka_unit_test(test_jwk_JW02_alg_key_ok_matrix),
		cmocka_unit_test(test_jwk_rfc7638_thumbprint),
		cmocka_unit_test(test_jwk_rfc8037_ed25519_thumbprint),
		cmocka_unit_test(test_jwk_rfc7515_a3_ec_roundtrip),
		cmocka_unit_test(test_jwk_private_members_ignored),
		cmocka_unit_test(test_jwk_JW09_from_pkey_no_private_members),
		cmocka_unit_test(test_jwk_from_to_roundtrip),
		cmocka_unit_test(test_jwk_from_pkey_refuses_wrong_alg),
		cmocka_unit_test(test_jwk_ec_coordinates_fixed_length),
		cmocka_unit_test(test_jwk_JW09_rsa1024_refused),
		cmocka_unit_test(test_jwk_rsa_bounds),
		cmocka_unit_test(test_jwk_ec_point_not_on_curve_refused),
		cmocka_unit_test(test_jwk_ec_coordinate_length_refused),
		cmocka_unit_test(test_jwk_kty_crv_alg_mismatch_refused),
		cmocka_unit_test(test_jwk_strict_b64url_members),
		cmocka_unit_test(test_jwk_ed25519_bad_points_refused),
		cmocka_unit_test(test_jwk_thumbprint_refuses_other_keys),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
