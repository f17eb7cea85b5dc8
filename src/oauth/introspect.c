/*
 * Token introspection, POST /introspect (RFC 7662; SECURITY.md IR-01,
 * IR-02, IR-03, IR-06).
 *
 * Only a confidential client that authenticates may ask (IR-01: public
 * clients cannot), and only about its own tokens — or, for the client of
 * a registered resource (issue 14, TX-04), about the tokens minted for
 * that resource, whoever obtained them: any other token is reported
 * exactly as a dead one, {"active":false} with no other member (IR-02),
 * so introspection is no oracle for tokens a caller merely found. token_type_hint is not needed: refresh tokens
 * carry REFRESH_PREFIX, everything else is tried as an access token.
 * Responses are no-store (the route says so: IR-03), and a DPoP-bound
 * token's answer names its key, cnf.jkt (IR-03, RFC 9449 §6.2).
 */
#include <string.h>

#include <jansson.h>

#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/config.h"

/* An API key's prefix (SECURITY.md Part 2.7). */
#define KEY_PREFIX "pck_"

static void
reply(struct resp *w, json_t *o)
{
	if (o == NULL || resp_json(w, 200, o) != 0)
		oauth_error(w, 500, "server_error", "Internal error.");
	json_decref(o);
}

static void
inactive(struct resp *w)
{
	reply(w, json_pack("{s:b}", "active", 0));
}

/*
 * Whether caller c may learn about access token b (IR-02, TX-04): a
 * client bound to a resource (resources.client_id) about the tokens whose
 * aud is that resource, and nothing else; any other client about its own
 * tokens for us (aud the issuer). The store is asked only when the token
 * could be the caller's to see. 0 with *ok, or PC_ERR_STORE.
 */
static int
may_see(struct app *app, const struct store_client *c, const struct bearer *b,
    bool *ok)
{
	struct store_resource res;
	bool for_us = b->aud != NULL && strcmp(b->aud, app->cfg->issuer) == 0;
	int rc;

	*ok = false;
	if (b->aud == NULL ||
	    (for_us && strcmp(b->client_id, c->client_id) != 0))
		return 0;
	rc = resource_for_client(app->db, c->client_id, &res);
	if (rc == PC_ERR_NOT_FOUND) {
		*ok = for_us;
		return 0;
	}
	if (rc != 0)
		return PC_ERR_STORE;
	*ok = strcmp(res.id, b->aud) == 0;
	store_resource_clear(&res);
	return 0;
}

static void
access_token(struct req *r, struct resp *w, const struct store_client *c,
    const char *tok)
{
	struct app *app = r->app;
	struct bearer b;
	bool ok = false;
	json_t *o;
	int rc;

	/* Any audience of ours; may_see() decides whose it is to know. */
	rc = bearer_verify_aud(app, tok, strlen(tok), NULL, r->now, &b);
	if (rc == 0)
		rc = may_see(app, c, &b, &ok);
	if (rc != 0 || !ok) {
		/* b is empty or filled: clearing it is right either way. */
		bearer_clear(&b);
		if (oauth_store_down(rc))
			oauth_unavailable(w);
		else
			inactive(w);
		return;
	}
	o = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "active",
	    1, "scope", b.scope, "client_id", b.client_id, "token_type",
	    b.cnf_jkt != NULL ? "DPoP" : "Bearer", "exp", (json_int_t)b.exp,
	    "iat", (json_int_t)b.iat, "iss", app->cfg->issuer, "aud", b.aud,
	    "jti", b.jti);
	/* IR-03 (RFC 9449 §6.2): the key a resource must see proofs of. */
	if (o != NULL && b.cnf_jkt != NULL)
		json_object_set_new(
		    o, "cnf", json_pack("{s:s}", "jkt", b.cnf_jkt));
	/* A client's own token has no principal but the client to name; a
	 * user's or a service account's token names it (issue 14), and a
	 * resource is told whom the token speaks for. */
	if (o != NULL &&
	    (strcmp(b.sub, b.client_id) != 0 ||
		strcmp(b.aud, app->cfg->issuer) != 0))
		json_object_set_new(o, "sub", json_string(b.sub));
	/* TX-01: a resource server sees who acts (RFC 8693 §4.1). */
	if (o != NULL && b.act != NULL)
		json_object_set(o, "act", b.act);
	reply(w, o);
	bearer_clear(&b);
}

static void
refresh_token(struct req *r, struct resp *w, const struct store_client *c,
    const char *tok)
{
	struct app *app = r->app;
	struct bearer_refresh t;
	struct store_resource res;
	json_t *o;
	int rc;

	rc = bearer_refresh_lookup(app->db, tok, r->now, &t);
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		return;
	}
	if (rc != 0) {
		inactive(w);
		return;
	}
	if (!t.active || t.family.client_id == NULL ||
	    strcmp(t.family.client_id, c->client_id) != 0) {
		store_family_clear(&t.family);
		inactive(w);
		return;
	}
	/* A resource's client learns about its resource's tokens only
	 * (TX-04), even when it has grants of its own. */
	rc = resource_for_client(app->db, c->client_id, &res);
	if (rc != PC_ERR_NOT_FOUND) {
		store_family_clear(&t.family);
		if (rc == 0) {
			store_resource_clear(&res);
			inactive(w);
		} else {
			oauth_unavailable(w);
		}
		return;
	}
	o = json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "active", 1,
	    "scope", t.family.scope, "client_id", t.family.client_id, "sub",
	    t.family.user_id, "token_type", "refresh_token", "exp",
	    (json_int_t)t.exp, "iat", (json_int_t)t.iat, "iss",
	    app->cfg->issuer);
	/* IR-03: a refresh token bound to a key (a public client's). */
	if (o != NULL && t.family.dpop_jkt != NULL)
		json_object_set_new(
		    o, "cnf", json_pack("{s:s}", "jkt", t.family.dpop_jkt));
	reply(w, o);
	store_family_clear(&t.family);
}

void
oauth_introspect(struct req *r, struct resp *w)
{
	const char *tok;
	struct store_client c;

	/* IR-01: a confidential client, authenticated. */
	if (oauth_token_request(r, w, false, &c, &tok) != 0)
		return;
	if (strncmp(tok, REFRESH_PREFIX, sizeof(REFRESH_PREFIX) - 1) == 0)
		refresh_token(r, w, &c, tok);
	else if (strncmp(tok, KEY_PREFIX, sizeof(KEY_PREFIX) - 1) == 0)
		/* API keys presented directly (AK-04): apikey_ep.c. */
		oauth_introspect_api_key(r, w, &c, tok);
	else
		access_token(r, w, &c, tok);
	store_client_clear(&c);
}
