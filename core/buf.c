/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Bounded text buffer (see buf.h). */
#include "core/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

void core_buf_init(struct core_buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void core_buf_deinit(struct core_buf *b)
{
	b->data = core_free(b->data);
	b->len = b->cap = 0;
}

static int reserve(struct core_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return CORE_ELIMIT;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	char *p = core_realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int core_buf_add(struct core_buf *b, const void *data, size_t len)
{
	int r = reserve(b, len);
	if (r != 0)
		return r;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int core_buf_printf(struct core_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	int r = reserve(b, (size_t)n);
	if (r != 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *core_buf_str(const struct core_buf *b)
{
	return b->data ? b->data : "";
}
