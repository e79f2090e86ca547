/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Rings of blocked queries from a worker to the control thread (see qlog.h). */
#include "compliance/qlog.h"

#include <errno.h>
#include <string.h>

#include "core/alloc.h"

int cmpl_qlog_init(struct cmpl_qlog_ring *r, size_t slots)
{
	memset(r, 0, sizeof(*r));
	if (slots == 0 || (slots & (slots - 1)) != 0)
		return -EINVAL;
	r->e = core_calloc(slots, sizeof(*r->e));
	if (!r->e)
		return -ENOMEM;
	r->mask = slots - 1;
	return 0;
}

void cmpl_qlog_fini(struct cmpl_qlog_ring *r)
{
	core_free(r->e);
	r->e = NULL;
}

struct cmpl_qlog_entry *cmpl_qlog_reserve(struct cmpl_qlog_ring *r)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (head - tail > r->mask) {
		uint64_t d = atomic_load_explicit(&r->dropped, memory_order_relaxed);
		atomic_store_explicit(&r->dropped, d + 1, memory_order_relaxed);
		return NULL;
	}
	return &r->e[head & r->mask];
}

void cmpl_qlog_commit(struct cmpl_qlog_ring *r)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

size_t cmpl_qlog_drain(struct cmpl_qlog_ring *r,
		       void (*fn)(void *arg, const struct cmpl_qlog_entry *e), void *arg)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	for (size_t i = tail; i != head; i++)
		fn(arg, &r->e[i & r->mask]);
	atomic_store_explicit(&r->tail, head, memory_order_release);
	return head - tail;
}
