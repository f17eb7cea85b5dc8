/*
 * q: the one query layer every store module is written on.
 *
 * A statement is run from its SQL, a list of arguments and (for reads) a
 * list of column destinations, each a small typed description built with
 * the QA_* and QC_* macros:
 *
 *	r = q_one(c, "SELECT name, created_at FROM t WHERE id = ?",
 *	    Q_ARGS(QA_TEXT(id)), Q_COLS(QC_DUP(&name), QC_INT(&at)));
 *
 * One error contract for all of it: 0 is success, PC_ERR_NOT_FOUND means
 * "no row" (q_one, store_one only), anything else is a negative PC_ERR_*
 * from the backend (PC_ERR_BUSY, PC_ERR_CONFLICT, PC_ERR_STORE...). A row
 * code (DB_ROW, DB_DONE) never leaves this layer.
 *
 * Transactions take the callback shape of group commit (db_batch()):
 * fn(c, arg) returns 0 or a positive value to commit, a negative PC_ERR_*
 * to roll back. store_tx() returns fn's result only when the commit
 * succeeded; otherwise the commit's error, and nothing fn wrote is kept.
 */
#ifndef PC_STORE_Q_H
#define PC_STORE_Q_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

enum q_arg_kind {
	QA_END_ = 0,
	QA_TEXT_,  /* NUL-terminated; NULL binds SQL NULL */
	QA_BYTES_, /* p, len */
	QA_INT_,
	QA_NULL_,
};

struct q_arg {
	enum q_arg_kind kind;
	const char *s;
	size_t len;
	int64_t i;
};

#define QA_TEXT(v) \
	{ \
		.kind = QA_TEXT_, .s = (v) \
	}
#define QA_BYTES(p, n) \
	{ \
		.kind = QA_BYTES_, .s = (p), .len = (n) \
	}
#define QA_INT(v) \
	{ \
		.kind = QA_INT_, .i = (int64_t)(v) \
	}
#define QA_NULL \
	{ \
		.kind = QA_NULL_ \
	}
/* v when present, SQL NULL when not. */
#define QA_INT_IF(present, v) \
	{ \
		.kind = (present) ? QA_INT_ : QA_NULL_, .i = (int64_t)(v) \
	}
#define Q_ARGS(...) ((const struct q_arg[]){ __VA_ARGS__, { .kind = QA_END_ } })
#define Q_NOARGS ((const struct q_arg *)NULL)

enum q_col_kind {
	QC_END_ = 0,
	QC_SKIP_,
	QC_DUP_,      /* malloc'd copy; SQL NULL gives "" */
	QC_DUP_NULL_, /* malloc'd copy; SQL NULL gives NULL */
	QC_INT_,
	QC_BOOL_,   /* integer column, non-zero is true */
	QC_FIXED_,  /* into char[n]: text shorter than n, else "" */
	QC_EXACT_,  /* into char[n]: text of exactly n - 1 bytes, else "" */
	QC_ISNULL_, /* bool: the column is SQL NULL */
};

struct q_col {
	enum q_col_kind kind;
	char **dup;
	int64_t *i;
	bool *b;
	char *fixed;
	size_t n;
};

#define QC_SKIP \
	{ \
		.kind = QC_SKIP_ \
	}
#define QC_DUP(pp) \
	{ \
		.kind = QC_DUP_, .dup = (pp) \
	}
#define QC_DUP_NULL(pp) \
	{ \
		.kind = QC_DUP_NULL_, .dup = (pp) \
	}
#define QC_INT(p) \
	{ \
		.kind = QC_INT_, .i = (p) \
	}
#define QC_BOOL(p) \
	{ \
		.kind = QC_BOOL_, .b = (p) \
	}
#define QC_ISNULL(p) \
	{ \
		.kind = QC_ISNULL_, .b = (p) \
	}
/* buf must be an array (sizeof gives its size), not a pointer. */
#define QC_FIXED(buf) \
	{ \
		.kind = QC_FIXED_, .fixed = (buf), .n = sizeof(buf) \
	}
#define QC_EXACT(buf) \
	{ \
		.kind = QC_EXACT_, .fixed = (buf), .n = sizeof(buf) \
	}
#define Q_COLS(...) ((const struct q_col[]){ __VA_ARGS__, { .kind = QC_END_ } })
#define Q_NOCOLS ((const struct q_col *)NULL)

/*
 * Runs sql to the end. *rows (may be NULL) gets the number of rows it
 * returned (a "... RETURNING 1" counts what it changed); on error, 0.
 */
int q_exec(struct db_conn *c, const char *sql, const struct q_arg *args,
    int64_t *rows) PC_WUR;

/*
 * Reads the first row into cols (Q_NOCOLS: only "is there one") and runs
 * the statement to its end, so a write with RETURNING completes. No row:
 * PC_ERR_NOT_FOUND, cols untouched. On any error, whatever was allocated
 * into cols is freed and NULLed.
 */
int q_one(struct db_conn *c, const char *sql, const struct q_arg *args,
    const struct q_col *cols) PC_WUR;

/*
 * Calls row(s, arg) for every row (read its columns with q_read() or the
 * db_col_* functions). A negative return from row stops and is returned.
 * Whatever row() built in arg is the caller's to free, error or not.
 */
int q_all(struct db_conn *c, const char *sql, const struct q_arg *args,
    int (*row)(struct db_stmt *s, void *arg), void *arg) PC_WUR;

/* Reads the current row's columns into cols (in a q_all() row function). */
void q_read(struct db_stmt *s, const struct q_col *cols);
/* Wipes, frees and NULLs what q_read() allocated into cols. */
void q_cols_free(const struct q_col *cols);

/* The same on the calling thread's connection, outside any transaction. */
int store_exec(struct db *db, const char *sql, const struct q_arg *args,
    int64_t *rows) PC_WUR;
int store_one(struct db *db, const char *sql, const struct q_arg *args,
    const struct q_col *cols) PC_WUR;
int store_all(struct db *db, const char *sql, const struct q_arg *args,
    int (*row)(struct db_stmt *s, void *arg), void *arg) PC_WUR;

/*
 * One write transaction on the calling thread's connection: BEGIN
 * (taking the write lock up front), fn, then COMMIT when fn returned >= 0,
 * ROLLBACK otherwise. Returns fn's result, or the error of BEGIN or
 * COMMIT (then nothing fn wrote is kept).
 */
int store_tx(
    struct db *db, int (*fn)(struct db_conn *c, void *arg), void *arg) PC_WUR;
/* The same with the write mode given (db_begin_write(); store_tx() is
 * DB_WRITE_LOCKED): the audit's pending rows and its chainer. */
int store_tx_mode(struct db *db, enum db_write mode,
    int (*fn)(struct db_conn *c, void *arg), void *arg) PC_WUR;

/*
 * A read transaction (one consistent snapshot across statements); fn's
 * result, or BEGIN's error. Never commits a write.
 */
int store_read_tx(
    struct db *db, int (*fn)(struct db_conn *c, void *arg), void *arg) PC_WUR;

/*
 * Q_GROW(v, len, cap): room for one more element in the array v of len
 * elements (capacity cap, doubling from 8); evaluates to a pointer to the
 * new element, zeroed, and counts it in len. v, len and cap are lvalues.
 */
#define Q_GROW(v, len, cap) \
	((v) = q_grow_((v), (len), &(cap), sizeof(*(v))), &(v)[(len)++])
void *q_grow_(void *v, size_t len, size_t *cap, size_t size);

#endif
