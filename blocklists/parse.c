/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The list parsers of parse.h: the line scanner and the readers of the domains, hosts and
 * AdBlock formats, bad-line reporting, and the entry points (RPZ is in rpz.c, names in name.c).
 *
 * The readers walk the buffer (a mapped file) line by line with memchr() and never allocate per
 * line: a name goes from the text straight into a 255-byte wire buffer on the stack and from
 * there into the builder, which copies it.
 */
#include "blocklists/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocklists/parse_impl.h"
#include "core/alloc.h"
#include "core/error.h"

static const char *const format_names[] = {
	[BL_FORMAT_DOMAINS] = "domains",
	[BL_FORMAT_HOSTS] = "hosts",
	[BL_FORMAT_ADBLOCK] = "adblock",
	[BL_FORMAT_RPZ] = "rpz",
};

int bl_format_parse(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (strcmp(name, format_names[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- reporting ------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at @s (@n bytes left), 0 when it is not one. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
	size_t need;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4;
	else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return need;
}

/*
 * Copy @text into @dst (BL_PARSE_QUOTE_MAX + 4 bytes) to be shown in a message: control bytes and
 * broken UTF-8 become '?', and a long text is cut on a character boundary with "...".
 */
static void quote(char *dst, const char *text, size_t len)
{
	const uint8_t *s = (const uint8_t *)text;
	size_t i = 0, o = 0;

	while (i < len) {
		size_t n = utf8_len(s + i, len - i);

		if (o + (n ? n : 1) > BL_PARSE_QUOTE_MAX) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (n == 0 || (n == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
			dst[o++] = '?';
			i++;
			continue;
		}
		memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
}

void bl_parse_bad(struct bl_parse_ctx *ctx, uint32_t line, const char *text, size_t len,
		  const char *fmt, ...)
{
	struct bl_parse_report *r = ctx->report;
	struct bl_parse_diag *d;
	char q[BL_PARSE_QUOTE_MAX + 4];
	size_t used = 0;
	va_list ap;
	int n;

	r->bad++;
	if (r->n_diags >= BL_PARSE_MAX_DIAGS)
		return;
	d = &r->diags[r->n_diags++];
	d->line = line;
	d->message[0] = '\0';
	if (text) {
		quote(q, text, len);
		n = snprintf(d->message, sizeof(d->message), "'%s' ", q);
		if (n < 0 || (size_t)n >= sizeof(d->message))
			return;
		used = (size_t)n;
	}
	va_start(ap, fmt);
	(void)vsnprintf(d->message + used, sizeof(d->message) - used, fmt, ap);
	va_end(ap);
}

void bl_parse_bad_name(struct bl_parse_ctx *ctx, uint32_t line, const char *text, size_t len,
		       const struct core_dname_error *err)
{
	unsigned char c;

	if (!err->bad_char || err->pos >= len) {
		bl_parse_bad(ctx, line, text, len, "is not a domain name (%s)", err->why);
		return;
	}
	c = (unsigned char)text[err->pos];
	if (c > 0x20 && c < 0x7f)
		bl_parse_bad(ctx, line, text, len,
			     "is not a domain name ('%c' not allowed: letters, digits, '-', '_')",
			     c);
	else
		bl_parse_bad(
			ctx, line, text, len,
			"is not a domain name (byte 0x%02x not allowed: letters, digits, '-', '_')",
			c);
}

int bl_parse_add(struct bl_parse_ctx *ctx, const uint8_t *name, size_t name_len, uint8_t flags,
		 enum bl_action action, uint32_t line, const uint8_t *data, size_t data_len)
{
	struct bl_parse_report *r = ctx->report;
	char text[CORE_DNAME_TEXT_MAX];
	int rc;

	rc = bl_builder_add(ctx->b, name, name_len, ctx->categories, ctx->list_id, flags, action,
			    line, data, data_len);
	if (rc == 0) {
		r->entries++;
		if (flags & BL_ALLOW)
			r->allows++;
		return 0;
	}
	if (rc == CORE_ELIMIT && data_len > 0) {
		/* The builder is full, or this name has all the local data an entry can hold:
		 * adding the name alone tells which (it merges into the existing entry). */
		rc = bl_builder_add(ctx->b, name, name_len, ctx->categories, ctx->list_id, flags,
				    action, line, NULL, 0);
		if (rc != 0)
			return rc;
		core_dname_to_text(name, name_len, text, sizeof(text));
		bl_parse_bad(
			ctx, line, text, strlen(text),
			"has too much local data (at most 65535 bytes per name), ignoring this record");
		return 0;
	}
	if (rc == -EINVAL) {
		core_dname_to_text(name, name_len, text, sizeof(text));
		bl_parse_bad(ctx, line, text, strlen(text), "was refused by the set");
		return 0;
	}
	return rc;
}

int bl_parse_add_ip(struct bl_parse_ctx *ctx, const struct bl_ip_trigger *t)
{
	struct bl_parse_report *r = ctx->report;

	if (r->n_ip_triggers == ctx->ip_cap) {
		size_t cap = ctx->ip_cap ? ctx->ip_cap * 2 : 64;
		struct bl_ip_trigger *p;

		if (r->n_ip_triggers >= BL_PARSE_MAX_IP_TRIGGERS)
			return CORE_ELIMIT;
		if (cap > BL_PARSE_MAX_IP_TRIGGERS)
			cap = BL_PARSE_MAX_IP_TRIGGERS;
		p = core_realloc(r->ip_triggers, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		r->ip_triggers = p;
		ctx->ip_cap = cap;
	}
	r->ip_triggers[r->n_ip_triggers++] = *t;
	return 0;
}

void bl_parse_report_clear(struct bl_parse_report *report)
{
	if (!report)
		return;
	core_free(report->ip_triggers);
	memset(report, 0, sizeof(*report));
}

/* ---- the line scanner ----------------------------------------------------------------------- */

struct lines {
	const char *p, *end;
	uint32_t no; /**< number of the line last returned (1-based) */
};

/* The next line of @it, without its blanks (CR included) at both ends. False at the end. */
static inline bool next_line(struct lines *it, const char **out_s, const char **out_e)
{
	const char *s = it->p, *e, *nl;

	if (s >= it->end)
		return false;
	nl = memchr(s, '\n', (size_t)(it->end - s));
	e = nl ? nl : it->end;
	it->p = nl ? nl + 1 : it->end;
	it->no++;
	while (s < e && bl_parse_is_blank((unsigned char)*s))
		s++;
	while (e > s && bl_parse_is_blank((unsigned char)e[-1]))
		e--;
	*out_s = s;
	*out_e = e;
	return true;
}

static inline const char *token_end(const char *p, const char *e)
{
	while (p < e && !bl_parse_is_blank((unsigned char)*p))
		p++;
	return p;
}

static inline const char *skip_blanks(const char *p, const char *e)
{
	while (p < e && bl_parse_is_blank((unsigned char)*p))
		p++;
	return p;
}

/* Is @s (@n bytes) an IPv4 or IPv6 address (with an optional %scope)? */
static bool is_address(const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 16];
	uint8_t tmp[16];
	char *pct;

	if ((n == 7 && memcmp(s, "0.0.0.0", 7) == 0) || (n == 9 && memcmp(s, "127.0.0.1", 9) == 0))
		return true;
	if (n == 0 || n >= sizeof(buf))
		return false;
	/* only digits, hex letters, dots, colons: skip the copy for the usual name */
	if (!((s[0] >= '0' && s[0] <= '9') || s[0] == ':' || memchr(s, ':', n)))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	pct = strchr(buf, '%');
	if (pct)
		*pct = '\0';
	return inet_pton(AF_INET, buf, tmp) == 1 || inet_pton(AF_INET6, buf, tmp) == 1;
}

/* Names a hosts file gives to the machine itself ("127.0.0.1 localhost"): never blocked. */
static bool is_self_name(const char *s, size_t n)
{
#define SELF(name)                     \
	{                              \
		name, sizeof(name) - 1 \
	}
	static const struct {
		const char *name;
		size_t len;
	} names[] = {
		SELF("localhost"),    SELF("localhost.localdomain"), SELF("localdomain"),
		SELF("local"),	      SELF("broadcasthost"),	     SELF("ip6-localhost"),
		SELF("ip6-loopback"), SELF("ip6-localnet"),	     SELF("ip6-mcastprefix"),
		SELF("ip6-allnodes"), SELF("ip6-allrouters"),	     SELF("ip6-allhosts"),
	};
#undef SELF
	char c;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n > 10 && strncasecmp(s + n - 10, ".localhost", 10) == 0)
		return true;
	c = (char)(s[0] | 0x20);
	if (n > 21 || (c != 'l' && c != 'b' && c != 'i'))
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].len == n && strncasecmp(s, names[i].name, n) == 0)
			return true;
	return false;
}

/* Is the last label of wire name @w all digits (an IP address, or something like one)? */
static bool top_label_is_numeric(const uint8_t *w)
{
	size_t pos = 0, last = 0;

	while (w[pos] != 0) {
		last = pos;
		pos += 1 + (size_t)w[pos];
	}
	if (pos == 0)
		return false;
	for (size_t i = 1; i <= w[last]; i++)
		if (w[last + i] < '0' || w[last + i] > '9')
			return false;
	return true;
}

/* What add_name() made of a token. */
enum name_result {
	NAME_ADDED,
	NAME_BAD,     /**< reported (once per line) */
	NAME_NUMERIC, /**< an IP address or all-digit top label; reported when asked to */
};

/*
 * Parse @tok ("name", or "*.name" for the names below only) and add it with @flags. @tok lies
 * inside @show (@show_len bytes), the text a diagnostic quotes: the token, or the whole rule.
 * @report_numeric: a numeric name is a bad line (else the caller decides). @reported: a bad line
 * was already reported for this line (only the first bad name of a line is).
 *
 * @return 0 with the outcome in @out, CORE_ELIMIT, -ENOMEM.
 */
static int add_name(struct bl_parse_ctx *ctx, uint32_t line, const char *show, size_t show_len,
		    const char *tok, size_t n, uint8_t flags, bool report_numeric, bool *reported,
		    enum name_result *out)
{
	uint8_t wire[255];
	struct core_dname_error err;
	size_t skip = 0, len;

	if (n >= 2 && tok[0] == '*' && tok[1] == '.') {
		skip = 2;
		flags = (uint8_t)((flags & BL_ALLOW) | BL_MATCH_BELOW);
	}
	len = core_dname_parse(tok + skip, n - skip, wire, &err);
	if (len == 0) {
		*out = NAME_BAD;
		if (!*reported) {
			err.pos += (size_t)(tok - show) + skip;
			bl_parse_bad_name(ctx, line, show, show_len, &err);
			*reported = true;
		}
		return 0;
	}
	if (top_label_is_numeric(wire)) {
		*out = NAME_NUMERIC;
		if (report_numeric && !*reported) {
			if (is_address(tok + skip, n - skip))
				bl_parse_bad(ctx, line, show, show_len,
					     "is an IP address, not a domain name");
			else
				bl_parse_bad(ctx, line, show, show_len,
					     "is not a domain name (all-digit top-level label)");
			*reported = true;
		}
		return 0;
	}
	*out = NAME_ADDED;
	return bl_parse_add(ctx, wire, len, flags, BL_ACTION_POLICY, line, NULL, 0);
}

/* ---- domains: one name per line ------------------------------------------------------------- */

static int parse_domains(struct bl_parse_ctx *ctx, const char *text, size_t len)
{
	struct lines it = {.p = text, .end = text + len};
	const char *s, *e;
	int rc = 0;

	while (next_line(&it, &s, &e)) {
		const char *te, *rest;
		enum name_result res;
		bool reported = false;

		if (s == e || *s == '#' || *s == '!')
			continue;
		te = token_end(s, e);
		rest = skip_blanks(te, e);
		if (rest < e && *rest != '#') {
			if (is_address(s, (size_t)(te - s)))
				bl_parse_bad(
					ctx, it.no, s, (size_t)(e - s),
					"looks like a hosts line (address, then names): use format hosts");
			else
				bl_parse_bad(ctx, it.no, s, (size_t)(e - s),
					     "is not a domain name (space inside)");
			continue;
		}
		if (te - s >= 2 && ((s[0] == '|' && s[1] == '|') || (s[0] == '@' && s[1] == '@'))) {
			bl_parse_bad(ctx, it.no, s, (size_t)(te - s),
				     "is an AdBlock rule, not a domain name: use format adblock");
			continue;
		}
		rc = add_name(ctx, it.no, s, (size_t)(te - s), s, (size_t)(te - s),
			      BL_MATCH_SELF | BL_MATCH_BELOW, true, &reported, &res);
		if (rc < 0)
			break;
	}
	ctx->report->lines = it.no;
	return rc;
}

/* ---- hosts: "address name [name...]" -------------------------------------------------------- */

static int parse_hosts(struct bl_parse_ctx *ctx, const char *text, size_t len)
{
	struct lines it = {.p = text, .end = text + len};
	const char *s, *e;
	int rc = 0;

	while (next_line(&it, &s, &e)) {
		const char *hash = memchr(s, '#', (size_t)(e - s));
		const char *te, *p;
		size_t names = 0, selves = 0;
		bool reported = false;

		if (hash) {
			e = hash;
			while (e > s && bl_parse_is_blank((unsigned char)e[-1]))
				e--;
		}
		if (s == e)
			continue;
		te = token_end(s, e);
		if (!is_address(s, (size_t)(te - s))) {
			if (te == e)
				bl_parse_bad(
					ctx, it.no, s, (size_t)(e - s),
					"is not a hosts line (address, then names): a domains list? use format domains");
			else
				bl_parse_bad(
					ctx, it.no, s, (size_t)(te - s),
					"is not an address (hosts lines are 'address name...')");
			continue;
		}
		p = skip_blanks(te, e);
		if (p == e) {
			bl_parse_bad(ctx, it.no, s, (size_t)(e - s),
				     "has no name after the address");
			continue;
		}
		while (p < e) {
			const char *q = token_end(p, e);
			enum name_result res;

			names++;
			if (is_self_name(p, (size_t)(q - p)) || is_address(p, (size_t)(q - p))) {
				selves++;
			} else {
				rc = add_name(ctx, it.no, p, (size_t)(q - p), p, (size_t)(q - p),
					      BL_MATCH_SELF, true, &reported, &res);
				if (rc < 0)
					goto out;
			}
			p = skip_blanks(q, e);
		}
		if (selves == names)
			ctx->report->skipped++;
	}
out:
	ctx->report->lines = it.no;
	return rc;
}

/* ---- adblock: the DNS-meaningful subset ----------------------------------------------------- */

/* Is @c one of the bytes of @set (never for NUL)? */
static inline bool is_one_of(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* Cosmetic (element hiding, scriptlet) rules: "##", "#@#", "#?#", "#$#", "#%#" anywhere. */
static bool is_cosmetic(const char *s, const char *e)
{
	for (const char *p = memchr(s, '#', (size_t)(e - s)); p && p + 1 < e;
	     p = memchr(p + 1, '#', (size_t)(e - p - 1))) {
		if (p[1] == '#')
			return true;
		if (p + 2 < e && p[2] == '#' && is_one_of(p[1], "@?$%"))
			return true;
	}
	return false;
}

/*
 * Are the options in [@p, @e) (after '$') all meaningful for a resolver? Only "important" and
 * "all" are: the others depend on what a browser knows and a resolver does not (request type,
 * page, party) or change what the rule means (badfilter, denyallow, dnsrewrite, client...).
 */
static bool options_ok(const char *p, const char *e)
{
	if (p == e)
		return false;
	for (;;) {
		const char *c = memchr(p, ',', (size_t)(e - p));
		const char *q = c ? c : e;
		size_t n = (size_t)(q - p);

		if (!((n == 9 && memcmp(p, "important", 9) == 0) ||
		      (n == 3 && memcmp(p, "all", 3) == 0)))
			return false;
		if (!c)
			return true;
		p = c + 1;
	}
}

/* Bytes that end the domain part of a "||" rule (URL pattern syntax). */
static inline bool ends_domain(char c)
{
	return c == '^' || c == '$' || c == '/' || c == '*' || c == '|' || c == ':' || c == '?';
}

static int parse_adblock(struct bl_parse_ctx *ctx, const char *text, size_t len)
{
	struct lines it = {.p = text, .end = text + len};
	struct bl_parse_report *r = ctx->report;
	const char *s, *e;
	int rc = 0;

	while (next_line(&it, &s, &e)) {
		uint8_t flags = BL_MATCH_SELF | BL_MATCH_BELOW;
		const char *p = s, *ns, *ne;
		enum name_result res;
		bool reported = false;

		if (s == e || *s == '!' || *s == '[')
			continue; /* comment, "[Adblock Plus 2.0]" header */
		if (*s == '#' && !(e - s >= 2 && is_one_of(s[1], "#@?$%")))
			continue; /* "# comment", as some DNS lists write them */
		if (is_cosmetic(s, e)) {
			r->skipped++;
			continue;
		}
		if (e - p >= 2 && p[0] == '@' && p[1] == '@') {
			flags |= BL_ALLOW;
			p += 2;
		}
		if (e - p < 2 || p[0] != '|' || p[1] != '|') {
			r->skipped++; /* "|http://...", "/regex/", bare URL patterns */
			continue;
		}
		p += 2;
		if (e - p >= 2 && p[0] == '*' && p[1] == '.') {
			flags = (uint8_t)((flags & BL_ALLOW) | BL_MATCH_BELOW);
			p += 2;
		}
		ns = p;
		while (p < e && !ends_domain(*p))
			p++;
		ne = p;
		if (p < e && *p == '^') {
			p++;
			if (p < e && *p == '|')
				p++;
		} else if (p < e && *p == '|') {
			p++; /* "||name|": the name ends there, as with "^" */
		}
		if (p < e && *p != '$') {
			r->skipped++; /* a path, a port, a wildcard inside the name */
			continue;
		}
		if (p < e && !options_ok(p + 1, e)) {
			r->skipped++;
			continue;
		}
		if (ne == ns) {
			bl_parse_bad(ctx, it.no, s, (size_t)(e - s),
				     "has no domain name after '||'");
			continue;
		}
		rc = add_name(ctx, it.no, s, (size_t)(e - s), ns, (size_t)(ne - ns), flags, false,
			      &reported, &res);
		if (rc < 0)
			break;
		if (res == NAME_NUMERIC)
			r->skipped++; /* "||192.0.2.1^": an IP rule, nothing a name set can hold */
	}
	r->lines = it.no;
	return rc;
}

/* ---- entry points --------------------------------------------------------------------------- */

int bl_parse_buffer(enum bl_format format, const char *text, size_t len, const char *origin,
		    struct bl_builder *b, uint16_t list_id, uint32_t categories,
		    struct bl_parse_report *report)
{
	struct bl_parse_report scratch;
	struct bl_parse_ctx ctx = {
		.b = b,
		.list_id = list_id,
		.categories = categories,
		.report = report ? report : &scratch,
	};
	uint8_t origin_wire[255];
	size_t origin_len = 0;
	int rc;

	memset(ctx.report, 0, sizeof(*ctx.report));
	if (!b || (!text && len > 0) || list_id >= BL_MAX_LISTS)
		return -EINVAL;
	if (format == BL_FORMAT_RPZ && origin) {
		struct core_dname_error err;

		origin_len = core_dname_parse(origin, strlen(origin), origin_wire, &err);
		if (origin_len == 0)
			return -EINVAL;
	}
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	} else if (len >= 2 && ((uint8_t)text[0] == 0xff || (uint8_t)text[0] == 0xfe) &&
		   ((uint8_t)text[1] ^ (uint8_t)text[0]) == 0x01) {
		bl_parse_bad(&ctx, 1, NULL, 0,
			     "the file is UTF-16 (byte order mark %02x %02x): save it as UTF-8",
			     (uint8_t)text[0], (uint8_t)text[1]);
		ctx.report->lines = 1;
		return 0;
	}
	switch (format) {
	case BL_FORMAT_DOMAINS:
		rc = parse_domains(&ctx, text, len);
		break;
	case BL_FORMAT_HOSTS:
		rc = parse_hosts(&ctx, text, len);
		break;
	case BL_FORMAT_ADBLOCK:
		rc = parse_adblock(&ctx, text, len);
		break;
	case BL_FORMAT_RPZ:
		rc = bl_parse_rpz(&ctx, text, len, origin_len ? origin_wire : NULL, origin_len);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	if (!report)
		bl_parse_report_clear(&scratch);
	return rc;
}

int bl_parse_file(enum bl_format format, const char *path, const char *origin, struct bl_builder *b,
		  uint16_t list_id, uint32_t categories, struct bl_parse_report *report)
{
	struct stat st;
	void *map;
	int fd, rc;

	if (report)
		memset(report, 0, sizeof(*report));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out_close;
	}
	if (st.st_size == 0) {
		rc = bl_parse_buffer(format, "", 0, origin, b, list_id, categories, report);
		goto out_close;
	}
	if ((uint64_t)st.st_size > SIZE_MAX / 2) {
		rc = -EFBIG;
		goto out_close;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		goto out_close;
	}
	(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	rc = bl_parse_buffer(format, map, (size_t)st.st_size, origin, b, list_id, categories,
			     report);
	munmap(map, (size_t)st.st_size);
out_close:
	close(fd);
	return rc;
}
