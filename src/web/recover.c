/*
 * Self-registration, email verification, forgot password and reset.
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
 * Forgot (/forgot) and resend (/verify/resend): always the same answer
 * (RS-01). The request path does only what is the same for every address:
 * the form checks and the per-IP mail count (every request counts, known
 * address or not). The account work (lookup, the per-(account, IP) and
 * per-account mail limits, token, audit row, mail) runs on the mail work
 * queue after the answer was sent (req_after, mail_jobs), so its time
 * never shows in the answer. Mail goes only to an existing, enabled
 * account (and a verification link only to an unconfirmed one). Nothing
 * about the account changes (RS-07).
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

#include "audit/audit.h"
#include "auth/auth.h"
#include "mail/mail.h"
#include "util/log.h"
#include "web/web.h"

#define FORM_REGISTER "register"
#define FORM_FORGOT "forgot"
#define FORM_RESET "reset"
#define FORM_RESEND "resend"

#define RESET_COOKIE_HTTPS "__Host-reset"
#define RESET_COOKIE_HTTP "reset"

static const char *
reset_cookie_name(const struct config *cfg)
{
	return cfg->issuer_https ? RESET_COOKIE_HTTPS : RESET_COOKIE_HTTP;
}

static void
unavailable(struct resp *w)
{
	page_message(w, 503, "Unavailable",
	    "This is not possible right now. Please try again later.", NULL,
	    NULL);
	resp_header(w, "Retry-After", "5");
}

/* Queues a composed mail; failures are logged, never shown (RS-01). */
static void
send_mail(struct app *app, struct mail_msg *m)
{
	struct mail v = mail_msg_view(m);
	int rc = app->mailer != NULL ? mail_enqueue(app->mailer, &v)
				     : PC_ERR_UNSUPPORTED;

	if (rc != 0) {
		struct log_line l;

		log_begin(&l, LOG_WARN, "mail.not_queued");
		log_str(&l, "error", pc_strerror(rc));
		log_end(&l);
	}
	mail_msg_clear(m);
}

static void
ratelimit_audit(struct req *r, const char *what)
{
	json_t *d = json_pack("{s:s}", "what", what);

	web_audit(r, NULL, "ratelimit", "alert", NULL, NULL, d);
	json_decref(d);
}

/*
 * RS-01, RS-07: counts this request against its client's mail limit, the
 * same for every address. 0 with *ok; a store failure is an error (the
 * caller answers 503: fail closed, no work queued).
 */
static int
mail_ip_count(struct req *r, bool *ok)
{
	struct app *app = r->app;
	int rc;

	*ok = false;
	if ((rc = throttle_mail_ip(app->db, app->cfg, r->ip, r->now, ok)) != 0)
		return rc;
	if (!*ok)
		ratelimit_audit(r, "mail_ip");
	return 0;
}

/* RS-07: one more mail to this address from this client, or not. */
static int
mail_account_count(struct db *db, const struct config *cfg, const char *email,
    const char *ip, int64_t now, bool *ok)
{
	char *key = user_email_key(email);
	int rc = throttle_mail_account(db, cfg, key, ip, now, ok);

	free(key);
	return rc;
}

/* ---- The account work, after the answer (RS-01) ---- */

enum mailjob_kind {
	MAILJOB_RESET,	/* forgot password */
	MAILJOB_VERIFY, /* resend a verification link */
};

/* What the work needs from the request, copied: the request is gone. */
struct mailjob {
	struct app *app;
	enum mailjob_kind kind;
	char *email;
	char *user_agent; /* NULL when none */
	char ip[sizeof(((struct req *)0)->ip)];
	char rid[sizeof(((struct req *)0)->rid)];
	char session_hash[SESSION_SID_LEN + 1]; /* the sid; "" when none */
	int64_t now;
};

static void
mailjob_free(void *arg)
{
	struct mailjob *j = arg;

	free(j->email);
	free(j->user_agent);
	free(j);
}

static struct mailjob *
mailjob_new(struct req *r, const struct session *s, enum mailjob_kind kind,
    const char *email)
{
	struct mailjob *j = xcalloc(1, sizeof(*j));
	const char *ua = NULL;

	j->app = r->app;
	j->kind = kind;
	j->email = xstrdup(email);
	if (req_header(r, "User-Agent", &ua) == 0)
		j->user_agent = xstrdup(ua);
	snprintf(j->ip, sizeof(j->ip), "%s", r->ip);
	snprintf(j->rid, sizeof(j->rid), "%s", r->rid);
	session_sid(s, j->session_hash);
	j->now = r->now;
	return j;
}

/* web_audit for a request that has ended: the same fields, copied. */
static void
mailjob_audit(const struct mailjob *j, const char *event, const char *outcome,
    const char *target, json_t *details)
{
	struct audit_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.event = event;
	ev.outcome = outcome;
	ev.target = target;
	ev.ip = j->ip;
	ev.user_agent = j->user_agent;
	ev.request_id = j->rid;
	ev.session_hash = j->session_hash[0] != '\0' ? j->session_hash : NULL;
	ev.details = details;
	if ((rc = audit_append(j->app->db, j->app->audit_key, &ev)) != 0) {
		struct log_line l;

		log_begin(&l, LOG_ERROR, "audit.append_failed");
		log_str(&l, "event", event);
		log_str(&l, "error", pc_strerror(rc));
		log_end(&l);
	}
}

/*
 * On the mail work queue: look the address up and, for an existing,
 * enabled account (unconfirmed, for a verification link) within the mail
 * limits, issue a token and queue its mail. The outcome goes to the log
 * (mail.request, under the request's id); a failure never reaches the
 * answer, which was sent already.
 */
static void
mailjob_run(void *arg)
{
	struct mailjob *j = arg;
	struct app *app = j->app;
	enum usertoken_purpose p =
	    j->kind == MAILJOB_RESET ? USERTOKEN_RESET : USERTOKEN_VERIFY;
	const char *result = "queued";
	struct user u;
	struct mail_msg m;
	struct log_line l;
	char token[64];
	bool ok = false;
	int rc;

	log_set_rid(j->rid);
	memset(&m, 0, sizeof(m));
	rc = user_find_by_email(app->db, j->email, &u);
	if (rc == PC_ERR_NOT_FOUND) {
		result = "no_account";
		goto out;
	}
	if (rc == 0 &&
	    (u.disabled || (j->kind == MAILJOB_VERIFY && u.email_verified))) {
		result = "not_eligible";
		goto out;
	}
	if (rc != 0 ||
	    (rc = mail_account_count(
		 app->db, app->cfg, u.email, j->ip, j->now, &ok)) != 0) {
		result = "failed";
		goto out;
	}
	if (!ok) {
		json_t *d = json_pack("{s:s}", "what", "mail");

		mailjob_audit(j, "ratelimit", "alert", NULL, d);
		json_decref(d);
		result = "limited";
		goto out;
	}
	if ((rc = usertoken_issue(
		 app->db, app->cfg, u.id, p, u.email, j->now, token)) != 0) {
		result = "failed";
		goto out;
	}
	if (j->kind == MAILJOB_RESET) {
		mailjob_audit(
		    j, "password.reset_request", "success", u.id, NULL);
		rc = mail_compose_reset(
		    app->cfg, u.email, token, usertoken_ttl(app->cfg, p), &m);
	} else
		rc = mail_compose_verify(
		    app->cfg, u.email, token, usertoken_ttl(app->cfg, p), &m);
	sodium_memzero(token, sizeof(token));
	if (rc == 0) {
		struct mail v = mail_msg_view(&m);

		rc = app->mailer != NULL ? mail_enqueue(app->mailer, &v)
					 : PC_ERR_UNSUPPORTED;
	}
	mail_msg_clear(&m);
	if (rc != 0)
		result = "failed";
out:
	log_begin(&l, rc != 0 && rc != PC_ERR_NOT_FOUND ? LOG_WARN : LOG_INFO,
	    "mail.request");
	log_str(&l, "kind", j->kind == MAILJOB_RESET ? "reset" : "verify");
	log_str(&l, "result", result);
	if (rc != 0 && rc != PC_ERR_NOT_FOUND)
		log_str(&l, "error", pc_strerror(rc));
	log_end(&l);
	user_clear(&u);
	log_set_rid(NULL);
}

/* When the request has ended (req_after): hand the work to its thread. */
static void
mailjob_submit(void *arg)
{
	struct mailjob *j = arg;
	struct log_line l;
	int rc = mail_jobs_submit(j->app->jobs, mailjob_run, j, mailjob_free);

	if (rc == 0)
		return;
	log_set_rid(j->rid);
	log_begin(&l, LOG_WARN, "mail.request");
	log_str(&l, "kind", j->kind == MAILJOB_RESET ? "reset" : "verify");
	log_str(&l, "result", "dropped");
	log_str(&l, "error", pc_strerror(rc));
	log_end(&l);
	log_set_rid(NULL);
	mailjob_free(j);
}

/* The "check your inbox" page: identical for every outcome. */
static void
check_inbox(struct resp *w, const char *what)
{
	struct buf b;

	buf_init(&b, 16 * 1024);
	page_begin(&b, "Check your email");
	page_puts(&b, "<p>");
	page_text(&b, what);
	page_puts(&b,
	    "</p>\n<p class=\"hint\">The link works once and expires. "
	    "Nothing arrived? Look in your spam folder, or try again in a "
	    "few minutes.</p>\n<nav><a href=\"/login\">Back to sign in</a>"
	    "</nav>\n");
	page_end(&b);
	page_send(w, 200, &b);
}

/* A form shown to anyone: its pre-session token, or the 503 page. */
static bool
form_token(struct req *r, struct resp *w, const char *form_id,
    struct session *s, char token[64])
{
	if (web_presession(r, w, s) != 0 ||
	    session_csrf_token(s, form_id, token) != 0) {
		session_clear(s);
		unavailable(w);
		return false;
	}
	return true;
}

/* The POST side: the form's own pre-session and token (CF-01, LG-07). */
static bool
form_post(struct req *r, struct resp *w, const char *form_id, struct session *s)
{
	bool presented = false;
	int rc;

	if ((rc = web_session(r, s, NULL, &presented)) != 0 &&
	    web_store_failed(rc)) {
		unavailable(w);
		return false;
	}
	if (rc != 0) {
		if (presented)
			web_audit(r, NULL, "session.unknown", "failure", NULL,
			    NULL, NULL);
		page_message(w, 403, "Request refused",
		    "This form has expired. Please go back and try again.",
		    NULL, NULL);
		return false;
	}
	if (!web_check_form(r, w, s, form_id)) {
		session_clear(s);
		return false;
	}
	return true;
}

/* ---- Register ---- */

static void
render_register(struct req *r, struct resp *w, int status, const char *error,
    const char *email, const char *name)
{
	struct session s;
	char token[64];
	struct buf b;

	if (!form_token(r, w, FORM_REGISTER, &s, token))
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
	sodium_memzero(&g->hash.res, sizeof(g->hash.res));
	free(g);
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
		unavailable(w);
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
			send_mail(app, &m);
	} else if (rc != 0) {
		unavailable(w);
		return;
	} else {
		web_audit(r, NULL, "user.register", "success", id, id, NULL);
		if (usertoken_issue(app->db, app->cfg, id, USERTOKEN_VERIFY,
			g->email, r->now, token) == 0) {
			if (mail_compose_verify(app->cfg, g->email, token,
				usertoken_ttl(app->cfg, USERTOKEN_VERIFY),
				&m) == 0)
				send_mail(app, &m);
			sodium_memzero(token, sizeof(token));
		}
	}
	check_inbox(w,
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
	if (!form_post(r, w, FORM_REGISTER, &s))
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
	    user_pw_check(email, name, pw, strlen(pw), &chk) != 0 ||
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
	if ((rc = mail_ip_count(r, &ok)) == 0 && ok) {
		rc = mail_account_count(
		    app->db, app->cfg, email, r->ip, r->now, &ok);
		if (rc == 0 && !ok)
			ratelimit_audit(r, "mail");
	}
	if (rc != 0) {
		unavailable(w);
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

/* ---- Verify ---- */

/* The token from a form field or the query string, shape-checked. */
static const char *
token_param(struct req *r, bool from_form)
{
	const struct kvlist *q;
	const struct kv *kv = NULL;
	const char *t = NULL;

	if (from_form)
		t = web_field(r, "token");
	else if (req_query(r, &q) == 0 && kvlist_get(q, "token", &kv) == 0)
		t = kv->value;
	if (t == NULL || strlen(t) != USERTOKEN_LEN)
		return NULL;
	return t;
}

static void
invalid_link(struct resp *w, const char *again, const char *again_text)
{
	page_message(w, 400, "Invalid or expired link",
	    "This link is not valid any more: it was used already, a newer "
	    "one was sent, or it expired.",
	    again, again_text);
}

/* A link the store did not accept: invalid, or the store failed (503). */
static void
link_refused(struct resp *w, int rc, const char *again, const char *again_text)
{
	if (web_store_failed(rc))
		unavailable(w);
	else
		invalid_link(w, again, again_text);
}

void
web_verify(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	const char *t = token_param(r, r->method == HTTP_POST);
	char *uid = NULL, *email = NULL;
	struct buf b;
	int rc;

	if (t == NULL) {
		invalid_link(w, "/login", "Sign in");
		return;
	}
	if (r->method != HTTP_POST) {
		/* CF-02: a mail scanner's GET changes nothing. */
		if ((rc = usertoken_peek(app->db, t, USERTOKEN_VERIFY, r->now,
			 &uid, &email)) != 0) {
			link_refused(w, rc, "/login", "Sign in");
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
		link_refused(w, rc, "/login", "Sign in");
		return;
	}
	web_audit(r, NULL, "user.email_verified", "success", uid, uid, NULL);
	free(uid);
	page_message(w, 200, "Email confirmed",
	    "Thank you: your email address is confirmed. You can sign in now.",
	    "/login", "Sign in");
}

/* ---- Forgot ---- */

static void
render_forgot(struct req *r, struct resp *w, int status, const char *error)
{
	struct session s;
	char token[64];
	struct buf b;

	if (!form_token(r, w, FORM_FORGOT, &s, token))
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
	if (!form_post(r, w, FORM_FORGOT, &s))
		return;
	email = web_field(r, "email");
	if (email == NULL || !user_email_valid(email)) {
		session_clear(&s);
		render_forgot(r, w, 400, "Enter a valid email address.");
		return;
	}
	/* RS-01: the same for every address; the account work comes after. */
	if (mail_ip_count(r, &ok) != 0) {
		session_clear(&s);
		unavailable(w);
		return;
	}
	if (ok)
		req_after(r, mailjob_submit,
		    mailjob_new(r, &s, MAILJOB_RESET, email));
	session_clear(&s);
	check_inbox(w,
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

	if (!form_token(r, w, FORM_RESET, &s, token))
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

	sodium_memzero(x->token, sizeof(x->token));
	if (x->pw != NULL)
		sodium_free(x->pw);
	sodium_memzero(&x->hash.res, sizeof(x->hash.res));
	free(x);
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
		unavailable(w);
		return;
	}
	/* RS-03: single use, atomically; a second use finds nothing. */
	if ((rc = usertoken_consume(app->db, x->token, USERTOKEN_RESET, r->now,
		 &uid, &email)) != 0) {
		link_refused(w, rc, "/forgot", "Ask for a new link");
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
		unavailable(w);
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

	if (r->method != HTTP_POST && (t = token_param(r, false)) != NULL) {
		/* RS-06: the token leaves the URL at once. */
		if ((rc = usertoken_peek(app->db, t, USERTOKEN_RESET, r->now,
			 &uid, &email)) != 0) {
			link_refused(w, rc, "/forgot", "Ask for a new link");
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
		invalid_link(w, "/forgot", "Ask for a new link");
		return;
	}
	if ((rc = usertoken_peek(
		 app->db, t, USERTOKEN_RESET, r->now, &uid, &email)) != 0) {
		link_refused(w, rc, "/forgot", "Ask for a new link");
		return;
	}
	if (r->method != HTTP_POST) {
		render_reset(r, w, 200, NULL, email);
		goto out;
	}
	if (!form_post(r, w, FORM_RESET, &s))
		goto out;
	session_clear(&s);
	pw = web_field(r, "password");
	memset(&u, 0, sizeof(u));
	if (pw == NULL || strlen(pw) > PW_MAX_BYTES ||
	    user_get(app->db, uid, &u) != 0 ||
	    user_pw_check(u.email, u.name, pw, strlen(pw), &chk) != 0 ||
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

/* ---- Notices (AU-06) ---- */

void
web_notify_password_changed(struct req *r, const char *user_id)
{
	struct app *app = r->app;
	struct user u;
	struct mail_msg m;

	memset(&m, 0, sizeof(m));
	if (user_get(app->db, user_id, &u) == 0 &&
	    mail_compose_password_changed(app->cfg, u.email, r->now, &m) == 0)
		send_mail(app, &m);
	user_clear(&u);
}

/* ---- Resend a verification link (from the sign-in page) ---- */

void
web_verify_resend(struct req *r, struct resp *w)
{
	struct session s;
	const char *email;
	bool ok = false;

	if (!form_post(r, w, FORM_RESEND, &s))
		return;
	email = web_field(r, "email");
	/* RS-01: every request counts; the account work comes after. */
	if (mail_ip_count(r, &ok) != 0) {
		session_clear(&s);
		unavailable(w);
		return;
	}
	if (ok && email != NULL && user_email_valid(email))
		req_after(r, mailjob_submit,
		    mailjob_new(r, &s, MAILJOB_VERIFY, email));
	session_clear(&s);
	check_inbox(w,
	    "If that account still needs its address confirmed, we sent it a "
	    "new link.");
}

const char *
web_resend_form_id(void)
{
	return FORM_RESEND;
}
