/*
 * netaddr: IP addresses and CIDR lists for the client-IP derivation behind
 * trusted proxies (SECURITY.md LG-05) and the subnet keys of the login
 * throttle (LG-04).
 *
 * Addresses are IPv4 or IPv6 in the forms inet_pton(3) accepts (no zone
 * ids, no brackets, no ports, no leading zeros in IPv4 octets). An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is treated as the IPv4
 * address a.b.c.d everywhere, and every address this module writes out is
 * the canonical inet_ntop(3) form.
 */
#ifndef PC_NETADDR_H
#define PC_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Longest canonical text of an address ("ffff:...:255.255.255.255"). */
#define NETADDR_TEXT_MAX 46
/* Longest subnet key: an address plus "/64". */
#define NETADDR_KEY_MAX (NETADDR_TEXT_MAX + 4)
/* Entries a trusted-proxy list may hold. */
#define NETADDR_LIST_MAX 256

struct netaddr {
	uint8_t a[16]; /* IPv4: a[0..3], rest zero */
	bool v4;
};

struct netaddr_net {
	struct netaddr addr; /* host bits zero */
	unsigned prefix;     /* 0..32 for IPv4, 0..128 for IPv6 */
};

struct netaddr_list {
	struct netaddr_net *v;
	size_t n;
};

/*
 * One address from len bytes of text (no surrounding space). PC_ERR_INVALID
 * for anything else.
 */
int netaddr_parse(const char *p, size_t len, struct netaddr *out) PC_WUR;
/* The canonical text of a; 0 or PC_ERR_TOO_LARGE when n is too small. */
int netaddr_format(const struct netaddr *a, char *out, size_t n) PC_WUR;

/*
 * A comma-separated list of addresses and CIDRs ("10.0.0.0/8, ::1,
 * 2001:db8::/32"); spaces and tabs around entries are ignored, an empty or
 * blank spec is the empty list. A bare address is a /32 or /128. Refused
 * (PC_ERR_CONFIG, err says which entry and why): an empty entry, a
 * malformed address or prefix, a prefix with host bits set ("10.0.0.1/8",
 * usually a typo), more than NETADDR_LIST_MAX entries. An IPv6 CIDR inside
 * ::ffff:0:0/96 with a prefix of at least 96 is the IPv4 network it maps;
 * an IPv6 CIDR otherwise never matches an IPv4 address (so "::/0" means
 * every IPv6 address, not every address). out is empty on failure; free it
 * with netaddr_list_free().
 */
int netaddr_list_parse(const char *spec, struct netaddr_list *out, char *err,
    size_t err_len) PC_WUR;
void netaddr_list_free(struct netaddr_list *l);
bool netaddr_list_match(const struct netaddr_list *l, const struct netaddr *a);
/* Whether ip (text) is a valid address inside one of l's entries. */
bool netaddr_list_contains(const struct netaddr_list *l, const char *ip);

/* Ports a port list may hold (outbound_allow_ports, DS-05). */
#define NETADDR_PORTS_MAX 32
/*
 * A comma-separated list of TCP ports ("443, 8443"), each 1..65535 in
 * decimal without sign or leading zero; spaces and tabs around entries are
 * ignored, a blank spec is the empty list (*n = 0). PC_ERR_CONFIG (err
 * says which entry) for anything else or more than NETADDR_PORTS_MAX.
 */
int netaddr_ports_parse(const char *spec, uint16_t out[NETADDR_PORTS_MAX],
    size_t *n, char *err, size_t err_len) PC_WUR;

/*
 * The subnet an address counts against for LG-04: "203.0.113.0/24" for
 * IPv4 (and IPv4-mapped), "2001:db8:1:2::/64" for IPv6. PC_ERR_INVALID for
 * a malformed ip, PC_ERR_TOO_LARGE when n is too small.
 */
int netaddr_subnet_key(const char *ip, char *out, size_t n) PC_WUR;

/*
 * The client address of a request (LG-05). peer is the TCP peer's address
 * text; xff the X-Forwarded-For value (all of the request's
 * X-Forwarded-For fields joined with ",", in order), or NULL.
 *
 * Peer not in trusted: the peer; the header is ignored. Peer trusted: the
 * header is walked right to left, skipping addresses that are themselves
 * trusted, and the first untrusted valid address is the client. A
 * malformed or empty entry stops the walk and the last trusted hop (the
 * peer, or the trusted entry right of it) is the client, so the result is
 * never a string the client chose unless a trusted proxy vouched for it.
 * out gets the canonical text. PC_ERR_INVALID when peer is not an address,
 * PC_ERR_TOO_LARGE when n < NETADDR_TEXT_MAX.
 */
int netaddr_client_ip(const struct netaddr_list *trusted, const char *peer,
    const char *xff, char *out, size_t n) PC_WUR;

#endif
