/*
 * oauth: the OAuth 2.1 / OpenID Connect endpoints. Handlers parse, call
 * one domain function and render.
 */
#ifndef PC_OAUTH_H
#define PC_OAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "http/http.h"
#include "store/store.h"

/* Builds the discovery document from configuration only (OI-10). */
int discovery_build(struct app *app) PC_WUR;
void discovery_free(struct app *app);

void oauth_discovery(struct req *r, struct resp *w);
/* POST /token (src/oauth/token_ep.c). */
void oauth_token(struct req *r, struct resp *w);
void oauth_jwks(struct req *r, struct resp *w);

/* ---- Shared by the endpoints (src/oauth/common.c) ---- */

struct kvlist;

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
/* One form field: absent (*out NULL, 0), present (0), or repeated
 * (PC_ERR_DUPLICATE, AZ-09). */
int oauth_field(const struct kvlist *f, const char *name, const char **out);
/* w is one of the space-separated words of list. */
bool oauth_has_word(const char *list, const char *w);
/* TK-11: the URL's query carries a secret (client_secret, a code, a
 * token, ...): such requests are refused (400), never served. */
bool oauth_query_has_secret(struct req *r);
/* The form body of a token-style POST; with TK-11's check first. On
 * failure the 400 is written. */
int
oauth_form(struct req *r, struct resp *w, const struct kvlist **form) PC_WUR;
struct store_client;
/*
 * The shared front of /introspect and /revoke: oauth_form(), client
 * authentication (public clients only if public_ok), exactly one token.
 * 0 with *c (store_client_clear it) and *token; otherwise the response is
 * written.
 */
int oauth_token_request(struct req *r, struct resp *w, bool public_ok,
    struct store_client *c, const char **token) PC_WUR;
/* Appends "?name=value" (or "&..." once b holds a '?') to the URI in b,
 * value percent-encoded except for RFC 3986 unreserved characters. */
int oauth_query_add(struct buf *b, const char *name, const char *value) PC_WUR;

/* ---- end Shared ---- */

/* ---- Tokens (src/oauth/tokens.c; issue 4, RFC 9068, OIDC Core §2) ---- */

#include "jose/jose.h"

struct signer;
struct config;

#define TOKEN_JTI_LEN 22 /* base64url of 128 random bits */

/* 128 random bits, base64url. */
void token_jti_new(char out[TOKEN_JTI_LEN + 1]);
/*
 * at_hash (OIDC Core §3.1.3.6): base64url of the left half of the hash of
 * the access token's ASCII, with the hash of alg (SHA-256 for ES256,
 * RS256, PS256; SHA-512 for EdDSA/Ed25519).
 */
int
token_at_hash(enum jose_alg alg, const char *access_token, char out[64]) PC_WUR;

struct token_access_in {
	const char *sub; /* the user; NULL: the client (client_credentials) */
	const char *client_id; /* required */
	const char *aud;       /* required: the resource it is for */
	const char *scope;     /* required; "" allowed */
	int64_t auth_time;     /* 0: omitted */
	const char *acr;       /* NULL: omitted */
	const char *amr;       /* space-separated; NULL or "": omitted */
	/* The user grant (token family) it was issued from, claim "gid":
	 * revoking the family kills the token (TK-01, IR-06, RT-05). NULL
	 * for client_credentials (and then there is no user). */
	const char *grant_id;
};

/* An RFC 9068 access token (typ at+jwt, ES256, exp = now +
 * access_token_ttl); jti gets its id. *jwt is malloc'd. */
int token_mint_access(struct signer *s, const struct config *cfg,
    const struct token_access_in *in, int64_t now, char **jwt,
    char jti[TOKEN_JTI_LEN + 1]) PC_WUR;

struct token_claim {
	const char *name;
	const char *value;
};

struct token_id_in {
	const char *sub;		 /* required */
	const char *client_id;		 /* required: the aud */
	enum jose_alg alg;		 /* the client's id_token alg */
	int64_t auth_time;		 /* 0: omitted */
	const char *nonce;		 /* NULL: omitted */
	const char *acr;		 /* NULL: omitted */
	const char *amr;		 /* space-separated */
	const char *sid;		 /* session handle; NULL: omitted */
	const char *access_token;	 /* for at_hash; NULL: omitted */
	const struct token_claim *extra; /* string claims by scope */
	size_t nextra;
};

/* An ID token (typ JWT, exp = now + id_token_ttl). *jwt is malloc'd. */
int token_mint_id(struct signer *s, const struct config *cfg,
    const struct token_id_in *in, int64_t now, char **jwt) PC_WUR;

/* ---- end Tokens ---- */

/* ---- PKCE (src/oauth/pkce.c; SECURITY.md AZ-06, AZ-07, TK-03) ---- */

#define PKCE_CHALLENGE_LEN 43 /* base64url of a SHA-256 */
#define PKCE_VERIFIER_MIN 43
#define PKCE_VERIFIER_MAX 128

/* Only "S256" (plain, missing and unknown methods are refused). */
bool pkce_method_ok(const char *method);
/* Exactly 43 characters of canonical base64url (32 bytes). */
bool pkce_challenge_valid(const char *challenge);
/* 43..128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1). */
bool pkce_verifier_valid(const char *verifier);
/* BASE64URL(SHA-256(verifier)) == challenge, compared in constant time;
 * false for any malformed input. */
bool pkce_verify(const char *verifier, const char *challenge);

/* ---- end PKCE ---- */

/* ---- Scopes (src/oauth/scope.c; RFC 6749 §3.3, SECURITY.md AZ-10) ---- */

#define SCOPE_MAX 32	      /* distinct tokens in one request */
#define SCOPE_TOKEN_MAX 128   /* bytes of one token */
#define SCOPE_STRING_MAX 2048 /* bytes of the whole parameter */

struct scope_set {
	char *v[SCOPE_MAX];
	size_t n;
};

void scope_set_free(struct scope_set *s);
/* Single-space separated tokens; duplicates folded; PC_ERR_INVALID for
 * anything malformed (out is then empty). "" is the empty set. */
int scope_parse(const char *str, struct scope_set *out) PC_WUR;
bool scope_has(const struct scope_set *s, const char *tok);
/* Every token of a is in b. */
bool scope_subset(const struct scope_set *a, const struct scope_set *b);
/* The first token of a that is not in b, or NULL. */
const char *
scope_first_missing(const struct scope_set *a, const struct scope_set *b);
/* "The scope 'tok' why." for an invalid_scope error_description. */
void scope_refused_desc(const char *tok, const char *why, char *out, size_t n);
/* Appends the tokens, single-space separated, in set order. */
int scope_format(const struct scope_set *s, struct buf *out) PC_WUR;

/* ---- end Scopes ---- */

/* ---- Clients (src/oauth/client.c, src/oauth/redirect_uri.c) ---- */

#define REDIRECT_URI_MAX 2048
/*
 * AZ-04: whether uri may be registered. Absolute, ASCII, no fragment,
 * userinfo, wildcard, backslash, dot segment, space or control character;
 * https, or http only to 127.0.0.1 / [::1] (not localhost, RFC 8252
 * §8.3); javascript:, data:, vbscript:, file: refused; a private-use
 * reverse-domain scheme (com.example.app:/cb) only for public clients; no
 * code, state, iss or error already in the query. 0, or PC_ERR_INVALID
 * with *why (static text) saying why.
 */
int redirect_uri_register_check(
    const char *uri, bool public_client, const char **why) PC_WUR;
/*
 * AZ-01: exact string comparison, except that the port of an http
 * loopback IP literal may differ (RFC 8252 §7.3).
 */
bool redirect_uri_match(const char *registered, const char *requested);

#define CLIENT_ID_PREFIX "pcc_"
#define CLIENT_ID_RANDOM_BYTES 16
#define CLIENT_ID_LEN 26 /* "pcc_" + 22 base64url */
#define CLIENT_SECRET_PREFIX "pcs_"
#define CLIENT_SECRET_BYTES 32
#define CLIENT_SECRET_LEN 47 /* "pcs_" + 43 base64url */
#define CLIENT_NAME_MAX 256
#define CLIENT_SCOPES_MAX 2048
#define CLIENT_URIS_MAX 32 /* of each kind */
#define CLIENT_JWKS_MAX 65536
#define CLIENT_JWKS_KEYS_MAX 16

void client_id_new(char out[CLIENT_ID_LEN + 1]);
/* Whether the text has the shape of a client id (not whether it exists). */
bool client_id_valid(const char *id);
bool client_auth_method_uses_secret(const char *method);
/*
 * A JWKS for private_key_jwt: a JSON object whose "keys" holds 1..16
 * public keys that each parse for ES256, RS256 or PS256 (JW-02; their
 * "alg" if given). Private members (d, p, q, k, ...) are refused.
 */
int client_jwks_check(const char *jwks, size_t len, const char **why) PC_WUR;
/*
 * Fills defaults into c (auth_method: none for public clients, else
 * client_secret_basic; grant_types "authorization_code"; scopes "openid";
 * id_token_alg "RS256"), then checks every field: name text <= 256 bytes;
 * grant types from authorization_code, refresh_token, client_credentials;
 * public clients use "none" and no client_credentials; private_key_jwt
 * needs jwks and nothing else takes one; scope tokens of printable ASCII
 * without '"' or '\'; alg RS256, ES256, EdDSA or PS256; every URI passes
 * redirect_uri_register_check; at least one redirect URI when
 * authorization_code is allowed. 0, or PC_ERR_INVALID with *why.
 */
int client_validate(struct store_client *c, const char **why) PC_WUR;
/*
 * Validates c, gives it a new id and times, and stores it. A client that
 * authenticates with a secret gets one: written to secret (shown once,
 * only its SHA-256 is stored); otherwise secret is "". PC_ERR_INVALID
 * with *why for a refused client.
 */
int client_create(struct db *db, struct store_client *c, int64_t now,
    char secret[CLIENT_SECRET_LEN + 1], const char **why) PC_WUR;
/*
 * Validates and stores c (an existing client, as changed by the caller).
 * A move to an auth method without a secret drops the stored secrets.
 */
int client_update(struct db *db, struct store_client *c, int64_t now,
    const char **why) PC_WUR;
/*
 * A new secret for a secret-using client; the old one stays valid until
 * now + overlap_seconds (0: at once). PC_ERR_INVALID for a client that
 * does not use a secret.
 */
int client_rotate_secret(struct db *db, const char *client_id,
    int64_t overlap_seconds, int64_t now,
    char out_secret[CLIENT_SECRET_LEN + 1]) PC_WUR;
/*
 * 0 when secret is the client's current secret or its unexpired previous
 * one; PC_ERR_VERIFY otherwise (unknown client included). The hashes are
 * compared in constant time, all of them, whatever matches.
 */
int client_verify_secret(struct db *db, const char *client_id,
    const char *secret, size_t secret_len, int64_t now) PC_WUR;

/*
 * Authenticates the client of a /token, /introspect or /revoke request
 * (src/oauth/client_auth.c; TK-07..09): 0 with out filled (clear it with
 * store_client_clear); otherwise the error response is written and out
 * is empty. public_ok: a public client may name itself with client_id
 * alone (the token endpoint; revocation).
 */
int client_authenticate(struct req *r, struct resp *w,
    const struct kvlist *form, bool public_ok, struct store_client *out) PC_WUR;

/* private_key_jwt (src/oauth/client_assertion.c; RFC 7523, TK-09). */
#define CLIENT_ASSERTION_ID_MAX 128
/*
 * The client id an assertion names (its iss and sub, which must agree,
 * and client_id when the body gave one), read before verification only
 * to find the keys. 0 with id filled, or PC_ERR_INVALID.
 */
int client_assertion_subject(const char *assertion, const char *client_id,
    char id[CLIENT_ASSERTION_ID_MAX + 1]) PC_WUR;
/*
 * Verifies an assertion for client c (which must use private_key_jwt):
 * signature by a key of its registered JWKS with that key's one algorithm
 * (ES256, RS256, PS256, EdDSA), typ absent, JWT or
 * client-authentication+jwt, iss = sub = client id, aud the issuer alone
 * (a string or a one-member array), exp in the future (30 s leeway)
 * and at most 5 min (+ leeway) ahead, exp - iat <= 5 min, nbf not
 * ahead, jti of 1..256 bytes and unseen (then remembered until exp +
 * leeway). 0, PC_ERR_VERIFY, or PC_ERR_STORE when the replay cache is
 * unreachable.
 */
int client_assertion_verify(struct app *app, const struct store_client *c,
    const char *assertion, int64_t now) PC_WUR;

/* ---- end Clients ---- */

/* ---- Authorization requests (src/oauth/authorize_req.c; AZ-02..12) ---- */

#define AZ_CLIENT_ID_MAX 128
#define AZ_REDIRECT_URI_MAX 2048
#define AZ_STATE_MAX 2048
#define AZ_NONCE_MAX 512
#define AZ_HINT_MAX 512

enum az_fail {
	AZ_OK = 0,
	AZ_FAIL_PAGE,	  /* an error page: never redirect (AZ-01, AZ-02) */
	AZ_FAIL_REDIRECT, /* an error for the matched redirect_uri */
};

enum az_prompt {
	AZ_PROMPT_NONE = 1 << 0,
	AZ_PROMPT_LOGIN = 1 << 1,
	AZ_PROMPT_CONSENT = 1 << 2,
	AZ_PROMPT_SELECT_ACCOUNT = 1 << 3,
};

/* Values point into the parsed parameters; scope is owned. */
struct az_request {
	const char *client_id;
	const char *redirect_uri;
	const char *state; /* NULL: none (or it was repeated) */
	const char *nonce;
	const char *code_challenge;
	const char *login_hint;
	const char *id_token_hint;
	struct scope_set scope;
	unsigned prompt;	       /* enum az_prompt bits */
	int64_t max_age;	       /* -1: none */
	const char *error;	       /* when not AZ_OK: the RFC 6749 code */
	const char *error_description; /* ASCII, for the page or redirect */
};

/*
 * Parses and checks the parameters of an authorization request in the
 * order that decides where errors may go (see the .c). AZ_OK: a is filled.
 * Otherwise a->error says why; a->state is the state to echo (NULL when
 * it was itself bad). Always az_request_clear() afterwards.
 */
enum az_fail az_parse(const struct kvlist *q, struct az_request *a);
void az_request_clear(struct az_request *a);

/* ---- end Authorization requests ---- */

/* ---- Authorization codes (src/oauth/code.c; TK-01..03) ---- */

struct db;
struct store_auth_code;

#define CODE_PREFIX "pca_"
#define CODE_RANDOM_LEN 43 /* base64url of 256 random bits */
#define CODE_LEN (sizeof(CODE_PREFIX) - 1 + CODE_RANDOM_LEN)
#define CODE_TTL 60 /* s (SECURITY.md Part 2.5) */

/* What a code is bound to; strings are copied into the store. */
struct code_grant {
	const char *client_id;
	const char *user_id;
	const char *redirect_uri;   /* exactly as the request gave it */
	const char *code_challenge; /* S256 */
	const char *scope;	    /* granted, space-separated */
	const char *nonce;	    /* NULL: none */
	const char *amr;
	const char *sid;
	int64_t auth_time;
};

/* A new code valid for CODE_TTL seconds from now; out gets it. */
int code_issue(struct db *db, const struct code_grant *g, int64_t now,
    char out[CODE_LEN + 1]) PC_WUR;
/*
 * Redeems code for client_id at redirect_uri with the PKCE verifier. 0:
 * out is the code's grant. PC_ERR_NOT_FOUND: malformed, unknown or
 * expired. PC_ERR_CONFLICT: redeemed before; out->family_id (may be NULL)
 * names the tokens to revoke (TK-02). PC_ERR_VERIFY: a binding failed
 * (client, redirect URI or verifier); the code is used up all the same.
 * All of them are invalid_grant to the client.
 */
int code_redeem(struct db *db, const char *code, const char *client_id,
    const char *redirect_uri, const char *verifier, int64_t now,
    struct store_auth_code *out) PC_WUR;

/* ---- end Authorization codes ---- */

/* ---- Refresh tokens (src/oauth/refresh.c; RT section) ---- */

struct store_family;

#define REFRESH_PREFIX "pcr_"
#define REFRESH_RANDOM_LEN 43 /* base64url of 256 random bits */
#define REFRESH_LEN (sizeof(REFRESH_PREFIX) - 1 + REFRESH_RANDOM_LEN)
/* The defaults of refresh_token_idle and refresh_token_absolute
 * (SECURITY.md Part 2.5), used when a caller passes 0. */
#define REFRESH_IDLE (14 * 86400)     /* s */
#define REFRESH_ABSOLUTE (30 * 86400) /* s */
#define REFRESH_GRACE_MAX 10	      /* s: refresh_reuse_interval cap */

struct refresh_grant {
	const char *client_id;
	const char *user_id;
	const char *scope;
	const char *amr;
	const char *sid; /* the session handle, for RT-05 at sign-out */
	int64_t auth_time;
	int64_t idle;	  /* s; 0: REFRESH_IDLE */
	int64_t absolute; /* s; 0: REFRESH_ABSOLUTE */
};

/* A new family and its first token; family_id names the family. token
 * NULL: a family without refresh tokens (a grant whose access tokens can
 * still be revoked together). */
int refresh_issue(struct db *db, const struct refresh_grant *g, int64_t now,
    char token[REFRESH_LEN + 1], char family_id[48]) PC_WUR;

/* How a rotation treats the token it issues. */
struct refresh_policy {
	int64_t idle; /* s; 0: REFRESH_IDLE */
	/* RT-02 grace (refresh_reuse_interval): 0 off; else at most
	 * REFRESH_GRACE_MAX s, and seal_key (32 bytes, a subkey of the
	 * master key: refresh_seal_key()) seals the successor for it. */
	int64_t reuse_interval;
	const uint8_t *seal_key;
};

/* The subkey that seals successors kept for the grace. Wipe it. */
void refresh_seal_key(const struct masterkey *mk, uint8_t out[32]);

/*
 * Rotates token for client_id: 0 with new_token and out (the family);
 * PC_ERR_CONFLICT: reuse of a rotated token, the family is now revoked
 * (out names it, for the audit alert); PC_ERR_NOT_FOUND: malformed,
 * unknown, expired, revoked or another client's. Both errors are
 * invalid_grant. With p->reuse_interval on, a repeat of the token the
 * last rotation consumed, by the same client, within the interval and
 * before its successor was itself used, is 0 with *resent true and
 * new_token the successor that rotation issued (never a second one).
 * p NULL: the defaults, grace off.
 */
int refresh_rotate_ex(struct db *db, const char *token, const char *client_id,
    int64_t now, const struct refresh_policy *p,
    char new_token[REFRESH_LEN + 1], struct store_family *out,
    bool *resent) PC_WUR;
/* refresh_rotate_ex with the defaults (grace off). */
int refresh_rotate(struct db *db, const char *token, const char *client_id,
    int64_t now, char new_token[REFRESH_LEN + 1],
    struct store_family *out) PC_WUR;
/*
 * Undoes a rotation whose answer could not be given (AU-01: its audit
 * row failed): deletes new_token while it is unused and makes token
 * usable again, so the client's retry works. 0, or PC_ERR_NOT_FOUND when
 * the successor was used or is gone (nothing undone).
 */
int refresh_unrotate(struct db *db, const char *token, const char *new_token);

/* ---- end Refresh tokens ---- */

/* ---- Consent (src/oauth/consent.c; CF-03) ---- */

/* *covered: the user already allowed the client every scope in want. */
int consent_covers(struct db *db, const char *user_id, const char *client_id,
    const struct scope_set *want, bool *covered) PC_WUR;
/* Remembers granted (added to what was allowed before). */
int consent_grant(struct db *db, const char *user_id, const char *client_id,
    const struct scope_set *granted, int64_t now) PC_WUR;

/* ---- end Consent ---- */

/* ---- ID token hints (src/oauth/id_hint.c; OI-11, JW-06) ---- */

#define ID_HINT_MAX JWS_MAX_LEN

struct id_hint {
	char *sub;
	char *client_id;
	char *sid;	   /* NULL: the token had none */
	int64_t auth_time; /* 0: none */
};

/*
 * Verifies an id_token_hint: an ID token we issued (signer_verify_jwt
 * with the ID-token algs RS256/ES256/PS256/EdDSA and typ "JWT", so access
 * tokens (at+jwt) are refused, JW-06), iss the issuer, aud a single client
 * id (or an array of one) that exists, sub present. An expired hint is
 * accepted (OIDC RP-Initiated Logout §2), but nothing signed by an
 * unpublished key, alg none or HS*. 0 with out filled (clear it with
 * id_hint_clear), PC_ERR_VERIFY (signature, alg, kid or typ),
 * PC_ERR_INVALID (malformed, wrong claims, unknown client) or
 * PC_ERR_STORE.
 */
int id_hint_verify(
    struct app *app, const char *hint, int64_t now, struct id_hint *out) PC_WUR;
void id_hint_clear(struct id_hint *h);

/* ---- end ID token hints ---- */

/* ---- Resource endpoints (src/oauth/bearer.c, userinfo.c, introspect.c,
 * revoke.c; OI-08, IR-01..06, JW-01..08, TK-12, TK-13) ---- */

#define BEARER_MAX_LEN 4096  /* bytes of an access token we accept */
#define BEARER_IAT_LEEWAY 30 /* s an iat may lie ahead (other nodes) */

/* The claims of a verified access token; strings are owned. */
struct bearer {
	char *sub;
	char *client_id;
	char *scope; /* "" when none */
	char *jti;
	char *gid; /* the token family; NULL: client_credentials */
	int64_t exp;
	int64_t iat;
	int64_t auth_time; /* 0: none */
};

void bearer_clear(struct bearer *b);
/*
 * Verifies an access token we issued, for use at our own endpoints: at
 * most BEARER_MAX_LEN bytes; an ES256 JWS of typ at+jwt by one of our
 * published signing keys (signer_verify_jwt: so alg none, HS*, ID tokens,
 * unknown kids and token-supplied keys fail); iss the issuer; aud the
 * issuer or an array holding it; exp > now (no leeway, JW-04); iat at
 * most BEARER_IAT_LEEWAY ahead; sub, client_id, jti present; jti not
 * revoked; and when gid is present, its family exists, is of the same
 * client and user, unrevoked and unexpired (TK-01, IR-06, RT-05). 0 with
 * out filled (bearer_clear it), PC_ERR_VERIFY for any dead or foreign
 * token, PC_ERR_STORE when the store cannot say (fail closed: 503).
 */
int bearer_verify(struct app *app, const char *token, size_t len, int64_t now,
    struct bearer *out) PC_WUR;

/* What a refresh token is, read without consuming it. */
struct bearer_refresh {
	struct store_family family;
	int64_t iat;
	int64_t exp;
	bool active; /* unused, unexpired, family live and unexpired */
};

/*
 * Looks up a refresh token (REFRESH_PREFIX...) by its hash. 0 with out
 * filled (store_family_clear(&out->family) afterwards), PC_ERR_NOT_FOUND
 * for a malformed or unknown token, PC_ERR_STORE.
 */
int bearer_refresh_lookup(struct db *db, const char *token, int64_t now,
    struct bearer_refresh *out) PC_WUR;

/* GET/POST /userinfo (OIDC Core §5.3, RFC 6750). */
void oauth_userinfo(struct req *r, struct resp *w);
/* POST /introspect (RFC 7662). */
void oauth_introspect(struct req *r, struct resp *w);
/* POST /revoke (RFC 7009). */
void oauth_revoke(struct req *r, struct resp *w);

/* ---- end Resource endpoints ---- */

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

#endif
