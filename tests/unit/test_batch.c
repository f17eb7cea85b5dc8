/*
 * Group commit (src/store/batch.c): db_batch() from many threads keeps
 * every caller's writes and returns each caller its own function's result;
 * a failing function rolls back only its own writes; a failed commit
 * reaches every caller of that batch and keeps nothing of it (fail closed);
 * the batcher recovers after; a backend without group commit runs each
 * function alone; audit rows appended from many threads at once (batched)
 * still form a chain that verifies (AU-05).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"
#include "store_fixture.h"
#include "store/db.h"
#include "store/db_internal.h"
#include "store/store.h"
#include "util/log.h"

#define NTHREADS 16
#define PER_THREAD 40
#define NJOIN 8
#define HOLD_MS 300

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
	if (store_fixture_new(f->dir, false, &f->db) != 0 ||
	    db_conn(f->db, &f->c) != 0 ||
	    db_exec(f->c,
		"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);"
		"CREATE TABLE parent (id INTEGER PRIMARY KEY);"
		"CREATE TABLE child (pid INTEGER REFERENCES parent(id)"
		" DEFERRABLE INITIALLY DEFERRED);") != 0) {
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

	(void)store_fixture_close(f->dir, f->db);
	free(f);
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static int
insert_id(struct db_conn *c, int64_t id)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c, "INSERT INTO t (id, v) VALUES (?, 'x')", &s)) !=
	    0)
		return r;
	if ((r = db_bind_int64(s, 1, id)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

static bool
has_id(struct db_conn *c, int64_t id)
{
	struct db_stmt *s;
	int r;

	if (db_prepare(c, "SELECT 1 FROM t WHERE id = ?", &s) != 0)
		return false;
	if ((r = db_bind_int64(s, 1, id)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_ROW;
}

static int64_t
count_rows(struct db_conn *c)
{
	struct db_stmt *s;
	int64_t n = -1;

	if (db_prepare(c, "SELECT count(*) FROM t", &s) != 0)
		return -1;
	if (db_step(s) == DB_ROW)
		n = db_col_int64(s, 0);
	db_done(s);
	return n;
}

/* --- one caller ----------------------------------------------------- */

enum kind {
	K_INSERT,      /* insert id, return id (kept) */
	K_INSERT_FAIL, /* insert id, then fail: rolled back */
	K_POISON,      /* insert id and a child breaking a deferred FK */
	K_HOLD	       /* signal, hold the batch HOLD_MS, insert id */
};

struct call {
	struct db *db;
	enum kind kind;
	int64_t id;
	int n; /* calls, ids id .. id + n - 1 */
	pthread_t caller, ran_on;
	int results[PER_THREAD];
	/* Its row was committed when db_batch() returned (seen from the
	 * caller's own connection, never the batch's). */
	bool visible[PER_THREAD];
};

static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;
static bool holding;

struct one {
	struct call *call;
	int64_t id;
};

static int
fn(struct db_conn *c, void *arg)
{
	struct one *o = arg;
	struct call *k = o->call;
	int r;

	k->ran_on = pthread_self();
	if (k->kind == K_HOLD) {
		pthread_mutex_lock(&hold_mu);
		holding = true;
		pthread_cond_broadcast(&hold_cv);
		pthread_mutex_unlock(&hold_mu);
		sleep_ms(HOLD_MS); /* the others queue meanwhile */
	}
	if ((r = insert_id(c, o->id)) != 0)
		return r;
	switch (k->kind) {
	case K_INSERT_FAIL: return PC_ERR_CONFLICT;
	case K_POISON:
		return db_exec(c, "INSERT INTO child (pid) VALUES (424242)");
	case K_INSERT:
	case K_HOLD: break;
	}
	return (int)o->id;
}

static void *
caller(void *arg)
{
	struct call *k = arg;

	struct db_conn *own = NULL;

	k->caller = pthread_self();
	for (int i = 0; i < k->n; i++) {
		struct one o = { k, k->id + i };

		k->results[i] = db_batch(k->db, fn, &o);
		if (own != NULL || db_conn(k->db, &own) == 0)
			k->visible[i] = has_id(own, k->id + i);
	}
	return NULL;
}

/* Starts a K_HOLD leader and waits until its function holds the batch. */
static void
start_holder(struct fixture *f, struct call *k, pthread_t *t)
{
	memset(k, 0, sizeof(*k));
	k->db = f->db;
	k->kind = K_HOLD;
	k->id = 1;
	k->n = 1;
	holding = false;
	assert_int_equal(pthread_create(t, NULL, caller, k), 0);
	pthread_mutex_lock(&hold_mu);
	while (!holding)
		pthread_cond_wait(&hold_cv, &hold_mu);
	pthread_mutex_unlock(&hold_mu);
}

/* --- tests ---------------------------------------------------------- */

static void
test_batch_many_threads_each_get_their_result(void **state)
{
	struct fixture *f = *state;
	struct call k[NTHREADS];
	pthread_t t[NTHREADS];

	for (int i = 0; i < NTHREADS; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		k[i].db = f->db;
		k[i].kind = K_INSERT;
		k[i].id = 1000 * (i + 1);
		k[i].n = PER_THREAD;
		assert_int_equal(pthread_create(&t[i], NULL, caller, &k[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < NTHREADS; i++) {
		for (int j = 0; j < PER_THREAD; j++) {
			/* Each caller gets its own function's result, and
			 * only once the commit that holds it is done. */
			assert_int_equal(k[i].results[j], k[i].id + j);
			assert_true(k[i].visible[j]);
			assert_true(has_id(f->c, k[i].id + j));
		}
	}
	assert_int_equal(count_rows(f->c), NTHREADS * PER_THREAD);
}

/*
 * More callers queued than one batch takes (BATCH_MAX, 64): the batch
 * after the held one takes 64, the rest lead or join later batches; the
 * lead is handed on until the queue is empty. Every caller gets its own
 * result, committed before it returns, and nobody is left waiting.
 */
#define NQUEUE 100

static void
test_batch_long_queue_each_woken_after_commit(void **state)
{
	struct fixture *f = *state;
	struct call hold, *k = calloc(NQUEUE, sizeof(*k));
	pthread_t th, t[NQUEUE];
	int shared = 0;

	assert_non_null(k);
	start_holder(f, &hold, &th);
	for (int i = 0; i < NQUEUE; i++) {
		k[i].db = f->db;
		k[i].kind = K_INSERT;
		k[i].id = 100 + i;
		k[i].n = 1;
		assert_int_equal(pthread_create(&t[i], NULL, caller, &k[i]), 0);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	for (int i = 0; i < NQUEUE; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(hold.results[0], 1);
	for (int i = 0; i < NQUEUE; i++) {
		assert_int_equal(k[i].results[0], 100 + i);
		assert_true(k[i].visible[0]);
		if (!pthread_equal(k[i].ran_on, k[i].caller))
			shared++;
	}
	assert_true(shared > 0);
	assert_int_equal(count_rows(f->c), 1 + NQUEUE);
	free(k);
}

static void
test_batch_failing_fn_rolls_back_only_itself(void **state)
{
	struct fixture *f = *state;
	struct call hold, k[NJOIN];
	pthread_t th, t[NJOIN];
	int shared = 0;

	start_holder(f, &hold, &th);
	for (int i = 0; i < NJOIN; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		k[i].db = f->db;
		k[i].kind = i % 2 == 0 ? K_INSERT : K_INSERT_FAIL;
		k[i].id = 100 + i;
		k[i].n = 1;
		assert_int_equal(pthread_create(&t[i], NULL, caller, &k[i]), 0);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	for (int i = 0; i < NJOIN; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(hold.results[0], 1);
	assert_true(has_id(f->c, 1));
	for (int i = 0; i < NJOIN; i++) {
		if (i % 2 == 0) {
			assert_int_equal(k[i].results[0], 100 + i);
			assert_true(has_id(f->c, 100 + i));
		} else {
			assert_int_equal(k[i].results[0], PC_ERR_CONFLICT);
			assert_false(has_id(f->c, 100 + i));
		}
		if (!pthread_equal(k[i].ran_on, k[i].caller))
			shared++;
	}
	/* They queued behind the held batch: another thread ran theirs. */
	assert_true(shared > 0);
	assert_int_equal(count_rows(f->c), 1 + NJOIN / 2);
}

static void
test_batch_commit_failure_reaches_every_caller(void **state)
{
	struct fixture *f = *state;
	struct call hold, k[NJOIN];
	pthread_t th, t[NJOIN];

	start_holder(f, &hold, &th);
	for (int i = 0; i < NJOIN; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		k[i].db = f->db;
		/* Its savepoint releases; only COMMIT sees the deferred FK. */
		k[i].kind = i == NJOIN / 2 ? K_POISON : K_INSERT;
		k[i].id = 100 + i;
		k[i].n = 1;
		assert_int_equal(pthread_create(&t[i], NULL, caller, &k[i]), 0);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	for (int i = 0; i < NJOIN; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	/* Fail closed: nobody in the batch got its function's result. */
	assert_int_equal(hold.results[0], PC_ERR_CONFLICT);
	for (int i = 0; i < NJOIN; i++)
		assert_int_equal(k[i].results[0], PC_ERR_CONFLICT);
	assert_int_equal(count_rows(f->c), 0);
	/* The batcher goes on. */
	{
		struct call once = { .db = f->db, .kind = K_INSERT, .id = 7 };
		struct one o = { &once, 7 };

		assert_int_equal(db_batch(f->db, fn, &o), 7);
		assert_int_equal(count_rows(f->c), 1);
	}
}

static void
test_batch_without_group_commit_runs_alone(void **state)
{
	struct fixture *f = *state;
	struct db_ops alone = *f->db->ops;
	const struct db_ops *saved = f->db->ops;
	struct call k = { .db = f->db, .kind = K_INSERT };
	struct one o = { &k, 5 };

	alone.group_commit = false;
	f->db->ops = &alone;
	assert_int_equal(db_batch(f->db, fn, &o), 5);
	assert_true(pthread_equal(k.ran_on, pthread_self()));
	k.kind = K_INSERT_FAIL;
	o.id = 6;
	assert_int_equal(db_batch(f->db, fn, &o), PC_ERR_CONFLICT);
	k.kind = K_POISON;
	o.id = 8;
	assert_int_equal(db_batch(f->db, fn, &o), PC_ERR_CONFLICT);
	f->db->ops = saved;
	assert_true(has_id(f->c, 5));
	assert_false(has_id(f->c, 6));
	assert_false(has_id(f->c, 8));
	assert_int_equal(count_rows(f->c), 1);
}

/*
 * Transaction control is prepared once per connection and never parsed
 * again (0048): after one batch, the batch connection holds BEGIN, its
 * savepoint, RELEASE and COMMIT as prepared statements (SQLite's
 * sqlite_stmt, PostgreSQL's pg_prepared_statements), where a statement
 * run through exec would have been parsed and dropped.
 */
static int
count_prepared(struct db_conn *c, void *arg)
{
	int64_t *n = arg;
	struct db_stmt *s;
	int r;

	if (c->db->ops->name[0] == 'p')
		r = db_prepare(c,
		    "SELECT count(*) FROM pg_prepared_statements WHERE"
		    " statement IN ('BEGIN ISOLATION LEVEL READ COMMITTED',"
		    " 'COMMIT', 'SAVEPOINT pc_batch', 'RELEASE pc_batch')",
		    &s);
	else
		r = db_prepare(c,
		    "SELECT count(*) FROM sqlite_stmt WHERE sql IN"
		    " ('BEGIN IMMEDIATE', 'COMMIT', 'SAVEPOINT pc_batch',"
		    " 'RELEASE pc_batch')",
		    &s);
	if (r != 0)
		return r;
	if ((r = db_step(s)) == DB_ROW)
		*n = db_col_int64(s, 0);
	db_done(s);
	return r == DB_ROW ? 0 : PC_ERR_STORE;
}

static void
test_batch_transaction_control_is_prepared(void **state)
{
	struct fixture *f = *state;
	int64_t n = -1;

	/* The first batch prepares; the second sees all four. */
	assert_int_equal(db_batch(f->db, count_prepared, &n), 0);
	assert_int_equal(db_batch(f->db, count_prepared, &n), 0);
	assert_int_equal(n, 4);
}

struct auditor {
	struct db *db;
	const uint8_t *key;
	int id, failures;
};

static void *
auditor(void *arg)
{
	struct auditor *a = arg;
	char actor[32];

	snprintf(actor, sizeof(actor), "user-%d", a->id);
	for (int i = 0; i < PER_THREAD; i++) {
		struct audit_event ev = { .event = "token.issue",
			.outcome = "success",
			.actor = actor };

		if (audit_append(a->db, a->key, &ev) != 0)
			a->failures++;
	}
	return NULL;
}

static void
test_batch_AU05_concurrent_audit_chain_verifies(void **state)
{
	struct fixture *f = *state;
	struct auditor a[NTHREADS];
	pthread_t t[NTHREADS];
	struct audit_verify_result res;
	uint8_t key[32];
	char err[256];
	int from, to;
	int64_t n;

	assert_int_equal(store_migrate(f->db, &from, &to, err, sizeof(err)), 0);
	randombytes_buf(key, sizeof(key));
	for (int i = 0; i < NTHREADS; i++) {
		a[i] = (struct auditor){ f->db, key, i, 0 };
		assert_int_equal(
		    pthread_create(&t[i], NULL, auditor, &a[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(a[i].failures, 0);
	}
	/* PostgreSQL: rows whose own chain pass found another running may
	 * still be pending; the chainer links them afterwards (0051). */
	assert_int_equal(audit_chain(f->db, key, NULL), 0);
	assert_int_equal(store_audit_count(f->db, &n), 0);
	assert_int_equal(n, NTHREADS * PER_THREAD);
	assert_int_equal(audit_verify(f->db, key, NULL, &res), 0);
	assert_int_equal(res.rows, NTHREADS * PER_THREAD);
	assert_int_equal(res.head.seq, NTHREADS * PER_THREAD);
	sodium_memzero(key, sizeof(key));
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_batch_many_threads_each_get_their_result),
		T(test_batch_long_queue_each_woken_after_commit),
		T(test_batch_failing_fn_rolls_back_only_itself),
		T(test_batch_commit_failure_reaches_every_caller),
		T(test_batch_without_group_commit_runs_alone),
		T(test_batch_transaction_control_is_prepared),
		T(test_batch_AU05_concurrent_audit_chain_verifies),
	};
#undef T

	/* Errors only: the failure cases here log on purpose. */
	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
