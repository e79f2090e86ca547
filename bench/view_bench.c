/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Benchmark of layered lookups (blocklists/view.h) against plain set lookups: what a view costs
 * on the hot path with one layer (the fast path), with a second layer (a synced list's base) and
 * with that layer's overlay (an IXFR delta), compiled under its base's hash seed as
 * bl_overlay_compile() does, or under one of its own. Results in blocklists/README.md.
 *
 * usage: bench-view [-n ENTRIES] [-q LOOKUPS] [-r ROUNDS]
 *   -n  entries of the file-list set (default 1000000); the synced list's base has n/5, its
 *       overlay n/500 (half deletions of base names, half new or changed names)
 *   -q  lookups per measurement (default 1000000)
 *   -r  rounds; the best is reported (default 5)
 *
 * Build: ninja -C BUILD blocklists/bench-view, or by hand:
 *   gcc -O2 -std=gnu11 -D_GNU_SOURCE -I. bench/view_bench.c blocklists/set.c blocklists/view.c \
 *       core/alloc.c -o bench-view
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/internal.h"
#include "blocklists/set.h"
#include "blocklists/view.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static const char *const words[] = {
	"tin",	"bao", "game", "bet",  "ads",	 "track", "cdn",  "img",  "api",  "news",
	"phim", "xem", "tai",  "free", "casino", "lo",	  "de",	  "so",	  "club", "vip",
	"app",	"hd",  "tv",   "win",  "88",	 "fun",	  "zone", "stat", "viet", "kenh",
};
static const char *const tlds[] = {"com", "com", "net", "vn", "com.vn", "org", "xyz", "top"};
#define N_WORDS (sizeof(words) / sizeof(words[0]))
#define N_TLDS (sizeof(tlds) / sizeof(tlds[0]))

/* Append label @s to wire name @w at @o. */
static size_t put_label(uint8_t *w, size_t o, const char *s, size_t n)
{
	w[o++] = (uint8_t)n;
	memcpy(w + o, s, n);
	return o + n;
}

/* A name: 0-2 labels below a generated domain (word + number), under a TLD. */
static size_t gen_name(uint8_t *w)
{
	char label[64];
	size_t o = 0;
	int sub = (int)(rnd() % 6);

	sub = sub < 3 ? 0 : sub < 5 ? 1 : 2;
	for (int i = 0; i < sub; i++) {
		const char *s = words[rnd() % N_WORDS];

		o = put_label(w, o, s, strlen(s));
	}
	o = put_label(w, o, label,
		      (size_t)snprintf(label, sizeof(label), "%s%s%u", words[rnd() % N_WORDS],
				       words[rnd() % N_WORDS], rnd() % 100000));
	for (const char *t = tlds[rnd() % N_TLDS]; *t;) {
		const char *dot = strchr(t, '.');
		size_t n = dot ? (size_t)(dot - t) : strlen(t);

		o = put_label(w, o, t, n);
		t += n + (dot ? 1 : 0);
	}
	w[o++] = 0;
	return o;
}

struct names {
	uint8_t (*w)[256];
	size_t *len;
	size_t n;
};

/* Queries packed back to back (the 256-byte slots above would make the benchmark measure its
 * own cache misses). */
struct packed {
	uint8_t *p;
	size_t *off;
	size_t n;
};

static void names_init(struct names *ns, size_t n)
{
	ns->w = malloc(n * sizeof(*ns->w));
	ns->len = malloc(n * sizeof(*ns->len));
	ns->n = n;
	if (!ns->w || !ns->len) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		ns->len[i] = gen_name(ns->w[i]);
}

/* Entries @from..@to of @ns as a set; @overlay: every other one a shadow, under @seed_of's seed
 * (as bl_overlay_compile() does) when not NULL. */
static struct bl_set *build(const struct names *ns, size_t from, size_t to, uint16_t list,
			    uint32_t cats, bool overlay, const struct bl_set *seed_of)
{
	struct bl_builder *b = bl_builder_new(to - from);
	struct bl_set *set = NULL;

	for (size_t i = from; i < to; i++) {
		uint8_t flags = i % 16 == 0 ? BL_MATCH_BELOW : BL_MATCH_SELF | BL_MATCH_BELOW;

		if (overlay && i % 2 == 0)
			flags = BL_SHADOW;
		if (i % 50 == 0 && !overlay)
			flags |= BL_ALLOW;
		if (bl_builder_add(b, ns->w[i], ns->len[i], cats, list, flags,
				   flags & BL_ALLOW ? BL_ACTION_PASSTHRU : BL_ACTION_POLICY, 1,
				   NULL, 0) != 0) {
			fprintf(stderr, "add failed\n");
			exit(1);
		}
	}
	if ((seed_of ? bl_builder_finish_seed(b, bl_set_seed(seed_of), &set) :
		       bl_builder_finish(b, &set)) != 0) {
		fprintf(stderr, "finish failed\n");
		exit(1);
	}
	bl_builder_free(b);
	return set;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum mode {
	M_SET,
	M_SET2,
	M_VIEW
};

/* ns per lookup of one pass over the queries; @sum keeps the work observable. */
static double measure(enum mode mode, const struct bl_set *a, const struct bl_set *b,
		      const struct bl_view *v, const struct packed *q, size_t *sum)
{
	struct bl_match m[32];
	double t0 = now();

	for (size_t i = 0; i < q->n; i++) {
		const uint8_t *w = q->p + q->off[i] + 1;
		size_t len = q->p[q->off[i]];

		switch (mode) {
		case M_SET:
			*sum += bl_set_lookup(a, w, len, m, 32);
			break;
		case M_SET2:
			*sum += bl_set_lookup(a, w, len, m, 32);
			*sum += bl_set_lookup(b, w, len, m, 32);
			break;
		case M_VIEW:
			*sum += bl_view_lookup(v, w, len, m, 32);
			break;
		}
	}
	return (now() - t0) * 1e9 / (double)q->n;
}

int main(int argc, char **argv)
{
	size_t n = 1000000, nq = 1000000, sum = 0;
	int rounds = 5, opt;
	struct names ns;
	struct packed q;
	size_t used = 0;
	struct bl_set *files, *base, *ov, *ov_own;
	struct bl_view *v1, *v2, *v3, *v4;

	while ((opt = getopt(argc, argv, "n:q:r:")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 'q':
			nq = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-n ENTRIES] [-q LOOKUPS] [-r ROUNDS]\n",
				argv[0]);
			return 2;
		}
	}
	/* names [0, n): file lists; [n, n + n/5): the national base; the overlay: the last
	 * n/1000 base names (every other one deleted: a shadow; the others changed) and n/1000
	 * names after them (every other one new) */
	names_init(&ns, n + n / 5 + n / 1000);
	files = build(&ns, 0, n, 1, 2, false, NULL);
	base = build(&ns, n, n + n / 5, 3, 1, false, NULL);
	ov = build(&ns, n + n / 5 - n / 1000, n + n / 5 + n / 1000, 3, 1, true, base);
	ov_own = build(&ns, n + n / 5 - n / 1000, n + n / 5 + n / 1000, 3, 1, true, NULL);

	/* queries: a third entries of the file lists, a third "www." under base names, a third
	 * fresh names (mostly misses) */
	q.n = nq;
	q.p = malloc(nq * 257);
	q.off = malloc(nq * sizeof(*q.off));
	if (!q.p || !q.off)
		return 1;
	for (size_t i = 0; i < nq; i++) {
		uint8_t *w = q.p + used + 1;
		size_t k, len;

		switch (i % 3) {
		case 0:
			k = rnd() % n;
			memcpy(w, ns.w[k], ns.len[k]);
			len = ns.len[k];
			break;
		case 1:
			k = n + rnd() % (n / 5);
			len = put_label(w, 0, "www", 3);
			if (len + ns.len[k] > 255) {
				memcpy(w, ns.w[k], ns.len[k]);
				len = ns.len[k];
			} else {
				memcpy(w + len, ns.w[k], ns.len[k]);
				len += ns.len[k];
			}
			break;
		default:
			len = gen_name(w);
			break;
		}
		q.off[i] = used;
		q.p[used] = (uint8_t)len;
		used += 1 + len;
	}
	{
		struct bl_set *b2[2] = {files, base}, *o2[2] = {NULL, ov}, *o3[2] = {NULL, ov_own};

		if (bl_view_new(&files, NULL, 1, &v1) != 0 || bl_view_new(b2, NULL, 2, &v2) != 0 ||
		    bl_view_new(b2, o2, 2, &v3) != 0 || bl_view_new(b2, o3, 2, &v4) != 0)
			return 1;
	}
	printf("sets: files %zu entries, national base %zu, overlay %zu; %zu lookups, best of %d\n",
	       bl_set_count(files), bl_set_count(base), bl_set_count(ov), nq, rounds);
	{
		/* rounds interleave the cases, so that drift on a shared machine hits them all */
		static const char *const label[] = {
			"bl_set_lookup(files)",
			"bl_view_lookup, 1 layer (fast path)",
			"bl_set_lookup(files) + bl_set_lookup(base)",
			"bl_view_lookup, 2 layers, no overlay",
			"bl_view_lookup, 2 layers, overlay",
			"  same, overlay under a seed of its own",
		};
		const struct bl_view *views[] = {NULL, v1, NULL, v2, v3, v4};
		const enum mode modes[] = {M_SET, M_VIEW, M_SET2, M_VIEW, M_VIEW, M_VIEW};
		double best[6];

		for (int c = 0; c < 6; c++)
			best[c] = 1e30;
		for (int r = 0; r < rounds; r++) {
			for (int c = 0; c < 6; c++) {
				double t = measure(modes[c], files, base, views[c], &q, &sum);

				if (t < best[c])
					best[c] = t;
			}
		}
		for (int c = 0; c < 6; c++)
			printf("%-44s %6.1f ns\n", label[c], best[c]);
	}
	printf("(checksum %zu)\n", sum);
	bl_view_free(v1);
	bl_view_free(v2);
	bl_view_free(v3);
	bl_view_free(v4);
	bl_set_unref(files);
	bl_set_unref(base);
	bl_set_unref(ov);
	bl_set_unref(ov_own);
	free(ns.w);
	free(ns.len);
	free(q.p);
	free(q.off);
	return 0;
}
