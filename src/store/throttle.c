/*
 * Login-throttle and mail-limit counters (SECURITY.md LG-03, LG-04, RS-07,
 * DS-04). The policy lives in src/auth/throttle.c; this file only reads
 * and changes counters, each operation in one transaction, so nodes that
 * share the store see the same numbers and cannot both slip under a limit.
 *
 * The mail limit is a conditional upsert ("count + 1 WHERE count <
 * limit", RETURNING the row): on SQLite the write lock is taken up front,
 * and on PostgreSQL ON CONFLICT DO UPDATE locks the row and re-checks the
 * WHERE, so the check and the count are one step on both.
 */
#include <string.h>

#include "store/store.h"

#define SCOPE_IP "ip"
#define SCOPE_SUBNET "subnet"
#define SCOPE_GLOBAL "global"
#define SCOPE_MAIL_ACCOUNT "mail_account"
#define SCOPE_MAIL_IP "mail_ip"
#define SCOPE_CLIENT_IP "client_ip"
#define SCOPE_CLIENT_PAIR "client_pair"
#define GLOBAL_KEY "*"

/* DB_DONE from a statement that changes rows is success. */
static int
done_ok(int r)
{
	return r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

static bool
key_ok(const char *k)
{
	return k != NULL && k[0] != '\0' &&
	    strnlen(k, STORE_THROTTLE_KEY_MAX + 1) <= STORE_THROTTLE_KEY_MAX;
}

static int
window_count(struct db_conn *c, const char *scope, const char *key,
    int64_t window_start, int64_t *out)
{
	struct db_stmt *s;
	int r;

	*out = 0;
	if ((r = db_prepare(c,
		 "SELECT count FROM throttle_windows"
		 " WHERE scope = ? AND key = ? AND window_start = ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, scope)) == 0 &&
	    (r = db_bind_cstr(s, 2, key)) == 0 &&
	    (r = db_bind_int64(s, 3, window_start)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		*out = db_col_int64(s, 0);
	db_done(s);
	return r == DB_ROW || r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

/* count + 1 for (scope, key, window_start), unconditionally. */
static int
window_add(
    struct db_conn *c, const char *scope, const char *key, int64_t window_start)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c,
		 "INSERT INTO throttle_windows (scope, key, window_start, "
		 "count)"
		 " VALUES (?, ?, ?, 1)"
		 " ON CONFLICT (scope, key, window_start)"
		 " DO UPDATE SET count = throttle_windows.count + 1",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, scope)) == 0 &&
	    (r = db_bind_cstr(s, 2, key)) == 0 &&
	    (r = db_bind_int64(s, 3, window_start)) == 0)
		r = db_step(s);
	db_done(s);
	return done_ok(r);
}

/*
 * count + 1 for (scope, key, window_start) only while count < limit.
 * *counted says whether it did.
 */
static int
window_add_below(struct db_conn *c, const char *scope, const char *key,
    int64_t window_start, int64_t limit, bool *counted)
{
	struct db_stmt *s;
	int r;

	*counted = false;
	if (limit < 1)
		return 0; /* the insert path would count past a zero limit */
	if ((r = db_prepare(c,
		 "INSERT INTO throttle_windows (scope, key, window_start, "
		 "count)"
		 " VALUES (?, ?, ?, 1)"
		 " ON CONFLICT (scope, key, window_start)"
		 " DO UPDATE SET count = throttle_windows.count + 1"
		 " WHERE throttle_windows.count < ? RETURNING count",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, scope)) == 0 &&
	    (r = db_bind_cstr(s, 2, key)) == 0 &&
	    (r = db_bind_int64(s, 3, window_start)) == 0 &&
	    (r = db_bind_int64(s, 4, limit)) == 0)
		r = db_step(s);
	db_done(s);
	if (r == DB_ROW) {
		*counted = true;
		return 0;
	}
	return done_ok(r);
}

int
store_throttle_login_read(struct db *db, const char *account_key,
    const char *ip, const char *subnet, int64_t window_start,
    struct store_throttle_login *out)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	memset(out, 0, sizeof(*out));
	if (!key_ok(account_key) || !key_ok(ip) || !key_ok(subnet))
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	/* One read transaction: the five numbers are one snapshot. */
	if ((r = db_begin(c, false)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT failures, last_failure_at FROM throttle_accounts"
		 " WHERE key = ?",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, account_key)) == 0)
		r = db_step(s);
	if (r == DB_ROW) {
		out->failures = db_col_int64(s, 0);
		out->last_failure_at = db_col_int64(s, 1);
	}
	db_done(s);
	if (r != DB_ROW && r != DB_DONE) {
		r = r < 0 ? r : PC_ERR_STORE;
		goto fail;
	}
	if ((r = window_count(c, SCOPE_IP, ip, window_start, &out->ip_count)) !=
		0 ||
	    (r = window_count(c, SCOPE_SUBNET, subnet, window_start,
		 &out->subnet_count)) != 0 ||
	    (r = window_count(c, SCOPE_GLOBAL, GLOBAL_KEY, window_start,
		 &out->global_count)) != 0)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	memset(out, 0, sizeof(*out));
	return r;
}

int
store_throttle_login_failure(struct db *db, const char *account_key,
    const char *ip, const char *subnet, int64_t now, int64_t window_start)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if (!key_ok(account_key) || !key_ok(ip) || !key_ok(subnet))
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	/*
	 * failures stops at a cap instead of overflowing; last_failure_at
	 * never moves back, so a node whose clock lags cannot shorten a
	 * delay another node set.
	 */
	if ((r = db_prepare(c,
		 "INSERT INTO throttle_accounts (key, failures, "
		 "last_failure_at)"
		 " VALUES (?, 1, ?) ON CONFLICT (key) DO UPDATE SET"
		 " failures = CASE WHEN throttle_accounts.failures < ?"
		 " THEN throttle_accounts.failures + 1"
		 " ELSE throttle_accounts.failures END,"
		 " last_failure_at = CASE WHEN"
		 " throttle_accounts.last_failure_at > ?"
		 " THEN throttle_accounts.last_failure_at ELSE ? END",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, account_key)) == 0 &&
	    (r = db_bind_int64(s, 2, now)) == 0 &&
	    (r = db_bind_int64(s, 3, STORE_THROTTLE_FAILURES_CAP)) == 0 &&
	    (r = db_bind_int64(s, 4, now)) == 0 &&
	    (r = db_bind_int64(s, 5, now)) == 0)
		r = db_step(s);
	db_done(s);
	if ((r = done_ok(r)) != 0 ||
	    (r = window_add(c, SCOPE_IP, ip, window_start)) != 0 ||
	    (r = window_add(c, SCOPE_SUBNET, subnet, window_start)) != 0 ||
	    (r = window_add(c, SCOPE_GLOBAL, GLOBAL_KEY, window_start)) != 0)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}

int
store_throttle_account_reset(struct db *db, const char *account_key)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if (!key_ok(account_key))
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(
		 c, "DELETE FROM throttle_accounts WHERE key = ?", &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, account_key)) == 0)
		r = db_step(s);
	db_done(s);
	if ((r = done_ok(r)) != 0)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}

int
store_throttle_client_read(struct db *db, const char *ip, const char *pair_key,
    int64_t window_start, int64_t *ip_count, int64_t *pair_count)
{
	struct db_conn *c;
	int r;

	*ip_count = 0;
	*pair_count = 0;
	if (!key_ok(ip) || !key_ok(pair_key))
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, false)) != 0)
		return r;
	if ((r = window_count(
		 c, SCOPE_CLIENT_IP, ip, window_start, ip_count)) != 0 ||
	    (r = window_count(c, SCOPE_CLIENT_PAIR, pair_key, window_start,
		 pair_count)) != 0) {
		db_rollback(c);
		*ip_count = 0;
		*pair_count = 0;
		return r;
	}
	return db_commit(c);
}

int
store_throttle_client_failure(
    struct db *db, const char *ip, const char *pair_key, int64_t window_start)
{
	struct db_conn *c;
	int r;

	if (!key_ok(ip) || !key_ok(pair_key))
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = window_add(c, SCOPE_CLIENT_IP, ip, window_start)) != 0 ||
	    (r = window_add(c, SCOPE_CLIENT_PAIR, pair_key, window_start)) !=
		0) {
		db_rollback(c);
		return r;
	}
	return db_commit(c);
}

int
store_throttle_client_clear(struct db *db, const char *pair_key)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if (!key_ok(pair_key))
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "DELETE FROM throttle_windows WHERE scope = ? AND key = ?",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, SCOPE_CLIENT_PAIR)) == 0 &&
	    (r = db_bind_cstr(s, 2, pair_key)) == 0)
		r = db_step(s);
	db_done(s);
	if ((r = done_ok(r)) != 0)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}

int
store_throttle_mail(struct db *db, const char *account_key, const char *ip,
    int64_t window_start, int64_t account_limit, int64_t ip_limit,
    bool *allowed)
{
	struct db_conn *c;
	bool counted = false;
	int r;

	*allowed = false;
	if (!key_ok(account_key) || !key_ok(ip))
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = window_add_below(c, SCOPE_MAIL_ACCOUNT, account_key,
		 window_start, account_limit, &counted)) != 0)
		goto fail;
	if (counted &&
	    (r = window_add_below(
		 c, SCOPE_MAIL_IP, ip, window_start, ip_limit, &counted)) != 0)
		goto fail;
	if (!counted) {
		/* Over one limit: undo the other count, send nothing. */
		db_rollback(c);
		return 0;
	}
	if ((r = db_commit(c)) != 0)
		return r;
	*allowed = true;
	return 0;
fail:
	db_rollback(c);
	return r;
}

int
store_throttle_purge(struct db *db, int64_t windows_before, int64_t idle_before,
    int64_t lock_after, int64_t *deleted)
{
	struct db_conn *c;
	struct db_stmt *s;
	int64_t n = 0;
	int r;

	if (deleted != NULL)
		*deleted = 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "DELETE FROM throttle_windows WHERE window_start < ?"
		 " RETURNING window_start",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_int64(s, 1, windows_before)) == 0)
		while ((r = db_step(s)) == DB_ROW)
			n++;
	db_done(s);
	if ((r = done_ok(r)) != 0)
		goto fail;
	if ((r = db_prepare(c,
		 "DELETE FROM throttle_accounts"
		 " WHERE last_failure_at < ? AND failures < ? RETURNING key",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_int64(s, 1, idle_before)) == 0 &&
	    (r = db_bind_int64(s, 2, lock_after)) == 0)
		while ((r = db_step(s)) == DB_ROW)
			n++;
	db_done(s);
	if ((r = done_ok(r)) != 0)
		goto fail;
	if ((r = db_commit(c)) != 0)
		return r;
	if (deleted != NULL)
		*deleted = n;
	return 0;
fail:
	db_rollback(c);
	return r;
}
