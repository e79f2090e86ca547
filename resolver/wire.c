/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Hand-written, bounds-checked DNS wire routines for the hot path (see wire.h). */
#include "resolver/wire.h"

#include <string.h>
#include <sys/socket.h>

#include "core/error.h"

#define OPT_CODE_EDE 15
#define MAX_POINTER_HOPS 64

static inline uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

/*
 * Read the uncompressed question name at @pos: copy it as sent into @orig and lower-cased into
 * @low. Compression is not accepted in a query's question (no client sends it there).
 * Returns the wire length, or 0 when malformed.
 */
static size_t read_qname(const uint8_t *pkt, size_t len, size_t pos, uint8_t *orig, uint8_t *low)
{
	size_t n = 0;
	for (;;) {
		if (pos >= len)
			return 0;
		uint8_t l = pkt[pos];
		if (l > 63) /* pointer or reserved label type */
			return 0;
		if (n + 1 + l > RSV_MAX_NAME || pos + 1 + l > len)
			return 0;
		orig[n] = low[n] = l;
		for (size_t i = 1; i <= l; i++) {
			orig[n + i] = pkt[pos + i];
			low[n + i] = lower(pkt[pos + i]);
		}
		n += 1 + (size_t)l;
		pos += 1 + (size_t)l;
		if (l == 0)
			return n;
	}
}

/*
 * Read a possibly compressed name starting at *@pos of @m (@len bytes). Each pointer must point
 * strictly before the pointer itself, so walks always end and never read at or past @len; at most
 * MAX_POINTER_HOPS pointers are followed. The expanded name must fit min(@cap, 255) bytes. When
 * @out is given the expanded name is written there (lower-cased when @fold, as sent otherwise) and
 * its length to *@out_len. On success *@pos is just past the name in the message.
 * Returns 0 or CORE_EPARSE.
 */
static inline int read_name(const uint8_t *m, size_t len, size_t *pos, uint8_t *out, size_t cap,
			    bool fold, size_t *out_len)
{
	size_t p = *pos, end = 0, n = 0;
	bool jumped = false;
	unsigned hops = 0;
	if (cap > RSV_MAX_NAME)
		cap = RSV_MAX_NAME;
	for (;;) {
		if (p >= len)
			return CORE_EPARSE;
		uint8_t l = m[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len || ++hops > MAX_POINTER_HOPS)
				return CORE_EPARSE;
			size_t target = ((size_t)(l & 0x3f) << 8) | m[p + 1];
			if (target >= p)
				return CORE_EPARSE;
			if (!jumped) {
				end = p + 2;
				jumped = true;
			}
			p = target;
			continue;
		}
		if (l > 63)
			return CORE_EPARSE;
		if (n + 1 + l > cap || p + 1 + l > len)
			return CORE_EPARSE;
		if (out) {
			out[n] = l;
			if (fold) {
				for (size_t i = 1; i <= l; i++)
					out[n + i] = lower(m[p + i]);
			} else {
				memcpy(out + n + 1, m + p + 1, l);
			}
		}
		n += 1 + (size_t)l;
		p += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	*pos = jumped ? end : p;
	if (out_len)
		*out_len = n;
	return 0;
}

/* read_name() for checks and comparisons: the name (when @out is given) lower-cased. */
static int walk_name(const uint8_t *m, size_t len, size_t *pos, uint8_t *out, size_t *out_len)
{
	return read_name(m, len, pos, out, RSV_MAX_NAME, true, out_len);
}

/* Parse the OPT record whose RDATA spans [rd, rd + rdlen) into @q. */
static int parse_opt(const uint8_t *pkt, size_t rr, size_t rd, size_t rdlen, struct rsv_query *q)
{
	/* rr points at the type field: type(2) class=udp size(2) ttl=ext-rcode,version,flags(4) */
	uint16_t udp = rsv_wire_get16(pkt + rr + 2);
	q->edns = true;
	q->edns_udp_size = udp < 512 ? 512 : udp;
	q->edns_version = pkt[rr + 5];
	q->edns_do = (pkt[rr + 6] & 0x80) != 0;
	/* Options must tile the RDATA exactly. */
	size_t p = rd, end = rd + rdlen;
	while (p < end) {
		if (end - p < 4)
			return CORE_EPARSE;
		size_t olen = rsv_wire_get16(pkt + p + 2);
		if (olen > end - p - 4)
			return CORE_EPARSE;
		p += 4 + olen;
	}
	return 0;
}

enum rsv_parse rsv_wire_parse_query(const uint8_t *pkt, size_t len, struct rsv_query *q)
{
	q->has_question = false;
	q->edns = false;
	q->edns_do = false;
	q->edns_version = 0;
	q->edns_udp_size = 512;
	q->qname_len = 0;
	if (len < RSV_HDR_LEN)
		return RSV_PARSE_DROP;
	q->id = rsv_wire_get16(pkt);
	q->flags = rsv_wire_get16(pkt + 2);
	if (q->flags & RSV_FLAG_QR)
		return RSV_PARSE_DROP;
	uint16_t qd = rsv_wire_get16(pkt + 4), an = rsv_wire_get16(pkt + 6),
		 ns = rsv_wire_get16(pkt + 8), ar = rsv_wire_get16(pkt + 10);
	if (((q->flags >> 11) & 0xf) != 0)
		return RSV_PARSE_NOTIMP;
	if (qd != 1 || an != 0 || ns != 0)
		return RSV_PARSE_FORMERR;
	size_t n = read_qname(pkt, len, RSV_HDR_LEN, q->qname_orig, q->qname);
	size_t pos = RSV_HDR_LEN + n;
	if (n == 0 || pos + 4 > len)
		return RSV_PARSE_FORMERR;
	q->qname_len = (uint8_t)n;
	q->qtype = rsv_wire_get16(pkt + pos);
	q->qclass = rsv_wire_get16(pkt + pos + 2);
	q->has_question = true;
	pos += 4;
	/* Additional section: at most one OPT (owner: root); other records are skipped. */
	bool seen_opt = false;
	for (unsigned i = 0; i < ar; i++) {
		size_t owner = pos;
		if (walk_name(pkt, len, &pos, NULL, NULL) != 0 || pos + 10 > len)
			return RSV_PARSE_FORMERR;
		uint16_t type = rsv_wire_get16(pkt + pos);
		size_t rdlen = rsv_wire_get16(pkt + pos + 8);
		if (rdlen > len - pos - 10)
			return RSV_PARSE_FORMERR;
		if (type == RSV_TYPE_OPT) {
			if (seen_opt || pkt[owner] != 0 || pos != owner + 1)
				return RSV_PARSE_FORMERR;
			seen_opt = true;
			if (parse_opt(pkt, pos, pos + 10, rdlen, q) != 0)
				return RSV_PARSE_FORMERR;
		}
		pos += 10 + rdlen;
	}
	if (q->edns && q->edns_version != 0)
		return RSV_PARSE_BADVERS;
	return RSV_PARSE_OK;
}

int rsv_wire_scan_response(const uint8_t *msg, size_t len, const struct rsv_query *q,
			   struct rsv_scan *out)
{
	uint8_t name[RSV_MAX_NAME];
	size_t name_len;
	if (len < RSV_HDR_LEN)
		return CORE_EPARSE;
	out->flags = rsv_wire_get16(msg + 2);
	out->rcode = out->flags & 0xf;
	if (!(out->flags & RSV_FLAG_QR))
		return CORE_EPROTO;
	if (rsv_wire_get16(msg + 4) != 1)
		return CORE_EPROTO;
	out->ancount = rsv_wire_get16(msg + 6);
	out->nscount = rsv_wire_get16(msg + 8);
	out->arcount = rsv_wire_get16(msg + 10);
	size_t pos = RSV_HDR_LEN;
	if (walk_name(msg, len, &pos, name, &name_len) != 0 || pos + 4 > len)
		return CORE_EPARSE;
	if (name_len != q->qname_len || memcmp(name, q->qname, name_len) != 0 ||
	    rsv_wire_get16(msg + pos) != q->qtype || rsv_wire_get16(msg + pos + 2) != q->qclass)
		return CORE_EPROTO;
	pos += 4;
	out->n_ttls = 0;
	out->too_many_rrs = false;
	out->min_ttl = UINT32_MAX;
	out->has_soa = false;
	out->soa_neg_ttl = 0;
	out->opt_start = out->opt_end = 0;
	out->opt_is_last = false;
	out->additional_start = len;
	unsigned total = (unsigned)out->ancount + out->nscount + out->arcount;
	for (unsigned i = 0; i < total; i++) {
		if (i == (unsigned)out->ancount + out->nscount)
			out->additional_start = pos;
		size_t owner = pos;
		if (walk_name(msg, len, &pos, NULL, NULL) != 0 || pos + 10 > len)
			return CORE_EPARSE;
		uint16_t type = rsv_wire_get16(msg + pos);
		uint32_t ttl = rsv_wire_get32(msg + pos + 4);
		size_t rdlen = rsv_wire_get16(msg + pos + 8);
		size_t rd = pos + 10;
		if (rdlen > len - rd)
			return CORE_EPARSE;
		if (type == RSV_TYPE_OPT) {
			if (out->opt_end != 0 || i < (unsigned)out->ancount + out->nscount)
				return CORE_EPARSE;
			out->opt_start = owner;
			out->opt_end = rd + rdlen;
			out->opt_is_last = (i == total - 1);
			pos = rd + rdlen;
			continue;
		}
		if (ttl > 0x7fffffffu) /* RFC 2181 §8: treat as zero */
			ttl = 0;
		if (out->n_ttls < RSV_SCAN_MAX_TTLS)
			out->ttl_offsets[out->n_ttls++] = (uint16_t)(pos + 4);
		else
			out->too_many_rrs = true;
		if (ttl < out->min_ttl)
			out->min_ttl = ttl;
		bool in_authority = i >= out->ancount && i < (unsigned)out->ancount + out->nscount;
		if (type == RSV_TYPE_SOA && in_authority && !out->has_soa) {
			/* SOA RDATA: mname, rname, then serial refresh retry expire minimum. */
			size_t p = rd;
			if (walk_name(msg, len, &p, NULL, NULL) != 0 ||
			    walk_name(msg, len, &p, NULL, NULL) != 0 || p + 20 != rd + rdlen)
				return CORE_EPARSE;
			uint32_t minimum = rsv_wire_get32(msg + p + 16);
			out->has_soa = true;
			out->soa_neg_ttl = minimum < ttl ? minimum : ttl;
		}
		pos = rd + rdlen;
	}
	if (out->arcount == 0)
		out->additional_start = pos;
	return 0;
}

size_t rsv_wire_write_opt(uint8_t *p, size_t room, uint16_t udp_size, unsigned ext_rcode,
			  bool do_bit, enum rsv_ede ede, const char *text)
{
	size_t text_len = (ede != RSV_EDE_NONE && text) ? strnlen(text, 200) : 0;
	size_t rdlen = ede != RSV_EDE_NONE ? 4 + 2 + text_len : 0;
	size_t need = 11 + rdlen;
	if (room < need)
		return 0;
	p[0] = 0;
	rsv_wire_put16(p + 1, RSV_TYPE_OPT);
	rsv_wire_put16(p + 3, udp_size);
	p[5] = (uint8_t)(ext_rcode >> 4);
	p[6] = 0; /* version */
	p[7] = do_bit ? 0x80 : 0;
	p[8] = 0;
	rsv_wire_put16(p + 9, (uint16_t)rdlen);
	if (rdlen) {
		rsv_wire_put16(p + 11, OPT_CODE_EDE);
		rsv_wire_put16(p + 13, (uint16_t)(2 + text_len));
		rsv_wire_put16(p + 15, (uint16_t)ede);
		memcpy(p + 17, text, text_len);
	}
	return need;
}

size_t rsv_wire_write_query(const struct rsv_query *q, uint16_t id, uint16_t udp_size,
			    uint8_t *out, size_t size)
{
	size_t need = RSV_HDR_LEN + q->qname_len + 4;
	if (!q->has_question || size < need)
		return 0;
	memset(out, 0, RSV_HDR_LEN);
	rsv_wire_put16(out, id);
	rsv_wire_put16(out + 2, (uint16_t)(RSV_FLAG_RD | (q->flags & RSV_FLAG_CD)));
	rsv_wire_put16(out + 4, 1);
	rsv_wire_put16(out + 10, 1);
	memcpy(out + RSV_HDR_LEN, q->qname, q->qname_len);
	rsv_wire_put16(out + RSV_HDR_LEN + q->qname_len, q->qtype);
	rsv_wire_put16(out + RSV_HDR_LEN + q->qname_len + 2, q->qclass);
	size_t opt = rsv_wire_write_opt(out + need, size - need, udp_size, 0, q->edns_do, RSV_EDE_NONE, NULL);
	if (opt == 0)
		return 0;
	return need + opt;
}

/* Header flags of an answer to @q with @rcode's low bits, keeping TC and AD of @upstream_flags
 * (AD only when the client asked for DNSSEC data or AD). */
static uint16_t answer_flags(const struct rsv_query *q, uint16_t upstream_flags, unsigned rcode)
{
	/* AA is not ours to give: a resolver's answers are never authoritative. */
	uint16_t keep = upstream_flags & (RSV_FLAG_TC | RSV_FLAG_AD);
	if (!q->edns_do && !(q->flags & RSV_FLAG_AD))
		keep &= (uint16_t)~RSV_FLAG_AD;
	return (uint16_t)(RSV_FLAG_QR | (q->flags & (0x7800u | RSV_FLAG_RD | RSV_FLAG_CD)) |
			  RSV_FLAG_RA | keep | (rcode & 0xf));
}

size_t rsv_wire_write_error(const struct rsv_query *q, unsigned rcode, enum rsv_ede ede,
			    const char *ede_text, uint16_t udp_size, uint8_t *out, size_t size)
{
	if (size < RSV_HDR_LEN)
		return 0;
	memset(out, 0, RSV_HDR_LEN);
	rsv_wire_put16(out, q->id);
	rsv_wire_put16(out + 2, answer_flags(q, 0, rcode));
	size_t pos = RSV_HDR_LEN;
	if (q->has_question) {
		if (size < pos + q->qname_len + 4u)
			return 0;
		memcpy(out + pos, q->qname_orig, q->qname_len);
		pos += q->qname_len;
		rsv_wire_put16(out + pos, q->qtype);
		rsv_wire_put16(out + pos + 2, q->qclass);
		pos += 4;
		rsv_wire_put16(out + 4, 1);
	}
	if (q->edns) {
		size_t opt = rsv_wire_write_opt(out + pos, size - pos, udp_size, rcode, q->edns_do, ede,
				       ede_text);
		if (opt == 0)
			return 0;
		pos += opt;
		rsv_wire_put16(out + 10, 1);
	}
	return pos;
}

size_t rsv_wire_finish_answer(uint8_t *msg, size_t len, size_t size, const struct rsv_query *q,
			      enum rsv_ede ede, const char *ede_text, uint16_t udp_size,
			      size_t limit)
{
	size_t qend = RSV_HDR_LEN + q->qname_len + 4u;
	if (len < qend || size < qend)
		return 0;
	uint16_t flags = rsv_wire_get16(msg + 2);
	rsv_wire_put16(msg, q->id);
	rsv_wire_put16(msg + 2, answer_flags(q, flags, flags & 0xf));
	memcpy(msg + RSV_HDR_LEN, q->qname_orig, q->qname_len);
	size_t pos = len;
	for (int attempt = 0; attempt < 2; attempt++) {
		size_t opt = 0;
		if (q->edns) {
			opt = rsv_wire_write_opt(msg + pos, size - pos, udp_size, 0, q->edns_do, ede,
					ede_text);
			if (opt == 0 && pos == qend)
				return 0;
			if (opt)
				rsv_wire_put16(msg + 10, (uint16_t)(rsv_wire_get16(msg + 10) + 1));
		}
		/* The truncated form is the smallest answer there is: send it even over @limit. */
		if ((opt != 0 || !q->edns) && (pos + opt <= limit || attempt == 1))
			return pos + opt;
		/* Too large (or no room for OPT): keep header and question only, with TC. */
		pos = qend;
		msg[2] |= (uint8_t)(RSV_FLAG_TC >> 8);
		memset(msg + 6, 0, 6);
	}
	return 0;
}

/*
 * Where the RDATA of a type may hold compressed names: @prefix opaque bytes, @names domain names,
 * then exactly @suffix opaque bytes. RFC 3597 §4: receivers MUST decompress the RFC 1035 types and
 * SHOULD decompress RP, AFSDB, RT, PX and SRV (some old servers compressed them); DNAME (RFC 6672)
 * may arrive compressed too. Any other type never carries compression and is copied as is.
 */
struct rdata_names {
	uint8_t prefix, names, suffix;
};

static bool rdata_names(uint16_t type, struct rdata_names *out)
{
	switch (type) {
	case RSV_TYPE_NS:
	case 3: /* MD */
	case 4: /* MF */
	case RSV_TYPE_CNAME:
	case 7: /* MB */
	case 8: /* MG */
	case 9: /* MR */
	case RSV_TYPE_PTR:
	case RSV_TYPE_DNAME:
		*out = (struct rdata_names){0, 1, 0};
		return true;
	case RSV_TYPE_SOA: /* mname rname serial refresh retry expire minimum */
		*out = (struct rdata_names){0, 2, 20};
		return true;
	case 14: /* MINFO */
	case 17: /* RP */
		*out = (struct rdata_names){0, 2, 0};
		return true;
	case RSV_TYPE_MX:
	case 18: /* AFSDB */
	case 21: /* RT */
		*out = (struct rdata_names){2, 1, 0};
		return true;
	case 26: /* PX */
		*out = (struct rdata_names){2, 2, 0};
		return true;
	case RSV_TYPE_SRV: /* priority weight port target */
		*out = (struct rdata_names){6, 1, 0};
		return true;
	default:
		return false;
	}
}

/*
 * Check the record at *@pos of @m (@len bytes) and move *@pos past it. Unless @only_type is
 * non-zero and differs from its type, also copy it to @out at *@opos (@size bytes) with its owner
 * and the names in its RDATA decompressed (case kept) and RDLENGTH recomputed, and move *@opos.
 * Returns 1 when copied, 0 when skipped, CORE_EPARSE when malformed (class not IN, OPT, bad
 * name, past @len) or when @out is too small.
 */
static int copy_record(const uint8_t *m, size_t len, size_t *pos, uint16_t only_type, uint8_t *out,
		       size_t size, size_t *opos)
{
	size_t owner = *pos, p = *pos, n;
	if (walk_name(m, len, &p, NULL, NULL) != 0 || len - p < 10)
		return CORE_EPARSE;
	uint16_t type = rsv_wire_get16(m + p);
	size_t rd = p + 10, rdlen = rsv_wire_get16(m + p + 8);
	if (rsv_wire_get16(m + p + 2) != RSV_CLASS_IN || type == RSV_TYPE_OPT || rdlen > len - rd)
		return CORE_EPARSE;
	*pos = rd + rdlen;
	if (only_type && type != only_type)
		return 0;
	size_t o = *opos;
	if (read_name(m, len, &owner, out + o, size - o, false, &n) != 0)
		return CORE_EPARSE;
	o += n;
	if (size - o < 10)
		return CORE_EPARSE;
	memcpy(out + o, m + p, 8); /* type, class, TTL */
	size_t ord = o + 10;
	o = ord;
	struct rdata_names layout;
	if (!rdata_names(type, &layout)) {
		if (size - o < rdlen)
			return CORE_EPARSE;
		memcpy(out + o, m + rd, rdlen);
		o += rdlen;
	} else {
		/* Bounding the walk by the RDATA's end keeps every name inside it: pointers only
		 * go backwards. */
		size_t end = rd + rdlen, r = rd;
		if (rdlen < layout.prefix || size - o < layout.prefix)
			return CORE_EPARSE;
		memcpy(out + o, m + r, layout.prefix);
		o += layout.prefix;
		r += layout.prefix;
		for (unsigned i = 0; i < layout.names; i++) {
			if (read_name(m, end, &r, out + o, size - o, false, &n) != 0)
				return CORE_EPARSE;
			o += n;
		}
		if (end - r != layout.suffix || size - o < layout.suffix)
			return CORE_EPARSE;
		memcpy(out + o, m + r, layout.suffix);
		o += layout.suffix;
	}
	rsv_wire_put16(out + ord - 2, (uint16_t)(o - ord));
	*opos = o;
	return 1;
}

size_t rsv_wire_chain_cname(const struct rsv_query *q, const uint8_t *target, size_t target_len,
			    uint32_t ttl, const uint8_t *stored, size_t len, uint8_t *out,
			    size_t size)
{
	uint8_t name[RSV_MAX_NAME];
	size_t name_len, pos = RSV_HDR_LEN;
	if (!q->has_question || q->qclass != RSV_CLASS_IN || target_len == 0 ||
	    target_len > RSV_MAX_NAME || len < RSV_HDR_LEN || rsv_wire_get16(stored + 4) != 1)
		return 0;
	if (walk_name(stored, len, &pos, name, &name_len) != 0 || len - pos < 4 ||
	    name_len != target_len || rsv_wire_get16(stored + pos) != q->qtype ||
	    rsv_wire_get16(stored + pos + 2) != RSV_CLASS_IN)
		return 0;
	/* @name is valid and lower-cased, so this also checks that @target is a valid name. */
	for (size_t i = 0; i < name_len; i++) {
		if (lower(target[i]) != name[i])
			return 0;
	}
	pos += 4;
	unsigned an = rsv_wire_get16(stored + 6), ns = rsv_wire_get16(stored + 8);
	if (an == UINT16_MAX)
		return 0;
	if (size > RSV_MAX_MSG)
		size = RSV_MAX_MSG;
	size_t o = RSV_HDR_LEN + q->qname_len + 4u;
	if (size < o + 12 + target_len)
		return 0;
	/* AA: part of it is ours. AD: our CNAME was never validated (RFC 4035 §3.2.3). */
	uint16_t flags = rsv_wire_get16(stored + 2) & (uint16_t)~(RSV_FLAG_AA | RSV_FLAG_AD);
	rsv_wire_put16(out, 0);
	rsv_wire_put16(out + 2, flags);
	rsv_wire_put16(out + 4, 1);
	rsv_wire_put16(out + 6, (uint16_t)(an + 1));
	rsv_wire_put16(out + 8, 0);
	rsv_wire_put16(out + 10, 0);
	memcpy(out + RSV_HDR_LEN, q->qname_orig, q->qname_len);
	rsv_wire_put16(out + RSV_HDR_LEN + q->qname_len, q->qtype);
	rsv_wire_put16(out + RSV_HDR_LEN + q->qname_len + 2, q->qclass);
	out[o] = 0xc0; /* owner: the question name */
	out[o + 1] = RSV_HDR_LEN;
	rsv_wire_put16(out + o + 2, RSV_TYPE_CNAME);
	rsv_wire_put16(out + o + 4, RSV_CLASS_IN);
	rsv_wire_put32(out + o + 6, ttl);
	rsv_wire_put16(out + o + 10, (uint16_t)target_len);
	memcpy(out + o + 12, target, target_len);
	o += 12 + target_len;
	for (unsigned i = 0; i < an; i++) {
		if (copy_record(stored, len, &pos, 0, out, size, &o) < 0)
			return 0;
	}
	/* Authority: the SOA alone, for negative caching; the additional section is not read. */
	unsigned soas = 0;
	for (unsigned i = 0; i < ns; i++) {
		int r = copy_record(stored, len, &pos, RSV_TYPE_SOA, out, size, &o);
		if (r < 0)
			return 0;
		soas += (unsigned)r;
	}
	rsv_wire_put16(out + 8, (uint16_t)soas);
	return o;
}

/*
 * Walk the answer section of @msg: @on_record gets each record's type, RDATA offset and
 * length; returns true when it stopped the walk.
 */
typedef bool (*record_fn)(void *arg, const uint8_t *msg, size_t len, uint16_t type, size_t rd,
			  size_t rdlen);

static bool walk_answers(const uint8_t *msg, size_t len, record_fn on_record, void *arg)
{
	size_t pos = RSV_HDR_LEN;
	if (len < RSV_HDR_LEN || rsv_wire_get16(msg + 4) != 1)
		return false;
	unsigned an = rsv_wire_get16(msg + 6);
	if (walk_name(msg, len, &pos, NULL, NULL) != 0 || pos + 4 > len)
		return false;
	pos += 4;
	for (unsigned i = 0; i < an; i++) {
		if (walk_name(msg, len, &pos, NULL, NULL) != 0 || pos + 10 > len)
			return false;
		uint16_t type = rsv_wire_get16(msg + pos);
		size_t rdlen = rsv_wire_get16(msg + pos + 8);
		size_t rd = pos + 10;
		if (rdlen > len - rd)
			return false;
		if (on_record(arg, msg, len, type, rd, rdlen))
			return true;
		pos = rd + rdlen;
	}
	return false;
}

struct targets_walk {
	rsv_wire_name_fn fn;
	void *arg;
};

static bool on_target(void *arg, const uint8_t *msg, size_t len, uint16_t type, size_t rd,
		      size_t rdlen)
{
	struct targets_walk *tw = arg;
	uint8_t name[RSV_MAX_NAME];
	size_t name_len, p = rd;
	if (type != RSV_TYPE_CNAME && type != RSV_TYPE_DNAME)
		return false;
	if (walk_name(msg, len, &p, name, &name_len) != 0 || p > rd + rdlen)
		return false;
	return tw->fn(tw->arg, name, name_len);
}

bool rsv_wire_answer_targets(const uint8_t *msg, size_t len, rsv_wire_name_fn fn, void *arg)
{
	struct targets_walk tw = {fn, arg};
	return walk_answers(msg, len, on_target, &tw);
}

struct addrs_walk {
	rsv_wire_addr_fn fn;
	void *arg;
};

static bool on_address(void *arg, const uint8_t *msg, size_t len, uint16_t type, size_t rd,
		       size_t rdlen)
{
	struct addrs_walk *aw = arg;
	if (type == RSV_TYPE_A && rdlen == 4)
		return aw->fn(aw->arg, AF_INET, msg + rd);
	if (type == RSV_TYPE_AAAA && rdlen == 16)
		return aw->fn(aw->arg, AF_INET6, msg + rd);
	return false;
}

bool rsv_wire_answer_addresses(const uint8_t *msg, size_t len, rsv_wire_addr_fn fn, void *arg)
{
	struct addrs_walk aw = {fn, arg};
	return walk_answers(msg, len, on_address, &aw);
}

size_t rsv_wire_name_from_text(const char *text, uint8_t out[RSV_MAX_NAME])
{
	size_t n = 0;
	const char *p = text;
	if (p[0] == '.' && p[1] == '\0') {
		out[0] = 0;
		return 1;
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || n + 1 + l + 1 > RSV_MAX_NAME)
			return 0;
		out[n] = (uint8_t)l;
		for (size_t i = 0; i < l; i++)
			out[n + 1 + i] = lower((uint8_t)p[i]);
		n += 1 + l;
		if (!dot)
			break;
		p = dot + 1;
	}
	if (n == 0)
		return 0;
	out[n++] = 0;
	return n;
}

size_t rsv_wire_name_to_text(const uint8_t *name, char *out, size_t size)
{
	size_t n = 0, i = 0;
	if (size == 0)
		return 0;
	while (i < RSV_MAX_NAME && name[i] != 0) {
		uint8_t l = name[i];
		for (size_t j = 1; j <= l && n + 2 < size; j++) {
			uint8_t c = name[i + j];
			out[n++] = (c > 32 && c < 127 && c != '.') ? (char)c : '?';
		}
		if (n + 2 < size)
			out[n++] = '.';
		i += 1 + (size_t)l;
	}
	if (n == 0 && size > 1)
		out[n++] = '.';
	out[n] = '\0';
	return n;
}

bool rsv_wire_cap_ttls(uint8_t *msg, size_t len, const struct rsv_query *q, uint32_t cap_s)
{
	struct rsv_scan sc;
	if (rsv_wire_scan_response(msg, len, q, &sc) != 0)
		return false;
	for (size_t i = 0; i < sc.n_ttls; i++) {
		uint8_t *p = msg + sc.ttl_offsets[i];
		if (rsv_wire_get32(p) > cap_s)
			rsv_wire_put32(p, cap_s);
	}
	return true;
}
