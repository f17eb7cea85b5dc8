/*
 * The libmicrohttpd adapter (pc_mhd, the only library that includes
 * <microhttpd.h>): the callbacks and the server's life. The checks on the
 * request head are in mhd_head.c; every response leaves through
 * mhd_respond.c.
 *
 * Per request, in order: the URI-log callback sees the raw request target
 * and creates the request context; the first access-handler call (headers
 * complete) applies every cap and check that needs no body (header count
 * and size, smuggling, Host allowlist, route, method, Content-Length);
 * body calls append under the route's cap; the final call runs the
 * handler. Every response, errors included, leaves through mhd_respond(),
 * which adds the security headers (SECURITY.md HT-01..03, CF-04).
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "http/mhd_internal.h"
#include "util/log.h"
#include "util/netaddr.h"

static void
make_rid(struct http_server *s, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t seq = atomic_fetch_add(&s->rid_seq, 1);
	size_t p = strlen(s->rid_prefix);

	if (n < p + 14)
		return;
	memcpy(out, s->rid_prefix, p);
	out[p] = '-';
	for (int i = 11; i >= 0; i--) {
		out[p + 1 + (size_t)i] = hex[seq & 0xf];
		seq >>= 4;
	}
	out[p + 13] = '\0';
}

/* req_resume: may run on any thread (the hashing pool's). */
static void
resume_hook(struct req *r, http_step next)
{
	struct rctx *x =
	    (struct rctx *)(void *)((char *)r - offsetof(struct rctx, req));

	atomic_store(&x->next, next);
	MHD_resume_connection(x->con);
}

/*
 * Runs the route's handler (step NULL) or a deferred request's next step,
 * then sends the response, or suspends the connection when the step
 * deferred (req_defer).
 */
static enum MHD_Result
run_step(struct rctx *x, struct MHD_Connection *con, http_step step)
{
	struct req *r = &x->req;
	enum MHD_Result ret;
	http_step start;

	if (x->conn != NULL)
		conn_phase(x->conn, CONN_BUSY);
	if (!x->w_init) {
		resp_init(&x->w);
		x->w.cache = x->route->cache;
		x->w_init = true;
	}
	r->resume_hook = resume_hook;
	if (step == NULL) {
		const struct router *rt = x->srv->o.router;

		if (rt->guard == NULL || !rt->guard(r, &x->w))
			x->route->handler(r, &x->w);
	} else
		step(r, &x->w, x->arg);
	if (r->defer_start != NULL) {
		start = r->defer_start;
		r->defer_start = NULL;
		if (x->arg != NULL && x->arg != r->defer_arg &&
		    x->arg_free != NULL)
			x->arg_free(x->arg);
		x->arg = r->defer_arg;
		x->arg_free = r->defer_free;
		x->suspended = true;
		MHD_suspend_connection(con);
		start(r, &x->w, x->arg);
		return MHD_YES;
	}
	ret = mhd_respond(x, con, &x->w);
	resp_free(&x->w);
	x->w_init = false;
	return ret;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct rctx *x = *con_cls;

	(void)cls;
	(void)url;
	(void)version;
	if (x == NULL)
		return MHD_NO; /* the URI-log callback always sets it */
	log_set_rid(x->req.rid);
	if (!x->headers_done) {
		enum MHD_Result ret = mhd_on_headers(x, con, method);

		log_set_rid(NULL);
		return ret;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (x->responded) {
			log_set_rid(NULL);
			return MHD_YES; /* discarding after an early answer */
		}
		if (buf_put(&x->req.body, upload_data, n) != 0) {
			enum MHD_Result ret =
			    mhd_respond_error(x, con, 413, "invalid_request",
				"The request body is too large.", true);

			log_set_rid(NULL);
			return ret;
		}
		log_set_rid(NULL);
		return MHD_YES;
	}
	if (x->suspended) {
		/* Resumed after req_resume: the deferred request goes on. */
		http_step next = atomic_exchange(&x->next, NULL);
		enum MHD_Result ret;

		x->suspended = false;
		if (next != NULL) {
			ret = run_step(x, con, next);
		} else {
			if (x->w_init) {
				resp_free(&x->w);
				x->w_init = false;
			}
			ret = mhd_respond_error(x, con, 500, "server_error",
			    "Internal error.", true);
		}
		log_set_rid(NULL);
		return ret;
	}
	if (!x->responded) {
		enum MHD_Result ret = run_step(x, con, NULL);

		log_set_rid(NULL);
		return ret;
	}
	log_set_rid(NULL);
	return MHD_YES;
}

static void *
uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct http_server *s = cls;
	struct rctx *x = xcalloc(1, sizeof(*x));
	const union MHD_ConnectionInfo *ci;
	size_t n = uri != NULL ? strlen(uri) : 0;

	x->srv = s;
	x->con = con;
	x->start_ms = clock_mono_ms();
	x->start_us = clock_mono_us();
	req_init(&x->req);
	x->req.now = clock_now();
	x->req.limits = &s->limits;
	x->req.app = s->o.app;
	make_rid(s, x->req.rid, sizeof(x->req.rid));
	if (n > MAX_TARGET) {
		x->target_too_long = true;
		n = 0;
	}
	x->target = xstrndup(uri != NULL ? uri : "", n);
	x->target_len = n;
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL && ci->socket_context != NULL) {
		x->conn = ci->socket_context;
		conn_phase(x->conn, CONN_HEADERS);
	}
	atomic_fetch_add(&s->inflight, 1);
	x->counted = true;
	return x;
}

/* Issue 17 item 2: every answered request, by route and status. */
static void
count_request(const struct http_server *s, const struct rctx *x)
{
	const struct router *rt = s->o.router;
	unsigned id = METRICS_ROUTE_UNMATCHED;

	if (!x->responded)
		return;
	if (x->route != NULL && rt != NULL && x->route >= rt->routes &&
	    x->route < rt->routes + rt->n &&
	    (size_t)(x->route - rt->routes) < METRICS_ROUTES_MAX)
		id = s->route_ids[x->route - rt->routes];
	metrics_http_request(id, x->status, clock_mono_us() - x->start_us);
}

static void
completed(void *cls, struct MHD_Connection *con, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct rctx *x = *con_cls;
	struct log_line l;
	const char *ua = NULL;

	(void)con;
	if (x == NULL)
		return;
	*con_cls = NULL;
	if (s->o.cfg->log_requests) {
		log_set_rid(x->req.rid);
		log_begin(
		    &l, x->status >= 500 ? LOG_WARN : LOG_INFO, "http.request");
		log_str(&l, "method", x->req.method_name);
		/* The path only: query strings may carry codes or state. */
		log_strn(&l, "path", x->req.path.p != NULL ? x->req.path.p : "",
		    x->req.path.len > 256 ? 256 : x->req.path.len);
		log_int(&l, "status", x->status);
		log_int(&l, "bytes", (int64_t)x->sent);
		log_int(&l, "ms", (int64_t)(clock_mono_ms() - x->start_ms));
		log_str(&l, "ip", x->req.ip);
		if (req_header(&x->req, "User-Agent", &ua) == 0)
			log_strn(
			    &l, "ua", ua, strlen(ua) > 200 ? 200 : strlen(ua));
		if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
			log_bool(&l, "aborted", true);
		log_end(&l);
		log_set_rid(NULL);
	}
	count_request(s, x);
	/* The answer is out: now the work that must not delay it. */
	req_run_after(&x->req);
	if (x->conn != NULL)
		conn_phase(x->conn, CONN_IDLE);
	if (x->counted)
		atomic_fetch_sub(&s->inflight, 1);
	if (x->w_init)
		resp_free(&x->w);
	if (x->arg != NULL && x->arg_free != NULL)
		x->arg_free(x->arg);
	req_free(&x->req);
	free(x->target);
	free(x);
}

static void
notify_connection(void *cls, struct MHD_Connection *con, void **socket_ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *s = cls;
	struct conn *c;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci;

		c = xcalloc(1, sizeof(*c));
		ci = MHD_get_connection_info(
		    con, MHD_CONNECTION_INFO_CONNECTION_FD);
		c->fd = ci != NULL ? ci->connect_fd : -1;
		conn_phase(c, CONN_NEW);
		if (c->fd >= 0)
			reaper_add(&s->reaper, c);
		*socket_ctx = c;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		c = *socket_ctx;
		if (c == NULL)
			return;
		/* Before libmicrohttpd closes the fd: the reaper never
		 * shuts down a descriptor that was reused. */
		if (c->fd >= 0)
			reaper_remove(&s->reaper, c);
		free(c);
		*socket_ctx = NULL;
	}
}

static void mhd_logger(void *cls, const char *fmt, va_list ap) PC_PRINTF(2, 0);

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_msg(LOG_WARN, "http.mhd", msg);
}

static int
listen_addr(const char *addr, struct sockaddr_storage *ss)
{
	struct addrinfo hints, *res = NULL;
	char *h = NULL;
	char host[256];
	size_t n;
	uint16_t p;
	char port[8];

	if (config_split_hostport(str_from(addr), &h, &p, true) != 0)
		return PC_ERR_CONFIG;
	n = strlen(h);
	if (n >= sizeof(host)) {
		free(h);
		return PC_ERR_CONFIG;
	}
	/* "[::1]" -> "::1" */
	if (n >= 2 && h[0] == '[') {
		memcpy(host, h + 1, n - 2);
		host[n - 2] = '\0';
	} else {
		memcpy(host, h, n + 1);
	}
	free(h);
	snprintf(port, sizeof(port), "%u", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
		return PC_ERR_CONFIG;
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

int
http_listen_at(
    const char *addr, const char *setting, int *fd, char *err, size_t err_len)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, e;

	*fd = -1;
	if (listen_addr(addr, &ss) != 0) {
		snprintf(err, err_len, "cannot resolve the %s address %s",
		    setting, addr);
		return PC_ERR_CONFIG;
	}
	len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
				       : sizeof(struct sockaddr_in);
	*fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0) {
		snprintf(err, err_len, "cannot listen on %s: %s", addr,
		    strerror(errno));
		return PC_ERR_IO;
	}
	(void)setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(
		    *fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(*fd, (struct sockaddr *)&ss, len) != 0) {
		e = errno;
		if (e == EADDRINUSE)
			snprintf(err, err_len,
			    "%s is already in use (another process listens "
			    "there): stop it, or set %s to another address",
			    addr, setting);
		else
			snprintf(err, err_len, "cannot listen on %s: %s", addr,
			    strerror(e));
		close(*fd);
		*fd = -1;
		return e == EADDRINUSE ? PC_ERR_BUSY : PC_ERR_IO;
	}
	return 0;
}

int
http_listen(const struct config *cfg, int *fd, char *err, size_t err_len)
{
	return http_listen_at(
	    cfg->listen, "listen (--listen)", fd, err, err_len);
}

int
http_server_start(const struct http_server_opts *o, struct http_server **out)
{
	const struct config *cfg = o->cfg;
	struct http_server *s;
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC |
	    MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	size_t pool;
	uint8_t rnd[4];
	const union MHD_DaemonInfo *di;
	int fd;

	*out = NULL;
	if ((fd = o->listen_fd) < 0) {
		char err[512];
		int r;

		if ((r = http_listen(cfg, &fd, err, sizeof(err))) != 0) {
			log_msg(LOG_ERROR, "http.start", err);
			return r;
		}
	}
	/* The family of the socket bound (cfg->listen or another address). */
	{
		socklen_t sl = sizeof(ss);

		memset(&ss, 0, sizeof(ss));
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
			log_msg(LOG_ERROR, "http.start", strerror(errno));
			close(fd);
			return PC_ERR_IO;
		}
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* Connections are taken (queued by the kernel) only from now on. */
	if (listen(fd, SOMAXCONN) != 0) {
		int e = errno;

		log_msg(LOG_ERROR, "http.start",
		    e == EADDRINUSE ? "the listen address is already in use"
				    : strerror(e));
		close(fd);
		return e == EADDRINUSE ? PC_ERR_BUSY : PC_ERR_IO;
	}
	if (o->tls_cert_pem != NULL)
		flags |= MHD_USE_TLS;

	s = xcalloc(1, sizeof(*s));
	{
		char err[256];

		if (netaddr_list_parse(cfg->trusted_proxies, &s->proxies, err,
			sizeof(err)) != 0) {
			log_msg(LOG_ERROR, "http.start", err);
			free(s);
			close(fd);
			return PC_ERR_CONFIG;
		}
	}
	pthread_mutex_init(&s->cache_mu, NULL);
	s->o = *o;
	for (size_t i = 0;
	     o->router != NULL && i < o->router->n && i < METRICS_ROUTES_MAX;
	     i++)
		s->route_ids[i] =
		    (uint16_t)metrics_route_id(o->router->routes[i].path);
	s->limits.max_params = (size_t)cfg->http_max_params;
	s->limits.max_name = 256;
	s->limits.max_value = (size_t)cfg->http_max_body;
	s->limits.max_json_depth = (size_t)cfg->http_max_json_depth;
	snprintf(s->csp, sizeof(s->csp),
	    "default-src 'self'; "
	    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
	if (cfg->issuer_https)
		snprintf(s->hsts, sizeof(s->hsts),
		    "max-age=31536000; includeSubDomains");
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), s->rid_prefix);

	if (reaper_start(&s->reaper, (uint64_t)cfg->http_header_timeout * 1000,
		(uint64_t)cfg->http_body_timeout * 1000,
		(uint64_t)cfg->http_idle_timeout * 1000) != 0) {
		netaddr_list_free(&s->proxies);
		free(s);
		close(fd);
		return PC_ERR_INTERNAL;
	}
	/* Room for the header block plus working space; our own 431 fires
	 * first at http_max_header. */
	pool = (size_t)cfg->http_max_header * 2 + 32 * 1024;

	s->d = MHD_start_daemon(flags, 0, NULL, NULL, access_handler, s,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, s, MHD_OPTION_LISTEN_SOCKET,
	    (MHD_socket)fd, MHD_OPTION_THREAD_POOL_SIZE, o->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->http_max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned)cfg->http_max_connections_per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->http_idle_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_log, s,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_connection, s,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    o->tls_cert_pem != NULL ? MHD_OPTION_HTTPS_MEM_CERT
				    : MHD_OPTION_END,
	    o->tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY, o->tls_key_pem,
	    MHD_OPTION_HTTPS_PRIORITIES,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_END);
	if (s->d == NULL) {
		/* The listening socket is left to MHD (which may have closed
		 * it): the process is about to exit. */
		log_msg(
		    LOG_ERROR, "http.start", "cannot start the HTTP server");
		reaper_stop(&s->reaper);
		netaddr_list_free(&s->proxies);
		free(s);
		return PC_ERR_IO;
	}
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di != NULL ? di->port : cfg->listen_port;
	*out = s;
	return 0;
}

uint16_t
http_server_port(const struct http_server *s)
{
	return s->port;
}

bool
http_server_drain(struct http_server *s, int64_t grace_s)
{
	MHD_socket lfd;
	uint64_t until;

	atomic_store(&s->stopping, true);
	if (!s->quiesced) {
		lfd = MHD_quiesce_daemon(s->d);
		if (lfd != MHD_INVALID_SOCKET)
			close(lfd);
		s->quiesced = true;
	}
	until = clock_mono_ms() + (uint64_t)grace_s * 1000;
	while (atomic_load(&s->inflight) > 0 && clock_mono_ms() < until)
		usleep(10 * 1000);
	return atomic_load(&s->inflight) == 0;
}

void
http_server_stop(struct http_server *s, int64_t grace_s)
{
	if (s == NULL)
		return;
	if (!http_server_drain(s, grace_s))
		log_msg(LOG_WARN, "http.stop",
		    "shutdown timeout: closing requests still in flight");
	MHD_stop_daemon(s->d);
	reaper_stop(&s->reaper);
	for (size_t i = 0; i < PUBLIC_CACHE_SLOTS; i++) {
		if (s->cache[i].mr != NULL)
			MHD_destroy_response(s->cache[i].mr);
		free(s->cache[i].body);
	}
	pthread_mutex_destroy(&s->cache_mu);
	netaddr_list_free(&s->proxies);
	free(s);
}
