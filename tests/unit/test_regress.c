/* Regression tests for bugs found by the unit-test review (str, log, config). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "util/config.h"
#include "util/log.h"
#include "util/util.h"

static char *
capture(void (*fn)(void), size_t *len)
{
	int fds[2], saved;
	static char out[8192];
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	saved = dup(2);
	dup2(fds[1], 2);
	close(fds[1]);
	fn();
	dup2(saved, 2);
	close(saved);
	n = read(fds[0], out, sizeof(out) - 1);
	close(fds[0]);
	out[n < 0 ? 0 : n] = '\0';
	*len = (size_t)(n < 0 ? 0 : n);
	return out;
}

/* str_to_int64: the documented range [min, max] must hold for negatives. */
static void
test_util_str_to_int64_negative_above_max(void **state)
{
	int64_t v = 1234;

	(void)state;
	assert_int_equal(
	    str_to_int64(STR_LIT("-5"), -10, -7, &v), PC_ERR_INVALID);
	assert_int_equal(
	    str_to_int64(STR_LIT("-1"), -100, -2, &v), PC_ERR_INVALID);
	assert_true(v == 1234);
}

static void
long_value(void)
{
	char v[10240];
	struct log_line l;

	memset(v, 'a', sizeof(v));
	log_begin(&l, LOG_INFO, "test.event");
	log_strn(&l, "v", v, sizeof(v));
	log_end(&l);
}

/* A cut value keeps what fits (a non-empty prefix). */
static void
test_util_AU04_log_truncation_keeps_prefix(void **state)
{
	size_t len;
	char *out = capture(long_value, &len);

	(void)state;
	assert_non_null(strstr(out, "\"truncated\":true"));
	assert_null(strstr(out, "\"v\":\"\""));
	assert_non_null(strstr(out, "\"v\":\"aaaa"));
}

static void
near_full(void)
{
	char v[5000];
	struct log_line l;
	size_t base;

	memset(v, 'a', sizeof(v));
	log_begin(&l, LOG_INFO, "test.event");
	base = l.len;
	/* ends 5 bytes short of the usable line */
	log_strn(&l, "v", v, LOG_LINE_MAX - 32 - 5 - 7 - base);
	log_int(&l, "n", 1);
	log_bool(&l, "b", true);
	log_str(&l, "s", "x");
	log_end(&l);
}

/* A field that is left out makes the line carry "truncated":true. */
static void
test_util_AU04_log_dropped_field_marks_truncated(void **state)
{
	size_t len;
	char *out = capture(near_full, &len);

	(void)state;
	assert_null(strstr(out, "\"n\":1"));
	assert_non_null(strstr(out, "\"truncated\":true"));
}

/* HT-04: a Host with two ports is not the issuer's authority. */
static void
test_config_HT04_host_double_port(void **state)
{
	struct config c;
	char err[256];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_set(&c, "issuer", "https://id.example.com:8443",
			     CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_equal(config_set(&c, "allowed_hosts", "alt.example.com:8443",
			     CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_equal(config_finish(&c, err, sizeof(err)), 0);
	assert_true(config_host_allowed(&c, "id.example.com:8443"));
	assert_false(config_host_allowed(&c, "id.example.com:8443:443"));
	assert_false(config_host_allowed(&c, "alt.example.com:8443:443"));
	config_free(&c);
}

/* A NUL in the last line (no trailing newline) is refused like elsewhere. */
static void
test_config_load_file_embedded_nul_last_line(void **state)
{
	static const char text[] =
	    "mode = development\nissuer = https://a.example\0.evil";
	char dir[] = "/tmp/pc-test-x-XXXXXX", path[64], err[256] = "";
	struct config c;
	FILE *f;
	int r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	f = fopen(path, "w");
	fwrite(text, 1, sizeof(text) - 1, f);
	fclose(f);
	config_defaults(&c);
	r = config_load_file(&c, path, err, sizeof(err));
	unlink(path);
	rmdir(dir);
	printf("# r=%d issuer=%s\n", r, c.issuer);
	assert_int_equal(r, PC_ERR_CONFIG);
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_str_to_int64_negative_above_max),
		cmocka_unit_test(test_util_AU04_log_truncation_keeps_prefix),
		cmocka_unit_test(
		    test_util_AU04_log_dropped_field_marks_truncated),
		cmocka_unit_test(test_config_HT04_host_double_port),
		cmocka_unit_test(test_config_load_file_embedded_nul_last_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
