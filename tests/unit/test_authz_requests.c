/*
 * Unit tests for store/authz_requests.c: pending authorization requests
 * are read while live, taken (deleted) by exactly one caller, bound to the
 * session that signed in for them, dead at expires_at, purged after, and
 * gone with their client.
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
#include <pthread.h>

#include "oauth/oauth.h"
#include "store/store.h"

#define T0 INT64_C(1800000000)

#include "oauth_fixture.h"

static void
put(struct fixture *f, const char *hash, const char *client, int64_t now)
{
	struct store_authz_request a;

	memset(&a, 0, sizeof(a));
	snprintf(a.id_hash, sizeof(a.id_hash), "%s", hash);
	a.client_id = (char *)client;
	a.redirect_uri = (char *)"https://app.example/cb";
	a.state = (char *)"st&=/ é";
	a.code_challenge =
	    (char *)"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
	a.scope = (char *)"openid email";
	a.prompt = AZ_PROMPT_LOGIN;
	a.login_hint = (char *)"alice@example.com";
	a.created_at = now;
	a.expires_at = now + 900;
	assert_int_equal(store_authz_request_put(f->db, &a, "192.0.2.1", 3), 0);
}

static void
test_authz_requests_round_trip_and_take_once(void **state)
{
	struct fixture *f = *state;
	struct store_authz_request a;

	put(f, "aa", "pcc_app", T0);
	assert_int_equal(store_authz_request_get(f->db, "aa", T0 + 1, &a), 0);
	assert_string_equal(a.client_id, "pcc_app");
	assert_string_equal(a.state, "st&=/ é");
	assert_null(a.nonce);
	assert_null(a.login_sid);
	assert_null(a.hint_sub);
	assert_string_equal(a.login_hint, "alice@example.com");
	assert_int_equal(a.prompt, AZ_PROMPT_LOGIN);
	assert_int_equal(a.expires_at, T0 + 900);
	store_authz_request_clear(&a);
	/* The sign-in for it is recorded. */
	assert_int_equal(
	    store_authz_request_set_login(f->db, "aa", "0123456789abcdef", T0),
	    0);
	assert_int_equal(store_authz_request_take(f->db, "aa", T0 + 2, &a), 0);
	assert_string_equal(a.login_sid, "0123456789abcdef");
	store_authz_request_clear(&a);
	/* Taken: gone for everyone (CF-03: a replayed consent finds none). */
	assert_int_equal(store_authz_request_take(f->db, "aa", T0 + 2, &a),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_authz_request_get(f->db, "aa", T0 + 2, &a), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_authz_request_set_login(f->db, "aa", "0123456789abcdef", T0),
	    PC_ERR_NOT_FOUND);
}

static void
test_authz_requests_expiry_and_purge(void **state)
{
	struct fixture *f = *state;
	struct store_authz_request a;
	int64_t n = -1;

	put(f, "bb", "pcc_app", T0);
	put(f, "cc", "pcc_app", T0 + 100);
	assert_int_equal(store_authz_request_get(f->db, "bb", T0 + 899, &a), 0);
	store_authz_request_clear(&a);
	/* Dead at expires_at exactly. */
	assert_int_equal(store_authz_request_get(f->db, "bb", T0 + 900, &a),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(store_authz_request_take(f->db, "bb", T0 + 900, &a),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(store_authz_requests_purge(f->db, T0 + 900, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_authz_request_get(f->db, "cc", T0 + 900, &a), 0);
	store_authz_request_clear(&a);
}

static void
test_authz_requests_die_with_client(void **state)
{
	struct fixture *f = *state;
	struct store_authz_request a;
	struct db_conn *c;

	put(f, "dd", "pcc_other", T0);
	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(
	    db_exec(c, "DELETE FROM clients WHERE client_id = 'pcc_other'"), 0);
	assert_int_equal(
	    store_authz_request_get(f->db, "dd", T0, &a), PC_ERR_NOT_FOUND);
}

struct race {
	struct db *db;
	int wins;
	pthread_mutex_t mu;
};

static void *
racer(void *arg)
{
	struct race *r = arg;
	struct store_authz_request a;

	if (store_authz_request_take(r->db, "ee", T0 + 1, &a) == 0) {
		pthread_mutex_lock(&r->mu);
		r->wins++;
		pthread_mutex_unlock(&r->mu);
	}
	store_authz_request_clear(&a);
	return NULL;
}

static void
test_authz_requests_parallel_take_one_wins(void **state)
{
	struct fixture *f = *state;
	struct race r = { f->db, 0, PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[8];

	put(f, "ee", "pcc_app", T0);
	for (size_t i = 0; i < PC_NELEM(t); i++)
		assert_int_equal(pthread_create(&t[i], NULL, racer, &r), 0);
	for (size_t i = 0; i < PC_NELEM(t); i++)
		pthread_join(t[i], NULL);
	assert_int_equal(r.wins, 1);
}

/* DS-04: one IP holds at most max_per_ip; the oldest go first. */
static void
test_authz_requests_capped_per_ip(void **state)
{
	struct fixture *f = *state;
	struct store_authz_request a;
	static const char *const ids[] = { "p1", "p2", "p3", "p4", "p5" };

	for (size_t i = 0; i < PC_NELEM(ids); i++)
		put(f, ids[i], "pcc_app", T0 + (int64_t)i);
	assert_int_equal(
	    store_authz_request_get(f->db, "p1", T0 + 5, &a), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_authz_request_get(f->db, "p2", T0 + 5, &a), PC_ERR_NOT_FOUND);
	for (size_t i = 2; i < PC_NELEM(ids); i++) {
		assert_int_equal(
		    store_authz_request_get(f->db, ids[i], T0 + 5, &a), 0);
		store_authz_request_clear(&a);
	}
}

/*
 * DS-04: a burst in one second from one IP (a NAT, a crowd) never evicts
 * the request just made: the cap removes older ones, never the new one,
 * whatever its random id sorts as.
 */
static void
test_authz_requests_cap_keeps_the_new_one(void **state)
{
	struct fixture *f = *state;
	struct store_authz_request a;
	static const char *const ids[] = { "s5", "s4", "s3", "s2", "s1" };

	for (size_t i = 0; i < PC_NELEM(ids); i++) {
		put(f, ids[i], "pcc_app", T0);
		assert_int_equal(
		    store_authz_request_get(f->db, ids[i], T0, &a), 0);
		store_authz_request_clear(&a);
	}
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_authz_requests_round_trip_and_take_once),
		T(test_authz_requests_expiry_and_purge),
		T(test_authz_requests_die_with_client),
		T(test_authz_requests_parallel_take_one_wins),
		T(test_authz_requests_capped_per_ip),
		T(test_authz_requests_cap_keeps_the_new_one),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
