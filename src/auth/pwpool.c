/*
 * The hashing pool: Argon2id jobs (verify, hash, dummy verify) run on a
 * fixed set of worker threads, never on the HTTP threads (SECURITY.md
 * DS-01, DS-02, LG-02; Part 2.1 "Concurrency cap").
 *
 * Memory bound: exactly `slots` worker threads exist and each runs one hash
 * at a time, so at most slots x pwhash_memory bytes of Argon2id memory are
 * in use at once, however many logins arrive. Waiting jobs cost one small
 * node plus a sodium_malloc copy of the password (<= PW_MAX_BYTES + 1), and
 * at most `queue` of them wait: beyond that pwpool_submit answers
 * PC_ERR_BUSY at once. A job that waits longer than queue_timeout_ms is
 * completed with PC_ERR_BUSY by the expiry thread without being hashed, so
 * a caller's wait is bounded by the timeout plus one hash.
 *
 * Locking: one mutex guards the queue and the counters. `work` wakes the
 * workers, `expiry` the expiry thread; both wait on CLOCK_MONOTONIC.
 * Callbacks always run without the mutex held.
 */
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/auth.h"
#include "util/metrics.h"

struct job {
	struct job *next;
	enum pwjob_kind kind;
	char *pw; /* sodium_malloc, pw_len + 1 bytes */
	size_t pw_len;
	char phc[PW_PHC_MAX]; /* PWJOB_VERIFY: the stored hash */
	uint64_t deadline_ms; /* monotonic; past it the job expires */
	uint64_t queued_us;   /* monotonic: when it was queued (metrics) */
	pwpool_done_fn done;
	void *arg;
};

struct pwpool {
	struct pwpool_opts opts;
	pthread_mutex_t lock;
	pthread_cond_t work;
	pthread_cond_t expiry;
	struct job *head, *tail; /* FIFO of waiting jobs */
	unsigned queued, running;
	uint64_t rejected, expired, completed, shed;
	bool stopping; /* submits get PC_ERR_BUSY */
	bool joined;   /* pwpool_shutdown has (or is) joining the threads */
	pthread_t *workers;
	unsigned n_workers;
	pthread_t expirer;
	bool expirer_started;
};

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->pw != NULL) {
		sodium_memzero(j->pw, j->pw_len + 1);
		sodium_free(j->pw);
	}
	pc_freezero(j, sizeof(*j));
}

/* Completes j with r (no hashing) and frees it; called without the lock. */
static void
job_finish_busy(struct job *j)
{
	struct pwjob_result res;

	memset(&res, 0, sizeof(res));
	res.kind = j->kind;
	res.r = PC_ERR_BUSY;
	j->done(&res, j->arg);
	job_free(j);
}

static void
run_job(const struct pw_params *p, struct job *j, struct pwjob_result *res)
{
	memset(res, 0, sizeof(*res));
	res->kind = j->kind;
	switch (j->kind) {
	case PWJOB_VERIFY:
		res->r = pw_verify(j->phc, j->pw, j->pw_len);
		if (res->r == 0)
			res->needs_rehash = pw_needs_rehash(p, j->phc);
		break;
	case PWJOB_HASH: res->r = pw_hash(p, j->pw, j->pw_len, res->phc); break;
	case PWJOB_DUMMY:
		/* LG-02: the full work, and never a match. */
		pw_dummy_verify(p, j->pw, j->pw_len);
		res->r = PC_ERR_VERIFY;
		break;
	default: res->r = PC_ERR_INTERNAL; break;
	}
	/* The password copy is not needed past the hash. */
	sodium_memzero(j->pw, j->pw_len + 1);
}

static struct job *
pop_locked(struct pwpool *pool)
{
	struct job *j = pool->head;

	if (j != NULL) {
		pool->head = j->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		j->next = NULL;
		pool->queued--;
		metrics_pwhash_queue_add(-1);
		metrics_pwhash_wait(clock_mono_us() - j->queued_us);
	}
	return j;
}

static void *
worker_main(void *arg)
{
	struct pwpool *pool = arg;
	struct pwjob_result res;
	struct job *j;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (!pool->stopping && pool->head == NULL)
			pthread_cond_wait(&pool->work, &pool->lock);
		if ((j = pop_locked(pool)) == NULL)
			break; /* stopping, and nothing left */
		if (clock_mono_ms() >= j->deadline_ms) {
			/* The expiry thread has not got to it yet. */
			pool->expired++;
			pthread_mutex_unlock(&pool->lock);
			job_finish_busy(j);
			pthread_mutex_lock(&pool->lock);
			continue;
		}
		pool->running++;
		pthread_mutex_unlock(&pool->lock);

		run_job(&pool->opts.params, j, &res);

		pthread_mutex_lock(&pool->lock);
		pool->running--;
		pool->completed++;
		pthread_mutex_unlock(&pool->lock);
		j->done(&res, j->arg);
		sodium_memzero(&res, sizeof(res));
		job_free(j);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static void
mono_timespec(uint64_t ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

/*
 * Every job waits the same queue_timeout_ms, so deadlines grow along the
 * FIFO and only the head needs watching.
 */
static void *
expiry_main(void *arg)
{
	struct pwpool *pool = arg;
	struct job *j, *done = NULL, **donep;
	struct timespec ts;
	uint64_t now;

	pthread_mutex_lock(&pool->lock);
	while (!pool->stopping) {
		if (pool->head == NULL) {
			pthread_cond_wait(&pool->expiry, &pool->lock);
			continue;
		}
		now = clock_mono_ms();
		if (now < pool->head->deadline_ms) {
			mono_timespec(pool->head->deadline_ms, &ts);
			(void)pthread_cond_timedwait(
			    &pool->expiry, &pool->lock, &ts);
			continue;
		}
		donep = &done;
		while (pool->head != NULL && now >= pool->head->deadline_ms) {
			*donep = pop_locked(pool);
			donep = &(*donep)->next;
			pool->expired++;
		}
		pthread_mutex_unlock(&pool->lock);
		while ((j = done) != NULL) {
			done = j->next;
			job_finish_busy(j);
		}
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

unsigned
pwpool_auto_slots(long cores, int64_t budget, int64_t memory)
{
	int64_t by_memory = memory > 0 ? budget / memory : 0;
	int64_t n = cores < by_memory ? cores : by_memory;

	if (n < 1)
		n = 1;
	if (n > PWPOOL_MAX_SLOTS)
		n = PWPOOL_MAX_SLOTS;
	return (unsigned)n;
}

int
pwpool_opts_from_config(const struct config *cfg, const struct pw_params *p,
    struct pwpool_opts *out, char *err, size_t err_len)
{
	long cores;
	int64_t m, slots;

	if (err != NULL && err_len > 0)
		err[0] = '\0';
	if (cfg == NULL || p == NULL || out == NULL)
		return PC_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	m = (int64_t)p->memlimit;
	if (m <= 0 || cfg->pwhash_memory_budget < m) {
		if (err != NULL && err_len > 0)
			snprintf(err, err_len,
			    "pwhash_memory_budget %lld bytes is less than one "
			    "hash (pwhash_memory %lld bytes)",
			    (long long)cfg->pwhash_memory_budget, (long long)m);
		return PC_ERR_CONFIG;
	}
	if (cfg->pwhash_concurrency > 0) {
		slots = cfg->pwhash_concurrency;
		if (slots > cfg->pwhash_memory_budget / m) {
			if (err != NULL && err_len > 0)
				snprintf(err, err_len,
				    "pwhash_concurrency %lld x pwhash_memory "
				    "%lld bytes exceeds pwhash_memory_budget "
				    "%lld bytes (SECURITY.md DS-01)",
				    (long long)slots, (long long)m,
				    (long long)cfg->pwhash_memory_budget);
			return PC_ERR_CONFIG;
		}
		if (slots > PWPOOL_MAX_SLOTS)
			slots = PWPOOL_MAX_SLOTS;
	} else {
		cores = sysconf(_SC_NPROCESSORS_ONLN);
		slots = pwpool_auto_slots(
		    cores > 0 ? cores : 1, cfg->pwhash_memory_budget, m);
	}
	if (cfg->pwhash_queue < 1 || cfg->pwhash_queue_timeout < 1)
		return PC_ERR_CONFIG;
	out->params = *p;
	out->slots = (unsigned)slots;
	out->queue = (unsigned)cfg->pwhash_queue;
	out->queue_timeout_ms = (uint64_t)cfg->pwhash_queue_timeout * 1000;
	return 0;
}

static int
start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int e;

	/* Signals belong to the main thread (serve's sigwait). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e == 0 ? 0 : PC_ERR_INTERNAL;
}

int
pwpool_start(const struct pwpool_opts *o, struct pwpool **outp)
{
	struct pwpool *pool = NULL;
	pthread_condattr_t ca;
	int r = PC_ERR_INVALID;

	*outp = NULL;
	if (o == NULL || o->slots < 1 || o->slots > PWPOOL_MAX_SLOTS ||
	    o->queue < 1 || o->queue > PWPOOL_MAX_QUEUE ||
	    o->queue_timeout_ms < 1 ||
	    o->params.memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
	    o->params.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN)
		return PC_ERR_INVALID;
	if (sodium_init() < 0)
		return PC_ERR_INTERNAL;
	pool = xcalloc(1, sizeof(*pool));
	pool->opts = *o;
	pool->workers = xcalloc(o->slots, sizeof(*pool->workers));
	pthread_mutex_init(&pool->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pool->work, &ca);
	pthread_cond_init(&pool->expiry, &ca);
	pthread_condattr_destroy(&ca);

	for (unsigned i = 0; i < o->slots; i++) {
		if ((r = start_thread(&pool->workers[i], worker_main, pool)) !=
		    0)
			goto out;
		pool->n_workers++;
	}
	if ((r = start_thread(&pool->expirer, expiry_main, pool)) != 0)
		goto out;
	pool->expirer_started = true;
	*outp = pool;
	pool = NULL;
	r = 0;
out:
	pwpool_stop(pool);
	return r;
}

int
pwpool_submit(struct pwpool *pool, const struct pwjob *job, pwpool_done_fn done,
    void *arg)
{
	struct job *j;
	bool full, was_empty;

	if (pool == NULL || job == NULL || done == NULL ||
	    (job->pw == NULL && job->pw_len > 0))
		return PC_ERR_INVALID;
	/* DS-02: the byte cap before any copy or work. */
	if (job->pw_len > PW_MAX_BYTES)
		return PC_ERR_INVALID;
	switch (job->kind) {
	case PWJOB_VERIFY:
		if (job->phc == NULL ||
		    memchr(job->phc, '\0', PW_PHC_MAX) == NULL)
			return PC_ERR_INVALID;
		break;
	case PWJOB_HASH:
	case PWJOB_DUMMY: break;
	default: return PC_ERR_INVALID;
	}

	/* Refuse a full queue before paying for the secure copy. */
	pthread_mutex_lock(&pool->lock);
	full = pool->stopping || pool->queued >= pool->opts.queue;
	if (full) {
		pool->rejected++;
		metrics_throttled(METRICS_LIMITER_PWHASH_QUEUE);
	}
	pthread_mutex_unlock(&pool->lock);
	if (full)
		return PC_ERR_BUSY;

	j = xcalloc(1, sizeof(*j));
	j->kind = job->kind;
	j->pw_len = job->pw_len;
	if ((j->pw = sodium_malloc(job->pw_len + 1)) == NULL) {
		free(j);
		return PC_ERR_INTERNAL;
	}
	if (job->pw_len > 0)
		memcpy(j->pw, job->pw, job->pw_len);
	j->pw[job->pw_len] = '\0';
	if (job->kind == PWJOB_VERIFY)
		memcpy(j->phc, job->phc, strlen(job->phc) + 1);
	j->done = done;
	j->arg = arg;

	pthread_mutex_lock(&pool->lock);
	if (pool->stopping || pool->queued >= pool->opts.queue) {
		pool->rejected++;
		metrics_throttled(METRICS_LIMITER_PWHASH_QUEUE);
		pthread_mutex_unlock(&pool->lock);
		job_free(j);
		return PC_ERR_BUSY;
	}
	j->deadline_ms = clock_mono_ms() + pool->opts.queue_timeout_ms;
	was_empty = pool->head == NULL;
	if (pool->tail != NULL)
		pool->tail->next = j;
	else
		pool->head = j;
	pool->tail = j;
	pool->queued++;
	j->queued_us = clock_mono_us();
	metrics_pwhash_queue_add(1);
	pthread_cond_signal(&pool->work);
	if (was_empty)
		pthread_cond_signal(&pool->expiry);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

void
pwpool_stats(struct pwpool *pool, struct pwpool_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	out->slots = pool->opts.slots;
	out->running = pool->running;
	out->queued = pool->queued;
	out->rejected = pool->rejected;
	out->expired = pool->expired;
	out->completed = pool->completed;
	out->shed = pool->shed;
	pthread_mutex_unlock(&pool->lock);
}

void
pwpool_shutdown(struct pwpool *pool)
{
	struct job *j, *waiting;
	bool joined;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	waiting = pool->head;
	pool->head = pool->tail = NULL;
	pool->shed += pool->queued;
	metrics_pwhash_queue_add(-(int64_t)pool->queued);
	pool->queued = 0;
	joined = pool->joined;
	pool->joined = true;
	pthread_cond_broadcast(&pool->work);
	pthread_cond_broadcast(&pool->expiry);
	pthread_mutex_unlock(&pool->lock);

	/* Queued jobs get their answer now; running ones finish first. */
	while ((j = waiting) != NULL) {
		waiting = j->next;
		job_finish_busy(j);
	}
	if (joined)
		return;
	for (unsigned i = 0; i < pool->n_workers; i++)
		pthread_join(pool->workers[i], NULL);
	if (pool->expirer_started)
		pthread_join(pool->expirer, NULL);
}

void
pwpool_free(struct pwpool *pool)
{
	if (pool == NULL)
		return;
	pwpool_shutdown(pool);
	pthread_cond_destroy(&pool->work);
	pthread_cond_destroy(&pool->expiry);
	pthread_mutex_destroy(&pool->lock);
	free(pool->workers);
	free(pool);
}

void
pwpool_stop(struct pwpool *pool)
{
	pwpool_free(pool);
}
