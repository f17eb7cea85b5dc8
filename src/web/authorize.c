/*
 * The authorization endpoint's pages (RFC 6749 §3.1, §4.1; OpenID Connect
 * Core §3.1.2; RFC 9207; issue 4): GET and POST /authorize, GET
 * /authorize/resume and POST /authorize/consent.
 *
 * This is the browser side of the flow: it reads the parameters and the
 * browser's session, renders the error and consent pages, checks the
 * consent form's CSRF token (CF-03) and sends the redirects. What may be
 * granted, and every store access, is the authorization flow's domain in
 * src/oauth/authz.c (oauth/domain.h): the client and its redirect_uri are
 * matched exactly (AZ-01) before anything is sent back; until then every
 * error is a page, never a redirect (AZ-02). From then on errors go to the
 * matched redirect_uri with error, state (byte for byte) and iss (AZ-05).
 * Why these handlers live in web/ and not in oauth/: docs/decisions
 * ("/authorize stays in web/").
 *
 * All clients are registered by the operator (there is no dynamic
 * registration), so errors after the redirect_uri match are redirected at
 * once (AZ-03 a). *
 * The consent page says plainly what the user gives (issue 15): for an
 * agent, that a program will act on their behalf, at which resource,
 * with which scopes, and for how long (their choice, within
 * delegation_ttl); for a client that registered itself, that it is
 * unverified, and its host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "oauth/domain.h"
#include "oauth/oauth.h"
#include "web/web.h"

static void
bad_request_page(struct resp *w, const char *text)
{
	page_message(w, 400, "Sign-in request refused", text, NULL, NULL);
}

static void
unavailable_page(struct resp *w)
{
	page_message(w, 503, "Unavailable",
	    "Signing in is not possible right now. Please try again later.",
	    NULL, NULL);
	resp_header(w, "Retry-After", "5");
}

/* 303 to the matched redirect_uri with params (name, value pairs; a NULL
 * value is left out) and iss (RFC 9207). */
static void
redirect_back(struct req *r, struct resp *w, const char *redirect_uri,
    const char *const *kv, size_t nkv)
{
	struct app *app = r->app;
	struct buf b;
	int rc = 0;

	buf_init(&b, 16 * 1024);
	rc |= buf_puts(&b, redirect_uri);
	for (size_t i = 0; i + 1 < nkv; i += 2)
		if (kv[i + 1] != NULL)
			rc |= oauth_query_add(&b, kv[i], kv[i + 1]);
	rc |= oauth_query_add(&b, "iss", app->cfg->issuer);
	if (rc != 0 || resp_redirect(w, 303, buf_cstr(&b)) != 0)
		bad_request_page(w, "The response does not fit in a URL.");
	sodium_memzero(b.p, b.len);
	buf_free(&b);
}

static void
redirect_error(struct req *r, struct resp *w, const struct authz *z,
    const char *error, const char *desc)
{
	const char *kv[] = { "error", error, "error_description", desc, "state",
		z->p.state };
	json_t *d = json_pack("{s:s}", "error", error);

	(void)web_audit(
	    r, NULL, "authorize", "failure", z->p.client_id, NULL, d);
	json_decref(d);
	redirect_back(r, w, z->p.redirect_uri, kv, PC_NELEM(kv));
}

/* Answers a flow step that did not say AUTHZ_OK. */
static void
answer(struct req *r, struct resp *w, const struct authz *z,
    enum authz_status st, const struct authz_error *e)
{
	if (st == AUTHZ_PAGE)
		bad_request_page(w, e->why);
	else if (st == AUTHZ_REDIRECT)
		redirect_error(r, w, z, e->error, e->why);
	else
		unavailable_page(w);
}

static void
consent_form_id(const struct authz *z, char out[32])
{
	snprintf(out, 32, "consent:%.16s", z->p.id_hash);
}

static const char *
scope_text(const char *s)
{
	if (strcmp(s, "openid") == 0)
		return "Sign you in with your account";
	if (strcmp(s, "profile") == 0)
		return "See your name";
	if (strcmp(s, "email") == 0)
		return "See your email address";
	if (strcmp(s, "offline_access") == 0)
		return "Stay connected while you are away (refresh tokens)";
	if (strcmp(s, "groups") == 0)
		return "See the names of the groups you belong to";
	return NULL;
}

/* "3 days", "5 hours", "10 minutes" or "45 seconds". */
static void
duration_text(int64_t t, char out[32])
{
	static const struct {
		int64_t s;
		const char *one, *many;
	} u[] = { { 86400, "day", "days" }, { 3600, "hour", "hours" },
		{ 60, "minute", "minutes" }, { 1, "second", "seconds" } };

	for (size_t i = 0; i < PC_NELEM(u); i++)
		if (t % u[i].s == 0 || u[i].s == 1) {
			snprintf(out, 32, "%lld %s", (long long)(t / u[i].s),
			    t / u[i].s == 1 ? u[i].one : u[i].many);
			return;
		}
}

/*
 * CR-01, CR-05: where a client that registered itself lives, for the
 * consent page: the host of its client_id URL (a metadata document), else
 * of the address it returns to (or that address's scheme, for an app).
 */
static void
unverified_host(const struct authz *z, char out[256])
{
	const char *u = strcmp(z->client.registration, "metadata") == 0
	    ? z->client.client_id
	    : z->p.redirect_uri;
	const char *p = strstr(u, "://");
	size_t n;

	if (p != NULL) {
		p += 3;
		n = strcspn(p, "/?#");
	} else {
		p = u;
		n = strcspn(p, ":");
	}
	snprintf(out, 256, "%.*s", (int)(n < 255 ? n : 255), p);
}

/* The list of what the scopes allow, in words where we have them. */
static void
scope_list(struct buf *b, const struct scope_set *set)
{
	page_puts(b, "<ul>\n");
	for (size_t i = 0; i < set->n; i++) {
		const char *t = scope_text(set->v[i]);

		page_puts(b, "<li>");
		if (t != NULL) {
			page_text(b, t);
		} else {
			page_puts(b, "Use the permission <code>");
			page_text(b, set->v[i]);
			page_puts(b, "</code>");
		}
		page_puts(b, "</li>\n");
	}
	if (set->n == 0)
		page_puts(b, "<li>Know that you are signed in</li>\n");
	page_puts(b, "</ul>\n");
}

/* The resource the tokens are for: its name and its URI. */
static void
resource_line(struct app *app, struct buf *b, const char *uri)
{
	char *name = delegation_resource_name(app, uri);

	page_puts(b, "<strong>");
	if (name != NULL) {
		page_text(b, name);
		page_puts(b, "</strong> (<code>");
		page_text(b, uri);
		page_puts(b, "</code>)");
	} else {
		page_puts(b, "<code>");
		page_text(b, uri);
		page_puts(b, "</code></strong>");
	}
	free(name);
}

/*
 * Issue 15: how long the agent may act, the user's choice, within the
 * policy's maximum (delegation_max_ttl), which is the default.
 */
static void
lifetime_select(struct app *app, struct buf *b)
{
	static const int64_t choices[] = { 3600, 86400, 7 * 86400, 30 * 86400,
		90 * 86400 };
	int64_t max = delegation_max_ttl(app->cfg);
	char t[32];

	page_puts(b,
	    "<label for=\"lifetime\">For how long</label>\n"
	    "<select id=\"lifetime\" name=\"lifetime\">\n");
	for (size_t i = 0; i < PC_NELEM(choices) && choices[i] < max; i++) {
		duration_text(choices[i], t);
		page_printf(b, "<option value=\"%lld\">%s</option>\n",
		    (long long)choices[i], t);
	}
	duration_text(max, t);
	page_printf(b, "<option value=\"%lld\" selected>%s</option>\n",
	    (long long)max, t);
	page_puts(b,
	    "</select>\n<p class=\"hint\">You can end it sooner at any time "
	    "on your account page, under &ldquo;Agents acting for "
	    "you&rdquo;.</p>\n");
}

static void
render_consent(struct req *r, struct resp *w, const struct session *s,
    const struct authz *z)
{
	struct app *app = r->app;
	bool agent = client_is_agent(&z->client);
	struct scope_set set;
	struct buf b;
	char form[32], token[64];

	consent_form_id(z, form);
	if (session_csrf_token(s, form, token) != 0 ||
	    scope_parse(z->p.scope, &set) != 0) {
		page_message(w, 500, "Error", "Internal error.", NULL, NULL);
		return;
	}
	buf_init(&b, 64 * 1024);
	page_begin(&b, agent ? "Let an agent act for you?" : "Allow access?");
	if (client_unverified(&z->client)) {
		char host[256];

		/* CR-01, CR-05: nobody vouched for it; its host is what the
		 * user can judge it by. */
		unverified_host(z, host);
		page_puts(&b,
		    "<p class=\"notice error\" role=\"alert\"><strong>"
		    "Unverified application.</strong> It registered itself "
		    "from <strong>");
		page_text(&b, host);
		page_puts(&b,
		    "</strong>; nobody here has checked who runs it or that "
		    "its name is true. Allow it only if you trust that "
		    "site.</p>\n");
	}
	page_puts(&b, "<p><strong>");
	page_text(&b, z->client.name);
	if (agent) {
		page_puts(&b,
		    "</strong> is an <strong>agent</strong>: a program that "
		    "will act on your behalf, with your authority, without "
		    "asking you again.</p>\n<p>It will act at ");
		resource_line(app, &b, z->p.resource);
		page_puts(&b, ", where it may:</p>\n");
	} else if (z->p.resource != NULL) {
		page_puts(&b, "</strong> asks to act at ");
		resource_line(app, &b, z->p.resource);
		page_puts(&b, ", where it may:</p>\n");
	} else {
		page_puts(&b, "</strong> asks to:</p>\n");
	}
	scope_list(&b, &set);
	/* OI-09, decision 0062: a delegation at a resource comes with a
	 * refresh token; the user is told how long it may last (an agent's
	 * lifetime is chosen below). */
	if (!agent && z->p.resource != NULL &&
	    delegation_refreshable(
		z->p.scope, z->p.resource, z->client.grant_types)) {
		char t[32];

		duration_text(delegation_grant_life(app->cfg, 0, r->now), t);
		page_printf(&b,
		    "<p>It may keep acting there for up to %s, until you "
		    "revoke it on your account page, under &ldquo;Agents "
		    "acting for you&rdquo;.</p>\n",
		    t);
	}
	page_puts(&b, "<p>You will return to ");
	page_text(&b, z->p.redirect_uri);
	page_puts(
	    &b, "</p>\n<form method=\"post\" action=\"/authorize/consent\">\n");
	page_csrf(&b, token);
	page_puts(&b, "<input type=\"hidden\" name=\"req\" value=\"");
	page_text(&b, z->id);
	page_puts(&b, "\">\n");
	if (agent)
		lifetime_select(app, &b);
	page_puts(&b,
	    "<button type=\"submit\" name=\"decision\" "
	    "value=\"allow\">Allow</button>\n"
	    "<button type=\"submit\" name=\"decision\" value=\"deny\" "
	    "class=\"secondary\">Deny</button>\n</form>\n");
	page_end(&b);
	page_send(w, 200, &b);
	scope_set_free(&set);
	sodium_memzero(token, sizeof(token));
}

static void
issue_code(
    struct req *r, struct resp *w, struct authz *z, const struct session *s)
{
	struct app *app = r->app;
	char code[CODE_LEN + 1];
	int rc;

	if ((rc = authz_take(app, z, r->now)) != 0) {
		if (rc == PC_ERR_NOT_FOUND)
			bad_request_page(w,
			    "This sign-in request has expired or was already "
			    "answered. Go back to the application and start "
			    "again.");
		else
			unavailable_page(w);
		return;
	}
	if (authz_code(app, z, s, r->now, code) != 0) {
		/* Fail closed, but the client is told (RFC 6749 §4.1.2.1). */
		redirect_error(r, w, z, "temporarily_unavailable",
		    "The authorization server cannot answer right now.");
		return;
	}
	{
		const char *kv[] = { "code", code, "state", z->p.state };

		/* AU-01: no code leaves without its durable audit row. */
		if (web_audit(r, NULL, "authorize", "success", s->user_id,
			z->p.client_id, NULL) != 0)
			redirect_error(r, w, z, "temporarily_unavailable",
			    "The authorization server cannot answer right "
			    "now.");
		else
			redirect_back(
			    r, w, z->p.redirect_uri, kv, PC_NELEM(kv));
	}
	sodium_memzero(code, sizeof(code));
}

/*
 * Issue 16: the second factor the request or the policy asks for
 * (authz_mfa). True: go on; false: the answer is sent (the factor step,
 * or unmet_authentication_requirements, or login_required for
 * prompt=none).
 */
static bool
step_up(struct req *r, struct resp *w, struct authz *z, const struct session *s)
{
	struct app *app = r->app;
	enum authz_mfa m = AUTHZ_MFA_OK;
	char loc[AUTHZ_LOCATION_MAX];

	if (authz_mfa(app, z, s, r->now, &m) != 0) {
		unavailable_page(w);
		return false;
	}
	if (m == AUTHZ_MFA_OK)
		return true;
	if (m == AUTHZ_MFA_UNMET) {
		(void)authz_take(app, z, r->now);
		redirect_error(r, w, z, "unmet_authentication_requirements",
		    "This application needs a second factor (an authenticator "
		    "app or a passkey) and the account has none.");
		return false;
	}
	if ((z->p.prompt & AZ_PROMPT_NONE) != 0) {
		/* acr_values alone is voluntary: answered as the session
		 * is; a requirement cannot be met without the user. */
		if (!z->client.require_mfa &&
		    strcmp(app->cfg->mfa, "required") != 0)
			return true;
		(void)authz_take(app, z, r->now);
		redirect_error(r, w, z, "login_required",
		    "The user must sign in with a second factor.");
		return false;
	}
	if (authz_mfa_step(app, z, r->ip, r->now, loc) != 0) {
		unavailable_page(w);
		return false;
	}
	web_redirect(w, loc);
	return false;
}

/*
 * Signs in, consents, or answers, depending on the browser's session.
 * consented: the user just allowed this request on the consent page.
 */
static void
proceed(struct req *r, struct resp *w, struct authz *z, bool consented)
{
	struct app *app = r->app;
	struct session s;
	bool need_consent = false;
	int rc;

	rc = web_session(r, &s, NULL, NULL);
	if (rc != 0 && rc != PC_ERR_NOT_FOUND && rc != PC_ERR_VERIFY &&
	    rc != PC_ERR_INVALID) {
		unavailable_page(w);
		return;
	}
	if (authz_needs_login(z, rc == 0 ? &s : NULL)) {
		struct buf loc;

		if ((z->p.prompt & AZ_PROMPT_NONE) != 0) {
			(void)authz_take(app, z, r->now);
			redirect_error(r, w, z, "login_required",
			    "The user must sign in.");
			goto out;
		}
		/* From now on, a sign-in for this request is required. */
		z->p.prompt |= AZ_PROMPT_LOGIN;
		if (authz_save(app, z, r->ip, r->now) != 0) {
			unavailable_page(w);
			goto out;
		}
		buf_init(&loc, 128);
		if (buf_puts(&loc, "/login?req=") != 0 ||
		    buf_puts(&loc, z->id) != 0 ||
		    resp_redirect(w, 303, buf_cstr(&loc)) != 0)
			unavailable_page(w);
		buf_free(&loc);
		goto out;
	}
	if (!step_up(r, w, z, &s))
		goto out;
	if (!consented &&
	    authz_needs_consent(app, z, s.user_id, &need_consent) != 0) {
		unavailable_page(w);
		goto out;
	}
	if (need_consent) {
		/* OI-03, OI-04: no silent answer without consent. */
		if ((z->p.prompt & AZ_PROMPT_NONE) != 0) {
			(void)authz_take(app, z, r->now);
			redirect_error(r, w, z, "consent_required",
			    "The user must allow this application first.");
			goto out;
		}
		if (authz_save(app, z, r->ip, r->now) != 0) {
			unavailable_page(w);
			goto out;
		}
		render_consent(r, w, &s, z);
		goto out;
	}
	issue_code(r, w, z, &s);
out:
	session_clear(&s);
}

void
web_authorize(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	const struct kvlist *q;
	struct kvlist pushed;
	struct az_request a;
	struct authz_error e;
	struct authz z;
	enum authz_status st;
	enum az_fail f;
	const char *why = NULL;
	bool par = false;
	int rc;

	memset(&z, 0, sizeof(z));
	memset(&pushed, 0, sizeof(pushed));
	rc = r->method == HTTP_POST ? req_form(r, &q) : req_query(r, &q);
	if (rc != 0) {
		bad_request_page(w, "The request's parameters are malformed.");
		return;
	}
	/* RFC 9126: a pushed request's parameters, taken once (AZ-13). */
	if (par_is_pushed(q)) {
		rc = par_take(app, r->limits, q, r->now, &pushed, &why);
		if (rc == PC_ERR_STORE) {
			unavailable_page(w);
			return;
		}
		if (rc != 0) {
			bad_request_page(w, why);
			return;
		}
		q = &pushed;
		par = true;
	}
	f = az_parse(q, &a);
	a.par = par;
	if (f == AZ_FAIL_PAGE) {
		bad_request_page(w, a.error_description);
		goto out;
	}
	a.ip = r->ip; /* client_resolve's per-IP limit (issue 15) */
	st = authz_begin(app, &a, f, r->now, &z, &e);
	if (st != AUTHZ_OK) {
		answer(r, w, &z, st, &e);
		goto out;
	}
	if (a.max_age >= 0) {
		struct session s;

		rc = web_session(r, &s, NULL, NULL);
		authz_max_age(&z, a.max_age, rc == 0 ? &s : NULL, r->now);
		session_clear(&s);
	}
	proceed(r, w, &z, false);
out:
	az_request_clear(&a);
	authz_clear(&z);
	kvlist_free(&pushed);
}

/* Loads a saved request and its client; false when the page is sent. */
static bool
load(struct req *r, struct resp *w, const char *id_value, struct authz *z)
{
	struct authz_error e;
	enum authz_status st = authz_load(r->app, id_value, r->now, z, &e);

	if (st != AUTHZ_OK)
		answer(r, w, z, st, &e);
	return st == AUTHZ_OK;
}

void
web_authorize_resume(struct req *r, struct resp *w)
{
	const struct kvlist *q;
	const struct kv *kv = NULL;
	struct authz z;

	memset(&z, 0, sizeof(z));
	if (req_query(r, &q) != 0 || kvlist_get(q, "req", &kv) != 0) {
		bad_request_page(w, "This sign-in request is not valid.");
		return;
	}
	if (load(r, w, kv->value, &z))
		proceed(r, w, &z, false);
	authz_clear(&z);
}

/*
 * The consent's audit row: consent.grant, or for an agent (TX-07)
 * delegation.grant naming the resource, the scope and when it ends.
 */
static int
consent_audit(struct req *r, const struct session *s, const struct authz *z)
{
	json_t *d;
	int rc;

	if (!client_is_agent(&z->client))
		return web_audit(r, s, "consent.grant", "success", s->user_id,
		    z->p.client_id, NULL);
	d = json_pack("{s:s?, s:s, s:I}", "resource", z->p.resource, "scope",
	    z->p.scope, "expires_at",
	    (json_int_t)r->now + (json_int_t)z->grant_ttl);
	rc = web_audit(
	    r, s, "delegation.grant", "success", s->user_id, z->p.client_id, d);
	json_decref(d);
	return rc;
}

void
web_authorize_consent(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct session s;
	struct authz z;
	const char *decision;
	char form[32];
	int rc;

	memset(&z, 0, sizeof(z));
	memset(&s, 0, sizeof(s));
	if ((rc = web_session(r, &s, NULL, NULL)) != 0 &&
	    web_store_failed(rc)) {
		unavailable_page(w);
		goto out;
	}
	if (rc != 0 || s.user_id == NULL) {
		page_message(w, 403, "Request refused",
		    "You are not signed in anymore.", NULL, NULL);
		goto out;
	}
	if (!load(r, w, web_field(r, "req"), &z))
		goto out;
	/* CF-03: the token is this session's for this request only. */
	consent_form_id(&z, form);
	if (!web_check_form(r, w, &s, form))
		goto out;
	decision = web_field(r, "decision");
	if (decision != NULL && strcmp(decision, "allow") == 0) {
		if (client_is_agent(&z.client) &&
		    delegation_ttl_parse(app->cfg, web_field(r, "lifetime"),
			&z.grant_ttl) != 0) {
			bad_request_page(
			    w, "Choose how long the agent may act for you.");
			goto out;
		}
		if (authz_consent_grant(app, &z, s.user_id, r->now) != 0) {
			unavailable_page(w);
			goto out;
		}
		/* AU-01: the consent's row is durable before it is used. */
		if (consent_audit(r, &s, &z) != 0) {
			unavailable_page(w);
			goto out;
		}
		proceed(r, w, &z, true);
		goto out;
	}
	if ((rc = authz_take(app, &z, r->now)) != 0) {
		if (rc == PC_ERR_NOT_FOUND)
			bad_request_page(
			    w, "This sign-in request was already answered.");
		else
			unavailable_page(w);
		goto out;
	}
	web_audit(
	    r, &s, "consent.deny", "success", s.user_id, z.p.client_id, NULL);
	redirect_error(r, w, &z, "access_denied", "The user said no.");
out:
	session_clear(&s);
	authz_clear(&z);
}

int
web_authorize_login_done(struct req *r, const char *req_value,
    const struct session *s, char location[96])
{
	return authz_login_done(r->app, req_value, s, r->now, location);
}

int
web_authorize_pending(struct req *r, const char *req_value, char **login_hint)
{
	return authz_pending(r->app, req_value, r->now, login_hint);
}
