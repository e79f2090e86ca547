/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Synthesised answers for blocked names (see synth.h). */
#include "resolver/synth.h"

#include <netinet/in.h>
#include <string.h>

#define SOA_REFRESH 3600
#define SOA_RETRY 600
#define SOA_EXPIRE 86400

/* SOA names: lanhmanh.invalid. (RFC 2606) and hostmaster.lanhmanh.invalid. */
static const uint8_t soa_mname[] = "\x08lanhmanh\x07invalid";
static const uint8_t soa_rname_label[] = "\x0ahostmaster";

enum rsv_ede rsv_synth_ede(enum cfg_reason reason)
{
	switch (reason) {
	case CFG_REASON_NATIONAL:
		return RSV_EDE_CENSORED;
	case CFG_REASON_SUBSCRIBER:
		return RSV_EDE_FILTERED;
	default:
		return RSV_EDE_BLOCKED;
	}
}

struct writer {
	uint8_t *out;
	size_t size, pos;
	bool full;
};

static void put(struct writer *w, const void *p, size_t n)
{
	if (w->full || n > w->size - w->pos) {
		w->full = true;
		return;
	}
	memcpy(w->out + w->pos, p, n);
	w->pos += n;
}

static void put16(struct writer *w, uint16_t v)
{
	uint8_t b[2];
	rsv_wire_put16(b, v);
	put(w, b, 2);
}

static void put32(struct writer *w, uint32_t v)
{
	uint8_t b[4];
	rsv_wire_put32(b, v);
	put(w, b, 4);
}

/* A record header whose owner is a compression pointer to @owner_off. */
static void rr_head(struct writer *w, size_t owner_off, uint16_t type, uint32_t ttl,
		    uint16_t rdlen)
{
	put16(w, (uint16_t)(0xc000u | owner_off));
	put16(w, type);
	put16(w, RSV_CLASS_IN);
	put32(w, ttl);
	put16(w, rdlen);
}

/* Offset in the message of the question name with its first @skip labels removed. */
static size_t suffix_offset(const struct rsv_query *q, unsigned skip)
{
	size_t off = 0;
	for (unsigned i = 0; i < skip && off < q->qname_len && q->qname[off] != 0; i++)
		off += 1u + q->qname[off];
	return RSV_HDR_LEN + off;
}

static void put_soa(struct writer *w, size_t owner_off, uint32_t ttl)
{
	size_t mname_len = sizeof(soa_mname); /* includes the root label (the string's NUL) */
	size_t mname_off = w->pos + 12;
	rr_head(w, owner_off, RSV_TYPE_SOA, ttl,
		(uint16_t)(mname_len + (sizeof(soa_rname_label) - 1) + 2 + 20));
	put(w, soa_mname, mname_len);
	put(w, soa_rname_label, sizeof(soa_rname_label) - 1);
	put16(w, (uint16_t)(0xc000u | mname_off));
	put32(w, 1); /* serial */
	put32(w, SOA_REFRESH);
	put32(w, SOA_RETRY);
	put32(w, SOA_EXPIRE);
	put32(w, ttl); /* minimum: negative answers are cached as long as the sinkhole's */
}

/*
 * RPZ local data as answer records: the records of @q's type, or else a CNAME (an RPZ rewrite:
 * the client gets the CNAME; lanhmanh does not resolve its target). Returns how many were
 * written.
 */
static unsigned put_local_data(struct writer *w, const struct rsv_query *q,
			       const struct bl_set *set, uint32_t entry, uint32_t ttl)
{
	size_t len;
	const uint8_t *data = set ? bl_set_local_data(set, entry, &len) : NULL;
	unsigned n = 0;
	for (int pass = 0; pass < 2 && n == 0; pass++) {
		uint16_t want = pass == 0 ? q->qtype : RSV_TYPE_CNAME;
		for (size_t p = 0; data && p + 4 <= len;) {
			uint16_t type = rsv_wire_get16(data + p);
			uint16_t rdlen = rsv_wire_get16(data + p + 2);
			if (p + 4 + rdlen > len)
				break;
			if (type == want) {
				rr_head(w, RSV_HDR_LEN, type, ttl, rdlen);
				put(w, data + p + 4, rdlen);
				n++;
			}
			p += 4u + rdlen;
		}
	}
	return n;
}

static size_t synth(const struct rsv_query *q, const struct pol_decision *d,
		    const struct cfg_sinkhole *sh, const struct bl_set *set, enum rsv_ede ede,
		    const char *ede_text, uint16_t udp_size, uint8_t *out, size_t size)
{
	unsigned rcode = RSV_RCODE_NOERROR;
	bool soa = true;
	enum bl_action action = (enum bl_action)d->match.action;

	if (action == BL_ACTION_NXDOMAIN)
		rcode = RSV_RCODE_NXDOMAIN;
	else if (action == BL_ACTION_POLICY && sh->answer == CFG_ANSWER_NXDOMAIN)
		rcode = RSV_RCODE_NXDOMAIN;
	else if (action == BL_ACTION_POLICY && sh->answer == CFG_ANSWER_REFUSED)
		return rsv_wire_write_error(q, RSV_RCODE_REFUSED, ede, ede_text, udp_size, out,
					    size);

	struct writer w = {out, size, 0, false};
	uint8_t hdr[RSV_HDR_LEN] = {0};
	rsv_wire_put16(hdr, q->id);
	rsv_wire_put16(hdr + 2, (uint16_t)(RSV_FLAG_QR | (q->flags & (0x7800u | RSV_FLAG_RD |
								       RSV_FLAG_CD)) |
					   RSV_FLAG_RA | rcode));
	rsv_wire_put16(hdr + 4, 1);
	put(&w, hdr, sizeof(hdr));
	put(&w, q->qname_orig, q->qname_len);
	put16(&w, q->qtype);
	put16(&w, q->qclass);

	unsigned answers = 0;
	uint32_t ttl = sh->ttl_s;
	if (rcode == RSV_RCODE_NOERROR && action == BL_ACTION_LOCAL_DATA) {
		answers = put_local_data(&w, q, set, d->match.entry, ttl);
	} else if (rcode == RSV_RCODE_NOERROR && action == BL_ACTION_POLICY &&
		   sh->answer == CFG_ANSWER_SINKHOLE) {
		const struct cfg_sinkhole_addrs *a = &sh->per_reason[d->reason];
		if (q->qtype == RSV_TYPE_A && a->ipv4.family == AF_INET) {
			rr_head(&w, RSV_HDR_LEN, RSV_TYPE_A, ttl, 4);
			put(&w, a->ipv4.addr, 4);
			answers = 1;
		} else if (q->qtype == RSV_TYPE_AAAA && a->ipv6.family == AF_INET6) {
			rr_head(&w, RSV_HDR_LEN, RSV_TYPE_AAAA, ttl, 16);
			put(&w, a->ipv6.addr, 16);
			answers = 1;
		}
	}
	if (answers)
		soa = false;
	if (soa)
		put_soa(&w, suffix_offset(q, d->match.labels_below), ttl);
	if (q->edns && !w.full) {
		size_t opt = rsv_wire_write_opt(out + w.pos, size - w.pos, udp_size, 0, q->edns_do,
						ede, ede_text);
		if (opt == 0)
			w.full = true;
		w.pos += opt;
	}
	if (w.full)
		return 0;
	rsv_wire_put16(out + 6, (uint16_t)answers);
	rsv_wire_put16(out + 8, soa ? 1 : 0);
	rsv_wire_put16(out + 10, q->edns ? 1 : 0);
	return w.pos;
}

size_t rsv_synth_block(const struct rsv_query *q, const struct pol_decision *d,
		       const struct cfg_sinkhole *sh, const struct bl_set *set,
		       const char *ede_text, uint16_t udp_size, uint8_t *out, size_t size)
{
	return synth(q, d, sh, set, rsv_synth_ede(d->reason), ede_text, udp_size, out, size);
}

size_t rsv_synth_local(const struct rsv_query *q, const struct pol_decision *d,
		       const struct cfg_sinkhole *sh, const struct bl_set *set, uint16_t udp_size,
		       uint8_t *out, size_t size)
{
	return synth(q, d, sh, set, RSV_EDE_NONE, NULL, udp_size, out, size);
}
