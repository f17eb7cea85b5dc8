/*
 * Unit tests for auth/password.c (SECURITY.md PW-01..06, LG-02, DS-02):
 * Argon2id PHC strings with a fresh salt each, re-hash when the cost
 * changes and a floor on the configured cost, length in code points after
 * NFKC (15, or 8 with MFA; up to 256), the whole long input verified and
 * the byte cap before any work, NFKC on set and verify, and the blocklist
 * (common list, context words, zxcvbn strength) with its reasons.
 *
 * Tests that are not about the cost use cheap parameters built directly
 * (t = 1, m = 8 MiB): below the floor, which only pw_params_from_config
 * enforces.
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

#include "auth/auth.h"

static const struct pw_params fast = { 1, 8u * 1024 * 1024 };

/* A strong 15-character password (zxcvbn: ~96 bits). */
#define STRONG15 "Kx9#mQ2!vL7pZ4w"
#define PHC9216 "$argon2id$v=19$m=9216,t=2,p=1$"

static enum pw_verdict
verdict(const char *pw, bool mfa, const char *const *ctx)
{
	struct pw_check c;

	assert_int_equal(pw_check(pw, strlen(pw), mfa, ctx, &c), 0);
	assert_non_null(c.message);
	return c.verdict;
}

static void
hash_ok(const struct pw_params *p, const char *pw, char out[PW_PHC_MAX])
{
	assert_int_equal(pw_hash(p, pw, strlen(pw), out), 0);
}

static int
verify(const char *phc, const char *pw)
{
	return pw_verify(phc, pw, strlen(pw));
}

/* ------------------------------------------------------------------ */

static void
test_password_pw01_phc_format_and_salt(void **state)
{
	char a[PW_PHC_MAX], b[PW_PHC_MAX];
	const struct pw_params p = { 2, 9u * 1024 * 1024 };

	(void)state;
	hash_ok(&p, STRONG15, a);
	hash_ok(&p, STRONG15, b);
	assert_true(strncmp(a, PHC9216, strlen(PHC9216)) == 0);
	assert_true(strncmp(b, PHC9216, strlen(PHC9216)) == 0);
	/* The password never appears in the stored string. */
	assert_null(strstr(a, STRONG15));
	/* Per-hash random salt: same password, different strings. */
	assert_string_not_equal(a, b);
	/* 16-byte salt: 22 base64 characters between the last two '$'. */
	{
		const char *s = a + strlen(PHC9216), *e = strchr(s, '$');

		assert_non_null(e);
		assert_int_equal(e - s, 22);
		assert_int_equal(strlen(e + 1), 43); /* 32-byte tag */
	}
	assert_int_equal(verify(a, STRONG15), 0);
	assert_int_equal(verify(b, STRONG15), 0);
	assert_int_equal(verify(a, "Kx9#mQ2!vL7pZ4W"), PC_ERR_VERIFY);
}

static void
test_password_pw02_needs_rehash(void **state)
{
	char phc[PW_PHC_MAX];
	const struct pw_params more_t = { 2, fast.memlimit };
	const struct pw_params more_m = { 1, 16u * 1024 * 1024 };

	(void)state;
	hash_ok(&fast, STRONG15, phc);
	assert_false(pw_needs_rehash(&fast, phc));
	assert_true(pw_needs_rehash(&more_t, phc));
	assert_true(pw_needs_rehash(&more_m, phc));
	/* Not Argon2id v1.3, or not a PHC string at all. */
	assert_true(pw_needs_rehash(
	    &fast, "$argon2i$v=19$m=8192,t=1,p=1$c29tZXNhbHQ$aGFzaA"));
	assert_true(pw_needs_rehash(&fast, "plaintext"));
	assert_true(pw_needs_rehash(&fast, NULL));
}

static void
test_password_pw02_params_from_config(void **state)
{
	struct config c;
	struct pw_params p;
	char err[256];
	static const struct {
		int64_t m_mib, t;
		bool ok;
	} cases[] = {
		{ 64, 3, true },  /* the default */
		{ 19, 2, true },  /* OWASP minimum */
		{ 18, 2, false }, /* just below it */
		{ 46, 1, true },
		{ 45, 1, false },
		{ 64, 1, true },
		{ 12, 3, true },
		{ 11, 3, false },
		{ 9, 4, true },
		{ 8, 4, false },
		{ 8, 5, true },
		{ 8, 10, true },
		{ 8, 1, false },
	};

	(void)state;
	config_defaults(&c);
	assert_int_equal(c.pwhash_memory, 64 * 1024 * 1024);
	assert_int_equal(c.pwhash_iterations, 3);
	assert_int_equal(pw_params_from_config(&c, &p, err, sizeof(err)), 0);
	assert_int_equal(p.opslimit, 3);
	assert_int_equal(p.memlimit, 64u * 1024 * 1024);
	for (size_t i = 0; i < PC_NELEM(cases); i++) {
		int r;

		c.pwhash_memory = cases[i].m_mib * 1024 * 1024;
		c.pwhash_iterations = cases[i].t;
		err[0] = '\0';
		r = pw_params_from_config(&c, &p, err, sizeof(err));
		if (cases[i].ok) {
			assert_int_equal(r, 0);
		} else {
			assert_int_equal(r, PC_ERR_CONFIG);
			assert_non_null(strstr(err, "below the OWASP minimum"));
		}
	}
	/* The config table knows the settings, their suffixes and ranges. */
	assert_int_equal(config_set(&c, "pwhash_memory", "128m",
			     CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_equal(c.pwhash_memory, 128 * 1024 * 1024);
	assert_int_equal(config_set(&c, "pwhash_memory", "4096m",
			     CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_not_equal(config_set(&c, "pwhash_memory", "4097m",
				 CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_not_equal(config_set(&c, "pwhash_memory", "7m",
				 CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_not_equal(config_set(&c, "pwhash_iterations", "11",
				 CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	assert_int_not_equal(config_set(&c, "pwhash_iterations", "0",
				 CONFIG_SRC_FILE, err, sizeof(err)),
	    0);
	config_free(&c);
}

static void
test_password_pw03_min_length(void **state)
{
	/* 15 two-byte code points: 30 bytes, counted as 15. */
	static const char greek15[] =
	    "\xce\xa9\xcf\x88\xce\xa3\xce\xbb\xce\xb4"
	    "\xcf\x86\xce\xb3\xce\xb2\xce\xb6\xce\xbe"
	    "\xcf\x80\xce\xb8\xce\xbc\xce\xba\xce\xbd";
	char greek14[sizeof(greek15)];
	struct pw_check c;

	(void)state;
	assert_int_equal(verdict(STRONG15, false, NULL), PW_OK);
	assert_int_equal(verdict("Kx9#mQ2!vL7pZ4", false, NULL), PW_TOO_SHORT);
	assert_int_equal(verdict("", false, NULL), PW_TOO_SHORT);
	assert_int_equal(verdict(greek15, false, NULL), PW_OK);
	memcpy(greek14, greek15, sizeof(greek15));
	greek14[28] = '\0';
	assert_int_equal(verdict(greek14, false, NULL), PW_TOO_SHORT);
	/* With MFA: 8 is enough, 7 is not. */
	assert_int_equal(verdict("Kx9#mQ2!", true, NULL), PW_OK);
	assert_int_equal(verdict("Kx9#mQ2", true, NULL), PW_TOO_SHORT);
	assert_int_equal(verdict("Kx9#mQ2!", false, NULL), PW_TOO_SHORT);
	assert_int_equal(pw_check("Kx9#mQ2", 7, true, NULL, &c), 0);
	assert_non_null(strstr(c.message, "at least 8"));
	assert_int_equal(pw_check("Kx9#mQ2", 7, false, NULL, &c), 0);
	assert_non_null(strstr(c.message, "at least 15"));
}

static void
test_password_pw04_long_passphrase(void **state)
{
	static const char P[] = "Seven quiet otters juggle marmalade under the "
				"violet bridge at dawn, humming 42!";
	char phc[PW_PHC_MAX], px[sizeof(P) + 1], big[300];

	(void)state;
	assert_int_equal(strlen(P), 80);
	assert_int_equal(verdict(P, false, NULL), PW_OK);
	hash_ok(&fast, P, phc);
	assert_int_equal(verify(phc, P), 0);
	/* The whole input counts: no bcrypt-style cut at 72 bytes. */
	memcpy(px, P, 80);
	px[80] = 'x';
	px[81] = '\0';
	assert_int_equal(pw_verify(phc, px, 81), PC_ERR_VERIFY);
	assert_int_equal(pw_verify(phc, P, 72), PC_ERR_VERIFY);
	assert_int_equal(pw_verify(phc, P, 79), PC_ERR_VERIFY);
	/* 256 code points accepted, 257 refused (PW_MAX_CHARS). */
	for (size_t i = 0; i < 257; i++)
		big[i] = "Kx9#mQ2!vL7pZ4w"[i % 15] + (char)(i / 15 % 3);
	big[257] = '\0';
	{
		struct pw_check c;

		assert_int_equal(pw_check(big, 256, false, NULL, &c), 0);
		assert_int_equal(c.verdict, PW_OK);
		assert_int_equal(pw_check(big, 257, false, NULL, &c), 0);
		assert_int_equal(c.verdict, PW_TOO_LONG);
	}
}

static void
test_password_pw04_ds02_byte_cap(void **state)
{
	char *pw = malloc(PW_MAX_BYTES + 2);
	char phc[PW_PHC_MAX], ok[PW_PHC_MAX];
	struct pw_check c;

	(void)state;
	assert_non_null(pw);
	/* 1025 bytes, and not even UTF-8: the cap answers first. */
	memset(pw, 0xff, PW_MAX_BYTES + 1);
	pw[PW_MAX_BYTES + 1] = '\0';
	assert_int_equal(pw_check(pw, PW_MAX_BYTES + 1, false, NULL, &c), 0);
	assert_int_equal(c.verdict, PW_TOO_LONG);
	assert_int_equal(
	    pw_hash(&fast, pw, PW_MAX_BYTES + 1, phc), PC_ERR_TOO_LARGE);
	assert_string_equal(phc, "");
	hash_ok(&fast, STRONG15, ok);
	assert_int_equal(pw_verify(ok, pw, PW_MAX_BYTES + 1), PC_ERR_INVALID);
	/* 1024 bytes of text pass the cap (then refused: too many chars). */
	memset(pw, 'a', PW_MAX_BYTES);
	assert_int_equal(pw_check(pw, PW_MAX_BYTES, false, NULL, &c), 0);
	assert_int_equal(c.verdict, PW_TOO_LONG);
	assert_int_equal(pw_hash(&fast, pw, PW_MAX_BYTES, phc), 0);
	assert_int_equal(pw_verify(phc, pw, PW_MAX_BYTES), 0);
	free(pw);
}

static void
test_password_pw05_nfkc_e_acute(void **state)
{
	/* U+00E9 precomposed vs U+0065 U+0301 decomposed. */
	static const char pre[] = "Caf\xc3\xa9 au lait, ohne Zucker 7";
	static const char dec[] = "Cafe\xcc\x81 au lait, ohne Zucker 7";
	char phc[PW_PHC_MAX], phc2[PW_PHC_MAX];

	(void)state;
	assert_int_equal(verdict(pre, false, NULL), PW_OK);
	assert_int_equal(verdict(dec, false, NULL), PW_OK);
	hash_ok(&fast, pre, phc);
	assert_int_equal(verify(phc, dec), 0);
	assert_int_equal(verify(phc, pre), 0);
	hash_ok(&fast, dec, phc2);
	assert_int_equal(verify(phc2, pre), 0);
	/* A different letter still fails. */
	assert_int_equal(
	    verify(phc, "Cafe au lait, ohne Zucker 7"), PC_ERR_VERIFY);
}

static void
test_password_pw05_nfkc_fullwidth(void **state)
{
	/* "Ｋｘ９＃ｍＱ２！ｖＬ７ｐＺ４ｗ": fullwidth forms of STRONG15. */
	static const char full[] = "\xef\xbc\xab\xef\xbd\x98\xef\xbc\x99"
				   "\xef\xbc\x83\xef\xbd\x8d\xef\xbc\xb1"
				   "\xef\xbc\x92\xef\xbc\x81\xef\xbd\x96"
				   "\xef\xbc\xac\xef\xbc\x97\xef\xbd\x90"
				   "\xef\xbc\xba\xef\xbc\x94\xef\xbd\x97";
	/* "ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ" */
	static const char fullcommon[] = "\xef\xbd\x90\xef\xbd\x81\xef\xbd\x93"
					 "\xef\xbd\x93\xef\xbd\x97\xef\xbd\x8f"
					 "\xef\xbd\x92\xef\xbd\x84\xef\xbd\x90"
					 "\xef\xbd\x81\xef\xbd\x93\xef\xbd\x93"
					 "\xef\xbd\x97\xef\xbd\x8f\xef\xbd\x92"
					 "\xef\xbd\x84";
	char phc[PW_PHC_MAX];

	(void)state;
	hash_ok(&fast, full, phc);
	assert_int_equal(verify(phc, STRONG15), 0);
	hash_ok(&fast, STRONG15, phc);
	assert_int_equal(verify(phc, full), 0);
	assert_int_equal(verdict(full, false, NULL), PW_OK);
	assert_int_equal(verdict(fullcommon, false, NULL), PW_COMMON);
}

static void
test_password_pw06_common(void **state)
{
	struct pw_check c;
	static const char *const common[] = {
		"passwordpassword",
		"PasswordPassword",
		"password12345678",
		"Password1234567!",
		"iloveyouiloveyou",
		"letmeinletmein12",
		"dragondragon!!!1",
		"qwertyqwertyqwerty",
		"Sunshine 2024 2024",
	};

	(void)state;
	for (size_t i = 0; i < PC_NELEM(common); i++) {
		print_message("%s\n", common[i]);
		assert_int_equal(
		    pw_check(common[i], strlen(common[i]), false, NULL, &c), 0);
		assert_int_equal(c.verdict, PW_COMMON);
		assert_non_null(strstr(c.message, "too common"));
	}
	/* With MFA (8 suffices) the list itself matches, case-insensitively. */
	assert_int_equal(verdict("password", true, NULL), PW_COMMON);
	assert_int_equal(verdict("PASSWORD", true, NULL), PW_COMMON);
	assert_int_equal(verdict("12345678", true, NULL), PW_COMMON);
	assert_int_equal(verdict("Password1", true, NULL), PW_COMMON);
}

static void
test_password_pw06_context(void **state)
{
	static const char *const ctx[] = { "alice.wonder", "Alice Wonderland",
		NULL };
	struct pw_check c;

	(void)state;
	assert_int_equal(
	    pw_check("my Wonderland is 9 miles", 24, false, ctx, &c), 0);
	assert_int_equal(c.verdict, PW_CONTEXT);
	assert_non_null(strstr(c.message, "your name"));
	assert_int_equal(
	    verdict("ALICE drinks 7 cups of tea", false, ctx), PW_CONTEXT);
	/* The service name is always a context word. */
	assert_int_equal(
	    verdict("open the Portcullis at nine", false, NULL), PW_CONTEXT);
	/* Words under 4 characters do not count; others pass. */
	{
		static const char *const shortctx[] = { "bob", NULL };

		assert_int_equal(
		    verdict("bob drinks 7 cups of green tea", false, shortctx),
		    PW_OK);
	}
	assert_int_equal(
	    verdict("she drinks 7 cups of tea", false, ctx), PW_OK);
}

static void
test_password_pw06_weak(void **state)
{
	struct pw_check c;
	static const char *const weak[] = {
		"zxcvbnmasdfghjkl",
		"abcdefghijklmnop",
		"123456789012345",
		"mnbvcxzlkjhgfdsa",
		"zyxwvutsrqponmlk",
	};

	(void)state;
	for (size_t i = 0; i < PC_NELEM(weak); i++) {
		print_message("%s\n", weak[i]);
		assert_int_equal(
		    pw_check(weak[i], strlen(weak[i]), false, NULL, &c), 0);
		assert_int_equal(c.verdict, PW_WEAK);
		assert_non_null(strstr(c.message, "too easy to guess"));
	}
	assert_int_equal(verdict("blue sky running", false, NULL), PW_OK);
}

static void
test_password_control_chars(void **state)
{
	static const char *const bad[] = {
		"Kx9#mQ2!vL7pZ4w\n",
		"Kx9#mQ2!\tvL7pZ4w",
		"Kx9#mQ2!\x7fvL7pZ4w",
		"Kx9#mQ2!\xc2\x85vL7pZ4w", /* U+0085 NEL, a C1 control */
		"\x1bKx9#mQ2!vL7pZ4w",
	};
	struct pw_check c;

	(void)state;
	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		assert_int_equal(verdict(bad[i], false, NULL), PW_NOT_TEXT);
	}
	/* An embedded NUL counts too (len is explicit). */
	assert_int_equal(pw_check("Kx9#mQ2!\0vL7pZ4w", 16, false, NULL, &c), 0);
	assert_int_equal(c.verdict, PW_NOT_TEXT);
	assert_non_null(strstr(c.message, "not allowed"));
	/* Spaces and non-ASCII letters are fine (PW-07). */
	assert_int_equal(
	    verdict("sieben \xc3\xa4pfel und 3 birnen", false, NULL), PW_OK);
}

static void
test_password_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"Kx9#mQ2!vL7pZ4w\xff", "Kx9#mQ2!vL7pZ4w\xc3", /* truncated */
		"Kx9#mQ2!vL7pZ4w\xc0\xaf",		      /* overlong '/' */
		"Kx9#mQ2!vL7pZ4w\xed\xa0\x80",		      /* surrogate */
		"Kx9#mQ2!vL7pZ4w\xf4\x90\x80\x80",	      /* > U+10FFFF */
	};
	char phc[PW_PHC_MAX];

	(void)state;
	hash_ok(&fast, STRONG15, phc);
	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		char out[PW_PHC_MAX];

		assert_int_equal(verdict(bad[i], false, NULL), PW_NOT_TEXT);
		assert_int_equal(pw_hash(&fast, bad[i], strlen(bad[i]), out),
		    PC_ERR_INVALID);
		assert_int_equal(verify(phc, bad[i]), PC_ERR_INVALID);
	}
}

static void
test_password_verify_bad_phc(void **state)
{
	char phc[PW_PHC_MAX];
	const struct pw_params zero = { 0, 0 };

	(void)state;
	assert_int_equal(verify("", STRONG15), PC_ERR_INVALID);
	assert_int_equal(
	    verify("$2b$10$abcdefghijklmnopqrstuv", STRONG15), PC_ERR_INVALID);
	assert_int_equal(pw_verify(NULL, STRONG15, 15), PC_ERR_INVALID);
	assert_int_equal(
	    verify("$argon2id$v=19$m=8192,t=1,p=1$garbage", STRONG15),
	    PC_ERR_VERIFY);
	assert_int_equal(pw_hash(&zero, STRONG15, 15, phc), PC_ERR_INVALID);
	assert_int_equal(pw_hash(NULL, STRONG15, 15, phc), PC_ERR_INVALID);
}

static void
test_password_lg02_dummy_verify(void **state)
{
	const struct pw_params other = { 2, fast.memlimit };
	uint64_t t0, t1, t2;

	(void)state;
	/* First call makes the dummy hash; later ones only verify. */
	pw_dummy_verify(&fast, STRONG15, 15);
	t0 = clock_mono_ms();
	for (int i = 0; i < 5; i++)
		pw_dummy_verify(&fast, STRONG15, 15);
	t1 = clock_mono_ms();
	/* New parameters make a new dummy hash with them. */
	pw_dummy_verify(&other, STRONG15, 15);
	pw_dummy_verify(&fast, "", 0);
	pw_dummy_verify(&fast, "\xff", 1);
	t2 = clock_mono_ms();
	print_message("dummy verify: %llu ms for 5, %llu ms for 3\n",
	    (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
	/* It does real Argon2id work (m = 8 MiB takes well over 1 ms). */
	assert_true(t1 - t0 >= 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_pw01_phc_format_and_salt),
		cmocka_unit_test(test_password_pw02_needs_rehash),
		cmocka_unit_test(test_password_pw02_params_from_config),
		cmocka_unit_test(test_password_pw03_min_length),
		cmocka_unit_test(test_password_pw04_long_passphrase),
		cmocka_unit_test(test_password_pw04_ds02_byte_cap),
		cmocka_unit_test(test_password_pw05_nfkc_e_acute),
		cmocka_unit_test(test_password_pw05_nfkc_fullwidth),
		cmocka_unit_test(test_password_pw06_common),
		cmocka_unit_test(test_password_pw06_context),
		cmocka_unit_test(test_password_pw06_weak),
		cmocka_unit_test(test_password_control_chars),
		cmocka_unit_test(test_password_invalid_utf8),
		cmocka_unit_test(test_password_verify_bad_phc),
		cmocka_unit_test(test_password_lg02_dummy_verify),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
