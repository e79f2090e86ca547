/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the block page (resolver/blockpage.c): the real HTTP server on 127.0.0.1 (and
 * ::1 when available) at a free port, a fake lookup callback, and a tiny HTTP client over plain
 * sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "resolver/blockpage.h"

#define CONTACT "Phòng CNTT, thầy Nam, 0123 456 789"
#define STORE "/" RSV_BLOCKPAGE_STORE_FILE

/*
 * The fake daemon: which names are blocked, and what the callback saw.
 */

static atomic_int lookups;
static atomic_int last_family;
static atomic_bool client_is_loopback;

static void fake_lookup(void *arg, const struct sockaddr *client, const char *host,
			struct rsv_blockpage_info *out)
{
	atomic_fetch_add(&lookups, 1);
	atomic_store(&last_family, client->sa_family);
	if (client->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)client;
		atomic_store(&client_is_loopback, sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)client;
		atomic_store(&client_is_loopback, IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	}

	if (strcmp(host, "blocked.example.vn") == 0) {
		out->blocked = true;
		out->reason = 1;
		snprintf(out->network, sizeof(out->network), "Trường TH Lê Lợi");
		snprintf(out->network_id, sizeof(out->network_id), "79-TH-0001");
		snprintf(out->category, sizeof(out->category), "adult");
		snprintf(out->list, sizeof(out->list), "adult-list");
	} else if (strcmp(host, "national.example.vn") == 0) {
		out->blocked = true;
		out->reason = 0;
		snprintf(out->network, sizeof(out->network), "Trường TH Lê Lợi");
		snprintf(out->network_id, sizeof(out->network_id), "79-TH-0001");
		snprintf(out->category, sizeof(out->category), "national");
		snprintf(out->list, sizeof(out->list), "national");
	} else if (strcmp(host, "games.example.vn") == 0) {
		out->blocked = true;
		out->reason = 2;
		snprintf(out->network_id, sizeof(out->network_id), "sub-42");
		snprintf(out->category, sizeof(out->category), "games");
		snprintf(out->list, sizeof(out->list), "games");
	} else if (strcmp(host, "evil.example.vn") == 0) {
		/* Names from the config are escaped too; and the callback forgets a terminator. */
		out->blocked = true;
		out->reason = 1;
		snprintf(out->network, sizeof(out->network), "<b>Bad & \"Co\"</b>");
		snprintf(out->network_id, sizeof(out->network_id), "id\"\\\n");
		snprintf(out->category, sizeof(out->category), "<i>site</i>");
		memset(out->list, 'x', sizeof(out->list));
	}
}

/*
 * A tiny HTTP client: one request per connection, read until the server closes.
 */

struct resp {
	int status; /**< 0: no valid status line */
	char raw[65536];
	size_t len;
	const char *body; /**< into raw */
	size_t body_len;
};

static void set_loopback(int family, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		*len = sizeof(*sin6);
	}
}

static void http_raw(int family, uint16_t port, const char *req, size_t req_len, struct resp *out)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(out, 0, sizeof(*out));
	assert_true(fd >= 0);
	set_loopback(family, port, &ss, &slen);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, slen), 0);
	for (size_t off = 0; off < req_len;) {
		ssize_t n = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server may answer early and close */
		off += (size_t)n;
	}
	for (;;) {
		ssize_t n = recv(fd, out->raw + out->len, sizeof(out->raw) - 1 - out->len, 0);
		if (n <= 0)
			break;
		out->len += (size_t)n;
	}
	close(fd);
	out->raw[out->len] = '\0';
	if (sscanf(out->raw, "HTTP/1.%*d %d", &out->status) != 1)
		out->status = 0;
	const char *sep = strstr(out->raw, "\r\n\r\n");
	out->body = sep ? sep + 4 : out->raw + out->len;
	out->body_len = (size_t)(out->raw + out->len - out->body);
}

/** GET (or @method) @path with a Host header @host (NULL: none, and HTTP/1.0). */
static void http_get(int family, uint16_t port, const char *method, const char *host,
		     struct resp *out)
{
	char req[1024];
	int n;

	if (host)
		n = snprintf(req, sizeof(req),
			     "%s /some/path?q=1 HTTP/1.1\r\nHost: %s\r\nUser-Agent: test\r\n"
			     "Connection: close\r\n\r\n",
			     method, host);
	else
		n = snprintf(req, sizeof(req), "%s / HTTP/1.0\r\n\r\n", method);
	http_raw(family, port, req, (size_t)n, out);
}

static void http_post(uint16_t port, const char *path, const char *ctype, const char *body,
		      struct resp *out)
{
	char req[8192];
	int n = snprintf(req, sizeof(req),
			 "POST %s HTTP/1.1\r\nHost: blocked.example.vn\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 path, ctype, strlen(body), body);
	assert_true(n > 0 && (size_t)n < sizeof(req));
	http_raw(AF_INET, port, req, (size_t)n, out);
}

static void post_form(uint16_t port, const char *body, struct resp *out)
{
	http_post(port, "/unblock-request", "application/x-www-form-urlencoded", body, out);
}

/** Case-insensitive: does the response carry header line @line ("Name: value")? */
static bool has_header(const struct resp *r, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = strstr(r->raw, "\r\n"); p && p < r->body; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, line, n) == 0)
			return true;
	}
	return false;
}

static bool body_has(const struct resp *r, const char *s)
{
	return strstr(r->body, s) != NULL;
}

#define assert_body_has(r, s)                                             \
	do {                                                              \
		if (!body_has(r, s))                                      \
			fail_msg("body lacks \"%s\":\n%s", s, (r)->body); \
	} while (0)
#define assert_body_lacks(r, s)                                         \
	do {                                                            \
		if (body_has(r, s))                                     \
			fail_msg("body has \"%s\":\n%s", s, (r)->body); \
	} while (0)

/*
 * Fixture: a block page on 127.0.0.1, a free port, with a fresh state directory.
 */

struct fixture {
	struct rsv_blockpage *bp;
	char dir[64];
	char store[128];
	uint16_t port;
	struct resp r; /* large: kept off the stack */
};

static void loopback_addr(int family, uint16_t port, struct cfg_addr *a)
{
	memset(a, 0, sizeof(*a));
	set_loopback(family, port, &a->ss, &a->len);
	snprintf(a->text, sizeof(a->text), family == AF_INET ? "127.0.0.1:%u" : "[::1]:%u", port);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct cfg_addr a;
	struct rsv_blockpage_params p = {
		.listen = &a,
		.n_listen = 1,
		.contact = CONTACT,
		.lookup = fake_lookup,
	};

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/lanhmanh-bp-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->store, sizeof(f->store), "%s" STORE, f->dir);
	p.state_dir = f->dir;
	loopback_addr(AF_INET, 0, &a);
	if (rsv_blockpage_start(&p, &f->bp) != 0)
		return -1;
	f->port = rsv_blockpage_port(f->bp, 0);
	if (f->port == 0)
		return -1;
	atomic_store(&lookups, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rsv_blockpage_stop(f->bp);
	unlink(f->store);
	rmdir(f->dir);
	free(f);
	core_clock_set_fake(0);
	/* Everything the block page allocated is freed once it is stopped. */
	return core_alloc_live_bytes() == 0 ? 0 : -1;
}

/** Lines in the store (0 when it does not exist). */
static int store_lines(const struct fixture *f, char *buf, size_t size)
{
	int fd = open(f->store, O_RDONLY);
	ssize_t n;
	int lines = 0;

	buf[0] = '\0';
	if (fd < 0)
		return 0;
	n = read(fd, buf, size - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	return lines;
}

/*
 * Tests.
 */

static void test_block_page_policy(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;

	http_get(AF_INET, f->port, "GET", "Blocked.Example.VN.:80", r);
	assert_int_equal(r->status, 403);
	assert_true(has_header(r, "Content-Type: text/html; charset=utf-8"));
	assert_true(has_header(r, "Cache-Control: no-store"));
	assert_true(has_header(r, "Content-Security-Policy: default-src 'none';"));
	assert_true(has_header(r, "X-Content-Type-Options: nosniff"));
	assert_int_equal(atomic_load(&lookups), 1);
	assert_true(atomic_load(&client_is_loopback));
	assert_int_equal(atomic_load(&last_family), AF_INET);

	/* Vietnamese first, English below. */
	const char *vi = strstr(r->body, "Trang này đã bị chặn");
	const char *en = strstr(r->body, "This site is blocked");
	assert_non_null(vi);
	assert_non_null(en);
	assert_true(strstr(vi, "<section lang=\"en\"") != NULL);
	assert_true(strstr(r->body, "<section lang=\"vi\">") <
		    strstr(r->body, "<section lang=\"en\""));
	/* The domain, normalised: no port, lower case, no trailing dot. */
	assert_body_has(r, "<span class=\"d\">blocked.example.vn</span>");
	assert_body_lacks(r, ":80");
	/* Why. */
	assert_body_has(r, "theo chính sách lọc nội dung phù hợp lứa tuổi của nhà trường");
	assert_body_has(r, "by the school's age-appropriate content policy");
	assert_body_has(r, "nội dung người lớn (adult)");
	assert_body_has(r, "adult content (adult)");
	assert_body_has(r, "adult-list");
	assert_body_has(r, "Trường TH Lê Lợi");
	/* What to do: contact, the unblock-request button. */
	assert_body_has(r, CONTACT);
	assert_body_has(r, "<form method=\"post\" action=\"/unblock-request\">");
	assert_body_has(r, "<input type=\"hidden\" name=\"host\" value=\"blocked.example.vn\">");
	/* The hotline, in both languages. */
	assert_body_has(r, "Tổng đài quốc gia bảo vệ trẻ em 111");
	assert_body_has(r, "National child protection hotline: 111");
	assert_body_has(r, "href=\"tel:111\"");
	/* Self-contained and small: no script, no external resource. */
	assert_body_lacks(r, "<script");
	assert_body_lacks(r, "src=");
	assert_body_lacks(r, "http://");
	assert_body_lacks(r, "https://");
	assert_true(r->body_len < 10000);
	assert_true(r->body_len > 1000);
}

static void test_block_page_national(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;

	http_get(AF_INET, f->port, "GET", "national.example.vn", r);
	assert_int_equal(r->status, 403);
	assert_body_has(r, "theo danh sách của cơ quan có thẩm quyền (danh sách quốc gia)");
	assert_body_has(r, "on the national list of the competent authority");
	assert_body_has(r, "cơ quan có thẩm quyền quyết định");
	assert_body_has(r, "blocked by decision of the competent authority");
	assert_body_has(r, "Tổng đài quốc gia bảo vệ trẻ em 111");
	assert_body_has(r, "National child protection hotline: 111");
	assert_body_has(r, CONTACT);
	/* A national-list block cannot be requested away: no button. */
	assert_body_lacks(r, "<form");
	assert_body_lacks(r, "unblock-request");
	assert_body_lacks(r, "theo chính sách lọc nội dung phù hợp lứa tuổi");
}

static void test_block_page_subscriber(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;

	http_get(AF_INET, f->port, "GET", "games.example.vn", r);
	assert_int_equal(r->status, 403);
	assert_body_has(r, "bộ lọc nội dung mà chủ thuê bao Internet này đã chọn");
	assert_body_has(r, "content filter that the subscriber of this Internet connection chose");
	assert_body_has(r, "trò chơi (games)");
	assert_body_has(r, "<form method=\"post\" action=\"/unblock-request\">");
	/* No network name: no empty line for it. */
	assert_body_lacks(r, "Mạng:");
	assert_body_lacks(r, "Network:");
}

static void test_head(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;

	http_get(AF_INET, f->port, "HEAD", "blocked.example.vn", r);
	assert_int_equal(r->status, 403);
	assert_int_equal(r->body_len, 0);
	assert_true(has_header(r, "Cache-Control: no-store"));
}

/* Browsers send the blocked site's cookies: 9 KiB of headers (more than nginx's 8 KiB line
 * default) still get the page; 30 KiB do not. */
static void test_large_headers(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;
	static char req[40000];
	size_t cookie;
	int n;

	for (cookie = 9000; cookie <= 30000; cookie += 21000) {
		n = snprintf(req, sizeof(req),
			     "GET / HTTP/1.1\r\nHost: blocked.example.vn\r\nCookie: ");
		memset(req + n, 'c', cookie);
		n += (int)cookie;
		n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\nConnection: close\r\n\r\n");
		http_raw(AF_INET, f->port, req, (size_t)n, r);
		if (cookie == 9000) {
			assert_int_equal(r->status, 403);
			assert_body_has(r, "Trang này đã bị chặn");
		} else {
			/* Past the per-connection memory bound: refused, not served. */
			assert_true(r->status == 431 || r->status == 413 || r->status == 0);
		}
	}
	/* The server is unharmed. */
	http_get(AF_INET, f->port, "GET", "blocked.example.vn", r);
	assert_int_equal(r->status, 403);
}

static void test_escaping(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;

	/* A Host that is not a name is shown, escaped, and never looked up. */
	http_get(AF_INET, f->port, "GET", "<script>x</script>.vn", r);
	assert_int_equal(r->status, 400);
	assert_body_has(r, "&lt;script&gt;x&lt;/script&gt;.vn");
	assert_body_lacks(r, "<script");
	assert_body_has(r, "không hợp lệ");
	assert_body_has(r, "not a valid domain name");
	assert_int_equal(atomic_load(&lookups), 0);

	http_get(AF_INET, f->port, "GET", "\"onmouseover='x'.vn", r);
	assert_int_equal(r->status, 400);
	assert_body_has(r, "&quot;onmouseover=&#39;x&#39;.vn");

	/* Length-limited. */
	char longhost[280];
	memset(longhost, 'a', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	longhost[10] = '/';
	http_get(AF_INET, f->port, "GET", longhost, r);
	assert_int_equal(r->status, 400);
	assert_body_has(r, "…");
	assert_body_lacks(r, longhost + 150);

	/* Strings from the daemon are escaped as well; an unterminated one is cut. */
	http_get(AF_INET, f->port, "GET", "evil.example.vn", r);
	assert_int_equal(r->status, 403);
	assert_body_has(r, "&lt;b&gt;Bad &amp; &quot;Co&quot;&lt;/b&gt;");
	assert_body_has(r, "&lt;i&gt;site&lt;/i&gt;");
	assert_body_lacks(r, "<b>");
	assert_body_lacks(r, "<i>");
	char xs[64];
	memset(xs, 'x', 63);
	xs[63] = '\0';
	assert_body_has(r, xs);
	assert_body_lacks(r, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");

	/* The contact text too, after a reload. */
	rsv_blockpage_set_contact(f->bp, "<a href=x>Cô Lan</a>");
	http_get(AF_INET, f->port, "GET", "blocked.example.vn", r);
	assert_body_has(r, "&lt;a href=x&gt;Cô Lan&lt;/a&gt;");
	assert_body_lacks(r, "<a href=x>");
}

static void test_neutral_pages(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;
	char host[64];

	/* A name that is not (or no longer) blocked. */
	http_get(AF_INET, f->port, "GET", "hoc10.vn", r);
	assert_int_equal(r->status, 404);
	assert_body_has(r, "trang thông báo chặn của lanhmanh");
	assert_body_has(r, "block page of lanhmanh");
	assert_body_has(r, "<span class=\"d\">hoc10.vn</span> hiện không bị chặn");
	assert_body_has(r, "is not blocked for you now");
	assert_body_lacks(r, "Trang này đã bị chặn");
	assert_body_lacks(r, "<form");
	assert_int_equal(atomic_load(&lookups), 1);

	/* The sinkhole address itself, with and without a port; IPv6 literal; no Host at all. */
	snprintf(host, sizeof(host), "127.0.0.1:%u", f->port);
	const char *direct[] = {host, "127.0.0.1", "[::1]:80", "[fd00:10::10]", NULL};
	for (size_t i = 0; i <= 4; i++) {
		http_get(AF_INET, f->port, "GET", direct[i], r);
		assert_int_equal(r->status, 200);
		assert_body_has(r, "trang thông báo chặn của lanhmanh");
		assert_body_has(r, "names no domain");
		assert_body_has(r, "không nêu tên miền");
		assert_body_lacks(r, "Trang này đã bị chặn");
	}
	assert_int_equal(atomic_load(&lookups), 1);

	/* Not names: a bad port, an empty label, a numeric top-level label, a space. */
	const char *bad[] = {"example.vn:http", "a..vn", "1.2.3.999", "a b.vn", "[::1", "x:1:2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_get(AF_INET, f->port, "GET", bad[i], r);
		assert_int_equal(r->status, 400);
		assert_body_has(r, "not a valid domain name");
	}
	assert_int_equal(atomic_load(&lookups), 1);
}

static void test_other_methods(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;

	http_get(AF_INET, f->port, "PUT", "blocked.example.vn", r);
	assert_int_equal(r->status, 405);
	assert_true(has_header(r, "Allow: GET, HEAD, POST"));
	http_post(f->port, "/elsewhere", "application/x-www-form-urlencoded",
		  "host=blocked.example.vn", r);
	assert_int_equal(r->status, 405);
	assert_int_equal(atomic_load(&lookups), 0);
}

static void test_unblock_request(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;
	char buf[4096];
	struct core_buf out;

	post_form(f->port, "x=1&host=Blocked.Example.VN&y=%41", r);
	assert_int_equal(r->status, 200);
	assert_body_has(r, "Đã ghi nhận yêu cầu bỏ chặn");
	assert_body_has(r, "Unblock request recorded");
	assert_body_has(r, "blocked.example.vn");
	assert_body_has(r, "Tổng đài quốc gia bảo vệ trẻ em 111");
	assert_true(atomic_load(&client_is_loopback)); /* the lookup saw the client… */

	assert_int_equal(store_lines(f, buf, sizeof(buf)), 1);
	/* …the store never does (Decree 13/2023: children's personal data). */
	assert_null(strstr(buf, "127.0.0.1"));
	assert_null(strstr(buf, "::1"));
	assert_non_null(strstr(buf, "\"host\":\"blocked.example.vn\""));
	assert_non_null(strstr(buf, "\"network_id\":\"79-TH-0001\""));
	assert_non_null(strstr(buf, "\"category\":\"adult\""));
	assert_non_null(strstr(buf, "\"list\":\"adult-list\""));
	assert_non_null(strstr(buf, "\"reason\":\"policy\""));
	int y, mo, d, h, mi, s;
	char z;
	assert_int_equal(sscanf(buf, "{\"time\":\"%4d-%2d-%2dT%2d:%2d:%2d%c\"", &y, &mo, &d, &h,
				&mi, &s, &z),
			 7);
	assert_int_equal(z, 'Z');
	assert_true(y >= 2024);

	/* Subscriber filter: allowed too; the file is private to the daemon's user and group. */
	post_form(f->port, "host=games.example.vn", r);
	assert_int_equal(r->status, 200);
	assert_int_equal(store_lines(f, buf, sizeof(buf)), 2);
	struct stat st;
	assert_int_equal(stat(f->store, &st), 0);
	assert_int_equal(st.st_mode & 0007, 0);

	/* A strange network id from the daemon stays one valid JSON line. */
	post_form(f->port, "host=evil.example.vn", r);
	assert_int_equal(r->status, 200);
	assert_int_equal(store_lines(f, buf, sizeof(buf)), 3);
	assert_non_null(strstr(buf, "\"network_id\":\"id\\\"\\\\\\u000a\""));

	/* A national-list name: no request possible. A name not blocked: nothing to record. */
	post_form(f->port, "host=national.example.vn", r);
	assert_int_equal(r->status, 403);
	assert_body_has(r, "danh sách quốc gia");
	post_form(f->port, "host=hoc10.vn", r);
	assert_int_equal(r->status, 200);
	assert_body_has(r, "is not blocked for you now");
	assert_int_equal(store_lines(f, buf, sizeof(buf)), 3);

	/* The administrator's view. */
	core_buf_init(&out, 1 << 20);
	assert_int_equal(rsv_blockpage_read_requests(f->dir, &out), 3);
	const char *t = core_buf_str(&out);
	assert_non_null(strstr(t, "  blocked.example.vn  network=79-TH-0001 category=adult "
				  "list=adult-list reason=policy\n"));
	assert_non_null(strstr(t, "  games.example.vn  network=sub-42 category=games list=games "
				  "reason=subscriber\n"));
	assert_non_null(strstr(t, "  evil.example.vn  network=id\"\\? category=<i>site</i> list="));
	assert_null(strstr(t, "\n\n"));
	core_buf_deinit(&out);
}

static void test_bad_posts(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;
	char buf[4096];
	char big[3000];

	uint64_t t = 7000000;

	/* Every POST counts for the rate limit: each one here starts a fresh minute. */
	const char *bodies[] = {
		"",
		"hots=blocked.example.vn",
		"host=",
		"host=%3Cscript%3E.vn",
		"host=a%2",
		"host=a%zz.vn",
		"host=blocked.example.vn%00",
		"host=a b.vn",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		core_clock_set_fake(t += 60000);
		post_form(f->port, bodies[i], r);
		assert_int_equal(r->status, 400);
		assert_body_has(r, "Bad request");
		assert_body_lacks(r, "<script");
	}

	/* Not a form. */
	http_post(f->port, "/unblock-request", "application/json", "{\"host\":\"a.vn\"}", r);
	assert_int_equal(r->status, 400);
	http_post(f->port, "/unblock-request", "application/x-www-form-urlencodedX",
		  "host=blocked.example.vn", r);
	assert_int_equal(r->status, 400);

	/* Oversized: announced by Content-Length (refused before the body is read)… */
	const char *req = "POST /unblock-request HTTP/1.1\r\nHost: a.vn\r\n"
			  "Content-Type: application/x-www-form-urlencoded\r\n"
			  "Content-Length: 100000\r\nConnection: close\r\n\r\n";
	http_raw(AF_INET, f->port, req, strlen(req), r);
	assert_int_equal(r->status, 400);
	assert_body_has(r, "Bad request");

	/* …sent in full, or chunked without a length. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "host=", 5);
	post_form(f->port, big, r);
	assert_int_equal(r->status, 400);
	assert_body_has(r, "Bad request");

	char chunked[8192];
	int n = snprintf(chunked, sizeof(chunked),
			 "POST /unblock-request HTTP/1.1\r\nHost: a.vn\r\n"
			 "Content-Type: application/x-www-form-urlencoded\r\n"
			 "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
			 "%zx\r\n%s\r\n%zx\r\n%s\r\n0\r\n\r\n",
			 strlen(big), big, strlen(big), big);
	core_clock_set_fake(t += 60000);
	http_raw(AF_INET, f->port, chunked, (size_t)n, r);
	assert_int_equal(r->status, 400);
	assert_body_has(r, "Bad request");

	/* A chunked body within bounds works. */
	n = snprintf(chunked, sizeof(chunked),
		     "POST /unblock-request HTTP/1.1\r\nHost: a.vn\r\n"
		     "Content-Type: application/x-www-form-urlencoded; charset=UTF-8\r\n"
		     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
		     "5\r\nhost=\r\n12\r\nblocked.example.vn\r\n0\r\n\r\n");
	core_clock_set_fake(t += 60000);
	http_raw(AF_INET, f->port, chunked, (size_t)n, r);
	assert_int_equal(r->status, 200);
	assert_int_equal(store_lines(f, buf, sizeof(buf)), 1);
}

static void test_rate_limit(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;
	char buf[8192];
	uint64_t t0 = 5000000;

	core_clock_set_fake(t0);
	for (int i = 0; i < RSV_BLOCKPAGE_RATE_PER_MIN; i++) {
		post_form(f->port, "host=blocked.example.vn", r);
		assert_int_equal(r->status, 200);
	}
	post_form(f->port, "host=blocked.example.vn", r);
	assert_int_equal(r->status, 429);
	assert_true(has_header(r, "Retry-After: 60"));
	assert_body_has(r, "Too many requests");
	assert_int_equal(store_lines(f, buf, sizeof(buf)), RSV_BLOCKPAGE_RATE_PER_MIN);

	/* Still limited just before the minute is over, free again after it. */
	core_clock_set_fake(t0 + 59000);
	post_form(f->port, "host=blocked.example.vn", r);
	assert_int_equal(r->status, 429);
	core_clock_set_fake(t0 + 60000);
	post_form(f->port, "host=blocked.example.vn", r);
	assert_int_equal(r->status, 200);
	assert_int_equal(store_lines(f, buf, sizeof(buf)), RSV_BLOCKPAGE_RATE_PER_MIN + 1);

	/* Reading pages is never limited. */
	for (int i = 0; i < 3 * RSV_BLOCKPAGE_RATE_PER_MIN; i++) {
		http_get(AF_INET, f->port, "GET", "blocked.example.vn", r);
		assert_int_equal(r->status, 403);
	}
}

static void test_store_full(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;
	struct stat st;
	int fd = open(f->store, O_WRONLY | O_CREAT, 0640);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, RSV_BLOCKPAGE_STORE_MAX - 50), 0);
	close(fd);

	post_form(f->port, "host=blocked.example.vn", r);
	assert_int_equal(r->status, 503);
	assert_body_has(r, "Chưa ghi được yêu cầu");
	assert_body_has(r, CONTACT);
	assert_int_equal(stat(f->store, &st), 0);
	assert_int_equal(st.st_size, RSV_BLOCKPAGE_STORE_MAX - 50);

	/* The state directory is gone: refused the same way, the page keeps working. */
	unlink(f->store);
	rmdir(f->dir);
	post_form(f->port, "host=games.example.vn", r);
	assert_int_equal(r->status, 503);
	http_get(AF_INET, f->port, "GET", "blocked.example.vn", r);
	assert_int_equal(r->status, 403);
}

static void test_read_requests(void **state)
{
	struct fixture *f = *state;
	struct core_buf out;
	const char text[] =
		"{\"time\":\"2024-05-06T02:03:04Z\",\"host\":\"a.vn\",\"network_id\":\"n1\","
		"\"category\":\"adult\",\"list\":\"l\",\"reason\":\"policy\"}\n"
		"\n"
		"garbage\n"
		"{\"time\":\"2024-05-06T02:03:05Z\",\"host\":\"b\\u001b[31m.vn\",\"n\":12}\n"
		"{\"time\":\"2024-05-06T02:03:06Z\"}\n"
		"{\"time\":\"2024-05-06T02:03:07Z\",\"host\":\"c.vn\"}";
	int fd;

	core_buf_init(&out, 4096);
	assert_int_equal(rsv_blockpage_read_requests(f->dir, &out), 0);
	assert_string_equal(core_buf_str(&out), "");

	fd = open(f->store, O_WRONLY | O_CREAT, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	assert_int_equal(rsv_blockpage_read_requests(f->dir, &out), 3);
	assert_string_equal(core_buf_str(&out),
			    "2024-05-06T02:03:04Z  a.vn  network=n1 category=adult list=l "
			    "reason=policy\n"
			    "line 3: not a valid unblock request, skipped\n"
			    "2024-05-06T02:03:05Z  b?[31m.vn\n"
			    "line 5: not a valid unblock request, skipped\n"
			    "2024-05-06T02:03:07Z  c.vn\n");
	core_buf_deinit(&out);

	/* A full output buffer is reported. */
	core_buf_init(&out, 40);
	assert_int_equal(rsv_blockpage_read_requests(f->dir, &out), CORE_ELIMIT);
	core_buf_deinit(&out);
}

/** Connect to @port on loopback: 0 when connected, else the errno; the time it took in @ms. */
static int try_connect(int family, uint16_t port, double *ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct timespec t0, t1;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0;

	assert_true(fd >= 0);
	set_loopback(family, port, &ss, &len);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		err = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	*ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	return err;
}

static void test_https_refused(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;
	struct sockaddr_storage ss;
	socklen_t len;
	double ms;
	int err;

	/* Port 80 (here: the test's port) serves the page… */
	http_get(AF_INET, f->port, "GET", "blocked.example.vn", r);
	assert_int_equal(r->status, 403);

	/* …a port of the same address where nothing listens refuses at once. */
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	set_loopback(AF_INET, 0, &ss, &len);
	assert_int_equal(bind(lfd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);
	uint16_t free_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	assert_int_equal(try_connect(AF_INET, free_port, &ms), ECONNREFUSED);
	assert_true(ms < 1000);
	assert_int_equal(rsv_blockpage_probe_port((struct sockaddr *)&ss, free_port, 300),
			 RSV_BLOCKPAGE_PROBE_REFUSED);
	/* The probe tells a listening port apart. */
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(rsv_blockpage_probe_port((struct sockaddr *)&ss, free_port, 300),
			 RSV_BLOCKPAGE_PROBE_OPEN);
	close(lfd);

	/* The block page's configuration cannot bind 443 … */
	struct cfg_addr a;
	struct rsv_blockpage_params p = {
		.listen = &a, .n_listen = 1, .state_dir = f->dir, .lookup = fake_lookup};
	struct rsv_blockpage *bp2 = NULL;
	loopback_addr(AF_INET, 443, &a);
	assert_int_equal(rsv_blockpage_start(&p, &bp2), -EINVAL);
	assert_null(bp2);

	/* … and port 443 of the sinkhole address is refused at once, unless this machine happens
	 * to run something there (then this check means nothing and is skipped). */
	err = try_connect(AF_INET, 443, &ms);
	if (err == 0)
		skip();
	assert_int_equal(err, ECONNREFUSED);
	assert_true(ms < 1000);
	assert_int_equal(rsv_blockpage_probe_port((struct sockaddr *)&ss, 443, 300),
			 RSV_BLOCKPAGE_PROBE_REFUSED);
}

static void test_bind_errors(void **state)
{
	struct fixture *f = *state;
	struct cfg_addr a[2];
	struct rsv_blockpage_params p = {
		.listen = a, .n_listen = 1, .state_dir = f->dir, .lookup = fake_lookup};
	struct rsv_blockpage *bp2 = NULL;
	struct sockaddr_in *sin = (struct sockaddr_in *)&a[0].ss;

	/* The port is taken (by the fixture's block page). */
	loopback_addr(AF_INET, f->port, &a[0]);
	assert_int_equal(rsv_blockpage_start(&p, &bp2), -EADDRINUSE);
	/* An address this host does not have: the sinkhole address is not configured. */
	loopback_addr(AF_INET, 0, &a[0]);
	inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr);
	snprintf(a[0].text, sizeof(a[0].text), "192.0.2.1:0");
	assert_int_equal(rsv_blockpage_start(&p, &bp2), -EADDRNOTAVAIL);
	/* One good address then a bad one: everything is undone. */
	loopback_addr(AF_INET, 0, &a[0]);
	loopback_addr(AF_INET, f->port, &a[1]);
	p.n_listen = 2;
	assert_int_equal(rsv_blockpage_start(&p, &bp2), -EADDRINUSE);
	p.n_listen = 0;
	assert_int_equal(rsv_blockpage_start(&p, &bp2), -EINVAL);
	p.n_listen = 1;
	p.lookup = NULL;
	assert_int_equal(rsv_blockpage_start(&p, &bp2), -EINVAL);
	assert_null(bp2);
	rsv_blockpage_stop(NULL);
	rsv_blockpage_set_contact(NULL, "x");
}

static void test_ipv6(void **state)
{
	struct fixture *f = *state;
	struct resp *r = &f->r;
	struct cfg_addr a[2];
	struct rsv_blockpage_params p = {
		.listen = a, .n_listen = 2, .state_dir = f->dir, .lookup = fake_lookup};
	struct rsv_blockpage *bp2 = NULL;
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_storage ss;
	socklen_t len;

	set_loopback(AF_INET6, 0, &ss, &len);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0) {
		if (fd >= 0)
			close(fd);
		skip(); /* no IPv6 loopback here */
	}
	close(fd);

	loopback_addr(AF_INET6, 0, &a[0]);
	loopback_addr(AF_INET, 0, &a[1]);
	assert_int_equal(rsv_blockpage_start(&p, &bp2), 0);
	uint16_t p6 = rsv_blockpage_port(bp2, 0), p4 = rsv_blockpage_port(bp2, 1);
	assert_true(p6 != 0 && p4 != 0);
	assert_int_equal(rsv_blockpage_port(bp2, 2), 0);

	http_get(AF_INET6, p6, "GET", "blocked.example.vn", r);
	assert_int_equal(r->status, 403);
	assert_int_equal(atomic_load(&last_family), AF_INET6);
	assert_true(atomic_load(&client_is_loopback));
	assert_body_lacks(r, "Liên hệ:"); /* no contact configured */
	http_get(AF_INET, p4, "GET", "blocked.example.vn", r);
	assert_int_equal(r->status, 403);
	assert_int_equal(atomic_load(&last_family), AF_INET);
	/* IPv6-only socket: the IPv4 daemon is a different one. */
	if (p4 != p6)
		assert_int_equal(try_connect(AF_INET, p6, &(double){0}), ECONNREFUSED);
	rsv_blockpage_stop(bp2);
}

/* Many clients at once while the control thread changes the contact text. */
struct client_arg {
	uint16_t port;
	int ok;
};

static void *client_thread(void *arg)
{
	struct client_arg *c = arg;
	struct resp *r = malloc(sizeof(*r));

	for (int i = 0; r && i < 40; i++) {
		http_get(AF_INET, c->port, i % 2 ? "GET" : "HEAD",
			 i % 3 ? "blocked.example.vn" : "hoc10.vn", r);
		c->ok += r->status == (i % 3 ? 403 : 404);
	}
	free(r);
	return NULL;
}

static void test_concurrency(void **state)
{
	struct fixture *f = *state;
	pthread_t th[6];
	struct client_arg args[6];

	for (int i = 0; i < 6; i++) {
		args[i] = (struct client_arg){.port = f->port};
		assert_int_equal(pthread_create(&th[i], NULL, client_thread, &args[i]), 0);
	}
	for (int i = 0; i < 300; i++) {
		rsv_blockpage_set_contact(f->bp, i % 3 ? "Cô Lan, 0909 000 111" : NULL);
		usleep(200);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].ok, 40);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_block_page_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_page_national, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_page_subscriber, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_neutral_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unblock_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_posts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_https_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
	};

	core_log_set_level(getenv("BP_TEST_DEBUG") ? CORE_LOG_DEBUG : CORE_LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
