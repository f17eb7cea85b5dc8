/*
 * libFuzzer driver for the stored form of a pushed authorization request
 * (src/oauth/par.c, RFC 9126): any form that parses, encoded by
 * par_params_encode() and parsed again, gives back exactly its pairs in
 * order, without the client credentials, with client_id added when it was
 * missing. /authorize then reads what /par checked, nothing smuggled in
 * by a name or value that re-encodes into several pairs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http_limits lim = {
	.max_params = 64,
	.max_name = 256,
	.max_value = 4096,
	.max_json_depth = 16,
};

static bool
credential(const char *name)
{
	return strcmp(name, "client_secret") == 0 ||
	    strcmp(name, "client_assertion") == 0 ||
	    strcmp(name, "client_assertion_type") == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvlist in = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct http_limits more = lim;
	struct buf b;
	bool have_id = false;
	size_t j = 0;

	if (form_parse((const char *)data, size, &lim, &in) != 0)
		return 0;
	buf_init(&b, 1024 * 1024);
	if (par_params_encode(&in, "pcc_fuzz", &b) != 0)
		abort(); /* 64 pairs of <= 4 KiB fit in 1 MiB, encoded */
	more.max_params++;
	if (form_parse(buf_cstr(&b), b.len, &more, &out) != 0)
		abort();
	(void)par_is_pushed(&out);
	for (size_t i = 0; i < in.n; i++) {
		if (credential(in.v[i].name))
			continue;
		have_id |= strcmp(in.v[i].name, "client_id") == 0;
		if (j >= out.n || strcmp(in.v[i].name, out.v[j].name) != 0 ||
		    strcmp(in.v[i].value, out.v[j].value) != 0)
			abort();
		j++;
	}
	if (!have_id) {
		if (j >= out.n || strcmp(out.v[j].name, "client_id") != 0 ||
		    strcmp(out.v[j].value, "pcc_fuzz") != 0)
			abort();
		j++;
	}
	if (j != out.n)
		abort();
	buf_free(&b);
	kvlist_free(&in);
	kvlist_free(&out);
	return 0;
}
