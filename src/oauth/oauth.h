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

void oauth_discovery(struct req *r, struct resp *w);
void oauth_jwks(struct req *r, struct resp *w);

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
/* Appends the tokens, single-space separated, in set order. */
int scope_format(const struct scope_set *s, struct buf *out) PC_WUR;

/* ---- end Scopes ---- */


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

#endif
