/*
 * The response object handlers fill (struct resp, http.h): status, headers
 * and a bounded body, with helpers for JSON, HTML, redirects and the fixed
 * error bodies (no internals in them, SECURITY.md HT-09).
 */
#include <stdio.h>
#include <string.h>

#include "http/http.h"

void
resp_init(struct resp *w)
{
	memset(w, 0, sizeof(*w));
	w->status = 500;
	buf_init(&w->body, 4 * 1024 * 1024);
}

void
resp_free(struct resp *w)
{
	if (w == NULL)
		return;
	buf_free(&w->body);
	for (size_t i = 0; i < w->nheaders; i++) {
		free(w->headers[i].name);
		free(w->headers[i].value);
	}
	free(w->headers);
	w->headers = NULL;
	w->nheaders = 0;
}

void
resp_header(struct resp *w, const char *name, const char *value)
{
	w->headers =
	    xrealloc(w->headers, (w->nheaders + 1) * sizeof(*w->headers));
	w->headers[w->nheaders].name = xstrdup(name);
	w->headers[w->nheaders].value = xstrdup(value);
	w->nheaders++;
}

int
resp_json_raw(struct resp *w, int status, const char *json, size_t len)
{
	buf_reset(&w->body);
	w->status = status;
	w->content_type = "application/json";
	return buf_put(&w->body, json, len);
}

/* Straight into the body: no copy of a token left unwiped on the heap. */
static int
dump_cb(const char *p, size_t n, void *data)
{
	return buf_put(data, p, n) == 0 ? 0 : -1;
}

int
resp_json(struct resp *w, int status, const json_t *obj)
{
	buf_reset(&w->body);
	if (json_dump_callback(obj, dump_cb, &w->body, JSON_COMPACT) != 0) {
		buf_reset(&w->body);
		return PC_ERR_INTERNAL;
	}
	w->status = status;
	w->content_type = "application/json";
	return 0;
}

struct buf *
resp_json_begin(struct resp *w, int status)
{
	buf_reset(&w->body);
	w->status = status;
	w->content_type = "application/json";
	return &w->body;
}

int
resp_html(struct resp *w, int status, const char *html, size_t len)
{
	buf_reset(&w->body);
	w->status = status;
	w->content_type = "text/html; charset=utf-8";
	return buf_put(&w->body, html, len);
}

int
resp_redirect(struct resp *w, int status, const char *location)
{
	buf_reset(&w->body);
	w->status = status == 0 ? 303 : status;
	w->content_type = NULL;
	resp_header(w, "Location", location);
	return 0;
}

int
html_escape(struct buf *b, const char *s, size_t len)
{
	int r = 0;

	for (size_t i = 0; i < len && r == 0; i++) {
		switch (s[i]) {
		case '&': r = buf_puts(b, "&amp;"); break;
		case '<': r = buf_puts(b, "&lt;"); break;
		case '>': r = buf_puts(b, "&gt;"); break;
		case '"': r = buf_puts(b, "&quot;"); break;
		case '\'': r = buf_puts(b, "&#39;"); break;
		default: r = buf_putc(b, s[i]); break;
		}
	}
	return r;
}

static const char *
reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 421: return "Misdirected Request";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

void
resp_error(struct resp *w, const struct req *r, int status, const char *error,
    const char *description)
{
	buf_reset(&w->body);
	w->status = status;
	w->cache = RESP_NO_STORE; /* an error is never cached or shared */
	if (r != NULL && req_wants_html(r)) {
		static const char head[] =
		    "<!doctype html>\n<html lang=\"en\"><head>"
		    "<meta charset=\"utf-8\"><title>";
		int rc = 0;

		w->content_type = "text/html; charset=utf-8";
		rc |= buf_puts(&w->body, head);
		rc |= buf_puts(&w->body, reason(status));
		rc |= buf_puts(&w->body, "</title></head><body><h1>");
		rc |= buf_puts(&w->body, reason(status));
		rc |= buf_puts(&w->body, "</h1><p>");
		if (description != NULL)
			rc |= html_escape(
			    &w->body, description, strlen(description));
		rc |= buf_puts(&w->body, "</p></body></html>\n");
		(void)rc; /* a static page far below the body cap */
		return;
	}
	{
		json_t *o = json_object();

		json_object_set_new(o, "error", json_string(error));
		if (description != NULL)
			json_object_set_new(
			    o, "error_description", json_string(description));
		if (resp_json(w, status, o) != 0) {
			/* Only on allocation trouble: a fixed body. */
			buf_reset(&w->body);
			w->content_type = NULL;
		}
		json_decref(o);
	}
}
