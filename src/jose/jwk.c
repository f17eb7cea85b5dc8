/*
 * JWK (RFC 7517, 7518 §6, 8037) and thumbprints (RFC 7638), public keys
 * only. jwk_from_pkey reads nothing but public parameters, so a JWKS built
 * with it cannot leak d, p, q, dp, dq or qi even when handed a private key
 * (SECURITY.md JW-09). jwk_to_pkey refuses weak or malformed keys: RSA
 * under 2048 bits, EC points off the curve, small-order Ed25519 points.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include "jose/jose.h"

#define JWK_RSA_MIN_BITS 2048
/* A cap on verification cost; signatures stay within JWS_SIG_MAX. */
#define JWK_RSA_MAX_BITS 8192
#define JWK_RSA_N_MAX (JWK_RSA_MAX_BITS / 8)
/* e < 2^256 (SP 800-56B). */
#define JWK_RSA_E_MAX 32
#define JWK_P256_LEN 32
#define JWK_ED25519_LEN 32
#define JWK_THUMB_MAX 2048

static const struct {
	enum jose_alg alg;
	const char *name;
} alg_names[] = {
	{ JOSE_ALG_ES256, "ES256" },
	{ JOSE_ALG_RS256, "RS256" },
	{ JOSE_ALG_PS256, "PS256" },
	{ JOSE_ALG_EDDSA, "EdDSA" },
};

/* Public members of a key, base64url-encoded. */
struct jwk_pub {
	const char *kty;
	const char *crv;		   /* EC and OKP */
	char x[JWK_P256_LEN * 2];	   /* EC and OKP */
	char y[JWK_P256_LEN * 2];	   /* EC */
	char n[JWK_RSA_N_MAX / 3 * 4 + 4]; /* RSA */
	char e[JWK_RSA_E_MAX * 2];	   /* RSA */
};

const char *
jose_alg_name(enum jose_alg alg)
{
	size_t i;

	for (i = 0; i < PC_NELEM(alg_names); i++)
		if (alg_names[i].alg == alg)
			return alg_names[i].name;
	return NULL;
}

enum jose_alg
jose_alg_parse(const char *s, size_t n)
{
	size_t i;

	if (s == NULL)
		return JOSE_ALG_INVALID;
	for (i = 0; i < PC_NELEM(alg_names); i++) {
		if (strlen(alg_names[i].name) == n &&
		    memcmp(alg_names[i].name, s, n) == 0)
			return alg_names[i].alg;
	}
	return JOSE_ALG_INVALID;
}

static bool
is_p256(EVP_PKEY *pkey)
{
	char name[64];
	size_t len = 0;

	if (!EVP_PKEY_is_a(pkey, "EC"))
		return false;
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
		name, sizeof(name), &len) != 1) {
		ERR_clear_error();
		return false;
	}
	return len == strlen(SN_X9_62_prime256v1) &&
	    strcmp(name, SN_X9_62_prime256v1) == 0;
}

static bool
is_rsa(EVP_PKEY *pkey)
{
	int bits;

	/* Plain RSA only: an "RSA-PSS" key carries its own restrictions. */
	if (!EVP_PKEY_is_a(pkey, "RSA"))
		return false;
	bits = EVP_PKEY_get_bits(pkey);
	return bits >= JWK_RSA_MIN_BITS && bits <= JWK_RSA_MAX_BITS;
}

bool
jose_alg_key_ok(enum jose_alg alg, EVP_PKEY *pkey)
{
	if (pkey == NULL)
		return false;
	switch (alg) {
	case JOSE_ALG_ES256: return is_p256(pkey);
	case JOSE_ALG_RS256:
	case JOSE_ALG_PS256: return is_rsa(pkey);
	case JOSE_ALG_EDDSA: return EVP_PKEY_is_a(pkey, "ED25519") == 1;
	case JOSE_ALG_INVALID:
	default: return false;
	}
}

/*
 * A BIGNUM parameter of pkey in base64url: left-padded to fixed bytes, or
 * minimal (Base64urlUInt, RFC 7518 §2) and at most max bytes if fixed is 0.
 */
static int
bn_param_b64(
    EVP_PKEY *pkey, const char *param, size_t fixed, size_t max, char *out)
{
	uint8_t b[JWK_RSA_N_MAX];
	BIGNUM *bn = NULL;
	int len, r = PC_ERR_INVALID;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		goto out;
	if (fixed != 0) {
		if (fixed > sizeof(b) ||
		    BN_bn2binpad(bn, b, (int)fixed) != (int)fixed)
			goto out;
		len = (int)fixed;
	} else {
		len = BN_num_bytes(bn);
		if (len <= 0 || (size_t)len > max || (size_t)len > sizeof(b))
			goto out;
		if (BN_bn2bin(bn, b) != len)
			goto out;
	}
	b64url_encode(b, (size_t)len, out);
	r = 0;
out:
	BN_free(bn);
	return r;
}

/* The public members of pkey; any other key type is unsupported. */
static int
pub_get(EVP_PKEY *pkey, struct jwk_pub *p)
{
	uint8_t raw[JWK_ED25519_LEN];
	size_t len = sizeof(raw);
	int r = PC_ERR_UNSUPPORTED;

	memset(p, 0, sizeof(*p));
	if (is_p256(pkey)) {
		p->kty = "EC";
		p->crv = "P-256";
		/* Fixed length (RFC 7518 §6.2.1.2): leading zeros kept. */
		if ((r = bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_X,
			 JWK_P256_LEN, 0, p->x)) != 0 ||
		    (r = bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
			 JWK_P256_LEN, 0, p->y)) != 0)
			goto out;
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		if (EVP_PKEY_get_bits(pkey) > JWK_RSA_MAX_BITS)
			goto out;
		p->kty = "RSA";
		if ((r = bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N, 0,
			 JWK_RSA_N_MAX, p->n)) != 0 ||
		    (r = bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_E, 0,
			 JWK_RSA_E_MAX, p->e)) != 0)
			goto out;
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		p->kty = "OKP";
		p->crv = "Ed25519";
		r = PC_ERR_INVALID;
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 ||
		    len != sizeof(raw))
			goto out;
		b64url_encode(raw, len, p->x);
	} else {
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		ERR_clear_error();
	return r;
}

int
jwk_from_pkey(EVP_PKEY *pkey, enum jose_alg alg, const char *kid, json_t **out)
{
	struct jwk_pub p;
	json_t *jwk = NULL;
	int r = PC_ERR_INVALID, bad = 0;

	*out = NULL;
	if (!jose_alg_key_ok(alg, pkey))
		goto out;
	if ((r = pub_get(pkey, &p)) != 0)
		goto out;
	r = PC_ERR_INVALID;
	if ((jwk = json_object()) == NULL) {
		r = PC_ERR_INTERNAL;
		goto out;
	}
	bad |= json_object_set_new(jwk, "kty", json_string(p.kty));
	if (p.crv != NULL)
		bad |= json_object_set_new(jwk, "crv", json_string(p.crv));
	if (strcmp(p.kty, "RSA") == 0) {
		bad |= json_object_set_new(jwk, "n", json_string(p.n));
		bad |= json_object_set_new(jwk, "e", json_string(p.e));
	} else {
		bad |= json_object_set_new(jwk, "x", json_string(p.x));
		if (p.y[0] != '\0')
			bad |= json_object_set_new(jwk, "y", json_string(p.y));
	}
	/* json_string() refuses a kid that is not UTF-8. */
	if (kid != NULL)
		bad |= json_object_set_new(jwk, "kid", json_string(kid));
	bad |= json_object_set_new(jwk, "alg", json_string(jose_alg_name(alg)));
	bad |= json_object_set_new(jwk, "use", json_string("sig"));
	if (bad != 0)
		goto out;
	*out = jwk;
	jwk = NULL;
	r = 0;
out:
	json_decref(jwk);
	return r;
}

int
jwk_thumbprint(EVP_PKEY *pkey, char out[44])
{
	struct jwk_pub p;
	struct buf b;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int r = PC_ERR_INVALID;

	buf_init(&b, JWK_THUMB_MAX);
	out[0] = '\0';
	if (pkey == NULL)
		goto out;
	if ((r = pub_get(pkey, &p)) != 0)
		goto out;
	/* RFC 7638 §3.2: required members only, sorted, no whitespace. */
	if (strcmp(p.kty, "EC") == 0) {
		r = buf_printf(&b,
		    "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		    p.crv, p.x, p.y);
	} else if (strcmp(p.kty, "RSA") == 0) {
		r = buf_printf(&b,
		    "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", p.e, p.n);
	} else {
		r = buf_printf(&b,
		    "{\"crv\":\"%s\",\"kty\":\"OKP\",\"x\":\"%s\"}", p.crv,
		    p.x);
	}
	if (r != 0)
		goto out;
	r = PC_ERR_CRYPTO;
	if (EVP_Digest(b.p, b.len, md, &md_len, EVP_sha256(), NULL) != 1 ||
	    md_len != PC_SHA256_LEN)
		goto out;
	b64url_encode(md, md_len, out);
	r = 0;
out:
	if (r != 0)
		ERR_clear_error();
	buf_free(&b);
	return r;
}

/* Whether member name of jwk is absent, or the string want exactly. */
static bool
member_absent_or(const json_t *jwk, const char *name, const char *want)
{
	const json_t *v = json_object_get(jwk, name);

	if (v == NULL)
		return true;
	return json_is_string(v) && json_string_length(v) == strlen(want) &&
	    memcmp(json_string_value(v), want, strlen(want)) == 0;
}

/* Whether member name of jwk is the string want exactly. */
static bool
member_is(const json_t *jwk, const char *name, const char *want)
{
	return json_object_get(jwk, name) != NULL &&
	    member_absent_or(jwk, name, want);
}

/* Strict base64url of a string member, at most cap bytes. */
static int
member_b64(
    const json_t *jwk, const char *name, uint8_t *b, size_t cap, size_t *len)
{
	const json_t *v = json_object_get(jwk, name);

	*len = 0;
	if (!json_is_string(v))
		return PC_ERR_INVALID;
	if (b64url_decode(
		json_string_value(v), json_string_length(v), b, cap, len) != 0)
		return PC_ERR_INVALID;
	return 0;
}

/* A public key of type from the parameters in bld, fully checked. */
static int
pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *cctx = NULL;
	EVP_PKEY *pkey = NULL;
	int r = PC_ERR_INTERNAL;

	*out = NULL;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1)
		goto out;
	r = PC_ERR_INVALID;
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	/*
	 * EC: on the curve and not infinity; P-256 has prime order (cofactor
	 * 1), so every such point has the right order, and the full check's
	 * scalar multiplication by the order (as dear as half a signature
	 * check, on every DPoP proof) proves nothing more. RSA: SP 800-56B.
	 */
	if ((cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    (strcmp(type, "EC") == 0 ? EVP_PKEY_public_check_quick(cctx)
				     : EVP_PKEY_public_check(cctx)) != 1)
		goto out;
	*out = pkey;
	pkey = NULL;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return r;
}

static int
ec_from_jwk(const json_t *jwk, EVP_PKEY **out)
{
	uint8_t pt[1 + 2 * JWK_P256_LEN];
	OSSL_PARAM_BLD *bld = NULL;
	size_t len;
	int r = PC_ERR_INVALID;

	if (!member_is(jwk, "kty", "EC") || !member_is(jwk, "crv", "P-256"))
		goto out;
	/* Uncompressed point; x and y are exactly 32 bytes each. */
	pt[0] = 0x04;
	if (member_b64(jwk, "x", pt + 1, JWK_P256_LEN, &len) != 0 ||
	    len != JWK_P256_LEN ||
	    member_b64(jwk, "y", pt + 1 + JWK_P256_LEN, JWK_P256_LEN, &len) !=
		0 ||
	    len != JWK_P256_LEN)
		goto out;
	r = PC_ERR_INTERNAL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(
		bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(
		bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) != 1)
		goto out;
	r = pkey_fromdata("EC", bld, out);
out:
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static int
rsa_from_jwk(const json_t *jwk, EVP_PKEY **out)
{
	uint8_t nb[JWK_RSA_N_MAX], eb[JWK_RSA_E_MAX];
	size_t n_len, e_len;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	int r = PC_ERR_INVALID;

	if (!member_is(jwk, "kty", "RSA"))
		goto out;
	/* Base64urlUInt (RFC 7518 §2): no leading zero octet. */
	if (member_b64(jwk, "n", nb, sizeof(nb), &n_len) != 0 || n_len == 0 ||
	    nb[0] == 0 || member_b64(jwk, "e", eb, sizeof(eb), &e_len) != 0 ||
	    e_len == 0 || eb[0] == 0)
		goto out;
	r = PC_ERR_INTERNAL;
	if ((n = BN_bin2bn(nb, (int)n_len, NULL)) == NULL ||
	    (e = BN_bin2bn(eb, (int)e_len, NULL)) == NULL)
		goto out;
	/*
	 * SP 800-56B §6.4.2.2 bounds, which OpenSSL outside FIPS mode does
	 * not apply: odd 2^16 < e < 2^256 (the length cap gives the top).
	 */
	r = PC_ERR_INVALID;
	if (BN_num_bits(n) < JWK_RSA_MIN_BITS ||
	    BN_num_bits(n) > JWK_RSA_MAX_BITS || !BN_is_odd(e) ||
	    BN_num_bits(e) <= 16)
		goto out;
	r = PC_ERR_INTERNAL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
		goto out;
	r = pkey_fromdata("RSA", bld, out);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return r;
}

static int
ed25519_from_jwk(const json_t *jwk, EVP_PKEY **out)
{
	uint8_t x[JWK_ED25519_LEN];
	OSSL_PARAM_BLD *bld = NULL;
	size_t len;
	int r = PC_ERR_INVALID;

	if (!member_is(jwk, "kty", "OKP") || !member_is(jwk, "crv", "Ed25519"))
		goto out;
	if (member_b64(jwk, "x", x, sizeof(x), &len) != 0 || len != sizeof(x))
		goto out;
	/* Canonical, on the curve, in the prime-order subgroup. */
	if (crypto_core_ed25519_is_valid_point(x) != 1)
		goto out;
	r = PC_ERR_INTERNAL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_octet_string(
		bld, OSSL_PKEY_PARAM_PUB_KEY, x, sizeof(x)) != 1)
		goto out;
	r = pkey_fromdata("ED25519", bld, out);
out:
	OSSL_PARAM_BLD_free(bld);
	return r;
}

int
jwk_to_pkey(const json_t *jwk, enum jose_alg alg, EVP_PKEY **out)
{
	EVP_PKEY *pkey = NULL;
	int r = PC_ERR_INVALID;

	*out = NULL;
	if (!json_is_object(jwk) || jose_alg_name(alg) == NULL)
		goto out;
	/* "alg" and "use", when given, must fit (RFC 7517 §4.2, §4.4). */
	if (!member_absent_or(jwk, "alg", jose_alg_name(alg)) ||
	    !member_absent_or(jwk, "use", "sig"))
		goto out;
	switch (alg) {
	case JOSE_ALG_ES256: r = ec_from_jwk(jwk, &pkey); break;
	case JOSE_ALG_RS256:
	case JOSE_ALG_PS256: r = rsa_from_jwk(jwk, &pkey); break;
	case JOSE_ALG_EDDSA: r = ed25519_from_jwk(jwk, &pkey); break;
	case JOSE_ALG_INVALID:
	default: r = PC_ERR_INVALID; break;
	}
	if (r != 0)
		goto out;
	r = PC_ERR_INVALID;
	if (!jose_alg_key_ok(alg, pkey))
		goto out;
	*out = pkey;
	pkey = NULL;
	r = 0;
out:
	if (r != 0)
		ERR_clear_error();
	EVP_PKEY_free(pkey);
	return r;
}
