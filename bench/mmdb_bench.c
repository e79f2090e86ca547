/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Benchmark of subscriber lookups from an MMDB file (policy/mmdb.h) against the CIDR table of
 * policy/networks.h holding the same ranges. See policy/README-mmdb.md for how to build and run
 * it, and the figures measured here.
 *
 * usage: bench-mmdb [-n RANGES] [-r RECORDS] [-q LOOKUPS] [-d DIR] [-k] [-p PERL_SCRIPT]
 *   -n  ranges (default 100000): half IPv4 /20-/29 in ISP-like blocks, half IPv6 /48-/64
 *   -r  distinct records {group, network_id, province} shared by the ranges (default 1000)
 *   -q  lookups per measurement (default 1000000)
 *   -d  directory of the generated files (default /tmp)
 *   -k  keep the generated files, and reuse the MMDB file of an earlier -k run (same -n, -r)
 *   -p  path of tests/lib/make_mmdb.pl (default: the one of the source tree, set by meson)
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <maxminddb.h>

#include "config/config.h"
#include "core/alloc.h"
#include "core/error.h"
#include "policy/mmdb.h"
#include "policy/networks.h"

#ifndef MAKE_MMDB
#define MAKE_MMDB "tests/lib/make_mmdb.pl"
#endif

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* Vietnamese ISP-like IPv4 blocks (VNPT, Viettel, FPT, CGNAT) and one IPv6 /29. */
static const struct {
	uint32_t base;
	unsigned len;
} blocks4[] = {
	{0x0ea00000u, 11}, /* 14.160.0.0/11 */
	{0x1b400000u, 10}, /* 27.64.0.0/10 */
	{0x71a00000u, 11}, /* 113.160.0.0/11 */
	{0xabe00000u, 11}, /* 171.224.0.0/11 */
	{0x64400000u, 10}, /* 100.64.0.0/10 */
};
#define N_BLOCKS4 (sizeof(blocks4) / sizeof(blocks4[0]))
static const uint8_t block6[4] = {0x24, 0x02, 0x08, 0x00}; /* 2402:800::/29 */

struct range {
	struct cfg_cidr c;
	uint32_t rec;
};

static void gen_range(struct range *r, bool v6, unsigned nrec)
{
	memset(r, 0, sizeof(*r));
	r->rec = rnd() % nrec;
	if (!v6) {
		unsigned b = rnd() % N_BLOCKS4;
		unsigned len = 20 + rnd() % 10;
		uint32_t a = blocks4[b].base | (rnd() & (0xffffffffu >> blocks4[b].len));
		a &= 0xffffffffu << (32 - len);
		r->c.family = AF_INET;
		r->c.prefix = (uint8_t)len;
		a = htonl(a);
		memcpy(r->c.addr, &a, 4);
		return;
	}
	unsigned len = 48 + (rnd() % 3) * 8; /* 48, 56, 64 */
	r->c.family = AF_INET6;
	r->c.prefix = (uint8_t)len;
	memcpy(r->c.addr, block6, 4);
	r->c.addr[3] |= (uint8_t)(rnd() & 7);
	for (unsigned i = 4; i < 8; i++)
		r->c.addr[i] = (uint8_t)rnd();
	for (unsigned i = len / 8; i < 16; i++)
		r->c.addr[i] = 0;
}

/* A client inside @r (@hit) or a random address of the same blocks (most are in no range). */
static void gen_client(const struct range *r, bool hit, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (r->c.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		uint32_t a;
		if (hit) {
			memcpy(&a, r->c.addr, 4);
			a = ntohl(a) | (rnd() & (0xffffffffu >> r->c.prefix));
		} else {
			unsigned b = rnd() % N_BLOCKS4;
			a = blocks4[b].base | (rnd() & (0xffffffffu >> blocks4[b].len));
		}
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(a);
		return;
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	uint8_t *a = sin6->sin6_addr.s6_addr;
	if (hit) {
		memcpy(a, r->c.addr, 16);
	} else {
		memcpy(a, block6, 4);
		a[3] |= (uint8_t)(rnd() & 7);
		for (unsigned i = 4; i < 8; i++)
			a[i] = (uint8_t)rnd();
	}
	for (unsigned i = 8; i < 16; i++)
		a[i] = (uint8_t)rnd();
}

static const char *const groups[] = {"mam_non", "tieu_hoc", "thcs", "thpt", "giao_vien", "khach"};

static void rec_fields(uint32_t rec, char *id, size_t len, const char **group, char *province)
{
	snprintf(id, len, "VN-%06u", rec);
	*group = groups[rec % 6];
	sprintf(province, "%02u", rec % 63 + 1);
}

/* What pol_mmdb_lookup() would cost decoding the record in the file on every lookup. */
static uint64_t decode_fields(MMDB_lookup_result_s *lr)
{
	static const char *const paths[3][2] = {
		{"group", NULL}, {"network_id", NULL}, {"province", NULL}};
	uint64_t sum = 0;
	if (!lr->found_entry)
		return 0;
	for (unsigned i = 0; i < 3; i++) {
		MMDB_entry_data_s d;
		if (MMDB_aget_value(&lr->entry, &d, paths[i]) == MMDB_SUCCESS && d.has_data)
			sum += d.data_size + (uint8_t)d.utf8_string[0];
	}
	return sum;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-mmdb [-n RANGES] [-r RECORDS] [-q LOOKUPS] [-d DIR] [-k] "
			"[-p MAKE_MMDB_PL]\n");
	exit(2);
}

#define TIME_LOOP(label, q, body)                                             \
	do {                                                                  \
		double t0_ = now();                                           \
		for (size_t k = 0; k < (q); k++) {                            \
			body;                                                 \
		}                                                             \
		double dt_ = now() - t0_;                                     \
		printf("  %-44s %7.1f ns\n", label, dt_ * 1e9 / (double)(q)); \
	} while (0)

int main(int argc, char **argv)
{
	size_t n = 100000, q = 1000000;
	unsigned nrec = 1000;
	const char *dir = "/tmp", *script = MAKE_MMDB;
	bool keep = false;
	int opt;
	while ((opt = getopt(argc, argv, "n:r:q:d:kp:")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			nrec = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'q':
			q = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'k':
			keep = true;
			break;
		case 'p':
			script = optarg;
			break;
		default:
			usage();
		}
	}
	if (n == 0 || q == 0 || nrec == 0)
		usage();

	/* 1. ranges, the text description, the MMDB file */
	struct range *ranges = calloc(n, sizeof(*ranges));
	char txt[512], mmdb[512], cmd[2048];
	snprintf(txt, sizeof(txt), "%s/bench-mmdb-%zu.txt", dir, n);
	snprintf(mmdb, sizeof(mmdb), "%s/bench-mmdb-%zu-%u.mmdb", dir, n, nrec);
	FILE *f = fopen(txt, "w");
	if (!ranges || !f) {
		perror("bench-mmdb");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		char text[INET6_ADDRSTRLEN], id[32], province[8];
		const char *group;
		gen_range(&ranges[i], i % 2 == 1, nrec);
		inet_ntop(ranges[i].c.family, ranges[i].c.addr, text, sizeof(text));
		rec_fields(ranges[i].rec, id, sizeof(id), &group, province);
		fprintf(f, "%s/%u %s %s %s\n", text, ranges[i].c.prefix, group, id, province);
	}
	fclose(f);
	printf("%zu ranges (%zu IPv4 /20-/29, %zu IPv6 /48-/64), %u records, %zu lookups\n", n,
	       (n + 1) / 2, n / 2, nrec, q);
	double t0 = now();
	snprintf(cmd, sizeof(cmd), "perl '%s' '%s' '%s'", script, txt, mmdb);
	if (keep && access(mmdb, R_OK) == 0)
		printf("  reusing %s (-k)\n", mmdb);
	else if (system(cmd) != 0) {
		fprintf(stderr, "bench-mmdb: %s failed\n", cmd);
		return 1;
	}
	printf("  %-44s %7.1f s\n", "write the MMDB (make_mmdb.pl)", now() - t0);

	/* 2. open both */
	long rss0 = rss_kb();
	uint64_t live0 = core_alloc_live_bytes();
	struct pol_mmdb *m;
	char err[512];
	t0 = now();
	if (pol_mmdb_open(mmdb, "group", "network_id", "province", &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-mmdb: %s\n", err);
		return 1;
	}
	double t_open = now() - t0;
	uint64_t live_mmdb = core_alloc_live_bytes() - live0;
	FILE *mf = fopen(mmdb, "r");
	fseek(mf, 0, SEEK_END);
	long fsize = ftell(mf);
	fclose(mf);
	printf("  %-44s %7.2f ms  (file %.1f MB, heap %llu B)\n", "pol_mmdb_open", t_open * 1e3,
	       (double)fsize / 1e6, (unsigned long long)live_mmdb);

	MMDB_s raw; /* the bare library, to split tree walk from field decoding */
	if (MMDB_open(mmdb, MMDB_MODE_MMAP, &raw) != MMDB_SUCCESS)
		return 1;

	struct cfg_network *cn = calloc(n, sizeof(*cn));
	char(*ids)[32] = calloc(n, 32);
	for (size_t i = 0; i < n; i++) {
		/* networks.c keeps the first of equal prefixes, make_mmdb.pl the last line: insert
		 * in reverse so both pick the same range */
		size_t j = n - 1 - i;
		const char *group;
		char province[8];
		rec_fields(ranges[j].rec, ids[i], 32, &group, province);
		cn[i] = (struct cfg_network){.name = ids[i],
					     .id = ids[i],
					     .group = (char *)group,
					     .cidrs = &ranges[j].c,
					     .n_cidrs = 1};
	}
	struct cfg_root cfg = {.networks = cn, .n_networks = n};
	struct pol_networks *nets;
	live0 = core_alloc_live_bytes();
	t0 = now();
	if (pol_networks_new(&cfg, &nets) != 0)
		return 1;
	printf("  %-44s %7.2f ms  (heap %.1f MB)\n", "pol_networks_new (CIDR trie, same ranges)",
	       (now() - t0) * 1e3, (double)(core_alloc_live_bytes() - live0) / 1e6);

	printf("  %-44s %ld kB -> %ld kB\n", "RSS before both opens -> after", rss0, rss_kb());

	/* 3. queries: 90% inside a random range, 10% random addresses of the blocks; and a hot
	 * set of 1000 clients (a school's or a BRAS's active subscribers) */
	struct sockaddr_storage *cl = malloc(q * sizeof(*cl));
	struct sockaddr_storage *hot = malloc(q * sizeof(*hot));
	for (size_t k = 0; k < q; k++)
		gen_client(&ranges[rnd() % n], rnd() % 10 != 0, &cl[k]);
	for (size_t k = 0; k < q; k++)
		hot[k] = cl[k % 1000];

	/* cross-check: both structures give the same network for every client */
	size_t found = 0, mismatch = 0, errors = 0;
	for (size_t k = 0; k < q; k++) {
		struct pol_mmdb_result r;
		int ret = pol_mmdb_lookup(m, (struct sockaddr *)&cl[k], &r);
		const struct pol_network *pn = pol_networks_lookup(nets, (struct sockaddr *)&cl[k]);
		if (ret != 0 && ret != CORE_ENOTFOUND)
			errors++;
		if (ret == 0)
			found++;
		if ((ret == 0) != (pn != NULL) ||
		    (ret == 0 && (strcmp(r.network_id, pn->id) != 0 || strcmp(r.group, pn->group))))
			mismatch++;
	}
	printf("  %-44s %zu found, %zu not, %zu mismatches, %zu errors\n",
	       "cross-check mmdb vs CIDR trie", found, q - found, mismatch, errors);

	volatile uint64_t sink = 0;
	printf("random clients (1M distinct, cache-cold):\n");
	TIME_LOOP("pol_mmdb_lookup", q, {
		struct pol_mmdb_result r;
		sink += (uint64_t)pol_mmdb_lookup(m, (struct sockaddr *)&cl[k], &r) + r.prefix_len;
	});
	TIME_LOOP("  of which MMDB_lookup_sockaddr (tree walk)", q, {
		int st;
		MMDB_lookup_result_s lr =
			MMDB_lookup_sockaddr(&raw, (struct sockaddr *)&cl[k], &st);
		sink += lr.netmask;
	});
	TIME_LOOP("  without the table: walk + 3 MMDB_aget_value", q, {
		int st;
		MMDB_lookup_result_s lr =
			MMDB_lookup_sockaddr(&raw, (struct sockaddr *)&cl[k], &st);
		sink += decode_fields(&lr);
	});
	TIME_LOOP("pol_networks_lookup (CIDR trie)", q,
		  { sink += (uintptr_t)pol_networks_lookup(nets, (struct sockaddr *)&cl[k]); });
	printf("hot clients (1000 distinct, repeated):\n");
	TIME_LOOP("pol_mmdb_lookup", q, {
		struct pol_mmdb_result r;
		sink += (uint64_t)pol_mmdb_lookup(m, (struct sockaddr *)&hot[k], &r) + r.prefix_len;
	});
	TIME_LOOP("  of which MMDB_lookup_sockaddr (tree walk)", q, {
		int st;
		MMDB_lookup_result_s lr =
			MMDB_lookup_sockaddr(&raw, (struct sockaddr *)&hot[k], &st);
		sink += lr.netmask;
	});
	TIME_LOOP("  without the table: walk + 3 MMDB_aget_value", q, {
		int st;
		MMDB_lookup_result_s lr =
			MMDB_lookup_sockaddr(&raw, (struct sockaddr *)&hot[k], &st);
		sink += decode_fields(&lr);
	});
	TIME_LOOP("pol_networks_lookup (CIDR trie)", q,
		  { sink += (uintptr_t)pol_networks_lookup(nets, (struct sockaddr *)&hot[k]); });

	MMDB_close(&raw);
	pol_networks_free(nets);
	pol_mmdb_free(m);
	free(cl);
	free(hot);
	free(cn);
	free(ids);
	free(ranges);
	if (!keep) {
		unlink(txt);
		unlink(mmdb);
	}
	return sink == 42 ? 3 : 0;
}
