/*
 * Passkey verification rates, in process: what one passkey sign-in and
 * one passkey registration cost the server's CPU in src/auth/webauthn.c,
 * without HTTP, the store or the challenge bookkeeping around them (no
 * Argon2id is on these paths). The HTTP figures need the passkey
 * endpoints; these are the floor under them.
 *
 *   bench-passkeyrate SECONDS
 *
 * One thread. Real responses made once by the software authenticator
 * (tests/tools/wa_soft.c: OpenSSL keys, libcbor), then verified in a loop
 * for SECONDS each; verification keeps no state, so the same response
 * costs the same every time. Loops:
 *   assert_es256   wa_assert_verify() of an ES256 assertion (the common
 *                  passkey: platform authenticators, security keys)
 *   assert_eddsa   the same with Ed25519
 *   assert_rs256   the same with RSA-2048 (Windows Hello)
 *   register_none  wa_register_verify() of an ES256 registration with
 *                  attestation "none" (what browsers send by default)
 *   register_packed  the same with packed self attestation
 * Prints one line each:
 *   NAME verifications N seconds S per_s R cpu_us C
 * per_s: verifications per second of wall time; cpu_us: process CPU time
 * per verification (CLOCK_PROCESS_CPUTIME_ID). Exit 1 when a response
 * does not verify (the figure would measure a refusal).
 *
 * Built by bench/run.sh against the static libraries of BUILD_DIR:
 *   cc -O2 -Isrc -I. bench/passkeyrate.c tests/tools/wa_soft.c
 *      BUILD_DIR/src/libpc_webauthn.a BUILD_DIR/src/libpc_b64url.a
 *      BUILD_DIR/src/libpc_util.a $(pkg-config --cflags --libs libfido2
 *      libcbor jansson libcrypto libsodium)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "auth/webauthn.h"
#include "tests/tools/wa_soft.h"

#define RP_ID "localhost"
#define ORIGIN "http://localhost:8080"

static const struct wa_rp rp = { RP_ID, ORIGIN };

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One ceremony's inputs, made once. */
struct sample {
	uint8_t challenge[32];
	char *client_data;	 /* create */
	struct wa_bytes att_obj; /* create */
	char *get_data;		 /* get */
	struct wa_bytes auth_data, sig, cose;
	int alg;
};

static int
sample_make(int alg, const char *fmt, struct sample *s)
{
	uint8_t cred_id[16];
	struct wa_bytes reg_ad = { 0 };
	struct wa_soft_key k;
	int r = -1;

	memset(s, 0, sizeof(*s));
	randombytes_buf(s->challenge, sizeof(s->challenge));
	randombytes_buf(cred_id, sizeof(cred_id));
	if (wa_soft_key_new(alg, 0, &k) != 0)
		return -1;
	s->alg = alg;
	s->client_data =
	    wa_soft_client_data("webauthn.create", s->challenge, ORIGIN, NULL);
	s->get_data =
	    wa_soft_client_data("webauthn.get", s->challenge, ORIGIN, NULL);
	if (s->client_data == NULL || s->get_data == NULL ||
	    wa_soft_cose(&k, &s->cose) != 0 ||
	    wa_soft_auth_data(RP_ID, 0x05, 0, NULL, cred_id, sizeof(cred_id),
		&s->cose, NULL, &reg_ad) != 0 ||
	    wa_soft_att_obj(fmt, &reg_ad, s->client_data, &k, NULL, NULL,
		&s->att_obj) != 0 ||
	    wa_soft_auth_data(RP_ID, 0x05, 1, NULL, NULL, 0, NULL, NULL,
		&s->auth_data) != 0 ||
	    wa_soft_sign_assertion(&k, &s->auth_data, s->get_data, &s->sig) !=
		0)
		goto out;
	r = 0;
out:
	wa_bytes_free(&reg_ad);
	wa_soft_key_free(&k);
	return r;
}

static void
sample_free(struct sample *s)
{
	free(s->client_data);
	free(s->get_data);
	wa_bytes_free(&s->att_obj);
	wa_bytes_free(&s->auth_data);
	wa_bytes_free(&s->sig);
	wa_bytes_free(&s->cose);
}

static int
one(const struct sample *s, bool reg)
{
	struct wa_new_cred c;
	struct wa_assertion a;
	int r;

	if (reg) {
		r = wa_register_verify(&rp, s->challenge,
		    (const uint8_t *)s->client_data, strlen(s->client_data),
		    s->att_obj.p, s->att_obj.n, true, &c);
		wa_new_cred_clear(&c);
		return r;
	}
	return wa_assert_verify(&rp, s->challenge, (const uint8_t *)s->get_data,
	    strlen(s->get_data), s->auth_data.p, s->auth_data.n, s->sig.p,
	    s->sig.n, s->alg, s->cose.p, s->cose.n, true, &a);
}

static int
loop(const char *name, int alg, const char *fmt, bool reg, double secs)
{
	struct sample s;
	double t0, c0, t, c;
	long n = 0;

	if (sample_make(alg, fmt, &s) != 0) {
		fprintf(stderr, "bench-passkeyrate: cannot make %s\n", name);
		return 1;
	}
	if (one(&s, reg) != 0) {
		fprintf(
		    stderr, "bench-passkeyrate: %s does not verify\n", name);
		sample_free(&s);
		return 1;
	}
	t0 = clock_s(CLOCK_MONOTONIC);
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	do {
		int i;

		for (i = 0; i < 16; i++)
			if (one(&s, reg) != 0) {
				sample_free(&s);
				return 1;
			}
		n += 16;
		t = clock_s(CLOCK_MONOTONIC) - t0;
	} while (t < secs);
	c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("%s verifications %ld seconds %.2f per_s %.0f cpu_us %.1f\n",
	    name, n, t, (double)n / t, c * 1e6 / (double)n);
	sample_free(&s);
	return 0;
}

int
main(int argc, char **argv)
{
	char *end = NULL;
	double secs = argc > 1 ? strtod(argv[1], &end) : 3;

	if ((argc > 1 && (end == argv[1] || *end != '\0')) || secs <= 0 ||
	    sodium_init() < 0) {
		fprintf(stderr, "usage: bench-passkeyrate SECONDS\n");
		return 1;
	}
	if (loop("assert_es256", WA_COSE_ALG_ES256, "none", false, secs) ||
	    loop("assert_eddsa", WA_COSE_ALG_EDDSA, "none", false, secs) ||
	    loop("assert_rs256", WA_COSE_ALG_RS256, "none", false, secs) ||
	    loop("register_none", WA_COSE_ALG_ES256, "none", true, secs) ||
	    loop("register_packed", WA_COSE_ALG_ES256, "packed", true, secs))
		return 1;
	return 0;
}
