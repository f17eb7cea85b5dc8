/*
 * The master-key proof (issue 11, item 6): before anything writes, the
 * master key in hand must be the one the store's sealed data was sealed
 * under. docs/decisions/0020-master-key-sealing-and-the-key-ring.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "store/store.h"

#define CHECK_CTX "keycheck"
#define CHECK_AAD "portcullis key_check id=1"
#define CHECK_TEXT "portcullis master key check v1"
#define KEY_CHECK_SCHEMA 16 /* migration 0016 made the table */

static void
check_key(const struct masterkey *mk, uint8_t out[32])
{
	masterkey_derive(mk, CHECK_CTX, 1, out);
}

/* 0 when sealed unseals under mk to our text, PC_ERR_VERIFY otherwise. */
static int
check_sealed(const struct masterkey *mk, const char *sealed)
{
	uint8_t k[32], *pt = NULL;
	size_t n = 0;
	int r;

	check_key(mk, k);
	r = unseal(k, CHECK_AAD, sealed, &pt, &n);
	sodium_memzero(k, sizeof(k));
	if (r == 0 &&
	    (n != sizeof(CHECK_TEXT) - 1 || memcmp(pt, CHECK_TEXT, n) != 0))
		r = PC_ERR_VERIFY;
	if (pt != NULL)
		sodium_free(pt);
	return r == 0 ? 0 : PC_ERR_VERIFY;
}

/*
 * The check serve has always made (signer_open: the active ES256 key must
 * unseal), plus: when every row was rejected, no key of the store was
 * sealed under mk. PC_ERR_NOT_FOUND when the store has no signing keys.
 */
static int
prove_by_signing_keys(struct db *db, const struct masterkey *mk,
    const struct config *cfg, int64_t now)
{
	struct signer *s = NULL;
	struct signer_stats st;
	int r;

	if ((r = signer_open(db, mk, cfg, false, now, &s)) != 0)
		return r;
	signer_stats(s, &st);
	signer_free(s);
	if (st.keys == 0)
		return PC_ERR_NOT_FOUND;
	return st.rejected == st.keys ? PC_ERR_VERIFY : 0;
}

int
masterkey_prove(struct db *db, const struct masterkey *mk,
    const struct config *cfg, bool record, int64_t now)
{
	char *sealed = NULL;
	int r, version = 0;

	if ((r = store_schema_version(db, &version)) != 0)
		return r;
	if (version >= KEY_CHECK_SCHEMA) {
		r = store_key_check_get(db, &sealed);
		if (r == 0) {
			r = check_sealed(mk, sealed);
			free(sealed);
			return r;
		}
		if (r != PC_ERR_NOT_FOUND)
			return r;
	}
	/* No check row yet: a store made before 0016, or a new one. */
	r = prove_by_signing_keys(db, mk, cfg, now);
	if (r != 0 && r != PC_ERR_NOT_FOUND)
		return r;
	if (!record || version < KEY_CHECK_SCHEMA)
		return r;
	{
		uint8_t k[32];

		check_key(mk, k);
		r = seal(k, CHECK_AAD, (const uint8_t *)CHECK_TEXT,
		    sizeof(CHECK_TEXT) - 1, &sealed);
		sodium_memzero(k, sizeof(k));
	}
	if (r != 0)
		return r;
	r = store_key_check_put_first(db, sealed, now);
	free(sealed);
	sealed = NULL;
	if (r != 0)
		return r;
	/* Another node may have written its row first: prove against it. */
	if ((r = store_key_check_get(db, &sealed)) != 0)
		return r;
	r = check_sealed(mk, sealed);
	free(sealed);
	return r;
}

bool
masterkey_store_sealed(struct db *db)
{
	struct store_signing_key *keys = NULL;
	char *sealed = NULL;
	size_t n = 0;
	int r, version = 0;

	if (store_schema_version(db, &version) != 0)
		return true; /* cannot tell: do not make a new key */
	if (version >= KEY_CHECK_SCHEMA) {
		r = store_key_check_get(db, &sealed);
		free(sealed);
		if (r != PC_ERR_NOT_FOUND)
			return true;
	}
	if (version == 0)
		return false;
	if (store_signing_keys_list(db, &keys, &n) != 0)
		return true;
	store_signing_keys_free(keys, n);
	return n > 0;
}
