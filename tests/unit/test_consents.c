/*
 * Consents (src/oauth/consent.c, src/store/consents.c; CF-03): covered
 * only when every requested scope was allowed to this client by this
 * user; grants accumulate; revocation and client deletion end them.
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

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "store/store.h"

#define T0 INT64_C(1800000000)

struct fixture {
	char dir[64];
	struct db *db;
	struct store_user alice;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct db_conn *c;
	char err[256];
	int from, to;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pc-test-consents-XXXXXX");
	if (mkdtemp(f->dir) == NULL || db_open("", f->dir, &f->db) != 0 ||
	    store_migrate(f->db, &from, &to, err, sizeof(err)) != 0 ||
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
		" 'authorization_code', 'openid', 'RS256', 0, 1, 1)") != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	static const char *const files[] = { "portcullis.db",
		"portcullis.db-wal", "portcullis.db-shm" };
	struct fixture *f = *state;
	char path[128];

	store_user_clear(&f->alice);
	db_close(f->db);
	for (size_t i = 0; i < PC_NELEM(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
		(void)unlink(path);
	}
	if (rmdir(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

static bool
covers(struct fixture *f, const char *client, const char *scope)
{
	struct scope_set s;
	bool c = true;

	assert_int_equal(scope_parse(scope, &s), 0);
	assert_int_equal(consent_covers(f->db, f->alice.id, client, &s, &c), 0);
	scope_set_free(&s);
	return c;
}

static void
grant(struct fixture *f, const char *client, const char *scope, int64_t now)
{
	struct scope_set s;

	assert_int_equal(scope_parse(scope, &s), 0);
	assert_int_equal(consent_grant(f->db, f->alice.id, client, &s, now), 0);
	scope_set_free(&s);
}

static void
test_consents_CF03_cover_exactly(void **state)
{
	struct fixture *f = *state;
	struct store_consent *v = NULL;
	size_t n = 0;

	assert_false(covers(f, "pcc_app", "openid"));
	grant(f, "pcc_app", "openid profile", T0);
	assert_true(covers(f, "pcc_app", "openid"));
	assert_true(covers(f, "pcc_app", "profile openid"));
	assert_false(covers(f, "pcc_app", "openid email"));
	/* Per client: another client has nothing. */
	assert_false(covers(f, "pcc_other", "openid"));
	/* Grants accumulate. */
	grant(f, "pcc_app", "email", T0 + 1);
	assert_true(covers(f, "pcc_app", "openid email profile"));
	assert_int_equal(store_consents_list(f->db, f->alice.id, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].scope, "openid profile email");
	assert_int_equal(v[0].granted_at, T0 + 1);
	store_consents_free(v, n);
}

static void
test_consents_revoke_and_client_delete(void **state)
{
	struct fixture *f = *state;
	struct db_conn *c;

	grant(f, "pcc_app", "openid", T0);
	grant(f, "pcc_other", "openid", T0);
	assert_int_equal(
	    store_consent_delete(f->db, f->alice.id, "pcc_app"), 0);
	assert_false(covers(f, "pcc_app", "openid"));
	assert_int_equal(store_consent_delete(f->db, f->alice.id, "pcc_app"),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(
	    db_exec(c, "DELETE FROM clients WHERE client_id = 'pcc_other'"), 0);
	assert_false(covers(f, "pcc_other", "openid"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_consents_CF03_cover_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_consents_revoke_and_client_delete, setup, teardown),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
