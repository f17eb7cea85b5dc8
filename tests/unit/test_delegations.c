/*
 * Unit tests for issue 15's agents and delegations: the agent rules of
 * client_validate() and the questions the endpoints ask of a client
 * (src/oauth/client.c), the delegation lifetime arithmetic
 * (src/oauth/delegation.c), and store/delegations.c: disabling or deleting
 * a client revokes its token families in the same transaction (TX-08), a
 * user's live delegations are listed, and one is revoked only by its
 * user. A store test: it runs on PostgreSQL too (scripts/pg-unit.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "oauth/oauth.h"
#include "oauth_fixture.h"
#include "util/config.h"

#define T0 1800000000
#define API "https://api.example.com"

static void
agent(struct store_client *c, bool pub)
{
	memset(c, 0, sizeof(*c));
	c->name = xstrdup("Agent");
	c->kind = xstrdup("agent");
	c->owner_id = xstrdup("usr_AAAAAAAAAAAAAAAAAAAAAA");
	c->resources = xstrdup(API " https://other.example.com/v1");
	c->is_public = pub;
	c->auth_method = xstrdup(pub ? "none" : "private_key_jwt");
	c->grant_types = xstrdup("authorization_code refresh_token");
	c->scopes = xstrdup("orders:read offline_access");
	c->n_redirect_uris = 1;
	c->redirect_uris = calloc(1, sizeof(char *));
	c->redirect_uris[0] = xstrdup("https://agent.example/cb");
}

static void
set(char **field, const char *v)
{
	free(*field);
	*field = v != NULL ? xstrdup(v) : NULL;
}

static void
test_delegations_agent_rules(void **state)
{
	struct store_client c;
	const char *why = NULL;

	(void)state;
	agent(&c, true);
	assert_int_equal(client_validate(&c, &why), 0);
	assert_true(client_is_agent(&c));
	assert_false(client_disabled(&c));
	assert_false(client_unverified(&c));
	/* TX-04: an agent only at a resource it lists, byte for byte. */
	assert_true(client_may_target(&c, API));
	assert_true(client_may_target(&c, "https://other.example.com/v1"));
	assert_false(client_may_target(&c, "https://other.example.com"));
	assert_false(client_may_target(&c, "https://api.example.com/"));
	assert_false(client_may_target(&c, NULL));
	/* Depth within the server's cap; delegating only when allowed. */
	c.max_delegation_depth = 2;
	assert_int_equal(client_max_depth(&c, 3), 2);
	assert_int_equal(client_max_depth(&c, 1), 1);
	assert_false(client_may_delegate(&c));
	c.may_delegate = true;
	assert_true(client_may_delegate(&c));
	c.disabled_at = T0;
	assert_true(client_disabled(&c));
	store_client_clear(&c);

#define BAD(pub, field, value) \
	do { \
		agent(&c, pub); \
		set(&c.field, value); \
		why = NULL; \
		assert_int_equal(client_validate(&c, &why), PC_ERR_INVALID); \
		assert_non_null(why); \
		store_client_clear(&c); \
	} while (0)
	BAD(true, owner_id, NULL);
	BAD(true, owner_id, "svc_AAAAAAAAAAAAAAAAAAAAAA");
	BAD(true, owner_id, "pcc_AAAAAAAAAAAAAAAAAAAAAA");
	BAD(true, resources, "");
	BAD(true, resources, "http://api.example.com");
	BAD(true, resources, API " " API);
	BAD(true, resources, API "  https://b.example.com");
	BAD(true, grant_types, "authorization_code client_credentials");
	BAD(false, auth_method, "client_secret_basic");
	BAD(false, auth_method, "client_secret_post");
	BAD(true, kind, "robot");
	BAD(true, service_account_id, "svc_AAAAAAAAAAAAAAAAAAAAAA");
#undef BAD
	agent(&c, true);
	c.first_party = true;
	assert_int_equal(client_validate(&c, &why), PC_ERR_INVALID);
	store_client_clear(&c);
	/* At most 16 resources. */
	agent(&c, true);
	{
		struct buf b;

		buf_init(&b, 4096);
		for (int i = 0; i < 17; i++)
			assert_int_equal(
			    buf_printf(&b, "%shttps://r%d.example.com",
				i > 0 ? " " : "", i),
			    0);
		set(&c.resources, buf_cstr(&b));
		assert_int_equal(client_validate(&c, &why), PC_ERR_INVALID);
		buf_free(&b);
	}
	store_client_clear(&c);
	/* A plain client targets any registered resource; registration not
	 * 'operator' is unverified. */
	agent(&c, true);
	set(&c.kind, "client");
	set(&c.registration, "dynamic");
	assert_true(client_may_target(&c, "https://anything.example.com"));
	assert_int_equal(client_max_depth(&c, 3), 3);
	assert_true(client_unverified(&c));
	store_client_clear(&c);
}

static void
test_delegations_lifetime(void **state)
{
	struct config cfg;
	int64_t t = 0;

	(void)state;
	config_defaults(&cfg);
	cfg.delegation_ttl = 7 * 86400;
	cfg.refresh_token_absolute = 30 * 86400;
	cfg.access_token_ttl = 300;
	assert_int_equal(delegation_max_ttl(&cfg), 7 * 86400);
	cfg.refresh_token_absolute = 86400;
	assert_int_equal(delegation_max_ttl(&cfg), 86400);
	cfg.refresh_token_absolute = 30 * 86400;
	assert_int_equal(delegation_ttl_parse(&cfg, NULL, &t), 0);
	assert_int_equal(t, 7 * 86400);
	assert_int_equal(delegation_ttl_parse(&cfg, "", &t), 0);
	assert_int_equal(t, 7 * 86400);
	assert_int_equal(delegation_ttl_parse(&cfg, "3600", &t), 0);
	assert_int_equal(t, 3600);
	assert_int_equal(delegation_ttl_parse(&cfg, "60", &t), 0);
	const char *bad[] = { "59", "604801", "-1", "3600s", " 3600", "1e5",
		"0x10", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    delegation_ttl_parse(&cfg, bad[i], &t), PC_ERR_INVALID);
	/* A grant's life and its tokens' never pass the delegation's end. */
	assert_int_equal(delegation_grant_life(&cfg, 0, T0), 30 * 86400);
	assert_int_equal(delegation_grant_life(&cfg, T0 + 3600, T0), 3600);
	assert_int_equal(delegation_grant_life(&cfg, T0 - 5, T0), 1);
	assert_int_equal(delegation_token_ttl(&cfg, 0, T0), 300);
	assert_int_equal(delegation_token_ttl(&cfg, T0 + 3600, T0), 300);
	assert_int_equal(delegation_token_ttl(&cfg, T0 + 60, T0), 60);
	assert_int_equal(delegation_token_ttl(&cfg, T0, T0), 1);
	config_free(&cfg);
}

/* A family of client_id for alice, with a resource or not. */
static void
family(struct fixture *f, const char *client_id, const char *resource,
    int64_t absolute, char fam[48])
{
	struct refresh_grant g;
	char token[REFRESH_LEN + 1];

	memset(&g, 0, sizeof(g));
	g.client_id = client_id;
	g.user_id = f->alice.id;
	g.scope = "orders:read offline_access";
	g.amr = "pwd";
	g.auth_time = T0;
	g.absolute = absolute;
	g.resource = resource;
	assert_int_equal(refresh_issue(f->db, &g, T0, token, fam), 0);
}

static void
make_agent(struct fixture *f, const char *id)
{
	struct db_conn *c;
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "UPDATE clients SET kind = 'agent' WHERE client_id = '%s'", id);
	assert_int_equal(db_conn(f->db, &c), 0);
	assert_int_equal(db_exec(c, sql), 0);
}

static int64_t
revoked_at(struct fixture *f, const char *fam)
{
	struct store_family out;
	int64_t t;

	assert_int_equal(store_family_get(f->db, fam, &out), 0);
	t = out.revoked_at;
	store_family_clear(&out);
	return t;
}

static void
test_delegations_TX08_disable_revokes(void **state)
{
	struct fixture *f = *state;
	struct store_client c;
	char a1[48], a2[48], other[48];
	int64_t n = -1;

	make_agent(f, "pcc_app");
	family(f, "pcc_app", API, 0, a1);
	family(f, "pcc_app", NULL, 0, a2);
	family(f, "pcc_other", NULL, 0, other);
	assert_int_equal(store_client_disable(f->db, "pcc_app", T0 + 1, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(revoked_at(f, a1), T0 + 1);
	assert_int_equal(revoked_at(f, a2), T0 + 1);
	assert_int_equal(revoked_at(f, other), 0);
	assert_int_equal(store_client_get(f->db, "pcc_app", &c), 0);
	assert_int_equal(c.disabled_at, T0 + 1);
	store_client_clear(&c);
	/* Once only; an unknown client is not found either. */
	assert_int_equal(store_client_disable(f->db, "pcc_app", T0 + 2, &n),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(n, 0);
	assert_int_equal(store_client_disable(f->db, "pcc_nope", T0, NULL),
	    PC_ERR_NOT_FOUND);
	/* Delete: the other client's live family revoked and gone with it. */
	assert_int_equal(
	    store_client_delete_revoking(f->db, "pcc_other", T0 + 3, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(
	    store_client_get(f->db, "pcc_other", &c), PC_ERR_NOT_FOUND);
	{
		struct store_family out;

		assert_int_equal(
		    store_family_get(f->db, other, &out), PC_ERR_NOT_FOUND);
	}
	assert_int_equal(
	    store_client_delete_revoking(f->db, "pcc_other", T0 + 4, &n),
	    PC_ERR_NOT_FOUND);
}

static void
test_delegations_TX08_list_and_revoke(void **state)
{
	struct fixture *f = *state;
	struct store_delegation *v = NULL;
	struct store_user bob;
	char agent_fam[48], res_fam[48], plain[48], short_fam[48];
	char *client_id = NULL;
	size_t n = 0;

	make_agent(f, "pcc_app");
	family(f, "pcc_app", NULL, 0, agent_fam);
	family(f, "pcc_other", API, 0, res_fam);
	family(f, "pcc_other", NULL, 0, plain);
	family(f, "pcc_app", API, 60, short_fam);
	assert_int_equal(
	    store_delegations_list(f->db, f->alice.id, T0 + 1, 100, &v, &n), 0);
	assert_int_equal(n, 3); /* not the plain client's grant for us */
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(v[i].family_id, plain);
		if (strcmp(v[i].family_id, res_fam) == 0) {
			assert_string_equal(v[i].resource, API);
			assert_string_equal(v[i].client_kind, "client");
			assert_string_equal(v[i].registration, "operator");
			assert_string_equal(v[i].client_name, "Other");
		}
		if (strcmp(v[i].family_id, agent_fam) == 0) {
			assert_null(v[i].resource);
			assert_string_equal(v[i].client_kind, "agent");
			assert_int_equal(v[i].last_refresh_at, 0);
			assert_int_equal(
			    v[i].expires_at, T0 + REFRESH_ABSOLUTE);
		}
	}
	store_delegations_free(v, n);
	/* Past its end a delegation is not listed; the list is bounded. */
	assert_int_equal(
	    store_delegations_list(f->db, f->alice.id, T0 + 60, 100, &v, &n),
	    0);
	assert_int_equal(n, 2);
	store_delegations_free(v, n);
	assert_int_equal(
	    store_delegations_list(f->db, f->alice.id, T0 + 1, 1, &v, &n), 0);
	assert_int_equal(n, 1);
	store_delegations_free(v, n);
	/* Only its user revokes it; once. */
	assert_int_equal(
	    user_create(f->db, "bob@example.com", "Bob", true, &bob), 0);
	assert_int_equal(store_delegation_revoke(
			     f->db, bob.id, agent_fam, T0 + 2, &client_id),
	    PC_ERR_NOT_FOUND);
	assert_null(client_id);
	assert_int_equal(revoked_at(f, agent_fam), 0);
	assert_int_equal(store_delegation_revoke(
			     f->db, f->alice.id, agent_fam, T0 + 2, &client_id),
	    0);
	assert_string_equal(client_id, "pcc_app");
	free(client_id);
	assert_int_equal(revoked_at(f, agent_fam), T0 + 2);
	assert_int_equal(revoked_at(f, res_fam), 0);
	assert_int_equal(store_delegation_revoke(
			     f->db, f->alice.id, agent_fam, T0 + 3, &client_id),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(store_delegation_revoke(f->db, f->alice.id, "fam_nope",
			     T0 + 3, &client_id),
	    PC_ERR_NOT_FOUND);
	store_user_clear(&bob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delegations_agent_rules),
		cmocka_unit_test(test_delegations_lifetime),
		cmocka_unit_test_setup_teardown(
		    test_delegations_TX08_disable_revokes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_delegations_TX08_list_and_revoke, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
