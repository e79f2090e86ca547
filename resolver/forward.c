/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Forwarding to upstream resolvers, with retries, TCP fallback and health (see forward.h). */
#include "resolver/forward.h"

#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/assert.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/rand.h"
#include "resolver/cache.h"
#include "resolver/iter.h"

#define MAX_TRIES 4
#define UPSTREAM_UDP_SIZE 1232
#define QUERY_MAX (RSV_HDR_LEN + RSV_MAX_NAME + 4 + 11)
/* Clients that may wait on one upstream query for the same question (coalescing). */
#define MAX_WAITERS 64

/* One try's socket. Allocated per try so a new try never waits for the old handle to close;
 * @req is cleared when the request moves on, and the socket frees itself in its close callback. */
struct up_sock {
	union {
		uv_handle_t handle;
		uv_udp_t udp;
		uv_tcp_t tcp;
	} h;
	bool is_tcp;
	struct rsv_request *req;
	uv_connect_t connect;
	uv_write_t write;
	uint8_t wbuf[2 + QUERY_MAX];
	uint8_t *rbuf; /**< TCP: the answer being read (2-byte length + message) */
	size_t rlen;
};

/* A client asking the same question as a request already waiting for an upstream. */
struct waiter {
	struct waiter *next;
	struct rsv_client client;
	struct rsv_query q;	 /**< its own ID, case, EDNS size */
	struct rsv_chain *chain; /**< owned: the client's query of a rewrite, or NULL */
};

struct rsv_request {
	struct rsv_worker *w;
	struct rsv_client client;
	struct rsv_query q;
	struct rsv_chain *chain;   /**< owned: the client's query of a rewrite, or NULL */
	uint64_t key_hash;	   /**< cache key hash of the question: the coalescing key */
	uint8_t key_flags;	   /**< RSV_CACHE_F_* of the question */
	struct rsv_request *hnext; /**< next in the worker's inflight bucket */
	struct waiter *waiters;	   /**< coalesced clients, answered with the same upstream answer */
	unsigned n_waiters;
	uv_timer_t timer; /**< per-try timeout; the request is freed in its close callback */
	struct up_sock *sock;
	unsigned upstream; /**< index into server->upstreams of the current try */
	uint16_t id;	   /**< query ID of the current try */
	uint64_t sent_ms;
	unsigned tries;
	uint64_t tried; /**< bitmask of upstream indexes tried */
	uint8_t query[QUERY_MAX];
	size_t query_len;
	bool finished;
	struct rsv_iter *iter;		 /**< recursive mode: the resolution in progress */
	struct rsv_request *prev, *next; /**< worker's list */
};

bool rsv_upstream_is_up(const struct rsv_upstream *u, uint64_t now_ms)
{
	uint64_t dead = atomic_load_explicit(&u->dead_until_ms, memory_order_relaxed);
	return dead == 0 || dead <= now_ms;
}

/* ---- health ----------------------------------------------------------------------------- */

static void upstream_ok(struct rsv_upstream *u, uint64_t rtt_ms)
{
	uint32_t rtt_us = (uint32_t)(rtt_ms * 1000 + 500);
	uint32_t old = atomic_load_explicit(&u->srtt_us, memory_order_relaxed);
	atomic_store_explicit(&u->srtt_us, old ? (old * 7 + rtt_us) / 8 : rtt_us,
			      memory_order_relaxed);
	atomic_store_explicit(&u->fails, 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&u->answered, 1, memory_order_relaxed);
	if (atomic_exchange(&u->dead_until_ms, 0) != 0) {
		atomic_store(&u->backoff_ms, RSV_UPSTREAM_BACKOFF_MIN_MS);
		core_log_notice("rsv", "forwarder '%s' is up again", u->addr.text);
	}
}

static void upstream_failed(struct rsv_upstream *u, uint64_t now_ms)
{
	uint32_t fails = atomic_fetch_add(&u->fails, 1) + 1;
	if (fails < RSV_UPSTREAM_DEAD_AFTER)
		return;
	uint32_t backoff = atomic_load(&u->backoff_ms);
	if (backoff < RSV_UPSTREAM_BACKOFF_MIN_MS)
		backoff = RSV_UPSTREAM_BACKOFF_MIN_MS;
	uint64_t was = atomic_exchange(&u->dead_until_ms, now_ms + backoff);
	uint32_t next = backoff * 2 > RSV_UPSTREAM_BACKOFF_MAX_MS ? RSV_UPSTREAM_BACKOFF_MAX_MS :
								    backoff * 2;
	atomic_store(&u->backoff_ms, next);
	if (was == 0)
		core_log_warn("rsv",
			      "forwarder '%s' is down after %u failures; probing again in %u ms",
			      u->addr.text, fails, backoff);
}

/*
 * Choose the upstream for the next try: the first forwarder (in config order) not tried yet that
 * is up, then a down one whose back-off has passed (claimed by pushing its deadline, so only one
 * query probes it), and for a second try a forwarder already tried that is up. Config order is
 * kept even after a failure, so a forwarder that keeps failing reaches the "down" threshold and
 * is then skipped. Returns an index into server->upstreams, or -1.
 */
static int choose_upstream(struct rsv_request *req, const struct rsv_ruleset *rs, uint64_t now)
{
	struct rsv_server *s = req->w->server;
	for (int pass = 0; pass < 3; pass++) {
		for (unsigned i = 0; i < rs->n_forwarders; i++) {
			unsigned idx = rs->forwarders[i];
			struct rsv_upstream *u = &s->upstreams[idx];
			bool tried = req->tried & (1ull << idx);
			uint64_t dead =
				atomic_load_explicit(&u->dead_until_ms, memory_order_relaxed);
			switch (pass) {
			case 0:
				if (!tried && dead == 0)
					return (int)idx;
				break;
			case 1:
				if (!tried && dead != 0 && dead <= now &&
				    atomic_compare_exchange_strong(
					    &u->dead_until_ms, &dead,
					    now + atomic_load(&u->backoff_ms)))
					return (int)idx;
				break;
			default:
				if (tried && dead == 0 && req->tries < 2)
					return (int)idx;
				break;
			}
		}
	}
	return -1;
}

/* ---- request lifetime ------------------------------------------------------------------- */

static struct rsv_request **bucket_of(struct rsv_worker *w, uint64_t hash)
{
	return &w->inflight[hash % RSV_INFLIGHT_BUCKETS];
}

/* The request of @w already asking @q's question upstream, or NULL. */
static struct rsv_request *find_inflight(struct rsv_worker *w, const struct rsv_query *q,
					 uint64_t hash, uint8_t flags)
{
	for (struct rsv_request *r = *bucket_of(w, hash); r; r = r->hnext) {
		if (r->key_hash == hash && r->key_flags == flags && r->q.qtype == q->qtype &&
		    r->q.qclass == q->qclass && r->q.qname_len == q->qname_len &&
		    memcmp(r->q.qname, q->qname, q->qname_len) == 0)
			return r;
	}
	return NULL;
}

static void unlink_inflight(struct rsv_request *req)
{
	for (struct rsv_request **p = bucket_of(req->w, req->key_hash); *p; p = &(*p)->hnext) {
		if (*p == req) {
			*p = req->hnext;
			return;
		}
	}
}

static void sock_close_cb(uv_handle_t *h)
{
	struct up_sock *sk = h->data;
	if (sk->req)
		sk->req->sock = NULL;
	core_free(sk->rbuf);
	core_free(sk);
}

static void drop_sock(struct rsv_request *req)
{
	struct up_sock *sk = req->sock;
	if (!sk)
		return;
	req->sock = NULL;
	sk->req = NULL;
	if (!uv_is_closing(&sk->h.handle))
		uv_close(&sk->h.handle, sock_close_cb);
}

static void request_close_cb(uv_handle_t *h)
{
	struct rsv_request *req = h->data;
	core_free(req);
}

/* End @req: the client has been answered (or abandoned). */
static void request_finish(struct rsv_request *req)
{
	struct rsv_worker *w = req->w;
	if (req->finished)
		return;
	req->finished = true;
	rsv_iter_cancel(req->iter);
	req->iter = NULL;
	drop_sock(req);
	unlink_inflight(req);
	rsv_worker_client_release(w, &req->client);
	req->chain = core_free(req->chain);
	while (req->waiters) {
		struct waiter *wt = req->waiters;
		req->waiters = wt->next;
		rsv_worker_client_release(w, &wt->client);
		core_free(wt->chain);
		core_free(wt);
	}
	if (req->prev)
		req->prev->next = req->next;
	else
		w->requests = req->next;
	if (req->next)
		req->next->prev = req->prev;
	w->pending--;
	uv_close((uv_handle_t *)&req->timer, request_close_cb);
}

/* A stale answer for @q if the cache has one, else SERVFAIL (to @chain's query, when set). */
static void fail_one(struct rsv_worker *w, const struct rsv_ruleset *rs, const struct rsv_query *q,
		     const struct rsv_chain *chain, struct rsv_client *client, enum rsv_ede ede,
		     const char *why)
{
	uint32_t stale = rs->cfg->server.serve_stale_s;
	if (chain) {
		q = &chain->q;
		stale = 0;
	}
	if (stale == 0 || !rsv_worker_answer_from_cache(w, rs, NULL, q, client, stale)) {
		cmpl_count(w->counters, CMPL_SERVFAIL);
		rsv_worker_answer_error(w, rs, q, client, RSV_RCODE_SERVFAIL, ede, why);
	}
}

/* Every try failed (@ede, @why for its text): answer the client and every waiter. */
static void request_fail_why(struct rsv_request *req, enum rsv_ede ede, const char *why)
{
	struct rsv_worker *w = req->w;
	rsv_worker_online(w);
	const struct rsv_ruleset *rs = rsv_worker_ruleset(w);
	fail_one(w, rs, &req->q, req->chain, &req->client, ede, why);
	for (struct waiter *wt = req->waiters; wt; wt = wt->next)
		fail_one(w, rs, &wt->q, wt->chain, &wt->client, ede, why);
	request_finish(req);
}

static void request_fail(struct rsv_request *req)
{
	request_fail_why(req, RSV_EDE_NO_REACHABLE_AUTHORITY, "no forwarder answered");
}

static void next_try(struct rsv_request *req);
static void forward_tcp(struct rsv_request *req);

/* The current try failed (timeout, network error, unusable answer). */
static void try_failed(struct rsv_request *req, bool count_against_upstream)
{
	struct rsv_upstream *u = &req->w->server->upstreams[req->upstream];
	if (count_against_upstream)
		upstream_failed(u, core_clock_mono_ms());
	else
		atomic_fetch_add_explicit(&u->errors, 1, memory_order_relaxed);
	drop_sock(req);
	next_try(req);
}

/* ---- answers ---------------------------------------------------------------------------- */

static uint32_t cache_ttl(const struct rsv_scan *sc, uint32_t max_ttl)
{
	uint32_t ttl;
	if (sc->rcode == RSV_RCODE_NOERROR && sc->ancount > 0) {
		ttl = sc->min_ttl;
	} else if (sc->rcode == RSV_RCODE_NXDOMAIN || sc->rcode == RSV_RCODE_NOERROR) {
		if (!sc->has_soa)
			return 0; /* RFC 2308 §5: without an SOA, do not cache */
		ttl = sc->soa_neg_ttl < sc->min_ttl ? sc->soa_neg_ttl : sc->min_ttl;
	} else {
		return 0;
	}
	return ttl > max_ttl ? max_ttl : ttl;
}

/*
 * Answer @client from stored answer @msg (in a buffer of @size), as the policy in force now
 * decides for it: blocked when a CNAME target or an address is; chained after a CNAME when it
 * asked @chain's query (a rewrite); else as is. Drops its reference when nothing can be sent.
 */
static void answer_client(struct rsv_worker *w, const struct rsv_ruleset *rs,
			  const struct rsv_query *q, const struct rsv_chain *chain,
			  struct rsv_client *client, uint8_t *msg, size_t len, size_t size)
{
	const struct rsv_query *asked = chain ? &chain->q : q;
	struct rsv_policy_ctx ctx;
	if (!rsv_worker_policy_ctx(w, rs, asked, client, &ctx)) {
		rsv_worker_answer_refused(w, rs, asked, client); /* a reload took its network */
		return;
	}
	struct pol_verdict v;
	if (rsv_worker_check_answer(&ctx, msg, len, &v)) {
		rsv_worker_answer_blocked(w, rs, &ctx, asked, client, &v, true);
		return;
	}
	if (chain) {
		rsv_worker_answer_chain(w, rs, chain, client, q->qname, q->qname_len, msg, len);
		return;
	}
	if (ctx.query.ttl_cap_s)
		(void)rsv_wire_cap_ttls(msg, len, q, ctx.query.ttl_cap_s);
	if (!rsv_worker_answer_stored(w, rs, q, client, msg, len, size, RSV_EDE_NONE, NULL))
		rsv_worker_client_release(w, client);
}

/*
 * Upstream answer @msg (@len bytes; ID already matched) for @req. Returns false when it is not
 * an answer to this query (a stray datagram), so the caller keeps waiting.
 */
static void deliver(struct rsv_request *req, const uint8_t *msg, size_t len, struct rsv_scan *sc);

static bool handle_answer(struct rsv_request *req, const uint8_t *msg, size_t len, bool via_tcp)
{
	struct rsv_worker *w = req->w;
	struct rsv_scan *sc = core_malloc(sizeof(*sc));
	if (!sc) {
		try_failed(req, false);
		return true;
	}
	int r = rsv_wire_scan_response(msg, len, &req->q, sc);
	if (r == CORE_EPROTO) {
		core_free(sc);
		return false;
	}
	struct rsv_upstream *u = &w->server->upstreams[req->upstream];
	if (r != 0) {
		core_log_debug("rsv", "malformed answer from '%s'", u->addr.text);
		core_free(sc);
		try_failed(req, false);
		return true;
	}
	uv_timer_stop(&req->timer);
	if ((sc->flags & RSV_FLAG_TC) && !via_tcp) {
		core_free(sc);
		upstream_ok(u, core_clock_mono_ms() - req->sent_ms);
		drop_sock(req);
		forward_tcp(req); /* same upstream over TCP, same ID */
		return true;
	}
	if (sc->rcode != RSV_RCODE_NOERROR && sc->rcode != RSV_RCODE_NXDOMAIN) {
		/* SERVFAIL, REFUSED…: the forwarder is alive but could not help; ask another. */
		core_log_debug("rsv", "forwarder '%s' answered rcode %u", u->addr.text, sc->rcode);
		core_free(sc);
		upstream_ok(u, core_clock_mono_ms() - req->sent_ms);
		atomic_fetch_add_explicit(&u->errors, 1, memory_order_relaxed);
		drop_sock(req);
		next_try(req);
		return true;
	}
	upstream_ok(u, core_clock_mono_ms() - req->sent_ms);
	deliver(req, msg, len, sc);
	return true;
}

/* The answer @msg (scanned in @sc, freed here) for @req: cache it, answer every client. */
static void deliver(struct rsv_request *req, const uint8_t *msg, size_t len, struct rsv_scan *sc)
{
	struct rsv_worker *w = req->w;
	rsv_worker_online(w);
	const struct rsv_ruleset *rs = rsv_worker_ruleset(w);

	/* Build the stored form in the worker's scratch buffer: ID zero, without OPT. */
	uint8_t *buf = w->out_buf;
	size_t blen = len;
	size_t n_ttls = sc->n_ttls;
	memcpy(buf, msg, len);
	rsv_wire_put16(buf, 0);
	if (sc->opt_end != 0) {
		if (sc->opt_is_last) {
			blen = sc->opt_start;
			rsv_wire_put16(buf + 10, (uint16_t)(sc->arcount - 1));
		} else {
			/* Drop the whole additional section rather than move records around. */
			blen = sc->additional_start;
			rsv_wire_put16(buf + 10, 0);
			while (n_ttls > 0 && sc->ttl_offsets[n_ttls - 1] >= blen)
				n_ttls--;
		}
	}
	uint32_t ttl = cache_ttl(sc, rs->cfg->server.cache_max_ttl_s);
	/* No record may outlive its entry: TTLs above the entry's lifetime (cache_max_ttl, the
	 * negative TTL) are lowered to it, and TTLs with the high bit set read as 0 (RFC 2181). */
	for (size_t i = 0; i < n_ttls; i++) {
		uint8_t *p = buf + sc->ttl_offsets[i];
		uint32_t t = rsv_wire_get32(p);
		if (t > 0x7fffffffu)
			rsv_wire_put32(p, 0);
		else if (ttl > 0 && t > ttl)
			rsv_wire_put32(p, ttl);
	}
	if (ttl > 0 && !sc->too_many_rrs && !(sc->flags & RSV_FLAG_TC)) {
		struct rsv_cache_key key = {
			.qname = req->q.qname,
			.qname_len = req->q.qname_len,
			.qtype = req->q.qtype,
			.qclass = req->q.qclass,
			.flags = req->key_flags,
			.hash = req->key_hash,
		};
		struct rsv_cache_msg cm = {buf, blen, sc->ttl_offsets, n_ttls, ttl};
		int cr = rsv_cache_insert(w->server->cache, &key, &cm, core_clock_mono_s());
		if (cr != 0 && cr != CORE_ELIMIT)
			core_log_debug("rsv", "cache insert failed: %d", cr);
	}
	core_free(sc);
	/* The answer was cached policy-free; what each client gets depends on its group and the
	 * lists now. Waiters first, each from a copy of the stored form; the request's own
	 * client last, in place. */
	if (req->waiters) {
		uint8_t *copy = core_malloc(blen + 1024);
		for (struct waiter *wt = req->waiters; wt; wt = wt->next) {
			if (!copy) {
				fail_one(w, rs, &wt->q, wt->chain, &wt->client, RSV_EDE_OTHER,
					 "out of memory");
				continue;
			}
			memcpy(copy, buf, blen);
			answer_client(w, rs, &wt->q, wt->chain, &wt->client, copy, blen,
				      blen + 1024);
		}
		core_free(copy);
	}
	answer_client(w, rs, &req->q, req->chain, &req->client, buf, blen, sizeof(w->out_buf) - 2);
	request_finish(req);
}

/* Recursive mode: the iterator's answer (or failure) for @arg, a request. */
static void iter_done(void *arg, const uint8_t *msg, size_t len, enum rsv_ede ede, const char *why)
{
	struct rsv_request *req = arg;
	req->iter = NULL;
	if (!msg) {
		request_fail_why(req, ede, why ? why : "resolution failed");
		return;
	}
	struct rsv_scan *sc = core_malloc(sizeof(*sc));
	if (!sc || len > sizeof(req->w->out_buf) - 2 ||
	    rsv_wire_scan_response(msg, len, &req->q, sc) != 0) {
		core_free(sc);
		request_fail_why(req, RSV_EDE_OTHER, "the answer could not be used");
		return;
	}
	deliver(req, msg, len, sc);
}

/* ---- UDP -------------------------------------------------------------------------------- */

static void udp_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct up_sock *sk = h->data;
	struct rsv_worker *w = sk->req ? sk->req->w : NULL;
	if (!w) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init((char *)w->recv_buf, 65536);
}

static void udp_recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
			const struct sockaddr *addr, unsigned flags)
{
	struct up_sock *sk = h->data;
	struct rsv_request *req = sk->req;
	if (!req || nread == 0)
		return;
	if (nread < 0) {
		/* ICMP port unreachable and the like: this try failed now, not at the timeout. */
		uv_timer_stop(&req->timer);
		try_failed(req, true);
		return;
	}
	if ((size_t)nread < RSV_HDR_LEN || rsv_wire_get16((const uint8_t *)buf->base) != req->id)
		return; /* not ours: keep waiting */
	handle_answer(req, (const uint8_t *)buf->base, (size_t)nread, false);
}

static int send_udp(struct rsv_request *req, struct rsv_upstream *u)
{
	struct rsv_worker *w = req->w;
	struct up_sock *sk = core_calloc(1, sizeof(*sk));
	if (!sk)
		return -ENOMEM;
	/* A connected socket gets ICMP errors (port unreachable) as read errors. */
	int r = uv_udp_init_ex(&w->loop, &sk->h.udp, u->addr.ss.ss_family);
	if (r != 0) {
		core_free(sk);
		return r;
	}
	sk->h.handle.data = sk;
	sk->req = req;
	req->sock = sk;
	r = uv_udp_connect(&sk->h.udp, (const struct sockaddr *)&u->addr.ss);
	if (r == 0)
		r = uv_udp_recv_start(&sk->h.udp, udp_alloc_cb, udp_recv_cb);
	if (r == 0) {
		uv_buf_t b = uv_buf_init((char *)req->query, (unsigned)req->query_len);
		r = uv_udp_try_send(&sk->h.udp, &b, 1, NULL);
		if (r > 0)
			r = 0;
	}
	return r;
}

/* ---- TCP -------------------------------------------------------------------------------- */

static void tcp_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct up_sock *sk = h->data;
	if (!sk->rbuf) {
		sk->rbuf = core_malloc(2 + RSV_MAX_MSG);
		if (!sk->rbuf) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
	}
	size_t need = sk->rlen < 2 ? 2 + RSV_MAX_MSG : 2 + (size_t)rsv_wire_get16(sk->rbuf);
	*buf = uv_buf_init((char *)sk->rbuf + sk->rlen, (unsigned)(need - sk->rlen));
}

static void tcp_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct up_sock *sk = s->data;
	struct rsv_request *req = sk->req;
	if (!req)
		return;
	if (nread < 0) {
		uv_timer_stop(&req->timer);
		try_failed(req, true);
		return;
	}
	sk->rlen += (size_t)nread;
	if (sk->rlen < 2)
		return;
	size_t mlen = rsv_wire_get16(sk->rbuf);
	if (sk->rlen < 2 + mlen)
		return;
	if (mlen < RSV_HDR_LEN || rsv_wire_get16(sk->rbuf + 2) != req->id ||
	    !handle_answer(req, sk->rbuf + 2, mlen, true)) {
		uv_timer_stop(&req->timer);
		try_failed(req, false);
	}
}

static void tcp_write_cb(uv_write_t *wr, int status)
{
	struct up_sock *sk = wr->data;
	if (status < 0 && sk->req) {
		uv_timer_stop(&sk->req->timer);
		try_failed(sk->req, true);
	}
}

static void tcp_connect_cb(uv_connect_t *c, int status)
{
	struct up_sock *sk = c->data;
	struct rsv_request *req = sk->req;
	if (!req)
		return;
	if (status < 0) {
		uv_timer_stop(&req->timer);
		try_failed(req, true);
		return;
	}
	rsv_wire_put16(sk->wbuf, (uint16_t)req->query_len);
	memcpy(sk->wbuf + 2, req->query, req->query_len);
	uv_buf_t b = uv_buf_init((char *)sk->wbuf, (unsigned)(req->query_len + 2));
	sk->write.data = sk;
	if (uv_write(&sk->write, (uv_stream_t *)&sk->h.tcp, &b, 1, tcp_write_cb) != 0 ||
	    uv_read_start((uv_stream_t *)&sk->h.tcp, tcp_alloc_cb, tcp_read_cb) != 0) {
		uv_timer_stop(&req->timer);
		try_failed(req, true);
	}
}

static void timeout_cb(uv_timer_t *t);

static void forward_tcp(struct rsv_request *req)
{
	struct rsv_worker *w = req->w;
	struct rsv_upstream *u = &w->server->upstreams[req->upstream];
	struct up_sock *sk = core_calloc(1, sizeof(*sk));
	if (!sk) {
		next_try(req);
		return;
	}
	sk->is_tcp = true;
	uv_tcp_init(&w->loop, &sk->h.tcp);
	sk->h.handle.data = sk;
	sk->req = req;
	req->sock = sk;
	sk->connect.data = sk;
	req->sent_ms = core_clock_mono_ms();
	int r = uv_tcp_connect(&sk->connect, &sk->h.tcp, (const struct sockaddr *)&u->addr.ss,
			       tcp_connect_cb);
	if (r != 0) {
		try_failed(req, true);
		return;
	}
	rsv_worker_online(w);
	uv_timer_start(&req->timer, timeout_cb,
		       rsv_worker_ruleset(w)->cfg->server.upstream_timeout_ms, 0);
}

/* ---- tries ------------------------------------------------------------------------------ */

static void timeout_cb(uv_timer_t *t)
{
	struct rsv_request *req = t->data;
	cmpl_count(req->w->counters, CMPL_UPSTREAM_TIMEOUTS);
	atomic_fetch_add_explicit(&req->w->server->upstreams[req->upstream].timeouts, 1,
				  memory_order_relaxed);
	try_failed(req, true);
}

static void next_try(struct rsv_request *req)
{
	struct rsv_worker *w = req->w;
	rsv_worker_online(w);
	const struct rsv_ruleset *rs = rsv_worker_ruleset(w);
	uint64_t now = core_clock_mono_ms();
	while (req->tries < MAX_TRIES) {
		int idx = choose_upstream(req, rs, now);
		if (idx < 0)
			break;
		struct rsv_upstream *u = &w->server->upstreams[idx];
		req->tries++;
		req->tried |= 1ull << idx;
		req->upstream = (unsigned)idx;
		req->id = (uint16_t)core_rand_u32();
		rsv_wire_put16(req->query, req->id);
		req->sent_ms = now;
		cmpl_count(w->counters, CMPL_UPSTREAM_QUERIES);
		atomic_fetch_add_explicit(&u->sent, 1, memory_order_relaxed);
		int r = send_udp(req, u);
		if (r == 0) {
			uv_timer_start(&req->timer, timeout_cb, rs->cfg->server.upstream_timeout_ms,
				       0);
			return;
		}
		core_log_debug("rsv", "cannot send to '%s': %s", u->addr.text, uv_strerror(r));
		upstream_failed(u, now);
		drop_sock(req);
	}
	request_fail(req);
}

/* A copy of @chain, or NULL (also when out of memory: *@failed is then set). */
static struct rsv_chain *chain_dup(const struct rsv_chain *chain, bool *failed)
{
	if (!chain)
		return NULL;
	struct rsv_chain *copy = core_malloc(sizeof(*copy));
	if (!copy)
		*failed = true;
	else
		*copy = *chain;
	return copy;
}

void rsv_forward_start(struct rsv_worker *w, const struct rsv_ruleset *rs,
		       const struct rsv_query *q, const struct rsv_chain *chain,
		       const struct rsv_client *client)
{
	struct rsv_cache_key key;
	rsv_worker_cache_key(w, q, &key);
	struct rsv_request *same = find_inflight(w, q, key.hash, key.flags);
	bool failed = false;
	if (same && same->n_waiters < MAX_WAITERS) {
		struct waiter *wt = core_malloc(sizeof(*wt));
		if (wt)
			wt->chain = chain_dup(chain, &failed);
		if (wt && !failed) {
			wt->client = *client;
			wt->q = *q;
			wt->next = same->waiters;
			same->waiters = wt;
			same->n_waiters++;
			return;
		}
		core_free(wt);
		failed = false;
	}
	struct rsv_request *req = core_calloc(1, sizeof(*req));
	if (req)
		req->chain = chain_dup(chain, &failed);
	if (!req || failed) {
		core_free(req);
		struct rsv_client c = *client;
		rsv_worker_answer_error(w, rs, chain ? &chain->q : q, &c, RSV_RCODE_SERVFAIL,
					RSV_EDE_OTHER, "out of memory");
		return;
	}
	req->w = w;
	req->client = *client;
	req->q = *q;
	req->key_hash = key.hash;
	req->key_flags = key.flags;
	if (!same) {
		struct rsv_request **b = bucket_of(w, key.hash);
		req->hnext = *b;
		*b = req;
	}
	req->query_len =
		rsv_wire_write_query(q, 0, UPSTREAM_UDP_SIZE, req->query, sizeof(req->query));
	uv_timer_init(&w->loop, &req->timer);
	req->timer.data = req;
	req->next = w->requests;
	if (w->requests)
		w->requests->prev = req;
	w->requests = req;
	w->pending++;
	if (req->query_len == 0) {
		request_fail(req);
		return;
	}
	if (rs->cfg->server.mode == CFG_MODE_RECURSIVE) {
		if (rsv_iter_start(w, q, iter_done, req, &req->iter) != 0)
			request_fail_why(req, RSV_EDE_OTHER, "out of memory");
		return;
	}
	next_try(req);
}

void rsv_forward_abort_all(struct rsv_worker *w)
{
	while (w->requests)
		request_finish(w->requests);
}
