/*
 * Signature rates of this machine: the floor under every token the server
 * mints or checks (the raw ES256 rate is the ceiling for access tokens; the
 * per-token costs are the "signatures" of the issue 13 targets).
 *
 *   bench-es256rate SECONDS
 *
 * One thread, fresh keys (OpenSSL EVP). Five loops of SECONDS each:
 *   raw     EVP_PKEY_sign() of a 32-byte digest with one reused context:
 *           the bare ECDSA P-256 signature, nothing else;
 *   jwt     what one ES256 token costs the server's signer
 *           (src/jose/jws.c): a fresh EVP_DigestSign context per
 *           signature, SHA-256 over a typical 330-byte JWT signing input,
 *           and the DER signature turned into R || S;
 *   rs3072  the same for RS256 with an RSA-3072 key (PKCS #1 v1.5, a
 *           fresh context per signature): one default ID token;
 *   rs2048  the same with an RSA-2048 key (rsa_key_bits = 2048);
 *   es256v  one ES256 verification as the server's verifier does it: the
 *           R || S signature turned into DER, a fresh EVP_DigestVerify
 *           context, SHA-256 over the signing input (introspection).
 * Prints one line each:
 *   NAME signatures N seconds S per_s R cpu_us C
 * per_s: operations per second of wall time; cpu_us: the process's CPU
 * time per operation (CLOCK_PROCESS_CPUTIME_ID, one thread), which a
 * busy machine inflates far less than the wall-time rate: the bench
 * compares it with the server's CPU time per request.
 * Exit 1 when OpenSSL fails.
 *
 * Built by bench/run.sh:
 *   cc -O2 bench/es256rate.c $(pkg-config --cflags --libs libcrypto)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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

/* One RS256 signature as the signer makes it: fresh context, SHA-256. */
static int
rs_one(EVP_PKEY *pkey, unsigned char *sig, size_t cap)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t len = cap;
	int rc = 1;

	if (md != NULL &&
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) ==
		1 &&
	    EVP_DigestSign(md, sig, &len, (const unsigned char *)jwt_input,
		sizeof(jwt_input) - 1) == 1)
		rc = 0;
	EVP_MD_CTX_free(md);
	return rc;
}

/* One ES256 verification as the verifier makes it: R || S to DER, then a
 * fresh EVP_DigestVerify context. */
static int
es_verify_one(EVP_PKEY *pkey, const unsigned char *rs)
{
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
	unsigned char *der = NULL;
	int len, rc = 1;

	if (es == NULL || r == NULL || s == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	if ((len = i2d_ECDSA_SIG(es, &der)) <= 0 ||
	    (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(
		md, NULL, "SHA256", NULL, NULL, pkey, NULL) != 1 ||
	    EVP_DigestVerify(md, der, (size_t)len,
		(const unsigned char *)jwt_input, sizeof(jwt_input) - 1) != 1)
		goto out;
	rc = 0;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	ECDSA_SIG_free(es);
	return rc;
}

enum op {
	OP_JWT,
	OP_RS,
	OP_VERIFY
};

/* Loops one operation for SECS seconds; sets *n and *took. */
static int
op_loop(enum op op, EVP_PKEY *pkey, double secs, long *n, double *took)
{
	unsigned char rs[64], sig[1024];
	double t0, end;

	*n = 0;
	if (op == OP_VERIFY && jwt_one(pkey, rs) != 0)
		return 1;
	t0 = now_s();
	end = t0 + secs;
	do {
		for (int i = 0; i < 4; i++, (*n)++) {
			int rc = op == OP_JWT ? jwt_one(pkey, rs)
			    : op == OP_RS     ? rs_one(pkey, sig, sizeof(sig))
					      : es_verify_one(pkey, rs);

			if (rc != 0)
				return 1;
		}
	} while (now_s() < end);
	*took = now_s() - t0;
	return 0;
}

static void
print_line(const char *name, long n, double took, double cpu)
{
	printf("%s signatures %ld seconds %.3f per_s %.0f cpu_us %.2f\n", name,
	    n, took, (double)n / took, cpu * 1e6 / (double)n);
}

static int
report(const char *name, enum op op, EVP_PKEY *pkey, double secs)
{
	double took = 0, c0 = cpu_s();
	long n = 0;

	if (op_loop(op, pkey, secs, &n, &took) != 0) {
		fprintf(stderr, "bench-es256rate: %s failed\n", name);
		return 1;
	}
	print_line(name, n, took, cpu_s() - c0);
	fflush(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	EVP_PKEY *pkey, *rsa3072 = NULL, *rsa2048 = NULL;
	double secs, took = 0, c0;
	long n = 0;
	int rc = 1;

	if (argc != 2 || (secs = strtod(argv[1], NULL)) <= 0 || secs > 3600) {
		fprintf(stderr, "usage: %s SECONDS\n", argv[0]);
		return 2;
	}
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (rsa3072 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072)) ==
		NULL ||
	    (rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) ==
		NULL) {
		fprintf(stderr, "bench-es256rate: keygen failed\n");
		goto out;
	}
	c0 = cpu_s();
	if (raw_loop(pkey, secs, &n, &took) != 0) {
		fprintf(stderr, "bench-es256rate: EVP_PKEY_sign failed\n");
		goto out;
	}
	print_line("raw", n, took, cpu_s() - c0);
	fflush(stdout);
	if (report("jwt", OP_JWT, pkey, secs) != 0 ||
	    report("rs3072", OP_RS, rsa3072, secs) != 0 ||
	    report("rs2048", OP_RS, rsa2048, secs) != 0 ||
	    report("es256v", OP_VERIFY, pkey, secs) != 0)
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(rsa3072);
	EVP_PKEY_free(pkey);
	return rc;
}
