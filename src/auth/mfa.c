/*
 * What protects an account, and the operator's reset (issue 16).
 */
#include <string.h>

#include "auth/mfa.h"
#include "store/store.h"

int
mfa_factors_get(struct db *db, const char *user_id, struct mfa_factors *out)
{
	struct store_mfa_factors f;
	int r;

	memset(out, 0, sizeof(*out));
	if (user_id == NULL || user_id[0] == '\0')
		return PC_ERR_INVALID;
	if ((r = store_mfa_factors(db, user_id, &f)) != 0)
		return r;
	out->totp = f.totp;
	out->passkeys = f.passkeys > 0 ? (unsigned)f.passkeys : 0;
	out->recovery_left =
	    f.recovery_left > 0 ? (unsigned)f.recovery_left : 0;
	return 0;
}

bool
mfa_has_factor(const struct mfa_factors *f)
{
	return f->totp || f->passkeys > 0;
}

int
mfa_reset(struct db *db, const char *user_id, const char *kind, size_t *removed)
{
	bool totp = kind == NULL || strcmp(kind, "totp") == 0;
	bool passkeys = kind == NULL || strcmp(kind, "passkey") == 0;
	bool recovery = kind == NULL || strcmp(kind, "recovery") == 0;
	int64_t n = 0;
	int r;

	if (removed != NULL)
		*removed = 0;
	if (user_id == NULL || user_id[0] == '\0' ||
	    !(totp || passkeys || recovery))
		return PC_ERR_INVALID;
	r = store_mfa_reset(db, user_id, totp, passkeys, recovery, &n);
	if (r == 0 && removed != NULL)
		*removed = (size_t)n;
	return r;
}
