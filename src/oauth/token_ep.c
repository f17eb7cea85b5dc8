/*
 * The token endpoint, POST /token (RFC 6749 §3.2, §4.4; issue 4). This
 * slice serves the client_credentials grant; authorization_code and
 * refresh_token come with /authorize and answer unsupported_grant_type
 * until then (discovery says so).
 *
 * Client authentication (TK-07, TK-08): exactly one method per request,
 * the one the client registered: client_secret_basic (Authorization: Basic
 * of the form-urlencoded id and secret, RFC 6749 §2.3.1) or
 * client_secret_post. Failures are invalid_client (401, with
 * WWW-Authenticate for Basic), audited, and counted per client and per IP
 * in the store-backed throttle, which answers 429 past its limits.
 * Responses are never cached (the route is no-store).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/log.h"

#define CLIENT_ID_MAX 128
#define CLIENT_SECRET_MAX 256

static void
token_error(struct resp *w, int status, const char *error, const char *desc)
{
	json_t *o =
	    json_pack("{s:s, s:s}", "error", error, "error_description", desc);

	if (resp_json(w, status, o) != 0) {
		buf_reset(&w->body);
		w->status = 500;
	}
	json_decref(o);
}

static void
audit(struct req *r, const char *event, const char *outcome,
    const char *client_id, json_t *details)
{
	struct app *app = r->app;
	struct audit_event ev;
	const char *ua = NULL;

	memset(&ev, 0, sizeof(ev));
	(void)req_header(r, "User-Agent", &ua);
	ev.event = event;
	ev.outcome = outcome;
	ev.actor = client_id;
	ev.ip = r->ip;
	ev.user_agent = ua;
	ev.request_id = r->rid;
	ev.details = details;
	if (audit_append(app->db, app->audit_key, &ev) != 0)
		log_msg(LOG_ERROR, "audit.append_failed", event);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX and '+' decoding of one application/x-www-form-urlencoded value;
 * controls (and %00) are refused. */
static bool
form_unescape(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];

		if (o + 1 >= cap)
			return false;
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return false;
			hi = hexval(in[i + 1]);
			lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return true;
}

/*
 * Authorization: Basic: 0 with id and secret filled; PC_ERR_NOT_FOUND
 * when there is no such header; PC_ERR_INVALID when it is malformed.
 */
static int
basic_credentials(const struct req *r, char id[CLIENT_ID_MAX + 1],
    char secret[CLIENT_SECRET_MAX + 1])
{
	const char *h = NULL, *colon;
	unsigned char raw[(CLIENT_ID_MAX + CLIENT_SECRET_MAX) * 3 + 2];
	size_t n = 0;
	int rc = PC_ERR_INVALID;

	if (req_header(r, "Authorization", &h) == PC_ERR_NOT_FOUND)
		return PC_ERR_NOT_FOUND;
	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return PC_ERR_INVALID;
	h += 6;
	if (sodium_base642bin(raw, sizeof(raw) - 1, h, strlen(h), NULL, &n,
		NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return PC_ERR_INVALID;
	raw[n] = '\0';
	colon = memchr(raw, ':', n);
	if (colon != NULL &&
	    form_unescape((const char *)raw, (size_t)(colon - (char *)raw), id,
		CLIENT_ID_MAX + 1) &&
	    form_unescape(colon + 1, n - (size_t)(colon - (char *)raw) - 1,
		secret, CLIENT_SECRET_MAX + 1))
		rc = 0;
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

/* One form field: absent (NULL, 0), present, or repeated (error). */
static int
field(const struct kvlist *f, const char *name, const char **out)
{
	const struct kv *kv = NULL;
	int r = kvlist_get(f, name, &kv);

	*out = NULL;
	if (r == PC_ERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return r;
	*out = kv->value;
	return 0;
}

static bool
has_word(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *e = strchr(p, ' ');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

		if (len == n && memcmp(p, w, n) == 0)
			return true;
		p = e != NULL ? e + 1 : NULL;
	}
	return false;
}

/* Key for the throttle: failures per client id, beside those per IP. */
static char *
client_key(const char *client_id)
{
	size_t n = strlen(client_id) + 8;
	char *k = xmalloc(n);

	snprintf(k, n, "client:%s", client_id);
	return k;
}

static void
client_credentials(struct req *r, struct resp *w, const struct store_client *c,
    const struct kvlist *form)
{
	struct app *app = r->app;
	struct scope_set want, allowed;
	struct token_access_in in;
	const char *scope = NULL;
	char *jwt = NULL, jti[TOKEN_JTI_LEN + 1];
	struct buf granted;
	json_t *o;

	if (!has_word(c->grant_types, "client_credentials")) {
		token_error(w, 400, "unauthorized_client",
		    "This client may not use client_credentials.");
		return;
	}
	if (field(form, "scope", &scope) != 0) {
		token_error(w, 400, "invalid_request", "scope is repeated.");
		return;
	}
	if (scope_parse(c->scopes, &allowed) != 0) {
		token_error(w, 500, "server_error", "Client scopes unusable.");
		return;
	}
	if (scope_parse(scope != NULL ? scope : "", &want) != 0) {
		scope_set_free(&allowed);
		token_error(w, 400, "invalid_scope", "scope is malformed.");
		return;
	}
	/* No user: user scopes make no sense here (AZ-10 at /token). */
	if (!scope_subset(&want, &allowed) || scope_has(&want, "openid") ||
	    scope_has(&want, "offline_access")) {
		scope_set_free(&want);
		scope_set_free(&allowed);
		token_error(w, 400, "invalid_scope",
		    "A requested scope is not allowed for this client.");
		return;
	}
	scope_set_free(&allowed);
	buf_init(&granted, SCOPE_STRING_MAX + 1);
	if (scope_format(&want, &granted) != 0) {
		scope_set_free(&want);
		buf_free(&granted);
		token_error(w, 500, "server_error", "Internal error.");
		return;
	}
	scope_set_free(&want);
	memset(&in, 0, sizeof(in));
	in.client_id = c->client_id;
	in.aud = app->cfg->issuer;
	in.scope = granted.len > 0 ? buf_cstr(&granted) : "";
	if (token_mint_access(app->signer, app->cfg, &in, r->now, &jwt, jti) !=
	    0) {
		buf_free(&granted);
		token_error(w, 503, "temporarily_unavailable",
		    "Tokens cannot be issued right now.");
		resp_header(w, "Retry-After", "5");
		return;
	}
	{
		json_t *d = json_pack(
		    "{s:s, s:s}", "grant", "client_credentials", "jti", jti);

		audit(r, "token.issue", "success", c->client_id, d);
		json_decref(d);
	}
	o = json_pack("{s:s, s:s, s:I}", "access_token", jwt, "token_type",
	    "Bearer", "expires_in", (json_int_t)app->cfg->access_token_ttl);
	if (granted.len > 0)
		json_object_set_new(
		    o, "scope", json_string(buf_cstr(&granted)));
	if (resp_json(w, 200, o) != 0)
		token_error(w, 500, "server_error", "Internal error.");
	json_decref(o);
	sodium_memzero(jwt, strlen(jwt));
	free(jwt);
	buf_free(&granted);
}

void
oauth_token(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	const struct kvlist *form;
	const char *grant = NULL, *post_id = NULL, *post_secret = NULL;
	char id[CLIENT_ID_MAX + 1] = "", secret[CLIENT_SECRET_MAX + 1] = "";
	struct store_client c;
	struct throttle_verdict v;
	char *key = NULL;
	const char *method;
	bool basic = false;
	int rc;

	memset(&c, 0, sizeof(c));
	if (req_form(r, &form) != 0) {
		token_error(w, 400, "invalid_request",
		    "The body must be application/x-www-form-urlencoded.");
		return;
	}
	if (field(form, "grant_type", &grant) != 0 ||
	    field(form, "client_id", &post_id) != 0 ||
	    field(form, "client_secret", &post_secret) != 0) {
		token_error(
		    w, 400, "invalid_request", "A parameter is repeated.");
		return;
	}
	rc = basic_credentials(r, id, secret);
	if (rc == PC_ERR_INVALID) {
		token_error(w, 401, "invalid_client",
		    "Malformed Authorization header.");
		resp_header(
		    w, "WWW-Authenticate", "Basic realm=\"portcullis\"");
		goto out;
	}
	basic = rc == 0;
	/* One method per request (RFC 6749 §2.3). */
	if (basic &&
	    (post_secret != NULL ||
		(post_id != NULL && strcmp(post_id, id) != 0))) {
		token_error(w, 400, "invalid_request",
		    "Use one client authentication method.");
		goto out;
	}
	if (!basic) {
		if (post_id == NULL || post_secret == NULL ||
		    strlen(post_id) > CLIENT_ID_MAX ||
		    strlen(post_secret) > CLIENT_SECRET_MAX) {
			token_error(w, 401, "invalid_client",
			    "Client authentication is required.");
			resp_header(w, "WWW-Authenticate",
			    "Basic realm=\"portcullis\"");
			goto out;
		}
		snprintf(id, sizeof(id), "%s", post_id);
		snprintf(secret, sizeof(secret), "%s", post_secret);
	}
	method = basic ? "client_secret_basic" : "client_secret_post";

	/* TK-08: failed client authentication is throttled, before work. */
	key = client_key(id);
	if (throttle_login_check(app->db, app->cfg, key, r->ip, r->now, &v) !=
	    0) {
		token_error(
		    w, 503, "temporarily_unavailable", "Try again later.");
		resp_header(w, "Retry-After", "5");
		goto out;
	}
	if (!v.allowed) {
		char ra[24];

		token_error(w, 429, "invalid_client",
		    "Too many failed client authentications.");
		snprintf(ra, sizeof(ra), "%lld", (long long)v.retry_after);
		resp_header(w, "Retry-After", ra);
		goto out;
	}
	rc = store_client_get(app->db, id, &c);
	if (rc == 0 &&
	    (strcmp(c.auth_method, method) != 0 ||
		client_verify_secret(
		    app->db, id, secret, strlen(secret), r->now) != 0))
		rc = PC_ERR_VERIFY;
	if (rc != 0) {
		json_t *d = json_pack("{s:s}", "method", method);

		if (throttle_login_failure(
			app->db, app->cfg, key, r->ip, r->now) != 0)
			log_msg(LOG_WARN, "oauth.throttle", "not counted");
		audit(r, "client.auth", "failure",
		    client_id_valid(id) ? id : NULL, d);
		json_decref(d);
		token_error(
		    w, 401, "invalid_client", "Client authentication failed.");
		if (basic)
			resp_header(w, "WWW-Authenticate",
			    "Basic realm=\"portcullis\"");
		goto out;
	}
	if (grant == NULL) {
		token_error(
		    w, 400, "invalid_request", "grant_type is missing.");
		goto out;
	}
	if (strcmp(grant, "client_credentials") == 0) {
		client_credentials(r, w, &c, form);
		goto out;
	}
	token_error(w, 400, "unsupported_grant_type",
	    "Only client_credentials is supported so far.");
out:
	sodium_memzero(secret, sizeof(secret));
	free(key);
	store_client_clear(&c);
}
