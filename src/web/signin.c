/*
 * The end of every successful sign-in, whatever proved it: a password, a
 * password and a second factor, or a passkey alone (issue 16). One place
 * replaces the session id (SS-01), writes the durable audit row before the
 * browser holds a session (AU-01), carries refresh tokens across a
 * re-authentication of the same user (RT-05) and goes back to the pending
 * authorization request, so the pathways cannot drift apart (LG-09).
 */
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "util/log.h"
#include "util/metrics.h"
#include "web/web.h"

static void
unavailable(struct resp *w)
{
	page_message(w, 503, "Unavailable",
	    "Signing in is not possible right now. Please try again later.",
	    NULL, NULL);
	resp_header(w, "Retry-After", "5");
}

/* 0, or the refusal (403) or a 503 is sent. */
static int
signin_policy(
    struct req *r, struct resp *w, const char *user_id, const char *amr)
{
	struct app *app = r->app;
	json_t *d;
	bool ok = false;
	int rc;

	rc = mfa_signin_allowed(app->db, app->cfg, user_id, amr, r->now, &ok);
	if (rc != 0) {
		unavailable(w);
		return rc;
	}
	if (ok)
		return 0;
	d = json_pack("{s:s}", "reason", "mfa_enrolment_required");
	(void)web_audit(r, NULL, "login", "failure", user_id, NULL, d);
	json_decref(d);
	metrics_signin(METRICS_FAILURE, METRICS_FACTOR_POLICY);
	page_message(w, 403, "A second factor is required",
	    "This service requires a second factor (an authenticator app or "
	    "a passkey) for every sign-in, and your account has none. The "
	    "time to add one has passed: ask your administrator to let you "
	    "enrol one.",
	    NULL, NULL);
	return PC_ERR_PERM;
}

int
web_signin_done(struct req *r, struct resp *w, const struct session *old,
    const char *old_cookie, const char *user_id, const char *amr,
    const char *req_id, json_t *details)
{
	struct app *app = r->app;
	struct session s;
	char cookie[64];
	const char *ua = NULL;
	json_t *d = details != NULL ? json_incref(details) : json_object();
	int rc;

	(void)req_header(r, "User-Agent", &ua);
	/* Issue 16, decision 0069: under mfa = required, an account with no
	 * second factor signs in with one only during its grace. */
	if ((rc = signin_policy(r, w, user_id, amr)) != 0) {
		json_decref(d);
		return rc;
	}
	rc = session_rotate(app->db, app->cfg, old_cookie, user_id, r->ip, ua,
	    amr, r->now, cookie, &s);
	if (rc != 0) {
		json_decref(d);
		unavailable(w);
		return rc;
	}
	if (d != NULL && amr != NULL)
		(void)json_object_set_new(d, "amr", json_string(amr));
	rc = web_audit(r, &s, "login", "success", user_id, NULL, d);
	json_decref(d);
	if (rc != 0) {
		/* AU-01: no session without its durable audit row. */
		if (session_revoke(app->db, cookie) != 0)
			log_msg(LOG_WARN, "auth.login", "session not revoked");
		sodium_memzero(cookie, sizeof(cookie));
		session_clear(&s);
		unavailable(w);
		return rc;
	}
	/*
	 * Signing in over a signed-in session (re-authentication for an
	 * application) replaced it. RT-05: the refresh tokens issued from it
	 * follow the new session when it is the same user, so signing out
	 * still ends them; another user's end with the session they came
	 * from.
	 */
	if (old != NULL && old->user_id != NULL &&
	    session_carry_tokens(app->db, old, &s, r->now) != 0)
		log_msg(LOG_WARN, "auth.login", "old session's tokens kept");
	web_set_session_cookie(w, r, cookie);
	sodium_memzero(cookie, sizeof(cookie));
	metrics_signin(METRICS_SUCCESS, metrics_factor_of_amr(amr));
	{
		/* Back to the application's request, if it is still live. */
		char loc[96];

		if (req_id != NULL &&
		    web_authorize_login_done(r, req_id, &s, loc) == 0)
			web_redirect(w, loc);
		else if (req_id == NULL && web_fwd_pending(r))
			/* Issue 17: back to a forward-auth dance. */
			web_redirect(w, "/forward-auth/start");
		else
			web_redirect(w, "/account");
	}
	session_clear(&s);
	return 0;
}
