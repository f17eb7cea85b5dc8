/*
 * pc-sign DATA_DIR ALG [TYP]: signs the JSON claims on stdin with the active
 * key of ALG from the key ring in DATA_DIR (master key from DATA_DIR or
 * PORTCULLIS_MASTER_KEY) and the store in DATA_DIR or at
 * PORTCULLIS_STORE_URL, through the same signer the server uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "store/store.h"

int
main(int argc, char **argv)
{
	struct config cfg;
	struct masterkey *mk = NULL;
	struct db *db = NULL;
	struct signer *s = NULL;
	enum masterkey_source src;
	json_error_t jerr;
	json_t *claims;
	char err[512], *tok = NULL;
	enum jose_alg alg;
	const char *store_url = getenv("PORTCULLIS_STORE_URL");
	int rc = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: pc-sign DATA_DIR ALG [TYP] < claims\n");
		return 2;
	}
	config_defaults(&cfg);
	if (config_set(&cfg, "data_dir", argv[1], CONFIG_SRC_FLAG, err,
		sizeof(err)) != 0 ||
	    config_finish(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	alg = jose_alg_parse(argv[2], strlen(argv[2]));
	claims = json_loadf(stdin, 0, &jerr);
	if (crypto_init() != 0 || claims == NULL || alg == JOSE_ALG_INVALID)
		goto out;
	if (masterkey_load(&cfg, false, &mk, &src, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (db_open(store_url != NULL ? store_url : "", cfg.data_dir, &db) !=
		0 ||
	    signer_open(db, mk, &cfg, false, clock_now(), &s) != 0 ||
	    signer_sign_jwt(s, alg, argc > 3 ? argv[3] : NULL, claims,
		clock_now(), &tok) != 0)
		goto out;
	printf("%s\n", tok);
	rc = 0;
out:
	free(tok);
	json_decref(claims);
	signer_free(s);
	db_close(db);
	masterkey_free(mk);
	config_free(&cfg);
	return rc;
}
