/*
 * The store fixture every store-level unit test shares: a fresh store in
 * a temporary directory, migrated or empty, and its tear-down.
 *
 * The store is PORTCULLIS_TEST_STORE_URL when set (a PostgreSQL URL from
 * tests/tools/pg-cluster.sh, see scripts/pg-unit.sh), else a new SQLite
 * file in the directory. A PostgreSQL database is emptied first (its
 * public schema dropped and made again), so every test starts from nothing
 * as it does on a new SQLite file. Under scripts/torture.sh (PC_FAULT_N
 * set) the store opened here is wrapped for fault injection (fault.c).
 */
#ifndef PC_TEST_STORE_FIXTURE_H
#define PC_TEST_STORE_FIXTURE_H

#include <stdbool.h>

#include "store/db.h"

#define STORE_FIXTURE_DIR_LEN 64

/* PORTCULLIS_TEST_STORE_URL, or "" (SQLite in the fixture's directory). */
const char *test_store_url(void);
bool test_store_is_pg(void);

/* Makes a new directory $TMPDIR/pc-test-XXXXXX (TMPDIR: /tmp when unset)
 * into dir. 0 or -1. */
int store_fixture_dir(char dir[STORE_FIXTURE_DIR_LEN]);
/*
 * Opens the test store in dir (made by store_fixture_dir()), emptied, and
 * applies every migration when migrate is true. 0 or a PC_ERR_*; on error
 * *out is NULL.
 */
int store_fixture_open(const char *dir, bool migrate, struct db **out);
/* store_fixture_dir() then store_fixture_open(). */
int store_fixture_new(
    char dir[STORE_FIXTURE_DIR_LEN], bool migrate, struct db **out);
/*
 * Closes db (may be NULL) and removes dir with everything in it. 0, or -1
 * when the directory could not be removed.
 */
int store_fixture_close(const char *dir, struct db *db);

#endif
