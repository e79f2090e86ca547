/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HTTPS downloads on a libuv loop (libcurl's multi-socket API): how lists published over HTTPS
 * (`url:` lists, their minisign signatures) reach a file, without a thread of their own.
 *
 * Glossary: *fetcher*: one per loop (the control loop); it owns libcurl's multi handle, one
 * uv_poll_t per socket libcurl asks us to watch and a uv_timer_t for libcurl's timeouts.
 * *transfer*: one GET started by rsv_fetch_start(), which ends by calling its callback exactly
 * once. *conditional request*: a GET with If-None-Match / If-Modified-Since built from what the
 * previous 200 answered (ETag, Last-Modified): an unchanged list costs one 304 and no body.
 *
 * Security: https:// only, for the first request and for every redirect (at most 5); the
 * server's certificate is always verified (chain and host name); @ca_file, when given, is the
 * only trust anchor (a private CA pins the publisher), otherwise the system store is used.
 * Proxies follow libcurl's environment variables (https_proxy, no_proxy). Bodies are bounded
 * (max_bytes, counted after content decoding) and time-bounded (connect and total timeouts).
 * What the body says is not trusted here: the caller verifies its signature before use.
 *
 * Threads: everything runs on the loop's thread (the caller's thread must be that one), except
 * rsv_fetch_global_init(), which main() calls once before starting threads.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

/** Defaults used when a request leaves a bound at 0. */
#define RSV_FETCH_DEFAULT_MAX_BYTES (512ull << 20)
#define RSV_FETCH_DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define RSV_FETCH_DEFAULT_TOTAL_TIMEOUT_MS 600000u
/** Extra header lines of one request at most. */
#define RSV_FETCH_MAX_HEADERS 8
/** Redirects followed at most (https:// only). */
#define RSV_FETCH_MAX_REDIRECTS 5

struct rsv_fetcher;

/** One download. Borrowed by rsv_fetch_start(), which copies what it keeps. */
struct rsv_fetch_request {
	const char *url;	   /**< https://... (anything else fails with CORE_ECONFIG) */
	const char *ca_file;	   /**< PEM bundle trusted instead of the system's, or NULL */
	const char *etag;	   /**< ETag of the previous 200 (If-None-Match), or NULL/"" */
	const char *last_modified; /**< its Last-Modified (If-Modified-Since), or NULL/"" */
	/**
	 * The body is written here: created or truncated at start (mode 0666 & ~umask). Use a
	 * temporary name and rename it on success: on failure and on 304 its content means
	 * nothing (empty or partial), and it is left in place for the caller to remove.
	 */
	const char *out_path;
	/** Non-NULL: POST these @post_len bytes instead of a GET (no redirect is followed);
	 * @out_path may then be NULL to drop the answer's body. */
	const void *post_body;
	size_t post_len;
	const char *const *headers;  /**< extra "Name: value" lines, such as Content-Type */
	size_t n_headers;	     /**< at most RSV_FETCH_MAX_HEADERS */
	uint64_t max_bytes;	     /**< body bound in bytes (CORE_ELIMIT); 0: 512 MiB */
	uint32_t connect_timeout_ms; /**< TCP+TLS connect bound; 0: 10 s */
	uint32_t total_timeout_ms;   /**< whole transfer bound, redirects included; 0: 10 min */
};

/** How a transfer ended. Valid during the callback only. */
struct rsv_fetch_result {
	/**
	 * 0: a 2xx body is in out_path, or @not_modified. Otherwise: CORE_ETIMEOUT (connect or
	 * total timeout), CORE_EPROTO (TLS failure or certificate not verified, a redirect to
	 * another scheme or too many, a malformed answer), CORE_EUPSTREAM (HTTP status >= 400 or
	 * an unexpected one, the server closed early), CORE_ELIMIT (body above max_bytes),
	 * CORE_ENOTFOUND (host name does not resolve), CORE_ECONFIG (not an https:// URL),
	 * -EINVAL (etag or last_modified unusable in a header), -ECANCELED (rsv_fetcher_close()),
	 * -ENOMEM, other -errno (connecting, writing out_path).
	 */
	int status;
	long http_code;	   /**< last HTTP status seen (200, 304, 404...), 0 if none */
	bool not_modified; /**< 304: what the caller holds is current; out_path is empty */
	uint64_t bytes;	   /**< body bytes written to out_path */
	/**
	 * ETag and Last-Modified of the final answer, "" when absent or too long to keep. On a
	 * 304, each one the server did not repeat is copied from the request, so the caller can
	 * always store these for the next conditional request.
	 */
	char etag[256];
	char last_modified[128];
	/** On failure, one line for the operator: the URL (credentials hidden) and what failed. */
	char error[512];
};

/** Called once per transfer, on the loop thread. @res is valid during the call only. */
typedef void (*rsv_fetch_done_fn)(void *arg, const struct rsv_fetch_result *res);

/**
 * Set up libcurl for the process (curl_global_init). Idempotent and thread-safe; call it from
 * main() before starting threads (rsv_fetcher_new() calls it too, as a fallback).
 * @return 0, or -ENOMEM, or CORE_ECONFIG when libcurl was built without TLS.
 */
int rsv_fetch_global_init(void) __attribute__((warn_unused_result));

/**
 * A fetcher on @loop. @return 0 and the fetcher in @out (close with rsv_fetcher_close()),
 * -ENOMEM, or what rsv_fetch_global_init() returned.
 */
int rsv_fetcher_new(uv_loop_t *loop, struct rsv_fetcher **out) __attribute__((warn_unused_result));

/**
 * Cancel every transfer not yet finished: their callbacks run before this returns, with status
 * -ECANCELED (or the error already found for those that failed at start). Then close the libuv
 * handles; the fetcher's memory is freed by their close callbacks, so run the loop afterwards
 * (and close it only then). May be called from a transfer's callback. NULL is fine; a second
 * call does nothing. rsv_fetch_start() on a closing fetcher returns -EINVAL.
 */
void rsv_fetcher_close(struct rsv_fetcher *f);

/**
 * Start a GET of @req->url into @req->out_path, with If-None-Match / If-Modified-Since when
 * @req->etag / @req->last_modified are given. Redirects are followed (at most 5, https:// only);
 * TLS verification is always on; an HTTP status >= 400 is an error (CORE_EUPSTREAM, http_code
 * set); nothing else is retried.
 *
 * @done runs exactly once, on the loop thread, never from within this call, when and only when
 * this returns 0: problems with the request itself (scheme, out_path, headers) are reported
 * through it too, with a message. @arg is passed back.
 * @return 0; -EINVAL (NULL @f, @req, url, out_path or @done; @f closing); -ENOMEM.
 */
int rsv_fetch_start(struct rsv_fetcher *f, const struct rsv_fetch_request *req,
		    rsv_fetch_done_fn done, void *arg) __attribute__((warn_unused_result));
