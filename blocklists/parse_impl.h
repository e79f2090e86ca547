/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private to the list parsers (parse.c, rpz.c, name.c) and their tests: the state one parse
 * shares between the format readers, the bad-line reporting and the name normaliser.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/parse.h"
#include "core/dname.h"
#include "blocklists/set.h"

/** Most RPZ IP triggers one parse returns (CORE_ELIMIT beyond: the report would grow unbounded). */
#define BL_PARSE_MAX_IP_TRIGGERS (1u << 22)
/** Most bytes of a line quoted in a diagnostic (UTF-8 is cut on a character boundary). */
#define BL_PARSE_QUOTE_MAX 64

/** One parse in progress. */
struct bl_parse_ctx {
	struct bl_builder *b; /**< borrowed: where names go */
	uint16_t list_id;
	uint32_t categories;
	struct bl_parse_report *report; /**< borrowed: counts, diagnostics, IP triggers */
	size_t ip_cap;			/**< allocated elements of report->ip_triggers */
};

/**
 * Count a bad line and, while fewer than BL_PARSE_MAX_DIAGS are reported, report it as
 * "'<@text quoted>' <message>" at @line (the quote is cut at BL_PARSE_QUOTE_MAX bytes, control
 * bytes and broken UTF-8 shown as '?').
 */
void bl_parse_bad(struct bl_parse_ctx *ctx, uint32_t line, const char *text, size_t len,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/** Report @text as a bad name with the reason in @err. */
void bl_parse_bad_name(struct bl_parse_ctx *ctx, uint32_t line, const char *text, size_t len,
		       const struct core_dname_error *err);

/**
 * Add one entry to the builder and count it. A name the builder refuses (-EINVAL) becomes a bad
 * line; too much local data for one name too.
 *
 * @return 0 (also for a refused name), CORE_ELIMIT when the builder is full, -ENOMEM.
 */
int bl_parse_add(struct bl_parse_ctx *ctx, const uint8_t *name, size_t name_len, uint8_t flags,
		 enum bl_action action, uint32_t line, const uint8_t *data, size_t data_len)
	__attribute__((warn_unused_result));

/** Append an IP trigger to the report. @return 0, CORE_ELIMIT, -ENOMEM. */
int bl_parse_add_ip(struct bl_parse_ctx *ctx, const struct bl_ip_trigger *t)
	__attribute__((warn_unused_result));

/** The RPZ reader (rpz.c). @origin_wire: the caller's zone, or NULL. @return as bl_parse_buffer. */
int bl_parse_rpz(struct bl_parse_ctx *ctx, const char *text, size_t len, const uint8_t *origin_wire,
		 size_t origin_len) __attribute__((warn_unused_result));

/** Is @c blank inside a line (space, tab, CR, VT, FF)? */
static inline bool bl_parse_is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}
