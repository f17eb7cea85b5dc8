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

/* Builds the discovery document from configuration only (OI-10). */
int discovery_build(struct app *app) PC_WUR;

void oauth_discovery(struct req *r, struct resp *w);
void oauth_jwks(struct req *r, struct resp *w);

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

#endif
