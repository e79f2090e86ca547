/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Worker threads: listeners, the query pipeline, answers (see worker.h). */
#include "resolver/worker.h"

#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "compliance/dnstap.h"
#include "core/alloc.h"
#include "core/assert.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "resolver/cache.h"
#include "resolver/forward.h"
#include "resolver/iter.h"
#include "compliance/qlog.h"
#include "resolver/stats.h"
#include "resolver/synth.h"

#define UDP_CHUNK (64 * 1024) /* read buffer for TCP and upstream answers */
#define TCP_MAX_INFLIGHT 64 /* per connection; reading pauses above it */
#define TCP_MAX_UNSENT (256 * 1024) /* bytes of answers a client has not read; reading pauses */
#define TCP_FRAME_MAX (2 + 65535)

/* A client TCP connection. Freed when the handle and timer are closed and no request or
 * write refers to it any more (refs). */
struct rsv_tcp_conn {
	uv_tcp_t handle;
	uv_timer_t idle;
	struct rsv_worker *w;
	unsigned refs; /**< open handles + requests in flight + writes pending */
	unsigned inflight; /**< queries not answered yet */
	bool closing;
	bool reading;
	uint8_t *partial; /**< bytes of an incomplete frame, grown up to TCP_FRAME_MAX */
	size_t plen, pcap;
	uint32_t idle_ms;
	struct sockaddr_storage peer; /**< the client, read once at accept */
	const struct cfg_addr *local; /**< the listen address it came in on (server->listen) */
	size_t idle_unsent; /**< answer bytes not taken by the client at the last idle tick */
	struct rsv_tcp_conn *prev, *next; /**< worker's list of open connections */
};

struct tcp_write {
	uv_write_t req;
	struct rsv_tcp_conn *conn;
	uint8_t data[];
};

/* An answer waiting for room in a UDP socket's send buffer. */
struct udp_out {
	struct udp_out *next;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	size_t len;
	uint8_t data[];
};

#define UDP_QUEUE_MAX 4096 /* answers per listener; beyond it answers are dropped (counted) */
#define UDP_SLOT 4096 /* largest UDP query read and UDP answer batched (edns_buffer_size max) */
#define UDP_READ_ROUNDS 4 /* full batches read per wake-up before other sockets get a turn */

/*
 * One recvmmsg batch: the queries read and the answers gathered for them, sent with one
 * sendmmsg when the batch has been handled. Answers sent outside a batch (after an upstream
 * reply) and answers larger than a slot go out at once.
 */
struct rsv_udp_batch {
	struct mmsghdr in_msgs[RSV_RECV_BATCH];
	struct iovec in_iov[RSV_RECV_BATCH];
	struct sockaddr_storage in_addrs[RSV_RECV_BATCH];
	uint8_t in_data[RSV_RECV_BATCH][UDP_SLOT];
	struct rsv_udp_listener *listener; /**< batch in progress, NULL when none */
	unsigned n;
	struct mmsghdr msgs[RSV_RECV_BATCH];
	struct iovec iov[RSV_RECV_BATCH];
	struct sockaddr_storage addrs[RSV_RECV_BATCH];
	uint8_t data[RSV_RECV_BATCH][UDP_SLOT];
};

static socklen_t sockaddr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void conn_unref(struct rsv_tcp_conn *c)
{
	if (core_fails_assert(c->refs > 0))
		return;
	if (--c->refs == 0) {
		core_free(c->partial);
		core_free(c);
	}
}

static void conn_close_cb(uv_handle_t *h)
{
	conn_unref(h->data);
}

static void conn_close(struct rsv_tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	atomic_fetch_sub(&c->w->server->tcp_conns, 1);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_close((uv_handle_t *)&c->handle, conn_close_cb);
	uv_close((uv_handle_t *)&c->idle, conn_close_cb);
}

static void conn_touch(struct rsv_tcp_conn *c)
{
	if (!c->closing)
		uv_timer_again(&c->idle);
}

/* ---- dnstap ----------------------------------------------------------------------------- */

/* The address @client's query came in on: its listener's (0.0.0.0 or :: for a wildcard one). */
static const struct sockaddr *client_local(const struct rsv_client *client)
{
	if (client->udp)
		return (const struct sockaddr *)&client->udp->addr->ss;
	if (client->conn && client->conn->local)
		return (const struct sockaddr *)&client->conn->local->ss;
	return NULL;
}

/*
 * Hand a client's query or our answer to dnstap (compliance.dnstap). Only called when dnstap is
 * on, behind one branch on server->dnstap; queries/responses are read from the ruleset in force,
 * so a reload switches them. Marked cold to keep it out of the hot path's code.
 */
static __attribute__((cold, noinline)) void
tap_query(struct rsv_worker *w, const struct rsv_client *client, const uint8_t *pkt, size_t len)
{
	rsv_worker_online(w);
	if (!rsv_worker_ruleset(w)->cfg->compliance.dnstap_queries)
		return;
	cmpl_dnstap_client_query(w->server->dnstap, w->index,
				 (const struct sockaddr *)&client->addr, client_local(client),
				 client->udp == NULL, pkt, len);
}

static __attribute__((cold, noinline)) void
tap_response(struct rsv_worker *w, const struct rsv_client *client, const uint8_t *msg, size_t len)
{
	if (!client->udp && (!client->conn || client->conn->closing))
		return; /* not sent */
	rsv_worker_online(w);
	if (!rsv_worker_ruleset(w)->cfg->compliance.dnstap_responses)
		return;
	cmpl_dnstap_client_response(w->server->dnstap, w->index,
				    (const struct sockaddr *)&client->addr, client_local(client),
				    client->udp == NULL, NULL, 0, msg, len);
}

/* ---- answers ---------------------------------------------------------------------------- */

static void conn_pace(struct rsv_tcp_conn *c);

static void tcp_write_cb(uv_write_t *req, int status)
{
	struct tcp_write *wr = req->data;
	struct rsv_tcp_conn *c = wr->conn;
	core_free(wr);
	if (status < 0 && status != UV_ECANCELED) {
		conn_close(c);
	} else {
		conn_touch(c); /* the client reads: the connection is not idle */
		conn_pace(c);
	}
	conn_unref(c);
}

static void conn_read_start(struct rsv_tcp_conn *c);

/*
 * Back-pressure: stop reading a connection with too many queries in flight or too many answers
 * its client has not read yet, and read again once both are down to half.
 */
static void conn_pace(struct rsv_tcp_conn *c)
{
	if (c->closing)
		return;
	size_t unsent = uv_stream_get_write_queue_size((uv_stream_t *)&c->handle);
	if (c->reading && (c->inflight >= TCP_MAX_INFLIGHT || unsent > TCP_MAX_UNSENT)) {
		uv_read_stop((uv_stream_t *)&c->handle);
		c->reading = false;
	} else if (!c->reading && c->inflight < TCP_MAX_INFLIGHT / 2 &&
		   unsent <= TCP_MAX_UNSENT / 2) {
		conn_read_start(c);
	}
}

void rsv_worker_client_release(struct rsv_worker *w, struct rsv_client *client)
{
	struct rsv_tcp_conn *c = client->conn;
	if (!c)
		return;
	client->conn = NULL;
	c->inflight--;
	conn_pace(c);
	conn_unref(c);
}

static void udp_poll_cb(uv_poll_t *p, int status, int events);

static void udp_enqueue(struct rsv_udp_listener *l, const struct sockaddr_storage *addr,
			const uint8_t *msg, size_t len)
{
	struct udp_out *o = l->queued < UDP_QUEUE_MAX ? core_malloc(sizeof(*o) + len) : NULL;
	if (!o) {
		cmpl_count(l->w->counters, CMPL_DROPPED);
		return;
	}
	o->next = NULL;
	memcpy(&o->addr, addr, sizeof(*addr));
	o->addr_len = sockaddr_len(addr);
	o->len = len;
	memcpy(o->data, msg, len);
	if (l->queue_tail)
		l->queue_tail->next = o;
	else
		l->queue_head = o;
	l->queue_tail = o;
	if (l->queued++ == 0)
		uv_poll_start(&l->poll, UV_READABLE | UV_WRITABLE, udp_poll_cb);
}

static bool send_would_block(void)
{
	return errno == EAGAIN || errno == ENOBUFS; /* EWOULDBLOCK is EAGAIN on Linux */
}

/* Send what waits in @l's queue until the kernel says the buffer is full again. */
static void udp_queue_flush(struct rsv_udp_listener *l)
{
	while (l->queue_head) {
		struct udp_out *o = l->queue_head;
		ssize_t r = sendto(l->fd, o->data, o->len, MSG_DONTWAIT,
				   (struct sockaddr *)&o->addr, o->addr_len);
		if (r < 0 && send_would_block())
			return;
		l->queue_head = o->next;
		if (!l->queue_head)
			l->queue_tail = NULL;
		l->queued--;
		core_free(o);
	}
	uv_poll_start(&l->poll, UV_READABLE, udp_poll_cb);
}

static void udp_send_now(struct rsv_udp_listener *l, const struct sockaddr_storage *addr,
			 const uint8_t *msg, size_t len)
{
	if (l->queued == 0) {
		ssize_t r = sendto(l->fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)addr,
				   sockaddr_len(addr));
		if (r >= 0 || !send_would_block())
			return; /* sent, or an error that waiting would not cure */
	}
	udp_enqueue(l, addr, msg, len);
}

static void batch_flush(struct rsv_worker *w)
{
	struct rsv_udp_batch *b = w->batch;
	struct rsv_udp_listener *l = b->listener;
	unsigned i = 0;
	while (i < b->n) {
		if (l->queued == 0) {
			int r = sendmmsg(l->fd, b->msgs + i, b->n - i, MSG_DONTWAIT);
			if (r > 0) {
				i += (unsigned)r;
				continue;
			}
			if (!send_would_block()) {
				i++; /* this answer cannot be sent (bad address…): skip it */
				continue;
			}
		}
		/* Buffer full, or older answers waiting: the rest goes to the queue. */
		for (; i < b->n; i++)
			udp_enqueue(l, &b->addrs[i], b->data[i], b->iov[i].iov_len);
	}
	b->n = 0;
	b->listener = NULL;
}

void rsv_worker_send(struct rsv_worker *w, struct rsv_client *client, const uint8_t *msg,
		     size_t len)
{
	if (__builtin_expect(w->server->dnstap != NULL, 0))
		tap_response(w, client, msg, len);
	if (client->udp) {
		struct rsv_udp_batch *b = w->batch;
		if (b->listener != client->udp || len > UDP_SLOT) {
			udp_send_now(client->udp, &client->addr, msg, len);
			return;
		}
		if (b->n == RSV_RECV_BATCH) {
			batch_flush(w);
			b->listener = client->udp;
		}
		unsigned i = b->n++;
		memcpy(b->data[i], msg, len);
		memcpy(&b->addrs[i], &client->addr, sizeof(client->addr));
		b->iov[i].iov_base = b->data[i];
		b->iov[i].iov_len = len;
		b->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &b->addrs[i],
			.msg_namelen = sockaddr_len(&client->addr),
			.msg_iov = &b->iov[i],
			.msg_iovlen = 1,
		};
		return;
	}
	struct rsv_tcp_conn *c = client->conn;
	if (!c)
		return;
	if (!c->closing) {
		struct tcp_write *wr = core_malloc(sizeof(*wr) + 2 + len);
		if (wr) {
			wr->conn = c;
			wr->req.data = wr;
			rsv_wire_put16(wr->data, (uint16_t)len);
			memcpy(wr->data + 2, msg, len);
			uv_buf_t buf = uv_buf_init((char *)wr->data, (unsigned)(len + 2));
			c->refs++;
			if (uv_write(&wr->req, (uv_stream_t *)&c->handle, &buf, 1, tcp_write_cb) !=
			    0) {
				c->refs--;
				core_free(wr);
				conn_close(c);
			}
		}
		conn_touch(c);
	}
	rsv_worker_client_release(w, client);
}

bool rsv_worker_answer_stored(struct rsv_worker *w, const struct rsv_ruleset *rs,
			      const struct rsv_query *q, struct rsv_client *client, uint8_t *msg,
			      size_t len, size_t size, enum rsv_ede ede, const char *ede_text)
{
	size_t limit = client->udp ? rsv_wire_udp_limit(q, rsv_ruleset_udp_size(rs)) : RSV_MAX_MSG;
	size_t out = rsv_wire_finish_answer(msg, len, size, q, ede, ede_text,
					    rsv_ruleset_udp_size(rs), limit);
	if (out == 0)
		return false;
	if (msg[2] & (RSV_FLAG_TC >> 8))
		cmpl_count(w->counters, CMPL_TRUNCATED);
	rsv_worker_send(w, client, msg, out);
	return true;
}


bool rsv_worker_answer_from_cache(struct rsv_worker *w, const struct rsv_ruleset *rs,
				  const struct rsv_policy_ctx *ctx, const struct rsv_query *q,
				  struct rsv_client *client, uint32_t stale)
{
	struct rsv_cache_key key;
	rsv_worker_cache_key(w, q, &key);
	size_t len;
	/* Leave room for our OPT record after the stored message. */
	size_t room = sizeof(w->out_buf) - 2 - 512;
	enum rsv_cache_result r = rsv_cache_lookup(w->server->cache, &key, core_clock_mono_s(),
						   stale, 30, w->out_buf, room, &len);
	if (r == RSV_CACHE_MISS)
		return false;
	/* The cache is policy-free: check the CNAME chain against the policy in force now. */
	struct rsv_policy_ctx own;
	if (!ctx) {
		if (!rsv_worker_policy_ctx(w, rs, q, client, &own)) {
			rsv_worker_answer_refused(w, rs, q, client);
			return true;
		}
		ctx = &own;
	}
	struct pol_verdict v;
	if (rsv_worker_check_answer(ctx, w->out_buf, len, &v)) {
		cmpl_count(w->counters, CMPL_CACHE_HITS);
		rsv_worker_answer_blocked(w, rs, ctx, q, client, &v, true);
		return true;
	}
	if (ctx->query.ttl_cap_s)
		(void)rsv_wire_cap_ttls(w->out_buf, len, q, ctx->query.ttl_cap_s);
	enum rsv_ede ede = RSV_EDE_NONE;
	const char *text = NULL;
	if (r == RSV_CACHE_STALE) {
		ede = RSV_EDE_STALE_ANSWER;
		text = "forwarders unreachable; answer from expired cache";
		cmpl_count(w->counters, CMPL_CACHE_STALE);
	} else {
		cmpl_count(w->counters, CMPL_CACHE_HITS);
	}
	return rsv_worker_answer_stored(w, rs, q, client, w->out_buf, len,
					sizeof(w->out_buf) - 2, ede, text);
}

void rsv_worker_answer_error(struct rsv_worker *w, const struct rsv_ruleset *rs,
			     const struct rsv_query *q, struct rsv_client *client, unsigned rcode,
			     enum rsv_ede ede, const char *ede_text)
{
	size_t len = rsv_wire_write_error(q, rcode, ede, ede_text,
					  rs ? rsv_ruleset_udp_size(rs) : 1232, w->out_buf,
					  sizeof(w->out_buf) - 2);
	if (len == 0) {
		rsv_worker_client_release(w, client);
		return;
	}
	rsv_worker_send(w, client, w->out_buf, len);
}

/* ---- policy ----------------------------------------------------------------------------- */

#define NATIONAL_BIT (1u << CFG_CAT_NATIONAL)

unsigned rsv_worker_minute_of_week(struct rsv_worker *w, const struct rsv_ruleset *rs)
{
	if (!pol_policy_has_schedules(rs->policy))
		return 0;
	/* CLOCK_REALTIME_COARSE is read from the vDSO: no system call. The conversion to local
	 * time runs once a minute per worker and ruleset. */
	int64_t now = core_clock_wall_coarse_s();
	if (now / 60 != w->mow_minute || rs->generation != w->mow_generation) {
		w->mow = pol_policy_minute_of_week(rs->policy, now);
		w->mow_minute = now / 60;
		w->mow_generation = rs->generation;
	}
	return w->mow;
}

bool rsv_worker_policy_ctx(struct rsv_worker *w, const struct rsv_ruleset *rs,
			   const struct rsv_query *q, const struct rsv_client *client,
			   struct rsv_policy_ctx *out)
{
	if (pol_client_lookup(rs->policy, (const struct sockaddr *)&client->addr, &out->client) !=
	    0)
		return false;
	out->policy = rs->policy;
	out->lists = rsv_worker_lists(w);
	out->mow = rsv_worker_minute_of_week(w, rs);
	(void)pol_decide(rs->policy, &out->client, out->lists->view, q->qname, q->qname_len,
			 out->mow, &out->query);
	return true;
}

static bool target_blocked(void *arg, const uint8_t *name, size_t len)
{
	struct rsv_policy_ctx *ctx = arg;
	struct pol_verdict *out = ctx->out;
	(void)pol_decide_target(ctx->policy, &ctx->client, ctx->lists->view, &ctx->query, name, len,
				ctx->mow, out);
	return out->d.kind == POL_DECISION_BLOCK || out->d.kind == POL_DECISION_DROP;
}

static bool address_blocked(void *arg, int family, const uint8_t *addr)
{
	struct rsv_policy_ctx *ctx = arg;
	const struct bl_ip_range *g = bl_ipset_lookup(ctx->lists->ips, family, addr);
	if (!g || g->action == BL_ACTION_PASSTHRU)
		return false;
	/* The categories of the client's group (and schedules) now; only the national list
	 * when the query name was allowed by an override. */
	bool allowed = ctx->query.by == POL_BY_NETWORK_ALLOW || ctx->query.by == POL_BY_GROUP_ALLOW;
	uint32_t enforced = NATIONAL_BIT | (allowed ? 0 : ctx->query.enforced);
	if (!(g->categories & enforced))
		return false;
	struct pol_verdict *v = ctx->out;
	memset(v, 0, sizeof(*v));
	struct pol_decision *d = &v->d;
	d->matched = true;
	d->kind = g->action == BL_ACTION_DROP ? POL_DECISION_DROP : POL_DECISION_BLOCK;
	bool national = g->categories & NATIONAL_BIT;
	d->reason = national ? CFG_REASON_NATIONAL : CFG_REASON_POLICY;
	d->categories = g->categories & enforced;
	d->match.categories = g->categories;
	d->match.list_id = g->list_id;
	/* Local data of an IP trigger is not supported: answer as the policy says. */
	d->match.action = g->action == BL_ACTION_LOCAL_DATA ? BL_ACTION_POLICY : g->action;
	v->by = national ? POL_BY_NATIONAL : POL_BY_LIST;
	v->set = ctx->lists->set; /* IP triggers come from the list files */
	v->enforced = enforced;
	return true;
}

bool rsv_worker_check_answer(const struct rsv_policy_ctx *ctx, const uint8_t *msg, size_t len,
			     struct pol_verdict *out)
{
	if (len < RSV_HDR_LEN)
		return false;
	struct rsv_policy_ctx c = *ctx;
	c.out = out;
	/* A chain needs two records at least; a lone CNAME answers a CNAME query. */
	if (rsv_wire_get16(msg + 6) >= 2 && rsv_wire_answer_targets(msg, len, target_blocked, &c))
		return true;
	if (c.lists->ips && rsv_wire_get16(msg + 6) >= 1 &&
	    rsv_wire_answer_addresses(msg, len, address_blocked, &c))
		return true;
	return false;
}

/* This worker's tally in the current epoch, or NULL without compliance statistics. */
static struct cmpl_tally *worker_tally(const struct rsv_worker *w)
{
	const struct rsv_server *s = w->server;
	if (!s->tally[0])
		return NULL;
	unsigned e = atomic_load_explicit(&s->tally_epoch, memory_order_relaxed) & 1;
	return &s->tally[e][w->index];
}

/* Count a query of a client in a network, for the compliance records. */
static void count_query(struct rsv_worker *w, const struct rsv_ruleset *rs,
			const struct rsv_policy_ctx *ctx)
{
	struct cmpl_tally *t = worker_tally(w);
	if (!t)
		return;
	struct cmpl_tally_key k = {
		.unit = rsv_stats_unit(&ctx->client),
		.group = rsv_stats_group(&ctx->client),
		.event = CMPL_EV_QUERY,
		.category = CMPL_NO_CATEGORY,
		.rs_gen = (uint16_t)rs->generation,
		.lists_gen = (uint16_t)ctx->lists->generation,
	};
	cmpl_tally_add(t, &k);
}

/* Hand a blocked query to the control thread for the local log (compliance.query_log). */
static void log_block(struct rsv_worker *w, const struct cmpl_tally_key *k,
		      const struct rsv_query *q, const struct rsv_client *client)
{
	struct cmpl_qlog_ring *r = &w->server->qlog[w->index];
	struct cmpl_qlog_entry *e = cmpl_qlog_reserve(r);
	if (!e)
		return;
	e->time = core_clock_wall_coarse_s();
	e->key = *k;
	e->qtype = q->qtype;
	e->qname_len = (uint8_t)q->qname_len;
	memcpy(e->qname, q->qname, q->qname_len);
	if (client->addr.ss_family == AF_INET6) {
		e->family = AF_INET6;
		memcpy(e->addr, &((const struct sockaddr_in6 *)&client->addr)->sin6_addr, 16);
	} else {
		e->family = AF_INET;
		memcpy(e->addr, &((const struct sockaddr_in *)&client->addr)->sin_addr, 4);
	}
	cmpl_qlog_commit(r);
}

/* Count a blocked answer (the query name or a name of its answer). */
static void count_block(struct rsv_worker *w, const struct rsv_ruleset *rs,
			const struct rsv_policy_ctx *ctx, const struct pol_verdict *v,
			const struct rsv_query *q, const struct rsv_client *client)
{
	cmpl_count(w->counters, CMPL_BLOCKED);
	if (v->d.reason == CFG_REASON_NATIONAL)
		cmpl_count(w->counters, CMPL_BLOCKED_NATIONAL);
	cmpl_count_blocked_category(w->counters, v->d.categories);
	struct cmpl_tally *t = worker_tally(w);
	if (!t)
		return;
	uint8_t by = v->by == POL_BY_GROUP_DENY	    ? CMPL_BY_GROUP_DENY
		     : v->by == POL_BY_NETWORK_DENY ? CMPL_BY_NETWORK_DENY
						    : CMPL_BY_LIST;
	struct cmpl_tally_key k = {
		.unit = rsv_stats_unit(&ctx->client),
		.group = rsv_stats_group(&ctx->client),
		.event = CMPL_EV_BLOCK,
		.by = by,
		.category = v->d.categories ? (uint8_t)__builtin_ctz(v->d.categories)
					    : CMPL_NO_CATEGORY,
		.list = by == CMPL_BY_LIST ? v->d.match.list_id : 0,
		.rs_gen = (uint16_t)rs->generation,
		.lists_gen = (uint16_t)ctx->lists->generation,
	};
	cmpl_tally_add(t, &k);
	if (w->server->qlog)
		log_block(w, &k, q, client);
	struct bl_source src;
	if (v->d.reason == CFG_REASON_NATIONAL && v->set &&
	    bl_set_entry_source(v->set, v->d.match.entry, &src) == 0)
		cmpl_tally_add_top(t, k.unit, k.rs_gen, src.name, src.name_len);
}

/* The EXTRA-TEXT of a blocked answer: what decided, in a few words. */
static void block_text(const struct rsv_lists *lists, const struct pol_verdict *v,
		       bool via_target, char *out, size_t size)
{
	const char *tail = via_target ? ", through the answer (CNAME target or address)" : "";
	switch (v->by) {
	case POL_BY_NETWORK_DENY:
	case POL_BY_GROUP_DENY: {
		const char *owner = bl_set_list_name(v->set, v->d.match.list_id);
		snprintf(out, size, "lanhmanh: deny list of %s%s", owner ? owner : "?", tail);
		return;
	}
	default:
		break;
	}
	const char *list = bl_view_list_name(lists->view, v->d.match.list_id);
	const char *category = rsv_lists_first_category(lists, v->d.categories);
	if (v->by == POL_BY_SCHEDULE)
		snprintf(out, size, "lanhmanh: list '%s', category %s, blocked at this hour by a schedule%s",
			 list ? list : "?", category, tail);
	else
		snprintf(out, size, "lanhmanh: list '%s', category %s%s", list ? list : "?",
			 category, tail);
}

void rsv_worker_answer_blocked(struct rsv_worker *w, const struct rsv_ruleset *rs,
			       const struct rsv_policy_ctx *ctx, const struct rsv_query *q,
			       struct rsv_client *client, const struct pol_verdict *v,
			       bool via_target)
{
	count_block(w, rs, ctx, v, q, client);
	if (v->d.kind == POL_DECISION_DROP) {
		rsv_worker_client_release(w, client);
		return;
	}
	struct pol_decision dq = v->d;
	if (via_target)
		dq.match.labels_below = 0; /* the SOA goes at the query name */
	char text[200];
	block_text(ctx->lists, v, via_target, text, sizeof(text));
	size_t len = rsv_synth_block(q, &dq, &rs->cfg->sinkhole, v->set, text,
				     rsv_ruleset_udp_size(rs), w->out_buf, sizeof(w->out_buf) - 2);
	if (len == 0) {
		rsv_worker_client_release(w, client);
		return;
	}
	rsv_worker_send(w, client, w->out_buf, len);
}

void rsv_worker_answer_refused(struct rsv_worker *w, const struct rsv_ruleset *rs,
			       const struct rsv_query *q, struct rsv_client *client)
{
	cmpl_count(w->counters, CMPL_REFUSED);
	rsv_worker_answer_error(w, rs, q, client, RSV_RCODE_REFUSED, RSV_EDE_PROHIBITED,
				"client is not in a configured network");
}

bool rsv_worker_answer_chain(struct rsv_worker *w, const struct rsv_ruleset *rs,
			     const struct rsv_chain *chain, struct rsv_client *client,
			     const uint8_t *target, size_t target_len, const uint8_t *stored,
			     size_t len)
{
	const struct rsv_query *q = &chain->q;
	size_t n = rsv_wire_chain_cname(q, target, target_len, rs->cfg->sinkhole.ttl_s, stored, len,
					w->chain_buf, RSV_CHAIN_BUF);
	if (n == 0) {
		cmpl_count(w->counters, CMPL_SERVFAIL);
		rsv_worker_answer_error(w, rs, q, client, RSV_RCODE_SERVFAIL, RSV_EDE_OTHER,
					"cannot build the rewritten answer");
		return false;
	}
	if (!rsv_worker_answer_stored(w, rs, q, client, w->chain_buf, n, RSV_CHAIN_BUF,
				      chain->ede, chain->ede_text[0] ? chain->ede_text : NULL)) {
		rsv_worker_client_release(w, client);
		return false;
	}
	return true;
}

/*
 * Answer @chain->q as "CNAME @target" followed by the answer for @target (same type): safe
 * search, RPZ CNAME rewrites. The target goes through the policy (RPZ local data of the target
 * answers it; a blocked target blocks the query), then the cache or the forwarders.
 */
static void answer_rewrite(struct rsv_worker *w, const struct rsv_ruleset *rs,
			   const struct rsv_policy_ctx *ctx, const struct rsv_chain *chain,
			   struct rsv_client *client, const uint8_t *target, size_t target_len)
{
	const struct rsv_query *q = &chain->q;
	struct rsv_query tq = *q;
	memcpy(tq.qname, target, target_len);
	memcpy(tq.qname_orig, target, target_len);
	tq.qname_len = (uint8_t)target_len;
	struct pol_verdict tv;
	(void)pol_decide_target(ctx->policy, &ctx->client, ctx->lists->view, &ctx->query, tq.qname,
				tq.qname_len, ctx->mow, &tv);
	if (tv.d.kind == POL_DECISION_BLOCK && tv.d.match.action == BL_ACTION_LOCAL_DATA) {
		/* The target's own local data, in stored form (ID 0, no OPT), then chained. */
		tq.id = 0;
		tq.edns = false;
		size_t n = rsv_synth_block(&tq, &tv.d, &rs->cfg->sinkhole, tv.set, NULL,
					   rsv_ruleset_udp_size(rs), w->out_buf,
					   sizeof(w->out_buf) - 2);
		if (n == 0) {
			rsv_worker_client_release(w, client);
			return;
		}
		rsv_worker_answer_chain(w, rs, chain, client, target, target_len, w->out_buf, n);
		return;
	}
	if (tv.d.kind == POL_DECISION_BLOCK || tv.d.kind == POL_DECISION_DROP) {
		rsv_worker_answer_blocked(w, rs, ctx, q, client, &tv, true);
		return;
	}
	struct rsv_cache_key key;
	rsv_worker_cache_key(w, &tq, &key);
	size_t len;
	size_t room = sizeof(w->out_buf) - 2 - 512;
	enum rsv_cache_result r = rsv_cache_lookup(w->server->cache, &key, core_clock_mono_s(), 0,
						   30, w->out_buf, room, &len);
	if (r != RSV_CACHE_MISS) {
		cmpl_count(w->counters, CMPL_CACHE_HITS);
		struct pol_verdict v;
		if (rsv_worker_check_answer(ctx, w->out_buf, len, &v))
			rsv_worker_answer_blocked(w, rs, ctx, q, client, &v, true);
		else
			rsv_worker_answer_chain(w, rs, chain, client, target, target_len,
						w->out_buf, len);
		return;
	}
	cmpl_count(w->counters, CMPL_CACHE_MISSES);
	rsv_forward_start(w, rs, &tq, chain, client);
}

/* Log lines of the audit mode, at most this many per worker and second. */
#define AUDIT_LOG_PER_S 5

/*
 * A synced list has a version waiting (audit mode, or held for review): evaluate it on this
 * query, which passes with the version in force, and count and log (rate-limited) what it
 * would block. Never changes the answer.
 */
static void audit_check(struct rsv_worker *w, const struct rsv_ruleset *rs,
			const struct rsv_policy_ctx *ctx, const struct rsv_query *q)
{
	struct pol_verdict v;
	(void)pol_decide(rs->policy, &ctx->client, ctx->lists->audit_view, q->qname, q->qname_len,
			 ctx->mow, &v);
	if (v.d.kind != POL_DECISION_BLOCK && v.d.kind != POL_DECISION_DROP)
		return;
	cmpl_count(w->counters, CMPL_AUDIT_WOULD_BLOCK);
	uint32_t now = core_clock_mono_s();
	if (now != w->audit_log_second) {
		w->audit_log_second = now;
		w->audit_logged = 0;
	}
	if (w->audit_logged++ >= AUDIT_LOG_PER_S)
		return;
	char name[RSV_MAX_NAME * 4 + 8];
	rsv_wire_name_to_text(q->qname, name, sizeof(name));
	const char *list = bl_view_list_name(ctx->lists->audit_view, v.d.match.list_id);
	core_log_notice("audit", "%s would be blocked by the waiting version of list '%s' (network %s); not applied",
			name, list ? list : "?", ctx->client.network->name);
}

/* The CNAME target of RPZ local data that has no record of @qtype, or 0. */
static size_t local_cname(const struct bl_set *set, uint32_t entry, uint16_t qtype,
			  uint8_t target[RSV_MAX_NAME])
{
	size_t len, found = 0;
	const uint8_t *data = set ? bl_set_local_data(set, entry, &len) : NULL;
	for (size_t p = 0; data && p + 4 <= len;) {
		uint16_t type = rsv_wire_get16(data + p);
		uint16_t rdlen = rsv_wire_get16(data + p + 2);
		if (p + 4 + rdlen > len)
			break;
		if (type == qtype)
			return 0;
		if (type == RSV_TYPE_CNAME && rdlen <= RSV_MAX_NAME && found == 0) {
			memcpy(target, data + p + 4, rdlen);
			found = rdlen;
		}
		p += 4u + rdlen;
	}
	return found;
}

/* ---- the pipeline ----------------------------------------------------------------------- */

/*
 * A NOTIFY (RFC 1996) from the primary of a synced list: answered here, whatever the networks
 * say (the primary need not be a client), and passed on to the control thread, which refreshes
 * the zone. @return false when it is no NOTIFY for one of our zones.
 */
static bool handle_notify(struct rsv_worker *w, const uint8_t *pkt, size_t len,
			  struct rsv_client *client)
{
	rsv_worker_online(w);
	const struct rsv_ruleset *rs = rsv_worker_ruleset(w);
	for (size_t i = 0; i < rs->n_notify; i++) {
		const struct bl_xfr_params *p = &rs->notify[i].params;
		struct bl_notify n;
		const char *why = NULL;
		int r = bl_notify_check(p, pkt, len, (const struct sockaddr *)&client->addr, &n, &why);
		if (r == CORE_ENOTFOUND)
			continue;
		struct rsv_server *s = w->server;
		if (r == 0) {
			pthread_mutex_lock(&s->notify_lock);
			bool queued = false;
			for (unsigned k = 0; k < s->n_notify_queued; k++)
				queued |= strcmp(s->notify_queue[k], p->zone) == 0;
			if (!queued && s->n_notify_queued < RSV_NOTIFY_QUEUE)
				snprintf(s->notify_queue[s->n_notify_queued++],
					 sizeof(s->notify_queue[0]), "%s", p->zone);
			pthread_mutex_unlock(&s->notify_lock);
			uv_async_send(&s->notify_async);
		} else {
			/* At most 10 lines a second per worker: forged NOTIFYs must not flood the
			 * log. */
			uint32_t now = core_clock_mono_s();
			if (now != w->notify_log_second) {
				w->notify_log_second = now;
				w->notify_logged = 0;
			}
			if (w->notify_logged++ < 10)
				core_log_warn("sync", "NOTIFY for %s refused: %s", p->zone,
					      why ? why : core_strerror(r));
		}
		size_t out = bl_notify_response(p, pkt, len,
						r == 0 ? RSV_RCODE_NOERROR : RSV_RCODE_REFUSED,
						w->out_buf, sizeof(w->out_buf) - 2);
		if (out)
			rsv_worker_send(w, client, w->out_buf, out);
		else
			rsv_worker_client_release(w, client);
		return true;
	}
	return false;
}

/* Handle one client message. @client->conn carries a reference taken by the caller. */
static void handle_query(struct rsv_worker *w, const uint8_t *pkt, size_t len,
			 struct rsv_client *client)
{
	struct rsv_query q;
	enum rsv_parse p = rsv_wire_parse_query(pkt, len, &q);
	if (p == RSV_PARSE_DROP) {
		cmpl_count(w->counters, CMPL_DROPPED);
		rsv_worker_client_release(w, client);
		return;
	}
	cmpl_count(w->counters, CMPL_QUERIES);
	if (!client->udp)
		cmpl_count(w->counters, CMPL_QUERIES_TCP);
	if (__builtin_expect(w->server->dnstap != NULL, 0))
		tap_query(w, client, pkt, len);
	if (p == RSV_PARSE_NOTIMP && ((q.flags >> 11) & 0xf) == RSV_OPCODE_NOTIFY &&
	    handle_notify(w, pkt, len, client))
		return;
	rsv_worker_online(w);
	const struct rsv_ruleset *rs = rsv_worker_ruleset(w);
	struct rsv_policy_ctx ctx;
	if (pol_client_lookup(rs->policy, (const struct sockaddr *)&client->addr, &ctx.client) !=
	    0) {
		rsv_worker_answer_refused(w, rs, &q, client);
		return;
	}
	switch (p) {
	case RSV_PARSE_OK:
		break;
	case RSV_PARSE_NOTIMP:
		rsv_worker_answer_error(w, rs, &q, client, RSV_RCODE_NOTIMP, RSV_EDE_NONE, NULL);
		return;
	case RSV_PARSE_BADVERS:
		rsv_worker_answer_error(w, rs, &q, client, RSV_RCODE_BADVERS, RSV_EDE_NONE, NULL);
		return;
	default:
		cmpl_count(w->counters, CMPL_FORMERR);
		rsv_worker_answer_error(w, rs, &q, client, RSV_RCODE_FORMERR, RSV_EDE_NONE, NULL);
		return;
	}
	if (q.qclass != RSV_CLASS_IN || q.qtype == RSV_TYPE_AXFR || q.qtype == RSV_TYPE_IXFR ||
	    q.qtype == RSV_TYPE_OPT || q.qtype == 0) {
		cmpl_count(w->counters, CMPL_REFUSED);
		rsv_worker_answer_error(w, rs, &q, client, RSV_RCODE_REFUSED,
					RSV_EDE_NOT_SUPPORTED,
					"only class IN queries are resolved; no zone transfers");
		return;
	}
	ctx.policy = rs->policy;
	ctx.lists = rsv_worker_lists(w);
	ctx.mow = rsv_worker_minute_of_week(w, rs);
	(void)pol_decide(rs->policy, &ctx.client, ctx.lists->view, q.qname, q.qname_len, ctx.mow,
			 &ctx.query);
	count_query(w, rs, &ctx);
	const struct pol_verdict *v = &ctx.query;
	uint8_t target[RSV_MAX_NAME];
	size_t target_len;
	struct rsv_chain chain;
	switch (v->d.kind) {
	case POL_DECISION_PASS:
		break;
	case POL_DECISION_REWRITE:
		cmpl_count(w->counters, CMPL_REWRITTEN);
		target_len = local_cname(v->set, v->d.match.entry, q.qtype, target);
		if (target_len) {
			chain.q = q;
			chain.ede = RSV_EDE_NONE;
			chain.ede_text[0] = '\0';
			answer_rewrite(w, rs, &ctx, &chain, client, target, target_len);
			return;
		}
		/* a query for the CNAME itself gets it, as local data */
		__attribute__((fallthrough));
	case POL_DECISION_LOCAL: {
		if (v->d.kind == POL_DECISION_LOCAL)
			cmpl_count(w->counters, CMPL_ANSWERED_LOCALLY);
		size_t n = rsv_synth_local(&q, &v->d, &rs->cfg->sinkhole, v->set,
					   rsv_ruleset_udp_size(rs), w->out_buf,
					   sizeof(w->out_buf) - 2);
		if (n == 0)
			rsv_worker_client_release(w, client);
		else
			rsv_worker_send(w, client, w->out_buf, n);
		return;
	}
	default:
		if (v->d.kind == POL_DECISION_BLOCK && v->d.match.action == BL_ACTION_LOCAL_DATA) {
			/* An RPZ CNAME rewrite: the client gets the target's records too. */
			target_len = local_cname(v->set, v->d.match.entry, q.qtype, target);
			if (target_len) {
				count_block(w, rs, &ctx, v, &q, client);
				chain.q = q;
				chain.ede = rsv_synth_ede(v->d.reason);
				block_text(ctx.lists, v, false, chain.ede_text, sizeof(chain.ede_text));
				answer_rewrite(w, rs, &ctx, &chain, client, target, target_len);
				return;
			}
		}
		rsv_worker_answer_blocked(w, rs, &ctx, &q, client, v, false);
		return;
	}
	if (ctx.lists->audit_view)
		audit_check(w, rs, &ctx, &q);
	if (rsv_worker_answer_from_cache(w, rs, &ctx, &q, client, 0))
		return;
	cmpl_count(w->counters, CMPL_CACHE_MISSES);
	rsv_forward_start(w, rs, &q, NULL, client);
}

/* ---- UDP listeners ---------------------------------------------------------------------- */

static void udp_poll_cb(uv_poll_t *p, int status, int events)
{
	struct rsv_udp_listener *l = p->data;
	struct rsv_worker *w = l->w;
	struct rsv_udp_batch *b = w->batch;
	if (status < 0)
		return;
	if (events & UV_WRITABLE)
		udp_queue_flush(l);
	if (!(events & UV_READABLE))
		return;
	for (int round = 0; round < UDP_READ_ROUNDS; round++) {
		for (unsigned i = 0; i < RSV_RECV_BATCH; i++) {
			b->in_iov[i].iov_base = b->in_data[i];
			b->in_iov[i].iov_len = UDP_SLOT;
			b->in_msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &b->in_addrs[i],
				.msg_namelen = sizeof(b->in_addrs[i]),
				.msg_iov = &b->in_iov[i],
				.msg_iovlen = 1,
			};
		}
		int n = recvmmsg(l->fd, b->in_msgs, RSV_RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		b->listener = l;
		for (int i = 0; i < n; i++) {
			struct rsv_client client = {.udp = l, .conn = NULL};
			if (b->in_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				cmpl_count(w->counters, CMPL_DROPPED); /* no DNS query is that big */
				continue;
			}
			memcpy(&client.addr, &b->in_addrs[i], b->in_msgs[i].msg_hdr.msg_namelen);
			handle_query(w, b->in_data[i], b->in_msgs[i].msg_len, &client);
		}
		batch_flush(w);
		if (n < RSV_RECV_BATCH)
			break; /* drained: no need for a read that would only say EAGAIN */
	}
}

static int bound_socket(const struct cfg_addr *a, int type)
{
	int fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto out_errno;
	if (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto out_errno;
	if (type == SOCK_DGRAM) {
		/* Bursts: ask for larger buffers; the kernel caps them at [rw]mem_max. */
		int size = 4 << 20;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0)
		goto out_errno;
	return fd;
out_errno:;
	int err = -errno;
	close(fd);
	return err;
}

/* ---- TCP listeners and connections ------------------------------------------------------ */

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct rsv_tcp_conn *c = h->data;
	*buf = uv_buf_init((char *)c->w->recv_buf, UDP_CHUNK);
}

/* Hand every complete frame of [data, data + len) to the pipeline; returns bytes consumed,
 * or -1 when the connection must close. */
static ssize_t conn_frames(struct rsv_tcp_conn *c, const uint8_t *data, size_t len)
{
	size_t pos = 0;
	while (len - pos >= 2 && !c->closing) {
		size_t flen = rsv_wire_get16(data + pos);
		if (flen == 0)
			return -1;
		if (len - pos - 2 < flen)
			break;
		struct rsv_client client = {.udp = NULL, .conn = c};
		memcpy(&client.addr, &c->peer, sizeof(c->peer));
		c->refs++;
		c->inflight++;
		handle_query(c->w, data + pos + 2, flen, &client);
		pos += 2 + flen;
	}
	return (ssize_t)pos;
}

static void conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct rsv_tcp_conn *c = s->data;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	c->refs++; /* keep c alive while frames are handled */
	conn_touch(c);
	const uint8_t *data = (const uint8_t *)buf->base;
	size_t len = (size_t)nread;
	if (c->plen > 0) {
		/* Complete the pending frame first: copy just what it needs. */
		size_t need = c->plen < 2 ? 2 : 2 + (size_t)rsv_wire_get16(c->partial);
		while (c->plen < need && len > 0) {
			size_t take = need - c->plen;
			if (take > len)
				take = len;
			memcpy(c->partial + c->plen, data, take);
			c->plen += take;
			data += take;
			len -= take;
			if (c->plen == 2)
				need = 2 + (size_t)rsv_wire_get16(c->partial);
		}
		if (c->plen < need)
			goto out;
		if (conn_frames(c, c->partial, c->plen) < 0) {
			conn_close(c);
			goto out;
		}
		c->plen = 0;
	}
	ssize_t used = conn_frames(c, data, len);
	if (used < 0) {
		conn_close(c);
		goto out;
	}
	size_t rest = len - (size_t)used;
	if (rest > 0 && !c->closing) {
		if (c->pcap == 0) {
			c->partial = core_malloc(TCP_FRAME_MAX);
			if (!c->partial) {
				conn_close(c);
				goto out;
			}
			c->pcap = TCP_FRAME_MAX;
		}
		memcpy(c->partial, data + used, rest);
		c->plen = rest;
	}
	conn_pace(c);
out:
	conn_unref(c);
}

static void conn_read_start(struct rsv_tcp_conn *c)
{
	if (uv_read_start((uv_stream_t *)&c->handle, conn_alloc_cb, conn_read_cb) == 0)
		c->reading = true;
	else
		conn_close(c);
}

/* Bytes of answers not yet taken by the client: queued in libuv plus unacknowledged in the
 * kernel's send queue (SIOCOUTQ). */
static size_t conn_pending(struct rsv_tcp_conn *c)
{
	size_t pending = uv_stream_get_write_queue_size((uv_stream_t *)&c->handle);
	uv_os_fd_t fd;
	int outq = 0;
	if (uv_fileno((uv_handle_t *)&c->handle, &fd) == 0 && ioctl(fd, SIOCOUTQ, &outq) == 0 &&
	    outq > 0)
		pending += (size_t)outq;
	return pending;
}

/*
 * No query read and no answer written for tcp_idle_timeout: close, unless queries are still
 * being resolved, or answers are still on their way and the client took some of them since the
 * last tick (a slow reader behind large kernel buffers: its answers complete no write for a
 * while). A client that stops reading altogether is closed.
 */
static void conn_idle_cb(uv_timer_t *t)
{
	struct rsv_tcp_conn *c = t->data;
	size_t pending = conn_pending(c);
	bool progress = pending > 0 && pending < c->idle_unsent;
	c->idle_unsent = pending;
	if (c->inflight == 0 && !progress)
		conn_close(c);
}

static void tcp_accept_cb(uv_stream_t *listener, int status)
{
	struct rsv_worker *w = listener->data;
	if (status < 0)
		return;
	rsv_worker_online(w);
	const struct rsv_ruleset *rs = rsv_worker_ruleset(w);
	struct rsv_tcp_conn *c = core_calloc(1, sizeof(*c));
	if (!c)
		return;
	c->w = w;
	c->local = &w->server->listen[(uv_tcp_t *)listener - w->tcp]; /* see open_listeners() */
	c->refs = 2; /* handle + timer */
	c->idle_ms = rs->cfg->server.tcp_idle_timeout_ms;
	c->idle_unsent = SIZE_MAX;
	uv_tcp_init(&w->loop, &c->handle);
	uv_timer_init(&w->loop, &c->idle);
	c->handle.data = c;
	c->idle.data = c;
	atomic_fetch_add(&w->server->tcp_conns, 1);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	int alen = sizeof(c->peer);
	if (uv_accept(listener, (uv_stream_t *)&c->handle) != 0 ||
	    uv_tcp_getpeername(&c->handle, (struct sockaddr *)&c->peer, &alen) != 0) {
		conn_close(c);
		return;
	}
	if (atomic_load(&w->server->tcp_conns) > rs->cfg->server.tcp_max_connections) {
		core_log_debug("rsv", "too many TCP connections, closing a new one");
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->handle, 1);
	uv_timer_start(&c->idle, conn_idle_cb, c->idle_ms, c->idle_ms);
	conn_read_start(c);
}

/* ---- the thread ------------------------------------------------------------------------- */

static void rcu_prepare_cb(uv_prepare_t *h)
{
	struct rsv_worker *w = h->data;
	if (w->rcu_online) {
		rcu_thread_offline();
		w->rcu_online = false;
	}
}

/* At shutdown, after connections and requests were closed through their owners: what is left
 * (listeners, the async, the prepare) is embedded in the worker and needs no callback. */
static void close_walk_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void wakeup_cb(uv_async_t *a)
{
	struct rsv_worker *w = a->data;
	if (atomic_load(&w->stop))
		uv_stop(&w->loop);
}

static int open_listeners(struct rsv_worker *w)
{
	struct rsv_server *s = w->server;
	for (unsigned i = 0; i < s->n_listen; i++) {
		const struct cfg_addr *a = &s->listen[i];
		int fd = bound_socket(a, SOCK_DGRAM);
		if (fd < 0) {
			core_log_err("rsv", "cannot listen on UDP '%s': %s", a->text,
				     strerror(-fd));
			return fd;
		}
		struct rsv_udp_listener *l = &w->udp[w->n_udp++];
		l->fd = fd;
		l->w = w;
		l->addr = a;
		int r = uv_poll_init_socket(&w->loop, &l->poll, fd);
		if (r == 0) {
			l->poll.data = l;
			r = uv_poll_start(&l->poll, UV_READABLE, udp_poll_cb);
		} else {
			l->fd = -1;
			close(fd);
		}
		if (r != 0) {
			core_log_err("rsv", "cannot receive on UDP '%s': %s", a->text,
				     uv_strerror(r));
			return r;
		}
		fd = bound_socket(a, SOCK_STREAM);
		if (fd < 0) {
			core_log_err("rsv", "cannot listen on TCP '%s': %s", a->text,
				     strerror(-fd));
			return fd;
		}
		uv_tcp_t *t = &w->tcp[w->n_tcp];
		uv_tcp_init(&w->loop, t);
		t->data = w;
		w->n_tcp++;
		r = uv_tcp_open(t, fd);
		if (r == 0)
			r = uv_listen((uv_stream_t *)t, 256, tcp_accept_cb);
		if (r != 0) {
			core_log_err("rsv", "cannot listen on TCP '%s': %s", a->text,
				     uv_strerror(r));
			return r;
		}
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct rsv_worker *w = arg;
	rcu_register_thread();
	rcu_thread_offline();
	w->rcu_online = false;
	int r = open_listeners(w);
	w->start_error = r;
	uv_sem_post(&w->started);
	if (r == 0)
		uv_run(&w->loop, UV_RUN_DEFAULT);
	/* Close everything: requests and connections through their owners first. */
	rsv_worker_online(w);
	rsv_forward_abort_all(w);
	while (w->conns)
		conn_close(w->conns);
	uv_walk(&w->loop, close_walk_cb, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	if (w->rcu_online)
		rcu_thread_offline();
	w->rcu_online = false;
	rcu_unregister_thread();
	return NULL;
}

int rsv_worker_start(struct rsv_server *server, struct rsv_worker *w, unsigned index)
{
	w->server = server;
	w->index = index;
	w->counters = &server->counters[index];
	atomic_init(&w->stop, false);
	w->recv_buf = core_malloc(UDP_CHUNK);
	w->chain_buf = core_malloc(RSV_CHAIN_BUF);
	w->batch = core_calloc(1, sizeof(*w->batch));
	w->mow_minute = -1;
	if (!w->recv_buf || !w->chain_buf || !w->batch || rsv_iter_worker_init(w) != 0)
		return -ENOMEM;
	int r = uv_loop_init(&w->loop);
	if (r != 0)
		return r;
	w->loop.data = w;
	uv_async_init(&w->loop, &w->wakeup, wakeup_cb);
	w->wakeup.data = w;
	uv_prepare_init(&w->loop, &w->rcu_prepare);
	w->rcu_prepare.data = w;
	uv_prepare_start(&w->rcu_prepare, rcu_prepare_cb);
	uv_unref((uv_handle_t *)&w->rcu_prepare);
	if (uv_sem_init(&w->started, 0) != 0)
		return -ENOMEM;
	r = pthread_create(&w->thread, NULL, worker_main, w);
	if (r != 0)
		return -r;
	uv_sem_wait(&w->started);
	uv_sem_destroy(&w->started);
	return w->start_error;
}

void rsv_worker_stop(struct rsv_worker *w)
{
	atomic_store(&w->stop, true);
	uv_async_send(&w->wakeup);
}

void rsv_worker_join(struct rsv_worker *w)
{
	pthread_join(w->thread, NULL);
	int r = uv_loop_close(&w->loop);
	if (r != 0)
		core_log_warn("rsv", "worker %u: loop closed with handles open: %s", w->index,
			      uv_strerror(r));
	for (unsigned i = 0; i < w->n_udp; i++) {
		struct rsv_udp_listener *l = &w->udp[i];
		while (l->queue_head) {
			struct udp_out *o = l->queue_head;
			l->queue_head = o->next;
			core_free(o);
		}
		if (l->fd >= 0)
			close(l->fd);
	}
	w->recv_buf = core_free(w->recv_buf);
	w->chain_buf = core_free(w->chain_buf);
	w->batch = core_free(w->batch);
	rsv_iter_worker_fini(w);
}
