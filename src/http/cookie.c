/*
 * cookie: the Cookie request header (RFC 6265 §4.2.1, §5.4).
 *
 *	cookie-string = cookie-pair *( ";" SP cookie-pair )
 *	cookie-pair   = cookie-name "=" cookie-value
 *	cookie-name   = token				(RFC 7230 §3.2.6)
 *	cookie-value  = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )
 *
 * We accept optional whitespace around ';' and '=' as user agents send it,
 * and skip a malformed pair instead of failing the header, as browsers do:
 * one bad cookie set by a sibling site must not lock a user out. Nothing
 * is decoded; values are stored as sent, without the optional quotes.
 * Duplicate names are kept so that kvlist_get() can refuse them.
 */
#include <string.h>

#include "http/http.h"

/* tchar: "!#$%&'*+-.^_`|~" / DIGIT / ALPHA */
static bool
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E */
static bool
is_cookie_octet(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' &&
	    c != '\\';
}

static bool
is_token(struct str s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_tchar((unsigned char)s.p[i]))
			return false;
	return true;
}

/* The value without its optional quotes; false if not cookie-octets. */
static bool
cookie_value(struct str v, struct str *out)
{
	if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"') {
		v.p++;
		v.len -= 2;
	}
	for (size_t i = 0; i < v.len; i++)
		if (!is_cookie_octet((unsigned char)v.p[i]))
			return false;
	*out = v;
	return true;
}

static int
cookie_push(struct kvlist *l, size_t max, struct str name, struct str value)
{
	return kvlist_push(
	    l, max, str_dup(name), name.len, str_dup(value), value.len);
}

int
cookie_parse(const char *s, size_t len, const struct http_limits *lim,
    struct kvlist *out)
{
	struct kvlist l = { NULL, 0, 0 };
	struct str rest, piece, name, raw, value;
	int r = PC_ERR_INTERNAL;

	out->v = NULL;
	out->n = out->cap = 0;
	if (lim == NULL || (s == NULL && len != 0))
		goto out;
	rest = (struct str){ s, len };
	while (rest.len > 0) {
		if (str_split(rest, ';', &piece, &rest) != 0) {
			piece = rest;
			rest = (struct str){ NULL, 0 };
		}
		piece = str_trim(piece);
		if (piece.len == 0)
			continue;
		/* No '=': not a cookie-pair. */
		if (str_split(piece, '=', &name, &raw) != 0)
			continue;
		name = str_trim(name);
		raw = str_trim(raw);
		if (!is_token(name) || !cookie_value(raw, &value))
			continue;
		if (name.len > lim->max_name || value.len > lim->max_value) {
			r = PC_ERR_TOO_LARGE;
			goto out;
		}
		if ((r = cookie_push(&l, lim->max_params, name, value)) != 0)
			goto out;
	}
	*out = l;
	l.v = NULL;
	l.n = l.cap = 0;
	r = 0;
out:
	kvlist_free(&l);
	return r;
}
