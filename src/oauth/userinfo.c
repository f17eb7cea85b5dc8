/*
 * The UserInfo endpoint, GET and POST /userinfo (OIDC Core §5.3, RFC 6750;
 * SECURITY.md OI-08, TK-12, TK-13, JW-06, IR-06).
 *
 * The access token comes in the Authorization header (Bearer, or DPoP
 * with a DPoP proof: RFC 9449 §7) or, for a POST, as the form field
 * access_token; exactly one of them. A DPoP-bound token (cnf.jkt) is
 * served only with the DPoP scheme and a proof of its key whose ath is the
 * token's hash (TX-06); presented any other way it is refused, and an
 * unbound token is not accepted with the DPoP scheme. A token in
 * the query string is refused and not looked at (RFC 6750 §2.3 would
 * allow it; it ends up in logs and Referer headers). Only user tokens
 * with the openid scope are served; the claims are the ones the granted
 * scopes cover, from what the users table holds: sub always; email and
 * email_verified for "email"; name and updated_at for "profile"; the
 * names of the user's groups for "groups" (issue 14).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"

#define REALM "portcullis"

/*
 * RFC 6750 §3: the WWW-Authenticate challenge, and a JSON body. error
 * NULL: the request carried no token, so the challenge has no error.
 */
static void
challenge(struct resp *w, int status, const char *error, const char *desc,
    const char *scope)
{
	char h[256];

	if (error == NULL)
		snprintf(h, sizeof(h), "Bearer realm=\"%s\"", REALM);
	else if (scope != NULL)
		snprintf(h, sizeof(h),
		    "Bearer realm=\"%s\", error=\"%s\", scope=\"%s\"", REALM,
		    error, scope);
	else
		snprintf(h, sizeof(h), "Bearer realm=\"%s\", error=\"%s\"",
		    REALM, error);
	if (error != NULL) {
		oauth_error(w, status, error, desc);
	} else {
		/* No error code when no credentials were sent (§3.1). */
		json_t *o = json_object();

		if (resp_json(w, status, o) != 0)
			w->status = 500;
		json_decref(o);
	}
	resp_header(w, "WWW-Authenticate", h);
	/* RFC 9449 §7.1: DPoP is offered beside Bearer. */
	if (error == NULL)
		resp_header(
		    w, "WWW-Authenticate", "DPoP algs=\"" DPOP_ALGS "\"");
}

/* 401 invalid_token in the scheme the token came with. */
static void
refuse(struct resp *w, bool dpop, const char *desc)
{
	if (dpop)
		dpop_challenge(w, 401, "invalid_token", desc);
	else
		challenge(w, 401, "invalid_token", desc, NULL);
}

/* b64token (RFC 6750 §2.1): the characters a Bearer token may have. */
static bool
b64token(const char *t)
{
	size_t i = 0;

	for (; t[i] != '\0' && t[i] != '='; i++)
		if (!(t[i] >= 'a' && t[i] <= 'z') &&
		    !(t[i] >= 'A' && t[i] <= 'Z') &&
		    !(t[i] >= '0' && t[i] <= '9') &&
		    strchr("-._~+/", t[i]) == NULL)
			return false;
	if (i == 0)
		return false;
	for (; t[i] == '='; i++)
		;
	return t[i] == '\0';
}

/*
 * The one token of the request: 0 with *tok (NULL: none sent), or an
 * error already written.
 */
static int
find_token(struct req *r, struct resp *w, const char **tok, bool *dpop)
{
	const struct kvlist *q = NULL, *form = NULL;
	const struct kv *kv = NULL;
	const char *h = NULL, *hdr_tok = NULL, *body_tok = NULL;
	int rc;

	*tok = NULL;
	*dpop = false;
	/* OI-08: never from the URI, and the request is refused. */
	if (req_query(r, &q) != 0 ||
	    kvlist_get(q, "access_token", &kv) != PC_ERR_NOT_FOUND) {
		challenge(w, 400, "invalid_request",
		    "The access token must not be sent in the URI.", NULL);
		return PC_ERR_INVALID;
	}
	rc = req_header(r, "Authorization", &h);
	if (rc == PC_ERR_DUPLICATE) {
		challenge(w, 400, "invalid_request",
		    "Authorization is repeated.", NULL);
		return PC_ERR_INVALID;
	}
	if (rc == 0 && h != NULL &&
	    (strncasecmp(h, "Bearer ", 7) == 0 ||
		strncasecmp(h, "DPoP ", 5) == 0)) {
		*dpop = strncasecmp(h, "DPoP ", 5) == 0;
		for (hdr_tok = h + (*dpop ? 5 : 7); *hdr_tok == ' '; hdr_tok++)
			;
		if (!b64token(hdr_tok)) {
			refuse(w, *dpop, "The access token is malformed.");
			return PC_ERR_INVALID;
		}
	}
	if (r->method == HTTP_POST) {
		rc = req_form(r, &form);
		if (rc == 0)
			rc = oauth_field(form, "access_token", &body_tok);
		else if (rc == PC_ERR_UNSUPPORTED)
			rc = 0; /* no form body: the header, or nothing */
		if (rc != 0) {
			challenge(w, 400, "invalid_request",
			    "The form body is malformed or repeats "
			    "access_token.",
			    NULL);
			return PC_ERR_INVALID;
		}
	}
	/* RFC 6750 §2: one method per request. */
	if (hdr_tok != NULL && body_tok != NULL) {
		challenge(w, 400, "invalid_request",
		    "Send the access token one way only.", NULL);
		return PC_ERR_INVALID;
	}
	*tok = hdr_tok != NULL ? hdr_tok : body_tok;
	if (*tok == NULL) {
		challenge(
		    w, 401, NULL, "A bearer access token is required.", NULL);
		return PC_ERR_NOT_FOUND;
	}
	return 0;
}

static void
render(struct resp *w, const struct bearer *b, const struct store_user *u,
    char **groups, size_t ngroups)
{
	json_t *o = json_object();

	json_object_set_new(o, "sub", json_string(u->id));
	if (oauth_has_word(b->scope, "profile")) {
		if (u->name != NULL && u->name[0] != '\0')
			json_object_set_new(o, "name", json_string(u->name));
		json_object_set_new(
		    o, "updated_at", json_integer(u->updated_at));
	}
	if (oauth_has_word(b->scope, "email")) {
		json_object_set_new(o, "email", json_string(u->email));
		json_object_set_new(
		    o, "email_verified", json_boolean(u->email_verified));
	}
	if (oauth_has_word(b->scope, "groups")) {
		json_t *a = json_array();

		for (size_t i = 0; i < ngroups; i++)
			json_array_append_new(a, json_string(groups[i]));
		json_object_set_new(o, "groups", a);
	}
	if (resp_json(w, 200, o) != 0)
		oauth_error(w, 500, "server_error", "Internal error.");
	json_decref(o);
}

void
oauth_userinfo(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct bearer b;
	struct store_user u;
	struct dpop_proof proof;
	const char *tok = NULL;
	char **groups = NULL;
	size_t ngroups = 0;
	bool dpop = false;
	int rc;

	memset(&u, 0, sizeof(u));
	if (find_token(r, w, &tok, &dpop) != 0)
		return;
	/* RFC 9449 §7: the DPoP scheme comes with a proof for this request
	 * naming this token (ath), checked before the token is. */
	if (dpop) {
		const struct dpop_want want = { "/userinfo", tok, true, true };

		if (dpop_check(r, w, &want, &proof) != 0)
			return;
	}
	rc = bearer_verify(app, tok, strlen(tok), r->now, &b);
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		return;
	}
	if (rc != 0) {
		refuse(w, dpop,
		    "The access token is invalid, expired or revoked.");
		return;
	}
	/* TX-06: a bound token only with a proof of its key; a token that is
	 * not bound is no DPoP token. */
	if (b.cnf_jkt != NULL && !dpop) {
		refuse(w, true,
		    "The access token is DPoP-bound: send it with the DPoP "
		    "scheme and a proof.");
		goto out;
	}
	if (dpop &&
	    (b.cnf_jkt == NULL || !dpop_jkt_equal(b.cnf_jkt, proof.jkt))) {
		refuse(w, true,
		    b.cnf_jkt == NULL
			? "The access token is not DPoP-bound: send it as "
			  "Bearer."
			: "The DPoP proof is not by the key the access token "
			  "is bound to.");
		goto out;
	}
	/* TK-12: a client's own token (no user grant) has no userinfo. */
	if (b.gid == NULL) {
		refuse(w, dpop, "The access token is not for a user.");
		goto out;
	}
	if (!oauth_has_word(b.scope, "openid")) {
		if (dpop)
			dpop_challenge(w, 403, "insufficient_scope",
			    "The access token lacks the openid scope.");
		else
			challenge(w, 403, "insufficient_scope",
			    "The access token lacks the openid scope.",
			    "openid");
		goto out;
	}
	rc = store_user_get(app->db, b.sub, &u);
	if (rc != 0 && rc != PC_ERR_NOT_FOUND) {
		oauth_unavailable(w);
		goto out;
	}
	/* A deleted or disabled user has no claims to give. */
	if (rc == PC_ERR_NOT_FOUND || u.disabled_at != 0) {
		refuse(w, dpop,
		    "The access token is invalid, expired or revoked.");
		goto out;
	}
	/* The groups as of now, like every other claim here. */
	if (oauth_has_word(b.scope, "groups") &&
	    group_names_of(app->db, u.id, &groups, &ngroups) != 0) {
		oauth_unavailable(w);
		goto out;
	}
	render(w, &b, &u, groups, ngroups);
out:
	store_strv_free(groups, ngroups);
	store_user_clear(&u);
	bearer_clear(&b);
}
