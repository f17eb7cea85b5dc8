/*
 * portcullis migrate: applies pending store migrations and says where the
 * schema stands. The one command besides serve that creates a store.
 */
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

static int
run(struct cli_ctx *c)
{
	struct db *db = NULL;
	char err[1024];
	int rc = 1, before = 0, after = 0, latest = store_schema_latest();

	if (cli_create_store(&c->cfg, false, &db) != 0)
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
	return rc;
}

static const struct cli_opt no_opts[] = { { .name = NULL } };

static const struct cli_sub subs[] = {
	{ .name = NULL, .opts = no_opts, .run = run },
};

static const struct cli_cmd cmd = { "migrate", usage, subs, PC_NELEM(subs) };

int
cmd_migrate(int argc, char **argv)
{
	return cli_main(&cmd, argc, argv);
}
