/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dnstap (https://dnstap.info) of client queries and responses: each message a worker sees or
 * sends is encoded as a `dnstap.Dnstap` protobuf frame and handed to an fstrm I/O thread, which
 * writes the frames to a collector's Unix socket (Frame Streams, content type
 * "protobuf:dnstap.Dnstap"; `fstrm_capture`, or any dnstap collector).
 *
 * Glossary:
 *  - collector: the process listening on the socket. It may start after the daemon and may
 *    restart: the I/O thread connects again within a second. Frames produced while no
 *    collector is connected are discarded by the I/O thread.
 *  - queue: one bounded input queue per worker (single producer, the I/O thread consumes).
 *    A worker never waits: when its queue is full the frame is dropped and counted.
 *
 * Optional at build time (meson -Ddnstap=enabled|disabled|auto, needs libfstrm, libprotobuf-c
 * and protoc-c). Without it the same functions exist: cmpl_dnstap_open() fails with -ENOTSUP
 * and cmpl_dnstap_is_available() is false, so callers need no #if.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** The content type of the Frame Streams written. */
#define CMPL_DNSTAP_CONTENT_TYPE "protobuf:dnstap.Dnstap"

/** Frames each queue holds before a worker's frames are dropped. */
#define CMPL_DNSTAP_QUEUE_SIZE 4096

struct cmpl_dnstap;

/** True when this build can write dnstap (built with -Ddnstap and its libraries). */
bool cmpl_dnstap_is_available(void);

/**
 * Start the I/O thread that writes to the collector's socket @socket_path.
 *
 * The collector need not be listening yet: the thread connects in the background, and again
 * after the collector went away. Control thread only.
 *
 * @param n_queues  one per producing thread (worker); queue i is used by one thread only
 * @param identity  the dnstap identity of every frame (the host name), copied; may be NULL
 * @param version   the dnstap version of every frame ("lanhmanh 0.1.0"), copied; may be NULL
 * @param out       receives the writer (caller owns: cmpl_dnstap_close())
 * @return 0, -ENOTSUP when built without dnstap, -EINVAL for an empty, too long or relative
 *         path or no queue, -ENOMEM (fstrm reports its own failures as out of memory).
 */
int cmpl_dnstap_open(const char *socket_path, unsigned n_queues, const char *identity,
		     const char *version, struct cmpl_dnstap **out)
	__attribute__((warn_unused_result));

/**
 * Write what the queues hold, end the stream, stop the I/O thread and free @d (NULL is fine).
 * Call it once every producer has stopped. Blocks while the last frames are written.
 */
void cmpl_dnstap_close(struct cmpl_dnstap *d);

/**
 * Record a CLIENT_QUERY: @msg (@len bytes, wire format) received from @client.
 *
 * Only the thread that owns @queue may call it; it never blocks. The frame is dropped (and
 * counted) when the queue is full or memory is short.
 * @param client  the client's address (AF_INET or AF_INET6; other families are ignored)
 * @param local   the address the query came in on, or NULL when unknown; an unspecified
 *                address (a wildcard listener) is left out, its port is kept
 * @param tcp     true for TCP, false for UDP
 */
void cmpl_dnstap_client_query(struct cmpl_dnstap *d, unsigned queue, const struct sockaddr *client,
			      const struct sockaddr *local, bool tcp, const uint8_t *msg,
			      size_t len);

/**
 * Record a CLIENT_RESPONSE: answer @msg (@len bytes) sent to @client; the rest as for
 * cmpl_dnstap_client_query().
 * @param query      the query answered, copied into the frame when @query_len > 0
 */
void cmpl_dnstap_client_response(struct cmpl_dnstap *d, unsigned queue,
				 const struct sockaddr *client, const struct sockaddr *local,
				 bool tcp, const uint8_t *query, size_t query_len,
				 const uint8_t *msg, size_t len);

/** Frames dropped so far because a queue was full or memory short, all queues (any thread). */
uint64_t cmpl_dnstap_dropped(const struct cmpl_dnstap *d);
