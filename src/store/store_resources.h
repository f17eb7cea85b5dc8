/*
 * The store's resources table (migration 0023; issue 14 item 2, RFC 8707):
 * the APIs that accept our access tokens, each named by its resource URI,
 * with its scopes and the client it introspects with. Included at the end
 * of store.h. Validation lives in src/machine/resource.c.
 */
#ifndef PC_STORE_RESOURCES_H
#define PC_STORE_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* ---- Resources (store/resources.c) ---- */

struct store_resource {
	char *id; /* the resource URI: the aud of its tokens */
	char *name;
	char *scopes;	 /* space-separated, at least one */
	char *client_id; /* NULL: no introspection credentials */
	int64_t created_at;
	int64_t updated_at;
	/* Its tokens must be DPoP-bound (RFC 9728
	 * dpop_bound_access_tokens_required; issue 15). */
	bool dpop_required;
};

void store_resource_clear(struct store_resource *r);
void store_resources_free(struct store_resource *v, size_t n);
/*
 * Inserts r. PC_ERR_CONFLICT when the id exists, or when r->client_id is
 * already bound to another resource or names no client.
 */
int store_resource_insert(struct db *db, const struct store_resource *r) PC_WUR;
/* PC_ERR_NOT_FOUND when absent. */
int store_resource_get(
    struct db *db, const char *id, struct store_resource *out) PC_WUR;
/* The resource client_id introspects for; PC_ERR_NOT_FOUND: none. */
int store_resource_get_by_client(
    struct db *db, const char *client_id, struct store_resource *out) PC_WUR;
/* All resources, ordered by id. */
int store_resources_list(
    struct db *db, struct store_resource **out, size_t *n) PC_WUR;
/* Writes r's name, scopes, dpop_required and updated_at (the id and the
 * bound client do not change). PC_ERR_NOT_FOUND when absent. */
int store_resource_update(struct db *db, const struct store_resource *r) PC_WUR;
/* PC_ERR_NOT_FOUND when absent. The bound client stays (delete it
 * separately if it should go). */
int store_resource_delete(struct db *db, const char *id) PC_WUR;

/* ---- end Resources ---- */

#endif
