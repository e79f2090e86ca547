/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Accounting allocator (see alloc.h). */
#include "core/alloc.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t live_bytes;
static uint64_t fail_countdown;

static int should_fail(void)
{
	if (__builtin_expect(fail_countdown == 0, 1))
		return 0;
	return --fail_countdown == 0;
}

static void *account(void *p)
{
	if (p)
		atomic_fetch_add_explicit(&live_bytes, malloc_usable_size(p), memory_order_relaxed);
	return p;
}

void *core_malloc(size_t size)
{
	if (should_fail())
		return NULL;
	return account(malloc(size));
}

void *core_calloc(size_t n, size_t size)
{
	if (should_fail())
		return NULL;
	return account(calloc(n, size));
}

void *core_realloc(void *ptr, size_t size)
{
	if (should_fail())
		return NULL;
	size_t old = ptr ? malloc_usable_size(ptr) : 0;
	void *p = realloc(ptr, size);
	if (!p)
		return NULL;
	atomic_fetch_sub_explicit(&live_bytes, old, memory_order_relaxed);
	return account(p);
}

char *core_strdup(const char *s)
{
	return core_strndup(s, strlen(s));
}

char *core_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = core_malloc(len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *core_free(void *ptr)
{
	if (ptr) {
		atomic_fetch_sub_explicit(&live_bytes, malloc_usable_size(ptr),
					  memory_order_relaxed);
		free(ptr);
	}
	return NULL;
}

uint64_t core_alloc_live_bytes(void)
{
	return atomic_load_explicit(&live_bytes, memory_order_relaxed);
}

void core_alloc_fail_at(uint64_t n)
{
	fail_countdown = n;
}
