/* Shared between db.c and the backends. */
#ifndef PC_DB_INTERNAL_H
#define PC_DB_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "store/db.h"

/*
 * A backend's per-connection statement cache holds at most DB_STMT_CACHE
 * statements (SQL literals: a finite set). Its index maps the literal's
 * address to the statement's slot by open addressing over twice as many
 * buckets, so a lookup costs a hash and a probe or two, not a scan.
 */
#define DB_STMT_CACHE 256
#define DB_STMT_BUCKETS (2 * DB_STMT_CACHE)

struct db_stmt_index {
	const char *key[DB_STMT_BUCKETS]; /* NULL: empty */
	uint16_t slot[DB_STMT_BUCKETS];
};

/* db.c: the slot of sql, or -1. */
int db_stmt_find(const struct db_stmt_index *ix, const char *sql);
/* db.c: records sql at slot (sql not yet in ix, fewer than DB_STMT_CACHE). */
void db_stmt_add(struct db_stmt_index *ix, const char *sql, unsigned slot);

/* db_on_end()'s work, run when the transaction ends. */
struct db_end_hook {
	void (*fn)(void *arg, bool committed);
	void *arg;
};

struct db_conn {
	struct db *db;
	struct db_conn *next;	   /* all connections of this db */
	struct db_end_hook *hooks; /* of the open transaction */
	size_t nhooks, caphooks;
};

/* db.c: runs (and forgets) the hooks registered since mark, told
 * whether they were committed; batch.c drops a savepoint's with it. */
void db_end_hooks(struct db_conn *c, size_t mark, bool committed);

struct db_stmt_head {
	const struct db_ops *ops;
};

struct db {
	const struct db_ops *ops;
	char *target;	   /* path or URL, as given */
	char *describe;	   /* printable, no credentials */
	pthread_key_t key; /* this thread's connection */
	pthread_mutex_t lock;
	struct db_conn *conns;
	void *backend;
	struct db_batcher *batch; /* group commit (batch.c) */
};

/* db.c: opens a connection owned by db (closed by db_close()), not bound
 * to the calling thread. */
int db_conn_new(struct db *db, struct db_conn **out) PC_WUR;

/* batch.c: set up and tear down a db's group commit. */
void db_batch_init(struct db *db);
void db_batch_free(struct db *db);

#endif
