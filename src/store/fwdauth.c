/*
 * Forward-auth tables (migration 0036; issue 17 item 5, decision 0075):
 * the protected hosts' rules, the one-time codes of the sign-in dance
 * (stored by hash, taken once) and the per-host sessions, which are read
 * joined with the issuer session and the user they hang on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/q.h"
#include "store/store.h"
#include "store/store_internal.h"

static void
rule_clear(struct store_fwd_rule *r)
{
	free(r->host);
	free(r->path_prefix);
	free(r->access);
	free(r->groups);
	memset(r, 0, sizeof(*r));
}

void
store_fwd_rules_free(struct store_fwd_rule *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		rule_clear(&v[i]);
	free(v);
}

int
store_fwd_rule_put(struct db *db, const struct store_fwd_rule *r)
{
	/* Common subset: an upsert both stores run the same way. */
	return store_exec(db,
	    "INSERT INTO fwd_rules (host, path_prefix, access, groups, mfa,"
	    " created_at) VALUES (?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT (host, path_prefix) DO UPDATE SET"
	    " access = excluded.access, groups = excluded.groups,"
	    " mfa = excluded.mfa",
	    Q_ARGS(QA_TEXT(r->host), QA_TEXT(r->path_prefix),
		QA_TEXT(r->access), QA_TEXT(r->groups != NULL ? r->groups : ""),
		QA_INT(r->mfa ? 1 : 0), QA_INT(r->created_at)),
	    NULL);
}

int
store_fwd_rule_delete(struct db *db, const char *host, const char *path_prefix)
{
	return store_one(db,
	    "DELETE FROM fwd_rules WHERE host = ? AND path_prefix = ?"
	    " RETURNING 1",
	    Q_ARGS(QA_TEXT(host), QA_TEXT(path_prefix)), Q_NOCOLS);
}

struct rules_acc {
	struct store_fwd_rule *v;
	size_t n, cap;
};

static int
rule_row(struct db_stmt *s, void *arg)
{
	struct rules_acc *a = arg;
	struct store_fwd_rule *r;

	if (a->n == a->cap) {
		size_t cap = a->cap != 0 ? a->cap * 2 : 8;

		a->v = xrealloc(a->v, cap * sizeof(*a->v));
		a->cap = cap;
	}
	r = &a->v[a->n];
	memset(r, 0, sizeof(*r));
	q_read(s,
	    Q_COLS(QC_DUP(&r->host), QC_DUP(&r->path_prefix),
		QC_DUP(&r->access), QC_DUP(&r->groups), QC_BOOL(&r->mfa),
		QC_INT(&r->created_at)));
	a->n++;
	return 0;
}

int
store_fwd_rules_list(
    struct db *db, const char *host, struct store_fwd_rule **out, size_t *n)
{
	struct rules_acc a = { NULL, 0, 0 };
	int r;

	*out = NULL;
	*n = 0;
	if (host != NULL)
		r = store_all(db,
		    "SELECT host, path_prefix, access, groups, mfa, created_at"
		    " FROM fwd_rules WHERE host = ? ORDER BY path_prefix",
		    Q_ARGS(QA_TEXT(host)), rule_row, &a);
	else
		r = store_all(db,
		    "SELECT host, path_prefix, access, groups, mfa, created_at"
		    " FROM fwd_rules ORDER BY host, path_prefix",
		    Q_NOARGS, rule_row, &a);
	if (r != 0) {
		store_fwd_rules_free(a.v, a.n);
		return r;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

int
store_fwd_host_declared(struct db *db, const char *host)
{
	return store_one(db, "SELECT 1 FROM fwd_rules WHERE host = ? LIMIT 1",
	    Q_ARGS(QA_TEXT(host)), Q_NOCOLS);
}

void
store_fwd_code_clear(struct store_fwd_code *c)
{
	free(c->host);
	free(c->user_id);
	free(c->rd);
	memset(c, 0, sizeof(*c));
}

int
store_fwd_code_put(struct db *db, const struct store_fwd_code *c)
{
	return store_exec(db,
	    "INSERT INTO fwd_codes (code_hash, host, session_hash, state_hash,"
	    " user_id, rd, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    Q_ARGS(QA_TEXT(c->code_hash), QA_TEXT(c->host),
		QA_TEXT(c->session_hash), QA_TEXT(c->state_hash),
		QA_TEXT(c->user_id), QA_TEXT(c->rd), QA_INT(c->expires_at)),
	    NULL);
}

int
store_fwd_code_take(struct db *db, const char *code_hash, int64_t now,
    struct store_fwd_code *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	r = store_one(db,
	    "DELETE FROM fwd_codes WHERE code_hash = ? AND expires_at > ?"
	    " RETURNING host, session_hash, state_hash, user_id, rd,"
	    " expires_at",
	    Q_ARGS(QA_TEXT(code_hash), QA_INT(now)),
	    Q_COLS(QC_DUP(&out->host), QC_EXACT(out->session_hash),
		QC_EXACT(out->state_hash), QC_DUP(&out->user_id),
		QC_DUP(&out->rd), QC_INT(&out->expires_at)));
	if (r == 0)
		snprintf(
		    out->code_hash, sizeof(out->code_hash), "%s", code_hash);
	return r;
}

void
store_fwd_session_clear(struct store_fwd_session *s)
{
	free(s->host);
	free(s->user_id);
	free(s->parent_user_id);
	free(s->parent_amr);
	free(s->email);
	memset(s, 0, sizeof(*s));
}

struct put_arg {
	const struct store_fwd_session *s;
	const char *replace_hash;
};

static int
put_tx(struct db_conn *c, void *arg)
{
	const struct put_arg *a = arg;
	const struct store_fwd_session *s = a->s;
	int r;

	if (a->replace_hash != NULL &&
	    (r = q_exec(c, "DELETE FROM fwd_sessions WHERE id_hash = ?",
		 Q_ARGS(QA_TEXT(a->replace_hash)), NULL)) != 0)
		return r;
	return q_exec(c,
	    "INSERT INTO fwd_sessions (id_hash, session_hash, host, user_id,"
	    " created_at, last_seen_at, expires_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?)",
	    Q_ARGS(QA_TEXT(s->id_hash), QA_TEXT(s->session_hash),
		QA_TEXT(s->host), QA_TEXT(s->user_id), QA_INT(s->created_at),
		QA_INT(s->last_seen_at), QA_INT(s->expires_at)),
	    NULL);
}

int
store_fwd_session_put(
    struct db *db, const struct store_fwd_session *s, const char *replace_hash)
{
	struct put_arg a = { s, replace_hash };

	return store_tx(db, put_tx, &a);
}

int
store_fwd_session_get(
    struct db *db, const char *id_hash, struct store_fwd_session *out)
{
	bool disabled_null = true;
	int r;

	memset(out, 0, sizeof(*out));
	/* One read on the verify path: the per-host session, its issuer
	 * session and its user. */
	r = store_one(db,
	    "SELECT f.session_hash, f.host, f.user_id, f.created_at,"
	    " f.last_seen_at, f.expires_at, s.user_id, s.created_at,"
	    " s.last_seen_at, s.expires_at, s.amr, u.email, u.disabled_at"
	    " FROM fwd_sessions f"
	    " JOIN sessions s ON s.id_hash = f.session_hash"
	    " JOIN users u ON u.id = f.user_id"
	    " WHERE f.id_hash = ?",
	    Q_ARGS(QA_TEXT(id_hash)),
	    Q_COLS(QC_EXACT(out->session_hash), QC_DUP(&out->host),
		QC_DUP(&out->user_id), QC_INT(&out->created_at),
		QC_INT(&out->last_seen_at), QC_INT(&out->expires_at),
		QC_DUP_NULL(&out->parent_user_id),
		QC_INT(&out->parent_created_at),
		QC_INT(&out->parent_last_seen_at),
		QC_INT(&out->parent_expires_at), QC_DUP(&out->parent_amr),
		QC_DUP(&out->email), QC_ISNULL(&disabled_null)));
	if (r != 0) {
		store_fwd_session_clear(out);
		return r;
	}
	out->user_disabled = !disabled_null;
	snprintf(out->id_hash, sizeof(out->id_hash), "%s", id_hash);
	return 0;
}

struct touch_arg {
	const char *id_hash;
	const char *session_hash;
	int64_t now;
};

static int
touch_tx(struct db_conn *c, void *arg)
{
	const struct touch_arg *a = arg;
	int r;

	if ((r = q_exec(c,
		 "UPDATE fwd_sessions SET last_seen_at = ?"
		 " WHERE id_hash = ? AND last_seen_at < ?",
		 Q_ARGS(QA_INT(a->now), QA_TEXT(a->id_hash), QA_INT(a->now)),
		 NULL)) != 0)
		return r;
	return q_exec(c,
	    "UPDATE sessions SET last_seen_at = ?"
	    " WHERE id_hash = ? AND last_seen_at < ?",
	    Q_ARGS(QA_INT(a->now), QA_TEXT(a->session_hash), QA_INT(a->now)),
	    NULL);
}

int
store_fwd_session_touch(
    struct db *db, const char *id_hash, const char *session_hash, int64_t now)
{
	struct touch_arg a = { id_hash, session_hash, now };

	return store_tx(db, touch_tx, &a);
}

int
store_fwd_session_delete(struct db *db, const char *id_hash)
{
	return store_one(db,
	    "DELETE FROM fwd_sessions WHERE id_hash = ? RETURNING 1",
	    Q_ARGS(QA_TEXT(id_hash)), Q_NOCOLS);
}

struct purge_arg {
	int64_t now, idle;
	int64_t deleted;
};

static int
purge_tx(struct db_conn *c, void *arg)
{
	struct purge_arg *a = arg;
	int64_t n = 0, m = 0;
	int r;

	if ((r = q_exec(c,
		 "DELETE FROM fwd_codes WHERE expires_at <= ? RETURNING 1",
		 Q_ARGS(QA_INT(a->now)), &n)) != 0)
		return r;
	if ((r = q_exec(c,
		 "DELETE FROM fwd_sessions WHERE expires_at <= ?"
		 " OR last_seen_at <= ? OR NOT EXISTS (SELECT 1 FROM sessions s"
		 " WHERE s.id_hash = fwd_sessions.session_hash) RETURNING 1",
		 Q_ARGS(QA_INT(a->now), QA_INT(a->now - a->idle)), &m)) != 0)
		return r;
	a->deleted = n + m;
	return 0;
}

int
store_fwd_purge(
    struct db *db, int64_t now, int64_t idle_timeout, int64_t *deleted)
{
	struct purge_arg a = { now, idle_timeout, 0 };
	int r = store_tx(db, purge_tx, &a);

	if (deleted != NULL)
		*deleted = r == 0 ? a.deleted : 0;
	return r;
}
