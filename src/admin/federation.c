/*
 * The admin API's workload federation (issue 17 item 1; issue 14 item 5):
 * trusts (list, get, create, delete) and their rules (add, remove) — what
 * `portcullis federation` does, through the same domain functions
 * (wif_trust_add, wif_rule_add: src/machine/federation.c). A trust holds
 * only public keys or where to fetch them (DS-05 applies to jwks_uri);
 * nothing here is secret. A rule maps a workload to a service account:
 * the scopes it grants (its own, or the account's) may not name an admin
 * scope the caller lacks (decision 0071). Every change is audited
 * (workload.*) with the acting principal.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin/objects.h"
#include "app.h"
#include "machine/machine.h"
#include "machine/machine_ops.h"
#include "oauth/proto.h"
#include "store/store.h"
#include "store/store_federation.h"
#include "store/store_sa.h"
#include "util/config.h"

static json_t *
rule_json(const struct store_wif_rule *r)
{
	json_t *claims =
	    json_loads(r->claims != NULL ? r->claims : "{}", 0, NULL);

	return json_pack("{s:I, s:s, s:o, s:s, s:o, s:o}", "rule",
	    (json_int_t)r->rule_no, "sub", r->sub_pattern, "claims",
	    claims != NULL ? claims : json_object(), "service_account_id",
	    r->service_account_id, "scope",
	    r->scopes != NULL ? json_string(r->scopes) : json_null(),
	    "created_at", admin_obj_time(r->created_at));
}

static json_t *
trust_json(const struct store_wif_trust *t)
{
	json_t *o = json_object(), *rules = json_array();

	json_object_set_new(o, "id", json_string(t->trust_id));
	json_object_set_new(o, "issuer", json_string(t->issuer));
	json_object_set_new(o, "audience", json_string(t->audience));
	json_object_set_new(o, "algs", admin_obj_words(t->algs));
	json_object_set_new(
	    o, "max_lifetime", json_integer((json_int_t)t->max_lifetime));
	json_object_set_new(o, "created_at", admin_obj_time(t->created_at));
	json_object_set_new(o, "jwks_uri",
	    t->jwks_uri != NULL ? json_string(t->jwks_uri) : json_null());
	if (t->jwks != NULL) {
		json_t *k = json_loads(t->jwks, 0, NULL);

		json_object_set_new(o, "jwks", k != NULL ? k : json_null());
	} else {
		json_object_set_new(o, "jwks", json_null());
	}
	for (size_t i = 0; i < t->n_rules; i++)
		json_array_append_new(rules, rule_json(&t->rules[i]));
	json_object_set_new(o, "rules", rules);
	return o;
}

/* The trust {id}. 0, or answered (404). */
static int
find(struct admin_ctx *c, struct store_wif_trust *t)
{
	const char *id = admin_param(c, "id");
	int r = wif_trust_get(c->app->db, id, t);

	if (r != 0) {
		memset(t, 0, sizeof(*t));
		admin_error_code(c, r, "trust");
	}
	return r;
}

static void
list(struct admin_ctx *c)
{
	struct store_wif_trust *v = NULL;
	size_t n = 0;
	json_t *a;
	int r;

	if ((r = wif_trust_list(c->app->db, &v, &n)) != 0) {
		admin_error_code(c, r, "trust");
		return;
	}
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, trust_json(&v[i]));
	store_wif_trusts_free(v, n);
	admin_obj_list(c, a, "id");
}

static void
get(struct admin_ctx *c)
{
	struct store_wif_trust t;

	if (find(c, &t) != 0)
		return;
	admin_json(c, 200, trust_json(&t));
	store_wif_trust_clear(&t);
}

static const struct admin_field trust_fields[] = {
	{ "issuer", ADMIN_T_STRING, true, 2048 },
	{ "jwks_uri", ADMIN_T_STRING, false, 2048 },
	{ "audience", ADMIN_T_STRING, false, 2048 },
	{ "algs", ADMIN_T_STRINGS, false, 4 },
	{ "max_lifetime", ADMIN_T_INT, false, WIF_MAX_LIFETIME_MAX },
};

static void
create(struct admin_ctx *c)
{
	const struct config *cfg = c->app->cfg;
	struct store_wif_trust t;
	struct fetch_policy p;
	char *jwks = NULL, err[160];
	bool jwks_given = false;
	const char *why = NULL, *v;
	int64_t ml = WIF_MAX_LIFETIME_DEFAULT;
	json_t *d;
	int r;

	if (admin_obj_take_object(c, "jwks", 65536, &jwks, &jwks_given) != 0 ||
	    admin_body_check(c, trust_fields, PC_NELEM(trust_fields)) != 0) {
		free(jwks);
		return;
	}
	if ((jwks != NULL) == (admin_body_str(c, "jwks_uri") != NULL)) {
		free(jwks);
		admin_error(c, 400, "invalid_request",
		    "give exactly one of jwks and jwks_uri");
		return;
	}
	if (fetch_policy_init(cfg, &p, err, sizeof(err)) != 0) {
		free(jwks);
		admin_error_code(c, PC_ERR_INTERNAL, "trust");
		return;
	}
	memset(&t, 0, sizeof(t));
	t.issuer = xstrdup(admin_body_str(c, "issuer"));
	v = admin_body_str(c, "audience");
	t.audience = xstrdup(v != NULL ? v : cfg->issuer);
	t.algs = admin_obj_body_words(c, "algs");
	if (t.algs == NULL)
		t.algs = xstrdup(WIF_ALGS_DEFAULT);
	(void)admin_body_int(c, "max_lifetime", &ml);
	t.max_lifetime = ml;
	if ((v = admin_body_str(c, "jwks_uri")) != NULL)
		t.jwks_uri = xstrdup(v);
	t.jwks = jwks;
	r = wif_trust_add(
	    c->app->db, &p, cfg->issuer, &t, admin_obj_now(c), &why);
	if (r != 0) {
		admin_obj_refused(c, r, why, "trust");
		goto out;
	}
	d = json_pack("{s:s, s:s, s:s}", "issuer", t.issuer, "keys",
	    t.jwks_uri != NULL ? t.jwks_uri : "inline", "audience", t.audience);
	r = admin_audit(c, "workload.trust_add", t.trust_id, d);
	json_decref(d);
	if (r != 0)
		admin_error_code(c, r, "trust");
	else
		admin_json(c, 201, trust_json(&t));
out:
	fetch_policy_free(&p);
	store_wif_trust_clear(&t);
}

static void
delete_trust(struct admin_ctx *c)
{
	struct store_wif_trust t;
	json_t *d;
	int r;

	if (find(c, &t) != 0)
		return;
	if ((r = wif_trust_delete(c->app->db, t.trust_id)) == 0) {
		d = json_pack("{s:s}", "issuer", t.issuer);
		r = admin_audit(c, "workload.trust_delete", t.trust_id, d);
		json_decref(d);
	}
	if (r != 0)
		admin_error_code(c, r, "trust");
	else
		admin_no_content(c);
	store_wif_trust_clear(&t);
}

static const struct admin_field rule_fields[] = {
	{ "sub", ADMIN_T_STRING, true, 256 },
	{ "service_account_id", ADMIN_T_STRING, true, 64 },
	{ "scope", ADMIN_T_STRING, false, 2048 },
};

/*
 * The scopes a rule would grant: its own, else everything the account
 * holds now (its own and its groups': service_account_scopes).
 */
static bool
rule_scopes_held(struct admin_ctx *c, const struct store_wif_rule *rule)
{
	struct store_service_account sa;
	struct scope_set held = { { NULL }, 0 };
	struct buf b;
	bool ok;
	int r;

	if (rule->scopes != NULL)
		return admin_no_escalation(c, rule->scopes) == 0;
	if (service_account_get(c->app->db, rule->service_account_id, &sa) != 0)
		return true; /* wif_rule_add refuses it, saying why */
	r = service_account_scopes(c->app->db, &sa, &held);
	store_service_account_clear(&sa);
	buf_init(&b, SCOPE_STRING_MAX * 2);
	if (r != 0 || (held.n > 0 && scope_format(&held, &b) != 0)) {
		scope_set_free(&held);
		buf_free(&b);
		admin_error_code(c, r != 0 ? r : PC_ERR_INTERNAL, "trust");
		return false;
	}
	ok = admin_no_escalation(c, held.n > 0 ? buf_cstr(&b) : NULL) == 0;
	scope_set_free(&held);
	buf_free(&b);
	return ok;
}

static void
rule_add(struct admin_ctx *c)
{
	struct store_wif_trust t;
	struct store_wif_rule rule;
	char *claims = NULL;
	bool given = false;
	const char *why = NULL, *v;
	int64_t no = 0;
	json_t *d;
	int r;

	if (admin_obj_take_object(c, "claims", 4096, &claims, &given) != 0 ||
	    admin_body_check(c, rule_fields, PC_NELEM(rule_fields)) != 0) {
		free(claims);
		return;
	}
	if (find(c, &t) != 0) {
		free(claims);
		return;
	}
	memset(&rule, 0, sizeof(rule));
	rule.claims = claims != NULL ? claims : xstrdup("{}");
	rule.sub_pattern = xstrdup(admin_body_str(c, "sub"));
	rule.service_account_id =
	    xstrdup(admin_body_str(c, "service_account_id"));
	if ((v = admin_body_str(c, "scope")) != NULL)
		rule.scopes = xstrdup(v);
	if (!rule_scopes_held(c, &rule))
		goto out;
	r = wif_rule_add(
	    c->app->db, t.trust_id, &rule, admin_obj_now(c), &no, &why);
	if (r != 0) {
		admin_obj_refused(c, r, why, "trust");
		goto out;
	}
	rule.rule_no = no;
	rule.created_at = admin_obj_now(c);
	d = json_pack("{s:I, s:s, s:s, s:s, s:s?}", "rule", (json_int_t)no,
	    "sub", rule.sub_pattern, "claims", rule.claims, "service_account",
	    rule.service_account_id, "scope", rule.scopes);
	r = admin_audit(c, "workload.rule_add", t.trust_id, d);
	json_decref(d);
	if (r != 0)
		admin_error_code(c, r, "trust");
	else
		admin_json(c, 201, rule_json(&rule));
out:
	free(rule.sub_pattern);
	free(rule.claims);
	free(rule.service_account_id);
	free(rule.scopes);
	store_wif_trust_clear(&t);
}

static void
rule_remove(struct admin_ctx *c)
{
	const char *trust = admin_param(c, "id"), *no = admin_param(c, "rule");
	int64_t n = 0;
	json_t *d;
	int r;

	if (no == NULL || str_to_int64(str_from(no), 1, INT64_MAX, &n) != 0)
		r = PC_ERR_NOT_FOUND;
	else
		r = wif_rule_remove(c->app->db, trust, n);
	if (r == 0) {
		d = json_pack("{s:I}", "rule", (json_int_t)n);
		r = admin_audit(c, "workload.rule_remove", trust, d);
		json_decref(d);
	}
	if (r != 0)
		admin_error_code(c, r, "rule");
	else
		admin_no_content(c);
}

static const struct admin_route routes[] = {
	{ "/federation/trusts", HTTP_GET, ADMIN_FEDERATION, false, false,
	    list },
	{ "/federation/trusts", HTTP_POST, ADMIN_FEDERATION, true, true,
	    create },
	{ "/federation/trusts/{id}", HTTP_GET, ADMIN_FEDERATION, false, false,
	    get },
	{ "/federation/trusts/{id}", HTTP_DELETE, ADMIN_FEDERATION, true, false,
	    delete_trust },
	{ "/federation/trusts/{id}/rules", HTTP_POST, ADMIN_FEDERATION, true,
	    true, rule_add },
	{ "/federation/trusts/{id}/rules/{rule}", HTTP_DELETE, ADMIN_FEDERATION,
	    true, false, rule_remove },
};

ADMIN_TABLE(admin_federation_table, routes);
