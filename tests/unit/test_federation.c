/*
 * Workload federation (src/machine/federation.c, wif_verify.c,
 * src/store/federation.c; issue 14 item 5; SECURITY.md JW-01..06, TX-05):
 * the store's trusts, rules and replay cache, the rule language, the
 * checks of `federation add` and `rule add`, and every rule of subject
 * token verification attacked once beside a token that passes. A store
 * test: it runs on PostgreSQL and under fault injection too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "jose/jose.h"
#include "machine/machine.h"
#include "store/store.h"
#include "store_fixture.h"
#include "util/config.h"

#define T0 INT64_C(1800000000)
#define ISS "https://token.actions.example.com"
#define AUD "https://id.example.com"
/* The two service accounts tc_setup makes. */
static char svc1[PRINCIPAL_ID_MAX + 1], svc2[PRINCIPAL_ID_MAX + 1];
#define SVC svc1
#define SVC2 svc2

static EVP_PKEY *k_ec, *k_rs, *k_evil;
static char *jwks_text;

struct tc {
	char dir[STORE_FIXTURE_DIR_LEN];
	struct db *db;
	struct config cfg;
	struct fetch_policy p;
	char trust_id[PRINCIPAL_ID_MAX + 1];
	unsigned jti;
};

static void
add_jwk(json_t *keys, EVP_PKEY *k, enum jose_alg alg, const char *kid)
{
	json_t *jwk = NULL;

	if (jwk_from_pkey(k, alg, kid, &jwk) != 0)
		fail_msg("jwk_from_pkey %s", kid);
	json_array_append_new(keys, jwk);
}

static int
group_setup(void **state)
{
	json_t *doc = json_object(), *keys = json_array();

	(void)state;
	k_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k_rs = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_evil = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (k_ec == NULL || k_rs == NULL || k_evil == NULL)
		return -1;
	add_jwk(keys, k_ec, JOSE_ALG_ES256, "ec1");
	add_jwk(keys, k_rs, JOSE_ALG_RS256, "rs1");
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
	EVP_PKEY_free(k_evil);
	free(jwks_text);
	return 0;
}

/* A trust for ISS with jwks_text and rules for two repositories. */
static int
tc_setup(void **state)
{
	struct tc *t = calloc(1, sizeof(*t));
	struct store_wif_trust tr;
	struct store_wif_rule r1 = { 0 }, r2 = { 0 };
	const char *why = NULL;
	char err[128];
	int64_t no;

	if (t == NULL || store_fixture_new(t->dir, true, &t->db) != 0)
		return -1;
	t->cfg.outbound_allow_networks = (char *)"";
	t->cfg.outbound_allow_ports = (char *)"";
	t->cfg.outbound_ca_file = (char *)"";
	t->cfg.outbound_connect_timeout = 2;
	t->cfg.outbound_timeout = 2;
	t->cfg.outbound_max_size = 65536;
	t->cfg.jwks_cache_ttl = 300;
	t->cfg.jwks_refetch_interval = 60;
	if (fetch_policy_init(&t->cfg, &t->p, err, sizeof(err)) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		struct sa_fields in = { .name = i == 0 ? "api" : "web",
			.scopes = "orders:read orders:write" };
		struct store_service_account sa;

		if (service_account_create(t->db, &in, T0, &sa, &why) != 0)
			return -1;
		snprintf(i == 0 ? svc1 : svc2, sizeof(svc1), "%s", sa.id);
		store_service_account_clear(&sa);
	}
	memset(&tr, 0, sizeof(tr));
	tr.issuer = xstrdup(ISS);
	tr.jwks = xstrdup(jwks_text);
	tr.audience = xstrdup(AUD);
	tr.algs = xstrdup("ES256 RS256");
	tr.max_lifetime = 600;
	if (wif_trust_add(t->db, &t->p, &tr, T0, &why) != 0)
		return -1;
	snprintf(t->trust_id, sizeof(t->trust_id), "%s", tr.trust_id);
	store_wif_trust_clear(&tr);
	r1.sub_pattern = xstrdup("repo:acme/api:ref:refs/heads/*");
	r1.claims = xstrdup("{\"repository_owner\":\"acme\"}");
	r1.service_account_id = xstrdup(SVC);
	r1.scopes = xstrdup("orders:read");
	r2.sub_pattern = xstrdup("repo:acme/*");
	r2.service_account_id = xstrdup(SVC2);
	if (wif_rule_add(t->db, t->trust_id, &r1, T0, &no, &why) != 0 ||
	    no != 1 ||
	    wif_rule_add(t->db, t->trust_id, &r2, T0, &no, &why) != 0 ||
	    no != 2)
		return -1;
	free(r1.sub_pattern);
	free(r1.claims);
	free(r1.service_account_id);
	free(r1.scopes);
	free(r2.sub_pattern);
	free(r2.claims);
	free(r2.service_account_id);
	*state = t;
	return 0;
}

static int
tc_teardown(void **state)
{
	struct tc *t = *state;
	int r = store_fixture_close(t->dir, t->db);

	fetch_policy_free(&t->p);
	free(t);
	return r == 0 ? 0 : -1;
}

static char *
b64(const char *s, size_t n)
{
	char *out = xmalloc(b64url_encoded_len(n) + 1);

	b64url_encode((const uint8_t *)s, n, out);
	return out;
}

/* header.payload signed by k with alg, or HMAC keyed with hs, or none. */
static char *
make_raw(const char *hdr, const char *payload, EVP_PKEY *k, enum jose_alg alg,
    const uint8_t *hs, size_t hs_len)
{
	char *h = b64(hdr, strlen(hdr)), *p = b64(payload, strlen(payload));
	size_t in_len = strlen(h) + 1 + strlen(p), out_len;
	char *in = xmalloc(in_len + 1), *s64 = NULL, *out;
	uint8_t sig[JWS_SIG_MAX];
	size_t sig_len = sizeof(sig);
	unsigned hl = 0;

	snprintf(in, in_len + 1, "%s.%s", h, p);
	if (hs != NULL) {
		if (HMAC(EVP_sha256(), hs, (int)hs_len, (const uint8_t *)in,
			in_len, sig, &hl) == NULL)
			fail_msg("HMAC");
		s64 = b64((const char *)sig, hl);
	} else if (alg != JOSE_ALG_INVALID) {
		if (jws_sign_raw(k, alg, (const uint8_t *)in, in_len, sig,
			&sig_len) != 0)
			fail_msg("jws_sign_raw");
		s64 = b64((const char *)sig, sig_len);
	}
	out_len = in_len + 2 + (s64 != NULL ? strlen(s64) : 0);
	out = xmalloc(out_len);
	snprintf(out, out_len, "%s.%s", in, s64 != NULL ? s64 : "");
	free(h);
	free(p);
	free(in);
	free(s64);
	return out;
}

/* The claims of a good token for the first rule, made at now. */
static json_t *
claims(struct tc *t, int64_t now)
{
	char jti[32];

	snprintf(jti, sizeof(jti), "jti-%u", ++t->jti);
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss", ISS,
	    "sub", "repo:acme/api:ref:refs/heads/main", "repository_owner",
	    "acme", "aud", AUD, "iat", (json_int_t)now, "exp",
	    (json_int_t)now + 300, "jti", jti);
}

static char *
make(json_t *hdr, json_t *payload, EVP_PKEY *k, enum jose_alg alg)
{
	char *h = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
	char *p = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
	char *out = make_raw(h, p, k, alg, NULL, 0);

	free(h);
	free(p);
	json_decref(hdr);
	json_decref(payload);
	return out;
}

static json_t *
hdr(const char *alg, const char *kid)
{
	return json_pack("{s:s, s:s}", "alg", alg, "kid", kid);
}

/* wif_verify of tok (freed) at now; m gets the match. */
static int
verify_m(struct tc *t, char *tok, int64_t now, struct wif_match *m)
{
	const char *why = NULL;
	int r = wif_verify(t->db, &t->cfg, tok, strlen(tok), now, m, &why);

	assert_true(r == 0 ? why == NULL : why != NULL);
	free(tok);
	return r;
}

static int
verify(struct tc *t, char *tok, int64_t now)
{
	struct wif_match m;
	int r = verify_m(t, tok, now, &m);

	wif_match_clear(&m);
	return r;
}

/* An ES256 token at T0 with one claim replaced (NULL: removed). */
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
test_federation_TX05_good_token_maps_to_first_rule(void **state)
{
	struct tc *t = *state;
	struct wif_match m;
	json_t *p;

	assert_int_equal(
	    verify_m(t,
		make(hdr("ES256", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256),
		T0 + 5, &m),
	    0);
	assert_string_equal(m.trust_id, t->trust_id);
	assert_string_equal(m.service_account_id, SVC);
	assert_string_equal(m.scopes, "orders:read");
	assert_int_equal(m.rule_no, 1);
	assert_int_equal(m.accept_until, T0 + 300 + WIF_LEEWAY);
	wif_match_clear(&m);
	/* RS256 with the other key; aud as an array holding ours. */
	p = claims(t, T0);
	json_object_set_new(p, "aud", json_pack("[s, s]", "other", AUD));
	assert_int_equal(
	    verify_m(
		t, make(hdr("RS256", "rs1"), p, k_rs, JOSE_ALG_RS256), T0, &m),
	    0);
	wif_match_clear(&m);
	/* Another repository of the owner: the second rule, no scopes. */
	p = claims(t, T0);
	json_object_set_new(p, "sub", json_string("repo:acme/web:ref:x"));
	assert_int_equal(
	    verify_m(
		t, make(hdr("ES256", "ec1"), p, k_ec, JOSE_ALG_ES256), T0, &m),
	    0);
	assert_string_equal(m.service_account_id, SVC2);
	assert_null(m.scopes);
	assert_int_equal(m.rule_no, 2);
	wif_match_clear(&m);
}

static void
test_federation_TX05_replayed_jti(void **state)
{
	struct tc *t = *state;
	struct wif_match m;
	json_t *p = claims(t, T0);
	char *tok = make(hdr("ES256", "ec1"), p, k_ec, JOSE_ALG_ES256);
	char *again = xstrdup(tok);

	assert_int_equal(verify_m(t, tok, T0, &m), 0);
	assert_int_equal(wif_jti_consume(t->db, &m, T0), 0);
	wif_match_clear(&m);
	/* The same token again verifies, but its jti is spent. */
	assert_int_equal(verify_m(t, again, T0 + 1, &m), 0);
	assert_int_equal(wif_jti_consume(t->db, &m, T0 + 1), PC_ERR_VERIFY);
	wif_match_clear(&m);
}

static void
test_federation_JW05_issuer_and_audience(void **state)
{
	struct tc *t = *state;
	json_t *p;

	/* No trust for the issuer. */
	assert_int_equal(
	    with_claim(t, "iss", json_string("https://evil.example.com"), T0),
	    PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "iss", NULL, T0), PC_ERR_VERIFY);
	/* Signed by a key that is not the trust's, with its kid. */
	assert_int_equal(verify(t,
			     make(hdr("ES256", "ec1"), claims(t, T0), k_evil,
				 JOSE_ALG_ES256),
			     T0),
	    PC_ERR_VERIFY);
	/* aud missing, another party's, an array without ours, a prefix. */
	assert_int_equal(with_claim(t, "aud", NULL, T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "aud", json_string("https://api.other"), T0),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "aud", json_pack("[s]", "x"), T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "aud", json_string("https://id.example.co"), T0),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "aud", json_pack("[]"), T0), PC_ERR_VERIFY);
	p = claims(t, T0);
	json_object_set_new(p, "aud", json_integer(1));
	assert_int_equal(
	    verify(t, make(hdr("ES256", "ec1"), p, k_ec, JOSE_ALG_ES256), T0),
	    PC_ERR_VERIFY);
}

static void
test_federation_JW04_times(void **state)
{
	struct tc *t = *state;

	/* exp required; expired past the leeway; just inside it passes. */
	assert_int_equal(with_claim(t, "exp", NULL, T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "exp", json_string("soon"), T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "exp", json_integer(T0 + 300), T0 + 300 + WIF_LEEWAY),
	    PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "exp", json_integer(T0 + 300),
			     T0 + 300 + WIF_LEEWAY - 1),
	    0);
	/* Not yet valid; iat in the future. */
	assert_int_equal(
	    with_claim(t, "nbf", json_integer(T0 + 120), T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "iat", json_integer(T0 + 120), T0), PC_ERR_VERIFY);
	/* Longer-lived than the trust's 600 s, with or without iat. */
	assert_int_equal(
	    with_claim(t, "exp", json_integer(T0 + 601), T0), PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "iat", NULL, T0), 0);
	{
		json_t *p = claims(t, T0);

		json_object_del(p, "iat");
		json_object_set_new(p, "exp", json_integer(T0 + 900));
		assert_int_equal(
		    verify(t,
			make(hdr("ES256", "ec1"), p, k_ec, JOSE_ALG_ES256), T0),
		    PC_ERR_VERIFY);
	}
}

static void
test_federation_JW01_JW02_alg_confusion(void **state)
{
	struct tc *t = *state;
	char *h, *p, *tok;
	unsigned char *der = NULL;
	int der_len;

	{
		json_t *c = claims(t, T0);

		p = json_dumps(c, JSON_COMPACT);
		json_decref(c);
	}
	/* alg none, in every spelling, with and without a signature. */
	tok = make_raw("{\"alg\":\"none\",\"kid\":\"ec1\"}", p, NULL,
	    JOSE_ALG_INVALID, NULL, 0);
	assert_int_equal(verify(t, tok, T0), PC_ERR_VERIFY);
	tok =
	    make_raw("{\"alg\":\"None\"}", p, NULL, JOSE_ALG_INVALID, NULL, 0);
	assert_int_equal(verify(t, tok, T0), PC_ERR_VERIFY);
	/* HS256 keyed with the trust's public key (its DER and its JWKS). */
	der_len = i2d_PUBKEY(k_rs, &der);
	assert_true(der_len > 0);
	tok = make_raw("{\"alg\":\"HS256\",\"kid\":\"rs1\"}", p, NULL,
	    JOSE_ALG_INVALID, der, (size_t)der_len);
	assert_int_equal(verify(t, tok, T0), PC_ERR_VERIFY);
	tok = make_raw("{\"alg\":\"HS256\"}", p, NULL, JOSE_ALG_INVALID,
	    (const uint8_t *)jwks_text, strlen(jwks_text));
	assert_int_equal(verify(t, tok, T0), PC_ERR_VERIFY);
	OPENSSL_free(der);
	/* The RSA key's kid with an alg that key does not have. */
	h = xstrdup("{\"alg\":\"PS256\",\"kid\":\"rs1\"}");
	tok = make_raw(h, p, k_rs, JOSE_ALG_PS256, NULL, 0);
	assert_int_equal(verify(t, tok, T0), PC_ERR_VERIFY);
	free(h);
	/* A key carried by the token itself (JW-03). */
	{
		json_t *jh = hdr("ES256", "ec1"), *jwk = NULL;

		assert_int_equal(
		    jwk_from_pkey(k_evil, JOSE_ALG_ES256, "ec1", &jwk), 0);
		json_object_set_new(jh, "jwk", jwk);
		assert_int_equal(
		    verify(
			t, make(jh, claims(t, T0), k_evil, JOSE_ALG_ES256), T0),
		    PC_ERR_VERIFY);
	}
	free(p);
}

static void
test_federation_JW06_typ(void **state)
{
	struct tc *t = *state;
	json_t *h;

	h = hdr("ES256", "ec1");
	json_object_set_new(h, "typ", json_string("at+jwt"));
	assert_int_equal(
	    verify(t, make(h, claims(t, T0), k_ec, JOSE_ALG_ES256), T0),
	    PC_ERR_VERIFY);
	h = hdr("ES256", "ec1");
	json_object_set_new(h, "typ", json_string("JWT"));
	assert_int_equal(
	    verify(t, make(h, claims(t, T0), k_ec, JOSE_ALG_ES256), T0), 0);
}

static void
test_federation_TX05_rules_and_required_claims(void **state)
{
	struct tc *t = *state;

	/* A sub no rule matches; a claim that differs; sub missing. */
	assert_int_equal(
	    with_claim(
		t, "sub", json_string("repo:evil/api:ref:refs/heads/main"), T0),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "sub", json_string("repo:acme"), T0), PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "sub", NULL, T0), PC_ERR_VERIFY);
	assert_int_equal(with_claim(t, "jti", NULL, T0), PC_ERR_VERIFY);
	assert_int_equal(
	    with_claim(t, "jti", json_string(""), T0), PC_ERR_VERIFY);
	{
		struct wif_match m;
		json_t *p = claims(t, T0);

		/* Owner differs: rule 1 fails, rule 2 ("repo:acme/" and a star)
		 * catches it with the other account. */
		json_object_set_new(
		    p, "repository_owner", json_string("acme-evil"));
		assert_int_equal(
		    verify_m(t,
			make(hdr("ES256", "ec1"), p, k_ec, JOSE_ALG_ES256), T0,
			&m),
		    0);
		assert_string_equal(m.service_account_id, SVC2);
		wif_match_clear(&m);
	}
}

static void
test_federation_rule_language(void **state)
{
	json_t *c, *p;

	(void)state;
	assert_true(wif_sub_match("abc", "abc"));
	assert_false(wif_sub_match("abc", "abcd"));
	assert_false(wif_sub_match("abc", "xabc"));
	assert_true(wif_sub_match("a*", "a"));
	assert_true(wif_sub_match("a*c", "abbbc"));
	assert_false(wif_sub_match("a*c", "abbbcd"));
	assert_true(wif_sub_match("*:main", "repo:x:main"));
	assert_true(wif_sub_match(
	    "system:serviceaccount:prod:*", "system:serviceaccount:prod:api"));
	assert_false(wif_sub_match("system:serviceaccount:prod:*",
	    "system:serviceaccount:production:api"));
	assert_true(wif_sub_match("a*b*c", "a-b-b-c"));
	assert_false(wif_sub_match("a*b*c", "a-c-b"));
	assert_true(wif_sub_match("?", "?")); /* no other wildcard */
	assert_false(wif_sub_match("?", "a"));
	assert_false(wif_sub_match("a", NULL));
	c = json_pack("{s:s}", "env", "prod");
	p = json_pack("{s:s, s:s}", "env", "prod", "x", "y");
	assert_true(wif_claims_match(c, p));
	json_object_set_new(p, "env", json_string("prod2"));
	assert_false(wif_claims_match(c, p));
	json_object_set_new(p, "env", json_true());
	assert_false(wif_claims_match(c, p));
	json_object_del(p, "env");
	assert_false(wif_claims_match(c, p));
	json_decref(c);
	json_decref(p);
}

static void
test_federation_add_checks(void **state)
{
	struct tc *t = *state;
	struct store_wif_trust tr;
	struct store_wif_rule r = { 0 };
	const char *why;
	int64_t no;

	memset(&tr, 0, sizeof(tr));
	tr.issuer = xstrdup("http://insecure.example.com");
	tr.jwks = xstrdup(jwks_text);
	tr.audience = xstrdup(AUD);
	tr.algs = xstrdup("ES256");
	tr.max_lifetime = 600;
	assert_int_equal(
	    wif_trust_add(t->db, &t->p, &tr, T0, &why), PC_ERR_INVALID);
	free(tr.issuer);
	tr.issuer = xstrdup("https://k8s.example.com");
	/* none and HS* are no algorithm at all. */
	free(tr.algs);
	tr.algs = xstrdup("none");
	assert_int_equal(
	    wif_trust_add(t->db, &t->p, &tr, T0, &why), PC_ERR_INVALID);
	free(tr.algs);
	tr.algs = xstrdup("HS256");
	assert_int_equal(
	    wif_trust_add(t->db, &t->p, &tr, T0, &why), PC_ERR_INVALID);
	free(tr.algs);
	tr.algs = xstrdup("ES256");
	/* A JWKS with private material (JW-09). */
	free(tr.jwks);
	tr.jwks = xstrdup("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}");
	assert_int_equal(
	    wif_trust_add(t->db, &t->p, &tr, T0, &why), PC_ERR_INVALID);
	/* A jwks_uri that is not https, or on a port not allowed. */
	free(tr.jwks);
	tr.jwks = NULL;
	tr.jwks_uri = xstrdup("http://k8s.example.com/jwks");
	assert_int_equal(
	    wif_trust_add(t->db, &t->p, &tr, T0, &why), PC_ERR_INVALID);
	free(tr.jwks_uri);
	tr.jwks_uri = xstrdup("https://k8s.example.com:6443/jwks");
	assert_int_equal(
	    wif_trust_add(t->db, &t->p, &tr, T0, &why), PC_ERR_INVALID);
	tr.max_lifetime = 10;
	assert_int_equal(
	    wif_trust_add(t->db, &t->p, &tr, T0, &why), PC_ERR_INVALID);
	/* The same issuer twice. */
	free(tr.jwks_uri);
	tr.jwks_uri = xstrdup("https://k8s.example.com/jwks");
	tr.max_lifetime = 600;
	free(tr.issuer);
	tr.issuer = xstrdup(ISS);
	assert_int_equal(
	    wif_trust_add(t->db, &t->p, &tr, T0, &why), PC_ERR_CONFLICT);
	store_wif_trust_clear(&tr);

	/* Rules: '*' alone, reserved claims, a non-account, bad scope. */
	r.sub_pattern = xstrdup("**");
	r.service_account_id = xstrdup(SVC);
	assert_int_equal(wif_rule_add(t->db, t->trust_id, &r, T0, &no, &why),
	    PC_ERR_INVALID);
	free(r.sub_pattern);
	r.sub_pattern = xstrdup("a\nb");
	assert_int_equal(wif_rule_add(t->db, t->trust_id, &r, T0, &no, &why),
	    PC_ERR_INVALID);
	free(r.sub_pattern);
	r.sub_pattern = xstrdup("x");
	r.claims = xstrdup("{\"aud\":\"x\"}");
	assert_int_equal(wif_rule_add(t->db, t->trust_id, &r, T0, &no, &why),
	    PC_ERR_INVALID);
	free(r.claims);
	r.claims = xstrdup("{\"n\":1}");
	assert_int_equal(wif_rule_add(t->db, t->trust_id, &r, T0, &no, &why),
	    PC_ERR_INVALID);
	free(r.claims);
	r.claims = NULL;
	free(r.service_account_id);
	r.service_account_id = xstrdup("usr_AAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(wif_rule_add(t->db, t->trust_id, &r, T0, &no, &why),
	    PC_ERR_INVALID);
	free(r.service_account_id);
	r.service_account_id = xstrdup("svc_CCCCCCCCCCCCCCCCCCCCCC");
	assert_int_equal(wif_rule_add(t->db, t->trust_id, &r, T0, &no, &why),
	    PC_ERR_INVALID);
	free(r.service_account_id);
	r.service_account_id = xstrdup(SVC);
	r.scopes = xstrdup("a  b");
	assert_int_equal(wif_rule_add(t->db, t->trust_id, &r, T0, &no, &why),
	    PC_ERR_INVALID);
	free(r.scopes);
	r.scopes = NULL;
	assert_int_equal(wif_rule_add(t->db, "wif_CCCCCCCCCCCCCCCCCCCCCC", &r,
			     T0, &no, &why),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    wif_rule_add(t->db, t->trust_id, &r, T0, &no, &why), 0);
	assert_int_equal(no, 3);
	free(r.sub_pattern);
	free(r.claims);
	free(r.service_account_id);
}

static void
test_federation_store_trusts(void **state)
{
	struct tc *t = *state;
	struct store_wif_trust tr, *v = NULL;
	struct wif_match m;
	size_t n = 0;
	int64_t deleted = -1;

	assert_int_equal(store_wif_trust_get(t->db, t->trust_id, &tr), 0);
	assert_string_equal(tr.issuer, ISS);
	assert_non_null(tr.jwks);
	assert_null(tr.jwks_uri);
	assert_int_equal(tr.n_rules, 2);
	assert_int_equal(tr.rules[0].rule_no, 1);
	assert_string_equal(tr.rules[1].sub_pattern, "repo:acme/*");
	assert_string_equal(tr.rules[1].claims, "{}");
	assert_null(tr.rules[1].scopes);
	store_wif_trust_clear(&tr);
	assert_int_equal(store_wif_trusts_list(t->db, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].n_rules, 2);
	store_wif_trusts_free(v, n);
	assert_int_equal(wif_trust_live(t->db, t->trust_id), 0);

	/* Removing a rule: the next token falls to the other one. */
	assert_int_equal(store_wif_rule_remove(t->db, t->trust_id, 1), 0);
	assert_int_equal(
	    store_wif_rule_remove(t->db, t->trust_id, 1), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    verify_m(t,
		make(hdr("ES256", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256),
		T0, &m),
	    0);
	assert_string_equal(m.service_account_id, SVC2);
	assert_int_equal(wif_jti_consume(t->db, &m, T0), 0);
	wif_match_clear(&m);

	/* Deleting the trust: rules and replay rows go, tokens and the
	 * credential id die (liveness). */
	assert_int_equal(store_wif_trust_delete(t->db, t->trust_id), 0);
	assert_int_equal(
	    store_wif_trust_delete(t->db, t->trust_id), PC_ERR_NOT_FOUND);
	assert_int_equal(wif_trust_live(t->db, t->trust_id), PC_ERR_VERIFY);
	assert_int_equal(wif_trust_live(t->db, "svc_x"), PC_ERR_VERIFY);
	assert_int_equal(
	    verify(t,
		make(hdr("ES256", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256),
		T0),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    store_wif_jtis_purge(t->db, INT64_MAX / 2, &deleted), 0);
	assert_int_equal(deleted, 0);
}

static void
test_federation_store_jti_cache(void **state)
{
	struct tc *t = *state;
	struct db *db = t->db;
	int64_t n = -1;

	assert_int_equal(
	    store_wif_jti_use(db, t->trust_id, "h1", T0 + 10, T0), 0);
	assert_int_equal(store_wif_jti_use(db, t->trust_id, "h1", T0 + 10, T0),
	    PC_ERR_CONFLICT);
	/* An expired row no longer blocks, even before the purge. */
	assert_int_equal(
	    store_wif_jti_use(db, t->trust_id, "h1", T0 + 30, T0 + 10), 0);
	assert_int_equal(
	    store_wif_jti_use(db, t->trust_id, "h2", T0 + 20, T0 + 10), 0);
	assert_int_equal(store_wif_jtis_purge(db, T0 + 20, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(
	    store_wif_jti_use(db, t->trust_id, "h1", T0 + 30, T0 + 29),
	    PC_ERR_CONFLICT);
}

static void
test_federation_store_failure_is_store_error(void **state)
{
	struct tc *t = *state;
	struct db_conn *c;
	struct wif_match m;

	assert_int_equal(
	    verify_m(t,
		make(hdr("ES256", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256),
		T0, &m),
	    0);
	assert_int_equal(db_conn(t->db, &c), 0);
	assert_int_equal(db_exec(c, "DROP TABLE workload_jtis"), 0);
	assert_int_equal(wif_jti_consume(t->db, &m, T0), PC_ERR_STORE);
	wif_match_clear(&m);
	assert_int_equal(db_exec(c, "DROP TABLE workload_rules"), 0);
	assert_int_equal(
	    verify(t,
		make(hdr("ES256", "ec1"), claims(t, T0), k_ec, JOSE_ALG_ES256),
		T0),
	    PC_ERR_STORE);
}

static void
test_federation_TX05_liveness_follows_the_trust(void **state)
{
	struct tc *t = *state;
	struct sa_fields in = { .name = "deployer", .scopes = "orders:read" };
	struct store_service_account sa;
	const char *why = NULL;

	assert_int_equal(service_account_create(t->db, &in, T0, &sa, &why), 0);
	/* A token minted through the trust lives while both do. */
	assert_int_equal(
	    machine_token_live(t->db, sa.id, t->trust_id, T0, T0), 0);
	assert_int_equal(machine_principal_live(
			     t->db, sa.id, "wif_CCCCCCCCCCCCCCCCCCCCCC", T0),
	    PC_ERR_VERIFY);
	assert_int_equal(store_wif_trust_delete(t->db, t->trust_id), 0);
	assert_int_equal(machine_token_live(t->db, sa.id, t->trust_id, T0, T0),
	    PC_ERR_VERIFY);
	store_service_account_clear(&sa);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tc_setup, tc_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_federation_TX05_good_token_maps_to_first_rule),
		T(test_federation_TX05_replayed_jti),
		T(test_federation_JW05_issuer_and_audience),
		T(test_federation_JW04_times),
		T(test_federation_JW01_JW02_alg_confusion),
		T(test_federation_JW06_typ),
		T(test_federation_TX05_rules_and_required_claims),
		cmocka_unit_test(test_federation_rule_language),
		T(test_federation_add_checks),
		T(test_federation_store_trusts),
		T(test_federation_store_jti_cache),
		T(test_federation_store_failure_is_store_error),
		T(test_federation_TX05_liveness_follows_the_trust),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
