/*
 * Refresh tokens (src/oauth/refresh.c, src/store/refresh.c): rotation on
 * every use, reuse of a rotated token revokes the whole family including
 * its newest token (RT-02), one winner among concurrent uses and the
 * family revoked after, bound to the client, idle and absolute limits,
 * revoked by a password change, a disable and sign-out of its session
 * (RT-05), only hashes stored, and the audit row of a rotation written
 * in its own transaction (AU-01).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "store/db.h"
#include "store/store.h"

#define T0 INT64_C(1800000000)

#include "oauth_fixture.h"

static void
issue(struct fixture *f, int64_t now, char token[REFRESH_LEN + 1], char fam[48])
{
	struct refresh_grant g = { "pcc_app", f->alice.id,
		"openid offline_access", "pwd", "sid0123456789abc", now - 5, 0,
		0, NULL, NULL };

	assert_int_equal(refresh_issue(f->db, &g, now, token, fam), 0);
	assert_int_equal(strlen(token), REFRESH_LEN);
	assert_memory_equal(token, "pcr_", 4);
}

static int
rotate(struct fixture *f, const char *tok, const char *client, int64_t now,
    char out[REFRESH_LEN + 1])
{
	struct store_family fam;
	int r = refresh_rotate(f->db, tok, client, now, out, &fam);

	store_family_clear(&fam);
	return r;
}

static void
test_refresh_RT01_rotation(void **state)
{
	struct fixture *f = *state;
	char t1[REFRESH_LEN + 1], t2[REFRESH_LEN + 1], t3[REFRESH_LEN + 1];
	char fam[48];
	struct store_family sf;

	issue(f, T0, t1, fam);
	assert_int_equal(
	    refresh_rotate(f->db, t1, "pcc_app", T0 + 1, t2, &sf), 0);
	assert_string_equal(sf.family_id, fam);
	assert_string_equal(sf.scope, "openid offline_access");
	assert_string_equal(sf.user_id, f->alice.id);
	store_family_clear(&sf);
	assert_string_not_equal(t1, t2);
	assert_int_equal(rotate(f, t2, "pcc_app", T0 + 2, t3), 0);
}

static void
test_refresh_RT02_reuse_revokes_family(void **state)
{
	struct fixture *f = *state;
	char t1[REFRESH_LEN + 1], t2[REFRESH_LEN + 1], t3[REFRESH_LEN + 1];
	char fam[48];
	struct store_family sf;

	issue(f, T0, t1, fam);
	assert_int_equal(rotate(f, t1, "pcc_app", T0 + 1, t2), 0);
	/* The attacker replays t1: the family dies. */
	assert_int_equal(refresh_rotate(f->db, t1, "pcc_app", T0 + 2, t3, &sf),
	    PC_ERR_CONFLICT);
	assert_string_equal(sf.family_id, fam);
	assert_true(sf.revoked_at > 0);
	assert_string_equal(sf.revoke_reason, "reuse");
	store_family_clear(&sf);
	assert_int_equal(t3[0], '\0');
	/* ... including the newest token, held by the legitimate client. */
	assert_int_equal(
	    rotate(f, t2, "pcc_app", T0 + 3, t3), PC_ERR_NOT_FOUND);
}

static void
test_refresh_RT03_bound_to_client(void **state)
{
	struct fixture *f = *state;
	char t1[REFRESH_LEN + 1], t2[REFRESH_LEN + 1], fam[48];

	issue(f, T0, t1, fam);
	assert_int_equal(
	    rotate(f, t1, "pcc_other", T0 + 1, t2), PC_ERR_NOT_FOUND);
	/* Another client's attempt neither burns nor revokes it. */
	assert_int_equal(rotate(f, t1, "pcc_app", T0 + 2, t2), 0);
}

static void
test_refresh_RT04_idle_and_absolute(void **state)
{
	struct fixture *f = *state;
	char t[REFRESH_LEN + 1], n[REFRESH_LEN + 1], fam[48];
	int64_t now = T0;

	issue(f, T0, t, fam);
	assert_int_equal(
	    rotate(f, t, "pcc_app", T0 + REFRESH_IDLE, n), PC_ERR_NOT_FOUND);
	issue(f, T0, t, fam);
	/* Used every 13 days: alive until the family's absolute end. */
	for (int i = 0; i < 2; i++) {
		now += 13 * 86400;
		assert_int_equal(rotate(f, t, "pcc_app", now, n), 0);
		memcpy(t, n, sizeof(n));
	}
	assert_int_equal(rotate(f, t, "pcc_app", T0 + REFRESH_ABSOLUTE, n),
	    PC_ERR_NOT_FOUND);
}

static void
test_refresh_RT05_password_disable_signout(void **state)
{
	struct fixture *f = *state;
	char t[REFRESH_LEN + 1], n[REFRESH_LEN + 1], fam[48];

	issue(f, T0, t, fam);
	assert_int_equal(
	    store_password_set(f->db, f->alice.id, "$argon2id$x", NULL, T0 + 1),
	    0);
	assert_int_equal(rotate(f, t, "pcc_app", T0 + 2, n), PC_ERR_NOT_FOUND);
	issue(f, T0 + 3, t, fam);
	assert_int_equal(store_families_revoke_sid(
			     f->db, "sid0123456789abc", T0 + 4, "logout"),
	    0);
	assert_int_equal(rotate(f, t, "pcc_app", T0 + 5, n), PC_ERR_NOT_FOUND);
	issue(f, T0 + 6, t, fam);
	assert_int_equal(user_disable(f->db, f->alice.id, T0 + 7), 0);
	assert_int_equal(rotate(f, t, "pcc_app", T0 + 8, n), PC_ERR_NOT_FOUND);
}

static void
test_refresh_malformed(void **state)
{
	struct fixture *f = *state;
	char t[REFRESH_LEN + 1], n[REFRESH_LEN + 1], fam[48];

	assert_int_equal(rotate(f, NULL, "pcc_app", T0, n), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    rotate(f, "pcr_x", "pcc_app", T0, n), PC_ERR_NOT_FOUND);
	issue(f, T0, t, fam);
	t[0] = 'x';
	assert_int_equal(rotate(f, t, "pcc_app", T0 + 1, n), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    rotate(f, t + 1, "pcc_app", T0 + 1, n), PC_ERR_NOT_FOUND);
}

struct race {
	struct db *db;
	const char *tok;
	int result;
};

static void *
racer(void *arg)
{
	struct race *r = arg;
	char n[REFRESH_LEN + 1];
	struct store_family sf;

	r->result = refresh_rotate(r->db, r->tok, "pcc_app", T0 + 1, n, &sf);
	store_family_clear(&sf);
	return NULL;
}

static void
test_refresh_parallel_one_wins_then_family_dies(void **state)
{
	struct fixture *f = *state;
	char t[REFRESH_LEN + 1], n[REFRESH_LEN + 1], fam[48];
	struct race rs[12];
	pthread_t th[12];
	int wins = 0, reuse = 0;

	issue(f, T0, t, fam);
	for (size_t i = 0; i < PC_NELEM(rs); i++) {
		rs[i] = (struct race){ f->db, t, -1 };
		assert_int_equal(
		    pthread_create(&th[i], NULL, racer, &rs[i]), 0);
	}
	for (size_t i = 0; i < PC_NELEM(rs); i++) {
		pthread_join(th[i], NULL);
		wins += rs[i].result == 0;
		reuse += rs[i].result == PC_ERR_CONFLICT;
	}
	assert_int_equal(wins, 1);
	assert_int_equal(reuse, (int)PC_NELEM(rs) - 1);
	assert_int_equal(rotate(f, t, "pcc_app", T0 + 2, n), PC_ERR_CONFLICT);
}

/* One integer from the store, for checks the API does not expose. */
static int64_t
count_sql(struct fixture *f, const char *sql, const char *fam)
{
	struct db_conn *c;
	struct db_stmt *s;
	int64_t n = -1;

	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(db_prepare(c, sql, &s), 0);
	assert_int_equal(db_bind_cstr(s, 1, fam), 0);
	if (db_step(s) == DB_ROW)
		n = db_col_int64(s, 0);
	db_done(s);
	return n;
}

#define LIVE_SQL \
	"SELECT count(*) FROM refresh_tokens WHERE family_id = ?" \
	" AND used_at IS NULL"
#define SEALED_SQL \
	"SELECT count(*) FROM refresh_tokens WHERE family_id = ?" \
	" AND next_sealed IS NOT NULL"

static uint8_t grace_key[32];

static int
rotate_g(struct fixture *f, const char *tok, const char *client, int64_t now,
    int64_t interval, char out[REFRESH_LEN + 1], bool *resent)
{
	struct refresh_policy p = { .reuse_interval = interval,
		.seal_key = grace_key };
	struct store_family fam;
	int r =
	    refresh_rotate_ex(f->db, tok, client, now, &p, out, &fam, resent);

	store_family_clear(&fam);
	return r;
}

/* RT-02 grace: the same successor within the interval, never a second. */
static void
test_refresh_RT02_grace_same_successor(void **state)
{
	struct fixture *f = *state;
	char t0[REFRESH_LEN + 1], t1[REFRESH_LEN + 1], again[REFRESH_LEN + 1];
	char t2[REFRESH_LEN + 1], fam[48];
	bool resent = true;

	issue(f, T0, t0, fam);
	assert_int_equal(rotate_g(f, t0, "pcc_app", T0 + 1, 5, t1, &resent), 0);
	assert_false(resent);
	assert_int_equal(count_sql(f, SEALED_SQL, fam), 1);
	/* Repeats up to the last second of the window: the same t1. */
	for (int64_t d = 1; d <= 5; d++) {
		assert_int_equal(
		    rotate_g(f, t0, "pcc_app", T0 + d, 5, again, &resent), 0);
		assert_true(resent);
		assert_string_equal(again, t1);
	}
	assert_int_equal(count_sql(f, LIVE_SQL, fam), 1);
	/* t1 rotates as usual; the sealed copy of t1 goes with it. */
	assert_int_equal(rotate_g(f, t1, "pcc_app", T0 + 3, 5, t2, &resent), 0);
	assert_false(resent);
	assert_string_not_equal(t2, t1);
	assert_int_equal(count_sql(f, SEALED_SQL, fam), 1);
	/* t0 is two back now: reuse, the family dies, t2 with it. */
	assert_int_equal(rotate_g(f, t0, "pcc_app", T0 + 3, 5, again, &resent),
	    PC_ERR_CONFLICT);
	assert_int_equal(again[0], '\0');
	assert_int_equal(rotate_g(f, t2, "pcc_app", T0 + 4, 5, again, &resent),
	    PC_ERR_NOT_FOUND);
}

static void
test_refresh_RT02_grace_limits(void **state)
{
	struct fixture *f = *state;
	char t0[REFRESH_LEN + 1], t1[REFRESH_LEN + 1], t2[REFRESH_LEN + 1];
	char x[REFRESH_LEN + 1], fam[48];
	bool resent = false;

	/* After the interval: reuse, and the sealed successor is erased. */
	issue(f, T0, t0, fam);
	assert_int_equal(rotate_g(f, t0, "pcc_app", T0 + 1, 2, t1, &resent), 0);
	assert_int_equal(
	    rotate_g(f, t0, "pcc_app", T0 + 3, 2, x, &resent), PC_ERR_CONFLICT);
	assert_int_equal(count_sql(f, SEALED_SQL, fam), 0);
	assert_int_equal(rotate_g(f, t1, "pcc_app", T0 + 3, 2, x, &resent),
	    PC_ERR_NOT_FOUND);
	/* Another client: reuse as without the grace. */
	issue(f, T0, t0, fam);
	assert_int_equal(rotate_g(f, t0, "pcc_app", T0 + 1, 5, t1, &resent), 0);
	assert_int_equal(rotate_g(f, t0, "pcc_other", T0 + 1, 5, x, &resent),
	    PC_ERR_CONFLICT);
	assert_int_equal(rotate_g(f, t1, "pcc_app", T0 + 2, 5, x, &resent),
	    PC_ERR_NOT_FOUND);
	/* The successor itself used: its predecessor is reuse again. */
	issue(f, T0, t0, fam);
	assert_int_equal(rotate_g(f, t0, "pcc_app", T0 + 1, 5, t1, &resent), 0);
	assert_int_equal(rotate_g(f, t1, "pcc_app", T0 + 1, 5, t2, &resent), 0);
	assert_int_equal(rotate_g(f, t1, "pcc_app", T0 + 1, 5, x, &resent), 0);
	assert_true(resent);
	assert_string_equal(x, t2);
	assert_int_equal(rotate_g(f, t2, "pcc_app", T0 + 2, 5, x, &resent), 0);
	assert_int_equal(
	    rotate_g(f, t1, "pcc_app", T0 + 2, 5, x, &resent), PC_ERR_CONFLICT);
	/* Grace off for the repeat (interval 0 now): reuse, as before. */
	issue(f, T0, t0, fam);
	assert_int_equal(rotate_g(f, t0, "pcc_app", T0 + 1, 5, t1, &resent), 0);
	assert_int_equal(rotate(f, t0, "pcc_app", T0 + 1, x), PC_ERR_CONFLICT);
	/* Above the cap, or without a key: refused, nothing consumed. */
	issue(f, T0, t0, fam);
	assert_int_equal(
	    rotate_g(f, t0, "pcc_app", T0 + 1, 11, x, &resent), PC_ERR_INVALID);
	assert_int_equal(rotate_g(f, t0, "pcc_app", T0 + 1, 5, t1, &resent), 0);
	/* The purge erases sealed successors past any grace. */
	{
		int64_t n = 0;

		assert_int_equal(count_sql(f, SEALED_SQL, fam), 1);
		assert_int_equal(store_families_purge(f->db, T0 + 10, &n), 0);
		assert_int_equal(count_sql(f, SEALED_SQL, fam), 1);
		assert_int_equal(store_families_purge(f->db, T0 + 11, &n), 0);
		assert_int_equal(count_sql(f, SEALED_SQL, fam), 0);
	}
}

struct grace_race {
	struct fixture *f;
	const char *tok;
	char out[REFRESH_LEN + 1];
	bool resent;
	int result;
};

static void *
grace_racer(void *arg)
{
	struct grace_race *r = arg;

	r->result =
	    rotate_g(r->f, r->tok, "pcc_app", T0 + 1, 5, r->out, &r->resent);
	return NULL;
}

static void
test_refresh_RT02_grace_parallel_one_successor(void **state)
{
	struct fixture *f = *state;
	char t[REFRESH_LEN + 1], fam[48];
	struct grace_race rs[12];
	pthread_t th[12];
	int fresh = 0;

	issue(f, T0, t, fam);
	for (size_t i = 0; i < PC_NELEM(rs); i++) {
		memset(&rs[i], 0, sizeof(rs[i]));
		rs[i].f = f;
		rs[i].tok = t;
		rs[i].result = -1;
		assert_int_equal(
		    pthread_create(&th[i], NULL, grace_racer, &rs[i]), 0);
	}
	for (size_t i = 0; i < PC_NELEM(rs); i++)
		pthread_join(th[i], NULL);
	for (size_t i = 0; i < PC_NELEM(rs); i++) {
		assert_int_equal(rs[i].result, 0);
		assert_string_equal(rs[i].out, rs[0].out);
		fresh += !rs[i].resent;
	}
	assert_int_equal(fresh, 1);
	assert_int_equal(count_sql(f, LIVE_SQL, fam), 1);
}

/* AU-01: a rotation whose answer could not be given is undone. */
static void
test_refresh_unrotate(void **state)
{
	struct fixture *f = *state;
	char t0[REFRESH_LEN + 1], t1[REFRESH_LEN + 1], t2[REFRESH_LEN + 1];
	char fam[48];

	issue(f, T0, t0, fam);
	assert_int_equal(rotate(f, t0, "pcc_app", T0 + 1, t1), 0);
	assert_int_equal(refresh_unrotate(f->db, t0, t1), 0);
	assert_int_equal(count_sql(f, LIVE_SQL, fam), 1);
	/* t1 is gone; t0 works again (and is not reuse). */
	assert_int_equal(
	    rotate(f, t1, "pcc_app", T0 + 2, t2), PC_ERR_NOT_FOUND);
	assert_int_equal(rotate(f, t0, "pcc_app", T0 + 2, t1), 0);
	/* Once the successor was used, nothing is undone. */
	assert_int_equal(rotate(f, t1, "pcc_app", T0 + 3, t2), 0);
	assert_int_equal(refresh_unrotate(f->db, t0, t1), PC_ERR_NOT_FOUND);
	assert_int_equal(rotate(f, t2, "pcc_app", T0 + 4, t1), 0);
}

/* The audit hook of a rotation: what it saw, and whether it fails. */
struct hook {
	int calls, fail, resent;
	char family[STORE_FAMILY_ID_MAX];
};

/* Appends an audit row (target: the family) in the rotation's
 * transaction, then fails if told to. */
static int
hook_fn(
    struct db_conn *c, void *arg, const struct store_family *fam, bool resent)
{
	static const uint8_t key[32] = { 1 };
	struct hook *h = arg;
	struct audit_event ev;
	int r;

	h->calls++;
	h->resent += resent ? 1 : 0;
	snprintf(h->family, sizeof(h->family), "%s", fam->family_id);
	memset(&ev, 0, sizeof(ev));
	ev.event = "token.issue";
	ev.outcome = "success";
	ev.target = fam->family_id;
	r = audit_append_tx(c, key, &ev);
	return r != 0 ? r : h->fail;
}

/* Chained (SQLite) or pending for the chainer (PostgreSQL). */
#define HOOK_ROWS_SQL \
	"SELECT count(*) FROM (SELECT target FROM audit_log UNION ALL" \
	" SELECT target FROM audit_pending) AS a WHERE target = ?"

static int
rotate_h(struct fixture *f, const char *tok, int64_t now, int64_t interval,
    struct hook *h, char out[REFRESH_LEN + 1], bool *resent)
{
	struct refresh_policy p = { .reuse_interval = interval,
		.seal_key = grace_key,
		.audit = hook_fn,
		.audit_arg = h };
	struct store_family fam;
	int r = refresh_rotate_ex(
	    f->db, tok, "pcc_app", now, &p, out, &fam, resent);

	store_family_clear(&fam);
	return r;
}

/*
 * AU-01: the audit row is written by the rotation's own transaction. A
 * failing row undoes the rotation (the token stays usable, no successor);
 * a good one commits with it. Reuse and refusals write none.
 */
static void
test_refresh_AU01_audit_in_rotation(void **state)
{
	struct fixture *f = *state;
	char t0[REFRESH_LEN + 1], t1[REFRESH_LEN + 1], t2[REFRESH_LEN + 1];
	char fam[48];
	struct hook h = { 0, PC_ERR_STORE, 0, "" };
	bool resent = false;

	issue(f, T0, t0, fam);
	assert_int_equal(
	    rotate_h(f, t0, T0 + 1, 0, &h, t1, &resent), PC_ERR_STORE);
	assert_int_equal(h.calls, 1);
	assert_int_equal(count_sql(f, HOOK_ROWS_SQL, fam), 0);
	assert_int_equal(count_sql(f, LIVE_SQL, fam), 1);
	h.fail = 0;
	assert_int_equal(rotate_h(f, t0, T0 + 2, 0, &h, t1, &resent), 0);
	assert_int_equal(h.calls, 2);
	assert_string_equal(h.family, fam);
	assert_int_equal(count_sql(f, HOOK_ROWS_SQL, fam), 1);
	assert_int_equal(count_sql(f, LIVE_SQL, fam), 1);
	/* Reuse revokes the family and writes no issue row. */
	assert_int_equal(
	    rotate_h(f, t0, T0 + 3, 0, &h, t2, &resent), PC_ERR_CONFLICT);
	assert_int_equal(h.calls, 2);
	assert_int_equal(count_sql(f, HOOK_ROWS_SQL, fam), 1);
	/* Under the grace a resend is audited too, in its transaction. */
	issue(f, T0, t0, fam);
	assert_int_equal(rotate_h(f, t0, T0 + 1, 5, &h, t1, &resent), 0);
	assert_false(resent);
	h.fail = PC_ERR_STORE;
	assert_int_equal(
	    rotate_h(f, t0, T0 + 2, 5, &h, t2, &resent), PC_ERR_STORE);
	h.fail = 0;
	assert_int_equal(rotate_h(f, t0, T0 + 3, 5, &h, t2, &resent), 0);
	assert_true(resent);
	assert_string_equal(t1, t2);
	assert_int_equal(h.resent, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_refresh_RT01_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_RT02_reuse_revokes_family, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_RT03_bound_to_client, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_RT04_idle_and_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_RT05_password_disable_signout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_parallel_one_wins_then_family_dies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_RT02_grace_same_successor, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_RT02_grace_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_RT02_grace_parallel_one_successor, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_unrotate, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refresh_AU01_audit_in_rotation, setup, teardown),
	};

	if (crypto_init() != 0)
		return 1;
	random_bytes(grace_key, sizeof(grace_key));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
