/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's Prometheus metrics (`compliance.metrics`): what GET /metrics shows, rendered from
 * the server's state on the listener's thread (compliance/metrics.h serves the HTTP side). The
 * metrics themselves are documented in compliance/README.md.
 *
 * What the render reads, and how it stays thread-safe (it runs on libmicrohttpd's thread, which
 * is neither a worker nor an RCU reader):
 *  - per-worker counters, upstream health, tcp_conns: atomics, read relaxed;
 *  - the cache's statistics: under its shard locks (rsv_cache_get_stats());
 *  - the ruleset and the lists in force: under server->outside_lock, which publication takes
 *    around each swap (as the block page does);
 *  - the synced lists' versions and alerts (resolver/sync.c, control thread only): a copy that
 *    the control thread refreshes with rsv_metrics_update() at every one-second tick, after a
 *    synced list changed version and after a reload, under the copy's own lock. At most a
 *    second old. Lock order: outside_lock, then the copy's lock; the control thread takes the
 *    copy's lock alone.
 */
#pragma once

#include "config/config.h"
#include "core/buf.h"

struct rsv_server;

/**
 * Start, restart (the address changed) or stop the /metrics listener as @cfg says. At start a
 * failure is fatal to the caller; on reload the previous address is served again when the new
 * one fails. Control thread.
 * @param report  also receives the error, for `lanhmanh reload` (may be NULL)
 * @return 0, or the error of cmpl_metrics_start() (logged here, naming the address).
 */
int rsv_metrics_apply_cfg(struct rsv_server *s, const struct cfg_root *cfg,
			  struct core_buf *report);

/** Refresh the copy of the synced lists' state the render reads. Control thread; a no-op while
 * the metrics are off. */
void rsv_metrics_update(struct rsv_server *s);

/** Stop the listener and free the metrics' state (a no-op when off). Control thread; call it
 * before anything the render reads is freed. */
void rsv_metrics_stop(struct rsv_server *s);

/**
 * Extension point for the export module (spool, batches to the authority): append its families
 * to @out with the cmpl_metrics_* writers (compliance/metrics.h). Called at each scrape on the
 * listener's thread, after every other family and outside every lock of the server, so it must
 * read its own state thread-safely. A line that does not fit is dropped whole.
 *
 * resolver/metrics.c holds an empty weak placeholder until the export module defines it.
 */
void rsv_metrics_render_export(const struct rsv_server *s, struct core_buf *out);
