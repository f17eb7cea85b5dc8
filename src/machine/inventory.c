/*
 * The inventory (issue 14, item 7; decision 0057): every human and machine
 * principal with each credential that obtains tokens for it, its age,
 * expiry and last use, the scopes it may get and those it used, and flags
 * for what needs action. Derived at the moment it runs from the tables
 * that hold the credentials and from the audit log; nothing of it is
 * stored, so it cannot drift from the truth.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "machine/machine.h"
#include "oauth/proto.h"
#include "store/store.h"

#define DAY 86400

static const char *const flag_names[INVENTORY_FLAG_COUNT] = {
	"unused",
	"expiring",
	"expired",
	"disabled",
	"owner_disabled",
	"owner_missing",
	"no_expiry",
	"scopes_unused",
};

const char *
inventory_flag_name(unsigned bit)
{
	for (unsigned i = 0; i < INVENTORY_FLAG_COUNT; i++)
		if (bit == 1u << i)
			return flag_names[i];
	return "";
}

/* Room for one more zeroed element of size in *v (len, *cap). */
static void *
grow(void *v, size_t len, size_t *cap, size_t size)
{
	if (len == *cap) {
		*cap = *cap == 0 ? 8 : *cap * 2;
		v = xrealloc(v, *cap * size);
	}
	memset((char *)v + len * size, 0, size);
	return v;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? xstrdup(s) : NULL;
}

static struct inventory_principal *
add_principal(struct inventory *inv, const char *kind, const char *id,
    const char *name, const char *owner)
{
	struct inventory_principal *p;

	inv->v = grow(inv->v, inv->n, &inv->cap, sizeof(*inv->v));
	p = &inv->v[inv->n++];
	p->kind = kind;
	p->id = xstrdup(id);
	p->name = dup_or_null(name);
	p->owner = dup_or_null(owner);
	return p;
}

static struct inventory_credential *
add_credential(struct inventory_principal *p, const char *kind, const char *id,
    const char *label, const char *scopes, const char *resource)
{
	struct inventory_credential *c;

	p->creds = grow(p->creds, p->n_creds, &p->cap_creds, sizeof(*p->creds));
	c = &p->creds[p->n_creds++];
	c->kind = kind;
	c->id = xstrdup(id);
	c->label = dup_or_null(label);
	c->owner = xstrdup(p->id);
	c->scopes = dup_or_null(scopes);
	c->resource = dup_or_null(resource);
	return c;
}

static struct inventory_principal *
find(struct inventory *inv, const char *id)
{
	for (size_t i = 0; i < inv->n; i++)
		if (strcmp(inv->v[i].id, id) == 0)
			return &inv->v[i];
	return NULL;
}

/*
 * The principal a credential belongs to: the one listed, or, when its
 * owner is not stored (gone), one added as missing, so that the
 * credential is still reported (and flagged).
 */
static struct inventory_principal *
holder(struct inventory *inv, const char *id)
{
	struct inventory_principal *p = find(inv, id);
	const char *kind;

	if (p != NULL)
		return p;
	switch (principal_kind(id)) {
	case PRINCIPAL_USER: kind = "user"; break;
	case PRINCIPAL_SERVICE_ACCOUNT: kind = "service_account"; break;
	case PRINCIPAL_CLIENT: kind = "client"; break;
	default: kind = "unknown"; break;
	}
	p = add_principal(inv, kind, id, NULL, NULL);
	p->missing = true;
	return p;
}

/* --- sources ---------------------------------------------------------- */

/* Users, each with its password (its last use: the newest sign-in). */
static int
add_users(struct db *db, struct inventory *inv)
{
	struct store_user *v = NULL;
	struct store_password_info *pw = NULL;
	size_t n = 0, npw = 0;
	int r;

	if ((r = store_users_list(db, &v, &n)) != 0)
		return r;
	if ((r = store_password_infos(db, &pw, &npw)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct inventory_principal *p =
		    add_principal(inv, "user", v[i].id, v[i].email, NULL);

		p->created_at = v[i].created_at;
		p->disabled_at = v[i].disabled_at;
		for (size_t j = 0; j < npw; j++) {
			struct inventory_credential *c;
			int64_t ms = 0;

			if (strcmp(pw[j].user_id, v[i].id) != 0)
				continue;
			c = add_credential(
			    p, "password", v[i].id, NULL, NULL, NULL);
			c->created_at = pw[j].created_at;
			if ((r = store_audit_actor_last(
				 db, v[i].id, NULL, "login", &ms)) != 0)
				goto out;
			c->last_used_at = ms / 1000;
		}
	}
out:
	store_users_free(v, n);
	free(pw);
	return r;
}

/* One client's credentials: each live secret, its key set, or none. */
static int
add_client_creds(struct db *db, struct inventory_principal *p,
    const struct store_client *cl, int64_t now)
{
	struct store_client_secret sec[STORE_CLIENT_SECRETS_MAX];
	size_t ns = 0;
	int r;

	if (cl->is_public) {
		add_credential(p, "public_client", cl->client_id, cl->name,
		    cl->scopes, NULL)
		    ->created_at = cl->created_at;
		return 0;
	}
	if (cl->jwks != NULL) {
		/* private_key_jwt: the registered public keys; the key set
		 * changes with `client update`. */
		add_credential(p, "private_key_jwt", cl->client_id, cl->name,
		    cl->scopes, NULL)
		    ->created_at = cl->updated_at;
		return 0;
	}
	if ((r = store_client_secrets_get(db, cl->client_id, now, sec, &ns)) !=
	    0)
		return r;
	for (size_t i = 0; i < ns; i++) {
		struct inventory_credential *c = add_credential(p,
		    "client_secret", cl->client_id, cl->name, cl->scopes, NULL);

		c->created_at = sec[i].created_at;
		c->expires_at = sec[i].expires_at;
		/* No grant type: a resource server's client, which only
		 * introspects (unaudited, per request). */
		c->use_untracked =
		    cl->grant_types == NULL || cl->grant_types[0] == '\0';
	}
	return 0;
}

/* Service accounts (before the clients, which may be bound to one). */
static int
add_service_accounts(struct db *db, struct inventory *inv)
{
	struct store_service_account *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store_service_accounts_list(db, &v, &n)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct inventory_principal *p = add_principal(
		    inv, "service_account", v[i].id, v[i].name, v[i].owner_id);

		p->created_at = v[i].created_at;
		p->expires_at = v[i].expires_at;
		p->disabled_at = v[i].disabled_at;
	}
	store_service_accounts_free(v, n);
	return 0;
}

/* Clients: one bound to a service account is that account's credential
 * (AK-08); any other acts for itself and is a principal of its own. */
static int
add_clients(struct db *db, struct inventory *inv)
{
	struct store_client *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store_clients_list(db, &v, &n)) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *sa = v[i].service_account_id;
		struct inventory_principal *p;

		if (sa != NULL) {
			p = holder(inv, sa);
		} else {
			p = add_principal(
			    inv, "client", v[i].client_id, v[i].name, NULL);
			p->created_at = v[i].created_at;
		}
		r = add_client_creds(db, p, &v[i], inv->now);
	}
	store_clients_free(v, n);
	return r;
}

/*
 * API keys: each live key is a credential of its owner, a service account
 * or a person (a personal key). A revoked key is dead for good and not
 * listed; an expired one is, flagged, until it is removed.
 */
static int
add_api_keys(struct db *db, struct inventory *inv)
{
	struct store_api_key *v = NULL;
	size_t n = 0;
	int r;

	if ((r = apikey_list(db, NULL, &v, &n)) != 0)
		return r;
	/* The store lists newest first; the report, oldest first. */
	for (size_t i = n; i-- > 0;) {
		struct inventory_credential *c;
		char id[APIKEY_PUBLIC_ID_LEN + 1];

		if (v[i].revoked_at != 0)
			continue;
		apikey_public_id(v[i].key_id, id);
		c = add_credential(holder(inv, v[i].owner_id), "api_key", id,
		    v[i].name, v[i].scopes, v[i].resource_id);
		c->created_at = v[i].created_at;
		c->expires_at = v[i].expires_at;
		c->last_used_at = v[i].last_used_at;
	}
	store_api_keys_free(v, n);
	return 0;
}

/*
 * Workload trusts: each rule of a trust lets the issuer's workloads get
 * tokens for one service account, so each is a credential of that
 * account (no stored secret: no expiry to flag). Its id is the trust's,
 * the actor of the tokens it mints.
 */
static int
add_workloads(struct db *db, struct inventory *inv)
{
	struct store_wif_trust *v = NULL;
	size_t n = 0;
	int r;

	if ((r = store_wif_trusts_list(db, &v, &n)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < v[i].n_rules; j++) {
			const struct store_wif_rule *rule = &v[i].rules[j];
			struct inventory_credential *c;
			struct buf label;

			buf_init(&label, 4096);
			if (buf_printf(&label, "%s rule %lld: sub %s",
				v[i].issuer, (long long)rule->rule_no,
				rule->sub_pattern) != 0)
				buf_reset(&label); /* too long: no label */
			c = add_credential(
			    holder(inv, rule->service_account_id), "workload",
			    v[i].trust_id, buf_cstr(&label), rule->scopes,
			    NULL);
			c->created_at = rule->created_at;
			buf_free(&label);
		}
	}
	store_wif_trusts_free(v, n);
	return 0;
}

/* --- use, from the audit log -------------------------------------------- */

struct scope_use {
	struct scope_set allowed;
	bool used[SCOPE_MAX];
	struct scope_set seen; /* every scope seen, allowed or not */
	size_t rows;	       /* token.issue rows with a scope */
};

static void
note_scope(struct scope_use *u, const char *tok)
{
	for (size_t i = 0; i < u->allowed.n; i++)
		if (strcmp(u->allowed.v[i], tok) == 0)
			u->used[i] = true;
	if (!scope_has(&u->seen, tok) && u->seen.n < SCOPE_MAX)
		u->seen.v[u->seen.n++] = xstrdup(tok);
}

/* One token.issue row's details: its "scope", if it recorded one. */
static int
scope_row(void *arg, const char *details)
{
	struct scope_use *u = arg;
	json_t *d = json_loads(details, 0, NULL);
	const char *scope = json_string_value(json_object_get(d, "scope"));
	struct scope_set s;

	if (scope != NULL && scope_parse(scope, &s) == 0) {
		u->rows++;
		for (size_t i = 0; i < s.n; i++)
			note_scope(u, s.v[i]);
		scope_set_free(&s);
	}
	json_decref(d);
	return 0;
}

static char *
scopes_text(const struct scope_set *s)
{
	struct buf b;

	if (s->n == 0)
		return NULL;
	buf_init(&b, SCOPE_STRING_MAX * 2);
	if (scope_format(s, &b) != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* Last use (where the credential's own table keeps none) and the scopes
 * its tokens carried over the window. */
static int
credential_use(struct db *db, struct inventory_credential *c, int64_t now)
{
	const char *target = NULL;
	struct scope_use u;
	int64_t ms = 0;
	int r;

	if (strcmp(c->kind, "password") == 0)
		return 0; /* sign-ins, read with the user */
	/* A trust mints for several accounts: its rows for this one. */
	if (strcmp(c->kind, "workload") == 0)
		target = c->owner;
	if (c->last_used_at == 0) {
		if ((r = store_audit_actor_last(
			 db, c->id, target, "token.issue", &ms)) != 0)
			return r;
		c->last_used_at = ms / 1000;
	}
	memset(&u, 0, sizeof(u));
	if (c->scopes != NULL && scope_parse(c->scopes, &u.allowed) != 0)
		memset(&u.allowed, 0, sizeof(u.allowed));
	r = store_audit_actor_details(db, c->id, target, "token.issue",
	    (now - INVENTORY_SCOPE_DAYS * DAY) * 1000, scope_row, &u);
	if (r == 0 && u.rows > 0) {
		struct scope_set unused = { .n = 0 };

		c->used_scopes = scopes_text(&u.seen);
		for (size_t i = 0; i < u.allowed.n; i++)
			if (!u.used[i])
				unused.v[unused.n++] = u.allowed.v[i];
		if (unused.n > 0) {
			c->unused_scopes = scopes_text(&unused);
			c->flags |= INVENTORY_SCOPES_UNUSED;
		}
	}
	scope_set_free(&u.allowed);
	scope_set_free(&u.seen);
	return r;
}

/* --- flags -------------------------------------------------------------- */

static unsigned
expiry_flags(int64_t expires_at, int64_t now)
{
	if (expires_at == 0)
		return 0;
	if (expires_at <= now)
		return INVENTORY_EXPIRED;
	return expires_at - now <= INVENTORY_EXPIRING_DAYS * DAY
	    ? INVENTORY_EXPIRING
	    : 0;
}

/* Whether the principal id (an owner) can act: exists, not disabled, not
 * expired. A group owner is not in the list: it cannot be disabled. */
static unsigned
owner_flags(struct inventory *inv, const char *owner)
{
	struct inventory_principal *o;

	if (owner == NULL || principal_kind(owner) == PRINCIPAL_GROUP)
		return 0;
	if ((o = find(inv, owner)) == NULL)
		return INVENTORY_OWNER_MISSING;
	if (o->disabled_at != 0 ||
	    (o->expires_at != 0 && o->expires_at <= inv->now))
		return INVENTORY_OWNER_DISABLED;
	return 0;
}

static void
credential_flags(struct inventory *inv, struct inventory_principal *p,
    struct inventory_credential *c)
{
	int64_t now = inv->now, since = c->last_used_at;

	c->flags |= expiry_flags(c->expires_at, now);
	/* Unused: neither made nor used in the window (a new one is not). */
	if (since < c->created_at)
		since = c->created_at;
	if (!c->use_untracked && now - since >= INVENTORY_UNUSED_DAYS * DAY)
		c->flags |= INVENTORY_UNUSED;
	/* A shared secret without an end; a private key stays with its
	 * holder and a password follows the password policy. */
	if (strcmp(c->kind, "client_secret") == 0 && c->expires_at == 0)
		c->flags |= INVENTORY_NO_EXPIRY;
	/* Its owner is p, the principal it obtains tokens for. */
	if (p->missing)
		c->flags |= INVENTORY_OWNER_MISSING;
	else if (p->disabled_at != 0 ||
	    (p->expires_at != 0 && p->expires_at <= now))
		c->flags |= INVENTORY_OWNER_DISABLED;
}

static void
principal_flags(struct inventory *inv, struct inventory_principal *p)
{
	if (p->disabled_at != 0)
		p->flags |= INVENTORY_DISABLED;
	p->flags |= expiry_flags(p->expires_at, inv->now);
	p->flags |= owner_flags(inv, p->owner);
	for (size_t i = 0; i < p->n_creds; i++)
		credential_flags(inv, p, &p->creds[i]);
}

/* --- the whole ---------------------------------------------------------- */

static void
credential_free(struct inventory_credential *c)
{
	free(c->id);
	free(c->label);
	free(c->owner);
	free(c->scopes);
	free(c->resource);
	free(c->used_scopes);
	free(c->unused_scopes);
}

void
inventory_free(struct inventory *inv)
{
	for (size_t i = 0; i < inv->n; i++) {
		struct inventory_principal *p = &inv->v[i];

		for (size_t j = 0; j < p->n_creds; j++)
			credential_free(&p->creds[j]);
		free(p->creds);
		free(p->id);
		free(p->name);
		free(p->owner);
	}
	free(inv->v);
	memset(inv, 0, sizeof(*inv));
}

int
inventory_build(struct db *db, int64_t now, struct inventory *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->now = now;
	if ((r = add_users(db, out)) != 0 ||
	    (r = add_service_accounts(db, out)) != 0 ||
	    (r = add_clients(db, out)) != 0 ||
	    (r = add_api_keys(db, out)) != 0 ||
	    (r = add_workloads(db, out)) != 0)
		goto fail;
	for (size_t i = 0; i < out->n; i++)
		for (size_t j = 0; j < out->v[i].n_creds; j++)
			if ((r = credential_use(
				 db, &out->v[i].creds[j], now)) != 0)
				goto fail;
	for (size_t i = 0; i < out->n; i++)
		principal_flags(out, &out->v[i]);
	return 0;
fail:
	inventory_free(out);
	return r;
}

size_t
inventory_count(const struct inventory *inv, unsigned flag)
{
	size_t n = 0;

	for (size_t i = 0; i < inv->n; i++) {
		n += (inv->v[i].flags & flag) != 0;
		for (size_t j = 0; j < inv->v[i].n_creds; j++)
			n += (inv->v[i].creds[j].flags & flag) != 0;
	}
	return n;
}
