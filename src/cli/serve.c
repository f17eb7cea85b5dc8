/*
 * portcullis serve: parses the options, hardens the process, listens (or
 * takes the sockets systemd passed), opens the store, the master key and
 * the signing keys (the CLI's start-up, with its messages), then hands
 * over to server_run()
 * (src/server/run.c), which runs the server until SIGTERM or SIGINT.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "http/httpd.h"
#include "oauth/oauth.h"
#include "server/server.h"
#include "server/systemd.h"
#include "store/store.h"
#include "util/log.h"

static const char usage[] =
    "usage: portcullis serve [--config FILE] [--data-dir DIR] "
    "[--issuer URL]\n"
    "                        [--listen HOST:PORT] [--store-url URL] "
    "[--mode MODE]\n"
    "\n"
    "Runs the server: applies pending migrations (with migrate_on_start = "
    "false,\nrefuses an older store instead), loads (or, on first start, "
    "creates) the\nsigning keys and serves until SIGTERM or SIGINT, then "
    "finishes requests in\nflight (shutdown_timeout) and exits. SIGHUP "
    "reloads the signing keys and\nre-reads the configuration (log_level "
    "takes effect). Under systemd it reports\nreadiness, reloads and stops "
    "(NOTIFY_SOCKET), feeds the watchdog while it\nanswers its own /readyz, "
    "and serves the sockets systemd passes (LISTEN_FDS)\ninstead of "
    "binding listen.\n";

/* No core files and no ptrace by other users: the process holds keys. */
static void
harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static int
serve(struct cli_ctx *c)
{
	const struct config *cfg = &c->cfg;
	struct app app;
	char err[512];
	struct server_fds fds = { -1, -1, -1 };
	int r, rc = 1;

	memset(&app, 0, sizeof(app));
	config_log_warnings(cfg);
	harden_process();
	/* Seed jansson's hash function once, before any thread exists. */
	json_object_seed(0);
	app.cfg = cfg;
	/* The address first: a port in use must not leave a new store and
	 * keys behind (issue 11, item 10). */
	/* Sockets systemd passed (portcullis.socket) stand for the bind. */
	if (systemd_sockets(&fds, err, sizeof(err)) < 0 ||
	    (fds.main < 0 &&
		http_listen(cfg, &fds.main, err, sizeof(err)) != 0) ||
	    (cfg->admin_listen[0] != '\0' && fds.admin < 0 &&
		http_listen_at(cfg->admin_listen, "admin_listen", &fds.admin,
		    err, sizeof(err)) != 0) ||
	    (cfg->metrics_listen[0] != '\0' && fds.metrics < 0 &&
		http_listen_at(cfg->metrics_listen, "metrics_listen",
		    &fds.metrics, err, sizeof(err)) != 0)) {
		fprintf(stderr, "portcullis: %s\n", err);
		log_msg(LOG_ERROR, "http.listen", err);
		goto out;
	}
	if (cli_create_store(cfg, true, &app.db) != 0 ||
	    cli_open_masterkey(cfg, app.db, &app.mk) != 0)
		goto out;
	if ((r = cli_signer_open(
		 app.db, app.mk, cfg, clock_now(), &app.signer)) != 0) {
		fprintf(stderr, "portcullis: cannot load signing keys: %s%s\n",
		    pc_strerror(r),
		    r == PC_ERR_VERIFY ? " (wrong master key?)" : "");
		goto out;
	}
	app.client_cache = client_cache_new();
	app.cors_cache = cors_cache_new();
	rc = server_run(&app, &fds);
	fds.main = fds.admin = fds.metrics = -1; /* server_run's now */
out:
	if (fds.main >= 0)
		close(fds.main);
	if (fds.admin >= 0)
		close(fds.admin);
	if (fds.metrics >= 0)
		close(fds.metrics);
	signer_free(app.signer);
	client_cache_free(app.client_cache);
	cors_cache_free(app.cors_cache);
	db_close(app.db);
	masterkey_free(app.mk);
	return rc;
}

static const struct cli_sub subs[] = {
	{ .name = NULL, .opts = cli_server_opts, .run = serve },
};

static const struct cli_cmd cmd = { "serve", usage, subs, PC_NELEM(subs) };

int
cmd_serve(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
