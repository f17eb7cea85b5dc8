/*
 * The signer: the key ring and the only code that touches private signing
 * keys (SECURITY.md JW-09). Keys come from the store; their private parts
 * are sealed with a subkey of the master key and the kid as associated
 * data. Only the active key of each algorithm is kept unsealed (a pending
 * one is unsealed to take its public half, then dropped); the unsealed
 * bytes live in sodium_malloc memory for the moment of parsing, and the
 * parsed key in OpenSSL's secure heap (see crypto_init()).
 *
 * A key's state is a function of the rows and the clock, so every node
 * computes the same ring: pending (published, activate_at in the future),
 * active (newest activated key of its alg), retired (superseded; published
 * until every token it signed has expired), expired (unpublished).
 */
#include <pthread.h>
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

struct ring_key {
	char kid[64];
	enum jose_alg alg;
	enum signer_key_state state;
	int64_t created_at, activate_at, retired_at, unpublish_at;
	char *public_jwk;
	EVP_PKEY *pkey; /* private; active keys only */
	EVP_PKEY *vkey; /* verifies: active and retired keys */
};

struct ring {
	struct ring_key *keys;
	size_t n;
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

/* States from the rows (ordered by activate_at) and now. */
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

static int
unseal_key(
    const struct signer *s, const struct store_signing_key *row, EVP_PKEY **out)
{
	uint8_t *der = NULL;
	const unsigned char *p;
	size_t n = 0;
	EVP_PKEY *pkey = NULL;
	char tp[44];
	int r;

	*out = NULL;
	if ((r = unseal(
		 s->seal_key, row->kid, row->private_sealed, &der, &n)) != 0)
		return r;
	p = der;
	pkey = d2i_AutoPrivateKey(NULL, &p, (long)n);
	sodium_free(der);
	if (pkey == NULL)
		return PC_ERR_CRYPTO;
	/* The row's kid is the key's thumbprint: a swapped row fails. */
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
		if (g->keys[i].state == SIGNER_EXPIRED)
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
 * A pending key verifies too: another node whose clock is ahead, or
 * that reloaded first, may already sign with it. Its public half comes
 * from the unsealed row (kid = thumbprint checked), never from
 * public_jwk, so a row that was not sealed under our master key verifies
 * nothing; its private half is dropped at once. A pending row that does
 * not unseal is logged and left without a verification key, and fails
 * the load only when it activates.
 */
static void
pending_key(const struct signer *s, const struct store_signing_key *row,
    struct ring_key *k)
{
	EVP_PKEY *pkey = NULL;
	int r;

	if ((r = unseal_key(s, row, &pkey)) == 0)
		r = public_only(pkey, &k->vkey);
	EVP_PKEY_free(pkey);
	if (r != 0) {
		struct log_line l;

		log_begin(&l, LOG_ERROR, "signer.unseal_failed");
		log_str(&l, "kid", row->kid);
		log_str(&l, "state", "pending");
		log_str(&l, "error", pc_strerror(r));
		log_end(&l);
	}
}

/* The public key that verifies what k signed, for keys that may have. */
static int
verify_key(struct ring_key *k)
{
	json_t *jwk = NULL;
	int r;

	if (k->state == SIGNER_ACTIVE && k->pkey != NULL) {
		if (EVP_PKEY_up_ref(k->pkey) != 1)
			return PC_ERR_CRYPTO;
		k->vkey = k->pkey;
		return 0;
	}
	if (k->state != SIGNER_RETIRED)
		return 0; /* pending: pending_key() */
	if ((r = jose_json_parse(
		 k->public_jwk, strlen(k->public_jwk), 4, &jwk)) != 0)
		return r;
	r = jwk_to_pkey(jwk, k->alg, &k->vkey);
	json_decref(jwk);
	return r;
}

static int
load_ring(struct signer *s, int64_t now, struct ring **out)
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
		k->public_jwk = xstrdup(rows[i].public_jwk);
	}
	compute_states(g->keys, n, now, max_token_ttl(s->cfg), &g->next_change);
	for (size_t i = 0; i < n && r == 0; i++) {
		if (g->keys[i].state == SIGNER_PENDING)
			pending_key(s, &rows[i], &g->keys[i]);
		if (g->keys[i].state != SIGNER_ACTIVE)
			continue;
		if ((r = unseal_key(s, &rows[i], &g->keys[i].pkey)) != 0) {
			struct log_line l;

			log_begin(&l, LOG_ERROR, "signer.unseal_failed");
			log_str(&l, "kid", rows[i].kid);
			log_str(&l, "error", pc_strerror(r));
			log_end(&l);
		}
	}
	store_signing_keys_free(rows, n);
	for (size_t i = 0; i < n && r == 0; i++)
		r = verify_key(&g->keys[i]);
	if (r == 0)
		r = build_jwks(g);
	if (r != 0) {
		ring_free(g);
		return r;
	}
	*out = g;
	return 0;
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
	if ((r = load_ring(s, now, &s->ring)) != 0)
		goto fail;
	for (size_t i = 0; ensure && i < PC_NELEM(first); i++) {
		struct store_signing_key row;
		bool inserted, have = false;

		/* Generate only what is missing: keygen (RSA) is slow. */
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

int
signer_refresh(struct signer *s, int64_t now, bool force)
{
	struct ring *g, *old;
	int r;

	pthread_rwlock_rdlock(&s->lock);
	g = s->ring;
	bool due = force || now >= g->next_change ||
	    now >= g->loaded_at + s->cfg->signing_key_refresh ||
	    now < g->loaded_at;
	pthread_rwlock_unlock(&s->lock);
	if (!due)
		return 0;
	/* One reloader at a time; the others keep using the current ring. */
	if (force)
		pthread_mutex_lock(&s->reload);
	else if (pthread_mutex_trylock(&s->reload) != 0)
		return 0;
	r = load_ring(s, now, &g);
	if (r != 0)
		log_msg(LOG_ERROR, "signer.reload_failed", pc_strerror(r));
	if (r == 0) {
		pthread_rwlock_wrlock(&s->lock);
		old = s->ring;
		s->ring = g;
		pthread_rwlock_unlock(&s->lock);
		ring_free(old);
	}
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

int
signer_verify_jwt(struct signer *s, const char *token, size_t len,
    const struct signer_verify_opts *o, int64_t now, struct jws_verified *out)
{
	struct jws_key keys[SIGNER_VERIFY_KEYS_MAX];
	struct jws_verify_opts vo;
	size_t nk = 0;
	int r;

	memset(out, 0, sizeof(*out));
	(void)signer_refresh(s, now, false);
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
