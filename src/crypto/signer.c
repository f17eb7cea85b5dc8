/*
 * The signer: the key ring and the only code that touches private signing
 * keys (SECURITY.md JW-09). Keys come from the store; their private parts
 * are sealed with a subkey of the master key and the kid as associated
 * data. Only the active key of each algorithm is kept unsealed (the other
 * published keys are unsealed at each load to take their public half,
 * then dropped); the unsealed bytes live in sodium_malloc memory for the
 * moment of parsing, and the parsed key in OpenSSL's secure heap (see
 * crypto_init()).
 *
 * A key's state is a function of the rows and the clock, so every node
 * computes the same ring: pending (published, activate_at in the future),
 * active (newest activated key of its alg), retired (superseded; published
 * until every token it signed has expired), expired (unpublished).
 *
 * Integrity against a store writer without the master key: a row enters
 * the ring's key material (JWKS, verification, signing) only if its
 * sealed part unseals under our master key with its kid as associated
 * data, its thumbprint is its kid, its key fits its alg, and its
 * public_jwk equals the JWK derived from the unsealed key. The published
 * JWK is that derivation, never the row's text. A row that fails keeps
 * its place in the timeline (so the states stay a function of the rows),
 * carries no key, and is logged once (signer.key_rejected).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "store/store.h"
#include "util/log.h"

#define SEAL_CTX "signkeys"
#define CLOCK_LEEWAY 60
/* The first retry after a failed reload; it doubles up to the interval. */
#define RETRY_FIRST 1

struct ring_key {
	char kid[64];
	enum jose_alg alg;
	enum signer_key_state state;
	int64_t created_at, activate_at, retired_at, unpublish_at;
	bool rejected;	  /* the row failed the integrity check */
	char *public_jwk; /* derived from the unsealed key; NULL if rejected */
	EVP_PKEY *pkey;	  /* private; active keys only */
	EVP_PKEY *vkey;	  /* public half: pending, active and retired keys */
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
};

const char *
signer_state_name(enum signer_key_state s)
{
	switch (s) {
	case SIGNER_PENDING: return "pending";
	case SIGNER_ACTIVE: return "active";
	case SIGNER_RETIRED: return "retired";
	default: return "expired";
	}
}

static void
ring_free(struct ring *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n; i++) {
		free(g->keys[i].public_jwk);
		EVP_PKEY_free(g->keys[i].pkey);
		EVP_PKEY_free(g->keys[i].vkey);
	}
	free(g->keys);
	free(g->jwks);
	free(g);
}

static int64_t
max_token_ttl(const struct config *cfg)
{
	return cfg->access_token_ttl > cfg->id_token_ttl ? cfg->access_token_ttl
							 : cfg->id_token_ttl;
}

/*
 * States from the rows (ordered by activate_at) and now. Rejected rows
 * count like the others: whether a row passes depends on the master key,
 * the timeline must not.
 */
static void
compute_states(struct ring_key *k, size_t n, int64_t now, int64_t ttl,
    int64_t *next_change)
{
	*next_change = INT64_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct ring_key *succ = NULL;

		for (size_t j = i + 1; j < n; j++) {
			if (k[j].alg == k[i].alg && k[j].activate_at <= now) {
				succ = &k[j];
				break;
			}
		}
		k[i].retired_at = k[i].unpublish_at = 0;
		if (k[i].activate_at > now) {
			k[i].state = SIGNER_PENDING;
			if (k[i].activate_at < *next_change)
				*next_change = k[i].activate_at;
		} else if (succ != NULL) {
			k[i].retired_at = succ->activate_at;
			k[i].unpublish_at =
			    succ->activate_at + ttl + CLOCK_LEEWAY;
			k[i].state = now < k[i].unpublish_at ? SIGNER_RETIRED
							     : SIGNER_EXPIRED;
			if (k[i].state == SIGNER_RETIRED &&
			    k[i].unpublish_at < *next_change)
				*next_change = k[i].unpublish_at;
		} else {
			k[i].state = SIGNER_ACTIVE;
		}
	}
}

/* *why: the step that failed ("unseal", "der" or "kid"). */
static int
unseal_key(const struct signer *s, const struct store_signing_key *row,
    EVP_PKEY **out, const char **why)
{
	uint8_t *der = NULL;
	const unsigned char *p;
	size_t n = 0;
	EVP_PKEY *pkey = NULL;
	char tp[44];
	int r;

	*out = NULL;
	*why = "unseal";
	if ((r = unseal(
		 s->seal_key, row->kid, row->private_sealed, &der, &n)) != 0)
		return r;
	*why = "der";
	p = der;
	pkey = d2i_AutoPrivateKey(NULL, &p, (long)n);
	sodium_free(der);
	if (pkey == NULL)
		return PC_ERR_CRYPTO;
	/* The row's kid is the key's thumbprint: a swapped row fails. */
	*why = "kid";
	if (jwk_thumbprint(pkey, tp) != 0 || strcmp(tp, row->kid) != 0) {
		EVP_PKEY_free(pkey);
		return PC_ERR_VERIFY;
	}
	*out = pkey;
	return 0;
}

static int
build_jwks(struct ring *g)
{
	struct buf b;
	bool first = true;
	int r = 0;

	buf_init(&b, 1024 * 1024);
	r |= buf_puts(&b, "{\"keys\":[");
	for (size_t i = 0; i < g->n; i++) {
		if (g->keys[i].state == SIGNER_EXPIRED ||
		    g->keys[i].public_jwk == NULL)
			continue;
		if (!first)
			r |= buf_putc(&b, ',');
		r |= buf_puts(&b, g->keys[i].public_jwk);
		first = false;
	}
	r |= buf_puts(&b, "]}");
	if (r != 0) {
		buf_free(&b);
		return PC_ERR_TOO_LARGE;
	}
	g->jwks_len = b.len;
	g->jwks = buf_steal(&b);
	return 0;
}

/* The public half of a private key, as a key of its own. */
static int
public_only(EVP_PKEY *pkey, EVP_PKEY **out)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int len;

	*out = NULL;
	if ((len = i2d_PUBKEY(pkey, &der)) <= 0)
		return PC_ERR_CRYPTO;
	p = der;
	*out = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	return *out != NULL ? 0 : PC_ERR_CRYPTO;
}

/*
 * The integrity check of one row, the same for every state: the sealed
 * part unseals under our seal key with the kid as associated data, its
 * thumbprint is the kid, the key fits the row's alg, and the row's
 * public_jwk is (as JSON) the JWK derived from it. On success k gets the
 * derived JWK text, the public half as its verification key, and, when
 * it is the active key, the private key. *why names the failed step.
 */
static int
accept_key(const struct signer *s, const struct store_signing_key *row,
    struct ring_key *k, const char **why)
{
	EVP_PKEY *pkey = NULL;
	json_t *derived = NULL, *stored = NULL;
	int r;

	if ((r = unseal_key(s, row, &pkey, why)) != 0)
		goto out;
	*why = "alg";
	if ((r = jwk_from_pkey(pkey, k->alg, k->kid, &derived)) != 0)
		goto out;
	*why = "public_jwk";
	r = PC_ERR_VERIFY;
	if (jose_json_parse(
		row->public_jwk, strlen(row->public_jwk), 4, &stored) != 0 ||
	    !json_equal(derived, stored))
		goto out;
	*why = "internal";
	r = PC_ERR_INTERNAL;
	if ((k->public_jwk =
		    json_dumps(derived, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	if ((r = public_only(pkey, &k->vkey)) != 0)
		goto out;
	if (k->state == SIGNER_ACTIVE) {
		k->pkey = pkey;
		pkey = NULL;
	}
	r = 0;
out:
	if (r != 0) {
		free(k->public_jwk);
		k->public_jwk = NULL;
		EVP_PKEY_free(k->vkey);
		k->vkey = NULL;
	}
	EVP_PKEY_free(pkey);
	json_decref(derived);
	json_decref(stored);
	return r;
}

static bool
was_rejected(const struct ring *prev, const char *kid)
{
	for (size_t i = 0; prev != NULL && i < prev->n; i++)
		if (strcmp(prev->keys[i].kid, kid) == 0)
			return prev->keys[i].rejected;
	return false;
}

/*
 * Loads the ring from the rows. Only the store (or memory) fails a load:
 * a row that fails the integrity check is rejected, counted, and logged
 * when it was not already rejected by the previous ring (prev), so a
 * planted row is logged once per node, not at every reload. Expired rows
 * are not unsealed: they publish and verify nothing.
 */
static int
load_ring(
    struct signer *s, const struct ring *prev, int64_t now, struct ring **out)
{
	struct store_signing_key *rows = NULL;
	struct ring *g;
	size_t n = 0;
	int r;

	*out = NULL;
	if ((r = store_signing_keys_list(s->db, &rows, &n)) != 0)
		return r;
	g = xcalloc(1, sizeof(*g));
	g->keys = xcalloc(n, sizeof(*g->keys));
	g->n = n;
	g->loaded_at = now;
	for (size_t i = 0; i < n; i++) {
		struct ring_key *k = &g->keys[i];

		snprintf(k->kid, sizeof(k->kid), "%s", rows[i].kid);
		k->alg = jose_alg_parse(rows[i].alg, strlen(rows[i].alg));
		k->created_at = rows[i].created_at;
		k->activate_at = rows[i].activate_at;
	}
	compute_states(g->keys, n, now, max_token_ttl(s->cfg), &g->next_change);
	for (size_t i = 0; i < n; i++) {
		struct ring_key *k = &g->keys[i];
		const char *why = NULL;
		struct log_line l;

		if (k->state == SIGNER_EXPIRED)
			continue;
		/* A kid longer than ours was cut by snprintf: no match. */
		if (strcmp(k->kid, rows[i].kid) == 0 &&
		    accept_key(s, &rows[i], k, &why) == 0)
			continue;
		k->rejected = true;
		g->rejected++;
		if (was_rejected(prev, k->kid))
			continue;
		log_begin(&l, LOG_ERROR, "signer.key_rejected");
		log_str(&l, "kid", k->kid);
		log_str(&l, "alg", rows[i].alg);
		log_str(&l, "state", signer_state_name(k->state));
		log_str(&l, "check", why != NULL ? why : "kid");
		log_end(&l);
	}
	store_signing_keys_free(rows, n);
	if ((r = build_jwks(g)) != 0) {
		ring_free(g);
		return r;
	}
	*out = g;
	return 0;
}

/*
 * The ring old at now, without the store: the same keys, states computed
 * again. A retired key past its unpublish time leaves the JWKS and stops
 * verifying; a key that activated keeps verifying but cannot sign (its
 * private half was never kept), so that algorithm fails closed until the
 * store answers; a superseded active key stops signing. loaded_at is
 * kept: the store reload stays due.
 */
static int
ring_advance(
    const struct ring *old, int64_t now, int64_t ttl, struct ring **out)
{
	struct ring *g = xcalloc(1, sizeof(*g));
	int r;

	*out = NULL;
	g->keys = xcalloc(old->n, sizeof(*g->keys));
	g->n = old->n;
	g->rejected = old->rejected;
	g->loaded_at = old->loaded_at;
	for (size_t i = 0; i < old->n; i++) {
		const struct ring_key *o = &old->keys[i];
		struct ring_key *k = &g->keys[i];

		snprintf(k->kid, sizeof(k->kid), "%s", o->kid);
		k->alg = o->alg;
		k->created_at = o->created_at;
		k->activate_at = o->activate_at;
		k->rejected = o->rejected;
	}
	compute_states(g->keys, g->n, now, ttl, &g->next_change);
	for (size_t i = 0; i < g->n; i++) {
		const struct ring_key *o = &old->keys[i];
		struct ring_key *k = &g->keys[i];

		if (k->state == SIGNER_EXPIRED || o->vkey == NULL ||
		    o->public_jwk == NULL)
			continue;
		if (EVP_PKEY_up_ref(o->vkey) != 1)
			goto fail;
		k->vkey = o->vkey;
		k->public_jwk = xstrdup(o->public_jwk);
		if (k->state == SIGNER_ACTIVE && o->state == SIGNER_ACTIVE &&
		    o->pkey != NULL) {
			if (EVP_PKEY_up_ref(o->pkey) != 1)
				goto fail;
			k->pkey = o->pkey;
		}
	}
	if ((r = build_jwks(g)) != 0) {
		ring_free(g);
		return r;
	}
	*out = g;
	return 0;
fail:
	ring_free(g);
	return PC_ERR_CRYPTO;
}

static int
generate(enum jose_alg alg, int64_t bits, EVP_PKEY **out)
{
	*out = NULL;
	switch (alg) {
	case JOSE_ALG_ES256:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case JOSE_ALG_RS256:
	case JOSE_ALG_PS256:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
		break;
	case JOSE_ALG_EDDSA:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default: return PC_ERR_INVALID;
	}
	return *out != NULL ? 0 : PC_ERR_CRYPTO;
}

/* A new key as a store row: kid = RFC 7638 thumbprint. */
static int
new_key_row(const uint8_t seal_key[32], const struct config *cfg,
    enum jose_alg alg, int64_t now, int64_t activate_at,
    struct store_signing_key *row)
{
	EVP_PKEY *pkey = NULL;
	json_t *jwk = NULL;
	unsigned char *der = NULL, *p;
	int len, r;
	char kid[44];

	memset(row, 0, sizeof(*row));
	if ((r = generate(alg, cfg->rsa_key_bits, &pkey)) != 0)
		return r;
	if ((r = jwk_thumbprint(pkey, kid)) != 0 ||
	    (r = jwk_from_pkey(pkey, alg, kid, &jwk)) != 0)
		goto out;
	if ((len = i2d_PrivateKey(pkey, NULL)) <= 0) {
		r = PC_ERR_CRYPTO;
		goto out;
	}
	if ((der = sodium_malloc((size_t)len)) == NULL)
		fatal("sodium_malloc failed");
	p = der;
	if (i2d_PrivateKey(pkey, &p) != len) {
		r = PC_ERR_CRYPTO;
		goto out;
	}
	if ((r = seal(seal_key, kid, der, (size_t)len, &row->private_sealed)) !=
	    0)
		goto out;
	row->kid = xstrdup(kid);
	row->alg = xstrdup(jose_alg_name(alg));
	row->public_jwk = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	if (row->public_jwk == NULL) {
		r = PC_ERR_INTERNAL;
		goto out;
	}
	row->created_at = now;
	row->activate_at = activate_at;
	r = 0;
out:
	if (der != NULL)
		sodium_free(der);
	json_decref(jwk);
	EVP_PKEY_free(pkey);
	if (r != 0)
		store_signing_key_clear(row);
	return r;
}

static uint8_t *
seal_key_new(const struct masterkey *mk)
{
	uint8_t *k = sodium_malloc(32);

	if (k == NULL)
		fatal("sodium_malloc failed");
	masterkey_derive(mk, SEAL_CTX, 1, k);
	return k;
}

static void
log_key(const char *event, const struct store_signing_key *row)
{
	struct log_line l;

	log_begin(&l, LOG_INFO, event);
	log_str(&l, "kid", row->kid);
	log_str(&l, "alg", row->alg);
	log_int(&l, "activate_at", row->activate_at);
	log_end(&l);
}

/*
 * The algorithm every token response needs: access tokens are ES256
 * (oauth/tokens.c). A node whose active ES256 key is rejected (the wrong
 * master key, or a row altered in the store) cannot issue anything and
 * refuses to start; any other algorithm whose active key is rejected only
 * fails closed for signing with that algorithm.
 */
static bool
needed_key_rejected(const struct ring *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->keys[i].alg == JOSE_ALG_ES256 &&
		    g->keys[i].state == SIGNER_ACTIVE && g->keys[i].rejected)
			return true;
	return false;
}

int
signer_open(struct db *db, const struct masterkey *mk, const struct config *cfg,
    bool ensure, int64_t now, struct signer **out)
{
	static const enum jose_alg first[] = { JOSE_ALG_ES256, JOSE_ALG_RS256 };
	struct signer *s;
	bool added = false;
	int r;

	*out = NULL;
	s = xcalloc(1, sizeof(*s));
	s->db = db;
	s->cfg = cfg;
	s->seal_key = seal_key_new(mk);
	pthread_rwlock_init(&s->lock, NULL);
	pthread_mutex_init(&s->reload, NULL);
	atomic_init(&s->kid_reload_at, INT64_MIN);
	atomic_init(&s->kid_reloads, 0);
	if ((r = load_ring(s, NULL, now, &s->ring)) != 0)
		goto fail;
	if (needed_key_rejected(s->ring)) {
		r = PC_ERR_VERIFY;
		goto fail;
	}
	for (size_t i = 0; ensure && i < PC_NELEM(first); i++) {
		struct store_signing_key row;
		bool inserted, have = false;

		/*
		 * Generate only what is missing: keygen (RSA) is slow. A
		 * rejected row counts as present: no key replaces it.
		 */
		for (size_t k = 0; k < s->ring->n; k++)
			have |= s->ring->keys[k].alg == first[i];
		if (have)
			continue;
		if ((r = new_key_row(
			 s->seal_key, cfg, first[i], now, now, &row)) != 0)
			goto fail;
		r = store_signing_key_insert_first(db, &row, &inserted);
		if (r == 0 && inserted)
			log_key("signer.key_created", &row);
		added = true;
		store_signing_key_clear(&row);
		if (r != 0)
			goto fail;
	}
	if (added && (r = signer_refresh(s, now, true)) != 0)
		goto fail;
	if (added && needed_key_rejected(s->ring)) {
		r = PC_ERR_VERIFY;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	signer_free(s);
	return r;
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	ring_free(s->ring);
	sodium_free(s->seal_key);
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->reload);
	free(s);
}

/* A store reload is due at now (ring and backoff read under s->lock). */
static bool
reload_due(const struct signer *s, int64_t now)
{
	const struct ring *g = s->ring;
	int64_t every = s->cfg->signing_key_refresh;

	if (!(now >= g->next_change || now >= g->loaded_at + every ||
		now < g->loaded_at))
		return false;
	/* After a failure: not before retry_at (unless the clock went back). */
	return now >= s->retry_at || s->retry_at - now > every;
}

static void
swap_ring(struct signer *s, struct ring *g)
{
	struct ring *old;

	pthread_rwlock_wrlock(&s->lock);
	old = s->ring;
	s->ring = g;
	pthread_rwlock_unlock(&s->lock);
	ring_free(old);
}

/* The last good ring moved on to now without the store; reload held. */
static void
advance_locked(struct signer *s, int64_t now)
{
	struct ring *g = NULL;

	if (now >= s->ring->next_change &&
	    ring_advance(s->ring, now, max_token_ttl(s->cfg), &g) == 0)
		swap_ring(s, g);
}

/*
 * One store reload; s->reload is held. A failure starts or extends a
 * streak: the next attempt waits 1 s, then 2, 4, ... up to
 * signing_key_refresh, and only the first failure of a streak is logged.
 * Meanwhile the last good ring serves, its states moved on with the clock
 * (ring_advance).
 */
static int
reload_locked(struct signer *s, int64_t now)
{
	struct ring *g = NULL;
	int64_t every = s->cfg->signing_key_refresh, delay = RETRY_FIRST;
	unsigned failures;
	int r;

	r = load_ring(s, s->ring, now, &g);
	if (r == 0) {
		pthread_rwlock_wrlock(&s->lock);
		failures = s->failures;
		s->failures = 0;
		s->retry_at = 0;
		pthread_rwlock_unlock(&s->lock);
		swap_ring(s, g);
		if (failures > 0) {
			struct log_line l;

			log_begin(&l, LOG_INFO, "signer.reload_recovered");
			log_int(&l, "failures", failures);
			log_end(&l);
		}
		return 0;
	}
	pthread_rwlock_wrlock(&s->lock);
	failures = ++s->failures;
	s->failures_total++;
	for (unsigned i = 1; i < failures && delay < every; i++)
		delay *= 2;
	if (delay > every)
		delay = every;
	s->retry_at = now + delay;
	pthread_rwlock_unlock(&s->lock);
	if (failures == 1) {
		struct log_line l;

		log_begin(&l, LOG_ERROR, "signer.reload_failed");
		log_str(&l, "error", pc_strerror(r));
		log_int(&l, "retry_in", delay);
		log_end(&l);
	}
	advance_locked(s, now);
	return r;
}

int
signer_refresh(struct signer *s, int64_t now, bool force)
{
	bool due, stale;
	int r = 0;

	pthread_rwlock_rdlock(&s->lock);
	due = force || reload_due(s, now);
	stale = now >= s->ring->next_change;
	pthread_rwlock_unlock(&s->lock);
	if (!due && !stale)
		return 0;
	/* One reloader at a time; the others keep using the current ring. */
	if (force) {
		pthread_mutex_lock(&s->reload);
	} else {
		if (pthread_mutex_trylock(&s->reload) != 0)
			return 0;
		/* Another thread may have reloaded meanwhile. */
		pthread_rwlock_rdlock(&s->lock);
		due = reload_due(s, now);
		stale = now >= s->ring->next_change;
		pthread_rwlock_unlock(&s->lock);
	}
	/* Not due but stale: a key boundary passed while backing off. */
	if (due)
		r = reload_locked(s, now);
	else if (stale)
		advance_locked(s, now);
	pthread_mutex_unlock(&s->reload);
	return r;
}

static int
sign_cb(void *ctx, const uint8_t *in, size_t n, uint8_t *sig, size_t *sig_len)
{
	const struct ring_key *k = ctx;

	return jws_sign_raw(k->pkey, k->alg, in, n, sig, sig_len);
}

int
signer_sign_jwt(struct signer *s, enum jose_alg alg, const char *typ,
    const json_t *claims, int64_t now, char **out)
{
	const struct ring_key *k = NULL;
	int r;

	*out = NULL;
	(void)signer_refresh(s, now, false);
	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->ring->n; i++) {
		if (s->ring->keys[i].alg == alg &&
		    s->ring->keys[i].state == SIGNER_ACTIVE &&
		    s->ring->keys[i].pkey != NULL)
			k = &s->ring->keys[i];
	}
	if (k == NULL)
		r = PC_ERR_NOT_FOUND;
	else
		r = jws_sign_compact(alg, k->kid, typ, claims, sign_cb,
		    (void *)(uintptr_t)k, out);
	pthread_rwlock_unlock(&s->lock);
	return r;
}

/* Verifies against the current ring. */
static int
verify_ring(struct signer *s, const char *token, size_t len,
    const struct signer_verify_opts *o, struct jws_verified *out)
{
	struct jws_key keys[SIGNER_VERIFY_KEYS_MAX];
	struct jws_verify_opts vo;
	size_t nk = 0;
	int r;

	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->ring->n && nk < SIGNER_VERIFY_KEYS_MAX; i++) {
		const struct ring_key *k = &s->ring->keys[i];

		if (k->vkey == NULL)
			continue;
		keys[nk].kid = k->kid;
		keys[nk].alg = k->alg;
		keys[nk].pkey = k->vkey;
		nk++;
	}
	memset(&vo, 0, sizeof(vo));
	vo.keys = keys;
	vo.nkeys = nk;
	vo.algs = o->algs;
	vo.nalgs = o->nalgs;
	vo.typ = o->typ;
	r = jws_verify_compact(token, len, &vo, out);
	/* The key belongs to the ring, which may be replaced once unlocked. */
	out->key = NULL;
	pthread_rwlock_unlock(&s->lock);
	return r;
}

/* The ring has a row with this kid, in any state, rejected or not. */
static bool
ring_knows(struct signer *s, const char *kid)
{
	bool known = false;

	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->ring->n && !known; i++)
		known = strcmp(s->ring->keys[i].kid, kid) == 0;
	pthread_rwlock_unlock(&s->lock);
	return known;
}

/*
 * The header's kid, if it has the shape of ours (a 43-character RFC 7638
 * thumbprint); nothing of it is trusted, it only names a key to look for.
 */
static bool
header_kid(const char *token, size_t len, char kid[44])
{
	const char *dot = memchr(token, '.', len);
	uint8_t raw[1024];
	size_t n = 0;
	json_t *hdr = NULL, *v;
	bool ok = false;

	kid[0] = '\0';
	if (dot == NULL ||
	    b64url_decode(token, (size_t)(dot - token), raw, sizeof(raw), &n) !=
		0 ||
	    jose_json_parse((const char *)raw, n, 2, &hdr) != 0)
		return false;
	v = json_object_get(hdr, "kid");
	if (json_is_string(v) && json_string_length(v) == 43) {
		const char *p = json_string_value(v);

		ok = true;
		for (size_t i = 0; i < 43 && ok; i++)
			ok = (p[i] >= 'A' && p[i] <= 'Z') ||
			    (p[i] >= 'a' && p[i] <= 'z') ||
			    (p[i] >= '0' && p[i] <= '9') || p[i] == '-' ||
			    p[i] == '_';
		if (ok)
			memcpy(kid, p, 44);
	}
	json_decref(hdr);
	return ok;
}

/*
 * A token names a kid this node has not loaded: another node may sign
 * with a key made after our last reload. One store reload per second at
 * most, for the whole node (a flood of random kids costs the store one
 * query a second), none while a failed reload is backing off, and none
 * while another reload runs.
 */
static bool
kid_reload(struct signer *s, int64_t now)
{
	int64_t last = atomic_load(&s->kid_reload_at);
	bool backing_off;

	if (last == now ||
	    !atomic_compare_exchange_strong(&s->kid_reload_at, &last, now))
		return false;
	pthread_rwlock_rdlock(&s->lock);
	backing_off = now < s->retry_at &&
	    s->retry_at - now <= s->cfg->signing_key_refresh;
	pthread_rwlock_unlock(&s->lock);
	/*
	 * Never wait for a reload in progress: with a slow store, waiting
	 * would let one request a second pile up on the lock until no worker
	 * is left.
	 */
	if (backing_off || pthread_mutex_trylock(&s->reload) != 0)
		return false;
	atomic_fetch_add(&s->kid_reloads, 1);
	(void)reload_locked(s, now);
	pthread_mutex_unlock(&s->reload);
	return true;
}

int
signer_verify_jwt(struct signer *s, const char *token, size_t len,
    const struct signer_verify_opts *o, int64_t now, struct jws_verified *out)
{
	char kid[44];
	int r;

	memset(out, 0, sizeof(*out));
	(void)signer_refresh(s, now, false);
	r = verify_ring(s, token, len, o, out);
	/* Only a refused token is looked at again: is its kid new to us? */
	if (r == PC_ERR_VERIFY && token != NULL &&
	    header_kid(token, len, kid) && !ring_knows(s, kid) &&
	    kid_reload(s, now)) {
		jws_verified_free(out);
		r = verify_ring(s, token, len, o, out);
	}
	return r;
}

bool
signer_can_sign(struct signer *s, enum jose_alg alg, int64_t now)
{
	bool ok = false;

	(void)signer_refresh(s, now, false);
	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->ring->n && !ok; i++)
		ok = s->ring->keys[i].alg == alg &&
		    s->ring->keys[i].state == SIGNER_ACTIVE &&
		    s->ring->keys[i].pkey != NULL;
	pthread_rwlock_unlock(&s->lock);
	return ok;
}

unsigned
signer_can_sign_mask(
    struct signer *s, const enum jose_alg *algs, size_t n, int64_t now)
{
	unsigned mask = 0;

	(void)signer_refresh(s, now, false);
	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->ring->n; i++) {
		const struct ring_key *k = &s->ring->keys[i];

		if (k->state != SIGNER_ACTIVE || k->pkey == NULL)
			continue;
		for (size_t a = 0; a < n && a < 32; a++)
			if (algs[a] == k->alg)
				mask |= 1U << a;
	}
	pthread_rwlock_unlock(&s->lock);
	return mask;
}

int
signer_jwks(struct signer *s, int64_t now, char **out, size_t *len)
{
	(void)signer_refresh(s, now, false);
	pthread_rwlock_rdlock(&s->lock);
	*out = xstrndup(s->ring->jwks, s->ring->jwks_len);
	*len = s->ring->jwks_len;
	pthread_rwlock_unlock(&s->lock);
	return 0;
}

int
signer_list(
    struct signer *s, int64_t now, struct signer_key_info **out, size_t *n)
{
	struct signer_key_info *v;
	int64_t next;

	(void)signer_refresh(s, now, false);
	pthread_rwlock_rdlock(&s->lock);
	v = xcalloc(s->ring->n, sizeof(*v));
	for (size_t i = 0; i < s->ring->n; i++) {
		const struct ring_key *k = &s->ring->keys[i];

		snprintf(v[i].kid, sizeof(v[i].kid), "%s", k->kid);
		v[i].alg = k->alg;
		v[i].created_at = k->created_at;
		v[i].activate_at = k->activate_at;
		v[i].rejected = k->rejected;
	}
	*n = s->ring->n;
	pthread_rwlock_unlock(&s->lock);
	/* States at the caller's now, with the same rule as the ring. */
	{
		struct ring_key *tmp = xcalloc(*n, sizeof(*tmp));

		for (size_t i = 0; i < *n; i++) {
			tmp[i].alg = v[i].alg;
			tmp[i].activate_at = v[i].activate_at;
		}
		compute_states(tmp, *n, now, max_token_ttl(s->cfg), &next);
		for (size_t i = 0; i < *n; i++) {
			v[i].state = tmp[i].state;
			v[i].retired_at = tmp[i].retired_at;
			v[i].unpublish_at = tmp[i].unpublish_at;
		}
		free(tmp);
	}
	*out = v;
	return 0;
}

void
signer_stats(struct signer *s, struct signer_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&s->lock);
	out->keys = s->ring->n;
	out->rejected = s->ring->rejected;
	out->loaded_at = s->ring->loaded_at;
	out->failures = s->failures;
	out->failures_total = s->failures_total;
	out->retry_at = s->retry_at;
	pthread_rwlock_unlock(&s->lock);
	out->kid_reloads = atomic_load(&s->kid_reloads);
}

int
signer_rotate(struct db *db, const struct masterkey *mk,
    const struct config *cfg, enum jose_alg alg, int64_t now, char kid_out[64])
{
	struct store_signing_key row;
	uint8_t *sk = seal_key_new(mk);
	int r;

	r = new_key_row(
	    sk, cfg, alg, now, now + cfg->signing_key_activation_delay, &row);
	sodium_free(sk);
	if (r != 0)
		return r;
	if ((r = store_signing_key_insert(db, &row)) == 0) {
		snprintf(kid_out, 64, "%s", row.kid);
		log_key("signer.key_rotated", &row);
	}
	store_signing_key_clear(&row);
	return r;
}
