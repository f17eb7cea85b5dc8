/*
 * The admin API's resources (issue 17 item 1; RFC 8707, RFC 9728): list,
 * get, create, update, delete — what `portcullis resource` does, through
 * the same domain functions (resource_register: src/oauth/
 * client_defaults.c; resource_update, resource_delete: src/machine/). A
 * resource is named by its URI, which has '/' in it and so cannot be a
 * path segment: the routes name it by its ref, the base64url SHA-256 of
 * the URI (43 characters, shown as "ref" in every answer; decision 0071).
 * create registers the resource server's own credentials: a new
 * introspection-only confidential client whose secret is answered once,
 * or an existing confidential client (client_id). delete keeps the
 * client (delete it under /clients). The admin API's own resource is
 * left to the CLI (409). Every change is audited.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "admin/objects.h"
#include "app.h"
#include "crypto/crypto.h"
#include "jose/b64url.h"
#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"

#define REF_LEN 43 /* base64url of a SHA-256 */

static void
ref_of(const char *uri, char out[REF_LEN + 1])
{
	uint8_t h[PC_SHA256_LEN];

	hash_sha256(uri, strlen(uri), h);
	b64url_encode(h, sizeof(h), out);
}

static json_t *
resource_json(const struct store_resource *r)
{
	char ref[REF_LEN + 1];
	char *mu = resource_metadata_url(r->id);
	json_t *o = json_object();

	ref_of(r->id, ref);
	json_object_set_new(o, "ref", json_string(ref));
	json_object_set_new(o, "id", json_string(r->id));
	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "scope", json_string(r->scopes));
	json_object_set_new(o, "client_id",
	    r->client_id != NULL ? json_string(r->client_id) : json_null());
	json_object_set_new(o, "dpop_required", json_boolean(r->dpop_required));
	json_object_set_new(o, "metadata_url", json_string(mu));
	json_object_set_new(o, "created_at", admin_obj_time(r->created_at));
	json_object_set_new(o, "updated_at", admin_obj_time(r->updated_at));
	free(mu);
	return o;
}

/*
 * The admin API's own resource (decision 0070) is the CLI's to manage
 * (`portcullis admin resource`): over the API, a change to it could lock
 * every caller out or widen what its tokens carry. true after answering
 * 409 when uri is it.
 */
static bool
own_resource(struct admin_ctx *c, const char *uri)
{
	char *aud = admin_audience(c->app->cfg);
	bool own = uri != NULL && strcmp(uri, aud) == 0;

	free(aud);
	if (own)
		admin_error(c, 409, "conflict",
		    "this is the admin API's own resource: manage it with "
		    "portcullis admin resource");
	return own;
}

/* The resource whose ref is {ref}. 0, or answered (404). */
static int
find(struct admin_ctx *c, struct store_resource *out)
{
	const char *want = admin_param(c, "ref");
	struct store_resource *v = NULL;
	size_t n = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (want == NULL || strlen(want) != REF_LEN) {
		admin_error_code(c, PC_ERR_NOT_FOUND, "resource");
		return PC_ERR_NOT_FOUND;
	}
	if ((r = resource_list(c->app->db, &v, &n)) != 0) {
		admin_error_code(c, r, "resource");
		return r;
	}
	r = PC_ERR_NOT_FOUND;
	for (size_t i = 0; i < n && r != 0; i++) {
		char ref[REF_LEN + 1];

		ref_of(v[i].id, ref);
		if (strcmp(ref, want) == 0) {
			*out = v[i];
			memset(&v[i], 0, sizeof(v[i]));
			r = 0;
		}
	}
	store_resources_free(v, n);
	if (r != 0)
		admin_error_code(c, r, "resource");
	return r;
}

static void
list(struct admin_ctx *c)
{
	struct store_resource *v = NULL;
	size_t n = 0;
	json_t *a;
	int r;

	if ((r = resource_list(c->app->db, &v, &n)) != 0) {
		admin_error_code(c, r, "resource");
		return;
	}
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, resource_json(&v[i]));
	store_resources_free(v, n);
	admin_obj_list(c, a, "ref");
}

static void
get(struct admin_ctx *c)
{
	struct store_resource res;

	if (find(c, &res) != 0)
		return;
	admin_json(c, 200, resource_json(&res));
	store_resource_clear(&res);
}

static const struct admin_field create_fields[] = {
	{ "id", ADMIN_T_STRING, true, RESOURCE_URI_MAX },
	{ "scope", ADMIN_T_STRING, true, 2048 },
	{ "name", ADMIN_T_STRING, false, RESOURCE_NAME_MAX },
	{ "client_id", ADMIN_T_STRING, false, 64 },
	{ "dpop_required", ADMIN_T_BOOL, false, 0 },
};

static void
create(struct admin_ctx *c)
{
	struct store_resource res;
	char secret[CLIENT_SECRET_LEN + 1];
	const char *why = NULL, *name, *client;
	bool created = false, dpop = false;
	json_t *d, *o;
	int r;

	if (admin_body_check(c, create_fields, PC_NELEM(create_fields)) != 0)
		return;
	memset(&res, 0, sizeof(res));
	secret[0] = '\0';
	res.id = xstrdup(admin_body_str(c, "id"));
	res.scopes = xstrdup(admin_body_str(c, "scope"));
	if ((name = admin_body_str(c, "name")) != NULL)
		res.name = xstrdup(name);
	if ((client = admin_body_str(c, "client_id")) != NULL)
		res.client_id = xstrdup(client);
	(void)admin_body_bool(c, "dpop_required", &dpop);
	res.dpop_required = dpop;
	if (own_resource(c, res.id))
		goto out;
	r = resource_register(
	    c->app->db, &res, admin_obj_now(c), secret, &created, &why);
	if (r == PC_ERR_NOT_FOUND) {
		admin_error(c, 400, "invalid_request", "no such client");
		goto out;
	}
	if (r != 0) {
		admin_obj_refused(c, r, why, "resource");
		goto out;
	}
	if (created) {
		/* AU-01; never the secret. */
		d = json_pack("{s:s, s:b, s:s, s:s}", "name", res.name,
		    "public", 0, "token_endpoint_auth_method",
		    "client_secret_basic", "resource", res.id);
		r = admin_audit(c, "client.created", res.client_id, d);
		json_decref(d);
	}
	if (r == 0) {
		d = json_pack("{s:s, s:s, s:s, s:b, s:b}", "name", res.name,
		    "scopes", res.scopes, "client_id", res.client_id,
		    "client_created", created, "dpop_required",
		    res.dpop_required);
		r = admin_audit(c, "resource.create", res.id, d);
		json_decref(d);
	}
	if (r != 0) {
		admin_error_code(c, r, "resource");
		goto out;
	}
	o = resource_json(&res);
	if (secret[0] != '\0')
		json_object_set_new(o, "client_secret", json_string(secret));
	admin_json(c, 201, o);
out:
	sodium_memzero(secret, sizeof(secret));
	store_resource_clear(&res);
}

static const struct admin_field update_fields[] = {
	{ "scope", ADMIN_T_STRING, false, 2048 },
	{ "name", ADMIN_T_STRING, false, RESOURCE_NAME_MAX },
	{ "dpop_required", ADMIN_T_BOOL, false, 0 },
};

static void
update(struct admin_ctx *c)
{
	struct store_resource res;
	const char *why = NULL, *v;
	bool dpop;
	json_t *d;
	int r;

	if (admin_body_check(c, update_fields, PC_NELEM(update_fields)) != 0 ||
	    find(c, &res) != 0)
		return;
	if (own_resource(c, res.id)) {
		store_resource_clear(&res);
		return;
	}
	if ((v = admin_body_str(c, "name")) != NULL) {
		free(res.name);
		res.name = xstrdup(v);
	}
	if ((v = admin_body_str(c, "scope")) != NULL) {
		free(res.scopes);
		res.scopes = xstrdup(v);
	}
	if (admin_body_bool(c, "dpop_required", &dpop) == 0)
		res.dpop_required = dpop;
	r = resource_update(c->app->db, &res, admin_obj_now(c), &why);
	if (r == 0) {
		d = json_pack("{s:s, s:s, s:b}", "name", res.name, "scopes",
		    res.scopes, "dpop_required", res.dpop_required);
		r = admin_audit(c, "resource.update", res.id, d);
		json_decref(d);
		if (r != 0)
			admin_error_code(c, r, "resource");
		else
			admin_json(c, 200, resource_json(&res));
	} else {
		admin_obj_refused(c, r, why, "resource");
	}
	store_resource_clear(&res);
}

static void
delete_resource(struct admin_ctx *c)
{
	struct store_resource res;
	json_t *d;
	int r;

	if (find(c, &res) != 0)
		return;
	if (own_resource(c, res.id)) {
		store_resource_clear(&res);
		return;
	}
	if ((r = resource_delete(c->app->db, res.id)) == 0) {
		d = json_pack("{s:s?}", "client_id", res.client_id);
		r = admin_audit(c, "resource.delete", res.id, d);
		json_decref(d);
	}
	if (r != 0)
		admin_error_code(c, r, "resource");
	else
		admin_no_content(c);
	store_resource_clear(&res);
}

static const struct admin_route routes[] = {
	{ "/resources", HTTP_GET, ADMIN_RESOURCES, false, false, list },
	{ "/resources", HTTP_POST, ADMIN_RESOURCES, true, true, create },
	{ "/resources/{ref}", HTTP_GET, ADMIN_RESOURCES, false, false, get },
	{ "/resources/{ref}", HTTP_PATCH, ADMIN_RESOURCES, true, true, update },
	{ "/resources/{ref}", HTTP_DELETE, ADMIN_RESOURCES, true, false,
	    delete_resource },
};

ADMIN_TABLE(admin_resources_table, routes);
