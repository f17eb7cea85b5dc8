/*
 * The checks on a request head, before any body byte is read: header
 * count and size, request smuggling, the Host allowlist (HT-04), the route
 * and method, Content-Length against the route's cap, and the client's IP
 * (trusted proxies, LG-05).
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/mhd_internal.h"
#include "util/log.h"
#include "util/netaddr.h"

/*
 * HT-04: a Host this server does not answer to. The issuer's host is
 * public (discovery), so the answer names it: a proxy or container setup
 * that forwards another Host is then obvious, in the body and the log.
 * The Host sent is not logged (AU-03: it is the client's to fill).
 */
static enum MHD_Result
unknown_host(
    struct rctx *x, struct MHD_Connection *con, const struct config *cfg)
{
	char desc[320];
	struct log_line l;

	snprintf(desc, sizeof(desc),
	    "Unknown Host. This server answers to %s (others: "
	    "allowed_hosts).",
	    cfg->issuer_authority);
	log_begin(&l, LOG_INFO, "http.unknown_host");
	log_str(&l, "expected", cfg->issuer_authority);
	log_end(&l);
	return mhd_respond_error(x, con, 400, "invalid_request", desc, true);
}

struct hdr_walk {
	struct kvlist *l;
	size_t total;
	size_t max_total;
	size_t max_count;
	bool too_big;
	bool bad;
};

static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
    size_t key_size, const char *value, size_t value_size)
{
	struct hdr_walk *h = cls;
	struct kv *kv;

	(void)kind;
	h->total += key_size + value_size + 4;
	if (h->total > h->max_total || h->l->n >= h->max_count) {
		h->too_big = true;
		return MHD_NO;
	}
	/* CR, LF, NUL or other controls in a header: refuse (HT-07). */
	for (size_t i = 0; i < value_size; i++) {
		unsigned char c = (unsigned char)value[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			h->bad = true;
			return MHD_NO;
		}
	}
	if (memchr(key, '\0', key_size) != NULL || key_size == 0) {
		h->bad = true;
		return MHD_NO;
	}
	if (h->l->n == h->l->cap) {
		h->l->cap = h->l->cap == 0 ? 16 : h->l->cap * 2;
		h->l->v = xrealloc(h->l->v, h->l->cap * sizeof(struct kv));
	}
	kv = &h->l->v[h->l->n++];
	kv->name = xstrndup(key, key_size);
	kv->name_len = key_size;
	kv->value = xstrndup(value == NULL ? "" : value, value_size);
	kv->value_len = value_size;
	return MHD_YES;
}

static size_t
header_count(const struct req *r, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < r->headers.n; i++)
		n += strcasecmp(r->headers.v[i].name, name) == 0;
	return n;
}

static void
peer_ip(struct MHD_Connection *con, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, n, "unknown");
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    out, (socklen_t)n);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    out, (socklen_t)n);
}

/*
 * The client's address (LG-05): the TCP peer, unless the peer is a trusted
 * proxy; then the right-most X-Forwarded-For hop that is not itself
 * trusted. From anyone else the header is ignored.
 */
static void
client_ip(struct http_server *s, struct MHD_Connection *con, struct conn *c,
    struct req *r)
{
	char own[48];
	const char *peer = own;
	struct buf xff;
	bool any = false;
	size_t n;

	if (c != NULL && c->peer[0] != '\0') {
		peer = c->peer;
	} else {
		peer_ip(con, own, sizeof(own));
		if (c != NULL)
			memcpy(c->peer, own, sizeof(c->peer));
	}
	n = strlen(peer);
	if (n >= sizeof(r->ip))
		n = sizeof(r->ip) - 1;
	memcpy(r->ip, peer, n);
	r->ip[n] = '\0';
	if (s->proxies.n == 0)
		return;
	r->peer_trusted = netaddr_list_contains(&s->proxies, peer);
	/*
	 * Repeated X-Forwarded-For headers are one list, in order (RFC 9110
	 * §5.3), so a client cannot hide behind its proxy by sending two.
	 */
	buf_init(&xff, (size_t)s->o.cfg->http_max_header + 1);
	for (size_t i = 0; i < r->headers.n; i++) {
		if (strcasecmp(r->headers.v[i].name, "X-Forwarded-For") != 0)
			continue;
		if ((any && buf_puts(&xff, ", ") != 0) ||
		    buf_puts(&xff, r->headers.v[i].value) != 0) {
			buf_free(&xff);
			return; /* cannot happen: the header block is capped */
		}
		any = true;
	}
	if (netaddr_client_ip(&s->proxies, peer, any ? buf_cstr(&xff) : NULL,
		r->ip, sizeof(r->ip)) != 0)
		snprintf(r->ip, sizeof(r->ip), "%s", peer);
	buf_free(&xff);
}

/* Everything decided from the request head, before any body byte. */
enum MHD_Result
mhd_on_headers(struct rctx *x, struct MHD_Connection *con, const char *method)
{
	struct http_server *s = x->srv;
	struct req *r = &x->req;
	struct hdr_walk hw = { &r->headers, 0, 0, 0, false, false };
	const char *host = NULL, *cl = NULL, *te = NULL;
	unsigned allowed = 0;
	size_t max_body;
	struct str target;
	const char *q;

	x->headers_done = true;
	if (x->conn != NULL)
		conn_phase(x->conn, CONN_BODY);
	r->method = http_method_parse(method);
	r->method_name = method;

	hw.max_total = (size_t)s->o.cfg->http_max_header;
	hw.max_count = (size_t)s->o.cfg->http_max_headers;
	MHD_get_connection_values_n(con, MHD_HEADER_KIND, collect_header, &hw);
	if (hw.too_big)
		return mhd_respond_error(x, con, 431,
		    "request_header_fields_too_large",
		    "The request headers are too large.", true);
	if (hw.bad)
		return mhd_respond_error(x, con, 400, "invalid_request",
		    "Malformed request header.", true);
	if (x->target_too_long)
		return mhd_respond_error(x, con, 414, "invalid_request",
		    "The request target is too long.", true);
	client_ip(s, con, x->conn, r);

	/* Smuggling: one framing, stated once (HT-07). */
	if (header_count(r, "Content-Length") > 1 ||
	    header_count(r, "Transfer-Encoding") > 1 ||
	    header_count(r, "Host") > 1)
		return mhd_respond_error(x, con, 400, "invalid_request",
		    "Repeated framing or Host header.", true);
	req_header(r, "Content-Length", &cl);
	req_header(r, "Transfer-Encoding", &te);
	if (cl != NULL && te != NULL)
		return mhd_respond_error(x, con, 400, "invalid_request",
		    "Both Content-Length and Transfer-Encoding.", true);
	if (te != NULL && strcasecmp(te, "chunked") != 0)
		return mhd_respond_error(x, con, 400, "invalid_request",
		    "Unsupported Transfer-Encoding.", true);
	req_header(r, "Content-Type", &r->content_type);

	/* The raw request target: origin-form only, no fragment. */
	target.p = x->target;
	target.len = x->target_len;
	if (target.len == 0 || target.p[0] != '/' ||
	    memchr(target.p, '#', target.len) != NULL)
		return mhd_respond_error(x, con, 400, "invalid_request",
		    "Malformed request target.", true);
	q = memchr(target.p, '?', target.len);
	r->path.p = target.p;
	r->path.len = q != NULL ? (size_t)(q - target.p) : target.len;
	if (q != NULL) {
		r->query.p = q + 1;
		r->query.len = target.len - r->path.len - 1;
	}

	x->route = router_match(s->o.router, r->path, r->method, &allowed);
	req_header(r, "Host", &host);
	if ((x->route == NULL || !x->route->any_host) &&
	    !config_host_allowed(s->o.cfg, host))
		return unknown_host(x, con, s->o.cfg);
	if (x->route == NULL && allowed == 0)
		return mhd_respond_error(
		    x, con, 404, "not_found", "No such endpoint.", false);
	if (x->route == NULL) {
		struct resp w;
		char allow[96];
		enum MHD_Result ret;

		router_allow_header(allowed, allow, sizeof(allow));
		resp_init(&w);
		resp_error(&w, r, 405, "method_not_allowed",
		    "Method not allowed for this endpoint.");
		resp_header(&w, "Allow", allow);
		ret = mhd_respond(x, con, &w);
		resp_free(&w);
		return ret;
	}

	/* Body caps before reading a byte (HT-05). */
	max_body = x->route->max_body == ROUTE_BODY_DEFAULT
	    ? (size_t)s->o.cfg->http_max_body
	    : x->route->max_body;
	if (cl != NULL) {
		int64_t n;

		if (str_to_int64(str_from(cl), 0, INT64_MAX, &n) != 0)
			return mhd_respond_error(x, con, 400, "invalid_request",
			    "Malformed Content-Length.", true);
		if (n > 0 && max_body == 0)
			return mhd_respond_error(x, con, 400, "invalid_request",
			    "This endpoint takes no request body.", true);
		if ((uint64_t)n > max_body)
			return mhd_respond_error(x, con, 413, "invalid_request",
			    "The request body is too large.", true);
	} else if (te != NULL && max_body == 0) {
		return mhd_respond_error(x, con, 400, "invalid_request",
		    "This endpoint takes no request body.", true);
	}
	r->body.max = max_body;
	return MHD_YES;
}
