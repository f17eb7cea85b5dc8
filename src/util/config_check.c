/*
 * The checks that run once every setting is loaded (config_finish()): the
 * issuer (https:// unless loopback or development mode, no path, a host
 * clients can reach), the listen address, the TLS pair, the store URL,
 * limits that depend on each other, trusted proxies; and the Host
 * allowlist requests are matched against (config_host_allowed(),
 * SECURITY.md HT-04).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/config.h"
#include "util/config_internal.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/util.h"

bool
config_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char h[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n >= 2 && n < sizeof(h) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
		host = h;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

int
config_split_hostport(struct str s, char **host, uint16_t *port, bool need_port)
{
	struct str h, p = STR_NULL;
	int64_t n = 0;

	if (s.len > 0 && s.p[0] == '[') {
		const char *e = memchr(s.p, ']', s.len);

		if (e == NULL)
			return PC_ERR_INVALID;
		h.p = s.p;
		h.len = (size_t)(e - s.p) + 1;
		if (h.len < s.len) {
			if (s.p[h.len] != ':')
				return PC_ERR_INVALID;
			p.p = s.p + h.len + 1;
			p.len = s.len - h.len - 1;
		}
	} else {
		const char *e = s.len > 0 ? memchr(s.p, ':', s.len) : NULL;

		h.p = s.p;
		h.len = e != NULL ? (size_t)(e - s.p) : s.len;
		if (e != NULL) {
			p.p = e + 1;
			p.len = s.len - h.len - 1;
		}
	}
	if (h.len == 0)
		return PC_ERR_INVALID;
	for (size_t i = 0; i < h.len; i++) {
		char ch = h.p[i];

		if (!(isalnum((unsigned char)ch) || ch == '.' || ch == '-' ||
			ch == '[' || ch == ']' || ch == ':'))
			return PC_ERR_INVALID;
	}
	if (p.p != NULL) {
		if (str_to_int64(p, 1, 65535, &n) != 0)
			return PC_ERR_INVALID;
	} else if (need_port) {
		return PC_ERR_INVALID;
	}
	*host = str_dup(h);
	*port = (uint16_t)n;
	return 0;
}

enum config_url_err
config_url_split(
    const char *url, bool *https, struct str *authority, struct str *path)
{
	struct str u = str_from(url), rest;
	const char *slash;

	*authority = *path = STR_NULL;
	if (str_has_prefix(u, "https://")) {
		*https = true;
		rest.p = u.p + 8;
		rest.len = u.len - 8;
	} else if (str_has_prefix(u, "http://")) {
		*https = false;
		rest.p = u.p + 7;
		rest.len = u.len - 7;
	} else {
		return CONFIG_URL_SCHEME;
	}
	for (size_t i = 0; i < u.len; i++) {
		unsigned char ch = (unsigned char)u.p[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' ||
		    ch == '@' || ch == '\\' || ch == '"' || ch == '<' ||
		    ch == '>')
			return CONFIG_URL_CHARS;
	}
	slash = rest.len > 0 ? memchr(rest.p, '/', rest.len) : NULL;
	authority->p = rest.p;
	authority->len = slash != NULL ? (size_t)(slash - rest.p) : rest.len;
	if (slash != NULL) {
		path->p = slash;
		path->len = rest.len - authority->len;
	}
	return CONFIG_URL_OK;
}

static bool host_syntax_ok(const char *h);

int
config_finish(struct config *c, char *err, size_t err_len)
{
	struct str auth, path;
	char *host = NULL;
	uint16_t port = 0;
	enum log_level lvl;
	int r = PC_ERR_CONFIG;

	free(c->issuer_scheme);
	free(c->issuer_authority);
	free(c->listen_host);
	c->issuer_scheme = c->issuer_authority = c->listen_host = NULL;

	switch (config_url_split(c->issuer, &c->issuer_https, &auth, &path)) {
	case CONFIG_URL_OK: break;
	case CONFIG_URL_SCHEME:
		config_errf(err, err_len,
		    "issuer '%s' must start with https://", c->issuer);
		return r;
	case CONFIG_URL_CHARS:
		config_errf(err, err_len,
		    "issuer '%s': no query, fragment, userinfo, spaces "
		    "or non-ASCII characters",
		    c->issuer);
		return r;
	}
	if (path.len > 0 && path.p[path.len - 1] == '/') {
		config_errf(err, err_len, "issuer '%s' must not end with '/'",
		    c->issuer);
		return r;
	}
	if (path.len > 0) {
		/* Every route is served at the root: an issuer path would
		 * advertise URLs that 404. */
		config_errf(err, err_len,
		    "issuer '%s': an issuer with a path is not supported yet; "
		    "use scheme://host[:port]",
		    c->issuer);
		return r;
	}
	if (config_split_hostport(auth, &host, &port, false) != 0) {
		config_errf(
		    err, err_len, "issuer '%s': bad host or port", c->issuer);
		return r;
	}
	c->issuer_loopback = config_host_is_loopback(host);
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "[::]") == 0) {
		config_errf(err, err_len,
		    "issuer '%s': %s is an address to listen on, not one "
		    "clients can reach; name the host they use (e.g. "
		    "http://localhost:%u in development)",
		    c->issuer, host, port != 0 ? (unsigned)port : 8080U);
		free(host);
		return r;
	}
	/* Production: http:// only on loopback. Development also allows a
	 * container or LAN host name (docker compose), with a warning at
	 * start (config_log_warnings). */
	if (!c->issuer_https && !c->issuer_loopback &&
	    c->mode != CONFIG_MODE_DEVELOPMENT) {
		config_errf(err, err_len,
		    "issuer '%s' uses http:// on a host that is not loopback; "
		    "use https:// (mode = development allows it for local "
		    "containers)",
		    c->issuer);
		free(host);
		return r;
	}
	free(host);
	host = NULL;
	c->issuer_scheme = xstrdup(c->issuer_https ? "https" : "http");
	c->issuer_authority = str_dup(auth);
	for (char *p = c->issuer_authority; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	/* HT-04: requests name the issuer in their Host header; an issuer
	 * host the Host check refuses ("a[b", "[zz]") would make the server
	 * refuse every request for itself. Found by fuzz_config. */
	if (!host_syntax_ok(c->issuer_authority)) {
		config_errf(
		    err, err_len, "issuer '%s': bad host or port", c->issuer);
		return r;
	}

	if (config_split_hostport(str_from(c->listen), &c->listen_host,
		&c->listen_port, true) != 0) {
		config_errf(
		    err, err_len, "listen '%s': expected HOST:PORT", c->listen);
		return r;
	}
	{
		const char *extra[] = { c->admin_listen, c->metrics_listen };
		const char *names[] = { "admin_listen", "metrics_listen" };

		for (size_t i = 0; i < PC_NELEM(extra); i++) {
			char *h = NULL;
			uint16_t p = 0;

			if (extra[i][0] == '\0')
				continue;
			if (config_split_hostport(
				str_from(extra[i]), &h, &p, true) != 0) {
				config_errf(err, err_len,
				    "%s '%s': expected HOST:PORT", names[i],
				    extra[i]);
				return r;
			}
			free(h);
			if (strcmp(extra[i], c->listen) == 0 ||
			    (i == 1 && strcmp(extra[1], extra[0]) == 0)) {
				config_errf(err, err_len,
				    "%s '%s': already taken by another "
				    "listener",
				    names[i], extra[i]);
				return r;
			}
		}
	}
	if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0')) {
		config_errf(err, err_len, "tls_cert and tls_key go together");
		return r;
	}
	if (c->tls_cert[0] != '\0' && !c->issuer_https) {
		config_errf(err, err_len,
		    "TLS is configured but the issuer '%s' is not https://",
		    c->issuer);
		return r;
	}
	if (log_level_parse(c->log_level, &lvl) != 0) {
		config_errf(err, err_len,
		    "log_level '%s': expected debug, info, warn or error",
		    c->log_level);
		return r;
	}
	if (strcmp(c->log_security_events, "all") != 0 &&
	    strcmp(c->log_security_events, "people") != 0 &&
	    strcmp(c->log_security_events, "off") != 0) {
		config_errf(err, err_len,
		    "log_security_events '%s': expected all, people or off",
		    c->log_security_events);
		return r;
	}
	if (c->store_url[0] != '\0' &&
	    (strncmp(c->store_url, "sqlite:", 7) != 0 ||
		c->store_url[7] == '\0') &&
	    (strncmp(c->store_url, "postgres://", 11) != 0 ||
		c->store_url[11] == '\0') &&
	    (strncmp(c->store_url, "postgresql://", 13) != 0 ||
		c->store_url[13] == '\0')) {
		config_errf(err, err_len,
		    "store_url: expected sqlite:PATH or postgres://...");
		return r;
	}
	/* CR-01: registration is off, by initial token, or open. */
	if (strcmp(c->client_registration, "off") != 0 &&
	    strcmp(c->client_registration, "token") != 0 &&
	    strcmp(c->client_registration, "open") != 0) {
		config_errf(err, err_len,
		    "client_registration '%s': expected off, token or open",
		    c->client_registration);
		return r;
	}
	/* Issue 16: a second factor is optional or required. */
	if (strcmp(c->mfa, "optional") != 0 &&
	    strcmp(c->mfa, "required") != 0) {
		config_errf(err, err_len,
		    "mfa '%s': expected optional or required", c->mfa);
		return r;
	}
	if (c->data_dir[0] == '\0') {
		config_errf(err, err_len, "data_dir must not be empty");
		return r;
	}
	/* RS-07: a total at or below the per-client share lets one client
	 * use up the account's whole mail budget, the owner's included. */
	if (c->mail_per_account_total <= c->mail_per_account) {
		config_errf(err, err_len,
		    "mail_per_account_total (%lld) must be above "
		    "mail_per_account (%lld): otherwise one client can use up "
		    "every mail of an account",
		    (long long)c->mail_per_account_total,
		    (long long)c->mail_per_account);
		return r;
	}
	/* Issue 17 item 6 (decision 0076): a key must sign long enough for
	 * its successor to be published first and for what it signed to
	 * expire and leave the JWKS before the next successor comes, and
	 * every node must load a successor before it signs. */
	if (c->signing_key_rotate_every > 0) {
		int64_t least = c->signing_key_activation_delay +
		    config_longest_token_ttl(c) +
		    c->signing_key_unpublish_margin;

		if (c->signing_key_rotate_every <= least) {
			config_errf(err, err_len,
			    "signing_key_rotate_every (%lld s) must exceed "
			    "signing_key_activation_delay + the longest token "
			    "lifetime (access_token_ttl, id_token_ttl, "
			    "exchange_token_ttl) + "
			    "signing_key_unpublish_margin "
			    "(%lld s)",
			    (long long)c->signing_key_rotate_every,
			    (long long)least);
			return r;
		}
		if (c->signing_key_activation_delay < c->signing_key_refresh) {
			config_errf(err, err_len,
			    "signing_key_activation_delay (%lld s) must not be "
			    "below signing_key_refresh (%lld s) when "
			    "signing_key_rotate_every is on: a node could sign "
			    "with a retired key",
			    (long long)c->signing_key_activation_delay,
			    (long long)c->signing_key_refresh);
			return r;
		}
	}
	/* AK-05: the default must itself be a lifetime a key may have. */
	if (c->api_key_default_ttl > c->api_key_max_ttl) {
		config_errf(err, err_len,
		    "api_key_default_ttl (%lld s) must not be above "
		    "api_key_max_ttl (%lld s)",
		    (long long)c->api_key_default_ttl,
		    (long long)c->api_key_max_ttl);
		return r;
	}
	{
		/* LG-05: a bad list must stop start-up, not trust nobody. */
		struct netaddr_list tp;
		char why[160];

		if (netaddr_list_parse(
			c->trusted_proxies, &tp, why, sizeof(why)) != 0) {
			config_errf(err, err_len,
			    "trusted_proxies: %s (expected comma-separated IP "
			    "addresses or CIDRs, e.g. 10.0.0.0/8, ::1)",
			    why);
			return r;
		}
		netaddr_list_free(&tp);
	}
	{
		/* DS-05: a bad allow-list must stop start-up, not open or
		 * close outbound fetches by surprise. */
		struct netaddr_list an;
		uint16_t ports[NETADDR_PORTS_MAX];
		size_t np;
		char why[160];

		if (netaddr_list_parse(c->outbound_allow_networks, &an, why,
			sizeof(why)) != 0) {
			config_errf(err, err_len,
			    "outbound_allow_networks: %s (expected "
			    "comma-separated CIDRs, e.g. 10.0.0.0/8, fd00::/8)",
			    why);
			return r;
		}
		netaddr_list_free(&an);
		if (netaddr_ports_parse(c->outbound_allow_ports, ports, &np,
			why, sizeof(why)) != 0) {
			config_errf(err, err_len,
			    "outbound_allow_ports: %s (expected "
			    "comma-separated ports, e.g. 443, 8443)",
			    why);
			return r;
		}
		if (c->outbound_connect_timeout > c->outbound_timeout) {
			config_errf(err, err_len,
			    "outbound_connect_timeout (%lld) must not exceed "
			    "outbound_timeout (%lld)",
			    (long long)c->outbound_connect_timeout,
			    (long long)c->outbound_timeout);
			return r;
		}
	}
	return 0;
}

int64_t
config_longest_token_ttl(const struct config *c)
{
	int64_t t = c->access_token_ttl > c->id_token_ttl ? c->access_token_ttl
							  : c->id_token_ttl;

	/* Exchanged machine tokens (issue 14) may outlive both. */
	return c->exchange_token_ttl > t ? c->exchange_token_ttl : t;
}

static void
default_port_of(const struct config *c, char *out, size_t n)
{
	snprintf(out, n, "%s", c->issuer_https ? "443" : "80");
}

/* Whether a has a ":port" after its host part (brackets for IPv6). */
static bool
has_port(const char *a, size_t alen)
{
	const char *colon = NULL;

	for (size_t i = 0; i < alen; i++) {
		if (a[i] == ']')
			colon = NULL;
		else if (a[i] == ':')
			colon = a + i;
	}
	return colon != NULL && (a[0] != '[' || memchr(a, ']', alen) != NULL);
}

/* Compares "host[:port]" allowing an explicit default port on one side
 * when the other has none. */
static bool
authority_eq(const struct config *c, const char *a, size_t alen, const char *b)
{
	char def[8];
	size_t blen = strlen(b), dlen;

	if (alen == blen && strncasecmp(a, b, alen) == 0)
		return true;
	default_port_of(c, def, sizeof(def));
	dlen = strlen(def);
	/* a = b + ":" + default port, b without a port */
	if (!has_port(b, blen) && alen == blen + 1 + dlen &&
	    strncasecmp(a, b, blen) == 0 && a[blen] == ':' &&
	    memcmp(a + blen + 1, def, dlen) == 0)
		return true;
	/* b = a + ":" + default port, a without a port */
	if (!has_port(a, alen) && blen == alen + 1 + dlen &&
	    strncasecmp(a, b, alen) == 0 && b[alen] == ':' &&
	    memcmp(b + alen + 1, def, dlen) == 0)
		return true;
	return false;
}

/*
 * A Host header value (RFC 9110 §7.2): reg-name or IPv4 of letters, digits,
 * '.' and '-', or a bracketed IPv6 literal, then at most one ":port" of
 * 1-5 digits.
 */
static bool
host_syntax_ok(const char *h)
{
	size_t n = strlen(h), i = 0, digits = 0;

	if (n == 0 || n > 255)
		return false;
	if (h[0] == '[') {
		const char *e = strchr(h, ']');

		if (e == NULL || e == h + 1)
			return false;
		for (const char *p = h + 1; p < e; p++) {
			if (!isxdigit((unsigned char)*p) && *p != ':' &&
			    *p != '.')
				return false;
		}
		i = (size_t)(e - h) + 1;
	} else {
		while (i < n &&
		    (isalnum((unsigned char)h[i]) || h[i] == '.' ||
			h[i] == '-'))
			i++;
		if (i == 0)
			return false;
	}
	if (i == n)
		return true;
	if (h[i] != ':')
		return false;
	for (i++; i < n; i++, digits++) {
		if (!isdigit((unsigned char)h[i]))
			return false;
	}
	return digits >= 1 && digits <= 5;
}

bool
config_host_allowed(const struct config *c, const char *host)
{
	const char *p, *e;

	if (host == NULL || !host_syntax_ok(host))
		return false;
	if (authority_eq(c, host, strlen(host), c->issuer_authority))
		return true;
	for (p = c->allowed_hosts; p != NULL && *p != '\0'; p = e) {
		char one[256];
		size_t n;

		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (e != NULL)
			e++;
		struct str t = str_trim((struct str){ p, n });
		if (t.len == 0 || t.len >= sizeof(one))
			continue;
		memcpy(one, t.p, t.len);
		one[t.len] = '\0';
		if (authority_eq(c, host, strlen(host), one))
			return true;
	}
	return false;
}

bool
config_issuer_insecure(const struct config *c)
{
	return !c->issuer_https && !c->issuer_loopback;
}

void
config_log_warnings(const struct config *c)
{
	struct log_line l;

	if (!config_issuer_insecure(c))
		return;
	log_begin(&l, LOG_WARN, "config.insecure_issuer");
	log_str(&l, "issuer", c->issuer);
	log_str(&l, "msg",
	    "DEVELOPMENT ONLY: the issuer is http:// on a host that is not "
	    "loopback. Everything travels in clear text; cookies are not "
	    "Secure and have no __Host- prefix; browsers allow passkeys "
	    "(WebAuthn) only in a secure context (https:// or localhost), "
	    "so they will not work here. Production mode refuses this "
	    "issuer.");
	log_end(&l);
}
