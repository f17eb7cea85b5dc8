/*
 * API keys as pages see them (issue 14; AK-07): the account page lists,
 * creates and revokes a user's personal keys through these functions,
 * never through store rows (web/ may not touch the store), and a user
 * can only ever revoke a key of their own.
 */
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"
#include "store/store.h"

void
apikey_view_clear(struct apikey_view *v)
{
	free(v->name);
	free(v->scopes);
	free(v->resource_id);
	free(v->last_used_ip);
	memset(v, 0, sizeof(*v));
}

void
apikey_views_free(struct apikey_view *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		apikey_view_clear(&v[i]);
	free(v);
}

/* Moves k's fields into v (k is cleared). */
static void
take(struct apikey_view *v, struct store_api_key *k)
{
	memset(v, 0, sizeof(*v));
	apikey_public_id(k->key_id, v->id);
	v->name = k->name;
	v->scopes = k->scopes;
	v->resource_id = k->resource_id;
	v->last_used_ip = k->last_used_ip;
	k->name = k->scopes = k->resource_id = k->last_used_ip = NULL;
	v->created_at = k->created_at;
	v->expires_at = k->expires_at;
	v->revoked_at = k->revoked_at;
	v->last_used_at = k->last_used_at;
	store_api_key_clear(k);
}

int
apikey_views_of(
    struct db *db, const char *owner_id, struct apikey_view **out, size_t *n)
{
	struct store_api_key *v = NULL;
	size_t m = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = store_api_keys_list(db, owner_id, &v, &m)) != 0)
		return r;
	if (m > 0) {
		*out = xmalloc(m * sizeof(**out));
		for (size_t i = 0; i < m; i++)
			take(&(*out)[i], &v[i]);
	}
	free(v);
	*n = m;
	return 0;
}

int
apikey_create_view(struct db *db, const struct config *cfg,
    const struct apikey_request *rq, int64_t now, struct apikey_view *out,
    char key[APIKEY_MAX_LEN + 1], const char **why)
{
	struct store_api_key k;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = apikey_create(db, cfg, rq, now, &k, key, why)) != 0)
		return r;
	take(out, &k);
	return 0;
}

int
apikey_revoke_owned(struct db *db, const char *owner_id, const char *public_id,
    int64_t now, const char *reason, bool *changed)
{
	struct store_api_key k;
	int r;

	*changed = false;
	if ((r = apikey_get(db, public_id, &k)) != 0)
		return r;
	if (strcmp(k.owner_id, owner_id) != 0)
		r = PC_ERR_NOT_FOUND; /* someone else's: as if absent */
	else
		r = store_api_key_revoke(db, k.key_id, now, reason, changed);
	store_api_key_clear(&k);
	return r;
}
