/*
 * libFuzzer driver for oauth/redirect_uri.c (AZ-01, AZ-04). Input: one
 * flag byte (bit 0: public client), then "REGISTERED\nREQUESTED". Checks:
 * no crash; a refusal always has a reason and an acceptance none; every
 * string matches itself; an accepted URI never holds a fragment, a
 * wildcard, userinfo-like '@' in an http(s) authority, or a space; a match
 * that is not byte-equal happens only between two http loopback URIs.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
loopback(const char *u)
{
	return strncmp(u, "http://127.0.0.1", 16) == 0 ||
	    strncmp(u, "http://[::1]", 12) == 0;
}

static void
check_one(const char *u, bool pub)
{
	const char *why = (const char *)1;
	int r = redirect_uri_register_check(u, pub, &why);

	if ((r == 0) != (why == NULL))
		abort();
	if (!redirect_uri_match(u, u) && strlen(u) <= REDIRECT_URI_MAX)
		abort();
	if (r != 0)
		return;
	if (strchr(u, '#') != NULL || strchr(u, '*') != NULL ||
	    strchr(u, ' ') != NULL || strchr(u, '\\') != NULL ||
	    strlen(u) > REDIRECT_URI_MAX)
		abort();
	if (strncmp(u, "http://", 7) == 0 && !loopback(u))
		abort();
	if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) {
		const char *a = strstr(u, "//");
		size_t n = a != NULL ? strcspn(a + 2, "/?") : 0;

		if (a == NULL || memchr(a + 2, '@', n) != NULL)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *nl;
	bool pub;

	if (size < 1 || size > 8192)
		return 0;
	pub = (data[0] & 1) != 0;
	buf = malloc(size);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	nl = strchr(buf, '\n');
	if (nl != NULL)
		*nl = '\0';
	check_one(buf, pub);
	if (nl != NULL) {
		const char *req = nl + 1;

		check_one(req, pub);
		if (redirect_uri_match(buf, req) && strcmp(buf, req) != 0 &&
		    (!loopback(buf) || !loopback(req)))
			abort();
	}
	free(buf);
	return 0;
}
