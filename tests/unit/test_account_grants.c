/*
 * What the account page ends (src/store/consents.c; SECURITY.md RT-05):
 * "Revoke access" deletes the consent and revokes every family of that
 * user and client; ending sessions revokes the families issued from them
 * (sid = first 16 hex of the session's id hash) and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "oauth/oauth.h"
#include "store/store.h"

#define T0 INT64_C(1800000000)

#include "oauth_fixture.h"

/* Session id hashes: 64 hex, distinct in their first 16. */
#define H_SELF \
	"1111111111111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H_A "2222222222222222aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H_B "3333333333333333aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void
session(struct fixture *f, const char *hash, const char *user_id)
{
	struct store_session s;

	memset(&s, 0, sizeof(s));
	snprintf(s.id_hash, sizeof(s.id_hash), "%s", hash);
	s.user_id = (char *)user_id;
	s.created_at = s.last_seen_at = s.auth_time = T0;
	s.expires_at = T0 + 3600;
	s.amr = (char *)"pwd";
	assert_int_equal(store_session_insert(f->db, &s), 0);
}

static void
family(struct fixture *f, const char *id, const char *client,
    const char *user_id, const char *session_hash)
{
	struct store_family fam;
	char sid[17];

	memset(&fam, 0, sizeof(fam));
	snprintf(fam.family_id, sizeof(fam.family_id), "%s", id);
	fam.client_id = (char *)client;
	fam.user_id = (char *)user_id;
	fam.scope = (char *)"openid";
	fam.auth_time = fam.created_at = T0;
	fam.amr = (char *)"pwd";
	if (session_hash != NULL) {
		memcpy(sid, session_hash, 16);
		sid[16] = '\0';
		fam.sid = sid;
	}
	fam.expires_at = T0 + 86400;
	assert_int_equal(store_family_create(f->db, &fam, NULL, 0), 0);
}

static bool
revoked(struct fixture *f, const char *id)
{
	struct store_family fam;
	bool r;

	memset(&fam, 0, sizeof(fam));
	assert_int_equal(store_family_get(f->db, id, &fam), 0);
	r = fam.revoked_at != 0;
	store_family_clear(&fam);
	return r;
}

static bool
has_session(struct fixture *f, const char *hash)
{
	struct store_session s;
	int r;

	memset(&s, 0, sizeof(s));
	r = store_session_get(f->db, hash, &s);
	store_session_clear(&s);
	assert_true(r == 0 || r == PC_ERR_NOT_FOUND);
	return r == 0;
}

static void
test_grants_RT05_consent_revoke_ends_families(void **state)
{
	struct fixture *f = *state;
	struct store_user bob;
	char *scope = NULL;
	int64_t n = -1;

	assert_int_equal(
	    user_create(f->db, "bob@example.com", "Bob", true, &bob), 0);
	assert_int_equal(
	    store_consent_put(f->db, f->alice.id, "pcc_app", "openid", T0), 0);
	assert_int_equal(
	    store_consent_put(f->db, f->alice.id, "pcc_other", "openid", T0),
	    0);
	assert_int_equal(
	    store_consent_put(f->db, bob.id, "pcc_app", "openid", T0), 0);
	family(f, "f-app-1", "pcc_app", f->alice.id, H_SELF);
	family(f, "f-app-2", "pcc_app", f->alice.id, NULL);
	family(f, "f-other", "pcc_other", f->alice.id, H_SELF);
	family(f, "f-bob", "pcc_app", bob.id, NULL);

	assert_int_equal(
	    store_consent_revoke(f->db, f->alice.id, "pcc_app", T0 + 5, &n), 0);
	assert_int_equal(n, 2);
	assert_true(revoked(f, "f-app-1"));
	assert_true(revoked(f, "f-app-2"));
	/* Another client of the user, and another user: untouched. */
	assert_false(revoked(f, "f-other"));
	assert_false(revoked(f, "f-bob"));
	assert_int_equal(
	    store_consent_get(f->db, f->alice.id, "pcc_app", &scope),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(
	    store_consent_get(f->db, f->alice.id, "pcc_other", &scope), 0);
	free(scope);
	assert_int_equal(
	    store_consent_get(f->db, bob.id, "pcc_app", &scope), 0);
	free(scope);
	/* A second revocation finds nothing. */
	assert_int_equal(
	    store_consent_revoke(f->db, f->alice.id, "pcc_app", T0 + 6, &n),
	    PC_ERR_NOT_FOUND);
	store_user_clear(&bob);
}

static void
test_grants_RT05_end_other_sessions_ends_their_families(void **state)
{
	struct fixture *f = *state;
	struct store_user bob;
	int64_t ns = -1, nf = -1;

	assert_int_equal(
	    user_create(f->db, "bob@example.com", "Bob", true, &bob), 0);
	session(f, H_SELF, f->alice.id);
	session(f, H_A, f->alice.id);
	session(f, H_B, f->alice.id);
	family(f, "f-self", "pcc_app", f->alice.id, H_SELF);
	family(f, "f-a", "pcc_app", f->alice.id, H_A);
	family(f, "f-a2", "pcc_other", f->alice.id, H_A);
	family(f, "f-b", "pcc_app", f->alice.id, H_B);
	family(f, "f-none", "pcc_app", f->alice.id, NULL);
	/* Bob's family happens to carry the same sid: not Alice's to end. */
	family(f, "f-bob", "pcc_app", bob.id, H_A);

	/* One session: only its families. */
	assert_int_equal(store_sessions_end(
			     f->db, f->alice.id, H_B, H_SELF, T0 + 1, &ns, &nf),
	    0);
	assert_int_equal(ns, 1);
	assert_int_equal(nf, 1);
	assert_true(revoked(f, "f-b"));
	assert_false(revoked(f, "f-a"));
	assert_false(has_session(f, H_B));
	/* Never the current one, never twice. */
	assert_int_equal(store_sessions_end(f->db, f->alice.id, H_SELF, H_SELF,
			     T0 + 1, &ns, &nf),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(store_sessions_end(
			     f->db, f->alice.id, H_B, H_SELF, T0 + 1, &ns, &nf),
	    PC_ERR_NOT_FOUND);
	/* Someone else's session cannot be named. */
	assert_int_equal(
	    store_sessions_end(f->db, bob.id, H_A, H_SELF, T0 + 1, &ns, &nf),
	    PC_ERR_NOT_FOUND);
	assert_true(has_session(f, H_A));

	/* All others. */
	assert_int_equal(store_sessions_end(f->db, f->alice.id, NULL, H_SELF,
			     T0 + 2, &ns, &nf),
	    0);
	assert_int_equal(ns, 1);
	assert_int_equal(nf, 2);
	assert_true(revoked(f, "f-a"));
	assert_true(revoked(f, "f-a2"));
	assert_false(revoked(f, "f-self"));
	assert_false(revoked(f, "f-none"));
	assert_false(revoked(f, "f-bob"));
	assert_true(has_session(f, H_SELF));
	assert_false(has_session(f, H_A));
	store_user_clear(&bob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_grants_RT05_consent_revoke_ends_families, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_grants_RT05_end_other_sessions_ends_their_families,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
