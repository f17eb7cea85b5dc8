/*
 * Unit tests for src/machine/inventory.c (issue 14, item 7): every
 * principal with its credentials, last use and scopes used from the audit
 * log, and each flag raised exactly when its condition holds: unused for
 * 30 days, expiring within 14 days, expired, owner disabled, no expiry,
 * scopes broader than used. A store test: it runs on SQLite, on
 * PostgreSQL (scripts/pg-unit.sh) and under fault injection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"
#include "machine/machine.h"
#include "store_fixture.h"
#include "store/store.h"
#include "util/log.h"

#define NOW 1764972000 /* 2025-12-05T22:00:00Z */
#define DAY 86400

struct fixture {
	char dir[64];
	struct db *db;
	uint8_t key[32];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (store_fixture_new(f->dir, true, &f->db) != 0) {
		free(f);
		return -1;
	}
	randombytes_buf(f->key, sizeof(f->key));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (store_fixture_close(f->dir, f->db) != 0)
		return -1;
	free(f);
	return 0;
}

/* A confidential client made at `at` (its secret too) with scopes. */
static void
client(struct fixture *f, const char *id, const char *scopes, int64_t at)
{
	char hash[PC_SHA256_HEX_LEN + 1];
	struct store_client c = {
		.client_id = (char *)id,
		.name = (char *)"svc",
		.auth_method = (char *)"client_secret_basic",
		.grant_types = (char *)"client_credentials",
		.scopes = (char *)scopes,
		.id_token_alg = (char *)"RS256",
		.created_at = at,
		.updated_at = at,
	};

	memset(hash, 'a', PC_SHA256_HEX_LEN);
	hash[PC_SHA256_HEX_LEN] = '\0';
	hash[0] = id[4]; /* one per client */
	assert_int_equal(store_client_insert(f->db, &c, hash), 0);
}

static void
user(struct fixture *f, const char *id, const char *email, int64_t at)
{
	struct store_user u = { .id = (char *)id,
		.email = (char *)email,
		.name = (char *)"",
		.created_at = at,
		.updated_at = at };

	assert_int_equal(store_user_insert(f->db, &u, "$argon2id$x"), 0);
}

/* An audit event at unix time `at`. */
static void
event(struct fixture *f, int64_t at, const char *name, const char *actor,
    const char *details)
{
	json_t *d = details != NULL ? json_loads(details, 0, NULL) : NULL;
	struct audit_event ev = {
		.event = name,
		.outcome = "success",
		.actor = actor,
		.details = d,
		.ts_ms = at * 1000,
	};

	assert_int_equal(audit_append(f->db, f->key, &ev), 0);
	json_decref(d);
}

/* A token.issue at unix time `at` by actor for target. */
static void
event2(struct fixture *f, int64_t at, const char *actor, const char *target,
    const char *details)
{
	json_t *d = json_loads(details, 0, NULL);
	struct audit_event ev = {
		.event = "token.issue",
		.outcome = "success",
		.actor = actor,
		.target = target,
		.details = d,
		.ts_ms = at * 1000,
	};

	assert_int_equal(audit_append(f->db, f->key, &ev), 0);
	json_decref(d);
}

static const struct inventory_principal *
principal(const struct inventory *inv, const char *id)
{
	for (size_t i = 0; i < inv->n; i++)
		if (strcmp(inv->v[i].id, id) == 0)
			return &inv->v[i];
	fail_msg("%s not in the inventory", id);
	return NULL;
}

#define C_OLD "pcc_1old"
#define C_USED "pcc_2used"
#define C_NEW "pcc_3new"
#define C_ROT "pcc_4rot"

/* Unused: neither made nor used in 30 days; a new credential is not. */
static void
test_inventory_unused_and_last_use(void **state)
{
	struct fixture *f = *state;
	struct inventory inv;
	const struct inventory_principal *p;

	client(f, C_OLD, "api.read", NOW - 40 * DAY);
	client(f, C_USED, "api.read", NOW - 40 * DAY);
	client(f, C_NEW, "api.read", NOW - 2 * DAY);
	event(f, NOW - 31 * DAY, "token.issue", C_OLD, NULL);
	event(f, NOW - 3 * DAY, "token.issue", C_USED, NULL);
	event(f, NOW - 2 * DAY, "token.issue", C_USED, NULL);
	event(f, NOW - 1 * DAY, "client.auth", C_OLD, NULL); /* not a use */
	assert_int_equal(inventory_build(f->db, NOW, &inv), 0);
	assert_int_equal(inv.n, 3);
	p = principal(&inv, C_OLD);
	assert_string_equal(p->kind, "client");
	assert_int_equal(p->n_creds, 1);
	assert_string_equal(p->creds[0].kind, "client_secret");
	assert_int_equal(p->creds[0].last_used_at, NOW - 31 * DAY);
	assert_true(p->creds[0].flags & INVENTORY_UNUSED);
	p = principal(&inv, C_USED);
	assert_int_equal(p->creds[0].last_used_at, NOW - 2 * DAY);
	assert_false(p->creds[0].flags & INVENTORY_UNUSED);
	p = principal(&inv, C_NEW);
	assert_int_equal(p->creds[0].last_used_at, 0);
	assert_false(p->creds[0].flags & INVENTORY_UNUSED);
	assert_int_equal(inventory_count(&inv, INVENTORY_UNUSED), 1);
	inventory_free(&inv);
}

/* A resource server's client only introspects, which leaves no audit
 * row: its last use is unknown, never "unused". */
static void
test_inventory_introspection_client_untracked(void **state)
{
	struct fixture *f = *state;
	struct inventory inv;
	const struct inventory_principal *p;
	struct store_client c;

	client(f, C_OLD, "api.read", NOW - 40 * DAY);
	assert_int_equal(store_client_get(f->db, C_OLD, &c), 0);
	free(c.grant_types);
	c.grant_types = xstrdup("");
	assert_int_equal(store_client_update(f->db, &c, false), 0);
	store_client_clear(&c);
	assert_int_equal(inventory_build(f->db, NOW, &inv), 0);
	p = principal(&inv, C_OLD);
	assert_true(p->creds[0].use_untracked);
	assert_int_equal(p->creds[0].flags, INVENTORY_NO_EXPIRY);
	inventory_free(&inv);
}

/* A secret that never ends is flagged; the previous secret of a rotation
 * ends, soon (expiring) or already (gone from the list). */
static void
test_inventory_expiry_flags(void **state)
{
	struct fixture *f = *state;
	struct inventory inv;
	const struct inventory_principal *p;
	char next[PC_SHA256_HEX_LEN + 1];

	client(f, C_ROT, "api.read", NOW - DAY);
	memset(next, 'b', PC_SHA256_HEX_LEN);
	next[PC_SHA256_HEX_LEN] = '\0';
	assert_int_equal(store_client_secret_rotate(
			     f->db, C_ROT, next, NOW - 10, NOW + 3 * DAY),
	    0);
	assert_int_equal(inventory_build(f->db, NOW, &inv), 0);
	p = principal(&inv, C_ROT);
	assert_int_equal(p->n_creds, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct inventory_credential *c = &p->creds[i];

		if (c->expires_at == 0) {
			assert_int_equal(c->flags, INVENTORY_NO_EXPIRY);
		} else {
			assert_int_equal(c->expires_at, NOW + 3 * DAY);
			assert_int_equal(c->flags, INVENTORY_EXPIRING);
		}
	}
	inventory_free(&inv);
	/* 20 days on: the old secret is no longer accepted or listed, and
	 * nothing has used the current one for 20 days. */
	assert_int_equal(inventory_build(f->db, NOW + 20 * DAY, &inv), 0);
	p = principal(&inv, C_ROT);
	assert_int_equal(p->n_creds, 1);
	assert_int_equal(p->creds[0].flags, INVENTORY_NO_EXPIRY);
	inventory_free(&inv);
}

/* Scopes allowed but not carried by any token of the last 30 days. */
static void
test_inventory_scopes_broader_than_used(void **state)
{
	struct fixture *f = *state;
	struct inventory inv;
	const struct inventory_principal *p;

	client(f, C_USED, "a b c d", NOW - 40 * DAY);
	client(f, C_NEW, "a b", NOW - 40 * DAY);
	client(f, C_OLD, "a b", NOW - 40 * DAY);
	event(f, NOW - 40 * DAY, "token.issue", C_USED, "{\"scope\":\"c\"}");
	event(f, NOW - 5 * DAY, "token.issue", C_USED, "{\"scope\":\"a\"}");
	event(f, NOW - 4 * DAY, "token.issue", C_USED, "{\"scope\":\"b a x\"}");
	event(f, NOW - 3 * DAY, "token.issue", C_USED, "{\"grant\":\"g\"}");
	event(f, NOW - 2 * DAY, "token.issue", C_NEW, "{\"scope\":\"b a\"}");
	/* Used, but no row recorded a scope (rows from before issue 14). */
	event(f, NOW - 2 * DAY, "token.issue", C_OLD, "{\"grant\":\"g\"}");
	assert_int_equal(inventory_build(f->db, NOW, &inv), 0);
	p = principal(&inv, C_USED);
	assert_true(p->creds[0].flags & INVENTORY_SCOPES_UNUSED);
	assert_string_equal(p->creds[0].unused_scopes, "c d");
	assert_string_equal(p->creds[0].used_scopes, "a b x");
	p = principal(&inv, C_NEW);
	assert_false(p->creds[0].flags & INVENTORY_SCOPES_UNUSED);
	assert_null(p->creds[0].unused_scopes);
	assert_string_equal(p->creds[0].used_scopes, "b a");
	p = principal(&inv, C_OLD);
	assert_false(p->creds[0].flags & INVENTORY_SCOPES_UNUSED);
	assert_null(p->creds[0].used_scopes);
	inventory_free(&inv);
}

/* A disabled user: the principal is flagged, and so is every credential
 * it holds (its owner is disabled). The password's last use is the last
 * sign-in. */
static void
test_inventory_disabled_owner_and_password(void **state)
{
	struct fixture *f = *state;
	struct inventory inv;
	const struct inventory_principal *p;

	user(f, "usr_alice", "alice@example.com", NOW - 100 * DAY);
	user(f, "usr_bob", "bob@example.com", NOW - 100 * DAY);
	event(f, NOW - 5 * DAY, "login", "usr_alice", NULL);
	event(f, NOW - 50 * DAY, "login", "usr_bob", NULL);
	assert_int_equal(
	    store_user_set_disabled(f->db, "usr_bob", NOW - DAY, NOW - DAY), 0);
	assert_int_equal(inventory_build(f->db, NOW, &inv), 0);
	p = principal(&inv, "usr_alice");
	assert_string_equal(p->kind, "user");
	assert_string_equal(p->name, "alice@example.com");
	assert_int_equal(p->flags, 0);
	assert_int_equal(p->n_creds, 1);
	assert_string_equal(p->creds[0].kind, "password");
	assert_int_equal(p->creds[0].created_at, NOW - 100 * DAY);
	assert_int_equal(p->creds[0].last_used_at, NOW - 5 * DAY);
	assert_int_equal(p->creds[0].flags, 0);
	p = principal(&inv, "usr_bob");
	assert_int_equal(p->flags, INVENTORY_DISABLED);
	assert_int_equal(p->creds[0].last_used_at, NOW - 50 * DAY);
	assert_int_equal(
	    p->creds[0].flags, INVENTORY_OWNER_DISABLED | INVENTORY_UNUSED);
	assert_int_equal(inventory_count(&inv, INVENTORY_OWNER_DISABLED), 1);
	inventory_free(&inv);
}

static void
service_account(
    struct fixture *f, const char *id, const char *owner, int64_t expires_at)
{
	struct store_service_account sa = {
		.id = (char *)id,
		.name = (char *)id + 4,
		.description = (char *)"",
		.owner_id = (char *)owner,
		.scopes = (char *)"api.read",
		.resources = (char *)"",
		.expires_at = expires_at,
		.created_at = NOW - 10 * DAY,
		.updated_at = NOW - 10 * DAY,
	};

	assert_int_equal(store_service_account_insert(f->db, &sa), 0);
}

/* A service account with its owner's state, its expiry, and the clients
 * bound to it as its credentials (dead while it is disabled). */
static void
test_inventory_service_accounts(void **state)
{
	struct fixture *f = *state;
	struct inventory inv;
	const struct inventory_principal *p;
	struct store_client c;

	user(f, "usr_carol", "carol@example.com", NOW - 100 * DAY);
	user(f, "usr_gone", "gone@example.com", NOW - 100 * DAY);
	assert_int_equal(
	    store_user_set_disabled(f->db, "usr_carol", NOW - DAY, NOW - DAY),
	    0);
	service_account(f, "svc_ownerdisabled", "usr_carol", 0);
	service_account(f, "svc_ownergone", "usr_gone", 0);
	service_account(f, "svc_expiring", NULL, NOW + 5 * DAY);
	service_account(f, "svc_disabled", NULL, 0);
	assert_int_equal(store_user_delete(f->db, "usr_gone", NOW), 0);
	assert_int_equal(store_service_account_set_disabled(
			     f->db, "svc_disabled", NOW - DAY, NOW - DAY),
	    0);
	client(f, "pcc_bound", "api.read", NOW - DAY);
	assert_int_equal(store_client_get(f->db, "pcc_bound", &c), 0);
	free(c.service_account_id);
	c.service_account_id = xstrdup("svc_disabled");
	assert_int_equal(store_client_update(f->db, &c, false), 0);
	store_client_clear(&c);
	event(f, NOW - DAY, "token.issue", "pcc_bound",
	    "{\"grant\":\"client_credentials\",\"scope\":\"api.read\"}");

	assert_int_equal(inventory_build(f->db, NOW, &inv), 0);
	p = principal(&inv, "svc_ownerdisabled");
	assert_string_equal(p->kind, "service_account");
	assert_string_equal(p->name, "ownerdisabled");
	assert_string_equal(p->owner, "usr_carol");
	assert_int_equal(p->flags, INVENTORY_OWNER_DISABLED);
	assert_int_equal(p->n_creds, 0);
	p = principal(&inv, "svc_ownergone");
	assert_int_equal(p->flags, INVENTORY_OWNER_MISSING);
	p = principal(&inv, "svc_expiring");
	assert_int_equal(p->flags, INVENTORY_EXPIRING);
	assert_int_equal(p->expires_at, NOW + 5 * DAY);
	/* The bound client is the account's credential, not a principal. */
	p = principal(&inv, "svc_disabled");
	assert_int_equal(p->flags, INVENTORY_DISABLED);
	assert_int_equal(p->n_creds, 1);
	assert_string_equal(p->creds[0].kind, "client_secret");
	assert_string_equal(p->creds[0].id, "pcc_bound");
	assert_string_equal(p->creds[0].label, "svc");
	assert_string_equal(p->creds[0].owner, "svc_disabled");
	assert_int_equal(p->creds[0].last_used_at, NOW - DAY);
	assert_string_equal(p->creds[0].used_scopes, "api.read");
	assert_int_equal(
	    p->creds[0].flags, INVENTORY_OWNER_DISABLED | INVENTORY_NO_EXPIRY);
	for (size_t i = 0; i < inv.n; i++)
		assert_string_not_equal(inv.v[i].id, "pcc_bound");
	inventory_free(&inv);

	/* A credential whose principal is gone is still reported. */
	assert_int_equal(store_client_get(f->db, "pcc_bound", &c), 0);
	free(c.service_account_id);
	c.service_account_id = xstrdup("svc_GGGGGGGGGGGGGGGGGGGGGG");
	assert_int_equal(store_client_update(f->db, &c, false), 0);
	store_client_clear(&c);
	assert_int_equal(inventory_build(f->db, NOW, &inv), 0);
	p = principal(&inv, "svc_GGGGGGGGGGGGGGGGGGGGGG");
	assert_true(p->missing);
	assert_string_equal(p->kind, "service_account");
	assert_int_equal(p->n_creds, 1);
	assert_int_equal(
	    p->creds[0].flags, INVENTORY_OWNER_MISSING | INVENTORY_NO_EXPIRY);
	assert_false(principal(&inv, "svc_disabled")->missing);
	assert_int_equal(principal(&inv, "svc_disabled")->n_creds, 0);
	inventory_free(&inv);
}

/* An API key of owner, made 40 days ago, last used at `used`. */
static void
api_key(struct fixture *f, const char *key_id, const char *owner,
    int64_t expires_at, int64_t used, bool revoked)
{
	struct store_api_key k = {
		.owner_id = (char *)owner,
		.name = (char *)"ci",
		.scopes = (char *)"api.read",
		.created_at = NOW - 40 * DAY,
		.expires_at = expires_at,
	};
	bool changed = false, written = false;

	snprintf(k.key_id, sizeof(k.key_id), "%s", key_id);
	snprintf(k.kind, sizeof(k.kind), "%s",
	    strncmp(owner, "svc_", 4) == 0 ? "sa" : "usr");
	memset(k.secret_hash, 'c', PC_SHA256_HEX_LEN);
	k.secret_hash[0] = key_id[0];
	assert_int_equal(store_api_key_insert(f->db, &k), 0);
	if (used != 0)
		assert_int_equal(store_api_key_touch(f->db, key_id, used,
				     "192.0.2.1", 0, &written),
		    0);
	if (revoked)
		assert_int_equal(store_api_key_revoke(f->db, key_id, NOW - DAY,
				     "test", &changed),
		    0);
}

/* API keys: a credential of their owner (a service account or a
 * person), flagged expiring, expired, unused, owner disabled or gone; a
 * revoked key is not listed. */
static void
test_inventory_api_keys(void **state)
{
	struct fixture *f = *state;
	struct inventory inv;
	const struct inventory_principal *p;

	user(f, "usr_dave", "dave@example.com", NOW - 100 * DAY);
	assert_int_equal(
	    store_user_set_disabled(f->db, "usr_dave", NOW - DAY, NOW - DAY),
	    0);
	service_account(f, "svc_keys", NULL, 0);
	api_key(f, "AAAAAAAAAAAAAAAA", "svc_keys", NOW + 5 * DAY,
	    NOW - 40 * DAY, false);
	api_key(f, "BBBBBBBBBBBBBBBB", "svc_keys", NOW + 60 * DAY,
	    NOW - 2 * DAY, false);
	api_key(f, "CCCCCCCCCCCCCCCC", "svc_keys", NOW + 60 * DAY, 0, true);
	api_key(
	    f, "DDDDDDDDDDDDDDDD", "svc_keys", NOW - DAY, NOW - 2 * DAY, false);
	api_key(f, "EEEEEEEEEEEEEEEE", "usr_dave", NOW + 60 * DAY, NOW - DAY,
	    false);
	api_key(f, "FFFFFFFFFFFFFFFF", "usr_HHHHHHHHHHHHHHHHHHHHHH",
	    NOW + 60 * DAY, NOW - DAY, false);
	assert_int_equal(inventory_build(f->db, NOW, &inv), 0);
	p = principal(&inv, "svc_keys");
	assert_int_equal(p->n_creds, 3); /* not the revoked one */
	assert_string_equal(p->creds[0].kind, "api_key");
	assert_string_equal(p->creds[0].label, "ci");
	assert_string_equal(p->creds[0].scopes, "api.read");
	for (size_t i = 0; i < p->n_creds; i++) {
		const struct inventory_credential *c = &p->creds[i];

		assert_string_equal(c->owner, "svc_keys");
		if (strcmp(c->id, "key_AAAAAAAAAAAAAAAA") == 0) {
			assert_int_equal(c->last_used_at, NOW - 40 * DAY);
			assert_int_equal(
			    c->flags, INVENTORY_EXPIRING | INVENTORY_UNUSED);
		} else if (strcmp(c->id, "key_BBBBBBBBBBBBBBBB") == 0) {
			assert_int_equal(c->flags, 0);
		} else {
			assert_string_equal(c->id, "key_DDDDDDDDDDDDDDDD");
			assert_int_equal(c->flags, INVENTORY_EXPIRED);
		}
	}
	p = principal(&inv, "usr_dave");
	assert_int_equal(p->n_creds, 2); /* password and personal key */
	assert_string_equal(p->creds[1].id, "key_EEEEEEEEEEEEEEEE");
	assert_int_equal(p->creds[1].flags, INVENTORY_OWNER_DISABLED);
	p = principal(&inv, "usr_HHHHHHHHHHHHHHHHHHHHHH");
	assert_true(p->missing);
	assert_string_equal(p->kind, "user");
	assert_int_equal(p->creds[0].flags, INVENTORY_OWNER_MISSING);
	assert_int_equal(inventory_count(&inv, INVENTORY_EXPIRING), 1);
	inventory_free(&inv);
}

#define WIF "wif_WWWWWWWWWWWWWWWWWWWWWW"

static void
wif_rule(struct fixture *f, const char *sub, const char *sa, const char *scopes)
{
	struct store_wif_rule rule = {
		.sub_pattern = (char *)sub,
		.claims = (char *)"{}",
		.service_account_id = (char *)sa,
		.scopes = (char *)scopes,
	};
	int64_t no = 0;

	assert_int_equal(
	    store_wif_rule_add(f->db, WIF, &rule, NOW - 20 * DAY, &no), 0);
}

/* A workload trust's rules are credentials of the accounts they map to;
 * one trust's use is told apart per account by the audit target. */
static void
test_inventory_workload_trusts(void **state)
{
	struct fixture *f = *state;
	struct store_wif_trust t = {
		.trust_id = (char *)WIF,
		.issuer = (char *)"https://ci.example.com",
		.jwks = (char *)"{\"keys\":[]}",
		.audience = (char *)"https://id.example.com",
		.algs = (char *)"ES256",
		.max_lifetime = 3600,
		.created_at = NOW - 20 * DAY,
	};
	struct inventory inv;
	const struct inventory_principal *p;

	service_account(f, "svc_deploy", NULL, 0);
	service_account(f, "svc_idle", NULL, 0);
	assert_int_equal(store_wif_trust_add(f->db, &t), 0);
	wif_rule(
	    f, "repo:acme/api:*", "svc_deploy", "deploy:write deploy:read");
	wif_rule(f, "repo:acme/web:*", "svc_idle", NULL);
	/* Forty days of silence for svc_idle, use for svc_deploy. */
	event2(f, NOW - 2 * DAY, WIF, "svc_deploy",
	    "{\"scope\":\"deploy:write\"}");
	assert_int_equal(inventory_build(f->db, NOW + 15 * DAY, &inv), 0);
	p = principal(&inv, "svc_deploy");
	assert_int_equal(p->n_creds, 1);
	assert_string_equal(p->creds[0].kind, "workload");
	assert_string_equal(p->creds[0].id, WIF);
	assert_string_equal(p->creds[0].label,
	    "https://ci.example.com rule 1: sub repo:acme/api:*");
	assert_int_equal(p->creds[0].created_at, NOW - 20 * DAY);
	assert_int_equal(p->creds[0].last_used_at, NOW - 2 * DAY);
	assert_string_equal(p->creds[0].unused_scopes, "deploy:read");
	assert_int_equal(p->creds[0].flags, INVENTORY_SCOPES_UNUSED);
	p = principal(&inv, "svc_idle");
	assert_int_equal(p->creds[0].last_used_at, 0);
	assert_null(p->creds[0].used_scopes);
	assert_int_equal(p->creds[0].flags, INVENTORY_UNUSED);
	inventory_free(&inv);
}

static void
test_inventory_flag_names(void **state)
{
	(void)state;
	assert_string_equal(inventory_flag_name(INVENTORY_UNUSED), "unused");
	assert_string_equal(
	    inventory_flag_name(INVENTORY_SCOPES_UNUSED), "scopes_unused");
	assert_string_equal(inventory_flag_name(0), "");
	assert_string_equal(inventory_flag_name(3), "");
	assert_string_equal(
	    inventory_flag_name(1u << INVENTORY_FLAG_COUNT), "");
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_inventory_unused_and_last_use),
		T(test_inventory_introspection_client_untracked),
		T(test_inventory_expiry_flags),
		T(test_inventory_scopes_broader_than_used),
		T(test_inventory_disabled_owner_and_password),
		T(test_inventory_service_accounts),
		T(test_inventory_api_keys),
		T(test_inventory_workload_trusts),
		cmocka_unit_test(test_inventory_flag_names),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
