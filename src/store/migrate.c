#include <stdio.h>
#include <string.h>

#include "store/db_internal.h"
#include "store/migrations.h"
#include "store/store.h"
#include "util/log.h"

static const char create_version_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version BIGINT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL)";

int
store_schema_latest(void)
{
	return (int)pc_migrations_count;
}

/*
 * Whether schema_version exists, asked of the catalog: a node whose role
 * may not create tables (PostgreSQL: no CREATE on the schema; the nodes of
 * a cluster need only SELECT, INSERT, UPDATE and DELETE) must still read
 * the version, and CREATE TABLE IF NOT EXISTS checks that privilege even
 * when the table is there. The one dialect difference of the runner.
 */
static const char pg_exists_sql[] =
    "SELECT to_regclass('schema_version') IS NOT NULL";
static const char sqlite_exists_sql[] =
    "SELECT count(*) FROM sqlite_master"
    " WHERE type = 'table' AND name = 'schema_version'";

/* The one integer a query returns (it must return a row). */
static int
query_int64(struct db_conn *c, const char *sql, int64_t *out)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c, sql, &s)) != 0)
		return r;
	r = db_step(s);
	if (r == DB_ROW) {
		*out = db_col_int64(s, 0);
		r = 0;
	} else if (r == DB_DONE) {
		r = PC_ERR_STORE;
	}
	db_done(s);
	return r;
}

/* The version (0 without a schema_version table); with create, the table
 * is created when missing. Inside a write transaction. */
static int
read_version(struct db_conn *c, bool create, int *out)
{
	int64_t v = 0;
	int r;

	*out = 0;
	r = query_int64(c,
	    strcmp(c->db->ops->name, "postgres") == 0 ? pg_exists_sql
						      : sqlite_exists_sql,
	    &v);
	if (r != 0)
		return r;
	if (v == 0)
		return create ? db_exec(c, create_version_sql) : 0;
	if ((r = query_int64(c,
		 "SELECT coalesce(max(version), 0) FROM schema_version", &v)) !=
	    0)
		return r;
	*out = (int)v;
	return 0;
}

/*
 * Read under the write lock, so that it never races a node that is
 * migrating (it creates schema_version in its first transaction), and
 * rolled back: it changes nothing, and needs no privilege beyond SELECT.
 */
int
store_schema_version(struct db *db, int *out)
{
	struct db_conn *c;
	int r;

	*out = 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	r = read_version(c, false, out);
	db_rollback(c);
	return r;
}

int
store_migrate(struct db *db, int *from, int *to, char *err, size_t err_len)
{
	struct db_conn *c;
	int r, v = 0;

	err[0] = '\0';
	if ((r = db_conn(db, &c)) != 0) {
		snprintf(
		    err, err_len, "cannot open the store %s", db_describe(db));
		return r;
	}
	*from = *to = 0;
	for (;;) {
		const struct migration *m;
		struct db_stmt *s;

		/* The write lock serializes nodes migrating at once. */
		if ((r = db_begin(c, true)) != 0) {
			snprintf(err, err_len, "cannot lock the store: %s",
			    db_errmsg(c));
			return r;
		}
		if ((r = read_version(c, true, &v)) != 0) {
			snprintf(err, err_len, "cannot read schema version: %s",
			    db_errmsg(c));
			db_rollback(c);
			return r;
		}
		if (*from == 0 && *to == 0)
			*from = v;
		*to = v;
		/*
		 * Newer than this binary: a newer release migrated it. Its
		 * migrations are additive (docs/operations.md), so this binary
		 * keeps working on it; it must not touch the schema.
		 */
		if (v >= (int)pc_migrations_count) {
			db_rollback(c);
			return 0;
		}
		m = &pc_migrations[v];
		if ((r = db_exec(c, m->sql)) != 0) {
			snprintf(err, err_len,
			    "migration %04d_%s failed: %s (rolled back; the "
			    "store stays at version %d)",
			    m->version, m->name, db_errmsg(c), v);
			db_rollback(c);
			return r;
		}
		if ((r = db_prepare(c,
			 "INSERT INTO schema_version "
			 "(version, name, applied_at) VALUES (?, ?, ?)",
			 &s)) != 0) {
			snprintf(err, err_len, "cannot record migration: %s",
			    db_errmsg(c));
			db_rollback(c);
			return r;
		}
		if ((r = db_bind_int64(s, 1, m->version)) == 0 &&
		    (r = db_bind_cstr(s, 2, m->name)) == 0 &&
		    (r = db_bind_int64(s, 3, clock_now())) == 0)
			r = db_step(s);
		db_done(s);
		if (r != DB_DONE || (r = db_commit(c)) != 0) {
			snprintf(err, err_len, "cannot record migration: %s",
			    db_errmsg(c));
			db_rollback(c);
			return r < 0 ? r : PC_ERR_STORE;
		}
		{
			struct log_line l;

			log_begin(&l, LOG_INFO, "store.migrated");
			log_int(&l, "version", m->version);
			log_str(&l, "name", m->name);
			log_end(&l);
		}
		*to = m->version;
	}
}
