/*
 * Unit tests for auth/throttle.c and store/throttle.c on a real SQLite
 * store: the per-account schedule (LG-03: free failures, doubling delay,
 * cap, lock at login_lock_after, reset on success, no overflow), the
 * per-IP, per-subnet and global failure limits (LG-04), the mail limits
 * (RS-07, also under concurrent callers) and the purge (DS-04).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "store_url.h"
#include "store/db.h"
#include "store/store.h"
#include "util/config.h"

/* A multiple of the hour window, so window ends are easy to state. */
#define T0 INT64_C(1800000000)
#define IP "198.51.100.7"
#define ALICE "alice@example.com"

struct fixture {
	char dir[64];
	struct db *db;
	struct db_conn *c;
	struct config cfg;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	int from, to;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pc-test-throttle-XXXXXX");
	if (mkdtemp(f->dir) == NULL || test_store_open(f->dir, &f->db) != 0 ||
	    db_conn(f->db, &f->c) != 0 ||
	    store_migrate(f->db, &from, &to, err, sizeof(err)) != 0) {
		free(f);
		return -1;
	}
	/* The shipped defaults: 4 free, 30 s doubling to 1 h, lock at 100,
	 * 100 / 1000 / 100000 failures an hour, 3 and 20 mails an hour. */
	config_defaults(&f->cfg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	static const char *const files[] = { "portcullis.db",
		"portcullis.db-wal", "portcullis.db-shm",
		"portcullis.db-journal" };
	struct fixture *f = *state;
	char path[128];

	config_free(&f->cfg);
	db_close(f->db);
	for (size_t i = 0; i < PC_NELEM(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
		(void)unlink(path);
	}
	if (rmdir(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

static int64_t
count(struct fixture *f, const char *sql)
{
	struct db_stmt *s;
	int64_t v;

	assert_int_equal(db_prepare(f->c, sql, &s), 0);
	assert_int_equal(db_step(s), DB_ROW);
	v = db_col_int64(s, 0);
	db_done(s);
	return v;
}

static void
fail_n(struct fixture *f, const char *key, const char *ip, int64_t now, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(
		    throttle_login_failure(f->db, &f->cfg, key, ip, now), 0);
}

static struct throttle_verdict
check(struct fixture *f, const char *key, const char *ip, int64_t now)
{
	struct throttle_verdict v;

	assert_int_equal(
	    throttle_login_check(f->db, &f->cfg, key, ip, now, &v), 0);
	if (v.allowed)
		assert_int_equal(v.retry_after, 0);
	else
		assert_true(v.retry_after >= 1);
	return v;
}

static void
allowed(struct fixture *f, const char *key, const char *ip, int64_t now)
{
	struct throttle_verdict v = check(f, key, ip, now);

	if (!v.allowed)
		fail_msg("%s from %s at T0%+lld: refused, retry %lld", key, ip,
		    (long long)(now - T0), (long long)v.retry_after);
}

static void
refused(struct fixture *f, const char *key, const char *ip, int64_t now,
    int64_t retry_after)
{
	struct throttle_verdict v = check(f, key, ip, now);

	if (v.allowed || v.retry_after != retry_after)
		fail_msg("%s from %s at T0%+lld: allowed %d retry %lld, want "
			 "refused retry %lld",
		    key, ip, (long long)(now - T0), v.allowed,
		    (long long)v.retry_after, (long long)retry_after);
	assert_false(v.locked);
}

static void
exec_ok(struct fixture *f, const char *sql)
{
	if (db_exec(f->c, sql) != 0)
		fail_msg("%s: %s", sql, db_errmsg(f->c));
}

static void
test_throttle_LG03_fifth_failure_delays_then_doubles_and_caps(void **state)
{
	struct fixture *f = *state;
	int64_t t = T0;

	/* Failures 1..4 cost nothing. */
	allowed(f, ALICE, IP, t);
	for (int i = 0; i < 4; i++) {
		fail_n(f, ALICE, IP, t, 1);
		allowed(f, ALICE, IP, t);
	}
	/* The 5th: 30 s, to the second. */
	fail_n(f, ALICE, IP, t, 1);
	refused(f, ALICE, IP, t, 30);
	refused(f, ALICE, IP, t + 29, 1);
	allowed(f, ALICE, IP, t + 30);
	/* Then 60, 120, ..., 1920, and 1 h from the 12th on. */
	for (int64_t want = 60, n = 6; n <= 16; n++, want *= 2) {
		int64_t d = want > 3600 ? 3600 : want;

		t += 3601; /* past any delay; the windows roll over too */
		fail_n(f, ALICE, IP, t, 1);
		refused(f, ALICE, IP, t, d);
		refused(f, ALICE, IP, t + d - 1, 1);
		allowed(f, ALICE, IP, t + d);
		assert_int_equal(throttle_delay(&f->cfg, n), d);
	}
	/* The account is throttled, not the whole IP. */
	fail_n(f, ALICE, IP, t, 1);
	refused(f, ALICE, IP, t, 3600);
	allowed(f, "bob@example.com", IP, t);
}

static void
test_throttle_LG03_check_counts_nothing(void **state)
{
	struct fixture *f = *state;

	fail_n(f, ALICE, IP, T0, 5);
	for (int i = 0; i < 200; i++)
		refused(f, ALICE, IP, T0 + 1, 29);
	assert_int_equal(count(f, "SELECT failures FROM throttle_accounts"), 5);
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows"
			     " WHERE scope = 'ip'"),
	    5);
	/* Checks for other accounts create no rows either. */
	for (int i = 0; i < 50; i++) {
		char key[64];

		snprintf(key, sizeof(key), "user%d@example.com", i);
		allowed(f, key, IP, T0 + 1);
	}
	assert_int_equal(count(f, "SELECT count(*) FROM throttle_accounts"), 1);
}

static void
test_throttle_LG03_success_resets_account_not_ip(void **state)
{
	struct fixture *f = *state;

	fail_n(f, ALICE, IP, T0, 10);
	refused(f, ALICE, IP, T0, 960);
	assert_int_equal(throttle_login_success(f->db, ALICE), 0);
	allowed(f, ALICE, IP, T0);
	/* A fresh run of free failures, not a delay from the old count. */
	fail_n(f, ALICE, IP, T0, 4);
	allowed(f, ALICE, IP, T0);
	fail_n(f, ALICE, IP, T0, 1);
	refused(f, ALICE, IP, T0, 30);
	/* The IP keeps all 15 failures. */
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows"
			     " WHERE scope = 'ip'"),
	    15);
	/* Success for an account without failures is fine. */
	assert_int_equal(
	    throttle_login_success(f->db, "nobody@example.com"), 0);
}

static void
test_throttle_LG03_hundredth_failure_locks_until_reset(void **state)
{
	struct fixture *f = *state;
	struct throttle_verdict v;
	int64_t deleted;

	/* Spread over many IPs so only the account limit is in play. */
	for (int i = 0; i < 99; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "192.0.%d.%d", i % 4, i);
		fail_n(f, ALICE, ip, T0, 1);
	}
	refused(f, ALICE, IP, T0, 3600);
	allowed(f, ALICE, IP, T0 + 3600);
	fail_n(f, ALICE, IP, T0 + 3600, 1); /* the 100th */
	v = check(f, ALICE, IP, T0 + 3600);
	assert_false(v.allowed);
	assert_true(v.locked);
	assert_int_equal(v.retry_after, 3600);
	/* Waiting does not help: it needs a reset. */
	v = check(f, ALICE, IP, T0 + 365 * 86400);
	assert_false(v.allowed);
	assert_true(v.locked);
	/* The purge keeps a locked row, however old. */
	assert_int_equal(
	    throttle_purge(f->db, &f->cfg, T0 + 365 * 86400, &deleted), 0);
	v = check(f, ALICE, IP, T0 + 365 * 86400);
	assert_true(v.locked);
	/* Another account from the same IP is not locked out. */
	allowed(f, "bob@example.com", "203.0.113.9", T0 + 365 * 86400);
	/* After a completed reset the owner can sign in again. */
	assert_int_equal(throttle_login_success(f->db, ALICE), 0);
	allowed(f, ALICE, IP, T0 + 365 * 86400);
}

static void
test_throttle_LG03_lock_setting_is_honoured(void **state)
{
	struct fixture *f = *state;
	struct throttle_verdict v;

	/* A lock below the free failures wins over them. */
	f->cfg.login_lock_after = 3;
	fail_n(f, ALICE, IP, T0, 2);
	allowed(f, ALICE, IP, T0);
	fail_n(f, ALICE, IP, T0, 1);
	v = check(f, ALICE, IP, T0);
	assert_false(v.allowed);
	assert_true(v.locked);
	assert_int_equal(v.retry_after, f->cfg.login_delay_max);
}

static void
test_throttle_LG03_huge_failure_counts_do_not_overflow(void **state)
{
	struct fixture *f = *state;
	struct throttle_verdict v;

	/* The doubling saturates at the cap for every count. */
	f->cfg.login_delay_base = 3600;
	f->cfg.login_delay_max = 86400;
	for (int64_t n = 5; n < 200; n++)
		assert_int_equal(throttle_delay(&f->cfg, n),
		    n == 5	 ? 3600
			: n == 6 ? 7200
			: n == 7 ? 14400
			: n == 8 ? 28800
			: n == 9 ? 57600
				 : 86400);
	assert_int_equal(throttle_delay(&f->cfg, INT64_MAX), 86400);
	assert_int_equal(throttle_delay(&f->cfg, INT64_MAX - 1), 86400);
	assert_int_equal(throttle_delay(&f->cfg, 4), 0);
	assert_int_equal(throttle_delay(&f->cfg, 0), 0);
	assert_int_equal(throttle_delay(&f->cfg, -5), 0);
	/* Without a lock (not a valid setting, but the maths must hold). */
	f->cfg.login_lock_after = INT64_MAX;
	fail_n(f, ALICE, IP, T0, 1);
	exec_ok(
	    f, "UPDATE throttle_accounts SET failures = 9223372036854775806");
	v = check(f, ALICE, IP, T0);
	assert_false(v.allowed);
	assert_false(v.locked);
	assert_int_equal(v.retry_after, 86400);
	/* A counter at its ceiling stays there rather than wrapping. */
	fail_n(f, ALICE, IP, T0, 1);
	assert_int_equal(
	    count(f, "SELECT failures FROM throttle_accounts"), INT64_MAX - 1);
	exec_ok(f, "UPDATE throttle_accounts SET failures = 1000000000");
	fail_n(f, ALICE, IP, T0, 1);
	assert_int_equal(count(f, "SELECT failures FROM throttle_accounts"),
	    STORE_THROTTLE_FAILURES_CAP);
	/* A last failure at the end of time (a node's clock far ahead)
	 * neither wraps nor promises more than the delay. */
	exec_ok(f,
	    "UPDATE throttle_accounts SET"
	    " last_failure_at = 9223372036854775807");
	v = check(f, ALICE, IP, T0);
	assert_false(v.allowed);
	assert_int_equal(v.retry_after, 86400);
	/* The default lock applies to such a count. */
	f->cfg.login_lock_after = 100;
	v = check(f, ALICE, IP, T0);
	assert_true(v.locked);
}

static void
test_throttle_LG03_last_failure_never_moves_back(void **state)
{
	struct fixture *f = *state;

	/* Two nodes, one with a clock 1000 s behind. */
	fail_n(f, ALICE, IP, T0, 5);
	fail_n(f, ALICE, IP, T0 - 1000, 1);
	refused(f, ALICE, IP, T0, 60);
}

static void
test_throttle_LG03_account_key_not_stored_in_clear(void **state)
{
	struct fixture *f = *state;
	struct db_stmt *s;
	size_t len;
	const char *p;

	fail_n(f, "correct horse battery staple", IP, T0, 1);
	assert_int_equal(
	    db_prepare(f->c, "SELECT key FROM throttle_accounts", &s), 0);
	assert_int_equal(db_step(s), DB_ROW);
	p = db_col_text(s, 0, &len);
	assert_int_equal(len, 64);
	assert_null(strstr(p, "horse"));
	db_done(s);
}

static void
test_throttle_LG04_ip_limit_independent_of_account(void **state)
{
	struct fixture *f = *state;
	char key[64];

	/* Spraying: one failure each against 100 accounts. */
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "user%d@example.com", i);
		allowed(f, key, IP, T0 + 10);
		fail_n(f, key, IP, T0 + 10, 1);
	}
	/* A fresh account from that IP: 429 until the hour ends. */
	refused(f, "fresh@example.com", IP, T0 + 10, 3590);
	refused(f, "fresh@example.com", IP, T0 + 3599, 1);
	/* The IPv4-mapped spelling is the same client. */
	refused(f, "fresh@example.com", "::ffff:198.51.100.7", T0 + 10, 3590);
	/* Its neighbour in the /24 and other clients are not affected. */
	allowed(f, "fresh@example.com", "198.51.100.8", T0 + 10);
	allowed(f, "fresh@example.com", "2001:db8::1", T0 + 10);
	/* A new window. */
	allowed(f, "fresh@example.com", IP, T0 + 3600);
}

static void
test_throttle_LG04_ip_and_account_delay_take_longest(void **state)
{
	struct fixture *f = *state;

	f->cfg.login_ip_failures = 5;
	fail_n(f, ALICE, IP, T0 + 3000, 5);
	/* Account: 30 s; IP: 600 s to the window's end. */
	refused(f, ALICE, IP, T0 + 3000, 600);
	fail_n(f, ALICE, IP, T0 + 3000, 6);
	/* Account: 11 failures = 1920 s, longer than the window. */
	refused(f, ALICE, IP, T0 + 3000, 1920);
}

static void
test_throttle_LG04_subnet_limit(void **state)
{
	struct fixture *f = *state;
	char ip[64], key[64];

	f->cfg.login_subnet_failures = 10;
	for (int i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", i + 1);
		snprintf(key, sizeof(key), "v4-%d@example.com", i);
		fail_n(f, key, ip, T0, 1);
		snprintf(ip, sizeof(ip), "2001:db8:1:2::%x", i + 1);
		snprintf(key, sizeof(key), "v6-%d@example.com", i);
		fail_n(f, key, ip, T0, 1);
	}
	/* Rotating addresses inside the /24 or /64 does not help. */
	refused(f, "new@example.com", "203.0.113.200", T0, 3600);
	refused(f, "new@example.com", "2001:db8:1:2:ffff::1", T0, 3600);
	allowed(f, "new@example.com", "203.0.114.1", T0);
	allowed(f, "new@example.com", "2001:db8:1:3::1", T0);
}

static void
test_throttle_LG04_global_limit(void **state)
{
	struct fixture *f = *state;
	char ip[64], key[64];

	f->cfg.login_global_failures = 20;
	for (int i = 0; i < 20; i++) {
		snprintf(ip, sizeof(ip), "10.%d.0.1", i);
		snprintf(key, sizeof(key), "u%d@example.com", i);
		fail_n(f, key, ip, T0 + 100, 1);
	}
	refused(f, "other@example.com", "192.0.2.1", T0 + 100, 3500);
	allowed(f, "other@example.com", "192.0.2.1", T0 + 3600);
}

static void
test_throttle_LG04_bad_input_fails_closed(void **state)
{
	struct fixture *f = *state;
	struct throttle_verdict v;
	bool ok = true;

	assert_int_equal(
	    throttle_login_check(f->db, &f->cfg, ALICE, "unknown", T0, &v),
	    PC_ERR_INVALID);
	assert_false(v.allowed);
	assert_int_equal(
	    throttle_login_check(f->db, &f->cfg, ALICE, NULL, T0, &v),
	    PC_ERR_INVALID);
	assert_false(v.allowed);
	assert_int_equal(throttle_login_check(f->db, &f->cfg, NULL, IP, T0, &v),
	    PC_ERR_INVALID);
	assert_false(v.allowed);
	assert_int_equal(throttle_login_failure(
			     f->db, &f->cfg, ALICE, "1.2.3.4, 5.6.7.8", T0),
	    PC_ERR_INVALID);
	assert_int_equal(
	    throttle_mail(f->db, &f->cfg, ALICE, "x", T0, &ok), PC_ERR_INVALID);
	assert_false(ok);
	assert_int_equal(throttle_login_success(f->db, NULL), PC_ERR_INVALID);
}

/*
 * TK-08: client authentication failures count per IP and per (client,
 * IP), never per client alone; a success clears its pair, and writes
 * nothing when the pair had no failures.
 */
static void
test_throttle_TK08_client_pair_and_ip(void **state)
{
	struct fixture *f = *state;
	struct throttle_client t;

	f->cfg.client_auth_pair_failures = 3;
	f->cfg.client_auth_ip_failures = 5;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(throttle_client_check(f->db, &f->cfg,
				     "pcc_victim", "203.0.113.9", T0, &t),
		    0);
		assert_true(t.v.allowed);
		assert_int_equal(throttle_client_failure(f->db, &t), 0);
	}
	/* The pair is held until the window ends... */
	assert_int_equal(throttle_client_check(f->db, &f->cfg, "pcc_victim",
			     "203.0.113.9", T0 + 10, &t),
	    0);
	assert_false(t.v.allowed);
	assert_int_equal(t.v.retry_after, 3600 - 10);
	/* ...the same client from elsewhere is not, nor another client from
	 * the attacker's IP (below its IP limit). */
	assert_int_equal(throttle_client_check(f->db, &f->cfg, "pcc_victim",
			     "198.51.100.1", T0, &t),
	    0);
	assert_true(t.v.allowed);
	assert_int_equal(t.pair_failures, 0);
	assert_int_equal(throttle_client_check(f->db, &f->cfg, "pcc_other",
			     "203.0.113.9", T0, &t),
	    0);
	assert_true(t.v.allowed);
	/* Two more failures elsewhere from that IP: the IP is held. */
	assert_int_equal(throttle_client_failure(f->db, &t), 0);
	assert_int_equal(throttle_client_check(f->db, &f->cfg, "pcc_third",
			     "203.0.113.9", T0, &t),
	    0);
	assert_int_equal(throttle_client_failure(f->db, &t), 0);
	assert_int_equal(throttle_client_check(f->db, &f->cfg, "pcc_fourth",
			     "203.0.113.9", T0, &t),
	    0);
	assert_false(t.v.allowed);
	/* The next window starts clean. */
	assert_int_equal(throttle_client_check(f->db, &f->cfg, "pcc_victim",
			     "203.0.113.9", T0 + 3600, &t),
	    0);
	assert_true(t.v.allowed);
	/* No row names the client id or the IP with it in clear. */
	assert_int_equal(count(f,
			     "SELECT count(*) FROM throttle_windows WHERE key "
			     "LIKE '%pcc_%'"),
	    0);
}

static void
test_throttle_TK08_client_success_clears_pair(void **state)
{
	struct fixture *f = *state;
	struct throttle_client t;

	f->cfg.client_auth_pair_failures = 2;
	/* A success with nothing to clear writes nothing. */
	assert_int_equal(
	    throttle_client_check(f->db, &f->cfg, "pcc_app", IP, T0, &t), 0);
	assert_int_equal(throttle_client_success(f->db, &t), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM throttle_windows"), 0);
	assert_int_equal(
	    throttle_client_check(f->db, &f->cfg, "pcc_app", IP, T0, &t), 0);
	assert_int_equal(throttle_client_failure(f->db, &t), 0);
	assert_int_equal(
	    throttle_client_check(f->db, &f->cfg, "pcc_app", IP, T0, &t), 0);
	assert_true(t.v.allowed);
	assert_int_equal(t.pair_failures, 1);
	assert_int_equal(throttle_client_success(f->db, &t), 0);
	/* The pair's count went; the IP's stays (it counts failures). */
	assert_int_equal(count(f,
			     "SELECT count(*) FROM throttle_windows WHERE "
			     "scope = 'client_pair'"),
	    0);
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows WHERE "
			     "scope = 'client_ip'"),
	    1);
	assert_int_equal(
	    throttle_client_check(f->db, &f->cfg, "pcc_app", IP, T0, &t), 0);
	assert_int_equal(t.pair_failures, 0);
	assert_int_equal(throttle_client_check(
			     f->db, &f->cfg, "pcc_app", "not-an-ip", T0, &t),
	    PC_ERR_INVALID);
	assert_false(t.v.allowed);
}

static void
test_throttle_RS07_mail_limits(void **state)
{
	struct fixture *f = *state;
	bool ok;
	char key[64], ip[32];

	for (int i = 0; i < 3; i++) {
		assert_int_equal(
		    throttle_mail(f->db, &f->cfg, ALICE, IP, T0, &ok), 0);
		assert_true(ok);
	}
	/* The 4th mail to alice within the hour, even from another IP. */
	assert_int_equal(
	    throttle_mail(f->db, &f->cfg, ALICE, "192.0.2.1", T0, &ok), 0);
	assert_false(ok);
	/* Refused mails count nowhere. */
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows"
			     " WHERE scope = 'mail_account'"),
	    3);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM throttle_windows"
			     " WHERE scope = 'mail_ip'"
			     " AND key = '192.0.2.1'"),
	    0);
	/* Mail bombing many accounts from one IP: 20 an hour. */
	for (int i = 0; i < 17; i++) {
		snprintf(key, sizeof(key), "m%d@example.com", i);
		assert_int_equal(
		    throttle_mail(f->db, &f->cfg, key, IP, T0, &ok), 0);
		assert_true(ok);
	}
	assert_int_equal(
	    throttle_mail(f->db, &f->cfg, "victim@example.com", IP, T0, &ok),
	    0);
	assert_false(ok);
	/* ... and the refusal did not use up the victim's allowance. */
	for (int i = 0; i < 3; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 10);
		assert_int_equal(throttle_mail(f->db, &f->cfg,
				     "victim@example.com", ip, T0, &ok),
		    0);
		assert_true(ok);
	}
	/* Next hour. */
	assert_int_equal(
	    throttle_mail(f->db, &f->cfg, ALICE, IP, T0 + 3600, &ok), 0);
	assert_true(ok);
	/* Mails and sign-in failures never share a counter. */
	allowed(f, ALICE, IP, T0);
}

struct mail_race {
	struct fixture *f;
	int allowed;
	int errors;
};

static void *
mail_worker(void *arg)
{
	struct mail_race *m = arg;

	for (int i = 0; i < 10; i++) {
		bool ok = false;

		if (throttle_mail(m->f->db, &m->f->cfg, ALICE, IP, T0, &ok) !=
		    0)
			m->errors++;
		else if (ok)
			m->allowed++;
	}
	return NULL;
}

static void
test_throttle_RS07_mail_limit_holds_under_concurrency(void **state)
{
	struct fixture *f = *state;
	struct mail_race m[8];
	pthread_t th[8];
	int total = 0;

	/* Each thread has its own store connection, like separate nodes. */
	for (size_t i = 0; i < PC_NELEM(th); i++) {
		m[i] = (struct mail_race){ f, 0, 0 };
		assert_int_equal(
		    pthread_create(&th[i], NULL, mail_worker, &m[i]), 0);
	}
	for (size_t i = 0; i < PC_NELEM(th); i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(m[i].errors, 0);
		total += m[i].allowed;
	}
	assert_int_equal(total, 3);
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows"
			     " WHERE scope = 'mail_account'"),
	    3);
}

static void
test_throttle_DS04_purge(void **state)
{
	struct fixture *f = *state;
	int64_t deleted = -1, now = T0 + 2 * 86400;
	bool ok;

	fail_n(f, "old@example.com", IP, T0, 3);	    /* idle 48 h */
	fail_n(f, "recent@example.com", IP, now - 3600, 3); /* idle 1 h */
	fail_n(f, "locked@example.com", "192.0.2.1", T0, 100);
	assert_int_equal(throttle_mail(f->db, &f->cfg, ALICE, IP, now, &ok), 0);
	/* Windows: T0 (ip, subnet for two IPs; global), now - 3600 (ip,
	 * subnet, global), now (mail_account, mail_ip). */
	assert_int_equal(throttle_purge(f->db, &f->cfg, now, &deleted), 0);
	/* T0's 5 windows and the idle unlocked account. */
	assert_int_equal(deleted, 6);
	assert_int_equal(count(f, "SELECT count(*) FROM throttle_accounts"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM throttle_windows"), 5);
	assert_true(check(f, "locked@example.com", IP, now).locked);
	/* Two hours on, the last windows go; the recent row is only 3 h
	 * idle and stays. */
	assert_int_equal(
	    throttle_purge(f->db, &f->cfg, now + 7201, &deleted), 0);
	assert_int_equal(deleted, 5);
	assert_int_equal(count(f, "SELECT count(*) FROM throttle_accounts"), 2);
	assert_int_equal(throttle_purge(f->db, &f->cfg, now + 86400, NULL), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM throttle_accounts"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG03_fifth_failure_delays_then_doubles_and_caps,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG03_check_counts_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG03_success_resets_account_not_ip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG03_hundredth_failure_locks_until_reset,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG03_lock_setting_is_honoured, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG03_huge_failure_counts_do_not_overflow,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG03_last_failure_never_moves_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG03_account_key_not_stored_in_clear, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG04_ip_limit_independent_of_account, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG04_ip_and_account_delay_take_longest, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG04_subnet_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG04_global_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG04_bad_input_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_TK08_client_pair_and_ip, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_TK08_client_success_clears_pair, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_RS07_mail_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_RS07_mail_limit_holds_under_concurrency,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_DS04_purge, setup, teardown),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
