/*
 * Unit tests for clients that register themselves (issue 15 item 6):
 * oauth/client_meta.c (the one parser of registration requests and
 * metadata documents, and the open-registration and document policies:
 * CR-01, CR-02, CR-05), oauth/reg_token.c and store/registrations.c (the
 * initial token's cap, the registration access token replaced only while
 * current, metadata rows updated in place, the purge of unused clients:
 * CR-03, CR-07). A store test: it runs on PostgreSQL too (pg-unit) and
 * under fault injection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "store_fixture.h"
#include "store/db.h"
#include "store/store.h"
#include "util/log.h"

#define ALLOWED "openid profile email offline_access"

struct fixture {
	char dir[64];
	struct db *db;
	struct db_conn *c;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (store_fixture_new(f->dir, true, &f->db) != 0 ||
	    db_conn(f->db, &f->c) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

static int
parse(const char *json, enum client_meta_src src, struct client_meta *m,
    const char **error)
{
	const char *why = NULL;

	return client_meta_parse(
	    json, strlen(json), src, ALLOWED, m, error, &why);
}

static void
test_registrations_CR02_parse(void **state)
{
	static const struct {
		const char *json, *error;
	} bad[] = {
		{ "", "invalid_client_metadata" },
		{ "[]", "invalid_client_metadata" },
		{ "{}", "invalid_redirect_uri" },
		{ "{\"redirect_uris\": \"https://a.example/cb\"}",
		    "invalid_client_metadata" },
		{ "{\"redirect_uris\": [\"javascript:x\"]}",
		    "invalid_redirect_uri" },
		{ "{\"redirect_uris\": [\"https://a.example/cb\","
		  " \"https://a.example/cb\"]}",
		    "invalid_client_metadata" },
		{ "{\"redirect_uris\": [\"https://a.example/cb\"],"
		  " \"grant_types\": [\"client_credentials\"]}",
		    "invalid_client_metadata" },
		{ "{\"redirect_uris\": [\"https://a.example/cb\"],"
		  " \"response_types\": [\"code\", \"token\"]}",
		    "invalid_client_metadata" },
		{ "{\"redirect_uris\": [\"https://a.example/cb\"],"
		  " \"logo_uri\": \"http://a.example/l.png\"}",
		    "invalid_client_metadata" },
		{ "{\"redirect_uris\": [\"https://a.example/cb\"],"
		  " \"scope\": \"admin\"}",
		    "invalid_client_metadata" },
		{ "{\"redirect_uris\": [\"https://a.example/cb\"],"
		  " \"token_endpoint_auth_method\": \"private_key_jwt\"}",
		    "invalid_client_metadata" },
	};
	struct client_meta m;
	const char *error;

	(void)state;
	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		error = NULL;
		if (parse(bad[i].json, CLIENT_META_REGISTER, &m, &error) == 0)
			fail_msg("accepted: %s", bad[i].json);
		assert_string_equal(error, bad[i].error);
	}
	assert_int_equal(parse("{\"redirect_uris\": [\"https://a.example/cb\"],"
			       " \"scope\": \"openid admin email\","
			       " \"unknown\": {\"x\": 1}}",
			     CLIENT_META_REGISTER, &m, &error),
	    0);
	assert_string_equal(m.c.scopes, "openid email");
	assert_string_equal(m.c.auth_method, "client_secret_basic");
	assert_false(m.c.is_public);
	assert_string_equal(m.c.name, "a.example");
	assert_string_equal(m.c.registration, "dynamic");
	assert_string_equal(m.c.grant_types, "authorization_code");
	client_meta_clear(&m);
}

static void
test_registrations_CR01_open_policy(void **state)
{
	static const char *const refused[] = {
		"{\"redirect_uris\": [\"https://a.example/cb\"],"
		" \"token_endpoint_auth_method\": \"none\"}",
		"{\"redirect_uris\": [\"http://127.0.0.1/cb\"]}",
		"{\"redirect_uris\": [\"http://127.0.0.1/cb\","
		" \"https://a.example/cb\"],"
		" \"token_endpoint_auth_method\": \"none\"}",
	};
	struct client_meta m;
	const char *error, *why;

	(void)state;
	for (size_t i = 0; i < PC_NELEM(refused); i++) {
		assert_int_equal(
		    parse(refused[i], CLIENT_META_REGISTER, &m, &error), 0);
		if (client_meta_open_ok(&m, &why) == 0)
			fail_msg("open accepted: %s", refused[i]);
		client_meta_clear(&m);
	}
	assert_int_equal(parse("{\"redirect_uris\": [\"http://127.0.0.1:9/cb\","
			       " \"http://[::1]/cb\", \"com.example.app:/cb\"],"
			       " \"token_endpoint_auth_method\": \"none\"}",
			     CLIENT_META_REGISTER, &m, &error),
	    0);
	assert_int_equal(client_meta_open_ok(&m, &why), 0);
	client_meta_clear(&m);
}

static void
test_registrations_CR04_CR05_document(void **state)
{
	static const char url[] = "https://app.example/c.json";
	static const char *const refused[] = {
		/* client_id: missing, other, other case, trailing slash */
		"{\"redirect_uris\": [\"https://app.example/cb\"]}",
		"{\"client_id\": \"https://app.example/d.json\","
		" \"redirect_uris\": [\"https://app.example/cb\"]}",
		"{\"client_id\": \"https://APP.example/c.json\","
		" \"redirect_uris\": [\"https://app.example/cb\"]}",
		"{\"client_id\": \"https://app.example/c.json/\","
		" \"redirect_uris\": [\"https://app.example/cb\"]}",
		/* another origin: host, port, scheme */
		"{\"client_id\": \"https://app.example/c.json\","
		" \"redirect_uris\": [\"https://evil.example/cb\"]}",
		"{\"client_id\": \"https://app.example/c.json\","
		" \"redirect_uris\": [\"https://app.example:444/cb\"]}",
		"{\"client_id\": \"https://app.example/c.json\","
		" \"redirect_uris\": [\"https://app.example.evil/cb\"]}",
		/* private_key_jwt with a foreign or no jwks_uri */
		"{\"client_id\": \"https://app.example/c.json\","
		" \"redirect_uris\": [\"https://app.example/cb\"],"
		" \"token_endpoint_auth_method\": \"private_key_jwt\","
		" \"jwks_uri\": \"https://evil.example/jwks\"}",
		"{\"client_id\": \"https://app.example/c.json\","
		" \"redirect_uris\": [\"https://app.example/cb\"],"
		" \"token_endpoint_auth_method\": \"private_key_jwt\"}",
	};
	struct client_meta m;
	const char *error, *why;

	(void)state;
	for (size_t i = 0; i < PC_NELEM(refused); i++) {
		if (parse(refused[i], CLIENT_META_DOCUMENT, &m, &error) != 0)
			continue;
		if (client_meta_document_ok(&m, url, &why) == 0)
			fail_msg("document accepted: %s", refused[i]);
		client_meta_clear(&m);
	}
	/* Secrets have no place in a document. */
	assert_int_not_equal(
	    parse("{\"client_id\": \"https://app.example/c.json\","
		  " \"redirect_uris\": [\"https://app.example/cb\"],"
		  " \"client_secret\": \"x\"}",
		CLIENT_META_DOCUMENT, &m, &error),
	    0);
	assert_int_equal(
	    parse("{\"client_id\": \"https://app.example/c.json\","
		  " \"redirect_uris\": [\"https://app.example/cb\","
		  " \"http://127.0.0.1/cb\"]}",
		CLIENT_META_DOCUMENT, &m, &error),
	    0);
	assert_int_equal(client_meta_document_ok(&m, url, &why), 0);
	assert_true(m.c.is_public);
	assert_string_equal(m.c.registration, "metadata");
	client_meta_clear(&m);
	assert_true(client_id_is_url(url));
	assert_false(client_id_is_url("https://app.example"));
	assert_false(client_id_is_url("https://app.example/c.json?x=1"));
	assert_false(client_id_is_url("http://app.example/c.json"));
	assert_false(client_id_is_url("https://u@app.example/c.json"));
	assert_false(client_id_is_url("https://app.example/a/../c.json"));
}

/* A parsed dynamic client with a fresh id. */
static void
dynamic(struct client_meta *m, int64_t now)
{
	char id[CLIENT_ID_LEN + 1];
	const char *error;

	assert_int_equal(parse("{\"redirect_uris\": [\"http://127.0.0.1/cb\"],"
			       " \"token_endpoint_auth_method\": \"none\"}",
			     CLIENT_META_REGISTER, m, &error),
	    0);
	client_id_new(id);
	m->c.client_id = xstrdup(id);
	m->c.created_at = m->c.updated_at = now;
}

static void
test_registrations_CR07_initial_token_cap(void **state)
{
	struct fixture *f = *state;
	char token[REG_TOKEN_LEN + 1], id[REG_INITIAL_ID_LEN + 1],
	    hash[PC_SHA256_HEX_LEN + 1], access[REG_TOKEN_LEN + 1],
	    ahash[PC_SHA256_HEX_LEN + 1];
	struct store_initial_token *v = NULL;
	struct client_meta a, b;
	size_t n = 0;

	assert_int_equal(
	    reg_initial_token_create(f->db, "t", 1, 3600, 1000, token, id), 0);
	assert_int_equal(reg_token_hash(REG_INITIAL_PREFIX, token, hash), 0);
	assert_int_not_equal(reg_token_hash(REG_ACCESS_PREFIX, token, hash), 0);
	assert_int_equal(reg_token_hash(REG_INITIAL_PREFIX, token, hash), 0);
	assert_int_equal(store_initial_token_usable(f->db, hash, 1001), 0);
	assert_int_equal(store_initial_token_usable(f->db, hash, 1000 + 3600),
	    PC_ERR_NOT_FOUND);
	dynamic(&a, 1001);
	dynamic(&b, 1001);
	reg_token_new(REG_ACCESS_PREFIX, access, ahash);
	assert_int_equal(
	    store_client_register(f->db, &a.c, NULL, hash, ahash, 1001), 0);
	/* The cap: the second one is refused and writes nothing. */
	assert_int_equal(store_client_register(f->db, &b.c, NULL, hash,
			     "0000000000000000000000000000000000000000000000000"
			     "000000000000000",
			     1001),
	    PC_ERR_PERM);
	assert_int_equal(
	    store_initial_token_usable(f->db, hash, 1002), PC_ERR_NOT_FOUND);
	assert_int_equal(store_initial_tokens_list(f->db, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].used_clients, 1);
	assert_int_equal(v[0].max_clients, 1);
	store_initial_tokens_free(v, n);
	/* Open registration: no token to count. */
	assert_int_equal(
	    store_client_register(f->db, &b.c, NULL, NULL, ahash, 1001), 0);
	assert_int_equal(store_initial_token_revoke(f->db, id, 1003), 0);
	assert_int_equal(
	    store_initial_token_revoke(f->db, id, 1004), PC_ERR_NOT_FOUND);
	client_meta_clear(&a);
	client_meta_clear(&b);
}

static void
test_registrations_CR03_token_replaced_once(void **state)
{
	struct fixture *f = *state;
	char t1[REG_TOKEN_LEN + 1], h1[PC_SHA256_HEX_LEN + 1],
	    t2[REG_TOKEN_LEN + 1], h2[PC_SHA256_HEX_LEN + 1],
	    t3[REG_TOKEN_LEN + 1], h3[PC_SHA256_HEX_LEN + 1],
	    got[PC_SHA256_HEX_LEN + 1];
	struct client_meta a;

	dynamic(&a, 1000);
	reg_token_new(REG_ACCESS_PREFIX, t1, h1);
	reg_token_new(REG_ACCESS_PREFIX, t2, h2);
	reg_token_new(REG_ACCESS_PREFIX, t3, h3);
	assert_int_equal(
	    store_client_register(f->db, &a.c, NULL, NULL, h1, 1000), 0);
	assert_int_equal(store_registration_hash(f->db, a.c.client_id, got), 0);
	assert_string_equal(got, h1);
	assert_int_equal(
	    store_client_register_update(f->db, &a.c, false, h1, h2, 1001), 0);
	/* The old token is spent: a second update with it does nothing. */
	assert_int_equal(
	    store_client_register_update(f->db, &a.c, false, h1, h3, 1002),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(store_registration_hash(f->db, a.c.client_id, got), 0);
	assert_string_equal(got, h2);
	assert_int_equal(
	    store_client_register_delete(f->db, a.c.client_id, h1, 1003),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_client_register_delete(f->db, a.c.client_id, h2, 1003), 0);
	assert_int_equal(store_registration_hash(f->db, a.c.client_id, got),
	    PC_ERR_NOT_FOUND);
	client_meta_clear(&a);
}

static int64_t
count(struct fixture *f, const char *sql)
{
	struct db_stmt *s;
	int64_t v;

	assert_int_equal(db_prepare(f->c, sql, &s), 0);
	assert_int_equal(db_step(s), DB_ROW);
	v = db_col_int64(s, 0);
	db_done(s);
	return v;
}

static void
test_registrations_CR07_metadata_put_and_purge(void **state)
{
	struct fixture *f = *state;
	struct client_meta m, d;
	struct store_client op, got;
	const char *error;
	char h[PC_SHA256_HEX_LEN + 1], t[REG_TOKEN_LEN + 1];
	int64_t n = -1;

	assert_int_equal(
	    parse("{\"client_id\": \"https://app.example/c.json\","
		  " \"redirect_uris\": [\"https://app.example/cb\"]}",
		CLIENT_META_DOCUMENT, &m, &error),
	    0);
	m.c.client_id = xstrdup("https://app.example/c.json");
	m.c.created_at = m.c.updated_at = 1000;
	assert_int_equal(store_client_metadata_put(f->db, &m.c), 0);
	free(m.c.name);
	m.c.name = xstrdup("Renamed");
	m.c.updated_at = 2000;
	assert_int_equal(store_client_metadata_put(f->db, &m.c), 0);
	assert_int_equal(
	    store_client_get(f->db, "https://app.example/c.json", &got), 0);
	assert_string_equal(got.name, "Renamed");
	assert_int_equal(got.updated_at, 2000);
	assert_int_equal(got.created_at, 1000);
	store_client_clear(&got);
	/* An operator's client is never overwritten by a document. */
	memset(&op, 0, sizeof(op));
	op.client_id = xstrdup("pcc_AAAAAAAAAAAAAAAAAAAAAA");
	op.name = xstrdup("op");
	op.is_public = true;
	op.auth_method = xstrdup("none");
	op.grant_types = xstrdup("authorization_code");
	op.scopes = xstrdup("openid");
	op.id_token_alg = xstrdup("RS256");
	op.created_at = op.updated_at = 10;
	op.redirect_uris = xmalloc(sizeof(char *));
	op.redirect_uris[0] = xstrdup("https://op.example/cb");
	op.n_redirect_uris = 1;
	assert_int_equal(store_client_insert(f->db, &op, NULL), 0);
	free(m.c.client_id);
	m.c.client_id = xstrdup(op.client_id);
	assert_int_equal(
	    store_client_metadata_put(f->db, &m.c), PC_ERR_CONFLICT);
	/* A dynamic client, old too. */
	dynamic(&d, 1000);
	reg_token_new(REG_ACCESS_PREFIX, t, h);
	assert_int_equal(
	    store_client_register(f->db, &d.c, NULL, NULL, h, 1000), 0);
	/* Nothing is old enough yet. */
	assert_int_equal(
	    store_registered_clients_purge(f->db, 1000, 5000, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    store_registered_clients_purge(f->db, 1001, 5000, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM clients WHERE client_id ="
			     " 'https://app.example/c.json'"),
	    0);
	/* The dynamic id is tombstoned; the operator's client stays. */
	assert_int_equal(count(f,
			     "SELECT count(*) FROM deleted_clients WHERE"
			     " client_id LIKE 'pcc_%'"),
	    1);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM clients WHERE client_id ="
			     " 'pcc_AAAAAAAAAAAAAAAAAAAAAA'"),
	    1);
	store_client_clear(&op);
	client_meta_clear(&m);
	client_meta_clear(&d);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registrations_CR02_parse),
		cmocka_unit_test(test_registrations_CR01_open_policy),
		cmocka_unit_test(test_registrations_CR04_CR05_document),
		T(test_registrations_CR07_initial_token_cap),
		T(test_registrations_CR03_token_replaced_once),
		T(test_registrations_CR07_metadata_put_and_purge),
	};
#undef T

	log_init(LOG_ERROR);
	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
