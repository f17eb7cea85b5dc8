/*
 * Liveness of machine principals (issue 14; SS-08 applied to machines):
 * a token minted for a service account, or through an API key or a
 * workload trust, stays alive only while its principal and credential
 * do. bearer_verify() asks here at every verification at our endpoints
 * (/userinfo, /introspect), so disabling, expiring or deleting a service
 * account — or disabling a key's owner — kills its tokens at the next
 * request on every node, with no deny-list to fill. A disable revokes
 * rather than pauses: tokens issued before it stay dead when the account
 * is enabled again. Resource servers that verify our JWTs offline see it
 * within the token's lifetime.
 */
#include <string.h>

#include "machine/machine.h"
#include "store/store.h"

/*
 * A principal a token may name as its sub; iat the token's (0: no token,
 * the principal alone).
 */
static int
principal_live(struct db *db, const char *sub, int64_t iat, int64_t now)
{
	struct store_sa_state st;
	int r;

	memset(&st, 0, sizeof(st));
	switch (principal_kind(sub)) {
	case PRINCIPAL_SERVICE_ACCOUNT:
		r = store_service_account_state(db, sub, &st);
		break;
	case PRINCIPAL_USER: {
		struct store_user u;

		r = store_user_get(db, sub, &u);
		if (r == 0) {
			st.disabled_at = u.disabled_at;
			store_user_clear(&u);
		}
		break;
	}
	default: return PC_ERR_VERIFY;
	}
	if (r == PC_ERR_NOT_FOUND)
		return PC_ERR_VERIFY; /* deleted: ids never come back */
	if (r != 0)
		return PC_ERR_STORE;
	if (st.disabled_at != 0 ||
	    (st.expires_at != 0 && now >= st.expires_at) ||
	    (iat != 0 && st.tokens_revoked_at != 0 &&
		iat <= st.tokens_revoked_at))
		return PC_ERR_VERIFY;
	return 0;
}

/* The credential the token was obtained through. */
static int
credential_live(struct db *db, const char *credential_id, int64_t now)
{
	(void)db;
	(void)now;
	if (credential_id == NULL)
		return 0;
	switch (principal_kind(credential_id)) {
	case PRINCIPAL_API_KEY:
		/* Exists, not revoked, not past expires_at, owner alive
		 * (src/machine/apikey.c): a revoked key's exchanged tokens
		 * die at their next check (AK-05). */
		return apikey_live(db, credential_id, now);
	case PRINCIPAL_WORKLOAD:
		/* The trust is still configured: deleting it kills every
		 * token minted through it at once. */
		return wif_trust_live(db, credential_id);
	default:
		/* A client (the token's client_id, signed by us): a bound
		 * client's tokens live with their service account, and
		 * deleting the account deletes its clients. */
		return 0;
	}
}

int
machine_token_live(struct db *db, const char *sub, const char *credential_id,
    int64_t iat, int64_t now)
{
	int r;

	if ((r = credential_live(db, credential_id, now)) != 0)
		return r;
	return principal_live(db, sub, iat, now);
}

int
machine_principal_live(
    struct db *db, const char *sub, const char *credential_id, int64_t now)
{
	return machine_token_live(db, sub, credential_id, 0, now);
}
