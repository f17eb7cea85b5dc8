/*
 * id_token_hint verification (OIDC Core §3.1.2.1, OIDC RP-Initiated
 * Logout 1.0 §2; SECURITY.md OI-11, JW-06): the hint must be an ID token
 * we issued. Only the signature, the kind of token and who it is about
 * are checked; an expired hint is accepted (RP-Initiated Logout §2: "The
 * OP need not be the issuer of a currently valid ID Token"), so exp, iat
 * and nonce are not looked at.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "util/config.h"

/* The algorithms an ID token may carry (client_validate's list); never
 * none and never HS* (JW-01, JW-03). */
static const enum jose_alg id_algs[] = { JOSE_ALG_RS256, JOSE_ALG_ES256,
	JOSE_ALG_PS256, JOSE_ALG_EDDSA };

void
id_hint_clear(struct id_hint *h)
{
	free(h->sub);
	free(h->client_id);
	free(h->sid);
	memset(h, 0, sizeof(*h));
}

/* A non-empty string of at most max bytes without control characters. */
static const char *
str_ok(const json_t *v, size_t max)
{
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > max || strlen(s) != n)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return NULL;
	return s;
}

static const char *
claim_str(const json_t *o, const char *name, size_t max)
{
	return str_ok(json_object_get(o, name), max);
}

/* aud: one client id, as a string or an array of exactly one. */
static const char *
single_aud(const json_t *claims)
{
	const json_t *aud = json_object_get(claims, "aud");

	if (json_is_array(aud)) {
		if (json_array_size(aud) != 1)
			return NULL;
		aud = json_array_get(aud, 0);
	}
	return str_ok(aud, AZ_CLIENT_ID_MAX);
}

int
id_hint_verify(
    struct app *app, const char *hint, int64_t now, struct id_hint *out)
{
	struct signer_verify_opts o = { id_algs, PC_NELEM(id_algs), "JWT" };
	struct jws_verified v;
	struct store_client c;
	const char *iss, *sub, *aud, *sid;
	const json_t *at;
	size_t len;
	int r;

	memset(out, 0, sizeof(*out));
	if (hint == NULL || (len = strlen(hint)) == 0 || len > ID_HINT_MAX)
		return PC_ERR_INVALID;
	r = signer_verify_jwt(app->signer, hint, len, &o, now, &v);
	if (r != 0) {
		jws_verified_free(&v);
		return r == PC_ERR_VERIFY ? PC_ERR_VERIFY : PC_ERR_INVALID;
	}
	iss = claim_str(v.payload, "iss", 2048);
	sub = claim_str(v.payload, "sub", 255);
	aud = single_aud(v.payload);
	sid = claim_str(v.payload, "sid", 255);
	at = json_object_get(v.payload, "auth_time");
	if (iss == NULL || strcmp(iss, app->cfg->issuer) != 0 || sub == NULL ||
	    aud == NULL || (!client_id_valid(aud) && !client_id_is_url(aud)) ||
	    (json_object_get(v.payload, "sid") != NULL && sid == NULL) ||
	    (at != NULL && !json_is_integer(at))) {
		jws_verified_free(&v);
		return PC_ERR_INVALID;
	}
	memset(&c, 0, sizeof(c));
	r = store_client_get(app->db, aud, &c);
	store_client_clear(&c);
	if (r != 0) {
		jws_verified_free(&v);
		return r == PC_ERR_NOT_FOUND ? PC_ERR_INVALID : PC_ERR_STORE;
	}
	out->sub = xstrdup(sub);
	out->client_id = xstrdup(aud);
	out->sid = sid != NULL ? xstrdup(sid) : NULL;
	out->auth_time = at != NULL ? (int64_t)json_integer_value(at) : 0;
	jws_verified_free(&v);
	return 0;
}
