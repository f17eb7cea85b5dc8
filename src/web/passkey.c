/*
 * Passkeys at sign-in (issue 16; SECURITY.md WA-01..08): the "Sign in
 * with a passkey" form of /login, the passkey button of the second-factor
 * step (web_passkey_factor_button, for /login/mfa), POST /login/passkey
 * that finishes both, and /passkey.js, the one script the pages load.
 *
 * The pages hold the WebAuthn options as data- attributes of a plain
 * form; /passkey.js (same origin, so the CSP "default-src 'self'" allows
 * it: no inline script, no eval) only calls navigator.credentials and
 * puts the response, base64url, into the form's hidden fields before it
 * submits. Every decision is the server's (auth/passkey.c): the challenge
 * is single use and bound to this browser session (WA-02), the origin and
 * RP ID are the issuer's (WA-01), UV is required when the passkey replaces
 * the password or steps up (WA-04), and a counter that goes back flags the
 * credential (WA-03). A passwordless sign-in lists no credentials (WA-08:
 * discoverable credentials; nothing to learn about an email). Success
 * ends in web_signin_done() like every other sign-in.
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

#define FORM_PASSKEY "passkey"

static const char passkey_js[] =
    "/* Portcullis passkeys: the WebAuthn call and nothing else. The\n"
    " * options are the form's data- attributes; the answer goes into its\n"
    " * hidden fields, base64url, and the form is submitted. */\n"
    "'use strict';\n"
    "(function () {\n"
    "  function enc(buf) {\n"
    "    var b = new Uint8Array(buf), s = '';\n"
    "    for (var i = 0; i < b.length; i++) s += "
    "String.fromCharCode(b[i]);\n"
    "    return btoa(s).replace(/\\+/g, '-').replace(/\\//g, '_')"
    ".replace(/=+$/, '');\n"
    "  }\n"
    "  function dec(s) {\n"
    "    s = s.replace(/-/g, '+').replace(/_/g, '/');\n"
    "    while (s.length % 4) s += '=';\n"
    "    var t = atob(s), b = new Uint8Array(t.length);\n"
    "    for (var i = 0; i < t.length; i++) b[i] = t.charCodeAt(i);\n"
    "    return b;\n"
    "  }\n"
    "  function ids(list) {\n"
    "    return (list || '').split(' ').filter(Boolean).map(function (id) "
    "{\n"
    "      return { type: 'public-key', id: dec(id) };\n"
    "    });\n"
    "  }\n"
    "  function set(f, name, v) {\n"
    "    if (f.elements[name]) f.elements[name].value = v;\n"
    "  }\n"
    "  function create(f) {\n"
    "    var d = f.dataset;\n"
    "    return navigator.credentials.create({ publicKey: {\n"
    "      challenge: dec(d.challenge),\n"
    "      rp: { id: d.rpId, name: d.rpName },\n"
    "      user: { id: dec(d.userId), name: d.userName, displayName: "
    "d.userName },\n"
    "      pubKeyCredParams: [{ type: 'public-key', alg: -7 },\n"
    "        { type: 'public-key', alg: -8 }, { type: 'public-key', alg: "
    "-257 }],\n"
    "      excludeCredentials: ids(d.creds),\n"
    "      authenticatorSelection: { residentKey: 'required', "
    "requireResidentKey: true,\n"
    "        userVerification: d.uv },\n"
    "      attestation: 'none', timeout: 120000\n"
    "    } }).then(function (c) {\n"
    "      set(f, 'credential_id', enc(c.rawId));\n"
    "      set(f, 'client_data', enc(c.response.clientDataJSON));\n"
    "      set(f, 'attestation_object', "
    "enc(c.response.attestationObject));\n"
    "      set(f, 'transports', c.response.getTransports ?\n"
    "        c.response.getTransports().join(' ') : '');\n"
    "    });\n"
    "  }\n"
    "  function get(f) {\n"
    "    var d = f.dataset, o = { challenge: dec(d.challenge), rpId: "
    "d.rpId,\n"
    "      userVerification: d.uv, timeout: 120000 };\n"
    "    if (d.creds) o.allowCredentials = ids(d.creds);\n"
    "    return navigator.credentials.get({ publicKey: o })"
    ".then(function (c) {\n"
    "      set(f, 'credential_id', enc(c.rawId));\n"
    "      set(f, 'client_data', enc(c.response.clientDataJSON));\n"
    "      set(f, 'authenticator_data', "
    "enc(c.response.authenticatorData));\n"
    "      set(f, 'signature', enc(c.response.signature));\n"
    "      set(f, 'user_handle', c.response.userHandle ?\n"
    "        enc(c.response.userHandle) : '');\n"
    "    });\n"
    "  }\n"
    "  function fail(f, e) {\n"
    "    var p = f.querySelector('.passkey-error');\n"
    "    if (!p) return;\n"
    "    p.textContent = 'The passkey did not answer (' +\n"
    "      (e && e.name ? e.name : 'error') + '). Try again.';\n"
    "    p.hidden = false;\n"
    "  }\n"
    "  document.querySelectorAll('form[data-passkey]')"
    ".forEach(function (f) {\n"
    "    f.addEventListener('submit', function (ev) {\n"
    "      ev.preventDefault();\n"
    "      if (!window.PublicKeyCredential || !navigator.credentials) {\n"
    "        fail(f, { name: 'NotSupportedError' });\n"
    "        return;\n"
    "      }\n"
    "      (f.dataset.passkey === 'create' ? create(f) : get(f))\n"
    "        .then(function () { f.submit(); }, function (e) { fail(f, e); "
    "});\n"
    "    });\n"
    "  });\n"
    "})();\n";

void
web_passkey_js(struct req *r, struct resp *w)
{
	(void)r;
	buf_reset(&w->body);
	w->status = 200;
	w->content_type = "text/javascript; charset=utf-8";
	if (buf_put(&w->body, passkey_js, sizeof(passkey_js) - 1) != 0)
		w->status = 500;
}

void
web_passkey_form(struct buf *b, const char *action, const char *mode,
    const struct passkey_options *o, const char *csrf, const char *rp_name)
{
	page_printf(b,
	    "<form method=\"post\" action=\"%s\" data-passkey=\"%s\"", action,
	    mode);
	page_printf(b, " data-challenge=\"%s\" data-rp-id=\"", o->challenge);
	page_text(b, o->rp_id);
	page_puts(b, "\" data-rp-name=\"");
	page_text(b, rp_name);
	/* WA-04: UV when it is required; after a password, presence is the
	 * second factor and no PIN is asked for. */
	page_printf(b, "\" data-uv=\"%s\"",
	    o->uv_required		      ? "required"
		: strcmp(mode, "create") == 0 ? "preferred"
					      : "discouraged");
	if (o->user_handle != NULL) {
		page_puts(b, " data-user-id=\"");
		page_text(b, o->user_handle);
		page_puts(b, "\" data-user-name=\"");
		page_text(b, o->user_name != NULL ? o->user_name : "");
		page_puts(b, "\"");
	}
	page_puts(b, " data-creds=\"");
	for (size_t i = 0; i < o->n_cred_ids; i++) {
		if (i > 0)
			page_puts(b, " ");
		page_text(b, o->cred_ids[i]);
	}
	page_puts(b, "\">\n");
	page_csrf(b, csrf);
	page_printf(b,
	    "<input type=\"hidden\" name=\"challenge\" value=\"%s\">\n",
	    o->challenge);
	page_puts(b,
	    "<input type=\"hidden\" name=\"credential_id\">\n"
	    "<input type=\"hidden\" name=\"client_data\">\n");
	if (strcmp(mode, "create") == 0)
		page_puts(b,
		    "<input type=\"hidden\" name=\"attestation_object\">\n"
		    "<input type=\"hidden\" name=\"transports\">\n");
	else
		page_puts(b,
		    "<input type=\"hidden\" name=\"authenticator_data\">\n"
		    "<input type=\"hidden\" name=\"signature\">\n"
		    "<input type=\"hidden\" name=\"user_handle\">\n");
	page_puts(b,
	    "<p class=\"notice error passkey-error\" role=\"alert\" "
	    "hidden></p>\n");
}

/* The name shown by the authenticator: the issuer's host. */
static const char *
rp_name(const struct config *cfg)
{
	return cfg->issuer_authority != NULL ? cfg->issuer_authority
					     : cfg->issuer;
}

static void
hidden_req(struct buf *b, const char *req_id)
{
	if (req_id == NULL)
		return;
	page_puts(b, "<input type=\"hidden\" name=\"req\" value=\"");
	page_text(b, req_id);
	page_puts(b, "\">\n");
}

void
web_passkey_login_button(const struct req *r, struct buf *b,
    const struct session *pre, const char *req_id)
{
	const struct app *app = r->app;
	struct passkey_options o;
	char token[64];

	/* WA-08: no email asked, no credential listed. */
	if (passkey_unavailable(app->cfg) != NULL ||
	    session_csrf_token(pre, FORM_PASSKEY, token) != 0)
		return;
	if (passkey_begin(app->db, app->cfg, pre, PASSKEY_LOGIN, NULL, true,
		r->now, &o) != 0) {
		sodium_memzero(token, sizeof(token));
		return;
	}
	web_passkey_form(
	    b, "/login/passkey", "get", &o, token, rp_name(app->cfg));
	page_puts(
	    b, "<input type=\"hidden\" name=\"purpose\" value=\"login\">\n");
	hidden_req(b, req_id);
	page_puts(b,
	    "<button type=\"submit\" class=\"secondary\">Sign in with "
	    "a passkey</button>\n</form>\n"
	    "<script src=\"/passkey.js\" defer></script>\n");
	passkey_options_clear(&o);
	sodium_memzero(token, sizeof(token));
}

int
web_passkey_factor_button(struct req *r, struct buf *b, const struct session *s,
    const char *user_id, const char *req_id)
{
	struct app *app = r->app;
	struct passkey_options o;
	char token[64];
	int rc;

	if (passkey_unavailable(app->cfg) != NULL)
		return 0;
	if (session_csrf_token(s, FORM_PASSKEY, token) != 0)
		return PC_ERR_INTERNAL;
	/* WA-04: stepping up a full session needs UV; after a password,
	 * presence is the second factor. */
	rc = passkey_begin(app->db, app->cfg, s, PASSKEY_FACTOR, user_id,
	    s->user_id != NULL, r->now, &o);
	if (rc == PC_ERR_NOT_FOUND) {
		sodium_memzero(token, sizeof(token));
		return 0;
	}
	if (rc != 0) {
		sodium_memzero(token, sizeof(token));
		return rc;
	}
	web_passkey_form(
	    b, "/login/passkey", "get", &o, token, rp_name(app->cfg));
	page_puts(
	    b, "<input type=\"hidden\" name=\"purpose\" value=\"factor\">\n");
	hidden_req(b, req_id);
	page_puts(b,
	    "<button type=\"submit\">Use a passkey</button>\n</form>\n"
	    "<script src=\"/passkey.js\" defer></script>\n");
	passkey_options_clear(&o);
	sodium_memzero(token, sizeof(token));
	return 0;
}

/* A refused passkey: the page says so and where to go next. */
static void
refused(struct resp *w, int status, const char *text, bool factor,
    const char *req_id)
{
	char back[128];

	snprintf(back, sizeof(back), "%s%s%s", factor ? "/login/mfa" : "/login",
	    req_id != NULL ? "?req=" : "", req_id != NULL ? req_id : "");
	page_message(w, status, "Passkey not accepted", text, back,
	    factor ? "Back to the second step" : "Back to sign in");
}

static const char *
refusal_text(int rc)
{
	switch (rc) {
	case PC_ERR_NOT_FOUND:
		return "This passkey request has expired or was already "
		       "used. Please try again.";
	case PC_ERR_CONFLICT:
		return "This passkey was blocked: its signature counter went "
		       "back, so it may have been copied. Sign in another way "
		       "and remove it from your account.";
	default: return "The passkey could not be verified. Please try again.";
	}
}

static const char *
reason_of(int rc)
{
	return rc == PC_ERR_NOT_FOUND ? "challenge"
	    : rc == PC_ERR_CONFLICT   ? "counter"
				      : "verify";
}

/*
 * MF-03 at the factor step: the attempt counts as a failure before the
 * passkey is checked (a correct one ends the streak in web_mfa_done).
 * False when the check may not run: the answer was written.
 */
static bool
factor_attempt(struct req *r, struct resp *w, const struct session *s,
    const char *user_id, const char *req_id, struct mfa_verdict *v)
{
	struct app *app = r->app;
	char ra[24];
	json_t *d;

	if (mfa_attempt_begin(app->db, app->cfg, user_id, r->now, v) != 0) {
		web_unavailable(w);
		return false;
	}
	if (v->allowed)
		return true;
	d = json_pack("{s:s, s:b}", "what", "mfa", "locked", v->locked);
	web_audit(r, s, "ratelimit", "alert", user_id, NULL, d);
	json_decref(d);
	refused(w, 429,
	    v->locked ? "Too many wrong second factors: this account's second "
			"step is locked. Ask your administrator to reset it."
		      : "Too many wrong second factors. Wait a while and try "
			"again.",
	    true, req_id);
	snprintf(ra, sizeof(ra), "%lld",
	    (long long)(v->retry_after > 0 ? v->retry_after : 60));
	resp_header(w, "Retry-After", ra);
	return false;
}

void
web_login_passkey(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct passkey_assertion in;
	struct passkey_result res;
	struct mfa_verdict v;
	struct session s;
	char cookie[64], amr[96];
	const char *purpose, *req_id, *expect = NULL;
	bool presented = false, factor;
	json_t *d;
	int rc;

	memset(&res, 0, sizeof(res));
	memset(&v, 0, sizeof(v));
	if ((rc = web_session(r, &s, cookie, &presented)) != 0) {
		session_clear(&s);
		if (web_store_failed(rc)) {
			web_unavailable(w);
			return;
		}
		if (presented)
			web_audit(r, NULL, "session.unknown", "failure", NULL,
			    NULL, NULL);
		page_message(w, 403, "Request refused",
		    "Your sign-in form has expired. Please try again.",
		    "/login", "Back to sign in");
		return;
	}
	if (!web_check_form(r, w, &s, FORM_PASSKEY))
		goto done;
	purpose = web_field(r, "purpose");
	req_id = web_field(r, "req");
	if (req_id != NULL && strlen(req_id) > WEB_REQ_ID_MAX)
		req_id = NULL;
	factor = purpose != NULL && strcmp(purpose, "factor") == 0;
	if (!factor && (purpose == NULL || strcmp(purpose, "login") != 0)) {
		page_message(w, 400, "Bad request", "Unknown purpose.",
		    "/login", "Back to sign in");
		goto done;
	}
	if (factor) {
		/* MF-04: the pending step's user, or a step-up of the
		 * signed-in one; nobody else's passkey counts. */
		if (s.mfa_user_id != NULL && r->now < s.mfa_expires_at) {
			expect = s.mfa_user_id;
		} else if (s.user_id != NULL) {
			expect = s.user_id;
		} else {
			page_message(w, 403, "Request refused",
			    "There is no sign-in waiting for a second step. "
			    "Please sign in again.",
			    "/login", "Back to sign in");
			goto done;
		}
	}
	in = (struct passkey_assertion){ web_field(r, "challenge"),
		web_field(r, "credential_id"), web_field(r, "client_data"),
		web_field(r, "authenticator_data"), web_field(r, "signature"),
		web_field(r, "user_handle") };
	if (in.credential_id == NULL || in.credential_id[0] == '\0') {
		refused(w, 400,
		    "Signing in with a passkey needs JavaScript in this "
		    "browser. Please allow it, or sign in with your password.",
		    factor, req_id);
		goto done;
	}
	if (factor && !factor_attempt(r, w, &s, expect, req_id, &v))
		goto done;
	rc = passkey_assert_finish(app->db, app->cfg, &s,
	    factor ? PASSKEY_FACTOR : PASSKEY_LOGIN, expect, &in, r->now, &res);
	if (rc != 0 && rc != PC_ERR_NOT_FOUND && rc != PC_ERR_VERIFY &&
	    rc != PC_ERR_CONFLICT && rc != PC_ERR_INVALID) {
		web_unavailable(w);
		goto done;
	}
	if (rc != 0) {
		d = json_pack(
		    "{s:s, s:s}", "method", "passkey", "reason", reason_of(rc));
		if (res.cloned) {
			/* WA-03: audited as an alert; the credential stays
			 * flagged and never signs in again. */
			web_audit(r, &s, "mfa.passkey.cloned", "alert",
			    res.user_id, res.id, d);
		}
		/* The step's user; for a passwordless sign-in, whose
		 * credential was presented (if any). */
		if (factor && res.user_id != NULL &&
		    strcmp(res.user_id, expect) != 0)
			(void)json_object_set_new(
			    d, "credential_of", json_string(res.user_id));
		web_audit(r, &s, factor ? "mfa.failure" : "login", "failure",
		    factor ? expect : res.user_id, NULL, d);
		json_decref(d);
		metrics_signin(METRICS_FAILURE, METRICS_FACTOR_PASSKEY);
		if (factor)
			web_mfa_failure_notice(r, &s, expect, &v);
		refused(w, 400, refusal_text(rc), factor, req_id);
		goto done;
	}
	d = json_pack("{s:s, s:s}", "method", "passkey", "passkey", res.id);
	if (factor) {
		/* The step's amr, the passkey and "mfa" (web/mfa_step.c). */
		rc = web_mfa_done(r, w, &s, cookie,
		    res.synced ? AMR_SWK : AMR_HWK, false, req_id, d);
	} else {
		passkey_amr("", &res, amr, sizeof(amr));
		rc = web_signin_done(
		    r, w, &s, cookie, res.user_id, amr, req_id, d);
	}
	if (rc != 0)
		log_msg(LOG_WARN, "auth.passkey", "sign-in not completed");
	json_decref(d);
done:
	passkey_result_clear(&res);
	sodium_memzero(cookie, sizeof(cookie));
	session_clear(&s);
}
