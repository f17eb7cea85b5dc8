/*
 * Unit tests for store/sessions.c and auth/session.c: only a hash is
 * stored (SS-03), rotation in one transaction (SS-01), unknown and
 * malformed ids never adopted (SS-02), idle and absolute timeouts on a
 * driven clock with now < limit only (SS-05, SS-10), revocation of one,
 * all and all-but-current (SS-07), disabling revokes (SS-08), CSRF tokens
 * bound to session and form (CF-01), cookie attributes (SS-04), the
 * purge of expired sessions (DS-04) and the sid derived in one place
 * (RT-05, AU-02).
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
	struct config cfg; /* only the fields sessions read */
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
	    user_create(f->db, "alice@example.com", "Alice", true, &f->alice) !=
		0 ||
	    user_create(f->db, "bob@example.com", "Bob", true, &f->bob) != 0) {
		free(f);
		return -1;
	}
	f->cfg.issuer_https = true;
	f->cfg.session_idle_timeout = SESSION_IDLE;
	f->cfg.session_absolute_timeout = SESSION_ABSOLUTE;
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
nsessions(struct fixture *f)
{
	return count(f, "SELECT count(*) FROM sessions");
}

/* A session for user (NULL: pre-session) created at now. */
static void
mk(struct fixture *f, const char *user, int64_t now, char cookie[64])
{
	assert_int_equal(
	    session_create(f->db, &f->cfg, user, "127.0.0.1", "test-agent",
		user != NULL ? "pwd" : "", now, cookie, NULL),
	    0);
	assert_int_equal(strlen(cookie), SESSION_COOKIE_LEN);
}

static int
lookup(struct fixture *f, const char *cookie, int64_t now)
{
	struct session s;
	int r = session_lookup(f->db, cookie, now, &f->cfg, &s);

	session_clear(&s);
	return r;
}

static void
test_session_SS03_store_holds_only_a_hash(void **state)
{
	struct fixture *f = *state;
	char c1[64], c2[64], want[65];
	uint8_t raw[64];
	size_t raw_len;
	struct session s;
	struct db_stmt *st;
	size_t len;
	const char *p;

	assert_int_equal(session_create(f->db, &f->cfg, f->alice.id, "10.0.0.1",
			     "UA", "pwd", T0, c1, &s),
	    0);
	mk(f, f->alice.id, T0, c2);
	assert_string_not_equal(c1, c2);
	assert_int_equal(nsessions(f), 2);

	/* The stored key is the hex SHA-256 of the 32 bytes of the id. */
	assert_int_equal(
	    b64url_decode(c1, strlen(c1), raw, sizeof(raw), &raw_len), 0);
	assert_int_equal(raw_len, SESSION_ID_BYTES);
	hash_sha256_hex(raw, raw_len, want);
	assert_string_equal(s.id_hash, want);
	assert_int_equal(db_prepare(f->c,
			     "SELECT id_hash FROM sessions WHERE user_id = ?"
			     " AND created_at = ? ORDER BY id_hash",
			     &st),
	    0);
	assert_int_equal(db_bind_cstr(st, 1, f->alice.id), 0);
	assert_int_equal(db_bind_int64(st, 2, T0), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(db_step(st), DB_ROW);
		p = db_col_text(st, 0, &len);
		assert_int_equal(len, 64);
		for (size_t j = 0; j < len; j++)
			assert_non_null(strchr("0123456789abcdef", p[j]));
	}
	db_done(st);
	/* No column of any row holds either cookie value. */
	assert_int_equal(db_prepare(f->c,
			     "SELECT count(*) FROM sessions WHERE"
			     " (id_hash || coalesce(user_id, '') ||"
			     " coalesce(ip, '') || coalesce(user_agent, '') ||"
			     " amr) LIKE '%' || ? || '%' OR (id_hash ||"
			     " coalesce(user_id, '') || coalesce(ip, '') ||"
			     " coalesce(user_agent, '') || amr) LIKE"
			     " '%' || ? || '%'",
			     &st),
	    0);
	assert_int_equal(db_bind_cstr(st, 1, c1), 0);
	assert_int_equal(db_bind_cstr(st, 2, c2), 0);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_col_int64(st, 0), 0);
	db_done(st);
	assert_int_equal(count(f,
			     "SELECT count(*) FROM sessions"
			     " WHERE length(id_hash) = 64"),
	    2);
	session_clear(&s);
}

static void
test_session_create_fields(void **state)
{
	struct fixture *f = *state;
	char cookie[64], ua[1000];
	struct session s;

	memset(ua, 'A', sizeof(ua) - 1);
	ua[sizeof(ua) - 1] = '\0';
	ua[3] = '\n';
	assert_int_equal(session_create(f->db, &f->cfg, NULL, "::1", ua, NULL,
			     T0, cookie, &s),
	    0);
	assert_null(s.user_id);
	assert_int_equal(s.auth_time, 0);
	assert_int_equal(s.created_at, T0);
	assert_int_equal(s.last_seen_at, T0);
	assert_int_equal(s.expires_at, T0 + SESSION_ABSOLUTE);
	assert_string_equal(s.amr, "");
	assert_string_equal(s.ip, "::1");
	/* Capped, with control characters replaced. */
	assert_int_equal(strlen(s.user_agent), SESSION_USER_AGENT_MAX);
	assert_int_equal(s.user_agent[3], '?');
	session_clear(&s);
	assert_int_equal(
	    count(f, "SELECT count(*) FROM sessions WHERE user_id IS NULL"), 1);
	assert_int_equal(
	    count(f, "SELECT max(length(user_agent)) FROM sessions"),
	    SESSION_USER_AGENT_MAX);

	/* A bad amr or an empty user id is refused; nothing stored. */
	assert_int_equal(session_create(f->db, &f->cfg, f->alice.id, NULL, NULL,
			     "pwd;x", T0, cookie, NULL),
	    PC_ERR_INVALID);
	assert_int_equal(session_create(f->db, &f->cfg, "", NULL, NULL, "pwd",
			     T0, cookie, NULL),
	    PC_ERR_INVALID);
	/* An unknown user id fails the foreign key. */
	assert_int_not_equal(session_create(f->db, &f->cfg, "usr_nobody", NULL,
				 NULL, "pwd", T0, cookie, NULL),
	    0);
	assert_int_equal(nsessions(f), 1);

	/* A lookup of a user session returns its fields. */
	assert_int_equal(session_create(f->db, &f->cfg, f->alice.id, NULL, NULL,
			     "pwd otp", T0, cookie, NULL),
	    0);
	assert_int_equal(session_lookup(f->db, cookie, T0 + 5, &f->cfg, &s), 0);
	assert_string_equal(s.user_id, f->alice.id);
	assert_int_equal(s.auth_time, T0);
	assert_string_equal(s.amr, "pwd otp");
	assert_null(s.ip);
	assert_null(s.user_agent);
	session_clear(&s);
}

static void
test_session_SS01_rotate_replaces_in_one_transaction(void **state)
{
	struct fixture *f = *state;
	char pre[64], fresh[64], again[64];
	struct session s;

	mk(f, NULL, T0, pre);
	assert_int_equal(lookup(f, pre, T0 + 1), 0);
	/* Login: the pre-session's id is replaced. */
	assert_int_equal(session_rotate(f->db, &f->cfg, pre, f->alice.id,
			     "127.0.0.1", "UA", "pwd", T0 + 10, fresh, &s),
	    0);
	assert_string_not_equal(pre, fresh);
	assert_string_equal(s.user_id, f->alice.id);
	assert_int_equal(s.auth_time, T0 + 10);
	assert_int_equal(s.expires_at, T0 + 10 + SESSION_ABSOLUTE);
	session_clear(&s);
	assert_int_equal(lookup(f, pre, T0 + 11), PC_ERR_NOT_FOUND);
	assert_int_equal(session_lookup(f->db, fresh, T0 + 11, &f->cfg, &s), 0);
	assert_string_equal(s.user_id, f->alice.id);
	session_clear(&s);
	assert_int_equal(nsessions(f), 1);

	/*
	 * One transaction: when the insert of the new session fails (here a
	 * user id that does not exist), the old session is not deleted.
	 */
	assert_int_not_equal(
	    session_rotate(f->db, &f->cfg, fresh, "usr_does_not_exist", NULL,
		NULL, "pwd", T0 + 20, again, NULL),
	    0);
	assert_string_equal(again, "");
	assert_int_equal(lookup(f, fresh, T0 + 21), 0);
	assert_int_equal(nsessions(f), 1);

	/* A privilege change (MFA step) rotates again. */
	assert_int_equal(session_rotate(f->db, &f->cfg, fresh, f->alice.id,
			     NULL, NULL, "pwd otp", T0 + 30, again, NULL),
	    0);
	assert_int_equal(lookup(f, fresh, T0 + 31), PC_ERR_NOT_FOUND);
	assert_int_equal(lookup(f, again, T0 + 31), 0);
	assert_int_equal(nsessions(f), 1);

	/* A missing or unknown old cookie just creates. */
	assert_int_equal(session_rotate(f->db, &f->cfg, NULL, f->bob.id, NULL,
			     NULL, "pwd", T0, fresh, NULL),
	    0);
	assert_int_equal(session_rotate(f->db, &f->cfg, "garbage", f->bob.id,
			     NULL, NULL, "pwd", T0, fresh, NULL),
	    0);
	assert_int_equal(nsessions(f), 3);
}

static void
test_session_SS02_unknown_and_malformed_not_adopted(void **state)
{
	struct fixture *f = *state;
	char good[64], unknown[64], bad[128], h[65];
	char *big;
	uint8_t raw[SESSION_ID_BYTES];
	struct session s;
	static const char *const malformed[] = {
		"",
		"a",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	/* 42 */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",	/* '+' */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/",	/* '/' */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",	/* pad */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",	/* space */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", /* trailing bits */
		/* 43 bytes with a UTF-8 "e acute" inside */
		"AAAAAAAAAAAAAAAAAAAAA\303\251AAAAAAAAAAAAAAAAAAAA",
	};

	mk(f, f->alice.id, T0, good);
	/* A well-formed id nobody issued. */
	random_bytes(raw, sizeof(raw));
	b64url_encode(raw, sizeof(raw), unknown);
	assert_int_equal(session_lookup(f->db, unknown, T0 + 1, &f->cfg, &s),
	    PC_ERR_NOT_FOUND);
	assert_null(s.user_id);
	for (size_t i = 0; i < PC_NELEM(malformed); i++)
		assert_int_equal(
		    lookup(f, malformed[i], T0 + 1), PC_ERR_NOT_FOUND);
	assert_int_equal(lookup(f, NULL, T0 + 1), PC_ERR_NOT_FOUND);
	/* A good cookie with one character more or less. */
	snprintf(bad, sizeof(bad), "%sA", good);
	assert_int_equal(lookup(f, bad, T0 + 1), PC_ERR_NOT_FOUND);
	snprintf(bad, sizeof(bad), "%.42s", good);
	assert_int_equal(lookup(f, bad, T0 + 1), PC_ERR_NOT_FOUND);
	/* 10 KB. */
	big = malloc(10 * 1024 + 1);
	assert_non_null(big);
	memset(big, 'A', 10 * 1024);
	big[10 * 1024] = '\0';
	assert_int_equal(lookup(f, big, T0 + 1), PC_ERR_NOT_FOUND);
	free(big);
	/* The stored hash is not a credential. */
	assert_int_equal(
	    b64url_decode(good, strlen(good), raw, sizeof(raw), &(size_t){ 0 }),
	    0);
	hash_sha256_hex(raw, sizeof(raw), h);
	assert_int_equal(lookup(f, h, T0 + 1), PC_ERR_NOT_FOUND);
	/* Nothing was created, and the good session still works. */
	assert_int_equal(nsessions(f), 1);
	assert_int_equal(lookup(f, good, T0 + 1), 0);
	assert_int_equal(session_revoke(f->db, unknown), PC_ERR_NOT_FOUND);
	assert_int_equal(session_revoke(f->db, "x"), PC_ERR_NOT_FOUND);
	assert_int_equal(nsessions(f), 1);
}

static void
test_session_SS05_idle_timeout(void **state)
{
	struct fixture *f = *state;
	char c[64];
	struct session s;

	mk(f, f->alice.id, T0, c);
	/* One second before the idle limit: fine, and last_seen moves. */
	assert_int_equal(
	    session_lookup(f->db, c, T0 + SESSION_IDLE - 1, &f->cfg, &s), 0);
	assert_int_equal(s.last_seen_at, T0 + SESSION_IDLE - 1);
	session_clear(&s);
	assert_int_equal(count(f, "SELECT last_seen_at FROM sessions"),
	    T0 + SESSION_IDLE - 1);
	/* Exactly last_seen + idle: gone, and the record is deleted. */
	assert_int_equal(lookup(f, c, T0 + SESSION_IDLE - 1 + SESSION_IDLE),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(nsessions(f), 0);
	/* Gone stays gone, even at an earlier now. */
	assert_int_equal(lookup(f, c, T0 + 1), PC_ERR_NOT_FOUND);

	/* A configured idle timeout is used. */
	f->cfg.session_idle_timeout = 120;
	mk(f, f->alice.id, T0, c);
	assert_int_equal(lookup(f, c, T0 + 119), 0);
	assert_int_equal(lookup(f, c, T0 + 119 + 120), PC_ERR_NOT_FOUND);
}

static void
test_session_SS05_touch_at_most_once_a_minute(void **state)
{
	struct fixture *f = *state;
	char c[64];

	mk(f, f->alice.id, T0, c);
	assert_int_equal(lookup(f, c, T0 + SESSION_TOUCH_INTERVAL - 1), 0);
	assert_int_equal(count(f, "SELECT last_seen_at FROM sessions"), T0);
	assert_int_equal(lookup(f, c, T0 + SESSION_TOUCH_INTERVAL), 0);
	assert_int_equal(count(f, "SELECT last_seen_at FROM sessions"),
	    T0 + SESSION_TOUCH_INTERVAL);
	/* An untouched lookup does not extend the idle limit. */
	mk(f, f->bob.id, T0, c);
	assert_int_equal(lookup(f, c, T0 + 30), 0);
	assert_int_equal(lookup(f, c, T0 + SESSION_IDLE), PC_ERR_NOT_FOUND);
}

static void
test_session_SS05_absolute_timeout_despite_activity(void **state)
{
	struct fixture *f = *state;
	char c[64];
	int64_t now;

	mk(f, f->alice.id, T0, c);
	/* Used every 10 minutes: never idle, still ends at expires_at. */
	for (now = T0 + 600; now < T0 + SESSION_ABSOLUTE; now += 600)
		assert_int_equal(lookup(f, c, now), 0);
	assert_int_equal(lookup(f, c, T0 + SESSION_ABSOLUTE - 1), 0);
	assert_int_equal(lookup(f, c, T0 + SESSION_ABSOLUTE), PC_ERR_NOT_FOUND);
	assert_int_equal(nsessions(f), 0);

	/* Lowering the configured absolute timeout shortens old sessions. */
	mk(f, f->alice.id, T0, c);
	f->cfg.session_absolute_timeout = 3600;
	assert_int_equal(lookup(f, c, T0 + 1500), 0);
	assert_int_equal(lookup(f, c, T0 + 3000), 0);
	assert_int_equal(lookup(f, c, T0 + 3599), 0);
	assert_int_equal(lookup(f, c, T0 + 3600), PC_ERR_NOT_FOUND);
}

static void
test_session_SS10_boundary_is_expired(void **state)
{
	struct fixture *f = *state;
	char c[64];
	struct session s;

	f->cfg.session_idle_timeout = 300;
	f->cfg.session_absolute_timeout = 600;
	mk(f, f->alice.id, T0, c);
	assert_int_equal(session_lookup(f->db, c, T0 + 299, &f->cfg, &s), 0);
	assert_int_equal(s.expires_at, T0 + 600);
	session_clear(&s);
	assert_int_equal(lookup(f, c, T0 + 598), 0);
	assert_int_equal(lookup(f, c, T0 + 599), 0); /* now < exp */
	assert_int_equal(lookup(f, c, T0 + 600), PC_ERR_NOT_FOUND); /* == */
	mk(f, f->alice.id, T0, c);
	assert_int_equal(
	    lookup(f, c, T0 + 300), PC_ERR_NOT_FOUND); /* idle == */
}

static void
test_session_SS07_revoke_one_and_all_but_current(void **state)
{
	struct fixture *f = *state;
	char a1[64], a2[64], a3[64], b1[64];
	struct store_session *v;
	size_t n;

	mk(f, f->alice.id, T0, a1);
	mk(f, f->alice.id, T0 + 1, a2);
	mk(f, f->alice.id, T0 + 2, a3);
	mk(f, f->bob.id, T0, b1);
	assert_int_equal(
	    store_sessions_list_user(f->db, f->alice.id, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].last_seen_at, T0 + 2); /* most recent first */
	assert_string_equal(v[0].ip, "127.0.0.1");
	assert_string_equal(v[0].user_agent, "test-agent");
	store_sessions_free(v, n);

	/* Logout of one session. */
	assert_int_equal(session_revoke(f->db, a1), 0);
	assert_int_equal(lookup(f, a1, T0 + 5), PC_ERR_NOT_FOUND);
	assert_int_equal(session_revoke(f->db, a1), PC_ERR_NOT_FOUND);
	assert_int_equal(lookup(f, a2, T0 + 5), 0);

	/* Sign out everywhere else. */
	mk(f, f->alice.id, T0 + 3, a1);
	assert_int_equal(session_revoke_user(f->db, f->alice.id, a3), 0);
	assert_int_equal(lookup(f, a1, T0 + 5), PC_ERR_NOT_FOUND);
	assert_int_equal(lookup(f, a2, T0 + 5), PC_ERR_NOT_FOUND);
	assert_int_equal(lookup(f, a3, T0 + 5), 0);
	assert_int_equal(lookup(f, b1, T0 + 5), 0);

	/* Everywhere (a malformed except cookie keeps nothing). */
	mk(f, f->alice.id, T0 + 3, a1);
	assert_int_equal(session_revoke_user(f->db, f->alice.id, "bad"), 0);
	assert_int_equal(lookup(f, a1, T0 + 5), PC_ERR_NOT_FOUND);
	assert_int_equal(lookup(f, a3, T0 + 5), PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_sessions_list_user(f->db, f->alice.id, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	mk(f, f->alice.id, T0 + 3, a1);
	assert_int_equal(session_revoke_user(f->db, f->alice.id, NULL), 0);
	assert_int_equal(lookup(f, a1, T0 + 5), PC_ERR_NOT_FOUND);
	/* Bob untouched throughout. */
	assert_int_equal(lookup(f, b1, T0 + 5), 0);
	assert_int_equal(nsessions(f), 1);
}

static void
test_session_SS08_disable_revokes_sessions(void **state)
{
	struct fixture *f = *state;
	char a1[64], a2[64], b1[64], pre[64];
	struct store_user u;

	mk(f, f->alice.id, T0, a1);
	mk(f, f->alice.id, T0, a2);
	mk(f, f->bob.id, T0, b1);
	mk(f, NULL, T0, pre);
	assert_int_equal(user_disable(f->db, f->alice.id, T0 + 10), 0);
	assert_int_equal(store_user_get(f->db, f->alice.id, &u), 0);
	assert_int_equal(u.disabled_at, T0 + 10);
	store_user_clear(&u);
	assert_int_equal(lookup(f, a1, T0 + 11), PC_ERR_NOT_FOUND);
	assert_int_equal(lookup(f, a2, T0 + 11), PC_ERR_NOT_FOUND);
	assert_int_equal(lookup(f, b1, T0 + 11), 0);
	assert_int_equal(lookup(f, pre, T0 + 11), 0);
	assert_int_equal(nsessions(f), 2);
	/* Unknown user: nothing changes. */
	assert_int_equal(
	    user_disable(f->db, "usr_unknown", T0 + 12), PC_ERR_NOT_FOUND);
	assert_int_equal(nsessions(f), 2);
	/* Deleting a user deletes its sessions (ON DELETE CASCADE). */
	assert_int_equal(store_user_delete(f->db, f->bob.id, T0 + 13), 0);
	assert_int_equal(lookup(f, b1, T0 + 14), PC_ERR_NOT_FOUND);
	assert_int_equal(nsessions(f), 1);
}

/* SS-07/RS-08: a new password ends the user's other sessions, in the same
 * transaction, except the one asked to be kept; other users untouched. */
static void
test_session_SS07_password_set_revokes_sessions(void **state)
{
	struct fixture *f = *state;
	char a1[64], a2[64], b1[64], keep[65];
	uint8_t raw[64];
	size_t raw_len;

	mk(f, f->alice.id, T0, a1);
	mk(f, f->alice.id, T0, a2);
	mk(f, f->bob.id, T0, b1);
	/* The store keys sessions by the SHA-256 of the 32 id bytes. */
	assert_int_equal(
	    b64url_decode(a2, strlen(a2), raw, sizeof(raw), &raw_len), 0);
	hash_sha256_hex(raw, raw_len, keep);
	assert_int_equal(
	    store_password_set(f->db, f->alice.id, "$argon2id$x", keep, T0 + 1),
	    0);
	assert_int_equal(lookup(f, a1, T0 + 2), PC_ERR_NOT_FOUND);
	assert_int_equal(lookup(f, a2, T0 + 2), 0);
	assert_int_equal(lookup(f, b1, T0 + 2), 0);
	assert_int_equal(
	    store_password_set(f->db, f->alice.id, "$argon2id$y", NULL, T0 + 3),
	    0);
	assert_int_equal(lookup(f, a2, T0 + 4), PC_ERR_NOT_FOUND);
	assert_int_equal(lookup(f, b1, T0 + 4), 0);
}

static void
test_session_CF01_csrf_token(void **state)
{
	struct fixture *f = *state;
	char c1[64], c2[64], c3[64], tok[64], tok2[64], bad[128];
	struct session s1, s2, s1b, s3;

	assert_int_equal(
	    session_create(f->db, &f->cfg, NULL, NULL, NULL, NULL, T0, c1, &s1),
	    0);
	assert_int_equal(
	    session_create(f->db, &f->cfg, NULL, NULL, NULL, NULL, T0, c2, &s2),
	    0);
	assert_int_equal(session_csrf_token(&s1, "login", tok), 0);
	assert_int_equal(strlen(tok), SESSION_CSRF_LEN);
	assert_int_equal(session_csrf_check(&s1, "login", tok), 0);
	/* The same session loaded again gives the same token. */
	assert_int_equal(session_lookup(f->db, c1, T0 + 1, &f->cfg, &s1b), 0);
	assert_int_equal(session_csrf_token(&s1b, "login", tok2), 0);
	assert_string_equal(tok, tok2);
	assert_int_equal(session_csrf_check(&s1b, "login", tok), 0);
	/* Another session, another form id. */
	assert_int_equal(session_csrf_check(&s2, "login", tok), PC_ERR_VERIFY);
	assert_int_equal(session_csrf_check(&s1, "logout", tok), PC_ERR_VERIFY);
	assert_int_equal(
	    session_csrf_check(&s1, "consent:az_1", tok), PC_ERR_VERIFY);
	assert_int_equal(session_csrf_token(&s1, "consent:az_1", tok2), 0);
	assert_int_equal(
	    session_csrf_check(&s1, "consent:az_2", tok2), PC_ERR_VERIFY);
	assert_int_equal(session_csrf_check(&s1, "consent:az_1", tok2), 0);
	/* Truncated, extended, altered, empty, NULL. */
	snprintf(bad, sizeof(bad), "%.42s", tok);
	assert_int_equal(session_csrf_check(&s1, "login", bad), PC_ERR_VERIFY);
	snprintf(bad, sizeof(bad), "%sA", tok);
	assert_int_equal(session_csrf_check(&s1, "login", bad), PC_ERR_VERIFY);
	for (size_t i = 0; i < SESSION_CSRF_LEN; i += 7) {
		snprintf(bad, sizeof(bad), "%s", tok);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		assert_int_equal(
		    session_csrf_check(&s1, "login", bad), PC_ERR_VERIFY);
	}
	assert_int_equal(session_csrf_check(&s1, "login", ""), PC_ERR_VERIFY);
	assert_int_equal(session_csrf_check(&s1, "login", NULL), PC_ERR_VERIFY);
	/* Form ids must be 1..SESSION_FORM_ID_MAX bytes. */
	assert_int_equal(session_csrf_token(&s1, "", bad), PC_ERR_INVALID);
	assert_int_equal(session_csrf_token(&s1, NULL, bad), PC_ERR_INVALID);
	assert_int_equal(session_csrf_check(&s1, "", tok), PC_ERR_VERIFY);
	/* After rotation (login) the pre-session's token no longer works. */
	assert_int_equal(session_rotate(f->db, &f->cfg, c1, f->alice.id, NULL,
			     NULL, "pwd", T0 + 2, c3, &s3),
	    0);
	assert_int_equal(session_csrf_check(&s3, "login", tok), PC_ERR_VERIFY);
	/* The CSRF key is not stored: no column holds the token. */
	assert_int_equal(
	    count(f,
		test_store_is_pg()
		    ? "SELECT count(*) FROM information_schema.columns"
		      " WHERE table_name = 'sessions'"
		      " AND column_name LIKE '%csrf%'"
		    : "SELECT count(*) FROM pragma_table_info('sessions')"
		      " WHERE name LIKE '%csrf%'"),
	    0);
	session_clear(&s1);
	session_clear(&s1b);
	session_clear(&s2);
	session_clear(&s3);
}

static void
test_session_SS04_cookie_header(void **state)
{
	struct fixture *f = *state;
	char c[64], h[SESSION_COOKIE_HEADER_MAX], want[256];
	struct config loop;

	mk(f, NULL, T0, c);
	assert_string_equal(session_cookie_name(&f->cfg), "__Host-sid");
	assert_int_equal(
	    session_cookie_header(&f->cfg, c, SESSION_ABSOLUTE, h, sizeof(h)),
	    0);
	snprintf(want, sizeof(want),
	    "__Host-sid=%s; Path=/; Max-Age=43200; Secure; HttpOnly;"
	    " SameSite=Lax",
	    c);
	assert_string_equal(h, want);
	assert_null(strstr(h, "Domain"));
	/* Without Max-Age. */
	assert_int_equal(
	    session_cookie_header(&f->cfg, c, -1, h, sizeof(h)), 0);
	snprintf(want, sizeof(want),
	    "__Host-sid=%s; Path=/; Secure; HttpOnly; SameSite=Lax", c);
	assert_string_equal(h, want);
	assert_int_equal(session_cookie_clear_header(&f->cfg, h, sizeof(h)), 0);
	assert_string_equal(h,
	    "__Host-sid=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax");

	/* Loopback http issuer: no __Host- prefix and no Secure. */
	memset(&loop, 0, sizeof(loop));
	loop.issuer_https = false;
	loop.issuer_loopback = true;
	assert_string_equal(session_cookie_name(&loop), "sid");
	assert_int_equal(session_cookie_header(&loop, c, 60, h, sizeof(h)), 0);
	snprintf(want, sizeof(want),
	    "sid=%s; Path=/; Max-Age=60; HttpOnly; SameSite=Lax", c);
	assert_string_equal(h, want);
	assert_null(strstr(h, "Secure"));
	assert_null(strstr(h, "Domain"));
	assert_int_equal(session_cookie_clear_header(&loop, h, sizeof(h)), 0);
	assert_string_equal(
	    h, "sid=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");

	/* Only a well-formed value; a short buffer is an error. */
	assert_int_equal(
	    session_cookie_header(&f->cfg, "x; Domain=evil", 60, h, sizeof(h)),
	    PC_ERR_INVALID);
	assert_string_equal(h, "");
	assert_int_equal(session_cookie_header(
			     &f->cfg, "a\r\nSet-Cookie: x=1", 60, h, sizeof(h)),
	    PC_ERR_INVALID);
	assert_int_equal(
	    session_cookie_header(&f->cfg, c, 60, h, 40), PC_ERR_TOO_LARGE);
	assert_string_equal(h, "");
}

static void
test_session_DS04_purge_expired(void **state)
{
	struct fixture *f = *state;
	char fresh[64], idle[64], old[64], pre[64];
	int64_t n = -1;

	f->cfg.session_idle_timeout = 1000;
	f->cfg.session_absolute_timeout = 3600;
	/* Active all along, but at its absolute end at T0 + 3600. */
	mk(f, f->alice.id, T0, old);
	for (int64_t t = T0 + 900; t < T0 + 3600; t += 900)
		assert_int_equal(lookup(f, old, t), 0);
	assert_int_equal(lookup(f, old, T0 + 3590), 0);
	mk(f, f->bob.id, T0 + 2600, idle);    /* idle from T0 + 3600 */
	mk(f, NULL, T0 + 2600, pre);	      /* idle pre-session */
	mk(f, f->alice.id, T0 + 3500, fresh); /* fine */
	assert_int_equal(session_purge(f->db, &f->cfg, T0 + 3599, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(nsessions(f), 4);
	assert_int_equal(session_purge(f->db, &f->cfg, T0 + 3600, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(nsessions(f), 1);
	assert_int_equal(lookup(f, fresh, T0 + 3600), 0);
	assert_int_equal(session_purge(f->db, &f->cfg, T0 + 3600, NULL), 0);
	assert_int_equal(nsessions(f), 1);
}

/* DS-04: a user keeps at most session_max_per_user sessions, newest. */
static void
test_session_DS04_per_user_cap(void **state)
{
	struct fixture *f = *state;
	char c1[64], c2[64], c3[64], pre[64];
	struct session s;

	f->cfg.session_max_per_user = 2;
	assert_int_equal(session_create(f->db, &f->cfg, NULL, "10.0.0.9", NULL,
			     NULL, T0, pre, NULL),
	    0);
	assert_int_equal(session_create(f->db, &f->cfg, f->alice.id, NULL, NULL,
			     "pwd", T0, c1, NULL),
	    0);
	assert_int_equal(session_create(f->db, &f->cfg, f->alice.id, NULL, NULL,
			     "pwd", T0 + 1, c2, NULL),
	    0);
	assert_int_equal(session_create(f->db, &f->cfg, f->bob.id, NULL, NULL,
			     "pwd", T0 + 1, c3, NULL),
	    0);
	assert_int_equal(session_rotate(f->db, &f->cfg, pre, f->alice.id, NULL,
			     NULL, "pwd", T0 + 2, c3, NULL),
	    0);
	/* Alice's oldest went; the newest two stay; Bob is untouched. */
	assert_int_equal(
	    session_lookup(f->db, c1, T0 + 3, &f->cfg, &s), PC_ERR_NOT_FOUND);
	assert_int_equal(session_lookup(f->db, c2, T0 + 3, &f->cfg, &s), 0);
	session_clear(&s);
	assert_int_equal(session_lookup(f->db, c3, T0 + 3, &f->cfg, &s), 0);
	session_clear(&s);
	assert_int_equal(
	    count(f, "SELECT count(*) FROM sessions WHERE user_id IS NOT NULL"),
	    3);
}

/* DS-04: one IP holds at most presession_max_per_ip pre-sessions. */
static void
test_session_DS04_presessions_per_ip(void **state)
{
	struct fixture *f = *state;
	char a[64], b[64], c[64], other[64];

	f->cfg.presession_max_per_ip = 2;
	assert_int_equal(session_create(f->db, &f->cfg, NULL, "192.0.2.1", NULL,
			     NULL, T0, a, NULL),
	    0);
	assert_int_equal(session_create(f->db, &f->cfg, NULL, "198.51.100.7",
			     NULL, NULL, T0, other, NULL),
	    0);
	assert_int_equal(session_create(f->db, &f->cfg, NULL, "192.0.2.1", NULL,
			     NULL, T0 + 1, b, NULL),
	    0);
	assert_int_equal(session_create(f->db, &f->cfg, NULL, "192.0.2.1", NULL,
			     NULL, T0 + 2, c, NULL),
	    0);
	assert_int_equal(lookup(f, a, T0 + 3), PC_ERR_NOT_FOUND);
	assert_int_equal(lookup(f, b, T0 + 3), 0);
	assert_int_equal(lookup(f, c, T0 + 3), 0);
	assert_int_equal(lookup(f, other, T0 + 3), 0);
	/* Signed-in sessions from that IP are not pre-sessions. */
	assert_int_equal(session_create(f->db, &f->cfg, f->alice.id,
			     "192.0.2.1", NULL, "pwd", T0 + 3, a, NULL),
	    0);
	assert_int_equal(lookup(f, b, T0 + 4), 0);
	assert_int_equal(lookup(f, a, T0 + 4), 0);
}

static void
test_session_config_settings(void **state)
{
	struct config c;
	char err[256];

	(void)state;
	config_defaults(&c);
	assert_int_equal(c.session_idle_timeout, 30 * 60);
	assert_int_equal(c.session_absolute_timeout, 12 * 3600);
	assert_int_equal(session_idle_timeout(&c), SESSION_IDLE);
	assert_int_equal(session_absolute_timeout(&c), SESSION_ABSOLUTE);
	assert_int_equal(session_idle_timeout(NULL), SESSION_IDLE);
	assert_int_equal(config_set(&c, "session_idle_timeout", "15m",
			     CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_equal(c.session_idle_timeout, 900);
	assert_int_not_equal(config_set(&c, "session_idle_timeout", "0",
				 CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_not_equal(config_set(&c, "session_idle_timeout", "25h",
				 CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_equal(config_set(&c, "session_absolute_timeout", "30d",
			     CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_not_equal(config_set(&c, "session_absolute_timeout", "1",
				 CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_not_equal(config_set(&c, "session_absolute_timeout", "31d",
				 CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_equal(c.session_absolute_timeout, 30 * 86400);
	config_free(&c);
}

/*
 * The sid (RT-05 token families, the ID Token's sid, AU-02's session
 * handle) is written once, in session_sid: the first 16 hex digits of
 * SHA-256 of the 32 id bytes. A known id gives a known sid; it names its
 * session only, and a rotated session has another.
 */
static void
test_session_RT05_sid_is_written_once(void **state)
{
	struct fixture *f = *state;
	/* The id of 32 zero bytes: SHA-256 66687aad f862bd77 ... */
	static const char zero_cookie[] =
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	struct store_session ss;
	struct session s, t, rot;
	char sid[SESSION_SID_LEN + 1], sid2[SESSION_SID_LEN + 1];
	char sids[64][SESSION_SID_LEN + 1];
	char cookie[64];

	memset(&ss, 0, sizeof(ss));
	snprintf(ss.id_hash, sizeof(ss.id_hash), "%s",
	    "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
	ss.user_id = f->alice.id;
	ss.created_at = ss.last_seen_at = ss.auth_time = T0;
	ss.expires_at = T0 + SESSION_ABSOLUTE;
	ss.amr = "pwd";
	assert_int_equal(store_session_insert(f->db, &ss), 0);
	assert_int_equal(
	    session_lookup(f->db, zero_cookie, T0, &f->cfg, &s), 0);
	session_sid(&s, sid);
	assert_string_equal(sid, "66687aadf862bd77");
	assert_true(session_has_sid(&s, "66687aadf862bd77"));
	assert_false(session_has_sid(&s, "66687aadf862bd7"));
	assert_false(session_has_sid(&s, "66687aadf862bd776"));
	assert_false(session_has_sid(&s, NULL));
	assert_false(session_has_sid(&s, ""));

	/* No session, no id: no sid (never a prefix of garbage). */
	session_sid(NULL, sid2);
	assert_string_equal(sid2, "");
	memset(&t, 0, sizeof(t));
	session_sid(&t, sid2);
	assert_string_equal(sid2, "");
	assert_false(session_has_sid(&t, ""));

	/* Fresh sessions: lower-case hex, never shared. */
	for (size_t i = 0; i < PC_NELEM(sids); i++) {
		assert_int_equal(session_create(f->db, NULL, f->bob.id, NULL,
				     NULL, "pwd", T0, cookie, &t),
		    0);
		session_sid(&t, sids[i]);
		assert_int_equal(strlen(sids[i]), SESSION_SID_LEN);
		assert_int_equal(
		    strspn(sids[i], "0123456789abcdef"), SESSION_SID_LEN);
		assert_int_equal(
		    strncmp(sids[i], t.id_hash, SESSION_SID_LEN), 0);
		assert_false(session_has_sid(&s, sids[i]));
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(sids[i], sids[k]);
		session_clear(&t);
	}
	/* SS-01: a rotated session is another session, with another sid. */
	assert_int_equal(session_rotate(f->db, NULL, zero_cookie, f->alice.id,
			     NULL, NULL, "pwd", T0 + 1, cookie, &rot),
	    0);
	session_sid(&rot, sid2);
	assert_string_not_equal(sid, sid2);
	assert_false(session_has_sid(&rot, sid));
	session_clear(&rot);
	session_clear(&s);
}

/*
 * MF-04: the pending second-factor step replaces the pre-session under a
 * new id (SS-01), names no signed-in user, carries what was proved so
 * far, and is gone (deleted) once its window has passed; completing it
 * replaces it again.
 */
static void
test_session_MF04_pending_step(void **state)
{
	struct fixture *f = *state;
	char pre[64], pend[64], full[64];
	struct session s;

	mk(f, NULL, T0, pre);
	assert_int_equal(session_begin_mfa(f->db, &f->cfg, pre, f->alice.id,
			     "127.0.0.1", "UA", "pwd", T0 + 1, pend, &s),
	    0);
	assert_string_not_equal(pre, pend);
	assert_null(s.user_id);
	assert_int_equal(s.auth_time, 0);
	assert_string_equal(s.mfa_user_id, f->alice.id);
	assert_string_equal(s.mfa_amr, "pwd");
	assert_int_equal(s.mfa_expires_at, T0 + 1 + SESSION_MFA_STEP);
	session_clear(&s);
	assert_int_equal(lookup(f, pre, T0 + 2), PC_ERR_NOT_FOUND);
	assert_int_equal(session_lookup(f->db, pend, T0 + 2, &f->cfg, &s), 0);
	assert_null(s.user_id);
	assert_string_equal(s.mfa_user_id, f->alice.id);
	assert_string_equal(s.amr, "");
	session_clear(&s);
	assert_int_equal(nsessions(f), 1);

	/* The window: open while now < mfa_expires_at, then gone. */
	assert_int_equal(lookup(f, pend, T0 + SESSION_MFA_STEP), 0);
	assert_int_equal(
	    lookup(f, pend, T0 + 1 + SESSION_MFA_STEP), PC_ERR_NOT_FOUND);
	assert_int_equal(nsessions(f), 0);

	/* A shorter setting is honoured. */
	f->cfg.mfa_step_timeout = 10;
	assert_int_equal(session_begin_mfa(f->db, &f->cfg, NULL, f->alice.id,
			     NULL, NULL, "pwd", T0, pend, NULL),
	    0);
	assert_int_equal(lookup(f, pend, T0 + 9), 0);
	assert_int_equal(lookup(f, pend, T0 + 10), PC_ERR_NOT_FOUND);

	/* Completion: a new id for the signed-in session, the step gone. */
	assert_int_equal(session_begin_mfa(f->db, &f->cfg, NULL, f->alice.id,
			     NULL, NULL, "pwd", T0, pend, NULL),
	    0);
	assert_int_equal(session_rotate(f->db, &f->cfg, pend, f->alice.id, NULL,
			     NULL, "pwd otp mfa", T0 + 5, full, &s),
	    0);
	assert_null(s.mfa_user_id);
	assert_string_equal(s.amr, "pwd otp mfa");
	session_clear(&s);
	assert_int_equal(lookup(f, pend, T0 + 6), PC_ERR_NOT_FOUND);
	assert_int_equal(lookup(f, full, T0 + 6), 0);

	/* Nonsense is refused: no user, an empty amr. */
	assert_int_equal(session_begin_mfa(f->db, &f->cfg, NULL, NULL, NULL,
			     NULL, "pwd", T0, pend, NULL),
	    PC_ERR_INVALID);
	assert_int_equal(session_begin_mfa(f->db, &f->cfg, NULL, f->alice.id,
			     NULL, NULL, "", T0, pend, NULL),
	    PC_ERR_INVALID);
	assert_string_equal(pend, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_session_SS03_store_holds_only_a_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_create_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_SS01_rotate_replaces_in_one_transaction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_SS02_unknown_and_malformed_not_adopted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_SS05_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_SS05_touch_at_most_once_a_minute, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_SS05_absolute_timeout_despite_activity, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_SS10_boundary_is_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_SS07_revoke_one_and_all_but_current, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_SS07_password_set_revokes_sessions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_SS08_disable_revokes_sessions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_CF01_csrf_token, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_SS04_cookie_header, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_DS04_purge_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_DS04_per_user_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_DS04_presessions_per_ip, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_RT05_sid_is_written_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_MF04_pending_step, setup, teardown),
		cmocka_unit_test(test_session_config_settings),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
