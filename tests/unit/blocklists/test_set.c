/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the compiled domain set (blocklists/set.c): matching, merging, files, failures. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "blocklists/internal.h"
#include "blocklists/set.h"
#include "core/alloc.h"
#include "core/error.h"

#define SB (BL_MATCH_SELF | BL_MATCH_BELOW)
#define MAXM 16

static char tmpdir[] = "/tmp/lanhmanh-test-set.XXXXXX";

/* RPZ local data: an A record, an AAAA record */
static const uint8_t rec_a[] = {0, 1, 0, 4, 192, 0, 2, 1};
static const uint8_t rec_aaaa[] = {0, 28, 0, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0,
				   0, 0,  0, 0,	 0,    0,    0,	   0,	 0, 1};

/* Wire form of presentation name @text ("a.b.vn", "." or "" for the root); its length. */
static size_t wire(const char *text, uint8_t out[256])
{
	size_t o = 0, len = strlen(text);
	const char *p = text, *end = text + len;

	if (len > 0 && text[len - 1] == '.')
		end--;
	while (p < end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t l = (size_t)((dot ? dot : end) - p);

		assert_true(o + 1 + l < 256);
		out[o++] = (uint8_t)l;
		memcpy(out + o, p, l);
		o += l;
		p += l + (dot ? 1 : 0);
	}
	out[o++] = 0;
	return o;
}

static int add_full(struct bl_builder *b, const char *text, uint32_t cats, uint16_t list,
		    uint8_t flags, enum bl_action action, uint32_t line, const uint8_t *data,
		    size_t data_len)
{
	uint8_t w[256];
	size_t n = wire(text, w);

	return bl_builder_add(b, w, n, cats, list, flags, action, line, data, data_len);
}

static void add(struct bl_builder *b, const char *text, uint32_t cats, uint16_t list, uint8_t flags)
{
	assert_int_equal(add_full(b, text, cats, list, flags, BL_ACTION_POLICY, 1, NULL, 0), 0);
}

static size_t lookup(const struct bl_set *set, const char *text, struct bl_match *out, size_t max)
{
	uint8_t w[256];
	size_t n = wire(text, w);

	return bl_set_lookup(set, w, n, out, max);
}

static struct bl_set *finish(struct bl_builder *b)
{
	struct bl_set *set = NULL;

	assert_int_equal(bl_builder_finish(b, &set), 0);
	assert_non_null(set);
	return set;
}

static void path_in_tmp(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

static struct bl_set *write_and_open(const struct bl_set *set, const char *name)
{
	char path[256];
	struct bl_set *mapped = NULL;

	path_in_tmp(path, sizeof(path), name);
	assert_int_equal(bl_set_write(set, path), 0);
	assert_int_equal(bl_set_open(path, &mapped), 0);
	assert_non_null(mapped);
	return mapped;
}

/* Bytes of the file at @path, in an 8-aligned buffer (free with free()); size in @out_len. */
static uint8_t *read_file(const char *path, size_t *out_len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = aligned_alloc(64, ((size_t)st.st_size + 64) & ~(size_t)63);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*out_len = (size_t)st.st_size;
	return buf;
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static int open_bytes(const uint8_t *buf, size_t len)
{
	char path[256];
	struct bl_set *set = NULL;
	int rc;

	path_in_tmp(path, sizeof(path), "corrupt.set");
	write_file(path, buf, len);
	rc = bl_set_open(path, &set);
	if (rc == 0)
		set = bl_set_unref(set);
	unlink(path);
	return rc;
}

/* ---- matching ------------------------------------------------------------------------------ */

static void test_suffix_match(void **state)
{
	struct bl_builder *b = bl_builder_new(100);
	struct bl_match m[MAXM];
	struct bl_set *set;

	add(b, "example.vn", 1, 0, SB);
	add(b, "self.vn", 2, 0, BL_MATCH_SELF);
	add(b, "below.vn", 4, 0, BL_MATCH_BELOW);
	set = finish(b);
	assert_int_equal(bl_set_count(set), 3);

	assert_int_equal(lookup(set, "example.vn", m, MAXM), 1);
	assert_int_equal(m[0].labels_below, 0);
	assert_int_equal(m[0].categories, 1);
	assert_int_equal(m[0].flags, SB);
	assert_int_equal(lookup(set, "a.b.example.vn", m, MAXM), 1);
	assert_int_equal(m[0].labels_below, 2);
	assert_int_equal(lookup(set, "notexample.vn", m, MAXM), 0);
	assert_int_equal(lookup(set, "example.vn.com", m, MAXM), 0);
	assert_int_equal(lookup(set, "example.com", m, MAXM), 0);
	assert_int_equal(lookup(set, "vn", m, MAXM), 0);
	assert_int_equal(lookup(set, ".", m, MAXM), 0);

	assert_int_equal(lookup(set, "self.vn", m, MAXM), 1);
	assert_int_equal(m[0].categories, 2);
	assert_int_equal(lookup(set, "x.self.vn", m, MAXM), 0);

	assert_int_equal(lookup(set, "below.vn", m, MAXM), 0);
	assert_int_equal(lookup(set, "x.below.vn", m, MAXM), 1);
	assert_int_equal(m[0].labels_below, 1);
	assert_int_equal(m[0].categories, 4);

	/* ASCII case does not matter; other bytes are compared as they are */
	assert_int_equal(lookup(set, "WWW.Example.VN", m, MAXM), 1);
	assert_int_equal(m[0].labels_below, 1);
	assert_int_equal(lookup(set, "ex\xc1mple.vn", m, MAXM), 0);

	/* malformed names match nothing and are not read past their length */
	{
		static const uint8_t bad_len[] = "\x07"
						 "example\x03vn";
		static const uint8_t no_root[] = "\x07"
						 "example\x02vn";
		static const uint8_t trailing[] = "\x07"
						  "example\x02vn\x00\x00";
		static const uint8_t long_label[] = "\x40"
						    "example";

		assert_int_equal(bl_set_lookup(set, bad_len, sizeof(bad_len) - 1, m, MAXM), 0);
		assert_int_equal(bl_set_lookup(set, no_root, sizeof(no_root) - 1, m, MAXM), 0);
		assert_int_equal(bl_set_lookup(set, trailing, sizeof(trailing) - 1, m, MAXM), 0);
		assert_int_equal(bl_set_lookup(set, long_label, sizeof(long_label), m, MAXM), 0);
		assert_int_equal(bl_set_lookup(set, no_root, 0, m, MAXM), 0);
		assert_int_equal(bl_set_lookup(set, NULL, 5, m, MAXM), 0);
	}
	set = bl_set_unref(set);
	b = bl_builder_free(b);
}

static void test_most_specific_first(void **state)
{
	struct bl_builder *b = bl_builder_new(100);
	struct bl_match m[MAXM];
	struct bl_set *set;

	add(b, "vn", 1, 4, BL_MATCH_BELOW);
	add(b, "example.vn", 2, 3, SB);
	add(b, "www.example.vn", 4, 2, SB);
	add(b, "a.www.example.vn", 8, 1, BL_MATCH_BELOW); /* not the name itself */
	set = finish(b);

	assert_int_equal(lookup(set, "a.www.example.vn", m, MAXM), 3);
	assert_int_equal(m[0].labels_below, 1);
	assert_int_equal(m[0].categories, 4);
	assert_int_equal(m[0].list_id, 2);
	assert_int_equal(m[1].labels_below, 2);
	assert_int_equal(m[1].categories, 2);
	assert_int_equal(m[2].labels_below, 3);
	assert_int_equal(m[2].categories, 1);

	/* more matches than room: the count is exact, only @max are written */
	memset(m, 0xee, sizeof(m));
	assert_int_equal(lookup(set, "b.a.www.example.vn", m, 2), 4);
	assert_int_equal(m[0].labels_below, 1);
	assert_int_equal(m[0].categories, 8);
	assert_int_equal(m[1].labels_below, 2);
	assert_int_equal(m[2].labels_below, 0xee);
	assert_int_equal(lookup(set, "b.a.www.example.vn", NULL, 0), 4);
	set = bl_set_unref(set);
	b = bl_builder_free(b);
}

static void test_allow(void **state)
{
	struct bl_builder *b = bl_builder_new(100);
	struct bl_match m[MAXM];
	struct bl_set *set;

	add(b, "ads.example.vn", 1, 1, SB);
	assert_int_equal(
		add_full(b, "ads.example.vn", 2, 2, SB | BL_ALLOW, BL_ACTION_PASSTHRU, 7, NULL, 0),
		0);
	add(b, "ok.example.vn", 1, 2, BL_MATCH_SELF | BL_ALLOW);
	assert_int_equal(bl_builder_count(b), 3);
	set = finish(b);
	assert_int_equal(bl_set_count(set), 3);

	assert_int_equal(lookup(set, "x.ads.example.vn", m, MAXM), 2);
	assert_int_equal(m[0].flags, SB);
	assert_int_equal(m[0].list_id, 1);
	assert_int_equal(m[0].categories, 1);
	assert_int_equal(m[1].flags, SB | BL_ALLOW);
	assert_int_equal(m[1].list_id, 2);
	assert_int_equal(m[1].categories, 2);
	assert_int_equal(m[1].action, BL_ACTION_PASSTHRU);
	assert_int_equal(m[0].labels_below, 1);
	assert_int_equal(m[1].labels_below, 1);
	assert_int_not_equal(m[0].entry, m[1].entry);

	assert_int_equal(lookup(set, "ok.example.vn", m, MAXM), 1);
	assert_int_equal(m[0].flags, BL_MATCH_SELF | BL_ALLOW);
	assert_int_equal(lookup(set, "x.ok.example.vn", m, MAXM), 0);
	set = bl_set_unref(set);
	b = bl_builder_free(b);
}

static void test_merge(void **state)
{
	struct bl_builder *b = bl_builder_new(100);
	struct bl_match m[MAXM];
	struct bl_source src;
	struct bl_set *set;

	assert_int_equal(
		add_full(b, "dup.vn", 1, 5, BL_MATCH_SELF, BL_ACTION_NXDOMAIN, 10, NULL, 0), 0);
	assert_int_equal(add_full(b, "DUP.vn", 2, 3, BL_MATCH_SELF, BL_ACTION_NODATA, 20, NULL, 0),
			 0);
	assert_int_equal(add_full(b, "dup.vn", 4, 7, BL_MATCH_BELOW, BL_ACTION_DROP, 30, NULL, 0),
			 0);
	/* same list again: the first line stays */
	assert_int_equal(
		add_full(b, "dup.vn", 0x80000000u, 3, BL_MATCH_SELF, BL_ACTION_DROP, 40, NULL, 0),
		0);
	assert_int_equal(bl_builder_count(b), 1);
	set = finish(b);
	assert_int_equal(bl_set_count(set), 1);

	assert_int_equal(lookup(set, "dup.vn", m, MAXM), 1);
	assert_int_equal(m[0].categories, 0x80000007u);
	assert_int_equal(m[0].list_id, 3);
	assert_int_equal(m[0].flags, SB);
	assert_int_equal(m[0].action, BL_ACTION_NODATA);
	assert_int_equal(bl_set_entry_source(set, m[0].entry, &src), 0);
	assert_int_equal(src.list_id, 3);
	assert_int_equal(src.line, 20);
	assert_int_equal(src.name_len, 8);
	assert_memory_equal(src.name,
			    "\x03"
			    "dup\x02vn",
			    8); /* stored lower-cased */
	assert_int_equal(lookup(set, "sub.dup.vn", m, MAXM), 1);
	set = bl_set_unref(set);
	b = bl_builder_free(b);
}

static void test_root_and_tld(void **state)
{
	struct bl_builder *b = bl_builder_new(100);
	struct bl_match m[MAXM];
	struct bl_source src;
	struct bl_set *set;

	add(b, ".", 1, 1, BL_MATCH_BELOW);
	add(b, "vn", 2, 2, SB);
	set = finish(b);

	assert_int_equal(lookup(set, "example.vn", m, MAXM), 2);
	assert_int_equal(m[0].categories, 2);
	assert_int_equal(m[0].labels_below, 1);
	assert_int_equal(m[1].categories, 1);
	assert_int_equal(m[1].labels_below, 2);
	assert_int_equal(lookup(set, "vn", m, MAXM), 2);
	assert_int_equal(m[0].labels_below, 0);
	assert_int_equal(m[1].labels_below, 1);
	assert_int_equal(lookup(set, "com", m, MAXM), 1);
	assert_int_equal(m[0].categories, 1);
	assert_int_equal(lookup(set, ".", m, MAXM), 0); /* root entry is BELOW only */
	assert_int_equal(bl_set_entry_source(set, m[0].entry, &src), 0);
	assert_int_equal(src.name_len, 1);
	assert_int_equal(src.name[0], 0);
	set = bl_set_unref(set);

	add(b, ".", 4, 1, BL_MATCH_SELF);
	set = finish(b);
	assert_int_equal(lookup(set, ".", m, MAXM), 1);
	assert_int_equal(m[0].categories, 5);
	assert_int_equal(m[0].labels_below, 0);
	set = bl_set_unref(set);
	b = bl_builder_free(b);
}

static void test_long_names(void **state)
{
	struct bl_builder *b = bl_builder_new(100);
	struct bl_match m[MAXM];
	uint8_t name[256], label63[70];
	struct bl_set *set;
	size_t len = 0;

	/* 127 one-byte labels: 255 bytes, the longest name there is */
	for (int i = 0; i < 127; i++) {
		name[len++] = 1;
		name[len++] = (uint8_t)('a' + i % 26);
	}
	name[len++] = 0;
	assert_int_equal(len, 255);
	assert_int_equal(bl_builder_add(b, name, len, 1, 0, SB, BL_ACTION_POLICY, 1, NULL, 0), 0);
	add(b, "a", 2, 0, BL_MATCH_BELOW); /* the TLD of nothing here */
	add(b, "w", 4, 0, BL_MATCH_BELOW); /* the TLD of the long name */
	label63[0] = 63;
	memset(label63 + 1, 'x', 63);
	label63[64] = 0;
	assert_int_equal(bl_builder_add(b, label63, 65, 8, 0, SB, BL_ACTION_POLICY, 1, NULL, 0), 0);
	set = finish(b);

	assert_int_equal(bl_set_lookup(set, name, len, m, MAXM), 2);
	assert_int_equal(m[0].labels_below, 0);
	assert_int_equal(m[0].categories, 1);
	assert_int_equal(m[1].labels_below, 126);
	assert_int_equal(m[1].categories, 4);
	assert_int_equal(bl_set_lookup(set, label63, 65, m, MAXM), 1);
	assert_int_equal(m[0].categories, 8);

	/* too long: 256 bytes; a 64-byte label */
	name[254] = 1;
	name[255] = 0;
	assert_int_equal(bl_builder_add(b, name, 256, 1, 0, SB, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(bl_set_lookup(set, name, 256, m, MAXM), 0);
	label63[0] = 64;
	label63[65] = 0;
	assert_int_equal(bl_builder_add(b, label63, 66, 1, 0, SB, 0, 1, NULL, 0), -EINVAL);
	set = bl_set_unref(set);
	b = bl_builder_free(b);
}

static void test_invalid_add(void **state)
{
	struct bl_builder *b = bl_builder_new(2);

	assert_int_equal(add_full(b, "x.vn", 1, 0, 0, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(add_full(b, "x.vn", 1, 0, BL_ALLOW, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(add_full(b, "x.vn", 1, 0, 0x08 | SB, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(add_full(b, "x.vn", 1, BL_MAX_LISTS, SB, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(add_full(b, "x.vn", 1, 0, SB, (enum bl_action)99, 1, NULL, 0), -EINVAL);
	assert_int_equal(add_full(b, "x.vn", 1, 0, SB, BL_ACTION_NXDOMAIN, 1, rec_a, sizeof(rec_a)),
			 -EINVAL);
	assert_int_equal(
		add_full(b, "x.vn", 1, 0, SB, BL_ACTION_LOCAL_DATA, 1, rec_a, sizeof(rec_a) - 1),
		-EINVAL);
	assert_int_equal(add_full(b, "x.vn", 1, 0, SB, BL_ACTION_LOCAL_DATA, 1, NULL, 4), -EINVAL);
	assert_int_equal(bl_builder_add(b, (const uint8_t *)"", 0, 1, 0, SB, 0, 1, NULL, 0),
			 -EINVAL);
	assert_int_equal(bl_builder_set_list_name(b, BL_MAX_LISTS, "x"), -EINVAL);
	assert_int_equal(bl_builder_set_list_name(b, 0, NULL), -EINVAL);
	assert_int_equal(bl_builder_count(b), 0);

	/* the bound counts distinct entries; merges are always possible */
	add(b, "one.vn", 1, 0, SB);
	add(b, "two.vn", 1, 0, SB);
	assert_int_equal(add_full(b, "three.vn", 1, 0, SB, 0, 1, NULL, 0), CORE_ELIMIT);
	assert_int_equal(add_full(b, "one.vn", 1, 0, SB | BL_ALLOW, 0, 1, NULL, 0), CORE_ELIMIT);
	add(b, "one.vn", 2, 0, SB);
	assert_int_equal(bl_builder_count(b), 2);
	b = bl_builder_free(b);
	assert_null(bl_builder_free(NULL));
	assert_null(bl_set_unref(NULL));
	assert_null(bl_set_ref(NULL));
}

/* Adds are checked for duplicates in batches: every result must be as if one by one. */
static void test_batched_adds(void **state)
{
	struct bl_builder *b = bl_builder_new(3000);
	struct bl_match m[MAXM];
	struct bl_source src;
	struct bl_set *set;
	char name[64];

	/* 3000 names, then all again from a lower list, with local data now and then */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 3000; i++) {
			snprintf(name, sizeof(name), "%s%d.batch.vn", i % 2 ? "N" : "n", i);
			if (i % 97 == 0)
				assert_int_equal(add_full(b, name, 1u << round,
							  (uint16_t)(9 - round), BL_MATCH_SELF,
							  BL_ACTION_LOCAL_DATA,
							  (uint32_t)(round * 10000 + i), rec_a,
							  sizeof(rec_a)),
						 0);
			else
				assert_int_equal(add_full(b, name, 1u << round,
							  (uint16_t)(9 - round),
							  round ? BL_MATCH_BELOW : BL_MATCH_SELF, 0,
							  (uint32_t)(round * 10000 + i), NULL, 0),
						 0);
			if (i % 1000 == 999)
				assert_int_equal(bl_builder_count(b), round ? 3000 : (size_t)i + 1);
		}
	}
	/* full: known names still merge, new ones are refused */
	assert_int_equal(add_full(b, "n0.batch.vn", 4, 9, SB, 0, 1, NULL, 0), 0);
	assert_int_equal(add_full(b, "new.batch.vn", 4, 9, SB, 0, 1, NULL, 0), CORE_ELIMIT);
	assert_int_equal(add_full(b, "new.batch.vn", 4, 9, SB, BL_ACTION_LOCAL_DATA, 1, rec_a,
				  sizeof(rec_a)),
			 CORE_ELIMIT);
	assert_int_equal(bl_builder_count(b), 3000);
	set = finish(b);
	assert_int_equal(bl_set_count(set), 3000);
	for (int i = 0; i < 3000; i++) {
		size_t len;

		snprintf(name, sizeof(name), "n%d.batch.vn", i);
		assert_int_equal(lookup(set, name, m, MAXM), 1);
		assert_int_equal(m[0].categories, i == 0 ? 7 : 3);
		assert_int_equal(m[0].list_id, 8);
		assert_int_equal(m[0].flags, i % 97 == 0 && i > 0 ? BL_MATCH_SELF : SB);
		assert_int_equal(bl_set_entry_source(set, m[0].entry, &src), 0);
		assert_int_equal(src.line, 10000 + i);
		assert_int_equal(src.name_len, strlen(name) + 2);
		assert_memory_equal(src.name + 1, name, src.name[0]);
		/* the lower list's data replaced the first (and is the same records) */
		assert_int_equal(bl_set_local_data(set, m[0].entry, &len) != NULL, i % 97 == 0);
	}
	set = bl_set_unref(set);
	b = bl_builder_free(b);
}

/* Duplicates dropped from the middle of a batch: the names after them move down intact. */
static void test_interleaved_dups(void **state)
{
	struct bl_builder *b = bl_builder_new(1000);
	struct bl_match m[MAXM];
	struct bl_source src;
	struct bl_set *set;
	char name[128];

	for (int i = 0; i < 300; i++) {
		/* names of growing length; every third one repeats an earlier one */
		if (i % 3 == 2)
			snprintf(name, sizeof(name), "%.*s.dup.vn", 1 + (i - 1) % 60,
				 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefgh");
		else
			snprintf(name, sizeof(name), "%.*s.dup.vn", 1 + i % 60,
				 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefgh");
		add(b, name, 1, 0, SB);
	}
	assert_int_equal(bl_builder_count(b), 40);
	set = finish(b);
	for (int i = 0; i < 60; i++) {
		uint8_t w[256];
		size_t n;

		if (i % 3 == 2)
			continue; /* never added */
		snprintf(name, sizeof(name), "%.*s.dup.vn", 1 + i,
			 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefgh");
		n = wire(name, w);
		assert_int_equal(lookup(set, name, m, MAXM), 1);
		assert_int_equal(bl_set_entry_source(set, m[0].entry, &src), 0);
		assert_int_equal(src.name_len, n);
		assert_memory_equal(src.name, w, n);
	}
	set = bl_set_unref(set);
	b = bl_builder_free(b);
}

/* ---- local data and sources ---------------------------------------------------------------- */

static void check_local_data(const struct bl_set *set)
{
	struct bl_match m[MAXM];
	const uint8_t *d;
	size_t len;

	assert_int_equal(lookup(set, "ld.vn", m, MAXM), 1);
	assert_int_equal(m[0].action, BL_ACTION_LOCAL_DATA);
	assert_int_equal(m[0].flags, BL_MATCH_SELF);
	d = bl_set_local_data(set, m[0].entry, &len);
	assert_non_null(d);
	assert_int_equal(len, sizeof(rec_a) + sizeof(rec_aaaa));
	assert_memory_equal(d, rec_a, sizeof(rec_a));
	assert_memory_equal(d + sizeof(rec_a), rec_aaaa, sizeof(rec_aaaa));

	/* replaced by a lower list id with another action: no data */
	assert_int_equal(lookup(set, "re.vn", m, MAXM), 1);
	assert_int_equal(m[0].action, BL_ACTION_NXDOMAIN);
	assert_null(bl_set_local_data(set, m[0].entry, &len));
	assert_int_equal(len, 0);

	/* replaced by a lower list id with its own data */
	assert_int_equal(lookup(set, "re2.vn", m, MAXM), 1);
	assert_int_equal(m[0].list_id, 1);
	d = bl_set_local_data(set, m[0].entry, &len);
	assert_int_equal(len, sizeof(rec_aaaa));
	assert_memory_equal(d, rec_aaaa, sizeof(rec_aaaa));

	/* local data action without records */
	assert_int_equal(lookup(set, "empty.vn", m, MAXM), 1);
	assert_int_equal(m[0].action, BL_ACTION_LOCAL_DATA);
	assert_null(bl_set_local_data(set, m[0].entry, &len));

	assert_int_equal(lookup(set, "plain.vn", m, MAXM), 1);
	assert_null(bl_set_local_data(set, m[0].entry, &len));
	assert_null(bl_set_local_data(set, UINT32_MAX, &len));
}

static void test_local_data(void **state)
{
	struct bl_builder *b = bl_builder_new(100);
	const uint8_t S = BL_MATCH_SELF;
	const enum bl_action LD = BL_ACTION_LOCAL_DATA;
	struct bl_set *set, *mapped;

	assert_int_equal(add_full(b, "ld.vn", 1, 2, S, LD, 1, rec_a, sizeof(rec_a)), 0);
	assert_int_equal(add_full(b, "other.vn", 1, 2, S, LD, 2, rec_a, sizeof(rec_a)), 0);
	assert_int_equal(add_full(b, "ld.vn", 1, 2, S, LD, 3, rec_aaaa, sizeof(rec_aaaa)), 0);
	assert_int_equal(add_full(b, "ld.vn", 1, 9, S, LD, 4, rec_aaaa, sizeof(rec_aaaa)), 0);
	assert_int_equal(add_full(b, "re.vn", 1, 2, S, LD, 5, rec_a, sizeof(rec_a)), 0);
	assert_int_equal(add_full(b, "re.vn", 1, 1, S, BL_ACTION_NXDOMAIN, 6, NULL, 0), 0);
	assert_int_equal(add_full(b, "re2.vn", 1, 2, S, LD, 7, rec_a, sizeof(rec_a)), 0);
	assert_int_equal(add_full(b, "re2.vn", 1, 1, S, LD, 8, rec_aaaa, sizeof(rec_aaaa)), 0);
	assert_int_equal(add_full(b, "empty.vn", 1, 1, S, LD, 9, NULL, 0), 0);
	assert_int_equal(add_full(b, "plain.vn", 1, 1, S, 0, 10, NULL, 0), 0);
	set = finish(b);
	check_local_data(set);
	mapped = write_and_open(set, "ld.set");
	check_local_data(mapped);
	assert_int_equal(bl_set_verify(mapped), 0);
	set = bl_set_unref(set);
	mapped = bl_set_unref(mapped);
	b = bl_builder_free(b);
}

static void test_sources(void **state)
{
	struct bl_builder *b = bl_builder_new(100);
	struct bl_match m[MAXM];
	struct bl_source src;
	struct bl_set *set, *mapped;

	assert_int_equal(bl_builder_set_list_name(b, 0, "national"), 0);
	assert_int_equal(bl_builder_set_list_name(b, 7, "ads-old"), 0);
	assert_int_equal(bl_builder_set_list_name(b, 7, "ads"), 0);
	assert_int_equal(add_full(b, "bad.example.vn", 1, 7, SB, 0, 1234, NULL, 0), 0);
	assert_int_equal(add_full(b, "national.vn", 1, 0, SB, 0, 5, NULL, 0), 0);
	set = finish(b);
	mapped = write_and_open(set, "sources.set");
	for (int i = 0; i < 2; i++) {
		const struct bl_set *s = i ? mapped : set;

		assert_string_equal(bl_set_list_name(s, 0), "national");
		assert_string_equal(bl_set_list_name(s, 7), "ads");
		assert_null(bl_set_list_name(s, 1));
		assert_null(bl_set_list_name(s, 8));
		assert_null(bl_set_list_name(s, BL_MAX_LISTS - 1));
		assert_int_equal(lookup(s, "www.bad.example.vn", m, MAXM), 1);
		assert_int_equal(bl_set_entry_source(s, m[0].entry, &src), 0);
		assert_int_equal(src.list_id, 7);
		assert_int_equal(src.line, 1234);
		assert_int_equal(src.name_len, 16);
		assert_memory_equal(src.name,
				    "\x03"
				    "bad\x07"
				    "example\x02vn",
				    16);
		assert_int_equal(bl_set_entry_source(s, UINT32_MAX, &src), CORE_ENOTFOUND);
		assert_int_equal(bl_set_entry(s, UINT32_MAX, &m[1]), CORE_ENOTFOUND);
		assert_int_equal(bl_set_entry(s, m[0].entry, &m[1]), 0);
		assert_int_equal(m[1].list_id, 7);
		assert_int_equal(m[1].entry, m[0].entry);
	}
	/* every other entry number is empty */
	{
		size_t n = 0;

		for (uint32_t e = 0; e < bl_set_entry_limit(set); e++) {
			int rc = bl_set_entry_source(set, e, &src);

			assert_true(rc == 0 || rc == CORE_ENOTFOUND);
			n += rc == 0;
		}
		assert_int_equal(n, 2);
	}
	set = bl_set_unref(set);
	mapped = bl_set_unref(mapped);
	b = bl_builder_free(b);
}

/* ---- files --------------------------------------------------------------------------------- */

static uint64_t rng_state = 88172645463325252ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static void random_name(char *buf, size_t size)
{
	static const char *const tlds[] = {"vn", "com.vn", "com", "net", "edu.vn", "xyz"};
	size_t o = 0;
	int labels = 1 + (int)(rnd() % 3);

	for (int l = 0; l < labels; l++) {
		int len = 1 + (int)(rnd() % 12);

		for (int i = 0; i < len && o + 2 < size; i++)
			buf[o++] = "abcdefghijklmnopqrstuvwxyz0123456789-"[rnd() % 37];
		buf[o++] = '.';
	}
	snprintf(buf + o, size - o, "%s", tlds[rnd() % 6]);
}

static void same_match(const struct bl_match *a, const struct bl_match *b)
{
	assert_int_equal(a->categories, b->categories);
	assert_int_equal(a->list_id, b->list_id);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->action, b->action);
	assert_int_equal(a->labels_below, b->labels_below);
	assert_int_equal(a->entry, b->entry);
}

/* The same results from @a and @b for @text. */
static void same_lookup(const struct bl_set *a, const struct bl_set *b, const char *text)
{
	struct bl_match ma[MAXM], mb[MAXM];
	size_t na = lookup(a, text, ma, MAXM);

	assert_int_equal(lookup(b, text, mb, MAXM), na);
	for (size_t i = 0; i < na && i < MAXM; i++) {
		struct bl_source sa, sb;

		same_match(&ma[i], &mb[i]);
		assert_int_equal(bl_set_entry_source(a, ma[i].entry, &sa), 0);
		assert_int_equal(bl_set_entry_source(b, mb[i].entry, &sb), 0);
		assert_int_equal(sa.line, sb.line);
		assert_int_equal(sa.name_len, sb.name_len);
		assert_memory_equal(sa.name, sb.name, sa.name_len);
	}
}

static void test_roundtrip(void **state)
{
	struct bl_builder *b = bl_builder_new(100000);
	static char names[5000][64];
	struct bl_set *set, *mapped, *again;
	struct bl_set_stats st;
	char path[256], path2[300];
	uint8_t *f1, *f2;
	size_t l1, l2, hits = 0;

	assert_int_equal(bl_builder_set_list_name(b, 3, "three"), 0);
	for (int i = 0; i < 5000; i++) {
		uint8_t flags = (uint8_t)(1 + rnd() % 3) | (rnd() % 5 == 0 ? BL_ALLOW : 0);
		bool ld = rnd() % 10 == 0;

		random_name(names[i], sizeof(names[i]));
		assert_int_equal(add_full(b, names[i], 1u << (rnd() % 32), (uint16_t)(rnd() % 8),
					  flags, ld ? BL_ACTION_LOCAL_DATA : BL_ACTION_POLICY,
					  (uint32_t)i + 1, ld ? rec_a : NULL,
					  ld ? sizeof(rec_a) : 0),
				 0);
	}
	set = finish(b);
	bl_set_get_stats(set, &st);
	assert_false(st.mapped);
	assert_int_equal(st.entries, bl_builder_count(b));
	assert_true(st.hot_bytes < st.entries * 21 + 4096);

	mapped = write_and_open(set, "roundtrip.set");
	bl_set_get_stats(mapped, &st);
	assert_true(st.mapped);
	assert_int_equal(bl_set_count(mapped), bl_set_count(set));
	assert_int_equal(bl_set_verify(set), 0);
	assert_int_equal(bl_set_verify(mapped), 0);
	assert_string_equal(bl_set_list_name(mapped, 3), "three");
	for (int i = 0; i < 5000; i++) {
		char q[128];
		struct bl_match m[MAXM];

		same_lookup(set, mapped, names[i]);
		snprintf(q, sizeof(q), "sub.%.63s", names[i]);
		same_lookup(set, mapped, q);
		random_name(q, sizeof(q));
		same_lookup(set, mapped, q);
		hits += lookup(set, names[i], m, MAXM) > 0 || lookup(set, q, m, MAXM) > 0;
	}
	assert_true(hits > 2000);
	for (uint32_t e = 0; e < bl_set_entry_limit(set); e++) {
		struct bl_match x, y;
		size_t la, lb;
		const uint8_t *da, *db;

		int rc = bl_set_entry(set, e, &x);

		assert_int_equal(bl_set_entry(mapped, e, &y), rc);
		if (rc == 0)
			same_match(&x, &y);
		da = bl_set_local_data(set, e, &la);
		db = bl_set_local_data(mapped, e, &lb);
		assert_int_equal(la, lb);
		if (da)
			assert_memory_equal(da, db, la);
	}

	/* a mapped set writes the same bytes */
	path_in_tmp(path, sizeof(path), "roundtrip.set");
	path_in_tmp(path2, sizeof(path2), "roundtrip2.set");
	assert_int_equal(bl_set_write(mapped, path2), 0);
	f1 = read_file(path, &l1);
	f2 = read_file(path2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(f1, f2, l1);
	assert_int_equal(bl_set_open_buffer(f1, l1, &again), 0);
	same_lookup(set, again, names[17]);
	again = bl_set_unref(again);
	assert_int_equal(bl_set_open_buffer(f1 + 4, l1 - 4, &again), -EINVAL);
	free(f1);
	free(f2);
	unlink(path2);
	/* the temporary file is gone */
	snprintf(path2, sizeof(path2), "%s.tmp", path);
	assert_int_equal(access(path2, F_OK), -1);

	set = bl_set_unref(set);
	mapped = bl_set_unref(mapped);
	b = bl_builder_free(b);
}

/* After a fingerprint collision the set is built under another seed, keys computed again. */
static void test_other_seed(void **state)
{
	struct bl_builder *b = bl_builder_new(100);
	struct bl_match m[MAXM];
	struct bl_set *a, *c, *mapped;

	add(b, "example.vn", 1, 0, SB);
	add(b, "example.vn", 2, 1, SB | BL_ALLOW);
	add(b, "x.y.z", 4, 2, BL_MATCH_SELF);
	assert_int_equal(bl_builder_finish(b, &a), 0);
	assert_int_equal(bl_builder_finish_seed(b, 12345, &c), 0);
	mapped = write_and_open(c, "seed.set");
	for (int i = 0; i < 2; i++) {
		const struct bl_set *s = i ? mapped : c;

		assert_int_equal(bl_set_count(s), 3);
		assert_int_equal(lookup(s, "www.example.vn", m, MAXM), 2);
		assert_int_equal(m[0].categories, 1);
		assert_int_equal(m[1].categories, 2);
		assert_int_equal(m[1].flags, SB | BL_ALLOW);
		assert_int_equal(lookup(s, "x.y.z", m, MAXM), 1);
		assert_int_equal(lookup(s, "a.x.y.z", m, MAXM), 0);
		/* the same entries, under other entry numbers */
		{
			struct bl_match ma[MAXM];
			struct bl_source sa, sb;

			assert_int_equal(lookup(a, "www.example.vn", ma, MAXM), 2);
			for (int j = 0; j < 2; j++) {
				assert_int_equal(lookup(s, "www.example.vn", m, MAXM), 2);
				assert_int_equal(bl_set_entry_source(a, ma[j].entry, &sa), 0);
				assert_int_equal(bl_set_entry_source(s, m[j].entry, &sb), 0);
				assert_int_equal(sa.name_len, sb.name_len);
				assert_memory_equal(sa.name, sb.name, sa.name_len);
				assert_int_equal(ma[j].flags, m[j].flags);
			}
		}
	}
	a = bl_set_unref(a);
	c = bl_set_unref(c);
	mapped = bl_set_unref(mapped);
	b = bl_builder_free(b);
}

static void test_empty_set(void **state)
{
	struct bl_builder *b = bl_builder_new(0);
	struct bl_match m[MAXM];
	struct bl_set *set, *mapped;

	assert_int_equal(add_full(b, "x.vn", 1, 0, SB, 0, 1, NULL, 0), CORE_ELIMIT);
	set = finish(b);
	assert_int_equal(bl_set_count(set), 0);
	assert_int_equal(lookup(set, "x.vn", m, MAXM), 0);
	mapped = write_and_open(set, "empty.set");
	assert_int_equal(bl_set_count(mapped), 0);
	assert_int_equal(lookup(mapped, ".", m, MAXM), 0);
	assert_int_equal(bl_set_verify(mapped), 0);
	set = bl_set_unref(set);
	mapped = bl_set_unref(mapped);
	b = bl_builder_free(b);
}

/* A small valid set file image, for corrupting. */
static uint8_t *sample_image(size_t *out_len)
{
	struct bl_builder *b = bl_builder_new(100);
	struct bl_set *set;
	char path[256];
	uint8_t *img;

	assert_int_equal(bl_builder_set_list_name(b, 1, "one"), 0);
	add(b, "example.vn", 1, 1, SB);
	add(b, "ads.example.vn", 2, 1, SB | BL_ALLOW);
	assert_int_equal(
		add_full(b, "ld.vn", 1, 1, SB, BL_ACTION_LOCAL_DATA, 3, rec_a, sizeof(rec_a)), 0);
	set = finish(b);
	path_in_tmp(path, sizeof(path), "sample.set");
	assert_int_equal(bl_set_write(set, path), 0);
	img = read_file(path, out_len);
	unlink(path);
	set = bl_set_unref(set);
	b = bl_builder_free(b);
	return img;
}

static struct bl_file_header *hdr(uint8_t *img)
{
	return (struct bl_file_header *)img;
}

static void test_corrupt_files(void **state)
{
	size_t len;
	uint8_t *img = sample_image(&len);
	uint8_t *copy = aligned_alloc(64, (len + 64) & ~(size_t)63);
	struct bl_set *set;
	struct bl_match m[MAXM];
	struct bl_source src;
	char path[256];

	assert_non_null(copy);
	assert_int_equal(open_bytes(img, len), 0);

	/* truncated anywhere */
	{
		const size_t cuts[] = {0, 1, 8, 100, 255, 256, 4096, len / 2, len - 8, len - 1};

		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
			assert_int_equal(open_bytes(img, cuts[i]), CORE_EPARSE);
	}
	/* longer than the header says */
	memcpy(copy, img, len);
	memset(copy + len, 0, 8);
	assert_int_equal(open_bytes(copy, len + 8), CORE_EPARSE);

#define CORRUPT(stmt, seal, expect)                              \
	do {                                                     \
		memcpy(copy, img, len);                          \
		stmt;                                            \
		if (seal)                                        \
			(void)bl_set_image_seal(copy, len);      \
		assert_int_equal(open_bytes(copy, len), expect); \
	} while (0)

	CORRUPT(copy[0] = 'X', true, CORE_EPARSE);
	CORRUPT(hdr(copy)->version = 2, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->endian = 0x04030201u, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->header_size = 128, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->flags |= 0x100, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->file_size += 8, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->home_slots = 0, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->home_slots = hdr(copy)->slots + 1, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->slots = (uint64_t)1 << 40, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->entries = hdr(copy)->slots + 1, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->lists = BL_MAX_LISTS + 1, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->lists = 1000, true, CORE_EPARSE);
	/* bad offsets: beyond the file, overlapping, misaligned, wrapping around */
	CORRUPT(hdr(copy)->sections[BL_SEC_DATA].offset = len + 8, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->sections[BL_SEC_NAMES].length = len, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->sections[BL_SEC_SLOTS].offset = 8, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->sections[BL_SEC_LISTS].offset -= 8, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->sections[BL_SEC_SOURCES].offset += 4, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->sections[BL_SEC_SLOTS].length -= 16, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->sections[BL_SEC_SOURCES].length += 8, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->sections[BL_SEC_DATA].length = UINT64_MAX - 7, true, CORE_EPARSE);
	CORRUPT(hdr(copy)->sections[BL_SEC_DATA].offset = UINT64_MAX - 7, true, CORE_EPARSE);
	/* list names that do not end inside their section */
	CORRUPT(copy[hdr(copy)->sections[BL_SEC_LISTS].offset +
		     hdr(copy)->sections[BL_SEC_LISTS].length - 1] = 'x',
		true, CORE_EPARSE);
	/* checksums: any flipped byte of the header or the hot part */
	CORRUPT(copy[offsetof(struct bl_file_header, hot_checksum) + 3] ^= 0x10, false,
		CORE_EPARSE);
	CORRUPT(copy[offsetof(struct bl_file_header, seed)] ^= 1, false, CORE_EPARSE);
	CORRUPT(copy[hdr(copy)->sections[BL_SEC_SLOTS].offset + 5] ^= 0x80, false, CORE_EPARSE);
	CORRUPT(copy[hdr(copy)->sections[BL_SEC_SLOTS].offset +
		     hdr(copy)->sections[BL_SEC_SLOTS].length - 1] ^= 1,
		false, CORE_EPARSE);
	CORRUPT(copy[hdr(copy)->sections[BL_SEC_LISTS].offset] ^= 1, false, CORE_EPARSE);
	CORRUPT(copy[offsetof(struct bl_file_header, reserved) + 5] = 1, false, CORE_EPARSE);
	/* the same, resealed, is accepted */
	CORRUPT(copy[hdr(copy)->sections[BL_SEC_SLOTS].offset + 5] ^= 0x80, true, 0);

	/* a flipped cold byte: opens (the cold part is not read), fails bl_set_verify() */
	memcpy(copy, img, len);
	copy[hdr(copy)->sections[BL_SEC_NAMES].offset + 2] ^= 1;
	assert_int_equal(bl_set_open_buffer(copy, len, &set), 0);
	assert_int_equal(bl_set_verify(set), CORE_EPARSE);
	set = bl_set_unref(set);

	/* corrupt cold records (resealed): refused record by record, never read out of bounds */
	memcpy(copy, img, len);
	for (uint64_t i = 0; i < hdr(copy)->slots; i++) {
		struct bl_source_rec *r =
			(struct bl_source_rec *)(copy +
						 hdr(copy)->sections[BL_SEC_SOURCES].offset) +
			i;

		r->name_off =
			i % 2 ? UINT32_MAX : (uint32_t)hdr(copy)->sections[BL_SEC_NAMES].length - 1;
	}
	memset(copy + hdr(copy)->sections[BL_SEC_NAMES].offset, 0xff,
	       hdr(copy)->sections[BL_SEC_NAMES].length);
	assert_int_equal(bl_set_image_seal(copy, len), 0);
	assert_int_equal(bl_set_open_buffer(copy, len, &set), 0);
	assert_int_equal(bl_set_verify(set), 0);
	assert_int_equal(lookup(set, "ld.vn", m, MAXM), 1);
	assert_int_equal(bl_set_entry_source(set, m[0].entry, &src), CORE_EPARSE);
	{
		size_t dl;

		assert_null(bl_set_local_data(set, m[0].entry, &dl));
	}
	for (uint32_t e = 0; e < bl_set_entry_limit(set); e++) {
		int rc = bl_set_entry_source(set, e, &src);

		assert_true(rc == CORE_EPARSE || rc == CORE_ENOTFOUND);
	}
	set = bl_set_unref(set);

	/* not a set file at all */
	assert_int_equal(bl_set_open(tmpdir, &set), CORE_EPARSE);
	path_in_tmp(path, sizeof(path), "missing.set");
	assert_int_equal(bl_set_open(path, &set), -ENOENT);
	assert_int_equal(bl_set_write(NULL, path), -EINVAL);
	free(copy);
	free(img);
#undef CORRUPT
}

static void test_write_errors(void **state)
{
	struct bl_builder *b = bl_builder_new(10);
	struct bl_set *set;
	char path[256];

	add(b, "x.vn", 1, 0, SB);
	set = finish(b);
	path_in_tmp(path, sizeof(path), "no/such/dir.set");
	assert_int_equal(bl_set_write(set, path), -ENOENT);
	set = bl_set_unref(set);
	b = bl_builder_free(b);
}

/* ---- sharing ------------------------------------------------------------------------------- */

struct thread_arg {
	struct bl_set *set;
	size_t hits;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	struct bl_match m[MAXM];

	for (int i = 0; i < 20000; i++) {
		struct bl_set *s = bl_set_ref(a->set);

		a->hits += lookup(s, i % 2 ? "a.example.vn" : "example.com", m, MAXM);
		bl_set_unref(s);
	}
	return NULL;
}

static void test_refcount(void **state)
{
	uint64_t live = core_alloc_live_bytes();
	struct bl_builder *b = bl_builder_new(10);
	struct thread_arg args[4];
	pthread_t th[4];
	struct bl_set *set, *mapped;

	add(b, "example.vn", 1, 0, SB);
	set = finish(b);
	mapped = write_and_open(set, "ref.set");
	b = bl_builder_free(b);
	assert_ptr_equal(bl_set_ref(set), set);
	assert_ptr_equal(bl_set_ref(mapped), mapped);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){.set = i % 2 ? set : mapped};
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
	}
	assert_null(bl_set_unref(set));
	assert_null(bl_set_unref(mapped));
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].hits, 10000);
	}
	assert_true(core_alloc_live_bytes() > live);
	assert_null(bl_set_unref(set));
	assert_null(bl_set_unref(mapped));
	assert_int_equal(core_alloc_live_bytes(), live);
}

/* ---- shadows, raw lookups, exact finds (for blocklists/view.c and overlay.c) --------------- */

static void test_shadow(void **state)
{
	struct bl_builder *b = bl_builder_new(100);
	struct bl_match m[MAXM], x;
	uint8_t w[256];
	size_t n;
	struct bl_set *set;

	/* a shadow is refused with match flags or local data */
	assert_int_equal(add_full(b, "x.vn", 1, 0, BL_SHADOW | BL_MATCH_SELF, 0, 1, NULL, 0),
			 -EINVAL);
	assert_int_equal(add_full(b, "x.vn", 1, 0, BL_SHADOW, BL_ACTION_LOCAL_DATA, 1, rec_a,
				  sizeof(rec_a)),
			 -EINVAL);
	assert_int_equal(add_full(b, "gone.vn", 1, 3, BL_SHADOW, 0, 0, NULL, 0), 0);
	assert_int_equal(add_full(b, "gone.vn", 1, 3, BL_SHADOW | BL_ALLOW, 0, 0, NULL, 0), 0);
	/* a real entry replaces a shadow whole, whatever the order */
	assert_int_equal(add_full(b, "back.vn", 4, 3, BL_SHADOW, 0, 0, NULL, 0), 0);
	assert_int_equal(add_full(b, "back.vn", 1, 5, BL_MATCH_SELF, BL_ACTION_LOCAL_DATA, 7,
				  rec_a, sizeof(rec_a)),
			 0);
	assert_int_equal(add_full(b, "first.vn", 1, 5, BL_MATCH_BELOW, BL_ACTION_NXDOMAIN, 8, NULL,
				  0),
			 0);
	assert_int_equal(add_full(b, "first.vn", 2, 1, BL_SHADOW, 0, 0, NULL, 0), 0);
	add(b, "vn", 1, 0, BL_MATCH_SELF);
	set = finish(b);
	bl_builder_free(b);
	assert_int_equal(bl_set_count(set), 5);

	/* lookups never return shadows (nor self-only parents) */
	assert_int_equal(lookup(set, "gone.vn", m, MAXM), 0);
	assert_int_equal(lookup(set, "a.gone.vn", m, MAXM), 0);
	n = lookup(set, "back.vn", m, MAXM);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].list_id, 5);
	assert_int_equal(m[0].categories, 1);
	assert_int_equal(m[0].action, BL_ACTION_LOCAL_DATA);
	assert_int_equal(m[0].layer, 0);
	assert_int_equal(m[0].from_overlay, 0);
	n = lookup(set, "a.first.vn", m, MAXM);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].flags, BL_MATCH_BELOW);
	assert_int_equal(m[0].list_id, 5);
	assert_int_equal(m[0].categories, 1);

	/* raw lookups return every entry of the name and its parents */
	n = wire("a.gone.vn", w);
	assert_int_equal(bl_set_lookup_raw(set, w, n, m, MAXM), 3);
	assert_int_equal(m[0].labels_below, 1);
	assert_int_equal(m[0].flags, BL_SHADOW);
	assert_int_equal(m[1].labels_below, 1);
	assert_int_equal(m[1].flags, BL_SHADOW | BL_ALLOW);
	assert_int_equal(m[2].labels_below, 2);
	assert_int_equal(m[2].flags, BL_MATCH_SELF);
	assert_int_equal(bl_set_lookup_raw(set, w, n, m, 1), 3);
	assert_int_equal(m[0].flags, BL_SHADOW);

	/* exact finds, both variants, any case */
	n = wire("GONE.vn", w);
	assert_int_equal(bl_set_find(set, w, n, false, &x), 0);
	assert_int_equal(x.flags, BL_SHADOW);
	assert_int_equal(x.labels_below, 0);
	assert_int_equal(bl_set_find(set, w, n, true, &x), 0);
	assert_int_equal(x.flags, BL_SHADOW | BL_ALLOW);
	n = wire("back.vn", w);
	assert_int_equal(bl_set_find(set, w, n, true, &x), CORE_ENOTFOUND);
	assert_int_equal(bl_set_find(set, w, n, false, &x), 0);
	assert_int_equal(x.flags, BL_MATCH_SELF);
	n = wire("a.back.vn", w);
	assert_int_equal(bl_set_find(set, w, n, false, &x), CORE_ENOTFOUND);
	assert_int_equal(bl_set_find(set, w, n - 1, false, &x), CORE_ENOTFOUND);
	assert_int_equal(bl_set_find(NULL, w, n, false, &x), CORE_ENOTFOUND);
	bl_set_unref(set);
}

/* ---- allocation failures ------------------------------------------------------------------- */

/* Did the failure armed with core_alloc_fail_at(@n) fire? (as in tests/unit/config) */
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

/* Build, write, open and look up a set big enough to grow every builder array once. */
static int scenario(size_t *out_hits)
{
	struct bl_builder *b = bl_builder_new(2000);
	struct bl_set *set = NULL, *mapped = NULL;
	struct bl_match m[MAXM];
	char path[256], name[64];
	int rc;

	if (!b)
		return -ENOMEM;
	rc = bl_builder_set_list_name(b, 2, "two");
	for (int i = 0; i < 700 && rc == 0; i++) {
		/* 600 names; the last 100 adds merge, appending local data */
		snprintf(name, sizeof(name), "n%d.example%d.vn", i % 600, i % 600 % 7);
		if (i % 3 == 0)
			rc = add_full(b, name, 1u << (i % 5), (uint16_t)(i % 3), SB,
				      BL_ACTION_LOCAL_DATA, (uint32_t)i, rec_a, sizeof(rec_a));
		else
			rc = add_full(b, name, 1u << (i % 5), (uint16_t)(i % 3), SB, 0, (uint32_t)i,
				      NULL, 0);
	}
	if (rc == 0)
		rc = bl_builder_finish(b, &set);
	path_in_tmp(path, sizeof(path), "torture.set");
	if (rc == 0)
		rc = bl_set_write(set, path);
	if (rc == 0)
		rc = bl_set_open(path, &mapped);
	if (rc == 0) {
		*out_hits = lookup(mapped, "x.n5.example5.vn", m, MAXM);
		*out_hits += lookup(set, "n599.example4.vn", m, MAXM);
	}
	mapped = bl_set_unref(mapped);
	set = bl_set_unref(set);
	b = bl_builder_free(b);
	return rc;
}

static void test_alloc_torture(void **state)
{
	uint64_t live = core_alloc_live_bytes();
	size_t hits = 0;
	uint64_t n;

	assert_int_equal(scenario(&hits), 0);
	assert_int_equal(hits, 2);
	assert_int_equal(core_alloc_live_bytes(), live);
	for (n = 1;; n++) {
		int rc;

		hits = 0;
		core_alloc_fail_at(n);
		rc = scenario(&hits);
		if (!failure_fired(n)) {
			/* this run needed fewer allocations: it must be the normal one */
			assert_int_equal(rc, 0);
			assert_int_equal(hits, 2);
			break;
		}
		assert_int_equal(rc, -ENOMEM);
		assert_int_equal(core_alloc_live_bytes(), live);
	}
	assert_true(n > 10);
	assert_int_equal(core_alloc_live_bytes(), live);
}

/* ---- main ---------------------------------------------------------------------------------- */

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suffix_match),
		cmocka_unit_test(test_most_specific_first),
		cmocka_unit_test(test_allow),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_root_and_tld),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_invalid_add),
		cmocka_unit_test(test_batched_adds),
		cmocka_unit_test(test_interleaved_dups),
		cmocka_unit_test(test_other_seed),
		cmocka_unit_test(test_local_data),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty_set),
		cmocka_unit_test(test_corrupt_files),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_alloc_torture),
		cmocka_unit_test(test_shadow),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
