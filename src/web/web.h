/*
 * web: the HTML pages people use — sign in, sign out, the account page and
 * its forms. Every page works without JavaScript and loads nothing but
 * /static/style.css. Handlers follow the house shape: check, parse, call
 * one domain function, render; password work is deferred to the hashing
 * pool (req_defer), never done on an HTTP thread.
 */
#ifndef PC_WEB_H
#define PC_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "auth/auth.h"
#include "http/http.h"

/* ---- Pages and shared checks (src/web/page.c) ---- */

/* The page skeleton. title and every text argument are escaped. */
void page_begin(struct buf *b, const char *title);
void page_end(struct buf *b);
/* Appends s HTML-escaped. */
void page_text(struct buf *b, const char *s);
/*
 * Appends markup. Pages are built in buffers sized far above anything a
 * page can hold (inputs are capped before they get here), so these do not
 * report the cap; page_send() turns an overflowed buffer into a 500.
 */
void page_puts(struct buf *b, const char *s);
void page_printf(struct buf *b, const char *fmt, ...) PC_PRINTF(2, 3);
/* A time for a page: "YYYY-MM-DD HH:MM UTC", or "never" for 0. */
#define PAGE_TIME_MAX 32
void page_time(int64_t t, char out[PAGE_TIME_MAX]);
/* 303 to a fixed local path. */
void web_redirect(struct resp *w, const char *location);
/* A notice paragraph: kind "error" (role=alert) or "info". */
void page_notice(struct buf *b, const char *kind, const char *text);
/* <input type=hidden name=csrf value=...>. */
void page_csrf(struct buf *b, const char *token);
/* Sends b as the HTML response with status. */
void page_send(struct resp *w, int status, struct buf *b);
/* A small HTML page with one message and a link. */
void page_message(struct resp *w, int status, const char *title,
    const char *text, const char *link, const char *link_text);

/*
 * CF-01: an unsafe request is same-origin. Sec-Fetch-Site must be
 * same-origin (or none: typed by the user), with Origin absent, the issuer
 * or "null" (what browsers send under Referrer-Policy: no-referrer);
 * without Sec-Fetch-Site, Origin must be the issuer, and without Origin
 * the Referer must start with the issuer. Nothing at all: refused.
 */
bool web_same_origin(const struct req *r);

/*
 * The session named by the request's cookie. PC_ERR_NOT_FOUND when there
 * is none; *presented (may be NULL) says whether a cookie came and was not
 * a live session (SS-02: audited as session.unknown, never adopted).
 * cookie (may be NULL) gets the cookie value.
 */
int web_session(struct req *r, struct session *out, char cookie[64],
    bool *presented) PC_WUR;
/*
 * Whether web_session()'s result is the store failing (PC_ERR_STORE,
 * PC_ERR_BUSY, ...), not "no live session": the caller must answer 503
 * (web_unavailable), never treat the browser as signed out.
 */
bool web_store_failed(int rc);
/* 503 page with Retry-After: the store is unavailable (fail closed). */
void web_unavailable(struct resp *w);
/*
 * An account page's signed-in session: true with *s filled (the caller
 * clears it), or false with the answer written: 503 when the store
 * failed; otherwise (no session, an unknown one, audited as SS-02, or a
 * pending factor step, MF-04) a 401 page for a POST and 303 to /login for
 * anything else.
 */
bool web_signed_in(struct req *r, struct resp *w, struct session *s);
/*
 * The session for a form shown to anyone (sign in, register, forgot,
 * reset): the browser's live session, or a new anonymous pre-session whose
 * cookie is set on w (LG-07). A cookie that named no live session is
 * audited and replaced, never adopted (SS-02).
 */
int web_presession(struct req *r, struct resp *w, struct session *out) PC_WUR;
/* Set-Cookie for a session value (SS-04), or its deletion. */
void
web_set_session_cookie(struct resp *w, const struct req *r, const char *value);
void web_clear_session_cookie(struct resp *w, const struct req *r);

/*
 * LG-03 device cookies (src/web/device.c): the hash of the device cookie
 * the browser presents (false: none, malformed or repeated), and
 * Set-Cookie for a new one.
 */
bool web_device_hash(struct req *r, char out[PC_SHA256_HEX_LEN + 1]);
void
web_set_device_cookie(struct resp *w, const struct req *r, const char *value);

/*
 * CF-01 for a form POST in a session: same origin, and the form's "csrf"
 * field is this session's token for form_id. On failure the response is a
 * 403 page, the failure is audited, and false is returned: the caller
 * changes nothing.
 */
bool web_check_form(struct req *r, struct resp *w, const struct session *s,
    const char *form_id);
/* The form's field, or NULL (absent or repeated). */
const char *web_field(struct req *r, const char *name);

/*
 * Audit an event for this request (AU-01, AU-02): ip, user agent, request
 * id and the session's handle filled from r and s (s may be NULL).
 * details is not consumed (may be NULL). 0 once the row is durable; else
 * the error, logged (audit.append_failed). A security event that grants
 * or changes something (sign-in, consent, password change or reset,
 * logout) answers only after its row is durable, and with 503 and no
 * session cookie when this fails (docs/decisions/0023-audit-log.md);
 * failure signals may ignore the result.
 */
/*
 * A successful sign-in, whatever proved it (web/signin.c): replaces the
 * browser's session old_cookie names (its pre-session, pending second-
 * factor step or earlier session; old may be NULL) with a new session id
 * for user_id carrying amr (SS-01), appends the durable "login success"
 * audit row with details (may be NULL) and amr (AU-01: no row, no
 * session), carries the refresh tokens of the same user's old session
 * (RT-05), sets the cookie and answers 303 to the pending authorization
 * request req_id (NULL or dead: /account). Non-zero: a 503 page was
 * written and nothing was issued, or (PC_ERR_PERM) a 403 page: under
 * mfa = required an account without a second factor whose enrolment
 * grace is over may not sign in with one factor (decision 0069).
 */
int web_signin_done(struct req *r, struct resp *w, const struct session *old,
    const char *old_cookie, const char *user_id, const char *amr,
    const char *req_id, json_t *details) PC_WUR;

int web_audit(const struct req *r, const struct session *s, const char *event,
    const char *outcome, const char *actor, const char *target,
    json_t *details);

/*
 * A password job for a deferred request. web_hash_submit(), called from a
 * req_defer() start step, hands job to the hashing pool; when it is done,
 * or at once when the pool refuses (res.r = PC_ERR_BUSY), res holds the
 * answer and the request resumes with next on an HTTP thread.
 */
struct web_hash {
	struct req *r;
	http_step next;
	struct pwjob_result res;
};
void web_hash_submit(
    struct web_hash *h, struct req *r, const struct pwjob *job, http_step next);

/* 503 with Retry-After: the hashing pool is full or stopping. */
void web_busy(struct req *r, struct resp *w);

/*
 * Forward-auth (issue 17 item 5; src/web/fwdauth.c, decision 0075): the
 * proxy's verify subrequest, the dance's start on the issuer, and the
 * paths on a protected host. web_fwd_pending: a dance waits for this
 * browser's sign-in (web_signin_done then goes back to it).
 */
void web_fwd_verify(struct req *r, struct resp *w);
void web_fwd_start(struct req *r, struct resp *w);
void web_fwd_app_start(struct req *r, struct resp *w);
void web_fwd_callback(struct req *r, struct resp *w);
void web_fwd_app_logout(struct req *r, struct resp *w);
bool web_fwd_pending(struct req *r);

/* The stylesheet. */
void web_style(struct req *r, struct resp *w);

/* ---- Sign in and out (src/web/login.c) ---- */

void web_login(struct req *r, struct resp *w);
void web_logout(struct req *r, struct resp *w);

/* ---- The second-factor step (src/web/mfa_step.c; issue 16, MF-03/04) ---- */

/* GET and POST /login/mfa: the factor page of a pending step or step-up. */
void web_login_mfa(struct req *r, struct resp *w);
/*
 * Whether user_id, whose password (or first factor) was just proved, must
 * pass the second-factor step before a session: the user has a factor
 * (TOTP or a passkey). req_id (may be NULL) is the pending authorization
 * request, for policy that requires a factor (h-policy adds its cases
 * here: the one place every pathway asks, LG-09). 0 with *needed, or a
 * store error: the caller answers 503 and issues no session.
 */
int web_mfa_needed(struct req *r, const char *user_id, const char *req_id,
    bool *needed) PC_WUR;
/*
 * MF-04: replaces the browser's session old_cookie names with a pending
 * step for user_id (amr: what was proved, "pwd") under a new id, sets the
 * cookie and answers 303 to /login/mfa (carrying req_id). Non-zero: a 503
 * page was written and no step exists.
 */
int web_mfa_begin(struct req *r, struct resp *w, const char *old_cookie,
    const char *user_id, const char *amr, const char *req_id) PC_WUR;
/*
 * MF-03, AU-06: after a failed factor (any kind), the 5th, 20th and 100th
 * failure in a row write an mfa.failure_burst alert and mail the user
 * (web/mfa_step.c); other counts do nothing.
 */
struct mfa_verdict;
void web_mfa_failure_notice(struct req *r, const struct session *s,
    const char *user_id, const struct mfa_verdict *v);
/*
 * The factor step of session s (cookie: its cookie value) succeeded with
 * a factor whose amr is factor_amr ("otp", "hwk", "swk"): the failure
 * count ends (mfa_attempt_ok; recovery: it was a recovery code), and the
 * sign-in completes through web_signin_done() with the step's amr plus
 * factor_amr and "mfa" (each once), for the step's user: a pending
 * step's mfa_user_id or, for step-up, the signed-in session's user.
 * details (may be NULL) go into the login audit row. As web_signin_done.
 */
int web_mfa_done(struct req *r, struct resp *w, const struct session *s,
    const char *cookie, const char *factor_amr, bool recovery,
    const char *req_id, json_t *details) PC_WUR;

/* GET /account/mfa: what protects the account (src/web/account_mfa.c). */
void web_account_mfa(struct req *r, struct resp *w);

/* ---- The authorization endpoint (src/web/authorize.c) ---- */

void web_authorize(struct req *r, struct resp *w);
void web_authorize_resume(struct req *r, struct resp *w);
void web_authorize_consent(struct req *r, struct resp *w);
#define WEB_REQ_ID_MAX 64
/*
 * After a sign-in made for the pending request req_value: records the new
 * session s as the one that signed in for it and gives the local URL to
 * resume it. PC_ERR_INVALID or PC_ERR_NOT_FOUND when there is no such
 * live request.
 */
int web_authorize_login_done(struct req *r, const char *req_value,
    const struct session *s, char location[96]) PC_WUR;
/* 0 when req_value names a live pending request; *login_hint (malloc'd,
 * may be NULL) is its login_hint. */
int web_authorize_pending(
    struct req *r, const char *req_value, char **login_hint) PC_WUR;

/* ---- Registration, verification (src/web/register.c), forgot and reset
 * (src/web/reset.c), what they share (src/web/recover.c, recover.h) ---- */

void web_register(struct req *r, struct resp *w);
void web_verify(struct req *r, struct resp *w);
void web_verify_resend(struct req *r, struct resp *w);
void web_forgot(struct req *r, struct resp *w);
void web_reset(struct req *r, struct resp *w);
/* AU-06: tells the account's address that its password changed. */
void web_notify_password_changed(struct req *r, const char *user_id);
/* The form id of the "send a new verification link" form. */
const char *web_resend_form_id(void);

/* ---- The account page (src/web/account.c) ---- */

void web_account(struct req *r, struct resp *w);
void web_account_sessions(struct req *r, struct resp *w);
void web_account_consents(struct req *r, struct resp *w);
void web_account_password(struct req *r, struct resp *w);
void web_account_reauth(struct req *r, struct resp *w);
/* The re-authentication form's id (web/reauth.c, account.c). */
#define WEB_FORM_REAUTH "account-reauth"
/* SS-09: the session's sign-in is within reauth_window (web/reauth.c). */
bool web_recent_auth(const struct req *r, const struct session *s);
/* The password page of a re-authentication; then: "sessions", "keys" or
 * "totp", where the user goes back to. */
void web_render_reauth(struct req *r, struct resp *w, const struct session *s,
    int status, const char *error, const char *then);
/* Personal API keys (src/web/account_keys.c; AK-07). */
void web_account_keys(struct req *r, struct resp *w);
/* "Agents acting for you" (src/web/account_agents.c; issue 15, TX-08):
 * the section of /account listing the user's live delegations v[0..n),
 * and POST /account/agents, which revokes one. */
struct store_delegation;
void web_account_agents_render(struct buf *b, const struct session *s,
    const struct store_delegation *v, size_t n);
void web_account_agents(struct req *r, struct resp *w);

/* TOTP (issue 16; src/web/account_totp.c): GET /account/mfa/totp begins
 * an enrolment (after a recent sign-in) or shows the active one; POST
 * activates it with a code (action=activate) or removes it
 * (action=remove, after a recent sign-in). */
void web_account_totp(struct req *r, struct resp *w);
/*
 * Appends text (an otpauth:// URI) as a QR code in inline SVG (ECC level
 * M, one <path>, no script or style: the strict CSP holds); label is its
 * accessible name. 0, or PC_ERR_INVALID / PC_ERR_TOO_LARGE with nothing
 * written (src/web/qr.c).
 */
int web_qr_svg(struct buf *b, const char *text, const char *label) PC_WUR;
/*
 * Recovery codes (src/web/account_recovery.c; MF-07): GET, HEAD and POST
 * /account/mfa/recovery, how many are left and a new set (shown once).
 */
void web_account_recovery(struct req *r, struct resp *w);
/*
 * A recovery code typed at the factor step (/login/mfa). Call it from a
 * req_defer() start step; it hashes on the pool (one Argon2id job, the
 * same for an unknown or spent index) and later calls done(r, w, arg,
 * result) exactly once on an HTTP thread, where done renders w or
 * defers again. result: 0 the code was right and is now spent (single
 * use, atomic), audited (mfa.recovery.use, with its index) and mailed
 * to the user; PC_ERR_VERIFY wrong, spent or malformed; PC_ERR_BUSY the
 * pool is full (answer web_busy); anything else a store failure (503:
 * fail closed, no session). The caller counts the attempt first (MF-03)
 * and, on 0, settles it with mfa_attempt_ok(db, user_id, true).
 */
void web_recovery_check(struct req *r, const char *user_id, const char *code,
    void (*done)(struct req *r, struct resp *w, void *arg, int result),
    void *arg);
/* ---- Passkeys (src/web/passkey.c, src/web/account_passkeys.c) ---- */

/* GET /passkey.js: the one script (same origin; CSP default-src 'self'). */
void web_passkey_js(struct req *r, struct resp *w);
/* POST /login/passkey: purpose "login" (passwordless) or "factor" (the
 * pending second-factor step, or a step-up of a signed-in session). */
void web_login_passkey(struct req *r, struct resp *w);
/* GET and POST /account/passkeys: list, add, rename, remove. */
void web_account_passkeys(struct req *r, struct resp *w);
/*
 * The "Sign in with a passkey" form for /login, bound to the pre-session
 * (WA-08: discoverable credentials, none listed). Writes nothing when the
 * issuer cannot offer passkeys or the store fails.
 */
void web_passkey_login_button(const struct req *r, struct buf *b,
    const struct session *pre, const char *req_id);
/*
 * The passkey button of the second-factor step (/login/mfa): a form
 * posting to /login/passkey with purpose "factor" for user_id (the
 * pending session's mfa_user_id, or the signed-in user stepping up, then
 * with UV required), req_id the pending authorization request (may be
 * NULL). Returns 0 having written nothing when the user has no passkey
 * (or the issuer cannot offer them); a store error otherwise.
 */
int web_passkey_factor_button(struct req *r, struct buf *b,
    const struct session *s, const char *user_id, const char *req_id) PC_WUR;
/* The opening of a passkey form: data- options, csrf, challenge and the
 * hidden answer fields; mode "create" or "get". The caller closes it. */
struct passkey_options;
void web_passkey_form(struct buf *b, const char *action, const char *mode,
    const struct passkey_options *o, const char *csrf, const char *rp_name);

#endif
