/*
 * The admin API's agents (issue 17 item 1; issue 15, SECURITY.md TX-03,
 * TX-08): list, get, create, update, disable, delete — what `portcullis
 * agent` does, through the same functions (client_create, client_update
 * and client_validate's agent rules, client_agent_default_scope:
 * src/oauth/). An agent is public (no secret, DPoP by default) or
 * authenticates with private_key_jwt (jwks): never a shared secret, so
 * nothing here is ever secret. disable and delete revoke every token
 * family of the agent in the same transaction (TX-08). Every change is
 * audited (agent.*) with the acting principal.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "admin/objects.h"
#include "app.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "store/store_delegations.h"
#include "util/log.h"

static json_t *
agent_json(const struct store_client *c)
{
	json_t *o = admin_client_json(c, -1);

	json_object_set_new(o, "owner_id",
	    c->owner_id != NULL ? json_string(c->owner_id) : json_null());
	json_object_set_new(o, "resources", admin_obj_words(c->resources));
	json_object_set_new(o, "max_delegation_depth",
	    json_integer((json_int_t)c->max_delegation_depth));
	json_object_set_new(o, "may_delegate", json_boolean(c->may_delegate));
	return o;
}

static json_t *
audit_details(
    const struct admin_ctx *ctx, const struct store_client *c, bool create)
{
	(void)ctx;
	(void)create; /* the same details for both */
	return json_pack("{s:s, s:s?, s:s, s:b, s:s, s:I, s:b, s:b}", "name",
	    c->name, "owner_id", c->owner_id, "resources",
	    c->resources != NULL ? c->resources : "", "public", c->is_public,
	    "scopes", c->scopes != NULL ? c->scopes : "",
	    "max_delegation_depth", (json_int_t)c->max_delegation_depth,
	    "may_delegate", c->may_delegate, "dpop_required", c->dpop_required);
}

#define META_FIELDS \
	{ "redirect_uris", ADMIN_T_STRINGS, false, CLIENT_URIS_MAX }, \
	    { "scope", ADMIN_T_STRING, false, CLIENT_SCOPES_MAX }, \
	    { "grant_types", ADMIN_T_STRINGS, false, 3 }, \
	    { "max_delegation_depth", ADMIN_T_INT, false, AGENT_DEPTH_MAX }, \
	    { "may_delegate", ADMIN_T_BOOL, false, 0 }, \
	{ \
		"dpop_required", ADMIN_T_BOOL, false, 0 \
	}

static const struct admin_field create_fields[] = {
	{ "name", ADMIN_T_STRING, true, CLIENT_NAME_MAX },
	{ "owner_id", ADMIN_T_STRING, true, 64 },
	{ "resources", ADMIN_T_STRINGS, true, AGENT_RESOURCES_MAX },
	{ "public", ADMIN_T_BOOL, false, 0 },
	META_FIELDS,
};

static const struct admin_field update_fields[] = {
	{ "name", ADMIN_T_STRING, false, CLIENT_NAME_MAX },
	{ "owner_id", ADMIN_T_STRING, false, 64 },
	{ "resources", ADMIN_T_STRINGS, false, AGENT_RESOURCES_MAX },
	META_FIELDS,
};

static void
apply(const struct admin_ctx *c, struct store_client *cl, char *jwks,
    bool jwks_given)
{
	int64_t depth;
	bool b;
	char *w;

	xstrset(&cl->name, admin_body_str(c, "name"));
	xstrset(&cl->owner_id, admin_body_str(c, "owner_id"));
	if ((w = admin_obj_body_words(c, "resources")) != NULL) {
		free(cl->resources);
		cl->resources = w;
	}
	if (json_object_get(c->body, "redirect_uris") != NULL) {
		admin_obj_strv_free(cl->redirect_uris, cl->n_redirect_uris);
		(void)admin_obj_body_strv(c, "redirect_uris",
		    &cl->redirect_uris, &cl->n_redirect_uris);
	}
	if ((w = admin_obj_body_words(c, "grant_types")) != NULL) {
		free(cl->grant_types);
		cl->grant_types = w;
	}
	xstrset(&cl->scopes, admin_body_str(c, "scope"));
	if (admin_body_int(c, "max_delegation_depth", &depth) == 0)
		cl->max_delegation_depth = depth;
	if (admin_body_bool(c, "may_delegate", &b) == 0)
		cl->may_delegate = b;
	if (admin_body_bool(c, "dpop_required", &b) == 0)
		cl->dpop_required = b;
	if (jwks_given) {
		free(cl->jwks);
		cl->jwks = jwks;
	}
}

/* What sets these routes' objects apart from clients (clients.c). */
static const struct admin_client_kind kind = {
	.agent = true,
	.what = "agent",
	.created = "agent.create",
	.updated = "agent.update",
	.unaudited = "admin.agent_unaudited",
	.json = agent_json,
	.details = audit_details,
};

static void
create(struct admin_ctx *c)
{
	struct store_client cl;
	char secret[CLIENT_SECRET_LEN + 1];
	char *jwks = NULL;
	bool jwks_given = false, pub = false;
	int r;

	memset(&cl, 0, sizeof(cl));
	if (admin_client_body(c, create_fields, PC_NELEM(create_fields), &jwks,
		&jwks_given) != 0)
		return;
	(void)admin_body_bool(c, "public", &pub);
	if (pub == (jwks != NULL)) {
		free(jwks);
		admin_error(c, 400, "invalid_request",
		    "an agent is public (\"public\": true) or has a jwks for "
		    "private_key_jwt, exactly one of them");
		return;
	}
	cl.kind = xstrdup(CLIENT_KIND_AGENT);
	cl.is_public = pub;
	cl.auth_method = xstrdup(pub ? "none" : "private_key_jwt");
	cl.grant_types = xstrdup("authorization_code refresh_token");
	cl.id_token_on_refresh = true;
	/* TX-06: a public agent's tokens are bound to its key by default. */
	cl.dpop_required = pub;
	apply(c, &cl, jwks, jwks_given);
	if ((r = client_agent_default_scope(c->app->db, &cl)) != 0) {
		admin_error_code(c, r, "agent");
		goto out;
	}
	if (admin_client_save(c, &kind, &cl, secret) != 0)
		goto out;
	admin_json(c, 201, agent_json(&cl));
out:
	sodium_memzero(secret, sizeof(secret)); /* an agent has none */
	store_client_clear(&cl);
}

static void
update(struct admin_ctx *c)
{
	struct store_client cl;
	char *jwks = NULL;
	bool jwks_given = false;

	if (admin_client_body(c, update_fields, PC_NELEM(update_fields), &jwks,
		&jwks_given) != 0)
		return;
	if (admin_client_find(c, &kind, &cl) != 0) {
		free(jwks);
		return;
	}
	apply(c, &cl, jwks, jwks_given);
	if (admin_client_save(c, &kind, &cl, NULL) == 0)
		admin_json(c, 200, agent_json(&cl));
	store_client_clear(&cl);
}

static void
list(struct admin_ctx *c)
{
	admin_client_list(c, &kind);
}

static void
get(struct admin_ctx *c)
{
	struct store_client cl;

	if (admin_client_find(c, &kind, &cl) != 0)
		return;
	admin_json(c, 200, agent_json(&cl));
	store_client_clear(&cl);
}

/* disable and delete: the change and the revocation of every family the
 * agent holds, in one transaction (TX-08), then the audit row. */
static void
take_down(struct admin_ctx *c, bool del)
{
	struct store_client cl;
	int64_t nf = 0;
	json_t *d;
	int r;

	if (admin_client_find(c, &kind, &cl) != 0)
		return;
	r = client_take_down(
	    c->app->db, cl.client_id, del, admin_obj_now(c), &nf);
	if (r == PC_ERR_NOT_FOUND && !del) {
		admin_error(
		    c, 409, "conflict", "the agent is disabled already");
		store_client_clear(&cl);
		return;
	}
	if (r == 0) {
		d = json_pack("{s:I}", "token_families", (json_int_t)nf);
		r = admin_audit(
		    c, del ? "agent.delete" : "agent.disable", cl.client_id, d);
		json_decref(d);
	}
	if (r != 0)
		admin_error_code(c, r, "agent");
	else
		admin_json(c, 200,
		    json_pack("{s:s, s:b, s:I}", "client_id", cl.client_id,
			del ? "deleted" : "disabled", 1,
			"token_families_revoked", (json_int_t)nf));
	store_client_clear(&cl);
}

static void
disable(struct admin_ctx *c)
{
	take_down(c, false);
}

static void
delete_agent(struct admin_ctx *c)
{
	take_down(c, true);
}

static const struct admin_route routes[] = {
	{ "/agents", HTTP_GET, ADMIN_AGENTS, false, false, list },
	{ "/agents", HTTP_POST, ADMIN_AGENTS, true, true, create },
	{ "/agents/{id}", HTTP_GET, ADMIN_AGENTS, false, false, get },
	{ "/agents/{id}", HTTP_PATCH, ADMIN_AGENTS, true, true, update },
	{ "/agents/{id}", HTTP_DELETE, ADMIN_AGENTS, true, false,
	    delete_agent },
	{ "/agents/{id}/disable", HTTP_POST, ADMIN_AGENTS, true, false,
	    disable },
};

ADMIN_TABLE(admin_agents_table, routes);
