/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Helpers shared by the config/ unit tests: load YAML from a string and get every diagnostic
 * back as one text, one formatted line each, so tests compare exact messages and positions.
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/alloc.h"
#include "core/error.h"

/** One load: its result, config and diagnostics, and the diagnostics as text. */
struct loaded {
	int rc;
	struct cfg_root *cfg;
	struct cfg_diags diags;
	char text[16384]; /**< "file:line:col: error: path: message\n" per diagnostic */
};

static inline void diags_to_text(const struct cfg_diags *diags, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < diags->n && o + 2 < size; i++) {
		o += cfg_diag_format(&diags->v[i], buf + o, size - o - 1);
		buf[o++] = '\n';
		buf[o] = '\0';
	}
}

/** Load @yaml as the file "test.yaml". */
static inline void load(struct loaded *l, const char *yaml)
{
	memset(l, 0, sizeof(*l));
	l->rc = cfg_load_buffer("test.yaml", yaml, strlen(yaml), &l->cfg, &l->diags);
	diags_to_text(&l->diags, l->text, sizeof(l->text));
}

/** Free what load() made and check that nothing allocated through core_alloc is left. */
static inline void unload(struct loaded *l)
{
	l->cfg = cfg_free(l->cfg);
	cfg_diags_clear(&l->diags);
	assert_int_equal(core_alloc_live_bytes(), 0);
}

/** Load @yaml, expect it to be rejected with exactly the diagnostics @expected. */
static inline void expect_diags(const char *yaml, const char *expected)
{
	struct loaded l;
	bool had_cfg;

	load(&l, yaml);
	/* free first, so that a failed comparison does not leak into the next test's count */
	had_cfg = l.cfg != NULL;
	l.cfg = cfg_free(l.cfg);
	cfg_diags_clear(&l.diags);
	assert_string_equal(l.text, expected);
	assert_int_equal(l.rc, CORE_ECONFIG);
	assert_false(had_cfg);
	assert_int_equal(core_alloc_live_bytes(), 0);
}
