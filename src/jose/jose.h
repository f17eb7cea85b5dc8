/*
 * jose: base64url, strict JSON, JWK and compact JWS over OpenSSL EVP.
 *
 * The verifier is strict by construction (SECURITY.md JW-01..08): the
 * algorithm comes from the key record, never from the token; only the
 * asymmetric algorithms below exist, so "none" and HMAC cannot be
 * selected; "kid" is only a map key; header members that would let a token
 * choose its own key (jwk, jku, x5u, x5c) or extensions (crit) are
 * rejected (a DPoP proof's public jwk is the one exception, through
 * jws_verify_jwk); duplicate JSON member names are rejected; size is
 * capped.
 */
#ifndef PC_JOSE_H
#define PC_JOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "jose/b64url.h" /* base64url without padding (RFC 7515 §2) */
#include "util/util.h"

enum jose_alg {
	JOSE_ALG_INVALID = 0,
	JOSE_ALG_ES256,
	JOSE_ALG_RS256,
	JOSE_ALG_PS256,
	JOSE_ALG_EDDSA,
};

/* "ES256", "RS256", "PS256", "EdDSA". */
const char *jose_alg_name(enum jose_alg alg);
/* Exact, case-sensitive match of the names above; else INVALID. */
enum jose_alg jose_alg_parse(const char *s, size_t n);
/* Whether pkey is the right type (and size) for alg. */
bool jose_alg_key_ok(enum jose_alg alg, EVP_PKEY *pkey);

/*
 * Strict JSON text to a value: duplicate member names rejected, nesting at
 * most max_depth, valid UTF-8, no NUL, no trailing garbage.
 */
int
jose_json_parse(const char *s, size_t n, size_t max_depth, json_t **out) PC_WUR;

/* The latest NumericDate a claim may hold: 9999-12-31T23:59:59Z. */
#define JOSE_TIME_MAX 253402300799LL
/*
 * A NumericDate member of a JWT's claims (RFC 7519 §2): 0 with *out set,
 * PC_ERR_NOT_FOUND when absent, PC_ERR_INVALID when not a number in
 * 0..JOSE_TIME_MAX (fractions are dropped).
 */
int jose_claim_time(const json_t *o, const char *name, int64_t *out) PC_WUR;

/*
 * The public JWK of pkey: kty and its public members only, plus "kid",
 * "alg" and "use": "sig". Never d, p, q, dp, dq, qi (JW-09).
 */
int jwk_from_pkey(
    EVP_PKEY *pkey, enum jose_alg alg, const char *kid, json_t **out) PC_WUR;
/*
 * A public key from a JWK for alg. kty and crv must fit alg; RSA moduli
 * under 2048 bits are refused; EC points are validated on the curve.
 * Private members are ignored.
 */
int jwk_to_pkey(const json_t *jwk, enum jose_alg alg, EVP_PKEY **out) PC_WUR;
/* RFC 7638 thumbprint (SHA-256, base64url): 43 characters + NUL. */
int jwk_thumbprint(EVP_PKEY *pkey, char out[44]) PC_WUR;

/*
 * A JSON writer for fixed-shape objects (json.c): a string value with
 * quotes, escaped as jansson's compact dump escapes it (PC_ERR_INVALID when
 * s is not UTF-8); a member name with its ":" (and the "," before it unless
 * first); an integer.
 */
int jose_json_put_str(struct buf *b, const char *s, size_t n) PC_WUR;
int jose_json_put_member(struct buf *b, bool first, const char *name) PC_WUR;
int jose_json_put_int(struct buf *b, int64_t v) PC_WUR;

/* Signatures in JOSE form (ES256: 64-byte R||S). */
#define JWS_SIG_MAX 1024
#define JWS_MAX_LEN 8192 /* SECURITY.md Part 2.8 */

int jws_sign_raw(EVP_PKEY *pkey, enum jose_alg alg, const uint8_t *in, size_t n,
    uint8_t *sig, size_t *sig_len) PC_WUR;
int jws_verify_raw(EVP_PKEY *pkey, enum jose_alg alg, const uint8_t *in,
    size_t n, const uint8_t *sig, size_t sig_len) PC_WUR;

/*
 * Prepared signing contexts for one key, shared by threads (issue 13):
 * NULL for anything but a P-256 key used for ES256 (sign those with
 * jws_sign_raw). The pool holds its own reference to the key.
 */
struct jws_sign_pool;
struct jws_sign_pool *jws_sign_pool_new(EVP_PKEY *pkey, enum jose_alg alg);
void jws_sign_pool_free(struct jws_sign_pool *p);
/* As jws_sign_raw with the pool's key and ES256. */
int jws_sign_pool_sign(struct jws_sign_pool *p, const uint8_t *in, size_t n,
    uint8_t *sig, size_t *sig_len) PC_WUR;

/* Signs the signing input; the signer (crypto/) holds the private key. */
typedef int (*jws_sign_fn)(
    void *ctx, const uint8_t *in, size_t n, uint8_t *sig, size_t *sig_len);

/*
 * Compact JWS: header {"alg","kid"[,"typ"]}, payload serialized compactly.
 * *out is malloc'd and NUL-terminated.
 */
int jws_sign_compact(enum jose_alg alg, const char *kid, const char *typ,
    const json_t *payload, jws_sign_fn fn, void *ctx, char **out) PC_WUR;
/* The same with the payload already serialized: a JSON object, UTF-8. */
int jws_sign_compact_raw(enum jose_alg alg, const char *kid, const char *typ,
    const char *payload, size_t payload_len, jws_sign_fn fn, void *ctx,
    char **out) PC_WUR;

/* A verification key: exactly one algorithm per key (JW-02). */
struct jws_key {
	const char *kid;
	enum jose_alg alg;
	EVP_PKEY *pkey;
};

struct jws_verify_opts {
	const struct jws_key *keys;
	size_t nkeys;
	const enum jose_alg *algs; /* allowed in this context */
	size_t nalgs;
	/* Required "typ" (case-insensitive, "application/" optional), or
	 * NULL for no requirement. */
	const char *typ;
};

struct jws_verified {
	json_t *header;
	json_t *payload; /* always an object */
	/* The key that verified: one of opts->keys, or from jws_verify_jwk
	 * the header's own (jwk, owned; key is then NULL). */
	const struct jws_key *key;
	EVP_PKEY *jwk;
};

/*
 * Verifies a compact JWS. Errors: PC_ERR_TOO_LARGE (over JWS_MAX_LEN),
 * PC_ERR_INVALID (malformed, forbidden header member, duplicate member,
 * payload not an object), PC_ERR_VERIFY (algorithm not allowed or not the
 * key's, unknown kid, bad signature). Nothing of the token is trusted
 * before the signature verifies.
 */
int jws_verify_compact(const char *token, size_t len,
    const struct jws_verify_opts *opts, struct jws_verified *out) PC_WUR;
void jws_verified_free(struct jws_verified *v);
/*
 * DPoP proofs only (RFC 9449 §4.2, §4.3): the same rules, except that the
 * key is the header's "jwk", a public key for the header's alg (one of
 * algs), kept in out->jwk. A jwk with a private member (d, p, q, dp, dq,
 * qi, oth, k) is refused (PC_ERR_INVALID); jku, x5u, x5c and crit stay
 * forbidden; typ is required as in jws_verify_opts.
 */
int jws_verify_jwk(const char *token, size_t len, const enum jose_alg *algs,
    size_t nalgs, const char *typ, struct jws_verified *out) PC_WUR;

#endif
