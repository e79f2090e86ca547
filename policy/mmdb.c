/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Subscriber networks from an MMDB file (see mmdb.h), on top of libmaxminddb. */
#include "policy/mmdb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <maxminddb.h>

#include "core/alloc.h"
#include "core/error.h"

struct pol_mmdb {
	MMDB_s db;		   /**< owned; opened with MMDB_MODE_MMAP, read-only after open */
	char *path;		   /**< owned copy */
	const char *group_path[2]; /**< {field, NULL} for MMDB_aget_value; strings owned below */
	const char *id_path[2];
	const char *province_path[2]; /**< [0] NULL when no province field is configured */
	char *fields;		      /**< owned block holding the three field names */
	/* Records decoded once at open (see README-mmdb.md for why): an open-addressing table
	 * keyed by the record's data-section offset, and the field values in one string block. */
	struct rec *recs; /**< owned; recs_mask + 1 slots, offset REC_EMPTY when free */
	uint32_t recs_mask;
	uint32_t n_recs;   /**< distinct records */
	uint32_t n_bad;	   /**< records whose lookup fails (missing or bad group/id/province) */
	uint32_t n_ranges; /**< data records of the search tree (ranges) */
	char *strings;	   /**< owned: group, id, province of each record, without NULs */
	size_t strings_len, strings_cap;
};

/** A decoded record. */
struct rec {
	uint32_t offset; /**< in the data section; REC_EMPTY for a free slot */
	uint32_t str;	 /**< group, then id, then province, in m->strings */
	uint8_t len[3];	 /**< of group, id, province */
	int8_t status;	 /**< index in rec_status[]: what a lookup of this record returns */
};

#define REC_EMPTY UINT32_MAX
static const int rec_status[] = {0, POL_MMDB_ENOFIELD, POL_MMDB_EBADFIELD, CORE_EPARSE};

/* Distinct records decoded at open, at most (CORE_ELIMIT beyond): 4M records cost ~250 MB. */
#define MAX_RECORDS (4u << 20)
/* Nodes visited at most when looking for the first record at open (a bound for corrupt files). */
#define SAMPLE_MAX_NODES 100000u

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Copy the value of field @path[0] of the record at @entry into @buf (POL_MMDB_FIELD_MAX bytes).
 * Strings are copied; unsigned and 32-bit signed integers are written in decimal.
 */
static int read_field(MMDB_entry_s *entry, const char *const *path, char *buf)
{
	MMDB_entry_data_s d;
	int st = MMDB_aget_value(entry, &d, path);
	if (st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
		return POL_MMDB_ENOFIELD; /* the record is not a map */
	if (st != MMDB_SUCCESS)
		return CORE_EPARSE;
	if (!d.has_data)
		return POL_MMDB_ENOFIELD;
	int n;
	switch (d.type) {
	case MMDB_DATA_TYPE_UTF8_STRING:
		if (d.data_size >= POL_MMDB_FIELD_MAX || memchr(d.utf8_string, 0, d.data_size))
			return POL_MMDB_EBADFIELD;
		memcpy(buf, d.utf8_string, d.data_size);
		buf[d.data_size] = '\0';
		return 0;
	case MMDB_DATA_TYPE_UINT16:
		n = snprintf(buf, POL_MMDB_FIELD_MAX, "%" PRIu16, d.uint16);
		break;
	case MMDB_DATA_TYPE_UINT32:
		n = snprintf(buf, POL_MMDB_FIELD_MAX, "%" PRIu32, d.uint32);
		break;
	case MMDB_DATA_TYPE_INT32:
		n = snprintf(buf, POL_MMDB_FIELD_MAX, "%" PRId32, d.int32);
		break;
	case MMDB_DATA_TYPE_UINT64:
		n = snprintf(buf, POL_MMDB_FIELD_MAX, "%" PRIu64, d.uint64);
		break;
	default:
		return POL_MMDB_EBADFIELD;
	}
	return n > 0 && n < POL_MMDB_FIELD_MAX ? 0 : POL_MMDB_EBADFIELD;
}

/* Decode the configured fields of the record at @entry into @out (group and id mandatory). */
static int read_record(const struct pol_mmdb *m, MMDB_entry_s *entry, struct pol_mmdb_result *out)
{
	int r = read_field(entry, m->group_path, out->group);
	if (r == 0)
		r = read_field(entry, m->id_path, out->network_id);
	if (r != 0)
		return r;
	out->province[0] = '\0';
	if (!m->province_path[0])
		return 0;
	r = read_field(entry, m->province_path, out->province);
	if (r == POL_MMDB_ENOFIELD) {
		out->province[0] = '\0';
		return 0;
	}
	return r;
}

static uint32_t rec_hash(uint32_t offset)
{
	return offset * 0x9e3779b1u;
}

static const struct rec *rec_find(const struct pol_mmdb *m, uint32_t offset)
{
	if (!m->recs)
		return NULL;
	for (uint32_t i = rec_hash(offset) & m->recs_mask;; i = (i + 1) & m->recs_mask) {
		const struct rec *r = &m->recs[i];
		if (r->offset == offset)
			return r;
		if (r->offset == REC_EMPTY)
			return NULL;
	}
}

static int rec_copy(const struct pol_mmdb *m, const struct rec *rec, struct pol_mmdb_result *out)
{
	int status = rec_status[rec->status];
	if (status != 0)
		return status;
	const char *s = m->strings + rec->str;
	char *dst[3] = {out->group, out->network_id, out->province};
	for (unsigned i = 0; i < 3; i++) {
		memcpy(dst[i], s, rec->len[i]);
		dst[i][rec->len[i]] = '\0';
		s += rec->len[i];
	}
	return 0;
}

/* Find @client's range: 0 with the entry and the prefix length, or an error of lookup(). */
static int find(const struct pol_mmdb *m, const struct sockaddr *client, MMDB_entry_s *out_entry,
		uint8_t *out_prefix_len, uint8_t *out_family)
{
	struct sockaddr_in v4;
	const struct sockaddr *sa = client;
	if (client->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)client;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memset(&v4, 0, sizeof(v4));
			v4.sin_family = AF_INET;
			memcpy(&v4.sin_addr, sin6->sin6_addr.s6_addr + 12, 4);
			sa = (const struct sockaddr *)&v4;
		}
	} else if (client->sa_family != AF_INET) {
		return CORE_ENOTFOUND;
	}

	int st = MMDB_SUCCESS;
	MMDB_lookup_result_s res = MMDB_lookup_sockaddr(&m->db, sa, &st);
	if (st == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
		return CORE_ENOTFOUND;
	if (st != MMDB_SUCCESS)
		return CORE_EPARSE;
	if (!res.found_entry)
		return CORE_ENOTFOUND;
	unsigned len = res.netmask;
	/* libmaxminddb counts bits from the root of the tree: an IPv4 client in an IPv6 file
	 * starts 96 bits down (::a.b.c.d). */
	if (sa->sa_family == AF_INET && m->db.metadata.ip_version == 6)
		len = len >= 96 ? len - 96 : 0;
	*out_entry = res.entry;
	*out_prefix_len = (uint8_t)len;
	*out_family = (uint8_t)sa->sa_family;
	return 0;
}

int pol_mmdb_lookup(const struct pol_mmdb *m, const struct sockaddr *client,
		    struct pol_mmdb_result *out_result)
{
	MMDB_entry_s entry;
	struct pol_mmdb_result r;
	int ret = find(m, client, &entry, &r.prefix_len, &r.family);
	if (ret != 0)
		return ret;
	const struct rec *rec = rec_find(m, entry.offset);
	if (rec)
		ret = rec_copy(m, rec, &r);
	else
		ret = read_record(m, &entry, &r); /* not in the table: cannot happen */
	if (ret != 0)
		return ret;
	*out_result = r;
	return 0;
}

int pol_mmdb_lookup_slot(const struct pol_mmdb *m, const struct sockaddr *client,
			 uint32_t *out_slot, uint8_t *out_prefix_len)
{
	MMDB_entry_s entry;
	uint8_t family;
	int ret = find(m, client, &entry, out_prefix_len, &family);
	if (ret != 0)
		return ret;
	const struct rec *rec = rec_find(m, entry.offset);
	if (!rec)
		return CORE_EPARSE; /* every record was decoded at open: a corrupt tree */
	if (rec_status[rec->status] != 0)
		return rec_status[rec->status];
	*out_slot = (uint32_t)(rec - m->recs);
	return 0;
}

size_t pol_mmdb_slot_count(const struct pol_mmdb *m)
{
	return m->recs ? (size_t)m->recs_mask + 1 : 0;
}

int pol_mmdb_slot_fields(const struct pol_mmdb *m, uint32_t slot, struct pol_mmdb_result *out)
{
	if (!m->recs || slot > m->recs_mask || m->recs[slot].offset == REC_EMPTY)
		return CORE_ENOTFOUND;
	memset(out, 0, sizeof(*out));
	return rec_copy(m, &m->recs[slot], out);
}

/* --- open ------------------------------------------------------------------------------------ */

/* Format the range of @bits bits of @addr (16 bytes, tree order) for a message. */
static void format_range(const struct pol_mmdb *m, const uint8_t *addr, unsigned bits, char *buf,
			 size_t len)
{
	char text[INET6_ADDRSTRLEN];
	static const uint8_t zero[12];
	if (m->db.metadata.ip_version == 4) {
		(void)inet_ntop(AF_INET, addr, text, sizeof(text));
		(void)snprintf(buf, len, "%s/%u", text, bits);
	} else if (bits >= 96 && memcmp(addr, zero, 12) == 0) {
		(void)inet_ntop(AF_INET, addr + 12, text, sizeof(text));
		(void)snprintf(buf, len, "%s/%u", text, bits - 96);
	} else {
		(void)inet_ntop(AF_INET6, addr, text, sizeof(text));
		(void)snprintf(buf, len, "%s/%u", text, bits);
	}
}

struct sample {
	MMDB_entry_s entry;
	uint8_t addr[16]; /**< range start of the record found */
	unsigned bits;
	unsigned visited;
	bool found;
};

/*
 * Depth-first, lowest address first, until the first record: the record of the lowest range.
 * @return 0 (found or not), CORE_EPARSE for a broken tree.
 */
static int find_first_record(const struct pol_mmdb *m, uint32_t node, unsigned depth, uint8_t *addr,
			     struct sample *s)
{
	MMDB_search_node_s n;
	if (depth >= m->db.depth || ++s->visited > SAMPLE_MAX_NODES)
		return CORE_EPARSE;
	if (MMDB_read_node(&m->db, node, &n) != MMDB_SUCCESS)
		return CORE_EPARSE;
	for (unsigned side = 0; side < 2 && !s->found; side++) {
		uint8_t type = side ? n.right_record_type : n.left_record_type;
		uint64_t rec = side ? n.right_record : n.left_record;
		if (side)
			addr[depth / 8] |= (uint8_t)(0x80u >> (depth % 8));
		if (type == MMDB_RECORD_TYPE_DATA) {
			s->entry = side ? n.right_record_entry : n.left_record_entry;
			memcpy(s->addr, addr, 16);
			s->bits = depth + 1;
			s->found = true;
		} else if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
			int r = find_first_record(m, (uint32_t)rec, depth + 1, addr, s);
			if (r != 0)
				return r;
		} else if (type == MMDB_RECORD_TYPE_INVALID) {
			return CORE_EPARSE;
		}
		if (side)
			addr[depth / 8] &= (uint8_t) ~(0x80u >> (depth % 8));
	}
	return 0;
}

/* Skip the entry at @e and everything nested in it; @return the entry after it, or NULL. */
static MMDB_entry_data_list_s *skip_entry(MMDB_entry_data_list_s *e, unsigned depth)
{
	if (!e || depth > 32)
		return NULL;
	uint32_t type = e->entry_data.type, n = e->entry_data.data_size;
	e = e->next;
	if (type == MMDB_DATA_TYPE_MAP)
		n *= 2;
	else if (type != MMDB_DATA_TYPE_ARRAY)
		return e;
	for (uint32_t i = 0; i < n && e; i++)
		e = skip_entry(e, depth + 1);
	return e;
}

/* The keys of the record at @entry, comma-separated into @buf, for the error message. */
static void record_keys(MMDB_entry_s *entry, char *buf, size_t len)
{
	MMDB_entry_data_list_s *list = NULL;
	(void)snprintf(buf, len, "not a map");
	if (MMDB_get_entry_data_list(entry, &list) != MMDB_SUCCESS || !list)
		goto out_free_list;
	if (list->entry_data.type != MMDB_DATA_TYPE_MAP)
		goto out_free_list;
	size_t used = 0;
	uint32_t pairs = list->entry_data.data_size;
	MMDB_entry_data_list_s *e = list->next;
	buf[0] = '\0';
	for (uint32_t i = 0; i < pairs && e; i++) {
		if (e->entry_data.type == MMDB_DATA_TYPE_UTF8_STRING && used < len) {
			int w = snprintf(buf + used, len - used, "%s%.*s", i ? ", " : "",
					 (int)e->entry_data.data_size, e->entry_data.utf8_string);
			used += w > 0 ? (size_t)w : 0;
		}
		e = skip_entry(e->next, 0); /* the value */
	}
	if (pairs == 0)
		(void)snprintf(buf, len, "no fields");
out_free_list:
	MMDB_free_entry_data_list(list);
}

static int strings_add(struct pol_mmdb *m, const char *s, size_t len)
{
	if (m->strings_len + len > m->strings_cap) {
		size_t cap = m->strings_cap ? 2 * m->strings_cap : 4096;
		while (cap < m->strings_len + len)
			cap *= 2;
		char *p = core_realloc(m->strings, cap);
		if (!p)
			return -ENOMEM;
		m->strings = p;
		m->strings_cap = cap;
	}
	memcpy(m->strings + m->strings_len, s, len);
	m->strings_len += len;
	return 0;
}

static int recs_grow(struct pol_mmdb *m)
{
	uint32_t slots = m->recs ? 2 * (m->recs_mask + 1) : 1024;
	struct rec *t = core_malloc(slots * sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < slots; i++)
		t[i].offset = REC_EMPTY;
	for (uint32_t i = 0; m->recs && i <= m->recs_mask; i++) {
		if (m->recs[i].offset == REC_EMPTY)
			continue;
		uint32_t j = rec_hash(m->recs[i].offset) & (slots - 1);
		while (t[j].offset != REC_EMPTY)
			j = (j + 1) & (slots - 1);
		t[j] = m->recs[i];
	}
	core_free(m->recs);
	m->recs = t;
	m->recs_mask = slots - 1;
	return 0;
}

/* Decode the record at @entry into the table unless it is there already. */
static int rec_add(struct pol_mmdb *m, MMDB_entry_s *entry)
{
	m->n_ranges++;
	if (rec_find(m, entry->offset))
		return 0;
	if (m->n_recs >= MAX_RECORDS)
		return CORE_ELIMIT;
	if (!m->recs || 2 * (m->n_recs + 1) > m->recs_mask + 1) {
		int r = recs_grow(m);
		if (r != 0)
			return r;
	}
	struct rec rec = {.offset = entry->offset, .str = (uint32_t)m->strings_len};
	struct pol_mmdb_result v;
	int r = read_record(m, entry, &v);
	if (r == 0) {
		const char *f[3] = {v.group, v.network_id, v.province};
		for (unsigned i = 0; i < 3 && r == 0; i++) {
			size_t len = strlen(f[i]);
			rec.len[i] = (uint8_t)len;
			r = strings_add(m, f[i], len);
		}
		if (r != 0)
			return r;
	} else {
		rec.status = r == POL_MMDB_ENOFIELD ? 1 : r == POL_MMDB_EBADFIELD ? 2 : 3;
		m->n_bad++;
	}
	uint32_t i = rec_hash(rec.offset) & m->recs_mask;
	while (m->recs[i].offset != REC_EMPTY)
		i = (i + 1) & m->recs_mask;
	m->recs[i] = rec;
	m->n_recs++;
	return 0;
}

/*
 * Decode every record the search tree points to, once: a lookup then costs the tree walk and a
 * table probe instead of three map walks in the data section. Nodes are read in order, so the
 * IPv4 aliases of an IPv6 tree are no extra work.
 */
static int predecode(struct pol_mmdb *m, char *err, size_t errlen)
{
	for (uint32_t node = 0; node < m->db.metadata.node_count; node++) {
		MMDB_search_node_s n;
		if (MMDB_read_node(&m->db, node, &n) != MMDB_SUCCESS) {
			set_err(err, errlen, "'%s': corrupt MMDB search tree (node %" PRIu32 ")",
				m->path, node);
			return CORE_EPARSE;
		}
		int r = 0;
		if (n.left_record_type == MMDB_RECORD_TYPE_DATA)
			r = rec_add(m, &n.left_record_entry);
		if (r == 0 && n.right_record_type == MMDB_RECORD_TYPE_DATA)
			r = rec_add(m, &n.right_record_entry);
		if (r == CORE_ELIMIT)
			set_err(err, errlen, "'%s': more than %u distinct records", m->path,
				MAX_RECORDS);
		else if (r == -ENOMEM)
			set_err(err, errlen, "'%s': out of memory", m->path);
		if (r != 0)
			return r;
	}
	return 0;
}

/* Check the first record holds the configured fields: a misspelt name fails at load time. */
static int check_sample(const struct pol_mmdb *m, char *err, size_t errlen)
{
	struct sample s = {0};
	uint8_t addr[16] = {0};
	if (find_first_record(m, 0, 0, addr, &s) != 0) {
		set_err(err, errlen, "'%s': corrupt MMDB search tree", m->path);
		return CORE_EPARSE;
	}
	if (!s.found)
		return 0; /* no range at all: every client is refused */
	struct pol_mmdb_result r;
	int ret = read_record(m, &s.entry, &r);
	if (ret == 0)
		return 0;
	char range[INET6_ADDRSTRLEN + 16], keys[256];
	format_range(m, s.addr, s.bits, range, sizeof(range));
	if (ret == CORE_EPARSE) {
		set_err(err, errlen, "'%s': corrupt MMDB data section (record of %s)", m->path,
			range);
		return CORE_EPARSE;
	}
	/* Say which field: the mandatory ones first, as read_record() does. */
	const char *field = m->group_path[0];
	int r1 = read_field(&s.entry, m->group_path, r.group);
	if (r1 == 0) {
		field = m->id_path[0];
		r1 = read_field(&s.entry, m->id_path, r.network_id);
	}
	if (r1 == 0)
		field = m->province_path[0];
	record_keys(&s.entry, keys, sizeof(keys));
	if (ret == POL_MMDB_ENOFIELD)
		set_err(err, errlen,
			"'%s': the record of %s has no field '%s' (it has: %s); check the "
			"networks' group_field/id_field",
			m->path, range, field, keys);
	else
		set_err(err, errlen,
			"'%s': field '%s' of the record of %s is not a string or unsigned "
			"integer of at most %d bytes",
			m->path, field, range, POL_MMDB_FIELD_MAX - 1);
	return CORE_ECONFIG;
}

static int open_error(int st, int saved_errno)
{
	switch (st) {
	case MMDB_FILE_OPEN_ERROR:
		return saved_errno > 0 ? -saved_errno : -EIO;
	case MMDB_IO_ERROR:
		return saved_errno > 0 ? -saved_errno : -EIO;
	case MMDB_OUT_OF_MEMORY_ERROR:
		return -ENOMEM;
	default:
		return CORE_EPARSE;
	}
}

int pol_mmdb_open(const char *path, const char *group_field, const char *id_field,
		  const char *province_field, struct pol_mmdb **out_mmdb, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!path || !*path || !group_field || !*group_field || !id_field || !*id_field) {
		set_err(err, errlen, "mmdb: the file, group_field and id_field must be set");
		return -EINVAL;
	}
	if (province_field && !*province_field)
		province_field = NULL;
	size_t lg = strlen(group_field) + 1, li = strlen(id_field) + 1;
	size_t lp = province_field ? strlen(province_field) + 1 : 0;

	struct pol_mmdb *m = core_calloc(1, sizeof(*m));
	if (!m)
		goto out_nomem;
	m->path = core_strdup(path);
	m->fields = core_malloc(lg + li + lp);
	if (!m->path || !m->fields)
		goto out_nomem;
	memcpy(m->fields, group_field, lg);
	memcpy(m->fields + lg, id_field, li);
	m->group_path[0] = m->fields;
	m->id_path[0] = m->fields + lg;
	if (province_field) {
		memcpy(m->fields + lg + li, province_field, lp);
		m->province_path[0] = m->fields + lg + li;
	}

	errno = 0;
	int st = MMDB_open(path, MMDB_MODE_MMAP, &m->db);
	int saved_errno = errno;
	if (st != MMDB_SUCCESS) {
		int ret = open_error(st, saved_errno);
		struct stat sb;
		if (st == MMDB_IO_ERROR && stat(path, &sb) == 0 && sb.st_size == 0) {
			ret = CORE_EPARSE; /* mmap() of 0 bytes: EINVAL */
			set_err(err, errlen, "'%s': not a valid MMDB file (it is empty)", path);
		} else if (ret == CORE_EPARSE)
			set_err(err, errlen, "'%s': not a valid MMDB file (libmaxminddb: %s)", path,
				MMDB_strerror(st));
		else
			set_err(err, errlen, "'%s': cannot open: %s", path,
				ret == -ENOMEM ? "out of memory" : strerror(-ret));
		m->db.file_content = NULL; /* MMDB_open cleaned up after itself */
		pol_mmdb_free(m);
		return ret;
	}
	if (m->db.metadata.ip_version != 4 && m->db.metadata.ip_version != 6) {
		set_err(err, errlen, "'%s': unsupported MMDB ip_version %u", path,
			(unsigned)m->db.metadata.ip_version);
		pol_mmdb_free(m);
		return CORE_EPARSE;
	}
	int ret = check_sample(m, err, errlen);
	if (ret == 0)
		ret = predecode(m, err, errlen);
	if (ret != 0) {
		pol_mmdb_free(m);
		return ret;
	}
	*out_mmdb = m;
	return 0;

out_nomem:
	set_err(err, errlen, "'%s': out of memory", path);
	pol_mmdb_free(m);
	return -ENOMEM;
}

struct pol_mmdb *pol_mmdb_free(struct pol_mmdb *m)
{
	if (!m)
		return NULL;
	if (m->db.file_content)
		MMDB_close(&m->db);
	core_free(m->recs);
	core_free(m->strings);
	core_free(m->fields);
	core_free(m->path);
	return core_free(m);
}

void pol_mmdb_stats(const struct pol_mmdb *m, struct pol_mmdb_stats *out_stats)
{
	*out_stats = (struct pol_mmdb_stats){
		.ranges = m->n_ranges,
		.records = m->n_recs,
		.bad_records = m->n_bad,
		.memory = (m->recs ? (m->recs_mask + (size_t)1) * sizeof(*m->recs) : 0) +
			  m->strings_cap,
	};
}

const char *pol_mmdb_path(const struct pol_mmdb *m)
{
	return m->path;
}

unsigned pol_mmdb_ip_version(const struct pol_mmdb *m)
{
	return m->db.metadata.ip_version;
}

uint64_t pol_mmdb_build_epoch(const struct pol_mmdb *m)
{
	return m->db.metadata.build_epoch;
}

const char *pol_mmdb_strerror(int err)
{
	switch (err) {
	case POL_MMDB_ENOFIELD:
		return "subscriber record lacks the group or id field";
	case POL_MMDB_EBADFIELD:
		return "subscriber record field has the wrong type or is too long";
	default:
		return core_strerror(err);
	}
}
