/*
 * pc-verify JWKS_FILE ALGS [TYP]: verifies the compact JWS on stdin with our
 * strict verifier against the keys of a JWKS document (each key with its
 * own "alg"), allowing the comma-separated ALGS. Prints the payload and
 * exits 0, or prints the error and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jose/jose.h"

int
main(int argc, char **argv)
{
	struct jws_key keys[16];
	enum jose_alg algs[8];
	struct jws_verify_opts o;
	struct jws_verified v = { 0 };
	json_error_t jerr;
	json_t *jwks, *arr, *k;
	size_t nkeys = 0, nalgs = 0, i, n;
	char tok[16384], *algs_s, *p, *save = NULL;
	int r, rc = 1;

	if (argc < 3) {
		fprintf(
		    stderr, "usage: pc-verify JWKS_FILE ALGS [TYP] < jws\n");
		return 2;
	}
	if ((jwks = json_load_file(argv[1], 0, &jerr)) == NULL)
		return 2;
	arr = json_object_get(jwks, "keys");
	json_array_foreach(arr, i, k)
	{
		const char *a = json_string_value(json_object_get(k, "alg"));
		enum jose_alg alg =
		    a != NULL ? jose_alg_parse(a, strlen(a)) : JOSE_ALG_INVALID;

		if (nkeys == 16 || alg == JOSE_ALG_INVALID)
			continue;
		if (jwk_to_pkey(k, alg, &keys[nkeys].pkey) != 0)
			continue;
		keys[nkeys].alg = alg;
		keys[nkeys].kid = json_string_value(json_object_get(k, "kid"));
		nkeys++;
	}
	algs_s = strdup(argv[2]);
	for (p = strtok_r(algs_s, ",", &save); p != NULL && nalgs < 8;
	     p = strtok_r(NULL, ",", &save))
		algs[nalgs++] = jose_alg_parse(p, strlen(p));
	n = fread(tok, 1, sizeof(tok) - 1, stdin);
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
		n--;
	tok[n] = '\0';
	memset(&o, 0, sizeof(o));
	o.keys = keys;
	o.nkeys = nkeys;
	o.algs = algs;
	o.nalgs = nalgs;
	o.typ = argc > 3 ? argv[3] : NULL;
	r = jws_verify_compact(tok, n, &o, &v);
	if (r == 0) {
		char *s = json_dumps(v.payload, JSON_COMPACT | JSON_SORT_KEYS);

		printf("%s\n", s != NULL ? s : "");
		free(s);
		rc = 0;
	} else {
		printf("error: %s\n", pc_strerror(r));
	}
	jws_verified_free(&v);
	for (i = 0; i < nkeys; i++)
		EVP_PKEY_free(keys[i].pkey);
	free(algs_s);
	json_decref(jwks);
	return rc;
}
