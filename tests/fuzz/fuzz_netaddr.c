/*
 * libFuzzer driver for util/netaddr.c (LG-05). Input: "SPEC\nPEER\nXFF"
 * (no second newline: no X-Forwarded-For). Checks: no crash; a refused
 * list comes back empty; the client IP is canonical, is the peer when the
 * peer is untrusted, and otherwise is the peer or one of the header's
 * entries, never anything else; the subnet key exists exactly for valid
 * addresses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The canonical form of len bytes of text, or "" when not an address. */
static void
canon(const char *p, size_t len, char out[NETADDR_TEXT_MAX])
{
	struct netaddr a;

	out[0] = '\0';
	if (netaddr_parse(p, len, &a) == 0 &&
	    netaddr_format(&a, out, NETADDR_TEXT_MAX) != 0)
		abort();
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether want is the canonical form of some entry of xff. */
static int
in_header(const char *xff, const char *want)
{
	char c[NETADDR_TEXT_MAX];
	const char *p = xff;

	for (;;) {
		const char *e = strchr(p, ','), *s = p, *t;

		t = e != NULL ? e : p + strlen(p);
		while (s < t && is_ows(*s))
			s++;
		while (t > s && is_ows(t[-1]))
			t--;
		canon(s, (size_t)(t - s), c);
		if (c[0] != '\0' && strcmp(c, want) == 0)
			return 1;
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netaddr_list l;
	char *buf, *peer, *xff = NULL, *nl;
	char out[NETADDR_TEXT_MAX], again[NETADDR_TEXT_MAX],
	    pc[NETADDR_TEXT_MAX], key[NETADDR_KEY_MAX], err[160];
	int r;

	if (size > 16384)
		return 0;
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	/* An embedded NUL ends the text, as it would in a C string. */
	peer = strchr(buf, '\n');
	if (peer == NULL)
		peer = buf + strlen(buf);
	else
		*peer++ = '\0';
	if ((nl = strchr(peer, '\n')) != NULL) {
		*nl = '\0';
		xff = nl + 1;
	}

	r = netaddr_list_parse(buf, &l, err, sizeof(err));
	if (r != 0 && (l.v != NULL || l.n != 0 || err[0] == '\0'))
		abort();
	if (l.n > NETADDR_LIST_MAX)
		abort();

	canon(peer, strlen(peer), pc);
	r = netaddr_client_ip(&l, peer, xff, out, sizeof(out));
	if ((r == 0) != (pc[0] != '\0'))
		abort();
	if (r == 0) {
		canon(out, strlen(out), again);
		if (strcmp(out, again) != 0)
			abort();
		if (!netaddr_list_contains(&l, peer) || xff == NULL) {
			if (strcmp(out, pc) != 0)
				abort();
		} else if (strcmp(out, pc) != 0 && !in_header(xff, out)) {
			abort();
		}
		/* The subnet key of any valid address fits. */
		if (netaddr_subnet_key(out, key, sizeof(key)) != 0)
			abort();
	} else if (out[0] != '\0') {
		abort();
	}
	if ((netaddr_subnet_key(peer, key, sizeof(key)) == 0) != (r == 0))
		abort();
	netaddr_list_free(&l);
	free(buf);
	return 0;
}
