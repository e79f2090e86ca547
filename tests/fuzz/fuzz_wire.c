/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target for resolver/wire.c: the input is parsed as a client query; if it parses, every
 * answer builder runs on it; then the input is scanned as an upstream response to that query (or
 * to a fixed one), and when the scan accepts it, its stored form is finished as an answer —
 * exactly what the daemon does with bytes from the network.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* First byte: 0 = the rest is a client query, 1 = an upstream answer to www.example.vn A. */
	if (size < 1)
		return 0;
	bool as_response = data[0] & 1;
	data++;
	size--;
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
