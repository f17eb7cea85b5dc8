/*
 * The audit chainer (decision 0051), part of the running server on
 * PostgreSQL: requests write their audit rows unchained (audit_pending,
 * no global lock) and wake this thread, which links them into the hash
 * chain (audit_chain()) right after, off the request's path. It also
 * runs every CHAIN_INTERVAL_MS, so rows another node left when it died
 * get chained by whichever node runs. Every node runs one; the store lets
 * one chain at a time across all of them and the others skip at once
 * (PC_ERR_BUSY: the running one links their rows too, or the next wake
 * does). SQLite chains in the append itself: no thread there.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "audit/audit.h"
#include "server/server.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#define CHAIN_INTERVAL_MS 1000
/*
 * After a wake, the rows of this long are linked together: one chainer
 * transaction (and one commit flush) for all of them instead of one per
 * request. Off the requests' path: it only delays the chain, never an
 * answer.
 */
#define CHAIN_GATHER_MS 20

struct server_chainer {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	bool stop;
	bool dirty;   /* a row was appended since the last pass began */
	bool failing; /* the last pass failed (logged once until it works) */
};

/* audit_append()'s hook: only a signal, on the request's thread. */
static void
wake(void *arg)
{
	struct server_chainer *ch = arg;

	pthread_mutex_lock(&ch->lock);
	if (!ch->dirty) {
		ch->dirty = true;
		pthread_cond_signal(&ch->wake);
	}
	pthread_mutex_unlock(&ch->lock);
}

static void
pass(struct server_chainer *ch)
{
	struct db *db = ch->app->db;
	int64_t n = 0;
	bool any = false;
	int r;

	if ((r = store_audit_pending_any(db, &any)) == 0 && any)
		r = audit_chain(db, ch->app->audit_key, &n);
	if (r == PC_ERR_BUSY)
		r = 0; /* another node's chainer runs */
	if (r != 0 && !ch->failing) {
		struct log_line l;

		log_begin(&l, LOG_WARN, "audit.chain_failed");
		log_str(&l, "error", pc_strerror(r));
		log_end(&l);
	} else if (r == 0 && ch->failing) {
		log_msg(LOG_INFO, "audit.chain_failed", "chaining again");
	}
	ch->failing = r != 0;
}

/* at = now + ms, on CLOCK_MONOTONIC. */
static void
add_ms(struct timespec *at, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, at);
	at->tv_nsec += (ms % 1000) * 1000000L;
	at->tv_sec += ms / 1000 + at->tv_nsec / 1000000000L;
	at->tv_nsec %= 1000000000L;
}

static void *
chainer_main(void *arg)
{
	struct server_chainer *ch = arg;
	struct timespec at;
	bool stopping;

	for (;;) {
		add_ms(&at, CHAIN_INTERVAL_MS);
		pthread_mutex_lock(&ch->lock);
		while (!ch->stop && !ch->dirty &&
		    pthread_cond_timedwait(&ch->wake, &ch->lock, &at) == 0)
			;
		stopping = ch->stop;
		if (ch->dirty && !stopping) {
			/* Gather: later wakes only set dirty again. */
			add_ms(&at, CHAIN_GATHER_MS);
			while (!ch->stop &&
			    pthread_cond_timedwait(&ch->wake, &ch->lock, &at) ==
				0)
				;
		}
		ch->dirty = false;
		pthread_mutex_unlock(&ch->lock);
		/* The last pass runs after the last request's append. */
		pass(ch);
		if (stopping)
			return NULL;
	}
}

int
server_chainer_start(struct app *app, struct server_chainer **out)
{
	struct server_chainer *ch;
	pthread_condattr_t ca;
	sigset_t all, old;
	int e;

	*out = NULL;
	if (store_audit_chains_inline(app->db))
		return 0;
	ch = xcalloc(1, sizeof(*ch));
	ch->app = app;
	pthread_mutex_init(&ch->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ch->wake, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals belong to the main thread (serve's sigwait). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&ch->thread, NULL, chainer_main, ch);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		pthread_cond_destroy(&ch->wake);
		pthread_mutex_destroy(&ch->lock);
		free(ch);
		return PC_ERR_INTERNAL;
	}
	audit_set_chainer(wake, ch);
	*out = ch;
	return 0;
}

void
server_chainer_stop(struct server_chainer *ch)
{
	if (ch == NULL)
		return;
	audit_set_chainer(NULL, NULL);
	pthread_mutex_lock(&ch->lock);
	ch->stop = true;
	pthread_cond_signal(&ch->wake);
	pthread_mutex_unlock(&ch->lock);
	pthread_join(ch->thread, NULL);
	pthread_cond_destroy(&ch->wake);
	pthread_mutex_destroy(&ch->lock);
	free(ch);
}
