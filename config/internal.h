/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private to config/: the loading context shared by the section loaders, the diagnostics
 * helpers and the YAML node helpers.
 *
 * Glossary:
 *   node     a libyaml document node (scalar, sequence or mapping); it stays valid while the
 *            document is loaded, i.e. for the whole of one cfg_load_buffer() call.
 *   path     the key path of the node being checked, "networks[2].cidr[0]", kept in the context
 *            while the loaders descend; diagnostics copy it.
 *   budget   how many more nodes the loaders may visit. Aliases can make a small document look
 *            huge ("billion laughs"); the budget bounds the work and memory of one load.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "config/config.h"

/** Longest key path kept; longer paths are cut (the schema never needs that much). */
#define CFG_PATH_MAX 160
/** At most this many diagnostics per load; the last one says that more were dropped. */
#define CFG_MAX_DIAGS 200
/** Room for one value quoted into a message by cfg_quote(). */
#define CFG_QUOTE_MAX 100
/** At most this many addresses in one list (listen, forwarders); also caps resolv.conf. */
#define CFG_ADDRS_MAX 64

/** State of one load. Lives on the stack of cfg_load_buffer(). */
struct cfg_ctx {
	const char *file; /**< name used in diagnostics (borrowed) */
	const char *text; /**< the source text, to place reader errors (borrowed) */
	size_t len;
	yaml_document_t *doc;	 /**< the loaded document, or NULL before/after */
	struct cfg_diags *diags; /**< where diagnostics go (borrowed) */
	size_t first_diag;	 /**< diags->v index where this load's diagnostics start */
	size_t n_errors;	 /**< errors of this load, including dropped ones */
	bool oom;		 /**< an allocation failed: the load ends with -ENOMEM */
	bool over_budget;	 /**< the budget ran out and that was reported */
	uint64_t budget;	 /**< node visits left (see glossary) */
	char path[CFG_PATH_MAX]; /**< current key path, NUL-terminated */
	size_t path_len;
	struct cfg_root *root; /**< the config being built, owned by cfg_load_buffer() */
};

/** One recognised key of a mapping, for cfg_map_get(). */
struct cfg_key {
	const char *name;
	/** non-NULL: a key of a later version; the text says so, after the key's name */
	const char *future;
};

/** What cfg_map_get() found for one struct cfg_key: both NULL when the key is absent. */
struct cfg_kv {
	yaml_node_t *key;
	yaml_node_t *value;
};

/* diag.c */

/** Add a diagnostic with an explicit position (@line 0: none) and @path. */
void cfg_diag_add(struct cfg_ctx *ctx, bool warning, const char *file, unsigned line,
		  unsigned column, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/** Add an error at @node (NULL: no position) under the current path. */
void cfg_error(struct cfg_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Add a warning at @node (NULL: no position) under the current path. */
void cfg_warn(struct cfg_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Sort this load's diagnostics into file order (stable). */
void cfg_diags_sort(struct cfg_ctx *ctx);

/** Append ".key" (or "key" at the top) to the path; returns the length to restore. */
size_t cfg_path_push_key(struct cfg_ctx *ctx, const char *key);
/** Append "[index]" to the path; returns the length to restore. */
size_t cfg_path_push_index(struct cfg_ctx *ctx, size_t index);
/** Cut the path back to @len, as returned by a push. */
void cfg_path_pop(struct cfg_ctx *ctx, size_t len);

/**
 * Copy @s into @buf for quoting in a message: control bytes become \xHH, and a long value is
 * cut (on a UTF-8 character boundary) and ends with "...". @size should be CFG_QUOTE_MAX.
 * @return @buf.
 */
const char *cfg_quote(const char *s, char *buf, size_t size);

/* node.c */

/** The node with @id in the current document, or NULL. */
yaml_node_t *cfg_node(struct cfg_ctx *ctx, int id);
/** Spend one visit of @node; false (after one error at @node) when the budget is exhausted. */
bool cfg_spend(struct cfg_ctx *ctx, const yaml_node_t *node);
/** True for an empty plain scalar, "~" or "null": the key is treated as absent. */
bool cfg_node_is_null(const yaml_node_t *node);
/** "a list", "a mapping" or "a string", for "expected X, got Y" messages. */
const char *cfg_node_kind(const yaml_node_t *node);
/**
 * The text of scalar @node, or NULL after an error "expected @expected, got a list" (or a
 * string with a NUL character in it).
 */
const char *cfg_scalar(struct cfg_ctx *ctx, const yaml_node_t *node, const char *expected);

/**
 * Look up the keys of mapping @map: @out[i] receives key and value of @keys[i].
 * Reports non-scalar keys, duplicate keys and unknown keys (naming the valid ones); does not
 * report keys with a .future text (see cfg_map_report_future()).
 * @param what  what the mapping holds, for "expected @what, got a list".
 * @return false (after an error) when @map is not a mapping; @out is then all NULL.
 */
bool cfg_map_get(struct cfg_ctx *ctx, yaml_node_t *map, const char *what,
		 const struct cfg_key *keys, size_t n_keys, struct cfg_kv *out);
/** Report an error for each key of a later version present in @kv. */
void cfg_map_report_future(struct cfg_ctx *ctx, const struct cfg_key *keys, size_t n_keys,
			   const struct cfg_kv *kv);

/**
 * The name of @names (@n of them, NULL entries skipped) closest to @name when it is close enough
 * to be a likely typo of it (the rule of unknown keys' "did you mean"), or NULL.
 */
const char *cfg_suggest(const char *name, const char *const *names, size_t n);
/**
 * Write @names (@n of them, NULL entries skipped) into @buf as "a, b, c"; when they do not fit,
 * the list ends with "..." after the last name that fits. @return @buf.
 */
const char *cfg_join(char *buf, size_t size, const char *const *names, size_t n);

/** Parse a decimal number without sign; 0, CORE_EPARSE, or -ERANGE above UINT64_MAX. */
int cfg_uint_parse(const char *s, uint64_t *out_value);
/**
 * As cfg_addr_parse(), and on failure set @out_why to the end of a message that starts with
 * the quoted text (e.g. "has no valid port; expected 1-65535").
 */
int cfg_addr_parse_why(const char *text, uint16_t default_port, struct cfg_addr *out_addr,
		       const char **out_why);

/** Outcome of cfg_cidr_check(). */
enum cfg_cidr_status {
	CFG_CIDR_OK,
	CFG_CIDR_BAD_ADDRESS, /**< not an IPv4 or IPv6 address */
	CFG_CIDR_BAD_PREFIX,  /**< prefix missing its digits, or out of range for the family */
	CFG_CIDR_HOST_BITS,   /**< bits set after the prefix; the masked CIDR is returned */
};

/**
 * Parse @text as a CIDR. On CFG_CIDR_OK and CFG_CIDR_HOST_BITS, @out_cidr holds the CIDR with
 * the host bits cleared (the suggestion for the latter); on CFG_CIDR_BAD_PREFIX its family is
 * set.
 */
enum cfg_cidr_status cfg_cidr_check(const char *text, struct cfg_cidr *out_cidr);

/* server.c: value loaders shared by the sections */

/** Range and meaning of one duration key. */
struct cfg_duration_spec {
	uint64_t min_ms, max_ms;
	bool whole_seconds; /**< stored in seconds: "500ms" is refused */
	bool can_disable;   /**< "0", "off" and false mean 0 (disabled) */
	uint64_t on_ms;	    /**< value for "on"/true when can_disable */
};

/** A whole number in [@min, @max]; false after an error at @node. */
bool cfg_get_uint(struct cfg_ctx *ctx, yaml_node_t *node, uint64_t min, uint64_t max,
		 uint64_t *out_value);
/** A duration within @spec; false after an error at @node. */
bool cfg_get_duration(struct cfg_ctx *ctx, yaml_node_t *node, const struct cfg_duration_spec *spec,
		      uint64_t *out_ms);
/** A boolean into @out (unchanged after an error). */
void cfg_load_bool(struct cfg_ctx *ctx, yaml_node_t *node, bool *out);
/** An absolute path (longer than @max_len, when not 0, is an error) into a new string. */
void cfg_load_path(struct cfg_ctx *ctx, yaml_node_t *node, const char *example, size_t max_len,
		   char **out);
/** One address or a list of them (port 53 by default) into a new array. */
void cfg_load_addrs(struct cfg_ctx *ctx, yaml_node_t *node, const char *example, bool dup_is_error,
		    struct cfg_addr **out_addrs, size_t *out_n);

/* server.c, networks.c, sinkhole.c, lists.c */

/** Load `server:` (@node NULL when absent; @key is its key, for positions) into ctx->root. */
void cfg_server_load(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node);
/** Load `networks:` (@node NULL when absent) into ctx->root. */
void cfg_networks_load(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node);
/** Load `sinkhole:` (@node NULL when absent: defaults) into ctx->root. */
void cfg_sinkhole_load(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node);
/** Load `lists:` (@node NULL when absent: no lists) into ctx->root; sets the categories. */
void cfg_lists_load(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node);

/** Load `groups:` (@node NULL when absent: no groups) into ctx->root; after the lists. */
void cfg_groups_load(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node);
/** Load `compliance:` (@node NULL when absent: off) into ctx->root; after `server:`. */
void cfg_compliance_load(struct cfg_ctx *ctx, yaml_node_t *key, yaml_node_t *node);
/** Check that each network's group is a group of ctx->root or a preset; after the groups. */
void cfg_networks_check_groups(struct cfg_ctx *ctx);

/* domains.c: the allow/deny lists of groups and networks */

/** At most this many names in one allow or deny list. */
#define CFG_DOMAINS_MAX 10000

/**
 * Load the `allow:` and `deny:` values @allow and @deny (each NULL when absent; a list of names
 * or a single one) under the current path into new arrays. A repeat within a list is warned
 * about and dropped; a name in both lists is an error.
 */
void cfg_load_allow_deny(struct cfg_ctx *ctx, yaml_node_t *allow, yaml_node_t *deny,
			 struct cfg_domain **out_allow, size_t *out_n_allow,
			 struct cfg_domain **out_deny, size_t *out_n_deny);
/** Free the @n names of @v and @v itself (NULL is fine). */
void cfg_domains_free(struct cfg_domain *v, size_t n);

/* resolv.c */

/**
 * The listen address of @srv through which forwarding to @a would reach this resolver itself:
 * @a equal to a listen address, or a loopback address while listening on the wildcard address
 * of the same family and port. NULL when there is none.
 */
const struct cfg_addr *cfg_addr_own_listener(const struct cfg_server *srv,
					     const struct cfg_addr *a);
/** The resolv.conf file used when server.forwarders is absent (see cfg_set_resolv_conf_path). */
const char *cfg_resolv_conf_path(void);
/**
 * Append the usable `nameserver` lines of the resolv.conf file to @srv's forwarders, skipping
 * (with a warning) bad ones and those that are the resolver's own listen addresses. @srv's
 * listen addresses must be set.
 * @return 0 (even when the file has no nameserver), -errno when it cannot be read, -ENOMEM.
 */
int cfg_resolv_conf_load(struct cfg_ctx *ctx, struct cfg_server *srv);
