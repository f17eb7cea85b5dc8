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
    "leaves the store\nat the previous version. serve also migrates at "
    "start-up.\n";

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
	int r, before = 0, after = 0;

	if ((r = cli_parse(argc, argv, opts, &f, usage)) != 0)
		return r == 1 ? 0 : r;
	if (cli_config(&f, &cfg) != 0)
		return 1;
	if (cli_open_store(&cfg, false, &db) != 0 ||
	    store_schema_version(db, &before) != 0) {
		db_close(db);
		config_free(&cfg);
		return 1;
	}
	db_close(db);
	db = NULL;
	if (cli_open_store(&cfg, true, &db) != 0 ||
	    store_schema_version(db, &after) != 0) {
		db_close(db);
		config_free(&cfg);
		return 1;
	}
	if (before == after)
		printf("store %s is up to date at schema version %d\n",
		    db_describe(db), after);
	else
		printf("store %s migrated from schema version %d to %d\n",
		    db_describe(db), before, after);
	db_close(db);
	config_free(&cfg);
	return 0;
}
