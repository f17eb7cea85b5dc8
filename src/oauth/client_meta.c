/*
 * Client metadata that a client writes about itself (issue 15 item 6;
 * SECURITY.md CR-01, CR-02, CR-05; decision 0063): the one parser of a
 * dynamic registration request (RFC 7591 §2, RFC 7592 PUT) and of a
 * client ID metadata document, and the policies that differ between them.
 *
 * The parser is strict about types and lenient about names: a known member
 * of the wrong type is refused, an unknown member is ignored (RFC 7591
 * §2). What it keeps becomes a struct store_client and then passes the
 * very client_validate() an operator's client does, so every rule of
 * AZ-04 applies. client_uri, logo_uri, policy_uri and tos_uri must be
 * https but are neither kept nor ever fetched (CR-02): nothing a client
 * writes about itself makes us reach out, except the jwks_uri of a
 * metadata document, which its resolver fetches under the same rules as
 * the document.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jose/jose.h"
#include "oauth/domain.h"

#define META_DEPTH 6	     /* {"jwks": {"keys": [{"x5c": [...]}]}} */
#define META_STRING_MAX 2048 /* any one string member */

void
client_meta_clear(struct client_meta *m)
{
	store_client_clear(&m->c);
	free(m->doc_client_id);
	free(m->jwks_uri);
	pc_freezero_str(m->client_secret);
	memset(m, 0, sizeof(*m));
}

struct parse {
	const char *error, *why;
};

static int
bad(struct parse *p, const char *why)
{
	p->error = "invalid_client_metadata";
	p->why = why;
	return PC_ERR_INVALID;
}

/* A string member: absent leaves *out NULL; another type is refused. */
static int
str_member(struct parse *p, const json_t *doc, const char *key, char **out,
    const char *why)
{
	const json_t *v = json_object_get(doc, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > META_STRING_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return bad(p, why);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* An array of 1..max distinct strings; absent: *n = 0. */
static int
strv_member(struct parse *p, const json_t *doc, const char *key, size_t max,
    char ***out, size_t *n, const char *why)
{
	const json_t *v = json_object_get(doc, key), *e;
	size_t i;

	*out = NULL;
	*n = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > max)
		return bad(p, why);
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) > META_STRING_MAX ||
		    strlen(json_string_value(e)) != json_string_length(e))
			return bad(p, why);
		for (size_t k = 0; k < i; k++)
			if (strcmp(json_string_value(e),
				json_string_value(json_array_get(v, k))) == 0)
				return bad(p, why);
	}
	*out = xcalloc(json_array_size(v), sizeof(**out));
	json_array_foreach(v, i, e)(*out)[i] = xstrdup(json_string_value(e));
	*n = json_array_size(v);
	return 0;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* CR-02: informational URLs are https or absent, and never fetched. */
static int
info_urls(struct parse *p, const json_t *doc)
{
	static const char *const keys[] = { "client_uri", "logo_uri",
		"policy_uri", "tos_uri" };

	for (size_t i = 0; i < PC_NELEM(keys); i++) {
		char *u = NULL;
		int r = str_member(p, doc, keys[i], &u,
		    "client_uri, logo_uri, policy_uri and tos_uri must be "
		    "https URLs");

		if (r == 0 && u != NULL && strncmp(u, "https://", 8) != 0)
			r = bad(p,
			    "client_uri, logo_uri, policy_uri and tos_uri "
			    "must be https URLs");
		free(u);
		if (r != 0)
			return r;
	}
	return 0;
}

/* grant_types: authorization_code and refresh_token only, space-joined. */
static int
grants(struct parse *p, const json_t *doc, struct store_client *c)
{
	char **v = NULL;
	size_t n = 0;
	struct buf b;
	int r;

	if ((r = strv_member(p, doc, "grant_types", 4, &v, &n,
		 "grant_types must be an array of distinct strings")) != 0)
		return r;
	if (n == 0)
		return 0; /* client_validate: authorization_code */
	buf_init(&b, 64);
	for (size_t i = 0; i < n && r == 0; i++) {
		if (strcmp(v[i], "authorization_code") != 0 &&
		    strcmp(v[i], "refresh_token") != 0)
			r = bad(p,
			    "grant_types may hold authorization_code and "
			    "refresh_token only");
		else if ((i > 0 && buf_put(&b, " ", 1) != 0) ||
		    buf_put(&b, v[i], strlen(v[i])) != 0)
			r = bad(p, "grant_types is too long");
	}
	if (r == 0)
		c->grant_types = xstrdup(buf_cstr(&b));
	buf_free(&b);
	strv_free(v, n);
	return r;
}

static int
response_types(struct parse *p, const json_t *doc)
{
	char **v = NULL;
	size_t n = 0;
	int r = strv_member(p, doc, "response_types", 4, &v, &n,
	    "response_types must be an array of distinct strings");

	if (r == 0 && n > 0 && (n != 1 || strcmp(v[0], "code") != 0))
		r = bad(p, "response_types must be [\"code\"]");
	strv_free(v, n);
	return r;
}

static bool
word_in(const char *list, const char *w, size_t n)
{
	if (list == NULL)
		return false;
	for (const char *q = list; *q != '\0';) {
		size_t len = strcspn(q, " ");

		if (len == n && memcmp(q, w, n) == 0)
			return true;
		q += len;
		while (*q == ' ')
			q++;
	}
	return false;
}

/* scope: what was asked for and is allowed (all allowed when absent). */
static int
scopes(struct parse *p, const json_t *doc, const char *allowed,
    struct store_client *c)
{
	char *want = NULL;
	struct buf b;
	int r;

	if ((r = str_member(p, doc, "scope", &want,
		 "scope must be a string of space-separated scopes")) != 0)
		return r;
	if (want == NULL) {
		c->scopes = xstrdup(allowed);
		return 0;
	}
	buf_init(&b, CLIENT_SCOPES_MAX);
	for (const char *q = want; *q != '\0';) {
		size_t len = strcspn(q, " ");

		if (len > 0 && word_in(allowed, q, len) &&
		    !word_in(buf_cstr(&b), q, len) &&
		    ((b.len > 0 && buf_put(&b, " ", 1) != 0) ||
			buf_put(&b, q, len) != 0)) {
			r = bad(p, "scope is too long");
			break;
		}
		q += len;
		while (*q == ' ')
			q++;
	}
	if (r == 0 && b.len == 0)
		r = bad(p, "none of the requested scopes may be registered");
	if (r == 0)
		c->scopes = xstrdup(buf_cstr(&b));
	buf_free(&b);
	free(want);
	return r;
}

/* The host of an http(s) URL (without port), for a default name. */
static char *
url_host(const char *u)
{
	const char *h = strstr(u, "://"), *e;

	if (h == NULL)
		return NULL;
	h += 3;
	e = h + strcspn(h, "/?#:");
	if (*h == '[')
		e = h + strcspn(h, "]") + (strchr(h, ']') != NULL ? 1 : 0);
	return e > h ? xstrndup(h, (size_t)(e - h)) : NULL;
}

static int
keys(struct parse *p, const json_t *doc, enum client_meta_src src,
    struct client_meta *m)
{
	const json_t *jwks = json_object_get(doc, "jwks");
	int r;

	if ((r = str_member(p, doc, "jwks_uri", &m->jwks_uri,
		 "jwks_uri must be an https URL")) != 0)
		return r;
	if (src == CLIENT_META_REGISTER && m->jwks_uri != NULL)
		/* We fetch for documents only (DS-05): send the keys. */
		return bad(p, "jwks_uri is not accepted here: send jwks");
	if (src == CLIENT_META_DOCUMENT && jwks != NULL)
		return bad(p, "a metadata document names its keys by jwks_uri");
	if (jwks != NULL && !json_is_null(jwks)) {
		if (!json_is_object(jwks))
			return bad(p, "jwks must be a JWK set object");
		m->c.jwks = json_dumps(jwks, JSON_COMPACT | JSON_SORT_KEYS);
		if (m->c.jwks == NULL)
			return bad(p, "jwks must be a JWK set object");
	}
	return 0;
}

static int
members(struct parse *p, const json_t *doc, enum client_meta_src src,
    const char *allowed_scopes, struct client_meta *m)
{
	struct store_client *c = &m->c;
	int r;

	if ((r = strv_member(p, doc, "redirect_uris", CLIENT_URIS_MAX,
		 &c->redirect_uris, &c->n_redirect_uris,
		 "redirect_uris must be an array of 1 to 32 distinct "
		 "strings")) != 0 ||
	    (r = strv_member(p, doc, "post_logout_redirect_uris",
		 CLIENT_URIS_MAX, &c->post_logout_uris, &c->n_post_logout_uris,
		 "post_logout_redirect_uris must be an array of 1 to 32 "
		 "distinct strings")) != 0 ||
	    (r = str_member(p, doc, "token_endpoint_auth_method",
		 &c->auth_method,
		 "token_endpoint_auth_method must be a string")) != 0 ||
	    (r = str_member(p, doc, "client_name", &c->name,
		 "client_name must be a string")) != 0 ||
	    (r = str_member(p, doc, "id_token_signed_response_alg",
		 &c->id_token_alg,
		 "id_token_signed_response_alg must be a string")) != 0 ||
	    (r = str_member(p, doc, "client_id", &m->doc_client_id,
		 "client_id must be a string")) != 0 ||
	    (r = str_member(p, doc, "client_secret", &m->client_secret,
		 "client_secret must be a string")) != 0 ||
	    (r = grants(p, doc, c)) != 0 || (r = response_types(p, doc)) != 0 ||
	    (r = scopes(p, doc, allowed_scopes, c)) != 0 ||
	    (r = info_urls(p, doc)) != 0 || (r = keys(p, doc, src, m)) != 0)
		return r;
	if (src == CLIENT_META_DOCUMENT && m->client_secret != NULL)
		return bad(p, "a metadata document carries no client_secret");
	if (c->n_redirect_uris == 0) {
		p->error = "invalid_redirect_uri";
		p->why = "redirect_uris is required";
		return PC_ERR_INVALID;
	}
	/* RFC 7591 §2: client_secret_basic unless stated; a document's
	 * client has no secret to use (CR-05). */
	if (c->auth_method == NULL)
		c->auth_method = xstrdup(src == CLIENT_META_DOCUMENT
			? "none"
			: "client_secret_basic");
	c->is_public = strcmp(c->auth_method, "none") == 0;
	/* client_validate()'s defaults, also for a document's client that
	 * is validated only once its jwks_uri is fetched. */
	if (c->grant_types == NULL)
		c->grant_types = xstrdup("authorization_code");
	if (c->id_token_alg == NULL)
		c->id_token_alg = xstrdup("RS256");
	if (c->name == NULL)
		c->name = url_host(
		    src == CLIENT_META_DOCUMENT && m->doc_client_id != NULL
			? m->doc_client_id
			: c->redirect_uris[0]);
	if (c->name == NULL)
		c->name = xstrdup("unnamed application");
	return 0;
}

static int
uris_ok(struct parse *p, const struct store_client *c)
{
	for (size_t i = 0; i < c->n_redirect_uris + c->n_post_logout_uris;
	     i++) {
		const char *u = i < c->n_redirect_uris
		    ? c->redirect_uris[i]
		    : c->post_logout_uris[i - c->n_redirect_uris];

		if (redirect_uri_register_check(u, c->is_public, &p->why) !=
		    0) {
			p->error = "invalid_redirect_uri";
			return PC_ERR_INVALID;
		}
	}
	return 0;
}

int
client_meta_parse(const char *json, size_t len, enum client_meta_src src,
    const char *allowed_scopes, struct client_meta *m, const char **error,
    const char **why)
{
	struct parse p = { "invalid_client_metadata", NULL };
	json_t *doc = NULL;
	int r;

	memset(m, 0, sizeof(*m));
	if (jose_json_parse(json, len, META_DEPTH, &doc) != 0 ||
	    !json_is_object(doc)) {
		r = bad(&p, "the metadata must be one JSON object");
		goto out;
	}
	if (allowed_scopes == NULL || allowed_scopes[0] == '\0') {
		r = bad(&p, "no scope may be registered here");
		goto out;
	}
	if ((r = members(&p, doc, src, allowed_scopes, m)) != 0)
		goto out;
	m->c.kind = xstrdup("client");
	m->c.id_token_on_refresh = true; /* the store's default */
	m->c.registration =
	    xstrdup(src == CLIENT_META_DOCUMENT ? "metadata" : "dynamic");
	/* AZ-04 first, so that a refused URI says so (RFC 7591 §3.2.2). */
	if ((r = uris_ok(&p, &m->c)) != 0)
		goto out;
	/* A document's private_key_jwt client gets its keys from jwks_uri
	 * first: its resolver validates it then. */
	if ((src != CLIENT_META_DOCUMENT ||
		strcmp(m->c.auth_method, "private_key_jwt") != 0) &&
	    (r = client_validate(&m->c, &p.why)) != 0)
		goto out;
	r = 0;
out:
	json_decref(doc);
	if (r != 0)
		client_meta_clear(m);
	*error = r != 0 ? p.error : NULL;
	*why = r != 0 ? p.why : NULL;
	return r;
}

/* http://127.0.0.1 or http://[::1], any port and path (RFC 8252 §7.3). */
static bool
loopback(const char *u)
{
	size_t h;

	if (strncmp(u, "http://127.0.0.1", 16) == 0)
		h = 16;
	else if (strncmp(u, "http://[::1]", 12) == 0)
		h = 12;
	else
		return false;
	return u[h] == '\0' || u[h] == ':' || u[h] == '/' || u[h] == '?';
}

/* A private-use scheme (RFC 8252 §7.1): anything not http(s). */
static bool
private_scheme(const char *u)
{
	return strncmp(u, "https:", 6) != 0 && strncmp(u, "http:", 5) != 0;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
client_meta_keep(struct store_client *c, const struct store_client *old)
{
	free(c->kind);
	free(c->owner_id);
	free(c->resources);
	free(c->cors_origins);
	free(c->service_account_id);
	c->kind = dup_or_null(old->kind);
	c->owner_id = dup_or_null(old->owner_id);
	c->resources = dup_or_null(old->resources);
	c->cors_origins = dup_or_null(old->cors_origins);
	c->service_account_id = dup_or_null(old->service_account_id);
	c->max_delegation_depth = old->max_delegation_depth;
	c->may_delegate = old->may_delegate;
	c->allow_impersonation = old->allow_impersonation;
	c->dpop_required = old->dpop_required;
	c->par_required = old->par_required;
	c->require_mfa = old->require_mfa;
	c->disabled_at = old->disabled_at;
	c->first_party = old->first_party;
	c->id_token_on_refresh = old->id_token_on_refresh;
	c->created_at = old->created_at;
}

int
client_meta_open_ok(const struct client_meta *m, const char **why)
{
	if (!m->c.is_public) {
		*why = "open registration is for public clients "
		       "(token_endpoint_auth_method none) only";
		return PC_ERR_INVALID;
	}
	for (size_t i = 0; i < m->c.n_redirect_uris; i++)
		if (!loopback(m->c.redirect_uris[i]) &&
		    !private_scheme(m->c.redirect_uris[i])) {
			*why = "open registration takes loopback "
			       "(http://127.0.0.1, http://[::1]) and "
			       "private-use scheme redirect URIs only";
			return PC_ERR_INVALID;
		}
	return 0;
}

/* The length of "https://host[:port]" at the start of u; 0 if none. */
static size_t
origin_len(const char *u)
{
	if (strncmp(u, "https://", 8) != 0)
		return 0;
	return 8 + strcspn(u + 8, "/?#");
}

static bool
same_origin(const char *a, const char *b)
{
	size_t n = origin_len(a);

	return n > 8 && n == origin_len(b) && memcmp(a, b, n) == 0;
}

bool
client_id_is_url(const char *id)
{
	size_t n;

	if (id == NULL || strncmp(id, "https://", 8) != 0)
		return false;
	n = strnlen(id, CLIENT_URL_ID_MAX + 1);
	/* A path after the host (draft-ietf-oauth-client-id-metadata-
	 * document §3); AZ-04's rules for the rest. */
	return n <= CLIENT_URL_ID_MAX && origin_len(id) < n &&
	    id[origin_len(id)] == '/' &&
	    redirect_uri_register_check(id, false, NULL) == 0 &&
	    strchr(id, '?') == NULL;
}

int
client_meta_document_ok(
    const struct client_meta *m, const char *url, const char **why)
{
	/* CR-04: byte for byte, no normalisation. */
	if (m->doc_client_id == NULL || strcmp(m->doc_client_id, url) != 0) {
		*why = "the document's client_id is not its URL";
		return PC_ERR_INVALID;
	}
	for (size_t i = 0; i < m->c.n_redirect_uris; i++)
		if (!same_origin(m->c.redirect_uris[i], url) &&
		    !loopback(m->c.redirect_uris[i])) {
			*why = "a redirect URI is on another origin than the "
			       "client_id";
			return PC_ERR_INVALID;
		}
	for (size_t i = 0; i < m->c.n_post_logout_uris; i++)
		if (!same_origin(m->c.post_logout_uris[i], url) &&
		    !loopback(m->c.post_logout_uris[i])) {
			*why = "a post-logout redirect URI is on another "
			       "origin than the client_id";
			return PC_ERR_INVALID;
		}
	if (strcmp(m->c.auth_method, "none") == 0)
		return m->jwks_uri == NULL
		    ? 0
		    : (*why = "a public client has no jwks_uri",
			  PC_ERR_INVALID);
	if (strcmp(m->c.auth_method, "private_key_jwt") != 0) {
		*why = "a metadata document client is public (none) or uses "
		       "private_key_jwt";
		return PC_ERR_INVALID;
	}
	if (m->jwks_uri == NULL || !same_origin(m->jwks_uri, url)) {
		*why = "private_key_jwt needs a jwks_uri on the client_id's "
		       "origin";
		return PC_ERR_INVALID;
	}
	return 0;
}
