/*
 * The resources table (migration 0023; issue 14 item 2): the registry of
 * RFC 8707 resource identifiers that access tokens may be minted for, and
 * the client each resource server introspects with. Plain rows: every
 * rule about what a resource may be is in src/machine/resource.c.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"

#define RESOURCE_COLS \
	"id, name, scopes, client_id, created_at, updated_at, dpop_required"
#define RESOURCE_READ(r) \
	Q_COLS(QC_DUP(&(r)->id), QC_DUP(&(r)->name), QC_DUP(&(r)->scopes), \
	    QC_DUP_NULL(&(r)->client_id), QC_INT(&(r)->created_at), \
	    QC_INT(&(r)->updated_at), QC_BOOL(&(r)->dpop_required))

void
store_resource_clear(struct store_resource *r)
{
	free(r->id);
	free(r->name);
	free(r->scopes);
	free(r->client_id);
	memset(r, 0, sizeof(*r));
}

void
store_resources_free(struct store_resource *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_resource_clear(&v[i]);
	free(v);
}

int
store_resource_insert(struct db *db, const struct store_resource *r)
{
	/* A taken id, a client bound elsewhere (UNIQUE) or a client that
	 * does not exist (the foreign key) are all PC_ERR_CONFLICT. */
	return store_exec(db,
	    "INSERT INTO resources (" RESOURCE_COLS
	    ") VALUES (?, ?, ?, ?, ?, ?, ?)",
	    Q_ARGS(QA_TEXT(r->id), QA_TEXT(r->name), QA_TEXT(r->scopes),
		QA_TEXT(r->client_id), QA_INT(r->created_at),
		QA_INT(r->updated_at), QA_INT(r->dpop_required ? 1 : 0)),
	    NULL);
}

int
store_resource_get(struct db *db, const char *id, struct store_resource *out)
{
	memset(out, 0, sizeof(*out));
	return store_one(db,
	    "SELECT " RESOURCE_COLS " FROM resources WHERE id = ?",
	    Q_ARGS(QA_TEXT(id)), RESOURCE_READ(out));
}

int
store_resource_get_by_client(
    struct db *db, const char *client_id, struct store_resource *out)
{
	memset(out, 0, sizeof(*out));
	return store_one(db,
	    "SELECT " RESOURCE_COLS " FROM resources WHERE client_id = ?",
	    Q_ARGS(QA_TEXT(client_id)), RESOURCE_READ(out));
}

struct resource_list {
	struct store_resource *v;
	size_t len, cap;
};

static int
list_row(struct db_stmt *s, void *arg)
{
	struct resource_list *l = arg;
	struct store_resource *r = Q_GROW(l->v, l->len, l->cap);

	q_read(s, RESOURCE_READ(r));
	return 0;
}

int
store_resources_list(struct db *db, struct store_resource **out, size_t *n)
{
	struct resource_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db, "SELECT " RESOURCE_COLS " FROM resources ORDER BY id",
	    Q_NOARGS, list_row, &l);
	if (r != 0) {
		store_resources_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

int
store_resource_update(struct db *db, const struct store_resource *r)
{
	int64_t rows = 0;
	int rc = store_exec(db,
	    "UPDATE resources SET name = ?, scopes = ?, dpop_required = ?,"
	    " updated_at = ? WHERE id = ? RETURNING 1",
	    Q_ARGS(QA_TEXT(r->name), QA_TEXT(r->scopes),
		QA_INT(r->dpop_required ? 1 : 0), QA_INT(r->updated_at),
		QA_TEXT(r->id)),
	    &rows);

	if (rc != 0)
		return rc;
	return rows > 0 ? 0 : PC_ERR_NOT_FOUND;
}

int
store_resource_delete(struct db *db, const char *id)
{
	int64_t rows = 0;
	int r = store_exec(db, "DELETE FROM resources WHERE id = ? RETURNING 1",
	    Q_ARGS(QA_TEXT(id)), &rows);

	if (r != 0)
		return r;
	return rows > 0 ? 0 : PC_ERR_NOT_FOUND;
}
