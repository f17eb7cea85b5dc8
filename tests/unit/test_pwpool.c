/*
 * Unit tests for auth/pwpool.c (SECURITY.md DS-01, DS-02, LG-02): results
 * of verify / hash / dummy jobs, the slot cap observed through
 * pwpool_stats() while jobs run, a full queue refused at once, a queue
 * timeout answered without hashing, stop() answering queued jobs, the
 * byte cap before any work, and the settings.
 *
 * Parameters are built directly (m = 8 MiB) for speed; the floor is
 * enforced only by pw_params_from_config. Slow jobs get a t calibrated on
 * this machine so one hash takes a known time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth/auth.h"

#define MIB (1024u * 1024)
#define PW "correct horse battery staple"
#define WAIT_MS 60000

static const struct pw_params fast = { 1, 8 * MIB };

struct coll {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int n; /* callbacks seen */
};

struct rec {
	struct coll *c;
	int calls;
	int r;
	bool needs_rehash;
	char phc[PW_PHC_MAX];
	uint64_t at_ms;
};

static void
coll_init(struct coll *c)
{
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->n = 0;
}

static void
coll_destroy(struct coll *c)
{
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->lock);
}

static void
done_cb(const struct pwjob_result *res, void *arg)
{
	struct rec *rec = arg;
	struct coll *c = rec->c;

	pthread_mutex_lock(&c->lock);
	rec->calls++;
	rec->r = res->r;
	rec->needs_rehash = res->needs_rehash;
	memcpy(rec->phc, res->phc, sizeof(rec->phc));
	rec->at_ms = clock_mono_ms();
	c->n++;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->lock);
}

static int
seen(struct coll *c)
{
	int n;

	pthread_mutex_lock(&c->lock);
	n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static void
wait_n(struct coll *c, int n)
{
	uint64_t end = clock_mono_ms() + WAIT_MS;

	while (seen(c) < n) {
		assert_true(clock_mono_ms() < end);
		usleep(1000);
	}
}

static void
sleep_ms(unsigned ms)
{
	usleep(ms * 1000u);
}

static void
wait_running(struct pwpool *pool, unsigned n)
{
	struct pwpool_stats st;
	uint64_t end = clock_mono_ms() + WAIT_MS;

	for (;;) {
		pwpool_stats(pool, &st);
		if (st.running == n)
			return;
		assert_true(clock_mono_ms() < end);
		usleep(500);
	}
}

/* Parameters whose hash takes about target_ms here (m = 8 MiB). */
static struct pw_params
slow_params(unsigned target_ms)
{
	struct pw_params p = { 4, 8 * MIB };
	char phc[PW_PHC_MAX];
	uint64_t t0, per_t;
	unsigned long long t;

	t0 = clock_mono_ms();
	assert_int_equal(pw_hash(&p, PW, strlen(PW), phc), 0);
	per_t = (clock_mono_ms() - t0) / 4;
	if (per_t < 1)
		per_t = 1;
	t = target_ms / per_t;
	p.opslimit = t < 2 ? 2 : t > 2000 ? 2000 : t;
	return p;
}

static struct pwpool *
start(struct pw_params p, unsigned slots, unsigned queue, uint64_t to_ms)
{
	struct pwpool_opts o = { p, slots, queue, to_ms };
	struct pwpool *pool = NULL;

	assert_int_equal(pwpool_start(&o, &pool), 0);
	assert_non_null(pool);
	return pool;
}

static int
submit(struct pwpool *pool, enum pwjob_kind kind, const char *pw,
    const char *phc, struct rec *rec)
{
	struct pwjob job = { kind, pw, strlen(pw), phc };

	return pwpool_submit(pool, &job, done_cb, rec);
}

/* ------------------------------------------------------------------ */

static void
test_pwpool_results_verify_hash_dummy(void **state)
{
	const struct pw_params older = { 2, 8 * MIB };
	char cur[PW_PHC_MAX], old[PW_PHC_MAX];
	struct coll c;
	struct rec ok = { .c = &c }, rehash = { .c = &c }, wrong = { .c = &c },
		   h = { .c = &c }, dummy = { .c = &c }, bad = { .c = &c };
	struct pwpool *pool;
	struct pwpool_stats st;
	char *copy;

	(void)state;
	coll_init(&c);
	assert_int_equal(pw_hash(&fast, PW, strlen(PW), cur), 0);
	assert_int_equal(pw_hash(&older, PW, strlen(PW), old), 0);
	pool = start(fast, 2, 16, 30000);

	/* The pool keeps its own copy: the caller's is wiped and freed. */
	copy = strdup(PW);
	assert_non_null(copy);
	assert_int_equal(submit(pool, PWJOB_VERIFY, copy, cur, &ok), 0);
	memset(copy, 'x', strlen(copy));
	free(copy);
	assert_int_equal(submit(pool, PWJOB_VERIFY, PW, old, &rehash), 0);
	assert_int_equal(submit(pool, PWJOB_VERIFY, PW "!", cur, &wrong), 0);
	assert_int_equal(submit(pool, PWJOB_HASH, PW, NULL, &h), 0);
	assert_int_equal(submit(pool, PWJOB_DUMMY, PW, NULL, &dummy), 0);
	assert_int_equal(submit(pool, PWJOB_VERIFY, "\xff\xfe", cur, &bad), 0);
	wait_n(&c, 6);

	assert_int_equal(ok.calls, 1);
	assert_int_equal(ok.r, 0);
	assert_false(ok.needs_rehash);
	assert_int_equal(rehash.r, 0);
	assert_true(rehash.needs_rehash);
	assert_int_equal(wrong.r, PC_ERR_VERIFY);
	assert_false(wrong.needs_rehash);
	assert_int_equal(h.r, 0);
	assert_memory_equal(h.phc, "$argon2id$v=19$m=8192,t=1,p=1$", 30);
	assert_int_equal(pw_verify(h.phc, PW, strlen(PW)), 0);
	assert_int_equal(dummy.r, PC_ERR_VERIFY);
	assert_int_equal(bad.r, PC_ERR_INVALID);

	pwpool_stats(pool, &st);
	assert_int_equal(st.slots, 2);
	assert_int_equal(st.running, 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.completed, 6);
	assert_int_equal(st.rejected, 0);
	pwpool_stop(pool);
	assert_int_equal(bad.calls + dummy.calls + h.calls + wrong.calls +
		rehash.calls + ok.calls,
	    6);
	coll_destroy(&c);
}

/* LG-02: the dummy job costs a real verification. */
static void
test_pwpool_lg02_dummy_does_the_work(void **state)
{
	struct pw_params p = slow_params(100);
	char phc[PW_PHC_MAX];
	struct coll c;
	struct rec warm = { .c = &c }, dummy = { .c = &c }, known = { .c = &c };
	struct pwpool *pool;
	uint64_t t0, t_dummy, t_known;

	(void)state;
	coll_init(&c);
	assert_int_equal(pw_hash(&p, PW, strlen(PW), phc), 0);
	pool = start(p, 1, 4, 30000);
	/* The first dummy call also makes the dummy hash. */
	assert_int_equal(submit(pool, PWJOB_DUMMY, "warm", NULL, &warm), 0);
	wait_n(&c, 1);
	t0 = clock_mono_ms();
	assert_int_equal(submit(pool, PWJOB_DUMMY, PW, NULL, &dummy), 0);
	wait_n(&c, 2);
	t_dummy = clock_mono_ms() - t0;
	t0 = clock_mono_ms();
	assert_int_equal(submit(pool, PWJOB_VERIFY, "wrong", phc, &known), 0);
	wait_n(&c, 3);
	t_known = clock_mono_ms() - t0;
	assert_int_equal(dummy.r, PC_ERR_VERIFY);
	assert_int_equal(known.r, PC_ERR_VERIFY);
	print_message("# dummy %llu ms, known user %llu ms\n",
	    (unsigned long long)t_dummy, (unsigned long long)t_known);
	assert_true(t_dummy * 3 >= t_known && t_known * 3 >= t_dummy);
	pwpool_stop(pool);
	coll_destroy(&c);
}

/* DS-02: over the byte cap is refused before any copy or hashing. */
static void
test_pwpool_ds02_byte_cap_before_hashing(void **state)
{
	char big[PW_MAX_BYTES + 2], phc[PW_PHC_MAX];
	struct coll c;
	struct rec r[4] = { { .c = &c }, { .c = &c }, { .c = &c },
		{ .c = &c } };
	struct pwpool *pool;
	struct pwpool_stats st;
	struct pwjob job;
	uint64_t t0;

	(void)state;
	coll_init(&c);
	assert_int_equal(pw_hash(&fast, PW, strlen(PW), phc), 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(strlen(big), 1025);
	pool = start(fast, 1, 4, 30000);

	t0 = clock_mono_ms();
	assert_int_equal(
	    submit(pool, PWJOB_VERIFY, big, phc, &r[0]), PC_ERR_INVALID);
	assert_int_equal(
	    submit(pool, PWJOB_HASH, big, NULL, &r[1]), PC_ERR_INVALID);
	assert_int_equal(
	    submit(pool, PWJOB_DUMMY, big, NULL, &r[2]), PC_ERR_INVALID);
	assert_true(clock_mono_ms() - t0 < 50);
	/* Other malformed jobs. */
	assert_int_equal(
	    submit(pool, PWJOB_VERIFY, PW, NULL, &r[0]), PC_ERR_INVALID);
	job = (struct pwjob){ PWJOB_HASH, NULL, 3, NULL };
	assert_int_equal(
	    pwpool_submit(pool, &job, done_cb, &r[0]), PC_ERR_INVALID);
	job = (struct pwjob){ (enum pwjob_kind)42, PW, 3, NULL };
	assert_int_equal(
	    pwpool_submit(pool, &job, done_cb, &r[0]), PC_ERR_INVALID);
	assert_int_equal(
	    pwpool_submit(pool, &job, NULL, &r[0]), PC_ERR_INVALID);

	/* 1024 bytes is accepted and verified. */
	big[PW_MAX_BYTES] = '\0';
	assert_int_equal(submit(pool, PWJOB_VERIFY, big, phc, &r[3]), 0);
	wait_n(&c, 1);
	assert_int_equal(r[3].r, PC_ERR_VERIFY);
	pwpool_stats(pool, &st);
	assert_int_equal(st.completed, 1);
	assert_int_equal(st.rejected, 0);
	pwpool_stop(pool);
	assert_int_equal(r[0].calls + r[1].calls + r[2].calls, 0);
	coll_destroy(&c);
}

/* DS-01: with 2 slots and 8 jobs, never more than 2 hash at once. */
static void
test_pwpool_ds01_slots_honoured(void **state)
{
	struct pw_params p = slow_params(40);
	struct coll c;
	struct rec r[8];
	struct pwpool *pool;
	struct pwpool_stats st;
	unsigned max_running = 0, max_queued = 0, polls = 0;

	(void)state;
	coll_init(&c);
	pool = start(p, 2, 16, 30000);
	for (int i = 0; i < 8; i++) {
		r[i] = (struct rec){ .c = &c };
		assert_int_equal(submit(pool, PWJOB_HASH, PW, NULL, &r[i]), 0);
	}
	while (seen(&c) < 8) {
		pwpool_stats(pool, &st);
		if (st.running > max_running)
			max_running = st.running;
		if (st.queued > max_queued)
			max_queued = st.queued;
		assert_true(st.running <= 2);
		polls++;
		usleep(200);
	}
	print_message("# %u polls: max running %u, max queued %u\n", polls,
	    max_running, max_queued);
	assert_int_equal(max_running, 2);
	assert_true(max_queued >= 5);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].r, 0);
	}
	pwpool_stats(pool, &st);
	assert_int_equal(st.completed, 8);
	pwpool_stop(pool);
	coll_destroy(&c);
}

/* DS-01: a full queue answers PC_ERR_BUSY at once and counts it. */
static void
test_pwpool_ds01_queue_full_busy(void **state)
{
	struct pw_params p = slow_params(300);
	struct coll c;
	struct rec a = { .c = &c }, b = { .c = &c }, d = { .c = &c },
		   e = { .c = &c };
	struct pwpool *pool;
	struct pwpool_stats st;
	uint64_t t0, took;

	(void)state;
	coll_init(&c);
	pool = start(p, 1, 2, 30000);
	assert_int_equal(submit(pool, PWJOB_HASH, PW, NULL, &a), 0);
	wait_running(pool, 1);
	assert_int_equal(submit(pool, PWJOB_HASH, PW, NULL, &b), 0);
	assert_int_equal(submit(pool, PWJOB_HASH, PW, NULL, &d), 0);
	t0 = clock_mono_ms();
	assert_int_equal(submit(pool, PWJOB_HASH, PW, NULL, &e), PC_ERR_BUSY);
	took = clock_mono_ms() - t0;
	assert_true(took < 100); /* a hash takes ~300 ms */
	pwpool_stats(pool, &st);
	assert_int_equal(st.running, 1);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.rejected, 1);
	wait_n(&c, 3);
	assert_int_equal(a.r, 0);
	assert_int_equal(b.r, 0);
	assert_int_equal(d.r, 0);
	sleep_ms(20);
	assert_int_equal(e.calls, 0);
	/* Room again once the queue drained. */
	assert_int_equal(submit(pool, PWJOB_DUMMY, PW, NULL, &e), 0);
	wait_n(&c, 4);
	assert_int_equal(e.calls, 1);
	pwpool_stats(pool, &st);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.completed, 4);
	pwpool_stop(pool);
	coll_destroy(&c);
}

/*
 * DS-01: a job that waits past the timeout gets PC_ERR_BUSY unhashed.
 * The scenario needs the running hash to outlast the 100 ms timeout by a
 * margin; calibration on a loaded machine can undershoot, so a round in
 * which the slot freed too early proves nothing and is run again with a
 * doubled cost (never more than four rounds).
 */
static void
test_pwpool_ds01_queue_timeout(void **state)
{
	struct pw_params p = slow_params(600);
	char phc[PW_PHC_MAX];
	struct coll c;
	struct rec a, b;
	struct pwpool *pool;
	struct pwpool_stats st;
	uint64_t t0;
	int round;

	(void)state;
	assert_int_equal(pw_hash(&fast, PW, strlen(PW), phc), 0);
	for (round = 0;; round++) {
		coll_init(&c);
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		a.c = b.c = &c;
		pool = start(p, 1, 4, 100);
		/* a hashes with the pool's slow parameters; b would be fast. */
		assert_int_equal(submit(pool, PWJOB_HASH, PW, NULL, &a), 0);
		wait_running(pool, 1);
		t0 = clock_mono_ms();
		assert_int_equal(submit(pool, PWJOB_VERIFY, PW, phc, &b), 0);
		wait_n(&c, 2);
		if (a.at_ms >= t0 + 300 || round == 3)
			break;
		print_message("# round %d: the slot freed after %llu ms; "
			      "again, slower\n",
		    round, (unsigned long long)(a.at_ms - t0));
		pwpool_stop(pool);
		coll_destroy(&c);
		p.opslimit *= 2;
	}
	assert_true(a.at_ms >= t0 + 300);
	assert_int_equal(b.r, PC_ERR_BUSY);
	assert_int_equal(a.r, 0);
	/* b expired on time, while a still held the only slot. */
	assert_true(b.at_ms >= t0 + 100);
	assert_true(b.at_ms < a.at_ms);
	print_message("# expired after %llu ms, %llu ms before the slot "
		      "freed\n",
	    (unsigned long long)(b.at_ms - t0),
	    (unsigned long long)(a.at_ms - b.at_ms));
	pwpool_stats(pool, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.completed, 1);
	pwpool_stop(pool);
	coll_destroy(&c);
}

/* stop(): queued jobs get PC_ERR_BUSY, the running one its result. */
static void
test_pwpool_stop_answers_queued(void **state)
{
	struct pw_params p = slow_params(300);
	struct coll c;
	struct rec r[5];
	struct pwpool *pool;

	(void)state;
	coll_init(&c);
	pool = start(p, 1, 8, 60000);
	for (int i = 0; i < 5; i++) {
		r[i] = (struct rec){ .c = &c };
		assert_int_equal(submit(pool, PWJOB_HASH, PW, NULL, &r[i]), 0);
		if (i == 0)
			wait_running(pool, 1);
	}
	pwpool_stop(pool);
	assert_int_equal(seen(&c), 5);
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[0].r, 0);
	for (int i = 1; i < 5; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].r, PC_ERR_BUSY);
		/* Answered before the running hash finished. */
		assert_true(r[i].at_ms <= r[0].at_ms);
	}
	/* An idle pool stops at once. */
	pool = start(fast, 3, 1, 1000);
	pwpool_stop(pool);
	pwpool_stop(NULL);
	coll_destroy(&c);
}

/*
 * Issue 11, item 5: after pwpool_shutdown the pool is still there for
 * late submits (HTTP not stopped yet): they are refused at once, their
 * callback never runs, nothing runs any more; pwpool_free then frees.
 */
static void
test_pwpool_shutdown_then_free(void **state)
{
	struct pw_params p = slow_params(200);
	struct coll c;
	struct rec r[3], late = { 0 };
	struct pwpool *pool;
	struct pwpool_stats st;

	(void)state;
	coll_init(&c);
	pool = start(p, 1, 8, 60000);
	for (int i = 0; i < 3; i++) {
		r[i] = (struct rec){ .c = &c };
		assert_int_equal(submit(pool, PWJOB_HASH, PW, NULL, &r[i]), 0);
		if (i == 0)
			wait_running(pool, 1);
	}
	pwpool_shutdown(pool);
	/* Every accepted job was answered: the running one, the rest busy. */
	assert_int_equal(seen(&c), 3);
	assert_int_equal(r[0].r, 0);
	assert_int_equal(r[1].r, PC_ERR_BUSY);
	assert_int_equal(r[2].r, PC_ERR_BUSY);
	/* Late submits are refused and never called back. */
	late.c = &c;
	for (int i = 0; i < 50; i++)
		assert_int_equal(
		    submit(pool, PWJOB_VERIFY, PW, "$argon2id$x", &late),
		    PC_ERR_BUSY);
	pwpool_stats(pool, &st);
	assert_int_equal(st.running, 0);
	assert_int_equal(st.queued, 0);
	assert_true(st.rejected >= 50);
	pwpool_shutdown(pool); /* idempotent */
	sleep_ms(20);
	assert_int_equal(late.calls, 0);
	assert_int_equal(seen(&c), 3);
	pwpool_free(pool);
	pwpool_free(NULL);
	pwpool_shutdown(NULL);
	coll_destroy(&c);
}

static void
test_pwpool_ds01_settings(void **state)
{
	struct config cfg;
	struct pwpool_opts o;
	struct pwpool *pool = NULL;
	const struct pw_params p = { 3, 64 * MIB };
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	char err[256];

	(void)state;
	assert_int_equal(
	    pwpool_auto_slots(32, 1024 * (int64_t)MIB, 64 * MIB), 16);
	assert_int_equal(
	    pwpool_auto_slots(4, 1024 * (int64_t)MIB, 64 * MIB), 4);
	assert_int_equal(pwpool_auto_slots(8, 64 * MIB, 64 * MIB), 1);
	assert_int_equal(pwpool_auto_slots(8, 32 * MIB, 64 * MIB), 1);
	assert_int_equal(pwpool_auto_slots(0, 1024 * (int64_t)MIB, MIB), 1);
	assert_int_equal(pwpool_auto_slots(1000, INT64_MAX, MIB), 256);

	config_defaults(&cfg);
	assert_int_equal(cfg.pwhash_concurrency, 0);
	assert_int_equal(cfg.pwhash_memory_budget, 1024 * (int64_t)MIB);
	assert_int_equal(cfg.pwhash_queue, 1024);
	assert_int_equal(cfg.pwhash_queue_timeout, 5);
	assert_int_equal(
	    pwpool_opts_from_config(&cfg, &p, &o, err, sizeof(err)), 0);
	assert_int_equal(o.slots, cores < 16 ? (unsigned)cores : 16);
	assert_int_equal(o.queue, 1024);
	assert_int_equal(o.queue_timeout_ms, 5000);
	assert_int_equal(o.params.memlimit, 64 * MIB);

	assert_int_equal(config_set(&cfg, "pwhash_concurrency", "16",
			     CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_equal(
	    pwpool_opts_from_config(&cfg, &p, &o, err, sizeof(err)), 0);
	assert_int_equal(o.slots, 16);
	/* More slots than the budget holds is refused (DS-01). */
	assert_int_equal(config_set(&cfg, "pwhash_concurrency", "17",
			     CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_equal(
	    pwpool_opts_from_config(&cfg, &p, &o, err, sizeof(err)),
	    PC_ERR_CONFIG);
	assert_non_null(strstr(err, "pwhash_memory_budget"));
	assert_int_equal(config_set(&cfg, "pwhash_memory_budget", "2048m",
			     CONFIG_SRC_ENV, err, sizeof(err)),
	    0);
	assert_int_equal(
	    pwpool_opts_from_config(&cfg, &p, &o, err, sizeof(err)), 0);
	assert_int_equal(o.slots, 17);
	/* A budget below one hash is refused. */
	assert_int_equal(config_set(&cfg, "pwhash_concurrency", "0",
			     CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_equal(config_set(&cfg, "pwhash_memory_budget", "32m",
			     CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_equal(
	    pwpool_opts_from_config(&cfg, &p, &o, err, sizeof(err)),
	    PC_ERR_CONFIG);
	assert_int_equal(config_set(&cfg, "pwhash_memory_budget", "65536k",
			     CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_equal(
	    pwpool_opts_from_config(&cfg, &p, &o, err, sizeof(err)), 0);
	assert_int_equal(o.slots, 1);

	/* Ranges. */
	assert_int_not_equal(config_set(&cfg, "pwhash_concurrency", "257",
				 CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_not_equal(config_set(&cfg, "pwhash_queue", "0",
				 CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_not_equal(config_set(&cfg, "pwhash_queue", "10001",
				 CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_equal(config_set(&cfg, "pwhash_queue", "10000",
			     CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_not_equal(config_set(&cfg, "pwhash_queue_timeout", "0",
				 CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_not_equal(config_set(&cfg, "pwhash_queue_timeout", "61s",
				 CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_equal(config_set(&cfg, "pwhash_queue_timeout", "1m",
			     CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_equal(cfg.pwhash_queue_timeout, 60);
	assert_int_not_equal(config_set(&cfg, "pwhash_memory_budget", "7m",
				 CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	config_free(&cfg);

	/* pwpool_start refuses impossible options. */
	o = (struct pwpool_opts){ fast, 0, 1, 1000 };
	assert_int_equal(pwpool_start(&o, &pool), PC_ERR_INVALID);
	o = (struct pwpool_opts){ fast, 1, 0, 1000 };
	assert_int_equal(pwpool_start(&o, &pool), PC_ERR_INVALID);
	o = (struct pwpool_opts){ fast, 1, 1, 0 };
	assert_int_equal(pwpool_start(&o, &pool), PC_ERR_INVALID);
	assert_null(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pwpool_results_verify_hash_dummy),
		cmocka_unit_test(test_pwpool_lg02_dummy_does_the_work),
		cmocka_unit_test(test_pwpool_ds02_byte_cap_before_hashing),
		cmocka_unit_test(test_pwpool_ds01_slots_honoured),
		cmocka_unit_test(test_pwpool_shutdown_then_free),
		cmocka_unit_test(test_pwpool_ds01_queue_full_busy),
		cmocka_unit_test(test_pwpool_ds01_queue_timeout),
		cmocka_unit_test(test_pwpool_stop_answers_queued),
		cmocka_unit_test(test_pwpool_ds01_settings),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
