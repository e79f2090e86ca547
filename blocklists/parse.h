/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * List parsers: read a list file in one of the formats users have and add its names to a set
 * builder (blocklists/set.h).
 *
 * Formats:
 *  - domains: one name per line; `#` and `!` comments; a name blocks itself and every name
 *    below it. A leading "*." means only the names below.
 *  - hosts: "0.0.0.0 name [name…]" / "127.0.0.1 name" / "::1 name" lines (the address is
 *    ignored: the names are blocked); localhost-style names are skipped.
 *  - adblock: the common subset: `||name^` (block name and below), `@@||name^` (allow name and
 *    below), `!` comments, `[Adblock Plus …]` headers; rules with paths, options other than
 *    those that make sense for DNS, or cosmetic rules are skipped and counted (not errors).
 *  - rpz: an RPZ zone file (RFC draft-vixie-dnsop-dns-rpz): QNAME triggers relative to the
 *    zone origin ($ORIGIN, or @origin given by the caller), "*.name" wildcards, actions
 *    `CNAME .` (NXDOMAIN), `CNAME *.` (NODATA), `CNAME rpz-passthru.` (allow), `CNAME rpz-drop.`
 *    (drop), A/AAAA local data; the SOA/NS records of the zone apex are not triggers. IP
 *    triggers (`*.rpz-ip`) are returned to the caller in the report; other trigger types
 *    (rpz-nsdname, rpz-nsip, rpz-client-ip) are counted as unsupported.
 *
 * Names are lower-cased, a trailing dot is accepted, IDN names in UTF-8 are converted to their
 * xn-- form, invalid names (empty labels, labels over 63 bytes, names over 253 characters,
 * characters outside letters/digits/-/_) are bad lines.
 *
 * Bad lines never stop a parse: each is counted and the first ones are reported with their
 * line number and what is wrong.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "blocklists/set.h"

enum bl_format {
	BL_FORMAT_DOMAINS,
	BL_FORMAT_HOSTS,
	BL_FORMAT_ADBLOCK,
	BL_FORMAT_RPZ,
};

/** One bad line. */
struct bl_parse_diag {
	uint32_t line;
	char message[160]; /**< what is wrong, and what was expected */
};

/** An RPZ IP trigger: answers containing an address in this range get @action. */
struct bl_ip_trigger {
	int family; /**< AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t prefix;
	uint8_t action; /**< enum bl_action */
	uint32_t line;
};

#define BL_PARSE_MAX_DIAGS 20

/** What one parse did. */
struct bl_parse_report {
	size_t lines; /**< lines read */
	size_t entries; /**< names added (before merging duplicates) */
	size_t allows; /**< of which exceptions */
	size_t skipped; /**< lines deliberately ignored (comments excluded): unsupported rules */
	size_t bad; /**< malformed lines */
	struct bl_parse_diag diags[BL_PARSE_MAX_DIAGS]; /**< the first bad lines */
	size_t n_diags;
	struct bl_ip_trigger *ip_triggers; /**< owned: free with bl_parse_report_clear() */
	size_t n_ip_triggers;
};

/** Parse a format name ("domains", "hosts", "adblock", "rpz"); -1 when unknown. */
int bl_format_parse(const char *name);

/**
 * Parse @len bytes of @text in @format and add every name to @b under @list_id with
 * @categories. @origin is the RPZ zone origin in text form ("rpz.national.vn."), or NULL to
 * take it from $ORIGIN / the SOA owner.
 *
 * @return 0 (bad lines are in @report, not errors), CORE_ELIMIT when the builder is full,
 *         -ENOMEM.
 */
int bl_parse_buffer(enum bl_format format, const char *text, size_t len, const char *origin,
		    struct bl_builder *b, uint16_t list_id, uint32_t categories,
		    struct bl_parse_report *report) __attribute__((warn_unused_result));

/** As bl_parse_buffer(), reading the file at @path (mapped, not copied). Adds -errno. */
int bl_parse_file(enum bl_format format, const char *path, const char *origin,
		  struct bl_builder *b, uint16_t list_id, uint32_t categories,
		  struct bl_parse_report *report) __attribute__((warn_unused_result));

/** Free what @report owns and zero it. */
void bl_parse_report_clear(struct bl_parse_report *report);

