/*
 * crypto: randomness, hashing, the master key, sealed secrets and the
 * signer (the one door to private signing keys).
 */
#ifndef PC_CRYPTO_H
#define PC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jose/jose.h"
#include "store/db.h"
#include "util/config.h"
#include "util/util.h"

int crypto_init(void) PC_WUR; /* libsodium, OpenSSL secure heap */

void random_bytes(void *p, size_t n);

void hash_sha256(const void *in, size_t n, uint8_t out[PC_SHA256_LEN]);
void hash_sha256_hex(const void *in, size_t n, char out[PC_SHA256_HEX_LEN + 1]);

/* The master key: 32 bytes in sodium_malloc memory. */
struct masterkey;

enum masterkey_source {
	MASTERKEY_ENV = 0, /* PORTCULLIS_MASTER_KEY */
	MASTERKEY_FILE,	   /* an existing file */
	MASTERKEY_CREATED, /* created now (development mode) */
};

/* The file path in force: master_key_file or <data_dir>/master.key. */
void masterkey_path(const struct config *cfg, char *out, size_t n);
/*
 * Loads the master key from PORTCULLIS_MASTER_KEY (then wiped from the
 * environment) or the key file. The file must be a regular file owned by
 * us with no group or other permission bits. When neither exists and
 * create is true, a new file is created with mode 0600.
 */
int
masterkey_load(const struct config *cfg, bool create, struct masterkey **out,
    enum masterkey_source *src, char *err, size_t err_len) PC_WUR;
/* Creates a new key file; refuses to overwrite. */
int masterkey_create_file(const char *path, char *err, size_t err_len) PC_WUR;
void masterkey_free(struct masterkey *mk);
/*
 * Proves that mk is the key the store was sealed under, before anything
 * writes (keycheck.c). Against the key_check row when there is one, else
 * against the signing keys (the active ES256 key must unseal, and not
 * every row may be rejected). With record, a store without a check row
 * gets one sealed under mk (a new store: mk becomes its key), read back so
 * that of nodes racing, all prove against the one row kept. 0: it matches;
 * PC_ERR_VERIFY: it does not; PC_ERR_NOT_FOUND (only without record):
 * the store holds nothing sealed yet; else a store error.
 */
int masterkey_prove(struct db *db, const struct masterkey *mk,
    const struct config *cfg, bool record, int64_t now) PC_WUR;
/*
 * The store holds something sealed under some master key (a key_check row
 * or signing keys); true as well when that cannot be read. Development
 * mode creates a master key only for a store where this is false.
 */
bool masterkey_store_sealed(struct db *db);
/* A purpose-bound subkey (libsodium KDF); ctx is exactly 8 characters. */
void masterkey_derive(const struct masterkey *mk, const char ctx[8],
    uint64_t id, uint8_t out[32]);

/*
 * Sealed secrets: XChaCha20-Poly1305 with a random nonce; aad binds the
 * ciphertext to its place (e.g. a kid). Text form "v1.<base64url>".
 */
int seal(const uint8_t key[32], const char *aad, const uint8_t *pt, size_t n,
    char **out) PC_WUR;
/* *pt is sodium_malloc'd: release with sodium_free. */
int unseal(const uint8_t key[32], const char *aad, const char *text,
    uint8_t **pt, size_t *n) PC_WUR;

/* The signer: the key ring and the only code that touches private keys. */
struct signer;

enum signer_key_state {
	SIGNER_PENDING = 0, /* published, not yet used to sign */
	SIGNER_ACTIVE,	    /* signs new tokens */
	SIGNER_RETIRED,	    /* published until its tokens expire */
	SIGNER_EXPIRED,	    /* gone from the JWKS */
};

struct signer_key_info {
	char kid[64];
	enum jose_alg alg;
	enum signer_key_state state;
	int64_t created_at;
	int64_t activate_at;
	int64_t retired_at;   /* 0 unless retired or expired */
	int64_t unpublish_at; /* 0 unless retired or expired */
	bool rejected; /* failed the integrity check: no key, not published */
};

const char *signer_state_name(enum signer_key_state s);

/*
 * Opens the key ring. With ensure, generates the first ES256 and RS256 keys
 * if the store has none (safe when nodes start at once). A row whose
 * sealed key does not unseal under mk (kid as associated data), whose
 * thumbprint is not its kid, or whose public_jwk is not the JWK of its
 * sealed key is rejected: logged (signer.key_rejected), counted, never
 * published, never used. PC_ERR_VERIFY when the active ES256 key (every
 * access token needs it) is rejected, e.g. with the wrong master key; a
 * rejected active key of another alg only makes that alg unable to sign.
 */
int
signer_open(struct db *db, const struct masterkey *mk, const struct config *cfg,
    bool ensure, int64_t now, struct signer **out) PC_WUR;
void signer_free(struct signer *s);
/*
 * Reloads from the store when due (refresh interval or a key boundary);
 * force (SIGHUP) reloads at once. On failure the last good ring stays in
 * use, its states moved on with the clock, and the next attempt waits
 * 1 s, 2 s, 4 s ... up to signing_key_refresh; the first failure of a
 * streak is logged (signer.reload_failed), the recovery too.
 */
int signer_refresh(struct signer *s, int64_t now, bool force);
/* Signs a JWT with the active key of alg. *out is malloc'd. */
int signer_sign_jwt(struct signer *s, enum jose_alg alg, const char *typ,
    const json_t *claims, int64_t now, char **out) PC_WUR;
/* The same with the claims already serialized (a JSON object). */
int signer_sign_jwt_raw(struct signer *s, enum jose_alg alg, const char *typ,
    const char *claims, size_t len, int64_t now, char **out) PC_WUR;
#define SIGNER_VERIFY_KEYS_MAX 16
struct signer_verify_opts {
	const enum jose_alg *algs; /* allowed for this kind of token */
	size_t nalgs;
	const char *typ; /* required typ (see jws_verify_opts) */
};
/*
 * Verifies a JWT we issued: signed by one of our pending, active or
 * retired keys, never an expired one (a pending key verifies because
 * another node may already sign with it; only with the public half of
 * its unsealed private key), with an alg of o->algs and typ o->typ.
 * A kid this node has not loaded makes one store reload and a second try,
 * at most once a second for the whole signer (not while backing off).
 * Errors as jws_verify_compact(); the claims are the caller's to check.
 * out->key is NULL. Free out with jws_verified_free().
 */
int signer_verify_jwt(struct signer *s, const char *token, size_t len,
    const struct signer_verify_opts *o, int64_t now,
    struct jws_verified *out) PC_WUR;
/* An active key of alg exists: tokens of alg can be signed now. */
bool signer_can_sign(struct signer *s, enum jose_alg alg, int64_t now);
/* The same for n (at most 32) algorithms at once, under one lock: bit i
 * is set when algs[i] can sign now (discovery, per request). */
unsigned signer_can_sign_mask(
    struct signer *s, const enum jose_alg *algs, size_t n, int64_t now);
/* The published JWKS document; *out is malloc'd. */
int signer_jwks(struct signer *s, int64_t now, char **out, size_t *len) PC_WUR;
/* Every key, with its state at now. *out is malloc'd. */
int signer_list(struct signer *s, int64_t now, struct signer_key_info **out,
    size_t *n) PC_WUR;
struct signer_stats {
	size_t keys;	   /* rows in the ring */
	size_t rejected;   /* of which failed the integrity check */
	int64_t loaded_at; /* the last good load */
	unsigned failures; /* failed reloads in the current streak */
	uint64_t failures_total;
	int64_t retry_at;     /* no reload before, unless forced; 0: none */
	uint64_t kid_reloads; /* reloads made for an unknown kid */
	/* signer_auto_rotate(): steps this node did, and failed passes */
	uint64_t auto_added, auto_retired, auto_dropped, auto_failures;
	int64_t auto_run_at; /* the last pass; 0: none */
};
void signer_stats(struct signer *s, struct signer_stats *out);
/*
 * Generates a new key for alg, published at once, signing from
 * now + signing_key_activation_delay (signer_key_successor(), the same
 * key the automatic rotation adds). kid_out gets its kid.
 */
int signer_rotate(struct db *db, const struct masterkey *mk,
    const struct config *cfg, enum jose_alg alg, int64_t now,
    char kid_out[64]) PC_WUR;
/* Issue 17 (src/crypto/signer_algs.c): what a rotation covers, for the
 * CLI and the admin API. ES256, RS256, PS256 or EdDSA in any case, else
 * JOSE_ALG_INVALID. */
enum jose_alg signer_alg_parse_any_case(const char *name);
#define SIGNER_ALGS_MAX 4
/* The distinct algorithms of the keys not yet expired (what a rotation
 * without an algorithm renews). 0 or signer_list's error. */
int signer_algs_in_use(struct signer *s, int64_t now,
    enum jose_alg out[SIGNER_ALGS_MAX], size_t *n) PC_WUR;

/*
 * Keys that rotate themselves (issue 17, item 6; decision 0076): one pass
 * of signing_key_rotate_every at now, from the store's rows (not this
 * node's ring), per algorithm in the store:
 *
 *   - the active key is the newest of its alg and began to sign at least
 *     rotate_every - activation_delay ago: its successor is added (signing
 *     after the activation delay, published at once);
 *   - a key a later key of its alg superseded: its retirement is
 *     recorded;
 *   - a retired key past its unpublish time (successor's activation +
 *     the longest token lifetime + signing_key_unpublish_margin): it is
 *     dropped, its row deleted.
 *
 * Each step happens once across nodes (the store decides: migration 0034)
 * and hook->fn writes its audit row in the step's own transaction. Does
 * nothing when signing_key_rotate_every is 0. After a change, reloads
 * this node's ring (the successor is in its JWKS at once). 0, or the
 * first error; the other steps are still tried.
 */
struct store_key_hook;
struct signer_auto_result {
	unsigned added, retired, dropped;
};
int signer_auto_rotate(struct signer *s, int64_t now,
    const struct store_key_hook *hook, struct signer_auto_result *out) PC_WUR;

#endif
