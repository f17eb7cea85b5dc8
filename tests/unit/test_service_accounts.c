/*
 * Service accounts and groups (src/store/service_accounts.c, groups.c,
 * src/machine/service_account.c, group.c; issue 14): the store round
 * trips, names unique, ids never reused (tombstones), deleting an account
 * takes its memberships and bound clients along (SS-08 for machines), a
 * group that owns an account cannot go, members must exist; and the
 * domain's rules: names, scope syntax without user scopes, resource URIs,
 * an owner that exists, bounded durations, scopes granted through groups.
 * A store test: it runs on PostgreSQL and under fault injection too.
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

#include "crypto/crypto.h"
#include "machine/machine.h"
#include "oauth/proto.h"
#include "store/store.h"

#define T0 INT64_C(1800000000)

#include "oauth_fixture.h"

static void
sa_new(struct fixture *f, const char *name, const char *scopes,
    struct store_service_account *out)
{
	struct sa_fields in = { .name = name, .scopes = scopes };
	const char *why = NULL;

	assert_int_equal(service_account_create(f->db, &in, T0, out, &why), 0);
}

static void
test_sa_store_round_trip(void **state)
{
	struct fixture *f = *state;
	const char *res[] = { "https://api.example.com",
		"http://127.0.0.1:8080/orders" };
	struct sa_fields in = { .name = "ci-bot",
		.description = "CI",
		.owner_id = f->alice.id,
		.scopes = "orders:read orders:write",
		.resources = res,
		.n_resources = 2,
		.set_resources = true,
		.expires_in = 86400,
		.set_expires = true };
	struct store_service_account sa, got, *v = NULL;
	const char *why = NULL;
	size_t n = 0;

	assert_int_equal(service_account_create(f->db, &in, T0, &sa, &why), 0);
	assert_int_equal(principal_kind(sa.id), PRINCIPAL_SERVICE_ACCOUNT);
	assert_int_equal(store_service_account_get(f->db, sa.id, &got), 0);
	assert_string_equal(got.name, "ci-bot");
	assert_string_equal(got.description, "CI");
	assert_string_equal(got.owner_id, f->alice.id);
	assert_string_equal(got.scopes, "orders:read orders:write");
	assert_string_equal(got.resources,
	    "https://api.example.com http://127.0.0.1:8080/orders");
	assert_int_equal(got.expires_at, T0 + 86400);
	assert_int_equal(got.disabled_at, 0);
	assert_int_equal(got.created_at, T0);
	assert_true(service_account_usable(&got, T0 + 86399));
	assert_false(service_account_usable(&got, T0 + 86400));
	assert_true(
	    service_account_resource_allowed(&got, "https://api.example.com"));
	assert_false(
	    service_account_resource_allowed(&got, "https://api.example.co"));
	assert_false(
	    service_account_resource_allowed(&got, "https://api.example.com/"));
	store_service_account_clear(&got);
	assert_int_equal(store_service_accounts_list(f->db, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].id, sa.id);
	store_service_accounts_free(v, n);

	/* Update: only what is given; owner and expiry can be removed. */
	memset(&in, 0, sizeof(in));
	in.description = "builds";
	in.owner_id = "";
	in.set_expires = true;
	in.set_resources = true; /* none: any registered resource */
	store_service_account_clear(&sa);
	assert_int_equal(
	    service_account_update(
		f->db, "svc_AAAAAAAAAAAAAAAAAAAAAA", &in, T0 + 1, &sa, &why),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(store_service_accounts_list(f->db, &v, &n), 0);
	assert_int_equal(
	    service_account_update(f->db, v[0].id, &in, T0 + 1, &sa, &why), 0);
	store_service_accounts_free(v, n);
	assert_string_equal(sa.name, "ci-bot");
	assert_string_equal(sa.description, "builds");
	assert_null(sa.owner_id);
	assert_int_equal(sa.expires_at, 0);
	assert_string_equal(sa.resources, "");
	assert_true(
	    service_account_resource_allowed(&sa, "https://any.example"));
	assert_int_equal(sa.updated_at, T0 + 1);
	assert_int_equal(store_service_account_get(f->db, sa.id, &got), 0);
	assert_null(got.owner_id);
	assert_string_equal(got.description, "builds");
	store_service_account_clear(&got);
	store_service_account_clear(&sa);
}

static void
test_sa_names_unique_and_ids_never_reused(void **state)
{
	struct fixture *f = *state;
	struct store_service_account a, b, copy;
	struct sa_fields in = { .name = "a" };
	const char *why = NULL;
	struct store_sa_state st;

	sa_new(f, "a", "", &a);
	sa_new(f, "b", "", &b);
	/* The same name twice. */
	assert_int_equal(service_account_create(f->db, &in, T0, &copy, &why),
	    PC_ERR_CONFLICT);
	assert_non_null(why);
	/* Renaming onto a taken name. */
	assert_int_equal(
	    service_account_update(f->db, b.id, &in, T0, &copy, &why),
	    PC_ERR_CONFLICT);
	/* Deleted: gone, and its id cannot be inserted again. */
	assert_int_equal(
	    service_account_delete(f->db, a.id, T0, NULL, NULL), 0);
	assert_int_equal(
	    store_service_account_state(f->db, a.id, &st), PC_ERR_NOT_FOUND);
	assert_int_equal(service_account_delete(f->db, a.id, T0, NULL, NULL),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_service_account_insert(f->db, &a), PC_ERR_CONFLICT);
	/* An existing id cannot be inserted twice either. */
	free(b.name);
	b.name = xstrdup("b2");
	assert_int_equal(
	    store_service_account_insert(f->db, &b), PC_ERR_CONFLICT);
	/* The name of a deleted account is free again (a new id). */
	sa_new(f, "a", "", &copy);
	assert_string_not_equal(copy.id, a.id);
	store_service_account_clear(&copy);
	store_service_account_clear(&a);
	store_service_account_clear(&b);
}

static void
test_sa_disable_enable_state(void **state)
{
	struct fixture *f = *state;
	struct store_service_account sa;
	struct store_sa_state st;

	sa_new(f, "d", "x", &sa);
	assert_int_equal(store_service_account_state(f->db, sa.id, &st), 0);
	assert_int_equal(st.expires_at, 0);
	assert_int_equal(st.disabled_at, 0);
	assert_int_equal(st.tokens_revoked_at, 0);
	assert_int_equal(machine_principal_live(f->db, sa.id, NULL, T0), 0);
	assert_int_equal(
	    service_account_set_disabled(f->db, sa.id, true, T0 + 5), 0);
	assert_int_equal(store_service_account_state(f->db, sa.id, &st), 0);
	assert_int_equal(st.disabled_at, T0 + 5);
	assert_int_equal(st.tokens_revoked_at, T0 + 5);
	assert_int_equal(
	    machine_principal_live(f->db, sa.id, NULL, T0 + 6), PC_ERR_VERIFY);
	assert_int_equal(
	    service_account_set_disabled(f->db, sa.id, false, T0 + 7), 0);
	assert_int_equal(machine_principal_live(f->db, sa.id, NULL, T0 + 8), 0);
	/* Enabled again, the revocation stays: tokens from before it are
	 * dead, tokens issued after it alive. */
	assert_int_equal(store_service_account_state(f->db, sa.id, &st), 0);
	assert_int_equal(st.disabled_at, 0);
	assert_int_equal(st.tokens_revoked_at, T0 + 5);
	assert_int_equal(machine_token_live(f->db, sa.id, NULL, T0 + 5, T0 + 8),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    machine_token_live(f->db, sa.id, NULL, T0 + 8, T0 + 8), 0);
	assert_int_equal(service_account_set_disabled(
			     f->db, "svc_AAAAAAAAAAAAAAAAAAAAAA", true, T0),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(service_account_set_disabled(f->db, "nope", true, T0),
	    PC_ERR_NOT_FOUND);
	/* Users: alive until disabled; anything else is no principal. */
	assert_int_equal(
	    machine_principal_live(f->db, f->alice.id, NULL, T0), 0);
	assert_int_equal(
	    store_user_set_disabled(f->db, f->alice.id, T0 + 1, T0 + 1), 0);
	assert_int_equal(machine_principal_live(f->db, f->alice.id, NULL, T0),
	    PC_ERR_VERIFY);
	assert_int_equal(
	    machine_principal_live(f->db, "pcc_app", NULL, T0), PC_ERR_VERIFY);
	assert_int_equal(
	    machine_principal_live(f->db, NULL, NULL, T0), PC_ERR_VERIFY);
	store_service_account_clear(&sa);
}

static void
test_sa_SS08_delete_takes_bound_clients(void **state)
{
	struct fixture *f = *state;
	struct store_service_account sa;
	struct store_client c;
	struct db_conn *conn;
	char **ids = NULL;
	size_t n = 0;

	sa_new(f, "bound", "api.read", &sa);
	assert_int_equal(db_conn(f->db, &conn), 0);
	memset(&c, 0, sizeof(c));
	c.client_id = "pcc_bound";
	c.name = "Bound";
	c.auth_method = "client_secret_basic";
	c.grant_types = "client_credentials";
	c.scopes = "api.read";
	c.id_token_alg = "RS256";
	c.service_account_id = sa.id;
	c.created_at = c.updated_at = T0;
	assert_int_equal(store_client_insert(f->db, &c, NULL), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_client_get(f->db, "pcc_bound", &c), 0);
	assert_string_equal(c.service_account_id, sa.id);
	store_client_clear(&c);
	assert_int_equal(store_client_get(f->db, "pcc_app", &c), 0);
	assert_null(c.service_account_id);
	store_client_clear(&c);
	assert_int_equal(
	    store_service_account_clients(f->db, sa.id, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "pcc_bound");
	store_strv_free(ids, n);

	assert_int_equal(service_account_delete(f->db, sa.id, T0, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "pcc_bound");
	store_strv_free(ids, n);
	assert_int_equal(
	    store_client_get(f->db, "pcc_bound", &c), PC_ERR_NOT_FOUND);
	assert_int_equal(store_client_get(f->db, "pcc_app", &c), 0);
	store_client_clear(&c);
	store_service_account_clear(&sa);
}

static void
test_sa_domain_rules(void **state)
{
	struct fixture *f = *state;
	struct store_service_account sa;
	const char *why;
	int64_t d;
	/* 65 characters: one more than SA_NAME_MAX. */
	static const char too_long[] =
	    "01234567890123456789012345678901234567890123456789012345678901234";
	static const char *const bad_names[] = { "", "-x", "a b", "é", "a/b",
		too_long };
	static const char *const bad_scopes[] = { "openid", "a offline_access",
		"a  b", " a", "a\"b" };
	static const char *const bad_res[] = { "http://api.example.com",
		"https://api.example.com#f", "https://api.example.com?q=1",
		"ftp://x", "https://", "https://u@x", "api.example.com",
		"https://a b" };

	for (size_t i = 0; i < PC_NELEM(bad_names); i++) {
		struct sa_fields in = { .name = bad_names[i] };

		why = NULL;
		assert_int_equal(
		    service_account_create(f->db, &in, T0, &sa, &why),
		    PC_ERR_INVALID);
		assert_non_null(why);
	}
	for (size_t i = 0; i < PC_NELEM(bad_scopes); i++) {
		struct sa_fields in = { .name = "s", .scopes = bad_scopes[i] };

		assert_int_equal(
		    service_account_create(f->db, &in, T0, &sa, &why),
		    PC_ERR_INVALID);
	}
	for (size_t i = 0; i < PC_NELEM(bad_res); i++) {
		struct sa_fields in = { .name = "r",
			.resources = &bad_res[i],
			.n_resources = 1,
			.set_resources = true };

		assert_false(machine_resource_uri_valid(bad_res[i]));
		assert_int_equal(
		    service_account_create(f->db, &in, T0, &sa, &why),
		    PC_ERR_INVALID);
	}
	assert_true(machine_resource_uri_valid("https://api.example.com"));
	assert_true(machine_resource_uri_valid("http://[::1]:9/x"));
	assert_true(machine_resource_uri_valid("http://localhost:9"));
	/* Owners: must exist, and be a user or a group. */
	{
		static const char *const owners[] = {
			"usr_AAAAAAAAAAAAAAAAAAAAAA",
			"grp_AAAAAAAAAAAAAAAAAAAAAA", "pcc_app",
			"svc_AAAAAAAAAAAAAAAAAAAAAA"
		};

		for (size_t i = 0; i < PC_NELEM(owners); i++) {
			struct sa_fields in = { .name = "o",
				.owner_id = owners[i] };

			assert_int_equal(
			    service_account_create(f->db, &in, T0, &sa, &why),
			    PC_ERR_INVALID);
		}
	}
	/* Expiry bounds. */
	{
		struct sa_fields in = {
			.name = "e", .expires_in = 59, .set_expires = true
		};

		assert_int_equal(
		    service_account_create(f->db, &in, T0, &sa, &why),
		    PC_ERR_INVALID);
		in.expires_in = SA_EXPIRES_MAX + 1;
		assert_int_equal(
		    service_account_create(f->db, &in, T0, &sa, &why),
		    PC_ERR_INVALID);
	}
	/* Durations. */
	assert_int_equal(machine_duration_parse("90d", &d), 0);
	assert_int_equal(d, 90 * 86400);
	assert_int_equal(machine_duration_parse("2w", &d), 0);
	assert_int_equal(d, 14 * 86400);
	assert_int_equal(machine_duration_parse("3600", &d), 0);
	assert_int_equal(d, 3600);
	assert_int_equal(machine_duration_parse("12h", &d), 0);
	assert_int_equal(d, 12 * 3600);
	assert_int_equal(machine_duration_parse("30m", &d), 0);
	assert_int_equal(d, 1800);
	{
		static const char *const bad[] = { "", "d", "0", "0d", "-1d",
			"1.5d", "1y", "99999999999999999999",
			"999999999999999d", " 1d" };

		for (size_t i = 0; i < PC_NELEM(bad); i++)
			assert_int_equal(
			    machine_duration_parse(bad[i], &d), PC_ERR_INVALID);
	}
	assert_int_equal(machine_duration_parse(NULL, &d), PC_ERR_INVALID);
}

static void
test_groups_membership_and_scopes(void **state)
{
	struct fixture *f = *state;
	struct store_group g, h, *v = NULL;
	struct store_service_account sa;
	struct scope_set s;
	const char *why = NULL;
	char **names = NULL, **members = NULL;
	size_t n = 0;
	bool added = false;

	assert_int_equal(group_create(f->db, "ops", "Operations",
			     "deploy:write", T0, &g, &why),
	    0);
	assert_int_equal(principal_kind(g.id), PRINCIPAL_GROUP);
	assert_int_equal(
	    group_create(f->db, "billing", NULL, "invoices:read", T0, &h, &why),
	    0);
	assert_int_equal(group_create(f->db, "ops", NULL, NULL, T0,
			     &(struct store_group){ 0 }, &why),
	    PC_ERR_CONFLICT);
	assert_int_equal(group_create(f->db, "x y", NULL, NULL, T0,
			     &(struct store_group){ 0 }, &why),
	    PC_ERR_INVALID);
	assert_int_equal(group_create(f->db, "u", NULL, "openid", T0,
			     &(struct store_group){ 0 }, &why),
	    PC_ERR_INVALID);
	sa_new(f, "deployer", "api.read", &sa);

	/* Members: users and service accounts that exist. */
	assert_int_equal(
	    group_member_add(f->db, g.id, sa.id, T0, &added, &why), 0);
	assert_true(added);
	assert_int_equal(
	    group_member_add(f->db, g.id, sa.id, T0, &added, &why), 0);
	assert_false(added);
	assert_int_equal(
	    group_member_add(f->db, g.id, f->alice.id, T0, &added, &why), 0);
	assert_int_equal(
	    group_member_add(f->db, h.id, f->alice.id, T0, &added, &why), 0);
	assert_int_equal(group_member_add(f->db, g.id,
			     "usr_AAAAAAAAAAAAAAAAAAAAAA", T0, &added, &why),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    group_member_add(f->db, g.id, "pcc_app", T0, &added, &why),
	    PC_ERR_INVALID);
	assert_int_equal(group_member_add(f->db, g.id, h.id, T0, &added, &why),
	    PC_ERR_INVALID);
	assert_int_equal(group_member_add(f->db, "grp_AAAAAAAAAAAAAAAAAAAAAA",
			     sa.id, T0, &added, &why),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(store_group_members(f->db, g.id, &members, &n), 0);
	assert_int_equal(n, 2);
	store_strv_free(members, n);

	/* The claim: names, sorted. */
	assert_int_equal(group_names_of(f->db, f->alice.id, &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "billing");
	assert_string_equal(names[1], "ops");
	store_strv_free(names, n);

	/* A service account's scopes: its own and its groups'. */
	assert_int_equal(service_account_scopes(f->db, &sa, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(scope_has(&s, "api.read"));
	assert_true(scope_has(&s, "deploy:write"));
	assert_false(scope_has(&s, "invoices:read"));
	scope_set_free(&s);

	/* Removal, then the group's scopes are no longer granted. */
	assert_int_equal(group_member_remove(f->db, g.id, sa.id), 0);
	assert_int_equal(
	    group_member_remove(f->db, g.id, sa.id), PC_ERR_NOT_FOUND);
	assert_int_equal(service_account_scopes(f->db, &sa, &s), 0);
	assert_int_equal(s.n, 1);
	scope_set_free(&s);

	/* A group that owns an account cannot be deleted. */
	{
		struct sa_fields in = { .name = "owned", .owner_id = g.id };
		struct store_service_account o;

		assert_int_equal(
		    service_account_create(f->db, &in, T0, &o, &why), 0);
		assert_int_equal(
		    group_delete(f->db, g.id, T0), PC_ERR_CONFLICT);
		assert_int_equal(
		    service_account_delete(f->db, o.id, T0, NULL, NULL), 0);
		store_service_account_clear(&o);
	}
	/* Deleting an account drops its memberships. */
	assert_int_equal(
	    group_member_add(f->db, h.id, sa.id, T0, &added, &why), 0);
	assert_int_equal(
	    service_account_delete(f->db, sa.id, T0, NULL, NULL), 0);
	assert_int_equal(store_group_members(f->db, h.id, &members, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(members[0], f->alice.id);
	store_strv_free(members, n);

	/* Delete: memberships go, the id is tombstoned. */
	assert_int_equal(group_delete(f->db, g.id, T0), 0);
	assert_int_equal(group_delete(f->db, g.id, T0), PC_ERR_NOT_FOUND);
	assert_int_equal(store_group_insert(f->db, &g), PC_ERR_CONFLICT);
	assert_int_equal(group_names_of(f->db, f->alice.id, &names, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "billing");
	store_strv_free(names, n);
	assert_int_equal(store_groups_list(f->db, &v, &n), 0);
	assert_int_equal(n, 1);
	store_groups_free(v, n);
	/* Deleting a user drops its memberships too. */
	assert_int_equal(store_user_delete(f->db, f->alice.id, T0), 0);
	assert_int_equal(store_group_members(f->db, h.id, &members, &n), 0);
	assert_int_equal(n, 0);
	store_strv_free(members, n);
	store_group_clear(&g);
	store_group_clear(&h);
	store_service_account_clear(&sa);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_sa_store_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sa_names_unique_and_ids_never_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sa_disable_enable_state, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sa_SS08_delete_takes_bound_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sa_domain_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_groups_membership_and_scopes, setup, teardown),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
