/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Client address → network: the table built from `networks:` (longest prefix wins, IPv4 and
 * IPv6, IPv4-mapped IPv6 clients looked up as IPv4). A client in no network is refused: lanhmanh
 * is never an open resolver. 127.0.0.1 and ::1 always match the built-in "localhost" network so
 * the machine itself can use its resolver.
 *
 * A table is immutable once built and lives inside the published ruleset (RCU), so lookups take
 * no lock.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"

struct pol_group;
struct bl_set;

/** A network as the policy sees it. Borrowed from the table; valid while the table is. */
struct pol_network {
	const char *name;
	const char *id;
	const char *group; /**< NULL when none */
	unsigned index; /**< position in `networks:`; UINT32_MAX for the built-in localhost */
	unsigned line; /**< config line, 0 for the built-in one */
	/* Set by the policy that owns the table (policy/policy.h): */
	const struct pol_group *grp; /**< the group applied */
	struct bl_set *overrides; /**< owned by the policy: allow/deny names, or NULL */
};

struct pol_networks;

/**
 * Build the table from @cfg's networks. The table copies what it keeps; @cfg may be freed after.
 * @return 0 and the table in @out_nets (free with pol_networks_free()), -ENOMEM.
 */
int pol_networks_new(const struct cfg_root *cfg, struct pol_networks **out_nets)
	__attribute__((warn_unused_result));

/** Free @nets (NULL is fine); returns NULL. */
struct pol_networks *pol_networks_free(struct pol_networks *nets);

/**
 * The network of client @sa (AF_INET or AF_INET6), longest prefix first.
 * @return the network, or NULL when the client is in none (then: REFUSED).
 */
const struct pol_network *pol_networks_lookup(const struct pol_networks *nets,
					      const struct sockaddr *sa);

/**
 * As pol_networks_lookup(), and the length of the prefix that matched in @out_len.
 */
const struct pol_network *pol_networks_lookup_len(const struct pol_networks *nets,
						  const struct sockaddr *sa, unsigned *out_len);

/** Network @i (0..count, the last one being the built-in localhost), for its owner to fill
 * the policy fields. */
struct pol_network *pol_networks_entry(struct pol_networks *nets, size_t i);

/** Number of configured networks (the built-in localhost not counted). */
size_t pol_networks_count(const struct pol_networks *nets);
