/*
 * Unit tests for store/user_tokens.c and auth/usertoken.c on a real
 * SQLite store: only a hash is stored (RS-02), single use, a newer token
 * and a password change invalidate older reset tokens (RS-03), expiry at
 * now == expires_at (RS-04), a verify token carries the exact address it
 * was sent to (RS-10), purposes do not mix, malformed tokens never reach
 * the store, and the purge of expired tokens.
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
#include "jose/jose.h"
#include "store_fixture.h"
#include "store/db.h"
#include "store/store.h"
#include "util/config.h"

#define T0 INT64_C(1800000000)

struct fixture {
	char dir[64];
	struct db *db;
	struct db_conn *c;
	struct config cfg; /* only the fields tokens read */
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
	    db_conn(f->db, &f->c) != 0 ||
	    user_create(
		f->db, "alice@example.com", "Alice", false, &f->alice) != 0 ||
	    user_create(f->db, "bob@example.com", "Bob", false, &f->bob) != 0) {
		free(f);
		return -1;
	}
	f->cfg.reset_token_ttl = 1800;
	f->cfg.verify_token_ttl = 86400;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_user_clear(&f->alice);
	store_user_clear(&f->bob);
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

static int64_t
ntokens(struct fixture *f)
{
	return count(f, "SELECT count(*) FROM user_tokens");
}

static void
issue(struct fixture *f, const struct store_user *u, enum usertoken_purpose p,
    int64_t now, char token[64])
{
	assert_int_equal(
	    usertoken_issue(f->db, &f->cfg, u->id, p, u->email, now, token), 0);
	assert_int_equal(strlen(token), USERTOKEN_LEN);
}

static int
consume(
    struct fixture *f, const char *token, enum usertoken_purpose p, int64_t now)
{
	char *uid = NULL, *email = NULL;
	int r = usertoken_consume(f->db, token, p, now, &uid, &email);

	free(uid);
	free(email);
	return r;
}

static int
peek(
    struct fixture *f, const char *token, enum usertoken_purpose p, int64_t now)
{
	char *uid = NULL;
	int r = usertoken_peek(f->db, token, p, now, &uid, NULL);

	free(uid);
	return r;
}

static void
test_usertoken_RS02_store_holds_only_a_hash(void **state)
{
	struct fixture *f = *state;
	char t1[64], t2[64], want[65];
	uint8_t raw[64];
	size_t raw_len, len;
	struct db_stmt *st;
	const char *p;

	issue(f, &f->alice, USERTOKEN_RESET, T0, t1);
	issue(f, &f->alice, USERTOKEN_VERIFY, T0, t2);
	assert_string_not_equal(t1, t2);
	assert_int_equal(ntokens(f), 2);

	/* 256 bits from the CSPRNG, keyed by the hex SHA-256 of them. */
	assert_int_equal(
	    b64url_decode(t1, strlen(t1), raw, sizeof(raw), &raw_len), 0);
	assert_int_equal(raw_len, USERTOKEN_BYTES);
	hash_sha256_hex(raw, raw_len, want);
	assert_int_equal(db_prepare(f->c,
			     "SELECT token_hash, user_id, purpose, email,"
			     " expires_at - created_at FROM user_tokens"
			     " WHERE purpose = 'reset'",
			     &st),
	    0);
	assert_int_equal(db_step(st), DB_ROW);
	p = db_col_text(st, 0, &len);
	assert_int_equal(len, 64);
	assert_memory_equal(p, want, 64);
	assert_string_equal(db_col_text(st, 1, &len), f->alice.id);
	assert_string_equal(db_col_text(st, 3, &len), "alice@example.com");
	assert_int_equal(db_col_int64(st, 4), 1800);
	db_done(st);

	/* No column of any row holds either token. */
	assert_int_equal(db_prepare(f->c,
			     "SELECT count(*) FROM user_tokens WHERE"
			     " (token_hash || user_id || purpose || email)"
			     " LIKE '%' || ? || '%' OR (token_hash || user_id"
			     " || purpose || email) LIKE '%' || ? || '%'",
			     &st),
	    0);
	assert_int_equal(db_bind_cstr(st, 1, t1), 0);
	assert_int_equal(db_bind_cstr(st, 2, t2), 0);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_col_int64(st, 0), 0);
	db_done(st);
}

static void
test_usertoken_RS03_single_use(void **state)
{
	struct fixture *f = *state;
	char t[64], *uid = NULL, *email = NULL;

	issue(f, &f->alice, USERTOKEN_RESET, T0, t);
	/* Peeking (the GET that renders the form) changes nothing. */
	assert_int_equal(peek(f, t, USERTOKEN_RESET, T0 + 1), 0);
	assert_int_equal(peek(f, t, USERTOKEN_RESET, T0 + 1), 0);
	assert_int_equal(ntokens(f), 1);

	assert_int_equal(
	    usertoken_consume(f->db, t, USERTOKEN_RESET, T0 + 2, &uid, &email),
	    0);
	assert_string_equal(uid, f->alice.id);
	assert_string_equal(email, "alice@example.com");
	free(uid);
	free(email);
	assert_int_equal(ntokens(f), 0);
	/* The second use fails, and so does a peek. */
	assert_int_equal(
	    consume(f, t, USERTOKEN_RESET, T0 + 3), PC_ERR_NOT_FOUND);
	assert_int_equal(peek(f, t, USERTOKEN_RESET, T0 + 3), PC_ERR_NOT_FOUND);
}

static void
test_usertoken_RS03_newer_token_kills_older(void **state)
{
	struct fixture *f = *state;
	char a1[64], a2[64], av[64], b1[64];

	issue(f, &f->alice, USERTOKEN_RESET, T0, a1);
	issue(f, &f->alice, USERTOKEN_VERIFY, T0, av);
	issue(f, &f->bob, USERTOKEN_RESET, T0, b1);
	issue(f, &f->alice, USERTOKEN_RESET, T0 + 10, a2);
	assert_int_equal(ntokens(f), 3);
	assert_int_equal(
	    peek(f, a1, USERTOKEN_RESET, T0 + 11), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    consume(f, a1, USERTOKEN_RESET, T0 + 11), PC_ERR_NOT_FOUND);
	/* Other purposes and other users are untouched. */
	assert_int_equal(peek(f, av, USERTOKEN_VERIFY, T0 + 11), 0);
	assert_int_equal(peek(f, b1, USERTOKEN_RESET, T0 + 11), 0);
	assert_int_equal(consume(f, a2, USERTOKEN_RESET, T0 + 12), 0);
	assert_int_equal(consume(f, av, USERTOKEN_VERIFY, T0 + 12), 0);
	assert_int_equal(consume(f, b1, USERTOKEN_RESET, T0 + 12), 0);
}

static void
test_usertoken_RS03_password_change_kills_reset_tokens(void **state)
{
	struct fixture *f = *state;
	char a1[64], av[64], b1[64];

	issue(f, &f->alice, USERTOKEN_RESET, T0, a1);
	issue(f, &f->alice, USERTOKEN_VERIFY, T0, av);
	issue(f, &f->bob, USERTOKEN_RESET, T0, b1);
	assert_int_equal(
	    store_password_set(f->db, f->alice.id, "$argon2id$x", NULL, T0 + 1),
	    0);
	assert_int_equal(
	    consume(f, a1, USERTOKEN_RESET, T0 + 2), PC_ERR_NOT_FOUND);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM user_tokens"
			     " WHERE purpose = 'reset'"),
	    1);
	assert_int_equal(peek(f, av, USERTOKEN_VERIFY, T0 + 2), 0);
	assert_int_equal(consume(f, b1, USERTOKEN_RESET, T0 + 2), 0);
	/* The explicit revocation (an email change) does the same. */
	issue(f, &f->alice, USERTOKEN_RESET, T0 + 3, a1);
	assert_int_equal(
	    usertoken_revoke_user(f->db, f->alice.id, USERTOKEN_RESET), 0);
	assert_int_equal(
	    consume(f, a1, USERTOKEN_RESET, T0 + 4), PC_ERR_NOT_FOUND);
}

static void
test_usertoken_RS04_expiry_boundary_refused(void **state)
{
	struct fixture *f = *state;
	char r1[64], v1[64];

	issue(f, &f->alice, USERTOKEN_RESET, T0, r1);
	issue(f, &f->bob, USERTOKEN_VERIFY, T0, v1);
	/* Live while now < expires_at; refused at now == expires_at. */
	assert_int_equal(peek(f, r1, USERTOKEN_RESET, T0 + 1799), 0);
	assert_int_equal(
	    peek(f, r1, USERTOKEN_RESET, T0 + 1800), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    consume(f, r1, USERTOKEN_RESET, T0 + 1800), PC_ERR_NOT_FOUND);
	/* The expired row went with the refused use. */
	assert_int_equal(
	    consume(f, r1, USERTOKEN_RESET, T0 + 1), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    consume(f, v1, USERTOKEN_VERIFY, T0 + 86400), PC_ERR_NOT_FOUND);
	assert_int_equal(ntokens(f), 0);

	issue(f, &f->bob, USERTOKEN_VERIFY, T0, v1);
	assert_int_equal(consume(f, v1, USERTOKEN_VERIFY, T0 + 86399), 0);
}

static void
test_usertoken_RS04_ttl_from_config_with_ceiling(void **state)
{
	struct fixture *f = *state;
	struct config c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(usertoken_ttl(NULL, USERTOKEN_RESET), 1800);
	assert_int_equal(usertoken_ttl(NULL, USERTOKEN_VERIFY), 86400);
	c.reset_token_ttl = 600;
	c.verify_token_ttl = 3600;
	assert_int_equal(usertoken_ttl(&c, USERTOKEN_RESET), 600);
	assert_int_equal(usertoken_ttl(&c, USERTOKEN_VERIFY), 3600);
	/* Emailed codes live at most 24 h, whatever the setting says. */
	c.reset_token_ttl = 7 * 86400;
	assert_int_equal(usertoken_ttl(&c, USERTOKEN_RESET), 86400);
	(void)f;
}

static void
test_usertoken_RS10_verify_carries_exact_email(void **state)
{
	struct fixture *f = *state;
	char t[64], *uid = NULL, *email = NULL;

	assert_int_equal(usertoken_issue(f->db, &f->cfg, f->alice.id,
			     USERTOKEN_VERIFY, "Alice.Old@Example.com", T0, t),
	    0);
	assert_int_equal(
	    usertoken_peek(f->db, t, USERTOKEN_VERIFY, T0 + 1, NULL, &email),
	    0);
	assert_string_equal(email, "Alice.Old@Example.com");
	free(email);
	email = NULL;
	assert_int_equal(
	    usertoken_consume(f->db, t, USERTOKEN_VERIFY, T0 + 2, &uid, &email),
	    0);
	assert_string_equal(uid, f->alice.id);
	/* Exactly the value sent to, not the account's current address. */
	assert_string_equal(email, "Alice.Old@Example.com");
	assert_string_not_equal(email, f->alice.email);
	free(uid);
	free(email);
}

static void
test_usertoken_purposes_do_not_mix(void **state)
{
	struct fixture *f = *state;
	char r1[64], v1[64];

	issue(f, &f->alice, USERTOKEN_RESET, T0, r1);
	issue(f, &f->alice, USERTOKEN_VERIFY, T0, v1);
	assert_int_equal(
	    consume(f, r1, USERTOKEN_VERIFY, T0 + 1), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    consume(f, v1, USERTOKEN_RESET, T0 + 1), PC_ERR_NOT_FOUND);
	/* A use with the wrong purpose did not spend the token. */
	assert_int_equal(ntokens(f), 2);
	assert_int_equal(consume(f, r1, USERTOKEN_RESET, T0 + 1), 0);
	assert_int_equal(consume(f, v1, USERTOKEN_VERIFY, T0 + 1), 0);
}

static void
test_usertoken_malformed_never_reaches_store(void **state)
{
	struct fixture *f = *state;
	char t[64], bad[64];
	static const char *const junk[] = { "", "abc",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	/* 42 */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
		"' OR 1=1 --AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };

	issue(f, &f->alice, USERTOKEN_RESET, T0, t);
	for (size_t i = 0; i < PC_NELEM(junk); i++) {
		assert_int_equal(
		    peek(f, junk[i], USERTOKEN_RESET, T0), PC_ERR_NOT_FOUND);
		assert_int_equal(
		    consume(f, junk[i], USERTOKEN_RESET, T0), PC_ERR_NOT_FOUND);
	}
	assert_int_equal(peek(f, NULL, USERTOKEN_RESET, T0), PC_ERR_NOT_FOUND);
	/* Non-canonical: the last character carries stray low bits. */
	memcpy(bad, t, sizeof(bad));
	bad[42] = bad[42] == 'A' ? 'B' : 'A';
	assert_int_equal(
	    consume(f, bad, USERTOKEN_RESET, T0), PC_ERR_NOT_FOUND);
	assert_int_equal(ntokens(f), 1);
	/* Bad input to issue. */
	assert_int_equal(usertoken_issue(f->db, &f->cfg, "", USERTOKEN_RESET,
			     "a@example.com", T0, bad),
	    PC_ERR_INVALID);
	assert_string_equal(bad, "");
	assert_int_equal(usertoken_issue(f->db, &f->cfg, f->alice.id,
			     USERTOKEN_RESET, "", T0, bad),
	    PC_ERR_INVALID);
	assert_int_not_equal(usertoken_issue(f->db, &f->cfg, "usr_nobody",
				 USERTOKEN_RESET, "a@example.com", T0, bad),
	    0);
	assert_int_equal(ntokens(f), 1);
}

static void
test_usertoken_user_delete_cascades(void **state)
{
	struct fixture *f = *state;
	char t[64];

	issue(f, &f->bob, USERTOKEN_VERIFY, T0, t);
	assert_int_equal(store_user_delete(f->db, f->bob.id, T0 + 1), 0);
	assert_int_equal(ntokens(f), 0);
	assert_int_equal(
	    consume(f, t, USERTOKEN_VERIFY, T0 + 2), PC_ERR_NOT_FOUND);
}

static void
test_usertoken_purge_expired(void **state)
{
	struct fixture *f = *state;
	char r1[64], v1[64];
	int64_t n = -1;

	issue(f, &f->alice, USERTOKEN_RESET, T0, r1);
	issue(f, &f->alice, USERTOKEN_VERIFY, T0, v1);
	assert_int_equal(usertoken_purge(f->db, T0 + 1799, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(usertoken_purge(f->db, T0 + 1800, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(peek(f, v1, USERTOKEN_VERIFY, T0 + 1800), 0);
	assert_int_equal(usertoken_purge(f->db, T0 + 86400, NULL), 0);
	assert_int_equal(ntokens(f), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_usertoken_RS02_store_holds_only_a_hash, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_usertoken_RS03_single_use, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_usertoken_RS03_newer_token_kills_older, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_usertoken_RS03_password_change_kills_reset_tokens,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_usertoken_RS04_expiry_boundary_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_usertoken_RS04_ttl_from_config_with_ceiling, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_usertoken_RS10_verify_carries_exact_email, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_usertoken_purposes_do_not_mix, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_usertoken_malformed_never_reaches_store, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_usertoken_user_delete_cascades, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_usertoken_purge_expired, setup, teardown),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
