/*
 * What protects an account, and the operator's reset (migration 0032;
 * issue 16). The rules live in src/auth/mfa.c.
 */
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

int
store_mfa_factors(
    struct db *db, const char *user_id, struct store_mfa_factors *out)
{
	int64_t totp = 0;
	int r;

	memset(out, 0, sizeof(*out));
	r = store_one(db,
	    "SELECT"
	    " (SELECT COUNT(*) FROM totp_credentials"
	    "   WHERE user_id = ? AND activated_at IS NOT NULL),"
	    " (SELECT COUNT(*) FROM webauthn_credentials"
	    "   WHERE user_id = ? AND cloned_at IS NULL),"
	    " (SELECT COUNT(*) FROM recovery_codes"
	    "   WHERE user_id = ? AND used_at IS NULL)",
	    Q_ARGS(QA_TEXT(user_id), QA_TEXT(user_id), QA_TEXT(user_id)),
	    Q_COLS(QC_INT(&totp), QC_INT(&out->passkeys),
		QC_INT(&out->recovery_left)));
	out->totp = totp > 0;
	return r;
}

struct reset {
	const char *user_id;
	bool totp, passkeys, recovery;
	int64_t removed;
};

static int
reset_tx(struct db_conn *c, void *arg)
{
	struct reset *a = arg;
	int64_t n;
	int r;

	a->removed = 0;
	if (a->totp) {
		if ((r = q_exec(c,
			 "DELETE FROM totp_credentials WHERE user_id = ?"
			 " RETURNING 1",
			 Q_ARGS(QA_TEXT(a->user_id)), &n)) != 0)
			return r;
		a->removed += n;
	}
	if (a->passkeys) {
		if ((r = q_exec(c,
			 "DELETE FROM webauthn_credentials WHERE user_id = ?"
			 " RETURNING 1",
			 Q_ARGS(QA_TEXT(a->user_id)), &n)) != 0)
			return r;
		a->removed += n;
		if ((r = q_exec(c,
			 "DELETE FROM webauthn_challenges WHERE user_id = ?",
			 Q_ARGS(QA_TEXT(a->user_id)), NULL)) != 0)
			return r;
	}
	if (a->recovery) {
		if ((r = q_exec(c,
			 "DELETE FROM recovery_codes WHERE user_id = ?"
			 " RETURNING 1",
			 Q_ARGS(QA_TEXT(a->user_id)), &n)) != 0)
			return r;
		a->removed += n;
	}
	return q_exec(c, "DELETE FROM mfa_state WHERE user_id = ?",
	    Q_ARGS(QA_TEXT(a->user_id)), NULL);
}

int
store_mfa_reset(struct db *db, const char *user_id, bool totp, bool passkeys,
    bool recovery, int64_t *removed)
{
	struct reset a = { user_id, totp, passkeys, recovery, 0 };
	int r = store_tx(db, reset_tx, &a);

	if (removed != NULL)
		*removed = r == 0 ? a.removed : 0;
	return r;
}
