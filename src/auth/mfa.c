/*
 * What protects an account, the operator's reset, the amr -> acr mapping
 * and the mfa = required policy with its enrolment grace (issue 16;
 * docs/mfa.md, decision 0069). /authorize's step-up (oauth/authz.c) and
 * the end of every sign-in (web/signin.c) ask here.
 */
#include <string.h>

#include "auth/mfa.h"
#include "store/store.h"
#include "util/config.h"

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

/* ---- amr and acr (docs/mfa.md, decision 0069) ---- */

bool
mfa_amr_has(const char *amr, const char *method)
{
	size_t n = strlen(method);

	for (const char *p = amr; p != NULL && *p != '\0';) {
		size_t w = strcspn(p, " ");

		if (w == n && memcmp(p, method, n) == 0)
			return true;
		p += w;
		p += strspn(p, " ");
	}
	return false;
}

const char *
mfa_acr(const char *amr)
{
	bool mfa;

	if (amr == NULL || amr[0] == '\0')
		return NULL;
	mfa = mfa_amr_has(amr, AMR_MFA);
	/* A passkey is bound to our origin: a sign-in it took part in
	 * cannot be relayed by a phishing site (OIDC EAP "phr"). */
	if (mfa && (mfa_amr_has(amr, AMR_HWK) || mfa_amr_has(amr, AMR_SWK)))
		return ACR_PHR;
	return mfa ? ACR_MFA : ACR_PWD;
}

int
mfa_acr_rank(const char *acr, size_t len)
{
	static const char *const v[] = { ACR_PWD, ACR_MFA, ACR_PHR };

	for (size_t i = 0; i < PC_NELEM(v); i++)
		if (strlen(v[i]) == len && memcmp(v[i], acr, len) == 0)
			return (int)i + 1;
	return 0;
}

/* ---- the policy mfa = required ---- */

int
mfa_grace_open(struct db *db, const struct config *cfg, const char *user_id,
    int64_t now, bool *open)
{
	struct store_user u;
	int64_t reset_ms = 0, from;
	int r;

	*open = true;
	if (strcmp(cfg->mfa, "required") != 0)
		return 0;
	*open = false;
	if ((r = store_user_get(db, user_id, &u)) != 0)
		return r;
	from = u.created_at;
	store_user_clear(&u);
	/* The operator's reset (src/cli/user_mfa.c, actor "cli") lets the
	 * user in once more to enrol new factors. */
	if ((r = store_audit_actor_last(
		 db, "cli", user_id, "mfa.reset", &reset_ms)) != 0)
		return r;
	if (reset_ms / 1000 > from)
		from = reset_ms / 1000;
	*open = now < from + cfg->mfa_enrol_grace;
	return 0;
}

int
mfa_signin_allowed(struct db *db, const struct config *cfg, const char *user_id,
    const char *amr, int64_t now, bool *ok)
{
	struct mfa_factors f;
	int r;

	*ok = true;
	if (strcmp(cfg->mfa, "required") != 0 || mfa_amr_has(amr, AMR_MFA))
		return 0;
	*ok = false;
	if ((r = mfa_factors_get(db, user_id, &f)) != 0)
		return r;
	/* With a factor, the factor step (or /authorize's step-up) asks
	 * for it; this is about accounts that have none. */
	if (mfa_has_factor(&f)) {
		*ok = true;
		return 0;
	}
	return mfa_grace_open(db, cfg, user_id, now, ok);
}

int
mfa_detail(struct db *db, const char *user_id, struct store_mfa_detail *out)
{
	return store_mfa_detail(db, user_id, out);
}
