/*
 * Pending authorization requests (migration 0014; SECURITY.md AZ-03,
 * CF-03): saved while the user signs in or consents, named by the SHA-256
 * of an opaque id, taken once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

void
store_authz_request_clear(struct store_authz_request *a)
{
	free(a->client_id);
	free(a->redirect_uri);
	free(a->state);
	free(a->nonce);
	free(a->code_challenge);
	free(a->scope);
	free(a->login_hint);
	free(a->hint_sub);
	free(a->login_sid);
	free(a->resource);
	memset(a, 0, sizeof(*a));
}

struct put_arg {
	const struct store_authz_request *a;
	const char *ip;
	int64_t max_per_ip;
};

static int
put_tx(struct db_conn *c, void *arg)
{
	const struct put_arg *p = arg;
	const struct store_authz_request *a = p->a;
	const char *ip = p->ip != NULL ? p->ip : "";
	int r;

	if ((r = q_exec(c,
		 "INSERT INTO authz_requests (id_hash, client_id,"
		 " redirect_uri, state, nonce, code_challenge, scope, prompt,"
		 " login_sid, login_hint, hint_sub, ip, created_at,"
		 " expires_at, resource) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
		 " ?, ?, ?, ?, ?)",
		 Q_ARGS(QA_TEXT(a->id_hash), QA_TEXT(a->client_id),
		     QA_TEXT(a->redirect_uri), QA_TEXT(a->state),
		     QA_TEXT(a->nonce), QA_TEXT(a->code_challenge),
		     QA_TEXT(a->scope), QA_INT(a->prompt),
		     QA_TEXT(a->login_sid), QA_TEXT(a->login_hint),
		     QA_TEXT(a->hint_sub), QA_TEXT(ip), QA_INT(a->created_at),
		     QA_INT(a->expires_at), QA_TEXT(a->resource)),
		 NULL)) != 0)
		return r;
	/* DS-04: the IP's newest max_per_ip stay, and always the one just
	 * made: in a burst within one second the order among the others is
	 * their random id, and the new one must not lose to it. */
	return q_exec(c,
	    "DELETE FROM authz_requests WHERE ip = ? AND id_hash <> ? AND"
	    " id_hash NOT IN (SELECT id_hash FROM authz_requests WHERE ip = ?"
	    " AND id_hash <> ? ORDER BY created_at DESC, id_hash DESC"
	    " LIMIT ?)",
	    Q_ARGS(QA_TEXT(ip), QA_TEXT(a->id_hash), QA_TEXT(ip),
		QA_TEXT(a->id_hash),
		QA_INT(p->max_per_ip > 0 ? p->max_per_ip - 1 : 0)),
	    NULL);
}

int
store_authz_request_put(struct db *db, const struct store_authz_request *a,
    const char *ip, int64_t max_per_ip)
{
	struct put_arg p = { a, ip, max_per_ip };

	return store_tx(db, put_tx, &p);
}

#define COLS \
	"client_id, redirect_uri, state, nonce, code_challenge, scope," \
	" prompt, login_sid, login_hint, hint_sub, created_at," \
	" expires_at, resource"

/* One row of COLS by (id_hash, now): the SELECT, or the DELETE taking it. */
static int
one_request(struct db *db, const char *sql, const char *id_hash, int64_t now,
    struct store_authz_request *out)
{
	int64_t prompt = 0;
	int r;

	memset(out, 0, sizeof(*out));
	r = store_one(db, sql, Q_ARGS(QA_TEXT(id_hash), QA_INT(now)),
	    Q_COLS(QC_DUP(&out->client_id), QC_DUP(&out->redirect_uri),
		QC_DUP_NULL(&out->state), QC_DUP_NULL(&out->nonce),
		QC_DUP(&out->code_challenge), QC_DUP(&out->scope),
		QC_INT(&prompt), QC_DUP_NULL(&out->login_sid),
		QC_DUP_NULL(&out->login_hint), QC_DUP_NULL(&out->hint_sub),
		QC_INT(&out->created_at), QC_INT(&out->expires_at),
		QC_DUP_NULL(&out->resource)));
	if (r == 0) {
		snprintf(out->id_hash, sizeof(out->id_hash), "%s", id_hash);
		out->prompt = (unsigned)prompt;
	}
	return r;
}

int
store_authz_request_get(struct db *db, const char *id_hash, int64_t now,
    struct store_authz_request *out)
{
	return one_request(db,
	    "SELECT " COLS " FROM authz_requests WHERE id_hash = ?"
	    " AND expires_at > ?",
	    id_hash, now, out);
}

int
store_authz_request_take(struct db *db, const char *id_hash, int64_t now,
    struct store_authz_request *out)
{
	return one_request(db,
	    "DELETE FROM authz_requests WHERE id_hash = ? AND expires_at > ?"
	    " RETURNING " COLS,
	    id_hash, now, out);
}

int
store_authz_requests_purge(struct db *db, int64_t now, int64_t *deleted)
{
	return store_delete_expired(db,
	    "DELETE FROM authz_requests WHERE expires_at <= ? RETURNING 1", now,
	    deleted);
}

int
store_authz_request_set_login(
    struct db *db, const char *id_hash, const char *sid, int64_t now)
{
	return store_one(db,
	    "UPDATE authz_requests SET login_sid = ? WHERE id_hash = ?"
	    " AND expires_at > ? RETURNING 1",
	    Q_ARGS(QA_TEXT(sid), QA_TEXT(id_hash), QA_INT(now)), Q_NOCOLS);
}
