/*
 * The PostgreSQL backend (issue 5, first slice): libpq, one connection per
 * thread, server-side prepared statements with text parameters and text
 * results.
 *
 * Isolation: a write transaction (db_begin(c, true)) takes one
 * transaction-scoped advisory lock, so write transactions are serialized
 * across every connection and node, as SQLite's BEGIN IMMEDIATE serializes
 * them: read-then-write code written for SQLite (the audit chain's next
 * seq, migrations) keeps its meaning. A read transaction is REPEATABLE
 * READ (one snapshot, like SQLite's). A statement outside a transaction
 * runs alone under READ COMMITTED: a single conditional UPDATE (e.g.
 * "... SET used_at = ? WHERE ... AND used_at IS NULL") re-checks its WHERE
 * after waiting for a concurrent writer's row lock, so exactly one of
 * several racing callers changes the row.
 *
 * A broken connection is reset at its next use outside a transaction (a
 * transaction that lost its connection fails; nothing of it was committed).
 * Connection attempts are backed off pool-wide: after a failed one, no
 * connection of this db tries again before a delay that doubles from
 * BACKOFF_MIN_MS to BACKOFF_MAX_MS (zero again after a success), and then
 * only one thread at a time tries. Meanwhile every use of a broken
 * connection fails at once with PC_ERR_STORE, so no request waits on a
 * dead server for more than one connect_timeout.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <libpq-fe.h>

#include "store/db_internal.h"
#include "util/log.h"

#define MAX_PARAMS 64
/* How long a statement waits for a lock unless the operator said. */
#define LOCK_TIMEOUT "10s"

/* The key of the advisory lock every write transaction takes. */
#define WRITE_LOCK_KEY "7046757263756c6c"     /* arbitrary, fixed */
#define SINGLETON_LOCK_KEY "7063636861696e72" /* DB_WRITE_SINGLETON's */

/* Connection attempts after a failure: 100 ms doubling up to 5 s. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct pg_conn;

/*
 * Shared by every connection of one db (db->backend): when the next
 * connection attempt may start, and whether one is running.
 */
struct pg_pool {
	pthread_mutex_t mu;
	uint64_t next_ms;  /* monotonic; no attempt before it */
	uint64_t delay_ms; /* the wait after the next failure; 0: none yet */
	bool trying;	   /* one attempt at a time */
};

struct pg_stmt {
	struct db_stmt_head head;
	const char *sql; /* cache key: address of the literal */
	struct pg_conn *conn;
	char name[16];
	bool prepared; /* on the server, for this session */
	int nparams;
	char *vals[MAX_PARAMS];
	int lens[MAX_PARAMS];
	PGresult *res;
	int row, nrows;
};

struct pg_conn {
	struct db_conn base;
	PGconn *h;
	bool in_tx;
	bool unset; /* connected, but the session settings failed */
	struct pg_stmt cache[DB_STMT_CACHE];
	unsigned ncache;
	struct db_stmt_index index;
};

static void
log_pg(const char *event, PGconn *h, const char *what)
{
	struct log_line l;

	log_begin(&l, LOG_ERROR, event);
	log_str(&l, "what", what);
	if (h != NULL)
		log_str(&l, "error", PQerrorMessage(h));
	log_end(&l);
}

/* A failed result's SQLSTATE as a PC_ERR_*. */
static int
map_result(PGconn *h, const PGresult *res)
{
	const char *st;

	if (h == NULL || PQstatus(h) == CONNECTION_BAD || res == NULL)
		return PC_ERR_STORE;
	st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (st == NULL)
		return PC_ERR_STORE;
	/* Class 23, integrity constraint violation (23505 unique, FK, ...):
	 * the same PC_ERR_CONFLICT as SQLITE_CONSTRAINT. */
	if (strncmp(st, "23", 2) == 0)
		return PC_ERR_CONFLICT;
	/* Serialization failure, deadlock, lock not available: retry. */
	if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
	    strcmp(st, "55P03") == 0)
		return PC_ERR_BUSY;
	if (strcmp(st, "54000") == 0)
		return PC_ERR_TOO_LARGE;
	return PC_ERR_STORE;
}

static bool
is_constraint(const PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return st != NULL && strncmp(st, "23", 2) == 0;
}

static int
pg_open(struct db *db, const char *target)
{
	struct pg_pool *p = xcalloc(1, sizeof(*p));

	(void)target;
	pthread_mutex_init(&p->mu, NULL);
	db->backend = p;
	return 0;
}

static void
pg_close(struct db *db)
{
	struct pg_pool *p = db->backend;

	pthread_mutex_destroy(&p->mu);
	free(p);
	db->backend = NULL;
}

/*
 * May this thread try to connect now? While the pool is healthy (no
 * failure since the last success) every thread may. After a failure only
 * one thread at a time may, once the delay has passed (*probe is then
 * true). Every true must be followed by attempt_end().
 */
static bool
attempt_begin(struct db *db, bool *probe)
{
	struct pg_pool *p = db->backend;
	bool ok;

	pthread_mutex_lock(&p->mu);
	*probe = p->delay_ms != 0;
	ok = !*probe || (!p->trying && clock_mono_ms() >= p->next_ms);
	if (ok && *probe)
		p->trying = true;
	pthread_mutex_unlock(&p->mu);
	return ok;
}

static void
attempt_end(struct db *db, bool probe, bool connected)
{
	struct pg_pool *p = db->backend;

	pthread_mutex_lock(&p->mu);
	if (probe)
		p->trying = false;
	if (connected) {
		p->delay_ms = 0;
		p->next_ms = 0;
	} else if (probe || p->delay_ms == 0) {
		/* Threads that tried together while healthy and all failed
		 * start the backoff once, not once each. */
		p->delay_ms = p->delay_ms == 0		? BACKOFF_MIN_MS
		    : p->delay_ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS
							: p->delay_ms * 2;
		p->next_ms = clock_mono_ms() + p->delay_ms;
	}
	pthread_mutex_unlock(&p->mu);
}

/*
 * Connects with bounded waits. Each keyword comes before dbname (the URL),
 * so a value the operator put in the URL wins: libpq keeps the last one.
 * connect_timeout bounds a connection attempt (per address); the TCP
 * keepalives and tcp_user_timeout notice a peer that vanished while a
 * statement waits. None of them applies to a Unix socket, where a dead
 * server refuses at once.
 */
static PGconn *
connect_bounded(const char *url)
{
	static const char *const keys[] = { "connect_timeout", "keepalives",
		"keepalives_idle", "keepalives_interval", "keepalives_count",
		"tcp_user_timeout", "dbname", NULL };
	const char *vals[] = { "5", "1", "10", "3", "3", "15000", url, NULL };
	PGconn *h = PQconnectdbParams(keys, vals, 1);

	if (h == NULL)
		fatal("libpq: out of memory");
	return h;
}

static int
setup_session(struct pg_conn *c)
{
	PGresult *res;
	int r = 0;

	/*
	 * Plain text, UTC, no notices on stderr, and a bounded wait for any
	 * lock (the write lock included): a session that holds one for long
	 * (a stuck node, a manual psql) makes writes fail with PC_ERR_BUSY,
	 * a 503, instead of stalling every node. An operator's own
	 * lock_timeout (URL options, role or database default) is kept.
	 */
	res = PQexec(c->h,
	    "SET client_encoding = 'UTF8';"
	    "SET TIME ZONE 'UTC';"
	    "SET client_min_messages = warning;"
	    "SELECT set_config('lock_timeout', '" LOCK_TIMEOUT "', false)"
	    " WHERE current_setting('lock_timeout') = '0'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_pg("store.open", c->h, "session settings");
		r = PC_ERR_STORE;
	}
	PQclear(res);
	return r;
}

static void
quiet_notices(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;
}

static int
pg_conn_open(struct db *db, struct db_conn **out)
{
	struct pg_conn *c;
	bool probe;

	if (!attempt_begin(db, &probe))
		return PC_ERR_STORE; /* backing off: fail at once */
	c = xcalloc(1, sizeof(*c));
	c->h = connect_bounded(db->target);
	if (PQstatus(c->h) != CONNECTION_OK) {
		/* libpq's message names host and user, never the password. */
		log_pg("store.open", c->h, db->describe);
		PQfinish(c->h);
		free(c);
		attempt_end(db, probe, false);
		return PC_ERR_STORE;
	}
	PQsetNoticeReceiver(c->h, quiet_notices, NULL);
	if (setup_session(c) != 0) {
		PQfinish(c->h);
		free(c);
		attempt_end(db, probe, false);
		return PC_ERR_STORE;
	}
	attempt_end(db, probe, true);
	*out = &c->base;
	return 0;
}

static void
stmt_clear(struct pg_stmt *s)
{
	PQclear(s->res);
	s->res = NULL;
	s->row = s->nrows = 0;
	for (int i = 0; i < s->nparams; i++) {
		free(s->vals[i]);
		s->vals[i] = NULL;
		s->lens[i] = 0;
	}
}

static void
pg_conn_close(struct db_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;

	for (unsigned i = 0; i < c->ncache; i++)
		stmt_clear(&c->cache[i]);
	PQfinish(c->h);
	free(c);
}

/*
 * Outside a transaction nothing is owed to us, so an idle connection with
 * anything to read (the server's "terminating connection" message, EOF,
 * an error) belongs to a server that went away while it sat idle: a
 * restart, a failover. Noticing it here (one poll, no wait) lets it be
 * reset before use instead of failing the request it was taken for.
 */
static bool
idle_and_quiet(PGconn *h)
{
	struct pollfd p = { .fd = PQsocket(h), .events = POLLIN };

	return p.fd >= 0 && poll(&p, 1, 0) == 0;
}

/*
 * Outside a transaction, a broken connection is reset (prepared statements
 * are per session: they are prepared again on next use) unless the pool
 * is backing off, when it fails at once. Inside one it stays broken until
 * the caller rolls back: its earlier writes are gone and must not be
 * followed by later ones in autocommit.
 */
static int
ensure_conn(struct pg_conn *c)
{
	struct db *db = c->base.db;
	bool probe;

	if (PQstatus(c->h) == CONNECTION_OK && !c->unset &&
	    (c->in_tx || idle_and_quiet(c->h)))
		return 0;
	if (c->in_tx || !attempt_begin(db, &probe))
		return PC_ERR_STORE;
	PQreset(c->h);
	for (unsigned i = 0; i < c->ncache; i++)
		c->cache[i].prepared = false;
	if (PQstatus(c->h) != CONNECTION_OK) {
		log_pg("store.reconnect", c->h, db->describe);
		attempt_end(db, probe, false);
		return PC_ERR_STORE;
	}
	PQsetNoticeReceiver(c->h, quiet_notices, NULL);
	/* Not used before its settings are: reset again next time. */
	c->unset = setup_session(c) != 0;
	attempt_end(db, probe, !c->unset);
	if (c->unset)
		return PC_ERR_STORE;
	log_msg(LOG_INFO, "store.reconnect", "reconnected to PostgreSQL");
	return 0;
}

static const char *
pg_errmsg(struct db_conn *base)
{
	return PQerrorMessage(((struct pg_conn *)base)->h);
}

static int
run(struct pg_conn *c, const char *sql, const char *expect_tag)
{
	PGresult *res;
	ExecStatusType st;
	int r = 0;

	if ((r = ensure_conn(c)) != 0)
		return r;
	res = PQexec(c->h, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		r = map_result(c->h, res);
		if (!is_constraint(res))
			log_pg("store.exec", c->h, sql);
	} else if (expect_tag != NULL &&
	    strcmp(PQcmdStatus(res), expect_tag) != 0) {
		r = PC_ERR_STORE; /* e.g. COMMIT of an aborted transaction */
	}
	PQclear(res);
	return r;
}

static int
pg_exec(struct db_conn *base, const char *sql)
{
	return run((struct pg_conn *)base, sql, NULL);
}

/*
 * Transaction control: named prepared statements of this session, from
 * the statement cache like any query (the extended protocol prepares
 * BEGIN, COMMIT, SAVEPOINT...), so the server never parses them again.
 * A write BEGIN is two statements (BEGIN, then the write lock): they go
 * in one round trip, pipelined, as the one multi-statement simple query
 * before them did.
 */
#define TX_MAX 2

static int
pg_prepare(struct db_conn *base, const char *sql, struct db_stmt **out);

static const char *const begin_write[] = {
	"BEGIN ISOLATION LEVEL READ COMMITTED",
	"SELECT pg_advisory_xact_lock(x'" WRITE_LOCK_KEY "'::bigint)",
};
static const char *const begin_read[] = {
	"BEGIN ISOLATION LEVEL REPEATABLE READ",
};

/* One statement's result: 0 or its error (logged unless a constraint). */
static int
tx_result(struct pg_conn *c, PGresult *res, const struct pg_stmt *s,
    const char *expect_tag)
{
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		if (st != PGRES_PIPELINE_ABORTED && !is_constraint(res))
			log_pg("store.exec", c->h, s->sql);
		return map_result(c->h, res);
	}
	if (expect_tag != NULL && strcmp(PQcmdStatus(res), expect_tag) != 0)
		return PC_ERR_STORE; /* e.g. COMMIT of an aborted transaction */
	return 0;
}

/* n > 1 prepared statements in one pipeline: the first error, or 0. */
static int
tx_pipeline(struct pg_conn *c, struct pg_stmt *const *s, int n)
{
	PGresult *res;
	bool ok = PQenterPipelineMode(c->h) == 1;
	int r = 0, e;

	for (int i = 0; ok && i < n; i++)
		ok = PQsendQueryPrepared(
			 c->h, s[i]->name, 0, NULL, NULL, NULL, 0) == 1;
	ok = ok && PQpipelineSync(c->h) == 1;
	for (int i = 0; ok && i < n; i++) {
		/* Each statement's result, then a NULL that ends it. */
		if ((res = PQgetResult(c->h)) == NULL) {
			ok = false;
			break;
		}
		e = tx_result(c, res, s[i], NULL);
		r = r != 0 ? r : e;
		do
			PQclear(res);
		while ((res = PQgetResult(c->h)) != NULL);
	}
	if (ok) {
		res = PQgetResult(c->h);
		ok = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
		PQclear(res);
	}
	if (!ok || PQexitPipelineMode(c->h) != 1) {
		/* Out of step with the server: reset before its next use. */
		log_pg("store.exec", c->h, "pipeline");
		c->unset = true;
		return r != 0 ? r : PC_ERR_STORE;
	}
	return r;
}

static int
tx_run(
    struct pg_conn *c, const char *const *sqls, int n, const char *expect_tag)
{
	struct pg_stmt *s[TX_MAX];
	struct db_stmt *st;
	PGresult *res;
	int r;

	for (int i = 0; i < n; i++) {
		if ((r = pg_prepare(&c->base, sqls[i], &st)) != 0)
			return r;
		s[i] = (struct pg_stmt *)(void *)st;
	}
	if (n > 1)
		return tx_pipeline(c, s, n);
	res = PQexecPrepared(c->h, s[0]->name, 0, NULL, NULL, NULL, 0);
	r = tx_result(c, res, s[0], expect_tag);
	PQclear(res);
	return r;
}

static int
tx_one(struct pg_conn *c, const char *sql, const char *expect_tag)
{
	return tx_run(c, &sql, 1, expect_tag);
}

static int
pg_begin_write(struct db_conn *base, enum db_write mode)
{
	struct pg_conn *c = (struct pg_conn *)base;
	PGresult *res;
	int r = mode == DB_WRITE_LOCKED ? tx_run(c, begin_write, 2, NULL)
					: tx_one(c, begin_write[0], NULL);

	if (r == 0 && mode == DB_WRITE_SINGLETON) { /* never waits */
		res = PQexec(c->h,
		    "SELECT pg_try_advisory_xact_lock(x'" SINGLETON_LOCK_KEY
		    "'::bigint)");
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			r = map_result(c->h, res);
		else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
			r = PC_ERR_BUSY;
		PQclear(res);
	}
	c->in_tx = r == 0;
	if (r != 0 && PQstatus(c->h) == CONNECTION_OK &&
	    PQtransactionStatus(c->h) != PQTRANS_IDLE)
		(void)tx_one(c, "ROLLBACK", NULL);
	return r;
}

static int
pg_begin(struct db_conn *base, bool write)
{
	struct pg_conn *c = (struct pg_conn *)base;
	int r;

	if (write)
		return pg_begin_write(base, DB_WRITE_LOCKED);
	r = tx_run(c, begin_read, 1, NULL);
	if (r == 0)
		c->in_tx = true;
	else if (PQstatus(c->h) == CONNECTION_OK &&
	    PQtransactionStatus(c->h) != PQTRANS_IDLE)
		(void)tx_one(c, "ROLLBACK", NULL);
	return r;
}

static int
pg_commit(struct db_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;
	int r;

	if (PQstatus(c->h) != CONNECTION_OK) {
		c->in_tx = false;
		return PC_ERR_STORE;
	}
	r = tx_one(c, "COMMIT", "COMMIT");
	if (r != 0 && PQstatus(c->h) == CONNECTION_OK &&
	    PQtransactionStatus(c->h) != PQTRANS_IDLE)
		(void)tx_one(c, "ROLLBACK", NULL);
	c->in_tx = false;
	return r;
}

static void
pg_rollback(struct db_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;

	if (PQstatus(c->h) == CONNECTION_OK &&
	    PQtransactionStatus(c->h) != PQTRANS_IDLE)
		(void)tx_one(c, "ROLLBACK", NULL);
	c->in_tx = false;
}

static int
prepare_on_server(struct pg_conn *c, struct pg_stmt *s)
{
	PGresult *res;
	char *text;
	int np, r = 0;

	if ((np = db_pg_translate(s->sql, MAX_PARAMS, &text)) < 0) {
		log_msg(LOG_ERROR, "store.prepare", "too many parameters");
		return PC_ERR_INTERNAL;
	}
	res = PQprepare(c->h, s->name, text, np, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_pg("store.prepare", c->h, s->sql);
		r = map_result(c->h, res);
	} else {
		s->prepared = true;
		s->nparams = np;
	}
	PQclear(res);
	free(text);
	return r;
}

static int
pg_prepare(struct db_conn *base, const char *sql, struct db_stmt **out)
{
	struct pg_conn *c = (struct pg_conn *)base;
	struct pg_stmt *s = NULL;
	int i, r;

	if ((r = ensure_conn(c)) != 0)
		return r;
	if ((i = db_stmt_find(&c->index, sql)) >= 0) {
		s = &c->cache[i];
		if (!s->prepared && (r = prepare_on_server(c, s)) != 0)
			return r;
	} else {
		/* Statements are string literals, so the set is finite. */
		if (c->ncache == DB_STMT_CACHE)
			fatal("store: more than %d distinct statements",
			    DB_STMT_CACHE);
		s = &c->cache[c->ncache];
		memset(s, 0, sizeof(*s));
		s->head.ops = &db_pg_ops;
		s->sql = sql;
		s->conn = c;
		snprintf(s->name, sizeof(s->name), "pc%u", c->ncache);
		if ((r = prepare_on_server(c, s)) != 0)
			return r;
		db_stmt_add(&c->index, sql, c->ncache++);
	}
	*out = (struct db_stmt *)(void *)s;
	return 0;
}

static int
set_param(struct pg_stmt *s, int idx, char *v, int len)
{
	if (idx < 1 || idx > s->nparams) {
		free(v);
		return PC_ERR_INTERNAL;
	}
	free(s->vals[idx - 1]);
	s->vals[idx - 1] = v;
	s->lens[idx - 1] = len;
	return 0;
}

static int
pg_bind_text(struct db_stmt *st, int idx, const char *v, size_t len)
{
	struct pg_stmt *s = (struct pg_stmt *)(void *)st;

	if (len > INT32_MAX)
		return PC_ERR_TOO_LARGE;
	/* Text parameters end at a NUL: a value holding one is refused. */
	if (memchr(v, '\0', len) != NULL)
		return PC_ERR_INVALID;
	return set_param(s, idx, xstrndup(v, len), (int)len);
}

static int
pg_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	struct pg_stmt *s = (struct pg_stmt *)(void *)st;
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	return set_param(s, idx, xstrdup(buf), n);
}

static int
pg_bind_null(struct db_stmt *st, int idx)
{
	struct pg_stmt *s = (struct pg_stmt *)(void *)st;

	return set_param(s, idx, NULL, 0);
}

static int
pg_step(struct db_stmt *st)
{
	struct pg_stmt *s = (struct pg_stmt *)(void *)st;
	struct pg_conn *c = s->conn;
	ExecStatusType rs;
	int r;

	if (s->res != NULL)
		return ++s->row < s->nrows ? DB_ROW : DB_DONE;
	if (PQstatus(c->h) != CONNECTION_OK || !s->prepared)
		return PC_ERR_STORE; /* broken since db_prepare() */
	s->res = PQexecPrepared(c->h, s->name, s->nparams,
	    (const char *const *)s->vals, s->lens, NULL, 0);
	rs = PQresultStatus(s->res);
	if (rs == PGRES_TUPLES_OK) {
		s->nrows = PQntuples(s->res);
		s->row = 0;
		return s->nrows > 0 ? DB_ROW : DB_DONE;
	}
	if (rs == PGRES_COMMAND_OK) {
		s->nrows = s->row = 0;
		return DB_DONE;
	}
	r = map_result(c->h, s->res);
	if (!is_constraint(s->res))
		log_pg("store.step", c->h, s->sql);
	if (PQstatus(c->h) != CONNECTION_OK)
		s->prepared = false;
	PQclear(s->res);
	s->res = NULL;
	return r;
}

static bool
have_row(const struct pg_stmt *s, int col)
{
	return s->res != NULL && s->row < s->nrows && col >= 0 &&
	    col < PQnfields(s->res);
}

static const char *
pg_col_text(struct db_stmt *st, int col, size_t *len)
{
	struct pg_stmt *s = (struct pg_stmt *)(void *)st;

	if (!have_row(s, col) || PQgetisnull(s->res, s->row, col)) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = (size_t)PQgetlength(s->res, s->row, col);
	return PQgetvalue(s->res, s->row, col);
}

static int64_t
pg_col_int64(struct db_stmt *st, int col)
{
	const char *p = pg_col_text(st, col, NULL);

	if (p == NULL)
		return 0;
	/* A boolean expression comes back as t/f (SQLite gives 1/0). */
	if (p[0] == 't' && p[1] == '\0')
		return 1;
	if (p[0] == 'f' && p[1] == '\0')
		return 0;
	return strtoll(p, NULL, 10);
}

static bool
pg_col_is_null(struct db_stmt *st, int col)
{
	struct pg_stmt *s = (struct pg_stmt *)(void *)st;

	return !have_row(s, col) || PQgetisnull(s->res, s->row, col);
}

static void
pg_done(struct db_stmt *st)
{
	stmt_clear((struct pg_stmt *)(void *)st);
}

const struct db_ops db_pg_ops = {
	.name = "postgres",
	.group_commit = true,
	.open = pg_open,
	.close = pg_close,
	.conn_open = pg_conn_open,
	.conn_close = pg_conn_close,
	.errmsg = pg_errmsg,
	.exec = pg_exec,
	.begin = pg_begin,
	.begin_write = pg_begin_write,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.prepare = pg_prepare,
	.bind_text = pg_bind_text,
	.bind_int64 = pg_bind_int64,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.col_text = pg_col_text,
	.col_int64 = pg_col_int64,
	.col_is_null = pg_col_is_null,
	.done = pg_done,
};
