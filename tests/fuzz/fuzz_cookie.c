/*
 * libFuzzer driver for cookie_parse: no crash, and every cookie returned
 * is a token name with a cookie-octet value (RFC 6265 §4.1.1).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http_limits lim = {
	.max_params = 64,
	.max_name = 256,
	.max_value = 4096,
	.max_json_depth = 16,
};

static int
check(const char *s, size_t len, const char *allowed)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr(allowed, c) == NULL)
			return -1;
	}
	return s[len] == '\0' ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char tchar[] =
	    "!#$%&'*+-.^_`|~"
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	static const char octet[] =
	    "!#$%&'()*+-./0123456789:<=>?@"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~";
	struct kvlist l = { NULL, 0, 0 };
	const struct kv *kv;
	int r;

	r = cookie_parse((const char *)data, size, &lim, &l);
	if (r != 0) {
		if (r != PC_ERR_TOO_LARGE || l.v != NULL || l.n != 0)
			abort();
		return 0;
	}
	if (l.n > lim.max_params)
		abort();
	for (size_t i = 0; i < l.n; i++) {
		const struct kv *p = &l.v[i];

		if (p->name_len == 0 || p->name_len > lim.max_name ||
		    p->value_len > lim.max_value ||
		    check(p->name, p->name_len, tchar) != 0 ||
		    check(p->value, p->value_len, octet) != 0)
			abort();
		r = kvlist_get(&l, p->name, &kv);
		if ((r == 0 && kv != p) || (r != 0 && r != PC_ERR_DUPLICATE))
			abort();
	}
	kvlist_free(&l);
	return 0;
}
