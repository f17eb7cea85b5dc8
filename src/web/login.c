/*
 * Sign in (GET and POST /login) and sign out (POST /logout).
 *
 * GET /login gives the browser a pre-session (a session record without a
 * user) whose CSRF token the form carries (LG-07). POST /login, in order,
 * before any hashing (DS-02): same origin and the pre-session's token
 * (CF-01, LG-07), the password's byte cap, then the throttle, which
 * counts the attempt as a failure in the same store transaction that
 * checks the limits (LG-03, LG-04: a burst of N counts as N); then the
 * hashing pool verifies the password, or runs the same work against a
 * dummy hash when the account is unknown, disabled or has no password
 * (LG-02), so every failure looks and takes the same (LG-01). Success
 * settles the attempt (the account's counter resets), replaces the
 * pre-session with a new session id (SS-01), gives the browser a device
 * cookie for the account when it has none (LG-03: that browser then skips
 * the account's delay) and answers 303 (LG-06).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "util/log.h"
#include "util/metrics.h"
#include "web/web.h"

#define LOGIN_FORM "login"
#define GENERIC_FAILURE "Invalid email or password."

/* One sign-in attempt, alive from the POST until its response is sent. */
struct login {
	struct session pre; /* the pre-session the form came with */
	char pre_cookie[64];
	char *email; /* as typed */
	char *pw;    /* sodium_malloc; wiped at the end */
	size_t pw_len;
	char *account_key; /* lower-cased email: the throttle's key */
	char *user_id;	   /* NULL: unknown account */
	char *phc;	   /* the stored hash, for a rehash */
	bool usable;	   /* known, enabled, with a password */
	bool verified;	   /* the account's email is verified */
	char *req;	   /* a pending authorization request's id */
	char device[PC_SHA256_HEX_LEN + 1]; /* the device cookie's hash, "" */
	struct throttle_attempt t; /* counted before the hash (LG-03) */
	struct web_hash hash;	   /* the pool's answer */
};

static void
login_free(void *arg)
{
	struct login *l = arg;

	if (l == NULL)
		return;
	session_clear(&l->pre);
	free(l->email);
	free(l->account_key);
	if (l->pw != NULL)
		sodium_free(l->pw);
	free(l->user_id);
	free(l->req);
	pc_freezero_str(l->phc);
	/* The session cookie, the pool's answer (a PHC string): wiped. */
	pc_freezero(l, sizeof(*l));
}

/*
 * The sign-in form, with an optional error and the email typed before;
 * req (may be NULL) is the pending authorization request it serves, an
 * opaque id, never a URL (AZ-03).
 */
static void
render_form(const struct req *r, struct resp *w, int status,
    const struct session *pre, const char *email, const char *error,
    const char *req)
{
	const struct app *app = r->app;
	struct buf b;
	char token[64];

	if (session_csrf_token(pre, LOGIN_FORM, token) != 0) {
		page_message(w, 500, "Error", "Internal error.", NULL, NULL);
		return;
	}
	buf_init(&b, 64 * 1024);
	page_begin(&b, "Sign in");
	if (error != NULL)
		page_notice(&b, "error", error);
	page_puts(&b, "<form method=\"post\" action=\"/login\">\n");
	page_csrf(&b, token);
	if (req != NULL) {
		page_puts(&b, "<input type=\"hidden\" name=\"req\" value=\"");
		page_text(&b, req);
		page_puts(&b, "\">\n");
	}
	page_puts(&b,
	    "<label for=\"email\">Email</label>\n"
	    "<input id=\"email\" name=\"email\" type=\"email\" required "
	    "autocomplete=\"username\" maxlength=\"254\" value=\"");
	page_text(&b, email != NULL ? email : "");
	page_puts(&b,
	    "\">\n<label for=\"password\">Password</label>\n"
	    "<input id=\"password\" name=\"password\" type=\"password\" "
	    "required autocomplete=\"current-password\">\n"
	    "<button type=\"submit\">Sign in</button>\n</form>\n");
	web_passkey_login_button(r, &b, pre, req);
	page_puts(&b, "<nav><a href=\"/forgot\">Forgot your password?</a>");
	/* /register exists only with registration on (a 404 otherwise). */
	if (app->cfg->registration)
		page_puts(&b, "<a href=\"/register\">Create an account</a>");
	page_puts(&b, "</nav>\n");
	page_end(&b);
	page_send(w, status, &b);
	sodium_memzero(token, sizeof(token));
}

static void
login_get(struct req *r, struct resp *w)
{
	struct session s;
	const struct kvlist *q;
	const struct kv *kv = NULL;
	const char *req = NULL;
	char *hint = NULL;

	if (web_presession(r, w, &s) != 0) {
		page_message(w, 503, "Unavailable",
		    "Signing in is not possible right now. Please try again "
		    "later.",
		    NULL, NULL);
		resp_header(w, "Retry-After", "5");
		return;
	}
	/* Signing in for an application: a live pending request. */
	if (req_query(r, &q) == 0 && kvlist_get(q, "req", &kv) == 0 &&
	    web_authorize_pending(r, kv->value, &hint) == 0)
		req = kv->value;
	if (s.user_id != NULL && req == NULL) {
		session_clear(&s);
		web_redirect(w, "/account");
		return;
	}
	render_form(r, w, 200, &s, hint, NULL, req);
	free(hint);
	session_clear(&s);
}

/* Right password, unconfirmed address: offer a new link, no session. */
static void
render_unverified(struct resp *w, const struct session *pre, const char *email)
{
	struct buf b;
	char token[64];

	if (session_csrf_token(pre, web_resend_form_id(), token) != 0) {
		page_message(w, 500, "Error", "Internal error.", NULL, NULL);
		return;
	}
	buf_init(&b, 16 * 1024);
	page_begin(&b, "Confirm your email first");
	page_puts(&b,
	    "<p>Your account's email address is not confirmed yet. Follow "
	    "the link we sent to it, then sign in.</p>\n<form method=\"post\" "
	    "action=\"/verify/resend\">\n");
	page_csrf(&b, token);
	page_puts(&b, "<input type=\"hidden\" name=\"email\" value=\"");
	page_text(&b, email);
	page_puts(&b,
	    "\">\n<button type=\"submit\">Send a new link</button>\n"
	    "</form>\n");
	page_end(&b);
	page_send(w, 403, &b);
	sodium_memzero(token, sizeof(token));
}

/* A hash finished (on a pool thread): back to an HTTP thread. */
static void login_finish(struct req *r, struct resp *w, void *arg);

static void
login_start(struct req *r, struct resp *w, void *arg)
{
	struct login *l = arg;
	struct pwjob job = { l->usable ? PWJOB_VERIFY : PWJOB_DUMMY, l->pw,
		l->pw_len, l->usable ? l->phc : NULL };

	(void)w;
	web_hash_submit(&l->hash, r, &job, login_finish);
}

/* Upgrades an outdated hash after a good login (PW-02), off-thread. */
struct rehash {
	struct db *db;
	char *user_id;
	char *old_phc;
};

static void
rehash_done(const struct pwjob_result *res, void *arg)
{
	struct rehash *h = arg;

	if (res->r == 0 &&
	    user_password_upgrade(
		h->db, h->user_id, h->old_phc, res->phc, clock_now()) == 0)
		log_msg(LOG_INFO, "auth.rehash", "password hash upgraded");
	free(h->user_id);
	pc_freezero_str(h->old_phc);
	free(h);
}

static void
start_rehash(struct app *app, const struct login *l)
{
	struct rehash *h = xcalloc(1, sizeof(*h));
	struct pwjob job = { PWJOB_HASH, l->pw, l->pw_len, NULL };

	h->db = app->db;
	h->user_id = xstrdup(l->user_id);
	h->old_phc = xstrdup(l->phc);
	if (pwpool_submit(app->pwpool, &job, rehash_done, h) != 0) {
		free(h->user_id);
		pc_freezero_str(h->old_phc);
		free(h);
	}
}

static void
login_failed(struct req *r, struct resp *w, struct login *l, const char *why)
{
	json_t *d = json_pack("{s:s}", "reason", why);

	/* LG-03, LG-04: the attempt was counted as a failure before the
	 * hash, known account or not; nothing to undo. */
	web_audit(r, &l->pre, "login", "failure", l->user_id, NULL, d);
	json_decref(d);
	metrics_signin(METRICS_FAILURE, METRICS_FACTOR_PASSWORD);
	render_form(r, w, 400, &l->pre, l->email, GENERIC_FAILURE, l->req);
}

/*
 * LG-03: this browser now knows the account. A browser whose device
 * cookie already counted for this account keeps it; otherwise it gets a
 * new one, and the one it held before (another account's, or one past
 * its failure limit) goes.
 */
static void
issue_device_cookie(struct req *r, struct resp *w, const struct login *l)
{
	struct app *app = r->app;
	char value[DEVICE_COOKIE_LEN + 1];

	if (device_cookie_issue(app->db, app->cfg, l->user_id,
		l->device[0] != '\0' ? l->device : NULL, r->now, value) != 0) {
		log_msg(LOG_WARN, "auth.device", "device cookie not issued");
		return;
	}
	web_set_device_cookie(w, r, value);
	sodium_memzero(value, sizeof(value));
}

static void
login_finish(struct req *r, struct resp *w, void *arg)
{
	struct app *app = r->app;
	struct login *l = arg;
	bool need_mfa = false;

	if (l->hash.res.r == PC_ERR_BUSY) {
		/* Never checked: the attempt does not count. */
		if (throttle_login_end(app->db, &l->t, false) != 0)
			log_msg(LOG_WARN, "auth.throttle", "busy not undone");
		web_busy(r, w);
		return;
	}
	if (!l->usable || l->hash.res.r != 0) {
		login_failed(r, w, l,
		    l->user_id == NULL ? "unknown_account"
			: !l->usable   ? "disabled_or_no_password"
				       : "bad_password");
		return;
	}
	if (throttle_login_end(app->db, &l->t, true) != 0)
		log_msg(LOG_WARN, "auth.throttle", "success not recorded");
	if (!l->verified) {
		/* The password was right: only its owner learns this. */
		render_unverified(w, &l->pre, l->email);
		return;
	}
	/* MF-04: a user with a second factor gets only the factor step. */
	if (web_mfa_needed(r, l->user_id, l->req, &need_mfa) != 0) {
		web_unavailable(w);
		return;
	}
	if (need_mfa) {
		if (web_mfa_begin(
			r, w, l->pre_cookie, l->user_id, AMR_PWD, l->req) != 0)
			return;
	} else if (web_signin_done(r, w, &l->pre, l->pre_cookie, l->user_id,
		       AMR_PWD, l->req, NULL) != 0)
		return;
	if (l->hash.res.needs_rehash)
		start_rehash(app, l);
	if (!l->t.device)
		issue_device_cookie(r, w, l);
}

static void
login_post(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct login *l;
	const char *email, *pw;
	struct user u;
	bool presented = false;
	int rc;

	l = xcalloc(1, sizeof(*l));
	if ((rc = web_session(r, &l->pre, l->pre_cookie, &presented)) != 0 &&
	    web_store_failed(rc)) {
		web_unavailable(w);
		login_free(l);
		return;
	}
	if (rc != 0) {
		/* No pre-session: the form did not come from us (LG-07). */
		if (presented)
			web_audit(r, NULL, "session.unknown", "failure", NULL,
			    NULL, NULL);
		page_message(w, 403, "Request refused",
		    "Your sign-in form has expired. Please try again.",
		    "/login", "Back to sign in");
		login_free(l);
		return;
	}
	if (!web_check_form(r, w, &l->pre, LOGIN_FORM)) {
		login_free(l);
		return;
	}
	email = web_field(r, "email");
	pw = web_field(r, "password");
	l->email = xstrdup(email != NULL ? email : "");
	if (web_field(r, "req") != NULL &&
	    strlen(web_field(r, "req")) <= WEB_REQ_ID_MAX)
		l->req = xstrdup(web_field(r, "req"));
	if (email == NULL || pw == NULL || email[0] == '\0' || pw[0] == '\0') {
		render_form(r, w, 400, &l->pre, l->email,
		    "Enter your email and your password.", l->req);
		login_free(l);
		return;
	}
	l->pw_len = strlen(pw);
	if (l->pw_len > PW_MAX_BYTES) {
		/* DS-02: refused before any hashing or normalisation. */
		render_form(
		    r, w, 400, &l->pre, l->email, GENERIC_FAILURE, l->req);
		login_free(l);
		return;
	}
	l->pw = sodium_malloc(l->pw_len + 1);
	if (l->pw == NULL) {
		web_busy(r, w);
		login_free(l);
		return;
	}
	memcpy(l->pw, pw, l->pw_len + 1);

	if (user_email_valid(email) &&
	    user_find_by_email(app->db, email, &u) == 0) {
		l->user_id = xstrdup(u.id);
		l->verified = u.email_verified;
		if (!u.disabled &&
		    user_password_phc(app->db, u.id, &l->phc) == 0)
			l->usable = true;
		user_clear(&u);
	}
	/*
	 * LG-03, LG-04 before any hashing (DS-02): checked and counted in one
	 * step. A device cookie only counts for the account it was issued to
	 * (and a refusal reads the same for known and unknown accounts).
	 */
	l->account_key = user_email_key(email);
	(void)web_device_hash(r, l->device);
	if (throttle_login_begin(app->db, app->cfg, l->account_key, r->ip,
		l->device[0] != '\0' ? l->device : NULL, l->user_id, r->now,
		&l->t) != 0) {
		page_message(w, 503, "Unavailable",
		    "Signing in is not possible right now. Please try again "
		    "later.",
		    NULL, NULL);
		resp_header(w, "Retry-After", "5");
		login_free(l);
		return;
	}
	if (!l->t.v.allowed) {
		char ra[24];
		json_t *d = json_pack(
		    "{s:s, s:b}", "what", "login", "locked", l->t.v.locked);

		web_audit(r, &l->pre, "ratelimit", "alert", NULL, NULL, d);
		json_decref(d);
		render_form(r, w, 429, &l->pre, l->email,
		    "Too many failed sign-ins. Wait a while and try again, or "
		    "reset your password.",
		    l->req);
		snprintf(ra, sizeof(ra), "%lld", (long long)l->t.v.retry_after);
		resp_header(w, "Retry-After", ra);
		login_free(l);
		return;
	}
	req_defer(r, login_start, l, login_free);
}

void
web_login(struct req *r, struct resp *w)
{
	if (r->method == HTTP_POST)
		login_post(r, w);
	else
		login_get(r, w);
}
