/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target for the list parsers (blocklists/parse.c, rpz.c, name.c): any bytes, in any format,
 * parse into a real builder without crashing, leaking or breaking the report's invariants, and
 * the set they make can be compiled and looked up.
 *
 * Input: one mode byte, then the list text.
 *   bits 0-1: the format (domains, hosts, adblock, rpz);
 *   bit 2:    RPZ only: the caller gives the zone ("rpz.example.vn.") instead of the file;
 *   bit 3:    a small builder (16 entries), to reach CORE_ELIMIT in the middle of a parse.
 * The text is also normalised as one name with core_dname_from_text(), and the result checked.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "blocklists/parse.h"
#include "blocklists/set.h"
#include "core/assert.h"
#include "core/dname.h"
#include "core/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"example.vn",
	"www.example.vn",
	"a.b.c.d.example.vn",
	"xn--gio-dc-qta9852d.vn",
	"rpz.example.vn",
	"32.1.2.0.192.rpz-ip",
	"vn",
	"localhost",
};

/* A wire name from core_dname_from_text(): labels of [a-z0-9_-*] of 1-63 bytes, then the root. */
static void check_wire(const uint8_t *w, size_t len)
{
	size_t pos = 0;

	core_require(len >= 2 && len <= 255);
	while (w[pos] != 0) {
		core_require(w[pos] <= 63 && pos + 1 + w[pos] < len);
		for (size_t i = 1; i <= w[pos]; i++) {
			uint8_t c = w[pos + i];

			core_require((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
				     c == '_');
		}
		pos += 1 + (size_t)w[pos];
	}
	core_require(pos + 1 == len);
}

static void check_report(const struct bl_parse_report *r)
{
	core_require(r->n_diags <= BL_PARSE_MAX_DIAGS);
	core_require(r->n_diags <= r->bad);
	core_require(r->allows <= r->entries);
	core_require(r->n_ip_triggers == 0 || r->ip_triggers);
	for (size_t i = 0; i < r->n_diags; i++) {
		core_require(memchr(r->diags[i].message, '\0', sizeof(r->diags[i].message)));
		core_require(r->diags[i].line >= 1 && r->diags[i].line <= r->lines);
	}
	for (size_t i = 0; i < r->n_ip_triggers; i++) {
		const struct bl_ip_trigger *t = &r->ip_triggers[i];

		core_require(t->family == AF_INET || t->family == AF_INET6);
		core_require(t->prefix >= 1 && t->prefix <= (t->family == AF_INET ? 32 : 128));
		core_require(t->action <= BL_ACTION_DROP);
		core_require(t->line >= 1 && t->line <= r->lines);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bl_parse_report r;
	struct bl_builder *b;
	struct bl_set *set = NULL;
	enum bl_format format;
	const char *origin = NULL, *why = NULL;
	uint8_t wire[255];
	size_t n;
	int rc;

	if (size < 1)
		return 0;
	format = (enum bl_format)(data[0] & 3);
	if (format == BL_FORMAT_RPZ && (data[0] & 4))
		origin = "rpz.example.vn.";
	b = bl_builder_new(data[0] & 8 ? 16 : 100000);
	if (!b)
		return 0;
	rc = bl_parse_buffer(format, (const char *)data + 1, size - 1, origin, b, 3, 1u << 5, &r);
	core_require(rc == 0 || rc == CORE_ELIMIT || rc == -ENOMEM);
	check_report(&r);
	core_require(bl_builder_count(b) <= r.entries);
	if (bl_builder_finish(b, &set) == 0) {
		struct bl_match m[8];

		core_require(bl_set_count(set) == bl_builder_count(b));
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			size_t k;

			n = core_dname_from_text(names[i], strlen(names[i]), wire, &why);
			core_require(n > 0);
			k = bl_set_lookup(set, wire, n, m, 8);
			for (size_t j = 0; j < k && j < 8; j++) {
				size_t dlen;

				core_require(m[j].list_id == 3 && m[j].categories == 1u << 5);
				(void)bl_set_local_data(set, m[j].entry, &dlen);
			}
		}
		bl_set_unref(set);
	}
	bl_parse_report_clear(&r);
	bl_builder_free(b);

	n = core_dname_from_text((const char *)data + 1, size - 1, wire, &why);
	if (n > 0)
		check_wire(wire, n);
	else
		core_require(why != NULL);
	return 0;
}
