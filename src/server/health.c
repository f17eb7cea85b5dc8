/*
 * The health endpoints: GET /healthz (the process answers) and GET
 * /readyz (this node's store answers a read and took a write recently),
 * for load balancers and orchestrators. Neither needs credentials; a
 * 503 says only whether the store is down or not writable.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "server/server.h"
#include "store/db.h"
#include "store/store.h"
#include "util/log.h"

void
health_live(struct req *r, struct resp *w)
{
	(void)r;
	if (resp_json_raw(w, 200, "{\"status\":\"ok\"}", 15) != 0)
		w->status = 500;
}

/*
 * The write probe (issue 11, item 8): a store that answers reads but
 * refuses writes (a database file the service user cannot write after a
 * restore, a PostgreSQL that went read-only on failover) is not ready.
 * At most one probe per PROBE_INTERVAL_MS per node, run by whichever
 * /readyz request finds it due (never by a timer: no load while nobody
 * asks); the others use the last result. The probe upserts one row of
 * health_probe (migration 0016). The result changes are logged, once each.
 */
#define PROBE_INTERVAL_MS 2000

static pthread_mutex_t probe_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t probe_at_ms; /* monotonic; 0: never probed */
static atomic_int probe_rc;	     /* the last probe's result */

static int
write_probe(struct db *db)
{
	uint64_t now = clock_mono_ms();
	uint64_t at = atomic_load(&probe_at_ms);
	int rc, was;

	if (at != 0 && now - at < PROBE_INTERVAL_MS)
		return atomic_load(&probe_rc);
	/* One prober at a time; a request that finds one running waits for
	 * nothing and takes the last result. */
	if (pthread_mutex_trylock(&probe_mu) != 0)
		return at != 0 ? atomic_load(&probe_rc) : 0;
	at = atomic_load(&probe_at_ms);
	if (at != 0 && clock_mono_ms() - at < PROBE_INTERVAL_MS) {
		(void)pthread_mutex_unlock(&probe_mu);
		return atomic_load(&probe_rc);
	}
	rc = store_health_probe(db, clock_now());
	was = atomic_exchange(&probe_rc, rc);
	atomic_store(&probe_at_ms, clock_mono_ms());
	(void)pthread_mutex_unlock(&probe_mu);
	if (rc != 0 && (was == 0 || at == 0))
		log_msg(LOG_WARN, "store.unwritable", pc_strerror(rc));
	else if (rc == 0 && was != 0)
		log_msg(LOG_INFO, "store.writable", "writes work again");
	return rc;
}

static void
unavailable(struct resp *w, const char *body, size_t len)
{
	resp_header(w, "Retry-After", "5");
	if (resp_json_raw(w, 503, body, len) != 0)
		w->status = 503;
}

/*
 * Ready when this thread's store connection answers a real read and the
 * store took a write within the probe interval.
 */
void
health_ready(struct req *r, struct resp *w)
{
	static const char down[] =
	    "{\"status\":\"unavailable\",\"store\":\"down\"}";
	static const char ro[] =
	    "{\"status\":\"unavailable\",\"store\":\"not writable\"}";
	const struct app *app = r->app;
	struct db_conn *c;
	int rc;

	if ((rc = db_conn(app->db, &c)) == 0)
		rc = db_ping(c);
	if (rc != 0) {
		log_msg(LOG_WARN, "store.unavailable", pc_strerror(rc));
		unavailable(w, down, sizeof(down) - 1);
		return;
	}
	if (write_probe(app->db) != 0) {
		unavailable(w, ro, sizeof(ro) - 1);
		return;
	}
	if (resp_json_raw(w, 200, "{\"status\":\"ready\"}", 18) != 0)
		w->status = 500;
}
