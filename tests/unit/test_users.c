/*
 * Unit tests for store/users.c and auth/user.c: email syntax, opaque ids
 * (OI-07), case-insensitive unique emails, one-transaction create with a
 * password (PW-01), tombstones that keep a deleted id from coming back,
 * disable/enable, and password refusal leaving nothing behind (PW-06).
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

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "store_fixture.h"
#include "store/db.h"
#include "store/store.h"
#include "util/log.h"

static const char good_pw[] = "Tq7!vR2#mZp9$Lw4xK";

struct fixture {
	char dir[64];
	struct db *db;
	struct db_conn *c;
	struct pw_params p;
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
	/* The floor of t = 3 (SECURITY.md Part 2.1), to keep tests quick. */
	f->p.opslimit = 3;
	f->p.memlimit = (size_t)12 << 20;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

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

static void
test_users_email_syntax(void **state)
{
	static const char *const good[] = { "a@b.c", "Alice@Example.COM",
		"a.b+tag@sub.example.org", "\xc3\xa9l\xc3\xa8ve@example.fr" };
	static const char *const bad[] = { "", "a", "a@", "@b.c", "a@b",
		"a@@b.c", "a@b@c.d", "a b@c.d", "a@b .c", "a\t@b.c",
		"a\x7f@b.c", "a@.b", "a@b.", "\xff@b.c", "a\n@b.c" };
	char local[80], dom[300], addr[400];

	(void)state;
	for (size_t i = 0; i < PC_NELEM(good); i++)
		assert_true(user_email_valid(good[i]));
	for (size_t i = 0; i < PC_NELEM(bad); i++)
		assert_false(user_email_valid(bad[i]));
	assert_false(user_email_valid(NULL));

	/* Local part <= 64. */
	memset(local, 'a', 64);
	local[64] = '\0';
	snprintf(addr, sizeof(addr), "%s@b.c", local);
	assert_true(user_email_valid(addr));
	snprintf(addr, sizeof(addr), "a%s@b.c", local);
	assert_false(user_email_valid(addr));

	/* Total <= 254. */
	memset(dom, 'd', sizeof(dom));
	memcpy(dom + 180, ".com", 5);			   /* 184-byte domain */
	snprintf(addr, sizeof(addr), "%s@%s", local, dom); /* 249 */
	assert_true(user_email_valid(addr));
	memset(dom, 'd', sizeof(dom));
	memcpy(dom + 190, ".com", 5); /* 194: total 259 */
	snprintf(addr, sizeof(addr), "%s@%s", local, dom);
	assert_false(user_email_valid(addr));

	assert_true(user_name_valid(""));
	assert_true(user_name_valid("Ada Lovelace"));
	assert_false(user_name_valid("a\nb"));
	assert_false(user_name_valid(NULL));
}

static void
test_users_OI07_id_opaque_random(void **state)
{
	char a[USER_ID_LEN + 1], b[USER_ID_LEN + 1];

	(void)state;
	user_id_new(a);
	user_id_new(b);
	assert_int_equal(strlen(a), USER_ID_LEN);
	assert_true(strncmp(a, "usr_", 4) == 0);
	for (size_t i = 4; i < USER_ID_LEN; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789-_",
		    a[i]));
	assert_string_not_equal(a, b);
}

static void
test_users_create_get_list(void **state)
{
	struct fixture *f = *state;
	struct store_user u, g, *v = NULL;
	size_t n = 0;

	assert_int_equal(
	    user_create(f->db, "Alice@Example.COM", "Alice", true, &u), 0);
	assert_string_equal(u.email, "Alice@Example.COM");
	assert_string_equal(u.email_key, "alice@example.com");
	assert_true(u.email_verified);
	assert_string_equal(u.name, "Alice");
	assert_int_equal(u.disabled_at, 0);
	assert_null(strstr(u.id, "alice"));

	assert_int_equal(store_user_get(f->db, u.id, &g), 0);
	assert_string_equal(g.email, u.email);
	store_user_clear(&g);
	assert_int_equal(
	    store_user_get_by_email(f->db, "aLiCe@eXample.com", &g), 0);
	assert_string_equal(g.id, u.id);
	store_user_clear(&g);
	assert_int_equal(
	    store_user_get(f->db, "usr_nope", &g), PC_ERR_NOT_FOUND);
	assert_int_equal(store_user_get_by_email(f->db, "bob@example.com", &g),
	    PC_ERR_NOT_FOUND);

	/* Case-insensitive uniqueness. */
	assert_int_equal(user_create(f->db, "ALICE@example.com", "", false, &g),
	    PC_ERR_CONFLICT);
	assert_int_equal(
	    user_create(f->db, "not-an-email", "", false, &g), PC_ERR_INVALID);

	assert_int_equal(
	    user_create(f->db, "bob@example.com", NULL, false, &g), 0);
	assert_int_equal(store_users_list(f->db, &v, &n), 0);
	assert_int_equal(n, 2);
	store_users_free(v, n);

	/* Oldest first, by created_at. */
	{
		struct store_user old = { .id = "usr_old",
			.email = "o@x.org",
			.name = "",
			.created_at = 5,
			.updated_at = 5 };

		assert_int_equal(store_user_insert(f->db, &old, NULL), 0);
	}
	assert_int_equal(store_users_list(f->db, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].id, "usr_old");
	assert_string_equal(v[0].email_key, "o@x.org");
	assert_true(v[1].created_at <= v[2].created_at);
	store_users_free(v, n);
	store_user_clear(&g);
	store_user_clear(&u);
}

static void
test_users_SS08_disable_enable_update(void **state)
{
	struct fixture *f = *state;
	struct store_user u, g;

	assert_int_equal(user_create(f->db, "c@example.com", "", false, &u), 0);
	assert_int_equal(user_disable(f->db, u.id, 1000), 0);
	assert_int_equal(store_user_get(f->db, u.id, &g), 0);
	assert_int_equal(g.disabled_at, 1000);
	store_user_clear(&g);
	assert_int_equal(user_enable(f->db, u.id, 1001), 0);
	assert_int_equal(store_user_get(f->db, u.id, &g), 0);
	assert_int_equal(g.disabled_at, 0);
	assert_int_equal(g.updated_at, 1001);
	store_user_clear(&g);

	assert_int_equal(store_user_set_name(f->db, u.id, "Carol", 1002), 0);
	assert_int_equal(store_user_set_verified(f->db, u.id, true, 1003), 0);
	assert_int_equal(store_user_get(f->db, u.id, &g), 0);
	assert_string_equal(g.name, "Carol");
	assert_true(g.email_verified);
	store_user_clear(&g);

	assert_int_equal(
	    user_disable(f->db, "usr_missing", 1), PC_ERR_NOT_FOUND);
	assert_int_equal(store_user_set_name(f->db, "usr_missing", "x", 1),
	    PC_ERR_NOT_FOUND);
	store_user_clear(&u);
}

static void
issue_token(struct fixture *f, const char *user_id, const char *email,
    const char *purpose, char fill)
{
	struct store_user_token t;

	memset(&t, 0, sizeof(t));
	memset(t.token_hash, fill, PC_SHA256_HEX_LEN);
	t.user_id = (char *)user_id;
	t.purpose = purpose;
	t.email = (char *)email;
	t.created_at = 100;
	t.expires_at = 100000;
	assert_int_equal(store_user_token_issue(f->db, &t), 0);
}

/*
 * user update (issue 11): a new email must be unique in any case, is not
 * verified, and kills the reset and verification links mailed to the old
 * one (RS-03); a refused change changes nothing.
 */
static void
test_users_RS03_update_email(void **state)
{
	struct fixture *f = *state;
	struct store_user a, b, g;

	assert_int_equal(user_create(f->db, "a@example.com", "A", true, &a), 0);
	assert_int_equal(user_create(f->db, "b@example.com", "", false, &b), 0);
	issue_token(f, a.id, "a@example.com", STORE_USER_TOKEN_RESET, 'a');
	issue_token(f, a.id, "a@example.com", STORE_USER_TOKEN_VERIFY, 'b');
	issue_token(f, b.id, "b@example.com", STORE_USER_TOKEN_RESET, 'c');
	assert_int_equal(count(f, "SELECT count(*) FROM user_tokens"), 3);

	/* Taken, in another case: a conflict, nothing changes. */
	assert_int_equal(store_user_update(f->db, a.id, "New name",
			     "B@Example.COM", -1, 2000),
	    PC_ERR_CONFLICT);
	assert_int_equal(store_user_get(f->db, a.id, &g), 0);
	assert_string_equal(g.email, "a@example.com");
	assert_string_equal(g.name, "A");
	assert_true(g.email_verified);
	store_user_clear(&g);
	assert_int_equal(count(f, "SELECT count(*) FROM user_tokens"), 3);

	/* A new address: unverified, the old links gone, b's kept. */
	assert_int_equal(store_user_update(f->db, a.id, "New name",
			     "New.A@Example.com", -1, 2001),
	    0);
	assert_int_equal(store_user_get(f->db, a.id, &g), 0);
	assert_string_equal(g.email, "New.A@Example.com");
	assert_string_equal(g.email_key, "new.a@example.com");
	assert_string_equal(g.name, "New name");
	assert_false(g.email_verified);
	assert_int_equal(g.updated_at, 2001);
	store_user_clear(&g);
	assert_int_equal(count(f, "SELECT count(*) FROM user_tokens"), 1);
	assert_int_equal(store_user_get_by_email(f->db, "a@example.com", &g),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_user_get_by_email(f->db, "NEW.A@example.com", &g), 0);
	store_user_clear(&g);

	/* The old address is free again; verified with the change. */
	assert_int_equal(
	    store_user_update(f->db, b.id, NULL, "a@example.com", 1, 2002), 0);
	assert_int_equal(store_user_get(f->db, b.id, &g), 0);
	assert_string_equal(g.email, "a@example.com");
	assert_true(g.email_verified);
	store_user_clear(&g);
	assert_int_equal(count(f, "SELECT count(*) FROM user_tokens"), 0);

	/* Verified state alone; nothing to change; no such user. */
	assert_int_equal(
	    store_user_update(f->db, b.id, NULL, NULL, 0, 2003), 0);
	assert_int_equal(store_user_get(f->db, b.id, &g), 0);
	assert_false(g.email_verified);
	store_user_clear(&g);
	assert_int_equal(store_user_update(f->db, b.id, NULL, NULL, -1, 2004),
	    PC_ERR_INVALID);
	assert_int_equal(
	    store_user_update(f->db, "usr_missing", "x", NULL, -1, 2005),
	    PC_ERR_NOT_FOUND);
	store_user_clear(&a);
	store_user_clear(&b);
}

static void
test_users_OI07_delete_tombstone(void **state)
{
	struct fixture *f = *state;
	struct store_user u, g, again;

	assert_int_equal(user_create(f->db, "d@example.com", "", false, &u), 0);
	assert_int_equal(
	    store_password_set(f->db, u.id, "$argon2id$x", NULL, 5), 0);
	assert_int_equal(store_user_delete(f->db, u.id, 10), 0);
	assert_int_equal(store_user_get(f->db, u.id, &g), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    count(f, "SELECT count(*) FROM credentials"), 0); /* cascade */
	assert_int_equal(count(f, "SELECT count(*) FROM deleted_users"), 1);
	assert_int_equal(store_user_delete(f->db, u.id, 11), PC_ERR_NOT_FOUND);

	/* The id can never be inserted again. */
	free(u.email);
	u.email = xstrdup("other@example.com");
	free(u.email_key);
	u.email_key = NULL;
	assert_int_equal(store_user_insert(f->db, &u, NULL), PC_ERR_CONFLICT);
	free(u.email);
	u.email = xstrdup("d@example.com");

	/* The email can: with a new id. */
	assert_int_equal(
	    user_create(f->db, "D@example.com", "", false, &again), 0);
	assert_string_not_equal(again.id, u.id);
	store_user_clear(&again);
	store_user_clear(&u);
}

static void
test_users_PW01_password_hash_stored(void **state)
{
	struct fixture *f = *state;
	struct store_user a, b;
	struct pw_check check;
	char *ha = NULL, *hb = NULL;

	assert_int_equal(
	    user_create_with_password(f->db, &f->p, "e@example.com", "", false,
		good_pw, strlen(good_pw), &check, &a),
	    0);
	assert_int_equal(user_create(f->db, "f@example.com", "", false, &b), 0);
	assert_int_equal(
	    store_password_get(f->db, b.id, &hb), PC_ERR_NOT_FOUND);
	assert_int_equal(user_set_password(f->db, &f->p, b.id, good_pw,
			     strlen(good_pw), &check),
	    0);
	assert_int_equal(store_password_get(f->db, a.id, &ha), 0);
	assert_int_equal(store_password_get(f->db, b.id, &hb), 0);
	assert_true(strncmp(ha, "$argon2id$v=19$", 15) == 0);
	assert_null(strstr(ha, good_pw));
	/* Same password, different salt, different hash. */
	assert_string_not_equal(ha, hb);
	assert_int_equal(pw_verify(ha, good_pw, strlen(good_pw)), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM credentials"), 2);

	/* Replacing keeps one row. */
	assert_int_equal(user_set_password(f->db, &f->p, b.id, good_pw,
			     strlen(good_pw), &check),
	    0);
	assert_int_equal(count(f, "SELECT count(*) FROM credentials"), 2);
	free(ha);
	free(hb);
	store_user_clear(&a);
	store_user_clear(&b);
}

static void
test_users_PW06_refused_password_stores_nothing(void **state)
{
	struct fixture *f = *state;
	static const char *const weak[] = { "short", "password",
		"gloria.example.password", "aaaaaaaaaaaaaaaaaaaa" };
	struct store_user u;
	struct pw_check check;

	for (size_t i = 0; i < PC_NELEM(weak); i++) {
		check.verdict = PW_OK;
		check.message = NULL;
		assert_int_equal(user_create_with_password(f->db, &f->p,
				     "gloria.example@example.com", "", false,
				     weak[i], strlen(weak[i]), &check, &u),
		    PC_ERR_INVALID);
		assert_int_not_equal(check.verdict, PW_OK);
		assert_non_null(check.message);
	}
	assert_int_equal(count(f, "SELECT count(*) FROM users"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM credentials"), 0);
}

/* Issue 17: the admin API's pages, keyset by id. */
static void
test_users_page_by_id(void **state)
{
	struct fixture *f = *state;
	struct store_user *v = NULL, u;
	size_t n = 0;
	char *last;

	for (int i = 0; i < 5; i++) {
		char email[32];

		snprintf(email, sizeof(email), "p%d@example.com", i);
		assert_int_equal(user_create(f->db, email, NULL, false, &u), 0);
		store_user_clear(&u);
	}
	assert_int_equal(
	    store_users_page(f->db, NULL, 0, &v, &n), PC_ERR_INVALID);
	assert_int_equal(store_users_page(f->db, NULL, 3, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_true(strcmp(v[0].id, v[1].id) < 0);
	assert_true(strcmp(v[1].id, v[2].id) < 0);
	last = xstrdup(v[2].id);
	store_users_free(v, n);
	assert_int_equal(store_users_page(f->db, last, 3, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_true(strcmp(last, v[0].id) < 0);
	free(last);
	last = xstrdup(v[1].id);
	store_users_free(v, n);
	assert_int_equal(store_users_page(f->db, last, 3, &v, &n), 0);
	assert_int_equal(n, 0);
	store_users_free(v, n);
	free(last);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_users_email_syntax),
		cmocka_unit_test(test_users_OI07_id_opaque_random),
		T(test_users_create_get_list),
		T(test_users_SS08_disable_enable_update),
		T(test_users_RS03_update_email),
		T(test_users_OI07_delete_tombstone),
		T(test_users_PW01_password_hash_stored),
		T(test_users_PW06_refused_password_stores_nothing),
		T(test_users_page_by_id),
	};
#undef T

	log_init(LOG_ERROR);
	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
