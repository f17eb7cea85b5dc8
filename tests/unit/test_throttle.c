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
#include "store_fixture.h"
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

	if (f == NULL)
		return -1;
	if (store_fixture_new(f->dir, true, &f->db) != 0 ||
	    db_conn(f->db, &f->c) != 0) {
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
	struct fixture *f = *state;

	config_free(&f->cfg);
	if (store_fixture_close(f->dir, f->db) != 0)
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

/*
 * n failed sign-ins at now, whatever the limits say: attempts counted
 * through throttle_login_begin under a configuration that lets every one
 * through (so the schedule tests can set up any history).
 */
static void
fail_n(struct fixture *f, const char *key, const char *ip, int64_t now, int n)
{
	struct config open = f->cfg;
	struct throttle_attempt t;

	open.login_delay_free = INT64_MAX;
	open.login_lock_after = INT64_MAX;
	open.login_ip_failures = INT64_MAX;
	open.login_subnet_failures = INT64_MAX;
	open.login_global_failures = INT64_MAX;
	for (int i = 0; i < n; i++) {
		assert_int_equal(throttle_login_begin(f->db, &open, key, ip,
				     NULL, NULL, now, &t),
		    0);
		assert_true(t.v.allowed);
		assert_true(t.counted);
	}
}

/* What an attempt would get; when allowed, its count is taken back. */
static struct throttle_verdict
check(struct fixture *f, const char *key, const char *ip, int64_t now)
{
	struct throttle_attempt t;

	assert_int_equal(
	    throttle_login_begin(f->db, &f->cfg, key, ip, NULL, NULL, now, &t),
	    0);
	if (t.v.allowed) {
		assert_int_equal(t.v.retry_after, 0);
		assert_true(t.counted);
		assert_int_equal(throttle_login_end(f->db, &t, false), 0);
		assert_false(t.counted);
	} else {
		assert_true(t.v.retry_after >= 1);
		assert_false(t.counted);
	}
	return t.v;
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
	fail_n(f, ALICE, IP, t + 3600, 1);
	refused(f, ALICE, IP, t + 3600, 3600);
	allowed(f, "bob@example.com", IP, t + 3600);
}

static void
test_throttle_LG03_refusal_counts_nothing(void **state)
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
	struct throttle_attempt t;
	bool ok = true;

	assert_int_equal(throttle_login_begin(f->db, &f->cfg, ALICE, "unknown",
			     NULL, NULL, T0, &t),
	    PC_ERR_INVALID);
	assert_false(t.v.allowed);
	assert_false(t.counted);
	assert_int_equal(throttle_login_begin(
			     f->db, &f->cfg, ALICE, NULL, NULL, NULL, T0, &t),
	    PC_ERR_INVALID);
	assert_false(t.v.allowed);
	assert_int_equal(
	    throttle_login_begin(f->db, &f->cfg, NULL, IP, NULL, NULL, T0, &t),
	    PC_ERR_INVALID);
	assert_false(t.v.allowed);
	assert_int_equal(throttle_login_begin(f->db, &f->cfg, ALICE,
			     "1.2.3.4, 5.6.7.8", NULL, NULL, T0, &t),
	    PC_ERR_INVALID);
	assert_false(t.v.allowed);
	assert_int_equal(
	    throttle_mail_ip(f->db, &f->cfg, "x", T0, &ok), PC_ERR_INVALID);
	assert_false(ok);
	ok = true;
	assert_int_equal(
	    throttle_mail_account(f->db, &f->cfg, ALICE, "x", T0, &ok),
	    PC_ERR_INVALID);
	assert_false(ok);
	ok = true;
	assert_int_equal(
	    throttle_mail_account(f->db, &f->cfg, NULL, IP, T0, &ok),
	    PC_ERR_INVALID);
	assert_false(ok);
	assert_int_equal(throttle_login_success(f->db, NULL), PC_ERR_INVALID);
	assert_int_equal(count(f, "SELECT count(*) FROM throttle_windows"), 0);
}

/*
 * LG-03: the attempt is counted before its password is checked, so
 * attempts that have not finished yet already count: the 6th of six at
 * once is refused although none has failed yet.
 */
static void
test_throttle_LG03_attempts_count_before_the_check(void **state)
{
	struct fixture *f = *state;
	struct throttle_attempt t[6];

	for (int i = 0; i < 5; i++) {
		assert_int_equal(throttle_login_begin(f->db, &f->cfg, ALICE, IP,
				     NULL, NULL, T0, &t[i]),
		    0);
		assert_true(t[i].v.allowed);
	}
	assert_int_equal(throttle_login_begin(
			     f->db, &f->cfg, ALICE, IP, NULL, NULL, T0, &t[5]),
	    0);
	assert_false(t[5].v.allowed);
	assert_int_equal(t[5].v.retry_after, 30);
	assert_int_equal(count(f, "SELECT failures FROM throttle_accounts"), 5);
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows"
			     " WHERE scope = 'ip'"),
	    5);
	/* One was never checked (the pool was busy): it is taken back. */
	assert_int_equal(throttle_login_end(f->db, &t[4], false), 0);
	assert_int_equal(count(f, "SELECT failures FROM throttle_accounts"), 4);
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows"
			     " WHERE scope = 'ip'"),
	    4);
	/* Settling twice changes nothing. */
	assert_int_equal(throttle_login_end(f->db, &t[4], false), 0);
	assert_int_equal(count(f, "SELECT failures FROM throttle_accounts"), 4);
	/* One was right: the account starts again, the IP keeps the three
	 * failures, and the success itself is not one. */
	assert_int_equal(throttle_login_end(f->db, &t[0], true), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM throttle_accounts"), 0);
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows"
			     " WHERE scope = 'ip'"),
	    3);
	allowed(f, ALICE, IP, T0);
}

/* The per-IP window counts attempts in flight too. */
static void
test_throttle_LG04_ip_counts_attempts_in_flight(void **state)
{
	struct fixture *f = *state;
	struct throttle_attempt t;
	char key[64];

	f->cfg.login_ip_failures = 3;
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "user%d@example.com", i);
		assert_int_equal(throttle_login_begin(f->db, &f->cfg, key, IP,
				     NULL, NULL, T0, &t),
		    0);
		assert_true(t.v.allowed);
	}
	refused(f, "fresh@example.com", IP, T0, 3600);
	/* A success gives its slot back: the window counts failures. */
	assert_int_equal(throttle_login_end(f->db, &t, true), 0);
	allowed(f, "fresh@example.com", IP, T0);
}

struct login_race {
	struct fixture *f;
	const char *device; /* NULL or a device cookie hash */
	const char *user_id;
	int allowed, errors;
};

static void *
login_worker(void *arg)
{
	struct login_race *m = arg;

	for (int i = 0; i < 10; i++) {
		struct throttle_attempt t;

		if (throttle_login_begin(m->f->db, &m->f->cfg, ALICE, IP,
			m->device, m->user_id, T0, &t) != 0)
			m->errors++;
		else if (t.v.allowed)
			m->allowed++;
	}
	return NULL;
}

/*
 * LG-03 under concurrency: 8 threads, each with its own store connection
 * (like separate nodes), 80 attempts at once: exactly login_delay_free + 1
 * get through; with a device cookie, exactly device_cookie_failures.
 */
static void
test_throttle_LG03_concurrent_attempts_count_as_many(void **state)
{
	struct fixture *f = *state;
	struct login_race m[8];
	pthread_t th[8];
	int total = 0;

	for (size_t i = 0; i < PC_NELEM(th); i++) {
		m[i] = (struct login_race){ f, NULL, NULL, 0, 0 };
		assert_int_equal(
		    pthread_create(&th[i], NULL, login_worker, &m[i]), 0);
	}
	for (size_t i = 0; i < PC_NELEM(th); i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(m[i].errors, 0);
		total += m[i].allowed;
	}
	assert_int_equal(total, 5);
	assert_int_equal(count(f, "SELECT failures FROM throttle_accounts"), 5);
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows"
			     " WHERE scope = 'global'"),
	    5);
}

/*
 * LG-03 device cookies: only a live cookie of the account's own user
 * skips the delay (never the lock), it has its own failure limit, a
 * success resets it, revoking and expiry end it, and only its hash is
 * stored.
 */
static void
test_throttle_LG03_device_cookie(void **state)
{
	struct fixture *f = *state;
	struct store_user alice, bob;
	char v[DEVICE_COOKIE_LEN + 1], h[65], bad[65];
	struct throttle_attempt t;
	int64_t n = 0;

	assert_int_equal(
	    user_create(f->db, "alice@example.com", "Alice", true, &alice), 0);
	assert_int_equal(
	    user_create(f->db, "bob@example.com", "Bob", true, &bob), 0);
	f->cfg.device_cookie_failures = 2;
	assert_int_equal(
	    device_cookie_issue(f->db, &f->cfg, alice.id, NULL, T0, v), 0);
	assert_int_equal(strlen(v), DEVICE_COOKIE_LEN);
	assert_int_equal(device_cookie_hash(v, h), 0);
	assert_int_equal(device_cookie_hash("short", bad), PC_ERR_INVALID);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM device_cookies WHERE "
			     "id_hash = user_id OR id_hash LIKE '%-%'"),
	    0);
	/* A stranger holds Alice's account. */
	fail_n(f, ALICE, "203.0.113.5", T0, 6);
	refused(f, ALICE, IP, T0 + 1, 59);
	/* Alice's cookie, for Alice: through, counted on both. */
	assert_int_equal(throttle_login_begin(f->db, &f->cfg, ALICE, IP, h,
			     alice.id, T0 + 1, &t),
	    0);
	assert_true(t.v.allowed);
	assert_true(t.device);
	assert_int_equal(count(f, "SELECT failures FROM device_cookies"), 1);
	assert_int_equal(count(f, "SELECT failures FROM throttle_accounts"), 7);
	/* The same cookie for Bob's account (another user): no help. */
	fail_n(f, "bob@example.com", "203.0.113.5", T0, 6);
	assert_int_equal(throttle_login_begin(f->db, &f->cfg, "bob@example.com",
			     IP, h, bob.id, T0 + 1, &t),
	    0);
	assert_false(t.v.allowed);
	assert_false(t.device);
	/* A second failure uses up the cookie's limit of 2. */
	assert_int_equal(throttle_login_begin(f->db, &f->cfg, ALICE, IP, h,
			     alice.id, T0 + 1, &t),
	    0);
	assert_true(t.v.allowed);
	assert_int_equal(throttle_login_begin(f->db, &f->cfg, ALICE, IP, h,
			     alice.id, T0 + 1, &t),
	    0);
	assert_false(t.v.allowed);
	assert_false(t.device);
	/* Used up, it stays so; the sign-in page replaces it on the next
	 * success. */
	assert_int_equal(throttle_login_success(f->db, ALICE), 0);
	assert_int_equal(throttle_login_begin(f->db, &f->cfg, ALICE, IP, h,
			     alice.id, T0 + 2, &t),
	    0);
	assert_true(t.v.allowed);
	assert_false(t.device);
	assert_int_equal(throttle_login_end(f->db, &t, true), 0);
	assert_int_equal(
	    device_cookie_issue(f->db, &f->cfg, alice.id, h, T0, v), 0);
	assert_int_equal(device_cookie_hash(v, h), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM device_cookies"), 1);
	/* A success through the cookie resets its failures. */
	assert_int_equal(throttle_login_begin(f->db, &f->cfg, ALICE, IP, h,
			     alice.id, T0 + 2, &t),
	    0);
	assert_true(t.device);
	assert_int_equal(count(f, "SELECT failures FROM device_cookies"), 1);
	assert_int_equal(throttle_login_end(f->db, &t, true), 0);
	assert_int_equal(count(f, "SELECT failures FROM device_cookies"), 0);
	/* The lock holds for the cookie too. */
	fail_n(f, ALICE, "203.0.113.5", T0 + 3, 100);
	assert_int_equal(throttle_login_begin(f->db, &f->cfg, ALICE, IP, h,
			     alice.id, T0 + 3, &t),
	    0);
	assert_false(t.v.allowed);
	assert_true(t.v.locked);
	assert_int_equal(throttle_login_success(f->db, ALICE), 0);
	/* Revoked (keeping another) and expired cookies no longer count. */
	{
		char v2[DEVICE_COOKIE_LEN + 1], h2[65];

		assert_int_equal(
		    device_cookie_issue(f->db, &f->cfg, alice.id, NULL, T0, v2),
		    0);
		assert_int_equal(device_cookie_hash(v2, h2), 0);
		assert_int_equal(
		    device_cookies_revoke(f->db, alice.id, h2, &n), 0);
		assert_int_equal(n, 1);
		fail_n(f, ALICE, "203.0.113.5", T0 + 4, 6);
		assert_int_equal(throttle_login_begin(f->db, &f->cfg, ALICE, IP,
				     h, alice.id, T0 + 4, &t),
		    0);
		assert_false(t.v.allowed);
		assert_int_equal(throttle_login_begin(f->db, &f->cfg, ALICE, IP,
				     h2, alice.id, T0 + 4, &t),
		    0);
		assert_true(t.v.allowed);
		/* Past its lifetime the purge takes it. */
		assert_int_equal(throttle_purge(f->db, &f->cfg,
				     T0 + f->cfg.device_cookie_lifetime, NULL),
		    0);
		assert_int_equal(
		    count(f, "SELECT count(*) FROM device_cookies"), 0);
	}
	store_user_clear(&alice);
	store_user_clear(&bob);
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

/*
 * AK-03: failed API-key authentications count per IP only, failures
 * only; a check counts nothing; another IP is never held.
 */
static void
test_throttle_AK03_apikey_per_ip(void **state)
{
	struct fixture *f = *state;
	struct throttle_apikey t;

	f->cfg.api_key_ip_failures = 3;
	for (int i = 0; i < 5; i++) {
		/* Checks alone (successes) count nothing. */
		assert_int_equal(throttle_apikey_check(
				     f->db, &f->cfg, "203.0.113.9", T0, &t),
		    0);
		assert_true(t.v.allowed);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(throttle_apikey_check(
				     f->db, &f->cfg, "203.0.113.9", T0, &t),
		    0);
		assert_true(t.v.allowed);
		assert_int_equal(throttle_apikey_failure(f->db, &t), 0);
	}
	assert_int_equal(
	    throttle_apikey_check(f->db, &f->cfg, "203.0.113.9", T0 + 10, &t),
	    0);
	assert_false(t.v.allowed);
	assert_int_equal(t.v.retry_after, 3600 - 10);
	/* Another IP, and the client-auth limit of the same IP, are free. */
	assert_int_equal(
	    throttle_apikey_check(f->db, &f->cfg, "198.51.100.1", T0, &t), 0);
	assert_true(t.v.allowed);
	{
		struct throttle_client c;

		assert_int_equal(throttle_client_check(f->db, &f->cfg,
				     "pcc_app", "203.0.113.9", T0, &c),
		    0);
		assert_true(c.v.allowed);
	}
	/* The next window starts clean; bad input fails closed. */
	assert_int_equal(
	    throttle_apikey_check(f->db, &f->cfg, "203.0.113.9", T0 + 3600, &t),
	    0);
	assert_true(t.v.allowed);
	assert_int_not_equal(
	    throttle_apikey_check(f->db, &f->cfg, "not-an-ip", T0, &t), 0);
	assert_false(t.v.allowed);
}

/*
 * Decision 0049: the TK-08 check reads nothing while no failure was
 * counted in its window, and a failure counted on this very thread (whose
 * SQLite connection's data_version does not move for its own commits) is
 * seen by the next check all the same.
 */
static void
test_throttle_TK08_fast_path_sees_own_failures(void **state)
{
	static uint64_t owner = 1000; /* one per store this process opens */
	struct fixture *f = *state;
	struct store_versions v;
	struct throttle_client t;

	owner++;
	f->cfg.client_auth_pair_failures = 2;
	f->cfg.client_auth_ip_failures = 50;
	assert_int_equal(store_versions_read(f->db, owner, &v), 0);
	assert_true(v.failure_window < T0 - T0 % 3600);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    throttle_client_check_at(f->db, &f->cfg, "pcc_app",
			"203.0.113.5", T0, &v.failure_window, &t),
		    0);
		assert_true(t.v.allowed);
		assert_int_equal(throttle_client_failure(f->db, &t), 0);
		assert_int_equal(store_versions_read(f->db, owner, &v), 0);
		assert_int_equal(v.failure_window, t.window_start);
	}
	assert_int_equal(throttle_client_check_at(f->db, &f->cfg, "pcc_app",
			     "203.0.113.5", T0 + 1, &v.failure_window, &t),
	    0);
	assert_false(t.v.allowed);
	/* A limit of 0 refuses on the fast path too. */
	f->cfg.client_auth_ip_failures = 0;
	v.failure_window = -1;
	assert_int_equal(throttle_client_check_at(f->db, &f->cfg, "pcc_x",
			     "198.51.100.5", T0, &v.failure_window, &t),
	    0);
	assert_false(t.v.allowed);
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
test_throttle_RS07_mail_ip_counts_every_request(void **state)
{
	struct fixture *f = *state;
	bool ok;

	for (int i = 0; i < 20; i++) {
		assert_int_equal(
		    throttle_mail_ip(f->db, &f->cfg, IP, T0, &ok), 0);
		assert_true(ok);
	}
	assert_int_equal(throttle_mail_ip(f->db, &f->cfg, IP, T0, &ok), 0);
	assert_false(ok);
	/* Refused requests count nowhere: the count stays at the limit. */
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows"
			     " WHERE scope = 'mail_ip'"),
	    20);
	assert_int_equal(
	    throttle_mail_ip(f->db, &f->cfg, "198.51.100.8", T0, &ok), 0);
	assert_true(ok);
	/* One IPv6 host is its /64: its addresses share one count. */
	for (int i = 0; i < 20; i++) {
		char ip[64];

		snprintf(ip, sizeof(ip), "2001:db8:1:2::%x", i + 1);
		assert_int_equal(
		    throttle_mail_ip(f->db, &f->cfg, ip, T0, &ok), 0);
		assert_true(ok);
	}
	assert_int_equal(
	    throttle_mail_ip(f->db, &f->cfg, "2001:db8:1:2:ffff::1", T0, &ok),
	    0);
	assert_false(ok);
	assert_int_equal(
	    throttle_mail_ip(f->db, &f->cfg, "2001:db8:1:3::1", T0, &ok), 0);
	assert_true(ok);
	/* Next hour. */
	assert_int_equal(
	    throttle_mail_ip(f->db, &f->cfg, IP, T0 + 3600, &ok), 0);
	assert_true(ok);
}

static void
test_throttle_RS07_mail_account_per_pair_and_total(void **state)
{
	struct fixture *f = *state;
	bool ok;
	char ip[32];

	f->cfg.mail_per_account_total = 7;
	/* A stranger from one IP: 3 mails to alice, then none. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
		    throttle_mail_account(f->db, &f->cfg, ALICE, IP, T0, &ok),
		    0);
		assert_true(ok);
	}
	assert_int_equal(
	    throttle_mail_account(f->db, &f->cfg, ALICE, IP, T0, &ok), 0);
	assert_false(ok);
	/* ... which leaves alice's own IP its whole share. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(throttle_mail_account(f->db, &f->cfg, ALICE,
				     "192.0.2.1", T0, &ok),
		    0);
		assert_true(ok);
	}
	/* Other accounts from the stranger's IP are their own pairs. */
	assert_int_equal(throttle_mail_account(
			     f->db, &f->cfg, "bob@example.com", IP, T0, &ok),
	    0);
	assert_true(ok);
	/* The account over every IP: 7 in all, then none from anywhere. */
	assert_int_equal(
	    throttle_mail_account(f->db, &f->cfg, ALICE, "192.0.2.2", T0, &ok),
	    0);
	assert_true(ok);
	for (int i = 0; i < 3; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 10);
		assert_int_equal(
		    throttle_mail_account(f->db, &f->cfg, ALICE, ip, T0, &ok),
		    0);
		assert_false(ok);
	}
	/* Refused mails count nowhere. */
	assert_int_equal(count(f,
			     "SELECT count(*) FROM throttle_windows"
			     " WHERE scope = 'mail_pair'"),
	    4);
	assert_int_equal(count(f,
			     "SELECT sum(count) FROM throttle_windows"
			     " WHERE scope = 'mail_pair'"),
	    8);
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows"
			     " WHERE scope = 'mail_account' AND key <> ''"
			     " ORDER BY count DESC LIMIT 1"),
	    7);
	/* The store keeps no email and no IP in a mail key. */
	assert_int_equal(
	    count(f,
		"SELECT count(*) FROM throttle_windows"
		" WHERE key LIKE '%example%' OR (scope <> 'mail_ip'"
		" AND key LIKE '%192.0.2%')"),
	    0);
	/* Next hour. */
	assert_int_equal(
	    throttle_mail_account(f->db, &f->cfg, ALICE, IP, T0 + 3600, &ok),
	    0);
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

		if (throttle_mail_account(
			m->f->db, &m->f->cfg, ALICE, IP, T0, &ok) != 0)
			m->errors++;
		else if (ok)
			m->allowed++;
		if (throttle_mail_ip(
			m->f->db, &m->f->cfg, "192.0.2.9", T0, &ok) != 0)
			m->errors++;
		else if (ok)
			m->allowed += 100;
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
	/* 3 mails for the pair, 20 requests for the IP, of 80 each. */
	assert_int_equal(total, 3 + 20 * 100);
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows"
			     " WHERE scope = 'mail_account'"),
	    3);
	assert_int_equal(count(f,
			     "SELECT count FROM throttle_windows"
			     " WHERE scope = 'mail_ip'"),
	    20);
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
	assert_int_equal(throttle_mail_ip(f->db, &f->cfg, IP, now, &ok), 0);
	assert_int_equal(
	    throttle_mail_account(f->db, &f->cfg, ALICE, IP, now, &ok), 0);
	/* Windows: T0 (ip, subnet for two IPs; global), now - 3600 (ip,
	 * subnet, global), now (mail_ip, mail_pair, mail_account). */
	assert_int_equal(throttle_purge(f->db, &f->cfg, now, &deleted), 0);
	/* T0's 5 windows and the idle unlocked account. */
	assert_int_equal(deleted, 6);
	assert_int_equal(count(f, "SELECT count(*) FROM throttle_accounts"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM throttle_windows"), 6);
	assert_true(check(f, "locked@example.com", IP, now).locked);
	/* Two hours on, the last windows go; the recent row is only 3 h
	 * idle and stays. */
	assert_int_equal(
	    throttle_purge(f->db, &f->cfg, now + 7201, &deleted), 0);
	assert_int_equal(deleted, 6);
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
		    test_throttle_LG03_refusal_counts_nothing, setup, teardown),
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
		    test_throttle_RS07_mail_ip_counts_every_request, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_RS07_mail_account_per_pair_and_total, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG03_attempts_count_before_the_check, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG04_ip_counts_attempts_in_flight, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG03_concurrent_attempts_count_as_many, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_LG03_device_cookie, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_TK08_client_pair_and_ip, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_TK08_fast_path_sees_own_failures, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_TK08_client_success_clears_pair, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_throttle_AK03_apikey_per_ip, setup, teardown),
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
