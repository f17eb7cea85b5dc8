/*
 * The token endpoint, POST /token (RFC 6749 §3.2, §4.1.3, §4.4, §6;
 * issue 4): authorization_code (single use, bound to client, redirect_uri
 * and PKCE verifier; a replay revokes what the first use got: TK-01..06),
 * refresh_token (rotation on every use, reuse revokes the family, scope
 * may only narrow: RT-01..05) and client_credentials (confidential
 * clients, no refresh token). Every code redemption starts a token family
 * (the grant) named in its access tokens' gid claim, so revoking the
 * family kills them too. Clients authenticate through
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
#include "auth/mfa.h"
#include "crypto/crypto.h"
#include "jose/jose.h"
#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/log.h"
#include "util/metrics.h"

/*
 * AK-08: a client bound to a service account obtains the account's tokens
 * (sub = svc_...), within client scopes ∩ (the account's scopes ∪ its
 * groups'): allowed is narrowed to that, *sub gets the account's id.
 * A disabled, expired or deleted account answers invalid_grant (RFC 6749
 * 5.2: for client_credentials the client's credentials are the grant,
 * and it is the grant that is revoked; the client authenticated fine, so
 * invalid_client would send its operator rotating keys for nothing).
 * -1 once the error is written.
 */
static int
bound_account(struct req *r, struct resp *w, const struct store_client *c,
    const struct kvlist *form, struct scope_set *allowed, char **sub)
{
	const char *res = NULL;
	struct app *app = r->app;
	struct store_service_account sa;
	struct scope_set granted;
	size_t k = 0;
	int rc;

	*sub = NULL;
	rc = store_service_account_get(app->db, c->service_account_id, &sa);
	if (rc == PC_ERR_NOT_FOUND ||
	    (rc == 0 && !service_account_usable(&sa, r->now))) {
		if (rc == 0)
			store_service_account_clear(&sa);
		oauth_error(w, 400, "invalid_grant",
		    "The service account is disabled, expired or deleted.");
		return -1;
	}
	/* Its resources, when it has a list, bound what it may ask for (a
	 * repeated resource is machine_target()'s invalid_target). */
	if (rc == 0 && oauth_field(form, "resource", &res) == 0 &&
	    res != NULL && !service_account_resource_allowed(&sa, res)) {
		store_service_account_clear(&sa);
		oauth_error(w, 400, "invalid_target",
		    "The service account may not get tokens for this "
		    "resource.");
		return -1;
	}
	if (rc == 0 &&
	    (rc = service_account_scopes(app->db, &sa, &granted)) != 0)
		store_service_account_clear(&sa);
	if (rc != 0) {
		oauth_unavailable(w);
		return -1;
	}
	for (size_t i = 0; i < allowed->n; i++) {
		if (scope_has(&granted, allowed->v[i]))
			allowed->v[k++] = allowed->v[i];
		else
			free(allowed->v[i]);
	}
	allowed->n = k;
	scope_set_free(&granted);
	*sub = sa.id;
	sa.id = NULL;
	store_service_account_clear(&sa);
	return 0;
}

static void
client_credentials(struct req *r, struct resp *w, const struct store_client *c,
    const struct kvlist *form)
{
	struct app *app = r->app;
	struct scope_set want, allowed;
	struct token_access_in in;
	const char *scope = NULL;
	char *jwt = NULL, *sub = NULL, jti[TOKEN_JTI_LEN + 1];
	struct buf granted;
	struct dpop_proof dp;
	const char *jkt;

	if (!oauth_has_word(c->grant_types, "client_credentials")) {
		oauth_error(w, 400, "unauthorized_client",
		    "This client may not use client_credentials.");
		return;
	}
	/* RFC 9449 §5: a proof binds the token to its key (TX-06). */
	if (dpop_check_client(r, w, c, "/token", &dp) != 0)
		return;
	jkt = dp.present ? dp.jkt : NULL;
	if (oauth_field(form, "scope", &scope) != 0) {
		oauth_error(w, 400, "invalid_request", "scope is repeated.");
		return;
	}
	if (scope_parse(c->scopes, &allowed) != 0) {
		oauth_error(w, 500, "server_error", "Client scopes unusable.");
		return;
	}
	if (c->service_account_id != NULL &&
	    bound_account(r, w, c, form, &allowed, &sub) != 0) {
		scope_set_free(&allowed);
		return;
	}
	/* TX-04, RFC 8707: a resource makes a token for it (aud = the
	 * resource, scope within allowed and the resource's); without one,
	 * as always (aud = us). */
	if (machine_cc_resource(r, w, c, form, sub, &allowed, jkt) !=
	    MACHINE_TARGET_NONE) {
		scope_set_free(&allowed);
		free(sub);
		return;
	}
	if (scope_parse(scope != NULL ? scope : "", &want) != 0) {
		free(sub);
		scope_set_free(&allowed);
		oauth_error(w, 400, "invalid_scope", "scope is malformed.");
		return;
	}
	/* No user: user scopes make no sense here (AZ-10 at /token). */
	if (!scope_subset(&want, &allowed) || scope_has(&want, "openid") ||
	    scope_has(&want, "offline_access")) {
		char desc[SCOPE_TOKEN_MAX + 64];
		const char *bad = scope_first_missing(&want, &allowed);

		if (bad != NULL)
			scope_refused_desc(bad,
			    "is not allowed for this client", desc,
			    sizeof(desc));
		else
			scope_refused_desc(scope_has(&want, "openid")
				? "openid"
				: "offline_access",
			    "needs a user: not with client_credentials", desc,
			    sizeof(desc));
		scope_set_free(&want);
		scope_set_free(&allowed);
		free(sub);
		oauth_error(w, 400, "invalid_scope", desc);
		return;
	}
	scope_set_free(&allowed);
	buf_init(&granted, SCOPE_STRING_MAX + 1);
	if (scope_format(&want, &granted) != 0) {
		scope_set_free(&want);
		buf_free(&granted);
		free(sub);
		oauth_error(w, 500, "server_error", "Internal error.");
		return;
	}
	scope_set_free(&want);
	/* AK-08: a service account's token, minted, audited and answered
	 * like every machine token (aud = us: no resource was named). */
	if (sub != NULL) {
		struct machine_grant g;

		memset(&g, 0, sizeof(g));
		g.sub = sub;
		g.credential_id = c->client_id;
		g.scope = granted.len > 0 ? buf_cstr(&granted) : "";
		g.grant = "client_credentials";
		g.cnf_jkt = jkt;
		machine_token_issue(r, w, &g);
		buf_free(&granted);
		free(sub);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.client_id = c->client_id;
	in.aud = app->cfg->issuer;
	in.scope = granted.len > 0 ? buf_cstr(&granted) : "";
	in.cnf_jkt = jkt;
	if (token_mint_access(app->signer, app->cfg, &in, r->now, &jwt, jti) !=
	    0) {
		buf_free(&granted);
		oauth_error(w, 503, "temporarily_unavailable",
		    "Tokens cannot be issued right now.");
		resp_header(w, "Retry-After", "5");
		return;
	}
	{
		/* AU-01: no token leaves without its durable audit row. */
		json_t *d = json_pack("{s:s, s:s, s:s}", "grant",
		    "client_credentials", "jti", jti, "scope", in.scope);
		int rc = oauth_audit(
		    r, "token.issue", "success", c->client_id, NULL, d);

		json_decref(d);
		if (rc != 0) {
			pc_freezero_str(jwt);
			buf_free(&granted);
			oauth_unavailable(w);
			return;
		}
	}
	if (token_response_write_dpop(w, jwt, app->cfg->access_token_ttl,
		granted.len > 0 ? buf_cstr(&granted) : NULL, false,
		jkt != NULL) != 0)
		oauth_error(w, 500, "server_error", "Internal error.");
	else
		metrics_token_issued(METRICS_GRANT_CLIENT_CREDENTIALS,
		    metrics_kind_of_client(c->kind));
	pc_freezero_str(jwt);
	buf_free(&granted);
}

/* What the tokens of a user grant are issued for. */
struct user_grant {
	const char *user_id;
	const char *scope; /* granted to these tokens */
	const char *nonce; /* NULL: none (and never on refresh) */
	const char *amr;
	const char *sid;
	int64_t auth_time;
	const char *family_id;
	const char *refresh;  /* NULL: no refresh token */
	const char *grant;    /* for the audit */
	bool resent;	      /* RT-02 grace: refresh is a successor resent */
	bool no_id_token;     /* the client's refresh without an ID token */
	const char *jti;      /* the access token's, already audited; or NULL */
	const char *cnf_jkt;  /* DPoP: the key the access token is bound to */
	const char *resource; /* RFC 8707: the aud; NULL: us (TX-04) */
	int64_t grant_end;    /* the family's end: no token outlives it */
};

/* The ID token's identity claims come from userinfo; only the user's
 * existence and state are checked here. */
static int
live_user(struct app *app, const char *user_id)
{
	struct store_user u;
	int r = store_user_get(app->db, user_id, &u);

	if (r == 0 && u.disabled_at != 0)
		r = PC_ERR_NOT_FOUND;
	store_user_clear(&u);
	return r;
}

/*
 * Mints the access token (and ID token for openid) and answers. Nonzero:
 * w is a 503 and nothing was issued; when the cause was the audit row
 * (AU-01), *audit_failed is set so the caller can undo its state change.
 */
static int issue_user_tokens_with(struct req *r, struct resp *w,
    const struct store_client *c, const struct user_grant *g, bool openid,
    char *const *groups, size_t ngroups);

static int
issue_user_tokens(struct req *r, struct resp *w, const struct store_client *c,
    const struct user_grant *g)
{
	struct app *app = r->app;
	struct scope_set set;
	char **groups = NULL;
	size_t ngroups = 0;
	bool openid, with_groups;
	int rc;

	if (scope_parse(g->scope, &set) != 0) {
		oauth_error(w, 500, "server_error", "Stored scope unusable.");
		return PC_ERR_INVALID;
	}
	openid = scope_has(&set, "openid");
	with_groups = scope_has(&set, "groups");
	scope_set_free(&set);
	/* Issue 14: the user's groups, by name, as of now. */
	if (with_groups &&
	    group_names_of(app->db, g->user_id, &groups, &ngroups) != 0) {
		oauth_unavailable(w);
		return PC_ERR_STORE;
	}
	rc = issue_user_tokens_with(r, w, c, g, openid,
	    with_groups ? (groups != NULL ? groups : (char *[]){ NULL }) : NULL,
	    ngroups);
	store_strv_free(groups, ngroups);
	return rc;
}

static int
issue_user_tokens_with(struct req *r, struct resp *w,
    const struct store_client *c, const struct user_grant *g, bool openid,
    char *const *groups, size_t ngroups)
{
	struct app *app = r->app;
	struct token_access_in in;
	char *at = NULL, *idt = NULL, jti[TOKEN_JTI_LEN + 1];
	json_t *o, *d;
	int rc;

	memset(&in, 0, sizeof(in));
	in.sub = g->user_id;
	in.client_id = c->client_id;
	in.aud = g->resource != NULL ? g->resource : app->cfg->issuer;
	in.ttl = delegation_token_ttl(app->cfg, g->grant_end, r->now);
	in.scope = g->scope;
	in.auth_time = g->auth_time;
	in.amr = g->amr;
	in.acr = mfa_acr(g->amr); /* OI-07, issue 16: from the amr only */
	in.grant_id = g->family_id;
	in.jti = g->jti;
	in.groups = groups;
	in.ngroups = ngroups;
	in.cnf_jkt = g->cnf_jkt;
	if (token_mint_access(app->signer, app->cfg, &in, r->now, &at, jti) !=
	    0) {
		oauth_unavailable(w);
		return PC_ERR_CRYPTO;
	}
	/* OI-02: an ID token only for an OpenID request; on refresh only
	 * if the client wants it again (OIDC Core §12.2). */
	if (openid && !g->no_id_token) {
		struct token_id_in id;
		enum jose_alg alg =
		    jose_alg_parse(c->id_token_alg, strlen(c->id_token_alg));

		memset(&id, 0, sizeof(id));
		id.sub = g->user_id;
		id.client_id = c->client_id;
		id.alg = alg;
		id.auth_time = g->auth_time;
		id.nonce = g->nonce;
		id.amr = g->amr;
		id.acr = mfa_acr(g->amr);
		id.sid = g->sid;
		id.access_token = at;
		id.groups = groups;
		id.ngroups = ngroups;
		if (token_mint_id(app->signer, app->cfg, &id, r->now, &idt) !=
		    0) {
			pc_freezero_str(at);
			oauth_unavailable(w);
			return PC_ERR_CRYPTO;
		}
	}
	/* AU-01: the row is durable before any token leaves, or none does
	 * (a refresh wrote it in its rotation's commit: g->jti). */
	rc = 0;
	if (g->jti == NULL) {
		d = json_pack("{s:s, s:s, s:s, s:b, s:s?}", "grant", g->grant,
		    "jti", jti, "family", g->family_id, "refresh",
		    g->refresh != NULL, "resource", g->resource);
		rc = oauth_audit(
		    r, "token.issue", "success", c->client_id, g->user_id, d);
		json_decref(d);
	}
	if (rc != 0) {
		pc_freezero_str(at);
		if (idt != NULL) {
			pc_freezero_str(idt);
		}
		oauth_unavailable(w);
		return PC_ERR_STORE;
	}
	o = json_pack("{s:s, s:s, s:I, s:s}", "access_token", at, "token_type",
	    g->cnf_jkt != NULL ? "DPoP" : "Bearer", "expires_in",
	    (json_int_t)in.ttl, "scope", g->scope);
	if (idt != NULL)
		json_object_set_new(o, "id_token", json_string(idt));
	if (g->refresh != NULL)
		json_object_set_new(
		    o, "refresh_token", json_string(g->refresh));
	if (resp_json(w, 200, o) != 0)
		oauth_error(w, 500, "server_error", "Internal error.");
	else
		metrics_token_issued(metrics_grant_of(g->grant),
		    metrics_kind_of_client(c->kind));
	json_decref(o);
	pc_freezero_str(at);
	if (idt != NULL) {
		pc_freezero_str(idt);
	}
	return 0;
}

/* RFC 6749 §4.1.3; TK-01..06. */
static void
authorization_code(struct req *r, struct resp *w, const struct store_client *c,
    const struct kvlist *form)
{
	struct app *app = r->app;
	const char *code = NULL, *redirect_uri = NULL, *verifier = NULL;
	struct store_auth_code ac;
	struct refresh_grant rg;
	struct user_grant ug;
	char refresh[REFRESH_LEN + 1], family[48];
	struct dpop_proof dp;
	bool offline;
	int rc;

	memset(&ac, 0, sizeof(ac));
	if (!oauth_has_word(c->grant_types, "authorization_code")) {
		oauth_error(w, 400, "unauthorized_client",
		    "This client may not use authorization_code.");
		return;
	}
	if (oauth_field(form, "code", &code) != 0 ||
	    oauth_field(form, "redirect_uri", &redirect_uri) != 0 ||
	    oauth_field(form, "code_verifier", &verifier) != 0) {
		oauth_error(
		    w, 400, "invalid_request", "A parameter is repeated.");
		return;
	}
	if (code == NULL) {
		oauth_error(w, 400, "invalid_request", "code is missing.");
		return;
	}
	/* RFC 9449 §5, before the code is spent: a bad proof costs the
	 * client a retry, not its code. */
	if (dpop_check_client(r, w, c, "/token", &dp) != 0)
		return;
	rc = code_redeem(
	    app->db, code, c->client_id, redirect_uri, verifier, r->now, &ac);
	if (rc == PC_ERR_CONFLICT) {
		/* TK-01, TK-02: a replay; what the first use got dies. */
		json_t *d = json_pack("{s:s?}", "family", ac.family_id);

		if (ac.family_id != NULL &&
		    store_family_revoke(
			app->db, ac.family_id, r->now, "code_replay") != 0)
			log_msg(LOG_ERROR, "oauth.code_replay",
			    "family not revoked");
		oauth_audit(r, "token.code_replay", "alert", c->client_id,
		    ac.user_id, d);
		json_decref(d);
		store_auth_code_clear(&ac);
		oauth_error(w, 400, "invalid_grant",
		    "The code was already used; its tokens are revoked.");
		return;
	}
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		return;
	}
	if (rc != 0) {
		oauth_error(w, 400, "invalid_grant",
		    "The code is invalid, expired, or was issued for another "
		    "client, redirect_uri or code_verifier.");
		return;
	}
	/* TX-04: a resource named here is the one the code is for. */
	if (token_resource_check(r, w, form, NULL, ac.resource) != 0) {
		store_auth_code_clear(&ac);
		return;
	}
	rc = live_user(app, ac.user_id);
	if (rc != 0) {
		store_auth_code_clear(&ac);
		if (rc == PC_ERR_NOT_FOUND)
			oauth_error(w, 400, "invalid_grant",
			    "The user is no longer active.");
		else
			oauth_unavailable(w);
		return;
	}
	offline = delegation_refreshable(ac.scope, ac.resource, c->grant_types);
	memset(&rg, 0, sizeof(rg));
	rg.client_id = c->client_id;
	rg.user_id = ac.user_id;
	rg.scope = ac.scope;
	rg.amr = ac.amr;
	rg.sid = ac.sid;
	rg.auth_time = ac.auth_time;
	rg.idle = app->cfg->refresh_token_idle;
	rg.absolute =
	    delegation_grant_life(app->cfg, ac.grant_expires_at, r->now);
	rg.resource = ac.resource;
	/* RT-06, RFC 9449 §5: a public client's grant is bound to the key
	 * (its refresh tokens need proofs of it); a confidential client's
	 * refresh tokens are bound by its authentication already. */
	rg.dpop_jkt = dp.present && c->is_public ? dp.jkt : NULL;
	rc = refresh_issue(
	    app->db, &rg, r->now, offline ? refresh : NULL, family);
	if (rc == 0)
		rc = store_auth_code_set_family(app->db, ac.code_hash, family);
	if (rc == PC_ERR_CONFLICT) {
		/* TK-01: a replay came before the family was recorded (on
		 * this node or another) and could not revoke it. Revoke it
		 * here; the response below carries tokens that are already
		 * dead, as it would had the replay come a moment later. */
		rc =
		    store_family_revoke(app->db, family, r->now, "code_replay");
		if (rc == 0)
			log_msg(LOG_WARN, "oauth.code_replay",
			    "replayed while redeemed; family revoked");
	}
	if (rc != 0) {
		store_auth_code_clear(&ac);
		sodium_memzero(refresh, sizeof(refresh));
		oauth_unavailable(w);
		return;
	}
	memset(&ug, 0, sizeof(ug));
	ug.user_id = ac.user_id;
	ug.scope = ac.scope;
	ug.nonce = ac.nonce;
	ug.amr = ac.amr;
	ug.sid = ac.sid;
	ug.auth_time = ac.auth_time;
	ug.family_id = family;
	ug.refresh = offline ? refresh : NULL;
	ug.grant = "authorization_code";
	ug.cnf_jkt = dp.present ? dp.jkt : NULL;
	ug.resource = ac.resource;
	ug.grant_end = r->now + rg.absolute;
	if (issue_user_tokens(r, w, c, &ug) != 0 &&
	    store_family_revoke(app->db, family, r->now, "not_issued") != 0)
		/* Its tokens never left; a dead family is only tidier. */
		log_msg(LOG_WARN, "oauth.not_issued", "family not revoked");
	sodium_memzero(refresh, sizeof(refresh));
	store_auth_code_clear(&ac);
}

/* What a rotation's audit row says besides the family (AU-01). */
struct refresh_audit {
	const struct req *r;
	const char *client_id;
	const char *user_agent;
	const char *jti;	     /* of the access token to be minted */
	const struct dpop_proof *dp; /* the request's DPoP proof */
};

/*
 * The token.issue row of a refresh, written by the rotation's own
 * transaction (struct store_rotate's audit hook), possibly on the group
 * commit's leader thread: it reads only what arg holds.
 */
static int
refresh_audit_tx(
    struct db_conn *c, void *arg, const struct store_family *f, bool resent)
{
	const struct refresh_audit *a = arg;
	const struct app *app = a->r->app;
	struct audit_event ev;
	json_t *d;
	int rc;

	/* RT-06: the key binding and the proof's jti, in this same commit
	 * (refused: rolled back, nothing consumed). */
	if ((rc = dpop_family_tx(c, f, a->dp, a->r->now)) != 0)
		return rc;
	d = json_pack("{s:s, s:s, s:s, s:b, s:s?}", "grant", "refresh_token",
	    "jti", a->jti, "family", f->family_id, "refresh", 1, "resource",
	    f->resource);
	if (d == NULL)
		return PC_ERR_INVALID;
	if (resent)
		json_object_set_new(d, "resent", json_true());
	memset(&ev, 0, sizeof(ev));
	ev.event = "token.issue";
	ev.outcome = "success";
	ev.actor = a->client_id;
	ev.target = f->user_id;
	ev.ip = a->r->ip;
	ev.user_agent = a->user_agent;
	ev.request_id = a->r->rid;
	ev.details = d;
	rc = audit_append_tx(c, app->audit_key, &ev);
	json_decref(d);
	if (rc != 0)
		log_msg(LOG_ERROR, "audit.append_failed", pc_strerror(rc));
	return rc;
}

/* RFC 6749 §6; RT-01..05. */
static void
refresh_token(struct req *r, struct resp *w, const struct store_client *c,
    const struct kvlist *form)
{
	struct app *app = r->app;
	const char *token = NULL, *scope = NULL;
	struct store_family fam;
	struct scope_set want, had;
	struct user_grant ug;
	struct buf granted;
	struct refresh_policy pol;
	struct refresh_audit ra;
	uint8_t key[32];
	char next[REFRESH_LEN + 1], jti[TOKEN_JTI_LEN + 1];
	char desc[SCOPE_TOKEN_MAX + 96] =
	    "scope may only narrow the original grant.";
	struct dpop_proof dp;
	bool resent = false;
	int rc;

	memset(&fam, 0, sizeof(fam));
	memset(&pol, 0, sizeof(pol));
	pol.idle = app->cfg->refresh_token_idle;
	pol.reuse_interval = app->cfg->refresh_reuse_interval;
	if (!oauth_has_word(c->grant_types, "refresh_token")) {
		oauth_error(w, 400, "unauthorized_client",
		    "This client may not use refresh_token.");
		return;
	}
	if (oauth_field(form, "refresh_token", &token) != 0 ||
	    oauth_field(form, "scope", &scope) != 0) {
		oauth_error(
		    w, 400, "invalid_request", "A parameter is repeated.");
		return;
	}
	/* TX-04: a resource named here is the grant's, checked before the
	 * token is used (a refusal does not cost the client its grant). */
	if (token != NULL && token_resource_check(r, w, form, token, NULL) != 0)
		return;
	if (token == NULL) {
		oauth_error(
		    w, 400, "invalid_request", "refresh_token is missing.");
		return;
	}
	/* RFC 9449 §5: before the token is used (refresh_audit_tx). */
	if (dpop_refresh_begin(r, w, c, &dp) != 0)
		return;
	if (scope != NULL && scope_parse(scope, &want) != 0) {
		oauth_error(w, 400, "invalid_scope", "scope is malformed.");
		return;
	}
	if (scope != NULL) {
		/* RT-03: may only narrow; checked before the token is used,
		 * so a refused scope does not cost the client its grant. */
		struct bearer_refresh cur;
		bool sub = false;

		rc = bearer_refresh_lookup(app->db, token, r->now, &cur);
		if (oauth_store_down(rc)) {
			oauth_unavailable(w);
			goto out;
		}
		if (rc == 0 && scope_parse(cur.family.scope, &had) == 0) {
			sub = scope_subset(&want, &had);
			scope_refused_desc(scope_first_missing(&want, &had),
			    "is not in the original grant (scope may only "
			    "narrow it)",
			    desc, sizeof(desc));
			scope_set_free(&had);
		}
		if (rc == 0)
			store_family_clear(&cur.family);
		if (rc == 0 && !sub) {
			oauth_error(w, 400, "invalid_scope", desc);
			goto out;
		}
	}
	if (pol.reuse_interval > 0) {
		refresh_seal_key(app->mk, key);
		pol.seal_key = key;
	}
	/* AU-01 in the rotation's one commit: the row names the access
	 * token's jti, chosen now and minted once the rotation is durable. */
	token_jti_new(jti);
	memset(&ra, 0, sizeof(ra));
	ra.r = r;
	ra.client_id = c->client_id;
	ra.jti = jti;
	ra.dp = &dp;
	(void)req_header(r, "User-Agent", &ra.user_agent);
	pol.audit = refresh_audit_tx;
	pol.audit_arg = &ra;
	rc = refresh_rotate_ex(
	    app->db, token, c->client_id, r->now, &pol, next, &fam, &resent);
	sodium_memzero(key, sizeof(key));
	if (dpop_refresh_refused(r, w, &dp, rc))
		goto out; /* RT-06 */
	if (rc == PC_ERR_CONFLICT) {
		/* RT-01, RT-02: reuse; the whole family is revoked. */
		json_t *d = json_pack("{s:s}", "family", fam.family_id);

		oauth_audit(r, "token.refresh_reuse", "alert", c->client_id,
		    fam.user_id, d);
		json_decref(d);
		goto invalid;
	}
	if (oauth_store_down(rc) || rc == PC_ERR_CRYPTO) {
		oauth_unavailable(w);
		goto out;
	}
	if (rc != 0)
		goto invalid;
	buf_init(&granted, SCOPE_STRING_MAX + 1);
	if (scope != NULL) {
		/* RT-03: may only narrow. The family keeps its scope. */
		bool sub = false;

		if (scope_parse(fam.scope, &had) == 0) {
			sub = scope_subset(&want, &had);
			scope_refused_desc(scope_first_missing(&want, &had),
			    "is not in the original grant (scope may only "
			    "narrow it)",
			    desc, sizeof(desc));
			scope_set_free(&had);
		}
		if (!sub || scope_format(&want, &granted) != 0) {
			buf_free(&granted);
			oauth_error(w, 400, "invalid_scope", desc);
			goto out;
		}
	} else if (buf_puts(&granted, fam.scope) != 0) {
		buf_free(&granted);
		oauth_error(w, 500, "server_error", "Internal error.");
		goto out;
	}
	memset(&ug, 0, sizeof(ug));
	ug.user_id = fam.user_id;
	ug.scope = granted.len > 0 ? buf_cstr(&granted) : "";
	ug.amr = fam.amr;
	ug.sid = fam.sid;
	/* OI-07: the original authentication's time, not now. */
	ug.auth_time = fam.auth_time;
	ug.family_id = fam.family_id;
	ug.refresh = next;
	ug.grant = "refresh_token";
	ug.resource = fam.resource;
	ug.grant_end = fam.expires_at;
	ug.resent = resent;
	ug.no_id_token = !c->id_token_on_refresh;
	ug.jti = jti;
	ug.cnf_jkt = dp.present ? dp.jkt : NULL;
	/* AU-01: the answer was not given, so the client's retry with the
	 * same token should work. Without the grace the rotation is undone
	 * (unless its successor was used meanwhile); with it, nothing is
	 * deleted (a concurrent repeat may have been answered with the
	 * successor) and the retry within the window gets the successor. */
	if (issue_user_tokens(r, w, c, &ug) != 0 && !resent &&
	    pol.reuse_interval == 0 &&
	    refresh_unrotate(app->db, token, next) != 0)
		log_msg(LOG_WARN, "oauth.not_issued", "rotation not undone");
	buf_free(&granted);
	goto out;
invalid:
	oauth_error(w, 400, "invalid_grant",
	    "The refresh token is invalid, expired or revoked.");
out:
	if (scope != NULL)
		scope_set_free(&want);
	sodium_memzero(next, sizeof(next));
	store_family_clear(&fam);
}

void
oauth_token(struct req *r, struct resp *w)
{
	const struct kvlist *form;
	const char *grant = NULL;
	struct store_client c;

	if (oauth_form(r, w, &form) != 0)
		return;
	if (oauth_field(form, "grant_type", &grant) != 0) {
		oauth_error(
		    w, 400, "invalid_request", "grant_type is repeated.");
		return;
	}
	/* RFC 8693: the subject token may authenticate itself, so the
	 * exchange decides about client authentication (exchange.c). */
	if (grant != NULL &&
	    strcmp(grant, "urn:ietf:params:oauth:grant-type:token-exchange") ==
		0) {
		oauth_token_exchange(r, w, form);
		return;
	}
	if (client_authenticate(r, w, form, true, &c) != 0)
		return;
	if (grant == NULL)
		oauth_error(
		    w, 400, "invalid_request", "grant_type is missing.");
	else if (strcmp(grant, "client_credentials") == 0)
		client_credentials(r, w, &c, form);
	else if (strcmp(grant, "authorization_code") == 0)
		authorization_code(r, w, &c, form);
	else if (strcmp(grant, "refresh_token") == 0)
		refresh_token(r, w, &c, form);
	else
		/* TK-10: password, implicit and the rest do not exist. */
		oauth_error(w, 400, "unsupported_grant_type",
		    "Supported: authorization_code, refresh_token, "
		    "client_credentials.");
	store_client_clear(&c);
}
