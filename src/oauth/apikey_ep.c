/*
 * API keys at the HTTP endpoints (issue 14; SECURITY.md AK-03, AK-06):
 * the guard that keeps keys out of URLs on every route.
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
#include "machine/machine.h"
#include "oauth/oauth.h"
#include "store/store.h"
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
