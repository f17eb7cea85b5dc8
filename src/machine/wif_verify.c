/*
 * Workload federation, the verification of a presented token (issue 14
 * item 5; SECURITY.md JW-01..09, TX-05, DS-05).
 *
 * The token's iss selects the trust (read unverified, like a client
 * assertion's; nothing else of the payload is read before the signature
 * verifies). Only that trust's keys are tried, with only its algorithms:
 * the key and the issuer belong together (JW-05), no key or key URL comes
 * from the token (jws_verify_compact refuses jwk, jku, x5u, x5c), and
 * none or HS* are no algorithm at all (JW-01, JW-02).
 *
 * A jwks_uri is fetched under DS-05 (fetch.c) and cached per process for
 * jwks_cache_ttl. While a refresh is in flight the stale set is served;
 * a refresh that failed makes the trust unusable (503, fail closed) until
 * the next attempt, at most one per jwks_refetch_interval. A token whose
 * kid is not in a fresh set causes at most one refetch per interval per
 * trust, counted under the lock before the fetch (so a flood of made-up
 * kids costs the issuer one request per interval, not one per token).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "jose/jose.h"
#include "machine/machine.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"

#define JWKS_MAX (64 * 1024)
#define KEYS_MAX 16
#define CACHE_SLOTS 64
#define PAYLOAD_DEPTH 8
#define AUD_MAX 32

/* ---- The JWKS cache ---- */

struct slot {
	char trust_id[PRINCIPAL_ID_MAX + 1];
	char *uri;
	char *jwks;	    /* last good set, or NULL */
	int64_t fetched_at; /* of jwks */
	int64_t failed_at;  /* last failed attempt, 0: none since */
	int64_t kid_at;	    /* last refetch for an unknown kid */
	bool in_flight;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct slot cache[CACHE_SLOTS];

static void
slot_reset(struct slot *s)
{
	free(s->uri);
	free(s->jwks);
	memset(s, 0, sizeof(*s));
}

void
wif_jwks_cache_clear(void)
{
	pthread_mutex_lock(&cache_mu);
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		slot_reset(&cache[i]);
	pthread_mutex_unlock(&cache_mu);
}

/* The trust's slot (locked), a free one, or the least recently fetched. */
static struct slot *
slot_find(const char *trust_id, const char *uri)
{
	struct slot *free_slot = NULL, *oldest = &cache[0];

	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct slot *s = &cache[i];

		if (s->trust_id[0] == '\0') {
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (strcmp(s->trust_id, trust_id) == 0) {
			if (strcmp(s->uri, uri) == 0)
				return s;
			slot_reset(s);
			free_slot = s;
			break;
		}
		if (!s->in_flight && s->fetched_at < oldest->fetched_at)
			oldest = s;
	}
	if (free_slot == NULL) {
		free_slot = oldest;
		slot_reset(free_slot);
	}
	snprintf(
	    free_slot->trust_id, sizeof(free_slot->trust_id), "%s", trust_id);
	free_slot->uri = xstrdup(uri);
	return free_slot;
}

/* A JSON object with a "keys" array: worth caching. */
static bool
jwks_shaped(const char *body, size_t len)
{
	json_t *doc = NULL;
	bool ok;

	if (len == 0 || len > JWKS_MAX ||
	    jose_json_parse(body, len, 8, &doc) != 0)
		return false;
	ok = json_is_object(doc) && json_is_array(json_object_get(doc, "keys"));
	json_decref(doc);
	return ok;
}

enum jwks_want {
	JWKS_ANY,     /* a usable set */
	JWKS_NEW_KID, /* the set lacks the token's kid: refetch if allowed */
};

/*
 * The trust's key set: *out is a malloc'd copy. JWKS_NEW_KID answers
 * PC_ERR_BUSY when a refetch is not allowed now. PC_ERR_IO (or the
 * fetch's error) when no usable set can be had.
 */
static int
jwks_get(const struct config *cfg, const struct store_wif_trust *t,
    enum jwks_want want, int64_t now, char **out)
{
	struct fetch_policy p;
	struct slot *s;
	char err[160], *body = NULL;
	size_t len = 0;
	bool fresh;
	int r;

	*out = NULL;
	pthread_mutex_lock(&cache_mu);
	s = slot_find(t->trust_id, t->jwks_uri);
	fresh = s->jwks != NULL && now < s->fetched_at + cfg->jwks_cache_ttl;
	if (want == JWKS_ANY && (fresh || (s->jwks != NULL && s->in_flight))) {
		*out = xstrdup(s->jwks);
		pthread_mutex_unlock(&cache_mu);
		return 0;
	}
	if (s->in_flight ||
	    (want == JWKS_ANY && s->failed_at != 0 &&
		now < s->failed_at + cfg->jwks_refetch_interval)) {
		pthread_mutex_unlock(&cache_mu);
		return want == JWKS_NEW_KID ? PC_ERR_BUSY : PC_ERR_IO;
	}
	if (want == JWKS_NEW_KID) {
		/* One refetch per interval, counted before the fetch. */
		if (s->kid_at != 0 &&
		    now < s->kid_at + cfg->jwks_refetch_interval) {
			pthread_mutex_unlock(&cache_mu);
			return PC_ERR_BUSY;
		}
		s->kid_at = now;
	}
	s->in_flight = true;
	pthread_mutex_unlock(&cache_mu);

	if ((r = fetch_policy_init(cfg, &p, err, sizeof(err))) == 0) {
		r = fetch_get(&p, t->jwks_uri, &body, &len);
		fetch_policy_free(&p);
	}
	/* A body that is no key set does not replace a good one. */
	if (r == 0 && !jwks_shaped(body, len))
		r = PC_ERR_INVALID;

	pthread_mutex_lock(&cache_mu);
	/* The slot may have been reused meanwhile: find it again. */
	s = slot_find(t->trust_id, t->jwks_uri);
	s->in_flight = false;
	if (r == 0) {
		free(s->jwks);
		s->jwks = body;
		s->fetched_at = now;
		s->failed_at = 0;
		*out = xstrdup(body);
		body = NULL;
	} else {
		s->failed_at = now;
	}
	pthread_mutex_unlock(&cache_mu);
	free(body);
	return r;
}

/* ---- Keys ---- */

struct keyset {
	json_t *doc;
	struct jws_key keys[KEYS_MAX];
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

static const char *
str_member(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/*
 * The keys of a JWKS, each with exactly one algorithm (JW-02): its "alg"
 * when given, else the one its type implies (EC: ES256, OKP: EdDSA, RSA:
 * RS256); a key whose algorithm the trust does not allow, whose "use" is
 * not "sig", or that does not load is skipped.
 */
static void
keyset_load(const char *jwks, const enum jose_alg *algs, size_t nalgs,
    struct keyset *ks)
{
	json_t *keys, *k;
	size_t i, len;

	memset(ks, 0, sizeof(*ks));
	len = jwks != NULL ? strnlen(jwks, JWKS_MAX + 1) : 0;
	if (len == 0 || len > JWKS_MAX ||
	    jose_json_parse(jwks, len, 8, &ks->doc) != 0)
		return;
	keys = json_object_get(ks->doc, "keys");
	if (!json_is_array(keys))
		return;
	json_array_foreach(keys, i, k)
	{
		const char *an = str_member(k, "alg"),
			   *kty = str_member(k, "kty"),
			   *use = str_member(k, "use");
		enum jose_alg alg = JOSE_ALG_INVALID;
		EVP_PKEY *pkey = NULL;
		bool allowed = false;

		if (ks->n == KEYS_MAX)
			break;
		if (use != NULL && strcmp(use, "sig") != 0)
			continue;
		if (an != NULL)
			alg = jose_alg_parse(an, strlen(an));
		else if (kty != NULL && strcmp(kty, "EC") == 0)
			alg = JOSE_ALG_ES256;
		else if (kty != NULL && strcmp(kty, "OKP") == 0)
			alg = JOSE_ALG_EDDSA;
		else if (kty != NULL && strcmp(kty, "RSA") == 0)
			alg = JOSE_ALG_RS256;
		for (size_t a = 0; a < nalgs; a++)
			if (algs[a] == alg)
				allowed = true;
		if (!allowed || jwk_to_pkey(k, alg, &pkey) != 0)
			continue;
		ks->keys[ks->n].kid = str_member(k, "kid");
		ks->keys[ks->n].alg = alg;
		ks->keys[ks->n].pkey = pkey;
		ks->n++;
	}
}

/* Whether the token's header names a kid that ks lacks (unverified). */
static bool
kid_unknown(const char *token, size_t len, const struct keyset *ks)
{
	const char *dot = memchr(token, '.', len);
	uint8_t raw[1024];
	size_t n = 0;
	json_t *hdr = NULL;
	const char *kid;
	bool unknown = false;

	if (dot == NULL || (size_t)(dot - token) > 1300 ||
	    b64url_decode(token, (size_t)(dot - token), raw, sizeof(raw), &n) !=
		0 ||
	    jose_json_parse((const char *)raw, n, 4, &hdr) != 0)
		return false;
	if ((kid = str_member(hdr, "kid")) != NULL) {
		unknown = true;
		for (size_t i = 0; i < ks->n; i++)
			if (ks->keys[i].kid != NULL &&
			    strcmp(ks->keys[i].kid, kid) == 0)
				unknown = false;
	}
	json_decref(hdr);
	return unknown;
}

/* ---- The token ---- */

/* The payload's iss, decoded and parsed but NOT verified. */
static char *
iss_untrusted(const char *token, size_t len)
{
	const char *p1, *p2, *iss;
	uint8_t *raw;
	size_t seg, n = 0;
	json_t *o = NULL;
	char *out = NULL;

	if ((p1 = memchr(token, '.', len)) == NULL)
		return NULL;
	p1++;
	if ((p2 = memchr(p1, '.', len - (size_t)(p1 - token))) == NULL ||
	    p2 == p1)
		return NULL;
	seg = (size_t)(p2 - p1);
	raw = xmalloc(seg);
	if (b64url_decode(p1, seg, raw, seg, &n) == 0 &&
	    jose_json_parse((const char *)raw, n, PAYLOAD_DEPTH, &o) == 0 &&
	    (iss = str_member(o, "iss")) != NULL && iss[0] != '\0')
		out = xstrdup(iss);
	json_decref(o);
	pc_freezero(raw, seg);
	return out;
}

/* JW-06: an untyped token or "JWT", never at+jwt, dpop+jwt, ... */
static bool
typ_ok(const json_t *hdr)
{
	const json_t *v = json_object_get(hdr, "typ");
	const char *t;

	if (v == NULL)
		return true;
	if ((t = str_member(hdr, "typ")) == NULL)
		return false;
	if (strncasecmp(t, "application/", 12) == 0)
		t += 12;
	return strcasecmp(t, "JWT") == 0;
}

/* JW-05: aud is the audience, or an array of strings holding it. */
static bool
aud_ok(const json_t *aud, const char *want)
{
	size_t i, wl = strlen(want);
	json_t *v;

	if (json_is_string(aud))
		return json_string_length(aud) == wl &&
		    memcmp(json_string_value(aud), want, wl) == 0;
	if (!json_is_array(aud) || json_array_size(aud) == 0 ||
	    json_array_size(aud) > AUD_MAX)
		return false;
	json_array_foreach(aud, i, v)
	{
		if (json_is_string(v) && json_string_length(v) == wl &&
		    memcmp(json_string_value(v), want, wl) == 0)
			return true;
	}
	return false;
}

/* JW-04, JW-05 and the trust's limits: NULL when they pass, else why. */
static const char *
claims_check(const json_t *p, const struct store_wif_trust *t, int64_t now,
    int64_t *accept_until)
{
	const char *iss = str_member(p, "iss"), *sub = str_member(p, "sub"),
		   *jti = str_member(p, "jti");
	int64_t exp, iat, nbf, start = now;
	int r;

	if (iss == NULL || strcmp(iss, t->issuer) != 0)
		return "iss is not the trust's issuer";
	if (!aud_ok(json_object_get(p, "aud"), t->audience))
		return "aud does not contain the trust's audience";
	if (jose_claim_time(p, "exp", &exp) != 0)
		return "exp is missing or malformed";
	if (now >= exp + WIF_LEEWAY)
		return "expired";
	if ((r = jose_claim_time(p, "nbf", &nbf)) == PC_ERR_INVALID)
		return "nbf is malformed";
	if (r == 0 && nbf > now + WIF_LEEWAY)
		return "not yet valid";
	if (r == 0)
		start = nbf;
	if ((r = jose_claim_time(p, "iat", &iat)) == PC_ERR_INVALID)
		return "iat is malformed";
	if (r == 0 && iat > now + WIF_LEEWAY)
		return "iat is in the future";
	if (r == 0)
		start = iat;
	if (exp - start > t->max_lifetime ||
	    exp > now + t->max_lifetime + WIF_LEEWAY)
		return "the token lives longer than the trust accepts";
	if (sub == NULL || sub[0] == '\0' || strlen(sub) > WIF_SUB_MAX)
		return "sub is missing or too long";
	if (jti == NULL || jti[0] == '\0' || strlen(jti) > WIF_JTI_MAX)
		return "jti is missing or too long";
	*accept_until = exp + WIF_LEEWAY;
	return NULL;
}

/* The first rule whose sub pattern and claims match; NULL if none. */
static const struct store_wif_rule *
rule_first(const struct store_wif_trust *t, const json_t *payload)
{
	const char *sub = str_member(payload, "sub");

	for (size_t i = 0; i < t->n_rules; i++) {
		const struct store_wif_rule *r = &t->rules[i];
		json_t *claims = NULL;
		bool ok;

		if (!wif_sub_match(r->sub_pattern, sub))
			continue;
		if (jose_json_parse(r->claims, strlen(r->claims), 2, &claims) !=
		    0)
			continue;
		ok = wif_claims_match(claims, payload);
		json_decref(claims);
		if (ok)
			return r;
	}
	return NULL;
}

void
wif_match_clear(struct wif_match *m)
{
	if (m == NULL)
		return;
	free(m->scopes);
	free(m->subject);
	memset(m, 0, sizeof(*m));
}

/* Verifies with the keys of jwks; *kid_miss when its kid is unknown. */
static int
verify_with(const char *jwks, const enum jose_alg *algs, size_t nalgs,
    const char *token, size_t len, struct jws_verified *v, bool *kid_miss)
{
	struct jws_verify_opts opts = { 0 };
	struct keyset ks;
	int r;

	keyset_load(jwks, algs, nalgs, &ks);
	opts.keys = ks.keys;
	opts.nkeys = ks.n;
	opts.algs = algs;
	opts.nalgs = nalgs;
	r = jws_verify_compact(token, len, &opts, v);
	*kid_miss = r == PC_ERR_VERIFY && kid_unknown(token, len, &ks);
	keyset_free(&ks);
	return r;
}

static int
algs_of(const char *s, enum jose_alg *out, size_t *n)
{
	const char *p = s;

	*n = 0;
	while (p != NULL && *p != '\0' && *n < 4) {
		const char *e = strchr(p, ' ');
		size_t l = e != NULL ? (size_t)(e - p) : strlen(p);
		enum jose_alg a = jose_alg_parse(p, l);

		if (a != JOSE_ALG_INVALID)
			out[(*n)++] = a;
		p = e != NULL ? e + 1 : NULL;
	}
	return *n > 0 ? 0 : PC_ERR_VERIFY;
}

int
wif_verify(struct db *db, const struct config *cfg, const char *token,
    size_t len, int64_t now, struct wif_match *out, const char **why)
{
	struct store_wif_trust t;
	struct jws_verified v = { 0 };
	const struct store_wif_rule *rule;
	enum jose_alg algs[4];
	size_t nalgs;
	char *iss = NULL, *jwks = NULL;
	bool kid_miss = false;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	*why = "malformed";
	if (token == NULL || len == 0 || len > JWS_MAX_LEN ||
	    (iss = iss_untrusted(token, len)) == NULL)
		return PC_ERR_VERIFY;
	r = store_wif_trust_by_issuer(db, iss, &t);
	free(iss);
	if (r == PC_ERR_NOT_FOUND) {
		*why = "no trust for the issuer";
		return PC_ERR_VERIFY;
	}
	if (r != 0) {
		*why = "the store is unavailable";
		return PC_ERR_STORE;
	}
	*why = "the trust has no usable algorithm";
	if ((r = algs_of(t.algs, algs, &nalgs)) != 0)
		goto out;
	if (t.jwks != NULL) {
		jwks = xstrdup(t.jwks);
	} else if (jwks_get(cfg, &t, JWKS_ANY, now, &jwks) != 0) {
		*why = "the issuer's JWKS cannot be fetched";
		r = PC_ERR_IO;
		goto out;
	}
	r = verify_with(jwks, algs, nalgs, token, len, &v, &kid_miss);
	if (r != 0 && kid_miss && t.jwks_uri != NULL) {
		/* JW-03, DS-05: one rate-limited refetch, then refuse. */
		free(jwks);
		jwks = NULL;
		if (jwks_get(cfg, &t, JWKS_NEW_KID, now, &jwks) == 0)
			r = verify_with(
			    jwks, algs, nalgs, token, len, &v, &kid_miss);
	}
	if (r != 0) {
		*why = kid_miss ? "unknown kid"
				: "malformed, or not signed by a key of the "
				  "trust with an allowed algorithm";
		r = PC_ERR_VERIFY;
		goto out;
	}
	r = PC_ERR_VERIFY;
	*why = "typ is not JWT";
	if (!typ_ok(v.header))
		goto out;
	if ((*why = claims_check(v.payload, &t, now, &out->accept_until)) !=
	    NULL)
		goto out;
	*why = "no rule matches";
	if ((rule = rule_first(&t, v.payload)) == NULL)
		goto out;
	snprintf(out->trust_id, sizeof(out->trust_id), "%s", t.trust_id);
	snprintf(out->service_account_id, sizeof(out->service_account_id), "%s",
	    rule->service_account_id);
	out->scopes = rule->scopes != NULL ? xstrdup(rule->scopes) : NULL;
	out->subject = xstrdup(str_member(v.payload, "sub"));
	out->rule_no = rule->rule_no;
	hash_sha256_hex(str_member(v.payload, "jti"),
	    strlen(str_member(v.payload, "jti")), out->jti_hash);
	*why = NULL;
	r = 0;
out:
	if (r != 0)
		wif_match_clear(out);
	free(jwks);
	jws_verified_free(&v);
	store_wif_trust_clear(&t);
	return r;
}

int
wif_jti_consume(struct db *db, const struct wif_match *m, int64_t now)
{
	int r = store_wif_jti_use(
	    db, m->trust_id, m->jti_hash, m->accept_until, now);

	if (r == PC_ERR_CONFLICT)
		return PC_ERR_VERIFY;
	return r == 0 ? 0 : PC_ERR_STORE;
}
