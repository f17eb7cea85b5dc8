/*
 * Raw ES256 signing rate: the machine's ceiling for minting access tokens.
 *
 *   bench-es256rate SECONDS
 *
 * One thread, one fresh P-256 key (OpenSSL EVP). Two loops of SECONDS
 * each:
 *   raw  EVP_PKEY_sign() of a 32-byte digest with one reused context: the
 *        bare ECDSA P-256 signature, nothing else;
 *   jwt  what one token costs the server's signer (src/jose/jws.c): a
 *        fresh EVP_DigestSign context per signature, SHA-256 over a
 *        typical 330-byte JWT signing input, and the DER signature turned
 *        into R || S.
 * Prints two lines:
 *   raw signatures N seconds S per_s R
 *   jwt signatures N seconds S per_s R
 * Exit 1 when OpenSSL fails.
 *
 * Built by bench/run.sh:
 *   cc -O2 bench/es256rate.c $(pkg-config --cflags --libs libcrypto)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A signing input the size of our client_credentials access tokens. */
static const char jwt_input[] =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6IjZiMDQ2MWNhZDdiMzZkODc"
    "ifQ.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjQ0MzQzIiwic3ViIjoicGNjX0FBQUFBQUFB"
    "QUFBQUFBQUFBQUFBQUEiLCJhdWQiOiJodHRwOi8vMTI3LjAuMC4xOjQ0MzQzIiwiY2xpZW50"
    "X2lkIjoicGNjX0FBQUFBQUFBQUFBQUFBQUFBQUFBQUEiLCJzY29wZSI6ImFwaS5yZWFkIiwi"
    "aWF0IjoxNzk1ODg1MjczLCJleHAiOjE3OTU4ODU1NzMsImp0aSI6IldDX3RKanVYREJ2VEtM"
    "ZllGR3drIn0";

static int
raw_loop(EVP_PKEY *pkey, double secs, long *n, double *took)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	unsigned char dgst[32], sig[80];
	double t0, end;
	int rc = 1;

	*n = 0;
	memset(dgst, 0x5a, sizeof(dgst));
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1)
		goto out;
	t0 = now_s();
	end = t0 + secs;
	do {
		size_t len = sizeof(sig);

		for (int i = 0; i < 64; i++, (*n)++) {
			len = sizeof(sig);
			if (EVP_PKEY_sign(ctx, sig, &len, dgst, sizeof(dgst)) !=
			    1)
				goto out;
			dgst[0] ^= sig[len - 1];
		}
	} while (now_s() < end);
	*took = now_s() - t0;
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int
jwt_one(EVP_PKEY *pkey, unsigned char *rs)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80];
	const unsigned char *p = der;
	size_t len = sizeof(der);
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	int rc = 1;

	if (md == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) !=
		1 ||
	    EVP_DigestSign(md, der, &len, (const unsigned char *)jwt_input,
		sizeof(jwt_input) - 1) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, rs, 32) != 32 || BN_bn2binpad(s, rs + 32, 32) != 32)
		goto out;
	rc = 0;
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	return rc;
}

static int
jwt_loop(EVP_PKEY *pkey, double secs, long *n, double *took)
{
	unsigned char rs[64];
	double t0 = now_s(), end = t0 + secs;

	*n = 0;
	do {
		for (int i = 0; i < 16; i++, (*n)++)
			if (jwt_one(pkey, rs) != 0)
				return 1;
	} while (now_s() < end);
	*took = now_s() - t0;
	return 0;
}

int
main(int argc, char **argv)
{
	EVP_PKEY *pkey;
	double secs, took = 0;
	long n = 0;

	if (argc != 2 || (secs = strtod(argv[1], NULL)) <= 0 || secs > 3600) {
		fprintf(stderr, "usage: %s SECONDS\n", argv[0]);
		return 2;
	}
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		fprintf(stderr, "bench-es256rate: keygen failed\n");
		return 1;
	}
	if (raw_loop(pkey, secs, &n, &took) != 0) {
		fprintf(stderr, "bench-es256rate: EVP_PKEY_sign failed\n");
		return 1;
	}
	printf("raw signatures %ld seconds %.3f per_s %.0f\n", n, took,
	    (double)n / took);
	if (jwt_loop(pkey, secs, &n, &took) != 0) {
		fprintf(stderr, "bench-es256rate: EVP_DigestSign failed\n");
		return 1;
	}
	printf("jwt signatures %ld seconds %.3f per_s %.0f\n", n, took,
	    (double)n / took);
	EVP_PKEY_free(pkey);
	return 0;
}
