/*
 * Token exchange with a workload's platform token (RFC 8693; issue 14
 * item 5; SECURITY.md TX-05, JW-01..09, DS-05): subject_token_type
 * urn:ietf:params:oauth:token-type:jwt. The subject token authenticates
 * the caller by itself (no client authentication, no static secret
 * anywhere): a Kubernetes service-account token, a CI system's OIDC
 * token, any JWT of an issuer an operator trusts (portcullis federation
 * add), mapped to a service account by the trust's first matching rule.
 *
 * The order, and what each refusal says:
 *   1. the subject token (machine/wif_verify.c): any failure is 400
 *      invalid_grant with one description for all (which check failed is
 *      logged, never told: it would guide an attacker); the store down or
 *      the issuer's JWKS unreachable is 503 (fail closed);
 *   2. the service account the rule names must be alive
 *      (machine_principal_live): else invalid_grant;
 *   3. the resource (required, exactly one registered resource, and one
 *      the service account may reach): else invalid_target;
 *   4. the scope: requested within the rule's scopes (if it has any) ∩ the
 *      service account's (and its groups') ∩ the resource's: else
 *      invalid_scope;
 *   5. the jti is spent (single use until exp + leeway): a replay is
 *      invalid_grant. Last, so a request refused above does not burn the
 *      workload's token;
 *   6. machine_token_issue(): sub = svc_..., client_id = wif_..., aud =
 *      the resource, exchange_token_ttl, audited as token.issue.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "machine/machine.h"
#include "oauth/oauth.h"
#include "oauth/proto.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"

#define ACCESS_TOKEN_TYPE "urn:ietf:params:oauth:token-type:access_token"
#define EXCHANGE_GRANT "urn:ietf:params:oauth:grant-type:token-exchange"

static void
log_refusal(const char *trust_id, const char *why)
{
	struct log_line l;

	log_begin(&l, LOG_INFO, "oauth.workload_exchange");
	if (trust_id != NULL && trust_id[0] != '\0')
		log_str(&l, "trust", trust_id);
	log_str(&l, "refused", why);
	log_end(&l);
}

/* One answer for every subject token refused: no detail that helps. */
static void
bad_grant(struct resp *w)
{
	oauth_error(
	    w, 400, "invalid_grant", "The subject token is not acceptable.");
}

/* rule scopes ∩ what the service account may have, as a scope string. */
static int
allowed_scopes(struct db *db, const struct store_service_account *sa,
    const char *rule_scopes, struct buf *out)
{
	struct scope_set may, rule, both;
	int r;

	memset(&both, 0, sizeof(both));
	if ((r = service_account_scopes(db, sa, &may)) != 0) {
		scope_set_free(&may);
		return r;
	}
	if (rule_scopes == NULL) {
		r = scope_format(&may, out);
		scope_set_free(&may);
		return r;
	}
	if ((r = scope_parse(rule_scopes, &rule)) != 0) {
		scope_set_free(&may);
		return r;
	}
	for (size_t i = 0; i < may.n; i++)
		if (scope_has(&rule, may.v[i]))
			both.v[both.n++] = xstrdup(may.v[i]);
	r = scope_format(&both, out);
	scope_set_free(&may);
	scope_set_free(&rule);
	scope_set_free(&both);
	return r;
}

void
exchange_workload(struct req *r, struct resp *w, const struct kvlist *form)
{
	struct app *app = r->app;
	struct wif_match m;
	struct store_service_account sa;
	struct store_resource res;
	struct machine_grant g;
	struct buf allowed, granted;
	const char *tok = NULL, *scope = NULL, *actor = NULL, *want = NULL,
		   *why = NULL;
	json_t *details = NULL;
	int rc;

	memset(&m, 0, sizeof(m));
	memset(&sa, 0, sizeof(sa));
	memset(&res, 0, sizeof(res));
	buf_init(&allowed, SCOPE_STRING_MAX + 1);
	buf_init(&granted, SCOPE_STRING_MAX + 1);
	if (oauth_field(form, "subject_token", &tok) != 0 ||
	    oauth_field(form, "scope", &scope) != 0 ||
	    oauth_field(form, "actor_token", &actor) != 0 ||
	    oauth_field(form, "requested_token_type", &want) != 0) {
		oauth_error(
		    w, 400, "invalid_request", "A parameter is repeated.");
		goto out;
	}
	if (tok == NULL || tok[0] == '\0') {
		oauth_error(
		    w, 400, "invalid_request", "subject_token is missing.");
		goto out;
	}
	/* A workload acts for itself: no delegation on this path. */
	if (actor != NULL) {
		oauth_error(w, 400, "invalid_request",
		    "actor_token is not accepted with a workload token.");
		goto out;
	}
	if (want != NULL && strcmp(want, ACCESS_TOKEN_TYPE) != 0) {
		oauth_error(w, 400, "invalid_request",
		    "Only access tokens are issued for a workload token.");
		goto out;
	}

	/* 1. The subject token. */
	rc = wif_verify(app->db, app->cfg, tok, strlen(tok), r->now, &m, &why);
	if (rc == PC_ERR_VERIFY) {
		log_refusal(NULL, why);
		bad_grant(w);
		goto out;
	}
	if (rc != 0) {
		log_refusal(NULL, why != NULL ? why : "unavailable");
		oauth_unavailable(w);
		goto out;
	}

	/* 2. The service account, alive, through a trust still there. */
	rc = machine_principal_live(
	    app->db, m.service_account_id, m.trust_id, r->now);
	if (rc == 0)
		rc = store_service_account_get(
		    app->db, m.service_account_id, &sa);
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		goto out;
	}
	if (rc != 0) {
		log_refusal(m.trust_id, "the service account is not usable");
		bad_grant(w);
		goto out;
	}

	/* 3. The resource: required, registered, and the account's. */
	rc = machine_target(r, w, form, true, NULL, &res);
	if (rc < 0)
		goto out;
	if (rc == MACHINE_TARGET_NONE) {
		oauth_error(w, 400, "invalid_target",
		    "resource is required: name the registered resource the "
		    "token is for.");
		goto out;
	}
	if (!service_account_resource_allowed(&sa, res.id)) {
		oauth_error(w, 400, "invalid_target",
		    "The resource is not one this service account may reach.");
		goto out;
	}

	/* 4. The scope. */
	if ((rc = allowed_scopes(app->db, &sa, m.scopes, &allowed)) != 0) {
		if (oauth_store_down(rc))
			oauth_unavailable(w);
		else
			oauth_error(w, 500, "server_error", "Internal error.");
		goto out;
	}
	if (machine_scope(w, scope, buf_cstr(&allowed), res.scopes, &granted) !=
	    0)
		goto out;

	/* 5. Single use: spent only now that everything else passed. */
	rc = wif_jti_consume(app->db, &m, r->now);
	if (rc == PC_ERR_VERIFY) {
		log_refusal(m.trust_id, "jti replayed");
		bad_grant(w);
		goto out;
	}
	if (rc != 0) {
		oauth_unavailable(w);
		goto out;
	}

	/* 6. The token. */
	details = json_pack("{s:s, s:s, s:I}", "subject_token_type",
	    "urn:ietf:params:oauth:token-type:jwt", "subject", m.subject,
	    "rule", (json_int_t)m.rule_no);
	memset(&g, 0, sizeof(g));
	g.sub = m.service_account_id;
	g.credential_id = m.trust_id;
	g.resource = res.id;
	g.scope = buf_cstr(&granted);
	g.ttl = app->cfg->exchange_token_ttl;
	g.grant = EXCHANGE_GRANT;
	g.exchange = true;
	g.details = details;
	machine_token_issue(r, w, &g);
out:
	json_decref(details);
	buf_free(&allowed);
	buf_free(&granted);
	store_resource_clear(&res);
	store_service_account_clear(&sa);
	wif_match_clear(&m);
}
