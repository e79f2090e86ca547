/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The decision for one name: pass, block (with the reason, the category and the entry that
 * decided) or drop. A pure function of the name, the compiled domain set and the categories
 * enforced for the client, so it is tested without sockets and `explain` shows exactly what
 * the resolver does.
 *
 * Rules:
 *  - The most specific matching entry decides ("good.example.vn" allowed under a blocked
 *    "example.vn" passes; "bad.good.example.vn" blocked under it is blocked); at equal
 *    specificity an allow entry beats a block entry.
 *  - The national list is decided on its own and first: only an allow entry of the national
 *    list itself (the authority's exception) passes a national block. Nothing a school or a
 *    group configures can loosen it, and it is enforced whatever @enforced says.
 *  - Other categories block only when enforced for the client; any allow entry passes them.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "blocklists/set.h"
#include "blocklists/view.h"
#include "config/config.h"

enum pol_decision_kind {
	POL_DECISION_PASS,
	POL_DECISION_BLOCK, /**< answer as the action / sinkhole config says */
	POL_DECISION_DROP, /**< no answer at all (RPZ rpz-drop.) */
	POL_DECISION_REWRITE, /**< answer with the entry's CNAME and its target's records (safe
			       * search); not a block */
	POL_DECISION_LOCAL, /**< answered here as the entry's action says (canaries, local
			     * zones); not a block */
	POL_DECISION_COUNT
};

/** Outcome of pol_decide_name(). */
struct pol_decision {
	enum pol_decision_kind kind;
	enum cfg_reason reason; /**< BLOCK/DROP: national list or age policy */
	uint32_t categories; /**< BLOCK/DROP: blocking categories of the deciding entry */
	struct bl_match match; /**< the deciding entry (for PASS: an allow entry, if any) */
	bool matched; /**< false: no entry matched the name at all */
};

#define POL_CATEGORIES_ALL 0xffffffffu

/** Most matches a decision looks at (the most specific ones; a name has rarely more than 4). */
#define POL_DECIDE_MAX_MATCHES 32

/**
 * Decide on the matches @m[0, @n) of one name, in the order bl_set_lookup() and
 * bl_view_lookup() give them (most specific first, block before allow at one level),
 * enforcing the categories in @enforced (bit n: category n; the national bit is always
 * enforced). Only the first POL_DECIDE_MAX_MATCHES count. @out->match is a copy of the
 * deciding match (layer and from_overlay included).
 * @return 0 and the decision in @out (it never fails today).
 */
int pol_decide_matches(const struct bl_match *m, size_t n, uint32_t enforced,
		       struct pol_decision *out);

/**
 * Decide for wire name @name (lower-cased) against @set, enforcing the categories in
 * @enforced (bit n: category n; the national bit is always enforced). @set may be NULL (no
 * lists: pass). @return 0 and the decision in @out (it never fails today; the int return keeps
 * room for group lookups that can).
 */
int pol_decide_name(const struct bl_set *set, const uint8_t *name, size_t name_len,
		    uint32_t enforced, struct pol_decision *out);

/**
 * As pol_decide_name(), against the layered lists of @v (blocklists/view.h); @v may be NULL
 * (no lists: pass). The deciding entry lives in bl_view_match_set(@v, &@out->match).
 */
int pol_decide_view(const struct bl_view *v, const uint8_t *name, size_t name_len,
		    uint32_t enforced, struct pol_decision *out);
