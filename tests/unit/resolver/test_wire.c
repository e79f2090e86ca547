/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of resolver/wire.c: query parsing, response scanning, answer building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "resolver/wire.h"

/* A query for www.Example.vn A, with an OPT record when @edns (udp 4096, DO). */
static size_t make_query(uint8_t *p, bool edns)
{
	static const uint8_t hdr[] = {0xab, 0xcd, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0};
	static const uint8_t q[] = {3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e',
				    2, 'v', 'n', 0, 0, 1, 0, 1};
	static const uint8_t opt[] = {0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0};
	size_t n = 0;
	memcpy(p, hdr, sizeof(hdr));
	n += sizeof(hdr);
	memcpy(p + n, q, sizeof(q));
	n += sizeof(q);
	if (edns) {
		memcpy(p + n, opt, sizeof(opt));
		n += sizeof(opt);
		p[11] = 1;
	}
	return n;
}

static void test_parse_query(void **state)
{
	uint8_t pkt[512];
	struct rsv_query q;
	size_t n = make_query(pkt, true);
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_OK);
	assert_int_equal(q.id, 0xabcd);
	assert_int_equal(q.qtype, 1);
	assert_int_equal(q.qname_len, 16);
	assert_memory_equal(q.qname, "\3www\7example\2vn", 16);
	assert_memory_equal(q.qname_orig, "\3www\7Example\2vn", 16);
	assert_true(q.edns);
	assert_true(q.edns_do);
	assert_int_equal(q.edns_udp_size, 4096);
	assert_true(q.flags & RSV_FLAG_CD);

	n = make_query(pkt, false);
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_OK);
	assert_false(q.edns);
}

static void test_parse_malformed(void **state)
{
	uint8_t pkt[512];
	struct rsv_query q;
	size_t n = make_query(pkt, true);
	/* Too short for a header: dropped. A response: dropped. */
	assert_int_equal(rsv_wire_parse_query(pkt, 11, &q), RSV_PARSE_DROP);
	pkt[2] |= 0x80;
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_DROP);
	pkt[2] &= 0x7f;
	/* Truncated question, bad label length, compression in the question. */
	assert_int_equal(rsv_wire_parse_query(pkt, 20, &q), RSV_PARSE_FORMERR);
	assert_int_equal(q.id, 0xabcd);
	pkt[12] = 64;
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_FORMERR);
	pkt[12] = 0xc0;
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_FORMERR);
	n = make_query(pkt, true);
	/* QDCOUNT 2, ANCOUNT 1. */
	pkt[5] = 2;
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_FORMERR);
	pkt[5] = 1;
	pkt[7] = 1;
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_FORMERR);
	pkt[7] = 0;
	/* ARCOUNT larger than the records present. */
	pkt[11] = 2;
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_FORMERR);
	pkt[11] = 1;
	/* OPT option length overrunning the RDATA. */
	uint8_t big[600];
	memcpy(big, pkt, n);
	big[n - 1] = 4; /* rdlen 4 */
	big[n] = 0;
	big[n + 1] = 10;
	big[n + 2] = 0xff;
	big[n + 3] = 0xff;
	assert_int_equal(rsv_wire_parse_query(big, n + 4, &q), RSV_PARSE_FORMERR);
	/* EDNS version 1, opcode NOTIFY. */
	pkt[n - 5] = 1;
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_BADVERS);
	pkt[n - 5] = 0;
	pkt[2] = (uint8_t)(pkt[2] | (4 << 3));
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_NOTIMP);
}

static void test_write_error(void **state)
{
	uint8_t pkt[512], out[512];
	struct rsv_query q;
	size_t n = make_query(pkt, true);
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_OK);
	size_t len = rsv_wire_write_error(&q, RSV_RCODE_REFUSED, RSV_EDE_PROHIBITED, "no", 1232,
					  out, sizeof(out));
	assert_int_equal(len, 12 + 20 + 11 + 4 + 2 + 2);
	assert_int_equal(rsv_wire_get16(out), 0xabcd);
	assert_int_equal(out[3] & 0xf, RSV_RCODE_REFUSED);
	assert_true(out[2] & 0x80);     /* QR */
	assert_true(out[2] & 0x01);     /* RD copied */
	assert_memory_equal(out + 12, "\3www\7Example", 12); /* client's case */
	assert_int_equal(rsv_wire_get16(out + 10), 1);
	/* OPT: EDE option 15 with code 18 and text "no". */
	const uint8_t *opt = out + 32;
	assert_int_equal(rsv_wire_get16(opt + 1), 41);
	assert_int_equal(rsv_wire_get16(opt + 3), 1232);
	assert_int_equal(rsv_wire_get16(opt + 11), 15);
	assert_int_equal(rsv_wire_get16(opt + 15), 18);
	assert_memory_equal(opt + 17, "no", 2);
	/* Does not fit: 0. */
	assert_int_equal(rsv_wire_write_error(&q, 1, RSV_EDE_NONE, NULL, 1232, out, 20), 0);
}

/* Response to www.example.vn A: CNAME (ttl 300) + A (ttl 60), compressed, then OPT. */
static size_t make_response(uint8_t *p)
{
	static const uint8_t m[] = {
		0, 0, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 1,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 2, 'v', 'n', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 44, 0, 6, 3, 'w', 'e', 'b', 0xc0, 16,
		3, 'w', 'e', 'b', 0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1,
		0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0,
	};
	memcpy(p, m, sizeof(m));
	return sizeof(m);
}

static void test_scan_response(void **state)
{
	uint8_t pkt[512], resp[512];
	struct rsv_query q;
	struct rsv_scan sc;
	size_t n = make_query(pkt, false);
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_OK);
	size_t rn = make_response(resp);
	assert_int_equal(rsv_wire_scan_response(resp, rn, &q, &sc), 0);
	assert_int_equal(sc.ancount, 2);
	assert_int_equal(sc.n_ttls, 2);
	assert_int_equal(sc.ttl_offsets[0], 38);
	assert_int_equal(sc.min_ttl, 60);
	assert_true(sc.opt_end == rn && sc.opt_is_last);
	assert_int_equal(sc.opt_start, rn - 11);
	/* A different question is not an answer to q. */
	resp[13] = 'x';
	assert_int_equal(rsv_wire_scan_response(resp, rn, &q, &sc), CORE_EPROTO);
	resp[13] = 'w';
	/* A forward pointer (loop) and a truncated record are malformed. */
	resp[33] = 40;
	assert_int_equal(rsv_wire_scan_response(resp, rn, &q, &sc), CORE_EPARSE);
	resp[33] = 12;
	assert_int_equal(rsv_wire_scan_response(resp, rn - 15, &q, &sc), CORE_EPARSE);
}

static void test_finish_answer(void **state)
{
	uint8_t pkt[512], resp[2048];
	struct rsv_query q;
	struct rsv_scan sc;
	size_t n = make_query(pkt, true);
	assert_int_equal(rsv_wire_parse_query(pkt, n, &q), RSV_PARSE_OK);
	size_t rn = make_response(resp);
	assert_int_equal(rsv_wire_scan_response(resp, rn, &q, &sc), 0);
	rn = sc.opt_start;
	resp[11] = 0; /* stored form: no OPT */
	size_t len = rsv_wire_finish_answer(resp, rn, sizeof(resp), &q, RSV_EDE_STALE_ANSWER,
					    "stale", 1232, 1232);
	assert_int_equal(len, rn + 11 + 4 + 2 + 5);
	assert_int_equal(rsv_wire_get16(resp), 0xabcd);
	assert_memory_equal(resp + 12, "\3www\7Example", 12);
	assert_int_equal(rsv_wire_get16(resp + 10), 1);
	assert_int_equal(rsv_wire_get16(resp + 6), 2);
	/* Over the limit: header + question + OPT, TC set, no records. */
	n = make_query(pkt, true);
	rn = make_response(resp);
	rn -= 11;
	resp[11] = 0;
	len = rsv_wire_finish_answer(resp, rn, sizeof(resp), &q, RSV_EDE_NONE, NULL, 1232, 40);
	assert_int_equal(len, 12 + 20 + 11);
	assert_true(resp[2] & 0x02);
	assert_int_equal(rsv_wire_get16(resp + 6), 0);
	assert_int_equal(rsv_wire_get16(resp + 10), 1);
}

static void test_names(void **state)
{
	uint8_t name[RSV_MAX_NAME];
	char text[300];
	assert_int_equal(rsv_wire_name_from_text("WWW.example.VN.", name), 16);
	assert_memory_equal(name, "\3www\7example\2vn", 16);
	assert_int_equal(rsv_wire_name_from_text("www.example.vn", name), 16);
	assert_int_equal(rsv_wire_name_from_text(".", name), 1);
	assert_int_equal(rsv_wire_name_from_text("a..b", name), 0);
	assert_int_equal(rsv_wire_name_from_text("", name), 0);
	char label[70];
	memset(label, 'a', 64);
	label[64] = '\0';
	assert_int_equal(rsv_wire_name_from_text(label, name), 0);
	rsv_wire_name_from_text("hoc10.vn", name);
	rsv_wire_name_to_text(name, text, sizeof(text));
	assert_string_equal(text, "hoc10.vn.");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_query),    cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_write_error),    cmocka_unit_test(test_scan_response),
		cmocka_unit_test(test_finish_answer),  cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
