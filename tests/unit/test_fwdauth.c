/*
 * Unit tests for forward-auth (issue 17 item 5; decision 0075; SECURITY.md
 * FA-01..FA-08): the pure checks (src/oauth/fwd_url.c: hosts, return
 * URLs, request paths, header values) and, on both stores and under fault
 * injection, the store (src/store/fwdauth.c) and the domain
 * (src/oauth/fwdauth.c): rules, the verdict, one-time codes bound to host
 * and browser, per-host sessions tied to the issuer session, the purge.
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

#include "auth/auth.h"
#include "machine/machine.h"
#include "oauth/fwdauth.h"
#include "store/store.h"
#include "store_fixture.h"

#define T0 INT64_C(1800000000)

struct fixture {
	char dir[64];
	struct db *db;
	struct store_user alice, bob;
	struct session s; /* alice's issuer session, amr "pwd" */
	char cookie[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_group g;
	const char *why = NULL;

	if (f == NULL)
		return -1;
	if (store_fixture_new(f->dir, true, &f->db) != 0 ||
	    user_create(f->db, "alice@example.com", "Alice", true, &f->alice) !=
		0 ||
	    user_create(f->db, "bob@example.com", "Bob", true, &f->bob) != 0 ||
	    group_create(f->db, "eng", "", "", T0, &g, &why) != 0 ||
	    group_member_add(f->db, g.id, f->alice.id, T0, NULL, &why) != 0 ||
	    session_create(f->db, NULL, f->alice.id, "192.0.2.1", "ua", "pwd",
		T0, f->cookie, &f->s) != 0)
		return -1;
	store_group_clear(&g);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	session_clear(&f->s);
	store_user_clear(&f->alice);
	store_user_clear(&f->bob);
	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

/* ---- pure ---- */

static void
test_fwdauth_FA02_host_norm(void **state)
{
	char h[FWD_HOST_MAX + 1];
	static const char *const bad[] = { "", ".", "app.", ".app", "a..b",
		"-a.b", "a-.b", "app:0", "app:65536", "app:08", "app:", "a b",
		"user@app", "[::1]", "app%2f", "app/x", "app\\x", "app:1:2" };

	(void)state;
	assert_int_equal(fwd_host_norm("App.Example.COM", h), 0);
	assert_string_equal(h, "app.example.com");
	assert_int_equal(fwd_host_norm("app.example.com:443", h), 0);
	assert_string_equal(h, "app.example.com");
	assert_int_equal(fwd_host_norm("app.localhost:8443", h), 0);
	assert_string_equal(h, "app.localhost:8443");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fwd_host_norm(bad[i], h), PC_ERR_INVALID);
}

static void
test_fwdauth_FA03_rd_parse(void **state)
{
	char h[FWD_HOST_MAX + 1];
	char *u = NULL;
	static const char *const bad[] = { "", "//evil.example/",
		"/\\evil.example", "https:/\\evil.example/",
		"https:\\\\evil.example/", "https://evil.example\\@app/",
		"https://app@evil.example/", "https://u:p@app/", "http://app/",
		"javascript:alert(1)", "https://app%2f@evil/", "https://",
		"https:///evil", "https://app\t.evil/", "https://app /",
		"https://[::1]/", "ftp://app/", "https://app:99999/",
		"https://app/\x7f", "https://app/\xc3\xa9" };

	(void)state;
	assert_int_equal(
	    fwd_rd_parse("https://App.Example:443/a/b?c=d#f", h, &u), 0);
	assert_string_equal(h, "app.example");
	assert_string_equal(u, "https://app.example/a/b?c=d");
	free(u);
	assert_int_equal(fwd_rd_parse("HTTPS://app.example:8443", h, &u), 0);
	assert_string_equal(u, "https://app.example:8443/");
	free(u);
	assert_int_equal(fwd_rd_parse("https://app.example?x=1", h, &u), 0);
	assert_string_equal(u, "https://app.example/?x=1");
	free(u);
	/* Leading slashes are said once; the dance's paths are never a
	 * destination. */
	assert_int_equal(
	    fwd_rd_parse("https://app.example///evil/x", h, &u), 0);
	assert_string_equal(u, "https://app.example/evil/x");
	free(u);
	assert_int_equal(
	    fwd_rd_parse("https://app.example/.portcullis/start", h, &u), 0);
	assert_string_equal(u, "https://app.example/");
	free(u);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fwd_rd_parse(bad[i], h, &u), PC_ERR_INVALID);
		assert_null(u);
		assert_string_equal(h, "");
	}
}

static void
expect_path(const char *uri, const char *want)
{
	char *p = NULL;

	if (want == NULL) {
		assert_int_equal(fwd_path_norm(uri, &p), PC_ERR_INVALID);
		assert_null(p);
		return;
	}
	assert_int_equal(fwd_path_norm(uri, &p), 0);
	assert_string_equal(p, want);
	free(p);
}

static void
test_fwdauth_FA04_path_norm(void **state)
{
	(void)state;
	expect_path("/", "/");
	expect_path("/a/b/?x=/../..", "/a/b");
	expect_path("/public/../eng/page", "/eng/page");
	expect_path("/public/%2e%2e/eng", "/eng");
	expect_path("/public/%2E%2e/eng", "/eng");
	expect_path("//a///b/./c", "/a/b/c");
	expect_path("/a/b/..", "/a");
	expect_path("/a%20b", "/a b");
	expect_path("/..", NULL);
	expect_path("/a/../..", NULL);
	expect_path("/a%2fb", NULL);
	expect_path("/a%2Fb", NULL);
	expect_path("/a%5cb", NULL);
	expect_path("/a\\b", NULL);
	expect_path("/a%00b", NULL);
	expect_path("/a%0d%0ab", NULL);
	expect_path("/a%zz", NULL);
	expect_path("/a%2", NULL);
	expect_path("a/b", NULL);
	expect_path("", NULL);
	expect_path(NULL, NULL);
	assert_true(fwd_prefix_valid("/"));
	assert_true(fwd_prefix_valid("/eng"));
	assert_true(fwd_prefix_valid("/a/b-c"));
	assert_false(fwd_prefix_valid("/eng/"));
	assert_false(fwd_prefix_valid("eng"));
	assert_false(fwd_prefix_valid("/a/../b"));
	assert_false(fwd_prefix_valid("/a//b"));
	assert_false(fwd_prefix_valid("/a%2fb"));
	assert_false(fwd_prefix_valid("/a?b"));
	assert_true(fwd_prefix_match("/", "/x"));
	assert_true(fwd_prefix_match("/eng", "/eng"));
	assert_true(fwd_prefix_match("/eng", "/eng/x"));
	assert_false(fwd_prefix_match("/eng", "/engineering"));
	assert_false(fwd_prefix_match("/eng", "/"));
}

static void
test_fwdauth_FA09_header_values(void **state)
{
	(void)state;
	assert_true(fwd_header_safe("alice@example.com"));
	assert_false(fwd_header_safe("a\r\nSet-Cookie: x=1"));
	assert_false(fwd_header_safe("a,b"));
	assert_false(fwd_header_safe("a;b"));
	assert_false(fwd_header_safe("\xc3\xa9@example.com"));
	assert_false(fwd_header_safe(""));
	assert_true(fwd_amr_mfa("pwd otp mfa"));
	assert_true(fwd_amr_mfa("mfa"));
	assert_false(fwd_amr_mfa("pwd"));
	assert_false(fwd_amr_mfa("mfax pwd"));
	assert_false(fwd_amr_mfa(NULL));
}

/* ---- store and domain ---- */

static void
rules(struct fixture *f)
{
	const char *why = NULL;

	assert_int_equal(fwd_rule_set(f->db, "App.Example", "/", false, NULL,
			     false, T0, &why),
	    0);
	assert_int_equal(fwd_rule_set(f->db, "app.example", "/public", true, "",
			     false, T0, &why),
	    0);
	assert_int_equal(fwd_rule_set(f->db, "app.example", "/eng", false,
			     "eng, ops", false, T0, &why),
	    0);
	assert_int_equal(fwd_rule_set(f->db, "app.example", "/secure", false,
			     NULL, true, T0, &why),
	    0);
	assert_int_equal(fwd_rule_set(f->db, "other.example", "/", false, NULL,
			     false, T0, &why),
	    0);
}

static void
test_fwdauth_rules_store(void **state)
{
	struct fixture *f = *state;
	struct store_fwd_rule *v = NULL;
	const char *why = NULL;
	size_t n = 0;

	rules(f);
	assert_int_equal(store_fwd_rules_list(f->db, "app.example", &v, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0].path_prefix, "/");
	assert_string_equal(v[1].path_prefix, "/eng");
	assert_string_equal(v[1].groups, "eng ops");
	assert_string_equal(v[2].access, "public");
	assert_true(v[3].mfa);
	store_fwd_rules_free(v, n);
	/* Replaced, not duplicated. */
	assert_int_equal(fwd_rule_set(f->db, "app.example", "/eng", false,
			     "eng", true, T0, &why),
	    0);
	assert_int_equal(store_fwd_rules_list(f->db, NULL, &v, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(v[1].groups, "eng");
	assert_true(v[1].mfa);
	store_fwd_rules_free(v, n);
	assert_int_equal(store_fwd_host_declared(f->db, "app.example"), 0);
	assert_int_equal(
	    store_fwd_host_declared(f->db, "evil.example"), PC_ERR_NOT_FOUND);
	assert_int_equal(fwd_rule_remove(f->db, "other.example", "/", &why), 0);
	assert_int_equal(fwd_rule_remove(f->db, "other.example", "/", &why),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_fwd_host_declared(f->db, "other.example"), PC_ERR_NOT_FOUND);
	/* Refused shapes. */
	assert_int_equal(fwd_rule_set(f->db, "app.example", "/x/", false, NULL,
			     false, T0, &why),
	    PC_ERR_INVALID);
	assert_int_equal(fwd_rule_set(f->db, "app.example", "/x", true, "eng",
			     false, T0, &why),
	    PC_ERR_INVALID);
	assert_int_equal(fwd_rule_set(f->db, "app.example", "/x", true, NULL,
			     true, T0, &why),
	    PC_ERR_INVALID);
	assert_int_equal(fwd_rule_set(f->db, "app.example", "/x", false,
			     "a,b\r\nc", false, T0, &why),
	    PC_ERR_INVALID);
	assert_int_equal(fwd_rule_set(f->db, "user@app.example", "/", false,
			     NULL, false, T0, &why),
	    PC_ERR_INVALID);
}

/* The state a browser holds and its hash. */
struct browser {
	char state[64];
	char hash[PC_SHA256_HEX_LEN + 1];
};

/* A code for rd, bound to b, from alice's session; the code itself. */
static void
issue(struct fixture *f, const char *rd, struct browser *b, char code[64])
{
	char *loc = NULL;
	const char *p;

	fwd_state_new(b->state, b->hash);
	assert_int_equal(
	    fwd_code_issue(f->db, &f->s, rd, b->hash, T0, &loc), 0);
	p = strstr(loc, "?code=");
	assert_non_null(p);
	assert_int_equal(strlen(p + 6), FWD_TOKEN_LEN);
	snprintf(code, 64, "%s", p + 6);
	free(loc);
}

static void
test_fwdauth_FA06_codes(void **state)
{
	struct fixture *f = *state;
	struct browser b, other;
	struct fwd_login l;
	char code[64];
	char *loc = NULL;

	rules(f);
	/* FA-03: only https URLs of declared hosts get a code. */
	fwd_state_new(b.state, b.hash);
	assert_int_equal(fwd_code_issue(f->db, &f->s, "https://evil.example/",
			     b.hash, T0, &loc),
	    PC_ERR_INVALID);
	assert_int_equal(fwd_code_issue(f->db, &f->s, "http://app.example/",
			     b.hash, T0, &loc),
	    PC_ERR_INVALID);
	assert_int_equal(fwd_code_issue(f->db, &f->s, "https://app.example/",
			     "nothex", T0, &loc),
	    PC_ERR_INVALID);
	assert_null(loc);
	issue(f, "https://app.example/eng/x?y=1", &b, code);
	/* Another browser's state: refused, and the code is spent. */
	fwd_state_new(other.state, other.hash);
	assert_int_equal(fwd_callback(f->db, NULL, "app.example", code,
			     other.state, NULL, T0 + 1, &l),
	    PC_ERR_VERIFY);
	assert_int_equal(fwd_callback(f->db, NULL, "app.example", code, b.state,
			     NULL, T0 + 1, &l),
	    PC_ERR_VERIFY);
	/* Another host: refused. */
	issue(f, "https://app.example/", &b, code);
	assert_int_equal(fwd_callback(f->db, NULL, "other.example", code,
			     b.state, NULL, T0 + 1, &l),
	    PC_ERR_VERIFY);
	/* Expired: refused. */
	issue(f, "https://app.example/", &b, code);
	assert_int_equal(fwd_callback(f->db, NULL, "app.example", code, b.state,
			     NULL, T0 + FWD_CODE_TTL, &l),
	    PC_ERR_VERIFY);
	/* No state: refused. */
	issue(f, "https://app.example/", &b, code);
	assert_int_equal(fwd_callback(f->db, NULL, "app.example", code, NULL,
			     NULL, T0 + 1, &l),
	    PC_ERR_VERIFY);
	/* The right browser, host and time: a session, once. */
	issue(f, "https://app.example/eng/x?y=1", &b, code);
	assert_int_equal(fwd_callback(f->db, NULL, "App.Example:443", code,
			     b.state, NULL, T0 + 1, &l),
	    0);
	assert_string_equal(l.rd, "https://app.example/eng/x?y=1");
	assert_string_equal(l.user_id, f->alice.id);
	assert_int_equal(strlen(l.cookie), FWD_TOKEN_LEN);
	fwd_login_clear(&l);
	assert_int_equal(fwd_callback(f->db, NULL, "app.example", code, b.state,
			     NULL, T0 + 2, &l),
	    PC_ERR_VERIFY);
	/* The issuer session gone: no session from its code. */
	issue(f, "https://app.example/", &b, code);
	assert_int_equal(session_revoke(f->db, f->cookie), 0);
	assert_int_equal(fwd_callback(f->db, NULL, "app.example", code, b.state,
			     NULL, T0 + 1, &l),
	    PC_ERR_VERIFY);
}

/* A per-host session on host for alice; its cookie. */
static void
login(struct fixture *f, const char *host, char cookie[64])
{
	struct browser b;
	struct fwd_login l;
	char code[64], rd[128];

	snprintf(rd, sizeof(rd), "https://%s/", host);
	issue(f, rd, &b, code);
	assert_int_equal(
	    fwd_callback(f->db, NULL, host, code, b.state, NULL, T0 + 1, &l),
	    0);
	snprintf(cookie, 64, "%s", l.cookie);
	fwd_login_clear(&l);
}

static int
status(struct fixture *f, const char *host, const char *uri, const char *cookie,
    int64_t now)
{
	struct fwd_verdict v;
	int st;

	assert_int_equal(
	    fwd_verify(f->db, NULL, host, uri, cookie, now, &v), 0);
	st = v.status;
	fwd_verdict_clear(&v);
	return st;
}

static void
test_fwdauth_FA05_verify(void **state)
{
	struct fixture *f = *state;
	struct fwd_verdict v;
	char cookie[64], other[64];

	rules(f);
	login(f, "app.example", cookie);
	login(f, "other.example", other);
	assert_int_equal(fwd_verify(f->db, NULL, "app.example", "/eng/x?q",
			     cookie, T0 + 2, &v),
	    0);
	assert_int_equal(v.status, 200);
	assert_string_equal(v.user_id, f->alice.id);
	assert_string_equal(v.email, "alice@example.com");
	assert_string_equal(v.groups, "eng");
	fwd_verdict_clear(&v);
	/* FA-05: mfa wanted, a password-only session. */
	assert_int_equal(fwd_verify(f->db, NULL, "app.example", "/secure",
			     cookie, T0 + 2, &v),
	    0);
	assert_int_equal(v.status, 403);
	assert_string_equal(v.why, "mfa");
	fwd_verdict_clear(&v);
	/* Public, no cookie; the rest without one is 401. */
	assert_int_equal(status(f, "app.example", "/public/a", NULL, T0), 200);
	assert_int_equal(status(f, "app.example", "/", NULL, T0), 401);
	assert_int_equal(
	    status(f, "app.example", "/public/../eng", NULL, T0), 401);
	assert_int_equal(status(f, "app.example", "/", "garbage", T0), 401);
	/* FA-02: an undeclared or malformed host is refused. */
	assert_int_equal(status(f, "evil.example", "/", cookie, T0 + 2), 403);
	assert_int_equal(status(f, NULL, "/", cookie, T0 + 2), 403);
	assert_int_equal(
	    status(f, "app.example", "/a%2fb", cookie, T0 + 2), 403);
	/* Bound to its host. */
	assert_int_equal(status(f, "other.example", "/", cookie, T0 + 2), 401);
	assert_int_equal(status(f, "other.example", "/", other, T0 + 2), 200);
	/* FA-05: a session signed in with a second factor passes the mfa
	 * rule. */
	{
		struct session s2;
		char c2[64], code[64], host_cookie[64];
		char *loc = NULL;
		struct browser b;
		struct fwd_login l;

		assert_int_equal(
		    session_create(f->db, NULL, f->alice.id, "192.0.2.1", "ua",
			"pwd otp mfa", T0, c2, &s2),
		    0);
		fwd_state_new(b.state, b.hash);
		assert_int_equal(
		    fwd_code_issue(f->db, &s2, "https://app.example/secure",
			b.hash, T0, &loc),
		    0);
		snprintf(code, sizeof(code), "%s", strstr(loc, "?code=") + 6);
		free(loc);
		assert_int_equal(fwd_callback(f->db, NULL, "app.example", code,
				     b.state, NULL, T0 + 1, &l),
		    0);
		snprintf(host_cookie, sizeof(host_cookie), "%s", l.cookie);
		fwd_login_clear(&l);
		assert_int_equal(
		    status(f, "app.example", "/secure", host_cookie, T0 + 2),
		    200);
		session_clear(&s2);
	}
	/* FA-05: the idle limit (30 min by default), kept alive by use: a
	 * request after 20 minutes moves both sessions on. */
	assert_int_equal(status(f, "app.example", "/", cookie, T0 + 1200), 200);
	assert_int_equal(status(f, "app.example", "/", cookie, T0 + 2400), 200);
	assert_int_equal(
	    status(f, "other.example", "/", other, T0 + 4300), 401);
	assert_int_equal(status(f, "app.example", "/", cookie, T0 + 4300), 401);
}

static void
test_fwdauth_FA08_logout_and_revocation(void **state)
{
	struct fixture *f = *state;
	char cookie[64], other[64];
	char *user = NULL;
	int64_t n = 0;

	rules(f);
	login(f, "app.example", cookie);
	login(f, "other.example", other);
	/* Another host's logout does not end this one. */
	assert_int_equal(fwd_logout(f->db, "other.example", cookie, &user),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(fwd_logout(f->db, "app.example", cookie, &user), 0);
	assert_string_equal(user, f->alice.id);
	free(user);
	assert_int_equal(status(f, "app.example", "/", cookie, T0 + 2), 401);
	assert_int_equal(status(f, "other.example", "/", other, T0 + 2), 200);
	/* A disabled user is nobody, even if a session row were left. */
	{
		struct db_conn *c;

		assert_int_equal(db_conn(f->db, &c), 0);
		assert_int_equal(
		    db_exec(c, "UPDATE users SET disabled_at = 1"), 0);
		assert_int_equal(
		    status(f, "other.example", "/", other, T0 + 2), 401);
		assert_int_equal(
		    db_exec(c, "UPDATE users SET disabled_at = NULL"), 0);
		assert_int_equal(
		    status(f, "other.example", "/", other, T0 + 2), 200);
	}
	/* SS-07: the user's sessions revoked: every host's ends with them,
	 * and the purge takes the orphan. */
	assert_int_equal(session_revoke_user(f->db, f->alice.id, NULL), 0);
	assert_int_equal(status(f, "other.example", "/", other, T0 + 3), 401);
	assert_int_equal(store_fwd_purge(f->db, T0 + 3, 1800, &n), 0);
	assert_int_equal(n, 1);
}

static void
test_fwdauth_SS01_rotation_and_purge(void **state)
{
	struct fixture *f = *state;
	struct browser b;
	struct fwd_login l;
	char code[64], first[64];
	int64_t n = 0;

	rules(f);
	login(f, "app.example", first);
	/* A new sign-in on the host replaces the browser's old session. */
	issue(f, "https://app.example/", &b, code);
	assert_int_equal(fwd_callback(f->db, NULL, "app.example", code, b.state,
			     first, T0 + 5, &l),
	    0);
	assert_string_not_equal(l.cookie, first);
	assert_int_equal(status(f, "app.example", "/", first, T0 + 6), 401);
	assert_int_equal(status(f, "app.example", "/", l.cookie, T0 + 6), 200);
	fwd_login_clear(&l);
	/* Codes left behind expire and are purged; the live session stays
	 * until idle. */
	issue(f, "https://app.example/", &b, code);
	assert_int_equal(store_fwd_purge(f->db, T0 + 30, 1800, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    store_fwd_purge(f->db, T0 + FWD_CODE_TTL, 1800, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_fwd_purge(f->db, T0 + 1806, 1800, &n), 0);
	assert_int_equal(n, 1);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fwdauth_FA02_host_norm),
		cmocka_unit_test(test_fwdauth_FA03_rd_parse),
		cmocka_unit_test(test_fwdauth_FA04_path_norm),
		cmocka_unit_test(test_fwdauth_FA09_header_values),
		T(test_fwdauth_rules_store),
		T(test_fwdauth_FA06_codes),
		T(test_fwdauth_FA05_verify),
		T(test_fwdauth_FA08_logout_and_revocation),
		T(test_fwdauth_SS01_rotation_and_purge),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
