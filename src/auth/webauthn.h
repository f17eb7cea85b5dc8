/*
 * WebAuthn Level 3 verification, pure (no store, no clock): the
 * attestation object parsed with libcbor, authenticator data, COSE keys,
 * attestation statements and assertions verified with libfido2, OpenSSL
 * where libfido2 does not reach (WA-01, WA-03, WA-04, WA-06). Every input
 * is attacker-controlled and fuzzed (tests/fuzz/fuzz_webauthn.c).
 */
#ifndef PC_AUTH_WEBAUTHN_H
#define PC_AUTH_WEBAUTHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define WA_CHALLENGE_BYTES 32
#define WA_CRED_ID_MAX 1023 /* WebAuthn L3 §5.8.3 */
#define WA_COSE_ALG_ES256 (-7)
#define WA_COSE_ALG_EDDSA (-8)
#define WA_COSE_ALG_RS256 (-257)

/* The relying party: rp_id = the issuer's host, origin = the issuer's. */
struct wa_rp {
	const char *rp_id;
	const char *origin;
};

/* A credential an enrolment proved (wa_register_verify). */
struct wa_new_cred {
	uint8_t *cred_id; /* malloc'd */
	size_t cred_id_len;
	uint8_t *cose_key; /* the COSE_Key bytes as sent; malloc'd */
	size_t cose_key_len;
	int alg; /* WA_COSE_ALG_* */
	uint32_t sign_count;
	uint8_t aaguid[16];
	bool up, uv, be, bs; /* authenticator data flags */
	char fmt[16];	     /* attestation statement format */
	bool attestation_verified;
};
void wa_new_cred_clear(struct wa_new_cred *c);

/*
 * navigator.credentials.create() (WebAuthn L3 §7.1): clientDataJSON's
 * type "webauthn.create", challenge and origin; rpIdHash; UP always, UV
 * when uv_required; an allowed algorithm and a well-formed key; the
 * attestation statement verified for the formats libfido2 knows, "none"
 * accepted. 0 or PC_ERR_VERIFY / PC_ERR_INVALID.
 */
int wa_register_verify(const struct wa_rp *rp,
    const uint8_t challenge[WA_CHALLENGE_BYTES], const uint8_t *client_data,
    size_t client_data_len, const uint8_t *att_obj, size_t att_obj_len,
    bool uv_required, struct wa_new_cred *out) PC_WUR;

/* What a verified assertion said. */
struct wa_assertion {
	uint32_t sign_count;
	bool up, uv, be, bs;
};

/*
 * navigator.credentials.get() (WebAuthn L3 §7.2) against a stored key:
 * type "webauthn.get", challenge, origin, rpIdHash, UP, UV when
 * uv_required, and the signature over authData || SHA-256(clientData).
 * The counter is the caller's (wa_counter_ok). 0 or PC_ERR_VERIFY /
 * PC_ERR_INVALID.
 */
int wa_assert_verify(const struct wa_rp *rp,
    const uint8_t challenge[WA_CHALLENGE_BYTES], const uint8_t *client_data,
    size_t client_data_len, const uint8_t *auth_data, size_t auth_data_len,
    const uint8_t *sig, size_t sig_len, int alg, const uint8_t *cose_key,
    size_t cose_key_len, bool uv_required, struct wa_assertion *out) PC_WUR;

/*
 * WA-03: a counter of 0 on both sides means the authenticator keeps none;
 * otherwise the new one must be strictly greater than the stored one.
 */
bool wa_counter_ok(uint32_t stored, uint32_t seen);

#endif
