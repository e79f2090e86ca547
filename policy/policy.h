/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The compiled policy: who a client is (network → group) and what it may resolve.
 *
 * Glossary:
 *  - network: where a client is. CIDR networks come from `networks:` (policy/networks.h); ISP
 *    subscriber ranges from MMDB files (policy/mmdb.h). Longest prefix wins across both; on a
 *    tie the CIDR network wins (it was written by hand), then the earlier MMDB file.
 *  - group: what a client may see: an age preset's categories plus the group's own `block:`,
 *    its schedules, its allow/deny overrides, safe search, the bypass canaries. Every preset
 *    exists as a group even when `groups:` does not name it, so an MMDB record may name one.
 *    A network without a group gets the built-in group "all": every category of every list.
 *  - verdict: the decision for one (client, name) and what took it (the stage), for the
 *    answer, the statistics and `explain`.
 *
 * Order of a decision (pol_decide()):
 *   1. local zones (resolver.arpa: never forwarded)         → LOCAL
 *   2. bypass canaries, unless the group turns them off      → LOCAL (NXDOMAIN)
 *   3. the national list                                     → BLOCK, nothing can allow it
 *   4. the network's allow/deny, then the group's            → PASS / BLOCK
 *   5. the lists, enforcing the group's categories and the
 *      categories its schedules block at this minute         → BLOCK / DROP
 *   6. safe search of the group                              → REWRITE (CNAME to the safe host)
 *   7. otherwise                                             → PASS
 *
 * A policy is immutable once built and lives in the published ruleset (RCU): lookups and
 * decisions take no lock and do not allocate.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "blocklists/set.h"
#include "blocklists/view.h"
#include "config/config.h"
#include "core/buf.h"
#include "policy/decide.h"
#include "policy/mmdb.h"
#include "policy/networks.h"
#include "policy/schedule.h"

/** A group as the policy applies it. */
struct pol_group {
	const char *name; /**< borrowed from the config, or a preset's / "all" */
	unsigned index;
	enum cfg_preset preset;
	uint32_t categories; /**< blocked at all times; the national bit always set */
	uint32_t scheduled; /**< OR of the categories its schedules may block */
	struct pol_schedule *schedule; /**< owned; NULL without schedules */
	struct bl_set *overrides; /**< owned: allow/deny names; NULL without */
	const struct bl_set *safe_search; /**< the policy's strict or moderate table, or NULL */
	enum cfg_safe_search safe_search_level;
	bool canaries; /**< answer the DoH / Private Relay canaries */
	unsigned line; /**< 0 for an implicit group */
};

/** Who a client is: pol_client_lookup()'s result. Borrowed from the policy. */
struct pol_client {
	const struct pol_network *network; /**< CIDR network, or the MMDB file's entry */
	const struct pol_group *group;
	unsigned prefix_len; /**< of the range that matched */
	int mmdb; /**< index of the MMDB file that matched, -1 for a CIDR network */
	uint32_t mmdb_slot; /**< the MMDB record (pol_mmdb_slot_fields()) */
};

/** What took a decision. */
enum pol_stage {
	POL_BY_NOTHING, /**< PASS: nothing matched (or only list entries not enforced) */
	POL_BY_LOCAL_ZONE, /**< a name answered here, never forwarded (resolver.arpa) */
	POL_BY_CANARY, /**< a bypass canary */
	POL_BY_NATIONAL, /**< the national list (block, or its own allow entry) */
	POL_BY_NETWORK_ALLOW,
	POL_BY_NETWORK_DENY,
	POL_BY_GROUP_ALLOW,
	POL_BY_GROUP_DENY,
	POL_BY_LIST, /**< a list entry of a category the group always blocks */
	POL_BY_SCHEDULE, /**< a list entry of a category blocked now by a schedule */
	POL_BY_LIST_ALLOW, /**< an allow entry of a list (AdBlock @@, RPZ passthru) */
	POL_BY_SAFE_SEARCH,
	POL_STAGE_COUNT
};

/** The decision for one (client, name). */
struct pol_verdict {
	/** kind: PASS, BLOCK, DROP, REWRITE or LOCAL; reason, categories and the matching entry
	 * (match.entry indexes @set). */
	struct pol_decision d;
	enum pol_stage by;
	const struct bl_set *set; /**< the set d.match comes from (lists, overrides, built-in) */
	uint32_t enforced; /**< categories enforced for this client at this minute */
	/** PASS: a schedule of the group will block the name later; the answer's TTLs must not
	 * outlive the next change of the schedule (seconds, to the minute). 0: no cap. */
	uint32_t ttl_cap_s;
};

struct pol_policy;

/**
 * Build the policy of @cfg: groups (with their schedules and overrides), CIDR networks, MMDB
 * files (opened and mapped), the built-in tables, the clock of server.timezone.
 * @param err  on failure, one line naming the file or setting and the fix
 * @return 0 and the policy in @out_policy (free with pol_policy_free()); -ENOMEM; an MMDB
 *         file's error (see pol_mmdb_open()); a zone's error (see pol_clock_init()).
 */
int pol_policy_new(const struct cfg_root *cfg, struct pol_policy **out_policy, char *err,
		   size_t errlen) __attribute__((warn_unused_result));

/** Free @p (NULL is fine); returns NULL. */
struct pol_policy *pol_policy_free(struct pol_policy *p);

/**
 * Who client @sa is. @return 0 and @out, or CORE_ENOTFOUND when it is in no network (then:
 * REFUSED). Lock-free, no allocation.
 */
int pol_client_lookup(const struct pol_policy *p, const struct sockaddr *sa,
		      struct pol_client *out);

/** True when some group has schedules (callers then need the minute of the week). */
bool pol_policy_has_schedules(const struct pol_policy *p);

/** The clock of server.timezone. */
const struct pol_clock *pol_policy_clock(const struct pol_policy *p);

/** Local minute of the week at @utc_seconds in the policy's time zone. Pure. */
unsigned pol_policy_minute_of_week(const struct pol_policy *p, int64_t utc_seconds);

/**
 * Decide for client @c and lower-cased wire name @name against the lists' view @lists (the
 * list files' set and the synced lists' layers; may be NULL), at local @minute_of_week. See the order at the top of this file.
 * @return 0 (the int keeps room for stages that can fail).
 */
int pol_decide(const struct pol_policy *p, const struct pol_client *c, const struct bl_view *lists,
	       const uint8_t *name, size_t name_len, unsigned minute_of_week,
	       struct pol_verdict *out);

/**
 * Decide for a name found in an answer (a CNAME/DNAME target) to a query whose verdict was
 * @query: stages 3–5 only (no canaries, no safe search); when an allow override passed the
 * query name, only the national list applies to the chain (allowing a site allows its CDN).
 */
int pol_decide_target(const struct pol_policy *p, const struct pol_client *c,
		      const struct bl_view *lists, const struct pol_verdict *query,
		      const uint8_t *name, size_t name_len, unsigned minute_of_week,
		      struct pol_verdict *out);

/** Number of groups (implicit ones included) and group @i, for `status`. */
size_t pol_policy_group_count(const struct pol_policy *p);
const struct pol_group *pol_policy_group(const struct pol_policy *p, size_t i);

/** The CIDR network table. */
const struct pol_networks *pol_policy_networks(const struct pol_policy *p);

/** Number of MMDB files, and file @i. */
size_t pol_policy_mmdb_count(const struct pol_policy *p);
const struct pol_mmdb *pol_policy_mmdb(const struct pol_policy *p, size_t i);

/** Short name of stage @by ("national list", "group allow", …). */
const char *pol_stage_name(enum pol_stage by);

/**
 * `explain CLIENT DOMAIN`: write to @out, one "key: value" line each, the client's network,
 * group, the schedules in force at @utc_seconds, and the stage, list, entry and rule that
 * decide @name. @cfg is the config the policy was built from (for list files and lines).
 */
void pol_explain(const struct pol_policy *p, const struct cfg_root *cfg,
		 const struct bl_view *lists, const struct sockaddr *client, const uint8_t *name,
		 size_t name_len, int64_t utc_seconds, struct core_buf *out);
