/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Diagnostics: collecting, ordering and formatting the problems of one load. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/internal.h"
#include "core/alloc.h"

/* Longest message kept; messages quote values through cfg_quote(), so this is generous. */
#define MESSAGE_MAX 1024

static int diag_push(struct cfg_diags *diags, struct cfg_diag *d)
{
	/* capacity is 8, then doubles: only this file grows the array */
	if (diags->n == 0 || (diags->n >= 8 && (diags->n & (diags->n - 1)) == 0)) {
		size_t cap = diags->n ? diags->n * 2 : 8;
		struct cfg_diag *v = core_realloc(diags->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		diags->v = v;
	}
	diags->v[diags->n++] = *d;
	if (!d->warning)
		diags->n_errors++;
	return 0;
}

__attribute__((format(printf, 7, 0))) static void diag_vadd(struct cfg_ctx *ctx, bool warning,
							    const char *file, unsigned line,
							    unsigned column, const char *path,
							    const char *fmt, va_list ap)
{
	struct cfg_diag d = {.line = line, .column = column, .warning = warning};
	char message[MESSAGE_MAX];
	size_t mine = ctx->diags->n - ctx->first_diag;

	if (!warning)
		ctx->n_errors++;
	if (ctx->oom || mine >= CFG_MAX_DIAGS)
		return;
	if (mine == CFG_MAX_DIAGS - 1) {
		/* the last slot says why the rest is missing; it is an error either way */
		snprintf(message, sizeof(message),
			 "too many problems (more than %d), not listing the rest; fix these first",
			 CFG_MAX_DIAGS - 1);
		if (warning)
			ctx->n_errors++;
		d.warning = false;
	} else {
		vsnprintf(message, sizeof(message), fmt, ap);
	}
	d.file = core_strdup(file ? file : "");
	d.path = core_strdup(path ? path : "");
	d.message = core_strdup(message);
	if (!d.file || !d.path || !d.message || diag_push(ctx->diags, &d) < 0)
		goto out_oom;
	return;

out_oom:
	core_free(d.file);
	core_free(d.path);
	core_free(d.message);
	ctx->oom = true;
}

void cfg_diag_add(struct cfg_ctx *ctx, bool warning, const char *file, unsigned line,
		  unsigned column, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(ctx, warning, file, line, column, path, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 0))) static void
node_vadd(struct cfg_ctx *ctx, bool warning, const yaml_node_t *node, const char *fmt, va_list ap)
{
	unsigned line = 0, column = 0;

	if (node) {
		/* libyaml marks are 0-based */
		line = (unsigned)node->start_mark.line + 1;
		column = (unsigned)node->start_mark.column + 1;
	}
	diag_vadd(ctx, warning, ctx->file, line, column, ctx->path, fmt, ap);
}

void cfg_error(struct cfg_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	node_vadd(ctx, false, node, fmt, ap);
	va_end(ap);
}

void cfg_warn(struct cfg_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	node_vadd(ctx, true, node, fmt, ap);
	va_end(ap);
}

/*
 * Order: the config file before others (resolv.conf); within a file by line and column, and
 * problems without a position (about the file as a whole) last.
 */
static bool diag_before(const struct cfg_ctx *ctx, const struct cfg_diag *a,
			const struct cfg_diag *b)
{
	bool a_other = strcmp(a->file, ctx->file) != 0;
	bool b_other = strcmp(b->file, ctx->file) != 0;

	if (a_other != b_other)
		return !a_other;
	if ((a->line == 0) != (b->line == 0))
		return b->line == 0;
	if (a->line != b->line)
		return a->line < b->line;
	return a->column < b->column;
}

void cfg_diags_sort(struct cfg_ctx *ctx)
{
	size_t n = ctx->diags->n - ctx->first_diag;
	struct cfg_diag *v;

	if (n < 2)
		return;
	v = ctx->diags->v + ctx->first_diag;
	/* insertion sort: stable, and n is at most CFG_MAX_DIAGS */
	for (size_t i = 1; i < n; i++) {
		struct cfg_diag d = v[i];
		size_t j = i;
		while (j > 0 && diag_before(ctx, &d, &v[j - 1])) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = d;
	}
}

void cfg_diags_clear(struct cfg_diags *diags)
{
	if (!diags)
		return;
	for (size_t i = 0; i < diags->n; i++) {
		core_free(diags->v[i].file);
		core_free(diags->v[i].path);
		core_free(diags->v[i].message);
	}
	core_free(diags->v);
	diags->v = NULL;
	diags->n = 0;
	diags->n_errors = 0;
}

size_t cfg_diag_format(const struct cfg_diag *d, char *buf, size_t size)
{
	const char *severity = d->warning ? "warning" : "error";
	const char *file = d->file && d->file[0] ? d->file : "<config>";
	const char *path = d->path ? d->path : "";
	const char *sep = path[0] ? ": " : "";
	const char *message = d->message ? d->message : "";
	int n;

	if (size == 0)
		return 0;
	if (d->line)
		n = snprintf(buf, size, "%s:%u:%u: %s: %s%s%s", file, d->line, d->column, severity,
			     path, sep, message);
	else
		n = snprintf(buf, size, "%s: %s: %s%s%s", file, severity, path, sep, message);
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n < size ? (size_t)n : size - 1;
}

size_t cfg_path_push_key(struct cfg_ctx *ctx, const char *key)
{
	size_t old = ctx->path_len;
	int n = snprintf(ctx->path + old, sizeof(ctx->path) - old, "%s%s", old ? "." : "", key);

	if (n > 0)
		ctx->path_len = strnlen(ctx->path, sizeof(ctx->path) - 1);
	return old;
}

size_t cfg_path_push_index(struct cfg_ctx *ctx, size_t index)
{
	size_t old = ctx->path_len;
	int n = snprintf(ctx->path + old, sizeof(ctx->path) - old, "[%zu]", index);

	if (n > 0)
		ctx->path_len = strnlen(ctx->path, sizeof(ctx->path) - 1);
	return old;
}

void cfg_path_pop(struct cfg_ctx *ctx, size_t len)
{
	ctx->path_len = len;
	ctx->path[len] = '\0';
}

const char *cfg_quote(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (size < 8) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	/* keep room for "..." and the NUL */
	size_t limit = size - 4, boundary = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool ctl = *p < 0x20 || *p == 0x7f;
		if ((*p & 0xc0) != 0x80)
			boundary = o;
		if (o + (ctl ? 4 : 1) > limit) {
			/* cut before the character this byte belongs to */
			memcpy(buf + boundary, "...", 3);
			o = boundary + 3;
			break;
		}
		if (ctl) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		} else {
			buf[o++] = (char)*p;
		}
	}
	buf[o] = '\0';
	return buf;
}
