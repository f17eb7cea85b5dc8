/*
 * Unit tests for auth/totp.c and store/totp.c (issue 16; SECURITY.md
 * MF-01, MF-02, MF-05, MF-06) on a real store: the RFC 6238 appendix B
 * vectors through our generator (liboath), the window (t and t-1; t+1,
 * t-2, t+2 refused), one acceptance per step (a replay, an older step
 * after a newer one, concurrent requests with one code), activation only
 * with a correct code of the pending seed, the seed sealed and bound to
 * its user in the store, malformed codes refused before any work, and
 * the store's state rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <liboath/oath.h>
#include <pthread.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "crypto/crypto.h"
#include "jose/b64url.h"
#include "store_fixture.h"
#include "store/db.h"
#include "store/store.h"
#include "util/config.h"

/* A time in the middle of a step, far from 0. */
#define T0 (INT64_C(1800000000) + 10)
#define STEP(t) ((t) / TOTP_PERIOD)

struct fixture {
	char dir[64];
	char mk_path[128];
	struct db *db;
	struct db_conn *c;
	struct config cfg;
	struct masterkey *mk;
	struct store_user alice;
	struct store_user bob;
	uint8_t seed[TOTP_SEED_BYTES]; /* alice's, from the enrolment */
};

static void
cfg_set(struct config *c, const char *name, const char *value)
{
	char err[256] = "";

	if (config_set(c, name, value, CONFIG_SRC_FLAG, err, sizeof(err)) != 0)
		fail_msg("config_set %s: %s", name, err);
}

static int
load_mk(const char *dir, struct config *cfg, char *path, size_t n,
    struct masterkey **mk)
{
	enum masterkey_source src;
	char err[512] = "";

	snprintf(path, n, "%s/master.key", dir);
	config_defaults(cfg);
	cfg_set(cfg, "data_dir", dir);
	cfg_set(cfg, "issuer", "https://id.example.com");
	if (config_finish(cfg, err, sizeof(err)) != 0 ||
	    masterkey_create_file(path, err, sizeof(err)) != 0 ||
	    masterkey_load(cfg, false, mk, &src, err, sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	return 0;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	unsetenv("PORTCULLIS_MASTER_KEY");
	if (store_fixture_dir(f->dir) != 0 ||
	    load_mk(f->dir, &f->cfg, f->mk_path, sizeof(f->mk_path), &f->mk) !=
		0 ||
	    store_fixture_open(f->dir, true, &f->db) != 0 ||
	    db_conn(f->db, &f->c) != 0 ||
	    user_create(f->db, "alice@example.com", "Alice", true, &f->alice) !=
		0 ||
	    user_create(f->db, "bob@example.com", "Bob", true, &f->bob) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_user_clear(&f->alice);
	store_user_clear(&f->bob);
	masterkey_free(f->mk);
	config_free(&f->cfg);
	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

/* The seed behind a base32 secret (decoded independently of totp.c). */
static void
b32_seed(const char *secret, uint8_t seed[TOTP_SEED_BYTES])
{
	char *raw = NULL;
	size_t n = 0;

	assert_int_equal(oath_init(), OATH_OK);
	assert_int_equal(
	    oath_base32_decode(secret, strlen(secret), &raw, &n), OATH_OK);
	assert_int_equal(n, TOTP_SEED_BYTES);
	memcpy(seed, raw, n);
	free(raw);
}

/* The 6-digit code of seed at time step step. */
static void
code_at(const uint8_t *seed, int64_t step, char out[TOTP_DIGITS + 1])
{
	assert_int_equal(
	    totp_generate(seed, TOTP_SEED_BYTES, step, TOTP_DIGITS, out), 0);
}

/* Enrols user (pending), seed gets the seed. */
static void
begin(struct fixture *f, const char *user_id, int64_t now,
    uint8_t seed[TOTP_SEED_BYTES])
{
	char secret[TOTP_SECRET_B32_MAX];
	char *uri = NULL;

	assert_int_equal(
	    totp_enrol_begin(f->db, f->mk, user_id, "id.example.com",
		"alice@example.com", now, secret, &uri),
	    0);
	assert_int_equal(strlen(secret), 32);
	assert_non_null(strstr(uri, secret));
	assert_int_equal(strncmp(uri, "otpauth://totp/id.example.com:", 30), 0);
	free(uri);
	b32_seed(secret, seed);
}

/* Enrols and activates alice at T0 (step STEP(T0) spent). */
static void
enrol_alice(struct fixture *f)
{
	char code[TOTP_DIGITS + 1];

	begin(f, f->alice.id, T0, f->seed);
	code_at(f->seed, STEP(T0), code);
	assert_int_equal(
	    totp_enrol_activate(f->db, f->mk, f->alice.id, code, T0), 0);
}

static int
verify_at(struct fixture *f, int64_t now, int64_t step)
{
	char code[TOTP_DIGITS + 1];

	code_at(f->seed, step, code);
	return totp_verify(f->db, f->mk, f->alice.id, code, now);
}

static void
test_totp_rfc6238_vectors(void **state)
{
	/* RFC 6238 appendix B, SHA-1, seed "12345678901234567890". */
	static const struct {
		int64_t t;
		const char *otp;
	} v[] = {
		{ 59, "94287082" },
		{ 1111111109, "07081804" },
		{ 1111111111, "14050471" },
		{ 1234567890, "89005924" },
		{ 2000000000, "69279037" },
		{ INT64_C(20000000000), "65353130" },
	};
	const uint8_t *seed = (const uint8_t *)"12345678901234567890";
	char out[9];

	(void)state;
	for (size_t i = 0; i < PC_NELEM(v); i++) {
		assert_int_equal(
		    totp_generate(seed, 20, v[i].t / 30, 8, out), 0);
		assert_string_equal(out, v[i].otp);
		/* 6 digits: the same number modulo 10^6. */
		assert_int_equal(
		    totp_generate(seed, 20, v[i].t / 30, 6, out), 0);
		assert_string_equal(out, v[i].otp + 2);
	}
	assert_int_equal(totp_generate(seed, 20, 1, 5, out), PC_ERR_INVALID);
	assert_int_equal(totp_generate(seed, 20, -1, 6, out), PC_ERR_INVALID);
}

/* MF-05: a pending enrolment signs nothing in; only a correct code of its
 * own seed activates it, once. */
static void
test_totp_MF05_activation_needs_a_correct_code(void **state)
{
	struct fixture *f = *state;
	uint8_t seed[TOTP_SEED_BYTES], other[TOTP_SEED_BYTES];
	char code[TOTP_DIGITS + 1], wrong[TOTP_DIGITS + 1];
	struct totp_status st;

	begin(f, f->alice.id, T0, seed);
	code_at(seed, STEP(T0), code);
	/* Pending: not a factor yet. */
	assert_int_equal(
	    totp_verify(f->db, f->mk, f->alice.id, code, T0), PC_ERR_NOT_FOUND);
	assert_int_equal(totp_status_get(f->db, f->alice.id, &st), 0);
	assert_false(st.active);
	/* A code of another seed, and a wrong one. */
	random_bytes(other, sizeof(other));
	code_at(other, STEP(T0), wrong);
	if (strcmp(wrong, code) != 0)
		assert_int_equal(
		    totp_enrol_activate(f->db, f->mk, f->alice.id, wrong, T0),
		    PC_ERR_VERIFY);
	memcpy(wrong, code, sizeof(wrong));
	wrong[5] = wrong[5] == '9' ? '0' : (char)(wrong[5] + 1);
	assert_int_equal(
	    totp_enrol_activate(f->db, f->mk, f->alice.id, wrong, T0),
	    PC_ERR_VERIFY);
	assert_int_equal(totp_status_get(f->db, f->alice.id, &st), 0);
	assert_false(st.active);
	/* The right one, with the spaces an app shows. */
	char spaced[16];
	snprintf(spaced, sizeof(spaced), " %.3s %s ", code, code + 3);
	assert_int_equal(
	    totp_enrol_activate(f->db, f->mk, f->alice.id, spaced, T0 + 1), 0);
	assert_int_equal(totp_status_get(f->db, f->alice.id, &st), 0);
	assert_true(st.active);
	assert_int_equal(st.activated_at, T0 + 1);
	/* Once: nothing pending any more. */
	assert_int_equal(
	    totp_enrol_activate(f->db, f->mk, f->alice.id, code, T0 + 1),
	    PC_ERR_NOT_FOUND);
	/* MF-01: the activation's code cannot sign in afterwards. */
	assert_int_equal(totp_verify(f->db, f->mk, f->alice.id, code, T0 + 2),
	    PC_ERR_VERIFY);
	/* Bob has nothing. */
	assert_int_equal(totp_verify(f->db, f->mk, f->bob.id, code, T0 + 2),
	    PC_ERR_NOT_FOUND);
}

/* MF-05: a new enrolment replaces the pending seed (the old one's codes
 * stop activating), never an active credential; a pending enrolment
 * expires. */
static void
test_totp_MF05_new_seed_per_enrolment(void **state)
{
	struct fixture *f = *state;
	uint8_t s1[TOTP_SEED_BYTES], s2[TOTP_SEED_BYTES];
	char c1[TOTP_DIGITS + 1], c2[TOTP_DIGITS + 1];
	char secret[TOTP_SECRET_B32_MAX];

	begin(f, f->alice.id, T0, s1);
	begin(f, f->alice.id, T0, s2);
	assert_memory_not_equal(s1, s2, sizeof(s1));
	code_at(s1, STEP(T0), c1);
	code_at(s2, STEP(T0), c2);
	if (strcmp(c1, c2) != 0)
		assert_int_equal(
		    totp_enrol_activate(f->db, f->mk, f->alice.id, c1, T0),
		    PC_ERR_VERIFY);
	/* Too late: TOTP_ENROL_TTL after the start. */
	code_at(s2, STEP(T0 + TOTP_ENROL_TTL), c2);
	assert_int_equal(totp_enrol_activate(f->db, f->mk, f->alice.id, c2,
			     T0 + TOTP_ENROL_TTL),
	    PC_ERR_NOT_FOUND);
	code_at(s2, STEP(T0), c2);
	assert_int_equal(
	    totp_enrol_activate(f->db, f->mk, f->alice.id, c2, T0), 0);
	/* Active: a new enrolment is refused, the credential stays. */
	assert_int_equal(totp_enrol_begin(f->db, f->mk, f->alice.id, "x",
			     "alice@example.com", T0 + 60, secret, NULL),
	    PC_ERR_CONFLICT);
	assert_string_equal(secret, "");
	code_at(s2, STEP(T0 + 60), c2);
	assert_int_equal(
	    totp_verify(f->db, f->mk, f->alice.id, c2, T0 + 60), 0);
}

/* MF-02: the current step and the one before; t+1, t-2, t+2 refused. */
static void
test_totp_MF02_window(void **state)
{
	struct fixture *f = *state;
	int64_t now = T0 + 300, t = STEP(now);

	enrol_alice(f);
	assert_int_equal(verify_at(f, now, t - 2), PC_ERR_VERIFY);
	assert_int_equal(verify_at(f, now, t + 2), PC_ERR_VERIFY);
	assert_int_equal(verify_at(f, now, t + 1), PC_ERR_VERIFY);
	assert_int_equal(verify_at(f, now, t - 1), 0);
	assert_int_equal(verify_at(f, now, t), 0);
	/* At the last second of a step, and the first of the next. */
	now = (t + 2) * TOTP_PERIOD + TOTP_PERIOD - 1;
	assert_int_equal(verify_at(f, now, t + 2), 0);
	now = (t + 4) * TOTP_PERIOD;
	assert_int_equal(verify_at(f, now, t + 3), 0);
}

/* MF-01: a step is accepted once; an older step after a newer one
 * is refused. */
static void
test_totp_MF01_one_acceptance_per_step(void **state)
{
	struct fixture *f = *state;
	int64_t now = T0 + 300, t = STEP(now);

	enrol_alice(f);
	assert_int_equal(verify_at(f, now, t), 0);
	assert_int_equal(verify_at(f, now, t), PC_ERR_VERIFY);
	assert_int_equal(verify_at(f, now + 5, t), PC_ERR_VERIFY);
	/* t-1 is in the window, but older than t. */
	assert_int_equal(verify_at(f, now, t - 1), PC_ERR_VERIFY);
	/* The next step works. */
	assert_int_equal(verify_at(f, now + TOTP_PERIOD, t + 1), 0);
}

/* MF-01 in the store: the move is conditional and atomic. */
static void
test_totp_MF01_store_advance_only_forward(void **state)
{
	struct fixture *f = *state;
	struct store_totp row;

	enrol_alice(f);
	assert_int_equal(store_totp_get(f->db, f->alice.id, &row), 0);
	assert_int_equal(row.last_step, STEP(T0));
	assert_int_equal(store_totp_advance(f->db, f->alice.id, row.seed_sealed,
			     STEP(T0) + 5, T0 + 150),
	    0);
	/* The same step again, an older one: lost. */
	assert_int_equal(store_totp_advance(f->db, f->alice.id, row.seed_sealed,
			     STEP(T0) + 5, T0 + 150),
	    PC_ERR_CONFLICT);
	assert_int_equal(store_totp_advance(f->db, f->alice.id, row.seed_sealed,
			     STEP(T0) + 4, T0 + 150),
	    PC_ERR_CONFLICT);
	/* A changed credential (another seed): lost. */
	assert_int_equal(store_totp_advance(f->db, f->alice.id, "v1.other",
			     STEP(T0) + 9, T0 + 270),
	    PC_ERR_CONFLICT);
	store_totp_clear(&row);
	assert_int_equal(store_totp_get(f->db, f->alice.id, &row), 0);
	assert_int_equal(row.last_step, STEP(T0) + 5);
	assert_int_equal(row.last_used_at, T0 + 150);
	store_totp_clear(&row);
}

struct race {
	struct fixture *f;
	const char *code;
	int64_t now;
	int wins, losses, other;
	pthread_mutex_t mu;
};

static void *
racer(void *arg)
{
	struct race *r = arg;
	int rc =
	    totp_verify(r->f->db, r->f->mk, r->f->alice.id, r->code, r->now);

	pthread_mutex_lock(&r->mu);
	if (rc == 0)
		r->wins++;
	else if (rc == PC_ERR_VERIFY)
		r->losses++;
	else
		r->other++;
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* MF-01: eight concurrent requests with one code: exactly one wins. */
static void
test_totp_MF01_concurrent_requests_one_wins(void **state)
{
	struct fixture *f = *state;
	char code[TOTP_DIGITS + 1];
	struct race r = { f, code, T0 + 300, 0, 0, 0,
		PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[8];

	enrol_alice(f);
	code_at(f->seed, STEP(r.now), code);
	for (size_t i = 0; i < PC_NELEM(t); i++)
		assert_int_equal(pthread_create(&t[i], NULL, racer, &r), 0);
	for (size_t i = 0; i < PC_NELEM(t); i++)
		pthread_join(t[i], NULL);
	assert_int_equal(r.wins, 1);
	assert_int_equal(r.losses + r.other, (int)PC_NELEM(t) - 1);
}

/* MF-06: the store holds the seed sealed (not the seed, not its base32),
 * bound to its user, under a key from the master key. */
static void
test_totp_MF06_seed_sealed_in_store(void **state)
{
	struct fixture *f = *state;
	struct store_totp row;
	char secret[TOTP_SECRET_B32_MAX], hex[2 * TOTP_SEED_BYTES + 1];
	char code[TOTP_DIGITS + 1];
	struct masterkey *mk2 = NULL;
	struct config cfg2;
	char dir2[64], path2[128];
	uint8_t seed[TOTP_SEED_BYTES];
	uint8_t raw[256];
	size_t rn = 0;
	char *uri = NULL;

	assert_int_equal(
	    totp_enrol_begin(f->db, f->mk, f->alice.id, "id.example.com",
		"alice@example.com", T0, secret, &uri),
	    0);
	free(uri);
	b32_seed(secret, seed);
	assert_int_equal(store_totp_get(f->db, f->alice.id, &row), 0);
	assert_int_equal(strncmp(row.seed_sealed, "v1.", 3), 0);
	assert_null(strstr(row.seed_sealed, secret));
	for (size_t i = 0; i < TOTP_SEED_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", seed[i]);
	assert_null(strstr(row.seed_sealed, hex));
	assert_int_equal(
	    b64url_decode(row.seed_sealed + 3, strlen(row.seed_sealed) - 3, raw,
		sizeof(raw), &rn),
	    0);
	for (size_t i = 0; i + TOTP_SEED_BYTES <= rn; i++)
		assert_memory_not_equal(raw + i, seed, TOTP_SEED_BYTES);
	/* Bound to alice: moved to bob's row, it does not open. */
	assert_int_equal(
	    store_totp_put_pending(f->db, f->bob.id, row.seed_sealed, T0), 0);
	code_at(seed, STEP(T0), code);
	assert_int_equal(totp_enrol_activate(f->db, f->mk, f->bob.id, code, T0),
	    PC_ERR_CRYPTO);
	/* Another master key does not open it either. */
	assert_int_equal(store_fixture_dir(dir2), 0);
	assert_int_equal(load_mk(dir2, &cfg2, path2, sizeof(path2), &mk2), 0);
	assert_int_equal(totp_enrol_activate(f->db, mk2, f->alice.id, code, T0),
	    PC_ERR_CRYPTO);
	assert_int_equal(
	    totp_enrol_activate(f->db, f->mk, f->alice.id, code, T0), 0);
	masterkey_free(mk2);
	config_free(&cfg2);
	assert_int_equal(store_fixture_close(dir2, NULL), 0);
	store_totp_clear(&row);
}

/* Malformed codes: refused before any store or crypto work (a user with
 * no credential still gets PC_ERR_VERIFY, not PC_ERR_NOT_FOUND). */
static void
test_totp_malformed_codes_refused_without_work(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = { "", "12345", "1234567", "12a456",
		"12345\n", "-12345", "１２３４５６",
		"123456789012345678901234567890123", "12 34 5" };

	enrol_alice(f);
	assert_int_equal(
	    totp_verify(f->db, f->mk, f->bob.id, NULL, T0), PC_ERR_VERIFY);
	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		assert_int_equal(
		    totp_verify(f->db, f->mk, f->bob.id, bad[i], T0 + 60),
		    PC_ERR_VERIFY);
		assert_int_equal(
		    totp_verify(f->db, f->mk, f->alice.id, bad[i], T0 + 60),
		    PC_ERR_VERIFY);
		assert_int_equal(
		    totp_enrol_activate(f->db, f->mk, f->bob.id, bad[i], T0),
		    PC_ERR_VERIFY);
	}
}

/* MF-05: a removed factor fails at once; the store's remove says whether
 * an active credential went. */
static void
test_totp_MF05_removed_factor_fails(void **state)
{
	struct fixture *f = *state;
	uint8_t seed[TOTP_SEED_BYTES];
	bool removed = true;

	assert_int_equal(totp_remove(f->db, f->alice.id, &removed), 0);
	assert_false(removed);
	begin(f, f->alice.id, T0, seed);
	assert_int_equal(totp_remove(f->db, f->alice.id, &removed), 0);
	assert_false(removed); /* only a pending one */
	enrol_alice(f);
	assert_int_equal(totp_remove(f->db, f->alice.id, &removed), 0);
	assert_true(removed);
	assert_int_equal(
	    verify_at(f, T0 + 60, STEP(T0 + 60)), PC_ERR_NOT_FOUND);
}

/* The store: one row per user; pending replaced, active kept; the
 * activation needs the very pending seed. */
static void
test_totp_store_states(void **state)
{
	struct fixture *f = *state;
	struct store_totp row;

	assert_int_equal(
	    store_totp_get(f->db, f->alice.id, &row), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_totp_put_pending(f->db, f->alice.id, "v1.aaa", T0), 0);
	assert_int_equal(
	    store_totp_put_pending(f->db, f->alice.id, "v1.bbb", T0 + 1), 0);
	assert_int_equal(store_totp_get(f->db, f->alice.id, &row), 0);
	assert_string_equal(row.seed_sealed, "v1.bbb");
	assert_int_equal(row.created_at, T0 + 1);
	assert_int_equal(row.activated_at, 0);
	store_totp_clear(&row);
	/* Not active: nothing advances. */
	assert_int_equal(
	    store_totp_advance(f->db, f->alice.id, "v1.bbb", STEP(T0), T0 + 2),
	    PC_ERR_CONFLICT);
	assert_int_equal(
	    store_totp_activate(f->db, f->alice.id, "v1.aaa", STEP(T0), T0 + 2),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_totp_activate(f->db, f->alice.id, "v1.bbb", STEP(T0), T0 + 2),
	    0);
	assert_int_equal(
	    store_totp_activate(f->db, f->alice.id, "v1.bbb", STEP(T0), T0 + 2),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_totp_put_pending(f->db, f->alice.id, "v1.ccc", T0 + 3),
	    PC_ERR_CONFLICT);
	assert_int_equal(store_totp_get(f->db, f->alice.id, &row), 0);
	assert_string_equal(row.seed_sealed, "v1.bbb");
	assert_int_equal(row.activated_at, T0 + 2);
	assert_int_equal(row.last_step, STEP(T0));
	store_totp_clear(&row);
	/* mfa_factors sees it. */
	struct mfa_factors mf;
	assert_int_equal(mfa_factors_get(f->db, f->alice.id, &mf), 0);
	assert_true(mf.totp);
	assert_int_equal(mfa_factors_get(f->db, f->bob.id, &mf), 0);
	assert_false(mf.totp);
	/* A user that does not exist cannot hold one. */
	assert_int_not_equal(
	    store_totp_put_pending(f->db, "usr_nobody", "v1.ddd", T0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_totp_rfc6238_vectors),
		cmocka_unit_test_setup_teardown(
		    test_totp_MF05_activation_needs_a_correct_code, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_MF05_new_seed_per_enrolment, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_MF02_window, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_MF01_one_acceptance_per_step, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_MF01_store_advance_only_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_MF01_concurrent_requests_one_wins, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_MF06_seed_sealed_in_store, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_malformed_codes_refused_without_work, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_MF05_removed_factor_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_totp_store_states, setup, teardown),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
