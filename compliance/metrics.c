/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Prometheus /metrics: the HTTP listener and the text-format writers (see metrics.h). */
#include "compliance/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/assert.h"
#include "core/error.h"
#include "core/log.h"
#include "core/utf8.h"

/* Prometheus scrapes one at a time; a few more connections leave room for a curl by hand. */
#define CONN_LIMIT 16u
#define CONN_TIMEOUT_S 10u

struct cmpl_metrics {
	struct MHD_Daemon *mhd; /**< owned; stopped by cmpl_metrics_stop() */
	struct cfg_addr addr;
	uint16_t port; /**< the port actually bound */
	cmpl_metrics_render_fn render;
	void *arg;
	/** false while starting: libmicrohttpd's messages then explain a failed start (warning);
	 * afterwards they are about clients and go to debug. */
	atomic_bool serving;
};

/* ---- the text format ------------------------------------------------------------------------ */

/* One or two lines being built on the stack; appended to the buffer whole, or not at all. */
struct line {
	char buf[CMPL_METRICS_LINE_MAX];
	size_t len;
	bool over; /**< something did not fit: the line is dropped */
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->over || n > sizeof(l->buf) - l->len) {
		l->over = true;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void put_str(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/*
 * Append @s escaped as the text format wants: backslash and line feed always, the double quote
 * inside label values (@quoted). Bytes that are not UTF-8 become U+FFFD, since a scraper
 * rejects the whole scrape for one invalid label value.
 */
static void put_escaped(struct line *l, const char *s, bool quoted)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n > 0) {
		size_t k = core_utf8_seq_len(p, n);
		if (k == 0) {
			put_str(l, "\xef\xbf\xbd");
			k = 1;
		} else if (*p == '\\') {
			put_str(l, "\\\\");
		} else if (*p == '\n') {
			put_str(l, "\\n");
		} else if (*p == '"' && quoted) {
			put_str(l, "\\\"");
		} else {
			put(l, (const char *)p, k);
		}
		p += k;
		n -= k;
	}
}

static bool is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*. Label names: [a-zA-Z_][a-zA-Z0-9_]*, and "__" is
 * reserved for Prometheus itself. */
static bool name_ok(const char *s, bool metric)
{
	if (!s || !*s)
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		if (!(is_alpha_(c) || (metric && c == ':') || (i > 0 && c >= '0' && c <= '9')))
			return false;
	}
	return metric || strncmp(s, "__", 2) != 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static int flush(struct core_buf *out, const struct line *l)
{
	return l->over ? CORE_ELIMIT : core_buf_add(out, l->buf, l->len);
}

int cmpl_metrics_family(struct core_buf *out, const char *name, enum cmpl_metric_type type,
			const char *help)
{
	struct line l = {.len = 0};

	if (core_fails_assert(name_ok(name, true)) ||
	    core_fails_assert(type != CMPL_METRIC_COUNTER || ends_with(name, "_total")) ||
	    core_fails_assert(type == CMPL_METRIC_COUNTER || !ends_with(name, "_total")))
		return -EINVAL;
	put_str(&l, "# HELP ");
	put_str(&l, name);
	put_str(&l, " ");
	put_escaped(&l, help ? help : "", false);
	put_str(&l, "\n# TYPE ");
	put_str(&l, name);
	put_str(&l, type == CMPL_METRIC_COUNTER ? " counter\n" : " gauge\n");
	return flush(out, &l);
}

/* Write "name{labels} " into @l. */
static int put_series(struct line *l, const char *name, const struct cmpl_metric_label *labels,
		      size_t n_labels)
{
	if (core_fails_assert(name_ok(name, true)) || core_fails_assert(labels || !n_labels))
		return -EINVAL;
	put_str(l, name);
	for (size_t i = 0; i < n_labels; i++) {
		if (core_fails_assert(name_ok(labels[i].name, false)))
			return -EINVAL;
		put_str(l, i == 0 ? "{" : ",");
		put_str(l, labels[i].name);
		put_str(l, "=\"");
		put_escaped(l, labels[i].value ? labels[i].value : "", true);
		put_str(l, "\"");
	}
	put_str(l, n_labels ? "} " : " ");
	return 0;
}

int cmpl_metrics_sample_u64(struct core_buf *out, const char *name,
			    const struct cmpl_metric_label *labels, size_t n_labels, uint64_t value)
{
	struct line l = {.len = 0};
	char num[32];
	int r = put_series(&l, name, labels, n_labels);

	if (r != 0)
		return r;
	snprintf(num, sizeof(num), "%" PRIu64 "\n", value);
	put_str(&l, num);
	return flush(out, &l);
}

int cmpl_metrics_sample(struct core_buf *out, const char *name,
			const struct cmpl_metric_label *labels, size_t n_labels, double value)
{
	struct line l = {.len = 0};
	char num[40];
	int r = put_series(&l, name, labels, n_labels);

	if (r != 0)
		return r;
	if (isnan(value)) {
		snprintf(num, sizeof(num), "NaN");
	} else if (isinf(value)) {
		snprintf(num, sizeof(num), "%s", value > 0 ? "+Inf" : "-Inf");
	} else {
		/* The shortest of the two that reads back as the same double. */
		snprintf(num, sizeof(num), "%.15g", value);
		if (strtod(num, NULL) != value)
			snprintf(num, sizeof(num), "%.17g", value);
	}
	put_str(&l, num);
	put_str(&l, "\n");
	return flush(out, &l);
}

/* ---- HTTP ----------------------------------------------------------------------------------- */

static void free_text(void *p)
{
	core_free(p);
}

/* A short fixed answer (404, 405, 500). */
static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text,
				  bool allow)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret = MHD_NO;

	if (!resp)
		return MHD_NO;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    "text/plain; charset=utf-8") == MHD_YES &&
	    (!allow ||
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") == MHD_YES))
		ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result serve_metrics(struct cmpl_metrics *m, struct MHD_Connection *conn)
{
	struct core_buf text;
	struct MHD_Response *resp;
	enum MHD_Result ret = MHD_NO;
	int r;

	core_buf_init(&text, CMPL_METRICS_MAX_BYTES);
	r = m->render(m->arg, &text);
	if (r != 0) {
		core_buf_deinit(&text);
		core_log_warn("cmpl", "metrics '%s': cannot render the metrics: %s", m->addr.text,
			      core_strerror(r));
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "the metrics could not be rendered; see the daemon's log\n",
				  false);
	}
	if (text.data) {
		resp = MHD_create_response_from_buffer_with_free_callback(text.len, text.data,
									  free_text);
		if (!resp) {
			core_buf_deinit(&text);
			return MHD_NO;
		}
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
	}
	/* The response owns the text now. */
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    CMPL_METRICS_CONTENT_TYPE) == MHD_YES &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES)
		ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **req_cls)
{
	struct cmpl_metrics *m = cls;

	/* Every answer is queued on the first call, before any request body is read. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n", true);
	if (strcmp(url, CMPL_METRICS_PATH) != 0)
		return reply_text(conn, MHD_HTTP_NOT_FOUND,
				  "not found; the metrics are at " CMPL_METRICS_PATH "\n", false);
	return serve_metrics(m, conn);
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct cmpl_metrics *m = cls;
	int saved_errno = errno;
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\r\n")] = '\0';
	if (atomic_load(&m->serving))
		core_log_debug("cmpl", "metrics '%s': %s", m->addr.text, msg);
	else
		core_log_warn("cmpl", "metrics '%s': %s", m->addr.text, msg);
	errno = saved_errno;
}

/* Bind a TCP socket to @a as libmicrohttpd will, and let go: the errno of a failed bind names
 * the problem exactly (libmicrohttpd only says that it failed). */
static int probe_bind(const struct cfg_addr *a)
{
	int one = 1, r = 0;
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0)
		r = -errno;
	close(fd);
	return r;
}

int cmpl_metrics_start(const struct cfg_addr *addr, cmpl_metrics_render_fn fn, void *arg,
		       struct cmpl_metrics **out_metrics)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *di;
	struct cmpl_metrics *m;
	uint16_t port;
	int r;

	if (!addr || !fn)
		return -EINVAL;
	if (addr->ss.ss_family == AF_INET) {
		port = ntohs(((const struct sockaddr_in *)&addr->ss)->sin_port);
	} else if (addr->ss.ss_family == AF_INET6) {
		port = ntohs(((const struct sockaddr_in6 *)&addr->ss)->sin6_port);
		flags |= MHD_USE_IPv6; /* without MHD_USE_DUAL_STACK: IPv6 only */
	} else {
		return -EINVAL;
	}
	r = probe_bind(addr);
	if (r != 0) {
		core_log_debug("cmpl", "metrics '%s': bind: %s", addr->text, core_strerror(r));
		return r;
	}
	m = core_calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->addr = *addr;
	m->render = fn;
	m->arg = arg;
	atomic_init(&m->serving, false);
	errno = 0;
	/* clang-format off */
	m->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, m,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m,
				  MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&m->addr.ss,
				  MHD_OPTION_CONNECTION_LIMIT, CONN_LIMIT,
				  MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S,
				  MHD_OPTION_END);
	/* clang-format on */
	if (!m->mhd) {
		r = errno > 0 ? -errno : -EIO;
		core_free(m);
		return r;
	}
	di = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
	m->port = di && di->port ? di->port : port;
	atomic_store(&m->serving, true);
	*out_metrics = m;
	return 0;
}

void cmpl_metrics_stop(struct cmpl_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	core_free(m);
}

const struct cfg_addr *cmpl_metrics_addr(const struct cmpl_metrics *m)
{
	return &m->addr;
}

uint16_t cmpl_metrics_port(const struct cmpl_metrics *m)
{
	return m->port;
}
