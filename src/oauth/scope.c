/*
 * Scope strings (RFC 6749 §3.3): scope = scope-token *( SP scope-token ),
 * scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). Parsed into a small set in
 * order of first appearance, duplicates folded; anything else, an empty
 * token (two spaces, leading or trailing space) or more than SCOPE_MAX
 * tokens is refused (SECURITY.md AZ-10). scope_grantable() narrows a
 * request to what a client may be granted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/proto.h"

void
scope_set_free(struct scope_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
}

static bool
token_char(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
	    (c >= 0x5d && c <= 0x7e);
}

void
scope_set_union(struct scope_set *out, const char *str)
{
	struct scope_set s;

	if (scope_parse(str, &s) != 0)
		return;
	for (size_t i = 0; i < s.n; i++) {
		if (out->n < SCOPE_MAX && !scope_has(out, s.v[i]))
			out->v[out->n++] = s.v[i];
		else
			free(s.v[i]);
		s.v[i] = NULL;
	}
	s.n = 0;
}

bool
scope_has(const struct scope_set *s, const char *tok)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], tok) == 0)
			return true;
	return false;
}

int
scope_parse(const char *str, struct scope_set *out)
{
	const char *p = str, *e;

	out->n = 0;
	if (str == NULL || strlen(str) > SCOPE_STRING_MAX)
		return PC_ERR_INVALID;
	while (*p != '\0') {
		char tok[SCOPE_TOKEN_MAX + 1];
		size_t n;

		for (e = p; *e != '\0' && *e != ' '; e++)
			if (!token_char((unsigned char)*e))
				goto bad;
		n = (size_t)(e - p);
		if (n == 0 || n > SCOPE_TOKEN_MAX)
			goto bad;
		memcpy(tok, p, n);
		tok[n] = '\0';
		if (!scope_has(out, tok)) {
			if (out->n == SCOPE_MAX)
				goto bad;
			out->v[out->n++] = xstrdup(tok);
		}
		if (*e == ' ' && e[1] == '\0')
			goto bad; /* trailing space */
		p = *e == ' ' ? e + 1 : e;
	}
	return 0;
bad:
	scope_set_free(out);
	return PC_ERR_INVALID;
}

bool
scope_subset(const struct scope_set *a, const struct scope_set *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (!scope_has(b, a->v[i]))
			return false;
	return true;
}

const char *
scope_first_missing(const struct scope_set *a, const struct scope_set *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (!scope_has(b, a->v[i]))
			return a->v[i];
	return NULL;
}

void
scope_refused_desc(const char *tok, const char *why, char *out, size_t n)
{
	/* A scope token is printable ASCII without '"' or '\\' (RFC 6749
	 * §3.3), all of it allowed in an error_description (§5.2). */
	snprintf(out, n, "The scope '%s' %s.", tok != NULL ? tok : "?", why);
}

int
scope_format(const struct scope_set *s, struct buf *out)
{
	int r = 0;

	for (size_t i = 0; i < s->n && r == 0; i++) {
		if (i > 0)
			r = buf_putc(out, ' ');
		if (r == 0)
			r = buf_puts(out, s->v[i]);
	}
	return r;
}

int
scope_grantable(const char *allowed_str, bool may_refresh,
    const struct scope_set *want, bool *ok, struct buf *out,
    const char **refused)
{
	struct scope_set allowed, keep;
	int r;

	*ok = false;
	*refused = NULL;
	if (scope_parse(allowed_str, &allowed) != 0)
		return PC_ERR_INTERNAL;
	memset(&keep, 0, sizeof(keep));
	for (size_t i = 0; i < want->n; i++) {
		/* OI-09: ignored unless the client may refresh. */
		if (strcmp(want->v[i], "offline_access") == 0 &&
		    (!scope_has(&allowed, "offline_access") || !may_refresh))
			continue;
		keep.v[keep.n++] = want->v[i];
	}
	*ok = scope_subset(&keep, &allowed);
	/* A token of want: it lives as long as the request. */
	*refused = scope_first_missing(&keep, &allowed);
	r = *ok ? scope_format(&keep, out) : 0;
	scope_set_free(&allowed);
	return r;
}
