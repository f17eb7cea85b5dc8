/*
 * json_in_parse: JSON request bodies (SECURITY.md HT-05).
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

static int
parse_n(const char *s, size_t len, json_t **j)
{
	return json_in_parse(s, len, &lim, j);
}

static void
expect_n(const char *s, size_t len, int want)
{
	json_t *j = (json_t *)&lim;

	assert_int_equal(parse_n(s, len, &j), want);
	if (want != 0)
		assert_null(j);
	else
		assert_non_null(j);
	json_decref(j);
}

static void
expect(const char *s, int want)
{
	expect_n(s, strlen(s), want);
}

/* prefix, then open n times, mid, close n times, suffix. */
static char *
nest(const char *prefix, char open, size_t n, const char *mid, char close,
    const char *suffix)
{
	size_t pl = strlen(prefix), ml = strlen(mid), sl = strlen(suffix);
	char *s = malloc(pl + 2 * n + ml + sl + 1), *p;

	assert_non_null(s);
	p = s;
	memcpy(p, prefix, pl);
	p += pl;
	memset(p, open, n);
	p += n;
	memcpy(p, mid, ml);
	p += ml;
	memset(p, close, n);
	p += n;
	memcpy(p, suffix, sl + 1);
	return s;
}

static void
test_json_in_object_and_array(void **state)
{
	json_t *j;

	assert_int_equal(
	    parse_n("{\"a\":1,\"b\":[true,null,\"x\"]}", 27, &j), 0);
	assert_true(json_is_object(j));
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	json_decref(j);
	expect("[]", 0);
	expect("{}", 0);
	expect(" \r\n\t{ } \n", 0);
	expect("[\"\xe2\x82\xac\", \"\\u20ac\", \"\\ud83d\\udd12\"]", 0);
}

static void
test_json_in_top_level_scalar_rejected(void **state)
{
	expect("1", PC_ERR_INVALID);
	expect("\"s\"", PC_ERR_INVALID);
	expect("null", PC_ERR_INVALID);
	expect("true", PC_ERR_INVALID);
	expect("-0.5e3", PC_ERR_INVALID);
}

static void
test_json_in_empty_inputs(void **state)
{
	json_t *j = (json_t *)&lim;

	expect_n("", 0, PC_ERR_INVALID);
	expect(" ", PC_ERR_INVALID);
	assert_int_equal(json_in_parse(NULL, 0, &lim, &j), PC_ERR_INVALID);
	assert_null(j);
	j = (json_t *)&lim;
	assert_int_equal(json_in_parse("{}", 2, NULL, &j), PC_ERR_INTERNAL);
	assert_null(j);
}

static void
test_json_in_HT05_depth_limit(void **state)
{
	char *s;

	s = nest("", '[', 16, "1", ']', "");
	expect(s, 0);
	free(s);
	s = nest("", '[', 17, "1", ']', "");
	expect(s, PC_ERR_TOO_LARGE);
	free(s);
	/* Objects and arrays count alike. */
	s = nest("", '[', 8,
	    "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":"
	    "{\"h\":{}}}}}}}}}",
	    ']', "");
	expect(s, PC_ERR_TOO_LARGE);
	free(s);
	/* Siblings do not add up: depth, not count. */
	expect("[[[[]]],[[[]]],{\"a\":[[[]]]},"
	       "[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]",
	    0);
}

static void
test_json_in_HT05_deep_nesting_10k(void **state)
{
	char *s;

	s = nest("", '[', 10000, "", ']', "");
	expect(s, PC_ERR_TOO_LARGE);
	free(s);
	/* Unclosed, as an attacker would send it. */
	s = nest("", '[', 10000, "", ' ', "");
	expect(s, PC_ERR_TOO_LARGE);
	free(s);
	s = nest("", '{', 10000, "", ' ', "");
	expect(s, PC_ERR_TOO_LARGE);
	free(s);
	s = nest("", '[', 100000, "", ']', "");
	expect(s, PC_ERR_TOO_LARGE);
	free(s);
}

static void
test_json_in_HT05_brackets_in_strings_not_counted(void **state)
{
	char *s;

	s = nest("[\"", '[', 10000, "", '{', "\"]");
	expect(s, 0);
	free(s);
	/* An escaped quote does not end the string ... */
	s = nest("[\"\\\"", '[', 100, "", '{', "\"]");
	expect(s, 0);
	free(s);
	/* ... but an escaped backslash before a quote does. */
	s = nest("[\"\\\\\",", '[', 17, "", ']', "]");
	expect(s, PC_ERR_TOO_LARGE);
	free(s);
	/* A string key full of braces, then real nesting. */
	s = nest("{\"}}}}}}}}}}}}}}}}}}}}\":", '[', 16, "", ']', "}");
	expect(s, PC_ERR_TOO_LARGE);
	free(s);
}

static void
test_json_in_duplicate_members_rejected(void **state)
{
	expect("{\"a\":1,\"a\":2}", PC_ERR_INVALID);
	expect("{\"client_id\":\"x\",\"b\":1,\"client_id\":\"x\"}",
	    PC_ERR_INVALID);
	expect("[{\"x\":{\"a\":1,\"a\":1}}]", PC_ERR_INVALID);
	/* The same name written with an escape is the same name. */
	expect("{\"a\":1,\"\\u0061\":2}", PC_ERR_INVALID);
	/* Same name in different objects is fine. */
	expect("[{\"a\":1},{\"a\":2}]", 0);
}

static void
test_json_in_nul_rejected(void **state)
{
	expect("{\"a\":\"x\\u0000y\"}", PC_ERR_INVALID);
	expect("{\"a\\u0000\":1}", PC_ERR_INVALID);
	expect_n("{\"a\":\"x\0y\"}", 11, PC_ERR_INVALID);
	expect_n("{}\0", 3, PC_ERR_INVALID);
	expect_n("\0{}", 3, PC_ERR_INVALID);
}

static void
test_json_in_trailing_garbage_rejected(void **state)
{
	expect("{} x", PC_ERR_INVALID);
	expect("{}{}", PC_ERR_INVALID);
	expect("[1],", PC_ERR_INVALID);
	expect("[1]]", PC_ERR_INVALID);
	expect("{}\n// comment", PC_ERR_INVALID);
}

static void
test_json_in_malformed_rejected(void **state)
{
	expect("{", PC_ERR_INVALID);
	expect("]", PC_ERR_INVALID);
	expect("]]]]]][", PC_ERR_INVALID);
	expect("{\"a\":}", PC_ERR_INVALID);
	expect("{\"a\":1,}", PC_ERR_INVALID);
	expect("[1,]", PC_ERR_INVALID);
	expect("{'a':1}", PC_ERR_INVALID);
	expect("{a:1}", PC_ERR_INVALID);
	expect("[NaN]", PC_ERR_INVALID);
	expect("[01]", PC_ERR_INVALID);
	expect("[\"unterminated]", PC_ERR_INVALID);
	expect("[\"bad escape \\x41\"]", PC_ERR_INVALID);
	expect("[\"raw\nnewline\"]", PC_ERR_INVALID);
	expect("[99999999999999999999999999]", PC_ERR_INVALID);
	expect("[1e99999]", PC_ERR_INVALID);
	expect("\xef\xbb\xbf{}", PC_ERR_INVALID); /* BOM */
}

static void
test_json_in_invalid_utf8_rejected(void **state)
{
	expect("[\"\xff\"]", PC_ERR_INVALID);
	expect("[\"\xc0\xaf\"]", PC_ERR_INVALID);     /* overlong */
	expect("[\"\xe0\x80\xaf\"]", PC_ERR_INVALID); /* overlong */
	expect("[\"\xed\xa0\x80\"]", PC_ERR_INVALID); /* surrogate */
	expect("[\"\xe2\x82\"]", PC_ERR_INVALID);     /* truncated */
	expect("[\"\\ud800\"]", PC_ERR_INVALID);      /* lone */
	expect("[\"\\udc00\\ud800\"]", PC_ERR_INVALID);
	expect("{\"\xff\":1}", PC_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_in_object_and_array),
		cmocka_unit_test(test_json_in_top_level_scalar_rejected),
		cmocka_unit_test(test_json_in_empty_inputs),
		cmocka_unit_test(test_json_in_HT05_depth_limit),
		cmocka_unit_test(test_json_in_HT05_deep_nesting_10k),
		cmocka_unit_test(
		    test_json_in_HT05_brackets_in_strings_not_counted),
		cmocka_unit_test(test_json_in_duplicate_members_rejected),
		cmocka_unit_test(test_json_in_nul_rejected),
		cmocka_unit_test(test_json_in_trailing_garbage_rejected),
		cmocka_unit_test(test_json_in_malformed_rejected),
		cmocka_unit_test(test_json_in_invalid_utf8_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
