/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Domain names typed by people (list files, the config's allow/deny entries) to lower-case wire
 * form, and back. ASCII names take a table-driven fast path; a label with a byte >= 0x80 goes
 * through libidn2 (UTS #46 mapping with NFC, non-transitional IDNA2008), which case-folds it and
 * gives its xn-- form, so "Hỏi-Đáp.VN" and "xn--hi-p-7na10aw15p.vn" are the same entry.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest wire name, root label included. */
#define CORE_DNAME_WIRE_MAX 255
/** Room for any wire name as text by core_dname_to_text() ("a.b.vn.", 4 bytes per odd byte). */
#define CORE_DNAME_TEXT_MAX (255 * 4 + 2)

/** Why core_dname_parse() refused a name, with the byte offset of the culprit. */
struct core_dname_error {
	const char *why; /**< static text */
	size_t pos;	 /**< offset in the input text of the bad byte (or of the bad label) */
	bool bad_char;	 /**< the byte at @pos is not allowed (the message can name it) */
};

/**
 * Normalise @text (@len bytes, UTF-8 allowed, one trailing dot accepted; letters, digits, "-",
 * "_" and a "*" label) into lower-case wire form in @out.
 *
 * @return the wire length (>= 2), or 0 with @err filled.
 */
size_t core_dname_parse(const char *text, size_t len, uint8_t out[CORE_DNAME_WIRE_MAX],
			struct core_dname_error *err);

/** As core_dname_parse(), with only the reason (static string) in @why on failure. */
size_t core_dname_from_text(const char *text, size_t len, uint8_t out[CORE_DNAME_WIRE_MAX],
			    const char **why);

/**
 * Presentation form of wire name @wire (@len bytes, already checked) in @out (@cap bytes, at
 * least 2), with a final dot; bytes other than letters, digits, "-", "_", "*" as \DDD; cut when
 * @cap is short.
 * @return its length.
 */
size_t core_dname_to_text(const uint8_t *wire, size_t len, char *out, size_t cap);
