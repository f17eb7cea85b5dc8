/*
 * Service accounts (issue 14; SECURITY.md section M, SS-08): principals
 * that are not people. This is where their rules live — names, scope
 * syntax, resource URIs, an owner that exists, a bounded expiry — so that
 * the CLI and any later caller cannot store one that breaks them. A
 * service account has no password and no credentials row: it never signs
 * in on the login page; it gets tokens only through a credential bound to
 * it (a private_key_jwt or secret client, AK-08; API keys; workload
 * federation).
 */
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"
#include "oauth/proto.h"
#include "store/store.h"

bool
machine_name_valid(const char *name)
{
	size_t n;

	if (name == NULL)
		return false;
	n = strnlen(name, SA_NAME_MAX + 1);
	if (n == 0 || n > SA_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

int
machine_duration_parse(const char *s, int64_t *out)
{
	int64_t n = 0, mult = 1;
	size_t len, i;

	*out = 0;
	if (s == NULL || (len = strnlen(s, 32)) == 0 || len >= 32)
		return PC_ERR_INVALID;
	switch (s[len - 1]) {
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	case 'w': mult = 7 * 86400; break;
	default:
		if (s[len - 1] < '0' || s[len - 1] > '9')
			return PC_ERR_INVALID;
		len++; /* no unit: seconds, the last character is a digit */
	}
	len--;
	if (len == 0)
		return PC_ERR_INVALID;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || n > (INT64_MAX - 9) / 10)
			return PC_ERR_INVALID;
		n = n * 10 + (s[i] - '0');
	}
	if (n == 0 || n > INT64_MAX / mult)
		return PC_ERR_INVALID;
	*out = n * mult;
	return 0;
}

static bool
loopback_host(const char *h, size_t n)
{
	return (n == 9 && memcmp(h, "127.0.0.1", 9) == 0) ||
	    (n == 5 && memcmp(h, "[::1]", 5) == 0) ||
	    (n == 9 && memcmp(h, "localhost", 9) == 0);
}

bool
machine_resource_uri_valid(const char *uri)
{
	const char *host, *end;
	size_t n, hn;

	if (uri == NULL)
		return false;
	n = strnlen(uri, SA_RESOURCE_URI_MAX + 1);
	if (n == 0 || n > SA_RESOURCE_URI_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)uri[i];

		/* RFC 8707 2: no fragment; and no query, space, control. */
		if (c <= 0x20 || c >= 0x7f || c == '#' || c == '?' || c == '\\')
			return false;
	}
	if (strncmp(uri, "https://", 8) == 0)
		host = uri + 8;
	else if (strncmp(uri, "http://", 7) == 0)
		host = uri + 7;
	else
		return false;
	end = host + strcspn(host, "/");
	if (memchr(host, '@', (size_t)(end - host)) != NULL)
		return false;
	/* The host without its port. */
	hn = (size_t)(end - host);
	if (hn > 0 && host[0] == '[') {
		const char *rb = memchr(host, ']', hn);

		if (rb == NULL)
			return false;
		if ((size_t)(rb - host) + 1 < hn && rb[1] != ':')
			return false;
		hn = (size_t)(rb - host) + 1;
	} else {
		const char *colon = memchr(host, ':', hn);

		if (colon != NULL)
			hn = (size_t)(colon - host);
	}
	if (hn == 0)
		return false;
	return uri[4] == 's' || loopback_host(host, hn);
}

/* The scope string an account may hold: syntax, and no user scopes. */
static int
scopes_check(const char *scopes, const char **why)
{
	struct scope_set s;
	bool user;

	if (scope_parse(scopes, &s) != 0) {
		*why = "scopes are space-separated scope tokens (RFC 6749 3.3)";
		return PC_ERR_INVALID;
	}
	user = scope_has(&s, "openid") || scope_has(&s, "offline_access");
	scope_set_free(&s);
	if (user) {
		*why = "openid and offline_access need a user: not for a "
		       "service account";
		return PC_ERR_INVALID;
	}
	return 0;
}

static bool
text_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* The owner must exist now, and be a user or a group. */
static int
owner_check(struct db *db, const char *owner, const char **why)
{
	int r;

	switch (principal_kind(owner)) {
	case PRINCIPAL_USER: {
		struct store_user u;

		r = store_user_get(db, owner, &u);
		if (r == 0)
			store_user_clear(&u);
		break;
	}
	case PRINCIPAL_GROUP: {
		struct store_group g;

		r = store_group_get(db, owner, &g);
		if (r == 0)
			store_group_clear(&g);
		break;
	}
	default:
		*why =
		    "the owner must be a user (usr_...) or a group (grp_...)";
		return PC_ERR_INVALID;
	}
	if (r == PC_ERR_NOT_FOUND) {
		*why = "the owner does not exist";
		return PC_ERR_INVALID;
	}
	return r;
}

/* "a b" from the resource list, after checking each. */
static int
resources_join(const struct sa_fields *f, char **out, const char **why)
{
	struct buf b;
	int r = 0;

	*out = NULL;
	if (f->n_resources > SA_RESOURCES_MAX) {
		*why = "too many resources (at most 16)";
		return PC_ERR_INVALID;
	}
	buf_init(&b, 256);
	for (size_t i = 0; i < f->n_resources && r == 0; i++) {
		if (!machine_resource_uri_valid(f->resources[i])) {
			*why = "a resource is an absolute https URI without "
			       "query or fragment (RFC 8707)";
			r = PC_ERR_INVALID;
		} else if ((i > 0 && (r = buf_putc(&b, ' ')) != 0) ||
		    (r = buf_puts(&b, f->resources[i])) != 0)
			break;
	}
	if (r == 0)
		*out = xstrdup(b.len > 0 ? buf_cstr(&b) : "");
	buf_free(&b);
	return r;
}

static void
set(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

/* Applies and checks f on sa (a new one or the stored one). */
static int
apply(struct db *db, const struct sa_fields *f, int64_t now,
    struct store_service_account *sa, const char **why)
{
	int r;

	if (f->name != NULL) {
		if (!machine_name_valid(f->name)) {
			*why = "a name is 1-64 letters, digits, '.', '_' or "
			       "'-', starting with a letter or digit";
			return PC_ERR_INVALID;
		}
		set(&sa->name, f->name);
	}
	if (f->description != NULL) {
		if (!text_ok(f->description, SA_DESCRIPTION_MAX)) {
			*why = "a description is at most 256 bytes of text";
			return PC_ERR_INVALID;
		}
		set(&sa->description, f->description);
	}
	if (f->scopes != NULL) {
		if ((r = scopes_check(f->scopes, why)) != 0)
			return r;
		set(&sa->scopes, f->scopes);
	}
	if (f->owner_id != NULL) {
		free(sa->owner_id);
		sa->owner_id = NULL;
		if (f->owner_id[0] != '\0') {
			if ((r = owner_check(db, f->owner_id, why)) != 0)
				return r;
			sa->owner_id = xstrdup(f->owner_id);
		}
	}
	if (f->set_resources) {
		char *joined;

		if ((r = resources_join(f, &joined, why)) != 0)
			return r;
		free(sa->resources);
		sa->resources = joined;
	}
	if (f->set_expires) {
		if (f->expires_in != 0 &&
		    (f->expires_in < SA_EXPIRES_MIN ||
			f->expires_in > SA_EXPIRES_MAX)) {
			*why = "the expiry is between 1 minute and 10 years";
			return PC_ERR_INVALID;
		}
		sa->expires_at = f->expires_in != 0 ? now + f->expires_in : 0;
	}
	if (sa->name == NULL) {
		*why = "a service account needs a name";
		return PC_ERR_INVALID;
	}
	sa->updated_at = now;
	return 0;
}

int
service_account_create(struct db *db, const struct sa_fields *f, int64_t now,
    struct store_service_account *out, const char **why)
{
	char id[PRINCIPAL_ID_LEN + 1];
	int r;

	*why = NULL;
	memset(out, 0, sizeof(*out));
	if ((r = apply(db, f, now, out, why)) != 0)
		goto fail;
	if ((r = principal_id_new(PRINCIPAL_SERVICE_ACCOUNT, id)) != 0)
		goto fail;
	out->id = xstrdup(id);
	out->created_at = now;
	if (out->description == NULL)
		out->description = xstrdup("");
	if (out->scopes == NULL)
		out->scopes = xstrdup("");
	if (out->resources == NULL)
		out->resources = xstrdup("");
	if ((r = store_service_account_insert(db, out)) == 0)
		return 0;
	if (r == PC_ERR_CONFLICT)
		*why = "the name is taken";
fail:
	store_service_account_clear(out);
	return r;
}

int
service_account_update(struct db *db, const char *id, const struct sa_fields *f,
    int64_t now, struct store_service_account *out, const char **why)
{
	int r;

	*why = NULL;
	if (principal_kind(id) != PRINCIPAL_SERVICE_ACCOUNT) {
		memset(out, 0, sizeof(*out));
		return PC_ERR_NOT_FOUND;
	}
	if ((r = store_service_account_get(db, id, out)) != 0)
		return r;
	if ((r = apply(db, f, now, out, why)) != 0 ||
	    (r = store_service_account_update(db, out)) != 0) {
		if (r == PC_ERR_CONFLICT)
			*why = "the name is taken";
		store_service_account_clear(out);
	}
	return r;
}

int
service_account_set_disabled(
    struct db *db, const char *id, bool disabled, int64_t now)
{
	if (principal_kind(id) != PRINCIPAL_SERVICE_ACCOUNT)
		return PC_ERR_NOT_FOUND;
	return store_service_account_set_disabled(
	    db, id, disabled ? now : 0, now);
}

int
service_account_delete(
    struct db *db, const char *id, int64_t now, char ***clients, size_t *n)
{
	if (principal_kind(id) != PRINCIPAL_SERVICE_ACCOUNT) {
		if (clients != NULL)
			*clients = NULL;
		if (n != NULL)
			*n = 0;
		return PC_ERR_NOT_FOUND;
	}
	/* Its API keys' rows are revoked first (the keys die with the
	 * account through the liveness check anyway; the rows then say so
	 * in the inventory). A failure here deletes nothing. */
	{
		int64_t revoked = 0;
		int r = store_api_keys_revoke_owner(
		    db, id, now, "owner deleted", &revoked);

		if (r != 0) {
			if (clients != NULL)
				*clients = NULL;
			if (n != NULL)
				*n = 0;
			return r;
		}
	}
	return store_service_account_delete(db, id, now, clients, n);
}

bool
service_account_usable(const struct store_service_account *sa, int64_t now)
{
	return sa->disabled_at == 0 &&
	    (sa->expires_at == 0 || now < sa->expires_at);
}

int
service_account_scopes(struct db *db, const struct store_service_account *sa,
    struct scope_set *out)
{
	struct store_group *g = NULL;
	size_t n = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = store_groups_of(db, sa->id, &g, &n)) != 0)
		return r;
	scope_set_union(out, sa->scopes);
	for (size_t i = 0; i < n; i++)
		scope_set_union(out, g[i].scopes);
	store_groups_free(g, n);
	return 0;
}

bool
service_account_resource_allowed(
    const struct store_service_account *sa, const char *uri)
{
	const char *p = sa->resources;
	size_t n = strlen(uri);

	if (p == NULL || p[0] == '\0')
		return true;
	while (*p != '\0') {
		size_t k = strcspn(p, " ");

		if (k == n && memcmp(p, uri, n) == 0)
			return true;
		p += k;
		if (*p == ' ')
			p++;
	}
	return false;
}
