/*
 * Delegation a person can see (issue 15; SECURITY.md TX-04, TX-08): the
 * resource (RFC 8707) of an authorization request, the lifetime of a
 * delegation to an agent, and the user's list of live delegations with
 * their revocation.
 *
 * An authorization request may name one registered resource; its tokens
 * are then for that resource alone (aud = the resource, TX-04), through
 * the code, the token family and every refresh. An agent must name one,
 * and only one it lists (client_may_target(), the one agent rule that
 * /authorize, /token and token exchange share). The scope is held to the
 * resource: the resource's scopes, plus the OpenID Connect ones, which
 * are about the sign-in and the grant rather than the resource.
 *
 * A delegation to an agent lasts what the user chose on the consent page,
 * at most delegation_ttl (and never beyond refresh_token_absolute): the
 * family ends then, and with it every token derived from it. Revoking a
 * delegation revokes its family: every access and refresh token of the
 * grant, and every token exchanged from them (they carry its gid), dies
 * at its next use (TX-08).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"
#include "oauth/domain.h"
#include "util/config.h"

/* Scopes about the sign-in and the grant, not about a resource. */
static bool
oidc_scope(const char *s)
{
	static const char *const v[] = { "openid", "profile", "email", "groups",
		"offline_access" };

	for (size_t i = 0; i < PC_NELEM(v); i++)
		if (strcmp(s, v[i]) == 0)
			return true;
	return false;
}

static enum authz_status
target_error(struct authz_error *e, const char *error, const char *why)
{
	e->error = error;
	e->why = why;
	return AUTHZ_REDIRECT;
}

/*
 * z->p.scope held to the resource's scopes (res_scopes): a scope outside
 * both them and the OpenID Connect ones is invalid_scope; with none of
 * the resource's asked for, the client's that the resource knows join.
 */
static enum authz_status
resource_scope(struct authz *z, const char *res_scopes, struct authz_error *e)
{
	struct scope_set have, known, may;
	enum authz_status st = AUTHZ_OK;
	bool any = false;
	struct buf b;

	if (scope_parse(z->p.scope, &have) != 0)
		return AUTHZ_UNAVAILABLE;
	if (scope_parse(res_scopes, &known) != 0) {
		scope_set_free(&have);
		return AUTHZ_UNAVAILABLE;
	}
	if (scope_parse(z->client.scopes, &may) != 0) {
		scope_set_free(&have);
		scope_set_free(&known);
		return AUTHZ_UNAVAILABLE;
	}
	for (size_t i = 0; i < have.n && st == AUTHZ_OK; i++) {
		if (scope_has(&known, have.v[i]))
			any = true;
		else if (!oidc_scope(have.v[i])) {
			scope_refused_desc(have.v[i],
			    "is not a scope of the resource", e->buf,
			    sizeof(e->buf));
			st = target_error(e, "invalid_scope", e->buf);
		}
	}
	/* None of the resource's asked for: the client's it knows. */
	for (size_t i = 0; st == AUTHZ_OK && !any && i < may.n; i++)
		if (scope_has(&known, may.v[i]) &&
		    !scope_has(&have, may.v[i]) && have.n < SCOPE_MAX)
			have.v[have.n++] = xstrdup(may.v[i]);
	if (st == AUTHZ_OK && !any) {
		bool some = false;

		for (size_t i = 0; i < have.n; i++)
			some |= scope_has(&known, have.v[i]);
		if (!some)
			st = target_error(e, "invalid_scope",
			    "No scope of the resource is allowed for this "
			    "client.");
	}
	if (st == AUTHZ_OK) {
		buf_init(&b, SCOPE_STRING_MAX + 1);
		if (scope_format(&have, &b) != 0 || b.len > SCOPE_STRING_MAX) {
			st = target_error(
			    e, "invalid_scope", "The scope is too long.");
		} else {
			free(z->p.scope);
			z->p.scope = xstrdup(buf_cstr(&b));
		}
		buf_free(&b);
	}
	scope_set_free(&have);
	scope_set_free(&known);
	scope_set_free(&may);
	return st;
}

enum authz_status
authz_target(struct app *app, const struct az_request *a, struct authz *z,
    char **scopes, struct authz_error *e)
{
	struct store_resource res;
	int rc;

	*scopes = NULL;
	if (a->resource == NULL) {
		if (client_is_agent(&z->client))
			return target_error(e, "invalid_target",
			    "An agent must name the resource it will act at "
			    "(the resource parameter).");
		return AUTHZ_OK;
	}
	rc = resource_get(app->db, a->resource, &res);
	if (rc == PC_ERR_NOT_FOUND)
		/* CR-06: only registered resources; saying nothing more. */
		return target_error(e, "invalid_target",
		    "The resource is not a registered resource.");
	if (rc != 0)
		return AUTHZ_UNAVAILABLE;
	if (!client_may_target(&z->client, res.id)) {
		store_resource_clear(&res);
		return target_error(e, "invalid_target",
		    "This agent may not act at this resource.");
	}
	z->p.resource = res.id;
	*scopes = res.scopes;
	res.id = NULL;
	res.scopes = NULL;
	store_resource_clear(&res);
	return AUTHZ_OK;
}

enum authz_status
authz_target_scope(struct authz *z, const char *scopes, struct authz_error *e)
{
	return scopes != NULL ? resource_scope(z, scopes, e) : AUTHZ_OK;
}

int64_t
delegation_max_ttl(const struct config *cfg)
{
	return cfg->delegation_ttl < cfg->refresh_token_absolute
	    ? cfg->delegation_ttl
	    : cfg->refresh_token_absolute;
}

int
delegation_ttl_parse(const struct config *cfg, const char *v, int64_t *out)
{
	int64_t max = delegation_max_ttl(cfg), t = 0;

	*out = max;
	if (v == NULL || v[0] == '\0')
		return 0;
	if (str_to_int64(str_from(v), DELEGATION_TTL_MIN, max, &t) != 0)
		return PC_ERR_INVALID;
	*out = t;
	return 0;
}

int
delegation_list(struct app *app, const char *user_id, int64_t now,
    struct store_delegation **out, size_t *n)
{
	return store_delegations_list(
	    app->db, user_id, now, DELEGATION_LIST_MAX, out, n);
}

int
delegation_revoke(struct app *app, const char *user_id, const char *family_id,
    int64_t now, char **client_id)
{
	*client_id = NULL;
	if (family_id == NULL ||
	    strnlen(family_id, STORE_FAMILY_ID_MAX) >= STORE_FAMILY_ID_MAX)
		return PC_ERR_NOT_FOUND;
	return store_delegation_revoke(
	    app->db, user_id, family_id, now, client_id);
}

int64_t
delegation_grant_life(const struct config *cfg, int64_t ends_at, int64_t now)
{
	int64_t life = cfg->refresh_token_absolute;

	if (ends_at > 0 && ends_at - now < life)
		life = ends_at - now > 1 ? ends_at - now : 1;
	return life;
}

int64_t
delegation_token_ttl(const struct config *cfg, int64_t grant_end, int64_t now)
{
	int64_t ttl = cfg->access_token_ttl;

	if (grant_end > 0 && grant_end - now < ttl)
		ttl = grant_end - now > 1 ? grant_end - now : 1;
	return ttl;
}

int
delegation_refresh_resource(
    struct db *db, const char *token, const char *resource, int64_t now)
{
	struct bearer_refresh cur;
	int rc = bearer_refresh_lookup(db, token, now, &cur);

	if (rc == PC_ERR_NOT_FOUND)
		return 0; /* the rotation refuses it (invalid_grant) */
	if (rc != 0)
		return rc;
	if (cur.family.resource == NULL ||
	    strcmp(cur.family.resource, resource) != 0)
		rc = PC_ERR_VERIFY;
	store_family_clear(&cur.family);
	return rc;
}

void
delegation_list_free(struct store_delegation *v, size_t n)
{
	store_delegations_free(v, n);
}

char *
delegation_resource_name(struct app *app, const char *uri)
{
	struct store_resource res;
	char *name = NULL;

	if (uri != NULL && resource_get(app->db, uri, &res) == 0) {
		if (res.name != NULL && strcmp(res.name, uri) != 0) {
			name = res.name;
			res.name = NULL;
		}
		store_resource_clear(&res);
	}
	return name;
}
