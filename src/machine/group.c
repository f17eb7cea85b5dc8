/*
 * Groups (issue 14): users and service accounts belong to them. A group
 * does two things: its name goes into the "groups" claim of a member
 * user's tokens when the "groups" scope is granted, and its scopes are
 * granted to its member service accounts (a union with their own).
 * Users get no scope from a group: what a user's token carries is still
 * only what the user consented to for the client. The one exception is
 * the admin API's scopes (admin:*, issue 17, decision 0070): an
 * operator's personal API key may use them only as far as the user's
 * groups grant them (machine/apikey_scope.c, group_scopes_of).
 */
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"
#include "oauth/proto.h"
#include "store/store.h"

int
group_create(struct db *db, const char *name, const char *description,
    const char *scopes, int64_t now, struct store_group *out, const char **why)
{
	char id[PRINCIPAL_ID_LEN + 1];
	struct scope_set s;
	int r;

	*why = NULL;
	memset(out, 0, sizeof(*out));
	if (!machine_name_valid(name)) {
		*why = "a name is 1-64 letters, digits, '.', '_' or '-', "
		       "starting with a letter or digit";
		return PC_ERR_INVALID;
	}
	if (description == NULL)
		description = "";
	if (strnlen(description, SA_DESCRIPTION_MAX + 1) > SA_DESCRIPTION_MAX) {
		*why = "a description is at most 256 bytes of text";
		return PC_ERR_INVALID;
	}
	for (const char *p = description; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = "a description is at most 256 bytes of text";
			return PC_ERR_INVALID;
		}
	if (scopes == NULL)
		scopes = "";
	if (scope_parse(scopes, &s) != 0) {
		*why = "scopes are space-separated scope tokens (RFC 6749 3.3)";
		return PC_ERR_INVALID;
	}
	/* Granted to service accounts only: no user scopes. */
	r = scope_has(&s, "openid") || scope_has(&s, "offline_access");
	scope_set_free(&s);
	if (r) {
		*why =
		    "openid and offline_access need a user: a group's scopes "
		    "go to its service accounts";
		return PC_ERR_INVALID;
	}
	if ((r = principal_id_new(PRINCIPAL_GROUP, id)) != 0)
		return r;
	out->id = xstrdup(id);
	out->name = xstrdup(name);
	out->description = xstrdup(description);
	out->scopes = xstrdup(scopes);
	out->created_at = out->updated_at = now;
	if ((r = store_group_insert(db, out)) != 0) {
		if (r == PC_ERR_CONFLICT)
			*why = "the name is taken";
		store_group_clear(out);
	}
	return r;
}

int
group_member_add(struct db *db, const char *group_id, const char *member_id,
    int64_t now, bool *added, const char **why)
{
	enum principal_kind k = principal_kind(member_id);

	*why = NULL;
	if (added != NULL)
		*added = false;
	if (k != PRINCIPAL_USER && k != PRINCIPAL_SERVICE_ACCOUNT) {
		*why = "a member is a user (usr_...) or a service account "
		       "(svc_...)";
		return PC_ERR_INVALID;
	}
	if (principal_kind(group_id) != PRINCIPAL_GROUP)
		return PC_ERR_NOT_FOUND;
	return store_group_member_add(db, group_id, member_id, now, added);
}

int
group_member_remove(struct db *db, const char *group_id, const char *member_id)
{
	if (principal_kind(group_id) != PRINCIPAL_GROUP ||
	    principal_kind(member_id) == PRINCIPAL_NONE)
		return PC_ERR_NOT_FOUND;
	return store_group_member_remove(db, group_id, member_id);
}

int
group_delete(struct db *db, const char *id, int64_t now)
{
	if (principal_kind(id) != PRINCIPAL_GROUP)
		return PC_ERR_NOT_FOUND;
	return store_group_delete(db, id, now);
}

int
group_names_of(struct db *db, const char *member_id, char ***names, size_t *n)
{
	struct store_group *g = NULL;
	size_t all = 0, k;
	int r;

	*names = NULL;
	*n = 0;
	if ((r = store_groups_of(db, member_id, &g, &all)) != 0)
		return r;
	k = all;
	if (k > GROUP_CLAIM_MAX)
		k = GROUP_CLAIM_MAX; /* sorted by name: the same ones each time */
	if (k > 0) {
		*names = xcalloc(k, sizeof(**names));
		for (size_t i = 0; i < k; i++) {
			(*names)[i] = g[i].name;
			g[i].name = NULL;
		}
	}
	*n = k;
	store_groups_free(g, all);
	return 0;
}

int
group_get(struct db *db, const char *id, struct store_group *out)
{
	memset(out, 0, sizeof(*out));
	if (principal_kind(id) != PRINCIPAL_GROUP)
		return PC_ERR_NOT_FOUND;
	return store_group_get(db, id, out);
}

int
group_list(struct db *db, struct store_group **out, size_t *n)
{
	return store_groups_list(db, out, n);
}

int
group_members(struct db *db, const char *id, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (principal_kind(id) != PRINCIPAL_GROUP)
		return PC_ERR_NOT_FOUND;
	return store_group_members(db, id, out, n);
}

int
group_scopes_of(struct db *db, const char *member_id, struct scope_set *out)
{
	struct store_group *g = NULL;
	size_t n = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = store_groups_of(db, member_id, &g, &n)) != 0)
		return r;
	for (size_t i = 0; i < n; i++)
		scope_set_union(out, g[i].scopes);
	store_groups_free(g, n);
	return 0;
}
