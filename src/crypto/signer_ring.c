/*
 * The signer's key ring (SECURITY.md JW-09): key states from the rows and
 * the clock, the integrity check of every row (unseal under our master
 * key, thumbprint = kid, public_jwk derived from the key), the published
 * JWKS, the ring moved on without the store, and new keys generated and
 * sealed. With signer.c the only code that touches private signing keys;
 * the design is described at the top of signer.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "crypto/signer_internal.h"
#include "util/log.h"

#define SEAL_CTX "signkeys"

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

void
signer_ring_free(struct ring *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n; i++) {
		free(g->keys[i].public_jwk);
		jws_sign_pool_free(g->keys[i].pool);
		EVP_PKEY_free(g->keys[i].pkey);
		EVP_PKEY_free(g->keys[i].vkey);
	}
	free(g->keys);
	free(g->jwks);
	free(g);
}

/*
 * How long a retired key stays published after its successor activated:
 * the longest token it may have signed, plus the margin for verifiers
 * whose clock is behind ours.
 */
int64_t
signer_unpublish_hold(const struct config *cfg)
{
	return config_longest_token_ttl(cfg) +
	    cfg->signing_key_unpublish_margin;
}

/*
 * States from the rows (ordered by activate_at) and now. Rejected rows
 * count like the others: whether a row passes depends on the master key,
 * the timeline must not.
 */
void
signer_compute_states(struct ring_key *k, size_t n, int64_t now, int64_t hold,
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
			k[i].unpublish_at = succ->activate_at + hold;
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
		k->pool = jws_sign_pool_new(pkey, k->alg);
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
int
signer_ring_load(
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
	signer_compute_states(
	    g->keys, n, now, signer_unpublish_hold(s->cfg), &g->next_change);
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
		signer_ring_free(g);
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
int
signer_ring_advance(
    const struct ring *old, int64_t now, int64_t hold, struct ring **out)
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
	signer_compute_states(g->keys, g->n, now, hold, &g->next_change);
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
			k->pool = jws_sign_pool_new(k->pkey, k->alg);
		}
	}
	if ((r = build_jwks(g)) != 0) {
		signer_ring_free(g);
		return r;
	}
	*out = g;
	return 0;
fail:
	signer_ring_free(g);
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
int
signer_key_row_new(const uint8_t seal_key[32], const struct config *cfg,
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

uint8_t *
signer_seal_key_new(const struct masterkey *mk)
{
	uint8_t *k = sodium_malloc(32);

	if (k == NULL)
		fatal("sodium_malloc failed");
	masterkey_derive(mk, SEAL_CTX, 1, k);
	return k;
}

void
signer_log_key(const char *event, const struct store_signing_key *row)
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
bool
signer_needed_key_rejected(const struct ring *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->keys[i].alg == JOSE_ALG_ES256 &&
		    g->keys[i].state == SIGNER_ACTIVE && g->keys[i].rejected)
			return true;
	return false;
}
