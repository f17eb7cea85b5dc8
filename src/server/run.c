/*
 * The running server: from an app whose store, master key and signing
 * keys are open (the CLI's serve opens them) and a listening socket, it
 * builds the discovery documents, starts the password-hashing pool, the
 * mail sender, the HTTP server and the purge of expired rows, waits for
 * SIGTERM or SIGINT (SIGHUP reloads: server_reload()), and stops them in
 * an order that leaves nothing running against what is freed. It tells
 * systemd each step (server/systemd.h) and, when systemd watches it,
 * kicks the watchdog only after its own /readyz answered.
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "pc_version.h"

#include "audit/audit.h"
#include "auth/auth.h"
#include "crypto/crypto.h"
#include "http/httpd.h"
#include "mail/mail.h"
#include "oauth/oauth.h"
#include "server/server.h"
#include "server/systemd.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

static char *
read_pem(const char *path)
{
	FILE *f = fopen(path, "re");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b, 1024 * 1024);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_put(&b, chunk, n) != 0) {
			buf_free(&b);
			fclose(f);
			return NULL;
		}
	}
	fclose(f);
	sodium_memzero(chunk, sizeof(chunk));
	return buf_steal(&b);
}

static void
warmed(const struct pwjob_result *res, void *arg)
{
	(void)res;
	(void)arg;
}

static unsigned
worker_threads(const struct config *cfg)
{
	long n;

	if (cfg->http_threads > 0)
		return (unsigned)cfg->http_threads;
	/*
	 * Auto: 4 per CPU, 8 to 64. Requests mostly wait on the store's
	 * durable commit, and waiting threads are what group commit batches.
	 */
	n = sysconf(_SC_NPROCESSORS_ONLN);
	n = n > 0 ? 4 * n : 8;
	return n < 8 ? 8 : n > 64 ? 64 : (unsigned)n;
}

/*
 * An extra listener (admin_listen, metrics_listen) on its own socket and
 * router: a few threads, the main listener's TLS pair when
 * it has one for the admin API, plain HTTP for metrics.
 */
static int
start_extra(struct app *app, int fd, const struct router *rt, const char *cert,
    const char *key, struct http_server **out)
{
	struct http_server_opts o;

	memset(&o, 0, sizeof(o));
	o.cfg = app->cfg;
	o.router = rt;
	o.app = app;
	o.threads = 2;
	o.tls_cert_pem = cert;
	o.tls_key_pem = key;
	o.listen_fd = fd;
	return http_server_start(&o, out);
}

/*
 * The watchdog (decision 0074): a kick only after a GET /readyz on the
 * main listener got an answer, 200 or 503 (the store said no, or is down,
 * but answered: a restart would not bring it back), within a quarter of
 * WATCHDOG_USEC. A worker pool that takes no connection, a store call
 * that never returns, a deadlock: no answer, no kick, and systemd
 * restarts the service. Due every half WATCHDOG_USEC; after a failed
 * probe, again in an eighth, so one slow answer is not fatal.
 */
static void
watchdog_due(const struct sockaddr_storage *addr, const char *cert,
    uint64_t interval_ms, uint64_t *due_ms, long *last)
{
	long code = 0;
	bool ok = server_probe(addr, cert,
	    (int64_t)(interval_ms / 2 > 0 ? interval_ms / 2 : 1), &code);

	if (!ok) {
		log_msg(LOG_WARN, "systemd.watchdog",
		    "the server did not answer its own /readyz: no kick");
		*due_ms = clock_mono_ms() +
		    (interval_ms / 4 > 0 ? interval_ms / 4 : 1);
		return;
	}
	notify_watchdog();
	if (code != *last)
		notify_status(code == 200 ? "ready"
					  : "not ready: the store does not "
					    "answer (/readyz 503)");
	*last = code;
	*due_ms = clock_mono_ms() + interval_ms;
}

/* Waits for SIGTERM or SIGINT (returned), reloading on SIGHUP and
 * kicking the watchdog when systemd watches. */
static int
wait_signal(struct app *app, const sigset_t *set,
    const struct sockaddr_storage *addr, const char *cert, char *status,
    size_t status_len)
{
	uint64_t wd_ms = notify_watchdog_interval() / 1000;
	uint64_t due = clock_mono_ms();
	long last = 200;
	int sig;

	if (addr->ss_family == AF_UNSPEC)
		wd_ms = 0;
	for (;;) {
		if (wd_ms == 0) {
			if (sigwait(set, &sig) != 0)
				continue;
		} else {
			uint64_t now = clock_mono_ms(), left;
			struct timespec ts;

			if (now >= due) {
				watchdog_due(addr, cert, wd_ms, &due, &last);
				continue;
			}
			left = due - now;
			ts.tv_sec = (time_t)(left / 1000);
			ts.tv_nsec = (long)(left % 1000) * 1000000L;
			if ((sig = sigtimedwait(set, NULL, &ts)) < 0)
				continue; /* EAGAIN: due; EINTR */
		}
		if (sig == SIGTERM || sig == SIGINT)
			return sig;
		if (sig == SIGHUP) {
			notify_reloading();
			(void)server_reload(app, status, status_len);
			notify_ready(status);
		}
	}
}

int
server_run(struct app *app, const struct server_fds *fds)
{
	const struct config *cfg = app->cfg;
	struct server_purge *purge = NULL;
	struct server_chainer *chainer = NULL;
	struct http_server_opts ho;
	struct http_server *srv = NULL, *admin = NULL, *metrics = NULL;
	int lfd = fds->main, afd = fds->admin, mfd = fds->metrics;
	/* app->pw points here while the server runs. */
	struct pw_params *pw = xcalloc(1, sizeof(*pw));
	struct pwpool_opts po;
	char *cert = NULL, *key = NULL;
	char err[512], status[512];
	struct sockaddr_storage probe_addr;
	sigset_t set;
	int sig = 0, rc = 1;

	if (discovery_build(app) != 0)
		goto out;
	metrics_set_process(PC_VERSION, clock_now());
	{
		/* Issue 17 item 3: audit rows in the log stream. */
		enum audit_log_mode m = AUDIT_LOG_PEOPLE;

		if (audit_log_mode_parse(cfg->log_security_events, &m) != 0)
			goto out; /* config_check refused it already */
		audit_set_log_mode(m);
	}
	audit_key(app->mk, app->audit_key);
	/* Password hashing runs in its own pool (DS-01). */
	if (pw_params_from_config(cfg, pw, err, sizeof(err)) != 0 ||
	    pwpool_opts_from_config(cfg, pw, &po, err, sizeof(err)) != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		goto out;
	}
	app->pw = pw;
	if (cfg->tls_cert[0] != '\0') {
		cert = read_pem(cfg->tls_cert);
		key = read_pem(cfg->tls_key);
		if (cert == NULL || key == NULL) {
			fprintf(stderr,
			    "portcullis: cannot read tls_cert or "
			    "tls_key\n");
			goto out;
		}
	}

	/* Every thread inherits this mask; main waits for the signal. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	memset(&ho, 0, sizeof(ho));
	ho.cfg = cfg;
	ho.router = &server_router;
	ho.app = app;
	ho.threads = worker_threads(cfg);
	ho.tls_cert_pem = cert;
	ho.tls_key_pem = key;
	ho.listen_fd = lfd;
	if (mail_start(cfg, &app->mailer) != 0 ||
	    mail_jobs_start(&app->jobs) != 0) {
		fprintf(stderr, "portcullis: cannot start the mail sender\n");
		goto out;
	}
	if (pwpool_start(&po, &app->pwpool) != 0) {
		fprintf(stderr, "portcullis: cannot start the hashing pool\n");
		goto out;
	}
	{
		/* The unknown-account dummy hash is made now, on the pool,
		 * not by the first sign-in (LG-02), and not before ready. */
		struct pwjob warm = { PWJOB_DUMMY, "warm-up", 7, NULL };

		if (pwpool_submit(app->pwpool, &warm, warmed, NULL) != 0)
			log_msg(LOG_WARN, "auth.warmup", "not queued");
	}
	/*
	 * The first purge runs before the server answers (DS-04): it is done
	 * by the time "server.started" is logged, so nothing it does races
	 * the first requests.
	 */
	if (server_purge_start(app, &purge) != 0) {
		fprintf(stderr, "portcullis: cannot start the purge\n");
		goto out;
	}
	if (server_chainer_start(app, &chainer) != 0) {
		fprintf(stderr, "portcullis: cannot start the audit chainer\n");
		goto out;
	}
	if (log_buffering_start() != 0)
		goto out;
	/* Where the watchdog's probe connects (a wildcard: loopback). */
	{
		socklen_t sl = sizeof(probe_addr);

		memset(&probe_addr, 0, sizeof(probe_addr));
		if (getsockname(lfd, (struct sockaddr *)&probe_addr, &sl) != 0)
			probe_addr.ss_family = AF_UNSPEC;
	}
	lfd = -1; /* the server's now, whatever happens */
	if (http_server_start(&ho, &srv) != 0) {
		fprintf(stderr,
		    "portcullis: cannot start the HTTP server on %s\n",
		    cfg->listen);
		goto out;
	}
	if (afd >= 0) {
		int fd = afd;

		afd = -1;
		if (start_extra(app, fd, &server_admin_router, cert, key,
			&admin) != 0) {
			fprintf(stderr,
			    "portcullis: cannot start the admin API on %s\n",
			    cfg->admin_listen);
			goto out;
		}
	}
	if (mfd >= 0) {
		int fd = mfd;

		mfd = -1;
		server_metrics_start(app);
		if (start_extra(app, fd, &server_metrics_router, NULL, NULL,
			&metrics) != 0) {
			fprintf(stderr,
			    "portcullis: cannot start metrics on %s\n",
			    cfg->metrics_listen);
			goto out;
		}
	}
	pc_freezero_str(key);
	key = NULL;
	{
		struct log_line l;

		log_begin(&l, LOG_INFO, "server.started");
		log_str(&l, "issuer", cfg->issuer);
		log_str(&l, "listen", cfg->listen);
		log_int(&l, "port", http_server_port(srv));
		if (admin != NULL) {
			log_str(&l, "admin_listen", cfg->admin_listen);
			log_int(&l, "admin_port", http_server_port(admin));
		}
		if (metrics != NULL) {
			log_str(&l, "metrics_listen", cfg->metrics_listen);
			log_int(&l, "metrics_port", http_server_port(metrics));
		}
		log_int(&l, "threads", ho.threads);
		log_int(&l, "pwhash_slots", po.slots);
		log_str(&l, "store", db_describe(app->db));
		log_str(&l, "mode",
		    cfg->mode == CONFIG_MODE_DEVELOPMENT ? "development"
							 : "production");
		log_end(&l);
	}
	snprintf(status, sizeof(status), "ready; serving %s on port %u",
	    cfg->issuer, (unsigned)http_server_port(srv));
	notify_ready(status);
	sig = wait_signal(app, &set, &probe_addr, cert, status, sizeof(status));
	notify_stopping();
	server_purge_stop(purge);
	purge = NULL;
	{
		struct log_line l;

		log_begin(&l, LOG_INFO, "server.stopping");
		log_str(&l, "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		log_end(&l);
	}
	/*
	 * The order keeps the pool alive while anything can reach it (issue
	 * 11, item 5): keep-alive connections can bring new requests until
	 * the HTTP server is stopped. Drain: no new connection, requests in
	 * flight finish. Shutdown: the pool refuses new work (503), answers
	 * what is queued and lets running hashes deliver, so no callback is
	 * left to resume a connection. Stop HTTP: no handler runs any more.
	 * Only then is the pool freed.
	 */
	if (admin != NULL)
		(void)http_server_drain(admin, cfg->shutdown_timeout);
	(void)http_server_drain(srv, cfg->shutdown_timeout);
	pwpool_shutdown(app->pwpool);
	http_server_stop(admin, 2);
	admin = NULL;
	http_server_stop(srv, 2);
	srv = NULL;
	http_server_stop(metrics, 0);
	metrics = NULL;
	server_metrics_stop();
	/* After the HTTP side (it submits), before the mailer and store. */
	mail_jobs_stop(
	    app->jobs, cfg->shutdown_timeout > 0 ? cfg->shutdown_timeout : 10);
	app->jobs = NULL;
	/* Nothing appends any more (requests and jobs are done). */
	server_chainer_stop(chainer);
	chainer = NULL;
	pwpool_free(app->pwpool);
	app->pwpool = NULL;
	mail_stop(app->mailer);
	app->mailer = NULL;
	log_buffering_stop();
	log_msg(LOG_INFO, "server.stopped", "bye");
	rc = 0;
out:
	server_purge_stop(purge);
	if (lfd >= 0)
		close(lfd);
	if (afd >= 0)
		close(afd);
	if (mfd >= 0)
		close(mfd);
	http_server_stop(metrics, 0);
	server_metrics_stop();
	if (admin != NULL)
		(void)http_server_drain(admin, 0);
	if (srv != NULL)
		(void)http_server_drain(srv, 0);
	if (admin != NULL || srv != NULL)
		pwpool_shutdown(app->pwpool);
	http_server_stop(admin, 0);
	http_server_stop(srv, 0);
	pwpool_free(app->pwpool);
	mail_jobs_stop(app->jobs, 0);
	server_chainer_stop(chainer);
	if (app->mailer != NULL)
		mail_stop(app->mailer);
	sodium_memzero(app->audit_key, sizeof(app->audit_key));
	log_buffering_stop();
	pc_freezero_str(key);
	free(cert);
	discovery_free(app);
	app->pw = NULL;
	free(pw);
	return rc;
}
