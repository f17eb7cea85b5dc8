/*
 * admin/meta.c: GET /admin/v1/openapi.json, the API's own description
 * (OpenAPI 3.1, merged at build time from src/admin/openapi/ by
 * scripts/embed_openapi.py). Open: it names routes and schemas, no data.
 */
#include "admin/admin.h"

static void
openapi(struct admin_ctx *c)
{
	if (resp_json_raw(
		c->w, 200, admin_openapi_json, admin_openapi_json_len) != 0)
		admin_error(
		    c, 503, "temporarily_unavailable", "Try again later.");
}

static const struct admin_route routes[] = {
	{ "/openapi.json", HTTP_GET, ADMIN_USERS, false, false, openapi },
};
ADMIN_TABLE(admin_meta_table, routes);
