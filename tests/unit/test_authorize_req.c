/*
 * Authorization request parsing (src/oauth/authorize_req.c): which errors
 * may be redirected and which must be a page (AZ-01, AZ-02, AZ-09), the
 * response type (AZ-08), PKCE S256 only (AZ-06, AZ-07), request objects
 * refused (AZ-12), state kept byte-for-byte (AZ-05), unknown parameters
 * ignored.
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

#define CH "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define GOOD \
	"response_type=code&client_id=pcc_app&redirect_uri=https%3A%2F%2F" \
	"app.example%2Fcb&scope=openid+profile&state=xyz&code_challenge=" CH \
	"&code_challenge_method=S256&nonce=n1"

static const struct http_limits lim = { 64, 256, 8192, 16 };

static enum az_fail
parse(const char *query, struct az_request *a, struct kvlist *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(form_parse(query, strlen(query), &lim, l), 0);
	return az_parse(l, a);
}

static void
expect(const char *query, enum az_fail f, const char *error)
{
	struct az_request a;
	struct kvlist l;

	assert_int_equal(parse(query, &a, &l), f);
	if (error != NULL)
		assert_string_equal(a.error, error);
	az_request_clear(&a);
	kvlist_free(&l);
}

static void
test_az_good_request(void **state)
{
	struct az_request a;
	struct kvlist l;

	(void)state;
	assert_int_equal(
	    parse(GOOD "&unknown_ext=1&prompt=login&max_age=0", &a, &l), AZ_OK);
	assert_string_equal(a.client_id, "pcc_app");
	assert_string_equal(a.redirect_uri, "https://app.example/cb");
	assert_string_equal(a.state, "xyz");
	assert_string_equal(a.nonce, "n1");
	assert_true(scope_has(&a.scope, "openid"));
	assert_true(scope_has(&a.scope, "profile"));
	assert_int_equal(a.prompt, AZ_PROMPT_LOGIN);
	assert_int_equal(a.max_age, 0);
	az_request_clear(&a);
	kvlist_free(&l);
}

static void
test_az_AZ02_page_errors(void **state)
{
	(void)state;
	expect("response_type=code&redirect_uri=https%3A%2F%2Fa.example%2F",
	    AZ_FAIL_PAGE, "invalid_request");
	expect("response_type=code&client_id=pcc_app", AZ_FAIL_PAGE,
	    "invalid_request");
	expect("client_id=&redirect_uri=x", AZ_FAIL_PAGE, "invalid_request");
	expect("client_id=caf%C3%A9&redirect_uri=x", AZ_FAIL_PAGE,
	    "invalid_client");
}

static void
test_az_AZ09_duplicates(void **state)
{
	struct az_request a;
	struct kvlist l;

	(void)state;
	/* client_id or redirect_uri twice: a page, never a redirect. */
	expect(GOOD "&client_id=pcc_evil", AZ_FAIL_PAGE, "invalid_request");
	expect(GOOD "&redirect_uri=https%3A%2F%2Fevil.example%2F", AZ_FAIL_PAGE,
	    "invalid_request");
	/* Others: a redirect error. */
	expect(GOOD "&scope=openid", AZ_FAIL_REDIRECT, "invalid_request");
	expect(GOOD "&code_challenge=" CH, AZ_FAIL_REDIRECT, "invalid_request");
	/* A repeated state is not echoed at all. */
	assert_int_equal(parse(GOOD "&state=abc", &a, &l), AZ_FAIL_REDIRECT);
	assert_null(a.state);
	az_request_clear(&a);
	kvlist_free(&l);
}

static void
test_az_AZ08_response_type(void **state)
{
	(void)state;
	expect("client_id=c&redirect_uri=r&code_challenge=" CH
	       "&code_challenge_method=S256",
	    AZ_FAIL_REDIRECT, "invalid_request");
	expect("client_id=c&redirect_uri=r&response_type=token",
	    AZ_FAIL_REDIRECT, "unsupported_response_type");
	expect("client_id=c&redirect_uri=r&response_type=code+token",
	    AZ_FAIL_REDIRECT, "unsupported_response_type");
	expect("client_id=c&redirect_uri=r&response_type=id_token+token",
	    AZ_FAIL_REDIRECT, "unsupported_response_type");
	expect(GOOD "&response_mode=fragment", AZ_FAIL_REDIRECT,
	    "invalid_request");
}

static void
test_az_AZ06_AZ07_pkce(void **state)
{
	(void)state;
	expect("response_type=code&client_id=c&redirect_uri=r&state=s",
	    AZ_FAIL_REDIRECT, "invalid_request");
	/* Method omitted means plain: refused. */
	expect("response_type=code&client_id=c&redirect_uri=r&"
	       "code_challenge=" CH,
	    AZ_FAIL_REDIRECT, "invalid_request");
	expect("response_type=code&client_id=c&redirect_uri=r&"
	       "code_challenge=" CH "&code_challenge_method=plain",
	    AZ_FAIL_REDIRECT, "invalid_request");
	expect("response_type=code&client_id=c&redirect_uri=r&"
	       "code_challenge=short&code_challenge_method=S256",
	    AZ_FAIL_REDIRECT, "invalid_request");
}

static void
test_az_AZ12_request_objects(void **state)
{
	(void)state;
	expect(GOOD "&request=eyJhbGciOiJub25lIn0.e30.", AZ_FAIL_REDIRECT,
	    "request_not_supported");
	expect(GOOD "&request_uri=https%3A%2F%2Fattacker.example%2Fr",
	    AZ_FAIL_REDIRECT, "request_uri_not_supported");
}

static void
test_az_AZ05_long_state_kept(void **state)
{
	char q[4096];
	char st[2049];
	struct az_request a;
	struct kvlist l;

	(void)state;
	memset(st, 'S', 2048);
	st[2048] = '\0';
	snprintf(q, sizeof(q),
	    "response_type=code&client_id=c&redirect_uri=r&code_challenge=" CH
	    "&code_challenge_method=S256&state=%s",
	    st);
	assert_int_equal(parse(q, &a, &l), AZ_OK);
	assert_string_equal(a.state, st);
	az_request_clear(&a);
	kvlist_free(&l);
}

static void
test_az_prompt_scope_max_age(void **state)
{
	(void)state;
	expect(GOOD "&prompt=none+login", AZ_FAIL_REDIRECT, "invalid_request");
	expect(GOOD "&prompt=bogus", AZ_FAIL_REDIRECT, "invalid_request");
	expect(GOOD "&prompt=login+consent", AZ_OK, NULL);
	expect(GOOD "&max_age=-1", AZ_FAIL_REDIRECT, "invalid_request");
	expect(GOOD "&max_age=1e3", AZ_FAIL_REDIRECT, "invalid_request");
	expect("response_type=code&client_id=c&redirect_uri=r&scope=a++b&"
	       "code_challenge=" CH "&code_challenge_method=S256",
	    AZ_FAIL_REDIRECT, "invalid_scope");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_az_good_request),
		cmocka_unit_test(test_az_AZ02_page_errors),
		cmocka_unit_test(test_az_AZ09_duplicates),
		cmocka_unit_test(test_az_AZ08_response_type),
		cmocka_unit_test(test_az_AZ06_AZ07_pkce),
		cmocka_unit_test(test_az_AZ12_request_objects),
		cmocka_unit_test(test_az_AZ05_long_state_kept),
		cmocka_unit_test(test_az_prompt_scope_max_age),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
