/* server: wiring of the route table and the serve loop. */
#ifndef PC_SERVER_H
#define PC_SERVER_H

#include "app.h"
#include "http/http.h"

extern const struct router server_router;
/*
 * The routers of the extra listeners (issue 17): the admin API's when
 * admin_listen is set (src/admin/), and /metrics on metrics_listen.
 */
extern const struct router server_admin_router;
extern const struct router server_metrics_router;

/* The bound sockets serve hands over: -1 where a listener is off. */
struct server_fds {
	int main;
	int admin;
	int metrics;
};

void health_live(struct req *r, struct resp *w);
/* GET /metrics (src/server/metrics.c, issue 17 item 2). */
void server_metrics(struct req *r, struct resp *w);
/* The scrape-time gauges of app's signer: set before the metrics
 * listener starts, cleared after it stops. */
void server_metrics_start(struct app *app);
void server_metrics_stop(void);
void health_ready(struct req *r, struct resp *w);

/*
 * Runs the server (src/server/run.c) on app, whose cfg, db, mk and signer
 * are open, and the bound sockets in fds (taken over, closed on every
 * path): starts everything, serves until SIGTERM or SIGINT, stops it all.
 * app's other members are the server's. 0 after a clean stop, else 1
 * after saying why on stderr. The caller then closes db, mk and signer.
 */
int server_run(struct app *app, const struct server_fds *fds);

/*
 * SIGHUP (src/server/reload.c): reloads the signing keys and re-reads the
 * configuration file, applying log_level; a file that fails its checks
 * changes nothing. Writes what happened, for systemd's STATUS=, to
 * status. 0, or the signing keys' reload error.
 */
int server_reload(struct app *app, char *status, size_t status_len);

/*
 * The purge of expired rows (DS-04, src/server/purge.c): purges once on
 * the calling thread, then starts a thread that purges every minute on
 * app's store until stopped.
 * Start it with signals blocked in the caller or not: it blocks them
 * itself. Stop waits for a purge in progress; NULL is a no-op.
 */
struct server_purge;
int server_purge_start(struct app *app, struct server_purge **out);
void server_purge_stop(struct server_purge *p);

/*
 * The audit chainer (decision 0051, src/server/chainer.c): on PostgreSQL
 * a thread that links pending audit rows into the chain after every append
 * (audit_set_chainer()) and every second; *out NULL and nothing to run on
 * SQLite. Stop it after the last request that may append (it runs one
 * last pass, then clears the hook); NULL is a no-op.
 */
struct server_chainer;
int server_chainer_start(struct app *app, struct server_chainer **out);
void server_chainer_stop(struct server_chainer *ch);

#endif
