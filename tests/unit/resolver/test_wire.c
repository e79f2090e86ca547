/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of resolver/wire.c: query parsing, response scanning, answer building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

/* A message under construction, for the expected output of rsv_wire_chain_cname(). */
struct msgbuf {
	uint8_t p[1024];
	size_t n;
};

static void mb_bytes(struct msgbuf *b, const void *data, size_t n)
{
	memcpy(b->p + b->n, data, n);
	b->n += n;
}

static void mb_16(struct msgbuf *b, uint16_t v)
{
	rsv_wire_put16(b->p + b->n, v);
	b->n += 2;
}

static void mb_32(struct msgbuf *b, uint32_t v)
{
	rsv_wire_put32(b->p + b->n, v);
	b->n += 4;
}

/* Write presentation name @text ("a.B.c", no trailing dot) in wire form, case kept. */
static size_t put_name(uint8_t *p, const char *text)
{
	size_t n = 0;
	while (*text) {
		const char *dot = strchr(text, '.');
		size_t l = dot ? (size_t)(dot - text) : strlen(text);
		p[n] = (uint8_t)l;
		memcpy(p + n + 1, text, l);
		n += 1 + l;
		text += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

static void mb_name(struct msgbuf *b, const char *text)
{
	b->n += put_name(b->p + b->n, text);
}

/* An uncompressed record, RDATA given. */
static void mb_rr(struct msgbuf *b, const char *owner, uint16_t type, uint32_t ttl,
		  const void *rdata, size_t rdlen)
{
	mb_name(b, owner);
	mb_16(b, type);
	mb_16(b, RSV_CLASS_IN);
	mb_32(b, ttl);
	mb_16(b, (uint16_t)rdlen);
	mb_bytes(b, rdata, rdlen);
}

/* The header and question of a chained answer to @q, and its CNAME to @target (TTL @ttl). */
static void mb_chain_start(struct msgbuf *b, const struct rsv_query *q, uint16_t flags, uint16_t an,
			   uint16_t ns, const char *target, uint32_t ttl)
{
	uint8_t t[RSV_MAX_NAME];
	size_t tl = put_name(t, target);
	b->n = 0;
	mb_16(b, 0);
	mb_16(b, flags);
	mb_16(b, 1);
	mb_16(b, an);
	mb_16(b, ns);
	mb_16(b, 0);
	mb_bytes(b, q->qname_orig, q->qname_len);
	mb_16(b, q->qtype);
	mb_16(b, q->qclass);
	mb_bytes(b, "\xc0\x0c", 2);
	mb_16(b, RSV_TYPE_CNAME);
	mb_16(b, RSV_CLASS_IN);
	mb_32(b, ttl);
	mb_16(b, (uint16_t)tl);
	mb_bytes(b, t, tl);
}

/* Parse a client query for @name (case kept in qname_orig) and @qtype, with EDNS (DO). */
static void client_query(struct rsv_query *q, const char *name, uint16_t qtype)
{
	uint8_t pkt[512] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1};
	size_t n = RSV_HDR_LEN + put_name(pkt + RSV_HDR_LEN, name);
	rsv_wire_put16(pkt + n, qtype);
	rsv_wire_put16(pkt + n + 2, RSV_CLASS_IN);
	n += 4;
	static const uint8_t opt[] = {0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0};
	memcpy(pkt + n, opt, sizeof(opt));
	n += sizeof(opt);
	assert_int_equal(rsv_wire_parse_query(pkt, n, q), RSV_PARSE_OK);
}

/*
 * Chain @stored (copied to an exact-size heap buffer, so ASan sees any read past @len) to @q
 * through @target_text into @out; when that works, also checks that every smaller output size
 * fails without writing past it and that the exact size works. Returns the length.
 */
static size_t chain(const struct rsv_query *q, const char *target_text, const uint8_t *stored,
		    size_t len, uint8_t *out, size_t size)
{
	uint8_t target[RSV_MAX_NAME];
	size_t tl = rsv_wire_name_from_text(target_text, target);
	assert_true(tl > 0);
	uint8_t *in = malloc(len ? len : 1);
	assert_non_null(in);
	memcpy(in, stored, len);
	size_t n = rsv_wire_chain_cname(q, target, tl, 300, in, len, out, size);
	for (size_t small = 0; n && small <= n; small++) {
		uint8_t *o = malloc(small ? small : 1);
		assert_non_null(o);
		size_t r = rsv_wire_chain_cname(q, target, tl, 300, in, len, o, small);
		assert_int_equal(r, small == n ? n : 0);
		if (r)
			assert_memory_equal(o, out, n);
		free(o);
	}
	free(in);
	return n;
}

struct first_target {
	size_t calls;
	uint8_t name[RSV_MAX_NAME];
	size_t len;
};

static bool on_first_target(void *arg, const uint8_t *name, size_t len)
{
	struct first_target *ft = arg;
	if (ft->calls++ == 0) {
		memcpy(ft->name, name, len);
		ft->len = len;
	}
	return false;
}

/*
 * The output of rsv_wire_chain_cname() is an answer to @q: it scans as one (every byte walked,
 * @an/@ns records, no additional), its first CNAME target is @target_text, and finishing it for
 * the client gives an answer that scans too, with the OPT record last.
 */
static void check_round_trip(const struct rsv_query *q, const uint8_t *msg, size_t n,
			     const char *target_text, uint16_t an, uint16_t ns)
{
	static struct rsv_scan sc;
	uint8_t target[RSV_MAX_NAME], buf[2048];
	size_t tl = rsv_wire_name_from_text(target_text, target);
	assert_int_equal(rsv_wire_scan_response(msg, n, q, &sc), 0);
	assert_int_equal(sc.ancount, an);
	assert_int_equal(sc.nscount, ns);
	assert_int_equal(sc.arcount, 0);
	assert_int_equal(sc.additional_start, n);
	assert_int_equal(sc.n_ttls, an + ns);
	struct first_target ft = {0};
	assert_false(rsv_wire_answer_targets(msg, n, on_first_target, &ft));
	assert_true(ft.calls >= 1);
	assert_int_equal(ft.len, tl);
	assert_memory_equal(ft.name, target, tl);
	memcpy(buf, msg, n);
	size_t fl = rsv_wire_finish_answer(buf, n, sizeof(buf), q, RSV_EDE_NONE, NULL, 1232, 1232);
	assert_int_equal(fl, n + 11);
	assert_int_equal(rsv_wire_get16(buf), q->id);
	assert_int_equal(rsv_wire_scan_response(buf, fl, q, &sc), 0);
	assert_int_equal(sc.ancount, an);
	assert_true(sc.opt_is_last && sc.opt_end == fl);
	assert_false(buf[2] & (RSV_FLAG_AA >> 8));
}

/* forcesafesearch.google.com A, owner compressed, upstream's 0x20 case; AA and AD set. */
static const uint8_t safesearch_a[] = {
	0, 0, 0x85, 0xa0, 0, 1, 0, 1, 0, 0, 0, 0,
	15, 'F', 'o', 'r', 'c', 'e', 'S', 'a', 'f', 'e', 'S', 'e', 'a', 'r', 'c', 'h',
	6, 'g', 'o', 'o', 'g', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
	/* 44 */ 0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 216, 239, 38, 120,
};

static void test_chain_a(void **state)
{
	struct rsv_query q;
	struct msgbuf want;
	uint8_t out[1024];
	client_query(&q, "www.Google.com.vn", RSV_TYPE_A);
	size_t n = chain(&q, "forcesafesearch.google.com", safesearch_a, sizeof(safesearch_a), out,
			 sizeof(out));
	/* AA and AD cleared, QR RD RA and rcode kept; the A record's owner decompressed in the
	 * upstream's case, its TTL (3600) and address unchanged. */
	mb_chain_start(&want, &q, 0x8180, 2, 0, "forcesafesearch.google.com", 300);
	mb_rr(&want, "ForceSafeSearch.google.com", RSV_TYPE_A, 3600, "\xd8\xef\x26\x78", 4);
	assert_int_equal(n, want.n);
	assert_int_equal(n, 12 + 19 + 4 + 12 + 28 + 28 + 10 + 4);
	assert_memory_equal(out, want.p, n);
	assert_memory_equal(out + 12, "\3www\6Google\3com\2vn", 19);
	check_round_trip(&q, out, n, "forcesafesearch.google.com", 2, 0);
	/* The target may be given in any case. */
	uint8_t target[RSV_MAX_NAME];
	size_t tl = put_name(target, "FORCESAFESEARCH.Google.COM");
	assert_int_equal(rsv_wire_chain_cname(&q, target, tl, 300, safesearch_a,
					      sizeof(safesearch_a), out, sizeof(out)),
			 n);
	assert_memory_equal(out + 47, target, tl);
}

/* strict.bing.com CNAME x.msedge.net, x.msedge.net CNAME edge.msedge.net (compressed RDATA),
 * edge.msedge.net A: owners point into earlier RDATA, one through two pointers. */
static const uint8_t bing_chain[] = {
	0, 0, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,
	6, 's', 't', 'r', 'i', 'c', 't', 4, 'b', 'i', 'n', 'g', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
	/* 33 */ 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 14,
	/* 45 */ 1, 'x', 6, 'm', 's', 'e', 'd', 'g', 'e', 3, 'n', 'e', 't', 0,
	/* 59 */ 0xc0, 45, 0, 5, 0, 1, 0, 0, 0, 60, 0, 7,
	/* 71 */ 4, 'e', 'd', 'g', 'e', 0xc0, 47,
	/* 78 */ 0xc0, 71, 0, 1, 0, 1, 0, 0, 0, 20, 0, 4, 13, 107, 21, 200,
};

static void test_chain_cname_chain(void **state)
{
	struct rsv_query q;
	struct msgbuf want;
	uint8_t out[1024], rd[RSV_MAX_NAME];
	client_query(&q, "www.bing.com", RSV_TYPE_A);
	size_t n = chain(&q, "strict.bing.com", bing_chain, sizeof(bing_chain), out, sizeof(out));
	mb_chain_start(&want, &q, 0x8180, 4, 0, "strict.bing.com", 300);
	mb_rr(&want, "strict.bing.com", RSV_TYPE_CNAME, 60, rd, put_name(rd, "x.msedge.net"));
	mb_rr(&want, "x.msedge.net", RSV_TYPE_CNAME, 60, rd, put_name(rd, "edge.msedge.net"));
	mb_rr(&want, "edge.msedge.net", RSV_TYPE_A, 20, "\x0d\x6b\x15\xc8", 4);
	assert_int_equal(n, want.n);
	assert_memory_equal(out, want.p, n);
	/* x.msedge.net's CNAME: RDLENGTH 17, was 7. */
	assert_int_equal(rsv_wire_get16(out + 30 + 12 + 17 + 17 + 10 + 14 + 14 + 8), 17);
	check_round_trip(&q, out, n, "strict.bing.com", 4, 0);
	/* The first two records alone are fine; with a byte after the CNAME's name in its RDATA,
	 * malformed. */
	uint8_t bad[sizeof(bing_chain)];
	memcpy(bad, bing_chain, sizeof(bad));
	bad[7] = 2;
	assert_true(chain(&q, "strict.bing.com", bad, 78, out, sizeof(out)) > 0);
	bad[70] = 8;
	assert_int_equal(chain(&q, "strict.bing.com", bad, 79, out, sizeof(out)), 0);
}

/*
 * restrictmoderate.youtube.com AAAA: NXDOMAIN (AA set), authority NS then SOA with compressed
 * names, a glue A in the additional section.
 */
static const uint8_t youtube_nxdomain[] = {
	0, 0, 0x85, 0x83, 0, 1, 0, 0, 0, 2, 0, 1,
	16, 'r', 'e', 's', 't', 'r', 'i', 'c', 't', 'm', 'o', 'd', 'e', 'r', 'a', 't', 'e',
	/* 29 */ 7, 'y', 'o', 'u', 't', 'u', 'b', 'e', 3, 'c', 'o', 'm', 0, 0, 28, 0, 1,
	/* 46 */ 0xc0, 29, 0, 2, 0, 1, 0, 1, 0x51, 0x80, 0, 6,
	/* 58 */ 3, 'n', 's', '1', 0xc0, 29,
	/* 64 */ 0xc0, 29, 0, 6, 0, 1, 0, 0, 0, 60, 0, 34,
	/* 76 */ 0xc0, 58, 9, 'd', 'n', 's', '-', 'a', 'd', 'm', 'i', 'n', 0xc0, 29,
	/* 90 */ 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 60,
	/* 110 */ 0xc0, 58, 0, 1, 0, 1, 0, 1, 0x51, 0x80, 0, 4, 216, 239, 32, 10,
};

static void test_chain_nxdomain(void **state)
{
	struct rsv_query q;
	struct msgbuf want, soa;
	uint8_t out[1024];
	client_query(&q, "www.YouTube.com", RSV_TYPE_AAAA);
	size_t n = chain(&q, "restrictmoderate.youtube.com", youtube_nxdomain,
			 sizeof(youtube_nxdomain), out, sizeof(out));
	soa.n = 0;
	mb_name(&soa, "ns1.youtube.com");
	mb_name(&soa, "dns-admin.youtube.com");
	mb_bytes(&soa, youtube_nxdomain + 90, 20);
	assert_int_equal(soa.n, 60);
	/* NXDOMAIN kept, AA cleared; the SOA alone in authority, RDLENGTH 60 (was 34). */
	mb_chain_start(&want, &q, 0x8183, 1, 1, "restrictmoderate.youtube.com", 300);
	mb_rr(&want, "youtube.com", RSV_TYPE_SOA, 60, soa.p, soa.n);
	assert_int_equal(n, want.n);
	assert_memory_equal(out, want.p, n);
	assert_int_equal(out[3] & 0xf, RSV_RCODE_NXDOMAIN);
	check_round_trip(&q, out, n, "restrictmoderate.youtube.com", 1, 1);
	static struct rsv_scan sc;
	assert_int_equal(rsv_wire_scan_response(out, n, &q, &sc), 0);
	assert_true(sc.has_soa);
	assert_int_equal(sc.soa_neg_ttl, 60);
}

/* forcesafesearch.google.com AAAA: NODATA, SOA google.com with compressed names. */
static const uint8_t safesearch_nodata[] = {
	0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 1, 0, 0,
	15, 'f', 'o', 'r', 'c', 'e', 's', 'a', 'f', 'e', 's', 'e', 'a', 'r', 'c', 'h',
	/* 28 */ 6, 'g', 'o', 'o', 'g', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 28, 0, 1,
	/* 44 */ 0xc0, 28, 0, 6, 0, 1, 0, 0, 0, 30, 0, 38,
	/* 56 */ 3, 'n', 's', '1', 0xc0, 28, 9, 'd', 'n', 's', '-', 'a', 'd', 'm', 'i', 'n', 0xc0, 28,
	/* 74 */ 0x2b, 0x2c, 0x2d, 0x2e, 0, 0, 3, 0x84, 0, 0, 3, 0x84, 0, 0, 7, 8, 0, 0, 0, 60,
};

static bool on_any_address(void *arg, int family, const uint8_t *addr)
{
	(*(int *)arg)++;
	return false;
}

static void test_chain_nodata(void **state)
{
	struct rsv_query q;
	struct msgbuf want, soa;
	uint8_t out[1024];
	client_query(&q, "www.google.com.vn", RSV_TYPE_AAAA);
	size_t n = chain(&q, "forcesafesearch.google.com", safesearch_nodata,
			 sizeof(safesearch_nodata), out, sizeof(out));
	soa.n = 0;
	mb_name(&soa, "ns1.google.com");
	mb_name(&soa, "dns-admin.google.com");
	mb_bytes(&soa, safesearch_nodata + 74, 20);
	mb_chain_start(&want, &q, 0x8180, 1, 1, "forcesafesearch.google.com", 300);
	mb_rr(&want, "google.com", RSV_TYPE_SOA, 30, soa.p, soa.n);
	assert_int_equal(n, want.n);
	assert_memory_equal(out, want.p, n);
	assert_int_equal(out[3] & 0xf, RSV_RCODE_NOERROR);
	check_round_trip(&q, out, n, "forcesafesearch.google.com", 1, 1);
	int addrs = 0;
	assert_false(rsv_wire_answer_addresses(out, n, on_any_address, &addrs));
	assert_int_equal(addrs, 0);
}

/* mx.safe.vn MX: the exchange compressed; a TXT whose RDATA looks like a pointer stays as is. */
static const uint8_t safe_mx[] = {
	0, 0, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
	2, 'm', 'x', 4, 's', 'a', 'f', 'e', 2, 'v', 'n', 0, 0, 15, 0, 1,
	/* 28 */ 0xc0, 12, 0, 15, 0, 1, 0, 0, 1, 0, 0, 9, 0, 10, 4, 'm', 'a', 'i', 'l', 0xc0, 15,
	/* 49 */ 0xc0, 12, 0, 16, 0, 1, 0, 0, 1, 0, 0, 3, 2, 0xc0, 12,
};

static void test_chain_mx(void **state)
{
	struct rsv_query q;
	struct msgbuf want;
	uint8_t out[1024], rd[RSV_MAX_NAME];
	client_query(&q, "mail.Example.vn", RSV_TYPE_MX);
	size_t n = chain(&q, "mx.safe.vn", safe_mx, sizeof(safe_mx), out, sizeof(out));
	rd[0] = 0;
	rd[1] = 10;
	mb_chain_start(&want, &q, 0x8180, 3, 0, "mx.safe.vn", 300);
	mb_rr(&want, "mx.safe.vn", RSV_TYPE_MX, 256, rd, 2 + put_name(rd + 2, "mail.safe.vn"));
	mb_rr(&want, "mx.safe.vn", 16, 256, "\2\xc0\x0c", 3);
	assert_int_equal(n, want.n);
	assert_memory_equal(out, want.p, n);
	/* The MX alone is fine; an MX RDATA too short for its preference, or without its
	 * exchange, is malformed. */
	uint8_t bad[sizeof(safe_mx)];
	memcpy(bad, safe_mx, sizeof(bad));
	bad[7] = 1;
	assert_true(chain(&q, "mx.safe.vn", bad, 49, out, sizeof(out)) > 0);
	bad[39] = 1;
	assert_int_equal(chain(&q, "mx.safe.vn", bad, 41, out, sizeof(out)), 0);
	bad[39] = 2;
	assert_int_equal(chain(&q, "mx.safe.vn", bad, 42, out, sizeof(out)), 0);
}

static void test_chain_malformed(void **state)
{
	struct rsv_query q;
	uint8_t m[1024], out[1024];
	const size_t len = sizeof(safesearch_a);
	const char *target = "forcesafesearch.google.com";
	client_query(&q, "www.google.com.vn", RSV_TYPE_A);
	memcpy(m, safesearch_a, len);
	assert_true(chain(&q, target, m, len, out, sizeof(out)) > 0);
	/* Pointer loops (to itself, forward), a pointer past the end, into a pointer's own label. */
	m[45] = 44;
	assert_int_equal(chain(&q, target, m, len, out, sizeof(out)), 0);
	m[45] = 50;
	assert_int_equal(chain(&q, target, m, len, out, sizeof(out)), 0);
	m[44] = 0xff;
	m[45] = 0xff;
	assert_int_equal(chain(&q, target, m, len, out, sizeof(out)), 0);
	m[44] = 0xc0;
	m[45] = 12;
	/* Reserved label types 0x40 and 0x80. */
	m[44] = 0x40;
	assert_int_equal(chain(&q, target, m, len, out, sizeof(out)), 0);
	m[44] = 0x80;
	assert_int_equal(chain(&q, target, m, len, out, sizeof(out)), 0);
	m[44] = 0xc0;
	/* Truncated: mid-RDATA, mid-fixed fields, mid-pointer; a missing record (ANCOUNT 2). */
	for (size_t l = 0; l < len; l++)
		assert_int_equal(chain(&q, target, m, l, out, sizeof(out)), 0);
	m[7] = 2;
	assert_int_equal(chain(&q, target, m, len, out, sizeof(out)), 0);
	m[7] = 1;
	/* Class CH, then OPT, in the answer section. */
	m[49] = 3;
	assert_int_equal(chain(&q, target, m, len, out, sizeof(out)), 0);
	m[49] = 1;
	m[47] = 41;
	assert_int_equal(chain(&q, target, m, len, out, sizeof(out)), 0);
	m[47] = 1;
	/* Question: another name, another type, class CH, QDCOUNT 0. */
	assert_int_equal(chain(&q, "safesearch.google.com", m, len, out, sizeof(out)), 0);
	assert_int_equal(chain(&q, "forcesafesearch.google.com.vn", m, len, out, sizeof(out)), 0);
	client_query(&q, "www.google.com.vn", RSV_TYPE_AAAA);
	assert_int_equal(chain(&q, target, m, len, out, sizeof(out)), 0);
	client_query(&q, "www.google.com.vn", RSV_TYPE_A);
	m[43] = 3;
	assert_int_equal(chain(&q, target, m, len, out, sizeof(out)), 0);
	m[43] = 1;
	m[5] = 0;
	assert_int_equal(chain(&q, target, m, len, out, sizeof(out)), 0);
	m[5] = 1;
	/* A client question of another class. */
	q.qclass = 3;
	assert_int_equal(chain(&q, target, m, len, out, sizeof(out)), 0);
	q.qclass = RSV_CLASS_IN;
	assert_true(chain(&q, target, m, len, out, sizeof(out)) > 0);

	/* An owner of 3 x 63-byte labels, one of 34 or 35, then a pointer to the question's 28
	 * bytes: 255 bytes expanded is the most there is. */
	for (uint8_t last = 34; last <= 35; last++) {
		size_t n = 44;
		for (int i = 0; i < 4; i++) {
			m[n] = i < 3 ? 63 : last;
			memset(m + n + 1, 'a', m[n]);
			n += 1 + m[n];
		}
		static const uint8_t rest[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4};
		memcpy(m + n, rest, sizeof(rest));
		size_t r = chain(&q, target, m, n + sizeof(rest), out, sizeof(out));
		if (last == 34) {
			assert_int_equal(r, 75 + 255 + 14);
			check_round_trip(&q, out, r, target, 2, 0);
		} else {
			assert_int_equal(r, 0);
		}
	}
}

/*
 * An owner reached through a chain of @hops pointers, laid out in the RDATA of a private-type
 * record that comes first.
 */
static size_t make_pointer_chain(uint8_t *m, unsigned hops)
{
	size_t n = 44;
	memcpy(m, safesearch_a, n);
	m[7] = 2;
	static const uint8_t fixed[] = {0xc0, 12, 0xff, 0x00, 0, 1, 0, 0, 0, 60};
	memcpy(m + n, fixed, sizeof(fixed));
	n += sizeof(fixed);
	rsv_wire_put16(m + n, (uint16_t)(2 * (hops - 1)));
	n += 2;
	size_t prev = 12;
	for (unsigned i = 0; i < hops - 1; i++) {
		rsv_wire_put16(m + n, (uint16_t)(0xc000 | prev));
		prev = n;
		n += 2;
	}
	rsv_wire_put16(m + n, (uint16_t)(0xc000 | prev));
	n += 2;
	static const uint8_t a[] = {0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4};
	memcpy(m + n, a, sizeof(a));
	return n + sizeof(a);
}

static void test_chain_pointer_hops(void **state)
{
	struct rsv_query q;
	uint8_t m[1024], out[2048];
	client_query(&q, "www.google.com.vn", RSV_TYPE_A);
	size_t len = make_pointer_chain(m, 64);
	size_t n = chain(&q, "forcesafesearch.google.com", m, len, out, sizeof(out));
	assert_true(n > 0);
	/* The A record's owner, after the private record (its RDATA copied as is). */
	assert_memory_equal(out + n - 14 - 28, "\17ForceSafeSearch\6google\3com", 28);
	check_round_trip(&q, out, n, "forcesafesearch.google.com", 3, 0);
	len = make_pointer_chain(m, 65);
	assert_int_equal(chain(&q, "forcesafesearch.google.com", m, len, out, sizeof(out)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_query),    cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_write_error),    cmocka_unit_test(test_scan_response),
		cmocka_unit_test(test_finish_answer),  cmocka_unit_test(test_names),
		cmocka_unit_test(test_chain_a),        cmocka_unit_test(test_chain_cname_chain),
		cmocka_unit_test(test_chain_nxdomain), cmocka_unit_test(test_chain_nodata),
		cmocka_unit_test(test_chain_mx),       cmocka_unit_test(test_chain_malformed),
		cmocka_unit_test(test_chain_pointer_hops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
