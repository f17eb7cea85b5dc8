/*
 * Fault injection under the store, for the store-level unit tests (issue
 * 12, item 2: curl's torture tests, applied to the store). Test-only code:
 * the unit test binaries of the 'store' suite link it (tests/unit/
 * meson.build); the server never does, and src/ has no test-only path.
 *
 * How it works:
 *
 * - fault_attach() (called by store_fixture_open() once the store is
 *   migrated) swaps the db's struct db_ops for a copy whose prepare, step,
 *   exec, begin and commit count each call and fail the Nth (PC_FAULT_N)
 *   with PC_ERR_STORE (PC_FAULT_MODE=error) or PC_ERR_BUSY (busy). Every
 *   statement begins with struct db_stmt_head, so the wrapped prepare
 *   repoints the statement's ops to the copy and its step is counted too.
 *   A failed commit rolls the transaction back first, as a real failed
 *   COMMIT does on both backends.
 * - Every public store function (store.h) is linked with -Wl,--wrap, and
 *   the generated store_wraps.c brackets each call with fault_enter() and
 *   fault_leave(). Only calls inside such a bracket count, so a test's own
 *   raw SQL (set-up rows, tampering, counting) is never failed, and a
 *   domain function (user_create...) is covered through the store calls it
 *   makes. Only while one thread is inside a store call, and has been
 *   alone since that call began: the concurrent phases of a test (group
 *   commit, racing writers) do not count, so "the call that hit the fault"
 *   is always well defined and no other thread's write is taken for its
 *   own. Once a fault fired, other threads wait at the boundary.
 * - Entering the outermost store call with a fault still to come, the
 *   committed rows of every table of every attached store are read through
 *   a separate native connection (sqlite3 or libpq). When that call returns
 *   after the fault fired, fault_leave() checks:
 *     1. it returned the injected error (never success, never a row code;
 *        a function listed in retries_busy may retry a busy one instead);
 *     2. the committed rows are exactly as before the call (no partial
 *        write);
 *     3. no connection was left inside a transaction (SQLite: the write
 *        lock is free and the caller's connection can BEGIN; PostgreSQL:
 *        no session of ours is idle in a transaction);
 *   then closes the stores, removes the fixture directories and exits: 0
 *   ("fault: survived") or 3 with the reason ("fault: FAILED"). At exit
 *   LeakSanitizer reports anything the error path leaked.
 * - A run in which the fault never fired prints "fault: not reached" and
 *   how many calls it counted (PC_FAULT_N=0 counts without failing). The
 *   runner (scripts/torture.sh) replays each test for N = 1, 2, ... until
 *   then. PC_FAULT_TEST names one cmocka test (a filter) to replay alone.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>

#include "fault.h"
#include "store_fixture.h"
#include "store/db_internal.h"
#include "store/store.h"

/* cmocka.h needs its own prelude; this is all we use of it. */
void cmocka_set_test_filter(const char *pattern);

#define MAX_DBS 8

/* Public store functions that retry a busy store themselves. */
static const char *const retries_busy[] = { "store_audit_append" };

struct attached {
	struct db *db;
	char *dir;
	bool pg;
	PGconn *pgc; /* snapshots and checks */
	char *before;
	bool open_before; /* the caller's own transaction was open */
};

static struct {
	bool on;     /* PC_FAULT_N was set */
	long target; /* the call to fail; 0: count only */
	int code;    /* PC_ERR_STORE or PC_ERR_BUSY */
	const char *mode;
	const char *broken;
	atomic_long count;
	atomic_int active;   /* threads inside a store call */
	atomic_long entries; /* outermost store calls begun, by any thread */
	atomic_bool fired;
	bool settling;	/* settle() runs: store calls pass through */
	const char *op; /* the failed call's kind */
	pthread_t fired_by;
	/* Every store a test opens is on the same backend (the fixture's):
	 * one copy of its ops, and the backend's own under it. */
	struct db_ops wrapped;
	const struct db_ops *inner;
	struct attached dbs[MAX_DBS];
	size_t ndbs;
} F;

static _Thread_local int depth;
static _Thread_local long my_entry; /* F.entries when this call began */
static _Thread_local bool alone;    /* no other thread inside at its start */
static _Thread_local const char *outer; /* the outermost store call */
/* What the current outer call did so far, for the trace's signatures. */
#define SEEN_MAX 64
struct seen_call {
	const char *op;
	const void *key;
	int times;
};
static _Thread_local struct seen_call seen[SEEN_MAX];
static _Thread_local int nseen;

/*
 * PC_FAULT_TRACE (with PC_FAULT_N=0): one line per counted call, "N SIG",
 * where SIG names the outer store function, the operation, the statement
 * and whether this call is the first, second or a later one of its kind in
 * that outer call. The runner's --unique replays only the first N of each
 * SIG: a loop's hundredth step tells nothing its second did not.
 */
static FILE *trace;

static void
trace_call(long n, const char *op, const void *key)
{
	int i;

	for (i = 0; i < nseen; i++)
		if (seen[i].op == op && seen[i].key == key)
			break;
	if (i == nseen && nseen < SEEN_MAX)
		seen[nseen++] = (struct seen_call){ op, key, 0 };
	if (i < SEEN_MAX)
		seen[i].times++;
	fprintf(trace, "%ld %s/%s/%p/%d\n", n, outer, op, key,
	    i < SEEN_MAX && seen[i].times < 3 ? seen[i].times : 3);
}

static bool
hit(const char *op, const void *key)
{
	long n;

	/* Alone, and alone since this call began (its snapshot): no other
	 * thread's write can be mistaken for this call's. */
	if (!F.on || depth == 0 || !alone || atomic_load(&F.active) != 1 ||
	    atomic_load(&F.entries) != my_entry || atomic_load(&F.fired))
		return false;
	n = atomic_fetch_add(&F.count, 1) + 1;
	if (trace != NULL)
		trace_call(n, op, key);
	if (n != F.target)
		return false;
	F.op = op;
	F.fired_by = pthread_self();
	atomic_store(&F.fired, true);
	return true;
}

/* The backend under the copy (a test may copy the ops it finds again). */
static const struct db_ops *
inner_of(const struct db_ops *ops)
{
	(void)ops;
	return F.inner;
}

#define STMT_OPS(s) (((struct db_stmt_head *)(void *)(s))->ops)

static int
w_exec(struct db_conn *c, const char *sql)
{
	if (hit("exec", sql))
		return F.code;
	return inner_of(c->db->ops)->exec(c, sql);
}

/*
 * store_migrate applies each migration in a transaction of its own, by
 * design: after a fault the migrations before the failing one stay. What
 * must hold is that the failing one left no trace, so for it the rows and
 * schema are compared with their state when its transaction began.
 */
static void snapshot_all(bool at_call);

static void
migrate_snapshot(void)
{
	if (F.target > 0 && depth > 0 && alone && !atomic_load(&F.fired) &&
	    outer != NULL && strcmp(outer, "store_migrate") == 0)
		snapshot_all(false);
}

static int
w_begin(struct db_conn *c, bool write)
{
	migrate_snapshot();
	if (hit("begin", NULL))
		return F.code;
	return inner_of(c->db->ops)->begin(c, write);
}

/* Every write transaction begins here (store_tx() included), so the
 * migration snapshot is taken here as in w_begin(). */
static int
w_begin_write(struct db_conn *c, enum db_write mode)
{
	const struct db_ops *in = inner_of(c->db->ops);

	migrate_snapshot();
	if (hit("begin", NULL))
		return F.code;
	return in->begin_write != NULL ? in->begin_write(c, mode)
				       : in->begin(c, true);
}

static int
w_commit(struct db_conn *c)
{
	const struct db_ops *in = inner_of(c->db->ops);

	if (hit("commit", NULL)) {
		/* What a failed COMMIT does, unless the checker is being
		 * checked (PC_FAULT_BROKEN, see fault_init()). */
		if (F.broken == NULL)
			in->rollback(c);
		else if (strcmp(F.broken, "commit") == 0)
			(void)in->commit(c);
		return F.code;
	}
	return in->commit(c);
}

/*
 * A write statement (INSERT, UPDATE, DELETE, with or without RETURNING)
 * does all its work in its first step on both backends; its later steps
 * only hand out the RETURNING rows already made, and cannot fail short of
 * the autocommit COMMIT at the end, which would undo the statement. So
 * only a write's first step is failed (failing a later one and then
 * letting the reset commit would fake a partial write no store can make);
 * a read's every step can fail (SQLite reads pages as it goes).
 */
#define STMTS_MAX 512
static _Thread_local struct stmt_state {
	const void *s;
	bool write, stepped;
} stmts[STMTS_MAX];
static _Thread_local int nstmts;

static struct stmt_state *
stmt_state(const void *s)
{
	for (int i = 0; i < nstmts; i++)
		if (stmts[i].s == s)
			return &stmts[i];
	if (nstmts == STMTS_MAX)
		return NULL;
	stmts[nstmts] = (struct stmt_state){ .s = s };
	return &stmts[nstmts++];
}

static bool
is_write(const char *sql)
{
	sql += strspn(sql, " \t\n");
	return strncasecmp(sql, "SELECT", 6) != 0 &&
	    strncasecmp(sql, "WITH", 4) != 0;
}

static int
w_prepare(struct db_conn *c, const char *sql, struct db_stmt **out)
{
	struct stmt_state *st;
	int r;

	if (hit("prepare", sql))
		return F.code;
	if ((r = inner_of(c->db->ops)->prepare(c, sql, out)) == 0) {
		STMT_OPS(*out) = &F.wrapped;
		if ((st = stmt_state(*out)) != NULL) {
			st->write = is_write(sql);
			st->stepped = false;
		}
	}
	return r;
}

static int
w_step(struct db_stmt *s)
{
	struct stmt_state *st = stmt_state(s);
	bool later = st != NULL && st->stepped;

	if (st != NULL)
		st->stepped = true;
	if (!(later && st->write) && hit("step", s))
		return F.code;
	return inner_of(STMT_OPS(s))->step(s);
}

static int
w_bind_text(struct db_stmt *s, int idx, const char *v, size_t len)
{
	return inner_of(STMT_OPS(s))->bind_text(s, idx, v, len);
}

static int
w_bind_int64(struct db_stmt *s, int idx, int64_t v)
{
	return inner_of(STMT_OPS(s))->bind_int64(s, idx, v);
}

static int
w_bind_null(struct db_stmt *s, int idx)
{
	return inner_of(STMT_OPS(s))->bind_null(s, idx);
}

static const char *
w_col_text(struct db_stmt *s, int col, size_t *len)
{
	return inner_of(STMT_OPS(s))->col_text(s, col, len);
}

static int64_t
w_col_int64(struct db_stmt *s, int col)
{
	return inner_of(STMT_OPS(s))->col_int64(s, col);
}

static bool
w_col_is_null(struct db_stmt *s, int col)
{
	return inner_of(STMT_OPS(s))->col_is_null(s, col);
}

static void
w_done(struct db_stmt *s)
{
	struct stmt_state *st = stmt_state(s);

	if (st != NULL)
		st->stepped = false;
	inner_of(STMT_OPS(s))->done(s);
}

static const struct db_ops *
wrap_ops(const struct db_ops *in)
{
	struct db_ops *w = &F.wrapped;

	if (in == w)
		return w;
	if (F.inner != NULL && F.inner != in) {
		fprintf(stderr, "fault: two backends in one test\n");
		abort();
	}
	F.inner = in;
	*w = *in; /* name, group_commit, open/close... as they are */
	w->exec = w_exec;
	w->begin = w_begin;
	w->begin_write = w_begin_write;
	w->commit = w_commit;
	w->prepare = w_prepare;
	w->step = w_step;
	w->bind_text = w_bind_text;
	w->bind_int64 = w_bind_int64;
	w->bind_null = w_bind_null;
	w->col_text = w_col_text;
	w->col_int64 = w_col_int64;
	w->col_is_null = w_col_is_null;
	w->done = w_done;
	return w;
}

/* ---- snapshots: every table's committed rows, as one string ---- */

struct strv {
	char **v;
	size_t n, cap;
};

static void
strv_push(struct strv *s, char *str)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (s->v == NULL)
			abort();
	}
	s->v[s->n++] = str;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends "table\n" and its rows, sorted (row order is not state). */
static void
emit_table(FILE *out, const char *table, struct strv *rows)
{
	if (rows->n > 1)
		qsort(rows->v, rows->n, sizeof(*rows->v), cmp_str);
	fprintf(out, "[%s]\n", table);
	for (size_t i = 0; i < rows->n; i++) {
		fprintf(out, "%s\n", rows->v[i]);
		free(rows->v[i]);
	}
	free(rows->v);
	*rows = (struct strv){ 0 };
}

static char *
snap_sqlite(struct attached *a)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *t = NULL, *s = NULL;
	char *p = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&p, &len);

	if (out == NULL ||
	    sqlite3_open_v2(a->db->target, &h, SQLITE_OPEN_READONLY, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(h,
		"SELECT name FROM sqlite_master WHERE type = 'table'"
		" ORDER BY name",
		-1, &t, NULL) != SQLITE_OK) {
		fprintf(stderr, "fault: snapshot: %s\n", sqlite3_errmsg(h));
		abort();
	}
	/* The schema too: a migration's trace may be an index. */
	if (sqlite3_prepare_v2(h,
		"SELECT type, name, tbl_name FROM sqlite_master ORDER BY 2", -1,
		&s, NULL) != SQLITE_OK)
		abort();
	fprintf(out, "[schema]\n");
	while (sqlite3_step(s) == SQLITE_ROW)
		fprintf(out, "%s %s %s\n", sqlite3_column_text(s, 0),
		    sqlite3_column_text(s, 1), sqlite3_column_text(s, 2));
	sqlite3_finalize(s);
	while (sqlite3_step(t) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(t, 0);
		char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", name);
		struct strv rows = { 0 };

		if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
			abort();
		sqlite3_free(sql);
		while (sqlite3_step(s) == SQLITE_ROW) {
			char *rp = NULL;
			size_t rlen = 0;
			FILE *row = open_memstream(&rp, &rlen);

			if (row == NULL)
				abort();
			for (int i = 0; i < sqlite3_column_count(s); i++) {
				const char *v =
				    (const char *)sqlite3_column_text(s, i);

				fprintf(row, "%s%c%s", i ? "\x1f" : "",
				    "?IRTBN"[sqlite3_column_type(s, i)],
				    v != NULL ? v : "");
			}
			fclose(row);
			strv_push(&rows, rp);
		}
		sqlite3_finalize(s);
		emit_table(out, name, &rows);
	}
	sqlite3_finalize(t);
	sqlite3_close(h);
	fclose(out);
	return p;
}

static PGresult *
pg_q(struct attached *a, const char *sql)
{
	PGresult *res = PQexec(a->pgc, sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "fault: snapshot: %s", PQerrorMessage(a->pgc));
		abort();
	}
	return res;
}

static char *
snap_pg(struct attached *a)
{
	char *p = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&p, &len);
	PGresult *t;

	if (out == NULL)
		abort();
	if (a->pgc == NULL) {
		a->pgc = PQconnectdb(a->db->target);
		if (PQstatus(a->pgc) != CONNECTION_OK) {
			fprintf(stderr, "fault: snapshot: %s",
			    PQerrorMessage(a->pgc));
			abort();
		}
	}
	/* The schema too: a migration's trace may be an index. */
	t = pg_q(a,
	    "SELECT relkind, relname FROM pg_class"
	    " WHERE relnamespace = 'public'::regnamespace ORDER BY 2, 1");
	fprintf(out, "[schema]\n");
	for (int i = 0; i < PQntuples(t); i++)
		fprintf(
		    out, "%s %s\n", PQgetvalue(t, i, 0), PQgetvalue(t, i, 1));
	PQclear(t);
	t = pg_q(a,
	    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
	    " ORDER BY 1");
	for (int i = 0; i < PQntuples(t); i++) {
		const char *name = PQgetvalue(t, i, 0);
		char sql[256];
		struct strv rows = { 0 };
		PGresult *s;

		snprintf(sql, sizeof(sql), "SELECT * FROM public.\"%s\"", name);
		s = pg_q(a, sql);
		for (int r = 0; r < PQntuples(s); r++) {
			char *rp = NULL;
			size_t rlen = 0;
			FILE *row = open_memstream(&rp, &rlen);

			if (row == NULL)
				abort();
			for (int k = 0; k < PQnfields(s); k++)
				fprintf(row, "%s%s", k ? "\x1f" : "",
				    PQgetisnull(s, r, k) ? "\x01NULL"
							 : PQgetvalue(s, r, k));
			fclose(row);
			strv_push(&rows, rp);
		}
		PQclear(s);
		emit_table(out, name, &rows);
	}
	PQclear(t);
	fclose(out);
	return p;
}

static char *
snapshot(struct attached *a)
{
	return a->pg ? snap_pg(a) : snap_sqlite(a);
}

/* ---- after the fault: the checks, then a clean end ---- */

static void
first_difference(const char *a, const char *b)
{
	size_t i = 0, line = 0;

	while (a[i] != '\0' && a[i] == b[i])
		i++;
	while (line < i && a[i - line - 1] != '\n')
		line++;
	fprintf(stderr, "fault:   before: %.*s\n",
	    (int)strcspn(a + i - line, "\n"), a + i - line);
	fprintf(stderr, "fault:   after:  %.*s\n",
	    (int)strcspn(b + i - line, "\n"), b + i - line);
}

/* A transaction left open: by the caller's connection or any other. */
static const char *
open_transaction(struct attached *a)
{
	if (a->pg) {
		PGresult *r = pg_q(a,
		    "SELECT count(*) FROM pg_stat_activity"
		    " WHERE datname = current_database()"
		    " AND pid <> pg_backend_pid()"
		    " AND state LIKE 'idle in transaction%'");
		bool open = strcmp(PQgetvalue(r, 0, 0), "0") != 0;

		PQclear(r);
		return open ? "a connection was left idle in a transaction"
			    : NULL;
	} else {
		sqlite3 *h = NULL;
		struct db_conn *c;
		const struct db_ops *in = inner_of(a->db->ops);
		int rc;

		if (sqlite3_open_v2(a->db->target, &h, SQLITE_OPEN_READWRITE,
			NULL) != SQLITE_OK)
			abort();
		rc = sqlite3_exec(
		    h, "BEGIN IMMEDIATE; ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(h);
		if (rc != SQLITE_OK)
			return "the write lock is still held (a write "
			       "transaction was left open)";
		if (db_conn(a->db, &c) != 0)
			return "the caller's connection cannot be had";
		if (in->begin(c, false) != 0)
			return "the caller's connection was left inside a "
			       "transaction";
		in->rollback(c);
		return NULL;
	}
}

static void
release_all(void)
{
	for (size_t i = 0; i < F.ndbs; i++) {
		struct attached *a = &F.dbs[i];

		if (a->pgc != NULL)
			PQfinish(a->pgc);
		db_close(a->db);
		if (a->dir != NULL)
			(void)store_fixture_close(a->dir, NULL);
		free(a->dir);
		free(a->before);
	}
	F.ndbs = 0;
}

static bool
may_retry(const char *fn)
{
	for (size_t i = 0; i < PC_NELEM(retries_busy); i++)
		if (strcmp(retries_busy[i], fn) == 0)
			return true;
	return false;
}

static void
settle(int r, const char *fn)
{
	bool bad = false, retried = false;
	const char *why;

	fprintf(stderr, "fault: N=%ld mode=%s op=%s in %s returned %d\n",
	    F.target, F.mode, F.op, fn, r);
	if (r != F.code) {
		if (r == 0 && F.code == PC_ERR_BUSY && may_retry(fn)) {
			retried = true;
		} else {
			fprintf(stderr,
			    "fault: FAILED: %s returned %d, not the injected "
			    "%d\n",
			    fn, r, F.code);
			bad = true;
		}
	}
	F.settling = true; /* the store calls below are the checker's own */
	for (size_t i = 0; i < F.ndbs && !retried; i++) {
		struct attached *a = &F.dbs[i];
		char *after;

		if (a->before == NULL)
			continue;
		after = snapshot(a);
		if (strcmp(a->before, after) != 0) {
			fprintf(stderr,
			    "fault: FAILED: %s failed but changed the "
			    "committed rows (a partial write)\n",
			    fn);
			first_difference(a->before, after);
			bad = true;
		}
		free(after);
	}
	for (size_t i = 0; i < F.ndbs; i++) {
		/* A transaction the caller opened around the call is its own. */
		if (!F.dbs[i].open_before &&
		    (why = open_transaction(&F.dbs[i])) != NULL) {
			fprintf(
			    stderr, "fault: FAILED: after %s: %s\n", fn, why);
			bad = true;
		}
	}
	release_all();
	fprintf(stderr, "fault: %s\n",
	    bad		  ? "FAILED"
		: retried ? "survived (retried)"
			  : "survived");
	fflush(NULL);
	exit(bad ? 3 : 0);
}

static const char *open_transaction(struct attached *a);

/* at_call: at the start of the outer call (not of a migration's own). */
static void
snapshot_all(bool at_call)
{
	for (size_t i = 0; i < F.ndbs; i++) {
		free(F.dbs[i].before);
		F.dbs[i].before = snapshot(&F.dbs[i]);
		if (at_call)
			F.dbs[i].open_before =
			    open_transaction(&F.dbs[i]) != NULL;
	}
}

void
fault_enter(const char *fn)
{
	if (!F.on || F.settling || depth++ != 0)
		return;
	/* Once a fault fired, other threads wait at the boundary until its
	 * call settles (and ends the process): nothing they write can blur
	 * the check of its rows. They hold no store lock here. */
	while (
	    atomic_load(&F.fired) && !pthread_equal(F.fired_by, pthread_self()))
		pause();
	my_entry = atomic_fetch_add(&F.entries, 1) + 1;
	outer = fn;
	nseen = 0;
	alone = atomic_fetch_add(&F.active, 1) == 0;
	if (!alone || F.target == 0 || atomic_load(&F.fired))
		return;
	snapshot_all(true);
}

int
fault_leave(int r, const char *fn)
{
	if (!F.on || F.settling || --depth != 0)
		return r;
	atomic_fetch_sub(&F.active, 1);
	if (atomic_load(&F.fired) && pthread_equal(F.fired_by, pthread_self()))
		settle(r, fn); /* does not return */
	return r;
}

void
fault_attach(struct db *db, const char *dir)
{
	struct attached *a;

	if (!F.on)
		return;
	if (F.ndbs == MAX_DBS)
		abort();
	a = &F.dbs[F.ndbs++];
	*a = (struct attached){ .db = db, .dir = dir ? strdup(dir) : NULL };
	a->pg = db_url_is_postgres(db->target);
	db->ops = wrap_ops(db->ops);
}

void
fault_detach(struct db *db)
{
	for (size_t i = 0; i < F.ndbs; i++) {
		if (F.dbs[i].db != db)
			continue;
		if (F.dbs[i].pgc != NULL)
			PQfinish(F.dbs[i].pgc);
		free(F.dbs[i].dir);
		free(F.dbs[i].before);
		F.dbs[i] = F.dbs[--F.ndbs];
		return;
	}
}

static void
at_exit(void)
{
	if (trace != NULL)
		fclose(trace);
	if (F.on && !atomic_load(&F.fired))
		fprintf(stderr, "fault: not reached (%ld calls counted)\n",
		    atomic_load(&F.count));
}

__attribute__((constructor)) static void
fault_init(void)
{
	const char *n = getenv("PC_FAULT_N"), *m = getenv("PC_FAULT_MODE");
	const char *t = getenv("PC_FAULT_TEST");
	const char *tr = getenv("PC_FAULT_TRACE");

	if (t != NULL && t[0] != '\0')
		cmocka_set_test_filter(t);
	if (n == NULL || n[0] == '\0')
		return;
	F.on = true;
	F.target = strtol(n, NULL, 10);
	F.mode = m != NULL && strcmp(m, "busy") == 0 ? "busy" : "error";
	F.code = strcmp(F.mode, "busy") == 0 ? PC_ERR_BUSY : PC_ERR_STORE;
	/*
	 * To see the checks fail (they must): PC_FAULT_BROKEN=commit makes an
	 * injected commit failure commit anyway (a write reported as failed:
	 * "partial write"); =open leaves its transaction open.
	 */
	F.broken = getenv("PC_FAULT_BROKEN");
	if (F.target == 0 && tr != NULL && tr[0] != '\0' &&
	    (trace = fopen(tr, "w")) == NULL) {
		perror(tr);
		exit(2);
	}
	atexit(at_exit);
}
