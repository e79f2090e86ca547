/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of policy/networks.c: longest prefix, IPv6, mapped IPv4, localhost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "policy/networks.h"

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	return ss;
}

static const char *lookup(const struct pol_networks *nets, const char *text)
{
	struct sockaddr_storage ss = addr(text);
	const struct pol_network *n = pol_networks_lookup(nets, (struct sockaddr *)&ss);
	return n ? n->id : NULL;
}

static void test_lookup(void **state)
{
	struct cfg_cidr school[2], room[1], v6[1];
	assert_int_equal(cfg_cidr_parse("10.1.0.0/16", &school[0]), 0);
	assert_int_equal(cfg_cidr_parse("fd00:79:1::/48", &school[1]), 0);
	assert_int_equal(cfg_cidr_parse("10.1.2.0/24", &room[0]), 0);
	assert_int_equal(cfg_cidr_parse("::/0", &v6[0]), 0);
	char name0[] = "Trường TH Lê Lợi", id0[] = "79-TH-0001", name1[] = "Phòng máy",
	     group1[] = "thcs", name2[] = "all-v6", id2[] = "v6";
	struct cfg_network networks[] = {
		{.name = name0, .id = id0, .cidrs = school, .n_cidrs = 2},
		{.name = name1, .id = NULL, .group = group1, .cidrs = room, .n_cidrs = 1},
		{.name = name2, .id = id2, .cidrs = v6, .n_cidrs = 1},
	};
	struct cfg_root cfg = {.networks = networks, .n_networks = 3};
	struct pol_networks *nets;
	assert_int_equal(pol_networks_new(&cfg, &nets), 0);
	assert_int_equal(pol_networks_count(nets), 3);
	assert_string_equal(lookup(nets, "10.1.9.9"), "79-TH-0001");
	assert_string_equal(lookup(nets, "10.1.2.3"), "Phòng máy"); /* longer prefix, id = name */
	assert_null(lookup(nets, "10.2.0.1"));
	assert_null(lookup(nets, "127.0.0.2"));
	assert_string_equal(lookup(nets, "127.0.0.1"), "localhost");
	assert_string_equal(lookup(nets, "::ffff:10.1.2.3"), "Phòng máy");
	assert_string_equal(lookup(nets, "fd00:79:1:ffff::1"), "79-TH-0001");
	assert_string_equal(lookup(nets, "2001:db8::1"), "v6"); /* ::/0 */
	/* ::1 is localhost even under ::/0: the longer prefix wins. */
	assert_string_equal(lookup(nets, "::1"), "localhost");
	struct sockaddr_storage ss = addr("10.1.2.3");
	const struct pol_network *n = pol_networks_lookup(nets, (struct sockaddr *)&ss);
	assert_string_equal(n->group, "thcs");
	assert_int_equal(n->index, 1);
	pol_networks_free(nets);
}

static void test_empty(void **state)
{
	struct cfg_root cfg = {0};
	struct pol_networks *nets;
	assert_int_equal(pol_networks_new(&cfg, &nets), 0);
	assert_null(lookup(nets, "10.0.0.1"));
	assert_null(lookup(nets, "::2"));
	assert_string_equal(lookup(nets, "::1"), "localhost");
	pol_networks_free(nets);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
