/*
 * Token exchange with an access token as subject (RFC 8693; issue 15;
 * SECURITY.md TX-01..05, TX-07; decision 0061): an agent (or any client)
 * holding a user's token obtains one for a downstream resource, or for
 * another agent, that records who acts (act) and never gives more than
 * the user gave.
 *
 *   grant_type=urn:ietf:params:oauth:grant-type:token-exchange
 *   subject_token_type=urn:ietf:params:oauth:token-type:access_token
 *   subject_token=<an access token of ours issued for a user>
 *   resource=<a registered resource> | audience=<a resource or an agent>
 *   [scope] [actor_token, actor_token_type] [impersonate=true]
 *
 * Unlike the API-key and workload exchanges the subject token does not
 * authenticate the caller: the actor is the client that authenticates
 * here (client_authenticate: public agents name themselves). Then, in
 * this order: the subject token is verified like any bearer at our
 * endpoints (bearer_verify_aud: signature, typ at+jwt so ID tokens fail,
 * deny-list, its grant alive, every actor of its chain a live client:
 * TX-05) for any single audience; the actor token, when sent, must be
 * the actor's own token for us; the target is exactly one registered
 * resource or, by audience only, a live agent that authenticates (a
 * hand-off: the new token carries may_act naming it and aud = its
 * client id, an audience no resource server has, so only that agent can
 * use it, and only here); deleg_decide() (deleg_policy.c) applies TX-01..
 * TX-03; the token is minted with sub = the user, client_id = the actor,
 * act = {"sub": actor, "act": <the subject's act>} (none when
 * impersonating), gid = the subject's (the ROOT grant: revoking it kills
 * the whole chain at the next request), exp within the subject's; its
 * token.exchange audit row naming the whole chain is durable before it
 * leaves (AU-01, TX-07); the grant's last use is recorded. No refresh
 * token is ever issued here.
 *
 * DPoP (RFC 9449, TX-06): a proof sent with the exchange is checked by
 * dpop_check() and binds a token for a resource (cnf.jkt, token_type
 * DPoP); a subject bound to a key needs a proof of that key, and a client
 * or resource that must use DPoP gets no token without one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"
#include "util/metrics.h"

#define TT_ACCESS_TOKEN "urn:ietf:params:oauth:token-type:access_token"
#define CHAIN_MAX (DELEG_DEPTH_MAX + 1)
#define GRANT_TOUCH_INTERVAL 60 /* s: last_used_at's granularity */

static const char bad_subject[] = "The subject token is not valid.";

/* What one exchange is working with; everything owned is freed by
 * xchg_clear(). */
struct xchg {
	struct store_client actor;
	struct bearer subject;
	struct store_family grant;
	struct store_resource res; /* the target resource; id NULL: agent */
	struct store_client agent; /* the target agent; client_id NULL: none */
	struct store_versions ver;
	const char *chain[CHAIN_MAX]; /* the subject's actors, outermost
					 first (borrowed from subject.act) */
	size_t nchain;
	const char *scope; /* requested */
	bool impersonate;
};

static void
xchg_clear(struct xchg *x)
{
	store_client_clear(&x->actor);
	bearer_clear(&x->subject);
	store_family_clear(&x->grant);
	store_resource_clear(&x->res);
	store_client_clear(&x->agent);
}

/* The subs of a verified act claim, outermost first. bearer.c has
 * already checked its shape and depth. */
static void
chain_of(const json_t *act, struct xchg *x)
{
	x->nchain = 0;
	while (json_is_object(act) && x->nchain < CHAIN_MAX) {
		const json_t *sub = json_object_get(act, "sub");

		if (!json_is_string(sub))
			break;
		x->chain[x->nchain++] = json_string_value(sub);
		act = json_object_get(act, "act");
	}
}

/*
 * A client as of this request's versions, through the client cache. 0,
 * PC_ERR_NOT_FOUND, or a store error.
 */
static int
client_get(struct app *app, const struct store_versions *ver, const char *id,
    struct store_client *out)
{
	struct store_client_secret sec[STORE_CLIENT_SECRETS_MAX];
	size_t n = 0;
	int rc =
	    client_cache_get(app->client_cache, app->db, ver, id, out, sec, &n);

	sodium_memzero(sec, sizeof(sec));
	return rc;
}

/* TX-03: the smallest max_delegation_depth of the agents of the
 * subject's chain (-1: none is an agent); bearer.c has checked they are
 * all live clients. */
static int
chain_cap(struct app *app, const struct xchg *x, int64_t *cap)
{
	*cap = -1;
	for (size_t i = 0; i < x->nchain; i++) {
		struct store_client c;
		int rc = client_get(app, &x->ver, x->chain[i], &c);

		if (rc != 0)
			return rc == PC_ERR_NOT_FOUND ? PC_ERR_VERIFY : rc;
		if (client_is_agent(&c) &&
		    (*cap < 0 || c.max_delegation_depth < *cap))
			*cap = c.max_delegation_depth;
		store_client_clear(&c);
	}
	return 0;
}

/*
 * The actor token, when sent (TX-05): an access token of ours for us
 * (aud the issuer), live, that is the actor's own (client_id and sub the
 * actor: a client_credentials token). 0, or -1 with the answer written.
 */
static int
check_actor_token(struct req *r, struct resp *w, const struct kvlist *form,
    const struct xchg *x)
{
	struct app *app = r->app;
	const char *tok = NULL, *type = NULL;
	struct bearer b;
	int rc;

	if (oauth_field(form, "actor_token", &tok) != 0 ||
	    oauth_field(form, "actor_token_type", &type) != 0 ||
	    (tok == NULL) != (type == NULL)) {
		oauth_error(w, 400, "invalid_request",
		    "Give actor_token and actor_token_type together, once.");
		return -1;
	}
	if (tok == NULL)
		return 0;
	if (strcmp(type, TT_ACCESS_TOKEN) != 0) {
		oauth_error(w, 400, "invalid_request",
		    "actor_token_type must be " TT_ACCESS_TOKEN ".");
		return -1;
	}
	rc = bearer_verify(app, tok, strlen(tok), r->now, &b);
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		return -1;
	}
	if (rc == 0 &&
	    (strcmp(b.client_id, x->actor.client_id) != 0 ||
		strcmp(b.sub, x->actor.client_id) != 0))
		rc = PC_ERR_VERIFY;
	bearer_clear(&b);
	if (rc != 0) {
		oauth_error(w, 400, "invalid_grant",
		    "The actor token is not valid, or not this client's own.");
		return -1;
	}
	return 0;
}

/*
 * TX-04: exactly one target. resource names a registered resource;
 * audience a registered resource or, failing that, another client: a
 * live agent that authenticates (a token handed to an agent anyone can
 * name would be anyone's). 0, or -1 with the answer written.
 */
static int
find_target(
    struct req *r, struct resp *w, const struct kvlist *form, struct xchg *x)
{
	struct app *app = r->app;
	const char *res = NULL, *aud = NULL, *uri;
	int rc;

	if (oauth_field(form, "resource", &res) != 0 ||
	    oauth_field(form, "audience", &aud) != 0 ||
	    (res != NULL && aud != NULL)) {
		oauth_error(w, 400, "invalid_target",
		    "Name exactly one resource or audience: a token is minted "
		    "for one audience.");
		return -1;
	}
	uri = res != NULL ? res : aud;
	if (uri == NULL) {
		oauth_error(w, 400, "invalid_target",
		    "Name the resource the token is for (resource or "
		    "audience).");
		return -1;
	}
	rc = resource_get(app->db, uri, &x->res);
	if (rc == 0)
		return 0;
	store_resource_clear(&x->res);
	if (rc == PC_ERR_NOT_FOUND && aud != NULL) {
		rc = client_get(app, &x->ver, aud, &x->agent);
		if (rc == 0 &&
		    (client_disabled(&x->agent) || x->agent.is_public ||
			!client_is_agent(&x->agent))) {
			store_client_clear(&x->agent);
			oauth_error(w, 400, "invalid_target",
			    "A token can be handed off only to an enabled "
			    "agent that authenticates.");
			return -1;
		}
		if (rc == 0)
			return 0;
		store_client_clear(&x->agent);
	}
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		return -1;
	}
	oauth_error(w, 400, "invalid_target",
	    "The target is neither a registered resource nor an agent.");
	return -1;
}

/*
 * DPoP (TX-06): the proof, if any (dpop_check: one header, the proof for
 * POST /token, nonce, replay). It is required when the subject token is
 * bound (cnf.jkt: then by that very key, or a thief of the token could
 * trade it for an unbound one), when the actor must use DPoP, and when
 * the target resource takes bound tokens only. A token for a resource is
 * bound to the proof's key; a hand-off to another agent is not (that
 * agent proves its own key when it exchanges it, and authenticates).
 * 0 with jkt filled ("" when unbound), or -1 with the answer written.
 */
static int
dpop_binding(struct req *r, struct resp *w, const struct xchg *x,
    char jkt[DPOP_JKT_LEN + 1])
{
	struct dpop_want want;
	struct dpop_proof proof;

	jkt[0] = '\0';
	memset(&want, 0, sizeof(want));
	want.path = "/token";
	want.required = x->subject.cnf_jkt != NULL || x->actor.dpop_required ||
	    (x->res.id != NULL && x->res.dpop_required);
	if (dpop_check(r, w, &want, &proof) != 0)
		return -1;
	if (x->subject.cnf_jkt != NULL &&
	    !dpop_jkt_equal(proof.jkt, x->subject.cnf_jkt)) {
		oauth_error(w, 400, "invalid_grant",
		    "The subject token is bound to another DPoP key.");
		return -1;
	}
	if (proof.present && x->res.id != NULL)
		memcpy(jkt, proof.jkt, sizeof(proof.jkt));
	return 0;
}

/* {"sub": actor, "act": <the subject's act>}; NULL when impersonating. */
static json_t *
new_act(const struct xchg *x)
{
	json_t *a;

	if (x->impersonate)
		return NULL;
	a = json_pack("{s:s}", "sub", x->actor.client_id);
	if (a != NULL && x->subject.act != NULL &&
	    json_object_set(a, "act", x->subject.act) != 0) {
		json_decref(a);
		a = NULL;
	}
	return a;
}

/* TX-07: the durable row naming the whole chain, outermost first. */
static int
audit_exchange(struct req *r, const struct xchg *x, const char *scope,
    const char *jti, int64_t ttl)
{
	json_t *chain = json_array(), *d;
	int rc;

	if (chain == NULL)
		return PC_ERR_INVALID;
	json_array_append_new(chain, json_string(x->actor.client_id));
	for (size_t i = 0; i < x->nchain; i++)
		json_array_append_new(chain, json_string(x->chain[i]));
	d = json_pack("{s:o, s:s?, s:s?, s:s, s:s, s:s, s:s, s:b, s:I}",
	    "chain", chain, "resource", x->res.id, "agent", x->agent.client_id,
	    "scope", scope, "jti", jti, "subject_jti", x->subject.jti, "grant",
	    x->subject.gid, "impersonation", x->impersonate, "expires_in",
	    (json_int_t)ttl);
	if (d == NULL)
		return PC_ERR_INVALID;
	rc = oauth_audit(r, "token.exchange", "success", x->actor.client_id,
	    x->subject.sub, d);
	json_decref(d);
	return rc;
}

/* Mints what was decided, audits it, answers. */
static void
issue(struct req *r, struct resp *w, struct xchg *x, const char *scope,
    int64_t ttl, const char *jkt)
{
	struct app *app = r->app;
	struct token_access_in in;
	char *jwt = NULL, jti[TOKEN_JTI_LEN + 1];
	json_t *act = new_act(x);

	if (act == NULL && !x->impersonate) {
		oauth_error(w, 500, "server_error", "Internal error.");
		return;
	}
	memset(&in, 0, sizeof(in));
	in.sub = x->subject.sub;
	in.client_id = x->actor.client_id;
	in.aud = x->res.id != NULL ? x->res.id : x->agent.client_id;
	in.scope = scope;
	in.auth_time = x->subject.auth_time;
	in.grant_id = x->subject.gid;
	in.ttl = ttl;
	in.act = act;
	in.may_act = x->agent.client_id;
	in.cnf_jkt = jkt;
	if (token_mint_access(app->signer, app->cfg, &in, r->now, &jwt, jti) !=
	    0) {
		json_decref(act);
		oauth_unavailable(w);
		return;
	}
	json_decref(act);
	/* AU-01, TX-07: no token leaves without its durable row. */
	if (audit_exchange(r, x, scope, jti, ttl) != 0) {
		pc_freezero_str(jwt);
		oauth_unavailable(w);
		return;
	}
	/* The account page's "last used", to the minute: not a write per
	 * exchange. The token is issued either way. */
	if (r->now - x->grant.last_used_at >= GRANT_TOUCH_INTERVAL &&
	    store_family_touch(app->db, x->subject.gid, r->now) != 0)
		log_msg(LOG_WARN, "oauth.exchange", "grant use not recorded");
	if (token_response_write_dpop(w, jwt, ttl,
		scope[0] != '\0' ? scope : NULL, true, jkt != NULL) != 0)
		oauth_error(w, 500, "server_error", "Internal error.");
	else
		metrics_token_issued(
		    METRICS_GRANT_TOKEN_EXCHANGE, METRICS_KIND_AGENT);
	pc_freezero_str(jwt);
}

/* The subject token (TX-05) and its grant. 0, or -1 answered. */
static int
load_subject(
    struct req *r, struct resp *w, const struct kvlist *form, struct xchg *x)
{
	struct app *app = r->app;
	const char *tok = NULL, *want = NULL;
	int rc;

	if (oauth_field(form, "subject_token", &tok) != 0 || tok == NULL ||
	    tok[0] == '\0') {
		oauth_error(w, 400, "invalid_request",
		    "Give exactly one subject_token.");
		return -1;
	}
	if (oauth_field(form, "requested_token_type", &want) != 0 ||
	    (want != NULL && strcmp(want, TT_ACCESS_TOKEN) != 0)) {
		oauth_error(w, 400, "invalid_request",
		    "Only access tokens are issued "
		    "(requested_token_type " TT_ACCESS_TOKEN ").");
		return -1;
	}
	/* Any single audience of ours: a token for a resource or handed to
	 * this agent is a subject too; the policy decides what it may do. */
	rc =
	    bearer_verify_aud(app, tok, strlen(tok), NULL, r->now, &x->subject);
	if (rc == 0 && x->subject.gid != NULL) {
		/* bearer_verify read and checked the grant: take it over. */
		x->grant = x->subject.family;
		memset(&x->subject.family, 0, sizeof(x->subject.family));
		if (x->grant.family_id[0] == '\0')
			rc = PC_ERR_VERIFY;
	}
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		return -1;
	}
	if (rc != 0) {
		oauth_error(w, 400, "invalid_grant", bad_subject);
		return -1;
	}
	chain_of(x->subject.act, x);
	return 0;
}

void
exchange_delegation(struct req *r, struct resp *w, const struct kvlist *form)
{
	struct app *app = r->app;
	struct xchg x;
	struct deleg_subject s;
	struct deleg_actor a;
	struct deleg_request q;
	struct deleg_decision d;
	struct buf granted;
	const char *imp = NULL;
	char jkt[DPOP_JKT_LEN + 1];
	int rc;

	memset(&x, 0, sizeof(x));
	buf_init(&granted, SCOPE_STRING_MAX + 1);
	/* The actor is the client that authenticates (TK-07..09). */
	if (client_authenticate(r, w, form, true, &x.actor) != 0)
		goto out;
	if (client_disabled(&x.actor)) {
		oauth_error(
		    w, 401, "invalid_client", "The client is disabled.");
		goto out;
	}
	if (oauth_field(form, "scope", &x.scope) != 0 ||
	    oauth_field(form, "impersonate", &imp) != 0 ||
	    (imp != NULL && strcmp(imp, "true") != 0 &&
		strcmp(imp, "false") != 0)) {
		oauth_error(w, 400, "invalid_request",
		    "scope and impersonate (true or false) at most once.");
		goto out;
	}
	x.impersonate = imp != NULL && strcmp(imp, "true") == 0;
	if (client_cache_versions(app->client_cache, app->db, &x.ver) != 0) {
		oauth_unavailable(w);
		goto out;
	}
	if (load_subject(r, w, form, &x) != 0 ||
	    check_actor_token(r, w, form, &x) != 0 ||
	    find_target(r, w, form, &x) != 0)
		goto out;
	memset(&q, 0, sizeof(q));
	rc = chain_cap(app, &x, &q.chain_cap);
	if (rc != 0) {
		if (oauth_store_down(rc))
			oauth_unavailable(w);
		else
			oauth_error(w, 400, "invalid_grant", bad_subject);
		goto out;
	}
	s = (struct deleg_subject){ .sub = x.subject.sub,
		.client_id = x.subject.client_id,
		.gid = x.subject.gid,
		.grant_client = x.grant.client_id,
		.may_act = x.subject.may_act,
		.act_depth = x.subject.act_depth,
		.scope = x.subject.scope,
		.exp = x.subject.exp,
		.grant_expires_at = x.grant.expires_at,
		.grant_resource = x.grant.resource };
	a = (struct deleg_actor){ .client_id = x.actor.client_id,
		.scopes = x.actor.scopes,
		.is_agent = client_is_agent(&x.actor),
		.resources = x.actor.resources,
		.may_delegate = x.actor.may_delegate,
		.allow_impersonation = x.actor.allow_impersonation,
		.max_delegation_depth = x.actor.max_delegation_depth };
	q.kind = x.res.id != NULL ? DELEG_TARGET_RESOURCE : DELEG_TARGET_AGENT;
	q.target = x.res.id != NULL ? x.res.id : x.agent.client_id;
	q.target_scopes = x.res.id != NULL ? x.res.scopes : x.agent.scopes;
	q.scope = x.scope;
	q.impersonate = x.impersonate;
	q.max_depth = app->cfg->delegation_max_depth;
	q.ttl = app->cfg->exchange_token_ttl;
	q.now = r->now;
	rc = deleg_decide(&s, &a, &q, &d, &granted);
	if (rc != 0 || d.error != NULL) {
		json_t *det = json_pack("{s:s, s:s}", "reason", d.error,
		    "subject_jti", x.subject.jti);

		/* Best-effort: a refused exchange is a failure signal. */
		(void)oauth_audit(r, "token.exchange", "failure",
		    x.actor.client_id, x.subject.sub, det);
		json_decref(det);
		oauth_error(w, rc != 0 ? 500 : 400, d.error, d.why);
		goto out;
	}
	if (dpop_binding(r, w, &x, jkt) != 0)
		goto out;
	issue(r, w, &x, buf_cstr(&granted), d.ttl, jkt[0] != '\0' ? jkt : NULL);
out:
	buf_free(&granted);
	xchg_clear(&x);
}
