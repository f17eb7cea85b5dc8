/*
 * What the two halves of the signer share (signer.c: the signer's life,
 * signing and verifying; signer_ring.c: the key ring built from the rows
 * and new keys). Private to src/crypto/: nothing outside includes it.
 */
#ifndef PC_CRYPTO_SIGNER_INTERNAL_H
#define PC_CRYPTO_SIGNER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "store/store.h"

struct ring_key {
	char kid[64];
	enum jose_alg alg;
	enum signer_key_state state;
	int64_t created_at, activate_at, retired_at, unpublish_at;
	bool rejected;	  /* the row failed the integrity check */
	char *public_jwk; /* derived from the unsealed key; NULL if rejected */
	EVP_PKEY *pkey;	  /* private; active keys only */
	EVP_PKEY *vkey;	  /* public half: pending, active and retired keys */
	/* Prepared ES256 signing contexts of pkey; NULL: jws_sign_raw. */
	struct jws_sign_pool *pool;
};

struct ring {
	struct ring_key *keys;
	size_t n;
	size_t rejected;
	int64_t loaded_at;
	int64_t next_change; /* INT64_MAX: none */
	char *jwks;
	size_t jwks_len;
};

struct signer {
	struct db *db;
	const struct config *cfg;
	uint8_t *seal_key; /* sodium_malloc, 32 bytes */
	pthread_rwlock_t lock;
	pthread_mutex_t reload;
	struct ring *ring;
	/* Failed reloads (under lock; written with reload held too). */
	unsigned failures; /* the current streak */
	int64_t retry_at;  /* no store reload before this, unless forced */
	uint64_t failures_total;
	/* Reloads for an unknown kid: the second of the last one. */
	_Atomic int64_t kid_reload_at;
	_Atomic uint64_t kid_reloads;
	/* signer_auto_rotate() (signer_auto.c) */
	_Atomic uint64_t auto_added, auto_retired, auto_dropped, auto_failures;
	_Atomic int64_t auto_run_at;
};

void signer_ring_free(struct ring *g);
int64_t signer_unpublish_hold(const struct config *cfg);
/* States from the rows (ordered by activate_at) and now. */
void signer_compute_states(struct ring_key *k, size_t n, int64_t now,
    int64_t hold, int64_t *next_change);
/* Loads the ring from the rows; prev (may be NULL) mutes repeated logs. */
int signer_ring_load(struct signer *s, const struct ring *prev, int64_t now,
    struct ring **out) PC_WUR;
/* The ring old moved on to now without the store. */
int signer_ring_advance(const struct ring *old, int64_t now, int64_t hold,
    struct ring **out) PC_WUR;
/* A new key, generated and sealed, as a store row. */
int signer_key_row_new(const uint8_t seal_key[32], const struct config *cfg,
    enum jose_alg alg, int64_t now, int64_t activate_at,
    struct store_signing_key *row) PC_WUR;
/* The successor key of alg: signer_key_row_new() with activate_at =
 * now + signing_key_activation_delay (key rotate, and the automatic one). */
int signer_key_successor(const uint8_t seal_key[32], const struct config *cfg,
    enum jose_alg alg, int64_t now, struct store_signing_key *row) PC_WUR;
/* The key that seals private keys, derived from the master key. */
uint8_t *signer_seal_key_new(const struct masterkey *mk);
void signer_log_key(const char *event, const struct store_signing_key *row);
/* The active ES256 key is rejected: the node cannot issue tokens. */
bool signer_needed_key_rejected(const struct ring *g);

#endif
