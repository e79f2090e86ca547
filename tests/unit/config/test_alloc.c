/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Allocation-failure torture (curl's idea): load configs again and again, failing the 1st, 2nd,
 * 3rd... allocation, and check that every failure ends in -ENOMEM with nothing leaked, until a
 * run needs fewer allocations than the one that would fail and gives the normal result.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/config/helpers.h"

static char resolv_path[] = "/tmp/lanhmanh-test-resolv.XXXXXX";

/*
 * Did the failure armed with core_alloc_fail_at(@n) fire? If not, one of the next @n
 * allocations fails; once fired, the hook is off and they all succeed.
 */
static bool failure_fired(uint64_t n)
{
	bool fired = true;

	for (uint64_t i = 0; i < n; i++) {
		void *p = core_malloc(1);
		if (!p) {
			fired = false;
			break;
		}
		core_free(p);
	}
	core_alloc_fail_at(0);
	return fired;
}

typedef int (*load_fn)(const char *yaml, struct cfg_root **out_cfg, struct cfg_diags *diags);

static int load_buffer(const char *yaml, struct cfg_root **out_cfg, struct cfg_diags *diags)
{
	return cfg_load_buffer("test.yaml", yaml, strlen(yaml), out_cfg, diags);
}

/* Through cfg_load(), to cover reading the file too. */
static int load_file(const char *yaml, struct cfg_root **out_cfg, struct cfg_diags *diags)
{
	char path[64];
	int fd, rc;

	/* the same name every time: it appears in the diagnostics that are compared */
	snprintf(path, sizeof(path), "/tmp/lanhmanh-test-cfg-%ld.yaml", (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	rc = cfg_load(path, out_cfg, diags);
	unlink(path);
	return rc;
}

static void torture(load_fn fn, const char *yaml, int expected_rc)
{
	static char normal[16384], text[16384];
	struct cfg_diags diags = {0};
	struct cfg_root *cfg = NULL;
	int rc;

	/* the normal result, for comparison */
	rc = fn(yaml, &cfg, &diags);
	assert_int_equal(rc, expected_rc);
	diags_to_text(&diags, normal, sizeof(normal));
	cfg = cfg_free(cfg);
	cfg_diags_clear(&diags);
	assert_int_equal(core_alloc_live_bytes(), 0);

	for (uint64_t n = 1;; n++) {
		bool fired;

		core_alloc_fail_at(n);
		rc = fn(yaml, &cfg, &diags);
		fired = failure_fired(n);
		diags_to_text(&diags, text, sizeof(text));
		if (rc != 0)
			assert_null(cfg);
		cfg = cfg_free(cfg);
		cfg_diags_clear(&diags);
		if (core_alloc_live_bytes() != 0)
			fail_msg("leak after failing allocation %llu", (unsigned long long)n);
		if (fired) {
			if (rc != -ENOMEM)
				fail_msg("allocation %llu failed but the load returned %d",
					 (unsigned long long)n, rc);
			continue;
		}
		/* fewer than n allocations: the normal result again, and the end */
		assert_int_equal(rc, expected_rc);
		assert_string_equal(text, normal);
		break;
	}
}

static const char valid[] =
	"server:\n"
	"  listen: [\"10.1.0.1:53\", \"[2001:db8::1]:53\"]\n"
	"  forwarders: [\"192.0.2.53\", \"192.0.2.54\"]\n"
	"  state_dir: /srv/lanhmanh\n"
	"  control_socket: /run/lm.sock\n"
	"  log_level: debug\n"
	"  root_hints: /usr/share/dns/root.hints\n"
	"  timezone: Asia/Ho_Chi_Minh\n"
	"networks:\n"
	"  - { name: \"Trường TH Lê Lợi\", id: \"79-TH-0001\", cidr: [10.1.0.0/16, \"2001:db8::/32\"], group: tieu_hoc }\n"
	"  - { name: B, cidr: 10.2.0.0/16, group: lop-5a, allow: [a.vn, b.vn], deny: c.vn }\n"
	"  - { name: C, cidr: [10.3.0.0/16, 10.4.0.0/16] }\n"
	"  - { mmdb: /var/lib/lanhmanh/subscribers.mmdb, province_field: tinh, group: khach }\n"
	"lists:\n"
	"  - { name: hoc, category: hoc_online, file: /dev/null }\n"
	"groups:\n"
	"  tieu_hoc:\n"
	"    block: [hoc_online]\n"
	"    unblock: social\n"
	"    allow: [\"hoc10.vn\", \"Hỏi-Đáp.vn\", hoc10.vn]\n"
	"    deny: [example-game.vn]\n"
	"    schedules:\n"
	"      - { block: [games, social], days: [t2-t6], from: \"07:00\", to: \"17:00\" }\n"
	"      - { block: hoc_online, from: \"22:00\", to: \"06:00\" }\n"
	"  lop-5a: { preset: thcs, safe_search: moderate }\n";

static const char invalid[] =
	"server:\n"
	"  listn: 1\n"
	"  workers: [1]\n"
	"  mode: recursive\n"
	"  cache_size: 12XB\n"
	"  listen: [\"127.0.0.1:53\", \"127.0.0.1:53\"]\n"
	"sinkhole: {}\n"
	"networks:\n"
	"  - { name: A, cidr: [10.1.2.0/16, 10.0.0.0/33] }\n"
	"  - { name: A, cidr: 10.1.0.0/16 }\n"
	"  - { mmdb: /x.mmdb }\n"
	"  - { mmdb: x.mmdb, cidr: 10.9.0.0/16, group: nope }\n"
	"  - { name: D, cidr: 10.8.0.0/16, allow: [a.vn, \"*.b.vn\"], deny: [a.vn] }\n"
	"groups:\n"
	"  tieu_hoc: { block: [gamez], unblock: [national], allow: [x.vn, x.vn] }\n"
	"  thcs: { schedules: [{ block: [national], days: [monday], from: \"25:00\", to: \"07:00\" }] }\n";

static void test_valid(void **state)
{
	torture(load_buffer, valid, 0);
}

static void test_invalid(void **state)
{
	torture(load_buffer, invalid, CORE_ECONFIG);
}

static void test_syntax_error(void **state)
{
	torture(load_buffer, "server:\n  listen: [1\n", CORE_ECONFIG);
}

static void test_resolv_conf(void **state)
{
	int fd = mkstemp(resolv_path);
	static const char content[] =
		"nameserver 127.0.0.1\nnameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver x\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	cfg_set_resolv_conf_path(resolv_path);
	torture(load_buffer, "networks: [{name: A, cidr: 10.0.0.0/8}]\n", 0);
	torture(load_buffer, "", 0);
	cfg_set_resolv_conf_path(NULL);
	unlink(resolv_path);
}

static void test_file(void **state)
{
	torture(load_file, valid, 0);
	torture(load_file, invalid, CORE_ECONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),	     cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_syntax_error), cmocka_unit_test(test_resolv_conf),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
