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
/* Adds the scopes of the string str to out, dropping what is there or
 * does not fit (SCOPE_MAX); a malformed str adds nothing. */
void scope_set_union(struct scope_set *out, const char *str);
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
#define AZ_ACR_VALUES_MAX 512

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
	/* Not prompt values: the least acr that acr_values asked for (OIDC
	 * Core §3.1.2.1, voluntary), kept with the saved request (issue 16,
	 * oauth/authz.c). */
	AZ_ACR_MFA = 1 << 8,
	AZ_ACR_PHR = 1 << 9,
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
	const char *acr_values; /* NULL: none; space-separated (issue 16) */
	/* RFC 8707: the one resource the tokens are for; NULL: us. Only its
	 * shape is checked here; authz_begin() looks it up (TX-04). */
	const char *resource;
	struct scope_set scope;
	unsigned prompt;	       /* enum az_prompt bits */
	int64_t max_age;	       /* -1: none */
	const char *error;	       /* when not AZ_OK: the RFC 6749 code */
	const char *error_description; /* ASCII, for the page or redirect */
	/* Set by the caller after az_parse(): the parameters are a pushed
	 * request's (RFC 9126, oauth/par.c), so par_required is met. */
	bool par;
	const char *ip; /* the requester's address: set by the caller */
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

/* ---- Delegation policy (src/oauth/deleg_policy.c; RFC 8693, SECURITY.md
 * TX-01..03; issue 15) ---- */

#define DELEG_DEPTH_DEFAULT 3 /* delegation_max_depth's default */
#define DELEG_DEPTH_MAX 10    /* its upper bound */
#define DELEG_WHY_MAX (SCOPE_TOKEN_MAX + 160)

/* The verified subject token of an exchange, and the grant behind it. */
struct deleg_subject {
	const char *sub;	  /* the user */
	const char *client_id;	  /* the party it was issued to */
	const char *gid;	  /* the root grant; NULL: not a user grant */
	const char *grant_client; /* the client the user consented to */
	const char *may_act;	  /* may_act.sub; NULL: none */
	int act_depth;		  /* nested act objects (0: none) */
	const char *scope;	  /* "" when none */
	int64_t exp;		  /* the token's */
	int64_t grant_expires_at; /* the grant's end; 0: unknown */
	/* The resource the user granted (RFC 8707 in the code flow); NULL:
	 * the grant names none. */
	const char *grant_resource;
};

/* The authenticated client asking: the actor of the new token. */
struct deleg_actor {
	const char *client_id;
	const char *scopes;	  /* what it may ever have */
	bool is_agent;		  /* kind 'agent' */
	const char *resources;	  /* space-separated; NULL as "" */
	bool may_delegate;	  /* may hand off to another agent */
	bool allow_impersonation; /* may ask for a token without act */
	/* An agent's cap on the chains it takes part in (0: none at all);
	 * ignored for other clients (the setting alone). */
	int64_t max_delegation_depth;
};

enum deleg_target {
	DELEG_TARGET_RESOURCE,
	DELEG_TARGET_AGENT
};

/* What is asked for, and the limits that apply. */
struct deleg_request {
	enum deleg_target kind;
	const char *target;	   /* the resource URI or the agent's id */
	const char *target_scopes; /* the resource's, or the agent's own */
	const char *scope;	   /* requested; NULL or "": all allowed */
	bool impersonate;	   /* no act (TX-01: policy must allow it) */
	int64_t max_depth;	   /* setting delegation_max_depth */
	/* The smallest max_delegation_depth of the agents already in the
	 * subject's chain; -1: none of them is an agent. */
	int64_t chain_cap;
	int64_t ttl; /* s: exchange_token_ttl */
	int64_t now;
};

struct deleg_decision {
	const char *error; /* NULL: allowed; else the OAuth error code */
	const char *why;   /* error_description (points into buf or static) */
	char buf[DELEG_WHY_MAX];
	int depth;   /* act nesting of the new token; 0: impersonation */
	int64_t ttl; /* s the new token lives */
};

/*
 * The token-exchange policy of issue 15, pure: whether the actor may
 * exchange the subject for the target, and for what. In this order:
 * the subject is a user's grant (gid); TX-02: its may_act names the
 * actor, or it carries no act and is the user's own grant to the actor
 * (issued to it, its grant's client); TX-01: impersonation only for a
 * client allowed it, and only from the user's own grant, never for a
 * hand-off; a hand-off to another agent only by an agent that may
 * delegate, never to itself; a grant for one resource reaches only that
 * one; an agent reaches only the resources it lists (a plain client with a list too; without one, any); TX-03: the
 * new depth (subject's + 1) within min(max_depth, the actor's (an
 * agent's) and the chain's agents' max_delegation_depth); the scope within subject ∩ actor ∩
 * target (offline_access never: no refresh tokens here), the requested
 * one all of it, or all that is left, which must not be empty; the
 * lifetime min(ttl, the subject's and the grant's remaining life), which
 * must be positive. 0 with out->error NULL and granted filled (its
 * tokens, space-separated), else out->error/why say why (granted is
 * then untouched); PC_ERR_INVALID only for a malformed stored scope or
 * output that does not fit (out->error "server_error").
 */
int deleg_decide(const struct deleg_subject *s, const struct deleg_actor *a,
    const struct deleg_request *q, struct deleg_decision *out,
    struct buf *granted) PC_WUR;

/* ---- end Delegation policy ---- */

#endif
