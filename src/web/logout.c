/*
 * Signing out (/logout), also the OpenID Connect RP-Initiated Logout 1.0
 * end_session_endpoint (OI-11, CF-01, CF-02, AZ-03).
 *
 * A relying party sends the browser here, by GET or by a POST form, with
 * id_token_hint, client_id, post_logout_redirect_uri and state
 * (ui_locales is accepted and ignored); a POST is answered with a 303 to
 * the same request as a GET, because the SameSite=Lax session cookie
 * comes only with that. Nothing is ever signed out by that request
 * (CF-02: forced logout): it only shows a confirmation page
 * whose form, with the session's CSRF token for "logout" (the account
 * page's sign-out form uses the same), POSTs back here; that POST signs
 * out. Sign-out ends the session, the refresh-token families issued from
 * it (RT-05) and the cookie, then answers 303 to the relying party's
 * post_logout_redirect_uri with its state, or to /login.
 *
 * The browser is sent to post_logout_redirect_uri only when it is,
 * byte for byte, one of the post-logout URIs registered for the client
 * named by a verified id_token_hint's aud or by client_id (which must
 * agree); without a client the URI is ignored, and an unregistered one is
 * an error page (AZ-03: never an open redirector). A hint that does not
 * verify is an error page. When nobody is signed in, a valid hint with a
 * registered URI is redirected at once (there is nothing to confirm).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "oauth/oauth.h"
#include "util/log.h"
#include "web/web.h"

#define FORM_LOGOUT "logout"

/* The relying party's side of a sign-out request. */
struct rp_logout {
	const char *hint;      /* id_token_hint as given */
	const char *client_id; /* as given */
	const char *uri;       /* post_logout_redirect_uri as given */
	const char *state;
	bool any; /* any of the parameters above was given */
	bool have_hint;
	struct id_hint h;
	bool have_client;
	struct store_client c; /* from the hint's aud or client_id */
	bool uri_ok;	       /* uri is one of c's post-logout URIs */
};

static void
rp_clear(struct rp_logout *rp)
{
	id_hint_clear(&rp->h);
	client_clear(&rp->c);
	memset(rp, 0, sizeof(*rp));
}

static void
refuse(struct resp *w, int status, const char *text)
{
	page_message(w, status, "Sign-out request refused", text, "/account",
	    "Go to your account");
}

/* An audit row for a refused relying-party request. */
static void
audit_refused(struct req *r, const struct rp_logout *rp, const char *why)
{
	json_t *d = json_pack("{s:s}", "why", why);

	if (rp->have_client)
		json_object_set_new(
		    d, "client_id", json_string(rp->c.client_id));
	web_audit(r, NULL, "logout.request", "failure", NULL,
	    rp->have_client ? rp->c.client_id : NULL, d);
	json_decref(d);
}

/*
 * Reads and checks the relying party's parameters from l (the query or
 * the form; NULL: none). 0, or the error page is written and non-zero is
 * returned.
 */
static int
rp_parse(
    struct req *r, struct resp *w, const struct kvlist *l, struct rp_logout *rp)
{
	struct app *app = r->app;
	const char *ui = NULL;
	int rc;

	memset(rp, 0, sizeof(*rp));
	if (l != NULL &&
	    (oauth_field(l, "id_token_hint", &rp->hint) != 0 ||
		oauth_field(l, "client_id", &rp->client_id) != 0 ||
		oauth_field(l, "post_logout_redirect_uri", &rp->uri) != 0 ||
		oauth_field(l, "state", &rp->state) != 0 ||
		oauth_field(l, "ui_locales", &ui) != 0)) {
		refuse(w, 400,
		    "A parameter of the sign-out request was repeated.");
		return PC_ERR_INVALID;
	}
	/* Empty values count as absent (OIDC Core §3.1.2.1 style). */
	if (rp->hint != NULL && rp->hint[0] == '\0')
		rp->hint = NULL;
	if (rp->client_id != NULL && rp->client_id[0] == '\0')
		rp->client_id = NULL;
	if (rp->uri != NULL && rp->uri[0] == '\0')
		rp->uri = NULL;
	if (rp->state != NULL && rp->state[0] == '\0')
		rp->state = NULL;
	rp->any = rp->hint != NULL || rp->client_id != NULL ||
	    rp->uri != NULL || rp->state != NULL;
	if (rp->hint != NULL) {
		rc = id_hint_verify(app, rp->hint, r->now, &rp->h);
		if (rc == PC_ERR_STORE)
			goto unavailable;
		if (rc != 0) {
			audit_refused(r, rp, "bad-id-token-hint");
			refuse(w, 400,
			    "The application's sign-out request could not be "
			    "verified. You have not been signed out; you can "
			    "sign out from your account page.");
			return PC_ERR_VERIFY;
		}
		rp->have_hint = true;
	}
	if (rp->client_id != NULL && rp->have_hint &&
	    strcmp(rp->client_id, rp->h.client_id) != 0) {
		audit_refused(r, rp, "client-mismatch");
		refuse(w, 400,
		    "The sign-out request names two different applications.");
		return PC_ERR_INVALID;
	}
	if (rp->have_hint || rp->client_id != NULL) {
		const char *id =
		    rp->have_hint ? rp->h.client_id : rp->client_id;

		rc = client_find(app->db, id, &rp->c);
		if (rc == PC_ERR_NOT_FOUND) {
			audit_refused(r, rp, "unknown-client");
			refuse(w, 400,
			    "The sign-out request names an unknown "
			    "application.");
			return PC_ERR_INVALID;
		}
		if (rc != 0)
			goto unavailable;
		rp->have_client = true;
	}
	if ((rp->state != NULL && strlen(rp->state) > AZ_STATE_MAX) ||
	    (rp->uri != NULL && strlen(rp->uri) > AZ_REDIRECT_URI_MAX)) {
		refuse(
		    w, 400, "A parameter of the sign-out request is too long.");
		return PC_ERR_INVALID;
	}
	if (rp->uri != NULL && rp->have_client) {
		rp->uri_ok = client_post_logout_uri_registered(&rp->c, rp->uri);
		if (!rp->uri_ok) {
			audit_refused(r, rp, "unregistered-post-logout-uri");
			refuse(w, 400,
			    "The application asked to return to an address it "
			    "has not registered. You have not been signed out "
			    "and will not be sent there.");
			return PC_ERR_INVALID;
		}
	}
	return 0;
unavailable:
	page_message(w, 503, "Temporarily unavailable",
	    "Sign-out is not possible right now. Try again in a moment.", NULL,
	    NULL);
	resp_header(w, "Retry-After", "5");
	return PC_ERR_STORE;
}

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* sep name=value, the value percent-encoded (RFC 3986 unreserved kept). */
static int
put_param(struct buf *b, char sep, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc;

	if ((rc = buf_putc(b, sep)) != 0 || (rc = buf_puts(b, name)) != 0 ||
	    (rc = buf_putc(b, '=')) != 0)
		return rc;
	for (const char *p = value; rc == 0 && *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (unreserved(c))
			rc = buf_putc(b, (char)c);
		else if ((rc = buf_putc(b, '%')) == 0 &&
		    (rc = buf_putc(b, hex[c >> 4])) == 0)
			rc = buf_putc(b, hex[c & 15]);
	}
	return rc;
}

/* 303 to the registered URI with state percent-encoded. */
static void
redirect_rp(struct resp *w, const struct rp_logout *rp)
{
	struct buf b;
	int rc;

	buf_init(&b, AZ_REDIRECT_URI_MAX + 3 * AZ_STATE_MAX + 64);
	rc = buf_puts(&b, rp->uri);
	if (rc == 0 && rp->state != NULL)
		rc = put_param(&b, strchr(rp->uri, '?') != NULL ? '&' : '?',
		    "state", rp->state);
	if (rc == 0)
		web_redirect(w, buf_cstr(&b));
	else
		w->status = 500;
	buf_free(&b);
}

/*
 * A relying party's POST: 303 to the same request as a GET. The session
 * cookie is SameSite=Lax, so a cross-site POST arrives without it and
 * would look signed out; the top-level GET it is turned into carries it.
 */
static void
reask_as_get(struct resp *w, const struct rp_logout *rp)
{
	const char *names[] = { "id_token_hint", "client_id",
		"post_logout_redirect_uri", "state" };
	const char *values[] = { rp->hint, rp->client_id, rp->uri, rp->state };
	struct buf b;
	char sep = '?';
	int rc;

	buf_init(&b,
	    3 *
		    (ID_HINT_MAX + AZ_CLIENT_ID_MAX + AZ_REDIRECT_URI_MAX +
			AZ_STATE_MAX) +
		128);
	rc = buf_puts(&b, "/logout");
	for (size_t i = 0; rc == 0 && i < PC_NELEM(names); i++) {
		if (values[i] == NULL)
			continue;
		rc = put_param(&b, sep, names[i], values[i]);
		sep = '&';
	}
	if (rc == 0)
		web_redirect(w, buf_cstr(&b));
	else
		w->status = 500;
	buf_free(&b);
}

static void
hidden(struct buf *b, const char *name, const char *value)
{
	page_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
	page_text(b, value);
	page_puts(b, "\">\n");
}

/* GET (or a relying party's POST) with a signed-in user: ask. */
static void
confirm_page(struct req *r, struct resp *w, const struct session *s,
    const struct rp_logout *rp)
{
	struct app *app = r->app;
	struct user u;
	struct buf b;
	char token[64];
	bool other = rp->have_hint && strcmp(rp->h.sub, s->user_id) != 0;

	memset(&u, 0, sizeof(u));
	if (session_csrf_token(s, FORM_LOGOUT, token) != 0) {
		page_message(w, 500, "Something went wrong",
		    "Reload the page and try again.", NULL, NULL);
		return;
	}
	/* Only to show who is signed in: without it the page still works. */
	if (user_get(app->db, s->user_id, &u) != 0)
		memset(&u, 0, sizeof(u));
	buf_init(&b, 64 * 1024);
	page_begin(&b, "Sign out?");
	if (other)
		page_notice(&b, "error",
		    "The application asked to sign out a different account "
		    "than the one signed in here. Sign out only if you meant "
		    "to.");
	if (rp->have_client) {
		page_puts(&b, "<p><strong>");
		page_text(&b,
		    rp->c.name != NULL && rp->c.name[0] != '\0'
			? rp->c.name
			: rp->c.client_id);
		page_puts(&b, "</strong> asks you to sign out.</p>\n");
	}
	if (u.email != NULL) {
		page_puts(&b, "<p>You are signed in as <strong>");
		page_text(&b, u.email);
		page_puts(&b, "</strong>.</p>\n");
	}
	if (rp->uri != NULL && !rp->uri_ok)
		page_notice(&b, "info",
		    "The application did not say who it is, so you will not "
		    "be sent back to it.");
	page_puts(&b, "<form method=\"post\" action=\"/logout\">\n");
	page_csrf(&b, token);
	if (rp->have_client)
		hidden(&b, "client_id", rp->c.client_id);
	if (rp->uri_ok) {
		hidden(&b, "post_logout_redirect_uri", rp->uri);
		if (rp->state != NULL)
			hidden(&b, "state", rp->state);
	}
	page_puts(&b,
	    "<button type=\"submit\">Sign out</button>\n</form>\n"
	    "<nav><a href=\"/account\">Stay signed in</a></nav>\n");
	page_end(&b);
	page_send(w, 200, &b);
	sodium_memzero(token, sizeof(token));
	user_clear(&u);
}

/* GET /logout, or a relying party's POST: never changes anything. */
static void
logout_request(struct req *r, struct resp *w, const struct rp_logout *rp)
{
	struct session s;
	int rc;

	if ((rc = web_session(r, &s, NULL, NULL)) == 0 && s.user_id != NULL) {
		confirm_page(r, w, &s, rp);
		session_clear(&s);
		return;
	}
	session_clear(&s);
	if (web_store_failed(rc)) {
		web_unavailable(w);
		return;
	}
	/* Nobody to sign out: back to a verified relying party at once. */
	if (rp->have_hint && rp->uri_ok) {
		redirect_rp(w, rp);
		return;
	}
	page_message(w, 200, "You are signed out",
	    "You are not signed in here.", "/login", "Sign in");
}

/* The confirmed POST: sign out, then back to the relying party. */
static void
logout_confirmed(struct req *r, struct resp *w, const struct rp_logout *rp)
{
	struct app *app = r->app;
	struct session s;
	char cookie[64];
	bool recorded = true;
	int rc;

	if ((rc = web_session(r, &s, cookie, NULL)) != 0 &&
	    web_store_failed(rc)) {
		/* Never "signed out" while the session may live on. */
		web_unavailable(w);
		return;
	}
	if (rc != 0) {
		/* Nothing to end; still clear whatever the browser holds. */
		if (!web_same_origin(r)) {
			page_message(w, 403, "Request refused",
			    "This form was not sent from this site.", NULL,
			    NULL);
			return;
		}
		web_clear_session_cookie(w, r);
		if (rp->uri_ok)
			redirect_rp(w, rp);
		else
			web_redirect(w, "/login");
		return;
	}
	if (!web_check_form(r, w, &s, FORM_LOGOUT)) {
		session_clear(&s);
		sodium_memzero(cookie, sizeof(cookie));
		return;
	}
	if (session_revoke(app->db, cookie) == 0) {
		json_t *d = rp->have_client
		    ? json_pack("{s:s}", "client_id", rp->c.client_id)
		    : NULL;

		recorded =
		    web_audit(r, &s, "logout", "success", s.user_id,
			rp->have_client ? rp->c.client_id : NULL, d) == 0;
		json_decref(d);
	}
	/* RT-05: refresh tokens issued from this session end too. */
	if (session_revoke_tokens(app->db, &s, r->now) != 0)
		log_msg(LOG_WARN, "auth.logout", "refresh tokens not revoked");
	sodium_memzero(cookie, sizeof(cookie));
	session_clear(&s);
	web_clear_session_cookie(w, r);
	resp_header(w, "Clear-Site-Data", "\"cookies\", \"storage\"");
	if (!recorded) {
		/* AU-01: the session is gone (taking access away never waits
		 * for the audit), but the answer says it was not recorded. */
		page_message(w, 503, "Unavailable",
		    "You are signed out here, but the sign-out could not be "
		    "recorded. Please try again later.",
		    "/login", "Sign in");
		resp_header(w, "Retry-After", "5");
		return;
	}
	if (rp->uri_ok)
		redirect_rp(w, rp);
	else
		web_redirect(w, "/login");
}

void
web_logout(struct req *r, struct resp *w)
{
	const struct kvlist *l = NULL;
	struct rp_logout rp;
	bool confirm;

	if (r->method == HTTP_POST) {
		if (req_form(r, &l) != 0)
			l = NULL;
	} else if (req_query(r, &l) != 0) {
		page_message(w, 400, "Sign-out request refused",
		    "The sign-out request could not be read.", NULL, NULL);
		return;
	}
	if (rp_parse(r, w, l, &rp) != 0) {
		rp_clear(&rp);
		return;
	}
	/*
	 * A POST carrying a CSRF token is a confirmation (ours or the
	 * account page's); so is a bare POST, which then fails the token
	 * check. A POST from a relying party (its parameters, no token) is
	 * turned into the GET, which only asks.
	 */
	confirm = r->method == HTTP_POST &&
	    (!rp.any || (l != NULL && kvlist_value(l, "csrf") != NULL));
	if (confirm)
		logout_confirmed(r, w, &rp);
	else if (r->method == HTTP_POST)
		reask_as_get(w, &rp);
	else
		logout_request(r, w, &rp);
	rp_clear(&rp);
}
