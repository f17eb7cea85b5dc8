/*
 * The access-token check behind /userinfo, /introspect and /revoke (RFC
 * 6750, RFC 9068 §4; SECURITY.md JW-01..08, TK-01, TK-12, TK-13, IR-06,
 * RT-05), and the read-only look at a refresh token that introspection
 * and revocation need.
 *
 * An access token is alive only while every check passes: the signature
 * (ES256 by one of our published keys, typ at+jwt: the JWS layer refuses
 * alg none, HMAC, unknown kids and token-supplied keys), the claims (iss,
 * aud: the issuer at /userinfo, the caller's resource or any single one at
 * /introspect and /revoke (TX-04); exp with no leeway, a plausible iat),
 * the deny-list of revoked jtis, for a user grant its token family
 * (revoking the family kills every access token issued from it), and for
 * a machine principal its liveness (src/machine/live.c: a disabled,
 * expired or deleted service account, key or trust kills its tokens at
 * once). Nothing about a refused token is told to the caller beyond
 * PC_ERR_VERIFY.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "jose/jose.h"
#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/config.h"

#define CLAIM_MAX 512 /* bytes of one string claim we keep */

void
bearer_clear(struct bearer *b)
{
	free(b->sub);
	free(b->client_id);
	free(b->scope);
	free(b->jti);
	free(b->gid);
	free(b->aud);
	free(b->cnf_jkt);
	json_decref(b->act);
	free(b->act_root);
	free(b->may_act);
	store_family_clear(&b->family);
	memset(b, 0, sizeof(*b));
}

/* A non-empty string claim of at most CLAIM_MAX bytes, copied. */
static int
claim_str(const json_t *c, const char *name, bool required, char **out)
{
	const json_t *v = json_object_get(c, name);
	size_t n;

	*out = NULL;
	if (v == NULL)
		return required ? PC_ERR_VERIFY : 0;
	if (!json_is_string(v))
		return PC_ERR_VERIFY;
	n = json_string_length(v);
	if (n == 0 || n > CLAIM_MAX || memchr(json_string_value(v), '\0', n))
		return PC_ERR_VERIFY;
	*out = xstrndup(json_string_value(v), n);
	return 0;
}

/* An integer claim (NumericDate); absent is 0 unless required. */
static int
claim_int(const json_t *c, const char *name, bool required, int64_t *out)
{
	const json_t *v = json_object_get(c, name);

	*out = 0;
	if (v == NULL)
		return required ? PC_ERR_VERIFY : 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return PC_ERR_VERIFY;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* Claim name, when present, is an object whose member m is a string
 * claim (cnf.jkt, may_act.sub); copied into *out. */
static int
claim_member(const json_t *c, const char *name, const char *m, char **out)
{
	const json_t *v = json_object_get(c, name);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_object(v))
		return PC_ERR_VERIFY;
	return claim_str(v, m, true, out);
}

/*
 * The act chain (RFC 8693 §4.1): objects nested through "act", each with
 * a string sub, at most BEARER_ACT_MAX deep. out->act keeps the claim,
 * act_depth its depth, act_root the innermost sub.
 */
#define BEARER_ACT_MAX 16
static int
claim_act(const json_t *c, struct bearer *out)
{
	const json_t *a = json_object_get(c, "act"), *sub = NULL;
	int depth = 0;

	if (a == NULL)
		return 0;
	for (const json_t *p = a; p != NULL; p = json_object_get(p, "act")) {
		if (!json_is_object(p) || ++depth > BEARER_ACT_MAX)
			return PC_ERR_VERIFY;
		sub = json_object_get(p, "sub");
		if (!json_is_string(sub) || json_string_length(sub) == 0 ||
		    json_string_length(sub) > CLAIM_MAX)
			return PC_ERR_VERIFY;
	}
	out->act = json_deep_copy(a);
	if (out->act == NULL)
		return PC_ERR_INTERNAL;
	out->act_depth = depth;
	out->act_root =
	    xstrndup(json_string_value(sub), json_string_length(sub));
	return 0;
}

/* aud is the issuer, or an array holding it (RFC 7519 §4.1.3). */
static bool
aud_has(const json_t *aud, const char *want)
{
	const json_t *v;
	size_t i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v)
	{
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), want) == 0)
			return true;
	}
	return false;
}

/*
 * The claims of a verified token into out; PC_ERR_VERIFY if any is off.
 * aud: the audience the token must be for (TX-04); NULL: any single one
 * (then out->aud says which).
 */
static int
check_claims(const struct config *cfg, const json_t *c, const char *aud,
    int64_t now, struct bearer *out)
{
	const json_t *iss = json_object_get(c, "iss");
	int r;

	if (!json_is_string(iss) ||
	    strcmp(json_string_value(iss), cfg->issuer) != 0)
		return PC_ERR_VERIFY;
	if (aud != NULL ? !aud_has(json_object_get(c, "aud"), aud)
			: !json_is_string(json_object_get(c, "aud")))
		return PC_ERR_VERIFY;
	if (json_is_string(json_object_get(c, "aud")) &&
	    (r = claim_str(c, "aud", true, &out->aud)) != 0)
		return r;
	if ((r = claim_int(c, "exp", true, &out->exp)) != 0 ||
	    (r = claim_int(c, "iat", true, &out->iat)) != 0 ||
	    (r = claim_int(c, "auth_time", false, &out->auth_time)) != 0)
		return r;
	/* JW-04, TK-13: dead at exp, no leeway for our own tokens. */
	if (now >= out->exp || out->iat > now + BEARER_IAT_LEEWAY ||
	    out->iat > out->exp)
		return PC_ERR_VERIFY;
	if ((r = claim_str(c, "sub", true, &out->sub)) != 0 ||
	    (r = claim_str(c, "client_id", true, &out->client_id)) != 0 ||
	    (r = claim_str(c, "jti", true, &out->jti)) != 0 ||
	    (r = claim_str(c, "gid", false, &out->gid)) != 0 ||
	    (r = claim_member(c, "cnf", "jkt", &out->cnf_jkt)) != 0 ||
	    (r = claim_member(c, "may_act", "sub", &out->may_act)) != 0 ||
	    (r = claim_act(c, out)) != 0)
		return r;
	/* scope may be "" (client_credentials without one). */
	{
		const json_t *s = json_object_get(c, "scope");

		if (s == NULL)
			out->scope = xstrdup("");
		else if (!json_is_string(s) ||
		    json_string_length(s) > SCOPE_STRING_MAX)
			return PC_ERR_VERIFY;
		else
			out->scope = xstrndup(
			    json_string_value(s), json_string_length(s));
	}
	/* TK-12: a user grant never has sub == client_id. */
	if (out->gid != NULL && strcmp(out->sub, out->client_id) == 0)
		return PC_ERR_VERIFY;
	return 0;
}

/* The grant the token came from is still alive (TK-01, IR-06, RT-05). */
static int
check_family(struct db *db, struct bearer *b, int64_t now)
{
	struct store_family f;
	int r;

	r = store_family_get(db, b->gid, &f);
	if (r == PC_ERR_NOT_FOUND)
		return PC_ERR_VERIFY;
	if (r != 0)
		return PC_ERR_STORE;
	r = 0;
	/* A delegated token's grant is its first actor's (TX-03): the chain
	 * dies with the user's grant to it, wherever it went since. */
	if (f.revoked_at != 0 || f.expires_at <= now || f.client_id == NULL ||
	    strcmp(f.client_id,
		b->act_root != NULL ? b->act_root : b->client_id) != 0 ||
	    f.user_id == NULL || strcmp(f.user_id, b->sub) != 0)
		r = PC_ERR_VERIFY;
	if (r == 0) {
		/* Kept for the caller (the exchange reads its grant). */
		store_family_clear(&b->family);
		b->family = f;
	} else
		store_family_clear(&f);
	return r;
}

/*
 * TX-01, TX-03: a delegated token (act) is alive only while every actor
 * of its chain is a client that exists and is not disabled (through the
 * client cache: one version read, no store read for cached clients), and
 * its holder is the outermost actor (we mint them so; anything else is
 * not ours). Disabling or deleting an agent anywhere in a chain kills
 * every token after it at the next request.
 */
static int
check_chain(struct app *app, const struct bearer *b)
{
	struct store_versions ver;
	const json_t *act = b->act;
	int r = 0;

	if (b->gid == NULL || !json_is_object(act) ||
	    !json_is_string(json_object_get(act, "sub")) ||
	    strcmp(json_string_value(json_object_get(act, "sub")),
		b->client_id) != 0)
		return PC_ERR_VERIFY;
	if (client_cache_versions(app->client_cache, app->db, &ver) != 0)
		return PC_ERR_STORE;
	for (; r == 0 && json_is_object(act);
	     act = json_object_get(act, "act")) {
		struct store_client_secret sec[STORE_CLIENT_SECRETS_MAX];
		struct store_client c;
		size_t n = 0;
		const json_t *sub = json_object_get(act, "sub");

		if (!json_is_string(sub))
			return PC_ERR_VERIFY;
		r = client_cache_get(app->client_cache, app->db, &ver,
		    json_string_value(sub), &c, sec, &n);
		sodium_memzero(sec, sizeof(sec));
		if (r == PC_ERR_NOT_FOUND)
			return PC_ERR_VERIFY;
		if (r != 0)
			return PC_ERR_STORE;
		if (c.disabled_at != 0)
			r = PC_ERR_VERIFY;
		store_client_clear(&c);
	}
	return r;
}

/*
 * SS-08 for machines: a token whose principal is a service account, or
 * that was obtained through an API key or a workload trust, lives only
 * while they do (machine_principal_live: one indexed read).
 */
static bool
machine_token(const struct bearer *b)
{
	enum principal_kind c = principal_kind(b->client_id);

	return principal_kind(b->sub) == PRINCIPAL_SERVICE_ACCOUNT ||
	    c == PRINCIPAL_API_KEY || c == PRINCIPAL_WORKLOAD;
}

int
bearer_verify(struct app *app, const char *token, size_t len, int64_t now,
    struct bearer *out)
{
	return bearer_verify_aud(app, token, len, app->cfg->issuer, now, out);
}

int
bearer_verify_aud(struct app *app, const char *token, size_t len,
    const char *aud, int64_t now, struct bearer *out)
{
	static const enum jose_alg algs[] = { JOSE_ALG_ES256 };
	const struct signer_verify_opts o = { algs, PC_NELEM(algs), "at+jwt" };
	struct jws_verified v;
	bool revoked = true;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&v, 0, sizeof(v));
	if (token == NULL || len == 0 || len > BEARER_MAX_LEN)
		return PC_ERR_VERIFY;
	if (signer_verify_jwt(app->signer, token, len, &o, now, &v) != 0) {
		r = PC_ERR_VERIFY;
		goto out;
	}
	if ((r = check_claims(app->cfg, v.payload, aud, now, out)) != 0)
		goto out;
	if (store_access_revoked(app->db, out->jti, &revoked) != 0) {
		r = PC_ERR_STORE;
		goto out;
	}
	if (revoked) {
		r = PC_ERR_VERIFY;
		goto out;
	}
	if (out->act != NULL && (r = check_chain(app, out)) != 0)
		goto out;
	if (out->gid != NULL && (r = check_family(app->db, out, now)) != 0)
		goto out;
	if (machine_token(out) &&
	    (r = machine_token_live(
		 app->db, out->sub, out->client_id, out->iat, now)) != 0)
		goto out;
	r = 0;
out:
	jws_verified_free(&v);
	if (r != 0)
		bearer_clear(out);
	return r;
}

int
bearer_refresh_lookup(
    struct db *db, const char *token, int64_t now, struct bearer_refresh *out)
{
	struct store_refresh t;
	char hash[PC_SHA256_HEX_LEN + 1];
	int r;

	memset(out, 0, sizeof(*out));
	if (!refresh_token_hash(token, hash))
		return PC_ERR_NOT_FOUND;
	r = store_refresh_get(db, hash, &t);
	sodium_memzero(hash, sizeof(hash));
	if (r == PC_ERR_NOT_FOUND)
		return r;
	if (r != 0)
		return PC_ERR_STORE;
	r = store_family_get(db, t.family_id, &out->family);
	if (r == PC_ERR_NOT_FOUND)
		return r;
	if (r != 0)
		return PC_ERR_STORE;
	out->iat = t.created_at;
	out->exp = t.expires_at < out->family.expires_at
	    ? t.expires_at
	    : out->family.expires_at;
	out->active =
	    t.used_at == 0 && now < out->exp && out->family.revoked_at == 0;
	return 0;
}
