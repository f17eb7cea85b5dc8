/*
 * Internals of the WebAuthn verification shared by auth/webauthn.c,
 * webauthn_cbor.c and webauthn_att.c; not for other modules.
 */
#ifndef PC_AUTH_WEBAUTHN_INT_H
#define PC_AUTH_WEBAUTHN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#include "auth/webauthn.h"

/* Nested containers: attestation object → attStmt → x5c is 3. */
#define WA_CBOR_MAX_DEPTH 8

/*
 * The first CBOR data item of p[0..n), checked with libcbor's streaming
 * decoder before anything is built from it: definite lengths only, no
 * tags, at most WA_CBOR_MAX_DEPTH nested arrays or maps, every declared
 * element present.
 * *item_len is its exact encoded length (the caller decides whether bytes
 * may follow). 0, PC_ERR_INVALID or PC_ERR_TOO_LARGE.
 */
int wa_cbor_scan(const uint8_t *p, size_t n, size_t *item_len) PC_WUR;

/* wa_cbor_scan() of all of p[0..n) and then cbor_load(); NULL if refused. */
cbor_item_t *wa_cbor_load_exact(const uint8_t *p, size_t n);

/* A CBOR integer (either sign) as int64_t; false if not one or too big. */
bool wa_cbor_int(const cbor_item_t *it, int64_t *out);

/* A definite text string equal to s. */
bool wa_cbor_text_is(const cbor_item_t *it, const char *s);

/*
 * A credential public key (COSE_Key, RFC 9053) checked per WA-06, with
 * its key in the raw form libfido2's *_pk_from_ptr() take: ES256 x || y
 * (64 bytes, a point on P-256), EdDSA x (32 bytes, a valid Ed25519
 * point), RS256 n || e (256 + 3 bytes: 2048-bit modulus, e = 65537).
 */
#define WA_PK_RAW_MAX (256 + 3)
struct wa_cose {
	int alg;
	uint8_t raw[WA_PK_RAW_MAX];
	size_t raw_len;
};
int wa_cose_parse(const uint8_t *p, size_t n, struct wa_cose *k) PC_WUR;

/* The libfido2 public key of k (es256_pk_t / eddsa_pk_t / rs256_pk_t). */
void *wa_cose_fido_pk(const struct wa_cose *k);
void wa_cose_fido_pk_free(int alg, void *pk);

/* Authenticator data (WebAuthn L3 §6.1), pointers into the input. */
#define WA_FLAG_UP 0x01
#define WA_FLAG_UV 0x04
#define WA_FLAG_BE 0x08
#define WA_FLAG_BS 0x10
#define WA_FLAG_AT 0x40
#define WA_FLAG_ED 0x80
struct wa_authdata {
	const uint8_t *rp_id_hash; /* 32 bytes */
	uint8_t flags;
	uint32_t sign_count;
	const uint8_t *aaguid; /* 16 bytes; AT only */
	const uint8_t *cred_id;
	size_t cred_id_len;
	const uint8_t *cose_key;
	size_t cose_key_len;
	const uint8_t *ext; /* the extensions map; ED only */
	size_t ext_len;
};

/*
 * Attestation statement of format fmt over auth_data (its attested
 * credential data already checked and parsed into ad and key) and the
 * client data hash cdh: "none" (empty statement, *verified = false),
 * "packed" (self or x5c), "fido-u2f", "tpm" (*verified = true). Any other
 * format or a statement that does not verify: PC_ERR_VERIFY.
 */
int wa_att_verify(const char *rp_id, const char *fmt,
    const cbor_item_t *att_stmt, const uint8_t *auth_data, size_t auth_data_len,
    const struct wa_authdata *ad, const struct wa_cose *key,
    const uint8_t cdh[32], bool *verified) PC_WUR;

#endif
