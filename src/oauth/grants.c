/*
 * What the HTML pages (src/web/) need of OAuth grants and clients: the
 * account page lists the applications a user allowed and revokes one
 * (RT-05), and RP-Initiated Logout finds the client a request names and
 * checks its post-logout URI (AZ-03). Handlers call these, never the
 * store.
 */
#include <stdlib.h>
#include <string.h>

#include "oauth/oauth.h"
#include "store/store.h"

int
consent_list_user(
    struct db *db, const char *user_id, struct consent_entry **out, size_t *n)
{
	struct store_consent *v = NULL;
	size_t count = 0, k = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = store_consents_list(db, user_id, &v, &count)) != 0)
		return r;
	if (count > 0)
		*out = xcalloc(count, sizeof(**out));
	for (size_t i = 0; i < count; i++) {
		struct store_client c;

		memset(&c, 0, sizeof(c));
		r = store_client_get(db, v[i].client_id, &c);
		/* A client deleted meanwhile takes its consent with it. */
		if (r == PC_ERR_NOT_FOUND) {
			store_client_clear(&c);
			continue;
		}
		if (r != 0) {
			store_client_clear(&c);
			consent_entries_free(*out, k);
			*out = NULL;
			store_consents_free(v, count);
			return r;
		}
		(*out)[k].client_id = v[i].client_id;
		(*out)[k].scope = v[i].scope;
		(*out)[k].granted_at = v[i].granted_at;
		(*out)[k].client_name = c.name;
		v[i].client_id = v[i].scope = NULL;
		c.name = NULL;
		store_client_clear(&c);
		k++;
	}
	store_consents_free(v, count);
	if (k == 0) {
		free(*out);
		*out = NULL;
	}
	*n = k;
	return 0;
}

void
consent_entries_free(struct consent_entry *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].client_id);
		free(v[i].client_name);
		free(v[i].scope);
	}
	free(v);
}

int
consent_revoke_user(struct db *db, const char *user_id, const char *client_id,
    int64_t now, int64_t *families)
{
	return store_consent_revoke(db, user_id, client_id, now, families);
}

int
client_find(struct db *db, const char *client_id, struct store_client *out)
{
	memset(out, 0, sizeof(*out));
	if (!client_id_valid(client_id) && !client_id_is_url(client_id))
		return PC_ERR_NOT_FOUND;
	return store_client_get(db, client_id, out);
}

void
client_clear(struct store_client *c)
{
	store_client_clear(c);
}

bool
client_post_logout_uri_registered(const struct store_client *c, const char *uri)
{
	for (size_t i = 0; uri != NULL && i < c->n_post_logout_uris; i++)
		if (strcmp(c->post_logout_uris[i], uri) == 0)
			return true;
	return false;
}
