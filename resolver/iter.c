/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Recursive resolution from the root: the iterator (see iter.h). */
#include "resolver/iter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ldns/ldns.h>
#include <uv.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/rand.h"
#include "resolver/cache.h"
#include "resolver/server.h"
#include "resolver/validate.h"
#include "resolver/worker.h"

#define RTO_UNKNOWN_MS 400 /* a server never asked */
#define RTO_MIN_MS 50
#define RTO_MAX_MS 1500
#define MAX_QUERIES 64	  /* sent for one client query, name-server resolutions included */
#define MAX_REFERRALS 24  /* zone cuts followed by one iteration */
#define MAX_CNAME 10	  /* CNAME/DNAME hops of one client query */
#define MAX_DEPTH 3	  /* nested resolutions of name-server addresses */
#define MAX_TIME_MS 4500  /* a client gives up after about 5 s */
#define MAX_NS 13	  /* name servers considered per zone */
#define MAX_ADDRS 24	  /* their addresses */
#define SERVER_SLOTS 1024 /* per-worker table of server RTTs (direct-mapped) */
#define DEAD_AFTER 3	  /* consecutive timeouts before a server is skipped */
#define DEAD_MS 10000
#define ADDR_TRIES 5	/* timeouts of one address before a resolution gives up on it */
#define RANDOM_BUF 4096 /* random bytes fetched at once (one system call) */
#define EDNS_SIZE 1232
#define INFRA_MAX_TTL 86400u
#define CACHE_BUF 16384

/* ---- roots ---------------------------------------------------------------------------------- */

struct root_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct rsv_roots {
	struct root_addr a[64];
	size_t n;
};

/* The IANA root servers (root-servers.net, as published in named.root). */
static const char *const builtin_roots[] = {
	"198.41.0.4",	  "2001:503:ba3e::2:30", "170.247.170.2", "2801:1b8:10::b",
	"192.33.4.12",	  "2001:500:2::c",	 "199.7.91.13",	  "2001:500:2d::d",
	"192.203.230.10", "2001:500:a8::e",	 "192.5.5.241",	  "2001:500:2f::f",
	"192.112.36.4",	  "2001:500:12::d0d",	 "198.97.190.53", "2001:500:1::53",
	"192.36.148.17",  "2001:7fe::53",	 "192.58.128.30", "2001:503:c27::2:30",
	"193.0.14.129",	  "2001:7fd::1",	 "199.7.83.42",	  "2001:500:9f::42",
	"202.12.27.33",	  "2001:dc3::35",
};

static bool addr_from_text(const char *text, struct root_addr *out)
{
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *in = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		out->len = sizeof(*in);
		return true;
	}
	if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		out->len = sizeof(*in6);
		return true;
	}
	return false;
}

/* The address in A/AAAA record @rr into @out. */
static bool addr_from_rr(const ldns_rr *rr, struct root_addr *out)
{
	const ldns_rdf *d = ldns_rr_rdf(rr, 0);
	memset(out, 0, sizeof(*out));
	if (!d)
		return false;
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rdf_size(d) == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)&out->ss;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, ldns_rdf_data(d), 4);
		out->len = sizeof(*in);
		return true;
	}
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA && ldns_rdf_size(d) == 16) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, ldns_rdf_data(d), 16);
		out->len = sizeof(*in6);
		return true;
	}
	return false;
}

int rsv_zone_file_read(const char *path, const char *key, ldns_zone **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	if (!f) {
		int e = -errno;
		snprintf(err, errlen, "%s: cannot read '%s': %s", key, path, strerror(errno));
		return e;
	}
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
		fclose(f);
		snprintf(err, errlen, "%s: '%s' is not a file", key, path);
		return -EINVAL;
	}
	ldns_rdf *origin = ldns_dname_new_frm_str(".");
	int line = 0;
	ldns_status ls = ldns_zone_new_frm_fp_l(out, f, origin, 3600, LDNS_RR_CLASS_IN, &line);
	fclose(f);
	ldns_rdf_deep_free(origin);
	if (ls != LDNS_STATUS_OK) {
		snprintf(err, errlen, "%s: '%s' line %d: %s", key, path, line,
			 ldns_get_errorstr_by_id(ls));
		return CORE_EPARSE;
	}
	return 0;
}

int rsv_roots_load(const char *path, struct rsv_roots **out, char *err, size_t errlen)
{
	struct rsv_roots *r = core_calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (!path) {
		for (size_t i = 0; i < sizeof(builtin_roots) / sizeof(builtin_roots[0]); i++) {
			if (addr_from_text(builtin_roots[i], &r->a[r->n]))
				r->n++;
		}
		*out = r;
		return 0;
	}
	ldns_zone *z = NULL;
	int e = rsv_zone_file_read(path, "server.root_hints", &z, err, errlen);
	if (e != 0) {
		core_free(r);
		return e;
	}
	/* Every address of a name the root's NS records name. */
	const ldns_rr_list *rrs = ldns_zone_rrs(z);
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rr *ns = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(ns) != LDNS_RR_TYPE_NS ||
		    ldns_dname_label_count(ldns_rr_owner(ns)) != 0)
			continue;
		for (size_t j = 0; j < ldns_rr_list_rr_count(rrs) && r->n < 64; j++) {
			const ldns_rr *a = ldns_rr_list_rr(rrs, j);
			if (ldns_dname_compare(ldns_rr_owner(a), ldns_rr_rdf(ns, 0)) == 0 &&
			    addr_from_rr(a, &r->a[r->n]))
				r->n++;
		}
	}
	ldns_zone_deep_free(z);
	if (r->n == 0) {
		snprintf(
			err, errlen,
			"server.root_hints: '%s' has no NS record of the root ('.') with an A or AAAA record for its name",
			path);
		core_free(r);
		return CORE_EPARSE;
	}
	*out = r;
	return 0;
}

void rsv_roots_free(struct rsv_roots *r)
{
	core_free(r);
}

size_t rsv_roots_count(const struct rsv_roots *r)
{
	return r ? r->n : 0;
}

/* ---- per-worker server table ---------------------------------------------------------------- */

struct server_stat {
	struct sockaddr_storage ss;
	bool used;
	bool no_0x20;  /* lower-cases our names: ask it without random case */
	uint8_t fails; /* consecutive timeouts */
	uint32_t srtt_ms;
	uint64_t dead_until;
};

struct rsv_iter_worker {
	struct server_stat s[SERVER_SLOTS];
	/* Query IDs, 0x20 case: unpredictable bytes, fetched RANDOM_BUF at a time (a call of
	 * arc4random() is a getrandom system call with glibc 2.36: ~20 % of a cold run's CPU). */
	uint8_t random[RANDOM_BUF];
	size_t random_left;
};

static uint32_t random32(struct rsv_worker *w)
{
	struct rsv_iter_worker *iw = w->iter;
	if (iw->random_left < 4) {
		arc4random_buf(iw->random, sizeof(iw->random));
		iw->random_left = sizeof(iw->random);
	}
	uint32_t v;
	memcpy(&v, iw->random + sizeof(iw->random) - iw->random_left, 4);
	iw->random_left -= 4;
	return v;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			      &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

/* The slot of @ss: found, or taken over (the table forgets what does not fit). */
static struct server_stat *server_of(struct rsv_worker *w, const struct sockaddr_storage *ss)
{
	const uint8_t *p;
	size_t n;
	if (ss->ss_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
		n = 4;
	} else {
		p = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
		n = 16;
	}
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	struct server_stat *s = &w->iter->s[h & (SERVER_SLOTS - 1)];
	if (!s->used || !same_addr(&s->ss, ss)) {
		memset(s, 0, sizeof(*s));
		s->ss = *ss;
		s->used = true;
	}
	return s;
}

int rsv_iter_worker_init(struct rsv_worker *w)
{
	w->iter = core_calloc(1, sizeof(*w->iter));
	return w->iter ? 0 : -ENOMEM;
}

void rsv_iter_worker_fini(struct rsv_worker *w)
{
	w->iter = core_free(w->iter);
}

/* ---- one resolution ------------------------------------------------------------------------- */

struct out_sock {
	union {
		uv_handle_t handle;
		uv_udp_t udp;
		uv_tcp_t tcp;
	} h;
	bool is_tcp;
	struct rsv_iter *it; /* NULL once the iteration moved on */
	uv_connect_t connect;
	uv_write_t write;
	uint8_t *wbuf;
	size_t wlen;
	uint8_t *rbuf;
	size_t rlen, rcap;
};

struct ns_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	bool failed;	  /* lame or refused for this zone, or timed out ADDR_TRIES times */
	uint8_t timeouts; /* of this resolution: a late answer is not a dead server */
};

struct budget {
	unsigned queries;
	unsigned cname_hops;
	uint64_t deadline_ms;
	bool insecure; /* some step of the answer was in an unsigned zone: no AD */
};

/* DNSSEC: what the iteration knows of the zone it asks. */
enum sec {
	SEC_OFF,      /* not validating (dnssec off, CD, a name-server address) */
	SEC_SECURE,   /* @keys are the zone's validated DNSKEYs */
	SEC_INSECURE, /* a parent proved there is no DS on the way */
};

/* A DNSKEY or DS fetch that must come before the question itself. */
enum fetch {
	FETCH_NONE,
	FETCH_DNSKEY, /* the DNSKEY set of @fetch_zone, validated against @fetch_ds */
	FETCH_DS,     /* the DS set of @fetch_zone (a deeper zone the same servers serve) */
};

struct rsv_iter {
	struct rsv_worker *w;
	struct rsv_iter *parent; /* resolving an address for it, or NULL */
	struct rsv_iter *child;	 /* resolving an address for us, or NULL */
	rsv_iter_done_fn done;
	void *arg;
	struct budget own_budget;
	struct budget *budget; /* the top-level one's */
	unsigned depth;
	ldns_rdf *qname; /* as asked, lower case */
	uint16_t qtype;
	ldns_rdf *target;    /* after CNAME/DNAME hops */
	ldns_rr_list *chain; /* CNAME/DNAME records so far */
	/* The zone cut being asked */
	ldns_rdf *zone;
	ldns_rdf *ns[MAX_NS];
	bool ns_tried[MAX_NS]; /* address resolution tried */
	unsigned n_ns;
	struct ns_addr addrs[MAX_ADDRS];
	unsigned n_addrs;
	unsigned referrals;
	bool minimise;
	unsigned min_labels; /* labels below the zone sent in a minimised query */
	/* The query in flight */
	uv_timer_t timer;
	struct out_sock *sock;
	unsigned cur; /* index in addrs */
	uint16_t id;
	ldns_rdf *sent_name; /* with its random case */
	uint16_t sent_type;
	bool sent_0x20;
	uint64_t sent_ms;
	bool finished;
	/* DNSSEC */
	bool validate;	     /* dnssec on, the client did not set CD */
	bool want_sigs;	     /* the client set DO: keep RRSIGs and NSECs in the answer */
	uint8_t cache_flags; /* RSV_CACHE_F_DO / _CD of the client's query */
	enum sec sec;
	ldns_rr_list *keys; /* SEC_SECURE: the DNSKEYs of @zone */
	enum fetch fetch;
	ldns_rdf *fetch_zone;
	ldns_rr_list *fetch_ds; /* FETCH_DNSKEY: what the keys must match (DS or anchor) */
};

static void step(struct rsv_iter *it);
static void begin(struct rsv_iter *it);
static void send_query(struct rsv_iter *it);

static uint64_t now_ms(void)
{
	return core_clock_mono_ms();
}

static const struct rsv_ruleset *ruleset(struct rsv_iter *it)
{
	rsv_worker_online(it->w);
	return rsv_worker_ruleset(it->w);
}

static void dname_text(const ldns_rdf *d, char *out, size_t size)
{
	char *s = d ? ldns_rdf2str(d) : NULL;
	snprintf(out, size, "%s", s ? s : "?");
	free(s);
}

static void sock_close_cb(uv_handle_t *h)
{
	struct out_sock *sk = h->data;
	core_free(sk->wbuf);
	core_free(sk->rbuf);
	core_free(sk);
}

static void drop_sock(struct rsv_iter *it)
{
	if (!it->sock)
		return;
	it->sock->it = NULL;
	if (it->sock->is_tcp)
		(void)uv_read_stop((uv_stream_t *)&it->sock->h.tcp);
	else
		(void)uv_udp_recv_stop(&it->sock->h.udp);
	uv_close(&it->sock->h.handle, sock_close_cb);
	it->sock = NULL;
}

static void clear_cut(struct rsv_iter *it)
{
	for (unsigned i = 0; i < it->n_ns; i++)
		ldns_rdf_deep_free(it->ns[i]);
	it->n_ns = 0;
	it->n_addrs = 0;
	ldns_rdf_deep_free(it->zone);
	it->zone = NULL;
	/* the keys were the old zone's */
	ldns_rr_list_deep_free(it->keys);
	it->keys = NULL;
}

static void clear_fetch(struct rsv_iter *it)
{
	it->fetch = FETCH_NONE;
	ldns_rdf_deep_free(it->fetch_zone);
	it->fetch_zone = NULL;
	ldns_rr_list_deep_free(it->fetch_ds);
	it->fetch_ds = NULL;
}

/* Ask for the DNSKEY set of @zone (taken) before anything else; it must match @ds (taken). */
static void want_keys(struct rsv_iter *it, ldns_rdf *zone, ldns_rr_list *ds)
{
	clear_fetch(it);
	it->fetch = FETCH_DNSKEY;
	it->fetch_zone = zone;
	it->fetch_ds = ds;
}

static void iter_close_cb(uv_handle_t *h)
{
	struct rsv_iter *it = h->data;
	core_free(it);
}

/* Free @it (after its end or a cancel): its child too. */
static void iter_free(struct rsv_iter *it)
{
	if (it->child) {
		it->child->parent = NULL;
		rsv_iter_cancel(it->child);
		it->child = NULL;
	}
	drop_sock(it);
	clear_cut(it);
	ldns_rdf_deep_free(it->qname);
	ldns_rdf_deep_free(it->target);
	ldns_rdf_deep_free(it->sent_name);
	ldns_rr_list_deep_free(it->chain);
	ldns_rr_list_deep_free(it->keys);
	ldns_rdf_deep_free(it->fetch_zone);
	ldns_rr_list_deep_free(it->fetch_ds);
	it->finished = true;
	uv_timer_stop(&it->timer);
	uv_close((uv_handle_t *)&it->timer, iter_close_cb);
}

void rsv_iter_cancel(struct rsv_iter *it)
{
	if (!it || it->finished)
		return;
	it->done = NULL;
	iter_free(it);
}

/* ---- the infrastructure cache --------------------------------------------------------------- */

/* The cache key of (@name, @type) with @flags; @lower receives the name in lower case. */
static void cache_key(struct rsv_worker *w, const ldns_rdf *name, uint16_t type, uint8_t flags,
		      uint8_t *lower, struct rsv_cache_key *key)
{
	size_t n = ldns_rdf_size(name);
	memcpy(lower, ldns_rdf_data(name), n);
	for (size_t i = 0; i < n; i++) {
		if (lower[i] >= 'A' && lower[i] <= 'Z')
			lower[i] = (uint8_t)(lower[i] + 32);
	}
	*key = (struct rsv_cache_key){
		.qname = lower,
		.qname_len = (uint8_t)n,
		.qtype = type,
		.qclass = RSV_CLASS_IN,
		.flags = flags,
	};
	rsv_cache_key_hash(w->server->cache, key);
}

/* Store @rrs (answer) and @extra (additional) as the infrastructure entry (@name, @type). */
static void cache_put(struct rsv_worker *w, const ldns_rdf *name, uint16_t type,
		      const ldns_rr_list *rrs, const ldns_rr_list *extra)
{
	if (!rrs || ldns_rr_list_rr_count(rrs) == 0 || ldns_rdf_size(name) > RSV_MAX_NAME)
		return;
	ldns_pkt *p = ldns_pkt_new();
	if (!p)
		return;
	ldns_pkt_set_qr(p, true);
	ldns_rr *q = ldns_rr_new();
	if (!q) {
		ldns_pkt_free(p);
		return;
	}
	ldns_rr_set_owner(q, ldns_rdf_clone(name));
	ldns_rr_set_type(q, (ldns_rr_type)type);
	ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
	ldns_rr_set_question(q, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	uint32_t ttl = INFRA_MAX_TTL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_ttl(rr) < ttl)
			ttl = ldns_rr_ttl(rr);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, ldns_rr_clone(rr));
	}
	for (size_t i = 0; extra && i < ldns_rr_list_rr_count(extra); i++)
		ldns_pkt_push_rr(p, LDNS_SECTION_ADDITIONAL,
				 ldns_rr_clone(ldns_rr_list_rr(extra, i)));
	uint8_t *wire = NULL;
	size_t len = 0;
	if (ttl > 0 && ldns_pkt2wire(&wire, p, &len) == LDNS_STATUS_OK) {
		struct rsv_query sq = {.qtype = type, .qclass = RSV_CLASS_IN, .has_question = true};
		struct rsv_cache_key key;
		cache_key(w, name, type, RSV_CACHE_F_INFRA, sq.qname, &key);
		sq.qname_len = key.qname_len;
		struct rsv_scan *sc = core_malloc(sizeof(*sc));
		if (sc && rsv_wire_scan_response(wire, len, &sq, sc) == 0 && !sc->too_many_rrs) {
			struct rsv_cache_msg cm = {wire, len, sc->ttl_offsets, sc->n_ttls, ttl};
			(void)rsv_cache_insert(w->server->cache, &key, &cm, core_clock_mono_s());
		}
		core_free(sc);
	}
	free(wire);
	ldns_pkt_free(p);
}

/* The infrastructure entry (@name, @type), or NULL. */
static ldns_pkt *cache_get(struct rsv_worker *w, const ldns_rdf *name, uint16_t type)
{
	if (ldns_rdf_size(name) > RSV_MAX_NAME)
		return NULL;
	uint8_t lower[RSV_MAX_NAME];
	struct rsv_cache_key key;
	cache_key(w, name, type, RSV_CACHE_F_INFRA, lower, &key);
	uint8_t *buf = core_malloc(CACHE_BUF);
	if (!buf)
		return NULL;
	size_t len = 0;
	ldns_pkt *p = NULL;
	if (rsv_cache_lookup(w->server->cache, &key, core_clock_mono_s(), 0, 0, buf, CACHE_BUF,
			     &len) == RSV_CACHE_HIT &&
	    ldns_wire2pkt(&p, buf, len) != LDNS_STATUS_OK)
		p = NULL;
	core_free(buf);
	return p;
}

/* ---- the zone cut --------------------------------------------------------------------------- */

static bool addr_allowed(struct rsv_iter *it, const struct sockaddr_storage *ss)
{
	if (ruleset(it)->cfg->server.ns_loopback)
		return true;
	if (ss->ss_family == AF_INET) {
		const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
		return a[0] != 127 && a[0] != 0;
	}
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return !IN6_IS_ADDR_LOOPBACK(a6) && !IN6_IS_ADDR_UNSPECIFIED(a6);
}

static void add_addr(struct rsv_iter *it, const struct root_addr *a)
{
	if (it->n_addrs == MAX_ADDRS || !addr_allowed(it, &a->ss))
		return;
	for (unsigned i = 0; i < it->n_addrs; i++) {
		if (same_addr(&it->addrs[i].ss, &a->ss))
			return;
	}
	struct ns_addr *n = &it->addrs[it->n_addrs++];
	memset(n, 0, sizeof(*n));
	n->ss = a->ss;
	n->len = a->len;
	uint16_t port = htons(ruleset(it)->cfg->server.ns_port);
	if (n->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&n->ss)->sin_port = port;
	else
		((struct sockaddr_in6 *)&n->ss)->sin6_port = port;
}

/* Addresses of @name in @rrs (A/AAAA records owned by it). */
static void add_addrs_of(struct rsv_iter *it, const ldns_rdf *name, const ldns_rr_list *rrs)
{
	for (size_t i = 0; rrs && i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		struct root_addr a;
		if (ldns_dname_compare(ldns_rr_owner(rr), name) == 0 && addr_from_rr(rr, &a))
			add_addr(it, &a);
	}
}

/* Addresses of @name from the infrastructure cache. */
static void add_cached_addrs(struct rsv_iter *it, const ldns_rdf *name)
{
	static const uint16_t types[] = {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA};
	for (size_t t = 0; t < 2; t++) {
		ldns_pkt *p = cache_get(it->w, name, types[t]);
		if (p) {
			add_addrs_of(it, name, ldns_pkt_answer(p));
			ldns_pkt_free(p);
		}
	}
}

/* Make @zone (taken) with the NS records @ns (their targets) and glue @glue the cut asked. */
static void set_cut(struct rsv_iter *it, ldns_rdf *zone, const ldns_rr_list *ns,
		    const ldns_rr_list *glue)
{
	clear_cut(it);
	it->zone = zone;
	it->min_labels = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns) && it->n_ns < MAX_NS; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || !ldns_rr_rdf(rr, 0))
			continue;
		ldns_rdf *name = ldns_rdf_clone(ldns_rr_rdf(rr, 0));
		if (!name)
			continue;
		ldns_dname2canonical(name);
		it->ns_tried[it->n_ns] = false;
		it->ns[it->n_ns++] = name;
		add_addrs_of(it, name, glue);
		add_cached_addrs(it, name);
	}
}

/* The validated DNSKEYs of @zone from the cache (only validated sets are stored), or NULL. */
static ldns_rr_list *cached_keys(struct rsv_iter *it, const ldns_rdf *zone)
{
	ldns_pkt *p = cache_get(it->w, zone, LDNS_RR_TYPE_DNSKEY);
	if (!p)
		return NULL;
	ldns_rr_list *keys = ldns_rr_list_clone(ldns_pkt_answer(p));
	ldns_pkt_free(p);
	return keys;
}

/*
 * The closest delegation known for the target: a cached one, or the root. Validating, a cut is
 * only a starting point when the chain of trust down to it is known: its validated DNSKEYs are
 * cached (secure), or a zone at or above it was proved unsigned (insecure); otherwise the walk
 * goes on up, to the root and its keys (fetched and checked against the trust anchor first).
 */
static void closest_cut(struct rsv_iter *it)
{
	uint8_t labels = ldns_dname_label_count(it->target);
	ldns_pkt *deepest = NULL; /* the deepest cached delegation, validating */
	ldns_rdf *deepest_name = NULL;
	it->sec = it->validate ? SEC_SECURE : SEC_OFF;
	/* DS records live in the parent zone: start above the name itself */
	for (uint16_t k = it->qtype == LDNS_RR_TYPE_DS ? 1 : 0; k < labels; k++) {
		ldns_rdf *name = ldns_dname_clone_from(it->target, k);
		if (!name)
			break;
		ldns_pkt *p = cache_get(it->w, name, LDNS_RR_TYPE_NS);
		if (p && !it->validate) {
			set_cut(it, name, ldns_pkt_answer(p), ldns_pkt_additional(p));
			ldns_pkt_free(p);
			if (it->n_ns > 0)
				return;
			clear_cut(it);
			continue;
		}
		if (p) {
			ldns_rr_list *keys = cached_keys(it, name);
			if (keys) {
				set_cut(it, name, ldns_pkt_answer(p), ldns_pkt_additional(p));
				ldns_pkt_free(p);
				it->keys = keys;
				ldns_pkt_free(deepest);
				ldns_rdf_deep_free(deepest_name);
				deepest = NULL;
				deepest_name = NULL;
				if (it->n_ns > 0)
					return;
				clear_cut(it);
				continue;
			}
			if (!deepest) {
				deepest = p;
				deepest_name = ldns_rdf_clone(name);
				p = NULL;
			}
		}
		ldns_pkt_free(p);
		ldns_pkt *marker = deepest ? cache_get(it->w, name, LDNS_RR_TYPE_DS) : NULL;
		ldns_rdf_deep_free(name);
		if (marker) {
			/* @name has no DS (proved when it was cached): all below is insecure */
			ldns_pkt_free(marker);
			set_cut(it, deepest_name, ldns_pkt_answer(deepest),
				ldns_pkt_additional(deepest));
			ldns_pkt_free(deepest);
			it->sec = SEC_INSECURE;
			if (it->n_ns > 0)
				return;
			clear_cut(it);
			deepest = NULL;
			deepest_name = NULL;
			it->sec = SEC_SECURE;
		}
	}
	ldns_pkt_free(deepest);
	ldns_rdf_deep_free(deepest_name);
	clear_cut(it);
	it->zone = ldns_dname_new_frm_str(".");
	const struct rsv_ruleset *rs = ruleset(it);
	for (size_t i = 0; rs->roots && i < rs->roots->n; i++)
		add_addr(it, &rs->roots->a[i]);
	if (it->validate && it->zone) {
		it->keys = cached_keys(it, it->zone);
		if (!it->keys)
			want_keys(it, ldns_rdf_clone(it->zone),
				  rs->anchor ? ldns_rr_list_clone(rs->anchor) : NULL);
	}
}

/* ---- ending --------------------------------------------------------------------------------- */

static void child_done(struct rsv_iter *parent, struct rsv_iter *child, const ldns_rr_list *rrs);

static void finish_fail_ede(struct rsv_iter *it, enum rsv_ede ede, const char *why);

static void finish_fail(struct rsv_iter *it, const char *why)
{
	finish_fail_ede(it, RSV_EDE_NO_REACHABLE_AUTHORITY, why);
}

/* Validation failed: SERVFAIL with the EDE of @f. */
static void finish_bogus(struct rsv_iter *it, const struct rsv_val_fail *f)
{
	char why[260];
	snprintf(why, sizeof(why), "DNSSEC: %s", f->why);
	finish_fail_ede(it, f->ede, why);
}

static void finish_fail_ede(struct rsv_iter *it, enum rsv_ede ede, const char *why)
{
	struct rsv_iter *parent = it->parent;
	if (parent) {
		parent->child = NULL;
		it->parent = NULL;
		iter_free(it);
		child_done(parent, NULL, NULL);
		return;
	}
	rsv_iter_done_fn done = it->done;
	void *arg = it->arg;
	it->done = NULL;
	char text[300];
	char zone[128];
	dname_text(it->zone, zone, sizeof(zone));
	snprintf(text, sizeof(text), "%s (zone %s)", why, zone);
	if (core_log_enabled(CORE_LOG_DEBUG)) {
		char name[256];
		dname_text(it->qname, name, sizeof(name));
		core_log_debug("iter", "%s: SERVFAIL, EDE %u: %s", name, (unsigned)ede, text);
	}
	iter_free(it);
	if (done)
		done(arg, NULL, 0, ede, text);
}

/* Add a copy of @rr to @p's @section, owner and names in its data in lower case. */
static void push_canonical(ldns_pkt *p, ldns_pkt_section section, const ldns_rr *rr)
{
	ldns_rr *c = ldns_rr_clone(rr);
	if (!c)
		return;
	ldns_rr2canonical(c);
	ldns_pkt_push_rr(p, section, c);
}

/* Append to @out copies of the RRSIGs of @list over (@name, @type). */
static void push_sigs(ldns_rr_list *out, const ldns_rr_list *list, const ldns_rdf *name,
		      uint16_t type)
{
	for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);
		const ldns_rdf *tc = ldns_rr_rrsig_typecovered(rr);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && tc &&
		    ldns_rdf2rr_type(tc) == type &&
		    ldns_dname_compare(ldns_rr_owner(rr), name) == 0)
			ldns_rr_list_push_rr(out, ldns_rr_clone(rr));
	}
}

/*
 * At the end of a CNAME chain, store the target's own answer (@wire, a message for the target's
 * question) in the answer cache as a client's query of it would have: the next query for the
 * name, or another CNAME to it, is answered without asking again.
 */
static void cache_target_answer(struct rsv_iter *it, const uint8_t *wire, size_t len)
{
	struct rsv_query tq = {.qtype = it->qtype, .qclass = RSV_CLASS_IN, .has_question = true};
	struct rsv_cache_key key;
	cache_key(it->w, it->target, it->qtype, it->cache_flags, tq.qname, &key);
	tq.qname_len = key.qname_len;
	struct rsv_scan *sc = core_malloc(sizeof(*sc));
	if (sc && rsv_wire_scan_response(wire, len, &tq, sc) == 0 && !sc->too_many_rrs &&
	    sc->ancount > 0 && sc->min_ttl != UINT32_MAX && sc->min_ttl > 0) {
		uint32_t ttl = sc->min_ttl;
		uint32_t max = ruleset(it)->cfg->server.cache_max_ttl_s;
		struct rsv_cache_msg cm = {wire, len, sc->ttl_offsets, sc->n_ttls,
					   ttl > max ? max : ttl};
		(void)rsv_cache_insert(it->w->server->cache, &key, &cm, core_clock_mono_s());
	}
	core_free(sc);
}

/* The target's answer from the answer cache (fresh, positive), or NULL. */
static ldns_pkt *cached_target_answer(struct rsv_iter *it)
{
	if (ldns_rdf_size(it->target) > RSV_MAX_NAME)
		return NULL;
	uint8_t lower[RSV_MAX_NAME];
	struct rsv_cache_key key;
	cache_key(it->w, it->target, it->qtype, it->cache_flags, lower, &key);
	uint8_t *buf = core_malloc(CACHE_BUF);
	size_t len = 0;
	ldns_pkt *p = NULL;
	if (buf &&
	    rsv_cache_lookup(it->w->server->cache, &key, core_clock_mono_s(), 0, 0, buf, CACHE_BUF,
			     &len) == RSV_CACHE_HIT &&
	    ldns_wire2pkt(&p, buf, len) != LDNS_STATUS_OK)
		p = NULL;
	core_free(buf);
	if (p && ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR) {
		ldns_pkt_free(p);
		p = NULL;
	}
	return p;
}

/* The answer: the chain, then @final (answer RRs of the target), @soa (negative answers). */
static void finish_ok(struct rsv_iter *it, ldns_pkt_rcode rcode, const ldns_rr_list *final,
		      const ldns_rr *soa, const ldns_pkt *from)
{
	if (it->parent) {
		struct rsv_iter *parent = it->parent;
		parent->child = NULL;
		it->parent = NULL;
		ldns_rr_list *copy = final ? ldns_rr_list_clone(final) : NULL;
		ldns_rdf *name = ldns_rdf_clone(it->qname);
		iter_free(it);
		if (copy && name)
			cache_put(parent->w, name, LDNS_RR_TYPE_A, copy, NULL);
		child_done(parent, NULL, copy);
		ldns_rr_list_deep_free(copy);
		ldns_rdf_deep_free(name);
		return;
	}
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *q = ldns_rr_new();
	if (!p || !q) {
		ldns_pkt_free(p);
		ldns_rr_free(q);
		finish_fail(it, "out of memory");
		return;
	}
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	/* AD: every step of the answer validated (RFC 4035 §3.2.3) */
	ldns_pkt_set_ad(p, it->validate && it->sec == SEC_SECURE && !it->budget->insecure);
	ldns_rr_set_owner(q, ldns_rdf_clone(it->qname));
	ldns_rr_set_type(q, (ldns_rr_type)it->qtype);
	ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
	ldns_rr_set_question(q, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	/* lower case: owners and targets may carry the random case of our queries (0x20) */
	for (size_t i = 0; it->chain && i < ldns_rr_list_rr_count(it->chain); i++)
		push_canonical(p, LDNS_SECTION_ANSWER, ldns_rr_list_rr(it->chain, i));
	for (size_t i = 0; final && i < ldns_rr_list_rr_count(final); i++)
		push_canonical(p, LDNS_SECTION_ANSWER, ldns_rr_list_rr(final, i));
	if (soa)
		push_canonical(p, LDNS_SECTION_AUTHORITY, soa);
	if (it->want_sigs && from) {
		/* DNSSEC data for a client that asked (DO): the signatures, the denial records */
		ldns_rr_list *extra = ldns_rr_list_new();
		if (extra && final && ldns_rr_list_rr_count(final))
			push_sigs(extra, ldns_pkt_answer(from), it->target, it->qtype);
		for (size_t i = 0; extra && i < ldns_rr_list_rr_count(extra); i++)
			push_canonical(p, LDNS_SECTION_ANSWER, ldns_rr_list_rr(extra, i));
		ldns_rr_list_deep_free(extra);
		/* the proofs: of a negative answer (with the SOA's signature), or that the
		 * name of a wildcard answer does not exist itself (RFC 4035 §3.1.3.3) */
		const ldns_rr_list *auth = ldns_pkt_authority(from);
		for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(auth, i);
			ldns_rr_type t = ldns_rr_get_type(rr);
			if (t == LDNS_RR_TYPE_RRSIG && ldns_rr_rrsig_typecovered(rr))
				t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
			if (t == LDNS_RR_TYPE_NSEC || t == LDNS_RR_TYPE_NSEC3 ||
			    (soa && t == LDNS_RR_TYPE_SOA &&
			     ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG))
				push_canonical(p, LDNS_SECTION_AUTHORITY, rr);
		}
	}
	uint8_t *wire = NULL;
	size_t len = 0;
	ldns_status st = ldns_pkt2wire(&wire, p, &len);
	if (st == LDNS_STATUS_OK && rcode == LDNS_RCODE_NOERROR && final &&
	    ldns_rr_list_rr_count(final) > 0 && ldns_rr_list_rr_count(it->chain) > 0) {
		/* the same answer without the chain, under the target's own question */
		ldns_rr_list *all = ldns_pkt_answer(p);
		size_t skip = ldns_rr_list_rr_count(it->chain);
		ldns_pkt *tp = ldns_pkt_clone(p);
		ldns_rr_list *tail = tp ? ldns_rr_list_new() : NULL;
		for (size_t i = skip; tail && i < ldns_rr_list_rr_count(all); i++)
			ldns_rr_list_push_rr(tail, ldns_rr_clone(ldns_rr_list_rr(all, i)));
		ldns_rr *tq = tp ? ldns_rr_new() : NULL;
		if (tp && tail && tq) {
			ldns_rr_list_deep_free(ldns_pkt_answer(tp));
			ldns_pkt_set_answer(tp, tail);
			ldns_pkt_set_ancount(tp, (uint16_t)ldns_rr_list_rr_count(tail));
			tail = NULL;
			ldns_rr_set_owner(tq, ldns_rdf_clone(it->target));
			ldns_rr_set_type(tq, (ldns_rr_type)it->qtype);
			ldns_rr_set_class(tq, LDNS_RR_CLASS_IN);
			ldns_rr_set_question(tq, true);
			ldns_rr_list_deep_free(ldns_pkt_question(tp));
			ldns_rr_list *ql = ldns_rr_list_new();
			ldns_rr_list_push_rr(ql, tq);
			tq = NULL;
			ldns_pkt_set_question(tp, ql);
			ldns_pkt_set_qdcount(tp, 1);
			uint8_t *tw = NULL;
			size_t tl = 0;
			if (ldns_pkt2wire(&tw, tp, &tl) == LDNS_STATUS_OK)
				cache_target_answer(it, tw, tl);
			free(tw);
		}
		ldns_rr_free(tq);
		ldns_rr_list_deep_free(tail);
		ldns_pkt_free(tp);
	}
	ldns_pkt_free(p);
	if (st != LDNS_STATUS_OK) {
		free(wire);
		finish_fail(it, "cannot build the answer");
		return;
	}
	rsv_iter_done_fn done = it->done;
	void *arg = it->arg;
	it->done = NULL;
	iter_free(it);
	if (done)
		done(arg, wire, len, RSV_EDE_NONE, NULL);
	free(wire);
}

/* ---- choosing and asking a server ----------------------------------------------------------- */

static struct rsv_iter *iter_new(struct rsv_worker *w, const ldns_rdf *name, uint16_t qtype)
{
	struct rsv_iter *it = core_calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->w = w;
	it->qname = ldns_rdf_clone(name);
	it->target = ldns_rdf_clone(name);
	it->chain = ldns_rr_list_new();
	if (!it->qname || !it->target || !it->chain) {
		ldns_rdf_deep_free(it->qname);
		ldns_rdf_deep_free(it->target);
		ldns_rr_list_free(it->chain);
		core_free(it);
		return NULL;
	}
	ldns_dname2canonical(it->qname);
	ldns_dname2canonical(it->target);
	it->qtype = qtype;
	it->minimise = true;
	uv_timer_init(&w->loop, &it->timer);
	it->timer.data = it;
	return it;
}

/* A name server of the cut without an address: resolve its address (a child iteration). */
static bool resolve_ns_address(struct rsv_iter *it)
{
	if (it->depth >= MAX_DEPTH)
		return false;
	for (unsigned i = 0; i < it->n_ns; i++) {
		if (it->ns_tried[i])
			continue;
		it->ns_tried[i] = true;
		/* a name inside the zone without glue cannot be found through that zone */
		if (ldns_dname_is_subdomain(it->ns[i], it->zone) ||
		    ldns_dname_compare(it->ns[i], it->zone) == 0)
			continue;
		/* nor one an ancestor is resolving already (a delegation loop) */
		bool loop = false;
		for (struct rsv_iter *a = it; a; a = a->parent) {
			if (ldns_dname_compare(a->qname, it->ns[i]) == 0)
				loop = true;
		}
		if (loop)
			continue;
		struct rsv_iter *c = iter_new(it->w, it->ns[i], LDNS_RR_TYPE_A);
		if (!c)
			return false;
		c->parent = it;
		c->budget = it->budget;
		c->depth = it->depth + 1;
		it->child = c;
		begin(c);
		return true;
	}
	return false;
}

static void child_done(struct rsv_iter *it, struct rsv_iter *unused, const ldns_rr_list *rrs)
{
	(void)unused;
	for (size_t i = 0; rrs && i < ldns_rr_list_rr_count(rrs); i++) {
		struct root_addr a;
		if (addr_from_rr(ldns_rr_list_rr(rrs, i), &a))
			add_addr(it, &a);
	}
	step(it);
}

/* The next thing to do: ask the best server not failed yet, resolve a name server's address,
 * or give up. */
static void step(struct rsv_iter *it)
{
	if (it->budget->queries >= MAX_QUERIES || now_ms() > it->budget->deadline_ms) {
		finish_fail(it, "too much work for one query (a lame or looping delegation?)");
		return;
	}
	uint64_t now = now_ms();
	int best = -1;
	uint32_t best_rtt = UINT32_MAX;
	for (unsigned i = 0; i < it->n_addrs; i++) {
		if (it->addrs[i].failed)
			continue;
		struct server_stat *s = server_of(it->w, &it->addrs[i].ss);
		uint32_t rtt = s->srtt_ms ? s->srtt_ms : RTO_UNKNOWN_MS / 2;
		if (s->dead_until > now)
			rtt += 100000; /* last resort */
		/* a little randomness spreads queries over servers of equal speed */
		rtt += random32(it->w) % 8;
		/* one that just timed out is asked again, with a longer wait, after the others */
		rtt += it->addrs[i].timeouts * 1000u;
		if (rtt < best_rtt) {
			best_rtt = rtt;
			best = (int)i;
		}
	}
	if (best >= 0) {
		it->cur = (unsigned)best;
		send_query(it);
		return;
	}
	if (resolve_ns_address(it))
		return;
	finish_fail(it, "no name server answered");
}

static void timeout_cb(uv_timer_t *t);
static void udp_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void udp_recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
			const struct sockaddr *addr, unsigned flags);
static void send_tcp(struct rsv_iter *it, const uint8_t *wire, size_t len);

/* The name to ask the current server: the next label below its zone when minimising. */
static ldns_rdf *name_to_send(struct rsv_iter *it, uint16_t *type)
{
	if (it->fetch != FETCH_NONE) {
		*type = it->fetch == FETCH_DNSKEY ? LDNS_RR_TYPE_DNSKEY : LDNS_RR_TYPE_DS;
		return ldns_rdf_clone(it->fetch_zone);
	}
	uint8_t zl = ldns_dname_label_count(it->zone);
	uint8_t tl = ldns_dname_label_count(it->target);
	*type = it->qtype;
	if (it->minimise && tl > zl + it->min_labels + 1) {
		*type = LDNS_RR_TYPE_A;
		return ldns_dname_clone_from(it->target, (uint16_t)(tl - zl - it->min_labels - 1));
	}
	return ldns_rdf_clone(it->target);
}

/* Random case for the letters of @name (0x20). */
static void randomise_case(struct rsv_worker *w, ldns_rdf *name)
{
	uint8_t *d = ldns_rdf_data(name);
	size_t n = ldns_rdf_size(name);
	uint32_t bits = 0;
	for (size_t i = 0, k = 32; i < n; i++, k++) {
		if (k == 32) {
			bits = random32(w);
			k = 0;
		}
		uint8_t c = d[i] | 0x20;
		if (c >= 'a' && c <= 'z' && ((bits >> k) & 1))
			d[i] ^= 0x20;
	}
}

/* The query for (sent_name, sent_type) with ID @it->id, in wire form (free()), or NULL. */
static uint8_t *build_query(struct rsv_iter *it, size_t *len)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_rdf_clone(it->sent_name), (ldns_rr_type)it->sent_type,
					 LDNS_RR_CLASS_IN, 0);
	uint8_t *wire = NULL;
	if (!p)
		return NULL;
	ldns_pkt_set_id(p, it->id);
	ldns_pkt_set_edns_udp_size(p, EDNS_SIZE);
	if (it->validate || it->want_sigs)
		ldns_pkt_set_edns_do(p, true);
	if (ldns_pkt2wire(&wire, p, len) != LDNS_STATUS_OK) {
		free(wire);
		wire = NULL;
	}
	ldns_pkt_free(p);
	return wire;
}

static void send_query(struct rsv_iter *it)
{
	struct ns_addr *a = &it->addrs[it->cur];
	struct server_stat *s = server_of(it->w, &a->ss);
	drop_sock(it);
	ldns_rdf_deep_free(it->sent_name);
	it->sent_name = name_to_send(it, &it->sent_type);
	if (!it->sent_name) {
		finish_fail(it, "out of memory");
		return;
	}
	ldns_dname2canonical(it->sent_name);
	it->sent_0x20 = !s->no_0x20;
	if (it->sent_0x20)
		randomise_case(it->w, it->sent_name);
	it->id = (uint16_t)random32(it->w);
	size_t len = 0;
	uint8_t *wire = build_query(it, &len);
	if (!wire) {
		finish_fail(it, "cannot build a query");
		return;
	}
	it->budget->queries++;
	it->sent_ms = now_ms();
	uint32_t rto = s->srtt_ms ? s->srtt_ms * 4 + 50 : RTO_UNKNOWN_MS;
	/* each timeout of this address in this resolution doubles the wait: a server that is
	 * only slow for a moment answers one of the tries in time */
	rto <<= a->timeouts;
	rto = rto < RTO_MIN_MS ? RTO_MIN_MS : rto > RTO_MAX_MS ? RTO_MAX_MS : rto;
	if (core_log_enabled(CORE_LOG_DEBUG)) {
		char n[256], z[256];
		dname_text(it->sent_name, n, sizeof(n));
		dname_text(it->zone, z, sizeof(z));
		core_log_debug("iter", "ask %s (zone %s) type %u, wait %u ms", n, z,
			       (unsigned)it->sent_type, rto);
	}
	uv_timer_start(&it->timer, timeout_cb, rto, 0);

	struct out_sock *sk = core_calloc(1, sizeof(*sk));
	if (!sk) {
		free(wire);
		finish_fail(it, "out of memory");
		return;
	}
	sk->it = it;
	sk->h.handle.data = sk;
	it->sock = sk;
	uv_udp_init(&it->w->loop, &sk->h.udp);
	sk->h.udp.data = sk;
	uv_buf_t b = uv_buf_init((char *)wire, (unsigned)len);
	int r = uv_udp_connect(&sk->h.udp, (const struct sockaddr *)&a->ss);
	if (r == 0)
		r = uv_udp_try_send(&sk->h.udp, &b, 1, NULL) == (int)len ? 0 : -EIO;
	if (r == 0)
		r = uv_udp_recv_start(&sk->h.udp, udp_alloc_cb, udp_recv_cb);
	free(wire);
	if (r != 0) {
		/* this server is unreachable from here: the next one */
		a->failed = true;
		drop_sock(it);
		uv_timer_stop(&it->timer);
		step(it);
	}
}

static void timeout_cb(uv_timer_t *t)
{
	struct rsv_iter *it = t->data;
	struct ns_addr *a = &it->addrs[it->cur];
	struct server_stat *s = server_of(it->w, &a->ss);
	if (s->fails < 255)
		s->fails++;
	if (s->fails >= DEAD_AFTER)
		s->dead_until = now_ms() + DEAD_MS;
	/* a timeout doubles what we expect of it next time */
	s->srtt_ms = s->srtt_ms ? (s->srtt_ms * 2 > RTO_MAX_MS ? RTO_MAX_MS : s->srtt_ms * 2) :
				  RTO_UNKNOWN_MS;
	if (++a->timeouts >= ADDR_TRIES)
		a->failed = true;
	drop_sock(it);
	step(it);
}

/* ---- answers -------------------------------------------------------------------------------- */

static void handle(struct rsv_iter *it, const uint8_t *msg, size_t len, bool via_tcp);

static void udp_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct out_sock *sk = h->data;
	(void)suggested;
	if (!sk->rbuf)
		sk->rbuf = core_malloc(65536);
	*buf = uv_buf_init((char *)sk->rbuf, sk->rbuf ? 65536 : 0);
}

static void udp_recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
			const struct sockaddr *addr, unsigned flags)
{
	struct out_sock *sk = h->data;
	(void)buf;
	(void)addr;
	(void)flags;
	if (!sk->it || nread <= 0)
		return;
	handle(sk->it, sk->rbuf, (size_t)nread, false);
}

static void tcp_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct out_sock *sk = h->data;
	(void)suggested;
	if (sk->rlen == sk->rcap) {
		size_t cap = sk->rcap ? sk->rcap * 2 : 4096;
		if (cap > 65537 + 4096)
			cap = 65537 + 4096;
		uint8_t *p = cap > sk->rcap ? core_realloc(sk->rbuf, cap) : NULL;
		if (p) {
			sk->rbuf = p;
			sk->rcap = cap;
		}
	}
	*buf = uv_buf_init((char *)sk->rbuf + sk->rlen, (unsigned)(sk->rcap - sk->rlen));
}

static void tcp_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct out_sock *sk = st->data;
	(void)buf;
	struct rsv_iter *it = sk->it;
	if (!it)
		return;
	if (nread < 0) {
		it->addrs[it->cur].failed = true;
		uv_timer_stop(&it->timer);
		drop_sock(it);
		step(it);
		return;
	}
	sk->rlen += (size_t)nread;
	if (sk->rlen < 2)
		return;
	size_t need = (size_t)sk->rbuf[0] << 8 | sk->rbuf[1];
	if (sk->rlen < need + 2)
		return;
	handle(it, sk->rbuf + 2, need, true);
}

static void tcp_write_cb(uv_write_t *wr, int status)
{
	struct out_sock *sk = wr->data;
	if (status != 0 && sk->it) {
		struct rsv_iter *it = sk->it;
		it->addrs[it->cur].failed = true;
		uv_timer_stop(&it->timer);
		drop_sock(it);
		step(it);
	}
}

static void tcp_connect_cb(uv_connect_t *c, int status)
{
	struct out_sock *sk = c->data;
	struct rsv_iter *it = sk->it;
	if (!it)
		return;
	if (status != 0) {
		it->addrs[it->cur].failed = true;
		uv_timer_stop(&it->timer);
		drop_sock(it);
		step(it);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)sk->wbuf, (unsigned)sk->wlen);
	sk->write.data = sk;
	if (uv_write(&sk->write, (uv_stream_t *)&sk->h.tcp, &b, 1, tcp_write_cb) != 0 ||
	    uv_read_start((uv_stream_t *)&sk->h.tcp, tcp_alloc_cb, tcp_read_cb) != 0) {
		it->addrs[it->cur].failed = true;
		uv_timer_stop(&it->timer);
		drop_sock(it);
		step(it);
	}
}

/* The answer was truncated: the same question to the same server over TCP. */
static void send_tcp(struct rsv_iter *it, const uint8_t *wire, size_t len)
{
	drop_sock(it);
	struct out_sock *sk = core_calloc(1, sizeof(*sk));
	uint8_t *wb = core_malloc(len + 2);
	if (!sk || !wb) {
		core_free(sk);
		core_free(wb);
		finish_fail(it, "out of memory");
		return;
	}
	wb[0] = (uint8_t)(len >> 8);
	wb[1] = (uint8_t)len;
	memcpy(wb + 2, wire, len);
	sk->wbuf = wb;
	sk->wlen = len + 2;
	sk->is_tcp = true;
	sk->it = it;
	it->sock = sk;
	uv_tcp_init(&it->w->loop, &sk->h.tcp);
	sk->h.tcp.data = sk;
	sk->connect.data = sk;
	uv_timer_start(&it->timer, timeout_cb, RTO_MAX_MS, 0);
	if (uv_tcp_connect(&sk->connect, &sk->h.tcp,
			   (const struct sockaddr *)&it->addrs[it->cur].ss, tcp_connect_cb) != 0) {
		it->addrs[it->cur].failed = true;
		uv_timer_stop(&it->timer);
		drop_sock(it);
		step(it);
	}
}

/* The RRs of @list owned by @name with type @type (any type when 0). */
static ldns_rr_list *select_rrs(const ldns_rr_list *list, const ldns_rdf *name, uint16_t type)
{
	ldns_rr_list *out = ldns_rr_list_new();
	for (size_t i = 0; out && list && i < ldns_rr_list_rr_count(list); i++) {
		ldns_rr *rr = ldns_rr_list_rr(list, i);
		if ((type == 0 || ldns_rr_get_type(rr) == type) &&
		    ldns_dname_compare(ldns_rr_owner(rr), name) == 0)
			ldns_rr_list_push_rr(out, rr); /* borrowed: free with ldns_rr_list_free */
	}
	return out;
}

static const ldns_rr *find_soa(const ldns_pkt *p)
{
	const ldns_rr_list *auth = ldns_pkt_authority(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		if (ldns_rr_get_type(ldns_rr_list_rr(auth, i)) == LDNS_RR_TYPE_SOA)
			return ldns_rr_list_rr(auth, i);
	}
	return NULL;
}

/* A referral to a zone strictly below ours and at or above the target, or NULL. */
static ldns_rdf *referral_zone(struct rsv_iter *it, const ldns_pkt *p, const ldns_rdf *asked)
{
	const ldns_rr_list *auth = ldns_pkt_authority(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS)
			continue;
		const ldns_rdf *owner = ldns_rr_owner(rr);
		if (!ldns_dname_is_subdomain(owner, it->zone))
			return NULL; /* upward or sideways: lame */
		if (ldns_dname_compare(owner, asked) != 0 && !ldns_dname_is_subdomain(asked, owner))
			return NULL; /* not on the way to what we asked */
		ldns_rdf *z = ldns_rdf_clone(owner);
		if (z)
			ldns_dname2canonical(z);
		return z;
	}
	return NULL;
}

static void take_referral(struct rsv_iter *it, const ldns_pkt *p, ldns_rdf *zone)
{
	if (++it->referrals > MAX_REFERRALS) {
		ldns_rdf_deep_free(zone);
		finish_fail(it, "too many referrals");
		return;
	}
	ldns_rr_list *ns = select_rrs(ldns_pkt_authority(p), zone, LDNS_RR_TYPE_NS);
	/* glue: addresses of the NS names, from inside the zone that refers (bailiwick) */
	ldns_rr_list *glue = ldns_rr_list_new();
	const ldns_rr_list *add = ldns_pkt_additional(p);
	for (size_t i = 0; glue && i < ldns_rr_list_rr_count(add); i++) {
		ldns_rr *rr = ldns_rr_list_rr(add, i);
		uint16_t t = ldns_rr_get_type(rr);
		if ((t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA) &&
		    ldns_dname_is_subdomain(ldns_rr_owner(rr), it->zone))
			ldns_rr_list_push_rr(glue, rr);
	}
	if (!ns || ldns_rr_list_rr_count(ns) == 0) {
		ldns_rr_list_free(ns);
		ldns_rr_list_free(glue);
		ldns_rdf_deep_free(zone);
		it->addrs[it->cur].failed = true;
		step(it);
		return;
	}
	ldns_rr_list *ds = NULL;
	enum rsv_val_child child = RSV_VAL_INSECURE;
	if (it->sec == SEC_SECURE) {
		struct rsv_val_fail f = {RSV_EDE_DNSSEC_BOGUS, ""};
		child = rsv_val_referral(p, it->zone, it->keys, zone, &ds, &f);
		if (child == RSV_VAL_BOGUS) {
			ldns_rr_list_free(ns);
			ldns_rr_list_free(glue);
			ldns_rdf_deep_free(zone);
			finish_bogus(it, &f);
			return;
		}
	}
	cache_put(it->w, zone, LDNS_RR_TYPE_NS, ns, glue);
	set_cut(it, zone, ns, glue);
	if (it->sec == SEC_SECURE && child == RSV_VAL_SECURE) {
		/* the child's keys before its answers: cached (validated), or fetched now */
		it->keys = cached_keys(it, it->zone);
		if (!it->keys) {
			want_keys(it, ldns_rdf_clone(it->zone), ds);
			ds = NULL;
		}
	} else if (it->sec == SEC_SECURE) {
		/* proved unsigned: remember it (the NS set marks it) for the next queries */
		it->sec = SEC_INSECURE;
		it->budget->insecure = true;
		cache_put(it->w, it->zone, LDNS_RR_TYPE_DS, ns, NULL);
	}
	ldns_rr_list_deep_free(ds);
	ldns_rr_list_free(ns);
	ldns_rr_list_free(glue);
	step(it);
}

/*
 * Validating: is the RRset (@name, @type) of @section signed by the zone asked? True when it
 * is. False when the iteration went on without it — the signer is a zone below the one asked
 * (its servers serve both): its DS and keys are asked first, then the question again — or
 * ended (bogus).
 */
static bool signed_by_zone(struct rsv_iter *it, const ldns_pkt *p, ldns_pkt_section section,
			   const ldns_rdf *name, uint16_t type, bool *wildcard)
{
	struct rsv_val_fail f = {RSV_EDE_DNSSEC_BOGUS, ""};
	const ldns_rdf *signer = rsv_val_signer(p, section, name, type);
	if (signer && ldns_dname_is_subdomain(signer, it->zone)) {
		clear_fetch(it);
		it->fetch = FETCH_DS;
		it->fetch_zone = ldns_rdf_clone(signer);
		if (!it->fetch_zone) {
			finish_fail(it, "out of memory");
			return false;
		}
		ldns_dname2canonical(it->fetch_zone);
		send_query(it);
		return false;
	}
	if (rsv_val_rrset(p, section, name, type, it->zone, it->keys, wildcard, &f))
		return true;
	finish_bogus(it, &f);
	return false;
}

/* The answer to a DNSKEY or DS query asked before the question (see enum fetch). */
static void handle_fetch(struct rsv_iter *it, const ldns_pkt *p)
{
	struct rsv_val_fail f = {RSV_EDE_DNSSEC_BOGUS, ""};
	if (it->fetch == FETCH_DNSKEY) {
		ldns_rr_list *keys = NULL;
		if (!rsv_val_dnskeys(p, it->fetch_zone, it->fetch_ds, &keys, &f)) {
			finish_bogus(it, &f);
			return;
		}
		cache_put(it->w, it->fetch_zone, LDNS_RR_TYPE_DNSKEY, keys, NULL);
		if (ldns_dname_compare(it->fetch_zone, it->zone) != 0) {
			/* a zone below the one asked, on the same servers: it is the one asked now */
			ldns_rdf_deep_free(it->zone);
			it->zone = it->fetch_zone;
			it->fetch_zone = NULL;
		}
		ldns_rr_list_deep_free(it->keys);
		it->keys = keys;
		it->sec = SEC_SECURE;
		clear_fetch(it);
		send_query(it);
		return;
	}
	ldns_rr_list *ds = NULL;
	switch (rsv_val_ds_answer(p, it->zone, it->keys, it->fetch_zone, &ds, &f)) {
	case RSV_VAL_SECURE:
		want_keys(it, ldns_rdf_clone(it->fetch_zone), ds);
		send_query(it);
		return;
	case RSV_VAL_INSECURE:
		it->sec = SEC_INSECURE;
		it->budget->insecure = true;
		ldns_rr_list_deep_free(it->keys);
		it->keys = NULL;
		clear_fetch(it);
		send_query(it);
		return;
	default:
		finish_bogus(it, &f);
		return;
	}
}

/* Follow CNAME @cname (or the one a DNAME made) from the target to a new target. */
static void follow_alias(struct rsv_iter *it, const ldns_pkt *p, const ldns_rr *dname,
			 const ldns_rr *cname)
{
	if (++it->budget->cname_hops > MAX_CNAME) {
		finish_fail(it, "CNAME chain too long");
		return;
	}
	if (dname) {
		ldns_rr_list_push_rr(it->chain, ldns_rr_clone(dname));
		if (it->want_sigs)
			push_sigs(it->chain, ldns_pkt_answer(p), ldns_rr_owner(dname),
				  LDNS_RR_TYPE_DNAME);
	}
	ldns_rr_list_push_rr(it->chain, ldns_rr_clone(cname));
	if (it->want_sigs && !dname)
		push_sigs(it->chain, ldns_pkt_answer(p), ldns_rr_owner(cname), LDNS_RR_TYPE_CNAME);
	ldns_rdf *next = ldns_rdf_clone(ldns_rr_rdf(cname, 0));
	if (!next) {
		finish_fail(it, "out of memory");
		return;
	}
	ldns_dname2canonical(next);
	ldns_rdf_deep_free(it->target);
	it->target = next;
	it->minimise = true;
	it->referrals = 0;
	/* a target another query resolved already: its cached answer ends the chain */
	ldns_pkt *cp = cached_target_answer(it);
	if (cp) {
		ldns_rr_list *final = select_rrs(ldns_pkt_answer(cp), it->target, it->qtype);
		if (final && ldns_rr_list_rr_count(final) > 0) {
			if (it->validate && !ldns_pkt_ad(cp))
				it->budget->insecure = true;
			it->sec = it->validate ? SEC_SECURE : SEC_OFF;
			finish_ok(it, LDNS_RCODE_NOERROR, final, NULL, cp);
			ldns_rr_list_free(final);
			ldns_pkt_free(cp);
			return;
		}
		ldns_rr_list_free(final);
		ldns_pkt_free(cp);
	}
	begin(it);
}

static void server_answered(struct rsv_iter *it)
{
	struct server_stat *s = server_of(it->w, &it->addrs[it->cur].ss);
	uint64_t rtt = now_ms() - it->sent_ms;
	s->srtt_ms = s->srtt_ms ? (uint32_t)((s->srtt_ms * 7 + rtt) / 8) : (uint32_t)(rtt + 1);
	if (s->srtt_ms == 0)
		s->srtt_ms = 1; /* 0 means "never measured": a sub-millisecond server stays known */
	s->fails = 0;
	s->dead_until = 0;
}

/* Validating: the RRset (@name, @type) of the answer section is signed by the zone, and a
 * wildcard expansion comes with the proof that @name itself does not exist. False when the
 * iteration went on or ended (see signed_by_zone()). */
static bool answer_validates(struct rsv_iter *it, const ldns_pkt *p, const ldns_rdf *name,
			     uint16_t type)
{
	bool wildcard = false;
	if (!signed_by_zone(it, p, LDNS_SECTION_ANSWER, name, type, &wildcard))
		return false;
	struct rsv_val_fail f = {RSV_EDE_DNSSEC_BOGUS, ""};
	if (wildcard && !rsv_val_wildcard(p, name, type, it->zone, it->keys, &f)) {
		finish_bogus(it, &f);
		return false;
	}
	return true;
}

/* Validating: a negative answer (with @soa) is proved by signed NSEC/NSEC3 records. */
static bool denial_validates(struct rsv_iter *it, const ldns_pkt *p, const ldns_rr *soa)
{
	if (soa && !signed_by_zone(it, p, LDNS_SECTION_AUTHORITY, ldns_rr_owner(soa),
				   LDNS_RR_TYPE_SOA, NULL))
		return false;
	struct rsv_val_fail f = {RSV_EDE_DNSSEC_BOGUS, ""};
	if (rsv_val_denial(p, it->target, it->qtype, it->zone, it->keys, &f))
		return true;
	finish_bogus(it, &f);
	return false;
}

static void handle(struct rsv_iter *it, const uint8_t *msg, size_t len, bool via_tcp)
{
	ldns_pkt *p = NULL;
	if (len < 12 || (uint16_t)(msg[0] << 8 | msg[1]) != it->id ||
	    ldns_wire2pkt(&p, msg, len) != LDNS_STATUS_OK)
		return; /* not ours, or garbage: keep waiting (the timer runs) */
	const ldns_rr_list *qs = ldns_pkt_question(p);
	const ldns_rr *q = ldns_rr_list_rr_count(qs) == 1 ? ldns_rr_list_rr(qs, 0) : NULL;
	if (!ldns_pkt_qr(p) || !q || ldns_rr_get_type(q) != it->sent_type ||
	    ldns_dname_compare(ldns_rr_owner(q), it->sent_name) != 0) {
		ldns_pkt_free(p);
		return;
	}
	uv_timer_stop(&it->timer);
	server_answered(it);
	struct server_stat *s = server_of(it->w, &it->addrs[it->cur].ss);
	const ldns_rdf *echo = ldns_rr_owner(q);
	if (it->sent_0x20 &&
	    (ldns_rdf_size(echo) != ldns_rdf_size(it->sent_name) ||
	     memcmp(ldns_rdf_data(echo), ldns_rdf_data(it->sent_name), ldns_rdf_size(echo)) != 0)) {
		/* the case did not come back: this server does not keep it; ask again without */
		s->no_0x20 = true;
		ldns_pkt_free(p);
		send_query(it);
		return;
	}
	if (ldns_pkt_tc(p) && !via_tcp) {
		ldns_pkt_free(p);
		size_t wl = 0;
		uint8_t *wire = build_query(it, &wl);
		if (!wire) {
			finish_fail(it, "cannot build a query");
			return;
		}
		send_tcp(it, wire, wl);
		free(wire);
		return;
	}
	drop_sock(it);
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(p);
	if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) {
		/* SERVFAIL, REFUSED, FORMERR…: lame for this question; another server */
		ldns_pkt_free(p);
		it->addrs[it->cur].failed = true;
		step(it);
		return;
	}
	if (it->fetch != FETCH_NONE) {
		handle_fetch(it, p);
		ldns_pkt_free(p);
		return;
	}
	bool minimised =
		ldns_dname_compare(it->sent_name, it->target) != 0 || it->sent_type != it->qtype;
	const ldns_rr_list *ans = ldns_pkt_answer(p);
	ldns_rdf *ref = referral_zone(it, p, it->sent_name);
	if (ref && !ldns_pkt_aa(p)) {
		take_referral(it, p, ref);
		ldns_pkt_free(p);
		return;
	}
	ldns_rdf_deep_free(ref);
	if (minimised) {
		ldns_rr_list *alias = select_rrs(ans, it->sent_name, LDNS_RR_TYPE_CNAME);
		bool is_alias = alias && ldns_rr_list_rr_count(alias) > 0;
		ldns_rr_list_free(alias);
		if (rc == LDNS_RCODE_NXDOMAIN || is_alias || !ldns_pkt_aa(p)) {
			/* RFC 9156 fallback: ask the full name */
			it->minimise = false;
		} else {
			it->min_labels++;
		}
		ldns_pkt_free(p);
		send_query(it);
		return;
	}
	/* the full question */
	if (it->sec == SEC_INSECURE)
		it->budget->insecure = true;
	ldns_rr_list *final = select_rrs(ans, it->target, it->qtype);
	if (final && ldns_rr_list_rr_count(final) > 0) {
		if (it->sec == SEC_SECURE && !answer_validates(it, p, it->target, it->qtype)) {
			ldns_rr_list_free(final);
			ldns_pkt_free(p);
			return;
		}
		finish_ok(it, LDNS_RCODE_NOERROR, final, NULL, p);
		ldns_rr_list_free(final);
		ldns_pkt_free(p);
		return;
	}
	ldns_rr_list_free(final);
	if (it->qtype != LDNS_RR_TYPE_CNAME && it->qtype != LDNS_RR_TYPE_DNAME) {
		/* a DNAME above the target (first: its server sends the CNAME it made too) */
		for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
			const ldns_rr *d = ldns_rr_list_rr(ans, i);
			if (ldns_rr_get_type(d) != LDNS_RR_TYPE_DNAME ||
			    !ldns_dname_is_subdomain(it->target, ldns_rr_owner(d)))
				continue;
			if (it->sec == SEC_SECURE &&
			    !signed_by_zone(it, p, LDNS_SECTION_ANSWER, ldns_rr_owner(d),
					    LDNS_RR_TYPE_DNAME, NULL)) {
				ldns_pkt_free(p);
				return;
			}
			ldns_rr *dn = ldns_rr_clone(d);
			/* the target with the DNAME's owner replaced by its target */
			uint8_t tl = ldns_dname_label_count(it->target);
			uint8_t ol = ldns_dname_label_count(ldns_rr_owner(d));
			ldns_rdf *suffix = ldns_rdf_clone(ldns_rr_rdf(d, 0));
			ldns_rr *cn = NULL;
			if (dn && suffix) {
				/* keep the first tl - ol labels of the target */
				uint8_t *data = ldns_rdf_data(it->target);
				size_t off = 0;
				for (uint8_t k = 0; k < tl - ol; k++)
					off += (size_t)data[off] + 1;
				uint8_t buf[RSV_MAX_NAME + 1];
				memcpy(buf, data, off);
				buf[off] = 0;
				ldns_rdf *head = ldns_dname_new_frm_data((uint16_t)(off + 1), buf);
				if (head) {
					/* head is "labels + root"; cat drops the root label */
					if (ldns_dname_cat(head, suffix) == LDNS_STATUS_OK) {
						cn = ldns_rr_new();
						if (cn) {
							ldns_rr_set_owner(
								cn, ldns_rdf_clone(it->target));
							ldns_rr_set_type(cn, LDNS_RR_TYPE_CNAME);
							ldns_rr_set_class(cn, LDNS_RR_CLASS_IN);
							ldns_rr_set_ttl(cn, ldns_rr_ttl(d));
							ldns_rr_push_rdf(cn, head);
							head = NULL;
						}
					}
					ldns_rdf_deep_free(head);
				}
			}
			ldns_rdf_deep_free(suffix);
			if (!dn || !cn) {
				ldns_rr_free(dn);
				ldns_rr_free(cn);
				ldns_pkt_free(p);
				finish_fail(it, "cannot follow a DNAME");
				return;
			}
			follow_alias(it, p, dn, cn);
			ldns_rr_free(dn);
			ldns_rr_free(cn);
			ldns_pkt_free(p);
			return;
		}
		ldns_rr_list *c = select_rrs(ans, it->target, LDNS_RR_TYPE_CNAME);
		if (c && ldns_rr_list_rr_count(c) > 0) {
			ldns_rr *cname = ldns_rr_clone(ldns_rr_list_rr(c, 0));
			ldns_rr_list_free(c);
			if (!cname) {
				ldns_pkt_free(p);
				finish_fail(it, "out of memory");
				return;
			}
			if (it->sec != SEC_SECURE ||
			    answer_validates(it, p, it->target, LDNS_RR_TYPE_CNAME))
				follow_alias(it, p, NULL, cname);
			ldns_rr_free(cname);
			ldns_pkt_free(p);
			return;
		}
		ldns_rr_list_free(c);
	}
	const ldns_rr *soa = find_soa(p);
	if (rc == LDNS_RCODE_NXDOMAIN || (ldns_pkt_aa(p) && ldns_rr_list_rr_count(ans) == 0)) {
		if (!ldns_pkt_aa(p) && !soa) {
			ldns_pkt_free(p);
			it->addrs[it->cur].failed = true;
			step(it);
			return;
		}
		if (it->sec == SEC_SECURE && !denial_validates(it, p, soa)) {
			ldns_pkt_free(p);
			return;
		}
		finish_ok(it, rc, NULL, soa, p);
		ldns_pkt_free(p);
		return;
	}
	/* not an answer, not a referral we can use: lame */
	ldns_pkt_free(p);
	it->addrs[it->cur].failed = true;
	step(it);
}

/* ---- starting ------------------------------------------------------------------------------- */

static void begin(struct rsv_iter *it)
{
	closest_cut(it);
	if (!it->zone) {
		finish_fail(it, "out of memory");
		return;
	}
	step(it);
}

/* Start on the next loop turn: @done never runs from within rsv_iter_start(). */
static void start_cb(uv_timer_t *t)
{
	begin(t->data);
}

int rsv_iter_start(struct rsv_worker *w, const struct rsv_query *q, rsv_iter_done_fn done,
		   void *arg, struct rsv_iter **out)
{
	ldns_rdf *name = ldns_dname_new_frm_data(q->qname_len, q->qname);
	if (!name)
		return -ENOMEM;
	struct rsv_iter *it = iter_new(w, name, q->qtype);
	ldns_rdf_deep_free(name);
	if (!it)
		return -ENOMEM;
	it->done = done;
	it->arg = arg;
	const struct rsv_ruleset *rs = ruleset(it);
	it->validate = rs->cfg->server.dnssec && !(q->flags & RSV_FLAG_CD);
	it->want_sigs = q->edns_do;
	it->cache_flags = (uint8_t)((q->edns_do ? RSV_CACHE_F_DO : 0) |
				    ((q->flags & RSV_FLAG_CD) ? RSV_CACHE_F_CD : 0));
	it->budget = &it->own_budget;
	it->budget->deadline_ms = now_ms() + MAX_TIME_MS;
	uv_timer_start(&it->timer, start_cb, 0, 0);
	*out = it;
	return 0;
}
