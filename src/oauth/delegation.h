/*
 * oauth/delegation.h: agents and the delegations people give them (issue
 * 15; SECURITY.md TX-04, TX-08). The questions every endpoint asks of a
 * client about agents (src/oauth/client.c), and the resource, lifetime,
 * list and revocation of a delegation (src/oauth/delegation.c). Included
 * at the end of oauth/domain.h.
 */
#ifndef PC_OAUTH_DELEGATION_H
#define PC_OAUTH_DELEGATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oauth/domain.h"

/* ---- Agents (src/oauth/client.c) ---- */

/*
 * Agents (issue 15): clients of kind "agent", acting for people. The
 * rules every endpoint applies to them are these functions, one place
 * for /authorize, /token and token exchange.
 */
#define CLIENT_KIND_CLIENT "client"
#define CLIENT_KIND_AGENT "agent"
#define AGENT_RESOURCES_MAX 16 /* resource URIs an agent may list */
#define AGENT_DEPTH_MAX 16     /* its max_delegation_depth at most */
/* c is an agent (kind "agent"). */
bool client_is_agent(const struct store_client *c);
/* c was disabled (disabled_at set): it may not authenticate, start an
 * authorization or act in a delegation chain. */
bool client_disabled(const struct store_client *c);
/* c registered itself (registration not "operator"): consent pages mark
 * it unverified (CR-01, CR-05). */
bool client_unverified(const struct store_client *c);
/*
 * Whether c may obtain tokens for the resource uri (already known to be
 * registered; TX-04): an agent only for a resource on its list; any
 * other client for any registered resource.
 */
bool client_may_target(const struct store_client *c, const char *uri);
/*
 * The longest delegation chain (nested act objects) a token held by c
 * may reach, given the server's cap (delegation_max_depth): an agent's
 * own max_delegation_depth within the cap; another client's, the cap.
 */
int64_t client_max_depth(const struct store_client *c, int64_t cap);
/* Whether c may pass what it was delegated on to another agent (a
 * token for another agent's use, may_act): an agent with may_delegate. */
bool client_may_delegate(const struct store_client *c);

/* ---- end Agents ---- */

/* ---- Delegation (src/oauth/delegation.c; issue 15, TX-04, TX-08) ---- */

#define DELEGATION_TTL_MIN 60	/* s: the shortest a user may choose */
#define DELEGATION_LIST_MAX 100 /* delegations the account page lists */

/*
 * The resource of an authorization request (RFC 8707, TX-04), before the
 * scope is granted: a->resource must be a registered resource (else
 * invalid_target, saying nothing more; CR-06) that the client may target
 * (client_may_target: an agent only one it lists); an agent must name
 * one. z->p.resource gets it and *scopes (malloc'd, the caller frees;
 * NULL without a resource) the resource's scopes, for
 * authz_target_scope(). Without a resource (and not an agent) nothing
 * changes. AUTHZ_REDIRECT with e set, or AUTHZ_UNAVAILABLE.
 */
enum authz_status authz_target(struct app *app, const struct az_request *a,
    struct authz *z, char **scopes, struct authz_error *e);
/*
 * After the scope was granted (AZ-10), z->p.scope held to the resource's
 * scopes (NULL: no resource, nothing to do): a scope that is neither the
 * resource's nor an OpenID Connect one (openid, profile, email, groups,
 * offline_access) is invalid_scope; with none of the resource's asked
 * for, the client's scopes that the resource knows are added (none:
 * invalid_scope).
 */
enum authz_status
authz_target_scope(struct authz *z, const char *scopes, struct authz_error *e);
/* The longest delegation a user may give an agent now:
 * min(delegation_ttl, refresh_token_absolute), in seconds. */
int64_t delegation_max_ttl(const struct config *cfg);
/* The lifetime chosen on the consent page: v seconds within
 * [DELEGATION_TTL_MIN, delegation_max_ttl()]; NULL or "": the maximum.
 * PC_ERR_INVALID for anything else. */
int delegation_ttl_parse(
    const struct config *cfg, const char *v, int64_t *out) PC_WUR;
/* The user's live delegations (store_delegations_list), newest first, at
 * most DELEGATION_LIST_MAX. delegation_list_free them. */
int delegation_list(struct app *app, const char *user_id, int64_t now,
    struct store_delegation **out, size_t *n) PC_WUR;
/*
 * Revokes the user's delegation family_id (its token family: every token
 * of the grant and every token derived from it; TX-08). 0 with
 * *client_id (malloc'd) the client that held it; PC_ERR_NOT_FOUND when
 * it is not the user's, unknown or revoked already; or a store error.
 */
int delegation_revoke(struct app *app, const char *user_id,
    const char *family_id, int64_t now, char **client_id) PC_WUR;

void delegation_list_free(struct store_delegation *v, size_t n);
/* The name of the registered resource uri for a page (malloc'd), or NULL
 * when it has none besides its URI (or cannot be read now). */
char *delegation_resource_name(struct app *app, const char *uri);
/*
 * The lifetime of a new grant (its family): refresh_token_absolute, or
 * less when it ends at ends_at (a delegation's end chosen at consent;
 * 0: none). At least 1 s.
 */
int64_t
delegation_grant_life(const struct config *cfg, int64_t ends_at, int64_t now);
/* Whether a code grant gets a refresh token (OI-09, decision 0062): the
 * client may refresh, and scope has offline_access or the grant is for a
 * resource (a delegation: its consent page says how long it lasts). */
bool delegation_refreshable(
    const char *scope, const char *resource, const char *grant_types);
/* An access token's lifetime: access_token_ttl, never beyond its grant's
 * end (grant_end; 0: no end known). At least 1 s. */
int64_t
delegation_token_ttl(const struct config *cfg, int64_t grant_end, int64_t now);
/* ---- end Delegation ---- */

#endif
