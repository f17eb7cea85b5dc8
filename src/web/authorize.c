/*
 * The authorization endpoint (RFC 6749 §3.1, §4.1; OpenID Connect Core
 * §3.1.2; RFC 9207; issue 4): GET and POST /authorize, GET
 * /authorize/resume and POST /authorize/consent.
 *
 * A request is parsed (authorize_req.c decides page vs redirect errors),
 * its client looked up and its redirect_uri matched exactly (AZ-01) before
 * anything is sent back to it: until then every error is a page, never a
 * redirect (AZ-02). From then on errors go to the matched redirect_uri
 * with error, state (byte for byte) and iss (AZ-05).
 *
 * Whenever the user must sign in or consent, the request is saved in the
 * store under an opaque id (256 random bits; AZ-03: the browser never
 * carries a return URL) and the browser goes to /login?req=ID. A request
 * that needed a sign-in is resumed only by the session that signed in for
 * it (the login records it), so prompt=login and max_age are honoured even
 * within one second (OI-05). The consent form's CSRF token is bound to the
 * session and to this request (CF-03); the request is taken from the store
 * exactly once, when the code or the error is sent.
 *
 * All clients are registered by the operator (there is no dynamic
 * registration), so errors after the redirect_uri match are redirected at
 * once (AZ-03 a).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/log.h"
#include "web/web.h"

#define PENDING_TTL 900 /* s to sign in and consent */
#define PENDING_ID_LEN 43

/* The request being served: from the query, or from the store. */
struct authz {
	struct store_client client;
	struct store_authz_request p;
	char id[PENDING_ID_LEN + 1]; /* the opaque id; "" until saved */
};

static void
authz_clear(struct authz *z)
{
	store_client_clear(&z->client);
	store_authz_request_clear(&z->p);
	sodium_memzero(z->id, sizeof(z->id));
}

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

	oauth_audit(r, "authorize", "failure", z->p.client_id, NULL, d);
	json_decref(d);
	redirect_back(r, w, z->p.redirect_uri, kv, PC_NELEM(kv));
}

/* Saves the request (once) under a new opaque id. */
static int
save(struct app *app, struct authz *z, const char *ip, int64_t now)
{
	uint8_t raw[32];

	if (z->id[0] != '\0')
		return 0;
	random_bytes(raw, sizeof(raw));
	b64url_encode(raw, sizeof(raw), z->id);
	sodium_memzero(raw, sizeof(raw));
	hash_sha256_hex(z->id, PENDING_ID_LEN, z->p.id_hash);
	z->p.created_at = now;
	z->p.expires_at = now + PENDING_TTL;
	return store_authz_request_put(
	    app->db, &z->p, ip, app->cfg->presession_max_per_ip);
}

/* The opaque id from a form or query value: 43 canonical base64url. */
static bool
parse_id(const char *v, char id[PENDING_ID_LEN + 1], char hash[65])
{
	uint8_t raw[32], back[PENDING_ID_LEN + 1];
	size_t n = 0;
	bool ok;

	if (v == NULL || strlen(v) != PENDING_ID_LEN ||
	    b64url_decode(v, PENDING_ID_LEN, raw, sizeof(raw), &n) != 0 ||
	    n != sizeof(raw))
		return false;
	b64url_encode(raw, sizeof(raw), (char *)back);
	ok = memcmp(back, v, PENDING_ID_LEN) == 0;
	sodium_memzero(raw, sizeof(raw));
	if (!ok)
		return false;
	memcpy(id, v, PENDING_ID_LEN + 1);
	hash_sha256_hex(id, PENDING_ID_LEN, hash);
	return true;
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
	return NULL;
}

static void
render_consent(struct req *r, struct resp *w, const struct session *s,
    const struct authz *z)
{
	struct scope_set set;
	struct buf b;
	char form[32], token[64];

	consent_form_id(z, form);
	if (session_csrf_token(s, form, token) != 0 ||
	    scope_parse(z->p.scope, &set) != 0) {
		page_message(w, 500, "Error", "Internal error.", NULL, NULL);
		return;
	}
	(void)r;
	buf_init(&b, 64 * 1024);
	page_begin(&b, "Allow access?");
	page_puts(&b, "<p><strong>");
	page_text(&b, z->client.name);
	page_puts(&b, "</strong> asks to:</p>\n<ul>\n");
	for (size_t i = 0; i < set.n; i++) {
		const char *t = scope_text(set.v[i]);

		page_puts(&b, "<li>");
		if (t != NULL) {
			page_text(&b, t);
		} else {
			page_puts(&b, "Use the permission <code>");
			page_text(&b, set.v[i]);
			page_puts(&b, "</code>");
		}
		page_puts(&b, "</li>\n");
	}
	if (set.n == 0)
		page_puts(&b, "<li>Know that you are signed in</li>\n");
	page_puts(&b, "</ul>\n<p>You will return to ");
	page_text(&b, z->p.redirect_uri);
	page_puts(
	    &b, "</p>\n<form method=\"post\" action=\"/authorize/consent\">\n");
	page_csrf(&b, token);
	page_puts(&b, "<input type=\"hidden\" name=\"req\" value=\"");
	page_text(&b, z->id);
	page_puts(&b,
	    "\">\n<button type=\"submit\" name=\"decision\" "
	    "value=\"allow\">Allow</button>\n"
	    "<button type=\"submit\" name=\"decision\" value=\"deny\" "
	    "class=\"secondary\">Deny</button>\n</form>\n");
	page_end(&b);
	page_send(w, 200, &b);
	scope_set_free(&set);
	sodium_memzero(token, sizeof(token));
}

/* Takes the saved request (if it was saved): false when another request
 * already took it (a replayed form or a second tab). */
static bool
take(struct app *app, struct authz *z, int64_t now, int *rc)
{
	struct store_authz_request t;

	*rc = 0;
	if (z->id[0] == '\0')
		return true;
	*rc = store_authz_request_take(app->db, z->p.id_hash, now, &t);
	store_authz_request_clear(&t);
	return *rc == 0;
}

static void
issue_code(
    struct req *r, struct resp *w, struct authz *z, const struct session *s)
{
	struct app *app = r->app;
	struct code_grant g;
	char code[CODE_LEN + 1], sid[SESSION_SID_LEN + 1];
	int rc;

	if (!take(app, z, r->now, &rc)) {
		if (rc == PC_ERR_NOT_FOUND)
			bad_request_page(w,
			    "This sign-in request has expired or was already "
			    "answered. Go back to the application and start "
			    "again.");
		else
			unavailable_page(w);
		return;
	}
	session_sid(s, sid);
	memset(&g, 0, sizeof(g));
	g.client_id = z->p.client_id;
	g.user_id = s->user_id;
	g.redirect_uri = z->p.redirect_uri;
	g.code_challenge = z->p.code_challenge;
	g.scope = z->p.scope;
	g.nonce = z->p.nonce;
	g.amr = s->amr;
	g.sid = sid;
	g.auth_time = s->auth_time;
	if (code_issue(app->db, &g, r->now, code) != 0) {
		/* Fail closed, but the client is told (RFC 6749 §4.1.2.1). */
		redirect_error(r, w, z, "temporarily_unavailable",
		    "The authorization server cannot answer right now.");
		return;
	}
	{
		const char *kv[] = { "code", code, "state", z->p.state };

		/* AU-01: no code leaves without its durable audit row. */
		if (oauth_audit(r, "authorize", "success", s->user_id,
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
 * Signs in, consents, or answers, depending on the browser's session.
 * consented: the user just allowed this request on the consent page.
 */
static void
proceed(struct req *r, struct resp *w, struct authz *z, bool consented)
{
	struct app *app = r->app;
	struct session s;
	bool signed_in, need_login, need_consent = false;
	int rc;

	rc = web_session(r, &s, NULL, NULL);
	if (rc != 0 && rc != PC_ERR_NOT_FOUND && rc != PC_ERR_VERIFY &&
	    rc != PC_ERR_INVALID) {
		unavailable_page(w);
		return;
	}
	signed_in = rc == 0 && s.user_id != NULL;
	need_login = !signed_in;
	if (signed_in && (z->p.prompt & AZ_PROMPT_LOGIN) != 0)
		/* Only the sign-in made for this very request counts. */
		need_login = !session_has_sid(&s, z->p.login_sid);
	/* OI-06: never for another user than the hinted one. */
	if (signed_in && z->p.hint_sub != NULL &&
	    strcmp(z->p.hint_sub, s.user_id) != 0)
		need_login = true;
	if (need_login) {
		struct buf loc;

		if ((z->p.prompt & AZ_PROMPT_NONE) != 0) {
			(void)take(app, z, r->now, &rc);
			redirect_error(r, w, z, "login_required",
			    "The user must sign in.");
			goto out;
		}
		/* From now on, a sign-in for this request is required. */
		z->p.prompt |= AZ_PROMPT_LOGIN;
		if (z->id[0] == '\0' && save(app, z, r->ip, r->now) != 0) {
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
	if (!consented && !z->client.first_party) {
		struct scope_set want;
		bool covered = false;

		if (scope_parse(z->p.scope, &want) != 0 ||
		    consent_covers(app->db, s.user_id, z->p.client_id, &want,
			&covered) != 0) {
			scope_set_free(&want);
			unavailable_page(w);
			goto out;
		}
		scope_set_free(&want);
		need_consent =
		    !covered || (z->p.prompt & AZ_PROMPT_CONSENT) != 0;
	}
	if (need_consent) {
		/* OI-03, OI-04: no silent answer without consent. */
		if ((z->p.prompt & AZ_PROMPT_NONE) != 0) {
			(void)take(app, z, r->now, &rc);
			redirect_error(r, w, z, "consent_required",
			    "The user must allow this application first.");
			goto out;
		}
		if (z->id[0] == '\0' && save(app, z, r->ip, r->now) != 0) {
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

/* The client's allowed scopes, with offline_access only for clients that
 * may use refresh tokens (OI-09). */
static int
grantable_scope(const struct store_client *c, struct scope_set *want, bool *ok,
    struct buf *out, const char **refused)
{
	struct scope_set allowed, keep;
	int r;

	*ok = false;
	if (scope_parse(c->scopes, &allowed) != 0)
		return PC_ERR_INTERNAL;
	memset(&keep, 0, sizeof(keep));
	for (size_t i = 0; i < want->n; i++) {
		/* OI-09: ignored unless the client may refresh. */
		if (strcmp(want->v[i], "offline_access") == 0 &&
		    (!scope_has(&allowed, "offline_access") ||
			!oauth_has_word(c->grant_types, "refresh_token")))
			continue;
		keep.v[keep.n++] = want->v[i];
	}
	*ok = scope_subset(&keep, &allowed);
	/* A token of want: it lives as long as the request. */
	*refused = scope_first_missing(&keep, &allowed);
	r = *ok ? scope_format(&keep, out) : 0;
	scope_set_free(&allowed);
	return r;
}

static char *
dup_opt(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
web_authorize(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	const struct kvlist *q;
	struct az_request a;
	struct authz z;
	struct buf scope;
	enum az_fail f;
	const char *refused = NULL;
	bool matched = false, ok = false;
	int rc;

	memset(&z, 0, sizeof(z));
	rc = r->method == HTTP_POST ? req_form(r, &q) : req_query(r, &q);
	if (rc != 0) {
		bad_request_page(w, "The request's parameters are malformed.");
		return;
	}
	f = az_parse(q, &a);
	if (f == AZ_FAIL_PAGE) {
		bad_request_page(w, a.error_description);
		goto out;
	}
	rc = store_client_get(app->db, a.client_id, &z.client);
	if (rc == PC_ERR_NOT_FOUND ||
	    (rc == 0 && !client_id_valid(a.client_id))) {
		/* AZ-02: never a redirect for an unknown client. */
		bad_request_page(w, "The application is not known here.");
		goto out;
	}
	if (rc != 0) {
		unavailable_page(w);
		goto out;
	}
	for (size_t i = 0; i < z.client.n_redirect_uris && !matched; i++)
		matched = redirect_uri_match(
		    z.client.redirect_uris[i], a.redirect_uri);
	if (!matched) {
		/* AZ-01: an unregistered redirect_uri gets no redirect. */
		bad_request_page(w,
		    "The application asked to return to an address that is "
		    "not registered for it.");
		goto out;
	}
	z.p.client_id = xstrdup(a.client_id);
	z.p.redirect_uri = xstrdup(a.redirect_uri);
	z.p.state = dup_opt(a.state);
	if (f == AZ_FAIL_REDIRECT) {
		redirect_error(r, w, &z, a.error, a.error_description);
		goto out;
	}
	if (!oauth_has_word(z.client.grant_types, "authorization_code")) {
		redirect_error(r, w, &z, "unauthorized_client",
		    "This client may not use the authorization code flow.");
		goto out;
	}
	buf_init(&scope, SCOPE_STRING_MAX + 1);
	if (grantable_scope(&z.client, &a.scope, &ok, &scope, &refused) != 0) {
		buf_free(&scope);
		unavailable_page(w);
		goto out;
	}
	if (!ok) {
		char desc[SCOPE_TOKEN_MAX + 64];

		buf_free(&scope);
		/* AZ-10: never beyond the client's scopes. */
		scope_refused_desc(refused, "is not allowed for this client",
		    desc, sizeof(desc));
		redirect_error(r, w, &z, "invalid_scope", desc);
		goto out;
	}
	z.p.scope = xstrdup(scope.len > 0 ? buf_cstr(&scope) : "");
	buf_free(&scope);
	if (oauth_has_word(z.p.scope, "openid") &&
	    !signer_can_sign(app->signer,
		jose_alg_parse(
		    z.client.id_token_alg, strlen(z.client.id_token_alg)),
		r->now)) {
		/* Fail before the user signs in, not at the token endpoint. */
		log_msg(
		    LOG_ERROR, "oauth.no_signing_key", z.client.id_token_alg);
		redirect_error(r, w, &z, "server_error",
		    "No signing key for this client's ID token algorithm.");
		goto out;
	}
	if (a.id_token_hint != NULL) {
		struct id_hint h;

		rc = id_hint_verify(app, a.id_token_hint, r->now, &h);
		if (rc == PC_ERR_STORE) {
			unavailable_page(w);
			goto out;
		}
		if (rc != 0) {
			/* OI-06: a forged or alg:none hint is refused. */
			redirect_error(r, w, &z, "invalid_request",
			    "id_token_hint is not valid.");
			goto out;
		}
		z.p.hint_sub = xstrdup(h.sub);
		id_hint_clear(&h);
	}
	z.p.nonce = dup_opt(a.nonce);
	z.p.code_challenge = xstrdup(a.code_challenge);
	z.p.login_hint = dup_opt(a.login_hint);
	z.p.prompt = a.prompt;
	/* One account per browser: choosing one is signing in again. */
	if ((a.prompt & AZ_PROMPT_SELECT_ACCOUNT) != 0)
		z.p.prompt |= AZ_PROMPT_LOGIN;
	if (a.max_age >= 0) {
		/* OI-05: a session older than max_age must sign in again
		 * (max_age=0 is prompt=login). */
		struct session s;

		rc = web_session(r, &s, NULL, NULL);
		if (rc != 0 || s.user_id == NULL ||
		    r->now - s.auth_time > a.max_age || a.max_age == 0)
			z.p.prompt |= AZ_PROMPT_LOGIN;
		session_clear(&s);
	}
	proceed(r, w, &z, false);
out:
	az_request_clear(&a);
	authz_clear(&z);
}

/* Loads a saved request and its client; false when the page is sent. */
static bool
load(struct req *r, struct resp *w, const char *id_value, struct authz *z)
{
	struct app *app = r->app;
	char hash[65];
	int rc;

	if (!parse_id(id_value, z->id, hash)) {
		bad_request_page(w, "This sign-in request is not valid.");
		return false;
	}
	rc = store_authz_request_get(app->db, hash, r->now, &z->p);
	if (rc == 0)
		rc = store_client_get(app->db, z->p.client_id, &z->client);
	if (rc == PC_ERR_NOT_FOUND) {
		bad_request_page(w,
		    "This sign-in request has expired or was already "
		    "answered. Go back to the application and start again.");
		return false;
	}
	if (rc != 0) {
		unavailable_page(w);
		return false;
	}
	/* The client may have changed while the user signed in. */
	for (size_t i = 0; i < z->client.n_redirect_uris; i++)
		if (redirect_uri_match(
			z->client.redirect_uris[i], z->p.redirect_uri))
			return true;
	bad_request_page(w,
	    "The application asked to return to an address that is not "
	    "registered for it.");
	return false;
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
		struct scope_set set;

		if (scope_parse(z.p.scope, &set) != 0 ||
		    consent_grant(
			app->db, s.user_id, z.p.client_id, &set, r->now) != 0) {
			scope_set_free(&set);
			unavailable_page(w);
			goto out;
		}
		scope_set_free(&set);
		/* AU-01: the consent's row is durable before it is used. */
		if (web_audit(r, &s, "consent.grant", "success", s.user_id,
			z.p.client_id, NULL) != 0) {
			unavailable_page(w);
			goto out;
		}
		proceed(r, w, &z, true);
		goto out;
	}
	if (!take(app, &z, r->now, &rc)) {
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
	struct app *app = r->app;
	char id[PENDING_ID_LEN + 1], hash[65], sid[SESSION_SID_LEN + 1];
	int rc;

	if (!parse_id(req_value, id, hash))
		return PC_ERR_INVALID;
	session_sid(s, sid);
	rc = store_authz_request_set_login(app->db, hash, sid, r->now);
	if (rc == 0)
		snprintf(location, 96, "/authorize/resume?req=%s", id);
	sodium_memzero(id, sizeof(id));
	return rc;
}

int
web_authorize_pending(struct req *r, const char *req_value, char **login_hint)
{
	struct app *app = r->app;
	struct store_authz_request p;
	char id[PENDING_ID_LEN + 1], hash[65];
	int rc;

	*login_hint = NULL;
	if (!parse_id(req_value, id, hash))
		return PC_ERR_INVALID;
	rc = store_authz_request_get(app->db, hash, r->now, &p);
	if (rc == 0) {
		*login_hint = p.login_hint;
		p.login_hint = NULL;
	}
	store_authz_request_clear(&p);
	return rc;
}
