/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Golden files: every fixtures/NAME.yaml is loaded with cfg_load() and its diagnostics, plus a
 * last line "=> accepted" or "=> rejected", must equal fixtures/NAME.expected. The fixtures'
 * resolv.conf stands in for /etc/resolv.conf.
 *
 * After a deliberate change of messages, run with LM_UPDATE_FIXTURES=1 to rewrite the .expected
 * files, and review the difference.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/config/helpers.h"

#ifndef CFG_FIXTURES_DIR
#error "CFG_FIXTURES_DIR must name tests/unit/config/fixtures"
#endif

static size_t read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return SIZE_MAX;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void check_fixture(const char *yaml_name, bool update)
{
	static char got[16384], want[16384];
	char expected_name[256];
	struct cfg_diags diags = {0};
	struct cfg_root *cfg = NULL;
	size_t len = strlen(yaml_name) - strlen(".yaml");
	int rc = cfg_load(yaml_name, &cfg, &diags);

	if (rc != 0 && rc != CORE_ECONFIG)
		fail_msg("%s: unexpected result %d", yaml_name, rc);
	diags_to_text(&diags, got, sizeof(got) - 16);
	strcat(got, rc == 0 ? "=> accepted\n" : "=> rejected\n");
	cfg_free(cfg);
	cfg_diags_clear(&diags);
	assert_int_equal(core_alloc_live_bytes(), 0);

	snprintf(expected_name, sizeof(expected_name), "%.*s.expected", (int)len, yaml_name);
	if (update) {
		write_text(expected_name, got);
		return;
	}
	if (read_text(expected_name, want, sizeof(want)) == SIZE_MAX)
		fail_msg("%s is missing (LM_UPDATE_FIXTURES=1 creates it)", expected_name);
	if (strcmp(got, want) != 0)
		fail_msg("%s differs from %s:\n--- got\n%s--- expected\n%s", yaml_name,
			 expected_name, got, want);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_fixtures(void **state)
{
	bool update = getenv("LM_UPDATE_FIXTURES") != NULL;
	char *names[256];
	size_t n = 0;
	struct dirent *e;
	DIR *d;

	/* diagnostics name files as given, so load them by their short names */
	assert_int_equal(chdir(CFG_FIXTURES_DIR), 0);
	cfg_set_resolv_conf_path("resolv.conf");
	d = opendir(".");
	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0 && n < 256)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	assert_true(n >= 5);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < n; i++) {
		check_fixture(names[i], update);
		free(names[i]);
	}
	cfg_set_resolv_conf_path(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
