/*
 * router: methods, exact path matching and the Allow set (SECURITY.md HT-07).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/http.h"

static void
h_dummy(struct req *r, struct resp *w)
{
}

static const struct route routes[] = {
	{ .path = "/token", .methods = HTTP_POST, .handler = h_dummy },
	{ .path = "/authorize",
	    .methods = HTTP_GET | HTTP_POST,
	    .handler = h_dummy },
	{ .path = "/jwks", .methods = HTTP_GET, .handler = h_dummy },
	/* One path split over two entries. */
	{ .path = "/userinfo", .methods = HTTP_GET, .handler = h_dummy },
	{ .path = "/userinfo", .methods = HTTP_POST, .handler = h_dummy },
	{ .path = "/", .methods = HTTP_GET, .handler = h_dummy },
};

static const struct router rt = { routes, PC_NELEM(routes), NULL };

static const struct route *
match(const char *path, enum http_method m, unsigned *allowed)
{
	*allowed = 0xdead;
	return router_match(&rt, str_from(path), m, allowed);
}

static void
test_router_method_parse(void **state)
{
	assert_int_equal(http_method_parse("GET"), HTTP_GET);
	assert_int_equal(http_method_parse("HEAD"), HTTP_HEAD);
	assert_int_equal(http_method_parse("POST"), HTTP_POST);
	assert_int_equal(http_method_parse("PUT"), HTTP_PUT);
	assert_int_equal(http_method_parse("DELETE"), HTTP_DELETE);
	assert_int_equal(http_method_parse("PATCH"), HTTP_PATCH);
	assert_int_equal(http_method_parse("OPTIONS"), HTTP_OPTIONS);
}

static void
test_router_HT07_unknown_methods_are_other(void **state)
{
	assert_int_equal(http_method_parse("TRACE"), HTTP_OTHER);
	assert_int_equal(http_method_parse("TRACK"), HTTP_OTHER);
	assert_int_equal(http_method_parse("CONNECT"), HTTP_OTHER);
	/* Methods are case-sensitive. */
	assert_int_equal(http_method_parse("get"), HTTP_OTHER);
	assert_int_equal(http_method_parse("Post"), HTTP_OTHER);
	assert_int_equal(http_method_parse("GET "), HTTP_OTHER);
	assert_int_equal(http_method_parse("GETX"), HTTP_OTHER);
	assert_int_equal(http_method_parse("GE"), HTTP_OTHER);
	assert_int_equal(http_method_parse(""), HTTP_OTHER);
	assert_int_equal(http_method_parse(NULL), HTTP_OTHER);
}

static void
test_router_method_name(void **state)
{
	static const char *names[] = {
		"GET",
		"HEAD",
		"POST",
		"PUT",
		"DELETE",
		"PATCH",
		"OPTIONS",
	};

	for (size_t i = 0; i < PC_NELEM(names); i++)
		assert_string_equal(
		    http_method_name(http_method_parse(names[i])), names[i]);
	assert_string_equal(http_method_name(HTTP_OTHER), "OTHER");
	assert_string_equal(http_method_name(0), "OTHER");
	assert_string_equal(http_method_name(HTTP_GET | HTTP_POST), "OTHER");
}

static void
test_router_match_exact(void **state)
{
	const struct route *r;
	unsigned allowed;

	r = match("/token", HTTP_POST, &allowed);
	assert_ptr_equal(r, &routes[0]);
	assert_int_equal(allowed, HTTP_POST);
	r = match("/authorize", HTTP_GET, &allowed);
	assert_ptr_equal(r, &routes[1]);
	r = match("/authorize", HTTP_POST, &allowed);
	assert_ptr_equal(r, &routes[1]);
	r = match("/", HTTP_GET, &allowed);
	assert_ptr_equal(r, &routes[5]);
	/* The entry that has the method, not just the first with the path. */
	r = match("/userinfo", HTTP_POST, &allowed);
	assert_ptr_equal(r, &routes[4]);
	r = match("/userinfo", HTTP_GET, &allowed);
	assert_ptr_equal(r, &routes[3]);
}

static void
test_router_head_allowed_with_get(void **state)
{
	const struct route *r;
	unsigned allowed;

	r = match("/jwks", HTTP_HEAD, &allowed);
	assert_ptr_equal(r, &routes[2]);
	assert_int_equal(allowed, HTTP_GET | HTTP_HEAD);
	/* Not where only POST is. */
	r = match("/token", HTTP_HEAD, &allowed);
	assert_null(r);
	assert_int_equal(allowed, HTTP_POST);
}

static void
test_router_HT07_wrong_method_405_allow(void **state)
{
	char allow[64];
	unsigned allowed;

	assert_null(match("/token", HTTP_GET, &allowed));
	assert_int_equal(allowed, HTTP_POST);
	router_allow_header(allowed, allow, sizeof(allow));
	assert_string_equal(allow, "POST");

	assert_null(match("/jwks", HTTP_DELETE, &allowed));
	router_allow_header(allowed, allow, sizeof(allow));
	assert_string_equal(allow, "GET, HEAD");

	/* The union over every entry of the path. */
	assert_null(match("/userinfo", HTTP_PUT, &allowed));
	assert_int_equal(allowed, HTTP_GET | HTTP_HEAD | HTTP_POST);
	router_allow_header(allowed, allow, sizeof(allow));
	assert_string_equal(allow, "GET, HEAD, POST");
}

static void
test_router_HT07_trace_never_matches(void **state)
{
	static const struct route odd[] = {
		/* Even a table that names OTHER does not route it. */
		{ .path = "/x",
		    .methods = HTTP_GET | HTTP_OTHER,
		    .handler = h_dummy },
	};
	static const struct router ort = { odd, PC_NELEM(odd), NULL };
	char allow[64];
	unsigned allowed;

	assert_null(match("/authorize", http_method_parse("TRACE"), &allowed));
	assert_int_equal(allowed, HTTP_GET | HTTP_HEAD | HTTP_POST);
	assert_null(router_match(&ort, str_from("/x"), HTTP_OTHER, &allowed));
	assert_int_equal(allowed, HTTP_GET | HTTP_HEAD);
	router_allow_header(allowed | HTTP_OTHER, allow, sizeof(allow));
	assert_string_equal(allow, "GET, HEAD");
	/* Several bits at once is not a method. */
	assert_null(match("/authorize", HTTP_GET | HTTP_POST, &allowed));
	assert_null(match("/authorize", 0, &allowed));
}

static void
test_router_unknown_path_404(void **state)
{
	static const char *paths[] = {
		"/token/",
		"/TOKEN",
		"/Token",
		"/%74oken",
		"/tok",
		"/tokens",
		"token",
		"//token",
		"/./token",
		"/x/../token",
		"/token?x=1",
		"/token#",
		" /token",
		"/token ",
		"",
		"/jwks;x",
		"/userinfo/",
	};
	unsigned allowed;

	for (size_t i = 0; i < PC_NELEM(paths); i++) {
		assert_null(match(paths[i], HTTP_POST, &allowed));
		assert_int_equal(allowed, 0);
		assert_null(match(paths[i], HTTP_GET, &allowed));
		assert_int_equal(allowed, 0);
	}
}

static void
test_router_embedded_nul_not_truncated(void **state)
{
	unsigned allowed = 1;

	/* "/token\0x" must not be read as "/token". */
	assert_null(router_match(
	    &rt, (struct str){ "/token\0x", 8 }, HTTP_POST, &allowed));
	assert_int_equal(allowed, 0);
	assert_null(router_match(
	    &rt, (struct str){ "/token\0", 7 }, HTTP_POST, &allowed));
	/* A view shorter than its C string is compared by its length. */
	assert_null(router_match(
	    &rt, (struct str){ "/tokenX", 6 }, HTTP_GET, &allowed));
	assert_int_equal(allowed, HTTP_POST);
}

/* Issue 17: a path ending in '*' takes every path it begins, byte for
 * byte; nothing shorter, nothing decoded. */
static void
test_router_HT07_prefix_route(void **state)
{
	static const struct route pre[] = {
		{ .path = "/admin/v1/*",
		    .methods = HTTP_GET | HTTP_POST,
		    .handler = h_dummy },
		{ .path = "/admin", .methods = HTTP_GET, .handler = h_dummy },
	};
	static const struct router prt = { pre, PC_NELEM(pre), NULL };
	unsigned allowed = 0;

	assert_ptr_equal(
	    router_match(&prt, str_from("/admin/v1/users"), HTTP_GET, &allowed),
	    &pre[0]);
	assert_ptr_equal(
	    router_match(&prt, str_from("/admin/v1/"), HTTP_POST, &allowed),
	    &pre[0]);
	assert_ptr_equal(
	    router_match(&prt, str_from("/admin"), HTTP_GET, &allowed),
	    &pre[1]);
	assert_null(
	    router_match(&prt, str_from("/admin/v1"), HTTP_GET, &allowed));
	assert_int_equal(allowed, 0);
	assert_null(router_match(
	    &prt, str_from("/admin/v2/users"), HTTP_GET, &allowed));
	assert_null(router_match(
	    &prt, str_from("/%61dmin/v1/users"), HTTP_GET, &allowed));
	assert_null(router_match(
	    &prt, str_from("/ADMIN/v1/users"), HTTP_GET, &allowed));
	assert_null(
	    router_match(&prt, str_from("/admin/v1/x"), HTTP_DELETE, &allowed));
	assert_int_equal(allowed, HTTP_GET | HTTP_HEAD | HTTP_POST);
	assert_null(
	    router_match(&prt, (struct str){ NULL, 0 }, HTTP_GET, &allowed));
}

static void
test_router_empty_table(void **state)
{
	static const struct router empty = { NULL, 0, NULL };
	unsigned allowed = 1;

	assert_null(router_match(&empty, str_from("/"), HTTP_GET, &allowed));
	assert_int_equal(allowed, 0);
	assert_null(router_match(&rt, STR_NULL, HTTP_GET, &allowed));
	assert_int_equal(allowed, 0);
	assert_non_null(router_match(&rt, str_from("/"), HTTP_GET, NULL));
}

static void
test_router_allow_header_format(void **state)
{
	char allow[64];

	router_allow_header(0, allow, sizeof(allow));
	assert_string_equal(allow, "");
	router_allow_header(HTTP_OPTIONS | HTTP_GET, allow, sizeof(allow));
	assert_string_equal(allow, "GET, OPTIONS");
	router_allow_header(0xff, allow, sizeof(allow));
	assert_string_equal(
	    allow, "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
}

static void
test_router_allow_header_truncates_whole_names(void **state)
{
	char allow[16];

	memset(allow, 'Z', sizeof(allow));
	router_allow_header(HTTP_GET | HTTP_HEAD, allow, 10);
	assert_string_equal(allow, "GET, HEAD");
	router_allow_header(HTTP_GET | HTTP_HEAD, allow, 9);
	assert_string_equal(allow, "GET");
	router_allow_header(HTTP_GET, allow, 4);
	assert_string_equal(allow, "GET");
	router_allow_header(HTTP_GET, allow, 3);
	assert_string_equal(allow, "");
	memset(allow, 'Z', sizeof(allow));
	router_allow_header(HTTP_GET, allow, 1);
	assert_int_equal(allow[0], '\0');
	assert_int_equal(allow[1], 'Z');
	router_allow_header(HTTP_GET, allow, 0);
	assert_int_equal(allow[1], 'Z');
	router_allow_header(HTTP_GET, NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router_method_parse),
		cmocka_unit_test(test_router_HT07_unknown_methods_are_other),
		cmocka_unit_test(test_router_method_name),
		cmocka_unit_test(test_router_match_exact),
		cmocka_unit_test(test_router_head_allowed_with_get),
		cmocka_unit_test(test_router_HT07_wrong_method_405_allow),
		cmocka_unit_test(test_router_HT07_trace_never_matches),
		cmocka_unit_test(test_router_unknown_path_404),
		cmocka_unit_test(test_router_embedded_nul_not_truncated),
		cmocka_unit_test(test_router_empty_table),
		cmocka_unit_test(test_router_HT07_prefix_route),
		cmocka_unit_test(test_router_allow_header_format),
		cmocka_unit_test(
		    test_router_allow_header_truncates_whole_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
