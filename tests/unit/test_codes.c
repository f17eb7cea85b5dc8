/*
 * Authorization codes (src/oauth/code.c, src/store/auth_codes.c): single
 * use under concurrency (TK-01), replay recognised with its token family
 * (TK-02), bound to client, redirect URI and PKCE verifier (TK-03), 60 s
 * life with now < exp (SS-10), only a hash in the store.
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
#include <pthread.h>

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "oauth/oauth.h"
#include "store/store.h"

#define T0 INT64_C(1800000000)
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define RURI "https://app.example/cb"

#include "oauth_fixture.h"

static void
issue(struct fixture *f, int64_t now, char code[CODE_LEN + 1])
{
	struct code_grant g = { "pcc_app", f->alice.id, RURI, CHALLENGE,
		"openid profile", "n1", "pwd", "sid1", now - 5, NULL, 0 };

	assert_int_equal(code_issue(f->db, &g, now, code), 0);
	assert_int_equal(strlen(code), CODE_LEN);
	assert_memory_equal(code, "pca_", 4);
}

static void
test_codes_TK01_single_use_and_replay(void **state)
{
	struct fixture *f = *state;
	struct store_auth_code out;
	char code[CODE_LEN + 1];

	issue(f, T0, code);
	assert_int_equal(
	    code_redeem(f->db, code, "pcc_app", RURI, VERIFIER, T0 + 1, &out),
	    0);
	assert_string_equal(out.user_id, f->alice.id);
	assert_string_equal(out.scope, "openid profile");
	assert_string_equal(out.nonce, "n1");
	assert_int_equal(
	    store_auth_code_set_family(f->db, out.code_hash, "fam_1"), 0);
	store_auth_code_clear(&out);
	/* TK-02: the replay is recognised, with the family to revoke. */
	assert_int_equal(
	    code_redeem(f->db, code, "pcc_app", RURI, VERIFIER, T0 + 2, &out),
	    PC_ERR_CONFLICT);
	assert_string_equal(out.family_id, "fam_1");
	store_auth_code_clear(&out);
	/* ... even after it expired, until it is purged a day later. */
	assert_int_equal(code_redeem(f->db, code, "pcc_app", RURI, VERIFIER,
			     T0 + CODE_TTL + 100, &out),
	    PC_ERR_CONFLICT);
	store_auth_code_clear(&out);
}

/*
 * A replay between the winning redemption and the recording of its family
 * finds no family to revoke: recording it afterwards reports the replay,
 * so the winner revokes its own family. Without the mark, the winner's
 * grant would outlive a replay (on one node or, more easily, across two).
 */
static void
test_codes_TK01_replay_before_family_is_reported(void **state)
{
	struct fixture *f = *state;
	struct store_auth_code out, again;
	char code[CODE_LEN + 1];

	issue(f, T0, code);
	assert_int_equal(
	    code_redeem(f->db, code, "pcc_app", RURI, VERIFIER, T0 + 1, &out),
	    0);
	assert_int_equal(
	    code_redeem(f->db, code, "pcc_app", RURI, VERIFIER, T0 + 1, &again),
	    PC_ERR_CONFLICT);
	assert_null(again.family_id);
	store_auth_code_clear(&again);
	assert_int_equal(
	    store_auth_code_set_family(f->db, out.code_hash, "fam_r"),
	    PC_ERR_CONFLICT);
	/* Recorded all the same: a later replay finds it. */
	assert_int_equal(
	    code_redeem(f->db, code, "pcc_app", RURI, VERIFIER, T0 + 2, &again),
	    PC_ERR_CONFLICT);
	assert_string_equal(again.family_id, "fam_r");
	store_auth_code_clear(&again);
	/* Once only. */
	assert_int_equal(
	    store_auth_code_set_family(f->db, out.code_hash, "fam_x"),
	    PC_ERR_NOT_FOUND);
	store_auth_code_clear(&out);
}

static void
test_codes_TK04_TK05_bindings_burn_the_code(void **state)
{
	struct fixture *f = *state;
	struct store_auth_code out;
	char code[CODE_LEN + 1];
	static const struct {
		const char *client, *ruri, *verifier;
	} bad[] = {
		{ "pcc_other", RURI, VERIFIER },
		{ "pcc_app", RURI "/", VERIFIER },
		{ "pcc_app", "https://APP.example/cb", VERIFIER },
		{ "pcc_app", RURI,
		    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj" },
		{ "pcc_app", RURI, CHALLENGE }, /* plain-style */
		{ "pcc_app", RURI, NULL },
	};

	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		issue(f, T0, code);
		assert_int_equal(
		    code_redeem(f->db, code, bad[i].client, bad[i].ruri,
			bad[i].verifier, T0 + 1, &out),
		    PC_ERR_VERIFY);
		/* The right party now finds it used. */
		assert_int_equal(code_redeem(f->db, code, "pcc_app", RURI,
				     VERIFIER, T0 + 2, &out),
		    PC_ERR_CONFLICT);
		store_auth_code_clear(&out);
	}
}

static void
test_codes_TK03_expiry_boundary(void **state)
{
	struct fixture *f = *state;
	struct store_auth_code out;
	char code[CODE_LEN + 1];

	issue(f, T0, code);
	assert_int_equal(code_redeem(f->db, code, "pcc_app", RURI, VERIFIER,
			     T0 + CODE_TTL, &out),
	    PC_ERR_NOT_FOUND);
	issue(f, T0, code);
	assert_int_equal(code_redeem(f->db, code, "pcc_app", RURI, VERIFIER,
			     T0 + CODE_TTL - 1, &out),
	    0);
	store_auth_code_clear(&out);
}

static void
test_codes_malformed_and_unknown(void **state)
{
	struct fixture *f = *state;
	struct store_auth_code out;
	char code[CODE_LEN + 1];

	assert_int_equal(
	    code_redeem(f->db, NULL, "pcc_app", RURI, VERIFIER, T0, &out),
	    PC_ERR_NOT_FOUND);
	assert_int_equal(code_redeem(f->db, "pca_short", "pcc_app", RURI,
			     VERIFIER, T0, &out),
	    PC_ERR_NOT_FOUND);
	issue(f, T0, code);
	code[4] = code[4] == 'A' ? 'B' : 'A';
	assert_int_equal(
	    code_redeem(f->db, code, "pcc_app", RURI, VERIFIER, T0 + 1, &out),
	    PC_ERR_NOT_FOUND);
	code[0] = 'x';
	assert_int_equal(
	    code_redeem(f->db, code, "pcc_app", RURI, VERIFIER, T0 + 1, &out),
	    PC_ERR_NOT_FOUND);
}

struct race {
	struct db *db;
	const char *code;
	int result;
};

static void *
racer(void *arg)
{
	struct race *r = arg;
	struct store_auth_code out;

	r->result = code_redeem(
	    r->db, r->code, "pcc_app", RURI, VERIFIER, T0 + 1, &out);
	store_auth_code_clear(&out);
	return NULL;
}

static void
test_codes_TK01_parallel_exactly_one_wins(void **state)
{
	struct fixture *f = *state;
	char code[CODE_LEN + 1];
	struct race rs[12];
	pthread_t th[12];
	int wins = 0, conflicts = 0;

	issue(f, T0, code);
	for (size_t i = 0; i < PC_NELEM(rs); i++) {
		rs[i] = (struct race){ f->db, code, -1 };
		assert_int_equal(
		    pthread_create(&th[i], NULL, racer, &rs[i]), 0);
	}
	for (size_t i = 0; i < PC_NELEM(rs); i++) {
		pthread_join(th[i], NULL);
		wins += rs[i].result == 0;
		conflicts += rs[i].result == PC_ERR_CONFLICT;
	}
	assert_int_equal(wins, 1);
	assert_int_equal(conflicts, (int)PC_NELEM(rs) - 1);
}

static void
test_codes_only_hash_stored_and_purge(void **state)
{
	struct fixture *f = *state;
	char code[CODE_LEN + 1], path[128], *buf;
	FILE *fp;
	long n;
	int64_t deleted = 0;

	issue(f, T0, code);
	snprintf(path, sizeof(path), "%s/portcullis.db", f->dir);
	/* Read the db and its WAL: the code is in neither. */
	for (int w = 0; w < 2; w++) {
		char p2[140];

		snprintf(p2, sizeof(p2), "%s%s", path, w ? "-wal" : "");
		fp = fopen(p2, "rb");
		if (fp == NULL)
			continue;
		fseek(fp, 0, SEEK_END);
		n = ftell(fp);
		fseek(fp, 0, SEEK_SET);
		buf = malloc((size_t)n + 1);
		assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
		fclose(fp);
		assert_null(memmem(buf, (size_t)n, code + 4, CODE_RANDOM_LEN));
		free(buf);
	}
	assert_int_equal(
	    store_auth_codes_purge(
		f->db, T0 + CODE_TTL + STORE_AUTH_CODE_KEEP - 1, &deleted),
	    0);
	assert_int_equal(deleted, 0);
	assert_int_equal(store_auth_codes_purge(f->db,
			     T0 + CODE_TTL + STORE_AUTH_CODE_KEEP, &deleted),
	    0);
	assert_int_equal(deleted, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_codes_TK01_single_use_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_codes_TK01_replay_before_family_is_reported, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_codes_TK04_TK05_bindings_burn_the_code, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_codes_TK03_expiry_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_codes_malformed_and_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_codes_TK01_parallel_exactly_one_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_codes_only_hash_stored_and_purge, setup, teardown),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
