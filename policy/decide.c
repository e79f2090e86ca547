/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The decision for one name (see decide.h). */
#include "policy/decide.h"

#include <string.h>

#define NATIONAL_BIT (1u << BL_CATEGORY_NATIONAL)
#define MAX_MATCHES POL_DECIDE_MAX_MATCHES

enum state {
	UNDECIDED,
	ALLOWED,
	BLOCKED,
};

int pol_decide_matches(const struct bl_match *m, size_t n, uint32_t enforced,
		       struct pol_decision *out)
{
	enum state national = UNDECIDED, other = UNDECIDED;
	const struct bl_match *national_by = NULL, *other_by = NULL, *allow_by = NULL;

	if (n > MAX_MATCHES)
		n = MAX_MATCHES;
	enforced |= NATIONAL_BIT;
	/* Matches come most specific first; at one level, allow entries are looked at first. */
	for (size_t i = 0; i < n;) {
		size_t end = i;
		while (end < n && m[end].labels_below == m[i].labels_below)
			end++;
		for (int pass = 0; pass < 2; pass++) {
			for (size_t k = i; k < end; k++) {
				const struct bl_match *e = &m[k];
				bool allow = e->flags & BL_ALLOW;
				if (allow != (pass == 0))
					continue;
				if (allow) {
					if (!allow_by)
						allow_by = e;
					if ((e->categories & NATIONAL_BIT) && national == UNDECIDED)
						national = ALLOWED;
					if (other == UNDECIDED)
						other = ALLOWED;
					continue;
				}
				if ((e->categories & NATIONAL_BIT) && national == UNDECIDED) {
					national = BLOCKED;
					national_by = e;
				}
				if ((e->categories & ~NATIONAL_BIT & enforced) && other == UNDECIDED) {
					other = BLOCKED;
					other_by = e;
				}
			}
		}
		i = end;
	}
	memset(out, 0, sizeof(*out));
	out->matched = n > 0;
	const struct bl_match *by = NULL;
	if (national == BLOCKED) {
		by = national_by;
		out->reason = CFG_REASON_NATIONAL;
	} else if (other == BLOCKED) {
		by = other_by;
		out->reason = CFG_REASON_POLICY;
	}
	if (!by) {
		out->kind = POL_DECISION_PASS;
		if (allow_by)
			out->match = *allow_by;
		return 0;
	}
	out->match = *by;
	out->categories = by->categories & enforced;
	out->kind = by->action == BL_ACTION_DROP ? POL_DECISION_DROP : POL_DECISION_BLOCK;
	return 0;
}

int pol_decide_name(const struct bl_set *set, const uint8_t *name, size_t name_len,
		    uint32_t enforced, struct pol_decision *out)
{
	struct bl_match m[MAX_MATCHES];
	size_t n = set ? bl_set_lookup(set, name, name_len, m, MAX_MATCHES) : 0;

	return pol_decide_matches(m, n, enforced, out);
}

int pol_decide_view(const struct bl_view *v, const uint8_t *name, size_t name_len,
		    uint32_t enforced, struct pol_decision *out)
{
	struct bl_match m[MAX_MATCHES];
	size_t n = v ? bl_view_lookup(v, name, name_len, m, MAX_MATCHES) : 0;

	return pol_decide_matches(m, n, enforced, out);
}
