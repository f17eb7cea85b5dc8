/*
 * The admin API's service accounts (issue 17 item 1): list, get, create,
 * update, disable, enable, delete — what `portcullis service-account`
 * does, through the same domain functions (src/machine/service_account.c).
 * A disable kills the account's tokens at their next check on every node
 * (SS-08 for machines). Its scopes may not name an admin scope the caller
 * lacks (decision 0071). Every change is audited with the acting
 * principal (service_account.*).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin/objects.h"
#include "app.h"
#include "machine/machine.h"
#include "machine/machine_ops.h"
#include "store/store.h"
#include "store/store_sa.h"

static json_t *
nstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
sa_json(const struct store_service_account *sa, char **clients, size_t n,
    bool with_clients)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(sa->id));
	json_object_set_new(o, "name", json_string(sa->name));
	json_object_set_new(o, "description",
	    json_string(sa->description != NULL ? sa->description : ""));
	json_object_set_new(o, "owner_id", nstr(sa->owner_id));
	json_object_set_new(
	    o, "scope", json_string(sa->scopes != NULL ? sa->scopes : ""));
	json_object_set_new(o, "resources", admin_obj_words(sa->resources));
	json_object_set_new(o, "expires_at", admin_obj_time(sa->expires_at));
	json_object_set_new(o, "disabled_at", admin_obj_time(sa->disabled_at));
	json_object_set_new(o, "disabled", json_boolean(sa->disabled_at != 0));
	json_object_set_new(o, "created_at", admin_obj_time(sa->created_at));
	json_object_set_new(o, "updated_at", admin_obj_time(sa->updated_at));
	if (with_clients) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_string(clients[i]));
		json_object_set_new(o, "clients", a);
	}
	return o;
}

static const struct admin_field create_fields[] = {
	{ "name", ADMIN_T_STRING, true, SA_NAME_MAX },
	{ "description", ADMIN_T_STRING, false, SA_DESCRIPTION_MAX },
	{ "owner_id", ADMIN_T_NULLABLE_STRING, false, 64 },
	{ "scope", ADMIN_T_STRING, false, 2048 },
	{ "resources", ADMIN_T_STRINGS, false, SA_RESOURCES_MAX },
	{ "expires_in", ADMIN_T_INT, false, SA_EXPIRES_MAX },
};

static const struct admin_field update_fields[] = {
	{ "name", ADMIN_T_STRING, false, SA_NAME_MAX },
	{ "description", ADMIN_T_STRING, false, SA_DESCRIPTION_MAX },
	{ "owner_id", ADMIN_T_NULLABLE_STRING, false, 64 },
	{ "scope", ADMIN_T_STRING, false, 2048 },
	{ "resources", ADMIN_T_STRINGS, false, SA_RESOURCES_MAX },
	/* 0 (or null) removes the expiry */
	{ "expires_in", ADMIN_T_INT, false, SA_EXPIRES_MAX },
};

/*
 * The body into f (res holds the resource strings: admin_obj_strv_free).
 * create: expires_in 0 is refused by the domain (out of bounds).
 */
static void
fields(
    const struct admin_ctx *c, struct sa_fields *f, char ***res, size_t *nres)
{
	int64_t exp = 0;

	memset(f, 0, sizeof(*f));
	f->name = admin_body_str(c, "name");
	f->description = admin_body_str(c, "description");
	f->scopes = admin_body_str(c, "scope");
	f->owner_id = admin_body_str(c, "owner_id");
	if (json_is_null(json_object_get(c->body, "owner_id")))
		f->owner_id = "";
	f->set_resources = admin_obj_body_strv(c, "resources", res, nres);
	f->resources = (const char *const *)*res;
	f->n_resources = *nres;
	if (admin_body_int(c, "expires_in", &exp) == 0) {
		f->expires_in = exp;
		f->set_expires = true;
	}
}

/* The audit details of a change: the fields as they are now. */
static json_t *
details(const struct store_service_account *sa)
{
	return json_pack("{s:s, s:s?, s:s, s:s, s:I}", "name", sa->name,
	    "owner", sa->owner_id, "scopes",
	    sa->scopes != NULL ? sa->scopes : "", "resources",
	    sa->resources != NULL ? sa->resources : "", "expires_at",
	    (json_int_t)sa->expires_at);
}

/* Audits event for sa and answers status with it, or the error. */
static void
audited(struct admin_ctx *c, const char *event,
    const struct store_service_account *sa, int status)
{
	json_t *d = details(sa);
	int r = admin_audit(c, event, sa->id, d);

	json_decref(d);
	if (r != 0)
		admin_error_code(c, r, "service account");
	else
		admin_json(c, status, sa_json(sa, NULL, 0, false));
}

static void
create(struct admin_ctx *c)
{
	struct store_service_account sa;
	struct sa_fields f;
	char **res = NULL;
	size_t nres = 0;
	const char *why = NULL;
	int r;

	if (admin_body_check(c, create_fields, PC_NELEM(create_fields)) != 0)
		return;
	fields(c, &f, &res, &nres);
	if (f.set_expires && f.expires_in == 0) {
		admin_error(c, 400, "invalid_request",
		    "expires_in must be at least 60 seconds (omit it: no "
		    "expiry)");
		goto out;
	}
	if (admin_no_escalation(c, f.scopes) != 0)
		goto out;
	r = service_account_create(c->app->db, &f, admin_obj_now(c), &sa, &why);
	if (r != 0) {
		admin_obj_refused(c, r, why, "service account");
		goto out;
	}
	audited(c, "service_account.create", &sa, 201);
	store_service_account_clear(&sa);
out:
	admin_obj_strv_free(res, nres);
}

static void
update(struct admin_ctx *c)
{
	struct store_service_account sa;
	struct sa_fields f;
	const char *id = admin_param(c, "id"), *why = NULL;
	char **res = NULL;
	size_t nres = 0;
	int r;

	if (admin_body_check(c, update_fields, PC_NELEM(update_fields)) != 0)
		return;
	fields(c, &f, &res, &nres);
	if (admin_no_escalation(c, f.scopes) != 0)
		goto out;
	r = principal_kind(id) == PRINCIPAL_SERVICE_ACCOUNT
	    ? service_account_update(
		  c->app->db, id, &f, admin_obj_now(c), &sa, &why)
	    : PC_ERR_NOT_FOUND;
	if (r != 0) {
		admin_obj_refused(c, r, why, "service account");
		goto out;
	}
	audited(c, "service_account.update", &sa, 200);
	store_service_account_clear(&sa);
out:
	admin_obj_strv_free(res, nres);
}

static void
get(struct admin_ctx *c)
{
	struct store_service_account sa;
	const char *id = admin_param(c, "id");
	char **clients = NULL;
	size_t n = 0;
	int r = service_account_get(c->app->db, id, &sa);

	if (r != 0) {
		admin_error_code(c, r, "service account");
		return;
	}
	r = service_account_client_ids(c->app->db, sa.id, &clients, &n);
	if (r != 0)
		admin_error_code(c, r, "service account");
	else
		admin_json(c, 200, sa_json(&sa, clients, n, true));
	store_strv_free(clients, n);
	store_service_account_clear(&sa);
}

static void
list(struct admin_ctx *c)
{
	struct store_service_account *v = NULL;
	size_t n = 0;
	json_t *a;
	int r;

	if ((r = service_account_list(c->app->db, &v, &n)) != 0) {
		admin_error_code(c, r, "service account");
		return;
	}
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, sa_json(&v[i], NULL, 0, false));
	store_service_accounts_free(v, n);
	admin_obj_list(c, a, "id");
}

static void
set_disabled(struct admin_ctx *c, bool disabled)
{
	const char *id = admin_param(c, "id");
	struct store_service_account sa;
	int r = principal_kind(id) == PRINCIPAL_SERVICE_ACCOUNT
	    ? service_account_set_disabled(
		  c->app->db, id, disabled, admin_obj_now(c))
	    : PC_ERR_NOT_FOUND;

	if (r == 0)
		r = admin_audit(c,
		    disabled ? "service_account.disable"
			     : "service_account.enable",
		    id, NULL);
	if (r == 0)
		r = service_account_get(c->app->db, id, &sa);
	if (r != 0) {
		admin_error_code(c, r, "service account");
		return;
	}
	admin_json(c, 200, sa_json(&sa, NULL, 0, false));
	store_service_account_clear(&sa);
}

static void
disable(struct admin_ctx *c)
{
	set_disabled(c, true);
}

static void
enable(struct admin_ctx *c)
{
	set_disabled(c, false);
}

static void
delete_sa(struct admin_ctx *c)
{
	const char *id = admin_param(c, "id");
	char **clients = NULL;
	size_t n = 0;
	json_t *a, *d;
	int r = principal_kind(id) == PRINCIPAL_SERVICE_ACCOUNT
	    ? service_account_delete(
		  c->app->db, id, admin_obj_now(c), &clients, &n)
	    : PC_ERR_NOT_FOUND;

	if (r != 0) {
		admin_error_code(c, r, "service account");
		return;
	}
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(clients[i]));
	d = json_pack("{s:O}", "clients_deleted", a);
	r = admin_audit(c, "service_account.delete", id, d);
	json_decref(d);
	for (size_t i = 0; r == 0 && i < n; i++) {
		d = json_pack("{s:s}", "service_account", id);
		r = admin_audit(c, "client.deleted", clients[i], d);
		json_decref(d);
	}
	json_decref(a);
	store_strv_free(clients, n);
	if (r != 0)
		admin_error_code(c, r, "service account");
	else
		admin_no_content(c);
}

static const struct admin_route routes[] = {
	{ "/service-accounts", HTTP_GET, ADMIN_SERVICE_ACCOUNTS, false, false,
	    list },
	{ "/service-accounts", HTTP_POST, ADMIN_SERVICE_ACCOUNTS, true, true,
	    create },
	{ "/service-accounts/{id}", HTTP_GET, ADMIN_SERVICE_ACCOUNTS, false,
	    false, get },
	{ "/service-accounts/{id}", HTTP_PATCH, ADMIN_SERVICE_ACCOUNTS, true,
	    true, update },
	{ "/service-accounts/{id}", HTTP_DELETE, ADMIN_SERVICE_ACCOUNTS, true,
	    false, delete_sa },
	{ "/service-accounts/{id}/disable", HTTP_POST, ADMIN_SERVICE_ACCOUNTS,
	    true, false, disable },
	{ "/service-accounts/{id}/enable", HTTP_POST, ADMIN_SERVICE_ACCOUNTS,
	    true, false, enable },
};

ADMIN_TABLE(admin_service_accounts_table, routes);
