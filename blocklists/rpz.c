/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The RPZ reader: the part of the zone-file syntax (RFC 1035 section 5) that RPZ feeds use, read
 * by hand because ldns takes about 3 s for a million triggers (bench/README-parse.md).
 *
 * Supported: $ORIGIN, $TTL, owner names absolute or relative, "@", a blank owner (the previous
 * one), TTL and class IN in either order and both optional, parentheses across lines, ';'
 * comments, quoted strings, and the types CNAME, A, AAAA, SOA, NS and TXT (other types are
 * recognised and skipped). Triggers are the owner names relative to the zone apex (the caller's
 * origin, else the owner of the first SOA, else the first $ORIGIN).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "blocklists/parse_impl.h"
#include "core/error.h"

#define MAX_TOKENS 64
/* An IP trigger: prefix, up to 8 groups, "rpz-ip". */
#define MAX_IP_LABELS 10

enum rr_type {
	T_A = 1,
	T_NS = 2,
	T_CNAME = 5,
	T_SOA = 6,
	T_TXT = 16,
	T_AAAA = 28,
	T_OTHER = 0x10000, /**< a known type the reader has no use for */
};

struct tok {
	const char *s;
	size_t len;
	bool quoted;
};

enum rec_status {
	REC_END,
	REC_OK,
	REC_BAD, /**< already reported */
};

struct rpz {
	struct bl_parse_ctx *ctx;
	const char *p, *end;
	uint32_t line;	   /**< line of @p */
	uint32_t rec_line; /**< line where the current record starts */
	bool owner_blank;  /**< the record starts with a blank: same owner as the previous one */
	struct tok tok[MAX_TOKENS];
	size_t n_tok;	     /**< tokens of the record (only the first MAX_TOKENS are kept) */
	uint8_t origin[255]; /**< current $ORIGIN (wire); origin_len 0: none yet */
	size_t origin_len;
	uint8_t apex[255]; /**< the zone: triggers are relative to it; apex_len 0: not known yet */
	size_t apex_len;
	uint8_t owner[255];   /**< owner of the last record, absolute; may start with a '*' label */
	size_t owner_len;     /**< 0: none yet, or it was refused */
	struct tok owner_tok; /**< its text, for messages */
	struct bl_ip_trigger last_ip; /**< the last IP trigger, not to repeat it per record */
	bool have_last_ip;
};

/* ---- reading records ------------------------------------------------------------------------ */

static inline bool is_delim(char c)
{
	switch (c) {
	case ' ':
	case '\t':
	case '\r':
	case '\n':
	case '\v':
	case '\f':
	case ';':
	case '(':
	case ')':
	case '"':
		return true;
	default:
		return false;
	}
}

/* Skip to the end of the current line (not past its newline). */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl : end;
}

static void push(struct rpz *st, const char *s, size_t len, bool quoted)
{
	if (st->n_tok < MAX_TOKENS)
		st->tok[st->n_tok] = (struct tok){.s = s, .len = len, .quoted = quoted};
	st->n_tok++;
}

static void bad_record(struct rpz *st, const char *fmt_msg)
{
	if (st->n_tok > 0)
		bl_parse_bad(st->ctx, st->rec_line, st->tok[0].s, st->tok[0].len, "%s", fmt_msg);
	else
		bl_parse_bad(st->ctx, st->rec_line, NULL, 0, "%s", fmt_msg);
}

/*
 * Read the tokens of the next record: one line, or several joined by parentheses.
 * A record with broken syntax is reported here and skipped to the end of its line.
 */
static enum rec_status read_record(struct rpz *st)
{
	const char *p = st->p, *end = st->end;
	bool line_start = true;
	int depth = 0;

	st->n_tok = 0;
	for (;;) {
		const char *q;

		if (p >= end) {
			st->p = p;
			if (depth > 0) {
				bad_record(st, "has '(' without ')'");
				return REC_BAD;
			}
			return st->n_tok ? REC_OK : REC_END;
		}
		if (line_start) {
			st->rec_line = st->line;
			st->owner_blank = *p == ' ' || *p == '\t';
			line_start = false;
		}
		switch (*p) {
		case '\n':
			p++;
			st->line++;
			if (depth == 0) {
				if (st->n_tok) {
					st->p = p;
					return REC_OK;
				}
				line_start = true;
			}
			continue;
		case ' ':
		case '\t':
		case '\r':
		case '\v':
		case '\f':
			p++;
			continue;
		case ';':
			p = line_end(p, end);
			continue;
		case '(':
			if (depth > 0) {
				bad_record(st, "has '(' inside '('");
				st->p = line_end(p, end);
				return REC_BAD;
			}
			depth++;
			p++;
			continue;
		case ')':
			if (depth == 0) {
				bad_record(st, "has ')' without '('");
				st->p = line_end(p, end);
				return REC_BAD;
			}
			depth--;
			p++;
			continue;
		case '"':
			for (q = p + 1; q < end && *q != '"' && *q != '\n'; q++)
				if (*q == '\\' && q + 1 < end && q[1] != '\n')
					q++;
			if (q >= end || *q != '"') {
				bad_record(st, "has a quoted string without its closing '\"'");
				st->p = line_end(q < end ? q : end, end);
				return REC_BAD;
			}
			push(st, p + 1, (size_t)(q - p - 1), true);
			p = q + 1;
			break;
		default:
			for (q = p; q < end && !is_delim(*q); q++)
				if (*q == '\\' && q + 1 < end && q[1] != '\n')
					q++;
			push(st, p, (size_t)(q - p), false);
			p = q;
			break;
		}
		if (depth > 0 && st->n_tok > MAX_TOKENS) {
			/* a '(' that is never closed would swallow the rest of the file */
			bad_record(st, "has '(' without ')'");
			st->p = line_end(p, end);
			return REC_BAD;
		}
	}
}

/* ---- names ---------------------------------------------------------------------------------- */

static bool tok_is(const struct tok *t, const char *word)
{
	size_t n = strlen(word);

	return !t->quoted && t->len == n && strncasecmp(t->s, word, n) == 0;
}

enum resolve_status {
	NAME_OK,
	NAME_INVALID, /**< @err says why */
	NAME_NO_ORIGIN,
	NAME_TOO_LONG,
};

/*
 * The absolute wire name of token @t: "@" is the origin, a name without a final dot is relative
 * to it. With @allow_wild, a leading "*" label is kept (as the label "*").
 */
static enum resolve_status resolve_name(const struct rpz *st, const struct tok *t, bool allow_wild,
					uint8_t out[255], size_t *out_len,
					struct core_dname_error *err)
{
	const char *s = t->s;
	size_t n = t->len, o = 0, wl = 0;
	uint8_t wire[255];
	bool absolute;

	if (t->quoted) {
		err->why = "a quoted string is not a name";
		err->pos = 0;
		err->bad_char = false;
		return NAME_INVALID;
	}
	if (n == 1 && s[0] == '@') {
		if (st->origin_len == 0)
			return NAME_NO_ORIGIN;
		memcpy(out, st->origin, st->origin_len);
		*out_len = st->origin_len;
		return NAME_OK;
	}
	if (allow_wild && n >= 1 && s[0] == '*' && (n == 1 || s[1] == '.')) {
		out[o++] = 1;
		out[o++] = '*';
		s += n == 1 ? 1 : 2;
		n -= n == 1 ? 1 : 2;
	}
	absolute = (n == 0 && o > 0 && t->len == 2) || (n > 0 && s[n - 1] == '.');
	if (n == 1 && s[0] == '.') {
		n = 0; /* the root */
	} else if (n > 0) {
		wl = core_dname_parse(s, n, wire, err);
		if (wl == 0) {
			err->pos += (size_t)(s - t->s);
			return NAME_INVALID;
		}
		wl--; /* without the root label */
	} else if (o == 0) {
		err->why = "empty name";
		err->pos = 0;
		err->bad_char = false;
		return NAME_INVALID;
	}
	if (!absolute && st->origin_len == 0)
		return NAME_NO_ORIGIN;
	if (o + wl + (absolute ? 1 : st->origin_len) > 255)
		return NAME_TOO_LONG;
	memcpy(out + o, wire, wl);
	o += wl;
	if (absolute)
		out[o++] = 0;
	else {
		memcpy(out + o, st->origin, st->origin_len);
		o += st->origin_len;
	}
	*out_len = o;
	return NAME_OK;
}

/* Report a name resolve_name() refused. */
static void bad_resolve(struct rpz *st, const struct tok *t, enum resolve_status rs,
			const struct core_dname_error *err)
{
	switch (rs) {
	case NAME_INVALID:
		bl_parse_bad_name(st->ctx, st->rec_line, t->s, t->len, err);
		break;
	case NAME_NO_ORIGIN:
		bl_parse_bad(st->ctx, st->rec_line, t->s, t->len,
			     "is relative, but no $ORIGIN or zone is known yet");
		break;
	default:
		bl_parse_bad(st->ctx, st->rec_line, t->s, t->len,
			     "is longer than 255 bytes with the origin added");
		break;
	}
}

/* Offset in @name of the suffix equal to @apex (label-aligned), or -1. */
static ptrdiff_t apex_offset(const uint8_t *name, size_t len, const uint8_t *apex, size_t apex_len)
{
	size_t pos = 0;

	if (apex_len > len)
		return -1;
	for (;;) {
		if (len - pos == apex_len && memcmp(name + pos, apex, apex_len) == 0)
			return (ptrdiff_t)pos;
		if (name[pos] == 0 || len - pos < apex_len)
			return -1;
		pos += 1 + (size_t)name[pos];
	}
}

static void apex_text(const struct rpz *st, char *buf, size_t cap)
{
	core_dname_to_text(st->apex, st->apex_len, buf, cap);
}

/* ---- fields --------------------------------------------------------------------------------- */

/* A TTL: digits, or BIND's units ("1h30m"). */
static bool is_ttl(const struct tok *t)
{
	if (t->quoted || t->len == 0 || t->len > 32 || t->s[0] < '0' || t->s[0] > '9')
		return false;
	for (size_t i = 0; i < t->len; i++) {
		char c = (char)(t->s[i] | 0x20);

		if (!((c >= '0' && c <= '9') || c == 's' || c == 'm' || c == 'h' || c == 'd' ||
		      c == 'w'))
			return false;
	}
	return true;
}

static bool is_class(const struct tok *t)
{
	return tok_is(t, "IN") || tok_is(t, "CH") || tok_is(t, "HS") || tok_is(t, "CS") ||
	       tok_is(t, "ANY") || tok_is(t, "NONE") ||
	       (!t->quoted && t->len > 5 && strncasecmp(t->s, "CLASS", 5) == 0);
}

/* The type of token @t, or 0 when it is not a type. */
static unsigned rr_type(const struct tok *t)
{
	static const char *const others[] = {
		"PTR",	 "MX",	    "HINFO",	  "RP",	    "AFSDB",  "SRV",   "NAPTR",
		"DNAME", "DS",	    "RRSIG",	  "NSEC",   "DNSKEY", "NSEC3", "NSEC3PARAM",
		"TLSA",	 "SVCB",    "HTTPS",	  "CAA",    "LOC",    "SSHFP", "SPF",
		"CDS",	 "CDNSKEY", "OPENPGPKEY", "ZONEMD", "CSYNC",  "URI",   "MINFO",
		"MB",	 "MG",	    "MR",	  "WKS",    "NULL",   "KX",    "CERT",
		"APL",	 "DHCID",   "HIP",	  "SMIMEA", "EUI48",  "EUI64", "NID",
		"L32",	 "L64",	    "LP",	  "AVC",    "DLV",    "X25",   "ISDN",
		"RT",	 "NSAP",    "PX",	  "GPOS",   "A6",     "SIG",   "KEY",
		"NXT",	 "TA",	    "IPSECKEY",
	};

	if (t->quoted)
		return 0;
	if (tok_is(t, "A"))
		return T_A;
	if (tok_is(t, "CNAME"))
		return T_CNAME;
	if (tok_is(t, "AAAA"))
		return T_AAAA;
	if (tok_is(t, "SOA"))
		return T_SOA;
	if (tok_is(t, "NS"))
		return T_NS;
	if (tok_is(t, "TXT"))
		return T_TXT;
	if (t->len > 4 && t->len < 10 && strncasecmp(t->s, "TYPE", 4) == 0) {
		unsigned v = 0;

		for (size_t i = 4; i < t->len; i++) {
			if (t->s[i] < '0' || t->s[i] > '9')
				return 0;
			v = v * 10 + (unsigned)(t->s[i] - '0');
		}
		/* RFC 3597 generic rdata is not read, whatever the type */
		return v > 0 && v <= 65535 ? T_OTHER : 0;
	}
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (tok_is(t, others[i]))
			return T_OTHER;
	return 0;
}

/* ---- actions -------------------------------------------------------------------------------- */

enum act_status {
	ACT_OK,
	ACT_SKIP, /**< counted as skipped */
	ACT_BAD,  /**< reported */
};

/* Local data record (type, rdlength, rdata) in @data; @return its length. */
static size_t local_record(uint8_t *data, unsigned type, const uint8_t *rdata, size_t rdlen)
{
	data[0] = (uint8_t)(type >> 8);
	data[1] = (uint8_t)type;
	data[2] = (uint8_t)(rdlen >> 8);
	data[3] = (uint8_t)rdlen;
	memcpy(data + 4, rdata, rdlen);
	return 4 + rdlen;
}

/*
 * What record (@type, rdata @rd of @n_rd tokens) of trigger @trig (wire, @trig_len bytes, with
 * its "*" label if any) asks for. Local data goes to @data (259 bytes at least).
 */
static enum act_status action_of(struct rpz *st, const uint8_t *trig, size_t trig_len,
				 unsigned type, const struct tok *rd, size_t n_rd,
				 enum bl_action *out_action, uint8_t *data, size_t *out_data_len)
{
	static const char *const keywords[] = {"rpz-passthru", "rpz-drop", "rpz-tcp-only"};
	uint8_t addr[16], target[255];
	char buf[INET6_ADDRSTRLEN + 1];
	struct core_dname_error err;
	enum resolve_status rs;
	size_t len;

	*out_data_len = 0;
	switch (type) {
	case T_CNAME:
		if (n_rd != 1) {
			bl_parse_bad(st->ctx, st->rec_line, st->owner_tok.s, st->owner_tok.len,
				     n_rd == 0 ? "has a CNAME without a target" :
						 "has a CNAME with more than one target");
			return ACT_BAD;
		}
		if (tok_is(rd, ".")) {
			*out_action = BL_ACTION_NXDOMAIN;
			return ACT_OK;
		}
		if (tok_is(rd, "*.")) {
			*out_action = BL_ACTION_NODATA;
			return ACT_OK;
		}
		if (tok_is(rd, "rpz-passthru.")) {
			*out_action = BL_ACTION_PASSTHRU;
			return ACT_OK;
		}
		if (tok_is(rd, "rpz-drop.")) {
			*out_action = BL_ACTION_DROP;
			return ACT_OK;
		}
		if (tok_is(rd, "rpz-tcp-only."))
			return ACT_SKIP;
		for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
			if (tok_is(rd, keywords[i])) {
				bl_parse_bad(
					st->ctx, st->rec_line, rd->s, rd->len,
					"without the final dot is a name inside the zone: write '%s.'",
					keywords[i]);
				return ACT_BAD;
			}
		}
		rs = resolve_name(st, rd, true, target, &len, &err);
		if (rs != NAME_OK) {
			bad_resolve(st, rd, rs, &err);
			return ACT_BAD;
		}
		if (len == trig_len && memcmp(target, trig, len) == 0) {
			/* the old form of passthru: a CNAME to the name itself */
			*out_action = BL_ACTION_PASSTHRU;
			return ACT_OK;
		}
		if (target[0] == 1 && target[1] == '*')
			return ACT_SKIP; /* "CNAME *.example.": a rewrite keeping the query name */
		*out_action = BL_ACTION_LOCAL_DATA;
		*out_data_len = local_record(data, T_CNAME, target, len);
		return ACT_OK;
	case T_A:
	case T_AAAA:
		if (n_rd != 1 || rd->quoted || rd->len >= sizeof(buf)) {
			bl_parse_bad(st->ctx, st->rec_line, st->owner_tok.s, st->owner_tok.len,
				     "has an %s record without one address",
				     type == T_A ? "A" : "AAAA");
			return ACT_BAD;
		}
		memcpy(buf, rd->s, rd->len);
		buf[rd->len] = '\0';
		if (inet_pton(type == T_A ? AF_INET : AF_INET6, buf, addr) != 1) {
			bl_parse_bad(st->ctx, st->rec_line, rd->s, rd->len, "is not an %s address",
				     type == T_A ? "IPv4" : "IPv6");
			return ACT_BAD;
		}
		*out_action = BL_ACTION_LOCAL_DATA;
		*out_data_len = local_record(data, type, addr, type == T_A ? 4 : 16);
		return ACT_OK;
	default:
		return ACT_SKIP; /* TXT, MX... as local data; SOA or NS below the apex */
	}
}

/* ---- triggers ------------------------------------------------------------------------------- */

/* Decimal label value (1-3 digits), or -1. */
static int dec_label(const uint8_t *l)
{
	int v = 0;

	if (l[0] == 0 || l[0] > 3)
		return -1;
	for (size_t i = 1; i <= l[0]; i++) {
		if (l[i] < '0' || l[i] > '9')
			return -1;
		v = v * 10 + (l[i] - '0');
	}
	return v;
}

/* Hex label value (1-4 digits), or -1. */
static int hex_label(const uint8_t *l)
{
	int v = 0;

	if (l[0] == 0 || l[0] > 4)
		return -1;
	for (size_t i = 1; i <= l[0]; i++) {
		uint8_t c = l[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else
			return -1;
	}
	return v;
}

/*
 * Read IP trigger @trig (wire, "prefix.reversed-address.rpz-ip") into @t.
 * @return NULL, or why it is not one.
 */
static const char *ip_trigger(const uint8_t *trig, struct bl_ip_trigger *t)
{
	const uint8_t *labels[MAX_IP_LABELS];
	size_t n = 0, pos = 0;
	int prefix;

	while (trig[pos] != 0) {
		if (n == MAX_IP_LABELS)
			return "has too many labels for an IP trigger";
		labels[n++] = trig + pos;
		pos += 1 + (size_t)trig[pos];
	}
	n--; /* "rpz-ip" */
	if (n < 2)
		return "is not an IP trigger (prefix.reversed-address.rpz-ip)";
	prefix = dec_label(labels[0]);
	memset(t, 0, sizeof(*t));
	if (n == 5 && dec_label(labels[1]) >= 0 && dec_label(labels[2]) >= 0 &&
	    dec_label(labels[3]) >= 0 && dec_label(labels[4]) >= 0) {
		t->family = AF_INET;
		for (size_t i = 0; i < 4; i++) {
			int v = dec_label(labels[4 - i]);

			if (v > 255)
				return "is not an IP trigger (an IPv4 byte over 255)";
			t->addr[i] = (uint8_t)v;
		}
		if (prefix < 1 || prefix > 32)
			return "is not an IP trigger (IPv4 prefix length 1-32)";
	} else {
		uint16_t groups[8] = {0};
		size_t m = n - 1, zz = SIZE_MAX, g = 0;

		t->family = AF_INET6;
		if (m > 8)
			return "is not an IP trigger (more than 8 IPv6 groups)";
		/* labels[1] is the last group: walk them from the first group */
		for (size_t i = 0; i < m; i++) {
			const uint8_t *l = labels[m - i];

			if (l[0] == 2 && l[1] == 'z' && l[2] == 'z') {
				if (zz != SIZE_MAX)
					return "is not an IP trigger (more than one 'zz')";
				zz = i;
			}
		}
		if ((zz == SIZE_MAX && m != 8) || (zz != SIZE_MAX && m > 8))
			return "is not an IP trigger (IPv6 needs 8 groups or 'zz')";
		for (size_t i = 0; i < m; i++) {
			int v;

			if (i == zz) {
				g += 8 - (m - 1);
				continue;
			}
			v = hex_label(labels[m - i]);
			if (v < 0)
				return "is not an IP trigger (an IPv6 group is 1-4 hex digits)";
			if (g >= 8)
				return "is not an IP trigger (more than 8 IPv6 groups)";
			groups[g++] = (uint16_t)v;
		}
		for (size_t i = 0; i < 8; i++) {
			t->addr[2 * i] = (uint8_t)(groups[i] >> 8);
			t->addr[2 * i + 1] = (uint8_t)groups[i];
		}
		if (prefix < 1 || prefix > 128)
			return "is not an IP trigger (IPv6 prefix length 1-128)";
	}
	t->prefix = (uint8_t)prefix;
	for (size_t bit = (size_t)prefix; bit < (t->family == AF_INET ? 32u : 128u); bit++)
		if (t->addr[bit / 8] & (0x80u >> (bit % 8)))
			return "is not an IP trigger (address bits set beyond the prefix length)";
	return NULL;
}

/* Last label of @trig (wire, not the root) as a pointer to its length byte. */
static const uint8_t *last_label(const uint8_t *trig)
{
	const uint8_t *last = trig;

	for (size_t pos = 0; trig[pos] != 0; pos += 1 + (size_t)trig[pos])
		last = trig + pos;
	return last;
}

static bool label_is(const uint8_t *l, const char *word)
{
	size_t n = strlen(word);

	return l[0] == n && memcmp(l + 1, word, n) == 0;
}

/* One record of the zone (owner known, resolved). */
static int record(struct rpz *st, unsigned type, const struct tok *rd, size_t n_rd)
{
	struct bl_parse_ctx *ctx = st->ctx;
	uint8_t trig[255], data[4 + 255];
	const uint8_t *name, *top;
	enum bl_action action = BL_ACTION_POLICY;
	size_t name_len, data_len;
	uint8_t flags = BL_MATCH_SELF;
	char apex[CORE_DNAME_TEXT_MAX];
	enum act_status as;
	ptrdiff_t off;

	if (st->apex_len == 0) {
		if (type == T_SOA && !(st->owner[0] == 1 && st->owner[1] == '*')) {
			memcpy(st->apex, st->owner, st->owner_len);
			st->apex_len = st->owner_len;
			if (st->origin_len == 0) {
				memcpy(st->origin, st->owner, st->owner_len);
				st->origin_len = st->owner_len;
			}
			return 0;
		}
		if (st->origin_len == 0) {
			bl_parse_bad(
				ctx, st->rec_line, st->owner_tok.s, st->owner_tok.len,
				"comes before the zone is known: start with $ORIGIN or the SOA, or give the list's zone");
			return 0;
		}
		memcpy(st->apex, st->origin, st->origin_len);
		st->apex_len = st->origin_len;
	}
	off = apex_offset(st->owner, st->owner_len, st->apex, st->apex_len);
	if (off < 0) {
		apex_text(st, apex, sizeof(apex));
		bl_parse_bad(ctx, st->rec_line, st->owner_tok.s, st->owner_tok.len,
			     "is outside the zone '%s'", apex);
		return 0;
	}
	if (off == 0)
		return 0; /* the apex: SOA, NS, TXT of the zone itself are not triggers */
	memcpy(trig, st->owner, (size_t)off);
	trig[off] = 0;
	name = trig;
	name_len = (size_t)off + 1;
	if (trig[0] == 1 && trig[1] == '*') {
		flags = BL_MATCH_BELOW;
		name += 2;
		name_len -= 2;
	}
	if (name_len > 1) {
		top = last_label(name);
		if (label_is(top, "rpz-ip")) {
			struct bl_ip_trigger t;
			const char *why;

			if (flags & BL_MATCH_BELOW) {
				bl_parse_bad(ctx, st->rec_line, st->owner_tok.s, st->owner_tok.len,
					     "is not an IP trigger (a wildcard)");
				return 0;
			}
			why = ip_trigger(name, &t);
			if (why) {
				bl_parse_bad(ctx, st->rec_line, st->owner_tok.s, st->owner_tok.len,
					     "%s", why);
				return 0;
			}
			as = action_of(st, trig, (size_t)off + 1, type, rd, n_rd, &action, data,
				       &data_len);
			if (as == ACT_SKIP)
				ctx->report->skipped++;
			if (as != ACT_OK)
				return 0;
			/* local data for an address: the policy's block answer stands in for it */
			t.action = (uint8_t)(action == BL_ACTION_LOCAL_DATA ? BL_ACTION_POLICY :
									      action);
			t.line = st->rec_line;
			if (st->have_last_ip && st->last_ip.family == t.family &&
			    st->last_ip.prefix == t.prefix && st->last_ip.action == t.action &&
			    memcmp(st->last_ip.addr, t.addr, sizeof(t.addr)) == 0)
				return 0; /* one more A/AAAA of the same trigger */
			st->last_ip = t;
			st->have_last_ip = true;
			return bl_parse_add_ip(ctx, &t);
		}
		if (label_is(top, "rpz-nsdname") || label_is(top, "rpz-nsip") ||
		    label_is(top, "rpz-client-ip")) {
			ctx->report->skipped++; /* trigger types a name set cannot express */
			return 0;
		}
	}
	as = action_of(st, trig, (size_t)off + 1, type, rd, n_rd, &action, data, &data_len);
	if (as == ACT_SKIP)
		ctx->report->skipped++;
	if (as != ACT_OK)
		return 0;
	if (action == BL_ACTION_PASSTHRU)
		flags |= BL_ALLOW;
	return bl_parse_add(ctx, name, name_len, flags, action, st->rec_line,
			    data_len ? data : NULL, data_len);
}

/* $ORIGIN, $TTL; the others are refused. */
static void directive(struct rpz *st)
{
	const struct tok *t = st->tok;
	struct core_dname_error err;
	enum resolve_status rs;
	uint8_t name[255];
	size_t len;

	if (tok_is(&t[0], "$ORIGIN")) {
		if (st->n_tok != 2) {
			bl_parse_bad(st->ctx, st->rec_line, t[0].s, t[0].len, "needs one name");
			return;
		}
		rs = resolve_name(st, &t[1], false, name, &len, &err);
		if (rs != NAME_OK) {
			bad_resolve(st, &t[1], rs, &err);
			return;
		}
		memcpy(st->origin, name, len);
		st->origin_len = len;
		return;
	}
	if (tok_is(&t[0], "$TTL")) {
		if (st->n_tok != 2 || !is_ttl(&t[1]))
			bl_parse_bad(st->ctx, st->rec_line, t[0].s, t[0].len,
				     "needs one TTL (seconds, or units like 1h30m)");
		return;
	}
	if (tok_is(&t[0], "$INCLUDE")) {
		bl_parse_bad(st->ctx, st->rec_line, t[0].s, t[0].len,
			     "is not supported (a list is one file)");
		return;
	}
	bl_parse_bad(st->ctx, st->rec_line, t[0].s, t[0].len, "is not a supported directive");
}

/* Split a record into owner, TTL, class, type, rdata and act on it. */
static int process(struct rpz *st)
{
	struct tok *t = st->tok;
	size_t n = st->n_tok < MAX_TOKENS ? st->n_tok : MAX_TOKENS, i = 0;
	struct core_dname_error err;
	enum resolve_status rs;
	unsigned type;

	if (!st->owner_blank) {
		if (!t[0].quoted && t[0].len > 0 && t[0].s[0] == '$') {
			directive(st);
			return 0;
		}
		st->owner_tok = t[0];
		rs = resolve_name(st, &t[0], true, st->owner, &st->owner_len, &err);
		if (rs != NAME_OK) {
			st->owner_len = 0;
			bad_resolve(st, &t[0], rs, &err);
			return 0;
		}
		i = 1;
	} else if (st->owner_len == 0) {
		bl_parse_bad(
			st->ctx, st->rec_line, t[0].s, t[0].len,
			"has no owner name (a blank at the start repeats the previous one: none, or refused)");
		return 0;
	}
	for (int k = 0; k < 2 && i < n; k++) {
		if (is_ttl(&t[i])) {
			i++;
		} else if (is_class(&t[i])) {
			if (!tok_is(&t[i], "IN")) {
				bl_parse_bad(st->ctx, st->rec_line, t[i].s, t[i].len,
					     "is not class IN");
				return 0;
			}
			i++;
		} else {
			break;
		}
	}
	if (i >= n) {
		bl_parse_bad(st->ctx, st->rec_line, st->owner_tok.s, st->owner_tok.len,
			     "has no record type");
		return 0;
	}
	type = rr_type(&t[i]);
	if (type == 0) {
		bl_parse_bad(st->ctx, st->rec_line, t[i].s, t[i].len, "is not a record type");
		return 0;
	}
	i++;
	return record(st, type, t + i, st->n_tok - i);
}

int bl_parse_rpz(struct bl_parse_ctx *ctx, const char *text, size_t len, const uint8_t *origin_wire,
		 size_t origin_len)
{
	struct rpz st = {
		.ctx = ctx,
		.p = text,
		.end = text + len,
		.line = 1,
	};
	enum rec_status rs;
	int rc = 0;

	if (origin_wire) {
		memcpy(st.origin, origin_wire, origin_len);
		st.origin_len = origin_len;
		memcpy(st.apex, origin_wire, origin_len);
		st.apex_len = origin_len;
	}
	while ((rs = read_record(&st)) != REC_END) {
		if (rs == REC_BAD)
			continue;
		rc = process(&st);
		if (rc < 0)
			break;
	}
	ctx->report->lines = len == 0 ? 0 : st.line - (text[len - 1] == '\n' ? 1 : 0);
	return rc;
}
