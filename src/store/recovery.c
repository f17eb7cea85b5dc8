/*
 * Recovery codes in the store (migration 0032, table recovery_codes;
 * SECURITY.md MF-07). Only Argon2id hashes are stored, one row per code
 * under its non-secret index. Regenerating replaces the whole set in one
 * transaction, and spending is one conditional UPDATE, so a code is used
 * at most once however many requests race with it. The rules (format,
 * hashing, the dummy work for an unknown index) live in auth/recovery.c.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

struct replace {
	const char *user_id;
	const char *const *phc;
	size_t n;
	int64_t now;
};

static int
replace_tx(struct db_conn *c, void *arg)
{
	const struct replace *a = arg;
	int r;

	/* The old set dies with the new one's birth, spent codes too. */
	if ((r = q_exec(c, "DELETE FROM recovery_codes WHERE user_id = ?",
		 Q_ARGS(QA_TEXT(a->user_id)), NULL)) != 0)
		return r;
	for (size_t i = 0; i < a->n; i++) {
		if (a->phc[i] == NULL)
			return PC_ERR_INVALID;
		if ((r = q_exec(c,
			 "INSERT INTO recovery_codes (user_id, idx, phc,"
			 " created_at) VALUES (?, ?, ?, ?)",
			 Q_ARGS(QA_TEXT(a->user_id), QA_INT(i + 1),
			     QA_TEXT(a->phc[i]), QA_INT(a->now)),
			 NULL)) != 0)
			return r;
	}
	return 0;
}

int
store_recovery_replace(struct db *db, const char *user_id,
    const char *const *phc, size_t n, int64_t now)
{
	struct replace a = { user_id, phc, n, now };

	/* idx is 1..99 (the table's CHECK). */
	if (user_id == NULL || phc == NULL || n == 0 || n > 99)
		return PC_ERR_INVALID;
	return store_tx(db, replace_tx, &a);
}

int
store_recovery_phc(struct db *db, const char *user_id, int64_t idx, char **phc)
{
	*phc = NULL;
	return store_one(db,
	    "SELECT phc FROM recovery_codes"
	    " WHERE user_id = ? AND idx = ? AND used_at IS NULL",
	    Q_ARGS(QA_TEXT(user_id), QA_INT(idx)), Q_COLS(QC_DUP(phc)));
}

int
store_recovery_spend(struct db *db, const char *user_id, int64_t idx,
    const char *phc, int64_t now)
{
	int64_t n = 0;
	int r;

	/* MF-07: single use. The condition and the write are one statement,
	 * so of two requests with the same code exactly one changes the row. */
	r = store_exec(db,
	    "UPDATE recovery_codes SET used_at = ?"
	    " WHERE user_id = ? AND idx = ? AND phc = ? AND used_at IS NULL"
	    " RETURNING 1",
	    Q_ARGS(QA_INT(now), QA_TEXT(user_id), QA_INT(idx), QA_TEXT(phc)),
	    &n);
	if (r != 0)
		return r;
	return n == 1 ? 0 : PC_ERR_NOT_FOUND;
}

int
store_recovery_left(struct db *db, const char *user_id, int64_t *left)
{
	*left = 0;
	return store_one(db,
	    "SELECT COUNT(*) FROM recovery_codes"
	    " WHERE user_id = ? AND used_at IS NULL",
	    Q_ARGS(QA_TEXT(user_id)), Q_COLS(QC_INT(left)));
}
