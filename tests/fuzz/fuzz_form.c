/*
 * libFuzzer driver for form_parse and kvlist_get. Besides "no crash", it
 * checks what the parser promises about every pair it returns.
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvlist l = { NULL, 0, 0 };
	const struct kv *kv;
	int r;

	r = form_parse((const char *)data, size, &lim, &l);
	if (r != 0) {
		if ((r != PC_ERR_INVALID && r != PC_ERR_TOO_LARGE) ||
		    l.v != NULL || l.n != 0)
			abort();
		return 0;
	}
	if (l.n > lim.max_params)
		abort();
	for (size_t i = 0; i < l.n; i++) {
		const struct kv *p = &l.v[i];

		if (p->name_len > lim.max_name ||
		    p->value_len > lim.max_value ||
		    p->name[p->name_len] != '\0' ||
		    p->value[p->value_len] != '\0' ||
		    strlen(p->name) != p->name_len ||
		    strlen(p->value) != p->value_len ||
		    !str_is_text((struct str){ p->name, p->name_len }) ||
		    !str_is_text((struct str){ p->value, p->value_len }))
			abort();
		r = kvlist_get(&l, p->name, &kv);
		if (r == 0 && kv != p)
			abort();
		if (r != 0 && r != PC_ERR_DUPLICATE)
			abort();
	}
	kvlist_free(&l);
	return 0;
}
