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
