/*
 * The outbound fetch policy (src/machine/fetch.c; SECURITY.md DS-05):
 * which addresses and ports an operator-configured URL may reach, and
 * that a refused target is refused before any connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "machine/machine.h"
#include "util/config.h"
#include "util/netaddr.h"

static struct netaddr
addr(const char *s)
{
	struct netaddr a;

	if (netaddr_parse(s, strlen(s), &a) != 0)
		fail_msg("bad test address %s", s);
	return a;
}

/* A policy from the three settings, like the server builds it. */
static void
policy(struct fetch_policy *p, const char *nets, const char *ports)
{
	struct config c;
	char err[160];

	memset(&c, 0, sizeof(c));
	c.outbound_allow_networks = (char *)nets;
	c.outbound_allow_ports = (char *)ports;
	c.outbound_ca_file = (char *)"";
	c.outbound_connect_timeout = 2;
	c.outbound_timeout = 2;
	c.outbound_max_size = 65536;
	if (fetch_policy_init(&c, p, err, sizeof(err)) != 0)
		fail_msg("policy: %s", err);
}

static void
test_fetch_DS05_special_addresses_blocked(void **state)
{
	static const char *const blocked[] = { "127.0.0.1", "127.255.0.9",
		"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", /* cloud metadata */
		"0.0.0.0", "100.64.0.1", "224.0.0.1", "239.255.255.250",
		"255.255.255.255", "198.18.0.1", "::", "::1", "fe80::1",
		"fc00::1", "fd12:3456::1", "ff02::1", "fec0::1",
		/* IPv4 inside IPv6: mapped, compatible, NAT64, 6to4, Teredo */
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
		"::127.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::1",
		"2001:0:4136:e378::1", "2001:db8::1" };
	static const char *const open[] = { "8.8.8.8", "1.1.1.1",
		"93.184.216.34", "172.32.0.1", "192.169.0.1", "100.128.0.1",
		"2606:4700:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8" };
	struct fetch_policy p;

	(void)state;
	policy(&p, "", "");
	for (size_t i = 0; i < sizeof(blocked) / sizeof(*blocked); i++) {
		struct netaddr a = addr(blocked[i]);

		if (!fetch_addr_special(&a) || fetch_addr_allowed(&p, &a, 443))
			fail_msg("%s is not blocked", blocked[i]);
	}
	for (size_t i = 0; i < sizeof(open) / sizeof(*open); i++) {
		struct netaddr a = addr(open[i]);

		if (fetch_addr_special(&a) || !fetch_addr_allowed(&p, &a, 443))
			fail_msg("%s is blocked", open[i]);
	}
	fetch_policy_free(&p);
}

static void
test_fetch_DS05_allow_list_and_ports(void **state)
{
	struct fetch_policy p;
	struct netaddr lo = addr("127.0.0.1"), ten = addr("10.0.0.5"),
		       mapped = addr("::ffff:127.0.0.1"), pub = addr("8.8.8.8");

	(void)state;
	/* Default: 443 only, and never a private address. */
	policy(&p, "", "");
	assert_true(fetch_port_allowed(&p, 443));
	assert_false(fetch_port_allowed(&p, 80));
	assert_false(fetch_port_allowed(&p, 8443));
	assert_false(fetch_addr_allowed(&p, &pub, 8443));
	assert_false(fetch_addr_allowed(&p, &lo, 443));
	fetch_policy_free(&p);

	/* The operator's networks and ports; the list replaces 443. */
	policy(&p, "127.0.0.0/8", "8443, 9443");
	assert_true(fetch_addr_allowed(&p, &lo, 8443));
	assert_true(fetch_addr_allowed(&p, &mapped, 9443));
	assert_false(fetch_addr_allowed(&p, &lo, 443));
	assert_false(fetch_addr_allowed(&p, &ten, 8443));
	assert_true(fetch_addr_allowed(&p, &pub, 8443));
	assert_false(fetch_addr_allowed(&p, &pub, 443));
	fetch_policy_free(&p);
}

static void
test_fetch_DS05_url_rules(void **state)
{
	static const char *const bad[] = { "http://8.8.8.8/jwks",
		"ftp://example.com/jwks", "https://user:pw@example.com/jwks",
		"https://example.com/jwks#frag",
		"https://example.com:8443/jwks", "file:///etc/passwd",
		"gopher://example.com", "not a url", "",
		"https://[fe80::1%25eth0]/jwks" };
	struct fetch_policy p;
	const char *why = NULL;

	(void)state;
	policy(&p, "", "");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		why = NULL;
		if (fetch_url_check(&p, bad[i], &why) == 0)
			fail_msg("%s passes", bad[i]);
		assert_non_null(why);
	}
	assert_int_equal(
	    fetch_url_check(&p, "https://example.com/jwks", &why), 0);
	assert_int_equal(fetch_url_check(&p,
			     "https://example.com:443/.well-known/jwks", &why),
	    0);
	fetch_policy_free(&p);
}

static void
test_fetch_DS05_refused_before_connecting(void **state)
{
	struct fetch_policy p;
	char *body = NULL;
	size_t len = 0;

	(void)state;
	policy(&p, "", "443, 1");
	/* Loopback by literal and by name, the metadata address, a mapped
	 * loopback: refused by the policy, nothing is connected. */
	assert_int_equal(
	    fetch_get(&p, "https://127.0.0.1:1/", &body, &len), PC_ERR_PERM);
	assert_int_equal(
	    fetch_get(&p, "https://localhost:1/", &body, &len), PC_ERR_PERM);
	assert_int_equal(
	    fetch_get(&p, "https://169.254.169.254/latest/", &body, &len),
	    PC_ERR_PERM);
	assert_int_equal(
	    fetch_get(&p, "https://[::ffff:127.0.0.1]:1/", &body, &len),
	    PC_ERR_PERM);
	assert_int_equal(
	    fetch_get(&p, "http://8.8.8.8/", &body, &len), PC_ERR_INVALID);
	assert_null(body);
	fetch_policy_free(&p);

	/* Allowed: the check passes and the connection is tried (nothing
	 * listens on port 1): a network error, not a policy refusal. */
	policy(&p, "127.0.0.0/8, ::1/128", "1");
	assert_int_equal(
	    fetch_get(&p, "https://127.0.0.1:1/", &body, &len), PC_ERR_IO);
	assert_null(body);
	fetch_policy_free(&p);
}

static void
test_fetch_DS05_settings_refused(void **state)
{
	struct config c;
	struct fetch_policy p;
	char err[160];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.outbound_allow_ports = (char *)"";
	c.outbound_allow_networks = (char *)"10.0.0.1/8";
	assert_int_not_equal(fetch_policy_init(&c, &p, err, sizeof(err)), 0);
	c.outbound_allow_networks = (char *)"";
	c.outbound_allow_ports = (char *)"0";
	assert_int_not_equal(fetch_policy_init(&c, &p, err, sizeof(err)), 0);
	c.outbound_allow_ports = (char *)"65536";
	assert_int_not_equal(fetch_policy_init(&c, &p, err, sizeof(err)), 0);
	c.outbound_allow_ports = (char *)"443,,8443";
	assert_int_not_equal(fetch_policy_init(&c, &p, err, sizeof(err)), 0);
	c.outbound_allow_ports = (char *)"+443";
	assert_int_not_equal(fetch_policy_init(&c, &p, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_DS05_special_addresses_blocked),
		cmocka_unit_test(test_fetch_DS05_allow_list_and_ports),
		cmocka_unit_test(test_fetch_DS05_url_rules),
		cmocka_unit_test(test_fetch_DS05_refused_before_connecting),
		cmocka_unit_test(test_fetch_DS05_settings_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
