/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of resolver/fetch.c against a local HTTPS server: a small Python http.server
 * behind TLS, with a certificate for 127.0.0.1 from a test CA made by the openssl CLI in a
 * temporary directory. The test creates the listening socket and passes it to the server (no
 * port race), and waits for the server's "ready" line (no sleeps). Each test runs its own libuv
 * loop until the callbacks fired, then closes the fetcher and checks the loop closes clean.
 * The whole program is skipped (77) when python3 or openssl is missing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "core/error.h"
#include "resolver/fetch.h"

#ifndef RSV_PYTHON3
#define RSV_PYTHON3 "/usr/bin/python3"
#endif
#ifndef RSV_OPENSSL
#define RSV_OPENSSL "/usr/bin/openssl"
#endif

#define BODY "bad.example\n*.bad.example\n"
#define ETAG "\"v1\""
#define LAST_MODIFIED "Tue, 14 Nov 2023 22:13:20 GMT"
#define BIG (2u << 20)

/* The server: what each path does is what the tests below expect. */
static const char server_py[] =
	"import http.server, socket, ssl, sys, time\n"
	"BODY = b'bad.example\\n*.bad.example\\n'  # BODY\n"
	"ETAG, LM = '" ETAG "', '" LAST_MODIFIED "'\n"
	"sock = socket.socket(fileno=3)\n"
	"port = sock.getsockname()[1]\n"
	"ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
	"ctx.load_cert_chain(sys.argv[1], sys.argv[2])\n"
	"class Handler(http.server.BaseHTTPRequestHandler):\n"
	"    protocol_version = 'HTTP/1.0'\n"
	"    def log_message(self, *args):\n"
	"        pass\n"
	"    def reply(self, code, body=b'', headers=(), length=True):\n"
	"        self.send_response(code)\n"
	"        for k, v in headers:\n"
	"            self.send_header(k, v)\n"
	"        if length:\n"
	"            self.send_header('Content-Length', str(len(body)))\n"
	"        self.end_headers()\n"
	"        self.wfile.write(body)\n"
	"    def do_GET(self):\n"
	"        p = self.path\n"
	"        validators = [('ETag', ETAG), ('Last-Modified', LM)]\n"
	"        if p == '/list':\n"
	"            if (self.headers.get('If-None-Match') == ETAG or\n"
	"                    self.headers.get('If-Modified-Since') == LM):\n"
	"                self.reply(304, headers=[('ETag', ETAG)], length=False)\n"
	"            else:\n"
	"                self.reply(200, BODY, validators)\n"
	"        elif p == '/bare304':\n"
	"            self.reply(304, length=False)\n"
	"        elif p == '/headers':\n"
	"            self.reply(200, str(self.headers).encode())\n"
	"        elif p == '/slow':\n"
	"            self.send_response(200)\n"
	"            self.send_header('Content-Length', '1000')\n"
	"            self.end_headers()\n"
	"            self.wfile.write(b'x' * 10)\n"
	"            self.wfile.flush()\n"
	"            time.sleep(120)\n"
	"        elif p == '/big':\n"
	"            self.reply(200, b'a' * 2097152)\n"
	"        elif p == '/bigstream':\n"
	"            self.reply(200, length=False)\n"
	"            for _ in range(32):\n"
	"                self.wfile.write(b'b' * 65536)\n"
	"        elif p == '/redirect':\n"
	"            self.reply(302, headers=[('Location', '/list')])\n"
	"        elif p == '/redirect-http':\n"
	"            self.reply(302, headers=[('Location', 'http://127.0.0.1:%d/list' % port)])\n"
	"        elif p == '/loop':\n"
	"            self.reply(302, headers=[('Location', '/loop')])\n"
	"        elif p == '/204':\n"
	"            self.reply(204, length=False)\n"
	"        else:\n"
	"            self.reply(404, b'not found\\n')\n"
	"class Server(http.server.ThreadingHTTPServer):\n"
	"    daemon_threads = True\n"
	"    def finish_request(self, request, client_address):\n"
	"        try:\n"
	"            conn = ctx.wrap_socket(request, server_side=True)\n"
	"            self.RequestHandlerClass(conn, client_address, self)\n"
	"        except OSError:\n"
	"            pass\n"
	"srv = Server(('127.0.0.1', 0), Handler, bind_and_activate=False)\n"
	"srv.socket.close()\n"
	"srv.socket = sock\n"
	"print('ready', flush=True)\n"
	"srv.serve_forever()\n";

static struct {
	char dir[64];
	char ca[128], cert[128], key[128];
	uint16_t port;
	uint16_t closed_port; /* nothing listens there */
	pid_t pid;
	bool ok;
	char why[256];
} srv;

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run @argv (absolute path first), output to @log, at most 30 s. @return the exit status. */
static int run(const char *const argv[], const char *log)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(null, 0);
		dup2(out, 1);
		dup2(out, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	uint64_t deadline = mono_ms() + 30000;
	int status;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (mono_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		poll(NULL, 0, 10);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static int listen_socket(uint16_t *port, bool do_listen)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    (do_listen && listen(fd, 64) != 0) ||
	    getsockname(fd, (struct sockaddr *)&sa, &l) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* The test CA and a certificate for 127.0.0.1 it signed. */
static bool make_certs(void)
{
	char log[128], cakey[128], csr[128], ext[128];
	snprintf(log, sizeof(log), "%s/openssl.log", srv.dir);
	snprintf(cakey, sizeof(cakey), "%s/ca.key", srv.dir);
	snprintf(csr, sizeof(csr), "%s/server.csr", srv.dir);
	snprintf(ext, sizeof(ext), "%s/server.ext", srv.dir);
	snprintf(srv.ca, sizeof(srv.ca), "%s/ca.pem", srv.dir);
	snprintf(srv.cert, sizeof(srv.cert), "%s/server.pem", srv.dir);
	snprintf(srv.key, sizeof(srv.key), "%s/server.key", srv.dir);
	/* clang-format off */
	const char *ca[] = {RSV_OPENSSL, "req", "-x509", "-newkey", "ec",
			    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
			    "-keyout", cakey, "-out", srv.ca, "-days", "2",
			    "-subj", "/CN=lanhmanh test CA",
			    "-addext", "basicConstraints=critical,CA:TRUE",
			    "-addext", "keyUsage=critical,keyCertSign,cRLSign", NULL};
	const char *req[] = {RSV_OPENSSL, "req", "-new", "-newkey", "ec",
			     "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
			     "-keyout", srv.key, "-out", csr, "-subj", "/CN=127.0.0.1", NULL};
	const char *sign[] = {RSV_OPENSSL, "x509", "-req", "-in", csr,
			      "-CA", srv.ca, "-CAkey", cakey, "-set_serial", "2", "-days", "2",
			      "-out", srv.cert, "-extfile", ext, NULL};
	/* clang-format on */
	if (!write_file(ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
			     "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"))
		return false;
	return run(ca, log) == 0 && run(req, log) == 0 && run(sign, log) == 0;
}

static bool server_start(void)
{
	snprintf(srv.dir, sizeof(srv.dir), "/tmp/lanhmanh-fetch-XXXXXX");
	if (!mkdtemp(srv.dir)) {
		snprintf(srv.why, sizeof(srv.why), "mkdtemp: %s", strerror(errno));
		return false;
	}
	if (!make_certs()) {
		snprintf(srv.why, sizeof(srv.why), "openssl failed (log: %s/openssl.log)", srv.dir);
		return false;
	}
	char script[128], log[128];
	snprintf(script, sizeof(script), "%s/server.py", srv.dir);
	snprintf(log, sizeof(log), "%s/server.log", srv.dir);
	if (!write_file(script, server_py))
		return false;
	int lfd = listen_socket(&srv.port, true);
	/* A port bound but never listened to: connections to it are refused. */
	int cfd = listen_socket(&srv.closed_port, false);
	int ready[2];
	if (lfd < 0 || cfd < 0 || pipe(ready) != 0)
		return false;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
		int l = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(ready[1], 1);
		dup2(l, 2);
		dup2(lfd, 3);
		execl(RSV_PYTHON3, "python3", script, srv.cert, srv.key, (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	close(lfd);
	srv.pid = pid;
	char line[16] = "";
	struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
	if (pid > 0 && poll(&pfd, 1, 20000) == 1)
		(void)!read(ready[0], line, sizeof(line) - 1);
	close(ready[0]);
	/* cfd stays open (bound, not listening) until the end. */
	if (strncmp(line, "ready", 5) != 0) {
		snprintf(srv.why, sizeof(srv.why), "the test server did not start (log: %s)", log);
		return false;
	}
	return true;
}

static void server_stop(void)
{
	if (srv.pid > 0) {
		kill(srv.pid, SIGTERM);
		uint64_t deadline = mono_ms() + 5000;
		int status;
		while (waitpid(srv.pid, &status, WNOHANG) == 0) {
			if (mono_ms() > deadline) {
				kill(srv.pid, SIGKILL);
				waitpid(srv.pid, &status, 0);
				break;
			}
			poll(NULL, 0, 10);
		}
		srv.pid = 0;
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int group_setup(void **state)
{
	/* The tests talk to 127.0.0.1 directly, whatever proxy the environment names. */
	const char *proxies[] = {"http_proxy", "https_proxy", "all_proxy",
				 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"};
	for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
		unsetenv(proxies[i]);
	assert_int_equal(rsv_fetch_global_init(), 0);
	assert_int_equal(rsv_fetch_global_init(), 0); /* idempotent */
	srv.ok = server_start();
	if (!srv.ok)
		print_message("server: %s\n", srv.why);
	return srv.ok ? 0 : -1;
}

static int group_teardown(void **state)
{
	server_stop();
	if (srv.dir[0] && srv.ok)
		nftw(srv.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Per-test loop and fetcher                                                                  */

struct got {
	int calls;
	struct rsv_fetch_result res;
	struct t *t;
	void (*then)(struct got *g); /* runs inside the callback */
	uint64_t at;		     /* mono_ms() of the call */
};

struct t {
	uv_loop_t loop;
	uv_timer_t tick; /* keeps uv_run(UV_RUN_ONCE) from blocking forever */
	struct rsv_fetcher *f;
	int done; /* callbacks run, all transfers */
	char out[160];
	char out2[160];
};

static int t_setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	assert_int_equal(uv_loop_init(&t->loop), 0);
	assert_int_equal(uv_timer_init(&t->loop, &t->tick), 0);
	assert_int_equal(rsv_fetcher_new(&t->loop, &t->f), 0);
	static unsigned n;
	snprintf(t->out, sizeof(t->out), "%s/out-%u.tmp", srv.dir, n);
	snprintf(t->out2, sizeof(t->out2), "%s/out-%u-b.tmp", srv.dir, n++);
	*state = t;
	return 0;
}

static void on_closed(uv_handle_t *h)
{
}

static int t_teardown(void **state)
{
	struct t *t = *state;
	rsv_fetcher_close(t->f);
	uv_close((uv_handle_t *)&t->tick, on_closed);
	uv_run(&t->loop, UV_RUN_DEFAULT);
	/* Every handle closed, the fetcher freed (ASan reports it otherwise). */
	assert_int_equal(uv_loop_close(&t->loop), 0);
	free(t);
	return 0;
}

static void on_tick(uv_timer_t *h)
{
}

/* Run the loop until @t->done reaches @want, at most @ms. */
static void run_until(struct t *t, int want, uint64_t ms)
{
	uint64_t deadline = mono_ms() + ms;
	while (t->done < want) {
		if (mono_ms() > deadline)
			fail_msg("only %d of %d callbacks within %llu ms", t->done, want,
				 (unsigned long long)ms);
		uv_timer_start(&t->tick, on_tick, 50, 0);
		uv_run(&t->loop, UV_RUN_ONCE);
	}
	uv_timer_stop(&t->tick);
}

static void on_done(void *arg, const struct rsv_fetch_result *res)
{
	struct got *g = arg;
	g->calls++;
	g->res = *res;
	g->at = mono_ms();
	g->t->done++;
	if (g->then)
		g->then(g);
}

static char url_buf[8][256];
static unsigned url_n;

static const char *url(const char *path)
{
	char *u = url_buf[url_n++ % 8];
	snprintf(u, sizeof(url_buf[0]), "https://127.0.0.1:%u%s", srv.port, path);
	return u;
}

static struct rsv_fetch_request request(struct t *t, const char *u)
{
	struct rsv_fetch_request r = {
		.url = u,
		.ca_file = srv.ca,
		.out_path = t->out,
		.max_bytes = 1u << 20,
		.connect_timeout_ms = 5000,
		.total_timeout_ms = 20000,
	};
	return r;
}

/* Fetch @req and wait for its callback. */
static void fetch(struct t *t, const struct rsv_fetch_request *req, struct got *g)
{
	memset(g, 0, sizeof(*g));
	g->t = t;
	int before = t->done;
	assert_int_equal(rsv_fetch_start(t->f, req, on_done, g), 0);
	assert_int_equal(g->calls, 0); /* never from within the call */
	run_until(t, before + 1, 30000);
	assert_int_equal(g->calls, 1);
}

#define assert_contains(hay, needle)                                             \
	do {                                                                     \
		if (!strstr((hay), (needle)))                                    \
			fail_msg("'%s' does not contain '%s'", (hay), (needle)); \
	} while (0)

/* ------------------------------------------------------------------------------------------ */
/* Tests                                                                                      */

static void test_ok(void **state)
{
	struct t *t = *state;
	struct rsv_fetch_request req = request(t, url("/list"));
	struct got g;
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, 0);
	assert_int_equal(g.res.http_code, 200);
	assert_false(g.res.not_modified);
	assert_int_equal(g.res.bytes, strlen(BODY));
	assert_string_equal(g.res.etag, ETAG);
	assert_string_equal(g.res.last_modified, LAST_MODIFIED);
	assert_string_equal(g.res.error, "");
	char buf[256];
	assert_int_equal(read_file(t->out, buf, sizeof(buf)), strlen(BODY));
	assert_string_equal(buf, BODY);

	/* A 2xx without a body is fine too, and the file is emptied. */
	req.url = url("/204");
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, 0);
	assert_int_equal(g.res.http_code, 204);
	assert_int_equal(g.res.bytes, 0);
	assert_int_equal(file_size(t->out), 0);
}

/* From the 200's callback, ask again with its validators (as a refresh would). */
static struct got chained;
static struct rsv_fetch_request chained_req;
static char chained_etag[256];

static void then_conditional(struct got *g)
{
	struct t *t = g->t;
	snprintf(chained_etag, sizeof(chained_etag), "%s", g->res.etag);
	chained_req = request(t, url("/list"));
	chained_req.etag = chained_etag;
	chained_req.out_path = t->out2;
	memset(&chained, 0, sizeof(chained));
	chained.t = t;
	assert_int_equal(rsv_fetch_start(t->f, &chained_req, on_done, &chained), 0);
}

static void test_not_modified(void **state)
{
	struct t *t = *state;
	struct rsv_fetch_request req = request(t, url("/list"));
	struct got g = {.t = t, .then = then_conditional};
	assert_int_equal(rsv_fetch_start(t->f, &req, on_done, &g), 0);
	run_until(t, 2, 30000);
	assert_int_equal(g.res.http_code, 200);
	assert_int_equal(chained.calls, 1);
	assert_int_equal(chained.res.status, 0);
	assert_int_equal(chained.res.http_code, 304);
	assert_true(chained.res.not_modified);
	assert_int_equal(chained.res.bytes, 0);
	assert_string_equal(chained.res.etag, ETAG);
	assert_int_equal(file_size(t->out2), 0);

	/* By date alone. */
	req.last_modified = LAST_MODIFIED;
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, 0);
	assert_true(g.res.not_modified);
	assert_int_equal(g.res.http_code, 304);
	/* The server repeated the ETag only: the date given is kept for next time. */
	assert_string_equal(g.res.etag, ETAG);
	assert_string_equal(g.res.last_modified, LAST_MODIFIED);

	/* A 304 that repeats nothing: the request's validators come back. */
	req.url = url("/bare304");
	req.etag = "\"v7\"";
	fetch(t, &req, &g);
	assert_true(g.res.not_modified);
	assert_string_equal(g.res.etag, "\"v7\"");
	assert_string_equal(g.res.last_modified, LAST_MODIFIED);

	/* Another ETag: the whole body. */
	req.url = url("/list");
	req.etag = "\"v0\"";
	req.last_modified = NULL;
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, 0);
	assert_false(g.res.not_modified);
	assert_int_equal(g.res.http_code, 200);
	assert_int_equal(g.res.bytes, strlen(BODY));
}

static void test_request_headers(void **state)
{
	struct t *t = *state;
	struct rsv_fetch_request req = request(t, url("/headers"));
	req.etag = ETAG;
	req.last_modified = LAST_MODIFIED;
	struct got g;
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, 0);
	char buf[4096];
	read_file(t->out, buf, sizeof(buf));
	assert_contains(buf, "If-None-Match: " ETAG "\n");
	assert_contains(buf, "If-Modified-Since: " LAST_MODIFIED "\n");
	assert_contains(buf, "User-Agent: lanhmanh/");

	/* Without validators, no conditions. */
	req.etag = "";
	req.last_modified = NULL;
	fetch(t, &req, &g);
	read_file(t->out, buf, sizeof(buf));
	assert_null(strstr(buf, "If-None-Match"));
	assert_null(strstr(buf, "If-Modified-Since"));

	/* Header injection through a corrupted stored ETag is refused. */
	req.etag = "\"v1\"\r\nX-Evil: 1";
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, -EINVAL);
	assert_contains(g.res.error, "ETag");
}

static void test_tls_untrusted(void **state)
{
	struct t *t = *state;
	struct rsv_fetch_request req = request(t, url("/list"));
	req.ca_file = NULL; /* the system store does not know the test CA */
	struct got g;
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, CORE_EPROTO);
	assert_contains(g.res.error, "GET 'https://127.0.0.1:");
	assert_contains(g.res.error, "TLS");
	assert_contains(g.res.error, "certificate");
	assert_int_equal(g.res.bytes, 0);
	print_message("message: %s\n", g.res.error);

	/* The right CA but another name: the host name is checked too. */
	char u[128];
	snprintf(u, sizeof(u), "https://localhost:%u/list", srv.port);
	req = request(t, u);
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, CORE_EPROTO);
	print_message("message: %s\n", g.res.error);

	/* A CA file that does not exist. */
	req = request(t, url("/list"));
	req.ca_file = "/nonexistent/ca.pem";
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, CORE_EPROTO);
	assert_contains(g.res.error, "TLS");
}

static void test_http_error(void **state)
{
	struct t *t = *state;
	struct rsv_fetch_request req = request(t, url("/missing"));
	struct got g;
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, CORE_EUPSTREAM);
	assert_int_equal(g.res.http_code, 404);
	assert_contains(g.res.error, "/missing");
	assert_contains(g.res.error, "404");
	assert_int_equal(g.res.bytes, 0);

	/* Credentials in the URL never reach a message. */
	char u[160];
	snprintf(u, sizeof(u), "https://user:s3cret@127.0.0.1:%u/missing", srv.port);
	req.url = u;
	fetch(t, &req, &g);
	assert_int_equal(g.res.http_code, 404);
	assert_null(strstr(g.res.error, "s3cret"));
	assert_contains(g.res.error, "https://***@127.0.0.1");
}

static void test_redirects(void **state)
{
	struct t *t = *state;
	struct rsv_fetch_request req = request(t, url("/redirect"));
	struct got g;
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, 0);
	assert_int_equal(g.res.http_code, 200);
	assert_int_equal(g.res.bytes, strlen(BODY));
	assert_string_equal(g.res.etag, ETAG); /* the final answer's */

	req.url = url("/redirect-http");
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, CORE_EPROTO);
	assert_contains(g.res.error, "https://");
	print_message("message: %s\n", g.res.error);

	req.url = url("/loop");
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, CORE_EPROTO);
	assert_contains(g.res.error, "redirect");
}

static void test_timeout(void **state)
{
	struct t *t = *state;
	struct rsv_fetch_request req = request(t, url("/slow"));
	req.total_timeout_ms = 800;
	struct got g;
	uint64_t start = mono_ms();
	fetch(t, &req, &g);
	uint64_t took = g.at - start;
	assert_int_equal(g.res.status, CORE_ETIMEOUT);
	assert_contains(g.res.error, "timed out");
	assert_int_equal(g.res.bytes, 10); /* what came before the stall */
	if (took < 700 || took > 5000)
		fail_msg("timed out after %llu ms, bound 800 ms", (unsigned long long)took);
}

static void test_max_bytes(void **state)
{
	struct t *t = *state;
	struct rsv_fetch_request req = request(t, url("/big"));
	req.max_bytes = 1u << 20;
	struct got g;
	/* Content-Length above the bound: refused before the body. */
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, CORE_ELIMIT);
	assert_contains(g.res.error, "max_bytes");
	assert_true(file_size(t->out) <= (off_t)req.max_bytes);
	/* No length announced: stopped while writing. */
	req.url = url("/bigstream");
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, CORE_ELIMIT);
	assert_true(g.res.bytes <= req.max_bytes);
	assert_true(file_size(t->out) <= (off_t)req.max_bytes);
	/* Within the bound, several writes. */
	req.max_bytes = 4u << 20;
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, 0);
	assert_int_equal(g.res.bytes, BIG);
	assert_int_equal(file_size(t->out), BIG);
	/* Exactly the bound is allowed. */
	req.url = url("/big");
	req.max_bytes = BIG;
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, 0);
	assert_int_equal(g.res.bytes, BIG);
}

static void test_refused_requests(void **state)
{
	struct t *t = *state;
	char u[128];
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/list", srv.port);
	struct rsv_fetch_request req = request(t, u);
	struct got g;
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, CORE_ECONFIG);
	assert_contains(g.res.error, "only https://");
	assert_contains(g.res.error, u);
	assert_int_equal(g.res.http_code, 0);
	req.url = "ftp://127.0.0.1/list";
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, CORE_ECONFIG);
	req.url = "127.0.0.1/list";
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, CORE_ECONFIG);

	/* The body cannot be written. */
	req = request(t, url("/list"));
	req.out_path = "/nonexistent/dir/list.tmp";
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, -ENOENT);
	assert_contains(g.res.error, "/nonexistent/dir/list.tmp");

	/* Nothing listens. */
	snprintf(u, sizeof(u), "https://127.0.0.1:%u/list", srv.closed_port);
	req = request(t, u);
	fetch(t, &req, &g);
	assert_int_equal(g.res.status, -ECONNREFUSED);
	assert_contains(g.res.error, "connect");

	/* Programming errors are refused at once, with no callback. */
	req = request(t, url("/list"));
	assert_int_equal(rsv_fetch_start(NULL, &req, on_done, &g), -EINVAL);
	assert_int_equal(rsv_fetch_start(t->f, NULL, on_done, &g), -EINVAL);
	assert_int_equal(rsv_fetch_start(t->f, &req, NULL, &g), -EINVAL);
	req.url = NULL;
	assert_int_equal(rsv_fetch_start(t->f, &req, on_done, &g), -EINVAL);
	req.url = url("/list");
	req.out_path = NULL;
	assert_int_equal(rsv_fetch_start(t->f, &req, on_done, &g), -EINVAL);
}

static void test_concurrent(void **state)
{
	struct t *t = *state;
	const char *paths[] = {"/list", "/big", "/missing", "/redirect", "/bigstream", "/list"};
	enum {
		N = sizeof(paths) / sizeof(paths[0])
	};
	struct got g[N];
	struct rsv_fetch_request req[N];
	char out[N][200];
	for (int i = 0; i < N; i++) {
		snprintf(out[i], sizeof(out[i]), "%s.%d", t->out, i);
		req[i] = request(t, url(paths[i]));
		req[i].out_path = out[i];
		req[i].max_bytes = 4u << 20;
		memset(&g[i], 0, sizeof(g[i]));
		g[i].t = t;
		assert_int_equal(rsv_fetch_start(t->f, &req[i], on_done, &g[i]), 0);
	}
	run_until(t, N, 30000);
	for (int i = 0; i < N; i++)
		assert_int_equal(g[i].calls, 1);
	assert_int_equal(g[0].res.status, 0);
	assert_int_equal(g[1].res.bytes, BIG);
	assert_int_equal(g[2].res.http_code, 404);
	assert_int_equal(g[3].res.bytes, strlen(BODY));
	assert_int_equal(g[4].res.bytes, BIG);
	assert_int_equal(g[5].res.bytes, strlen(BODY));
	for (int i = 0; i < N; i++)
		unlink(out[i]);
}

static void test_close_in_flight(void **state)
{
	struct t *t = *state;
	struct got g[3];
	memset(g, 0, sizeof(g));
	for (int i = 0; i < 3; i++)
		g[i].t = t;
	struct rsv_fetch_request slow = request(t, url("/slow"));
	assert_int_equal(rsv_fetch_start(t->f, &slow, on_done, &g[0]), 0);
	/* Until the slow body has begun. */
	uint64_t deadline = mono_ms() + 20000;
	while (file_size(t->out) <= 0) {
		if (mono_ms() > deadline)
			fail_msg("the slow transfer did not start");
		uv_timer_start(&t->tick, on_tick, 5, 0);
		uv_run(&t->loop, UV_RUN_ONCE);
	}
	assert_int_equal(g[0].calls, 0);
	/* One more the loop has not run yet, and one that failed at start, not yet delivered. */
	struct rsv_fetch_request more = request(t, url("/list"));
	more.out_path = t->out2;
	assert_int_equal(rsv_fetch_start(t->f, &more, on_done, &g[1]), 0);
	struct rsv_fetch_request bad = request(t, "http://127.0.0.1/");
	bad.out_path = t->out2;
	assert_int_equal(rsv_fetch_start(t->f, &bad, on_done, &g[2]), 0);

	rsv_fetcher_close(t->f);
	t->f = NULL;
	/* Every callback ran within the close. */
	assert_int_equal(t->done, 3);
	assert_int_equal(g[0].calls, 1);
	assert_int_equal(g[0].res.status, -ECANCELED);
	assert_int_equal(g[0].res.http_code, 200);
	assert_contains(g[0].res.error, "cancelled");
	assert_int_equal(g[1].calls, 1);
	assert_int_equal(g[1].res.status, -ECANCELED);
	assert_int_equal(g[2].calls, 1);
	assert_int_equal(g[2].res.status, CORE_ECONFIG);
	/* t_teardown runs the loop to the end and checks every handle closed and freed. */
}

/* From the first callback: close the fetcher while another transfer is in flight. */
static void then_close(struct got *g)
{
	struct t *t = g->t;
	rsv_fetcher_close(t->f);
	struct rsv_fetch_request req = request(t, url("/list"));
	assert_int_equal(rsv_fetch_start(t->f, &req, on_done, g), -EINVAL); /* closing */
	rsv_fetcher_close(t->f); /* a second call does nothing */
	t->f = NULL;
}

static void test_close_from_callback(void **state)
{
	struct t *t = *state;
	struct got first = {.t = t, .then = then_close}, slow = {.t = t};
	struct rsv_fetch_request r1 = request(t, url("/slow"));
	struct rsv_fetch_request r2 = request(t, url("/list"));
	r2.out_path = t->out2;
	assert_int_equal(rsv_fetch_start(t->f, &r1, on_done, &slow), 0);
	assert_int_equal(rsv_fetch_start(t->f, &r2, on_done, &first), 0);
	run_until(t, 2, 30000);
	assert_int_equal(first.calls, 1);
	assert_int_equal(first.res.status, 0);
	assert_int_equal(slow.calls, 1);
	assert_int_equal(slow.res.status, -ECANCELED);
	assert_null(t->f);
}

static void test_close_idle(void **state)
{
	/* A fetcher that never fetched, and NULL, close clean (checked by t_teardown). */
	rsv_fetcher_close(NULL);
}

int main(void)
{
	if (access(RSV_PYTHON3, X_OK) != 0 || access(RSV_OPENSSL, X_OK) != 0) {
		printf("# skipped: needs %s and %s\n", RSV_PYTHON3, RSV_OPENSSL);
		return 77;
	}
#define T(fn) cmocka_unit_test_setup_teardown(fn, t_setup, t_teardown)
	const struct CMUnitTest tests[] = {
		T(test_ok),
		T(test_not_modified),
		T(test_request_headers),
		T(test_tls_untrusted),
		T(test_http_error),
		T(test_redirects),
		T(test_timeout),
		T(test_max_bytes),
		T(test_refused_requests),
		T(test_concurrent),
		T(test_close_in_flight),
		T(test_close_from_callback),
		T(test_close_idle),
	};
#undef T
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
