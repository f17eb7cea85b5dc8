/*
 * Login-throttle and mail-limit counters (SECURITY.md LG-03, LG-04, RS-07,
 * DS-04). The policy lives in src/auth/throttle.c; this file only reads
 * and changes counters, each operation in one transaction, so nodes that
 * share the store see the same numbers and cannot both slip under a limit.
 *
 * A sign-in attempt is counted before its password is checked, in the
 * same transaction that checks the limits (store_throttle_login_begin):
 * the counts go up first, the caller's policy sees what was there before,
 * and a refusal rolls the counts back. The attempt then stays counted as
 * a failure unless store_throttle_login_end says it was a success (or was
 * never checked), so N concurrent attempts count as N.
 *
 * The mail limit is a conditional upsert ("count + 1 WHERE count <
 * limit", RETURNING the row): on SQLite the write lock is taken up front,
 * and on PostgreSQL ON CONFLICT DO UPDATE locks the row and re-checks the
 * WHERE, so the check and the count are one step on both.
 */
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

#define SCOPE_IP "ip"
#define SCOPE_SUBNET "subnet"
#define SCOPE_GLOBAL "global"
#define SCOPE_MAIL_ACCOUNT "mail_account"
#define SCOPE_MAIL_IP "mail_ip"
#define SCOPE_MAIL_PAIR "mail_pair"
#define SCOPE_CLIENT_IP "client_ip"
#define SCOPE_CLIENT_PAIR "client_pair"
#define SCOPE_APIKEY_IP "apikey_ip"
#define GLOBAL_KEY "*"

/*
 * What a transaction function returns to have store_tx() roll back a
 * decision (a refused attempt, a mail over a limit) rather than a store
 * failure; the caller tells the two apart by a flag the function set.
 */
#define UNDO PC_ERR_PERM

static bool
key_ok(const char *k)
{
	return k != NULL && k[0] != '\0' &&
	    strnlen(k, STORE_THROTTLE_KEY_MAX + 1) <= STORE_THROTTLE_KEY_MAX;
}

/* One statement as a write transaction of its own (store_tx). */
struct exec_arg {
	const char *sql;
	const struct q_arg *args;
	int64_t *rows;
};

static int
exec_tx(struct db_conn *c, void *arg)
{
	const struct exec_arg *e = arg;

	return q_exec(c, e->sql, e->args, e->rows);
}

static int
window_count(struct db_conn *c, const char *scope, const char *key,
    int64_t window_start, int64_t *out)
{
	int r;

	*out = 0;
	r = q_one(c,
	    "SELECT count FROM throttle_windows"
	    " WHERE scope = ? AND key = ? AND window_start = ?",
	    Q_ARGS(QA_TEXT(scope), QA_TEXT(key), QA_INT(window_start)),
	    Q_COLS(QC_INT(out)));
	return r == PC_ERR_NOT_FOUND ? 0 : r;
}

/* count + 1 for (scope, key, window_start); the three below add to it. */
#define WINDOW_ADD \
	"INSERT INTO throttle_windows (scope, key, window_start, count)" \
	" VALUES (?, ?, ?, 1) ON CONFLICT (scope, key, window_start)" \
	" DO UPDATE SET count = throttle_windows.count + 1"

/* count + 1 for (scope, key, window_start), unconditionally. */
static int
window_add(
    struct db_conn *c, const char *scope, const char *key, int64_t window_start)
{
	return q_exec(c, WINDOW_ADD,
	    Q_ARGS(QA_TEXT(scope), QA_TEXT(key), QA_INT(window_start)), NULL);
}

/*
 * count + 1 for (scope, key, window_start) only while count < limit.
 * *counted says whether it did.
 */
static int
window_add_below(struct db_conn *c, const char *scope, const char *key,
    int64_t window_start, int64_t limit, bool *counted)
{
	int r;

	*counted = false;
	if (limit < 1)
		return 0; /* the insert path would count past a zero limit */
	r = q_one(c,
	    WINDOW_ADD " WHERE throttle_windows.count < ? RETURNING count",
	    Q_ARGS(QA_TEXT(scope), QA_TEXT(key), QA_INT(window_start),
		QA_INT(limit)),
	    Q_NOCOLS);
	*counted = r == 0;
	return r == PC_ERR_NOT_FOUND ? 0 : r;
}

/* count + 1 for (scope, key, window_start); *before gets the old count. */
static int
window_bump(struct db_conn *c, const char *scope, const char *key,
    int64_t window_start, int64_t *before)
{
	int64_t count = 0;
	int r;

	*before = 0;
	r = q_one(c, WINDOW_ADD " RETURNING count",
	    Q_ARGS(QA_TEXT(scope), QA_TEXT(key), QA_INT(window_start)),
	    Q_COLS(QC_INT(&count)));
	if (r == 0)
		*before = count - 1;
	/* The upsert always returns its row. */
	return r == PC_ERR_NOT_FOUND ? PC_ERR_STORE : r;
}

/* count - 1 for (scope, key, window_start), never below 0. */
static int
window_drop(
    struct db_conn *c, const char *scope, const char *key, int64_t window_start)
{
	return q_exec(c,
	    "UPDATE throttle_windows SET count = count - 1"
	    " WHERE scope = ? AND key = ? AND window_start = ?"
	    " AND count > 0",
	    Q_ARGS(QA_TEXT(scope), QA_TEXT(key), QA_INT(window_start)), NULL);
}

static bool
attempt_ok(const struct store_throttle_attempt *a)
{
	return key_ok(a->account_key) && key_ok(a->ip) && key_ok(a->subnet) &&
	    (a->device_hash == NULL ||
		(key_ok(a->device_hash) && key_ok(a->user_id)));
}

/*
 * The device cookie's failures + 1 while it is live, bound to user_id and
 * below limit; *ok says whether it was.
 */
static int
device_bump(struct db_conn *c, const struct store_throttle_attempt *a, bool *ok)
{
	int r = q_one(c,
	    "UPDATE device_cookies SET failures = failures + 1"
	    " WHERE id_hash = ? AND user_id = ? AND expires_at > ?"
	    " AND failures < ? RETURNING failures",
	    Q_ARGS(QA_TEXT(a->device_hash), QA_TEXT(a->user_id), QA_INT(a->now),
		QA_INT(a->device_limit)),
	    Q_NOCOLS);

	*ok = r == 0;
	return r == PC_ERR_NOT_FOUND ? 0 : r;
}

/* The account's failures + 1; seen gets what was there before. */
static int
account_seen(struct db_conn *c, const struct store_throttle_attempt *a,
    struct store_throttle_login *seen)
{
	/* The failure count stops at a cap instead of overflowing. */
	int r = q_one(c,
	    "INSERT INTO throttle_accounts (key, failures, "
	    "last_failure_at) VALUES (?, 1, 0)"
	    " ON CONFLICT (key) DO UPDATE SET failures = CASE"
	    " WHEN throttle_accounts.failures < ?"
	    " THEN throttle_accounts.failures + 1"
	    " ELSE throttle_accounts.failures END"
	    " RETURNING failures, last_failure_at",
	    Q_ARGS(
		QA_TEXT(a->account_key), QA_INT(STORE_THROTTLE_FAILURES_CAP)),
	    Q_COLS(QC_INT(&seen->failures), QC_INT(&seen->last_failure_at)));

	/* What the attempt found, before its own count. */
	if (r == 0 && seen->failures < STORE_THROTTLE_FAILURES_CAP)
		seen->failures--;
	/* The upsert always returns its row. */
	return r == PC_ERR_NOT_FOUND ? PC_ERR_STORE : r;
}

struct begin_arg {
	const struct store_throttle_attempt *a;
	store_throttle_decide_fn decide;
	void *arg;
	bool device;  /* the device cookie's count was taken */
	bool refused; /* decide() said no: UNDO */
};

/*
 * Rows always taken in the same order (device, ip, subnet, global,
 * account): on SQLite the write lock is held from the start; on PostgreSQL
 * each upsert locks its row until the commit, so concurrent attempts on
 * any node queue up and each sees the counts of those before it, pending
 * ones included.
 */
static int
login_begin_tx(struct db_conn *c, void *arg)
{
	struct begin_arg *b = arg;
	const struct store_throttle_attempt *a = b->a;
	struct store_throttle_login seen;
	int r;

	memset(&seen, 0, sizeof(seen));
	b->device = false;
	if (a->device_hash != NULL && (r = device_bump(c, a, &b->device)) != 0)
		return r;
	seen.device = b->device;
	if ((r = window_bump(
		 c, SCOPE_IP, a->ip, a->window_start, &seen.ip_count)) != 0 ||
	    (r = window_bump(c, SCOPE_SUBNET, a->subnet, a->window_start,
		 &seen.subnet_count)) != 0 ||
	    (r = window_bump(c, SCOPE_GLOBAL, GLOBAL_KEY, a->window_start,
		 &seen.global_count)) != 0 ||
	    (r = account_seen(c, a, &seen)) != 0)
		return r;
	if (!b->decide(b->arg, &seen)) {
		/* Refused: nothing is counted. */
		b->refused = true;
		return UNDO;
	}
	/* last_failure_at never moves back: a node whose clock lags cannot
	 * shorten a delay another node set. */
	return q_exec(c,
	    "UPDATE throttle_accounts SET last_failure_at = CASE"
	    " WHEN last_failure_at > ? THEN last_failure_at"
	    " ELSE ? END WHERE key = ?",
	    Q_ARGS(QA_INT(a->now), QA_INT(a->now), QA_TEXT(a->account_key)),
	    NULL);
}

int
store_throttle_login_begin(struct db *db,
    const struct store_throttle_attempt *a, store_throttle_decide_fn decide,
    void *arg, bool *allowed, bool *device)
{
	struct begin_arg b = { a, decide, arg, false, false };
	int r;

	*allowed = false;
	*device = false;
	if (!attempt_ok(a) || decide == NULL)
		return PC_ERR_INVALID;
	/* One write transaction: the counts, the decision, the commit. */
	r = store_tx(db, login_begin_tx, &b);
	if (b.refused)
		return 0;
	if (r != 0)
		return r;
	*device = b.device;
	*allowed = true;
	return 0;
}

struct end_arg {
	const struct store_throttle_attempt *a;
	bool device, success;
};

/* The same row order as login_begin_tx. */
static int
login_end_tx(struct db_conn *c, void *arg)
{
	const struct end_arg *e = arg;
	const struct store_throttle_attempt *a = e->a;
	int r;

	if (e->device &&
	    (r = q_exec(c,
		 e->success ? "UPDATE device_cookies SET failures = 0"
			      " WHERE id_hash = ?"
			    : "UPDATE device_cookies SET failures ="
			      " failures - 1 WHERE id_hash = ?"
			      " AND failures > 0",
		 Q_ARGS(QA_TEXT(a->device_hash)), NULL)) != 0)
		return r;
	if ((r = window_drop(c, SCOPE_IP, a->ip, a->window_start)) != 0 ||
	    (r = window_drop(c, SCOPE_SUBNET, a->subnet, a->window_start)) !=
		0 ||
	    (r = window_drop(c, SCOPE_GLOBAL, GLOBAL_KEY, a->window_start)) !=
		0)
		return r;
	if ((r = q_exec(c,
		 e->success ? "DELETE FROM throttle_accounts WHERE key = ?"
			    : "UPDATE throttle_accounts SET failures ="
			      " failures - 1 WHERE key = ?"
			      " AND failures > 0",
		 Q_ARGS(QA_TEXT(a->account_key)), NULL)) != 0)
		return r;
	if (e->success)
		return 0;
	/* An attempt taken back leaves no empty row behind. */
	return q_exec(c,
	    "DELETE FROM throttle_accounts WHERE key = ?"
	    " AND failures <= 0",
	    Q_ARGS(QA_TEXT(a->account_key)), NULL);
}

int
store_throttle_login_end(struct db *db, const struct store_throttle_attempt *a,
    bool device, bool success)
{
	struct end_arg e = { a, device, success };

	if (!attempt_ok(a) || (device && a->device_hash == NULL))
		return PC_ERR_INVALID;
	return store_tx(db, login_end_tx, &e);
}

int
store_throttle_account_reset(struct db *db, const char *account_key)
{
	struct exec_arg e = { "DELETE FROM throttle_accounts WHERE key = ?",
		Q_ARGS(QA_TEXT(account_key)), NULL };

	if (!key_ok(account_key))
		return PC_ERR_INVALID;
	return store_tx(db, exec_tx, &e);
}

struct client_arg {
	const char *ip, *pair_key;
	int64_t window_start;
	int64_t *ip_count, *pair_count;
};

/* Both counts from one snapshot. */
static int
client_read_tx(struct db_conn *c, void *arg)
{
	const struct client_arg *a = arg;
	int r;

	if ((r = window_count(
		 c, SCOPE_CLIENT_IP, a->ip, a->window_start, a->ip_count)) != 0)
		return r;
	return window_count(
	    c, SCOPE_CLIENT_PAIR, a->pair_key, a->window_start, a->pair_count);
}

int
store_throttle_client_read(struct db *db, const char *ip, const char *pair_key,
    int64_t window_start, int64_t *ip_count, int64_t *pair_count)
{
	struct client_arg a = { ip, pair_key, window_start, ip_count,
		pair_count };
	int r;

	*ip_count = 0;
	*pair_count = 0;
	if (!key_ok(ip) || !key_ok(pair_key))
		return PC_ERR_INVALID;
	if ((r = store_read_tx(db, client_read_tx, &a)) != 0) {
		*ip_count = 0;
		*pair_count = 0;
	}
	return r;
}

static int
client_failure_tx(struct db_conn *c, void *arg)
{
	const struct client_arg *a = arg;
	int r;

	/* Decision 0049: the fast path of the check sees this count. */
	if ((r = store_versions_failure_tx(c, a->window_start)) != 0 ||
	    (r = window_add(c, SCOPE_CLIENT_IP, a->ip, a->window_start)) != 0)
		return r;
	return window_add(c, SCOPE_CLIENT_PAIR, a->pair_key, a->window_start);
}

int
store_throttle_client_failure(
    struct db *db, const char *ip, const char *pair_key, int64_t window_start)
{
	struct client_arg a = { ip, pair_key, window_start, NULL, NULL };

	if (!key_ok(ip) || !key_ok(pair_key))
		return PC_ERR_INVALID;
	return store_tx(db, client_failure_tx, &a);
}

int
store_throttle_client_clear(struct db *db, const char *pair_key)
{
	struct exec_arg e = {
		"DELETE FROM throttle_windows WHERE scope = ? AND key = ?",
		Q_ARGS(QA_TEXT(SCOPE_CLIENT_PAIR), QA_TEXT(pair_key)), NULL
	};

	if (!key_ok(pair_key))
		return PC_ERR_INVALID;
	return store_tx(db, exec_tx, &e);
}

/* AK-03: failed API-key authentications per IP (store_api_keys.h). */
struct apikey_arg {
	const char *ip;
	int64_t window_start;
	int64_t *count;
};

static int
apikey_read_tx(struct db_conn *c, void *arg)
{
	const struct apikey_arg *a = arg;

	return window_count(
	    c, SCOPE_APIKEY_IP, a->ip, a->window_start, a->count);
}

int
store_throttle_apikey_read(
    struct db *db, const char *ip, int64_t window_start, int64_t *count)
{
	struct apikey_arg a = { ip, window_start, count };
	int r;

	*count = 0;
	if (!key_ok(ip))
		return PC_ERR_INVALID;
	if ((r = store_read_tx(db, apikey_read_tx, &a)) != 0)
		*count = 0;
	return r;
}

static int
apikey_failure_tx(struct db_conn *c, void *arg)
{
	const struct apikey_arg *a = arg;

	return window_add(c, SCOPE_APIKEY_IP, a->ip, a->window_start);
}

int
store_throttle_apikey_failure(
    struct db *db, const char *ip, int64_t window_start)
{
	struct apikey_arg a = { ip, window_start, NULL };

	if (!key_ok(ip))
		return PC_ERR_INVALID;
	return store_tx(db, apikey_failure_tx, &a);
}

/* The mail counts to take, in order, all or none. */
struct mail_arg {
	const char *scope[2], *key[2];
	int64_t limit[2];
	int n;
	int64_t window_start;
	bool over; /* one was at its limit: UNDO */
};

static int
mail_tx(struct db_conn *c, void *arg)
{
	struct mail_arg *m = arg;
	bool counted = false;
	int r;

	for (int i = 0; i < m->n; i++) {
		if ((r = window_add_below(c, m->scope[i], m->key[i],
			 m->window_start, m->limit[i], &counted)) != 0)
			return r;
		if (!counted) {
			/* Over one limit: undo the other count, send nothing. */
			m->over = true;
			return UNDO;
		}
	}
	return 0;
}

static int
mail_count(struct db *db, struct mail_arg *m, bool *allowed)
{
	int r = store_tx(db, mail_tx, m);

	if (m->over)
		return 0;
	if (r != 0)
		return r;
	*allowed = true;
	return 0;
}

int
store_throttle_mail_ip(struct db *db, const char *client, int64_t window_start,
    int64_t limit, bool *allowed)
{
	struct mail_arg m = { { SCOPE_MAIL_IP }, { client }, { limit }, 1,
		window_start, false };

	*allowed = false;
	if (!key_ok(client))
		return PC_ERR_INVALID;
	return mail_count(db, &m, allowed);
}

int
store_throttle_mail_account(struct db *db, const char *account_key,
    const char *pair_key, int64_t window_start, int64_t pair_limit,
    int64_t account_limit, bool *allowed)
{
	struct mail_arg m = { { SCOPE_MAIL_PAIR, SCOPE_MAIL_ACCOUNT },
		{ pair_key, account_key }, { pair_limit, account_limit }, 2,
		window_start, false };

	*allowed = false;
	if (!key_ok(account_key) || !key_ok(pair_key))
		return PC_ERR_INVALID;
	return mail_count(db, &m, allowed);
}

int
store_throttle_count_below(struct db *db, const char *scope, const char *key,
    int64_t window_start, int64_t limit, bool *allowed)
{
	struct mail_arg m = { { NULL }, { key }, { limit }, 1, window_start,
		false };
	char sc[32];

	*allowed = false;
	/* Prefixed: a caller's scope never reaches the throttle's own. */
	if (!key_ok(key) || scope == NULL ||
	    (size_t)snprintf(sc, sizeof(sc), "x_%s", scope) >= sizeof(sc))
		return PC_ERR_INVALID;
	m.scope[0] = sc;
	return mail_count(db, &m, allowed);
}

struct purge_arg {
	int64_t windows_before, idle_before, lock_after, now;
	int64_t n;
};

static int
purge_tx(struct db_conn *c, void *arg)
{
	struct purge_arg *p = arg;
	int64_t k = 0;
	int r;

	p->n = 0;
	if ((r = q_exec(c,
		 "DELETE FROM throttle_windows WHERE window_start < ?"
		 " RETURNING window_start",
		 Q_ARGS(QA_INT(p->windows_before)), &k)) != 0)
		return r;
	p->n += k;
	if ((r = q_exec(c,
		 "DELETE FROM throttle_accounts"
		 " WHERE last_failure_at < ? AND failures < ? RETURNING key",
		 Q_ARGS(QA_INT(p->idle_before), QA_INT(p->lock_after)), &k)) !=
	    0)
		return r;
	p->n += k;
	if ((r = q_exec(c,
		 "DELETE FROM device_cookies WHERE expires_at <= ?"
		 " RETURNING id_hash",
		 Q_ARGS(QA_INT(p->now)), &k)) != 0)
		return r;
	p->n += k;
	return 0;
}

int
store_throttle_purge(struct db *db, int64_t windows_before, int64_t idle_before,
    int64_t lock_after, int64_t now, int64_t *deleted)
{
	struct purge_arg p = { windows_before, idle_before, lock_after, now,
		0 };
	int r;

	if (deleted != NULL)
		*deleted = 0;
	if ((r = store_tx(db, purge_tx, &p)) == 0 && deleted != NULL)
		*deleted = p.n;
	return r;
}

struct cookie_arg {
	const char *id_hash, *user_id, *old_hash;
	int64_t now, expires_at, max_per_user;
};

static int
cookie_add_tx(struct db_conn *c, void *arg)
{
	const struct cookie_arg *a = arg;
	int r;

	if (a->old_hash != NULL &&
	    (r = q_exec(c, "DELETE FROM device_cookies WHERE id_hash = ?",
		 Q_ARGS(QA_TEXT(a->old_hash)), NULL)) != 0)
		return r;
	if ((r = q_exec(c,
		 "INSERT INTO device_cookies (id_hash, user_id, failures,"
		 " created_at, expires_at) VALUES (?, ?, 0, ?, ?)",
		 Q_ARGS(QA_TEXT(a->id_hash), QA_TEXT(a->user_id),
		     QA_INT(a->now), QA_INT(a->expires_at)),
		 NULL)) != 0)
		return r;
	return q_exec(c,
	    "DELETE FROM device_cookies WHERE user_id = ? AND id_hash"
	    " NOT IN (SELECT id_hash FROM device_cookies WHERE"
	    " user_id = ? ORDER BY created_at DESC, id_hash LIMIT ?)",
	    Q_ARGS(QA_TEXT(a->user_id), QA_TEXT(a->user_id),
		QA_INT(a->max_per_user)),
	    NULL);
}

int
store_device_cookie_add(struct db *db, const char *id_hash, const char *user_id,
    int64_t now, int64_t expires_at, int64_t max_per_user, const char *old_hash)
{
	struct cookie_arg a = { id_hash, user_id, old_hash, now, expires_at,
		max_per_user };

	if (!key_ok(id_hash) || !key_ok(user_id) ||
	    (old_hash != NULL && !key_ok(old_hash)) || max_per_user < 1)
		return PC_ERR_INVALID;
	return store_tx(db, cookie_add_tx, &a);
}

int
store_device_cookies_revoke(
    struct db *db, const char *user_id, const char *keep_hash, int64_t *n)
{
	int64_t k = 0;
	/* "" is never a hash: with no keep_hash every cookie goes. */
	struct exec_arg e = {
		"DELETE FROM device_cookies WHERE user_id = ? AND id_hash <> ?"
		" RETURNING id_hash",
		Q_ARGS(QA_TEXT(user_id),
		    QA_TEXT(keep_hash != NULL ? keep_hash : "")),
		&k
	};
	int r;

	if (n != NULL)
		*n = 0;
	if (!key_ok(user_id) || (keep_hash != NULL && !key_ok(keep_hash)))
		return PC_ERR_INVALID;
	if ((r = store_tx(db, exec_tx, &e)) == 0 && n != NULL)
		*n = k;
	return r;
}
