/*
 * Unit tests for auth/mfa_attempt.c and store/mfa_state.c, the
 * per-account second-factor failure counter (SECURITY.md MF-03, Part 2
 * "TOTP failures"), on a real store (SQLite, and PostgreSQL through
 * scripts/pg-unit.sh): counted before the check, a concurrent burst of N
 * counts N, the backoff from the 5th failure doubling to its cap, TOTP
 * suspended past 20 until a recovery code, every factor refused past 100
 * until an operator reset, a correct factor resets, and the notices.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "crypto/crypto.h"
#include "store_fixture.h"
#include "store/db.h"
#include "store/store.h"
#include "util/config.h"

#define T0 INT64_C(1800000000)

struct fixture {
	char dir[64];
	struct db *db;
	struct config cfg;
	struct store_user alice;
	struct store_user bob;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (store_fixture_new(f->dir, true, &f->db) != 0 ||
	    user_create(f->db, "alice@example.com", "Alice", true, &f->alice) !=
		0 ||
	    user_create(f->db, "bob@example.com", "Bob", true, &f->bob) != 0) {
		free(f);
		return -1;
	}
	/* The shipped defaults: 30 s doubling to 1 h. */
	config_defaults(&f->cfg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	config_free(&f->cfg);
	store_user_clear(&f->alice);
	store_user_clear(&f->bob);
	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

static struct mfa_verdict
attempt(struct fixture *f, const char *user, int64_t now)
{
	struct mfa_verdict v;

	assert_int_equal(mfa_attempt_begin(f->db, &f->cfg, user, now, &v), 0);
	return v;
}

static int64_t
failures(struct fixture *f, const char *user)
{
	struct store_mfa_state st;

	assert_int_equal(store_mfa_state_get(f->db, user, &st), 0);
	return st.failures;
}

/* MF-03: counted before the check; 5 free, then 30 s doubling. */
static void
test_mfa_attempt_MF03_backoff_after_five(void **state)
{
	struct fixture *f = *state;
	struct mfa_verdict v;
	int64_t now = T0;

	for (int i = 1; i <= MFA_BACKOFF_AFTER; i++) {
		v = attempt(f, f->alice.id, now);
		assert_true(v.allowed);
		assert_false(v.totp_suspended);
		assert_int_equal(v.failures, i);
	}
	assert_int_equal(failures(f, f->alice.id), MFA_BACKOFF_AFTER);
	/* The 6th waits 30 s; a refusal is not counted. */
	v = attempt(f, f->alice.id, now + 1);
	assert_false(v.allowed);
	assert_false(v.locked);
	assert_int_equal(v.retry_after, 29);
	assert_int_equal(failures(f, f->alice.id), MFA_BACKOFF_AFTER);
	assert_false(attempt(f, f->alice.id, now + 29).allowed);
	now += 30;
	v = attempt(f, f->alice.id, now);
	assert_true(v.allowed);
	assert_int_equal(v.failures, 6);
	/* Then 60 s. */
	v = attempt(f, f->alice.id, now + 59);
	assert_false(v.allowed);
	assert_int_equal(v.retry_after, 1);
	assert_true(attempt(f, f->alice.id, now + 60).allowed);
	/* Bob's count is his own. */
	assert_true(attempt(f, f->bob.id, now).allowed);
	assert_int_equal(failures(f, f->bob.id), 1);
}

/* The delay stops at mfa_backoff_max. */
static void
test_mfa_attempt_MF03_backoff_cap(void **state)
{
	struct fixture *f = *state;
	int64_t now = T0;
	struct mfa_verdict v;

	f->cfg.mfa_backoff_base = 10;
	f->cfg.mfa_backoff_max = 25;
	for (int i = 0; i < MFA_BACKOFF_AFTER; i++)
		assert_true(attempt(f, f->alice.id, now).allowed);
	assert_int_equal(attempt(f, f->alice.id, now).retry_after, 10);
	now += 10;
	assert_true(attempt(f, f->alice.id, now).allowed);
	assert_int_equal(attempt(f, f->alice.id, now).retry_after, 20);
	now += 20;
	assert_true(attempt(f, f->alice.id, now).allowed);
	v = attempt(f, f->alice.id, now);
	assert_int_equal(v.retry_after, 25);
	now += 25;
	assert_true(attempt(f, f->alice.id, now).allowed);
	assert_int_equal(attempt(f, f->alice.id, now).retry_after, 25);
}

/* A correct factor resets the count and the backoff. */
static void
test_mfa_attempt_MF03_success_resets(void **state)
{
	struct fixture *f = *state;
	struct mfa_verdict v;

	for (int i = 0; i < MFA_BACKOFF_AFTER; i++)
		assert_true(attempt(f, f->alice.id, T0).allowed);
	assert_false(attempt(f, f->alice.id, T0).allowed);
	assert_int_equal(mfa_attempt_ok(f->db, f->alice.id, false), 0);
	assert_int_equal(failures(f, f->alice.id), 0);
	v = attempt(f, f->alice.id, T0 + 1);
	assert_true(v.allowed);
	assert_int_equal(v.failures, 1);
	/* mfa_attempt_ok on an account without a row is fine. */
	assert_int_equal(mfa_attempt_ok(f->db, f->bob.id, true), 0);
	assert_int_equal(
	    mfa_attempt_begin(f->db, &f->cfg, "", T0, &v), PC_ERR_INVALID);
	assert_false(v.allowed);
}

/* Fails every allowed attempt until failures reach n. */
static int64_t
fail_until(struct fixture *f, const char *user, int64_t now, int64_t n)
{
	while (failures(f, user) < n) {
		struct mfa_verdict v = attempt(f, user, now);

		if (!v.allowed) {
			assert_false(v.locked);
			now += v.retry_after;
		}
	}
	return now;
}

/* Past 20: TOTP suspended until a recovery code succeeds. */
static void
test_mfa_attempt_MF03_totp_suspended_after_twenty(void **state)
{
	struct fixture *f = *state;
	struct mfa_verdict v;
	int64_t now;

	now = fail_until(f, f->alice.id, T0, MFA_SUSPEND_AFTER - 1);
	now += 3600;
	/* The 20th attempt is still a TOTP check. */
	v = attempt(f, f->alice.id, now);
	assert_true(v.allowed);
	assert_false(v.totp_suspended);
	assert_int_equal(v.failures, MFA_SUSPEND_AFTER);
	now += 3600;
	v = attempt(f, f->alice.id, now);
	assert_true(v.allowed);
	assert_true(v.totp_suspended);
	/* A correct TOTP cannot have happened; a correct passkey (not
	 * recovery) resets the count but TOTP stays suspended. */
	assert_int_equal(mfa_attempt_ok(f->db, f->alice.id, false), 0);
	v = attempt(f, f->alice.id, now + 1);
	assert_true(v.allowed);
	assert_true(v.totp_suspended);
	assert_int_equal(v.failures, 1);
	/* A recovery code lifts the suspension. */
	assert_int_equal(mfa_attempt_ok(f->db, f->alice.id, true), 0);
	v = attempt(f, f->alice.id, now + 2);
	assert_true(v.allowed);
	assert_false(v.totp_suspended);
	/* So does an operator reset. */
	now = fail_until(f, f->bob.id, T0, MFA_SUSPEND_AFTER + 1);
	assert_true(attempt(f, f->bob.id, now + 3600).totp_suspended);
	assert_int_equal(mfa_reset(f->db, f->bob.id, "totp", NULL), 0);
	v = attempt(f, f->bob.id, now + 3601);
	assert_false(v.totp_suspended);
	assert_int_equal(v.failures, 1);
}

/* 100 consecutive failures: nothing is checked until an operator reset. */
static void
test_mfa_attempt_MF03_locked_after_hundred(void **state)
{
	struct fixture *f = *state;
	struct mfa_verdict v;
	int64_t now;

	now = fail_until(f, f->alice.id, T0, MFA_LOCK_AFTER);
	v = attempt(f, f->alice.id, now + 86400);
	assert_false(v.allowed);
	assert_true(v.locked);
	assert_true(v.totp_suspended);
	assert_int_equal(failures(f, f->alice.id), MFA_LOCK_AFTER);
	/* Waiting does not help; the operator's reset does. */
	assert_false(attempt(f, f->alice.id, now + 30 * 86400).allowed);
	assert_int_equal(mfa_reset(f->db, f->alice.id, NULL, NULL), 0);
	v = attempt(f, f->alice.id, now + 30 * 86400);
	assert_true(v.allowed);
	assert_int_equal(v.failures, 1);
}

/* The 5th, 20th and 100th failure are told to the user, no others. */
static void
test_mfa_attempt_MF03_notices(void **state)
{
	struct fixture *f = *state;
	struct store_mfa_state st;
	int told = 0;

	for (int64_t n = 1; n <= 200; n++)
		told += mfa_failure_notifies(n);
	assert_int_equal(told, 3);
	assert_true(mfa_failure_notifies(MFA_BACKOFF_AFTER));
	assert_true(mfa_failure_notifies(MFA_SUSPEND_AFTER));
	assert_true(mfa_failure_notifies(MFA_LOCK_AFTER));
	assert_true(attempt(f, f->alice.id, T0).allowed);
	assert_int_equal(mfa_attempt_notified(f->db, f->alice.id, T0 + 3), 0);
	assert_int_equal(store_mfa_state_get(f->db, f->alice.id, &st), 0);
	assert_int_equal(st.notified_at, T0 + 3);
	assert_int_equal(st.last_failure_at, T0);
}

struct race {
	struct fixture *f;
	int allowed, errors;
};

static void *
worker(void *arg)
{
	struct race *m = arg;

	for (int i = 0; i < 5; i++) {
		struct mfa_verdict v;

		if (mfa_attempt_begin(
			m->f->db, &m->f->cfg, m->f->alice.id, T0, &v) != 0)
			m->errors++;
		else if (v.allowed)
			m->allowed++;
	}
	return NULL;
}

/*
 * MF-03 under concurrency: 8 threads, each with its own store connection
 * (like separate nodes), 40 attempts at once: exactly 5 are checked, and
 * the count says 5.
 */
static void
test_mfa_attempt_MF03_concurrent_burst_counts_each(void **state)
{
	struct fixture *f = *state;
	struct race m[8];
	pthread_t th[8];
	int total = 0, errors = 0;

	for (size_t i = 0; i < PC_NELEM(th); i++) {
		m[i] = (struct race){ f, 0, 0 };
		assert_int_equal(
		    pthread_create(&th[i], NULL, worker, &m[i]), 0);
	}
	for (size_t i = 0; i < PC_NELEM(th); i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		total += m[i].allowed;
		errors += m[i].errors;
	}
	assert_int_equal(errors, 0);
	assert_int_equal(total, MFA_BACKOFF_AFTER);
	assert_int_equal(failures(f, f->alice.id), MFA_BACKOFF_AFTER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_mfa_attempt_MF03_backoff_after_five, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mfa_attempt_MF03_backoff_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mfa_attempt_MF03_success_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mfa_attempt_MF03_totp_suspended_after_twenty, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_mfa_attempt_MF03_locked_after_hundred, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_mfa_attempt_MF03_notices, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mfa_attempt_MF03_concurrent_burst_counts_each, setup,
		    teardown),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
