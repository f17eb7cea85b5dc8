/*
 * The API-key table (src/store/api_keys.c, migration 0024; AK-01, AK-05):
 * rows read back as written, revocation and rotation change a key once,
 * a use is recorded at most once per interval. A store test: it runs on
 * PostgreSQL too (scripts/pg-unit.sh) and under fault injection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "store_fixture.h"

#define T0 INT64_C(1800000000)

struct fx {
	char dir[STORE_FIXTURE_DIR_LEN];
	struct db *db;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || store_fixture_new(f->dir, true, &f->db) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int r = store_fixture_close(f->dir, f->db);

	free(f);
	return r;
}

static void
key(struct store_api_key *k, const char *id, const char *owner,
    const char *resource)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->key_id, sizeof(k->key_id), "%s", id);
	snprintf(
	    k->kind, sizeof(k->kind), "%s", owner[0] == 's' ? "sa" : "usr");
	k->owner_id = (char *)owner;
	memset(k->secret_hash, 'a', PC_SHA256_HEX_LEN);
	k->name = (char *)"ci deploy";
	k->scopes = (char *)"orders:read";
	k->resource_id = (char *)resource;
	k->created_at = T0;
	k->expires_at = T0 + 90 * 86400;
}

static void
test_api_keys_insert_get_list(void **state)
{
	struct fx *f = *state;
	struct store_api_key k, g;
	struct store_api_key *v = NULL;
	size_t n = 0;

	key(&k, "0123456789abcdef", "svc_AAAAAAAAAAAAAAAAAAAAAA",
	    "https://api.example.com");
	assert_int_equal(store_api_key_insert(f->db, &k), 0);
	assert_int_equal(store_api_key_insert(f->db, &k), PC_ERR_CONFLICT);
	key(&k, "0123456789abcdeg", "usr_BBBBBBBBBBBBBBBBBBBBBB", NULL);
	k.created_at = T0 + 1;
	assert_int_equal(store_api_key_insert(f->db, &k), 0);

	assert_int_equal(store_api_key_get(f->db, "0123456789abcdef", &g), 0);
	assert_string_equal(g.kind, "sa");
	assert_string_equal(g.owner_id, "svc_AAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(strlen(g.secret_hash), PC_SHA256_HEX_LEN);
	assert_string_equal(g.scopes, "orders:read");
	assert_string_equal(g.resource_id, "https://api.example.com");
	assert_int_equal(g.expires_at, T0 + 90 * 86400);
	assert_int_equal(g.revoked_at, 0);
	assert_null(g.revoke_reason);
	assert_string_equal(g.replaced_by, "");
	assert_int_equal(g.last_used_at, 0);
	assert_null(g.last_used_ip);
	store_api_key_clear(&g);
	assert_int_equal(store_api_key_get(f->db, "0123456789abcdeg", &g), 0);
	assert_null(g.resource_id);
	assert_string_equal(g.kind, "usr");
	store_api_key_clear(&g);
	assert_int_equal(
	    store_api_key_get(f->db, "nope", &g), PC_ERR_NOT_FOUND);

	assert_int_equal(store_api_keys_list(f->db, NULL, &v, &n), 0);
	assert_int_equal(n, 2);
	/* Newest first. */
	assert_string_equal(v[0].key_id, "0123456789abcdeg");
	store_api_keys_free(v, n);
	assert_int_equal(
	    store_api_keys_list(f->db, "svc_AAAAAAAAAAAAAAAAAAAAAA", &v, &n),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].key_id, "0123456789abcdef");
	store_api_keys_free(v, n);
	assert_int_equal(store_api_keys_list(f->db, "usr_x", &v, &n), 0);
	assert_int_equal(n, 0);
	store_api_keys_free(v, n);
}

/* AK-05: revoked once, the first time and reason kept. */
static void
test_api_keys_AK05_revoke_once(void **state)
{
	struct fx *f = *state;
	struct store_api_key k, g;
	bool changed = false;
	int64_t n = 0;

	key(&k, "0123456789abcdef", "svc_AAAAAAAAAAAAAAAAAAAAAA", NULL);
	assert_int_equal(store_api_key_insert(f->db, &k), 0);
	assert_int_equal(store_api_key_revoke(f->db, "0123456789abcdef", T0 + 5,
			     "operator", &changed),
	    0);
	assert_true(changed);
	assert_int_equal(store_api_key_revoke(f->db, "0123456789abcdef", T0 + 9,
			     "leaked", &changed),
	    0);
	assert_false(changed);
	assert_int_equal(store_api_key_get(f->db, "0123456789abcdef", &g), 0);
	assert_int_equal(g.revoked_at, T0 + 5);
	assert_string_equal(g.revoke_reason, "operator");
	store_api_key_clear(&g);
	assert_int_equal(
	    store_api_key_revoke(f->db, "missing", T0, "x", &changed), 0);
	assert_false(changed);

	/* By owner: every unrevoked key of that owner, nobody else's. */
	key(&k, "0123456789abcde1", "svc_AAAAAAAAAAAAAAAAAAAAAA", NULL);
	assert_int_equal(store_api_key_insert(f->db, &k), 0);
	key(&k, "0123456789abcde2", "svc_AAAAAAAAAAAAAAAAAAAAAA", NULL);
	assert_int_equal(store_api_key_insert(f->db, &k), 0);
	key(&k, "0123456789abcde3", "svc_CCCCCCCCCCCCCCCCCCCCCC", NULL);
	assert_int_equal(store_api_key_insert(f->db, &k), 0);
	assert_int_equal(
	    store_api_keys_revoke_owner(f->db, "svc_AAAAAAAAAAAAAAAAAAAAAA",
		T0 + 10, "owner deleted", &n),
	    0);
	assert_int_equal(n, 2);
	assert_int_equal(store_api_key_get(f->db, "0123456789abcde3", &g), 0);
	assert_int_equal(g.revoked_at, 0);
	store_api_key_clear(&g);
	assert_int_equal(store_api_key_get(f->db, "0123456789abcdef", &g), 0);
	assert_string_equal(g.revoke_reason, "operator");
	store_api_key_clear(&g);
}

/* AK-05: rotation issues one successor and shortens the old key only. */
static void
test_api_keys_AK05_rotate(void **state)
{
	struct fx *f = *state;
	struct store_api_key k, s, g;
	bool changed;

	key(&k, "0123456789abcdef", "svc_AAAAAAAAAAAAAAAAAAAAAA", NULL);
	assert_int_equal(store_api_key_insert(f->db, &k), 0);
	key(&s, "0123456789abcdeS", "svc_AAAAAAAAAAAAAAAAAAAAAA", NULL);
	s.created_at = T0 + 100;
	assert_int_equal(
	    store_api_key_rotate(f->db, "0123456789abcdef", T0 + 86400, &s), 0);
	assert_int_equal(store_api_key_get(f->db, "0123456789abcdef", &g), 0);
	assert_string_equal(g.replaced_by, "0123456789abcdeS");
	assert_int_equal(g.expires_at, T0 + 86400);
	store_api_key_clear(&g);
	/* Rotated already: a second successor is refused, nothing written. */
	key(&s, "0123456789abcdeT", "svc_AAAAAAAAAAAAAAAAAAAAAA", NULL);
	assert_int_equal(
	    store_api_key_rotate(f->db, "0123456789abcdef", T0 + 86400, &s),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_api_key_get(f->db, "0123456789abcdeT", &g), PC_ERR_NOT_FOUND);
	/* Never later than the key's own expiry. */
	assert_int_equal(store_api_key_rotate(
			     f->db, "0123456789abcdeS", T0 + 999 * 86400, &s),
	    0);
	assert_int_equal(store_api_key_get(f->db, "0123456789abcdeS", &g), 0);
	assert_int_equal(g.expires_at, T0 + 90 * 86400);
	store_api_key_clear(&g);
	/* A revoked key is not rotated. */
	assert_int_equal(store_api_key_revoke(f->db, "0123456789abcdeT", T0,
			     "operator", &changed),
	    0);
	key(&s, "0123456789abcdeU", "svc_AAAAAAAAAAAAAAAAAAAAAA", NULL);
	assert_int_equal(
	    store_api_key_rotate(f->db, "0123456789abcdeT", T0 + 86400, &s),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(store_api_key_rotate(f->db, "missing", T0 + 86400, &s),
	    PC_ERR_NOT_FOUND);
}

/* A use is written at most once per interval. */
static void
test_api_keys_touch_granularity(void **state)
{
	struct fx *f = *state;
	struct store_api_key k, g;
	bool w = false;

	key(&k, "0123456789abcdef", "usr_BBBBBBBBBBBBBBBBBBBBBB", NULL);
	assert_int_equal(store_api_key_insert(f->db, &k), 0);
	assert_int_equal(store_api_key_touch(f->db, "0123456789abcdef", T0,
			     "192.0.2.1", 300, &w),
	    0);
	assert_true(w);
	assert_int_equal(store_api_key_touch(f->db, "0123456789abcdef",
			     T0 + 299, "192.0.2.2", 300, &w),
	    0);
	assert_false(w);
	assert_int_equal(store_api_key_get(f->db, "0123456789abcdef", &g), 0);
	assert_int_equal(g.last_used_at, T0);
	assert_string_equal(g.last_used_ip, "192.0.2.1");
	store_api_key_clear(&g);
	assert_int_equal(store_api_key_touch(f->db, "0123456789abcdef",
			     T0 + 300, "192.0.2.3", 300, &w),
	    0);
	assert_true(w);
	assert_int_equal(store_api_key_get(f->db, "0123456789abcdef", &g), 0);
	assert_int_equal(g.last_used_at, T0 + 300);
	assert_string_equal(g.last_used_ip, "192.0.2.3");
	store_api_key_clear(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_api_keys_insert_get_list, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_api_keys_AK05_revoke_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_api_keys_AK05_rotate, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_api_keys_touch_granularity, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
