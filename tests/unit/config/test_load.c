/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of cfg_load_buffer()/cfg_load(): parsed values of valid configs, and the exact text
 * and position of the diagnostics for invalid ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/config/helpers.h"

/* Enough of a config to be valid, to which a test adds what it checks. */
#define FORWARD "server:\n  forwarders: [192.0.2.53]\n"
#define ONE_NETWORK "networks:\n  - { name: LAN, cidr: 10.0.0.0/8 }\n"

static char resolv_path[64];

static int group_setup(void **state)
{
	/* never depend on the machine's /etc/resolv.conf */
	cfg_set_resolv_conf_path("/nonexistent/resolv.conf");
	return 0;
}

static int group_teardown(void **state)
{
	cfg_set_resolv_conf_path(NULL);
	return 0;
}

/* Write @content to a temporary resolv.conf and make the loader use it. */
static void use_resolv_conf(const char *content)
{
	FILE *f;
	int fd;

	snprintf(resolv_path, sizeof(resolv_path), "/tmp/lanhmanh-test-resolv.XXXXXX");
	fd = mkstemp(resolv_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	cfg_set_resolv_conf_path(resolv_path);
}

static void drop_resolv_conf(void)
{
	unlink(resolv_path);
	cfg_set_resolv_conf_path("/nonexistent/resolv.conf");
}

static void assert_cidr(const struct cfg_cidr *c, const char *text)
{
	char buf[64];

	cfg_cidr_format(c, buf, sizeof(buf));
	assert_string_equal(buf, text);
}

static const char full_config[] =
	"# a school's full config\n"
	"server:\n"
	"  listen: [\"10.1.0.1:53\", \"[2001:db8::1]:5353\", \"::1\"]\n"
	"  workers: 4\n"
	"  mode: forward\n"
	"  forwarders: [\"192.0.2.53\", \"[2001:db8::53]:853\"]\n"
	"  dnssec: no\n"
	"  cache_size: 512MiB\n"
	"  state_dir: /srv/lanhmanh\n"
	"  control_socket: /run/lm.sock\n"
	"  log_level: debug\n"
	"  tcp_idle_timeout: 500ms\n"
	"  tcp_max_connections: 20000\n"
	"  upstream_timeout: 2s\n"
	"  serve_stale: 2h\n"
	"  cache_max_ttl: 1h 30m\n"
	"  edns_buffer_size: 1400\n"
	"networks:\n"
	"  - name: \"Trường TH Lê Lợi\"\n"
	"    id: \"79-TH-0001\"\n"
	"    cidr: [\"10.1.0.0/16\", \"2001:db8:1::/48\"]\n"
	"    group: tieu_hoc\n"
	"  - { name: Phòng giáo viên, cidr: 10.2.0.0/24, group: giao_vien }\n"
	"  - name: khách\n"
	"    cidr: 192.168.7.9\n";

static void test_full_config(void **state)
{
	struct loaded l;
	const struct cfg_server *s;
	const struct cfg_network *n;

	load(&l, full_config);
	assert_string_equal(l.text, "");
	assert_int_equal(l.rc, 0);
	assert_non_null(l.cfg);
	assert_string_equal(l.cfg->path, "test.yaml");

	s = &l.cfg->server;
	assert_int_equal(s->n_listen, 3);
	assert_string_equal(s->listen[0].text, "10.1.0.1:53");
	assert_string_equal(s->listen[1].text, "[2001:db8::1]:5353");
	assert_string_equal(s->listen[2].text, "[::1]:53");
	assert_int_equal(s->listen[1].ss.ss_family, AF_INET6);
	assert_int_equal(s->listen[1].len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&s->listen[1].ss)->sin6_port), 5353);
	assert_int_equal(s->workers, 4);
	assert_int_equal(s->mode, CFG_MODE_FORWARD);
	assert_int_equal(s->n_forwarders, 2);
	assert_string_equal(s->forwarders[0].text, "192.0.2.53:53");
	assert_string_equal(s->forwarders[1].text, "[2001:db8::53]:853");
	assert_false(s->forwarders_from_resolv_conf);
	assert_null(s->root_hints);
	assert_false(s->dnssec);
	assert_int_equal(s->cache_size_bytes, 512ull * 1024 * 1024);
	assert_string_equal(s->state_dir, "/srv/lanhmanh");
	assert_string_equal(s->control_socket, "/run/lm.sock");
	assert_string_equal(s->log_level, "debug");
	assert_int_equal(s->tcp_idle_timeout_ms, 500);
	assert_int_equal(s->tcp_max_connections, 20000);
	assert_int_equal(s->upstream_timeout_ms, 2000);
	assert_int_equal(s->serve_stale_s, 7200);
	assert_int_equal(s->cache_max_ttl_s, 5400);
	assert_int_equal(s->edns_buffer_size, 1400);

	assert_int_equal(l.cfg->n_networks, 3);
	n = &l.cfg->networks[0];
	assert_string_equal(n->name, "Trường TH Lê Lợi");
	assert_string_equal(n->id, "79-TH-0001");
	assert_string_equal(n->group, "tieu_hoc");
	assert_int_equal(n->n_cidrs, 2);
	assert_cidr(&n->cidrs[0], "10.1.0.0/16");
	assert_cidr(&n->cidrs[1], "2001:db8:1::/48");
	assert_int_equal(n->cidrs[1].family, AF_INET6);
	assert_int_equal(n->line, 19);
	n = &l.cfg->networks[1];
	assert_string_equal(n->name, "Phòng giáo viên");
	assert_string_equal(n->id, "Phòng giáo viên");
	assert_string_equal(n->group, "giao_vien");
	assert_int_equal(n->n_cidrs, 1);
	assert_cidr(&n->cidrs[0], "10.2.0.0/24");
	assert_int_equal(n->line, 23);
	n = &l.cfg->networks[2];
	assert_string_equal(n->name, "khách");
	assert_null(n->group);
	assert_cidr(&n->cidrs[0], "192.168.7.9/32");
	assert_int_equal(n->line, 24);
	unload(&l);
}

static void test_defaults(void **state)
{
	struct loaded l;
	const struct cfg_server *s;

	load(&l, FORWARD ONE_NETWORK);
	assert_string_equal(l.text, "");
	assert_int_equal(l.rc, 0);
	s = &l.cfg->server;
	assert_int_equal(s->n_listen, 2);
	assert_string_equal(s->listen[0].text, "127.0.0.1:53");
	assert_string_equal(s->listen[1].text, "[::1]:53");
	assert_int_equal(s->workers, 0);
	assert_int_equal(s->mode, CFG_MODE_FORWARD);
	assert_int_equal(s->n_forwarders, 1);
	assert_string_equal(s->forwarders[0].text, "192.0.2.53:53");
	assert_null(s->root_hints);
	assert_true(s->dnssec);
	assert_int_equal(s->cache_size_bytes, 256ull * 1024 * 1024);
	assert_string_equal(s->state_dir, "/var/lib/lanhmanh");
	assert_string_equal(s->control_socket, "/run/lanhmanh/control.sock");
	assert_string_equal(s->log_level, "info");
	assert_int_equal(s->tcp_idle_timeout_ms, 10000);
	assert_int_equal(s->tcp_max_connections, 1000);
	assert_int_equal(s->upstream_timeout_ms, 1500);
	assert_int_equal(s->serve_stale_s, 86400);
	assert_int_equal(s->cache_max_ttl_s, 86400);
	assert_int_equal(s->edns_buffer_size, 1232);
	assert_int_equal(l.cfg->n_networks, 1);
	assert_string_equal(l.cfg->networks[0].id, "LAN");
	unload(&l);
}

static void test_null_values_mean_default(void **state)
{
	struct loaded l;

	load(&l, "server:\n  forwarders: [192.0.2.53]\n  workers:\n  root_hints: ~\n"
		 "  state_dir: null\n" ONE_NETWORK);
	assert_string_equal(l.text, "");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.cfg->server.workers, 0);
	assert_null(l.cfg->server.root_hints);
	assert_string_equal(l.cfg->server.state_dir, "/var/lib/lanhmanh");
	unload(&l);
}

static void test_scalar_forms(void **state)
{
	struct loaded l;

	/* single strings for lists, quoted numbers, the other boolean words */
	load(&l, "server:\n  listen: 127.0.0.1:5353\n  forwarders: \"192.0.2.1\"\n"
		 "  workers: \"8\"\n  dnssec: On\n  cache_size: 1048576\n  serve_stale: off\n"
		 "networks:\n  - { name: 2024, id: 7, cidr: \"::/0\" }\n");
	assert_string_equal(l.text, "");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.cfg->server.n_listen, 1);
	assert_string_equal(l.cfg->server.listen[0].text, "127.0.0.1:5353");
	assert_string_equal(l.cfg->server.forwarders[0].text, "192.0.2.1:53");
	assert_int_equal(l.cfg->server.workers, 8);
	assert_true(l.cfg->server.dnssec);
	assert_int_equal(l.cfg->server.cache_size_bytes, 1048576);
	assert_int_equal(l.cfg->server.serve_stale_s, 0);
	assert_string_equal(l.cfg->networks[0].name, "2024");
	assert_string_equal(l.cfg->networks[0].id, "7");
	unload(&l);

	load(&l, "server:\n  forwarders: [192.0.2.1]\n  serve_stale: true\n  workers: auto\n"
		 "  dnssec: yes\n" ONE_NETWORK);
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.cfg->server.serve_stale_s, 86400);
	assert_int_equal(l.cfg->server.workers, 0);
	unload(&l);

	load(&l, "server:\n  forwarders: [192.0.2.1]\n  serve_stale: 0\n" ONE_NETWORK);
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.cfg->server.serve_stale_s, 0);
	unload(&l);
}

static void test_unknown_keys(void **state)
{
	expect_diags(
		"server:\n  forwarders: [192.0.2.53]\n  listn: [\"127.0.0.1:53\"]\n" ONE_NETWORK,
		"test.yaml:3:3: error: server: unknown key 'listn' (did you mean 'listen'?); expected one of: listen, workers, mode, forwarders, root_hints, dnssec, cache_size, state_dir, control_socket, log_level, timezone, tcp_idle_timeout, tcp_max_connections, upstream_timeout, serve_stale, cache_max_ttl, edns_buffer_size, ns_port, ns_loopback, trust_anchor\n");
	expect_diags(
		FORWARD ONE_NETWORK "severs: {}\n",
		"test.yaml:5:1: error: unknown key 'severs' (did you mean 'server'?); expected one of: server, networks, sinkhole, lists, groups, compliance\n");
	expect_diags(
		FORWARD ONE_NETWORK "upstream: {}\n",
		"test.yaml:5:1: error: unknown key 'upstream'; expected one of: server, networks, sinkhole, lists, groups, compliance\n");
	expect_diags(
		FORWARD "networks:\n  - { name: LAN, cidr: 10.0.0.0/8, grup: thcs }\n",
		"test.yaml:4:36: error: networks[0]: unknown key 'grup' (did you mean 'group'?); expected one of: name, id, cidr, group, allow, deny, mmdb, group_field, id_field, province_field\n");
}

static void test_compliance(void **state)
{
	struct loaded l;
	load(&l, FORWARD ONE_NETWORK
	     "compliance:\n  reporter_id: 79-TH-0001\n  interval: 1m\n  k_threshold: 3\n"
	     "  client_ids: none\n  query_log: true\n  metrics: 127.0.0.1\n"
	     "  authority: { url: \"https://stats.example.vn/v1/reports\", key_file: /etc/k, spool_limit: 8MiB }\n");
	assert_int_equal(l.rc, 0);
	const struct cfg_compliance *c = &l.cfg->compliance;
	assert_true(c->enabled);
	assert_string_equal(c->reporter_id, "79-TH-0001");
	assert_int_equal(c->interval_s, 60);
	assert_int_equal(c->k_threshold, 3);
	assert_int_equal(c->retention_days, 90);
	assert_int_equal(c->client_ids, CFG_CLIENT_IDS_NONE);
	assert_true(c->query_log);
	assert_string_equal(c->metrics->text, "127.0.0.1:9153");
	assert_string_equal(c->authority_key_file, "/etc/k");
	assert_int_equal(c->spool_limit_bytes, 8u << 20);
	assert_null(c->store);
	unload(&l);
	expect_diags(FORWARD ONE_NETWORK "compliance:\n  client_ids: hashed\n  interval: 1s\n",
		     "test.yaml:6:15: error: compliance.client_ids: 'hashed' is not a way to name clients; expected one of: none, pseudonymous, full\n"
		     "test.yaml:7:13: error: compliance.interval: '1s' is out of range; expected a duration from 10s to 1d\n");
	expect_diags(FORWARD ONE_NETWORK
		     "compliance:\n  authority: { url: \"http://x.vn/r\" }\n",
		     "test.yaml:6:3: error: compliance.authority: 'key_file' is missing; batches are signed with the reporter's key (make one with 'lanhmanh keygen FILE')\n"
		     "test.yaml:6:21: error: compliance.authority.url: 'http://x.vn/r' is not an https:// URL; statistics go to the authority over HTTPS only\n");
	expect_diags(FORWARD ONE_NETWORK
		     "compliance:\n  authority: { url: \"https://x.vn/r\", key_file: /k }\n",
		     "test.yaml:6:3: error: compliance: batches for the authority carry a 'reporter_id'; add one (the id the authority gave this deployment, such as \"79-TH-0001\")\n");
}

static void test_zone_transfer_lists(void **state)
{
	struct loaded l;
	load(&l, FORWARD ONE_NETWORK
	     "lists:\n"
	     "  - name: national\n"
	     "    category: national\n"
	     "    rpz_primary: 192.0.2.1\n"
	     "    zone: RPZ.National.VN\n"
	     "    tsig: { name: k1, algorithm: hmac-sha512, secret: \"c2VjcmV0IGtleQ==\" }\n"
	     "    max_shrink: 20%\n"
	     "  - { name: other, category: adult, rpz_primary: \"[2001:db8::1]:5300\", zone: o.test. }\n");
	assert_int_equal(l.rc, 0);
	const struct cfg_list *n = &l.cfg->lists[0];
	assert_non_null(n->primary);
	assert_string_equal(n->primary->text, "192.0.2.1:53");
	assert_string_equal(n->zone, "rpz.national.vn.");
	assert_string_equal(n->origin, "rpz.national.vn.");
	assert_null(n->file);
	assert_int_equal(n->format, CFG_LIST_RPZ);
	assert_non_null(n->tsig);
	assert_string_equal(n->tsig->name, "k1.");
	assert_string_equal(n->tsig->algorithm, "hmac-sha512");
	assert_string_equal(n->tsig->secret, "c2VjcmV0IGtleQ==");
	assert_int_equal(n->max_shrink_pct, 20);
	const struct cfg_list *o = &l.cfg->lists[1];
	assert_string_equal(o->primary->text, "[2001:db8::1]:5300");
	assert_null(o->tsig);
	assert_int_equal(o->max_shrink_pct, 50);
	unload(&l);

	expect_diags(FORWARD ONE_NETWORK
		     "lists:\n"
		     "  - { name: a, category: national, rpz_primary: 192.0.2.1 }\n"
		     "  - { name: b, category: adult, file: /dev/null, rpz_primary: 192.0.2.1, zone: b. }\n"
		     "  - { name: c, category: adult, file: /dev/null, zone: c., max_shrink: 150% }\n"
		     "  - { name: d, category: adult, rpz_primary: 192.0.2.1, zone: d., tsig: { name: k, algorithm: md5, secret: \"abc\" } }\n",
		     "test.yaml:6:5: error: lists[0]: missing 'zone': the RPZ zone to transfer from the primary, e.g. zone: rpz.national.vn.\n"
		     "test.yaml:7:50: error: lists[1]: a list comes from a 'file' or from a primary ('rpz_primary'), not both\n"
		     "test.yaml:8:50: error: lists[2]: 'zone' belongs to a zone transfer; add 'rpz_primary' (the primary's address) or remove it\n"
		     "test.yaml:8:72: error: lists[2].max_shrink: '150%' is not a share; expected a percentage from 0% to 100% such as 50% (100%: accept any update)\n"
		     "test.yaml:9:95: error: lists[3].tsig.algorithm: 'md5' is not a TSIG algorithm lanhmanh accepts; expected hmac-sha256, hmac-sha384 or hmac-sha512\n"
		     "test.yaml:9:108: error: lists[3].tsig.secret: is not base64 (letters, digits, '+', '/', '=' padding, a multiple of 4 characters); copy the secret as tsig-keygen prints it\n");
}

static void test_duplicate_keys(void **state)
{
	expect_diags(
		"server:\n  workers: 2\n  forwarders: [192.0.2.53]\n  workers: 4\n" ONE_NETWORK
		"server: {}\n",
		"test.yaml:4:3: error: server: duplicate key 'workers' (first set at line 2, column 3); keep only one\n"
		"test.yaml:7:1: error: duplicate key 'server' (first set at line 1, column 1); keep only one\n");
}

static void test_wrong_types(void **state)
{
	expect_diags(
		"server:\n  workers: [1]\n  forwarders: {a: 1}\n  dnssec: [true]\n"
		"  cache_size: {}\n  listen: [[1]]\n  state_dir: [a]\n" ONE_NETWORK,
		"test.yaml:2:12: error: server.workers: expected 'auto' or a number from 1 to 256, got a list\n"
		"test.yaml:3:15: error: server.forwarders: expected a list of addresses such as [\"192.0.2.53\", \"[2001:db8::53]:53\"], got a mapping\n"
		"test.yaml:4:11: error: server.dnssec: expected true or false (yes/no and on/off work too), got a list\n"
		"test.yaml:5:15: error: server.cache_size: expected a number of bytes with an optional unit B, KB, MB, GB, KiB, MiB or GiB, such as '256MiB', got a mapping\n"
		"test.yaml:6:12: error: server.listen[0]: expected an address such as 192.0.2.53:53, got a list\n"
		"test.yaml:7:14: error: server.state_dir: expected an absolute path such as /var/lib/lanhmanh, got a list\n");
	expect_diags(
		"- server\n",
		"test.yaml:1:1: error: expected a mapping of sections such as 'server:' and 'networks:', got a list\n");
	expect_diags(
		"server: [a]\n" ONE_NETWORK,
		"test.yaml:1:9: error: server: expected a mapping of server settings such as 'listen:' and 'forwarders:', got a list\n");
	expect_diags(
		FORWARD "networks:\n  name: x\n  cidr: 10.0.0.0/8\n",
		"test.yaml:4:3: error: networks: expected a list of networks (each one starting with '- name:'), got a mapping\n");
	expect_diags(
		FORWARD "networks:\n  - 10.0.0.0/8\n",
		"test.yaml:4:5: error: networks[0]: expected a network: a mapping with 'name' and 'cidr', got a string\n");
	expect_diags(
		FORWARD "networks:\n  - { name: [a], cidr: [[10.0.0.0/8]], group: {} }\n",
		"test.yaml:4:13: error: networks[0].name: expected a text such as \"Trường TH Lê Lợi\", got a list\n"
		"test.yaml:4:25: error: networks[0].cidr[0]: expected a CIDR (an address and prefix length) such as 10.1.0.0/16 or 2001:db8::/32, got a list\n"
		"test.yaml:4:47: error: networks[0].group: expected a group name of lower-case letters, digits, '_' and '-' such as tieu_hoc, got a mapping\n");
	expect_diags(
		"? [a]\n: 1\n",
		"test.yaml:1:3: error: expected a key name, got a list\n"
		"test.yaml: error: server: no forwarders: set server.forwarders (cannot read /nonexistent/resolv.conf: no such file or directory)\n"
		"test.yaml: warning: networks: no networks are defined, so only this machine (127.0.0.1 and ::1) is served; add networks with 'name' and 'cidr'\n");
}

static void test_server_values(void **state)
{
	expect_diags(
		"server:\n"
		"  listen: [\"127.0.0.1:5353\", \"localhost:53\", \"[::1]:0\", \"127.0.0.1:5353\"]\n"
		"  workers: 0\n"
		"  forwarders: []\n"
		"  dnssec: maybe\n"
		"  state_dir: var/lib/lanhmanh\n"
		"  control_socket: \"\"\n"
		"  log_level: verbose\n"
		"  tcp_max_connections: many\n"
		"  edns_buffer_size: 9000\n"
		"  root_hints: /usr/share/dns/root.hints\n" ONE_NETWORK,
		"test.yaml:2:30: error: server.listen[1]: 'localhost:53' is not an IP address; expected IP or IP:port such as 192.0.2.53, 192.0.2.53:53 or [2001:db8::53]:53 (host names are not allowed)\n"
		"test.yaml:2:46: error: server.listen[2]: '[::1]:0' has an invalid port; expected a port from 1 to 65535\n"
		"test.yaml:2:57: error: server.listen[3]: '127.0.0.1:5353' is listed twice (first at line 2, column 12); remove one\n"
		"test.yaml:3:12: error: server.workers: '0' is out of range; expected 'auto' or a number from 1 to 256\n"
		"test.yaml:4:15: error: server.forwarders: the list is empty; expected at least one address such as [\"192.0.2.53\", \"[2001:db8::53]:53\"]\n"
		"test.yaml:5:11: error: server.dnssec: 'maybe' is not a boolean; expected true or false (yes/no and on/off work too)\n"
		"test.yaml:6:14: error: server.state_dir: 'var/lib/lanhmanh' is not an absolute path; expected a path starting with '/' such as /var/lib/lanhmanh\n"
		"test.yaml:7:19: error: server.control_socket: the path is empty; expected an absolute path such as /run/lanhmanh/control.sock\n"
		"test.yaml:8:14: error: server.log_level: unknown log level 'verbose'; expected one of: error, warning, notice, info, debug\n"
		"test.yaml:9:24: error: server.tcp_max_connections: 'many' is not a whole number; expected a number from 1 to 1000000\n"
		"test.yaml:10:21: error: server.edns_buffer_size: '9000' is out of range; expected a number from 512 to 4096\n"
		"test.yaml:11:15: warning: server.root_hints: root_hints is only used in recursive mode; ignoring it\n");
}

static void test_server_limits(void **state)
{
	char yaml[4096], expected[512], sock[121];
	size_t o;

	memset(sock, 'x', sizeof(sock) - 1);
	sock[0] = '/';
	sock[sizeof(sock) - 1] = '\0';
	snprintf(yaml, sizeof(yaml), FORWARD "  control_socket: %s\n" ONE_NETWORK, sock);
	expect_diags(
		yaml,
		"test.yaml:3:19: error: server.control_socket: the path is too long for a socket (120 bytes); use at most 107 bytes\n");

	o = (size_t)snprintf(yaml, sizeof(yaml), FORWARD "  listen: [");
	for (int i = 0; i < 65; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "%s\"127.0.0.1:%d\"",
				      i ? ", " : "", 1000 + i);
	snprintf(yaml + o, sizeof(yaml) - o, "]\n" ONE_NETWORK);
	snprintf(
		expected, sizeof(expected),
		"test.yaml:3:11: error: server.listen: too many addresses; at most 64 are allowed\n");
	expect_diags(yaml, expected);
}

static void test_recursive_mode(void **state)
{
	expect_diags(
		"server:\n  mode: stub\n" ONE_NETWORK,
		"test.yaml:2:9: error: server.mode: unknown mode 'stub'; expected 'forward' or 'recursive'\n");
	struct loaded l;
	load(&l, "server:\n  mode: recursive\n  ns_port: 5300\n  ns_loopback: true\n"
		 "  forwarders: [192.0.2.53]\n  trust_anchor: /etc/lanhmanh/root.key\n" ONE_NETWORK);
	assert_int_equal(l.rc, 0);
	assert_string_equal(l.text,
			    "test.yaml:5:15: warning: server.forwarders: forwarders are not used in recursive mode; ignoring them\n");
	assert_int_equal(l.cfg->server.mode, CFG_MODE_RECURSIVE);
	assert_true(l.cfg->server.dnssec);
	assert_int_equal(l.cfg->server.ns_port, 5300);
	assert_true(l.cfg->server.ns_loopback);
	assert_string_equal(l.cfg->server.trust_anchor, "/etc/lanhmanh/root.key");
	unload(&l);
}

static void test_sizes(void **state)
{
	expect_diags(
		"server:\n  forwarders: [192.0.2.53]\n  cache_size: 256XB\n" ONE_NETWORK,
		"test.yaml:3:15: error: server.cache_size: '256XB' is not a size; expected a number of bytes with an optional unit B, KB, MB, GB, KiB, MiB or GiB, such as '256MiB'\n");
	expect_diags(
		"server:\n  forwarders: [192.0.2.53]\n  cache_size: 512KiB\n" ONE_NETWORK,
		"test.yaml:3:15: error: server.cache_size: '512KiB' is too small; the cache needs at least 1MiB\n");
	expect_diags(
		"server:\n  forwarders: [192.0.2.53]\n  cache_size: 99999999999GiB\n" ONE_NETWORK,
		"test.yaml:3:15: error: server.cache_size: '99999999999GiB' is too large\n");
}

static void test_durations(void **state)
{
	expect_diags(
		"server:\n  forwarders: [192.0.2.53]\n"
		"  upstream_timeout: 10\n"
		"  tcp_idle_timeout: 10 seconds\n"
		"  serve_stale: 1500ms\n"
		"  cache_max_ttl: 8d\n"
		"  upstream_timeout: 1m\n" ONE_NETWORK,
		"test.yaml:3:21: error: server.upstream_timeout: '10' has no unit; expected a duration such as '10s' or '10ms'\n"
		"test.yaml:4:21: error: server.tcp_idle_timeout: '10 seconds' is not a duration; expected a number with a unit ms, s, m, h or d, such as '10s', '500ms' or '2m'\n"
		"test.yaml:5:16: error: server.serve_stale: '1500ms' is not a whole number of seconds; use the units s, m, h or d\n"
		"test.yaml:6:18: error: server.cache_max_ttl: '8d' is out of range; expected a duration from 1s to 7d\n"
		"test.yaml:7:3: error: server: duplicate key 'upstream_timeout' (first set at line 3, column 3); keep only one\n");
	expect_diags(
		"server:\n  forwarders: [192.0.2.53]\n  upstream_timeout: 31s\n  serve_stale: 8d\n"
		"  tcp_idle_timeout: 0\n" ONE_NETWORK,
		"test.yaml:3:21: error: server.upstream_timeout: '31s' is out of range; expected a duration from 50ms to 30s\n"
		"test.yaml:4:16: error: server.serve_stale: '8d' is out of range; expected a duration from 1s to 7d, or off\n"
		"test.yaml:5:21: error: server.tcp_idle_timeout: '0' is out of range; expected a duration from 100ms to 1h\n");
}

static void test_cidrs(void **state)
{
	expect_diags(
		FORWARD "networks:\n"
			"  - name: A\n"
			"    cidr:\n"
			"      - 10.1.0.0/33\n"
			"      - 10.1.2.0/16\n"
			"      - 10.1.0/16\n"
			"      - 2001:db8::1/32\n"
			"      - 2001:db8::/200\n"
			"      - \"10.9.0.0/16\"\n"
			"  - name: B\n"
			"    cidr: 10.9.0.0/16\n"
			"  - { name: C, cidr: [] }\n"
			"  - { name: D }\n",
		"test.yaml:6:9: error: networks[0].cidr[0]: '10.1.0.0/33' is not a CIDR (prefix length 0-32)\n"
		"test.yaml:7:9: error: networks[0].cidr[1]: '10.1.2.0/16' has host bits set; did you mean '10.1.0.0/16'?\n"
		"test.yaml:8:9: error: networks[0].cidr[2]: '10.1.0/16' is not a CIDR; expected a CIDR (an address and prefix length) such as 10.1.0.0/16 or 2001:db8::/32\n"
		"test.yaml:9:9: error: networks[0].cidr[3]: '2001:db8::1/32' has host bits set; did you mean '2001:db8::/32'?\n"
		"test.yaml:10:9: error: networks[0].cidr[4]: '2001:db8::/200' is not a CIDR (prefix length 0-128)\n"
		"test.yaml:13:11: error: networks[1].cidr: '10.9.0.0/16' is already used by networks[0] (line 4); an address range can belong to one network only\n"
		"test.yaml:14:22: error: networks[2].cidr: the list is empty; expected at least one CIDR such as 10.1.0.0/16\n"
		"test.yaml:15:5: error: networks[3]: missing 'cidr'; every network needs its address ranges, e.g. cidr: [\"10.1.0.0/16\"] (or a subscriber database, e.g. mmdb: /var/lib/lanhmanh/subscribers.mmdb)\n");
}

static void test_network_fields(void **state)
{
	expect_diags(
		FORWARD "networks:\n"
			"  - { cidr: 10.1.0.0/16 }\n"
			"  - { name: \"\", cidr: 10.2.0.0/16 }\n"
			"  - { name: \"a\\nb\", cidr: 10.3.0.0/16 }\n"
			"  - { name: X, cidr: 10.4.0.0/16, group: Tiểu học }\n"
			"  - { name: X, cidr: 10.5.0.0/16 }\n"
			"  - { name: Y, id: \"79-TH-1\", cidr: 10.6.0.0/16 }\n"
			"  - { name: Z, id: \"79-TH-1\", cidr: [10.7.0.0/16, 10.7.0.0/16] }\n",
		"test.yaml:4:5: error: networks[0]: missing 'name'; every network needs a name, e.g. name: \"Trường TH Lê Lợi\"\n"
		"test.yaml:5:13: error: networks[1].name: the value is empty; expected a text such as \"Trường TH Lê Lợi\"\n"
		"test.yaml:6:13: error: networks[2].name: contains a control character (such as a line break); expected a text such as \"Trường TH Lê Lợi\"\n"
		"test.yaml:7:42: error: networks[3].group: 'Tiểu học' is not a valid group name; expected a group name of lower-case letters, digits, '_' and '-' such as tieu_hoc (at most 63 characters)\n"
		"test.yaml:8:13: error: networks[4].name: network name 'X' is already used by networks[3] (line 7); give each network its own name, or a distinct 'id'\n"
		"test.yaml:10:20: error: networks[6].id: network id '79-TH-1' is already used by networks[5] (line 9); ids must be unique because reports count per id\n"
		"test.yaml:10:51: error: networks[6].cidr[1]: '10.7.0.0/16' is listed twice in this network; remove one\n");
}

static void test_no_networks_warns(void **state)
{
	struct loaded l;

	load(&l, FORWARD);
	assert_int_equal(l.rc, 0);
	assert_string_equal(
		l.text,
		"test.yaml: warning: networks: no networks are defined, so only this machine (127.0.0.1 and ::1) is served; add networks with 'name' and 'cidr'\n");
	assert_int_equal(l.diags.n_errors, 0);
	assert_int_equal(l.cfg->n_networks, 0);
	unload(&l);

	load(&l, FORWARD "networks: []\n");
	assert_int_equal(l.rc, 0);
	assert_string_equal(
		l.text,
		"test.yaml:3:11: warning: networks: no networks are defined, so only this machine (127.0.0.1 and ::1) is served; add networks with 'name' and 'cidr'\n");
	unload(&l);
}

static void test_yaml_errors(void **state)
{
	static const char bad_utf8[] = "server:\n  forwarders: [\"192.0.2.\xff\"]\n";

	expect_diags(
		"server:\n  listen: [\"127.0.0.1:53\"\n  workers: 2\n",
		"test.yaml:3:3: error: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 2, column 11)\n");
	expect_diags(
		"server:\n\tworkers: 2\n",
		"test.yaml:2:1: error: invalid YAML: found character that cannot start any token; YAML does not allow tabs for indentation, use spaces\n");
	expect_diags(
		"server:\n  workers: 2\n   mode: forward\n",
		"test.yaml:3:8: error: invalid YAML: mapping values are not allowed in this context\n");
	expect_diags(
		bad_utf8,
		"test.yaml:2:25: error: invalid YAML: invalid leading UTF-8 octet (byte 0xff); the file must be UTF-8 text\n");
	expect_diags("server: *nothing\n",
		     "test.yaml:1:9: error: invalid YAML: found undefined alias\n");
	expect_diags(
		FORWARD ONE_NETWORK "---\nserver: {}\n",
		"test.yaml:5:1: error: a second YAML document starts here; a config file holds exactly one (remove the '---' line and merge the settings)\n");
}

static void test_empty_document(void **state)
{
	struct loaded l;

	/* an empty file is all defaults: forwarders from resolv.conf, which here lists one */
	use_resolv_conf("# written by hand\nsearch example.com\nnameserver 192.0.2.1\n");
	load(&l, "");
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.cfg->server.n_forwarders, 1);
	assert_true(l.cfg->server.forwarders_from_resolv_conf);
	unload(&l);
	load(&l, "---\n# nothing\n...\n");
	assert_int_equal(l.rc, 0);
	unload(&l);
	drop_resolv_conf();
}

static void test_resolv_conf(void **state)
{
	char expected[2048];
	struct loaded l;

	use_resolv_conf("; comment\n"
			"nameserver 127.0.0.1\n"
			"nameserver   192.0.2.1   # the ISP\n"
			"nameserver dns.example\n"
			"options edns0 trust-ad\n"
			"nameserver\t2001:db8::1\n"
			"nameserver 192.0.2.1\n"
			"nameserver fe80::1%eth0\n"
			"nameserver ::1\n");
	load(&l, "server:\n  listen: [\"127.0.0.1:53\", \"[::]:53\"]\n" ONE_NETWORK);
	snprintf(
		expected, sizeof(expected),
		"%1$s:2:12: warning: server.forwarders: nameserver 127.0.0.1:53 would reach this resolver itself (it listens on 127.0.0.1:53); ignoring it to avoid a forwarding loop\n"
		"%1$s:4:12: warning: server.forwarders: nameserver 'dns.example' is not an IP address; expected IP or IP:port such as 192.0.2.53, 192.0.2.53:53 or [2001:db8::53]:53 (host names are not allowed); ignoring it\n"
		"%1$s:8:12: warning: server.forwarders: nameserver 'fe80::1%%eth0' has a zone index ('%%'), which is not supported; use a global or unique local address; ignoring it\n"
		"%1$s:9:12: warning: server.forwarders: nameserver [::1]:53 would reach this resolver itself (it listens on [::]:53); ignoring it to avoid a forwarding loop\n",
		resolv_path);
	assert_string_equal(l.text, expected);
	assert_int_equal(l.rc, 0);
	assert_true(l.cfg->server.forwarders_from_resolv_conf);
	assert_int_equal(l.cfg->server.n_forwarders, 2);
	assert_string_equal(l.cfg->server.forwarders[0].text, "192.0.2.1:53");
	assert_string_equal(l.cfg->server.forwarders[1].text, "[2001:db8::1]:53");
	unload(&l);

	/* explicit forwarders: resolv.conf is not read */
	load(&l, FORWARD ONE_NETWORK);
	assert_string_equal(l.text, "");
	assert_false(l.cfg->server.forwarders_from_resolv_conf);
	unload(&l);
	drop_resolv_conf();

	use_resolv_conf("search example.com\nnameserver 127.0.0.1\n");
	load(&l, "server:\n  workers: 2\n" ONE_NETWORK);
	snprintf(
		expected, sizeof(expected),
		"test.yaml:1:1: error: server: no forwarders: set server.forwarders (%1$s lists no usable nameserver)\n"
		"%1$s:2:12: warning: server.forwarders: nameserver 127.0.0.1:53 would reach this resolver itself (it listens on 127.0.0.1:53); ignoring it to avoid a forwarding loop\n",
		resolv_path);
	assert_string_equal(l.text, expected);
	assert_int_equal(l.rc, CORE_ECONFIG);
	unload(&l);
	drop_resolv_conf();

	expect_diags(
		ONE_NETWORK,
		"test.yaml: error: server: no forwarders: set server.forwarders (cannot read /nonexistent/resolv.conf: no such file or directory)\n");
}

static void test_forwarding_loop(void **state)
{
	expect_diags(
		"server:\n  listen: [\"0.0.0.0:53\", \"[::1]:5353\"]\n"
		"  forwarders: [192.0.2.53, 127.0.0.1, \"[::1]:5353\", \"[::1]:53\"]\n" ONE_NETWORK,
		"test.yaml:3:28: error: server.forwarders[1]: '127.0.0.1:53' would reach this resolver itself (it listens on 0.0.0.0:53), a forwarding loop; expected the address of an upstream resolver\n"
		"test.yaml:3:39: error: server.forwarders[2]: '[::1]:5353' would reach this resolver itself (it listens on [::1]:5353), a forwarding loop; expected the address of an upstream resolver\n");
	expect_diags(
		"server:\n  forwarders: 127.0.0.1\n" ONE_NETWORK,
		"test.yaml:2:15: error: server.forwarders: '127.0.0.1:53' would reach this resolver itself (it listens on 127.0.0.1:53), a forwarding loop; expected the address of an upstream resolver\n");
}

static void test_all_errors_in_file_order(void **state)
{
	struct loaded l;

	/* sections are checked in schema order, reported in file order */
	load(&l, "networks:\n  - { name: A, cidr: 10.0.0.1/8 }\n"
		 "server:\n  workers: lots\n  forwarders: [192.0.2.53]\n  cache_size: 1KB\n");
	assert_string_equal(
		l.text,
		"test.yaml:2:22: error: networks[0].cidr: '10.0.0.1/8' has host bits set; did you mean '10.0.0.0/8'?\n"
		"test.yaml:4:12: error: server.workers: 'lots' is not a number of workers; expected 'auto' or a number from 1 to 256\n"
		"test.yaml:6:15: error: server.cache_size: '1KB' is too small; the cache needs at least 1MiB\n");
	assert_int_equal(l.diags.n_errors, 3);
	assert_int_equal(l.rc, CORE_ECONFIG);
	unload(&l);
}

static void test_long_values_are_cut(void **state)
{
	char yaml[1024], expected[1024];
	char word[301];

	memset(word, 'a', 300);
	word[300] = '\0';
	snprintf(yaml, sizeof(yaml), FORWARD ONE_NETWORK "%s: 1\n", word);
	snprintf(
		expected, sizeof(expected),
		"test.yaml:5:1: error: unknown key '%.96s...'; expected one of: server, networks, sinkhole, lists, groups, compliance\n",
		word);
	expect_diags(yaml, expected);
	/* control characters in a value are shown escaped */
	expect_diags(
		FORWARD "  log_level: \"inf\\to\\u0001\"\n" ONE_NETWORK,
		"test.yaml:3:14: error: server.log_level: unknown log level 'inf\\x09o\\x01'; expected one of: error, warning, notice, info, debug\n");
	expect_diags(
		FORWARD "networks:\n  - { name: \"a\\0b\", cidr: 10.0.0.0/8 }\n",
		"test.yaml:4:13: error: networks[0].name: contains a NUL character (\\0); expected a text such as \"Trường TH Lê Lợi\"\n");
}

static void test_alias_budget(void **state)
{
	char *yaml = malloc(200000);
	size_t o = 0;
	struct loaded l;

	assert_non_null(yaml);
	/* 2000 networks sharing one list of 2000 CIDRs: 4 million values from a small file */
	o += (size_t)sprintf(yaml + o, FORWARD "networks:\n  - { name: n0, cidr: &c [");
	for (int i = 0; i < 2000; i++)
		o += (size_t)sprintf(yaml + o, "%s10.%d.%d.0/24", i ? ", " : "", i / 256, i % 256);
	o += (size_t)sprintf(yaml + o, "] }\n");
	for (int i = 1; i < 2000; i++)
		o += (size_t)sprintf(yaml + o, "  - { name: n%d, cidr: *c }\n", i);
	load(&l, yaml);
	assert_int_equal(l.rc, CORE_ECONFIG);
	assert_non_null(
		strstr(l.text, "the document expands to too many values (through aliases '*')"));
	unload(&l);
	free(yaml);

	/* an alias used sensibly is fine */
	load(&l, FORWARD "networks:\n  - { name: A, group: &g thcs, cidr: 10.1.0.0/16 }\n"
			 "  - { name: B, group: *g, cidr: 10.2.0.0/16 }\n");
	assert_string_equal(l.text, "");
	assert_string_equal(l.cfg->networks[1].group, "thcs");
	unload(&l);
}

static void test_too_many_problems(void **state)
{
	char *yaml = malloc(100000);
	size_t o = 0;
	struct loaded l;

	assert_non_null(yaml);
	o += (size_t)sprintf(yaml + o, FORWARD "networks:\n");
	for (int i = 0; i < 500; i++)
		o += (size_t)sprintf(yaml + o, "  - { name: n%d, cidr: 10.0.0.%d/8 }\n", i, i + 1);
	load(&l, yaml);
	assert_int_equal(l.rc, CORE_ECONFIG);
	assert_int_equal(l.diags.n, 200);
	assert_int_equal(l.diags.n_errors, 200);
	assert_string_equal(l.diags.v[0].message,
			    "'10.0.0.1/8' has host bits set; did you mean '10.0.0.0/8'?");
	assert_string_equal(
		l.diags.v[199].message,
		"too many problems (more than 199), not listing the rest; fix these first");
	unload(&l);
	free(yaml);
}

static void test_diags_accumulate(void **state)
{
	struct cfg_diags diags = {0};
	struct cfg_root *cfg = NULL;
	const char bad[] = FORWARD ONE_NETWORK "x: 1\n";

	assert_int_equal(cfg_load_buffer("a.yaml", bad, strlen(bad), &cfg, &diags), CORE_ECONFIG);
	assert_int_equal(cfg_load_buffer("b.yaml", bad, strlen(bad), &cfg, &diags), CORE_ECONFIG);
	assert_null(cfg);
	assert_int_equal(diags.n, 2);
	assert_int_equal(diags.n_errors, 2);
	assert_string_equal(diags.v[0].file, "a.yaml");
	assert_string_equal(diags.v[1].file, "b.yaml");
	assert_int_equal(diags.v[1].line, 5);
	assert_int_equal(diags.v[1].column, 1);
	assert_string_equal(diags.v[1].path, "");
	assert_false(diags.v[1].warning);
	cfg_diags_clear(&diags);
	assert_int_equal(diags.n, 0);
	assert_null(diags.v);

	/* diagnostics may be discarded */
	assert_int_equal(cfg_load_buffer("c.yaml", bad, strlen(bad), &cfg, NULL), CORE_ECONFIG);
	assert_int_equal(cfg_load_buffer("c.yaml", bad, 0, &cfg, NULL), CORE_ECONFIG);
	assert_int_equal(core_alloc_live_bytes(), 0);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/lanhmanh-test-cfg.XXXXXX";
	struct cfg_diags diags = {0};
	struct cfg_root *cfg = NULL;
	char text[512], expected[512];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, full_config, strlen(full_config)), (ssize_t)strlen(full_config));
	close(fd);
	assert_int_equal(cfg_load(path, &cfg, &diags), 0);
	assert_int_equal(diags.n, 0);
	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->networks[0].name, "Trường TH Lê Lợi");
	cfg = cfg_free(cfg);
	unlink(path);

	assert_int_equal(cfg_load(path, &cfg, &diags), CORE_ECONFIG);
	assert_null(cfg);
	assert_int_equal(diags.n, 1);
	cfg_diag_format(&diags.v[0], text, sizeof(text));
	snprintf(expected, sizeof(expected),
		 "%s: error: cannot read the file: no such file or directory", path);
	assert_string_equal(text, expected);
	cfg_diags_clear(&diags);

	assert_int_equal(cfg_load("/", &cfg, &diags), CORE_ECONFIG);
	cfg_diag_format(&diags.v[0], text, sizeof(text));
	assert_string_equal(text,
			    "/: error: cannot read the file: illegal operation on a directory");
	cfg_diags_clear(&diags);
	assert_int_equal(core_alloc_live_bytes(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_null_values_mean_default),
		cmocka_unit_test(test_scalar_forms),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_compliance),
		cmocka_unit_test(test_zone_transfer_lists),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_server_values),
		cmocka_unit_test(test_server_limits),
		cmocka_unit_test(test_recursive_mode),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_cidrs),
		cmocka_unit_test(test_network_fields),
		cmocka_unit_test(test_no_networks_warns),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_empty_document),
		cmocka_unit_test(test_resolv_conf),
		cmocka_unit_test(test_forwarding_loop),
		cmocka_unit_test(test_all_errors_in_file_order),
		cmocka_unit_test(test_long_values_are_cut),
		cmocka_unit_test(test_alias_budget),
		cmocka_unit_test(test_too_many_problems),
		cmocka_unit_test(test_diags_accumulate),
		cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
