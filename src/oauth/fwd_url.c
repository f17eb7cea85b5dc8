/*
 * Forward-auth's pure checks (decision 0075): a protected host's
 * authority (FA-02), the return URL rd (FA-03), the request path a rule is
 * matched against (FA-04), and what may go into a header. Strings in,
 * decisions out: no store, no clock.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oauth/fwdauth.h"

static bool
is_alnum_lc(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int host_norm(const char *in, char out[FWD_HOST_MAX + 1]);

int
fwd_host_norm(const char *in, char out[FWD_HOST_MAX + 1])
{
	int r = host_norm(in, out);

	if (r != 0)
		out[0] = '\0'; /* nothing half-checked is left behind */
	return r;
}

static int
host_norm(const char *in, char out[FWD_HOST_MAX + 1])
{
	size_t n, name_len, o = 0, label = 0;
	const char *colon;

	out[0] = '\0';
	if (in == NULL)
		return PC_ERR_INVALID;
	n = strnlen(in, FWD_HOST_MAX + 1);
	if (n == 0 || n > FWD_HOST_MAX)
		return PC_ERR_INVALID;
	colon = memchr(in, ':', n);
	name_len = colon != NULL ? (size_t)(colon - in) : n;
	if (name_len == 0 || name_len > 253)
		return PC_ERR_INVALID;
	for (size_t i = 0; i < name_len; i++) {
		char c = lower(in[i]);

		if (c == '.') {
			/* No empty label, none ending in '-'. */
			if (label == 0 || out[o - 1] == '-')
				return PC_ERR_INVALID;
			label = 0;
		} else if (is_alnum_lc(c) || (c == '-' && label > 0)) {
			if (++label > 63)
				return PC_ERR_INVALID;
		} else {
			return PC_ERR_INVALID;
		}
		out[o++] = c;
	}
	if (label == 0 || out[o - 1] == '-')
		return PC_ERR_INVALID; /* a trailing dot or '-' */
	if (colon != NULL) {
		const char *p = colon + 1;
		size_t plen = n - name_len - 1;
		long port = 0;

		if (plen == 0 || plen > 5 || p[0] == '0')
			return PC_ERR_INVALID;
		for (size_t i = 0; i < plen; i++) {
			if (p[i] < '0' || p[i] > '9')
				return PC_ERR_INVALID;
			port = port * 10 + (p[i] - '0');
		}
		if (port < 1 || port > 65535)
			return PC_ERR_INVALID;
		if (port != 443) {
			out[o++] = ':';
			memcpy(out + o, p, plen);
			o += plen;
		}
	}
	out[o] = '\0';
	return 0;
}

int
fwd_rd_parse(const char *rd, char host[FWD_HOST_MAX + 1], char **url)
{
	static const char scheme[] = "https://";
	char auth[FWD_HOST_MAX + 1];
	const char *p, *rest, *end;
	size_t n, alen;
	struct buf b;

	*url = NULL;
	host[0] = '\0';
	if (rd == NULL)
		return PC_ERR_INVALID;
	n = strnlen(rd, FWD_URL_MAX + 1);
	if (n == 0 || n > FWD_URL_MAX)
		return PC_ERR_INVALID;
	/* Printable ASCII, no backslash anywhere ("https:/\evil"). */
	for (size_t i = 0; i < n; i++)
		if (rd[i] <= 0x20 || rd[i] >= 0x7f || rd[i] == '\\')
			return PC_ERR_INVALID;
	if (n < sizeof(scheme) - 1 ||
	    strncasecmp(rd, scheme, sizeof(scheme) - 1) != 0)
		return PC_ERR_INVALID; /* "//evil", "http:", "javascript:" */
	p = rd + sizeof(scheme) - 1;
	end = rd + n;
	rest = p;
	while (rest < end && *rest != '/' && *rest != '?' && *rest != '#')
		rest++;
	alen = (size_t)(rest - p);
	/* No userinfo, no escapes in the authority. */
	if (alen == 0 || alen > FWD_HOST_MAX || memchr(p, '@', alen) != NULL ||
	    memchr(p, '%', alen) != NULL)
		return PC_ERR_INVALID;
	memcpy(auth, p, alen);
	auth[alen] = '\0';
	if (fwd_host_norm(auth, host) != 0)
		return PC_ERR_INVALID;
	/* The fragment never reaches a server; drop it. */
	{
		const char *hash = memchr(rest, '#', (size_t)(end - rest));

		if (hash != NULL)
			end = hash;
	}
	buf_init(&b, FWD_URL_MAX + FWD_HOST_MAX + 16);
	if (buf_puts(&b, "https://") != 0 || buf_puts(&b, host) != 0)
		goto bad;
	if (rest == end || *rest == '?') {
		if (buf_puts(&b, "/") != 0)
			goto bad;
	} else {
		/* "https://app//x" stays on app, but say it once. */
		while (rest + 1 < end && rest[1] == '/')
			rest++;
		if ((size_t)(end - rest) >= strlen(FWD_PREFIX) &&
		    strncmp(rest, FWD_PREFIX, strlen(FWD_PREFIX)) == 0)
			rest = end; /* never back into the dance */
		if (rest == end && buf_puts(&b, "/") != 0)
			goto bad;
	}
	if (buf_put(&b, rest, (size_t)(end - rest)) != 0)
		goto bad;
	*url = buf_steal(&b);
	return 0;
bad:
	buf_free(&b);
	host[0] = '\0';
	return PC_ERR_INVALID;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
fwd_path_norm(const char *uri, char **out)
{
	size_t n, o = 0, seg = 0;
	char *d;

	*out = NULL;
	if (uri == NULL || uri[0] != '/')
		return PC_ERR_INVALID;
	n = strcspn(uri, "?#");
	if (n > FWD_URL_MAX)
		return PC_ERR_INVALID;
	/* Decoded into d, segment by segment; o is d's length, seg where the
	 * current segment starts. */
	d = xmalloc(n + 2);
	d[o++] = '/';
	seg = o;
	for (size_t i = 1; i <= n; i++) {
		char c = i < n ? uri[i] : '/';
		bool sep = i == n || c == '/';

		if (!sep) {
			unsigned char u;

			if (c == '%') {
				int hi = i + 2 < n ? hexval(uri[i + 1]) : -1;
				int lo = hi >= 0 ? hexval(uri[i + 2]) : -1;

				if (hi < 0 || lo < 0)
					goto bad;
				c = (char)(hi * 16 + lo);
				i += 2;
				if (c == '/')
					goto bad; /* an escaped separator */
			}
			u = (unsigned char)c;
			if (u < 0x20 || u == 0x7f || c == '\\')
				goto bad;
			d[o++] = c;
			continue;
		}
		/* End of a segment: d[seg, o). */
		if (o == seg || (o - seg == 1 && d[seg] == '.')) {
			o = seg; /* "" or "." */
		} else if (o - seg == 2 && d[seg] == '.' && d[seg + 1] == '.') {
			if (seg == 1)
				goto bad; /* above the root */
			o = seg - 1; /* drop "/.." and the segment before */
			while (o > 0 && d[o - 1] != '/')
				o--;
		} else {
			d[o++] = '/';
		}
		seg = o;
	}
	/* Drop the trailing '/' (segments compare without it). */
	if (o > 1 && d[o - 1] == '/')
		o--;
	d[o] = '\0';
	*out = d;
	return 0;
bad:
	free(d);
	return PC_ERR_INVALID;
}

bool
fwd_prefix_valid(const char *prefix)
{
	char *norm = NULL;
	size_t n;
	bool ok;

	if (prefix == NULL)
		return false;
	n = strnlen(prefix, FWD_PREFIX_MAX + 1);
	if (n == 0 || n > FWD_PREFIX_MAX || prefix[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (prefix[i] <= 0x20 || prefix[i] >= 0x7f ||
		    strchr("%\\?#", prefix[i]) != NULL)
			return false;
	/* Already in the normal form fwd_path_norm gives. */
	if (fwd_path_norm(prefix, &norm) != 0)
		return false;
	ok = strcmp(norm, prefix) == 0;
	free(norm);
	return ok;
}

bool
fwd_prefix_match(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);

	if (strcmp(prefix, "/") == 0)
		return true;
	return strncmp(prefix, path, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

bool
fwd_header_safe(const char *v)
{
	if (v == NULL || v[0] == '\0')
		return false;
	for (const char *p = v; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == ',' || *p == ';')
			return false;
	return true;
}

bool
fwd_amr_mfa(const char *amr)
{
	const char *p = amr;

	if (p == NULL)
		return false;
	while (*p != '\0') {
		size_t w = strcspn(p, " ");

		if (w == 3 && strncmp(p, "mfa", 3) == 0)
			return true;
		p += w;
		while (*p == ' ')
			p++;
	}
	return false;
}
