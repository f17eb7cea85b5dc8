/*
 * form: application/x-www-form-urlencoded bodies and query strings, and the
 * name/value list they decode into (shared with cookie.c).
 *
 * Strict on purpose: a malformed escape, a control character or invalid
 * UTF-8 rejects the whole input rather than being repaired, so what a
 * handler sees is exactly what the client sent (SECURITY.md HT-05, AZ-09).
 */
#include <string.h>

#include <sodium.h>

#include "http/http.h"

static void
kv_wipe(struct kv *kv)
{
	pc_freezero(kv->name, kv->name_len);
	/* Values carry passwords and codes: wipe before release. */
	pc_freezero(kv->value, kv->value_len);
	kv->name = kv->value = NULL;
	kv->name_len = kv->value_len = 0;
}

void
kvlist_free(struct kvlist *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		kv_wipe(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

/*
 * Appends a pair, taking ownership of name and value (both NUL-terminated,
 * allocated by the caller). Capped by max: PC_ERR_TOO_LARGE when the list
 * already holds max pairs; the strings are then freed here.
 */
int
kvlist_push(struct kvlist *l, size_t max, char *name, size_t name_len,
    char *value, size_t value_len)
{
	struct kv kv = { name, name_len, value, value_len };
	size_t ncap;

	if (l->n >= max) {
		kv_wipe(&kv);
		return PC_ERR_TOO_LARGE;
	}
	if (l->n == l->cap) {
		ncap = l->cap == 0 ? 8 : l->cap * 2;
		if (ncap > max)
			ncap = max;
		if (ncap <= l->n || ncap > SIZE_MAX / sizeof(*l->v)) {
			kv_wipe(&kv);
			return PC_ERR_TOO_LARGE;
		}
		l->v = xrealloc(l->v, ncap * sizeof(*l->v));
		l->cap = ncap;
	}
	l->v[l->n++] = kv;
	return 0;
}

int
kvlist_get(const struct kvlist *l, const char *name, const struct kv **out)
{
	const struct kv *found = NULL;
	size_t name_len;

	*out = NULL;
	if (l == NULL || name == NULL)
		return PC_ERR_NOT_FOUND;
	name_len = strlen(name);
	for (size_t i = 0; i < l->n; i++) {
		const struct kv *kv = &l->v[i];

		if (kv->name_len != name_len ||
		    memcmp(kv->name, name, name_len) != 0)
			continue;
		/* RFC 6749 §3.1: a repeated parameter is an error (AZ-09). */
		if (found != NULL)
			return PC_ERR_DUPLICATE;
		found = kv;
	}
	if (found == NULL)
		return PC_ERR_NOT_FOUND;
	*out = found;
	return 0;
}

/*
 * The value of name, or NULL when it is absent or given more than once:
 * a polluted parameter is never silently resolved to one of its copies.
 * Callers that must tell the two apart use kvlist_get().
 */
const char *
kvlist_value(const struct kvlist *l, const char *name)
{
	const struct kv *kv;

	if (kvlist_get(l, name, &kv) != 0)
		return NULL;
	return kv->value;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes in. With out == NULL only validates the escapes and
 * counts the decoded length into *out_len; otherwise writes that many
 * bytes to out (which the caller sized from the first pass).
 */
static int
pct_decode(struct str in, char *out, size_t *out_len)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < in.len; i++) {
		unsigned char c = (unsigned char)in.p[i];

		if (c == '%') {
			if (in.len - i < 3 ||
			    (hi = hexval((unsigned char)in.p[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)in.p[i + 2])) < 0)
				return PC_ERR_INVALID;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (out != NULL)
			out[n] = (char)c;
		n++;
	}
	*out_len = n;
	return 0;
}

/* Decodes one name or value into a fresh NUL-terminated copy. */
static int
form_field(struct str in, size_t max, char **outp, size_t *out_len)
{
	char *p = NULL;
	size_t n = 0, n2 = 0;
	int r;

	*outp = NULL;
	*out_len = 0;
	if ((r = pct_decode(in, NULL, &n)) != 0)
		goto out;
	if (n > max) {
		r = PC_ERR_TOO_LARGE;
		goto out;
	}
	p = xmalloc(n + 1);
	if (pct_decode(in, p, &n2) != 0 || n2 != n) {
		r = PC_ERR_INTERNAL;
		goto out;
	}
	p[n] = '\0';
	if (!str_is_text((struct str){ p, n })) {
		r = PC_ERR_INVALID;
		goto out;
	}
	*outp = p;
	*out_len = n;
	p = NULL;
	r = 0;
out:
	if (p != NULL)
		pc_freezero(p, n + 1);
	return r;
}

int
form_parse(const char *s, size_t len, const struct http_limits *lim,
    struct kvlist *out)
{
	struct kvlist l = { NULL, 0, 0 };
	struct str rest, piece, name, value;
	char *dname = NULL, *dvalue = NULL;
	size_t dname_len = 0, dvalue_len = 0;
	int r = PC_ERR_INTERNAL;

	out->v = NULL;
	out->n = out->cap = 0;
	if (lim == NULL || (s == NULL && len != 0))
		goto out;
	rest = (struct str){ s, len };
	while (rest.len > 0) {
		if (str_split(rest, '&', &piece, &rest) != 0) {
			piece = rest;
			rest = (struct str){ NULL, 0 };
		}
		if (piece.len == 0)
			continue;
		if (str_split(piece, '=', &name, &value) != 0) {
			name = piece;
			value = (struct str){ "", 0 };
		}
		/* Count before decoding: the cap bounds the work too. */
		if (l.n >= lim->max_params) {
			r = PC_ERR_TOO_LARGE;
			goto out;
		}
		if ((r = form_field(name, lim->max_name, &dname, &dname_len)) !=
			0 ||
		    (r = form_field(
			 value, lim->max_value, &dvalue, &dvalue_len)) != 0)
			goto out;
		r = kvlist_push(
		    &l, lim->max_params, dname, dname_len, dvalue, dvalue_len);
		dname = dvalue = NULL; /* owned by l, or freed on error */
		if (r != 0)
			goto out;
	}
	*out = l;
	l.v = NULL;
	l.n = l.cap = 0;
	r = 0;
out:
	pc_freezero(dname, dname_len);
	kvlist_free(&l);
	return r;
}
