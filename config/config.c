/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Loading a config file: read, parse the YAML, check the top level, hand sections on, free. */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config/internal.h"
#include "core/alloc.h"
#include "core/error.h"

/* A config file is small; refuse anything larger than this rather than read it whole. */
#define FILE_MAX (64u * 1024 * 1024)

enum {
	TOP_SERVER,
	TOP_NETWORKS,
	TOP_SINKHOLE,
	TOP_LISTS,
	TOP_GROUPS,
	TOP_COMPLIANCE,
	TOP_COUNT,
};

static const struct cfg_key top_keys[TOP_COUNT] = {
	[TOP_SERVER] = {"server", NULL},     [TOP_NETWORKS] = {"networks", NULL},
	[TOP_SINKHOLE] = {"sinkhole", NULL}, [TOP_LISTS] = {"lists", NULL},
	[TOP_GROUPS] = {"groups", NULL},     [TOP_COMPLIANCE] = {"compliance", NULL},
};

static void free_network(struct cfg_network *n)
{
	core_free(n->name);
	core_free(n->id);
	core_free(n->group);
	core_free(n->cidrs);
	cfg_domains_free(n->allow, n->n_allow);
	cfg_domains_free(n->deny, n->n_deny);
	core_free(n->mmdb);
	core_free(n->group_field);
	core_free(n->id_field);
	core_free(n->province_field);
}

static void free_group(struct cfg_group *g)
{
	core_free(g->name);
	cfg_domains_free(g->allow, g->n_allow);
	cfg_domains_free(g->deny, g->n_deny);
	core_free(g->schedules);
}

struct cfg_root *cfg_free(struct cfg_root *cfg)
{
	if (!cfg)
		return NULL;
	core_free(cfg->path);
	core_free(cfg->server.listen);
	core_free(cfg->server.forwarders);
	core_free(cfg->server.root_hints);
	core_free(cfg->server.trust_anchor);
	core_free(cfg->server.state_dir);
	core_free(cfg->server.control_socket);
	core_free(cfg->server.log_level);
	core_free(cfg->server.timezone);
	for (size_t i = 0; cfg->networks && i < cfg->n_networks; i++)
		free_network(&cfg->networks[i]);
	core_free(cfg->networks);
	core_free(cfg->compliance.reporter_id);
	core_free(cfg->compliance.store);
	core_free(cfg->compliance.authority_url);
	core_free(cfg->compliance.authority_key_file);
	core_free(cfg->compliance.authority_ca_file);
	core_free(cfg->compliance.dnstap_socket);
	core_free(cfg->compliance.metrics);
	core_free(cfg->sinkhole.block_page_listen);
	core_free(cfg->sinkhole.block_page_contact);
	for (size_t i = 0; cfg->lists && i < cfg->n_lists; i++) {
		core_free(cfg->lists[i].name);
		core_free(cfg->lists[i].category);
		core_free(cfg->lists[i].file);
		core_free(cfg->lists[i].origin);
		core_free(cfg->lists[i].primary);
		core_free(cfg->lists[i].zone);
		core_free(cfg->lists[i].url);
		core_free(cfg->lists[i].minisign_key);
		core_free(cfg->lists[i].ca_file);
		if (cfg->lists[i].tsig) {
			core_free(cfg->lists[i].tsig->name);
			core_free(cfg->lists[i].tsig->algorithm);
			core_free(cfg->lists[i].tsig->secret);
			core_free(cfg->lists[i].tsig);
		}
	}
	core_free(cfg->lists);
	for (size_t i = 0; cfg->groups && i < cfg->n_groups; i++)
		free_group(&cfg->groups[i]);
	core_free(cfg->groups);
	for (size_t i = 0; i < CFG_MAX_CATEGORIES; i++)
		core_free(cfg->categories[i]);
	core_free(cfg);
	return NULL;
}

/* Line and column (1-based, in characters) of byte @offset of the source. */
static void offset_position(const struct cfg_ctx *ctx, size_t offset, unsigned *out_line,
			    unsigned *out_column)
{
	unsigned line = 1, column = 1;

	if (offset > ctx->len)
		offset = ctx->len;
	for (size_t i = 0; i < offset; i++) {
		unsigned char c = (unsigned char)ctx->text[i];
		if (c == '\n') {
			line++;
			column = 1;
		} else if ((c & 0xc0) != 0x80) {
			column++;
		}
	}
	*out_line = line;
	*out_column = column;
}

/* The byte at a libyaml mark (line and column in characters), or 0. */
static unsigned char byte_at_mark(const struct cfg_ctx *ctx, const yaml_mark_t *mark)
{
	size_t i = 0, line = 0, column = 0;

	while (i < ctx->len && line < mark->line) {
		if (ctx->text[i++] == '\n')
			line++;
	}
	while (i < ctx->len && column < mark->column) {
		i++;
		while (i < ctx->len && ((unsigned char)ctx->text[i] & 0xc0) == 0x80)
			i++;
		column++;
	}
	return i < ctx->len ? (unsigned char)ctx->text[i] : 0;
}

/* Turn a libyaml failure into a diagnostic; returns -ENOMEM for its allocation failures. */
static int yaml_failed(struct cfg_ctx *ctx, const yaml_parser_t *parser)
{
	const char *problem = parser->problem ? parser->problem : "unknown error";
	unsigned line, column;
	char context[160] = "";

	switch (parser->error) {
	case YAML_MEMORY_ERROR:
		return -ENOMEM;
	case YAML_READER_ERROR:
		offset_position(ctx, parser->problem_offset, &line, &column);
		if (parser->problem_value != -1)
			cfg_diag_add(ctx, false, ctx->file, line, column, "",
				     "invalid YAML: %s (byte 0x%02x); the file must be UTF-8 text",
				     problem, (unsigned)parser->problem_value & 0xff);
		else
			cfg_diag_add(ctx, false, ctx->file, line, column, "",
				     "invalid YAML: %s; the file must be UTF-8 text", problem);
		return 0;
	default:
		break;
	}
	line = (unsigned)parser->problem_mark.line + 1;
	column = (unsigned)parser->problem_mark.column + 1;
	if (parser->context && (parser->context_mark.line != parser->problem_mark.line ||
				parser->context_mark.column != parser->problem_mark.column))
		snprintf(context, sizeof(context), " (%s at line %u, column %u)", parser->context,
			 (unsigned)parser->context_mark.line + 1,
			 (unsigned)parser->context_mark.column + 1);
	if (byte_at_mark(ctx, &parser->problem_mark) == '\t')
		cfg_diag_add(
			ctx, false, ctx->file, line, column, "",
			"invalid YAML: %s%s; YAML does not allow tabs for indentation, use spaces",
			problem, context);
	else
		cfg_diag_add(ctx, false, ctx->file, line, column, "", "invalid YAML: %s%s", problem,
			     context);
	return 0;
}

static void load_top(struct cfg_ctx *ctx, yaml_node_t *top)
{
	struct cfg_kv kv[TOP_COUNT];

	if (!top || cfg_node_is_null(top)) {
		/* an empty file: all defaults */
		memset(kv, 0, sizeof(kv));
	} else if (!cfg_map_get(ctx, top, "a mapping of sections such as 'server:' and 'networks:'",
				top_keys, TOP_COUNT, kv)) {
		return;
	}
	cfg_map_report_future(ctx, top_keys, TOP_COUNT, kv);
	cfg_server_load(ctx, kv[TOP_SERVER].key, kv[TOP_SERVER].value);
	cfg_networks_load(ctx, kv[TOP_NETWORKS].key, kv[TOP_NETWORKS].value);
	cfg_sinkhole_load(ctx, kv[TOP_SINKHOLE].key, kv[TOP_SINKHOLE].value);
	cfg_lists_load(ctx, kv[TOP_LISTS].key, kv[TOP_LISTS].value);
	/* groups name categories, which the lists define; networks name groups */
	cfg_groups_load(ctx, kv[TOP_GROUPS].key, kv[TOP_GROUPS].value);
	if (!ctx->oom)
		cfg_networks_check_groups(ctx);
	cfg_compliance_load(ctx, kv[TOP_COMPLIANCE].key, kv[TOP_COMPLIANCE].value);
}

/* A second document ("---") would be silently ignored; refuse it. */
static int check_no_second_document(struct cfg_ctx *ctx, yaml_parser_t *parser)
{
	yaml_document_t doc;

	if (!yaml_parser_load(parser, &doc))
		return yaml_failed(ctx, parser);
	if (yaml_document_get_root_node(&doc))
		cfg_diag_add(
			ctx, false, ctx->file, (unsigned)doc.start_mark.line + 1,
			(unsigned)doc.start_mark.column + 1, "",
			"a second YAML document starts here; a config file holds exactly one (remove the '---' line and merge the settings)");
	yaml_document_delete(&doc);
	return 0;
}

int cfg_load_buffer(const char *name, const char *text, size_t len, struct cfg_root **out_cfg,
		    struct cfg_diags *diags)
{
	struct cfg_diags local = {0};
	struct cfg_ctx ctx = {0};
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = 0;

	if (!diags)
		diags = &local;
	ctx.file = name ? name : "<config>";
	ctx.text = text ? text : "";
	ctx.len = text ? len : 0;
	ctx.diags = diags;
	ctx.first_diag = diags->n;

	ctx.root = core_calloc(1, sizeof(*ctx.root));
	if (!ctx.root) {
		rc = -ENOMEM;
		goto out;
	}
	ctx.root->path = core_strdup(ctx.file);
	if (!ctx.root->path) {
		rc = -ENOMEM;
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		rc = -ENOMEM;
		goto out;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""),
				     text ? len : 0);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = yaml_failed(&ctx, &parser);
		goto out_parser;
	}
	ctx.doc = &doc;
	/* each node may be visited a few times (sections re-read keys); aliases need more */
	ctx.budget = 4 * (uint64_t)(doc.nodes.top - doc.nodes.start) + 1000;
	load_top(&ctx, yaml_document_get_root_node(&doc));
	ctx.doc = NULL;
	yaml_document_delete(&doc);
	if (!ctx.oom)
		rc = check_no_second_document(&ctx, &parser);

out_parser:
	yaml_parser_delete(&parser);
out:
	if (ctx.oom)
		rc = -ENOMEM;
	if (rc == 0 && ctx.n_errors)
		rc = CORE_ECONFIG;
	cfg_diags_sort(&ctx);
	if (rc == 0)
		*out_cfg = ctx.root;
	else
		cfg_free(ctx.root);
	cfg_diags_clear(&local);
	return rc;
}

/* Read all of @fd into a new buffer; 0, -errno, or CORE_ELIMIT when over FILE_MAX. */
static int read_all(int fd, char **out_text, size_t *out_len)
{
	size_t cap = 4096, len = 0;
	char *text = core_malloc(cap);

	if (!text)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			char *bigger;
			if (cap >= FILE_MAX) {
				core_free(text);
				return CORE_ELIMIT;
			}
			cap *= 2;
			bigger = core_realloc(text, cap);
			if (!bigger) {
				core_free(text);
				return -ENOMEM;
			}
			text = bigger;
		}
		ssize_t n = read(fd, text + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;
			core_free(text);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*out_text = text;
	*out_len = len;
	return 0;
}

int cfg_load(const char *path, struct cfg_root **out_cfg, struct cfg_diags *diags)
{
	struct cfg_diags local = {0};
	struct cfg_ctx ctx = {.file = path, .diags = diags ? diags : &local};
	char *text = NULL;
	size_t len = 0;
	int fd, rc;

	ctx.first_diag = ctx.diags->n;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
	} else {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			rc = -EISDIR;
		else
			rc = read_all(fd, &text, &len);
		close(fd);
	}
	if (rc == -ENOMEM)
		goto out;
	if (rc < 0) {
		if (rc == CORE_ELIMIT)
			cfg_diag_add(&ctx, false, path, 0, 0, "",
				     "the file is larger than %u MiB; this is not a config file",
				     FILE_MAX >> 20);
		else
			cfg_diag_add(&ctx, false, path, 0, 0, "", "cannot read the file: %s",
				     core_strerror(rc));
		rc = ctx.oom ? -ENOMEM : CORE_ECONFIG;
		goto out;
	}
	rc = cfg_load_buffer(path, text, len, out_cfg, ctx.diags);
out:
	core_free(text);
	cfg_diags_clear(&local);
	return rc;
}
