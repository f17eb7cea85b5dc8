/*
 * libFuzzer driver for the WebAuthn verification (auth/webauthn.c,
 * webauthn_cbor.c, webauthn_att.c; WA-01, WA-04, WA-06): the attestation
 * object, authenticator data, COSE keys and clientDataJSON are all
 * attacker-controlled. Input: a mode byte, then length-prefixed parts
 * (2 bytes big-endian each), the last part running to the end:
 *   bit 0 clear: registration   cd | attestationObject
 *   bit 0 set:   assertion      cd | authData | signature | COSE key
 *   bit 1: uv_required; bits 2-3 the stored alg (ES256, EdDSA, RS256,
 *   -35 = an algorithm we do not accept).
 * The relying party is localhost / http://localhost:8080 and the
 * challenge 32 bytes of 0x2a, as tests/fuzz/corpus/webauthn/ was made
 * (tests/tools/wa_authn). Checks: no crash, leak or hang; an accepted
 * registration gives a credential id of 1..1023 bytes, a COSE key and an
 * accepted algorithm, a refused one leaves the output empty; an accepted
 * assertion had UP (and UV when required).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/webauthn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct wa_rp rp = { "localhost", "http://localhost:8080" };

static bool
part(const uint8_t **p, size_t *n, const uint8_t **out, size_t *out_len)
{
	size_t len;

	if (*n < 2)
		return false;
	len = (size_t)(*p)[0] << 8 | (*p)[1];
	if (*n - 2 < len)
		return false;
	*out = *p + 2;
	*out_len = len;
	*p += 2 + len;
	*n -= 2 + len;
	return true;
}

/* Each part in its own allocation, so ASan sees reads past its end. */
static uint8_t *
dup(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n > 0 ? n : 1);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

static void
fuzz_register(const uint8_t *challenge, const uint8_t *cd, size_t cd_len,
    const uint8_t *att, size_t att_len, bool uv)
{
	struct wa_new_cred c;
	int r = wa_register_verify(
	    &rp, challenge, cd, cd_len, att, att_len, uv, &c);

	if (r == 0) {
		if (c.cred_id == NULL || c.cred_id_len == 0 ||
		    c.cred_id_len > WA_CRED_ID_MAX || c.cose_key == NULL ||
		    c.cose_key_len == 0 || !c.up || (uv && !c.uv) ||
		    (c.alg != WA_COSE_ALG_ES256 && c.alg != WA_COSE_ALG_EDDSA &&
			c.alg != WA_COSE_ALG_RS256))
			abort();
	} else if (c.cred_id != NULL || c.cose_key != NULL) {
		abort();
	}
	wa_new_cred_clear(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int algs[4] = { WA_COSE_ALG_ES256, WA_COSE_ALG_EDDSA,
		WA_COSE_ALG_RS256, -35 };
	uint8_t challenge[WA_CHALLENGE_BYTES];
	const uint8_t *p, *cd, *ad, *sig;
	size_t n, cd_len, ad_len, sig_len;
	uint8_t *cd_m = NULL, *ad_m = NULL, *sig_m = NULL, *rest_m = NULL;
	uint8_t mode;
	bool uv;

	if (size < 1 || size > 65536)
		return 0;
	memset(challenge, 0x2a, sizeof(challenge));
	mode = data[0];
	uv = (mode & 2) != 0;
	p = data + 1;
	n = size - 1;
	if (!part(&p, &n, &cd, &cd_len))
		return 0;
	cd_m = dup(cd, cd_len);
	if ((mode & 1) == 0) {
		rest_m = dup(p, n);
		if (cd_m != NULL && rest_m != NULL)
			fuzz_register(challenge, cd_m, cd_len, rest_m, n, uv);
	} else if (part(&p, &n, &ad, &ad_len) && part(&p, &n, &sig, &sig_len)) {
		struct wa_assertion a;
		int r;

		ad_m = dup(ad, ad_len);
		sig_m = dup(sig, sig_len);
		rest_m = dup(p, n);
		if (cd_m != NULL && ad_m != NULL && sig_m != NULL &&
		    rest_m != NULL) {
			r = wa_assert_verify(&rp, challenge, cd_m, cd_len, ad_m,
			    ad_len, sig_m, sig_len, algs[(mode >> 2) & 3],
			    rest_m, n, uv, &a);
			if (r == 0 && (!a.up || (uv && !a.uv)))
				abort();
		}
	}
	free(cd_m);
	free(ad_m);
	free(sig_m);
	free(rest_m);
	return 0;
}
