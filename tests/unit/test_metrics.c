/*
 * Unit tests for src/util/metrics.c (issue 17 item 2): counts from many
 * threads add up (the shards), the text exposition format 0.0.4 (HELP and
 * TYPE lines, label escaping, histograms with cumulative buckets, _sum and
 * _count), route labels fixed at start-up with a cap, unknown status codes
 * folded into "other", and a scrape larger than its buffer refused.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/metrics.h"
#include "util/util.h"

static char *
render(void)
{
	struct buf b;

	buf_init(&b, 4 * 1024 * 1024);
	assert_int_equal(metrics_render(&b), 0);
	return buf_steal(&b);
}

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define NT 8
#define PER 20000

static void *
hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER; i++) {
		metrics_token_issued(METRICS_GRANT_CLIENT_CREDENTIALS,
		    METRICS_KIND_SERVICE_ACCOUNT);
		metrics_alert(METRICS_ALERT_REFRESH_REUSE);
	}
	return NULL;
}

static void
test_metrics_threads_add_up(void **state)
{
	pthread_t t[NT];
	char want[160], *s;

	(void)state;
	metrics_reset();
	for (int i = 0; i < NT; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	s = render();
	snprintf(want, sizeof(want),
	    "portcullis_tokens_issued_total{grant=\"client_credentials\","
	    "client_kind=\"service_account\"} %d",
	    NT * PER);
	assert_true(has_line(s, want));
	snprintf(want, sizeof(want),
	    "portcullis_security_alerts_total{kind=\"refresh_reuse\"} %d",
	    NT * PER);
	assert_true(has_line(s, want));
	/* Fixed label sets are exported at 0 too (rate() needs the series). */
	assert_true(has_line(s,
	    "portcullis_tokens_issued_total{grant=\"authorization_code\","
	    "client_kind=\"agent\"} 0"));
	free(s);
}

static void
test_metrics_help_and_type(void **state)
{
	char *s;

	(void)state;
	metrics_reset();
	s = render();
	assert_non_null(strstr(s, "# HELP portcullis_http_requests_total "));
	assert_true(
	    has_line(s, "# TYPE portcullis_http_requests_total counter"));
	assert_true(has_line(
	    s, "# TYPE portcullis_http_request_duration_seconds histogram"));
	assert_true(has_line(s, "# TYPE portcullis_pwhash_queue_depth gauge"));
	assert_true(has_line(s, "portcullis_pwhash_queue_depth 0"));
	/* Every line ends with a newline, the last one included. */
	assert_int_equal(s[strlen(s) - 1], '\n');
	free(s);
}

static void
test_metrics_escaping(void **state)
{
	struct buf b;
	const char *l[4] = { "k", "a\"b\\c\nd", "e", "plain" };

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(metrics_put_family(&b, "x_total", "counter",
			     "back\\slash\nnew \"quoted\""),
	    0);
	assert_int_equal(metrics_put_sample(&b, "x_total", l, 2, 3), 0);
	assert_int_equal(metrics_put_sample(&b, "y", NULL, 0, 0.25), 0);
	assert_non_null(b.p);
	assert_string_equal(buf_cstr(&b),
	    "# HELP x_total back\\\\slash\\nnew \"quoted\"\n"
	    "# TYPE x_total counter\n"
	    "x_total{k=\"a\\\"b\\\\c\\nd\",e=\"plain\"} 3\n"
	    "y 0.25\n");
	buf_free(&b);
}

static void
test_metrics_histogram_cumulative(void **state)
{
	char *s;

	(void)state;
	metrics_reset();
	metrics_batch_size(1);
	metrics_batch_size(3);
	metrics_batch_size(3);
	metrics_batch_size(64);
	metrics_batch_size(100);
	s = render();
	assert_true(
	    has_line(s, "portcullis_store_batch_size_bucket{le=\"1\"} 1"));
	assert_true(
	    has_line(s, "portcullis_store_batch_size_bucket{le=\"2\"} 1"));
	assert_true(
	    has_line(s, "portcullis_store_batch_size_bucket{le=\"4\"} 3"));
	assert_true(
	    has_line(s, "portcullis_store_batch_size_bucket{le=\"32\"} 3"));
	assert_true(
	    has_line(s, "portcullis_store_batch_size_bucket{le=\"64\"} 4"));
	assert_true(
	    has_line(s, "portcullis_store_batch_size_bucket{le=\"+Inf\"} 5"));
	assert_true(has_line(s, "portcullis_store_batch_size_sum 171"));
	assert_true(has_line(s, "portcullis_store_batch_size_count 5"));
	free(s);

	/* Microseconds exported as seconds, bounds and sum alike. */
	metrics_pwhash_wait(1500);
	metrics_pwhash_wait(250000);
	s = render();
	assert_true(has_line(
	    s, "portcullis_pwhash_wait_seconds_bucket{le=\"0.001\"} 0"));
	assert_true(has_line(
	    s, "portcullis_pwhash_wait_seconds_bucket{le=\"0.0025\"} 1"));
	assert_true(has_line(
	    s, "portcullis_pwhash_wait_seconds_bucket{le=\"0.25\"} 2"));
	assert_true(has_line(s, "portcullis_pwhash_wait_seconds_sum 0.2515"));
	assert_true(has_line(s, "portcullis_pwhash_wait_seconds_count 2"));
	free(s);
}

static void
test_metrics_routes_and_status(void **state)
{
	static char paths[METRICS_ROUTES_MAX + 8][32];
	unsigned a, b, last = 0;
	char *s;

	(void)state;
	metrics_reset();
	a = metrics_route_id("/token");
	b = metrics_route_id("/token");
	assert_int_equal(a, b);
	assert_int_not_equal(a, METRICS_ROUTE_UNMATCHED);
	s = render();
	/* A route nothing answered yet has no series (sparse). */
	assert_null(strstr(s, "route=\"/token\""));
	free(s);
	metrics_http_request(a, 200, 3000);
	metrics_http_request(a, 299, 3000); /* not on the list: "other" */
	metrics_http_request(METRICS_ROUTE_UNMATCHED, 404, 10);
	metrics_http_request(100000, 404, 10); /* out of range: unmatched */
	s = render();
	assert_true(has_line(s,
	    "portcullis_http_requests_total{route=\"/token\",code=\"200\"} 1"));
	assert_true(has_line(s,
	    "portcullis_http_requests_total{route=\"/token\",code=\"other\"} "
	    "1"));
	assert_true(has_line(s,
	    "portcullis_http_requests_total{route=\"(unmatched)\",code=\"404\"}"
	    " 2"));
	assert_true(has_line(s,
	    "portcullis_http_request_duration_seconds_bucket{route=\"/token\","
	    "le=\"0.005\"} 2"));
	assert_true(has_line(s,
	    "portcullis_http_request_duration_seconds_count{route=\"/token\"} "
	    "2"));
	free(s);
	/* The route label set is capped: past it, the unmatched label. */
	for (size_t i = 0; i < PC_NELEM(paths); i++) {
		snprintf(paths[i], sizeof(paths[i]), "/many/%zu", i);
		last = metrics_route_id(paths[i]);
	}
	assert_int_equal(last, METRICS_ROUTE_UNMATCHED);
}

static void
test_metrics_render_capped(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 256);
	assert_int_equal(metrics_render(&b), PC_ERR_TOO_LARGE);
	buf_free(&b);
}

static void
test_metrics_label_maps(void **state)
{
	(void)state;
	assert_int_equal(metrics_grant_of("client_credentials"),
	    METRICS_GRANT_CLIENT_CREDENTIALS);
	assert_int_equal(
	    metrics_grant_of("urn:ietf:params:oauth:grant-type:jwt-bearer"),
	    METRICS_GRANT_JWT_BEARER);
	assert_int_equal(
	    metrics_grant_of("anything a client sent"), METRICS_GRANT_OTHER);
	assert_int_equal(metrics_grant_of(NULL), METRICS_GRANT_OTHER);
	assert_int_equal(
	    metrics_factor_of_amr("pwd otp mfa"), METRICS_FACTOR_OTP);
	assert_int_equal(
	    metrics_factor_of_amr("hwk mfa"), METRICS_FACTOR_PASSKEY);
	assert_int_equal(metrics_factor_of_amr("pwd"), METRICS_FACTOR_PASSWORD);
	assert_int_equal(metrics_factor_of_amr("pwdx"), METRICS_FACTOR_OTHER);
	assert_int_equal(metrics_factor_of_amr(NULL), METRICS_FACTOR_OTHER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_threads_add_up),
		cmocka_unit_test(test_metrics_help_and_type),
		cmocka_unit_test(test_metrics_escaping),
		cmocka_unit_test(test_metrics_histogram_cumulative),
		cmocka_unit_test(test_metrics_routes_and_status),
		cmocka_unit_test(test_metrics_render_capped),
		cmocka_unit_test(test_metrics_label_maps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
