/*
 * router: methods and the route table lookup (SECURITY.md HT-07).
 *
 * Paths are compared byte for byte as sent: no decoding, no case folding,
 * no trailing-slash or dot-segment games, so "/token/" or "/%74oken" is a
 * 404 rather than an alias that might skip a check. Unknown methods
 * (TRACE, CONNECT, lower-case "get", ...) are HTTP_OTHER and match no route.
 * A prefix route (a path ending in '*') takes every path that begins with
 * the rest of its path, byte for byte, and matches the rest itself (the
 * admin API).
 */
#include <string.h>

#include "http/http.h"

static const struct {
	enum http_method m;
	const char *name;
} methods[] = {
	{ HTTP_GET, "GET" },
	{ HTTP_HEAD, "HEAD" },
	{ HTTP_POST, "POST" },
	{ HTTP_PUT, "PUT" },
	{ HTTP_DELETE, "DELETE" },
	{ HTTP_PATCH, "PATCH" },
	{ HTTP_OPTIONS, "OPTIONS" },
};

/* Method names are case-sensitive (RFC 9110 §9.1). */
enum http_method
http_method_parse(const char *s)
{
	if (s == NULL)
		return HTTP_OTHER;
	for (size_t i = 0; i < PC_NELEM(methods); i++)
		if (strcmp(s, methods[i].name) == 0)
			return methods[i].m;
	return HTTP_OTHER;
}

const char *
http_method_name(enum http_method m)
{
	for (size_t i = 0; i < PC_NELEM(methods); i++)
		if (methods[i].m == m)
			return methods[i].name;
	return "OTHER";
}

/* The methods a route answers: HEAD wherever GET is (RFC 9110 §9.3.2). */
static unsigned
route_methods(const struct route *r)
{
	unsigned m = r->methods & ~(unsigned)HTTP_OTHER;

	if (m & HTTP_GET)
		m |= HTTP_HEAD;
	return m;
}

/* Exactly, or by prefix for a path ending in '*'. */
static bool
path_matches(const char *rp, struct str path)
{
	size_t n = strlen(rp);

	if (n > 0 && rp[n - 1] == '*')
		return path.len >= n - 1 &&
		    (n == 1 ||
			(path.p != NULL && memcmp(path.p, rp, n - 1) == 0));
	return str_eq_cstr(path, rp);
}

/*
 * *allowed is always the union of the methods of every route with this
 * path (0 when the path is unknown), so a 405 or an OPTIONS answer can
 * list them.
 */
const struct route *
router_match(const struct router *rt, struct str path, enum http_method m,
    unsigned *allowed)
{
	const struct route *found = NULL;
	unsigned any = 0;
	bool single;

	/* Exactly one known method bit; HTTP_OTHER never matches. */
	single =
	    m != 0 && ((unsigned)m & ((unsigned)m - 1)) == 0 && m != HTTP_OTHER;
	if (rt != NULL && (path.p != NULL || path.len == 0)) {
		for (size_t i = 0; i < rt->n; i++) {
			const struct route *r = &rt->routes[i];
			unsigned rm;

			if (r->path == NULL || !path_matches(r->path, path))
				continue;
			rm = route_methods(r);
			any |= rm;
			if (found == NULL && single && (rm & (unsigned)m))
				found = r;
		}
	}
	if (allowed != NULL)
		*allowed = any;
	return found;
}

void
router_allow_header(unsigned mask, char *out, size_t n)
{
	size_t len = 0, nl;
	bool first = true;

	if (out == NULL || n == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < PC_NELEM(methods); i++) {
		if (!(mask & (unsigned)methods[i].m))
			continue;
		nl = strlen(methods[i].name);
		/* ", " + name + NUL must fit; never emit half a name. */
		if ((first ? 0 : 2) + nl >= n - len)
			break;
		if (!first) {
			memcpy(out + len, ", ", 2);
			len += 2;
		}
		memcpy(out + len, methods[i].name, nl);
		len += nl;
		out[len] = '\0';
		first = false;
	}
}
