/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Error codes shared by every module.
 *
 * Functions return 0 on success and a negative code on failure: -errno for system errors
 * (libuv's UV_E* are the same values on Unix), or one of the project codes below, which sit
 * outside the errno range.
 */
#pragma once

enum core_error {
	CORE_EPARSE = -1000, /**< malformed input (packet, file, config) */
	CORE_ELIMIT = -1001, /**< a configured or built-in bound was reached */
	CORE_ECONFIG = -1002, /**< configuration rejected (diagnostics carry the detail) */
	CORE_ENOTFOUND = -1003, /**< lookup found nothing */
	CORE_ETIMEOUT = -1004, /**< an operation ran out of time */
	CORE_EUPSTREAM = -1005, /**< an upstream server answered badly or not at all */
	CORE_EPROTO = -1006, /**< peer violated the protocol */
	CORE_ETRUNC = -1007, /**< output does not fit the buffer */
};

/** Human-readable text for @err (project code, errno or libuv code). Never NULL. */
const char *core_strerror(int err);
