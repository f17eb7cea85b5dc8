/*
 * admin/audit.c: GET /admin/v1/audit — the audit log read by principal,
 * the question `portcullis audit query` asks (audit_query()): the events
 * where an id is the actor or the target, in a window, oldest first,
 * pending rows included. Reading it is not audited (it changes nothing).
 */
#include <limits.h>
#include <string.h>

#include "admin/admin.h"
#include "app.h"
#include "audit/audit.h"

static json_t *
row_json(const struct store_audit_row *r)
{
	json_t *o, *d = NULL;

	if (r->details != NULL)
		d = json_loads(r->details, 0, NULL);
	o = json_pack("{s:o, s:I, s:s, s:s, s:s*, s:s*, s:s*, s:s*, s:s*, "
		      "s:o}",
	    "seq", r->id[0] != '\0' ? json_null() : json_integer(r->seq),
	    "ts_ms", (json_int_t)r->ts_ms, "event", r->event, "outcome",
	    r->outcome, "actor", r->actor, "target", r->target, "ip", r->ip,
	    "user_agent", r->user_agent, "request_id", r->request_id, "details",
	    d != NULL ? d : json_null());
	return o;
}

/* A time in the query: RFC 3339 or unix seconds, as the CLI takes it. */
static int
time_arg(struct admin_ctx *c, const char *name, int64_t *out)
{
	const char *v = admin_query(c, name);

	if (v == NULL)
		return 0;
	if (clock_parse_time(v, out) != 0) {
		admin_error(c, 400, "invalid_request",
		    "since and until take an RFC 3339 time or unix seconds.");
		return -1;
	}
	return 0;
}

static void
query(struct admin_ctx *c)
{
	static const char *const extra[] = { "principal", "since", "until",
		NULL };
	struct store_audit_filter f;
	struct store_audit_row *v = NULL;
	const char *after;
	int64_t limit;
	size_t n = 0;
	bool more = false;
	json_t *items;
	int rc;

	if (admin_page(c, extra, &limit, &after) != 0)
		return;
	if (after != NULL) {
		admin_error(c, 400, "invalid_request",
		    "Go on with since (the last event's time).");
		return;
	}
	memset(&f, 0, sizeof(f));
	f.principal = admin_query(c, "principal");
	f.since_ms = INT64_MIN;
	f.until_ms = INT64_MAX;
	f.limit = (size_t)limit;
	if (time_arg(c, "since", &f.since_ms) != 0 ||
	    time_arg(c, "until", &f.until_ms) != 0)
		return;
	if (!audit_principal_ok(f.principal) || f.since_ms >= f.until_ms) {
		admin_error(c, 400, "invalid_request",
		    "principal (an id) is required, and since must be before "
		    "until.");
		return;
	}
	if ((rc = audit_query(c->app->db, &f, &v, &n, &more)) != 0) {
		admin_error_code(c, rc, "audit");
		return;
	}
	items = json_array();
	for (size_t i = 0; items != NULL && i < n; i++)
		json_array_append_new(items, row_json(&v[i]));
	store_audit_rows_free(v, n);
	admin_json(
	    c, 200, json_pack("{s:o, s:b}", "items", items, "more", more));
}

static const struct admin_route routes[] = {
	{ "/audit", HTTP_GET, ADMIN_AUDIT, false, false, query },
};
ADMIN_TABLE(admin_audit_table, routes);
