/*
 * Access tokens for machine principals (issue 14; RFC 9068, RFC 8707,
 * RFC 8693; SECURITY.md TX-04, AU-01, TX-07): the ONE place every such
 * token is minted — client_credentials with a resource (and of a client
 * bound to a service account), API-key exchange, workload federation — so
 * that they all carry the same claims, the same audit row and the same
 * response.
 *
 * A token is minted for exactly one audience: the registered resource the
 * request named (resource or audience parameter, RFC 8707 §2: anything
 * else is invalid_target) or, for client_credentials without one, the
 * issuer. Its scope is what was asked for within what the credential may
 * have and what the resource knows. Its token.issue audit row (actor the
 * credential, target the principal) is durable before the token leaves
 * (AU-01), or no token leaves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit/audit.h"
#include "crypto/crypto.h"
#include "jose/jose.h"
#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/metrics.h"

#define ISSUED_TOKEN_TYPE "urn:ietf:params:oauth:token-type:access_token"

int
token_response_write(struct resp *w, const char *at, int64_t ttl,
    const char *scope, bool exchange)
{
	return token_response_write_dpop(w, at, ttl, scope, exchange, false);
}

int
token_response_write_dpop(struct resp *w, const char *at, int64_t ttl,
    const char *scope, bool exchange, bool dpop)
{
	struct buf *b = resp_json_begin(w, 200);
	int r;

	/* Written straight into the body, which is wiped when released: a
	 * jansson object and its serialisation would be two more copies of
	 * the token, freed unwiped. */
	if ((r = buf_reserve(
		 b, strlen(at) + (scope != NULL ? strlen(scope) : 0) + 160)) !=
		0 ||
	    (r = buf_putc(b, '{')) != 0 ||
	    (r = jose_json_put_member(b, true, "access_token")) != 0 ||
	    (r = jose_json_put_str(b, at, strlen(at))) != 0)
		return r;
	if (exchange &&
	    ((r = jose_json_put_member(b, false, "issued_token_type")) != 0 ||
		(r = jose_json_put_str(b, ISSUED_TOKEN_TYPE,
		     sizeof(ISSUED_TOKEN_TYPE) - 1)) != 0))
		return r;
	if ((r = jose_json_put_member(b, false, "token_type")) != 0 ||
	    (r = jose_json_put_str(
		 b, dpop ? "DPoP" : "Bearer", dpop ? 4 : 6)) != 0 ||
	    (r = jose_json_put_member(b, false, "expires_in")) != 0 ||
	    (r = jose_json_put_int(b, ttl)) != 0)
		return r;
	if (scope != NULL &&
	    ((r = jose_json_put_member(b, false, "scope")) != 0 ||
		(r = jose_json_put_str(b, scope, strlen(scope))) != 0))
		return r;
	return buf_putc(b, '}');
}

/* The metrics label of who obtained g (issue 17 item 2). */
static enum metrics_client_kind
machine_kind(const struct machine_grant *g)
{
	switch (principal_kind(g->credential_id)) {
	case PRINCIPAL_API_KEY: return METRICS_KIND_API_KEY;
	case PRINCIPAL_WORKLOAD: return METRICS_KIND_WORKLOAD;
	default: break;
	}
	if (g->sub != NULL &&
	    principal_kind(g->sub) == PRINCIPAL_SERVICE_ACCOUNT)
		return METRICS_KIND_SERVICE_ACCOUNT;
	return METRICS_KIND_USER_CLIENT;
}

void
machine_token_issue(
    struct req *r, struct resp *w, const struct machine_grant *g)
{
	struct app *app = r->app;
	struct token_access_in in;
	char *jwt = NULL, jti[TOKEN_JTI_LEN + 1];
	int64_t ttl = g->ttl > 0 ? g->ttl : app->cfg->access_token_ttl;
	const char *scope = g->scope != NULL ? g->scope : "";
	json_t *d;
	int rc;

	memset(&in, 0, sizeof(in));
	in.sub = g->sub;
	in.client_id = g->credential_id;
	in.aud = g->resource != NULL ? g->resource : app->cfg->issuer;
	in.scope = scope;
	in.ttl = ttl;
	in.cnf_jkt = g->cnf_jkt;
	if (token_mint_access(app->signer, app->cfg, &in, r->now, &jwt, jti) !=
	    0) {
		oauth_error(w, 503, "temporarily_unavailable",
		    "Tokens cannot be issued right now.");
		resp_header(w, "Retry-After", "5");
		return;
	}
	/* AU-01, TX-07: no token leaves without its durable audit row. */
	d = json_pack("{s:s, s:s?, s:s, s:s}", "grant",
	    g->grant != NULL ? g->grant : "unknown", "resource", g->resource,
	    "scope", scope, "jti", jti);
	/* The caller's details may add to these, never replace them. */
	if (d != NULL && g->details != NULL &&
	    json_object_update_missing(d, g->details) != 0) {
		json_decref(d);
		d = NULL;
	}
	rc = d != NULL ? oauth_audit(r, "token.issue", "success",
			     g->credential_id, g->sub, d)
		       : PC_ERR_INVALID;
	json_decref(d);
	if (rc != 0) {
		pc_freezero_str(jwt);
		oauth_unavailable(w);
		return;
	}
	if (token_response_write_dpop(w, jwt, ttl,
		scope[0] != '\0' ? scope : NULL, g->exchange,
		g->cnf_jkt != NULL) != 0)
		oauth_error(w, 500, "server_error", "Internal error.");
	else
		metrics_token_issued(
		    metrics_grant_of(g->grant), machine_kind(g));
	pc_freezero_str(jwt);
}

/*
 * A service account reaches only the resources its list names (an empty
 * list: any registered one). 0, 1 when it may not, or a store error.
 * Other principals have no such list.
 */
static int
principal_may_reach(struct app *app, const char *sub, const char *uri)
{
	struct store_service_account sa;
	int rc;

	if (sub == NULL || principal_kind(sub) != PRINCIPAL_SERVICE_ACCOUNT)
		return 0;
	rc = store_service_account_get(app->db, sub, &sa);
	if (rc == PC_ERR_NOT_FOUND)
		return 1;
	if (rc != 0)
		return rc;
	rc = service_account_resource_allowed(&sa, uri) ? 0 : 1;
	store_service_account_clear(&sa);
	return rc;
}

int
machine_target(struct req *r, struct resp *w, const struct kvlist *form,
    bool audience, const char *sub, struct store_resource *out)
{
	const char *res = NULL, *aud = NULL, *uri;
	int rc;

	memset(out, 0, sizeof(*out));
	/* RFC 8707 §2: one resource per token here; several values (or a
	 * resource and an audience) are not something we can mint. */
	if (oauth_field(form, "resource", &res) != 0 ||
	    (audience && oauth_field(form, "audience", &aud) != 0) ||
	    (res != NULL && aud != NULL)) {
		oauth_error(w, 400, "invalid_target",
		    "Name exactly one resource: a token is minted for one "
		    "audience.");
		return -1;
	}
	uri = res != NULL ? res : aud;
	if (uri == NULL)
		return MACHINE_TARGET_NONE;
	rc = resource_get(((struct app *)r->app)->db, uri, out);
	if (rc == 0)
		rc = principal_may_reach(r->app, sub, out->id);
	if (rc == 0)
		return 0;
	store_resource_clear(out);
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		return -1;
	}
	/* An unknown resource says nothing about what is registered. */
	oauth_error(w, 400, "invalid_target",
	    rc == 1
		? "The service account may not get tokens for this resource."
		: "The resource is not a registered resource.");
	return -1;
}

int
machine_scope(struct resp *w, const char *requested, const char *allowed,
    const char *resource_scopes, struct buf *granted)
{
	struct scope_set want, may, known, both;
	char desc[SCOPE_TOKEN_MAX + 96];
	const char *bad;
	int rc = -1;

	memset(&both, 0, sizeof(both));
	if (scope_parse(allowed != NULL ? allowed : "", &may) != 0) {
		oauth_error(w, 500, "server_error", "Scopes unusable.");
		return -1;
	}
	if (scope_parse(resource_scopes, &known) != 0) {
		scope_set_free(&may);
		oauth_error(
		    w, 500, "server_error", "Resource scopes unusable.");
		return -1;
	}
	if (scope_parse(requested != NULL ? requested : "", &want) != 0) {
		scope_set_free(&may);
		scope_set_free(&known);
		oauth_error(w, 400, "invalid_scope", "scope is malformed.");
		return -1;
	}
	for (size_t i = 0; i < may.n; i++)
		if (scope_has(&known, may.v[i]))
			both.v[both.n++] = xstrdup(may.v[i]);
	if (want.n > 0) {
		if ((bad = scope_first_missing(&want, &may)) != NULL)
			scope_refused_desc(bad,
			    "is not allowed for this client", desc,
			    sizeof(desc));
		else if ((bad = scope_first_missing(&want, &known)) != NULL)
			scope_refused_desc(bad,
			    "is not a scope of the resource", desc,
			    sizeof(desc));
		if (bad != NULL) {
			oauth_error(w, 400, "invalid_scope", desc);
			goto out;
		}
	} else if (both.n == 0) {
		oauth_error(w, 400, "invalid_scope",
		    "No scope of the resource is allowed for this client.");
		goto out;
	}
	if (scope_format(want.n > 0 ? &want : &both, granted) != 0) {
		oauth_error(w, 500, "server_error", "Internal error.");
		goto out;
	}
	rc = 0;
out:
	scope_set_free(&want);
	scope_set_free(&may);
	scope_set_free(&known);
	scope_set_free(&both);
	return rc;
}

int
machine_cc_resource(struct req *r, struct resp *w, const struct store_client *c,
    const struct kvlist *form, const char *sub, const struct scope_set *allowed,
    const char *cnf_jkt)
{
	struct store_resource res;
	struct machine_grant g;
	struct buf granted, may;
	const char *scope = NULL;
	int t;

	if (oauth_field(form, "scope", &scope) != 0) {
		oauth_error(w, 400, "invalid_request", "scope is repeated.");
		return 0;
	}
	t = machine_target(r, w, form, false, sub, &res);
	if (t == MACHINE_TARGET_NONE)
		return MACHINE_TARGET_NONE;
	if (t != 0)
		return 0;
	/* A resource that takes only DPoP-bound tokens (RFC 9728
	 * dpop_bound_access_tokens_required) gets no Bearer token. */
	if (res.dpop_required && cnf_jkt == NULL) {
		store_resource_clear(&res);
		oauth_error(w, 400, "invalid_dpop_proof",
		    "This resource takes DPoP-bound tokens only: send a DPoP "
		    "proof.");
		return 0;
	}
	buf_init(&granted, SCOPE_STRING_MAX + 1);
	buf_init(&may, SCOPE_STRING_MAX + 1);
	if (scope_format(allowed, &may) != 0) {
		oauth_error(w, 500, "server_error", "Internal error.");
	} else if (machine_scope(w, scope, may.len > 0 ? buf_cstr(&may) : "",
		       res.scopes, &granted) == 0) {
		memset(&g, 0, sizeof(g));
		g.sub = sub;
		g.credential_id = c->client_id;
		g.resource = res.id;
		g.scope = buf_cstr(&granted);
		g.grant = "client_credentials";
		g.cnf_jkt = cnf_jkt;
		machine_token_issue(r, w, &g);
	}
	buf_free(&granted);
	buf_free(&may);
	store_resource_clear(&res);
	return 0;
}
