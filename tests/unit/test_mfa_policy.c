/*
 * Unit tests for the second-factor policy of auth/mfa.c (issue 16,
 * decision 0069): the one amr -> acr mapping (OI-07: an ID token's acr
 * never claims more than its amr proves), acr ranks, whole-word amr
 * matching, the enrolment grace of mfa = required, and the operator's
 * view of an account's factors (store/mfa.c store_mfa_detail()), on a
 * real store (SQLite, or PostgreSQL under scripts/pg-unit.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "crypto/crypto.h"
#include "store_fixture.h"
#include "store/db.h"
#include "store/store.h"
#include "util/config.h"

struct fixture {
	char dir[64];
	struct db *db;
	struct db_conn *c;
	struct config cfg; /* only the fields the policy reads */
	struct store_user alice;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (store_fixture_new(f->dir, true, &f->db) != 0 ||
	    db_conn(f->db, &f->c) != 0 ||
	    user_create(f->db, "alice@example.com", "Alice", true, &f->alice) !=
		0) {
		free(f);
		return -1;
	}
	f->cfg.mfa = "optional";
	f->cfg.mfa_enrol_grace = 7 * 86400;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_user_clear(&f->alice);
	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

static void
sql(struct fixture *f, const char *fmt, ...)
{
	char q[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	assert_int_equal(db_exec(f->c, q), 0);
}

/* OI-07: acr from the amr alone, exactly as docs/mfa.md lists it. */
static void
test_mfa_OI07_acr_from_amr(void **state)
{
	(void)state;
	assert_string_equal(mfa_acr("pwd"), ACR_PWD);
	assert_string_equal(mfa_acr("pwd otp mfa"), ACR_MFA);
	assert_string_equal(mfa_acr("pwd hwk mfa"), ACR_PHR);
	assert_string_equal(mfa_acr("hwk mfa"), ACR_PHR);
	assert_string_equal(mfa_acr("swk mfa"), ACR_PHR);
	/* A passkey without user verification is one factor, and "user"
	 * is presence: neither is multi-factor. */
	assert_string_equal(mfa_acr("hwk"), ACR_PWD);
	assert_string_equal(mfa_acr("hwk user"), ACR_PWD);
	/* "mfa" must be a whole word. */
	assert_string_equal(mfa_acr("pwd mfax"), ACR_PWD);
	assert_string_equal(mfa_acr("pwd xmfa"), ACR_PWD);
	assert_null(mfa_acr(""));
	assert_null(mfa_acr(NULL));
}

static void
test_mfa_amr_has_whole_words(void **state)
{
	(void)state;
	assert_true(mfa_amr_has("pwd otp mfa", "otp"));
	assert_true(mfa_amr_has("pwd otp mfa", "mfa"));
	assert_true(mfa_amr_has("pwd", "pwd"));
	assert_false(mfa_amr_has("pwd", "pw"));
	assert_false(mfa_amr_has("pwdx", "pwd"));
	assert_false(mfa_amr_has("", "pwd"));
	assert_false(mfa_amr_has(NULL, "pwd"));
}

static void
test_mfa_acr_rank(void **state)
{
	(void)state;
	assert_int_equal(mfa_acr_rank(ACR_PWD, strlen(ACR_PWD)), 1);
	assert_int_equal(mfa_acr_rank(ACR_MFA, strlen(ACR_MFA)), 2);
	assert_int_equal(mfa_acr_rank(ACR_PHR, strlen(ACR_PHR)), 3);
	assert_int_equal(mfa_acr_rank("phrh", 4), 0);
	assert_int_equal(mfa_acr_rank("ph", 2), 0);
	assert_int_equal(mfa_acr_rank("0", 1), 0);
}

/* mfa = optional: a password alone always signs in. */
static void
test_mfa_policy_optional_allows_one_factor(void **state)
{
	struct fixture *f = *state;
	bool ok = false;

	assert_int_equal(mfa_signin_allowed(f->db, &f->cfg, f->alice.id, "pwd",
			     f->alice.created_at + 365 * 86400, &ok),
	    0);
	assert_true(ok);
}

/* mfa = required: one factor only during the grace from creation. */
static void
test_mfa_policy_required_grace_from_creation(void **state)
{
	struct fixture *f = *state;
	int64_t t0 = f->alice.created_at;
	bool ok = false;

	f->cfg.mfa = "required";
	assert_int_equal(mfa_signin_allowed(
			     f->db, &f->cfg, f->alice.id, "pwd", t0 + 60, &ok),
	    0);
	assert_true(ok);
	assert_int_equal(mfa_signin_allowed(f->db, &f->cfg, f->alice.id, "pwd",
			     t0 + 7 * 86400 - 1, &ok),
	    0);
	assert_true(ok);
	assert_int_equal(mfa_signin_allowed(f->db, &f->cfg, f->alice.id, "pwd",
			     t0 + 7 * 86400, &ok),
	    0);
	assert_false(ok);
	/* Two factors are always enough. */
	assert_int_equal(mfa_signin_allowed(f->db, &f->cfg, f->alice.id,
			     "pwd otp mfa", t0 + 30 * 86400, &ok),
	    0);
	assert_true(ok);
	/* mfa_enrol_grace = 0: no grace at all. */
	f->cfg.mfa_enrol_grace = 0;
	assert_int_equal(
	    mfa_signin_allowed(f->db, &f->cfg, f->alice.id, "pwd", t0, &ok), 0);
	assert_false(ok);
}

/* A user with a factor is asked for it (factor step, step-up), never
 * refused here; recovery codes alone are not a factor. */
static void
test_mfa_policy_required_with_factor(void **state)
{
	struct fixture *f = *state;
	int64_t late = f->alice.created_at + 30 * 86400;
	bool ok = true;

	f->cfg.mfa = "required";
	sql(f,
	    "INSERT INTO recovery_codes (user_id, idx, phc, created_at)"
	    " VALUES ('%s', 1, 'x', 1)",
	    f->alice.id);
	assert_int_equal(
	    mfa_signin_allowed(f->db, &f->cfg, f->alice.id, "pwd", late, &ok),
	    0);
	assert_false(ok);
	sql(f,
	    "INSERT INTO totp_credentials (user_id, seed_sealed, created_at,"
	    " activated_at) VALUES ('%s', 'x', 1, 2)",
	    f->alice.id);
	assert_int_equal(
	    mfa_signin_allowed(f->db, &f->cfg, f->alice.id, "pwd", late, &ok),
	    0);
	assert_true(ok);
}

/* The operator's view: no secret, every passkey, the counts. */
static void
test_mfa_detail(void **state)
{
	struct fixture *f = *state;
	struct store_mfa_detail d = { 0 };

	assert_int_equal(store_mfa_detail(f->db, f->alice.id, &d), 0);
	assert_false(d.totp);
	assert_int_equal(d.n_passkeys, 0);
	assert_int_equal(d.recovery_total, 0);
	store_mfa_detail_clear(&d);

	sql(f,
	    "INSERT INTO totp_credentials (user_id, seed_sealed, created_at,"
	    " activated_at, last_used_at) VALUES ('%s', 'x', 10, 11, 12)",
	    f->alice.id);
	sql(f,
	    "INSERT INTO webauthn_credentials (id, user_id, credential_id,"
	    " public_key, alg, name, backup_eligible, created_at,"
	    " last_used_at, cloned_at) VALUES"
	    " ('pk1', '%s', 'c1', 'k', -7, 'Laptop', 0, 20, 21, NULL),"
	    " ('pk2', '%s', 'c2', 'k', -7, 'Phone', 1, 30, NULL, 31)",
	    f->alice.id, f->alice.id);
	sql(f,
	    "INSERT INTO recovery_codes (user_id, idx, phc, created_at,"
	    " used_at) VALUES ('%s', 1, 'x', 1, NULL), ('%s', 2, 'x', 1, 5)",
	    f->alice.id, f->alice.id);
	sql(f,
	    "INSERT INTO mfa_state (user_id, failures, totp_suspended_at)"
	    " VALUES ('%s', 21, 40)",
	    f->alice.id);
	assert_int_equal(store_mfa_detail(f->db, f->alice.id, &d), 0);
	assert_true(d.totp);
	assert_int_equal(d.totp_created_at, 10);
	assert_int_equal(d.totp_activated_at, 11);
	assert_int_equal(d.totp_last_used_at, 12);
	assert_int_equal(d.n_passkeys, 2);
	assert_string_equal(d.passkeys[0].id, "pk1");
	assert_string_equal(d.passkeys[0].name, "Laptop");
	assert_false(d.passkeys[0].backup_eligible);
	assert_int_equal(d.passkeys[0].last_used_at, 21);
	assert_int_equal(d.passkeys[0].cloned_at, 0);
	assert_string_equal(d.passkeys[1].name, "Phone");
	assert_true(d.passkeys[1].backup_eligible);
	assert_int_equal(d.passkeys[1].last_used_at, 0);
	assert_int_equal(d.passkeys[1].cloned_at, 31);
	assert_int_equal(d.recovery_total, 2);
	assert_int_equal(d.recovery_left, 1);
	assert_int_equal(d.failures, 21);
	assert_true(d.totp_suspended);
	store_mfa_detail_clear(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mfa_OI07_acr_from_amr),
		cmocka_unit_test(test_mfa_amr_has_whole_words),
		cmocka_unit_test(test_mfa_acr_rank),
		cmocka_unit_test_setup_teardown(
		    test_mfa_policy_optional_allows_one_factor, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_mfa_policy_required_grace_from_creation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_mfa_policy_required_with_factor, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mfa_detail, setup, teardown),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
