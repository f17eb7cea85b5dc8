/*
 * Self-registration and email verification.
 *
 * Register (/register, off unless `registration = true`): the same page
 * whether or not the email has an account (LG-01); a new account gets a
 * verification link, an existing one a "you already have an account" mail.
 * Both paths run one Argon2id hash so they take the same time.
 *
 * Verify (/verify): GET shows a confirmation button, POST consumes the
 * token (CF-02: no change on GET). The token verifies only the exact
 * address it was sent to (RS-10) and never signs anyone in.
 *
 * Resend (/verify/resend, from the sign-in page): always the same answer
 * (RS-01); the account work runs after it (recover.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "mail/mail.h"
#include "web/recover.h"
#include "web/web.h"

#define FORM_REGISTER "register"
#define FORM_RESEND "resend"

/* ---- Register ---- */

static void
render_register(struct req *r, struct resp *w, int status, const char *error,
    const char *email, const char *name)
{
	struct session s;
	char token[64];
	struct buf b;

	if (!recover_form_token(r, w, FORM_REGISTER, &s, token))
		return;
	buf_init(&b, 64 * 1024);
	page_begin(&b, "Create an account");
	if (error != NULL)
		page_notice(&b, "error", error);
	page_puts(&b, "<form method=\"post\" action=\"/register\">\n");
	page_csrf(&b, token);
	page_puts(&b,
	    "<label for=\"email\">Email</label>\n<input id=\"email\" "
	    "name=\"email\" type=\"email\" required autocomplete=\"username\" "
	    "maxlength=\"254\" value=\"");
	page_text(&b, email);
	page_puts(&b,
	    "\">\n<label for=\"name\">Name (optional)</label>\n<input "
	    "id=\"name\" name=\"name\" type=\"text\" autocomplete=\"name\" "
	    "maxlength=\"256\" value=\"");
	page_text(&b, name);
	page_puts(&b,
	    "\">\n<label for=\"password\">Password</label>\n<input "
	    "id=\"password\" name=\"password\" type=\"password\" required "
	    "minlength=\"15\" autocomplete=\"new-password\" "
	    "aria-describedby=\"pw-hint\">\n<p class=\"hint\" "
	    "id=\"pw-hint\">At least 15 characters. A few unrelated words "
	    "make a good password; a password manager is welcome.</p>\n"
	    "<button type=\"submit\">Create account</button>\n</form>\n"
	    "<nav><a href=\"/login\">I already have an account</a></nav>\n");
	page_end(&b);
	page_send(w, status, &b);
	sodium_memzero(token, sizeof(token));
	session_clear(&s);
}

struct reg {
	char *email;
	char *name;
	char *pw; /* sodium_malloc */
	size_t pw_len;
	struct web_hash hash; /* the pool's answer */
};

static void
reg_free(void *arg)
{
	struct reg *g = arg;

	free(g->email);
	free(g->name);
	if (g->pw != NULL)
		sodium_free(g->pw);
	/* The pool's answer (a PHC string) is wiped with the rest. */
	pc_freezero(g, sizeof(*g));
}

static void reg_finish(struct req *r, struct resp *w, void *arg);

static void
reg_start(struct req *r, struct resp *w, void *arg)
{
	struct reg *g = arg;
	struct pwjob job = { PWJOB_HASH, g->pw, g->pw_len, NULL };

	(void)w;
	web_hash_submit(&g->hash, r, &job, reg_finish);
}

static void
reg_finish(struct req *r, struct resp *w, void *arg)
{
	struct app *app = r->app;
	struct reg *g = arg;
	char id[USER_ID_LEN + 1];
	struct mail_msg m;
	char token[64];
	int rc;

	if (g->hash.res.r == PC_ERR_BUSY) {
		web_busy(r, w);
		return;
	}
	if (g->hash.res.r != 0) {
		web_unavailable(w);
		return;
	}
	memset(&m, 0, sizeof(m));
	rc = user_create_with_hash(
	    app->db, g->email, g->name, false, g->hash.res.phc, r->now, id);
	if (rc == PC_ERR_CONFLICT) {
		/* LG-01: the same page; the owner learns it by mail. */
		web_audit(
		    r, NULL, "user.register", "failure", NULL, NULL, NULL);
		if (mail_compose_already_registered(app->cfg, g->email, &m) ==
		    0)
			recover_send_mail(app, &m);
	} else if (rc != 0) {
		web_unavailable(w);
		return;
	} else {
		web_audit(r, NULL, "user.register", "success", id, id, NULL);
		if (usertoken_issue(app->db, app->cfg, id, USERTOKEN_VERIFY,
			g->email, r->now, token) == 0) {
			if (mail_compose_verify(app->cfg, g->email, token,
				usertoken_ttl(app->cfg, USERTOKEN_VERIFY),
				&m) == 0)
				recover_send_mail(app, &m);
			sodium_memzero(token, sizeof(token));
		}
	}
	recover_check_inbox(w,
	    "We sent a message to the address you gave. Follow its link to "
	    "finish creating your account.");
}

void
web_register(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct session s;
	struct reg *g;
	const char *email, *name, *pw;
	struct pw_check chk = { PW_OK, NULL };
	bool ok = false;
	int rc;

	if (!app->cfg->registration) {
		page_message(w, 404, "Registration is closed",
		    "Accounts on this server are created by its operators.",
		    "/login", "Back to sign in");
		return;
	}
	if (r->method != HTTP_POST) {
		render_register(r, w, 200, NULL, "", "");
		return;
	}
	if (!recover_form_post(r, w, FORM_REGISTER, &s))
		return;
	session_clear(&s);
	email = web_field(r, "email");
	name = web_field(r, "name");
	pw = web_field(r, "password");
	if (name == NULL)
		name = "";
	if (email == NULL || !user_email_valid(email)) {
		render_register(r, w, 400, "Enter a valid email address.",
		    email != NULL ? email : "", name);
		return;
	}
	if (!user_name_valid(name)) {
		render_register(
		    r, w, 400, "That name cannot be used.", email, "");
		return;
	}
	if (pw == NULL || strlen(pw) > PW_MAX_BYTES ||
	    user_pw_check(email, name, pw, strlen(pw), false, &chk) != 0 ||
	    chk.verdict != PW_OK) {
		/* PW-03..06: the reason, never whether the email exists. */
		render_register(r, w, 400,
		    chk.verdict != PW_OK && chk.message != NULL
			? chk.message
			: "Choose a password of at least 15 characters.",
		    email, name);
		return;
	}
	/*
	 * DS-03, RS-07: every registration sends one mail, so the mail limits
	 * (per IP, per address and IP, per address) bound registrations too,
	 * before any hashing. The verdict is the same for taken and new
	 * addresses: the address is counted whether or not it has an account.
	 */
	if ((rc = recover_mail_ip_count(r, &ok)) == 0 && ok) {
		rc = recover_mail_account_count(
		    app->db, app->cfg, email, r->ip, r->now, &ok);
		if (rc == 0 && !ok)
			recover_ratelimit_audit(r, "mail");
	}
	if (rc != 0) {
		web_unavailable(w);
		return;
	}
	if (!ok) {
		render_register(r, w, 429,
		    "Too many attempts from here or for this address. Please "
		    "try again later.",
		    email, name);
		resp_header(w, "Retry-After", "3600");
		return;
	}
	g = xcalloc(1, sizeof(*g));
	g->email = xstrdup(email);
	g->name = xstrdup(name);
	g->pw_len = strlen(pw);
	g->pw = sodium_malloc(g->pw_len + 1);
	if (g->pw == NULL) {
		reg_free(g);
		web_busy(r, w);
		return;
	}
	memcpy(g->pw, pw, g->pw_len + 1);
	req_defer(r, reg_start, g, reg_free);
}

void
web_verify(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	const char *t = recover_token_param(r, r->method == HTTP_POST);
	char *uid = NULL, *email = NULL;
	struct buf b;
	int rc;

	if (t == NULL) {
		recover_invalid_link(w, "/login", "Sign in");
		return;
	}
	if (r->method != HTTP_POST) {
		/* CF-02: a mail scanner's GET changes nothing. */
		if ((rc = usertoken_peek(app->db, t, USERTOKEN_VERIFY, r->now,
			 &uid, &email)) != 0) {
			recover_link_refused(w, rc, "/login", "Sign in");
			return;
		}
		buf_init(&b, 16 * 1024);
		page_begin(&b, "Confirm your email");
		page_puts(&b, "<p>Confirm that <strong>");
		page_text(&b, email);
		page_puts(&b,
		    "</strong> is your address.</p>\n<form method=\"post\" "
		    "action=\"/verify\">\n<input type=\"hidden\" "
		    "name=\"token\" value=\"");
		page_text(&b, t);
		page_puts(&b,
		    "\">\n<button type=\"submit\">Confirm</button>\n</form>\n");
		page_end(&b);
		page_send(w, 200, &b);
		free(uid);
		free(email);
		return;
	}
	if (!web_same_origin(r)) {
		page_message(w, 403, "Request refused",
		    "This form was not sent from this site.", NULL, NULL);
		return;
	}
	/* RS-10: single use, and only for the address it was sent to. */
	if ((rc = usertoken_verify_email(app->db, t, r->now, &uid)) != 0) {
		recover_link_refused(w, rc, "/login", "Sign in");
		return;
	}
	web_audit(r, NULL, "user.email_verified", "success", uid, uid, NULL);
	free(uid);
	page_message(w, 200, "Email confirmed",
	    "Thank you: your email address is confirmed. You can sign in now.",
	    "/login", "Sign in");
}

/* ---- Resend a verification link (from the sign-in page) ---- */

void
web_verify_resend(struct req *r, struct resp *w)
{
	struct session s;
	const char *email;
	bool ok = false;

	if (!recover_form_post(r, w, FORM_RESEND, &s))
		return;
	email = web_field(r, "email");
	/* RS-01: every request counts; the account work comes after. */
	if (recover_mail_ip_count(r, &ok) != 0) {
		session_clear(&s);
		web_unavailable(w);
		return;
	}
	if (ok && email != NULL && user_email_valid(email))
		recover_mail_later(r, &s, USERTOKEN_VERIFY, email);
	session_clear(&s);
	recover_check_inbox(w,
	    "If that account still needs its address confirmed, we sent it a "
	    "new link.");
}

const char *
web_resend_form_id(void)
{
	return FORM_RESEND;
}
