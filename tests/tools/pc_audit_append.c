/*
 * pc-audit-append DATA_DIR TS_MS COUNT [EVENT]: appends COUNT audit rows
 * stamped TS_MS, TS_MS + 1, ... (event EVENT, default "test.old") through
 * the same audit_append() the server uses, to the store in DATA_DIR or at
 * PORTCULLIS_STORE_URL (master key from DATA_DIR or
 * PORTCULLIS_MASTER_KEY). Retention tests use it to lay down rows older
 * than any allowed audit_retention, which the server cannot be made to
 * write (its clock is the real one); the rows chain like any other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "crypto/crypto.h"
#include "store/store.h"

int
main(int argc, char **argv)
{
	struct config cfg;
	struct masterkey *mk = NULL;
	struct db *db = NULL;
	enum masterkey_source src;
	const char *store_url = getenv("PORTCULLIS_STORE_URL");
	char err[512];
	uint8_t key[32];
	int64_t ts, count;
	int rc = 1;

	if (argc < 4) {
		fprintf(stderr,
		    "usage: pc-audit-append DATA_DIR TS_MS COUNT [EVENT]\n");
		return 2;
	}
	ts = strtoll(argv[2], NULL, 10);
	count = strtoll(argv[3], NULL, 10);
	config_defaults(&cfg);
	if (config_set(&cfg, "data_dir", argv[1], CONFIG_SRC_FLAG, err,
		sizeof(err)) != 0 ||
	    config_finish(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (crypto_init() != 0)
		goto out;
	if (masterkey_load(&cfg, false, &mk, &src, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (db_open(store_url != NULL ? store_url : "", cfg.data_dir, &db) != 0)
		goto out;
	audit_key(mk, key);
	for (int64_t i = 0; i < count; i++) {
		json_t *d = json_pack("{s:I}", "i", (json_int_t)i);
		struct audit_event ev = {
			.event = argc > 4 ? argv[4] : "test.old",
			.outcome = "success",
			.actor = "pc-audit-append",
			.details = d,
			.ts_ms = ts + i,
		};
		int r = audit_append(db, key, &ev);

		json_decref(d);
		if (r != 0) {
			fprintf(stderr, "append %lld: %s\n", (long long)i,
			    pc_strerror(r));
			goto wipe;
		}
	}
	rc = 0;
wipe:
	sodium_memzero(key, sizeof(key));
out:
	db_close(db);
	masterkey_free(mk);
	config_free(&cfg);
	return rc;
}
