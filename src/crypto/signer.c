/*
 * The signer: the key ring and the only code that touches private signing
 * keys (SECURITY.md JW-09), with signer_ring.c (the ring built from the
 * rows, and new keys); this file holds the signer's life, signing,
 * verifying, reloads and rotation. Keys come from the store; their private parts
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
#include <sodium.h>

#include "crypto/signer_internal.h"
#include "util/log.h"

/* The first retry after a failed reload; it doubles up to the interval. */
#define RETRY_FIRST 1

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
	s->seal_key = signer_seal_key_new(mk);
	pthread_rwlock_init(&s->lock, NULL);
	pthread_mutex_init(&s->reload, NULL);
	atomic_init(&s->kid_reload_at, INT64_MIN);
	atomic_init(&s->kid_reloads, 0);
	atomic_init(&s->auto_added, 0);
	atomic_init(&s->auto_retired, 0);
	atomic_init(&s->auto_dropped, 0);
	atomic_init(&s->auto_failures, 0);
	atomic_init(&s->auto_run_at, 0);
	if ((r = signer_ring_load(s, NULL, now, &s->ring)) != 0)
		goto fail;
	if (signer_needed_key_rejected(s->ring)) {
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
		if ((r = signer_key_row_new(
			 s->seal_key, cfg, first[i], now, now, &row)) != 0)
			goto fail;
		r = store_signing_key_insert_first(db, &row, &inserted);
		if (r == 0 && inserted)
			signer_log_key("signer.key_created", &row);
		added = true;
		store_signing_key_clear(&row);
		if (r != 0)
			goto fail;
	}
	if (added && (r = signer_refresh(s, now, true)) != 0)
		goto fail;
	if (added && signer_needed_key_rejected(s->ring)) {
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
	signer_ring_free(s->ring);
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
	signer_ring_free(old);
}

/* The last good ring moved on to now without the store; reload held. */
static void
advance_locked(struct signer *s, int64_t now)
{
	struct ring *g = NULL;

	if (now >= s->ring->next_change &&
	    signer_ring_advance(
		s->ring, now, signer_unpublish_hold(s->cfg), &g) == 0)
		swap_ring(s, g);
}

/*
 * One store reload; s->reload is held. A failure starts or extends a
 * streak: the next attempt waits 1 s, then 2, 4, ... up to
 * signing_key_refresh, and only the first failure of a streak is logged.
 * Meanwhile the last good ring serves, its states moved on with the clock
 * (signer_ring_advance).
 */
static int
reload_locked(struct signer *s, int64_t now)
{
	struct ring *g = NULL;
	int64_t every = s->cfg->signing_key_refresh, delay = RETRY_FIRST;
	unsigned failures;
	int r;

	r = signer_ring_load(s, s->ring, now, &g);
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

	if (k->pool != NULL)
		return jws_sign_pool_sign(k->pool, in, n, sig, sig_len);
	return jws_sign_raw(k->pkey, k->alg, in, n, sig, sig_len);
}

/*
 * The key of alg that signs at now in ring g, or NULL. *behind: g is older
 * than now for alg (a later key of alg activated at or before now, but g
 * still has the earlier one active): a reload is running on another
 * thread (signer_refresh() only tries the lock), and the superseded key
 * must not sign meanwhile.
 */
static const struct ring_key *
signing_key(const struct ring *g, enum jose_alg alg, int64_t now, bool *behind)
{
	const struct ring_key *k = NULL;

	*behind = false;
	for (size_t i = 0; i < g->n; i++)
		if (g->keys[i].alg == alg &&
		    g->keys[i].state == SIGNER_ACTIVE &&
		    g->keys[i].pkey != NULL)
			k = &g->keys[i];
	for (size_t i = 0; k != NULL && i < g->n; i++)
		if (g->keys[i].alg == alg &&
		    g->keys[i].activate_at > k->activate_at &&
		    g->keys[i].activate_at <= now)
			*behind = true;
	return *behind ? NULL : k;
}

/* Signs with the active key of alg: claims (a json_t) or raw (serialized). */
static int
sign_jwt(struct signer *s, enum jose_alg alg, const char *typ,
    const json_t *claims, const char *raw, size_t raw_len, int64_t now,
    char **out)
{
	const struct ring_key *k;
	bool behind;
	int r;

	*out = NULL;
	(void)signer_refresh(s, now, false);
	pthread_rwlock_rdlock(&s->lock);
	k = signing_key(s->ring, alg, now, &behind);
	if (behind) {
		/*
		 * A key boundary passed and another thread is reloading: wait
		 * for it (once per boundary, the time of one reload), then take
		 * the ring it left. If that reload failed, the ring was moved
		 * on without the store and this alg fails closed (0020).
		 */
		pthread_rwlock_unlock(&s->lock);
		pthread_mutex_lock(&s->reload);
		pthread_mutex_unlock(&s->reload);
		(void)signer_refresh(s, now, false);
		pthread_rwlock_rdlock(&s->lock);
		k = signing_key(s->ring, alg, now, &behind);
	}
	if (k == NULL)
		r = PC_ERR_NOT_FOUND;
	else if (claims != NULL)
		r = jws_sign_compact(alg, k->kid, typ, claims, sign_cb,
		    (void *)(uintptr_t)k, out);
	else
		r = jws_sign_compact_raw(alg, k->kid, typ, raw, raw_len,
		    sign_cb, (void *)(uintptr_t)k, out);
	pthread_rwlock_unlock(&s->lock);
	return r;
}

int
signer_sign_jwt(struct signer *s, enum jose_alg alg, const char *typ,
    const json_t *claims, int64_t now, char **out)
{
	if (claims == NULL) {
		*out = NULL;
		return PC_ERR_INVALID;
	}
	return sign_jwt(s, alg, typ, claims, NULL, 0, now, out);
}

int
signer_sign_jwt_raw(struct signer *s, enum jose_alg alg, const char *typ,
    const char *claims, size_t len, int64_t now, char **out)
{
	if (claims == NULL) {
		*out = NULL;
		return PC_ERR_INVALID;
	}
	return sign_jwt(s, alg, typ, NULL, claims, len, now, out);
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
		signer_compute_states(
		    tmp, *n, now, signer_unpublish_hold(s->cfg), &next);
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
	out->auto_added = atomic_load(&s->auto_added);
	out->auto_retired = atomic_load(&s->auto_retired);
	out->auto_dropped = atomic_load(&s->auto_dropped);
	out->auto_failures = atomic_load(&s->auto_failures);
	out->auto_run_at = atomic_load(&s->auto_run_at);
}

/*
 * The activation delay counts from the moment the key exists, not from
 * the caller's now: keygen (RSA) can take a second, under load more, and
 * the delay is what lets every node and verifier fetch the key before it
 * signs. A now ahead of the clock (unit tests) is kept.
 */
int
signer_key_successor(const uint8_t seal_key[32], const struct config *cfg,
    enum jose_alg alg, int64_t now, struct store_signing_key *row)
{
	int64_t after;
	int r = signer_key_row_new(seal_key, cfg, alg, now,
	    now + cfg->signing_key_activation_delay, row);

	if (r == 0 && (after = clock_now()) > now) {
		row->created_at = after;
		row->activate_at = after + cfg->signing_key_activation_delay;
	}
	return r;
}

int
signer_rotate(struct db *db, const struct masterkey *mk,
    const struct config *cfg, enum jose_alg alg, int64_t now, char kid_out[64])
{
	struct store_signing_key row;
	uint8_t *sk = signer_seal_key_new(mk);
	int r;

	r = signer_key_successor(sk, cfg, alg, now, &row);
	sodium_free(sk);
	if (r != 0)
		return r;
	if ((r = store_signing_key_insert(db, &row)) == 0) {
		snprintf(kid_out, 64, "%s", row.kid);
		signer_log_key("signer.key_rotated", &row);
	}
	store_signing_key_clear(&row);
	return r;
}
