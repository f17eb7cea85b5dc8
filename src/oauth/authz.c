/*
 * The authorization flow's domain (RFC 6749 §4.1, OpenID Connect Core
 * §3.1.2; issue 4): what /authorize decides, apart from the pages that
 * show it (src/web/authorize.c renders, reads the browser's session and
 * checks the consent form's CSRF token; everything that touches the store
 * is here).
 *
 * authz_begin() looks the client up and matches redirect_uri exactly
 * (AZ-01) before anything may be redirected: until then every refusal is
 * a page (AZ-02). Then the grant type, the grantable scope (AZ-10,
 * OI-09), a signing key for the ID token, and id_token_hint (OI-06).
 *
 * Whenever the user must sign in or consent, the request is saved under
 * an opaque id (256 random bits, stored as its SHA-256; AZ-03: the
 * browser never carries a return URL). A request that needed a sign-in is
 * resumed only by the session that signed in for it (authz_login_done()
 * records it), so prompt=login and max_age are honoured even within one
 * second (OI-05). The request is taken from the store exactly once, when
 * the code or the error is sent (CF-03).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "crypto/crypto.h"
#include "oauth/domain.h"
#include "util/log.h"

void
authz_clear(struct authz *z)
{
	store_client_clear(&z->client);
	store_authz_request_clear(&z->p);
	sodium_memzero(z->id, sizeof(z->id));
}

static enum authz_status
page(struct authz_error *e, const char *why)
{
	e->error = NULL;
	e->why = why;
	return AUTHZ_PAGE;
}

static enum authz_status
redirect(struct authz_error *e, const char *error, const char *why)
{
	e->error = error;
	e->why = why;
	return AUTHZ_REDIRECT;
}

static bool
match_any(const struct store_client *c, const char *redirect_uri)
{
	for (size_t i = 0; i < c->n_redirect_uris; i++)
		if (redirect_uri_match(c->redirect_uris[i], redirect_uri))
			return true;
	return false;
}

static char *
dup_opt(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* The scope to grant, into z->p.scope (AZ-10, OI-09). */
static enum authz_status
grant_scope(struct authz *z, const struct az_request *a, struct authz_error *e)
{
	struct buf scope;
	const char *refused = NULL;
	bool ok = false;

	buf_init(&scope, SCOPE_STRING_MAX + 1);
	if (scope_grantable(z->client.scopes,
		oauth_has_word(z->client.grant_types, "refresh_token"),
		&a->scope, &ok, &scope, &refused) != 0) {
		buf_free(&scope);
		return AUTHZ_UNAVAILABLE;
	}
	if (!ok) {
		buf_free(&scope);
		/* AZ-10: never beyond the client's scopes. */
		scope_refused_desc(refused, "is not allowed for this client",
		    e->buf, sizeof(e->buf));
		return redirect(e, "invalid_scope", e->buf);
	}
	z->p.scope = xstrdup(scope.len > 0 ? buf_cstr(&scope) : "");
	buf_free(&scope);
	return AUTHZ_OK;
}

/*
 * Issue 16: AZ_ACR_MFA when every value of acr_values that we issue is
 * stronger than one factor (the values are alternatives, in order of
 * preference: the weakest known one is enough). Values we do not issue
 * are ignored (acr_values is voluntary; OIDC Core §3.1.2.1).
 */
static unsigned
acr_wanted(const char *acr_values)
{
	int least = 0;

	for (const char *p = acr_values; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");
		int rank = mfa_acr_rank(p, n);

		if (rank > 0 && (least == 0 || rank < least))
			least = rank;
		p += n;
		p += strspn(p, " ");
	}
	return least >= 2 ? AZ_ACR_MFA : 0;
}

/* The client through client_resolve() (issue 15: metadata documents). */
static int
resolve(struct app *app, const struct az_request *a, int64_t now,
    struct authz *z, struct authz_error *e)
{
	struct store_client_secret sec[STORE_CLIENT_SECRETS_MAX];
	const char *why = NULL;
	size_t n = 0;
	int rc;

	e->why = "The application is not known here.";
	rc = client_resolve(
	    app, NULL, a->client_id, a->ip, now, &z->client, sec, &n, &why);
	sodium_memzero(sec, sizeof(sec));
	if (rc == 0 && !client_id_valid(a->client_id) &&
	    !client_id_is_url(a->client_id))
		rc = PC_ERR_NOT_FOUND;
	if (rc != 0)
		store_client_clear(&z->client);
	if ((rc == PC_ERR_NOT_FOUND || rc == PC_ERR_PERM) && why != NULL) {
		snprintf(e->buf, sizeof(e->buf),
		    "The application cannot be used: %s.", why);
		e->why = e->buf;
	}
	return rc;
}

enum authz_status
authz_begin(struct app *app, const struct az_request *a, enum az_fail f,
    int64_t now, struct authz *z, struct authz_error *e)
{
	enum authz_status st;
	char *res_scopes = NULL;
	int rc;

	memset(z, 0, sizeof(*z));
	memset(e, 0, sizeof(*e));
	rc = resolve(app, a, now, z, e);
	if (rc == PC_ERR_NOT_FOUND || rc == PC_ERR_PERM)
		/* AZ-02: never a redirect for an unknown client. */
		return page(e, e->why);
	if (rc != 0)
		return AUTHZ_UNAVAILABLE;
	if (client_disabled(&z->client))
		/* Issue 15: a disabled client starts nothing (and, as for
		 * an unknown one, is sent nothing back). */
		return page(e, "This application is disabled.");
	if (!match_any(&z->client, a->redirect_uri))
		/* AZ-01: an unregistered redirect_uri gets no redirect. */
		return page(e,
		    "The application asked to return to an address that is "
		    "not registered for it.");
	z->p.client_id = xstrdup(a->client_id);
	z->p.redirect_uri = xstrdup(a->redirect_uri);
	z->p.state = dup_opt(a->state);
	/* AZ-14: only through /par when the policy or the client says so. */
	if (!a->par && (app->cfg->par_required || z->client.par_required))
		return redirect(e, "invalid_request",
		    "This client must use pushed authorization requests.");
	if (f == AZ_FAIL_REDIRECT)
		return redirect(e, a->error, a->error_description);
	if (!oauth_has_word(z->client.grant_types, "authorization_code"))
		return redirect(e, "unauthorized_client",
		    "This client may not use the authorization code flow.");
	/* TX-04: the one resource the tokens are for, and the scope held
	 * to it (delegation.c). */
	if ((st = authz_target(app, a, z, &res_scopes, e)) != AUTHZ_OK)
		return st;
	st = grant_scope(z, a, e);
	if (st == AUTHZ_OK)
		st = authz_target_scope(z, res_scopes, e);
	free(res_scopes);
	if (st != AUTHZ_OK)
		return st;
	if (oauth_has_word(z->p.scope, "openid") &&
	    !signer_can_sign(app->signer,
		jose_alg_parse(
		    z->client.id_token_alg, strlen(z->client.id_token_alg)),
		now)) {
		/* Fail before the user signs in, not at the token endpoint. */
		log_msg(
		    LOG_ERROR, "oauth.no_signing_key", z->client.id_token_alg);
		return redirect(e, "server_error",
		    "No signing key for this client's ID token algorithm.");
	}
	if (a->id_token_hint != NULL) {
		struct id_hint h;

		rc = id_hint_verify(app, a->id_token_hint, now, &h);
		if (rc == PC_ERR_STORE)
			return AUTHZ_UNAVAILABLE;
		if (rc != 0)
			/* OI-06: a forged or alg:none hint is refused. */
			return redirect(e, "invalid_request",
			    "id_token_hint is not valid.");
		z->p.hint_sub = xstrdup(h.sub);
		id_hint_clear(&h);
	}
	z->p.nonce = dup_opt(a->nonce);
	z->p.code_challenge = xstrdup(a->code_challenge);
	z->p.login_hint = dup_opt(a->login_hint);
	z->p.prompt = a->prompt | acr_wanted(a->acr_values);
	/* One account per browser: choosing one is signing in again. */
	if ((a->prompt & AZ_PROMPT_SELECT_ACCOUNT) != 0)
		z->p.prompt |= AZ_PROMPT_LOGIN;
	return AUTHZ_OK;
}

void
authz_max_age(
    struct authz *z, int64_t max_age, const struct session *s, int64_t now)
{
	/* OI-05: a session older than max_age must sign in again (max_age=0
	 * is prompt=login). */
	if (max_age < 0)
		return;
	if (s == NULL || s->user_id == NULL || now - s->auth_time > max_age ||
	    max_age == 0)
		z->p.prompt |= AZ_PROMPT_LOGIN;
}

int
authz_mfa(struct app *app, const struct authz *z, const struct session *s,
    int64_t now, enum authz_mfa *out)
{
	bool required = strcmp(app->cfg->mfa, "required") == 0;
	bool asked = (z->p.prompt & AZ_ACR_MFA) != 0;
	struct mfa_factors f;
	bool open = false;
	int rc;

	*out = AUTHZ_MFA_OK;
	/* Two factors already (or a verifying passkey): nothing more is
	 * asked, even for "phr"; the ID token's acr says what was used. */
	if (mfa_amr_has(s->amr, AMR_MFA) ||
	    !(asked || required || z->client.require_mfa))
		return 0;
	if ((rc = mfa_factors_get(app->db, s->user_id, &f)) != 0)
		return rc;
	if (mfa_has_factor(&f)) {
		/* The factor step, which rotates the session adding it. */
		*out = AUTHZ_MFA_STEP;
		return 0;
	}
	/* No factor to ask for. acr_values alone is voluntary; a client
	 * that requires one gets none without it; the global policy lets
	 * the user in during the enrolment grace. */
	if (z->client.require_mfa) {
		*out = AUTHZ_MFA_UNMET;
		return 0;
	}
	if (!required)
		return 0;
	if ((rc = mfa_grace_open(app->db, app->cfg, s->user_id, now, &open)) !=
	    0)
		return rc;
	*out = open ? AUTHZ_MFA_OK : AUTHZ_MFA_UNMET;
	return 0;
}

int
authz_mfa_step(struct app *app, struct authz *z, const char *ip, int64_t now,
    char location[AUTHZ_LOCATION_MAX])
{
	int rc;

	/* Resumed only by the session the factor step makes for it
	 * (authz_login_done() records it), never by another browser that
	 * learnt the id (MF-04, AZ-03). */
	z->p.prompt |= AZ_PROMPT_LOGIN;
	if ((rc = authz_save(app, z, ip, now)) != 0)
		return rc;
	snprintf(location, AUTHZ_LOCATION_MAX, "/login/mfa?req=%s", z->id);
	return 0;
}

/* The opaque id from a form or query value: 43 canonical base64url. */
static bool
parse_id(
    const char *v, char id[AUTHZ_ID_LEN + 1], char hash[PC_SHA256_HEX_LEN + 1])
{
	uint8_t raw[32], back[AUTHZ_ID_LEN + 1];
	size_t n = 0;
	bool ok;

	if (v == NULL || strlen(v) != AUTHZ_ID_LEN ||
	    b64url_decode(v, AUTHZ_ID_LEN, raw, sizeof(raw), &n) != 0 ||
	    n != sizeof(raw))
		return false;
	b64url_encode(raw, sizeof(raw), (char *)back);
	ok = memcmp(back, v, AUTHZ_ID_LEN) == 0;
	sodium_memzero(raw, sizeof(raw));
	if (!ok)
		return false;
	memcpy(id, v, AUTHZ_ID_LEN + 1);
	hash_sha256_hex(id, AUTHZ_ID_LEN, hash);
	return true;
}

enum authz_status
authz_load(struct app *app, const char *id_value, int64_t now, struct authz *z,
    struct authz_error *e)
{
	char hash[PC_SHA256_HEX_LEN + 1];
	int rc;

	memset(e, 0, sizeof(*e));
	if (!parse_id(id_value, z->id, hash))
		return page(e, "This sign-in request is not valid.");
	rc = store_authz_request_get(app->db, hash, now, &z->p);
	if (rc == 0)
		rc = store_client_get(app->db, z->p.client_id, &z->client);
	if (rc == PC_ERR_NOT_FOUND)
		return page(e,
		    "This sign-in request has expired or was already "
		    "answered. Go back to the application and start again.");
	if (rc != 0)
		return AUTHZ_UNAVAILABLE;
	if (client_disabled(&z->client))
		return page(e, "This application is disabled.");
	/* The client may have changed while the user signed in. */
	if (match_any(&z->client, z->p.redirect_uri))
		return AUTHZ_OK;
	return page(e,
	    "The application asked to return to an address that is not "
	    "registered for it.");
}

int
authz_save(struct app *app, struct authz *z, const char *ip, int64_t now)
{
	uint8_t raw[32];

	if (z->id[0] != '\0')
		return 0;
	random_bytes(raw, sizeof(raw));
	b64url_encode(raw, sizeof(raw), z->id);
	sodium_memzero(raw, sizeof(raw));
	hash_sha256_hex(z->id, AUTHZ_ID_LEN, z->p.id_hash);
	z->p.created_at = now;
	z->p.expires_at = now + AUTHZ_PENDING_TTL;
	return store_authz_request_put(
	    app->db, &z->p, ip, app->cfg->presession_max_per_ip);
}

int
authz_take(struct app *app, struct authz *z, int64_t now)
{
	struct store_authz_request t;
	int rc;

	if (z->id[0] == '\0')
		return 0;
	rc = store_authz_request_take(app->db, z->p.id_hash, now, &t);
	store_authz_request_clear(&t);
	return rc;
}

bool
authz_needs_login(const struct authz *z, const struct session *s)
{
	bool need = false;

	if (s == NULL || s->user_id == NULL)
		return true;
	if ((z->p.prompt & AZ_PROMPT_LOGIN) != 0)
		/* Only the sign-in made for this very request counts. */
		need = !session_has_sid(s, z->p.login_sid);
	/* OI-06: never for another user than the hinted one. */
	if (z->p.hint_sub != NULL && strcmp(z->p.hint_sub, s->user_id) != 0)
		need = true;
	return need;
}

int
authz_needs_consent(
    struct app *app, const struct authz *z, const char *user_id, bool *need)
{
	struct scope_set want;
	bool covered = false;
	int rc;

	*need = false;
	/* Issue 15: every delegation to an agent is the user's explicit
	 * act, with its resource and lifetime: never remembered. */
	if (client_is_agent(&z->client)) {
		*need = true;
		return 0;
	}
	if (z->client.first_party)
		return 0;
	if (scope_parse(z->p.scope, &want) != 0)
		return PC_ERR_INTERNAL;
	rc = consent_covers(app->db, user_id, z->p.client_id, &want, &covered);
	scope_set_free(&want);
	if (rc != 0)
		return rc;
	*need = !covered || (z->p.prompt & AZ_PROMPT_CONSENT) != 0;
	return 0;
}

int
authz_consent_grant(
    struct app *app, const struct authz *z, const char *user_id, int64_t now)
{
	struct scope_set set;
	int rc;

	/* An agent's consent is the delegation itself (its family), asked
	 * for every time: nothing to remember. */
	if (client_is_agent(&z->client))
		return 0;
	if (scope_parse(z->p.scope, &set) != 0)
		return PC_ERR_INTERNAL;
	rc = consent_grant(app->db, user_id, z->p.client_id, &set, now);
	scope_set_free(&set);
	return rc;
}

int
authz_code(struct app *app, const struct authz *z, const struct session *s,
    int64_t now, char code[CODE_LEN + 1])
{
	struct code_grant g;
	char sid[SESSION_SID_LEN + 1];

	session_sid(s, sid);
	memset(&g, 0, sizeof(g));
	g.client_id = z->p.client_id;
	g.user_id = s->user_id;
	g.redirect_uri = z->p.redirect_uri;
	g.code_challenge = z->p.code_challenge;
	g.scope = z->p.scope;
	g.nonce = z->p.nonce;
	g.amr = s->amr;
	g.sid = sid;
	g.auth_time = s->auth_time;
	g.resource = z->p.resource;
	/* A delegation to an agent ends when the user said (at most the
	 * policy's maximum); other grants last the usual time. */
	if (client_is_agent(&z->client))
		g.grant_expires_at = now +
		    (z->grant_ttl > 0 ? z->grant_ttl
				      : delegation_max_ttl(app->cfg));
	return code_issue(app->db, &g, now, code);
}

int
authz_login_done(struct app *app, const char *id_value, const struct session *s,
    int64_t now, char location[AUTHZ_LOCATION_MAX])
{
	char id[AUTHZ_ID_LEN + 1], hash[PC_SHA256_HEX_LEN + 1],
	    sid[SESSION_SID_LEN + 1];
	int rc;

	if (!parse_id(id_value, id, hash))
		return PC_ERR_INVALID;
	session_sid(s, sid);
	rc = store_authz_request_set_login(app->db, hash, sid, now);
	if (rc == 0)
		snprintf(location, AUTHZ_LOCATION_MAX,
		    "/authorize/resume?req=%s", id);
	sodium_memzero(id, sizeof(id));
	return rc;
}

int
authz_pending(
    struct app *app, const char *id_value, int64_t now, char **login_hint)
{
	struct store_authz_request p;
	char id[AUTHZ_ID_LEN + 1], hash[PC_SHA256_HEX_LEN + 1];
	int rc;

	*login_hint = NULL;
	if (!parse_id(id_value, id, hash))
		return PC_ERR_INVALID;
	rc = store_authz_request_get(app->db, hash, now, &p);
	if (rc == 0) {
		*login_hint = p.login_hint;
		p.login_hint = NULL;
	}
	store_authz_request_clear(&p);
	return rc;
}
