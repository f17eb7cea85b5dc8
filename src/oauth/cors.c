/*
 * CORS for browser clients (issue 15 item 8; SECURITY.md CF-05; decision
 * 0059): which web origins may read our answers from JavaScript, and the
 * preflights that ask.
 *
 * Only /token, /revoke and /userinfo (and the public metadata, discovery
 * and the JWKS, which mhd_respond.c serves to any origin with "*": a
 * simple GET that needs no preflight) take part; /authorize, the
 * sign-in, consent and account pages never do, and no answer ever carries
 * Access-Control-Allow-Credentials: nothing here works with cookies.
 *
 * An origin is allowed for a client when it is the origin of one of the
 * client's redirect URIs and the client is public (a browser app holds no
 * secret; a confidential client's backend needs no CORS), or when the
 * operator listed it in the client's cors_origins (any client). A disabled
 * client allows none. At /token and /revoke the client is the one the
 * form names with client_id (public clients always do); /userinfo and a
 * preflight (which has no body) accept an origin that some client allows.
 * Every other origin gets no CORS header at all, so the browser keeps
 * the answer from the page.
 *
 * Origins compare in the form browsers send them (RFC 6454 §6.2): scheme,
 * "://", lower-case host, and ":port" only when not the scheme's default;
 * cors_origins must be written that way (cors_origins_check()), and a
 * redirect URI's origin is brought to it. The set of allowed origins of
 * all clients is built per node and kept while the store's 'clients'
 * version (decision 0049) does not move, so a preflight costs the one
 * version read a token request already makes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "oauth/oauth.h"

#define ORIGIN_MAX 262 /* "https://" + 253-byte host + ":65535" */
#define CORS_MAX_AGE "600"
#define CORS_ALLOW_HEADERS "Authorization, Content-Type, DPoP"
#define CORS_EXPOSE_HEADERS "DPoP-Nonce, WWW-Authenticate"

struct cors_cache {
	pthread_mutex_t lock;
	bool loaded;
	int64_t version;
	char **v; /* sorted, distinct */
	size_t n;
};

static bool
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	    c == '.';
}

/* "localhost", 127.x or [::1]: where http is allowed (as for AZ-04). */
static bool
loopback_host(const char *h, size_t n)
{
	return (n == 9 && memcmp(h, "localhost", 9) == 0) ||
	    (n >= 4 && memcmp(h, "127.", 4) == 0) ||
	    (n == 5 && memcmp(h, "[::1]", 5) == 0);
}

/*
 * Whether s[0..n) is an origin as a browser serializes it: https://host
 * or http://loopback, a lower-case DNS name or IP literal, a port only
 * when not the default one, nothing after it.
 */
static bool
origin_valid(const char *s, size_t n)
{
	const char *h, *end = s + n, *colon;
	bool https;
	size_t hn;

	if (n > ORIGIN_MAX)
		return false;
	if (n > 8 && memcmp(s, "https://", 8) == 0) {
		https = true;
		h = s + 8;
	} else if (n > 7 && memcmp(s, "http://", 7) == 0) {
		https = false;
		h = s + 7;
	} else {
		return false;
	}
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (close == NULL || close == h + 1)
			return false;
		for (const char *p = h + 1; p < close; p++)
			if (!((*p >= '0' && *p <= '9') ||
				(*p >= 'a' && *p <= 'f') || *p == ':' ||
				*p == '.'))
				return false;
		colon = close + 1 < end ? close + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return false;
		hn = (size_t)(close + 1 - h);
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hn = (size_t)((colon != NULL ? colon : end) - h);
		if (hn == 0 || h[0] == '.' || h[0] == '-' || h[hn - 1] == '.' ||
		    h[hn - 1] == '-')
			return false;
		for (size_t i = 0; i < hn; i++)
			if (!host_char(h[i]))
				return false;
	}
	if (!https && !loopback_host(h, hn))
		return false;
	if (colon != NULL) {
		const char *p = colon + 1;
		long port = 0;

		if (p == end || *p == '0' || end - p > 5)
			return false;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				return false;
			port = port * 10 + (*p - '0');
		}
		if (port > 65535 || port == (https ? 443 : 80))
			return false;
	}
	return true;
}

int
cors_origins_check(const char *list, const char **why)
{
	const char *p = list != NULL ? list : "";
	size_t count = 0;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n == 0 || !origin_valid(p, n)) {
			*why =
			    "a CORS origin is https://host[:port] (http only "
			    "for localhost or a loopback IP), lower case, "
			    "no default port, no path";
			return PC_ERR_INVALID;
		}
		if (++count > CLIENT_URIS_MAX) {
			*why = "at most 32 CORS origins";
			return PC_ERR_INVALID;
		}
		p += n;
		if (*p == ' ' && *++p == '\0') {
			*why = "CORS origins are separated by single spaces";
			return PC_ERR_INVALID;
		}
	}
	return 0;
}

/*
 * The origin of a redirect URI, as a browser would send it, into out:
 * false when it has none that CORS could use (a private-use scheme, a
 * malformed or http non-loopback URI).
 */
static bool
uri_origin(const char *uri, char out[ORIGIN_MAX + 1])
{
	const char *a, *e;
	size_t sn, n;

	if (strncasecmp(uri, "https://", 8) == 0)
		sn = 8;
	else if (strncasecmp(uri, "http://", 7) == 0)
		sn = 7;
	else
		return false;
	a = uri + sn;
	e = a + strcspn(a, "/?#");
	if (memchr(a, '@', (size_t)(e - a)) != NULL)
		return false;
	/* Default ports go, as browsers drop them. */
	if (sn == 8 && e - a > 4 && memcmp(e - 4, ":443", 4) == 0)
		e -= 4;
	else if (sn == 7 && e - a > 3 && memcmp(e - 3, ":80", 3) == 0)
		e -= 3;
	n = sn + (size_t)(e - a);
	if (n > ORIGIN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = uri[i];

		out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = '\0';
	return origin_valid(out, n);
}

static bool
in_words(const char *list, const char *word)
{
	size_t wn = strlen(word);

	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n == wn && memcmp(p, word, n) == 0)
			return true;
		p += n;
		while (*p == ' ')
			p++;
	}
	return false;
}

bool
cors_client_allows(const struct store_client *c, const char *origin)
{
	char o[ORIGIN_MAX + 1];

	if (c->disabled_at != 0)
		return false;
	if (c->cors_origins != NULL && in_words(c->cors_origins, origin))
		return true;
	if (!c->is_public)
		return false;
	for (size_t i = 0; i < c->n_redirect_uris; i++)
		if (uri_origin(c->redirect_uris[i], o) &&
		    strcmp(o, origin) == 0)
			return true;
	return false;
}

struct cors_cache *
cors_cache_new(void)
{
	struct cors_cache *cc = xcalloc(1, sizeof(*cc));

	if (pthread_mutex_init(&cc->lock, NULL) != 0)
		fatal("cors cache: mutex");
	return cc;
}

static void
set_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
cors_cache_free(struct cors_cache *cc)
{
	if (cc == NULL)
		return;
	set_free(cc->v, cc->n);
	pthread_mutex_destroy(&cc->lock);
	free(cc);
}

struct set {
	char **v;
	size_t n, cap;
};

static void
set_add(struct set *s, const char *o, size_t n)
{
	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 16 : s->cap * 2;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = xstrndup(o, n);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every origin some client allows, sorted and distinct. */
static int
build(struct db *db, struct set *s)
{
	struct store_client *v = NULL;
	size_t n = 0, k = 0;
	char o[ORIGIN_MAX + 1];
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = store_clients_list(db, &v, &n)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const struct store_client *c = &v[i];

		if (c->disabled_at != 0)
			continue;
		for (const char *p = c->cors_origins != NULL ? c->cors_origins
							     : "";
		     *p != '\0';) {
			size_t w = strcspn(p, " ");

			if (w > 0)
				set_add(s, p, w);
			p += w;
			while (*p == ' ')
				p++;
		}
		for (size_t j = 0; c->is_public && j < c->n_redirect_uris; j++)
			if (uri_origin(c->redirect_uris[j], o))
				set_add(s, o, strlen(o));
	}
	store_clients_free(v, n);
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_str);
	for (size_t i = 0; i < s->n; i++) {
		if (k > 0 && strcmp(s->v[k - 1], s->v[i]) == 0) {
			free(s->v[i]);
			continue;
		}
		s->v[k++] = s->v[i];
	}
	s->n = k;
	return 0;
}

static bool
set_has(char *const *v, size_t n, const char *origin)
{
	return n > 0 && bsearch(&origin, v, n, sizeof(*v), cmp_str) != NULL;
}

int
cors_any_client_allows(struct app *app, const char *origin, bool *allowed)
{
	struct cors_cache *cc = app->cors_cache;
	struct store_versions ver;
	struct set s;
	int rc;

	*allowed = false;
	if (!origin_valid(origin, strlen(origin)))
		return 0;
	if ((rc = client_cache_versions(app->client_cache, app->db, &ver)) != 0)
		return rc;
	if (cc != NULL) {
		pthread_mutex_lock(&cc->lock);
		if (cc->loaded && cc->version == ver.clients) {
			*allowed = set_has(cc->v, cc->n, origin);
			pthread_mutex_unlock(&cc->lock);
			return 0;
		}
		pthread_mutex_unlock(&cc->lock);
	}
	if ((rc = build(app->db, &s)) != 0)
		return rc;
	*allowed = set_has(s.v, s.n, origin);
	if (cc == NULL) {
		set_free(s.v, s.n);
		return 0;
	}
	pthread_mutex_lock(&cc->lock);
	/* Another thread may have built a newer one meanwhile: keep it. */
	if (!cc->loaded || cc->version < ver.clients) {
		set_free(cc->v, cc->n);
		cc->v = s.v;
		cc->n = s.n;
		cc->version = ver.clients;
		cc->loaded = true;
		s.v = NULL;
		s.n = 0;
	}
	pthread_mutex_unlock(&cc->lock);
	set_free(s.v, s.n);
	return 0;
}

/* The Origin header when there is exactly one. */
static const char *
request_origin(struct req *r)
{
	const char *o = NULL;
	size_t n = 0;

	for (size_t i = 0; i < r->headers.n; i++)
		if (strcasecmp(r->headers.v[i].name, "Origin") == 0) {
			o = r->headers.v[i].value;
			n++;
		}
	return n == 1 ? o : NULL;
}

static void
allow_origin(struct resp *w, const char *origin)
{
	resp_header(w, "Access-Control-Allow-Origin", origin);
	resp_header(w, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
}

/* The client a /token or /revoke form names; false: none readable. */
static bool
form_client_allows(struct req *r, const char *origin)
{
	struct app *app = r->app;
	const struct kvlist *form;
	struct store_versions ver;
	struct store_client c;
	struct store_client_secret sec[STORE_CLIENT_SECRETS_MAX];
	const char *id;
	size_t n = 0;
	bool ok;

	if (req_form(r, &form) != 0 ||
	    (id = kvlist_value(form, "client_id")) == NULL ||
	    client_cache_versions(app->client_cache, app->db, &ver) != 0 ||
	    client_cache_get(
		app->client_cache, app->db, &ver, id, &c, sec, &n) != 0)
		return false;
	sodium_memzero(sec, sizeof(sec));
	ok = cors_client_allows(&c, origin);
	store_client_clear(&c);
	return ok;
}

/* After the handler: the answer is readable by origin, or by nobody. */
static void
answer(struct req *r, struct resp *w, bool by_form)
{
	const char *origin = request_origin(r);
	bool ok = false;

	if (origin == NULL)
		return;
	resp_header(w, "Vary", "Origin");
	if (!origin_valid(origin, strlen(origin)))
		return;
	if (by_form)
		ok = form_client_allows(r, origin);
	else if (cors_any_client_allows(r->app, origin, &ok) != 0)
		ok = false; /* fail closed: no CORS, the answer stands */
	if (ok)
		allow_origin(w, origin);
}

void
oauth_cors_token(struct req *r, struct resp *w)
{
	oauth_token(r, w);
	answer(r, w, true);
}

void
oauth_cors_revoke(struct req *r, struct resp *w)
{
	oauth_revoke(r, w);
	answer(r, w, true);
}

void
oauth_cors_userinfo(struct req *r, struct resp *w)
{
	oauth_userinfo(r, w);
	answer(r, w, false);
}

/* The methods a preflight may ask for at r's path (/token, /revoke,
 * /userinfo: the routes with this handler). */
static const char *
preflight_methods(const struct req *r)
{
	return str_eq_cstr(r->path, "/userinfo") ? "GET, POST" : "POST";
}

static bool
method_listed(const char *list, const char *m)
{
	size_t mn = strlen(m);

	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ",");

		if (n == mn && memcmp(p, m, n) == 0)
			return true;
		p += n;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return false;
}

void
oauth_cors_preflight(struct req *r, struct resp *w)
{
	const char *origin = request_origin(r), *method = NULL;
	const char *methods = preflight_methods(r);
	bool ok = false;

	w->status = 204;
	resp_header(w, "Allow",
	    strcmp(methods, "POST") == 0 ? "POST, OPTIONS"
					 : "GET, HEAD, POST, OPTIONS");
	if (origin == NULL)
		return;
	resp_header(w, "Vary", "Origin");
	(void)req_header(r, "Access-Control-Request-Method", &method);
	if (method == NULL || !method_listed(methods, method) ||
	    !origin_valid(origin, strlen(origin)))
		return;
	if (cors_any_client_allows(r->app, origin, &ok) != 0)
		ok = false; /* fail closed: no CORS */
	if (!ok)
		return;
	resp_header(w, "Access-Control-Allow-Origin", origin);
	resp_header(w, "Access-Control-Allow-Methods", methods);
	resp_header(w, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
	resp_header(w, "Access-Control-Max-Age", CORS_MAX_AGE);
}
