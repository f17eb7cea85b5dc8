/*
 * cookie_parse: the Cookie request header (RFC 6265 §4.2.1, §5.4).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/http.h"

static const struct http_limits lim = {
	.max_params = 64,
	.max_name = 256,
	.max_value = 4096,
	.max_json_depth = 16,
};

static int
parse(const char *s, struct kvlist *l)
{
	return cookie_parse(s, strlen(s), &lim, l);
}

/* Parses s and expects exactly the n names/values given, in order. */
static void
expect_pairs(const char *s, size_t n, ...)
{
	struct kvlist l = { NULL, 0, 0 };
	va_list ap;

	assert_int_equal(parse(s, &l), 0);
	assert_int_equal(l.n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *name = va_arg(ap, const char *);
		const char *value = va_arg(ap, const char *);

		assert_string_equal(l.v[i].name, name);
		assert_int_equal(l.v[i].name_len, strlen(name));
		assert_string_equal(l.v[i].value, value);
		assert_int_equal(l.v[i].value_len, strlen(value));
	}
	va_end(ap);
	kvlist_free(&l);
}

static void
expect_none(const char *s)
{
	expect_pairs(s, 0);
}

static void
expect_too_large(const char *s)
{
	struct kvlist l = { NULL, 0, 0 };

	assert_int_equal(parse(s, &l), PC_ERR_TOO_LARGE);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
}

static char *
cookie_of(const char *name, char fill, size_t n)
{
	size_t nl = strlen(name);
	char *s = malloc(nl + 1 + n + 1);

	assert_non_null(s);
	memcpy(s, name, nl);
	s[nl] = '=';
	memset(s + nl + 1, fill, n);
	s[nl + 1 + n] = '\0';
	return s;
}

static void
test_cookie_basic_pairs(void **state)
{
	expect_pairs("sid=abc; csrf=def", 2, "sid", "abc", "csrf", "def");
	expect_pairs("a=1", 1, "a", "1");
	expect_pairs("__Host-pc_sid=Zm9v_-.~", 1, "__Host-pc_sid", "Zm9v_-.~");
}

static void
test_cookie_whitespace_tolerated(void **state)
{
	expect_pairs("a=1;b=2", 2, "a", "1", "b", "2");
	expect_pairs("  a = 1 ;\tb=2 ;  ", 2, "a", "1", "b", "2");
	expect_pairs("a=1;;; b=2", 2, "a", "1", "b", "2");
}

static void
test_cookie_empty_inputs(void **state)
{
	struct kvlist l = { NULL, 0, 0 };

	expect_none("");
	expect_none(";");
	expect_none(" ; ;\t");
	assert_int_equal(cookie_parse(NULL, 0, &lim, &l), 0);
	assert_int_equal(l.n, 0);
	kvlist_free(&l);
	/* An empty value is a cookie; an empty name is not. */
	expect_pairs("a=", 1, "a", "");
	expect_none("=1");
	expect_none(" =1");
}

static void
test_cookie_quotes_stripped(void **state)
{
	expect_pairs("a=\"xyz\"", 1, "a", "xyz");
	expect_pairs("a=\"\"", 1, "a", "");
	expect_pairs("a=\"x=y\"; b=2", 2, "a", "x=y", "b", "2");
	/* Unbalanced or inner quotes: malformed, skipped. */
	expect_pairs("a=\"x; b=2", 1, "b", "2");
	expect_pairs("a=x\"; b=2", 1, "b", "2");
	expect_none("a=\"");
	expect_none("a=\"x\"y\"");
	expect_none("a=\"\"\"");
	/* Quotes do not admit otherwise forbidden octets. */
	expect_none("a=\"x y\"");
	expect_none("a=\"x,y\"");
}

static void
test_cookie_malformed_pairs_skipped(void **state)
{
	expect_pairs("a=1; junk; b=2", 2, "a", "1", "b", "2");
	expect_pairs("a b=1; c=2", 1, "c", "2"); /* space in name */
	expect_pairs("a(b=1; c=2", 1, "c", "2"); /* separator in name */
	expect_pairs("a\"b=1; c=2", 1, "c", "2");
	expect_pairs("a=1 2; c=2", 1, "c", "2");      /* space in value */
	expect_pairs("a=x\\y; c=2", 1, "c", "2");     /* backslash */
	expect_pairs("a=\xc3\xa9; c=2", 1, "c", "2"); /* non-ASCII */
	expect_pairs("\xc3\xa9=1; c=2", 1, "c", "2");
	expect_pairs("a=\x7f; c=2", 1, "c", "2"); /* DEL */
	/* '=' in a value is a cookie-octet. */
	expect_pairs("a=b=c", 1, "a", "b=c");
}

static void
test_cookie_control_chars_skipped(void **state)
{
	struct kvlist l = { NULL, 0, 0 };

	expect_pairs("a=\x01; b=2", 1, "b", "2");
	expect_pairs("a=x\ty; b=2", 1, "b", "2");
	expect_pairs("a\x01=1; b=2", 1, "b", "2");
	/* A raw NUL inside the given length. */
	assert_int_equal(cookie_parse("a=1\0x; b=2", 10, &lim, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "b");
	kvlist_free(&l);
}

static void
test_cookie_injection_attempts(void **state)
{
	struct kvlist l = { NULL, 0, 0 };
	const struct kv *kv;

	/* Header splitting: CR/LF never reach a value. */
	expect_pairs("sid=abc\r\nSet-Cookie: sid=evil; x=1", 1, "x", "1");
	expect_none("sid=abc\nsid=evil");
	/* A comma-joined second cookie is one malformed pair, not two. */
	expect_none("sid=abc,sid=evil");
	expect_none("sid=abc, admin=1");
	/* No decoding: %3B is three bytes, not a separator. */
	expect_pairs("sid=a%3Bb%3D1", 1, "sid", "a%3Bb%3D1");
	/* Attributes sent back by a confused client are plain cookies. */
	expect_pairs("sid=abc; Path=/; HttpOnly", 2, "sid", "abc", "Path", "/");

	/* Cookie tossing: a second sid is kept and reported. */
	assert_int_equal(parse("sid=good; other=1; sid=evil", &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(kvlist_get(&l, "sid", &kv), PC_ERR_DUPLICATE);
	assert_null(kv);
	assert_null(kvlist_value(&l, "sid"));
	assert_string_equal(kvlist_value(&l, "other"), "1");
	kvlist_free(&l);

	/* Names are case-sensitive. */
	assert_int_equal(parse("SID=a; sid=b", &l), 0);
	assert_int_equal(kvlist_get(&l, "sid", &kv), 0);
	assert_string_equal(kv->value, "b");
	kvlist_free(&l);
}

static void
test_cookie_HT05_too_many(void **state)
{
	struct kvlist l = { NULL, 0, 0 };
	char s[64 * 8 + 16];
	size_t len = 0;

	for (int i = 0; i < 64; i++)
		len += (size_t)snprintf(s + len, sizeof(s) - len, "c%d=1; ", i);
	assert_int_equal(parse(s, &l), 0);
	assert_int_equal(l.n, 64);
	kvlist_free(&l);
	snprintf(s + len, sizeof(s) - len, "x=1");
	expect_too_large(s);
	/* Skipped pairs are not counted. */
	snprintf(s + len, sizeof(s) - len, "junk; =1; a b=2");
	assert_int_equal(parse(s, &l), 0);
	assert_int_equal(l.n, 64);
	kvlist_free(&l);
}

static void
test_cookie_HT05_huge_name_or_value(void **state)
{
	struct kvlist l = { NULL, 0, 0 };
	char *s;

	s = cookie_of("a", 'v', 4096);
	assert_int_equal(parse(s, &l), 0);
	assert_int_equal(l.v[0].value_len, 4096);
	kvlist_free(&l);
	free(s);

	s = cookie_of("a", 'v', 4097);
	expect_too_large(s);
	free(s);

	/* Quotes are not counted against the cap. */
	s = cookie_of("a", '"', 4098);
	memset(s + 3, 'v', 4096);
	assert_int_equal(parse(s, &l), 0);
	assert_int_equal(l.v[0].value_len, 4096);
	kvlist_free(&l);
	free(s);

	s = malloc(258 + 3);
	assert_non_null(s);
	memset(s, 'n', 257);
	memcpy(s + 257, "=1", 3);
	expect_too_large(s);
	memset(s, 'n', 256);
	memcpy(s + 256, "=1", 3);
	assert_int_equal(parse(s, &l), 0);
	assert_int_equal(l.v[0].name_len, 256);
	kvlist_free(&l);
	free(s);
}

static void
test_cookie_error_leaves_out_empty(void **state)
{
	struct kvlist l = { NULL, 0, 0 };
	char *s;

	s = cookie_of("a=1; b=2; c", 'x', 5000);
	assert_int_equal(parse(s, &l), PC_ERR_TOO_LARGE);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.cap, 0);
	free(s);
	assert_int_equal(cookie_parse("a=1", 3, NULL, &l), PC_ERR_INTERNAL);
	assert_null(l.v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie_basic_pairs),
		cmocka_unit_test(test_cookie_whitespace_tolerated),
		cmocka_unit_test(test_cookie_empty_inputs),
		cmocka_unit_test(test_cookie_quotes_stripped),
		cmocka_unit_test(test_cookie_malformed_pairs_skipped),
		cmocka_unit_test(test_cookie_control_chars_skipped),
		cmocka_unit_test(test_cookie_injection_attempts),
		cmocka_unit_test(test_cookie_HT05_too_many),
		cmocka_unit_test(test_cookie_HT05_huge_name_or_value),
		cmocka_unit_test(test_cookie_error_leaves_out_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
