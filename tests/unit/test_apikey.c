/*
 * API keys, the domain (src/machine/apikey.c; AK-01, AK-03, AK-05,
 * SS-08): creation rules, verification and every way a key dies, a
 * malformed key refused before any store access, rotation, exposure.
 * A store test: it runs on PostgreSQL too and under fault injection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "machine/machine.h"
#include "oauth/proto.h"
#include "store/store.h"
#include "util/config.h"

#define T0 INT64_C(1800000000)

#include "oauth_fixture.h"

static struct config cfg;

#define API "https://api.example.com"
#define OTHER_API "https://other.example.com"

static void
add_resource(struct fixture *f, const char *id, const char *scopes)
{
	struct store_resource r = { .id = xstrdup(id),
		.scopes = xstrdup(scopes) };
	const char *why = NULL;

	assert_int_equal(resource_create(f->db, &r, T0, &why), 0);
	store_resource_clear(&r);
}

/* The OAuth fixture with two registered resources. */
static int
setup_res(void **state)
{
	struct fixture *f;

	if (setup(state) != 0)
		return -1;
	f = *state;
	add_resource(f, API, "orders:read orders:write a");
	add_resource(f, OTHER_API, "billing:read");
	return 0;
}

static int
setup_all(void **state)
{
	(void)state;
	config_defaults(&cfg);
	return 0;
}

static int
teardown_all(void **state)
{
	(void)state;
	config_free(&cfg);
	return 0;
}

/* A key for alice; key gets the whole key. */
static void
make(struct fixture *f, const char *scopes, int64_t ttl,
    char key[APIKEY_MAX_LEN + 1], struct store_api_key *k)
{
	struct apikey_request rq = { .owner_id = f->alice.id,
		.scopes = scopes,
		.name = "laptop",
		.ttl = ttl };
	const char *why = NULL;

	assert_int_equal(apikey_create(f->db, &cfg, &rq, T0, k, key, &why), 0);
	assert_null(why);
}

static int
verify(struct fixture *f, const char *key, int64_t now,
    enum apikey_refusal *refusal)
{
	struct store_api_key k;
	struct apikey_use use;
	int r = apikey_verify(
	    f->db, &cfg, key, strlen(key), "192.0.2.7", now, &k, &use);

	*refusal = use.refusal;
	store_api_key_clear(&k);
	return r;
}

/* AK-01: only the hash of the secret is stored; the key works. */
static void
test_apikey_AK01_create_stores_hash_only(void **state)
{
	struct fixture *f = *state;
	struct store_api_key k, g;
	struct apikey_parts p;
	char key[APIKEY_MAX_LEN + 1], h[PC_SHA256_HEX_LEN + 1];
	enum apikey_refusal why;

	make(f, "orders:read", 0, key, &k);
	assert_memory_equal(key, "pck_usr_", 8);
	assert_int_equal(k.expires_at, T0 + cfg.api_key_default_ttl);
	assert_int_equal(apikey_parse(key, strlen(key), &p), 0);
	assert_string_equal(p.key_id, k.key_id);
	assert_int_equal(store_api_key_get(f->db, k.key_id, &g), 0);
	apikey_secret_hash(p.secret, h);
	assert_string_equal(g.secret_hash, h);
	/* Nothing stored holds the secret itself. */
	assert_null(strstr(g.secret_hash, p.secret));
	assert_null(strstr(g.name, p.secret));
	apikey_parts_wipe(&p);
	store_api_key_clear(&g);
	assert_int_equal(verify(f, key, T0 + 1, &why), 0);
	assert_int_equal(why, APIKEY_OK);
	store_api_key_clear(&k);
}

/* AK-05: every key expires, at most api_key_max_ttl from now. */
static void
test_apikey_AK05_creation_rules(void **state)
{
	struct fixture *f = *state;
	struct store_api_key k;
	char key[APIKEY_MAX_LEN + 1];
	const char *why = NULL;
	struct apikey_request rq = { .owner_id = f->alice.id,
		.scopes = "orders:read" };

	rq.ttl = cfg.api_key_max_ttl + 1;
	assert_int_equal(
	    apikey_create(f->db, &cfg, &rq, T0, &k, key, &why), PC_ERR_INVALID);
	assert_non_null(why);
	assert_string_equal(key, "");
	rq.ttl = cfg.api_key_max_ttl;
	assert_int_equal(apikey_create(f->db, &cfg, &rq, T0, &k, key, &why), 0);
	assert_int_equal(k.expires_at, T0 + cfg.api_key_max_ttl);
	store_api_key_clear(&k);
	/* No scope, identity scopes, a malformed list. */
	rq.ttl = 0;
	rq.scopes = "";
	assert_int_equal(
	    apikey_create(f->db, &cfg, &rq, T0, &k, key, &why), PC_ERR_INVALID);
	rq.scopes = "openid orders:read";
	assert_int_equal(
	    apikey_create(f->db, &cfg, &rq, T0, &k, key, &why), PC_ERR_INVALID);
	rq.scopes = "a  b";
	assert_int_equal(
	    apikey_create(f->db, &cfg, &rq, T0, &k, key, &why), PC_ERR_INVALID);
	/* An owner that does not exist, or is not a person or machine. */
	rq.scopes = "orders:read";
	rq.owner_id = "usr_AAAAAAAAAAAAAAAAAAAAAA";
	assert_int_equal(
	    apikey_create(f->db, &cfg, &rq, T0, &k, key, &why), PC_ERR_INVALID);
	rq.owner_id = "pcc_app";
	assert_int_equal(
	    apikey_create(f->db, &cfg, &rq, T0, &k, key, &why), PC_ERR_INVALID);
	/* SS-08: a disabled owner gets no new key. */
	rq.owner_id = f->alice.id;
	assert_int_equal(user_disable(f->db, f->alice.id, T0), 0);
	assert_int_equal(
	    apikey_create(f->db, &cfg, &rq, T0, &k, key, &why), PC_ERR_INVALID);
}

/*
 * AK-03: a malformed or checksum-failing key is refused before any store
 * access. Proof without timing: with the api_keys table gone, any read
 * of it fails (PC_ERR_STORE); a malformed key still gets the plain
 * refusal, while a well-formed one reaches the store and gets its error.
 */
static void
test_apikey_AK03_malformed_before_store(void **state)
{
	struct fixture *f = *state;
	struct store_api_key k;
	struct apikey_parts p;
	char key[APIKEY_MAX_LEN + 1], bad[APIKEY_MAX_LEN + 1];
	enum apikey_refusal why;
	struct db_conn *c;

	assert_int_equal(apikey_generate(APIKEY_SA, &p, key), 0);
	memcpy(bad, key, sizeof(bad));
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'a' ? 'b' : 'a';
	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(db_exec(c, "DROP TABLE api_keys"), 0);
	assert_int_equal(verify(f, bad, T0, &why), PC_ERR_VERIFY);
	assert_int_equal(why, APIKEY_MALFORMED);
	assert_int_equal(verify(f, "pck_sa_short", T0, &why), PC_ERR_VERIFY);
	assert_int_equal(verify(f, "", T0, &why), PC_ERR_VERIFY);
	/* The control's witness: a well-formed key does reach the store. */
	assert_int_equal(verify(f, key, T0, &why), PC_ERR_STORE);
	(void)k;
}

/* AK-03, AK-05, SS-08: every way a key dies, each the same refusal. */
static void
test_apikey_AK05_refusals(void **state)
{
	struct fixture *f = *state;
	struct store_api_key k, k2;
	struct apikey_parts p;
	char key[APIKEY_MAX_LEN + 1], key2[APIKEY_MAX_LEN + 1];
	char other[APIKEY_MAX_LEN + 1], id[APIKEY_PUBLIC_ID_LEN + 1];
	enum apikey_refusal why;
	bool changed;

	make(f, "orders:read", 3600, key, &k);
	make(f, "orders:read", 0, key2, &k2);
	/* The right key id with another secret (a valid checksum). */
	assert_int_equal(apikey_parse(key, strlen(key), &p), 0);
	memset(p.secret, 'Q', APIKEY_SECRET_CHARS);
	assert_int_equal(apikey_format(&p, other), 0);
	assert_int_equal(verify(f, other, T0, &why), PC_ERR_VERIFY);
	assert_int_equal(why, APIKEY_UNKNOWN);
	/* The right secret under the other type tag. */
	assert_int_equal(apikey_parse(key, strlen(key), &p), 0);
	p.kind = APIKEY_SA;
	assert_int_equal(apikey_format(&p, other), 0);
	apikey_parts_wipe(&p);
	assert_int_equal(verify(f, other, T0, &why), PC_ERR_VERIFY);
	assert_int_equal(why, APIKEY_UNKNOWN);
	/* Expired: at expires_at exactly. */
	assert_int_equal(verify(f, key, T0 + 3599, &why), 0);
	assert_int_equal(verify(f, key, T0 + 3600, &why), PC_ERR_VERIFY);
	assert_int_equal(why, APIKEY_EXPIRED);
	/* Revoked: at the next request. */
	apikey_public_id(k2.key_id, id);
	assert_int_equal(verify(f, key2, T0 + 1, &why), 0);
	assert_int_equal(apikey_live(f->db, id, T0 + 1), 0);
	assert_int_equal(
	    apikey_revoke(f->db, id, T0 + 2, "operator", &changed), 0);
	assert_true(changed);
	assert_int_equal(verify(f, key2, T0 + 3, &why), PC_ERR_VERIFY);
	assert_int_equal(why, APIKEY_REVOKED);
	assert_int_equal(apikey_live(f->db, id, T0 + 3), PC_ERR_VERIFY);
	store_api_key_clear(&k2);
	/* SS-08: the owner disabled, the key dies at once. */
	make(f, "orders:read", 0, key2, &k2);
	apikey_public_id(k2.key_id, id);
	assert_int_equal(verify(f, key2, T0 + 1, &why), 0);
	assert_int_equal(user_disable(f->db, f->alice.id, T0 + 2), 0);
	assert_int_equal(verify(f, key2, T0 + 3, &why), PC_ERR_VERIFY);
	/* Revoked with the disable, not merely paused (SS-08). */
	assert_int_equal(why, APIKEY_REVOKED);
	assert_int_equal(apikey_live(f->db, id, T0 + 3), PC_ERR_VERIFY);
	assert_int_equal(
	    apikey_live(f->db, "key_0000000000000000", T0), PC_ERR_VERIFY);
	store_api_key_clear(&k);
	store_api_key_clear(&k2);
}

/* last_used_at at most once per interval; audit on a day's first use. */
static void
test_apikey_use_recorded_sparingly(void **state)
{
	struct fixture *f = *state;
	struct store_api_key k, g;
	struct apikey_use use;
	char key[APIKEY_MAX_LEN + 1];
	int64_t day2 = (T0 / 86400 + 1) * 86400;

	make(f, "orders:read", 0, key, &k);
	assert_int_equal(apikey_verify(f->db, &cfg, key, strlen(key),
			     "192.0.2.1", T0, &g, &use),
	    0);
	assert_true(use.audit_use);
	store_api_key_clear(&g);
	assert_int_equal(apikey_verify(f->db, &cfg, key, strlen(key),
			     "192.0.2.2", T0 + 10, &g, &use),
	    0);
	assert_false(use.audit_use);
	store_api_key_clear(&g);
	assert_int_equal(store_api_key_get(f->db, k.key_id, &g), 0);
	assert_int_equal(g.last_used_at, T0);
	assert_string_equal(g.last_used_ip, "192.0.2.1");
	store_api_key_clear(&g);
	/* Past the interval, same day: recorded, not audited again. */
	assert_int_equal(
	    apikey_verify(f->db, &cfg, key, strlen(key), "192.0.2.3",
		T0 + cfg.api_key_use_interval, &g, &use),
	    0);
	assert_false(use.audit_use);
	store_api_key_clear(&g);
	assert_int_equal(store_api_key_get(f->db, k.key_id, &g), 0);
	assert_string_equal(g.last_used_ip, "192.0.2.3");
	store_api_key_clear(&g);
	/* The next UTC day: audited again. */
	assert_int_equal(apikey_verify(f->db, &cfg, key, strlen(key),
			     "192.0.2.3", day2, &g, &use),
	    0);
	assert_true(use.audit_use);
	store_api_key_clear(&g);
	store_api_key_clear(&k);
}

/* AK-05: overlapping rotation. */
static void
test_apikey_AK05_rotate_overlap(void **state)
{
	struct fixture *f = *state;
	struct store_api_key k, s, g;
	char key[APIKEY_MAX_LEN + 1], succ[APIKEY_MAX_LEN + 1];
	char id[APIKEY_PUBLIC_ID_LEN + 1];
	enum apikey_refusal why;
	const char *w = NULL;

	make(f, "orders:read orders:write", 30 * 86400, key, &k);
	apikey_public_id(k.key_id, id);
	assert_int_equal(
	    apikey_rotate(f->db, &cfg, id, 600, T0 + 100, &s, succ, &w), 0);
	assert_string_equal(s.owner_id, f->alice.id);
	assert_string_equal(s.scopes, "orders:read orders:write");
	assert_int_equal(s.expires_at, T0 + 100 + 30 * 86400);
	/* Both work during the overlap; the old one stops after it. */
	assert_int_equal(verify(f, key, T0 + 699, &why), 0);
	assert_int_equal(verify(f, succ, T0 + 699, &why), 0);
	assert_int_equal(verify(f, key, T0 + 700, &why), PC_ERR_VERIFY);
	assert_int_equal(why, APIKEY_EXPIRED);
	assert_int_equal(store_api_key_get(f->db, k.key_id, &g), 0);
	assert_string_equal(g.replaced_by, s.key_id);
	store_api_key_clear(&g);
	/* A rotated key is not rotated twice. */
	assert_int_equal(
	    apikey_rotate(f->db, &cfg, id, 600, T0 + 200, &g, key, &w),
	    PC_ERR_NOT_FOUND);
	/* The default overlap, never past the key's own expiry. */
	apikey_public_id(s.key_id, id);
	assert_int_equal(
	    apikey_rotate(f->db, &cfg, id, -1, s.expires_at - 60, &g, key, &w),
	    0);
	store_api_key_clear(&g);
	assert_int_equal(store_api_key_get(f->db, s.key_id, &g), 0);
	assert_int_equal(g.expires_at, s.expires_at);
	store_api_key_clear(&g);
	store_api_key_clear(&k);
	store_api_key_clear(&s);
}

/* AK-06 / revoke-leaked: a live key is revoked, a look-alike is not. */
static void
test_apikey_AK06_revoke_exposed(void **state)
{
	struct fixture *f = *state;
	struct store_api_key k, g;
	struct apikey_parts p;
	char key[APIKEY_MAX_LEN + 1], alike[APIKEY_MAX_LEN + 1];
	char id[APIKEY_PUBLIC_ID_LEN + 1], *owner = NULL;
	enum apikey_exposure found;

	make(f, "orders:read", 0, key, &k);
	/* Same key id, a secret that is not the key's: nothing happens. */
	assert_int_equal(apikey_parse(key, strlen(key), &p), 0);
	p.secret[0] = p.secret[0] == 'A' ? 'B' : 'A';
	assert_int_equal(apikey_format(&p, alike), 0);
	apikey_parts_wipe(&p);
	assert_int_equal(apikey_revoke_exposed(f->db, alike, strlen(alike), T0,
			     "url", id, &found, &owner),
	    0);
	assert_int_equal(found, APIKEY_EXPOSED_UNKNOWN);
	assert_null(owner);
	assert_int_equal(store_api_key_get(f->db, k.key_id, &g), 0);
	assert_int_equal(g.revoked_at, 0);
	store_api_key_clear(&g);
	/* Not a key at all: no id. */
	assert_int_equal(apikey_revoke_exposed(
			     f->db, "pck_x", 5, T0, "url", id, &found, NULL),
	    0);
	assert_string_equal(id, "");
	assert_int_equal(found, APIKEY_EXPOSED_NOT_A_KEY);
	/* The key itself. */
	assert_int_equal(apikey_revoke_exposed(f->db, key, strlen(key), T0 + 1,
			     "url", id, &found, &owner),
	    0);
	assert_int_equal(found, APIKEY_EXPOSED_REVOKED);
	assert_string_equal(owner, f->alice.id);
	free(owner);
	/* Seen again: ours, revoked before; the first reason stays. */
	assert_int_equal(apikey_revoke_exposed(f->db, key, strlen(key), T0 + 2,
			     "leaked", id, &found, NULL),
	    0);
	assert_int_equal(found, APIKEY_EXPOSED_ALREADY);
	assert_memory_equal(id + 4, k.key_id, APIKEY_ID_CHARS);
	assert_int_equal(store_api_key_get(f->db, k.key_id, &g), 0);
	assert_int_equal(g.revoked_at, T0 + 1);
	assert_string_equal(g.revoke_reason, "url");
	store_api_key_clear(&g);
	store_api_key_clear(&k);
}

static bool
has_all(const struct scope_set *s, const char *const *want, size_t n)
{
	if (s->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!scope_has(s, want[i]))
			return false;
	return true;
}

/* AK-04: what a key may hold at creation, and use at each resource. */
static void
test_apikey_AK04_scopes_and_resources(void **state)
{
	struct fixture *f = *state;
	struct apikey_request rq = { .owner_id = f->alice.id };
	struct store_api_key k;
	struct scope_set s;
	char key[APIKEY_MAX_LEN + 1];
	const char *w = NULL;
	static const char *const orders[] = { "orders:read" };
	static const char *const billing[] = { "billing:read" };

	/* Personal, no resource: each scope offered by some resource. */
	rq.scopes = "orders:read billing:write";
	assert_int_equal(
	    apikey_create(f->db, &cfg, &rq, T0, &k, key, &w), PC_ERR_INVALID);
	/* With a resource: a registered one, and its scopes only. */
	rq.scopes = "billing:read";
	rq.resource_id = API;
	assert_int_equal(
	    apikey_create(f->db, &cfg, &rq, T0, &k, key, &w), PC_ERR_INVALID);
	rq.resource_id = "https://nope.example";
	assert_int_equal(
	    apikey_create(f->db, &cfg, &rq, T0, &k, key, &w), PC_ERR_INVALID);
	/* A key for both resources' scopes uses each one's at each. */
	rq.resource_id = NULL;
	rq.scopes = "orders:read billing:read";
	assert_int_equal(apikey_create(f->db, &cfg, &rq, T0, &k, key, &w), 0);
	assert_int_equal(apikey_usable_scopes(
			     f->db, &k, API, "orders:read orders:write a", &s),
	    0);
	assert_true(has_all(&s, orders, 1));
	scope_set_free(&s);
	assert_int_equal(
	    apikey_usable_scopes(f->db, &k, OTHER_API, "billing:read", &s), 0);
	assert_true(has_all(&s, billing, 1));
	scope_set_free(&s);
	store_api_key_clear(&k);
	/* Confined to API: nothing at the other one. */
	rq.scopes = "orders:read";
	rq.resource_id = API;
	assert_int_equal(apikey_create(f->db, &cfg, &rq, T0, &k, key, &w), 0);
	assert_int_equal(
	    apikey_usable_scopes(f->db, &k, OTHER_API, "billing:read", &s),
	    PC_ERR_VERIFY);
	scope_set_free(&s);
	store_api_key_clear(&k);
}

/* A service account owned by alice (or by group grp when not NULL). */
static void
sa_new(struct fixture *f, const char *scopes, const char *owner,
    struct store_service_account *out)
{
	struct sa_fields in = { .name = "ci-bot",
		.scopes = scopes,
		.owner_id = owner != NULL ? owner : f->alice.id };
	const char *why = NULL;

	assert_int_equal(service_account_create(f->db, &in, T0, out, &why), 0);
}

/*
 * AK-04: a service account's key holds only scopes the account may have
 * (its own and its groups'); SS-08: disabling or deleting the account
 * kills its keys at once, and deleting it revokes their rows.
 */
static void
test_apikey_AK04_SS08_service_account_keys(void **state)
{
	struct fixture *f = *state;
	struct store_service_account sa;
	struct store_group g;
	struct store_api_key k, got;
	struct apikey_request rq = { .scopes = "orders:read" };
	char key[APIKEY_MAX_LEN + 1], id[APIKEY_PUBLIC_ID_LEN + 1];
	enum apikey_refusal why;
	const char *w = NULL;
	char **clients = NULL;
	size_t n = 0;

	sa_new(f, "orders:read", NULL, &sa);
	rq.owner_id = sa.id;
	assert_int_equal(apikey_create(f->db, &cfg, &rq, T0, &k, key, &w), 0);
	assert_memory_equal(key, "pck_sa_", 7);
	assert_string_equal(k.kind, "sa");
	apikey_public_id(k.key_id, id);
	store_api_key_clear(&k);
	/* More than the account holds: refused... */
	rq.scopes = "orders:read orders:write";
	assert_int_equal(
	    apikey_create(f->db, &cfg, &rq, T0, &k, key, &w), PC_ERR_INVALID);
	assert_non_null(w);
	/* ...until a group of the account grants it. */
	assert_int_equal(
	    group_create(f->db, "writers", NULL, "orders:write", T0, &g, &w),
	    0);
	assert_int_equal(group_member_add(f->db, g.id, sa.id, T0, NULL, &w), 0);
	assert_int_equal(apikey_create(f->db, &cfg, &rq, T0, &k, key, &w), 0);
	{
		/* The group gone, the key no longer carries its scope. */
		struct scope_set s;
		static const char *const r1[] = { "orders:read" };
		static const char *const r2[] = { "orders:read",
			"orders:write" };

		assert_int_equal(apikey_usable_scopes(f->db, &k, API,
				     "orders:read orders:write a", &s),
		    0);
		assert_true(has_all(&s, r2, 2));
		scope_set_free(&s);
		assert_int_equal(group_member_remove(f->db, g.id, sa.id), 0);
		assert_int_equal(apikey_usable_scopes(f->db, &k, API,
				     "orders:read orders:write a", &s),
		    0);
		assert_true(has_all(&s, r1, 1));
		scope_set_free(&s);
	}
	store_api_key_clear(&k);
	store_group_clear(&g);
	/* Disabled: every key of it is dead at the next request. */
	assert_int_equal(verify(f, key, T0 + 1, &why), 0);
	assert_int_equal(machine_principal_live(f->db, sa.id, id, T0 + 1), 0);
	assert_int_equal(
	    service_account_set_disabled(f->db, sa.id, true, T0 + 2), 0);
	assert_int_equal(verify(f, key, T0 + 3, &why), PC_ERR_VERIFY);
	/* Revoked with the disable, not merely paused (SS-08). */
	assert_int_equal(why, APIKEY_REVOKED);
	assert_int_equal(
	    machine_principal_live(f->db, sa.id, id, T0 + 3), PC_ERR_VERIFY);
	assert_int_equal(apikey_create(f->db, &cfg, &rq, T0 + 3, &k, key, &w),
	    PC_ERR_INVALID);
	/* The disable revoked the key's row (re-enabling must not revive
	 * it); a delete later leaves that first revocation as it was. */
	assert_int_equal(apikey_get(f->db, id, &got), 0);
	assert_int_equal(got.revoked_at, T0 + 2);
	assert_string_equal(got.revoke_reason, "owner disabled");
	store_api_key_clear(&got);
	assert_int_equal(
	    service_account_delete(f->db, sa.id, T0 + 4, &clients, &n), 0);
	store_strv_free(clients, n);
	assert_int_equal(apikey_get(f->db, id, &got), 0);
	assert_int_equal(got.revoked_at, T0 + 2);
	store_api_key_clear(&got);
	store_service_account_clear(&sa);
}

/* Whom revoke-leaked tells: the user; an account's owning user, or every
 * user of its owning group. */
static void
test_apikey_owner_addresses(void **state)
{
	struct fixture *f = *state;
	struct store_service_account sa;
	struct store_group g;
	struct store_user bob;
	char **to = NULL;
	size_t n = 0;
	const char *w = NULL;

	assert_int_equal(
	    apikey_owner_addresses(f->db, f->alice.id, &to, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(to[0], "alice@example.com");
	apikey_addresses_free(to, n);
	sa_new(f, "a", NULL, &sa);
	assert_int_equal(apikey_owner_addresses(f->db, sa.id, &to, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(to[0], "alice@example.com");
	apikey_addresses_free(to, n);
	store_service_account_clear(&sa);
	assert_int_equal(
	    user_create(f->db, "bob@example.com", "Bob", true, &bob), 0);
	assert_int_equal(
	    group_create(f->db, "team", NULL, NULL, T0, &g, &w), 0);
	assert_int_equal(
	    group_member_add(f->db, g.id, f->alice.id, T0, NULL, &w), 0);
	assert_int_equal(
	    group_member_add(f->db, g.id, bob.id, T0, NULL, &w), 0);
	{
		struct sa_fields in = {
			.name = "team-bot", .scopes = "a", .owner_id = g.id
		};

		assert_int_equal(
		    service_account_create(f->db, &in, T0, &sa, &w), 0);
	}
	assert_int_equal(apikey_owner_addresses(f->db, sa.id, &to, &n), 0);
	assert_int_equal(n, 2);
	apikey_addresses_free(to, n);
	store_service_account_clear(&sa);
	store_group_clear(&g);
	store_user_clear(&bob);
	assert_int_equal(apikey_owner_addresses(
			     f->db, "svc_AAAAAAAAAAAAAAAAAAAAAA", &to, &n),
	    0);
	assert_int_equal(n, 0);
}

/* Issue 17 (decision 0070): a person's key holds admin: scopes only as
 * far as the person's groups grant them, when made and at every use. */
static void
test_apikey_AK04_admin_scopes_through_groups(void **state)
{
	struct fixture *f = *state;
	static const char ADMIN[] = "https://id.example/admin/v1";
	struct apikey_request rq = { .owner_id = f->alice.id,
		.scopes = "admin:users:read admin:users:write",
		.resource_id = ADMIN };
	struct store_group g;
	struct store_api_key k;
	struct scope_set s;
	char key[APIKEY_MAX_LEN + 1];
	const char *w = NULL;
	bool added = false;

	add_resource(
	    f, ADMIN, "admin:users:read admin:users:write admin:groups:read");
	assert_int_equal(
	    apikey_create(f->db, &cfg, &rq, T0, &k, key, &w), PC_ERR_INVALID);
	assert_non_null(strstr(w, "groups do not grant"));
	assert_int_equal(group_create(f->db, "user-admins", NULL,
			     "admin:users:read admin:users:write", T0, &g, &w),
	    0);
	assert_int_equal(
	    group_member_add(f->db, g.id, f->alice.id, T0, &added, &w), 0);
	assert_int_equal(apikey_create(f->db, &cfg, &rq, T0, &k, key, &w), 0);
	assert_int_equal(apikey_usable_scopes(f->db, &k, ADMIN,
			     "admin:users:read admin:users:write", &s),
	    0);
	assert_int_equal(s.n, 2);
	scope_set_free(&s);
	/* Out of the group: the key keeps its row, not its admin scopes. */
	assert_int_equal(group_member_remove(f->db, g.id, f->alice.id), 0);
	assert_int_equal(apikey_usable_scopes(f->db, &k, ADMIN,
			     "admin:users:read admin:users:write", &s),
	    0);
	assert_int_equal(s.n, 0);
	scope_set_free(&s);
	store_api_key_clear(&k);
	store_group_clear(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_apikey_AK01_create_stores_hash_only, setup_res,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_apikey_AK05_creation_rules, setup_res, teardown),
		cmocka_unit_test_setup_teardown(
		    test_apikey_AK03_malformed_before_store, setup_res,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_apikey_AK05_refusals, setup_res, teardown),
		cmocka_unit_test_setup_teardown(
		    test_apikey_use_recorded_sparingly, setup_res, teardown),
		cmocka_unit_test_setup_teardown(
		    test_apikey_AK05_rotate_overlap, setup_res, teardown),
		cmocka_unit_test_setup_teardown(
		    test_apikey_AK06_revoke_exposed, setup_res, teardown),
		cmocka_unit_test_setup_teardown(
		    test_apikey_AK04_SS08_service_account_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_apikey_owner_addresses, setup_res, teardown),
		cmocka_unit_test_setup_teardown(
		    test_apikey_AK04_scopes_and_resources, setup_res, teardown),
		cmocka_unit_test_setup_teardown(
		    test_apikey_AK04_admin_scopes_through_groups, setup_res,
		    teardown),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
