/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS wire format on the hot path: parsing client queries, scanning upstream answers (structure,
 * question match, TTL positions, negative TTL), and writing answers into caller buffers.
 *
 * These routines are hand-written rather than ldns because the cached and refused paths must not
 * allocate, and because the cache needs the byte offset of every TTL, which ldns does not expose.
 * Every routine here is bounds-checked against the given length and has a fuzz target
 * (tests/fuzz/fuzz_wire.c). Names are handled in uncompressed, lower-cased wire form, except in
 * messages copied from upstream answers, where names keep the case they arrived in.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RSV_HDR_LEN 12
#define RSV_MAX_NAME 255
#define RSV_MAX_MSG 65535

/* Header flag bits (second 16-bit word). */
#define RSV_FLAG_QR 0x8000u
#define RSV_FLAG_AA 0x0400u
#define RSV_FLAG_TC 0x0200u
#define RSV_FLAG_RD 0x0100u
#define RSV_FLAG_RA 0x0080u
#define RSV_FLAG_AD 0x0020u
#define RSV_FLAG_CD 0x0010u

#define RSV_OPCODE_NOTIFY 4u

enum rsv_rcode {
	RSV_RCODE_NOERROR = 0,
	RSV_RCODE_FORMERR = 1,
	RSV_RCODE_SERVFAIL = 2,
	RSV_RCODE_NXDOMAIN = 3,
	RSV_RCODE_NOTIMP = 4,
	RSV_RCODE_REFUSED = 5,
	RSV_RCODE_BADVERS = 16, /**< extended: upper bits travel in the OPT record */
};

/** RFC 8914 Extended DNS Error codes we send. */
enum rsv_ede {
	RSV_EDE_NONE = 0xffff,
	RSV_EDE_OTHER = 0,
	RSV_EDE_STALE_ANSWER = 3,
	RSV_EDE_DNSSEC_BOGUS = 6,
	RSV_EDE_SIGNATURE_EXPIRED = 7,
	RSV_EDE_SIGNATURE_NOT_YET_VALID = 8,
	RSV_EDE_DNSKEY_MISSING = 9,
	RSV_EDE_RRSIGS_MISSING = 10,
	RSV_EDE_NSEC_MISSING = 12,
	RSV_EDE_BLOCKED = 15, /**< the school's age policy */
	RSV_EDE_CENSORED = 16, /**< the national (legal) list */
	RSV_EDE_FILTERED = 17, /**< a filter the subscriber chose */
	RSV_EDE_NOT_SUPPORTED = 21, /**< "Not Supported" */
	RSV_EDE_PROHIBITED = 18,
	RSV_EDE_NO_REACHABLE_AUTHORITY = 22,
	RSV_EDE_NETWORK_ERROR = 23,
};

enum {
	RSV_TYPE_A = 1,
	RSV_TYPE_NS = 2,
	RSV_TYPE_CNAME = 5,
	RSV_TYPE_SOA = 6,
	RSV_TYPE_PTR = 12,
	RSV_TYPE_MX = 15,
	RSV_TYPE_AAAA = 28,
	RSV_TYPE_SRV = 33,
	RSV_TYPE_DNAME = 39,
	RSV_TYPE_OPT = 41,
	RSV_TYPE_IXFR = 251,
	RSV_TYPE_AXFR = 252,
	RSV_CLASS_IN = 1,
};

/** What a client query says. Filled by rsv_wire_parse_query(). */
struct rsv_query {
	uint16_t id;
	uint16_t flags; /**< header flags word as received */
	bool has_question; /**< a valid question was parsed */
	uint16_t qtype;
	uint16_t qclass;
	uint8_t qname_len; /**< wire length including the root label */
	uint8_t qname[RSV_MAX_NAME]; /**< lower-cased */
	uint8_t qname_orig[RSV_MAX_NAME]; /**< as sent (0x20 case preserved for the answer) */
	bool edns; /**< an OPT record was present */
	bool edns_do; /**< DNSSEC OK */
	uint8_t edns_version;
	uint16_t edns_udp_size; /**< as advertised (values below 512 read as 512) */
};

/** Outcome of parsing a client query. */
enum rsv_parse {
	RSV_PARSE_OK = 0,
	RSV_PARSE_DROP, /**< not worth an answer: shorter than a header, or a response */
	RSV_PARSE_FORMERR, /**< header readable, rest malformed: answer FORMERR */
	RSV_PARSE_NOTIMP, /**< opcode other than QUERY */
	RSV_PARSE_BADVERS, /**< EDNS version other than 0 */
};

/**
 * Parse client query @pkt of @len bytes into @q. Always fills what it could read (ID, flags,
 * EDNS when found) so an error answer can be built.
 */
enum rsv_parse rsv_wire_parse_query(const uint8_t *pkt, size_t len, struct rsv_query *q);

/** Most resource records whose TTL positions one cached answer may carry. */
#define RSV_SCAN_MAX_TTLS 512

/** What rsv_wire_scan_response() learnt about an upstream answer. */
struct rsv_scan {
	uint16_t flags;
	uint8_t rcode; /**< header rcode (low 4 bits) */
	uint16_t ancount, nscount, arcount;
	size_t additional_start; /**< offset of the first additional record */
	size_t opt_start, opt_end; /**< the OPT record's span; opt_end 0 when absent */
	bool opt_is_last; /**< OPT is the message's last record */
	size_t n_ttls; /**< TTL offsets of every record except OPT */
	uint16_t ttl_offsets[RSV_SCAN_MAX_TTLS];
	bool too_many_rrs; /**< more than RSV_SCAN_MAX_TTLS records: not cacheable */
	uint32_t min_ttl; /**< smallest TTL of those records (UINT32_MAX when none) */
	bool has_soa; /**< an SOA in the authority section */
	uint32_t soa_neg_ttl; /**< min(SOA TTL, SOA MINIMUM) of the first such SOA */
};

/**
 * Check that upstream message @msg is a well-formed response to @q (same ID is the caller's
 * check; same question, case-insensitive) and describe it in @out.
 *
 * @return 0, CORE_EPARSE for a malformed message, CORE_EPROTO when it is not a response to @q.
 */
int rsv_wire_scan_response(const uint8_t *msg, size_t len, const struct rsv_query *q,
			   struct rsv_scan *out) __attribute__((warn_unused_result));

/**
 * Write a query for @q's question into @out: ID @id, RD set, CD as in @q, with an OPT record
 * advertising @udp_size and @q's DO bit.
 * @return the length, or 0 when @size is too small.
 */
size_t rsv_wire_write_query(const struct rsv_query *q, uint16_t id, uint16_t udp_size,
			    uint8_t *out, size_t size);

/**
 * Write an answer with no records: header (ID, opcode, RD, CD from @q; QR, RA set; @rcode),
 * the question when @q has one, and an OPT record (with an EDE option when @ede is not
 * RSV_EDE_NONE) when @q had EDNS. @rcode may be an extended one (BADVERS).
 * @return the length, or 0 when @size is too small.
 */
size_t rsv_wire_write_error(const struct rsv_query *q, unsigned rcode, enum rsv_ede ede,
			    const char *ede_text, uint16_t udp_size, uint8_t *out, size_t size);

/**
 * Turn stored answer @msg (@len bytes in a buffer of @size; ID zero, no OPT, question as stored)
 * into the answer to @q: ID, RD and CD from @q, RA set, AA cleared, AD kept only when @q asked for DO or AD,
 * the question name in @q's case, then an OPT record when @q had EDNS (with @ede unless
 * RSV_EDE_NONE). When the result exceeds @limit, only the header and question are kept, with TC.
 *
 * @return the final length, or 0 when @size cannot hold even the truncated form.
 */
size_t rsv_wire_finish_answer(uint8_t *msg, size_t len, size_t size, const struct rsv_query *q,
			      enum rsv_ede ede, const char *ede_text, uint16_t udp_size,
			      size_t limit);

/**
 * Build, in stored form, the answer to @q as "@q's name CNAME @target" (TTL @ttl) followed by
 * stored answer @stored (@len bytes: the stored form of an answer to (@target, @q->qtype, IN)),
 * as safe search and RPZ CNAME rewrites answer. Finish the result with rsv_wire_finish_answer().
 *
 * The result: ID 0; @stored's flags with AA and AD cleared (the CNAME is ours and unvalidated)
 * and its rcode (RFC 6604: the rcode of the chain's last name); the question in @q's case; the
 * CNAME (owner a pointer to the question, class IN, RDATA @target as given), then every
 * answer-section record of @stored, then only the SOA records of its authority section (for
 * negative caching); no additional section and no OPT. Copied records keep their TTL and case;
 * their owners and the names inside the RDATA of types that may be compressed (RFC 3597 §4:
 * NS, CNAME, SOA, PTR, MX, DNAME, SRV, ... ) are written uncompressed, RDLENGTH recomputed;
 * any other RDATA is copied byte for byte. The result holds no compression pointer but the
 * CNAME's owner. The chain inside @stored is not checked beyond its structure.
 * Allocates nothing; reads only [@stored, @stored + @len).
 *
 * @param q      the client's query: must have a question of class IN
 * @param target the CNAME's target, uncompressed wire name (any case)
 * @return the length written to @out (at most min(@size, RSV_MAX_MSG)), or 0 when @stored is
 *         malformed (a record of class other than IN, an OPT record in the answer or authority
 *         section, a bad compression pointer, a name over 255 bytes, a record past @len, a
 *         RDATA that does not hold exactly its names), its question is not
 *         (@target, @q->qtype, IN) (name compared case-insensitively), @q has no IN question,
 *         or @size is too small.
 */
size_t rsv_wire_chain_cname(const struct rsv_query *q, const uint8_t *target, size_t target_len,
			    uint32_t ttl, const uint8_t *stored, size_t len, uint8_t *out,
			    size_t size);

/**
 * Write an OPT record at @p (room @room): UDP size @udp_size, the upper bits of @ext_rcode, the
 * DO bit, and an Extended DNS Error option when @ede is not RSV_EDE_NONE (@text cut at 200
 * bytes). @return its length, or 0 when it does not fit.
 */
size_t rsv_wire_write_opt(uint8_t *p, size_t room, uint16_t udp_size, unsigned ext_rcode,
			  bool do_bit, enum rsv_ede ede, const char *text);

/**
 * Lower every TTL above @cap_s in @msg (@len bytes: a stored answer to @q, as the cache gives
 * it) to @cap_s, OPT excepted. @return false, leaving @msg unchanged, when it does not scan as
 * an answer to @q.
 */
bool rsv_wire_cap_ttls(uint8_t *msg, size_t len, const struct rsv_query *q, uint32_t cap_s);

/** Called with each CNAME/DNAME target of an answer section (lower-cased wire name). Return
 * true to stop the walk. */
typedef bool (*rsv_wire_name_fn)(void *arg, const uint8_t *name, size_t len);

/**
 * Call @fn with the target of every CNAME and DNAME record in the answer section of message
 * @msg (@len bytes, already checked by rsv_wire_scan_response() or stored by the cache).
 * @return true when @fn stopped the walk, false otherwise (also for a malformed message).
 */
bool rsv_wire_answer_targets(const uint8_t *msg, size_t len, rsv_wire_name_fn fn, void *arg);

/** Called with each A (4 bytes) or AAAA (16 bytes) address of an answer section. Return true
 * to stop the walk. */
typedef bool (*rsv_wire_addr_fn)(void *arg, int family, const uint8_t *addr);

/**
 * Call @fn with every A and AAAA address in the answer section of @msg (@len bytes).
 * @return true when @fn stopped the walk.
 */
bool rsv_wire_answer_addresses(const uint8_t *msg, size_t len, rsv_wire_addr_fn fn, void *arg);

/** The UDP payload limit for answers to @q: 512 without EDNS, else min(client's, @ours). */
static inline size_t rsv_wire_udp_limit(const struct rsv_query *q, uint16_t ours)
{
	if (!q->edns)
		return 512;
	return q->edns_udp_size < ours ? q->edns_udp_size : ours;
}

/**
 * Parse a presentation-format name ("www.example.vn", trailing dot optional, "." is the root)
 * into lower-cased wire form. @return the wire length, or 0 when it is not a valid name.
 */
size_t rsv_wire_name_from_text(const char *text, uint8_t out[RSV_MAX_NAME]);

/** Write wire name @name as text ("www.example.vn."); @return the text length. */
size_t rsv_wire_name_to_text(const uint8_t *name, char *out, size_t size);

static inline uint16_t rsv_wire_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rsv_wire_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void rsv_wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void rsv_wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
