/* req: header lookup, lazy query/form/cookie/JSON parsing on a request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/http.h"

static const struct http_limits lim = { 8, 256, 4096, 8 };

static void
add_header(struct req *r, const char *name, const char *value)
{
	assert_int_equal(kvlist_push(&r->headers, 64, xstrdup(name),
			     strlen(name), xstrdup(value), strlen(value)),
	    0);
}

static void
setup_req(struct req *r)
{
	req_init(r);
	r->limits = &lim;
}

static void
test_req_header_case_insensitive_and_duplicates(void **state)
{
	struct req r;
	const char *v;

	(void)state;
	setup_req(&r);
	add_header(&r, "Content-Type", "text/plain");
	add_header(&r, "X-A", "1");
	add_header(&r, "x-a", "2");
	assert_int_equal(req_header(&r, "content-type", &v), 0);
	assert_string_equal(v, "text/plain");
	assert_int_equal(req_header(&r, "X-A", &v), PC_ERR_DUPLICATE);
	assert_null(v);
	assert_int_equal(req_header(&r, "X-B", &v), PC_ERR_NOT_FOUND);
	assert_null(v);
	req_free(&r);
}

static void
test_req_cookies_merge_headers_under_one_cap(void **state)
{
	struct req r;
	const struct kvlist *c;
	const struct kv *kv;

	(void)state;
	setup_req(&r);
	add_header(&r, "Cookie", "a=1; b=2");
	add_header(&r, "Cookie", "c=3; a=4");
	assert_int_equal(req_cookies(&r, &c), 0);
	assert_int_equal(c->n, 4);
	/* The same name in two headers is a duplicate, never last-wins. */
	assert_int_equal(kvlist_get(c, "a", &kv), PC_ERR_DUPLICATE);
	assert_int_equal(kvlist_get(c, "c", &kv), 0);
	assert_string_equal(kv->value, "3");
	req_free(&r);
}

static void
test_req_HT05_cookies_over_cap_across_headers(void **state)
{
	struct req r;
	const struct kvlist *c;

	(void)state;
	setup_req(&r);
	add_header(&r, "Cookie", "a=1; b=2; c=3; d=4; e=5");
	add_header(&r, "Cookie", "f=6; g=7; h=8; i=9");
	assert_int_equal(req_cookies(&r, &c), PC_ERR_TOO_LARGE);
	req_free(&r);
}

static void
test_req_form_needs_urlencoded_content_type(void **state)
{
	struct req r;
	const struct kvlist *f;

	(void)state;
	setup_req(&r);
	r.body.max = 1024;
	assert_int_equal(buf_puts(&r.body, "a=1&b=x+y"), 0);
	r.content_type = "text/plain";
	assert_int_equal(req_form(&r, &f), PC_ERR_UNSUPPORTED);
	r.content_type = "application/x-www-form-urlencoded; charset=UTF-8";
	assert_int_equal(req_form(&r, &f), 0);
	assert_string_equal(kvlist_value(f, "b"), "x y");
	req_free(&r);
}

static void
test_req_query_and_json(void **state)
{
	struct req r;
	const struct kvlist *q;
	json_t *j = NULL;

	(void)state;
	setup_req(&r);
	r.query = STR_LIT("x=1&y=%41");
	assert_int_equal(req_query(&r, &q), 0);
	assert_string_equal(kvlist_value(q, "y"), "A");
	r.body.max = 1024;
	assert_int_equal(buf_puts(&r.body, "{\"a\":[1]}"), 0);
	r.content_type = "text/plain";
	assert_int_equal(req_json(&r, &j), PC_ERR_UNSUPPORTED);
	r.content_type = "application/json";
	assert_int_equal(req_json(&r, &j), 0);
	assert_non_null(json_object_get(j, "a"));
	json_decref(j);
	req_free(&r);
}

static void
test_req_wants_html(void **state)
{
	struct req r;

	(void)state;
	setup_req(&r);
	assert_false(req_wants_html(&r));
	add_header(&r, "Accept", "text/html,application/xhtml+xml");
	assert_true(req_wants_html(&r));
	req_free(&r);
}

static void
after_count(void *arg)
{
	(*(int *)arg)++;
}

/* RS-01: work after the answer runs exactly once, however the request ends. */
static void
test_req_after_runs_once(void **state)
{
	struct req r;
	int a = 0, b = 0;

	(void)state;
	req_init(&r);
	req_after(&r, after_count, &a);
	assert_int_equal(a, 0);
	req_run_after(&r); /* the server, once the answer is out */
	assert_int_equal(a, 1);
	req_run_after(&r);
	req_free(&r);
	assert_int_equal(a, 1);
	/* A request that ends otherwise still releases its work. */
	req_init(&r);
	req_after(&r, after_count, &b);
	req_free(&r);
	assert_int_equal(b, 1);
	/* No work: nothing runs. */
	req_init(&r);
	req_run_after(&r);
	req_free(&r);
}

/* A nested step's state that its step never took back is released. */
static void
test_req_nested_state_released_once(void **state)
{
	struct req r;
	int a = 0;

	(void)state;
	req_init(&r);
	r.nest_arg = &a;
	r.nest_free = after_count;
	req_free(&r);
	assert_int_equal(a, 1);
	assert_null(r.nest_arg);
	req_free(&r);
	assert_int_equal(a, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_req_header_case_insensitive_and_duplicates),
		cmocka_unit_test(test_req_cookies_merge_headers_under_one_cap),
		cmocka_unit_test(test_req_HT05_cookies_over_cap_across_headers),
		cmocka_unit_test(test_req_form_needs_urlencoded_content_type),
		cmocka_unit_test(test_req_query_and_json),
		cmocka_unit_test(test_req_wants_html),
		cmocka_unit_test(test_req_after_runs_once),
		cmocka_unit_test(test_req_nested_state_released_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
