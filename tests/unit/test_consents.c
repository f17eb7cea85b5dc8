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

#include "oauth_fixture.h"

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
