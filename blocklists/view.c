/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Layered lookups (view.h). Each layer is probed level by level (the name itself, then each
 * parent), its base and its overlay at the same level, so that an overlay entry can hide the
 * base entry of its name (bl_set_lookup_layer() in set.c, where the probes inline); matches are
 * inserted into the output in (level, block/allow, layer) order, which keeps the first @max of
 * them without any buffer of our own.
 */
#include "blocklists/view.h"

#include <errno.h>
#include <stdbool.h>

#include "blocklists/internal.h"
#include "core/alloc.h"

struct layer {
	struct bl_set *base;	/**< referenced, or NULL */
	struct bl_set *overlay; /**< referenced, or NULL (an empty one is never probed) */
};

struct bl_view {
	size_t n;
	/** One layer, no overlay entries: a lookup is the base's bl_set_lookup(). */
	bool single;
	size_t count;
	struct layer layers[BL_VIEW_MAX_LAYERS];
};

int bl_view_new(struct bl_set *const *bases, struct bl_set *const *overlays, size_t n,
		struct bl_view **out)
{
	struct bl_view *v;

	if (n > BL_VIEW_MAX_LAYERS || (n > 0 && !bases) || !out)
		return -EINVAL;
	v = core_calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->n = n;
	for (size_t i = 0; i < n; i++) {
		struct layer *ly = &v->layers[i];

		ly->base = bl_set_ref(bases[i]);
		ly->overlay = overlays ? bl_set_ref(overlays[i]) : NULL;
		v->count += (ly->base ? bl_set_count(ly->base) : 0) +
			    (ly->overlay ? bl_set_count(ly->overlay) : 0);
	}
	v->single = n == 1 && !(v->layers[0].overlay && bl_set_count(v->layers[0].overlay) > 0);
	*out = v;
	return 0;
}

struct bl_view *bl_view_free(struct bl_view *v)
{
	if (!v)
		return NULL;
	for (size_t i = 0; i < v->n; i++) {
		bl_set_unref(v->layers[i].base);
		bl_set_unref(v->layers[i].overlay);
	}
	return core_free(v);
}

size_t bl_view_lookup(const struct bl_view *v, const uint8_t *name, size_t name_len,
		      struct bl_match *out, size_t max)
{
	size_t found = 0;

	if (v->single)
		return bl_set_lookup(v->layers[0].base, name, name_len, out, max);
	for (unsigned i = 0; i < v->n; i++)
		found = bl_set_lookup_layer(v->layers[i].base, v->layers[i].overlay, i, name,
					    name_len, out, max, found);
	return found;
}

const struct bl_set *bl_view_match_set(const struct bl_view *v, const struct bl_match *m)
{
	if (!v || !m || m->layer >= v->n)
		return NULL;
	return m->from_overlay ? v->layers[m->layer].overlay : v->layers[m->layer].base;
}

const char *bl_view_list_name(const struct bl_view *v, uint16_t list_id)
{
	for (size_t i = 0; i < v->n; i++) {
		const char *name = NULL;

		if (v->layers[i].base)
			name = bl_set_list_name(v->layers[i].base, list_id);
		if (!name && v->layers[i].overlay)
			name = bl_set_list_name(v->layers[i].overlay, list_id);
		if (name)
			return name;
	}
	return NULL;
}

size_t bl_view_count(const struct bl_view *v)
{
	return v->count;
}

size_t bl_view_layers(const struct bl_view *v)
{
	return v->n;
}
