/*
 * What SIGHUP reloads (decision 0074): the signing keys from the store
 * (at once, not at the next signing_key_refresh), and the configuration
 * file, read again and checked as at start (defaults < file < PORTCULLIS_*
 * < the command line's values, which are kept). Of its settings only
 * log_level takes effect on a running server; a change to any other is
 * named in the log as needing a restart. A file that no longer loads or
 * passes the checks changes nothing: the running configuration stays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "server/server.h"
#include "util/config.h"
#include "util/log.h"
#include "util/util.h"

/* The values the command line gave (source "flag"), copied over. */
struct flags {
	struct config *to;
	int rc;
	char *err;
	size_t err_len;
};

static void
copy_flag(const char *name, const char *value, const char *source, void *arg)
{
	struct flags *f = arg;

	if (f->rc == 0 && strcmp(source, "flag") == 0)
		f->rc = config_set(
		    f->to, name, value, CONFIG_SRC_FLAG, f->err, f->err_len);
}

/* The settings whose value differs: collected one by one. */
struct diff {
	const struct config *other;
	const char *want; /* the setting config_each is looking for */
	char *found;	  /* a copy: config_each's buffers are reused */
	char changed[512];
	bool log_level;
};

static void
find_value(const char *name, const char *value, const char *source, void *arg)
{
	struct diff *d = arg;

	(void)source;
	if (d->found == NULL && strcmp(name, d->want) == 0)
		d->found = xstrdup(value);
}

static void
compare(const char *name, const char *value, const char *source, void *arg)
{
	struct diff *d = arg;
	char *copy = xstrdup(value);
	size_t n = strlen(d->changed);
	bool same;

	(void)source;
	d->want = name;
	d->found = NULL;
	config_each(d->other, find_value, d);
	same = d->found == NULL || strcmp(d->found, copy) == 0;
	free(d->found);
	d->found = NULL;
	free(copy);
	if (same)
		return;
	if (strcmp(name, "log_level") == 0) {
		d->log_level = true;
		return;
	}
	snprintf(d->changed + n, sizeof(d->changed) - n, "%s%s",
	    n > 0 ? "," : "", name);
}

int
server_reload(struct app *app, char *status, size_t status_len)
{
	const struct config *cfg = app->cfg;
	struct config next;
	struct flags f;
	struct diff d;
	char err[512];
	enum log_level lvl;
	int keys, rc = 0;

	/* The keys first: the store is what every node shares. On failure
	 * the signer keeps its last good ring. */
	keys = signer_refresh(app->signer, clock_now(), true);

	config_defaults(&next);
	err[0] = '\0';
	if (cfg->config_file != NULL &&
	    config_load_file(&next, cfg->config_file, err, sizeof(err)) != 0)
		rc = PC_ERR_CONFIG;
	if (rc == 0 && config_load_env(&next, err, sizeof(err)) != 0)
		rc = PC_ERR_CONFIG;
	if (rc == 0) {
		f = (struct flags){ &next, 0, err, sizeof(err) };
		config_each(cfg, copy_flag, &f);
		rc = f.rc;
	}
	if (rc == 0 && config_finish(&next, err, sizeof(err)) != 0)
		rc = PC_ERR_CONFIG;
	if (rc != 0) {
		struct log_line l;

		log_begin(&l, LOG_ERROR, "server.reload_failed");
		log_str(&l, "what", "configuration");
		log_str(&l, "error", err);
		log_str(&l, "kept", "the running configuration");
		log_end(&l);
		snprintf(status, status_len,
		    "reload failed, running on the previous configuration: %s",
		    err);
		config_free(&next);
		return rc;
	}
	memset(&d, 0, sizeof(d));
	d.other = &next;
	config_each(cfg, compare, &d);
	if (d.log_level && log_level_parse(next.log_level, &lvl) == 0)
		log_init(lvl);
	{
		struct log_line l;

		log_begin(
		    &l, keys == 0 ? LOG_INFO : LOG_ERROR, "server.reloaded");
		log_str(&l, "signing_keys",
		    keys == 0 ? "reloaded" : "kept (the store did not answer)");
		log_str(&l, "log_level", next.log_level);
		if (d.changed[0] != '\0')
			log_str(&l, "restart_needed", d.changed);
		log_end(&l);
	}
	if (keys != 0)
		snprintf(status, status_len,
		    "ready; reload failed for the signing keys (%s), the "
		    "previous ones stay in use",
		    pc_strerror(keys));
	else if (d.changed[0] != '\0')
		snprintf(status, status_len,
		    "ready; reloaded, a restart is needed for: %s", d.changed);
	else
		snprintf(status, status_len, "ready; reloaded");
	config_free(&next);
	return keys;
}
