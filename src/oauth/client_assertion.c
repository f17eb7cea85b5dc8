/*
 * private_key_jwt client assertions (RFC 7523 §2.2, §3; OIDC Core §9;
 * SECURITY.md TK-09, JW-01..08).
 *
 * client_assertion_subject() reads the payload WITHOUT trusting it, only
 * to learn which client's keys to try. client_assertion_verify() then
 * verifies the JWS with the keys the client registered (one algorithm per
 * key) and checks the claims:
 *
 *   - alg ES256, RS256 or PS256 (SECURITY.md JW-02's allowlist for client
 *     assertions), the key's own (never none, never
 *     HS*: they are no jose_alg at all); jwk, jku, x5u, x5c, crit refused
 *     by jws_verify_compact (JW-01..03, JW-07, JW-08);
 *   - typ absent, "JWT" or "client-authentication+jwt"
 *     (draft-ietf-oauth-rfc7523bis); any other kind (at+jwt, dpop+jwt,
 *     logout+jwt, ...) is refused (JW-06);
 *   - iss = sub = the client id;
 *   - aud the issuer identifier as a single string, exactly (TK-09: the
 *     sole audience is the issuer string, OIDC Core §9 errata; RFC
 *     7523bis; the OIDF test "array-as-audience-fails"): the token
 *     endpoint URL and every array, even [issuer], are refused;
 *   - exp required, now < exp + leeway, exp <= now + lifetime + leeway;
 *     iat, if given, not in the future beyond the leeway and exp - iat
 *     <= lifetime; nbf, if given, <= now + leeway (JW-04);
 *   - jti required, 1..256 bytes, unseen for this client: its SHA-256 is
 *     inserted atomically with the time until which the assertion could
 *     be accepted; a second use is a replay.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "jose/jose.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"

/* Clock skew allowed for client-made JWTs (JW-04: at most 60 s). */
#define ASSERTION_LEEWAY 30
/* The longest assertion accepted: exp - iat, and exp - now (TK-09). */
#define ASSERTION_MAX_LIFETIME 300
#define ASSERTION_JTI_MAX 256
#define ASSERTION_PAYLOAD_DEPTH 8
/* NumericDate bounds: well inside int64_t and double precision. */

static const enum jose_alg assertion_algs[] = { JOSE_ALG_ES256, JOSE_ALG_RS256,
	JOSE_ALG_PS256 };

/* The payload segment of a compact JWS, decoded, parsed, not verified. */
static int
payload_untrusted(const char *assertion, json_t **out)
{
	const char *p1, *p2;
	size_t len, seg_len, n = 0;
	uint8_t *raw = NULL;
	int r = PC_ERR_INVALID;

	*out = NULL;
	if (assertion == NULL)
		return PC_ERR_INVALID;
	len = strnlen(assertion, JWS_MAX_LEN + 1);
	if (len > JWS_MAX_LEN)
		return PC_ERR_TOO_LARGE;
	if ((p1 = memchr(assertion, '.', len)) == NULL)
		return PC_ERR_INVALID;
	p1++;
	if ((p2 = memchr(p1, '.', len - (size_t)(p1 - assertion))) == NULL)
		return PC_ERR_INVALID;
	seg_len = (size_t)(p2 - p1);
	if (seg_len == 0)
		return PC_ERR_INVALID;
	raw = xmalloc(seg_len);
	if (b64url_decode(p1, seg_len, raw, seg_len, &n) != 0 ||
	    jose_json_parse(
		(const char *)raw, n, ASSERTION_PAYLOAD_DEPTH, out) != 0)
		goto out;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		goto out;
	}
	r = 0;
out:
	pc_freezero(raw, seg_len);
	return r;
}

/* The member's string value when it is a string without NUL, else NULL. */
static const char *
str_member(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

int
client_assertion_subject(const char *assertion, const char *client_id,
    char id[CLIENT_ASSERTION_ID_MAX + 1])
{
	json_t *payload = NULL;
	const char *iss, *sub;
	int r = PC_ERR_INVALID;

	id[0] = '\0';
	if (payload_untrusted(assertion, &payload) != 0)
		goto out;
	iss = str_member(payload, "iss");
	sub = str_member(payload, "sub");
	if (iss == NULL || sub == NULL || strcmp(iss, sub) != 0 ||
	    (!client_id_valid(iss) && !client_id_is_url(iss)) ||
	    strlen(iss) > CLIENT_ASSERTION_ID_MAX)
		goto out;
	if (client_id != NULL && strcmp(client_id, iss) != 0)
		goto out;
	memcpy(id, iss, strlen(iss) + 1);
	r = 0;
out:
	json_decref(payload);
	return r;
}

/*
 * The one algorithm of a registered key (JW-02): its "alg" when given,
 * else the only one its type allows; an RSA key without "alg" is RS256.
 */
static enum jose_alg
key_alg(const json_t *k)
{
	const char *alg = str_member(k, "alg"), *kty = str_member(k, "kty");

	if (alg != NULL)
		return jose_alg_parse(alg, strlen(alg));
	if (kty == NULL)
		return JOSE_ALG_INVALID;
	if (strcmp(kty, "EC") == 0)
		return JOSE_ALG_ES256;
	if (strcmp(kty, "OKP") == 0)
		return JOSE_ALG_EDDSA;
	if (strcmp(kty, "RSA") == 0)
		return JOSE_ALG_RS256;
	return JOSE_ALG_INVALID;
}

struct keyset {
	json_t *doc;
	struct jws_key keys[CLIENT_JWKS_KEYS_MAX];
	size_t n;
};

static void
keyset_free(struct keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		EVP_PKEY_free(ks->keys[i].pkey);
	json_decref(ks->doc);
	memset(ks, 0, sizeof(*ks));
}

/* The client's registered public keys; ones that do not load are skipped. */
static int
keyset_load(const char *jwks, struct keyset *ks)
{
	json_t *keys, *k;
	size_t i, len;

	memset(ks, 0, sizeof(*ks));
	if (jwks == NULL)
		return PC_ERR_VERIFY;
	len = strnlen(jwks, CLIENT_JWKS_MAX + 1);
	if (len > CLIENT_JWKS_MAX ||
	    jose_json_parse(jwks, len, 8, &ks->doc) != 0)
		return PC_ERR_VERIFY;
	keys = json_object_get(ks->doc, "keys");
	if (!json_is_array(keys))
		return PC_ERR_VERIFY;
	json_array_foreach(keys, i, k)
	{
		enum jose_alg alg = key_alg(k);
		EVP_PKEY *pkey = NULL;

		if (ks->n == PC_NELEM(ks->keys))
			break;
		if (alg == JOSE_ALG_INVALID || jwk_to_pkey(k, alg, &pkey) != 0)
			continue;
		ks->keys[ks->n].kid = str_member(k, "kid");
		ks->keys[ks->n].alg = alg;
		ks->keys[ks->n].pkey = pkey;
		ks->n++;
	}
	return ks->n > 0 ? 0 : PC_ERR_VERIFY;
}

/* JW-06: an untyped JWT or a client assertion, not another kind. */
static bool
typ_ok(const json_t *hdr)
{
	static const char app[] = "application/";
	const json_t *v = json_object_get(hdr, "typ");
	const char *t;

	if (v == NULL)
		return true;
	if ((t = str_member(hdr, "typ")) == NULL)
		return false;
	if (strncasecmp(t, app, sizeof(app) - 1) == 0)
		t += sizeof(app) - 1;
	return strcasecmp(t, "JWT") == 0 ||
	    strcasecmp(t, "client-authentication+jwt") == 0;
}

/* TK-09: the issuer, alone, as a string or a one-member array. */
static bool
aud_ok(const json_t *aud, const char *issuer)
{
	const char *a;

	if (!json_is_string(aud))
		return false;
	a = json_string_value(aud);
	return json_string_length(aud) == strlen(issuer) &&
	    strcmp(a, issuer) == 0;
}

/* The claims, once the signature verified: NULL when they pass, else why. */
static const char *
claims_check(const json_t *p, const char *client_id, const char *issuer,
    int64_t now, int64_t *accept_until)
{
	const char *iss = str_member(p, "iss"), *sub = str_member(p, "sub");
	const json_t *jti = json_object_get(p, "jti");
	int64_t exp, iat, nbf;
	int r;

	if (iss == NULL || sub == NULL || strcmp(iss, client_id) != 0 ||
	    strcmp(sub, client_id) != 0)
		return "iss and sub must be the client id";
	if (!aud_ok(json_object_get(p, "aud"), issuer))
		return "aud must be the issuer alone";
	if (jose_claim_time(p, "exp", &exp) != 0)
		return "exp is missing or malformed";
	if (now >= exp + ASSERTION_LEEWAY)
		return "expired";
	if (exp > now + ASSERTION_MAX_LIFETIME + ASSERTION_LEEWAY)
		return "exp is too far ahead";
	r = jose_claim_time(p, "iat", &iat);
	if (r == PC_ERR_INVALID)
		return "iat is malformed";
	if (r == 0 && iat > now + ASSERTION_LEEWAY)
		return "iat is in the future";
	if (r == 0 && exp - iat > ASSERTION_MAX_LIFETIME)
		return "the lifetime is too long";
	r = jose_claim_time(p, "nbf", &nbf);
	if (r == PC_ERR_INVALID)
		return "nbf is malformed";
	if (r == 0 && nbf > now + ASSERTION_LEEWAY)
		return "not yet valid";
	if (!json_is_string(jti) || json_string_length(jti) == 0 ||
	    json_string_length(jti) > ASSERTION_JTI_MAX)
		return "jti is missing or too long";
	*accept_until = exp + ASSERTION_LEEWAY;
	return NULL;
}

static void
log_refusal(const char *client_id, const char *why)
{
	struct log_line l;

	log_begin(&l, LOG_INFO, "oauth.client_assertion");
	log_str(&l, "client_id", client_id);
	log_str(&l, "refused", why);
	log_end(&l);
}

int
client_assertion_verify(struct app *app, const struct store_client *c,
    const char *assertion, int64_t now)
{
	struct jws_verify_opts opts = { 0 };
	struct jws_verified v = { 0 };
	struct keyset ks;
	const json_t *jti;
	char jti_hash[PC_SHA256_HEX_LEN + 1];
	const char *why = NULL;
	int64_t until = 0;
	size_t len;
	int r = PC_ERR_VERIFY;

	memset(&ks, 0, sizeof(ks));
	if (c == NULL || c->client_id == NULL || assertion == NULL ||
	    c->auth_method == NULL ||
	    strcmp(c->auth_method, "private_key_jwt") != 0) {
		why = "the client does not use private_key_jwt";
		goto out;
	}
	len = strnlen(assertion, JWS_MAX_LEN + 1);
	if (len > JWS_MAX_LEN) {
		why = "too large";
		goto out;
	}
	if (keyset_load(c->jwks, &ks) != 0) {
		why = "the client has no usable registered key";
		goto out;
	}
	opts.keys = ks.keys;
	opts.nkeys = ks.n;
	opts.algs = assertion_algs;
	opts.nalgs = PC_NELEM(assertion_algs);
	if (jws_verify_compact(assertion, len, &opts, &v) != 0) {
		why = "malformed, or not signed by a registered key";
		goto out;
	}
	if (!typ_ok(v.header)) {
		why = "typ is not a client assertion";
		goto out;
	}
	if ((why = claims_check(v.payload, c->client_id, app->cfg->issuer, now,
		 &until)) != NULL)
		goto out;
	jti = json_object_get(v.payload, "jti");
	hash_sha256_hex(
	    json_string_value(jti), json_string_length(jti), jti_hash);
	r = store_assertion_jti_use(
	    app->db, c->client_id, jti_hash, until, now);
	if (r == PC_ERR_CONFLICT) {
		why = "jti replayed";
		r = PC_ERR_VERIFY;
		goto out;
	}
	if (r != 0) {
		why = "the replay cache is unavailable";
		r = PC_ERR_STORE;
		goto out;
	}
	r = 0;
out:
	if (why != NULL) {
		if (r == 0)
			r = PC_ERR_VERIFY;
		log_refusal(
		    c != NULL && c->client_id != NULL ? c->client_id : "", why);
	}
	jws_verified_free(&v);
	keyset_free(&ks);
	return r;
}
