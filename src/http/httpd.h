/*
 * http/httpd: the HTTP daemon — bind the listening socket, start
 * libmicrohttpd with its internal epoll thread pool, drain and stop it
 * (implemented in src/http/mhd.c). This header has no libmicrohttpd types;
 * mhd.c is the only user of them. What the daemon serves (the route table,
 * health endpoints) is src/server/server.h.
 */
#ifndef PC_HTTP_HTTPD_H
#define PC_HTTP_HTTPD_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http.h"
#include "util/config.h"

struct http_server;

struct http_server_opts {
	const struct config *cfg;
	const struct router *router;
	void *app;		  /* handed to handlers as req->app */
	unsigned threads;	  /* worker threads */
	const char *tls_cert_pem; /* NULL: plain HTTP */
	const char *tls_key_pem;
	int listen_fd; /* from http_listen(); http_server_start takes it
			  over, even when it fails. -1: bind cfg->listen */
};

/*
 * Binds a socket to cfg->listen, so that serve can do it before it creates
 * anything (issue 11, item 10): an address in use fails here (PC_ERR_BUSY,
 * err naming the address). It listens (accepts connections) only from
 * http_server_start on, so nothing connects before the server is ready.
 */
int http_listen(
    const struct config *cfg, int *fd, char *err, size_t err_len) PC_WUR;
/*
 * The same for another address (admin_listen, metrics_listen): setting
 * names it in the error ("metrics_listen").
 */
int http_listen_at(const char *addr, const char *setting, int *fd, char *err,
    size_t err_len) PC_WUR;

int http_server_start(
    const struct http_server_opts *o, struct http_server **out) PC_WUR;
uint16_t http_server_port(const struct http_server *s);
/*
 * Stops accepting and waits up to grace_s seconds for in-flight requests
 * (suspended ones included) to finish. True when none is left. Used
 * before stopping the pools that deferred requests wait on.
 */
bool http_server_drain(struct http_server *s, int64_t grace_s);
/*
 * Graceful stop: stop accepting, let in-flight requests finish for up to
 * grace_s seconds, then close everything and free s.
 */
void http_server_stop(struct http_server *s, int64_t grace_s);

#endif
