/*
 * Forward-auth's endpoints (issue 17 item 5; decision 0075; SECURITY.md
 * FA-01..FA-08).
 *
 * On the issuer's host:
 *   GET /forward-auth/verify  the proxy's subrequest: 200 with Remote-User,
 *                             Remote-Email, Remote-Groups; 401 (no session
 *                             for that host); 403 (refused).
 *   GET /forward-auth/start   ?rd=&sh=: a signed-in browser gets a
 *                             one-time code for rd's host; anyone else
 *                             signs in first and comes back here.
 * On a declared protected host (proxied there by the proxy, with that
 * Host; HT-04 holds for every other path):
 *   GET /.portcullis/start    sets the state cookie, sends the browser to
 *                             the issuer's /forward-auth/start.
 *   GET /.portcullis/callback ?code=: the host's own __Host- session.
 *   GET, POST /.portcullis/logout
 *                             ends it, then the issuer asks whether to
 *                             sign out of everything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "jose/b64url.h"
#include "oauth/fwdauth.h"
#include "oauth/oauth.h"
#include "util/log.h"
#include "web/web.h"

#define FWD_COOKIE "__Host-pcfa"
#define FWD_STATE_COOKIE "__Host-pcfa-state"

static const char *
return_cookie_name(const struct config *cfg)
{
	return cfg->issuer_https ? "__Host-pcfa-return" : "pcfa-return";
}

/* The value of a cookie sent exactly once, or NULL. */
static const char *
cookie_value(struct req *r, const char *name)
{
	const struct kvlist *c;
	const struct kv *kv = NULL;

	if (req_cookies(r, &c) != 0 || kvlist_get(c, name, &kv) != 0)
		return NULL;
	return kv->value;
}

static const char *
query_value(struct req *r, const char *name)
{
	const struct kvlist *q;
	const struct kv *kv = NULL;

	if (req_query(r, &q) != 0 || kvlist_get(q, name, &kv) != 0)
		return NULL;
	return kv->value;
}

/* One header, given once, or NULL. */
static const char *
header_once(const struct req *r, const char *name)
{
	const char *v = NULL;

	return req_header(r, name, &v) == 0 ? v : NULL;
}

/*
 * A host-only cookie on a protected host (FA-07): __Host-, Secure,
 * HttpOnly, SameSite=Lax, Path=/, no Domain. value "" with max_age 0
 * deletes it; max_age < 0: a browser-session cookie.
 */
static void
host_cookie(
    struct resp *w, const char *name, const char *value, int64_t max_age)
{
	char h[160], age[32] = "";

	if (max_age >= 0)
		snprintf(
		    age, sizeof(age), "; Max-Age=%lld", (long long)max_age);
	if (snprintf(h, sizeof(h),
		"%s=%s; Path=/%s; Secure; HttpOnly; "
		"SameSite=Lax",
		name, value, age) < (int)sizeof(h))
		resp_header(w, "Set-Cookie", h);
	sodium_memzero(h, sizeof(h));
}

static void
unavailable(struct resp *w)
{
	page_message(w, 503, "Unavailable",
	    "Signing in is not possible right now. Please try again later.",
	    NULL, NULL);
	resp_header(w, "Retry-After", "5");
}

/* ---- verify ---- */

/*
 * FA-01: the original request as a trusted proxy describes it. From any
 * other peer the forwarding headers are ignored: no host, so 403.
 */
static void
original(struct req *r, const char **host, const char **uri, bool *https)
{
	const char *proto, *url;

	*host = NULL;
	*uri = "/";
	*https = false;
	if (!r->peer_trusted)
		return;
	*host = header_once(r, "X-Forwarded-Host");
	proto = header_once(r, "X-Forwarded-Proto");
	*https = proto != NULL && strcmp(proto, "https") == 0;
	if ((*uri = header_once(r, "X-Forwarded-Uri")) != NULL)
		return;
	/* X-Original-URL: the whole URL (or a path, as some send it). */
	url = header_once(r, "X-Original-URL");
	if (url != NULL && strncmp(url, "https://", 8) == 0) {
		const char *p = strchr(url + 8, '/');

		*uri = p != NULL ? p : "/";
	} else {
		*uri = url != NULL ? url : "/";
	}
}

static void
audit_refusal(struct req *r, const struct fwd_verdict *v)
{
	json_t *d = json_pack("{s:s,s:s,s:s}", "host", v->host, "path", v->path,
	    "reason", v->why);

	(void)web_audit(
	    r, NULL, "forward_auth.access", "failure", v->user_id, v->host, d);
	json_decref(d);
}

void
web_fwd_verify(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct fwd_verdict v;
	const char *host, *uri;
	bool https;
	int rc;

	original(r, &host, &uri, &https);
	if (host != NULL && !https) {
		/* __Host- cookies and the dance need https end to end. */
		resp_error(w, r, 403, "forbidden", "Only https is protected.");
		return;
	}
	rc = fwd_verify(app->db, app->cfg, host, uri,
	    cookie_value(r, FWD_COOKIE), r->now, &v);
	if (rc != 0) {
		resp_error(w, r, 503, "temporarily_unavailable",
		    "The store is unavailable.");
		resp_header(w, "Retry-After", "5");
		return;
	}
	if (v.status == 200) {
		if (v.user_id != NULL) {
			resp_header(w, "Remote-User", v.user_id);
			if (v.email != NULL)
				resp_header(w, "Remote-Email", v.email);
			resp_header(w, "Remote-Groups",
			    v.groups != NULL ? v.groups : "");
		}
		if (resp_json_raw(w, 200, "{\"status\":\"ok\"}", 15) != 0)
			w->status = 500;
	} else if (v.status == 401) {
		resp_error(w, r, 401, "unauthorized", "Sign in first.");
	} else {
		/* A signed-in user refused by a rule is worth a row; an
		 * anonymous request for an undeclared host is not. */
		if (v.user_id != NULL)
			audit_refusal(r, &v);
		resp_error(w, r, 403, "forbidden", "Access denied.");
	}
	fwd_verdict_clear(&v);
}

/* ---- the dance, on the issuer ---- */

/* The return cookie: sh "." base64url(rd), for 10 minutes. */
static void
set_return(struct req *r, struct resp *w, const char *rd, const char *sh)
{
	const struct config *cfg = ((struct app *)r->app)->cfg;
	size_t n = strnlen(rd, FWD_URL_MAX + 1);
	struct buf b;
	char *enc;

	if (n > FWD_URL_MAX || strlen(sh) != PC_SHA256_HEX_LEN)
		return;
	enc = xmalloc(b64url_encoded_len(n) + 1);
	b64url_encode((const uint8_t *)rd, n, enc);
	buf_init(&b, 4096);
	if (buf_printf(&b,
		"%s=%s.%s; Path=/; Max-Age=%d; HttpOnly; "
		"SameSite=Lax%s",
		return_cookie_name(cfg), sh, enc, FWD_STATE_TTL,
		cfg->issuer_https ? "; Secure" : "") == 0)
		resp_header(w, "Set-Cookie", buf_cstr(&b));
	buf_free(&b);
	free(enc);
}

static void
clear_return(struct req *r, struct resp *w)
{
	const struct config *cfg = ((struct app *)r->app)->cfg;
	char h[128];

	snprintf(h, sizeof(h),
	    "%s=; Path=/; Max-Age=0; HttpOnly; "
	    "SameSite=Lax%s",
	    return_cookie_name(cfg), cfg->issuer_https ? "; Secure" : "");
	resp_header(w, "Set-Cookie", h);
}

/* rd and sh from the return cookie (*rd malloc'd). */
static bool
read_return(struct req *r, char **rd, char sh[PC_SHA256_HEX_LEN + 1])
{
	const struct config *cfg = ((struct app *)r->app)->cfg;
	const char *v = cookie_value(r, return_cookie_name(cfg));
	size_t n, len;
	uint8_t *out;

	*rd = NULL;
	if (v == NULL || strlen(v) < PC_SHA256_HEX_LEN + 2 ||
	    v[PC_SHA256_HEX_LEN] != '.')
		return false;
	memcpy(sh, v, PC_SHA256_HEX_LEN);
	sh[PC_SHA256_HEX_LEN] = '\0';
	n = strlen(v + PC_SHA256_HEX_LEN + 1);
	if (n > b64url_encoded_len(FWD_URL_MAX))
		return false;
	out = xmalloc(n + 1);
	if (b64url_decode(v + PC_SHA256_HEX_LEN + 1, n, out, n, &len) != 0 ||
	    memchr(out, '\0', len) != NULL) {
		free(out);
		return false;
	}
	out[len] = '\0';
	*rd = (char *)out;
	return true;
}

bool
web_fwd_pending(struct req *r)
{
	const struct config *cfg = ((struct app *)r->app)->cfg;

	return cookie_value(r, return_cookie_name(cfg)) != NULL;
}

void
web_fwd_start(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct session s;
	char sh[PC_SHA256_HEX_LEN + 1] = "";
	char *rd = NULL, *loc = NULL;
	bool from_cookie = false;
	int rc;

	if (query_value(r, "rd") != NULL) {
		rd = xstrdup(query_value(r, "rd"));
		snprintf(sh, sizeof(sh), "%s",
		    query_value(r, "sh") != NULL ? query_value(r, "sh") : "");
	} else {
		from_cookie = read_return(r, &rd, sh);
	}
	rc = web_session(r, &s, NULL, NULL);
	if (web_store_failed(rc)) {
		free(rd);
		web_unavailable(w);
		return;
	}
	if (rc != 0 || s.user_id == NULL) {
		/* Sign in first, then come back here (web_signin_done). */
		if (rd != NULL)
			set_return(r, w, rd, sh);
		web_redirect(w, "/login");
		goto out;
	}
	rc = fwd_code_issue(app->db, &s, rd, sh, r->now, &loc);
	/* Spent either way: a stale dance never hijacks a later sign-in. */
	if (from_cookie || web_fwd_pending(r))
		clear_return(r, w);
	if (rc == 0)
		web_redirect(w, loc);
	else if (rc == PC_ERR_INVALID)
		web_redirect(w, "/account"); /* FA-03: never elsewhere */
	else
		unavailable(w);
out:
	free(loc);
	free(rd);
	session_clear(&s);
}

/* ---- on a protected host ---- */

/*
 * FA-02: the Host of a request on a protected host's paths, when it is a
 * declared host (out normalised). false: the answer is written (400 for
 * a host we do not protect, as HT-04 answers elsewhere; 503).
 */
static bool
protected_host(struct req *r, struct resp *w, char out[FWD_HOST_MAX + 1])
{
	struct app *app = r->app;
	const char *host = header_once(r, "Host");
	int rc;

	if ((rc = fwd_host_declared(app->db, host, out)) == PC_ERR_NOT_FOUND) {
		resp_error(w, r, 400, "invalid_request",
		    "Unknown Host. This path is served on protected hosts "
		    "only.");
		return false;
	}
	if (rc != 0) {
		unavailable(w);
		return false;
	}
	return true;
}

void
web_fwd_app_start(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	char host[FWD_HOST_MAX + 1], rh[FWD_HOST_MAX + 1];
	char state[64], sh[PC_SHA256_HEX_LEN + 1];
	const char *uri = NULL;
	char *rd = NULL;
	struct buf b;

	if (!protected_host(r, w, host))
		return;
	/* The URL the browser asked for, as the proxy saw it. */
	if (r->peer_trusted)
		uri = header_once(r, "X-Forwarded-Uri");
	buf_init(&b, FWD_URL_MAX + FWD_HOST_MAX + 16);
	if (uri == NULL || uri[0] != '/' ||
	    buf_printf(&b, "https://%s%s", host, uri) != 0 ||
	    fwd_rd_parse(buf_cstr(&b), rh, &rd) != 0 || strcmp(rh, host) != 0) {
		free(rd);
		rd = NULL;
	}
	buf_reset(&b);
	if (rd == NULL)
		rd = buf_printf(&b, "https://%s/", host) == 0
		    ? xstrdup(buf_cstr(&b))
		    : NULL;
	buf_reset(&b);
	fwd_state_new(state, sh);
	if (rd == NULL || buf_puts(&b, app->cfg->issuer) != 0 ||
	    buf_puts(&b, "/forward-auth/start") != 0 ||
	    oauth_query_add(&b, "rd", rd) != 0 ||
	    oauth_query_add(&b, "sh", sh) != 0) {
		resp_error(
		    w, r, 400, "invalid_request", "The URL is too long.");
	} else {
		host_cookie(w, FWD_STATE_COOKIE, state, FWD_STATE_TTL);
		web_redirect(w, buf_cstr(&b));
	}
	sodium_memzero(state, sizeof(state));
	buf_free(&b);
	free(rd);
}

void
web_fwd_callback(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	char host[FWD_HOST_MAX + 1];
	struct fwd_login l;
	json_t *d;
	int rc;

	if (!protected_host(r, w, host))
		return;
	rc = fwd_callback(app->db, app->cfg, host, query_value(r, "code"),
	    cookie_value(r, FWD_STATE_COOKIE), cookie_value(r, FWD_COOKIE),
	    r->now, &l);
	if (rc == PC_ERR_VERIFY) {
		d = json_pack(
		    "{s:s,s:s}", "host", host, "reason", "invalid_code");
		(void)web_audit(
		    r, NULL, "forward_auth.login", "failure", NULL, host, d);
		json_decref(d);
		host_cookie(w, FWD_STATE_COOKIE, "", 0);
		page_message(w, 400, "Sign-in link not valid",
		    "This sign-in link was already used, has expired, or was "
		    "started in another browser. Open the page you wanted "
		    "again to sign in.",
		    "/", "Start again");
		return;
	}
	if (rc != 0) {
		unavailable(w);
		return;
	}
	d = json_pack("{s:s}", "host", host);
	rc = web_audit(
	    r, NULL, "forward_auth.login", "success", l.user_id, host, d);
	json_decref(d);
	if (rc != 0) {
		/* AU-01: no session without its durable row. */
		if (fwd_logout(app->db, host, l.cookie, NULL) != 0)
			log_msg(LOG_WARN, "forward_auth.login",
			    "per-host session not removed");
		fwd_login_clear(&l);
		unavailable(w);
		return;
	}
	host_cookie(w, FWD_COOKIE, l.cookie, -1);
	host_cookie(w, FWD_STATE_COOKIE, "", 0);
	web_redirect(w, l.rd);
	fwd_login_clear(&l);
}

void
web_fwd_app_logout(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	char host[FWD_HOST_MAX + 1];
	char *user = NULL;
	struct buf b;
	json_t *d;
	int rc;

	if (!protected_host(r, w, host))
		return;
	rc = fwd_logout(app->db, host, cookie_value(r, FWD_COOKIE), &user);
	if (rc != 0 && rc != PC_ERR_NOT_FOUND) {
		free(user);
		unavailable(w);
		return;
	}
	if (rc == 0) {
		d = json_pack("{s:s}", "host", host);
		(void)web_audit(
		    r, NULL, "forward_auth.logout", "success", user, host, d);
		json_decref(d);
	}
	free(user);
	host_cookie(w, FWD_COOKIE, "", 0);
	/* The issuer's own page asks whether to end the Portcullis session
	 * too (CF-02: nothing more is signed out by a GET). */
	buf_init(&b, 1024);
	if (buf_puts(&b, app->cfg->issuer) == 0 && buf_puts(&b, "/logout") == 0)
		web_redirect(w, buf_cstr(&b));
	else
		resp_error(w, r, 500, "server_error", "Internal error.");
	buf_free(&b);
}
