/*
 * Token exchange at /token (RFC 8693; issue 14, SECURITY.md AK-03, AK-08):
 * grant_type=urn:ietf:params:oauth:grant-type:token-exchange, dispatched
 * on subject_token_type before any client authentication, because the
 * subject tokens of issue 14 authenticate themselves:
 *
 *   ...:token-type:api_key (ours)  an API key -> exchange_api_key() here
 *   urn:ietf:params:oauth:token-type:jwt   a trusted workload's token
 *                                  -> exchange_workload() (exchange_jwt.c)
 *   urn:ietf:params:oauth:token-type:access_token  delegation (issue 15):
 *                                  the client that authenticates acts for
 *                                  the token's user -> exchange_delegation()
 *                                  (exchange_deleg.c)
 *
 * Anything else (ID tokens, refresh tokens, SAML) is refused (TX-05).
 * Client credentials sent along with a self-authenticating subject token
 * are refused (400 invalid_request): which one would be the caller?
 *
 * The API-key path (AK-08, the preferred way to use a key): the key is
 * parsed and its checksum checked first, so a malformed key is answered
 * 400 invalid_grant before any store access (AK-03); the per-IP limit of
 * failed key authentications is then checked (429); the key is verified
 * (constant-time hash compare, revoked/expired/owner dead); the resource
 * (or audience) must name one registered resource, the key's own if it
 * has one; the scope lies within the key's usable scopes and the
 * resource's; the token is minted by machine_token_issue() with sub =
 * the owner, client_id = the key id, aud = the resource, for
 * exchange_token_ttl. Every bad key gets the same 400 invalid_grant (RFC
 * 8693 §2.2.2), with no word on why.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "auth/auth.h"
#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"

#define TT_API_KEY "urn:portcullis:params:oauth:token-type:api_key"
#define TT_JWT "urn:ietf:params:oauth:token-type:jwt"
#define TT_ACCESS_TOKEN "urn:ietf:params:oauth:token-type:access_token"

static const char bad_key[] = "The subject token is not valid.";

/* Whether the request carries client credentials of any kind. */
static bool
has_client_credentials(struct req *r, const struct kvlist *form)
{
	static const char *const fields[] = { "client_id", "client_secret",
		"client_assertion", "client_assertion_type" };
	const struct kv *kv = NULL;
	const char *authz = NULL;

	if (req_header(r, "Authorization", &authz) != PC_ERR_NOT_FOUND)
		return true;
	for (size_t i = 0; i < PC_NELEM(fields); i++)
		if (kvlist_get(form, fields[i], &kv) != PC_ERR_NOT_FOUND)
			return true;
	return false;
}

static void
too_many(struct resp *w, int64_t retry_after)
{
	char ra[24];

	oauth_error(w, 429, "invalid_grant",
	    "Too many failed API-key authentications from this address.");
	snprintf(ra, sizeof(ra), "%lld", (long long)retry_after);
	resp_header(w, "Retry-After", ra);
}

static const char *
refusal_name(enum apikey_refusal why)
{
	switch (why) {
	case APIKEY_MALFORMED: return "malformed";
	case APIKEY_UNKNOWN: return "unknown";
	case APIKEY_REVOKED: return "revoked";
	case APIKEY_EXPIRED: return "expired";
	case APIKEY_OWNER_DEAD: return "owner_dead";
	case APIKEY_OK: break;
	}
	return "ok";
}

/* A refused key: counted against the IP, logged and audited by key id
 * (when it parsed), answered without a reason. */
static void
refuse_key(struct req *r, struct resp *w, const struct throttle_apikey *t,
    const char *key, size_t len, enum apikey_refusal why)
{
	struct app *app = r->app;
	struct apikey_parts parts;
	char id[APIKEY_PUBLIC_ID_LEN + 1] = "";
	json_t *d;

	if (t != NULL && throttle_apikey_failure(app->db, t) != 0)
		log_msg(LOG_WARN, "api_key.throttle", "not counted");
	if (apikey_parse(key, len, &parts) == 0) {
		apikey_public_id(parts.key_id, id);
		apikey_parts_wipe(&parts);
	}
	d = json_pack(
	    "{s:s, s:s}", "via", "exchange", "reason", refusal_name(why));
	/* Best-effort: a failure signal (AU-01). */
	(void)oauth_audit(
	    r, "api_key.use", "failure", id[0] ? id : NULL, NULL, d);
	json_decref(d);
	oauth_error(w, 400, "invalid_grant", bad_key);
}

/* The key's row is verified; the rest of the exchange. */
static void
mint(struct req *r, struct resp *w, const struct kvlist *form,
    const struct store_api_key *k)
{
	struct app *app = r->app;
	struct store_resource res;
	struct scope_set usable;
	struct buf allowed, granted;
	char id[APIKEY_PUBLIC_ID_LEN + 1];
	const char *scope = NULL;
	int rc;

	rc = machine_target(r, w, form, true, k->owner_id, &res);
	if (rc == MACHINE_TARGET_NONE) {
		oauth_error(w, 400, "invalid_target",
		    "Name the resource the token is for (resource or "
		    "audience).");
		return;
	}
	if (rc != 0)
		return;
	if (oauth_field(form, "scope", &scope) != 0) {
		oauth_error(w, 400, "invalid_request", "scope is repeated.");
		store_resource_clear(&res);
		return;
	}
	rc = apikey_usable_scopes(app->db, k, res.id, res.scopes, &usable);
	if (rc == PC_ERR_VERIFY) {
		oauth_error(w, 400, "invalid_target",
		    "This key may not be used for that resource.");
		goto out;
	}
	if (rc != 0) {
		oauth_unavailable(w);
		goto out;
	}
	buf_init(&allowed, SCOPE_STRING_MAX + 1);
	buf_init(&granted, SCOPE_STRING_MAX + 1);
	if (scope_format(&usable, &allowed) != 0) {
		oauth_error(w, 500, "server_error", "Internal error.");
	} else if (machine_scope(w, scope, buf_cstr(&allowed), res.scopes,
		       &granted) == 0) {
		struct machine_grant g;

		apikey_public_id(k->key_id, id);
		g = (struct machine_grant){ .sub = k->owner_id,
			.credential_id = id,
			.resource = res.id,
			.scope = buf_cstr(&granted),
			/* Never outliving the key (AK-05). */
			.ttl = k->expires_at - r->now <
				app->cfg->exchange_token_ttl
			    ? k->expires_at - r->now
			    : app->cfg->exchange_token_ttl,
			.grant = "token-exchange",
			.exchange = true };
		machine_token_issue(r, w, &g);
	}
	buf_free(&allowed);
	buf_free(&granted);
out:
	scope_set_free(&usable);
	store_resource_clear(&res);
}

static void
exchange_api_key(struct req *r, struct resp *w, const struct kvlist *form)
{
	struct app *app = r->app;
	struct throttle_apikey t;
	struct store_api_key k;
	struct apikey_parts parts;
	struct apikey_use use;
	const char *key = NULL, *want = NULL;
	size_t len;
	int rc;

	if (oauth_field(form, "subject_token", &key) != 0 || key == NULL ||
	    key[0] == '\0') {
		oauth_error(w, 400, "invalid_request",
		    "Give exactly one subject_token.");
		return;
	}
	if (oauth_field(form, "requested_token_type", &want) != 0 ||
	    (want != NULL && strcmp(want, TT_ACCESS_TOKEN) != 0)) {
		oauth_error(w, 400, "invalid_request",
		    "Only access tokens are issued "
		    "(requested_token_type " TT_ACCESS_TOKEN ").");
		return;
	}
	len = strlen(key);
	/* AK-03: format and checksum first, no store access for a bad one.
	 * Not counted either: it cannot be a guess at a key. */
	if (apikey_parse(key, len, &parts) != 0) {
		refuse_key(r, w, NULL, key, len, APIKEY_MALFORMED);
		return;
	}
	apikey_parts_wipe(&parts);
	/* AK-03: per IP, failures only, before the key is looked at. */
	if (throttle_apikey_check(app->db, app->cfg, r->ip, r->now, &t) != 0) {
		oauth_unavailable(w);
		return;
	}
	if (!t.v.allowed) {
		too_many(w, t.v.retry_after);
		return;
	}
	rc =
	    apikey_verify(app->db, app->cfg, key, len, r->ip, r->now, &k, &use);
	if (rc == PC_ERR_VERIFY) {
		refuse_key(r, w, &t, key, len, use.refusal);
		return;
	}
	if (rc != 0) {
		oauth_unavailable(w);
		return;
	}
	if (use.audit_use) {
		char id[APIKEY_PUBLIC_ID_LEN + 1];
		json_t *d = json_pack("{s:s}", "via", "exchange");

		apikey_public_id(k.key_id, id);
		(void)oauth_audit(
		    r, "api_key.use", "success", id, k.owner_id, d);
		json_decref(d);
	}
	mint(r, w, form, &k);
	store_api_key_clear(&k);
}

void
oauth_token_exchange(struct req *r, struct resp *w, const struct kvlist *form)
{
	const char *type = NULL;

	if (oauth_field(form, "subject_token_type", &type) != 0 ||
	    type == NULL) {
		oauth_error(w, 400, "invalid_request",
		    "Give exactly one subject_token_type.");
		return;
	}
	/* Delegation (issue 15): the client that authenticates acts. */
	if (strcmp(type, TT_ACCESS_TOKEN) == 0) {
		exchange_delegation(r, w, form);
		return;
	}
	if (strcmp(type, TT_API_KEY) != 0 && strcmp(type, TT_JWT) != 0) {
		oauth_error(w, 400, "invalid_request",
		    "Unsupported subject_token_type.");
		return;
	}
	/* Both authenticate themselves: a client as well is ambiguous. */
	if (has_client_credentials(r, form)) {
		oauth_error(w, 400, "invalid_request",
		    "The subject token authenticates this request: send no "
		    "client credentials with it.");
		return;
	}
	if (strcmp(type, TT_JWT) == 0)
		exchange_workload(r, w, form);
	else
		exchange_api_key(r, w, form);
}
