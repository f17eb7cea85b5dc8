/*
 * The per-account second-factor failure counter (migration 0032,
 * mfa_state; SECURITY.md MF-03). The policy (backoff, suspension, lock)
 * lives in src/auth/mfa_attempt.c; this file only counts, each operation
 * in one transaction, so that nodes sharing the store see one count.
 *
 * An attempt is counted before its factor is checked, in the transaction
 * that reads the limits (store_mfa_attempt_begin): the upsert raises the
 * count and locks the row (on SQLite the write lock is taken up front; on
 * PostgreSQL ON CONFLICT DO UPDATE locks the row until the commit), the
 * policy sees what was there before, and a refusal rolls the count back.
 * The attempt then stays a failure unless store_mfa_attempt_ok says the
 * factor was right, so a burst of N counts N.
 */
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

/* decide() said no: roll back (told apart from a store error by a flag). */
#define UNDO PC_ERR_PERM
/* The count stops here instead of overflowing (the policy's ceiling is
 * far below). */
#define FAILURES_CAP INT64_C(1000000)

static bool
id_ok(const char *user_id)
{
	return user_id != NULL && user_id[0] != '\0';
}

struct begin_arg {
	const char *user_id;
	int64_t now;
	store_mfa_decide_fn decide;
	void *arg;
	struct store_mfa_state seen;
	bool refused;
};

static int
begin_tx(struct db_conn *c, void *arg)
{
	struct begin_arg *b = arg;
	struct store_mfa_state next;
	int r;

	memset(&b->seen, 0, sizeof(b->seen));
	r = q_one(c,
	    "INSERT INTO mfa_state (user_id, failures) VALUES (?, 1)"
	    " ON CONFLICT (user_id) DO UPDATE SET failures = CASE"
	    " WHEN mfa_state.failures < ? THEN mfa_state.failures + 1"
	    " ELSE mfa_state.failures END"
	    " RETURNING failures, COALESCE(last_failure_at, 0),"
	    " blocked_until, COALESCE(totp_suspended_at, 0),"
	    " COALESCE(notified_at, 0)",
	    Q_ARGS(QA_TEXT(b->user_id), QA_INT(FAILURES_CAP)),
	    Q_COLS(QC_INT(&b->seen.failures), QC_INT(&b->seen.last_failure_at),
		QC_INT(&b->seen.blocked_until),
		QC_INT(&b->seen.totp_suspended_at),
		QC_INT(&b->seen.notified_at)));
	if (r == PC_ERR_NOT_FOUND)
		return PC_ERR_STORE; /* the upsert always returns its row */
	if (r != 0)
		return r;
	/* What the attempt found, before its own count. */
	if (b->seen.failures < FAILURES_CAP)
		b->seen.failures--;
	memset(&next, 0, sizeof(next));
	if (!b->decide(b->arg, &b->seen, &next)) {
		b->refused = true;
		return UNDO;
	}
	/* A node whose clock lags never shortens a delay another set. */
	return q_exec(c,
	    "UPDATE mfa_state SET last_failure_at = ?,"
	    " blocked_until = CASE WHEN blocked_until > ? THEN blocked_until"
	    " ELSE ? END,"
	    " totp_suspended_at = COALESCE(totp_suspended_at, ?)"
	    " WHERE user_id = ?",
	    Q_ARGS(QA_INT(b->now), QA_INT(next.blocked_until),
		QA_INT(next.blocked_until),
		QA_INT_IF(next.totp_suspended_at != 0, next.totp_suspended_at),
		QA_TEXT(b->user_id)),
	    NULL);
}

int
store_mfa_attempt_begin(struct db *db, const char *user_id, int64_t now,
    store_mfa_decide_fn decide, void *arg, bool *allowed,
    struct store_mfa_state *seen)
{
	struct begin_arg b;
	int r;

	*allowed = false;
	if (seen != NULL)
		memset(seen, 0, sizeof(*seen));
	if (!id_ok(user_id) || decide == NULL)
		return PC_ERR_INVALID;
	memset(&b, 0, sizeof(b));
	b.user_id = user_id;
	b.now = now;
	b.decide = decide;
	b.arg = arg;
	r = store_tx(db, begin_tx, &b);
	if (seen != NULL && (r == 0 || b.refused))
		*seen = b.seen;
	if (b.refused)
		return 0;
	if (r != 0)
		return r;
	*allowed = true;
	return 0;
}

int
store_mfa_attempt_ok(struct db *db, const char *user_id, bool clear_suspension)
{
	if (!id_ok(user_id))
		return PC_ERR_INVALID;
	return store_exec(db,
	    clear_suspension
		? "UPDATE mfa_state SET failures = 0, blocked_until = 0,"
		  " totp_suspended_at = NULL WHERE user_id = ?"
		: "UPDATE mfa_state SET failures = 0, blocked_until = 0"
		  " WHERE user_id = ?",
	    Q_ARGS(QA_TEXT(user_id)), NULL);
}

int
store_mfa_state_get(
    struct db *db, const char *user_id, struct store_mfa_state *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (!id_ok(user_id))
		return PC_ERR_INVALID;
	r = store_one(db,
	    "SELECT failures, COALESCE(last_failure_at, 0), blocked_until,"
	    " COALESCE(totp_suspended_at, 0), COALESCE(notified_at, 0)"
	    " FROM mfa_state WHERE user_id = ?",
	    Q_ARGS(QA_TEXT(user_id)),
	    Q_COLS(QC_INT(&out->failures), QC_INT(&out->last_failure_at),
		QC_INT(&out->blocked_until), QC_INT(&out->totp_suspended_at),
		QC_INT(&out->notified_at)));
	return r == PC_ERR_NOT_FOUND ? 0 : r;
}

int
store_mfa_notified(struct db *db, const char *user_id, int64_t now)
{
	if (!id_ok(user_id))
		return PC_ERR_INVALID;
	return store_exec(db,
	    "UPDATE mfa_state SET notified_at = ? WHERE user_id = ?",
	    Q_ARGS(QA_INT(now), QA_TEXT(user_id)), NULL);
}
