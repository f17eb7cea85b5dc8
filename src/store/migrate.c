/*
 * The schema migration runner: applies src/store/migrations/NNNN_*.sql in
 * order, one transaction per migration under the write lock, so nodes
 * that start together never apply one twice; and reads the version.
 */
#include <stdio.h>
#include <string.h>

#include "store/db_internal.h"
#include "store/migrations.h"
#include "store/store.h"
#include "store/q.h"
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

/* The version (0 without a schema_version table); with create, the table
 * is created when missing. Inside a write transaction. */
static int
read_version(struct db_conn *c, bool create, int *out)
{
	int64_t v = 0;
	int r;

	*out = 0;
	r = q_one(c,
	    strcmp(c->db->ops->name, "postgres") == 0 ? pg_exists_sql
						      : sqlite_exists_sql,
	    Q_NOARGS, Q_COLS(QC_INT(&v)));
	if (r != 0)
		return r == PC_ERR_NOT_FOUND ? PC_ERR_STORE : r;
	if (v == 0)
		return create ? db_exec(c, create_version_sql) : 0;
	r = q_one(c, "SELECT coalesce(max(version), 0) FROM schema_version",
	    Q_NOARGS, Q_COLS(QC_INT(&v)));
	if (r != 0)
		return r == PC_ERR_NOT_FOUND ? PC_ERR_STORE : r;
	*out = (int)v;
	return 0;
}

struct version {
	int v;
	bool read; /* read_version() succeeded */
};

static int
version_tx(struct db_conn *c, void *arg)
{
	struct version *a = arg;
	int r = read_version(c, false, &a->v);

	a->read = r == 0;
	return r;
}

/*
 * Read under the write lock, so that it never races a node that is
 * migrating (it creates schema_version in its first transaction). It
 * writes nothing and needs no privilege beyond SELECT. Its commit keeps
 * nothing, but a commit that fails is a store that fails: the caller gets
 * the error, as from every store call (the fault injection checks it).
 */
int
store_schema_version(struct db *db, int *out)
{
	struct version a = { 0, false };
	int r = store_tx(db, version_tx, &a);

	/* A failed COMMIT is reported like any store failure. */
	*out = a.read && r == 0 ? a.v : 0;
	return r;
}

/* How far one step of store_migrate() got. */
enum step_stage {
	STEP_NOT_RUN = 0, /* BEGIN failed: step_tx never ran */
	STEP_FAILED,	  /* step_tx failed and wrote why into err */
	STEP_CURRENT,	  /* nothing to apply */
	STEP_APPLIED,	  /* m applied; only the COMMIT can still fail */
};

struct step {
	enum step_stage stage;
	const struct migration *m;
	int *from, *to;
	char *err;
	size_t err_len;
};

/*
 * Applies the next migration, if any, with its schema_version row, in the
 * caller's transaction (one per migration). Any failure rolls it back.
 */
static int
step_tx(struct db_conn *c, void *arg)
{
	struct step *a = arg;
	int r, v = 0;

	a->stage = STEP_FAILED;
	if ((r = read_version(c, true, &v)) != 0) {
		snprintf(a->err, a->err_len, "cannot read schema version: %s",
		    db_errmsg(c));
		return r;
	}
	if (*a->from == 0 && *a->to == 0)
		*a->from = v;
	*a->to = v;
	/*
	 * Newer than this binary: a newer release migrated it. Its
	 * migrations are additive (docs/operations.md), so this binary
	 * keeps working on it; it must not touch the schema.
	 */
	if (v >= (int)pc_migrations_count) {
		a->stage = STEP_CURRENT;
		return 0;
	}
	a->m = &pc_migrations[v];
	if ((r = db_exec(c, a->m->sql)) != 0) {
		snprintf(a->err, a->err_len,
		    "migration %04d_%s failed: %s (rolled back; the "
		    "store stays at version %d)",
		    a->m->version, a->m->name, db_errmsg(c), v);
		return r;
	}
	if ((r = q_exec(c,
		 "INSERT INTO schema_version "
		 "(version, name, applied_at) VALUES (?, ?, ?)",
		 Q_ARGS(QA_INT(a->m->version), QA_TEXT(a->m->name),
		     QA_INT(clock_now())),
		 NULL)) != 0) {
		snprintf(a->err, a->err_len, "cannot record migration: %s",
		    db_errmsg(c));
		return r;
	}
	a->stage = STEP_APPLIED;
	return 0;
}

int
store_migrate(struct db *db, int *from, int *to, char *err, size_t err_len)
{
	struct db_conn *c;
	int r;

	err[0] = '\0';
	if ((r = db_conn(db, &c)) != 0) {
		snprintf(
		    err, err_len, "cannot open the store %s", db_describe(db));
		return r;
	}
	*from = *to = 0;
	for (;;) {
		struct step a = { STEP_NOT_RUN, NULL, from, to, err, err_len };

		/* The write lock serializes nodes migrating at once. */
		r = store_tx(db, step_tx, &a);
		switch (a.stage) {
		case STEP_NOT_RUN:
			snprintf(err, err_len, "cannot lock the store: %s",
			    db_errmsg(c));
			return r;
		case STEP_FAILED: return r;
		case STEP_CURRENT:
			/* Nothing to keep, but a failed COMMIT is still a
			 * store that failed: say so, as every store call does. */
			if (r != 0)
				snprintf(err, err_len,
				    "cannot end the schema check: %s",
				    db_errmsg(c));
			return r;
		case STEP_APPLIED: break;
		}
		if (r != 0) {
			snprintf(err, err_len, "cannot record migration: %s",
			    db_errmsg(c));
			return r;
		}
		{
			struct log_line l;

			log_begin(&l, LOG_INFO, "store.migrated");
			log_int(&l, "version", a.m->version);
			log_str(&l, "name", a.m->name);
			log_end(&l);
		}
		*to = a.m->version;
	}
}
