/*
 * Access and ID token minting (src/oauth/tokens.c): RFC 9068 access tokens
 * (typ at+jwt, ES256) and ID tokens (RS256 by default) verify against the
 * published JWKS with the strict verifier, carry exactly the claims they
 * promise, take every time from the caller's now, and at_hash is the left
 * half of the access token's hash.
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

#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "store_fixture.h"
#include "store/store.h"

#define T0 INT64_C(2000000000)

struct fixture {
	char dir[64];
	char mk_path[128];
	struct config cfg;
	struct masterkey *mk;
	struct db *db;
	struct signer *s;
	json_t *jwks;
	struct jws_key keys[4];
	size_t nkeys;
};

static void
cfg_set(struct config *c, const char *name, const char *value)
{
	char err[256] = "";

	if (config_set(c, name, value, CONFIG_SRC_FLAG, err, sizeof(err)) != 0)
		fail_msg("config_set %s: %s", name, err);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	enum masterkey_source src;
	char err[512] = "", *text = NULL;
	size_t len, i;
	json_t *jwk;

	if (f == NULL)
		return -1;
	unsetenv("PORTCULLIS_MASTER_KEY");
	if (store_fixture_dir(f->dir) != 0)
		return -1;
	snprintf(f->mk_path, sizeof(f->mk_path), "%s/master.key", f->dir);
	config_defaults(&f->cfg);
	cfg_set(&f->cfg, "data_dir", f->dir);
	cfg_set(&f->cfg, "issuer", "https://id.example.com");
	cfg_set(&f->cfg, "rsa_key_bits", "2048");
	cfg_set(&f->cfg, "access_token_ttl", "300");
	cfg_set(&f->cfg, "id_token_ttl", "420");
	if (config_finish(&f->cfg, err, sizeof(err)) != 0 ||
	    masterkey_create_file(f->mk_path, err, sizeof(err)) != 0 ||
	    masterkey_load(&f->cfg, false, &f->mk, &src, err, sizeof(err)) !=
		0 ||
	    store_fixture_open(f->dir, true, &f->db) != 0 ||
	    signer_open(f->db, f->mk, &f->cfg, true, T0, &f->s) != 0 ||
	    signer_jwks(f->s, T0 + 1, &text, &len) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	f->jwks = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	json_array_foreach(json_object_get(f->jwks, "keys"), i, jwk)
	{
		const char *alg =
		    json_string_value(json_object_get(jwk, "alg"));
		struct jws_key *k = &f->keys[f->nkeys];

		if (f->nkeys == PC_NELEM(f->keys))
			break;
		k->alg = jose_alg_parse(alg, strlen(alg));
		k->kid = json_string_value(json_object_get(jwk, "kid"));
		if (jwk_to_pkey(jwk, k->alg, &k->pkey) != 0)
			return -1;
		f->nkeys++;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < f->nkeys; i++)
		EVP_PKEY_free(f->keys[i].pkey);
	json_decref(f->jwks);
	signer_free(f->s);
	masterkey_free(f->mk);
	config_free(&f->cfg);
	(void)store_fixture_close(f->dir, f->db);
	free(f);
	return 0;
}

static json_t *
verify(struct fixture *f, const char *jwt, enum jose_alg alg, const char *typ)
{
	struct jws_verify_opts o = { f->keys, f->nkeys, &alg, 1, typ };
	struct jws_verified v;
	json_t *payload;

	memset(&v, 0, sizeof(v));
	if (jws_verify_compact(jwt, strlen(jwt), &o, &v) != 0)
		return NULL;
	payload = json_incref(v.payload);
	jws_verified_free(&v);
	return payload;
}

static const char *
str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void
test_tokens_access_rfc9068(void **state)
{
	struct fixture *f = *state;
	struct token_access_in in = { "usr_alice", "pcc_app",
		"https://api.example", "openid profile", T0 - 30, NULL, "pwd",
		"fam_abc", NULL, NULL, 0, 0, NULL, NULL, NULL };
	char *jwt = NULL, jti[TOKEN_JTI_LEN + 1];
	json_t *c;

	assert_int_equal(
	    token_mint_access(f->s, &f->cfg, &in, T0 + 5, &jwt, jti), 0);
	c = verify(f, jwt, JOSE_ALG_ES256, "at+jwt");
	assert_non_null(c);
	assert_string_equal(str(c, "iss"), "https://id.example.com");
	assert_string_equal(str(c, "sub"), "usr_alice");
	assert_string_equal(str(c, "aud"), "https://api.example");
	assert_string_equal(str(c, "client_id"), "pcc_app");
	assert_string_equal(str(c, "scope"), "openid profile");
	assert_string_equal(str(c, "jti"), jti);
	assert_string_equal(str(c, "gid"), "fam_abc");
	assert_int_equal(strlen(jti), TOKEN_JTI_LEN);
	assert_int_equal(json_integer_value(json_object_get(c, "iat")), T0 + 5);
	assert_int_equal(
	    json_integer_value(json_object_get(c, "exp")), T0 + 5 + 300);
	assert_int_equal(
	    json_integer_value(json_object_get(c, "auth_time")), T0 - 30);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(c, "amr"), 0)),
	    "pwd");
	json_decref(c);
	/* Not an ID token: typ JWT and RS256 are refused for it. */
	assert_null(verify(f, jwt, JOSE_ALG_ES256, "JWT"));
	assert_null(verify(f, jwt, JOSE_ALG_RS256, "at+jwt"));
	free(jwt);
	/* client_credentials: sub is the client; missing aud refused. */
	in.sub = NULL;
	assert_int_equal(
	    token_mint_access(f->s, &f->cfg, &in, T0 + 5, &jwt, jti), 0);
	c = verify(f, jwt, JOSE_ALG_ES256, "at+jwt");
	assert_string_equal(str(c, "sub"), "pcc_app");
	json_decref(c);
	free(jwt);
	/* A lifetime of its own (exchanged machine tokens, issue 14). */
	in.ttl = 120;
	assert_int_equal(
	    token_mint_access(f->s, &f->cfg, &in, T0 + 5, &jwt, jti), 0);
	c = verify(f, jwt, JOSE_ALG_ES256, "at+jwt");
	assert_int_equal(
	    json_integer_value(json_object_get(c, "exp")), T0 + 5 + 120);
	json_decref(c);
	free(jwt);
	in.aud = NULL;
	assert_int_equal(
	    token_mint_access(f->s, &f->cfg, &in, T0 + 5, &jwt, jti),
	    PC_ERR_INVALID);
	assert_null(jwt);
}

/*
 * The claims are written by the JSON writer, not jansson (issue 13):
 * values with quotes, backslashes and control characters stay values (no
 * member injected, strict JSON), and a value that is not UTF-8 is refused
 * rather than silently dropped from the token.
 */
static void
test_tokens_access_claims_escaped(void **state)
{
	struct fixture *f = *state;
	static const char sub[] = "usr_\",\"admin\":true,\"x\":\"";
	static const char scope[] = "a\\b \"c\" \x01";
	struct token_access_in in = { sub, "pcc_app", "https://api.example",
		scope, T0 - 30, "urn:x\"y", "pwd o\"tp\n", "fam_\\", NULL, NULL,
		0, 0, NULL, NULL, NULL };
	char *jwt = NULL, jti[TOKEN_JTI_LEN + 1];
	json_t *c, *amr;

	assert_int_equal(
	    token_mint_access(f->s, &f->cfg, &in, T0 + 5, &jwt, jti), 0);
	c = verify(f, jwt, JOSE_ALG_ES256, "at+jwt");
	assert_non_null(c);
	assert_string_equal(str(c, "sub"), sub);
	assert_string_equal(str(c, "scope"), scope);
	assert_string_equal(str(c, "acr"), "urn:x\"y");
	assert_string_equal(str(c, "gid"), "fam_\\");
	assert_null(json_object_get(c, "admin"));
	assert_null(json_object_get(c, "x"));
	/* iss sub aud client_id scope iat exp jti auth_time acr amr gid */
	assert_int_equal(json_object_size(c), 12);
	amr = json_object_get(c, "amr");
	assert_int_equal(json_array_size(amr), 2);
	assert_string_equal(
	    json_string_value(json_array_get(amr, 1)), "o\"tp\n");
	json_decref(c);
	free(jwt);
	/* Not UTF-8: no token, rather than a token without the claim. */
	in.scope = "api.read \xff";
	assert_int_not_equal(
	    token_mint_access(f->s, &f->cfg, &in, T0 + 5, &jwt, jti), 0);
	assert_null(jwt);
	in.scope = "api.read";
	in.acr = "\xc0\xaf";
	assert_int_not_equal(
	    token_mint_access(f->s, &f->cfg, &in, T0 + 5, &jwt, jti), 0);
	assert_null(jwt);
}

static void
test_tokens_jti_unique(void **state)
{
	char a[TOKEN_JTI_LEN + 1], b[TOKEN_JTI_LEN + 1];

	(void)state;
	token_jti_new(a);
	token_jti_new(b);
	assert_string_not_equal(a, b);
}

static void
test_tokens_id_token_claims_and_at_hash(void **state)
{
	struct fixture *f = *state;
	const char *at = "eyJhbGciOiJFUzI1NiJ9.e30.sig";
	struct token_claim extra[] = { { "email", "alice@example.com" } };
	struct token_id_in in = { "usr_alice", "pcc_app", JOSE_ALG_RS256,
		T0 - 30, "n-0S6_WzA2Mj", NULL, "pwd", "ab12cd34ef56ab78", at,
		extra, 1, NULL, 0 };
	char *jwt = NULL, expect[64];
	uint8_t d[PC_SHA256_LEN];
	json_t *c;

	assert_int_equal(token_mint_id(f->s, &f->cfg, &in, T0 + 5, &jwt), 0);
	c = verify(f, jwt, JOSE_ALG_RS256, "JWT");
	assert_non_null(c);
	assert_string_equal(str(c, "aud"), "pcc_app");
	assert_string_equal(str(c, "nonce"), "n-0S6_WzA2Mj");
	assert_string_equal(str(c, "sid"), "ab12cd34ef56ab78");
	assert_string_equal(str(c, "email"), "alice@example.com");
	assert_int_equal(
	    json_integer_value(json_object_get(c, "exp")), T0 + 5 + 420);
	/* at_hash: left 128 bits of SHA-256, base64url. */
	hash_sha256(at, strlen(at), d);
	b64url_encode(d, 16, expect);
	assert_string_equal(str(c, "at_hash"), expect);
	json_decref(c);
	free(jwt);
	/* ES256 when the client registered it; no nonce, no at_hash. */
	in.alg = JOSE_ALG_ES256;
	in.nonce = NULL;
	in.access_token = NULL;
	assert_int_equal(token_mint_id(f->s, &f->cfg, &in, T0 + 5, &jwt), 0);
	c = verify(f, jwt, JOSE_ALG_ES256, "JWT");
	assert_non_null(c);
	assert_null(json_object_get(c, "nonce"));
	assert_null(json_object_get(c, "at_hash"));
	json_decref(c);
	free(jwt);
	/* No key of the alg: an error, no token. */
	in.alg = JOSE_ALG_EDDSA;
	assert_int_not_equal(
	    token_mint_id(f->s, &f->cfg, &in, T0 + 5, &jwt), 0);
	assert_null(jwt);
}

/* Issue 14: the "groups" claim, an array of names, escaped; absent when
 * not asked for (NULL), an empty array for a user in no group. */
static void
test_tokens_groups_claim(void **state)
{
	struct fixture *f = *state;
	char *names[] = { "billing", "ops\",\"admin" };
	struct token_access_in in = { "usr_alice", "pcc_app",
		"https://api.example", "openid groups", 0, NULL, "pwd",
		"fam_abc", NULL, names, 2, 0, NULL, NULL, NULL };
	struct token_id_in id = { "usr_alice", "pcc_app", JOSE_ALG_ES256, 0,
		NULL, NULL, "pwd", NULL, NULL, NULL, 0, names, 2 };
	char *jwt = NULL, jti[TOKEN_JTI_LEN + 1];
	json_t *c, *g;

	assert_int_equal(
	    token_mint_access(f->s, &f->cfg, &in, T0 + 5, &jwt, jti), 0);
	c = verify(f, jwt, JOSE_ALG_ES256, "at+jwt");
	assert_non_null(c);
	g = json_object_get(c, "groups");
	assert_int_equal(json_array_size(g), 2);
	assert_string_equal(json_string_value(json_array_get(g, 0)), "billing");
	assert_string_equal(
	    json_string_value(json_array_get(g, 1)), "ops\",\"admin");
	assert_null(json_object_get(c, "admin"));
	json_decref(c);
	free(jwt);
	assert_int_equal(token_mint_id(f->s, &f->cfg, &id, T0 + 5, &jwt), 0);
	c = verify(f, jwt, JOSE_ALG_ES256, "JWT");
	assert_non_null(c);
	assert_int_equal(json_array_size(json_object_get(c, "groups")), 2);
	json_decref(c);
	free(jwt);
	in.ngroups = 0;
	assert_int_equal(
	    token_mint_access(f->s, &f->cfg, &in, T0 + 5, &jwt, jti), 0);
	c = verify(f, jwt, JOSE_ALG_ES256, "at+jwt");
	assert_true(json_is_array(json_object_get(c, "groups")));
	assert_int_equal(json_array_size(json_object_get(c, "groups")), 0);
	json_decref(c);
	free(jwt);
	in.groups = NULL;
	assert_int_equal(
	    token_mint_access(f->s, &f->cfg, &in, T0 + 5, &jwt, jti), 0);
	c = verify(f, jwt, JOSE_ALG_ES256, "at+jwt");
	assert_null(json_object_get(c, "groups"));
	json_decref(c);
	free(jwt);
}

static void
test_tokens_at_hash_algs(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(token_at_hash(JOSE_ALG_RS256, "x", out), 0);
	assert_int_equal(strlen(out), 22); /* 16 bytes */
	assert_int_equal(token_at_hash(JOSE_ALG_EDDSA, "x", out), 0);
	assert_int_equal(strlen(out), 43); /* 32 bytes of SHA-512 */
	assert_int_equal(
	    token_at_hash(JOSE_ALG_INVALID, "x", out), PC_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_tokens_access_rfc9068, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_tokens_access_claims_escaped, setup, teardown),
		cmocka_unit_test(test_tokens_jti_unique),
		cmocka_unit_test_setup_teardown(
		    test_tokens_id_token_claims_and_at_hash, setup, teardown),
		cmocka_unit_test(test_tokens_at_hash_algs),
		cmocka_unit_test_setup_teardown(
		    test_tokens_groups_claim, setup, teardown),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
