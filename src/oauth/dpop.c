/*
 * DPoP, RFC 9449 (issue 15; SECURITY.md RT-06, TX-06, DS-04, JW-02): the
 * proof a client signs for each request with a key of its own, so that a
 * token bound to that key (cnf.jkt) is worthless to whoever steals it.
 *
 * dpop_proof_verify() is the pure check of one proof (§4.3): a JWS of typ
 * dpop+jwt whose public key rides in its header (jws_verify_jwk: private
 * members refused, asymmetric algorithms only), for this method and URL,
 * recent (Part 2.5: iat in [now - 60 s, now + 15 s]), naming the access
 * token it accompanies (ath). dpop_check() is the one place a request's
 * proof is judged: one header, the pure check, the server nonce when the
 * dpop_nonce setting asks for one (stateless: a keyed hash of the time
 * slot, with a key derived from the master key, so every node agrees),
 * and the replay cache (store/dpop.c: the hashed key and jti, kept for the
 * proof's window only, one atomic insert deciding). The endpoints decide
 * what the thumbprint binds (oauth/dpop_bind.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "jose/jose.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/config.h"

/* The algorithms of DPOP_ALGS (JW-02: never none, never HMAC). */
static const enum jose_alg proof_algs[] = { JOSE_ALG_ES256, JOSE_ALG_RS256,
	JOSE_ALG_PS256, JOSE_ALG_EDDSA };

/* Sets why and returns r. */
static int
fail(struct dpop_claims *out, int r, const char *why)
{
	out->why = why;
	return r;
}

/* A string claim of 1..max bytes, without NUL: 0, NOT_FOUND or INVALID. */
static int
claim_str(
    const json_t *c, const char *name, size_t max, const char **p, size_t *n)
{
	const json_t *v = json_object_get(c, name);

	*p = NULL;
	*n = 0;
	if (v == NULL)
		return PC_ERR_NOT_FOUND;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max ||
	    memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
		return PC_ERR_INVALID;
	*p = json_string_value(v);
	*n = json_string_length(v);
	return 0;
}

/* "scheme://authority" and the rest of an absolute URL (query and
 * fragment already dropped). false when it is not one. */
static bool
url_split(struct str u, struct str *scheme, struct str *host, struct str *port,
    struct str *path)
{
	const char *p = memchr(u.p, ':', u.len), *end = u.p + u.len, *a, *s;

	if (p == NULL || end - p < 3 || p[1] != '/' || p[2] != '/')
		return false;
	*scheme = (struct str){ u.p, (size_t)(p - u.p) };
	a = p + 3;
	s = memchr(a, '/', (size_t)(end - a));
	if (s == NULL)
		s = end;
	*path = (struct str){ s, (size_t)(end - s) };
	/* No userinfo in an endpoint URL. */
	if (memchr(a, '@', (size_t)(s - a)) != NULL)
		return false;
	/* host[:port]; a bracketed IPv6 literal keeps its colons. */
	p = s;
	while (p > a && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (p > a && p[-1] == ':' && p < s) {
		*host = (struct str){ a, (size_t)(p - 1 - a) };
		*port = (struct str){ p, (size_t)(s - p) };
	} else {
		*host = (struct str){ a, (size_t)(s - a) };
		*port = (struct str){ NULL, 0 };
	}
	return scheme->len > 0 && host->len > 0;
}

/* The port, with the scheme's default for none (RFC 3986 §6.2.3). */
static bool
port_eq(struct str scheme, struct str a, struct str b)
{
	const char *def =
	    scheme.len == 5 && strncasecmp(scheme.p, "https", 5) == 0 ? "443"
								      : "80";

	if (a.len == 0)
		a = str_from(def);
	if (b.len == 0)
		b = str_from(def);
	/* Leading zeros are the same port as well. */
	while (a.len > 1 && a.p[0] == '0')
		a.p++, a.len--;
	while (b.len > 1 && b.p[0] == '0')
		b.p++, b.len--;
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/*
 * §4.3 item 9: htu is the request's URL without query and fragment.
 * Compared after RFC 3986 §6.2.2.1 and §6.2.3 normalisation: scheme and
 * host without case, the default port the same as none; the path exact.
 */
static bool
htu_matches(const char *got, size_t n, const char *want)
{
	struct str g = { got, n }, w = str_from(want);
	struct str gs, gh, gp, gpath, ws, wh, wp, wpath;
	const char *cut;

	if ((cut = memchr(g.p, '?', g.len)) != NULL)
		g.len = (size_t)(cut - g.p);
	if ((cut = memchr(g.p, '#', g.len)) != NULL)
		g.len = (size_t)(cut - g.p);
	if (!url_split(g, &gs, &gh, &gp, &gpath) ||
	    !url_split(w, &ws, &wh, &wp, &wpath))
		return false;
	return gs.len == ws.len && strncasecmp(gs.p, ws.p, gs.len) == 0 &&
	    gh.len == wh.len && strncasecmp(gh.p, wh.p, gh.len) == 0 &&
	    port_eq(ws, gp, wp) && gpath.len == wpath.len &&
	    memcmp(gpath.p, wpath.p, gpath.len) == 0;
}

/* §4.3 item 12: ath is base64url(SHA-256(the access token's ASCII)). */
static bool
ath_matches(const char *ath, size_t n, const char *access_token)
{
	uint8_t md[PC_SHA256_LEN];
	char want[DPOP_JKT_LEN + 1]; /* base64url of a SHA-256, as a jkt */

	hash_sha256(access_token, strlen(access_token), md);
	b64url_encode(md, sizeof(md), want);
	return n == strlen(want) && sodium_memcmp(ath, want, n) == 0;
}

/* The replay key: SHA-256 hex of jkt, NUL, jti (one per key and jti). */
static void
jti_key(const char *jkt, const char *jti, size_t jti_len,
    char out[PC_SHA256_HEX_LEN + 1])
{
	uint8_t buf[DPOP_JKT_LEN + 1 + DPOP_JTI_MAX];
	size_t k = strlen(jkt);

	memcpy(buf, jkt, k);
	buf[k] = '\0';
	memcpy(buf + k + 1, jti, jti_len);
	hash_sha256_hex(buf, k + 1 + jti_len, out);
}

int
dpop_proof_verify(const char *proof, size_t len, const struct dpop_expect *e,
    struct dpop_claims *out)
{
	struct jws_verified v;
	const char *jti, *htm, *htu, *ath, *nonce;
	size_t jti_n, htm_n, htu_n, ath_n, nonce_n;
	int r, rn;

	memset(out, 0, sizeof(*out));
	memset(&v, 0, sizeof(v));
	if (proof == NULL || e == NULL || e->htm == NULL || e->htu == NULL)
		return fail(out, PC_ERR_INVALID, "No proof.");
	if (len == 0 || len > JWS_MAX_LEN)
		return fail(out, PC_ERR_INVALID, "The proof is too long.");
	/* Items 2, 4-7: a JWS, typ dpop+jwt, an allowed alg, its own
	 * public key, a good signature. */
	r = jws_verify_jwk(
	    proof, len, proof_algs, PC_NELEM(proof_algs), "dpop+jwt", &v);
	if (r != 0)
		return fail(out, r,
		    "The proof is not a dpop+jwt JWS signed with an "
		    "asymmetric algorithm by the public key in its jwk "
		    "header.");
	r = PC_ERR_INVALID;
	/* Item 3: the claims, each of a sane size (DS-04). */
	if (claim_str(v.payload, "jti", DPOP_JTI_MAX, &jti, &jti_n) != 0 ||
	    claim_str(v.payload, "htm", 16, &htm, &htm_n) != 0 ||
	    claim_str(v.payload, "htu", DPOP_HTU_MAX, &htu, &htu_n) != 0 ||
	    jose_claim_time(v.payload, "iat", &out->iat) != 0) {
		fail(out, r,
		    "The proof needs jti (at most 256 bytes), htm, htu and "
		    "iat.");
		goto out;
	}
	/* Item 8: the method, exactly (RFC 9110 §9.1: case-sensitive). */
	if (htm_n != strlen(e->htm) || memcmp(htm, e->htm, htm_n) != 0) {
		fail(out, r, "The proof's htm is not this request's method.");
		goto out;
	}
	if (!htu_matches(htu, htu_n, e->htu)) {
		fail(out, r, "The proof's htu is not this endpoint's URL.");
		goto out;
	}
	/* Item 11 with Part 2.5's window. */
	if (out->iat < e->now - DPOP_IAT_PAST ||
	    out->iat > e->now + DPOP_IAT_AHEAD) {
		fail(out, r, "The proof's iat is too old or in the future.");
		goto out;
	}
	rn = claim_str(v.payload, "nonce", DPOP_NONCE_MAX, &nonce, &nonce_n);
	if (rn == PC_ERR_INVALID) {
		fail(out, r, "The proof's nonce is malformed.");
		goto out;
	}
	if (rn == 0)
		memcpy(out->nonce, nonce, nonce_n);
	if (e->access_token != NULL &&
	    (claim_str(v.payload, "ath", 64, &ath, &ath_n) != 0 ||
		!ath_matches(ath, ath_n, e->access_token))) {
		fail(out, r,
		    "The proof's ath is not the hash of the access token.");
		goto out;
	}
	if (jwk_thumbprint(v.jwk, out->jkt) != 0) {
		fail(out, PC_ERR_VERIFY, "The proof's key is unusable.");
		goto out;
	}
	jti_key(out->jkt, jti, jti_n, out->jti_hash);
	out->why = NULL;
	r = 0;
out:
	jws_verified_free(&v);
	if (r != 0) {
		out->jkt[0] = '\0';
		out->jti_hash[0] = '\0';
	}
	return r;
}

void
dpop_nonce_make(
    const uint8_t key[32], int64_t now, char out[DPOP_NONCE_LEN + 1])
{
	static const char label[] = "portcullis dpop nonce v1";
	uint8_t msg[sizeof(label) + 8], md[16];
	uint64_t slot = (uint64_t)(now / DPOP_NONCE_SLOT);

	memcpy(msg, label, sizeof(label));
	for (int i = 0; i < 8; i++)
		msg[sizeof(label) + (size_t)i] =
		    (uint8_t)(slot >> (56 - 8 * i));
	crypto_generichash(md, sizeof(md), msg, sizeof(msg), key, 32);
	b64url_encode(md, sizeof(md), out);
}

bool
dpop_nonce_valid(const uint8_t key[32], const char *nonce, int64_t now)
{
	char a[DPOP_NONCE_LEN + 1], b[DPOP_NONCE_LEN + 1];
	bool ok;

	if (nonce == NULL || strlen(nonce) != DPOP_NONCE_LEN)
		return false;
	dpop_nonce_make(key, now, a);
	dpop_nonce_make(key, now - DPOP_NONCE_SLOT, b);
	/* Both compared, whichever matches. */
	ok = sodium_memcmp(a, nonce, DPOP_NONCE_LEN) == 0;
	ok |= sodium_memcmp(b, nonce, DPOP_NONCE_LEN) == 0;
	return ok;
}

bool
dpop_jkt_equal(const char *a, const char *b)
{
	return a != NULL && b != NULL && strlen(a) == DPOP_JKT_LEN &&
	    strlen(b) == DPOP_JKT_LEN && sodium_memcmp(a, b, DPOP_JKT_LEN) == 0;
}

void
dpop_challenge(struct resp *w, int status, const char *error, const char *desc)
{
	char h[256];

	if (error != NULL) {
		oauth_error(w, status, error, desc);
		snprintf(h, sizeof(h), "DPoP algs=\"%s\", error=\"%s\"",
		    DPOP_ALGS, error);
	} else {
		json_t *o = json_object();

		if (o == NULL || resp_json(w, status, o) != 0)
			w->status = 500;
		json_decref(o);
		snprintf(h, sizeof(h), "DPoP algs=\"%s\"", DPOP_ALGS);
	}
	resp_header(w, "WWW-Authenticate", h);
}

/* The nonce key: a subkey of the master key, the same on every node. */
static void
nonce_key(const struct app *app, uint8_t key[32])
{
	masterkey_derive(app->mk, "dpopnonc", 1, key);
}

/* The current nonce on w (§8.2: the client uses the latest it saw). */
static void
nonce_header(const struct req *r, struct resp *w)
{
	const struct app *app = r->app;
	uint8_t key[32];
	char nonce[DPOP_NONCE_LEN + 1];

	nonce_key(app, key);
	dpop_nonce_make(key, r->now, nonce);
	sodium_memzero(key, sizeof(key));
	resp_header(w, "DPoP-Nonce", nonce);
}

/* The error in the endpoint's shape; -1. */
static int
refuse(struct resp *w, const struct dpop_want *want, const char *error,
    const char *desc)
{
	if (want->resource)
		dpop_challenge(w, 401, error, desc);
	else
		oauth_error(w, 400, error, desc);
	return -1;
}

static int replayed(struct req *r, struct resp *w, const struct dpop_want *want,
    const char *jkt);

/* dpop_check(); defer_jti: the caller records the jti (dpop_family_tx). */
static int
check(struct req *r, struct resp *w, const struct dpop_want *want,
    bool defer_jti, struct dpop_proof *out)
{
	struct app *app = r->app;
	struct dpop_expect e;
	struct dpop_claims cl;
	const char *hdr = NULL;
	char *htu = NULL;
	uint8_t key[32];
	size_t n;
	bool nonce_ok;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = req_header(r, "DPoP", &hdr);
	if (rc == PC_ERR_DUPLICATE)
		return refuse(w, want, "invalid_dpop_proof",
		    "Send exactly one DPoP header.");
	if (rc != 0 || hdr == NULL) {
		if (!want->required)
			return 0;
		return refuse(
		    w, want, "invalid_dpop_proof", "A DPoP proof is required.");
	}
	n = strlen(app->cfg->issuer) + strlen(want->path) + 1;
	htu = xmalloc(n);
	snprintf(htu, n, "%s%s", app->cfg->issuer, want->path);
	memset(&e, 0, sizeof(e));
	e.htm = r->method_name;
	e.htu = htu;
	e.access_token = want->access_token;
	e.now = r->now;
	rc = dpop_proof_verify(hdr, strlen(hdr), &e, &cl);
	free(htu);
	if (rc != 0)
		return refuse(w, want, "invalid_dpop_proof", cl.why);
	/* §8: with nonces on, a proof carries the current one. */
	if (app->cfg->dpop_nonce) {
		nonce_key(app, key);
		nonce_ok = dpop_nonce_valid(key, cl.nonce, r->now);
		sodium_memzero(key, sizeof(key));
		nonce_header(r, w);
		if (!nonce_ok)
			return refuse(w, want, "use_dpop_nonce",
			    cl.nonce[0] == '\0'
				? "A DPoP nonce is required: use the one in "
				  "the DPoP-Nonce header."
				: "The DPoP nonce is stale or wrong: use the "
				  "one in the DPoP-Nonce header.");
	}
	/* §11.1: once per key and jti, until the proof is too old anyway. */
	memcpy(out->jti_hash, cl.jti_hash, sizeof(out->jti_hash));
	out->jti_expires = cl.iat + DPOP_IAT_PAST + 1;
	rc = defer_jti ? 0
		       : store_dpop_jti_use(
			     app->db, cl.jti_hash, out->jti_expires, r->now);
	if (rc == PC_ERR_CONFLICT)
		return replayed(r, w, want, cl.jkt);
	if (rc != 0) {
		oauth_unavailable(w);
		return -1;
	}
	out->present = true;
	memcpy(out->jkt, cl.jkt, sizeof(out->jkt));
	return 0;
}

static int
replayed(struct req *r, struct resp *w, const struct dpop_want *want,
    const char *jkt)
{
	json_t *d = json_pack("{s:s}", "jkt", jkt);

	/* AU-01: an attack signal, best effort. */
	(void)oauth_audit(r, "dpop.replay", "alert", NULL, NULL, d);
	json_decref(d);
	return refuse(
	    w, want, "invalid_dpop_proof", "The DPoP proof was used before.");
}

int
dpop_check(struct req *r, struct resp *w, const struct dpop_want *want,
    struct dpop_proof *out)
{
	return check(r, w, want, false, out);
}

int
dpop_check_client(struct req *r, struct resp *w, const struct store_client *c,
    const char *path, struct dpop_proof *out)
{
	const struct dpop_want want = { .path = path,
		.required = c->dpop_required };

	return check(r, w, &want, false, out);
}

int
dpop_refresh_begin(struct req *r, struct resp *w, const struct store_client *c,
    struct dpop_proof *out)
{
	const struct dpop_want want = { .path = "/token",
		.required = c->dpop_required };

	return check(r, w, &want, true, out);
}

int
dpop_family_tx(struct db_conn *c, const struct store_family *f,
    const struct dpop_proof *dp, int64_t now)
{
	int rc;

	/* RT-06: a bound grant refreshes only with a proof of its key. */
	if (f->dpop_jkt != NULL &&
	    (!dp->present || !dpop_jkt_equal(f->dpop_jkt, dp->jkt)))
		return PC_ERR_VERIFY;
	if (!dp->present)
		return 0;
	rc = store_dpop_jti_use_tx(c, dp->jti_hash, dp->jti_expires, now);
	/* Not PC_ERR_CONFLICT: a batch retries that as a lost race. */
	return rc == PC_ERR_CONFLICT ? PC_ERR_DUPLICATE : rc;
}

bool
dpop_refresh_refused(
    struct req *r, struct resp *w, const struct dpop_proof *dp, int rc)
{
	const struct dpop_want want = { .path = "/token" };
	struct app *app = r->app;

	if (rc == PC_ERR_VERIFY) {
		/* Bound to a key; nothing was consumed. */
		if (dp->present)
			oauth_error(w, 400, "invalid_grant",
			    "The refresh token is bound to another DPoP key.");
		else
			oauth_error(w, 400, "invalid_dpop_proof",
			    "The refresh token is DPoP-bound: send a proof of "
			    "its key.");
		return true;
	}
	if (rc == PC_ERR_DUPLICATE) {
		(void)replayed(r, w, &want, dp->jkt);
		return true;
	}
	/* A rotation refused before its commit did not record the jti: a
	 * proof is spent whatever the answer, as at every endpoint (reuse,
	 * PC_ERR_CONFLICT, has killed the grant already). */
	if (rc != 0 && rc != PC_ERR_CONFLICT && dp->present &&
	    store_dpop_jti_use(app->db, dp->jti_hash, dp->jti_expires,
		r->now) == PC_ERR_CONFLICT) {
		(void)replayed(r, w, &want, dp->jkt);
		return true;
	}
	return false;
}
