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
#include <string.h>

#include "store/store.h"

#define SCOPE_IP "ip"
#define SCOPE_SUBNET "subnet"
#define SCOPE_GLOBAL "global"
#define SCOPE_MAIL_ACCOUNT "mail_account"
#define SCOPE_MAIL_IP "mail_ip"
#define SCOPE_MAIL_PAIR "mail_pair"
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

/* count + 1 for (scope, key, window_start); *before gets the old count. */
static int
window_bump(struct db_conn *c, const char *scope, const char *key,
    int64_t window_start, int64_t *before)
{
	struct db_stmt *s;
	int r;

	*before = 0;
	if ((r = db_prepare(c,
		 "INSERT INTO throttle_windows (scope, key, window_start, "
		 "count)"
		 " VALUES (?, ?, ?, 1)"
		 " ON CONFLICT (scope, key, window_start)"
		 " DO UPDATE SET count = throttle_windows.count + 1"
		 " RETURNING count",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, scope)) == 0 &&
	    (r = db_bind_cstr(s, 2, key)) == 0 &&
	    (r = db_bind_int64(s, 3, window_start)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		*before = db_col_int64(s, 0) - 1;
	db_done(s);
	return r == DB_ROW ? 0 : r < 0 ? r : PC_ERR_STORE;
}

/* count - 1 for (scope, key, window_start), never below 0. */
static int
window_drop(
    struct db_conn *c, const char *scope, const char *key, int64_t window_start)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c,
		 "UPDATE throttle_windows SET count = count - 1"
		 " WHERE scope = ? AND key = ? AND window_start = ?"
		 " AND count > 0",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, scope)) == 0 &&
	    (r = db_bind_cstr(s, 2, key)) == 0 &&
	    (r = db_bind_int64(s, 3, window_start)) == 0)
		r = db_step(s);
	db_done(s);
	return done_ok(r);
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
	struct db_stmt *s;
	int r;

	*ok = false;
	if ((r = db_prepare(c,
		 "UPDATE device_cookies SET failures = failures + 1"
		 " WHERE id_hash = ? AND user_id = ? AND expires_at > ?"
		 " AND failures < ? RETURNING failures",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, a->device_hash)) == 0 &&
	    (r = db_bind_cstr(s, 2, a->user_id)) == 0 &&
	    (r = db_bind_int64(s, 3, a->now)) == 0 &&
	    (r = db_bind_int64(s, 4, a->device_limit)) == 0)
		r = db_step(s);
	db_done(s);
	if (r == DB_ROW) {
		*ok = true;
		return 0;
	}
	return done_ok(r);
}

/* The account's failures + 1; seen gets what was there before. */
static int
account_seen(struct db_conn *c, const struct store_throttle_attempt *a,
    struct store_throttle_login *seen)
{
	struct db_stmt *s;
	int r;

	/* The failure count stops at a cap instead of overflowing. */
	if ((r = db_prepare(c,
		 "INSERT INTO throttle_accounts (key, failures, "
		 "last_failure_at) VALUES (?, 1, 0)"
		 " ON CONFLICT (key) DO UPDATE SET failures = CASE"
		 " WHEN throttle_accounts.failures < ?"
		 " THEN throttle_accounts.failures + 1"
		 " ELSE throttle_accounts.failures END"
		 " RETURNING failures, last_failure_at",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, a->account_key)) == 0 &&
	    (r = db_bind_int64(s, 2, STORE_THROTTLE_FAILURES_CAP)) == 0)
		r = db_step(s);
	if (r == DB_ROW) {
		seen->failures = db_col_int64(s, 0);
		seen->last_failure_at = db_col_int64(s, 1);
		/* What the attempt found, before its own count. */
		if (seen->failures < STORE_THROTTLE_FAILURES_CAP)
			seen->failures--;
	}
	db_done(s);
	return r == DB_ROW ? 0 : r < 0 ? r : PC_ERR_STORE;
}

int
store_throttle_login_begin(struct db *db,
    const struct store_throttle_attempt *a, store_throttle_decide_fn decide,
    void *arg, bool *allowed, bool *device)
{
	struct store_throttle_login seen;
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	*allowed = false;
	*device = false;
	memset(&seen, 0, sizeof(seen));
	if (!attempt_ok(a) || decide == NULL)
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	/*
	 * One write transaction, rows always taken in the same order (device,
	 * ip, subnet, global, account): on SQLite the write lock is held from
	 * the start; on PostgreSQL each upsert locks its row until the commit,
	 * so concurrent attempts on any node queue up and each sees the counts
	 * of those before it, pending ones included.
	 */
	if ((r = db_begin(c, true)) != 0)
		return r;
	if (a->device_hash != NULL && (r = device_bump(c, a, device)) != 0)
		goto fail;
	seen.device = *device;
	if ((r = window_bump(
		 c, SCOPE_IP, a->ip, a->window_start, &seen.ip_count)) != 0 ||
	    (r = window_bump(c, SCOPE_SUBNET, a->subnet, a->window_start,
		 &seen.subnet_count)) != 0 ||
	    (r = window_bump(c, SCOPE_GLOBAL, GLOBAL_KEY, a->window_start,
		 &seen.global_count)) != 0 ||
	    (r = account_seen(c, a, &seen)) != 0)
		goto fail;
	if (!decide(arg, &seen)) {
		/* Refused: nothing is counted. */
		db_rollback(c);
		*device = false;
		return 0;
	}
	{
		/* last_failure_at never moves back: a node whose clock lags
		 * cannot shorten a delay another node set. */
		if ((r = db_prepare(c,
			 "UPDATE throttle_accounts SET last_failure_at = CASE"
			 " WHEN last_failure_at > ? THEN last_failure_at"
			 " ELSE ? END WHERE key = ?",
			 &s)) != 0)
			goto fail;
		if ((r = db_bind_int64(s, 1, a->now)) == 0 &&
		    (r = db_bind_int64(s, 2, a->now)) == 0 &&
		    (r = db_bind_cstr(s, 3, a->account_key)) == 0)
			r = db_step(s);
		db_done(s);
		if ((r = done_ok(r)) != 0)
			goto fail;
	}
	if ((r = db_commit(c)) != 0) {
		*device = false;
		return r;
	}
	*allowed = true;
	return 0;
fail:
	db_rollback(c);
	*device = false;
	return r;
}

int
store_throttle_login_end(struct db *db, const struct store_throttle_attempt *a,
    bool device, bool success)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if (!attempt_ok(a) || (device && a->device_hash == NULL))
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	/* The same row order as store_throttle_login_begin. */
	if (device) {
		if ((r = db_prepare(c,
			 success ? "UPDATE device_cookies SET failures = 0"
				   " WHERE id_hash = ?"
				 : "UPDATE device_cookies SET failures ="
				   " failures - 1 WHERE id_hash = ?"
				   " AND failures > 0",
			 &s)) != 0)
			goto fail;
		if ((r = db_bind_cstr(s, 1, a->device_hash)) == 0)
			r = db_step(s);
		db_done(s);
		if ((r = done_ok(r)) != 0)
			goto fail;
	}
	if ((r = window_drop(c, SCOPE_IP, a->ip, a->window_start)) != 0 ||
	    (r = window_drop(c, SCOPE_SUBNET, a->subnet, a->window_start)) !=
		0 ||
	    (r = window_drop(c, SCOPE_GLOBAL, GLOBAL_KEY, a->window_start)) !=
		0)
		goto fail;
	{
		if ((r = db_prepare(c,
			 success ? "DELETE FROM throttle_accounts WHERE key = ?"
				 : "UPDATE throttle_accounts SET failures ="
				   " failures - 1 WHERE key = ?"
				   " AND failures > 0",
			 &s)) != 0)
			goto fail;
		if ((r = db_bind_cstr(s, 1, a->account_key)) == 0)
			r = db_step(s);
		db_done(s);
		if ((r = done_ok(r)) != 0)
			goto fail;
	}
	if (!success) {
		/* An attempt taken back leaves no empty row behind. */
		if ((r = db_prepare(c,
			 "DELETE FROM throttle_accounts WHERE key = ?"
			 " AND failures <= 0",
			 &s)) != 0)
			goto fail;
		if ((r = db_bind_cstr(s, 1, a->account_key)) == 0)
			r = db_step(s);
		db_done(s);
		if ((r = done_ok(r)) != 0)
			goto fail;
	}
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
store_throttle_mail_ip(struct db *db, const char *client, int64_t window_start,
    int64_t limit, bool *allowed)
{
	struct db_conn *c;
	bool counted = false;
	int r;

	*allowed = false;
	if (!key_ok(client))
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = window_add_below(c, SCOPE_MAIL_IP, client, window_start, limit,
		 &counted)) != 0) {
		db_rollback(c);
		return r;
	}
	if ((r = db_commit(c)) != 0)
		return r;
	*allowed = counted;
	return 0;
}

int
store_throttle_mail_account(struct db *db, const char *account_key,
    const char *pair_key, int64_t window_start, int64_t pair_limit,
    int64_t account_limit, bool *allowed)
{
	struct db_conn *c;
	bool counted = false;
	int r;

	*allowed = false;
	if (!key_ok(account_key) || !key_ok(pair_key))
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = window_add_below(c, SCOPE_MAIL_PAIR, pair_key, window_start,
		 pair_limit, &counted)) != 0)
		goto fail;
	if (counted &&
	    (r = window_add_below(c, SCOPE_MAIL_ACCOUNT, account_key,
		 window_start, account_limit, &counted)) != 0)
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
    int64_t lock_after, int64_t now, int64_t *deleted)
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
	if ((r = db_prepare(c,
		 "DELETE FROM device_cookies WHERE expires_at <= ?"
		 " RETURNING id_hash",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_int64(s, 1, now)) == 0)
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

int
store_device_cookie_add(struct db *db, const char *id_hash, const char *user_id,
    int64_t now, int64_t expires_at, int64_t max_per_user, const char *old_hash)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if (!key_ok(id_hash) || !key_ok(user_id) ||
	    (old_hash != NULL && !key_ok(old_hash)) || max_per_user < 1)
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if (old_hash != NULL) {
		if ((r = db_prepare(c,
			 "DELETE FROM device_cookies WHERE id_hash = ?", &s)) !=
		    0)
			goto fail;
		if ((r = db_bind_cstr(s, 1, old_hash)) == 0)
			r = db_step(s);
		db_done(s);
		if ((r = done_ok(r)) != 0)
			goto fail;
	}
	if ((r = db_prepare(c,
		 "INSERT INTO device_cookies (id_hash, user_id, failures,"
		 " created_at, expires_at) VALUES (?, ?, 0, ?, ?)",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, id_hash)) == 0 &&
	    (r = db_bind_cstr(s, 2, user_id)) == 0 &&
	    (r = db_bind_int64(s, 3, now)) == 0 &&
	    (r = db_bind_int64(s, 4, expires_at)) == 0)
		r = db_step(s);
	db_done(s);
	if ((r = done_ok(r)) != 0)
		goto fail;
	if ((r = db_prepare(c,
		 "DELETE FROM device_cookies WHERE user_id = ? AND id_hash"
		 " NOT IN (SELECT id_hash FROM device_cookies WHERE"
		 " user_id = ? ORDER BY created_at DESC, id_hash LIMIT ?)",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, user_id)) == 0 &&
	    (r = db_bind_cstr(s, 2, user_id)) == 0 &&
	    (r = db_bind_int64(s, 3, max_per_user)) == 0)
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
store_device_cookies_revoke(
    struct db *db, const char *user_id, const char *keep_hash, int64_t *n)
{
	struct db_conn *c;
	struct db_stmt *s;
	int64_t k = 0;
	int r;

	if (n != NULL)
		*n = 0;
	if (!key_ok(user_id) || (keep_hash != NULL && !key_ok(keep_hash)))
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "DELETE FROM device_cookies WHERE user_id = ? AND id_hash <> ?"
		 " RETURNING id_hash",
		 &s)) != 0)
		goto fail;
	/* "" is never a hash: with no keep_hash every cookie goes. */
	if ((r = db_bind_cstr(s, 1, user_id)) == 0 &&
	    (r = db_bind_cstr(s, 2, keep_hash != NULL ? keep_hash : "")) == 0)
		while ((r = db_step(s)) == DB_ROW)
			k++;
	db_done(s);
	if ((r = done_ok(r)) != 0)
		goto fail;
	if ((r = db_commit(c)) != 0)
		return r;
	if (n != NULL)
		*n = k;
	return 0;
fail:
	db_rollback(c);
	return r;
}
