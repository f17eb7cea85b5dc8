/*
 * Resources (src/machine/resource.c, src/store/resources.c; issue 14
 * item 2, RFC 8707, SECURITY.md TX-04): which URIs may name a resource
 * (the issuer's rules: https, http only to loopback, no query, fragment or
 * userinfo, one spelling), which scopes it may list, and the registry's
 * round trips, conflicts and the binding to its introspection client.
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
#include "machine/machine.h"
#include "store/store.h"

#define T0 INT64_C(1800000000)

#include "oauth_fixture.h"

/* Client ids of the real shape (the fixture's are short). */
#define APP "pcc_appAAAAAAAAAAAAAAAAAAA"
#define OTHER "pcc_otherAAAAAAAAAAAAAAAAA"

static int
setup_clients(void **state)
{
	struct fixture *f;
	struct db_conn *c;

	if (setup(state) != 0)
		return -1;
	f = *state;
	if (db_conn(f->db, &c) != 0 ||
	    db_exec(c,
		"UPDATE clients SET client_id = '" APP "'"
		" WHERE client_id = 'pcc_app'") != 0 ||
	    db_exec(c,
		"UPDATE clients SET client_id = '" OTHER "'"
		" WHERE client_id = 'pcc_other'") != 0)
		return -1;
	return 0;
}

static void
test_resources_TX04_uri_rules(void **state)
{
	static const char *const good[] = {
		"https://api.example.com",
		"https://api.example.com/",
		"https://api.example.com/v1/orders",
		"https://api.example.com:8443/v1",
		"https://[2001:db8::1]/x",
		"http://127.0.0.1:9000/api",
		"http://localhost/api",
		"http://[::1]:8080",
		"https://a.example/.well-known/x",
		"https://a.example/...",
	};
	static const char *const bad[] = {
		NULL,
		"",
		"api.example.com",
		"ftp://api.example.com",
		"HTTPS://api.example.com",
		"http://api.example.com",    /* http off loopback */
		"http://10.0.0.1/api",	     /* private is not loopback */
		"https://api.example.com?x", /* query */
		"https://api.example.com/#x",
		"https://user@api.example.com",
		"https://API.example.com",
		"https://api.example.com/a b",
		"https://api.example.com/\x7f",
		"https://api.example.com/caf\xc3\xa9",
		"https://api.example.com/a/../b",
		"https://api.example.com/a/./b",
		"https://api.example.com/..",
		"https://",
		"https:///path",
		"https://api.example.com:0",
		"https://api.example.com:65536",
		"https://api.example.com:x",
		"https://a_b.example",
		"https://api.example.com\\x",
	};
	char longer[RESOURCE_URI_MAX + 2];
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why = NULL;
		if (resource_uri_check(good[i], &why) != 0)
			fail_msg("refused %s: %s", good[i], why);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (resource_uri_check(bad[i], &why) != PC_ERR_INVALID)
			fail_msg("accepted %s", bad[i] ? bad[i] : "NULL");
		assert_non_null(why);
	}
	/* At most RESOURCE_URI_MAX bytes: it travels as aud. */
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "https://a.example/", 18);
	assert_int_equal(resource_uri_check(longer, &why), PC_ERR_INVALID);
	longer[RESOURCE_URI_MAX] = '\0';
	assert_int_equal(resource_uri_check(longer, &why), 0);
	/* why may be NULL. */
	assert_int_equal(resource_uri_check("x", NULL), PC_ERR_INVALID);
}

static void
test_resources_scopes(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(resource_scopes_check("orders:read", &why), 0);
	assert_int_equal(resource_scopes_check("a b c", &why), 0);
	assert_int_equal(resource_scopes_check("a a", &why), 0); /* folded */
	assert_int_equal(resource_scopes_check("", &why), PC_ERR_INVALID);
	assert_int_equal(resource_scopes_check(NULL, &why), PC_ERR_INVALID);
	assert_int_equal(resource_scopes_check("a  b", &why), PC_ERR_INVALID);
	assert_int_equal(resource_scopes_check(" a", &why), PC_ERR_INVALID);
	assert_int_equal(resource_scopes_check("a\"b", &why), PC_ERR_INVALID);
	assert_int_equal(
	    resource_scopes_check("a openid", &why), PC_ERR_INVALID);
	assert_int_equal(
	    resource_scopes_check("offline_access", &why), PC_ERR_INVALID);
}

static void
make(struct store_resource *r, const char *id, const char *scopes,
    const char *client)
{
	memset(r, 0, sizeof(*r));
	r->id = xstrdup(id);
	r->scopes = xstrdup(scopes);
	r->client_id = client != NULL ? xstrdup(client) : NULL;
}

static int
create(struct fixture *f, const char *id, const char *scopes,
    const char *client, const char **why)
{
	struct store_resource r;
	int rc;

	make(&r, id, scopes, client);
	rc = resource_create(f->db, &r, T0, why);
	store_resource_clear(&r);
	return rc;
}

static void
test_resources_round_trip(void **state)
{
	struct fixture *f = *state;
	struct store_resource r, *v = NULL;
	const char *why = NULL;
	size_t n = 0;

	make(&r, "https://orders.example", "orders:read orders:write", APP);
	r.name = xstrdup("Orders");
	assert_int_equal(resource_create(f->db, &r, T0, &why), 0);
	store_resource_clear(&r);
	/* No name: the URI; no client: nobody introspects for it. */
	assert_int_equal(create(f, "https://b.example", "x", NULL, &why), 0);

	assert_int_equal(resource_get(f->db, "https://orders.example", &r), 0);
	assert_string_equal(r.id, "https://orders.example");
	assert_string_equal(r.name, "Orders");
	assert_string_equal(r.scopes, "orders:read orders:write");
	assert_string_equal(r.client_id, APP);
	assert_int_equal(r.created_at, T0);
	assert_int_equal(r.updated_at, T0);
	store_resource_clear(&r);
	assert_int_equal(resource_get(f->db, "https://b.example", &r), 0);
	assert_string_equal(r.name, "https://b.example");
	assert_null(r.client_id);
	store_resource_clear(&r);

	/* Byte for byte: another spelling is another (unknown) resource. */
	assert_int_equal(resource_get(f->db, "https://orders.example/", &r),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(resource_get(f->db, "https://Orders.example", &r),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(resource_get(f->db, NULL, &r), PC_ERR_NOT_FOUND);

	assert_int_equal(resource_for_client(f->db, APP, &r), 0);
	assert_string_equal(r.id, "https://orders.example");
	store_resource_clear(&r);
	assert_int_equal(
	    resource_for_client(f->db, OTHER, &r), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    resource_for_client(f->db, NULL, &r), PC_ERR_NOT_FOUND);

	assert_int_equal(resource_list(f->db, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].id, "https://b.example");
	assert_string_equal(v[1].id, "https://orders.example");
	store_resources_free(v, n);

	/* update: name, scopes and DPoP change; the id and client stay. */
	assert_int_equal(resource_get(f->db, "https://orders.example", &r), 0);
	assert_false(r.dpop_required);
	free(r.name);
	r.name = xstrdup("Orders v2");
	free(r.scopes);
	r.scopes = xstrdup("orders:read");
	r.dpop_required = true;
	assert_int_equal(resource_update(f->db, &r, T0 + 5, &why), 0);
	store_resource_clear(&r);
	assert_int_equal(resource_get(f->db, "https://orders.example", &r), 0);
	assert_string_equal(r.name, "Orders v2");
	assert_string_equal(r.scopes, "orders:read");
	assert_true(r.dpop_required);
	assert_string_equal(r.client_id, APP);
	assert_int_equal(r.created_at, T0);
	assert_int_equal(r.updated_at, T0 + 5);
	/* Refused as at create; an unknown id is not found. */
	free(r.scopes);
	r.scopes = xstrdup("openid");
	assert_int_equal(
	    resource_update(f->db, &r, T0 + 6, &why), PC_ERR_INVALID);
	assert_non_null(why);
	free(r.scopes);
	r.scopes = xstrdup("x");
	free(r.id);
	r.id = xstrdup("https://nobody.example");
	assert_int_equal(
	    resource_update(f->db, &r, T0 + 6, &why), PC_ERR_NOT_FOUND);
	store_resource_clear(&r);

	assert_int_equal(resource_delete(f->db, "https://b.example"), 0);
	assert_int_equal(
	    resource_delete(f->db, "https://b.example"), PC_ERR_NOT_FOUND);
	assert_int_equal(resource_delete(f->db, "nope"), PC_ERR_NOT_FOUND);
	assert_int_equal(resource_list(f->db, &v, &n), 0);
	assert_int_equal(n, 1);
	store_resources_free(v, n);
}

static void
test_resources_conflicts(void **state)
{
	struct fixture *f = *state;
	struct store_resource r;
	struct db_conn *c;
	const char *why = NULL;

	assert_int_equal(create(f, "https://a.example", "x", APP, &why), 0);
	/* The id is taken. */
	assert_int_equal(
	    create(f, "https://a.example", "y", NULL, &why), PC_ERR_CONFLICT);
	/* One client introspects for one resource. */
	assert_int_equal(
	    create(f, "https://c.example", "y", APP, &why), PC_ERR_CONFLICT);
	/* Unknown, malformed and public clients. */
	assert_int_equal(create(f, "https://c.example", "y",
			     "pcc_AAAAAAAAAAAAAAAAAAAAAA", &why),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    create(f, "https://c.example", "y", "app", &why), PC_ERR_INVALID);
	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(db_exec(c,
			     "UPDATE clients SET is_public = 1,"
			     " token_endpoint_auth_method = 'none'"
			     " WHERE client_id = '" OTHER "'"),
	    0);
	why = NULL;
	assert_int_equal(
	    create(f, "https://c.example", "y", OTHER, &why), PC_ERR_INVALID);
	assert_non_null(why);
	/* Refused fields. */
	assert_int_equal(
	    create(f, "http://c.example", "y", NULL, &why), PC_ERR_INVALID);
	assert_int_equal(
	    create(f, "https://c.example", "", NULL, &why), PC_ERR_INVALID);
	make(&r, "https://c.example", "y", NULL);
	r.name = xstrdup("a\nb");
	assert_int_equal(resource_create(f->db, &r, T0, &why), PC_ERR_INVALID);
	store_resource_clear(&r);
	/* None of them was stored. */
	assert_int_equal(
	    resource_get(f->db, "https://c.example", &r), PC_ERR_NOT_FOUND);
	/* The store alone: its constraints say the same. */
	make(&r, "https://d.example", "y", "pcc_missing");
	r.name = xstrdup("d");
	assert_int_equal(store_resource_insert(f->db, &r), PC_ERR_CONFLICT);
	store_resource_clear(&r);
}

static void
test_resources_client_deleted(void **state)
{
	struct fixture *f = *state;
	struct store_resource r;
	const char *why = NULL;

	assert_int_equal(create(f, "https://a.example", "x", APP, &why), 0);
	assert_int_equal(store_client_delete(f->db, APP, T0), 0);
	/* The resource stays, without introspection credentials. */
	assert_int_equal(resource_get(f->db, "https://a.example", &r), 0);
	assert_null(r.client_id);
	store_resource_clear(&r);
	assert_int_equal(resource_for_client(f->db, APP, &r), PC_ERR_NOT_FOUND);
}

/* CR-06, RFC 9728: the document names the resource as registered and us
 * alone, and is found at the well-known URL its identifier gives. */
static void
test_resources_CR06_metadata(void **state)
{
	static const char *const urls[][2] = {
		{ "https://a.example",
		    "https://a.example"
		    "/.well-known/oauth-protected-resource" },
		{ "https://a.example/",
		    "https://a.example"
		    "/.well-known/oauth-protected-resource" },
		{ "https://a.example:8443/mcp",
		    "https://a.example:8443"
		    "/.well-known/oauth-protected-resource/mcp" },
		{ "https://a.example/v1/mcp/",
		    "https://a.example/.well-known/oauth-protected-resource"
		    "/v1/mcp/" },
		{ "http://127.0.0.1:9000/mcp",
		    "http://127.0.0.1:9000"
		    "/.well-known/oauth-protected-resource/mcp" },
	};
	struct store_resource r = { .id = "https://a.example/mcp",
		.name = "Tools",
		.scopes = "tools:read tools:call" };
	json_t *d, *a;
	char *u;

	(void)state;
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		u = resource_metadata_url(urls[i][0]);
		assert_non_null(u);
		assert_string_equal(u, urls[i][1]);
		free(u);
	}
	d = resource_metadata(&r, "https://id.example");
	assert_non_null(d);
	assert_string_equal(
	    json_string_value(json_object_get(d, "resource")), r.id);
	a = json_object_get(d, "authorization_servers");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(
	    json_string_value(json_array_get(a, 0)), "https://id.example");
	a = json_object_get(d, "scopes_supported");
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(
	    json_string_value(json_array_get(a, 0)), "tools:read");
	assert_string_equal(
	    json_string_value(json_array_get(a, 1)), "tools:call");
	a = json_object_get(d, "bearer_methods_supported");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "header");
	assert_string_equal(
	    json_string_value(json_object_get(d, "resource_name")), "Tools");
	/* RFC 9728 2: absent is false; present only when required. */
	assert_null(json_object_get(d, "dpop_bound_access_tokens_required"));
	json_decref(d);
	r.dpop_required = true;
	d = resource_metadata(&r, "https://id.example");
	assert_true(json_is_true(
	    json_object_get(d, "dpop_bound_access_tokens_required")));
	json_decref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resources_TX04_uri_rules),
		cmocka_unit_test(test_resources_scopes),
		cmocka_unit_test(test_resources_CR06_metadata),
		cmocka_unit_test_setup_teardown(
		    test_resources_round_trip, setup_clients, teardown),
		cmocka_unit_test_setup_teardown(
		    test_resources_conflicts, setup_clients, teardown),
		cmocka_unit_test_setup_teardown(
		    test_resources_client_deleted, setup_clients, teardown),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
