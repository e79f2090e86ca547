/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of blocklists/xfr.c: SOA query, AXFR, IXFR and TSIG against a real primary (knotd,
 * started here in a temporary directory; those tests are skipped when it cannot start), the
 * stream rules against a scripted fake primary (unsigned intermediate messages, early close,
 * IXFR fallback, SOA mismatch), network failures, and NOTIFY checks with messages built by ldns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "blocklists/xfr.h"
#include "core/error.h"

#ifndef BL_KNOTD
#define BL_KNOTD "/usr/sbin/knotd"
#endif
#ifndef BL_KNOTC
#define BL_KNOTC "/usr/sbin/knotc"
#endif

#define ZONE "rpz.national.vn."
#define KEY_NAME "k1."
#define SECRET "c2VjcmV0LWtleS1mb3ItbGFuaG1hbmgteGZyLXRlc3Q="
#define WRONG_SECRET "d3JvbmctLWtleS1mb3ItbGFuaG1hbmgteGZyLXRlc3Q="
#define BULK 2000 /* names that make the transfer span several messages */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct sockaddr_storage loopback(uint16_t port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return ss;
}

static struct bl_xfr_params params(uint16_t port, const struct bl_tsig *tsig, uint32_t timeout)
{
	struct bl_xfr_params p;
	memset(&p, 0, sizeof(p));
	p.primary = loopback(port);
	p.primary_len = sizeof(struct sockaddr_in);
	snprintf(p.zone, sizeof(p.zone), "%s", ZONE);
	p.tsig = tsig;
	p.timeout_ms = timeout;
	return p;
}

static const struct bl_tsig good_key = {KEY_NAME, "hmac-sha256", SECRET};
static const struct bl_tsig wrong_secret_key = {KEY_NAME, "hmac-sha256", WRONG_SECRET};
static const struct bl_tsig unknown_key = {"k2.", "hmac-sha256", SECRET};

/* A socket of @type bound to 127.0.0.1 on a kernel-chosen port. */
static int bound_socket(int type, uint16_t *port)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_storage ss = loopback(0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)), 0);
	socklen_t l = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &l), 0);
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* ------------------------------------------------------------------------------------------ */
/* What the callbacks received                                                                */

struct got {
	char **lines;
	size_t n;
	unsigned deltas;
	uint32_t from, to;
	char **removed, **added;
	size_t n_removed, n_added;
	size_t stop_after; /* 0: never */
	int stop_with;
};

static char **copy_lines(const char *const *v, size_t n)
{
	char **c = calloc(n ? n : 1, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = strdup(v[i]);
	return c;
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void got_clear(struct got *g)
{
	free_lines(g->lines, g->n);
	free_lines(g->removed, g->n_removed);
	free_lines(g->added, g->n_added);
	memset(g, 0, sizeof(*g));
}

static int on_rr(void *arg, const char *line)
{
	struct got *g = arg;
	if (g->stop_after && g->n == g->stop_after)
		return g->stop_with;
	g->lines = realloc(g->lines, (g->n + 1) * sizeof(*g->lines));
	g->lines[g->n++] = strdup(line);
	return 0;
}

static int on_delta(void *arg, uint32_t from, uint32_t to, const char *const *removed,
		    size_t n_removed, const char *const *added, size_t n_added)
{
	struct got *g = arg;
	g->deltas++;
	g->from = from;
	g->to = to;
	free_lines(g->removed, g->n_removed);
	free_lines(g->added, g->n_added);
	g->removed = copy_lines(removed, n_removed);
	g->n_removed = n_removed;
	g->added = copy_lines(added, n_added);
	g->n_added = n_added;
	return 0;
}

static bool has_line(char **v, size_t n, const char *line)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], line) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------------------------------ */
/* knotd as the primary                                                                       */

static struct {
	bool ok;
	char dir[64];
	pid_t pid;
	uint16_t port;
	char why[300];
} knot;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

/* The zone at @serial: v1 has old.example, v2 drops it and adds new1/new2. */
static void write_zone(unsigned serial)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/rpz.zone", knot.dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f,
		"$ORIGIN " ZONE "\n$TTL 300\n"
		"@ SOA ns.national.vn. admin.national.vn. %u 3600 600 86400 300\n"
		"@ NS localhost.\n"
		"bad.example CNAME .\n"
		"*.bad.example CNAME .\n"
		"allow.example CNAME rpz-passthru.\n"
		"txt.example TXT \"tab\\009here\"\n",
		serial);
	if (serial == 1)
		fprintf(f, "old.example CNAME .\n");
	else
		fprintf(f, "new1.example CNAME .\nnew2.example CNAME *.\n");
	for (unsigned i = 0; i < BULK; i++)
		fprintf(f, "bulk%u.example CNAME .\n", i);
	fclose(f);
}

/* Run @argv (absolute path first) and wait at most @ms. @return its exit status or -1. */
static int run(char *const argv[], uint64_t ms)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	uint64_t deadline = mono_ms() + ms;
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

/* Poll the primary's SOA until it shows @serial (and so is up), within @ms. */
static bool wait_serial(uint32_t serial, uint64_t ms)
{
	struct bl_xfr_params p = params(knot.port, NULL, 200);
	uint64_t deadline = mono_ms() + ms;
	do {
		struct bl_xfr_result r;
		if (bl_xfr_soa(&p, &r) == 0 && r.serial == serial)
			return true;
		int status;
		if (knot.pid > 0 && waitpid(knot.pid, &status, WNOHANG) == knot.pid) {
			knot.pid = 0;
			return false;
		}
		poll(NULL, 0, 20);
	} while (mono_ms() < deadline);
	return false;
}

static void knot_start(void)
{
	if (!BL_KNOTD[0] || access(BL_KNOTD, X_OK) != 0) {
		snprintf(knot.why, sizeof(knot.why), "knotd not found%s%s (Debian package 'knot')",
			 BL_KNOTD[0] ? " at " : "", BL_KNOTD);
		return;
	}
	snprintf(knot.dir, sizeof(knot.dir), "/tmp/lanhmanh-xfr-XXXXXX");
	if (!mkdtemp(knot.dir)) {
		snprintf(knot.why, sizeof(knot.why), "mkdtemp: %s", strerror(errno));
		return;
	}
	int fd = bound_socket(SOCK_STREAM, &knot.port);
	close(fd);
	write_zone(1);
	char conf[4096], path[128];
	snprintf(conf, sizeof(conf),
		 "server:\n  rundir: %s\n  listen: 127.0.0.1@%u\n"
		 "  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n"
		 "database:\n  storage: %s\n"
		 "log:\n  - target: stderr\n    any: info\n"
		 "key:\n  - id: " KEY_NAME "\n    algorithm: hmac-sha256\n    secret: " SECRET "\n"
		 "  - id: md5.\n    algorithm: hmac-md5\n    secret: " SECRET "\n"
		 "  - id: sha1.\n    algorithm: hmac-sha1\n    secret: " SECRET "\n"
		 "  - id: sha224.\n    algorithm: hmac-sha224\n    secret: " SECRET "\n"
		 "  - id: sha384.\n    algorithm: hmac-sha384\n    secret: " SECRET "\n"
		 "  - id: sha512.\n    algorithm: hmac-sha512\n    secret: " SECRET "\n"
		 "acl:\n  - id: plain\n    address: 127.0.0.1\n    action: [transfer, notify]\n"
		 "  - id: signed\n    key: [" KEY_NAME ", md5., sha1., sha224., sha384., sha512.]\n"
		 "    action: [transfer, notify]\n"
		 "zone:\n  - domain: " ZONE "\n    storage: %s\n    file: rpz.zone\n"
		 "    zonefile-load: difference\n    journal-content: changes\n"
		 "    zonefile-sync: -1\n    acl: [plain, signed]\n",
		 knot.dir, knot.port, knot.dir, knot.dir);
	snprintf(path, sizeof(path), "%s/knot.conf", knot.dir);
	write_file(path, conf);

	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
		char log[128];
		snprintf(log, sizeof(log), "%s/knotd.log", knot.dir);
		int l = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(l, 1);
		dup2(l, 2);
		execl(BL_KNOTD, "knotd", "-c", path, (char *)NULL);
		_exit(127);
	}
	knot.pid = pid;
	if (!wait_serial(1, 10000)) {
		snprintf(knot.why, sizeof(knot.why),
			 "knotd did not serve the zone within 10 s (log: %s/knotd.log)", knot.dir);
		return;
	}
	knot.ok = true;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void knot_stop(void)
{
	if (knot.pid > 0) {
		kill(knot.pid, SIGTERM);
		uint64_t deadline = mono_ms() + 5000;
		int status;
		while (waitpid(knot.pid, &status, WNOHANG) == 0) {
			if (mono_ms() > deadline) {
				kill(knot.pid, SIGKILL);
				waitpid(knot.pid, &status, 0);
				break;
			}
			poll(NULL, 0, 10);
		}
		knot.pid = 0;
	}
	if (knot.dir[0] && knot.ok)
		nftw(knot.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define NEED_KNOT()                                               \
	do {                                                      \
		if (!knot.ok) {                                   \
			print_message("skipped: %s\n", knot.why); \
			skip();                                   \
		}                                                 \
	} while (0)

/* ------------------------------------------------------------------------------------------ */
/* Against knotd: the tests run in order, the zone moves from serial 1 to 2 in test_ixfr_delta */

static void test_soa(void **state)
{
	NEED_KNOT();
	struct bl_xfr_params p = params(knot.port, NULL, 2000);
	struct bl_xfr_result r;
	assert_int_equal(bl_xfr_soa(&p, &r), 0);
	assert_int_equal(r.serial, 1);
	assert_int_equal(r.refresh, 3600);
	assert_int_equal(r.retry, 600);
	assert_int_equal(r.expire, 86400);
	assert_string_equal(r.error, "");
	/* zone name without the final dot, upper case: the same zone */
	snprintf(p.zone, sizeof(p.zone), "RPZ.National.VN");
	assert_int_equal(bl_xfr_soa(&p, &r), 0);
	assert_int_equal(r.serial, 1);
	/* a zone the primary does not serve */
	snprintf(p.zone, sizeof(p.zone), "other.vn.");
	assert_int_not_equal(bl_xfr_soa(&p, &r), 0);
	assert_non_null(strstr(r.error, "other.vn."));
}

static void test_axfr(void **state)
{
	NEED_KNOT();
	struct bl_xfr_params p = params(knot.port, NULL, 2000);
	struct bl_xfr_result r;
	struct got g = {0};
	assert_int_equal(bl_xfr_fetch(&p, false, 0, on_rr, on_delta, &g, &r), 0);
	assert_int_equal(r.kind, BL_XFR_FULL);
	assert_int_equal(r.serial, 1);
	assert_int_equal(r.refresh, 3600);
	assert_int_equal(r.rrs, 7 + BULK);
	assert_int_equal(g.n, 7 + BULK);
	assert_int_equal(g.deltas, 0);
	assert_string_equal(g.lines[0], "rpz.national.vn. 300 IN SOA ns.national.vn. "
					"admin.national.vn. 1 3600 600 86400 300");
	assert_true(has_line(g.lines, g.n, "bad.example.rpz.national.vn. 300 IN CNAME ."));
	assert_true(has_line(g.lines, g.n, "*.bad.example.rpz.national.vn. 300 IN CNAME ."));
	assert_true(has_line(g.lines, g.n, "old.example.rpz.national.vn. 300 IN CNAME ."));
	assert_true(has_line(g.lines, g.n,
			     "allow.example.rpz.national.vn. 300 IN CNAME rpz-passthru."));
	assert_true(has_line(g.lines, g.n, "rpz.national.vn. 300 IN NS localhost."));
	assert_true(has_line(g.lines, g.n, "bulk1999.example.rpz.national.vn. 300 IN CNAME ."));
	/* the closing SOA is not repeated */
	for (size_t i = 1; i < g.n; i++)
		assert_null(strstr(g.lines[i], " IN SOA "));
	size_t i = 0;
	while (i < g.n && strncmp(g.lines[i], "txt.example.", 12) != 0)
		i++;
	assert_true(i < g.n);
	/* ldns prints a tab inside TXT data as it is: only the separators become spaces */
	assert_string_equal(g.lines[i], "txt.example.rpz.national.vn. 300 IN TXT \"tab\there\"");
	got_clear(&g);
}

static void test_callback_abort(void **state)
{
	NEED_KNOT();
	struct bl_xfr_params p = params(knot.port, NULL, 2000);
	struct bl_xfr_result r;
	struct got g = {.stop_after = 10, .stop_with = -42};
	assert_int_equal(bl_xfr_fetch(&p, false, 0, on_rr, on_delta, &g, &r), -42);
	assert_int_equal(g.n, 10);
	assert_non_null(strstr(r.error, "stopped"));
	got_clear(&g);
	g = (struct got){.stop_after = 3, .stop_with = 1};
	assert_int_equal(bl_xfr_fetch(&p, false, 0, on_rr, on_delta, &g, &r), -ECANCELED);
	got_clear(&g);
}

static void test_ixfr_delta(void **state)
{
	NEED_KNOT();
	write_zone(2);
	char sock[128];
	snprintf(sock, sizeof(sock), "%s/knot.sock", knot.dir);
	char *argv[] = {(char *)BL_KNOTC,      (char *)"-s", sock, (char *)"-b",
			(char *)"zone-reload", (char *)ZONE, NULL};
	assert_int_equal(run(argv, 10000), 0);
	assert_true(wait_serial(2, 5000));

	struct bl_xfr_params p = params(knot.port, NULL, 2000);
	struct bl_xfr_result r;
	struct got g = {0};
	assert_int_equal(bl_xfr_fetch(&p, true, 1, on_rr, on_delta, &g, &r), 0);
	assert_string_equal(r.error, "");
	assert_int_equal(r.kind, BL_XFR_DELTA);
	assert_int_equal(r.serial, 2);
	assert_int_equal(r.refresh, 3600);
	assert_int_equal(r.rrs, 3);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.deltas, 1);
	assert_int_equal(g.from, 1);
	assert_int_equal(g.to, 2);
	assert_int_equal(g.n_removed, 1);
	assert_string_equal(g.removed[0], "old.example.rpz.national.vn. 300 IN CNAME .");
	assert_int_equal(g.n_added, 2);
	assert_true(has_line(g.added, g.n_added, "new1.example.rpz.national.vn. 300 IN CNAME ."));
	assert_true(has_line(g.added, g.n_added, "new2.example.rpz.national.vn. 300 IN CNAME *."));
	got_clear(&g);
}

static void test_ixfr_up_to_date(void **state)
{
	NEED_KNOT();
	struct bl_xfr_params p = params(knot.port, NULL, 2000);
	struct bl_xfr_result r;
	struct got g = {0};
	assert_int_equal(bl_xfr_fetch(&p, true, 2, on_rr, on_delta, &g, &r), 0);
	assert_int_equal(r.kind, BL_XFR_UP_TO_DATE);
	assert_int_equal(r.serial, 2);
	assert_int_equal(r.rrs, 0);
	assert_int_equal(g.n + g.deltas, 0);
	/* ours newer than the primary's: nothing to fetch either; the primary's serial is told */
	assert_int_equal(bl_xfr_fetch(&p, true, 5, on_rr, on_delta, &g, &r), 0);
	assert_int_equal(r.kind, BL_XFR_UP_TO_DATE);
	assert_int_equal(r.serial, 2);
	assert_int_equal(g.n + g.deltas, 0);
}

static void test_ixfr_full(void **state)
{
	NEED_KNOT();
	/* a serial the primary has no history for: it answers with the whole zone */
	struct bl_xfr_params p = params(knot.port, NULL, 2000);
	struct bl_xfr_result r;
	struct got g = {0};
	int ret = bl_xfr_fetch(&p, true, 0, on_rr, on_delta, &g, &r);
	assert_int_equal(ret, 0);
	assert_int_equal(r.kind, BL_XFR_FULL);
	assert_int_equal(r.serial, 2);
	assert_int_equal(r.rrs, 8 + BULK);
	assert_int_equal(g.n, 8 + BULK);
	assert_int_equal(g.deltas, 0);
	assert_true(has_line(g.lines, g.n, "new2.example.rpz.national.vn. 300 IN CNAME *."));
	assert_false(has_line(g.lines, g.n, "old.example.rpz.national.vn. 300 IN CNAME ."));
	got_clear(&g);
}

static void test_tsig_good(void **state)
{
	NEED_KNOT();
	struct bl_xfr_params p = params(knot.port, &good_key, 2000);
	struct bl_xfr_result r;
	struct got g = {0};
	assert_int_equal(bl_xfr_soa(&p, &r), 0);
	assert_int_equal(r.serial, 2);
	/* several messages, each signed by knotd and verified */
	assert_int_equal(bl_xfr_fetch(&p, false, 0, on_rr, on_delta, &g, &r), 0);
	assert_int_equal(r.kind, BL_XFR_FULL);
	assert_int_equal(g.n, 8 + BULK);
	got_clear(&g);
	assert_int_equal(bl_xfr_fetch(&p, true, 1, on_rr, on_delta, &g, &r), 0);
	assert_int_equal(r.kind, BL_XFR_DELTA);
	assert_int_equal(g.deltas, 1);
	got_clear(&g);
	assert_int_equal(bl_xfr_fetch(&p, true, 2, on_rr, on_delta, &g, &r), 0);
	assert_int_equal(r.kind, BL_XFR_UP_TO_DATE);
	/* the algorithm and key name are matched whatever their case and final dot */
	struct bl_tsig k = {"K1", "HMAC-SHA256.", SECRET};
	p.tsig = &k;
	assert_int_equal(bl_xfr_soa(&p, &r), 0);
}

static void test_tsig_algorithms(void **state)
{
	NEED_KNOT();
	static const char *const algs[] = {"md5", "sha1", "sha224", "sha384", "sha512"};
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		struct bl_tsig k;
		snprintf(k.name, sizeof(k.name), "%s.", algs[i]);
		snprintf(k.algorithm, sizeof(k.algorithm), "hmac-%s", algs[i]);
		snprintf(k.secret, sizeof(k.secret), "%s", SECRET);
		struct bl_xfr_params p = params(knot.port, &k, 2000);
		struct bl_xfr_result r;
		struct got g = {0};
		assert_int_equal(bl_xfr_soa(&p, &r), 0);
		assert_int_equal(bl_xfr_fetch(&p, false, 0, on_rr, on_delta, &g, &r), 0);
		assert_int_equal(g.n, 8 + BULK);
		got_clear(&g);
		/* the same key name under another algorithm is another key */
		snprintf(k.algorithm, sizeof(k.algorithm), "%s", i ? "hmac-md5" : "hmac-sha1");
		assert_int_equal(bl_xfr_soa(&p, &r), CORE_EPROTO);
		assert_non_null(strstr(r.error, "TSIG"));
	}
}

static void test_tsig_bad(void **state)
{
	NEED_KNOT();
	struct bl_xfr_params p = params(knot.port, &wrong_secret_key, 2000);
	struct bl_xfr_result r;
	struct got g = {0};
	assert_int_equal(bl_xfr_soa(&p, &r), CORE_EPROTO);
	print_message("%s\n", r.error);
	assert_non_null(strstr(r.error, "TSIG"));
	assert_non_null(strstr(r.error, "BADSIG"));
	assert_int_equal(bl_xfr_fetch(&p, false, 0, on_rr, on_delta, &g, &r), CORE_EPROTO);
	print_message("%s\n", r.error);
	assert_non_null(strstr(r.error, "TSIG"));
	assert_non_null(strstr(r.error, ZONE));
	assert_non_null(strstr(r.error, "127.0.0.1#"));
	assert_int_equal(g.n, 0);
	assert_int_equal(bl_xfr_fetch(&p, true, 1, on_rr, on_delta, &g, &r), CORE_EPROTO);
	assert_non_null(strstr(r.error, "TSIG"));
	p.tsig = &unknown_key;
	assert_int_equal(bl_xfr_soa(&p, &r), CORE_EPROTO);
	print_message("%s\n", r.error);
	assert_non_null(strstr(r.error, "BADKEY"));
	got_clear(&g);
}

/* ------------------------------------------------------------------------------------------ */
/* Configuration and network failures                                                         */

static void test_bad_params(void **state)
{
	struct bl_xfr_params p = params(53, NULL, 100);
	struct bl_xfr_result r;
	struct bl_tsig k = {KEY_NAME, "hmac-sha3", SECRET};
	p.tsig = &k;
	assert_int_equal(bl_xfr_soa(&p, &r), CORE_ECONFIG);
	assert_non_null(strstr(r.error, "algorithm"));
	k = (struct bl_tsig){KEY_NAME, "hmac-sha256", "not base64!"};
	assert_int_equal(bl_xfr_soa(&p, &r), CORE_ECONFIG);
	assert_non_null(strstr(r.error, "base64"));
	p.tsig = NULL;
	snprintf(p.zone, sizeof(p.zone), "bad..zone");
	assert_int_equal(bl_xfr_soa(&p, &r), CORE_ECONFIG);
	p = params(53, NULL, 100);
	p.primary.ss_family = AF_UNIX;
	assert_int_equal(bl_xfr_fetch(&p, false, 0, on_rr, on_delta, NULL, &r), CORE_ECONFIG);
	p = params(53, NULL, 100);
	assert_int_equal(bl_xfr_fetch(&p, true, 1, on_rr, NULL, NULL, &r), -EINVAL);
}

static void test_refused(void **state)
{
	uint16_t port;
	int fd = bound_socket(SOCK_STREAM, &port); /* bound, not listening: nothing answers */
	struct bl_xfr_params p = params(port, NULL, 5000);
	struct bl_xfr_result r;
	uint64_t t0 = mono_ms();
	assert_int_equal(bl_xfr_fetch(&p, false, 0, on_rr, on_delta, NULL, &r), -ECONNREFUSED);
	assert_true(mono_ms() - t0 < 1000);
	print_message("%s\n", r.error);
	assert_non_null(strstr(r.error, "refused"));
	close(fd);
	fd = bound_socket(SOCK_DGRAM, &port);
	close(fd); /* nothing on that UDP port: ICMP port unreachable */
	p = params(port, NULL, 5000);
	t0 = mono_ms();
	assert_int_equal(bl_xfr_soa(&p, &r), -ECONNREFUSED);
	assert_true(mono_ms() - t0 < 1000);
	print_message("%s\n", r.error);
}

static void test_silent(void **state)
{
	uint16_t port;
	int fd = bound_socket(SOCK_STREAM, &port);
	assert_int_equal(listen(fd, 4), 0); /* connections complete, nobody ever accepts */
	struct bl_xfr_params p = params(port, NULL, 300);
	struct bl_xfr_result r;
	uint64_t t0 = mono_ms();
	assert_int_equal(bl_xfr_fetch(&p, false, 0, on_rr, on_delta, NULL, &r), CORE_ETIMEOUT);
	uint64_t took = mono_ms() - t0;
	assert_true(took >= 290 && took < 300 + 700);
	print_message("%s\n", r.error);
	assert_non_null(strstr(r.error, "300 ms"));
	close(fd);

	fd = bound_socket(SOCK_DGRAM, &port); /* UDP socket that never answers */
	p = params(port, NULL, 300);
	t0 = mono_ms();
	assert_int_equal(bl_xfr_soa(&p, &r), CORE_ETIMEOUT);
	took = mono_ms() - t0;
	assert_true(took >= 290 && took < 300 + 700);
	print_message("%s\n", r.error);
	close(fd);
}

/* ------------------------------------------------------------------------------------------ */
/* A scripted fake primary, for what knotd never does                                         */

enum fake_mode {
	FAKE_UNSIGNED_MIDDLE, /* signed, unsigned, signed (covering the unsigned one) */
	FAKE_TAMPERED_MIDDLE, /* the unsigned message is altered after the next MAC was made */
	FAKE_LAST_UNSIGNED,   /* signed, then unsigned to the end */
	FAKE_EARLY_CLOSE,     /* first message, then the connection closes */
	FAKE_NOTIMP,	      /* IXFR refused with NOTIMP, then the AXFR on a second connection */
	FAKE_SOA_MISMATCH,    /* closing SOA with another serial */
	FAKE_SOA_ONLY, /* IXFR answered with a newer SOA alone, then AXFR on a second connection */
};

struct fake {
	enum fake_mode mode;
	int lfd;
	uint16_t port;
	pthread_t th;
	bool query_tsig_ok; /* our query verified with ldns_pkt_tsig_verify */
	unsigned conns;
	uint16_t qtypes[2];
};

#define FZONE "fake.test."

/* The fake runs on its own thread: no cmocka assertion there (they longjmp to the main
 * thread's test); a broken fake aborts, and the client hanging up early is not an error. */
#define FAKE_CHECK(expr)         \
	do {                     \
		if (!(expr))     \
			abort(); \
	} while (0)

static ldns_pkt *fake_msg(uint16_t id, uint16_t qtype, const char *const *rrs, size_t n)
{
	ldns_pkt *pkt =
		ldns_pkt_query_new(ldns_dname_new_frm_str(FZONE), qtype, LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_id(pkt, id);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_aa(pkt, true);
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = NULL;
		FAKE_CHECK(ldns_rr_new_frm_str(&rr, rrs[i], 300, NULL, NULL) == LDNS_STATUS_OK);
		ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
	}
	return pkt;
}

static void fake_send_wire(int fd, const uint8_t *w, size_t len)
{
	uint8_t l[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	if (send(fd, l, 2, MSG_NOSIGNAL) == 2)
		(void)!send(fd, w, len, MSG_NOSIGNAL);
}

/* Send @pkt; the wire goes to @out_wire (caller frees) when not NULL. */
static void fake_send(int fd, ldns_pkt *pkt, uint8_t **out_wire, size_t *out_len)
{
	uint8_t *w = NULL;
	size_t len = 0;
	FAKE_CHECK(ldns_pkt2wire(&w, pkt, &len) == LDNS_STATUS_OK);
	fake_send_wire(fd, w, len);
	if (out_wire) {
		*out_wire = w;
		*out_len = len;
	} else {
		free(w);
	}
}

static void fake_sign(ldns_pkt *pkt, const ldns_rdf *prior, int timers_only)
{
	FAKE_CHECK(ldns_pkt_tsig_sign_next(pkt, KEY_NAME, SECRET, 300, "hmac-sha256.", prior,
					   timers_only) == LDNS_STATUS_OK);
}

static const char *const soa7 = FZONE " 300 IN SOA ns.fake.test. admin.fake.test. 7 60 30 600 60";
static const char *const soa8 = FZONE " 300 IN SOA ns.fake.test. admin.fake.test. 8 60 30 600 60";

static void fake_serve(struct fake *f, int fd, uint16_t id, uint16_t qtype, ldns_pkt *query)
{
	const char *m1[] = {soa7, FZONE " 300 IN NS ns.fake.test.", "a." FZONE " 300 IN CNAME ."};
	const char *m2[] = {"b." FZONE " 300 IN CNAME .", "c." FZONE " 300 IN CNAME ."};
	const char *m2x[] = {"b." FZONE " 301 IN CNAME .", "c." FZONE " 300 IN CNAME ."};
	const char *m3[] = {"d." FZONE " 300 IN CNAME .", soa7};
	const char *end8[] = {soa8};
	const ldns_rdf *qmac = ldns_pkt_tsig(query) ? ldns_rr_rdf(ldns_pkt_tsig(query), 3) : NULL;

	if (f->mode == FAKE_SOA_ONLY && qtype == LDNS_RR_TYPE_IXFR) {
		ldns_pkt *p = fake_msg(id, qtype, &soa7, 1);
		fake_send(fd, p, NULL, NULL);
		ldns_pkt_free(p);
		return;
	}
	if (f->mode == FAKE_NOTIMP && qtype == LDNS_RR_TYPE_IXFR) {
		ldns_pkt *p = fake_msg(id, qtype, NULL, 0);
		ldns_pkt_set_rcode(p, LDNS_RCODE_NOTIMPL);
		fake_send(fd, p, NULL, NULL);
		ldns_pkt_free(p);
		return;
	}
	ldns_pkt *p1 = fake_msg(id, qtype, m1, 3);
	bool tsig = f->mode == FAKE_UNSIGNED_MIDDLE || f->mode == FAKE_TAMPERED_MIDDLE ||
		    f->mode == FAKE_LAST_UNSIGNED;
	if (tsig)
		fake_sign(p1, qmac, 0);
	fake_send(fd, p1, NULL, NULL);
	if (f->mode == FAKE_EARLY_CLOSE) {
		ldns_pkt_free(p1);
		return;
	}
	if (!tsig) {
		ldns_pkt *p = fake_msg(id, qtype, f->mode == FAKE_SOA_MISMATCH ? end8 : &soa7, 1);
		fake_send(fd, p, NULL, NULL);
		ldns_pkt_free(p);
		ldns_pkt_free(p1);
		return;
	}
	/* message 2 unsigned; message 3's MAC covers MAC 1 + message 2 (RFC 8945 §5.3.1): with
	 * ldns, by handing it that concatenation as the "prior MAC" */
	ldns_pkt *p2 = fake_msg(id, qtype, m2, 2);
	uint8_t *w2 = NULL;
	size_t l2 = 0;
	FAKE_CHECK(ldns_pkt2wire(&w2, p2, &l2) == LDNS_STATUS_OK);
	if (f->mode == FAKE_TAMPERED_MIDDLE) {
		ldns_pkt *px = fake_msg(id, qtype, m2x, 2);
		fake_send(fd, px, NULL, NULL);
		ldns_pkt_free(px);
	} else {
		fake_send_wire(fd, w2, l2);
	}
	ldns_pkt *p3 = fake_msg(id, qtype, m3, 2);
	if (f->mode != FAKE_LAST_UNSIGNED) {
		const ldns_rdf *mac1 = ldns_rr_rdf(ldns_pkt_tsig(p1), 3);
		size_t n = ldns_rdf_size(mac1) + l2;
		uint8_t *cat = malloc(n);
		FAKE_CHECK(cat);
		memcpy(cat, ldns_rdf_data(mac1), ldns_rdf_size(mac1));
		memcpy(cat + ldns_rdf_size(mac1), w2, l2);
		ldns_rdf *prior = ldns_rdf_new(LDNS_RDF_TYPE_INT16_DATA, n, cat);
		fake_sign(p3, prior, 1);
		ldns_rdf_free(prior); /* the struct only */
		free(cat);
	}
	fake_send(fd, p3, NULL, NULL);
	free(w2);
	ldns_pkt_free(p1);
	ldns_pkt_free(p2);
	ldns_pkt_free(p3);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	unsigned want = f->mode == FAKE_NOTIMP || f->mode == FAKE_SOA_ONLY ? 2 : 1;
	for (unsigned c = 0; c < want; c++) {
		struct pollfd pfd = {.fd = f->lfd, .events = POLLIN};
		if (poll(&pfd, 1, 5000) != 1)
			break;
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			break;
		struct timeval tv = {.tv_sec = 5};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		uint8_t l[2], buf[1024];
		if (recv(fd, l, 2, MSG_WAITALL) == 2) {
			size_t len = (size_t)(l[0] << 8 | l[1]);
			ldns_pkt *q = NULL;
			if (len <= sizeof(buf) && recv(fd, buf, len, MSG_WAITALL) == (ssize_t)len &&
			    ldns_wire2pkt(&q, buf, len) == LDNS_STATUS_OK) {
				uint16_t qtype =
					ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(q), 0));
				f->qtypes[f->conns++] = qtype;
				if (ldns_pkt_tsig(q))
					f->query_tsig_ok = ldns_pkt_tsig_verify(
						q, buf, len, KEY_NAME, SECRET, NULL);
				fake_serve(f, fd, ldns_pkt_id(q), qtype, q);
			}
			ldns_pkt_free(q);
		}
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *f, enum fake_mode mode)
{
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->lfd = bound_socket(SOCK_STREAM, &f->port);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
}

static int fake_fetch(enum fake_mode mode, bool tsig, bool have, struct got *g,
		      struct bl_xfr_result *r, struct fake *f)
{
	fake_start(f, mode);
	struct bl_xfr_params p = params(f->port, tsig ? &good_key : NULL, 2000);
	snprintf(p.zone, sizeof(p.zone), "%s", FZONE);
	int ret = bl_xfr_fetch(&p, have, 5, on_rr, on_delta, g, r);
	fake_stop(f);
	print_message("mode %d: %d %s\n", mode, ret, r->error);
	return ret;
}

static void test_fake_unsigned_middle(void **state)
{
	struct fake f;
	struct got g = {0};
	struct bl_xfr_result r;
	assert_int_equal(fake_fetch(FAKE_UNSIGNED_MIDDLE, true, false, &g, &r, &f), 0);
	assert_true(f.query_tsig_ok); /* ldns accepts our query's signature */
	assert_int_equal(r.kind, BL_XFR_FULL);
	assert_int_equal(r.serial, 7);
	assert_int_equal(g.n, 6);
	assert_string_equal(g.lines[5], "d.fake.test. 300 IN CNAME .");
	got_clear(&g);

	/* the unsigned message changed on the way: the next signature does not cover it */
	assert_int_equal(fake_fetch(FAKE_TAMPERED_MIDDLE, true, false, &g, &r, &f), CORE_EPROTO);
	assert_non_null(strstr(r.error, "bad TSIG signature"));
	got_clear(&g);

	assert_int_equal(fake_fetch(FAKE_LAST_UNSIGNED, true, false, &g, &r, &f), CORE_EPROTO);
	assert_non_null(strstr(r.error, "last message is not signed"));
	got_clear(&g);
}

static void test_fake_stream_errors(void **state)
{
	struct fake f;
	struct got g = {0};
	struct bl_xfr_result r;
	assert_int_equal(fake_fetch(FAKE_EARLY_CLOSE, false, false, &g, &r, &f), CORE_EPROTO);
	assert_non_null(strstr(r.error, "closed the connection before the end"));
	got_clear(&g);

	assert_int_equal(fake_fetch(FAKE_SOA_MISMATCH, false, false, &g, &r, &f), CORE_EPROTO);
	assert_non_null(strstr(r.error, "serial 8"));
	got_clear(&g);

	/* a signed transfer from a primary that does not sign: refused */
	assert_int_equal(fake_fetch(FAKE_SOA_MISMATCH, true, false, &g, &r, &f), CORE_EPROTO);
	assert_non_null(strstr(r.error, "not TSIG-signed"));
	assert_int_equal(g.n, 0);
	got_clear(&g);

	/* IXFR answered NOTIMP: asked again with AXFR */
	assert_int_equal(fake_fetch(FAKE_NOTIMP, false, true, &g, &r, &f), 0);
	assert_int_equal(f.conns, 2);
	assert_int_equal(f.qtypes[0], LDNS_RR_TYPE_IXFR);
	assert_int_equal(f.qtypes[1], LDNS_RR_TYPE_AXFR);
	assert_int_equal(r.kind, BL_XFR_FULL);
	assert_int_equal(r.rrs, 3);
	got_clear(&g);

	/* IXFR answered with a newer SOA alone: the same */
	assert_int_equal(fake_fetch(FAKE_SOA_ONLY, false, true, &g, &r, &f), 0);
	assert_int_equal(f.conns, 2);
	assert_int_equal(f.qtypes[1], LDNS_RR_TYPE_AXFR);
	assert_int_equal(r.kind, BL_XFR_FULL);
	assert_int_equal(r.serial, 7);
	assert_int_equal(g.n, 3);
	got_clear(&g);
}

/* ------------------------------------------------------------------------------------------ */
/* NOTIFY                                                                                     */

/* A NOTIFY built by ldns; @serial < 0: no SOA in the answer; @key NULL: unsigned. */
static size_t make_notify(uint8_t *buf, size_t size, const char *zone, uint16_t id, long serial,
			  const char *key, const char *secret, ldns_rdf **out_mac)
{
	ldns_pkt *pkt = ldns_pkt_query_new(ldns_dname_new_frm_str(zone), LDNS_RR_TYPE_SOA,
					   LDNS_RR_CLASS_IN, LDNS_AA);
	ldns_pkt_set_opcode(pkt, LDNS_PACKET_NOTIFY);
	ldns_pkt_set_id(pkt, id);
	if (serial >= 0) {
		char text[300];
		snprintf(text, sizeof(text), "%s 300 IN SOA ns. admin. %ld 1 1 1 1", zone, serial);
		ldns_rr *soa = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&soa, text, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, soa);
	}
	if (key) {
		assert_int_equal(ldns_pkt_tsig_sign(pkt, key, secret, 300, "hmac-sha256.", NULL),
				 LDNS_STATUS_OK);
		if (out_mac)
			*out_mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(pkt), 3));
	}
	uint8_t *w = NULL;
	size_t len = 0;
	assert_int_equal(ldns_pkt2wire(&w, pkt, &len), LDNS_STATUS_OK);
	assert_true(len <= size);
	memcpy(buf, w, len);
	free(w);
	ldns_pkt_free(pkt);
	return len;
}

static struct sockaddr_storage addr(const char *a, uint16_t port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(a, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, a, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, a, &s4->sin_addr), 1);
	}
	return ss;
}

static void test_notify_unsigned(void **state)
{
	struct bl_xfr_params p = params(53, NULL, 1000);
	struct sockaddr_storage right = addr("127.0.0.1", 40000), other = addr("127.0.0.2", 53),
				mapped = addr("::ffff:127.0.0.1", 1), v6 = addr("2001:db8::1", 53);
	uint8_t w[512];
	struct bl_notify n;
	const char *why = NULL;

	size_t len = make_notify(w, sizeof(w), "RPZ.national.vn.", 4321, 77, NULL, NULL, NULL);
	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&right, &n, &why), 0);
	assert_string_equal(n.zone, ZONE);
	assert_true(n.has_serial);
	assert_int_equal(n.serial, 77);
	assert_int_equal(n.id, 4321);
	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&mapped, &n, &why), 0);

	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&other, &n, &why),
			 CORE_EPROTO);
	assert_non_null(why);
	assert_non_null(strstr(why, "source"));
	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&v6, &n, &why),
			 CORE_EPROTO);

	len = make_notify(w, sizeof(w), ZONE, 1, -1, NULL, NULL, NULL);
	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&right, &n, &why), 0);
	assert_false(n.has_serial);

	/* another zone, or not a NOTIFY: not ours to answer */
	len = make_notify(w, sizeof(w), "other.vn.", 1, 5, NULL, NULL, NULL);
	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&right, &n, &why),
			 CORE_ENOTFOUND);
	len = make_notify(w, sizeof(w), ZONE, 1, 5, NULL, NULL, NULL);
	w[2] &= (uint8_t)~0x78; /* opcode QUERY */
	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&right, &n, &why),
			 CORE_ENOTFOUND);

	/* malformed */
	len = make_notify(w, sizeof(w), ZONE, 1, 5, NULL, NULL, NULL);
	assert_int_equal(bl_notify_check(&p, w, len - 3, (struct sockaddr *)&right, &n, &why),
			 CORE_EPROTO);
	assert_int_equal(bl_notify_check(&p, w, 5, (struct sockaddr *)&right, &n, &why),
			 CORE_EPROTO);

	/* the response: same ID, QR, AA, opcode NOTIFY, question, no TSIG */
	len = make_notify(w, sizeof(w), ZONE, 999, 77, NULL, NULL, NULL);
	uint8_t resp[512];
	size_t rl = bl_notify_response(&p, w, len, LDNS_RCODE_NOERROR, resp, sizeof(resp));
	assert_true(rl > 12);
	ldns_pkt *rp = NULL;
	assert_int_equal(ldns_wire2pkt(&rp, resp, rl), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(rp), 999);
	assert_true(ldns_pkt_qr(rp));
	assert_true(ldns_pkt_aa(rp));
	assert_int_equal(ldns_pkt_get_opcode(rp), LDNS_PACKET_NOTIFY);
	assert_int_equal(ldns_pkt_get_rcode(rp), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_qdcount(rp), 1);
	assert_int_equal(ldns_pkt_ancount(rp), 0);
	assert_null(ldns_pkt_tsig(rp));
	ldns_pkt_free(rp);
	assert_int_equal(bl_notify_response(&p, w, len, LDNS_RCODE_REFUSED, resp, 20), 0);
	assert_int_equal(bl_notify_response(&p, w, 7, LDNS_RCODE_REFUSED, resp, sizeof(resp)), 0);
	rl = bl_notify_response(&p, w, len, LDNS_RCODE_REFUSED, resp, sizeof(resp));
	assert_true(rl > 12);
	assert_int_equal(resp[3] & 0xF, LDNS_RCODE_REFUSED);
}

static void test_notify_tsig(void **state)
{
	struct bl_xfr_params p = params(53, &good_key, 1000);
	struct sockaddr_storage right = addr("127.0.0.1", 40000), other = addr("192.0.2.1", 53);
	uint8_t w[512];
	struct bl_notify n;
	const char *why = NULL;
	ldns_rdf *mac = NULL;

	size_t len = make_notify(w, sizeof(w), ZONE, 77, 3, KEY_NAME, SECRET, &mac);
	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&right, &n, &why), 0);
	assert_int_equal(n.serial, 3);
	/* signed, but from the wrong address */
	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&other, &n, &why),
			 CORE_EPROTO);

	/* the signed response verifies with ldns, over the request's MAC */
	uint8_t resp[512];
	size_t rl = bl_notify_response(&p, w, len, LDNS_RCODE_NOERROR, resp, sizeof(resp));
	assert_true(rl > 12);
	ldns_pkt *rp = NULL;
	assert_int_equal(ldns_wire2pkt(&rp, resp, rl), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(rp), 77);
	assert_true(ldns_pkt_qr(rp));
	assert_int_equal(ldns_pkt_get_opcode(rp), LDNS_PACKET_NOTIFY);
	assert_non_null(ldns_pkt_tsig(rp));
	assert_true(ldns_pkt_tsig_verify(rp, resp, rl, KEY_NAME, SECRET, mac));
	ldns_pkt_free(rp);
	/* too small for the TSIG record */
	assert_int_equal(bl_notify_response(&p, w, len, 0, resp, 40), 0);
	ldns_rdf_deep_free(mac);

	/* unsigned while a key is configured */
	len = make_notify(w, sizeof(w), ZONE, 78, 3, NULL, NULL, NULL);
	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&right, &n, &why),
			 CORE_EPROTO);
	assert_non_null(strstr(why, "not TSIG-signed"));
	rl = bl_notify_response(&p, w, len, LDNS_RCODE_REFUSED, resp, sizeof(resp));
	assert_int_equal(rl, 12 + sizeof(ZONE) + 4); /* the question back, unsigned */
	assert_memory_equal(resp + 12, w + 12, sizeof(ZONE) + 4);

	/* wrong secret */
	len = make_notify(w, sizeof(w), ZONE, 79, 3, KEY_NAME, WRONG_SECRET, NULL);
	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&right, &n, &why),
			 CORE_EPROTO);
	assert_non_null(strstr(why, "bad TSIG signature"));
	rl = bl_notify_response(&p, w, len, LDNS_RCODE_NOTAUTH, resp, sizeof(resp));
	assert_true(rl > 12);
	rp = NULL;
	assert_int_equal(ldns_wire2pkt(&rp, resp, rl), LDNS_STATUS_OK);
	assert_null(ldns_pkt_tsig(rp));
	assert_int_equal(ldns_pkt_get_rcode(rp), LDNS_RCODE_NOTAUTH);
	ldns_pkt_free(rp);

	/* another key name */
	len = make_notify(w, sizeof(w), ZONE, 80, 3, "k2.", SECRET, NULL);
	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&right, &n, &why),
			 CORE_EPROTO);
	assert_non_null(strstr(why, "key name"));

	/* signed, then altered: the serial changed on the way */
	len = make_notify(w, sizeof(w), ZONE, 81, 3, KEY_NAME, SECRET, NULL);
	size_t i = 0;
	while (i + 4 <= len && !(w[i] == 0 && w[i + 1] == 0 && w[i + 2] == 0 && w[i + 3] == 3))
		i++;
	assert_true(i + 4 <= len);
	w[i + 3] = 4;
	assert_int_equal(bl_notify_check(&p, w, len, (struct sockaddr *)&right, &n, &why),
			 CORE_EPROTO);
	assert_non_null(strstr(why, "bad TSIG signature"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soa),
		cmocka_unit_test(test_axfr),
		cmocka_unit_test(test_callback_abort),
		cmocka_unit_test(test_ixfr_delta),
		cmocka_unit_test(test_ixfr_up_to_date),
		cmocka_unit_test(test_ixfr_full),
		cmocka_unit_test(test_tsig_good),
		cmocka_unit_test(test_tsig_algorithms),
		cmocka_unit_test(test_tsig_bad),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_silent),
		cmocka_unit_test(test_fake_unsigned_middle),
		cmocka_unit_test(test_fake_stream_errors),
		cmocka_unit_test(test_notify_unsigned),
		cmocka_unit_test(test_notify_tsig),
	};
	knot_start();
	if (!knot.ok)
		print_message("knotd: %s; the tests that need a real primary are skipped\n",
			      knot.why);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	knot_stop();
	return failed;
}
