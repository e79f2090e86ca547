/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the scalar parsers of config/: addresses, CIDRs, sizes, durations, booleans. */
#include <arpa/inet.h>
#include <errno.h>

#include "tests/unit/config/helpers.h"

static void addr_ok(const char *text, uint16_t default_port, const char *canonical, int family,
		    uint16_t port)
{
	struct cfg_addr a;

	assert_int_equal(cfg_addr_parse(text, default_port, &a), 0);
	assert_string_equal(a.text, canonical);
	assert_int_equal(a.ss.ss_family, family);
	if (family == AF_INET) {
		assert_int_equal(a.len, sizeof(struct sockaddr_in));
		assert_int_equal(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), port);
	} else {
		assert_int_equal(a.len, sizeof(struct sockaddr_in6));
		assert_int_equal(ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port), port);
	}
}

static void test_addr_parse(void **state)
{
	static const char *const bad[] = {
		"",
		":53",
		"1.2.3.4:",
		"1.2.3.4:0",
		"1.2.3.4:65536",
		"1.2.3.4:5x",
		"1.2.3",
		"01.2.3.4",
		"dns.google",
		"dns.google:53",
		"[::1",
		"[::1]x",
		"[::1]:",
		"[1.2.3.4]:53",
		"fe80::1%eth0",
		"[fe80::1%2]:53",
		"1.2.3.4:53:53",
		" 1.2.3.4",
		"[]:53",
	};
	struct cfg_addr a;

	addr_ok("127.0.0.1", 53, "127.0.0.1:53", AF_INET, 53);
	addr_ok("127.0.0.1:5353", 53, "127.0.0.1:5353", AF_INET, 5353);
	addr_ok("::1", 53, "[::1]:53", AF_INET6, 53);
	addr_ok("[::1]", 53, "[::1]:53", AF_INET6, 53);
	addr_ok("[::1]:5353", 53, "[::1]:5353", AF_INET6, 5353);
	addr_ok("[2001:DB8:0::53]:65535", 53, "[2001:db8::53]:65535", AF_INET6, 65535);
	addr_ok("192.0.2.1", 853, "192.0.2.1:853", AF_INET, 853);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a.text[0] = 'X';
		if (cfg_addr_parse(bad[i], 53, &a) != CORE_EPARSE)
			fail_msg("'%s' was accepted as an address", bad[i]);
		/* written only on success */
		assert_int_equal(a.text[0], 'X');
	}
	/* no port given and no default: refused */
	assert_int_equal(cfg_addr_parse("127.0.0.1", 0, &a), CORE_EPARSE);
}

static void cidr_ok(const char *text, const char *canonical)
{
	struct cfg_cidr c;
	char buf[64];

	assert_int_equal(cfg_cidr_parse(text, &c), 0);
	assert_int_equal(cfg_cidr_format(&c, buf, sizeof(buf)), strlen(canonical));
	assert_string_equal(buf, canonical);
}

static void test_cidr_parse(void **state)
{
	static const char *const bad[] = {
		"",
		"/8",
		"10.0.0.0/",
		"10.0.0.0/33",
		"10.0.0.0/-1",
		"10.0.0.0/8/8",
		"10.0.0/8",
		"10.0.0.0/0032",
		"10.1.0.0/8",
		"2001:db8::/129",
		"2001:db8::1/64",
		"x/8",
		"10.0.0.0 /8",
		"10.0.0.0/ 8",
	};
	struct cfg_cidr c;

	cidr_ok("10.0.0.0/8", "10.0.0.0/8");
	cidr_ok("0.0.0.0/0", "0.0.0.0/0");
	cidr_ok("10.1.2.3", "10.1.2.3/32");
	cidr_ok("10.1.2.3/32", "10.1.2.3/32");
	cidr_ok("2001:db8::/32", "2001:db8::/32");
	cidr_ok("2001:DB8:0:0::/48", "2001:db8::/48");
	cidr_ok("::/0", "::/0");
	cidr_ok("::1", "::1/128");
	cidr_ok("10.1.128.0/17", "10.1.128.0/17");

	assert_int_equal(cfg_cidr_parse("10.1.0.0/16", &c), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 16);
	assert_memory_equal(c.addr, ((uint8_t[]){10, 1, 0, 0}), 4);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cfg_cidr_parse(bad[i], &c) != CORE_EPARSE)
			fail_msg("'%s' was accepted as a CIDR", bad[i]);
	}
}

static void test_cidr_format_truncates(void **state)
{
	struct cfg_cidr c;
	char buf[6];

	assert_int_equal(cfg_cidr_parse("10.1.0.0/16", &c), 0);
	assert_int_equal(cfg_cidr_format(&c, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "10.1.");
	assert_int_equal(cfg_cidr_format(&c, buf, 0), 0);
}

static void size_is(const char *text, uint64_t bytes)
{
	uint64_t v = 0;

	if (cfg_size_parse(text, &v) != 0)
		fail_msg("'%s' was refused as a size", text);
	assert_int_equal(v, bytes);
}

static void test_size_parse(void **state)
{
	static const char *const bad[] = {
		"",	   "MiB",   "-1MiB", "1.5GiB", "256XB",	  "256 ",
		"256MiBs", "256 M", "256k",  "1e6",    " 256MiB", "0x100",
	};
	uint64_t v = 7;

	size_is("0", 0);
	size_is("1048576", 1048576);
	size_is("100B", 100);
	size_is("1KB", 1000);
	size_is("2MB", 2000000);
	size_is("3GB", 3000000000ull);
	size_is("1KiB", 1024);
	size_is("256MiB", 268435456);
	size_is("256 MiB", 268435456);
	size_is("256mib", 268435456);
	size_is("4GiB", 4294967296ull);
	size_is("18446744073709551615", UINT64_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cfg_size_parse(bad[i], &v) != CORE_EPARSE)
			fail_msg("'%s' was accepted as a size", bad[i]);
	}
	assert_int_equal(v, 7);
	assert_int_equal(cfg_size_parse("18446744073709551616", &v), -ERANGE);
	assert_int_equal(cfg_size_parse("17179869184GiB", &v), -ERANGE);
	assert_int_equal(v, 7);
}

static void duration_is(const char *text, uint64_t ms)
{
	uint64_t v = 0;

	if (cfg_duration_parse(text, &v) != 0)
		fail_msg("'%s' was refused as a duration", text);
	assert_int_equal(v, ms);
}

static void test_duration_parse(void **state)
{
	static const char *const bad[] = {
		"",    "10",   "s",    "10x", "10sec", "1.5s", "-1s",
		"10S", "1h30", "1mss", "ms",  "1 h x", "00",
	};
	uint64_t v = 7;

	duration_is("0", 0);
	duration_is("0s", 0);
	duration_is("500ms", 500);
	duration_is("10s", 10000);
	duration_is("2m", 120000);
	duration_is("1h", 3600000);
	duration_is("1d", 86400000);
	duration_is("1h30m", 5400000);
	duration_is("1h 30m", 5400000);
	duration_is("10 s", 10000);
	duration_is("1m30s500ms", 90500);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cfg_duration_parse(bad[i], &v) != CORE_EPARSE)
			fail_msg("'%s' was accepted as a duration", bad[i]);
	}
	assert_int_equal(v, 7);
	assert_int_equal(cfg_duration_parse("213503982335d", &v), -ERANGE);
	assert_int_equal(cfg_duration_parse("18446744073709551615ms 1ms", &v), -ERANGE);
}

static void test_bool_parse(void **state)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "ON"};
	static const char *const no[] = {"false", "False", "no", "NO", "off", "Off"};
	static const char *const bad[] = {"", "1", "0", "y", "n", "maybe", "truee", "enabled"};
	bool b;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(cfg_bool_parse(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(cfg_bool_parse(no[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cfg_bool_parse(bad[i], &b), CORE_EPARSE);
}

static void test_diag_format(void **state)
{
	char file[] = "x.yaml", path[] = "networks[2].cidr[0]", empty[] = "", server[] = "server";
	char message[] = "'10.1.0.0/33' is not a CIDR (prefix length 0-32)";
	char message2[] = "no forwarders";
	struct cfg_diag d = {
		.file = file,
		.line = 42,
		.column = 7,
		.path = path,
		.message = message,
	};
	char buf[256];
	char small[16];

	assert_int_equal(
		cfg_diag_format(&d, buf, sizeof(buf)),
		strlen("x.yaml:42:7: error: networks[2].cidr[0]: '10.1.0.0/33' is not a CIDR (prefix length 0-32)"));
	assert_string_equal(
		buf,
		"x.yaml:42:7: error: networks[2].cidr[0]: '10.1.0.0/33' is not a CIDR (prefix length 0-32)");
	d.warning = true;
	d.path = empty;
	cfg_diag_format(&d, buf, sizeof(buf));
	assert_string_equal(
		buf, "x.yaml:42:7: warning: '10.1.0.0/33' is not a CIDR (prefix length 0-32)");
	d.line = 0;
	d.path = server;
	d.message = message2;
	cfg_diag_format(&d, buf, sizeof(buf));
	assert_string_equal(buf, "x.yaml: warning: server: no forwarders");
	assert_int_equal(cfg_diag_format(&d, small, sizeof(small)), 15);
	assert_string_equal(small, "x.yaml: warning");
	assert_int_equal(cfg_diag_format(&d, small, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_format_truncates),
		cmocka_unit_test(test_size_parse),
		cmocka_unit_test(test_duration_parse),
		cmocka_unit_test(test_bool_parse),
		cmocka_unit_test(test_diag_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
