/*
 * The token endpoint, POST /token (RFC 6749 §3.2, §4.4; issue 4). This
 * slice serves the client_credentials grant; authorization_code and
 * refresh_token come with /authorize and answer unsupported_grant_type
 * until then (discovery says so). Clients authenticate through
 * client_authenticate() (client_auth.c: TK-07..09). Responses are never
 * cached (the route is no-store).
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

	if (!oauth_has_word(c->grant_types, "client_credentials")) {
		oauth_error(w, 400, "unauthorized_client",
		    "This client may not use client_credentials.");
		return;
	}
	if (oauth_field(form, "scope", &scope) != 0) {
		oauth_error(w, 400, "invalid_request", "scope is repeated.");
		return;
	}
	if (scope_parse(c->scopes, &allowed) != 0) {
		oauth_error(w, 500, "server_error", "Client scopes unusable.");
		return;
	}
	if (scope_parse(scope != NULL ? scope : "", &want) != 0) {
		scope_set_free(&allowed);
		oauth_error(w, 400, "invalid_scope", "scope is malformed.");
		return;
	}
	/* No user: user scopes make no sense here (AZ-10 at /token). */
	if (!scope_subset(&want, &allowed) || scope_has(&want, "openid") ||
	    scope_has(&want, "offline_access")) {
		scope_set_free(&want);
		scope_set_free(&allowed);
		oauth_error(w, 400, "invalid_scope",
		    "A requested scope is not allowed for this client.");
		return;
	}
	scope_set_free(&allowed);
	buf_init(&granted, SCOPE_STRING_MAX + 1);
	if (scope_format(&want, &granted) != 0) {
		scope_set_free(&want);
		buf_free(&granted);
		oauth_error(w, 500, "server_error", "Internal error.");
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
		oauth_error(w, 503, "temporarily_unavailable",
		    "Tokens cannot be issued right now.");
		resp_header(w, "Retry-After", "5");
		return;
	}
	{
		json_t *d = json_pack(
		    "{s:s, s:s}", "grant", "client_credentials", "jti", jti);

		oauth_audit(r, "token.issue", "success", c->client_id, NULL, d);
		json_decref(d);
	}
	o = json_pack("{s:s, s:s, s:I}", "access_token", jwt, "token_type",
	    "Bearer", "expires_in", (json_int_t)app->cfg->access_token_ttl);
	if (granted.len > 0)
		json_object_set_new(
		    o, "scope", json_string(buf_cstr(&granted)));
	if (resp_json(w, 200, o) != 0)
		oauth_error(w, 500, "server_error", "Internal error.");
	json_decref(o);
	sodium_memzero(jwt, strlen(jwt));
	free(jwt);
	buf_free(&granted);
}

void
oauth_token(struct req *r, struct resp *w)
{
	const struct kvlist *form;
	const char *grant = NULL;
	struct store_client c;

	if (req_form(r, &form) != 0) {
		oauth_error(w, 400, "invalid_request",
		    "The body must be application/x-www-form-urlencoded.");
		return;
	}
	if (oauth_field(form, "grant_type", &grant) != 0) {
		oauth_error(
		    w, 400, "invalid_request", "grant_type is repeated.");
		return;
	}
	if (client_authenticate(r, w, form, true, &c) != 0)
		return;
	if (grant == NULL)
		oauth_error(
		    w, 400, "invalid_request", "grant_type is missing.");
	else if (strcmp(grant, "client_credentials") == 0)
		client_credentials(r, w, &c, form);
	else
		oauth_error(w, 400, "unsupported_grant_type",
		    "Only client_credentials is supported so far.");
	store_client_clear(&c);
}
