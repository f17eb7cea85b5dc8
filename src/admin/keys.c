/*
 * The admin API's signing keys (issue 17 item 1): the keys with their
 * state and age, and a rotation — what `portcullis key list | rotate`
 * does, through the same functions (signer_list, signer_algs_in_use,
 * signer_rotate: src/crypto/). A new key is published at once (this node
 * reloads its ring; the others at their next refresh) and signs after
 * signing_key_activation_delay. Never a private key: only the public
 * facts. Each rotation is audited (key.rotated) with the acting
 * principal.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin/objects.h"
#include "app.h"
#include "crypto/crypto.h"
#include "jose/jose.h"
#include "util/config.h"

static json_t *
key_json(const struct signer_key_info *k, int64_t now)
{
	json_t *o = json_object();

	json_object_set_new(o, "kid", json_string(k->kid));
	json_object_set_new(o, "alg", json_string(jose_alg_name(k->alg)));
	json_object_set_new(o, "state",
	    json_string(
		k->rejected ? "rejected" : signer_state_name(k->state)));
	json_object_set_new(o, "created_at", admin_obj_time(k->created_at));
	json_object_set_new(o, "age_seconds",
	    json_integer(now > k->created_at ? now - k->created_at : 0));
	json_object_set_new(o, "activate_at", admin_obj_time(k->activate_at));
	json_object_set_new(o, "retired_at", admin_obj_time(k->retired_at));
	json_object_set_new(o, "unpublish_at", admin_obj_time(k->unpublish_at));
	json_object_set_new(o, "rejected", json_boolean(k->rejected));
	return o;
}

static void
list(struct admin_ctx *c)
{
	struct signer_key_info *v = NULL;
	size_t n = 0;
	int64_t now = admin_obj_now(c);
	json_t *a;
	int r;

	if ((r = signer_list(c->app->signer, now, &v, &n)) != 0) {
		admin_error_code(c, r, "signing key");
		return;
	}
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, key_json(&v[i], now));
	free(v);
	admin_obj_list(c, a, "kid");
}

static const struct admin_field rotate_fields[] = {
	/* ES256, RS256, PS256 or EdDSA; absent: every one in use */
	{ "alg", ADMIN_T_STRING, false, 16 },
};

static void
rotate(struct admin_ctx *c)
{
	const struct config *cfg = c->app->cfg;
	const char *name;
	enum jose_alg algs[SIGNER_ALGS_MAX];
	size_t nalgs = 0;
	int64_t now = admin_obj_now(c);
	json_t *out, *d;
	int r;

	if (admin_body_check(c, rotate_fields, PC_NELEM(rotate_fields)) != 0)
		return;
	if ((name = admin_body_str(c, "alg")) != NULL) {
		algs[0] = signer_alg_parse_any_case(name);
		if (algs[0] == JOSE_ALG_INVALID) {
			admin_error(c, 400, "invalid_request",
			    "alg must be ES256, RS256, PS256 or EdDSA");
			return;
		}
		nalgs = 1;
	} else if ((r = signer_algs_in_use(
			c->app->signer, now, algs, &nalgs)) != 0) {
		admin_error_code(c, r, "signing key");
		return;
	}
	out = json_array();
	for (size_t i = 0; i < nalgs; i++) {
		char kid[64];

		r = signer_rotate(
		    c->app->db, c->app->mk, cfg, algs[i], now, kid);
		if (r == 0) {
			d = json_pack("{s:s, s:I}", "alg",
			    jose_alg_name(algs[i]), "activate_at",
			    (json_int_t)now +
				(json_int_t)cfg->signing_key_activation_delay);
			r = admin_audit(c, "key.rotated", kid, d);
			json_decref(d);
		}
		if (r != 0) {
			json_decref(out);
			admin_error_code(c, r, "signing key");
			return;
		}
		json_array_append_new(out,
		    json_pack("{s:s, s:s, s:I}", "kid", kid, "alg",
			jose_alg_name(algs[i]), "activate_at",
			(json_int_t)now +
			    (json_int_t)cfg->signing_key_activation_delay));
	}
	/* Published by this node at once; the others follow at their next
	 * refresh (or at once, on an unknown kid). */
	(void)signer_refresh(c->app->signer, now, true);
	admin_json(c, 201, json_pack("{s:o}", "keys", out));
}

static const struct admin_route routes[] = {
	{ "/signing-keys", HTTP_GET, ADMIN_KEYS, false, false, list },
	{ "/signing-keys/rotate", HTTP_POST, ADMIN_KEYS, true, true, rotate },
};

ADMIN_TABLE(admin_keys_table, routes);
