/*
 * The admin API's API keys (issue 17 item 1): list (?owner_id=), get,
 * create, rotate, revoke — what `portcullis api-key` does, through the
 * same domain functions (src/machine/apikey.c). The whole key is answered
 * once, by create and rotate (no-store), and never audited or logged:
 * only the SHA-256 of its secret is stored (AK-01); everything else names
 * a key by its public id "key_…". A key whose audit row cannot be written
 * is revoked at once and never shown. A new key (or successor) may not
 * hold an admin scope the caller lacks (decision 0071).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "admin/objects.h"
#include "app.h"
#include "machine/machine.h"
#include "store/store.h"
#include "store/store_api_keys.h"
#include "util/config.h"
#include "util/log.h"

static json_t *
nstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
key_json(const struct store_api_key *k)
{
	char id[APIKEY_PUBLIC_ID_LEN + 1], succ[APIKEY_PUBLIC_ID_LEN + 1];
	json_t *o = json_object();

	apikey_public_id(k->key_id, id);
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "kind", json_string(k->kind));
	json_object_set_new(o, "owner_id", json_string(k->owner_id));
	json_object_set_new(
	    o, "name", json_string(k->name != NULL ? k->name : ""));
	json_object_set_new(o, "scope", json_string(k->scopes));
	json_object_set_new(o, "resource", nstr(k->resource_id));
	json_object_set_new(o, "created_at", admin_obj_time(k->created_at));
	json_object_set_new(o, "expires_at", admin_obj_time(k->expires_at));
	json_object_set_new(o, "revoked_at", admin_obj_time(k->revoked_at));
	json_object_set_new(o, "revoke_reason", nstr(k->revoke_reason));
	if (k->replaced_by[0] != '\0') {
		apikey_public_id(k->replaced_by, succ);
		json_object_set_new(o, "replaced_by", json_string(succ));
	} else {
		json_object_set_new(o, "replaced_by", json_null());
	}
	json_object_set_new(o, "last_used_at", admin_obj_time(k->last_used_at));
	json_object_set_new(o, "last_used_ip", nstr(k->last_used_ip));
	return o;
}

/*
 * The end of create and rotate: the audit row, then the key, shown once;
 * an unaudited key is revoked and never shown (as the CLI does).
 */
static void
hand_out(struct admin_ctx *c, struct store_api_key *k,
    char key[APIKEY_MAX_LEN + 1], const char *event, const char *target,
    json_t *d, int status)
{
	char id[APIKEY_PUBLIC_ID_LEN + 1];
	bool changed;
	json_t *o;
	int r = admin_audit(c, event, target, d);

	json_decref(d);
	apikey_public_id(k->key_id, id);
	if (r != 0) {
		if (apikey_revoke(c->app->db, id, admin_obj_now(c),
			"audit failed", &changed) != 0)
			log_msg(LOG_ERROR, "admin.api_key_unaudited", id);
		admin_error_code(c, r, "api key");
		return;
	}
	o = key_json(k);
	json_object_set_new(o, "key", json_string(key));
	admin_json(c, status, o);
}

static const struct admin_field create_fields[] = {
	{ "owner_id", ADMIN_T_STRING, true, 64 },
	{ "scope", ADMIN_T_STRING, true, 2048 },
	{ "resource", ADMIN_T_STRING, false, RESOURCE_URI_MAX },
	{ "name", ADMIN_T_STRING, false, APIKEY_NAME_MAX },
	{ "expires_in", ADMIN_T_INT, false, 0 },
};

static void
create(struct admin_ctx *c)
{
	struct apikey_request rq;
	struct store_api_key k;
	char key[APIKEY_MAX_LEN + 1], id[APIKEY_PUBLIC_ID_LEN + 1];
	const char *why = NULL;
	int64_t ttl = 0;
	json_t *d;
	int r;

	if (admin_body_check(c, create_fields, PC_NELEM(create_fields)) != 0)
		return;
	memset(&rq, 0, sizeof(rq));
	rq.owner_id = admin_body_str(c, "owner_id");
	rq.scopes = admin_body_str(c, "scope");
	rq.resource_id = admin_body_str(c, "resource");
	rq.name = admin_body_str(c, "name");
	if (admin_body_int(c, "expires_in", &ttl) == 0) {
		if (ttl == 0) {
			admin_error(c, 400, "invalid_request",
			    "expires_in must be positive (omit it: "
			    "api_key_default_ttl)");
			return;
		}
		rq.ttl = ttl;
	}
	if (admin_no_escalation(c, rq.scopes) != 0)
		return;
	r = apikey_create(
	    c->app->db, c->app->cfg, &rq, admin_obj_now(c), &k, key, &why);
	if (r != 0) {
		admin_obj_refused(c, r, why, "api key");
		return;
	}
	apikey_public_id(k.key_id, id);
	/* AU-01, TX-07: never the key. */
	d = json_pack("{s:s, s:s, s:s, s:I}", "owner", k.owner_id, "scope",
	    k.scopes, "resource", k.resource_id != NULL ? k.resource_id : "",
	    "expires_at", (json_int_t)k.expires_at);
	hand_out(c, &k, key, "api_key.create", id, d, 201);
	sodium_memzero(key, sizeof(key));
	store_api_key_clear(&k);
}

static void
list(struct admin_ctx *c)
{
	static const char *const extra[] = { "owner_id", NULL };
	struct store_api_key *v = NULL;
	const char *after = NULL;
	int64_t limit = 0;
	size_t n = 0;
	json_t *a;
	int r;

	if (admin_page(c, extra, &limit, &after) != 0)
		return;
	r = apikey_list(c->app->db, admin_query(c, "owner_id"), &v, &n);
	if (r != 0) {
		admin_error_code(c, r, "api key");
		return;
	}
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, key_json(&v[i]));
	store_api_keys_free(v, n);
	admin_obj_list_page(c, a, "id", limit, after);
}

static void
get(struct admin_ctx *c)
{
	struct store_api_key k;
	int r = apikey_get(c->app->db, admin_param(c, "id"), &k);

	if (r != 0) {
		admin_error_code(c, r, "api key");
		return;
	}
	admin_json(c, 200, key_json(&k));
	store_api_key_clear(&k);
}

static const struct admin_field rotate_fields[] = {
	/* how long the old key keeps working; absent: api_key_rotate_overlap */
	{ "overlap_seconds", ADMIN_T_INT, false, 366 * 86400LL },
};

static void
rotate(struct admin_ctx *c)
{
	const char *old = admin_param(c, "id"), *why = NULL;
	struct store_api_key k, prev;
	char key[APIKEY_MAX_LEN + 1], id[APIKEY_PUBLIC_ID_LEN + 1];
	int64_t overlap = -1;
	json_t *d;
	int r;

	if (admin_body_check(c, rotate_fields, PC_NELEM(rotate_fields)) != 0)
		return;
	(void)admin_body_int(c, "overlap_seconds", &overlap);
	/* The successor holds the old key's scopes: the caller must hold
	 * every admin one of them (decision 0071). */
	if ((r = apikey_get(c->app->db, old, &prev)) != 0) {
		admin_error_code(c, r, "api key");
		return;
	}
	if (admin_no_escalation(c, prev.scopes) != 0) {
		store_api_key_clear(&prev);
		return;
	}
	store_api_key_clear(&prev);
	r = apikey_rotate(c->app->db, c->app->cfg, old, overlap,
	    admin_obj_now(c), &k, key, &why);
	if (r != 0) {
		admin_obj_refused(c, r, why, "api key");
		return;
	}
	apikey_public_id(k.key_id, id);
	d = json_pack("{s:s, s:I}", "successor", id, "overlap_seconds",
	    (json_int_t)(overlap >= 0 ? overlap
				      : c->app->cfg->api_key_rotate_overlap));
	hand_out(c, &k, key, "api_key.rotate", old, d, 201);
	sodium_memzero(key, sizeof(key));
	store_api_key_clear(&k);
}

static void
revoke(struct admin_ctx *c)
{
	const char *id = admin_param(c, "id");
	struct store_api_key k;
	bool changed = false;
	json_t *d;
	int r = apikey_revoke(
	    c->app->db, id, admin_obj_now(c), "operator", &changed);

	if (r == 0 && changed) {
		d = json_pack("{s:s}", "reason", "operator");
		r = admin_audit(c, "api_key.revoke", id, d);
		json_decref(d);
	}
	if (r == 0)
		r = apikey_get(c->app->db, id, &k);
	if (r != 0) {
		admin_error_code(c, r, "api key");
		return;
	}
	admin_json(c, 200, key_json(&k));
	store_api_key_clear(&k);
}

static const struct admin_route routes[] = {
	{ "/api-keys", HTTP_GET, ADMIN_API_KEYS, false, false, list },
	{ "/api-keys", HTTP_POST, ADMIN_API_KEYS, true, true, create },
	{ "/api-keys/{id}", HTTP_GET, ADMIN_API_KEYS, false, false, get },
	{ "/api-keys/{id}/rotate", HTTP_POST, ADMIN_API_KEYS, true, true,
	    rotate },
	{ "/api-keys/{id}/revoke", HTTP_POST, ADMIN_API_KEYS, true, false,
	    revoke },
};

ADMIN_TABLE(admin_api_keys_table, routes);
