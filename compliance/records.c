/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One interval's compliance records (see records.h): growable arrays plus a hash index. */
#include "compliance/records.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rand.h"

/*
 * The index: open addressing with linear probing over a power-of-two table, keyed by the
 * identifying fields of a record joined with '\x1f' and prefixed by the record's kind ('T'
 * totals, 'B' blocks, 'N' national names), so one table serves the three arrays. Names of the
 * national list come from clients' queries, so the hash is keyed SipHash (libsodium's
 * crypto_shorthash) with a random key per map: nobody can aim many names at one bucket.
 */
struct map_entry {
	char *key; /**< owned, NUL-terminated; NULL: free slot */
	size_t len;
	uint64_t hash;
	size_t index; /**< into the array of the key's kind */
};

struct cmpl_map {
	struct map_entry *e;
	size_t cap; /**< power of two */
	size_t n;
	unsigned char seed[crypto_shorthash_KEYBYTES];
};

#define MAP_MIN_CAP 64
#define SEP '\x1f'

static struct cmpl_map *map_new(void)
{
	struct cmpl_map *m = core_calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->e = core_calloc(MAP_MIN_CAP, sizeof(*m->e));
	if (!m->e) {
		core_free(m);
		return NULL;
	}
	m->cap = MAP_MIN_CAP;
	for (size_t i = 0; i < sizeof(m->seed); i += 4) {
		uint32_t r = core_rand_u32();
		memcpy(m->seed + i, &r, 4);
	}
	return m;
}

static void map_free(struct cmpl_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		core_free(m->e[i].key);
	core_free(m->e);
	core_free(m);
}

static uint64_t map_hash(const struct cmpl_map *m, const char *key, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;
	crypto_shorthash(out, (const unsigned char *)key, len, m->seed);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* The slot of @key, or the free slot where it would go. */
static struct map_entry *map_slot(struct map_entry *e, size_t cap, const char *key, size_t len,
				  uint64_t hash)
{
	size_t i = (size_t)hash & (cap - 1);
	for (;;) {
		struct map_entry *s = &e[i];
		if (!s->key || (s->hash == hash && s->len == len && memcmp(s->key, key, len) == 0))
			return s;
		i = (i + 1) & (cap - 1);
	}
}

static int map_grow(struct cmpl_map *m)
{
	size_t cap = m->cap * 2;
	if (cap < m->cap || cap > SIZE_MAX / sizeof(*m->e))
		return -ENOMEM;
	struct map_entry *e = core_calloc(cap, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->e[i].key)
			*map_slot(e, cap, m->e[i].key, m->e[i].len, m->e[i].hash) = m->e[i];
	}
	core_free(m->e);
	m->e = e;
	m->cap = cap;
	return 0;
}

/* A key being looked up: built in a stack buffer when short enough, else on the heap. */
struct key {
	char *s;
	size_t len;
	char small[256];
};

static int key_make(struct key *k, char kind, const char *const *fields, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += 1 + strlen(fields[i]);
	k->s = len < sizeof(k->small) ? k->small : core_malloc(len + 1);
	if (!k->s)
		return -ENOMEM;
	char *p = k->s;
	*p++ = kind;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(fields[i]);
		*p++ = SEP;
		memcpy(p, fields[i], l);
		p += l;
	}
	*p = '\0';
	k->len = len;
	return 0;
}

static void key_done(struct key *k)
{
	if (k->s != k->small)
		core_free(k->s);
	k->s = NULL;
}

/*
 * Look @k up. Found: *@out_index is the record's index, return 1. Not found: a slot is
 * reserved (the table grown first if needed) and returned through @out_slot, return 0; the
 * caller fills it with map_fill() once the record exists.
 */
static int map_find(struct cmpl_map *m, const struct key *k, size_t *out_index,
		    struct map_entry **out_slot, uint64_t *out_hash)
{
	uint64_t h = map_hash(m, k->s, k->len);
	struct map_entry *s = map_slot(m->e, m->cap, k->s, k->len, h);
	if (s->key) {
		*out_index = s->index;
		return 1;
	}
	/* keep the load under 3/4 so probes stay short */
	if ((m->n + 1) * 4 > m->cap * 3) {
		int r = map_grow(m);
		if (r != 0)
			return r;
		s = map_slot(m->e, m->cap, k->s, k->len, h);
	}
	*out_slot = s;
	*out_hash = h;
	return 0;
}

static int map_fill(struct cmpl_map *m, struct map_entry *s, const struct key *k, uint64_t hash,
		    size_t index)
{
	char *copy = core_malloc(k->len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, k->s, k->len + 1);
	s->key = copy;
	s->len = k->len;
	s->hash = hash;
	s->index = index;
	m->n++;
	return 0;
}

/*
 * Make room for one more element in @arr (@n used of *@cap, each @size bytes).
 * @return the array, moved or not, or NULL (out of memory: @arr is untouched).
 */
static void *grow(void *arr, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return arr;
	size_t c = *cap ? *cap * 2 : 16;
	if (c < *cap || c > SIZE_MAX / size)
		return NULL;
	void *p = core_realloc(arr, c * size);
	if (p)
		*cap = c;
	return p;
}

/* Duplicate @n strings into @out; all or none. */
static int dup_all(const char *const *src, char **out[], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		*out[i] = core_strdup(src[i] ? src[i] : "");
		if (!*out[i]) {
			while (i-- > 0)
				*out[i] = core_free(*out[i]);
			return -ENOMEM;
		}
	}
	return 0;
}

int cmpl_interval_init(struct cmpl_interval *iv, int64_t start, int64_t end, const char *day)
{
	memset(iv, 0, sizeof(*iv));
	iv->start = start;
	iv->end = end;
	if (day)
		memcpy(iv->day, day, strnlen(day, sizeof(iv->day) - 1));
	iv->index = map_new();
	return iv->index ? 0 : -ENOMEM;
}

void cmpl_interval_fini(struct cmpl_interval *iv)
{
	for (size_t i = 0; i < iv->n_totals; i++) {
		struct cmpl_total *t = &iv->totals[i];
		core_free(t->network_id);
		core_free(t->network_name);
		core_free(t->province);
		core_free(t->group);
	}
	for (size_t i = 0; i < iv->n_blocks; i++) {
		struct cmpl_block *b = &iv->blocks[i];
		core_free(b->network_id);
		core_free(b->group);
		core_free(b->category);
		core_free(b->list);
		core_free(b->list_version);
	}
	for (size_t i = 0; i < iv->n_tops; i++) {
		core_free(iv->tops[i].network_id);
		core_free(iv->tops[i].domain);
	}
	core_free(iv->totals);
	core_free(iv->blocks);
	core_free(iv->tops);
	core_free(iv->national_version);
	map_free(iv->index);
	memset(iv, 0, sizeof(*iv));
}

int cmpl_interval_set_national(struct cmpl_interval *iv, const char *version, int64_t applied)
{
	char *v = NULL;
	if (version) {
		v = core_strdup(version);
		if (!v)
			return -ENOMEM;
	}
	core_free(iv->national_version);
	iv->national_version = v;
	iv->national_applied = applied;
	return 0;
}

/* The index of @iv, made on first use so that a zeroed interval works too. */
static struct cmpl_map *index_of(struct cmpl_interval *iv)
{
	if (!iv->index)
		iv->index = map_new();
	return iv->index;
}

/* The records of one kind: an array of elements of @size bytes, @n used of @cap. */
struct table {
	void **arr;
	size_t *n, *cap;
	size_t size;
};

/*
 * Find the record of kind @kind keyed by the @nf fields @f, or append a zeroed one whose string
 * members (at byte offsets @dst_off of the element) get copies of @src (@ns of them).
 * @return 0 and its index in @out_idx; -ENOMEM (nothing changed) or what key_make() returns.
 */
static int find_or_add(struct cmpl_interval *iv, char kind, const char *const *f, size_t nf,
		       struct table t, const char *const *src, const size_t *dst_off, size_t ns,
		       size_t *out_idx)
{
	struct cmpl_map *m = index_of(iv);
	if (!m)
		return -ENOMEM;
	struct key k;
	int r = key_make(&k, kind, f, nf);
	if (r != 0)
		return r;
	struct map_entry *slot;
	uint64_t h;
	r = map_find(m, &k, out_idx, &slot, &h);
	if (r == 1) {
		r = 0;
		goto out_key;
	}
	if (r != 0)
		goto out_key;
	void *arr = grow(*t.arr, *t.n, t.cap, t.size);
	if (!arr) {
		r = -ENOMEM;
		goto out_key;
	}
	*t.arr = arr;
	char *e = (char *)arr + *t.n * t.size;
	memset(e, 0, t.size);
	char **dst[8];
	for (size_t i = 0; i < ns; i++)
		dst[i] = (char **)(void *)(e + dst_off[i]);
	r = dup_all(src, dst, ns);
	if (r != 0)
		goto out_key;
	r = map_fill(m, slot, &k, h, *t.n);
	if (r != 0) {
		for (size_t i = 0; i < ns; i++)
			*dst[i] = core_free(*dst[i]);
		goto out_key;
	}
	*out_idx = (*t.n)++;
out_key:
	key_done(&k);
	return r;
}

#define TABLE(iv, name)                                                           \
	((struct table){(void **)&(iv)->name, &(iv)->n_##name, &(iv)->cap_##name, \
			sizeof(*(iv)->name)})

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

int cmpl_interval_add_total(struct cmpl_interval *iv, const char *network_id,
			    const char *network_name, const char *province, const char *group,
			    uint64_t queries, uint64_t blocked)
{
	const char *f[] = {or_empty(network_id), or_empty(group)};
	const char *src[] = {f[0], network_name, province, f[1]};
	static const size_t off[] = {
		offsetof(struct cmpl_total, network_id), offsetof(struct cmpl_total, network_name),
		offsetof(struct cmpl_total, province), offsetof(struct cmpl_total, group)};
	size_t idx;
	int r = find_or_add(iv, 'T', f, 2, TABLE(iv, totals), src, off, 4, &idx);
	if (r != 0)
		return r;
	/* a record keeps the first name and province given */
	iv->totals[idx].queries += queries;
	iv->totals[idx].blocked += blocked;
	iv->queries += queries;
	iv->blocked += blocked;
	return 0;
}

int cmpl_interval_add_block(struct cmpl_interval *iv, const char *network_id, const char *group,
			    const char *category, const char *list, const char *list_version,
			    uint64_t count)
{
	const char *f[] = {or_empty(network_id), or_empty(group), or_empty(category),
			   or_empty(list), or_empty(list_version)};
	static const size_t off[] = {
		offsetof(struct cmpl_block, network_id), offsetof(struct cmpl_block, group),
		offsetof(struct cmpl_block, category), offsetof(struct cmpl_block, list),
		offsetof(struct cmpl_block, list_version)};
	size_t idx;
	int r = find_or_add(iv, 'B', f, 5, TABLE(iv, blocks), f, off, 5, &idx);
	if (r == 0)
		iv->blocks[idx].count += count;
	return r;
}

int cmpl_interval_add_top(struct cmpl_interval *iv, const char *network_id, const char *domain,
			  uint64_t count)
{
	const char *f[] = {or_empty(network_id), or_empty(domain)};
	static const size_t off[] = {offsetof(struct cmpl_top, network_id),
				     offsetof(struct cmpl_top, domain)};
	size_t idx;
	int r = find_or_add(iv, 'N', f, 2, TABLE(iv, tops), f, off, 2, &idx);
	if (r == 0)
		iv->tops[idx].count += count;
	return r;
}
