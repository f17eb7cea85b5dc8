/*
 * form_parse and kvlist: urlencoded bodies and query strings
 * (SECURITY.md HT-05, AZ-09).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
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

/* Parses a C string literal (or len bytes of it). */
static int
parse_n(const char *s, size_t len, struct kvlist *l)
{
	return form_parse(s, len, &lim, l);
}

static int
parse(const char *s, struct kvlist *l)
{
	return parse_n(s, strlen(s), l);
}

/* A failed parse leaves the list empty, with nothing allocated. */
static void
expect_fail(const char *s, size_t len, int want)
{
	struct kvlist l = { NULL, 0, 0 };

	assert_int_equal(parse_n(s, len, &l), want);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.cap, 0);
	kvlist_free(&l);
}

static void
expect_invalid(const char *s)
{
	expect_fail(s, strlen(s), PC_ERR_INVALID);
}

/* Parses s and expects exactly one pair name=value. */
static void
expect_one(const char *s, const char *name, const char *value, size_t value_len)
{
	struct kvlist l = { NULL, 0, 0 };

	assert_int_equal(parse(s, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, name);
	assert_int_equal(l.v[0].name_len, strlen(name));
	assert_int_equal(l.v[0].value_len, value_len);
	assert_memory_equal(l.v[0].value, value, value_len);
	assert_int_equal(l.v[0].value[value_len], '\0');
	kvlist_free(&l);
}

static char *
repeat(const char *unit, size_t times)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * times + 1);

	assert_non_null(s);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * times] = '\0';
	return s;
}

static void
test_form_basic_pairs_in_order(void **state)
{
	struct kvlist l = { NULL, 0, 0 };

	assert_int_equal(
	    parse("grant_type=authorization_code&code=abc"
		  "&redirect_uri=https%3A%2F%2Fclient.example%2Fcb",
		&l),
	    0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "grant_type");
	assert_string_equal(l.v[0].value, "authorization_code");
	assert_string_equal(l.v[1].name, "code");
	assert_string_equal(l.v[1].value, "abc");
	assert_string_equal(l.v[2].name, "redirect_uri");
	assert_string_equal(l.v[2].value, "https://client.example/cb");
	assert_int_equal(l.v[2].value_len, strlen("https://client.example/cb"));
	assert_string_equal(kvlist_value(&l, "code"), "abc");
	kvlist_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	kvlist_free(&l); /* twice is harmless */
	kvlist_free(NULL);
}

static void
test_form_plus_is_space(void **state)
{
	expect_one("scope=openid+profile%20email", "scope",
	    "openid profile email", 20);
	expect_one("a+b=1", "a b", "1", 1);
	/* An encoded plus stays a plus. */
	expect_one("a=%2B", "a", "+", 1);
}

static void
test_form_encoded_delimiters_are_data(void **state)
{
	expect_one("a=%26b%3Dc", "a", "&b=c", 4);
	expect_one("a=b=c", "a", "b=c", 3);
	expect_one("a=%25", "a", "%", 1);
}

static void
test_form_piece_without_equals_is_empty_value(void **state)
{
	struct kvlist l = { NULL, 0, 0 };
	const struct kv *kv;

	assert_int_equal(parse("flag&x=1&y=", &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(kvlist_get(&l, "flag", &kv), 0);
	assert_string_equal(kv->value, "");
	assert_int_equal(kv->value_len, 0);
	assert_int_equal(kvlist_get(&l, "y", &kv), 0);
	assert_string_equal(kv->value, "");
	kvlist_free(&l);
}

static void
test_form_empty_pieces_skipped(void **state)
{
	struct kvlist l = { NULL, 0, 0 };

	assert_int_equal(parse("&&a=1&&&b=2&", &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "a");
	assert_string_equal(l.v[1].name, "b");
	kvlist_free(&l);
}

static void
test_form_empty_inputs(void **state)
{
	struct kvlist l = { NULL, 0, 0 };

	assert_int_equal(parse("", &l), 0);
	assert_int_equal(l.n, 0);
	kvlist_free(&l);
	assert_int_equal(form_parse(NULL, 0, &lim, &l), 0);
	assert_int_equal(l.n, 0);
	kvlist_free(&l);
	assert_int_equal(parse("&&&", &l), 0);
	assert_int_equal(l.n, 0);
	kvlist_free(&l);
	/* "=" is an empty name with an empty value, not nothing. */
	assert_int_equal(parse("=", &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].name_len, 0);
	kvlist_free(&l);
	/* No limits is a caller bug, not a pass. */
	assert_int_equal(form_parse("a=1", 3, NULL, &l), PC_ERR_INTERNAL);
	assert_int_equal(l.n, 0);
}

static void
test_form_pct_nul_rejected(void **state)
{
	expect_invalid("a=%00");
	expect_invalid("%00=1");
	expect_invalid("a=x%00y");
	/* A raw NUL inside the given length is no better. */
	expect_fail("a=1\0b=2", 7, PC_ERR_INVALID);
}

static void
test_form_pct_malformed_rejected(void **state)
{
	expect_invalid("a=%zz");
	expect_invalid("a=%4");
	expect_invalid("a=%");
	expect_invalid("a=%4g");
	expect_invalid("a=%g4");
	expect_invalid("a=%%41");
	expect_invalid("a=% 41");
	expect_invalid("a=%+4");
	expect_invalid("a=%-1");
	expect_invalid("%=1");
	expect_invalid("%zz");
	/* A later bad escape fails the whole form, not just that pair. */
	expect_invalid("a=1&b=2&c=%x1");
	/* The escape must not read past len: "%4" then a '1' outside. */
	expect_fail("a=%41", 4, PC_ERR_INVALID);
}

static void
test_form_pct_hex_case_insensitive(void **state)
{
	expect_one("a=%c3%a9%C3%A9", "a", "\xc3\xa9\xc3\xa9", 4);
}

static void
test_form_overlong_utf8_rejected(void **state)
{
	/* "/" smuggled as an overlong sequence. */
	expect_invalid("a=%C0%AF");
	expect_invalid("a=%C1%BF");
	expect_invalid("a=%E0%80%AF");
	expect_invalid("a=%F0%80%80%AF");
	/* Overlong NUL (modified UTF-8). */
	expect_invalid("a=%C0%80");
}

static void
test_form_invalid_utf8_rejected(void **state)
{
	expect_invalid("a=%FF");
	expect_invalid("a=%80");
	expect_invalid("a=%E2%82");	  /* truncated */
	expect_invalid("a=%ED%A0%80");	  /* surrogate U+D800 */
	expect_invalid("a=%F4%90%80%80"); /* above U+10FFFF */
	expect_invalid("n%FF=1");
	expect_invalid("a=\xff"); /* raw, not escaped */
	expect_invalid("a=\xc3");
}

static void
test_form_valid_utf8_accepted(void **state)
{
	expect_one("a=%E2%82%AC", "a", "\xe2\x82\xac", 3);
	expect_one("a=\xe2\x82\xac", "a", "\xe2\x82\xac", 3);
	expect_one("a=%F0%9F%94%92", "a", "\xf0\x9f\x94\x92", 4);
}

static void
test_form_control_chars_rejected(void **state)
{
	expect_invalid("a=%0A");
	expect_invalid("a=%0D%0ASet-Cookie:%20x=y");
	expect_invalid("a=%1B[31m");
	expect_invalid("a=%7F");
	expect_invalid("a=%01");
	expect_invalid("a%0A=1");
	expect_invalid("a=x\ry");
	expect_invalid("a=x\ny");
	/* Tab is the one allowed control character. */
	expect_one("a=x%09y", "a", "x\ty", 3);
}

static void
test_form_HT05_too_many_params(void **state)
{
	struct kvlist l = { NULL, 0, 0 };
	char *s;

	s = repeat("a=1&", 64);
	assert_int_equal(parse(s, &l), 0);
	assert_int_equal(l.n, 64);
	kvlist_free(&l);
	free(s);

	s = repeat("a=1&", 65);
	expect_fail(s, strlen(s), PC_ERR_TOO_LARGE);
	free(s);

	/* Bare names count as pairs too. */
	s = repeat("x&", 10000);
	expect_fail(s, strlen(s), PC_ERR_TOO_LARGE);
	free(s);

	/* Empty pieces do not. */
	s = repeat("&", 10000);
	assert_int_equal(parse(s, &l), 0);
	assert_int_equal(l.n, 0);
	kvlist_free(&l);
	free(s);
}

static void
test_form_HT05_huge_name_rejected(void **state)
{
	struct kvlist l = { NULL, 0, 0 };
	char *name, *s;
	size_t n;

	name = repeat("n", 256);
	assert_int_equal(parse(name, &l), 0);
	assert_int_equal(l.v[0].name_len, 256);
	kvlist_free(&l);
	free(name);

	name = repeat("n", 257);
	n = strlen(name) + 3;
	s = malloc(n + 1);
	assert_non_null(s);
	memcpy(s, name, n - 3);
	memcpy(s + n - 3, "=1", 3);
	expect_fail(s, n - 1, PC_ERR_TOO_LARGE);
	free(s);
	free(name);
}

static void
test_form_HT05_huge_value_rejected(void **state)
{
	struct kvlist l = { NULL, 0, 0 };
	char *v, *s;
	size_t vl;

	/* The cap is on decoded bytes: 4096 escapes are 4096 bytes. */
	v = repeat("%41", 4096);
	vl = strlen(v);
	s = malloc(vl + 3);
	assert_non_null(s);
	memcpy(s, "a=", 2);
	memcpy(s + 2, v, vl + 1);
	assert_int_equal(parse(s, &l), 0);
	assert_int_equal(l.v[0].value_len, 4096);
	kvlist_free(&l);
	free(s);
	free(v);

	v = repeat("A", 4097);
	vl = strlen(v);
	s = malloc(vl + 3);
	assert_non_null(s);
	memcpy(s, "a=", 2);
	memcpy(s + 2, v, vl + 1);
	expect_fail(s, vl + 2, PC_ERR_TOO_LARGE);
	free(s);
	free(v);

	/* One megabyte of value. */
	v = repeat("x", 1 << 20);
	v[0] = 'a';
	v[1] = '=';
	expect_fail(v, strlen(v), PC_ERR_TOO_LARGE);
	free(v);
}

static void
test_form_AZ09_duplicate_detected(void **state)
{
	struct kvlist l = { NULL, 0, 0 };
	const struct kv *kv = (const struct kv *)&l;

	assert_int_equal(parse("client_id=good&redirect_uri=https%3A%2F%2Fa"
			       "&client_id=evil",
			     &l),
	    0);
	assert_int_equal(l.n, 3); /* duplicates are kept ... */
	assert_int_equal(kvlist_get(&l, "client_id", &kv), PC_ERR_DUPLICATE);
	assert_null(kv); /* ... but never resolved to one */
	assert_null(kvlist_value(&l, "client_id"));
	assert_int_equal(kvlist_get(&l, "redirect_uri", &kv), 0);
	assert_string_equal(kv->value, "https://a");
	kvlist_free(&l);

	/* The same name spelled with an escape is the same name. */
	assert_int_equal(parse("client_id=a&client%5Fid=b", &l), 0);
	assert_int_equal(kvlist_get(&l, "client_id", &kv), PC_ERR_DUPLICATE);
	kvlist_free(&l);

	/* An empty repeat still counts. */
	assert_int_equal(parse("state=x&state", &l), 0);
	assert_int_equal(kvlist_get(&l, "state", &kv), PC_ERR_DUPLICATE);
	kvlist_free(&l);

	/* Names are case-sensitive: these are two parameters. */
	assert_int_equal(parse("State=1&state=2", &l), 0);
	assert_int_equal(kvlist_get(&l, "state", &kv), 0);
	assert_string_equal(kv->value, "2");
	kvlist_free(&l);
}

static void
test_form_get_not_found(void **state)
{
	struct kvlist l = { NULL, 0, 0 };
	const struct kv *kv = (const struct kv *)&l;

	assert_int_equal(parse("a=1&ab=2", &l), 0);
	assert_int_equal(kvlist_get(&l, "b", &kv), PC_ERR_NOT_FOUND);
	assert_null(kv);
	/* No prefix matching. */
	assert_int_equal(kvlist_get(&l, "abc", &kv), PC_ERR_NOT_FOUND);
	assert_int_equal(kvlist_get(&l, "", &kv), PC_ERR_NOT_FOUND);
	assert_null(kvlist_value(&l, "b"));
	kvlist_free(&l);
	assert_int_equal(kvlist_get(&l, "a", &kv), PC_ERR_NOT_FOUND);
}

static void
test_form_error_leaves_out_empty(void **state)
{
	struct kvlist l = { NULL, 0, 0 };

	/* Good pairs first, then a bad one: nothing is kept or leaked. */
	assert_int_equal(parse("a=1&b=2&c=3&d=%C0%AF", &l), PC_ERR_INVALID);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	assert_int_equal(parse("a=1&b=%ZZ", &l), PC_ERR_INVALID);
	assert_null(l.v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_basic_pairs_in_order),
		cmocka_unit_test(test_form_plus_is_space),
		cmocka_unit_test(test_form_encoded_delimiters_are_data),
		cmocka_unit_test(test_form_piece_without_equals_is_empty_value),
		cmocka_unit_test(test_form_empty_pieces_skipped),
		cmocka_unit_test(test_form_empty_inputs),
		cmocka_unit_test(test_form_pct_nul_rejected),
		cmocka_unit_test(test_form_pct_malformed_rejected),
		cmocka_unit_test(test_form_pct_hex_case_insensitive),
		cmocka_unit_test(test_form_overlong_utf8_rejected),
		cmocka_unit_test(test_form_invalid_utf8_rejected),
		cmocka_unit_test(test_form_valid_utf8_accepted),
		cmocka_unit_test(test_form_control_chars_rejected),
		cmocka_unit_test(test_form_HT05_too_many_params),
		cmocka_unit_test(test_form_HT05_huge_name_rejected),
		cmocka_unit_test(test_form_HT05_huge_value_rejected),
		cmocka_unit_test(test_form_AZ09_duplicate_detected),
		cmocka_unit_test(test_form_get_not_found),
		cmocka_unit_test(test_form_error_leaves_out_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
