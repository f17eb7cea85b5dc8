/*
 * oauth: the OAuth 2.1 / OpenID Connect endpoints that server/routes.c
 * wires, and what they share (JSON errors, audit rows, form bodies,
 * client authentication). Handlers parse, call one domain function
 * (oauth/domain.h) and render; the pure protocol checks are in
 * oauth/proto.h, its own library. /authorize is a browser page and lives
 * in web/authorize.c, on oauth/domain.h's authorization flow.
 */
#ifndef PC_OAUTH_H
#define PC_OAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "http/http.h"
#include "oauth/domain.h"

/* ---- Endpoints ---- */

/* Builds the discovery document from configuration only (OI-10;
 * src/oauth/discovery.c). */
int discovery_build(struct app *app) PC_WUR;
void discovery_free(struct app *app);

/* GET /.well-known/openid-configuration and
 * /.well-known/oauth-authorization-server. */
void oauth_discovery(struct req *r, struct resp *w);
/* GET /jwks.json. */
void oauth_jwks(struct req *r, struct resp *w);
/* POST /token (src/oauth/token_ep.c). */
void oauth_token(struct req *r, struct resp *w);
/* GET/POST /userinfo (OIDC Core §5.3, RFC 6750). */
void oauth_userinfo(struct req *r, struct resp *w);
/* POST /introspect (RFC 7662). */
void oauth_introspect(struct req *r, struct resp *w);
/* POST /revoke (RFC 7009). */
void oauth_revoke(struct req *r, struct resp *w);
/* POST /oauth/register (RFC 7591) and GET/PUT/DELETE on a client's
 * registration_client_uri (RFC 7592): src/oauth/register.c. */
void oauth_register(struct req *r, struct resp *w);

/* ---- end Endpoints ---- */

/* ---- Shared by the endpoints (src/oauth/common.c, client_auth.c) ---- */

/* A JSON error body {"error","error_description"} (RFC 6749 §5.2). */
void
oauth_error(struct resp *w, int status, const char *error, const char *desc);
/* 503 temporarily_unavailable with Retry-After: the store failed (fail
 * closed: nothing issued). */
void oauth_unavailable(struct resp *w);
/* Whether rc is the store failing (PC_ERR_STORE) or asking to retry
 * (PC_ERR_BUSY: a lock timeout, deadlock or serialization failure): both
 * answer oauth_unavailable(), never an OAuth error about the request. */
bool oauth_store_down(int rc);
/*
 * An audit row with the request's IP, User-Agent and request id. 0 once
 * the row is durable; else the error, logged (audit.append_failed). AU-01:
 * a security event that grants or changes something answers only after
 * its row is durable, and answers 503 issuing nothing when this fails;
 * failure signals (client.auth failures, refused requests, alerts) are
 * best-effort and may ignore the result.
 */
int oauth_audit(struct req *r, const char *event, const char *outcome,
    const char *actor, const char *target, json_t *details);
/* The same, with the audit log's session handle (NULL: none). */
int oauth_audit_session(const struct req *r, const char *session_hash,
    const char *event, const char *outcome, const char *actor,
    const char *target, json_t *details);
/* TK-11: the URL's query carries a secret (client_secret, a code, a
 * token, ...): such requests are refused (400), never served. */
bool oauth_query_has_secret(struct req *r);
/* The form body of a token-style POST; with TK-11's check first. On
 * failure the 400 is written. */
int
oauth_form(struct req *r, struct resp *w, const struct kvlist **form) PC_WUR;
/*
 * The shared front of /introspect and /revoke: oauth_form(), client
 * authentication (public clients only if public_ok), exactly one token.
 * 0 with *c (store_client_clear it) and *token; otherwise the response is
 * written.
 */
int oauth_token_request(struct req *r, struct resp *w, bool public_ok,
    struct store_client *c, const char **token) PC_WUR;
/*
 * Authenticates the client of a /token, /introspect or /revoke request
 * (src/oauth/client_auth.c; TK-07..09): 0 with out filled (clear it with
 * store_client_clear); otherwise the error response is written and out
 * is empty. public_ok: a public client may name itself with client_id
 * alone (the token endpoint; revocation).
 */
int client_authenticate(struct req *r, struct resp *w,
    const struct kvlist *form, bool public_ok, struct store_client *out) PC_WUR;

/* ---- end Shared ---- */

/* ---- Pages: grants and clients for src/web/ (src/oauth/grants.c) ---- */

/* A grant the user gave: a consent, and the name of its client. */
struct consent_entry {
	char *client_id;
	char *client_name; /* NULL: the client has none */
	char *scope;
	int64_t granted_at;
};

/*
 * The account page's "Applications you allowed": user_id's consents,
 * newest first, each with its client's name; a consent whose client was
 * deleted meanwhile is left out. Free with consent_entries_free.
 */
int consent_list_user(struct db *db, const char *user_id,
    struct consent_entry **out, size_t *n) PC_WUR;
void consent_entries_free(struct consent_entry *v, size_t n);
/*
 * "Revoke access" (RT-05): the user's consent for client_id goes and
 * every token family of that user and client is revoked, in one
 * transaction. *families (may be NULL): how many. PC_ERR_NOT_FOUND when
 * there was neither consent nor live family.
 */
int consent_revoke_user(struct db *db, const char *user_id,
    const char *client_id, int64_t now, int64_t *families) PC_WUR;
/*
 * The registered client an untrusted client_id names (RP-Initiated
 * Logout). PC_ERR_NOT_FOUND for a malformed or unknown id; client_clear
 * it afterwards.
 */
int client_find(
    struct db *db, const char *client_id, struct store_client *out) PC_WUR;
void client_clear(struct store_client *c);
/* AZ-03: uri is, byte for byte, one of c's post-logout redirect URIs. */
bool client_post_logout_uri_registered(
    const struct store_client *c, const char *uri);

/* ---- end Pages ---- */

/* ---- Machine tokens (src/oauth/machine_token.c; issue 14, TX-04) ---- */

struct store_resource;

/* What one access token for a machine principal is minted for. */
struct machine_grant {
	/* The principal, the token's sub: svc_... or usr_... (a personal
	 * key); NULL: the credential itself (a plain client). */
	const char *sub;
	/* The credential that obtained it, the token's client_id: pcc_...,
	 * key_... or wif_...; the audit row's actor. Required. */
	const char *credential_id;
	const char *resource; /* the aud; NULL: the issuer */
	const char *scope;    /* already decided; NULL or "": none */
	int64_t ttl;	      /* s; 0: access_token_ttl */
	const char *grant;    /* for the audit: "client_credentials", ... */
	bool exchange;	      /* RFC 8693: the answer has issued_token_type */
	json_t *details;      /* more audit details (borrowed); NULL: none */
	/* DPoP (RFC 9449): the proof key's thumbprint: the token is bound
	 * to it (cnf.jkt) and answered as token_type DPoP; NULL: Bearer. */
	const char *cnf_jkt;
};

/*
 * Mints the RFC 9068 access token for g (aud = g->resource or the
 * issuer), writes its token.issue audit row (actor g->credential_id,
 * target g->sub, details {grant, resource, scope, jti} and g->details)
 * and, once that row is durable (AU-01), the token response (no refresh
 * token). Any failure answers 503 and no token leaves.
 */
void machine_token_issue(
    struct req *r, struct resp *w, const struct machine_grant *g);
/*
 * The token response {"access_token", ["issued_token_type",]
 * "token_type":"Bearer", "expires_in"[, "scope"]}, written straight into
 * w's body (wiped when released). scope NULL: no scope member.
 */
int token_response_write(struct resp *w, const char *at, int64_t ttl,
    const char *scope, bool exchange) PC_WUR;
/* The same with token_type "DPoP" when dpop (a token bound by cnf.jkt). */
int token_response_write_dpop(struct resp *w, const char *at, int64_t ttl,
    const char *scope, bool exchange, bool dpop) PC_WUR;

#define MACHINE_TARGET_NONE 1
/*
 * The registered resource a token request names (RFC 8707 §2): the
 * resource parameter, or with audience (token exchange) the audience
 * parameter instead, for principal sub (NULL: none; a service account
 * reaches only the resources its list names, an empty list any). 0 with
 * *out (store_resource_clear it); MACHINE_TARGET_NONE when neither is
 * given (nothing written); -1 with the response written: 400
 * invalid_target for several values, both parameters, one that is not a
 * registered resource, or one the service account may not reach; 503
 * when the store is down.
 */
int machine_target(struct req *r, struct resp *w, const struct kvlist *form,
    bool audience, const char *sub, struct store_resource *out) PC_WUR;
/*
 * The scope of a token for a resource: requested (NULL or "": none)
 * must lie within allowed (what the credential may have) and within
 * resource_scopes; none requested is all of allowed ∩ resource_scopes,
 * which must not be empty. 0 with granted filled; -1 with the response
 * written (400 invalid_scope naming the first refused scope).
 */
int machine_scope(struct resp *w, const char *requested, const char *allowed,
    const char *resource_scopes, struct buf *granted) PC_WUR;
/*
 * client_credentials with a resource parameter (TX-04): sub (NULL: the
 * client; svc_...: the service account it is bound to) and allowed (the
 * scopes the client may have, already narrowed to the account's) are the
 * caller's decision. MACHINE_TARGET_NONE when the request names no
 * resource (nothing written: the caller goes on as without); otherwise 0
 * with the response written, a token for that resource or the error.
 * cnf_jkt: the request's DPoP key (the token is bound to it), NULL: none
 * (then a resource with dpop_required answers invalid_dpop_proof).
 */
int machine_cc_resource(struct req *r, struct resp *w,
    const struct store_client *c, const struct kvlist *form, const char *sub,
    const struct scope_set *allowed, const char *cnf_jkt) PC_WUR;

/* ---- end Machine tokens ---- */
/* ---- API keys at the endpoints (src/oauth/apikey_ep.c; AK-03, AK-06) ---- */

/*
 * AK-06, run before every route's handler (server_router's guard): a
 * query string that carries a string in the API-key format with a valid
 * checksum is answered 400 invalid_request, and a key whose secret
 * matches a key of ours that is not revoked yet is revoked as
 * compromised (audit api_key.url_exposed; logs carry only the key id).
 * A look-alike revokes nothing. true when it answered (the handler is
 * then skipped); 503 when the store could not say.
 */
bool oauth_apikey_url_guard(struct req *r, struct resp *w);
/*
 * RFC 8693 token exchange at /token (src/oauth/exchange.c): oauth_token
 * hands it every grant_type=urn:ietf:params:oauth:grant-type:token-exchange
 * request before client authentication; it dispatches on
 * subject_token_type (the API-key path is here).
 */
void
oauth_token_exchange(struct req *r, struct resp *w, const struct kvlist *form);
/*
 * The key branch of /introspect (AK-04): c is the authenticated caller,
 * key a presented "pck_…" string. Only a client bound to a resource
 * learns anything, and only about a key usable there: active with scope
 * = the key's usable scopes within the resource's, sub = the owner,
 * client_id = the key id, exp = the key's expiry; anything else
 * {"active":false}.
 */
void oauth_introspect_api_key(struct req *r, struct resp *w,
    const struct store_client *c, const char *key);

/* ---- end API keys at the endpoints ---- */

/* ---- Workload token exchange (src/oauth/exchange_jwt.c; issue 14) ---- */

/*
 * RFC 8693 token exchange with subject_token_type
 * urn:ietf:params:oauth:token-type:jwt: a workload's platform token from a
 * trusted issuer (portcullis federation) for an access token of the
 * service account its first matching rule names. The token authenticates
 * the caller: no client authentication. Writes the response.
 */
void
exchange_workload(struct req *r, struct resp *w, const struct kvlist *form);

/* ---- end Workload token exchange ---- */

/* ---- Pushed authorization requests (src/oauth/par.c; RFC 9126) ---- */

/* POST /par: the client authenticates as at /token; the request is
 * checked as at /authorize and stored; 201 {request_uri, expires_in}. */
void oauth_par(struct req *r, struct resp *w);
/*
 * The pushed form as stored: every pair of form but the client
 * credentials, names and values percent-encoded, plus client_id when the
 * form had none. PC_ERR_TOO_LARGE past out's max.
 */
int par_params_encode(
    const struct kvlist *form, const char *client_id, struct buf *out) PC_WUR;
/* Whether an /authorize query names a pushed request (its request_uri
 * has our URN prefix); any other request_uri is az_parse()'s to refuse. */
bool par_is_pushed(const struct kvlist *q);
/*
 * Takes the pushed request q names (request_uri and the client_id that
 * pushed it; used once, live only): 0 with out the pushed parameters
 * (kvlist_free it); PC_ERR_INVALID with *why for a page (AZ-02: there is
 * no trusted redirect_uri yet); PC_ERR_STORE when the store failed.
 */
int
par_take(struct app *app, const struct http_limits *lim, const struct kvlist *q,
    int64_t now, struct kvlist *out, const char **why) PC_WUR;

/* ---- end Pushed authorization requests ---- */

/* ---- Delegation token exchange (src/oauth/exchange_deleg.c; issue 15,
 * TX-01..05, TX-07) ---- */

/*
 * RFC 8693 token exchange with subject_token_type
 * urn:ietf:params:oauth:token-type:access_token: the authenticated client
 * acts for the subject token's user, at a resource or by handing off to
 * another agent, within deleg_decide()'s policy (oauth/proto.h). Writes
 * the response.
 */
void
exchange_delegation(struct req *r, struct resp *w, const struct kvlist *form);

/* ---- end Delegation token exchange ---- */

/* ---- CORS for browser clients (src/oauth/cors.c; CF-05) ---- */

/* The per-node set of allowed origins (NULL in struct app: rebuilt for
 * every request). */
struct cors_cache;
struct cors_cache *cors_cache_new(void);
void cors_cache_free(struct cors_cache *cc);
/* A client's cors_origins: space-separated browser origins
 * (https://host[:port], http only for loopback). PC_ERR_INVALID, *why. */
int cors_origins_check(const char *list, const char **why) PC_WUR;
/* Whether c lets JavaScript on origin read its answers: an origin of its
 * redirect URIs for a public client, or one of its cors_origins; never
 * for a disabled client. */
bool cors_client_allows(const struct store_client *c, const char *origin);
/* Whether any client allows origin (*allowed); the store's error when
 * the clients cannot be read. */
int cors_any_client_allows(
    struct app *app, const char *origin, bool *allowed) PC_WUR;
/* /token, /revoke and /userinfo with their CORS answer; OPTIONS on them
 * and on the metadata (the preflight). */
void oauth_cors_token(struct req *r, struct resp *w);
void oauth_cors_revoke(struct req *r, struct resp *w);
void oauth_cors_userinfo(struct req *r, struct resp *w);
void oauth_cors_preflight(struct req *r, struct resp *w);

/* ---- end CORS ---- */

#endif
