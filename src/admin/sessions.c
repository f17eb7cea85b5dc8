/*
 * admin/sessions.c: /admin/v1/users/{id}/sessions — a user's browser
 * sessions, and ending them (SS-07, RT-05: the refresh-token families
 * issued from an ended session are revoked in the same transaction), as
 * `portcullis user sign-out` does. A session is named by its id hash
 * (SHA-256 of the cookie, SS-03): it names the session, never opens it.
 */
#include <string.h>

#include "admin/admin.h"
#include "app.h"
#include "auth/auth.h"
#include "auth/user_admin.h"

static bool
hex64(const char *s)
{
	if (strlen(s) != PC_SHA256_HEX_LEN)
		return false;
	for (size_t i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static void
list(struct admin_ctx *c)
{
	struct session_info *v = NULL;
	struct user_record u;
	size_t n = 0;
	json_t *items;
	int rc;

	if (admin_user_of(c, &u) != 0)
		return;
	if ((rc = session_list_user(c->app->db, u.id, &v, &n)) != 0) {
		admin_error_code(c, rc, "user");
		user_record_clear(&u);
		return;
	}
	items = json_array();
	for (size_t i = 0; items != NULL && i < n; i++)
		json_array_append_new(items,
		    json_pack("{s:s, s:I, s:I, s:s*, s:s*}", "id", v[i].id_hash,
			"auth_time", (json_int_t)v[i].auth_time, "last_seen_at",
			(json_int_t)v[i].last_seen_at, "ip", v[i].ip,
			"user_agent", v[i].user_agent));
	session_infos_free(v, n);
	admin_json(
	    c, 200, json_pack("{s:s, s:o}", "user_id", u.id, "items", items));
	user_record_clear(&u);
}

static void
end(struct admin_ctx *c, const char *only)
{
	struct user_record u;
	int64_t ended = 0, families = 0;
	json_t *d;
	int rc;

	if (admin_user_of(c, &u) != 0)
		return;
	rc =
	    user_sign_out(c->app->db, u.id, only, c->r->now, &ended, &families);
	if (rc == 0) {
		d = json_pack("{s:I, s:I}", "sessions", (json_int_t)ended,
		    "families", (json_int_t)families);
		if (d != NULL && only != NULL)
			json_object_set_new(d, "session", json_string(only));
		rc = admin_audit(c, "session.revoke", u.id, d);
		json_decref(d);
	}
	if (rc != 0)
		admin_error_code(c, rc, "session");
	else
		admin_json(c, 200,
		    json_pack("{s:s, s:I, s:I}", "user_id", u.id, "ended",
			(json_int_t)ended, "families", (json_int_t)families));
	user_record_clear(&u);
}

static void
end_all(struct admin_ctx *c)
{
	end(c, NULL);
}

static void
end_one(struct admin_ctx *c)
{
	const char *sid = admin_param(c, "session");

	if (!hex64(sid)) {
		admin_error(c, 404, "not_found", "No such session.");
		return;
	}
	end(c, sid);
}

static const struct admin_route routes[] = {
	{ "/users/{id}/sessions", HTTP_GET, ADMIN_SESSIONS, false, false,
	    list },
	{ "/users/{id}/sessions", HTTP_DELETE, ADMIN_SESSIONS, true, false,
	    end_all },
	{ "/users/{id}/sessions/{session}", HTTP_DELETE, ADMIN_SESSIONS, true,
	    false, end_one },
};
ADMIN_TABLE(admin_sessions_table, routes);
