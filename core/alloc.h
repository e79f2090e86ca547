/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The allocator wrapper every module uses: it accounts live bytes (shown by `lanhmanh status`)
 * and lets tests fail the Nth allocation to check error paths (curl's "torture" idea).
 * NULL from these functions means out of memory, nothing else.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

void *core_malloc(size_t size) __attribute__((malloc, warn_unused_result));
void *core_calloc(size_t n, size_t size) __attribute__((malloc, warn_unused_result));
void *core_realloc(void *ptr, size_t size) __attribute__((warn_unused_result));
char *core_strdup(const char *s) __attribute__((malloc, warn_unused_result));
char *core_strndup(const char *s, size_t n) __attribute__((malloc, warn_unused_result));
/** Free @ptr (NULL is fine). Always returns NULL, for `p = core_free(p)`. */
void *core_free(void *ptr);

/** Bytes currently allocated through this wrapper. */
uint64_t core_alloc_live_bytes(void);
/** Test hook: make the @n-th allocation from now fail (0 disables). Not thread-safe. */
void core_alloc_fail_at(uint64_t n);
