/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of blocklists/ipset.c: longest prefix, families, first entry kept, bad input. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "blocklists/ipset.h"
#include "blocklists/set.h"

static struct bl_ip_range range(const char *addr, uint8_t prefix, uint16_t list)
{
	struct bl_ip_range r;
	memset(&r, 0, sizeof(r));
	r.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(r.family, addr, r.addr), 1);
	r.prefix = prefix;
	r.list_id = list;
	r.action = BL_ACTION_NXDOMAIN;
	return r;
}

static int lookup(const struct bl_ipset *s, const char *addr)
{
	uint8_t a[16];
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(family, addr, a), 1);
	const struct bl_ip_range *g = bl_ipset_lookup(s, family, a);
	return g ? g->list_id : -1;
}

static void test_longest_prefix(void **state)
{
	struct bl_ip_range v[] = {
		range("192.0.2.0", 24, 1), range("192.0.2.25", 32, 2), range("2001:db8::", 32, 3),
		range("192.0.2.0", 24, 4), /* repeated: the first stays */
	};
	struct bl_ipset *s;
	assert_int_equal(bl_ipset_new(v, 4, &s), 0);
	assert_int_equal(bl_ipset_count(s), 4);
	assert_int_equal(lookup(s, "192.0.2.25"), 2);
	assert_int_equal(lookup(s, "192.0.2.26"), 1);
	assert_int_equal(lookup(s, "192.0.3.1"), -1);
	assert_int_equal(lookup(s, "2001:db8:1::5"), 3);
	assert_int_equal(lookup(s, "2001:db9::"), -1);
	/* IPv4 and IPv6 are apart: ::c000:219 is not 192.0.2.25. */
	assert_int_equal(lookup(s, "::c000:219"), -1);
	bl_ipset_free(s);
}

static void test_bad_ranges(void **state)
{
	struct bl_ip_range v = range("192.0.2.0", 33, 1);
	struct bl_ipset *s = NULL;
	assert_int_equal(bl_ipset_new(&v, 1, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(bl_ipset_new(NULL, 0, &s), 0);
	assert_int_equal(lookup(s, "10.0.0.1"), -1);
	bl_ipset_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_longest_prefix),
		cmocka_unit_test(test_bad_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
