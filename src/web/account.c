/*
 * The signed-in user's page (/account): who they are, their sessions (list
 * and end one or all others, SS-07; the refresh tokens issued from an
 * ended session end with it, RT-05), the applications they allowed (list
 * and revoke: the consent goes and every token of that grant dies, RT-05),
 * change password (current password required, PW-08; other sessions end),
 * sign out (SS-06). Signing out all other sessions and a password change
 * also revoke the device cookies of every other browser (LG-03).
 *
 * Sensitive changes need a recent sign-in (SS-09): ending other sessions
 * asks for the password again when the session's auth_time is older than
 * reauth_window. A password change always asks for the current password,
 * which is itself the re-authentication. Both give the session a new id
 * (SS-01).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "oauth/oauth.h"
#include "util/log.h"
#include "util/useragent.h"
#include "web/web.h"

#define FORM_SESSIONS "account-sessions"
#define FORM_CONSENTS "account-consents"
#define FORM_PASSWORD "account-password"
#define FORM_REAUTH WEB_FORM_REAUTH
#define FORM_LOGOUT "logout"

static void
fmt_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

/* A POST form with the session's token for form_id and one button. */
static void
button_form(struct buf *b, const struct session *s, const char *action,
    const char *form_id, const char *name, const char *value, const char *label,
    bool inline_link)
{
	char token[64];

	if (session_csrf_token(s, form_id, token) != 0)
		return;
	page_printf(b, "<form method=\"post\" action=\"%s\"%s>", action,
	    inline_link ? " class=\"inline\"" : "");
	page_csrf(b, token);
	if (name != NULL) {
		page_printf(
		    b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
		page_text(b, value);
		page_puts(b, "\">");
	}
	page_printf(b, "<button type=\"submit\"%s>",
	    inline_link ? " class=\"link\"" : "");
	page_text(b, label);
	page_puts(b, "</button></form>\n");
	sodium_memzero(token, sizeof(token));
}

static const char *
notice_for(struct req *r)
{
	const struct kvlist *q;
	const char *done;

	if (req_query(r, &q) != 0 || (done = kvlist_value(q, "done")) == NULL)
		return NULL;
	if (strcmp(done, "password") == 0)
		return "Your password was changed. Your other sessions were "
		       "signed out.";
	if (strcmp(done, "sessions") == 0)
		return "The sessions were signed out.";
	if (strcmp(done, "consents") == 0)
		return "The application's access was revoked. It can no longer "
		       "use the tokens it was given.";
	if (strcmp(done, "reauth") == 0)
		return "Thank you: you can now make changes for the next few "
		       "minutes.";
	if (strcmp(done, "agents") == 0)
		return "The delegation was revoked. Every token it gave, and "
		       "every token derived from them, no longer works.";
	return NULL;
}

/* The applications the user allowed, each with "Revoke access". */
static void
render_consents(struct buf *b, const struct session *s,
    const struct consent_entry *v, size_t n)
{
	page_puts(b, "<h2>Applications you allowed</h2>\n");
	if (n == 0) {
		page_puts(b,
		    "<p>You have not allowed any application to access your "
		    "account.</p>\n");
		return;
	}
	page_puts(b,
	    "<table><thead><tr><th>Application</th><th>Access</th>"
	    "<th>Since</th><th></th></tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		char since[32];

		fmt_time(v[i].granted_at, since);
		page_puts(b, "<tr><td>");
		page_text(b,
		    v[i].client_name != NULL ? v[i].client_name
					     : v[i].client_id);
		page_puts(b, "</td><td>");
		page_text(b, v[i].scope);
		page_printf(b, "</td><td>%s</td><td>", since);
		button_form(b, s, "/account/consents", FORM_CONSENTS,
		    "client_id", v[i].client_id, "Revoke access", true);
		page_puts(b, "</td></tr>\n");
	}
	page_puts(b, "</tbody></table>\n");
}

static void
render_account(struct req *r, struct resp *w, const struct session *s,
    int status, const char *error)
{
	struct app *app = r->app;
	struct user u;
	struct session_info *list = NULL;
	struct consent_entry *consents = NULL;
	struct store_delegation *dl = NULL;
	size_t n = 0, nc = 0, nd = 0;
	struct buf b;
	char token[64];
	const char *notice = error == NULL ? notice_for(r) : NULL;
	int min_chars =
	    user_has_mfa(app->db, s->user_id) ? PW_MIN_CHARS_MFA : PW_MIN_CHARS;

	if (user_get(app->db, s->user_id, &u) != 0 ||
	    session_list_user(app->db, s->user_id, &list, &n) != 0 ||
	    consent_list_user(app->db, s->user_id, &consents, &nc) != 0 ||
	    delegation_list(app, s->user_id, r->now, &dl, &nd) != 0) {
		user_clear(&u);
		session_infos_free(list, n);
		consent_entries_free(consents, nc);
		page_message(w, 503, "Unavailable",
		    "Your account cannot be shown right now. Please try again "
		    "later.",
		    NULL, NULL);
		resp_header(w, "Retry-After", "5");
		return;
	}
	buf_init(&b, 256 * 1024);
	page_begin(&b, "Your account");
	if (error != NULL)
		page_notice(&b, "error", error);
	else if (notice != NULL)
		page_notice(&b, "info", notice);
	page_puts(&b, "<p>Signed in as <strong>");
	page_text(&b, u.email);
	page_puts(&b, "</strong>");
	if (u.name[0] != '\0') {
		page_puts(&b, " (");
		page_text(&b, u.name);
		page_puts(&b, ")");
	}
	page_puts(&b,
	    u.email_verified ? ". Your email address is verified.</p>\n"
			     : ". Your email address is not verified yet."
			       "</p>\n");

	page_puts(&b,
	    "<h2>Your sessions</h2>\n<table><thead><tr><th>Signed in</th>"
	    "<th>Last seen</th><th>IP address</th><th>Browser</th><th></th>"
	    "</tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		char created[32], seen[32], ua[USERAGENT_DESC_MAX];
		bool self = strcmp(list[i].id_hash, s->id_hash) == 0;

		fmt_time(list[i].auth_time, created);
		fmt_time(list[i].last_seen_at, seen);
		page_printf(
		    &b, "<tr><td>%s</td><td>%s</td><td>", created, seen);
		page_text(&b, list[i].ip != NULL ? list[i].ip : "");
		page_puts(&b, "</td><td>");
		/* In words: the raw header is long and means little. */
		useragent_describe(list[i].user_agent, ua, sizeof(ua));
		page_text(&b, ua);
		page_puts(&b, "</td><td>");
		if (self)
			page_puts(&b, "This session");
		else
			button_form(&b, s, "/account/sessions", FORM_SESSIONS,
			    "session", list[i].id_hash, "Sign out", true);
		page_puts(&b, "</td></tr>\n");
	}
	page_puts(&b, "</tbody></table>\n");
	if (n > 1)
		button_form(&b, s, "/account/sessions", FORM_SESSIONS,
		    "session", "others", "Sign out all other sessions", false);

	render_consents(&b, s, consents, nc);
	web_account_agents_render(&b, s, dl, nd);
	/* Issue 16: what protects the account (src/web/account_mfa.c). */
	page_puts(&b,
	    "<h2>Sign-in protection</h2>\n<p><a href=\"/account/mfa\">"
	    "Second factors: passkeys, authenticator app, recovery "
	    "codes</a></p>\n");
	page_puts(&b,
	    "<h2>API keys</h2>\n<p><a href=\"/account/keys\">Your "
	    "personal API keys</a></p>\n");

	page_puts(&b, "<h2>Change your password</h2>\n");
	if (session_csrf_token(s, FORM_PASSWORD, token) == 0) {
		page_puts(&b,
		    "<form method=\"post\" action=\"/account/password\">\n");
		page_csrf(&b, token);
		page_puts(&b,
		    "<input type=\"hidden\" name=\"username\" "
		    "autocomplete=\"username\" value=\"");
		page_text(&b, u.email);
		page_puts(&b,
		    "\">\n<label for=\"current\">Current password</label>\n"
		    "<input id=\"current\" name=\"current\" type=\"password\" "
		    "required autocomplete=\"current-password\">\n"
		    "<label for=\"new\">New password</label>\n"
		    "<input id=\"new\" name=\"new\" type=\"password\" "
		    "required ");
		/* PW-03: 8 characters with a second factor, else 15. */
		page_printf(&b,
		    "minlength=\"%d\" autocomplete=\"new-password\" "
		    "aria-describedby=\"new-hint\">\n"
		    "<p class=\"hint\" id=\"new-hint\">At least %d characters. "
		    "A few unrelated words make a good password; a password "
		    "manager is welcome.</p>\n"
		    "<button type=\"submit\">Change password</button>\n"
		    "</form>\n",
		    min_chars, min_chars);
		sodium_memzero(token, sizeof(token));
	}
	page_puts(&b, "<nav>");
	button_form(
	    &b, s, "/logout", FORM_LOGOUT, NULL, NULL, "Sign out", true);
	page_puts(&b, "</nav>\n");
	page_end(&b);
	page_send(w, status, &b);
	user_clear(&u);
	session_infos_free(list, n);
	consent_entries_free(consents, nc);
	delegation_list_free(dl, nd);
}

/* The signed-in session, or a 303 to /login (and false). */
static bool
signed_in(struct req *r, struct resp *w, struct session *s, char cookie[64])
{
	bool presented = false;
	int rc;

	if ((rc = web_session(r, s, cookie, &presented)) == 0 &&
	    s->user_id != NULL)
		return true;
	if (web_store_failed(rc)) {
		/* Not "signed out": the store cannot say (fail closed). */
		web_unavailable(w);
		return false;
	}
	if (presented)
		web_audit(
		    r, NULL, "session.unknown", "failure", NULL, NULL, NULL);
	session_clear(s);
	if (r->method == HTTP_POST) {
		page_message(w, 401, "Signed out",
		    "Your session has ended. Please sign in again.", "/login",
		    "Sign in");
		return false;
	}
	web_redirect(w, "/login");
	return false;
}

void
web_account(struct req *r, struct resp *w)
{
	struct session s;

	if (!signed_in(r, w, &s, NULL))
		return;
	render_account(r, w, &s, 200, NULL);
	session_clear(&s);
}

void
web_account_sessions(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct session s;
	char cookie[64];
	const char *which;
	int64_t n = 0, nf = 0;
	int rc;

	if (!signed_in(r, w, &s, cookie))
		return;
	if (!web_check_form(r, w, &s, FORM_SESSIONS))
		goto out;
	which = web_field(r, "session");
	if (which == NULL) {
		render_account(r, w, &s, 400, "Choose a session to sign out.");
		goto out;
	}
	if (!web_recent_auth(r, &s)) {
		web_render_reauth(r, w, &s, 403, NULL, "sessions");
		goto out;
	}
	/*
	 * Only the user's own sessions, never the current one; the token
	 * families issued from them are revoked in the same transaction
	 * (RT-05).
	 */
	rc = session_end_others(app->db, &s,
	    strcmp(which, "others") == 0 ? NULL : which, r->now, &n, &nf);
	if (rc == PC_ERR_NOT_FOUND) {
		render_account(
		    r, w, &s, 400, "That session has already ended.");
		goto out;
	}
	if (rc != 0) {
		page_message(w, 503, "Unavailable",
		    "The sessions could not be signed out. Please try again.",
		    "/account", "Back to your account");
		goto out;
	}
	if (strcmp(which, "others") == 0) {
		/* "Sign out everywhere else": the other browsers' device
		 * cookies go too (LG-03); this browser's stays. */
		char dev[PC_SHA256_HEX_LEN + 1];
		bool mine = web_device_hash(r, dev);

		if (device_cookies_revoke(
			app->db, s.user_id, mine ? dev : NULL, NULL) != 0)
			log_msg(LOG_WARN, "auth.device", "device cookies kept");
	}
	{
		json_t *d = json_pack("{s:s, s:I, s:I}", "which",
		    strcmp(which, "others") == 0 ? "others" : "one", "count",
		    (json_int_t)n, "token_families", (json_int_t)nf);

		rc = web_audit(r, &s, "session.revoke", "success", s.user_id,
		    s.user_id, d);
		json_decref(d);
	}
	if (rc != 0) {
		/* AU-01: ended either way, but not answered as recorded. */
		page_message(w, 503, "Unavailable",
		    "The sessions were signed out, but this could not be "
		    "recorded. Please try again later.",
		    "/account", "Back to your account");
		goto out;
	}
	web_redirect(w, "/account?done=sessions");
out:
	sodium_memzero(cookie, sizeof(cookie));
	session_clear(&s);
}

/*
 * "Revoke access" (POST /account/consents): the consent goes and every
 * token family of this user and client is revoked, so its refresh tokens
 * and, through their gid, its access tokens stop working (RT-05). CSRF
 * checked like every account form (CF-01); no recent sign-in needed, as it
 * only takes access away.
 */
void
web_account_consents(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct session s;
	const char *client_id;
	int64_t nf = 0;
	int rc;

	if (!signed_in(r, w, &s, NULL))
		return;
	if (!web_check_form(r, w, &s, FORM_CONSENTS))
		goto out;
	client_id = web_field(r, "client_id");
	if (client_id == NULL || client_id[0] == '\0' ||
	    strlen(client_id) > 128) {
		render_account(r, w, &s, 400, "Choose an application.");
		goto out;
	}
	rc = consent_revoke_user(app->db, s.user_id, client_id, r->now, &nf);
	if (rc == PC_ERR_NOT_FOUND) {
		render_account(r, w, &s, 400,
		    "That application's access was already revoked.");
		goto out;
	}
	if (rc != 0) {
		page_message(w, 503, "Unavailable",
		    "The access could not be revoked. Please try again.",
		    "/account", "Back to your account");
		resp_header(w, "Retry-After", "5");
		goto out;
	}
	{
		json_t *d = json_pack("{s:s, s:I}", "client_id", client_id,
		    "token_families", (json_int_t)nf);

		rc = web_audit(r, &s, "consent.revoke", "success", s.user_id,
		    client_id, d);
		json_decref(d);
	}
	if (rc != 0) {
		/* AU-01: revoked either way, but not answered as recorded. */
		page_message(w, 503, "Unavailable",
		    "The access was revoked, but this could not be recorded. "
		    "Please try again later.",
		    "/account", "Back to your account");
		goto out;
	}
	web_redirect(w, "/account?done=consents");
out:
	session_clear(&s);
}

/*
 * A password operation on the hashing pool: re-authentication (verify)
 * and password change (verify the current one, then hash the new one).
 */
struct pwop {
	struct session s;
	char cookie[64];
	char *phc; /* stored hash */
	char *cur; /* sodium_malloc: the password typed to verify */
	size_t cur_len;
	char *next; /* sodium_malloc: the new password (change only) */
	size_t next_len;
	bool change;  /* password change (else re-authentication) */
	bool hashing; /* stage two of a change */
	char then[16];
	char *account_key; /* the throttle's key: lower-cased email */
	char device[PC_SHA256_HEX_LEN + 1]; /* this browser's cookie hash */
	struct throttle_attempt t; /* counted before the hash (LG-03) */
	struct web_hash hash;	   /* the pool's answer */
};

static void
pwop_free(void *arg)
{
	struct pwop *o = arg;

	if (o == NULL)
		return;
	session_clear(&o->s);
	pc_freezero_str(o->phc);
	free(o->account_key);
	if (o->cur != NULL)
		sodium_free(o->cur);
	if (o->next != NULL)
		sodium_free(o->next);
	/* The session cookie, the pool's answer (a PHC string): wiped. */
	pc_freezero(o, sizeof(*o));
}

static char *
secure_copy(const char *s, size_t len)
{
	char *p = sodium_malloc(len + 1);

	if (p != NULL)
		memcpy(p, s, len + 1);
	return p;
}

/*
 * Where a re-authentication goes back to (the form's "then"): a fixed
 * list, never a URL from the request. Anything else: the account page.
 */
struct reauth_target {
	const char *name;
	const char *location;
};

static const struct reauth_target reauth_targets[] = {
	{ "sessions", "/account?done=reauth" },
	{ "keys", "/account/keys?done=reauth" },
	{ "totp", "/account/mfa/totp?done=reauth" },
	{ "recovery", "/account/mfa/recovery?done=reauth" },
	{ "passkeys", "/account/passkeys?done=reauth" },
	{ "mfa", "/account/mfa?done=reauth" },
};

static const struct reauth_target *
reauth_then(const char *then)
{
	for (size_t i = 0; then != NULL && i < PC_NELEM(reauth_targets); i++)
		if (strcmp(then, reauth_targets[i].name) == 0)
			return &reauth_targets[i];
	return &reauth_targets[0];
}

static void pwop_step(struct req *r, struct resp *w, void *arg);

static void
pwop_start(struct req *r, struct resp *w, void *arg)
{
	struct pwop *o = arg;
	struct pwjob job;

	(void)w;
	memset(&job, 0, sizeof(job));
	if (o->hashing) {
		job.kind = PWJOB_HASH;
		job.pw = o->next;
		job.pw_len = o->next_len;
	} else {
		job.kind = o->phc != NULL ? PWJOB_VERIFY : PWJOB_DUMMY;
		job.pw = o->cur;
		job.pw_len = o->cur_len;
		job.phc = o->phc;
	}
	web_hash_submit(&o->hash, r, &job, pwop_step);
}

/* The session gets a new id after a re-authentication (SS-01). */
static int
pwop_rotate(struct req *r, struct resp *w, struct pwop *o)
{
	struct app *app = r->app;
	char cookie[64];
	const char *ua = NULL;
	struct session ns;
	int rc;

	(void)req_header(r, "User-Agent", &ua);
	rc = session_rotate(app->db, app->cfg, o->cookie, o->s.user_id, r->ip,
	    ua, o->s.amr != NULL && o->s.amr[0] != '\0' ? o->s.amr : "pwd",
	    r->now, cookie, &ns);
	if (rc == 0) {
		web_set_session_cookie(w, r, cookie);
		session_clear(&o->s);
		o->s = ns;
	}
	sodium_memzero(cookie, sizeof(cookie));
	return rc;
}

static void
pwop_step(struct req *r, struct resp *w, void *arg)
{
	struct app *app = r->app;
	struct pwop *o = arg;
	int rc;

	if (o->hash.res.r == PC_ERR_BUSY) {
		/* Never checked: the attempt does not count. */
		if (!o->hashing &&
		    throttle_login_end(app->db, &o->t, false) != 0)
			log_msg(LOG_WARN, "auth.throttle", "busy not undone");
		web_busy(r, w);
		return;
	}
	if (!o->hashing) {
		if (o->hash.res.r != 0) {
			json_t *d = json_pack("{s:s}", "step",
			    o->change ? "password_change" : "reauth");

			web_audit(r, &o->s, "reauth", "failure", o->s.user_id,
			    NULL, d);
			json_decref(d);
			/* Counted as a failure before the hash already. */
			if (o->change)
				render_account(r, w, &o->s, 400,
				    "Your current password is not correct.");
			else
				web_render_reauth(r, w, &o->s, 400,
				    "That password is not correct.", o->then);
			return;
		}
		if (throttle_login_end(app->db, &o->t, true) != 0)
			log_msg(
			    LOG_WARN, "auth.throttle", "success not recorded");
		if (!o->change) {
			/* AU-01: the renewed sign-in is durable first, or
			 * the session is not renewed (no new cookie). */
			if (web_audit(r, &o->s, "reauth", "success",
				o->s.user_id, NULL, NULL) != 0) {
				page_message(w, 503, "Unavailable",
				    "Your password could not be confirmed "
				    "right now. Please try again later.",
				    "/account", "Back to your account");
				return;
			}
			if (pwop_rotate(r, w, o) != 0) {
				web_busy(r, w);
				return;
			}
			web_redirect(w, reauth_then(o->then)->location);
			return;
		}
		/* Stage two: hash the new password, off this thread. */
		o->hashing = true;
		req_defer(r, pwop_start, o, pwop_free);
		return;
	}
	if (o->hash.res.r != 0) {
		web_busy(r, w);
		return;
	}
	/* The new hash; every other session and every other browser's
	 * device cookie end (PW-08, LG-03). */
	rc = user_password_change(app->db, &o->s, o->hash.res.phc,
	    o->device[0] != '\0' ? o->device : NULL, r->now);
	/* AU-01: the change stands (undoing it would be worse), but without
	 * its durable row the answer is a 503 and no new session cookie. */
	if (rc == 0 &&
	    web_audit(r, &o->s, "password.change", "success", o->s.user_id,
		o->s.user_id, NULL) != 0) {
		web_notify_password_changed(r, o->s.user_id);
		page_message(w, 503, "Unavailable",
		    "Your password was changed, but the change could not be "
		    "recorded. Please try again later.",
		    "/account", "Back to your account");
		return;
	}
	if (rc != 0 || pwop_rotate(r, w, o) != 0) {
		page_message(w, 503, "Unavailable",
		    "Your password could not be changed. Please try again.",
		    "/account", "Back to your account");
		return;
	}
	web_notify_password_changed(r, o->s.user_id);
	web_redirect(w, "/account?done=password");
}

/* Common start of both password forms. NULL: w is the answer already. */
static struct pwop *
pwop_begin(
    struct req *r, struct resp *w, const char *form_id, const char *field)
{
	struct app *app = r->app;
	struct pwop *o = xcalloc(1, sizeof(*o));
	const char *pw;

	if (!signed_in(r, w, &o->s, o->cookie) ||
	    !web_check_form(r, w, &o->s, form_id)) {
		pwop_free(o);
		return NULL;
	}
	pw = web_field(r, field);
	if (pw == NULL || pw[0] == '\0' || strlen(pw) > PW_MAX_BYTES) {
		if (strcmp(form_id, FORM_REAUTH) == 0)
			web_render_reauth(r, w, &o->s, 400,
			    "Enter your password.", "sessions");
		else
			render_account(
			    r, w, &o->s, 400, "Enter your current password.");
		pwop_free(o);
		return NULL;
	}
	o->cur_len = strlen(pw);
	o->cur = secure_copy(pw, o->cur_len);
	if (o->cur == NULL) {
		web_busy(r, w);
		pwop_free(o);
		return NULL;
	}
	if (user_password_phc(app->db, o->s.user_id, &o->phc) != 0)
		o->phc = NULL; /* dummy work, then "not correct" */
	return o;
}

/*
 * PW-08, LG-09: the same throttle as the sign-in form, counted right
 * before the hash; this browser's device cookie counts as on the sign-in
 * form, so a stranger's failures never hold the owner here either. false:
 * w is the answer already.
 */
static bool
pwop_count(struct req *r, struct resp *w, struct pwop *o)
{
	struct app *app = r->app;
	struct user u;

	(void)web_device_hash(r, o->device);
	if (user_get(app->db, o->s.user_id, &u) != 0 ||
	    (o->account_key = user_email_key(u.email)) == NULL ||
	    throttle_login_begin(app->db, app->cfg, o->account_key, r->ip,
		o->device[0] != '\0' ? o->device : NULL, o->s.user_id, r->now,
		&o->t) != 0) {
		user_clear(&u);
		web_busy(r, w);
		return false;
	}
	user_clear(&u);
	if (!o->t.v.allowed) {
		char ra[24];

		page_message(w, 429, "Too many attempts",
		    "Too many wrong passwords. Wait a while and try again.",
		    "/account", "Back to your account");
		snprintf(ra, sizeof(ra), "%lld", (long long)o->t.v.retry_after);
		resp_header(w, "Retry-After", ra);
		return false;
	}
	return true;
}

void
web_account_reauth(struct req *r, struct resp *w)
{
	struct pwop *o = pwop_begin(r, w, FORM_REAUTH, "password");
	const char *then;

	if (o == NULL)
		return;
	then = web_field(r, "then");
	snprintf(o->then, sizeof(o->then), "%s", reauth_then(then)->name);
	if (!pwop_count(r, w, o)) {
		pwop_free(o);
		return;
	}
	req_defer(r, pwop_start, o, pwop_free);
}

void
web_account_password(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct pwop *o = pwop_begin(r, w, FORM_PASSWORD, "current");
	const char *nw;
	struct user u;
	struct pw_check chk = { PW_OK, NULL };

	if (o == NULL)
		return;
	o->change = true;
	nw = web_field(r, "new");
	if (nw == NULL || nw[0] == '\0') {
		render_account(r, w, &o->s, 400, "Enter a new password.");
		pwop_free(o);
		return;
	}
	/* PW-03..06 before any hashing: the reason is shown. */
	if (user_get(app->db, o->s.user_id, &u) != 0 ||
	    user_pw_check(u.email, u.name, nw, strlen(nw),
		user_has_mfa(app->db, o->s.user_id), &chk) != 0 ||
	    chk.verdict != PW_OK) {
		render_account(r, w, &o->s, 400,
		    chk.verdict != PW_OK && chk.message != NULL
			? chk.message
			: "The new password cannot be used.");
		user_clear(&u);
		pwop_free(o);
		return;
	}
	user_clear(&u);
	o->next_len = strlen(nw);
	o->next = secure_copy(nw, o->next_len);
	if (o->next == NULL) {
		web_busy(r, w);
		pwop_free(o);
		return;
	}
	if (!pwop_count(r, w, o)) {
		pwop_free(o);
		return;
	}
	req_defer(r, pwop_start, o, pwop_free);
}
