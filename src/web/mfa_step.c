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
#include "util/log.h"
#include "web/web.h"

#define MFA_FORM "mfa"
#define CODE_MAX 64 /* bytes of a typed code: a recovery code is ~21 */

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
		    "<p>There is no second factor on this account any more. "
		    "Sign in again.</p>\n");
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

void
web_login_mfa(struct req *r, struct resp *w)
{
	mfa_get(r, w);
}
