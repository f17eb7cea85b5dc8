/*
 * audit/query.c: the audit log read by principal — `portcullis audit
 * query` and the admin API's GET /admin/v1/audit (issue 17) ask the same
 * question here: the events where an id is the actor or the target, in a
 * window, oldest first, pending rows included.
 */
#include <string.h>

#include "audit/audit.h"

bool
audit_principal_ok(const char *p)
{
	return p != NULL && p[0] != '\0' && strlen(p) <= AUDIT_FIELD_MAX &&
	    str_is_text(str_from(p));
}

int
audit_query(struct db *db, const struct store_audit_filter *f,
    struct store_audit_row **out, size_t *n, bool *more)
{
	*out = NULL;
	*n = 0;
	*more = false;
	if (!audit_principal_ok(f->principal) || f->limit < 1 ||
	    f->limit > AUDIT_QUERY_MAX || f->since_ms >= f->until_ms)
		return PC_ERR_INVALID;
	return store_audit_query(db, f, out, n, more);
}
