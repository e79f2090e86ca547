/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The block page: a small HTTP server (libmicrohttpd) on the sinkhole address.
 *
 * A browser that asks for a blocked name gets the sinkhole address and comes here; any GET or HEAD
 * on port 80 gets one HTML page (Vietnamese first, English below) that names the blocked domain
 * (from the Host header), says why it is blocked, which network (school) blocks it, what to do if
 * it is a mistake, and the national child-protection hotline 111. POST /unblock-request records
 * an unblock request for the administrator in <state_dir>/unblock-requests.jsonl, never with the
 * client's address. Port 443 is deliberately not bound: the kernel refuses HTTPS connections at
 * once (see resolver/blockpage.md).
 *
 * Glossary:
 *  - lookup: the daemon's callback that says whether and why a name is blocked for a client; the
 *    block page itself knows no policy.
 *  - store: the append-only file of unblock requests, bounded by RSV_BLOCKPAGE_STORE_MAX bytes.
 *
 * Thread context: the block page runs one libmicrohttpd daemon, with its own polling thread, per
 * listen address; the lookup callback is called from those threads, possibly concurrently.
 * rsv_blockpage_start() and rsv_blockpage_stop() belong to the control thread;
 * rsv_blockpage_set_contact() may be called from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/buf.h"

/** Bound on the unblock-request store; requests past it are refused (HTTP 503). */
#define RSV_BLOCKPAGE_STORE_MAX (10u * 1024u * 1024u)
/** Unblock requests accepted per client address (IPv6: per /64) and minute; more get HTTP 429. */
#define RSV_BLOCKPAGE_RATE_PER_MIN 10
/** Name of the store inside state_dir. */
#define RSV_BLOCKPAGE_STORE_FILE "unblock-requests.jsonl"

/** What the daemon knows about why @host is blocked for @client (filled by the callback). */
struct rsv_blockpage_info {
	bool blocked;	     /**< false: the name is not (or no longer) blocked for this client */
	char network[128];   /**< network (school) name, UTF-8, "" when unknown */
	char network_id[64]; /**< network id for reports ("79-TH-0001"), "" when unknown */
	char category[64];   /**< category name, e.g. "adult", "national" */
	char list[64];	     /**< list name */
	int reason;	     /**< an enum cfg_reason: 0 national list (legal), 1 school age policy,
		       2 subscriber filter; other values are shown as "this network's filter" */
};

/**
 * Say whether and why @host is blocked for @client: fill @out (zeroed by the caller; strings
 * must be NUL-terminated within their arrays).
 *
 * @param client  the HTTP client's address (sockaddr_in or sockaddr_in6), borrowed for the call
 * @param host    the name, lower case, without port or trailing dot: a valid domain name
 *
 * Called from the block page's threads, possibly from several at once: it must be thread-safe,
 * and should not block for long (each listen address has one thread).
 */
typedef void (*rsv_blockpage_lookup_fn)(void *arg, const struct sockaddr *client, const char *host,
					struct rsv_blockpage_info *out);

/** What rsv_blockpage_start() needs; everything is borrowed for the call only (copied). */
struct rsv_blockpage_params {
	const struct cfg_addr *listen;	/**< addresses to serve (IPv4 and IPv6), port 80 usually */
	size_t n_listen;		/**< at least one, at most RSV_BLOCKPAGE_MAX_LISTEN */
	const char *contact;		/**< UTF-8 text telling whom to contact, or NULL */
	const char *state_dir;		/**< where unblock requests are stored; must exist */
	rsv_blockpage_lookup_fn lookup; /**< required; called from the HTTP threads */
	void *lookup_arg;		/**< passed to @lookup */
};

#define RSV_BLOCKPAGE_MAX_LISTEN 16

struct rsv_blockpage;

/**
 * Start serving the block page on every address of @p->listen.
 *
 * A listen address with port 443 is rejected: the page is plain HTTP, and 443 is left unbound on
 * purpose so that the kernel refuses HTTPS at once. For each address, port 443 is probed and a
 * warning logged when something there accepts connections or silently drops them.
 *
 * @return 0 and the running block page in @out_bp (stop with rsv_blockpage_stop()); -EINVAL for
 *         bad parameters (no address, port 443, no lookup or state_dir); -ENOMEM; or the -errno
 *         of a failed bind (-EADDRINUSE, -EADDRNOTAVAIL when the address is not configured on
 *         this host, -EACCES for port 80 without CAP_NET_BIND_SERVICE), -EIO when
 *         libmicrohttpd fails without saying why. Logs the failure once.
 */
int rsv_blockpage_start(const struct rsv_blockpage_params *p, struct rsv_blockpage **out_bp)
	__attribute__((warn_unused_result));

/**
 * Stop serving and free @bp (NULL is fine): closes the listen sockets and every connection, and
 * joins libmicrohttpd's threads, so no lookup call runs once it returns.
 */
void rsv_blockpage_stop(struct rsv_blockpage *bp);

/**
 * Replace the contact text (after a config reload). Thread-safe; pages being built keep using
 * the old text. @contact is copied; NULL removes it. On allocation failure the old text stays
 * (and a warning is logged).
 */
void rsv_blockpage_set_contact(struct rsv_blockpage *bp, const char *contact);

/**
 * The port that listen address @i is bound to (useful when it was given as 0), or 0 when @i is
 * out of range.
 */
uint16_t rsv_blockpage_port(const struct rsv_blockpage *bp, size_t i);

/** What a TCP connection attempt to a port met (rsv_blockpage_probe_port()). */
enum rsv_blockpage_probe {
	RSV_BLOCKPAGE_PROBE_REFUSED = 0, /**< refused at once (RST): nothing listens */
	RSV_BLOCKPAGE_PROBE_OPEN = 1,	 /**< a program accepted the connection */
	RSV_BLOCKPAGE_PROBE_SILENT = 2,	 /**< no answer within the timeout (a firewall drops it) */
};

/**
 * Try a TCP connection to @addr with its port replaced by @port, waiting at most @timeout_ms, and
 * close it at once. A wildcard address (0.0.0.0, ::) is probed on loopback.
 *
 * @return an enum rsv_blockpage_probe value, or a negative errno (-EAFNOSUPPORT, -ENETUNREACH…).
 */
int rsv_blockpage_probe_port(const struct sockaddr *addr, uint16_t port, unsigned timeout_ms);

/**
 * Format the recorded unblock requests of <@state_dir>/unblock-requests.jsonl for the
 * administrator, one per line, oldest first:
 *   2024-05-06T02:03:04Z  example.vn  network=79-TH-0001 category=adult list=adult reason=policy
 * Lines of the file that are not valid records are reported as such and skipped. Control
 * characters from the file are never copied to @out.
 *
 * @param out  an initialised buffer the text is appended to (its bound applies)
 * @return the number of requests (0 when the file does not exist), -ENOMEM, CORE_ELIMIT when
 *         @out is full (what fit was appended), or the -errno of opening or reading the file.
 */
int rsv_blockpage_read_requests(const char *state_dir, struct core_buf *out)
	__attribute__((warn_unused_result));
