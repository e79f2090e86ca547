/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Batches for the authority (see batch.h): the reporter's key, k-folded JSON, signatures. */
#include "compliance/batch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/assert.h"
#include "core/error.h"
#include "core/utf8.h"

#define KEY_PREFIX "lanhmanh-ed25519 "
#define SIG_PREFIX "ed25519="
#define OTHER "other"
#define SCHEMA "lanhmanh-report/1"

/* Append string literal @s. */
#define ADD_LIT(b, s) core_buf_add((b), (s), sizeof(s) - 1)

/* libsodium must be initialised before randombytes and signing; sodium_init() is idempotent
 * and thread-safe. It fails only when the system has no source of randomness. */
static void need_sodium(void)
{
	core_require(sodium_init() >= 0);
}

/* ---- the key file ---- */

int cmpl_key_load(const char *path, struct cmpl_key *out, char *err, size_t errlen)
{
	char text[256];
	unsigned char seed[crypto_sign_SEEDBYTES];
	int r = 0;

	need_sodium();
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "key file '%s': %s", path, strerror(-r));
		return r;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		r = -errno;
		snprintf(err, errlen, "key file '%s': %s", path, strerror(-r));
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode)) {
		r = CORE_EPARSE;
		snprintf(err, errlen, "key file '%s': not a regular file", path);
		goto out_close;
	}
	if (sb.st_mode & S_IRWXO) {
		r = -EPERM;
		snprintf(err, errlen,
			 "key file '%s' is accessible to other users (mode %04o); "
			 "run `chmod 600 %s` (or make a new key)",
			 path, (unsigned)(sb.st_mode & 07777), path);
		goto out_close;
	}
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, text + len, sizeof(text) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "key file '%s': %s", path, strerror(-r));
			goto out_wipe;
		}
		if (n == 0 || len + (size_t)n == sizeof(text) - 1) {
			len += (size_t)n;
			break;
		}
		len += (size_t)n;
	}
	text[len] = '\0';
	/* one line: the prefix, the base64 seed, an optional line end */
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	size_t plen = strlen(KEY_PREFIX);
	size_t seed_len = 0;
	const char *end = NULL;
	if (len <= plen || memcmp(text, KEY_PREFIX, plen) != 0 || memchr(text, '\n', len) ||
	    sodium_base642bin(seed, sizeof(seed), text + plen, len - plen, NULL, &seed_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    *end != '\0' || seed_len != sizeof(seed)) {
		r = CORE_EPARSE;
		snprintf(err, errlen,
			 "key file '%s': not a lanhmanh key (one line \"" KEY_PREFIX
			 "\" and the base64 of a 32-byte seed)",
			 path);
		goto out_wipe;
	}
	crypto_sign_seed_keypair(out->pk, out->sk, seed);
out_wipe:
	sodium_memzero(text, sizeof(text));
	sodium_memzero(seed, sizeof(seed));
out_close:
	close(fd);
	return r;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cmpl_key_generate(const char *path, char *pub_b64, size_t pub_size)
{
	unsigned char seed[crypto_sign_SEEDBYTES];
	struct cmpl_key key;
	char line[sizeof(KEY_PREFIX) +
		  sodium_base64_ENCODED_LEN(crypto_sign_SEEDBYTES, sodium_base64_VARIANT_ORIGINAL)];
	int r;

	if (pub_b64 && pub_size < sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES,
							    sodium_base64_VARIANT_ORIGINAL))
		return -EINVAL;
	need_sodium();
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	/* the umask may only take bits away; make it exactly 0600 */
	if (fchmod(fd, 0600) != 0) {
		r = -errno;
		goto out_unlink;
	}
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(key.pk, key.sk, seed);
	memcpy(line, KEY_PREFIX, strlen(KEY_PREFIX));
	sodium_bin2base64(line + strlen(KEY_PREFIX), sizeof(line) - strlen(KEY_PREFIX), seed,
			  sizeof(seed), sodium_base64_VARIANT_ORIGINAL);
	size_t len = strlen(line);
	line[len++] = '\n';
	r = write_all(fd, line, len);
	if (r == 0 && fsync(fd) != 0)
		r = -errno;
	if (r != 0)
		goto out_unlink;
	if (close(fd) != 0) {
		r = -errno;
		fd = -1;
		goto out_unlink;
	}
	fd = -1;
	if (pub_b64)
		cmpl_key_public_b64(&key, pub_b64, pub_size);
	goto out_wipe;
out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(path);
out_wipe:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(line, sizeof(line));
	sodium_memzero(&key, sizeof(key));
	return r;
}

void cmpl_key_public_b64(const struct cmpl_key *key, char *out, size_t size)
{
	if (size < sodium_base64_ENCODED_LEN(sizeof(key->pk), sodium_base64_VARIANT_ORIGINAL)) {
		if (size > 0)
			out[0] = '\0';
		return;
	}
	sodium_bin2base64(out, size, key->pk, sizeof(key->pk), sodium_base64_VARIANT_ORIGINAL);
}

void cmpl_batch_sign(const struct cmpl_key *key, const void *body, size_t len, char *out,
		     size_t size)
{
	unsigned char sig[crypto_sign_BYTES];
	size_t plen = strlen(SIG_PREFIX);
	if (size < plen + sodium_base64_ENCODED_LEN(sizeof(sig), sodium_base64_VARIANT_ORIGINAL)) {
		if (size > 0)
			out[0] = '\0';
		return;
	}
	need_sodium();
	crypto_sign_detached(sig, NULL, body, len, key->sk);
	memcpy(out, SIG_PREFIX, plen);
	sodium_bin2base64(out + plen, size - plen, sig, sizeof(sig),
			  sodium_base64_VARIANT_ORIGINAL);
}

void cmpl_batch_new_key(const char *reporter_id, char *out, size_t size)
{
	unsigned char rnd[16];
	char hex[2 * sizeof(rnd) + 1];
	if (size == 0)
		return;
	need_sodium();
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	/* a long reporter id is cut, never the random part that makes the key unique */
	size_t room = size > sizeof(hex) + 1 ? size - sizeof(hex) - 1 : 0;
	snprintf(out, size, "%.*s:%s", (int)(room < 1024 ? room : 1024), reporter_id, hex);
}

/* ---- JSON ---- */

/*
 * Append @s as a JSON string. Quotes and backslashes are escaped, control characters written
 * as \u00XX, and bytes that are not UTF-8 replaced by U+FFFD, so the body is always valid
 * UTF-8 JSON whatever the configuration holds.
 */
static int json_str(struct core_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	int r = ADD_LIT(b, "\"");
	while (r == 0 && n > 0) {
		size_t run = 0;
		/* copy the longest run that needs no escaping at once */
		while (run < n && p[run] >= 0x20 && p[run] != '"' && p[run] != '\\') {
			size_t l = core_utf8_seq_len(p + run, n - run);
			if (l == 0)
				break;
			run += l;
		}
		if (run > 0) {
			r = core_buf_add(b, p, run);
			p += run;
			n -= run;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			char esc[2] = {'\\', (char)*p};
			r = core_buf_add(b, esc, 2);
		} else if (*p < 0x20) {
			r = core_buf_printf(b, "\\u%04x", (unsigned)*p);
		} else {
			r = ADD_LIT(b, "\xef\xbf\xbd");
		}
		p++;
		n--;
	}
	return r ? r : ADD_LIT(b, "\"");
}

/* Append "@t" as ISO 8601 UTC ("2026-11-26T03:00:00Z"). */
static int json_time(struct core_buf *b, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char s[64];
	if (!gmtime_r(&tt, &tm) || strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return ADD_LIT(b, "null");
	return core_buf_printf(b, "\"%s\"", s);
}

/* ---- k-folding ---- */

/* Records of the batch point into the interval's strings, or at the literal "other". */
struct out_total {
	const char *network_id, *group;
	uint64_t queries, blocked;
};

struct out_block {
	const char *network_id, *group, *category, *list, *list_version;
	uint64_t count;
};

struct out_top {
	const char *network_id, *domain;
	uint64_t count;
	int rest; /**< 1: the network's "other" (sorted after its names) */
};

static int cmp_total(const void *a, const void *b)
{
	const struct out_total *x = a, *y = b;
	int c = strcmp(x->network_id, y->network_id);
	return c ? c : strcmp(x->group, y->group);
}

static int cmp_block(const void *a, const void *b)
{
	const struct out_block *x = a, *y = b;
	int c = strcmp(x->network_id, y->network_id);
	if (!c)
		c = strcmp(x->group, y->group);
	if (!c)
		c = strcmp(x->category, y->category);
	if (!c)
		c = strcmp(x->list, y->list);
	return c ? c : strcmp(x->list_version, y->list_version);
}

/* Identity of a top record: for merging equal ones. */
static int cmp_top_key(const void *a, const void *b)
{
	const struct out_top *x = a, *y = b;
	int c = strcmp(x->network_id, y->network_id);
	return c ? c : strcmp(x->domain, y->domain);
}

/* Order of the output: per network, names by count (most first) then name, "other" last. */
static int cmp_top_out(const void *a, const void *b)
{
	const struct out_top *x = a, *y = b;
	int c = strcmp(x->network_id, y->network_id);
	if (!c)
		c = x->rest - y->rest;
	if (!c && x->count != y->count)
		c = x->count > y->count ? -1 : 1;
	return c ? c : strcmp(x->domain, y->domain);
}

/* Within one network, names seen most first (the ones kept by name). */
static int cmp_top_rank(const void *a, const void *b)
{
	const struct cmpl_top *x = *(const struct cmpl_top *const *)a;
	const struct cmpl_top *y = *(const struct cmpl_top *const *)b;
	int c = strcmp(x->network_id, y->network_id);
	if (!c && x->count != y->count)
		c = x->count > y->count ? -1 : 1;
	return c ? c : strcmp(x->domain, y->domain);
}

static size_t merge_totals(struct out_total *t, size_t n)
{
	size_t w = 0;
	qsort(t, n, sizeof(*t), cmp_total);
	for (size_t i = 0; i < n; i++) {
		if (w > 0 && cmp_total(&t[w - 1], &t[i]) == 0) {
			t[w - 1].queries += t[i].queries;
			t[w - 1].blocked += t[i].blocked;
		} else {
			t[w++] = t[i];
		}
	}
	return w;
}

static size_t merge_blocks(struct out_block *b, size_t n)
{
	size_t w = 0;
	qsort(b, n, sizeof(*b), cmp_block);
	for (size_t i = 0; i < n; i++) {
		if (w > 0 && cmp_block(&b[w - 1], &b[i]) == 0)
			b[w - 1].count += b[i].count;
		else
			b[w++] = b[i];
	}
	return w;
}

static size_t merge_tops(struct out_top *t, size_t n)
{
	size_t w = 0;
	qsort(t, n, sizeof(*t), cmp_top_key);
	for (size_t i = 0; i < n; i++) {
		if (w > 0 && cmp_top_key(&t[w - 1], &t[i]) == 0) {
			t[w - 1].count += t[i].count;
			t[w - 1].rest |= t[i].rest;
		} else {
			t[w++] = t[i];
		}
	}
	qsort(t, w, sizeof(*t), cmp_top_out);
	return w;
}

/*
 * Fold the national names of @iv into @out (room for n_tops + 1): per network, the names seen
 * at least @k times, at most @top of them; the rest of the network summed under "other" when
 * that sum reaches @k, else into one record of network "other". @return how many, or -ENOMEM.
 */
static ssize_t fold_tops(const struct cmpl_interval *iv, uint64_t k, uint32_t top,
			 struct out_top *out)
{
	size_t n = iv->n_tops, w = 0;
	uint64_t lost = 0;
	if (n == 0)
		return 0;
	const struct cmpl_top **by = core_malloc(n * sizeof(*by));
	if (!by)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		by[i] = &iv->tops[i];
	qsort(by, n, sizeof(*by), cmp_top_rank);
	for (size_t i = 0; i < n;) {
		const char *net = by[i]->network_id;
		uint64_t rest = 0;
		uint32_t kept = 0;
		for (; i < n && strcmp(by[i]->network_id, net) == 0; i++) {
			if (by[i]->count >= k && kept < top) {
				out[w++] = (struct out_top){net, by[i]->domain, by[i]->count, 0};
				kept++;
			} else {
				rest += by[i]->count;
			}
		}
		if (rest >= k && rest > 0)
			out[w++] = (struct out_top){net, OTHER, rest, 1};
		else
			lost += rest;
	}
	if (lost > 0)
		out[w++] = (struct out_top){OTHER, OTHER, lost, 1};
	core_free(by);
	return (ssize_t)merge_tops(out, w);
}

int cmpl_batch_build(const struct cmpl_interval *iv, const struct cmpl_export_params *ex,
		     int64_t seq, const char *idem, struct core_buf *out)
{
	uint64_t k = ex->k_threshold;
	struct out_total *tot = NULL;
	struct out_block *blk = NULL;
	struct out_top *top = NULL;
	size_t n_tot = 0, n_blk = 0;
	ssize_t n_top = 0;
	uint64_t queries = 0, blocked = 0;
	int r = -ENOMEM;

	/* +1: room for the "other" records, and never a zero-size allocation */
	tot = core_malloc((iv->n_totals + 1) * sizeof(*tot));
	blk = core_malloc((iv->n_blocks + 1) * sizeof(*blk));
	top = core_malloc((iv->n_tops + 1) * sizeof(*top));
	if (!tot || !blk || !top)
		goto out_free;

	for (size_t i = 0; i < iv->n_totals; i++) {
		const struct cmpl_total *t = &iv->totals[i];
		bool fold = t->queries < k;
		tot[n_tot++] = (struct out_total){fold ? OTHER : t->network_id,
						  fold ? OTHER : t->group, t->queries, t->blocked};
		queries += t->queries;
		blocked += t->blocked;
	}
	n_tot = merge_totals(tot, n_tot);
	for (size_t i = 0; i < iv->n_blocks; i++) {
		const struct cmpl_block *b = &iv->blocks[i];
		bool fold = b->count < k;
		blk[n_blk++] = (struct out_block){fold ? OTHER : b->network_id,
						  fold ? OTHER : b->group,
						  b->category,
						  b->list,
						  b->list_version,
						  b->count};
	}
	n_blk = merge_blocks(blk, n_blk);
	n_top = fold_tops(iv, k, ex->top_domains, top);
	if (n_top < 0)
		goto out_free;

	r = ADD_LIT(out, "{\"schema\":\"" SCHEMA "\",\"reporter_id\":");
	if (!r)
		r = json_str(out, ex->reporter_id ? ex->reporter_id : "");
	if (!r)
		r = core_buf_printf(out, ",\"seq\":%" PRId64 ",\"idempotency_key\":", seq);
	if (!r)
		r = json_str(out, idem ? idem : "");
	if (!r)
		r = ADD_LIT(out, ",\"software\":");
	if (!r)
		r = json_str(out, ex->software ? ex->software : "");
	if (!r)
		r = ADD_LIT(out, ",\"interval\":{\"start\":");
	if (!r)
		r = json_time(out, iv->start);
	if (!r)
		r = ADD_LIT(out, ",\"end\":");
	if (!r)
		r = json_time(out, iv->end);
	if (!r)
		r = core_buf_printf(out, ",\"seconds\":%" PRId64 ",\"day\":", iv->end - iv->start);
	if (!r)
		r = json_str(out, iv->day);
	if (!r)
		r = ADD_LIT(out, "},\"national_list\":");
	if (!r && !iv->national_version) {
		r = ADD_LIT(out, "null");
	} else if (!r) {
		r = ADD_LIT(out, "{\"version\":");
		if (!r)
			r = json_str(out, iv->national_version);
		if (!r)
			r = ADD_LIT(out, ",\"applied_at\":");
		if (!r)
			r = iv->national_applied ? json_time(out, iv->national_applied) :
						   ADD_LIT(out, "null");
		if (!r)
			r = ADD_LIT(out, "}");
	}
	if (!r)
		r = core_buf_printf(out,
				    ",\"k_threshold\":%" PRIu32 ",\"queries\":%" PRIu64
				    ",\"blocked\":%" PRIu64 ",\"totals\":[",
				    ex->k_threshold, queries, blocked);
	for (size_t i = 0; !r && i < n_tot; i++) {
		r = i ? ADD_LIT(out, ",") : 0;
		if (!r)
			r = ADD_LIT(out, "{\"network_id\":");
		if (!r)
			r = json_str(out, tot[i].network_id);
		if (!r)
			r = ADD_LIT(out, ",\"group\":");
		if (!r)
			r = json_str(out, tot[i].group);
		if (!r)
			r = core_buf_printf(out,
					    ",\"queries\":%" PRIu64 ",\"blocked\":%" PRIu64 "}",
					    tot[i].queries, tot[i].blocked);
	}
	if (!r)
		r = ADD_LIT(out, "],\"blocks\":[");
	for (size_t i = 0; !r && i < n_blk; i++) {
		r = i ? ADD_LIT(out, ",") : 0;
		if (!r)
			r = ADD_LIT(out, "{\"network_id\":");
		if (!r)
			r = json_str(out, blk[i].network_id);
		if (!r)
			r = ADD_LIT(out, ",\"group\":");
		if (!r)
			r = json_str(out, blk[i].group);
		if (!r)
			r = ADD_LIT(out, ",\"category\":");
		if (!r)
			r = json_str(out, blk[i].category);
		if (!r)
			r = ADD_LIT(out, ",\"list\":");
		if (!r)
			r = json_str(out, blk[i].list);
		if (!r)
			r = ADD_LIT(out, ",\"list_version\":");
		if (!r)
			r = json_str(out, blk[i].list_version);
		if (!r)
			r = core_buf_printf(out, ",\"count\":%" PRIu64 "}", blk[i].count);
	}
	if (!r)
		r = ADD_LIT(out, "],\"top_national\":[");
	for (ssize_t i = 0; !r && i < n_top; i++) {
		r = i ? ADD_LIT(out, ",") : 0;
		if (!r)
			r = ADD_LIT(out, "{\"network_id\":");
		if (!r)
			r = json_str(out, top[i].network_id);
		if (!r)
			r = ADD_LIT(out, ",\"domain\":");
		if (!r)
			r = json_str(out, top[i].domain);
		if (!r)
			r = core_buf_printf(out, ",\"count\":%" PRIu64 "}", top[i].count);
	}
	if (!r)
		r = ADD_LIT(out, "]}");
out_free:
	core_free(tot);
	core_free(blk);
	core_free(top);
	return r;
}
