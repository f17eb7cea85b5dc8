/*
 * Token revocation, POST /revoke (RFC 7009; SECURITY.md IR-04, IR-05,
 * IR-06).
 *
 * The client authenticates (a public client names itself, as at /token)
 * and may revoke only its own tokens. Revoking a refresh token revokes
 * its whole family, which kills every access token of the grant at once
 * (they carry its id, gid). Revoking an access token puts its jti on the
 * deny-list until its exp. Unknown, malformed and dead tokens get the
 * same 200 as success (IR-05). Another client's live token stays
 * untouched and the request is refused with 400 invalid_grant (IR-04, as
 * RFC 7009 §2.1 says: the token was not issued to the caller). token_type_hint is ignored:
 * refresh tokens carry REFRESH_PREFIX. Every request is audited as
 * token.revoke, without the token.
 */
#include <string.h>

#include <jansson.h>

#include "oauth/oauth.h"
#include "store/store.h"

static void
done(struct resp *w)
{
	json_t *o = json_object();

	if (resp_json(w, 200, o) != 0)
		oauth_error(w, 500, "server_error", "Internal error.");
	json_decref(o);
}

static void
not_owner(struct resp *w)
{
	oauth_error(w, 400, "invalid_grant",
	    "The token was not issued to this client.");
}

/* AU-01: 0 once the row is durable. Only a revocation's own row is
 * checked (its answer waits for it); failures are best-effort. */
static int
audit(struct req *r, const struct store_client *c, const char *type,
    const char *result, const char *target)
{
	json_t *d =
	    json_pack("{s:s, s:s}", "token_type", type, "result", result);
	int rc = oauth_audit(r, "token.revoke",
	    strcmp(result, "revoked") == 0 ? "success" : "failure",
	    c->client_id, target, d);

	json_decref(d);
	return rc;
}

static void
refresh_token(struct req *r, struct resp *w, const struct store_client *c,
    const char *tok)
{
	struct app *app = r->app;
	struct bearer_refresh t;
	int rc;

	rc = bearer_refresh_lookup(app->db, tok, r->now, &t);
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		return;
	}
	if (rc != 0) {
		(void)audit(r, c, "refresh_token", "unknown", NULL);
		done(w);
		return;
	}
	if (t.family.client_id == NULL ||
	    strcmp(t.family.client_id, c->client_id) != 0) {
		(void)audit(r, c, "refresh_token", "not_owner", NULL);
		not_owner(w);
		store_family_clear(&t.family);
		return;
	}
	/* The grant goes, rotated tokens or not: IR-06 through gid. */
	if (store_family_revoke(
		app->db, t.family.family_id, r->now, "revoked") != 0) {
		oauth_unavailable(w);
		store_family_clear(&t.family);
		return;
	}
	/* The grant is gone either way; the answer waits for its row. */
	if (audit(r, c, "refresh_token", "revoked", t.family.family_id) != 0)
		oauth_unavailable(w);
	else
		done(w);
	store_family_clear(&t.family);
}

static void
access_token(struct req *r, struct resp *w, const struct store_client *c,
    const char *tok)
{
	struct app *app = r->app;
	struct bearer b;
	int rc;

	/* Its own tokens for any audience (TX-04: resources too). */
	rc = bearer_verify_aud(app, tok, strlen(tok), NULL, r->now, &b);
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		return;
	}
	if (rc != 0) {
		/* Dead already, or never ours: nothing to do. */
		(void)audit(r, c, "access_token", "unknown", NULL);
		done(w);
		return;
	}
	if (strcmp(b.client_id, c->client_id) != 0) {
		(void)audit(r, c, "access_token", "not_owner", NULL);
		not_owner(w);
		bearer_clear(&b);
		return;
	}
	if (store_access_revoke(app->db, b.jti, b.client_id, b.exp, r->now) !=
	    0) {
		oauth_unavailable(w);
		bearer_clear(&b);
		return;
	}
	if (audit(r, c, "access_token", "revoked", b.jti) != 0)
		oauth_unavailable(w);
	else
		done(w);
	bearer_clear(&b);
}

void
oauth_revoke(struct req *r, struct resp *w)
{
	const char *tok;
	struct store_client c;

	/* IR-04: client authentication first, public clients by id. */
	if (oauth_token_request(r, w, true, &c, &tok) != 0)
		return;
	if (strncmp(tok, REFRESH_PREFIX, sizeof(REFRESH_PREFIX) - 1) == 0)
		refresh_token(r, w, &c, tok);
	else
		access_token(r, w, &c, tok);
	store_client_clear(&c);
}
