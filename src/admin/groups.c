/*
 * admin/groups.c: /admin/v1/groups — groups of users and service
 * accounts and their members (issue 17 item 1), what `portcullis group`
 * does. A group's admin: scopes are authority over this API (its member
 * service accounts get them, its member users' API keys may use them:
 * decision 0070), so a caller may create such a group, or add a member
 * to one, only when it holds every admin: scope the group grants itself:
 * admin:groups:write alone never widens anyone's admin rights
 * (admin_no_escalation()).
 */
#include <string.h>

#include "admin/admin.h"
#include "app.h"
#include "machine/machine.h"
#include "store/store.h"

static json_t *
group_json(const struct store_group *g, char **members, size_t n)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "id", g->id,
	    "name", g->name, "description", g->description, "scope", g->scopes,
	    "created_at", (json_int_t)g->created_at, "updated_at",
	    (json_int_t)g->updated_at);

	if (o != NULL && members != NULL) {
		json_t *a = json_array();

		for (size_t i = 0; a != NULL && i < n; i++)
			json_array_append_new(a, json_string(members[i]));
		json_object_set_new(o, "members", a);
	}
	return o;
}

static void
list(struct admin_ctx *c)
{
	struct store_group *v = NULL;
	const char *after;
	int64_t limit, k = 0;
	size_t n = 0, i = 0;
	json_t *items, *o;
	int rc;

	if (admin_page(c, NULL, &limit, &after) != 0)
		return;
	if ((rc = group_list(c->app->db, &v, &n)) != 0) {
		admin_error_code(c, rc, "group");
		return;
	}
	/* By name; after is the last name of the page before. */
	if (after != NULL)
		while (i < n && strcmp(v[i].name, after) <= 0)
			i++;
	items = json_array();
	for (; items != NULL && i < n && k < limit; i++, k++)
		json_array_append_new(items, group_json(&v[i], NULL, 0));
	o = json_pack("{s:o, s:o}", "items", items, "next",
	    k == limit && i < n ? json_string(v[i - 1].name) : json_null());
	store_groups_free(v, n);
	admin_json(c, 200, o);
}

/* The group of {id}: 0, or 404 answered. */
static int
group_of(struct admin_ctx *c, struct store_group *g)
{
	int rc = group_get(c->app->db, admin_param(c, "id"), g);

	if (rc != 0) {
		admin_error_code(c, rc, "group");
		return -1;
	}
	return 0;
}

static void
get(struct admin_ctx *c)
{
	struct store_group g;
	char **m = NULL;
	size_t n = 0;
	int rc;

	if (group_of(c, &g) != 0)
		return;
	if ((rc = group_members(c->app->db, g.id, &m, &n)) != 0)
		admin_error_code(c, rc, "group");
	else
		admin_json(c, 200, group_json(&g, m, n));
	store_strv_free(m, n);
	store_group_clear(&g);
}

static const struct admin_field create_fields[] = {
	{ "name", ADMIN_T_STRING, true, GROUP_NAME_MAX },
	{ "description", ADMIN_T_STRING, false, SA_DESCRIPTION_MAX },
	{ "scope", ADMIN_T_STRING, false, 4096 },
};

static void
create(struct admin_ctx *c)
{
	struct store_group g;
	const char *why = NULL, *scope;
	json_t *d;
	int rc;

	if (admin_body_check(c, create_fields, PC_NELEM(create_fields)) != 0)
		return;
	scope = admin_body_str(c, "scope");
	if (admin_no_escalation(c, scope) != 0)
		return;
	rc = group_create(c->app->db, admin_body_str(c, "name"),
	    admin_body_str(c, "description"), scope, c->r->now, &g, &why);
	if (rc == PC_ERR_INVALID) {
		admin_error(c, 400, "invalid_request",
		    why != NULL ? why : "The group is invalid.");
		return;
	}
	if (rc != 0) {
		admin_error_code(c, rc, "group");
		return;
	}
	d = json_pack("{s:s, s:s}", "name", g.name, "scope", g.scopes);
	rc = admin_audit(c, "group.create", g.id, d);
	json_decref(d);
	if (rc != 0)
		admin_error_code(c, rc, "group");
	else
		admin_json(c, 201, group_json(&g, NULL, 0));
	store_group_clear(&g);
}

static void
delete_group(struct admin_ctx *c)
{
	struct store_group g;
	int rc;

	if (group_of(c, &g) != 0)
		return;
	rc = group_delete(c->app->db, g.id, c->r->now);
	if (rc == 0)
		rc = admin_audit(c, "group.delete", g.id, NULL);
	if (rc == PC_ERR_CONFLICT)
		admin_error(c, 409, "conflict",
		    "The group owns a service account: give it another owner "
		    "first.");
	else if (rc != 0)
		admin_error_code(c, rc, "group");
	else
		admin_no_content(c);
	store_group_clear(&g);
}

static void
member(struct admin_ctx *c, bool adding)
{
	const char *mid = admin_param(c, "member"), *why = NULL;
	struct store_group g;
	bool changed = true;
	json_t *d;
	int rc;

	if (group_of(c, &g) != 0)
		return;
	if (adding && admin_no_escalation(c, g.scopes) != 0) {
		store_group_clear(&g);
		return;
	}
	rc = adding
	    ? group_member_add(c->app->db, g.id, mid, c->r->now, &changed, &why)
	    : group_member_remove(c->app->db, g.id, mid);
	if (rc == PC_ERR_INVALID) {
		admin_error(c, 400, "invalid_request",
		    why != NULL ? why : "The member is invalid.");
		goto out;
	}
	if (rc == 0 && changed) {
		d = json_pack("{s:s}", "member", mid);
		rc = admin_audit(c,
		    adding ? "group.member_add" : "group.member_remove", g.id,
		    d);
		json_decref(d);
	}
	if (rc != 0)
		admin_error_code(
		    c, rc, adding ? "group or member" : "member of the group");
	else
		admin_json(c, 200,
		    json_pack("{s:s, s:s, s:b, s:b}", "group", g.id, "member",
			mid, "member_now", adding, "changed", changed));
out:
	store_group_clear(&g);
}

static void
member_add(struct admin_ctx *c)
{
	member(c, true);
}

static void
member_remove(struct admin_ctx *c)
{
	member(c, false);
}

static const struct admin_route routes[] = {
	{ "/groups", HTTP_GET, ADMIN_GROUPS, false, false, list },
	{ "/groups", HTTP_POST, ADMIN_GROUPS, true, true, create },
	{ "/groups/{id}", HTTP_GET, ADMIN_GROUPS, false, false, get },
	{ "/groups/{id}", HTTP_DELETE, ADMIN_GROUPS, true, false,
	    delete_group },
	{ "/groups/{id}/members/{member}", HTTP_PUT, ADMIN_GROUPS, true, false,
	    member_add },
	{ "/groups/{id}/members/{member}", HTTP_DELETE, ADMIN_GROUPS, true,
	    false, member_remove },
};
ADMIN_TABLE(admin_groups_table, routes);
