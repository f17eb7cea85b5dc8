/*
 * The defaults a new client or agent takes from what it is bound to, and
 * a resource registered with its own introspection client: one place for
 * the CLI (src/cli/client.c, agent.c, resource.c) and the admin API
 * (src/admin/clients.c, agents.c, resources.c).
 */
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"
#include "oauth/oauth.h"
#include "util/log.h"
#include "store/store.h"

static void
set_str(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

int
client_bound_defaults(
    struct db *db, struct store_client *c, bool grant_given, bool scope_given)
{
	struct store_service_account sa;
	int r;

	if (c->service_account_id == NULL)
		return 0;
	if (!grant_given)
		set_str(&c->grant_types, "client_credentials");
	if (scope_given ||
	    principal_kind(c->service_account_id) != PRINCIPAL_SERVICE_ACCOUNT)
		return 0; /* client_create says what is wrong with the id */
	r = store_service_account_get(db, c->service_account_id, &sa);
	if (r == PC_ERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return r;
	set_str(&c->scopes, sa.scopes);
	store_service_account_clear(&sa);
	return 0;
}

/* Adds the scopes of the registered resource uri (len bytes) to all. */
static int
add_resource_scopes(
    struct db *db, const char *uri, size_t len, struct scope_set *all)
{
	char *id = xstrndup(uri, len);
	struct store_resource res;
	struct scope_set one;
	int r = resource_get(db, id, &res);

	free(id);
	if (r == PC_ERR_NOT_FOUND)
		return 0; /* client_create refuses it, saying why */
	if (r != 0)
		return r;
	if (scope_parse(res.scopes, &one) == 0) {
		for (size_t i = 0; i < one.n; i++)
			if (!scope_has(all, one.v[i]) && all->n < SCOPE_MAX)
				all->v[all->n++] = xstrdup(one.v[i]);
		scope_set_free(&one);
	}
	store_resource_clear(&res);
	return 0;
}

int
client_agent_default_scope(struct db *db, struct store_client *c)
{
	struct scope_set all = { { NULL }, 0 };
	struct buf b;
	int r = 0;

	if (c->scopes != NULL || c->resources == NULL)
		return 0;
	for (const char *p = c->resources; p != NULL && r == 0;) {
		const char *sp = strchr(p, ' ');

		r = add_resource_scopes(
		    db, p, sp != NULL ? (size_t)(sp - p) : strlen(p), &all);
		p = sp != NULL ? sp + 1 : NULL;
	}
	if (r != 0) {
		scope_set_free(&all);
		return r;
	}
	if (oauth_has_word(c->grant_types, "refresh_token") &&
	    all.n < SCOPE_MAX)
		all.v[all.n++] = xstrdup("offline_access");
	buf_init(&b, SCOPE_STRING_MAX + 1);
	if (all.n > 0 && scope_format(&all, &b) == 0)
		c->scopes = xstrdup(buf_cstr(&b));
	buf_free(&b);
	scope_set_free(&all);
	return 0;
}

int
resource_register(struct db *db, struct store_resource *res, int64_t now,
    char secret[CLIENT_SECRET_LEN + 1], bool *client_created, const char **why)
{
	struct store_resource old;
	struct store_client c;
	int r;

	secret[0] = '\0';
	*client_created = false;
	/* What can be refused is refused before a client is made. */
	if ((r = resource_uri_check(res->id, why)) != 0 ||
	    (r = resource_scopes_check(res->scopes, why)) != 0)
		return r;
	r = resource_get(db, res->id, &old);
	if (r == 0) {
		store_resource_clear(&old);
		*why = "a resource with this id exists";
		return PC_ERR_CONFLICT;
	}
	if (r != PC_ERR_NOT_FOUND)
		return r;
	if (res->name == NULL)
		res->name = xstrdup(res->id);
	if (res->client_id == NULL) {
		/* A confidential client that only introspects. */
		memset(&c, 0, sizeof(c));
		c.name = xstrdup(res->name);
		c.auth_method = xstrdup("client_secret_basic");
		c.grant_types = xstrdup("");
		c.scopes = xstrdup(res->scopes);
		c.id_token_on_refresh = true;
		r = client_create(db, &c, now, secret, why);
		if (r == 0)
			res->client_id = xstrdup(c.client_id);
		store_client_clear(&c);
		if (r != 0)
			return r;
		*client_created = true;
	}
	r = resource_create(db, res, now, why);
	if (r != 0 && *client_created) {
		/* The client made for it has no purpose without it. */
		secret[0] = '\0';
		if (store_client_delete(db, res->client_id, now) != 0)
			log_msg(LOG_ERROR, "resource.client_orphaned",
			    res->client_id);
		*client_created = false;
	}
	return r;
}
