/*
 * IP addresses, CIDR lists and the client address behind trusted proxies
 * (SECURITY.md LG-05). Parsing goes through inet_pton(3) on a bounded,
 * NUL-terminated copy; output through inet_ntop(3), so every address that
 * leaves this file is in canonical form.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/netaddr.h"

/* Longer texts are never addresses; they are refused before any copy. */
#define TEXT_CAP 64

static const uint8_t mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The raw 16 bytes of an address text (IPv4 in a[0..3]); *v6text says
 * whether the text was IPv6 syntax.
 */
static int
parse_raw(const char *p, size_t len, uint8_t a[16], bool *v6text)
{
	char tmp[TEXT_CAP];

	memset(a, 0, 16);
	if (len == 0 || len >= sizeof(tmp) || memchr(p, '\0', len) != NULL)
		return PC_ERR_INVALID;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	*v6text = memchr(p, ':', len) != NULL;
	if (inet_pton(*v6text ? AF_INET6 : AF_INET, tmp, a) != 1)
		return PC_ERR_INVALID;
	return 0;
}

static bool
raw_is_mapped(const uint8_t a[16])
{
	return memcmp(a, mapped_prefix, sizeof(mapped_prefix)) == 0;
}

int
netaddr_parse(const char *p, size_t len, struct netaddr *out)
{
	uint8_t raw[16];
	bool v6text;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = parse_raw(p, len, raw, &v6text)) != 0)
		return r;
	if (!v6text) {
		memcpy(out->a, raw, 4);
		out->v4 = true;
	} else if (raw_is_mapped(raw)) {
		memcpy(out->a, raw + 12, 4);
		out->v4 = true;
	} else {
		memcpy(out->a, raw, 16);
	}
	return 0;
}

int
netaddr_format(const struct netaddr *a, char *out, size_t n)
{
	char tmp[INET6_ADDRSTRLEN];
	size_t len;

	if (n > 0)
		out[0] = '\0';
	if (inet_ntop(a->v4 ? AF_INET : AF_INET6, a->a, tmp, sizeof(tmp)) ==
	    NULL)
		return PC_ERR_INTERNAL;
	len = strlen(tmp);
	if (len >= n)
		return PC_ERR_TOO_LARGE;
	memcpy(out, tmp, len + 1);
	return 0;
}

static bool
prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

/* Whether every bit of a (bits bits long) from prefix on is zero. */
static bool
host_bits_zero(const uint8_t *a, unsigned bits, unsigned prefix)
{
	for (unsigned i = prefix; i < bits; i++)
		if ((a[i / 8] & (0x80u >> (i % 8))) != 0)
			return false;
	return true;
}

bool
netaddr_list_match(const struct netaddr_list *l, const struct netaddr *a)
{
	if (l == NULL)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		const struct netaddr_net *e = &l->v[i];

		if (e->addr.v4 == a->v4 &&
		    prefix_match(e->addr.a, a->a, e->prefix))
			return true;
	}
	return false;
}

bool
netaddr_list_contains(const struct netaddr_list *l, const char *ip)
{
	struct netaddr a;

	return ip != NULL && netaddr_parse(ip, strlen(ip), &a) == 0 &&
	    netaddr_list_match(l, &a);
}

void
netaddr_list_free(struct netaddr_list *l)
{
	if (l == NULL)
		return;
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* "0".."max" in decimal, no sign, no leading zeros. */
static int
parse_prefix(const char *p, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 3 || (len > 1 && p[0] == '0'))
		return PC_ERR_INVALID;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return PC_ERR_INVALID;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > max)
		return PC_ERR_INVALID;
	*out = v;
	return 0;
}

/* One list entry, already trimmed: "ADDR" or "ADDR/PREFIX". */
static int
parse_net(const char *p, size_t len, struct netaddr_net *out, const char **why)
{
	const char *slash = memchr(p, '/', len);
	size_t alen = slash != NULL ? (size_t)(slash - p) : len;
	uint8_t raw[16];
	unsigned prefix, bits;
	bool v6text;

	memset(out, 0, sizeof(*out));
	*why = "not an IP address or CIDR";
	if (parse_raw(p, alen, raw, &v6text) != 0)
		return PC_ERR_INVALID;
	bits = v6text ? 128 : 32;
	prefix = bits;
	if (slash != NULL &&
	    parse_prefix(slash + 1, len - alen - 1, bits, &prefix) != 0) {
		*why = v6text ? "the prefix length must be 0..128"
			      : "the prefix length must be 0..32";
		return PC_ERR_INVALID;
	}
	if (!host_bits_zero(raw, bits, prefix)) {
		*why = "host bits are set after the prefix length";
		return PC_ERR_INVALID;
	}
	if (!v6text) {
		memcpy(out->addr.a, raw, 4);
		out->addr.v4 = true;
		out->prefix = prefix;
	} else if (prefix >= 96 && raw_is_mapped(raw)) {
		memcpy(out->addr.a, raw + 12, 4);
		out->addr.v4 = true;
		out->prefix = prefix - 96;
	} else {
		memcpy(out->addr.a, raw, 16);
		out->prefix = prefix;
	}
	return 0;
}

int
netaddr_list_parse(
    const char *spec, struct netaddr_list *out, char *err, size_t err_len)
{
	struct netaddr_list l = { NULL, 0 };
	const char *p = spec != NULL ? spec : "", *end, *why;
	bool blank = true;
	int r = PC_ERR_CONFIG;

	out->v = NULL;
	out->n = 0;
	for (const char *q = p; *q != '\0'; q++)
		if (!is_ows(*q))
			blank = false;
	if (blank)
		return 0;
	for (;;) {
		const char *s = p, *e;

		end = strchr(p, ',');
		e = end != NULL ? end : p + strlen(p);
		while (s < e && is_ows(*s))
			s++;
		while (e > s && is_ows(e[-1]))
			e--;
		if (s == e) {
			snprintf(err, err_len, "an entry is empty");
			goto out;
		}
		if (l.n == NETADDR_LIST_MAX) {
			snprintf(err, err_len, "more than %d entries",
			    NETADDR_LIST_MAX);
			goto out;
		}
		if (l.n % 16 == 0)
			l.v = xrealloc(l.v, (l.n + 16) * sizeof(*l.v));
		if (parse_net(s, (size_t)(e - s), &l.v[l.n], &why) != 0) {
			snprintf(err, err_len, "'%.*s': %s",
			    (int)((size_t)(e - s) > 64 ? 64 : e - s), s, why);
			goto out;
		}
		l.n++;
		if (end == NULL)
			break;
		p = end + 1;
	}
	*out = l;
	l.v = NULL;
	r = 0;
out:
	free(l.v);
	return r;
}

int
netaddr_ports_parse(const char *spec, uint16_t out[NETADDR_PORTS_MAX],
    size_t *n, char *err, size_t err_len)
{
	const char *p = spec != NULL ? spec : "";
	bool blank = true;

	*n = 0;
	for (const char *q = p; *q != '\0'; q++)
		if (!is_ows(*q))
			blank = false;
	if (blank)
		return 0;
	for (;;) {
		const char *s = p, *e, *end = strchr(p, ',');
		unsigned long v = 0;

		e = end != NULL ? end : p + strlen(p);
		while (s < e && is_ows(*s))
			s++;
		while (e > s && is_ows(e[-1]))
			e--;
		if (*n == NETADDR_PORTS_MAX) {
			snprintf(err, err_len, "more than %d ports",
			    NETADDR_PORTS_MAX);
			goto bad;
		}
		if (s == e || e - s > 5 || *s == '0')
			goto entry;
		for (const char *q = s; q < e; q++) {
			if (*q < '0' || *q > '9')
				goto entry;
			v = v * 10 + (unsigned long)(*q - '0');
		}
		if (v > 65535)
			goto entry;
		out[(*n)++] = (uint16_t)v;
		if (end == NULL)
			return 0;
		p = end + 1;
		continue;
entry:
		snprintf(err, err_len, "'%.*s' is not a port (1-65535)",
		    (int)((size_t)(e - s) > 16 ? 16 : e - s), s);
		goto bad;
	}
bad:
	*n = 0;
	return PC_ERR_CONFIG;
}

int
netaddr_subnet_key(const char *ip, char *out, size_t n)
{
	struct netaddr a;
	char text[NETADDR_TEXT_MAX];
	int r, len;

	if (n > 0)
		out[0] = '\0';
	if (ip == NULL || netaddr_parse(ip, strlen(ip), &a) != 0)
		return PC_ERR_INVALID;
	if (a.v4)
		a.a[3] = 0;
	else
		memset(a.a + 8, 0, 8);
	if ((r = netaddr_format(&a, text, sizeof(text))) != 0)
		return r;
	len = snprintf(out, n, "%s/%d", text, a.v4 ? 24 : 64);
	if (len < 0 || (size_t)len >= n) {
		if (n > 0)
			out[0] = '\0';
		return PC_ERR_TOO_LARGE;
	}
	return 0;
}

int
netaddr_client_ip(const struct netaddr_list *trusted, const char *peer,
    const char *xff, char *out, size_t n)
{
	struct netaddr cur, hop;
	const char *end;

	if (n > 0)
		out[0] = '\0';
	if (n < NETADDR_TEXT_MAX)
		return PC_ERR_TOO_LARGE;
	if (peer == NULL || netaddr_parse(peer, strlen(peer), &cur) != 0)
		return PC_ERR_INVALID;
	if (xff == NULL || !netaddr_list_match(trusted, &cur))
		return netaddr_format(&cur, out, n);
	/* cur is trusted: believe what it says about the hop before it. */
	end = xff + strlen(xff);
	for (;;) {
		const char *s = end, *e = end;

		while (s > xff && s[-1] != ',')
			s--;
		while (s < e && is_ows(*s))
			s++;
		while (e > s && is_ows(e[-1]))
			e--;
		if (netaddr_parse(s, (size_t)(e - s), &hop) != 0)
			break; /* malformed: keep the last trusted hop */
		cur = hop;
		if (!netaddr_list_match(trusted, &hop))
			break; /* the first untrusted hop is the client */
		while (s > xff && s[-1] != ',')
			s--;
		if (s == xff)
			break; /* the whole chain is trusted */
		end = s - 1;
	}
	return netaddr_format(&cur, out, n);
}
