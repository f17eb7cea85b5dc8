/*
 * What the libmicrohttpd adapter's files share (mhd.c: callbacks and the
 * server's life; mhd_head.c: checks on the request head; mhd_respond.c:
 * every response). Private to pc_mhd, the only library that includes
 * <microhttpd.h>.
 */
#ifndef PC_HTTP_MHD_INTERNAL_H
#define PC_HTTP_MHD_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "http/conn.h"
#include "http/httpd.h"
#include "util/metrics.h"
#include "util/netaddr.h"

#define MAX_TARGET 8192 /* request-target bytes */

/*
 * Public metadata (discovery, JWKS) is the same bytes for everyone until a
 * key changes: its whole response, headers included, is built once and
 * queued again while the body stays equal. libmicrohttpd counts the
 * references, so a replaced response lives until its last send is done.
 */
#define PUBLIC_CACHE_SLOTS 8

struct public_cache {
	const struct route *route;
	char *body;
	size_t len;
	const char *content_type;
	struct MHD_Response *mr;
};

struct http_server {
	pthread_mutex_t cache_mu;
	struct public_cache cache[PUBLIC_CACHE_SLOTS];
	struct MHD_Daemon *d;
	struct http_server_opts o;
	struct http_limits limits;
	struct reaper reaper;
	struct netaddr_list proxies; /* trusted_proxies (LG-05) */
	char csp[256];
	char hsts[64];
	char rid_prefix[10];
	_Atomic uint64_t rid_seq;
	_Atomic int inflight;
	_Atomic bool stopping;
	bool quiesced;
	uint16_t port;
	/* Each route's metrics label (util/metrics.h), by table index. */
	uint16_t route_ids[METRICS_ROUTES_MAX];
};

/* One request. */
struct rctx {
	struct http_server *srv;
	struct conn *conn;
	struct MHD_Connection *con;
	struct req req;
	struct resp w; /* the handler's response, kept across deferral */
	_Atomic(http_step) next; /* set by req_resume */
	void *arg;		 /* the deferred request's state */
	void (*arg_free)(void *arg);
	const struct route *route;
	char *target;
	size_t target_len;
	uint64_t start_ms;
	uint64_t start_us; /* for the latency histogram */
	int status;
	size_t sent;
	bool headers_done;
	bool responded;
	bool target_too_long;
	bool counted;
	bool w_init;
	bool suspended;
};

/* Sends w, adding the security headers; the only way a response leaves. */
enum MHD_Result
mhd_respond(struct rctx *x, struct MHD_Connection *con, struct resp *w);
/* A fixed error body (no internals, HT-09); close ends the connection. */
enum MHD_Result mhd_respond_error(struct rctx *x, struct MHD_Connection *con,
    int status, const char *error, const char *desc, bool close);
/* Everything decided from the request head, before any body byte. */
enum MHD_Result
mhd_on_headers(struct rctx *x, struct MHD_Connection *con, const char *method);

#endif
