/*
 * Unit tests for store/db.c, store/sqlite.c, store/migrate.c and
 * store/keys.c on a temporary SQLite file: migrations are all-or-nothing
 * and idempotent, a newer schema is refused, signing key rows round-trip
 * in activation order, unique kids map to PC_ERR_CONFLICT, and every
 * connection runs with WAL, foreign keys and synchronous=FULL.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "store/db.h"
#include "store/store.h"
#include "store_fixture.h"
#include "util/log.h"
#include "util/util.h"

struct fixture {
	char dir[64];
	struct db *db;
	struct db_conn *c;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (store_fixture_new(f->dir, false, &f->db) != 0 ||
	    db_conn(f->db, &f->c) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

static void
migrate_ok(struct fixture *f)
{
	char err[512] = "";
	int from, to;

	if (store_migrate(f->db, &from, &to, err, sizeof(err)) != 0)
		fail_msg("store_migrate: %s", err);
	assert_int_equal(to, store_schema_latest());
}

/* Whether a table or index of that name exists. */
static bool
exists(struct fixture *f, const char *name)
{
	struct db_stmt *s;
	int64_t n = -1;

	if (test_store_is_pg())
		assert_int_equal(db_prepare(f->c,
				     "SELECT count(*) FROM pg_class"
				     " WHERE relname = ?",
				     &s),
		    0);
	else
		assert_int_equal(db_prepare(f->c,
				     "SELECT count(*) FROM sqlite_master"
				     " WHERE name = ?",
				     &s),
		    0);
	assert_int_equal(db_bind_cstr(s, 1, name), 0);
	assert_int_equal(db_step(s), DB_ROW);
	n = db_col_int64(s, 0);
	db_done(s);
	return n > 0;
}

/* The single integer a query returns; sql must be a literal. */
static int64_t
query_int(struct fixture *f, const char *sql)
{
	struct db_stmt *s;
	int64_t v;

	assert_int_equal(db_prepare(f->c, sql, &s), 0);
	assert_int_equal(db_step(s), DB_ROW);
	v = db_col_int64(s, 0);
	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);
	return v;
}

static struct store_signing_key
key(char *kid, char *alg, int64_t created_at, int64_t activate_at)
{
	struct store_signing_key k = { .kid = kid,
		.alg = alg,
		.public_jwk = "{\"kty\":\"EC\"}",
		.private_sealed = "v1.sealed",
		.created_at = created_at,
		.activate_at = activate_at };

	return k;
}

static void
test_store_migrate_from_empty(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	int from = -1, to = -1, v = -1;

	assert_true(store_schema_latest() >= 1);
	assert_int_equal(store_schema_version(f->db, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(store_migrate(f->db, &from, &to, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(from, 0);
	assert_int_equal(to, store_schema_latest());
	assert_int_equal(store_schema_version(f->db, &v), 0);
	assert_int_equal(v, store_schema_latest());
	assert_true(exists(f, "signing_keys"));
	assert_true(exists(f, "signing_keys_alg_activate"));
	/* One row per migration, numbered 1..latest. */
	assert_int_equal(query_int(f, "SELECT count(*) FROM schema_version"),
	    store_schema_latest());
	assert_int_equal(
	    query_int(f, "SELECT min(version) FROM schema_version"), 1);
	assert_int_equal(query_int(f,
			     "SELECT count(*) FROM schema_version"
			     " WHERE name = '' OR applied_at <= 0"),
	    0);
}

static void
test_store_migrate_is_idempotent(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	int from = -1, to = -1, v = -1;

	migrate_ok(f);
	assert_int_equal(store_migrate(f->db, &from, &to, err, sizeof(err)), 0);
	assert_int_equal(from, store_schema_latest());
	assert_int_equal(to, store_schema_latest());
	assert_int_equal(query_int(f, "SELECT count(*) FROM schema_version"),
	    store_schema_latest());
	assert_int_equal(store_schema_version(f->db, &v), 0);
	assert_int_equal(v, store_schema_latest());
}

/* A table in the way: the migration fails by name and leaves no trace. */
static void
test_store_migrate_conflicting_table(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	int from = -1, to = -1, v = -1;

	assert_int_equal(db_exec(f->c, "CREATE TABLE signing_keys (x INT)"), 0);
	assert_true(store_migrate(f->db, &from, &to, err, sizeof(err)) < 0);
	if (strstr(err, "0001_init") == NULL)
		fail_msg("error does not name the migration: %s", err);
	assert_non_null(strstr(err, "signing_keys"));
	assert_int_equal(to, 0);
	/* schema_version is absent, or present at 0. */
	if (exists(f, "schema_version"))
		assert_int_equal(
		    query_int(f, "SELECT count(*) FROM schema_version"), 0);
	assert_false(exists(f, "signing_keys_alg_activate"));
	/* The table in the way is untouched... */
	assert_int_equal(
	    db_exec(f->c, "INSERT INTO signing_keys VALUES (1)"), 0);
	/* ...and once it is gone the migration goes through. */
	assert_int_equal(db_exec(f->c, "DROP TABLE signing_keys"), 0);
	migrate_ok(f);
	assert_int_equal(store_schema_version(f->db, &v), 0);
	assert_int_equal(v, store_schema_latest());
}

/* A later statement of the migration fails: the earlier ones roll back. */
static void
test_store_migrate_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	int from = -1, to = -1, v = -1;

	assert_int_equal(db_exec(f->c,
			     "CREATE TABLE other (a INT);"
			     "CREATE INDEX signing_keys_alg_activate"
			     " ON other (a)"),
	    0);
	assert_true(store_migrate(f->db, &from, &to, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "0001_init"));
	assert_non_null(strstr(err, "rolled back"));
	assert_false(exists(f, "signing_keys"));
	assert_int_equal(store_schema_version(f->db, &v), 0);
	assert_int_equal(v, 0);
}

/*
 * A store a newer release migrated is left alone (an older binary keeps
 * serving it during a rolling upgrade; docs/operations.md): no error,
 * nothing applied, the lock released.
 */
static void
test_store_migrate_leaves_newer_schema_alone(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	int from = -1, to = -1, v = -1;

	assert_int_equal(db_exec(f->c,
			     "CREATE TABLE schema_version (version BIGINT"
			     " PRIMARY KEY, name TEXT NOT NULL, applied_at"
			     " BIGINT NOT NULL);"
			     "INSERT INTO schema_version"
			     " VALUES (999, 'future', 1)"),
	    0);
	assert_int_equal(store_migrate(f->db, &from, &to, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(from, 999);
	assert_int_equal(to, 999);
	assert_false(exists(f, "signing_keys"));
	assert_int_equal(store_schema_version(f->db, &v), 0);
	assert_int_equal(v, 999);
	assert_int_equal(
	    query_int(f, "SELECT count(*) FROM schema_version"), 1);
	/* The lock is released: the store still answers. */
	assert_int_equal(db_begin(f->c, true), 0);
	assert_int_equal(db_commit(f->c), 0);
}

/* One past the newest known migration: the same. */
static void
test_store_migrate_leaves_latest_plus_one_alone(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;
	char err[512] = "";
	int from, to, v = -1;

	migrate_ok(f);
	assert_int_equal(
	    db_prepare(
		f->c, "INSERT INTO schema_version VALUES (?, 'next', 1)", &s),
	    0);
	assert_int_equal(db_bind_int64(s, 1, store_schema_latest() + 1), 0);
	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);
	assert_int_equal(store_migrate(f->db, &from, &to, err, sizeof(err)), 0);
	assert_int_equal(to, store_schema_latest() + 1);
	assert_int_equal(store_schema_version(f->db, &v), 0);
	assert_int_equal(v, store_schema_latest() + 1);
	assert_int_equal(query_int(f, "SELECT count(*) FROM schema_version"),
	    store_schema_latest() + 1);
}

/* Reading the version of an empty store creates nothing. */
static void
test_store_schema_version_leaves_no_trace(void **state)
{
	struct fixture *f = *state;
	int v = -1;

	assert_int_equal(store_schema_version(f->db, &v), 0);
	assert_int_equal(v, 0);
	assert_false(exists(f, "schema_version"));
	assert_int_equal(db_begin(f->c, true), 0);
	assert_int_equal(db_commit(f->c), 0);
}

static void
test_store_signing_keys_round_trip(void **state)
{
	struct fixture *f = *state;
	struct store_signing_key k[] = {
		key("kid-c", "RS256", 10, 300),
		key("kid-a", "ES256", 11, 100),
		key("kid-'); DROP TABLE signing_keys;--", "EdDSA", 12, 200),
		key("kid-b", "PS256", 13, 200),
	};
	/* activate_at, then created_at. */
	static const size_t order[] = { 1, 2, 3, 0 };
	struct store_signing_key *v = NULL;
	size_t n = 99;

	migrate_ok(f);
	assert_int_equal(store_signing_keys_list(f->db, &v, &n), 0);
	assert_int_equal(n, 0);
	store_signing_keys_free(v, n);
	k[1].public_jwk =
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"\\u00e9\"}";
	k[1].private_sealed = "v1.AAAA";
	for (size_t i = 0; i < PC_NELEM(k); i++)
		assert_int_equal(store_signing_key_insert(f->db, &k[i]), 0);
	assert_int_equal(store_signing_keys_list(f->db, &v, &n), 0);
	assert_int_equal(n, PC_NELEM(k));
	for (size_t i = 0; i < n; i++) {
		const struct store_signing_key *w = &k[order[i]];

		assert_string_equal(v[i].kid, w->kid);
		assert_string_equal(v[i].alg, w->alg);
		assert_string_equal(v[i].public_jwk, w->public_jwk);
		assert_string_equal(v[i].private_sealed, w->private_sealed);
		assert_int_equal(v[i].created_at, w->created_at);
		assert_int_equal(v[i].activate_at, w->activate_at);
	}
	store_signing_keys_free(v, n);
	assert_true(exists(f, "signing_keys"));
}

static void
test_store_signing_key_insert_first(void **state)
{
	struct fixture *f = *state;
	struct store_signing_key a = key("es-1", "ES256", 1, 1);
	struct store_signing_key b = key("es-2", "ES256", 2, 2);
	struct store_signing_key c = key("rs-1", "RS256", 3, 3);
	struct store_signing_key *v = NULL;
	bool inserted = false;
	size_t n = 0;

	migrate_ok(f);
	assert_int_equal(
	    store_signing_key_insert_first(f->db, &a, &inserted), 0);
	assert_true(inserted);
	assert_int_equal(
	    store_signing_key_insert_first(f->db, &b, &inserted), 0);
	assert_false(inserted);
	/* Even the same row again is not inserted twice. */
	assert_int_equal(
	    store_signing_key_insert_first(f->db, &a, &inserted), 0);
	assert_false(inserted);
	assert_int_equal(
	    store_signing_key_insert_first(f->db, &c, &inserted), 0);
	assert_true(inserted);
	assert_int_equal(store_signing_keys_list(f->db, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].kid, "es-1");
	assert_string_equal(v[1].kid, "rs-1");
	store_signing_keys_free(v, n);
	/* No transaction is left open. */
	assert_int_equal(db_begin(f->c, true), 0);
	assert_int_equal(db_commit(f->c), 0);
}

static void
test_store_signing_key_conflict(void **state)
{
	struct fixture *f = *state;
	struct store_signing_key a = key("same-kid", "ES256", 1, 1);
	struct store_signing_key b = key("same-kid", "RS256", 2, 2);
	struct store_signing_key bad = key("other-kid", "HS256", 3, 3);
	struct store_signing_key *v = NULL;
	bool inserted = true;
	size_t n = 0;

	migrate_ok(f);
	assert_int_equal(store_signing_key_insert(f->db, &a), 0);
	assert_int_equal(store_signing_key_insert(f->db, &a), PC_ERR_CONFLICT);
	assert_int_equal(store_signing_key_insert(f->db, &b), PC_ERR_CONFLICT);
	/* insert_first of a new alg with a taken kid: conflict, rolled back. */
	assert_int_equal(store_signing_key_insert_first(f->db, &b, &inserted),
	    PC_ERR_CONFLICT);
	assert_false(inserted);
	/* Only the algorithms the schema knows. */
	assert_true(store_signing_key_insert(f->db, &bad) < 0);
	assert_int_equal(store_signing_keys_list(f->db, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].alg, "ES256");
	assert_int_equal(v[0].created_at, 1);
	store_signing_keys_free(v, n);
	assert_int_equal(db_begin(f->c, true), 0);
	assert_int_equal(db_commit(f->c), 0);
}

static void
test_store_transactions(void **state)
{
	struct fixture *f = *state;
	struct store_signing_key a = key("k1", "ES256", 1, 1);
	struct store_signing_key b = key("k2", "ES256", 2, 2);

	migrate_ok(f);
	assert_int_equal(db_begin(f->c, true), 0);
	assert_int_equal(store_signing_key_insert(f->db, &a), 0);
	db_rollback(f->c);
	assert_int_equal(query_int(f, "SELECT count(*) FROM signing_keys"), 0);
	assert_int_equal(db_begin(f->c, false), 0);
	assert_int_equal(store_signing_key_insert(f->db, &b), 0);
	assert_int_equal(db_commit(f->c), 0);
	assert_int_equal(query_int(f, "SELECT count(*) FROM signing_keys"), 1);
	db_rollback(f->c); /* outside a transaction: harmless */
}

static void
test_store_db_ping(void **state)
{
	struct fixture *f = *state;

	migrate_ok(f);
	assert_int_equal(db_ping(f->c), 0);
	assert_int_equal(db_ping(f->c), 0);
}

static void
test_store_db_ping_fails_without_schema(void **state)
{
	struct fixture *f = *state;

	assert_true(db_ping(f->c) < 0);
}

static const char select_one[] = "SELECT 1";
static const char select_one_again[] = "SELECT 1";

static void
test_store_statement_cache_reuse(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *a, *b, *other;
	struct db_conn *c2;

	assert_int_equal(db_prepare(f->c, select_one, &a), 0);
	assert_int_equal(db_step(a), DB_ROW);
	assert_int_equal(db_col_int64(a, 0), 1);
	db_done(a);
	assert_int_equal(db_prepare(f->c, select_one, &b), 0);
	assert_ptr_equal(a, b);
	/* db_done reset it: it runs again from the start. */
	assert_int_equal(db_step(b), DB_ROW);
	assert_int_equal(db_col_int64(b, 0), 1);
	assert_int_equal(db_step(b), DB_DONE);
	db_done(b);
	/* The cache key is the literal's address, not its text. */
	assert_int_equal(db_prepare(f->c, select_one_again, &other), 0);
	assert_ptr_not_equal(other, a);
	db_done(other);
	/* The same thread always gets the same connection. */
	assert_int_equal(db_conn(f->db, &c2), 0);
	assert_ptr_equal(c2, f->c);
}

static void *
other_thread(void *arg)
{
	struct db_conn *c = NULL;

	if (db_conn(arg, &c) != 0)
		return NULL;
	return c;
}

static void
test_store_connection_per_thread(void **state)
{
	struct fixture *f = *state;
	pthread_t t;
	void *c = NULL;

	assert_int_equal(pthread_create(&t, NULL, other_thread, f->db), 0);
	assert_int_equal(pthread_join(t, &c), 0);
	assert_non_null(c);
	assert_ptr_not_equal(c, f->c);
}

static void
test_store_bind_and_columns(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;
	const char *p;
	size_t len = 0;

	assert_int_equal(db_prepare(f->c, "SELECT ?, ?, ?, ?", &s), 0);
	if (test_store_is_pg()) {
		/* PostgreSQL text holds no NUL: refused, not truncated. */
		assert_int_equal(db_bind_text(s, 1, "a\0b", 3), PC_ERR_INVALID);
		db_done(s);
		return;
	}
	assert_int_equal(db_bind_text(s, 1, "a\0b", 3), 0);
	assert_int_equal(db_bind_int64(s, 2, INT64_MIN), 0);
	assert_int_equal(db_bind_null(s, 3), 0);
	assert_int_equal(db_bind_cstr(s, 4, NULL), 0);
	assert_int_equal(db_step(s), DB_ROW);
	p = db_col_text(s, 0, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "a\0b", 3);
	assert_true(db_col_int64(s, 1) == INT64_MIN);
	assert_true(db_col_is_null(s, 2));
	assert_true(db_col_is_null(s, 3));
	assert_false(db_col_is_null(s, 0));
	db_done(s);
	/* Bindings are cleared by db_done. */
	assert_int_equal(db_prepare(f->c, "SELECT ?, ?, ?, ?", &s), 0);
	assert_int_equal(db_step(s), DB_ROW);
	assert_true(db_col_is_null(s, 0));
	db_done(s);
}

static void
test_store_pragmas_in_force(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;
	const char *p;

	assert_int_equal(db_prepare(f->c, "PRAGMA journal_mode", &s), 0);
	assert_int_equal(db_step(s), DB_ROW);
	p = db_col_text(s, 0, NULL);
	assert_non_null(p);
	assert_string_equal(p, "wal");
	db_done(s);
	assert_int_equal(query_int(f, "PRAGMA foreign_keys"), 1);
	assert_int_equal(query_int(f, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(query_int(f, "PRAGMA secure_delete"), 1);
	assert_int_equal(query_int(f, "PRAGMA trusted_schema"), 0);
	/* No memory map, whatever SQLite's build default (0048). */
	assert_int_equal(query_int(f, "PRAGMA mmap_size"), 0);
}

/* Every connection, not only the first, runs with the pragmas. */
static void *
pragmas_thread(void *arg)
{
	static const char *const ok = "ok";
	struct db_conn *c;
	struct db_stmt *s;
	const char *r = NULL;

	if (db_conn(arg, &c) != 0)
		return NULL;
	if (db_prepare(c, "PRAGMA synchronous", &s) == 0) {
		if (db_step(s) == DB_ROW && db_col_int64(s, 0) == 2)
			r = ok;
		db_done(s);
	}
	if (r != NULL && db_prepare(c, "PRAGMA foreign_keys", &s) == 0) {
		if (db_step(s) != DB_ROW || db_col_int64(s, 0) != 1)
			r = NULL;
		db_done(s);
	}
	return (void *)(uintptr_t)r;
}

static void
test_store_pragmas_on_every_connection(void **state)
{
	struct fixture *f = *state;
	pthread_t t;
	void *r = NULL;

	assert_int_equal(pthread_create(&t, NULL, pragmas_thread, f->db), 0);
	assert_int_equal(pthread_join(t, &r), 0);
	assert_non_null(r);
}

static void
d_redact_check(const char *url, const char *want)
{
	char *d = db_url_redact(url);

	assert_string_equal(d, want);
	free(d);
}

static void
test_store_db_open_urls(void **state)
{
	struct db *db = NULL;
	char dir[64], url[128], path[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pc-test-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/other.db", dir);
	assert_int_equal(db_open(url, "/nonexistent", &db), 0);
	assert_string_equal(db_describe(db), url);
	db_close(db);
	assert_int_equal(db_open("", dir, &db), 0);
	snprintf(path, sizeof(path), "sqlite:%s/portcullis.db", dir);
	assert_string_equal(db_describe(db), path);
	db_close(db);
	assert_int_equal(db_open("sqlite:", dir, &db), PC_ERR_CONFIG);
	assert_null(db);
	/* PostgreSQL: no connection yet, and no credentials described. */
	assert_int_equal(
	    db_open("postgres://u:secret@h/db?password=x", dir, &db), 0);
	assert_string_equal(db_describe(db), "postgres://h/db");
	db_close(db);
	assert_int_equal(db_open("postgresql://h:5432/db", dir, &db), 0);
	assert_string_equal(db_describe(db), "postgresql://h:5432/db");
	db_close(db);
	/* AU-03: libpq parses the URL; '?', '#' or '@' in it cut nothing. */
	assert_int_equal(db_open("postgresql://u:SE%3FCR%23ET@h:5/db?sslmode="
				 "disable",
			     dir, &db),
	    0);
	assert_string_equal(db_describe(db), "postgresql://h:5/db");
	db_close(db);
	{
		static const char *const urls[] = {
			"postgresql://u:SE?CR#ET@h/db",
			"postgresql://u:SE%3FCR%23ET@h:5/db?sslpassword=SECRET",
			"postgresql:///db?host=/run/"
			"pg&user=u&password=SE?CR#ET",
			"postgres://u:SE#CRET@h/db?password=SECRET#x",
			"postgresql://u@h/"
			"db?password=SE%3FCRET&sslmode=require",
		};

		for (size_t i = 0; i < PC_NELEM(urls); i++) {
			char *d = db_url_redact(urls[i]);

			assert_null(strstr(d, "SE"));
			assert_null(strstr(d, "CR"));
			free(d);
			if (db_open(urls[i], dir, &db) == 0) {
				assert_null(strstr(db_describe(db), "SE"));
				db_close(db);
			}
		}
		d_redact_check(
		    "postgresql://u:SE%3FCR%23ET@h:5/db?sslpassword=SECRET"
		    "&sslmode=require",
		    "postgresql://u:********@h:5/db?sslmode=require&"
		    "sslpassword=********");
		d_redact_check("postgresql:///db?host=/run/pg&port=6&user=u",
		    "postgresql://u@/db?host=/run/pg&port=6");
		d_redact_check("postgresql://u:SECRET@h/db?nosuch=SECRET",
		    DB_URL_UNPARSABLE);
		d_redact_check("sqlite:/x/y.db", "sqlite:/x/y.db");
	}
	assert_int_equal(db_open("postgres://", dir, &db), PC_ERR_CONFIG);
	assert_null(db);
	assert_int_equal(db_open("mysql://h/db", dir, &db), PC_ERR_CONFIG);
	assert_null(db);
	assert_int_equal(db_open("SQLITE:/x", dir, &db), PC_ERR_CONFIG);
	db_close(NULL);
	assert_int_equal(rmdir(dir), 0); /* nothing was created */
}

/* PostgreSQL: '?' inside a string literal is text, not a parameter. */
static void
test_store_pg_placeholders_outside_literals(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;
	const char *p;

	assert_int_equal(db_prepare(f->c, "SELECT '?''?', ? -- ?", &s), 0);
	assert_int_equal(db_bind_int64(s, 1, 42), 0);
	assert_int_equal(db_step(s), DB_ROW);
	p = db_col_text(s, 0, NULL);
	assert_non_null(p);
	assert_string_equal(p, "?'?");
	assert_int_equal(db_col_int64(s, 1), 42);
	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);
	/* A parameter index beyond the statement's is refused. */
	assert_int_equal(db_prepare(f->c, "SELECT '?''?', ? -- ?", &s), 0);
	assert_true(db_bind_int64(s, 2, 1) < 0);
	db_done(s);
}

/* Kills the backend of c from another connection. */
static void
kill_backend(struct fixture *f)
{
	struct db *other;
	struct db_conn *oc;
	struct db_stmt *s;
	int64_t pid;

	pid = query_int(f, "SELECT pg_backend_pid()");
	assert_int_equal(db_open(test_store_url(), f->dir, &other), 0);
	assert_int_equal(db_conn(other, &oc), 0);
	assert_int_equal(
	    db_prepare(oc, "SELECT pg_terminate_backend(?::integer)", &s), 0);
	assert_int_equal(db_bind_int64(s, 1, pid), 0);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_int64(s, 0), 1);
	db_done(s);
	db_close(other);
	usleep(200 * 1000);
}

/*
 * PostgreSQL: a connection the server ended while it sat idle is reset
 * before its next use, so the request it was taken for does not fail; one
 * that breaks under a statement fails that statement (fail closed) and is
 * reconnected at its next use; inside a transaction it stays failed until
 * the caller rolls back, so no later write runs outside it.
 */
static void
test_store_pg_reconnect(void **state)
{
	struct fixture *f = *state;
	struct store_signing_key a = key("k1", "ES256", 1, 1);
	struct db_stmt *s;

	migrate_ok(f);
	assert_int_equal(query_int(f, "SELECT 2"), 2); /* prepared */
	/* Ended while idle: noticed and reset before use. */
	kill_backend(f);
	assert_int_equal(query_int(f, select_one), 1);
	kill_backend(f);
	assert_int_equal(db_prepare(f->c, "SELECT 2", &s), 0); /* cached */
	assert_int_equal(db_step(s), DB_ROW); /* prepared again */
	assert_int_equal(db_col_int64(s, 0), 2);
	db_done(s);
	/* Ended between prepare and step: that statement fails. */
	assert_int_equal(db_prepare(f->c, "SELECT 2", &s), 0);
	kill_backend(f);
	assert_true(db_step(s) < 0);
	db_done(s);
	assert_int_equal(query_int(f, "SELECT 2"), 2);
	assert_int_equal(query_int(f, select_one), 1);
	assert_int_equal(db_ping(f->c), 0);

	assert_int_equal(db_begin(f->c, true), 0);
	kill_backend(f);
	assert_true(store_signing_key_insert(f->db, &a) < 0);
	assert_true(store_signing_key_insert(f->db, &a) < 0);
	assert_true(db_commit(f->c) < 0);
	db_rollback(f->c);
	assert_int_equal(query_int(f, "SELECT count(*) FROM signing_keys"), 0);
	assert_int_equal(store_signing_key_insert(f->db, &a), 0);
	assert_int_equal(query_int(f, "SELECT count(*) FROM signing_keys"), 1);
}

/*
 * PostgreSQL: no lock wait is unbounded. Every session waits at most 10 s
 * for a lock (the write lock included) unless the operator set their own
 * lock_timeout, which wins; a write lock held elsewhere past it is
 * PC_ERR_BUSY (a 503 at the endpoints), not a stall.
 */
static void
test_store_pg_lock_timeout(void **state)
{
	struct fixture *f = *state;
	struct db *holder, *waiter;
	struct db_conn *hc, *wc;
	struct db_stmt *s;
	char url[1024];

	migrate_ok(f);
	assert_int_equal(
	    query_int(f, "SELECT current_setting('lock_timeout') = '10s'"), 1);
	/* The operator's value, here 300 ms, wins. */
	snprintf(url, sizeof(url), "%s&options=-c%%20lock_timeout%%3D300ms",
	    test_store_url());
	assert_int_equal(db_open(test_store_url(), f->dir, &holder), 0);
	assert_int_equal(db_open(url, f->dir, &waiter), 0);
	assert_int_equal(db_conn(holder, &hc), 0);
	assert_int_equal(db_conn(waiter, &wc), 0);
	assert_int_equal(
	    db_prepare(
		wc, "SELECT current_setting('lock_timeout') = '300ms'", &s),
	    0);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_int64(s, 0), 1);
	db_done(s);
	assert_int_equal(db_begin(hc, true), 0); /* holds the write lock */
	assert_int_equal(db_begin(wc, true), PC_ERR_BUSY);
	db_rollback(hc);
	assert_int_equal(db_begin(wc, true), 0);
	db_rollback(wc);
	db_close(waiter);
	db_close(holder);
}

/* PostgreSQL: an unreachable server is PC_ERR_STORE, not a crash. */
static void
test_store_pg_unreachable(void **state)
{
	struct db *db;
	struct db_conn *c = NULL;

	(void)state;
	assert_int_equal(db_open("postgresql:///portcullis?host=/nonexistent"
				 "&port=1&connect_timeout=2",
			     "/nonexistent", &db),
	    0);
	assert_int_equal(db_conn(db, &c), PC_ERR_STORE);
	assert_null(c);
	assert_int_equal(db_conn(db, &c), PC_ERR_STORE);
	db_close(db);
}

/*
 * A fake PostgreSQL on a Unix socket: it counts the connections libpq
 * makes and either closes them at once (a server that refuses) or holds
 * them open without a word (a server that hangs).
 */
struct fake_pg {
	char dir[64];
	char path[96];
	int fd;
	bool silent;
	volatile bool stop;
	volatile int accepted;
	int held[16];
	pthread_t th;
};

static void *
fake_pg_run(void *arg)
{
	struct fake_pg *fp = arg;
	struct pollfd p = { .fd = fp->fd, .events = POLLIN };

	while (!fp->stop) {
		int s;

		if (poll(&p, 1, 20) <= 0)
			continue;
		if ((s = accept(fp->fd, NULL, NULL)) < 0)
			continue;
		if (fp->silent && fp->accepted < (int)PC_NELEM(fp->held))
			fp->held[fp->accepted] = s;
		else
			close(s);
		__atomic_add_fetch(&fp->accepted, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void
fake_pg_start(struct fake_pg *fp, bool silent)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(fp, 0, sizeof(*fp));
	fp->silent = silent;
	snprintf(fp->dir, sizeof(fp->dir), "/tmp/pc-test-fakepg-XXXXXX");
	assert_non_null(mkdtemp(fp->dir));
	snprintf(fp->path, sizeof(fp->path), "%s/.s.PGSQL.7", fp->dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", fp->path);
	fp->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fp->fd >= 0);
	assert_int_equal(bind(fp->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fp->fd, 16), 0);
	assert_int_equal(pthread_create(&fp->th, NULL, fake_pg_run, fp), 0);
}

static int
fake_pg_accepted(struct fake_pg *fp)
{
	usleep(50 * 1000); /* let the thread accept what is queued */
	return __atomic_load_n(&fp->accepted, __ATOMIC_SEQ_CST);
}

static void
fake_pg_stop(struct fake_pg *fp)
{
	fp->stop = true;
	pthread_join(fp->th, NULL);
	for (int i = 0;
	     fp->silent && i < fp->accepted && i < (int)PC_NELEM(fp->held); i++)
		close(fp->held[i]);
	close(fp->fd);
	unlink(fp->path);
	rmdir(fp->dir);
}

static struct db *
fake_pg_db(struct fake_pg *fp, const char *extra)
{
	char url[256];
	struct db *db;

	snprintf(url, sizeof(url), "postgresql:///x?host=%s&port=7%s", fp->dir,
	    extra);
	assert_int_equal(db_open(url, "/nonexistent", &db), 0);
	return db;
}

/*
 * PostgreSQL: after a failed connection attempt the pool backs off. Uses
 * inside the delay fail at once without touching the server; the next
 * attempt waits 100 ms, the one after 200 ms.
 */
static void
test_store_pg_reconnect_backoff(void **state)
{
	struct fake_pg fp;
	struct db *db;
	struct db_conn *c = NULL;

	(void)state;
	fake_pg_start(&fp, false);
	db = fake_pg_db(&fp, "");
	assert_int_equal(db_conn(db, &c), PC_ERR_STORE);
	assert_int_equal(fake_pg_accepted(&fp), 1);
	/* Within 100 ms: no attempt. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(db_conn(db, &c), PC_ERR_STORE);
	assert_int_equal(fake_pg_accepted(&fp), 1);
	usleep(120 * 1000);
	assert_int_equal(db_conn(db, &c), PC_ERR_STORE);
	assert_int_equal(fake_pg_accepted(&fp), 2);
	/* The delay doubled: 100 ms later still nothing. */
	assert_int_equal(db_conn(db, &c), PC_ERR_STORE);
	assert_int_equal(fake_pg_accepted(&fp), 2);
	usleep(250 * 1000);
	assert_int_equal(db_conn(db, &c), PC_ERR_STORE);
	assert_int_equal(fake_pg_accepted(&fp), 3);
	assert_null(c);
	db_close(db);
	fake_pg_stop(&fp);
}

/*
 * PostgreSQL: a server that accepts and then says nothing costs one
 * connect_timeout (5 s by default; the URL's own value wins), not a hang.
 */
static void
test_store_pg_connect_timeout(void **state)
{
	struct fake_pg fp;
	struct db *db;
	struct db_conn *c = NULL;
	uint64_t t0, ms;

	(void)state;
	fake_pg_start(&fp, true);
	db = fake_pg_db(&fp, "");
	t0 = clock_mono_ms();
	assert_int_equal(db_conn(db, &c), PC_ERR_STORE);
	ms = clock_mono_ms() - t0;
	assert_true(ms >= 4500 && ms < 9000);
	db_close(db);

	db = fake_pg_db(&fp, "&connect_timeout=2");
	t0 = clock_mono_ms();
	assert_int_equal(db_conn(db, &c), PC_ERR_STORE);
	ms = clock_mono_ms() - t0;
	assert_true(ms >= 1500 && ms < 4500);
	db_close(db);
	fake_pg_stop(&fp);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
/* What both stores run; then each store's own. */
#define BOTH_STORES \
	T(test_store_migrate_from_empty), T(test_store_migrate_is_idempotent), \
	    T(test_store_migrate_conflicting_table), \
	    T(test_store_migrate_all_or_nothing), \
	    T(test_store_migrate_leaves_newer_schema_alone), \
	    T(test_store_migrate_leaves_latest_plus_one_alone), \
	    T(test_store_schema_version_leaves_no_trace), \
	    T(test_store_signing_keys_round_trip), \
	    T(test_store_signing_key_insert_first), \
	    T(test_store_signing_key_conflict), T(test_store_transactions), \
	    T(test_store_db_ping), T(test_store_db_ping_fails_without_schema), \
	    T(test_store_statement_cache_reuse), \
	    T(test_store_connection_per_thread), \
	    T(test_store_bind_and_columns), \
	    cmocka_unit_test(test_store_db_open_urls), \
	    cmocka_unit_test(test_store_pg_reconnect_backoff), \
	    cmocka_unit_test(test_store_pg_connect_timeout)
	const struct CMUnitTest tests[] = {
		BOTH_STORES,
		T(test_store_pragmas_in_force),
		T(test_store_pragmas_on_every_connection),
	};
	/* The same, less SQLite's pragmas, plus the libpq specifics. */
	const struct CMUnitTest pg_tests[] = {
		BOTH_STORES,
		T(test_store_pg_placeholders_outside_literals),
		T(test_store_pg_reconnect),
		T(test_store_pg_lock_timeout),
		cmocka_unit_test(test_store_pg_unreachable),
	};
#undef BOTH_STORES
#undef T

	/* Errors only: the failure cases here log on purpose. */
	log_init(LOG_ERROR);
	if (test_store_is_pg())
		return cmocka_run_group_tests_name(
		    "store_pg", pg_tests, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
