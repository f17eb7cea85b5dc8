/*
 * What the account-recovery pages share: register.c (register, verify,
 * resend a verification link) and reset.c (forgot password, reset) use
 * these through recover.h.
 *
 * Forgot (/forgot) and resend (/verify/resend) always give the same
 * answer (RS-01). The request path does only what is the same for every
 * address: the form checks and the per-IP mail count (every request
 * counts, known address or not). The account work (lookup, the
 * per-(account, IP) and per-account mail limits, token, audit row, mail)
 * runs here, on the mail work queue after the answer was sent (req_after,
 * mail_jobs), so its time never shows in the answer. Mail goes only to an
 * existing, enabled account (and a verification link only to an
 * unconfirmed one). Nothing about the account changes (RS-07).
 *
 * Also here: the forms' pre-session and token (CF-01, LG-07), the
 * one-time link's parameter and its refusal pages, and the notice that a
 * password changed (AU-06).
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
#include "web/recover.h"
#include "web/web.h"

void
recover_send_mail(struct app *app, struct mail_msg *m)
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

void
recover_ratelimit_audit(struct req *r, const char *what)
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
int
recover_mail_ip_count(struct req *r, bool *ok)
{
	struct app *app = r->app;
	int rc;

	*ok = false;
	if ((rc = throttle_mail_ip(app->db, app->cfg, r->ip, r->now, ok)) != 0)
		return rc;
	if (!*ok)
		recover_ratelimit_audit(r, "mail_ip");
	return 0;
}

/* RS-07: one more mail to this address from this client, or not. */
int
recover_mail_account_count(struct db *db, const struct config *cfg,
    const char *email, const char *ip, int64_t now, bool *ok)
{
	char *key = user_email_key(email);
	int rc = throttle_mail_account(db, cfg, key, ip, now, ok);

	free(key);
	return rc;
}

/* ---- The account work, after the answer (RS-01) ---- */

/* What the work needs from the request, copied: the request is gone. */
struct mailjob {
	struct app *app;
	enum usertoken_purpose p; /* reset (forgot) or verify (resend) */
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
mailjob_new(struct req *r, const struct session *s, enum usertoken_purpose p,
    const char *email)
{
	struct mailjob *j = xcalloc(1, sizeof(*j));
	const char *ua = NULL;

	j->app = r->app;
	j->p = p;
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
	enum usertoken_purpose p = j->p;
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
	    (u.disabled || (p == USERTOKEN_VERIFY && u.email_verified))) {
		result = "not_eligible";
		goto out;
	}
	if (rc != 0 ||
	    (rc = recover_mail_account_count(
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
	if (p == USERTOKEN_RESET) {
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
	log_str(&l, "kind", j->p == USERTOKEN_RESET ? "reset" : "verify");
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
	log_str(&l, "kind", j->p == USERTOKEN_RESET ? "reset" : "verify");
	log_str(&l, "result", "dropped");
	log_str(&l, "error", pc_strerror(rc));
	log_end(&l);
	log_set_rid(NULL);
	mailjob_free(j);
}

void
recover_mail_later(struct req *r, const struct session *s,
    enum usertoken_purpose p, const char *email)
{
	req_after(r, mailjob_submit, mailjob_new(r, s, p, email));
}

/* The "check your inbox" page: identical for every outcome. */
void
recover_check_inbox(struct resp *w, const char *what)
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
bool
recover_form_token(struct req *r, struct resp *w, const char *form_id,
    struct session *s, char token[64])
{
	if (web_presession(r, w, s) != 0 ||
	    session_csrf_token(s, form_id, token) != 0) {
		session_clear(s);
		web_unavailable(w);
		return false;
	}
	return true;
}

/* The POST side: the form's own pre-session and token (CF-01, LG-07). */
bool
recover_form_post(
    struct req *r, struct resp *w, const char *form_id, struct session *s)
{
	bool presented = false;
	int rc;

	if ((rc = web_session(r, s, NULL, &presented)) != 0 &&
	    web_store_failed(rc)) {
		web_unavailable(w);
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

/* The token from a form field or the query string, shape-checked. */
const char *
recover_token_param(struct req *r, bool from_form)
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

void
recover_invalid_link(struct resp *w, const char *again, const char *again_text)
{
	page_message(w, 400, "Invalid or expired link",
	    "This link is not valid any more: it was used already, a newer "
	    "one was sent, or it expired.",
	    again, again_text);
}

/* A link the store did not accept: invalid, or the store failed (503). */
void
recover_link_refused(
    struct resp *w, int rc, const char *again, const char *again_text)
{
	if (web_store_failed(rc))
		web_unavailable(w);
	else
		recover_invalid_link(w, again, again_text);
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
		recover_send_mail(app, &m);
	user_clear(&u);
}
