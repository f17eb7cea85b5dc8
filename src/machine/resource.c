/*
 * Resources (issue 14 item 2; RFC 8707, SECURITY.md TX-04): the registry
 * of the APIs that accept our access tokens. A resource is named by its
 * resource identifier, the exact aud of every token minted for it, so the
 * identifier is held to the issuer's rules (https, http only to a
 * loopback host, no query or fragment) and to one spelling. Each resource
 * lists the scopes it knows, and may be bound to one confidential client:
 * the credentials its server introspects with (src/oauth/introspect.c).
 * Its protected resource metadata (RFC 9728; issue 15 item 7) is the
 * document its server serves so that clients (MCP clients among them)
 * learn from a 401 which authorization server to ask: us.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"
#include "oauth/proto.h"
#include "store/store.h"
#include "util/config.h"

static int
refuse(const char **why, const char *text)
{
	*why = text;
	return PC_ERR_INVALID;
}

int
resource_uri_check(const char *uri, const char **why)
{
	struct str auth, path;
	char *host = NULL;
	uint16_t port = 0;
	bool https = false, loopback;
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (uri == NULL || uri[0] == '\0')
		return refuse(why, "a resource URI is required");
	if (strnlen(uri, RESOURCE_URI_MAX + 1) > RESOURCE_URI_MAX)
		return refuse(why, "the resource URI is longer than 512 bytes");
	switch (config_url_split(uri, &https, &auth, &path)) {
	case CONFIG_URL_OK: break;
	case CONFIG_URL_SCHEME:
		return refuse(why, "the resource URI must start with https://");
	case CONFIG_URL_CHARS:
		return refuse(why,
		    "the resource URI must have no query, fragment, userinfo, "
		    "spaces or non-ASCII characters");
	}
	for (size_t i = 0; i < auth.len; i++)
		if (auth.p[i] >= 'A' && auth.p[i] <= 'Z')
			return refuse(why,
			    "the resource URI's host must be lower-case (a "
			    "token's aud is compared byte for byte)");
	if (config_split_hostport(auth, &host, &port, false) != 0)
		return refuse(why, "the resource URI has a bad host or port");
	loopback = config_host_is_loopback(host);
	free(host);
	if (!https && !loopback)
		return refuse(why,
		    "the resource URI must use https:// (http:// only for a "
		    "loopback host)");
	/* "/./" and "/../" would give one API two names. */
	for (size_t i = 0; i < path.len; i++) {
		size_t n = 0;

		if (path.p[i] != '/')
			continue;
		while (i + 1 + n < path.len && path.p[i + 1 + n] == '.')
			n++;
		if ((n == 1 || n == 2) &&
		    (i + 1 + n == path.len || path.p[i + 1 + n] == '/'))
			return refuse(why,
			    "the resource URI must have no '.' or '..' "
			    "segment");
	}
	return 0;
}

int
resource_scopes_check(const char *scopes, const char **why)
{
	struct scope_set s;
	bool user_scope;
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (scopes == NULL || scope_parse(scopes, &s) != 0)
		return refuse(why,
		    "scopes must be space-separated tokens of printable "
		    "ASCII without '\"' or '\\'");
	if (s.n == 0) {
		scope_set_free(&s);
		return refuse(why, "a resource needs at least one scope");
	}
	user_scope = scope_has(&s, "openid") || scope_has(&s, "offline_access");
	scope_set_free(&s);
	if (user_scope)
		return refuse(why,
		    "openid and offline_access are about a user, not scopes "
		    "of a resource");
	return 0;
}

static int
name_check(const char *name, const char **why)
{
	size_t len = name != NULL ? strnlen(name, RESOURCE_NAME_MAX + 1) : 0;

	if (len == 0 || len > RESOURCE_NAME_MAX ||
	    !str_is_text((struct str){ name, len }))
		return refuse(why,
		    "the name must be 1 to 256 bytes of text without control "
		    "characters");
	return 0;
}

/* The client a resource server introspects with: confidential, there. */
static int
client_usable(struct db *db, const char *client_id, const char **why)
{
	struct store_client c;
	int r;

	if (principal_kind(client_id) != PRINCIPAL_CLIENT)
		return refuse(why, "the client id is malformed");
	r = store_client_get(db, client_id, &c);
	if (r != 0)
		return r;
	if (c.is_public)
		r = refuse(
		    why, "a public client cannot authenticate to /introspect");
	store_client_clear(&c);
	return r;
}

int
resource_create(
    struct db *db, struct store_resource *r, int64_t now, const char **why)
{
	const char *dummy;
	int rc;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if ((rc = resource_uri_check(r->id, why)) != 0 ||
	    (rc = resource_scopes_check(r->scopes, why)) != 0)
		return rc;
	if (r->name == NULL)
		r->name = xstrdup(r->id);
	if ((rc = name_check(r->name, why)) != 0)
		return rc;
	if (r->client_id != NULL &&
	    (rc = client_usable(db, r->client_id, why)) != 0)
		return rc;
	r->created_at = now;
	r->updated_at = now;
	return store_resource_insert(db, r);
}

int
resource_update(
    struct db *db, struct store_resource *r, int64_t now, const char **why)
{
	const char *dummy;
	int rc;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (resource_uri_check(r->id, NULL) != 0)
		return PC_ERR_NOT_FOUND;
	if ((rc = resource_scopes_check(r->scopes, why)) != 0 ||
	    (rc = name_check(r->name, why)) != 0)
		return rc;
	r->updated_at = now;
	return store_resource_update(db, r);
}

int
resource_get(struct db *db, const char *uri, struct store_resource *out)
{
	memset(out, 0, sizeof(*out));
	/* A string that could never be registered is not looked up. */
	if (resource_uri_check(uri, NULL) != 0)
		return PC_ERR_NOT_FOUND;
	return store_resource_get(db, uri, out);
}

int
resource_for_client(
    struct db *db, const char *client_id, struct store_resource *out)
{
	memset(out, 0, sizeof(*out));
	if (client_id == NULL)
		return PC_ERR_NOT_FOUND;
	return store_resource_get_by_client(db, client_id, out);
}

int
resource_list(struct db *db, struct store_resource **out, size_t *n)
{
	return store_resources_list(db, out, n);
}

int
resource_delete(struct db *db, const char *uri)
{
	if (resource_uri_check(uri, NULL) != 0)
		return PC_ERR_NOT_FOUND;
	return store_resource_delete(db, uri);
}

/* RFC 9728 3: the well-known path suffix of protected resource metadata. */
#define PRM_WELL_KNOWN "/.well-known/oauth-protected-resource"

char *
resource_metadata_url(const char *uri)
{
	const char *host = strstr(uri, "://"), *path;
	size_t head, n;
	char *out;

	if (host == NULL)
		return NULL;
	path = strchr(host + 3, '/');
	head = path != NULL ? (size_t)(path - uri) : strlen(uri);
	/* RFC 9728 3.1: a "/" that only ends the host goes; a path stays
	 * as it is, after the suffix. */
	if (path != NULL && path[1] == '\0')
		path = NULL;
	n = head + sizeof(PRM_WELL_KNOWN) + (path != NULL ? strlen(path) : 0);
	out = xmalloc(n);
	snprintf(out, n, "%.*s" PRM_WELL_KNOWN "%s", (int)head, uri,
	    path != NULL ? path : "");
	return out;
}

json_t *
resource_metadata(const struct store_resource *r, const char *issuer)
{
	struct scope_set s;
	json_t *scopes = json_array(), *d;

	if (scope_parse(r->scopes, &s) == 0) {
		for (size_t i = 0; i < s.n; i++)
			json_array_append_new(scopes, json_string(s.v[i]));
		scope_set_free(&s);
	}
	/* SECURITY.md CR-06: the resource exactly as registered (the aud
	 * of its tokens) and us as its only authorization server. Bearer
	 * tokens travel in the Authorization header only (RFC 6750 2.1):
	 * a token in a query or a form body ends up in logs. */
	d = json_pack("{s:s, s:[s], s:o, s:[s], s:s}", "resource", r->id,
	    "authorization_servers", issuer, "scopes_supported", scopes,
	    "bearer_methods_supported", "header", "resource_name", r->name);
	/* RFC 9728 2: absent means false. */
	if (d != NULL && r->dpop_required)
		json_object_set_new(
		    d, "dpop_bound_access_tokens_required", json_true());
	return d;
}
