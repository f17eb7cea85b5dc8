/*
 * The second-factor step of a sign-in (GET and POST /login/mfa; issue 16,
 * SECURITY.md MF-03, MF-04, SS-01, LG-09).
 *
 * After a correct password, a user with a second factor does not get a
 * signed-in session: login.c calls web_mfa_begin(), which replaces the
 * pre-session with a pending step under a new id (auth/session.c,
 * session_begin_mfa: user_id NULL, so no page that needs a signed-in user
 * accepts it; mfa_user_id names the user for this step only) and sends
 * the browser here. The same page serves step-up: a signed-in session
 * that an application needs to prove more (h-policy sends it here).
 *
 * POST, in order: the form's CSRF token (bound to this pending step's
 * session id: a code cannot complete another browser's step), then the
 * attempt is counted as a failure on the account (MF-03, auth/
 * mfa_attempt.c) BEFORE the code is checked, then a 6-digit code is a
 * TOTP (totp_verify), anything else a recovery code (web_recovery_check,
 * on the hashing pool). Success ends in web_signin_done() like every
 * sign-in: a new session id (SS-01), the durable audit row, the pending
 * authorization request. Failure is a 400 with one generic message, an
 * mfa.failure audit row, and at the 5th, 20th and 100th failure in a row
 * an mfa.failure_burst alert and a mail to the user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "mail/mail.h"
#include "util/log.h"
#include "util/metrics.h"
#include "web/recover.h"
#include "web/web.h"

#define MFA_FORM "mfa"
#define CODE_MAX 64 /* bytes of a typed code: a recovery code is ~21 */
#define GENERIC_FAILURE "That code is not valid."

/* ---- Who the step is for ---- */

/*
 * The user a session's factor step is for, and what it proved so far: a
 * pending step's mfa_user_id, or a signed-in session's own user (step-up).
 * NULL: an anonymous pre-session, which has no step.
 */
static const char *
step_user(const struct session *s, const char **amr)
{
	if (s->user_id == NULL && s->mfa_user_id != NULL) {
		*amr = s->mfa_amr != NULL ? s->mfa_amr : "";
		return s->mfa_user_id;
	}
	if (s->user_id != NULL && s->mfa_user_id == NULL) {
		*amr = s->amr != NULL ? s->amr : "";
		return s->user_id;
	}
	*amr = "";
	return NULL;
}

/* A pending authorization request id fit for a URL: base64url, capped. */
static bool
req_id_ok(const char *req)
{
	size_t n;

	if (req == NULL)
		return false;
	n = strnlen(req, WEB_REQ_ID_MAX + 1);
	if (n == 0 || n > WEB_REQ_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = req[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* 303 to path, with ?req= when req is a well-formed request id. */
static void
redirect_req(struct resp *w, const char *path, const char *req)
{
	char loc[128];

	if (req_id_ok(req))
		snprintf(loc, sizeof(loc), "%s?req=%s", path, req);
	else
		snprintf(loc, sizeof(loc), "%s", path);
	web_redirect(w, loc);
}

/*
 * amr: base's words, then add's, each once, in that order ("pwd" + "otp
 * mfa" = "pwd otp mfa"; "pwd otp mfa" + "otp mfa" stays). "" when it
 * would not fit (the caller refuses).
 */
static void
amr_merge(const char *base, const char *add, char out[SESSION_AMR_MAX + 1])
{
	const char *parts[2] = { base, add };
	size_t len = 0;

	out[0] = '\0';
	for (size_t p = 0; p < 2; p++) {
		const char *s = parts[p] != NULL ? parts[p] : "";

		while (*s != '\0') {
			size_t n;
			bool dup = false;

			while (*s == ' ')
				s++;
			n = strcspn(s, " ");
			if (n == 0)
				break;
			for (const char *o = out; *o != '\0';) {
				size_t m = strcspn(o, " ");

				if (m == n && strncmp(o, s, n) == 0)
					dup = true;
				o += m;
				while (*o == ' ')
					o++;
			}
			if (!dup) {
				if (len + (len > 0) + n > SESSION_AMR_MAX) {
					out[0] = '\0';
					return;
				}
				if (len > 0)
					out[len++] = ' ';
				memcpy(out + len, s, n);
				len += n;
				out[len] = '\0';
			}
			s += n;
		}
	}
}

/* ---- What login.c and the passkey step call ---- */

int
web_mfa_needed(
    struct req *r, const char *user_id, const char *req_id, bool *needed)
{
	struct app *app = r->app;
	struct mfa_factors f;
	int rc;

	/* req_id: the application's request, for policy (require_mfa). */
	(void)req_id;
	*needed = false;
	if ((rc = mfa_factors_get(app->db, user_id, &f)) != 0)
		return rc;
	*needed = mfa_has_factor(&f);
	return 0;
}

int
web_mfa_begin(struct req *r, struct resp *w, const char *old_cookie,
    const char *user_id, const char *amr, const char *req_id)
{
	struct app *app = r->app;
	struct session s;
	char cookie[64];
	const char *ua = NULL;
	json_t *d;
	int rc;

	(void)req_header(r, "User-Agent", &ua);
	rc = session_begin_mfa(app->db, app->cfg, old_cookie, user_id, r->ip,
	    ua, amr, r->now, cookie, &s);
	if (rc != 0) {
		web_unavailable(w);
		return rc;
	}
	d = json_pack("{s:s}", "amr", amr);
	web_audit(r, &s, "mfa.pending", "success", user_id, NULL, d);
	json_decref(d);
	web_set_session_cookie(w, r, cookie);
	sodium_memzero(cookie, sizeof(cookie));
	session_clear(&s);
	redirect_req(w, "/login/mfa", req_id);
	return 0;
}

int
web_mfa_done(struct req *r, struct resp *w, const struct session *s,
    const char *cookie, const char *factor_amr, bool recovery,
    const char *req_id, json_t *details)
{
	struct app *app = r->app;
	char amr[SESSION_AMR_MAX + 1], add[SESSION_AMR_MAX + 1];
	const char *base, *user_id = step_user(s, &base);

	if (user_id == NULL || factor_amr == NULL) {
		web_unavailable(w);
		return PC_ERR_INVALID;
	}
	amr_merge(factor_amr, AMR_MFA, add);
	amr_merge(base, add, amr);
	if (amr[0] == '\0') {
		web_unavailable(w);
		return PC_ERR_INVALID;
	}
	/* MF-03: the streak of failures ends here (a recovery code also
	 * lifts a TOTP suspension). */
	if (mfa_attempt_ok(app->db, user_id, recovery) != 0)
		log_msg(LOG_WARN, "auth.mfa", "failure count not reset");
	return web_signin_done(r, w, s, cookie, user_id, amr, req_id, details);
}

/* ---- The page ---- */

static void
render(struct req *r, struct resp *w, int status, const struct session *s,
    const char *user_id, const char *req, const char *error)
{
	struct app *app = r->app;
	struct mfa_factors f;
	struct buf b;
	char token[64];

	if (mfa_factors_get(app->db, user_id, &f) != 0) {
		web_unavailable(w);
		return;
	}
	if (session_csrf_token(s, MFA_FORM, token) != 0) {
		page_message(w, 500, "Error", "Internal error.", NULL, NULL);
		return;
	}
	buf_init(&b, 64 * 1024);
	page_begin(&b, "Confirm it is you");
	if (error != NULL)
		page_notice(&b, "error", error);
	if (f.totp || f.recovery_left > 0) {
		page_puts(&b, "<form method=\"post\" action=\"/login/mfa\">\n");
		page_csrf(&b, token);
		if (req_id_ok(req)) {
			page_puts(
			    &b, "<input type=\"hidden\" name=\"req\" value=\"");
			page_text(&b, req);
			page_puts(&b, "\">\n");
		}
		page_puts(&b,
		    "<label for=\"code\">The 6-digit code from your "
		    "authenticator app, or one of your recovery codes</label>\n"
		    "<input id=\"code\" name=\"code\" type=\"text\" required "
		    "autocomplete=\"one-time-code\" autocapitalize=\"none\" "
		    "spellcheck=\"false\" maxlength=\"64\" autofocus>\n"
		    "<button type=\"submit\">Continue</button>\n</form>\n");
	}
	/* The passkey button (web/passkey.c): nothing without a passkey. */
	if (f.passkeys > 0 &&
	    web_passkey_factor_button(
		r, &b, s, user_id, req_id_ok(req) ? req : NULL) != 0)
		log_msg(LOG_WARN, "auth.mfa", "passkey button not shown");
	if (!mfa_has_factor(&f) && f.recovery_left == 0)
		page_puts(&b,
		    s->user_id != NULL
			? "<p>Your account has no second factor yet. Add one "
			  "on <a href=\"/account/mfa\">your account</a> "
			  "first.</p>\n"
			: "<p>There is no second factor on this account any "
			  "more. Sign in again.</p>\n");
	page_puts(&b,
	    "<nav><a href=\"/login\">Sign in as someone else</a>"
	    "</nav>\n");
	page_end(&b);
	page_send(w, status, &b);
	sodium_memzero(token, sizeof(token));
}

static void
mfa_get(struct req *r, struct resp *w)
{
	struct session s;
	const struct kvlist *q;
	const struct kv *kv = NULL;
	const char *req = NULL, *amr, *user_id;
	int rc;

	if (req_query(r, &q) == 0 && kvlist_get(q, "req", &kv) == 0)
		req = kv->value;
	rc = web_session(r, &s, NULL, NULL);
	if (web_store_failed(rc)) {
		web_unavailable(w);
		return;
	}
	if (rc != 0 || (user_id = step_user(&s, &amr)) == NULL) {
		/* No step here (none, expired, or not signed in): start over. */
		session_clear(&s);
		redirect_req(w, "/login", req);
		return;
	}
	render(r, w, 200, &s, user_id, req, NULL);
	session_clear(&s);
}

/* One factor attempt, alive from the POST until its answer is sent. */
struct step {
	struct session s;
	char cookie[64];
	char *user_id; /* the user the step is for */
	char *req;     /* the pending authorization request, or NULL */
	char *code;    /* as typed, spaces removed; wiped */
	struct mfa_verdict v;
};

static void
step_free(void *arg)
{
	struct step *st = arg;

	if (st == NULL)
		return;
	session_clear(&st->s);
	free(st->user_id);
	free(st->req);
	pc_freezero_str(st->code);
	pc_freezero(st, sizeof(*st));
}

/* MF-03, AU-06: the 5th, 20th and 100th failure in a row are told. */
void
web_mfa_failure_notice(struct req *r, const struct session *s,
    const char *user_id, const struct mfa_verdict *v)
{
	struct app *app = r->app;
	struct user u;
	struct mail_msg m;
	json_t *d;

	if (!mfa_failure_notifies(v->failures))
		return;
	d = json_pack("{s:I}", "failures", (json_int_t)v->failures);
	web_audit(r, s, "mfa.failure_burst", "alert", user_id, NULL, d);
	json_decref(d);
	memset(&m, 0, sizeof(m));
	if (user_get(app->db, user_id, &u) == 0 &&
	    mail_compose_mfa_failures(
		app->cfg, u.email, v->failures, r->now, &m) == 0)
		recover_send_mail(app, &m);
	user_clear(&u);
	if (mfa_attempt_notified(app->db, user_id, r->now) != 0)
		log_msg(LOG_WARN, "auth.mfa", "notice not recorded");
}

static void
step_failed(struct req *r, struct resp *w, struct step *st, const char *factor,
    const char *reason, const char *message)
{
	json_t *d = json_pack("{s:s, s:s, s:I}", "factor", factor, "reason",
	    reason, "failures", (json_int_t)st->v.failures);

	/* Counted before the check already (MF-03): nothing to undo. */
	web_audit(r, &st->s, "mfa.failure", "failure", st->user_id, NULL, d);
	metrics_signin(METRICS_FAILURE,
	    strcmp(factor, "recovery") == 0 ? METRICS_FACTOR_RECOVERY
					    : METRICS_FACTOR_OTP);
	json_decref(d);
	web_mfa_failure_notice(r, &st->s, st->user_id, &st->v);
	render(r, w, 400, &st->s, st->user_id, st->req,
	    message != NULL ? message : GENERIC_FAILURE);
}

static void
step_ok(struct req *r, struct resp *w, struct step *st, const char *factor,
    bool recovery)
{
	json_t *d = json_pack("{s:s}", "factor", factor);

	/* Non-zero: the 503 (or the policy's refusal) is already written. */
	if (web_mfa_done(
		r, w, &st->s, st->cookie, AMR_OTP, recovery, st->req, d) != 0)
		log_msg(LOG_WARN, "auth.mfa", "sign-in not completed");
	json_decref(d);
}

static void
recovery_done(struct req *r, struct resp *w, void *arg, int result)
{
	struct step *st = arg;

	if (result == 0)
		step_ok(r, w, st, "recovery", true);
	else if (result == PC_ERR_BUSY)
		web_busy(r, w);
	else if (result == PC_ERR_VERIFY || result == PC_ERR_NOT_FOUND ||
	    result == PC_ERR_INVALID)
		step_failed(r, w, st, "recovery", "bad_code", NULL);
	else
		web_unavailable(w);
}

static void
recovery_start(struct req *r, struct resp *w, void *arg)
{
	struct step *st = arg;

	(void)w;
	web_recovery_check(r, st->user_id, st->code, recovery_done, st);
}

static bool
is_totp(const char *code)
{
	if (strlen(code) != TOTP_DIGITS)
		return false;
	for (size_t i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return true;
}

/* The typed code without spaces (people copy "123 456"); NULL: too long. */
static char *
clean_code(const char *typed)
{
	size_t n = strnlen(typed, CODE_MAX + 1), k = 0;
	char *out;

	if (n > CODE_MAX)
		return NULL;
	out = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		if (typed[i] != ' ' && typed[i] != '\t')
			out[k++] = typed[i];
	out[k] = '\0';
	return out;
}

static void
refused(struct req *r, struct resp *w, struct step *st)
{
	char ra[24];
	json_t *d =
	    json_pack("{s:s, s:b}", "what", "mfa", "locked", st->v.locked);

	web_audit(r, &st->s, "ratelimit", "alert", st->user_id, NULL, d);
	json_decref(d);
	render(r, w, 429, &st->s, st->user_id, st->req,
	    st->v.locked ? "Too many wrong codes. Your second factor is "
			   "blocked until an administrator resets it."
			 : "Too many wrong codes. Wait a while and try again.");
	if (!st->v.locked) {
		snprintf(ra, sizeof(ra), "%lld", (long long)st->v.retry_after);
		resp_header(w, "Retry-After", ra);
	}
}

static void
mfa_post(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct step *st = xcalloc(1, sizeof(*st));
	const char *amr, *user_id, *code, *req;
	int rc;

	rc = web_session(r, &st->s, st->cookie, NULL);
	if (web_store_failed(rc)) {
		web_unavailable(w);
		goto out;
	}
	if (rc != 0 || (user_id = step_user(&st->s, &amr)) == NULL) {
		page_message(w, 403, "Request refused",
		    "Your sign-in has expired. Please sign in again.", "/login",
		    "Sign in");
		goto out;
	}
	/* CF-01 first: the token binds the form to this very step. */
	if (!web_check_form(r, w, &st->s, MFA_FORM))
		goto out;
	st->user_id = xstrdup(user_id);
	req = web_field(r, "req");
	if (req_id_ok(req))
		st->req = xstrdup(req);
	code = web_field(r, "code");
	if (code == NULL || (st->code = clean_code(code)) == NULL ||
	    st->code[0] == '\0') {
		/* Nothing was checked: not an attempt. */
		render(r, w, 400, &st->s, st->user_id, st->req,
		    code != NULL && st->code == NULL ? GENERIC_FAILURE
						     : "Enter a code.");
		goto out;
	}
	/* MF-03: counted (as a failure) before the check, atomically. */
	if (mfa_attempt_begin(app->db, app->cfg, st->user_id, r->now, &st->v) !=
	    0) {
		web_unavailable(w);
		goto out;
	}
	if (!st->v.allowed) {
		refused(r, w, st);
		goto out;
	}
	if (is_totp(st->code)) {
		if (st->v.totp_suspended) {
			step_failed(r, w, st, "totp", "totp_suspended",
			    "Codes from your authenticator app are suspended "
			    "after too many wrong ones. Use a recovery code.");
			goto out;
		}
		rc = totp_verify(
		    app->db, app->mk, st->user_id, st->code, r->now);
		if (rc == 0)
			step_ok(r, w, st, "totp", false);
		else if (rc == PC_ERR_VERIFY || rc == PC_ERR_NOT_FOUND ||
		    rc == PC_ERR_INVALID)
			step_failed(r, w, st, "totp", "bad_code", NULL);
		else
			web_unavailable(w);
		goto out;
	}
	/* Anything else is a recovery code: Argon2id on the pool. */
	req_defer(r, recovery_start, st, step_free);
	return;
out:
	step_free(st);
}

void
web_login_mfa(struct req *r, struct resp *w)
{
	if (r->method == HTTP_POST)
		mfa_post(r, w);
	else
		mfa_get(r, w);
}
