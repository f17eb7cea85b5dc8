/*
 * libFuzzer driver for the JOSE parsers: jws_verify_compact over a fixed
 * key set, jose_json_parse, and jwk_to_pkey on whatever parses.
 *
 * The key set holds the RFC 7515 A.3 public key (kid "a3"), so seeds
 * signed with that key reach the payload parser, plus a freshly generated
 * ES256 key and the RFC 8037 Ed25519 key. Built once, kept for the run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "jose/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_A3_JWK \
	"{\"kty\":\"EC\",\"crv\":\"P-256\"," \
	"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\"," \
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"
#define FZ_ED_JWK \
	"{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," \
	"\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"

static struct jws_key fz_keys[3];
static const enum jose_alg fz_algs[] = { JOSE_ALG_ES256, JOSE_ALG_RS256,
	JOSE_ALG_PS256, JOSE_ALG_EDDSA };
static struct jws_verify_opts fz_one, fz_all, fz_typed;

static EVP_PKEY *
fz_pkey(const char *text, enum jose_alg alg)
{
	json_t *jwk = NULL;
	EVP_PKEY *pkey = NULL;

	if (jose_json_parse(text, strlen(text), 4, &jwk) != 0 ||
	    jwk_to_pkey(jwk, alg, &pkey) != 0)
		abort();
	json_decref(jwk);
	return pkey;
}

static void
fz_init(void)
{
	static bool done;

	if (done)
		return;
	fz_keys[0] = (struct jws_key){ "a3", JOSE_ALG_ES256,
		fz_pkey(FZ_A3_JWK, JOSE_ALG_ES256) };
	fz_keys[1] = (struct jws_key){ "gen", JOSE_ALG_ES256,
		EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256") };
	fz_keys[2] = (struct jws_key){ "ed", JOSE_ALG_EDDSA,
		fz_pkey(FZ_ED_JWK, JOSE_ALG_EDDSA) };
	if (fz_keys[1].pkey == NULL)
		abort();
	fz_one = (struct jws_verify_opts){ fz_keys, 1, fz_algs,
		PC_NELEM(fz_algs), NULL };
	fz_all = (struct jws_verify_opts){ fz_keys, PC_NELEM(fz_keys), fz_algs,
		PC_NELEM(fz_algs), NULL };
	fz_typed = fz_all;
	fz_typed.typ = "at+jwt";
	done = true;
}

static void
fz_verify(const char *tok, size_t len, const struct jws_verify_opts *o)
{
	struct jws_verified v;
	int r;

	r = jws_verify_compact(tok, len, o, &v);
	if (r == 0) {
		/* The contract: both objects, and a key from the set. */
		if (!json_is_object(v.header) || !json_is_object(v.payload) ||
		    v.key < o->keys || v.key >= o->keys + o->nkeys)
			abort();
	} else if (v.header != NULL || v.payload != NULL || v.key != NULL) {
		abort();
	}
	jws_verified_free(&v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	json_t *j = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t dec[JWS_MAX_LEN];
	size_t dec_len;

	fz_init();
	fz_verify(s, size, &fz_one);
	fz_verify(s, size, &fz_all);
	fz_verify(s, size, &fz_typed);

	if (b64url_decode(s, size, dec, sizeof(dec), &dec_len) == 0 &&
	    dec_len > size)
		abort();

	if (jose_json_parse(s, size, 16, &j) == 0) {
		if (json_is_object(j)) {
			size_t i;

			for (i = 0; i < PC_NELEM(fz_algs); i++) {
				if (jwk_to_pkey(j, fz_algs[i], &pkey) == 0 &&
				    !jose_alg_key_ok(fz_algs[i], pkey))
					abort();
				EVP_PKEY_free(pkey);
				pkey = NULL;
			}
		}
		json_decref(j);
	}
	/* Every path leaves the OpenSSL error queue empty. */
	if (ERR_peek_error() != 0)
		abort();
	return 0;
}
