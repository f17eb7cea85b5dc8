#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

void
cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("portcullis: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n%s", usage);
}

int
cli_parse(int argc, char **argv, const struct option *opts, struct cli_flags *f,
    const char *usage)
{
	int c;

	memset(f, 0, sizeof(*f));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		switch (c) {
		case CLI_OPT_CONFIG: f->config = optarg; break;
		case CLI_OPT_DATA_DIR: f->data_dir = optarg; break;
		case CLI_OPT_STORE_URL: f->store_url = optarg; break;
		case CLI_OPT_ISSUER: f->issuer = optarg; break;
		case CLI_OPT_LISTEN: f->listen = optarg; break;
		case CLI_OPT_MODE: f->mode = optarg; break;
		case CLI_OPT_ALG: f->alg = optarg; break;
		case CLI_OPT_JSON: f->json = true; break;
		case CLI_OPT_HELP: f->help = true; break;
		case ':':
			cli_usage_error(
			    usage, "option %s needs a value", argv[optind - 1]);
			return 2;
		default:
			cli_usage_error(
			    usage, "unknown option '%s'", argv[optind - 1]);
			return 2;
		}
	}
	if (f->help) {
		fputs(usage, stdout);
		return 1;
	}
	if (optind < argc) {
		cli_usage_error(
		    usage, "unexpected argument '%s'", argv[optind]);
		return 2;
	}
	return 0;
}

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
cli_config(const struct cli_flags *f, struct config *cfg)
{
	const char *file =
	    f->config != NULL ? f->config : getenv("PORTCULLIS_CONFIG");
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
	if (flag(cfg, "data_dir", f->data_dir) != 0 ||
	    flag(cfg, "store_url", f->store_url) != 0 ||
	    flag(cfg, "issuer", f->issuer) != 0 ||
	    flag(cfg, "listen", f->listen) != 0 ||
	    flag(cfg, "mode", f->mode) != 0)
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

/*
 * A store whose schema is newer than this binary is used as it is:
 * migrations are additive, so what this binary reads and writes is still
 * there (docs/operations.md, "Upgrades"). An older one is migrated, or,
 * with migrate_on_start = false, refused: then only `portcullis migrate`
 * changes the schema.
 */
int
cli_open_store(const struct config *cfg, bool migrate, struct db **out)
{
	char err[1024];
	int from = 0, to = 0, latest = store_schema_latest(), r;

	*out = NULL;
	if (cli_data_dir(cfg) != 0)
		return PC_ERR_IO;
	if ((r = db_open(cfg->store_url, cfg->data_dir, out)) != 0) {
		fprintf(stderr, "portcullis: cannot open the store: %s\n",
		    pc_strerror(r));
		return r;
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
cli_open_masterkey(const struct config *cfg, struct masterkey **out)
{
	enum masterkey_source src;
	char err[1024];
	int r;

	r = masterkey_load(cfg, cfg->mode == CONFIG_MODE_DEVELOPMENT, out, &src,
	    err, sizeof(err));
	if (r != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		return r;
	}
	if (src == MASTERKEY_CREATED) {
		char path[4096];

		masterkey_path(cfg, path, sizeof(path));
		log_msg(LOG_WARN, "masterkey.created", path);
	}
	return 0;
}
