/*
 * Unit tests for recovery codes (auth/recovery.c, store/recovery.c;
 * SECURITY.md MF-07) on a real store (SQLite, or PostgreSQL under
 * scripts/pg-unit.sh): the format (10 codes of 80 CSPRNG bits behind an
 * index), parsing and normalisation of typed codes, only Argon2id hashes
 * stored, the whole set replaced at once, single use (also under two
 * concurrent uses), and the dummy-hash path: an unknown or spent index
 * runs the same Argon2id job on the hashing pool and fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "store_fixture.h"
#include "store/db.h"
#include "store/store.h"

#define T0 INT64_C(1800000000)

/* Below the production floor, for speed: the cost is not what is tested. */
static const struct pw_params fast = { 1, 8u * 1024 * 1024 };

struct fixture {
	char dir[64];
	struct db *db;
	struct db_conn *c;
	struct store_user alice;
	struct store_user bob;
	struct pwpool *pool;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pwpool_opts o = { fast, 2, 64, 60000 };

	if (f == NULL)
		return -1;
	if (store_fixture_new(f->dir, true, &f->db) != 0 ||
	    db_conn(f->db, &f->c) != 0 ||
	    user_create(
		f->db, "alice@example.com", "Alice", false, &f->alice) != 0 ||
	    user_create(f->db, "bob@example.com", "Bob", false, &f->bob) != 0 ||
	    pwpool_start(&o, &f->pool) != 0) {
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

	pwpool_stop(f->pool);
	store_user_clear(&f->alice);
	store_user_clear(&f->bob);
	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

/* ---- running one pool job and waiting for it ---- */

struct wait {
	pthread_mutex_t m;
	pthread_cond_t cv;
	bool done;
	struct pwjob_result res;
};

static void
job_done(const struct pwjob_result *res, void *arg)
{
	struct wait *w = arg;

	pthread_mutex_lock(&w->m);
	w->res = *res;
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->m);
}

/* The job's result; *hashed gets how many jobs the pool hashed for it. */
static int
run_job(struct fixture *f, const struct pwjob *job, uint64_t *hashed)
{
	struct wait w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
		false, { 0 } };
	struct pwpool_stats before, after;

	pwpool_stats(f->pool, &before);
	assert_int_equal(pwpool_submit(f->pool, job, job_done, &w), 0);
	pthread_mutex_lock(&w.m);
	while (!w.done)
		pthread_cond_wait(&w.cv, &w.m);
	pthread_mutex_unlock(&w.m);
	pwpool_stats(f->pool, &after);
	if (hashed != NULL)
		*hashed = after.completed - before.completed;
	return w.res.r;
}

/* A new set for u, hashed and stored. */
static void
enrol(struct fixture *f, const struct store_user *u, struct recovery_set *s,
    int64_t now)
{
	char phc[RECOVERY_CODES][PW_PHC_MAX];
	const char *p[RECOVERY_CODES];

	recovery_generate(s);
	for (unsigned i = 0; i < RECOVERY_CODES; i++) {
		assert_int_equal(
		    pw_hash(&fast, s->secret[i], strlen(s->secret[i]), phc[i]),
		    0);
		p[i] = phc[i];
	}
	assert_int_equal(recovery_store(f->db, u->id, p, now), 0);
}

/* The whole check of a typed code, with the pool: 0 or a PC_ERR_*. */
static int
check(struct fixture *f, const struct store_user *u, const char *typed,
    uint64_t *hashed)
{
	struct recovery_check c;
	struct pwjob job;
	int r;

	if (hashed != NULL)
		*hashed = 0;
	if ((r = recovery_check_begin(f->db, u->id, typed, &c)) != 0)
		return r;
	recovery_check_job(&c, &job);
	r = run_job(f, &job, hashed);
	r = recovery_check_finish(f->db, u->id, &c, r, T0 + 10);
	recovery_check_clear(&c);
	return r;
}

static unsigned
left(struct fixture *f, const struct store_user *u)
{
	unsigned n = 99;

	assert_int_equal(recovery_left(f->db, u->id, &n), 0);
	return n;
}

/* ---- format ---- */

static void
test_recovery_MF07_format_ten_codes_of_80_bits(void **state)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned seen[32] = { 0 };
	struct recovery_set s;

	(void)state;
	for (int round = 0; round < 20; round++) {
		recovery_generate(&s);
		for (unsigned i = 0; i < RECOVERY_CODES; i++) {
			char want[RECOVERY_CODE_MAX], sec[32];
			unsigned idx = 0;
			const char *sc = s.secret[i];

			assert_int_equal(strlen(sc), 16);
			for (size_t k = 0; k < 16; k++) {
				const char *p = strchr(alphabet, sc[k]);

				assert_non_null(p);
				seen[p - alphabet]++;
			}
			snprintf(want, sizeof(want), "%u-%.4s-%.4s-%.4s-%.4s",
			    i + 1, sc, sc + 4, sc + 8, sc + 12);
			assert_string_equal(s.code[i], want);
			/* What is shown parses back to its index and secret. */
			assert_int_equal(
			    recovery_parse(s.code[i], &idx, sec), 0);
			assert_int_equal(idx, i + 1);
			assert_string_equal(sec, sc);
			for (unsigned j = 0; j < i; j++)
				assert_string_not_equal(sc, s.secret[j]);
		}
	}
	/* 3200 symbols: every one of the 32 turns up (all 5 bits random). */
	for (int k = 0; k < 32; k++)
		assert_true(seen[k] > 0);
	recovery_set_clear(&s);
	assert_int_equal(s.code[0][0], '\0');
}

static void
test_recovery_parse_normalises(void **state)
{
	char sec[RECOVERY_SECRET_CHARS + 1];
	unsigned idx;

	(void)state;
	/* Lower case, spaces, no hyphens, extra hyphens: all the same. */
	assert_int_equal(recovery_parse("3-ABCD-EFGH-JKMN-PQRS", &idx, sec), 0);
	assert_int_equal(idx, 3);
	assert_string_equal(sec, "ABCDEFGHJKMNPQRS");
	assert_int_equal(recovery_parse("3abcdefghjkmnpqrs", &idx, sec), 0);
	assert_int_equal(idx, 3);
	assert_string_equal(sec, "ABCDEFGHJKMNPQRS");
	assert_int_equal(
	    recovery_parse(" 3 - abcd efgh\tjkmn--pqrs ", &idx, sec), 0);
	assert_string_equal(sec, "ABCDEFGHJKMNPQRS");
	/* Crockford: I and L read as 1, O as 0. */
	assert_int_equal(recovery_parse("7-oOiI-lL01-2345-6789", &idx, sec), 0);
	assert_int_equal(idx, 7);
	assert_string_equal(sec, "0011110123456789");
	/* Index 10, and a secret that starts with digits. */
	assert_int_equal(
	    recovery_parse("10-1234-5678-9ABC-DEFG", &idx, sec), 0);
	assert_int_equal(idx, 10);
	assert_string_equal(sec, "123456789ABCDEFG");
	assert_int_equal(recovery_parse("101234 56789ABCDEFG", &idx, sec), 0);
	assert_int_equal(idx, 10);
	assert_int_equal(recovery_parse("1-1234-5678-9ABC-DEFG", &idx, sec), 0);
	assert_int_equal(idx, 1);
}

static void
test_recovery_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"", "3", "ABCD-EFGH-JKMN-PQRS", /* no index */
		"3-ABCD-EFGH-JKMN-PQR",		/* 15 characters */
		"0-ABCD-EFGH-JKMN-PQRS",	/* index 0 */
		"11-ABCD-EFGH-JKMN-PQRS",	/* index 11 */
		"100-ABCD-EFGH-JKMN-PQRS",	/* three digits */
		"X-ABCD-EFGH-JKMN-PQRS",	/* index not a number */
		"3-ABCD-EFGH-JKMN-PQRU",	/* U is not in the alphabet */
		"3-ABCD-EFGH-JKMN-PQR!",	/* punctuation */
		"3-ABCD-EFGH-JKMN-PQR\xc3",	/* not ASCII */
		"3_ABCD_EFGH_JKMN_PQRS",	/* only spaces and hyphens go */
		"123456",			/* a TOTP code */
	};
	char big[RECOVERY_INPUT_MAX + 2];
	char sec[RECOVERY_SECRET_CHARS + 1];
	unsigned idx = 5;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    recovery_parse(bad[i], &idx, sec), PC_ERR_INVALID);
		assert_int_equal(idx, 0);
	}
	assert_int_equal(recovery_parse(NULL, &idx, sec), PC_ERR_INVALID);
	/* Over the cap: refused before anything, even if spaces pad it. */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "3-ABCD-EFGH-JKMN-PQRS", 21);
	assert_int_equal(recovery_parse(big, &idx, sec), PC_ERR_INVALID);
	big[RECOVERY_INPUT_MAX] = '\0';
	assert_int_equal(recovery_parse(big, &idx, sec), 0);
}

/* ---- the store (MF-07: DB inspection, the whole set, single use) ---- */

static void
test_recovery_MF07_store_holds_only_argon2id(void **state)
{
	struct fixture *f = *state;
	const char *plain[RECOVERY_CODES];
	struct recovery_set s;
	struct db_stmt *st;
	int n = 0;

	recovery_generate(&s);
	for (unsigned i = 0; i < RECOVERY_CODES; i++)
		plain[i] = s.secret[i];
	/* Not a hash: refused, nothing stored. */
	assert_int_equal(
	    recovery_store(f->db, f->alice.id, plain, T0), PC_ERR_INVALID);
	assert_int_equal(left(f, &f->alice), 0);
	recovery_set_clear(&s);

	enrol(f, &f->alice, &s, T0);
	assert_int_equal(left(f, &f->alice), 10);
	assert_int_equal(db_prepare(f->c,
			     "SELECT idx, phc, used_at IS NULL FROM "
			     "recovery_codes WHERE user_id = ? ORDER BY idx",
			     &st),
	    0);
	assert_int_equal(
	    db_bind_text(st, 1, f->alice.id, strlen(f->alice.id)), 0);
	while (db_step(st) == DB_ROW) {
		const char *phc = db_col_text(st, 1, NULL);

		assert_int_equal(db_col_int64(st, 0), n + 1);
		assert_non_null(strstr(phc, "$argon2id$"));
		assert_null(strstr(phc, s.secret[n]));
		assert_int_equal(pw_verify(phc, s.secret[n], 16), 0);
		assert_int_equal(db_col_int64(st, 2), 1);
		n++;
	}
	db_done(st);
	assert_int_equal(n, 10);
	recovery_set_clear(&s);
}

static void
test_recovery_MF07_regenerate_kills_old_set(void **state)
{
	struct fixture *f = *state;
	struct recovery_set old, cur, b;
	char *phc = NULL;

	enrol(f, &f->alice, &old, T0);
	enrol(f, &f->bob, &b, T0);
	assert_int_equal(check(f, &f->alice, old.code[0], NULL), 0);
	assert_int_equal(left(f, &f->alice), 9);
	/* A new set: 10 unspent again, and no old code works. */
	enrol(f, &f->alice, &cur, T0 + 5);
	assert_int_equal(left(f, &f->alice), 10);
	for (unsigned i = 0; i < RECOVERY_CODES; i++)
		assert_int_equal(
		    check(f, &f->alice, old.code[i], NULL), PC_ERR_VERIFY);
	assert_int_equal(left(f, &f->alice), 10);
	assert_int_equal(check(f, &f->alice, cur.code[4], NULL), 0);
	/* Another user's set is not touched, nor usable by alice. */
	assert_int_equal(left(f, &f->bob), 10);
	assert_int_equal(check(f, &f->alice, b.code[1], NULL), PC_ERR_VERIFY);
	assert_int_equal(left(f, &f->bob), 10);
	/* The store's own rule: a spend names the hash it verified. */
	assert_int_equal(store_recovery_phc(f->db, f->alice.id, 2, &phc), 0);
	assert_int_equal(
	    store_recovery_spend(f->db, f->alice.id, 2, "$argon2id$x", T0),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_recovery_spend(f->db, f->alice.id, 2, phc, T0 + 20), 0);
	assert_int_equal(
	    store_recovery_spend(f->db, f->alice.id, 2, phc, T0 + 21),
	    PC_ERR_NOT_FOUND);
	free(phc);
	assert_int_equal(
	    store_recovery_phc(f->db, f->alice.id, 2, &phc), PC_ERR_NOT_FOUND);
	assert_null(phc);
	recovery_set_clear(&old);
	recovery_set_clear(&cur);
	recovery_set_clear(&b);
}

static void
test_recovery_MF07_single_use(void **state)
{
	struct fixture *f = *state;
	struct recovery_set s;
	char lower[RECOVERY_CODE_MAX];

	enrol(f, &f->alice, &s, T0);
	/* Typed differently, the same code: it works once. */
	for (size_t i = 0; s.code[2][i] != '\0'; i++)
		lower[i + 1] = (char)(s.code[2][i] >= 'A' && s.code[2][i] <= 'Z'
			? s.code[2][i] - 'A' + 'a'
			: s.code[2][i]);
	lower[0] = ' ';
	lower[strlen(s.code[2]) + 1] = '\0';
	assert_int_equal(check(f, &f->alice, lower, NULL), 0);
	assert_int_equal(check(f, &f->alice, s.code[2], NULL), PC_ERR_VERIFY);
	assert_int_equal(left(f, &f->alice), 9);
	/* The other codes still work. */
	assert_int_equal(check(f, &f->alice, s.code[9], NULL), 0);
	assert_int_equal(left(f, &f->alice), 8);
	recovery_set_clear(&s);
}

/* Two uses of one code at once: one spends it. */
struct racer {
	struct fixture *f;
	struct recovery_check *c;
	pthread_barrier_t *go;
	int r;
};

static void *
race(void *arg)
{
	struct racer *x = arg;

	pthread_barrier_wait(x->go);
	x->r =
	    recovery_check_finish(x->f->db, x->f->alice.id, x->c, 0, T0 + 30);
	return NULL;
}

static void
test_recovery_MF07_concurrent_uses_one_wins(void **state)
{
	struct fixture *f = *state;
	struct recovery_set s;

	enrol(f, &f->alice, &s, T0);
	for (int round = 0; round < 5; round++) {
		struct recovery_check c1, c2;
		struct pwjob j1, j2;
		pthread_barrier_t go;
		pthread_t t1, t2;
		struct racer a = { f, &c1, &go, 99 }, b = { f, &c2, &go, 99 };

		/* Both verified the code before either spent it. */
		assert_int_equal(recovery_check_begin(
				     f->db, f->alice.id, s.code[round], &c1),
		    0);
		assert_int_equal(recovery_check_begin(
				     f->db, f->alice.id, s.code[round], &c2),
		    0);
		recovery_check_job(&c1, &j1);
		recovery_check_job(&c2, &j2);
		assert_int_equal(run_job(f, &j1, NULL), 0);
		assert_int_equal(run_job(f, &j2, NULL), 0);
		pthread_barrier_init(&go, NULL, 2);
		assert_int_equal(pthread_create(&t1, NULL, race, &a), 0);
		assert_int_equal(pthread_create(&t2, NULL, race, &b), 0);
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		pthread_barrier_destroy(&go);
		assert_true((a.r == 0 && b.r == PC_ERR_VERIFY) ||
		    (a.r == PC_ERR_VERIFY && b.r == 0));
		recovery_check_clear(&c1);
		recovery_check_clear(&c2);
	}
	assert_int_equal(left(f, &f->alice), 5);
	recovery_set_clear(&s);
}

/* ---- the dummy-hash path ---- */

static void
test_recovery_MF07_unknown_or_spent_index_does_the_same_work(void **state)
{
	struct fixture *f = *state;
	struct recovery_set s;
	struct recovery_check c;
	struct pwjob job;
	uint64_t hashed = 0;
	char wrong[RECOVERY_CODE_MAX];

	/* No codes at all: the typed code is hashed against the dummy. */
	recovery_generate(&s);
	assert_int_equal(
	    recovery_check_begin(f->db, f->bob.id, s.code[0], &c), 0);
	assert_null(c.phc);
	recovery_check_job(&c, &job);
	assert_int_equal(job.kind, PWJOB_DUMMY);
	assert_string_equal(job.pw, s.secret[0]);
	/* Even a job result of "match" cannot pass without a hash. */
	assert_int_equal(
	    recovery_check_finish(f->db, f->bob.id, &c, 0, T0), PC_ERR_VERIFY);
	recovery_check_clear(&c);
	assert_int_equal(check(f, &f->bob, s.code[0], &hashed), PC_ERR_VERIFY);
	assert_int_equal(hashed, 1);
	recovery_set_clear(&s);

	enrol(f, &f->alice, &s, T0);
	/* A wrong code at a live index: a real verification, failing. */
	snprintf(wrong, sizeof(wrong), "%s", s.code[3]);
	wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == 'Z' ? 'Y' : 'Z';
	assert_int_equal(check(f, &f->alice, wrong, &hashed), PC_ERR_VERIFY);
	assert_int_equal(hashed, 1);
	/* Spent: the index's hash is not even read; the same one job. */
	assert_int_equal(check(f, &f->alice, s.code[3], &hashed), 0);
	assert_int_equal(hashed, 1);
	assert_int_equal(
	    recovery_check_begin(f->db, f->alice.id, s.code[3], &c), 0);
	assert_null(c.phc);
	recovery_check_job(&c, &job);
	assert_int_equal(job.kind, PWJOB_DUMMY);
	recovery_check_clear(&c);
	assert_int_equal(
	    check(f, &f->alice, s.code[3], &hashed), PC_ERR_VERIFY);
	assert_int_equal(hashed, 1);
	/* Malformed: no index, nothing to hash, a failure at once. */
	assert_int_equal(check(f, &f->alice, "123456", &hashed), PC_ERR_VERIFY);
	assert_int_equal(hashed, 0);
	assert_int_equal(left(f, &f->alice), 9);
	recovery_set_clear(&s);
}

static void
test_recovery_user_delete_cascades(void **state)
{
	struct fixture *f = *state;
	struct recovery_set s;

	enrol(f, &f->bob, &s, T0);
	assert_int_equal(left(f, &f->bob), 10);
	assert_int_equal(store_user_delete(f->db, f->bob.id, T0), 0);
	assert_int_equal(left(f, &f->bob), 0);
	recovery_set_clear(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_recovery_MF07_format_ten_codes_of_80_bits),
		cmocka_unit_test(test_recovery_parse_normalises),
		cmocka_unit_test(test_recovery_parse_refuses),
		cmocka_unit_test_setup_teardown(
		    test_recovery_MF07_store_holds_only_argon2id, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_recovery_MF07_regenerate_kills_old_set, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_recovery_MF07_single_use, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_recovery_MF07_concurrent_uses_one_wins, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_recovery_MF07_unknown_or_spent_index_does_the_same_work,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_recovery_user_delete_cascades, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
