/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Domain names typed by people to wire form and back (see dname.h). */
#include <idn2.h>
#include <stdbool.h>
#include <string.h>

#include "core/dname.h"

/* Byte classes of a label. */
enum {
	C_BAD = 0, /**< not allowed in a name */
	C_OK,	   /**< a-z 0-9 - _ */
	C_UPPER,   /**< A-Z */
	C_HIGH,	   /**< >= 0x80: part of a UTF-8 sequence */
	C_SPACE,
	C_STAR,
};

static const uint8_t byte_class[256] = {
	['a' ... 'z'] = C_OK,	 ['0' ... '9'] = C_OK,	   ['-'] = C_OK,     ['_'] = C_OK,
	['A' ... 'Z'] = C_UPPER, [0x80 ... 0xff] = C_HIGH, [' '] = C_SPACE,  ['\t'] = C_SPACE,
	['\r'] = C_SPACE,	 ['\n'] = C_SPACE,	   ['\v'] = C_SPACE, ['\f'] = C_SPACE,
	['*'] = C_STAR,
};

#define LABEL_MAX 63
#define WIRE_MAX CORE_DNAME_WIRE_MAX
/* UTF-8 text longer than this cannot fit 253 characters once converted. */
#define IDN_TEXT_MAX 1024

static size_t fail(struct core_dname_error *err, const char *why, size_t pos, bool bad_char)
{
	err->why = why;
	err->pos = pos;
	err->bad_char = bad_char;
	return 0;
}

/*
 * Copy label @s (@n bytes, no dot) lower-cased to @out; @base is its offset in the text, for
 * errors. @return 0, 1 when a byte >= 0x80 is seen (the label is an IDN), -1 with @err filled.
 */
static int label_ascii(const uint8_t *s, size_t n, uint8_t *out, size_t base,
		       struct core_dname_error *err)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		switch (byte_class[c]) {
		case C_OK:
			out[i] = c;
			break;
		case C_UPPER:
			out[i] = c | 0x20;
			break;
		case C_HIGH:
			return 1;
		case C_SPACE:
			fail(err, "space inside", base + i, false);
			return -1;
		case C_STAR:
			fail(err, "'*' inside a name: a wildcard is only '*.' in front", base + i,
			     false);
			return -1;
		default:
			fail(err, "character not allowed", base + i, true);
			return -1;
		}
	}
	return 0;
}

static bool has_high(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 0x80)
			return true;
	return false;
}

static const char *idn2_reason(int rc)
{
	switch (rc) {
	case IDN2_ENCODING_ERROR:
		return "invalid UTF-8";
	case IDN2_TOO_BIG_LABEL:
	case IDN2_PUNYCODE_BIG_OUTPUT:
		return "label longer than 63 bytes";
	case IDN2_TOO_BIG_DOMAIN:
		return "longer than 253 characters";
	case IDN2_DISALLOWED:
	case IDN2_UNASSIGNED:
	case IDN2_CONTEXTJ:
	case IDN2_CONTEXTO:
	case IDN2_CONTEXTO_NO_RULE:
		return "a character not allowed in an IDN";
	case IDN2_BIDI:
		return "an IDN mixing left-to-right and right-to-left letters";
	case IDN2_HYPHEN_STARTEND:
		return "an IDN label starting or ending with '-'";
	case IDN2_2HYPHEN:
		return "an IDN label with '--' in 3rd and 4th position";
	case IDN2_LEADING_COMBINING:
		return "an IDN label starting with a combining mark";
	case IDN2_MALLOC:
		return "out of memory converting an IDN";
	default:
		return "not a valid internationalised name";
	}
}

/*
 * Length of the label separator at @s (@n bytes left): 1 for '.', 3 for the full stops UTS #46
 * maps to '.' (U+3002, U+FF0E, U+FF61), 0 for none.
 */
static size_t separator_len(const uint8_t *s, size_t n)
{
	if (s[0] == '.')
		return 1;
	if (n >= 3 && ((s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x82) ||
		       (s[0] == 0xef && s[1] == 0xbc && s[2] == 0x8e) ||
		       (s[0] == 0xef && s[1] == 0xbd && s[2] == 0xa1)))
		return 3;
	return 0;
}

/* The slow path: @s has UTF-8 somewhere. Labels are converted one by one. */
static size_t name_idn(const uint8_t *s, size_t len, uint8_t out[WIRE_MAX],
		       struct core_dname_error *err)
{
	char label[IDN_TEXT_MAX + 1];
	size_t o = 0, pos = 0;

	if (len > IDN_TEXT_MAX)
		return fail(err, "longer than 253 characters", 0, false);
	for (;;) {
		size_t end = pos, sep = 0, n, m;
		char *ascii = NULL;
		const uint8_t *src;
		int rc;

		while (end < len && (sep = separator_len(s + end, len - end)) == 0)
			end++;
		n = end - pos;
		if (n == 0) {
			if (end == len && o > 0)
				break; /* a trailing full stop */
			return fail(err, "empty label", pos, false);
		}
		src = s + pos;
		m = n;
		if (has_high(src, n)) {
			if (memchr(src, '\0', n))
				return fail(
					err, "character not allowed",
					pos + (size_t)((const uint8_t *)memchr(src, '\0', n) - src),
					true);
			memcpy(label, src, n);
			label[n] = '\0';
			rc = idn2_to_ascii_8z(label, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
			if (rc != IDN2_OK)
				return fail(err, idn2_reason(rc), pos, false);
			src = (const uint8_t *)ascii;
			m = strlen(ascii);
		}
		if (m == 0 || m > LABEL_MAX || o + 1 + m + 1 > WIRE_MAX) {
			idn2_free(ascii);
			if (m == 0)
				return fail(err, "empty label", pos, false);
			return fail(err,
				    m > LABEL_MAX ? "label longer than 63 bytes" :
						    "longer than 253 characters",
				    pos, false);
		}
		rc = label_ascii(src, m, out + o + 1, pos, err);
		idn2_free(ascii);
		if (rc != 0) {
			/* UTS #46 gave something odd back (a space, a dot): blame the label */
			if (ascii || rc > 0)
				return fail(err, "not a valid internationalised name", pos, false);
			return 0;
		}
		out[o] = (uint8_t)m;
		o += 1 + m;
		if (end == len)
			break;
		pos = end + sep;
	}
	out[o++] = 0;
	return o;
}

size_t core_dname_parse(const char *text, size_t len, uint8_t out[WIRE_MAX], struct core_dname_error *err)
{
	const uint8_t *s = (const uint8_t *)text;
	size_t o = 0, pos = 0;

	if (len > 0 && s[len - 1] == '.') {
		if (len == 1)
			return fail(err, "the root name alone", 0, false);
		len--;
	}
	if (len == 0)
		return fail(err, "empty name", 0, false);
	for (;;) {
		const uint8_t *dot = memchr(s + pos, '.', len - pos);
		size_t end = dot ? (size_t)(dot - s) : len;
		size_t n = end - pos;
		int rc;

		if (n == 0)
			return fail(err, "empty label", pos, false);
		if (n > LABEL_MAX || o + 1 + n + 1 > WIRE_MAX) {
			if (has_high(s + pos, len - pos))
				return name_idn(s, len, out, err);
			return fail(err,
				    n > LABEL_MAX ? "label longer than 63 bytes" :
						    "longer than 253 characters",
				    pos, false);
		}
		rc = label_ascii(s + pos, n, out + o + 1, pos, err);
		if (rc < 0)
			return 0;
		if (rc > 0)
			return name_idn(s, len, out, err);
		out[o] = (uint8_t)n;
		o += 1 + n;
		if (!dot)
			break;
		pos = end + 1;
	}
	out[o++] = 0;
	return o;
}

size_t core_dname_from_text(const char *text, size_t len, uint8_t out[WIRE_MAX], const char **why)
{
	struct core_dname_error err;
	size_t n = core_dname_parse(text, len, out, &err);

	if (n == 0 && why)
		*why = err.why;
	return n;
}

size_t core_dname_to_text(const uint8_t *wire, size_t len, char *out, size_t cap)
{
	size_t pos = 0, o = 0;

	if (cap < 2)
		return 0;
	while (pos < len && wire[pos] != 0) {
		size_t n = wire[pos++];

		for (size_t i = 0; i < n && pos < len; i++, pos++) {
			uint8_t c = wire[pos];

			if (byte_class[c] == C_OK || c == '*') {
				if (o + 2 > cap)
					goto out;
				out[o++] = (char)c;
			} else {
				if (o + 5 > cap)
					goto out;
				out[o++] = '\\';
				out[o++] = (char)('0' + c / 100);
				out[o++] = (char)('0' + c / 10 % 10);
				out[o++] = (char)('0' + c % 10);
			}
		}
		if (o + 2 > cap)
			goto out;
		out[o++] = '.';
	}
	if (o == 0)
		out[o++] = '.';
out:
	out[o] = '\0';
	return o;
}
