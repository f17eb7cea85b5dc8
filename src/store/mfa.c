/*
 * What protects an account, and the operator's reset (migration 0032;
 * issue 16). The rules live in src/auth/mfa.c.
 */
#include <stdlib.h>
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

/* ---- what the operator sees (`portcullis user mfa list`) ---- */

void
store_mfa_detail_clear(struct store_mfa_detail *d)
{
	for (size_t i = 0; i < d->n_passkeys; i++) {
		free(d->passkeys[i].id);
		free(d->passkeys[i].name);
	}
	free(d->passkeys);
	memset(d, 0, sizeof(*d));
}

struct detail {
	const char *user_id;
	struct store_mfa_detail *d;
	size_t cap;
};

static int
passkey_row(struct db_stmt *s, void *arg)
{
	struct detail *a = arg;
	struct store_mfa_passkey *p =
	    Q_GROW(a->d->passkeys, a->d->n_passkeys, a->cap);

	q_read(s,
	    Q_COLS(QC_DUP(&p->id), QC_DUP(&p->name),
		QC_BOOL(&p->backup_eligible), QC_INT(&p->created_at),
		QC_INT(&p->last_used_at), QC_INT(&p->cloned_at)));
	return 0;
}

static int
detail_tx(struct db_conn *c, void *arg)
{
	struct detail *a = arg;
	struct store_mfa_detail *d = a->d;
	int64_t suspended = 0;
	int r;

	r = q_one(c,
	    "SELECT created_at, COALESCE(activated_at, 0),"
	    " COALESCE(last_used_at, 0) FROM totp_credentials"
	    " WHERE user_id = ?",
	    Q_ARGS(QA_TEXT(a->user_id)),
	    Q_COLS(QC_INT(&d->totp_created_at), QC_INT(&d->totp_activated_at),
		QC_INT(&d->totp_last_used_at)));
	if (r != 0 && r != PC_ERR_NOT_FOUND)
		return r;
	d->totp = r == 0;
	if ((r = q_all(c,
		 "SELECT id, name, backup_eligible, created_at,"
		 " COALESCE(last_used_at, 0), COALESCE(cloned_at, 0)"
		 " FROM webauthn_credentials WHERE user_id = ?"
		 " ORDER BY created_at, id",
		 Q_ARGS(QA_TEXT(a->user_id)), passkey_row, a)) != 0)
		return r;
	if ((r = q_one(c,
		 "SELECT COUNT(*), COALESCE(SUM(CASE WHEN used_at IS NULL"
		 " THEN 1 ELSE 0 END), 0) FROM recovery_codes"
		 " WHERE user_id = ?",
		 Q_ARGS(QA_TEXT(a->user_id)),
		 Q_COLS(QC_INT(&d->recovery_total),
		     QC_INT(&d->recovery_left)))) != 0)
		return r;
	r = q_one(c,
	    "SELECT failures, COALESCE(totp_suspended_at, 0) FROM mfa_state"
	    " WHERE user_id = ?",
	    Q_ARGS(QA_TEXT(a->user_id)),
	    Q_COLS(QC_INT(&d->failures), QC_INT(&suspended)));
	if (r != 0 && r != PC_ERR_NOT_FOUND)
		return r;
	d->totp_suspended = suspended != 0;
	return 0;
}

int
store_mfa_detail(
    struct db *db, const char *user_id, struct store_mfa_detail *out)
{
	struct detail a = { user_id, out, 0 };
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = store_read_tx(db, detail_tx, &a)) != 0)
		store_mfa_detail_clear(out);
	return r;
}
