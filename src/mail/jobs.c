/*
 * The mail work queue: one thread that runs, in order, the work behind a
 * request that may send mail (looking the account up, counting its mail
 * budget, issuing a token, the audit row, queuing the mail), after the
 * request was answered (SECURITY.md RS-01). It knows no accounts: a job
 * is a function and its argument.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail.h"
#include "util/log.h"

struct job {
	void (*run)(void *arg);
	void *arg;
	void (*free_arg)(void *arg);
};

struct mail_jobs {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job q[MAIL_JOBS_MAX];
	size_t head;
	size_t n;
	bool stopping;
	uint64_t deadline; /* monotonic ms; 0 until mail_jobs_stop */
};

static void
job_release(struct job *j)
{
	if (j->free_arg != NULL)
		j->free_arg(j->arg);
	memset(j, 0, sizeof(*j));
}

static void *
worker(void *arg)
{
	struct mail_jobs *q = arg;
	struct job j;
	size_t dropped = 0;

	(void)pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->n == 0 && !q->stopping)
			(void)pthread_cond_wait(&q->cv, &q->mu);
		if (q->n == 0)
			break;
		if (q->deadline != 0 && clock_mono_ms() >= q->deadline) {
			/* Out of time at stop: release the rest unrun. */
			while (q->n > 0) {
				job_release(&q->q[q->head]);
				q->head = (q->head + 1) % MAIL_JOBS_MAX;
				q->n--;
				dropped++;
			}
			break;
		}
		j = q->q[q->head];
		memset(&q->q[q->head], 0, sizeof(j));
		q->head = (q->head + 1) % MAIL_JOBS_MAX;
		q->n--;
		(void)pthread_mutex_unlock(&q->mu);
		j.run(j.arg);
		job_release(&j);
		log_set_rid(NULL); /* a job may have set its request's id */
		(void)pthread_mutex_lock(&q->mu);
	}
	(void)pthread_mutex_unlock(&q->mu);
	if (dropped > 0) {
		struct log_line l;

		log_begin(&l, LOG_WARN, "mail.jobs_dropped");
		log_int(&l, "count", (int64_t)dropped);
		log_str(&l, "reason", "shutdown");
		log_end(&l);
	}
	return NULL;
}

int
mail_jobs_start(struct mail_jobs **out)
{
	struct mail_jobs *q;
	sigset_t all, old;
	int e;

	*out = NULL;
	q = xcalloc(1, sizeof(*q));
	if (pthread_mutex_init(&q->mu, NULL) != 0) {
		free(q);
		return PC_ERR_INTERNAL;
	}
	if (pthread_cond_init(&q->cv, NULL) != 0) {
		(void)pthread_mutex_destroy(&q->mu);
		free(q);
		return PC_ERR_INTERNAL;
	}
	/* Signals belong to the main thread (serve's sigwait). */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&q->thread, NULL, worker, q);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		(void)pthread_cond_destroy(&q->cv);
		(void)pthread_mutex_destroy(&q->mu);
		free(q);
		return PC_ERR_INTERNAL;
	}
	*out = q;
	return 0;
}

int
mail_jobs_submit(struct mail_jobs *q, void (*run)(void *arg), void *arg,
    void (*free_arg)(void *arg))
{
	struct job *j;

	if (q == NULL || run == NULL)
		return PC_ERR_INVALID;
	(void)pthread_mutex_lock(&q->mu);
	if (q->stopping || q->n == MAIL_JOBS_MAX) {
		(void)pthread_mutex_unlock(&q->mu);
		return PC_ERR_BUSY;
	}
	j = &q->q[(q->head + q->n) % MAIL_JOBS_MAX];
	j->run = run;
	j->arg = arg;
	j->free_arg = free_arg;
	q->n++;
	(void)pthread_cond_signal(&q->cv);
	(void)pthread_mutex_unlock(&q->mu);
	return 0;
}

void
mail_jobs_stop(struct mail_jobs *q, int64_t wait_s)
{
	if (q == NULL)
		return;
	if (wait_s < 0)
		wait_s = 0;
	(void)pthread_mutex_lock(&q->mu);
	q->stopping = true;
	q->deadline = clock_mono_ms() + (uint64_t)wait_s * 1000;
	if (q->deadline == 0)
		q->deadline = 1;
	(void)pthread_cond_signal(&q->cv);
	(void)pthread_mutex_unlock(&q->mu);
	(void)pthread_join(q->thread, NULL);
	(void)pthread_cond_destroy(&q->cv);
	(void)pthread_mutex_destroy(&q->mu);
	free(q);
}
