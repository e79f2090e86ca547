/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The compiled domain set: every name of one or more blocklists, immutable once built, looked
 * up label suffix by label suffix ("a.b.example.vn" is checked as itself, "b.example.vn",
 * "example.vn", "vn").
 *
 * Glossary:
 *  - entry: one name with what it means: category bits (which categories list it), the id of the
 *    first list that has it, match flags (the name itself, names below it, or both), an allow
 *    flag (an exception: `@@||name^`, RPZ `rpz-passthru.`) and an RPZ action.
 *  - hot part: what a lookup touches: an open-addressing table of fixed-size slots keyed by a
 *    seeded 64-bit hash of the name. Sized to stay well under 40 bytes per entry.
 *  - cold part: the names themselves and where each came from (list, line), for `explain`,
 *    list diffs and audits. Lookups never read it, so when the set is mapped from its file the
 *    cold pages are not even loaded.
 *  - file form: the set written to disk in a layout that is used as is after mmap(2): a header
 *    (magic, format version, sizes, hash seed, checksum), the hot table, the cold part. A daemon
 *    restart maps the last good file and serves it at once.
 *
 * Names are lower-case, uncompressed wire form ("\x03www\x07example\x02vn\x00"), IDN in their
 * xn-- form. A set is immutable and can be shared by all threads without locks.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Match flags of an entry. */
#define BL_MATCH_SELF 0x01u /**< the name itself */
#define BL_MATCH_BELOW 0x02u /**< every name below it (RPZ "*.name"; domain lists: both) */
#define BL_ALLOW 0x04u /**< an exception: this name is allowed, not blocked */
/**
 * A shadow: an entry that matches nothing (never with BL_MATCH_SELF/BELOW) but exists so that,
 * in a layered lookup (blocklists/view.h), it hides the entry of the same name and variant
 * (block, or allow with BL_ALLOW) of the base set under it: a name deleted by a zone transfer
 * delta. bl_set_lookup() never returns one; bl_set_lookup_raw() and bl_set_find() do.
 */
#define BL_SHADOW 0x08u

/** What an RPZ trigger asks for; BL_ACTION_POLICY means "as the policy decides" (sinkhole). */
enum bl_action {
	BL_ACTION_POLICY = 0,
	BL_ACTION_NXDOMAIN, /**< RPZ CNAME . */
	BL_ACTION_NODATA, /**< RPZ CNAME *. */
	BL_ACTION_PASSTHRU, /**< RPZ CNAME rpz-passthru. (stored with BL_ALLOW) */
	BL_ACTION_DROP, /**< RPZ CNAME rpz-drop. */
	BL_ACTION_LOCAL_DATA, /**< RPZ A/AAAA records: answer with them */
};

/** Most categories a set distinguishes (bit numbers 0..31). Bit 0 is the national list. */
#define BL_MAX_CATEGORIES 32
#define BL_CATEGORY_NATIONAL 0u
/** Most lists one set holds (list ids 0..BL_MAX_LISTS-1). */
#define BL_MAX_LISTS 1024

/** One matching entry, as a lookup returns it. Plain values; nothing points into the set. */
struct bl_match {
	uint32_t categories; /**< bit n set: category n lists this name */
	uint16_t list_id; /**< first list (lowest id) that has the name */
	uint8_t flags; /**< BL_MATCH_* and BL_ALLOW of the entry */
	uint8_t action; /**< enum bl_action */
	uint8_t labels_below; /**< 0: the query name itself matched; n: matched n labels up */
	uint8_t layer; /**< layer of a view (blocklists/view.h) it came from; 0 from a set */
	uint8_t from_overlay; /**< 1: from that layer's overlay set, 0: from its base set */
	uint32_t entry; /**< entry number, for bl_set_entry_source() and bl_set_local_data() of the
			 * set it came from (bl_view_match_set() for a view's matches) */
};

struct bl_set;
struct bl_builder;

/** Where an entry came from. */
struct bl_source {
	uint16_t list_id;
	uint32_t line; /**< line in the list file (or 0 when not from a file) */
	const uint8_t *name; /**< the entry's wire name, pointing into the set */
	size_t name_len;
};

/**
 * Start a set. @max_entries bounds the builder (CORE_ELIMIT beyond it).
 * @return the builder, or NULL when out of memory.
 */
struct bl_builder *bl_builder_new(size_t max_entries);

/** Free @b and everything added (NULL is fine); returns NULL. */
struct bl_builder *bl_builder_free(struct bl_builder *b);

/**
 * Name list @list_id (0..BL_MAX_LISTS-1) "@name", stored in the set for reports.
 * @return 0, -EINVAL, -ENOMEM.
 */
int bl_builder_set_list_name(struct bl_builder *b, uint16_t list_id, const char *name);

/**
 * Add an entry. Adding a name again (from the same or another list) merges: categories and
 * match flags are OR-ed, the lowest list id and its line are kept, an allow entry and a block
 * entry for the same name are kept apart (both are found by lookups). The action and local data
 * are those of the kept list (on a tie, of the first add); local data added again for the same
 * name by the same list with BL_ACTION_LOCAL_DATA is appended (RPZ has one record per line).
 *
 * A shadow (BL_SHADOW) merged with a real entry of the same name and variant gives way to it
 * (the real entry replaces it whole: categories, list, line, action, data); shadows merged
 * with each other OR their categories.
 *
 * @param name  lower-cased wire name (the caller normalises), at most 255 bytes.
 * @param flags BL_MATCH_SELF and/or BL_MATCH_BELOW, optionally BL_ALLOW; or BL_SHADOW alone or
 *              with BL_ALLOW (no local data then).
 * @param data  for BL_ACTION_LOCAL_DATA: A/AAAA records as (type, rdata) pairs in wire form
 *              (type u16, rdlength u16, rdata), or NULL; copied. At most 65535 bytes per entry
 *              (CORE_ELIMIT beyond, counting what is appended).
 * @return 0, -EINVAL (bad name, flags, list id, action, or data that is not whole records or is
 *         given with another action), CORE_ELIMIT (@max_entries, or 4 GiB of names or data),
 *         -ENOMEM. On error the builder is unchanged.
 */
int bl_builder_add(struct bl_builder *b, const uint8_t *name, size_t name_len,
		   uint32_t categories, uint16_t list_id, uint8_t flags, enum bl_action action,
		   uint32_t line, const uint8_t *data, size_t data_len)
	__attribute__((warn_unused_result));

/**
 * Number of distinct entries so far. Adds are checked for duplicates in small batches; this
 * merges the pending ones first, so call it now and then rather than after every add.
 */
size_t bl_builder_count(const struct bl_builder *b);

/**
 * Compile what was added into an immutable set (in memory). The builder stays usable.
 * The in-memory set has the same bytes as its file (bl_set_write() writes them as they are).
 * @return 0 and the set in @out_set (release with bl_set_unref()), -ENOMEM, CORE_ELIMIT (names
 *         and local data over 4 GiB).
 */
int bl_builder_finish(struct bl_builder *b, struct bl_set **out_set)
	__attribute__((warn_unused_result));

/** Write @set to @path atomically (temporary file, fsync, rename). @return 0 or -errno. */
int bl_set_write(const struct bl_set *set, const char *path) __attribute__((warn_unused_result));

/**
 * Map the set file at @path. Every header field and offset is checked before use, and the
 * checksum of the hot part is verified, so a truncated or corrupt file is refused.
 * @return 0 and the set in @out_set, -errno, CORE_EPARSE (not a set file, wrong version,
 *         corrupt).
 */
int bl_set_open(const char *path, struct bl_set **out_set) __attribute__((warn_unused_result));

/**
 * As bl_set_open(), on the set file image @buf of @len bytes, which is borrowed: it must stay
 * valid and unchanged until the set's last reference is dropped. For tests and fuzzing.
 * @return 0 and the set in @out_set, -EINVAL (@buf not 8-byte aligned), -ENOMEM, CORE_EPARSE.
 */
int bl_set_open_buffer(const void *buf, size_t len, struct bl_set **out_set)
	__attribute__((warn_unused_result));

/**
 * Verify the checksum of the cold part (sources, names, local data), which bl_set_open() does
 * not read so that its pages stay on disk. Reads every cold page (for audits and `check`
 * commands, not for the serving path). Cold reads are bounds-checked in any case: a corrupt
 * cold part gives wrong or missing sources, never a crash.
 * @return 0 or CORE_EPARSE.
 */
int bl_set_verify(const struct bl_set *set) __attribute__((warn_unused_result));

/** Take a reference on @set (any thread). */
struct bl_set *bl_set_ref(struct bl_set *set);
/** Drop a reference; the last one frees or unmaps the set. NULL is fine. Returns NULL. */
struct bl_set *bl_set_unref(struct bl_set *set);

/**
 * Every entry matching wire name @name: the name itself (entries with BL_MATCH_SELF) and each
 * of its parents (entries with BL_MATCH_BELOW), most specific first, allow entries included
 * (for the same name, the block entry comes before the allow entry). ASCII letters match
 * regardless of case. A malformed @name matches nothing. Shadow entries (BL_SHADOW) are never
 * returned. No allocation, no lock.
 *
 * Names are compared by a seeded 64-bit fingerprint, not byte by byte: no two entries of a set
 * share one (the builder reseeds if they would), and a name that is not in the set matches an
 * entry with a probability of 2^-63 per fingerprint compared.
 *
 * @return the number of matches found (possibly more than @max: only @max are written).
 */
size_t bl_set_lookup(const struct bl_set *set, const uint8_t *name, size_t name_len,
		     struct bl_match *out, size_t max);

/**
 * Every entry whose name is @name or one of its parents, whatever its flags (shadows and
 * self-only parents included), in the order of bl_set_lookup(), with labels_below as there.
 * For layered lookups (blocklists/view.h), which must see what an overlay hides.
 * @return the number of entries found (possibly more than @max: only @max are written).
 */
size_t bl_set_lookup_raw(const struct bl_set *set, const uint8_t *name, size_t name_len,
			 struct bl_match *out, size_t max);

/**
 * The entry of exactly @name (wire, any case), the block one or with @allow the allow one,
 * whatever its flags (a shadow too); labels_below 0.
 * @return 0, or CORE_ENOTFOUND (also for a malformed name).
 */
int bl_set_find(const struct bl_set *set, const uint8_t *name, size_t name_len, bool allow,
		struct bl_match *out);

/** Number of entries. */
size_t bl_set_count(const struct bl_set *set);

/**
 * Entry numbers are below this bound, but not dense: numbers without an entry give
 * CORE_ENOTFOUND, so iterating 0..limit-1 visits every entry (for diffs and audits).
 */
size_t bl_set_entry_limit(const struct bl_set *set);

/**
 * The hot fields of entry @entry, as a lookup of its own name returns them (labels_below 0);
 * shadows too (flags BL_SHADOW, maybe with BL_ALLOW), which lookups never return.
 * @return 0 or CORE_ENOTFOUND.
 */
int bl_set_entry(const struct bl_set *set, uint32_t entry, struct bl_match *out);

/**
 * Where entry @entry came from (touches the cold part).
 * @return 0, CORE_ENOTFOUND, CORE_EPARSE (its cold record is corrupt; see bl_set_verify()).
 */
int bl_set_entry_source(const struct bl_set *set, uint32_t entry, struct bl_source *out);

/**
 * RPZ local data of entry @entry, in the form given to bl_builder_add(); NULL (and 0 in
 * @out_len) when none. Points into the set: valid while the caller holds a reference.
 */
const uint8_t *bl_set_local_data(const struct bl_set *set, uint32_t entry, size_t *out_len);

/** Name of list @list_id, or NULL. */
const char *bl_set_list_name(const struct bl_set *set, uint16_t list_id);

/** Memory and file figures, for `status` and the benchmark. */
struct bl_set_stats {
	size_t entries;
	size_t hot_bytes; /**< what lookups touch */
	size_t cold_bytes; /**< names and sources */
	bool mapped; /**< from a file (cold pages load only when read) */
};
void bl_set_get_stats(const struct bl_set *set, struct bl_set_stats *out);
