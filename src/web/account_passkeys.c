/*
 * Passkeys on the account page (/account/passkeys; issue 16, SECURITY.md
 * WA-05, WA-07, SS-09, AU-06): a signed-in user lists their passkeys
 * (name, when added, when last used, blocked after a counter went back),
 * adds one, renames and removes them.
 *
 * Adding a passkey adds a way into the account, so it takes what the
 * other sensitive changes take: the form's CSRF token (CF-01) and a
 * recent sign-in (SS-09; otherwise the password page first), and the
 * WebAuthn user.id given to the authenticator is the account's opaque
 * random handle, never its email (WA-05). Removing one takes the same,
 * since a stolen session must not strip the owner's factors. Both are
 * audited (mfa.passkey.enrol / mfa.passkey.remove) and mailed to the
 * user (WA-07, AU-06). An IP-literal issuer cannot offer passkeys
 * (browsers refuse an IP address as RP ID): the page says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "mail/mail.h"
#include "util/log.h"
#include "web/recover.h"
#include "web/web.h"

#define FORM_PASSKEYS "account-passkeys"
#define PATH_PASSKEYS "/account/passkeys"

static const char *
notice_for(struct req *r)
{
	const struct kvlist *q;
	const char *done;

	if (req_query(r, &q) != 0 || (done = kvlist_value(q, "done")) == NULL)
		return NULL;
	if (strcmp(done, "added") == 0)
		return "Your passkey was added. You can sign in with it now.";
	if (strcmp(done, "removed") == 0)
		return "The passkey was removed. It no longer signs in.";
	if (strcmp(done, "renamed") == 0)
		return "The passkey was renamed.";
	if (strcmp(done, "reauth") == 0)
		return "Thank you: you can now add or remove a passkey for the "
		       "next few minutes.";
	return NULL;
}

static void
hidden(struct buf *b, const char *name, const char *value)
{
	page_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
	page_text(b, value);
	page_puts(b, "\">");
}

static void
render_list(
    struct buf *b, const char *token, const struct passkey_view *v, size_t n)
{
	page_puts(b, "<h2>Passkeys on this account</h2>\n");
	if (n == 0) {
		page_puts(b, "<p>You have no passkeys.</p>\n");
		return;
	}
	page_puts(b,
	    "<table><thead><tr><th>Name</th><th>Added</th><th>Last used</th>"
	    "<th>Kind</th><th></th></tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		char added[32], used[32];

		page_time(v[i].created_at, added);
		page_time(v[i].last_used_at, used);
		page_puts(b, "<tr><td>");
		page_text(b, v[i].name);
		if (v[i].cloned_at != 0)
			page_puts(b,
			    " <strong>(blocked: its counter went "
			    "back, it may have been copied)</strong>");
		page_printf(b, "</td><td>%s</td><td>%s</td><td>%s</td><td>",
		    added, used, v[i].synced ? "synced" : "this device");
		page_printf(b,
		    "<form method=\"post\" action=\"%s\" class=\"inline\">",
		    PATH_PASSKEYS);
		page_csrf(b, token);
		hidden(b, "action", "rename");
		hidden(b, "id", v[i].id);
		page_printf(b,
		    "<input name=\"name\" maxlength=\"%d\" required "
		    "aria-label=\"New name\" value=\"",
		    PASSKEY_NAME_MAX);
		page_text(b, v[i].name);
		page_puts(b,
		    "\"><button type=\"submit\" class=\"link\">Rename</button>"
		    "</form> ");
		page_printf(b,
		    "<form method=\"post\" action=\"%s\" class=\"inline\">",
		    PATH_PASSKEYS);
		page_csrf(b, token);
		hidden(b, "action", "remove");
		hidden(b, "id", v[i].id);
		page_puts(b,
		    "<button type=\"submit\" class=\"link\">Remove"
		    "</button></form></td></tr>\n");
	}
	page_puts(b, "</tbody></table>\n");
}

/* The add form: with the WebAuthn options after a recent sign-in, else a
 * button that asks for the password first (SS-09). */
static void
render_add(
    struct req *r, struct buf *b, const struct session *s, const char *token)
{
	struct app *app = r->app;
	struct passkey_options o;
	const char *why = passkey_unavailable(app->cfg);
	int rc;

	page_puts(b, "<h2>Add a passkey</h2>\n");
	if (why != NULL) {
		page_puts(b, "<p>Passkeys cannot be offered here: ");
		page_text(b, why);
		page_puts(b, ".</p>\n");
		return;
	}
	page_puts(b,
	    "<p>A passkey signs you in with your device's screen lock or a "
	    "security key, without a password, and cannot be phished.</p>\n");
	if (!web_recent_auth(r, s)) {
		page_printf(
		    b, "<form method=\"post\" action=\"%s\">", PATH_PASSKEYS);
		page_csrf(b, token);
		hidden(b, "action", "add");
		page_puts(b,
		    "<button type=\"submit\">Add a passkey</button>"
		    "</form>\n");
		return;
	}
	rc = passkey_begin(app->db, app->cfg, s, PASSKEY_REGISTER, s->user_id,
	    false, r->now, &o);
	if (rc == PC_ERR_TOO_LARGE) {
		page_printf(b,
		    "<p>You have %d passkeys, the most an account may have. "
		    "Remove one to add another.</p>\n",
		    PASSKEY_MAX_PER_USER);
		return;
	}
	if (rc != 0) {
		page_notice(b, "error",
		    "A passkey cannot be added right now. Please try again "
		    "later.");
		return;
	}
	web_passkey_form(b, PATH_PASSKEYS, "create", &o, token,
	    app->cfg->issuer_authority != NULL ? app->cfg->issuer_authority
					       : app->cfg->issuer);
	hidden(b, "action", "add");
	page_printf(b,
	    "\n<label for=\"pkname\">Name</label>\n"
	    "<input id=\"pkname\" name=\"name\" maxlength=\"%d\" "
	    "placeholder=\"e.g. Laptop\" autocomplete=\"off\">\n"
	    "<button type=\"submit\">Add a passkey</button>\n</form>\n"
	    "<script src=\"/passkey.js\" defer></script>\n",
	    PASSKEY_NAME_MAX);
	passkey_options_clear(&o);
}

static void
render(struct req *r, struct resp *w, const struct session *s, int status,
    const char *error)
{
	struct app *app = r->app;
	struct passkey_view *v = NULL;
	const char *notice = error == NULL ? notice_for(r) : NULL;
	size_t n = 0;
	char token[64];
	struct buf b;

	if (session_csrf_token(s, FORM_PASSKEYS, token) != 0 ||
	    passkey_list(app->db, s->user_id, &v, &n) != 0) {
		sodium_memzero(token, sizeof(token));
		web_unavailable(w);
		return;
	}
	buf_init(&b, 256 * 1024);
	page_begin(&b, "Your passkeys");
	if (error != NULL)
		page_notice(&b, "error", error);
	else if (notice != NULL)
		page_notice(&b, "info", notice);
	render_list(&b, token, v, n);
	render_add(r, &b, s, token);
	page_puts(
	    &b, "<nav><a href=\"/account\">Back to your account</a></nav>\n");
	page_end(&b);
	page_send(w, status, &b);
	passkey_views_free(v, n);
	sodium_memzero(token, sizeof(token));
}

/* WA-07, AU-06: the user hears of every passkey added or removed. */
static void
notify(struct req *r, const char *user_id, bool added)
{
	struct app *app = r->app;
	struct user u;
	struct mail_msg m;

	memset(&m, 0, sizeof(m));
	if (user_get(app->db, user_id, &u) == 0 &&
	    mail_compose_passkey_changed(
		app->cfg, u.email, added, r->now, &m) == 0)
		recover_send_mail(app, &m);
	user_clear(&u);
}

static const char *
add_error(int rc)
{
	switch (rc) {
	case PC_ERR_NOT_FOUND:
		return "This passkey request has expired or was already used. "
		       "Please try again.";
	case PC_ERR_CONFLICT: return "This passkey is already registered.";
	case PC_ERR_TOO_LARGE:
		return "You have the most passkeys an account may have.";
	case PC_ERR_UNSUPPORTED:
		return "Passkeys cannot be offered on this server.";
	case PC_ERR_INVALID: return "That passkey answer or name is not valid.";
	default: return "The passkey could not be verified. Please try again.";
	}
}

static void
add(struct req *r, struct resp *w, const struct session *s)
{
	struct app *app = r->app;
	struct passkey_registration in = { web_field(r, "challenge"),
		web_field(r, "client_data"), web_field(r, "attestation_object"),
		web_field(r, "transports"), web_field(r, "name") };
	char id[PASSKEY_ID_LEN];
	json_t *d;
	int rc;

	/* SS-09, WA-05: a new way in needs a recent sign-in. */
	if (!web_recent_auth(r, s)) {
		web_render_reauth(r, w, s, 403, NULL, "passkeys");
		return;
	}
	if (in.client_data == NULL || in.client_data[0] == '\0') {
		render(r, w, s, 400,
		    "Adding a passkey needs JavaScript in this browser for the "
		    "passkey itself. Please allow it and try again.");
		return;
	}
	rc = passkey_register_finish(
	    app->db, app->cfg, s, s->user_id, &in, r->now, id);
	if (rc != 0) {
		if (rc != PC_ERR_NOT_FOUND && rc != PC_ERR_CONFLICT &&
		    rc != PC_ERR_TOO_LARGE && rc != PC_ERR_UNSUPPORTED &&
		    rc != PC_ERR_INVALID && rc != PC_ERR_VERIFY) {
			web_unavailable(w);
			return;
		}
		d = json_pack("{s:s}", "reason",
		    rc == PC_ERR_CONFLICT ? "registered" : "verify");
		web_audit(
		    r, s, "mfa.passkey.enrol", "failure", s->user_id, NULL, d);
		json_decref(d);
		render(
		    r, w, s, rc == PC_ERR_CONFLICT ? 409 : 400, add_error(rc));
		return;
	}
	/* AU-01: recorded, or taken away again. */
	if (web_audit(r, s, "mfa.passkey.enrol", "success", s->user_id, id,
		NULL) != 0) {
		if (passkey_remove(app->db, s->user_id, id) != 0)
			log_msg(LOG_ERROR, "mfa.passkey.unaudited",
			    "an unaudited passkey could not be removed");
		web_unavailable(w);
		return;
	}
	notify(r, s->user_id, true);
	web_redirect(w, PATH_PASSKEYS "?done=added");
}

static void
remove_one(struct req *r, struct resp *w, const struct session *s)
{
	struct app *app = r->app;
	const char *id = web_field(r, "id");
	int rc;

	/* SS-09: a stolen session must not strip the owner's passkeys. */
	if (!web_recent_auth(r, s)) {
		web_render_reauth(r, w, s, 403, NULL, "passkeys");
		return;
	}
	rc = passkey_remove(app->db, s->user_id, id);
	if (rc == PC_ERR_NOT_FOUND) {
		render(r, w, s, 400, "There is no such passkey of yours.");
		return;
	}
	if (rc != 0) {
		web_unavailable(w);
		return;
	}
	if (web_audit(r, s, "mfa.passkey.remove", "success", s->user_id, id,
		NULL) != 0) {
		/* AU-01: removed either way. */
		page_message(w, 503, "Unavailable",
		    "The passkey was removed, but this could not be recorded. "
		    "Please try again later.",
		    PATH_PASSKEYS, "Back to your passkeys");
		notify(r, s->user_id, false);
		return;
	}
	notify(r, s->user_id, false);
	web_redirect(w, PATH_PASSKEYS "?done=removed");
}

static void
rename_one(struct req *r, struct resp *w, const struct session *s)
{
	struct app *app = r->app;
	int rc = passkey_rename(
	    app->db, s->user_id, web_field(r, "id"), web_field(r, "name"));

	if (rc == PC_ERR_INVALID || rc == PC_ERR_NOT_FOUND) {
		render(r, w, s, 400,
		    rc == PC_ERR_INVALID
			? "Choose a name of 1 to 64 characters."
			: "There is no such passkey of yours.");
		return;
	}
	if (rc != 0) {
		web_unavailable(w);
		return;
	}
	web_redirect(w, PATH_PASSKEYS "?done=renamed");
}

void
web_account_passkeys(struct req *r, struct resp *w)
{
	struct session s;
	const char *action;

	if (!web_signed_in(r, w, &s))
		return;
	if (r->method != HTTP_POST) {
		render(r, w, &s, 200, NULL);
	} else if (web_check_form(r, w, &s, FORM_PASSKEYS)) {
		action = web_field(r, "action");
		if (action != NULL && strcmp(action, "add") == 0)
			add(r, w, &s);
		else if (action != NULL && strcmp(action, "remove") == 0)
			remove_one(r, w, &s);
		else if (action != NULL && strcmp(action, "rename") == 0)
			rename_one(r, w, &s);
		else
			render(r, w, &s, 400, "Unknown action.");
	}
	session_clear(&s);
}
