/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Forwarding a query to `server.forwarders`: a fresh UDP socket per try (random source port
 * chosen by the kernel, connected, so only the upstream's address and port are accepted), a
 * random query ID, answers matched on ID and question; on timeout the next forwarder is tried,
 * TC=1 answers are fetched again over TCP. Upstream health: consecutive timeouts make a
 * forwarder "down" for a back-off period (doubling, capped), after which one query probes it.
 * When every try fails the answer is a stale cache entry (RFC 8767) or SERVFAIL with EDE 22.
 */
#pragma once

#include "resolver/worker.h"

/**
 * Forward @q for @client on worker @w. Takes over @client's reference (it is released when the
 * answer is sent or the request abandoned). Must run inside a worker callback.
 * @param chain  NULL, or the client's own query when @q is the target of a rewrite: the client
 *               then gets "@chain->q CNAME @q's name" plus the answer to @q
 *               (rsv_worker_answer_chain()).
 */
void rsv_forward_start(struct rsv_worker *w, const struct rsv_ruleset *rs,
		       const struct rsv_query *q, const struct rsv_chain *chain,
		       const struct rsv_client *client);

/** Abandon every request of @w (shutdown): close their sockets, drop their clients. */
void rsv_forward_abort_all(struct rsv_worker *w);

/** Health thresholds. */
#define RSV_UPSTREAM_DEAD_AFTER 3 /**< consecutive failures that mark a forwarder down */
#define RSV_UPSTREAM_BACKOFF_MIN_MS 1000
#define RSV_UPSTREAM_BACKOFF_MAX_MS 60000

/** True when @u is considered up at monotonic time @now_ms. */
bool rsv_upstream_is_up(const struct rsv_upstream *u, uint64_t now_ms);
