/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The compiled domain set (set.h): a builder that merges entries, a compiler that lays the set
 * out as its file image, and lookups over that image whether it is in memory or mapped.
 *
 * The hot table is an ordered linear-probing table (see README.md): slot keys are 64-bit
 * fingerprints, each key sits at or after its home position, and the keys of the table are in
 * ascending order, so a lookup stops at the first empty slot or the first greater key.
 */
#include "blocklists/set.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocklists/internal.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rand.h"

/* Most bytes of local data one entry carries (a DNS message could not hold more). */
#define MAX_DATA_PER_ENTRY 65535u
/* Most entries a builder accepts, so that slot numbers fit in a u32 with room to spare. */
#define MAX_ENTRIES (1u << 30)
/* Longest list name. */
#define MAX_LIST_NAME 255u
/* Internal: two names of one build got the same fingerprint; build again with another seed. */
#define ERR_COLLISION (-EEXIST)
#define MAX_RESEEDS 8

/* ---- hashing ------------------------------------------------------------------------------- */

static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ASCII upper-case letters of the 8 bytes of @w to lower case; other bytes unchanged. */
static inline uint64_t fold_case(uint64_t w)
{
	const uint64_t high = 0x8080808080808080ull;
	uint64_t x = w & ~high;
	uint64_t ge_a = x + 0x3f3f3f3f3f3f3f3full; /* bit 7 set where the byte is >= 'A' */
	uint64_t gt_z = x + 0x2525252525252525ull; /* bit 7 set where the byte is > 'Z' */

	return w | ((ge_a & ~gt_z & ~w & high) >> 2);
}

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/*
 * Bytes [@p, @p + @n) (1 <= n < 8) as a little-endian word, zero above, reading only inside
 * the name [@lo, @hi). One 8-byte load where the name allows it: assembling the word in memory
 * would stall on store forwarding.
 */
static inline uint64_t load_tail(const uint8_t *p, size_t n, const uint8_t *lo, const uint8_t *hi)
{
	uint64_t w;

	if (hi - p >= 8) {
		w = load_le64(p);
	} else if (hi - lo >= 8) {
		w = load_le64(hi - 8) >> (8 * (size_t)(8 - (hi - p)));
	} else {
		w = 0;
		for (size_t i = n; i-- > 0;)
			w = w << 8 | p[i];
		return w;
	}
	return w & (~0ull >> (64 - 8 * n));
}

/*
 * Absorb one label (length byte and bytes) of the name [@lo, @hi) into the state, 8 bytes at a
 * time. The length byte comes first, so label boundaries are unambiguous; each step is a
 * bijection of the state.
 */
static inline uint64_t absorb_label(uint64_t s, const uint8_t *label, const uint8_t *lo,
				    const uint8_t *hi)
{
	size_t n = (size_t)label[0] + 1;

	for (; n >= 8; n -= 8, label += 8)
		s = mix64(s ^ fold_case(load_le64(label)));
	if (n)
		s = mix64(s ^ fold_case(load_tail(label, n, lo, hi)));
	return s;
}

static inline uint64_t initial_state(uint64_t seed)
{
	return mix64(seed ^ 0x6c616e686d616e68ull);
}

/* The block key of the suffix whose state is @s: even, never 0 (the empty slot). */
static inline uint64_t state_key(uint64_t s)
{
	uint64_t k = mix64(s + 0x9e3779b97f4a7c15ull) & ~1ull;

	return k ? k : 2;
}

/*
 * Home position of @key: the first slot of its bucket (BL_BUCKET slots, one cache line), so that
 * a probe reads one line in most cases. Monotonic in the key, the same for a block key and its
 * allow key. @home_slots is a multiple of BL_BUCKET.
 */
static inline uint64_t key_home(uint64_t key, uint64_t home_slots)
{
	return (uint64_t)(((unsigned __int128)(key & ~1ull) * (home_slots / BL_BUCKET)) >> 64) *
	       BL_BUCKET;
}

/*
 * Split wire name @name into label offsets. @return the number of labels (0 for the root), or
 * -1 when the name is malformed (a label over 63 bytes, running past @len, bytes after the root,
 * over 255 bytes).
 */
static int split_labels(const uint8_t *name, size_t len, uint8_t offs[BL_MAX_LABELS])
{
	size_t pos = 0;
	int n = 0;

	if (!name || len == 0 || len > 255)
		return -1;
	while (name[pos] != 0) {
		if (name[pos] > 63 || n == BL_MAX_LABELS)
			return -1;
		offs[n++] = (uint8_t)pos;
		pos += (size_t)name[pos] + 1;
		if (pos >= len)
			return -1;
	}
	return pos + 1 == len ? n : -1;
}

/* Block key of well-formed wire name @name under @seed. */
static uint64_t name_key(uint64_t seed, const uint8_t *name, size_t len)
{
	uint8_t offs[BL_MAX_LABELS];
	int n = split_labels(name, len, offs);
	uint64_t s = initial_state(seed);

	while (n-- > 0)
		s = absorb_label(s, name + offs[n], name, name + len);
	return state_key(s);
}

/* ---- checksum ------------------------------------------------------------------------------ */

#define CK_P1 0x9e3779b97f4a7c15ull
#define CK_P2 0xc2b2ae3d27d4eb4full

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
	return x << r | x >> (64 - r);
}

uint64_t bl_checksum(uint64_t seed, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t l0 = seed ^ CK_P1, l1 = seed ^ CK_P2, l2 = ~seed, l3 = seed + CK_P1 + CK_P2;
	uint64_t w0, w1, w2, w3, h;
	size_t n = len;

	for (; n >= 32; n -= 32, p += 32) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		l0 = rotl64((l0 ^ w0) * CK_P1, 31);
		l1 = rotl64((l1 ^ w1) * CK_P1, 31);
		l2 = rotl64((l2 ^ w2) * CK_P1, 31);
		l3 = rotl64((l3 ^ w3) * CK_P1, 31);
	}
	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w0, p, 8);
		l0 = rotl64((l0 ^ w0) * CK_P2, 29);
	}
	if (n) {
		w0 = 0;
		memcpy(&w0, p, n);
		l0 = rotl64((l0 ^ w0) * CK_P2, 29);
	}
	h = mix64((uint64_t)len * CK_P2 ^ seed);
	h = mix64(h ^ l0);
	h = mix64(h ^ l1);
	h = mix64(h ^ l2);
	return mix64(h ^ l3);
}

/* ---- the set ------------------------------------------------------------------------------- */

enum set_storage {
	SET_HEAP,     /**< the image is ours, from core_malloc */
	SET_MAPPED,   /**< the image is our mapping of a file */
	SET_BORROWED, /**< the image is the caller's (bl_set_open_buffer) */
};

/** A set: a view over its image. Every pointer below points into @base. */
struct bl_set {
	atomic_uint refs;
	enum set_storage storage;
	const uint8_t *base; /**< the image (owned as @storage says) */
	size_t size;
	uint64_t seed;
	uint64_t state0; /**< hash state of the root, from the seed */
	uint64_t home_slots;
	uint64_t n_slots;
	size_t entries;
	bool has_root;
	const struct bl_slot *slots;
	const uint32_t *list_offs;
	uint32_t n_lists;
	const char *list_strs;
	size_t list_strs_len;
	const struct bl_source_rec *sources;
	const uint8_t *names;
	size_t names_len;
	const uint8_t *data;
	size_t data_len;
	struct bl_file_section sec[BL_SEC_COUNT];
};

/* Checksum fields zeroed: what the hot checksum covers of the header. */
static uint64_t header_checksum(const struct bl_file_header *hdr)
{
	struct bl_file_header h = *hdr;

	h.hot_checksum = 0;
	h.cold_checksum = 0;
	return bl_checksum(0, &h, sizeof(h));
}

static uint64_t hot_checksum(const uint8_t *image, const struct bl_file_header *hdr)
{
	const struct bl_file_section *s = hdr->sections;
	uint64_t h = header_checksum(hdr);

	h = bl_checksum(h, image + s[BL_SEC_SLOTS].offset, s[BL_SEC_SLOTS].length);
	return bl_checksum(h, image + s[BL_SEC_LISTS].offset, s[BL_SEC_LISTS].length);
}

static uint64_t cold_checksum(const uint8_t *image, const struct bl_file_header *hdr)
{
	const struct bl_file_section *s = hdr->sections;
	uint64_t h =
		bl_checksum(hdr->seed, image + s[BL_SEC_SOURCES].offset, s[BL_SEC_SOURCES].length);

	h = bl_checksum(h, image + s[BL_SEC_NAMES].offset, s[BL_SEC_NAMES].length);
	return bl_checksum(h, image + s[BL_SEC_DATA].offset, s[BL_SEC_DATA].length);
}

/*
 * Check every header field of image @image (@size bytes) against the others and the size,
 * reading nothing but the header. @return 0 with the header copied to @out_hdr, or CORE_EPARSE.
 */
static int check_header(const uint8_t *image, size_t size, struct bl_file_header *out_hdr)
{
	struct bl_file_header h;
	uint64_t end = sizeof(h);

	if (size < sizeof(h))
		return CORE_EPARSE;
	memcpy(&h, image, sizeof(h));
	if (memcmp(h.magic, BL_FILE_MAGIC, sizeof(h.magic)) != 0 || h.version != BL_FILE_VERSION ||
	    h.endian != BL_FILE_ENDIAN || h.header_size != sizeof(h) || h.file_size != size ||
	    (h.flags & ~BL_FILE_FLAGS_KNOWN) != 0)
		return CORE_EPARSE;
	if (h.home_slots == 0 || h.home_slots % BL_BUCKET != 0 || h.home_slots > h.slots ||
	    h.slots > UINT32_MAX || h.entries > h.slots || h.lists > BL_MAX_LISTS)
		return CORE_EPARSE;
	/* in order, aligned, inside the file, not overlapping */
	for (int i = 0; i < BL_SEC_COUNT; i++) {
		const struct bl_file_section *s = &h.sections[i];

		if (s->offset % BL_FILE_ALIGN != 0 || s->offset < end || s->offset > size ||
		    s->length > size - s->offset)
			return CORE_EPARSE;
		end = s->offset + s->length;
	}
	if (h.sections[BL_SEC_SLOTS].length != h.slots * sizeof(struct bl_slot) ||
	    h.sections[BL_SEC_SOURCES].length != h.slots * sizeof(struct bl_source_rec) ||
	    h.sections[BL_SEC_LISTS].length < (uint64_t)h.lists * sizeof(uint32_t) ||
	    h.sections[BL_SEC_NAMES].length > UINT32_MAX ||
	    h.sections[BL_SEC_DATA].length > UINT32_MAX)
		return CORE_EPARSE;
	*out_hdr = h;
	return 0;
}

int bl_set_image_seal(uint8_t *image, size_t size)
{
	struct bl_file_header h;
	int rc = check_header(image, size, &h);

	if (rc < 0)
		return rc;
	h.hot_checksum = hot_checksum(image, &h);
	h.cold_checksum = cold_checksum(image, &h);
	memcpy(image, &h, sizeof(h));
	return 0;
}

/* Keep the hot part resident and read it in one go; keep readahead off the cold part. */
static void advise_mapping(const uint8_t *base, const struct bl_file_header *h)
{
	const struct bl_file_section *s = h->sections;
	uintptr_t page = BL_FILE_PAGE;
	uintptr_t hot = (uintptr_t)base + s[BL_SEC_SLOTS].offset;
	uintptr_t hot_end = (uintptr_t)base + s[BL_SEC_LISTS].offset + s[BL_SEC_LISTS].length;
	uintptr_t cold = (uintptr_t)base + s[BL_SEC_SOURCES].offset;
	uintptr_t cold_end = (uintptr_t)base + h->file_size;

	hot &= ~(page - 1);
	if (hot_end > hot) {
#ifdef MADV_POPULATE_READ
		if (madvise((void *)hot, hot_end - hot, MADV_POPULATE_READ) != 0)
#endif
			(void)madvise((void *)hot, hot_end - hot, MADV_WILLNEED);
	}
	cold = (cold + page - 1) & ~(page - 1);
	if (cold_end > cold)
		(void)madvise((void *)cold, cold_end - cold, MADV_RANDOM);
}

/*
 * Make @set a view of image @base (@size bytes): check the header, and with @verify the hot
 * checksum. @return 0 or CORE_EPARSE.
 */
static int attach(struct bl_set *set, const uint8_t *base, size_t size, bool verify)
{
	struct bl_file_header h;
	const struct bl_file_section *s = h.sections;
	int rc = check_header(base, size, &h);

	if (rc < 0)
		return rc;
	if (set->storage == SET_MAPPED)
		advise_mapping(base, &h);
	if (verify && hot_checksum(base, &h) != h.hot_checksum)
		return CORE_EPARSE;

	set->base = base;
	set->size = size;
	set->seed = h.seed;
	set->state0 = initial_state(h.seed);
	set->home_slots = h.home_slots;
	set->n_slots = h.slots;
	set->entries = h.entries;
	set->has_root = h.flags & BL_FILE_HAS_ROOT;
	set->slots = (const struct bl_slot *)(base + s[BL_SEC_SLOTS].offset);
	set->n_lists = h.lists;
	set->list_offs = (const uint32_t *)(base + s[BL_SEC_LISTS].offset);
	set->list_strs = (const char *)(set->list_offs + h.lists);
	set->list_strs_len = s[BL_SEC_LISTS].length - (size_t)h.lists * sizeof(uint32_t);
	/* every list name ends inside the section */
	if (set->list_strs_len > 0 && set->list_strs[set->list_strs_len - 1] != '\0')
		return CORE_EPARSE;
	set->sources = (const struct bl_source_rec *)(base + s[BL_SEC_SOURCES].offset);
	set->names = base + s[BL_SEC_NAMES].offset;
	set->names_len = s[BL_SEC_NAMES].length;
	set->data = base + s[BL_SEC_DATA].offset;
	set->data_len = s[BL_SEC_DATA].length;
	memcpy(set->sec, h.sections, sizeof(set->sec));
	return 0;
}

static struct bl_set *set_alloc(enum set_storage storage)
{
	struct bl_set *set = core_calloc(1, sizeof(*set));

	if (!set)
		return NULL;
	atomic_init(&set->refs, 1);
	set->storage = storage;
	return set;
}

int bl_set_open(const char *path, struct bl_set **out_set)
{
	struct bl_set *set;
	struct stat st;
	void *map;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < sizeof(struct bl_file_header) ||
	    (uint64_t)st.st_size > SIZE_MAX) {
		rc = CORE_EPARSE;
		goto out_close;
	}
	set = set_alloc(SET_MAPPED);
	if (!set) {
		rc = -ENOMEM;
		goto out_close;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		goto out_free_set;
	}
	rc = attach(set, map, (size_t)st.st_size, true);
	if (rc < 0)
		goto out_unmap;
	close(fd);
	*out_set = set;
	return 0;

out_unmap:
	munmap(map, (size_t)st.st_size);
out_free_set:
	core_free(set);
out_close:
	close(fd);
	return rc;
}

int bl_set_open_buffer(const void *buf, size_t len, struct bl_set **out_set)
{
	struct bl_set *set;
	int rc;

	if (!buf || (uintptr_t)buf % BL_FILE_ALIGN != 0)
		return -EINVAL;
	set = set_alloc(SET_BORROWED);
	if (!set)
		return -ENOMEM;
	rc = attach(set, buf, len, true);
	if (rc < 0) {
		core_free(set);
		return rc;
	}
	*out_set = set;
	return 0;
}

int bl_set_verify(const struct bl_set *set)
{
	struct bl_file_header h;

	if (check_header(set->base, set->size, &h) < 0 ||
	    hot_checksum(set->base, &h) != h.hot_checksum ||
	    cold_checksum(set->base, &h) != h.cold_checksum)
		return CORE_EPARSE;
	return 0;
}

struct bl_set *bl_set_ref(struct bl_set *set)
{
	if (set)
		atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
	return set;
}

struct bl_set *bl_set_unref(struct bl_set *set)
{
	if (!set || atomic_fetch_sub_explicit(&set->refs, 1, memory_order_release) != 1)
		return NULL;
	atomic_thread_fence(memory_order_acquire);
	switch (set->storage) {
	case SET_HEAP:
		core_free((void *)set->base);
		break;
	case SET_MAPPED:
		munmap((void *)set->base, set->size);
		break;
	case SET_BORROWED:
		break;
	}
	core_free(set);
	return NULL;
}

/* write(2) all of @len bytes. @return 0 or -errno. */
static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len > (1u << 30) ? (1u << 30) : len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory holding @path, so that a rename into it is durable. */
static int sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, rc = 0;

	if (!slash) {
		dir[0] = '.';
		n = 1;
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		memcpy(dir, path, n);
	}
	dir[n] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int bl_set_write(const struct bl_set *set, const char *path)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if (!set || !path)
		return -EINVAL;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, set->base, set->size);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc < 0)
		goto out_unlink;
	return sync_dir(path);

out_unlink:
	unlink(tmp);
	return rc;
}

/* ---- lookups ------------------------------------------------------------------------------- */

static inline void fill_match(const struct bl_slot *sl, uint64_t i, size_t below,
			      struct bl_match *m)
{
	m->categories = sl->categories;
	m->list_id = sl->list_id;
	m->flags = sl->flags & BL_SLOT_FLAGS_PUBLIC;
	/* the hot part is checksummed; this only keeps a forged one from leaking odd values */
	m->action = sl->action <= BL_ACTION_LOCAL_DATA ? sl->action : BL_ACTION_POLICY;
	m->labels_below = (uint8_t)below;
	m->layer = 0;
	m->from_overlay = 0;
	m->entry = (uint32_t)i;
}

/* Every slot has one of these flags: as @need, it makes a probe return every entry. */
#define NEED_ANY (BL_MATCH_SELF | BL_MATCH_BELOW | BL_SHADOW)

/*
 * The slots of block key @key and its allow key (key | 1), if any, whose flags have a bit of
 * @need, as matches at @below labels up: one scan from the home position, stopping at an empty
 * slot or a greater key.
 */
static inline size_t probe(const struct bl_set *set, uint64_t key, size_t below, uint8_t need,
			   struct bl_match *out, size_t max, size_t found)
{
	const uint64_t allow_key = key | 1;

	for (uint64_t i = key_home(key, set->home_slots); i < set->n_slots; i++) {
		const struct bl_slot *sl = &set->slots[i];

		if (sl->key < key) {
			if (sl->key == 0)
				break;
			continue;
		}
		if (sl->key > allow_key)
			break;
		if (sl->flags & need) {
			if (found < max)
				fill_match(sl, i, below, &out[found]);
			found++;
		}
		if (sl->key == allow_key)
			break;
	}
	return found;
}

/*
 * All suffix keys of @name in one pass from the right, each extending the previous state, with
 * the home bucket of each prefetched. @return the number of labels, or -1 (malformed name).
 */
static inline __attribute__((always_inline)) int suffix_keys(const struct bl_set *set,
							     const uint8_t *name, size_t name_len,
							     uint64_t keys[BL_MAX_LABELS + 1])
{
	uint8_t offs[BL_MAX_LABELS];
	uint64_t s;
	int n = split_labels(name, name_len, offs);

	if (n < 0)
		return -1;
	s = set->state0;
	keys[n] = state_key(s);
	for (int i = n - 1; i >= 0; i--) {
		s = absorb_label(s, name + offs[i], name, name + name_len);
		keys[i] = state_key(s);
		__builtin_prefetch(&set->slots[key_home(keys[i], set->home_slots)]);
	}
	return n;
}

/* The flags an entry needs to match @below labels up (@raw: any). */
static inline uint8_t need_at(int below, bool raw)
{
	if (raw)
		return NEED_ANY;
	return below ? BL_MATCH_BELOW : BL_MATCH_SELF;
}

/* A lookup; with @raw, every entry of the name and its parents whatever its flags. */
static inline __attribute__((always_inline)) size_t lookup(const struct bl_set *set,
							   const uint8_t *name, size_t name_len,
							   struct bl_match *out, size_t max,
							   bool raw)
{
	uint64_t keys[BL_MAX_LABELS + 1];
	size_t found = 0;
	int n;

	if (!set || set->entries == 0)
		return 0;
	n = suffix_keys(set, name, name_len, keys);
	if (n < 0)
		return 0;
	/* the name itself matches entries with SELF, its parents those with BELOW */
	for (int i = 0; i < n; i++)
		found = probe(set, keys[i], (size_t)i, need_at(i, raw), out, max, found);
	if (set->has_root)
		found = probe(set, keys[n], (size_t)n, need_at(n, raw), out, max, found);
	return found;
}

size_t bl_set_lookup(const struct bl_set *set, const uint8_t *name, size_t name_len,
		     struct bl_match *out, size_t max)
{
	return lookup(set, name, name_len, out, max, false);
}

size_t bl_set_lookup_raw(const struct bl_set *set, const uint8_t *name, size_t name_len,
			 struct bl_match *out, size_t max)
{
	return lookup(set, name, name_len, out, max, true);
}

int bl_set_find(const struct bl_set *set, const uint8_t *name, size_t name_len, bool allow,
		struct bl_match *out)
{
	uint8_t offs[BL_MAX_LABELS];
	uint64_t key;

	if (!set || set->entries == 0 || split_labels(name, name_len, offs) < 0)
		return CORE_ENOTFOUND;
	key = name_key(set->seed, name, name_len) | (allow ? 1 : 0);
	for (uint64_t i = key_home(key, set->home_slots); i < set->n_slots; i++) {
		const struct bl_slot *sl = &set->slots[i];

		if (sl->key == key) {
			fill_match(sl, i, 0, out);
			return 0;
		}
		if (sl->key > key || sl->key == 0)
			break;
	}
	return CORE_ENOTFOUND;
}

uint64_t bl_set_seed(const struct bl_set *set)
{
	return set->seed;
}

/* Order of a view's matches: level, then block before allow (layers come in order). */
static inline unsigned match_rank(const struct bl_match *m)
{
	return (unsigned)m->labels_below * 2 + (m->flags & BL_ALLOW ? 1 : 0);
}

/*
 * Insert @m after every match of @out[0, min(@found, @max)) that does not rank after it,
 * dropping what falls beyond @max. The matches of one layer come in rank order, so within a
 * layer this appends. @return @found + 1.
 */
static inline size_t emit(const struct bl_match *m, unsigned layer, bool overlay,
			  struct bl_match *out, size_t max, size_t found)
{
	size_t w = found < max ? found : max, p = w;
	unsigned r = match_rank(m);

	while (p > 0 && match_rank(&out[p - 1]) > r)
		p--;
	if (p < max) {
		for (size_t i = w < max ? w : max - 1; i > p; i--)
			out[i] = out[i - 1];
		out[p] = *m;
		out[p].layer = (uint8_t)layer;
		out[p].from_overlay = overlay;
	}
	return found + 1;
}

/* The match of variant @allow among @m[0, @n), or NULL. */
static inline const struct bl_match *variant(const struct bl_match *m, size_t n, bool allow)
{
	for (size_t i = 0; i < n; i++)
		if (!(m[i].flags & BL_ALLOW) == !allow)
			return &m[i];
	return NULL;
}

size_t bl_set_lookup_layer(const struct bl_set *base, const struct bl_set *overlay, unsigned layer,
			   const uint8_t *name, size_t name_len, struct bl_match *out, size_t max,
			   size_t found)
{
	uint64_t bkeys[BL_MAX_LABELS + 1], okeys[BL_MAX_LABELS + 1];
	const uint64_t *ok = okeys;
	bool pb = base && base->entries > 0, po = overlay && overlay->entries > 0;
	int n = -1;

	if (pb)
		n = suffix_keys(base, name, name_len, bkeys);
	if (po && pb && overlay->seed == base->seed) {
		/* compiled under its base's seed: the same keys */
		ok = bkeys;
		for (int i = 0; i < n; i++)
			__builtin_prefetch(
				&overlay->slots[key_home(bkeys[i], overlay->home_slots)]);
	} else if (po) {
		n = suffix_keys(overlay, name, name_len, okeys);
	}
	if (n < 0)
		return found;
	for (int lv = 0; lv <= n; lv++) {
		const uint8_t need = lv ? BL_MATCH_BELOW : BL_MATCH_SELF;
		struct bl_match bm[2], om[2];
		size_t nb = 0, no = 0;

		/* the root suffix is probed only in sets that have the root (as lookups) */
		if (pb && (lv < n || base->has_root))
			nb = probe(base, bkeys[lv], (size_t)lv, need, bm, 2, 0);
		if (po && (lv < n || overlay->has_root))
			no = probe(overlay, ok[lv], (size_t)lv, NEED_ANY, om, 2, 0);
		if (nb + no == 0)
			continue;
		for (int allow = 0; allow < 2; allow++) {
			const struct bl_match *o = variant(om, no, allow), *b;

			if (o) {
				/* it hides the base entry, and matches only as its flags say */
				if (o->flags & need)
					found = emit(o, layer, true, out, max, found);
				continue;
			}
			b = variant(bm, nb, allow);
			if (b)
				found = emit(b, layer, false, out, max, found);
		}
	}
	return found;
}

size_t bl_set_count(const struct bl_set *set)
{
	return set->entries;
}

size_t bl_set_entry_limit(const struct bl_set *set)
{
	return (size_t)set->n_slots;
}

int bl_set_entry(const struct bl_set *set, uint32_t entry, struct bl_match *out)
{
	if (entry >= set->n_slots || set->slots[entry].key == 0)
		return CORE_ENOTFOUND;
	fill_match(&set->slots[entry], entry, 0, out);
	return 0;
}

/*
 * The name record of @entry: its offset in the names section and its length, bounds-checked
 * (the cold part is not verified at open). @return 0, CORE_ENOTFOUND, CORE_EPARSE.
 */
static int name_record(const struct bl_set *set, uint32_t entry, size_t *out_off, size_t *out_len)
{
	uint8_t offs[BL_MAX_LABELS];
	size_t off, len;

	if (entry >= set->n_slots || set->slots[entry].key == 0)
		return CORE_ENOTFOUND;
	off = set->sources[entry].name_off;
	if (off >= set->names_len)
		return CORE_EPARSE;
	len = set->names[off];
	if (len > set->names_len - off - 1 || split_labels(set->names + off + 1, len, offs) < 0)
		return CORE_EPARSE;
	*out_off = off;
	*out_len = len;
	return 0;
}

int bl_set_entry_source(const struct bl_set *set, uint32_t entry, struct bl_source *out)
{
	size_t off, len;
	int rc = name_record(set, entry, &off, &len);

	if (rc < 0)
		return rc;
	out->list_id = set->slots[entry].list_id;
	out->line = set->sources[entry].line;
	out->name = set->names + off + 1;
	out->name_len = len;
	return 0;
}

const uint8_t *bl_set_local_data(const struct bl_set *set, uint32_t entry, size_t *out_len)
{
	uint32_t ref[2]; /* offset, length */
	size_t off, len;

	*out_len = 0;
	if (name_record(set, entry, &off, &len) < 0 || !(set->slots[entry].flags & BL_SLOT_DATA))
		return NULL;
	off += 1 + len;
	if (sizeof(ref) > set->names_len - off)
		return NULL;
	memcpy(ref, set->names + off, sizeof(ref));
	if (ref[1] == 0 || ref[0] > set->data_len || ref[1] > set->data_len - ref[0])
		return NULL;
	*out_len = ref[1];
	return set->data + ref[0];
}

const char *bl_set_list_name(const struct bl_set *set, uint16_t list_id)
{
	uint32_t off;

	if (list_id >= set->n_lists)
		return NULL;
	off = set->list_offs[list_id];
	return off < set->list_strs_len ? set->list_strs + off : NULL;
}

void bl_set_get_stats(const struct bl_set *set, struct bl_set_stats *out)
{
	out->entries = set->entries;
	out->hot_bytes = set->sec[BL_SEC_SLOTS].length + set->sec[BL_SEC_LISTS].length;
	out->cold_bytes = set->sec[BL_SEC_SOURCES].length + set->sec[BL_SEC_NAMES].length +
			  set->sec[BL_SEC_DATA].length;
	out->mapped = set->storage == SET_MAPPED;
}

/* ---- the builder --------------------------------------------------------------------------- */

/*
 * Ask for transparent huge pages on the big arrays of a build (the whole 2 MiB pages inside
 * [@p, @p + @len)): a build touches every page of them at once, and one fault per 2 MiB instead
 * of per 4 KiB is most of the difference for a 10M-entry set.
 */
static void advise_huge(void *p, size_t len)
{
	const uintptr_t huge = 2u << 20;
	uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	uintptr_t hi = ((uintptr_t)p + len) & ~(huge - 1);

	if (len >= 4 * huge && hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

/** One distinct (name, allow) of a builder. */
struct bentry {
	uint64_t key;	   /**< fingerprint under the builder's seed, low bit = allow */
	uint32_t name_off; /**< of the name record (u8 length, lower-cased name) in names */
	uint32_t line;
	uint32_t categories;
	uint32_t data_off; /**< local data in data, when data_len > 0 */
	uint32_t data_len;
	uint16_t list_id;
	uint8_t flags;
	uint8_t action;
};

/** Dedup index slot: entry number + 1 (0: empty) and the key's high half, to skip entries. */
struct bindex {
	uint32_t idx1;
	uint32_t tag;
};

/** A growable byte buffer with a hard bound. */
struct bbuf {
	uint8_t *p;
	size_t len, cap;
};

/*
 * Adds without local data are checked against the index in batches of this many: each add
 * prefetches its index slot, and the batch is merged when it is full, so that the index misses
 * of a batch overlap instead of costing a memory latency each.
 */
#define BATCH 32

/*
 * Entries [0, n_done) are distinct and in the index; [n_done, n) are pending adds, not yet
 * checked against the index (at most BATCH; their names are the tail of the names buffer from
 * names_done on). Pending adds are merged by flush() before anything reads the entries.
 */
struct bl_builder {
	size_t max_entries;
	uint64_t seed;
	struct bentry *entries;
	size_t n, n_done, cap;
	struct bbuf names; /**< name records of entries [0, n), in entry order, nothing else */
	size_t names_done; /**< length of the records of entries [0, n_done) */
	struct bbuf data;
	struct bindex *index;
	size_t index_cap; /**< power of two, more than twice n (pending adds included) */
	char *list_names[BL_MAX_LISTS];
};

struct bl_builder *bl_builder_new(size_t max_entries)
{
	struct bl_builder *b = core_calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->max_entries = max_entries < MAX_ENTRIES ? max_entries : MAX_ENTRIES;
	b->seed = (uint64_t)core_rand_u32() << 32 | core_rand_u32();
	return b;
}

struct bl_builder *bl_builder_free(struct bl_builder *b)
{
	if (!b)
		return NULL;
	for (size_t i = 0; i < BL_MAX_LISTS; i++)
		core_free(b->list_names[i]);
	core_free(b->entries);
	core_free(b->names.p);
	core_free(b->data.p);
	core_free(b->index);
	return core_free(b);
}

int bl_builder_set_list_name(struct bl_builder *b, uint16_t list_id, const char *name)
{
	char *copy;

	if (!b || !name || list_id >= BL_MAX_LISTS ||
	    strnlen(name, MAX_LIST_NAME + 1) > MAX_LIST_NAME)
		return -EINVAL;
	copy = core_strdup(name);
	if (!copy)
		return -ENOMEM;
	core_free(b->list_names[list_id]);
	b->list_names[list_id] = copy;
	return 0;
}

/* Room for @more bytes in @bb, never beyond UINT32_MAX. @return 0, CORE_ELIMIT, -ENOMEM. */
static int bbuf_reserve(struct bbuf *bb, size_t more)
{
	size_t cap;
	uint8_t *p;

	if (more > UINT32_MAX - bb->len)
		return CORE_ELIMIT;
	if (bb->len + more <= bb->cap)
		return 0;
	cap = bb->cap ? bb->cap : 4096;
	while (cap < bb->len + more)
		cap *= 2;
	if (cap > (size_t)UINT32_MAX + 1)
		cap = (size_t)UINT32_MAX + 1;
	p = core_realloc(bb->p, cap);
	if (!p)
		return -ENOMEM;
	advise_huge(p, cap);
	bb->p = p;
	bb->cap = cap;
	return 0;
}

/* Does @data hold whole (type u16, rdlength u16, rdata) records? */
static bool data_is_records(const uint8_t *data, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		if (len - pos < 4)
			return false;
		pos += 4 + ((size_t)data[pos + 2] << 8 | data[pos + 3]);
	}
	return pos == len;
}

static inline size_t index_pos(uint64_t key, size_t cap)
{
	return (size_t)(key ^ key >> 32) & (cap - 1);
}

/* Find (key, @name) in the index: its entry, or NULL with the free index slot in @out_pos. */
static struct bentry *index_find(const struct bl_builder *b, uint64_t key, const uint8_t *name,
				 size_t len, size_t *out_pos)
{
	size_t mask = b->index_cap - 1;
	uint32_t tag = (uint32_t)(key >> 32);

	for (size_t i = index_pos(key, b->index_cap);; i = (i + 1) & mask) {
		const struct bindex *x = &b->index[i];
		struct bentry *e;

		if (x->idx1 == 0) {
			*out_pos = i;
			return NULL;
		}
		if (x->tag != tag)
			continue;
		e = &b->entries[x->idx1 - 1];
		if (e->key == key && b->names.p[e->name_off] == len &&
		    memcmp(b->names.p + e->name_off + 1, name, len) == 0)
			return e;
	}
}

/* Double the index (or create it). @return 0 or -ENOMEM. */
static int index_grow(struct bl_builder *b)
{
	size_t cap = b->index_cap ? b->index_cap * 2 : 1024;
	struct bindex *index = core_calloc(cap, sizeof(*index));

	if (!index)
		return -ENOMEM;
	advise_huge(index, cap * sizeof(*index));
	for (size_t j = 0; j < b->n_done; j++) {
		uint64_t key = b->entries[j].key;
		size_t i = index_pos(key, cap);

		while (index[i].idx1 != 0)
			i = (i + 1) & (cap - 1);
		index[i].idx1 = (uint32_t)(j + 1);
		index[i].tag = (uint32_t)(key >> 32);
	}
	core_free(b->index);
	b->index = index;
	b->index_cap = cap;
	return 0;
}

static void index_put(struct bl_builder *b, size_t pos, size_t idx)
{
	b->index[pos].idx1 = (uint32_t)(idx + 1);
	b->index[pos].tag = (uint32_t)(b->entries[idx].key >> 32);
}

/* Room for one more entry: entries array and index. @return 0 or -ENOMEM. */
static int reserve_entry(struct bl_builder *b)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct bentry *e = core_realloc(b->entries, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		advise_huge(e, cap * sizeof(*e));
		b->entries = e;
		b->cap = cap;
	}
	if ((b->n + 1) * 2 > b->index_cap)
		return index_grow(b);
	return 0;
}

/* Append @len bytes of local data to @e (same list, local data again). */
static int append_data(struct bl_builder *b, struct bentry *e, const uint8_t *data, size_t len)
{
	size_t total = (size_t)e->data_len + len;
	int rc;

	if (total > MAX_DATA_PER_ENTRY)
		return CORE_ELIMIT;
	if (e->data_len > 0 && e->data_off + e->data_len == b->data.len) {
		/* already last: grow in place */
		rc = bbuf_reserve(&b->data, len);
		if (rc < 0)
			return rc;
	} else {
		rc = bbuf_reserve(&b->data, total);
		if (rc < 0)
			return rc;
		memmove(b->data.p + b->data.len, b->data.p + e->data_off, e->data_len);
		e->data_off = (uint32_t)b->data.len;
		b->data.len += e->data_len;
	}
	memcpy(b->data.p + b->data.len, data, len);
	b->data.len += len;
	e->data_len = (uint32_t)total;
	return 0;
}

/* Set @e's local data to a copy of @data (replacing what it had). */
static int set_data(struct bl_builder *b, struct bentry *e, const uint8_t *data, size_t len)
{
	int rc;

	if (len == 0) {
		e->data_off = 0;
		e->data_len = 0;
		return 0;
	}
	rc = bbuf_reserve(&b->data, len);
	if (rc < 0)
		return rc;
	memcpy(b->data.p + b->data.len, data, len);
	e->data_off = (uint32_t)b->data.len;
	e->data_len = (uint32_t)len;
	b->data.len += len;
	return 0;
}

/* Merge an add into existing entry @e (see bl_builder_add()). */
static int merge(struct bl_builder *b, struct bentry *e, uint32_t categories, uint16_t list_id,
		 uint8_t flags, enum bl_action action, uint32_t line, const uint8_t *data,
		 size_t data_len)
{
	int rc;

	if (flags & BL_SHADOW) {
		/* a shadow gives way to a real entry; shadows only gather categories */
		if (e->flags & BL_SHADOW)
			e->categories |= categories;
		return 0;
	}
	if (e->flags & BL_SHADOW) {
		/* a real entry replaces a shadow whole */
		rc = set_data(b, e, data, data_len);
		if (rc < 0)
			return rc;
		e->categories = categories;
		e->list_id = list_id;
		e->line = line;
		e->flags = flags;
		e->action = (uint8_t)action;
		return 0;
	}
	if (list_id < e->list_id) {
		rc = set_data(b, e, data, data_len);
		if (rc < 0)
			return rc;
		e->list_id = list_id;
		e->line = line;
		e->action = (uint8_t)action;
	} else if (list_id == e->list_id && action == BL_ACTION_LOCAL_DATA &&
		   e->action == BL_ACTION_LOCAL_DATA && data_len > 0) {
		rc = append_data(b, e, data, data_len);
		if (rc < 0)
			return rc;
	}
	e->categories |= categories;
	e->flags |= flags;
	return 0;
}

/*
 * Check the pending adds against the index, in order: a name already there is merged into its
 * entry (pending adds carry no local data, so merging cannot fail) and dropped, with its name
 * record; the others join the index. Allocates nothing.
 */
static void flush(struct bl_builder *b)
{
	size_t w = b->n_done, names_w = b->names_done;

	for (size_t j = b->n_done; j < b->n; j++) {
		struct bentry e = b->entries[j];
		const uint8_t *rec = b->names.p + e.name_off;
		size_t rec_len = (size_t)rec[0] + 1, pos;
		struct bentry *found;

		found = index_find(b, e.key, rec + 1, rec[0], &pos);
		if (found) {
			(void)merge(b, found, e.categories, e.list_id, e.flags,
				    (enum bl_action)e.action, e.line, NULL, 0);
			continue;
		}
		/* keep it: move it and its name record down over the dropped ones */
		memmove(b->names.p + names_w, rec, rec_len);
		e.name_off = (uint32_t)names_w;
		names_w += rec_len;
		b->entries[w] = e;
		index_put(b, pos, w++);
	}
	b->n = w;
	b->n_done = w;
	b->names.len = names_w;
	b->names_done = names_w;
}

size_t bl_builder_count(const struct bl_builder *b)
{
	/* logically const: merging the pending adds changes no result */
	flush((struct bl_builder *)b);
	return b->n;
}

int bl_builder_add(struct bl_builder *b, const uint8_t *name, size_t name_len, uint32_t categories,
		   uint16_t list_id, uint8_t flags, enum bl_action action, uint32_t line,
		   const uint8_t *data, size_t data_len)
{
	uint8_t offs[BL_MAX_LABELS], match;
	struct bentry *e;
	uint8_t *rec;
	uint64_t key;
	size_t pos;
	int rc;

	match = flags & (BL_MATCH_SELF | BL_MATCH_BELOW);
	if (!b || split_labels(name, name_len, offs) < 0 || list_id >= BL_MAX_LISTS ||
	    (flags & ~BL_SLOT_FLAGS_PUBLIC) != 0 ||
	    (flags & BL_SHADOW ? match != 0 || data_len > 0 : match == 0) ||
	    (unsigned)action > BL_ACTION_LOCAL_DATA || (data_len > 0 && !data) ||
	    (data_len > 0 && action != BL_ACTION_LOCAL_DATA))
		return -EINVAL;
	if (data_len > MAX_DATA_PER_ENTRY)
		return CORE_ELIMIT;
	if (data_len > 0 && !data_is_records(data, data_len))
		return -EINVAL;

	/* the hash folds case itself; the stored copy is lower-cased below */
	key = name_key(b->seed, name, name_len) | (flags & BL_ALLOW ? 1 : 0);
	flags &= BL_MATCH_SELF | BL_MATCH_BELOW | BL_SHADOW;

	if (data_len > 0 || b->n >= b->max_entries) {
		/* merging local data can fail, and the bound counts distinct names: decide now */
		uint8_t lower[255];

		flush(b);
		for (size_t i = 0; i < name_len; i++)
			lower[i] = name[i] >= 'A' && name[i] <= 'Z' ? name[i] | 0x20 : name[i];
		e = b->index_cap ? index_find(b, key, lower, name_len, &pos) : NULL;
		if (e)
			return merge(b, e, categories, list_id, flags, action, line, data,
				     data_len);
		if (b->n >= b->max_entries)
			return CORE_ELIMIT;
	}
	rc = reserve_entry(b);
	if (rc < 0)
		return rc;
	rc = bbuf_reserve(&b->names, 1 + name_len);
	if (rc < 0)
		return rc;
	e = &b->entries[b->n];
	*e = (struct bentry){
		.key = key,
		.name_off = (uint32_t)b->names.len,
		.line = line,
		.categories = categories,
		.list_id = list_id,
		.flags = flags,
		.action = (uint8_t)action,
	};
	rc = set_data(b, e, data, data_len);
	if (rc < 0)
		return rc;
	rec = b->names.p + b->names.len;
	rec[0] = (uint8_t)name_len;
	for (size_t i = 0; i < name_len; i++)
		rec[i + 1] = name[i] >= 'A' && name[i] <= 'Z' ? name[i] | 0x20 : name[i];
	b->names.len += 1 + name_len;
	b->n++;
	if (data_len > 0) {
		/* flushed above and known to be new */
		flush(b);
	} else {
		__builtin_prefetch(&b->index[index_pos(key, b->index_cap)]);
		if (b->n - b->n_done >= BATCH)
			flush(b);
	}
	return 0;
}

/* ---- compiling ----------------------------------------------------------------------------- */

/** An entry on its way into the table. */
struct placed {
	uint64_t key; /**< under the seed of this build */
	uint32_t idx; /**< builder entry */
	uint32_t pos; /**< slot */
};

/*
 * The builder's entries as (key, entry) ordered by key, keys under @seed (the builder's own
 * when @seed is its seed, else computed again from the names). A counting sort on the top bits,
 * then insertion sort of the small buckets: keys are uniform, so this is linear.
 * @return 0, ERR_COLLISION, -ENOMEM.
 */
static int sort_entries(const struct bl_builder *b, uint64_t seed, struct placed **out_sorted)
{
	struct placed *sorted;
	uint64_t *rekeyed = NULL;
	uint32_t *start;
	unsigned bits = 1;
	size_t n = b->n, nb;
	int rc = -ENOMEM;

	while (bits < 40 && ((size_t)1 << (bits + 2)) < n)
		bits++;
	nb = (size_t)1 << bits;
	sorted = core_malloc((n ? n : 1) * sizeof(*sorted));
	start = core_calloc(nb + 1, sizeof(*start));
	if (!sorted || !start)
		goto out_free;
	advise_huge(sorted, n * sizeof(*sorted));
	if (seed != b->seed) {
		rekeyed = core_malloc((n ? n : 1) * sizeof(*rekeyed));
		if (!rekeyed)
			goto out_free;
		for (size_t i = 0; i < n; i++) {
			const struct bentry *e = &b->entries[i];
			const uint8_t *rec = b->names.p + e->name_off;

			rekeyed[i] = name_key(seed, rec + 1, rec[0]) | (e->key & 1);
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t key = rekeyed ? rekeyed[i] : b->entries[i].key;

		start[(key >> (64 - bits)) + 1]++;
	}
	for (size_t k = 0; k < nb; k++)
		start[k + 1] += start[k];
	for (size_t i = 0; i < n; i++) {
		uint64_t key = rekeyed ? rekeyed[i] : b->entries[i].key;

		sorted[start[key >> (64 - bits)]++] =
			(struct placed){.key = key, .idx = (uint32_t)i};
	}
	/* start[k] is now the end of bucket k, the start of bucket k + 1 */
	for (size_t k = 0, lo = 0; k < nb; lo = start[k++]) {
		for (size_t i = lo + 1; i < start[k]; i++) {
			struct placed x = sorted[i];
			size_t j = i;

			for (; j > lo && sorted[j - 1].key > x.key; j--)
				sorted[j] = sorted[j - 1];
			sorted[j] = x;
		}
	}
	for (size_t i = 1; i < n; i++) {
		if (sorted[i].key == sorted[i - 1].key) {
			rc = ERR_COLLISION;
			goto out_free;
		}
	}
	*out_sorted = sorted;
	sorted = NULL;
	rc = 0;
out_free:
	core_free(rekeyed);
	core_free(start);
	core_free(sorted);
	return rc;
}

static inline uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

/*
 * Lay out the image of the builder's entries @sorted (ascending keys under @seed).
 * The slots are written in key order and everything else in entry order, so that no pass reads
 * the builder's arrays at random. @return 0, -ENOMEM, CORE_ELIMIT.
 */
static int compile(const struct bl_builder *b, uint64_t seed, struct placed *sorted,
		   struct bl_set **out_set)
{
	struct bl_file_header h = {.version = BL_FILE_VERSION, .endian = BL_FILE_ENDIAN};
	struct bl_file_section *s = h.sections;
	uint64_t home_slots = b->n + (b->n + 3) / 4, next = 0, names_len, data_len = 0;
	uint64_t strs_len = 0;
	uint32_t n_lists = 0, max_run = 0, *pos_of;
	struct bl_slot *slots;
	struct bl_source_rec *sources;
	uint8_t *image, *names, *data;
	uint32_t *list_offs;
	struct bl_set *set;
	int rc = -ENOMEM;

	pos_of = core_malloc((b->n ? b->n : 1) * sizeof(*pos_of));
	if (!pos_of)
		return -ENOMEM;
	advise_huge(pos_of, b->n * sizeof(*pos_of));
	home_slots = align_up(home_slots ? home_slots : 1, BL_BUCKET);
	/* each key at its home or right after the previous one: ascending, no wrap-around */
	for (size_t i = 0; i < b->n; i++) {
		uint64_t home = key_home(sorted[i].key, home_slots);
		uint64_t pos = home > next ? home : next;

		if (pos - home + 1 > max_run)
			max_run = (uint32_t)(pos - home + 1);
		sorted[i].pos = (uint32_t)pos;
		pos_of[sorted[i].idx] = (uint32_t)pos;
		next = pos + 1;
	}
	/* the builder's names are exactly the entries' records; a data reference adds 8 bytes */
	names_len = b->names.len;
	for (size_t i = 0; i < b->n; i++) {
		const struct bentry *e = &b->entries[i];

		if (e->data_len) {
			names_len += 8;
			data_len += e->data_len;
		}
		if (b->names.p[e->name_off] == 1)
			h.flags |= BL_FILE_HAS_ROOT;
	}
	for (uint32_t i = 0; i < BL_MAX_LISTS; i++) {
		if (b->list_names[i]) {
			n_lists = i + 1;
			strs_len += strlen(b->list_names[i]) + 1;
		}
	}
	if (names_len > UINT32_MAX - BL_FILE_ALIGN || data_len > UINT32_MAX - BL_FILE_ALIGN) {
		rc = CORE_ELIMIT;
		goto out_free_pos;
	}

	memcpy(h.magic, BL_FILE_MAGIC, sizeof(h.magic));
	h.header_size = sizeof(h);
	h.seed = seed;
	h.entries = b->n;
	h.home_slots = home_slots;
	h.slots = next > home_slots ? next : home_slots;
	h.lists = n_lists;
	h.max_run = max_run;
	s[BL_SEC_SLOTS].offset = BL_FILE_PAGE;
	s[BL_SEC_SLOTS].length = h.slots * sizeof(struct bl_slot);
	s[BL_SEC_LISTS].offset =
		align_up(s[BL_SEC_SLOTS].offset + s[BL_SEC_SLOTS].length, BL_FILE_ALIGN);
	s[BL_SEC_LISTS].length = align_up(n_lists * sizeof(uint32_t) + strs_len, BL_FILE_ALIGN);
	s[BL_SEC_SOURCES].offset =
		align_up(s[BL_SEC_LISTS].offset + s[BL_SEC_LISTS].length, BL_FILE_PAGE);
	s[BL_SEC_SOURCES].length = h.slots * sizeof(struct bl_source_rec);
	s[BL_SEC_NAMES].offset =
		align_up(s[BL_SEC_SOURCES].offset + s[BL_SEC_SOURCES].length, BL_FILE_ALIGN);
	s[BL_SEC_NAMES].length = align_up(names_len, BL_FILE_ALIGN);
	s[BL_SEC_DATA].offset = s[BL_SEC_NAMES].offset + s[BL_SEC_NAMES].length;
	s[BL_SEC_DATA].length = align_up(data_len, BL_FILE_ALIGN);
	h.file_size = s[BL_SEC_DATA].offset + s[BL_SEC_DATA].length;

	image = core_calloc(1, h.file_size);
	if (!image)
		goto out_free_pos;
	advise_huge(image, h.file_size);
	slots = (struct bl_slot *)(image + s[BL_SEC_SLOTS].offset);
	sources = (struct bl_source_rec *)(image + s[BL_SEC_SOURCES].offset);
	names = image + s[BL_SEC_NAMES].offset;
	data = image + s[BL_SEC_DATA].offset;
	list_offs = (uint32_t *)(image + s[BL_SEC_LISTS].offset);

	for (size_t i = 0; i < b->n; i++)
		slots[sorted[i].pos].key = sorted[i].key;
	/* names and local data in entry order */
	names_len = 0;
	data_len = 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct bentry *e = &b->entries[i];
		struct bl_slot *sl = &slots[pos_of[i]];
		size_t len = (size_t)b->names.p[e->name_off] + 1;

		sl->categories = e->categories;
		sl->list_id = e->list_id;
		sl->flags = (uint8_t)(e->flags | (e->key & 1 ? BL_ALLOW : 0) |
				      (e->data_len ? BL_SLOT_DATA : 0));
		sl->action = e->action;
		sources[pos_of[i]] = (struct bl_source_rec){
			.name_off = (uint32_t)names_len,
			.line = e->line,
		};
		memcpy(names + names_len, b->names.p + e->name_off, len);
		names_len += len;
		if (e->data_len) {
			uint32_t ref[2] = {(uint32_t)data_len, e->data_len};

			memcpy(names + names_len, ref, sizeof(ref));
			names_len += sizeof(ref);
			memcpy(data + data_len, b->data.p + e->data_off, e->data_len);
			data_len += e->data_len;
		}
	}
	/* list names: offsets into the strings that follow the offset table */
	strs_len = 0;
	for (uint32_t i = 0; i < n_lists; i++) {
		char *strs = (char *)(list_offs + n_lists);

		if (!b->list_names[i]) {
			list_offs[i] = UINT32_MAX;
			continue;
		}
		list_offs[i] = (uint32_t)strs_len;
		memcpy(strs + strs_len, b->list_names[i], strlen(b->list_names[i]) + 1);
		strs_len += strlen(b->list_names[i]) + 1;
	}
	memcpy(image, &h, sizeof(h));
	rc = bl_set_image_seal(image, h.file_size);
	if (rc < 0)
		goto out_free_image;
	set = set_alloc(SET_HEAP);
	if (!set) {
		rc = -ENOMEM;
		goto out_free_image;
	}
	rc = attach(set, image, h.file_size, false);
	if (rc < 0)
		goto out_free_set;
	core_free(pos_of);
	*out_set = set;
	return 0;

out_free_set:
	core_free(set);
out_free_image:
	core_free(image);
out_free_pos:
	core_free(pos_of);
	return rc;
}

/* Sort and compile under @seed. @return 0, ERR_COLLISION, -ENOMEM, CORE_ELIMIT. */
static int finish_with_seed(struct bl_builder *b, uint64_t seed, struct bl_set **out_set)
{
	struct placed *sorted = NULL;
	int rc;

	flush(b);
	rc = sort_entries(b, seed, &sorted);
	if (rc < 0)
		return rc;
	rc = compile(b, seed, sorted, out_set);
	core_free(sorted);
	return rc;
}

int bl_builder_finish(struct bl_builder *b, struct bl_set **out_set)
{
	uint64_t seed = b->seed;
	int rc = CORE_ELIMIT;

	for (int attempt = 0; attempt < MAX_RESEEDS; attempt++) {
		rc = finish_with_seed(b, seed, out_set);
		if (rc != ERR_COLLISION)
			return rc;
		/* two names share a fingerprint under this seed: try another */
		seed = (uint64_t)core_rand_u32() << 32 | core_rand_u32();
		if (seed == b->seed)
			seed++;
	}
	return CORE_ELIMIT;
}

int bl_builder_finish_seed(struct bl_builder *b, uint64_t seed, struct bl_set **out_set)
{
	int rc = finish_with_seed(b, seed, out_set);

	return rc == ERR_COLLISION ? CORE_ELIMIT : rc;
}
