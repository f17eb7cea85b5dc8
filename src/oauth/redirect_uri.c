/*
 * Redirect URIs: what may be registered (SECURITY.md AZ-04) and how a
 * requested one is matched against the registered list (AZ-01).
 *
 * Registration is strict on purpose: a URI we refuse here can never be
 * the target of a redirect, so everything that could confuse a browser or
 * a later comparison (fragments, userinfo, wildcards, dot segments,
 * backslashes, control characters, non-ASCII, http to anything but a
 * loopback IP literal, script-bearing schemes, parameters we add
 * ourselves) is refused with a reason.
 *
 * Matching is simple string comparison (RFC 3986 §6.2.1), byte for byte.
 * The only exception is RFC 8252 §7.3: for an http loopback IP literal
 * the port of the request may differ, because a native app gets an
 * ephemeral port from the OS. Scheme, host, path and query stay exact.
 */
#include <string.h>

#include "oauth/proto.h"

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
ascii_ieq(const char *a, size_t n, const char *b)
{
	if (strlen(b) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* A port: 1..5 digits, value 1..65535. */
static bool
port_ok(const char *p, size_t n)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* A DNS name or IPv4 literal: letters, digits, '-', '.'; no empty label. */
static bool
host_ok(const char *h, size_t n)
{
	if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.')
			return false;
		if (c == '.' && i + 1 < n && h[i + 1] == '.')
			return false;
	}
	return true;
}

/* No "." or ".." segment in a path (RFC 3986 §5.2.4 would rewrite it). */
static bool
path_ok(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && p[j] != '/')
			j++;
		if ((j - i == 1 && p[i] == '.') ||
		    (j - i == 2 && p[i] == '.' && p[i + 1] == '.'))
			return false;
		i = j + 1;
	}
	return true;
}

/* Names of query parameters the authorization response adds itself. */
static bool
query_ok(const char *q, size_t n)
{
	static const char *const ours[] = { "code", "state", "iss", "error",
		"error_description", "error_uri", "session_state" };
	size_t i = 0;

	while (i <= n) {
		size_t j = i, name_end;

		while (j < n && q[j] != '&')
			j++;
		name_end = i;
		while (name_end < j && q[name_end] != '=')
			name_end++;
		for (size_t k = 0; k < PC_NELEM(ours); k++)
			if (ascii_ieq(q + i, name_end - i, ours[k]))
				return false;
		i = j + 1;
	}
	return true;
}

/*
 * The authority of an http(s) URI: host or "[" v6 "]", then ":" port. Sets
 * the host (brackets included) into host and host_len.
 */
static int
authority(const char *a, size_t n, const char **host, size_t *host_len,
    const char **why)
{
	size_t h_end;

	if (memchr(a, '@', n) != NULL) {
		*why = "userinfo (user@host) is not allowed";
		return PC_ERR_INVALID;
	}
	if (n > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', n);

		if (close == NULL) {
			*why = "malformed IPv6 literal";
			return PC_ERR_INVALID;
		}
		h_end = (size_t)(close - a) + 1;
		for (size_t i = 1; i + 1 < h_end; i++)
			if (!is_digit(a[i]) && a[i] != ':' && a[i] != '.' &&
			    !((a[i] >= 'a' && a[i] <= 'f') ||
				(a[i] >= 'A' && a[i] <= 'F'))) {
				*why = "malformed IPv6 literal";
				return PC_ERR_INVALID;
			}
	} else {
		const char *colon = memchr(a, ':', n);

		h_end = colon != NULL ? (size_t)(colon - a) : n;
		if (!host_ok(a, h_end)) {
			*why = "the host is missing or malformed";
			return PC_ERR_INVALID;
		}
	}
	if (h_end < n &&
	    (a[h_end] != ':' || !port_ok(a + h_end + 1, n - h_end - 1))) {
		*why = "malformed port";
		return PC_ERR_INVALID;
	}
	*host = a;
	*host_len = h_end;
	return 0;
}

int
redirect_uri_register_check(
    const char *uri, bool public_client, const char **why)
{
	const char *dummy, *colon, *rest, *q, *host;
	size_t len, scheme_len, rest_len, path_len, host_len;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (uri == NULL || uri[0] == '\0') {
		*why = "empty";
		return PC_ERR_INVALID;
	}
	len = strnlen(uri, REDIRECT_URI_MAX + 1);
	if (len > REDIRECT_URI_MAX) {
		*why = "longer than 2048 bytes";
		return PC_ERR_INVALID;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)uri[i];

		if (c <= 0x20 || c >= 0x7f) {
			*why = "spaces, control characters and non-ASCII "
			       "bytes are not allowed";
			return PC_ERR_INVALID;
		}
		if (c == '#') {
			*why = "a fragment is not allowed";
			return PC_ERR_INVALID;
		}
		if (c == '*') {
			*why = "wildcards are not allowed";
			return PC_ERR_INVALID;
		}
		if (c == '\\') {
			*why = "backslashes are not allowed";
			return PC_ERR_INVALID;
		}
	}
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	colon = memchr(uri, ':', len);
	scheme_len = colon != NULL ? (size_t)(colon - uri) : 0;
	if (colon == NULL || scheme_len == 0 || !is_alpha(uri[0])) {
		*why = "not an absolute URI";
		return PC_ERR_INVALID;
	}
	for (size_t i = 0; i < scheme_len; i++)
		if (!is_alpha(uri[i]) && !is_digit(uri[i]) && uri[i] != '+' &&
		    uri[i] != '-' && uri[i] != '.') {
			*why = "not an absolute URI";
			return PC_ERR_INVALID;
		}
	if (ascii_ieq(uri, scheme_len, "javascript") ||
	    ascii_ieq(uri, scheme_len, "data") ||
	    ascii_ieq(uri, scheme_len, "vbscript") ||
	    ascii_ieq(uri, scheme_len, "file")) {
		*why = "javascript:, data:, vbscript: and file: are refused";
		return PC_ERR_INVALID;
	}
	for (size_t i = 0; i < scheme_len; i++)
		if (uri[i] >= 'A' && uri[i] <= 'Z') {
			*why = "the scheme must be lower case";
			return PC_ERR_INVALID;
		}
	rest = colon + 1;
	rest_len = len - scheme_len - 1;
	q = memchr(rest, '?', rest_len);
	path_len = q != NULL ? (size_t)(q - rest) : rest_len;
	if (q != NULL && !query_ok(q + 1, rest_len - path_len - 1)) {
		*why = "the query already has code, state, iss or error";
		return PC_ERR_INVALID;
	}
	if (strncmp(uri, "https:", 6) == 0 || strncmp(uri, "http:", 5) == 0) {
		const char *a;
		size_t a_len;
		bool https = uri[4] == 's';

		if (path_len < 2 || rest[0] != '/' || rest[1] != '/') {
			*why = "not an absolute URI";
			return PC_ERR_INVALID;
		}
		a = rest + 2;
		a_len = strcspn(a, "/?");
		if (authority(a, a_len, &host, &host_len, why) != 0)
			return PC_ERR_INVALID;
		if (!path_ok(a + a_len, path_len - 2 - a_len)) {
			*why = "dot segments (/./, /../) are not allowed";
			return PC_ERR_INVALID;
		}
		if (https)
			return 0;
		if (ascii_ieq(host, host_len, "localhost")) {
			*why = "http://localhost is refused: use 127.0.0.1 or "
			       "[::1] (RFC 8252 §8.3)";
			return PC_ERR_INVALID;
		}
		if ((host_len == 9 && memcmp(host, "127.0.0.1", 9) == 0) ||
		    (host_len == 5 && memcmp(host, "[::1]", 5) == 0))
			return 0;
		*why = "http is only allowed for 127.0.0.1 and [::1]; use "
		       "https";
		return PC_ERR_INVALID;
	}
	/* A private-use scheme (RFC 8252 §7.1): reverse domain, one slash. */
	if (!public_client) {
		*why = "a private-use scheme is only for public (native) "
		       "clients";
		return PC_ERR_INVALID;
	}
	if (memchr(uri, '.', scheme_len) == NULL) {
		*why = "a private-use scheme must be a reverse domain name "
		       "(com.example.app:/cb)";
		return PC_ERR_INVALID;
	}
	if (path_len < 2 || rest[0] != '/' || rest[1] == '/') {
		*why = "a private-use scheme URI takes a path with a single "
		       "leading slash (com.example.app:/cb)";
		return PC_ERR_INVALID;
	}
	if (!path_ok(rest, path_len)) {
		*why = "dot segments (/./, /../) are not allowed";
		return PC_ERR_INVALID;
	}
	return 0;
}

/*
 * For "http://" + 127.0.0.1 or [::1]: *host_end is where the host ends
 * and *rest where the path begins (after any port). False otherwise, or
 * when the port is malformed.
 */
static bool
loopback_split(const char *u, size_t *host_end, size_t *rest)
{
	size_t h, i;

	if (strncmp(u, "http://127.0.0.1", 16) == 0)
		h = 16;
	else if (strncmp(u, "http://[::1]", 12) == 0)
		h = 12;
	else
		return false;
	i = h;
	if (u[i] == ':') {
		size_t n = strcspn(u + i + 1, "/?");

		if (!port_ok(u + i + 1, n))
			return false;
		i += 1 + n;
	}
	if (u[i] != '\0' && u[i] != '/' && u[i] != '?')
		return false;
	*host_end = h;
	*rest = i;
	return true;
}

bool
redirect_uri_match(const char *registered, const char *requested)
{
	size_t rh, rr, qh, qr;

	if (registered == NULL || requested == NULL)
		return false;
	if (strnlen(requested, REDIRECT_URI_MAX + 1) > REDIRECT_URI_MAX)
		return false;
	if (strcmp(registered, requested) == 0)
		return true;
	if (!loopback_split(registered, &rh, &rr) ||
	    !loopback_split(requested, &qh, &qr))
		return false;
	return rh == qh && memcmp(registered, requested, rh) == 0 &&
	    strcmp(registered + rr, requested + qr) == 0;
}
