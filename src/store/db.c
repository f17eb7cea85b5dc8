/*
 * db: the backend-neutral front of the store (db.h). Opens a store from
 * its URL, hands each thread its own connection and dispatches every
 * call to the backend chosen at open (sqlite.c or pg.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "store/q.h"
#include "store/store_internal.h"
#include "util/log.h"

bool
db_url_is_postgres(const char *url)
{
	return (strncmp(url, "postgres://", 11) == 0 && url[11] != '\0') ||
	    (strncmp(url, "postgresql://", 13) == 0 && url[13] != '\0');
}

char *
db_url_redact(const char *url)
{
	char *d;

	if (url == NULL || !db_url_is_postgres(url))
		return xstrdup(url != NULL ? url : "");
	d = db_pg_url_describe(url, true);
	return d != NULL ? d : xstrdup(DB_URL_UNPARSABLE);
}

int
db_open(const char *url, const char *data_dir, struct db **out)
{
	const struct db_ops *ops = &db_sqlite_ops;
	struct db *db;
	char *target, *describe = NULL;
	int r;

	*out = NULL;
	if (url == NULL || url[0] == '\0') {
		size_t n = strlen(data_dir) + sizeof("/portcullis.db");

		target = xmalloc(n);
		snprintf(target, n, "%s/portcullis.db", data_dir);
	} else if (strncmp(url, "sqlite:", 7) == 0 && url[7] != '\0') {
		target = xstrdup(url + 7);
	} else if (db_url_is_postgres(url)) {
		/* Parsed up front: a URL libpq cannot read is never shown. */
		if ((describe = db_pg_url_describe(url, false)) == NULL) {
			log_msg(LOG_ERROR, "store.open",
			    "store_url is not a PostgreSQL URL that libpq can "
			    "read (not shown: it may hold a password); "
			    "percent-encode reserved characters such as "
			    "@ : / ? # % in the user name and password");
			return PC_ERR_CONFIG;
		}
		ops = &db_pg_ops;
		target = xstrdup(url);
	} else {
		log_msg(LOG_ERROR, "store.open",
		    "unsupported store_url (expected sqlite:PATH or "
		    "postgres://...)");
		return PC_ERR_CONFIG;
	}
	db = xcalloc(1, sizeof(*db));
	db->ops = ops;
	db->target = target;
	if (ops == &db_pg_ops) {
		db->describe = describe;
	} else {
		size_t n = strlen(target) + 16;

		db->describe = xmalloc(n);
		snprintf(db->describe, n, "sqlite:%s", target);
	}
	pthread_mutex_init(&db->lock, NULL);
	db_batch_init(db);
	if (pthread_key_create(&db->key, NULL) != 0)
		fatal("pthread_key_create");
	if ((r = db->ops->open(db, target)) != 0) {
		db_close(db);
		return r;
	}
	*out = db;
	return 0;
}

void
db_close(struct db *db)
{
	struct db_conn *c, *next;

	if (db == NULL)
		return;
	/* Only after every thread that used it has stopped. */
	for (c = db->conns; c != NULL; c = next) {
		next = c->next;
		db_end_hooks(c, 0, false);
		db->ops->conn_close(c);
	}
	db->conns = NULL;
	if (db->backend != NULL)
		db->ops->close(db);
	db_batch_free(db);
	pthread_key_delete(db->key);
	pthread_mutex_destroy(&db->lock);
	free(db->target);
	free(db->describe);
	free(db);
}

const char *
db_describe(const struct db *db)
{
	return db->describe;
}

int
db_conn_new(struct db *db, struct db_conn **out)
{
	struct db_conn *c;
	int r;

	if ((r = db->ops->conn_open(db, &c)) != 0)
		return r;
	c->db = db;
	pthread_mutex_lock(&db->lock);
	c->next = db->conns;
	db->conns = c;
	pthread_mutex_unlock(&db->lock);
	*out = c;
	return 0;
}

int
db_conn(struct db *db, struct db_conn **out)
{
	struct db_conn *c = pthread_getspecific(db->key);
	int r;

	if (c == NULL) {
		if ((r = db_conn_new(db, &c)) != 0)
			return r;
		pthread_setspecific(db->key, c);
	}
	*out = c;
	return 0;
}

const char *
db_errmsg(struct db_conn *c)
{
	return c->db->ops->errmsg(c);
}

int
db_exec(struct db_conn *c, const char *sql)
{
	return c->db->ops->exec(c, sql);
}

int
db_begin(struct db_conn *c, bool write)
{
	return c->db->ops->begin(c, write);
}

int
db_begin_write(struct db_conn *c, enum db_write mode)
{
	if (c->db->ops->begin_write == NULL)
		return c->db->ops->begin(c, true);
	return c->db->ops->begin_write(c, mode);
}

int
db_commit(struct db_conn *c)
{
	int r = c->db->ops->commit(c);

	db_end_hooks(c, 0, r == 0);
	return r;
}

void
db_rollback(struct db_conn *c)
{
	c->db->ops->rollback(c);
	db_end_hooks(c, 0, false);
}

void
db_on_end(struct db_conn *c, void (*fn)(void *arg, bool committed), void *arg)
{
	if (c->nhooks == c->caphooks) {
		c->caphooks = c->caphooks == 0 ? 8 : c->caphooks * 2;
		c->hooks = xrealloc(c->hooks, c->caphooks * sizeof(*c->hooks));
	}
	c->hooks[c->nhooks].fn = fn;
	c->hooks[c->nhooks].arg = arg;
	c->nhooks++;
}

void
db_end_hooks(struct db_conn *c, size_t mark, bool committed)
{
	/* In registration order; a hook may not register another. */
	for (size_t i = mark; i < c->nhooks; i++)
		c->hooks[i].fn(c->hooks[i].arg, committed);
	if (c->nhooks > mark)
		c->nhooks = mark;
	if (mark == 0) {
		free(c->hooks);
		c->hooks = NULL;
		c->caphooks = 0;
	}
}

int
db_ping(struct db_conn *c)
{
	int64_t n;
	int r = q_one(c, "SELECT count(*) FROM schema_version", Q_NOARGS,
	    Q_COLS(QC_INT(&n)));

	return r == PC_ERR_NOT_FOUND ? PC_ERR_STORE : r;
}

/* Fibonacci hashing of the address: literals are 1-byte aligned, so all
 * of its bits count; the top bits of the product pick the bucket. */
static unsigned
stmt_bucket(const char *sql)
{
	uint64_t h = (uint64_t)(uintptr_t)sql * UINT64_C(0x9E3779B97F4A7C15);

	return (unsigned)(h >> 32) % DB_STMT_BUCKETS;
}

int
db_stmt_find(const struct db_stmt_index *ix, const char *sql)
{
	for (unsigned i = stmt_bucket(sql);; i = (i + 1) % DB_STMT_BUCKETS) {
		if (ix->key[i] == sql)
			return ix->slot[i];
		if (ix->key[i] == NULL)
			return -1; /* half empty at most: always ends */
	}
}

void
db_stmt_add(struct db_stmt_index *ix, const char *sql, unsigned slot)
{
	unsigned i = stmt_bucket(sql);

	while (ix->key[i] != NULL)
		i = (i + 1) % DB_STMT_BUCKETS;
	ix->key[i] = sql;
	ix->slot[i] = (uint16_t)slot;
}

int
db_prepare(struct db_conn *c, const char *sql, struct db_stmt **out)
{
	return c->db->ops->prepare(c, sql, out);
}

/* Every backend's statement begins with struct db_stmt_head. */
#define OPS(s) (((struct db_stmt_head *)(void *)(s))->ops)

int
db_bind_text(struct db_stmt *s, int idx, const char *v, size_t len)
{
	return OPS(s)->bind_text(s, idx, v, len);
}

int
db_bind_cstr(struct db_stmt *s, int idx, const char *v)
{
	if (v == NULL)
		return db_bind_null(s, idx);
	return db_bind_text(s, idx, v, strlen(v));
}

int
db_bind_int64(struct db_stmt *s, int idx, int64_t v)
{
	return OPS(s)->bind_int64(s, idx, v);
}

int
db_bind_null(struct db_stmt *s, int idx)
{
	return OPS(s)->bind_null(s, idx);
}

int
db_step(struct db_stmt *s)
{
	return OPS(s)->step(s);
}

const char *
db_col_text(struct db_stmt *s, int col, size_t *len)
{
	return OPS(s)->col_text(s, col, len);
}

int64_t
db_col_int64(struct db_stmt *s, int col)
{
	return OPS(s)->col_int64(s, col);
}

bool
db_col_is_null(struct db_stmt *s, int col)
{
	return OPS(s)->col_is_null(s, col);
}

char *
db_col_dup(struct db_stmt *s, int col)
{
	size_t len = 0;
	const char *p = db_col_text(s, col, &len);

	return xstrndup(p != NULL ? p : "", p != NULL ? len : 0);
}

char *
db_col_dup_null(struct db_stmt *s, int col)
{
	if (db_col_is_null(s, col))
		return NULL;
	return db_col_dup(s, col);
}

void
db_done(struct db_stmt *s)
{
	if (s != NULL)
		OPS(s)->done(s);
}

int
store_delete_expired(
    struct db *db, const char *sql, int64_t cutoff, int64_t *deleted)
{
	return store_exec(db, sql, Q_ARGS(QA_INT(cutoff)), deleted);
}

int
store_id_fresh_tx(struct db_conn *c, const char *sql, const char *id)
{
	int r = q_one(c, sql, Q_ARGS(QA_TEXT(id), QA_TEXT(id)), Q_NOCOLS);

	if (r == 0)
		return PC_ERR_CONFLICT;
	return r == PC_ERR_NOT_FOUND ? 0 : r;
}
