/*
 * The store the store-level unit tests run on: PORTCULLIS_TEST_STORE_URL
 * when set (a PostgreSQL URL from tests/tools/pg-cluster.sh, see
 * scripts/pg-unit.sh), else a fresh SQLite file in dir. A PostgreSQL
 * database is emptied first (its public schema dropped and made again), so
 * every test starts from nothing as it does on a new SQLite file.
 */
#ifndef PC_TEST_STORE_URL_H
#define PC_TEST_STORE_URL_H

#include <stdbool.h>
#include <stdlib.h>

#include "store/db.h"

static inline const char *
test_store_url(void)
{
	const char *u = getenv("PORTCULLIS_TEST_STORE_URL");

	return u != NULL ? u : "";
}

static inline bool
test_store_is_pg(void)
{
	return db_url_is_postgres(test_store_url());
}

static inline int
test_store_open(const char *dir, struct db **out)
{
	struct db_conn *c;
	int r;

	if ((r = db_open(test_store_url(), dir, out)) != 0)
		return r;
	if (!test_store_is_pg())
		return 0;
	if ((r = db_conn(*out, &c)) != 0 ||
	    (r = db_exec(c,
		 "DROP SCHEMA public CASCADE;"
		 "CREATE SCHEMA public")) != 0) {
		db_close(*out);
		*out = NULL;
	}
	return r;
}

#endif
