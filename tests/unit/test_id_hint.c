/*
 * id_token_hint verification (src/oauth/id_hint.c; OI-11, JW-06): only an
 * ID token we signed, for an existing client of our issuer, is a hint.
 * Expired hints are fine; alg none, HS256 made with our public key, an
 * access token, a tampered token, another issuer and keys we never
 * published are not.
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
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "store_fixture.h"
#include "store/db.h"
#include "store/store.h"

#define T0 INT64_C(2000000000)
#define ISSUER "https://id.example.com"
#define CLIENT "pcc_AAAAAAAAAAAAAAAAAAAAAA"
#define CLIENT2 "pcc_BBBBBBBBBBBBBBBBBBBBBB"

struct ring {
	char dir[64];
	struct config cfg;
	struct masterkey *mk;
	struct db *db;
	struct signer *s;
};

struct fixture {
	struct ring ours;
	struct ring foreign; /* another deployment's keys, never published */
	struct app app;
};

static void
cfg_set(struct config *c, const char *name, const char *value)
{
	char err[256] = "";

	if (config_set(c, name, value, CONFIG_SRC_FLAG, err, sizeof(err)) != 0)
		fail_msg("config_set %s: %s", name, err);
}

/*
 * ours runs on the store under test; foreign, another deployment, always
 * on a SQLite file of its own: on PostgreSQL the two would share one
 * database, and ours would load (and reject) the foreign rows.
 */
static int
ring_open(struct ring *g, const char *issuer, bool foreign)
{
	enum masterkey_source src;
	char err[512] = "", mk_path[128];
	int from, to;

	if (store_fixture_dir(g->dir) != 0)
		return -1;
	snprintf(mk_path, sizeof(mk_path), "%s/master.key", g->dir);
	config_defaults(&g->cfg);
	cfg_set(&g->cfg, "data_dir", g->dir);
	cfg_set(&g->cfg, "issuer", issuer);
	cfg_set(&g->cfg, "rsa_key_bits", "2048");
	cfg_set(&g->cfg, "id_token_ttl", "300");
	if (config_finish(&g->cfg, err, sizeof(err)) != 0 ||
	    masterkey_create_file(mk_path, err, sizeof(err)) != 0 ||
	    masterkey_load(&g->cfg, false, &g->mk, &src, err, sizeof(err)) !=
		0 ||
	    (foreign ? db_open("", g->dir, &g->db) != 0 ||
			store_migrate(g->db, &from, &to, err, sizeof(err)) != 0
		     : store_fixture_open(g->dir, true, &g->db) != 0) ||
	    signer_open(g->db, g->mk, &g->cfg, true, T0, &g->s) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	return 0;
}

static void
ring_close(struct ring *g)
{
	signer_free(g->s);
	masterkey_free(g->mk);
	config_free(&g->cfg);
	(void)store_fixture_close(g->dir, g->db);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct db_conn *c;

	unsetenv("PORTCULLIS_MASTER_KEY");
	if (f == NULL || ring_open(&f->ours, ISSUER, false) != 0 ||
	    ring_open(&f->foreign, ISSUER, true) != 0 ||
	    db_conn(f->ours.db, &c) != 0 ||
	    db_exec(c,
		"INSERT INTO clients (client_id, name, is_public,"
		" token_endpoint_auth_method, grant_types, scopes,"
		" id_token_signed_response_alg, first_party, created_at,"
		" updated_at) VALUES"
		" ('" CLIENT "', 'App', 0, 'client_secret_basic',"
		" 'authorization_code', 'openid', 'RS256', 0, 1, 1),"
		" ('" CLIENT2 "', 'Other', 0, 'client_secret_basic',"
		" 'authorization_code', 'openid', 'RS256', 0, 1, 1)") != 0)
		return -1;
	f->app.cfg = &f->ours.cfg;
	f->app.db = f->ours.db;
	f->app.signer = f->ours.s;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ring_close(&f->ours);
	ring_close(&f->foreign);
	free(f);
	return 0;
}

/* An ID token as the token endpoint mints it. */
static char *
mint_id(struct ring *g, const char *client_id, int64_t now)
{
	struct token_id_in in;
	char *jwt = NULL;

	memset(&in, 0, sizeof(in));
	in.sub = "usr_alice";
	in.client_id = client_id;
	in.alg = JOSE_ALG_RS256;
	in.auth_time = now - 10;
	in.nonce = "n-0S6_WzA2Mj";
	in.amr = "pwd";
	in.sid = "0123456789abcdef";
	assert_int_equal(token_mint_id(g->s, &g->cfg, &in, now, &jwt), 0);
	return jwt;
}

/* Claims signed as they are, with alg and typ. */
static char *
sign_claims(struct ring *g, enum jose_alg alg, const char *typ, json_t *claims)
{
	char *jwt = NULL;

	assert_int_equal(signer_sign_jwt(g->s, alg, typ, claims, T0, &jwt), 0);
	json_decref(claims);
	return jwt;
}

static json_t *
id_claims(const char *iss, json_t *aud)
{
	return json_pack("{s:s, s:s, s:o, s:I, s:I, s:s}", "iss", iss, "sub",
	    "usr_alice", "aud", aud, "iat", (json_int_t)T0, "exp",
	    (json_int_t)(T0 + 300), "sid", "0123456789abcdef");
}

static int
check(struct fixture *f, const char *hint, int64_t now)
{
	struct id_hint h;
	int r = id_hint_verify(&f->app, hint, now, &h);

	if (r != 0) {
		assert_null(h.sub);
		assert_null(h.client_id);
	}
	id_hint_clear(&h);
	return r;
}

static char *
b64(const void *p, size_t n)
{
	char *out = malloc(b64url_encoded_len(n) + 1);

	assert_non_null(out);
	b64url_encode(p, n, out);
	return out;
}

/* header.payload.signature from parts; sig may be "". */
static char *
assemble(const char *header_json, const char *payload_b64, const char *sig)
{
	char *h = b64(header_json, strlen(header_json));
	size_t n = strlen(h) + strlen(payload_b64) + strlen(sig) + 3;
	char *out = malloc(n);

	assert_non_null(out);
	snprintf(out, n, "%s.%s.%s", h, payload_b64, sig);
	free(h);
	return out;
}

/* The payload part of a compact JWS, copied. */
static char *
payload_part(const char *jwt)
{
	const char *a = strchr(jwt, '.'), *b;

	assert_non_null(a);
	b = strchr(a + 1, '.');
	assert_non_null(b);
	return strndup(a + 1, (size_t)(b - a - 1));
}

/* The decoded header's kid. */
static char *
kid_of(const char *jwt)
{
	const char *dot = strchr(jwt, '.');
	uint8_t buf[512];
	size_t n = 0;
	json_t *h;
	char *kid;

	assert_non_null(dot);
	assert_int_equal(
	    b64url_decode(jwt, (size_t)(dot - jwt), buf, sizeof(buf), &n), 0);
	h = json_loadb((const char *)buf, n, 0, NULL);
	assert_non_null(h);
	kid = strdup(json_string_value(json_object_get(h, "kid")));
	json_decref(h);
	return kid;
}

static void
test_id_hint_valid(void **state)
{
	struct fixture *f = *state;
	char *jwt = mint_id(&f->ours, CLIENT, T0);
	struct id_hint h;

	assert_int_equal(id_hint_verify(&f->app, jwt, T0 + 1, &h), 0);
	assert_string_equal(h.sub, "usr_alice");
	assert_string_equal(h.client_id, CLIENT);
	assert_string_equal(h.sid, "0123456789abcdef");
	assert_int_equal(h.auth_time, T0 - 10);
	id_hint_clear(&h);
	assert_null(h.sub);
	/* Expired long ago: still a hint (RP-Initiated Logout §2). */
	assert_int_equal(check(f, jwt, T0 + 30 * 86400), 0);
	free(jwt);
	/* aud as an array of one. */
	jwt = sign_claims(&f->ours, JOSE_ALG_ES256, "JWT",
	    id_claims(ISSUER, json_pack("[s]", CLIENT)));
	assert_int_equal(check(f, jwt, T0 + 1), 0);
	free(jwt);
}

static void
test_id_hint_bad_claims(void **state)
{
	struct fixture *f = *state;
	char *jwt;
	json_t *c;

	/* Another issuer, though signed by our key. */
	jwt = sign_claims(&f->ours, JOSE_ALG_RS256, "JWT",
	    id_claims("https://evil.example", json_string(CLIENT)));
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_INVALID);
	free(jwt);
	/* Our issuer with a trailing slash is another issuer. */
	jwt = sign_claims(&f->ours, JOSE_ALG_RS256, "JWT",
	    id_claims(ISSUER "/", json_string(CLIENT)));
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_INVALID);
	free(jwt);
	/* Two audiences. */
	jwt = sign_claims(&f->ours, JOSE_ALG_RS256, "JWT",
	    id_claims(ISSUER, json_pack("[s,s]", CLIENT, CLIENT2)));
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_INVALID);
	free(jwt);
	/* An empty array, a number. */
	jwt = sign_claims(
	    &f->ours, JOSE_ALG_RS256, "JWT", id_claims(ISSUER, json_array()));
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_INVALID);
	free(jwt);
	jwt = sign_claims(&f->ours, JOSE_ALG_RS256, "JWT",
	    id_claims(ISSUER, json_integer(7)));
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_INVALID);
	free(jwt);
	/* A client that does not exist (well-formed id). */
	jwt = mint_id(&f->ours, "pcc_ZZZZZZZZZZZZZZZZZZZZZZ", T0);
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_INVALID);
	free(jwt);
	/* The issuer as aud (an access token's shape). */
	jwt = sign_claims(&f->ours, JOSE_ALG_RS256, "JWT",
	    id_claims(ISSUER, json_string(ISSUER)));
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_INVALID);
	free(jwt);
	/* No sub; an empty sub; a sub with a control character. */
	c = id_claims(ISSUER, json_string(CLIENT));
	json_object_del(c, "sub");
	jwt = sign_claims(&f->ours, JOSE_ALG_RS256, "JWT", c);
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_INVALID);
	free(jwt);
	c = id_claims(ISSUER, json_string(CLIENT));
	json_object_set_new(c, "sub", json_string(""));
	jwt = sign_claims(&f->ours, JOSE_ALG_RS256, "JWT", c);
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_INVALID);
	free(jwt);
	c = id_claims(ISSUER, json_string(CLIENT));
	json_object_set_new(c, "sub", json_string("usr\n_alice"));
	jwt = sign_claims(&f->ours, JOSE_ALG_RS256, "JWT", c);
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_INVALID);
	free(jwt);
	/* sid not a string. */
	c = id_claims(ISSUER, json_string(CLIENT));
	json_object_set_new(c, "sid", json_integer(1));
	jwt = sign_claims(&f->ours, JOSE_ALG_RS256, "JWT", c);
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_INVALID);
	free(jwt);
	/* Garbage, empty, NULL, too long. */
	assert_int_equal(check(f, "not.a.jwt", T0), PC_ERR_INVALID);
	assert_int_equal(check(f, "", T0), PC_ERR_INVALID);
	assert_int_equal(check(f, NULL, T0), PC_ERR_INVALID);
	{
		char *big = malloc(ID_HINT_MAX + 2);

		assert_non_null(big);
		memset(big, 'a', ID_HINT_MAX + 1);
		big[ID_HINT_MAX + 1] = '\0';
		assert_int_equal(check(f, big, T0), PC_ERR_INVALID);
		free(big);
	}
}

/* JW-06: an access token (typ at+jwt) is not an ID token hint, even with
 * an ID token's claims. */
static void
test_id_hint_access_token(void **state)
{
	struct fixture *f = *state;
	struct token_access_in in = { "usr_alice", CLIENT, ISSUER,
		"openid profile", T0 - 30, NULL, "pwd", "fam_abc", NULL, NULL,
		0, 0, NULL, NULL, NULL };
	char *jwt = NULL, jti[TOKEN_JTI_LEN + 1];

	assert_int_equal(
	    token_mint_access(f->ours.s, &f->ours.cfg, &in, T0, &jwt, jti), 0);
	assert_int_not_equal(check(f, jwt, T0 + 1), 0);
	free(jwt);
	jwt = sign_claims(&f->ours, JOSE_ALG_ES256, "at+jwt",
	    id_claims(ISSUER, json_string(CLIENT)));
	assert_int_not_equal(check(f, jwt, T0 + 1), 0);
	free(jwt);
	/* Without typ (another kind of token of ours) neither. */
	jwt = sign_claims(&f->ours, JOSE_ALG_RS256, NULL,
	    id_claims(ISSUER, json_string(CLIENT)));
	assert_int_not_equal(check(f, jwt, T0 + 1), 0);
	free(jwt);
}

/* OI-11: alg none in every spelling, with and without our kid. */
static void
test_id_hint_alg_none(void **state)
{
	struct fixture *f = *state;
	static const char *const algs[] = { "none", "None", "NONE", "nOnE" };
	char *good = mint_id(&f->ours, CLIENT, T0);
	char *payload = payload_part(good);
	char *kid = kid_of(good);
	char header[256];

	for (size_t i = 0; i < PC_NELEM(algs); i++) {
		char *jwt;

		snprintf(header, sizeof(header),
		    "{\"alg\":\"%s\",\"typ\":\"JWT\"}", algs[i]);
		jwt = assemble(header, payload, "");
		assert_int_not_equal(check(f, jwt, T0 + 1), 0);
		free(jwt);
		snprintf(header, sizeof(header),
		    "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", algs[i],
		    kid);
		jwt = assemble(header, payload, "");
		assert_int_not_equal(check(f, jwt, T0 + 1), 0);
		free(jwt);
		/* The real signature kept, alg changed to none. */
		jwt = assemble(header, payload, strrchr(good, '.') + 1);
		assert_int_not_equal(check(f, jwt, T0 + 1), 0);
		free(jwt);
	}
	free(kid);
	free(payload);
	free(good);
}

/* JW-03: HS256 "signed" with our published RSA public key as the secret. */
static void
test_id_hint_hs256_confusion(void **state)
{
	struct fixture *f = *state;
	static const char *const algs[] = { "HS256", "HS384", "HS512" };
	char *good = mint_id(&f->ours, CLIENT, T0);
	char *payload = payload_part(good);
	char *kid = kid_of(good);
	char *jwks = NULL;
	size_t jwks_len = 0;

	assert_int_equal(signer_jwks(f->ours.s, T0, &jwks, &jwks_len), 0);
	for (size_t i = 0; i < PC_NELEM(algs); i++) {
		char header[256], *unsigned_part, *jwt, *sig;
		uint8_t mac[EVP_MAX_MD_SIZE];
		unsigned mac_len = 0;
		size_t n;

		snprintf(header, sizeof(header),
		    "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", algs[i],
		    kid);
		unsigned_part = assemble(header, payload, "");
		n = strlen(unsigned_part) - 1; /* without the last '.' */
		assert_non_null(HMAC(i == 0 ? EVP_sha256()
			: i == 1	    ? EVP_sha384()
					    : EVP_sha512(),
		    jwks, (int)jwks_len, (const uint8_t *)unsigned_part, n, mac,
		    &mac_len));
		sig = b64(mac, mac_len);
		unsigned_part[n] = '\0';
		n = strlen(unsigned_part) + strlen(sig) + 2;
		jwt = malloc(n);
		assert_non_null(jwt);
		snprintf(jwt, n, "%s.%s", unsigned_part, sig);
		assert_int_not_equal(check(f, jwt, T0 + 1), 0);
		free(jwt);
		free(sig);
		free(unsigned_part);
	}
	free(jwks);
	free(kid);
	free(payload);
	free(good);
}

static void
test_id_hint_tampered(void **state)
{
	struct fixture *f = *state;
	char *good = mint_id(&f->ours, CLIENT, T0);
	const char *dot1 = strchr(good, '.');
	const char *dot2 = strrchr(good, '.');
	char *payload = payload_part(good);
	char *evil, *jwt;
	size_t n;
	json_t *c = id_claims(ISSUER, json_string(CLIENT));
	char *text;

	/* The payload swapped for another user's, signature kept. */
	json_object_set_new(c, "sub", json_string("usr_bob"));
	text = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	evil = b64(text, strlen(text));
	free(text);
	n = strlen(good) + strlen(evil) + 2;
	jwt = malloc(n);
	assert_non_null(jwt);
	snprintf(jwt, n, "%.*s.%s%s", (int)(dot1 - good), good, evil, dot2);
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_VERIFY);
	free(jwt);
	free(evil);
	/* One flipped signature character. */
	jwt = strdup(good);
	assert_non_null(jwt);
	n = strlen(jwt);
	jwt[n - 5] = jwt[n - 5] == 'A' ? 'B' : 'A';
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_VERIFY);
	free(jwt);
	/* Signature removed. */
	jwt = strndup(good, (size_t)(dot2 - good) + 1);
	assert_int_not_equal(check(f, jwt, T0 + 1), 0);
	free(jwt);
	free(payload);
	free(good);
}

/* Keys we never published: another deployment's, and our kid on a
 * token signed by a foreign key. */
static void
test_id_hint_unknown_key(void **state)
{
	struct fixture *f = *state;
	char *foreign = mint_id(&f->foreign, CLIENT, T0);
	char *good = mint_id(&f->ours, CLIENT, T0);
	char *kid = kid_of(good);
	char *payload = payload_part(foreign);
	char header[256], *jwt;

	assert_int_equal(check(f, foreign, T0 + 1), PC_ERR_VERIFY);
	/* The foreign token relabelled with our kid. */
	snprintf(header, sizeof(header),
	    "{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", kid);
	jwt = assemble(header, payload, strrchr(foreign, '.') + 1);
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_VERIFY);
	free(jwt);
	/* Our token with a kid we do not have. */
	free(payload);
	payload = payload_part(good);
	jwt = assemble("{\"alg\":\"RS256\",\"kid\":\"nope\",\"typ\":\"JWT\"}",
	    payload, strrchr(good, '.') + 1);
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_VERIFY);
	free(jwt);
	free(payload);
	free(kid);
	free(good);
	free(foreign);
}

/* Fail closed: an unreadable client table is a store error, not a pass. */
static void
test_id_hint_store_failure(void **state)
{
	struct fixture *f = *state;
	char *jwt = mint_id(&f->ours, CLIENT, T0);
	struct db_conn *c;

	assert_int_equal(db_conn(f->ours.db, &c), 0);
	assert_int_equal(
	    db_exec(c, "ALTER TABLE clients RENAME TO clients_x"), 0);
	assert_int_equal(check(f, jwt, T0 + 1), PC_ERR_STORE);
	assert_int_equal(
	    db_exec(c, "ALTER TABLE clients_x RENAME TO clients"), 0);
	assert_int_equal(check(f, jwt, T0 + 1), 0);
	free(jwt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_hint_valid),
		cmocka_unit_test(test_id_hint_bad_claims),
		cmocka_unit_test(test_id_hint_access_token),
		cmocka_unit_test(test_id_hint_alg_none),
		cmocka_unit_test(test_id_hint_hs256_confusion),
		cmocka_unit_test(test_id_hint_tampered),
		cmocka_unit_test(test_id_hint_unknown_key),
		cmocka_unit_test(test_id_hint_store_failure),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
