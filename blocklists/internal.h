/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private to blocklists/ (and its tests): the byte layout of a compiled set, which is the same in
 * memory and in its file (see README.md, "File format").
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/set.h"

#define BL_FILE_MAGIC "LMBLSET1"
#define BL_FILE_VERSION 1u
/** Written as a native u32; read back as anything else, the file is from another byte order. */
#define BL_FILE_ENDIAN 0x01020304u
/** Sections that start a new part (hot table, cold sources) start on a page of their own. */
#define BL_FILE_PAGE 4096u
/** Every section starts at a multiple of this. */
#define BL_FILE_ALIGN 8u

/** Header flag: some entry is the root name (lookups then also probe the empty suffix). */
#define BL_FILE_HAS_ROOT 0x01u
#define BL_FILE_FLAGS_KNOWN BL_FILE_HAS_ROOT

/** Slot flag (never returned in struct bl_match): the name record has a local-data reference. */
#define BL_SLOT_DATA 0x80u
#define BL_SLOT_FLAGS_PUBLIC (BL_MATCH_SELF | BL_MATCH_BELOW | BL_ALLOW | BL_SHADOW)

/** Slots per bucket: a key's home is the first slot of its bucket (a 64-byte cache line). */
#define BL_BUCKET 4u

/** Longest name in labels (255 bytes of one-byte labels, plus the root). */
#define BL_MAX_LABELS 127

enum bl_section {
	BL_SEC_SLOTS,	/**< hot: struct bl_slot[slots] */
	BL_SEC_LISTS,	/**< hot: u32 string offsets[lists], then NUL-terminated list names */
	BL_SEC_SOURCES, /**< cold: struct bl_source_rec[slots] */
	BL_SEC_NAMES,	/**< cold: name records (u8 len, wire name, [u32 data_off, u32 data_len]) */
	BL_SEC_DATA,	/**< cold: RPZ local data, as given to bl_builder_add() */
	BL_SEC_COUNT,
};

struct bl_file_section {
	uint64_t offset; /**< from the start of the file, multiple of BL_FILE_ALIGN */
	uint64_t length; /**< bytes */
};

/** The first 256 bytes of a set file, native byte order. */
struct bl_file_header {
	char magic[8];	      /**< BL_FILE_MAGIC, no NUL */
	uint32_t version;     /**< BL_FILE_VERSION */
	uint32_t endian;      /**< BL_FILE_ENDIAN */
	uint32_t header_size; /**< sizeof(struct bl_file_header) */
	uint32_t flags;	      /**< BL_FILE_* */
	uint64_t file_size;   /**< the whole file, bytes */
	uint64_t seed;	      /**< hash seed of the fingerprints */
	uint64_t entries;     /**< occupied slots */
	uint64_t home_slots;  /**< slots of the home buckets (>= 1.25 * entries, multiple of 4) */
	uint64_t slots;	      /**< home_slots plus the overflow tail; at most UINT32_MAX */
	uint32_t lists;	      /**< entries of the list-name offset table */
	uint32_t max_run;     /**< longest probe sequence at build time (information only) */
	struct bl_file_section sections[BL_SEC_COUNT];
	uint64_t hot_checksum;	/**< header (both checksums as 0), slots, lists */
	uint64_t cold_checksum; /**< sources, names, data */
	uint8_t reserved[88];	/**< zero */
};

/** A hot slot: everything a lookup needs, 16 bytes. */
struct bl_slot {
	uint64_t key; /**< 0: empty; else the name's fingerprint, low bit set for allow entries */
	uint32_t categories;
	uint16_t list_id;
	uint8_t flags;	/**< BL_MATCH_SELF, BL_MATCH_BELOW, BL_ALLOW, BL_SLOT_DATA */
	uint8_t action; /**< enum bl_action */
};

/** Cold record of a slot (same index). */
struct bl_source_rec {
	uint32_t name_off; /**< of the name record in BL_SEC_NAMES */
	uint32_t line;
};

_Static_assert(sizeof(struct bl_file_header) == 256, "header layout");
_Static_assert(sizeof(struct bl_slot) == 16, "slot layout");
_Static_assert(sizeof(struct bl_source_rec) == 8, "source layout");

/**
 * The checksum used by set files: four lanes of rotate(multiply(lane ^ word)) over 8-byte words
 * (the tail zero-padded), folded with the length. Changing any single word always changes it.
 */
uint64_t bl_checksum(uint64_t seed, const void *data, size_t len);

/**
 * Check the structure of the set image @image (header fields, section bounds; not the
 * checksums) and write both checksums into its header. For bl_builder_finish(), and for tests
 * and the fuzz target, which corrupt an image on purpose and seal it again to reach the checks
 * behind the checksum.
 * @return 0 or CORE_EPARSE.
 */
int bl_set_image_seal(uint8_t *image, size_t size);

/**
 * bl_builder_finish() under hash seed @seed instead of the builder's own, with no retry: what
 * a finish does after a fingerprint collision, for tests.
 * @return as bl_builder_finish(); CORE_ELIMIT when two names collide under @seed.
 */
int bl_builder_finish_seed(struct bl_builder *b, uint64_t seed, struct bl_set **out_set)
	__attribute__((warn_unused_result));

/** The hash seed of @set's fingerprints (a set compiled under it shares its keys). */
uint64_t bl_set_seed(const struct bl_set *set);

/**
 * One layer of a view (view.c): the matches of @base as bl_set_lookup() gives them, except
 * those hidden by an entry of @overlay of the same name and variant at the same level, and the
 * entries of @overlay whose flags match, each with @layer and from_overlay set, inserted into
 * @out[0, min(@found, @max)) in (level, block before allow, layer) order; what falls beyond
 * @max is dropped. Either set may be NULL or empty. When @overlay was compiled under @base's
 * seed the name is hashed once. No allocation.
 * @return @found plus the matches of this layer.
 */
size_t bl_set_lookup_layer(const struct bl_set *base, const struct bl_set *overlay, unsigned layer,
			   const uint8_t *name, size_t name_len, struct bl_match *out, size_t max,
			   size_t found);
