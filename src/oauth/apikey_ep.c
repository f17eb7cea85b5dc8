/*
 * API keys at the HTTP endpoints (issue 14; SECURITY.md AK-03, AK-04,
 * AK-06): the guard that keeps keys out of URLs on every route, and the
 * key branch of /introspect.
 *
 * AK-06: a key belongs in an Authorization header or a POST body, never
 * a URL, where proxies, browser history and access logs keep it. Any
 * query string holding a string in the key format with a valid checksum
 * is refused before the route's handler runs, and a key whose secret
 * matches one of ours is revoked then and there as compromised. Format
 * and checksum are public, so a look-alike (unknown secret) revokes
 * nothing; only the key id is ever logged or audited.
 */
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "oauth/proto.h"
#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"

struct url_scan {
	struct req *r;
	bool any; /* a well-formed key was seen */
	int rc;	  /* a store failure */
};

static int
on_candidate(const char *p, size_t n, void *arg)
{
	struct url_scan *s = arg;
	struct app *app = s->r->app;
	char id[APIKEY_PUBLIC_ID_LEN + 1];
	enum apikey_exposure found = APIKEY_EXPOSED_NOT_A_KEY;
	struct log_line l;
	bool revoked;
	int rc;

	rc = apikey_revoke_exposed(
	    app->db, p, n, s->r->now, "url_exposed", id, &found, NULL);
	revoked = found == APIKEY_EXPOSED_REVOKED;
	if (id[0] == '\0')
		return 0; /* the checksum fails: not a key of this format */
	s->any = true;
	if (rc != 0) {
		s->rc = rc;
		return 1;
	}
	log_begin(&l, LOG_WARN, "api_key.url_exposed");
	log_str(&l, "key_id", id);
	log_bool(&l, "revoked", revoked);
	log_end(&l);
	if (revoked) {
		json_t *d =
		    json_pack("{s:s%}", "path", s->r->path.p, s->r->path.len);

		(void)oauth_audit(
		    s->r, "api_key.url_exposed", "alert", NULL, id, d);
		json_decref(d);
	}
	return 0;
}

bool
oauth_apikey_url_guard(struct req *r, struct resp *w)
{
	struct url_scan s = { .r = r };
	const struct kvlist *q;

	if (r->query.len == 0)
		return false;
	(void)apikey_scan(r->query.p, r->query.len, on_candidate, &s);
	/* A key may also come percent-encoded: the decoded pairs too. */
	if (s.rc == 0 && memchr(r->query.p, '%', r->query.len) != NULL &&
	    req_query(r, &q) == 0) {
		for (size_t i = 0; i < q->n && s.rc == 0; i++) {
			(void)apikey_scan(
			    q->v[i].name, q->v[i].name_len, on_candidate, &s);
			(void)apikey_scan(
			    q->v[i].value, q->v[i].value_len, on_candidate, &s);
		}
	}
	if (!s.any)
		return false;
	if (s.rc != 0) {
		/* Fail closed: refused all the same, and said so. */
		log_msg(LOG_ERROR, "api_key.url_exposed",
		    "the store could not check the key: not revoked");
		oauth_unavailable(w);
		return true;
	}
	oauth_error(w, 400, "invalid_request",
	    "An API key must never be sent in a URL; a live key sent in one "
	    "is revoked.");
	return true;
}

/*
 * AK-04: direct presentation. A resource server that received a key as a
 * Bearer asks /introspect about it with its own client credentials. Only
 * a client bound to a registered resource learns anything, and only
 * about a key usable there (confined to that resource, or to none with
 * scopes the resource has): active, scope = the key's usable scopes
 * within the resource's (the resource answers 403 insufficient_scope for
 * anything else), sub = the owner, client_id = the key id, exp = the
 * key's expiry. A plain client, a key confined elsewhere, no scope in
 * common, and every dead or unknown key: {"active":false}, the same
 * answer. Failures are not counted against the resource server's IP: the
 * keys it forwards are its callers', and a stranger's bad keys must not
 * lock it out (AK-03). last_used_ip records the resource server's
 * address: the caller's own is not ours to see.
 */
static void
key_inactive(struct resp *w)
{
	json_t *o = json_pack("{s:b}", "active", 0);

	if (o == NULL || resp_json(w, 200, o) != 0)
		oauth_error(w, 500, "server_error", "Internal error.");
	json_decref(o);
}

static void
key_active(struct req *r, struct resp *w, const struct store_api_key *k,
    const struct store_resource *res)
{
	struct app *app = r->app;
	struct scope_set usable;
	struct buf scope;
	char id[APIKEY_PUBLIC_ID_LEN + 1];
	json_t *o = NULL;
	int rc;

	rc = apikey_usable_scopes(app->db, k, res->id, res->scopes, &usable);
	if (rc != 0 || usable.n == 0) {
		scope_set_free(&usable);
		if (rc == PC_ERR_STORE || rc == PC_ERR_BUSY)
			oauth_unavailable(w);
		else
			key_inactive(w);
		return;
	}
	buf_init(&scope, SCOPE_STRING_MAX + 1);
	apikey_public_id(k->key_id, id);
	if (scope_format(&usable, &scope) == 0)
		o = json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}",
		    "active", 1, "scope", buf_cstr(&scope), "client_id", id,
		    "sub", k->owner_id, "token_type", "Bearer", "exp",
		    (json_int_t)k->expires_at, "iat", (json_int_t)k->created_at,
		    "iss", app->cfg->issuer, "aud", res->id);
	if (o == NULL || resp_json(w, 200, o) != 0)
		oauth_error(w, 500, "server_error", "Internal error.");
	json_decref(o);
	buf_free(&scope);
	scope_set_free(&usable);
}

void
oauth_introspect_api_key(struct req *r, struct resp *w,
    const struct store_client *c, const char *key)
{
	struct app *app = r->app;
	struct store_resource res;
	struct store_api_key k;
	struct apikey_parts parts;
	struct apikey_use use;
	size_t len = strlen(key);
	int rc;

	/* AK-03: a malformed key costs no store access. */
	if (apikey_parse(key, len, &parts) != 0) {
		key_inactive(w);
		return;
	}
	apikey_parts_wipe(&parts);
	rc = resource_for_client(app->db, c->client_id, &res);
	if (rc == PC_ERR_NOT_FOUND) {
		key_inactive(w); /* a plain client learns nothing about keys */
		return;
	}
	if (rc != 0) {
		oauth_unavailable(w);
		return;
	}
	rc =
	    apikey_verify(app->db, app->cfg, key, len, r->ip, r->now, &k, &use);
	if (rc == 0) {
		if (use.audit_use) {
			char id[APIKEY_PUBLIC_ID_LEN + 1];
			json_t *d = json_pack("{s:s, s:s}", "via",
			    "introspection", "resource", res.id);

			apikey_public_id(k.key_id, id);
			(void)oauth_audit(
			    r, "api_key.use", "success", id, k.owner_id, d);
			json_decref(d);
		}
		key_active(r, w, &k, &res);
		store_api_key_clear(&k);
	} else if (rc == PC_ERR_VERIFY) {
		key_inactive(w);
	} else {
		oauth_unavailable(w);
	}
	store_resource_clear(&res);
}
