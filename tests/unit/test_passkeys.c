/*
 * The passkey tables (src/store/passkeys.c, migration 0032; SECURITY.md
 * WA-02, WA-03, WA-05, DS-04): a credential id is registered once across
 * all users; a counter moves only from the value it was read at, and a
 * flagged credential never moves again; a challenge is taken once, only
 * by its session and purpose and while live; challenges are capped per
 * session; a user's handle is made once and names them. A store test: it
 * runs on PostgreSQL too (scripts/pg-unit.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "store_fixture.h"

#define T0 INT64_C(1800000000)
#define ALICE "usr_AAAAAAAAAAAAAAAAAAAAAA"
#define BOB "usr_BBBBBBBBBBBBBBBBBBBBBB"

struct fx {
	char dir[STORE_FIXTURE_DIR_LEN];
	struct db *db;
};

static void
add_user(struct db *db, const char *id, const char *email)
{
	struct store_user u;

	memset(&u, 0, sizeof(u));
	u.id = (char *)id;
	u.email = (char *)email;
	u.email_verified = true;
	u.name = (char *)"";
	u.created_at = u.updated_at = T0;
	assert_int_equal(store_user_insert(db, &u, NULL), 0);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || store_fixture_new(f->dir, true, &f->db) != 0) {
		free(f);
		return -1;
	}
	add_user(f->db, ALICE, "alice@example.com");
	add_user(f->db, BOB, "bob@example.com");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int r = store_fixture_close(f->dir, f->db);

	free(f);
	return r;
}

static void
cred(struct store_passkey *p, const char *id, const char *user,
    const char *cred_id, int64_t at)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->user_id = (char *)user;
	p->credential_id = (char *)cred_id;
	p->public_key = (char *)"pQECAyYgASFYIA";
	p->alg = -7;
	p->sign_count = 5;
	p->name = (char *)"Laptop";
	p->aaguid = (char *)"00000000-0000-0000-0000-000000000000";
	p->uv = true;
	p->backup_eligible = false;
	p->attestation = (char *)"none";
	p->transports = (char *)"internal";
	p->created_at = at;
}

static void
test_passkeys_WA05_credential_id_once(void **state)
{
	struct fx *f = *state;
	struct store_passkey p, g;
	struct store_passkey *v = NULL;
	size_t n = 0;

	cred(&p, "pk_1", ALICE, "Y3JlZC0x", T0);
	assert_int_equal(store_passkey_insert(f->db, &p, 10), 0);
	/* The same credential id: not again, not for anyone else. */
	cred(&p, "pk_2", ALICE, "Y3JlZC0x", T0);
	assert_int_equal(store_passkey_insert(f->db, &p, 10), PC_ERR_CONFLICT);
	cred(&p, "pk_3", BOB, "Y3JlZC0x", T0);
	assert_int_equal(store_passkey_insert(f->db, &p, 10), PC_ERR_CONFLICT);

	assert_int_equal(store_passkey_get(f->db, "Y3JlZC0x", &g), 0);
	assert_string_equal(g.id, "pk_1");
	assert_string_equal(g.user_id, ALICE);
	assert_string_equal(g.public_key, "pQECAyYgASFYIA");
	assert_int_equal(g.alg, -7);
	assert_int_equal(g.sign_count, 5);
	assert_true(g.uv);
	assert_false(g.backup_eligible);
	assert_string_equal(g.transports, "internal");
	assert_int_equal(g.last_used_at, 0);
	assert_int_equal(g.cloned_at, 0);
	store_passkey_clear(&g);
	assert_int_equal(
	    store_passkey_get(f->db, "bm9uZQ", &g), PC_ERR_NOT_FOUND);

	assert_int_equal(store_passkeys_list(f->db, BOB, &v, &n), 0);
	assert_int_equal(n, 0);
	store_passkeys_free(v, n);
}

static void
test_passkeys_DS04_per_user_cap(void **state)
{
	struct fx *f = *state;
	struct store_passkey p;
	struct store_passkey *v = NULL;
	size_t n = 0;

	cred(&p, "pk_1", ALICE, "YQ", T0);
	assert_int_equal(store_passkey_insert(f->db, &p, 2), 0);
	cred(&p, "pk_2", ALICE, "Yg", T0 + 1);
	assert_int_equal(store_passkey_insert(f->db, &p, 2), 0);
	cred(&p, "pk_3", ALICE, "Yw", T0 + 2);
	assert_int_equal(store_passkey_insert(f->db, &p, 2), PC_ERR_TOO_LARGE);
	/* Another user's count is their own. */
	cred(&p, "pk_4", BOB, "ZA", T0);
	assert_int_equal(store_passkey_insert(f->db, &p, 2), 0);

	assert_int_equal(store_passkeys_list(f->db, ALICE, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].id, "pk_1");
	assert_string_equal(v[1].id, "pk_2");
	store_passkeys_free(v, n);
}

static void
test_passkeys_WA03_counter_moves_from_what_was_read(void **state)
{
	struct fx *f = *state;
	struct store_passkey p, g;

	cred(&p, "pk_1", ALICE, "Y3JlZA", T0);
	assert_int_equal(store_passkey_insert(f->db, &p, 10), 0);
	assert_int_equal(store_passkey_use(f->db, "Y3JlZA", 5, 6, T0 + 10), 0);
	/* A second use that read 5 too loses: the counter is 6 now. */
	assert_int_equal(
	    store_passkey_use(f->db, "Y3JlZA", 5, 7, T0 + 11), PC_ERR_CONFLICT);
	assert_int_equal(store_passkey_get(f->db, "Y3JlZA", &g), 0);
	assert_int_equal(g.sign_count, 6);
	assert_int_equal(g.last_used_at, T0 + 10);
	store_passkey_clear(&g);

	/* Flagged: the first flag stays, and it never moves again. */
	assert_int_equal(
	    store_passkey_flag_cloned(f->db, "Y3JlZA", T0 + 20), 0);
	assert_int_equal(
	    store_passkey_flag_cloned(f->db, "Y3JlZA", T0 + 30), 0);
	assert_int_equal(
	    store_passkey_use(f->db, "Y3JlZA", 6, 9, T0 + 40), PC_ERR_CONFLICT);
	assert_int_equal(store_passkey_get(f->db, "Y3JlZA", &g), 0);
	assert_int_equal(g.cloned_at, T0 + 20);
	assert_int_equal(g.sign_count, 6);
	store_passkey_clear(&g);
}

static void
test_passkeys_rename_delete_own_only(void **state)
{
	struct fx *f = *state;
	struct store_passkey p, g;

	cred(&p, "pk_1", ALICE, "Y3JlZA", T0);
	assert_int_equal(store_passkey_insert(f->db, &p, 10), 0);
	assert_int_equal(
	    store_passkey_rename(f->db, BOB, "pk_1", "Mine"), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_passkey_rename(f->db, ALICE, "pk_1", "Phone"), 0);
	assert_int_equal(store_passkey_get(f->db, "Y3JlZA", &g), 0);
	assert_string_equal(g.name, "Phone");
	store_passkey_clear(&g);
	assert_int_equal(
	    store_passkey_delete(f->db, BOB, "pk_1"), PC_ERR_NOT_FOUND);
	assert_int_equal(store_passkey_delete(f->db, ALICE, "pk_1"), 0);
	assert_int_equal(
	    store_passkey_delete(f->db, ALICE, "pk_1"), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_passkey_get(f->db, "Y3JlZA", &g), PC_ERR_NOT_FOUND);
}

static void
challenge(struct store_wa_challenge *c, int h, const char *sess,
    const char *purpose, const char *user, int64_t at)
{
	memset(c, 0, sizeof(*c));
	memset(c->challenge_hash, h, PC_SHA256_HEX_LEN);
	snprintf(c->session_hash, sizeof(c->session_hash), "%s", sess);
	snprintf(c->purpose, sizeof(c->purpose), "%s", purpose);
	c->user_id = (char *)user;
	c->uv_required = user == NULL;
	c->created_at = at;
	c->expires_at = at + 300;
}

static int
take(struct fx *f, int h, const char *sess, const char *purpose, int64_t now,
    struct store_wa_challenge *out)
{
	char hash[PC_SHA256_HEX_LEN + 1];

	memset(hash, h, PC_SHA256_HEX_LEN);
	hash[PC_SHA256_HEX_LEN] = '\0';
	return store_wa_challenge_take(f->db, hash, sess, purpose, now, out);
}

static void
test_passkeys_WA02_challenge_taken_once(void **state)
{
	struct fx *f = *state;
	struct store_wa_challenge c, g;

	challenge(&c, 'a', "s1", "register", ALICE, T0);
	assert_int_equal(store_wa_challenge_put(f->db, &c, 5), 0);
	/* Another session or purpose: nothing, and it stays. */
	assert_int_equal(
	    take(f, 'a', "s2", "register", T0 + 1, &g), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    take(f, 'a', "s1", "login", T0 + 1, &g), PC_ERR_NOT_FOUND);
	assert_int_equal(take(f, 'a', "s1", "register", T0 + 1, &g), 0);
	assert_string_equal(g.user_id, ALICE);
	assert_false(g.uv_required);
	assert_int_equal(g.expires_at, T0 + 300);
	store_wa_challenge_clear(&g);
	/* Spent. */
	assert_int_equal(
	    take(f, 'a', "s1", "register", T0 + 2, &g), PC_ERR_NOT_FOUND);

	/* A passwordless one has no user; expired ones are not taken. */
	challenge(&c, 'b', "s1", "login", NULL, T0);
	assert_int_equal(store_wa_challenge_put(f->db, &c, 5), 0);
	assert_int_equal(
	    take(f, 'b', "s1", "login", T0 + 300, &g), PC_ERR_NOT_FOUND);
	assert_int_equal(take(f, 'b', "s1", "login", T0 + 299, &g), 0);
	assert_null(g.user_id);
	assert_true(g.uv_required);
	store_wa_challenge_clear(&g);
}

static void
test_passkeys_DS04_challenges_capped_per_session(void **state)
{
	struct fx *f = *state;
	struct store_wa_challenge c, g;
	int64_t n = 0;

	/* All in one second: the cap keeps the new one and the newest
	 * others, never evicting the one it was called for. */
	for (int h = 'a'; h <= 'f'; h++) {
		challenge(&c, h, "s1", "login", NULL, T0);
		assert_int_equal(store_wa_challenge_put(f->db, &c, 3), 0);
	}
	/* Another session's are not touched. */
	challenge(&c, '1', "s2", "login", NULL, T0);
	assert_int_equal(store_wa_challenge_put(f->db, &c, 3), 0);
	assert_int_equal(take(f, 'f', "s1", "login", T0 + 1, &g), 0);
	store_wa_challenge_clear(&g);
	for (int h = 'a'; h <= 'e'; h++) {
		int r = take(f, h, "s1", "login", T0 + 1, &g);

		store_wa_challenge_clear(&g);
		if (r == 0)
			n++;
		else
			assert_int_equal(r, PC_ERR_NOT_FOUND);
	}
	assert_int_equal(n, 2);
	assert_int_equal(take(f, '1', "s2", "login", T0 + 1, &g), 0);
	store_wa_challenge_clear(&g);

	challenge(&c, 'z', "s3", "factor", ALICE, T0);
	assert_int_equal(store_wa_challenge_put(f->db, &c, 3), 0);
	assert_int_equal(store_wa_challenges_purge(f->db, T0 + 300, &n), 0);
	assert_int_equal(n, 1);
}

static void
test_passkeys_WA05_handle_made_once(void **state)
{
	struct fx *f = *state;
	char *h = NULL, *u = NULL;

	assert_int_equal(
	    store_user_webauthn_handle(f->db, ALICE, "aGFuZGxlLTE", &h), 0);
	assert_string_equal(h, "aGFuZGxlLTE");
	free(h);
	/* A second enrolment keeps the first handle. */
	assert_int_equal(
	    store_user_webauthn_handle(f->db, ALICE, "aGFuZGxlLTI", &h), 0);
	assert_string_equal(h, "aGFuZGxlLTE");
	free(h);
	assert_int_equal(
	    store_user_by_webauthn_handle(f->db, "aGFuZGxlLTE", &u), 0);
	assert_string_equal(u, ALICE);
	free(u);
	assert_int_equal(
	    store_user_by_webauthn_handle(f->db, "aGFuZGxlLTI", &u),
	    PC_ERR_NOT_FOUND);
	assert_null(u);
	assert_int_equal(store_user_webauthn_handle(
			     f->db, "usr_CCCCCCCCCCCCCCCCCCCCCC", "eA", &h),
	    PC_ERR_NOT_FOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_passkeys_WA05_credential_id_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_passkeys_DS04_per_user_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_passkeys_WA03_counter_moves_from_what_was_read, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_passkeys_rename_delete_own_only, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_passkeys_WA02_challenge_taken_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_passkeys_DS04_challenges_capped_per_session, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_passkeys_WA05_handle_made_once, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
