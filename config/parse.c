/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Parsers for the scalar types of the config: numbers, sizes, durations, booleans, addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/internal.h"
#include "core/error.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Read the digits at *@s into @out_value and advance *@s past them. */
static int take_uint(const char **s, uint64_t *out_value)
{
	const char *p = *s;
	uint64_t v = 0;

	if (!is_digit(*p))
		return CORE_EPARSE;
	for (; is_digit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*s = p;
	*out_value = v;
	return 0;
}

int cfg_uint_parse(const char *s, uint64_t *out_value)
{
	uint64_t v;
	int rc = take_uint(&s, &v);

	if (rc < 0)
		return rc;
	if (*s != '\0')
		return CORE_EPARSE;
	*out_value = v;
	return 0;
}

int cfg_bool_parse(const char *text, bool *out_value)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out_value = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out_value = false;
			return 0;
		}
	}
	return CORE_EPARSE;
}

static const char *skip_spaces(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

static int mul_checked(uint64_t a, uint64_t b, uint64_t *out)
{
	if (__builtin_mul_overflow(a, b, out))
		return -ERANGE;
	return 0;
}

int cfg_size_parse(const char *text, uint64_t *out_bytes)
{
	static const struct {
		const char *name;
		uint64_t mult;
	} units[] = {
		{"", 1},
		{"B", 1},
		{"KB", 1000},
		{"MB", 1000 * 1000},
		{"GB", 1000 * 1000 * 1000},
		{"KiB", 1024},
		{"MiB", 1024 * 1024},
		{"GiB", 1024 * 1024 * 1024},
	};
	const char *p = text;
	uint64_t n;
	int rc = take_uint(&p, &n);

	if (rc < 0)
		return rc;
	p = skip_spaces(p);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(p, units[i].name) != 0)
			continue;
		/* "256 " with nothing after the spaces is not a size */
		if (units[i].name[0] == '\0' && p != text && p[-1] == ' ')
			return CORE_EPARSE;
		uint64_t v;
		rc = mul_checked(n, units[i].mult, &v);
		if (rc < 0)
			return rc;
		*out_bytes = v;
		return 0;
	}
	return CORE_EPARSE;
}

int cfg_duration_parse(const char *text, uint64_t *out_ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		/* "ms" before "m", so that the longest unit matches */
		{"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 86400 * 1000},
	};
	const char *p = text;
	uint64_t total = 0;

	if (strcmp(text, "0") == 0) {
		*out_ms = 0;
		return 0;
	}
	p = skip_spaces(p);
	if (*p == '\0')
		return CORE_EPARSE;
	while (*p != '\0') {
		uint64_t n, part;
		int rc = take_uint(&p, &n);
		if (rc < 0)
			return rc;
		p = skip_spaces(p);
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t len = strlen(units[i].name);
			if (strncmp(p, units[i].name, len) == 0 &&
			    (p[len] == '\0' || p[len] == ' ' || is_digit(p[len])))
				break;
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return CORE_EPARSE;
		if (mul_checked(n, units[i].ms, &part) < 0 ||
		    __builtin_add_overflow(total, part, &total))
			return -ERANGE;
		p = skip_spaces(p + strlen(units[i].name));
	}
	*out_ms = total;
	return 0;
}

/* Parse a port after ':'; 0 or CORE_EPARSE. */
static int parse_port(const char *s, uint16_t *out_port)
{
	uint64_t v;

	if (strlen(s) > 5 || cfg_uint_parse(s, &v) < 0 || v == 0 || v > 65535)
		return CORE_EPARSE;
	*out_port = (uint16_t)v;
	return 0;
}

static void addr_set(struct cfg_addr *a, int family, const void *bytes, uint16_t port)
{
	char host[INET6_ADDRSTRLEN];

	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, bytes, 4);
		a->len = sizeof(*sin);
		inet_ntop(AF_INET, bytes, host, sizeof(host));
		snprintf(a->text, sizeof(a->text), "%s:%u", host, (unsigned)port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, bytes, 16);
		a->len = sizeof(*sin6);
		inet_ntop(AF_INET6, bytes, host, sizeof(host));
		snprintf(a->text, sizeof(a->text), "[%s]:%u", host, (unsigned)port);
	}
}

int cfg_addr_parse_why(const char *text, uint16_t default_port, struct cfg_addr *out_addr,
		       const char **out_why)
{
	static const char *const not_addr =
		"is not an IP address; expected IP or IP:port such as 192.0.2.53, 192.0.2.53:53 or [2001:db8::53]:53 (host names are not allowed)";
	static const char *const bad_port = "has an invalid port; expected a port from 1 to 65535";
	char host[INET6_ADDRSTRLEN + 1];
	unsigned char bytes[16];
	const char *port_text = NULL;
	uint16_t port = default_port;
	size_t host_len;
	int family;

	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (!end) {
			*out_why =
				"has no closing ']'; expected an IPv6 address in brackets such as [2001:db8::53]:53";
			return CORE_EPARSE;
		}
		if (end[1] == ':')
			port_text = end + 2;
		else if (end[1] != '\0')
			goto out_not_addr;
		host_len = (size_t)(end - text - 1);
		text++;
		family = AF_INET6;
	} else {
		const char *colon = strchr(text, ':');
		/* one colon: IPv4 with a port; more: a bare IPv6 address without port */
		if (colon && !strchr(colon + 1, ':')) {
			port_text = colon + 1;
			host_len = (size_t)(colon - text);
			family = AF_INET;
		} else {
			host_len = strlen(text);
			family = colon ? AF_INET6 : AF_INET;
		}
	}
	if (host_len == 0 || host_len >= sizeof(host))
		goto out_not_addr;
	memcpy(host, text, host_len);
	host[host_len] = '\0';
	if (strchr(host, '%')) {
		*out_why =
			"has a zone index ('%'), which is not supported; use a global or unique local address";
		return CORE_EPARSE;
	}
	if (inet_pton(family, host, bytes) != 1)
		goto out_not_addr;
	if (port_text && parse_port(port_text, &port) < 0) {
		*out_why = bad_port;
		return CORE_EPARSE;
	}
	if (port == 0) {
		*out_why = bad_port;
		return CORE_EPARSE;
	}
	addr_set(out_addr, family, bytes, port);
	return 0;

out_not_addr:
	*out_why = not_addr;
	return CORE_EPARSE;
}

bool cfg_addr_equal(const struct cfg_addr *a, const struct cfg_addr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

int cfg_addr_parse(const char *text, uint16_t default_port, struct cfg_addr *out_addr)
{
	const char *why;

	return cfg_addr_parse_why(text, default_port, out_addr, &why);
}

enum cfg_cidr_status cfg_cidr_check(const char *text, struct cfg_cidr *out_cidr)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t host_len = slash ? (size_t)(slash - text) : strlen(text);
	struct cfg_cidr c = {0};
	unsigned max;
	bool host_bits = false;

	if (host_len == 0 || host_len >= sizeof(host))
		return CFG_CIDR_BAD_ADDRESS;
	memcpy(host, text, host_len);
	host[host_len] = '\0';
	if (inet_pton(AF_INET, host, c.addr) == 1) {
		c.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c.addr) == 1) {
		c.family = AF_INET6;
		max = 128;
	} else {
		return CFG_CIDR_BAD_ADDRESS;
	}
	c.prefix = (uint8_t)max;
	if (slash) {
		uint64_t prefix;
		/* at most 3 digits, so "/0032" is refused rather than read as 32 */
		if (strlen(slash + 1) > 3 || cfg_uint_parse(slash + 1, &prefix) < 0 ||
		    prefix > max) {
			memset(out_cidr, 0, sizeof(*out_cidr));
			out_cidr->family = c.family;
			return CFG_CIDR_BAD_PREFIX;
		}
		c.prefix = (uint8_t)prefix;
	}
	for (unsigned bit = c.prefix; bit < max; bit++) {
		uint8_t mask = (uint8_t)(0x80u >> (bit % 8));
		if (c.addr[bit / 8] & mask) {
			host_bits = true;
			c.addr[bit / 8] &= (uint8_t)~mask;
		}
	}
	*out_cidr = c;
	return host_bits ? CFG_CIDR_HOST_BITS : CFG_CIDR_OK;
}

int cfg_cidr_parse(const char *text, struct cfg_cidr *out_cidr)
{
	struct cfg_cidr c;

	if (cfg_cidr_check(text, &c) != CFG_CIDR_OK)
		return CORE_EPARSE;
	*out_cidr = c;
	return 0;
}

size_t cfg_cidr_format(const struct cfg_cidr *cidr, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	int n;

	if (size == 0)
		return 0;
	if (!inet_ntop(cidr->family, cidr->addr, host, sizeof(host)))
		host[0] = '\0';
	n = snprintf(buf, size, "%s/%u", host, (unsigned)cidr->prefix);
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n < size ? (size_t)n : size - 1;
}
