/*
 * wa_authn: a software WebAuthn authenticator (and the browser around it)
 * for e2e tests and the bench, so they can do passkey ceremonies without
 * a browser. It prints, as one JSON object on stdout, the fields a
 * browser posts after navigator.credentials.create() / .get(), each
 * base64url without padding. Never installed; the server never runs it.
 *
 *   wa_authn keygen KEYFILE [es256|eddsa|rs256]
 *	Make a key (PEM, PKCS #8; default es256). Refuses to overwrite.
 *
 *   wa_authn register KEYFILE RP_ID ORIGIN CHALLENGE [options]
 *	navigator.credentials.create(): KEYFILE is made (es256, or --alg)
 *	when missing. Prints {"id", "type", "clientDataJSON",
 *	"attestationObject", "publicKey" (the COSE_Key), "alg"}.
 *
 *   wa_authn assert KEYFILE RP_ID ORIGIN CHALLENGE COUNTER [options]
 *	navigator.credentials.get(). Prints {"id", "type",
 *	"clientDataJSON", "authenticatorData", "signature", "userHandle"
 *	(when --user-handle)}.
 *
 * CHALLENGE is the server's challenge, base64url. RP_ID the relying
 * party id (the issuer's host), ORIGIN the page's origin, both written
 * into the response as given (a test passes wrong ones on purpose).
 * Options:
 *   --flags LIST	 authenticator data flags, comma-separated among up,
 *			 uv, be, bs (default up,uv; "" for none)
 *   --counter N	 signature counter of a registration (default 0)
 *   --fmt F		 attestation: none (default), packed (self attestation),
 *			 packed-x5c, fido-u2f (ES256 keys) or tpm (rs256
 *			 keys), signed by a throwaway attestation key
 *			 with a self-signed certificate
 *   --alg A		 key type for a new KEYFILE: es256, eddsa, rs256
 *   --type T		 clientDataJSON type (default webauthn.create / .get)
 *   --cred-id B64URL	 the credential id (default: the first 16 bytes of
 *			 SHA-256 of the COSE key, so register and assert agree)
 *   --user-handle B64URL  userHandle of a discoverable-credential sign-in
 * Exit status 0, or 1 with a message on stderr; 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "auth/webauthn.h"
#include "jose/b64url.h"
#include "tests/tools/wa_soft.h"

struct opts {
	const char *flags, *fmt, *alg, *type, *cred_id, *user_handle;
	unsigned long counter;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: wa_authn keygen KEYFILE [es256|eddsa|rs256]\n"
	    "       wa_authn register KEYFILE RP_ID ORIGIN CHALLENGE "
	    "[--flags L] [--counter N] [--fmt F] [--alg A] "
	    "[--type T] [--cred-id B64]\n"
	    "       wa_authn assert KEYFILE RP_ID ORIGIN CHALLENGE COUNTER "
	    "[--flags L] [--type T] [--cred-id B64] [--user-handle B64]\n");
	exit(2);
}

static int
alg_named(const char *s)
{
	if (s == NULL || strcmp(s, "es256") == 0)
		return WA_COSE_ALG_ES256;
	if (strcmp(s, "eddsa") == 0)
		return WA_COSE_ALG_EDDSA;
	if (strcmp(s, "rs256") == 0)
		return WA_COSE_ALG_RS256;
	return 0;
}

static int
flags_parse(const char *s, uint8_t *out)
{
	char *copy, *tok, *save = NULL;
	int r = 0;

	*out = 0;
	if ((copy = strdup(s)) == NULL)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "up") == 0)
			*out |= 0x01;
		else if (strcmp(tok, "uv") == 0)
			*out |= 0x04;
		else if (strcmp(tok, "be") == 0)
			*out |= 0x08;
		else if (strcmp(tok, "bs") == 0)
			*out |= 0x10;
		else
			r = -1;
	}
	free(copy);
	return r;
}

static int
b64_arg(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	return b64url_decode(s, strlen(s), out, cap, len);
}

static void
put_field(const char *name, const uint8_t *p, size_t n, bool *first)
{
	char *enc = malloc(b64url_encoded_len(n) + 1);

	if (enc == NULL) {
		fprintf(stderr, "wa_authn: out of memory\n");
		exit(1);
	}
	b64url_encode(p, n, enc);
	printf("%s\"%s\":\"%s\"", *first ? "{" : ",", name, enc);
	*first = false;
	free(enc);
}

/* The credential id: --cred-id, else derived from the COSE key. */
static int
cred_id_of(const struct opts *o, const struct wa_bytes *cose, uint8_t *id,
    size_t *id_len)
{
	uint8_t h[SHA256_DIGEST_LENGTH];

	if (o->cred_id != NULL)
		return b64_arg(o->cred_id, id, WA_CRED_ID_MAX + 1, id_len);
	SHA256(cose->p, cose->n, h);
	memcpy(id, h, 16);
	*id_len = 16;
	return 0;
}

static int
key_open(const char *path, const char *alg, bool create, struct wa_soft_key *k)
{
	if (access(path, F_OK) == 0 || !create)
		return wa_soft_key_load(path, k);
	if (alg_named(alg) == 0 || wa_soft_key_new(alg_named(alg), 0, k) != 0)
		return -1;
	return wa_soft_key_save(k, path);
}

static int
att_obj(const char *fmt, const struct wa_bytes *ad, const char *cd,
    const struct wa_soft_key *k, struct wa_bytes *out)
{
	struct wa_soft_key att = { 0 };
	X509 *cert = NULL;
	int r;

	if (strcmp(fmt, "none") == 0 || strcmp(fmt, "packed") == 0)
		return wa_soft_att_obj(fmt, ad, cd, k, NULL, NULL, out);
	if (wa_soft_key_new(
		strcmp(fmt, "tpm") == 0 ? WA_COSE_ALG_RS256 : WA_COSE_ALG_ES256,
		0, &att) != 0 ||
	    (cert = wa_soft_att_cert(&att, NULL, false)) == NULL) {
		wa_soft_key_free(&att);
		return -1;
	}
	r = wa_soft_att_obj(strcmp(fmt, "packed-x5c") == 0 ? "packed" : fmt, ad,
	    cd, k, &att, cert, out);
	X509_free(cert);
	wa_soft_key_free(&att);
	return r;
}

static int
do_register(const char *const *a, const struct opts *o)
{
	uint8_t ch[64], id[WA_CRED_ID_MAX + 1], flags;
	struct wa_bytes cose = { 0 }, ad = { 0 }, att = { 0 };
	struct wa_soft_key k;
	size_t ch_len = 0, id_len = 0;
	char *cd = NULL, alg[16];
	bool first = true;
	int r = 1;

	if (key_open(a[0], o->alg, true, &k) != 0) {
		fprintf(stderr, "wa_authn: cannot read or make %s\n", a[0]);
		return 1;
	}
	if (b64_arg(a[3], ch, sizeof(ch), &ch_len) != 0 || ch_len != 32 ||
	    flags_parse(o->flags, &flags) != 0) {
		fprintf(stderr, "wa_authn: bad challenge or flags\n");
		goto out;
	}
	if (wa_soft_cose(&k, &cose) != 0 ||
	    cred_id_of(o, &cose, id, &id_len) != 0 || id_len == 0 ||
	    (cd = wa_soft_client_data(o->type ? o->type : "webauthn.create", ch,
		 a[2], NULL)) == NULL ||
	    wa_soft_auth_data(a[1], flags, (uint32_t)o->counter, NULL, id,
		id_len, &cose, NULL, &ad) != 0 ||
	    att_obj(o->fmt, &ad, cd, &k, &att) != 0) {
		fprintf(stderr, "wa_authn: cannot build the response\n");
		goto out;
	}
	put_field("id", id, id_len, &first);
	printf(",\"type\":\"public-key\"");
	put_field("clientDataJSON", (const uint8_t *)cd, strlen(cd), &first);
	put_field("attestationObject", att.p, att.n, &first);
	put_field("publicKey", cose.p, cose.n, &first);
	snprintf(alg, sizeof(alg), "%d", k.alg);
	printf(",\"alg\":%s}\n", alg);
	r = 0;
out:
	free(cd);
	wa_bytes_free(&cose);
	wa_bytes_free(&ad);
	wa_bytes_free(&att);
	wa_soft_key_free(&k);
	return r;
}

static int
do_assert(const char *const *a, const struct opts *o)
{
	uint8_t ch[64], id[WA_CRED_ID_MAX + 1], uh[128], flags;
	struct wa_bytes cose = { 0 }, ad = { 0 }, sig = { 0 };
	struct wa_soft_key k;
	size_t ch_len = 0, id_len = 0, uh_len = 0;
	unsigned long counter;
	char *cd = NULL, *end;
	bool first = true;
	int r = 1;

	if (key_open(a[0], NULL, false, &k) != 0) {
		fprintf(stderr, "wa_authn: cannot read %s\n", a[0]);
		return 1;
	}
	errno = 0;
	counter = strtoul(a[4], &end, 10);
	if (b64_arg(a[3], ch, sizeof(ch), &ch_len) != 0 || ch_len != 32 ||
	    flags_parse(o->flags, &flags) != 0 || *end != '\0' || errno != 0 ||
	    counter > UINT32_MAX ||
	    (o->user_handle != NULL &&
		b64_arg(o->user_handle, uh, sizeof(uh), &uh_len) != 0)) {
		fprintf(stderr,
		    "wa_authn: bad challenge, counter, flags or "
		    "user handle\n");
		goto out;
	}
	if (wa_soft_cose(&k, &cose) != 0 ||
	    cred_id_of(o, &cose, id, &id_len) != 0 ||
	    (cd = wa_soft_client_data(
		 o->type ? o->type : "webauthn.get", ch, a[2], NULL)) == NULL ||
	    wa_soft_auth_data(a[1], flags, (uint32_t)counter, NULL, NULL, 0,
		NULL, NULL, &ad) != 0 ||
	    wa_soft_sign_assertion(&k, &ad, cd, &sig) != 0) {
		fprintf(stderr, "wa_authn: cannot build the response\n");
		goto out;
	}
	put_field("id", id, id_len, &first);
	printf(",\"type\":\"public-key\"");
	put_field("clientDataJSON", (const uint8_t *)cd, strlen(cd), &first);
	put_field("authenticatorData", ad.p, ad.n, &first);
	put_field("signature", sig.p, sig.n, &first);
	if (o->user_handle != NULL)
		put_field("userHandle", uh, uh_len, &first);
	printf("}\n");
	r = 0;
out:
	free(cd);
	wa_bytes_free(&cose);
	wa_bytes_free(&ad);
	wa_bytes_free(&sig);
	wa_soft_key_free(&k);
	return r;
}

int
main(int argc, char **argv)
{
	struct opts o = { "up,uv", "none", NULL, NULL, NULL, NULL, 0 };
	const char *pos[6];
	size_t npos = 0;
	int i;

	if (argc < 3)
		usage();
	for (i = 2; i < argc; i++) {
		const char **slot = NULL;

		if (strncmp(argv[i], "--", 2) != 0) {
			if (npos == 6)
				usage();
			pos[npos++] = argv[i];
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--flags") == 0)
			slot = &o.flags;
		else if (strcmp(argv[i], "--fmt") == 0)
			slot = &o.fmt;
		else if (strcmp(argv[i], "--alg") == 0)
			slot = &o.alg;
		else if (strcmp(argv[i], "--type") == 0)
			slot = &o.type;
		else if (strcmp(argv[i], "--cred-id") == 0)
			slot = &o.cred_id;
		else if (strcmp(argv[i], "--user-handle") == 0)
			slot = &o.user_handle;
		else if (strcmp(argv[i], "--counter") == 0)
			o.counter = strtoul(argv[i + 1], NULL, 10);
		else
			usage();
		if (slot != NULL)
			*slot = argv[i + 1];
		i++;
	}
	if (strcmp(o.fmt, "none") != 0 && strcmp(o.fmt, "packed") != 0 &&
	    strcmp(o.fmt, "packed-x5c") != 0 &&
	    strcmp(o.fmt, "fido-u2f") != 0 && strcmp(o.fmt, "tpm") != 0)
		usage();
	if (strcmp(argv[1], "keygen") == 0 && npos >= 1 && npos <= 2) {
		struct wa_soft_key k;
		int alg = alg_named(npos == 2 ? pos[1] : NULL);

		if (alg == 0)
			usage();
		if (wa_soft_key_new(alg, 0, &k) != 0 ||
		    wa_soft_key_save(&k, pos[0]) != 0) {
			fprintf(stderr, "wa_authn: cannot write %s\n", pos[0]);
			wa_soft_key_free(&k);
			return 1;
		}
		wa_soft_key_free(&k);
		return 0;
	}
	if (strcmp(argv[1], "register") == 0 && npos == 4)
		return do_register(pos, &o);
	if (strcmp(argv[1], "assert") == 0 && npos == 5)
		return do_assert(pos, &o);
	usage();
	return 2;
}
