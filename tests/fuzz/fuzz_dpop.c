/*
 * libFuzzer driver for the untrusted read of a DPoP proof (oauth/dpop.c:
 * dpop_proof_verify, jose/jws.c: jws_verify_jwk; RFC 9449 §4.3, RT-06).
 * Input: one flag byte (bit 0: an access token is presented, so ath is
 * checked), then the proof. The expected request is RFC 9449 §4.1's
 * (POST https://server.example.com/token at its iat), so the RFC's
 * example proof in the corpus passes. Checks: no crash or leak; an
 * accepted proof gives a 43-character thumbprint, a 64-hex replay key and
 * an iat inside the window; a refused one says why and gives no
 * thumbprint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth/oauth.h"

#define NOW INT64_C(1562262616)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpop_expect e = { "POST", "https://server.example.com/token",
		NULL, NOW };
	struct dpop_claims c;
	char *proof;
	int r;

	if (size < 1 || size > 2 * JWS_MAX_LEN)
		return 0;
	if ((data[0] & 1) != 0)
		e.access_token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
	proof = malloc(size);
	if (proof == NULL)
		return 0;
	memcpy(proof, data + 1, size - 1);
	proof[size - 1] = '\0';
	r = dpop_proof_verify(proof, size - 1, &e, &c);
	if (r == 0) {
		if (strlen(c.jkt) != DPOP_JKT_LEN ||
		    strlen(c.jti_hash) != PC_SHA256_HEX_LEN || c.why != NULL ||
		    c.iat < NOW - DPOP_IAT_PAST || c.iat > NOW + DPOP_IAT_AHEAD)
			abort();
	} else if (c.why == NULL || c.jkt[0] != '\0') {
		abort();
	}
	free(proof);
	return 0;
}
