/*
 * The server's periodic thread. The purge of expired rows (DS-04): it
 * deletes everything that expires once at start (on the starting thread)
 * and then once a minute on a thread of its own; each kind on its own
 * (one failing does not keep the others), one log line for all. Every node runs it; the deletes are
 * idempotent, so nodes purging at once only repeat each other's work.
 * With signing_key_rotate_every set (issue 17, item 6; decision 0076),
 * the same thread also runs signer_auto_rotate() at start and every
 * signing_key_refresh (at most a minute): each step of a key's rotation
 * is decided by the store, once across nodes, and audited in its own
 * transaction (keys_audit()).
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "crypto/crypto.h"
#include "server/server.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"
#include "util/util.h"

#define PURGE_INTERVAL_S 60

struct server_purge {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	bool stop;
};

static void
purge(struct app *app)
{
	static const char *const names[] = { "sessions", "tokens", "counters",
		"codes", "token_families", "assertion_jtis", "revoked_jtis",
		"authz_requests", "workload_jtis", "par_requests",
		"registered_clients", "dpop_jtis", "webauthn_challenges",
		"forward_auth" };
	struct db *db = app->db;
	int64_t now = clock_now(), n[PC_NELEM(names)] = { 0 }, total = 0;
	const int rc[PC_NELEM(names)] = {
		session_purge(db, app->cfg, now, &n[0]),
		usertoken_purge(db, now, &n[1]),
		throttle_purge(db, app->cfg, now, &n[2]),
		store_auth_codes_purge(db, now, &n[3]),
		store_families_purge(db, now, &n[4]),
		store_assertion_jtis_purge(db, now, &n[5]),
		store_access_revoked_purge(db, now, &n[6]),
		store_authz_requests_purge(db, now, &n[7]),
		store_wif_jtis_purge(db, now, &n[8]),
		store_par_purge(db, now, &n[9]),
		/* CR-07: self-registered clients never used. */
		store_registered_clients_purge(db,
		    now - app->cfg->client_registration_unused, now, &n[10]),
		store_dpop_jtis_purge(db, now, &n[11]),
		store_wa_challenges_purge(db, now, &n[12]),
		/* Issue 17: codes, per-host sessions and their orphans. */
		store_fwd_purge(
		    db, now, session_idle_timeout(app->cfg), &n[13]),
	};
	struct log_line l;

	for (size_t i = 0; i < PC_NELEM(names); i++) {
		if (rc[i] != 0)
			log_msg(LOG_WARN, "store.purge", names[i]);
		total += n[i];
	}
	if (total == 0)
		return;
	log_begin(&l, LOG_INFO, "store.purge");
	for (size_t i = 0; i < PC_NELEM(names); i++)
		log_int(&l, names[i], n[i]);
	log_end(&l);
}

/* AU-01: the audit row of a rotation step, in the step's transaction. */
static int
keys_audit(struct db_conn *c, void *arg, enum store_key_step step,
    const char *kid, const char *successor)
{
	const struct app *app = arg;
	struct audit_event ev;
	json_t *d = NULL;
	int r;

	memset(&ev, 0, sizeof(ev));
	ev.outcome = "success";
	ev.actor = "server";
	ev.target = kid;
	switch (step) {
	case STORE_KEY_SUCCEEDED:
		ev.event = "key.auto_rotated";
		ev.target = successor;
		d = json_pack("{s:s, s:I}", "supersedes", kid, "rotate_every",
		    (json_int_t)app->cfg->signing_key_rotate_every);
		break;
	case STORE_KEY_RETIRED: ev.event = "key.retired"; break;
	default: ev.event = "key.dropped"; break;
	}
	ev.details = d;
	r = audit_append_tx(c, app->audit_key, &ev);
	json_decref(d);
	if (r != 0)
		log_msg(LOG_ERROR, "audit.append_failed", pc_strerror(r));
	return r;
}

/* One pass of the automatic key rotation; nothing when it is off. */
static void
keys(struct app *app)
{
	const struct store_key_hook hook = { keys_audit, app };
	struct signer_auto_result res;
	int r;

	if (app->cfg->signing_key_rotate_every <= 0)
		return;
	r = signer_auto_rotate(app->signer, clock_now(), &hook, &res);
	if (r != 0)
		log_msg(LOG_WARN, "signer.auto_rotate_failed", pc_strerror(r));
}

/* Seconds between passes of keys(): signing_key_refresh, at most the
 * purge's interval; the purge itself still runs once a minute. */
static int64_t
tick_of(const struct app *app)
{
	int64_t t = app->cfg->signing_key_refresh;

	if (app->cfg->signing_key_rotate_every <= 0 || t > PURGE_INTERVAL_S)
		return PURGE_INTERVAL_S;
	return t > 0 ? t : 1;
}

static void *
purge_main(void *arg)
{
	struct server_purge *p = arg;
	int64_t tick = tick_of(p->app), since = 0;
	struct timespec at;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_sec += tick;
		pthread_mutex_lock(&p->lock);
		while (!p->stop &&
		    pthread_cond_timedwait(&p->wake, &p->lock, &at) == 0)
			;
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		pthread_mutex_unlock(&p->lock);
		keys(p->app);
		if ((since += tick) >= PURGE_INTERVAL_S) {
			since = 0;
			purge(p->app);
		}
	}
}

int
server_purge_start(struct app *app, struct server_purge **out)
{
	struct server_purge *p = xcalloc(1, sizeof(*p));
	pthread_condattr_t ca;
	sigset_t all, old;
	int e;

	/*
	 * The first purge runs here, on the caller's thread and its store
	 * connection, already open: as quick as it was before the purge had
	 * a thread, where a new thread would first open a connection of its
	 * own. Then every PURGE_INTERVAL_S on the thread.
	 */
	purge(app);
	keys(app);
	p->app = app;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals belong to the main thread (serve's sigwait). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&p->thread, NULL, purge_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		*out = NULL;
		return PC_ERR_INTERNAL;
	}
	*out = p;
	return 0;
}

void
server_purge_stop(struct server_purge *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
