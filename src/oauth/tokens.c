/*
 * Minting the JWTs the token endpoint will hand out (issue 4):
 *
 * - access tokens as RFC 9068 JWTs: header typ "at+jwt", ES256; claims iss,
 *   sub, aud, client_id, scope, iat, exp (access_token_ttl), jti (128
 *   random bits), and auth_time / acr / amr when known;
 * - ID tokens (OIDC Core §2): RS256 unless the client registered another
 *   alg; iss, sub, aud (the client), iat, exp (id_token_ttl), auth_time,
 *   nonce (when the request had one), acr, amr, sid, at_hash.
 *
 * Every time comes from the caller's single now (SS-10). The signer picks
 * the active key of the algorithm; verifiers use the published JWKS.
 */
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "jose/jose.h"
#include "oauth/oauth.h"
#include "util/config.h"

void
token_jti_new(char out[TOKEN_JTI_LEN + 1])
{
	uint8_t raw[16];

	random_bytes(raw, sizeof(raw));
	b64url_encode(raw, sizeof(raw), out);
	sodium_memzero(raw, sizeof(raw));
}

int
token_at_hash(enum jose_alg alg, const char *access_token, char out[64])
{
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	const EVP_MD *md;

	out[0] = '\0';
	switch (alg) {
	case JOSE_ALG_ES256:
	case JOSE_ALG_RS256:
	case JOSE_ALG_PS256: md = EVP_sha256(); break;
	case JOSE_ALG_EDDSA:
		/* Ed25519: the hash of the curve's signature scheme. */
		md = EVP_sha512();
		break;
	default: return PC_ERR_INVALID;
	}
	if (EVP_Digest(
		access_token, strlen(access_token), digest, &n, md, NULL) != 1)
		return PC_ERR_INTERNAL;
	/* The left-most half, base64url (OIDC Core §3.1.3.6). */
	b64url_encode(digest, n / 2, out);
	return 0;
}

/* amr "pwd otp" -> ["pwd", "otp"]. */
static json_t *
amr_array(const char *amr)
{
	json_t *a = json_array();
	const char *p = amr, *e;

	while (p != NULL && *p != '\0') {
		e = strchr(p, ' ');
		if (e == NULL)
			e = p + strlen(p);
		if (e > p)
			json_array_append_new(
			    a, json_stringn(p, (size_t)(e - p)));
		p = *e == ' ' ? e + 1 : e;
	}
	return a;
}

static void
set_str(json_t *o, const char *k, const char *v)
{
	if (v != NULL && v[0] != '\0')
		json_object_set_new(o, k, json_string(v));
}

/* ,"k":"v" when v is set (set_str's rule for the JSON writer). */
static int
put_str(struct buf *b, const char *k, const char *v)
{
	int r;

	if (v == NULL || v[0] == '\0')
		return 0;
	if ((r = jose_json_put_member(b, false, k)) != 0)
		return r;
	return jose_json_put_str(b, v, strlen(v));
}

static int
put_int(struct buf *b, const char *k, int64_t v)
{
	int r;

	if ((r = jose_json_put_member(b, false, k)) != 0)
		return r;
	return jose_json_put_int(b, v);
}

/* ,"amr":["pwd","otp"] from "pwd otp". */
static int
put_amr(struct buf *b, const char *amr)
{
	const char *p = amr, *e;
	bool first = true;
	int r;

	if ((r = jose_json_put_member(b, false, "amr")) != 0 ||
	    (r = buf_putc(b, '[')) != 0)
		return r;
	while (*p != '\0') {
		e = strchr(p, ' ');
		if (e == NULL)
			e = p + strlen(p);
		if (e > p) {
			if ((!first && (r = buf_putc(b, ',')) != 0) ||
			    (r = jose_json_put_str(b, p, (size_t)(e - p))) != 0)
				return r;
			first = false;
		}
		p = *e == ' ' ? e + 1 : e;
	}
	return buf_putc(b, ']');
}

/* ,"k":{"m":"v"} (cnf.jkt, may_act.sub; issue 15); nothing for v NULL. */
static int
put_object(struct buf *b, const char *k, const char *m, const char *v)
{
	int r;

	if (v == NULL)
		return 0;
	if ((r = jose_json_put_member(b, false, k)) != 0 ||
	    (r = buf_putc(b, '{')) != 0 ||
	    (r = jose_json_put_member(b, true, m)) != 0 ||
	    (r = jose_json_put_str(b, v, strlen(v))) != 0)
		return r;
	return buf_putc(b, '}');
}

/* ,"k":<v as compact JSON> (the act chain: an object of our own claims). */
static int
put_json(struct buf *b, const char *k, const json_t *v)
{
	char *t;
	int r;

	if (!json_is_object(v))
		return PC_ERR_INVALID;
	if ((r = jose_json_put_member(b, false, k)) != 0)
		return r;
	t = json_dumps(v, JSON_COMPACT);
	if (t == NULL)
		return PC_ERR_INTERNAL;
	r = buf_puts(b, t);
	free(t);
	return r;
}

/* ,"groups":["a","b"] (issue 14: group names, the "groups" scope). */
static int
put_groups(struct buf *b, char *const *v, size_t n)
{
	int r;

	if ((r = jose_json_put_member(b, false, "groups")) != 0 ||
	    (r = buf_putc(b, '[')) != 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if ((i > 0 && (r = buf_putc(b, ',')) != 0) ||
		    (r = jose_json_put_str(b, v[i], strlen(v[i]))) != 0)
			return r;
	return buf_putc(b, ']');
}

/*
 * The claims, written in place rather than built as a jansson object and
 * serialised (issue 13): the same members in the same order, every string
 * escaped by the JSON writer, which refuses what jansson would refuse.
 */
static int
access_claims(struct buf *b, const struct config *cfg,
    const struct token_access_in *in, int64_t now, const char *jti)
{
	int r;

	if ((r = buf_putc(b, '{')) != 0 ||
	    (r = jose_json_put_member(b, true, "iss")) != 0 ||
	    (r = jose_json_put_str(b, cfg->issuer, strlen(cfg->issuer))) != 0 ||
	    (r = put_str(
		 b, "sub", in->sub != NULL ? in->sub : in->client_id)) != 0 ||
	    (r = put_str(b, "aud", in->aud)) != 0 ||
	    (r = put_str(b, "client_id", in->client_id)) != 0 ||
	    (r = jose_json_put_member(b, false, "scope")) != 0 ||
	    (r = jose_json_put_str(b, in->scope, strlen(in->scope))) != 0 ||
	    (r = put_int(b, "iat", now)) != 0 ||
	    (r = put_int(b, "exp",
		 now + (in->ttl > 0 ? in->ttl : cfg->access_token_ttl))) != 0 ||
	    (r = put_str(b, "jti", jti)) != 0)
		return r;
	if (in->auth_time > 0 &&
	    (r = put_int(b, "auth_time", in->auth_time)) != 0)
		return r;
	if ((r = put_str(b, "acr", in->acr)) != 0)
		return r;
	if (in->amr != NULL && in->amr[0] != '\0' &&
	    (r = put_amr(b, in->amr)) != 0)
		return r;
	if ((r = put_str(b, "gid", in->grant_id)) != 0)
		return r;
	if (in->groups != NULL &&
	    (r = put_groups(b, in->groups, in->ngroups)) != 0)
		return r;
	if ((r = put_object(b, "cnf", "jkt", in->cnf_jkt)) != 0 ||
	    (r = put_object(b, "may_act", "sub", in->may_act)) != 0)
		return r;
	if (in->act != NULL && (r = put_json(b, "act", in->act)) != 0)
		return r;
	return buf_putc(b, '}');
}

int
token_mint_access(struct signer *s, const struct config *cfg,
    const struct token_access_in *in, int64_t now, char **jwt,
    char jti[TOKEN_JTI_LEN + 1])
{
	struct buf c;
	int r;

	*jwt = NULL;
	if (in->client_id == NULL || in->aud == NULL || in->scope == NULL ||
	    cfg->issuer == NULL)
		return PC_ERR_INVALID;
	if (in->jti == NULL)
		token_jti_new(jti);
	else if (strlen(in->jti) == TOKEN_JTI_LEN)
		memcpy(jti, in->jti, TOKEN_JTI_LEN + 1);
	else
		return PC_ERR_INVALID;
	buf_init(&c, 4 * JWS_MAX_LEN);
	if ((r = buf_reserve(&c, 512)) == 0 &&
	    (r = access_claims(&c, cfg, in, now, jti)) == 0)
		r = signer_sign_jwt_raw(s, JOSE_ALG_ES256, "at+jwt",
		    (const char *)c.p, c.len, now, jwt);
	buf_free(&c);
	return r;
}

int
token_mint_id(struct signer *s, const struct config *cfg,
    const struct token_id_in *in, int64_t now, char **jwt)
{
	json_t *c;
	char at_hash[64];
	int r;

	*jwt = NULL;
	if (in->sub == NULL || in->client_id == NULL ||
	    in->alg == JOSE_ALG_INVALID)
		return PC_ERR_INVALID;
	c = json_object();
	set_str(c, "iss", cfg->issuer);
	set_str(c, "sub", in->sub);
	set_str(c, "aud", in->client_id);
	json_object_set_new(c, "iat", json_integer(now));
	json_object_set_new(c, "exp", json_integer(now + cfg->id_token_ttl));
	if (in->auth_time > 0)
		json_object_set_new(
		    c, "auth_time", json_integer(in->auth_time));
	set_str(c, "nonce", in->nonce);
	set_str(c, "acr", in->acr);
	if (in->amr != NULL && in->amr[0] != '\0')
		json_object_set_new(c, "amr", amr_array(in->amr));
	set_str(c, "sid", in->sid);
	if (in->access_token != NULL) {
		if ((r = token_at_hash(in->alg, in->access_token, at_hash)) !=
		    0) {
			json_decref(c);
			return r;
		}
		json_object_set_new(c, "at_hash", json_string(at_hash));
	}
	for (size_t i = 0; in->extra != NULL && i < in->nextra; i++)
		set_str(c, in->extra[i].name, in->extra[i].value);
	if (in->groups != NULL) {
		json_t *g = json_array();

		for (size_t i = 0; i < in->ngroups; i++)
			json_array_append_new(g, json_string(in->groups[i]));
		json_object_set_new(c, "groups", g);
	}
	r = signer_sign_jwt(s, in->alg, "JWT", c, now, jwt);
	json_decref(c);
	return r;
}
