/*
 * Pushed authorization requests (RFC 9126; issue 15 item 5; SECURITY.md
 * AZ-12, AZ-13, AZ-14, DS-04): POST /par, and the request_uri that
 * /authorize takes in its place.
 *
 * A client authenticates at /par exactly as at /token (client_auth.c:
 * a public client names itself), and its request goes through the same
 * checks as at /authorize (az_parse() and authz_begin(): client,
 * redirect_uri matched exactly, scope, PKCE, signing key, id_token_hint),
 * with every refusal answered as JSON instead of a redirect. What passed
 * is stored (store/par.c) under the SHA-256 of a new request_uri,
 * urn:ietf:params:oauth:request_uri: and 256 random bits, that lives
 * par_ttl seconds (5..600, SECURITY.md Part 2.5). The stored parameters
 * are the pushed form without its client credentials, re-encoded names
 * and values alike, so the /authorize that takes them parses exactly
 * what /par checked, through the same parser.
 *
 * /authorize with such a request_uri (par_take()) needs the client_id of
 * the client that pushed it: the row is taken (deleted) only when both
 * match and it is still live, so it is used once, by its own client, and
 * another client naming it neither uses nor burns it. Every other
 * parameter of that /authorize is ignored (RFC 9126 §4). A request_uri
 * of any other form is not ours to fetch: az_parse() still answers
 * request_uri_not_supported (AZ-12).
 *
 * Why the pushed form and not the parsed request is stored: decision
 * 0059.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "jose/b64url.h"
#include "oauth/oauth.h"
#include "util/log.h"

#define PAR_URN "urn:ietf:params:oauth:request_uri:"
#define PAR_URN_LEN (sizeof(PAR_URN) - 1)
#define PAR_RANDOM_BYTES 32
#define PAR_RANDOM_LEN 43 /* base64url of 32 bytes */
#define PAR_URI_LEN (PAR_URN_LEN + PAR_RANDOM_LEN)
/* The stored form: the pushed one re-encoded (at most 3 bytes for 1). */
#define PAR_PARAMS_MAX (192 * 1024)

/* Client credentials never enter the store. */
static bool
credential(const char *name)
{
	return strcmp(name, "client_secret") == 0 ||
	    strcmp(name, "client_assertion") == 0 ||
	    strcmp(name, "client_assertion_type") == 0;
}

static int
put_encoded(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	     p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~') {
			r |= buf_putc(b, (char)*p);
		} else {
			r |= buf_putc(b, '%');
			r |= buf_putc(b, hex[*p >> 4]);
			r |= buf_putc(b, hex[*p & 15]);
		}
	}
	return r;
}

int
par_params_encode(
    const struct kvlist *form, const char *client_id, struct buf *out)
{
	bool have_id = false;
	int r = 0;

	for (size_t i = 0; i < form->n; i++) {
		const struct kv *kv = &form->v[i];

		if (credential(kv->name))
			continue;
		have_id |= strcmp(kv->name, "client_id") == 0;
		if (out->len > 0)
			r |= buf_putc(out, '&');
		r |= put_encoded(out, kv->name);
		r |= buf_putc(out, '=');
		r |= put_encoded(out, kv->value);
	}
	/* Basic or private_key_jwt may leave client_id out of the form; the
	 * authorization request always names its client. */
	if (!have_id && client_id != NULL) {
		if (out->len > 0)
			r |= buf_putc(out, '&');
		r |= buf_puts(out, "client_id=");
		r |= put_encoded(out, client_id);
	}
	return r != 0 ? PC_ERR_TOO_LARGE : 0;
}

/* The stored form, parsed as it will be at /authorize. */
static int
parse_params(const char *s, const struct http_limits *lim, struct kvlist *out)
{
	struct http_limits more = *lim;

	/* par_params_encode() may have added client_id: one more pair. */
	more.max_params++;
	return form_parse(s, strlen(s), &more, out);
}

/* The request_uri's shape: the URN and 43 canonical base64url. */
static bool
uri_valid(const char *v)
{
	uint8_t raw[PAR_RANDOM_BYTES];
	char back[PAR_RANDOM_LEN + 1];
	size_t n = 0;
	bool ok;

	if (v == NULL || strlen(v) != PAR_URI_LEN ||
	    memcmp(v, PAR_URN, PAR_URN_LEN) != 0 ||
	    b64url_decode(
		v + PAR_URN_LEN, PAR_RANDOM_LEN, raw, sizeof(raw), &n) != 0 ||
	    n != sizeof(raw))
		return false;
	b64url_encode(raw, sizeof(raw), back);
	ok = memcmp(back, v + PAR_URN_LEN, PAR_RANDOM_LEN) == 0;
	sodium_memzero(raw, sizeof(raw));
	return ok;
}

bool
par_is_pushed(const struct kvlist *q)
{
	const char *v = kvlist_value(q, "request_uri");

	return v != NULL && strncmp(v, PAR_URN, PAR_URN_LEN) == 0;
}

int
par_take(struct app *app, const struct http_limits *lim, const struct kvlist *q,
    int64_t now, struct kvlist *out, const char **why)
{
	struct store_par p;
	const char *client_id = NULL, *uri = NULL;
	char hash[PC_SHA256_HEX_LEN + 1];
	int rc;

	memset(out, 0, sizeof(*out));
	if (oauth_field(q, "client_id", &client_id) != 0 ||
	    oauth_field(q, "request_uri", &uri) != 0) {
		*why = "client_id or request_uri is repeated.";
		return PC_ERR_INVALID;
	}
	/* RFC 9126 §4: the client names itself, and it must be the pusher. */
	if (client_id == NULL || client_id[0] == '\0') {
		*why = "client_id is missing.";
		return PC_ERR_INVALID;
	}
	if (!uri_valid(uri)) {
		*why = "request_uri is not valid.";
		return PC_ERR_INVALID;
	}
	hash_sha256_hex(uri, strlen(uri), hash);
	rc = store_par_take(app->db, hash, client_id, now, &p);
	if (rc == PC_ERR_NOT_FOUND) {
		/* AZ-13: used, expired, or pushed by another client. */
		*why = "This sign-in request has expired or was already used. "
		       "Go back to the application and start again.";
		return PC_ERR_INVALID;
	}
	if (rc != 0)
		return PC_ERR_STORE;
	rc = parse_params(p.params, lim, out);
	store_par_clear(&p);
	if (rc != 0) {
		*why = "The pushed request cannot be read.";
		return PC_ERR_INVALID;
	}
	return 0;
}

static void
push_error(struct req *r, struct resp *w, const char *client_id, int status,
    const char *error, const char *desc)
{
	json_t *d = json_pack("{s:s}", "error", error);

	/* A refused push is a failure signal: best-effort. */
	(void)oauth_audit(r, "par", "failure", client_id, NULL, d);
	json_decref(d);
	oauth_error(w, status, error, desc);
}

/* Stores the checked request and answers 201 with its request_uri. */
static void
store_push(struct req *r, struct resp *w, const struct store_client *c,
    struct buf *params)
{
	struct app *app = r->app;
	struct store_par p;
	uint8_t raw[PAR_RANDOM_BYTES];
	char uri[PAR_URI_LEN + 1];
	json_t *o;
	int rc;

	memcpy(uri, PAR_URN, PAR_URN_LEN);
	random_bytes(raw, sizeof(raw));
	b64url_encode(raw, sizeof(raw), uri + PAR_URN_LEN);
	sodium_memzero(raw, sizeof(raw));
	memset(&p, 0, sizeof(p));
	hash_sha256_hex(uri, PAR_URI_LEN, p.uri_hash);
	p.client_id = c->client_id;
	p.params = (char *)params->p;
	p.public_client = c->is_public;
	p.created_ms = clock_now_ms();
	p.expires_at = p.created_ms / 1000 + app->cfg->par_ttl;
	rc = store_par_put(app->db, &p, r->ip, app->cfg->presession_max_per_ip,
	    app->cfg->par_max_per_client);
	if (rc != 0) {
		log_msg(LOG_ERROR, "par.store_failed", c->client_id);
		oauth_unavailable(w);
		goto out;
	}
	o = json_pack("{s:s, s:I}", "request_uri", uri, "expires_in",
	    (json_int_t)app->cfg->par_ttl);
	if (o == NULL || resp_json(w, 201, o) != 0)
		oauth_error(w, 500, "server_error", "Internal error.");
	json_decref(o);
out:
	sodium_memzero(uri, sizeof(uri));
}

/* The checks of /authorize on the pushed form; 0 when they pass. */
static int
check_request(struct req *r, struct resp *w, const struct store_client *c,
    const struct kvlist *pushed)
{
	struct az_request a;
	struct authz_error e;
	struct authz z;
	enum authz_status st;
	enum az_fail f;

	memset(&z, 0, sizeof(z));
	f = az_parse(pushed, &a);
	a.par = true;
	a.ip = r->ip; /* client_resolve's per-IP limit */
	if (f == AZ_FAIL_PAGE) {
		push_error(
		    r, w, c->client_id, 400, a.error, a.error_description);
		az_request_clear(&a);
		return -1;
	}
	if (strcmp(a.client_id, c->client_id) != 0) {
		push_error(r, w, c->client_id, 400, "invalid_request",
		    "client_id is not the authenticated client.");
		az_request_clear(&a);
		return -1;
	}
	a.ip = r->ip; /* client_resolve's per-IP limit (issue 15) */
	st = authz_begin(r->app, &a, f, r->now, &z, &e);
	if (st == AUTHZ_PAGE)
		push_error(r, w, c->client_id, 400, "invalid_request", e.why);
	else if (st == AUTHZ_REDIRECT)
		push_error(r, w, c->client_id, 400, e.error, e.why);
	else if (st != AUTHZ_OK)
		oauth_unavailable(w);
	az_request_clear(&a);
	authz_clear(&z);
	return st == AUTHZ_OK ? 0 : -1;
}

void
oauth_par(struct req *r, struct resp *w)
{
	const struct kvlist *form;
	const struct kv *kv = NULL;
	struct kvlist pushed;
	struct store_client c;
	struct buf params;

	memset(&pushed, 0, sizeof(pushed));
	if (oauth_form(r, w, &form) != 0)
		return;
	if (client_authenticate(r, w, form, true, &c) != 0)
		return;
	buf_init(&params, PAR_PARAMS_MAX);
	/* RFC 9126 §2.1: a pushed request cannot point elsewhere. */
	if (kvlist_get(form, "request_uri", &kv) != PC_ERR_NOT_FOUND) {
		push_error(r, w, c.client_id, 400, "invalid_request",
		    "request_uri cannot be pushed.");
		goto out;
	}
	if (par_params_encode(form, c.client_id, &params) != 0) {
		push_error(r, w, c.client_id, 400, "invalid_request",
		    "The request is too large.");
		goto out;
	}
	/* Checked in the form /authorize will read it back in. */
	if (parse_params(buf_cstr(&params), r->limits, &pushed) != 0) {
		push_error(r, w, c.client_id, 400, "invalid_request",
		    "The request has too many parameters.");
		goto out;
	}
	if (check_request(r, w, &c, &pushed) != 0)
		goto out;
	store_push(r, w, &c, &params);
out:
	kvlist_free(&pushed);
	pc_freezero(params.p, params.cap);
	store_client_clear(&c);
}
