/*
 * Start-up shared by every command: the configuration from the options,
 * file and environment; the data directory; the store (opened, created or
 * peeked at, and migrated); the master key, proven against the store; and
 * cli_start(), which opens what a sub-command's table entry asks for.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

static int
flag(struct config *cfg, const char *name, const char *v)
{
	char err[512];

	if (v == NULL)
		return 0;
	if (config_set(cfg, name, v, CONFIG_SRC_FLAG, err, sizeof(err)) != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		return PC_ERR_CONFIG;
	}
	return 0;
}

int
cli_config(const struct cli_ctx *c, struct config *cfg)
{
	const char *file = cli_get(c, "config");

	if (file == NULL)
		file = getenv("PORTCULLIS_CONFIG");
	char err[512];
	enum log_level lvl;

	config_defaults(cfg);
	if (file != NULL && file[0] != '\0') {
		cfg->config_file = xstrdup(file);
		if (config_load_file(cfg, file, err, sizeof(err)) != 0) {
			fprintf(stderr, "portcullis: %s\n", err);
			goto fail;
		}
	}
	if (config_load_env(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "portcullis: environment: %s\n", err);
		goto fail;
	}
	/* The options that set a setting (--data-dir, --issuer, ...). */
	for (size_t i = 0; i < c->n_hits; i++)
		if (c->hits[i].opt->setting != NULL &&
		    flag(cfg, c->hits[i].opt->setting, c->hits[i].value) != 0)
			goto fail;
	if (config_finish(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr,
		    "portcullis: unsafe or invalid configuration: "
		    "%s\n",
		    err);
		goto fail;
	}
	/* Argon2id below the floor (SECURITY.md Part 2.1): refuse to run. */
	{
		struct pw_params pp;

		if (pw_params_from_config(cfg, &pp, err, sizeof(err)) != 0) {
			fprintf(stderr,
			    "portcullis: unsafe or invalid configuration: "
			    "%s\n",
			    err);
			goto fail;
		}
	}
	if (log_level_parse(cfg->log_level, &lvl) == 0)
		log_init(lvl);
	return 0;
fail:
	/* Callers only exit after a failure; leave nothing behind. */
	config_free(cfg);
	return PC_ERR_CONFIG;
}

int
cli_data_dir(const struct config *cfg)
{
	struct stat st;

	if (stat(cfg->data_dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr,
			    "portcullis: data_dir %s is not a "
			    "directory\n",
			    cfg->data_dir);
			return PC_ERR_CONFIG;
		}
		return 0;
	}
	if (errno != ENOENT || mkdir(cfg->data_dir, 0700) != 0) {
		fprintf(stderr, "portcullis: cannot create data_dir %s: %s\n",
		    cfg->data_dir, strerror(errno));
		return PC_ERR_IO;
	}
	return 0;
}

static void
log_schema_newer(const struct db *db, int version)
{
	struct log_line l;

	log_begin(&l, LOG_WARN, "store.schema_newer");
	log_str(&l, "store", db_describe(db));
	log_int(&l, "version", version);
	log_int(&l, "binary_version", store_schema_latest());
	log_str(&l, "note",
	    "a newer release migrated this store; serving it unchanged");
	log_end(&l);
}

/* Where the SQLite store lives, or NULL for PostgreSQL. */
static char *
sqlite_path(const struct config *cfg)
{
	const char *url = cfg->store_url;
	size_t n;
	char *p;

	if (url != NULL && strncmp(url, "sqlite:", 7) == 0 && url[7] != '\0')
		return xstrdup(url + 7);
	if (url != NULL && url[0] != '\0')
		return NULL;
	n = strlen(cfg->data_dir) + sizeof("/portcullis.db");
	p = xmalloc(n);
	snprintf(p, n, "%s/portcullis.db", cfg->data_dir);
	return p;
}

static const char where_hint[] =
    "point at the right one with --data-dir DIR or --store-url URL (or "
    "PORTCULLIS_DATA_DIR, PORTCULLIS_STORE_URL, data_dir and store_url in "
    "the --config file); `portcullis migrate` creates a new store";

/*
 * Only serve, migrate and master-key init create things: every other
 * command refuses a store that is not there (issue 11, item 9), instead of
 * creating an empty one that looks like every user is gone. Missing means
 * no SQLite file, or a store (a PostgreSQL database) with no schema yet.
 */
static int
store_missing(const struct config *cfg, bool quiet)
{
	struct stat st;
	char *path = sqlite_path(cfg);

	if (path == NULL)
		return 0;
	if (stat(path, &st) == 0 || errno != ENOENT) {
		free(path);
		return 0;
	}
	if (!quiet)
		fprintf(stderr, "portcullis: there is no store at %s: %s\n",
		    path, where_hint);
	free(path);
	return PC_ERR_NOT_FOUND;
}

static int
schema_missing(const struct db *db, int version, bool quiet)
{
	if (version > 0)
		return 0;
	if (!quiet)
		fprintf(stderr,
		    "portcullis: the store %s has no schema (an empty "
		    "database): run `portcullis migrate` first to set it up, "
		    "or %s\n",
		    db_describe(db), where_hint);
	return PC_ERR_NOT_FOUND;
}

/*
 * A store whose schema is newer than this binary is used as it is:
 * migrations are additive, so what this binary reads and writes is still
 * there (docs/operations.md, "Upgrades"). An older one is migrated, or,
 * with migrate_on_start = false, refused: then only `portcullis migrate`
 * changes the schema.
 */
static int
open_store(const struct config *cfg, bool create, bool migrate, bool quiet,
    struct db **out)
{
	char err[1024];
	int from = 0, to = 0, latest = store_schema_latest(), r;

	*out = NULL;
	if (create && cli_data_dir(cfg) != 0)
		return PC_ERR_IO;
	if (!create && (r = store_missing(cfg, quiet)) != 0)
		return r;
	if ((r = db_open(cfg->store_url, cfg->data_dir, out)) != 0) {
		fprintf(stderr, "portcullis: cannot open the store: %s\n",
		    pc_strerror(r));
		return r;
	}
	if (!create) {
		if ((r = store_schema_version(*out, &to)) != 0) {
			fprintf(stderr,
			    "portcullis: cannot read the schema version of "
			    "%s: %s\n",
			    db_describe(*out), pc_strerror(r));
		} else {
			r = schema_missing(*out, to, quiet);
		}
		if (r != 0) {
			db_close(*out);
			*out = NULL;
			return r;
		}
	}
	if (!migrate)
		return 0;
	if (cfg->migrate_on_start) {
		r = store_migrate(*out, &from, &to, err, sizeof(err));
	} else if ((r = store_schema_version(*out, &to)) != 0) {
		snprintf(err, sizeof(err),
		    "cannot read the schema version of %s", db_describe(*out));
	} else if (to < latest) {
		snprintf(err, sizeof(err),
		    "the store %s is at schema version %d and this binary "
		    "needs %d: run `portcullis migrate` first "
		    "(migrate_on_start = false)",
		    db_describe(*out), to, latest);
		r = PC_ERR_STORE;
	}
	if (r != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		log_msg(LOG_ERROR,
		    cfg->migrate_on_start ? "store.migrate_failed"
					  : "store.schema_old",
		    err);
		db_close(*out);
		*out = NULL;
		return r;
	}
	if (to > latest)
		log_schema_newer(*out, to);
	return 0;
}

int
cli_open_store(const struct config *cfg, bool migrate, struct db **out)
{
	return open_store(cfg, false, migrate, false, out);
}

int
cli_create_store(const struct config *cfg, bool migrate, struct db **out)
{
	return open_store(cfg, true, migrate, false, out);
}

int
cli_peek_store(const struct config *cfg, struct db **out)
{
	return open_store(cfg, false, false, true, out);
}

int
cli_open_masterkey(
    const struct config *cfg, struct db *db, struct masterkey **out)
{
	enum masterkey_source src;
	char err[1024];
	bool create = cfg->mode == CONFIG_MODE_DEVELOPMENT, sealed = false;
	int r;

	/* A new key for a store sealed under another one would only be
	 * refused below, and left behind in place of the real one. */
	if (create && db != NULL && masterkey_store_sealed(db)) {
		create = false;
		sealed = true;
	}
	r = masterkey_load(cfg, create, out, &src, err, sizeof(err));
	if (r != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		if (r == PC_ERR_NOT_FOUND && sealed)
			fprintf(stderr,
			    "portcullis: the store %s holds data sealed under "
			    "a master key, so none is created for it: restore "
			    "its key file or set PORTCULLIS_MASTER_KEY\n",
			    db_describe(db));
		return r;
	}
	if (src == MASTERKEY_CREATED) {
		char path[4096];

		masterkey_path(cfg, path, sizeof(path));
		log_msg(LOG_WARN, "masterkey.created", path);
	}
	if (db == NULL)
		return 0;
	/* Nothing is written under a key the store was not sealed under. */
	r = masterkey_prove(db, *out, cfg, true, clock_now());
	if (r == PC_ERR_VERIFY) {
		fprintf(stderr,
		    "portcullis: the master key does not match the store %s "
		    "(its sealed data was sealed under another key): check "
		    "PORTCULLIS_MASTER_KEY or master_key_file; nothing was "
		    "written\n",
		    db_describe(db));
		log_msg(LOG_ERROR, "masterkey.mismatch", db_describe(db));
	} else if (r != 0) {
		fprintf(stderr,
		    "portcullis: cannot check the master key against the "
		    "store %s: %s\n",
		    db_describe(db), pc_strerror(r));
	}
	if (r != 0) {
		masterkey_free(*out);
		*out = NULL;
	}
	return r;
}

int
cli_start(struct cli_ctx *c, unsigned start)
{
	int r;

	if ((start &
		(CLI_START_STORE | CLI_START_MASTERKEY | CLI_START_SIGNER)) ==
	    0)
		return 0;
	if (cli_open_store(&c->cfg, true, &c->db) != 0)
		return 1;
	if ((start & (CLI_START_MASTERKEY | CLI_START_SIGNER)) != 0 &&
	    cli_open_masterkey(&c->cfg, c->db, &c->mk) != 0)
		return 1;
	if ((start & CLI_START_SIGNER) != 0 &&
	    (r = cli_signer_open(
		 c->db, c->mk, &c->cfg, clock_now(), &c->signer)) != 0) {
		fprintf(stderr, "portcullis: cannot load signing keys: %s\n",
		    pc_strerror(r));
		return 1;
	}
	return 0;
}

void
cli_stop(struct cli_ctx *c)
{
	signer_free(c->signer);
	c->signer = NULL;
	masterkey_free(c->mk);
	c->mk = NULL;
	db_close(c->db);
	c->db = NULL;
	if (c->have_cfg)
		config_free(&c->cfg);
	c->have_cfg = false;
}
