/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone transfer client and NOTIFY checker: how lanhmanh, as a secondary, keeps the national RPZ
 * zone in step with the authority's primary (RFC 5936 AXFR, RFC 1995 IXFR, RFC 1996 NOTIFY,
 * RFC 8945 TSIG). See blocklists/README-sync.md for the state machine and what is verified.
 *
 * Glossary: *primary*: the authority's server we transfer from; *full* transfer: the whole zone
 * (AXFR, or an IXFR the primary answers in full); *difference sequence*: one step of an IXFR
 * answer, from one serial to the next, as removed and added records.
 *
 * Threads: every function is reentrant (no global state; ldns and OpenSSL are called per use).
 * bl_xfr_soa() and bl_xfr_fetch() block on the network, bounded by @timeout_ms per connect and
 * per message: they belong on a background thread. bl_notify_check() and bl_notify_response()
 * do no I/O and may run on any worker.
 *
 * Errors: 0 or a negative code (core/error.h): -ECONNREFUSED and other -errno for the socket,
 * CORE_ETIMEOUT when the primary does not answer in time, CORE_EPROTO for an answer we must not
 * accept (malformed, mismatched, a transfer that ends early, any TSIG failure in either
 * direction), CORE_EUPSTREAM when the primary answers with an error rcode (REFUSED, SERVFAIL,
 * NOTAUTH when no TSIG key is configured...), CORE_ECONFIG for parameters we cannot use (zone
 * name, address family, TSIG algorithm or secret), CORE_ELIMIT when a difference sequence
 * exceeds BL_XFR_MAX_DELTA_BYTES, -ECANCELED (a callback said stop), -EINVAL (no callback),
 * -ENOMEM. On every error, @out->error holds one line for the operator naming the zone, the
 * primary and what failed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** A TSIG key (RFC 8945). */
struct bl_tsig {
	char name[256]; /**< key name, e.g. "k1." (case and final dot do not matter) */
	/** "hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5" */
	char algorithm[64];
	char secret[256]; /**< base64, as tsig-keygen / keymgr print it */
};

/** Where and what to transfer. Borrowed by every call, never kept. */
struct bl_xfr_params {
	struct sockaddr_storage primary; /**< address and port of the primary */
	socklen_t primary_len;
	char zone[256];		    /**< "rpz.national.vn." (final dot optional) */
	const struct bl_tsig *tsig; /**< NULL: no TSIG */
	uint32_t timeout_ms; /**< per connect and per message read, e.g. 10000; 0 means 10000 */
};

/** A difference sequence may hold at most this many bytes of record text (CORE_ELIMIT). */
#define BL_XFR_MAX_DELTA_BYTES (256u << 20)

/**
 * Called for every RR of a full transfer, in order, as one presentation-format line without
 * newline, absolute names, single spaces between owner, TTL, class, type and data, e.g.
 * "bad.example.rpz.national.vn. 300 IN CNAME .". The zone's SOA comes first; the closing SOA
 * of the transfer is not repeated. @line is valid during the call only.
 * @return 0 to go on; nonzero aborts the transfer (see bl_xfr_fetch()).
 */
typedef int (*bl_xfr_rr_fn)(void *arg, const char *line);

/**
 * Called for each IXFR difference sequence in order: @from_serial to @to_serial, with the
 * removed and the added RRs as presentation lines (same form as bl_xfr_rr_fn; the two SOA
 * records of the sequence are not included). The arrays are valid during the call only.
 * @return 0 to go on; nonzero aborts the transfer.
 */
typedef int (*bl_xfr_delta_fn)(void *arg, uint32_t from_serial, uint32_t to_serial,
			       const char *const *removed, size_t n_removed,
			       const char *const *added, size_t n_added);

enum bl_xfr_kind {
	BL_XFR_UP_TO_DATE, /**< the primary's serial is not newer than ours: nothing to do */
	BL_XFR_FULL,	   /**< the whole zone came through bl_xfr_rr_fn */
	BL_XFR_DELTA,	   /**< difference sequences came through bl_xfr_delta_fn */
};

/** What a call found. Written on success and on failure (then @error tells why). */
struct bl_xfr_result {
	enum bl_xfr_kind kind;
	/** the zone's serial after the transfer; for UP_TO_DATE and bl_xfr_soa(), the primary's */
	uint32_t serial;
	uint32_t refresh, retry, expire; /**< from that SOA, in seconds */
	size_t rrs;	 /**< RRs delivered to the callbacks (removed + added for a delta) */
	char error[256]; /**< "" on success; else one line for the operator */
};

/**
 * Ask the primary for the zone's SOA: UDP (resent twice within @timeout_ms), then TCP when the
 * answer is truncated. With TSIG the query is signed and the answer must be signed and verify.
 * The answer must be authoritative (AA) and hold the zone's SOA.
 *
 * @return 0 with serial/refresh/retry/expire in @out; CORE_ETIMEOUT, -ECONNREFUSED (ICMP
 *         unreachable), CORE_EPROTO, CORE_EUPSTREAM, CORE_ECONFIG, -ENOMEM (@out->error set).
 */
int bl_xfr_soa(const struct bl_xfr_params *p, struct bl_xfr_result *out)
	__attribute__((warn_unused_result));

/**
 * Transfer the zone over TCP.
 *
 * Without @have: AXFR, the result is FULL (@rr_fn per RR). With @have: IXFR from
 * @have_serial (our SOA in the authority section); the primary answers with a single SOA not
 * newer than ours (UP_TO_DATE: no callback), difference sequences (DELTA: @delta_fn per
 * sequence, the first starting at @have_serial, each starting where the previous ended, the
 * last ending at the new serial), or the whole zone (FULL: @rr_fn). A primary that answers the
 * IXFR with NOTIMP or FORMERR, or with only a newer SOA before closing, is asked again with
 * AXFR (a second connection).
 *
 * With TSIG every signed message is verified; unsigned messages are allowed between signed
 * ones (at most 99 in a row, RFC 8945 §5.3.1) and are covered by the next signature; the first
 * and the last message must be signed.
 *
 * Failure is all or nothing: a transfer that ends early, a record out of order, an SOA that
 * does not match, or a TSIG failure returns an error even if callbacks were already called:
 * the caller must discard what it received. If a callback returns nonzero the transfer stops
 * and its value is returned when negative, -ECANCELED otherwise.
 *
 * @return 0 with @out filled; or an error as listed at the top of this file.
 */
int bl_xfr_fetch(const struct bl_xfr_params *p, bool have, uint32_t have_serial, bl_xfr_rr_fn rr_fn,
		 bl_xfr_delta_fn delta_fn, void *arg, struct bl_xfr_result *out)
	__attribute__((warn_unused_result));

/** What a NOTIFY check found. */
struct bl_notify {
	char zone[256];	 /**< the question name, lower-case presentation, with final dot */
	bool has_serial; /**< the NOTIFY carried an SOA in its answer section */
	uint32_t serial; /**< that SOA's serial (a hint only, RFC 1996 §3.7) */
	uint16_t id;	 /**< message ID */
};

/**
 * Check DNS message @wire (@len bytes) received from @from as a NOTIFY (opcode 4, RFC 1996)
 * for @p->zone. The source address must be the primary's (the port is not checked; an
 * IPv4-mapped IPv6 source matches the IPv4 address). When @p->tsig is set the message must be
 * signed with that key (name and algorithm), the MAC must verify and the time must be within
 * the fudge. No I/O, no global state.
 *
 * @return 0 with @out filled: a NOTIFY to act on (query the SOA, then transfer);
 *         CORE_ENOTFOUND: not a NOTIFY request, or not for @p->zone (class IN, type SOA);
 *         CORE_EPROTO: to be refused, @why says why (static string): wrong source, missing or
 *         bad TSIG, malformed; CORE_ECONFIG (@p->zone or @p->tsig unusable) and -ENOMEM, with
 *         @why set too. @out is written only on 0; a signed NOTIFY is accepted without a
 *         configured key (the source address is then the only check).
 */
int bl_notify_check(const struct bl_xfr_params *p, const uint8_t *wire, size_t len,
		    const struct sockaddr *from, struct bl_notify *out, const char **why)
	__attribute__((warn_unused_result));

/**
 * Write into @out the response to NOTIFY @wire: same ID, QR and AA set, opcode NOTIFY, the
 * question copied, rcode @rcode (0 NOERROR when accepted; 5 REFUSED or 9 NOTAUTH when refused).
 * When the request carries a valid signature with @p->tsig, the response is signed with it
 * (the request's MAC included, RFC 8945 §5.3); otherwise it is unsigned.
 *
 * @return the length written, or 0 when @size is too small or @wire is not a DNS message with
 *         one question.
 */
size_t bl_notify_response(const struct bl_xfr_params *p, const uint8_t *wire, size_t len,
			  unsigned rcode, uint8_t *out, size_t size);
