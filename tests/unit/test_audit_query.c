/*
 * Unit tests for src/store/audit_query.c (SECURITY.md TX-07): the rows of
 * one principal as actor or as target, in a half-open time window, oldest
 * first, chained and pending rows merged by time, cut at the limit with
 * the cut reported; what the inventory reads about one credential (the
 * details of its token.issue rows, its last use). A store test: it runs on
 * SQLite, on PostgreSQL (scripts/pg-unit.sh) and under fault injection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"
#include "store_fixture.h"
#include "store/store.h"
#include "util/log.h"

#define T0 1764972000000 /* 2025-12-05T22:00:00Z */
#define SA "svc_AAAAAAAAAAAAAAAAAAAAAA"
#define KEY "key_0123456789abcdef"
#define OTHER "svc_BBBBBBBBBBBBBBBBBBBBBB"

struct fixture {
	char dir[64];
	struct db *db;
	uint8_t key[32];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (store_fixture_new(f->dir, true, &f->db) != 0) {
		free(f);
		return -1;
	}
	randombytes_buf(f->key, sizeof(f->key));
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

/* One event at T0 + dt ms; pending: left unchained (decision 0051). */
static void
add(struct fixture *f, bool pending, int64_t dt, const char *event,
    const char *actor, const char *target, const char *details)
{
	json_t *d = details != NULL ? json_loads(details, 0, NULL) : NULL;
	struct audit_event ev = {
		.event = event,
		.outcome = "success",
		.actor = actor,
		.target = target,
		.ip = "192.0.2.7",
		.user_agent = "test/1.0",
		.details = d,
		.ts_ms = T0 + dt,
	};

	if (pending)
		assert_int_equal(audit_append_pending(f->db, f->key, &ev), 0);
	else
		assert_int_equal(audit_append(f->db, f->key, &ev), 0);
	json_decref(d);
}

static size_t
query(struct fixture *f, const char *who, int64_t since, int64_t until,
    size_t limit, struct store_audit_row **v, bool *more)
{
	struct store_audit_filter q = { who, since, until, limit };
	size_t n = 0;

	assert_int_equal(store_audit_query(f->db, &q, v, &n, more), 0);
	return n;
}

/* TX-07: what the principal did (actor) and got (target), nothing of
 * anyone else's, oldest first, each row once. */
static void
test_audit_query_TX07_actor_or_target(void **state)
{
	struct fixture *f = *state;
	struct store_audit_row *v = NULL;
	bool more = true;
	size_t n;

	/* Appended out of time order: the answer is in time order. */
	add(f, false, 3000, "token.issue", KEY, SA,
	    "{\"grant\":\"token-exchange\",\"scope\":\"orders:read\"}");
	add(f, false, 1000, "service_account.create", "cli", SA, NULL);
	add(f, false, 2000, "token.issue", KEY, OTHER, NULL);
	add(f, false, 4000, "service_account.update", SA, SA, NULL);
	add(f, false, 5000, "login", "usr_x", NULL, NULL);
	add(f, false, 6000, "token.issue", "pcc_y", SA, NULL);
	n = query(f, SA, INT64_MIN, INT64_MAX, 100, &v, &more);
	assert_false(more);
	assert_int_equal(n, 4);
	assert_int_equal(v[0].ts_ms, T0 + 1000);
	assert_string_equal(v[0].event, "service_account.create");
	assert_string_equal(v[0].actor, "cli");
	assert_int_equal(v[1].ts_ms, T0 + 3000);
	assert_string_equal(v[1].actor, KEY);
	assert_string_equal(v[1].target, SA);
	assert_string_equal(v[1].ip, "192.0.2.7");
	assert_string_equal(v[1].user_agent, "test/1.0");
	assert_non_null(strstr(v[1].details, "orders:read"));
	assert_int_equal(v[2].ts_ms, T0 + 4000); /* actor and target: once */
	assert_int_equal(v[3].ts_ms, T0 + 6000);
	for (size_t i = 0; i < n; i++) {
		assert_true(v[i].seq > 0);
		assert_string_equal(v[i].id, "");
	}
	store_audit_rows_free(v, n);
	/* The key as the principal: what it was used for. */
	n = query(f, KEY, INT64_MIN, INT64_MAX, 100, &v, &more);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].target, OTHER);
	assert_string_equal(v[1].target, SA);
	store_audit_rows_free(v, n);
	/* A principal nobody named. */
	n = query(f, "svc_nobody", INT64_MIN, INT64_MAX, 100, &v, &more);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_false(more);
}

/* since <= ts_ms < until: back-to-back windows never repeat a row. */
static void
test_audit_query_TX07_window(void **state)
{
	struct fixture *f = *state;
	struct store_audit_row *v = NULL;
	bool more;
	size_t n;

	for (int i = 0; i < 5; i++)
		add(f, false, i * 1000, "token.issue", KEY, SA, NULL);
	n = query(f, SA, T0 + 1000, T0 + 3000, 100, &v, &more);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].ts_ms, T0 + 1000);
	assert_int_equal(v[1].ts_ms, T0 + 2000);
	store_audit_rows_free(v, n);
	n = query(f, SA, T0 + 3000, INT64_MAX, 100, &v, &more);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].ts_ms, T0 + 3000);
	store_audit_rows_free(v, n);
	n = query(f, SA, INT64_MIN, T0 + 1, 100, &v, &more);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].ts_ms, T0);
	store_audit_rows_free(v, n);
}

/* At most limit rows, the oldest ones, and the cut is said. */
static void
test_audit_query_TX07_limit(void **state)
{
	struct fixture *f = *state;
	struct store_audit_row *v = NULL;
	bool more = false;
	size_t n;

	/* As actor and as target, so that both scans are cut. */
	for (int i = 0; i < 6; i++)
		add(f, false, i * 10, "token.issue", i % 2 ? SA : KEY,
		    i % 2 ? "x" : SA, NULL);
	n = query(f, SA, INT64_MIN, INT64_MAX, 4, &v, &more);
	assert_int_equal(n, 4);
	assert_true(more);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i].ts_ms, T0 + (int64_t)i * 10);
	store_audit_rows_free(v, n);
	n = query(f, SA, INT64_MIN, INT64_MAX, 6, &v, &more);
	assert_int_equal(n, 6);
	assert_false(more);
	store_audit_rows_free(v, n);
	n = query(f, SA, INT64_MIN, INT64_MAX, 1, &v, &more);
	assert_int_equal(n, 1);
	assert_true(more);
	assert_int_equal(v[0].ts_ms, T0);
	store_audit_rows_free(v, n);
}

/* Rows not chained yet (the last moments on PostgreSQL) are in the
 * answer, at their time, with their pending id and no seq. */
static void
test_audit_query_TX07_pending_rows(void **state)
{
	struct fixture *f = *state;
	struct store_audit_row *v = NULL;
	bool more = true;
	size_t n;

	/* Chained ones first: on PostgreSQL an append chains every row
	 * pending before it. */
	add(f, false, 1000, "token.issue", KEY, SA, NULL);
	add(f, false, 2000, "token.issue", KEY, SA, NULL);
	add(f, true, 1500, "api_key.use", KEY, SA, NULL);
	add(f, true, 500, "token.issue", KEY, SA, NULL);
	add(f, true, 2000, "token.issue", KEY, OTHER, NULL);
	n = query(f, SA, INT64_MIN, INT64_MAX, 100, &v, &more);
	assert_false(more);
	assert_int_equal(n, 4);
	assert_int_equal(v[0].ts_ms, T0 + 500);
	assert_int_equal(v[0].seq, 0);
	assert_int_equal(strlen(v[0].id), STORE_AUDIT_ID_HEX);
	assert_int_equal(v[1].ts_ms, T0 + 1000);
	assert_true(v[1].seq > 0);
	assert_int_equal(v[2].ts_ms, T0 + 1500);
	assert_string_equal(v[2].event, "api_key.use");
	assert_int_equal(v[2].seq, 0);
	assert_int_equal(v[3].ts_ms, T0 + 2000);
	store_audit_rows_free(v, n);
	/* The limit counts both kinds; a tie puts the chained row first. */
	n = query(f, KEY, INT64_MIN, INT64_MAX, 4, &v, &more);
	assert_int_equal(n, 4);
	assert_true(more);
	assert_int_equal(v[3].ts_ms, T0 + 2000);
	assert_true(v[3].seq > 0);
	store_audit_rows_free(v, n);
	/* Within a window. */
	n = query(f, KEY, T0 + 1500, T0 + 1501, 10, &v, &more);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].event, "api_key.use");
	store_audit_rows_free(v, n);
}

static void
test_audit_query_rejects_bad_filters(void **state)
{
	struct fixture *f = *state;
	struct store_audit_row *v = (void *)1;
	struct store_audit_filter q[] = {
		{ NULL, INT64_MIN, INT64_MAX, 10 },
		{ "", INT64_MIN, INT64_MAX, 10 },
		{ SA, INT64_MIN, INT64_MAX, 0 },
		{ SA, T0, T0, 10 },
		{ SA, T0 + 1, T0, 10 },
	};
	size_t n = 7;
	bool more = true;

	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		assert_int_equal(store_audit_query(f->db, &q[i], &v, &n, &more),
		    PC_ERR_INVALID);
		assert_null(v);
		assert_int_equal(n, 0);
		assert_false(more);
	}
}

struct seen {
	char d[8][128];
	size_t n;
};

static int
collect(void *arg, const char *details)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	snprintf(s->d[s->n++], sizeof(s->d[0]), "%s", details);
	return 0;
}

static int
stop_early(void *arg, const char *details)
{
	(void)details;
	return ++*(int *)arg == 2 ? PC_ERR_INVALID : 0;
}

/* The inventory's reads: one credential's token.issue details from a
 * time on, and its last use. */
static void
test_audit_query_actor_details_and_last(void **state)
{
	struct fixture *f = *state;
	struct seen s = { .n = 0 };
	int64_t last = -1;
	int calls = 0;

	assert_int_equal(
	    store_audit_actor_last(f->db, KEY, NULL, "token.issue", &last), 0);
	assert_int_equal(last, 0);
	add(f, false, 0, "token.issue", KEY, SA, "{\"scope\":\"a\"}");
	add(f, false, 1000, "token.issue", KEY, SA, "{\"scope\":\"b\"}");
	add(f, false, 1500, "token.issue", KEY, SA, NULL);
	add(f, false, 2000, "api_key.use", KEY, SA, "{\"scope\":\"x\"}");
	add(f, false, 3000, "token.issue", OTHER, SA, "{\"scope\":\"y\"}");
	add(f, false, 4000, "token.issue", SA, KEY, "{\"scope\":\"z\"}");
	add(f, false, 5000, "token.issue", KEY, SA, "{\"scope\":\"c\"}");
	add(f, false, 6000, "token.issue", KEY, OTHER, "{\"scope\":\"w\"}");
	assert_int_equal(store_audit_actor_details(f->db, KEY, NULL,
			     "token.issue", T0 + 1000, collect, &s),
	    0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.d[0], "{\"scope\":\"b\"}");
	assert_string_equal(s.d[1], "{\"scope\":\"c\"}");
	assert_string_equal(s.d[2], "{\"scope\":\"w\"}");
	/* One target's rows (a workload trust serving several accounts). */
	s.n = 0;
	assert_int_equal(store_audit_actor_details(f->db, KEY, SA,
			     "token.issue", T0 + 1000, collect, &s),
	    0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.d[1], "{\"scope\":\"c\"}");
	s.n = 0;
	assert_int_equal(store_audit_actor_details(f->db, KEY, OTHER,
			     "token.issue", INT64_MIN, collect, &s),
	    0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.d[0], "{\"scope\":\"w\"}");
	assert_int_equal(
	    store_audit_actor_last(f->db, KEY, SA, "token.issue", &last), 0);
	assert_int_equal(last, T0 + 5000);
	assert_int_equal(store_audit_actor_last(
			     f->db, KEY, "svc_nobody", "token.issue", &last),
	    0);
	assert_int_equal(last, 0);
	assert_int_equal(store_audit_actor_details(f->db, KEY, NULL,
			     "token.issue", INT64_MIN, stop_early, &calls),
	    PC_ERR_INVALID);
	assert_int_equal(calls, 2);
	assert_int_equal(
	    store_audit_actor_last(f->db, KEY, NULL, "token.issue", &last), 0);
	assert_int_equal(last, T0 + 6000);
	/* A newer pending row counts. */
	add(f, true, 9000, "token.issue", KEY, SA, NULL);
	assert_int_equal(
	    store_audit_actor_last(f->db, KEY, NULL, "token.issue", &last), 0);
	assert_int_equal(last, T0 + 9000);
	assert_int_equal(
	    store_audit_actor_last(f->db, KEY, SA, "token.issue", &last), 0);
	assert_int_equal(last, T0 + 9000);
	assert_int_equal(
	    store_audit_actor_last(f->db, KEY, OTHER, "token.issue", &last), 0);
	assert_int_equal(last, T0 + 6000);
	assert_int_equal(
	    store_audit_actor_last(f->db, KEY, NULL, "api_key.use", &last), 0);
	assert_int_equal(last, T0 + 2000);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_audit_query_TX07_actor_or_target),
		T(test_audit_query_TX07_window),
		T(test_audit_query_TX07_limit),
		T(test_audit_query_TX07_pending_rows),
		T(test_audit_query_rejects_bad_filters),
		T(test_audit_query_actor_details_and_last),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
