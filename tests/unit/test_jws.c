/*
 * Unit tests for jose/jws.c and jose/json.c: the RFC 7515 and RFC 8037
 * known answers, round trips for every algorithm, and the attacks of
 * SECURITY.md JW-01..08 against jws_verify_compact.
 *
 * The RFC private keys are built here from their JWK parameters; the
 * library itself never imports private JWKs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "jose/jose.h"

/* RFC 7515 A.1: HS256, with its HMAC key. */
#define A1_TOKEN \
	"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" \
	".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt" \
	"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ" \
	".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define A1_K \
	"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4h" \
	"cgUuTwjAzZr1Z9CAow"

/* The payload of A.1 to A.3. */
#define A_PAYLOAD \
	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt" \
	"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

/* RFC 7515 A.2: RS256. */
#define A2_INPUT "eyJhbGciOiJSUzI1NiJ9." A_PAYLOAD
#define A2_SIG \
	"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7" \
	"AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4" \
	"BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K" \
	"0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv" \
	"hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB" \
	"p0igcN_IoypGlUPQGe77Rw"
#define A2_N \
	"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx" \
	"HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs" \
	"D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH" \
	"SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV" \
	"MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8" \
	"NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
#define A2_E "AQAB"
#define A2_D \
	"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97I" \
	"jlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0" \
	"BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn" \
	"439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYT" \
	"CBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLh" \
	"BOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ"
#define A2_P \
	"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdi" \
	"YrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPG" \
	"BY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc"
#define A2_Q \
	"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxa" \
	"ewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA" \
	"-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc"
#define A2_DP \
	"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3Q" \
	"CLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb" \
	"34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0"
#define A2_DQ \
	"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa" \
	"7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-ky" \
	"NlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU"
#define A2_QI \
	"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2o" \
	"y26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLU" \
	"W0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"

/* RFC 7515 A.3: ES256. */
#define A3_TOKEN \
	"eyJhbGciOiJFUzI1NiJ9." A_PAYLOAD \
	".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA" \
	"pmWQxfKTUJqPP3-Kg6NU1Q"
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"

/* RFC 8037 A.1 (key) and A.4 (signature). */
#define E_D "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define E_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define E_INPUT "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
#define E_SIG \
	"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5B" \
	"hVsPt9g7sVvpAr_MuM0KAg"

/* Fresh keys and the key set most tests verify against. */
static EVP_PKEY *k_ec, *k_rsa, *k_ps, *k_ed, *k_ec2;
static struct jws_key keys[4];
static const enum jose_alg all_algs[] = { JOSE_ALG_ES256, JOSE_ALG_RS256,
	JOSE_ALG_PS256, JOSE_ALG_EDDSA };
static struct jws_verify_opts opts_all;

static int
setup(void **state)
{
	(void)state;
	k_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k_ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_ps = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (k_ec == NULL || k_ec2 == NULL || k_rsa == NULL || k_ps == NULL ||
	    k_ed == NULL)
		return -1;
	keys[0] = (struct jws_key){ "ec1", JOSE_ALG_ES256, k_ec };
	keys[1] = (struct jws_key){ "rsa1", JOSE_ALG_RS256, k_rsa };
	keys[2] = (struct jws_key){ "ps1", JOSE_ALG_PS256, k_ps };
	keys[3] = (struct jws_key){ "ed1", JOSE_ALG_EDDSA, k_ed };
	opts_all = (struct jws_verify_opts){ keys, PC_NELEM(keys), all_algs,
		PC_NELEM(all_algs), NULL };
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(k_ec);
	EVP_PKEY_free(k_ec2);
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_ps);
	EVP_PKEY_free(k_ed);
	return 0;
}

/* --- helpers ------------------------------------------------------- */

static BIGNUM *
b64_bn(const char *s)
{
	uint8_t b[512];
	size_t len;
	BIGNUM *bn;

	assert_int_equal(b64url_decode(s, strlen(s), b, sizeof(b), &len), 0);
	bn = BN_bin2bn(b, (int)len, NULL);
	assert_non_null(bn);
	return bn;
}

static size_t
b64_bytes(const char *s, uint8_t *b, size_t cap)
{
	size_t len;

	assert_int_equal(b64url_decode(s, strlen(s), b, cap, &len), 0);
	return len;
}

static char *
b64(const void *p, size_t n)
{
	char *s = malloc(b64url_encoded_len(n) + 1);

	assert_non_null(s);
	b64url_encode(p, n, s);
	return s;
}

static EVP_PKEY *
keypair_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	assert_non_null(params);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* Test-only: the RFC 7515 A.2 private key from its JWK members. */
static EVP_PKEY *
a2_private_key(void)
{
	static const struct {
		const char *param;
		const char *val;
	} m[] = {
		{ OSSL_PKEY_PARAM_RSA_N, A2_N },
		{ OSSL_PKEY_PARAM_RSA_E, A2_E },
		{ OSSL_PKEY_PARAM_RSA_D, A2_D },
		{ OSSL_PKEY_PARAM_RSA_FACTOR1, A2_P },
		{ OSSL_PKEY_PARAM_RSA_FACTOR2, A2_Q },
		{ OSSL_PKEY_PARAM_RSA_EXPONENT1, A2_DP },
		{ OSSL_PKEY_PARAM_RSA_EXPONENT2, A2_DQ },
		{ OSSL_PKEY_PARAM_RSA_COEFFICIENT1, A2_QI },
	};
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn[PC_NELEM(m)];
	EVP_PKEY *pkey;
	size_t i;

	assert_non_null(bld);
	for (i = 0; i < PC_NELEM(m); i++) {
		bn[i] = b64_bn(m[i].val);
		assert_int_equal(
		    OSSL_PARAM_BLD_push_BN(bld, m[i].param, bn[i]), 1);
	}
	pkey = keypair_fromdata("RSA", bld);
	for (i = 0; i < PC_NELEM(m); i++)
		BN_clear_free(bn[i]);
	return pkey;
}

/* Test-only: the RFC 7515 A.3 private key. */
static EVP_PKEY *
a3_private_key(void)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	uint8_t pt[65];
	BIGNUM *d = b64_bn(A3_D);
	EVP_PKEY *pkey;

	pt[0] = 0x04;
	assert_int_equal(b64_bytes(A3_X, pt + 1, 32), 32);
	assert_int_equal(b64_bytes(A3_Y, pt + 33, 32), 32);
	assert_non_null(bld);
	assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(
			     bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0),
	    1);
	assert_int_equal(OSSL_PARAM_BLD_push_octet_string(
			     bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)),
	    1);
	assert_int_equal(
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d), 1);
	pkey = keypair_fromdata("EC", bld);
	BN_clear_free(d);
	return pkey;
}

/* Test-only: the RFC 8037 A.1 Ed25519 private key. */
static EVP_PKEY *
rfc8037_private_key(void)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	uint8_t d[32], x[32];
	EVP_PKEY *pkey;

	assert_int_equal(b64_bytes(E_D, d, sizeof(d)), 32);
	assert_int_equal(b64_bytes(E_X, x, sizeof(x)), 32);
	assert_non_null(bld);
	assert_int_equal(OSSL_PARAM_BLD_push_octet_string(
			     bld, OSSL_PKEY_PARAM_PRIV_KEY, d, sizeof(d)),
	    1);
	assert_int_equal(OSSL_PARAM_BLD_push_octet_string(
			     bld, OSSL_PKEY_PARAM_PUB_KEY, x, sizeof(x)),
	    1);
	pkey = keypair_fromdata("ED25519", bld);
	sodium_memzero(d, sizeof(d));
	return pkey;
}

static EVP_PKEY *
public_from_jwk_text(const char *text, enum jose_alg alg)
{
	json_t *jwk = NULL;
	EVP_PKEY *pkey = NULL;

	assert_int_equal(jose_json_parse(text, strlen(text), 4, &jwk), 0);
	assert_int_equal(jwk_to_pkey(jwk, alg, &pkey), 0);
	json_decref(jwk);
	return pkey;
}

/*
 * A token from raw header and payload bytes, signed with pkey under alg
 * (whatever the header claims).
 */
static char *
make_token_n(const char *hdr, size_t hlen, const char *pay, size_t plen,
    EVP_PKEY *pkey, enum jose_alg alg)
{
	char *h = b64(hdr, hlen), *p = b64(pay, plen), *s, *tok;
	uint8_t sig[JWS_SIG_MAX];
	size_t sig_len, n;

	n = strlen(h) + 1 + strlen(p);
	tok = malloc(n + 1 + b64url_encoded_len(JWS_SIG_MAX) + 1);
	assert_non_null(tok);
	memcpy(tok, h, strlen(h));
	tok[strlen(h)] = '.';
	memcpy(tok + strlen(h) + 1, p, strlen(p) + 1);
	assert_int_equal(
	    jws_sign_raw(pkey, alg, (const uint8_t *)tok, n, sig, &sig_len), 0);
	s = b64(sig, sig_len);
	tok[n] = '.';
	memcpy(tok + n + 1, s, strlen(s) + 1);
	free(h);
	free(p);
	free(s);
	return tok;
}

static char *
make_token(const char *hdr, const char *pay, EVP_PKEY *pkey, enum jose_alg alg)
{
	return make_token_n(hdr, strlen(hdr), pay, strlen(pay), pkey, alg);
}

/* Verifies; checks that failure leaves nothing behind. */
static int
verify_n(const char *tok, size_t len, const struct jws_verify_opts *o)
{
	struct jws_verified v;
	int r;

	memset(&v, 0xa5, sizeof(v));
	r = jws_verify_compact(tok, len, o, &v);
	if (r != 0) {
		assert_null(v.header);
		assert_null(v.payload);
		assert_null(v.key);
	} else {
		assert_true(json_is_object(v.header));
		assert_true(json_is_object(v.payload));
		assert_non_null(v.key);
	}
	jws_verified_free(&v);
	assert_int_equal(ERR_peek_error(), 0);
	return r;
}

static int
verify(const char *tok, const struct jws_verify_opts *o)
{
	return verify_n(tok, strlen(tok), o);
}

struct signer {
	EVP_PKEY *pkey;
	enum jose_alg alg;
};

static int
sign_cb(void *ctx, const uint8_t *in, size_t n, uint8_t *sig, size_t *sig_len)
{
	struct signer *s = ctx;

	return jws_sign_raw(s->pkey, s->alg, in, n, sig, sig_len);
}

static int
failing_sign_cb(
    void *ctx, const uint8_t *in, size_t n, uint8_t *sig, size_t *sig_len)
{
	(void)ctx;
	(void)in;
	(void)n;
	(void)sig;
	(void)sig_len;
	return PC_ERR_STORE;
}

/* --- RFC known answers --------------------------------------------- */

static void
test_jws_rfc7515_a2_rs256_sign_exact(void **state)
{
	EVP_PKEY *pkey = a2_private_key();
	uint8_t sig[JWS_SIG_MAX];
	size_t sig_len;
	char *s;

	(void)state;
	assert_true(jose_alg_key_ok(JOSE_ALG_RS256, pkey));
	assert_int_equal(
	    jws_sign_raw(pkey, JOSE_ALG_RS256, (const uint8_t *)A2_INPUT,
		strlen(A2_INPUT), sig, &sig_len),
	    0);
	assert_int_equal(sig_len, 256);
	s = b64(sig, sig_len);
	assert_string_equal(s, A2_SIG);
	free(s);
	EVP_PKEY_free(pkey);
}

static void
test_jws_rfc7515_a2_rs256_verify(void **state)
{
	EVP_PKEY *pub = public_from_jwk_text("{\"kty\":\"RSA\",\"n\":\"" A2_N
					     "\",\"e\":\"" A2_E "\"}",
	    JOSE_ALG_RS256);
	struct jws_key k = { "2010-12-29", JOSE_ALG_RS256, pub };
	enum jose_alg rs = JOSE_ALG_RS256;
	struct jws_verify_opts o = { &k, 1, &rs, 1, NULL };
	struct jws_verified v;
	const char *tok = A2_INPUT "." A2_SIG;

	(void)state;
	/* No kid in the header: the one key is used. */
	assert_int_equal(jws_verify_compact(tok, strlen(tok), &o, &v), 0);
	assert_ptr_equal(v.key, &k);
	assert_string_equal(
	    json_string_value(json_object_get(v.header, "alg")), "RS256");
	assert_string_equal(
	    json_string_value(json_object_get(v.payload, "iss")), "joe");
	assert_int_equal(
	    json_integer_value(json_object_get(v.payload, "exp")), 1300819380);
	assert_true(json_is_true(
	    json_object_get(v.payload, "http://example.com/is_root")));
	jws_verified_free(&v);
	assert_int_equal(
	    jws_verify_raw(pub, JOSE_ALG_RS256, (const uint8_t *)A2_INPUT,
		strlen(A2_INPUT), (const uint8_t *)"", 0),
	    PC_ERR_VERIFY);
	/* Not as PS256: one algorithm per key. */
	k.alg = JOSE_ALG_PS256;
	assert_int_equal(verify(tok, &o), PC_ERR_VERIFY);
	EVP_PKEY_free(pub);
}

static void
test_jws_rfc7515_a3_es256_verify(void **state)
{
	EVP_PKEY *pub = public_from_jwk_text(
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\","
	    "\"y\":\"" A3_Y "\"}",
	    JOSE_ALG_ES256);
	EVP_PKEY *priv = a3_private_key();
	struct jws_key k = { "e9bc097a-ce51-4036-9562-d2ade882db0d",
		JOSE_ALG_ES256, pub };
	enum jose_alg es = JOSE_ALG_ES256;
	struct jws_verify_opts o = { &k, 1, &es, 1, NULL };
	struct jws_verified v;
	char *tok;

	(void)state;
	assert_int_equal(
	    jws_verify_compact(A3_TOKEN, strlen(A3_TOKEN), &o, &v), 0);
	assert_string_equal(
	    json_string_value(json_object_get(v.payload, "iss")), "joe");
	jws_verified_free(&v);
	/* ECDSA is randomized: sign afresh with d, verify with x and y. */
	assert_int_equal(EVP_PKEY_eq(pub, priv), 1);
	tok = make_token(
	    "{\"alg\":\"ES256\"}", "{\"iss\":\"joe\"}", priv, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &o), 0);
	free(tok);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

/* JW-02: A.1 is a valid HS256 token, and HS256 is never accepted. */
static void
test_jws_JW02_rfc7515_a1_hs256_rejected(void **state)
{
	uint8_t k[64], mac[32];
	size_t k_len, mac_len = 0;
	const char *dot2 = strrchr(A1_TOKEN, '.');
	char *s;
	struct jws_verify_opts one = { &keys[1], 1, all_algs,
		PC_NELEM(all_algs), NULL };

	(void)state;
	/* The vector is genuine: its HMAC-SHA256 checks out. */
	k_len = b64_bytes(A1_K, k, sizeof(k));
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k, k_len,
	    (const uint8_t *)A1_TOKEN, (size_t)(dot2 - A1_TOKEN), mac,
	    sizeof(mac), &mac_len));
	s = b64(mac, mac_len);
	assert_string_equal(s, dot2 + 1);
	free(s);

	assert_int_equal(verify(A1_TOKEN, &opts_all), PC_ERR_VERIFY);
	assert_int_equal(verify(A1_TOKEN, &one), PC_ERR_VERIFY);
}

static void
test_jws_rfc8037_a4_eddsa_sign_exact(void **state)
{
	EVP_PKEY *priv = rfc8037_private_key();
	EVP_PKEY *pub =
	    public_from_jwk_text("{\"kty\":\"OKP\","
				 "\"crv\":\"Ed25519\",\"x\":\"" E_X "\"}",
		JOSE_ALG_EDDSA);
	struct jws_key k = { NULL, JOSE_ALG_EDDSA, pub };
	enum jose_alg ed = JOSE_ALG_EDDSA;
	struct jws_verify_opts o = { &k, 1, &ed, 1, NULL };
	uint8_t sig[JWS_SIG_MAX];
	size_t sig_len;
	char *s, *bad;
	const char *tok = E_INPUT "." E_SIG;

	(void)state;
	assert_int_equal(
	    jws_sign_raw(priv, JOSE_ALG_EDDSA, (const uint8_t *)E_INPUT,
		strlen(E_INPUT), sig, &sig_len),
	    0);
	assert_int_equal(sig_len, 64);
	s = b64(sig, sig_len);
	assert_string_equal(s, E_SIG);
	free(s);
	assert_int_equal(
	    jws_verify_raw(pub, JOSE_ALG_EDDSA, (const uint8_t *)E_INPUT,
		strlen(E_INPUT), sig, sig_len),
	    0);
	/*
	 * The RFC payload is text, not a claim set: the signature verifies,
	 * then the payload is refused. With a broken signature, the payload
	 * is never looked at.
	 */
	assert_int_equal(verify(tok, &o), PC_ERR_INVALID);
	bad = strdup(tok);
	assert_non_null(bad);
	bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(bad, &o), PC_ERR_VERIFY);
	free(bad);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

/* --- round trips --------------------------------------------------- */

static void
test_jws_roundtrip_all_algs(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < PC_NELEM(keys); i++) {
		struct signer sg = { keys[i].pkey, keys[i].alg };
		json_t *claims = json_pack("{s:s, s:I, s:[s, s], s:{s:b}}",
		    "sub", "alice", "exp", (json_int_t)2000000000, "aud", "a",
		    "b", "cnf", "x", 1);
		struct jws_verified v;
		char *tok = NULL;

		assert_non_null(claims);
		assert_int_equal(jws_sign_compact(keys[i].alg, keys[i].kid,
				     "at+jwt", claims, sign_cb, &sg, &tok),
		    0);
		assert_non_null(tok);
		assert_int_equal(
		    jws_verify_compact(tok, strlen(tok), &opts_all, &v), 0);
		assert_ptr_equal(v.key, &keys[i]);
		assert_true(json_equal(v.payload, claims));
		assert_string_equal(
		    json_string_value(json_object_get(v.header, "alg")),
		    jose_alg_name(keys[i].alg));
		assert_string_equal(
		    json_string_value(json_object_get(v.header, "kid")),
		    keys[i].kid);
		assert_string_equal(
		    json_string_value(json_object_get(v.header, "typ")),
		    "at+jwt");
		assert_int_equal(json_object_size(v.header), 3);
		jws_verified_free(&v);
		jws_verified_free(&v); /* idempotent */
		free(tok);
		json_decref(claims);
	}
	jws_verified_free(NULL);
}

/* The header is exactly {"alg","kid","typ"} in that order, compact. */
static void
test_jws_sign_compact_header_shape(void **state)
{
	struct signer sg = { k_ed, JOSE_ALG_EDDSA };
	json_t *claims = json_pack("{s:s}", "sub", "a");
	char *tok = NULL, *dot;
	char hdr[128];
	size_t len;

	(void)state;
	assert_int_equal(jws_sign_compact(JOSE_ALG_EDDSA, "k1", "JWT", claims,
			     sign_cb, &sg, &tok),
	    0);
	dot = strchr(tok, '.');
	assert_int_equal(b64url_decode(tok, (size_t)(dot - tok), (uint8_t *)hdr,
			     sizeof(hdr) - 1, &len),
	    0);
	hdr[len] = '\0';
	assert_string_equal(hdr,
	    "{\"alg\":\"EdDSA\",\"kid\":\"k1\","
	    "\"typ\":\"JWT\"}");
	free(tok);
	assert_int_equal(jws_sign_compact(JOSE_ALG_EDDSA, NULL, NULL, claims,
			     sign_cb, &sg, &tok),
	    0);
	dot = strchr(tok, '.');
	assert_int_equal(b64url_decode(tok, (size_t)(dot - tok), (uint8_t *)hdr,
			     sizeof(hdr) - 1, &len),
	    0);
	hdr[len] = '\0';
	assert_string_equal(hdr, "{\"alg\":\"EdDSA\"}");
	free(tok);
	json_decref(claims);
}

static void
test_jws_sign_compact_errors(void **state)
{
	struct signer sg = { k_ec, JOSE_ALG_ES256 };
	json_t *claims = json_pack("{s:s}", "sub", "a");
	json_t *arr = json_pack("[i]", 1);
	json_t *big;
	char kid[258], *pad, *tok = (char *)&tok;

	(void)state;
	assert_int_equal(jws_sign_compact(JOSE_ALG_ES256, "k", NULL, arr,
			     sign_cb, &sg, &tok),
	    PC_ERR_INVALID);
	assert_null(tok);
	assert_int_equal(jws_sign_compact(JOSE_ALG_INVALID, "k", NULL, claims,
			     sign_cb, &sg, &tok),
	    PC_ERR_INVALID);
	assert_int_equal(jws_sign_compact(JOSE_ALG_ES256, "k", NULL, claims,
			     NULL, &sg, &tok),
	    PC_ERR_INVALID);
	/* The signer's error comes back as is. */
	assert_int_equal(jws_sign_compact(JOSE_ALG_ES256, "k", NULL, claims,
			     failing_sign_cb, NULL, &tok),
	    PC_ERR_STORE);
	assert_null(tok);
	/* A kid our verifier would refuse is not issued. */
	memset(kid, 'k', sizeof(kid) - 1);
	kid[sizeof(kid) - 1] = '\0';
	assert_int_equal(jws_sign_compact(JOSE_ALG_ES256, kid, NULL, claims,
			     sign_cb, &sg, &tok),
	    PC_ERR_INVALID);
	assert_int_equal(jws_sign_compact(JOSE_ALG_ES256, "k\xc0", NULL, claims,
			     sign_cb, &sg, &tok),
	    PC_ERR_INVALID);
	/*
	 * Over JWS_MAX_LEN a token is still issued, and our verifier refuses
	 * it; signing itself stops at 8 * JWS_MAX_LEN.
	 */
	pad = malloc(8 * JWS_MAX_LEN);
	assert_non_null(pad);
	memset(pad, 'a', JWS_MAX_LEN);
	pad[JWS_MAX_LEN] = '\0';
	big = json_pack("{s:s}", "pad", pad);
	assert_int_equal(jws_sign_compact(JOSE_ALG_ES256, "ec1", NULL, big,
			     sign_cb, &sg, &tok),
	    0);
	assert_true(strlen(tok) > JWS_MAX_LEN);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_TOO_LARGE);
	free(tok);
	json_decref(big);
	memset(pad, 'a', 8 * JWS_MAX_LEN - 1);
	pad[8 * JWS_MAX_LEN - 1] = '\0';
	big = json_pack("{s:s}", "pad", pad);
	assert_int_equal(jws_sign_compact(JOSE_ALG_ES256, "ec1", NULL, big,
			     sign_cb, &sg, &tok),
	    PC_ERR_TOO_LARGE);
	assert_null(tok);
	/* A key that does not fit the algorithm. */
	sg.pkey = k_rsa;
	assert_int_equal(jws_sign_compact(JOSE_ALG_ES256, "k", NULL, claims,
			     sign_cb, &sg, &tok),
	    PC_ERR_INVALID);
	free(pad);
	json_decref(big);
	json_decref(arr);
	json_decref(claims);
}

/* --- JW-01, JW-02: algorithms -------------------------------------- */

static void
test_jws_JW01_alg_none_rejected(void **state)
{
	static const char *const nones[] = { "none", "None", "NONE", "noNE",
		"nOnE", "" };
	size_t i;
	char hdr[64], *tok, *p;

	(void)state;
	for (i = 0; i < PC_NELEM(nones); i++) {
		/* With a signature made by a key we trust. */
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"ec1\"}",
		    nones[i]);
		tok = make_token(
		    hdr, "{\"sub\":\"admin\"}", k_ec, JOSE_ALG_ES256);
		assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
		/* The classic form: an empty signature. */
		p = strrchr(tok, '.');
		p[1] = '\0';
		assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
		free(tok);
		/* Without a kid, against a single key. */
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", nones[i]);
		tok = make_token(
		    hdr, "{\"sub\":\"admin\"}", k_ec, JOSE_ALG_ES256);
		{
			struct jws_verify_opts one = { &keys[0], 1, all_algs,
				PC_NELEM(all_algs), NULL };

			assert_int_equal(verify(tok, &one), PC_ERR_VERIFY);
		}
		free(tok);
	}
}

static void
test_jws_JW01_alg_not_a_string_rejected(void **state)
{
	static const char *const hdrs[] = {
		"{\"kid\":\"ec1\"}",
		"{\"alg\":null,\"kid\":\"ec1\"}",
		"{\"alg\":1,\"kid\":\"ec1\"}",
		"{\"alg\":[\"ES256\"],\"kid\":\"ec1\"}",
		"{\"alg\":{\"ES256\":1},\"kid\":\"ec1\"}",
		"{\"alg\":true,\"kid\":\"ec1\"}",
		"{\"alg\":\"ES256 \",\"kid\":\"ec1\"}",
		"{\"alg\":\"es256\",\"kid\":\"ec1\"}",
		"{\"alg\":\"ES384\",\"kid\":\"ec1\"}",
	};
	size_t i;
	char *tok;

	(void)state;
	for (i = 0; i < PC_NELEM(hdrs); i++) {
		tok = make_token(hdrs[i], "{}", k_ec, JOSE_ALG_ES256);
		assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
		free(tok);
	}
}

static char *
public_key_bytes(EVP_PKEY *pkey, bool pem, size_t *len)
{
	char *out;

	if (pem) {
		BIO *bio = BIO_new(BIO_s_mem());
		char *data;
		long n;

		assert_non_null(bio);
		assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
		n = BIO_get_mem_data(bio, &data);
		assert_true(n > 0);
		out = malloc((size_t)n);
		assert_non_null(out);
		memcpy(out, data, (size_t)n);
		*len = (size_t)n;
		BIO_free(bio);
	} else {
		unsigned char *der = NULL;
		int n = i2d_PUBKEY(pkey, &der);

		assert_true(n > 0);
		out = malloc((size_t)n);
		assert_non_null(out);
		memcpy(out, der, (size_t)n);
		*len = (size_t)n;
		OPENSSL_free(der);
	}
	return out;
}

/* JW-02: HS256 keyed with our RSA public key, as PEM and as DER. */
static void
test_jws_JW02_hs256_rsa_pubkey_rejected(void **state)
{
	static const char *const hdrs[] = {
		"{\"alg\":\"HS256\",\"kid\":\"rsa1\"}",
		"{\"alg\":\"HS256\"}",
		"{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
	};
	struct jws_verify_opts one = { &keys[1], 1, all_algs,
		PC_NELEM(all_algs), NULL };
	size_t i, pk_len, mac_len;
	int pem;

	(void)state;
	for (pem = 0; pem <= 1; pem++) {
		char *pk = public_key_bytes(k_rsa, pem != 0, &pk_len);

		for (i = 0; i < PC_NELEM(hdrs); i++) {
			char *h = b64(hdrs[i], strlen(hdrs[i]));
			char *p = b64("{\"sub\":\"admin\"}", 15);
			char input[256], *m, tok[512];
			uint8_t mac[32];

			snprintf(input, sizeof(input), "%s.%s", h, p);
			assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256",
			    NULL, pk, pk_len, (const uint8_t *)input,
			    strlen(input), mac, sizeof(mac), &mac_len));
			m = b64(mac, mac_len);
			snprintf(tok, sizeof(tok), "%s.%s", input, m);
			assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
			assert_int_equal(verify(tok, &one), PC_ERR_VERIFY);
			free(h);
			free(p);
			free(m);
		}
		free(pk);
	}
}

/* JW-02: an RS256 key is not a PS256 key, and the other way round. */
static void
test_jws_JW02_rs256_ps256_confusion_rejected(void **state)
{
	char *tok;

	(void)state;
	/* Controls: each key with its own algorithm. */
	tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "{}", k_rsa,
	    JOSE_ALG_RS256);
	assert_int_equal(verify(tok, &opts_all), 0);
	free(tok);
	tok = make_token(
	    "{\"alg\":\"PS256\",\"kid\":\"ps1\"}", "{}", k_ps, JOSE_ALG_PS256);
	assert_int_equal(verify(tok, &opts_all), 0);
	free(tok);
	/* The RS256 key, a valid PSS signature, header PS256. */
	tok = make_token("{\"alg\":\"PS256\",\"kid\":\"rsa1\"}", "{}", k_rsa,
	    JOSE_ALG_PS256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
	free(tok);
	/* The PS256 key, a valid PKCS#1 v1.5 signature, header RS256. */
	tok = make_token(
	    "{\"alg\":\"RS256\",\"kid\":\"ps1\"}", "{}", k_ps, JOSE_ALG_RS256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
	free(tok);
	/* A PSS signature under a PKCS#1 v1.5 header with the same key. */
	tok = make_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "{}", k_rsa,
	    JOSE_ALG_PS256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
	free(tok);
	/* ES256 header naming the Ed25519 key. */
	tok = make_token(
	    "{\"alg\":\"ES256\",\"kid\":\"ed1\"}", "{}", k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
	free(tok);
}

/* JW-02: the context allowlist applies even to a key's own algorithm. */
static void
test_jws_JW02_alg_outside_context_rejected(void **state)
{
	static const enum jose_alg rsa_only[] = { JOSE_ALG_RS256,
		JOSE_ALG_PS256 };
	struct jws_verify_opts o = { keys, PC_NELEM(keys), rsa_only,
		PC_NELEM(rsa_only), NULL };
	struct jws_verify_opts none = { keys, PC_NELEM(keys), all_algs, 0,
		NULL };
	char *tok;

	(void)state;
	tok = make_token(
	    "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", "{}", k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), 0);
	assert_int_equal(verify(tok, &o), PC_ERR_VERIFY);
	assert_int_equal(verify(tok, &none), PC_ERR_VERIFY);
	free(tok);
}

/* --- JW-03: key selection ------------------------------------------ */

static void
test_jws_JW03_kid_injection_rejected(void **state)
{
	static const char *const kids[] = {
		"../../dev/null",
		"' OR 1=1--",
		"ec1' OR '1'='1",
		"/etc/passwd",
		"EC1",
		"ec1 ",
		" ec1",
		"ec",
		"ec10",
		"",
		"file:///dev/null",
		"http://attacker/jwks",
	};
	size_t i;
	char hdr[128], *tok;

	(void)state;
	for (i = 0; i < PC_NELEM(kids); i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}",
		    kids[i]);
		tok = make_token(hdr, "{}", k_ec, JOSE_ALG_ES256);
		assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
		free(tok);
	}
	/* A kid cut short by "\u0000" is not even JSON we accept. */
	tok = make_token("{\"alg\":\"ES256\",\"kid\":\"ec1\\u0000x\"}", "{}",
	    k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
	free(tok);
}

static void
test_jws_JW03_long_kid_rejected(void **state)
{
	static char hdr[10240 + 64];
	char *tok;
	size_t n;

	(void)state;
	/* 10 KB: the token is over the cap before anything is decoded. */
	memcpy(hdr, "{\"alg\":\"ES256\",\"kid\":\"", 22);
	memset(hdr + 22, 'k', 10240);
	memcpy(hdr + 22 + 10240, "\"}", 3);
	tok = make_token(hdr, "{}", k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_TOO_LARGE);
	free(tok);
	/* 5 KB fits the token cap, not the kid cap. */
	memcpy(hdr + 22 + 5120, "\"}", 3);
	tok = make_token(hdr, "{}", k_ec, JOSE_ALG_ES256);
	assert_true(strlen(tok) <= JWS_MAX_LEN);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
	free(tok);
	/* 257 bytes: one over; 256 is only an unknown kid. */
	for (n = 256; n <= 257; n++) {
		memcpy(hdr + 22 + n, "\"}", 3);
		tok = make_token(hdr, "{}", k_ec, JOSE_ALG_ES256);
		assert_int_equal(verify(tok, &opts_all),
		    n == 256 ? PC_ERR_VERIFY : PC_ERR_INVALID);
		free(tok);
	}
}

static void
test_jws_JW03_kid_not_a_string_rejected(void **state)
{
	static const char *const hdrs[] = {
		"{\"alg\":\"ES256\",\"kid\":null}",
		"{\"alg\":\"ES256\",\"kid\":1}",
		"{\"alg\":\"ES256\",\"kid\":[\"ec1\"]}",
		"{\"alg\":\"ES256\",\"kid\":{\"ec1\":true}}",
	};
	struct jws_verify_opts one = { &keys[0], 1, all_algs,
		PC_NELEM(all_algs), NULL };
	size_t i;
	char *tok;

	(void)state;
	for (i = 0; i < PC_NELEM(hdrs); i++) {
		tok = make_token(hdrs[i], "{}", k_ec, JOSE_ALG_ES256);
		assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
		assert_int_equal(verify(tok, &one), PC_ERR_INVALID);
		free(tok);
	}
}

static void
test_jws_JW03_unknown_kid_rejected(void **state)
{
	char *tok;

	(void)state;
	/* Signed by a key we do not hold, under a kid we do not know. */
	tok = make_token(
	    "{\"alg\":\"ES256\",\"kid\":\"ec9\"}", "{}", k_ec2, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
	free(tok);
	/* Signed by a key we do not hold, under a kid we know. */
	tok = make_token(
	    "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", "{}", k_ec2, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
	free(tok);
	/* A retired key: removed from the set, its tokens fail (JW-09). */
	tok = make_token(
	    "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", "{}", k_ec, JOSE_ALG_ES256);
	{
		struct jws_verify_opts o = { keys + 1, PC_NELEM(keys) - 1,
			all_algs, PC_NELEM(all_algs), NULL };

		assert_int_equal(verify(tok, &o), PC_ERR_VERIFY);
	}
	free(tok);
}

static void
test_jws_JW03_kid_absent_needs_single_key(void **state)
{
	struct jws_verify_opts one = { &keys[0], 1, all_algs,
		PC_NELEM(all_algs), NULL };
	struct jws_verify_opts empty = { NULL, 0, all_algs, PC_NELEM(all_algs),
		NULL };
	char *tok;

	(void)state;
	tok = make_token("{\"alg\":\"ES256\"}", "{}", k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &one), 0);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
	assert_int_equal(verify(tok, &empty), PC_ERR_VERIFY);
	free(tok);
	/* The single key still has its one algorithm. */
	tok = make_token("{\"alg\":\"EdDSA\"}", "{}", k_ed, JOSE_ALG_EDDSA);
	assert_int_equal(verify(tok, &one), PC_ERR_VERIFY);
	free(tok);
}

/* Two keys under one kid: the header's alg picks, a tie is refused. */
static void
test_jws_JW03_duplicate_kid(void **state)
{
	struct jws_key dup[2] = {
		{ "k", JOSE_ALG_ES256, NULL },
		{ "k", JOSE_ALG_EDDSA, NULL },
	};
	struct jws_verify_opts o = { dup, 2, all_algs, PC_NELEM(all_algs),
		NULL };
	struct jws_verified v;
	char *tok;

	(void)state;
	dup[0].pkey = k_ec;
	dup[1].pkey = k_ed;
	tok = make_token(
	    "{\"alg\":\"EdDSA\",\"kid\":\"k\"}", "{}", k_ed, JOSE_ALG_EDDSA);
	assert_int_equal(jws_verify_compact(tok, strlen(tok), &o, &v), 0);
	assert_ptr_equal(v.key, &dup[1]);
	jws_verified_free(&v);
	free(tok);
	dup[1] = (struct jws_key){ "k", JOSE_ALG_ES256, k_ec2 };
	tok = make_token(
	    "{\"alg\":\"ES256\",\"kid\":\"k\"}", "{}", k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &o), PC_ERR_VERIFY);
	free(tok);
}

/* JW-03: a token may not bring its own key, key URL or extensions. */
static void
test_jws_JW03_embedded_key_headers_rejected(void **state)
{
	static const char *const extra[] = {
		"\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X
		"\",\"y\":\"" A3_Y "\"}",
		"\"jku\":\"https://attacker.example/jwks.json\"",
		"\"x5u\":\"https://attacker.example/cert.pem\"",
		"\"x5c\":[\"MIIB\"]",
		"\"crit\":[\"exp\"]",
		"\"crit\":[]",
		"\"jwk\":null",
		"\"enc\":\"A256GCM\"",
		"\"zip\":\"DEF\"",
	};
	size_t i;
	char hdr[512], *tok;

	(void)state;
	for (i = 0; i < PC_NELEM(extra); i++) {
		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"ES256\",\"kid\":\"ec1\","
		    "%s}",
		    extra[i]);
		tok = make_token(hdr, "{}", k_ec, JOSE_ALG_ES256);
		assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
		free(tok);
	}
}

/* --- JW-07: the signature covers everything ------------------------ */

static void
test_jws_JW07_tampered_payload_rejected(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < PC_NELEM(keys); i++) {
		char hdr[64], *tok, *evil, *p, *d1, *d2, *out;
		size_t n;

		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\"}",
		    jose_alg_name(keys[i].alg), keys[i].kid);
		tok = make_token(hdr, "{\"sub\":\"alice\",\"adm\":false}",
		    keys[i].pkey, keys[i].alg);
		assert_int_equal(verify(tok, &opts_all), 0);
		/* Swap in another payload under the same header and sig. */
		evil = b64("{\"sub\":\"alice\",\"adm\":true}",
		    strlen("{\"sub\":\"alice\",\"adm\":true}"));
		d1 = strchr(tok, '.');
		d2 = strrchr(tok, '.');
		n = (size_t)(d1 - tok) + 1 + strlen(evil) + strlen(d2) + 1;
		out = malloc(n);
		assert_non_null(out);
		snprintf(out, n, "%.*s.%s%s", (int)(d1 - tok), tok, evil, d2);
		assert_int_equal(verify(out, &opts_all), PC_ERR_VERIFY);
		/* And flip one character of the original payload. */
		p = d1 + 3;
		*p = *p == 'A' ? 'Q' : 'A';
		assert_int_not_equal(verify(tok, &opts_all), 0);
		free(out);
		free(evil);
		free(tok);
	}
}

static void
test_jws_JW07_tampered_header_rejected(void **state)
{
	char *tok, *h2, *out, *d1;
	size_t n;

	(void)state;
	tok = make_token(
	    "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", "{}", k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), 0);
	h2 = b64("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"typ\":\"JWT\"}",
	    strlen("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"typ\":\"JWT\"}"));
	d1 = strchr(tok, '.');
	n = strlen(h2) + strlen(d1) + 1;
	out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%s%s", h2, d1);
	assert_int_equal(verify(out, &opts_all), PC_ERR_VERIFY);
	free(out);
	free(h2);
	free(tok);
}

static void
test_jws_JW07_tampered_signature_rejected(void **state)
{
	size_t i, pos;

	(void)state;
	for (i = 0; i < PC_NELEM(keys); i++) {
		char hdr[64], *tok, *sig;

		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\"}",
		    jose_alg_name(keys[i].alg), keys[i].kid);
		tok = make_token(
		    hdr, "{\"sub\":\"x\"}", keys[i].pkey, keys[i].alg);
		sig = strrchr(tok, '.') + 1;
		for (pos = 0; pos + 1 < strlen(sig); pos += 7) {
			char c = sig[pos];

			sig[pos] = c == 'B' ? 'C' : 'B';
			assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
			sig[pos] = c;
		}
		assert_int_equal(verify(tok, &opts_all), 0);
		free(tok);
	}
}

/* JW-07: a JWE (5 parts) or a JWE header is never taken for a JWS. */
static void
test_jws_JW07_jwe_rejected(void **state)
{
	char *tok;

	(void)state;
	assert_int_equal(
	    verify(
		"eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00i"
		"fQ."
		"OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03"
		"JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-"
		"StnImGy"
		"FDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_"
		"lDp5XnZAYpQdb76FdIK"
		"LaVmqgfwX7XWRxv2322i-vDxRfqNzo_"
		"tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0"
		"je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_"
		"ZT2LawVCWTIy3br"
		"GPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_"
		"c8SuK0ltJ3rpY"
		"IzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_"
		"A."
		"XFBoMYUZodetZdvTiFvSkQ",
		&opts_all),
	    PC_ERR_INVALID);
	tok = make_token(
	    "{\"alg\":\"ES256\",\"kid\":\"ec1\",\"enc\":\"A128GCM\"}", "{}",
	    k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
	free(tok);
}

/* JW-07: a nested JWT's payload is a string, never a claim set. */
static void
test_jws_JW07_nested_jwt_payload_rejected(void **state)
{
	char *tok;

	(void)state;
	tok = make_token("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"cty\":\"JWT\"}",
	    "\"" A3_TOKEN "\"", k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
	free(tok);
	tok = make_token_n("{\"alg\":\"ES256\",\"kid\":\"ec1\"}", 27, A3_TOKEN,
	    strlen(A3_TOKEN), k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
	free(tok);
}

/* --- JW-08: parser tricks ------------------------------------------ */

static void
test_jws_JW08_duplicate_header_rejected(void **state)
{
	static const char *const hdrs[] = {
		"{\"alg\":\"ES256\",\"kid\":\"ec1\",\"alg\":\"ES256\"}",
		"{\"alg\":\"none\",\"kid\":\"ec1\",\"alg\":\"ES256\"}",
		"{\"alg\":\"ES256\",\"kid\":\"ec1\",\"alg\":\"none\"}",
		"{\"alg\":\"ES256\",\"kid\":\"ec1\",\"\\u0061lg\":\"none\"}",
		"{\"alg\":\"ES256\",\"kid\":\"ec9\",\"kid\":\"ec1\"}",
	};
	size_t i;
	char *tok;

	(void)state;
	for (i = 0; i < PC_NELEM(hdrs); i++) {
		tok = make_token(hdrs[i], "{}", k_ec, JOSE_ALG_ES256);
		assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
		free(tok);
	}
}

static void
test_jws_JW08_duplicate_claim_rejected(void **state)
{
	static const char *const pays[] = {
		"{\"sub\":\"alice\",\"sub\":\"admin\"}",
		"{\"aud\":\"a\",\"exp\":1,\"aud\":\"b\"}",
		"{\"cnf\":{\"jkt\":\"a\",\"jkt\":\"b\"}}",
		"{\"sub\":\"alice\",\"s\\u0075b\":\"admin\"}",
	};
	size_t i;
	char *tok;

	(void)state;
	for (i = 0; i < PC_NELEM(pays); i++) {
		tok = make_token("{\"alg\":\"ES256\",\"kid\":\"ec1\"}", pays[i],
		    k_ec, JOSE_ALG_ES256);
		assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
		free(tok);
	}
}

static void
test_jws_JW08_json_serialization_rejected(void **state)
{
	char *tok, *d1, *d2, json[1024];

	(void)state;
	tok = make_token(
	    "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", "{}", k_ec, JOSE_ALG_ES256);
	d1 = strchr(tok, '.');
	d2 = strrchr(tok, '.');
	/* Flattened. */
	snprintf(json, sizeof(json),
	    "{\"payload\":\"%.*s\",\"protected\":"
	    "\"%.*s\",\"signature\":\"%s\"}",
	    (int)(d2 - d1 - 1), d1 + 1, (int)(d1 - tok), tok, d2 + 1);
	assert_int_equal(verify(json, &opts_all), PC_ERR_INVALID);
	/* General. */
	snprintf(json, sizeof(json),
	    "{\"payload\":\"%.*s\",\"signatures\":"
	    "[{\"protected\":\"%.*s\",\"signature\":\"%s\"}]}",
	    (int)(d2 - d1 - 1), d1 + 1, (int)(d1 - tok), tok, d2 + 1);
	assert_int_equal(verify(json, &opts_all), PC_ERR_INVALID);
	free(tok);
}

static void
test_jws_JW08_segment_count_rejected(void **state)
{
	char *tok, buf[1024];
	const char *d1, *d2;

	(void)state;
	tok = make_token(
	    "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", "{}", k_ec, JOSE_ALG_ES256);
	d1 = strchr(tok, '.');
	d2 = strrchr(tok, '.');
	assert_int_equal(verify(tok, &opts_all), 0);
	/* One and two segments. */
	snprintf(buf, sizeof(buf), "%.*s", (int)(d1 - tok), tok);
	assert_int_equal(verify(buf, &opts_all), PC_ERR_INVALID);
	snprintf(buf, sizeof(buf), "%.*s", (int)(d2 - tok), tok);
	assert_int_equal(verify(buf, &opts_all), PC_ERR_INVALID);
	/* Four and five. */
	snprintf(buf, sizeof(buf), "%s.%s", tok, d2 + 1);
	assert_int_equal(verify(buf, &opts_all), PC_ERR_INVALID);
	snprintf(buf, sizeof(buf), "%s.", tok);
	assert_int_equal(verify(buf, &opts_all), PC_ERR_INVALID);
	snprintf(
	    buf, sizeof(buf), "%.*s.e30.%s.e30", (int)(d2 - tok), tok, d2 + 1);
	assert_int_equal(verify(buf, &opts_all), PC_ERR_INVALID);
	/* Empty segments. */
	snprintf(buf, sizeof(buf), ".%s", d1 + 1);
	assert_int_equal(verify(buf, &opts_all), PC_ERR_INVALID);
	snprintf(buf, sizeof(buf), "%.*s.%s", (int)(d1 - tok), tok, d2);
	assert_int_equal(verify(buf, &opts_all), PC_ERR_INVALID);
	assert_int_equal(verify("..", &opts_all), PC_ERR_INVALID);
	assert_int_equal(verify("", &opts_all), PC_ERR_INVALID);
	assert_int_equal(verify(".", &opts_all), PC_ERR_INVALID);
	free(tok);
}

static void
test_jws_JW08_padding_stray_rejected(void **state)
{
	static const char *const inserts[] = { "=", "==", " ", "\n", "\t", "+",
		"/", "%3D", "\r\n", "\xc3\xa9" };
	char *tok, buf[1024];
	size_t i, seg, at;

	(void)state;
	tok = make_token("{\"alg\":\"ES256\",\"kid\":\"ec1\"}", "{\"a\":1}",
	    k_ec, JOSE_ALG_ES256);
	for (i = 0; i < PC_NELEM(inserts); i++) {
		for (seg = 0; seg < 3; seg++) {
			const char *p = tok;
			size_t k;

			/* At the end of segment seg. */
			for (k = 0; k <= seg; k++) {
				const char *q = strchr(p, '.');

				p = q == NULL ? tok + strlen(tok) : q + 1;
			}
			at = seg == 2 ? strlen(tok) : (size_t)(p - tok) - 1;
			snprintf(buf, sizeof(buf), "%.*s%s%s", (int)at, tok,
			    inserts[i], tok + at);
			assert_int_equal(
			    verify(buf, &opts_all), PC_ERR_INVALID);
		}
		/* Before the token and inside the first segment. */
		snprintf(buf, sizeof(buf), "%s%s", inserts[i], tok);
		assert_int_equal(verify(buf, &opts_all), PC_ERR_INVALID);
		snprintf(
		    buf, sizeof(buf), "%.4s%s%s", tok, inserts[i], tok + 4);
		assert_int_equal(verify(buf, &opts_all), PC_ERR_INVALID);
	}
	/* A NUL inside the given length. */
	memcpy(buf, tok, strlen(tok) + 1);
	buf[6] = '\0';
	assert_int_equal(verify_n(buf, strlen(tok), &opts_all), PC_ERR_INVALID);
	/* A length that stops short of the end is another token. */
	assert_int_equal(
	    verify_n(tok, strlen(tok) - 1, &opts_all), PC_ERR_INVALID);
	assert_int_equal(
	    verify_n(tok, strlen(tok) - 2, &opts_all), PC_ERR_VERIFY);
	free(tok);
}

static void
test_jws_JW08_oversize_rejected(void **state)
{
	char *big, *tok = NULL, *pad;
	size_t plen, tl, extra;
	bool hit = false;

	(void)state;
	/* Over the cap: refused before anything else is looked at. */
	big = malloc(JWS_MAX_LEN + 2);
	assert_non_null(big);
	memset(big, 'A', JWS_MAX_LEN + 1);
	big[JWS_MAX_LEN + 1] = '\0';
	assert_int_equal(verify(big, &opts_all), PC_ERR_TOO_LARGE);
	assert_int_equal(verify_n(big, SIZE_MAX, &opts_all), PC_ERR_TOO_LARGE);
	free(big);

	/* A real token of exactly JWS_MAX_LEN passes, one more byte fails. */
	pad = malloc(JWS_MAX_LEN);
	assert_non_null(pad);
	for (extra = 0; extra < 3 && !hit; extra++) {
		char hdr[64];

		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"ES256\",\"kid\":\"ec1\",\"typ\":\"%.*s\"}",
		    (int)extra + 1, "JWT");
		for (plen = 5900; plen < 6200 && !hit; plen++) {
			size_t pl = plen + 8; /* {"p":"..."} */

			tl = b64url_encoded_len(strlen(hdr)) + 1 +
			    b64url_encoded_len(pl) + 1 + 86;
			if (tl != JWS_MAX_LEN)
				continue;
			snprintf(
			    pad, JWS_MAX_LEN, "{\"p\":\"%0*d\"}", (int)plen, 0);
			tok = make_token(hdr, pad, k_ec, JOSE_ALG_ES256);
			hit = true;
		}
	}
	assert_true(hit);
	assert_int_equal(strlen(tok), JWS_MAX_LEN);
	assert_int_equal(verify(tok, &opts_all), 0);
	big = malloc(JWS_MAX_LEN + 2);
	assert_non_null(big);
	snprintf(big, JWS_MAX_LEN + 2, "%sA", tok);
	assert_int_equal(verify(big, &opts_all), PC_ERR_TOO_LARGE);
	free(big);
	free(tok);
	free(pad);
}

static void
test_jws_JW08_deep_nesting_rejected(void **state)
{
	char pay[256], *tok;
	size_t d;

	(void)state;
	/* Header: depth 4 at most. */
	tok = make_token("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"x\":[[[1]]]}",
	    "{}", k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), 0);
	free(tok);
	tok = make_token("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"x\":[[[[1]]]]}",
	    "{}", k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
	free(tok);
	/* Payload: depth 16 at most. */
	for (d = 16; d <= 17; d++) {
		size_t i, o = 0;

		pay[o++] = '{';
		memcpy(pay + o, "\"a\":", 4);
		o += 4;
		for (i = 1; i < d; i++)
			pay[o++] = '[';
		for (i = 1; i < d; i++)
			pay[o++] = ']';
		pay[o++] = '}';
		pay[o] = '\0';
		tok = make_token("{\"alg\":\"ES256\",\"kid\":\"ec1\"}", pay,
		    k_ec, JOSE_ALG_ES256);
		assert_int_equal(
		    verify(tok, &opts_all), d == 16 ? 0 : PC_ERR_INVALID);
		free(tok);
	}
}

static void
test_jws_JW08_malformed_json_rejected(void **state)
{
	static const struct {
		const char *hdr;
		size_t hlen;
		const char *pay;
		size_t plen;
	} c[] = {
#define S(x) x, sizeof(x) - 1
#define HDR "{\"alg\":\"ES256\",\"kid\":\"ec1\"}"
		/* Header: not an object, trailing garbage, bad UTF-8, NUL. */
		{ S("[\"ES256\"]"), S("{}") },
		{ S("\"ES256\""), S("{}") },
		{ S(HDR "x"), S("{}") },
		{ S(HDR "{}"), S("{}") },
		{ S("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"x\":\"\xff\"}"),
		    S("{}") },
		{ S("{\"alg\":\"ES256\",\"kid\":\"ec1\"}\0"), S("{}") },
		{ S("{\"alg\":\"ES256\",\"kid\":\"ec1\",}"), S("{}") },
		{ S("{'alg':'ES256','kid':'ec1'}"), S("{}") },
		/* Payload: not an object, garbage, bad UTF-8, NUL, escapes. */
		{ S(HDR), S("[1]") },
		{ S(HDR), S("\"x\"") },
		{ S(HDR), S("1") },
		{ S(HDR), S("null") },
		{ S(HDR), S("{}x") },
		{ S(HDR), S("{}{}") },
		{ S(HDR), S("{\"a\":\"\xc0\xaf\"}") },
		{ S(HDR), S("{\"a\":\"\xed\xa0\x80\"}") },
		{ S(HDR), S("{\"a\":\"x\0\"}") },
		{ S(HDR), S("{\"a\":\"\\u0000\"}") },
		{ S(HDR), S("{\"a\":\"\\ud800\"}") },
		{ S(HDR), S("{\"a\":NaN}") },
		{ S(HDR), S("{\"a\":01}") },
		{ S(HDR), S("{\"a\":1") },
		{ S(HDR), S("\xef\xbb\xbf{}") },
#undef HDR
#undef S
	};
	size_t i;
	char *tok;

	(void)state;
	for (i = 0; i < PC_NELEM(c); i++) {
		tok = make_token_n(c[i].hdr, c[i].hlen, c[i].pay, c[i].plen,
		    k_ec, JOSE_ALG_ES256);
		assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
		free(tok);
	}
	/* Trailing white space is JSON; the claim set is still fine. */
	tok = make_token("{\"alg\":\"ES256\",\"kid\":\"ec1\"} ", "{} \r\n",
	    k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), 0);
	free(tok);
}

static void
test_jws_JW08_header_typ_not_string_rejected(void **state)
{
	char *tok;

	(void)state;
	tok = make_token("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"typ\":1}", "{}",
	    k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_INVALID);
	free(tok);
}

/* --- raw signatures ------------------------------------------------ */

static void
test_jws_es256_signature_length_rejected(void **state)
{
	static const uint8_t in[] = "a.b";
	uint8_t sig[JWS_SIG_MAX], der[80], *dp;
	size_t sig_len, n = sizeof(in) - 1;
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	int der_len;
	char *tok, *h, *p, *sb, buf[512];

	(void)state;
	assert_int_equal(
	    jws_sign_raw(k_ec, JOSE_ALG_ES256, in, n, sig, &sig_len), 0);
	assert_int_equal(sig_len, 64);
	assert_int_equal(
	    jws_verify_raw(k_ec, JOSE_ALG_ES256, in, n, sig, 64), 0);
	assert_int_equal(jws_verify_raw(k_ec, JOSE_ALG_ES256, in, n, sig, 63),
	    PC_ERR_VERIFY);
	sig[64] = 0;
	assert_int_equal(jws_verify_raw(k_ec, JOSE_ALG_ES256, in, n, sig, 65),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    jws_verify_raw(k_ec, JOSE_ALG_ES256, in, n, sig, 0), PC_ERR_VERIFY);
	/* The same signature as DER: a valid ECDSA-Sig-Value, refused. */
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
	dp = der;
	der_len = i2d_ECDSA_SIG(es, &dp);
	assert_true(der_len > 0 && der_len <= (int)sizeof(der));
	ECDSA_SIG_free(es);
	assert_int_equal(
	    jws_verify_raw(k_ec, JOSE_ALG_ES256, in, n, der, (size_t)der_len),
	    PC_ERR_VERIFY);
	/* The DER form inside a compact token. */
	h = b64("{\"alg\":\"ES256\",\"kid\":\"ec1\"}", 27);
	p = b64("{}", 2);
	snprintf(buf, sizeof(buf), "%s.%s", h, p);
	assert_int_equal(jws_sign_raw(k_ec, JOSE_ALG_ES256,
			     (const uint8_t *)buf, strlen(buf), sig, &sig_len),
	    0);
	es = ECDSA_SIG_new();
	assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
			     BN_bin2bn(sig + 32, 32, NULL)),
	    1);
	dp = der;
	der_len = i2d_ECDSA_SIG(es, &dp);
	ECDSA_SIG_free(es);
	sb = b64(der, (size_t)der_len);
	tok = malloc(strlen(buf) + strlen(sb) + 2);
	assert_non_null(tok);
	memcpy(tok, buf, strlen(buf));
	tok[strlen(buf)] = '.';
	memcpy(tok + strlen(buf) + 1, sb, strlen(sb) + 1);
	assert_int_equal(verify(tok, &opts_all), PC_ERR_VERIFY);
	/* r = 0 or s = 0, and r = s = 0. */
	{
		uint8_t z[64];

		memcpy(z, sig, 64);
		memset(z, 0, 32);
		assert_int_equal(jws_verify_raw(k_ec, JOSE_ALG_ES256,
				     (const uint8_t *)buf, strlen(buf), z, 64),
		    PC_ERR_VERIFY);
		memcpy(z, sig, 64);
		memset(z + 32, 0, 32);
		assert_int_equal(jws_verify_raw(k_ec, JOSE_ALG_ES256,
				     (const uint8_t *)buf, strlen(buf), z, 64),
		    PC_ERR_VERIFY);
		memset(z, 0, 64);
		assert_int_equal(jws_verify_raw(k_ec, JOSE_ALG_ES256,
				     (const uint8_t *)buf, strlen(buf), z, 64),
		    PC_ERR_VERIFY);
		/* r, s = all ones: not below the group order. */
		memset(z, 0xff, 64);
		assert_int_equal(jws_verify_raw(k_ec, JOSE_ALG_ES256,
				     (const uint8_t *)buf, strlen(buf), z, 64),
		    PC_ERR_VERIFY);
	}
	assert_int_equal(ERR_peek_error(), 0);
	free(tok);
	free(sb);
	free(h);
	free(p);
}

static void
test_jws_rsa_eddsa_signature_length_rejected(void **state)
{
	static const uint8_t in[] = "a.b";
	uint8_t sig[JWS_SIG_MAX + 1], z[JWS_SIG_MAX + 1];
	size_t sig_len, n = sizeof(in) - 1;

	(void)state;
	assert_int_equal(
	    jws_sign_raw(k_rsa, JOSE_ALG_RS256, in, n, sig, &sig_len), 0);
	assert_int_equal(sig_len, 256);
	assert_int_equal(jws_verify_raw(k_rsa, JOSE_ALG_RS256, in, n, sig, 255),
	    PC_ERR_VERIFY);
	/* A leading zero octet in front of a good signature. */
	z[0] = 0;
	memcpy(z + 1, sig, sig_len);
	assert_int_equal(jws_verify_raw(k_rsa, JOSE_ALG_RS256, in, n, z, 257),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    jws_sign_raw(k_ps, JOSE_ALG_PS256, in, n, sig, &sig_len), 0);
	assert_int_equal(sig_len, 256);
	assert_int_equal(
	    jws_verify_raw(k_ps, JOSE_ALG_PS256, in, n, sig, sig_len), 0);
	assert_int_equal(
	    jws_verify_raw(k_ps, JOSE_ALG_RS256, in, n, sig, sig_len),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    jws_verify_raw(k_ps, JOSE_ALG_PS256, in, n, sig, sig_len - 1),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    jws_sign_raw(k_ed, JOSE_ALG_EDDSA, in, n, sig, &sig_len), 0);
	assert_int_equal(sig_len, 64);
	assert_int_equal(jws_verify_raw(k_ed, JOSE_ALG_EDDSA, in, n, sig, 63),
	    PC_ERR_VERIFY);
	sig[64] = 0;
	assert_int_equal(jws_verify_raw(k_ed, JOSE_ALG_EDDSA, in, n, sig, 65),
	    PC_ERR_VERIFY);
	assert_int_equal(ERR_peek_error(), 0);
}

/* Raw signing and verifying refuse a key that does not fit the alg. */
static void
test_jws_raw_key_alg_mismatch(void **state)
{
	static const uint8_t in[] = "a.b";
	uint8_t sig[JWS_SIG_MAX];
	size_t sig_len, n = sizeof(in) - 1;

	(void)state;
	assert_int_equal(
	    jws_sign_raw(k_rsa, JOSE_ALG_ES256, in, n, sig, &sig_len),
	    PC_ERR_INVALID);
	assert_int_equal(
	    jws_sign_raw(k_ec, JOSE_ALG_EDDSA, in, n, sig, &sig_len),
	    PC_ERR_INVALID);
	assert_int_equal(
	    jws_sign_raw(k_ed, JOSE_ALG_INVALID, in, n, sig, &sig_len),
	    PC_ERR_INVALID);
	assert_int_equal(
	    jws_sign_raw(k_ec, JOSE_ALG_ES256, in, n, sig, &sig_len), 0);
	assert_int_equal(
	    jws_verify_raw(k_rsa, JOSE_ALG_ES256, in, n, sig, sig_len),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    jws_verify_raw(k_ec2, JOSE_ALG_ES256, in, n, sig, sig_len),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    jws_verify_raw(NULL, JOSE_ALG_ES256, in, n, sig, sig_len),
	    PC_ERR_VERIFY);
	assert_int_equal(ERR_peek_error(), 0);
}

/* --- JW-06: typ ---------------------------------------------------- */

static void
test_jws_JW06_typ_required(void **state)
{
	static const struct {
		const char *typ; /* NULL: no "typ" member */
		int want;
	} c[] = {
		{ "at+jwt", 0 },
		{ "AT+JWT", 0 },
		{ "application/at+jwt", 0 },
		{ "Application/At+Jwt", 0 },
		{ NULL, PC_ERR_VERIFY },
		{ "", PC_ERR_VERIFY },
		{ "JWT", PC_ERR_VERIFY },
		{ "dpop+jwt", PC_ERR_VERIFY },
		{ "logout+jwt", PC_ERR_VERIFY },
		{ "at+jwt ", PC_ERR_VERIFY },
		{ "application/", PC_ERR_VERIFY },
		{ "text/at+jwt", PC_ERR_VERIFY },
		{ "application/application/at+jwt", PC_ERR_VERIFY },
	};
	struct jws_verify_opts o = opts_all;
	char hdr[128], *tok;
	size_t i;

	(void)state;
	o.typ = "at+jwt";
	for (i = 0; i < PC_NELEM(c); i++) {
		if (c[i].typ == NULL)
			snprintf(hdr, sizeof(hdr),
			    "{\"alg\":\"ES256\",\"kid\":\"ec1\"}");
		else
			snprintf(hdr, sizeof(hdr),
			    "{\"alg\":\"ES256\","
			    "\"kid\":\"ec1\",\"typ\":\"%s\"}",
			    c[i].typ);
		tok = make_token(hdr, "{}", k_ec, JOSE_ALG_ES256);
		assert_int_equal(verify(tok, &o), c[i].want);
		/* No requirement: any string typ passes. */
		assert_int_equal(verify(tok, &opts_all), 0);
		free(tok);
	}
	/* The expected value may carry the prefix too. */
	o.typ = "application/dpop+jwt";
	tok = make_token("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"typ\":"
			 "\"dpop+jwt\"}",
	    "{}", k_ec, JOSE_ALG_ES256);
	assert_int_equal(verify(tok, &o), 0);
	free(tok);
}

/* --- jose_json_parse ----------------------------------------------- */

static int
jp(const char *s, size_t n, size_t depth)
{
	json_t *j = (json_t *)&j;
	int r = jose_json_parse(s, n, depth, &j);

	if (r != 0)
		assert_null(j);
	json_decref(j);
	return r;
}

#define JP(s, d) jp((s), sizeof(s) - 1, (d))

static void
test_json_JW08_duplicates_rejected(void **state)
{
	(void)state;
	assert_int_equal(JP("{\"a\":1,\"a\":1}", 4), PC_ERR_DUPLICATE);
	assert_int_equal(JP("{\"a\":1,\"\\u0061\":2}", 4), PC_ERR_DUPLICATE);
	assert_int_equal(JP("{\"x\":{\"a\":1,\"a\":2}}", 4), PC_ERR_DUPLICATE);
	assert_int_equal(JP("[{\"a\":1,\"a\":2}]", 4), PC_ERR_DUPLICATE);
	assert_int_equal(JP("{\"a\":1,\"A\":1}", 4), 0);
	assert_int_equal(JP("[{\"a\":1},{\"a\":2}]", 4), 0);
}

static void
test_json_JW08_depth_cap(void **state)
{
	(void)state;
	assert_int_equal(JP("{}", 1), 0);
	assert_int_equal(JP("{}", 0), PC_ERR_TOO_LARGE);
	assert_int_equal(JP("[[[]]]", 3), 0);
	assert_int_equal(JP("[[[]]]", 2), PC_ERR_TOO_LARGE);
	assert_int_equal(JP("[[],[],[]]", 2), 0);
	assert_int_equal(JP("{\"a\":{\"b\":[1]}}", 3), 0);
	assert_int_equal(JP("{\"a\":{\"b\":[1]}}", 2), PC_ERR_TOO_LARGE);
	/* Brackets inside strings do not count, escapes included. */
	assert_int_equal(JP("{\"a\":\"[[[[{{{{\"}", 1), 0);
	assert_int_equal(JP("{\"a\":\"\\\"[[[[\"}", 1), 0);
	assert_int_equal(JP("{\"a\\\\\":[[1]]}", 2), PC_ERR_TOO_LARGE);
	assert_int_equal(JP("{\"a\\\\\":\"[[\"}", 1), 0);
}

static void
test_json_deep_input_refused_fast(void **state)
{
	size_t n = 1000000, i;
	char *s = malloc(n * 2);

	(void)state;
	assert_non_null(s);
	for (i = 0; i < n; i++) {
		s[i] = '[';
		s[n + i] = ']';
	}
	assert_int_equal(jp(s, n * 2, 64), PC_ERR_TOO_LARGE);
	free(s);
}

static void
test_json_JW08_strict(void **state)
{
	(void)state;
	assert_int_equal(JP("{\"a\":\"b\"}", 4), 0);
	assert_int_equal(JP("{\"a\":\"\xc3\xa9\"} \n", 4), 0);
	assert_int_equal(JP("[1,2]", 4), 0);
	assert_int_equal(jp("", 0, 4), PC_ERR_INVALID);
	assert_int_equal(jp(NULL, 0, 4), PC_ERR_INVALID);
	assert_int_equal(JP("1", 4), PC_ERR_INVALID);
	assert_int_equal(JP("\"a\"", 4), PC_ERR_INVALID);
	assert_int_equal(JP("null", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{} x", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{}\0", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{\"a\":\"\0\"}", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{\"a\":\"\\u0000\"}", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{\"a\":\"\\udc00\"}", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{\"a\":\"\xff\"}", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{\"a\":\"\xe0\x80\xaf\"}", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{\"a\":1,}", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{a:1}", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{\"a\":Infinity}", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{\"a\":1e999}", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{\"a\":99999999999999999999}", 4), PC_ERR_INVALID);
	assert_int_equal(JP("{\"a\":1} /* c */", 4), PC_ERR_INVALID);
}

/*
 * The prepared-context pool (issue 13): its signatures verify, every one
 * draws its own nonce (a reused context must not repeat k: two equal
 * signatures over different inputs would leak the key), and it serves
 * only P-256 keys for ES256.
 */
static void
test_jws_pool_es256_signs(void **state)
{
	struct jws_sign_pool *p = jws_sign_pool_new(k_ec, JOSE_ALG_ES256);
	uint8_t sig[4][JWS_SIG_MAX];
	size_t len;
	char in[32];

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < 4; i++) {
		snprintf(in, sizeof(in), "a.b%d", i % 2);
		len = 0;
		assert_int_equal(jws_sign_pool_sign(p, (const uint8_t *)in,
				     strlen(in), sig[i], &len),
		    0);
		assert_int_equal(len, 64);
		assert_int_equal(
		    jws_verify_raw(k_ec, JOSE_ALG_ES256, (const uint8_t *)in,
			strlen(in), sig[i], len),
		    0);
		/* Not a signature by another key, nor of another input. */
		assert_int_equal(
		    jws_verify_raw(k_ec2, JOSE_ALG_ES256, (const uint8_t *)in,
			strlen(in), sig[i], len),
		    PC_ERR_VERIFY);
		assert_int_equal(jws_verify_raw(k_ec, JOSE_ALG_ES256,
				     (const uint8_t *)"a.c", 3, sig[i], len),
		    PC_ERR_VERIFY);
	}
	/* Fresh R every time, even for the same input. */
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			assert_memory_not_equal(sig[i], sig[j], 32);
	jws_sign_pool_free(p);
	jws_sign_pool_free(NULL);
}

static void
test_jws_pool_other_keys_refused(void **state)
{
	uint8_t sig[JWS_SIG_MAX];
	size_t len = 1;

	(void)state;
	assert_null(jws_sign_pool_new(NULL, JOSE_ALG_ES256));
	assert_null(jws_sign_pool_new(k_rsa, JOSE_ALG_ES256));
	assert_null(jws_sign_pool_new(k_ed, JOSE_ALG_ES256));
	assert_null(jws_sign_pool_new(k_ec, JOSE_ALG_RS256));
	assert_null(jws_sign_pool_new(k_rsa, JOSE_ALG_RS256));
	assert_null(jws_sign_pool_new(k_ed, JOSE_ALG_EDDSA));
	assert_int_not_equal(
	    jws_sign_pool_sign(NULL, (const uint8_t *)"a.b", 3, sig, &len), 0);
	assert_int_equal(len, 0);
}

#define POOL_THREADS 4
#define POOL_ROUNDS 25

struct pool_run {
	struct jws_sign_pool *p;
	int id, bad;
};

static void *
pool_worker(void *arg)
{
	struct pool_run *w = arg;
	uint8_t sig[JWS_SIG_MAX];
	size_t len;
	char in[64];

	for (int i = 0; i < POOL_ROUNDS; i++) {
		snprintf(in, sizeof(in), "t%d.r%d", w->id, i);
		if (jws_sign_pool_sign(w->p, (const uint8_t *)in, strlen(in),
			sig, &len) != 0 ||
		    jws_verify_raw(k_ec, JOSE_ALG_ES256, (const uint8_t *)in,
			strlen(in), sig, len) != 0)
			w->bad++;
	}
	return NULL;
}

/* Threads share one pool: no context is in two signatures at once. */
static void
test_jws_pool_threads(void **state)
{
	struct jws_sign_pool *p = jws_sign_pool_new(k_ec, JOSE_ALG_ES256);
	struct pool_run w[POOL_THREADS];
	pthread_t t[POOL_THREADS];

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < POOL_THREADS; i++) {
		w[i] = (struct pool_run){ p, i, 0 };
		assert_int_equal(
		    pthread_create(&t[i], NULL, pool_worker, &w[i]), 0);
	}
	for (int i = 0; i < POOL_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
	jws_sign_pool_free(p);
}

/*
 * The JSON writer (issue 13) writes what jansson's compact dump writes,
 * byte for byte, for strings that try to end the value early, and refuses
 * what json_string() refuses (not UTF-8).
 */
static void
test_json_writer_as_jansson(void **state)
{
	static const char *const vals[] = {
		"",
		"plain",
		"a\"b",
		"\\",
		"x\",\"admin\":true,\"y\":\"",
		"\n\r\t\b\f\x01\x1f\x7f",
		"</script>",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
	};
	static const char *const bad[] = { "\xff", "\xc0\xaf", "\xe2\x82",
		"\xed\xa0\x80", "a\x80" };
	static const int64_t ints[] = { 0, 1, -1, 300, INT64_MAX, INT64_MIN };
	struct buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		json_t *o = json_pack("{s:s}", "k", vals[i]);
		char *want = json_dumps(o, JSON_COMPACT);

		buf_init(&b, 1024);
		assert_int_equal(buf_putc(&b, '{'), 0);
		assert_int_equal(jose_json_put_member(&b, true, "k"), 0);
		assert_int_equal(
		    jose_json_put_str(&b, vals[i], strlen(vals[i])), 0);
		assert_int_equal(buf_putc(&b, '}'), 0);
		assert_string_equal(buf_cstr(&b), want);
		free(want);
		json_decref(o);
		buf_free(&b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(json_string(bad[i]));
		buf_init(&b, 1024);
		assert_int_equal(jose_json_put_str(&b, bad[i], strlen(bad[i])),
		    PC_ERR_INVALID);
		buf_free(&b);
	}
	/* An embedded NUL (from a length, not strlen) is escaped. */
	buf_init(&b, 1024);
	assert_int_equal(jose_json_put_str(&b, "a\0b", 3), 0);
	assert_string_equal(buf_cstr(&b), "\"a\\u0000b\"");
	buf_free(&b);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		char want[32];

		snprintf(want, sizeof(want), "%" PRId64, ints[i]);
		buf_init(&b, 64);
		assert_int_equal(jose_json_put_int(&b, ints[i]), 0);
		assert_string_equal(buf_cstr(&b), want);
		buf_free(&b);
	}
	/* The cap holds: a value past the buffer's maximum is refused. */
	buf_init(&b, 8);
	assert_int_equal(
	    jose_json_put_str(&b, "0123456789", 10), PC_ERR_TOO_LARGE);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jws_rfc7515_a2_rs256_sign_exact),
		cmocka_unit_test(test_jws_rfc7515_a2_rs256_verify),
		cmocka_unit_test(test_jws_rfc7515_a3_es256_verify),
		cmocka_unit_test(test_jws_JW02_rfc7515_a1_hs256_rejected),
		cmocka_unit_test(test_jws_rfc8037_a4_eddsa_sign_exact),
		cmocka_unit_test(test_jws_roundtrip_all_algs),
		cmocka_unit_test(test_jws_sign_compact_header_shape),
		cmocka_unit_test(test_jws_sign_compact_errors),
		cmocka_unit_test(test_jws_JW01_alg_none_rejected),
		cmocka_unit_test(test_jws_JW01_alg_not_a_string_rejected),
		cmocka_unit_test(test_jws_JW02_hs256_rsa_pubkey_rejected),
		cmocka_unit_test(test_jws_JW02_rs256_ps256_confusion_rejected),
		cmocka_unit_test(test_jws_JW02_alg_outside_context_rejected),
		cmocka_unit_test(test_jws_JW03_kid_injection_rejected),
		cmocka_unit_test(test_jws_JW03_long_kid_rejected),
		cmocka_unit_test(test_jws_JW03_kid_not_a_string_rejected),
		cmocka_unit_test(test_jws_JW03_unknown_kid_rejected),
		cmocka_unit_test(test_jws_JW03_kid_absent_needs_single_key),
		cmocka_unit_test(test_jws_JW03_duplicate_kid),
		cmocka_unit_test(test_jws_JW03_embedded_key_headers_rejected),
		cmocka_unit_test(test_jws_JW07_tampered_payload_rejected),
		cmocka_unit_test(test_jws_JW07_tampered_header_rejected),
		cmocka_unit_test(test_jws_JW07_tampered_signature_rejected),
		cmocka_unit_test(test_jws_JW07_jwe_rejected),
		cmocka_unit_test(test_jws_JW07_nested_jwt_payload_rejected),
		cmocka_unit_test(test_jws_JW08_duplicate_header_rejected),
		cmocka_unit_test(test_jws_JW08_duplicate_claim_rejected),
		cmocka_unit_test(test_jws_JW08_json_serialization_rejected),
		cmocka_unit_test(test_jws_JW08_segment_count_rejected),
		cmocka_unit_test(test_jws_JW08_padding_stray_rejected),
		cmocka_unit_test(test_jws_JW08_oversize_rejected),
		cmocka_unit_test(test_jws_JW08_deep_nesting_rejected),
		cmocka_unit_test(test_jws_JW08_malformed_json_rejected),
		cmocka_unit_test(test_jws_JW08_header_typ_not_string_rejected),
		cmocka_unit_test(test_jws_es256_signature_length_rejected),
		cmocka_unit_test(test_jws_rsa_eddsa_signature_length_rejected),
		cmocka_unit_test(test_jws_raw_key_alg_mismatch),
		cmocka_unit_test(test_jws_JW06_typ_required),
		cmocka_unit_test(test_json_JW08_duplicates_rejected),
		cmocka_unit_test(test_json_JW08_depth_cap),
		cmocka_unit_test(test_json_deep_input_refused_fast),
		cmocka_unit_test(test_json_JW08_strict),
		cmocka_unit_test(test_jws_pool_es256_signs),
		cmocka_unit_test(test_jws_pool_other_keys_refused),
		cmocka_unit_test(test_jws_pool_threads),
		cmocka_unit_test(test_json_writer_as_jansson),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
