/*
 * The SQLite backend: one connection per thread (SQLITE_OPEN_NOMUTEX),
 * WAL, busy_timeout, foreign keys on, synchronous=FULL so a response is
 * never sent before its write is durable. Reads use pread(), never a
 * memory map (mmap_size=0 even where SQLite was built with another
 * default): in WAL mode every read transaction after a write unmaps and
 * maps again, which costs more than the reads (docs/decisions/0048).
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/db_internal.h"
#include "util/log.h"

#define BUSY_TIMEOUT_MS 5000

struct sq_stmt {
	struct db_stmt_head head;
	sqlite3_stmt *st;
	const char *sql; /* cache key: address of the literal */
	struct sq_conn *conn;
};

struct sq_conn {
	struct db_conn base;
	sqlite3 *h;
	struct sq_stmt cache[DB_STMT_CACHE];
	unsigned ncache;
	struct db_stmt_index index;
};

static int
map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return PC_ERR_BUSY;
	case SQLITE_CONSTRAINT: return PC_ERR_CONFLICT;
	case SQLITE_TOOBIG: return PC_ERR_TOO_LARGE;
	case SQLITE_NOMEM: fatal("sqlite: out of memory");
	default: return PC_ERR_STORE;
	}
}

static int
sq_open(struct db *db, const char *target)
{
	if (sqlite3_libversion_number() < 3035000) {
		log_msg(LOG_ERROR, "store.open", "SQLite >= 3.35 is required");
		return PC_ERR_STORE;
	}
	if (!sqlite3_threadsafe()) {
		log_msg(LOG_ERROR, "store.open", "SQLite is not thread-safe");
		return PC_ERR_STORE;
	}
	(void)target;
	db->backend = db; /* nothing shared beyond the path */
	return 0;
}

static void
sq_close(struct db *db)
{
	db->backend = NULL;
}

static void
log_sqlite(const char *event, sqlite3 *h, const char *what)
{
	struct log_line l;

	log_begin(&l, LOG_ERROR, event);
	log_str(&l, "what", what);
	if (h != NULL)
		log_str(&l, "error", sqlite3_errmsg(h));
	log_end(&l);
}

static int
sq_conn_open(struct db *db, struct db_conn **out)
{
	static const char pragmas[] = "PRAGMA journal_mode=WAL;"
				      "PRAGMA synchronous=FULL;"
				      "PRAGMA foreign_keys=ON;"
				      "PRAGMA secure_delete=ON;"
				      "PRAGMA trusted_schema=OFF;"
				      "PRAGMA mmap_size=0;";
	struct sq_conn *c;
	int rc;

	c = xcalloc(1, sizeof(*c));
	rc = sqlite3_open_v2(db->target, &c->h,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
		SQLITE_OPEN_EXRESCODE,
	    NULL);
	if (rc != SQLITE_OK) {
		log_sqlite("store.open", c->h, db->target);
		sqlite3_close_v2(c->h);
		free(c);
		return PC_ERR_STORE;
	}
	sqlite3_busy_timeout(c->h, BUSY_TIMEOUT_MS);
	sqlite3_db_config(c->h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (sqlite3_exec(c->h, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		log_sqlite("store.open", c->h, "pragmas");
		sqlite3_close_v2(c->h);
		free(c);
		return PC_ERR_STORE;
	}
	*out = &c->base;
	return 0;
}

static void
sq_conn_close(struct db_conn *base)
{
	struct sq_conn *c = (struct sq_conn *)base;

	for (unsigned i = 0; i < c->ncache; i++)
		sqlite3_finalize(c->cache[i].st);
	sqlite3_close_v2(c->h);
	free(c);
}

static const char *
sq_errmsg(struct db_conn *base)
{
	return sqlite3_errmsg(((struct sq_conn *)base)->h);
}

static int
sq_exec(struct db_conn *base, const char *sql)
{
	struct sq_conn *c = (struct sq_conn *)base;

	return map_rc(sqlite3_exec(c->h, sql, NULL, NULL, NULL));
}

static int
sq_prepare(struct db_conn *base, const char *sql, struct db_stmt **out)
{
	struct sq_conn *c = (struct sq_conn *)base;
	struct sq_stmt *s = NULL;
	int rc, i = db_stmt_find(&c->index, sql);

	if (i >= 0) {
		*out = (struct db_stmt *)(void *)&c->cache[i];
		return 0;
	}
	/* Statements are string literals, so the set is finite. */
	if (c->ncache == DB_STMT_CACHE)
		fatal("store: more than %d distinct statements", DB_STMT_CACHE);
	s = &c->cache[c->ncache];
	memset(s, 0, sizeof(*s));
	rc = sqlite3_prepare_v3(
	    c->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL);
	if (rc != SQLITE_OK) {
		log_sqlite("store.prepare", c->h, sql);
		return map_rc(rc) == 0 ? PC_ERR_STORE : map_rc(rc);
	}
	s->head.ops = &db_sqlite_ops;
	s->sql = sql;
	s->conn = c;
	db_stmt_add(&c->index, sql, c->ncache++);
	*out = (struct db_stmt *)(void *)s;
	return 0;
}

/*
 * Transaction control, from the statement cache like any query: prepared
 * once per connection, never parsed again (sqlite3_exec would parse
 * "BEGIN" and "COMMIT" on every call). Not logged here: a busy BEGIN or a
 * failed COMMIT is the caller's to report, as with sqlite3_exec.
 */
static int
sq_run(struct sq_conn *c, const char *sql)
{
	struct db_stmt *st;
	struct sq_stmt *s;
	int r, rc;

	if ((r = sq_prepare(&c->base, sql, &st)) != 0)
		return r;
	s = (struct sq_stmt *)(void *)st;
	rc = sqlite3_step(s->st);
	sqlite3_reset(s->st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return map_rc(rc) == 0 ? PC_ERR_STORE : map_rc(rc);
}

static int
sq_begin(struct db_conn *base, bool write)
{
	struct sq_conn *c = (struct sq_conn *)base;

	return sq_run(c, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

static int
sq_commit(struct db_conn *base)
{
	struct sq_conn *c = (struct sq_conn *)base;
	int r = sq_run(c, "COMMIT");

	if (r != 0 && !sqlite3_get_autocommit(c->h))
		(void)sq_run(c, "ROLLBACK");
	return r;
}

static void
sq_rollback(struct db_conn *base)
{
	struct sq_conn *c = (struct sq_conn *)base;

	if (!sqlite3_get_autocommit(c->h))
		(void)sq_run(c, "ROLLBACK");
}

static int
sq_bind_text(struct db_stmt *st, int idx, const char *v, size_t len)
{
	struct sq_stmt *s = (struct sq_stmt *)(void *)st;

	if (len > INT32_MAX)
		return PC_ERR_TOO_LARGE;
	return map_rc(
	    sqlite3_bind_text(s->st, idx, v, (int)len, SQLITE_TRANSIENT));
}

static int
sq_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	struct sq_stmt *s = (struct sq_stmt *)(void *)st;

	return map_rc(sqlite3_bind_int64(s->st, idx, v));
}

static int
sq_bind_null(struct db_stmt *st, int idx)
{
	struct sq_stmt *s = (struct sq_stmt *)(void *)st;

	return map_rc(sqlite3_bind_null(s->st, idx));
}

static int
sq_step(struct db_stmt *st)
{
	struct sq_stmt *s = (struct sq_stmt *)(void *)st;
	int rc = sqlite3_step(s->st);

	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	if ((rc & 0xff) != SQLITE_CONSTRAINT)
		log_sqlite("store.step", s->conn->h, s->sql);
	return map_rc(rc) == 0 ? PC_ERR_STORE : map_rc(rc);
}

static const char *
sq_col_text(struct db_stmt *st, int col, size_t *len)
{
	struct sq_stmt *s = (struct sq_stmt *)(void *)st;
	const char *p = (const char *)sqlite3_column_text(s->st, col);

	if (len != NULL)
		*len = (size_t)sqlite3_column_bytes(s->st, col);
	return p;
}

static int64_t
sq_col_int64(struct db_stmt *st, int col)
{
	struct sq_stmt *s = (struct sq_stmt *)(void *)st;

	return sqlite3_column_int64(s->st, col);
}

static bool
sq_col_is_null(struct db_stmt *st, int col)
{
	struct sq_stmt *s = (struct sq_stmt *)(void *)st;

	return sqlite3_column_type(s->st, col) == SQLITE_NULL;
}

static void
sq_done(struct db_stmt *st)
{
	struct sq_stmt *s = (struct sq_stmt *)(void *)st;

	sqlite3_reset(s->st);
	sqlite3_clear_bindings(s->st);
}

const struct db_ops db_sqlite_ops = {
	.name = "sqlite",
	.group_commit = true,
	.open = sq_open,
	.close = sq_close,
	.conn_open = sq_conn_open,
	.conn_close = sq_conn_close,
	.errmsg = sq_errmsg,
	.exec = sq_exec,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.prepare = sq_prepare,
	.bind_text = sq_bind_text,
	.bind_int64 = sq_bind_int64,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.col_text = sq_col_text,
	.col_int64 = sq_col_int64,
	.col_is_null = sq_col_is_null,
	.done = sq_done,
};
