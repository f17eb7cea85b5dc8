/* Shared between db.c and the backends. */
#ifndef PC_DB_INTERNAL_H
#define PC_DB_INTERNAL_H

#include <pthread.h>

#include "store/db.h"

struct db_conn {
	struct db *db;
	struct db_conn *next; /* all connections of this db */
};

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
