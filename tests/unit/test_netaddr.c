/*
 * Unit tests for util/netaddr.c: the client IP behind trusted proxies
 * (LG-05), attack first: a forged X-Forwarded-For from an untrusted peer,
 * a spoofed left-most entry behind a trusted chain, malformed and
 * injected entries; then the CIDR list parser, IPv4-mapped addresses, the
 * LG-04 subnet keys and config_finish's refusal of a bad list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/config.h"
#include "util/netaddr.h"

static struct netaddr_list
list(const char *spec)
{
	struct netaddr_list l;
	char err[160] = "";

	if (netaddr_list_parse(spec, &l, err, sizeof(err)) != 0)
		fail_msg("netaddr_list_parse(%s): %s", spec, err);
	return l;
}

/* The client IP for peer and xff behind the trusted list spec. */
static void
client_is(const char *spec, const char *peer, const char *xff, const char *want)
{
	struct netaddr_list l = list(spec);
	char out[NETADDR_TEXT_MAX];

	assert_int_equal(netaddr_client_ip(&l, peer, xff, out, sizeof(out)), 0);
	if (strcmp(out, want) != 0)
		fail_msg("trusted '%s', peer %s, xff '%s': got %s, want %s",
		    spec, peer, xff != NULL ? xff : "(null)", out, want);
	netaddr_list_free(&l);
}

static void
refused(const char *spec)
{
	struct netaddr_list l;
	char err[160] = "";

	if (netaddr_list_parse(spec, &l, err, sizeof(err)) == 0)
		fail_msg("netaddr_list_parse accepted '%s'", spec);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	assert_true(err[0] != '\0');
}

static void
test_netaddr_LG05_forged_xff_from_untrusted_peer_ignored(void **state)
{
	(void)state;
	/* No proxies configured: the header never counts. */
	client_is("", "203.0.113.5", "1.2.3.4", "203.0.113.5");
	client_is("", "203.0.113.5", "127.0.0.1", "203.0.113.5");
	/* Proxies configured, but this peer is not one of them. */
	client_is("10.0.0.0/8", "203.0.113.5", "1.2.3.4", "203.0.113.5");
	client_is("10.0.0.0/8", "203.0.113.5", "10.0.0.1", "203.0.113.5");
	client_is("10.0.0.0/8", "11.0.0.1", "1.2.3.4", "11.0.0.1");
	client_is("::1", "::2", "1.2.3.4", "::2");
}

static void
test_netaddr_LG05_trusted_chain_spoofed_leftmost_yields_real_client(
    void **state)
{
	(void)state;
	/* The client sent "X-Forwarded-For: 6.6.6.6"; the edge proxy
	 * 192.0.2.1 appended the real client, the inner proxy appended the
	 * edge proxy. */
	client_is("10.0.0.0/8, 192.0.2.1", "10.0.0.2",
	    "6.6.6.6, 198.51.100.7, 192.0.2.1", "198.51.100.7");
	/* One proxy: right-most entry. */
	client_is(
	    "10.0.0.2", "10.0.0.2", "6.6.6.6,198.51.100.7", "198.51.100.7");
	/* A spoofed trusted address on the left changes nothing. */
	client_is(
	    "10.0.0.2", "10.0.0.2", "10.0.0.2, 198.51.100.7", "198.51.100.7");
	/* No header from a trusted proxy: the proxy itself. */
	client_is("10.0.0.2", "10.0.0.2", NULL, "10.0.0.2");
	client_is("10.0.0.2", "10.0.0.2", "", "10.0.0.2");
	/* The whole chain trusted: the left-most (last trusted) hop. */
	client_is("10.0.0.0/8", "10.0.0.2", "10.0.0.3, 10.0.0.4", "10.0.0.3");
	/* Spaces and tabs around entries. */
	client_is("10.0.0.0/8", "10.0.0.2", "  198.51.100.7 ,\t10.0.0.3\t",
	    "198.51.100.7");
}

static void
test_netaddr_LG05_malformed_entry_yields_last_trusted_hop(void **state)
{
	static const char *const bad[] = { "evil", "unknown", "1.2.3.4:80",
		"[2001:db8::1]", "1.2.3", "01.2.3.4", "1.2.3.4 5.6.7.8",
		"<script>", "fe80::1%eth0", "1.2.3.4/32", "::ffff:1.2.3.4.5",
		"999.1.1.1", "1.2.3.4\r\nSet-Cookie: x=y",
		"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:1" };
	char xff[256], longest[200];

	(void)state;
	/* An entry far over any address length. */
	memset(longest, '1', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	snprintf(xff, sizeof(xff), "6.6.6.6, %s, 10.0.0.3", longest);
	client_is("10.0.0.0/8", "10.0.0.2", xff, "10.0.0.3");
	for (size_t i = 0; i < PC_NELEM(bad); i++) {
		/* Right-most malformed: the peer. */
		snprintf(xff, sizeof(xff), "198.51.100.7, %s", bad[i]);
		client_is("10.0.0.0/8", "10.0.0.2", xff, "10.0.0.2");
		/* Malformed behind a trusted hop: that hop, never the
		 * attacker's address to its left. */
		snprintf(xff, sizeof(xff), "6.6.6.6, %s, 10.0.0.3", bad[i]);
		client_is("10.0.0.0/8", "10.0.0.2", xff, "10.0.0.3");
	}
	/* Empty entries stop the walk too. */
	client_is("10.0.0.0/8", "10.0.0.2", "6.6.6.6,,10.0.0.3", "10.0.0.3");
	client_is("10.0.0.0/8", "10.0.0.2", "6.6.6.6, ", "10.0.0.2");
	client_is("10.0.0.0/8", "10.0.0.2", ",", "10.0.0.2");
}

static void
test_netaddr_LG05_output_is_canonical(void **state)
{
	(void)state;
	client_is("", "2001:DB8:0:0:0:0:0:1", NULL, "2001:db8::1");
	client_is("", "::ffff:203.0.113.5", NULL, "203.0.113.5");
	client_is(
	    "10.0.0.0/8", "::ffff:10.0.0.2", "2001:0db8::0001", "2001:db8::1");
	client_is(
	    "10.0.0.0/8", "10.0.0.2", "::FFFF:198.51.100.7", "198.51.100.7");
	/* An IPv4-mapped trusted hop counts as trusted. */
	client_is("10.0.0.0/8", "10.0.0.2", "198.51.100.7, ::ffff:10.9.9.9",
	    "198.51.100.7");
}

static void
test_netaddr_LG05_bad_peer_and_small_output(void **state)
{
	struct netaddr_list l = list("10.0.0.0/8");
	char out[NETADDR_TEXT_MAX];

	(void)state;
	assert_int_equal(
	    netaddr_client_ip(&l, "not-an-ip", "1.2.3.4", out, sizeof(out)),
	    PC_ERR_INVALID);
	assert_string_equal(out, "");
	assert_int_equal(netaddr_client_ip(&l, NULL, NULL, out, sizeof(out)),
	    PC_ERR_INVALID);
	assert_int_equal(
	    netaddr_client_ip(&l, "10.0.0.1", NULL, out, 8), PC_ERR_TOO_LARGE);
	/* A NULL list trusts nobody. */
	assert_int_equal(
	    netaddr_client_ip(NULL, "10.0.0.1", "1.2.3.4", out, sizeof(out)),
	    0);
	assert_string_equal(out, "10.0.0.1");
	netaddr_list_free(&l);
}

static void
test_netaddr_LG05_list_parse(void **state)
{
	struct netaddr_list l;

	(void)state;
	l = list("");
	assert_int_equal(l.n, 0);
	assert_false(netaddr_list_contains(&l, "127.0.0.1"));
	netaddr_list_free(&l);
	l = list(" \t ");
	assert_int_equal(l.n, 0);
	netaddr_list_free(&l);

	l = list(" 10.0.0.0/8 , ::1,192.0.2.7,2001:db8::/32 ");
	assert_int_equal(l.n, 4);
	assert_true(netaddr_list_contains(&l, "10.255.255.255"));
	assert_true(netaddr_list_contains(&l, "10.0.0.0"));
	assert_false(netaddr_list_contains(&l, "11.0.0.0"));
	assert_false(netaddr_list_contains(&l, "9.255.255.255"));
	assert_true(netaddr_list_contains(&l, "::1"));
	assert_false(netaddr_list_contains(&l, "::2"));
	assert_true(netaddr_list_contains(&l, "192.0.2.7"));
	assert_false(netaddr_list_contains(&l, "192.0.2.8"));
	assert_true(netaddr_list_contains(&l, "2001:db8:ffff::1"));
	assert_false(netaddr_list_contains(&l, "2001:db9::1"));
	assert_true(netaddr_list_contains(&l, "::ffff:10.1.2.3"));
	assert_false(netaddr_list_contains(&l, "10.1.2.3 "));
	assert_false(netaddr_list_contains(&l, ""));
	assert_false(netaddr_list_contains(&l, NULL));
	netaddr_list_free(&l);

	/* Families never cross: ::/0 is every IPv6 address only. */
	l = list("::/0");
	assert_true(netaddr_list_contains(&l, "2001:db8::1"));
	assert_false(netaddr_list_contains(&l, "1.2.3.4"));
	assert_false(netaddr_list_contains(&l, "::ffff:1.2.3.4"));
	netaddr_list_free(&l);
	l = list("0.0.0.0/0");
	assert_true(netaddr_list_contains(&l, "1.2.3.4"));
	assert_false(netaddr_list_contains(&l, "2001:db8::1"));
	netaddr_list_free(&l);
	/* An IPv4-mapped CIDR is the IPv4 network. */
	l = list("::ffff:10.0.0.0/104, ::ffff:192.0.2.1");
	assert_true(netaddr_list_contains(&l, "10.1.2.3"));
	assert_true(netaddr_list_contains(&l, "192.0.2.1"));
	assert_false(netaddr_list_contains(&l, "11.1.2.3"));
	netaddr_list_free(&l);
	/* Odd prefix lengths. */
	l = list("192.0.2.128/25, 2001:db8::/33");
	assert_true(netaddr_list_contains(&l, "192.0.2.200"));
	assert_false(netaddr_list_contains(&l, "192.0.2.127"));
	assert_true(netaddr_list_contains(&l, "2001:db8:7fff::1"));
	assert_false(netaddr_list_contains(&l, "2001:db8:8000::1"));
	netaddr_list_free(&l);
}

static void
test_netaddr_LG05_list_parse_refuses(void **state)
{
	char spec[NETADDR_LIST_MAX * 12 + 16];
	size_t off = 0;

	(void)state;
	refused("10.0.0.1/8"); /* host bits: probably a typo */
	refused("10.0.0.0/33");
	refused("::/129");
	refused("10.0.0.0/08");
	refused("10.0.0.0/");
	refused("10.0.0.0/-1");
	refused("10.0.0.0/ 8");
	refused("10.0.0.0/8/8");
	refused("10.0.0.0,,10.0.0.1");
	refused("10.0.0.0,");
	refused(",");
	refused("1.2.3");
	refused("01.2.3.4");
	refused("fe80::1%eth0");
	refused("[::1]");
	refused("10.0.0.1:80");
	refused("example.com");
	refused("10.0.0.1 10.0.0.2");
	refused("::ffff:0.0.0.0/80");
	for (int i = 0; i <= NETADDR_LIST_MAX; i++)
		off += (size_t)snprintf(spec + off, sizeof(spec) - off,
		    "%s10.%d.%d.1", i > 0 ? "," : "", i / 256, i % 256);
	refused(spec);
}

static void
test_netaddr_LG04_subnet_key(void **state)
{
	char out[NETADDR_KEY_MAX];

	(void)state;
	assert_int_equal(
	    netaddr_subnet_key("203.0.113.77", out, sizeof(out)), 0);
	assert_string_equal(out, "203.0.113.0/24");
	assert_int_equal(
	    netaddr_subnet_key("::ffff:203.0.113.77", out, sizeof(out)), 0);
	assert_string_equal(out, "203.0.113.0/24");
	assert_int_equal(
	    netaddr_subnet_key("2001:db8:1:2:3:4:5:6", out, sizeof(out)), 0);
	assert_string_equal(out, "2001:db8:1:2::/64");
	assert_int_equal(
	    netaddr_subnet_key("2001:DB8::1", out, sizeof(out)), 0);
	assert_string_equal(out, "2001:db8::/64");
	assert_int_equal(netaddr_subnet_key("::1", out, sizeof(out)), 0);
	assert_string_equal(out, "::/64");
	assert_int_equal(
	    netaddr_subnet_key("1.2.3", out, sizeof(out)), PC_ERR_INVALID);
	assert_string_equal(out, "");
	assert_int_equal(
	    netaddr_subnet_key(NULL, out, sizeof(out)), PC_ERR_INVALID);
	assert_int_equal(
	    netaddr_subnet_key("203.0.113.77", out, 10), PC_ERR_TOO_LARGE);
	assert_string_equal(out, "");
}

static void
test_netaddr_LG05_config_refuses_bad_list(void **state)
{
	struct config c;
	char err[256] = "";

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_set(&c, "issuer", "http://127.0.0.1:8080",
			     CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_equal(config_set(&c, "trusted_proxies", "10.0.0.0/8, ::1",
			     CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_equal(config_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "trusted_proxies", "10.0.0.1/8",
			     CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_equal(config_finish(&c, err, sizeof(err)), PC_ERR_CONFIG);
	assert_non_null(strstr(err, "trusted_proxies"));
	assert_non_null(strstr(err, "10.0.0.1/8"));
	assert_non_null(strstr(err, "host bits"));
	assert_int_equal(config_set(&c, "trusted_proxies", "proxy.internal",
			     CONFIG_SRC_FLAG, err, sizeof(err)),
	    0);
	assert_int_equal(config_finish(&c, err, sizeof(err)), PC_ERR_CONFIG);
	assert_non_null(strstr(err, "proxy.internal"));
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_netaddr_LG05_forged_xff_from_untrusted_peer_ignored),
		cmocka_unit_test(
		    test_netaddr_LG05_trusted_chain_spoofed_leftmost_yields_real_client),
		cmocka_unit_test(
		    test_netaddr_LG05_malformed_entry_yields_last_trusted_hop),
		cmocka_unit_test(test_netaddr_LG05_output_is_canonical),
		cmocka_unit_test(test_netaddr_LG05_bad_peer_and_small_output),
		cmocka_unit_test(test_netaddr_LG05_list_parse),
		cmocka_unit_test(test_netaddr_LG05_list_parse_refuses),
		cmocka_unit_test(test_netaddr_LG04_subnet_key),
		cmocka_unit_test(test_netaddr_LG05_config_refuses_bad_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
