/*
 * Strict JSON for JOSE headers, payloads and JWKs (SECURITY.md JW-08).
 *
 * jansson does the parsing, with duplicate member names rejected (not
 * last-wins), no "\u0000", and no trailing garbage. Before it runs, a
 * linear pre-scan rejects raw NUL bytes and invalid UTF-8 and caps the
 * nesting depth, so deep input is refused without recursion in the parser.
 */
#include <string.h>

#include "jose/jose.h"

/*
 * The deepest [ or { nesting in s, counted outside strings; stops early
 * once max_depth is passed. Returns PC_ERR_INVALID on a NUL byte.
 */
static int
depth_scan(const char *s, size_t n, size_t max_depth)
{
	size_t i, depth = 0;
	bool in_str = false, esc = false;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\0')
			return PC_ERR_INVALID;
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		switch (c) {
		case '"': in_str = true; break;
		case '[':
		case '{':
			if (++depth > max_depth)
				return PC_ERR_TOO_LARGE;
			break;
		case ']':
		case '}':
			/* Unbalanced input: jansson reports it. */
			if (depth > 0)
				depth--;
			break;
		default: break;
		}
	}
	return 0;
}

int
jose_json_parse(const char *s, size_t n, size_t max_depth, json_t **out)
{
	json_error_t err;
	json_t *v = NULL;
	int r = PC_ERR_INVALID;

	*out = NULL;
	if (s == NULL || n == 0)
		goto out;
	if ((r = depth_scan(s, n, max_depth)) != 0)
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
