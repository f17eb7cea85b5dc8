/*
 * Request parameters the OAuth endpoints share, as pure string work:
 * single-valued form fields (AZ-09: a repeat is an error, never "the
 * first one wins"), space-separated word lists, and appending
 * percent-encoded query parameters to a redirect URI.
 */
#include <string.h>

#include "oauth/proto.h"

int
oauth_field(const struct kvlist *f, const char *name, const char **out)
{
	const struct kv *kv = NULL;
	int r = kvlist_get(f, name, &kv);

	*out = NULL;
	if (r == PC_ERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return r;
	*out = kv->value;
	return 0;
}

bool
oauth_has_word(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *e = strchr(p, ' ');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

		if (len == n && memcmp(p, w, n) == 0)
			return true;
		p = e != NULL ? e + 1 : NULL;
	}
	return false;
}

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

int
oauth_query_add(struct buf *b, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	r |= buf_putc(
	    b, b->len > 0 && memchr(b->p, '?', b->len) != NULL ? '&' : '?');
	r |= buf_puts(b, name);
	r |= buf_putc(b, '=');
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0';
	     p++) {
		if (unreserved(*p)) {
			r |= buf_putc(b, (char)*p);
		} else {
			r |= buf_putc(b, '%');
			r |= buf_putc(b, hex[*p >> 4]);
			r |= buf_putc(b, hex[*p & 15]);
		}
	}
	return r != 0 ? PC_ERR_TOO_LARGE : 0;
}
