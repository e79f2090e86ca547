/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The name tables built into the policy, as plain data plus builders that compile them into
 * domain sets (policy/README-builtin.md says where each name comes from and how to update it).
 *
 * Glossary:
 *  - safe-search rewrite: an exact search-engine host name answered with a CNAME to the host the
 *    engine documents for network-enforced safe search (www.google.com.vn →
 *    forcesafesearch.google.com). Applied per group (`safe_search`).
 *  - bypass canary: a name whose negative answer tells browsers and phones to stop bypassing
 *    the network's resolver (Firefox's DoH canary, iCloud Private Relay).
 *  - local zone: a special-use name a resolver answers itself and never forwards
 *    (resolver.arpa, localhost, invalid, onion).
 *  - bypass names: public DoH/DoT resolver host names and bypass-tool API hosts, the built-in part
 *    of the proxy_vpn_doh category.
 *
 * Every builder is a pure function of the tables: callable from any thread, the result owned by
 * the caller (release with bl_set_unref()). Each set holds one list, id 0, with categories 0.
 */
#pragma once

#include <stddef.h>

#include "blocklists/set.h"

/** How strict the rewrites are. Only YouTube has two levels; the other engines have one. */
enum pol_safe_level {
	POL_SAFE_MODERATE, /**< YouTube → restrictmoderate.youtube.com */
	POL_SAFE_STRICT,   /**< YouTube → restrict.youtube.com */
};

/**
 * Compile the safe-search rewrites of @level into a set: each entry exact (BL_MATCH_SELF),
 * action BL_ACTION_LOCAL_DATA, local data one CNAME record (type 5, rdata the target's wire
 * name), list id 0 named "safe-search", categories 0.
 *
 * @return 0 and the set in @out_set (caller owns; bl_set_unref()), -ENOMEM, or -EINVAL for an
 *         unknown @level or a broken built-in table (a bug: aborts in debug builds).
 */
int pol_builtin_safe_search(enum pol_safe_level level, struct bl_set **out_set)
	__attribute__((warn_unused_result));

/**
 * Compile the bypass canaries (use-application-dns.net, mask.icloud.com, mask-h2.icloud.com)
 * into a set: each exact (BL_MATCH_SELF), action BL_ACTION_NXDOMAIN, list id 0 named
 * "bypass-canary", categories 0.
 *
 * @return 0 and the set in @out_set (caller owns), -ENOMEM, -EINVAL (broken table, a bug).
 */
int pol_builtin_canaries(struct bl_set **out_set) __attribute__((warn_unused_result));

/**
 * Compile the special-use names answered here and never forwarded into a set, list id 0 named
 * "local-zone", categories 0, each entry BL_MATCH_SELF | BL_MATCH_BELOW:
 *  - resolver.arpa (RFC 9462 DDR; no designated resolvers offered): BL_ACTION_NODATA;
 *  - localhost (RFC 6761 §6.3): BL_ACTION_LOCAL_DATA with A 127.0.0.1 and AAAA ::1 (other
 *    types get NODATA from the synthesiser);
 *  - invalid (RFC 6761 §6.4) and onion (RFC 7686): BL_ACTION_NXDOMAIN.
 *
 * @return 0 and the set in @out_set (caller owns), -ENOMEM, -EINVAL (broken table, a bug).
 */
int pol_builtin_local_zones(struct bl_set **out_set) __attribute__((warn_unused_result));

/**
 * The built-in names of the proxy_vpn_doh category, in presentation form, lower case, without a
 * final dot, no duplicates. Each is meant as BL_MATCH_SELF | BL_MATCH_BELOW (the name and every
 * name below it); the resolver's list compiler adds them as a built-in list.
 *
 * @param out_n  the number of names.
 * @return the static table (never NULL; valid for the life of the program).
 */
const char *const *pol_builtin_bypass_names(size_t *out_n);
