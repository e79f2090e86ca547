/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Worker threads: listeners, the query pipeline and answers to clients.
 *
 * Pipeline of one query (all on the worker's loop):
 *   parse (wire.c) → client network and group (policy/policy.h) → refuse / error answers
 *   → the policy's verdict on the name: block (synth.c), answer locally (canaries, local
 *     zones), rewrite (safe search: CNAME + the target's answer) or pass
 *   → cache lookup (cache.c; hit: check the answer's CNAME targets and addresses, patch, send)
 *   → forward (forward.c) → cache insert → check the answer for each client → send.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <urcu-qsbr.h>

#include "policy/decide.h"
#include "policy/policy.h"
#include "resolver/cache.h"
#include "resolver/lists.h"
#include "resolver/server.h"
#include "resolver/wire.h"

/** Where an answer goes. */
struct rsv_client {
	struct sockaddr_storage addr; /**< client address (UDP reply target) */
	struct rsv_udp_listener *udp; /**< listener the query came in on, or NULL for TCP */
	struct rsv_tcp_conn *conn; /**< TCP connection (a reference is held), or NULL */
};

/** What the checks of an answer need to know of the client it goes to. Valid during one
 * callback (it points into the ruleset and the lists). */
struct rsv_policy_ctx {
	const struct pol_policy *policy;
	const struct rsv_lists *lists;
	struct pol_client client;
	struct pol_verdict query; /**< the verdict on the query name */
	unsigned mow; /**< local minute of the week */
	struct pol_verdict *out; /**< private to rsv_worker_check_answer() */
};

/** A client's query answered through a rewrite (safe search, an RPZ CNAME): what it asked,
 * and the Extended DNS Error its answer carries. */
struct rsv_chain {
	struct rsv_query q;
	enum rsv_ede ede; /**< RSV_EDE_NONE for safe search */
	char ede_text[160];
};

/** Room of a worker's buffer for rewritten (CNAME-chained) answers. */
#define RSV_CHAIN_BUF (65536 + 1024)

/**
 * Start worker @w of @server: its thread opens its sockets and runs its loop.
 * @return 0 once the worker listens, or the error that stopped it (the thread has ended).
 */
int rsv_worker_start(struct rsv_server *server, struct rsv_worker *w, unsigned index);

/** Ask @w to close everything and end its loop (any thread). */
void rsv_worker_stop(struct rsv_worker *w);

/** Wait for @w's thread to end and free what it owned. */
void rsv_worker_join(struct rsv_worker *w);

/** Become an RCU reader for the rest of this loop iteration (see server.h). */
static inline void rsv_worker_online(struct rsv_worker *w)
{
	if (!w->rcu_online) {
		rcu_thread_online();
		w->rcu_online = true;
	}
}

/** The ruleset in force; only between rsv_worker_online() and the end of the callback. */
static inline struct rsv_ruleset *rsv_worker_ruleset(struct rsv_worker *w)
{
	return rcu_dereference(w->server->ruleset);
}

/**
 * Send answer @msg of @len bytes to @client (UDP: one datagram; TCP: length-prefixed) and drop
 * the request's reference on a TCP connection. @msg is copied if needed; the caller keeps it.
 */
void rsv_worker_send(struct rsv_worker *w, struct rsv_client *client, const uint8_t *msg,
		     size_t len);

/** Drop @client's reference without answering (request abandoned). */
void rsv_worker_client_release(struct rsv_worker *w, struct rsv_client *client);

/**
 * Answer @q for @client from the cache if possible (a blocked CNAME target or address gives a
 * blocked answer).
 * @param ctx    the client's policy context, or NULL to look it up (a client no longer in any
 *               network is then refused)
 * @param stale  0: fresh entries only; else how many seconds past expiry are acceptable.
 * @return true when an answer was sent.
 */
bool rsv_worker_answer_from_cache(struct rsv_worker *w, const struct rsv_ruleset *rs,
				  const struct rsv_policy_ctx *ctx, const struct rsv_query *q,
				  struct rsv_client *client, uint32_t stale);

/** The local minute of the week for schedules (0 when no group has schedules). */
unsigned rsv_worker_minute_of_week(struct rsv_worker *w, const struct rsv_ruleset *rs);

/**
 * Fill @out for @client asking @q under @rs: its network and group, the lists, and the verdict
 * on the query name. @return false when the client is in no network.
 */
bool rsv_worker_policy_ctx(struct rsv_worker *w, const struct rsv_ruleset *rs,
			   const struct rsv_query *q, const struct rsv_client *client,
			   struct rsv_policy_ctx *out);

/** The blocklists in force; only between rsv_worker_online() and the end of the callback. */
static inline struct rsv_lists *rsv_worker_lists(struct rsv_worker *w)
{
	return rcu_dereference(w->server->lists);
}

/**
 * Check the answer section of @msg for the client of @ctx: CNAME and DNAME targets against the
 * policy (pol_decide_target()), A and AAAA addresses against the RPZ IP triggers of the
 * categories enforced for it.
 * @return true, with the verdict in @out, when one of them is blocked.
 */
bool rsv_worker_check_answer(const struct rsv_policy_ctx *ctx, const uint8_t *msg, size_t len,
			     struct pol_verdict *out);

/**
 * Answer @q as blocked by @v (BLOCK: synthesised answer with EDE; DROP: no answer) and count
 * it. @via_target: the decision is about the answer (a CNAME/DNAME target or an address), not
 * the query name.
 */
void rsv_worker_answer_blocked(struct rsv_worker *w, const struct rsv_ruleset *rs,
			       const struct rsv_policy_ctx *ctx, const struct rsv_query *q,
			       struct rsv_client *client, const struct pol_verdict *v,
			       bool via_target);

/** REFUSED with EDE 18 to a client in no network, counted. */
void rsv_worker_answer_refused(struct rsv_worker *w, const struct rsv_ruleset *rs,
			       const struct rsv_query *q, struct rsv_client *client);

/**
 * Answer @chain->q as "@chain->q CNAME @target" plus @stored, the stored answer for (@target,
 * the same type) (rsv_wire_chain_cname()), with @chain's EDE; SERVFAIL when that cannot be
 * built. @stored must not be the worker's chain buffer. @return true when it was sent.
 */
bool rsv_worker_answer_chain(struct rsv_worker *w, const struct rsv_ruleset *rs,
			     const struct rsv_chain *chain, struct rsv_client *client,
			     const uint8_t *target, size_t target_len, const uint8_t *stored,
			     size_t len);

/**
 * Turn stored answer @msg (@len bytes in a buffer of @size: ID zero, no OPT) into the answer to
 * @q (rsv_wire_finish_answer(), truncated to @client's limit, with @ede unless RSV_EDE_NONE) and
 * send it. @return false, having sent nothing, when @size is too small.
 */
bool rsv_worker_answer_stored(struct rsv_worker *w, const struct rsv_ruleset *rs,
			      const struct rsv_query *q, struct rsv_client *client, uint8_t *msg,
			      size_t len, size_t size, enum rsv_ede ede, const char *ede_text);

/** Send an answer with no records (rcode, optional EDE) to @client. */
void rsv_worker_answer_error(struct rsv_worker *w, const struct rsv_ruleset *rs,
			     const struct rsv_query *q, struct rsv_client *client, unsigned rcode,
			     enum rsv_ede ede, const char *ede_text);

/** Fill @key with the cache key of @q's question (hash included). */
static inline void rsv_worker_cache_key(const struct rsv_worker *w, const struct rsv_query *q,
					struct rsv_cache_key *key)
{
	key->qname = q->qname;
	key->qname_len = q->qname_len;
	key->qtype = q->qtype;
	key->qclass = q->qclass;
	key->flags = (uint8_t)((q->edns_do ? RSV_CACHE_F_DO : 0) |
			       ((q->flags & RSV_FLAG_CD) ? RSV_CACHE_F_CD : 0));
	rsv_cache_key_hash(w->server->cache, key);
}

/** The UDP payload size we advertise. */
static inline uint16_t rsv_ruleset_udp_size(const struct rsv_ruleset *rs)
{
	return rs->cfg->server.edns_buffer_size;
}
