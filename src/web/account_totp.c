/*
 * The authenticator-app (TOTP) page of the account (/account/mfa/totp;
 * issue 16, SECURITY.md MF-05, MF-06, SS-09, CF-01, AU-01, AU-06).
 *
 * GET, for a user without an active TOTP credential, begins an
 * enrolment: it needs a recent sign-in (SS-09, otherwise the password page
 * first), makes a new seed and shows it this once, as a QR code (inline
 * SVG, web/qr.c) and as base32 text, with a form for the first code. The
 * POST with a correct code activates it (MF-05); the change is audited
 * (mfa.totp.enrol) and the user is told by mail. For a user whose TOTP is
 * active the page shows only that it is, and a form to remove it; the
 * secret is never shown again (MF-06). Removing needs the CSRF token and
 * a recent sign-in as well, is audited (mfa.totp.remove) and mailed: a
 * lost or stolen phone can be revoked, and a stolen session cannot quietly
 * add or drop a factor. The rules are auth/totp.c's.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "auth/mfa.h"
#include "mail/mail.h"
#include "util/log.h"
#include "web/recover.h"
#include "web/web.h"

#define FORM_TOTP "account-totp"
#define PATH_TOTP "/account/mfa/totp"
#define PATH_MFA "/account/mfa"
#define PAGE_MAX (256 * 1024)

static void
code_form(struct buf *b, const char *token)
{
	page_printf(b, "<form method=\"post\" action=\"%s\">\n", PATH_TOTP);
	page_csrf(b, token);
	page_printf(b,
	    "<input type=\"hidden\" name=\"action\" value=\"activate\">\n"
	    "<label for=\"code\">The %d-digit code your app shows</label>\n"
	    "<input id=\"code\" name=\"code\" type=\"text\" "
	    "inputmode=\"numeric\" autocomplete=\"one-time-code\" "
	    "maxlength=\"16\" required>\n"
	    "<button type=\"submit\">Turn on</button>\n</form>\n",
	    TOTP_DIGITS);
}

/* The enrolment: the seed this once, as a QR code and as text. */
static void
render_enrol(struct resp *w, const struct session *s, const char *secret,
    const char *uri)
{
	char token[64];
	struct buf b;

	if (session_csrf_token(s, FORM_TOTP, token) != 0) {
		page_message(w, 500, "Error", "Internal error.", NULL, NULL);
		return;
	}
	buf_init(&b, PAGE_MAX);
	page_begin(&b, "Set up an authenticator app");
	page_puts(&b,
	    "<p>Scan this code with an authenticator app (one-time "
	    "codes, TOTP), then enter the code it shows to turn it on.</p>\n");
	if (web_qr_svg(&b, uri, "QR code for your authenticator app") != 0)
		page_puts(&b,
		    "<p>The QR code cannot be drawn: enter the "
		    "key below by hand.</p>\n");
	page_puts(&b,
	    "<p>Or enter this key in the app (time-based, 6 digits, 30 "
	    "seconds):</p>\n<p><code id=\"secret\">");
	page_text(&b, secret);
	page_puts(&b,
	    "</code></p>\n<p class=\"hint\">The key is shown only now. "
	    "Keep it to yourself: anyone who has it can make your "
	    "codes.</p>\n");
	code_form(&b, token);
	page_puts(
	    &b, "<nav><a href=\"/account\">Back to your account</a></nav>\n");
	page_end(&b);
	page_send(w, 200, &b); /* wipes the page, and the secret in it */
	sodium_memzero(token, sizeof(token));
}

/* An activation that did not work: the code form again, and a way to
 * start over (the key is not shown again). */
static void
render_retry(struct resp *w, const struct session *s, int status,
    const char *error, bool pending)
{
	char token[64];
	struct buf b;

	if (session_csrf_token(s, FORM_TOTP, token) != 0) {
		page_message(w, 500, "Error", "Internal error.", NULL, NULL);
		return;
	}
	buf_init(&b, 64 * 1024);
	page_begin(&b, "Set up an authenticator app");
	page_notice(&b, "error", error);
	if (pending)
		code_form(&b, token);
	page_printf(&b,
	    "<nav><a href=\"%s\">Start again with a new QR code</a>"
	    "<a href=\"/account\">Back to your account</a></nav>\n",
	    PATH_TOTP);
	page_end(&b);
	page_send(w, status, &b);
	sodium_memzero(token, sizeof(token));
}

/* An active credential: when, and the form that removes it. */
static void
render_active(struct req *r, struct resp *w, const struct session *s,
    const struct totp_status *st)
{
	char token[64], since[32], used[32];
	struct buf b;

	(void)r;
	if (session_csrf_token(s, FORM_TOTP, token) != 0) {
		page_message(w, 500, "Error", "Internal error.", NULL, NULL);
		return;
	}
	page_time(st->activated_at, since);
	page_time(st->last_used_at, used);
	buf_init(&b, 64 * 1024);
	page_begin(&b, "Authenticator app");
	page_printf(&b,
	    "<p>An authenticator app protects your account since %s "
	    "(last code accepted: %s).</p>\n"
	    "<p class=\"hint\">Its key cannot be shown again. To move to "
	    "a new phone, remove it here, then set it up again.</p>\n",
	    since, used);
	page_printf(&b, "<form method=\"post\" action=\"%s\">\n", PATH_TOTP);
	page_csrf(&b, token);
	page_puts(&b,
	    "<input type=\"hidden\" name=\"action\" value=\"remove\">\n"
	    "<button type=\"submit\">Remove the authenticator app</button>\n"
	    "</form>\n<nav><a href=\"/account\">Back to your account</a>"
	    "</nav>\n");
	page_end(&b);
	page_send(w, 200, &b);
	sodium_memzero(token, sizeof(token));
}

static void
notify(struct req *r, const char *user_id, bool added)
{
	struct app *app = r->app;
	struct user u;
	struct mail_msg m;

	memset(&m, 0, sizeof(m));
	memset(&u, 0, sizeof(u));
	if (user_get(app->db, user_id, &u) == 0 &&
	    mail_compose_totp_changed(app->cfg, u.email, added, r->now, &m) ==
		0)
		recover_send_mail(app, &m);
	user_clear(&u);
}

static void
show(struct req *r, struct resp *w, const struct session *s)
{
	struct app *app = r->app;
	struct totp_status st;
	char secret[TOTP_SECRET_B32_MAX];
	const char *issuer;
	char *uri = NULL;
	struct user u;
	int rc;

	if (totp_status_get(app->db, s->user_id, &st) != 0) {
		web_unavailable(w);
		return;
	}
	if (st.active) {
		render_active(r, w, s, &st);
		return;
	}
	/* SS-09, MF-05: a factor is added only after a recent sign-in. */
	if (!web_recent_auth(r, s)) {
		web_render_reauth(r, w, s, 403, NULL, "totp");
		return;
	}
	memset(&u, 0, sizeof(u));
	if (user_get(app->db, s->user_id, &u) != 0) {
		web_unavailable(w);
		return;
	}
	issuer = app->cfg->issuer_authority != NULL &&
		app->cfg->issuer_authority[0] != '\0'
	    ? app->cfg->issuer_authority
	    : app->cfg->issuer;
	rc = totp_enrol_begin(app->db, app->mk, s->user_id, issuer, u.email,
	    r->now, secret, &uri);
	user_clear(&u);
	if (rc == PC_ERR_CONFLICT) {
		/* Activated meanwhile (another tab): show that. */
		if (totp_status_get(app->db, s->user_id, &st) == 0 && st.active)
			render_active(r, w, s, &st);
		else
			web_unavailable(w);
		return;
	}
	if (rc != 0) {
		web_unavailable(w);
		return;
	}
	render_enrol(w, s, secret, uri);
	sodium_memzero(secret, sizeof(secret));
	pc_freezero_str(uri);
}

static void
activate(struct req *r, struct resp *w, const struct session *s)
{
	struct app *app = r->app;
	bool removed;
	int rc;

	rc = totp_enrol_activate(
	    app->db, app->mk, s->user_id, web_field(r, "code"), r->now);
	if (rc == PC_ERR_VERIFY) {
		(void)web_audit(r, s, "mfa.totp.enrol", "failure", s->user_id,
		    s->user_id, NULL);
		render_retry(w, s, 400,
		    "That code is not correct. Check that the time on your "
		    "device is right and enter the code it shows now.",
		    true);
		return;
	}
	if (rc == PC_ERR_NOT_FOUND) {
		render_retry(w, s, 400,
		    "There is no set-up in progress, or it took too long. "
		    "Please start again.",
		    false);
		return;
	}
	if (rc != 0) {
		web_unavailable(w);
		return;
	}
	/* AU-01: recorded before it counts; else taken away again. */
	if (web_audit(r, s, "mfa.totp.enrol", "success", s->user_id, s->user_id,
		NULL) != 0) {
		if (totp_remove(app->db, s->user_id, &removed) != 0)
			log_msg(LOG_ERROR, "mfa.totp.unaudited",
			    "an unaudited TOTP credential could not be "
			    "removed");
		web_unavailable(w);
		return;
	}
	notify(r, s->user_id, true); /* AU-06 */
	web_redirect(w, PATH_MFA "?done=totp");
}

static void
remove_totp(struct req *r, struct resp *w, const struct session *s)
{
	struct app *app = r->app;
	bool removed = false;

	/* SS-09, MF-05: taking a factor away needs a recent sign-in too. */
	if (!web_recent_auth(r, s)) {
		web_render_reauth(r, w, s, 403, NULL, "totp");
		return;
	}
	if (totp_remove(app->db, s->user_id, &removed) != 0) {
		web_unavailable(w);
		return;
	}
	if (!removed) {
		render_retry(w, s, 400,
		    "There is no authenticator app on your account.", false);
		return;
	}
	if (web_audit(r, s, "mfa.totp.remove", "success", s->user_id,
		s->user_id, NULL) != 0) {
		/* AU-01: removed either way (a revoked factor fails at once). */
		page_message(w, 503, "Unavailable",
		    "The authenticator app was removed, but this could not be "
		    "recorded. Please try again later.",
		    "/account", "Back to your account");
		return;
	}
	notify(r, s->user_id, false); /* AU-06 */
	web_redirect(w, PATH_MFA "?done=totp-removed");
}

void
web_account_totp(struct req *r, struct resp *w)
{
	struct session s;
	const char *action;

	if (!web_signed_in(r, w, &s))
		return;
	if (r->method != HTTP_POST) {
		show(r, w, &s);
	} else if (web_check_form(r, w, &s, FORM_TOTP)) {
		action = web_field(r, "action");
		if (action != NULL && strcmp(action, "activate") == 0)
			activate(r, w, &s);
		else if (action != NULL && strcmp(action, "remove") == 0)
			remove_totp(r, w, &s);
		else
			render_retry(w, &s, 400, "Unknown action.", false);
	}
	session_clear(&s);
}
