/*
 * Parsing an authorization request (issue 4, SECURITY.md AZ-02, AZ-05..09,
 * AZ-12) from its decoded parameters, before any client lookup. The order
 * matters, because it decides whether an error may be sent back to the
 * client at all:
 *
 * 1. client_id and redirect_uri: missing, empty or repeated gives
 *    AZ_FAIL_PAGE, an error page; nothing may be redirected before the
 *    caller has matched redirect_uri against the client (AZ-01, AZ-02).
 * 2. Everything else gives AZ_FAIL_REDIRECT with an RFC 6749 §4.1.2.1
 *    error code; the caller redirects only after the match. state is
 *    echoed byte-for-byte, unless it was itself repeated (then none).
 *
 * Unknown parameters are ignored (RFC 6749 §3.1). Values point into the
 * caller's kvlist.
 */
#include <string.h>

#include "oauth/proto.h"

static enum az_fail
fail(struct az_request *a, enum az_fail f, const char *error,
    const char *description)
{
	a->error = error;
	a->error_description = description;
	return f;
}

static bool
printable_ascii(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static int
parse_prompt(const char *s, unsigned *out)
{
	const char *p = s, *e;

	*out = 0;
	while (*p != '\0') {
		size_t n;

		e = strchr(p, ' ');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 4 && memcmp(p, "none", 4) == 0)
			*out |= AZ_PROMPT_NONE;
		else if (n == 5 && memcmp(p, "login", 5) == 0)
			*out |= AZ_PROMPT_LOGIN;
		else if (n == 7 && memcmp(p, "consent", 7) == 0)
			*out |= AZ_PROMPT_CONSENT;
		else if (n == 14 && memcmp(p, "select_account", 14) == 0)
			*out |= AZ_PROMPT_SELECT_ACCOUNT;
		else
			return PC_ERR_INVALID;
		if (e == NULL)
			break;
		p = e + 1;
		if (*p == '\0')
			return PC_ERR_INVALID;
	}
	/* OIDC Core §3.1.2.1: none with anything else is an error. */
	if ((*out & AZ_PROMPT_NONE) != 0 && *out != AZ_PROMPT_NONE)
		return PC_ERR_INVALID;
	return 0;
}

void
az_request_clear(struct az_request *a)
{
	scope_set_free(&a->scope);
	memset(a, 0, sizeof(*a));
}

enum az_fail
az_parse(const struct kvlist *q, struct az_request *a)
{
	const char *rt = NULL, *method = NULL, *prompt = NULL, *max_age = NULL;
	const char *scope = NULL, *mode = NULL, *req = NULL, *req_uri = NULL;

	memset(a, 0, sizeof(*a));
	a->max_age = -1;

	/* 1. Who to answer, and where: an error page until both are known. */
	if (oauth_field(q, "client_id", &a->client_id) != 0)
		return fail(a, AZ_FAIL_PAGE, "invalid_request",
		    "client_id is repeated.");
	if (oauth_field(q, "redirect_uri", &a->redirect_uri) != 0)
		return fail(a, AZ_FAIL_PAGE, "invalid_request",
		    "redirect_uri is repeated.");
	if (a->client_id == NULL || a->client_id[0] == '\0')
		return fail(a, AZ_FAIL_PAGE, "invalid_request",
		    "client_id is missing.");
	if (!printable_ascii(a->client_id, AZ_CLIENT_ID_MAX))
		return fail(a, AZ_FAIL_PAGE, "invalid_client",
		    "client_id is not valid.");
	/* AZ-02: always required, even with one registered URI. */
	if (a->redirect_uri == NULL || a->redirect_uri[0] == '\0')
		return fail(a, AZ_FAIL_PAGE, "invalid_request",
		    "redirect_uri is missing.");
	if (strlen(a->redirect_uri) > AZ_REDIRECT_URI_MAX)
		return fail(a, AZ_FAIL_PAGE, "invalid_request",
		    "redirect_uri is too long.");

	/* 2. From here on, errors go back to the (matched) redirect_uri. */
	if (oauth_field(q, "state", &a->state) != 0) {
		a->state = NULL;
		return fail(a, AZ_FAIL_REDIRECT, "invalid_request",
		    "state is repeated.");
	}
	if (a->state != NULL && strlen(a->state) > AZ_STATE_MAX) {
		a->state = NULL;
		return fail(a, AZ_FAIL_REDIRECT, "invalid_request",
		    "state is too long.");
	}
	/* RFC 8707 §2: a token is minted for one audience here, so one
	 * resource value (TX-04); several are invalid_target. */
	if (oauth_field(q, "resource", &a->resource) != 0)
		return fail(a, AZ_FAIL_REDIRECT, "invalid_target",
		    "Name exactly one resource: a token is minted for one "
		    "audience.");
	if (a->resource != NULL &&
	    (a->resource[0] == '\0' ||
		!printable_ascii(a->resource, AZ_RESOURCE_MAX)))
		return fail(a, AZ_FAIL_REDIRECT, "invalid_target",
		    "The resource is not a registered resource.");
	static const char *const singles[] = { "response_type", "scope",
		"nonce", "code_challenge", "code_challenge_method", "prompt",
		"max_age", "login_hint", "id_token_hint", "response_mode",
		"request", "request_uri", "acr_values", "ui_locales", "display",
		"claims" };
	for (size_t i = 0; i < PC_NELEM(singles); i++) {
		const char *v;

		if (oauth_field(q, singles[i], &v) != 0)
			return fail(a, AZ_FAIL_REDIRECT, "invalid_request",
			    "A parameter is repeated.");
	}
	(void)oauth_field(q, "response_type", &rt);
	(void)oauth_field(q, "request", &req);
	(void)oauth_field(q, "request_uri", &req_uri);
	(void)oauth_field(q, "response_mode", &mode);
	if (req != NULL)
		return fail(a, AZ_FAIL_REDIRECT, "request_not_supported",
		    "Request objects are not supported.");
	if (req_uri != NULL)
		return fail(a, AZ_FAIL_REDIRECT, "request_uri_not_supported",
		    "request_uri is not supported.");
	if (rt == NULL || rt[0] == '\0')
		return fail(a, AZ_FAIL_REDIRECT, "invalid_request",
		    "response_type is missing.");
	if (strcmp(rt, "code") != 0)
		return fail(a, AZ_FAIL_REDIRECT, "unsupported_response_type",
		    "Only response_type=code is supported.");
	if (mode != NULL && strcmp(mode, "query") != 0)
		return fail(a, AZ_FAIL_REDIRECT, "invalid_request",
		    "Only response_mode=query is supported.");

	(void)oauth_field(q, "scope", &scope);
	if (scope_parse(scope != NULL ? scope : "", &a->scope) != 0)
		return fail(a, AZ_FAIL_REDIRECT, "invalid_scope",
		    "scope is malformed.");

	/* AZ-06, AZ-07: PKCE S256 for every client. */
	(void)oauth_field(q, "code_challenge", &a->code_challenge);
	(void)oauth_field(q, "code_challenge_method", &method);
	if (a->code_challenge == NULL)
		return fail(a, AZ_FAIL_REDIRECT, "invalid_request",
		    "code challenge required.");
	if (!pkce_method_ok(method))
		return fail(a, AZ_FAIL_REDIRECT, "invalid_request",
		    "transform algorithm not supported: use "
		    "code_challenge_method=S256.");
	if (!pkce_challenge_valid(a->code_challenge))
		return fail(a, AZ_FAIL_REDIRECT, "invalid_request",
		    "code_challenge is malformed.");

	(void)oauth_field(q, "nonce", &a->nonce);
	if (a->nonce != NULL && strlen(a->nonce) > AZ_NONCE_MAX)
		return fail(a, AZ_FAIL_REDIRECT, "invalid_request",
		    "nonce is too long.");
	(void)oauth_field(q, "prompt", &prompt);
	if (prompt != NULL && parse_prompt(prompt, &a->prompt) != 0)
		return fail(a, AZ_FAIL_REDIRECT, "invalid_request",
		    "prompt is not valid.");
	(void)oauth_field(q, "max_age", &max_age);
	if (max_age != NULL &&
	    str_to_int64(str_from(max_age), 0, INT32_MAX, &a->max_age) != 0)
		return fail(a, AZ_FAIL_REDIRECT, "invalid_request",
		    "max_age is not valid.");
	/* Issue 16: acr_values is voluntary (OIDC Core §3.1.2.1); values
	 * we do not issue are ignored by authz_begin(). */
	(void)oauth_field(q, "acr_values", &a->acr_values);
	if (a->acr_values != NULL &&
	    !printable_ascii(a->acr_values, AZ_ACR_VALUES_MAX))
		return fail(a, AZ_FAIL_REDIRECT, "invalid_request",
		    "acr_values is not valid.");
	(void)oauth_field(q, "login_hint", &a->login_hint);
	(void)oauth_field(q, "id_token_hint", &a->id_token_hint);
	if (a->login_hint != NULL && strlen(a->login_hint) > AZ_HINT_MAX)
		a->login_hint = NULL; /* a hint, not a requirement */
	return AZ_OK;
}
