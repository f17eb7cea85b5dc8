/*
 * Client authentication at /token, /introspect and /revoke (RFC 6749
 * §2.3, RFC 7523 §2.2; SECURITY.md TK-07, TK-08, TK-09).
 *
 * A request uses exactly one method, and it must be the one the client
 * registered: client_secret_basic (Authorization: Basic of the
 * form-urlencoded id and secret), client_secret_post (client_id and
 * client_secret in the body), private_key_jwt (client_assertion_type and
 * client_assertion) or none (a public client naming itself with
 * client_id, where the endpoint allows it). Two methods at once are
 * invalid_request. Every failure is invalid_client (401; with
 * WWW-Authenticate when Basic was tried) and audited as client.auth; a
 * known client that used another method than its registered one is told
 * which (client ids are public, and so is how a client authenticates).
 *
 * TK-08: failures are counted per IP and per (client id, IP) in the
 * store-backed throttle, which answers 429 past either limit before any
 * secret is looked at. Never per client id alone: anyone can name a
 * public client id, and a per-client count would let them stop the
 * application. Only failures are counted (a good grant reads, and writes
 * only to clear its pair's earlier failures); the secrets are 256-bit,
 * so there is nothing to guess across IPs.
 *
 * Decision 0049: the client and its secret hashes come from the per-node
 * client cache (client_cache.c), checked against the store's 'clients'
 * version on every request, and the TK-08 check reads the store only
 * when a client-auth failure was counted in the current window: one
 * store statement per request (none on SQLite while nothing committed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/log.h"

#define CLIENT_ID_MAX 256 /* a URL client id: CLIENT_URL_ID_MAX */
#define CLIENT_SECRET_MAX 256

#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX and '+' decoding of one application/x-www-form-urlencoded value;
 * controls (and %00) are refused. */
static bool
form_unescape(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];

		if (o + 1 >= cap)
			return false;
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return false;
			hi = hexval(in[i + 1]);
			lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return true;
}

/*
 * Authorization: Basic: 0 with id and secret filled; PC_ERR_NOT_FOUND
 * when there is no such header; PC_ERR_INVALID when it is malformed.
 */
static int
basic_credentials(const struct req *r, char id[CLIENT_ID_MAX + 1],
    char secret[CLIENT_SECRET_MAX + 1])
{
	const char *h = NULL, *colon;
	unsigned char raw[(CLIENT_ID_MAX + CLIENT_SECRET_MAX) * 3 + 2];
	size_t n = 0;
	int rc = PC_ERR_INVALID;

	if (req_header(r, "Authorization", &h) == PC_ERR_NOT_FOUND)
		return PC_ERR_NOT_FOUND;
	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return PC_ERR_INVALID;
	h += 6;
	if (sodium_base642bin(raw, sizeof(raw) - 1, h, strlen(h), NULL, &n,
		NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return PC_ERR_INVALID;
	raw[n] = '\0';
	colon = memchr(raw, ':', n);
	if (colon != NULL &&
	    form_unescape((const char *)raw, (size_t)(colon - (char *)raw), id,
		CLIENT_ID_MAX + 1) &&
	    form_unescape(colon + 1, n - (size_t)(colon - (char *)raw) - 1,
		secret, CLIENT_SECRET_MAX + 1))
		rc = 0;
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

static void
unauthorized(struct resp *w, bool basic, const char *desc)
{
	oauth_error(w, 401, "invalid_client", desc);
	if (basic)
		resp_header(
		    w, "WWW-Authenticate", "Basic realm=\"portcullis\"");
}

int
client_authenticate(struct req *r, struct resp *w, const struct kvlist *form,
    bool public_ok, struct store_client *out)
{
	struct app *app = r->app;
	const char *post_id = NULL, *post_secret = NULL, *atype = NULL,
		   *assertion = NULL;
	char id[CLIENT_ID_MAX + 1] = "", secret[CLIENT_SECRET_MAX + 1] = "";
	struct throttle_client t;
	struct store_versions ver;
	struct store_client_secret sec[STORE_CLIENT_SECRETS_MAX];
	size_t n_sec = 0;
	const char *method;
	bool basic = false, wrong_method = false;
	int rc, ret = PC_ERR_VERIFY;

	memset(out, 0, sizeof(*out));
	memset(sec, 0, sizeof(sec));
	if (oauth_field(form, "client_id", &post_id) != 0 ||
	    oauth_field(form, "client_secret", &post_secret) != 0 ||
	    oauth_field(form, "client_assertion_type", &atype) != 0 ||
	    oauth_field(form, "client_assertion", &assertion) != 0) {
		oauth_error(
		    w, 400, "invalid_request", "A parameter is repeated.");
		return PC_ERR_INVALID;
	}
	rc = basic_credentials(r, id, secret);
	if (rc == PC_ERR_INVALID) {
		unauthorized(w, true, "Malformed Authorization header.");
		return PC_ERR_VERIFY;
	}
	basic = rc == 0;
	/* One method per request (RFC 6749 §2.3, TK-07). */
	if ((basic ? 1 : 0) + (post_secret != NULL ? 1 : 0) +
		(atype != NULL || assertion != NULL ? 1 : 0) >
	    1) {
		oauth_error(w, 400, "invalid_request",
		    "Use one client authentication method.");
		goto out;
	}
	if (basic && post_id != NULL && strcmp(post_id, id) != 0) {
		oauth_error(w, 400, "invalid_request",
		    "client_id differs from the Authorization header.");
		goto out;
	}
	if (atype != NULL || assertion != NULL) {
		method = "private_key_jwt";
		if (atype == NULL || assertion == NULL ||
		    strcmp(atype, ASSERTION_TYPE) != 0) {
			oauth_error(w, 400, "invalid_request",
			    "client_assertion_type must be jwt-bearer with a "
			    "client_assertion.");
			goto out;
		}
		if (client_assertion_subject(assertion, post_id, id) != 0) {
			unauthorized(w, false, "Malformed client assertion.");
			goto out;
		}
	} else if (basic) {
		method = "client_secret_basic";
	} else {
		if (post_id == NULL || strlen(post_id) > CLIENT_ID_MAX) {
			unauthorized(
			    w, true, "Client authentication is required.");
			goto out;
		}
		snprintf(id, sizeof(id), "%s", post_id);
		if (post_secret != NULL) {
			if (strlen(post_secret) > CLIENT_SECRET_MAX) {
				unauthorized(
				    w, false, "Client authentication failed.");
				goto out;
			}
			snprintf(secret, sizeof(secret), "%s", post_secret);
			method = "client_secret_post";
		} else {
			method = "none";
		}
	}

	/*
	 * Decision 0049: the versions the client cache and the throttle go
	 * by, one read for both; an error here is 503, never a stale cache.
	 */
	if (client_cache_versions(app->client_cache, app->db, &ver) != 0) {
		oauth_unavailable(w);
		goto out;
	}
	/* TK-08: per IP and per (client, IP), before the secret. */
	if (throttle_client_check_at(app->db, app->cfg, id, r->ip, r->now,
		&ver.failure_window, &t) != 0) {
		oauth_unavailable(w);
		goto out;
	}
	if (!t.v.allowed) {
		char ra[24];

		oauth_error(w, 429, "invalid_client",
		    "Too many failed client authentications.");
		snprintf(ra, sizeof(ra), "%lld", (long long)t.v.retry_after);
		resp_header(w, "Retry-After", ra);
		goto out;
	}
	/* Issue 15: an https URL id is a metadata-document client. */
	rc = client_resolve(
	    app, &ver, id, r->ip, r->now, out, sec, &n_sec, NULL);
	if (rc == PC_ERR_PERM) /* over the per-IP fetch limit */
		rc = PC_ERR_NOT_FOUND;
	if (rc != 0 && rc != PC_ERR_NOT_FOUND) {
		oauth_unavailable(w);
		goto out;
	}
	wrong_method = rc == 0 && strcmp(out->auth_method, method) != 0;
	if (wrong_method)
		rc = PC_ERR_VERIFY;
	else if (rc == 0 && strcmp(method, "none") == 0)
		rc = public_ok && out->is_public ? 0 : PC_ERR_VERIFY;
	else if (rc == 0 && strcmp(method, "private_key_jwt") == 0)
		rc = client_assertion_verify(app, out, assertion, r->now);
	else if (rc == 0)
		rc = client_secret_match(
		    secret, strlen(secret), sec, n_sec, r->now);
	if (oauth_store_down(rc)) {
		oauth_unavailable(w);
		goto out;
	}
	if (rc != 0) {
		json_t *d = json_pack("{s:s}", "method", method);
		char desc[128];

		if (throttle_client_failure(app->db, &t) != 0)
			log_msg(LOG_WARN, "oauth.throttle", "not counted");
		oauth_audit(r, "client.auth", "failure",
		    client_id_valid(id) ? id : NULL, NULL, d);
		json_decref(d);
		/* Item 12: a known client learns its registered method. */
		if (wrong_method)
			snprintf(desc, sizeof(desc),
			    "This client is registered for %s, not %s.",
			    out->auth_method, method);
		else
			snprintf(desc, sizeof(desc), "%s",
			    "Client authentication failed.");
		unauthorized(w, basic, desc);
		goto out;
	}
	/* Issue 15: a disabled client (an agent taken out of service)
	 * authenticates no more, whatever it proves. */
	if (client_disabled(out)) {
		json_t *d = json_pack("{s:s}", "reason", "disabled");

		oauth_audit(r, "client.auth", "failure", id, NULL, d);
		json_decref(d);
		unauthorized(w, basic, "This client is disabled.");
		goto out;
	}
	if (throttle_client_success(app->db, &t) != 0)
		log_msg(LOG_WARN, "oauth.throttle", "pair not cleared");
	ret = 0;
out:
	if (ret != 0)
		store_client_clear(out);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(sec, sizeof(sec));
	return ret;
}
