/*
 * Compact JWS (RFC 7515) with ES256, RS256, PS256 (RFC 7518) and EdDSA
 * over Ed25519 (RFC 8037), through OpenSSL EVP.
 *
 * The verifier follows SECURITY.md JW-01..08 and RFC 8725 §3.1: the
 * algorithm is checked against the caller's allowlist and must equal the
 * one algorithm of the key the "kid" selects; the token never supplies a
 * key or a key URL (except a DPoP proof, whose public "jwk" is the point:
 * jws_verify_jwk); nothing in the payload is parsed before the signature
 * verifies.
 */
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "jose/jose.h"

#define JWS_ES256_LEN 64 /* R || S, 32 bytes each (RFC 7518 §3.4) */
/* DER ECDSA-Sig-Value of P-256: SEQUENCE of two INTEGERs <= 33 bytes. */
#define JWS_ES256_DER_MAX 72
#define JWS_EDDSA_LEN 64
#define JWS_PSS_SALT_LEN 32 /* the hash length (RFC 7518 §3.5) */
#define JWS_KID_MAX 256
/*
 * What jws_sign_compact will build. Larger than JWS_MAX_LEN on purpose:
 * an oversized token can be issued (the verifier then refuses it), but
 * memory stays bounded.
 */
#define JWS_SIGN_MAX_LEN (8 * JWS_MAX_LEN)
#define JWS_HDR_DEPTH 4
#define JWS_PAYLOAD_DEPTH 16

/*
 * Header members a token may not carry: ones that would let it choose its
 * own key (RFC 8725 §3.10, JW-03), extensions we cannot honour (RFC 7515
 * §4.1.11), and JWE members (JW-07).
 */
static const char *const hdr_forbidden[] = {
	"jwk",
	"jku",
	"x5u",
	"x5c",
	"crit",
	"enc",
	"zip",
};

/* A digest-sign or -verify context for alg over pkey. */
static int
md_ctx_init(EVP_MD_CTX **mdp, EVP_PKEY *pkey, enum jose_alg alg, bool sign)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const char *mdname = alg == JOSE_ALG_EDDSA ? NULL : "SHA256";
	int r = PC_ERR_CRYPTO, ok;

	*mdp = NULL;
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (sign)
		ok = EVP_DigestSignInit_ex(
		    md, &pctx, mdname, NULL, NULL, pkey, NULL);
	else
		ok = EVP_DigestVerifyInit_ex(
		    md, &pctx, mdname, NULL, NULL, pkey, NULL);
	if (ok != 1)
		goto out;
	switch (alg) {
	case JOSE_ALG_RS256:
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
			goto out;
		break;
	case JOSE_ALG_PS256:
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) !=
			1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", NULL) !=
			1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, JWS_PSS_SALT_LEN) !=
			1)
			goto out;
		break;
	case JOSE_ALG_ES256:
	case JOSE_ALG_EDDSA: break;
	case JOSE_ALG_INVALID:
	default: goto out;
	}
	*mdp = md;
	md = NULL;
	r = 0;
out:
	EVP_MD_CTX_free(md);
	return r;
}

/* DER ECDSA-Sig-Value to the JOSE form R || S. */
static int
ecdsa_der_to_jose(const uint8_t *der, size_t der_len, uint8_t *sig)
{
	const unsigned char *p = der;
	const BIGNUM *rr, *ss;
	ECDSA_SIG *es = NULL;
	int r = PC_ERR_CRYPTO;

	if (der_len > LONG_MAX ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &rr, &ss);
	if (BN_bn2binpad(rr, sig, 32) != 32 ||
	    BN_bn2binpad(ss, sig + 32, 32) != 32)
		goto out;
	r = 0;
out:
	ECDSA_SIG_free(es);
	return r;
}

/* R || S to DER; *derp is OPENSSL_malloc'd. */
static int
ecdsa_jose_to_der(const uint8_t *sig, uint8_t **derp, size_t *der_len)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *rr = NULL, *ss = NULL;
	unsigned char *der = NULL;
	int len, r = PC_ERR_CRYPTO;

	*derp = NULL;
	*der_len = 0;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (rr = BN_bin2bn(sig, 32, NULL)) == NULL ||
	    (ss = BN_bin2bn(sig + 32, 32, NULL)) == NULL ||
	    ECDSA_SIG_set0(es, rr, ss) != 1)
		goto out;
	rr = ss = NULL; /* owned by es */
	if ((len = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	*derp = der;
	*der_len = (size_t)len;
	r = 0;
out:
	BN_free(rr);
	BN_free(ss);
	ECDSA_SIG_free(es);
	return r;
}

/* sig must hold JWS_SIG_MAX bytes. */
int
jws_sign_raw(EVP_PKEY *pkey, enum jose_alg alg, const uint8_t *in, size_t n,
    uint8_t *sig, size_t *sig_len)
{
	EVP_MD_CTX *md = NULL;
	uint8_t *tmp = NULL;
	size_t len = 0, cap = 0;
	int r = PC_ERR_INVALID;

	*sig_len = 0;
	if (!jose_alg_key_ok(alg, pkey) || (in == NULL && n != 0))
		goto out;
	if ((r = md_ctx_init(&md, pkey, alg, true)) != 0)
		goto out;
	r = PC_ERR_CRYPTO;
	/* One-shot: Ed25519 has no streaming form. */
	if (EVP_DigestSign(md, NULL, &len, in, n) != 1 || len == 0 ||
	    len > JWS_SIG_MAX)
		goto out;
	cap = len;
	tmp = xmalloc(cap);
	if (EVP_DigestSign(md, tmp, &len, in, n) != 1)
		goto out;
	if (alg == JOSE_ALG_ES256) {
		if ((r = ecdsa_der_to_jose(tmp, len, sig)) != 0)
			goto out;
		*sig_len = JWS_ES256_LEN;
	} else {
		if (len > JWS_SIG_MAX)
			goto out;
		memcpy(sig, tmp, len);
		*sig_len = len;
	}
	r = 0;
out:
	if (r != 0)
		ERR_clear_error();
	pc_freezero(tmp, cap);
	EVP_MD_CTX_free(md);
	return r;
}

/*
 * Prepared ES256 signing contexts for one key (issue 13). Setting up a
 * digest-sign context per token (fetching SHA-256 and the ECDSA method by
 * name, checking the key's curve, duplicating the key context) cost about
 * as much CPU as the signature itself. A pool keeps contexts initialised
 * for signing once and lends one to a thread per signature: an
 * EVP_PKEY_CTX is not safe for two signatures at once, so a context is
 * only ever in one thread's hands; every signature still draws its own
 * nonce. The pool holds a reference to the key; freeing the pool (with the
 * key ring) frees the contexts and so drops the private key.
 */
#define JWS_POOL_MAX 32

struct jws_sign_ctx {
	EVP_PKEY_CTX *pctx;
	EVP_MD_CTX *mctx;
};

struct jws_sign_pool {
	pthread_mutex_t mu;
	EVP_PKEY *pkey;
	EVP_MD *sha256;
	size_t n; /* idle contexts in idle[0..n) */
	struct jws_sign_ctx idle[JWS_POOL_MAX];
};

struct jws_sign_pool *
jws_sign_pool_new(EVP_PKEY *pkey, enum jose_alg alg)
{
	struct jws_sign_pool *p;

	/* Only ES256: an RSA signature costs a hundred times its set-up. */
	if (alg != JOSE_ALG_ES256 || !jose_alg_key_ok(alg, pkey))
		return NULL;
	p = xcalloc(1, sizeof(*p));
	if ((p->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    EVP_PKEY_up_ref(pkey) != 1) {
		ERR_clear_error();
		EVP_MD_free(p->sha256);
		free(p);
		return NULL;
	}
	p->pkey = pkey;
	pthread_mutex_init(&p->mu, NULL);
	return p;
}

static void
sign_ctx_free(struct jws_sign_ctx *c)
{
	EVP_PKEY_CTX_free(c->pctx);
	EVP_MD_CTX_free(c->mctx);
	c->pctx = NULL;
	c->mctx = NULL;
}

void
jws_sign_pool_free(struct jws_sign_pool *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		sign_ctx_free(&p->idle[i]);
	pthread_mutex_destroy(&p->mu);
	EVP_MD_free(p->sha256);
	EVP_PKEY_free(p->pkey);
	free(p);
}

/* An idle context, or a new one. */
static int
pool_take(struct jws_sign_pool *p, struct jws_sign_ctx *c)
{
	c->pctx = NULL;
	c->mctx = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->n > 0)
		*c = p->idle[--p->n];
	pthread_mutex_unlock(&p->mu);
	if (c->pctx != NULL)
		return 0;
	if ((c->mctx = EVP_MD_CTX_new()) == NULL ||
	    (c->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, p->pkey, NULL)) ==
		NULL ||
	    EVP_PKEY_sign_init(c->pctx) != 1) {
		sign_ctx_free(c);
		return PC_ERR_CRYPTO;
	}
	return 0;
}

/* Back to the pool after a good signature; a full pool frees it. */
static void
pool_give(struct jws_sign_pool *p, struct jws_sign_ctx *c)
{
	pthread_mutex_lock(&p->mu);
	if (p->n < JWS_POOL_MAX) {
		p->idle[p->n++] = *c;
		c->pctx = NULL;
		c->mctx = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	sign_ctx_free(c);
}

int
jws_sign_pool_sign(struct jws_sign_pool *p, const uint8_t *in, size_t n,
    uint8_t *sig, size_t *sig_len)
{
	struct jws_sign_ctx c;
	uint8_t digest[PC_SHA256_LEN], der[JWS_ES256_DER_MAX];
	unsigned int dlen = 0;
	size_t len = sizeof(der);
	int r = PC_ERR_INVALID;

	*sig_len = 0;
	if (p == NULL || (in == NULL && n != 0))
		return r;
	if ((r = pool_take(p, &c)) != 0)
		goto out;
	r = PC_ERR_CRYPTO;
	if (EVP_DigestInit_ex2(c.mctx, p->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(c.mctx, in, n) != 1 ||
	    EVP_DigestFinal_ex(c.mctx, digest, &dlen) != 1 ||
	    dlen != sizeof(digest) ||
	    EVP_PKEY_sign(c.pctx, der, &len, digest, sizeof(digest)) != 1 ||
	    (r = ecdsa_der_to_jose(der, len, sig)) != 0) {
		/* A context that failed is not lent again. */
		sign_ctx_free(&c);
		goto out;
	}
	*sig_len = JWS_ES256_LEN;
	pool_give(p, &c);
out:
	if (r != 0)
		ERR_clear_error();
	sodium_memzero(digest, sizeof(digest));
	return r;
}

int
jws_verify_raw(EVP_PKEY *pkey, enum jose_alg alg, const uint8_t *in, size_t n,
    const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *md = NULL;
	uint8_t *der = NULL;
	const uint8_t *s = sig;
	size_t want, s_len = sig_len;
	int r = PC_ERR_VERIFY;

	if (!jose_alg_key_ok(alg, pkey) || sig == NULL ||
	    (in == NULL && n != 0))
		goto out;
	/* Exact lengths: no DER for ES256, no short RSA signatures. */
	switch (alg) {
	case JOSE_ALG_ES256: want = JWS_ES256_LEN; break;
	case JOSE_ALG_EDDSA: want = JWS_EDDSA_LEN; break;
	default: want = (size_t)EVP_PKEY_get_size(pkey); break;
	}
	if (sig_len != want)
		goto out;
	if (alg == JOSE_ALG_ES256) {
		if (ecdsa_jose_to_der(sig, &der, &s_len) != 0)
			goto out;
		s = der;
	}
	if (md_ctx_init(&md, pkey, alg, false) != 0)
		goto out;
	/* 1 is a good signature; 0 a bad one, negative an error. */
	if (EVP_DigestVerify(md, s, s_len, in, n) != 1)
		goto out;
	r = 0;
out:
	if (r != 0)
		ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return r;
}

/* Appends the base64url of p to b. */
static int
put_b64(struct buf *b, const uint8_t *p, size_t n)
{
	size_t len = b64url_encoded_len(n);
	int r;

	if ((r = buf_reserve(b, len)) != 0)
		return r;
	b64url_encode(p, n, (char *)b->p + b->len);
	b->len += len;
	return 0;
}

/* Serializes v compactly into a malloc'd string. */
static int
dump_compact(const json_t *v, char **out, size_t *len)
{
	*out = json_dumps(v, JSON_COMPACT);
	if (*out == NULL)
		return PC_ERR_INVALID;
	*len = strlen(*out);
	return 0;
}

int
jws_sign_compact(enum jose_alg alg, const char *kid, const char *typ,
    const json_t *payload, jws_sign_fn fn, void *ctx, char **out)
{
	char *ps = NULL;
	size_t ps_len = 0;
	int r;

	*out = NULL;
	if (!json_is_object(payload))
		return PC_ERR_INVALID;
	if ((r = dump_compact(payload, &ps, &ps_len)) != 0)
		return r;
	r = jws_sign_compact_raw(alg, kid, typ, ps, ps_len, fn, ctx, out);
	pc_freezero(ps, ps_len);
	return r;
}

/* {"alg":...,"kid":...,"typ":...}, written without a jansson object. */
static int
header_json(struct buf *h, enum jose_alg alg, const char *kid, const char *typ)
{
	const char *name = jose_alg_name(alg);
	int r;

	if ((r = buf_putc(h, '{')) != 0 ||
	    (r = jose_json_put_member(h, true, "alg")) != 0 ||
	    (r = jose_json_put_str(h, name, strlen(name))) != 0)
		return r;
	if (kid != NULL &&
	    ((r = jose_json_put_member(h, false, "kid")) != 0 ||
		(r = jose_json_put_str(h, kid, strlen(kid))) != 0))
		return r;
	if (typ != NULL &&
	    ((r = jose_json_put_member(h, false, "typ")) != 0 ||
		(r = jose_json_put_str(h, typ, strlen(typ))) != 0))
		return r;
	return buf_putc(h, '}');
}

int
jws_sign_compact_raw(enum jose_alg alg, const char *kid, const char *typ,
    const char *payload, size_t payload_len, jws_sign_fn fn, void *ctx,
    char **out)
{
	struct buf b, h;
	size_t sig_len;
	uint8_t sig[JWS_SIG_MAX];
	int r = PC_ERR_INVALID;

	buf_init(&b, JWS_SIGN_MAX_LEN);
	buf_init(&h, JWS_KID_MAX * 2 + 128);
	*out = NULL;
	if (jose_alg_name(alg) == NULL || fn == NULL || payload == NULL ||
	    payload_len == 0 || payload[0] != '{')
		goto out;
	/* A kid our own verifier would refuse is not issued. */
	if (kid != NULL && strlen(kid) > JWS_KID_MAX)
		goto out;
	if ((r = header_json(&h, alg, kid, typ)) != 0)
		goto out;
	/* One allocation for an ES256 token: header, payload, signature. */
	if ((r = buf_reserve(&b,
		 b64url_encoded_len(h.len) + b64url_encoded_len(payload_len) +
		     b64url_encoded_len(JWS_ES256_LEN) + 2)) != 0)
		goto out;
	if ((r = put_b64(&b, h.p, h.len)) != 0 ||
	    (r = buf_putc(&b, '.')) != 0 ||
	    (r = put_b64(&b, (const uint8_t *)payload, payload_len)) != 0)
		goto out;
	sig_len = sizeof(sig);
	if ((r = fn(ctx, b.p, b.len, sig, &sig_len)) != 0)
		goto out;
	r = PC_ERR_INTERNAL;
	if (sig_len == 0 || sig_len > sizeof(sig))
		goto out;
	if ((r = buf_putc(&b, '.')) != 0 ||
	    (r = put_b64(&b, sig, sig_len)) != 0)
		goto out;
	*out = buf_steal(&b);
	r = 0;
out:
	buf_free(&h);
	buf_free(&b);
	return r;
}

/* Decodes one segment into a fresh allocation. */
static int
seg_decode(struct str seg, uint8_t **outp, size_t *out_len)
{
	uint8_t *p;

	*outp = NULL;
	*out_len = 0;
	if (seg.len == 0)
		return PC_ERR_INVALID;
	p = xmalloc(seg.len);
	if (b64url_decode(seg.p, seg.len, p, seg.len, out_len) != 0) {
		free(p);
		return PC_ERR_INVALID;
	}
	*outp = p;
	return 0;
}

/*
 * Whether the token's "typ" matches want: case-insensitive, with an
 * "application/" prefix optional on either side (RFC 7515 §4.1.9).
 */
static bool
typ_matches(const json_t *hdr, const char *want)
{
	static const char app[] = "application/";
	const json_t *v = json_object_get(hdr, "typ");
	struct str t, w = str_from(want);

	if (!json_is_string(v))
		return false;
	t.p = json_string_value(v);
	t.len = json_string_length(v);
	if (t.len >= sizeof(app) - 1 &&
	    strncasecmp(t.p, app, sizeof(app) - 1) == 0) {
		t.p += sizeof(app) - 1;
		t.len -= sizeof(app) - 1;
	}
	if (w.len >= sizeof(app) - 1 &&
	    strncasecmp(w.p, app, sizeof(app) - 1) == 0) {
		w.p += sizeof(app) - 1;
		w.len -= sizeof(app) - 1;
	}
	return t.len == w.len && t.len > 0 && strncasecmp(t.p, w.p, t.len) == 0;
}

/*
 * The key for the header: by exact "kid" bytes when present, else the only
 * key. Its one algorithm must be alg (JW-02); two keys answering for the
 * same kid and alg are ambiguous and refused.
 */
static int
key_select(const struct jws_verify_opts *opts, const json_t *hdr,
    enum jose_alg alg, const struct jws_key **keyp)
{
	const json_t *kid = json_object_get(hdr, "kid");
	const struct jws_key *k, *found = NULL;
	const char *kp;
	size_t i, kl;

	*keyp = NULL;
	if (kid == NULL) {
		if (opts->nkeys != 1)
			return PC_ERR_VERIFY;
		found = &opts->keys[0];
	} else {
		/* An opaque map key: never a path, never SQL (JW-03). */
		if (!json_is_string(kid) ||
		    json_string_length(kid) > JWS_KID_MAX)
			return PC_ERR_INVALID;
		kp = json_string_value(kid);
		kl = json_string_length(kid);
		for (i = 0; i < opts->nkeys; i++) {
			k = &opts->keys[i];
			if (k->kid == NULL || strlen(k->kid) != kl ||
			    memcmp(k->kid, kp, kl) != 0 || k->alg != alg)
				continue;
			if (found != NULL)
				return PC_ERR_VERIFY;
			found = k;
		}
	}
	if (found == NULL || found->alg != alg || found->pkey == NULL)
		return PC_ERR_VERIFY;
	*keyp = found;
	return 0;
}

/*
 * DPoP (RFC 9449 §4.2, §4.3 item 7): the public key the header's "jwk"
 * gives for alg. Private members are refused outright, not ignored: a
 * client that sends its private key has leaked it.
 */
static int
key_from_header(const json_t *hdr, enum jose_alg alg, EVP_PKEY **out)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi",
		"oth", "k" };
	const json_t *jwk = json_object_get(hdr, "jwk");
	size_t i;

	*out = NULL;
	if (!json_is_object(jwk))
		return PC_ERR_INVALID;
	for (i = 0; i < PC_NELEM(priv); i++)
		if (json_object_get(jwk, priv[i]) != NULL)
			return PC_ERR_INVALID;
	return jwk_to_pkey(jwk, alg, out) == 0 ? 0 : PC_ERR_VERIFY;
}

/* The header's "alg" if it is one of opts->algs, else INVALID. */
static enum jose_alg
alg_allowed(const struct jws_verify_opts *opts, const json_t *hdr)
{
	const json_t *v = json_object_get(hdr, "alg");
	enum jose_alg alg;
	size_t i;

	if (!json_is_string(v))
		return JOSE_ALG_INVALID;
	/* Exact bytes: "none", "NONE", "HS256" are no jose_alg at all. */
	alg = jose_alg_parse(json_string_value(v), json_string_length(v));
	if (alg == JOSE_ALG_INVALID)
		return JOSE_ALG_INVALID;
	for (i = 0; i < opts->nalgs; i++)
		if (opts->algs[i] == alg)
			return alg;
	return JOSE_ALG_INVALID;
}

/* key_in_header: jws_verify_jwk (opts->keys unused). */
static int
verify_compact(const char *token, size_t len,
    const struct jws_verify_opts *opts, bool key_in_header,
    struct jws_verified *out)
{
	struct str tok, seg[3], rest;
	const struct jws_key *key = NULL;
	json_t *hdr = NULL, *payload = NULL;
	uint8_t *hb = NULL, *pb = NULL, *sb = NULL;
	size_t hb_len = 0, pb_len = 0, sb_len = 0, i;
	enum jose_alg alg;
	int r = PC_ERR_INVALID;

	memset(out, 0, sizeof(*out));
	if (token == NULL || opts == NULL ||
	    (key_in_header && opts->nkeys > 0) ||
	    (opts->nkeys > 0 && opts->keys == NULL) ||
	    (opts->nalgs > 0 && opts->algs == NULL))
		goto out;
	if (len > JWS_MAX_LEN) {
		r = PC_ERR_TOO_LARGE;
		goto out;
	}
	/* Exactly three non-empty segments: not JSON, not a JWE. */
	tok = (struct str){ token, len };
	if (str_split(tok, '.', &seg[0], &rest) != 0 ||
	    str_split(rest, '.', &seg[1], &seg[2]) != 0 ||
	    memchr(seg[2].p, '.', seg[2].len) != NULL)
		goto out;
	if ((r = seg_decode(seg[0], &hb, &hb_len)) != 0 ||
	    (r = seg_decode(seg[1], &pb, &pb_len)) != 0 ||
	    (r = seg_decode(seg[2], &sb, &sb_len)) != 0)
		goto out;

	/* The header decides only which key and algorithm to try. */
	r = PC_ERR_INVALID;
	if (jose_json_parse((const char *)hb, hb_len, JWS_HDR_DEPTH, &hdr) !=
		0 ||
	    !json_is_object(hdr))
		goto out;
	for (i = 0; i < PC_NELEM(hdr_forbidden); i++)
		if (json_object_get(hdr, hdr_forbidden[i]) != NULL &&
		    !(key_in_header && strcmp(hdr_forbidden[i], "jwk") == 0))
			goto out;
	if (json_object_get(hdr, "typ") != NULL &&
	    !json_is_string(json_object_get(hdr, "typ")))
		goto out;
	r = PC_ERR_VERIFY;
	if ((alg = alg_allowed(opts, hdr)) == JOSE_ALG_INVALID)
		goto out;
	if (key_in_header)
		r = key_from_header(hdr, alg, &out->jwk);
	else
		r = key_select(opts, hdr, alg, &key);
	if (r != 0)
		goto out;

	/* The signing input is the first two segments as sent. */
	r = PC_ERR_VERIFY;
	if (jws_verify_raw(key != NULL ? key->pkey : out->jwk, alg,
		(const uint8_t *)token, seg[0].len + 1 + seg[1].len, sb,
		sb_len) != 0)
		goto out;
	if (opts->typ != NULL && !typ_matches(hdr, opts->typ))
		goto out;

	/* Verified: now the payload may be parsed. */
	r = PC_ERR_INVALID;
	if (jose_json_parse(
		(const char *)pb, pb_len, JWS_PAYLOAD_DEPTH, &payload) != 0 ||
	    !json_is_object(payload))
		goto out;
	out->header = hdr;
	out->payload = payload;
	out->key = key;
	hdr = payload = NULL;
	r = 0;
out:
	if (r != 0) {
		EVP_PKEY_free(out->jwk);
		out->jwk = NULL;
	}
	json_decref(hdr);
	json_decref(payload);
	pc_freezero(hb, hb_len);
	pc_freezero(pb, pb_len);
	free(sb);
	return r;
}

int
jws_verify_compact(const char *token, size_t len,
    const struct jws_verify_opts *opts, struct jws_verified *out)
{
	return verify_compact(token, len, opts, false, out);
}

int
jws_verify_jwk(const char *token, size_t len, const enum jose_alg *algs,
    size_t nalgs, const char *typ, struct jws_verified *out)
{
	const struct jws_verify_opts o = { NULL, 0, algs, nalgs, typ };

	return verify_compact(token, len, &o, true, out);
}

void
jws_verified_free(struct jws_verified *v)
{
	if (v == NULL)
		return;
	json_decref(v->header);
	json_decref(v->payload);
	EVP_PKEY_free(v->jwk);
	v->jwk = NULL;
	v->header = NULL;
	v->payload = NULL;
	v->key = NULL;
}
