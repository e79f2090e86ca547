/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HTTPS downloads driven by libuv through libcurl's multi-socket API (curl's docs/examples/
 * multi-uv.c shape): libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION, one
 * uv_poll_t each) and when to wake it (CURLMOPT_TIMERFUNCTION, one uv_timer_t); we hand events
 * back with curl_multi_socket_action() and collect finished transfers with curl_multi_info_read().
 *
 * Lifetimes: a transfer (struct xfer) lives from rsv_fetch_start() until its callback returned;
 * a socket watcher (struct sock) from libcurl's first interest in the socket until its poll
 * handle's close callback; the fetcher until the close callback of its last handle, after
 * rsv_fetcher_close(). User callbacks never run inside a libcurl call, so they may start
 * transfers or close the fetcher.
 */
#include "resolver/fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <uv.h>

#include "config.h"
#include "core/alloc.h"
#include "core/assert.h"
#include "core/error.h"

#if LIBCURL_VERSION_NUM < 0x075500
#error "libcurl >= 7.85 is needed (CURLOPT_PROTOCOLS_STR)"
#endif

#define MAX_CONDITION_LEN 1024 /* bytes of an ETag or date we put in a request header */

/* One socket libcurl asked us to watch. */
struct sock {
	uv_poll_t poll; /* .data = this */
	curl_socket_t fd;
	struct rsv_fetcher *f;
	struct sock *prev, *next; /* in f->socks while not closing */
};

/* One transfer. */
struct xfer {
	struct rsv_fetcher *f;
	struct xfer *prev, *next; /* in f->xfers (running) or f->failed (waiting for delivery) */
	CURL *easy;
	struct curl_slist *headers;
	int fd;				    /* out_path, -1 when not open */
	char *shown_url;		    /* the URL for messages, credentials hidden */
	char *out_path;			    /* NULL: the body is counted and dropped */
	const char *method;		    /* "GET" or "POST", for messages */
	char *req_etag, *req_last_modified; /* copied into a 304's result when it lacks them */
	uint64_t max_bytes;
	bool too_big;  /* the write callback refused the body */
	int write_err; /* -errno of a failed write to fd */
	rsv_fetch_done_fn done;
	void *arg;
	struct rsv_fetch_result res;
	char errbuf[CURL_ERROR_SIZE];
};

struct rsv_fetcher {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;    /* libcurl's timeout; .data = this */
	uv_timer_t defer;    /* delivers start-time failures from the loop */
	struct xfer *xfers;  /* added to multi, not finished */
	struct xfer *failed; /* failed at start, callback not yet run */
	struct sock *socks;  /* poll handles open */
	unsigned handles;    /* libuv handles not yet closed (timers and polls) */
	bool closing;
};

/* ------------------------------------------------------------------------------------------ */
/* Process-wide setup                                                                         */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_status;

static void global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		global_status = -ENOMEM;
		return;
	}
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	if (!v || !(v->features & CURL_VERSION_SSL))
		global_status = CORE_ECONFIG;
}

int rsv_fetch_global_init(void)
{
	pthread_once(&global_once, global_init);
	return global_status;
}

/* ------------------------------------------------------------------------------------------ */
/* Lists                                                                                      */

static void xfer_link(struct xfer **head, struct xfer *x)
{
	x->prev = NULL;
	x->next = *head;
	if (*head)
		(*head)->prev = x;
	*head = x;
}

static void xfer_unlink(struct xfer **head, struct xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		*head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Handles and teardown                                                                       */

static void fetcher_handle_gone(struct rsv_fetcher *f)
{
	core_require(f->handles > 0);
	if (--f->handles == 0 && f->closing)
		core_free(f);
}

static void on_timer_closed(uv_handle_t *h)
{
	fetcher_handle_gone(h->data);
}

static void on_sock_closed(uv_handle_t *h)
{
	struct sock *s = h->data;
	struct rsv_fetcher *f = s->f;
	core_free(s);
	fetcher_handle_gone(f);
}

static void sock_close(struct rsv_fetcher *f, struct sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		f->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static void xfer_free(struct xfer *x)
{
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	if (x->fd >= 0)
		close(x->fd);
	core_free(x->shown_url);
	core_free(x->out_path);
	core_free(x->req_etag);
	core_free(x->req_last_modified);
	core_free(x);
}

/* Run the callback of @x (already unlinked and out of the multi handle), then free it. */
static void deliver(struct xfer *x)
{
	if (x->easy) {
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	if (x->fd >= 0) {
		if (close(x->fd) != 0 && x->res.status == 0) {
			x->res.status = -errno;
			snprintf(x->res.error, sizeof(x->res.error), "%s '%s': writing '%s': %s",
				 x->method, x->shown_url, x->out_path,
				 core_strerror(x->res.status));
		}
		x->fd = -1;
	}
	x->done(x->arg, &x->res);
	xfer_free(x);
}

/* ------------------------------------------------------------------------------------------ */
/* Finishing a transfer                                                                       */

/* Copy the value of header line @line (@len bytes, CRLF included) into @out when its name is
 * @name; an empty or too long value leaves "". @return true when the name matched. */
static bool header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return false;
	const char *v = line + n + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vlen = (size_t)(end - v);
	out[0] = '\0';
	if (vlen == 0 || vlen >= cap)
		return true;
	for (size_t i = 0; i < vlen; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return true; /* never echo control characters into a later request */
	}
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	return true;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	/* A new response (after a redirect, a 100 Continue or a proxy's CONNECT) starts over. */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		x->res.etag[0] = '\0';
		x->res.last_modified[0] = '\0';
		return len;
	}
	if (!header_value(data, len, "etag", x->res.etag, sizeof(x->res.etag)))
		header_value(data, len, "last-modified", x->res.last_modified,
			     sizeof(x->res.last_modified));
	return len;
}

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	if (len > x->max_bytes - x->res.bytes) {
		x->too_big = true;
		return 0; /* anything but @len aborts with CURLE_WRITE_ERROR */
	}
	for (size_t done = 0; x->fd >= 0 && done < len;) {
		ssize_t w = write(x->fd, data + done, len - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			x->write_err = -errno;
			return 0;
		}
		done += (size_t)w;
	}
	x->res.bytes += len;
	return len;
}

/* Our status for libcurl's @cc; @what gets a short description of the failure. */
static int map_curl_error(struct xfer *x, CURLcode cc, const char **what)
{
	long os_errno = 0;
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		*what = "timed out";
		return CORE_ETIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_USE_SSL_FAILED:
		*what = "TLS";
		return CORE_EPROTO;
	case CURLE_UNSUPPORTED_PROTOCOL:
		*what = "refused (only https:// is allowed, redirects included)";
		return CORE_EPROTO;
	case CURLE_TOO_MANY_REDIRECTS:
		*what = "too many redirects";
		return CORE_EPROTO;
	case CURLE_URL_MALFORMAT:
		*what = "malformed URL";
		return CORE_ECONFIG;
	case CURLE_HTTP_RETURNED_ERROR:
		*what = "HTTP error";
		return CORE_EUPSTREAM;
	case CURLE_FILESIZE_EXCEEDED:
		*what = "body larger than max_bytes";
		return CORE_ELIMIT;
	case CURLE_WRITE_ERROR:
		if (x->too_big) {
			*what = "body larger than max_bytes";
			return CORE_ELIMIT;
		}
		*what = "cannot write the body";
		return x->write_err ? x->write_err : -EIO;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		*what = "cannot resolve";
		return CORE_ENOTFOUND;
	case CURLE_COULDNT_CONNECT:
		*what = "cannot connect";
		curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os_errno);
		return os_errno > 0 ? -(int)os_errno : -ECONNREFUSED;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		*what = "connection failed";
		curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os_errno);
		return os_errno > 0 ? -(int)os_errno : -ECONNRESET;
	case CURLE_OUT_OF_MEMORY:
		*what = "out of memory";
		return -ENOMEM;
	case CURLE_ABORTED_BY_CALLBACK:
		*what = "cancelled";
		return -ECANCELED;
	default:
		*what = "failed";
		return CORE_EUPSTREAM;
	}
}

/* Fill @x->res from libcurl's verdict @cc. */
static void conclude(struct xfer *x, CURLcode cc)
{
	struct rsv_fetch_result *r = &x->res;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->http_code);
	if (cc != CURLE_OK) {
		const char *what = NULL;
		r->status = map_curl_error(x, cc, &what);
		const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);
		if (cc == CURLE_HTTP_RETURNED_ERROR)
			snprintf(r->error, sizeof(r->error), "%s '%s': HTTP status %ld", x->method,
				 x->shown_url, r->http_code);
		else if (cc == CURLE_WRITE_ERROR && !x->too_big)
			snprintf(r->error, sizeof(r->error), "%s '%s': writing '%s': %s", x->method,
				 x->shown_url, x->out_path, core_strerror(r->status));
		else if (r->status == CORE_ELIMIT)
			snprintf(r->error, sizeof(r->error),
				 "%s '%s': body larger than max_bytes (%llu bytes), aborted",
				 x->method, x->shown_url, (unsigned long long)x->max_bytes);
		else
			snprintf(r->error, sizeof(r->error), "%s '%s': %s: %s", x->method,
				 x->shown_url, what, detail);
		return;
	}
	if (r->http_code == 304) {
		r->not_modified = true;
		r->status = 0;
		if (!r->etag[0] && x->req_etag)
			snprintf(r->etag, sizeof(r->etag), "%s", x->req_etag);
		if (!r->last_modified[0] && x->req_last_modified)
			snprintf(r->last_modified, sizeof(r->last_modified), "%s",
				 x->req_last_modified);
		return;
	}
	if (r->http_code >= 200 && r->http_code < 300) {
		r->status = 0;
		return;
	}
	/* A 3xx without a Location, or anything else we did not ask for. */
	r->status = CORE_EUPSTREAM;
	snprintf(r->error, sizeof(r->error), "%s '%s': unexpected HTTP status %ld", x->method,
		 x->shown_url, r->http_code);
}

/* Deliver every finished transfer; stop if a callback closed the fetcher (multi is gone). */
static void check_done(struct rsv_fetcher *f)
{
	CURLMsg *m;
	int left;
	while (!f->closing && (m = curl_multi_info_read(f->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *easy = m->easy_handle;
		CURLcode cc = m->data.result; /* @m is invalid once the handle is removed */
		struct xfer *x = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		core_require(x && x->easy == easy);
		conclude(x, cc);
		curl_multi_remove_handle(f->multi, easy);
		xfer_unlink(&f->xfers, x);
		deliver(x);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* libcurl <-> libuv                                                                          */

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct sock *s = h->data;
	struct rsv_fetcher *f = s->f;
	int flags = 0;
	if (status < 0) {
		flags = CURL_CSELECT_ERR;
	} else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	int running;
	curl_multi_socket_action(f->multi, s->fd, flags, &running);
	check_done(f);
}

static void on_timeout(uv_timer_t *t)
{
	struct rsv_fetcher *f = t->data;
	int running;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(f);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct rsv_fetcher *f = userp;
	if (f->closing)
		return 0;
	if (timeout_ms < 0)
		uv_timer_stop(&f->timer);
	else
		uv_timer_start(&f->timer, on_timeout, (uint64_t)timeout_ms, 0);
	return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct rsv_fetcher *f = userp;
	struct sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(f->multi, fd, NULL);
			sock_close(f, s);
		}
		return 0;
	}
	if (!s) {
		s = core_calloc(1, sizeof(*s));
		if (!s)
			return -1;
		int rc = uv_poll_init_socket(f->loop, &s->poll, fd);
		if (rc == UV_EEXIST) {
			/* libcurl closed a socket without telling us and the number came back:
			 * drop the stale watcher. */
			for (struct sock *o = f->socks; o; o = o->next) {
				if (o->fd == fd) {
					sock_close(f, o);
					break;
				}
			}
			rc = uv_poll_init_socket(f->loop, &s->poll, fd);
		}
		if (rc < 0) {
			core_free(s);
			return -1;
		}
		s->poll.data = s;
		s->fd = fd;
		s->f = f;
		s->next = f->socks;
		if (f->socks)
			f->socks->prev = s;
		f->socks = s;
		f->handles++;
		curl_multi_assign(f->multi, fd, s);
	}
	int events = 0;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	if (uv_poll_start(&s->poll, events, on_poll) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Fetcher                                                                                    */

static void on_defer(uv_timer_t *t)
{
	struct rsv_fetcher *f = t->data;
	struct xfer *x;
	while (!f->closing && (x = f->failed)) {
		xfer_unlink(&f->failed, x);
		deliver(x);
	}
}

int rsv_fetcher_new(uv_loop_t *loop, struct rsv_fetcher **out)
{
	int rc = rsv_fetch_global_init();
	if (rc < 0)
		return rc;
	struct rsv_fetcher *f = core_calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->loop = loop;
	f->multi = curl_multi_init();
	if (!f->multi) {
		core_free(f);
		return -ENOMEM;
	}
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	/* Cannot fail on Unix: timers only touch the loop's structures. */
	uv_timer_init(loop, &f->timer);
	uv_timer_init(loop, &f->defer);
	f->timer.data = f;
	f->defer.data = f;
	f->handles = 2;
	*out = f;
	return 0;
}

void rsv_fetcher_close(struct rsv_fetcher *f)
{
	if (!f || f->closing)
		return;
	f->closing = true;
	uv_timer_stop(&f->timer);
	uv_timer_stop(&f->defer);
	struct xfer *x;
	while ((x = f->xfers)) {
		xfer_unlink(&f->xfers, x);
		curl_multi_remove_handle(f->multi, x->easy);
		x->res.status = -ECANCELED;
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->res.http_code);
		snprintf(x->res.error, sizeof(x->res.error), "%s '%s': cancelled (shutting down)",
			 x->method, x->shown_url);
		deliver(x);
	}
	while ((x = f->failed)) {
		xfer_unlink(&f->failed, x);
		deliver(x);
	}
	/* May still report sockets of cached connections (CURL_POLL_REMOVE). */
	curl_multi_cleanup(f->multi);
	f->multi = NULL;
	while (f->socks)
		sock_close(f, f->socks);
	uv_close((uv_handle_t *)&f->timer, on_timer_closed);
	uv_close((uv_handle_t *)&f->defer, on_timer_closed);
}

/* ------------------------------------------------------------------------------------------ */
/* Starting a transfer                                                                        */

/* @url for messages: credentials ("user:pass@") replaced, control characters made visible. */
static char *shown_url(const char *url)
{
	const char *sep = strstr(url, "://");
	const char *auth = sep ? sep + 3 : url;
	size_t alen = strcspn(auth, "/?#");
	const char *at = memrchr(auth, '@', alen);
	size_t len = strlen(url);
	char *s = core_malloc(len + 5);
	if (!s)
		return NULL;
	if (at) {
		size_t head = (size_t)(auth - url);
		memcpy(s, url, head);
		memcpy(s + head, "***", 3);
		strcpy(s + head + 3, at);
	} else {
		memcpy(s, url, len + 1);
	}
	for (char *p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return s;
}

/* Fail @x from the loop, not from the caller's stack: the callback must not run inside
 * rsv_fetch_start(). */
static void fail_later(struct xfer *x, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail_later(struct xfer *x, int status, const char *fmt, ...)
{
	struct rsv_fetcher *f = x->f;
	x->res.status = status;
	int n = snprintf(x->res.error, sizeof(x->res.error), "%s '%s': ", x->method, x->shown_url);
	if (n > 0 && (size_t)n < sizeof(x->res.error)) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(x->res.error + n, sizeof(x->res.error) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	xfer_link(&f->failed, x);
	uv_timer_start(&f->defer, on_defer, 0, 0);
}

/* A value we may put in a request header: printable, bounded. */
static bool header_safe(const char *v)
{
	size_t n = 0;
	for (; v[n]; n++) {
		if ((unsigned char)v[n] < 0x20 || v[n] == 0x7f)
			return false;
	}
	return n <= MAX_CONDITION_LEN;
}

static int add_header(struct xfer *x, const char *name, const char *value)
{
	char line[MAX_CONDITION_LEN + 64];
	snprintf(line, sizeof(line), "%s: %s", name, value);
	struct curl_slist *l = curl_slist_append(x->headers, line);
	if (!l)
		return -ENOMEM;
	x->headers = l;
	return 0;
}

/* Set the options of @x's easy handle. @return CURLE_OK or the first failure. */
static CURLcode setup_easy(struct xfer *x, const struct rsv_fetch_request *req)
{
	CURL *e = x->easy;
	CURLcode cc;
#define SET(opt, val)                                                 \
	do {                                                          \
		if ((cc = curl_easy_setopt(e, opt, val)) != CURLE_OK) \
			return cc;                                    \
	} while (0)
	SET(CURLOPT_PRIVATE, (char *)x);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	if (req->post_body) {
		/* a POST is not replayed to another address: a redirect is an error */
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->post_len);
		SET(CURLOPT_COPYPOSTFIELDS, (const char *)req->post_body);
		SET(CURLOPT_FOLLOWLOCATION, 0L);
	} else {
		SET(CURLOPT_FOLLOWLOCATION, 1L);
		SET(CURLOPT_MAXREDIRS, (long)RSV_FETCH_MAX_REDIRECTS);
	}
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file && req->ca_file[0]) {
		SET(CURLOPT_CAINFO, req->ca_file);
		SET(CURLOPT_CAPATH, (char *)NULL); /* the bundle alone, not the system's too */
	}
	SET(CURLOPT_FAILONERROR, 1L);
	SET(CURLOPT_ACCEPT_ENCODING, ""); /* whatever libcurl decodes; max_bytes counts decoded */
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_bytes); /* early, by Content-Length */
	SET(CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(req->connect_timeout_ms ? req->connect_timeout_ms :
					     RSV_FETCH_DEFAULT_CONNECT_TIMEOUT_MS));
	SET(CURLOPT_TIMEOUT_MS, (long)(req->total_timeout_ms ? req->total_timeout_ms :
							       RSV_FETCH_DEFAULT_TOTAL_TIMEOUT_MS));
	SET(CURLOPT_USERAGENT, "lanhmanh/" PACKAGE_VERSION);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	if (x->headers)
		SET(CURLOPT_HTTPHEADER, x->headers);
#undef SET
	return CURLE_OK;
}

int rsv_fetch_start(struct rsv_fetcher *f, const struct rsv_fetch_request *req,
		    rsv_fetch_done_fn done, void *arg)
{
	if (!f || !req || !req->url || (!req->out_path && !req->post_body) || !done || f->closing ||
	    req->n_headers > RSV_FETCH_MAX_HEADERS)
		return -EINVAL;
	struct xfer *x = core_calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->f = f;
	x->fd = -1;
	x->done = done;
	x->arg = arg;
	x->max_bytes = req->max_bytes ? req->max_bytes : RSV_FETCH_DEFAULT_MAX_BYTES;
	x->shown_url = shown_url(req->url);
	x->method = req->post_body ? "POST" : "GET";
	x->out_path = req->out_path ? core_strdup(req->out_path) : NULL;
	if (!x->shown_url || (req->out_path && !x->out_path))
		goto out_nomem;
	const char *etag = req->etag && req->etag[0] ? req->etag : NULL;
	const char *lm = req->last_modified && req->last_modified[0] ? req->last_modified : NULL;
	if ((etag && !(x->req_etag = core_strdup(etag))) ||
	    (lm && !(x->req_last_modified = core_strdup(lm))))
		goto out_nomem;

	if (strncasecmp(req->url, "https://", 8) != 0) {
		fail_later(
			x, CORE_ECONFIG,
			"refused: only https:// URLs are allowed (lists come over verified TLS)");
		return 0;
	}
	if ((etag && !header_safe(etag)) || (lm && !header_safe(lm))) {
		fail_later(x, -EINVAL,
			   "the stored ETag or Last-Modified holds control characters or is too "
			   "long");
		return 0;
	}
	if ((etag && add_header(x, "If-None-Match", etag) < 0) ||
	    (lm && add_header(x, "If-Modified-Since", lm) < 0))
		goto out_nomem;
	for (size_t i = 0; i < req->n_headers; i++) {
		if (!header_safe(req->headers[i]) || !strchr(req->headers[i], ':')) {
			fail_later(x, -EINVAL, "header %zu is not a 'Name: value' line", i);
			return 0;
		}
		struct curl_slist *l = curl_slist_append(x->headers, req->headers[i]);
		if (!l)
			goto out_nomem;
		x->headers = l;
	}

	if (req->out_path)
		x->fd = open(req->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY,
			     0666);
	if (req->out_path && x->fd < 0) {
		int err = -errno;
		fail_later(x, err, "cannot create '%s': %s", x->out_path, core_strerror(err));
		return 0;
	}
	x->easy = curl_easy_init();
	if (!x->easy)
		goto out_nomem;
	CURLcode cc = setup_easy(x, req);
	if (cc == CURLE_OUT_OF_MEMORY)
		goto out_nomem;
	if (cc != CURLE_OK) {
		fail_later(x, CORE_ECONFIG, "libcurl refused an option: %s",
			   curl_easy_strerror(cc));
		return 0;
	}
	CURLMcode mc = curl_multi_add_handle(f->multi, x->easy);
	if (mc == CURLM_OUT_OF_MEMORY)
		goto out_nomem;
	if (mc != CURLM_OK) {
		fail_later(x, -EIO, "libcurl cannot start it: %s", curl_multi_strerror(mc));
		return 0;
	}
	xfer_link(&f->xfers, x);
	return 0;

out_nomem:
	xfer_free(x);
	return -ENOMEM;
}
