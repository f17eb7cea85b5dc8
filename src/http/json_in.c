/*
 * json_in: JSON request bodies, through jansson with our caps in front.
 *
 * jansson recurses once per nesting level; its own limit (2048) is far
 * above what any request of ours needs, so a linear pre-scan refuses deep
 * nesting before the parser sees it (SECURITY.md HT-05). The scan only
 * needs to be exact about strings: brackets inside them do not count.
 */
#include "http/http.h"

int
json_in_parse(
    const char *s, size_t len, const struct http_limits *lim, json_t **out)
{
	json_error_t err;
	json_t *j = NULL;
	int r = PC_ERR_INTERNAL;

	*out = NULL;
	if (lim == NULL)
		goto out;
	if (s == NULL || len == 0) {
		r = PC_ERR_INVALID;
		goto out;
	}
	if ((r = str_json_depth_ok(s, len, lim->max_json_depth)) != 0)
		goto out;
	/*
	 * Without JSON_DECODE_ANY the top level must be an object or array;
	 * without JSON_ALLOW_NUL "\u0000" is refused; without
	 * JSON_DISABLE_EOF_CHECK trailing bytes are refused. jansson also
	 * checks UTF-8 (overlong forms and lone surrogates included).
	 */
	if ((j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		r = PC_ERR_INVALID;
		goto out;
	}
	if (!json_is_object(j) && !json_is_array(j)) {
		r = PC_ERR_INVALID;
		goto out;
	}
	*out = j;
	j = NULL;
	r = 0;
out:
	json_decref(j);
	return r;
}
