/*
 * Group commit: db_batch() runs callers' write functions together in one
 * transaction on one connection, each inside its own SAVEPOINT, and pays
 * one durable commit (one fsync with synchronous=FULL) for all of them.
 *
 * Leader/follower, no thread of its own: a caller queues its request; if
 * no batch is running it becomes the leader, takes what is queued (at most
 * BATCH_MAX), opens the transaction on the db's batch connection and runs
 * the functions, taking late arrivals while it still runs them, then
 * commits and hands each caller its result. Callers that arrive meanwhile
 * queue up and the next of them leads the next batch: the batch window is
 * the time the previous commit takes, so a lone caller never waits.
 *
 * Fail closed: a function's result is returned only once the commit that
 * holds its writes is durable; when the commit (or BEGIN) fails, every
 * caller of that batch gets the failure, never its function's result.
 *
 * Wake-ups: each waiting caller sleeps on a semaphore of its own, and a
 * batch end wakes only the callers of that batch and, as a hint, the
 * caller at the head of the queue (a broadcast to all waiters at every
 * batch end woke each of them once per batch ahead). The lead is free
 * again at once: a caller that arrives before the hinted one has woken
 * leads and takes the queue with it (no hand-off latency); the hinted
 * one then finds itself taken and sleeps until its batch is done. So a
 * caller wakes once, or twice when its hint lost that race.
 * Every post is counted under the mutex (hints, done_posted) and a
 * caller consumes all of its posts before it returns: its request lives
 * on its stack, and no post may reach it after.
 *
 * Savepoints and transaction control are cached prepared statements (the
 * query layer, q.h), never parsed per call.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "store/q.h"
#include "util/log.h"
#include "util/metrics.h"

#define BATCH_MAX 64

struct batch_req {
	int (*fn)(struct db_conn *c, void *arg);
	void *arg;
	int result;
	bool taken;	  /* in a batch (no longer queued) */
	bool done;	  /* result is final */
	bool done_posted; /* the batch's end posts it once */
	int hints;	  /* posts as the queue's head, each once */
	sem_t wake;
	struct batch_req *next;
};

struct db_batcher {
	pthread_mutex_t mu;
	struct batch_req *head, **tail;
	bool running;	  /* a leader holds the batch connection */
	pthread_t leader; /* valid while running */
	struct db_conn *conn;
};

void
db_batch_init(struct db *db)
{
	struct db_batcher *b = xcalloc(1, sizeof(*b));

	pthread_mutex_init(&b->mu, NULL);
	b->tail = &b->head;
	db->batch = b;
}

/* The batch connection itself is closed with the db's other connections. */
void
db_batch_free(struct db *db)
{
	struct db_batcher *b = db->batch;

	if (b == NULL)
		return;
	pthread_mutex_destroy(&b->mu);
	free(b);
	db->batch = NULL;
}

/* Up to max queued requests, in arrival order; b->mu held. */
static struct batch_req *
take(struct db_batcher *b, size_t max, size_t *n)
{
	struct batch_req *first = b->head, *last = NULL, *r = b->head;

	*n = 0;
	while (r != NULL && *n < max) {
		r->taken = true;
		last = r;
		r = r->next;
		(*n)++;
	}
	if (last == NULL)
		return NULL;
	b->head = r;
	if (r == NULL)
		b->tail = &b->head;
	last->next = NULL;
	return first;
}

/* A statement of the batch's own: 0 or the store's error. */
static int
run_sql(struct db_conn *c, const char *sql)
{
	return q_exec(c, sql, Q_NOARGS, NULL);
}

/* fn inside its own savepoint: a failing fn rolls back only itself. */
static int
run_one(struct db_conn *c, struct batch_req *q)
{
	int r;

	size_t mark = c->nhooks;

	if ((r = run_sql(c, "SAVEPOINT pc_batch")) != 0) {
		q->result = r;
		return 0; /* nothing of it was done; the batch goes on */
	}
	q->result = q->fn(c, q->arg);
	if (q->result < 0) {
		/* Its writes go: so does the work that waited for them. */
		db_end_hooks(c, mark, false);
		if ((r = run_sql(c, "ROLLBACK TO pc_batch")) != 0)
			return r; /* cannot be undone: the batch fails */
	}
	return run_sql(c, "RELEASE pc_batch");
}

/*
 * Ends a batch: every request of list gets r (when the batch failed) or
 * keeps its function's result; the lead is free again and the head of the
 * queue, if any, is hinted (posted under the mutex); then the callers of
 * list other than self are posted. self (the leader's own request) is not
 * posted: its caller is the one running here.
 */
static void
finish(
    struct db_batcher *b, struct batch_req *list, int r, struct batch_req *self)
{
	struct batch_req *q, *next, *head;

	pthread_mutex_lock(&b->mu);
	for (q = list; q != NULL; q = q->next) {
		if (r != 0)
			q->result = r;
		q->done = true;
		q->done_posted = q != self;
	}
	b->running = false;
	head = b->head;
	if (head != NULL && head != self) {
		head->hints++;
		sem_post(&head->wake);
	}
	pthread_mutex_unlock(&b->mu);
	for (q = list; q != NULL; q = next) {
		next = q->next; /* q may be gone once posted */
		if (q != self)
			sem_post(&q->wake);
	}
}

/* Runs one batch on b->conn, which only the leader touches. */
static void
lead(struct db_batcher *b, struct batch_req *list, size_t n,
    struct batch_req *self)
{
	struct batch_req *q, *more;
	struct db_conn *c = b->conn;
	const char *what = "begin";
	size_t got;
	int r;

	if ((r = db_begin(c, true)) != 0)
		goto out;
	what = "savepoint";
	for (q = list; q != NULL; q = q->next) {
		if ((r = run_one(c, q)) != 0)
			goto out;
		if (q->next != NULL || n >= BATCH_MAX)
			continue;
		/* Late arrivals join while the functions still run. */
		pthread_mutex_lock(&b->mu);
		more = take(b, BATCH_MAX - n, &got);
		pthread_mutex_unlock(&b->mu);
		q->next = more;
		n += got;
	}
	what = "commit";
	r = db_commit(c);
	if (r == 0)
		metrics_batch_size((unsigned)n);
out:
	if (r != 0) {
		struct log_line l;

		metrics_store_error(what[0] == 'b' ? METRICS_STORE_BATCH_BEGIN
			: what[0] == 's' ? METRICS_STORE_BATCH_SAVEPOINT
					 : METRICS_STORE_BATCH_COMMIT);

		db_rollback(c);
		/* Every caller of this batch gets r: none of it was kept. */
		log_begin(&l, LOG_ERROR, "store.batch");
		log_str(&l, "what", what);
		log_int(&l, "code", r);
		log_int(&l, "calls", (int64_t)n);
		log_end(&l);
	}
	finish(b, list, r, self);
}

/* Without group commit (or its connection): fn in a transaction of its own. */
static int
run_alone(struct db *db, int (*fn)(struct db_conn *c, void *arg), void *arg)
{
	struct db_conn *c;
	int r, res;

	if ((r = db_conn(db, &c)) != 0 || (r = db_begin(c, true)) != 0)
		return r;
	if ((res = fn(c, arg)) < 0) {
		db_rollback(c);
		return res;
	}
	if ((r = db_commit(c)) != 0)
		return r;
	return res;
}

static int
batch_conn(struct db *db, struct db_batcher *b)
{
	if (b->conn != NULL)
		return 0;
	return db_conn_new(db, &b->conn);
}

/* Sleeps until this request is posted. */
static void
await(struct batch_req *me)
{
	while (sem_wait(&me->wake) != 0)
		if (errno != EINTR)
			fatal("db_batch: sem_wait");
}

int
db_batch(struct db *db, int (*fn)(struct db_conn *c, void *arg), void *arg)
{
	struct db_batcher *b = db->batch;
	struct batch_req me = { .fn = fn, .arg = arg };
	struct batch_req *list;
	int consumed = 0, owed;
	size_t n;
	int r;

	if (b == NULL || !db->ops->group_commit)
		return run_alone(db, fn, arg);
	if (sem_init(&me.wake, 0, 0) != 0)
		fatal("db_batch: sem_init");
	pthread_mutex_lock(&b->mu);
	if (b->running && pthread_equal(b->leader, pthread_self())) {
		/* A batch function may not batch again: it would wait on itself. */
		pthread_mutex_unlock(&b->mu);
		fatal("db_batch: called from inside a batch");
	}
	*b->tail = &me;
	b->tail = &me.next;
	while (!me.done) {
		if (b->running || me.taken) {
			/* Woken by its batch's end or as the queue's head. */
			pthread_mutex_unlock(&b->mu);
			await(&me);
			consumed++;
			pthread_mutex_lock(&b->mu);
			continue;
		}
		b->running = true;
		b->leader = pthread_self();
		list = take(b, BATCH_MAX, &n); /* the oldest first */
		pthread_mutex_unlock(&b->mu);
		if ((r = batch_conn(db, b)) != 0)
			finish(
			    b, list, r, &me); /* no connection: fail closed */
		else
			lead(b, list, n, &me);
		pthread_mutex_lock(&b->mu);
	}
	owed = me.hints + (me.done_posted ? 1 : 0);
	pthread_mutex_unlock(&b->mu);
	/* Every post made to it, before its stack goes. */
	for (; consumed < owed; consumed++)
		await(&me);
	sem_destroy(&me.wake);
	return me.result;
}
