/*
 * The shared store fixture of the unit tests (store_fixture.h): one copy
 * of the open-migrate-tear-down code the store-level tests used to carry
 * each.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "store/store.h"
#include "store_fixture.h"

const char *
test_store_url(void)
{
	const char *u = getenv("PORTCULLIS_TEST_STORE_URL");

	return u != NULL ? u : "";
}

bool
test_store_is_pg(void)
{
	return db_url_is_postgres(test_store_url());
}

int
store_fixture_dir(char dir[STORE_FIXTURE_DIR_LEN])
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	n = snprintf(dir, STORE_FIXTURE_DIR_LEN, "%s/pc-test-XXXXXX", tmp);
	if (n < 0 || n >= STORE_FIXTURE_DIR_LEN)
		return -1;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

int
store_fixture_open(const char *dir, bool migrate, struct db **out)
{
	struct db_conn *c;
	char err[256] = "";
	int r, from, to;

	if ((r = db_open(test_store_url(), dir, out)) != 0)
		return r;
	if (test_store_is_pg() &&
	    ((r = db_conn(*out, &c)) != 0 ||
		(r = db_exec(c,
		     "DROP SCHEMA public CASCADE;"
		     "CREATE SCHEMA public")) != 0))
		goto fail;
	if (migrate &&
	    (r = store_migrate(*out, &from, &to, err, sizeof(err))) != 0) {
		fprintf(stderr, "store fixture: migrate: %s\n", err);
		goto fail;
	}
	fault_attach(*out, dir);
	return 0;
fail:
	db_close(*out);
	*out = NULL;
	return r;
}

int
store_fixture_new(
    char dir[STORE_FIXTURE_DIR_LEN], bool migrate, struct db **out)
{
	int r;

	*out = NULL;
	if (store_fixture_dir(dir) != 0)
		return PC_ERR_IO;
	if ((r = store_fixture_open(dir, migrate, out)) != 0)
		(void)store_fixture_close(dir, NULL);
	return r;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
store_fixture_close(const char *dir, struct db *db)
{
	if (db != NULL) {
		fault_detach(db);
		db_close(db);
	}
	if (dir == NULL || dir[0] == '\0')
		return 0;
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
