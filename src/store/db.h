/*
 * db: the one small interface every store backend implements.
 *
 * A connection belongs to one thread (db_conn() returns the calling
 * thread's, opening it on first use). SQL uses '?' placeholders and the
 * portable subset shared by SQLite >= 3.35 and PostgreSQL (RETURNING,
 * ON CONFLICT, BIGINT, TEXT); a backend translates where it must. Nothing
 * outside src/store/ contains SQL.
 */
#ifndef PC_DB_H
#define PC_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct db;
struct db_conn;
struct db_stmt;

enum {
	DB_DONE = 0,
	DB_ROW = 1
};

/*
 * url: "", "sqlite:PATH" or "postgres://..." / "postgresql://..." (a libpq
 * connection URI); "" means sqlite:<data_dir>/portcullis.db.
 */
int db_open(const char *url, const char *data_dir, struct db **out) PC_WUR;
void db_close(struct db *db);
/* url names the PostgreSQL backend (postgres:// or postgresql://). */
bool db_url_is_postgres(const char *url);
/* scheme://host[:port]/db for PostgreSQL (no user, password or options). */
const char *db_describe(const struct db *db);
/*
 * store_url for printing (check-config): PostgreSQL URLs as libpq reads
 * them with every secret option (the password...) masked, or
 * DB_URL_UNPARSABLE; other URLs as they are. Malloc'd.
 */
#define DB_URL_UNPARSABLE "(a PostgreSQL URL libpq cannot read: not shown)"
char *db_url_redact(const char *url);

/* The calling thread's connection. */
int db_conn(struct db *db, struct db_conn **out) PC_WUR;
/* The last error text of this connection, for operators (never clients). */
const char *db_errmsg(struct db_conn *c);

int db_exec(struct db_conn *c, const char *sql) PC_WUR;
/* write: take the write lock up front (no upgrade deadlocks). */
int db_begin(struct db_conn *c, bool write) PC_WUR;
/*
 * How a write transaction is serialized against other writers. SQLite has
 * one writer at a time whatever the mode (BEGIN IMMEDIATE); on PostgreSQL:
 * DB_WRITE_LOCKED is db_begin(c, true), serialized with every other
 * DB_WRITE_LOCKED transaction of every node (the global advisory lock);
 * DB_WRITE_UNLOCKED takes no lock beyond the rows it writes (for writes
 * that read nothing another writer changes, e.g. an insert under a fresh
 * random key); DB_WRITE_SINGLETON runs only when no other
 * DB_WRITE_SINGLETON transaction runs on any node, and fails at once with
 * PC_ERR_BUSY instead of waiting when one does (the audit chainer,
 * decision 0051).
 */
enum db_write {
	DB_WRITE_LOCKED,
	DB_WRITE_UNLOCKED,
	DB_WRITE_SINGLETON,
};
int db_begin_write(struct db_conn *c, enum db_write mode) PC_WUR;
int db_commit(struct db_conn *c) PC_WUR;
void db_rollback(struct db_conn *c);
/*
 * Work that must wait for the end of the write transaction open on c
 * (issue 17 item 3: the log line of an audit row appended inside it):
 * fn(arg, true) once its commit is durable, fn(arg, false) when it rolls
 * back or its commit fails; fn owns arg and runs exactly once, on the
 * thread that ends the transaction, and must not touch the store. Inside
 * db_batch(), a function that fails (its savepoint rolled back) has its
 * own hooks run with false at once; the others wait for the commit.
 */
void
db_on_end(struct db_conn *c, void (*fn)(void *arg, bool committed), void *arg);
int db_ping(struct db_conn *c) PC_WUR;

/*
 * Group commit (batch.c). Runs fn(c, arg) inside a write transaction that
 * it shares with other callers' functions, each inside its own SAVEPOINT,
 * and commits once for all of them; returns only after that commit is
 * durable. fn returns 0 or a positive value to keep its writes, a negative
 * PC_ERR_* to roll back its own writes only. db_batch() returns fn's
 * result, or the error of the batch's BEGIN or COMMIT when that failed (then
 * none of fn's writes were kept, whatever fn returned).
 *
 * fn must use only c (never its caller's db_conn(), nor db_batch() again:
 * it may run on another thread, the batch's leader), must not BEGIN or
 * COMMIT, and should be quick: everyone in the batch waits for it. Anything
 * fn leaves in arg is valid only if db_batch() returned fn's result. A
 * backend without group commit runs fn alone in its own transaction.
 */
int db_batch(
    struct db *db, int (*fn)(struct db_conn *c, void *arg), void *arg) PC_WUR;

/* sql must be a string literal: statements are cached by its address. */
int db_prepare(struct db_conn *c, const char *sql, struct db_stmt **out) PC_WUR;
int db_bind_text(struct db_stmt *s, int idx, const char *v, size_t len) PC_WUR;
int db_bind_cstr(struct db_stmt *s, int idx, const char *v) PC_WUR;
int db_bind_int64(struct db_stmt *s, int idx, int64_t v) PC_WUR;
int db_bind_null(struct db_stmt *s, int idx) PC_WUR;
/* DB_ROW, DB_DONE or a negative PC_ERR_*. */
int db_step(struct db_stmt *s) PC_WUR;
const char *db_col_text(struct db_stmt *s, int col, size_t *len);
int64_t db_col_int64(struct db_stmt *s, int col);
bool db_col_is_null(struct db_stmt *s, int col);
/* A malloc'd NUL-terminated copy of a text column; SQL NULL gives "". */
char *db_col_dup(struct db_stmt *s, int col);
/* The same, but SQL NULL gives NULL (for columns where absent != empty). */
char *db_col_dup_null(struct db_stmt *s, int col);
/* Resets the statement for reuse; always call when done with it. */
void db_done(struct db_stmt *s);

/* A backend: db.c dispatches to one of these. */
struct db_ops {
	const char *name;
	bool group_commit; /* db_batch() may share a transaction (SAVEPOINT) */
	int (*open)(struct db *db, const char *target);
	void (*close)(struct db *db);
	int (*conn_open)(struct db *db, struct db_conn **out);
	void (*conn_close)(struct db_conn *c);
	const char *(*errmsg)(struct db_conn *c);
	int (*exec)(struct db_conn *c, const char *sql);
	int (*begin)(struct db_conn *c, bool write);
	/* NULL: every mode is begin(c, true) (one writer at a time). */
	int (*begin_write)(struct db_conn *c, enum db_write mode);
	int (*commit)(struct db_conn *c);
	void (*rollback)(struct db_conn *c);
	int (*prepare)(
	    struct db_conn *c, const char *sql, struct db_stmt **out);
	int (*bind_text)(struct db_stmt *s, int idx, const char *v, size_t len);
	int (*bind_int64)(struct db_stmt *s, int idx, int64_t v);
	int (*bind_null)(struct db_stmt *s, int idx);
	int (*step)(struct db_stmt *s);
	const char *(*col_text)(struct db_stmt *s, int col, size_t *len);
	int64_t (*col_int64)(struct db_stmt *s, int col);
	bool (*col_is_null)(struct db_stmt *s, int col);
	void (*done)(struct db_stmt *s);
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_pg_ops;
/* pg.c: the URL as libpq parses it, for people (db_url_redact). */
char *db_pg_url_describe(const char *url, bool full);
/* pg_text.c: '?' -> $1..$n; the number of parameters, or -1 past
 * max_params. *out is the new text (free()). */
int db_pg_translate(const char *sql, int max_params, char **out);

#endif
