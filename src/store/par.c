/*
 * Pushed authorization requests (migration 0029; RFC 9126; SECURITY.md
 * AZ-12, DS-04): stored by /par under the SHA-256 of their request_uri,
 * taken once by /authorize, by the client that pushed them only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/q.h"
#include "store/store.h"
#include "store/store_internal.h"

void
store_par_clear(struct store_par *p)
{
	free(p->client_id);
	pc_freezero_str(p->params);
	memset(p, 0, sizeof(*p));
}

struct put_arg {
	const struct store_par *p;
	const char *ip;
	int64_t max_per_ip;
	int64_t max_per_client;
};

static int
put_tx(struct db_conn *c, void *arg)
{
	const struct put_arg *a = arg;
	const struct store_par *p = a->p;
	const char *ip = a->ip != NULL ? a->ip : "";
	int r;

	if ((r = q_exec(c,
		 "INSERT INTO par_requests (uri_hash, client_id, params, ip,"
		 " public_client, created_at, created_ms, expires_at)"
		 " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		 Q_ARGS(QA_TEXT(p->uri_hash), QA_TEXT(p->client_id),
		     QA_TEXT(p->params), QA_TEXT(ip),
		     QA_INT(p->public_client ? 1 : 0),
		     QA_INT(p->created_ms / 1000), QA_INT(p->created_ms),
		     QA_INT(p->expires_at)),
		 NULL)) != 0)
		return r;
	/*
	 * DS-04. Anyone can push for a public client, so its pushes count
	 * per IP: one address cannot crowd out another's. A confidential
	 * client's pushes come from its own servers and only it can make
	 * them: they count per client (a backend pushing for all its users
	 * from one address is not capped per IP).
	 */
	if (p->public_client &&
	    (r = q_exec(c,
		 "DELETE FROM par_requests WHERE public_client = 1 AND ip = ?"
		 " AND uri_hash <> ? AND uri_hash NOT IN (SELECT uri_hash"
		 " FROM par_requests WHERE public_client = 1 AND ip = ?"
		 " AND uri_hash <> ?"
		 " ORDER BY created_ms DESC, uri_hash DESC LIMIT ?)",
		 Q_ARGS(QA_TEXT(ip), QA_TEXT(p->uri_hash), QA_TEXT(ip),
		     QA_TEXT(p->uri_hash),
		     QA_INT(a->max_per_ip > 1 ? a->max_per_ip - 1 : 0)),
		 NULL)) != 0)
		return r;
	return q_exec(c,
	    "DELETE FROM par_requests WHERE client_id = ? AND uri_hash <> ?"
	    " AND uri_hash NOT IN (SELECT uri_hash FROM par_requests"
	    " WHERE client_id = ? AND uri_hash <> ?"
	    " ORDER BY created_ms DESC, uri_hash DESC LIMIT ?)",
	    Q_ARGS(QA_TEXT(p->client_id), QA_TEXT(p->uri_hash),
		QA_TEXT(p->client_id), QA_TEXT(p->uri_hash),
		QA_INT(a->max_per_client > 1 ? a->max_per_client - 1 : 0)),
	    NULL);
}

int
store_par_put(struct db *db, const struct store_par *p, const char *ip,
    int64_t max_per_ip, int64_t max_per_client)
{
	struct put_arg a = { p, ip, max_per_ip, max_per_client };

	return store_tx(db, put_tx, &a);
}

int
store_par_take(struct db *db, const char *uri_hash, const char *client_id,
    int64_t now, struct store_par *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	r = store_one(db,
	    "DELETE FROM par_requests WHERE uri_hash = ? AND client_id = ?"
	    " AND expires_at > ?"
	    " RETURNING client_id, params, public_client, created_ms,"
	    " expires_at",
	    Q_ARGS(QA_TEXT(uri_hash), QA_TEXT(client_id), QA_INT(now)),
	    Q_COLS(QC_DUP(&out->client_id), QC_DUP(&out->params),
		QC_BOOL(&out->public_client), QC_INT(&out->created_ms),
		QC_INT(&out->expires_at)));
	if (r == 0)
		snprintf(out->uri_hash, sizeof(out->uri_hash), "%s", uri_hash);
	return r;
}

int
store_par_purge(struct db *db, int64_t now, int64_t *deleted)
{
	return store_delete_expired(db,
	    "DELETE FROM par_requests WHERE expires_at <= ? RETURNING 1", now,
	    deleted);
}
