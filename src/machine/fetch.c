/*
 * Outbound https fetches (SECURITY.md DS-05): the one way Portcullis
 * reaches out to a URL someone configured — today the jwks_uri of a
 * workload-federation trust, later issue 10's fetches. Shared settings:
 * outbound_ca_file, outbound_allow_networks, outbound_allow_ports and the
 * timeouts and size cap below.
 *
 * The rules, in order:
 *   - https only (the URL's scheme, and libcurl's allowed protocols), no
 *     userinfo, no fragment, no redirects (a 3xx is a failure);
 *   - the port must be 443, or one of outbound_allow_ports when that
 *     list is set (it then replaces 443);
 *   - the host is resolved here (localhost and *.localhost as loopback
 *     without DNS, RFC 6761); the first address that passes the policy
 *     is used. A special-purpose address (loopback, private, link-local,
 *     unspecified, multicast, shared, reserved, documentation, and IPv6
 *     transition forms that embed an IPv4 address: IPv4-mapped addresses
 *     are read as the IPv4 address they carry) passes only when it lies
 *     in outbound_allow_networks;
 *   - that address is pinned for the connection (CURLOPT_RESOLVE) and
 *     checked again where the socket is opened (CURLOPT_OPENSOCKETFUNCTION):
 *     a DNS answer that changes between the check and the connect (DNS
 *     rebinding) cannot move the connection; no proxy is used;
 *   - connect and total timeouts, a body cap (outbound_max_size), status
 *     200 only, no content decoding (nothing to decompress).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "machine/machine.h"
#include "util/config.h"
#include "util/log.h"
#include "util/netaddr.h"

/* Longest URL fetched. */
#define FETCH_URL_MAX 2048

/*
 * Special-purpose ranges (IANA IPv4 and IPv6 special-purpose address
 * registries), blocked unless allowed. IPv6 forms that embed an IPv4
 * address (IPv4-compatible, NAT64, 6to4, Teredo) are blocked whole: their
 * IPv4 part could be anything.
 */
static const char special_spec[] =
    "0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16,"
    " 172.16.0.0/12, 192.0.0.0/24, 192.0.2.0/24, 192.88.99.0/24,"
    " 192.168.0.0/16, 198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24,"
    " 224.0.0.0/4, 240.0.0.0/4,"
    " ::/96, 64:ff9b::/96, 64:ff9b:1::/48, 100::/64, 2001::/23,"
    " 2001:db8::/32, 2002::/16, fc00::/7, fe80::/10, fec0::/10, ff00::/8";

static pthread_once_t special_once = PTHREAD_ONCE_INIT;
static struct netaddr_list special;
static int special_rc = PC_ERR_INTERNAL;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_rc = CURLE_FAILED_INIT;

static void
special_init(void)
{
	char err[128];

	special_rc =
	    netaddr_list_parse(special_spec, &special, err, sizeof(err));
}

static void
fetch_curl_init(void)
{
	curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool
fetch_addr_special(const struct netaddr *a)
{
	if (pthread_once(&special_once, special_init) != 0 || special_rc != 0)
		return true; /* fail closed */
	return netaddr_list_match(&special, a);
}

int
fetch_policy_init(
    const struct config *cfg, struct fetch_policy *p, char *err, size_t err_len)
{
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = netaddr_list_parse(
		 cfg->outbound_allow_networks, &p->allow, err, err_len)) != 0)
		return r;
	if ((r = netaddr_ports_parse(cfg->outbound_allow_ports, p->ports,
		 &p->n_ports, err, err_len)) != 0) {
		netaddr_list_free(&p->allow);
		return r;
	}
	if (cfg->outbound_ca_file != NULL && cfg->outbound_ca_file[0] != '\0')
		p->ca_file = xstrdup(cfg->outbound_ca_file);
	p->connect_timeout = cfg->outbound_connect_timeout;
	p->timeout = cfg->outbound_timeout;
	p->max_size = (size_t)cfg->outbound_max_size;
	return 0;
}

void
fetch_policy_free(struct fetch_policy *p)
{
	if (p == NULL)
		return;
	netaddr_list_free(&p->allow);
	free(p->ca_file);
	memset(p, 0, sizeof(*p));
}

bool
fetch_port_allowed(const struct fetch_policy *p, unsigned port)
{
	if (p->n_ports == 0)
		return port == 443;
	for (size_t i = 0; i < p->n_ports; i++)
		if (p->ports[i] == port)
			return true;
	return false;
}

bool
fetch_addr_allowed(
    const struct fetch_policy *p, const struct netaddr *a, unsigned port)
{
	if (!fetch_port_allowed(p, port))
		return false;
	return !fetch_addr_special(a) || netaddr_list_match(&p->allow, a);
}

/* The parts of an https URL we need; host without brackets. */
struct url_parts {
	char host[256];
	unsigned port;
};

static int
url_parse(const struct fetch_policy *p, const char *url, struct url_parts *u,
    const char **why)
{
	CURLU *h = NULL;
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL,
	     *frag = NULL, *zone = NULL;
	size_t hl, off;
	long pv;
	int r = PC_ERR_INVALID;

	memset(u, 0, sizeof(*u));
	*why = "not a URL";
	if (url == NULL || strnlen(url, FETCH_URL_MAX + 1) > FETCH_URL_MAX ||
	    (h = curl_url()) == NULL)
		goto out;
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		CURLUE_OK)
		goto out;
	*why = "only https URLs are fetched";
	if (strcmp(scheme, "https") != 0)
		goto out;
	*why = "the URL carries credentials or a fragment";
	if (curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(h, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK)
		goto out;
	*why = "bad host";
	/* No zone ids ("fe80::1%eth0"): curl keeps them apart. */
	if (curl_url_get(h, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK)
		goto out;
	*why = "bad host";
	hl = strlen(host);
	off = 0;
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		off = 1;
		hl -= 2;
	}
	/* No zone ids ("fe80::1%eth0"). */
	if (hl == 0 || hl >= sizeof(u->host) ||
	    memchr(host + off, '%', hl) != NULL)
		goto out;
	memcpy(u->host, host + off, hl);
	u->host[hl] = '\0';
	pv = strtol(port, NULL, 10);
	*why = "the port is not allowed (outbound_allow_ports)";
	if (pv <= 0 || pv > 65535 || !fetch_port_allowed(p, (unsigned)pv))
		goto out;
	u->port = (unsigned)pv;
	*why = NULL;
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(frag);
	curl_free(zone);
	curl_url_cleanup(h);
	return r;
}

int
fetch_url_check(const struct fetch_policy *p, const char *url, const char **why)
{
	struct url_parts u;
	const char *dummy;

	return url_parse(p, url, &u, why != NULL ? why : &dummy);
}

/* A socket address to a netaddr; false for other families. */
static bool
sockaddr_netaddr(const struct sockaddr *sa, struct netaddr *out)
{
	char text[INET6_ADDRSTRLEN];
	const void *src;

	if (sa->sa_family == AF_INET)
		src = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		src =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return false;
	if (inet_ntop(sa->sa_family, src, text, sizeof(text)) == NULL)
		return false;
	return netaddr_parse(text, strlen(text), out) == 0;
}

/* What the socket callback compares against: the address checked. */
struct pin {
	struct netaddr addr;
	bool refused; /* the callback refused a connection */
};

static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct pin *pin = arg;
	struct netaddr got;

	/* Only the address checked before the connect, nothing else. */
	if (purpose != CURLSOCKTYPE_IPCXN ||
	    !sockaddr_netaddr(&a->addr, &got) || got.v4 != pin->addr.v4 ||
	    memcmp(got.a, pin->addr.a, sizeof(got.a)) != 0) {
		pin->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static bool
localhost_name(const char *h)
{
	size_t n = strlen(h);

	if (n > 0 && h[n - 1] == '.')
		n--; /* the root label */
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	    (n > 10 && strncasecmp(h + n - 10, ".localhost", 10) == 0);
}

/* The first resolved address of host that the policy allows. */
static int
resolve(const struct fetch_policy *p, const struct url_parts *u,
    struct netaddr *out, bool *literal)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct netaddr a;
	int r = PC_ERR_PERM;

	*literal = netaddr_parse(u->host, strlen(u->host), &a) == 0;
	if (*literal) {
		*out = a;
		return fetch_addr_allowed(p, &a, u->port) ? 0 : PC_ERR_PERM;
	}
	/* RFC 6761 §6.3: "localhost" and "*.localhost" are loopback, never
	 * asked of DNS (as libcurl and browsers do); then the policy as for
	 * any loopback address (refused unless outbound_allow_networks
	 * allows it). */
	if (localhost_name(u->host)) {
		static const char *const lo[] = { "127.0.0.1", "::1" };

		for (size_t i = 0; i < PC_NELEM(lo); i++)
			if (netaddr_parse(lo[i], strlen(lo[i]), &a) == 0 &&
			    fetch_addr_allowed(p, &a, u->port)) {
				*out = a;
				return 0;
			}
		return PC_ERR_PERM;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(u->host, NULL, &hints, &res) != 0)
		return PC_ERR_IO;
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (sockaddr_netaddr(ai->ai_addr, &a) &&
		    fetch_addr_allowed(p, &a, u->port)) {
			*out = a;
			r = 0;
			break;
		}
	freeaddrinfo(res);
	return r;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (n != 0 && size > SIZE_MAX / n)
		return 0;
	/* Over the cap: returning less than given aborts the transfer. */
	return buf_put(b, data, size * n) == 0 ? size * n : 0;
}

static void
log_fetch(const struct url_parts *u, const char *what, const char *detail)
{
	struct log_line l;

	log_begin(&l, LOG_WARN, "fetch.refused");
	log_str(&l, "host", u->host);
	log_int(&l, "port", (int64_t)u->port);
	log_str(&l, "why", what);
	if (detail != NULL)
		log_str(&l, "detail", detail);
	log_end(&l);
}

int
fetch_get(
    const struct fetch_policy *p, const char *url, char **body, size_t *len)
{
	struct url_parts u;
	struct pin pin;
	struct buf b;
	struct curl_slist *pinned = NULL;
	CURL *h = NULL;
	CURLcode cc;
	const char *why;
	char text[NETADDR_TEXT_MAX],
	    entry[sizeof(u.host) + NETADDR_TEXT_MAX + 16];
	bool literal = false;
	long status = 0;
	int r;

	*body = NULL;
	*len = 0;
	memset(&pin, 0, sizeof(pin));
	buf_init(&b, p->max_size);
	if ((r = url_parse(p, url, &u, &why)) != 0)
		return r;
	if ((r = resolve(p, &u, &pin.addr, &literal)) != 0) {
		log_fetch(&u,
		    r == PC_ERR_PERM ? "no address the policy allows (DS-05)"
				     : "the host does not resolve",
		    NULL);
		return r;
	}
	if (pthread_once(&curl_once, fetch_curl_init) != 0 ||
	    curl_rc != CURLE_OK)
		return PC_ERR_INTERNAL;
	r = PC_ERR_INTERNAL;
	if (netaddr_format(&pin.addr, text, sizeof(text)) != 0 ||
	    (h = curl_easy_init()) == NULL)
		goto out;
	if (!literal) {
		snprintf(entry, sizeof(entry),
		    pin.addr.v4 ? "%s:%u:%s" : "%s:%u:[%s]", u.host, u.port,
		    text);
		if ((pinned = curl_slist_append(NULL, entry)) == NULL)
			goto out;
	}
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https") !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, p->connect_timeout) !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, p->timeout) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
		(curl_off_t)p->max_size) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "portcullis") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket) !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &pin) != CURLE_OK ||
	    (pinned != NULL &&
		curl_easy_setopt(h, CURLOPT_RESOLVE, pinned) != CURLE_OK) ||
	    (p->ca_file != NULL &&
		curl_easy_setopt(h, CURLOPT_CAINFO, p->ca_file) != CURLE_OK))
		goto out;
	cc = curl_easy_perform(h);
	if (pin.refused) {
		r = PC_ERR_PERM;
		log_fetch(&u, "the connection left the checked address", NULL);
		goto out;
	}
	if (cc == CURLE_WRITE_ERROR || cc == CURLE_FILESIZE_EXCEEDED) {
		r = PC_ERR_TOO_LARGE;
		log_fetch(&u, "the response is over outbound_max_size", NULL);
		goto out;
	}
	r = PC_ERR_IO;
	if (cc != CURLE_OK) {
		log_fetch(&u, "the fetch failed", curl_easy_strerror(cc));
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
	    status != 200) {
		log_fetch(&u, "the answer is not 200", NULL);
		goto out;
	}
	*len = b.len;
	*body = buf_steal(&b);
	if (*body == NULL)
		*body = xstrdup("");
	r = 0;
out:
	curl_slist_free_all(pinned);
	curl_easy_cleanup(h);
	buf_free(&b);
	return r;
}
