/*
 * Principal ids (src/machine/principal.c): every kind is told apart by
 * prefix and shape alone, and an id of one kind is never read as another.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "machine/machine.h"

static void
test_principal_new_ids_read_back(void **state)
{
	static const enum principal_kind kinds[] = { PRINCIPAL_SERVICE_ACCOUNT,
		PRINCIPAL_GROUP, PRINCIPAL_WORKLOAD };
	char a[PRINCIPAL_ID_LEN + 1], b[PRINCIPAL_ID_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		assert_int_equal(principal_id_new(kinds[i], a), 0);
		assert_int_equal(principal_id_new(kinds[i], b), 0);
		assert_int_equal(strlen(a), PRINCIPAL_ID_LEN);
		assert_int_equal(principal_kind(a), kinds[i]);
		assert_memory_equal(a, principal_prefix(kinds[i]), 4);
		assert_string_not_equal(a, b);
	}
	/* Users, clients and keys get their ids elsewhere. */
	assert_int_not_equal(principal_id_new(PRINCIPAL_USER, a), 0);
	assert_int_not_equal(principal_id_new(PRINCIPAL_API_KEY, a), 0);
}

static void
test_principal_kind_by_shape(void **state)
{
	(void)state;
	assert_int_equal(
	    principal_kind("usr_AAAAAAAAAAAAAAAAAAAAAA"), PRINCIPAL_USER);
	assert_int_equal(
	    principal_kind("pcc_AAAAAAAAAAAAAAAAAAA-_A"), PRINCIPAL_CLIENT);
	assert_int_equal(
	    principal_kind("key_0123456789abcdeF"), PRINCIPAL_API_KEY);
	/* A key id is base62 only, exactly 16 characters. */
	assert_int_equal(
	    principal_kind("key_0123456789abcde_"), PRINCIPAL_NONE);
	assert_int_equal(
	    principal_kind("key_0123456789abcdeFG"), PRINCIPAL_NONE);
	/* Wrong length, wrong alphabet, unknown prefix, case, NULL. */
	assert_int_equal(principal_kind("svc_AAAA"), PRINCIPAL_NONE);
	assert_int_equal(
	    principal_kind("svc_AAAAAAAAAAAAAAAAAAAAA="), PRINCIPAL_NONE);
	assert_int_equal(
	    principal_kind("SVC_AAAAAAAAAAAAAAAAAAAAAA"), PRINCIPAL_NONE);
	assert_int_equal(
	    principal_kind("abc_AAAAAAAAAAAAAAAAAAAAAA"), PRINCIPAL_NONE);
	assert_int_equal(principal_kind(""), PRINCIPAL_NONE);
	assert_int_equal(principal_kind(NULL), PRINCIPAL_NONE);
	assert_string_equal(principal_prefix(PRINCIPAL_NONE), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_principal_new_ids_read_back),
		cmocka_unit_test(test_principal_kind_by_shape),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
