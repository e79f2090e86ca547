/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Prometheus metrics: a small HTTP listener (libmicrohttpd) that answers GET /metrics with the
 * text exposition format 0.0.4, and helpers that write well-formed metric families.
 *
 * Glossary:
 *  - family: one metric name with its "# HELP" and "# TYPE" lines, followed by all its samples
 *    (one per label set). A family is written once per scrape, its samples right after it.
 *  - render callback: the daemon's function that writes every family into a buffer at each
 *    scrape; this module knows nothing of what is measured (compliance/ sits below resolver/).
 *
 * Writing: cmpl_metrics_family() then cmpl_metrics_sample*() for that family's name. Counter
 * names end in "_total" (checked). Label values are escaped (\\, \", \n) and made valid UTF-8;
 * HELP text is escaped (\\, \n). Each helper appends whole lines or nothing, so a buffer that
 * runs full never holds half a line.
 *
 * Thread context: cmpl_metrics_start() and cmpl_metrics_stop() belong to one thread (the
 * daemon's control thread). The render callback runs on the listener's own polling thread, one
 * call at a time, and never after cmpl_metrics_stop() has returned.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/buf.h"

/** Bound on one scrape's text; a render that needs more answers HTTP 500. */
#define CMPL_METRICS_MAX_BYTES (8u << 20)
/** Bound on one line (a sample with its labels, or a HELP line). */
#define CMPL_METRICS_LINE_MAX 4096u
/** The path served; every other path is 404. */
#define CMPL_METRICS_PATH "/metrics"
/** Content-Type of the text format. */
#define CMPL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum cmpl_metric_type {
	CMPL_METRIC_COUNTER, /**< only goes up (resets at restart); name ends in "_total" */
	CMPL_METRIC_GAUGE,
};

/** One label of a sample; both strings are borrowed for the call. */
struct cmpl_metric_label {
	const char *name;  /**< [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" */
	const char *value; /**< any text; escaped and made valid UTF-8 when written */
};

/**
 * Write the "# HELP" and "# TYPE" lines of family @name.
 * @param name  [a-zA-Z_:][a-zA-Z0-9_:]*; a counter's ends in "_total"
 * @param help  one sentence, UTF-8; backslashes and newlines are escaped
 * @return 0, -EINVAL for a bad name (a programming error: also fails an assertion),
 *         CORE_ELIMIT when @out is full or the line is over CMPL_METRICS_LINE_MAX, -ENOMEM.
 *         On failure nothing is appended.
 */
int cmpl_metrics_family(struct core_buf *out, const char *name, enum cmpl_metric_type type,
			const char *help) __attribute__((warn_unused_result));

/**
 * Write one sample "name{l1="v1",...} value" of the family just written.
 * @param labels  @n_labels labels (NULL when @n_labels is 0), in the order given
 * @return as cmpl_metrics_family(); nothing is appended on failure.
 */
int cmpl_metrics_sample_u64(struct core_buf *out, const char *name,
			    const struct cmpl_metric_label *labels, size_t n_labels, uint64_t value)
	__attribute__((warn_unused_result));

/** As cmpl_metrics_sample_u64() with a floating-point value (NaN and ±Inf are written as the
 * format spells them; other values round-trip exactly). */
int cmpl_metrics_sample(struct core_buf *out, const char *name,
			const struct cmpl_metric_label *labels, size_t n_labels, double value)
	__attribute__((warn_unused_result));

/**
 * Write the whole text of one scrape into @out (initialised by the caller with a bound of
 * CMPL_METRICS_MAX_BYTES). Called on the listener's thread, one call at a time; it must be
 * thread-safe towards the rest of the daemon and return quickly.
 * @return 0, or a negative error (usually the first failed write): the scrape then gets
 *         HTTP 500 rather than a partial text.
 */
typedef int (*cmpl_metrics_render_fn)(void *arg, struct core_buf *out);

struct cmpl_metrics;

/**
 * Serve GET and HEAD /metrics on @addr (TCP), with libmicrohttpd's own polling thread.
 *
 * @param addr  where to listen (copied); IPv6 addresses are bound IPv6-only
 * @param fn    the render callback, called at each scrape from the listener's thread
 * @param arg   passed to @fn; must stay valid until cmpl_metrics_stop() returns
 * @return 0 and the running listener in @out_metrics (stop with cmpl_metrics_stop());
 *         -EINVAL without an address or callback; -ENOMEM; the -errno of a failed bind
 *         (-EADDRINUSE, -EADDRNOTAVAIL when the address is not on this host, -EACCES for a
 *         port below 1024 without CAP_NET_BIND_SERVICE); -EIO when libmicrohttpd fails without
 *         saying why (its own messages are logged as warnings then). The caller reports the
 *         failure, naming @addr.
 */
int cmpl_metrics_start(const struct cfg_addr *addr, cmpl_metrics_render_fn fn, void *arg,
		       struct cmpl_metrics **out_metrics) __attribute__((warn_unused_result));

/**
 * Stop serving and free @m (NULL is fine): closes the listening socket and every connection and
 * joins the listener's thread, so no render call runs once it returns.
 */
void cmpl_metrics_stop(struct cmpl_metrics *m);

/** The address @m was started on (borrowed, valid until cmpl_metrics_stop()). */
const struct cfg_addr *cmpl_metrics_addr(const struct cmpl_metrics *m);

/** The TCP port @m is bound to (useful when started on port 0). */
uint16_t cmpl_metrics_port(const struct cmpl_metrics *m);
