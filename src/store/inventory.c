/*
 * The inventory's own reads (issue 14, item 7): metadata of credentials
 * that no list function of their module gives. Never a secret or a hash:
 * the report shows what exists and how old it is.
 */
#include <stdlib.h>

#include "store/store.h"
#include "store/q.h"

struct infos {
	struct store_password_info *v;
	size_t n, cap;
};

static int
read_info(struct db_stmt *s, void *arg)
{
	struct infos *a = arg;
	struct store_password_info *p = Q_GROW(a->v, a->n, a->cap);

	q_read(s,
	    Q_COLS(QC_FIXED(p->user_id), QC_INT(&p->created_at),
		QC_INT(&p->updated_at)));
	return 0;
}

int
store_password_infos(struct db *db, struct store_password_info **out, size_t *n)
{
	struct infos a = { NULL, 0, 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT user_id, created_at, updated_at FROM credentials"
	    " WHERE kind = 'password' ORDER BY user_id",
	    Q_NOARGS, read_info, &a);
	if (r != 0) {
		free(a.v);
		return r;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}
