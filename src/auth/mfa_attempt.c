/*
 * The per-account second-factor failure counter (SECURITY.md MF-03 and
 * Part 2 "TOTP failures"): the policy; src/store/mfa_state.c counts.
 *
 * Every code tried at the factor step is counted as a failure before it is
 * checked, in the transaction that reads the limits, so a burst of N
 * guesses counts N whatever node they reach; a correct factor takes the
 * count back to 0. A correct password never touches it: the step is only
 * reachable after the password, so re-entering it cannot buy new guesses.
 * For the same reason only someone who knows the password can make the
 * counter fire: it is not a lockout an outsider can trigger.
 *
 *   failures before the attempt   what happens
 *   0..4                          checked at once
 *   5..                           checked once mfa_backoff_base *
 *                                 2^(n-5) (capped at mfa_backoff_max)
 *                                 has passed since the last one
 *   20..                          TOTP refused (recovery codes, passkeys
 *                                 still work; a recovery code lifts it)
 *   100                           nothing is checked: operator reset
 */
#include <string.h>

#include "auth/mfa.h"
#include "store/store.h"
#include "util/config.h"

struct decide {
	const struct config *cfg;
	int64_t now;
	struct mfa_verdict *v;
};

/* The delay after the n-th consecutive failure (n >= MFA_BACKOFF_AFTER). */
static int64_t
backoff(const struct config *cfg, int64_t n)
{
	int64_t base = cfg != NULL && cfg->mfa_backoff_base > 0
	    ? cfg->mfa_backoff_base
	    : 30;
	int64_t max = cfg != NULL && cfg->mfa_backoff_max > 0
	    ? cfg->mfa_backoff_max
	    : 3600;
	int64_t d = base;

	for (int64_t i = MFA_BACKOFF_AFTER; i < n && d < max; i++)
		d *= 2;
	return d < max ? d : max;
}

static bool
decide(
    void *arg, const struct store_mfa_state *seen, struct store_mfa_state *next)
{
	struct decide *d = arg;
	struct mfa_verdict *v = d->v;
	int64_t n = seen->failures + 1;

	/* The store may run the transaction again: start from nothing. */
	memset(v, 0, sizeof(*v));
	v->totp_suspended =
	    seen->totp_suspended_at != 0 || seen->failures >= MFA_SUSPEND_AFTER;
	if (seen->failures >= MFA_LOCK_AFTER) {
		v->locked = true;
		v->failures = seen->failures;
		return false;
	}
	if (d->now < seen->blocked_until) {
		v->retry_after = seen->blocked_until - d->now;
		v->failures = seen->failures;
		return false;
	}
	/* The attempt is a failure until mfa_attempt_ok() says otherwise:
	 * the next one waits as if it were. */
	next->blocked_until =
	    n >= MFA_BACKOFF_AFTER ? d->now + backoff(d->cfg, n) : 0;
	next->totp_suspended_at = v->totp_suspended
	    ? (seen->totp_suspended_at != 0 ? seen->totp_suspended_at : d->now)
	    : 0;
	v->failures = n;
	return true;
}

int
mfa_attempt_begin(struct db *db, const struct config *cfg, const char *user_id,
    int64_t now, struct mfa_verdict *out)
{
	struct decide d;
	bool allowed = false;
	int r;

	memset(out, 0, sizeof(*out));
	d = (struct decide){ cfg, now, out };
	if (user_id == NULL || user_id[0] == '\0')
		return PC_ERR_INVALID;
	r = store_mfa_attempt_begin(
	    db, user_id, now, decide, &d, &allowed, NULL);
	if (r != 0) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	out->allowed = allowed;
	if (allowed)
		out->retry_after = 0;
	else if (!out->locked && out->retry_after < 1)
		out->retry_after = 1;
	return 0;
}

int
mfa_attempt_ok(struct db *db, const char *user_id, bool recovery)
{
	if (user_id == NULL || user_id[0] == '\0')
		return PC_ERR_INVALID;
	return store_mfa_attempt_ok(db, user_id, recovery);
}

bool
mfa_failure_notifies(int64_t failures)
{
	return failures == MFA_BACKOFF_AFTER || failures == MFA_SUSPEND_AFTER ||
	    failures == MFA_LOCK_AFTER;
}

int
mfa_attempt_notified(struct db *db, const char *user_id, int64_t now)
{
	if (user_id == NULL || user_id[0] == '\0')
		return PC_ERR_INVALID;
	return store_mfa_notified(db, user_id, now);
}
