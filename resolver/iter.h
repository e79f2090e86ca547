/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Recursive resolution from the root (`server.mode: recursive`): the iterator.
 *
 * One resolution is a state machine on the worker's loop (struct rsv_iter): it starts at the
 * closest delegation it knows for the name (the infrastructure entries of the shared cache, or
 * the root hints), asks one of that zone's servers, and follows what the answer says — a
 * referral one zone down (its NS names, with glue only from inside the referring zone), a
 * CNAME or DNAME to another name (resolved again from its own closest delegation), or the
 * final answer or negative answer. Names of name servers without glue are resolved by child
 * iterations. QNAME minimisation (RFC 9156): a server is asked for one label more than its
 * zone (type A) until the cut is found, then the full question; an NXDOMAIN or a CNAME on the
 * way falls back to the full name. Every query has a random ID, a random source port (a fresh
 * connected socket) and "0x20" random case in its name, which the answer must echo (servers
 * that lower-case it are remembered and asked without). A truncated answer is asked again
 * over TCP. Servers are chosen by smoothed RTT; timeouts back a server off.
 *
 * Limits on the work of one client query (no amplification): queries sent, referrals, CNAME
 * hops, depth of name-server resolutions, and wall time. A lame or looping delegation ends in
 * SERVFAIL (Extended DNS Error 22) once every server of the zone failed or a limit is reached.
 *
 * Caching: the final answer is cached by the caller under the client's question (forward.c,
 * as in forward mode: policy-free, the policy applied on the way out, CNAME targets included).
 * Delegations (NS and glue) and name-server addresses go to the same shared cache under keys
 * flagged RSV_CACHE_F_INFRA, never served to clients. Server RTTs are per worker.
 *
 * DNSSEC (server.dnssec, resolver/validate.h): the walk down starts from the root's keys,
 * checked against the trust anchor; each referral's DS (or the proof there is none), each
 * zone's DNSKEYs, the answer's RRsets and the proofs of negative and wildcard answers are
 * validated; a zone proved unsigned makes the answer insecure (no AD); anything else that fails
 * is SERVFAIL with the EDE saying why. A client query with CD is not validated; one with DO
 * gets the RRSIGs (and NSEC/NSEC3 records of negative answers). Validated DNSKEY sets and the
 * marks of unsigned zones are cached (RSV_CACHE_F_INFRA) so that later walks start deeper.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "resolver/wire.h"

struct rsv_worker;
struct rsv_iter;

/** The root servers: from server.root_hints or built in. Immutable, part of a ruleset. */
struct rsv_roots;

/**
 * Read root hints from zone file @path (NULL: the built-in list of the IANA root servers).
 * @param err  on failure, one line naming the file and the problem
 * @return 0 and the roots in @out; -errno, CORE_EPARSE (no NS record of the root with an
 *         address), -ENOMEM.
 */
int rsv_roots_load(const char *path, struct rsv_roots **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/** Free @r (NULL is fine). */
void rsv_roots_free(struct rsv_roots *r);

/**
 * Read zone file @path (origin '.', class IN), which must be a regular file (a directory would
 * make ldns's parser spin), for config key @key.
 * @return 0 and the zone in @out (ldns_zone_deep_free); -errno, -EINVAL (not a file),
 *         CORE_EPARSE; @err says why, naming @key, the file and the line.
 */
int rsv_zone_file_read(const char *path, const char *key, ldns_zone **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/** Number of root server addresses (for the start log line). */
size_t rsv_roots_count(const struct rsv_roots *r);

/**
 * The end of a resolution: @msg is the answer (@len bytes; ID 0, QR and RA set, the question as
 * asked in lower case, the answer and authority sections as the client gets them; AD when
 * every step validated) or NULL when it failed, with the Extended DNS Error @ede and @why
 * saying why in a few words (its text). Valid during the call.
 */
typedef void (*rsv_iter_done_fn)(void *arg, const uint8_t *msg, size_t len, enum rsv_ede ede,
				 const char *why);

/**
 * Resolve @q (its qname, qtype; class IN; its CD and DO bits) on worker @w with the ruleset in
 * force, validating when server.dnssec is on and CD is not set. @done runs
 * exactly once, later, on the worker's loop, unless rsv_iter_cancel() is called first.
 * @return 0 and the resolution in @out; -ENOMEM (then @done is never called).
 */
int rsv_iter_start(struct rsv_worker *w, const struct rsv_query *q, rsv_iter_done_fn done,
		   void *arg, struct rsv_iter **out) __attribute__((warn_unused_result));

/** Stop @it: its sockets are closed, @done is not called. NULL is fine. */
void rsv_iter_cancel(struct rsv_iter *it);

/** Per-worker state (server RTTs): set up when the worker starts, freed when it ends. */
int rsv_iter_worker_init(struct rsv_worker *w) __attribute__((warn_unused_result));
void rsv_iter_worker_fini(struct rsv_worker *w);
