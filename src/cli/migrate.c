#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"
#include "util/log.h"

static const char usage[] =
    "usage: portcullis migrate [--config FILE] [--data-dir DIR] "
    "[--store-url URL]\n"
    "\n"
    "Applies pending store migrations, each in its own transaction, and "
    "prints\nthe schema version. A failed migration is rolled back and "
    "leaves the store\nat the previous version. Safe while other nodes "
    "serve, and when several\nnodes migrate at once: each migration is "
    "applied once. A store that a newer\nrelease migrated is left "
    "alone. serve and the other commands also migrate\nwhen they open "
    "the store, unless migrate_on_start = false.\n";

static const struct option opts[] = {
	CLI_COMMON_OPTS,
	{ NULL, 0, NULL, 0 },
};

int
cmd_migrate(int argc, char **argv)
{
	struct config cfg;
	struct cli_flags f;
	struct db *db = NULL;
	char err[1024];
	int r, rc = 1, before = 0, after = 0, latest = store_schema_latest();

	if ((r = cli_parse(argc, argv, opts, &f, usage)) != 0)
		return r == 1 ? 0 : r;
	if (cli_config(&f, &cfg) != 0)
		return 1;
	if (cli_create_store(&cfg, false, &db) != 0)
		goto out;
	if (store_migrate(db, &before, &after, err, sizeof(err)) != 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		log_msg(LOG_ERROR, "store.migrate_failed", err);
		goto out;
	}
	if (after > latest)
		printf("store %s is at schema version %d, newer than this "
		       "binary knows (%d): left unchanged\n",
		    db_describe(db), after, latest);
	else if (before == after)
		printf("store %s is up to date at schema version %d\n",
		    db_describe(db), after);
	else
		printf("store %s migrated from schema version %d to %d\n",
		    db_describe(db), before, after);
	rc = 0;
out:
	db_close(db);
	config_free(&cfg);
	return rc;
}
