/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The `server:` section: listeners, upstreams, cache and daemon settings. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"

#define MIB (1024u * 1024u)
#define SECOND_MS 1000u
#define DAY_MS (86400u * 1000u)

#define DEFAULT_CACHE_SIZE (256ull * MIB)
#define DEFAULT_STATE_DIR "/var/lib/lanhmanh"
#define DEFAULT_CONTROL_SOCKET "/run/lanhmanh/control.sock"
#define DEFAULT_LOG_LEVEL "info"
#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define ZONE_NAME_MAX 255

enum {
	S_LISTEN,
	S_WORKERS,
	S_MODE,
	S_FORWARDERS,
	S_ROOT_HINTS,
	S_DNSSEC,
	S_CACHE_SIZE,
	S_STATE_DIR,
	S_CONTROL_SOCKET,
	S_LOG_LEVEL,
	S_TIMEZONE,
	S_TCP_IDLE_TIMEOUT,
	S_TCP_MAX_CONNECTIONS,
	S_UPSTREAM_TIMEOUT,
	S_SERVE_STALE,
	S_CACHE_MAX_TTL,
	S_EDNS_BUFFER_SIZE,
	S_NS_PORT,
	S_NS_LOOPBACK,
	S_TRUST_ANCHOR,
	S_COUNT,
};

static const struct cfg_key server_keys[S_COUNT] = {
	[S_LISTEN] = {"listen", NULL},
	[S_WORKERS] = {"workers", NULL},
	[S_MODE] = {"mode", NULL},
	[S_FORWARDERS] = {"forwarders", NULL},
	[S_ROOT_HINTS] = {"root_hints", NULL},
	[S_DNSSEC] = {"dnssec", NULL},
	[S_CACHE_SIZE] = {"cache_size", NULL},
	[S_STATE_DIR] = {"state_dir", NULL},
	[S_CONTROL_SOCKET] = {"control_socket", NULL},
	[S_LOG_LEVEL] = {"log_level", NULL},
	[S_TIMEZONE] = {"timezone", NULL},
	[S_TCP_IDLE_TIMEOUT] = {"tcp_idle_timeout", NULL},
	[S_TCP_MAX_CONNECTIONS] = {"tcp_max_connections", NULL},
	[S_UPSTREAM_TIMEOUT] = {"upstream_timeout", NULL},
	[S_SERVE_STALE] = {"serve_stale", NULL},
	[S_CACHE_MAX_TTL] = {"cache_max_ttl", NULL},
	[S_EDNS_BUFFER_SIZE] = {"edns_buffer_size", NULL},
	[S_NS_PORT] = {"ns_port", NULL},
	[S_NS_LOOPBACK] = {"ns_loopback", NULL},
	[S_TRUST_ANCHOR] = {"trust_anchor", NULL},
};

static const struct cfg_duration_spec tcp_idle_spec = {100, 3600 * SECOND_MS, false, false, 0};
static const struct cfg_duration_spec upstream_spec = {50, 30 * SECOND_MS, false, false, 0};
static const struct cfg_duration_spec serve_stale_spec = {SECOND_MS, 7ull * DAY_MS, true, true, DAY_MS};
static const struct cfg_duration_spec max_ttl_spec = {SECOND_MS, 7ull * DAY_MS, true, false, 0};

/* Write @ms with the largest unit that divides it: "1d", "30s", "50ms". */
static const char *format_ms(uint64_t ms, char *buf, size_t size)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		{"d", DAY_MS}, {"h", 3600 * SECOND_MS}, {"m", 60 * SECOND_MS}, {"s", SECOND_MS}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms && ms % units[i].ms == 0) {
			snprintf(buf, size, "%" PRIu64 "%s", ms / units[i].ms, units[i].unit);
			return buf;
		}
	}
	snprintf(buf, size, "%" PRIu64 "ms", ms);
	return buf;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

/* A whole number in [min, max]; false after an error. */
bool cfg_get_uint(struct cfg_ctx *ctx, yaml_node_t *node, uint64_t min, uint64_t max,
		 uint64_t *out_value)
{
	char expected[64], q[CFG_QUOTE_MAX];
	const char *s;
	uint64_t v;
	int rc;

	snprintf(expected, sizeof(expected), "a number from %" PRIu64 " to %" PRIu64, min, max);
	s = cfg_scalar(ctx, node, expected);
	if (!s)
		return false;
	rc = cfg_uint_parse(s, &v);
	if (rc == CORE_EPARSE) {
		cfg_error(ctx, node, "'%s' is not a whole number; expected %s",
			  cfg_quote(s, q, sizeof(q)), expected);
		return false;
	}
	if (rc < 0 || v < min || v > max) {
		cfg_error(ctx, node, "'%s' is out of range; expected %s",
			  cfg_quote(s, q, sizeof(q)), expected);
		return false;
	}
	*out_value = v;
	return true;
}

static void load_workers(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_server *srv)
{
	static const char *const expected = "'auto' or a number from 1 to 256";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, expected);
	uint64_t v;
	int rc;

	if (!s)
		return;
	if (strcmp(s, "auto") == 0) {
		srv->workers = 0;
		return;
	}
	rc = cfg_uint_parse(s, &v);
	if (rc == CORE_EPARSE)
		cfg_error(ctx, node, "'%s' is not a number of workers; expected %s",
			  cfg_quote(s, q, sizeof(q)), expected);
	else if (rc < 0 || v < 1 || v > 256)
		cfg_error(ctx, node, "'%s' is out of range; expected %s",
			  cfg_quote(s, q, sizeof(q)), expected);
	else
		srv->workers = (unsigned)v;
}

static bool load_mode(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_server *srv)
{
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, "'forward' or 'recursive'");

	if (!s)
		return false;
	if (strcmp(s, "forward") == 0) {
		srv->mode = CFG_MODE_FORWARD;
		return true;
	}
	if (strcmp(s, "recursive") == 0) {
		srv->mode = CFG_MODE_RECURSIVE;
		return true;
	}
	cfg_error(ctx, node, "unknown mode '%s'; expected 'forward' or 'recursive'",
		  cfg_quote(s, q, sizeof(q)));
	return false;
}

/*
 * A list of addresses (or a single one). @dup_is_error: a repeated address is an error (two
 * listeners cannot share it) rather than a warning. The arrays are written even when some items
 * are bad; the load fails then anyway.
 */
void cfg_load_addrs(struct cfg_ctx *ctx, yaml_node_t *node, const char *example, bool dup_is_error,
		    struct cfg_addr **out_addrs, size_t *out_n)
{
	yaml_node_t *items[CFG_ADDRS_MAX];
	struct cfg_addr *addrs;
	size_t n = 0;

	if (node->type == YAML_SCALAR_NODE) {
		items[n++] = node;
	} else if (node->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     it < node->data.sequence.items.top; it++) {
			if (!cfg_spend(ctx, node))
				return;
			if (n == CFG_ADDRS_MAX) {
				cfg_error(ctx, node, "too many addresses; at most %d are allowed",
					  CFG_ADDRS_MAX);
				return;
			}
			items[n] = cfg_node(ctx, *it);
			if (items[n])
				n++;
		}
	} else {
		cfg_error(ctx, node, "expected a list of addresses such as %s, got %s", example,
			  cfg_node_kind(node));
		return;
	}
	if (n == 0) {
		cfg_error(ctx, node, "the list is empty; expected at least one address such as %s",
			  example);
		return;
	}
	addrs = core_calloc(n, sizeof(*addrs));
	if (!addrs) {
		ctx->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t mark = node->type == YAML_SEQUENCE_NODE ? cfg_path_push_index(ctx, i) :
								 ctx->path_len;
		char q[CFG_QUOTE_MAX];
		const char *why;
		const char *s = cfg_scalar(ctx, items[i], "an address such as 192.0.2.53:53");

		if (s && cfg_addr_parse_why(s, 53, &addrs[i], &why) < 0) {
			cfg_error(ctx, items[i], "'%s' %s", cfg_quote(s, q, sizeof(q)), why);
		} else if (s) {
			for (size_t j = 0; j < i; j++) {
				if (!cfg_addr_equal(&addrs[i], &addrs[j]))
					continue;
				if (dup_is_error)
					cfg_error(
						ctx, items[i],
						"'%s' is listed twice (first at line %u, column %u); remove one",
						addrs[i].text,
						(unsigned)items[j]->start_mark.line + 1,
						(unsigned)items[j]->start_mark.column + 1);
				else
					cfg_warn(
						ctx, items[i],
						"'%s' is listed twice (first at line %u, column %u), ignoring the repeat",
						addrs[i].text,
						(unsigned)items[j]->start_mark.line + 1,
						(unsigned)items[j]->start_mark.column + 1);
				break;
			}
		}
		cfg_path_pop(ctx, mark);
	}
	*out_addrs = addrs;
	*out_n = n;
}

/* A path string that must start with '/'; @max_len 0: no limit. */
void cfg_load_path(struct cfg_ctx *ctx, yaml_node_t *node, const char *example, size_t max_len,
		   char **out)
{
	char expected[128], q[CFG_QUOTE_MAX];
	const char *s;

	snprintf(expected, sizeof(expected), "an absolute path such as %s", example);
	s = cfg_scalar(ctx, node, expected);
	if (!s)
		return;
	if (s[0] == '\0') {
		cfg_error(ctx, node, "the path is empty; expected %s", expected);
		return;
	}
	if (s[0] != '/') {
		cfg_error(
			ctx, node,
			"'%s' is not an absolute path; expected a path starting with '/' such as %s",
			cfg_quote(s, q, sizeof(q)), example);
		return;
	}
	if (max_len && strlen(s) > max_len) {
		cfg_error(ctx, node,
			  "the path is too long for a socket (%zu bytes); use at most %zu bytes",
			  strlen(s), max_len);
		return;
	}
	*out = core_strdup(s);
	if (!*out)
		ctx->oom = true;
}

void cfg_load_bool(struct cfg_ctx *ctx, yaml_node_t *node, bool *out)
{
	static const char *const expected = "true or false (yes/no and on/off work too)";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, expected);

	if (s && cfg_bool_parse(s, out) < 0)
		cfg_error(ctx, node, "'%s' is not a boolean; expected %s",
			  cfg_quote(s, q, sizeof(q)), expected);
}

static void load_cache_size(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_server *srv)
{
	static const char *const expected =
		"a number of bytes with an optional unit B, KB, MB, GB, KiB, MiB or GiB, such as '256MiB'";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, expected);
	uint64_t v;
	int rc;

	if (!s)
		return;
	rc = cfg_size_parse(s, &v);
	if (rc == CORE_EPARSE)
		cfg_error(ctx, node, "'%s' is not a size; expected %s", cfg_quote(s, q, sizeof(q)),
			  expected);
	else if (rc < 0)
		cfg_error(ctx, node, "'%s' is too large", cfg_quote(s, q, sizeof(q)));
	else if (v < MIB)
		cfg_error(ctx, node, "'%s' is too small; the cache needs at least 1MiB",
			  cfg_quote(s, q, sizeof(q)));
	else
		srv->cache_size_bytes = v;
}

static void load_log_level(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_server *srv)
{
	static const char *const expected = "one of: error, warning, notice, info, debug";
	char q[CFG_QUOTE_MAX];
	const char *s = cfg_scalar(ctx, node, expected);

	if (!s)
		return;
	if (core_log_level_parse(s) < 0) {
		cfg_error(ctx, node, "unknown log level '%s'; expected %s",
			  cfg_quote(s, q, sizeof(q)), expected);
		return;
	}
	srv->log_level = core_strdup(s);
	if (!srv->log_level)
		ctx->oom = true;
}

bool cfg_zone_name_ok(const char *name)
{
	const char *comp = name;

	if (!*name || strlen(name) > ZONE_NAME_MAX)
		return false;
	for (const char *p = name;; p++) {
		if (*p == '/' || !*p) {
			if (p == comp || *comp == '.')
				return false;
			if (!*p)
				return true;
			comp = p + 1;
			continue;
		}
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '+' || *p == '-'))
			return false;
	}
}

/* Is @path a TZif file? zoneinfo also holds tables (zone.tab, leapseconds) that are no zone. */
static bool is_tzif(const char *path)
{
	char magic[4];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	do {
		n = read(fd, magic, sizeof(magic));
	} while (n < 0 && errno == EINTR);
	close(fd);
	return n == (ssize_t)sizeof(magic) && memcmp(magic, "TZif", sizeof(magic)) == 0;
}

/* The zone is checked now so that a typo is an error here, not a silent UTC at run time. */
static void load_timezone(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_server *srv)
{
	static const char *const expected = "a name from " ZONEINFO_DIR " such as Asia/Ho_Chi_Minh";
	char q[CFG_QUOTE_MAX], path[sizeof(ZONEINFO_DIR) + ZONE_NAME_MAX + 1];
	const char *s = cfg_scalar(ctx, node, expected);

	if (!s)
		return;
	if (cfg_zone_name_ok(s)) {
		snprintf(path, sizeof(path), "%s/%s", ZONEINFO_DIR, s);
		if (is_tzif(path)) {
			srv->timezone = core_strdup(s);
			if (!srv->timezone)
				ctx->oom = true;
			return;
		}
	}
	cfg_error(ctx, node, "unknown time zone '%s'; expected %s", cfg_quote(s, q, sizeof(q)),
		  expected);
}

/* A duration within @spec; false after an error. */
bool cfg_get_duration(struct cfg_ctx *ctx, yaml_node_t *node, const struct cfg_duration_spec *spec,
		      uint64_t *out_ms)
{
	static const char *const expected =
		"a number with a unit ms, s, m, h or d, such as '10s', '500ms' or '2m'";
	char q[CFG_QUOTE_MAX], lo[32], hi[32];
	const char *s = cfg_scalar(ctx, node, expected);
	uint64_t v;
	bool on;
	int rc;

	if (!s)
		return false;
	if (spec->can_disable && cfg_bool_parse(s, &on) == 0) {
		*out_ms = on ? spec->on_ms : 0;
		return true;
	}
	cfg_quote(s, q, sizeof(q));
	rc = cfg_duration_parse(s, &v);
	if (rc == CORE_EPARSE && all_digits(s)) {
		cfg_error(ctx, node,
			  "'%s' has no unit; expected a duration such as '%ss' or '%sms'", q, q, q);
		return false;
	}
	if (rc == CORE_EPARSE) {
		cfg_error(ctx, node, "'%s' is not a duration; expected %s", q, expected);
		return false;
	}
	if (spec->can_disable && rc == 0 && v == 0) {
		*out_ms = 0;
		return true;
	}
	if (rc < 0 || v < spec->min_ms || v > spec->max_ms) {
		cfg_error(ctx, node, "'%s' is out of range; expected a duration from %s to %s%s", q,
			  format_ms(spec->min_ms, lo, sizeof(lo)),
			  format_ms(spec->max_ms, hi, sizeof(hi)),
			  spec->can_disable ? ", or off" : "");
		return false;
	}
	if (spec->whole_seconds && v % SECOND_MS) {
		cfg_error(ctx, node,
			  "'%s' is not a whole number of seconds; use the units s, m, h or d", q);
		return false;
	}
	*out_ms = v;
	return true;
}

static void set_defaults(struct cfg_server *srv)
{
	srv->workers = 0;
	srv->mode = CFG_MODE_FORWARD;
	srv->dnssec = true;
	srv->cache_size_bytes = DEFAULT_CACHE_SIZE;
	srv->tcp_idle_timeout_ms = 10 * SECOND_MS;
	srv->tcp_max_connections = 1000;
	srv->upstream_timeout_ms = 1500;
	srv->serve_stale_s = 86400;
	srv->cache_max_ttl_s = 86400;
	srv->edns_buffer_size = 1232;
	srv->ns_port = 53;
}

/* Fill in the defaults of the string and list members that were not set. */
static void finish_defaults(struct cfg_ctx *ctx, struct cfg_server *srv, bool listen_given)
{
	static const char *const default_listen[] = {"127.0.0.1:53", "[::1]:53"};
	const size_t n_default = sizeof(default_listen) / sizeof(default_listen[0]);

	if (!listen_given) {
		srv->listen = core_calloc(n_default, sizeof(*srv->listen));
		if (!srv->listen) {
			ctx->oom = true;
			return;
		}
		srv->n_listen = n_default;
		for (size_t i = 0; i < n_default; i++)
			(void)cfg_addr_parse(default_listen[i], 53, &srv->listen[i]);
	}
	if (!srv->state_dir)
		srv->state_dir = core_strdup(DEFAULT_STATE_DIR);
	if (!srv->control_socket)
		srv->control_socket = core_strdup(DEFAULT_CONTROL_SOCKET);
	if (!srv->log_level)
		srv->log_level = core_strdup(DEFAULT_LOG_LEVEL);
	if (!srv->state_dir || !srv->control_socket || !srv->log_level)
		ctx->oom = true;
}

/* A forwarder that is this resolver itself would bounce every query until it times out. */
static void check_forwarding_loop(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_server *srv)
{
	size_t base = cfg_path_push_key(ctx, "forwarders");

	for (size_t i = 0; i < srv->n_forwarders; i++) {
		const struct cfg_addr *own;
		yaml_node_t *item;
		size_t mark;

		/* failed entries are zeroed and match nothing */
		own = cfg_addr_own_listener(srv, &srv->forwarders[i]);
		if (!own)
			continue;
		item = node->type == YAML_SEQUENCE_NODE ?
			       cfg_node(ctx, node->data.sequence.items.start[i]) :
			       node;
		mark = node->type == YAML_SEQUENCE_NODE ? cfg_path_push_index(ctx, i) :
							  ctx->path_len;
		cfg_error(
			ctx, item,
			"'%s' would reach this resolver itself (it listens on %s), a forwarding loop; expected the address of an upstream resolver",
			srv->forwarders[i].text, own->text);
		cfg_path_pop(ctx, mark);
	}
	cfg_path_pop(ctx, base);
}

/* server.forwarders is absent: take the system's nameservers. */
static void forwarders_from_resolv_conf(struct cfg_ctx *ctx, yaml_node_t *server_key,
					struct cfg_server *srv)
{
	const char *path = cfg_resolv_conf_path();
	int rc = cfg_resolv_conf_load(ctx, srv);
	char q[CFG_QUOTE_MAX];

	if (rc == -ENOMEM) {
		ctx->oom = true;
		return;
	}
	if (rc < 0) {
		cfg_error(ctx, server_key,
			  "no forwarders: set server.forwarders (cannot read %s: %s)",
			  cfg_quote(path, q, sizeof(q)), core_strerror(rc));
		return;
	}
	if (srv->n_forwarders == 0) {
		cfg_error(ctx, server_key,
			  "no forwarders: set server.forwarders (%s lists no usable nameserver)",
			  cfg_quote(path, q, sizeof(q)));
		return;
	}
	srv->forwarders_from_resolv_conf = true;
}

void cfg_server_load(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node)
{
	struct cfg_server *srv = &ctx->root->server;
	struct cfg_kv kv[S_COUNT] = {0};
	size_t base = cfg_path_push_key(ctx, "server");
	bool mode_ok = true;
	uint64_t v;

	set_defaults(srv);
	if (node && !cfg_node_is_null(node) &&
	    !cfg_map_get(ctx, node,
			 "a mapping of server settings such as 'listen:' and 'forwarders:'",
			 server_keys, S_COUNT, kv)) {
		/* nothing to check further; in particular no guessing of forwarders */
		finish_defaults(ctx, srv, false);
		goto out;
	}
	for (size_t i = 0; i < S_COUNT; i++) {
		yaml_node_t *val = kv[i].value;
		size_t mark;

		if (!val || cfg_node_is_null(val))
			continue;
		mark = cfg_path_push_key(ctx, server_keys[i].name);
		switch (i) {
		case S_LISTEN:
			cfg_load_addrs(ctx, val, "[\"127.0.0.1:53\", \"[::1]:53\"]", true, &srv->listen,
				   &srv->n_listen);
			break;
		case S_WORKERS:
			load_workers(ctx, val, srv);
			break;
		case S_MODE:
			mode_ok = load_mode(ctx, val, srv);
			break;
		case S_FORWARDERS:
			cfg_load_addrs(ctx, val, "[\"192.0.2.53\", \"[2001:db8::53]:53\"]", false,
				   &srv->forwarders, &srv->n_forwarders);
			break;
		case S_ROOT_HINTS:
			cfg_load_path(ctx, val, "/usr/share/dns/root.hints", 0, &srv->root_hints);
			if (srv->root_hints && srv->mode == CFG_MODE_FORWARD && mode_ok)
				cfg_warn(
					ctx, val,
					"root_hints is only used in recursive mode; ignoring it");
			break;
		case S_DNSSEC:
			cfg_load_bool(ctx, val, &srv->dnssec);
			break;
		case S_CACHE_SIZE:
			load_cache_size(ctx, val, srv);
			break;
		case S_STATE_DIR:
			cfg_load_path(ctx, val, DEFAULT_STATE_DIR, 0, &srv->state_dir);
			break;
		case S_CONTROL_SOCKET:
			cfg_load_path(ctx, val, DEFAULT_CONTROL_SOCKET,
				  sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1,
				  &srv->control_socket);
			break;
		case S_LOG_LEVEL:
			load_log_level(ctx, val, srv);
			break;
		case S_TIMEZONE:
			load_timezone(ctx, val, srv);
			break;
		case S_TCP_IDLE_TIMEOUT:
			if (cfg_get_duration(ctx, val, &tcp_idle_spec, &v))
				srv->tcp_idle_timeout_ms = (uint32_t)v;
			break;
		case S_TCP_MAX_CONNECTIONS:
			if (cfg_get_uint(ctx, val, 1, 1000000, &v))
				srv->tcp_max_connections = (uint32_t)v;
			break;
		case S_UPSTREAM_TIMEOUT:
			if (cfg_get_duration(ctx, val, &upstream_spec, &v))
				srv->upstream_timeout_ms = (uint32_t)v;
			break;
		case S_SERVE_STALE:
			if (cfg_get_duration(ctx, val, &serve_stale_spec, &v))
				srv->serve_stale_s = (uint32_t)(v / SECOND_MS);
			break;
		case S_CACHE_MAX_TTL:
			if (cfg_get_duration(ctx, val, &max_ttl_spec, &v))
				srv->cache_max_ttl_s = (uint32_t)(v / SECOND_MS);
			break;
		case S_EDNS_BUFFER_SIZE:
			if (cfg_get_uint(ctx, val, 512, 4096, &v))
				srv->edns_buffer_size = (uint16_t)v;
			break;
		case S_NS_PORT:
			if (cfg_get_uint(ctx, val, 1, 65535, &v))
				srv->ns_port = (uint16_t)v;
			break;
		case S_NS_LOOPBACK:
			cfg_load_bool(ctx, val, &srv->ns_loopback);
			break;
		case S_TRUST_ANCHOR:
			cfg_load_path(ctx, val, "/etc/lanhmanh/root.key", 0, &srv->trust_anchor);
			break;
		default:
			break;
		}
		cfg_path_pop(ctx, mark);
	}
	finish_defaults(ctx, srv, srv->listen != NULL);
	if (kv[S_FORWARDERS].value && srv->forwarders)
		check_forwarding_loop(ctx, kv[S_FORWARDERS].value, srv);
	if (!ctx->oom && mode_ok && srv->mode == CFG_MODE_FORWARD &&
	    (!kv[S_FORWARDERS].value || cfg_node_is_null(kv[S_FORWARDERS].value)))
		forwarders_from_resolv_conf(ctx, key, srv);
	if (mode_ok && srv->mode == CFG_MODE_RECURSIVE) {
		size_t mark = cfg_path_push_key(ctx, "forwarders");
		if (kv[S_FORWARDERS].value && !cfg_node_is_null(kv[S_FORWARDERS].value))
			cfg_warn(ctx, kv[S_FORWARDERS].value,
				 "forwarders are not used in recursive mode; ignoring them");
		cfg_path_pop(ctx, mark);
	}
out:
	cfg_path_pop(ctx, base);
}
