/*
 * Unit tests for auth/webauthn.c (SECURITY.md WA-01, WA-02, WA-04, WA-06):
 * real authenticator responses made in the test by the software
 * authenticator tests/tools/wa_soft.c (OpenSSL keys: ES256, Ed25519,
 * RS256; attestation none, packed self, packed with an x5c certificate,
 * fido-u2f), accepted when right and refused for every way they can be
 * wrong: origin, type, challenge, rpIdHash, UP, UV, signature, algorithm,
 * malformed or truncated CBOR, trailing bytes, oversized credential ids,
 * weak RSA keys.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "auth/webauthn.h"
#include "auth/webauthn_int.h"
#include "tests/tools/wa_soft.h"

#define RP_ID "login.example.com"
#define ORIGIN "https://login.example.com"
#define F_UP 0x01
#define F_UV 0x04
#define F_BE 0x08
#define F_BS 0x10

static const struct wa_rp rp = { RP_ID, ORIGIN };
static const uint8_t aaguid[16] = { 0xad, 0xce, 0x00, 0x02, 0x35, 0xbc, 0xc6,
	0x0a, 0x64, 0x8b, 0x0b, 0x25, 0xf1, 0xf0, 0x55, 0x03 };

/* One registration: what the test tampers with before it is built. */
struct reg {
	int alg, rsa_bits;
	const char *fmt;  /* "none", "packed", "packed-x5c", "fido-u2f" */
	const char *type; /* clientData type */
	const char *origin;
	const char *extra; /* more clientData members */
	const char *rp_id; /* for rpIdHash */
	uint8_t flags;
	size_t cred_id_len;
	bool uv_required;
	bool cert_ca;
	const char *att_curve; /* an EC attestation key on another curve */
	const uint8_t *cert_aaguid;
	const struct wa_bytes *ext;
	uint8_t challenge[32];	    /* what the client signed */
	uint8_t want_challenge[32]; /* what the server expects */
	/* built */
	struct wa_soft_key key, att;
	struct wa_bytes cose, auth_data, att_obj;
	char *client_data;
	X509 *cert;
};

static void
reg_init(struct reg *g, int alg, const char *fmt)
{
	memset(g, 0, sizeof(*g));
	g->alg = alg;
	g->fmt = fmt;
	g->type = "webauthn.create";
	g->origin = ORIGIN;
	g->rp_id = RP_ID;
	g->flags = F_UP | F_UV;
	g->cred_id_len = 16;
	randombytes_buf(g->challenge, sizeof(g->challenge));
	memcpy(g->want_challenge, g->challenge, sizeof(g->challenge));
}

static void
reg_build(struct reg *g)
{
	uint8_t cred_id[1100];
	const char *fmt = g->fmt;

	randombytes_buf(cred_id, sizeof(cred_id));
	assert_int_equal(wa_soft_key_new(g->alg, g->rsa_bits, &g->key), 0);
	assert_int_equal(wa_soft_cose(&g->key, &g->cose), 0);
	g->client_data =
	    wa_soft_client_data(g->type, g->challenge, g->origin, g->extra);
	assert_non_null(g->client_data);
	assert_int_equal(
	    wa_soft_auth_data(g->rp_id, g->flags, 7, aaguid, cred_id,
		g->cred_id_len, &g->cose, g->ext, &g->auth_data),
	    0);
	if (strcmp(fmt, "packed-x5c") == 0 || strcmp(fmt, "fido-u2f") == 0 ||
	    strcmp(fmt, "tpm") == 0) {
		assert_int_equal(
		    wa_soft_key_new(strcmp(fmt, "tpm") == 0 ? WA_COSE_ALG_RS256
							    : WA_COSE_ALG_ES256,
			0, &g->att),
		    0);
		if (g->att_curve != NULL) {
			EVP_PKEY_free(g->att.pk);
			g->att.pk =
			    EVP_PKEY_Q_keygen(NULL, NULL, "EC", g->att_curve);
			assert_non_null(g->att.pk);
		}
		g->cert = wa_soft_att_cert(&g->att, g->cert_aaguid, g->cert_ca);
		assert_non_null(g->cert);
		if (strcmp(fmt, "packed-x5c") == 0)
			fmt = "packed";
	}
	assert_int_equal(
	    wa_soft_att_obj(fmt, &g->auth_data, g->client_data, &g->key,
		g->att.pk != NULL ? &g->att : NULL, g->cert, &g->att_obj),
	    0);
}

static int
reg_verify(struct reg *g, struct wa_new_cred *out)
{
	return wa_register_verify(&rp, g->want_challenge,
	    (const uint8_t *)g->client_data, strlen(g->client_data),
	    g->att_obj.p, g->att_obj.n, g->uv_required, out);
}

/* Verify and drop the result; 0 or the error. */
static int
reg_run(struct reg *g)
{
	struct wa_new_cred c;
	int r = reg_verify(g, &c);

	wa_new_cred_clear(&c);
	return r;
}

static void
reg_free(struct reg *g)
{
	wa_soft_key_free(&g->key);
	wa_soft_key_free(&g->att);
	wa_bytes_free(&g->cose);
	wa_bytes_free(&g->auth_data);
	wa_bytes_free(&g->att_obj);
	free(g->client_data);
	X509_free(g->cert);
}

/* One assertion with a registered key. */
struct asr {
	const char *type, *origin, *rp_id, *extra;
	uint8_t flags;
	uint32_t counter;
	bool uv_required;
	uint8_t challenge[32], want_challenge[32];
	char *client_data;
	struct wa_bytes auth_data, sig;
};

static void
asr_init(struct asr *a)
{
	memset(a, 0, sizeof(*a));
	a->type = "webauthn.get";
	a->origin = ORIGIN;
	a->rp_id = RP_ID;
	a->flags = F_UP | F_UV;
	a->counter = 8;
	randombytes_buf(a->challenge, sizeof(a->challenge));
	memcpy(a->want_challenge, a->challenge, sizeof(a->challenge));
}

static void
asr_build(struct asr *a, const struct wa_soft_key *k)
{
	a->client_data =
	    wa_soft_client_data(a->type, a->challenge, a->origin, a->extra);
	assert_non_null(a->client_data);
	assert_int_equal(wa_soft_auth_data(a->rp_id, a->flags, a->counter, NULL,
			     NULL, 0, NULL, NULL, &a->auth_data),
	    0);
	assert_int_equal(
	    wa_soft_sign_assertion(k, &a->auth_data, a->client_data, &a->sig),
	    0);
}

static int
asr_verify(struct asr *a, int alg, const struct wa_bytes *cose,
    struct wa_assertion *out)
{
	return wa_assert_verify(&rp, a->want_challenge,
	    (const uint8_t *)a->client_data, strlen(a->client_data),
	    a->auth_data.p, a->auth_data.n, a->sig.p, a->sig.n, alg, cose->p,
	    cose->n, a->uv_required, out);
}

static int
asr_run(struct asr *a, const struct reg *g)
{
	struct wa_assertion out;

	return asr_verify(a, g->alg, &g->cose, &out);
}

static void
asr_free(struct asr *a)
{
	free(a->client_data);
	wa_bytes_free(&a->auth_data);
	wa_bytes_free(&a->sig);
}

/* ---- accepted ceremonies ---- */

static void
ceremony_ok(int alg, const char *fmt, bool want_verified)
{
	struct wa_new_cred c;
	struct wa_assertion out;
	struct reg g;
	struct asr a;

	reg_init(&g, alg, fmt);
	g.flags = F_UP | F_UV | F_BE | F_BS;
	reg_build(&g);
	assert_int_equal(reg_verify(&g, &c), 0);
	assert_int_equal(c.alg, alg);
	assert_int_equal(c.cred_id_len, 16);
	assert_int_equal(c.cose_key_len, g.cose.n);
	assert_memory_equal(c.cose_key, g.cose.p, g.cose.n);
	assert_memory_equal(c.aaguid, aaguid, 16);
	assert_int_equal(c.sign_count, 7);
	assert_true(c.up && c.uv && c.be && c.bs);
	assert_string_equal(
	    c.fmt, strcmp(fmt, "packed-x5c") == 0 ? "packed" : fmt);
	assert_int_equal(c.attestation_verified, want_verified);

	/* Sign in with what the registration stored. */
	asr_init(&a);
	a.flags = F_UP;
	asr_build(&a, &g.key);
	assert_int_equal(
	    wa_assert_verify(&rp, a.want_challenge,
		(const uint8_t *)a.client_data, strlen(a.client_data),
		a.auth_data.p, a.auth_data.n, a.sig.p, a.sig.n, c.alg,
		c.cose_key, c.cose_key_len, false, &out),
	    0);
	assert_int_equal(out.sign_count, 8);
	assert_true(out.up);
	assert_false(out.uv);
	wa_new_cred_clear(&c);
	asr_free(&a);
	reg_free(&g);
}

static void
test_wa06_es256_none(void **state)
{
	(void)state;
	ceremony_ok(WA_COSE_ALG_ES256, "none", false);
}

static void
test_wa06_eddsa_none(void **state)
{
	(void)state;
	ceremony_ok(WA_COSE_ALG_EDDSA, "none", false);
}

static void
test_wa06_rs256_none(void **state)
{
	(void)state;
	ceremony_ok(WA_COSE_ALG_RS256, "none", false);
}

static void
test_wa06_packed_self(void **state)
{
	(void)state;
	ceremony_ok(WA_COSE_ALG_ES256, "packed", true);
	ceremony_ok(WA_COSE_ALG_EDDSA, "packed", true);
	ceremony_ok(WA_COSE_ALG_RS256, "packed", true);
}

static void
test_wa06_packed_x5c(void **state)
{
	(void)state;
	ceremony_ok(WA_COSE_ALG_ES256, "packed-x5c", true);
	ceremony_ok(WA_COSE_ALG_EDDSA, "packed-x5c", true);
}

static void
test_wa06_fido_u2f(void **state)
{
	struct reg g;

	(void)state;
	ceremony_ok(WA_COSE_ALG_ES256, "fido-u2f", true);
	/* U2F attestation keys are P-256; a P-384 one is not U2F. */
	reg_init(&g, WA_COSE_ALG_ES256, "fido-u2f");
	g.att_curve = "P-384";
	reg_build(&g);
	assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
	reg_free(&g);
}

/* tpm as Windows Hello sends it (RS256 key, RS1 certInfo signature). */
static void
test_wa06_tpm(void **state)
{
	struct reg g;
	uint8_t *p;

	(void)state;
	/* The statement comes in Windows' member order, not CTAP2's. */
	ceremony_ok(WA_COSE_ALG_RS256, "tpm", true);
	/* Only TPM 2.0 statements. */
	reg_init(&g, WA_COSE_ALG_RS256, "tpm");
	reg_build(&g);
	assert_int_equal(reg_run(&g), 0);
	p = memmem(g.att_obj.p, g.att_obj.n,
	    "\x63"
	    "2.0",
	    4);
	assert_non_null(p);
	p[1] = '1';
	assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
	reg_free(&g);
}

/*
 * Extensions in authData (authenticators add credProtect on their own,
 * hmac-secret when asked, others we do not know): still verify, with
 * and without an attestation signature.
 */
static void
test_wa06_extensions_in_auth_data(void **state)
{
	static const uint8_t cp[] = { 0xa1, 0x6b, 'c', 'r', 'e', 'd', 'P', 'r',
		'o', 't', 'e', 'c', 't', 0x02 };
	static const uint8_t cp_hs[] = { 0xa2, 0x6b, 'c', 'r', 'e', 'd', 'P',
		'r', 'o', 't', 'e', 'c', 't', 0x02, 0x6b, 'h', 'm', 'a', 'c',
		'-', 's', 'e', 'c', 'r', 'e', 't', 0xf5 };
	static const uint8_t unknown[] = { 0xa1, 0x63, 'x', 'y', 'z', 0xf5 };
	static const struct wa_bytes exts[] = {
		{ (uint8_t *)cp, sizeof(cp) },
		{ (uint8_t *)cp_hs, sizeof(cp_hs) },
		{ (uint8_t *)unknown, sizeof(unknown) },
	};
	static const char *fmts[] = { "none", "packed" };
	struct reg g;
	size_t i, j;

	(void)state;
	for (i = 0; i < PC_NELEM(exts); i++) {
		for (j = 0; j < PC_NELEM(fmts); j++) {
			reg_init(&g, WA_COSE_ALG_ES256, fmts[j]);
			g.ext = &exts[i];
			reg_build(&g);
			assert_int_equal(reg_run(&g), 0);
			reg_free(&g);
		}
	}
}

/* ---- WA-01: phishing relay, wrong RP ---- */

static void
test_wa01_register_wrong_origin(void **state)
{
	static const char *bad[] = { "https://login.example.com.evil.test",
		"https://evil.test", "http://login.example.com",
		"https://login.example.com:8443", "https://login.example.com/",
		"https://LOGIN.example.com" };
	struct reg g;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reg_init(&g, WA_COSE_ALG_ES256, "none");
		g.origin = bad[i];
		reg_build(&g);
		assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
		reg_free(&g);
	}
}

static void
test_wa01_assert_wrong_origin(void **state)
{
	struct reg g;
	struct asr a;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	reg_build(&g);
	asr_init(&a);
	a.origin = "https://evil.test";
	asr_build(&a, &g.key);
	assert_int_equal(asr_run(&a, &g), PC_ERR_VERIFY);
	asr_free(&a);
	reg_free(&g);
}

static void
test_wa01_wrong_type(void **state)
{
	struct reg g;
	struct asr a;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	g.type = "webauthn.get";
	reg_build(&g);
	assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
	asr_init(&a);
	a.type = "webauthn.create";
	asr_build(&a, &g.key);
	assert_int_equal(asr_run(&a, &g), PC_ERR_VERIFY);
	asr_free(&a);
	reg_free(&g);
}

static void
test_wa01_wrong_rp_id_hash(void **state)
{
	struct reg g;
	struct asr a;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	g.rp_id = "example.com";
	reg_build(&g);
	assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
	asr_init(&a);
	a.rp_id = "evil.test";
	asr_build(&a, &g.key);
	assert_int_equal(asr_run(&a, &g), PC_ERR_VERIFY);
	asr_free(&a);
	reg_free(&g);
}

/* An embedded (cross-origin iframe) ceremony is never ours. */
static void
test_wa01_cross_origin_and_top_origin(void **state)
{
	static const char *bad[] = { NULL,
		"\"topOrigin\":\"https://evil.test\"",
		"\"topOrigin\":\"" ORIGIN "\"" };
	struct reg g;
	struct asr a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reg_init(&g, WA_COSE_ALG_ES256, "none");
		g.extra = bad[i];
		reg_build(&g);
		if (bad[i] == NULL) {
			/* crossOrigin true in place of false */
			char *p = strstr(g.client_data, "false");

			assert_non_null(p);
			memcpy(p, "true ", 5);
		}
		assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
		asr_init(&a);
		a.extra = bad[i] != NULL ? bad[i] : "\"x\":1";
		asr_build(&a, &g.key);
		if (bad[i] == NULL) {
			char *p = strstr(a.client_data, "false");

			memcpy(p, "true ", 5);
			wa_bytes_free(&a.sig);
			assert_int_equal(
			    wa_soft_sign_assertion(
				&g.key, &a.auth_data, a.client_data, &a.sig),
			    0);
		}
		assert_int_equal(asr_run(&a, &g), PC_ERR_VERIFY);
		asr_free(&a);
		reg_free(&g);
	}
}

/* clientDataJSON that is not strict JSON or not an object. */
static void
test_wa01_client_data_malformed(void **state)
{
	static const char type_int[] =
	    "{\"type\":1,\"challenge\":\"x\",\"origin\":\"" ORIGIN "\"}";
	static const char *bad[] = { "", "[]", "{", "null",
		"{\"type\":\"webauthn.create\",\"type\":\"webauthn.create\"}",
		type_int };
	struct wa_new_cred c;
	struct reg g;
	size_t i;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	reg_build(&g);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(
		    wa_register_verify(&rp, g.want_challenge,
			(const uint8_t *)bad[i], strlen(bad[i]), g.att_obj.p,
			g.att_obj.n, false, &c),
		    0);
		assert_null(c.cred_id);
	}
	reg_free(&g);
}

/* ---- WA-02: challenge ---- */

static void
test_wa02_wrong_challenge(void **state)
{
	struct reg g;
	struct asr a;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	g.want_challenge[31] ^= 1;
	reg_build(&g);
	assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
	asr_init(&a);
	a.want_challenge[0] ^= 0x80;
	asr_build(&a, &g.key);
	assert_int_equal(asr_run(&a, &g), PC_ERR_VERIFY);
	asr_free(&a);
	reg_free(&g);
}

/* A challenge that is a prefix or an extension of ours. */
static void
test_wa02_challenge_length(void **state)
{
	static const char *bad[] = { "\"challenge\":\"AAAA\"", "\"x\":\"\"" };
	uint8_t zero[32] = { 0 };
	struct wa_new_cred c;
	char cd[512];
	struct reg g;
	size_t i;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	reg_build(&g);
	for (i = 0; i < 2; i++) {
		snprintf(cd, sizeof(cd),
		    "{\"type\":\"webauthn.create\",%s,\"origin\":\"" ORIGIN
		    "\"}",
		    i == 0 ? bad[0]
			   : "\"challenge\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			     "AAAAAAAAAAAAAAAAAAAAA\"");
		assert_int_equal(
		    wa_register_verify(&rp, zero, (const uint8_t *)cd,
			strlen(cd), g.att_obj.p, g.att_obj.n, false, &c),
		    PC_ERR_VERIFY);
	}
	reg_free(&g);
}

/* ---- WA-04: user presence and verification ---- */

static void
test_wa04_up_missing(void **state)
{
	struct reg g;
	struct asr a;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	g.flags = F_UV;
	reg_build(&g);
	assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
	asr_init(&a);
	a.flags = F_UV;
	asr_build(&a, &g.key);
	assert_int_equal(asr_run(&a, &g), PC_ERR_VERIFY);
	asr_free(&a);
	reg_free(&g);
}

static void
test_wa04_uv_missing_when_required(void **state)
{
	struct reg g;
	struct asr a;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	g.flags = F_UP;
	reg_build(&g);
	assert_int_equal(reg_run(&g), 0);
	g.uv_required = true;
	assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
	asr_init(&a);
	a.flags = F_UP;
	asr_build(&a, &g.key);
	assert_int_equal(asr_run(&a, &g), 0);
	a.uv_required = true;
	assert_int_equal(asr_run(&a, &g), PC_ERR_VERIFY);
	asr_free(&a);
	reg_free(&g);
}

/* §6.1: BS without BE is not a state an authenticator can be in. */
static void
test_wa04_bs_without_be(void **state)
{
	struct reg g;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	g.flags = F_UP | F_BS;
	reg_build(&g);
	assert_int_not_equal(reg_run(&g), 0);
	reg_free(&g);
}

/* ---- WA-06: signatures, algorithms, keys, CBOR ---- */

static void
test_wa06_assert_bad_signature(void **state)
{
	static const int algs[] = { WA_COSE_ALG_ES256, WA_COSE_ALG_EDDSA,
		WA_COSE_ALG_RS256 };
	struct wa_soft_key other;
	struct reg g;
	struct asr a;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		reg_init(&g, algs[i], "none");
		reg_build(&g);
		asr_init(&a);
		asr_build(&a, &g.key);
		assert_int_equal(asr_run(&a, &g), 0);
		a.sig.p[a.sig.n / 2] ^= 0x01;
		assert_int_equal(asr_run(&a, &g), PC_ERR_VERIFY);
		a.sig.p[a.sig.n / 2] ^= 0x01;
		/* The signature no longer covers the authenticator data. */
		a.auth_data.p[36] ^= 0x01;
		assert_int_equal(asr_run(&a, &g), PC_ERR_VERIFY);
		a.auth_data.p[36] ^= 0x01;
		/* Signed by another key of the same kind. */
		assert_int_equal(wa_soft_key_new(algs[i], 0, &other), 0);
		wa_bytes_free(&a.sig);
		assert_int_equal(wa_soft_sign_assertion(&other, &a.auth_data,
				     a.client_data, &a.sig),
		    0);
		assert_int_equal(asr_run(&a, &g), PC_ERR_VERIFY);
		wa_soft_key_free(&other);
		asr_free(&a);
		reg_free(&g);
	}
}

/*
 * The attestation signature must verify, whatever the format: present a
 * clientDataJSON other than the one signed (same type, challenge and
 * origin, one more member), so only the signature can tell.
 */
static void
test_wa06_attestation_bad_signature(void **state)
{
	static const char *fmts[] = { "packed", "packed-x5c", "fido-u2f",
		"tpm" };
	static const int algs[] = { WA_COSE_ALG_ES256, WA_COSE_ALG_EDDSA,
		WA_COSE_ALG_RS256 };
	struct wa_new_cred c;
	struct reg g;
	size_t i, j, n;
	char *cd;

	(void)state;
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 3; j++) {
			if (i > 0 && j > 0)
				break; /* x5c, u2f, tpm: one algorithm */
			reg_init(
			    &g, i == 3 ? WA_COSE_ALG_RS256 : algs[j], fmts[i]);
			reg_build(&g);
			assert_int_equal(reg_run(&g), 0);
			n = strlen(g.client_data);
			cd = malloc(n + 8);
			memcpy(cd, g.client_data, n - 1);
			memcpy(cd + n - 1, ",\"x\":1}", 8);
			assert_int_equal(
			    wa_register_verify(&rp, g.want_challenge,
				(const uint8_t *)cd, strlen(cd), g.att_obj.p,
				g.att_obj.n, false, &c),
			    PC_ERR_VERIFY);
			assert_null(c.cred_id);
			free(cd);
			reg_free(&g);
		}
	}
}

/* The algorithm stored with the key is the one used, and must match. */
static void
test_wa06_assert_wrong_alg(void **state)
{
	struct wa_assertion out;
	struct reg g;
	struct asr a;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	reg_build(&g);
	asr_init(&a);
	asr_build(&a, &g.key);
	assert_int_equal(
	    asr_verify(&a, WA_COSE_ALG_RS256, &g.cose, &out), PC_ERR_VERIFY);
	assert_int_equal(asr_verify(&a, -35, &g.cose, &out), PC_ERR_VERIFY);
	asr_free(&a);
	reg_free(&g);
}

static cbor_item_t *
ci(int64_t v)
{
	cbor_item_t *it = cbor_build_uint8((uint8_t)(v >= 0 ? v : -1 - v));

	assert_true(v >= -256 && v <= 255);
	if (v < 0)
		cbor_mark_negint(it);
	return it;
}

static void
put(cbor_item_t *m, cbor_item_t *k, cbor_item_t *v)
{
	assert_true(cbor_map_add(m, (struct cbor_pair){ k, v }));
	cbor_decref(&k);
	cbor_decref(&v);
}

/* A COSE EC2 key from parts. */
static void
cose_ec2(int64_t kty, int64_t alg, int64_t crv, const uint8_t *x, size_t xn,
    const uint8_t *y, size_t yn, struct wa_bytes *out)
{
	cbor_item_t *m = cbor_new_definite_map(5);
	unsigned char *buf = NULL;
	size_t cap = 0;

	put(m, ci(1), ci(kty));
	put(m, ci(3), ci(alg));
	put(m, ci(-1), ci(crv));
	put(m, ci(-2), cbor_build_bytestring(x, xn));
	if (y != NULL)
		put(m, ci(-3), cbor_build_bytestring(y, yn));
	out->n = cbor_serialize_alloc(m, &buf, &cap);
	out->p = buf;
	cbor_decref(&m);
}

/* Register with cose in place of the authenticator's own key. */
static int
reg_with_cose(const struct wa_bytes *cose, const char *fmt)
{
	uint8_t cred_id[16] = { 1 }, ch[32] = { 2 };
	struct wa_bytes ad, att;
	struct wa_soft_key k;
	struct wa_new_cred c;
	char *cd;
	int r;

	assert_int_equal(wa_soft_key_new(WA_COSE_ALG_ES256, 0, &k), 0);
	cd = wa_soft_client_data("webauthn.create", ch, ORIGIN, NULL);
	assert_int_equal(wa_soft_auth_data(RP_ID, F_UP, 0, NULL, cred_id, 16,
			     cose, NULL, &ad),
	    0);
	assert_int_equal(
	    wa_soft_att_obj(fmt, &ad, cd, &k, NULL, NULL, &att), 0);
	r = wa_register_verify(
	    &rp, ch, (const uint8_t *)cd, strlen(cd), att.p, att.n, false, &c);
	wa_new_cred_clear(&c);
	wa_bytes_free(&ad);
	wa_bytes_free(&att);
	wa_soft_key_free(&k);
	free(cd);
	return r;
}

static void
test_wa06_cose_key_refused(void **state)
{
	uint8_t pub[65];
	size_t n = 0;
	struct wa_soft_key k;
	struct wa_bytes cose;
	uint8_t y[32];

	(void)state;
	assert_int_equal(wa_soft_key_new(WA_COSE_ALG_ES256, 0, &k), 0);
	assert_int_equal(
	    EVP_PKEY_get_octet_string_param(k.pk, "pub", pub, sizeof(pub), &n),
	    1);
	/* The genuine key passes this path. */
	cose_ec2(2, -7, 1, pub + 1, 32, pub + 33, 32, &cose);
	assert_int_equal(reg_with_cose(&cose, "none"), 0);
	wa_bytes_free(&cose);
	/* ES384 / unknown alg with a P-256 key. */
	cose_ec2(2, -35, 1, pub + 1, 32, pub + 33, 32, &cose);
	assert_int_equal(reg_with_cose(&cose, "none"), PC_ERR_VERIFY);
	wa_bytes_free(&cose);
	/* alg says EdDSA, key is EC2. */
	cose_ec2(2, -8, 1, pub + 1, 32, pub + 33, 32, &cose);
	assert_int_equal(reg_with_cose(&cose, "none"), PC_ERR_VERIFY);
	wa_bytes_free(&cose);
	/* P-384 curve id. */
	cose_ec2(2, -7, 2, pub + 1, 32, pub + 33, 32, &cose);
	assert_int_equal(reg_with_cose(&cose, "none"), PC_ERR_VERIFY);
	wa_bytes_free(&cose);
	/* Short x, missing y. */
	cose_ec2(2, -7, 1, pub + 1, 31, pub + 33, 32, &cose);
	assert_int_equal(reg_with_cose(&cose, "none"), PC_ERR_VERIFY);
	wa_bytes_free(&cose);
	cose_ec2(2, -7, 1, pub + 1, 32, NULL, 0, &cose);
	assert_int_equal(reg_with_cose(&cose, "none"), PC_ERR_VERIFY);
	wa_bytes_free(&cose);
	/* A point off the curve. */
	memcpy(y, pub + 33, 32);
	y[31] ^= 1;
	cose_ec2(2, -7, 1, pub + 1, 32, y, 32, &cose);
	assert_int_equal(reg_with_cose(&cose, "none"), PC_ERR_VERIFY);
	wa_bytes_free(&cose);
	/* Ed25519: a small-order point (the identity). */
	memset(y, 0, 32);
	y[0] = 1;
	cose_ec2(1, -8, 6, y, 32, NULL, 0, &cose);
	assert_int_equal(reg_with_cose(&cose, "none"), PC_ERR_VERIFY);
	wa_bytes_free(&cose);
	wa_soft_key_free(&k);
}

static void
test_wa06_rsa_1024_refused(void **state)
{
	struct reg g;

	(void)state;
	reg_init(&g, WA_COSE_ALG_RS256, "none");
	g.rsa_bits = 1024;
	reg_build(&g);
	assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
	reg_free(&g);
	/* Self attestation by that key does not help it. */
	reg_init(&g, WA_COSE_ALG_RS256, "packed");
	g.rsa_bits = 1024;
	reg_build(&g);
	assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
	reg_free(&g);
}

static void
test_wa06_cred_id_too_long(void **state)
{
	struct reg g;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	g.cred_id_len = WA_CRED_ID_MAX;
	reg_build(&g);
	assert_int_equal(reg_run(&g), 0);
	reg_free(&g);
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	g.cred_id_len = WA_CRED_ID_MAX + 1;
	reg_build(&g);
	assert_int_not_equal(reg_run(&g), 0);
	reg_free(&g);
}

/* Every prefix of a good attestation object is refused, cleanly. */
static void
test_wa06_truncated_cbor(void **state)
{
	struct wa_new_cred c;
	struct reg g;
	size_t n;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "packed");
	reg_build(&g);
	for (n = 0; n < g.att_obj.n; n++) {
		uint8_t *p = malloc(n + 1); /* exactly n bytes for ASan */

		memcpy(p, g.att_obj.p, n);
		assert_int_not_equal(
		    wa_register_verify(&rp, g.want_challenge,
			(const uint8_t *)g.client_data, strlen(g.client_data),
			p, n, false, &c),
		    0);
		free(p);
	}
	reg_free(&g);
}

static void
test_wa06_trailing_bytes(void **state)
{
	struct reg g;
	struct asr a;
	uint8_t *p;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	reg_build(&g);
	p = realloc(g.att_obj.p, g.att_obj.n + 1);
	assert_non_null(p);
	p[g.att_obj.n] = 0x00;
	g.att_obj.p = p;
	g.att_obj.n++;
	assert_int_equal(reg_run(&g), PC_ERR_INVALID);
	/* Bytes after the credential key inside the authenticator data. */
	asr_init(&a);
	asr_build(&a, &g.key);
	p = realloc(a.auth_data.p, a.auth_data.n + 1);
	assert_non_null(p);
	p[a.auth_data.n] = 0x00;
	a.auth_data.p = p;
	a.auth_data.n++;
	wa_bytes_free(&a.sig);
	assert_int_equal(
	    wa_soft_sign_assertion(&g.key, &a.auth_data, a.client_data, &a.sig),
	    0);
	assert_int_equal(asr_run(&a, &g), PC_ERR_INVALID);
	asr_free(&a);
	reg_free(&g);
}

/* Indefinite lengths, wrong members, wrong types. */
static void
test_wa06_malformed_att_obj(void **state)
{
	struct wa_new_cred c;
	struct reg g;
	uint8_t *p;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	reg_build(&g);
	assert_int_equal(g.att_obj.p[0], 0xa3); /* map(3) */
	/* The same map with an indefinite length. */
	p = malloc(g.att_obj.n + 1);
	memcpy(p, g.att_obj.p, g.att_obj.n);
	p[0] = 0xbf;
	p[g.att_obj.n] = 0xff;
	assert_int_equal(
	    wa_register_verify(&rp, g.want_challenge,
		(const uint8_t *)g.client_data, strlen(g.client_data), p,
		g.att_obj.n + 1, false, &c),
	    PC_ERR_INVALID);
	/* map(4) claiming a member that is not there. */
	p[0] = 0xa4;
	assert_int_equal(wa_register_verify(&rp, g.want_challenge,
			     (const uint8_t *)g.client_data,
			     strlen(g.client_data), p, g.att_obj.n, false, &c),
	    PC_ERR_INVALID);
	/* An array, not a map. */
	p[0] = 0x83;
	assert_int_not_equal(
	    wa_register_verify(&rp, g.want_challenge,
		(const uint8_t *)g.client_data, strlen(g.client_data), p,
		g.att_obj.n, false, &c),
	    0);
	free(p);
	reg_free(&g);
}

/* The same attestation object with another fmt. */
static void
att_obj_refmt(struct wa_bytes *att, const char *fmt)
{
	struct cbor_load_result res;
	cbor_item_t *in = cbor_load(att->p, att->n, &res), *out;
	struct cbor_pair *p;
	unsigned char *buf = NULL;
	size_t i, cap = 0;

	assert_non_null(in);
	out = cbor_new_definite_map(3);
	p = cbor_map_handle(in);
	for (i = 0; i < cbor_map_size(in); i++) {
		cbor_item_t *k = cbor_incref(p[i].key);
		cbor_item_t *v = cbor_string_length(k) == 3
		    ? cbor_build_string(fmt)
		    : cbor_incref(p[i].value);

		put(out, k, v);
	}
	cbor_decref(&in);
	wa_bytes_free(att);
	att->n = cbor_serialize_alloc(out, &buf, &cap);
	att->p = buf;
	cbor_decref(&out);
}

static void
test_wa06_unknown_format_and_bad_none(void **state)
{
	static const char *fmts[] = { "android-key", "apple", "Packed",
		"none" };
	struct reg g;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		/* A good packed statement under another name. */
		reg_init(&g, WA_COSE_ALG_ES256, "packed");
		reg_build(&g);
		att_obj_refmt(&g.att_obj, "packed");
		assert_int_equal(reg_run(&g), 0);
		att_obj_refmt(&g.att_obj, fmts[i]);
		assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
		reg_free(&g);
	}
}

/* packed with x5c: a CA certificate or another AAGUID is refused. */
static void
test_wa06_packed_cert_rules(void **state)
{
	static const uint8_t other[16] = { 9 };
	struct reg g;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "packed-x5c");
	g.cert_aaguid = aaguid;
	reg_build(&g);
	assert_int_equal(reg_run(&g), 0);
	reg_free(&g);
	reg_init(&g, WA_COSE_ALG_ES256, "packed-x5c");
	g.cert_aaguid = other;
	reg_build(&g);
	assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
	reg_free(&g);
	reg_init(&g, WA_COSE_ALG_ES256, "packed-x5c");
	g.cert_ca = true;
	reg_build(&g);
	assert_int_equal(reg_run(&g), PC_ERR_VERIFY);
	reg_free(&g);
}

/* An assertion must not carry attested credential data. */
static void
test_wa06_assert_with_at_refused(void **state)
{
	struct reg g;
	struct asr a;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	reg_build(&g);
	asr_init(&a);
	asr_build(&a, &g.key);
	wa_bytes_free(&a.auth_data);
	wa_bytes_free(&a.sig);
	a.auth_data.p = malloc(g.auth_data.n);
	memcpy(a.auth_data.p, g.auth_data.p, g.auth_data.n);
	a.auth_data.n = g.auth_data.n;
	assert_int_equal(
	    wa_soft_sign_assertion(&g.key, &a.auth_data, a.client_data, &a.sig),
	    0);
	assert_int_equal(asr_run(&a, &g), PC_ERR_INVALID);
	asr_free(&a);
	reg_free(&g);
}

/* The stored key is parsed again at every sign-in: same rules. */
static void
test_wa06_assert_cose_key_refused(void **state)
{
	uint8_t pub[65], y[32];
	size_t n = 0;
	struct wa_assertion out;
	struct wa_soft_key k;
	struct wa_bytes cose;
	struct asr a;

	(void)state;
	assert_int_equal(wa_soft_key_new(WA_COSE_ALG_ES256, 0, &k), 0);
	assert_int_equal(
	    EVP_PKEY_get_octet_string_param(k.pk, "pub", pub, sizeof(pub), &n),
	    1);
	asr_init(&a);
	asr_build(&a, &k);
	cose_ec2(2, -7, 1, pub + 1, 32, pub + 33, 32, &cose);
	assert_int_equal(asr_verify(&a, -7, &cose, &out), 0);
	wa_bytes_free(&cose);
	cose_ec2(2, -35, 1, pub + 1, 32, pub + 33, 32, &cose);
	assert_int_equal(asr_verify(&a, -35, &cose, &out), PC_ERR_VERIFY);
	assert_int_equal(asr_verify(&a, -7, &cose, &out), PC_ERR_VERIFY);
	wa_bytes_free(&cose);
	cose_ec2(2, -7, 2, pub + 1, 32, pub + 33, 32, &cose);
	assert_int_equal(asr_verify(&a, -7, &cose, &out), PC_ERR_VERIFY);
	wa_bytes_free(&cose);
	cose_ec2(3, -7, 1, pub + 1, 32, pub + 33, 32, &cose);
	assert_int_equal(asr_verify(&a, -7, &cose, &out), PC_ERR_VERIFY);
	wa_bytes_free(&cose);
	memcpy(y, pub + 33, 32);
	y[31] ^= 1;
	cose_ec2(2, -7, 1, pub + 1, 32, y, 32, &cose);
	assert_int_equal(asr_verify(&a, -7, &cose, &out), PC_ERR_VERIFY);
	wa_bytes_free(&cose);
	asr_free(&a);
	wa_soft_key_free(&k);
}

/* A stored RSA-1024 key (say, from before a policy change) is refused. */
static void
test_wa06_assert_rsa_1024_refused(void **state)
{
	struct reg g;
	struct asr a;

	(void)state;
	reg_init(&g, WA_COSE_ALG_RS256, "none");
	g.rsa_bits = 1024;
	reg_build(&g);
	asr_init(&a);
	asr_build(&a, &g.key);
	assert_int_equal(asr_run(&a, &g), PC_ERR_VERIFY);
	asr_free(&a);
	reg_free(&g);
}

/* AT set on an assertion, with or without credential data after it. */
static void
test_wa06_assert_at_flag_refused(void **state)
{
	struct reg g;
	struct asr a;

	(void)state;
	reg_init(&g, WA_COSE_ALG_ES256, "none");
	reg_build(&g);
	asr_init(&a);
	a.flags = F_UP | 0x40;
	asr_build(&a, &g.key);
	assert_int_equal(asr_run(&a, &g), PC_ERR_INVALID);
	asr_free(&a);
	reg_free(&g);
}

/* A 2040-bit modulus padded to 256 bytes is still not 2048 bits. */
static void
test_wa06_rsa_padded_short_modulus(void **state)
{
	uint8_t nb[256] = { 0 }, eb[3];
	BIGNUM *bn = NULL;
	struct wa_assertion out;
	struct wa_soft_key k;
	struct wa_bytes cose;
	unsigned char *buf = NULL;
	size_t cap = 0;
	cbor_item_t *m;
	struct asr a;

	(void)state;
	assert_int_equal(wa_soft_key_new(WA_COSE_ALG_RS256, 2040, &k), 0);
	assert_int_equal(EVP_PKEY_get_bn_param(k.pk, "n", &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, nb, 256), 256);
	assert_int_equal(nb[0], 0);
	BN_free(bn);
	bn = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(k.pk, "e", &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, eb, 3), 3);
	BN_free(bn);
	m = cbor_new_definite_map(4);
	put(m, ci(1), ci(3));
	put(m, ci(3), cbor_build_uint16(256));
	cbor_mark_negint(cbor_map_handle(m)[1].value);
	put(m, ci(-1), cbor_build_bytestring(nb, 256));
	put(m, ci(-2), cbor_build_bytestring(eb, 3));
	cose.n = cbor_serialize_alloc(m, &buf, &cap);
	cose.p = buf;
	cbor_decref(&m);
	asr_init(&a);
	asr_build(&a, &k);
	assert_int_equal(
	    asr_verify(&a, WA_COSE_ALG_RS256, &cose, &out), PC_ERR_VERIFY);
	asr_free(&a);
	wa_bytes_free(&cose);
	wa_soft_key_free(&k);
}

/*
 * The CBOR pre-scan (auth/webauthn_cbor.c): exact item lengths, bounded
 * nesting, and counts that promise more elements than there are bytes.
 */
static void
test_wa06_cbor_scan(void **state)
{
	static const uint8_t ok[] = { 0xa1, 0x61, 'a', 0x82, 0x01, 0x20, 0xff };
	static const uint8_t big_map[] = { 0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0,
		0x01, 0x01 };
	static const uint8_t big_array[] = { 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0x01 };
	static const uint8_t tagged[] = { 0xc0, 0x61, 'x' };
	static const uint8_t indef_bytes[] = { 0x5f, 0x41, 0x00, 0xff };
	uint8_t deep[64];
	size_t len = 0, i;

	(void)state;
	/* {"a": [1, -1]} then one more byte: 6 bytes, not 7. */
	assert_int_equal(wa_cbor_scan(ok, sizeof(ok), &len), 0);
	assert_int_equal(len, 6);
	assert_null(wa_cbor_load_exact(ok, sizeof(ok)));
	assert_int_equal(
	    wa_cbor_scan(big_map, sizeof(big_map), &len), PC_ERR_INVALID);
	assert_int_equal(
	    wa_cbor_scan(big_array, sizeof(big_array), &len), PC_ERR_INVALID);
	assert_int_equal(
	    wa_cbor_scan(tagged, sizeof(tagged), &len), PC_ERR_INVALID);
	assert_int_equal(wa_cbor_scan(indef_bytes, sizeof(indef_bytes), &len),
	    PC_ERR_INVALID);
	/* 8 nested arrays pass, 9 and 64 do not. */
	for (i = 0; i < sizeof(deep); i++)
		deep[i] = 0x81;
	deep[7] = 0x80;
	assert_int_equal(wa_cbor_scan(deep, 8, &len), 0);
	assert_int_equal(len, 8);
	deep[7] = 0x81;
	deep[8] = 0x80;
	assert_int_equal(wa_cbor_scan(deep, 9, &len), PC_ERR_INVALID);
	deep[8] = 0x81;
	deep[63] = 0x80;
	assert_int_equal(
	    wa_cbor_scan(deep, sizeof(deep), &len), PC_ERR_INVALID);
}

static void
test_wa03_counter(void **state)
{
	(void)state;
	assert_true(wa_counter_ok(0, 0));
	assert_true(wa_counter_ok(0, 1));
	assert_true(wa_counter_ok(5, 6));
	assert_false(wa_counter_ok(5, 5));
	assert_false(wa_counter_ok(5, 4));
	assert_false(wa_counter_ok(5, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wa06_es256_none),
		cmocka_unit_test(test_wa06_eddsa_none),
		cmocka_unit_test(test_wa06_rs256_none),
		cmocka_unit_test(test_wa06_packed_self),
		cmocka_unit_test(test_wa06_packed_x5c),
		cmocka_unit_test(test_wa06_fido_u2f),
		cmocka_unit_test(test_wa06_tpm),
		cmocka_unit_test(test_wa06_extensions_in_auth_data),
		cmocka_unit_test(test_wa01_register_wrong_origin),
		cmocka_unit_test(test_wa01_assert_wrong_origin),
		cmocka_unit_test(test_wa01_wrong_type),
		cmocka_unit_test(test_wa01_wrong_rp_id_hash),
		cmocka_unit_test(test_wa01_cross_origin_and_top_origin),
		cmocka_unit_test(test_wa01_client_data_malformed),
		cmocka_unit_test(test_wa02_wrong_challenge),
		cmocka_unit_test(test_wa02_challenge_length),
		cmocka_unit_test(test_wa04_up_missing),
		cmocka_unit_test(test_wa04_uv_missing_when_required),
		cmocka_unit_test(test_wa04_bs_without_be),
		cmocka_unit_test(test_wa06_assert_bad_signature),
		cmocka_unit_test(test_wa06_attestation_bad_signature),
		cmocka_unit_test(test_wa06_assert_wrong_alg),
		cmocka_unit_test(test_wa06_cose_key_refused),
		cmocka_unit_test(test_wa06_rsa_1024_refused),
		cmocka_unit_test(test_wa06_cred_id_too_long),
		cmocka_unit_test(test_wa06_truncated_cbor),
		cmocka_unit_test(test_wa06_trailing_bytes),
		cmocka_unit_test(test_wa06_malformed_att_obj),
		cmocka_unit_test(test_wa06_unknown_format_and_bad_none),
		cmocka_unit_test(test_wa06_packed_cert_rules),
		cmocka_unit_test(test_wa06_assert_with_at_refused),
		cmocka_unit_test(test_wa06_assert_cose_key_refused),
		cmocka_unit_test(test_wa06_assert_rsa_1024_refused),
		cmocka_unit_test(test_wa06_assert_at_flag_refused),
		cmocka_unit_test(test_wa06_rsa_padded_short_modulus),
		cmocka_unit_test(test_wa06_cbor_scan),
		cmocka_unit_test(test_wa03_counter),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
