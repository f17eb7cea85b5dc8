/*
 * DPoP proofs (src/oauth/dpop.c, jose/jws.c's jws_verify_jwk; RFC 9449
 * §4.3; SECURITY.md RT-06, TX-06, JW-02, DS-04): the RFC's own example
 * proof and thumbprint, every rule of §4.3 attacked once beside the
 * proofs that must pass, the server nonce, and the replay cache
 * (store/dpop.c, migration 0028) on both stores.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/crypto.h"
#include "jose/jose.h"
#include "oauth/oauth.h"
#include "store/q.h"
#include "store/store.h"

#define T0 INT64_C(1800000000)
#define HTU "https://id.example.com/token"

/* RFC 9449 §4.1's example proof, its key's thumbprint (§6.1) and iat. */
#define RFC9449_PROOF \
	"eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwi" \
	"e" \
	"CI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5I" \
	"j" \
	"oiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydi" \
	"I" \
	"6IlAtMjU2In19." \
	"eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0" \
	"dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYy" \
	"N" \
	"jE2fQ.2-GxA6T8lP4vfrg8v-" \
	"FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NV" \
	"Y-FNyJK70nfbV37xRZT3Lg"
#define RFC9449_JKT "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
#define RFC9449_IAT INT64_C(1562262616)

#include "oauth_fixture.h"

static EVP_PKEY *k_ec, *k_rs, *k_ed, *k_other;

static int
group_setup(void **state)
{
	(void)state;
	k_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k_rs = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	k_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return k_ec != NULL && k_rs != NULL && k_ed != NULL && k_other != NULL
	    ? 0
	    : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(k_ec);
	EVP_PKEY_free(k_rs);
	EVP_PKEY_free(k_ed);
	EVP_PKEY_free(k_other);
	return 0;
}

/* base64url of a JSON value's compact text. */
static char *
b64_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT), *out;
	size_t n = strlen(s);

	out = malloc(b64url_encoded_len(n) + 1);
	b64url_encode((const uint8_t *)s, n, out);
	free(s);
	return out;
}

/* header.payload.signature; sig_key signs it with alg (NULL: sig is
 * sig_text as given). */
static char *
assemble(const json_t *hdr, const json_t *pl, EVP_PKEY *sig_key,
    enum jose_alg alg, const char *sig_text)
{
	char *h = b64_json(hdr), *p = b64_json(pl), *in, *out;
	uint8_t sig[JWS_SIG_MAX];
	size_t sig_len = 0, n;

	n = strlen(h) + strlen(p) + 2;
	in = malloc(n);
	snprintf(in, n, "%s.%s", h, p);
	out = malloc(n + 2 * JWS_SIG_MAX);
	if (sig_key != NULL) {
		assert_int_equal(jws_sign_raw(sig_key, alg, (uint8_t *)in,
				     strlen(in), sig, &sig_len),
		    0);
		snprintf(out, n + 1, "%s.", in);
		b64url_encode(sig, sig_len, out + strlen(out));
	} else {
		snprintf(out, n + 2 * JWS_SIG_MAX, "%s.%s", in, sig_text);
	}
	free(h);
	free(p);
	free(in);
	return out;
}

/* The header of a good proof by k for alg. */
static json_t *
header_for(EVP_PKEY *k, enum jose_alg alg)
{
	json_t *jwk = NULL;

	assert_int_equal(jwk_from_pkey(k, alg, NULL, &jwk), 0);
	json_object_del(jwk, "use");
	json_object_del(jwk, "alg");
	return json_pack("{s:s, s:s, s:o}", "typ", "dpop+jwt", "alg",
	    jose_alg_name(alg), "jwk", jwk);
}

static json_t *
payload_at(int64_t iat, const char *jti)
{
	return json_pack("{s:s, s:s, s:s, s:I}", "jti", jti, "htm", "POST",
	    "htu", HTU, "iat", (json_int_t)iat);
}

static const struct dpop_expect expect_token = { "POST", HTU, NULL, T0 };

/* Signs hdr and pl with k (alg) and verifies against e. */
static int
run(EVP_PKEY *k, enum jose_alg alg, json_t *hdr, json_t *pl,
    const struct dpop_expect *e, struct dpop_claims *out)
{
	char *proof = assemble(hdr, pl, k, alg, NULL);
	int r = dpop_proof_verify(proof, strlen(proof), e, out);

	free(proof);
	json_decref(hdr);
	json_decref(pl);
	return r;
}

/* A good proof's result, for each algorithm. */
static void
good(EVP_PKEY *k, enum jose_alg alg)
{
	struct dpop_claims c;
	char tp[44];

	assert_int_equal(run(k, alg, header_for(k, alg),
			     payload_at(T0, "jti-1"), &expect_token, &c),
	    0);
	assert_int_equal(jwk_thumbprint(k, tp), 0);
	assert_string_equal(c.jkt, tp);
	assert_int_equal(c.iat, T0);
	assert_int_equal(strlen(c.jti_hash), PC_SHA256_HEX_LEN);
	assert_string_equal(c.nonce, "");
	assert_null(c.why);
}

static void
test_dpop_RT06_rfc9449_example_proof(void **state)
{
	static const struct dpop_expect e = { "POST",
		"https://server.example.com/token", NULL, RFC9449_IAT };
	struct dpop_claims c;

	(void)state;
	assert_int_equal(
	    dpop_proof_verify(RFC9449_PROOF, strlen(RFC9449_PROOF), &e, &c), 0);
	assert_string_equal(c.jkt, RFC9449_JKT);
	/* The same proof an hour later is too old. */
	{
		struct dpop_expect late = e;

		late.now += 3600;
		assert_int_not_equal(dpop_proof_verify(RFC9449_PROOF,
					 strlen(RFC9449_PROOF), &late, &c),
		    0);
		assert_string_equal(c.jkt, "");
	}
}

static void
test_dpop_RT06_good_proofs_every_alg(void **state)
{
	(void)state;
	good(k_ec, JOSE_ALG_ES256);
	good(k_rs, JOSE_ALG_RS256);
	good(k_rs, JOSE_ALG_PS256);
	good(k_ed, JOSE_ALG_EDDSA);
}

static void
test_dpop_RT06_not_a_jwt(void **state)
{
	static const char *const bad[] = { "", "abc", "a.b", "a.b.c.d",
		"e30.e30.", "{\"typ\":\"dpop+jwt\"}" };
	struct dpop_claims c;

	(void)state;
	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		assert_int_not_equal(dpop_proof_verify(bad[i], strlen(bad[i]),
					 &expect_token, &c),
		    0);
		assert_non_null(c.why);
	}
	assert_int_not_equal(dpop_proof_verify(NULL, 0, &expect_token, &c), 0);
}

static void
test_dpop_RT06_typ(void **state)
{
	static const char *const bad[] = { "JWT", "at+jwt", "dpop", "" };
	struct dpop_claims c;
	json_t *h;

	(void)state;
	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		h = header_for(k_ec, JOSE_ALG_ES256);
		json_object_set_new(h, "typ", json_string(bad[i]));
		assert_int_not_equal(
		    run(k_ec, JOSE_ALG_ES256, h, payload_at(T0, "j"),
			&expect_token, &c),
		    0);
	}
	h = header_for(k_ec, JOSE_ALG_ES256);
	json_object_del(h, "typ");
	assert_int_not_equal(run(k_ec, JOSE_ALG_ES256, h, payload_at(T0, "j"),
				 &expect_token, &c),
	    0);
	/* Media types compare without case (RFC 7515 §4.1.9). */
	h = header_for(k_ec, JOSE_ALG_ES256);
	json_object_set_new(h, "typ", json_string("application/DPoP+JWT"));
	assert_int_equal(run(k_ec, JOSE_ALG_ES256, h, payload_at(T0, "j"),
			     &expect_token, &c),
	    0);
}

static void
test_dpop_RT06_JW02_alg_none_and_hs256(void **state)
{
	struct dpop_claims c;
	json_t *h = header_for(k_ec, JOSE_ALG_ES256), *p = payload_at(T0, "j");
	char *tok;
	uint8_t mac[32];
	unsigned int mac_len = 0;
	char sig[64], *in, *dot;

	(void)state;
	json_object_set_new(h, "alg", json_string("none"));
	tok = assemble(h, p, NULL, JOSE_ALG_INVALID, "");
	assert_int_not_equal(
	    dpop_proof_verify(tok, strlen(tok), &expect_token, &c), 0);
	free(tok);
	/* HS256 keyed with the jwk's own x: confusion, refused. */
	json_object_set_new(h, "alg", json_string("HS256"));
	tok = assemble(h, p, NULL, JOSE_ALG_INVALID, "x");
	in = strdup(tok);
	dot = strrchr(in, '.');
	*dot = '\0';
	HMAC(EVP_sha256(), "key", 3, (const unsigned char *)in, strlen(in), mac,
	    &mac_len);
	b64url_encode(mac, mac_len, sig);
	free(tok);
	tok = malloc(strlen(in) + sizeof(sig) + 2);
	sprintf(tok, "%s.%s", in, sig);
	assert_int_not_equal(
	    dpop_proof_verify(tok, strlen(tok), &expect_token, &c), 0);
	free(tok);
	free(in);
	json_decref(h);
	json_decref(p);
}

static void
test_dpop_RT06_bad_signature_and_other_key(void **state)
{
	struct dpop_claims c;
	char *tok;
	json_t *h = header_for(k_ec, JOSE_ALG_ES256), *p = payload_at(T0, "j");

	(void)state;
	/* Signed by another key than the one in jwk. */
	tok = assemble(h, p, k_other, JOSE_ALG_ES256, NULL);
	assert_int_not_equal(
	    dpop_proof_verify(tok, strlen(tok), &expect_token, &c), 0);
	free(tok);
	/* A flipped signature byte. */
	tok = assemble(h, p, k_ec, JOSE_ALG_ES256, NULL);
	tok[strlen(tok) - 5] = tok[strlen(tok) - 5] == 'A' ? 'B' : 'A';
	assert_int_not_equal(
	    dpop_proof_verify(tok, strlen(tok), &expect_token, &c), 0);
	free(tok);
	/* alg of another key type than the jwk's. */
	json_object_set_new(h, "alg", json_string("RS256"));
	tok = assemble(h, p, k_rs, JOSE_ALG_RS256, NULL);
	assert_int_not_equal(
	    dpop_proof_verify(tok, strlen(tok), &expect_token, &c), 0);
	free(tok);
	json_decref(h);
	json_decref(p);
}

static void
test_dpop_RT06_private_key_in_jwk(void **state)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi",
		"k" };
	struct dpop_claims c;

	(void)state;
	for (size_t i = 0; i < PC_NELEM(priv); i++) {
		json_t *h = header_for(k_ec, JOSE_ALG_ES256);

		json_object_set_new(
		    json_object_get(h, "jwk"), priv[i], json_string("AAAA"));
		assert_int_not_equal(
		    run(k_ec, JOSE_ALG_ES256, h, payload_at(T0, "j"),
			&expect_token, &c),
		    0);
	}
}

static void
test_dpop_RT06_key_from_elsewhere(void **state)
{
	static const char *const members[] = { "jku", "x5u", "x5c", "crit" };
	struct dpop_claims c;
	json_t *h;

	(void)state;
	for (size_t i = 0; i < PC_NELEM(members); i++) {
		h = header_for(k_ec, JOSE_ALG_ES256);
		json_object_set_new(
		    h, members[i], json_string("https://evil.example/k"));
		assert_int_not_equal(
		    run(k_ec, JOSE_ALG_ES256, h, payload_at(T0, "j"),
			&expect_token, &c),
		    0);
	}
	/* No jwk at all; a jwk that is not an object. */
	h = header_for(k_ec, JOSE_ALG_ES256);
	json_object_del(h, "jwk");
	assert_int_not_equal(run(k_ec, JOSE_ALG_ES256, h, payload_at(T0, "j"),
				 &expect_token, &c),
	    0);
	h = header_for(k_ec, JOSE_ALG_ES256);
	json_object_set_new(h, "jwk", json_string("key"));
	assert_int_not_equal(run(k_ec, JOSE_ALG_ES256, h, payload_at(T0, "j"),
				 &expect_token, &c),
	    0);
}

static void
test_dpop_RT06_htm_htu(void **state)
{
	static const char *const bad_htu[] = { "https://id.example.com/tokens",
		"https://id.example.com/", "https://evil.example.com/token",
		"http://id.example.com/token",
		"https://id.example.com:8443/token", "https://id.example.com",
		"id.example.com/token", "https://user@id.example.com/token",
		"https://id.example.com/TOKEN" };
	static const char *const good_htu[] = { HTU,
		"https://ID.Example.COM/token", "HTTPS://id.example.com/token",
		"https://id.example.com:443/token",
		"https://id.example.com/token?x=1",
		"https://id.example.com/token#frag" };
	static const char *const bad_htm[] = { "GET", "post", "PUT" };
	struct dpop_claims c;
	json_t *p;

	(void)state;
	for (size_t i = 0; i < PC_NELEM(bad_htu); i++) {
		p = payload_at(T0, "j");
		json_object_set_new(p, "htu", json_string(bad_htu[i]));
		assert_int_not_equal(
		    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256),
			p, &expect_token, &c),
		    0);
	}
	for (size_t i = 0; i < PC_NELEM(good_htu); i++) {
		p = payload_at(T0, "j");
		json_object_set_new(p, "htu", json_string(good_htu[i]));
		assert_int_equal(
		    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256),
			p, &expect_token, &c),
		    0);
	}
	for (size_t i = 0; i < PC_NELEM(bad_htm); i++) {
		p = payload_at(T0, "j");
		json_object_set_new(p, "htm", json_string(bad_htm[i]));
		assert_int_not_equal(
		    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256),
			p, &expect_token, &c),
		    0);
	}
	/* Missing htm or htu; not strings. */
	p = payload_at(T0, "j");
	json_object_del(p, "htu");
	assert_int_not_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256), p,
		&expect_token, &c),
	    0);
	p = payload_at(T0, "j");
	json_object_set_new(p, "htm", json_integer(1));
	assert_int_not_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256), p,
		&expect_token, &c),
	    0);
}

/* iat at T0 + d against now T0. */
static int
at_offset(int64_t d)
{
	struct dpop_claims c;

	return run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256),
	    payload_at(T0 + d, "j"), &expect_token, &c);
}

static void
test_dpop_RT06_iat_window(void **state)
{
	struct dpop_claims c;
	json_t *p;

	(void)state;
	/* Part 2.5: [now - 60 s, now + 15 s]. */
	assert_int_equal(at_offset(-DPOP_IAT_PAST), 0);
	assert_int_equal(at_offset(-10), 0);
	assert_int_equal(at_offset(DPOP_IAT_AHEAD), 0);
	assert_int_equal(at_offset(10), 0);
	assert_int_not_equal(at_offset(-DPOP_IAT_PAST - 1), 0);
	assert_int_not_equal(at_offset(DPOP_IAT_AHEAD + 1), 0);
	assert_int_not_equal(at_offset(-3600), 0);
	assert_int_not_equal(at_offset(3600), 0);
	/* Missing, negative, a string. */
	p = payload_at(T0, "j");
	json_object_del(p, "iat");
	assert_int_not_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256), p,
		&expect_token, &c),
	    0);
	p = payload_at(T0, "j");
	json_object_set_new(p, "iat", json_integer(-1));
	assert_int_not_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256), p,
		&expect_token, &c),
	    0);
	p = payload_at(T0, "j");
	json_object_set_new(p, "iat", json_string("1800000000"));
	assert_int_not_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256), p,
		&expect_token, &c),
	    0);
}

static void
test_dpop_DS04_jti_size_and_key(void **state)
{
	struct dpop_claims a, b;
	char big[DPOP_JTI_MAX + 2];
	json_t *p;

	(void)state;
	memset(big, 'j', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_not_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256),
		payload_at(T0, big), &expect_token, &a),
	    0);
	big[DPOP_JTI_MAX] = '\0';
	assert_int_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256),
		payload_at(T0, big), &expect_token, &a),
	    0);
	assert_int_not_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256),
		payload_at(T0, ""), &expect_token, &a),
	    0);
	p = payload_at(T0, "j");
	json_object_del(p, "jti");
	assert_int_not_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256), p,
		&expect_token, &a),
	    0);
	/* The replay key is per key and jti: the same jti by two keys are
	 * two entries, the same proof twice one. */
	assert_int_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256),
		payload_at(T0, "same"), &expect_token, &a),
	    0);
	assert_int_equal(
	    run(k_other, JOSE_ALG_ES256, header_for(k_other, JOSE_ALG_ES256),
		payload_at(T0, "same"), &expect_token, &b),
	    0);
	assert_string_not_equal(a.jti_hash, b.jti_hash);
	assert_int_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256),
		payload_at(T0 + 1, "same"), &expect_token, &b),
	    0);
	assert_string_equal(a.jti_hash, b.jti_hash);
}

static void
test_dpop_TX06_ath(void **state)
{
	static const char at[] = "eyJhbGciOiJFUzI1NiJ9.e30.sig";
	struct dpop_expect e = expect_token;
	struct dpop_claims c;
	uint8_t md[PC_SHA256_LEN];
	char ath[64];
	json_t *p;

	(void)state;
	e.access_token = at;
	hash_sha256(at, strlen(at), md);
	b64url_encode(md, sizeof(md), ath);
	p = payload_at(T0, "j");
	json_object_set_new(p, "ath", json_string(ath));
	assert_int_equal(run(k_ec, JOSE_ALG_ES256,
			     header_for(k_ec, JOSE_ALG_ES256), p, &e, &c),
	    0);
	/* Missing ath, another token's. */
	assert_int_not_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256),
		payload_at(T0, "j"), &e, &c),
	    0);
	e.access_token = "another.token.value";
	p = payload_at(T0, "j");
	json_object_set_new(p, "ath", json_string(ath));
	assert_int_not_equal(run(k_ec, JOSE_ALG_ES256,
				 header_for(k_ec, JOSE_ALG_ES256), p, &e, &c),
	    0);
}

static void
test_dpop_nonce_claim(void **state)
{
	struct dpop_claims c;
	char big[DPOP_NONCE_MAX + 2];
	json_t *p;

	(void)state;
	p = payload_at(T0, "j");
	json_object_set_new(p, "nonce", json_string("abc"));
	assert_int_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256), p,
		&expect_token, &c),
	    0);
	assert_string_equal(c.nonce, "abc");
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	p = payload_at(T0, "j");
	json_object_set_new(p, "nonce", json_string(big));
	assert_int_not_equal(
	    run(k_ec, JOSE_ALG_ES256, header_for(k_ec, JOSE_ALG_ES256), p,
		&expect_token, &c),
	    0);
}

static void
test_dpop_RT06_server_nonce(void **state)
{
	uint8_t key[32], other[32];
	char n0[DPOP_NONCE_LEN + 1], n1[DPOP_NONCE_LEN + 1];

	(void)state;
	memset(key, 7, sizeof(key));
	memset(other, 8, sizeof(other));
	dpop_nonce_make(key, T0, n0);
	assert_int_equal(strlen(n0), DPOP_NONCE_LEN);
	/* Good for its slot and the next; not two slots on, nor before. */
	assert_true(dpop_nonce_valid(key, n0, T0));
	assert_true(dpop_nonce_valid(key, n0, T0 + DPOP_NONCE_SLOT));
	assert_false(dpop_nonce_valid(key, n0, T0 + 2 * DPOP_NONCE_SLOT));
	assert_false(dpop_nonce_valid(key, n0, T0 - DPOP_NONCE_SLOT));
	/* Another slot, another nonce; another key, another nonce. */
	dpop_nonce_make(key, T0 + 3 * DPOP_NONCE_SLOT, n1);
	assert_string_not_equal(n0, n1);
	dpop_nonce_make(other, T0, n1);
	assert_string_not_equal(n0, n1);
	assert_false(dpop_nonce_valid(other, n0, T0));
	assert_false(dpop_nonce_valid(key, "", T0));
	assert_false(dpop_nonce_valid(key, NULL, T0));
	assert_false(dpop_nonce_valid(key, "AAAAAAAAAAAAAAAAAAAAAA", T0));
}

static void
test_dpop_jkt_equal(void **state)
{
	(void)state;
	assert_true(dpop_jkt_equal(RFC9449_JKT, RFC9449_JKT));
	assert_false(dpop_jkt_equal(
	    RFC9449_JKT, "1ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
	assert_false(dpop_jkt_equal(RFC9449_JKT, NULL));
	assert_false(dpop_jkt_equal(NULL, NULL));
	assert_false(dpop_jkt_equal("", ""));
}

/* The replay cache (store/dpop.c, migration 0028), on either store. */
static void
test_dpop_RT06_DS04_replay_cache(void **state)
{
	struct fixture *f = *state;
	char a[PC_SHA256_HEX_LEN + 1], b[PC_SHA256_HEX_LEN + 1];
	int64_t n = -1;

	hash_sha256_hex("a", 1, a);
	hash_sha256_hex("b", 1, b);
	/* New, then a replay while it lives; another key is independent. */
	assert_int_equal(store_dpop_jti_use(f->db, a, T0 + 61, T0), 0);
	assert_int_equal(
	    store_dpop_jti_use(f->db, a, T0 + 61, T0), PC_ERR_CONFLICT);
	assert_int_equal(
	    store_dpop_jti_use(f->db, a, T0 + 70, T0 + 60), PC_ERR_CONFLICT);
	assert_int_equal(store_dpop_jti_use(f->db, b, T0 + 61, T0), 0);
	/* Expired but not purged yet: taken over (the proof it stood for is
	 * too old to be accepted anyway). */
	assert_int_equal(store_dpop_jti_use(f->db, a, T0 + 122, T0 + 61), 0);
	assert_int_equal(
	    store_dpop_jti_use(f->db, a, T0 + 122, T0 + 100), PC_ERR_CONFLICT);
	/* DS-04: the purge forgets what expired, and only that. */
	assert_int_equal(store_dpop_jtis_purge(f->db, T0 + 61, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_dpop_jti_use(f->db, b, T0 + 200, T0 + 62), 0);
	assert_int_equal(store_dpop_jtis_purge(f->db, T0 + 121, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    store_dpop_jti_use(f->db, a, T0 + 200, T0 + 121), PC_ERR_CONFLICT);
	assert_int_equal(store_dpop_jtis_purge(f->db, T0 + 1000, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(
	    store_dpop_jti_use(f->db, NULL, T0, T0), PC_ERR_INVALID);
}

struct tx_arg {
	const char *hash;
	int r1, r2;
};

static int
use_twice_tx(struct db_conn *c, void *arg)
{
	struct tx_arg *a = arg;

	a->r1 = store_dpop_jti_use_tx(c, a->hash, T0 + 61, T0);
	a->r2 = store_dpop_jti_use_tx(c, a->hash, T0 + 61, T0);
	return a->r1 == 0 ? 0 : a->r1;
}

static int
rollback_tx(struct db_conn *c, void *arg)
{
	struct tx_arg *a = arg;

	a->r1 = store_dpop_jti_use_tx(c, a->hash, T0 + 61, T0);
	return PC_ERR_VERIFY;
}

static void
test_dpop_replay_cache_in_a_transaction(void **state)
{
	struct fixture *f = *state;
	struct tx_arg a = { "c0ffee", 1, 1 };

	assert_int_equal(store_tx(f->db, use_twice_tx, &a), 0);
	assert_int_equal(a.r1, 0);
	assert_int_equal(a.r2, PC_ERR_CONFLICT);
	assert_int_equal(
	    store_dpop_jti_use(f->db, "c0ffee", T0 + 61, T0), PC_ERR_CONFLICT);
	/* Rolled back with the caller's transaction: not remembered. */
	a.hash = "decaf";
	assert_int_equal(store_tx(f->db, rollback_tx, &a), PC_ERR_VERIFY);
	assert_int_equal(a.r1, 0);
	assert_int_equal(store_dpop_jti_use(f->db, "decaf", T0 + 61, T0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpop_RT06_rfc9449_example_proof),
		cmocka_unit_test(test_dpop_RT06_good_proofs_every_alg),
		cmocka_unit_test(test_dpop_RT06_not_a_jwt),
		cmocka_unit_test(test_dpop_RT06_typ),
		cmocka_unit_test(test_dpop_RT06_JW02_alg_none_and_hs256),
		cmocka_unit_test(test_dpop_RT06_bad_signature_and_other_key),
		cmocka_unit_test(test_dpop_RT06_private_key_in_jwk),
		cmocka_unit_test(test_dpop_RT06_key_from_elsewhere),
		cmocka_unit_test(test_dpop_RT06_htm_htu),
		cmocka_unit_test(test_dpop_RT06_iat_window),
		cmocka_unit_test(test_dpop_DS04_jti_size_and_key),
		cmocka_unit_test(test_dpop_TX06_ath),
		cmocka_unit_test(test_dpop_nonce_claim),
		cmocka_unit_test(test_dpop_RT06_server_nonce),
		cmocka_unit_test(test_dpop_jkt_equal),
		cmocka_unit_test_setup_teardown(
		    test_dpop_RT06_DS04_replay_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_dpop_replay_cache_in_a_transaction, setup, teardown),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
