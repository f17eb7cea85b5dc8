/*
 * Reading and removing clients through the domain (issue 17 item 1): the
 * admin API's client and agent routes call these, never the store (its
 * checksrc domain boundary). A malformed id is PC_ERR_NOT_FOUND before
 * any store access.
 */
#include <string.h>

#include <sodium.h>

#include "oauth/oauth.h"
#include "store/store.h"
#include "store/store_delegations.h"

int
client_read(struct db *db, const char *id, struct store_client *out)
{
	memset(out, 0, sizeof(*out));
	if (!client_id_valid(id))
		return PC_ERR_NOT_FOUND;
	return store_client_get(db, id, out);
}

int
client_read_all(struct db *db, struct store_client **out, size_t *n)
{
	return store_clients_list(db, out, n);
}

int
client_remove(struct db *db, const char *id, int64_t now)
{
	if (!client_id_valid(id))
		return PC_ERR_NOT_FOUND;
	return store_client_delete(db, id, now);
}

int
client_take_down(
    struct db *db, const char *id, bool del, int64_t now, int64_t *families)
{
	if (!client_id_valid(id))
		return PC_ERR_NOT_FOUND;
	return del ? store_client_delete_revoking(db, id, now, families)
		   : store_client_disable(db, id, now, families);
}

size_t
client_secrets_active(struct db *db, const char *id, int64_t now)
{
	struct store_client_secret v[STORE_CLIENT_SECRETS_MAX];
	size_t n = 0;

	if (!client_id_valid(id) ||
	    store_client_secrets_get(db, id, now, v, &n) != 0)
		n = 0;
	sodium_memzero(v, sizeof(v));
	return n;
}
