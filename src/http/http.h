/*
 * http: request and response types, the parsers behind them, and the route
 * table. Nothing here includes <microhttpd.h>; only mhd.c does, so handlers
 * are plain functions of a parsed request that unit tests and fuzzers reach
 * without a socket.
 */
#ifndef PC_HTTP_H
#define PC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/util.h"

enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_HEAD = 1 << 1,
	HTTP_POST = 1 << 2,
	HTTP_PUT = 1 << 3,
	HTTP_DELETE = 1 << 4,
	HTTP_PATCH = 1 << 5,
	HTTP_OPTIONS = 1 << 6,
	HTTP_OTHER = 1 << 7,
};

enum http_method http_method_parse(const char *s);
const char *http_method_name(enum http_method m);

/* Decoded name/value pairs in arrival order; duplicates are kept. */
struct kv {
	char *name;
	size_t name_len;
	char *value;
	size_t value_len;
};

struct kvlist {
	struct kv *v;
	size_t n;
	size_t cap;
};

void kvlist_free(struct kvlist *l);
/*
 * Appends a pair, taking ownership of name and value (NUL-terminated,
 * malloc'd). PC_ERR_TOO_LARGE when the list already holds max pairs; the
 * strings are then wiped and freed.
 */
int kvlist_push(struct kvlist *l, size_t max, char *name, size_t name_len,
    char *value, size_t value_len) PC_WUR;
/*
 * Looks up name. PC_ERR_NOT_FOUND if absent, PC_ERR_DUPLICATE if given more
 * than once (RFC 6749 §3.1: parameters MUST NOT repeat).
 */
int kvlist_get(
    const struct kvlist *l, const char *name, const struct kv **out) PC_WUR;
const char *kvlist_value(const struct kvlist *l, const char *name);

struct http_limits {
	size_t max_params; /* fields in a query string or form */
	size_t max_name;   /* bytes of one decoded name */
	size_t max_value;  /* bytes of one decoded value */
	size_t max_json_depth;
};

/*
 * application/x-www-form-urlencoded (also query strings): '&'-separated,
 * '+' is a space, %XX strictly two hex digits. Decoded names and values
 * must be valid UTF-8 without NUL or other C0 controls (tab excepted).
 * Empty pieces ("a=1&&b=2") are skipped. Errors: PC_ERR_INVALID,
 * PC_ERR_TOO_LARGE (over a limit). On error out is left empty.
 */
int form_parse(const char *s, size_t len, const struct http_limits *lim,
    struct kvlist *out) PC_WUR;

/*
 * Cookie request header (RFC 6265 §4.2.1 / §5.4): "a=1; b=2". Names are
 * tokens; values may be double-quoted; no decoding. Malformed pairs are
 * skipped, as browsers do; more than lim->max_params pairs, or a name or
 * value over its cap, is PC_ERR_TOO_LARGE.
 */
int cookie_parse(const char *s, size_t len, const struct http_limits *lim,
    struct kvlist *out) PC_WUR;

/*
 * A JSON request body: an object or array at the top, nesting at most
 * lim->max_json_depth, duplicate member names rejected, valid UTF-8, no
 * NUL. PC_ERR_INVALID or PC_ERR_TOO_LARGE (too deep).
 */
int json_in_parse(const char *s, size_t len, const struct http_limits *lim,
    json_t **out) PC_WUR;

struct req;
struct resp;

/* A step of a deferred request (see req_defer). */
typedef void (*http_step)(struct req *r, struct resp *w, void *arg);

/* A request, parsed by mhd.c before any handler runs. */
struct req {
	enum http_method method;
	const char *method_name;
	struct str path;       /* raw, as sent; compared exactly */
	struct str query;      /* raw, without '?' */
	struct kvlist headers; /* names as sent */
	struct buf body;
	const char *content_type;
	char rid[24]; /* request id */
	char ip[48];  /* peer address (no proxy headers yet) */
	int64_t now;  /* captured once at entry (SS-10) */
	const struct http_limits *limits;
	void *app; /* the server's context */
	/* The TCP peer is in trusted_proxies (LG-05): its X-Forwarded-*
	 * headers may be believed (forward-auth, issue 17). */
	bool peer_trusted;

	/* Parsed on first use. */
	struct kvlist query_params;
	struct kvlist form;
	struct kvlist cookies;
	bool query_parsed, form_parsed, cookies_parsed;

	/* Deferred work (req_defer); managed by the server. */
	http_step defer_start;
	void *defer_arg;
	void (*defer_free)(void *arg);
	void (*resume_hook)(struct req *r, http_step next);

	/* Work after the answer (req_after); run by req_run_after. */
	void (*after)(void *arg);
	void *after_arg;

	/*
	 * A nested step's own state: a helper that defers inside another
	 * handler's deferred request (web_recovery_check, called from the
	 * factor step's start step) keeps it here, since its steps receive
	 * the handler's arg. The helper takes it back in its step; if the
	 * request ends first, req_free releases it with nest_free.
	 */
	void *nest_arg;
	void (*nest_free)(void *arg);
};

void req_init(struct req *r);
void req_free(struct req *r);
/*
 * Header value by case-insensitive name; PC_ERR_NOT_FOUND, or
 * PC_ERR_DUPLICATE if repeated. *out is NULL unless exactly one.
 */
int req_header(const struct req *r, const char *name, const char **out);
int req_query(struct req *r, const struct kvlist **out) PC_WUR;
/* Needs Content-Type application/x-www-form-urlencoded, else INVALID. */
int req_form(struct req *r, const struct kvlist **out) PC_WUR;
int req_cookies(struct req *r, const struct kvlist **out) PC_WUR;
/* Needs Content-Type application/json, else PC_ERR_UNSUPPORTED. */
int req_json(struct req *r, json_t **out) PC_WUR;
/* Whether the client prefers HTML (a browser) over JSON. */
bool req_wants_html(const struct req *r);

/*
 * Slow work off the HTTP threads (the password-hashing pool). A handler
 * calls req_defer() and returns without a response: the server suspends
 * the connection, then calls start(r, w, arg) on the same thread. start
 * hands the work to another thread (or fails at once); whoever finishes
 * calls req_resume(r, next) exactly once, from any thread, and must not
 * touch r afterwards. next then runs on an HTTP thread with the same r, w
 * and arg; it renders w, or defers again. arg lives until the request ends
 * and is released with free_arg (may be NULL) by the server, whatever
 * happens to the connection.
 */
void
req_defer(struct req *r, http_step start, void *arg, void (*free_arg)(void *));
void req_resume(struct req *r, http_step next);

/*
 * Work that must not delay the answer (RS-01: account-dependent work
 * behind a page that looks the same for every account). after(arg) runs
 * exactly once when the request ends: after its response was sent (the
 * server calls req_run_after once the request completed and was logged),
 * or from req_free when the request ends otherwise. It runs on an HTTP
 * thread, owns arg, and must only hand arg to another thread (or free
 * it). A request holds one; a second call replaces nothing and runs the
 * new after(arg) at once.
 */
void req_after(struct req *r, void (*after)(void *arg), void *arg);
/* Runs the pending after-work, if any (for the server). */
void req_run_after(struct req *r);

/* How a route's responses may be cached. */
enum resp_cache {
	RESP_NO_STORE = 0, /* default: sensitive (HT-03) */
	RESP_PUBLIC_SHORT, /* discovery, JWKS */
};

struct resp_header {
	char *name;
	char *value;
};

struct resp {
	int status;
	const char *content_type; /* static string */
	struct buf body;
	struct resp_header *headers;
	size_t nheaders;
	enum resp_cache cache;
	bool close; /* close the connection after sending */
};

void resp_init(struct resp *w);
void resp_free(struct resp *w);
void resp_header(struct resp *w, const char *name, const char *value);
/* Serializes obj (compact) as the body; consumes no reference. */
int resp_json(struct resp *w, int status, const json_t *obj) PC_WUR;
/*
 * The body, emptied, for a JSON response of status written in place (the
 * token response, issue 13); the caller writes one whole JSON value with
 * escaped strings (jose_json_put_*).
 */
struct buf *resp_json_begin(struct resp *w, int status);
/* A body that is already JSON text. */
int
resp_json_raw(struct resp *w, int status, const char *json, size_t len) PC_WUR;
int resp_html(struct resp *w, int status, const char *html, size_t len) PC_WUR;
/* 303 unless status says otherwise (never 307/308 after POST: LG-06). */
int resp_redirect(struct resp *w, int status, const char *location) PC_WUR;
/*
 * An error, as JSON {"error", "error_description"} or as a small HTML page,
 * chosen by the request's Accept header. description is ASCII, no CR/LF.
 */
void resp_error(struct resp *w, const struct req *r, int status,
    const char *error, const char *description);
/* HTML-escapes s into b. */
int html_escape(struct buf *b, const char *s, size_t len) PC_WUR;

/* A handler: parse, call one domain function, render. */
typedef void (*http_handler)(struct req *r, struct resp *w);

struct route {
	const char *path;
	unsigned methods; /* enum http_method bits */
	http_handler handler;
	size_t max_body; /* 0: no body; ROUTE_BODY_DEFAULT: http_max_body */
	enum resp_cache cache;
	bool any_host; /* health probes: skip the Host allowlist */
};
/*
 * A path that ends in '*' (the admin API's ADMIN_PREFIX "/" then a star) is a prefix route: every path
 * that starts with what comes before the '*', byte for byte, is this
 * route's, whose handler matches the rest itself (issue 17: the admin
 * API's dispatcher, src/admin/admin.c).
 */

/* A route's max_body that takes the configured http_max_body. */
#define ROUTE_BODY_DEFAULT SIZE_MAX

struct router {
	const struct route *routes;
	size_t n;
	/* Runs before every route's handler (not before a deferred step);
	 * true when it wrote the response, and the handler is skipped.
	 * NULL: none. (AK-06: src/oauth/apikey_ep.c.) */
	bool (*guard)(struct req *r, struct resp *w);
};

/*
 * Finds the route for path. NULL if none (404). *allowed is the Allow set
 * when the path exists but the method does not (405).
 */
const struct route *router_match(const struct router *rt, struct str path,
    enum http_method m, unsigned *allowed);
/* "GET, HEAD" for an Allow header. */
void router_allow_header(unsigned methods, char *out, size_t n);

#endif
