/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Benchmark of the compiled domain set (blocklists/set.h): build, write, open and look up a set
 * of N generated names, and measure what the mapped set costs in resident memory.
 * See bench/README-set.md for how to build and run it, and the figures measured here.
 *
 * usage: bench-set [-n ENTRIES] [-q LOOKUPS] [-d DIR] [-k]
 *   -n  entries in the set (default 1000000)
 *   -q  lookups per measurement (default 1000000)
 *   -d  directory of the set file (default /tmp)
 *   -k  keep the set file
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/set.h"
#include "core/alloc.h"
#include "core/error.h"

/* ---- generated names ----------------------------------------------------------------------- */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static const char *const words[] = {
	"tin",	  "bao",    "game", "bet",    "ads",  "track", "cdn",  "img",	"api",	 "news",
	"phim",	  "truyen", "nhac", "video",  "live", "shop",  "mua",  "ban",	"xem",	 "tai",
	"free",	  "hot",    "sex",  "casino", "lo",   "de",    "so",   "xo",	"club",	 "vip",
	"online", "hd",	    "tv",   "mobile", "app",  "cloud", "stat", "pixel", "click", "promo",
	"win",	  "88",	    "w",    "fun",    "zone", "hub",   "net",  "web",	"box",	 "pro",
	"sai",	  "gon",    "ha",   "noi",    "da",   "nang",  "viet", "nam",	"kenh",	 "trang",
};
#define N_WORDS (sizeof(words) / sizeof(words[0]))

static const char *const tlds[] = {
	"com",	  "com",    "com",  "com", "net", "org",  "vn",	    "com.vn",
	"com.vn", "net.vn", "info", "xyz", "top", "club", "online", "site",
	"io",	  "me",	    "tv",   "cc",  "ru",  "cn",	  "biz",    "edu.vn",
};
#define N_TLDS (sizeof(tlds) / sizeof(tlds[0]))

/* Append one label to @o (presentation form, no dot): words, digits or a tracker-style hex id. */
static size_t gen_label(char *o)
{
	size_t n = 0;
	uint32_t kind = rnd() % 10;

	if (kind < 2) {
		int len = 6 + (int)(rnd() % 10);

		for (int i = 0; i < len; i++)
			o[n++] = "0123456789abcdef"[rnd() % 16];
		return n;
	}
	for (int w = 0, nw = 1 + (int)(rnd() % 3); w < nw; w++) {
		const char *s = words[rnd() % N_WORDS];

		memcpy(o + n, s, strlen(s));
		n += strlen(s);
		if (rnd() % 4 == 0)
			o[n++] = '-';
	}
	if (o[n - 1] == '-')
		n--;
	if (kind < 6)
		n += (size_t)sprintf(o + n, "%u", rnd() % 1000);
	return n;
}

/* A realistic blocklist name in wire form: zero to three labels below a generated domain. */
static size_t gen_name(uint8_t *w)
{
	char label[64];
	size_t o = 0, n;
	int sub = (int)(rnd() % 8);
	const char *tld = tlds[rnd() % N_TLDS];

	sub = sub < 4 ? 0 : sub < 6 ? 1 : sub < 7 ? 2 : 3;
	for (int i = 0; i < sub + 1; i++) {
		n = gen_label(label);
		w[o++] = (uint8_t)n;
		memcpy(w + o, label, n);
		o += n;
	}
	while (*tld) {
		const char *dot = strchr(tld, '.');

		n = dot ? (size_t)(dot - tld) : strlen(tld);
		w[o++] = (uint8_t)n;
		memcpy(w + o, tld, n);
		o += n;
		tld += n + (dot ? 1 : 0);
	}
	w[o++] = 0;
	return o;
}

/* Wire names back to back, each preceded by its length byte. */
struct names {
	uint8_t *p;
	size_t len, cap, n, n_cap;
	size_t *off;
};

static void names_add(struct names *ns, const uint8_t *w, size_t len)
{
	if (ns->len + len + 1 > ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 1 << 20;
		ns->p = realloc(ns->p, ns->cap);
	}
	if (ns->n == ns->n_cap) {
		ns->n_cap = ns->n_cap ? ns->n_cap * 2 : 1 << 16;
		ns->off = realloc(ns->off, ns->n_cap * sizeof(*ns->off));
	}
	if (!ns->p || !ns->off) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	ns->off[ns->n++] = ns->len;
	ns->p[ns->len++] = (uint8_t)len;
	memcpy(ns->p + ns->len, w, len);
	ns->len += len;
}

static const uint8_t *names_get(const struct names *ns, size_t i, size_t *len)
{
	*len = ns->p[ns->off[i]];
	return ns->p + ns->off[i] + 1;
}

/* ---- measurements -------------------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A "Field:   N kB" value of @file, in bytes (0 when absent). */
static size_t proc_kb(const char *file, const char *field)
{
	char line[256];
	size_t v = 0, flen = strlen(field);
	FILE *f = fopen(file, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			v = strtoull(line + flen + 1, NULL, 10) * 1024;
			break;
		}
	}
	fclose(f);
	return v;
}

static size_t rss(void)
{
	return proc_kb("/proc/self/status", "VmRSS");
}

/* Rss of the mapping of @path in /proc/self/smaps, in bytes. */
static size_t mapping_rss(const char *path)
{
	char line[512];
	size_t v = 0, plen = strlen(path);
	unsigned long lo, hi;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		size_t l = strcspn(line, "\n");

		line[l] = '\0';
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = l > plen && strcmp(line + l - plen, path) == 0;
		else if (in && strncmp(line, "Rss:", 4) == 0)
			v += strtoull(line + 4, NULL, 10) * 1024;
	}
	fclose(f);
	return v;
}

static double mib(size_t b)
{
	return (double)b / (1024.0 * 1024.0);
}

/* Time @n lookups of @q; ns per lookup, number of lookups that matched in @hits. */
static double time_lookups(const struct bl_set *set, const struct names *q, size_t *hits)
{
	struct bl_match m[8];
	size_t h = 0, len;
	double t0 = now();

	for (size_t i = 0; i < q->n; i++) {
		const uint8_t *w = names_get(q, i, &len);

		h += bl_set_lookup(set, w, len, m, 8) > 0;
	}
	*hits = h;
	return (now() - t0) * 1e9 / (double)q->n;
}

int main(int argc, char **argv)
{
	size_t n = 1000000, nq = 1000000, len;
	const char *dir = "/tmp";
	bool keep = false;
	struct names entries = {0}, q_hit = {0}, q_sub = {0}, q_miss = {0};
	struct bl_builder *b;
	struct bl_set *set, *mapped;
	struct bl_set_stats st;
	uint8_t w[256];
	char path[512];
	double t0, t_add, t_finish, t_write, t_open_cold, t_open_warm, t_unmap;
	size_t live_builder, live_set, file_size, rss0, rss_open, rss_lookup, map_open, map_lookup;
	size_t rss_src, map_src, adds;
	double ns_hit, ns_sub, ns_miss, ns_hit_mem, ns_miss_mem;
	size_t h_hit, h_sub, h_miss;
	int opt, fd;

	while ((opt = getopt(argc, argv, "n:q:d:k")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 'q':
			nq = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'k':
			keep = true;
			break;
		default:
			fprintf(stderr, "usage: %s [-n ENTRIES] [-q LOOKUPS] [-d DIR] [-k]\n",
				argv[0]);
			return 2;
		}
	}
	snprintf(path, sizeof(path), "%s/bench-%ld.set", dir, (long)getpid());

	/* names first (not timed): the builder is timed on adds alone */
	for (size_t i = 0; i < n + n / 2; i++) {
		len = gen_name(w);
		names_add(&entries, w, len);
	}

	b = bl_builder_new(n);
	if (!b)
		return 1;
	t0 = now();
	/* until the builder is full (CORE_ELIMIT): the adds of a whole list, as a parser does them */
	for (adds = 0; adds < entries.n; adds++) {
		size_t i = adds;
		const uint8_t *name = names_get(&entries, i, &len);
		uint8_t flags = i % 16 == 0 ? BL_MATCH_BELOW : BL_MATCH_SELF | BL_MATCH_BELOW;
		int rc;

		if (i % 50 == 0)
			flags |= BL_ALLOW;
		rc = bl_builder_add(b, name, len, 1u << (i % 6), (uint16_t)(i % 4), flags,
				    BL_ACTION_POLICY, (uint32_t)(i + 1), NULL, 0);
		if (rc == CORE_ELIMIT)
			break;
		if (rc != 0) {
			fprintf(stderr, "add failed\n");
			return 1;
		}
	}
	t_add = now() - t0;
	live_builder = core_alloc_live_bytes();
	if (bl_builder_count(b) < n) {
		fprintf(stderr, "only %zu distinct names generated\n", bl_builder_count(b));
		return 1;
	}
	t0 = now();
	if (bl_builder_finish(b, &set) != 0) {
		fprintf(stderr, "finish failed\n");
		return 1;
	}
	t_finish = now() - t0;
	live_set = core_alloc_live_bytes() - live_builder;
	b = bl_builder_free(b);
	bl_set_get_stats(set, &st);

	t0 = now();
	if (bl_set_write(set, path) != 0) {
		fprintf(stderr, "write failed\n");
		return 1;
	}
	t_write = now() - t0;

	/* queries: entries themselves, names below them, names of the same shape not in the set */
	for (size_t i = 0; i < nq; i++) {
		const uint8_t *name = names_get(&entries, rnd() % n, &len);
		uint8_t sub[256];
		size_t l = gen_name(w);

		names_add(&q_hit, name, len);
		if (len + 4 <= 255) {
			memcpy(sub, "\x03www", 4);
			memcpy(sub + 4, name, len);
			names_add(&q_sub, sub, len + 4);
		} else {
			names_add(&q_sub, name, len);
		}
		names_add(&q_miss, w, l);
	}
	ns_hit_mem = time_lookups(set, &q_hit, &h_hit);
	ns_miss_mem = time_lookups(set, &q_miss, &h_miss);
	set = bl_set_unref(set);
	free(entries.p);
	free(entries.off);
	malloc_trim(0);

	/* the file out of the page cache: open as after a reboot */
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		file_size = (size_t)lseek(fd, 0, SEEK_END);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	} else {
		file_size = 0;
	}
	t0 = now();
	if (bl_set_open(path, &mapped) != 0) {
		fprintf(stderr, "open failed\n");
		return 1;
	}
	t_open_cold = now() - t0;
	t0 = now();
	mapped = bl_set_unref(mapped);
	t_unmap = now() - t0;

	rss0 = rss();
	t0 = now();
	if (bl_set_open(path, &mapped) != 0)
		return 1;
	t_open_warm = now() - t0;
	rss_open = rss();
	map_open = mapping_rss(path);
	ns_hit = time_lookups(mapped, &q_hit, &h_hit);
	ns_sub = time_lookups(mapped, &q_sub, &h_sub);
	ns_miss = time_lookups(mapped, &q_miss, &h_miss);
	rss_lookup = rss();
	map_lookup = mapping_rss(path);
	/* explain-style use of the cold part: sources of 1000 matches */
	for (size_t i = 0; i < 1000; i++) {
		struct bl_match m[8];
		struct bl_source src;
		const uint8_t *name = names_get(&q_hit, i, &len);

		if (bl_set_lookup(mapped, name, len, m, 8) > 0 &&
		    bl_set_entry_source(mapped, m[0].entry, &src) != 0)
			return 1;
	}
	rss_src = rss();
	map_src = mapping_rss(path);

	printf("entries                     %zu\n", st.entries);
	printf("hot part                    %.1f MiB (%.1f B/entry)\n", mib(st.hot_bytes),
	       (double)st.hot_bytes / (double)st.entries);
	printf("cold part                   %.1f MiB (%.1f B/entry)\n", mib(st.cold_bytes),
	       (double)st.cold_bytes / (double)st.entries);
	printf("file                        %.1f MiB (%.1f B/entry)\n", mib(file_size),
	       (double)file_size / (double)st.entries);
	printf("builder memory              %.1f MiB (%.1f B/entry)\n", mib(live_builder),
	       (double)live_builder / (double)st.entries);
	printf("in-memory set (hot+cold)    %.1f MiB (%.1f B/entry)\n", mib(live_set),
	       (double)live_set / (double)st.entries);
	printf("builder add                 %.3f s (%zu adds, %.0f ns/add)\n", t_add, adds,
	       t_add * 1e9 / (double)adds);
	printf("builder finish              %.3f s\n", t_finish);
	printf("write (fsync'ed)            %.3f s\n", t_write);
	printf("open, file not cached       %.2f ms\n", t_open_cold * 1e3);
	printf("open, file in page cache    %.2f ms\n", t_open_warm * 1e3);
	printf("unref (munmap)              %.2f ms\n", t_unmap * 1e3);
	printf("RSS before open             %.1f MiB\n", mib(rss0));
	printf("RSS after open              %.1f MiB (+%.1f B/entry; mapping %.1f MiB)\n",
	       mib(rss_open), (double)(rss_open - rss0) / (double)st.entries, mib(map_open));
	printf("RSS after %zu x3 lookups  %.1f MiB (+%.1f B/entry; mapping %.1f MiB)\n", nq,
	       mib(rss_lookup), (double)(rss_lookup - rss0) / (double)st.entries, mib(map_lookup));
	printf("RSS after 1000 sources      %.1f MiB (+%.1f B/entry; mapping %.1f MiB)\n",
	       mib(rss_src), (double)(rss_src - rss0) / (double)st.entries, mib(map_src));
	printf("lookup, entry itself        %.0f ns (%zu/%zu matched)\n", ns_hit, h_hit, nq);
	printf("lookup, www. below entry    %.0f ns (%zu/%zu matched)\n", ns_sub, h_sub, nq);
	printf("lookup, miss                %.0f ns (%zu/%zu matched)\n", ns_miss, h_miss, nq);
	printf("lookup in memory, hit/miss  %.0f / %.0f ns\n", ns_hit_mem, ns_miss_mem);
	mapped = bl_set_unref(mapped);
	if (!keep)
		unlink(path);
	free(q_hit.p);
	free(q_hit.off);
	free(q_sub.p);
	free(q_sub.off);
	free(q_miss.p);
	free(q_miss.off);
	return 0;
}
