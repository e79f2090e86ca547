/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The delta of a list synced by zone transfer: what the IXFRs received since its base (the set
 * compiled from the last AXFR) changed, kept apart from the base so that a delta is applied in
 * time proportional to its size and published as a small set over the unchanged base
 * (blocklists/view.h layers the two).
 *
 * Glossary:
 *  - entry: a (name, variant) as in a set: the block entry or the allow entry (BL_ALLOW,
 *    `rpz-passthru.`) of one name, kept apart as the builder keeps them.
 *  - owner: an RPZ trigger owner name maps to an entry and a match flag: "x" is BL_MATCH_SELF
 *    of entry x, "*.x" is BL_MATCH_BELOW of entry x. The overlay keeps each entry's two owners
 *    apart (presence, action, local data), which is what makes a removal exact: taking away
 *    "*.x CNAME ." leaves "x" as it was, removing one of two "w A" records leaves "w" with the
 *    other.
 *  - touched entry: one that some IXFR changed since the base; its complete current state is
 *    in the overlay, which wins over the base's entry of the same name and variant. An entry
 *    with neither owner left is a deletion, compiled as a shadow (BL_SHADOW) that hides the
 *    base entry.
 *
 * From owners to an entry (what bl_overlay_compile() writes): match flags are the owners
 * present; the action is the name's own ("x") when both are present, else the one present
 * (what a set compiled from the zone in canonical order, the order of an AXFR, gives); local
 * data is the union of the records of the present owners that have local data, when that
 * action is local data. A base entry (or a compiled overlay entry, after a restart) that has
 * both owners is taken as both owners having its action and all its local data: the set form
 * does not say which record came with which owner.
 *
 * Thread context: an overlay is mutable and belongs to one thread (the control thread); what
 * crosses threads is the immutable set bl_overlay_compile() makes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "blocklists/set.h"

/** Most touched entries an overlay holds (CORE_ELIMIT beyond: time for a fresh AXFR). */
#define BL_OVERLAY_MAX_ENTRIES (1u << 22)

struct bl_overlay;

/**
 * An empty overlay (no entry touched) over @base for list @list_id named @list_name, whose
 * entries have @categories, for the RPZ zone @origin ("rpz.national.vn.").
 *
 * @param base borrowed: must stay valid until the overlay is freed; NULL for an empty base.
 * @return the overlay, or NULL when out of memory or when @origin is not a name, @list_id is
 *         not below BL_MAX_LISTS, @list_name is NULL.
 */
struct bl_overlay *bl_overlay_new(const struct bl_set *base, uint16_t list_id,
				  const char *list_name, uint32_t categories, const char *origin);

/** Free @o (NULL is fine). Returns NULL. */
struct bl_overlay *bl_overlay_free(struct bl_overlay *o);

/**
 * Apply one IXFR difference sequence: the RRs @removed, then the RRs @added, each one record in
 * presentation format with an absolute owner name (as ldns_rr2str() gives them; a trailing
 * newline is accepted). Records at the zone apex (SOA, NS) and types RPZ gives no meaning to are
 * ignored; so are IP triggers (`rpz-ip`), which a name set does not hold.
 *
 * Every entry touched gets its complete new state, from its previous one (the overlay's, else
 * the base's entry of that exact name and variant, else none): a removed CNAME takes its owner
 * away, a removed A/AAAA record (or CNAME to a name: local data) takes that record away and the
 * owner with its last record; an added CNAME replaces its owner, an added record joins the
 * owner's records (replacing a CNAME action). Records are compared as (type, rdata) bytes.
 * Removing what is not there is not an error. Entries left with no owner that the base does
 * not have either are dropped from the overlay.
 *
 * All or nothing: on any error the overlay is unchanged (the caller then transfers the zone
 * again by AXFR).
 *
 * @param err    on CORE_EPARSE, what is wrong and with which record ("removed RR 2: …"); may
 *               be NULL.
 * @return 0, -EINVAL (NULL arguments), -ENOMEM, CORE_EPARSE (a record the RPZ parser refuses,
 *         or not one record per line), CORE_ELIMIT (BL_OVERLAY_MAX_ENTRIES, or over 65535
 *         bytes of local data for one entry).
 */
int bl_overlay_apply(struct bl_overlay *o, const char *const *removed, size_t n_removed,
		     const char *const *added, size_t n_added, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/** Number of touched entries (deletions included). */
size_t bl_overlay_count(const struct bl_overlay *o);

/**
 * Compile the current state into an immutable set: one entry per touched entry, under the
 * overlay's list id and name, with line 0 as source; deletions are shadows (BL_SHADOW, with
 * BL_ALLOW for the allow variant).
 * @return 0 and the set in @out_set (release with bl_set_unref()), -ENOMEM, CORE_ELIMIT.
 */
int bl_overlay_compile(const struct bl_overlay *o, struct bl_set **out_set)
	__attribute__((warn_unused_result));

/**
 * Rebuild an overlay from the set @compiled that bl_overlay_compile() made (after a restart,
 * mapped again from its file), over @base, with the arguments of bl_overlay_new(). Its compile
 * answers lookups as @compiled does. @compiled is only read during the call.
 * @return 0 and the overlay in @out, -EINVAL (bad arguments, or an entry of @compiled from
 *         another list), -ENOMEM, CORE_EPARSE (@compiled's cold part is corrupt), CORE_ELIMIT.
 */
int bl_overlay_from_set(const struct bl_set *base, const struct bl_set *compiled, uint16_t list_id,
			const char *list_name, uint32_t categories, const char *origin,
			struct bl_overlay **out) __attribute__((warn_unused_result));
