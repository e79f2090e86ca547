/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Forwarders taken from the `nameserver` lines of /etc/resolv.conf when none are configured. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"

#define DEFAULT_RESOLV_CONF "/etc/resolv.conf"

static const char *resolv_conf_path = DEFAULT_RESOLV_CONF;

void cfg_set_resolv_conf_path(const char *path)
{
	resolv_conf_path = path ? path : DEFAULT_RESOLV_CONF;
}

const char *cfg_resolv_conf_path(void)
{
	return resolv_conf_path;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static bool is_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_port;
	return ((const struct sockaddr_in6 *)ss)->sin6_port;
}

const struct cfg_addr *cfg_addr_own_listener(const struct cfg_server *srv, const struct cfg_addr *a)
{
	for (size_t i = 0; i < srv->n_listen; i++) {
		const struct cfg_addr *l = &srv->listen[i];
		if (l->len == a->len && memcmp(&l->ss, &a->ss, a->len) == 0)
			return l;
		if (l->ss.ss_family == a->ss.ss_family && port_of(&l->ss) == port_of(&a->ss) &&
		    is_any(&l->ss) && is_loopback(&a->ss))
			return l;
	}
	return NULL;
}

static int add_forwarder(struct cfg_server *srv, const struct cfg_addr *a)
{
	struct cfg_addr *v = core_realloc(srv->forwarders, (srv->n_forwarders + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	v[srv->n_forwarders++] = *a;
	srv->forwarders = v;
	return 0;
}

/* Handle one line; @line_no is 1-based. */
static int parse_line(struct cfg_ctx *ctx, struct cfg_server *srv, char *line, unsigned line_no)
{
	static const char *const spaces = " \t\r\n";
	char q[CFG_QUOTE_MAX];
	const struct cfg_addr *own;
	struct cfg_addr a;
	const char *why;
	char *p = line + strspn(line, spaces);
	char *token;
	unsigned column;

	if (strncmp(p, "nameserver", 10) != 0 || !p[10] || !strchr(" \t", p[10]))
		return 0;
	p += 10;
	p += strspn(p, spaces);
	if (*p == '\0')
		return 0;
	token = p;
	token[strcspn(token, " \t\r\n#;")] = '\0';
	column = (unsigned)(token - line) + 1;
	if (cfg_addr_parse_why(token, 53, &a, &why) < 0) {
		cfg_diag_add(ctx, true, resolv_conf_path, line_no, column, "server.forwarders",
			     "nameserver '%s' %s; ignoring it", cfg_quote(token, q, sizeof(q)),
			     why);
		return 0;
	}
	own = cfg_addr_own_listener(srv, &a);
	if (own) {
		cfg_diag_add(
			ctx, true, resolv_conf_path, line_no, column, "server.forwarders",
			"nameserver %s would reach this resolver itself (it listens on %s); ignoring it to avoid a forwarding loop",
			a.text, own->text);
		return 0;
	}
	for (size_t i = 0; i < srv->n_forwarders; i++) {
		if (srv->forwarders[i].len == a.len &&
		    memcmp(&srv->forwarders[i].ss, &a.ss, a.len) == 0)
			return 0;
	}
	if (srv->n_forwarders == CFG_ADDRS_MAX)
		return 0;
	return add_forwarder(srv, &a);
}

int cfg_resolv_conf_load(struct cfg_ctx *ctx, struct cfg_server *srv)
{
	char line[512];
	unsigned line_no = 0;
	bool continued = false;
	int rc = 0;
	FILE *f = fopen(resolv_conf_path, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		bool whole = strchr(line, '\n') != NULL;
		/* the rest of an over-long line is not a line of its own */
		if (!continued) {
			line_no++;
			rc = parse_line(ctx, srv, line, line_no);
			if (rc < 0)
				break;
		}
		continued = !whole;
	}
	if (rc == 0 && ferror(f))
		rc = -EIO;
	fclose(f);
	return rc;
}
