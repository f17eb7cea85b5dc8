/*
 * Unit tests for util/useragent.c: the account page shows a session's
 * browser and system in words instead of the raw User-Agent. Real headers
 * of the common browsers, command-line programs, and hostile or empty
 * input: the words come only from the fixed list or a short product name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/useragent.h"

static void
is(const char *ua, const char *want)
{
	char out[USERAGENT_DESC_MAX];

	memset(out, 'x', sizeof(out));
	useragent_describe(ua, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("'%s': got '%s', want '%s'",
		    ua != NULL ? ua : "(null)", out, want);
}

static void
test_useragent_browsers(void **state)
{
	(void)state;
	is("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
	   "Gecko) Chrome/120.0.0.0 Safari/537.36",
	    "Chrome on Linux");
	is("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
	   "Gecko) HeadlessChrome/120.0.6099.28 Safari/537.36",
	    "Chrome on Linux");
	is("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 "
	   "Firefox/121.0",
	    "Firefox on Windows");
	is("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
	   "AppleWebKit/605.1.15 "
	   "(KHTML, like Gecko) Version/17.1 Safari/605.1.15",
	    "Safari on macOS");
	is("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) "
	   "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
	   "Mobile/15E148 "
	   "Safari/604.1",
	    "Safari on iOS");
	is("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) "
	   "AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 "
	   "Mobile/15E148 Safari/604.1",
	    "Chrome on iOS");
	is("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
	   "(KHTML, "
	   "like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
	    "Chrome on Android");
	is("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
	   "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 "
	   "Edg/120.0.2210.91",
	    "Edge on Windows");
	is("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
	   "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
	    "Opera on Windows");
	is("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 "
	   "(KHTML, "
	   "like Gecko) Chrome/120.0.0.0 Safari/537.36",
	    "Chrome on ChromeOS");
	is("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 "
	   "Firefox/121.0",
	    "Firefox on Linux");
	is("Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) "
	   "AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 "
	   "Chrome/115.0.0.0 Mobile Safari/537.36",
	    "Samsung Internet on Android");
	/* A browser without a known system. */
	is("Mozilla/5.0 (Unknown) Gecko/20100101 Firefox/121.0", "Firefox");
}

static void
test_useragent_programs(void **state)
{
	(void)state;
	is("curl/8.5.0", "curl");
	is("Wget/1.21.4", "Wget");
	is("python-requests/2.31.0", "python-requests");
	is("node", "node");
	is("Go-http-client/1.1", "Go-http-client");
}

static void
test_useragent_unknown_and_hostile(void **state)
{
	char out[USERAGENT_DESC_MAX];
	char big[9000];

	(void)state;
	is(NULL, "Unknown browser");
	is("", "Unknown browser");
	is("Mozilla/5.0", "Unknown browser");
	is("Mozilla/5.0 (compatible; MSIE 6.0)", "Unknown browser");
	/* Markup, spaces or a long name is never echoed. */
	is("<script>alert(1)</script>", "Unknown browser");
	is("evil name/1.0", "Unknown browser");
	is("a\"b/1", "Unknown browser");
	is("abcdefghijklmnopqrstuvwxyz0123456789/1", "Unknown browser");
	is("Safari/605.1.15", "Safari");
	/* "Version/" without "Safari/" is no Safari. */
	is("Mozilla/5.0 (X11; Linux x86_64) Version/1.0", "Unknown browser");
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is(big, "Unknown browser");
	memcpy(big, "Mozilla/", 8);
	is(big, "Unknown browser");
	/* A small buffer is cut, still terminated. */
	useragent_describe("curl/8", out, 3);
	assert_string_equal(out, "cu");
	useragent_describe("curl/8", out, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_useragent_browsers),
		cmocka_unit_test(test_useragent_programs),
		cmocka_unit_test(test_useragent_unknown_and_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
