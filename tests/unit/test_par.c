/*
 * Unit tests for pushed authorization requests (store/par.c,
 * oauth/par.c's stored form; RFC 9126, SECURITY.md AZ-13, DS-04): a push
 * is taken (deleted) once, only by its own client and only while live;
 * a wrong client neither gets nor burns it; pushes are capped per IP for
 * public clients and per client for all, the oldest going first; expired
 * ones are purged; the stored form has no client credentials and
 * re-parses to exactly the pushed pairs.
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

/* A push named hash, by client, at T0 + ms milliseconds. */
static void
push(struct fixture *f, const char *hash, const char *client, bool public,
    const char *ip, int64_t ms, int64_t max_ip, int64_t max_client)
{
	struct store_par p;

	memset(&p, 0, sizeof(p));
	snprintf(p.uri_hash, sizeof(p.uri_hash), "%s", hash);
	p.client_id = (char *)client;
	p.params = (char *)"response_type=code&client_id=x&state=a%26b";
	p.public_client = public;
	p.created_ms = T0 * 1000 + ms;
	p.expires_at = T0 + 60;
	assert_int_equal(store_par_put(f->db, &p, ip, max_ip, max_client), 0);
}

static bool
live(struct fixture *f, const char *hash, const char *client)
{
	struct store_par p;
	int r = store_par_take(f->db, hash, client, T0 + 1, &p);

	assert_true(r == 0 || r == PC_ERR_NOT_FOUND);
	store_par_clear(&p);
	return r == 0;
}

static void
test_par_AZ13_taken_once_by_its_client(void **state)
{
	struct fixture *f = *state;
	struct store_par p;

	push(f, "aa", "pcc_app", false, "192.0.2.1", 0, 10, 10);
	/* Another client: nothing, and the push stays. */
	assert_int_equal(
	    store_par_take(f->db, "aa", "pcc_other", T0, &p), PC_ERR_NOT_FOUND);
	assert_int_equal(store_par_take(f->db, "aa", "pcc_app", T0, &p), 0);
	assert_string_equal(p.client_id, "pcc_app");
	assert_string_equal(
	    p.params, "response_type=code&client_id=x&state=a%26b");
	assert_false(p.public_client);
	assert_int_equal(p.expires_at, T0 + 60);
	assert_int_equal(p.created_ms, T0 * 1000);
	store_par_clear(&p);
	/* Taken: gone. */
	assert_int_equal(
	    store_par_take(f->db, "aa", "pcc_app", T0, &p), PC_ERR_NOT_FOUND);
}

static void
test_par_AZ13_expiry_and_purge(void **state)
{
	struct fixture *f = *state;
	struct store_par p;
	int64_t n = -1;

	push(f, "bb", "pcc_app", false, "192.0.2.1", 0, 10, 10);
	/* Dead at expires_at exactly. */
	assert_int_equal(store_par_take(f->db, "bb", "pcc_app", T0 + 60, &p),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(store_par_purge(f->db, T0 + 59, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_par_purge(f->db, T0 + 60, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_par_take(f->db, "bb", "pcc_app", T0 + 59, &p),
	    PC_ERR_NOT_FOUND);
}

static void
test_par_dies_with_client(void **state)
{
	struct fixture *f = *state;
	struct db_conn *c;

	push(f, "cc", "pcc_other", false, "192.0.2.1", 0, 10, 10);
	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(
	    db_exec(c, "DELETE FROM clients WHERE client_id = 'pcc_other'"), 0);
	assert_false(live(f, "cc", "pcc_other"));
}

/* DS-04: public pushes per IP, all pushes per client, oldest first. */
static void
test_par_DS04_caps(void **state)
{
	struct fixture *f = *state;

	/* Public, one IP, cap 2: p1 goes. */
	for (int i = 1; i <= 3; i++) {
		char h[4];

		snprintf(h, sizeof(h), "p%d", i);
		push(f, h, "pcc_app", true, "192.0.2.7", i, 2, 100);
	}
	/* Another IP keeps its own. */
	push(f, "q1", "pcc_app", true, "192.0.2.8", 10, 2, 100);
	/* Confidential from the same IP: not counted per IP. */
	for (int i = 1; i <= 3; i++) {
		char h[4];

		snprintf(h, sizeof(h), "c%d", i);
		push(f, h, "pcc_other", false, "192.0.2.7", 20 + i, 2, 100);
	}
	assert_false(live(f, "p1", "pcc_app"));
	assert_true(live(f, "p2", "pcc_app"));
	assert_true(live(f, "p3", "pcc_app"));
	assert_true(live(f, "q1", "pcc_app"));
	assert_true(live(f, "c1", "pcc_other"));
	/* Per client, cap 2: of c2, c3, d1 only the newest two stay. */
	push(f, "d1", "pcc_other", false, "192.0.2.9", 40, 2, 2);
	assert_false(live(f, "c2", "pcc_other"));
	assert_true(live(f, "c3", "pcc_other"));
	assert_true(live(f, "d1", "pcc_other"));
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
	struct store_par p;

	if (store_par_take(r->db, "ee", "pcc_app", T0 + 1, &p) == 0) {
		pthread_mutex_lock(&r->mu);
		r->wins++;
		pthread_mutex_unlock(&r->mu);
	}
	store_par_clear(&p);
	return NULL;
}

static void
test_par_AZ13_parallel_take_one_wins(void **state)
{
	struct fixture *f = *state;
	struct race r = { f->db, 0, PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[8];

	push(f, "ee", "pcc_app", false, "192.0.2.1", 0, 10, 10);
	for (size_t i = 0; i < PC_NELEM(t); i++)
		assert_int_equal(pthread_create(&t[i], NULL, racer, &r), 0);
	for (size_t i = 0; i < PC_NELEM(t); i++)
		pthread_join(t[i], NULL);
	assert_int_equal(r.wins, 1);
}

/* The stored form: no credentials, names encoded, client_id added. */
static void
test_par_AZ13_stored_form(void **state)
{
	static const struct http_limits lim = { 64, 256, 4096, 16 };
	static const char in[] =
	    "client_secret=s3cret&x%26redirect_uri%3Dhttps%3A%2F%2Fevil=1"
	    "&client_assertion=a.b.c&client_assertion_type=t&scope=openid+e";
	struct kvlist form = { NULL, 0, 0 }, back = { NULL, 0, 0 };
	struct buf b;

	(void)state;
	assert_int_equal(form_parse(in, strlen(in), &lim, &form), 0);
	buf_init(&b, 4096);
	assert_int_equal(par_params_encode(&form, "pcc_app", &b), 0);
	assert_string_equal(buf_cstr(&b),
	    "x%26redirect_uri%3Dhttps%3A%2F%2Fevil=1&scope=openid%20e"
	    "&client_id=pcc_app");
	assert_int_equal(form_parse(buf_cstr(&b), b.len, &lim, &back), 0);
	assert_int_equal(back.n, 3);
	assert_string_equal(back.v[0].name, "x&redirect_uri=https://evil");
	assert_null(kvlist_value(&back, "redirect_uri"));
	assert_string_equal(kvlist_value(&back, "client_id"), "pcc_app");
	assert_true(par_is_pushed(&back) == false);
	buf_free(&b);
	kvlist_free(&form);
	kvlist_free(&back);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_par_AZ13_taken_once_by_its_client),
		T(test_par_AZ13_expiry_and_purge),
		T(test_par_dies_with_client),
		T(test_par_DS04_caps),
		T(test_par_AZ13_parallel_take_one_wins),
		cmocka_unit_test(test_par_AZ13_stored_form),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
