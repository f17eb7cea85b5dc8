/*
 * The page skeleton, the stylesheet and the checks every form shares:
 * same-origin (CF-01), the session cookie (SS-02, SS-04), CSRF tokens and
 * the audit helper.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/audit.h"
#include "oauth/oauth.h"
#include "util/log.h"
#include "web/web.h"

static const char style_css[] =
    ":root{color-scheme:light dark;--fg:#1d2330;--bg:#f4f5f7;--card:#fff;"
    "--line:#d6d9e0;--accent:#1f5fbf;--err:#a3221b;--ok:#1d6b3a}\n"
    "@media (prefers-color-scheme:dark){:root{--fg:#e6e8ee;--bg:#14171d;"
    "--card:#1d2129;--line:#343a46;--accent:#7fb0ff;--err:#ff8f86;"
    "--ok:#7fd49b}}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,\"Segoe UI\","
    "sans-serif;color:var(--fg);background:var(--bg)}\n"
    "main{max-width:34rem;margin:3rem auto;padding:2rem;background:"
    "var(--card);border:1px solid var(--line);border-radius:8px}\n"
    "main.wide,main:has(table){max-width:56rem}\n"
    "h1{font-size:1.5rem;margin:0 0 1.25rem}\n"
    "h2{font-size:1.15rem;margin:2rem 0 .75rem}\n"
    "label{display:block;font-weight:600;margin:1rem 0 .25rem}\n"
    "input[type=email],input[type=password],input[type=text]{width:100%;"
    "padding:.6rem;font:inherit;color:inherit;background:transparent;"
    "border:1px solid var(--line);border-radius:6px}\n"
    "input:focus-visible,button:focus-visible,a:focus-visible{outline:3px "
    "solid var(--accent);outline-offset:2px}\n"
    "button{margin-top:1.25rem;padding:.6rem 1.2rem;font:inherit;"
    "font-weight:600;color:#fff;background:var(--accent);border:0;"
    "border-radius:6px;cursor:pointer}\n"
    "button.link{margin:0;padding:0;color:var(--accent);background:none;"
    "font-weight:400;text-decoration:underline}\n"
    "button.secondary{color:var(--accent);background:transparent;"
    "border:1px solid var(--accent);margin-left:.5rem}\n"
    "form.inline{display:inline}\n"
    "a{color:var(--accent)}\n"
    ".notice{padding:.75rem 1rem;border-radius:6px;border:1px solid "
    "var(--line)}\n"
    ".error{border-color:var(--err);color:var(--err)}\n"
    ".info{border-color:var(--ok)}\n"
    ".hint{font-size:.9rem;opacity:.8;margin:.25rem 0 0}\n"
    "table{width:100%;border-collapse:collapse;font-size:.95rem}\n"
    "th,td{text-align:left;padding:.5rem;border-bottom:1px solid "
    "var(--line);vertical-align:top;overflow-wrap:anywhere}\n"
    "td button.link{white-space:nowrap}\n"
    "nav{margin-top:2rem;display:flex;gap:1.5rem;flex-wrap:wrap}\n";

static struct app *
app_of(const struct req *r)
{
	return r->app;
}

/* Set when a page outgrew its buffer; page_send() answers 500 then. */
static _Thread_local bool page_overflow;

void
page_text(struct buf *b, const char *s)
{
	if (s != NULL && html_escape(b, s, strlen(s)) != 0)
		page_overflow = true;
}

void
page_puts(struct buf *b, const char *s)
{
	if (buf_puts(b, s) != 0)
		page_overflow = true;
}

void
page_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		page_overflow = true;
	else
		page_puts(b, tmp);
}

void
web_redirect(struct resp *w, const char *location)
{
	if (resp_redirect(w, 303, location) != 0)
		w->status = 500;
}

void
page_begin(struct buf *b, const char *title)
{
	page_puts(b,
	    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width,"
	    "initial-scale=1\"><title>");
	page_text(b, title);
	page_puts(b,
	    " · Portcullis</title>"
	    "<link rel=\"stylesheet\" href=\"/static/style.css\"></head>\n"
	    "<body><main><h1>");
	page_text(b, title);
	page_puts(b, "</h1>\n");
}

void
page_end(struct buf *b)
{
	page_puts(b, "</main></body></html>\n");
}

void
page_notice(struct buf *b, const char *kind, const char *text)
{
	bool err = strcmp(kind, "error") == 0;

	page_printf(b, "<p class=\"notice %s\"%s>", err ? "error" : "info",
	    err ? " role=\"alert\"" : "");
	page_text(b, text);
	page_puts(b, "</p>\n");
}

void
page_csrf(struct buf *b, const char *token)
{
	page_puts(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	page_text(b, token);
	page_puts(b, "\">\n");
}

void
page_send(struct resp *w, int status, struct buf *b)
{
	bool over = page_overflow;

	page_overflow = false;
	if (over ||
	    resp_html(
		w, status, b->len > 0 ? (const char *)b->p : "", b->len) != 0) {
		buf_reset(&w->body);
		w->status = 500;
		w->content_type = NULL;
	}
	buf_free(b);
}

void
page_message(struct resp *w, int status, const char *title, const char *text,
    const char *link, const char *link_text)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	page_begin(&b, title);
	page_puts(&b, "<p>");
	page_text(&b, text);
	page_puts(&b, "</p>\n");
	if (link != NULL) {
		page_puts(&b, "<p><a href=\"");
		page_text(&b, link);
		page_puts(&b, "\">");
		page_text(&b, link_text);
		page_puts(&b, "</a></p>\n");
	}
	page_end(&b);
	page_send(w, status, &b);
}

void
web_style(struct req *r, struct resp *w)
{
	(void)r;
	buf_reset(&w->body);
	w->status = 200;
	w->content_type = "text/css; charset=utf-8";
	if (buf_put(&w->body, style_css, sizeof(style_css) - 1) != 0)
		w->status = 500;
}

/* Whether v is the issuer's origin, exactly. */
static bool
is_issuer(const struct config *cfg, const char *v)
{
	return v != NULL && strcmp(v, cfg->issuer) == 0;
}

bool
web_same_origin(const struct req *r)
{
	const struct config *cfg = app_of(r)->cfg;
	const char *sfs = NULL, *origin = NULL, *referer = NULL;
	size_t n = strlen(cfg->issuer);

	if (req_header(r, "Sec-Fetch-Site", &sfs) == PC_ERR_DUPLICATE ||
	    req_header(r, "Origin", &origin) == PC_ERR_DUPLICATE ||
	    req_header(r, "Referer", &referer) == PC_ERR_DUPLICATE)
		return false;
	/*
	 * Our pages send Referrer-Policy: no-referrer, under which browsers
	 * send "Origin: null" even on a same-origin form POST (Fetch,
	 * "serializing a request origin"). Sec-Fetch-Site is set by the
	 * browser alone, so with it present "null" is accepted; without it,
	 * "null" is refused below.
	 */
	if (sfs != NULL)
		return (strcmp(sfs, "same-origin") == 0 ||
			   strcmp(sfs, "none") == 0) &&
		    (origin == NULL || is_issuer(cfg, origin) ||
			strcmp(origin, "null") == 0);
	if (origin != NULL)
		return is_issuer(cfg, origin);
	if (referer != NULL)
		return strncmp(referer, cfg->issuer, n) == 0 &&
		    (referer[n] == '/' || referer[n] == '\0');
	return false;
}

int
web_session(
    struct req *r, struct session *out, char cookie[64], bool *presented)
{
	struct app *app = app_of(r);
	const struct kvlist *cookies;
	const struct kv *kv = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (presented != NULL)
		*presented = false;
	if (cookie != NULL)
		cookie[0] = '\0';
	if (req_cookies(r, &cookies) != 0)
		return PC_ERR_NOT_FOUND;
	rc = kvlist_get(cookies, session_cookie_name(app->cfg), &kv);
	if (rc == PC_ERR_NOT_FOUND)
		return PC_ERR_NOT_FOUND;
	if (presented != NULL)
		*presented = true;
	/* Two cookies of our name (cookie tossing): trust neither. */
	if (rc != 0 || kv->value_len >= 64)
		return PC_ERR_NOT_FOUND;
	rc = session_lookup(app->db, kv->value, r->now, app->cfg, out);
	if (rc != 0)
		return rc;
	if (presented != NULL)
		*presented = false;
	if (cookie != NULL)
		memcpy(cookie, kv->value, kv->value_len + 1);
	return 0;
}

bool
web_store_failed(int rc)
{
	return rc != 0 && rc != PC_ERR_NOT_FOUND && rc != PC_ERR_VERIFY &&
	    rc != PC_ERR_INVALID;
}

void
web_unavailable(struct resp *w)
{
	page_message(w, 503, "Unavailable",
	    "This is not possible right now. Please try again later.", NULL,
	    NULL);
	resp_header(w, "Retry-After", "5");
}

void
page_time(int64_t t, char out[PAGE_TIME_MAX])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(out, PAGE_TIME_MAX, "never");
		return;
	}
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, PAGE_TIME_MAX, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, PAGE_TIME_MAX, "%lld", (long long)t);
}

bool
web_signed_in(struct req *r, struct resp *w, struct session *s)
{
	bool presented = false;
	int rc;

	if ((rc = web_session(r, s, NULL, &presented)) == 0 &&
	    s->user_id != NULL)
		return true;
	/* No session, or a pending factor step (MF-04): not signed in. */
	session_clear(s);
	if (web_store_failed(rc)) {
		web_unavailable(w);
		return false;
	}
	if (presented)
		web_audit(
		    r, NULL, "session.unknown", "failure", NULL, NULL, NULL);
	if (r->method == HTTP_POST)
		page_message(w, 401, "Signed out",
		    "Your session has ended. Please sign in again.", "/login",
		    "Sign in");
	else
		web_redirect(w, "/login");
	return false;
}

int
web_presession(struct req *r, struct resp *w, struct session *out)
{
	struct app *app = app_of(r);
	const char *ua = NULL;
	char cookie[64];
	bool presented = false;
	int rc;

	rc = web_session(r, out, NULL, &presented);
	/* A store failure is not "no session": a live session's cookie is
	 * never replaced by a pre-session because a lookup failed. */
	if (rc == 0 || web_store_failed(rc))
		return rc;
	if (presented)
		web_audit(
		    r, NULL, "session.unknown", "failure", NULL, NULL, NULL);
	(void)req_header(r, "User-Agent", &ua);
	rc = session_create(
	    app->db, app->cfg, NULL, r->ip, ua, NULL, r->now, cookie, out);
	if (rc == 0)
		web_set_session_cookie(w, r, cookie);
	sodium_memzero(cookie, sizeof(cookie));
	return rc;
}

void
web_set_session_cookie(struct resp *w, const struct req *r, const char *value)
{
	const struct config *cfg = app_of(r)->cfg;
	char h[SESSION_COOKIE_HEADER_MAX];

	if (session_cookie_header(
		cfg, value, session_absolute_timeout(cfg), h, sizeof(h)) == 0)
		resp_header(w, "Set-Cookie", h);
	sodium_memzero(h, sizeof(h));
}

void
web_clear_session_cookie(struct resp *w, const struct req *r)
{
	char h[SESSION_COOKIE_HEADER_MAX];

	if (session_cookie_clear_header(app_of(r)->cfg, h, sizeof(h)) == 0)
		resp_header(w, "Set-Cookie", h);
}

const char *
web_field(struct req *r, const char *name)
{
	const struct kvlist *form;
	const struct kv *kv = NULL;

	if (req_form(r, &form) != 0 || kvlist_get(form, name, &kv) != 0)
		return NULL;
	return kv->value;
}

bool
web_check_form(
    struct req *r, struct resp *w, const struct session *s, const char *form_id)
{
	const char *token;
	const char *why = NULL;

	if (!web_same_origin(r))
		why = "cross-origin";
	else if ((token = web_field(r, "csrf")) == NULL)
		why = "missing-token";
	else if (session_csrf_check(s, form_id, token) != 0)
		why = "bad-token";
	if (why == NULL)
		return true;
	{
		json_t *d =
		    json_pack("{s:s, s:s}", "form", form_id, "why", why);

		web_audit(r, s, "csrf.failure", "alert", s->user_id, NULL, d);
		json_decref(d);
	}
	page_message(w, 403, "Request refused",
	    "This form was not sent from this site, or it has expired. "
	    "Go back, reload the page and try again.",
	    NULL, NULL);
	return false;
}

int
web_audit(const struct req *r, const struct session *s, const char *event,
    const char *outcome, const char *actor, const char *target, json_t *details)
{
	char sh[SESSION_SID_LEN + 1];

	_Static_assert(SESSION_SID_LEN == AUDIT_SESSION_HASH_HEX,
	    "the audit log's session handle is the sid");
	session_sid(s, sh);
	return oauth_audit_session(r, sh[0] != '\0' ? sh : NULL, event, outcome,
	    actor, target, details);
}

/* On a pool thread: store the answer, then back to an HTTP thread. */
static void
hash_done(const struct pwjob_result *res, void *arg)
{
	struct web_hash *h = arg;

	h->res = *res;
	req_resume(h->r, h->next);
}

void
web_hash_submit(
    struct web_hash *h, struct req *r, const struct pwjob *job, http_step next)
{
	struct app *app = app_of(r);

	h->r = r;
	h->next = next;
	if (pwpool_submit(app->pwpool, job, hash_done, h) != 0) {
		memset(&h->res, 0, sizeof(h->res));
		h->res.r = PC_ERR_BUSY;
		req_resume(r, next);
	}
}

void
web_busy(struct req *r, struct resp *w)
{
	(void)r;
	page_message(w, 503, "Busy",
	    "Too many sign-ins are being checked right now. Please try again "
	    "in a moment.",
	    NULL, NULL);
	resp_header(w, "Retry-After", "2");
}
