/*
 * private_key_jwt (src/oauth/client_assertion.c, src/store/assertions.c;
 * SECURITY.md TK-09, JW-01..08): every rule attacked once, beside the
 * assertions that must pass.
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

#include "app.h"
#include "crypto/crypto.h"
#include "jose/jose.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/config.h"

#define T0 INT64_C(1800000000)
#define ISSUER "https://id.example.com"
#define ASSERTION_JTI_TEST 256 /* the cap in client_assertion.c */

#include "oauth_fixture.h"

/* The keys, made once: generating RSA keys is slow. */
static EVP_PKEY *k_ec, *k_rs, *k_ps, *k_ed, *k_evil;
static char *jwks_text; /* the client's public JWKS */

struct tc {
	struct fixture *f;
	struct config cfg;
	struct app app;
	struct store_client client;
	char id[CLIENT_ID_LEN + 1];
	unsigned jti;
};

static EVP_PKEY *
keygen(const char *type, const char *arg)
{
	EVP_PKEY *k;

	if (strcmp(type, "RSA") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (arg != NULL)
		k = EVP_PKEY_Q_keygen(NULL, NULL, type, arg);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	return k;
}

static void
add_jwk(json_t *keys, EVP_PKEY *k, enum jose_alg alg, const char *kid,
    bool keep_alg)
{
	json_t *jwk = NULL;

	if (jwk_from_pkey(k, alg, kid, &jwk) != 0)
		fail_msg("jwk_from_pkey %s", kid);
	if (!keep_alg)
		json_object_del(jwk, "alg");
	json_array_append_new(keys, jwk);
}

static int
group_setup(void **state)
{
	json_t *doc = json_object(), *keys = json_array();

	(void)state;
	k_ec = keygen("EC", "P-256");
	k_rs = keygen("RSA", NULL);
	k_ps = keygen("RSA", NULL);
	k_ed = keygen("ED25519", NULL);
	k_evil = keygen("EC", "P-256");
	if (k_ec == NULL || k_rs == NULL || k_ps == NULL || k_ed == NULL ||
	    k_evil == NULL)
		return -1;
	add_jwk(keys, k_ec, JOSE_ALG_ES256, "ec1", false);
	add_jwk(keys, k_rs, JOSE_ALG_RS256, "rs1", false); /* RS256 implied */
	add_jwk(keys, k_ps, JOSE_ALG_PS256, "ps1", true);
	json_object_set_new(doc, "keys", keys);
	jwks_text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return jwks_text == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(k_ec);
	EVP_PKEY_free(k_rs);
	EVP_PKEY_free(k_ps);
	EVP_PKEY_free(k_ed);
	EVP_PKEY_free(k_evil);
	free(jwks_text);
	return 0;
}

static int
tc_setup(void **state)
{
	struct tc *t = calloc(1, sizeof(*t));
	const char *why = NULL;

	if (t == NULL)
		return -1;
	if (setup((void **)&t->f) != 0) {
		free(t);
		return -1;
	}
	t->cfg.issuer = (char *)ISSUER;
	t->app.cfg = &t->cfg;
	t->app.db = t->f->db;
	client_id_new(t->id);
	t->client.client_id = xstrdup(t->id);
	t->client.name = xstrdup("Assertion client");
	t->client.auth_method = xstrdup("private_key_jwt");
	t->client.grant_types = xstrdup("client_credentials");
	t->client.jwks = xstrdup(jwks_text);
	if (client_validate(&t->client, &why) != 0) {
		fprintf(stderr, "client_validate: %s\n", why);
		return -1;
	}
	if (store_client_insert(t->f->db, &t->client, NULL) != 0)
		return -1;
	*state = t;
	return 0;
}

static int
tc_teardown(void **state)
{
	struct tc *t = *state;
	void *f = t->f;

	store_client_clear(&t->client);
	free(t);
	return teardown(&f);
}

static char *
b64(const char *s, size_t n)
{
	char *out = xmalloc(b64url_encoded_len(n) + 1);

	b64url_encode((const uint8_t *)s, n, out);
	return out;
}

/*
 * A compact JWS of exactly this header and payload text, signed by k
 * with alg (JOSE_ALG_INVALID: no signature at all, "hs": HMAC-SHA256
 * keyed with hs_key).
 */
static char *
make_raw(const char *hdr, const char *payload, EVP_PKEY *k, enum jose_alg alg,
    const char *hs_key)
{
	char *h = b64(hdr, strlen(hdr)), *p = b64(payload, strlen(payload));
	size_t in_len = strlen(h) + 1 + strlen(p);
	char *in = xmalloc(in_len + 1), *s64 = NULL, *out;
	uint8_t sig[JWS_SIG_MAX];
	size_t sig_len = sizeof(sig);
	unsigned hl = 0;

	snprintf(in, in_len + 1, "%s.%s", h, p);
	if (hs_key != NULL) {
		if (HMAC(EVP_sha256(), hs_key, (int)strlen(hs_key),
			(const uint8_t *)in, in_len, sig, &hl) == NULL)
			fail_msg("HMAC");
		sig_len = hl;
		s64 = b64((const char *)sig, sig_len);
	} else if (alg != JOSE_ALG_INVALID) {
		if (jws_sign_raw(k, alg, (const uint8_t *)in, in_len, sig,
			&sig_len) != 0)
			fail_msg("jws_sign_raw");
		s64 = b64((const char *)sig, sig_len);
	}
	out = xmalloc(in_len + 2 + (s64 != NULL ? strlen(s64) : 0));
	snprintf(out, in_len + 2 + (s64 != NULL ? strlen(s64) : 0), "%s.%s", in,
	    s64 != NULL ? s64 : "");
	free(h);
	free(p);
	free(in);
	free(s64);
	return out;
}

/* The claims of a good assertion for t's client at now. */
static json_t *
claims(struct tc *t, int64_t now)
{
	char jti[32];

	snprintf(jti, sizeof(jti), "jti-%u", ++t->jti);
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", t->id, "sub",
	    t->id, "aud", ISSUER, "iat", (json_int_t)now, "exp",
	    (json_int_t)now + 60, "jti", jti);
}

static char *
make(json_t *hdr, json_t *payload, EVP_PKEY *k, enum jose_alg alg)
{
	char *h = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
	char *p = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
	char *out = make_raw(h, p, k, alg, NULL);

	free(h);
	free(p);
	json_decref(hdr);
	json_decref(payload);
	return out;
}

static json_t *
hdr(const char *alg, const char *kid)
{
	return kid != NULL ? json_pack("{s:s, s:s}", "alg", alg, "kid", kid)
			   : json_pack("{s:s}", "alg", alg);
}

static int
verify(struct tc *t, char *a, int64_t now)
{
	int r = client_assertion_verify(&t->app, &t->client, a, now);

	free(a);
	return r;
}

/*
 * An ES256 assertion made at T0 with one claim replaced (NULL value:
 * removed), verified at now.
 */
static int
with_claim(struct tc *t, const char *name, json_t *value, int64_t now)
{
	json_t *p = claims(t, T0);

	if (value == NULL)
		json_object_del(p, name);
	else
		json_object_set_new(p, name, value);
	return verify(
	    t, make(hdr("ES256", "ec1"), p, k_ec, JOSE_ALG_ES256), now);
}

static void
test_assertion_each_alg_passes(void **state)
{
	struct tc *t = *state;

	assert_int_equal(
	    verify(t,
		make(hdr("ES256", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256),
		T0),
	    0);
	assert_int_equal(
	    verify(t,
		make(hdr("RS256", "rs1"), claims(t, T0), k_rs, JOSE_ALG_RS256),
		T0),
	    0);
	assert_int_equal(
	    verify(t,
		make(hdr("PS256", "ps1"), claims(t, T0), k_ps, JOSE_ALG_PS256),
		T0),
	    0);
	/* JW-02: EdDSA is not on the allowlist for client assertions: such
	 * a key cannot be registered, and an EdDSA assertion never passes. */
	assert_int_equal(
	    verify(t,
		make(hdr("EdDSA", "ed1"), claims(t, T0), k_ed, JOSE_ALG_EDDSA),
		T0),
	    PC_ERR_VERIFY);
	{
		json_t *doc = json_object(), *keys = json_array();
		const char *why = NULL;
		char *text;

		add_jwk(keys, k_ed, JOSE_ALG_EDDSA, "ed1", true);
		json_object_set_new(doc, "keys", keys);
		text = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		assert_non_null(text);
		assert_int_not_equal(
		    client_jwks_check(text, strlen(text), &why), 0);
		assert_non_null(why);
		free(text);
	}
	/* typ JWT, and the rfc7523bis type, are client assertions. */
	assert_int_equal(verify(t,
			     make(json_pack("{s:s, s:s, s:s}", "alg", "ES256",
				      "kid", "ec1", "typ", "JWT"),
				 claims(t, T0), k_ec, JOSE_ALG_ES256),
			     T0),
	    0);
	assert_int_equal(
	    verify(t,
		make(json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid", "ec1",
			 "typ", "client-authentication+jwt"),
		    claims(t, T0), k_ec, JOSE_ALG_ES256),
		T0),
	    0);
}

static void
test_assertion_TK09_replayed_jti(void **state)
{
	struct tc *t = *state;
	char *a =
	    make(hdr("ES256", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256);

	assert_int_equal(
	    client_assertion_verify(&t->app, &t->client, a, T0), 0);
	assert_int_equal(
	    client_assertion_verify(&t->app, &t->client, a, T0 + 1),
	    PC_ERR_VERIFY);
	/* Still remembered after the purge while the assertion could pass. */
	{
		int64_t n = -1;

		assert_int_equal(
		    store_assertion_jtis_purge(t->f->db, T0 + 60, &n), 0);
		assert_int_equal(n, 0);
	}
	assert_int_equal(
	    client_assertion_verify(&t->app, &t->client, a, T0 + 60),
	    PC_ERR_VERIFY);
	free(a);
}

static void
test_assertion_TK09_jti_rules(void **state)
{
	struct tc *t = *state;
	char big[ASSERTION_JTI_TEST + 2];

	assert_int_equal(with_claim(t, "jti", NULL, T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "jti", json_string(""), T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "jti", json_integer(7), T0), PC_ERR_VERIFY);
	memset(big, 'j', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(
	    with_claim(t, "jti", json_string(big), T0), PC_ERR_VERIFY);
	big[sizeof(big) - 2] = '\0'; /* 256 bytes */
	assert_int_equal(with_claim(t, "jti", json_string(big), T0), 0);
}

static void
test_assertion_TK09_aud(void **state)
{
	struct tc *t = *state;

	assert_int_equal(with_claim(t, "aud", NULL, T0), PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "aud", json_string(ISSUER "/token"), T0),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "aud", json_string(ISSUER "/"), T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "aud", json_string("https://rp.example"), T0),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "aud",
		json_pack("[s, s]", ISSUER, "https://rp.example"), T0),
	    PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "aud",
			     json_pack("[s, s]", ISSUER, ISSUER "/token"), T0),
	    PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "aud", json_array(), T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "aud", json_integer(1), T0), PC_ERR_VERIFY);
	/* TK-09: a single string; even [issuer] is refused. */
	assert_int_equal(
	    with_claim(t, "aud", json_pack("[s]", ISSUER), T0), PC_ERR_VERIFY);
}

static void
test_assertion_TK09_iss_sub(void **state)
{
	struct tc *t = *state;
	char other[CLIENT_ID_LEN + 1];

	client_id_new(other);
	assert_int_equal(
	    with_claim(t, "iss", json_string(other), T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "sub", json_string(other), T0), PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "sub", NULL, T0), PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "iss", NULL, T0), PC_ERR_VERIFY);
}

static void
test_assertion_JW04_times(void **state)
{
	struct tc *t = *state;
	json_t *p;

	assert_int_equal(with_claim(t, "exp", NULL, T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "exp", json_string("1800000060"), T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "exp", json_integer(-1), T0), PC_ERR_VERIFY);
	/* Five minutes in the past (OIDF ...-exp-is-5-minutes-in-past). */
	assert_int_equal(with_claim(t, "iat", NULL, T0 + 360), PC_ERR_VERIFY);
	/* Expired beyond the 30 s leeway; within it, still accepted. */
	assert_int_equal(with_claim(t, "iat", NULL, T0 + 90), PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "iat", NULL, T0 + 89), 0);
	/* Lifetime: exp at most 5 min ahead, and exp - iat <= 5 min. */
	assert_int_equal(
	    with_claim(t, "exp", json_integer(T0 + 400), T0), PC_ERR_VERIFY);
	p = claims(t, T0);
	json_object_set_new(p, "iat", json_integer(T0 - 100));
	json_object_set_new(p, "exp", json_integer(T0 + 250));
	assert_int_equal(
	    verify(t, make(hdr("ES256", "ec1"), p, k_ec, JOSE_ALG_ES256), T0),
	    PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "exp", json_integer(T0 + 300), T0), 0);
	assert_int_equal(with_claim(t, "exp", json_real(T0 + 59.5), T0), 0);
	/* iat in the future beyond the leeway; nbf likewise. */
	assert_int_equal(
	    with_claim(t, "iat", json_integer(T0 + 45), T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "iat", json_string("now"), T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "nbf", json_integer(T0 + 61), T0), PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "nbf", json_true(), T0), PC_ERR_VERIFY);
	/* OIDF ...-nbf-8-seconds-in-the-future-is-accepted. */
	assert_int_equal(with_claim(t, "nbf", json_integer(T0 + 8), T0), 0);
}

static void
test_assertion_JW01_none(void **state)
{
	static const char *const names[] = { "none", "None", "NONE", "noNE" };
	struct tc *t = *state;

	for (size_t i = 0; i < PC_NELEM(names); i++) {
		json_t *p = claims(t, T0);
		char *h, *ps, hd[64];

		snprintf(hd, sizeof(hd), "{\"alg\":\"%s\"}", names[i]);
		ps = json_dumps(p, JSON_COMPACT);
		h = make_raw(hd, ps, NULL, JOSE_ALG_INVALID, NULL);
		assert_int_equal(verify(t, h, T0), PC_ERR_VERIFY);
		/* A signature segment of garbage does not help either. */
		h = make_raw(hd, ps, k_ec, JOSE_ALG_ES256, NULL);
		assert_int_equal(verify(t, h, T0), PC_ERR_VERIFY);
		free(ps);
		json_decref(p);
	}
}

static void
test_assertion_JW02_confusion(void **state)
{
	struct tc *t = *state;
	json_t *doc = json_loads(jwks_text, 0, NULL);
	char *ec_jwk = json_dumps(
	    json_array_get(json_object_get(doc, "keys"), 0), JSON_COMPACT);
	char *ps, *a;
	json_t *p = claims(t, T0);

	json_decref(doc);

	/* HS256 keyed with the client's public key text (JWK and JWKS). */
	ps = json_dumps(p, JSON_COMPACT);
	a = make_raw("{\"alg\":\"HS256\",\"kid\":\"ec1\"}", ps, NULL,
	    JOSE_ALG_INVALID, ec_jwk);
	assert_int_equal(verify(t, a, T0), PC_ERR_VERIFY);
	a = make_raw(
	    "{\"alg\":\"HS256\"}", ps, NULL, JOSE_ALG_INVALID, jwks_text);
	assert_int_equal(verify(t, a, T0), PC_ERR_VERIFY);
	free(ps);
	json_decref(p);
	free(ec_jwk);
	/* One algorithm per key: the RS256 key cannot sign PS256. */
	assert_int_equal(
	    verify(t,
		make(hdr("PS256", "rs1"), claims(t, T0), k_rs, JOSE_ALG_PS256),
		T0),
	    PC_ERR_VERIFY);
	/* ...nor the PS256 key RS256. */
	assert_int_equal(
	    verify(t,
		make(hdr("RS256", "ps1"), claims(t, T0), k_ps, JOSE_ALG_RS256),
		T0),
	    PC_ERR_VERIFY);
	/* An algorithm outside the list. */
	assert_int_equal(
	    verify(t,
		make(hdr("ES384", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256),
		T0),
	    PC_ERR_VERIFY);
	/* Several keys: no kid, no key. */
	assert_int_equal(
	    verify(t,
		make(hdr("ES256", NULL), claims(t, T0), k_ec, JOSE_ALG_ES256),
		T0),
	    PC_ERR_VERIFY);
}

static void
test_assertion_JW03_key_selection(void **state)
{
	static const char *const members[] = { "jku", "x5u", "x5c", "jwk" };
	struct tc *t = *state;
	json_t *evil_jwk = NULL;

	assert_int_equal(
	    jwk_from_pkey(k_evil, JOSE_ALG_ES256, "ec1", &evil_jwk), 0);
	/* An unregistered key under a registered kid. */
	assert_int_equal(verify(t,
			     make(hdr("ES256", "ec1"), claims(t, T0), k_evil,
				 JOSE_ALG_ES256),
			     T0),
	    PC_ERR_VERIFY);
	/* Unknown and hostile kids. */
	assert_int_equal(verify(t,
			     make(hdr("ES256", "../../dev/null"), claims(t, T0),
				 k_ec, JOSE_ALG_ES256),
			     T0),
	    PC_ERR_VERIFY);
	assert_int_equal(verify(t,
			     make(hdr("ES256", "ec1' OR '1'='1"), claims(t, T0),
				 k_ec, JOSE_ALG_ES256),
			     T0),
	    PC_ERR_VERIFY);
	/* Keys brought by the token, even signed by a registered key. */
	for (size_t i = 0; i < PC_NELEM(members); i++) {
		json_t *h = hdr("ES256", "ec1");

		json_object_set_new(h, members[i],
		    strcmp(members[i], "jwk") == 0 ? json_incref(evil_jwk)
			: strcmp(members[i], "x5c") == 0
			? json_pack("[s]", "MIIB")
			: json_string("https://evil.example/jwks"));
		assert_int_equal(
		    verify(t, make(h, claims(t, T0), k_ec, JOSE_ALG_ES256), T0),
		    PC_ERR_VERIFY);
	}
	json_decref(evil_jwk);
}

static void
test_assertion_JW06_typ(void **state)
{
	static const char *const bad[] = { "at+jwt", "dpop+jwt", "logout+jwt",
		"application/at+jwt", "secevent+jwt", "JOSE", "" };
	struct tc *t = *state;

	for (size_t i = 0; i < PC_NELEM(bad); i++)
		assert_int_equal(
		    verify(t,
			make(json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid",
				 "ec1", "typ", bad[i]),
			    claims(t, T0), k_ec, JOSE_ALG_ES256),
			T0),
		    PC_ERR_VERIFY);
	assert_int_equal(verify(t,
			     make(json_pack("{s:s, s:s, s:i}", "alg", "ES256",
				      "kid", "ec1", "typ", 1),
				 claims(t, T0), k_ec, JOSE_ALG_ES256),
			     T0),
	    PC_ERR_VERIFY);
}

static void
test_assertion_JW07_tampered(void **state)
{
	struct tc *t = *state;
	char *a =
	    make(hdr("ES256", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256);
	char *dot1 = strchr(a, '.'), *dot2 = strchr(dot1 + 1, '.');
	json_t *p = claims(t, T0);
	char *ps = json_dumps(p, JSON_COMPACT), *p64 = b64(ps, strlen(ps));
	size_t n = (size_t)(dot1 - a) + strlen(p64) + strlen(dot2) + 2;
	char *forged = xmalloc(n);

	/* Another payload under the first one's header and signature. */
	snprintf(forged, n, "%.*s.%s%s", (int)(dot1 - a), a, p64, dot2);
	assert_int_equal(verify(t, forged, T0), PC_ERR_VERIFY);
	/* A JWE shape (five segments), JSON serialization. */
	assert_int_equal(
	    verify(t, xstrdup("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"), T0),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    verify(t, xstrdup("{\"payload\":\"e30\"}"), T0), PC_ERR_VERIFY);
	free(a);
	free(ps);
	free(p64);
	json_decref(p);
}

static void
test_assertion_JW08_parser(void **state)
{
	struct tc *t = *state;
	char payload[512], *a, *big;
	char id[CLIENT_ASSERTION_ID_MAX + 1];

	/* Duplicate claim names: refused, not last-wins. */
	snprintf(payload, sizeof(payload),
	    "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"exp\":%lld,"
	    "\"jti\":\"dup\",\"aud\":\"https://rp.example\"}",
	    t->id, t->id, ISSUER, (long long)(T0 + 60));
	a = make_raw("{\"alg\":\"ES256\",\"kid\":\"ec1\"}", payload, k_ec,
	    JOSE_ALG_ES256, NULL);
	assert_int_not_equal(client_assertion_subject(a, NULL, id), 0);
	assert_int_equal(verify(t, a, T0), PC_ERR_VERIFY);
	/* Duplicate header members. */
	snprintf(payload, sizeof(payload),
	    "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"exp\":%lld,"
	    "\"jti\":\"duph\"}",
	    t->id, t->id, ISSUER, (long long)(T0 + 60));
	a = make_raw("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"alg\":\"none\"}",
	    payload, k_ec, JOSE_ALG_ES256, NULL);
	assert_int_equal(verify(t, a, T0), PC_ERR_VERIFY);
	/* Oversized. */
	big = xmalloc(JWS_MAX_LEN + 2);
	memset(big, 'a', JWS_MAX_LEN + 1);
	big[10] = '.';
	big[20] = '.';
	big[JWS_MAX_LEN + 1] = '\0';
	assert_int_not_equal(client_assertion_subject(big, NULL, id), 0);
	assert_int_equal(verify(t, big, T0), PC_ERR_VERIFY);
	/* Stray characters. */
	a = make(hdr("ES256", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256);
	big = xmalloc(strlen(a) + 2);
	snprintf(big, strlen(a) + 2, "%s ", a);
	assert_int_equal(verify(t, big, T0), PC_ERR_VERIFY);
	free(a);
}

static void
test_assertion_subject(void **state)
{
	struct tc *t = *state;
	char id[CLIENT_ASSERTION_ID_MAX + 1], other[CLIENT_ID_LEN + 1];
	json_t *p;
	char *a;

	a = make(hdr("ES256", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256);
	assert_int_equal(client_assertion_subject(a, NULL, id), 0);
	assert_string_equal(id, t->id);
	assert_int_equal(client_assertion_subject(a, t->id, id), 0);
	client_id_new(other);
	/* The body's client_id must be the assertion's. */
	assert_int_equal(
	    client_assertion_subject(a, other, id), PC_ERR_INVALID);
	free(a);
	/* iss != sub. */
	p = claims(t, T0);
	json_object_set_new(p, "sub", json_string(other));
	a = make(hdr("ES256", "ec1"), p, k_ec, JOSE_ALG_ES256);
	assert_int_equal(client_assertion_subject(a, NULL, id), PC_ERR_INVALID);
	free(a);
	/* Not a client id. */
	p = claims(t, T0);
	json_object_set_new(p, "iss", json_string("../x"));
	json_object_set_new(p, "sub", json_string("../x"));
	a = make(hdr("ES256", "ec1"), p, k_ec, JOSE_ALG_ES256);
	assert_int_equal(client_assertion_subject(a, NULL, id), PC_ERR_INVALID);
	free(a);
	assert_int_equal(
	    client_assertion_subject("", NULL, id), PC_ERR_INVALID);
	assert_int_equal(
	    client_assertion_subject("a.b", NULL, id), PC_ERR_INVALID);
	assert_int_equal(
	    client_assertion_subject("a..c", NULL, id), PC_ERR_INVALID);
	assert_int_equal(
	    client_assertion_subject(NULL, NULL, id), PC_ERR_INVALID);
}

static void
test_assertion_client_must_use_it(void **state)
{
	struct tc *t = *state;
	char *a =
	    make(hdr("ES256", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256);

	free(t->client.auth_method);
	t->client.auth_method = xstrdup("client_secret_basic");
	assert_int_equal(
	    client_assertion_verify(&t->app, &t->client, a, T0), PC_ERR_VERIFY);
	free(t->client.auth_method);
	t->client.auth_method = xstrdup("private_key_jwt");
	free(t->client.jwks);
	t->client.jwks = NULL;
	assert_int_equal(
	    client_assertion_verify(&t->app, &t->client, a, T0), PC_ERR_VERIFY);
	free(a);
}

static void
test_assertion_store_failure_is_store_error(void **state)
{
	struct tc *t = *state;
	struct db_conn *c;

	assert_int_equal(db_conn(t->f->db, &c), 0);
	assert_int_equal(db_exec(c, "DROP TABLE assertion_jtis"), 0);
	assert_int_equal(
	    verify(t,
		make(hdr("ES256", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256),
		T0),
	    PC_ERR_STORE);
}

static void
test_assertion_store_jti_cache(void **state)
{
	struct tc *t = *state;
	struct db *db = t->f->db;
	int64_t n = -1;

	assert_int_equal(
	    store_assertion_jti_use(db, t->id, "h1", T0 + 10, T0), 0);
	assert_int_equal(store_assertion_jti_use(db, t->id, "h1", T0 + 10, T0),
	    PC_ERR_CONFLICT);
	/* Per client: the same jti of another client is its own. */
	assert_int_equal(
	    store_assertion_jti_use(db, "pcc_app", "h1", T0 + 10, T0), 0);
	/* An expired row no longer blocks, even before the purge. */
	assert_int_equal(
	    store_assertion_jti_use(db, t->id, "h1", T0 + 30, T0 + 10), 0);
	assert_int_equal(
	    store_assertion_jti_use(db, t->id, "h1", T0 + 30, T0 + 29),
	    PC_ERR_CONFLICT);
	assert_int_equal(store_assertion_jtis_purge(db, T0 + 10, &n), 0);
	assert_int_equal(n, 1); /* pcc_app's */
	assert_int_equal(store_assertion_jtis_purge(db, T0 + 30, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(
	    store_assertion_jti_use(db, t->id, "h1", T0 + 90, T0 + 31), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tc_setup, tc_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_assertion_each_alg_passes),
		T(test_assertion_TK09_replayed_jti),
		T(test_assertion_TK09_jti_rules),
		T(test_assertion_TK09_aud),
		T(test_assertion_TK09_iss_sub),
		T(test_assertion_JW04_times),
		T(test_assertion_JW01_none),
		T(test_assertion_JW02_confusion),
		T(test_assertion_JW03_key_selection),
		T(test_assertion_JW06_typ),
		T(test_assertion_JW07_tampered),
		T(test_assertion_JW08_parser),
		T(test_assertion_subject),
		T(test_assertion_client_must_use_it),
		T(test_assertion_store_failure_is_store_error),
		T(test_assertion_store_jti_cache),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
