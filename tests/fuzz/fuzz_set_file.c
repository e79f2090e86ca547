/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target for set files (blocklists/set.c): whatever bytes are given must be refused with
 * CORE_EPARSE or give a set that can be used without reading outside the image.
 *
 * Input: one mode byte, then the file image.
 *   bit 0: reseal the image (recompute both checksums) first, so that the structural checks
 *          behind the checksum are reached, and lookups run over forged hot tables;
 *   bit 1: also open it through a file (bl_set_open), not only bl_set_open_buffer.
 * Then every operation of a set is run on whatever opened: lookups of a few names, the source,
 * local data and hot fields of each entry found or numbered, list names, stats, verification.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "blocklists/internal.h"
#include "blocklists/set.h"
#include "core/alloc.h"
#include "core/assert.h"
#include "core/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *wire;
	uint8_t len;
} names[] = {
	{"", 1},
	{"\x02vn", 4},
	{"\x07"
	 "example\x02vn",
	 12},
	{"\x03www\x07"
	 "example\x02vn",
	 16},
	{"\x03"
	 "ADS\x07"
	 "Example\x02vn",
	 16},
	{"\x01"
	 "a\x01"
	 "b\x03"
	 "ads\x07"
	 "example\x02vn",
	 20},
	{"\x02ld\x02vn", 7},
	{"\x0a"
	 "notexample\x02vn",
	 15},
};

static void use_entry(const struct bl_set *set, uint32_t entry)
{
	struct bl_source src;
	struct bl_match m;
	const uint8_t *d;
	size_t len;
	volatile uint8_t sink = 0;

	if (bl_set_entry_source(set, entry, &src) == 0) {
		for (size_t i = 0; i < src.name_len; i++)
			sink ^= src.name[i];
	}
	d = bl_set_local_data(set, entry, &len);
	for (size_t i = 0; d && i < len; i++)
		sink ^= d[i];
	if (bl_set_entry(set, entry, &m) == 0)
		core_require(m.entry == entry && m.labels_below == 0);
	(void)sink;
}

static void use_set(const struct bl_set *set)
{
	struct bl_match m[8];
	struct bl_set_stats st;
	size_t limit = bl_set_entry_limit(set);
	int rc;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = bl_set_lookup(set, (const uint8_t *)names[i].wire, names[i].len, m, 8);

		for (size_t j = 0; j < n && j < 8; j++) {
			core_require(m[j].entry < limit);
			core_require(m[j].action <= BL_ACTION_LOCAL_DATA);
			use_entry(set, m[j].entry);
		}
	}
	for (uint32_t e = 0; e < limit && e < 512; e++)
		use_entry(set, e);
	use_entry(set, UINT32_MAX);
	for (uint32_t id = 0; id < BL_MAX_LISTS; id++) {
		const char *s = bl_set_list_name(set, (uint16_t)id);

		if (s)
			core_require(strlen(s) < 1u << 20);
	}
	bl_set_get_stats(set, &st);
	core_require(st.entries == bl_set_count(set));
	rc = bl_set_verify(set);
	core_require(rc == 0 || rc == CORE_EPARSE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bl_set *set = NULL;
	uint8_t mode, *image;
	int rc;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	image = core_malloc(size ? size : 1); /* 16-byte aligned */
	if (!image)
		return 0;
	memcpy(image, data, size);
	if (mode & 1)
		(void)bl_set_image_seal(image, size);

	rc = bl_set_open_buffer(image, size, &set);
	core_require(rc == 0 || rc == CORE_EPARSE);
	if (rc == 0) {
		use_set(set);
		set = bl_set_unref(set);
	}
	if (mode & 2) {
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/tmp/lanhmanh-fuzz-set-%ld.set", (long)getpid());
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			ssize_t w = write(fd, image, size);

			close(fd);
			if (w == (ssize_t)size) {
				int rc2 = bl_set_open(path, &set);

				core_require(rc2 == rc);
				if (rc2 == 0) {
					use_set(set);
					set = bl_set_unref(set);
				}
			}
			unlink(path);
		}
	}
	core_free(image);
	return 0;
}
