/*
 * Passkeys in the store (migration 0032; issue 16, SECURITY.md WA-02,
 * WA-03, WA-05, DS-04): the WebAuthn credentials of each user, the
 * ceremonies' single-use challenges bound to a browser session, and the
 * opaque user handle authenticators keep (users.webauthn_handle). The
 * rules (what a counter may do, which purpose needs what) are
 * src/auth/passkey.c's; here every check that must be atomic is one
 * statement or one transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "store/q.h"
#include "store/store.h"
#include "store/store_internal.h"

#define PASSKEY_COLS \
	"id, user_id, credential_id, public_key, alg, sign_count, name," \
	" aaguid, uv, backup_eligible, attestation, attestation_verified," \
	" transports, created_at, last_used_at, cloned_at"

void
store_passkey_clear(struct store_passkey *p)
{
	free(p->user_id);
	free(p->credential_id);
	free(p->public_key);
	free(p->name);
	free(p->aaguid);
	free(p->attestation);
	free(p->transports);
	memset(p, 0, sizeof(*p));
}

void
store_passkeys_free(struct store_passkey *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_passkey_clear(&v[i]);
	free(v);
}

/* The columns of PASSKEY_COLS into p (NULL times read as 0). */
static void
read_passkey(struct db_stmt *s, struct store_passkey *p)
{
	q_read(s,
	    Q_COLS(QC_FIXED(p->id), QC_DUP(&p->user_id),
		QC_DUP(&p->credential_id), QC_DUP(&p->public_key),
		QC_INT(&p->alg), QC_INT(&p->sign_count), QC_DUP(&p->name),
		QC_DUP(&p->aaguid), QC_BOOL(&p->uv),
		QC_BOOL(&p->backup_eligible), QC_DUP(&p->attestation),
		QC_BOOL(&p->attestation_verified), QC_DUP(&p->transports),
		QC_INT(&p->created_at), QC_INT(&p->last_used_at),
		QC_INT(&p->cloned_at)));
}

struct insert_arg {
	const struct store_passkey *p;
	int64_t max;
};

static int
insert_tx(struct db_conn *c, void *arg)
{
	const struct insert_arg *a = arg;
	const struct store_passkey *p = a->p;
	int64_t n = 0;
	int r;

	if ((r = q_one(c,
		 "SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = ?",
		 Q_ARGS(QA_TEXT(p->user_id)), Q_COLS(QC_INT(&n)))) != 0)
		return r;
	if (n >= a->max)
		return PC_ERR_TOO_LARGE;
	/* WA-05: a credential id names one credential of one user, ever. */
	if ((r = q_exec(c,
		 "INSERT INTO webauthn_credentials (id, user_id, credential_id,"
		 " public_key, alg, sign_count, name, aaguid, uv,"
		 " backup_eligible, attestation, attestation_verified,"
		 " transports, created_at)"
		 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		 " ON CONFLICT (credential_id) DO NOTHING RETURNING 1",
		 Q_ARGS(QA_TEXT(p->id), QA_TEXT(p->user_id),
		     QA_TEXT(p->credential_id), QA_TEXT(p->public_key),
		     QA_INT(p->alg), QA_INT(p->sign_count), QA_TEXT(p->name),
		     QA_TEXT(p->aaguid != NULL ? p->aaguid : ""),
		     QA_INT(p->uv ? 1 : 0), QA_INT(p->backup_eligible ? 1 : 0),
		     QA_TEXT(p->attestation != NULL ? p->attestation : "none"),
		     QA_INT(p->attestation_verified ? 1 : 0),
		     QA_TEXT(p->transports != NULL ? p->transports : ""),
		     QA_INT(p->created_at)),
		 &n)) != 0)
		return r;
	return n == 1 ? 0 : PC_ERR_CONFLICT;
}

int
store_passkey_insert(
    struct db *db, const struct store_passkey *p, int64_t max_per_user)
{
	struct insert_arg a = { p, max_per_user };

	return store_tx(db, insert_tx, &a);
}

struct list {
	struct store_passkey *v;
	size_t n, cap;
};

static int
list_row(struct db_stmt *s, void *arg)
{
	struct list *l = arg;

	read_passkey(s, Q_GROW(l->v, l->n, l->cap));
	return 0;
}

int
store_passkeys_list(
    struct db *db, const char *user_id, struct store_passkey **v, size_t *n)
{
	struct list l = { NULL, 0, 0 };
	int r;

	*v = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT " PASSKEY_COLS " FROM webauthn_credentials"
	    " WHERE user_id = ? ORDER BY created_at, id",
	    Q_ARGS(QA_TEXT(user_id)), list_row, &l);
	if (r != 0) {
		store_passkeys_free(l.v, l.n);
		return r;
	}
	*v = l.v;
	*n = l.n;
	return 0;
}

static int
get_row(struct db_stmt *s, void *arg)
{
	struct list *l = arg;

	if (l->n == 0)
		read_passkey(s, Q_GROW(l->v, l->n, l->cap));
	return 0;
}

int
store_passkey_get(
    struct db *db, const char *credential_id, struct store_passkey *out)
{
	struct list l = { NULL, 0, 0 };
	int r;

	memset(out, 0, sizeof(*out));
	r = store_all(db,
	    "SELECT " PASSKEY_COLS " FROM webauthn_credentials"
	    " WHERE credential_id = ?",
	    Q_ARGS(QA_TEXT(credential_id)), get_row, &l);
	if (r == 0 && l.n == 0)
		r = PC_ERR_NOT_FOUND;
	if (r == 0) {
		*out = l.v[0];
		free(l.v);
	} else {
		store_passkeys_free(l.v, l.n);
	}
	return r;
}

int
store_passkey_use(struct db *db, const char *credential_id, int64_t old,
    int64_t seen, int64_t now)
{
	int64_t n = 0;
	int r;

	/* WA-03: the compare and the write are one statement. */
	r = store_exec(db,
	    "UPDATE webauthn_credentials SET sign_count = ?, last_used_at = ?"
	    " WHERE credential_id = ? AND sign_count = ? AND cloned_at IS NULL"
	    " RETURNING 1",
	    Q_ARGS(
		QA_INT(seen), QA_INT(now), QA_TEXT(credential_id), QA_INT(old)),
	    &n);
	if (r != 0)
		return r;
	return n == 1 ? 0 : PC_ERR_CONFLICT;
}

int
store_passkey_flag_cloned(struct db *db, const char *credential_id, int64_t now)
{
	return store_exec(db,
	    "UPDATE webauthn_credentials SET cloned_at = ?"
	    " WHERE credential_id = ? AND cloned_at IS NULL",
	    Q_ARGS(QA_INT(now), QA_TEXT(credential_id)), NULL);
}

int
store_passkey_rename(
    struct db *db, const char *user_id, const char *id, const char *name)
{
	int64_t n = 0;
	int r = store_exec(db,
	    "UPDATE webauthn_credentials SET name = ?"
	    " WHERE id = ? AND user_id = ? RETURNING 1",
	    Q_ARGS(QA_TEXT(name), QA_TEXT(id), QA_TEXT(user_id)), &n);

	if (r != 0)
		return r;
	return n == 1 ? 0 : PC_ERR_NOT_FOUND;
}

int
store_passkey_delete(struct db *db, const char *user_id, const char *id)
{
	int64_t n = 0;
	int r = store_exec(db,
	    "DELETE FROM webauthn_credentials WHERE id = ? AND user_id = ?"
	    " RETURNING 1",
	    Q_ARGS(QA_TEXT(id), QA_TEXT(user_id)), &n);

	if (r != 0)
		return r;
	return n == 1 ? 0 : PC_ERR_NOT_FOUND;
}

void
store_wa_challenge_clear(struct store_wa_challenge *c)
{
	free(c->user_id);
	memset(c, 0, sizeof(*c));
}

struct put_arg {
	const struct store_wa_challenge *c;
	int64_t max;
};

static int
put_tx(struct db_conn *c, void *arg)
{
	const struct put_arg *a = arg;
	const struct store_wa_challenge *ch = a->c;
	int r;

	if ((r = q_exec(c,
		 "INSERT INTO webauthn_challenges (challenge_hash,"
		 " session_hash, purpose, user_id, uv_required, created_at,"
		 " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		 Q_ARGS(QA_TEXT(ch->challenge_hash), QA_TEXT(ch->session_hash),
		     QA_TEXT(ch->purpose), QA_TEXT(ch->user_id),
		     QA_INT(ch->uv_required ? 1 : 0), QA_INT(ch->created_at),
		     QA_INT(ch->expires_at)),
		 NULL)) != 0)
		return r;
	/* DS-04: the new one and the newest max - 1 others stay. */
	return q_exec(c,
	    "DELETE FROM webauthn_challenges WHERE session_hash = ?"
	    " AND challenge_hash <> ? AND challenge_hash NOT IN"
	    " (SELECT challenge_hash FROM webauthn_challenges"
	    " WHERE session_hash = ? AND challenge_hash <> ?"
	    " ORDER BY created_at DESC, challenge_hash DESC LIMIT ?)",
	    Q_ARGS(QA_TEXT(ch->session_hash), QA_TEXT(ch->challenge_hash),
		QA_TEXT(ch->session_hash), QA_TEXT(ch->challenge_hash),
		QA_INT(a->max > 1 ? a->max - 1 : 0)),
	    NULL);
}

int
store_wa_challenge_put(
    struct db *db, const struct store_wa_challenge *c, int64_t max_per_session)
{
	struct put_arg a = { c, max_per_session };

	return store_tx(db, put_tx, &a);
}

int
store_wa_challenge_take(struct db *db, const char *challenge_hash,
    const char *session_hash, const char *purpose, int64_t now,
    struct store_wa_challenge *out)
{
	int64_t uv = 0;
	int r;

	memset(out, 0, sizeof(*out));
	/* WA-02: single use; another session or purpose neither gets nor
	 * burns it. */
	r = store_one(db,
	    "DELETE FROM webauthn_challenges WHERE challenge_hash = ?"
	    " AND session_hash = ? AND purpose = ? AND expires_at > ?"
	    " RETURNING user_id, uv_required, created_at, expires_at",
	    Q_ARGS(QA_TEXT(challenge_hash), QA_TEXT(session_hash),
		QA_TEXT(purpose), QA_INT(now)),
	    Q_COLS(QC_DUP_NULL(&out->user_id), QC_INT(&uv),
		QC_INT(&out->created_at), QC_INT(&out->expires_at)));
	if (r != 0)
		return r;
	out->uv_required = uv != 0;
	strncpy(out->challenge_hash, challenge_hash,
	    sizeof(out->challenge_hash) - 1);
	strncpy(out->session_hash, session_hash, sizeof(out->session_hash) - 1);
	strncpy(out->purpose, purpose, sizeof(out->purpose) - 1);
	return 0;
}

int
store_wa_challenges_purge(struct db *db, int64_t now, int64_t *deleted)
{
	return store_delete_expired(db,
	    "DELETE FROM webauthn_challenges WHERE expires_at <= ?"
	    " RETURNING 1",
	    now, deleted);
}

struct handle_arg {
	const char *user_id, *candidate;
	char *out;
};

static int
handle_tx(struct db_conn *c, void *arg)
{
	struct handle_arg *a = arg;
	int r;

	if ((r = q_exec(c,
		 "UPDATE users SET webauthn_handle = ?"
		 " WHERE id = ? AND webauthn_handle IS NULL",
		 Q_ARGS(QA_TEXT(a->candidate), QA_TEXT(a->user_id)), NULL)) !=
	    0)
		return r;
	return q_one(c, "SELECT webauthn_handle FROM users WHERE id = ?",
	    Q_ARGS(QA_TEXT(a->user_id)), Q_COLS(QC_DUP(&a->out)));
}

int
store_user_webauthn_handle(
    struct db *db, const char *user_id, const char *candidate, char **out)
{
	struct handle_arg a = { user_id, candidate, NULL };
	int r = store_tx(db, handle_tx, &a);

	*out = NULL;
	if (r == 0 && (a.out == NULL || a.out[0] == '\0'))
		r = PC_ERR_INTERNAL;
	if (r != 0) {
		free(a.out);
		return r;
	}
	*out = a.out;
	return 0;
}

int
store_user_by_webauthn_handle(struct db *db, const char *handle, char **user_id)
{
	*user_id = NULL;
	return store_one(db, "SELECT id FROM users WHERE webauthn_handle = ?",
	    Q_ARGS(QA_TEXT(handle)), Q_COLS(QC_DUP(user_id)));
}
