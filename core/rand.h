/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unpredictable numbers (query IDs, hash seeds): glibc's arc4random, fed by getrandom(2). */
#pragma once

#include <stdint.h>
#include <stdlib.h>

static inline uint32_t core_rand_u32(void)
{
	return arc4random();
}

static inline uint32_t core_rand_uniform(uint32_t upper)
{
	return arc4random_uniform(upper);
}
