/*
 * What an API key may hold and use (issue 14; SECURITY.md AK-04): the
 * rules for a new key's scopes and resource, and the scopes a key may use
 * at a resource at the moment it is used. A key never widens what its
 * owner may do: a service account's key stays within the account's
 * scopes and resources as they are at each use (its groups may shrink),
 * a personal key within what some registered resource offers, and a key
 * confined to a resource works there only. The admin API's scopes
 * (admin:*, decision 0070) are the exception for personal keys: a user
 * holds them only through the groups an operator put them in, checked
 * when the key is made and again at every use.
 */
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"
#include "oauth/proto.h"
#include "store/store.h"

static void
set_why(const char **why, const char *text)
{
	if (why != NULL)
		*why = text;
}

/* The scopes the service account may hold now; *sa filled when not NULL
 * (store_service_account_clear it). */
static int
sa_scopes(struct db *db, const char *id, struct store_service_account *sa,
    struct scope_set *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = store_service_account_get(db, id, sa)) != 0)
		return r;
	if ((r = service_account_scopes(db, sa, out)) != 0)
		store_service_account_clear(sa);
	return r;
}

/* Whether every scope of want is offered by some registered resource. */
static int
offered(struct db *db, const struct scope_set *want, const char **why)
{
	struct store_resource *v = NULL;
	size_t n = 0;
	int r;

	if ((r = resource_list(db, &v, &n)) != 0)
		return r;
	for (size_t i = 0; r == 0 && i < want->n; i++) {
		bool found = false;

		for (size_t j = 0; !found && j < n; j++) {
			struct scope_set rs;

			if (scope_parse(v[j].scopes, &rs) != 0)
				continue;
			found = scope_has(&rs, want->v[i]);
			scope_set_free(&rs);
		}
		if (!found) {
			set_why(why,
			    "a scope is offered by no registered "
			    "resource");
			r = PC_ERR_INVALID;
		}
	}
	store_resources_free(v, n);
	return r;
}

/* want within the registered resource uri's scopes. */
static int
within_resource(struct db *db, const char *uri, const struct scope_set *want,
    const char **why)
{
	struct store_resource res;
	struct scope_set rs;
	int r;

	r = resource_get(db, uri, &res);
	if (r == PC_ERR_NOT_FOUND) {
		set_why(why, "no resource is registered under that URI");
		return PC_ERR_INVALID;
	}
	if (r != 0)
		return r;
	r = scope_parse(res.scopes, &rs);
	store_resource_clear(&res);
	if (r != 0)
		return PC_ERR_INTERNAL;
	if (scope_first_missing(want, &rs) != NULL) {
		set_why(why, "a scope is not one of the resource's");
		r = PC_ERR_INVALID;
	}
	scope_set_free(&rs);
	return r;
}

static int
within_sa(struct db *db, const struct apikey_request *rq,
    const struct scope_set *want, const char **why)
{
	struct store_service_account sa;
	struct scope_set allowed;
	int r;

	r = sa_scopes(db, rq->owner_id, &sa, &allowed);
	if (r == PC_ERR_NOT_FOUND) {
		set_why(why, "the owner does not exist or is disabled");
		return PC_ERR_INVALID;
	}
	if (r != 0)
		return r;
	if (rq->resource_id != NULL &&
	    !service_account_resource_allowed(&sa, rq->resource_id)) {
		set_why(why, "the service account may not reach that resource");
		r = PC_ERR_INVALID;
	} else if (scope_first_missing(want, &allowed) != NULL) {
		set_why(why, "a scope is not among the service account's");
		r = PC_ERR_INVALID;
	}
	store_service_account_clear(&sa);
	scope_set_free(&allowed);
	return r;
}

static bool
is_admin_scope(const char *s)
{
	return strncmp(s, "admin:", 6) == 0;
}

/* Every admin: scope of want is granted by user_id's groups. */
static int
admin_granted(struct db *db, const char *user_id, const struct scope_set *want,
    const char **why)
{
	struct scope_set g;
	int r;

	if ((r = group_scopes_of(db, user_id, &g)) != 0)
		return r;
	for (size_t i = 0; r == 0 && i < want->n; i++)
		if (is_admin_scope(want->v[i]) && !scope_has(&g, want->v[i])) {
			set_why(why,
			    "an admin: scope the user's groups do not grant");
			r = PC_ERR_INVALID;
		}
	scope_set_free(&g);
	return r;
}

int
apikey_scopes_check(
    struct db *db, const struct apikey_request *rq, const char **why)
{
	struct scope_set want;
	int r = 0;

	if (rq->scopes == NULL || scope_parse(rq->scopes, &want) != 0) {
		set_why(why, "the scope list is malformed");
		return PC_ERR_INVALID;
	}
	if (want.n == 0) {
		set_why(why, "a key needs at least one scope");
		r = PC_ERR_INVALID;
	} else if (scope_has(&want, "openid") ||
	    scope_has(&want, "offline_access")) {
		/* They are about a signed-in person, not an API. */
		set_why(
		    why, "openid and offline_access are not API-key scopes");
		r = PC_ERR_INVALID;
	} else if (rq->resource_id != NULL) {
		r = within_resource(db, rq->resource_id, &want, why);
	} else if (principal_kind(rq->owner_id) == PRINCIPAL_USER) {
		r = offered(db, &want, why);
	}
	if (r == 0 && principal_kind(rq->owner_id) == PRINCIPAL_SERVICE_ACCOUNT)
		r = within_sa(db, rq, &want, why);
	if (r == 0 && principal_kind(rq->owner_id) == PRINCIPAL_USER)
		r = admin_granted(db, rq->owner_id, &want, why);
	scope_set_free(&want);
	return r;
}

int
apikey_usable_scopes(struct db *db, const struct store_api_key *k,
    const char *resource_id, const char *resource_scopes, struct scope_set *out)
{
	struct store_service_account sa;
	struct scope_set key, known, owner, granted;
	bool is_sa = principal_kind(k->owner_id) == PRINCIPAL_SERVICE_ACCOUNT;
	int r = 0;

	memset(out, 0, sizeof(*out));
	memset(&owner, 0, sizeof(owner));
	memset(&granted, 0, sizeof(granted));
	if (k->resource_id != NULL && strcmp(k->resource_id, resource_id) != 0)
		return PC_ERR_VERIFY;
	if (scope_parse(k->scopes, &key) != 0)
		return PC_ERR_INTERNAL;
	if (scope_parse(resource_scopes, &known) != 0) {
		scope_set_free(&key);
		return PC_ERR_INTERNAL;
	}
	if (is_sa) {
		r = sa_scopes(db, k->owner_id, &sa, &owner);
		if (r == PC_ERR_NOT_FOUND)
			r = PC_ERR_VERIFY;
		if (r == 0) {
			if (!service_account_resource_allowed(&sa, resource_id))
				r = PC_ERR_VERIFY;
			store_service_account_clear(&sa);
		}
	}
	/* A person's admin: scopes: what the groups grant now. */
	if (r == 0 && !is_sa)
		r = group_scopes_of(db, k->owner_id, &granted);
	for (size_t i = 0; r == 0 && i < key.n; i++)
		if (scope_has(&known, key.v[i]) &&
		    (!is_sa || scope_has(&owner, key.v[i])) &&
		    (is_sa || !is_admin_scope(key.v[i]) ||
			scope_has(&granted, key.v[i])))
			out->v[out->n++] = xstrdup(key.v[i]);
	scope_set_free(&key);
	scope_set_free(&known);
	scope_set_free(&owner);
	scope_set_free(&granted);
	return r;
}
