/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Answers for blocked names: the sinkhole address (per reason), NXDOMAIN, NODATA with a
 * synthetic SOA, REFUSED, or an RPZ trigger's local data — each with the Extended DNS Error of
 * its reason (RFC 8914: 16 Censored for the national list, 15 Blocked for the age policy, 17
 * Filtered for a subscriber's filter) and an EXTRA-TEXT naming list and category.
 * Written straight into the caller's buffer: no allocation.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "blocklists/set.h"
#include "config/config.h"
#include "policy/decide.h"
#include "resolver/wire.h"

/** The EDE code of @reason. */
enum rsv_ede rsv_synth_ede(enum cfg_reason reason);

/**
 * Write the answer to @q blocked by @d (kind BLOCK) into @out.
 *
 * @param set       the set @d came from (for RPZ local data)
 * @param ede_text  EXTRA-TEXT, e.g. "lanhmanh: list 'adult', category adult"
 * @return the length, or 0 when @size is too small.
 */
size_t rsv_synth_block(const struct rsv_query *q, const struct pol_decision *d,
		       const struct cfg_sinkhole *sh, const struct bl_set *set,
		       const char *ede_text, uint16_t udp_size, uint8_t *out, size_t size);

/**
 * Write the answer to @q that @d asks for when nothing is blocked (kind LOCAL: a bypass canary,
 * a local zone; kind REWRITE asked for the CNAME itself): NXDOMAIN, NODATA with the synthetic
 * SOA, or the entry's local data from @set, without an Extended DNS Error.
 * @return the length, or 0 when @size is too small.
 */
size_t rsv_synth_local(const struct rsv_query *q, const struct pol_decision *d,
		       const struct cfg_sinkhole *sh, const struct bl_set *set, uint16_t udp_size,
		       uint8_t *out, size_t size);
