/*
 * Borrowed string slices (struct str, util.h): comparison, prefix tests and
 * splitting without copying or NUL-terminating, for the parsers of headers,
 * forms and settings.
 */
#include <string.h>
#include <strings.h>

#include "util/util.h"

struct str
str_from(const char *s)
{
	struct str r = { s, s == NULL ? 0 : strlen(s) };

	return r;
}

bool
str_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool
str_eq_cstr(struct str a, const char *b)
{
	return str_eq(a, str_from(b));
}

bool
str_case_eq_cstr(struct str a, const char *b)
{
	size_t n = strlen(b);

	return a.len == n && (n == 0 || strncasecmp(a.p, b, n) == 0);
}

bool
str_has_prefix(struct str s, const char *prefix)
{
	size_t n = strlen(prefix);

	return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

char *
str_dup(struct str s)
{
	return xstrndup(s.len == 0 ? "" : s.p, s.len);
}

int
str_to_int64(struct str s, int64_t min, int64_t max, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0, lim;
	size_t i = 0;

	if (s.len == 0 || s.len > 20)
		return PC_ERR_INVALID;
	if (s.p[0] == '-') {
		if (min >= 0)
			return PC_ERR_INVALID;
		neg = true;
		i = 1;
		if (s.len == 1)
			return PC_ERR_INVALID;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < s.len; i++) {
		unsigned d;

		if (s.p[i] < '0' || s.p[i] > '9')
			return PC_ERR_INVALID;
		d = (unsigned)(s.p[i] - '0');
		if (v > (lim - d) / 10)
			return PC_ERR_INVALID;
		v = v * 10 + d;
	}
	if (neg) {
		int64_t nv =
		    v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
		if (nv < min || nv > max)
			return PC_ERR_INVALID;
		*out = nv;
		return 0;
	}
	if ((int64_t)v < min || (int64_t)v > max)
		return PC_ERR_INVALID;
	*out = (int64_t)v;
	return 0;
}

int
str_split(struct str s, char c, struct str *head, struct str *tail)
{
	const char *p = s.len == 0 ? NULL : memchr(s.p, c, s.len);

	if (p == NULL)
		return -1;
	head->p = s.p;
	head->len = (size_t)(p - s.p);
	tail->p = p + 1;
	tail->len = s.len - head->len - 1;
	return 0;
}

struct str
str_trim(struct str s)
{
	while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

/* Strict UTF-8: shortest form, no surrogates, at most U+10FFFF. */
bool
str_is_utf8(struct str s)
{
	const unsigned char *p = (const unsigned char *)s.p;
	size_t i = 0;

	while (i < s.len) {
		unsigned c = p[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (s.len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

bool
str_is_text(struct str s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return str_is_utf8(s);
}

void
hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int
str_json_depth_ok(const char *s, size_t n, size_t max_depth)
{
	size_t depth = 0;
	bool in_str = false, esc = false;

	for (size_t i = 0; i < n; i++) {
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
			/* Unbalanced input is the parser's to reject. */
			if (depth > 0)
				depth--;
			break;
		default: break;
		}
	}
	return 0;
}
