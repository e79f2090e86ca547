/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Text for the project's error codes, falling back to libuv's (which covers errno). */
#include "core/error.h"

#include <uv.h>

const char *core_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case CORE_EPARSE:
		return "malformed input";
	case CORE_ELIMIT:
		return "limit reached";
	case CORE_ECONFIG:
		return "configuration rejected";
	case CORE_ENOTFOUND:
		return "not found";
	case CORE_ETIMEOUT:
		return "timed out";
	case CORE_EUPSTREAM:
		return "upstream failure";
	case CORE_EPROTO:
		return "protocol violation";
	case CORE_ETRUNC:
		return "does not fit";
	default:
		return uv_strerror(err);
	}
}
