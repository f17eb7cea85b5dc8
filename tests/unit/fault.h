/*
 * Fault injection for the store-level unit tests (issue 12, item 2; the
 * idea of curl's torture tests). Test-only: linked into the unit test
 * binaries of the 'store' suite, never into the server.
 *
 * fault.c explains the design; scripts/torture.sh is the runner.
 */
#ifndef PC_TEST_FAULT_H
#define PC_TEST_FAULT_H

#include "store/db.h"

/*
 * Wraps db's backend when PC_FAULT_N is set (store_fixture_open() calls
 * it once the store is migrated). dir: the fixture's directory, removed
 * when a fault ends the process.
 */
void fault_attach(struct db *db, const char *dir);
/* The fixture closes db: forget it. */
void fault_detach(struct db *db);

/* The boundary of one public store call (the generated store_wraps.c). */
void fault_enter(const char *fn);
int fault_leave(int r, const char *fn);

#endif
