/*
 * oauth/dpop.h: DPoP (RFC 9449; issue 15, SECURITY.md RT-06, TX-06,
 * IR-03, DS-04): the proof verifier, server nonces and the checks the
 * endpoints call (src/oauth/dpop.c). Included at the end of
 * oauth/domain.h, of which it was a section.
 */
#ifndef PC_OAUTH_DPOP_H
#define PC_OAUTH_DPOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oauth/domain.h"

/* ---- DPoP (src/oauth/dpop.c; RFC 9449; RT-06, TX-06, IR-03, DS-04) ---- */

#define DPOP_JKT_LEN 43	   /* RFC 7638 SHA-256 thumbprint, base64url */
#define DPOP_IAT_PAST 60   /* s a proof's iat may lie behind (Part 2.5) */
#define DPOP_IAT_AHEAD 15  /* s it may lie ahead */
#define DPOP_JTI_MAX 256   /* bytes of a jti (DS-04) */
#define DPOP_NONCE_MAX 256 /* bytes of a nonce we read */
#define DPOP_HTU_MAX 2048  /* bytes of an htu we read */
#define DPOP_NONCE_SLOT 60 /* s: a nonce is good for this slot and the next */
#define DPOP_NONCE_LEN 22  /* base64url of 128 bits */
/* The proof algorithms (JW-02: asymmetric only), as discovery lists them. */
#define DPOP_ALGS "ES256 RS256 PS256 EdDSA"

/* What a proof must match (RFC 9449 §4.3), for dpop_proof_verify. */
struct dpop_expect {
	const char *htm; /* the request's method, exactly ("POST") */
	const char *htu; /* the endpoint's URL (issuer + path) */
	/* The access token presented with the proof: ath must be its
	 * SHA-256, base64url (§4.3 item 12); NULL: ath is not looked at. */
	const char *access_token;
	int64_t now;
};

/* What a verified proof says. */
struct dpop_claims {
	char jkt[DPOP_JKT_LEN + 1]; /* its key's thumbprint */
	/* The replay cache's key: SHA-256 hex of jkt, a NUL and the jti. */
	char jti_hash[PC_SHA256_HEX_LEN + 1];
	int64_t iat;
	char nonce[DPOP_NONCE_MAX + 1]; /* "" when the proof had none */
	const char *why;		/* on failure: what was wrong */
};

/*
 * The pure check of one proof (no store, no nonce): a compact JWS of typ
 * dpop+jwt signed with one of DPOP_ALGS by the public key in its "jwk"
 * header (no private members; jku, x5u, x5c, crit refused), within
 * JWS_MAX_LEN; claims jti (1..DPOP_JTI_MAX bytes), htm equal to e->htm,
 * htu equal to e->htu once its query and fragment are dropped (scheme and
 * host compared without case, default ports ignored), iat within
 * [now - DPOP_IAT_PAST, now + DPOP_IAT_AHEAD], ath when e->access_token,
 * nonce (if any) at most DPOP_NONCE_MAX bytes. 0 with out filled;
 * PC_ERR_INVALID or PC_ERR_VERIFY with out->why.
 */
int dpop_proof_verify(const char *proof, size_t len,
    const struct dpop_expect *e, struct dpop_claims *out) PC_WUR;
/* The server nonce of time slot (now / DPOP_NONCE_SLOT) under key. */
void dpop_nonce_make(
    const uint8_t key[32], int64_t now, char out[DPOP_NONCE_LEN + 1]);
/* Whether nonce is the one of now's slot or of the slot before it. */
bool dpop_nonce_valid(const uint8_t key[32], const char *nonce, int64_t now);

struct req;
struct resp;

/* What dpop_check() is asked to verify. */
struct dpop_want {
	/* The endpoint's path: the proof's htu must be issuer + path
	 * ("/token", "/userinfo", "/par"); its htm the request's method. */
	const char *path;
	/* The access token the request presents, for ath (resource
	 * endpoints); NULL at /token and /par. */
	const char *access_token;
	bool required; /* no DPoP header is an error too */
	/* Errors as a protected resource (RFC 9449 §7.1): 401 with
	 * WWW-Authenticate: DPoP; else as the token endpoint (§5): 400
	 * JSON. */
	bool resource;
};

/* The outcome of dpop_check(). */
struct dpop_proof {
	bool present;		    /* a proof came and passed */
	char jkt[DPOP_JKT_LEN + 1]; /* its key's thumbprint; "" when none */
	/* The replay cache's entry (dpop_refresh_begin: not recorded yet). */
	char jti_hash[PC_SHA256_HEX_LEN + 1];
	int64_t jti_expires;
};

/*
 * THE DPoP check of a request (every endpoint that takes proofs calls
 * it): exactly one DPoP header (two: refused), dpop_proof_verify against
 * the request's method and issuer + want->path, the server nonce when the
 * dpop_nonce setting is on (missing or stale: use_dpop_nonce with a
 * DPoP-Nonce header; the header then rides on every answer to a proof),
 * and the jti unseen (recorded until the proof's window ends; a replay,
 * concurrent or not, is refused and audited as dpop.replay). 0 with out
 * filled (out->present false: no header, and none required); -1 with the
 * answer written: 400 invalid_dpop_proof / use_dpop_nonce (token
 * endpoint), 401 WWW-Authenticate: DPoP error="invalid_dpop_proof" /
 * "use_dpop_nonce" (resource), 503 when the replay cache is unreachable.
 */
int dpop_check(struct req *r, struct resp *w, const struct dpop_want *want,
    struct dpop_proof *out) PC_WUR;
/*
 * The refresh_token grant's DPoP (RT-06), in three steps so that the
 * proof's jti is recorded in the rotation's own commit rather than one of
 * its own. dpop_refresh_begin(): dpop_check_client(r, w, c, "/token")
 * without recording the jti (0, or -1 with the answer written).
 * dpop_family_tx(): in the rotation's transaction, with the family f
 * being rotated: a bound family (f->dpop_jkt) needs a proof of its key
 * (else PC_ERR_VERIFY), and the jti is recorded (a replay:
 * PC_ERR_DUPLICATE); either rolls the rotation back. dpop_refresh_refused():
 * after the rotation returned rc: true with the answer written when rc is
 * one of those (no proof: invalid_dpop_proof; another key: invalid_grant;
 * a replay: invalid_dpop_proof and dpop.replay), or when the rotation
 * failed otherwise and the jti, recorded now, was a replay.
 */
int dpop_refresh_begin(struct req *r, struct resp *w,
    const struct store_client *c, struct dpop_proof *out) PC_WUR;
int dpop_family_tx(struct db_conn *c, const struct store_family *f,
    const struct dpop_proof *dp, int64_t now) PC_WUR;
bool dpop_refresh_refused(
    struct req *r, struct resp *w, const struct dpop_proof *dp, int rc);
/*
 * dpop_check() at an endpoint where client c authenticated (/token, /par):
 * htu issuer + path, no ath, errors as the token endpoint's, and a proof
 * required when the client has dpop_required.
 */
int
dpop_check_client(struct req *r, struct resp *w, const struct store_client *c,
    const char *path, struct dpop_proof *out) PC_WUR;
/*
 * A protected resource's challenge (RFC 9449 §7.1): status, a JSON error
 * body, and WWW-Authenticate: DPoP algs="..."[, error="..."] (error NULL:
 * none, as for a request without credentials).
 */
void
dpop_challenge(struct resp *w, int status, const char *error, const char *desc);
/* Whether two thumbprints are the same (constant time). */
bool dpop_jkt_equal(const char *a, const char *b);

/* ---- end DPoP ---- */

#endif
