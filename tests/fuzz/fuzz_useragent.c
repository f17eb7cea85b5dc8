/*
 * libFuzzer driver for util/useragent.c (the account page's session
 * list). Input: a User-Agent header value. Checks: no crash; the output is
 * NUL-terminated within its buffer and holds only letters, digits, spaces,
 * '.', '-' and '_' (nothing of the input's markup reaches the page).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/useragent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *ua = malloc(size + 1);
	char out[USERAGENT_DESC_MAX + 8];
	size_t n;

	if (ua == NULL)
		return 0;
	memcpy(ua, data, size);
	ua[size] = '\0';
	memset(out, 0x7f, sizeof(out));
	useragent_describe(ua, out, USERAGENT_DESC_MAX);
	n = strnlen(out, USERAGENT_DESC_MAX);
	if (n == USERAGENT_DESC_MAX || n == 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = out[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == ' ' || c == '.' ||
			c == '-' || c == '_'))
			abort();
	}
	/* Past the buffer it was given: untouched. */
	for (size_t i = USERAGENT_DESC_MAX; i < sizeof(out); i++)
		if (out[i] != 0x7f)
			abort();
	free(ua);
	return 0;
}
