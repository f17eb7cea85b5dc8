/*
 * Strict JSON for JOSE headers, payloads and JWKs (SECURITY.md JW-08).
 *
 * jansson does the parsing, with duplicate member names rejected (not
 * last-wins), no "\u0000", and no trailing garbage. Before it runs, a
 * linear pre-scan rejects raw NUL bytes and invalid UTF-8 and caps the
 * nesting depth, so deep input is refused without recursion in the parser.
 *
 * The writer half (issue 13) appends JSON strings and integers to a buf for
 * the fixed-shape objects of the token path (access-token claims, the JWS
 * header, the token response), which building a jansson object and
 * serialising it cost more than the rest of the JSON work together. It
 * escapes exactly what jansson's compact dump escapes and, like
 * json_string(), refuses a value that is not UTF-8.
 */
#include <string.h>

#include "jose/jose.h"

int
jose_json_parse(const char *s, size_t n, size_t max_depth, json_t **out)
{
	json_error_t err;
	json_t *v = NULL;
	int r = PC_ERR_INVALID;

	*out = NULL;
	if (s == NULL || n == 0)
		goto out;
	if ((r = str_json_depth_ok(s, n, max_depth)) != 0)
		goto out;
	r = PC_ERR_INVALID;
	if (!str_is_utf8((struct str){ s, n }))
		goto out;
	/*
	 * Without JSON_DECODE_ANY the top level must be an object or an
	 * array; without JSON_DISABLE_EOF_CHECK trailing non-space is an
	 * error; without JSON_ALLOW_NUL "\u0000" is refused.
	 */
	if ((v = json_loadb(s, n, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		if (json_error_code(&err) == json_error_duplicate_key)
			r = PC_ERR_DUPLICATE;
		goto out;
	}
	*out = v;
	v = NULL;
	r = 0;
out:
	json_decref(v);
	return r;
}

int
jose_json_put_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, run;
	char e[6];
	int r;

	if (s == NULL || !str_is_utf8((struct str){ s, n }))
		return PC_ERR_INVALID;
	if ((r = buf_putc(b, '"')) != 0)
		return r;
	while (i < n) {
		run = i;
		while (run < n && (unsigned char)s[run] >= 0x20 &&
		    s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i && (r = buf_put(b, s + i, run - i)) != 0)
			return r;
		if (run == n)
			break;
		e[0] = '\\';
		switch (s[run]) {
		case '"':
		case '\\': e[1] = s[run]; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default: e[1] = 'u'; break;
		}
		if (e[1] != 'u') {
			r = buf_put(b, e, 2);
		} else {
			/* Another control character (NUL too): \u00XX. */
			memcpy(e + 2, "00", 2);
			e[4] = hex[(unsigned char)s[run] >> 4];
			e[5] = hex[(unsigned char)s[run] & 0xf];
			r = buf_put(b, e, 6);
		}
		if (r != 0)
			return r;
		i = run + 1;
	}
	return buf_putc(b, '"');
}

int
jose_json_put_member(struct buf *b, bool first, const char *name)
{
	int r;

	if (!first && (r = buf_putc(b, ',')) != 0)
		return r;
	if ((r = jose_json_put_str(b, name, strlen(name))) != 0)
		return r;
	return buf_putc(b, ':');
}

int
jose_json_put_int(struct buf *b, int64_t v)
{
	char tmp[24], num[24];
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t t = 0, n = 0;

	do {
		tmp[t++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		num[n++] = '-';
	while (t > 0)
		num[n++] = tmp[--t];
	return buf_put(b, num, n);
}

int
jose_claim_time(const json_t *o, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(o, name);
	double d;

	*out = 0;
	if (v == NULL)
		return PC_ERR_NOT_FOUND;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0 || i > JOSE_TIME_MAX)
			return PC_ERR_INVALID;
		*out = (int64_t)i;
		return 0;
	}
	if (!json_is_real(v))
		return PC_ERR_INVALID;
	d = json_real_value(v);
	if (!(d >= 0 && d <= (double)JOSE_TIME_MAX))
		return PC_ERR_INVALID;
	*out = (int64_t)d;
	return 0;
}
