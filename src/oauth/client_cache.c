/*
 * The per-node client cache (issue 13; decision 0049; SECURITY.md TK-07,
 * TK-08, TK-09): client authentication at /token, /introspect and /revoke
 * without reading the client and its secrets from the store on every
 * request.
 *
 * An entry is a client record, its secret hashes with their expiry (for a
 * secret-using client) and the 'clients' version it was read at. It is
 * used only while the store's 'clients' version, read for every request
 * (src/store/versions.c), still has that value: every client write on any
 * node or by the CLI moves it in its own transaction, so a deleted client,
 * a rotated secret or a changed registration is read again at the next
 * request. A version read that fails fails the request (503): there is no
 * stale fallback. Secret expiry is checked against now from the cached
 * values, as the store query did.
 *
 * Bounds: CLIENT_CACHE_ENTRIES clients and CLIENT_CACHE_BYTES of their
 * strings; past either the least recently used entries go (their hashes
 * wiped). Only clients that exist enter (a miss is not cached), so naming
 * random client ids neither fills nor churns it: the set is the registered
 * clients, which operators create. One mutex guards it; a hit copies the
 * record out under it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "oauth/oauth.h"

#define BUCKETS 2048 /* power of two, >= 2 * CLIENT_CACHE_ENTRIES */

struct entry {
	struct entry *chain;	     /* same bucket */
	struct entry *newer, *older; /* LRU list */
	int64_t version;
	size_t bytes;
	struct store_client c;
	struct store_client_secret s[STORE_CLIENT_SECRETS_MAX];
	size_t n;
};

struct client_cache {
	pthread_mutex_t lock;
	uint64_t owner; /* this cache's lifetime, for the version gate */
	struct entry *bucket[BUCKETS];
	struct entry *newest, *oldest;
	size_t count, bytes;
};

static atomic_uint_fast64_t owners;

struct client_cache *
client_cache_new(void)
{
	struct client_cache *cc = xcalloc(1, sizeof(*cc));

	if (pthread_mutex_init(&cc->lock, NULL) != 0)
		fatal("client cache: mutex");
	cc->owner = atomic_fetch_add(&owners, 1) + 1;
	return cc;
}

static void
entry_free(struct entry *e)
{
	sodium_memzero(e->s, sizeof(e->s));
	store_client_clear(&e->c);
	pc_freezero(e, sizeof(*e));
}

void
client_cache_free(struct client_cache *cc)
{
	if (cc == NULL)
		return;
	for (struct entry *e = cc->newest, *next; e != NULL; e = next) {
		next = e->older;
		entry_free(e);
	}
	pthread_mutex_destroy(&cc->lock);
	free(cc);
}

size_t
client_cache_count(struct client_cache *cc)
{
	size_t n;

	pthread_mutex_lock(&cc->lock);
	n = cc->count;
	pthread_mutex_unlock(&cc->lock);
	return n;
}

int
client_cache_versions(
    struct client_cache *cc, struct db *db, struct store_versions *out)
{
	return store_versions_read(db, cc != NULL ? cc->owner : 0, out);
}

static size_t
slot(const char *id)
{
	uint32_t h = 2166136261u; /* FNV-1a: the keys are registered ids */

	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h & (BUCKETS - 1);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static char **
dup_strv(char *const *v, size_t n, size_t *bytes)
{
	char **o;

	if (n == 0)
		return NULL;
	o = xcalloc(n, sizeof(*o));
	for (size_t i = 0; i < n; i++) {
		o[i] = xstrdup(v[i]);
		*bytes += strlen(v[i]) + 1;
	}
	return o;
}

/* A deep copy of src; *bytes (may be NULL) gets its string bytes. */
static void
client_copy(
    struct store_client *dst, const struct store_client *src, size_t *bytes)
{
	size_t b = 0;
	const char *const s[] = { src->client_id, src->name, src->auth_method,
		src->grant_types, src->scopes, src->id_token_alg, src->jwks,
		src->service_account_id, src->kind, src->owner_id,
		src->resources, src->cors_origins, src->registration };

	*dst = *src;
	dst->client_id = dup_or_null(src->client_id);
	dst->name = dup_or_null(src->name);
	dst->auth_method = dup_or_null(src->auth_method);
	dst->grant_types = dup_or_null(src->grant_types);
	dst->scopes = dup_or_null(src->scopes);
	dst->id_token_alg = dup_or_null(src->id_token_alg);
	dst->jwks = dup_or_null(src->jwks);
	dst->service_account_id = dup_or_null(src->service_account_id);
	dst->kind = dup_or_null(src->kind);
	dst->owner_id = dup_or_null(src->owner_id);
	dst->resources = dup_or_null(src->resources);
	dst->cors_origins = dup_or_null(src->cors_origins);
	dst->registration = dup_or_null(src->registration);
	dst->redirect_uris =
	    dup_strv(src->redirect_uris, src->n_redirect_uris, &b);
	dst->post_logout_uris =
	    dup_strv(src->post_logout_uris, src->n_post_logout_uris, &b);
	for (size_t i = 0; i < PC_NELEM(s); i++)
		b += s[i] != NULL ? strlen(s[i]) + 1 : 0;
	if (bytes != NULL)
		*bytes = b;
}

static void
lru_unlink(struct client_cache *cc, struct entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		cc->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		cc->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
lru_push(struct client_cache *cc, struct entry *e)
{
	e->newer = NULL;
	e->older = cc->newest;
	if (cc->newest != NULL)
		cc->newest->newer = e;
	cc->newest = e;
	if (cc->oldest == NULL)
		cc->oldest = e;
}

static struct entry **
find(struct client_cache *cc, const char *id)
{
	struct entry **p = &cc->bucket[slot(id)];

	while (*p != NULL && strcmp((*p)->c.client_id, id) != 0)
		p = &(*p)->chain;
	return p;
}

/* Takes e out of the cache and frees it (hashes wiped). */
static void
drop(struct client_cache *cc, struct entry *e)
{
	struct entry **p = find(cc, e->c.client_id);

	if (*p == e)
		*p = e->chain;
	lru_unlink(cc, e);
	cc->count--;
	cc->bytes -= e->bytes;
	entry_free(e);
}

/* A hit: out and secrets get copies. Under the lock. */
static void
hand_out(const struct entry *e, struct store_client *out,
    struct store_client_secret secrets[STORE_CLIENT_SECRETS_MAX], size_t *n)
{
	client_copy(out, &e->c, NULL);
	memcpy(secrets, e->s, sizeof(e->s));
	*n = e->n;
}

/* The client and (for a secret-using one) every secret, from the store. */
static int
load(struct db *db, const char *id, struct store_client *c,
    struct store_client_secret s[STORE_CLIENT_SECRETS_MAX], size_t *n)
{
	int r;

	*n = 0;
	memset(s, 0, STORE_CLIENT_SECRETS_MAX * sizeof(*s));
	if ((r = store_client_get(db, id, c)) != 0)
		return r;
	/* All of them, expired or not: expiry is checked at each use. */
	if (client_auth_method_uses_secret(c->auth_method) &&
	    (r = store_client_secrets_get(db, id, INT64_MIN, s, n)) != 0) {
		store_client_clear(c);
		sodium_memzero(s, STORE_CLIENT_SECRETS_MAX * sizeof(*s));
		*n = 0;
		return r == PC_ERR_NOT_FOUND ? PC_ERR_STORE : r;
	}
	return 0;
}

static void
insert(struct client_cache *cc, int64_t version, const struct store_client *c,
    const struct store_client_secret *s, size_t n)
{
	struct entry *e = xcalloc(1, sizeof(*e)), **p;

	client_copy(&e->c, c, &e->bytes);
	e->bytes += sizeof(*e);
	memcpy(e->s, s, sizeof(e->s));
	e->n = n;
	e->version = version;
	if (e->bytes > CLIENT_CACHE_BYTES / 4) {
		entry_free(e); /* a huge JWKS: read every time */
		return;
	}
	pthread_mutex_lock(&cc->lock);
	p = find(cc, c->client_id);
	if (*p != NULL && (*p)->version > version) {
		/* A later read got there first: keep it. */
		pthread_mutex_unlock(&cc->lock);
		entry_free(e);
		return;
	}
	if (*p != NULL)
		drop(cc, *p);
	while (cc->oldest != NULL &&
	    (cc->count >= CLIENT_CACHE_ENTRIES ||
		cc->bytes + e->bytes > CLIENT_CACHE_BYTES))
		drop(cc, cc->oldest);
	p = find(cc, c->client_id);
	e->chain = *p;
	*p = e;
	lru_push(cc, e);
	cc->count++;
	cc->bytes += e->bytes;
	pthread_mutex_unlock(&cc->lock);
}

int
client_cache_get(struct client_cache *cc, struct db *db,
    const struct store_versions *v, const char *id, struct store_client *out,
    struct store_client_secret secrets[STORE_CLIENT_SECRETS_MAX], size_t *n)
{
	struct entry **p;
	int r;

	memset(out, 0, sizeof(*out));
	*n = 0;
	if (id == NULL)
		return PC_ERR_NOT_FOUND;
	if (cc != NULL) {
		pthread_mutex_lock(&cc->lock);
		p = find(cc, id);
		if (*p != NULL && (*p)->version == v->clients) {
			lru_unlink(cc, *p);
			lru_push(cc, *p);
			hand_out(*p, out, secrets, n);
			pthread_mutex_unlock(&cc->lock);
			return 0;
		}
		/* Stale: it goes now, whatever the read below finds. */
		if (*p != NULL)
			drop(cc, *p);
		pthread_mutex_unlock(&cc->lock);
	}
	/* Read after v: a write in between moves the version past v, so
	 * this entry is read again at the next request. */
	if ((r = load(db, id, out, secrets, n)) != 0)
		return r;
	if (cc != NULL)
		insert(cc, v->clients, out, secrets, *n);
	return 0;
}
