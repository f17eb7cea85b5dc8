/*
 * Unit tests for the passkey domain (src/auth/passkey.c; SECURITY.md
 * WA-02..05), with responses made by the software authenticator
 * (tests/tools/wa_soft.c) and a real store: a challenge is spent once,
 * only by its session and for its user; a passwordless sign-in needs UV
 * and the owner's handle; a counter that does not grow flags the
 * credential for good; a factor is the expected user's passkey only; an
 * IP-literal issuer cannot offer passkeys; the amr says what was used.
 * A store test: it runs on PostgreSQL too (scripts/pg-unit.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth/auth.h"
#include "auth/mfa.h"
#include "auth/webauthn.h"
#include "jose/b64url.h"
#include "store/store.h"
#include "store_fixture.h"
#include "tests/tools/wa_soft.h"
#include "util/config.h"

#define T0 INT64_C(1800000000)
#define ALICE "usr_AAAAAAAAAAAAAAAAAAAAAA"
#define BOB "usr_BBBBBBBBBBBBBBBBBBBBBB"
#define ORIGIN "http://localhost:8080"
#define F_UP 0x01
#define F_UV 0x04
#define F_AT 0x40

struct fx {
	char dir[STORE_FIXTURE_DIR_LEN];
	struct db *db;
	struct config cfg;
	struct session s1, s2; /* two browser sessions */
	struct wa_soft_key key;
	uint8_t cred_id[16];
	char handle[64];
};

static void
add_user(struct db *db, const char *id, const char *email)
{
	struct store_user u;

	memset(&u, 0, sizeof(u));
	u.id = (char *)id;
	u.email = (char *)email;
	u.email_verified = true;
	u.name = (char *)"";
	u.created_at = u.updated_at = T0;
	assert_int_equal(store_user_insert(db, &u, NULL), 0);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || store_fixture_new(f->dir, true, &f->db) != 0) {
		free(f);
		return -1;
	}
	add_user(f->db, ALICE, "alice@example.com");
	add_user(f->db, BOB, "bob@example.com");
	f->cfg.issuer = (char *)ORIGIN;
	f->cfg.issuer_authority = (char *)"localhost:8080";
	memset(f->s1.id_hash, '1', PC_SHA256_HEX_LEN);
	memset(f->s2.id_hash, '2', PC_SHA256_HEX_LEN);
	if (wa_soft_key_new(WA_COSE_ALG_ES256, 0, &f->key) != 0)
		return -1;
	randombytes_buf(f->cred_id, sizeof(f->cred_id));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int r = store_fixture_close(f->dir, f->db);

	wa_soft_key_free(&f->key);
	free(f);
	return r;
}

static char *
b64(const uint8_t *p, size_t n)
{
	char *s = malloc(b64url_encoded_len(n) + 1);

	assert_non_null(s);
	b64url_encode(p, n, s);
	return s;
}

static void
raw_challenge(const char *b64c, uint8_t out[32])
{
	size_t n = 0;

	assert_int_equal(b64url_decode(b64c, strlen(b64c), out, 32, &n), 0);
	assert_int_equal(n, 32);
}

/* Alice enrols f->cred_id from session s1; returns finish's result. */
static int
enrol(struct fx *f, const struct session *finish_in, char *replay_chal)
{
	struct passkey_options o;
	struct wa_bytes cose = { 0 }, ad = { 0 }, att = { 0 };
	uint8_t chal[32], aaguid[16] = { 0 };
	char id[PASSKEY_ID_LEN], *cd, *cd64, *att64;
	int r;

	assert_int_equal(passkey_begin(f->db, &f->cfg, &f->s1, PASSKEY_REGISTER,
			     ALICE, false, T0, &o),
	    0);
	snprintf(f->handle, sizeof(f->handle), "%s", o.user_handle);
	assert_string_equal(o.rp_id, "localhost");
	raw_challenge(o.challenge, chal);
	assert_int_equal(wa_soft_cose(&f->key, &cose), 0);
	assert_int_equal(
	    wa_soft_auth_data("localhost", F_UP | F_UV | F_AT, 1, aaguid,
		f->cred_id, sizeof(f->cred_id), &cose, NULL, &ad),
	    0);
	cd = wa_soft_client_data("webauthn.create", chal, ORIGIN, NULL);
	assert_int_equal(
	    wa_soft_att_obj("none", &ad, cd, &f->key, NULL, NULL, &att), 0);
	cd64 = b64((const uint8_t *)cd, strlen(cd));
	att64 = b64(att.p, att.n);
	{
		struct passkey_registration in = { o.challenge, cd64, att64,
			"internal", "Laptop" };

		r = passkey_register_finish(
		    f->db, &f->cfg, finish_in, ALICE, &in, T0 + 1, id);
		if (r == 0 && replay_chal != NULL)
			r = passkey_register_finish(
			    f->db, &f->cfg, finish_in, ALICE, &in, T0 + 2, id);
	}
	free(cd);
	free(cd64);
	free(att64);
	wa_bytes_free(&cose);
	wa_bytes_free(&ad);
	wa_bytes_free(&att);
	passkey_options_clear(&o);
	return r;
}

/* A sign-in with Alice's key: counter, flags, handle as given. */
static int
sign(struct fx *f, enum passkey_purpose purpose, const char *user,
    bool uv_asked, uint8_t flags, uint32_t counter, const char *handle,
    struct passkey_result *res)
{
	struct passkey_options o;
	struct wa_bytes ad = { 0 }, sig = { 0 };
	uint8_t chal[32];
	char *cd, *cd64, *ad64, *sig64, *id64;
	int r;

	assert_int_equal(passkey_begin(f->db, &f->cfg, &f->s2, purpose, user,
			     uv_asked, T0 + 10, &o),
	    0);
	raw_challenge(o.challenge, chal);
	assert_int_equal(wa_soft_auth_data("localhost", flags, counter, NULL,
			     NULL, 0, NULL, NULL, &ad),
	    0);
	cd = wa_soft_client_data("webauthn.get", chal, ORIGIN, NULL);
	assert_int_equal(wa_soft_sign_assertion(&f->key, &ad, cd, &sig), 0);
	cd64 = b64((const uint8_t *)cd, strlen(cd));
	ad64 = b64(ad.p, ad.n);
	sig64 = b64(sig.p, sig.n);
	id64 = b64(f->cred_id, sizeof(f->cred_id));
	{
		struct passkey_assertion in = { o.challenge, id64, cd64, ad64,
			sig64, handle };

		r = passkey_assert_finish(f->db, &f->cfg, &f->s2, purpose,
		    purpose == PASSKEY_FACTOR ? user : NULL, &in, T0 + 11, res);
	}
	free(cd);
	free(cd64);
	free(ad64);
	free(sig64);
	free(id64);
	wa_bytes_free(&ad);
	wa_bytes_free(&sig);
	passkey_options_clear(&o);
	return r;
}

static void
test_passkey_WA02_challenge_once_and_in_its_session(void **state)
{
	struct fx *f = *state;

	/* Finished from another session: not its challenge. */
	assert_int_equal(enrol(f, &f->s2, NULL), PC_ERR_NOT_FOUND);
	/* From its own: once. */
	assert_int_equal(enrol(f, &f->s1, "replay"), PC_ERR_NOT_FOUND);
	randombytes_buf(f->cred_id, sizeof(f->cred_id));
	assert_int_equal(enrol(f, &f->s1, NULL), 0);
	/* WA-05: the same credential id again is refused. */
	assert_int_equal(enrol(f, &f->s1, NULL), PC_ERR_CONFLICT);
}

static void
test_passkey_WA04_WA05_passwordless(void **state)
{
	struct fx *f = *state;
	struct passkey_result res;
	char amr[64];

	assert_int_equal(enrol(f, &f->s1, NULL), 0);
	/* UV is required, whatever the browser was asked. */
	assert_int_equal(
	    sign(f, PASSKEY_LOGIN, NULL, false, F_UP, 2, f->handle, &res),
	    PC_ERR_VERIFY);
	passkey_result_clear(&res);
	/* The handle must be the credential owner's. */
	assert_int_equal(sign(f, PASSKEY_LOGIN, NULL, true, F_UP | F_UV, 3,
			     "c29tZW9uZS1lbHNl", &res),
	    PC_ERR_VERIFY);
	passkey_result_clear(&res);
	assert_int_equal(
	    sign(f, PASSKEY_LOGIN, NULL, true, F_UP | F_UV, 4, f->handle, &res),
	    0);
	assert_string_equal(res.user_id, ALICE);
	assert_true(res.uv);
	passkey_amr("", &res, amr, sizeof(amr));
	assert_string_equal(amr, "hwk mfa");
	passkey_result_clear(&res);
}

static void
test_passkey_WA03_counter_replay_flags_for_good(void **state)
{
	struct fx *f = *state;
	struct passkey_result res;
	struct mfa_factors mf;

	assert_int_equal(enrol(f, &f->s1, NULL), 0);
	assert_int_equal(
	    sign(f, PASSKEY_LOGIN, NULL, true, F_UP | F_UV, 5, f->handle, &res),
	    0);
	passkey_result_clear(&res);
	/* The same counter again: a copy. */
	assert_int_equal(
	    sign(f, PASSKEY_LOGIN, NULL, true, F_UP | F_UV, 5, f->handle, &res),
	    PC_ERR_CONFLICT);
	assert_true(res.cloned);
	assert_string_equal(res.user_id, ALICE);
	passkey_result_clear(&res);
	/* Flagged: even a higher counter is refused now, and it is no
	 * longer a factor. */
	assert_int_equal(
	    sign(f, PASSKEY_LOGIN, NULL, true, F_UP | F_UV, 9, f->handle, &res),
	    PC_ERR_VERIFY);
	passkey_result_clear(&res);
	assert_int_equal(mfa_factors_get(f->db, ALICE, &mf), 0);
	assert_int_equal(mf.passkeys, 0);
}

static void
test_passkey_factor_is_the_expected_users(void **state)
{
	struct fx *f = *state;
	struct passkey_result res;
	struct passkey_options o;
	char amr[64];

	assert_int_equal(enrol(f, &f->s1, NULL), 0);
	/* Bob has no passkey: no button for him. */
	assert_int_equal(passkey_begin(f->db, &f->cfg, &f->s2, PASSKEY_FACTOR,
			     BOB, false, T0, &o),
	    PC_ERR_NOT_FOUND);
	/* After a password, presence is the second factor. */
	assert_int_equal(
	    sign(f, PASSKEY_FACTOR, ALICE, false, F_UP, 2, NULL, &res), 0);
	assert_false(res.uv);
	passkey_amr("pwd", &res, amr, sizeof(amr));
	assert_string_equal(amr, "pwd hwk mfa");
	passkey_result_clear(&res);
	/* A step-up asks for UV and gets refused without it. */
	assert_int_equal(
	    sign(f, PASSKEY_FACTOR, ALICE, true, F_UP, 3, NULL, &res),
	    PC_ERR_VERIFY);
	passkey_result_clear(&res);
}

static void
test_passkey_rp_and_amr(void **state)
{
	struct fx *f = *state;
	struct passkey_result p = { 0 };
	struct passkey_options o;
	char amr[64];

	assert_null(passkey_unavailable(&f->cfg));
	f->cfg.issuer_authority = (char *)"auth.example.com";
	assert_null(passkey_unavailable(&f->cfg));
	f->cfg.issuer_authority = (char *)"127.0.0.1:8080";
	assert_non_null(passkey_unavailable(&f->cfg));
	assert_int_equal(passkey_begin(f->db, &f->cfg, &f->s1, PASSKEY_LOGIN,
			     NULL, true, T0, &o),
	    PC_ERR_UNSUPPORTED);
	f->cfg.issuer_authority = (char *)"[::1]:8080";
	assert_non_null(passkey_unavailable(&f->cfg));

	passkey_amr("", &p, amr, sizeof(amr));
	assert_string_equal(amr, "hwk"); /* presence only: no "mfa" */
	p.synced = true;
	p.uv = true;
	passkey_amr("pwd otp mfa", &p, amr, sizeof(amr));
	assert_string_equal(amr, "pwd otp swk mfa");
	passkey_amr("pwd swk", &p, amr, sizeof(amr));
	assert_string_equal(amr, "pwd swk mfa");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_passkey_WA02_challenge_once_and_in_its_session, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_passkey_WA04_WA05_passwordless, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_passkey_WA03_counter_replay_flags_for_good, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_passkey_factor_is_the_expected_users, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_passkey_rp_and_amr, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
