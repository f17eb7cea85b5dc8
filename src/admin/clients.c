/*
 * The admin API's clients (issue 17 item 1): list, get, create, update,
 * rotate the secret, delete — what `portcullis client` does, through the
 * same domain functions (client_create, client_update,
 * client_rotate_secret, client_bound_defaults: src/oauth/). A secret is
 * answered once, by create and rotate (no-store), and never logged or
 * audited: only its SHA-256 is kept (TK-08). Agents are clients of kind
 * "agent" and have their own routes and scopes (src/admin/agents.c):
 * these routes neither list nor touch them. A client's scopes may not
 * name an admin scope its maker lacks (decision 0071).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "admin/objects.h"
#include "app.h"
#include "crypto/crypto.h"
#include "jose/jose.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"

json_t *
admin_client_json(const struct store_client *c, json_int_t secrets)
{
	json_t *o = json_object();

	json_object_set_new(o, "client_id", json_string(c->client_id));
	json_object_set_new(o, "name", json_string(c->name));
	json_object_set_new(
	    o, "kind", json_string(c->kind != NULL ? c->kind : "client"));
	json_object_set_new(o, "public", json_boolean(c->is_public));
	json_object_set_new(
	    o, "token_endpoint_auth_method", json_string(c->auth_method));
	json_object_set_new(o, "grant_types", admin_obj_words(c->grant_types));
	json_object_set_new(o, "scope", json_string(c->scopes));
	json_object_set_new(
	    o, "id_token_signed_response_alg", json_string(c->id_token_alg));
	json_object_set_new(o, "first_party", json_boolean(c->first_party));
	json_object_set_new(
	    o, "id_token_on_refresh", json_boolean(c->id_token_on_refresh));
	json_object_set_new(o, "has_jwks", json_boolean(c->jwks != NULL));
	json_object_set_new(o, "redirect_uris", json_array());
	for (size_t i = 0; i < c->n_redirect_uris; i++)
		json_array_append_new(json_object_get(o, "redirect_uris"),
		    json_string(c->redirect_uris[i]));
	json_object_set_new(o, "post_logout_redirect_uris", json_array());
	for (size_t i = 0; i < c->n_post_logout_uris; i++)
		json_array_append_new(
		    json_object_get(o, "post_logout_redirect_uris"),
		    json_string(c->post_logout_uris[i]));
	json_object_set_new(o, "service_account_id",
	    c->service_account_id != NULL ? json_string(c->service_account_id)
					  : json_null());
	json_object_set_new(o, "dpop_required", json_boolean(c->dpop_required));
	json_object_set_new(o, "par_required", json_boolean(c->par_required));
	json_object_set_new(
	    o, "cors_origins", admin_obj_words(c->cors_origins));
	json_object_set_new(
	    o, "allow_impersonation", json_boolean(c->allow_impersonation));
	json_object_set_new(o, "require_mfa", json_boolean(c->require_mfa));
	json_object_set_new(o, "registration",
	    json_string(
		c->registration != NULL ? c->registration : "operator"));
	json_object_set_new(o, "disabled_at", admin_obj_time(c->disabled_at));
	json_object_set_new(o, "created_at", admin_obj_time(c->created_at));
	json_object_set_new(o, "updated_at", admin_obj_time(c->updated_at));
	if (secrets >= 0)
		json_object_set_new(o, "active_secrets", json_integer(secrets));
	return o;
}

/* The body of create (public and name required there) and update: the
 * members both take, then each one's own. */
#define CLIENT_FIELDS \
	{ "redirect_uris", ADMIN_T_STRINGS, false, CLIENT_URIS_MAX }, \
	    { "post_logout_redirect_uris", ADMIN_T_STRINGS, false, \
		    CLIENT_URIS_MAX }, \
	    { "grant_types", ADMIN_T_STRINGS, false, 3 }, \
	    { "scope", ADMIN_T_STRING, false, CLIENT_SCOPES_MAX }, \
	    { "first_party", ADMIN_T_BOOL, false, 0 }, \
	    { "token_endpoint_auth_method", ADMIN_T_STRING, false, 64 }, \
	    { "id_token_signed_response_alg", ADMIN_T_STRING, false, 16 }, \
	    { "id_token_on_refresh", ADMIN_T_BOOL, false, 0 }, \
	    { "service_account_id", ADMIN_T_NULLABLE_STRING, false, 64 }, \
	    { "dpop_required", ADMIN_T_BOOL, false, 0 }, \
	    { "par_required", ADMIN_T_BOOL, false, 0 }, \
	    { "cors_origins", ADMIN_T_STRINGS, false, CLIENT_URIS_MAX }, \
	    { "allow_impersonation", ADMIN_T_BOOL, false, 0 }, \
	{ \
		"require_mfa", ADMIN_T_BOOL, false, 0 \
	}

static const struct admin_field create_fields[] = {
	{ "name", ADMIN_T_STRING, true, CLIENT_NAME_MAX },
	{ "public", ADMIN_T_BOOL, false, 0 },
	CLIENT_FIELDS,
};

static const struct admin_field update_fields[] = {
	{ "name", ADMIN_T_STRING, false, CLIENT_NAME_MAX },
	CLIENT_FIELDS,
};

static void
set_bool(const struct admin_ctx *c, const char *name, bool *field)
{
	bool v;

	if (admin_body_bool(c, name, &v) == 0)
		*field = v;
}

/*
 * The body's fields onto cl (create: a new client; update: the stored
 * one); jwks is the taken "jwks" member (NULL: absent or null).
 */
static void
apply(const struct admin_ctx *c, struct store_client *cl, char *jwks,
    bool jwks_given)
{
	const char *method = admin_body_str(c, "token_endpoint_auth_method");
	char *w;

	xstrset(&cl->name, admin_body_str(c, "name"));
	if (json_object_get(c->body, "redirect_uris") != NULL) {
		admin_obj_strv_free(cl->redirect_uris, cl->n_redirect_uris);
		(void)admin_obj_body_strv(c, "redirect_uris",
		    &cl->redirect_uris, &cl->n_redirect_uris);
	}
	if (json_object_get(c->body, "post_logout_redirect_uris") != NULL) {
		admin_obj_strv_free(
		    cl->post_logout_uris, cl->n_post_logout_uris);
		(void)admin_obj_body_strv(c, "post_logout_redirect_uris",
		    &cl->post_logout_uris, &cl->n_post_logout_uris);
	}
	if ((w = admin_obj_body_words(c, "grant_types")) != NULL) {
		free(cl->grant_types);
		cl->grant_types = w;
	}
	xstrset(&cl->scopes, admin_body_str(c, "scope"));
	xstrset(&cl->auth_method, method);
	/* A JWKS only stays with private_key_jwt. */
	if (method != NULL && strcmp(method, "private_key_jwt") != 0) {
		free(cl->jwks);
		cl->jwks = NULL;
	}
	xstrset(&cl->id_token_alg,
	    admin_body_str(c, "id_token_signed_response_alg"));
	set_bool(c, "first_party", &cl->first_party);
	set_bool(c, "id_token_on_refresh", &cl->id_token_on_refresh);
	set_bool(c, "dpop_required", &cl->dpop_required);
	set_bool(c, "par_required", &cl->par_required);
	set_bool(c, "allow_impersonation", &cl->allow_impersonation);
	set_bool(c, "require_mfa", &cl->require_mfa);
	if (json_object_get(c->body, "service_account_id") != NULL) {
		free(cl->service_account_id);
		cl->service_account_id = NULL;
		xstrset(&cl->service_account_id,
		    admin_body_str(c, "service_account_id"));
	}
	if ((w = admin_obj_body_words(c, "cors_origins")) != NULL) {
		free(cl->cors_origins);
		cl->cors_origins = w;
	}
	if (jwks_given) {
		free(cl->jwks);
		cl->jwks = jwks; /* NULL: none */
	}
}

/* OI-10: an ID token algorithm given must sign now. */
static bool
alg_ok(struct admin_ctx *c)
{
	const char *name = admin_body_str(c, "id_token_signed_response_alg");
	enum jose_alg alg;

	if (name == NULL)
		return true;
	alg = jose_alg_parse(name, strlen(name));
	if (alg == JOSE_ALG_INVALID)
		return true; /* client_validate() refuses it, with the list */
	if (signer_can_sign(c->app->signer, alg, admin_obj_now(c)))
		return true;
	admin_error(c, 400, "invalid_request",
	    "no active signing key of that algorithm: rotate one in "
	    "(POST /admin/v1/signing-keys/rotate) and wait for it to sign");
	return false;
}

/* The client or agent named by {id}, of k's kind: the clients routes
 * never see an agent, the agents routes never a client. */
int
admin_client_find(struct admin_ctx *c, const struct admin_client_kind *k,
    struct store_client *cl)
{
	const char *id = admin_param(c, "id");
	int r = client_read(c->app->db, id, cl);

	if (r == 0 && client_is_agent(cl) != k->agent) {
		store_client_clear(cl);
		r = PC_ERR_NOT_FOUND;
	}
	if (r != 0) {
		memset(cl, 0, sizeof(*cl));
		admin_error_code(c, r, k->what);
	}
	return r;
}

void
admin_client_list(struct admin_ctx *c, const struct admin_client_kind *k)
{
	struct store_client *v = NULL;
	size_t n = 0;
	json_t *a;
	int r;

	if ((r = client_read_all(c->app->db, &v, &n)) != 0) {
		admin_error_code(c, r, k->what);
		return;
	}
	a = json_array();
	for (size_t i = 0; i < n; i++)
		if (client_is_agent(&v[i]) == k->agent)
			json_array_append_new(a, k->json(&v[i]));
	store_clients_free(v, n);
	admin_obj_list(c, a, "client_id");
}

int
admin_client_body(struct admin_ctx *c, const struct admin_field *fields,
    size_t n, char **jwks, bool *jwks_given)
{
	*jwks = NULL;
	*jwks_given = false;
	if (admin_obj_take_object(
		c, "jwks", CLIENT_JWKS_MAX, jwks, jwks_given) != 0 ||
	    admin_body_check(c, fields, n) != 0) {
		free(*jwks);
		*jwks = NULL;
		return PC_ERR_INVALID; /* answered */
	}
	return 0;
}

int
admin_client_save(struct admin_ctx *c, const struct admin_client_kind *k,
    struct store_client *cl, char *secret)
{
	struct db *db = c->app->db;
	const char *why = NULL;
	bool create = secret != NULL;
	json_t *d;
	int r;

	if (admin_no_escalation(c, cl->scopes) != 0)
		return PC_ERR_INVALID; /* answered */
	if (create)
		r = client_create(db, cl, admin_obj_now(c), secret, &why);
	else
		r = client_update(db, cl, admin_obj_now(c), &why);
	if (r != 0) {
		admin_obj_refused(c, r, why, k->what);
		return r;
	}
	d = k->details(c, cl, create); /* AU-01; never a secret. */
	r = admin_audit(c, create ? k->created : k->updated, cl->client_id, d);
	json_decref(d);
	if (r != 0) {
		/* An unaudited client must not be handed out. */
		if (create &&
		    client_remove(db, cl->client_id, admin_obj_now(c)) != 0)
			log_msg(LOG_ERROR, k->unaudited, cl->client_id);
		admin_error_code(c, r, k->what);
	}
	return r;
}

static json_t *
list_json(const struct store_client *cl)
{
	return admin_client_json(cl, -1);
}

static json_t *
audit_details(
    const struct admin_ctx *c, const struct store_client *cl, bool create)
{
	if (create)
		return json_pack("{s:s, s:b, s:s, s:s?}", "name", cl->name,
		    "public", cl->is_public, "token_endpoint_auth_method",
		    cl->auth_method, "service_account", cl->service_account_id);
	return json_pack("{s:s?, s:o}", "service_account",
	    cl->service_account_id, "fields", admin_obj_body_fields(c));
}

/* What sets these routes' objects apart from agents (agents.c). */
static const struct admin_client_kind kind = {
	.agent = false,
	.what = "client",
	.created = "client.created",
	.updated = "client.updated",
	.unaudited = "admin.client_unaudited",
	.json = list_json,
	.details = audit_details,
};

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
	admin_json(c, 200,
	    admin_client_json(&cl,
		(json_int_t)client_secrets_active(
		    c->app->db, cl.client_id, admin_obj_now(c))));
	store_client_clear(&cl);
}

/* The answer of create and rotate: the client (or id) with its secret,
 * shown this once. */
static void
answer_secret(struct admin_ctx *c, int status, json_t *o, const char *secret)
{
	if (secret != NULL && secret[0] != '\0')
		json_object_set_new(o, "client_secret", json_string(secret));
	admin_json(c, status, o);
}

static void
create(struct admin_ctx *c)
{
	struct db *db = c->app->db;
	struct store_client cl;
	char secret[CLIENT_SECRET_LEN + 1];
	char *jwks = NULL;
	bool jwks_given = false, pub = false;
	int r;

	memset(&cl, 0, sizeof(cl));
	secret[0] = '\0';
	if (admin_client_body(c, create_fields, PC_NELEM(create_fields), &jwks,
		&jwks_given) != 0)
		return;
	(void)admin_body_bool(c, "public", &pub);
	cl.is_public = pub;
	cl.id_token_on_refresh = true; /* the store's default */
	apply(c, &cl, jwks, jwks_given);
	if (!alg_ok(c))
		goto out;
	if ((r = client_bound_defaults(db, &cl,
		 json_object_get(c->body, "grant_types") != NULL,
		 admin_body_str(c, "scope") != NULL)) != 0) {
		admin_error_code(c, r, "client");
		goto out;
	}
	if (admin_client_save(c, &kind, &cl, secret) != 0)
		goto out;
	answer_secret(c, 201, admin_client_json(&cl, -1), secret);
out:
	sodium_memzero(secret, sizeof(secret));
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
	if (!alg_ok(c) || admin_client_save(c, &kind, &cl, NULL) != 0)
		goto out;
	admin_json(c, 200,
	    admin_client_json(&cl,
		(json_int_t)client_secrets_active(
		    c->app->db, cl.client_id, admin_obj_now(c))));
out:
	store_client_clear(&cl);
}

static void
rotate(struct admin_ctx *c)
{
	const struct config *cfg = c->app->cfg;
	struct store_client cl;
	char secret[CLIENT_SECRET_LEN + 1];
	int64_t now = admin_obj_now(c);
	json_t *d;
	int r;

	secret[0] = '\0';
	if (admin_client_find(c, &kind, &cl) != 0)
		return;
	r = client_rotate_secret(
	    c->app->db, cl.client_id, cfg->client_secret_overlap, now, secret);
	if (r == PC_ERR_INVALID) {
		admin_error(c, 409, "conflict",
		    "the client does not use a secret (its auth method)");
		goto out;
	}
	if (r != 0) {
		admin_error_code(c, r, "client");
		goto out;
	}
	d = json_pack(
	    "{s:I}", "overlap_seconds", (json_int_t)cfg->client_secret_overlap);
	r = admin_audit(c, "client.secret_rotated", cl.client_id, d);
	json_decref(d);
	if (r != 0) {
		/* The new secret was stored but is never shown: rotating
		 * again replaces it. */
		admin_error_code(c, r, "client");
		goto out;
	}
	answer_secret(c, 200,
	    json_pack("{s:s, s:I}", "client_id", cl.client_id,
		"previous_secret_expires_at",
		(json_int_t)now + (json_int_t)cfg->client_secret_overlap),
	    secret);
out:
	sodium_memzero(secret, sizeof(secret));
	store_client_clear(&cl);
}

static void
delete_client(struct admin_ctx *c)
{
	struct store_client cl;
	int r;

	if (admin_client_find(c, &kind, &cl) != 0)
		return;
	if ((r = client_remove(c->app->db, cl.client_id, admin_obj_now(c))) ==
	    0)
		r = admin_audit(c, "client.deleted", cl.client_id, NULL);
	if (r != 0)
		admin_error_code(c, r, "client");
	else
		admin_no_content(c);
	store_client_clear(&cl);
}

static const struct admin_route routes[] = {
	{ "/clients", HTTP_GET, ADMIN_CLIENTS, false, false, list },
	{ "/clients", HTTP_POST, ADMIN_CLIENTS, true, true, create },
	{ "/clients/{id}", HTTP_GET, ADMIN_CLIENTS, false, false, get },
	{ "/clients/{id}", HTTP_PATCH, ADMIN_CLIENTS, true, true, update },
	{ "/clients/{id}", HTTP_DELETE, ADMIN_CLIENTS, true, false,
	    delete_client },
	{ "/clients/{id}/secret", HTTP_POST, ADMIN_CLIENTS, true, false,
	    rotate },
};

ADMIN_TABLE(admin_clients_table, routes);
