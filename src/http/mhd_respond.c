/*
 * Every response of the HTTP server leaves through mhd_respond(): the
 * security headers on all of them, errors included (SECURITY.md HT-01..03,
 * CF-04), bodies wiped before release (they may carry tokens), and the
 * cache of public responses (discovery, JWKS) shared by every request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http/mhd_internal.h"
#include "util/log.h"

/* Headers that every response carries. */
static void
security_headers(struct http_server *s, struct MHD_Response *mr,
    enum resp_cache cache, const char *rid)
{
	MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(mr, "X-Frame-Options", "DENY");
	MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(mr, "Content-Security-Policy", s->csp);
	MHD_add_response_header(
	    mr, "Cross-Origin-Opener-Policy", "same-origin");
	if (s->hsts[0] != '\0')
		MHD_add_response_header(
		    mr, "Strict-Transport-Security", s->hsts);
	if (cache == RESP_PUBLIC_SHORT) {
		MHD_add_response_header(
		    mr, "Cache-Control", "public, max-age=300");
		/* Public metadata: any origin, never with credentials. */
		MHD_add_response_header(mr, "Access-Control-Allow-Origin", "*");
	} else {
		MHD_add_response_header(mr, "Cache-Control", "no-store");
		MHD_add_response_header(mr, "Pragma", "no-cache");
	}
	if (rid != NULL && rid[0] != '\0')
		MHD_add_response_header(mr, "X-Request-Id", rid);
}

/* Response bodies may carry tokens: wiped before release. */
struct body {
	size_t len;
	char *p;
};

static void
free_body(void *cls)
{
	struct body *b = cls;

	pc_freezero(b->p, b->len);
	free(b);
}

/* Sends w; the only way a response leaves. */
static void
finish(struct rctx *x, int status, size_t len)
{
	x->status = status;
	x->sent = len;
	x->responded = true;
	if (x->conn != NULL)
		conn_phase(x->conn, CONN_BUSY);
}

/* Queues a cached public response when w is one; *done says whether. */
static enum MHD_Result
respond_cached(
    struct rctx *x, struct MHD_Connection *con, struct resp *w, bool *done)
{
	struct http_server *s = x->srv;
	struct public_cache *slot = NULL;
	struct MHD_Response *mr = NULL, *old = NULL;
	enum MHD_Result ret;
	size_t len = w->body.len;

	*done = false;
	if (x->route == NULL || w->cache != RESP_PUBLIC_SHORT ||
	    w->status != 200 || w->nheaders != 0 || w->close ||
	    atomic_load(&s->stopping))
		return MHD_YES;
	pthread_mutex_lock(&s->cache_mu);
	for (size_t i = 0; i < PUBLIC_CACHE_SLOTS && slot == NULL; i++) {
		if (s->cache[i].route == x->route || s->cache[i].route == NULL)
			slot = &s->cache[i];
	}
	if (slot == NULL) {
		pthread_mutex_unlock(&s->cache_mu);
		return MHD_YES;
	}
	if (slot->mr == NULL || slot->len != len ||
	    slot->content_type != w->content_type ||
	    (len > 0 && memcmp(slot->body, w->body.p, len) != 0)) {
		mr = MHD_create_response_from_buffer(
		    len, w->body.p, MHD_RESPMEM_MUST_COPY);
		if (mr == NULL) {
			pthread_mutex_unlock(&s->cache_mu);
			return MHD_YES;
		}
		if (len > 0 && w->content_type != NULL)
			MHD_add_response_header(
			    mr, "Content-Type", w->content_type);
		security_headers(s, mr, RESP_PUBLIC_SHORT, NULL);
		old = slot->mr;
		free(slot->body);
		slot->route = x->route;
		slot->body = xmalloc(len + 1);
		if (len > 0)
			memcpy(slot->body, w->body.p, len);
		slot->len = len;
		slot->content_type = w->content_type;
		slot->mr = mr;
	}
	mr = slot->mr;
	ret = MHD_queue_response(con, 200, mr);
	pthread_mutex_unlock(&s->cache_mu);
	if (old != NULL)
		MHD_destroy_response(old);
	finish(x, 200, len);
	*done = true;
	return ret;
}

enum MHD_Result
mhd_respond(struct rctx *x, struct MHD_Connection *con, struct resp *w)
{
	struct http_server *s = x->srv;
	struct MHD_Response *mr;
	enum MHD_Result ret;
	size_t len = w->body.len;
	struct body *body;
	bool done;

	ret = respond_cached(x, con, w, &done);
	if (done)
		return ret;
	body = xmalloc(sizeof(*body));
	body->len = len;
	body->p = buf_steal(&w->body);
	mr = MHD_create_response_from_buffer_with_free_callback_cls(
	    len, body->p, free_body, body);
	if (mr == NULL) {
		free_body(body);
		return MHD_NO;
	}
	if (len > 0 && w->content_type != NULL)
		MHD_add_response_header(mr, "Content-Type", w->content_type);
	security_headers(
	    s, mr, x->route != NULL ? w->cache : RESP_NO_STORE, x->req.rid);
	for (size_t i = 0; i < w->nheaders; i++)
		MHD_add_response_header(
		    mr, w->headers[i].name, w->headers[i].value);
	if (w->close || atomic_load(&s->stopping))
		MHD_add_response_header(mr, "Connection", "close");
	ret = MHD_queue_response(con, (unsigned)w->status, mr);
	MHD_destroy_response(mr);
	finish(x, w->status, len);
	return ret;
}

enum MHD_Result
mhd_respond_error(struct rctx *x, struct MHD_Connection *con, int status,
    const char *error, const char *desc, bool close)
{
	struct resp w;
	enum MHD_Result ret;

	resp_init(&w);
	resp_error(&w, &x->req, status, error, desc);
	w.close = close;
	ret = mhd_respond(x, con, &w);
	resp_free(&w);
	return ret;
}
