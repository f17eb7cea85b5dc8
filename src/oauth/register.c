/*
 * Dynamic client registration (RFC 7591) and its management (RFC 7592) at
 * /oauth/register (issue 15 item 6; SECURITY.md CR-01, CR-02, CR-03,
 * CR-07; decision 0063). (/register is the people's sign-up page.)
 *
 * client_registration says who may register: off (the default: the
 * endpoint answers 404 and discovery does not name it), token (a valid
 * initial access token, `portcullis client registration-token add`, in
 * Authorization: Bearer; each token registers at most its cap of
 * clients) or open (anyone, but only public clients whose redirect URIs
 * are loopback or private-use schemes: nothing a look-alike could use
 * against a web application; an initial token still lifts that). Every
 * registration request counts against client_registration_per_ip before
 * anything else is done. The client gets registration 'dynamic', so the
 * consent page marks it unverified.
 *
 * POST answers 201 with the client's metadata, its secret (if it uses
 * one) and a registration access token; GET, PUT and DELETE on the
 * registration_client_uri (this path with ?client_id=) need that token
 * (CR-03: hashed at rest, replaced on every PUT). A missing or wrong
 * token, or an unknown client, is one answer: 401 invalid_token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "util/config.h"
#include "util/log.h"

#define REG_PATH "/oauth/register"

/* 401 invalid_token with the RFC 6750 challenge. */
static void
no_token(struct resp *w, const char *desc)
{
	oauth_error(w, 401, "invalid_token", desc);
	resp_header(w, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
}

/*
 * The hash of the Authorization: Bearer token of the given prefix: 0;
 * PC_ERR_NOT_FOUND without the header; PC_ERR_INVALID when it is not one.
 */
static int
bearer_hash(
    const struct req *r, const char *prefix, char hash[PC_SHA256_HEX_LEN + 1])
{
	const char *h = NULL;

	hash[0] = '\0';
	if (req_header(r, "Authorization", &h) == PC_ERR_NOT_FOUND)
		return PC_ERR_NOT_FOUND;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return PC_ERR_INVALID;
	return reg_token_hash(prefix, h + 7, hash);
}

static bool
json_body(const struct req *r)
{
	const char *t = r->content_type;

	return t != NULL && strncasecmp(t, "application/json", 16) == 0 &&
	    (t[16] == '\0' || t[16] == ';' || t[16] == ' ');
}

static json_t *
words(const char *list)
{
	json_t *a = json_array();

	if (list == NULL)
		return a;
	for (const char *q = list; *q != '\0';) {
		size_t n = strcspn(q, " ");

		if (n > 0)
			json_array_append_new(a, json_stringn(q, n));
		q += n;
		while (*q == ' ')
			q++;
	}
	return a;
}

static json_t *
strv(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The client's registered metadata (RFC 7591 §3.2.1), no secrets. */
static json_t *
client_json(const struct app *app, const struct store_client *c)
{
	const char *id = c->client_id != NULL ? c->client_id : "";
	json_t *o = json_object();
	size_t n = strlen(app->cfg->issuer) + sizeof(REG_PATH "?client_id=") +
	    strlen(id);
	char *uri = xmalloc(n);

	snprintf(uri, n, "%s" REG_PATH "?client_id=%s", app->cfg->issuer, id);
	json_object_set_new(o, "client_id", json_string(id));
	json_object_set_new(
	    o, "client_id_issued_at", json_integer(c->created_at));
	json_object_set_new(o, "registration_client_uri", json_string(uri));
	free(uri);
	json_object_set_new(o, "client_name", json_string(c->name));
	json_object_set_new(
	    o, "redirect_uris", strv(c->redirect_uris, c->n_redirect_uris));
	if (c->n_post_logout_uris > 0)
		json_object_set_new(o, "post_logout_redirect_uris",
		    strv(c->post_logout_uris, c->n_post_logout_uris));
	json_object_set_new(
	    o, "token_endpoint_auth_method", json_string(c->auth_method));
	json_object_set_new(o, "grant_types", words(c->grant_types));
	json_object_set_new(o, "response_types", json_pack("[s]", "code"));
	json_object_set_new(o, "scope", json_string(c->scopes));
	json_object_set_new(
	    o, "id_token_signed_response_alg", json_string(c->id_token_alg));
	if (c->jwks != NULL)
		json_object_set_new(o, "jwks",
		    json_loads(c->jwks, JSON_REJECT_DUPLICATES, NULL));
	/* RFC 9449 §5.2. */
	json_object_set_new(
	    o, "dpop_bound_access_tokens", json_boolean(c->dpop_required));
	return o;
}

static void
answer(struct req *r, struct resp *w, int status, const struct store_client *c,
    const char *secret, const char *access_token)
{
	json_t *o = client_json(r->app, c);

	if (secret != NULL && secret[0] != '\0') {
		json_object_set_new(o, "client_secret", json_string(secret));
		json_object_set_new(
		    o, "client_secret_expires_at", json_integer(0));
	}
	if (access_token != NULL)
		json_object_set_new(
		    o, "registration_access_token", json_string(access_token));
	if (resp_json(w, status, o) != 0)
		oauth_error(w, 500, "server_error", "Try again later.");
	json_decref(o);
}

static json_t *
audit_details(const struct store_client *c, const char *via)
{
	return json_pack("{s:s, s:s, s:s, s:o}", "registration", "dynamic",
	    "via", via, "auth_method", c->auth_method, "redirect_uris",
	    strv(c->redirect_uris, c->n_redirect_uris));
}

static void
metadata_error(struct resp *w, const char *error, const char *why)
{
	oauth_error(w, 400, error, why != NULL ? why : "Bad client metadata.");
}

/* POST: a new client (RFC 7591 §3). */
static void
create(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	const struct config *cfg = app->cfg;
	char initial[PC_SHA256_HEX_LEN + 1], access_hash[PC_SHA256_HEX_LEN + 1],
	    secret_hash[PC_SHA256_HEX_LEN + 1], id[CLIENT_ID_LEN + 1],
	    secret[CLIENT_SECRET_LEN + 1] = "", access[REG_TOKEN_LEN + 1] = "";
	struct client_meta m;
	const char *error = NULL, *why = NULL;
	bool allowed = false, with_token, with_secret;
	int rc;

	memset(&m, 0, sizeof(m));
	/* CR-07: counted before any work, whatever follows. */
	rc = throttle_ip_count(app->db, "register", r->ip,
	    cfg->client_registration_per_ip, r->now, &allowed);
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		return;
	}
	if (rc != 0 || !allowed) {
		oauth_error(w, 429, "too_many_requests",
		    "Too many registrations from this address.");
		resp_header(w, "Retry-After", "3600");
		return;
	}
	/* CR-01: the initial access token, required in token mode. */
	rc = bearer_hash(r, REG_INITIAL_PREFIX, initial);
	with_token = rc == 0;
	if (rc == PC_ERR_INVALID ||
	    (rc == PC_ERR_NOT_FOUND &&
		strcmp(cfg->client_registration, "open") != 0)) {
		no_token(w, "Registration needs a valid initial access token.");
		return;
	}
	if (with_token &&
	    (rc = store_initial_token_usable(app->db, initial, r->now)) != 0) {
		if (oauth_store_down(rc))
			oauth_unavailable(w);
		else
			no_token(w,
			    "The initial access token is unknown, expired, "
			    "revoked or used up.");
		return;
	}
	if (!json_body(r)) {
		metadata_error(w, "invalid_client_metadata",
		    "The body must be application/json.");
		return;
	}
	if (client_meta_parse((const char *)r->body.p, r->body.len,
		CLIENT_META_REGISTER, cfg->client_registration_scopes, &m,
		&error, &why) != 0) {
		metadata_error(w, error, why);
		return;
	}
	if (!with_token && client_meta_open_ok(&m, &why) != 0) {
		metadata_error(w, "invalid_client_metadata", why);
		goto out;
	}
	m.c.dpop_required = cfg->client_registration_dpop;
	with_secret = client_auth_method_uses_secret(m.c.auth_method);
	m.c.created_at = m.c.updated_at = r->now;
	rc = PC_ERR_CONFLICT;
	/* 128 random bits: a collision (or tombstone) is retried once. */
	for (int attempt = 0; attempt < 2 && rc == PC_ERR_CONFLICT; attempt++) {
		client_id_new(id);
		free(m.c.client_id);
		m.c.client_id = xstrdup(id);
		if (with_secret) {
			reg_token_new(
			    CLIENT_SECRET_PREFIX, secret, secret_hash);
			secret[CLIENT_SECRET_LEN] = '\0';
		}
		reg_token_new(REG_ACCESS_PREFIX, access, access_hash);
		rc = store_client_register(app->db, &m.c,
		    with_secret ? secret_hash : NULL,
		    with_token ? initial : NULL, access_hash, r->now);
	}
	if (rc == PC_ERR_PERM) {
		no_token(w,
		    "The initial access token is unknown, expired, revoked "
		    "or used up.");
		goto out;
	}
	if (rc != 0) {
		oauth_unavailable(w);
		goto out;
	}
	{
		json_t *d = audit_details(&m.c, with_token ? "token" : "open");

		rc = oauth_audit(
		    r, "client.register", "success", NULL, m.c.client_id, d);
		json_decref(d);
	}
	if (rc != 0) {
		oauth_unavailable(w); /* AU-01 */
		goto out;
	}
	answer(r, w, 201, &m.c, secret, access);
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(secret_hash, sizeof(secret_hash));
	sodium_memzero(access, sizeof(access));
	sodium_memzero(access_hash, sizeof(access_hash));
	client_meta_clear(&m);
}

/*
 * CR-03: the client named by ?client_id= whose registration access token
 * is the request's; 0 with c and hash (the current token's) filled,
 * otherwise the answer is written.
 */
static int
managed(struct req *r, struct resp *w, struct store_client *c,
    char hash[PC_SHA256_HEX_LEN + 1])
{
	struct app *app = r->app;
	const struct kvlist *q = NULL;
	const char *id = NULL;
	char given[PC_SHA256_HEX_LEN + 1], stored[PC_SHA256_HEX_LEN + 1];
	int rc;

	memset(c, 0, sizeof(*c));
	if (req_query(r, &q) != 0 || oauth_field(q, "client_id", &id) != 0 ||
	    id == NULL || !client_id_valid(id)) {
		no_token(w, "Unknown client or wrong registration token.");
		return PC_ERR_VERIFY;
	}
	if (bearer_hash(r, REG_ACCESS_PREFIX, given) != 0) {
		no_token(w, "The registration access token is required.");
		return PC_ERR_VERIFY;
	}
	rc = store_registration_hash(app->db, id, stored);
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		return rc;
	}
	/* Compared even for an unknown client (against the empty hash). */
	if (rc != 0)
		memset(stored, '0', PC_SHA256_HEX_LEN);
	stored[PC_SHA256_HEX_LEN] = '\0';
	if (sodium_memcmp(given, stored, PC_SHA256_HEX_LEN) != 0 || rc != 0) {
		no_token(w, "Unknown client or wrong registration token.");
		return PC_ERR_VERIFY;
	}
	rc = store_client_get(app->db, id, c);
	if (rc != 0) {
		if (oauth_store_down(rc))
			oauth_unavailable(w);
		else
			no_token(
			    w, "Unknown client or wrong registration token.");
		return rc;
	}
	memcpy(hash, stored, sizeof(stored));
	return 0;
}

/* PUT: the whole metadata again (RFC 7592 §2.2); a new token. */
static void
update(struct req *r, struct resp *w, struct store_client *old,
    const char *old_hash)
{
	struct app *app = r->app;
	const struct config *cfg = app->cfg;
	struct client_meta m;
	const char *error = NULL, *why = NULL;
	char access[REG_TOKEN_LEN + 1] = "", hash[PC_SHA256_HEX_LEN + 1];
	int rc;

	if (!json_body(r)) {
		metadata_error(w, "invalid_client_metadata",
		    "The body must be application/json.");
		return;
	}
	if (client_meta_parse((const char *)r->body.p, r->body.len,
		CLIENT_META_REGISTER, cfg->client_registration_scopes, &m,
		&error, &why) != 0) {
		metadata_error(w, error, why);
		return;
	}
	if (m.doc_client_id == NULL || old->client_id == NULL ||
	    strcmp(m.doc_client_id, old->client_id) != 0) {
		metadata_error(w, "invalid_request",
		    "client_id must be the registered one.");
		goto out;
	}
	if (m.c.is_public != old->is_public ||
	    client_auth_method_uses_secret(m.c.auth_method) !=
		client_auth_method_uses_secret(old->auth_method)) {
		metadata_error(w, "invalid_client_metadata",
		    "token_endpoint_auth_method cannot move between public, "
		    "secret and key methods.");
		goto out;
	}
	if (m.c.is_public && strcmp(cfg->client_registration, "open") == 0 &&
	    client_meta_open_ok(&m, &why) != 0) {
		metadata_error(w, "invalid_client_metadata", why);
		goto out;
	}
	/* RFC 7592 §2.2: a client_secret sent must be the current one. */
	if (m.client_secret != NULL &&
	    client_verify_secret(app->db, old->client_id, m.client_secret,
		strlen(m.client_secret), r->now) != 0) {
		metadata_error(w, "invalid_request",
		    "client_secret is not the client's secret.");
		goto out;
	}
	m.c.client_id = xstrdup(old->client_id);
	client_meta_keep(&m.c, old);
	m.c.updated_at = r->now;
	reg_token_new(REG_ACCESS_PREFIX, access, hash);
	rc = store_client_register_update(
	    app->db, &m.c, false, old_hash, hash, r->now);
	if (rc == PC_ERR_NOT_FOUND) {
		no_token(w, "Unknown client or wrong registration token.");
		goto out;
	}
	if (rc == 0) {
		json_t *d = audit_details(&m.c, "update");

		rc = oauth_audit(r, "client.register_update", "success", NULL,
		    m.c.client_id, d);
		json_decref(d);
	}
	if (rc != 0) {
		oauth_unavailable(w);
		goto out;
	}
	answer(r, w, 200, &m.c, NULL, access);
out:
	sodium_memzero(access, sizeof(access));
	sodium_memzero(hash, sizeof(hash));
	client_meta_clear(&m);
}

static void
delete_client(struct req *r, struct resp *w, const struct store_client *c,
    const char *hash)
{
	struct app *app = r->app;
	int rc =
	    store_client_register_delete(app->db, c->client_id, hash, r->now);

	if (rc == PC_ERR_NOT_FOUND) {
		no_token(w, "Unknown client or wrong registration token.");
		return;
	}
	if (rc == 0)
		rc = oauth_audit(r, "client.register_delete", "success", NULL,
		    c->client_id, NULL);
	if (rc != 0) {
		oauth_unavailable(w);
		return;
	}
	w->status = 204;
}

void
oauth_register(struct req *r, struct resp *w)
{
	struct app *app = r->app;
	struct store_client c;
	char hash[PC_SHA256_HEX_LEN + 1];

	if (strcmp(app->cfg->client_registration, "off") == 0) {
		oauth_error(w, 404, "not_found",
		    "Client registration is not enabled here.");
		return;
	}
	if (r->method == HTTP_POST) {
		create(r, w);
		return;
	}
	if (managed(r, w, &c, hash) != 0)
		return;
	if (r->method == HTTP_PUT)
		update(r, w, &c, hash);
	else if (r->method == HTTP_DELETE)
		delete_client(r, w, &c, hash);
	else
		answer(r, w, 200, &c, NULL, NULL);
	store_client_clear(&c);
	sodium_memzero(hash, sizeof(hash));
}
