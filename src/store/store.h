/*
 * store: the queries, one function per operation. Callers never see SQL.
 */
#ifndef PC_STORE_H
#define PC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* Migrations. */
int store_schema_version(struct db *db, int *out) PC_WUR;
int store_schema_latest(void);
/*
 * Applies pending migrations, each in its own transaction together with
 * its schema_version row. On failure the failing migration leaves no trace
 * and err says why.
 */
int store_migrate(
    struct db *db, int *from, int *to, char *err, size_t err_len) PC_WUR;

/* Signing keys. */
struct store_signing_key {
	char *kid;
	char *alg;
	char *public_jwk;
	char *private_sealed;
	int64_t created_at;
	int64_t activate_at;
};

void store_signing_key_clear(struct store_signing_key *k);
void store_signing_keys_free(struct store_signing_key *v, size_t n);
/* All keys, oldest first by activate_at. */
int store_signing_keys_list(
    struct db *db, struct store_signing_key **out, size_t *n) PC_WUR;
int store_signing_key_insert(
    struct db *db, const struct store_signing_key *k) PC_WUR;
/*
 * Inserts k only if no key of its alg exists yet (first start; safe when
 * several nodes start at once). *inserted says whether it did.
 */
int store_signing_key_insert_first(
    struct db *db, const struct store_signing_key *k, bool *inserted) PC_WUR;

#endif
