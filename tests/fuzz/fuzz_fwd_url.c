/*
 * libFuzzer driver for forward-auth's pure checks, oauth/fwd_url.c
 * (FA-02, FA-03, FA-04, FA-09). Input: one selector byte, then a string.
 * Checks: no crash; an accepted return URL is https, on the host the
 * parser names (whose authority has no '@'), with no '\\', '#', space or
 * control character, and
 * parses again to itself; a normalised path starts with '/', has no
 * empty, "." or ".." segment and no control character or '\\'; a
 * normalised host normalises to itself; a valid prefix matches itself; a
 * header-safe value holds no CR, LF or ','.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/fwdauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_rd(const char *s)
{
	char host[FWD_HOST_MAX + 1], host2[FWD_HOST_MAX + 1];
	char *url = NULL, *url2 = NULL;
	size_t hl;

	if (fwd_rd_parse(s, host, &url) != 0) {
		if (url != NULL || host[0] != '\0')
			abort();
		return;
	}
	hl = strlen(host);
	if (strncmp(url, "https://", 8) != 0 ||
	    strncmp(url + 8, host, hl) != 0 || url[8 + hl] != '/' ||
	    strchr(url, '\\') != NULL || strchr(url, '#') != NULL)
		abort();
	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			abort();
	if (fwd_rd_parse(url, host2, &url2) != 0 || strcmp(url, url2) != 0 ||
	    strcmp(host, host2) != 0)
		abort();
	free(url);
	free(url2);
}

static void
check_path(const char *s)
{
	char *p = NULL;
	size_t n;

	if (fwd_path_norm(s, &p) != 0) {
		if (p != NULL)
			abort();
		return;
	}
	n = strlen(p);
	if (p[0] != '/' || (n > 1 && p[n - 1] == '/') ||
	    strstr(p, "//") != NULL || strstr(p, "/./") != NULL ||
	    strstr(p, "/../") != NULL || strchr(p, '\\') != NULL ||
	    strcmp(p, "/.") == 0 || strcmp(p, "/..") == 0 ||
	    (n >= 2 && strcmp(p + n - 2, "/.") == 0) ||
	    (n >= 3 && strcmp(p + n - 3, "/..") == 0))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			abort();
	free(p);
}

static void
check_host(const char *s)
{
	char h[FWD_HOST_MAX + 1], h2[FWD_HOST_MAX + 1];

	if (fwd_host_norm(s, h) != 0) {
		if (h[0] != '\0')
			abort();
		return;
	}
	if (fwd_host_norm(h, h2) != 0 || strcmp(h, h2) != 0 ||
	    strpbrk(h, "@%/\\ ") != NULL)
		abort();
	for (const char *p = h; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1 || size > 4096)
		return 0;
	s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0: check_rd(s); break;
	case 1: check_path(s); break;
	case 2: check_host(s); break;
	default:
		if (fwd_prefix_valid(s) && !fwd_prefix_match(s, s))
			abort();
		if (fwd_header_safe(s) && strpbrk(s, "\r\n,") != NULL)
			abort();
		(void)fwd_amr_mfa(s);
		break;
	}
	free(s);
	return 0;
}
