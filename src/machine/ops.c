/*
 * Service accounts and workload-federation trusts read and removed
 * through the domain (src/machine/machine_ops.h; issue 17 item 1).
 */
#include <string.h>

#include "machine/machine.h"
#include "machine/machine_ops.h"
#include "store/store.h"
#include "store/store_federation.h"
#include "store/store_sa.h"

int
service_account_get(
    struct db *db, const char *id, struct store_service_account *out)
{
	memset(out, 0, sizeof(*out));
	if (principal_kind(id) != PRINCIPAL_SERVICE_ACCOUNT)
		return PC_ERR_NOT_FOUND;
	return store_service_account_get(db, id, out);
}

int
service_account_list(
    struct db *db, struct store_service_account **out, size_t *n)
{
	return store_service_accounts_list(db, out, n);
}

int
service_account_client_ids(
    struct db *db, const char *id, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (principal_kind(id) != PRINCIPAL_SERVICE_ACCOUNT)
		return PC_ERR_NOT_FOUND;
	return store_service_account_clients(db, id, out, n);
}

int
wif_trust_get(struct db *db, const char *id, struct store_wif_trust *out)
{
	memset(out, 0, sizeof(*out));
	if (principal_kind(id) != PRINCIPAL_WORKLOAD)
		return PC_ERR_NOT_FOUND;
	return store_wif_trust_get(db, id, out);
}

int
wif_trust_list(struct db *db, struct store_wif_trust **out, size_t *n)
{
	return store_wif_trusts_list(db, out, n);
}

int
wif_trust_delete(struct db *db, const char *id)
{
	int r;

	if (principal_kind(id) != PRINCIPAL_WORKLOAD)
		return PC_ERR_NOT_FOUND;
	if ((r = store_wif_trust_delete(db, id)) == 0)
		wif_jwks_cache_clear();
	return r;
}

int
wif_rule_remove(struct db *db, const char *trust_id, int64_t rule_no)
{
	if (principal_kind(trust_id) != PRINCIPAL_WORKLOAD || rule_no <= 0)
		return PC_ERR_NOT_FOUND;
	return store_wif_rule_remove(db, trust_id, rule_no);
}
