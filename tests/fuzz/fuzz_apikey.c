/*
 * libFuzzer driver for the API key format (machine/apikey_format.c;
 * AK-02, AK-03): the strict parser and the text scanner. Checks: no
 * crash; a key that parses formats back to exactly the input; every
 * scanner candidate lies inside the text, matches
 * pck_(sa|usr)_[0-9A-Za-z]{16}_[0-9A-Za-z]{49} and is bounded by
 * non-alphanumerics; the candidates do not overlap and come in order;
 * whatever parses inside a candidate is the candidate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct scan_state {
	const char *text;
	size_t len;
	const char *last_end;
};

static int
alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z');
}

static int
run_of(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!alnum(p[i]))
			return 0;
	return 1;
}

static int
found(const char *p, size_t n, void *arg)
{
	struct scan_state *s = arg;
	struct apikey_parts parts;
	char again[APIKEY_MAX_LEN + 1];
	size_t tag;

	if (p < s->text || p + n > s->text + s->len || p < s->last_end)
		abort();
	s->last_end = p + n;
	if (memcmp(p, "pck_sa_", 7) == 0)
		tag = 7;
	else if (memcmp(p, "pck_usr_", 8) == 0)
		tag = 8;
	else
		abort();
	if (n != tag + 16 + 1 + 49 || !run_of(p + tag, 16) ||
	    p[tag + 16] != '_' || !run_of(p + tag + 17, 49))
		abort();
	if (p > s->text && alnum(p[-1]))
		abort();
	if (p + n < s->text + s->len && alnum(p[n]))
		abort();
	if (apikey_parse(p, n, &parts) == 0) {
		if (apikey_format(&parts, again) != 0 ||
		    memcmp(again, p, n) != 0 || again[n] != '\0')
			abort();
		apikey_parts_wipe(&parts);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct apikey_parts parts;
	struct scan_state s;
	char again[APIKEY_MAX_LEN + 1];

	if (size > 65536)
		return 0;
	if (apikey_parse((const char *)data, size, &parts) == 0) {
		if (size > APIKEY_MAX_LEN ||
		    apikey_format(&parts, again) != 0 ||
		    memcmp(again, data, size) != 0)
			abort();
		apikey_parts_wipe(&parts);
	} else if (parts.kind != APIKEY_NONE || parts.secret[0] != '\0') {
		abort(); /* a refusal leaves nothing behind */
	}
	s.text = (const char *)data;
	s.len = size;
	s.last_end = s.text;
	if (apikey_scan(s.text, s.len, found, &s) != 0)
		abort();
	return 0;
}
