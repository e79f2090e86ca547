/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A layered lookup over compiled sets: what the resolver asks when some lists are synced by zone
 * transfer and carry a delta (blocklists/overlay.h) over their base.
 *
 * Glossary:
 *  - layer: a (base set, overlay set or none) pair. Layer 0 is the set compiled from the
 *    ordinary list files (no overlay); then one layer per synced list: its base (compiled from
 *    the last AXFR) and its overlay (compiled from the IXFRs since).
 *  - hiding: within one layer, an overlay entry replaces the base entry of the same name and
 *    variant (block, or allow with BL_ALLOW), whatever its flags: an overlay entry with fewer
 *    match flags narrows the base entry, a shadow (BL_SHADOW) deletes it. A layer never hides
 *    anything of another layer.
 *
 * A view is immutable, holds a reference on each of its sets and is shared by all threads
 * without locks, like a set; lookups allocate nothing.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "blocklists/set.h"

/** Most layers of a view (bl_match.layer is below this). */
#define BL_VIEW_MAX_LAYERS 16

struct bl_view;

/**
 * A view over @n layers: layer i is (@bases[i], @overlays[i]). Either set of a layer may be
 * NULL (a list with no base yet, a layer without overlay); @overlays may be NULL for none at
 * all. The view takes a reference on every set (the caller keeps its own).
 * @return 0 and the view in @out (free with bl_view_free()), -EINVAL (@n over
 *         BL_VIEW_MAX_LAYERS, NULL @bases with @n > 0), -ENOMEM.
 */
int bl_view_new(struct bl_set *const *bases, struct bl_set *const *overlays, size_t n,
		struct bl_view **out) __attribute__((warn_unused_result));

/** Drop the view's references and free it (NULL is fine). Returns NULL. */
struct bl_view *bl_view_free(struct bl_view *v);

/**
 * Every entry matching wire name @name across the layers, as bl_set_lookup() returns them for
 * one set: most specific first; at one level, block entries before allow entries, each in
 * layer order. In each layer, a base entry is left out when the layer's overlay has an entry
 * of the same name and variant (it hides it), and overlay entries count when their flags
 * match (BL_MATCH_SELF for the name itself, BL_MATCH_BELOW for its parents; a shadow never).
 * Each match says where it came from: bl_match.layer, and bl_match.from_overlay (1: the
 * layer's overlay set, 0: its base set); bl_match.entry is an entry of that set.
 *
 * A view of one layer without overlay (or with an empty one) costs one bl_set_lookup(). No
 * allocation, no lock. @v must not be NULL.
 *
 * @return the number of matches (possibly more than @max: only the first @max are written).
 */
size_t bl_view_lookup(const struct bl_view *v, const uint8_t *name, size_t name_len,
		      struct bl_match *out, size_t max);

/**
 * The set match @m (from bl_view_lookup() on @v) lives in, for bl_set_local_data(),
 * bl_set_entry_source() and bl_set_list_name(); borrowed, valid while @v is. NULL when @m does
 * not come from @v.
 */
const struct bl_set *bl_view_match_set(const struct bl_view *v, const struct bl_match *m);

/** Name of list @list_id in the first layer (base, then overlay) that names it, or NULL. */
const char *bl_view_list_name(const struct bl_view *v, uint16_t list_id);

/** Entries of all the sets of @v, bases and overlays (shadows included). */
size_t bl_view_count(const struct bl_view *v);

/** Number of layers of @v. */
size_t bl_view_layers(const struct bl_view *v);
