/*
 * Personal API keys on the account page (/account/keys; issue 14,
 * SECURITY.md AK-07): a signed-in user lists, creates and revokes their
 * own keys (pck_usr_…).
 *
 * Creating a key hands out a long-lived credential, so it takes what the
 * other sensitive account changes take: the form's CSRF token (CF-01)
 * and a recent sign-in (SS-09; otherwise the password page first). The
 * key is shown once, on the answer to the POST (no-store), never again;
 * the creation is audited (api_key.create) and the user is told by mail,
 * so a stolen session that made one is noticed. Revoking takes a key
 * away and needs only the CSRF token; a user can revoke only their own.
 * Every rule about what a key may hold is the domain's (apikey_create).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "machine/machine.h"
#include "mail/mail.h"
#include "util/log.h"
#include "web/recover.h"
#include "web/web.h"

#define FORM_KEYS "account-keys"
#define PATH_KEYS "/account/keys"

static const char *
notice_for(struct req *r)
{
	const struct kvlist *q;
	const char *done;

	if (req_query(r, &q) != 0 || (done = kvlist_value(q, "done")) == NULL)
		return NULL;
	if (strcmp(done, "revoked") == 0)
		return "The key was revoked. It no longer works.";
	if (strcmp(done, "reauth") == 0)
		return "Thank you: you can now create a key for the next few "
		       "minutes.";
	return NULL;
}

static void
render_list(struct buf *b, const struct session *s, const struct apikey_view *v,
    size_t n, int64_t now)
{
	char token[64];

	page_puts(b, "<h2>Your keys</h2>\n");
	if (n == 0) {
		page_puts(b, "<p>You have no API keys.</p>\n");
		return;
	}
	if (session_csrf_token(s, FORM_KEYS, token) != 0)
		return;
	page_puts(b,
	    "<table><thead><tr><th>Key</th><th>Name</th><th>Scope</th>"
	    "<th>Resource</th><th>Expires</th><th>Last used</th><th></th>"
	    "</tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		char exp[32], used[32];

		page_time(v[i].expires_at, exp);
		page_time(v[i].last_used_at, used);
		page_printf(b, "<tr><td>%s</td><td>", v[i].id);
		page_text(b, v[i].name);
		page_puts(b, "</td><td>");
		page_text(b, v[i].scopes);
		page_puts(b, "</td><td>");
		page_text(
		    b, v[i].resource_id != NULL ? v[i].resource_id : "any");
		page_printf(b, "</td><td>%s</td><td>%s", exp, used);
		if (v[i].last_used_ip != NULL) {
			page_puts(b, " from ");
			page_text(b, v[i].last_used_ip);
		}
		page_puts(b, "</td><td>");
		if (v[i].revoked_at != 0) {
			page_puts(b, "Revoked");
		} else if (now >= v[i].expires_at) {
			page_puts(b, "Expired");
		} else {
			page_printf(b,
			    "<form method=\"post\" action=\"%s\" "
			    "class=\"inline\">",
			    PATH_KEYS);
			page_csrf(b, token);
			page_printf(b,
			    "<input type=\"hidden\" name=\"action\" "
			    "value=\"revoke\"><input type=\"hidden\" "
			    "name=\"id\" value=\"%s\"><button type=\"submit\" "
			    "class=\"link\">Revoke</button></form>",
			    v[i].id);
		}
		page_puts(b, "</td></tr>\n");
	}
	page_puts(b, "</tbody></table>\n");
	sodium_memzero(token, sizeof(token));
}

static void
render_create_form(struct buf *b, const struct session *s)
{
	char token[64];

	if (session_csrf_token(s, FORM_KEYS, token) != 0)
		return;
	page_puts(b, "<h2>Create a key</h2>\n");
	page_printf(b, "<form method=\"post\" action=\"%s\">\n", PATH_KEYS);
	page_csrf(b, token);
	page_puts(b,
	    "<input type=\"hidden\" name=\"action\" value=\"create\">\n"
	    "<label for=\"name\">Name</label>\n"
	    "<input id=\"name\" name=\"name\" maxlength=\"128\" "
	    "autocomplete=\"off\">\n"
	    "<label for=\"scope\">Scopes (space-separated)</label>\n"
	    "<input id=\"scope\" name=\"scope\" required "
	    "autocomplete=\"off\">\n"
	    "<label for=\"resource\">Resource (optional)</label>\n"
	    "<input id=\"resource\" name=\"resource\" autocomplete=\"off\">\n"
	    "<label for=\"days\">Valid for (days)</label>\n"
	    "<input id=\"days\" name=\"days\" type=\"number\" min=\"1\" "
	    "max=\"365\" value=\"90\">\n"
	    "<p class=\"hint\">The key is shown once. Keep it out of code, "
	    "logs and URLs; exchange it at the token endpoint for short-lived "
	    "tokens where you can.</p>\n"
	    "<button type=\"submit\">Create key</button>\n</form>\n");
	sodium_memzero(token, sizeof(token));
}

static void
render(struct req *r, struct resp *w, const struct session *s, int status,
    const char *error)
{
	struct app *app = r->app;
	struct apikey_view *v = NULL;
	const char *notice = error == NULL ? notice_for(r) : NULL;
	size_t n = 0;
	struct buf b;

	if (apikey_views_of(app->db, s->user_id, &v, &n) != 0) {
		web_unavailable(w);
		return;
	}
	buf_init(&b, 256 * 1024);
	page_begin(&b, "Your API keys");
	if (error != NULL)
		page_notice(&b, "error", error);
	else if (notice != NULL)
		page_notice(&b, "info", notice);
	render_list(&b, s, v, n, r->now);
	render_create_form(&b, s);
	page_puts(&b,
	    "<nav><a href=\"/account\">Back to your account</a>"
	    "</nav>\n");
	page_end(&b);
	page_send(w, status, &b);
	apikey_views_free(v, n);
}

/* The key, this once. */
static void
render_created(struct resp *w, const struct apikey_view *v, const char *key)
{
	char exp[32];
	struct buf b;

	page_time(v->expires_at, exp);
	buf_init(&b, 64 * 1024);
	page_begin(&b, "Your new API key");
	page_notice(&b, "info",
	    "Copy the key now: it is shown this once and cannot be shown "
	    "again.");
	page_printf(
	    &b, "<p>Key %s, valid until %s:</p>\n<p><code>", v->id, exp);
	page_text(&b, key);
	page_puts(&b,
	    "</code></p>\n<nav><a href=\"/account/keys\">Back to "
	    "your API keys</a></nav>\n");
	page_end(&b);
	page_send(w, 200, &b);
}

static void
notify_created(struct req *r, const char *user_id, const struct apikey_view *v)
{
	struct app *app = r->app;
	struct user u;
	struct mail_msg m;

	memset(&m, 0, sizeof(m));
	if (user_get(app->db, user_id, &u) == 0 &&
	    mail_compose_api_key_created(
		app->cfg, u.email, v->id, v->expires_at, r->now, &m) == 0)
		recover_send_mail(app, &m);
	user_clear(&u);
}

static void
create(struct req *r, struct resp *w, const struct session *s)
{
	struct app *app = r->app;
	const char *days = web_field(r, "days"),
		   *res = web_field(r, "resource");
	struct apikey_request rq = { .owner_id = s->user_id,
		.scopes = web_field(r, "scope"),
		.name = web_field(r, "name") };
	char key[APIKEY_MAX_LEN + 1];
	struct apikey_view v;
	const char *why = NULL;
	json_t *d;
	int64_t nd = 0;
	int rc;

	/* SS-09: a long-lived credential needs a recent sign-in. */
	if (!web_recent_auth(r, s)) {
		web_render_reauth(r, w, s, 403, NULL, "keys");
		return;
	}
	if (days != NULL && days[0] != '\0' &&
	    (str_to_int64(str_from(days), 1, 365, &nd) != 0)) {
		render(r, w, s, 400, "Choose a lifetime of 1 to 365 days.");
		return;
	}
	rq.ttl = nd * 86400;
	rq.resource_id = res != NULL && res[0] != '\0' ? res : NULL;
	rc = apikey_create_view(app->db, app->cfg, &rq, r->now, &v, key, &why);
	if (rc == PC_ERR_INVALID) {
		render(r, w, s, 400,
		    why != NULL ? why : "That key cannot be created.");
		return;
	}
	if (rc != 0) {
		web_unavailable(w);
		return;
	}
	/* AU-01: recorded before it is handed out; else revoked again. */
	d = json_pack("{s:s, s:s, s:I}", "scope", v.scopes, "resource",
	    v.resource_id != NULL ? v.resource_id : "", "expires_at",
	    (json_int_t)v.expires_at);
	rc = web_audit(r, s, "api_key.create", "success", s->user_id, v.id, d);
	json_decref(d);
	if (rc != 0) {
		bool changed;

		if (apikey_revoke_owned(app->db, s->user_id, v.id, r->now,
			"audit failed", &changed) != 0)
			log_msg(LOG_ERROR, "api_key.unaudited",
			    "an unaudited key could not be revoked");
		web_unavailable(w);
	} else {
		notify_created(r, s->user_id, &v);
		render_created(w, &v, key);
	}
	sodium_memzero(key, sizeof(key));
	apikey_view_clear(&v);
}

static void
revoke(struct req *r, struct resp *w, const struct session *s)
{
	struct app *app = r->app;
	const char *id = web_field(r, "id");
	bool changed = false;
	json_t *d;
	int rc;

	if (id == NULL || principal_kind(id) != PRINCIPAL_API_KEY) {
		render(r, w, s, 400, "Choose a key.");
		return;
	}
	rc = apikey_revoke_owned(
	    app->db, s->user_id, id, r->now, "owner", &changed);
	if (rc == PC_ERR_NOT_FOUND) {
		render(r, w, s, 400, "There is no such key of yours.");
		return;
	}
	if (rc != 0) {
		web_unavailable(w);
		return;
	}
	if (changed) {
		d = json_pack("{s:s}", "reason", "owner");
		rc = web_audit(
		    r, s, "api_key.revoke", "success", s->user_id, id, d);
		json_decref(d);
		if (rc != 0) {
			/* AU-01: revoked either way. */
			page_message(w, 503, "Unavailable",
			    "The key was revoked, but this could not be "
			    "recorded. Please try again later.",
			    PATH_KEYS, "Back to your API keys");
			return;
		}
	}
	web_redirect(w, PATH_KEYS "?done=revoked");
}

void
web_account_keys(struct req *r, struct resp *w)
{
	struct session s;
	const char *action;

	if (!web_signed_in(r, w, &s))
		return;
	if (r->method != HTTP_POST) {
		render(r, w, &s, 200, NULL);
	} else if (web_check_form(r, w, &s, FORM_KEYS)) {
		action = web_field(r, "action");
		if (action != NULL && strcmp(action, "create") == 0)
			create(r, w, &s);
		else if (action != NULL && strcmp(action, "revoke") == 0)
			revoke(r, w, &s);
		else
			render(r, w, &s, 400, "Unknown action.");
	}
	session_clear(&s);
}
