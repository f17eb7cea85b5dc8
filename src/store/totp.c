/*
 * TOTP credentials in the store (migration 0032, totp_credentials; issue
 * 16, SECURITY.md MF-01, MF-05, MF-06). One row per user: a pending
 * enrolment or the active credential. The seed arrives sealed and leaves
 * sealed; the rules (window, codes, sealing) live in src/auth/totp.c.
 *
 * Every change is one statement guarded by the row's state, so that two
 * requests racing each other cannot both win: the last accepted step only
 * moves forward (MF-01), and an activation applies only to the very seed
 * the code was checked against.
 */
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

void
store_totp_clear(struct store_totp *t)
{
	if (t->seed_sealed != NULL)
		pc_freezero_str(t->seed_sealed);
	memset(t, 0, sizeof(*t));
}

int
store_totp_get(struct db *db, const char *user_id, struct store_totp *out)
{
	memset(out, 0, sizeof(*out));
	/* activated_at and last_used_at: SQL NULL reads as 0. */
	return store_one(db,
	    "SELECT seed_sealed, created_at, activated_at, last_step,"
	    " last_used_at FROM totp_credentials WHERE user_id = ?",
	    Q_ARGS(QA_TEXT(user_id)),
	    Q_COLS(QC_DUP(&out->seed_sealed), QC_INT(&out->created_at),
		QC_INT(&out->activated_at), QC_INT(&out->last_step),
		QC_INT(&out->last_used_at)));
}

int
store_totp_put_pending(
    struct db *db, const char *user_id, const char *seed_sealed, int64_t now)
{
	int64_t n = 0;
	int r;

	/* An active row is never overwritten by an unproven seed. */
	r = store_exec(db,
	    "INSERT INTO totp_credentials (user_id, seed_sealed, created_at,"
	    " activated_at, last_step, last_used_at)"
	    " VALUES (?, ?, ?, NULL, 0, NULL)"
	    " ON CONFLICT (user_id) DO UPDATE SET"
	    " seed_sealed = excluded.seed_sealed,"
	    " created_at = excluded.created_at, last_step = 0,"
	    " last_used_at = NULL"
	    " WHERE totp_credentials.activated_at IS NULL RETURNING 1",
	    Q_ARGS(QA_TEXT(user_id), QA_TEXT(seed_sealed), QA_INT(now)), &n);
	if (r != 0)
		return r;
	return n == 1 ? 0 : PC_ERR_CONFLICT;
}

int
store_totp_activate(struct db *db, const char *user_id, const char *seed_sealed,
    int64_t step, int64_t now)
{
	int64_t n = 0;
	int r;

	r = store_exec(db,
	    "UPDATE totp_credentials SET activated_at = ?, last_step = ?,"
	    " last_used_at = ? WHERE user_id = ? AND seed_sealed = ?"
	    " AND activated_at IS NULL RETURNING 1",
	    Q_ARGS(QA_INT(now), QA_INT(step), QA_INT(now), QA_TEXT(user_id),
		QA_TEXT(seed_sealed)),
	    &n);
	if (r != 0)
		return r;
	return n == 1 ? 0 : PC_ERR_NOT_FOUND;
}

int
store_totp_advance(struct db *db, const char *user_id, const char *seed_sealed,
    int64_t step, int64_t now)
{
	int64_t n = 0;
	int r;

	/* MF-01: the comparison and the move are one statement. */
	r = store_exec(db,
	    "UPDATE totp_credentials SET last_step = ?, last_used_at = ?"
	    " WHERE user_id = ? AND seed_sealed = ?"
	    " AND activated_at IS NOT NULL AND last_step < ? RETURNING 1",
	    Q_ARGS(QA_INT(step), QA_INT(now), QA_TEXT(user_id),
		QA_TEXT(seed_sealed), QA_INT(step)),
	    &n);
	if (r != 0)
		return r;
	return n == 1 ? 0 : PC_ERR_CONFLICT;
}

int
store_totp_remove(struct db *db, const char *user_id, bool *removed)
{
	bool pending = true;
	int r;

	if (removed != NULL)
		*removed = false;
	/* The column itself, not an expression of it: SQLite 3.40 returns a
	 * wrong CASE over a NULL column in a DELETE's RETURNING here. */
	r = store_one(db,
	    "DELETE FROM totp_credentials WHERE user_id = ?"
	    " RETURNING activated_at",
	    Q_ARGS(QA_TEXT(user_id)), Q_COLS(QC_ISNULL(&pending)));
	if (r == PC_ERR_NOT_FOUND)
		return 0;
	if (r == 0 && removed != NULL)
		*removed = !pending;
	return r;
}
