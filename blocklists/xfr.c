/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone transfer client (SOA query, AXFR, IXFR) and NOTIFY checker, with TSIG.
 *
 * ldns builds queries and parses messages into records; the sockets, the transfer state machine
 * and TSIG are ours (README-sync.md says why: ldns 1.8.3 verifies no TSIG on AXFR streams,
 * cannot cover unsigned intermediate messages, does not know hmac-sha384, checks no time, and
 * its TCP helpers cannot tell a timeout from a refused connection or a closed stream).
 */
#include "blocklists/xfr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rand.h"

#define DEFAULT_TIMEOUT_MS 10000u
#define HDR 12 /* DNS header */
#define MAX_MSG 65535
#define NAME_MAX_WIRE 255
#define TSIG_FUDGE 300	     /* seconds, what we put in our signatures */
#define TSIG_MAX_UNSIGNED 99 /* RFC 8945 §5.3.1: at most 99 unsigned messages in a row */
#define TSIG_MAX_SECRET 192  /* bytes: 256 base64 characters */

enum {
	T_SOA = 6,
	T_TSIG = 250,
	T_IXFR = 251,
	T_AXFR = 252,
	C_IN = 1,
	C_ANY = 255,
	OP_QUERY = 0,
	OP_NOTIFY = 4,
	RC_FORMERR = 1,
	RC_NOTIMP = 4,
	RC_NOTAUTH = 9,
};

/* Internal: the primary does not do IXFR (NOTIMP/FORMERR): ask again with AXFR. */
#define RETRY_AXFR 1

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Real monotonic time: socket deadlines must not follow core_clock's test fake. */
static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------------------------ */
/* Names on the wire                                                                           */

/*
 * Read the name at *@pos of @wire, following compression pointers, into @out (256 bytes, or
 * NULL to skip), lower-cased when @lower. *@pos moves past the name where it stands.
 * @return the name's wire length, 0 when malformed.
 */
static size_t name_read(const uint8_t *wire, size_t len, size_t *pos, uint8_t *out, bool lower)
{
	size_t p = *pos, n = 0, end = 0;
	unsigned hops = 0;
	for (;;) {
		if (p >= len)
			return 0;
		uint8_t c = wire[p];
		if ((c & 0xC0) == 0xC0) {
			if (p + 1 >= len || ++hops > 64)
				return 0;
			if (!end)
				end = p + 2;
			p = (size_t)(c & 0x3F) << 8 | wire[p + 1];
			continue;
		}
		if (c & 0xC0)
			return 0; /* extended label types */
		if (p + 1 + c > len || n + 1 + c > NAME_MAX_WIRE)
			return 0;
		if (out) {
			out[n] = c;
			for (size_t i = 0; i < c; i++) {
				uint8_t b = wire[p + 1 + i];
				out[n + 1 + i] =
					lower && b >= 'A' && b <= 'Z' ? (uint8_t)(b + 32) : b;
			}
		}
		n += 1 + (size_t)c;
		p += 1 + (size_t)c;
		if (c == 0)
			break;
	}
	*pos = end ? end : p;
	return n;
}

/* ------------------------------------------------------------------------------------------ */
/* TSIG (RFC 8945)                                                                             */

static const struct {
	const char *name;      /* as configured */
	const char *wire_name; /* the algorithm's domain name */
	const char *digest;    /* OpenSSL digest */
	size_t mac_len;
} tsig_algs[] = {
	{"hmac-md5", "hmac-md5.sig-alg.reg.int.", "MD5", 16},
	{"hmac-sha1", "hmac-sha1.", "SHA1", 20},
	{"hmac-sha224", "hmac-sha224.", "SHA224", 28},
	{"hmac-sha256", "hmac-sha256.", "SHA256", 32},
	{"hmac-sha384", "hmac-sha384.", "SHA384", 48},
	{"hmac-sha512", "hmac-sha512.", "SHA512", 64},
};

/* A key ready for use: names in canonical wire form, secret decoded. */
struct key {
	uint8_t name[NAME_MAX_WIRE + 1];
	size_t name_len;
	uint8_t alg[NAME_MAX_WIRE + 1];
	size_t alg_len;
	const char *digest;
	size_t mac_len;
	uint8_t secret[TSIG_MAX_SECRET];
	size_t secret_len;
	const char *label; /* the configured name, for messages */
};

/* Canonical wire form of presentation name @s into @out; @return length or 0. */
static size_t name_from_str(const char *s, uint8_t *out)
{
	ldns_rdf *d = NULL;
	if (!s[0] || ldns_str2rdf_dname(&d, s) != LDNS_STATUS_OK || !d)
		return 0;
	ldns_dname2canonical(d);
	size_t n = ldns_rdf_size(d);
	if (n > NAME_MAX_WIRE)
		n = 0;
	else
		memcpy(out, ldns_rdf_data(d), n);
	ldns_rdf_deep_free(d);
	return n;
}

/* Prepare @t into @k. @return 0, or CORE_ECONFIG with @why set. */
static int key_init(struct key *k, const struct bl_tsig *t, const char **why)
{
	memset(k, 0, sizeof(*k));
	k->label = t->name;
	k->name_len = name_from_str(t->name, k->name);
	if (k->name_len < 2) { /* the root is no key name */
		*why = "the TSIG key name is not a domain name";
		return CORE_ECONFIG;
	}
	char alg[sizeof(t->algorithm)];
	snprintf(alg, sizeof(alg), "%s", t->algorithm);
	size_t n = strlen(alg);
	if (n && alg[n - 1] == '.')
		alg[--n] = 0;
	for (size_t i = 0; i < sizeof(tsig_algs) / sizeof(tsig_algs[0]); i++) {
		size_t wn = strlen(tsig_algs[i].wire_name) - 1;
		if (strcasecmp(alg, tsig_algs[i].name) == 0 ||
		    (n == wn && strncasecmp(alg, tsig_algs[i].wire_name, wn) == 0)) {
			k->digest = tsig_algs[i].digest;
			k->mac_len = tsig_algs[i].mac_len;
			k->alg_len = name_from_str(tsig_algs[i].wire_name, k->alg);
		}
	}
	if (!k->digest || !k->alg_len) {
		*why = "unknown TSIG algorithm (hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, "
		       "hmac-sha1, hmac-md5)";
		return CORE_ECONFIG;
	}
	ldns_rdf *b = NULL;
	if (ldns_str2rdf_b64(&b, t->secret) != LDNS_STATUS_OK || !b || ldns_rdf_size(b) == 0 ||
	    ldns_rdf_size(b) > sizeof(k->secret)) {
		ldns_rdf_deep_free(b);
		*why = "the TSIG secret is not base64 (or empty, or longer than 192 bytes)";
		return CORE_ECONFIG;
	}
	k->secret_len = ldns_rdf_size(b);
	memcpy(k->secret, ldns_rdf_data(b), k->secret_len);
	ldns_rdf_deep_free(b);
	return 0;
}

static EVP_MAC_CTX *mac_new(const struct key *k)
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!m)
		return NULL;
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
	EVP_MAC_free(m);
	if (!c)
		return NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)k->digest, 0),
		OSSL_PARAM_construct_end(),
	};
	if (!EVP_MAC_init(c, k->secret, k->secret_len, params)) {
		EVP_MAC_CTX_free(c);
		return NULL;
	}
	return c;
}

/* Feed a MAC as the digest carries it: two bytes of length, then the MAC. */
static bool mac_feed_prior(EVP_MAC_CTX *c, const uint8_t *mac, size_t len)
{
	uint8_t l[2];
	wr16(l, (unsigned)len);
	return EVP_MAC_update(c, l, 2) && (len == 0 || EVP_MAC_update(c, mac, len));
}

/* Feed the TSIG variables of a first (or only) message, RFC 8945 §4.3.3. */
static bool mac_feed_vars(EVP_MAC_CTX *c, const struct key *k, const uint8_t timers[8],
			  unsigned error, const uint8_t *other, size_t other_len)
{
	static const uint8_t class_ttl[6] = {0, C_ANY, 0, 0, 0, 0};
	uint8_t tail[4];
	wr16(tail, error);
	wr16(tail + 2, (unsigned)other_len);
	return EVP_MAC_update(c, k->name, k->name_len) && EVP_MAC_update(c, class_ttl, 6) &&
	       EVP_MAC_update(c, k->alg, k->alg_len) && EVP_MAC_update(c, timers, 8) &&
	       EVP_MAC_update(c, tail, 4) &&
	       (other_len == 0 || EVP_MAC_update(c, other, other_len));
}

/*
 * Sign message @buf (@len bytes, @size room) with @k: append a TSIG RR. @req_mac: the MAC of
 * the request being answered (NULL for a request). The MAC goes to @out_mac (64 bytes) when
 * not NULL. @return the new length, 0 when out of room or on a crypto failure.
 */
static size_t tsig_sign(const struct key *k, uint8_t *buf, size_t len, size_t size,
			const uint8_t *req_mac, size_t req_mac_len, uint8_t *out_mac)
{
	size_t rdlen = k->alg_len + 8 + 2 + k->mac_len + 6;
	size_t need = len + k->name_len + 10 + rdlen;
	if (len < HDR || need > size || need > MAX_MSG)
		return 0;
	uint8_t timers[8];
	uint64_t now = (uint64_t)time(NULL);
	for (int i = 0; i < 6; i++)
		timers[i] = (uint8_t)(now >> (8 * (5 - i)));
	wr16(timers + 6, TSIG_FUDGE);

	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	EVP_MAC_CTX *c = mac_new(k);
	bool ok = c && (!req_mac || mac_feed_prior(c, req_mac, req_mac_len)) &&
		  EVP_MAC_update(c, buf, len) && mac_feed_vars(c, k, timers, 0, NULL, 0) &&
		  EVP_MAC_final(c, mac, &mac_len, sizeof(mac));
	EVP_MAC_CTX_free(c);
	if (!ok || mac_len != k->mac_len)
		return 0;

	uint8_t *w = buf + len;
	memcpy(w, k->name, k->name_len);
	w += k->name_len;
	wr16(w, T_TSIG);
	wr16(w + 2, C_ANY);
	memset(w + 4, 0, 4);
	wr16(w + 8, (unsigned)rdlen);
	w += 10;
	memcpy(w, k->alg, k->alg_len);
	w += k->alg_len;
	memcpy(w, timers, 8);
	w += 8;
	wr16(w, (unsigned)mac_len);
	memcpy(w + 2, mac, mac_len);
	w += 2 + mac_len;
	memcpy(w, buf, 2);   /* original ID */
	memset(w + 2, 0, 4); /* error, other length */
	w += 6;
	wr16(buf + 10, rd16(buf + 10) + 1u);
	if (out_mac)
		memcpy(out_mac, mac, mac_len);
	return need;
}

/* A TSIG RR as found at the end of a message. */
struct tsig_rr {
	size_t off; /* where it starts: the message without it is wire[0..off) */
	uint8_t name[NAME_MAX_WIRE + 1];
	size_t name_len;
	uint8_t alg[NAME_MAX_WIRE + 1];
	size_t alg_len;
	uint8_t timers[8]; /* time signed (48 bits) and fudge, as on the wire */
	const uint8_t *mac;
	size_t mac_len;
	uint16_t orig_id;
	uint16_t error;
	const uint8_t *other;
	size_t other_len;
};

/* Find the TSIG RR of @wire. @return 1 found, 0 none, -1 malformed. */
static int tsig_find(const uint8_t *wire, size_t len, struct tsig_rr *t)
{
	if (len < HDR)
		return -1;
	unsigned qd = rd16(wire + 4), an = rd16(wire + 6), ns = rd16(wire + 8),
		 ar = rd16(wire + 10);
	size_t pos = HDR;
	for (unsigned i = 0; i < qd; i++) {
		if (!name_read(wire, len, &pos, NULL, false) || pos + 4 > len)
			return -1;
		pos += 4;
	}
	unsigned n = an + ns + ar;
	for (unsigned i = 0; i < n; i++) {
		size_t start = pos;
		size_t olen = name_read(wire, len, &pos, t->name, true);
		if (!olen || pos + 10 > len)
			return -1;
		unsigned type = rd16(wire + pos), cls = rd16(wire + pos + 2);
		size_t rdata = pos + 10, rdlen = rd16(wire + pos + 8);
		if (rdata + rdlen > len)
			return -1;
		pos = rdata + rdlen;
		if (type != T_TSIG)
			continue;
		/* the last record of the additional section, nothing after it */
		if (i != n - 1 || i < an + ns || pos != len || cls != C_ANY)
			return -1;
		t->off = start;
		t->name_len = olen;
		size_t q = rdata;
		t->alg_len = name_read(wire, rdata + rdlen, &q, t->alg, true);
		if (!t->alg_len || q + 10 > rdata + rdlen)
			return -1;
		memcpy(t->timers, wire + q, 8);
		t->mac_len = rd16(wire + q + 8);
		q += 10;
		if (q + t->mac_len + 6 > rdata + rdlen)
			return -1;
		t->mac = wire + q;
		q += t->mac_len;
		t->orig_id = rd16(wire + q);
		t->error = rd16(wire + q + 2);
		t->other_len = rd16(wire + q + 4);
		q += 6;
		t->other = wire + q;
		if (q + t->other_len != rdata + rdlen)
			return -1;
		return 1;
	}
	return 0;
}

enum tsig_verdict {
	TV_OK,	     /* signed and verified */
	TV_PENDING,  /* unsigned intermediate message, to be covered by the next signature */
	TV_UNSIGNED, /* no signature where one is required */
	TV_TOO_MANY_UNSIGNED,
	TV_MALFORMED,
	TV_BADKEY, /* another key name or algorithm */
	TV_BADSIG,
	TV_BADTIME,
	TV_PEER_ERROR, /* the peer reports a TSIG error in its TSIG RR */
	TV_NOMEM,
};

/* Verification state over one request (no prior MAC) or one answer stream. */
struct tsig_state {
	const struct key *k;
	uint8_t prior[EVP_MAX_MD_SIZE]; /* request MAC, then the last verified MAC */
	size_t prior_len;
	bool have_prior;     /* false for a request */
	unsigned verified;   /* signed messages verified so far */
	unsigned pending;    /* unsigned messages since the last signed one */
	EVP_MAC_CTX *run;    /* digest over those, begun with the prior MAC */
	struct tsig_rr last; /* the last TSIG RR seen (for its error field) */
};

static void tsig_state_deinit(struct tsig_state *s)
{
	EVP_MAC_CTX_free(s->run);
	s->run = NULL;
}

/* Verify message @wire of a stream (or a single request/answer). */
static enum tsig_verdict tsig_verify(struct tsig_state *s, const uint8_t *wire, size_t len)
{
	struct tsig_rr *t = &s->last;
	int found = tsig_find(wire, len, t);
	if (found < 0)
		return TV_MALFORMED;
	if (found == 0) {
		if (s->verified == 0)
			return TV_UNSIGNED;
		if (s->pending >= TSIG_MAX_UNSIGNED)
			return TV_TOO_MANY_UNSIGNED;
		if (!s->run) {
			s->run = mac_new(s->k);
			if (!s->run || !mac_feed_prior(s->run, s->prior, s->prior_len))
				return TV_NOMEM;
		}
		if (!EVP_MAC_update(s->run, wire, len))
			return TV_NOMEM;
		s->pending++;
		return TV_PENDING;
	}
	if (t->name_len != s->k->name_len || memcmp(t->name, s->k->name, t->name_len) != 0 ||
	    t->alg_len != s->k->alg_len || memcmp(t->alg, s->k->alg, t->alg_len) != 0)
		return TV_BADKEY;
	if (t->error)
		return TV_PEER_ERROR;
	/* We configure no truncation (RFC 8945 §5.2.2.1): the MAC must be whole. */
	if (t->mac_len != s->k->mac_len)
		return TV_BADSIG;

	EVP_MAC_CTX *c = s->run;
	s->run = NULL;
	if (!c) {
		c = mac_new(s->k);
		if (!c || (s->have_prior && !mac_feed_prior(c, s->prior, s->prior_len))) {
			EVP_MAC_CTX_free(c);
			return TV_NOMEM;
		}
	}
	uint8_t h[HDR];
	memcpy(h, wire, HDR);
	wr16(h, t->orig_id);
	wr16(h + 10, rd16(h + 10) - 1u);
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	bool ok = EVP_MAC_update(c, h, HDR) && EVP_MAC_update(c, wire + HDR, t->off - HDR);
	if (s->verified == 0)
		ok = ok && mac_feed_vars(c, s->k, t->timers, t->error, t->other, t->other_len);
	else
		ok = ok && EVP_MAC_update(c, t->timers, 8); /* later messages: timers only */
	ok = ok && EVP_MAC_final(c, mac, &mac_len, sizeof(mac));
	EVP_MAC_CTX_free(c);
	if (!ok)
		return TV_NOMEM;
	if (mac_len != t->mac_len || CRYPTO_memcmp(mac, t->mac, mac_len) != 0)
		return TV_BADSIG;

	uint64_t signed_at = 0;
	for (int i = 0; i < 6; i++)
		signed_at = signed_at << 8 | t->timers[i];
	uint64_t now = (uint64_t)time(NULL);
	uint64_t skew = now > signed_at ? now - signed_at : signed_at - now;
	if (skew > rd16(t->timers + 6))
		return TV_BADTIME;

	memcpy(s->prior, t->mac, t->mac_len);
	s->prior_len = t->mac_len;
	s->have_prior = true;
	s->verified++;
	s->pending = 0;
	return TV_OK;
}

static const char *tsig_error_name(unsigned e)
{
	switch (e) {
	case 16:
		return "BADSIG: check the secret";
	case 17:
		return "BADKEY: the primary does not know this key name and algorithm";
	case 18:
		return "BADTIME: the clocks differ by more than the fudge";
	case 22:
		return "BADTRUNC";
	default:
		return "unknown TSIG error";
	}
}

static const char *verdict_text(enum tsig_verdict v)
{
	switch (v) {
	case TV_OK:
	case TV_PENDING:
		return "ok";
	case TV_UNSIGNED:
		return "not TSIG-signed, and a TSIG key is configured";
	case TV_TOO_MANY_UNSIGNED:
		return "more than 99 unsigned messages in a row (RFC 8945 5.3.1)";
	case TV_MALFORMED:
		return "malformed TSIG record";
	case TV_BADKEY:
		return "TSIG key name or algorithm is not the configured one";
	case TV_BADSIG:
		return "bad TSIG signature";
	case TV_BADTIME:
		return "TSIG time outside the allowed window";
	case TV_PEER_ERROR:
		return "TSIG error from the peer";
	case TV_NOMEM:
		return "out of memory in TSIG";
	}
	return "TSIG failure";
}

/* ------------------------------------------------------------------------------------------ */
/* Context, errors                                                                             */

struct ctx {
	const struct bl_xfr_params *p;
	struct bl_xfr_result *out;
	const char *what; /* "SOA query", "AXFR", "IXFR" */
	char addr[INET6_ADDRSTRLEN + 8];
	ldns_rdf *zone; /* owned, canonical */
	char zone_str[LDNS_MAX_DOMAINLEN * 4 + 2];
	struct key key;
	bool tsig;
	uint32_t timeout_ms;
};

static void format_addr(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
	}
	snprintf(buf, size, "%s#%u", a, port);
}

/* Record the failure in out->error (what, zone, primary: message) and return @code. */
__attribute__((format(printf, 3, 4))) static int fail(struct ctx *x, int code, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char *e = x->out->error;
	size_t size = sizeof(x->out->error);
	bool soa = strcmp(x->what, "SOA query") == 0;
	if (snprintf(e, size, "%s %s '%s' %s %s: %s", x->what, soa ? "for" : "of",
		     x->zone_str[0] ? x->zone_str : x->p->zone, soa ? "to" : "from", x->addr,
		     msg) >= (int)size)
		memcpy(e + size - 4, "...", 4); /* one line, cut visibly */
	return code;
}

static int ctx_init(struct ctx *x, const struct bl_xfr_params *p, struct bl_xfr_result *out,
		    const char *what)
{
	memset(x, 0, sizeof(*x));
	memset(out, 0, sizeof(*out));
	x->p = p;
	x->out = out;
	x->what = what;
	x->timeout_ms = p->timeout_ms ? p->timeout_ms : DEFAULT_TIMEOUT_MS;
	format_addr(&p->primary, x->addr, sizeof(x->addr));
	if ((p->primary.ss_family != AF_INET && p->primary.ss_family != AF_INET6) ||
	    p->primary_len == 0 || p->primary_len > sizeof(p->primary))
		return fail(x, CORE_ECONFIG, "the primary's address is not IPv4 or IPv6");
	if (!p->zone[0] || ldns_str2rdf_dname(&x->zone, p->zone) != LDNS_STATUS_OK || !x->zone)
		return fail(x, CORE_ECONFIG, "the zone name is not a domain name");
	ldns_dname2canonical(x->zone);
	char *z = ldns_rdf2str(x->zone);
	if (!z)
		return fail(x, -ENOMEM, "out of memory");
	snprintf(x->zone_str, sizeof(x->zone_str), "%s", z);
	free(z);
	if (p->tsig) {
		const char *why = NULL;
		int r = key_init(&x->key, p->tsig, &why);
		if (r)
			return fail(x, r, "%s", why);
		x->tsig = true;
	}
	return 0;
}

static void ctx_deinit(struct ctx *x)
{
	ldns_rdf_deep_free(x->zone);
	x->zone = NULL;
	OPENSSL_cleanse(&x->key, sizeof(x->key));
}

/* "@doing: connection refused" / "@doing: nothing within 10000 ms" */
static int fail_errno(struct ctx *x, int code, const char *doing)
{
	if (code == CORE_ETIMEOUT)
		return fail(x, code, "%s: nothing within %u ms", doing, x->timeout_ms);
	return fail(x, code, "%s: %s", doing, core_strerror(code));
}

/* ------------------------------------------------------------------------------------------ */
/* Sockets                                                                                     */

static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			return CORE_ETIMEOUT;
		struct pollfd pfd = {.fd = fd, .events = events};
		int r = poll(&pfd, 1, (int)(deadline - now));
		if (r > 0)
			return 0; /* ready, or an error the next call reports */
		if (r == 0)
			return CORE_ETIMEOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int tcp_connect(const struct bl_xfr_params *p, uint64_t deadline, int *out_fd)
{
	int fd = socket(p->primary.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int r = 0;
	if (connect(fd, (const struct sockaddr *)&p->primary, p->primary_len) < 0) {
		if (errno != EINPROGRESS)
			r = -errno;
		else
			r = wait_fd(fd, POLLOUT, deadline);
		if (r == 0) {
			int err = 0;
			socklen_t l = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
				err = errno;
			r = -err;
		}
	}
	if (r) {
		close(fd);
		return r;
	}
	*out_fd = fd;
	return 0;
}

static int send_all(int fd, const uint8_t *buf, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		int r = wait_fd(fd, POLLOUT, deadline);
		if (r)
			return r;
	}
	return 0;
}

/* Read exactly @len bytes. @return 0, 1 on end of stream before the first byte, or an error. */
static int recv_exact(int fd, uint8_t *buf, size_t len, uint64_t deadline, bool *got_any)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);
		if (n > 0) {
			got += (size_t)n;
			*got_any = true;
			continue;
		}
		if (n == 0)
			return *got_any ? -ECONNRESET : 1;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		int r = wait_fd(fd, POLLIN, deadline);
		if (r)
			return r;
	}
	return 0;
}

/* Read one length-prefixed message into @buf (MAX_MSG bytes) within @timeout_ms.
 * @return 0, 1 when the peer closed the stream between messages, or an error. */
static int tcp_read_msg(int fd, uint8_t *buf, size_t *out_len, uint32_t timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	uint8_t l[2];
	bool got_any = false;
	int r = recv_exact(fd, l, 2, deadline, &got_any);
	if (r)
		return r;
	size_t len = rd16(l);
	if (len < HDR)
		return CORE_EPROTO;
	r = recv_exact(fd, buf, len, deadline, &got_any);
	if (r)
		return r == 1 ? -ECONNRESET : r;
	*out_len = len;
	return 0;
}

static int tcp_send_msg(int fd, const uint8_t *msg, size_t len, uint32_t timeout_ms)
{
	uint8_t *b = core_malloc(len + 2);
	if (!b)
		return -ENOMEM;
	wr16(b, (unsigned)len);
	memcpy(b + 2, msg, len);
	int r = send_all(fd, b, len + 2, now_ms() + timeout_ms);
	core_free(b);
	return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Queries and answers                                                                         */

/* A query ready to send, and what its answer is checked against. */
struct query {
	uint8_t wire[1024];
	size_t len;
	uint16_t id;
	uint16_t qtype;
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t mac_len;
};

static int build_query(struct ctx *x, struct query *q, uint16_t qtype, bool ixfr, uint32_t serial)
{
	int ret = -ENOMEM;
	ldns_rr *soa = NULL;
	uint8_t *w = NULL;
	size_t wlen = 0;
	ldns_rdf *name = ldns_rdf_clone(x->zone);
	ldns_pkt *pkt = name ? ldns_pkt_query_new(name, qtype, LDNS_RR_CLASS_IN, 0) : NULL;
	if (!pkt) {
		ldns_rdf_deep_free(name);
		goto out;
	}
	q->id = (uint16_t)core_rand_u32();
	q->qtype = qtype;
	ldns_pkt_set_id(pkt, q->id);
	if (ixfr) {
		/* RFC 1995 §3: our SOA in the authority section; only the serial matters. */
		char text[LDNS_MAX_DOMAINLEN * 4 + 64];
		snprintf(text, sizeof(text), "%s 0 IN SOA . . %u 0 0 0 0", x->zone_str, serial);
		if (ldns_rr_new_frm_str(&soa, text, 0, NULL, NULL) != LDNS_STATUS_OK) {
			ret = fail(x, CORE_EPARSE, "cannot build the IXFR query");
			goto out;
		}
		if (!ldns_pkt_push_rr(pkt, LDNS_SECTION_AUTHORITY, soa))
			goto out;
		soa = NULL;
	}
	if (ldns_pkt2wire(&w, pkt, &wlen) != LDNS_STATUS_OK || wlen > sizeof(q->wire))
		goto out;
	memcpy(q->wire, w, wlen);
	q->len = wlen;
	q->mac_len = 0;
	if (x->tsig) {
		q->len = tsig_sign(&x->key, q->wire, wlen, sizeof(q->wire), NULL, 0, q->mac);
		if (!q->len) {
			ret = fail(x, CORE_EPROTO, "TSIG: cannot sign the query");
			goto out;
		}
		q->mac_len = x->key.mac_len;
	}
	ret = 0;
out:
	if (ret == -ENOMEM)
		fail(x, ret, "out of memory");
	free(w);
	ldns_rr_free(soa);
	ldns_pkt_free(pkt);
	return ret;
}

static const char *rcode_name(unsigned rc)
{
	const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rc);
	return t && t->name ? t->name : "unknown rcode";
}

/*
 * The checks every answer to @q gets before its records are used: header, rcode (with the
 * peer's TSIG error), TSIG, parse, question. @first: first message of the answer.
 * @return 0 with the parsed message in @out_pkt, RETRY_AXFR, or an error (out->error set).
 */
static int check_answer(struct ctx *x, const struct query *q, struct tsig_state *ts,
			const uint8_t *wire, size_t len, bool first, unsigned msg_no,
			ldns_pkt **out_pkt)
{
	if (len < HDR)
		return fail(x, CORE_EPROTO, "message %u is shorter than a DNS header", msg_no);
	if (rd16(wire) != q->id || !(wire[2] & 0x80) || ((wire[2] >> 3) & 0xF) != OP_QUERY)
		return fail(x, CORE_EPROTO,
			    "message %u is not an answer to our query (ID or flags)", msg_no);
	unsigned rc = wire[3] & 0xF;
	if (rc) {
		struct tsig_rr t;
		if (x->tsig && tsig_find(wire, len, &t) == 1 && t.error)
			return fail(x, CORE_EPROTO,
				    "TSIG: the primary rejected our key '%s': %s (%s)",
				    x->key.label, tsig_error_name(t.error), rcode_name(rc));
		if (first && q->qtype == T_IXFR && (rc == RC_NOTIMP || rc == RC_FORMERR))
			return RETRY_AXFR;
		if (x->tsig && rc == RC_NOTAUTH)
			return fail(x, CORE_EPROTO,
				    "the primary answered NOTAUTH: TSIG key '%s' not accepted?",
				    x->key.label);
		return fail(x, CORE_EUPSTREAM, "the primary answered %s", rcode_name(rc));
	}
	if (x->tsig) {
		enum tsig_verdict v = tsig_verify(ts, wire, len);
		if (v == TV_NOMEM)
			return fail(x, -ENOMEM, "out of memory");
		if (v == TV_PEER_ERROR)
			return fail(x, CORE_EPROTO, "TSIG: the primary reports %s",
				    tsig_error_name(ts->last.error));
		if (v != TV_OK && v != TV_PENDING)
			return fail(x, CORE_EPROTO, "TSIG: message %u: %s", msg_no,
				    verdict_text(v));
	}
	ldns_pkt *pkt = NULL;
	ldns_status st = ldns_wire2pkt(&pkt, wire, len);
	if (st != LDNS_STATUS_OK)
		return fail(x, CORE_EPROTO, "message %u is malformed: %s", msg_no,
			    ldns_get_errorstr_by_id(st));
	/* RFC 5936 §2.2: the first message repeats the question; later ones may. */
	ldns_rr_list *qs = ldns_pkt_question(pkt);
	size_t nq = qs ? ldns_rr_list_rr_count(qs) : 0;
	const ldns_rr *qr = nq ? ldns_rr_list_rr(qs, 0) : NULL;
	if (nq > 1 || (qr && (ldns_dname_compare(ldns_rr_owner(qr), x->zone) != 0 ||
			      ldns_rr_get_type(qr) != q->qtype ||
			      ldns_rr_get_class(qr) != LDNS_RR_CLASS_IN))) {
		ldns_pkt_free(pkt);
		return fail(x, CORE_EPROTO, "message %u answers another question", msg_no);
	}
	*out_pkt = pkt;
	return 0;
}

static bool serial_newer(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u; /* RFC 1982 */
}

/* @rr is the zone's SOA (apex, 7 fields). */
static bool is_apex_soa(const struct ctx *x, const ldns_rr *rr)
{
	return ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7 &&
	       ldns_dname_compare(ldns_rr_owner(rr), x->zone) == 0;
}

static uint32_t soa_field(const ldns_rr *rr, size_t i)
{
	return ldns_rdf2native_int32(ldns_rr_rdf(rr, i));
}

static void soa_result(struct bl_xfr_result *out, const ldns_rr *soa)
{
	out->serial = soa_field(soa, 2);
	out->refresh = soa_field(soa, 3);
	out->retry = soa_field(soa, 4);
	out->expire = soa_field(soa, 5);
}

/* ------------------------------------------------------------------------------------------ */
/* SOA query                                                                                   */

/* Send @q over UDP and wait for its answer (datagrams that are not it are ignored).
 * @return 0 with the answer in @buf/@out_len, or an error. */
static int udp_exchange(struct ctx *x, const struct query *q, uint8_t *buf, size_t *out_len)
{
	int fd = socket(x->p->primary.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail_errno(x, -errno, "UDP socket");
	int r;
	if (connect(fd, (const struct sockaddr *)&x->p->primary, x->p->primary_len) < 0) {
		r = fail_errno(x, -errno, "UDP connect");
		goto out;
	}
	uint64_t start = now_ms(), deadline = start + x->timeout_ms;
	uint64_t step = x->timeout_ms / 3 ? x->timeout_ms / 3 : 1, next_send = start;
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline) {
			r = fail_errno(x, CORE_ETIMEOUT, "UDP answer");
			goto out;
		}
		if (now >= next_send) {
			if (send(fd, q->wire, q->len, 0) < 0 && errno != EAGAIN && errno != EINTR) {
				r = fail_errno(x, -errno, "UDP send");
				goto out;
			}
			next_send = now + step;
		}
		r = wait_fd(fd, POLLIN, next_send < deadline ? next_send : deadline);
		if (r == CORE_ETIMEOUT)
			continue;
		if (r) {
			r = fail_errno(x, r, "UDP answer");
			goto out;
		}
		ssize_t n = recv(fd, buf, MAX_MSG, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			r = fail_errno(x, -errno, "UDP answer");
			goto out;
		}
		/* Not ours (late answer to an earlier try has our ID too: fine). */
		if ((size_t)n < HDR || rd16(buf) != q->id || !(buf[2] & 0x80))
			continue;
		*out_len = (size_t)n;
		r = 0;
		goto out;
	}
out:
	close(fd);
	return r;
}

static int tcp_exchange(struct ctx *x, const struct query *q, uint8_t *buf, size_t *out_len)
{
	int fd = -1;
	int r = tcp_connect(x->p, now_ms() + x->timeout_ms, &fd);
	if (r)
		return fail_errno(x, r, "TCP connect");
	r = tcp_send_msg(fd, q->wire, q->len, x->timeout_ms);
	if (r) {
		r = fail_errno(x, r, "TCP send");
		goto out;
	}
	r = tcp_read_msg(fd, buf, out_len, x->timeout_ms);
	if (r == 1 || r == -ECONNRESET)
		r = fail(x, CORE_EPROTO, "the primary closed the TCP connection without an answer");
	else if (r == CORE_EPROTO)
		r = fail(x, r, "malformed TCP message");
	else if (r)
		r = fail_errno(x, r, "TCP answer");
out:
	close(fd);
	return r;
}

static int soa_answer(struct ctx *x, const struct query *q, const uint8_t *wire, size_t len)
{
	struct tsig_state ts = {.k = &x->key, .have_prior = true, .prior_len = q->mac_len};
	memcpy(ts.prior, q->mac, q->mac_len);
	ldns_pkt *pkt = NULL;
	int r = check_answer(x, q, &ts, wire, len, true, 1, &pkt);
	tsig_state_deinit(&ts);
	if (r)
		return r;
	if (!ldns_pkt_aa(pkt)) {
		r = fail(x, CORE_EUPSTREAM,
			 "the answer is not authoritative (is the zone loaded?)");
		goto out;
	}
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (is_apex_soa(x, rr)) {
			soa_result(x->out, rr);
			r = 0;
			goto out;
		}
	}
	r = fail(x, CORE_EPROTO, "the answer holds no SOA for the zone");
out:
	ldns_pkt_free(pkt);
	return r;
}

int bl_xfr_soa(const struct bl_xfr_params *p, struct bl_xfr_result *out)
{
	struct ctx x;
	struct query q;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = ctx_init(&x, p, out, "SOA query");
	if (r)
		goto out;
	buf = core_malloc(MAX_MSG);
	if (!buf) {
		r = fail(&x, -ENOMEM, "out of memory");
		goto out;
	}
	r = build_query(&x, &q, T_SOA, false, 0);
	if (r)
		goto out;
	r = udp_exchange(&x, &q, buf, &len);
	if (r)
		goto out;
	if (buf[2] & 0x02) { /* TC: ask again over TCP, with a new ID and signature */
		r = build_query(&x, &q, T_SOA, false, 0);
		if (r == 0)
			r = tcp_exchange(&x, &q, buf, &len);
		if (r)
			goto out;
	}
	r = soa_answer(&x, &q, buf, len);
out:
	core_free(buf);
	ctx_deinit(&x);
	if (r == 0)
		out->error[0] = 0;
	return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Transfers                                                                                   */

/* Presentation lines of one side of a difference sequence, in one growing buffer. */
struct lines {
	char *buf;
	size_t used, cap;
	size_t *off;
	size_t n, ncap;
};

static int lines_push(struct lines *l, const char *s)
{
	size_t len = strlen(s) + 1;
	if (l->used + len > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		while (cap < l->used + len)
			cap *= 2;
		char *b = core_realloc(l->buf, cap);
		if (!b)
			return -ENOMEM;
		l->buf = b;
		l->cap = cap;
	}
	if (l->n == l->ncap) {
		size_t ncap = l->ncap ? l->ncap * 2 : 64;
		size_t *o = core_realloc(l->off, ncap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		l->off = o;
		l->ncap = ncap;
	}
	memcpy(l->buf + l->used, s, len);
	l->off[l->n++] = l->used;
	l->used += len;
	return 0;
}

static void lines_deinit(struct lines *l)
{
	core_free(l->buf);
	core_free(l->off);
	memset(l, 0, sizeof(*l));
}

/* Pointers to the lines of @l, in a new array (free with core_free). */
static const char **lines_array(const struct lines *l)
{
	const char **v = core_malloc((l->n ? l->n : 1) * sizeof(*v));
	for (size_t i = 0; v && i < l->n; i++)
		v[i] = l->buf + l->off[i];
	return v;
}

enum xfr_state {
	ST_FIRST,  /* expecting the first SOA (the primary's current one) */
	ST_SECOND, /* IXFR: first SOA seen, the next record tells what kind of answer this is */
	ST_FULL,   /* whole zone, until the SOA again */
	ST_DEL,	   /* difference sequence: removed records, until the sequence's new SOA */
	ST_ADD, /* difference sequence: added records, until the next sequence's old SOA or the end */
	ST_DONE, /* the final SOA was seen */
};

struct xfr {
	struct ctx *x;
	bool ixfr;
	uint32_t have;
	bl_xfr_rr_fn rr_fn;
	bl_xfr_delta_fn delta_fn;
	void *arg;
	enum xfr_state st;
	uint32_t new_serial;
	char *first_line;  /* IXFR: the first SOA, delivered once the answer is known to be full */
	uint32_t from, to; /* current difference sequence */
	struct lines del, add;
	size_t records; /* records seen, for messages */
};

/* Free what a transfer holds and make it ready for another try. */
static void xfr_reset(struct xfr *xf)
{
	free(xf->first_line);
	xf->first_line = NULL;
	lines_deinit(&xf->del);
	lines_deinit(&xf->add);
	xf->st = ST_FIRST;
	xf->records = 0;
}

/* One presentation line for @rr (free with free()): single spaces before the data. */
static char *rr_line(const ldns_rr *rr)
{
	char *s = ldns_rr2str_fmt(ldns_output_format_nocomments, rr);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = 0;
	/* owner, TTL, class, type and data are tab-separated; a tab inside TXT data stays */
	for (size_t i = 0, tabs = 0; s[i] && tabs < 4; i++) {
		if (s[i] == '\t') {
			s[i] = ' ';
			tabs++;
		}
	}
	return s;
}

static int cb_result(int r)
{
	return r < 0 ? r : -ECANCELED;
}

static int deliver_full(struct xfr *xf, const char *line)
{
	int r = xf->rr_fn(xf->arg, line);
	if (r)
		return fail(xf->x, cb_result(r), "stopped by the receiver");
	xf->x->out->rrs++;
	return 0;
}

static int emit_delta(struct xfr *xf)
{
	const char **rem = lines_array(&xf->del), **add = lines_array(&xf->add);
	int r = 0;
	if (!rem || !add) {
		r = fail(xf->x, -ENOMEM, "out of memory");
		goto out;
	}
	r = xf->delta_fn(xf->arg, xf->from, xf->to, rem, xf->del.n, add, xf->add.n);
	if (r) {
		r = fail(xf->x, cb_result(r), "stopped by the receiver");
		goto out;
	}
	xf->x->out->rrs += xf->del.n + xf->add.n;
	xf->del.used = xf->del.n = 0;
	xf->add.used = xf->add.n = 0;
out:
	core_free(rem);
	core_free(add);
	return r;
}

/* Feed one answer record through the state machine (README-sync.md). */
static int xfr_record(struct xfr *xf, const ldns_rr *rr)
{
	struct ctx *x = xf->x;
	bool soa = ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA;
	uint32_t serial = 0;
	int r = 0;
	xf->records++;
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		return fail(x, CORE_EPROTO, "record %zu is not of class IN", xf->records);
	if (soa) {
		if (!is_apex_soa(x, rr))
			return fail(x, CORE_EPROTO,
				    "record %zu: SOA malformed or not at the zone's apex",
				    xf->records);
		serial = soa_field(rr, 2);
	} else if (ldns_dname_compare(ldns_rr_owner(rr), x->zone) != 0 &&
		   !ldns_dname_is_subdomain(ldns_rr_owner(rr), x->zone)) {
		return fail(x, CORE_EPROTO, "record %zu is outside the zone", xf->records);
	}
	if (xf->st == ST_DONE)
		return fail(x, CORE_EPROTO, "records after the final SOA");
	if (xf->st == ST_FIRST && !soa)
		return fail(x, CORE_EPROTO, "the answer does not start with the zone's SOA");

	char *line = rr_line(rr);
	if (!line)
		return fail(x, -ENOMEM, "out of memory");

	switch (xf->st) {
	case ST_FIRST:
		xf->new_serial = serial;
		soa_result(x->out, rr);
		if (!xf->ixfr) {
			x->out->kind = BL_XFR_FULL;
			xf->st = ST_FULL;
			r = deliver_full(xf, line);
		} else if (!serial_newer(serial, xf->have)) {
			x->out->kind = BL_XFR_UP_TO_DATE;
			xf->st = ST_DONE;
		} else {
			xf->first_line = line;
			line = NULL;
			xf->st = ST_SECOND;
		}
		break;
	case ST_SECOND:
		if (soa && serial == xf->have) {
			x->out->kind = BL_XFR_DELTA;
			xf->from = serial;
			xf->st = ST_DEL;
			break;
		}
		if (soa && serial != xf->new_serial) {
			r = fail(x, CORE_EPROTO,
				 "the differences start at serial %u, but we hold serial %u",
				 serial, xf->have);
			break;
		}
		/* Whole zone: SOA then records (or SOA, SOA for a zone of only its SOA). */
		x->out->kind = BL_XFR_FULL;
		r = deliver_full(xf, xf->first_line);
		free(xf->first_line);
		xf->first_line = NULL;
		if (r)
			break;
		if (soa) {
			xf->st = ST_DONE;
			break;
		}
		xf->st = ST_FULL;
		r = deliver_full(xf, line);
		break;
	case ST_FULL:
		if (!soa) {
			r = deliver_full(xf, line);
		} else if (serial == xf->new_serial) {
			xf->st = ST_DONE;
		} else {
			r = fail(x, CORE_EPROTO,
				 "SOA serial %u in the middle of the zone (serial %u)", serial,
				 xf->new_serial);
		}
		break;
	case ST_DEL:
		if (soa) {
			xf->to = serial;
			xf->st = ST_ADD;
		} else {
			r = lines_push(&xf->del, line);
		}
		break;
	case ST_ADD:
		if (!soa) {
			r = lines_push(&xf->add, line);
		} else if (serial == xf->new_serial && xf->to == xf->new_serial) {
			r = emit_delta(xf);
			xf->st = ST_DONE;
		} else if (serial == xf->to) {
			r = emit_delta(xf);
			xf->from = serial;
			xf->st = ST_DEL;
		} else {
			r = fail(
				x, CORE_EPROTO,
				"difference sequences do not chain: serial %u after one ending at %u",
				serial, xf->to);
		}
		break;
	case ST_DONE:
		break;
	}
	free(line);
	if (r == -ENOMEM && !x->out->error[0])
		r = fail(x, r, "out of memory");
	if (r == 0 && xf->del.used + xf->add.used > BL_XFR_MAX_DELTA_BYTES)
		r = fail(x, CORE_ELIMIT, "a difference sequence holds more than %u MiB",
			 BL_XFR_MAX_DELTA_BYTES >> 20);
	return r;
}

/* One transfer on one connection. @return 0, RETRY_AXFR or an error (out->error set). */
static int xfr_run(struct xfr *xf, uint16_t qtype)
{
	struct ctx *x = xf->x;
	struct query q;
	struct tsig_state ts = {.k = &x->key, .have_prior = true};
	uint8_t *buf = NULL;
	int fd = -1;
	unsigned msgs = 0;
	x->what = qtype == T_IXFR ? "IXFR" : "AXFR";
	xf->ixfr = qtype == T_IXFR;
	int r = build_query(x, &q, qtype, xf->ixfr, xf->have);
	if (r)
		return r;
	memcpy(ts.prior, q.mac, q.mac_len);
	ts.prior_len = q.mac_len;
	buf = core_malloc(MAX_MSG);
	if (!buf) {
		r = fail(x, -ENOMEM, "out of memory");
		goto out;
	}
	r = tcp_connect(x->p, now_ms() + x->timeout_ms, &fd);
	if (r) {
		r = fail_errno(x, r, "TCP connect");
		goto out;
	}
	r = tcp_send_msg(fd, q.wire, q.len, x->timeout_ms);
	if (r) {
		r = fail_errno(x, r, "TCP send");
		goto out;
	}
	while (xf->st != ST_DONE) {
		size_t len = 0;
		r = tcp_read_msg(fd, buf, &len, x->timeout_ms);
		if (r == 1 && xf->ixfr && xf->st == ST_SECOND && xf->records == 1) {
			/* only a newer SOA, then the end: RFC 1995 §2's "ask otherwise"; some
			 * primaries say so over TCP too. Take the whole zone by AXFR. */
			r = RETRY_AXFR;
			goto out;
		}
		if (r == 1 || r == -ECONNRESET) {
			r = fail(x, CORE_EPROTO,
				 "the primary closed the connection before the end of the transfer "
				 "(%u messages, %zu records)",
				 msgs, xf->records);
			goto out;
		}
		if (r == CORE_EPROTO) {
			r = fail(x, r, "message %u: length shorter than a DNS header", msgs + 1);
			goto out;
		}
		if (r) {
			r = fail_errno(x, r, msgs ? "next message" : "first message");
			goto out;
		}
		msgs++;
		ldns_pkt *pkt = NULL;
		r = check_answer(x, &q, &ts, buf, len, msgs == 1, msgs, &pkt);
		if (r)
			goto out;
		ldns_rr_list *an = ldns_pkt_answer(pkt);
		for (size_t i = 0; r == 0 && an && i < ldns_rr_list_rr_count(an); i++)
			r = xfr_record(xf, ldns_rr_list_rr(an, i));
		ldns_pkt_free(pkt);
		if (r)
			goto out;
	}
	if (x->tsig && ts.pending)
		r = fail(x, CORE_EPROTO, "TSIG: the last message is not signed");
out:
	if (fd >= 0)
		close(fd);
	core_free(buf);
	tsig_state_deinit(&ts);
	return r;
}

int bl_xfr_fetch(const struct bl_xfr_params *p, bool have, uint32_t have_serial, bl_xfr_rr_fn rr_fn,
		 bl_xfr_delta_fn delta_fn, void *arg, struct bl_xfr_result *out)
{
	struct ctx x;
	struct xfr xf = {
		.x = &x, .have = have_serial, .rr_fn = rr_fn, .delta_fn = delta_fn, .arg = arg};
	int r = ctx_init(&x, p, out, have ? "IXFR" : "AXFR");
	if (r)
		goto out;
	if (!rr_fn || (have && !delta_fn)) {
		r = fail(&x, -EINVAL, "no callback for the records");
		goto out;
	}
	r = xfr_run(&xf, have ? T_IXFR : T_AXFR);
	if (r == RETRY_AXFR) {
		xfr_reset(&xf);
		out->rrs = 0;
		r = xfr_run(&xf, T_AXFR);
	}
out:
	xfr_reset(&xf);
	ctx_deinit(&x);
	if (r == 0)
		out->error[0] = 0;
	return r;
}

/* ------------------------------------------------------------------------------------------ */
/* NOTIFY                                                                                      */

/* The address of @sa in @a (4 or 16 bytes); an IPv4-mapped IPv6 address gives AF_INET.
 * @return the family, 0 for anything else. */
static int addr_of(const struct sockaddr *sa, uint8_t a[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			memcpy(a, in6->s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(a, in6->s6_addr, 16);
		return AF_INET6;
	}
	return 0;
}

static bool same_address(const struct sockaddr *a, const struct sockaddr *b)
{
	uint8_t x[16], y[16];
	int fx = addr_of(a, x), fy = addr_of(b, y);
	return fx && fx == fy && memcmp(x, y, fx == AF_INET ? 4 : 16) == 0;
}

/* Verify a signed request with @t. @return the verdict; the request's MAC in @mac/@mac_len. */
static enum tsig_verdict verify_request(const struct bl_tsig *t, const uint8_t *wire, size_t len,
					uint8_t *mac, size_t *mac_len, struct key *k)
{
	const char *why = NULL;
	if (key_init(k, t, &why))
		return TV_BADKEY;
	struct tsig_state ts = {.k = k};
	enum tsig_verdict v = tsig_verify(&ts, wire, len);
	tsig_state_deinit(&ts);
	if (v == TV_OK) {
		memcpy(mac, ts.prior, ts.prior_len);
		*mac_len = ts.prior_len;
	}
	return v;
}

int bl_notify_check(const struct bl_xfr_params *p, const uint8_t *wire, size_t len,
		    const struct sockaddr *from, struct bl_notify *out, const char **why)
{
	int r;
	ldns_pkt *pkt = NULL;
	ldns_rdf *zone = NULL;
	*why = NULL;
	if (len < HDR) {
		*why = "malformed message (shorter than a DNS header)";
		return CORE_EPROTO;
	}
	if ((wire[2] & 0x80) || ((wire[2] >> 3) & 0xF) != OP_NOTIFY)
		return CORE_ENOTFOUND;
	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK || !pkt) {
		*why = "malformed NOTIFY";
		return CORE_EPROTO;
	}
	ldns_rr_list *qs = ldns_pkt_question(pkt);
	if (!qs || ldns_rr_list_rr_count(qs) != 1) {
		*why = "malformed NOTIFY (not one question)";
		r = CORE_EPROTO;
		goto out;
	}
	const ldns_rr *q = ldns_rr_list_rr(qs, 0);
	if (ldns_str2rdf_dname(&zone, p->zone) != LDNS_STATUS_OK || !zone) {
		*why = "the configured zone is not a domain name";
		r = CORE_ECONFIG;
		goto out;
	}
	if (ldns_dname_compare(ldns_rr_owner(q), zone) != 0 ||
	    ldns_rr_get_class(q) != LDNS_RR_CLASS_IN || ldns_rr_get_type(q) != LDNS_RR_TYPE_SOA) {
		r = CORE_ENOTFOUND;
		goto out;
	}
	if (!from || !same_address(from, (const struct sockaddr *)&p->primary)) {
		*why = "source address is not the primary's";
		r = CORE_EPROTO;
		goto out;
	}
	if (p->tsig) {
		struct key k;
		uint8_t mac[EVP_MAX_MD_SIZE];
		size_t mac_len = 0;
		enum tsig_verdict v = verify_request(p->tsig, wire, len, mac, &mac_len, &k);
		OPENSSL_cleanse(&k, sizeof(k));
		if (v != TV_OK) {
			*why = verdict_text(v);
			r = v == TV_NOMEM ? -ENOMEM : CORE_EPROTO;
			goto out;
		}
	}
	memset(out, 0, sizeof(*out));
	ldns_dname2canonical(ldns_rr_owner(q));
	char *z = ldns_rdf2str(ldns_rr_owner(q));
	if (!z) {
		r = -ENOMEM;
		goto out;
	}
	snprintf(out->zone, sizeof(out->zone), "%s", z);
	free(z);
	out->id = ldns_pkt_id(pkt);
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7 &&
		    ldns_dname_compare(ldns_rr_owner(rr), zone) == 0) {
			out->has_serial = true;
			out->serial = soa_field(rr, 2);
			break;
		}
	}
	r = 0;
out:
	ldns_rdf_deep_free(zone);
	ldns_pkt_free(pkt);
	return r;
}

size_t bl_notify_response(const struct bl_xfr_params *p, const uint8_t *wire, size_t len,
			  unsigned rcode, uint8_t *out, size_t size)
{
	if (len < HDR || rd16(wire + 4) != 1)
		return 0;
	uint8_t name[NAME_MAX_WIRE + 1];
	size_t pos = HDR;
	size_t nlen = name_read(wire, len, &pos, name, false);
	if (!nlen || pos + 4 > len || size < HDR + nlen + 4)
		return 0;
	memset(out, 0, HDR);
	memcpy(out, wire, 2);		       /* ID */
	out[2] = 0x80 | OP_NOTIFY << 3 | 0x04; /* QR, opcode NOTIFY, AA */
	out[3] = (uint8_t)(rcode & 0xF);
	wr16(out + 4, 1);
	memcpy(out + HDR, name, nlen); /* the question, without compression */
	memcpy(out + HDR + nlen, wire + pos, 4);
	size_t n = HDR + nlen + 4;
	if (p->tsig) {
		struct key k;
		uint8_t mac[EVP_MAX_MD_SIZE];
		size_t mac_len = 0;
		if (verify_request(p->tsig, wire, len, mac, &mac_len, &k) == TV_OK)
			n = tsig_sign(&k, out, n, size, mac, mac_len, NULL);
		OPENSSL_cleanse(&k, sizeof(k));
	}
	return n;
}
