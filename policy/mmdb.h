/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ISP subscriber networks from an MMDB file (libmaxminddb): the file maps subscriber ranges to
 * records {group, network_id, province}; the field names are configurable. This complements the
 * CIDR table of policy/networks.h for deployments with too many ranges to list in YAML.
 *
 * Glossary:
 *  - range: one leaf of the MMDB search tree. The file stores a flattened tree, so "longest
 *    prefix wins" is settled when the file is written (a /16 inside a /8 carves a hole in it);
 *    a lookup finds exactly one range, whose length is reported as prefix_len.
 *  - record: the data a range points to, a map. Many ranges usually share one record.
 *  - field: a key of the record. MMDB files have no schema: a record may lack a field, and
 *    that is only seen when a client of that range asks (POL_MMDB_ENOFIELD).
 *
 * Clients: IPv4, IPv6 and IPv4-mapped IPv6 (looked up as IPv4). IPv4 clients in an IPv6 file are
 * found under ::a.b.c.d/96+n, as MaxMind's writers store them; IPv6 clients in an IPv4 file are
 * in no range.
 *
 * An opened file is immutable (mapped read-only) and meant to live inside the published ruleset
 * (RCU): lookups take no lock and may run from any number of threads at once.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** Error codes of this module (outside errno and core/error.h's range). */
enum pol_mmdb_error {
	/** The client's record lacks the group or id field (configured name absent). */
	POL_MMDB_ENOFIELD = -1100,
	/** A field of the client's record is not a string/unsigned integer, or longer than 63
	 * bytes, or holds a NUL byte. */
	POL_MMDB_EBADFIELD = -1101,
};

/** Longest field value kept, including the terminating NUL. */
#define POL_MMDB_FIELD_MAX 64

/** What pol_mmdb_lookup() found; copied out, nothing points into the file. */
struct pol_mmdb_result {
	char group[POL_MMDB_FIELD_MAX];
	char network_id[POL_MMDB_FIELD_MAX]; /**< integers in the file are written in decimal */
	char province[POL_MMDB_FIELD_MAX];   /**< "" when not configured or not in the record */
	uint8_t prefix_len; /**< of the range found: 0-32 for IPv4 clients, 0-128 for IPv6 */
	uint8_t family;	    /**< AF_INET or AF_INET6: how the client was looked up */
};

struct pol_mmdb;

/**
 * Open the MMDB file @path (mapped read-only) whose records hold the group in @group_field,
 * the network id in @id_field and, optionally, the province in @province_field (NULL or "":
 * none). The field names are copied.
 *
 * The file is checked: it must parse as MMDB (libmaxminddb), and its first record (lowest
 * address) must hold @group_field and @id_field as strings (or unsigned integers), which catches
 * a misspelt field name at load time rather than at the first query. A file with no range at
 * all is accepted (every lookup is then CORE_ENOTFOUND).
 *
 * @param err  on failure, a one-line message naming the file and the fix (may be NULL)
 * @return 0 and the handle in @out_mmdb (free with pol_mmdb_free()); -ENOENT, -EACCES and
 *         other -errno when the file cannot be opened or mapped; CORE_EPARSE when it is not an
 *         MMDB file or is corrupt; CORE_ECONFIG when the first record lacks a field or holds a
 *         value of the wrong type; -EINVAL for an empty @path, @group_field or @id_field;
 *         -ENOMEM.
 */
int pol_mmdb_open(const char *path, const char *group_field, const char *id_field,
		  const char *province_field, struct pol_mmdb **out_mmdb, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/** Close @m (NULL is fine); returns NULL. No lookup may be running on it. */
struct pol_mmdb *pol_mmdb_free(struct pol_mmdb *m);

/**
 * Look up @client (AF_INET or AF_INET6). Thread-safe; does not allocate.
 *
 * @return 0 and the range's fields in @out_result; CORE_ENOTFOUND when the client is in no range
 *         (or is an IPv6 client of an IPv4 file, or of another family); POL_MMDB_ENOFIELD when
 *         the record lacks the group or id field; POL_MMDB_EBADFIELD when a field (the province
 *         included) has the wrong type or does not fit; CORE_EPARSE when the file is corrupt
 *         at that place. Per DESIGN.md a client without a network is refused, whatever the code.
 */
int pol_mmdb_lookup(const struct pol_mmdb *m, const struct sockaddr *client,
		    struct pol_mmdb_result *out_result) __attribute__((warn_unused_result));

/*
 * Records by slot, for callers that map each record once (its group name to a group) instead of
 * comparing strings per query: every distinct record has a slot number below
 * pol_mmdb_slot_count(); some numbers are free.
 */

/**
 * As pol_mmdb_lookup(), giving only the record's slot and the range's prefix length.
 * Thread-safe, no copy, no allocation. @return 0 or the errors of pol_mmdb_lookup().
 */
int pol_mmdb_lookup_slot(const struct pol_mmdb *m, const struct sockaddr *client,
			 uint32_t *out_slot, uint8_t *out_prefix_len)
	__attribute__((warn_unused_result));

/** Slot numbers are below this bound. */
size_t pol_mmdb_slot_count(const struct pol_mmdb *m);

/**
 * The fields of the record in @slot (prefix_len and family are 0). @return 0, CORE_ENOTFOUND
 * for a free slot, or the record's POL_MMDB_ENOFIELD / POL_MMDB_EBADFIELD / CORE_EPARSE.
 */
int pol_mmdb_slot_fields(const struct pol_mmdb *m, uint32_t slot, struct pol_mmdb_result *out);

/** What an opened file holds (for the load log line and `lanhmanh status`). */
struct pol_mmdb_stats {
	uint32_t ranges;      /**< data records of the search tree (IPv4 ranges of an IPv6 file are
			  * counted once per alias the writer added) */
	uint32_t records;     /**< distinct records */
	uint32_t bad_records; /**< records a lookup refuses (POL_MMDB_ENOFIELD/EBADFIELD): worth a
			       * warning at load, naming the file */
	size_t memory;	      /**< heap bytes of the decoded records */
};

/** Fill @out_stats for @m. */
void pol_mmdb_stats(const struct pol_mmdb *m, struct pol_mmdb_stats *out_stats);

/** The path given to pol_mmdb_open() (for messages). Borrowed; valid while @m is. */
const char *pol_mmdb_path(const struct pol_mmdb *m);

/** IP version of the file's search tree: 4 or 6. */
unsigned pol_mmdb_ip_version(const struct pol_mmdb *m);

/** Build time of the file (metadata build_epoch, seconds since 1970), for `lanhmanh status`. */
uint64_t pol_mmdb_build_epoch(const struct pol_mmdb *m);

/** Text for @err: this module's codes, else core_strerror(). Never NULL. */
const char *pol_mmdb_strerror(int err);
