/*
 * client_resolve(): THE lookup of a client by id for /authorize, /par and
 * /token, and client ID metadata documents behind it (issue 15 item 6;
 * SECURITY.md CR-04, CR-05, DS-05; decision 0063).
 *
 * An https URL used as a client_id names a JSON document at that URL
 * describing the client (draft-ietf-oauth-client-id-metadata-document).
 * While client_metadata_documents is on, the first use of such an id
 * fetches the document through machine/fetch.c, the one outbound fetcher
 * (https only, no redirects, the connected address is the one checked, no
 * loopback/private/link-local target unless outbound_allow_networks says
 * so), with its caps lowered to 5 KiB and 3 s; checks it
 * (client_meta_parse, client_meta_document_ok: its client_id is its URL
 * byte for byte, redirect URIs on its origin or loopback, public or
 * private_key_jwt with a jwks_uri on its origin, whose keys are fetched
 * the same way) and writes it as an ordinary clients row with registration
 * 'metadata', so consents, token families and the client cache treat it
 * like any client. The row is used for client_metadata_ttl and then
 * fetched again (updated in place: its grants stay). A document that can
 * no longer be fetched or checked stops the client (fail closed) until
 * it can. Fetches count per IP before they start (client_metadata_per_ip)
 * so naming many URLs cannot turn us into a scanner.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "machine/machine.h"
#include "oauth/domain.h"
#include "util/config.h"
#include "util/log.h"

static int
refuse(const char **why, const char *text)
{
	if (why != NULL)
		*why = text;
	return PC_ERR_NOT_FOUND;
}

/* One fetch under DS-05 with CR-04's caps on top of the operator's. */
static int
fetch(const struct config *cfg, const char *url, size_t max, char **body,
    size_t *len)
{
	struct fetch_policy p;
	char err[160];
	int r;

	*body = NULL;
	*len = 0;
	if (fetch_policy_init(cfg, &p, err, sizeof(err)) != 0)
		return PC_ERR_CONFIG;
	if (p.max_size > max)
		p.max_size = max;
	if (p.timeout > CLIENT_META_FETCH_TIMEOUT)
		p.timeout = CLIENT_META_FETCH_TIMEOUT;
	if (p.connect_timeout > CLIENT_META_FETCH_TIMEOUT)
		p.connect_timeout = CLIENT_META_FETCH_TIMEOUT;
	r = fetch_get(&p, url, body, len);
	fetch_policy_free(&p);
	return r;
}

static void
log_refused(const char *url, const char *why)
{
	struct log_line l;

	log_begin(&l, LOG_WARN, "client.metadata_refused");
	log_str(&l, "client_id", url);
	log_str(&l, "why", why);
	log_end(&l);
}

/* client.register for a metadata client seen for the first time. */
static int
audit_new(struct app *app, const struct store_client *c, const char *ip)
{
	struct audit_event ev;
	int r;

	memset(&ev, 0, sizeof(ev));
	ev.event = "client.register";
	ev.outcome = "success";
	ev.target = c->client_id;
	ev.ip = ip;
	ev.details = json_pack("{s:s, s:s}", "registration", "metadata",
	    "auth_method", c->auth_method);
	r = audit_append(app->db, app->audit_key, &ev);
	json_decref(ev.details);
	if (r != 0)
		log_msg(LOG_ERROR, "audit.append_failed", "client.register");
	return r;
}

/* Fetches, checks and writes the client of the document at url. */
static int
materialise(struct app *app, const char *url, const struct store_client *old,
    const char *ip, int64_t now, const char **why)
{
	const struct config *cfg = app->cfg;
	struct client_meta m;
	const char *error = NULL, *w = NULL;
	char *body = NULL;
	size_t len = 0;
	bool allowed = false;
	int r;

	/* Counted before the fetch: the limit bounds the fetches. */
	r = throttle_ip_count(app->db, "client_metadata", ip,
	    cfg->client_metadata_per_ip, now, &allowed);
	if (r == PC_ERR_STORE || r == PC_ERR_BUSY)
		return r;
	if (r != 0 || !allowed) {
		if (why != NULL)
			*why = "too many metadata documents fetched from this "
			       "address; try again later";
		return PC_ERR_PERM;
	}
	r = fetch(cfg, url, CLIENT_META_DOC_MAX, &body, &len);
	if (r != 0) {
		log_refused(url, "the document could not be fetched");
		return refuse(
		    why, "the client's metadata document could not be fetched");
	}
	r = client_meta_parse(body, len, CLIENT_META_DOCUMENT,
	    cfg->client_registration_scopes, &m, &error, &w);
	free(body);
	body = NULL;
	if (r != 0) {
		log_refused(url, w);
		return refuse(why, w);
	}
	if (client_meta_document_ok(&m, url, &w) != 0)
		goto refused;
	if (m.jwks_uri != NULL) {
		if (fetch(cfg, m.jwks_uri, CLIENT_JWKS_MAX, &body, &len) != 0) {
			w = "the client's jwks_uri could not be fetched";
			goto refused;
		}
		free(m.c.jwks);
		m.c.jwks = body;
	}
	if (client_validate(&m.c, &w) != 0)
		goto refused;
	m.c.client_id = xstrdup(url);
	m.c.created_at = now;
	m.c.dpop_required = cfg->client_registration_dpop;
	if (old != NULL) /* a refetch: what the operator set stays */
		client_meta_keep(&m.c, old);
	m.c.updated_at = now;
	r = store_client_metadata_put(app->db, &m.c);
	if (r == PC_ERR_CONFLICT) /* lost an insert race: update it */
		r = store_client_metadata_put(app->db, &m.c);
	if (r == PC_ERR_CONFLICT) {
		w = "the id names another client";
		goto refused;
	}
	/* AU-01: a new client is a durable audit row before it is used. */
	if (r == 0 && old == NULL)
		r = audit_new(app, &m.c, ip);
	client_meta_clear(&m);
	return r;
refused:
	log_refused(url, w);
	client_meta_clear(&m);
	return refuse(why, w);
}

/* The row as the store or the cache has it. */
static int
lookup(struct app *app, const struct store_versions *v, const char *id,
    struct store_client *out,
    struct store_client_secret secrets[STORE_CLIENT_SECRETS_MAX], size_t *n)
{
	*n = 0;
	if (v != NULL)
		return client_cache_get(
		    app->client_cache, app->db, v, id, out, secrets, n);
	return store_client_get(app->db, id, out);
}

int
client_resolve(struct app *app, const struct store_versions *v, const char *id,
    const char *ip, int64_t now, struct store_client *out,
    struct store_client_secret secrets[STORE_CLIENT_SECRETS_MAX], size_t *n,
    const char **why)
{
	int r;

	if (why != NULL)
		*why = NULL;
	memset(out, 0, sizeof(*out));
	*n = 0;
	if (id == NULL)
		return PC_ERR_NOT_FOUND;
	if (strncmp(id, "https:", 6) != 0)
		return lookup(app, v, id, out, secrets, n);
	if (!app->cfg->client_metadata_documents)
		return refuse(
		    why, "client ID metadata documents are not enabled here");
	if (!client_id_is_url(id))
		return refuse(why,
		    "a URL client_id must be an https URL with a path, "
		    "without query or fragment");
	r = lookup(app, v, id, out, secrets, n);
	if (r == 0 && out->registration != NULL &&
	    strcmp(out->registration, "metadata") == 0 &&
	    out->updated_at <= now &&
	    now - out->updated_at < app->cfg->client_metadata_ttl)
		return 0;
	*n = 0;
	if (r != 0 && r != PC_ERR_NOT_FOUND)
		return r;
	r = materialise(app, id, r == 0 ? out : NULL, ip, now, why);
	store_client_clear(out);
	if (r != 0)
		return r;
	/* Just written: the store, not a cache entry of the old version. */
	return store_client_get(app->db, id, out);
}
