/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target for resolver/wire.c: the input is parsed as a client query; if it parses, every
 * answer builder runs on it; then the input is scanned as an upstream response to that query (or
 * to a fixed one), and when the scan accepts it, its stored form is finished as an answer —
 * exactly what the daemon does with bytes from the network. Every input is also chained, as a stored
 * answer to www.example.vn A, behind a CNAME answering www.Google.com.vn A (a safe-search rewrite),
 * and the result is walked again.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/wire.h"

static void finish(const uint8_t *data, size_t size, const struct rsv_query *q,
		   const struct rsv_scan *sc)
{
	size_t cap = size + 600;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return;
	memcpy(buf, data, size);
	size_t len = size;
	if (sc->opt_end && sc->opt_is_last)
		len = sc->opt_start;
	else if (sc->opt_end)
		len = sc->additional_start;
	for (size_t i = 0; i < sc->n_ttls; i++) {
		/* The cache relies on every offset being inside the message. */
		if ((size_t)sc->ttl_offsets[i] + 4 > size)
			abort();
	}
	size_t out = rsv_wire_finish_answer(buf, len, cap, q, RSV_EDE_STALE_ANSWER, "stale",
					    1232, 512);
	if (out > cap)
		abort();
	free(buf);
}

/* Write presentation name @text in wire form, case kept. */
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

static void client_query(struct rsv_query *q, const char *name, uint16_t qtype)
{
	memset(q, 0, sizeof(*q));
	q->has_question = true;
	q->qname_len = (uint8_t)put_name(q->qname_orig, name);
	rsv_wire_name_from_text(name, q->qname);
	q->qtype = qtype;
	q->qclass = RSV_CLASS_IN;
}

static bool first_target(void *arg, const uint8_t *name, size_t len)
{
	uint8_t *want = arg;
	if (len != want[0] || memcmp(name, want + 1, len) != 0)
		abort();
	return true;
}

/*
 * rsv_wire_chain_cname() on @stored: it never writes past the size it is given, and what it
 * writes is a stored answer to the client's question whose counts match a walk of it, whose first
 * CNAME target is ours, which works only from its exact size up, and which chains again to the
 * same records byte for byte (nothing left compressed but the CNAME's owner).
 */
static void chain(const uint8_t *stored, size_t len)
{
	static uint8_t out[RSV_MAX_MSG], again[RSV_MAX_MSG];
	static struct rsv_scan sc;
	struct rsv_query q, q2;
	uint8_t target[RSV_MAX_NAME], want[1 + RSV_MAX_NAME];
	client_query(&q, "www.Google.com.vn", RSV_TYPE_A);
	client_query(&q2, "Safe.Example.Net", RSV_TYPE_A);
	size_t tl = put_name(target, "WWW.example.vn");
	want[0] = (uint8_t)rsv_wire_name_from_text("www.example.vn", want + 1);
	size_t n = rsv_wire_chain_cname(&q, target, tl, 300, stored, len, out, sizeof(out));
	if (n == 0)
		return;
	size_t head = RSV_HDR_LEN + q.qname_len + 4u + 12 + tl;
	if (n > sizeof(out) || n < head || len < RSV_HDR_LEN)
		abort();
	uint16_t flags = rsv_wire_get16(stored + 2) & (uint16_t)~(RSV_FLAG_AA | RSV_FLAG_AD);
	if (rsv_wire_get16(out) != 0 || rsv_wire_get16(out + 2) != flags ||
	    rsv_wire_get16(out + 4) != 1 ||
	    rsv_wire_get16(out + 6) != rsv_wire_get16(stored + 6) + 1 ||
	    rsv_wire_get16(out + 8) > rsv_wire_get16(stored + 8) || rsv_wire_get16(out + 10) != 0)
		abort();
	if (memcmp(out + RSV_HDR_LEN, q.qname_orig, q.qname_len) != 0 ||
	    memcmp(out + head - tl, target, tl) != 0)
		abort();
	/* Re-walk: with QR set (the scan wants a response), every byte is records it counts. */
	out[2] |= RSV_FLAG_QR >> 8;
	if (rsv_wire_scan_response(out, n, &q, &sc) != 0 || sc.additional_start != n ||
	    sc.n_ttls != (size_t)sc.ancount + sc.nscount)
		abort();
	if (!rsv_wire_answer_targets(out, n, first_target, want))
		abort();
	/* One byte short: nothing, and nothing written past it. */
	uint8_t *small = malloc(n - 1);
	if (small) {
		if (rsv_wire_chain_cname(&q, target, tl, 300, stored, len, small, n - 1) != 0)
			abort();
		free(small);
	}
	/* Chained again: same records, the first CNAME's owner now written out. */
	size_t n2 = n + q2.qname_len + q.qname_len + 10;
	if (n2 > sizeof(again))
		return;
	size_t got =
		rsv_wire_chain_cname(&q2, q.qname, q.qname_len, 60, out, n, again, sizeof(again));
	if (got != n2 || memcmp(again + n2 - (n - head), out + head, n - head) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* First byte: 0 = the rest is a client query, 1 = an upstream answer to www.example.vn A. */
	if (size < 1)
		return 0;
	bool as_response = data[0] & 1;
	data++;
	size--;
	chain(data, size);
	struct rsv_query q;
	uint8_t out[1024];
	enum rsv_parse p = as_response ? RSV_PARSE_DROP : rsv_wire_parse_query(data, size, &q);
	if (p != RSV_PARSE_DROP) {
		size_t n = rsv_wire_write_error(&q, RSV_RCODE_FORMERR, RSV_EDE_PROHIBITED, "x",
						1232, out, sizeof(out));
		if (n > sizeof(out))
			abort();
		n = rsv_wire_write_error(&q, RSV_RCODE_BADVERS, RSV_EDE_NONE, NULL, 1232, out, 20);
		if (n > 20)
			abort();
	}
	if (p == RSV_PARSE_OK) {
		size_t n = rsv_wire_write_query(&q, 1, 1232, out, sizeof(out));
		if (n > sizeof(out))
			abort();
		/* A query we accepted must parse again after rewriting. */
		struct rsv_query q2;
		if (n && rsv_wire_parse_query(out, n, &q2) != RSV_PARSE_OK)
			abort();
	} else {
		/* Scan as a response to www.example.vn A. */
		memset(&q, 0, sizeof(q));
		q.has_question = true;
		q.qname_len = rsv_wire_name_from_text("www.example.vn", q.qname);
		memcpy(q.qname_orig, q.qname, q.qname_len);
		q.qtype = 1;
		q.qclass = 1;
	}
	struct rsv_scan *sc = malloc(sizeof(*sc));
	if (!sc)
		return 0;
	if (rsv_wire_scan_response(data, size, &q, sc) == 0)
		finish(data, size, &q, sc);
	free(sc);
	char text[300];
	uint8_t name[RSV_MAX_NAME];
	size_t tl = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, tl);
	text[tl] = '\0';
	size_t nl = rsv_wire_name_from_text(text, name);
	if (nl > RSV_MAX_NAME)
		abort();
	if (nl)
		rsv_wire_name_to_text(name, text, sizeof(text));
	return 0;
}
