/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A bounded, growable text buffer (curl's dynbuf idea): appends fail with CORE_ELIMIT rather than
 * grow past the maximum set at init. Always NUL-terminated once anything was appended.
 */
#pragma once

#include <stddef.h>

struct core_buf {
	char *data; /**< owned; NULL until the first append */
	size_t len;
	size_t cap;
	size_t max; /**< bound on len */
};

/** Start an empty buffer that may hold up to @max bytes. */
void core_buf_init(struct core_buf *b, size_t max);
/** Free the contents; the buffer is empty and reusable afterwards. */
void core_buf_deinit(struct core_buf *b);
/** Append @len bytes. @return 0, -ENOMEM or CORE_ELIMIT (nothing appended then). */
int core_buf_add(struct core_buf *b, const void *data, size_t len);
/** Append formatted text. @return 0, -ENOMEM or CORE_ELIMIT. */
int core_buf_printf(struct core_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** The text so far ("" when empty). */
const char *core_buf_str(const struct core_buf *b);
