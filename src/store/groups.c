/*
 * Groups of users and service accounts (migration 0022; issue 14): what
 * the "groups" claim names, and a way to grant scopes to service accounts
 * together. A member must exist when added (checked in the adding
 * transaction, as member_id names one of two tables and has no foreign
 * key); a deleted group's id is tombstoned like a service account's.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

void
store_group_clear(struct store_group *g)
{
	free(g->id);
	free(g->name);
	free(g->description);
	free(g->scopes);
	memset(g, 0, sizeof(*g));
}

void
store_groups_free(struct store_group *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_group_clear(&v[i]);
	free(v);
}

#define GROUP_COLS "id, name, description, scopes, created_at, updated_at"
#define GROUP_COLS_G \
	"g.id, g.name, g.description, g.scopes, g.created_at, g.updated_at"

#define GROUP_READ(g) \
	Q_COLS(QC_DUP(&(g)->id), QC_DUP(&(g)->name), \
	    QC_DUP(&(g)->description), QC_DUP(&(g)->scopes), \
	    QC_INT(&(g)->created_at), QC_INT(&(g)->updated_at))

static int
insert_tx(struct db_conn *c, void *arg)
{
	const struct store_group *g = arg;
	int r;

	if ((r = store_id_fresh_tx(c,
		 "SELECT 1 FROM deleted_groups WHERE id = ?"
		 " UNION ALL SELECT 1 FROM groups WHERE id = ?",
		 g->id)) != 0)
		return r;
	return q_exec(c,
	    "INSERT INTO groups (id, name, description, scopes, created_at,"
	    " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
	    Q_ARGS(QA_TEXT(g->id), QA_TEXT(g->name),
		QA_TEXT(g->description != NULL ? g->description : ""),
		QA_TEXT(g->scopes != NULL ? g->scopes : ""),
		QA_INT(g->created_at), QA_INT(g->updated_at)),
	    NULL);
}

int
store_group_insert(struct db *db, const struct store_group *g)
{
	return store_tx(db, insert_tx, (void *)g);
}

int
store_group_get(struct db *db, const char *id, struct store_group *out)
{
	memset(out, 0, sizeof(*out));
	return store_one(db, "SELECT " GROUP_COLS " FROM groups WHERE id = ?",
	    Q_ARGS(QA_TEXT(id)), GROUP_READ(out));
}

struct group_list {
	struct store_group *v;
	size_t len, cap;
};

static int
list_row(struct db_stmt *s, void *arg)
{
	struct group_list *l = arg;
	struct store_group *g = Q_GROW(l->v, l->len, l->cap);

	q_read(s, GROUP_READ(g));
	return 0;
}

static int
list(struct db *db, const char *sql, const struct q_arg *args,
    struct store_group **out, size_t *n)
{
	struct group_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	if ((r = store_all(db, sql, args, list_row, &l)) != 0) {
		store_groups_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

int
store_groups_list(struct db *db, struct store_group **out, size_t *n)
{
	return list(db, "SELECT " GROUP_COLS " FROM groups ORDER BY name",
	    Q_NOARGS, out, n);
}

int
store_groups_of(
    struct db *db, const char *member_id, struct store_group **out, size_t *n)
{
	return list(db,
	    "SELECT " GROUP_COLS_G " FROM groups g"
	    " JOIN group_members m ON m.group_id = g.id"
	    " WHERE m.member_id = ? ORDER BY g.name",
	    Q_ARGS(QA_TEXT(member_id)), out, n);
}

struct delete
{
	const char *id;
	int64_t now;
};

static int
delete_tx(struct db_conn *c, void *arg)
{
	const struct delete *a = arg;
	int r;

	if ((r = q_one(c, "SELECT 1 FROM groups WHERE id = ?",
		 Q_ARGS(QA_TEXT(a->id)), Q_NOCOLS)) != 0)
		return r;
	/* An owned service account would be left answerable to no one. */
	r = q_one(c, "SELECT 1 FROM service_accounts WHERE owner_id = ?",
	    Q_ARGS(QA_TEXT(a->id)), Q_NOCOLS);
	if (r == 0)
		return PC_ERR_CONFLICT;
	if (r != PC_ERR_NOT_FOUND)
		return r;
	if ((r = q_exec(c, "DELETE FROM group_members WHERE group_id = ?",
		 Q_ARGS(QA_TEXT(a->id)), NULL)) != 0 ||
	    (r = q_exec(c, "DELETE FROM groups WHERE id = ?",
		 Q_ARGS(QA_TEXT(a->id)), NULL)) != 0)
		return r;
	return q_exec(c,
	    "INSERT INTO deleted_groups (id, deleted_at) VALUES (?, ?)",
	    Q_ARGS(QA_TEXT(a->id), QA_INT(a->now)), NULL);
}

int
store_group_delete(struct db *db, const char *id, int64_t now)
{
	struct delete a = { id, now };

	return store_tx(db, delete_tx, &a);
}

struct member {
	const char *group_id, *member_id;
	int64_t now;
	bool added;
};

static int
member_add_tx(struct db_conn *c, void *arg)
{
	struct member *a = arg;
	int64_t rows = 0;
	int r;

	a->added = false;
	if ((r = q_one(c, "SELECT 1 FROM groups WHERE id = ?",
		 Q_ARGS(QA_TEXT(a->group_id)), Q_NOCOLS)) != 0 ||
	    (r = q_one(c,
		 "SELECT 1 FROM users WHERE id = ?"
		 " UNION ALL SELECT 1 FROM service_accounts WHERE id = ?",
		 Q_ARGS(QA_TEXT(a->member_id), QA_TEXT(a->member_id)),
		 Q_NOCOLS)) != 0)
		return r;
	if ((r = q_exec(c,
		 "INSERT INTO group_members (group_id, member_id, added_at)"
		 " VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
		 Q_ARGS(QA_TEXT(a->group_id), QA_TEXT(a->member_id),
		     QA_INT(a->now)),
		 &rows)) != 0)
		return r;
	a->added = rows > 0;
	if (!a->added)
		return 0;
	return q_exec(c, "UPDATE groups SET updated_at = ? WHERE id = ?",
	    Q_ARGS(QA_INT(a->now), QA_TEXT(a->group_id)), NULL);
}

int
store_group_member_add(struct db *db, const char *group_id,
    const char *member_id, int64_t now, bool *added)
{
	struct member a = { group_id, member_id, now, false };
	int r = store_tx(db, member_add_tx, &a);

	if (added != NULL)
		*added = r == 0 && a.added;
	return r;
}

static int
member_remove_tx(struct db_conn *c, void *arg)
{
	const struct member *a = arg;

	return q_one(c,
	    "DELETE FROM group_members WHERE group_id = ? AND member_id = ?"
	    " RETURNING 1",
	    Q_ARGS(QA_TEXT(a->group_id), QA_TEXT(a->member_id)), Q_NOCOLS);
}

int
store_group_member_remove(
    struct db *db, const char *group_id, const char *member_id)
{
	struct member a = { group_id, member_id, 0, false };

	return store_tx(db, member_remove_tx, &a);
}

struct strv {
	char **v;
	size_t len, cap;
};

static int
strv_row(struct db_stmt *s, void *arg)
{
	struct strv *l = arg;
	char **p = Q_GROW(l->v, l->len, l->cap);

	*p = db_col_dup(s, 0);
	return 0;
}

int
store_group_members(struct db *db, const char *group_id, char ***out, size_t *n)
{
	struct strv l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT member_id FROM group_members WHERE group_id = ?"
	    " ORDER BY member_id",
	    Q_ARGS(QA_TEXT(group_id)), strv_row, &l);
	if (r != 0) {
		store_strv_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}
