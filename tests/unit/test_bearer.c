/*
 * The access-token check behind /userinfo, /introspect and /revoke
 * (src/oauth/bearer.c), attacked: alg none in every case (JW-01), HS256
 * keyed with our EC public key (JW-02), unknown and injected kids and
 * token-supplied keys (JW-03), exp at exactly exp and an iat from the
 * future (JW-04, TK-13), wrong iss or aud (JW-05, TK-12), an ID token
 * used as a bearer (JW-06), a tampered payload (JW-07), oversized and
 * malformed tokens (JW-08), a revoked jti (IR-04), a revoked, unknown or
 * foreign family (TK-01, IR-06, RT-05), a disabled, expired or deleted
 * service account and a dead credential (SS-08 for machines), and a
 * failing store (503, never a pass). Plus the read-only refresh-token lookup.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store_fixture.h"
#include "store/store.h"
#include "util/config.h"

#define T0 INT64_C(2000000000)
#define ISS "https://id.example.com"
#define TTL 300

struct fixture {
	char dir[64];
	char mk_path[128];
	struct config cfg;
	struct masterkey *mk;
	struct db *db;
	struct signer *s;
	struct app app;
	struct store_user alice;
	EVP_PKEY *es_pub; /* our ES256 public key, from the JWKS */
	char es_kid[128];
	EVP_PKEY *evil; /* an attacker's P-256 key */
};

static void
cfg_set(struct config *c, const char *name, const char *value)
{
	char err[256] = "";

	if (config_set(c, name, value, CONFIG_SRC_FLAG, err, sizeof(err)) != 0)
		fail_msg("config_set %s: %s", name, err);
}

static int
load_es_pub(struct fixture *f)
{
	char *text = NULL;
	size_t len, i;
	json_t *jwks, *jwk;
	int r = -1;

	if (signer_jwks(f->s, T0 + 1, &text, &len) != 0)
		return -1;
	jwks = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	json_array_foreach(json_object_get(jwks, "keys"), i, jwk)
	{
		const char *alg =
		    json_string_value(json_object_get(jwk, "alg"));

		if (alg == NULL || strcmp(alg, "ES256") != 0)
			continue;
		snprintf(f->es_kid, sizeof(f->es_kid), "%s",
		    json_string_value(json_object_get(jwk, "kid")));
		if (jwk_to_pkey(jwk, JOSE_ALG_ES256, &f->es_pub) == 0)
			r = 0;
		break;
	}
	json_decref(jwks);
	return r;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	enum masterkey_source src;
	struct db_conn *c;
	char err[512] = "";

	if (f == NULL)
		return -1;
	unsetenv("PORTCULLIS_MASTER_KEY");
	if (store_fixture_dir(f->dir) != 0) {
		free(f);
		return -1;
	}
	snprintf(f->mk_path, sizeof(f->mk_path), "%s/master.key", f->dir);
	config_defaults(&f->cfg);
	cfg_set(&f->cfg, "data_dir", f->dir);
	cfg_set(&f->cfg, "issuer", ISS);
	cfg_set(&f->cfg, "rsa_key_bits", "2048");
	cfg_set(&f->cfg, "access_token_ttl", "300");
	if (config_finish(&f->cfg, err, sizeof(err)) != 0 ||
	    masterkey_create_file(f->mk_path, err, sizeof(err)) != 0 ||
	    masterkey_load(&f->cfg, false, &f->mk, &src, err, sizeof(err)) !=
		0 ||
	    store_fixture_open(f->dir, true, &f->db) != 0 ||
	    signer_open(f->db, f->mk, &f->cfg, true, T0, &f->s) != 0 ||
	    load_es_pub(f) != 0 ||
	    user_create(f->db, "alice@example.com", "Alice", true, &f->alice) !=
		0 ||
	    db_conn(f->db, &c) != 0 ||
	    db_exec(c,
		"INSERT INTO clients (client_id, name, is_public,"
		" token_endpoint_auth_method, grant_types, scopes,"
		" id_token_signed_response_alg, first_party, created_at,"
		" updated_at) VALUES"
		" ('pcc_app', 'App', 0, 'client_secret_basic',"
		" 'authorization_code', 'openid', 'RS256', 0, 1, 1),"
		" ('pcc_other', 'Other', 0, 'client_secret_basic',"
		" 'authorization_code', 'openid', 'RS256', 0, 1, 1)") != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	f->evil = EVP_EC_gen("P-256");
	if (f->evil == NULL)
		return -1;
	f->app.cfg = &f->cfg;
	f->app.db = f->db;
	f->app.mk = f->mk;
	f->app.signer = f->s;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	EVP_PKEY_free(f->es_pub);
	EVP_PKEY_free(f->evil);
	store_user_clear(&f->alice);
	signer_free(f->s);
	masterkey_free(f->mk);
	config_free(&f->cfg);
	(void)store_fixture_close(f->dir, f->db);
	free(f);
	return 0;
}

/* A client_credentials token of pcc_app (sub NULL) or a user token. */
static char *
mint(struct fixture *f, const char *sub, const char *client, const char *gid,
    const char *scope, int64_t now, char jti[TOKEN_JTI_LEN + 1])
{
	struct token_access_in in = { sub, client, ISS, scope, 0, NULL, "pwd",
		gid, NULL, NULL, 0, 0, NULL, NULL, NULL };
	char *jwt = NULL, j[TOKEN_JTI_LEN + 1];

	assert_int_equal(
	    token_mint_access(f->s, &f->cfg, &in, now, &jwt, jti ? jti : j), 0);
	return jwt;
}

static int
check(struct fixture *f, const char *tok, int64_t now)
{
	struct bearer b;
	int r = bearer_verify(&f->app, tok, strlen(tok), now, &b);

	if (r == 0)
		bearer_clear(&b);
	return r;
}

static char *
b64(const void *p, size_t n)
{
	char *s = malloc(b64url_encoded_len(n) + 1);

	assert_non_null(s);
	b64url_encode(p, n, s);
	return s;
}

/* header.payload.sig from raw JSON texts and a raw signature. */
static char *
assemble(const char *hdr, const char *payload, const uint8_t *sig, size_t n)
{
	char *h = b64(hdr, strlen(hdr)), *p = b64(payload, strlen(payload));
	char *s = b64(sig, n);
	size_t len = strlen(h) + strlen(p) + strlen(s) + 3;
	char *out = malloc(len);

	assert_non_null(out);
	snprintf(out, len, "%s.%s.%s", h, p, s);
	free(h);
	free(p);
	free(s);
	return out;
}

/* The decoded payload JSON of a compact token (for forging copies). */
static char *
payload_of(const char *jwt)
{
	const char *a = strchr(jwt, '.'), *b = strchr(a + 1, '.');
	size_t n = 0;
	char *out = calloc(1, (size_t)(b - a));

	assert_non_null(out);
	assert_int_equal(b64url_decode(a + 1, (size_t)(b - a - 1),
			     (uint8_t *)out, (size_t)(b - a), &n),
	    0);
	out[n] = '\0';
	return out;
}

/* Signs header.payload with pkey (ES256) under an arbitrary header. */
static char *
sign_evil(EVP_PKEY *pkey, const char *hdr, const char *payload)
{
	char *h = b64(hdr, strlen(hdr)), *p = b64(payload, strlen(payload));
	size_t n = strlen(h) + strlen(p) + 2, sig_len = 0;
	char *input = malloc(n), *out;
	uint8_t sig[JWS_SIG_MAX];

	assert_non_null(input);
	snprintf(input, n, "%s.%s", h, p);
	assert_int_equal(
	    jws_sign_raw(pkey, JOSE_ALG_ES256, (const uint8_t *)input,
		strlen(input), sig, &sig_len),
	    0);
	out = assemble(hdr, payload, sig, sig_len);
	free(h);
	free(p);
	free(input);
	return out;
}

static void
test_bearer_accepts_our_token(void **state)
{
	struct fixture *f = *state;
	char jti[TOKEN_JTI_LEN + 1];
	char *jwt = mint(f, NULL, "pcc_app", NULL, "api.read", T0 + 1, jti);
	struct bearer b;

	assert_int_equal(
	    bearer_verify(&f->app, jwt, strlen(jwt), T0 + 2, &b), 0);
	assert_string_equal(b.sub, "pcc_app");
	assert_string_equal(b.client_id, "pcc_app");
	assert_string_equal(b.scope, "api.read");
	assert_string_equal(b.jti, jti);
	assert_null(b.gid);
	assert_int_equal(b.iat, T0 + 1);
	assert_int_equal(b.exp, T0 + 1 + TTL);
	bearer_clear(&b);
	free(jwt);
}

static void new_family(struct fixture *f, const char *id, const char *client);

/* Issue 15: cnf.jkt, may_act and the act chain round-trip through the
 * mint and the verifier (depth, innermost actor). A delegated token is
 * alive only as a user's grant (gid) whose client is the first actor,
 * held by the outermost actor, all of them live clients (TX-03). */
static void
test_bearer_cnf_act_may_act(void **state)
{
	struct fixture *f = *state;
	json_t *act = json_pack(
	    "{s:s, s:{s:s}}", "sub", "pcc_other", "act", "sub", "pcc_app");
	struct token_access_in in = { f->alice.id, "pcc_other", ISS, "api.read",
		0, NULL, NULL, "fam_act", NULL, NULL, 0, 0, "jkt-thumb", act,
		"pcc_next" };
	char *jwt = NULL, jti[TOKEN_JTI_LEN + 1];
	struct bearer b;

	new_family(f, "fam_act", "pcc_app");
	assert_int_equal(
	    token_mint_access(f->s, &f->cfg, &in, T0 + 1, &jwt, jti), 0);
	assert_int_equal(
	    bearer_verify(&f->app, jwt, strlen(jwt), T0 + 2, &b), 0);
	assert_string_equal(b.cnf_jkt, "jkt-thumb");
	assert_string_equal(b.may_act, "pcc_next");
	assert_int_equal(b.act_depth, 2);
	assert_string_equal(b.act_root, "pcc_app");
	assert_true(json_equal(b.act, act));
	bearer_clear(&b);
	free(jwt);
	json_decref(act);
}

static void
test_bearer_JW01_alg_none_variants(void **state)
{
	static const char *const algs[] = { "none", "None", "NONE", "noNE" };
	struct fixture *f = *state;
	char *jwt = mint(f, NULL, "pcc_app", NULL, "api.read", T0 + 1, NULL);
	char *payload = payload_of(jwt), hdr[256], *t;
	const uint8_t junk[1] = { 0 };

	for (size_t i = 0; i < PC_NELEM(algs); i++) {
		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
		    algs[i], f->es_kid);
		/* Empty signature: "header.payload." */
		t = assemble(hdr, payload, junk, 0);
		assert_int_equal(check(f, t, T0 + 2), PC_ERR_VERIFY);
		free(t);
		t = assemble(hdr, payload, junk, 1);
		assert_int_equal(check(f, t, T0 + 2), PC_ERR_VERIFY);
		free(t);
	}
	free(payload);
	free(jwt);
}

/* HMAC-SHA256 of in under key. */
static void
hmac256(const void *key, size_t key_len, const char *in, uint8_t out[32])
{
	size_t n = 0;

	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key,
	    key_len, (const unsigned char *)in, strlen(in), out, 32, &n));
	assert_int_equal(n, 32);
}

static void
test_bearer_JW02_hs256_keyed_with_our_public_key(void **state)
{
	struct fixture *f = *state;
	char *jwt = mint(f, NULL, "pcc_app", NULL, "api.read", T0 + 1, NULL);
	char *payload = payload_of(jwt), hdr[256], *h, *p, *input, *t;
	unsigned char *der = NULL;
	uint8_t mac[32], point[65];
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long pem_len;
	int der_len;
	size_t n, point_len = 0;

	/* Every encoding of our public key a confused verifier might use. */
	der_len = i2d_PUBKEY(f->es_pub, &der);
	assert_true(der_len > 0);
	assert_int_equal(PEM_write_bio_PUBKEY(bio, f->es_pub), 1);
	pem_len = BIO_get_mem_data(bio, &pem);
	assert_true(pem_len > 0);
	assert_int_equal(
	    EVP_PKEY_get_octet_string_param(f->es_pub, OSSL_PKEY_PARAM_PUB_KEY,
		point, sizeof(point), &point_len),
	    1);
	for (int alg = 0; alg < 2; alg++) {
		const struct {
			const void *k;
			size_t n;
		} keys[] = { { der, (size_t)der_len }, { pem, (size_t)pem_len },
			{ point, point_len } };

		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
		    alg == 0 ? "HS256" : "ES256", f->es_kid);
		h = b64(hdr, strlen(hdr));
		p = b64(payload, strlen(payload));
		n = strlen(h) + strlen(p) + 2;
		input = malloc(n);
		assert_non_null(input);
		snprintf(input, n, "%s.%s", h, p);
		for (size_t i = 0; i < PC_NELEM(keys); i++) {
			hmac256(keys[i].k, keys[i].n, input, mac);
			t = assemble(hdr, payload, mac, sizeof(mac));
			assert_int_equal(check(f, t, T0 + 2), PC_ERR_VERIFY);
			free(t);
		}
		free(input);
		free(h);
		free(p);
	}
	OPENSSL_free(der);
	BIO_free(bio);
	free(payload);
	free(jwt);
}

static void
test_bearer_JW03_kid_injection_and_token_keys(void **state)
{
	struct fixture *f = *state;
	char *jwt = mint(f, NULL, "pcc_app", NULL, "api.read", T0 + 1, NULL);
	char *payload = payload_of(jwt), hdr[12288], *t, *big;
	json_t *jwk = NULL;
	char *jwk_text;
	const char *kids[] = { "../../../../dev/null", "' OR '1'='1",
		"x\"; DROP TABLE signing_keys; --", "unknown-kid", "" };

	/* The attacker's key under injected, unknown or our own kid. */
	for (size_t i = 0; i < PC_NELEM(kids); i++) {
		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
		    kids[i]);
		t = sign_evil(f->evil, hdr, payload);
		assert_int_equal(check(f, t, T0 + 2), PC_ERR_VERIFY);
		free(t);
	}
	snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", f->es_kid);
	t = sign_evil(f->evil, hdr, payload);
	assert_int_equal(check(f, t, T0 + 2), PC_ERR_VERIFY);
	free(t);
	/* A 10 KB kid. */
	big = malloc(10241);
	assert_non_null(big);
	memset(big, 'k', 10240);
	big[10240] = '\0';
	snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", big);
	t = sign_evil(f->evil, hdr, payload);
	assert_int_equal(check(f, t, T0 + 2), PC_ERR_VERIFY);
	free(t);
	free(big);
	/* The token brings its own key, or a URL to one. */
	assert_int_equal(
	    jwk_from_pkey(f->evil, JOSE_ALG_ES256, "evil", &jwk), 0);
	jwk_text = json_dumps(jwk, JSON_COMPACT);
	snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"jwk\":%s}", jwk_text);
	t = sign_evil(f->evil, hdr, payload);
	assert_int_equal(check(f, t, T0 + 2), PC_ERR_VERIFY);
	free(t);
	snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"at+jwt\","
	    "\"jku\":\"https://evil.example/jwks\"}",
	    f->es_kid);
	t = sign_evil(f->evil, hdr, payload);
	assert_int_equal(check(f, t, T0 + 2), PC_ERR_VERIFY);
	free(t);
	snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"x5u\":\"https://evil.example/cert.pem\"}");
	t = sign_evil(f->evil, hdr, payload);
	assert_int_equal(check(f, t, T0 + 2), PC_ERR_VERIFY);
	free(t);
	free(jwk_text);
	json_decref(jwk);
	free(payload);
	free(jwt);
}

static void
test_bearer_JW04_TK13_exp_and_iat(void **state)
{
	struct fixture *f = *state;
	char *jwt = mint(f, NULL, "pcc_app", NULL, "api.read", T0 + 100, NULL);

	/* Alive until the second before exp; dead at exactly exp. */
	assert_int_equal(check(f, jwt, T0 + 100 + TTL - 1), 0);
	assert_int_equal(check(f, jwt, T0 + 100 + TTL), PC_ERR_VERIFY);
	assert_int_equal(check(f, jwt, T0 + 100 + TTL + 3600), PC_ERR_VERIFY);
	/* Issued in the future, beyond the leeway. */
	assert_int_equal(check(f, jwt, T0 + 100 - BEARER_IAT_LEEWAY), 0);
	assert_int_equal(
	    check(f, jwt, T0 + 100 - BEARER_IAT_LEEWAY - 1), PC_ERR_VERIFY);
	free(jwt);
}

static json_t *
base_claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss", ISS,
	    "aud", ISS, "sub", "pcc_app", "client_id", "pcc_app", "iat",
	    (json_int_t)(T0 + 1), "exp", (json_int_t)(T0 + 1 + TTL), "jti",
	    "j1");
}

static int
check_claims_json(struct fixture *f, json_t *c)
{
	char *jwt = NULL;
	int r;

	assert_int_equal(
	    signer_sign_jwt(f->s, JOSE_ALG_ES256, "at+jwt", c, T0 + 1, &jwt),
	    0);
	r = check(f, jwt, T0 + 2);
	free(jwt);
	json_decref(c);
	return r;
}

/* Our key signs claims that are wrong: each must be refused. */
static void
test_bearer_JW05_TK12_claims(void **state)
{
	struct fixture *f = *state;
	json_t *c;

	assert_int_equal(check_claims_json(f, base_claims()), 0);
	c = base_claims();
	json_object_set_new(c, "iss", json_string("https://evil.example"));
	assert_int_equal(check_claims_json(f, c), PC_ERR_VERIFY);
	c = base_claims();
	json_object_set_new(c, "aud", json_string("https://api.other"));
	assert_int_equal(check_claims_json(f, c), PC_ERR_VERIFY);
	c = base_claims();
	json_object_set_new(
	    c, "aud", json_pack("[s, s]", "https://api.other", ISS "/"));
	assert_int_equal(check_claims_json(f, c), PC_ERR_VERIFY);
	c = base_claims();
	json_object_del(c, "aud");
	assert_int_equal(check_claims_json(f, c), PC_ERR_VERIFY);
	c = base_claims();
	json_object_del(c, "jti");
	assert_int_equal(check_claims_json(f, c), PC_ERR_VERIFY);
	c = base_claims();
	json_object_del(c, "sub");
	assert_int_equal(check_claims_json(f, c), PC_ERR_VERIFY);
	c = base_claims();
	json_object_del(c, "exp");
	assert_int_equal(check_claims_json(f, c), PC_ERR_VERIFY);
	c = base_claims();
	json_object_set_new(c, "exp", json_string("9999999999"));
	assert_int_equal(check_claims_json(f, c), PC_ERR_VERIFY);
	c = base_claims();
	json_object_set_new(c, "sub", json_integer(7));
	assert_int_equal(check_claims_json(f, c), PC_ERR_VERIFY);
	/* TK-12: a user grant whose sub is the client. */
	c = base_claims();
	json_object_set_new(c, "gid", json_string("fam_x"));
	assert_int_equal(check_claims_json(f, c), PC_ERR_VERIFY);
	/* aud may be an array that holds the issuer. */
	c = base_claims();
	json_object_set_new(
	    c, "aud", json_pack("[s, s]", "https://api.example", ISS));
	assert_int_equal(check_claims_json(f, c), 0);
}

/* verify_aud with claims c signed by our key; *aud_out gets b.aud. */
static int
check_aud(struct fixture *f, json_t *c, const char *want, char **aud_out)
{
	struct bearer b;
	char *jwt = NULL;
	int r;

	assert_int_equal(
	    signer_sign_jwt(f->s, JOSE_ALG_ES256, "at+jwt", c, T0 + 1, &jwt),
	    0);
	r = bearer_verify_aud(&f->app, jwt, strlen(jwt), want, T0 + 2, &b);
	if (aud_out != NULL)
		*aud_out = r == 0 && b.aud != NULL ? xstrdup(b.aud) : NULL;
	if (r == 0)
		bearer_clear(&b);
	free(jwt);
	json_decref(c);
	return r;
}

/*
 * TX-04: a token for a resource is for that resource only. The issuer's
 * check (bearer_verify: /userinfo) refuses it, the resource's accepts it,
 * another resource's refuses it; "any audience" (/introspect, /revoke)
 * takes a single string and says which, never an array.
 */
static void
test_bearer_TX04_audience(void **state)
{
	struct fixture *f = *state;
	json_t *c;
	char *aud = NULL;

	c = base_claims();
	json_object_set_new(c, "aud", json_string("https://api.example"));
	assert_int_equal(check_claims_json(f, c), PC_ERR_VERIFY);
	c = base_claims();
	json_object_set_new(c, "aud", json_string("https://api.example"));
	assert_int_equal(check_aud(f, c, "https://api.example", &aud), 0);
	assert_string_equal(aud, "https://api.example");
	free(aud);
	c = base_claims();
	json_object_set_new(c, "aud", json_string("https://api.example"));
	assert_int_equal(
	    check_aud(f, c, "https://api.example/", NULL), PC_ERR_VERIFY);
	c = base_claims();
	json_object_set_new(c, "aud", json_string("https://api.example"));
	assert_int_equal(check_aud(f, c, ISS, NULL), PC_ERR_VERIFY);
	c = base_claims();
	json_object_set_new(c, "aud", json_string("https://api.example"));
	assert_int_equal(check_aud(f, c, NULL, &aud), 0);
	assert_string_equal(aud, "https://api.example");
	free(aud);
	/* Ours, any audience: b.aud is the issuer. */
	assert_int_equal(check_aud(f, base_claims(), NULL, &aud), 0);
	assert_string_equal(aud, ISS);
	free(aud);
	/* Several audiences: never "any"; missing or not a string: never. */
	c = base_claims();
	json_object_set_new(
	    c, "aud", json_pack("[s, s]", "https://api.example", ISS));
	assert_int_equal(check_aud(f, c, NULL, NULL), PC_ERR_VERIFY);
	c = base_claims();
	json_object_del(c, "aud");
	assert_int_equal(check_aud(f, c, NULL, NULL), PC_ERR_VERIFY);
	c = base_claims();
	json_object_set_new(c, "aud", json_integer(1));
	assert_int_equal(check_aud(f, c, NULL, NULL), PC_ERR_VERIFY);
}

static void
test_bearer_JW06_id_token_is_no_bearer(void **state)
{
	struct fixture *f = *state;
	struct token_id_in in = { f->alice.id, "pcc_app", JOSE_ALG_ES256, T0,
		NULL, NULL, "pwd", NULL, NULL, NULL, 0, NULL, 0 };
	char *jwt = NULL, *at;
	json_t *c;

	/* An ID token, even ES256 by our key: typ JWT. */
	assert_int_equal(token_mint_id(f->s, &f->cfg, &in, T0 + 1, &jwt), 0);
	assert_int_equal(check(f, jwt, T0 + 2), PC_ERR_VERIFY);
	free(jwt);
	in.alg = JOSE_ALG_RS256;
	assert_int_equal(token_mint_id(f->s, &f->cfg, &in, T0 + 1, &jwt), 0);
	assert_int_equal(check(f, jwt, T0 + 2), PC_ERR_VERIFY);
	free(jwt);
	/* Access-token claims under typ JWT or no typ at all. */
	at = mint(f, NULL, "pcc_app", NULL, "api.read", T0 + 1, NULL);
	{
		char *p = payload_of(at);

		c = json_loads(p, 0, NULL);
		free(p);
	}
	assert_int_equal(
	    signer_sign_jwt(f->s, JOSE_ALG_ES256, "JWT", c, T0 + 1, &jwt), 0);
	assert_int_equal(check(f, jwt, T0 + 2), PC_ERR_VERIFY);
	free(jwt);
	assert_int_equal(
	    signer_sign_jwt(f->s, JOSE_ALG_ES256, NULL, c, T0 + 1, &jwt), 0);
	assert_int_equal(check(f, jwt, T0 + 2), PC_ERR_VERIFY);
	free(jwt);
	/* RS256 by our RSA key, typ at+jwt: only ES256 for access tokens. */
	assert_int_equal(
	    signer_sign_jwt(f->s, JOSE_ALG_RS256, "at+jwt", c, T0 + 1, &jwt),
	    0);
	assert_int_equal(check(f, jwt, T0 + 2), PC_ERR_VERIFY);
	free(jwt);
	json_decref(c);
	free(at);
}

static void
test_bearer_JW07_tampered_payload(void **state)
{
	struct fixture *f = *state;
	char *jwt = mint(f, NULL, "pcc_app", NULL, "api.read", T0 + 1, NULL);
	char *payload = payload_of(jwt), *p, *t, *forged;
	const char *a = strchr(jwt, '.'), *sig = strrchr(jwt, '.');
	char *hdr;
	size_t n;

	/* Widen the scope under the original header and signature. */
	forged = malloc(strlen(payload) + 32);
	assert_non_null(forged);
	{
		const char *s = strstr(payload, "\"api.read\"");

		assert_non_null(s);
		snprintf(forged, strlen(payload) + 32,
		    "%.*s\"api.read admin\"%s", (int)(s - payload), payload,
		    s + strlen("\"api.read\""));
	}
	hdr = strndup(jwt, (size_t)(a - jwt));
	p = b64(forged, strlen(forged));
	n = strlen(hdr) + strlen(p) + strlen(sig) + 2;
	t = malloc(n);
	assert_non_null(t);
	snprintf(t, n, "%s.%s%s", hdr, p, sig);
	assert_int_equal(check(f, t, T0 + 2), PC_ERR_VERIFY);
	free(t);
	/* One flipped signature bit. */
	t = strdup(jwt);
	t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
	assert_int_equal(check(f, t, T0 + 2), PC_ERR_VERIFY);
	free(t);
	/* The original still passes. */
	assert_int_equal(check(f, jwt, T0 + 2), 0);
	free(p);
	free(hdr);
	free(forged);
	free(payload);
	free(jwt);
}

static void
test_bearer_JW08_malformed_and_oversized(void **state)
{
	struct fixture *f = *state;
	char *jwt = mint(f, NULL, "pcc_app", NULL, "api.read", T0 + 1, NULL);
	const char *junk[] = { "", ".", "..", "a.b.c", "eyJ9.e30.",
		"{\"payload\":\"e30\",\"signatures\":[]}", "pcr_abc" };
	char *big, *two;
	size_t n = strlen(jwt);

	for (size_t i = 0; i < PC_NELEM(junk); i++)
		assert_int_equal(check(f, junk[i], T0 + 2), PC_ERR_VERIFY);
	/* A good token with trailing data, or a fourth segment. */
	two = malloc(n + 8);
	assert_non_null(two);
	snprintf(two, n + 8, "%s.e30", jwt);
	assert_int_equal(check(f, two, T0 + 2), PC_ERR_VERIFY);
	snprintf(two, n + 8, "%s ", jwt);
	assert_int_equal(check(f, two, T0 + 2), PC_ERR_VERIFY);
	free(two);
	big = malloc(BEARER_MAX_LEN + 2);
	assert_non_null(big);
	memset(big, 'A', BEARER_MAX_LEN + 1);
	big[BEARER_MAX_LEN + 1] = '\0';
	assert_int_equal(check(f, big, T0 + 2), PC_ERR_VERIFY);
	free(big);
	free(jwt);
}

static void
test_bearer_IR04_revoked_jti(void **state)
{
	struct fixture *f = *state;
	char jti[TOKEN_JTI_LEN + 1];
	char *jwt = mint(f, NULL, "pcc_app", NULL, "api.read", T0 + 1, jti);
	char *other = mint(f, NULL, "pcc_app", NULL, "api.read", T0 + 1, NULL);
	int64_t n = -1;

	assert_int_equal(check(f, jwt, T0 + 2), 0);
	assert_int_equal(
	    store_access_revoke(f->db, jti, "pcc_app", T0 + 1 + TTL, T0 + 2),
	    0);
	/* Twice is fine. */
	assert_int_equal(
	    store_access_revoke(f->db, jti, "pcc_app", T0 + 1 + TTL, T0 + 2),
	    0);
	assert_int_equal(check(f, jwt, T0 + 3), PC_ERR_VERIFY);
	assert_int_equal(check(f, other, T0 + 3), 0);
	/* Kept until the token's exp, then forgotten. */
	assert_int_equal(store_access_revoked_purge(f->db, T0 + TTL, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(check(f, jwt, T0 + TTL), PC_ERR_VERIFY);
	assert_int_equal(
	    store_access_revoked_purge(f->db, T0 + 1 + TTL, &n), 0);
	assert_int_equal(n, 1);
	free(other);
	free(jwt);
}

static void
new_family(struct fixture *f, const char *id, const char *client)
{
	struct store_family fam;

	memset(&fam, 0, sizeof(fam));
	snprintf(fam.family_id, sizeof(fam.family_id), "%s", id);
	fam.client_id = (char *)client;
	fam.user_id = f->alice.id;
	fam.scope = "openid email";
	fam.auth_time = T0;
	fam.amr = "pwd";
	fam.created_at = T0;
	fam.expires_at = T0 + 86400;
	assert_int_equal(store_family_create(f->db, &fam, NULL, 0), 0);
}

static void
test_bearer_IR06_family(void **state)
{
	struct fixture *f = *state;
	char *live, *dead, *foreign, *unknown, *wrong_user;

	new_family(f, "fam_live", "pcc_app");
	new_family(f, "fam_dead", "pcc_app");
	new_family(f, "fam_other", "pcc_other");
	live =
	    mint(f, f->alice.id, "pcc_app", "fam_live", "openid", T0 + 1, NULL);
	dead =
	    mint(f, f->alice.id, "pcc_app", "fam_dead", "openid", T0 + 1, NULL);
	/* A gid of another client's grant, one that does not exist, one
	 * whose user is someone else. */
	foreign = mint(
	    f, f->alice.id, "pcc_app", "fam_other", "openid", T0 + 1, NULL);
	unknown =
	    mint(f, f->alice.id, "pcc_app", "fam_nope", "openid", T0 + 1, NULL);
	wrong_user = mint(
	    f, "usr_mallory", "pcc_app", "fam_live", "openid", T0 + 1, NULL);
	assert_int_equal(check(f, live, T0 + 2), 0);
	assert_int_equal(check(f, dead, T0 + 2), 0);
	assert_int_equal(check(f, foreign, T0 + 2), PC_ERR_VERIFY);
	assert_int_equal(check(f, unknown, T0 + 2), PC_ERR_VERIFY);
	assert_int_equal(check(f, wrong_user, T0 + 2), PC_ERR_VERIFY);
	assert_int_equal(
	    store_family_revoke(f->db, "fam_dead", T0 + 3, "revoked"), 0);
	assert_int_equal(check(f, dead, T0 + 4), PC_ERR_VERIFY);
	assert_int_equal(check(f, live, T0 + 4), 0);
	free(live);
	free(dead);
	free(foreign);
	free(unknown);
	free(wrong_user);
}

/* A delegated token minted with act (outermost first) and gid. */
static char *
mint_act(struct fixture *f, const char *holder, const char *gid,
    const char *outer, const char *inner)
{
	json_t *act = inner != NULL
	    ? json_pack("{s:s, s:{s:s}}", "sub", outer, "act", "sub", inner)
	    : json_pack("{s:s}", "sub", outer);
	struct token_access_in in = { f->alice.id, holder, ISS, "api.read", 0,
		NULL, NULL, gid, NULL, NULL, 0, 0, NULL, act, NULL };
	char *jwt = NULL, jti[TOKEN_JTI_LEN + 1];

	assert_int_equal(
	    token_mint_access(f->s, &f->cfg, &in, T0 + 1, &jwt, jti), 0);
	json_decref(act);
	return jwt;
}

/*
 * TX-03 down the chain: a delegated token (act) lives only while its
 * first actor's grant does (family client = act_root, not client_id),
 * its holder is the outermost actor, and every actor is a client that
 * exists and is not disabled: disabling one mid-chain kills it.
 */
static void
test_bearer_TX03_chain(void **state)
{
	struct fixture *f = *state;
	struct db_conn *c;
	char *ok, *one, *wrong_root, *wrong_holder, *ghost, *no_gid;

	new_family(f, "fam_chain", "pcc_app");
	ok = mint_act(f, "pcc_other", "fam_chain", "pcc_other", "pcc_app");
	one = mint_act(f, "pcc_app", "fam_chain", "pcc_app", NULL);
	/* The grant is pcc_app's, the chain says pcc_other began it. */
	wrong_root = mint_act(f, "pcc_other", "fam_chain", "pcc_other", NULL);
	/* Held by someone who is not the outermost actor. */
	wrong_holder =
	    mint_act(f, "pcc_app", "fam_chain", "pcc_other", "pcc_app");
	/* An actor that is no client (deleted, or never one). */
	ghost = mint_act(f, "pcc_gone", "fam_chain", "pcc_gone", "pcc_app");
	/* act on a token of no user grant. */
	no_gid = mint_act(f, "pcc_other", NULL, "pcc_other", "pcc_app");
	assert_int_equal(check(f, ok, T0 + 2), 0);
	assert_int_equal(check(f, one, T0 + 2), 0);
	assert_int_equal(check(f, wrong_root, T0 + 2), PC_ERR_VERIFY);
	assert_int_equal(check(f, wrong_holder, T0 + 2), PC_ERR_VERIFY);
	assert_int_equal(check(f, ghost, T0 + 2), PC_ERR_VERIFY);
	assert_int_equal(check(f, no_gid, T0 + 2), PC_ERR_VERIFY);
	/* The second actor is disabled: its tokens die, the first's live. */
	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(db_exec(c,
			     "UPDATE clients SET disabled_at = 5 WHERE "
			     "client_id = 'pcc_other'"),
	    0);
	assert_int_equal(check(f, ok, T0 + 2), PC_ERR_VERIFY);
	assert_int_equal(check(f, one, T0 + 2), 0);
	/* The first one disabled: every token of the chain dies. */
	assert_int_equal(db_exec(c,
			     "UPDATE clients SET disabled_at = NULL WHERE "
			     "client_id = 'pcc_other'"),
	    0);
	assert_int_equal(check(f, ok, T0 + 2), 0);
	assert_int_equal(db_exec(c,
			     "UPDATE clients SET disabled_at = 5 WHERE "
			     "client_id = 'pcc_app'"),
	    0);
	assert_int_equal(check(f, ok, T0 + 2), PC_ERR_VERIFY);
	assert_int_equal(check(f, one, T0 + 2), PC_ERR_VERIFY);
	assert_int_equal(db_exec(c,
			     "UPDATE clients SET disabled_at = NULL WHERE "
			     "client_id = 'pcc_app'"),
	    0);
	/* The root grant revoked: the whole chain. */
	assert_int_equal(
	    store_family_revoke(f->db, "fam_chain", T0 + 3, "revoked"), 0);
	assert_int_equal(check(f, ok, T0 + 4), PC_ERR_VERIFY);
	assert_int_equal(check(f, one, T0 + 4), PC_ERR_VERIFY);
	free(ok);
	free(one);
	free(wrong_root);
	free(wrong_holder);
	free(ghost);
	free(no_gid);
}

static void
test_bearer_store_failure_fails_closed(void **state)
{
	struct fixture *f = *state;
	char *jwt = mint(f, NULL, "pcc_app", NULL, "api.read", T0 + 1, NULL);
	struct db_conn *c;

	assert_int_equal(check(f, jwt, T0 + 2), 0);
	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(db_exec(c,
			     "ALTER TABLE revoked_access_tokens RENAME TO "
			     "revoked_gone"),
	    0);
	assert_int_equal(check(f, jwt, T0 + 2), PC_ERR_STORE);
	assert_int_equal(db_exec(c,
			     "ALTER TABLE revoked_gone RENAME TO "
			     "revoked_access_tokens"),
	    0);
	assert_int_equal(check(f, jwt, T0 + 2), 0);
	free(jwt);
}

/* A service account for the liveness tests, its id into id. */
static void
new_sa(struct fixture *f, const char *name, int64_t expires_in,
    char id[PRINCIPAL_ID_LEN + 1])
{
	struct sa_fields in = { .name = name,
		.scopes = "api.read",
		.expires_in = expires_in,
		.set_expires = expires_in != 0 };
	struct store_service_account sa;
	const char *why = NULL;

	assert_int_equal(service_account_create(f->db, &in, T0, &sa, &why), 0);
	snprintf(id, PRINCIPAL_ID_LEN + 1, "%s", sa.id);
	store_service_account_clear(&sa);
}

static void
test_bearer_SS08_service_account_liveness(void **state)
{
	struct fixture *f = *state;
	char id[PRINCIPAL_ID_LEN + 1], old[PRINCIPAL_ID_LEN + 1];
	char *jwt, *short_lived, *other, *keyed, *wif;

	new_sa(f, "bearer-live", 0, id);
	new_sa(f, "bearer-expiring", 3600, old);
	jwt = mint(f, id, "pcc_app", NULL, "api.read", T0 + 1, NULL);
	short_lived = mint(f, old, "pcc_app", NULL, "api.read", T0 + 1, NULL);
	assert_int_equal(check(f, jwt, T0 + 2), 0);
	assert_int_equal(check(f, short_lived, T0 + 2), 0);
	/* Disabled: dead at the next check; enabled: alive again. */
	assert_int_equal(
	    service_account_set_disabled(f->db, id, true, T0 + 3), 0);
	assert_int_equal(check(f, jwt, T0 + 4), PC_ERR_VERIFY);
	assert_int_equal(
	    service_account_set_disabled(f->db, id, false, T0 + 5), 0);
	/* A disable revokes: enabled again, the old token stays dead; one
	 * issued after it is alive. */
	assert_int_equal(check(f, jwt, T0 + 6), PC_ERR_VERIFY);
	free(jwt);
	jwt = mint(f, id, "pcc_app", NULL, "api.read", T0 + 6, NULL);
	assert_int_equal(check(f, jwt, T0 + 6), 0);
	/* Expired: dead from expires_at on, though the token is not. */
	free(short_lived);
	short_lived =
	    mint(f, old, "pcc_app", NULL, "api.read", T0 + 3500, NULL);
	assert_int_equal(check(f, short_lived, T0 + 3599), 0);
	assert_int_equal(check(f, short_lived, T0 + 3600), PC_ERR_VERIFY);
	/* Deleted: dead for good. */
	assert_int_equal(
	    service_account_delete(f->db, id, T0 + 7, NULL, NULL), 0);
	assert_int_equal(check(f, jwt, T0 + 8), PC_ERR_VERIFY);
	/* A service account that never existed. */
	other = mint(f, "svc_AAAAAAAAAAAAAAAAAAAAAA", "pcc_app", NULL,
	    "api.read", T0 + 1, NULL);
	assert_int_equal(check(f, other, T0 + 2), PC_ERR_VERIFY);
	/* A key or workload trust that does not exist kills the token,
	 * even for a live user or account: never waved through. */
	keyed = mint(f, f->alice.id, "key_0123456789abcdef", NULL, "api.read",
	    T0 + 1, NULL);
	wif = mint(f, old, "wif_AAAAAAAAAAAAAAAAAAAAAA", NULL, "api.read",
	    T0 + 1, NULL);
	assert_int_equal(check(f, keyed, T0 + 2), PC_ERR_VERIFY);
	assert_int_equal(check(f, wif, T0 + 2), PC_ERR_VERIFY);
	free(jwt);
	free(short_lived);
	free(other);
	free(keyed);
	free(wif);
}

static void
test_bearer_SS08_liveness_store_failure_fails_closed(void **state)
{
	struct fixture *f = *state;
	char id[PRINCIPAL_ID_LEN + 1];
	char *jwt;
	struct db_conn *c;

	new_sa(f, "bearer-outage", 0, id);
	jwt = mint(f, id, "pcc_app", NULL, "api.read", T0 + 1, NULL);
	assert_int_equal(check(f, jwt, T0 + 2), 0);
	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(db_exec(c,
			     "ALTER TABLE service_accounts RENAME TO "
			     "service_accounts_gone"),
	    0);
	assert_int_equal(check(f, jwt, T0 + 2), PC_ERR_STORE);
	assert_int_equal(db_exec(c,
			     "ALTER TABLE service_accounts_gone RENAME TO "
			     "service_accounts"),
	    0);
	assert_int_equal(check(f, jwt, T0 + 2), 0);
	free(jwt);
}

static void
test_bearer_refresh_lookup(void **state)
{
	struct fixture *f = *state;
	struct refresh_grant g = { "pcc_app", f->alice.id,
		"openid offline_access", "pwd", NULL, T0, 0, 0, NULL, NULL };
	char tok[REFRESH_LEN + 1], fam[48], next[REFRESH_LEN + 1];
	struct bearer_refresh t;
	struct store_family out;

	assert_int_equal(refresh_issue(f->db, &g, T0, tok, fam), 0);
	assert_int_equal(bearer_refresh_lookup(f->db, tok, T0 + 1, &t), 0);
	assert_true(t.active);
	assert_string_equal(t.family.family_id, fam);
	assert_string_equal(t.family.client_id, "pcc_app");
	assert_string_equal(t.family.user_id, f->alice.id);
	assert_int_equal(t.iat, T0);
	assert_int_equal(t.exp, T0 + REFRESH_IDLE);
	store_family_clear(&t.family);
	/* Past its idle end: inactive. */
	assert_int_equal(
	    bearer_refresh_lookup(f->db, tok, T0 + REFRESH_IDLE, &t), 0);
	assert_false(t.active);
	store_family_clear(&t.family);
	/* Rotated: the old one is inactive, the new one active. */
	assert_int_equal(
	    refresh_rotate(f->db, tok, "pcc_app", T0 + 5, next, &out), 0);
	store_family_clear(&out);
	assert_int_equal(bearer_refresh_lookup(f->db, tok, T0 + 6, &t), 0);
	assert_false(t.active);
	store_family_clear(&t.family);
	assert_int_equal(bearer_refresh_lookup(f->db, next, T0 + 6, &t), 0);
	assert_true(t.active);
	store_family_clear(&t.family);
	/* Family revoked: inactive. */
	assert_int_equal(store_family_revoke(f->db, fam, T0 + 7, "test"), 0);
	assert_int_equal(bearer_refresh_lookup(f->db, next, T0 + 8, &t), 0);
	assert_false(t.active);
	store_family_clear(&t.family);
	/* Malformed or unknown. */
	assert_int_equal(bearer_refresh_lookup(f->db, "pcr_short", T0, &t),
	    PC_ERR_NOT_FOUND);
	next[10] = next[10] == 'A' ? 'B' : 'A';
	assert_int_equal(
	    bearer_refresh_lookup(f->db, next, T0, &t), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    bearer_refresh_lookup(f->db, NULL, T0, &t), PC_ERR_NOT_FOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer_accepts_our_token),
		cmocka_unit_test(test_bearer_cnf_act_may_act),
		cmocka_unit_test(test_bearer_JW01_alg_none_variants),
		cmocka_unit_test(
		    test_bearer_JW02_hs256_keyed_with_our_public_key),
		cmocka_unit_test(test_bearer_JW03_kid_injection_and_token_keys),
		cmocka_unit_test(test_bearer_JW04_TK13_exp_and_iat),
		cmocka_unit_test(test_bearer_JW05_TK12_claims),
		cmocka_unit_test(test_bearer_TX04_audience),
		cmocka_unit_test(test_bearer_JW06_id_token_is_no_bearer),
		cmocka_unit_test(test_bearer_JW07_tampered_payload),
		cmocka_unit_test(test_bearer_JW08_malformed_and_oversized),
		cmocka_unit_test(test_bearer_IR04_revoked_jti),
		cmocka_unit_test(test_bearer_IR06_family),
		cmocka_unit_test(test_bearer_TX03_chain),
		cmocka_unit_test(test_bearer_store_failure_fails_closed),
		cmocka_unit_test(test_bearer_refresh_lookup),
		cmocka_unit_test(test_bearer_SS08_service_account_liveness),
		cmocka_unit_test(
		    test_bearer_SS08_liveness_store_failure_fails_closed),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
