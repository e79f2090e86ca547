/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Worker threads: listeners, the query pipeline and answers to clients.
 *
 * Pipeline of one query (all on the worker's loop):
 *   parse (wire.c) → client network (policy/networks) → refuse / error answers
 *   → cache lookup (cache.c; hit: patch and send) → forward (forward.c) → cache insert → send.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <urcu-qsbr.h>

#include "policy/decide.h"
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
 * Answer @q for @client from the cache if possible, with @ede attached.
 * @param stale  0: fresh entries only; else how many seconds past expiry are acceptable.
 * @return true when an answer was sent.
 */
bool rsv_worker_answer_from_cache(struct rsv_worker *w, const struct rsv_ruleset *rs,
				  const struct rsv_query *q, struct rsv_client *client,
				  uint32_t stale);

/** The blocklists in force; only between rsv_worker_online() and the end of the callback. */
static inline struct rsv_lists *rsv_worker_lists(struct rsv_worker *w)
{
	return rcu_dereference(w->server->lists);
}

/**
 * Check the answer section of @msg against @lists: CNAME and DNAME targets against the names,
 * A and AAAA addresses against the RPZ IP triggers.
 * @return true, with the decision in @out, when one of them is blocked.
 */
bool rsv_worker_check_answer(const struct rsv_lists *lists, const uint8_t *msg, size_t len,
			     struct pol_decision *out);

/**
 * Answer @q as blocked by @d (BLOCK: synthesised answer with EDE; DROP: no answer) and count
 * it. @via_target: the decision is about the answer (a CNAME/DNAME target or an address), not
 * the query name.
 */
void rsv_worker_answer_blocked(struct rsv_worker *w, const struct rsv_ruleset *rs,
			       const struct rsv_lists *lists, const struct rsv_query *q,
			       struct rsv_client *client, const struct pol_decision *d,
			       bool via_target);

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
