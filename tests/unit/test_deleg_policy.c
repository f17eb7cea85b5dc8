/*
 * The delegation policy of token exchange (src/oauth/deleg_policy.c;
 * RFC 8693; SECURITY.md TX-01, TX-02, TX-03), rule by rule: each test
 * starts from a request that is allowed and breaks one thing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "oauth/proto.h"

#define NOW 1700000000
#define AGENT_A "pcc_AgentAAAAAAAAAAAAAAAAA"
#define AGENT_B "pcc_AgentBBBBBBBBBBBBBBBBB"
#define RES "https://api.example/"
#define RES2 "https://mail.example/"

struct fixture {
	struct deleg_subject s;
	struct deleg_actor a;
	struct deleg_request q;
	struct deleg_decision d;
	struct buf granted;
};

/* The user's own grant to agent A, exchanged by A for RES. */
static void
setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->s = (struct deleg_subject){ .sub = "usr_alice",
		.client_id = AGENT_A,
		.gid = "fam_1",
		.grant_client = AGENT_A,
		.scope = "openid read write offline_access",
		.exp = NOW + 600,
		.grant_expires_at = NOW + 86400 };
	f->a = (struct deleg_actor){ .client_id = AGENT_A,
		.scopes = "openid read write offline_access",
		.is_agent = true,
		.resources = RES " " RES2,
		.may_delegate = true,
		.max_delegation_depth = 3 };
	f->q = (struct deleg_request){ .kind = DELEG_TARGET_RESOURCE,
		.target = RES,
		.target_scopes = "read write admin",
		.max_depth = 3,
		.chain_cap = -1,
		.ttl = 300,
		.now = NOW };
	buf_init(&f->granted, SCOPE_STRING_MAX + 1);
}

static int
decide(struct fixture *f)
{
	int rc = deleg_decide(&f->s, &f->a, &f->q, &f->d, &f->granted);

	assert_int_equal(rc, 0);
	return f->d.error == NULL ? 0 : -1;
}

static void
assert_refused(struct fixture *f, const char *error)
{
	assert_int_equal(decide(f), -1);
	assert_string_equal(f->d.error, error);
	assert_non_null(f->d.why);
	assert_int_equal(f->granted.len, 0);
	buf_free(&f->granted);
}

static void
test_allowed_own_grant(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f);
	assert_int_equal(decide(&f), 0);
	assert_int_equal(f.d.depth, 1);
	assert_int_equal(f.d.ttl, 300);
	/* Subject ∩ actor ∩ resource; offline_access never. */
	assert_string_equal(buf_cstr(&f.granted), "read write");
	buf_free(&f.granted);
}

static void
test_TX02_not_a_user_grant(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f);
	f.s.gid = NULL;
	assert_refused(&f, "invalid_grant");
}

static void
test_TX02_another_clients_token_without_may_act(void **state)
{
	struct fixture f;

	(void)state;
	/* B holds A's token (stolen or passed on) without may_act. */
	setup(&f);
	f.a.client_id = AGENT_B;
	assert_refused(&f, "invalid_grant");
	/* Issued to A but from a grant to someone else: no. */
	setup(&f);
	f.s.grant_client = AGENT_B;
	assert_refused(&f, "invalid_grant");
	/* A token A already acted with (act) is not a grant to A. */
	setup(&f);
	f.s.act_depth = 1;
	assert_refused(&f, "invalid_grant");
}

static void
test_TX02_may_act_names_the_actor(void **state)
{
	struct fixture f;

	(void)state;
	/* A's hand-off to B: B may act with it. */
	setup(&f);
	f.s.may_act = AGENT_B;
	f.s.act_depth = 1;
	f.a.client_id = AGENT_B;
	assert_int_equal(decide(&f), 0);
	assert_int_equal(f.d.depth, 2);
	buf_free(&f.granted);
	/* Only B: not even A, whose grant it came from. */
	setup(&f);
	f.s.may_act = AGENT_B;
	f.s.act_depth = 1;
	assert_refused(&f, "invalid_grant");
}

static void
test_TX01_impersonation_needs_the_policy(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f);
	f.q.impersonate = true;
	assert_refused(&f, "unauthorized_client");
	setup(&f);
	f.q.impersonate = true;
	f.a.allow_impersonation = true;
	assert_int_equal(decide(&f), 0);
	assert_int_equal(f.d.depth, 0);
	buf_free(&f.granted);
	/* Never with a hand-off token, never for a hand-off. */
	setup(&f);
	f.q.impersonate = true;
	f.a.allow_impersonation = true;
	f.s.may_act = AGENT_A;
	f.s.act_depth = 1;
	assert_refused(&f, "invalid_request");
	setup(&f);
	f.q.impersonate = true;
	f.a.allow_impersonation = true;
	f.q.kind = DELEG_TARGET_AGENT;
	f.q.target = AGENT_B;
	assert_refused(&f, "invalid_request");
}

static void
test_handoff_needs_may_delegate(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f);
	f.q.kind = DELEG_TARGET_AGENT;
	f.q.target = AGENT_B;
	f.q.target_scopes = "read";
	assert_int_equal(decide(&f), 0);
	assert_string_equal(buf_cstr(&f.granted), "read");
	buf_free(&f.granted);
	setup(&f);
	f.q.kind = DELEG_TARGET_AGENT;
	f.q.target = AGENT_B;
	f.a.may_delegate = false;
	assert_refused(&f, "unauthorized_client");
	/* Only agents hand off, whatever a plain client's flag says. */
	setup(&f);
	f.q.kind = DELEG_TARGET_AGENT;
	f.q.target = AGENT_B;
	f.a.is_agent = false;
	assert_refused(&f, "unauthorized_client");
	setup(&f);
	f.q.kind = DELEG_TARGET_AGENT;
	f.q.target = AGENT_A;
	assert_refused(&f, "invalid_target");
}

static void
test_TX04_agent_resources(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f);
	f.q.target = "https://other.example/";
	assert_refused(&f, "invalid_target");
	/* An agent listing nothing reaches nothing. */
	setup(&f);
	f.a.resources = "";
	assert_refused(&f, "invalid_target");
	/* A plain client without a list: any registered resource. */
	setup(&f);
	f.a.is_agent = false;
	f.a.resources = NULL;
	f.q.target = "https://other.example/";
	assert_int_equal(decide(&f), 0);
	buf_free(&f.granted);
	/* With a list: only those. */
	setup(&f);
	f.a.is_agent = false;
	f.a.resources = RES2;
	assert_refused(&f, "invalid_target");
	/* A grant for one resource reaches that one only, by any hop. */
	setup(&f);
	f.s.grant_resource = RES2;
	assert_refused(&f, "invalid_target");
	setup(&f);
	f.s.grant_resource = RES2;
	f.s.may_act = AGENT_B;
	f.s.act_depth = 1;
	f.a.client_id = AGENT_B;
	assert_refused(&f, "invalid_target");
	setup(&f);
	f.s.grant_resource = RES;
	assert_int_equal(decide(&f), 0);
	buf_free(&f.granted);
	/* A hand-off passes it on (the next hop is held to it). */
	setup(&f);
	f.s.grant_resource = RES2;
	f.q.kind = DELEG_TARGET_AGENT;
	f.q.target = AGENT_B;
	assert_int_equal(decide(&f), 0);
	buf_free(&f.granted);
	/* Prefixes are not matches. */
	setup(&f);
	f.a.resources = RES "x";
	assert_refused(&f, "invalid_target");
}

static void
test_TX03_depth_cap(void **state)
{
	struct fixture f;

	(void)state;
	/* The setting: 3 hops, not 4. */
	setup(&f);
	f.s.may_act = AGENT_A;
	f.s.act_depth = 2;
	assert_int_equal(decide(&f), 0);
	assert_int_equal(f.d.depth, 3);
	buf_free(&f.granted);
	setup(&f);
	f.s.may_act = AGENT_A;
	f.s.act_depth = 3;
	assert_refused(&f, "invalid_grant");
	/* The agent's own cap lowers it. */
	setup(&f);
	f.s.may_act = AGENT_A;
	f.s.act_depth = 1;
	f.a.max_delegation_depth = 1;
	assert_refused(&f, "invalid_grant");
	/* An agent with 0 takes part in no chain, not even its own grant. */
	setup(&f);
	f.a.max_delegation_depth = 0;
	assert_refused(&f, "invalid_grant");
	/* A plain client has no cap of its own: the setting. */
	setup(&f);
	f.a.is_agent = false;
	f.a.resources = NULL;
	f.a.max_delegation_depth = 0;
	f.s.may_act = AGENT_A;
	f.s.act_depth = 2;
	assert_int_equal(decide(&f), 0);
	buf_free(&f.granted);
	/* An earlier agent's cap holds further down the chain. */
	setup(&f);
	f.s.may_act = AGENT_A;
	f.s.act_depth = 1;
	f.q.chain_cap = 1;
	assert_refused(&f, "invalid_grant");
	setup(&f);
	f.s.may_act = AGENT_A;
	f.s.act_depth = 1;
	f.q.chain_cap = 2;
	assert_int_equal(decide(&f), 0);
	buf_free(&f.granted);
	/* A cap above the setting does not raise it. */
	setup(&f);
	f.s.may_act = AGENT_A;
	f.s.act_depth = 3;
	f.a.max_delegation_depth = 9;
	f.q.chain_cap = 9;
	assert_refused(&f, "invalid_grant");
	/* Setting 1: the user's own grant only, no hand-off further. */
	setup(&f);
	f.q.max_depth = 1;
	assert_int_equal(decide(&f), 0);
	buf_free(&f.granted);
	setup(&f);
	f.q.max_depth = 1;
	f.s.may_act = AGENT_A;
	f.s.act_depth = 1;
	assert_refused(&f, "invalid_grant");
}

static void
test_TX03_scope_never_grows(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f);
	f.q.scope = "read";
	assert_int_equal(decide(&f), 0);
	assert_string_equal(buf_cstr(&f.granted), "read");
	buf_free(&f.granted);
	/* Beyond the subject (admin is the resource's and the actor's). */
	setup(&f);
	f.a.scopes = "read write admin";
	f.q.scope = "read admin";
	assert_refused(&f, "invalid_scope");
	assert_non_null(strstr(f.d.why, "'admin'"));
	/* Beyond the actor. */
	setup(&f);
	f.a.scopes = "read";
	f.q.scope = "write";
	assert_refused(&f, "invalid_scope");
	/* Beyond the resource. */
	setup(&f);
	f.q.scope = "openid";
	assert_refused(&f, "invalid_scope");
	/* offline_access, even where all three have it. */
	setup(&f);
	f.q.target_scopes = "read offline_access";
	f.q.scope = "offline_access";
	assert_refused(&f, "invalid_scope");
	/* Nothing left. */
	setup(&f);
	f.a.scopes = "openid";
	assert_refused(&f, "invalid_scope");
	/* Malformed. */
	setup(&f);
	f.q.scope = "read  write";
	assert_refused(&f, "invalid_scope");
}

static void
test_TX03_lifetime_never_extends(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f);
	f.s.exp = NOW + 42;
	assert_int_equal(decide(&f), 0);
	assert_int_equal(f.d.ttl, 42);
	buf_free(&f.granted);
	setup(&f);
	f.s.grant_expires_at = NOW + 7;
	assert_int_equal(decide(&f), 0);
	assert_int_equal(f.d.ttl, 7);
	buf_free(&f.granted);
	setup(&f);
	f.s.exp = NOW;
	assert_refused(&f, "invalid_grant");
	setup(&f);
	f.s.grant_expires_at = NOW - 1;
	assert_refused(&f, "invalid_grant");
}

static void
test_bad_stored_scope(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f);
	f.a.scopes = "read\"write";
	assert_int_equal(
	    deleg_decide(&f.s, &f.a, &f.q, &f.d, &f.granted), PC_ERR_INVALID);
	assert_string_equal(f.d.error, "server_error");
	assert_int_equal(f.granted.len, 0);
	buf_free(&f.granted);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_own_grant),
		cmocka_unit_test(test_TX02_not_a_user_grant),
		cmocka_unit_test(
		    test_TX02_another_clients_token_without_may_act),
		cmocka_unit_test(test_TX02_may_act_names_the_actor),
		cmocka_unit_test(test_TX01_impersonation_needs_the_policy),
		cmocka_unit_test(test_handoff_needs_may_delegate),
		cmocka_unit_test(test_TX04_agent_resources),
		cmocka_unit_test(test_TX03_depth_cap),
		cmocka_unit_test(test_TX03_scope_never_grows),
		cmocka_unit_test(test_TX03_lifetime_never_extends),
		cmocka_unit_test(test_bad_stored_scope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
