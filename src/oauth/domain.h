/*
 * oauth/domain: the OAuth domain functions that hold state or keys —
 * clients, the authorization flow and its pending requests, codes,
 * refresh-token families, consents, access and ID tokens, and the checks
 * of tokens we issued. Handlers (oauth.h, web/) call these, never
 * store_* directly; the pure protocol checks they build on are in
 * oauth/proto.h.
 */
#ifndef PC_OAUTH_DOMAIN_H
#define PC_OAUTH_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "jose/jose.h"
#include "oauth/proto.h"
#include "store/store.h"

/* ---- Tokens (src/oauth/tokens.c; issue 4, RFC 9068, OIDC Core §2) ---- */

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
	/* The jti to use (token_jti_new(), made before the audit row that
	 * names it); NULL: a new one. */
	const char *jti;
	/* The "groups" claim (group names; the "groups" scope): NULL, no
	 * claim; else ngroups names (0: an empty array). */
	char *const *groups;
	size_t ngroups;
	/* Lifetime in seconds; 0: access_token_ttl (machine tokens from a
	 * token exchange live exchange_token_ttl: issue 14). */
	int64_t ttl;
	/* Issue 15. The DPoP key thumbprint it is bound to, claim
	 * cnf.jkt (RFC 9449 §6); NULL: a bearer token. */
	const char *cnf_jkt;
	/* The delegation chain, claim "act" (RFC 8693 §4.1), copied as is:
	 * an object {"sub": actor, "act": {...previous}}; NULL: none. */
	const json_t *act;
	/* Claim may_act.sub: the one party allowed to exchange it
	 * (RFC 8693 §4.4); NULL: none. */
	const char *may_act;
};

/* An RFC 9068 access token (typ at+jwt, ES256, exp = now + in->ttl or
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
	char *const *groups; /* as in token_access_in */
	size_t ngroups;
};

/* An ID token (typ JWT, exp = now + id_token_ttl). *jwt is malloc'd. */
int token_mint_id(struct signer *s, const struct config *cfg,
    const struct token_id_in *in, int64_t now, char **jwt) PC_WUR;

/* ---- end Tokens ---- */

/* ---- Clients (src/oauth/client.c, client_assertion.c; redirect URIs
 * are checked by redirect_uri_register_check(), oauth/proto.h) ---- */

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
 * grant types from authorization_code, refresh_token, client_credentials
 * (or none: a confidential client that only introspects);
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
 * The same against hashes already read (v[0..n), expires_at 0: current):
 * only those with expires_at 0 or > now count, and every one is compared.
 */
int client_secret_match(const char *secret, size_t secret_len,
    const struct store_client_secret *v, size_t n, int64_t now) PC_WUR;

/*
 * Defaults from what a client is bound to (src/oauth/client_defaults.c),
 * for the CLI and the admin API alike. A client bound to a service
 * account (AK-08) gets, unless given, the grant it is for
 * (client_credentials) and the account's scopes; an unknown or malformed
 * account is left for client_create to refuse. 0 or a store error.
 */
int client_bound_defaults(struct db *db, struct store_client *c,
    bool grant_given, bool scope_given) PC_WUR;
/*
 * An agent without scopes gets every scope of its (registered) resources,
 * with offline_access when it may refresh. 0 or a store error.
 */
int client_agent_default_scope(struct db *db, struct store_client *c) PC_WUR;
/*
 * Clients read and removed through the domain (src/oauth/client_ops.c;
 * the admin API's routes). A malformed id is PC_ERR_NOT_FOUND.
 * client_take_down: disables (del false) or deletes the client, revoking
 * every token family it holds in the same transaction (TX-08);
 * *families (may be NULL) counts them; PC_ERR_NOT_FOUND also for a
 * client disabled already. client_secrets_active: how many of its
 * secrets work now (0 on error).
 */
int client_read(struct db *db, const char *id, struct store_client *out) PC_WUR;
int client_read_all(struct db *db, struct store_client **out, size_t *n) PC_WUR;
int client_remove(struct db *db, const char *id, int64_t now) PC_WUR;
int client_take_down(struct db *db, const char *id, bool del, int64_t now,
    int64_t *families) PC_WUR;
size_t client_secrets_active(struct db *db, const char *id, int64_t now);
struct store_resource;
/*
 * Registers res (id, scopes, name: default the id; dpop_required) with
 * the resource server's own credentials: res->client_id when set (an
 * existing confidential client), else a new confidential client that
 * only introspects, whose secret goes to secret (shown once) and
 * *client_created true. Nothing is left behind when the resource is
 * refused. PC_ERR_INVALID or PC_ERR_CONFLICT (id taken, client bound
 * elsewhere) with *why; PC_ERR_NOT_FOUND for an unknown client.
 */
int resource_register(struct db *db, struct store_resource *res, int64_t now,
    char secret[CLIENT_SECRET_LEN + 1], bool *client_created,
    const char **why) PC_WUR;

/*
 * The per-node client cache (src/oauth/client_cache.c; decision 0049):
 * client records and their secret hashes, checked against the store's
 * 'clients' version (struct store_versions) on every use. At most
 * CLIENT_CACHE_ENTRIES clients and CLIENT_CACHE_BYTES of their data; past
 * either the least recently used goes. Misses are not cached.
 */
#define CLIENT_CACHE_ENTRIES 1024
#define CLIENT_CACHE_BYTES (8u << 20)
struct client_cache;
struct client_cache *client_cache_new(void);
void client_cache_free(struct client_cache *cc);
/* How many clients it holds now (for tests and metrics). */
size_t client_cache_count(struct client_cache *cc);
/*
 * The versions for this request: one store read at most (none on SQLite
 * while nothing was committed since this thread last read them). cc may
 * be NULL (no cache: always read).
 */
int client_cache_versions(
    struct client_cache *cc, struct db *db, struct store_versions *out) PC_WUR;
/*
 * Client id as of versions v: from the cache while its entry was read at
 * v->clients, else from the store (then cached). out gets a copy (the
 * caller's to store_client_clear()); for a secret-using client, secrets
 * gets every stored hash with its expiry (*n of them; wipe after use).
 * PC_ERR_NOT_FOUND: no such client (not cached). cc NULL: store only.
 */
int client_cache_get(struct client_cache *cc, struct db *db,
    const struct store_versions *v, const char *id, struct store_client *out,
    struct store_client_secret secrets[STORE_CLIENT_SECRETS_MAX],
    size_t *n) PC_WUR;

/* private_key_jwt (src/oauth/client_assertion.c; RFC 7523, TK-09). */
#define CLIENT_ASSERTION_ID_MAX 255 /* CLIENT_URL_ID_MAX */
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

/* ---- Clients that register themselves: oauth/client_reg.h ---- */

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
	const char *resource;	  /* RFC 8707 (registered); NULL: us */
	int64_t grant_expires_at; /* delegation's end; 0: the usual */
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
/*
 * The store key of a refresh token: the hex SHA-256 of its 32 random
 * bytes, after checking its shape and that its base64url is canonical (one
 * token, one spelling). false if the token is malformed.
 */
bool refresh_token_hash(const char *token, char hash[PC_SHA256_HEX_LEN + 1]);
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
	/* RT-06: the DPoP key the family's refresh tokens are bound to
	 * (family.dpop_jkt); NULL: not bound. */
	const char *dpop_jkt;
	const char *resource; /* the family's RFC 8707 resource; NULL: us */
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
	/* AU-01: the audit row, written in the rotation's transaction (see
	 * struct store_rotate); NULL: none. */
	int (*audit)(struct db_conn *c, void *arg, const struct store_family *f,
	    bool resent);
	void *audit_arg;
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

/* ---- Access and refresh token checks (src/oauth/bearer.c; OI-08,
 * IR-01..06, JW-01..08, TK-12, TK-13) ---- */

#define BEARER_MAX_LEN 4096  /* bytes of an access token we accept */
#define BEARER_IAT_LEEWAY 30 /* s an iat may lie ahead (other nodes) */

/* The claims of a verified access token; strings are owned. */
struct bearer {
	char *sub;
	char *client_id;
	char *scope; /* "" when none */
	char *jti;
	char *gid; /* the token family; NULL: client_credentials */
	char *aud; /* when a single string (ours always are); else NULL */
	int64_t exp;
	int64_t iat;
	int64_t auth_time; /* 0: none */
	/* Issue 15: cnf.jkt (NULL: not DPoP-bound); the act claim (owned;
	 * NULL: none), how deeply it nests (0: no act) and its innermost
	 * sub (the first actor: the client the user's grant went to);
	 * may_act.sub (NULL: none). */
	char *cnf_jkt;
	json_t *act;
	int act_depth;
	char *act_root;
	char *may_act;
	/* The grant (gid) as verified, so a caller need not read it again
	 * (family_id "" when the token has no gid). */
	struct store_family family;
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
/*
 * The same for audience aud instead of the issuer (TX-04: a token minted
 * for a resource is refused wherever another audience is required, so
 * /userinfo refuses it); aud NULL accepts any single audience (a string
 * aud, in out->aud): /introspect and /revoke decide by it themselves.
 */
int bearer_verify_aud(struct app *app, const char *token, size_t len,
    const char *aud, int64_t now, struct bearer *out) PC_WUR;

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

/* ---- end Access and refresh token checks ---- */

/* ---- The authorization flow (src/oauth/authz.c; AZ-01..05, AZ-10,
 * OI-05, OI-06, OI-09, CF-03) ---- */

#define AUTHZ_PENDING_TTL 900 /* s to sign in and consent */
#define AUTHZ_ID_LEN 43	      /* base64url of 256 random bits */
#define AUTHZ_LOCATION_MAX 96 /* "/authorize/resume?req=" + the id */

struct session;

/* An authorization request being served: from the query, or saved. */
struct authz {
	struct store_client client;
	struct store_authz_request p;
	char id[AUTHZ_ID_LEN + 1]; /* the opaque id; "" until saved */
	/* A delegation to an agent: the lifetime the user chose on the
	 * consent page (s, within delegation_max_ttl()); 0: not chosen. */
	int64_t grant_ttl;
};
void authz_clear(struct authz *z);

/* What a flow step asks the handler to answer. */
enum authz_status {
	AUTHZ_OK = 0,
	AUTHZ_PAGE,	   /* an error page, never a redirect: e->why */
	AUTHZ_REDIRECT,	   /* e->error to the matched redirect_uri */
	AUTHZ_UNAVAILABLE, /* the store failed: 503, nothing answered */
};
struct authz_error {
	const char *error; /* AUTHZ_REDIRECT: the RFC 6749 code */
	const char *why;   /* the page text or error_description */
	char buf[SCOPE_TOKEN_MAX + 64];
};

/*
 * Everything /authorize decides before the user: the client (unknown:
 * a page, AZ-02), redirect_uri matched exactly against its list (else a
 * page, AZ-01), then az_parse()'s redirectable error f, the code grant,
 * the grantable scope (AZ-10, OI-09), a signing key for the ID token
 * alg, and id_token_hint (OI-06). AUTHZ_OK: z holds the request to
 * proceed with (prompt=select_account turned into prompt=login).
 * z->p.client_id, redirect_uri and state are set for any
 * AUTHZ_REDIRECT. authz_clear(z) afterwards, whatever the result.
 */
enum authz_status authz_begin(struct app *app, const struct az_request *a,
    enum az_fail f, int64_t now, struct authz *z, struct authz_error *e);
/* OI-05: with max_age (>= 0; -1: none), a sign-in is required unless s
 * (NULL: none) is a user's session that signed in at most max_age
 * seconds ago; max_age=0 always requires one (prompt=login). */
void authz_max_age(
    struct authz *z, int64_t max_age, const struct session *s, int64_t now);
/*
 * Loads a saved request by the id the browser carries, with its client,
 * and matches its redirect_uri again (the client may have changed while
 * the user signed in). AUTHZ_OK, AUTHZ_PAGE or AUTHZ_UNAVAILABLE.
 */
enum authz_status authz_load(struct app *app, const char *id_value, int64_t now,
    struct authz *z, struct authz_error *e);
/* Saves z (once) under a new opaque id (AZ-03: the browser carries only
 * the id), counted against the client IP's pre-session cap. */
int authz_save(
    struct app *app, struct authz *z, const char *ip, int64_t now) PC_WUR;
/* Takes (deletes) the saved request, if z was saved: 0, or
 * PC_ERR_NOT_FOUND when another answer already took it (CF-03). Before
 * an error answer the result may be ignored (the request dies anyway). */
int authz_take(struct app *app, struct authz *z, int64_t now);
/* Whether s (NULL or without user: nobody signed in) may answer z without
 * a new sign-in: prompt=login and a request that needed a sign-in are
 * answered only by the session that signed in for it (OI-05); a hint
 * for another user needs one too (OI-06). */
bool authz_needs_login(const struct authz *z, const struct session *s);
/* *need: user_id must consent first (CF-03): a client not first-party
 * whose remembered consent misses a scope, or prompt=consent. */
int authz_needs_consent(struct app *app, const struct authz *z,
    const char *user_id, bool *need) PC_WUR;
/* Remembers that user_id allowed z's scopes to its client. */
int authz_consent_grant(struct app *app, const struct authz *z,
    const char *user_id, int64_t now) PC_WUR;
/* A code for z bound to the session s (its user, sid, amr, auth_time). */
int authz_code(struct app *app, const struct authz *z, const struct session *s,
    int64_t now, char code[CODE_LEN + 1]) PC_WUR;
/*
 * Issue 16 (docs/mfa.md, decision 0069): what the request z needs of
 * the signed-in session s beyond a sign-in. AUTHZ_MFA_STEP when acr_values
 * asked for more than one factor, the client requires a second factor or
 * the policy is mfa = required, s's amr lacks "mfa", and the user has a
 * factor to give; AUTHZ_MFA_UNMET when the user has none and the client
 * requires one, or mfa = required and the enrolment grace is over
 * (unmet_authentication_requirements). A store error: non-zero.
 */
enum authz_mfa {
	AUTHZ_MFA_OK = 0,
	AUTHZ_MFA_STEP,
	AUTHZ_MFA_UNMET,
};
int authz_mfa(struct app *app, const struct authz *z, const struct session *s,
    int64_t now, enum authz_mfa *out) PC_WUR;
/* Saves z (once) and gives the factor step's URL for it, /login/mfa. */
int authz_mfa_step(struct app *app, struct authz *z, const char *ip,
    int64_t now, char location[AUTHZ_LOCATION_MAX]) PC_WUR;
/*
 * After a sign-in made for the pending request id_value: records s as
 * the session that signed in for it and gives the local URL to resume
 * it. PC_ERR_INVALID or PC_ERR_NOT_FOUND when there is no such request.
 */
int
authz_login_done(struct app *app, const char *id_value, const struct session *s,
    int64_t now, char location[AUTHZ_LOCATION_MAX]) PC_WUR;
/* 0 when id_value names a live pending request; *login_hint (malloc'd,
 * may be NULL) is its login_hint. */
int authz_pending(struct app *app, const char *id_value, int64_t now,
    char **login_hint) PC_WUR;

/* ---- end The authorization flow ---- */

#include "oauth/client_reg.h"
#include "oauth/dpop.h"	      /* DPoP (issue 15) */
#include "oauth/delegation.h" /* agents, delegations (issue 15) */

#endif
