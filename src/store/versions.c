/*
 * The cache versions (migration 0019; decision 0049): two rows every grant
 * reads in one statement, so the per-node client cache and the TK-08 fast
 * path (src/oauth/client_cache.c, src/auth/throttle.c) see every change
 * made by any node or by the CLI at the next request.
 *
 * 'clients' goes up in the transaction of every client write
 * (store_versions_clients_tx, called by src/store/clients.c);
 * 'client_auth_failure_window' is raised to the window of every counted
 * client-auth failure (store_versions_failure_tx, src/store/throttle.c).
 *
 * On SQLite the read is gated by PRAGMA data_version on the calling
 * thread's connection: while it has not moved, no other connection (in
 * this process or another) committed anything, so the rows are the ones
 * this thread read last. A write on this very connection does not move
 * it, so every bump also moves a process-wide generation first, and the
 * gate holds only while that is unchanged too. On PostgreSQL the rows are
 * read every time (there is no such gate across nodes).
 */
#include <stdatomic.h>
#include <string.h>

#include "store/db_internal.h"
#include "store/q.h"
#include "store/store.h"
#include "store/store_internal.h"

#define ROW_CLIENTS "clients"
#define ROW_FAILURE_WINDOW "client_auth_failure_window"

/* Moved (before the commit) by every bump this process makes. */
static atomic_uint_fast64_t generation = 1;

/* What this thread read last, and under which gate. */
static _Thread_local struct {
	uint64_t owner;
	const struct db_conn *conn;
	int64_t data_version;
	uint_fast64_t generation;
	struct store_versions v;
} seen;

static void
local_write(void)
{
	atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
}

int
store_versions_clients_tx(struct db_conn *c)
{
	local_write();
	return q_one(c,
	    "UPDATE cache_versions SET value = value + 1"
	    " WHERE name = '" ROW_CLIENTS "' RETURNING value",
	    Q_NOARGS, Q_NOCOLS);
}

int
store_versions_failure_tx(struct db_conn *c, int64_t window_start)
{
	int r;

	local_write();
	/* Only the first failure of a window writes (no hot row under an
	 * attack); the value never moves back. */
	r = q_one(c,
	    "UPDATE cache_versions SET value = ?"
	    " WHERE name = '" ROW_FAILURE_WINDOW "' AND value < ?"
	    " RETURNING value",
	    Q_ARGS(QA_INT(window_start), QA_INT(window_start)), Q_NOCOLS);
	return r == PC_ERR_NOT_FOUND ? 0 : r;
}

struct read_arg {
	struct store_versions *v;
	unsigned seen; /* bit 0: clients, bit 1: failure window */
};

static int
version_row(struct db_stmt *s, void *arg)
{
	struct read_arg *a = arg;
	char name[32];
	int64_t value = 0;

	q_read(s, Q_COLS(QC_FIXED(name), QC_INT(&value)));
	if (strcmp(name, ROW_CLIENTS) == 0) {
		a->v->clients = value;
		a->seen |= 1;
	} else if (strcmp(name, ROW_FAILURE_WINDOW) == 0) {
		a->v->failure_window = value;
		a->seen |= 2;
	}
	return 0;
}

static int
read_rows(struct db *db, struct store_versions *out)
{
	struct read_arg a = { out, 0 };
	int r;

	r = store_all(db, "SELECT name, value FROM cache_versions", Q_NOARGS,
	    version_row, &a);
	if (r == 0 && a.seen != 3)
		r = PC_ERR_STORE; /* a row is missing: trust nothing */
	return r;
}

int
store_versions_read(struct db *db, uint64_t owner, struct store_versions *out)
{
	struct db_conn *c;
	uint_fast64_t gen;
	int64_t dv = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (owner == 0 || db->ops != &db_sqlite_ops)
		return read_rows(db, out);
	if ((r = db_conn(db, &c)) != 0)
		return r;
	/* The gates first, then the rows: a commit in between moves a gate
	 * for the next call, never hides behind an unmoved one. */
	gen = atomic_load_explicit(&generation, memory_order_acquire);
	if ((r = q_one(c, "PRAGMA data_version", Q_NOARGS,
		 Q_COLS(QC_INT(&dv)))) != 0) {
		seen.owner = 0;
		return r == PC_ERR_NOT_FOUND ? PC_ERR_STORE : r;
	}
	if (seen.owner == owner && seen.conn == c && seen.data_version == dv &&
	    seen.generation == gen) {
		*out = seen.v;
		return 0;
	}
	seen.owner = 0;
	if ((r = read_rows(db, out)) != 0)
		return r;
	seen.owner = owner;
	seen.conn = c;
	seen.data_version = dv;
	seen.generation = gen;
	seen.v = *out;
	return 0;
}
