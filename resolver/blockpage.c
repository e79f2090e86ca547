/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The block page: an HTTP server on the sinkhole address (see blockpage.h and blockpage.md). */
#include "resolver/blockpage.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/utf8.h"
#include "resolver/blockpage-page.h"

/* Limits that keep one client, or many, from exhausting the block page. */
#define BP_CONN_LIMIT 256u     /**< concurrent connections per listen address */
#define BP_CONN_PER_IP 32u     /**< per client address: an ISP's CGNAT puts many users behind one */
#define BP_CONN_TIMEOUT_S 10u  /**< idle connections are closed after this */
#define BP_CONN_MEMORY 24576u  /**< per connection: request headers up to about 10 KiB */
#define BP_PAGE_MAX 32768u     /**< bound on one generated page */
#define BP_POST_MAX 1024u      /**< bound on a POST body; the form sends about 300 bytes at most */
#define BP_HOST_RAW_MAX 300u   /**< Host headers longer than this are not names */
#define BP_HOST_SHOWN_MAX 100u /**< bytes of an invalid Host shown on the page */
#define BP_CONTACT_MAX 1024u   /**< bytes of contact text kept */
#define BP_RATE_SLOTS 512u     /**< client addresses remembered by the rate limit */
#define BP_RATE_WINDOW_MS 60000u
#define BP_LOG_PER_MIN 20u /**< libmicrohttpd messages logged per minute, the rest counted */
#define BP_LOG_WINDOW_MS 60000u
#define BP_RECORD_MAX 4096u /**< bound on one line of the store */
#define BP_PROBE_TIMEOUT_MS 300u

#define BP_CSP                                                                                 \
	"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; " \
	"frame-ancestors 'none'"
#define BP_ALLOW "GET, HEAD, POST"
#define BP_UNBLOCK_PATH "/unblock-request"

struct bp_listener {
	struct MHD_Daemon *mhd; /**< owned; stopped by rsv_blockpage_stop() */
	char text[64];		/**< "10.10.10.10:80", for logs */
	uint16_t port;		/**< the port actually bound */
};

/** One client address (IPv6: its /64) and its requests in the current window. */
struct bp_rate_slot {
	uint8_t key[17]; /**< family, then 4 (IPv4) or 8 (IPv6 /64) address bytes */
	bool used;
	unsigned count;
	uint64_t window_start_ms; /**< monotonic */
};

/**
 * Lock rules: contact_lock guards @contact only; store_lock guards @rate and makes the store's
 * size check and append one step. No function holds both. Everything else is immutable between
 * start and stop.
 */
struct rsv_blockpage {
	struct bp_listener listeners[RSV_BLOCKPAGE_MAX_LISTEN];
	size_t n_listeners;
	rsv_blockpage_lookup_fn lookup;
	void *lookup_arg;
	char *store_path; /**< owned: <state_dir>/unblock-requests.jsonl */

	pthread_mutex_t contact_lock;
	char *contact; /**< owned, at most BP_CONTACT_MAX bytes; NULL: none */

	pthread_mutex_t store_lock;
	struct bp_rate_slot rate[BP_RATE_SLOTS];

	/* Rate limit of libmicrohttpd's log messages (a flood of clients must not flood logs). */
	atomic_uint_fast64_t log_window_ms;
	atomic_uint log_count;
	atomic_uint log_dropped;
};

/** State of one POST /unblock-request while its body arrives (*req_cls of libmicrohttpd). */
struct bp_post {
	size_t len;
	bool too_big;
	char body[BP_POST_MAX + 1];
};

/*
 * Text helpers.
 */

/** A page being built: a bounded buffer and a sticky error, so builders need not check each step. */
struct html {
	struct core_buf b;
	int err;
};

static void html_init(struct html *h)
{
	core_buf_init(&h->b, BP_PAGE_MAX);
	h->err = 0;
}

static void add(struct html *h, const char *s, size_t len)
{
	if (h->err == 0)
		h->err = core_buf_add(&h->b, s, len);
}

static void put(struct html *h, const char *s)
{
	add(h, s, strlen(s));
}

/**
 * Append @s HTML-escaped: & < > " ' become entities, control characters spaces, invalid UTF-8
 * U+FFFD. At most @max bytes of @s are used, cut at a character boundary and followed by "…".
 */
static void put_esc(struct html *h, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	size_t i = 0;

	while (i < n && h->err == 0) {
		size_t l = core_utf8_seq_len(p + i, n - i);
		if (i + (l ? l : 1) > max) {
			put(h, "…");
			break;
		}
		switch (p[i]) {
		case '&':
			put(h, "&amp;");
			break;
		case '<':
			put(h, "&lt;");
			break;
		case '>':
			put(h, "&gt;");
			break;
		case '"':
			put(h, "&quot;");
			break;
		case '\'':
			put(h, "&#39;");
			break;
		default:
			if (l == 0)
				put(h, "\xef\xbf\xbd");
			else if (p[i] < 0x20 || p[i] == 0x7f)
				put(h, " ");
			else
				add(h, s + i, l);
		}
		i += l ? l : 1;
	}
}

/** Append @s as the contents of a JSON string (same sanitising as put_esc(), no bound). */
static int json_str(struct core_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	int r = 0;

	for (size_t i = 0; i < n && r == 0;) {
		size_t l = core_utf8_seq_len(p + i, n - i);
		if (l == 0) {
			r = core_buf_add(b, "\\ufffd", 6);
			i++;
			continue;
		}
		if (p[i] == '"' || p[i] == '\\')
			r = core_buf_printf(b, "\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			r = core_buf_printf(b, "\\u%04x", p[i]);
		else
			r = core_buf_add(b, s + i, l);
		i += l;
	}
	return r;
}

/*
 * Host header.
 */

enum host_kind {
	HOST_NONE, /**< no Host header, or an empty one */
	HOST_IP,   /**< an IPv4 or IPv6 literal: the sinkhole address was asked for directly */
	HOST_NAME, /**< a valid domain name, normalised */
	HOST_BAD,  /**< anything else */
};

/** True when [@p, @end) is empty or ":" followed by at most 5 digits. */
static bool port_ok(const char *p, const char *end)
{
	if (p == end)
		return true;
	if (*p != ':' || end - p > 6)
		return false;
	for (p++; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
	}
	return true;
}

/**
 * Classify a Host header (or form value) @raw; for HOST_NAME, write the name in lower case
 * without port and trailing dot into @out (@size >= 254).
 */
static enum host_kind parse_host(const char *raw, char *out, size_t size)
{
	if (!raw || raw[0] == '\0')
		return HOST_NONE;
	size_t len = strnlen(raw, BP_HOST_RAW_MAX + 1);
	if (len > BP_HOST_RAW_MAX)
		return HOST_BAD;
	const char *end = raw + len;

	if (raw[0] == '[') {
		const char *rb = memchr(raw, ']', len);
		char a[INET6_ADDRSTRLEN];
		struct in6_addr a6;
		size_t n = rb ? (size_t)(rb - raw - 1) : 0;

		if (!rb || n >= sizeof(a) || !port_ok(rb + 1, end))
			return HOST_BAD;
		memcpy(a, raw + 1, n);
		a[n] = '\0';
		return inet_pton(AF_INET6, a, &a6) == 1 ? HOST_IP : HOST_BAD;
	}
	const char *colon = memchr(raw, ':', len);
	if (colon) {
		if (!port_ok(colon, end))
			return HOST_BAD;
		end = colon;
	}
	size_t n = (size_t)(end - raw);
	if (n > 0 && raw[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || n >= size)
		return HOST_BAD;

	size_t label = 0;
	bool last_numeric = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)raw[i];
		if (c == '.') {
			if (label == 0)
				return HOST_BAD;
			label = 0;
			last_numeric = true;
			out[i] = '.';
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return HOST_BAD;
		if (++label > 63)
			return HOST_BAD;
		if (!isdigit(c))
			last_numeric = false;
		out[i] = (char)tolower(c);
	}
	if (label == 0)
		return HOST_BAD;
	out[n] = '\0';
	if (last_numeric) {
		/* No top-level domain is numeric: an IPv4 literal, or nothing valid. */
		struct in_addr a4;
		return inet_pton(AF_INET, out, &a4) == 1 ? HOST_IP : HOST_BAD;
	}
	return HOST_NAME;
}

/*
 * Pages.
 */

static void page_begin(struct html *h, const char *title_vi, const char *title_en)
{
	put(h, BP_HEAD);
	put(h, title_vi);
	put(h, " · ");
	put(h, title_en);
	put(h, BP_HEAD_END);
}

static void page_end(struct html *h)
{
	put(h, BP_FOOT);
}

static void put_h1(struct html *h, const char *cls, const char *title)
{
	put(h, cls ? "<h1 class=\"ok\">" : "<h1>");
	put(h, title);
	put(h, "</h1>\n");
}

static void put_p(struct html *h, const char *text)
{
	put(h, "<p>");
	put(h, text);
	put(h, "</p>\n");
}

/** "<p>Label <span class="d">escaped domain</span></p>" */
static void put_domain(struct html *h, const char *label, const char *domain, size_t max,
		       const char *after)
{
	put(h, "<p>");
	put(h, label);
	put(h, " <span class=\"d\">");
	put_esc(h, domain, max);
	put(h, "</span>");
	if (after) {
		put(h, " ");
		put(h, after);
	}
	put(h, "</p>\n");
}

static void put_field(struct html *h, const char *label, const char *value)
{
	if (value[0] == '\0')
		return;
	put(h, "<p>");
	put(h, label);
	put(h, " ");
	put_esc(h, value, SIZE_MAX);
	put(h, "</p>\n");
}

static void put_category(struct html *h, const char *label, const char *cat, bool vi)
{
	if (cat[0] == '\0')
		return;
	put(h, "<p>");
	put(h, label);
	put(h, " ");
	for (size_t i = 0; i < sizeof(bp_category_texts) / sizeof(bp_category_texts[0]); i++) {
		if (strcmp(cat, bp_category_texts[i].name) == 0) {
			put(h, vi ? bp_category_texts[i].vi : bp_category_texts[i].en);
			put(h, " (");
			put_esc(h, cat, SIZE_MAX);
			put(h, ")</p>\n");
			return;
		}
	}
	put_esc(h, cat, SIZE_MAX);
	put(h, "</p>\n");
}

static const struct bp_reason_text *reason_text(int reason)
{
	size_t n = sizeof(bp_reason_texts) / sizeof(bp_reason_texts[0]);

	if (reason < 0 || (size_t)reason >= n - 1)
		return &bp_reason_texts[n - 1];
	return &bp_reason_texts[reason];
}

/** The block page proper: @host is blocked for this client because of @info. */
static void build_blocked(struct html *h, const char *host, const struct rsv_blockpage_info *info,
			  const char *contact)
{
	const struct bp_reason_text *rt = reason_text(info->reason);

	page_begin(h, BP_BLOCKED_TITLE_VI, BP_BLOCKED_TITLE_EN);

	put(h, BP_SECTION_VI);
	put_h1(h, NULL, BP_BLOCKED_TITLE_VI);
	put_domain(h, BP_DOMAIN_VI, host, SIZE_MAX, NULL);
	put(h, "<p>" BP_REASON_VI " ");
	put(h, rt->vi);
	put(h, "</p>\n");
	put_category(h, BP_CATEGORY_VI, info->category, true);
	put_field(h, BP_LIST_VI, info->list);
	put_field(h, BP_NETWORK_VI, info->network);
	put(h, "<h2>" BP_TODO_VI "</h2>\n");
	put_p(h, rt->todo_vi);
	if (contact)
		put_field(h, BP_CONTACT_VI, contact);
	if (rt->can_request) {
		put(h, BP_FORM_START);
		put_esc(h, host, SIZE_MAX);
		put(h, BP_FORM_END);
	}
	put(h, bp_hotline_vi);
	put(h, BP_SECTION_END);

	put(h, BP_SECTION_EN);
	put_h1(h, NULL, BP_BLOCKED_TITLE_EN);
	put_domain(h, BP_DOMAIN_EN, host, SIZE_MAX, NULL);
	put(h, "<p>" BP_REASON_EN " ");
	put(h, rt->en);
	put(h, "</p>\n");
	put_category(h, BP_CATEGORY_EN, info->category, false);
	put_field(h, BP_LIST_EN, info->list);
	put_field(h, BP_NETWORK_EN, info->network);
	put(h, "<h2>" BP_TODO_EN "</h2>\n");
	put_p(h, rt->todo_en);
	if (contact)
		put_field(h, BP_CONTACT_EN, contact);
	put(h, bp_hotline_en);
	put(h, BP_SECTION_END);

	page_end(h);
}

/** The neutral page: nothing is blocked (@kind says why; @host is shown for NAME and BAD). */
static void build_neutral(struct html *h, enum host_kind kind, const char *host)
{
	bool named = kind == HOST_NAME;
	const char *title_vi = named ? BP_NOT_BLOCKED_TITLE_VI : BP_SERVICE_TITLE_VI;
	const char *title_en = named ? BP_NOT_BLOCKED_TITLE_EN : BP_SERVICE_TITLE_EN;

	page_begin(h, title_vi, title_en);
	for (int en = 0; en <= 1; en++) {
		put(h, en ? BP_SECTION_EN : BP_SECTION_VI);
		put_h1(h, "ok", en ? title_en : title_vi);
		put_p(h, en ? bp_service_en : bp_service_vi);
		if (kind == HOST_NAME)
			put_domain(h, en ? "The name" : "Tên miền", host, SIZE_MAX,
				   en ? bp_not_blocked_en : bp_not_blocked_vi);
		else if (kind == HOST_BAD)
			put_domain(h, en ? BP_BAD_HOST_EN : BP_BAD_HOST_VI, host, BP_HOST_SHOWN_MAX,
				   NULL);
		else
			put_p(h, en ? bp_no_host_en : bp_no_host_vi);
		put(h, en ? bp_hotline_en : bp_hotline_vi);
		put(h, BP_SECTION_END);
	}
	page_end(h);
}

/** The answer to a recorded unblock request for @host. */
static void build_recorded(struct html *h, const char *host, const char *contact)
{
	page_begin(h, BP_RECORDED_TITLE_VI, BP_RECORDED_TITLE_EN);
	for (int en = 0; en <= 1; en++) {
		put(h, en ? BP_SECTION_EN : BP_SECTION_VI);
		put_h1(h, "ok", en ? BP_RECORDED_TITLE_EN : BP_RECORDED_TITLE_VI);
		put_domain(h, en ? BP_DOMAIN_EN : BP_DOMAIN_VI, host, SIZE_MAX, NULL);
		put_p(h, en ? bp_recorded_en : bp_recorded_vi);
		if (contact)
			put_field(h, en ? BP_CONTACT_EN : BP_CONTACT_VI, contact);
		put(h, en ? bp_hotline_en : bp_hotline_vi);
		put(h, BP_SECTION_END);
	}
	page_end(h);
}

/** A short page for a refused request. */
static void build_message(struct html *h, const struct bp_message_text *m, const char *contact)
{
	page_begin(h, m->title_vi, m->title_en);
	for (int en = 0; en <= 1; en++) {
		put(h, en ? BP_SECTION_EN : BP_SECTION_VI);
		put_h1(h, "ok", en ? m->title_en : m->title_vi);
		put_p(h, en ? m->en : m->vi);
		if (contact)
			put_field(h, en ? BP_CONTACT_EN : BP_CONTACT_VI, contact);
		put(h, en ? bp_hotline_en : bp_hotline_vi);
		put(h, BP_SECTION_END);
	}
	page_end(h);
}

/*
 * HTTP.
 */

static void free_page(void *cls)
{
	core_free(cls);
}

/** Queue the page in @h with @status; takes the page's memory in every case. */
static enum MHD_Result send_page(struct MHD_Connection *conn, unsigned status, struct html *h,
				 bool allow)
{
	struct MHD_Response *resp = NULL;
	enum MHD_Result ret = MHD_NO;

	if (h->err != 0) {
		core_log_debug("rsv", "block page: cannot build a page: %s", core_strerror(h->err));
		goto out_free_page;
	}
	resp = MHD_create_response_from_buffer_with_free_callback_cls(h->b.len, h->b.data,
								      free_page, h->b.data);
	if (!resp)
		goto out_free_page;
	/* The response owns the page from here. */
	h->b.data = NULL;
	h->b.len = h->b.cap = 0;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    "text/html; charset=utf-8") != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
	    MHD_add_response_header(resp, "Content-Security-Policy", BP_CSP) != MHD_YES ||
	    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    MHD_add_response_header(resp, "X-Frame-Options", "DENY") != MHD_YES ||
	    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer") != MHD_YES)
		goto out_destroy;
	if (allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, BP_ALLOW) != MHD_YES)
		goto out_destroy;
	if (status == MHD_HTTP_TOO_MANY_REQUESTS &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "60") != MHD_YES)
		goto out_destroy;
	ret = MHD_queue_response(conn, status, resp);
out_destroy:
	MHD_destroy_response(resp);
	return ret;
out_free_page:
	core_buf_deinit(&h->b);
	return MHD_NO;
}

/** Copy the contact text into @buf (at least BP_CONTACT_MAX + 1 bytes); NULL when none. */
static const char *get_contact(struct rsv_blockpage *bp, char *buf)
{
	const char *ret = NULL;

	pthread_mutex_lock(&bp->contact_lock);
	if (bp->contact) {
		strcpy(buf, bp->contact);
		ret = buf;
	}
	pthread_mutex_unlock(&bp->contact_lock);
	return ret;
}

static const struct sockaddr *client_addr(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return ci ? ci->client_addr : NULL;
}

/** Ask the daemon about @host; false when the client is unknown (nothing is claimed then). */
static bool lookup(struct rsv_blockpage *bp, const struct sockaddr *client, const char *host,
		   struct rsv_blockpage_info *info)
{
	memset(info, 0, sizeof(*info));
	if (!client)
		return false;
	bp->lookup(bp->lookup_arg, client, host, info);
	/* The strings come from another module: never trust their termination. */
	info->network[sizeof(info->network) - 1] = '\0';
	info->network_id[sizeof(info->network_id) - 1] = '\0';
	info->category[sizeof(info->category) - 1] = '\0';
	info->list[sizeof(info->list) - 1] = '\0';
	return true;
}

static enum MHD_Result serve_page(struct rsv_blockpage *bp, struct MHD_Connection *conn)
{
	const char *raw = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	char host[256];
	char contact_buf[BP_CONTACT_MAX + 1];
	struct rsv_blockpage_info info;
	struct html h;
	unsigned status;
	enum host_kind kind = parse_host(raw, host, sizeof(host));

	html_init(&h);
	switch (kind) {
	case HOST_NAME:
		if (lookup(bp, client_addr(conn), host, &info) && info.blocked) {
			build_blocked(&h, host, &info, get_contact(bp, contact_buf));
			status = MHD_HTTP_FORBIDDEN;
		} else {
			build_neutral(&h, kind, host);
			status = MHD_HTTP_NOT_FOUND;
		}
		break;
	case HOST_BAD:
		build_neutral(&h, kind, raw);
		status = MHD_HTTP_BAD_REQUEST;
		break;
	default:
		build_neutral(&h, kind, NULL);
		status = MHD_HTTP_OK;
	}
	return send_page(conn, status, &h, false);
}

static enum MHD_Result send_message(struct rsv_blockpage *bp, struct MHD_Connection *conn,
				    enum bp_message msg)
{
	const struct bp_message_text *m = &bp_message_texts[msg];
	char contact_buf[BP_CONTACT_MAX + 1];
	struct html h;

	html_init(&h);
	build_message(&h, m, msg == BP_MSG_STORE ? get_contact(bp, contact_buf) : NULL);
	return send_page(conn, m->status, &h, msg == BP_MSG_METHOD);
}

/*
 * Unblock requests.
 */

/** Count one request of @client; false when it is over RSV_BLOCKPAGE_RATE_PER_MIN. */
static bool rate_allow(struct rsv_blockpage *bp, const struct sockaddr *client)
{
	uint8_t key[17] = {0};
	uint64_t now = core_clock_mono_ms();
	struct bp_rate_slot *slot = NULL, *victim = NULL;
	bool ok;

	if (client->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)client;
		key[0] = 4;
		memcpy(key + 1, &sin->sin_addr, 4);
	} else if (client->sa_family == AF_INET6) {
		/* One subscriber usually has a whole /64. */
		const struct sockaddr_in6 *sin6 = (const void *)client;
		key[0] = 6;
		memcpy(key + 1, &sin6->sin6_addr, 8);
	}

	pthread_mutex_lock(&bp->store_lock);
	for (size_t i = 0; i < BP_RATE_SLOTS; i++) {
		struct bp_rate_slot *s = &bp->rate[i];
		if (s->used && memcmp(s->key, key, sizeof(key)) == 0) {
			slot = s;
			break;
		}
		if (!victim || !s->used ||
		    (victim->used && s->window_start_ms < victim->window_start_ms))
			victim = s;
	}
	if (!slot) {
		/* A free slot, else the oldest window: an expired one, or one evicted early. */
		slot = victim;
		memcpy(slot->key, key, sizeof(key));
		slot->used = true;
		slot->count = 0;
		slot->window_start_ms = now;
	}
	if (now - slot->window_start_ms >= BP_RATE_WINDOW_MS) {
		slot->count = 0;
		slot->window_start_ms = now;
	}
	ok = slot->count < RSV_BLOCKPAGE_RATE_PER_MIN;
	if (ok)
		slot->count++;
	pthread_mutex_unlock(&bp->store_lock);
	return ok;
}

/** Append one record to the store in a single write(2). @return 0, CORE_ELIMIT or -errno. */
static int store_append(struct rsv_blockpage *bp, const char *rec, size_t len)
{
	struct stat st;
	int fd, r = 0;

	pthread_mutex_lock(&bp->store_lock);
	fd = open(bp->store_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		r = -errno;
		goto out_unlock;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out_close;
	}
	if ((uint64_t)st.st_size + len > RSV_BLOCKPAGE_STORE_MAX) {
		r = CORE_ELIMIT;
		goto out_close;
	}
	ssize_t n = write(fd, rec, len);
	if (n < 0) {
		r = -errno;
	} else if ((size_t)n != len) {
		/* Do not leave half a record: the next one would be glued to it. */
		r = -ENOSPC;
		if (ftruncate(fd, st.st_size) < 0)
			core_log_warn("rsv", "cannot remove a partial record from '%s': %s",
				      bp->store_path, core_strerror(-errno));
	}
out_close:
	close(fd);
out_unlock:
	pthread_mutex_unlock(&bp->store_lock);
	return r;
}

static const char *reason_name(int reason)
{
	switch (reason) {
	case CFG_REASON_NATIONAL:
		return "national";
	case CFG_REASON_POLICY:
		return "policy";
	case CFG_REASON_SUBSCRIBER:
		return "subscriber";
	default:
		return "other";
	}
}

/**
 * Build the store's line for @host. The client's address is deliberately absent (children's
 * privacy, Decree 13/2023/NĐ-CP): the administrator needs the name, not who asked.
 */
static int format_record(struct core_buf *b, const char *host,
			 const struct rsv_blockpage_info *info)
{
	time_t now = (time_t)core_clock_wall_s();
	struct tm tm;
	char when[32];
	int r;

	if (!gmtime_r(&now, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -EINVAL;
	r = core_buf_printf(b, "{\"time\":\"%s\",\"host\":\"", when);
	if (r == 0)
		r = json_str(b, host);
	if (r == 0)
		r = core_buf_printf(b, "\",\"network_id\":\"");
	if (r == 0)
		r = json_str(b, info->network_id);
	if (r == 0)
		r = core_buf_printf(b, "\",\"category\":\"");
	if (r == 0)
		r = json_str(b, info->category);
	if (r == 0)
		r = core_buf_printf(b, "\",\"list\":\"");
	if (r == 0)
		r = json_str(b, info->list);
	if (r == 0)
		r = core_buf_printf(b, "\",\"reason\":\"%s\"}\n", reason_name(info->reason));
	return r;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/**
 * Find field @name in the urlencoded @body and decode it into @out.
 * @return 0, CORE_ENOTFOUND, or CORE_EPARSE (bad escape, too long, NUL).
 */
static int form_field(const char *body, size_t len, const char *name, char *out, size_t size)
{
	size_t name_len = strlen(name);
	const char *p = body, *end = body + len;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pair_end = amp ? amp : end;
		if ((size_t)(pair_end - p) > name_len && memcmp(p, name, name_len) == 0 &&
		    p[name_len] == '=') {
			size_t o = 0;
			for (const char *q = p + name_len + 1; q < pair_end; q++) {
				int c = (unsigned char)*q;
				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					if (pair_end - q < 3)
						return CORE_EPARSE;
					int hi = hexval(q[1]), lo = hexval(q[2]);
					if (hi < 0 || lo < 0)
						return CORE_EPARSE;
					c = hi << 4 | lo;
					q += 2;
				}
				if (c == 0 || o + 1 >= size)
					return CORE_EPARSE;
				out[o++] = (char)c;
			}
			out[o] = '\0';
			return 0;
		}
		p = pair_end + 1;
	}
	return CORE_ENOTFOUND;
}

/** True when the Content-Type is application/x-www-form-urlencoded (parameters allowed). */
static bool is_form(const char *ct)
{
	static const char form[] = "application/x-www-form-urlencoded";

	if (!ct || strncasecmp(ct, form, sizeof(form) - 1) != 0)
		return false;
	ct += sizeof(form) - 1;
	return *ct == '\0' || *ct == ';' || *ct == ' ' || *ct == '\t';
}

/** The whole body of POST /unblock-request is in @st: act on it. */
static enum MHD_Result finish_post(struct rsv_blockpage *bp, struct MHD_Connection *conn,
				   struct bp_post *st)
{
	const struct sockaddr *client = client_addr(conn);
	char value[256], host[256];
	char contact_buf[BP_CONTACT_MAX + 1];
	struct rsv_blockpage_info info;
	struct core_buf rec;
	struct html h;
	int r;

	if (!client)
		return MHD_NO;
	if (!rate_allow(bp, client))
		return send_message(bp, conn, BP_MSG_RATE);
	if (st->too_big || form_field(st->body, st->len, "host", value, sizeof(value)) != 0 ||
	    parse_host(value, host, sizeof(host)) != HOST_NAME)
		return send_message(bp, conn, BP_MSG_BAD_REQUEST);

	lookup(bp, client, host, &info);
	if (!info.blocked) {
		html_init(&h);
		build_neutral(&h, HOST_NAME, host);
		return send_page(conn, MHD_HTTP_OK, &h, false);
	}
	if (!reason_text(info.reason)->can_request)
		return send_message(bp, conn, BP_MSG_NATIONAL);

	core_buf_init(&rec, BP_RECORD_MAX);
	r = format_record(&rec, host, &info);
	if (r == 0)
		r = store_append(bp, rec.data, rec.len);
	core_buf_deinit(&rec);
	if (r == CORE_ELIMIT) {
		core_log_warn("rsv",
			      "unblock request for '%s' not recorded: '%s' is full (%u bytes)",
			      host, bp->store_path, RSV_BLOCKPAGE_STORE_MAX);
		return send_message(bp, conn, BP_MSG_STORE);
	}
	if (r != 0) {
		core_log_err("rsv", "unblock request for '%s' not recorded in '%s': %s", host,
			     bp->store_path, core_strerror(r));
		return send_message(bp, conn, BP_MSG_STORE);
	}
	core_log_info("rsv", "unblock request for '%s' recorded", host);

	html_init(&h);
	build_recorded(&h, host, get_contact(bp, contact_buf));
	return send_page(conn, MHD_HTTP_OK, &h, false);
}

/**
 * POST /unblock-request. First call (headers only): check them, answer 400 at once when they
 * announce a bad body, else allocate @*req_cls. Then collect the body (bounded). Last call: act.
 */
static enum MHD_Result handle_post(struct rsv_blockpage *bp, struct MHD_Connection *conn,
				   const char *data, size_t *data_size, void **req_cls)
{
	struct bp_post *st = *req_cls;

	if (!st) {
		const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_TYPE);
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (!is_form(ct) || (cl && strtoull(cl, NULL, 10) > BP_POST_MAX))
			return send_message(bp, conn, BP_MSG_BAD_REQUEST);
		st = core_calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		*req_cls = st;
		return MHD_YES;
	}
	if (*data_size > 0) {
		if (st->too_big || *data_size > BP_POST_MAX - st->len) {
			st->too_big = true;
		} else {
			memcpy(st->body + st->len, data, *data_size);
			st->len += *data_size;
		}
		*data_size = 0;
		return MHD_YES;
	}
	return finish_post(bp, conn, st);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **req_cls)
{
	struct rsv_blockpage *bp = cls;

	if (strcmp(method, MHD_HTTP_METHOD_POST) == 0 && strcmp(url, BP_UNBLOCK_PATH) == 0)
		return handle_post(bp, conn, data, data_size, req_cls);
	if (*req_cls)
		return MHD_NO; /* cannot happen: only POST keeps state */
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		return serve_page(bp, conn);
	return send_message(bp, conn, BP_MSG_METHOD);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	*req_cls = core_free(*req_cls);
}

/** libmicrohttpd's messages, to our log, at most BP_LOG_PER_MIN a minute. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct rsv_blockpage *bp = cls;
	uint64_t now = core_clock_mono_ms();
	uint_fast64_t start = atomic_load(&bp->log_window_ms);
	char msg[256];
	int saved_errno = errno; /* start_listener() reports the errno of a failed bind */

	if (now - start >= BP_LOG_WINDOW_MS &&
	    atomic_compare_exchange_strong(&bp->log_window_ms, &start, now)) {
		unsigned dropped = atomic_exchange(&bp->log_dropped, 0);
		atomic_store(&bp->log_count, 0);
		if (dropped)
			core_log_info("rsv", "block page: %u libmicrohttpd messages suppressed",
				      dropped);
	}
	if (atomic_fetch_add(&bp->log_count, 1) >= BP_LOG_PER_MIN) {
		atomic_fetch_add(&bp->log_dropped, 1);
	} else {
		vsnprintf(msg, sizeof(msg), fmt, ap);
		msg[strcspn(msg, "\r\n")] = '\0';
		core_log_info("rsv", "block page: %s", msg);
	}
	errno = saved_errno;
}

/*
 * Port 443 and lifecycle.
 */

int rsv_blockpage_probe_port(const struct sockaddr *addr, uint16_t port, unsigned timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, r, err = 0;
	socklen_t elen = sizeof(err);
	struct pollfd pfd;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	memset(&ss, 0, sizeof(ss));
	if (addr->sa_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		memcpy(sin, addr, sizeof(*sin));
		sin->sin_port = htons(port);
		if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else if (addr->sa_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		memcpy(sin6, addr, sizeof(*sin6));
		sin6->sin6_port = htons(port);
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	} else {
		return -EAFNOSUPPORT;
	}

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		r = RSV_BLOCKPAGE_PROBE_OPEN;
		goto out_close;
	}
	if (errno != EINPROGRESS) {
		r = errno == ECONNREFUSED ? RSV_BLOCKPAGE_PROBE_REFUSED : -errno;
		goto out_close;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do {
		r = poll(&pfd, 1, (int)timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = -errno;
		goto out_close;
	}
	if (r == 0) {
		r = RSV_BLOCKPAGE_PROBE_SILENT;
		goto out_close;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err == 0)
		r = RSV_BLOCKPAGE_PROBE_OPEN;
	else if (err == ECONNREFUSED)
		r = RSV_BLOCKPAGE_PROBE_REFUSED;
	else if (err == ETIMEDOUT)
		r = RSV_BLOCKPAGE_PROBE_SILENT;
	else
		r = -err;
out_close:
	if (r == RSV_BLOCKPAGE_PROBE_OPEN) {
		/* Leave no TIME_WAIT and no half-open session at the program that answered. */
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
	return r;
}

/** Say in the log what a browser's HTTPS connection to @l's address meets. */
static void check_https(const struct bp_listener *l, const struct cfg_addr *a)
{
	int r = rsv_blockpage_probe_port((const struct sockaddr *)&a->ss, 443, BP_PROBE_TIMEOUT_MS);

	switch (r) {
	case RSV_BLOCKPAGE_PROBE_REFUSED:
		core_log_debug("rsv", "block page '%s': port 443 refuses connections, as intended",
			       l->text);
		break;
	case RSV_BLOCKPAGE_PROBE_OPEN:
		core_log_warn(
			"rsv",
			"block page '%s': another program accepts connections on port 443 of this address, so HTTPS to blocked names reaches it instead of being refused; give the sinkhole an address of its own, ignoring",
			l->text);
		break;
	case RSV_BLOCKPAGE_PROBE_SILENT:
		core_log_warn(
			"rsv",
			"block page '%s': connections to port 443 get no answer (a firewall drops them?), so browsers wait for HTTPS to time out; let the kernel refuse them (or reject with tcp-reset), ignoring",
			l->text);
		break;
	default:
		core_log_debug("rsv", "block page '%s': cannot probe port 443: %s", l->text,
			       core_strerror(r));
	}
}

static int start_listener(struct rsv_blockpage *bp, const struct cfg_addr *a, struct bp_listener *l)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	uint16_t port;
	const union MHD_DaemonInfo *di;

	snprintf(l->text, sizeof(l->text), "%s", a->text);
	if (sa->sa_family == AF_INET) {
		port = ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		port = ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
		flags |= MHD_USE_IPv6; /* without MHD_USE_DUAL_STACK: IPV6_V6ONLY */
	} else {
		core_log_err("rsv", "block page '%s': not an IPv4 or IPv6 address", l->text);
		return -EINVAL;
	}
	if (port == 443) {
		core_log_err(
			"rsv",
			"block page '%s': port 443 must stay closed so that browsers fail fast on HTTPS; listen on port 80",
			l->text);
		return -EINVAL;
	}

	/* errno is what bind() left: libmicrohttpd keeps it, and mhd_log() restores it. */
	errno = 0;
	/* clang-format off */
	l->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, bp,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, bp,
				  MHD_OPTION_SOCK_ADDR, sa,
				  MHD_OPTION_CONNECTION_LIMIT, BP_CONN_LIMIT,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, BP_CONN_PER_IP,
				  MHD_OPTION_CONNECTION_TIMEOUT, BP_CONN_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)BP_CONN_MEMORY,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, bp,
				  MHD_OPTION_END);
	/* clang-format on */
	if (!l->mhd) {
		int r = errno > 0 ? -errno : -EIO;
		core_log_err(
			"rsv", "block page '%s': cannot listen: %s%s", l->text, core_strerror(r),
			r == -EADDRNOTAVAIL ?
				" (is the sinkhole address configured on an interface of this host?)" :
				"");
		return r;
	}
	di = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_BIND_PORT);
	l->port = di && di->port ? di->port : port;
	core_log_info("rsv", "block page listening on '%s'", l->text);
	check_https(l, a);
	return 0;
}

static char *copy_contact(const char *contact)
{
	size_t n;

	if (!contact)
		return NULL;
	n = strnlen(contact, BP_CONTACT_MAX + 1);
	if (n > BP_CONTACT_MAX) {
		/* Cut at a character boundary. */
		n = BP_CONTACT_MAX;
		while (n > 0 && ((unsigned char)contact[n] & 0xc0) == 0x80)
			n--;
	}
	return core_strndup(contact, n);
}

int rsv_blockpage_start(const struct rsv_blockpage_params *p, struct rsv_blockpage **out_bp)
{
	struct rsv_blockpage *bp;
	int r;

	if (!p || !p->lookup || !p->state_dir || p->n_listen == 0 ||
	    p->n_listen > RSV_BLOCKPAGE_MAX_LISTEN) {
		core_log_err("rsv",
			     "block page: needs 1 to %d listen addresses, a lookup and a state_dir",
			     RSV_BLOCKPAGE_MAX_LISTEN);
		return -EINVAL;
	}
	bp = core_calloc(1, sizeof(*bp));
	if (!bp)
		return -ENOMEM;
	pthread_mutex_init(&bp->contact_lock, NULL);
	pthread_mutex_init(&bp->store_lock, NULL);
	atomic_init(&bp->log_window_ms, core_clock_mono_ms());
	atomic_init(&bp->log_count, 0);
	atomic_init(&bp->log_dropped, 0);
	bp->lookup = p->lookup;
	bp->lookup_arg = p->lookup_arg;

	size_t dlen = strlen(p->state_dir);
	size_t plen = dlen + 1 + sizeof(RSV_BLOCKPAGE_STORE_FILE);
	bp->store_path = core_malloc(plen);
	if (!bp->store_path) {
		r = -ENOMEM;
		goto out_stop;
	}
	snprintf(bp->store_path, plen, "%s/%s", p->state_dir, RSV_BLOCKPAGE_STORE_FILE);
	if (p->contact) {
		bp->contact = copy_contact(p->contact);
		if (!bp->contact) {
			r = -ENOMEM;
			goto out_stop;
		}
	}

	for (size_t i = 0; i < p->n_listen; i++) {
		r = start_listener(bp, &p->listen[i], &bp->listeners[i]);
		if (r != 0)
			goto out_stop;
		bp->n_listeners++;
	}
	*out_bp = bp;
	return 0;
out_stop:
	rsv_blockpage_stop(bp);
	return r;
}

void rsv_blockpage_stop(struct rsv_blockpage *bp)
{
	if (!bp)
		return;
	for (size_t i = 0; i < bp->n_listeners; i++)
		MHD_stop_daemon(bp->listeners[i].mhd);
	pthread_mutex_destroy(&bp->contact_lock);
	pthread_mutex_destroy(&bp->store_lock);
	core_free(bp->contact);
	core_free(bp->store_path);
	core_free(bp);
}

void rsv_blockpage_set_contact(struct rsv_blockpage *bp, const char *contact)
{
	char *copy = NULL, *old;

	if (!bp)
		return;
	if (contact) {
		copy = copy_contact(contact);
		if (!copy) {
			core_log_warn("rsv",
				      "block page: out of memory, keeping the old contact text");
			return;
		}
	}
	pthread_mutex_lock(&bp->contact_lock);
	old = bp->contact;
	bp->contact = copy;
	pthread_mutex_unlock(&bp->contact_lock);
	core_free(old);
}

uint16_t rsv_blockpage_port(const struct rsv_blockpage *bp, size_t i)
{
	return bp && i < bp->n_listeners ? bp->listeners[i].port : 0;
}

/*
 * Reading the store back for the administrator.
 */

/** One record of the store, as read back. */
struct bp_record {
	char time[32];
	char host[256];
	char network_id[128];
	char category[128];
	char list[128];
	char reason[32];
};

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

/**
 * Parse the JSON string at @p (after its opening quote) into @out (always terminated, cut at
 * @size). @return the position after the closing quote, or NULL when malformed.
 */
static const char *json_unstr(const char *p, const char *end, char *out, size_t size)
{
	size_t o = 0;

	while (p < end && *p != '"') {
		char c = *p++;
		if (c == '\\') {
			if (p >= end)
				return NULL;
			c = *p++;
			switch (c) {
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case '"':
			case '\\':
			case '/':
				break;
			case 'u': {
				unsigned cp = 0;
				if (end - p < 4)
					return NULL;
				for (int i = 0; i < 4; i++) {
					int v = hexval(p[i]);
					if (v < 0)
						return NULL;
					cp = cp << 4 | (unsigned)v;
				}
				p += 4;
				/* Only what we write: control characters and U+FFFD. */
				c = cp < 0x80 ? (char)cp : '?';
				break;
			}
			default:
				return NULL;
			}
		}
		if (o + 1 < size)
			out[o++] = c;
	}
	if (p >= end)
		return NULL;
	out[o] = '\0';
	return p + 1;
}

static int parse_record(const char *p, const char *end, struct bp_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	p = skip_ws(p, end);
	if (p >= end || *p++ != '{')
		return CORE_EPARSE;
	for (;;) {
		char key[32], scratch[256];
		char *dst = scratch;
		size_t dsize = sizeof(scratch);

		p = skip_ws(p, end);
		if (p < end && *p == '}')
			break;
		if (p >= end || *p++ != '"' || !(p = json_unstr(p, end, key, sizeof(key))))
			return CORE_EPARSE;
		p = skip_ws(p, end);
		if (p >= end || *p++ != ':')
			return CORE_EPARSE;
		p = skip_ws(p, end);
		if (strcmp(key, "time") == 0)
			dst = rec->time, dsize = sizeof(rec->time);
		else if (strcmp(key, "host") == 0)
			dst = rec->host, dsize = sizeof(rec->host);
		else if (strcmp(key, "network_id") == 0)
			dst = rec->network_id, dsize = sizeof(rec->network_id);
		else if (strcmp(key, "category") == 0)
			dst = rec->category, dsize = sizeof(rec->category);
		else if (strcmp(key, "list") == 0)
			dst = rec->list, dsize = sizeof(rec->list);
		else if (strcmp(key, "reason") == 0)
			dst = rec->reason, dsize = sizeof(rec->reason);
		if (p < end && *p == '"') {
			if (!(p = json_unstr(p + 1, end, dst, dsize)))
				return CORE_EPARSE;
		} else {
			/* A number, true, false or null from a newer writer: skipped. */
			const char *start = p;
			while (p < end &&
			       (isalnum((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.'))
				p++;
			if (p == start)
				return CORE_EPARSE;
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}')
			break;
		return CORE_EPARSE;
	}
	p = skip_ws(p + 1, end);
	if (p != end || rec->time[0] == '\0' || rec->host[0] == '\0')
		return CORE_EPARSE;
	return 0;
}

/** Append @s with control characters and invalid UTF-8 replaced by '?'. */
static int put_plain(struct core_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	int r = 0;

	for (size_t i = 0; i < n && r == 0;) {
		size_t l = core_utf8_seq_len(p + i, n - i);
		if (l == 0 || p[i] < 0x20 || p[i] == 0x7f) {
			r = core_buf_add(out, "?", 1);
			i++;
		} else {
			r = core_buf_add(out, s + i, l);
			i += l;
		}
	}
	return r;
}

static int format_admin_line(struct core_buf *out, const struct bp_record *rec)
{
	const char *keys[] = {"network", "category", "list", "reason"};
	const char *vals[] = {rec->network_id, rec->category, rec->list, rec->reason};
	int r;

	r = put_plain(out, rec->time);
	if (r == 0)
		r = core_buf_add(out, "  ", 2);
	if (r == 0)
		r = put_plain(out, rec->host);
	for (size_t i = 0; i < 4 && r == 0; i++) {
		if (vals[i][0] == '\0')
			continue;
		r = core_buf_printf(out, "%s%s=", i == 0 ? "  " : " ", keys[i]);
		if (r == 0)
			r = put_plain(out, vals[i]);
	}
	if (r == 0)
		r = core_buf_add(out, "\n", 1);
	return r;
}

int rsv_blockpage_read_requests(const char *state_dir, struct core_buf *out)
{
	enum {
		CHUNK = 65536
	};
	char path[4096];
	char *chunk, *line;
	size_t line_len = 0, line_no = 0;
	bool line_long = false;
	int fd, r = 0, count = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, RSV_BLOCKPAGE_STORE_FILE) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	chunk = core_malloc(CHUNK + BP_RECORD_MAX + 1);
	if (!chunk) {
		r = -ENOMEM;
		goto out_close;
	}
	line = chunk + CHUNK;

	for (;;) {
		ssize_t n = read(fd, chunk, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out_free;
		}
		/* At end of file, a last line without '\n' still counts. */
		bool eof = n == 0;
		if (eof && line_len == 0 && !line_long)
			break;
		for (ssize_t i = 0; i < n || eof; i++) {
			if (!eof && chunk[i] != '\n') {
				if (line_len < BP_RECORD_MAX)
					line[line_len++] = chunk[i];
				else
					line_long = true;
				continue;
			}
			line_no++;
			struct bp_record rec;
			if (line_len == 0 && !line_long) {
				/* empty line: nothing */
			} else if (!line_long && parse_record(line, line + line_len, &rec) == 0) {
				r = format_admin_line(out, &rec);
				count++;
			} else {
				r = core_buf_printf(
					out, "line %zu: not a valid unblock request, skipped\n",
					line_no);
			}
			line_len = 0;
			line_long = false;
			if (r != 0)
				goto out_free;
			if (eof)
				break;
		}
		if (eof)
			break;
	}
	r = count;
out_free:
	core_free(chunk);
out_close:
	close(fd);
	return r;
}
