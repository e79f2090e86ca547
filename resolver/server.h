/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's shared state and its threads.
 *
 * Glossary:
 *  - server: everything one lanhmanhd process runs; owns the workers, the cache, the upstream
 *    registry and the control thread (which is the main thread).
 *  - worker: a thread with its own uv loop, its own SO_REUSEPORT UDP and TCP sockets on every
 *    listen address, its own upstream sockets and counters. Nothing of a worker is touched by
 *    another thread, except its counters (read) and its wake-up async (sent).
 *  - ruleset: everything derived from one config (networks, forwarders, limits), immutable,
 *    published with RCU (liburcu QSBR). Workers read it inside a callback and never keep a
 *    pointer to it across loop iterations; a worker is an RCU reader "online" from its first
 *    callback of a loop iteration until its uv_prepare, where it goes offline before blocking in
 *    poll. Note that libuv runs I/O callbacks inside the poll phase, so going online only in
 *    uv_check (after poll) would not be enough: each entry point calls rsv_worker_online().
 *  - upstream: one forwarder address with its health (smoothed RTT, consecutive failures, dead
 *    until when). Kept in a registry that only grows and lives as long as the server, so pending
 *    queries can hold an index across reloads; fields are atomics shared by all workers.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "blocklists/xfr.h"
#include "compliance/counters.h"
#include "compliance/tally.h"
#include "config/config.h"
#include "policy/policy.h"

#define RSV_MAX_UPSTREAMS 64
#define RSV_MAX_LISTEN 32
#define RSV_RECV_BATCH 32 /**< datagrams per recvmmsg/sendmmsg call */
#define RSV_INFLIGHT_BUCKETS 1024 /**< per-worker table of requests waiting for an upstream */

struct rsv_cache;
struct rsv_server;

/** One forwarder and its health. Shared by all workers; every field after addr is atomic. */
struct rsv_upstream {
	struct cfg_addr addr;
	_Atomic uint32_t srtt_us; /**< smoothed RTT, 0 until measured */
	_Atomic uint32_t fails; /**< consecutive failures */
	_Atomic uint64_t dead_until_ms; /**< monotonic; 0 when alive */
	_Atomic uint32_t backoff_ms; /**< next dead period */
	_Atomic uint64_t sent, answered, timeouts, errors;
};

/** A zone whose primary may NOTIFY us (a `lists:` entry with `rpz_primary`). */
struct rsv_notify_zone {
	struct bl_xfr_params params;
	struct bl_tsig tsig; /**< params.tsig points here when the list has a key */
};

#define RSV_NOTIFY_QUEUE 16

/** Everything derived from one config. Immutable once published; freed after a grace period
 * and once the control thread's background jobs that hold a reference are done. */
struct rsv_ruleset {
	_Atomic unsigned refs; /**< the published pointer holds one; a lists job holds one */
	struct cfg_root *cfg; /**< owned */
	struct pol_policy *policy; /**< owned: networks, groups, schedules, safe search */
	uint8_t forwarders[RSV_MAX_UPSTREAMS]; /**< indexes into server->upstreams, in order */
	unsigned n_forwarders;
	/** The synced lists' primaries, for checking NOTIFY messages in the workers. */
	struct rsv_notify_zone *notify;
	size_t n_notify;
	uint64_t generation; /**< 1 for the first config, +1 per reload */
	struct rsv_roots *roots; /**< recursive mode: the root servers (owned), else NULL */
	struct ldns_struct_rr_list *anchor; /**< recursive with dnssec: the trust anchor (owned) */
	int64_t loaded_at; /**< wall clock seconds */
};

struct rsv_worker;
struct rsv_roots;
struct rsv_iter_worker;
struct udp_out;

/**
 * A UDP listening socket of one worker. The socket is read with our own recvmmsg loop (libuv's
 * reads until EAGAIN, one wasted system call per wake-up) and answered with sendmmsg; answers
 * the kernel cannot take yet wait in a bounded queue sent when the socket is writable.
 */
struct rsv_udp_listener {
	uv_poll_t poll;
	int fd; /**< owned; closed when the worker ends */
	struct rsv_worker *w;
	struct udp_out *queue_head, *queue_tail; /**< answers waiting for room, oldest first */
	unsigned queued;
	const struct cfg_addr *addr;
};

struct rsv_tcp_conn;
struct rsv_request;
struct rsv_lists;
struct rsv_blockpage;
struct rsv_udp_batch;
struct rsv_sync;
struct cmpl_metrics;
struct rsv_metrics_state;
struct cmpl_dnstap;

/** The whole daemon. */
struct rsv_server {
	struct rsv_ruleset *ruleset; /**< RCU-protected: rcu_dereference() it */
	struct rsv_lists *lists; /**< RCU-protected, published on its own (resolver/lists.h) */
	struct rsv_cache *cache;
	struct rsv_upstream upstreams[RSV_MAX_UPSTREAMS];
	_Atomic unsigned n_upstreams; /**< only the control thread appends */
	struct rsv_worker *workers;
	unsigned n_workers;
	struct cmpl_counters *counters; /**< one per worker */
	/** Compliance tallies, [epoch][worker]; NULL without `compliance:` (resolver/stats.h). */
	struct cmpl_tally *tally[2];
	_Atomic unsigned tally_epoch; /**< the workers count in tally[tally_epoch & 1] */
	struct rsv_stats *stats; /**< control thread */
	/** Blocked queries for the local log, one ring per worker; NULL when query_log is off. */
	struct cmpl_qlog_ring *qlog;
	uint64_t lists_generation; /**< of the last lists published (control thread) */
	_Atomic unsigned tcp_conns; /**< client TCP connections open, all workers */
	/* Fixed at start (restart to change): */
	struct cfg_addr listen[RSV_MAX_LISTEN];
	unsigned n_listen;
	uint64_t started_ms;
	int64_t started_wall;
	char *config_path;
	/* Control thread only: */
	uv_loop_t *ctl_loop;
	/** Readers outside the workers (the block page's HTTP threads) are not RCU readers: they
	 * read ruleset and lists under this lock, which publication takes around the swap. */
	pthread_mutex_t outside_lock;
	/** Compiling the lists writes the snapshot and the last good copies: one compile at a
	 * time (the background compile after a start, a reload's compile). */
	pthread_mutex_t build_lock;
	struct rsv_blockpage *blockpage; /**< NULL without sinkhole.block_page */
	struct rsv_sync *sync; /**< lists synced by zone transfer (control thread) */
	/** The /metrics listener (compliance.metrics), NULL when off, and what its render reads
	 * besides the server (resolver/metrics.h). Started, restarted and stopped by the control
	 * thread; the render runs on the listener's own thread. */
	struct cmpl_metrics *metrics;
	struct rsv_metrics_state *metrics_state;
	_Atomic uint64_t reload_failures; /**< reloads refused since start (control thread writes) */
	/** compliance.dnstap, NULL when off. Set before the workers start and closed after they
	 * ended (restart to change the socket); worker i writes to its queue i only. */
	struct cmpl_dnstap *dnstap;
	char *dnstap_socket; /**< the socket @dnstap writes to, owned; NULL when off */
	/** NOTIFYs accepted by workers, for the control thread (zone names, absolute). */
	pthread_mutex_t notify_lock;
	char notify_queue[RSV_NOTIFY_QUEUE][256];
	unsigned n_notify_queued;
	uv_async_t notify_async;
};

/** A worker thread. Owned by the server; touched only by its own thread once started. */
struct rsv_worker {
	struct rsv_server *server;
	unsigned index;
	pthread_t thread;
	uv_loop_t loop;
	uv_async_t wakeup; /**< stop requests from the control thread */
	atomic_bool stop;
	uv_prepare_t rcu_prepare;
	bool rcu_online;
	struct rsv_udp_listener udp[RSV_MAX_LISTEN];
	uv_tcp_t tcp[RSV_MAX_LISTEN];
	unsigned n_udp, n_tcp;
	uint8_t *recv_buf; /**< 64 KiB read buffer (TCP, upstream answers), reused per callback */
	uint8_t out_buf[65536 + 2]; /**< answer scratch, valid during one callback */
	uint8_t *chain_buf; /**< RSV_CHAIN_BUF bytes: rewritten answers, valid during one callback */
	int64_t mow_minute; /**< UTC minute of @mow; -1 before the first */
	uint64_t mow_generation; /**< ruleset generation of @mow */
	unsigned mow; /**< local minute of the week, for schedules */
	uint32_t audit_log_second; /**< audit log lines: the second counted, and lines in it */
	unsigned audit_logged;
	uint32_t notify_log_second; /**< refused NOTIFYs: the second counted, and lines in it */
	unsigned notify_logged;
	struct rsv_udp_batch *batch; /**< UDP queries and answers of one recvmmsg batch */
	struct cmpl_counters *counters; /**< this worker's slot in server->counters */
	struct rsv_iter_worker *iter; /**< recursive mode: server RTTs (resolver/iter.c) */
	unsigned pending; /**< requests waiting for an upstream */
	struct rsv_tcp_conn *conns; /**< open client connections (worker.c) */
	struct rsv_request *requests; /**< requests waiting for an upstream (forward.c) */
	struct rsv_request *inflight[RSV_INFLIGHT_BUCKETS]; /**< the same, by question hash */
	int start_error; /**< set by the thread when listening failed */
	uv_sem_t started;
};

/** Drop a reference to @rs; the last one frees it (NULL is fine). Control thread. */
void rsv_ruleset_unref(struct rsv_ruleset *rs);

/**
 * Run the daemon with @cfg (takes ownership) loaded from @config_path until SIGTERM/SIGINT.
 * Runs on the calling thread, which becomes the control thread.
 * @return 0 after a clean stop, or a negative error when it could not start.
 */
int rsv_server_run(const char *config_path, struct cfg_root *cfg);

/** Send @state to the service manager (sd_notify protocol); no-op without $NOTIFY_SOCKET. */
void rsv_notify(const char *state);
