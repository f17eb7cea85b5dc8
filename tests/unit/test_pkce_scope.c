/*
 * PKCE S256 (RFC 7636; SECURITY.md AZ-06, AZ-07, TK-03) and scope strings
 * (RFC 6749 §3.3; AZ-10).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "oauth/proto.h"

/* RFC 7636 Appendix B. */
static const char rfc_verifier[] =
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char rfc_challenge[] =
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

static void
test_pkce_TK03_rfc7636_vector(void **state)
{
	(void)state;
	assert_true(pkce_verify(rfc_verifier, rfc_challenge));
	/* One character off, either side: no. */
	assert_false(pkce_verify(
	    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj", rfc_challenge));
	assert_false(pkce_verify(
	    rfc_verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
	/* plain: the verifier itself as the challenge is not accepted. */
	assert_false(pkce_verify(rfc_verifier, rfc_verifier));
}

static void
test_pkce_AZ07_methods(void **state)
{
	(void)state;
	assert_true(pkce_method_ok("S256"));
	assert_false(pkce_method_ok("plain"));
	assert_false(pkce_method_ok("s256"));
	assert_false(pkce_method_ok(""));
	assert_false(pkce_method_ok(NULL));
}

static void
test_pkce_AZ07_challenge_shape(void **state)
{
	(void)state;
	assert_true(pkce_challenge_valid(rfc_challenge));
	assert_false(pkce_challenge_valid(NULL));
	assert_false(pkce_challenge_valid(""));
	/* 42 and 44 characters. */
	assert_false(
	    pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"));
	assert_false(pkce_challenge_valid(
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMA"));
	/* Padding, standard base64 characters, a non-canonical last char. */
	assert_false(pkce_challenge_valid(
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="));
	assert_false(pkce_challenge_valid(
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"));
	assert_false(pkce_challenge_valid(
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
}

static void
test_pkce_verifier_shape(void **state)
{
	char v[130];

	(void)state;
	memset(v, 'a', sizeof(v));
	v[42] = '\0';
	assert_false(pkce_verifier_valid(v)); /* 42 */
	v[42] = 'a';
	v[43] = '\0';
	assert_true(pkce_verifier_valid(v)); /* 43 */
	memset(v, 'a', sizeof(v));
	v[128] = '\0';
	assert_true(pkce_verifier_valid(v)); /* 128 */
	v[128] = 'a';
	v[129] = '\0';
	assert_false(pkce_verifier_valid(v)); /* 129 */
	memcpy(v, "abc def", 7);	      /* a space */
	v[60] = '\0';
	assert_false(pkce_verifier_valid(v));
	assert_true(
	    pkce_verifier_valid("aZ09-._~aZ09-._~aZ09-._~aZ09-._~aZ09-._~aZ0"));
	assert_false(
	    pkce_verifier_valid("aZ09-._~aZ09-._~aZ09-._~aZ09-._~aZ09-._~aZ+"));
	assert_false(pkce_verifier_valid(NULL));
}

static void
test_scope_AZ10_parse(void **state)
{
	struct scope_set s, allowed;
	struct buf b;

	(void)state;
	assert_int_equal(scope_parse("openid profile email openid", &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(scope_has(&s, "openid"));
	assert_false(scope_has(&s, "offline_access"));
	buf_init(&b, 1024);
	assert_int_equal(scope_format(&s, &b), 0);
	assert_string_equal(buf_cstr(&b), "openid profile email");
	buf_free(&b);
	assert_int_equal(
	    scope_parse("openid profile email offline_access", &allowed), 0);
	assert_true(scope_subset(&s, &allowed));
	scope_set_free(&s);
	assert_int_equal(scope_parse("openid admin", &s), 0);
	assert_false(scope_subset(&s, &allowed));
	scope_set_free(&s);
	scope_set_free(&allowed);

	assert_int_equal(scope_parse("", &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(scope_parse("a  b", &s), PC_ERR_INVALID);
	assert_int_equal(scope_parse(" a", &s), PC_ERR_INVALID);
	assert_int_equal(scope_parse("a ", &s), PC_ERR_INVALID);
	assert_int_equal(scope_parse("a\tb", &s), PC_ERR_INVALID);
	assert_int_equal(scope_parse("a\"b", &s), PC_ERR_INVALID);
	assert_int_equal(scope_parse("a\\b", &s), PC_ERR_INVALID);
	assert_int_equal(scope_parse("caf\xc3\xa9", &s), PC_ERR_INVALID);
	assert_int_equal(scope_parse(NULL, &s), PC_ERR_INVALID);
	assert_int_equal(s.n, 0);
}

static void
test_scope_caps(void **state)
{
	struct scope_set s;
	char many[SCOPE_MAX * 4 + 8];
	char big[SCOPE_TOKEN_MAX + 2];
	size_t n = 0;

	(void)state;
	for (int i = 0; i <= SCOPE_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s%c%c",
		    i ? " " : "", 'a' + i / 26, 'a' + i % 26);
	assert_int_equal(scope_parse(many, &s), PC_ERR_INVALID);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(scope_parse(big, &s), PC_ERR_INVALID);
	big[sizeof(big) - 2] = '\0';
	assert_int_equal(scope_parse(big, &s), 0);
	scope_set_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkce_TK03_rfc7636_vector),
		cmocka_unit_test(test_pkce_AZ07_methods),
		cmocka_unit_test(test_pkce_AZ07_challenge_shape),
		cmocka_unit_test(test_pkce_verifier_shape),
		cmocka_unit_test(test_scope_AZ10_parse),
		cmocka_unit_test(test_scope_caps),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
