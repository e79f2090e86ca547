/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The configuration: one YAML file turned into plain, validated, immutable structs.
 *
 * config/ knows nothing about the modules that consume it: each takes what it needs from a
 * struct cfg_root through its own *_apply_cfg(). A loaded cfg_root is never modified; a reload
 * loads a new one and the old one is freed once nothing uses it.
 *
 * Errors are collected as diagnostics, all of them, each naming file:line:column, the key path
 * and what is expected, e.g.
 *   lanhmanh.yaml:42:7: error: networks[2].cidr[0]: '10.1.0.0/33' is not a CIDR (prefix length 0-32)
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** An address with a port, as written in the config ("127.0.0.1:53", "[::1]:5353"). */
struct cfg_addr {
	struct sockaddr_storage ss; /**< AF_INET or AF_INET6, port set */
	socklen_t len; /**< sizeof the sockaddr_in or sockaddr_in6 */
	char text[64]; /**< canonical text form, "[::1]:53" for IPv6 */
};

/** An address prefix: 10.1.0.0/16 or 2001:db8::/32. Host bits are zero. */
struct cfg_cidr {
	int family; /**< AF_INET or AF_INET6 */
	uint8_t addr[16]; /**< network byte order; 4 bytes used for AF_INET */
	uint8_t prefix; /**< 0-32 or 0-128 */
};

/** One entry of `networks:`. */
struct cfg_network {
	char *name; /**< display name (UTF-8), required */
	char *id; /**< network id for reports ("79-TH-0001"); defaults to name */
	char *group; /**< group name, or NULL */
	struct cfg_cidr *cidrs; /**< at least one */
	size_t n_cidrs;
	unsigned line; /**< where it was defined, for `explain` */
};

enum cfg_mode {
	CFG_MODE_FORWARD,
	CFG_MODE_RECURSIVE,
};

/** `server:`. Units are in the member names; defaults in config/README.md. */
struct cfg_server {
	struct cfg_addr *listen; /**< UDP and TCP on each; default 127.0.0.1:53 and [::1]:53 */
	size_t n_listen;
	unsigned workers; /**< 0 means auto: one per core */
	enum cfg_mode mode;
	struct cfg_addr *forwarders; /**< port 53 unless given */
	size_t n_forwarders;
	bool forwarders_from_resolv_conf; /**< forwarders were taken from /etc/resolv.conf */
	char *root_hints; /**< NULL: built-in */
	bool dnssec;
	uint64_t cache_size_bytes; /**< default 256 MiB */
	char *state_dir; /**< default /var/lib/lanhmanh */
	char *control_socket; /**< default /run/lanhmanh/control.sock */
	char *log_level; /**< error|warning|notice|info|debug, default info */
	/* Extensions beyond DESIGN.md's schema, all optional: */
	uint32_t tcp_idle_timeout_ms; /**< tcp_idle_timeout, default 10 s */
	uint32_t tcp_max_connections; /**< tcp_max_connections, whole daemon, default 1000 */
	uint32_t upstream_timeout_ms; /**< upstream_timeout, per try, default 1500 ms */
	uint32_t serve_stale_s; /**< serve_stale: how long past expiry, default 1 day; 0 off */
	uint32_t cache_max_ttl_s; /**< cache_max_ttl, default 1 day */
	uint16_t edns_buffer_size; /**< edns_buffer_size, default 1232 */
};

/** A whole configuration file. Immutable once loaded. */
struct cfg_root {
	char *path; /**< file it came from */
	struct cfg_server server;
	struct cfg_network *networks;
	size_t n_networks;
};

/** One problem found while loading. */
struct cfg_diag {
	char *file;
	unsigned line; /**< 1-based; 0 when the problem has no position */
	unsigned column; /**< 1-based */
	char *path; /**< key path, "networks[2].cidr[0]"; may be "" */
	char *message; /**< what is wrong, and what is expected */
	bool warning; /**< true: reported but does not reject the file */
};

/** All problems of one load, in file order. */
struct cfg_diags {
	struct cfg_diag *v;
	size_t n;
	size_t n_errors;
};

/**
 * Load and validate the YAML file at @path.
 *
 * When server.forwarders is absent, the nameservers of /etc/resolv.conf (see
 * cfg_set_resolv_conf_path()) become the forwarders; that file is read during the load.
 * Safe to call from any thread, as long as cfg_set_resolv_conf_path() is not called meanwhile.
 *
 * @param diags  receives every problem found (the caller frees with cfg_diags_clear()). They are
 *               appended, sorted in file order among themselves; a successful load may still
 *               add warnings, which the caller should show. NULL: diagnostics are discarded.
 * @return 0 and a new config in @out_cfg (free with cfg_free()), CORE_ECONFIG when any error
 *         diagnostic was produced, -ENOMEM (the diagnostics may then be incomplete).
 *         @out_cfg is written only on success.
 */
int cfg_load(const char *path, struct cfg_root **out_cfg, struct cfg_diags *diags)
	__attribute__((warn_unused_result));

/** As cfg_load(), from memory; @name is used as the file name in diagnostics. */
int cfg_load_buffer(const char *name, const char *text, size_t len, struct cfg_root **out_cfg,
		    struct cfg_diags *diags) __attribute__((warn_unused_result));

/** Free @cfg (NULL is fine); returns NULL. */
struct cfg_root *cfg_free(struct cfg_root *cfg);

/** Free the diagnostics in @diags and leave it empty. */
void cfg_diags_clear(struct cfg_diags *diags);

/**
 * Format @d as "file:line:column: error: path: message" into @buf (always NUL-terminated).
 * @return the length written (truncated to @size - 1).
 */
size_t cfg_diag_format(const struct cfg_diag *d, char *buf, size_t size);

/** Parse "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53" with @default_port; 0 or CORE_EPARSE. */
int cfg_addr_parse(const char *text, uint16_t default_port, struct cfg_addr *out_addr);

/** Parse "10.0.0.0/8", "2001:db8::/32" or a bare address (/32, /128); 0 or CORE_EPARSE. */
int cfg_cidr_parse(const char *text, struct cfg_cidr *out_cidr);

/**
 * Write @cidr as text ("10.1.0.0/16", "2001:db8::/32") into @buf (always NUL-terminated).
 * @return the length written (truncated to @size - 1); 50 bytes always suffice.
 */
size_t cfg_cidr_format(const struct cfg_cidr *cidr, char *buf, size_t size);

/**
 * Parse a size: a whole number of bytes with an optional unit B, KB, MB, GB (powers of 1000) or
 * KiB, MiB, GiB (powers of 1024), case-insensitive, optionally after spaces: "256MiB".
 * @return 0 with the size in @out_bytes, CORE_EPARSE, or -ERANGE when it does not fit 64 bits.
 */
int cfg_size_parse(const char *text, uint64_t *out_bytes);

/**
 * Parse a duration: "0", or one or more whole numbers each followed by a unit ms, s, m, h or d
 * (lower case, spaces allowed between parts): "500ms", "10s", "1h 30m".
 * @return 0 with the duration in @out_ms, CORE_EPARSE, or -ERANGE when it does not fit 64 bits.
 */
int cfg_duration_parse(const char *text, uint64_t *out_ms);

/** Parse true/false/yes/no/on/off (any case); 0 with the value in @out_value, or CORE_EPARSE. */
int cfg_bool_parse(const char *text, bool *out_value);

/**
 * Read forwarders from @path instead of /etc/resolv.conf when server.forwarders is absent
 * (tests use it). @path is borrowed and must stay valid while configs are loaded; NULL restores
 * the default. Not thread-safe: call it before loading.
 */
void cfg_set_resolv_conf_path(const char *path);
