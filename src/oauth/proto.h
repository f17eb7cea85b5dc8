/*
 * oauth/proto: the pure protocol checks of OAuth 2.1 / OpenID Connect —
 * PKCE, scope strings, redirect URIs, authorization-request parsing and
 * form-field and query-string helpers. Strings in, decisions out: no
 * store, no keys, no HTTP server, no clock. It is its own library
 * (pc_oauth_proto in src/meson.build, linking util, httpcore's parsers,
 * base64url and libsodium only), so a fuzzer or a unit test links it
 * alone; oauth.h includes it for everything built on it.
 */
#ifndef PC_OAUTH_PROTO_H
#define PC_OAUTH_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "util/util.h"

/* ---- Parameters (src/oauth/params.c) ---- */

/* One form field: absent (*out NULL, 0), present (0), or repeated
 * (PC_ERR_DUPLICATE, AZ-09). */
int oauth_field(const struct kvlist *f, const char *name, const char **out);
/* w is one of the space-separated words of list. */
bool oauth_has_word(const char *list, const char *w);
/* Appends "?name=value" (or "&..." once b holds a '?') to the URI in b,
 * value percent-encoded except for RFC 3986 unreserved characters. */
int oauth_query_add(struct buf *b, const char *name, const char *value) PC_WUR;

/* ---- end Parameters ---- */

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
/*
 * What an authorization request may be granted (AZ-10, OI-09): want
 * without offline_access unless allowed (the client's scope string) has
 * it and may_refresh (the client may use refresh tokens). *ok: every
 * token left is in allowed; then out gets them (scope_format). *refused
 * is the first token left that is not allowed (NULL when *ok; it points
 * into want). PC_ERR_INTERNAL when allowed does not parse.
 */
int scope_grantable(const char *allowed, bool may_refresh,
    const struct scope_set *want, bool *ok, struct buf *out,
    const char **refused) PC_WUR;

/* ---- end Scopes ---- */

/* ---- Redirect URIs (src/oauth/redirect_uri.c; AZ-01, AZ-04) ---- */

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

/* ---- end Redirect URIs ---- */

/* ---- Authorization requests (src/oauth/authorize_req.c; AZ-02..12) ---- */

#define AZ_CLIENT_ID_MAX 128
#define AZ_REDIRECT_URI_MAX 2048
#define AZ_STATE_MAX 2048
#define AZ_NONCE_MAX 512
#define AZ_HINT_MAX 512
#define AZ_RESOURCE_MAX 512 /* RESOURCE_URI_MAX: the aud it becomes */

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
	/* RFC 8707: the one resource the tokens are for; NULL: us. Only its
	 * shape is checked here; authz_begin() looks it up (TX-04). */
	const char *resource;
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
