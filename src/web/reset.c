/*
 * Forgot password and reset.
 *
 * Forgot (/forgot): always the same answer (RS-01); the account work
 * (token and mail, for an existing enabled account) runs after it
 * (recover.c).
 *
 * Reset (/reset): GET /reset?token= checks the token, moves it into a
 * short-lived HttpOnly cookie and answers 303 to the token-free /reset
 * (RS-06); GET /reset shows the form; POST judges the new password (PW-03..
 * 06), hashes it on the pool, consumes the token (single use, RS-03), sets
 * the password and ends every session of the user in one transaction
 * (RS-08), clears the sign-in throttle, sends a notice, and does not sign
 * in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "web/recover.h"
#include "web/web.h"

#define FORM_FORGOT "forgot"
#define FORM_RESET "reset"

#define RESET_COOKIE_HTTPS "__Host-reset"
#define RESET_COOKIE_HTTP "reset"

static const char *
reset_cookie_name(const struct config *cfg)
{
	return cfg->issuer_https ? RESET_COOKIE_HTTPS : RESET_COOKIE_HTTP;
}

/* ---- Forgot ---- */

static void
render_forgot(struct req *r, struct resp *w, int status, const char *error)
{
	struct session s;
	char token[64];
	struct buf b;

	if (!recover_form_token(r, w, FORM_FORGOT, &s, token))
		return;
	buf_init(&b, 16 * 1024);
	page_begin(&b, "Reset your password");
	if (error != NULL)
		page_notice(&b, "error", error);
	page_puts(&b,
	    "<p>Enter the email address of your account. We will send you a "
	    "link to choose a new password.</p>\n<form method=\"post\" "
	    "action=\"/forgot\">\n");
	page_csrf(&b, token);
	page_puts(&b,
	    "<label for=\"email\">Email</label>\n<input id=\"email\" "
	    "name=\"email\" type=\"email\" required autocomplete=\"username\" "
	    "maxlength=\"254\">\n<button type=\"submit\">Send the link"
	    "</button>\n</form>\n<nav><a href=\"/login\">Back to sign in</a>"
	    "</nav>\n");
	page_end(&b);
	page_send(w, status, &b);
	sodium_memzero(token, sizeof(token));
	session_clear(&s);
}

void
web_forgot(struct req *r, struct resp *w)
{
	struct session s;
	const char *email;
	bool ok = false;

	if (r->method != HTTP_POST) {
		render_forgot(r, w, 200, NULL);
		return;
	}
	if (!recover_form_post(r, w, FORM_FORGOT, &s))
		return;
	email = web_field(r, "email");
	if (email == NULL || !user_email_valid(email)) {
		session_clear(&s);
		render_forgot(r, w, 400, "Enter a valid email address.");
		return;
	}
	/* RS-01: the same for every address; the account work comes after. */
	if (recover_mail_ip_count(r, &ok) != 0) {
		session_clear(&s);
		web_unavailable(w);
		return;
	}
	if (ok)
		recover_mail_later(r, &s, USERTOKEN_RESET, email);
	session_clear(&s);
	recover_check_inbox(w,
	    "If an account uses that address, we sent it a link to choose a "
	    "new password.");
}

/* ---- Reset ---- */

static void
set_reset_cookie(struct req *r, struct resp *w, const char *token, int64_t age)
{
	const struct config *cfg = ((struct app *)r->app)->cfg;
	char h[192];

	snprintf(h, sizeof(h),
	    "%s=%s; Path=/; Max-Age=%lld; HttpOnly; %sSameSite=Lax",
	    reset_cookie_name(cfg), token, (long long)age,
	    cfg->issuer_https ? "Secure; " : "");
	resp_header(w, "Set-Cookie", h);
	sodium_memzero(h, sizeof(h));
}

/* The reset token from the cookie (RS-06), shape-checked. */
static const char *
reset_cookie(struct req *r)
{
	const struct config *cfg = ((struct app *)r->app)->cfg;
	const struct kvlist *c;
	const struct kv *kv = NULL;

	if (req_cookies(r, &c) != 0 ||
	    kvlist_get(c, reset_cookie_name(cfg), &kv) != 0 ||
	    kv->value_len != USERTOKEN_LEN)
		return NULL;
	return kv->value;
}

static void
render_reset(struct req *r, struct resp *w, int status, const char *error,
    const char *email)
{
	struct session s;
	char token[64];
	struct buf b;

	if (!recover_form_token(r, w, FORM_RESET, &s, token))
		return;
	buf_init(&b, 16 * 1024);
	page_begin(&b, "Choose a new password");
	if (error != NULL)
		page_notice(&b, "error", error);
	page_puts(&b, "<form method=\"post\" action=\"/reset\">\n");
	page_csrf(&b, token);
	page_puts(&b,
	    "<input type=\"hidden\" name=\"username\" "
	    "autocomplete=\"username\" "
	    "value=\"");
	page_text(&b, email);
	page_puts(&b,
	    "\">\n<label for=\"password\">New password</label>\n<input "
	    "id=\"password\" name=\"password\" type=\"password\" required "
	    "minlength=\"15\" autocomplete=\"new-password\" "
	    "aria-describedby=\"pw-hint\">\n<p class=\"hint\" "
	    "id=\"pw-hint\">At least 15 characters. Every session of your "
	    "account will be signed out.</p>\n<button type=\"submit\">Set "
	    "password</button>\n</form>\n");
	page_end(&b);
	page_send(w, status, &b);
	sodium_memzero(token, sizeof(token));
	session_clear(&s);
}

struct rst {
	char token[64];
	char *pw; /* sodium_malloc */
	size_t pw_len;
	struct web_hash hash; /* the pool's answer */
};

static void
rst_free(void *arg)
{
	struct rst *x = arg;

	if (x->pw != NULL)
		sodium_free(x->pw);
	/* The reset token, the pool's answer (a PHC string): wiped. */
	pc_freezero(x, sizeof(*x));
}

static void rst_finish(struct req *r, struct resp *w, void *arg);

static void
rst_start(struct req *r, struct resp *w, void *arg)
{
	struct rst *x = arg;
	struct pwjob job = { PWJOB_HASH, x->pw, x->pw_len, NULL };

	(void)w;
	web_hash_submit(&x->hash, r, &job, rst_finish);
}

static void
rst_finish(struct req *r, struct resp *w, void *arg)
{
	struct app *app = r->app;
	struct rst *x = arg;
	char *uid = NULL, *email = NULL;
	int rc;

	if (x->hash.res.r == PC_ERR_BUSY) {
		web_busy(r, w);
		return;
	}
	if (x->hash.res.r != 0) {
		web_unavailable(w);
		return;
	}
	/* RS-03: single use, atomically; a second use finds nothing. */
	if ((rc = usertoken_consume(app->db, x->token, USERTOKEN_RESET, r->now,
		 &uid, &email)) != 0) {
		recover_link_refused(w, rc, "/forgot", "Ask for a new link");
		return;
	}
	/* RS-08: every session and device cookie ends with the old
	 * password; the account is unlocked (LG-04). */
	rc = user_password_reset(app->db, uid, email, x->hash.res.phc, r->now);
	if (rc == 0)
		web_notify_password_changed(r, uid);
	/* AU-01: without its durable row the answer is a 503. */
	if (rc == 0 &&
	    web_audit(r, NULL, "password.reset", "success", uid, uid, NULL) !=
		0)
		rc = PC_ERR_STORE;
	free(uid);
	free(email);
	if (rc != 0) {
		web_unavailable(w);
		return;
	}
	set_reset_cookie(r, w, "", 0);
	page_message(w, 200, "Password changed",
	    "Your password was changed and every session of your account was "
	    "signed out. Sign in with the new password.",
	    "/login", "Sign in");
}

void
web_reset(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	const char *t;
	char *uid = NULL, *email = NULL;
	struct session s;
	struct user u;
	struct pw_check chk = { PW_OK, NULL };
	const char *pw;
	struct rst *x;
	int rc;

	if (r->method != HTTP_POST &&
	    (t = recover_token_param(r, false)) != NULL) {
		/* RS-06: the token leaves the URL at once. */
		if ((rc = usertoken_peek(app->db, t, USERTOKEN_RESET, r->now,
			 &uid, &email)) != 0) {
			recover_link_refused(
			    w, rc, "/forgot", "Ask for a new link");
			return;
		}
		free(uid);
		free(email);
		set_reset_cookie(
		    r, w, t, usertoken_ttl(app->cfg, USERTOKEN_RESET));
		web_redirect(w, "/reset");
		return;
	}
	t = reset_cookie(r);
	if (t == NULL) {
		recover_invalid_link(w, "/forgot", "Ask for a new link");
		return;
	}
	if ((rc = usertoken_peek(
		 app->db, t, USERTOKEN_RESET, r->now, &uid, &email)) != 0) {
		recover_link_refused(w, rc, "/forgot", "Ask for a new link");
		return;
	}
	if (r->method != HTTP_POST) {
		render_reset(r, w, 200, NULL, email);
		goto out;
	}
	if (!recover_form_post(r, w, FORM_RESET, &s))
		goto out;
	session_clear(&s);
	pw = web_field(r, "password");
	memset(&u, 0, sizeof(u));
	if (pw == NULL || strlen(pw) > PW_MAX_BYTES ||
	    user_get(app->db, uid, &u) != 0 ||
	    user_pw_check(u.email, u.name, pw, strlen(pw),
		user_has_mfa(app->db, uid), &chk) != 0 ||
	    chk.verdict != PW_OK) {
		render_reset(r, w, 400,
		    chk.verdict != PW_OK && chk.message != NULL
			? chk.message
			: "Choose a password of at least 15 characters.",
		    email);
		user_clear(&u);
		goto out;
	}
	user_clear(&u);
	x = xcalloc(1, sizeof(*x));
	memcpy(x->token, t, USERTOKEN_LEN + 1);
	x->pw_len = strlen(pw);
	x->pw = sodium_malloc(x->pw_len + 1);
	if (x->pw == NULL) {
		rst_free(x);
		web_busy(r, w);
		goto out;
	}
	memcpy(x->pw, pw, x->pw_len + 1);
	req_defer(r, rst_start, x, rst_free);
out:
	free(uid);
	free(email);
}
