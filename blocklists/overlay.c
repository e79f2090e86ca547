/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The delta of a list synced by zone transfer (overlay.h): touched entries in a hash table, each
 * with its two owners ("x" and "*.x"); an IXFR difference sequence is parsed by the RPZ parser
 * into four small sets (removed/added × owner "x"/"*.x"), applied to copies of the entries it
 * touches, and the copies replace the originals only when everything succeeded.
 */
#include "blocklists/overlay.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "blocklists/internal.h"
#include "blocklists/parse.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/dname.h"
#include "core/error.h"

/* Most bytes of local data of one entry (as the builder). */
#define MAX_DATA 65535u
/* Most bytes of one side's text in one apply. */
#define MAX_SIDE_TEXT (1u << 30)

enum {
	OWN_SELF,  /**< "x": BL_MATCH_SELF */
	OWN_BELOW, /**< "*.x": BL_MATCH_BELOW */
};

/** One owner of an entry. */
struct owner {
	uint8_t *data; /**< owned: its local data records, no two equal; NULL when none */
	uint32_t data_len;
	uint8_t action; /**< enum bl_action, when present */
	bool present;
};

/** A touched entry: its complete current state. */
struct ov_entry {
	uint64_t hash;
	uint32_t categories;
	bool allow;   /**< the allow variant */
	bool in_base; /**< the base has this name and variant (a deletion must hide it) */
	uint8_t name_len;
	struct owner own[2];
	uint8_t name[]; /**< lower-case wire name */
};

/** Linear probing over entry pointers, load at most 1/2, deletions by backward shift. */
struct table {
	struct ov_entry **slot;
	size_t cap; /**< power of two, or 0 */
	size_t n;
};

struct bl_overlay {
	const struct bl_set *base; /**< borrowed, may be NULL */
	uint16_t list_id;
	uint32_t categories;
	char *list_name; /**< owned */
	char *origin;	 /**< owned, text */
	struct table t;
};

/* ---- entries -------------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t entry_hash(const uint8_t *name, size_t len, bool allow)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (allow ? 0x5bd1e995u : 0);

	for (size_t i = 0; i < len; i++)
		h = (h ^ name[i]) * 0x100000001b3ull;
	return mix64(h);
}

static void owner_clear(struct owner *w)
{
	w->data = core_free(w->data);
	w->data_len = 0;
	w->present = false;
	w->action = BL_ACTION_POLICY;
}

static struct ov_entry *entry_free(struct ov_entry *e)
{
	if (!e)
		return NULL;
	owner_clear(&e->own[OWN_SELF]);
	owner_clear(&e->own[OWN_BELOW]);
	return core_free(e);
}

static struct ov_entry *entry_new(const uint8_t *name, size_t len, bool allow)
{
	struct ov_entry *e = core_calloc(1, sizeof(*e) + len);

	if (!e)
		return NULL;
	e->hash = entry_hash(name, len, allow);
	e->allow = allow;
	e->name_len = (uint8_t)len;
	memcpy(e->name, name, len);
	return e;
}

/* A deep copy of @e, or NULL when out of memory. */
static struct ov_entry *entry_dup(const struct ov_entry *e)
{
	struct ov_entry *c = core_malloc(sizeof(*e) + e->name_len);

	if (!c)
		return NULL;
	memcpy(c, e, sizeof(*e) + e->name_len);
	for (int k = 0; k < 2; k++) {
		c->own[k].data = NULL;
		if (e->own[k].data_len == 0)
			continue;
		c->own[k].data = core_malloc(e->own[k].data_len);
		if (!c->own[k].data) {
			c->own[k].data_len = 0;
			return entry_free(c);
		}
		memcpy(c->own[k].data, e->own[k].data, e->own[k].data_len);
	}
	return c;
}

/* ---- local data records --------------------------------------------------------------------- */

/* Length of the (type, rdlength, rdata) record at @p (the set checked the records are whole). */
static size_t rec_len(const uint8_t *p)
{
	return 4 + ((size_t)p[2] << 8 | p[3]);
}

static bool has_record(const uint8_t *data, size_t len, const uint8_t *r, size_t rl)
{
	for (size_t pos = 0; pos + 4 <= len; pos += rec_len(data + pos))
		if (rec_len(data + pos) == rl && memcmp(data + pos, r, rl) == 0)
			return true;
	return false;
}

/*
 * Add the records of @d that @w does not have yet. @return 0, -ENOMEM, CORE_ELIMIT (@w would
 * have more than MAX_DATA bytes: it has some of them, the caller drops it).
 */
static int owner_add_records(struct owner *w, const uint8_t *d, size_t dl)
{
	uint8_t *p;

	if (dl == 0)
		return 0;
	if ((size_t)w->data_len + dl > 2 * (size_t)MAX_DATA)
		return CORE_ELIMIT;
	p = core_realloc(w->data, (size_t)w->data_len + dl);
	if (!p)
		return -ENOMEM;
	w->data = p;
	for (size_t pos = 0; pos + 4 <= dl;) {
		size_t rl = rec_len(d + pos);

		if (pos + rl > dl)
			break;
		if (!has_record(w->data, w->data_len, d + pos, rl)) {
			memcpy(w->data + w->data_len, d + pos, rl);
			w->data_len += (uint32_t)rl;
		}
		pos += rl;
	}
	return w->data_len > MAX_DATA ? CORE_ELIMIT : 0;
}

/* Take the records of @d away from @w (in place; allocates nothing). */
static void owner_remove_records(struct owner *w, const uint8_t *d, size_t dl)
{
	size_t r = 0, o = 0;

	while (r + 4 <= w->data_len) {
		size_t rl = rec_len(w->data + r);

		if (!has_record(d, dl, w->data + r, rl)) {
			memmove(w->data + o, w->data + r, rl);
			o += rl;
		}
		r += rl;
	}
	w->data_len = (uint32_t)o;
	if (o == 0)
		w->data = core_free(w->data);
}

/* ---- the table ------------------------------------------------------------------------------ */

/* The slot of (@name, @allow): the one holding it, or the empty one where it would go. */
static struct ov_entry **table_slot(const struct table *t, uint64_t hash, const uint8_t *name,
				    size_t len, bool allow)
{
	size_t mask = t->cap - 1;

	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct ov_entry *e = t->slot[i];

		if (!e || (e->hash == hash && e->allow == allow && e->name_len == len &&
			   memcmp(e->name, name, len) == 0))
			return &t->slot[i];
	}
}

static struct ov_entry *table_find(const struct table *t, const uint8_t *name, size_t len,
				   bool allow)
{
	if (t->cap == 0)
		return NULL;
	return *table_slot(t, entry_hash(name, len, allow), name, len, allow);
}

/* Room for @more entries more. @return 0 or -ENOMEM (the table unchanged). */
static int table_reserve(struct table *t, size_t more)
{
	struct ov_entry **slot;
	size_t cap = t->cap ? t->cap : 64;

	while ((t->n + more) * 2 > cap)
		cap *= 2;
	if (cap == t->cap)
		return 0;
	slot = core_calloc(cap, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		struct ov_entry *e = t->slot[i];
		size_t j;

		if (!e)
			continue;
		for (j = e->hash & (cap - 1); slot[j]; j = (j + 1) & (cap - 1))
			;
		slot[j] = e;
	}
	core_free(t->slot);
	t->slot = slot;
	t->cap = cap;
	return 0;
}

/* Empty slot @s (of @t) and shift the entries after it back, as if never inserted. */
static void table_remove(struct table *t, struct ov_entry **s)
{
	size_t mask = t->cap - 1, hole = (size_t)(s - t->slot);

	t->slot[hole] = NULL;
	t->n--;
	for (size_t i = (hole + 1) & mask; t->slot[i]; i = (i + 1) & mask) {
		size_t home = t->slot[i]->hash & mask;

		/* an entry may fill the hole when its home is not in (hole, i] (cyclically) */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			t->slot[hole] = t->slot[i];
			t->slot[i] = NULL;
			hole = i;
		}
	}
}

/* Free every entry and the table. */
static void table_deinit(struct table *t, bool free_entries)
{
	for (size_t i = 0; free_entries && i < t->cap; i++)
		entry_free(t->slot[i]);
	t->slot = core_free(t->slot);
	t->cap = 0;
	t->n = 0;
}

/* ---- states from sets ----------------------------------------------------------------------- */

/* Set @e's owners from entry @m of @set: both owners present have its action and local data. */
static int init_from_match(struct ov_entry *e, const struct bl_set *set, const struct bl_match *m)
{
	const uint8_t *data = NULL;
	size_t dl = 0;
	int rc;

	e->categories = m->categories;
	if (m->flags & BL_SHADOW)
		return 0;
	if (m->action == BL_ACTION_LOCAL_DATA)
		data = bl_set_local_data(set, m->entry, &dl);
	for (int k = 0; k < 2; k++) {
		struct owner *w = &e->own[k];

		if (!(m->flags & (k == OWN_SELF ? BL_MATCH_SELF : BL_MATCH_BELOW)))
			continue;
		w->present = true;
		w->action = m->action;
		rc = owner_add_records(w, data, dl);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

/* bl_overlay_new(), saying why it failed. @return 0, -EINVAL, -ENOMEM. */
static int overlay_new(const struct bl_set *base, uint16_t list_id, const char *list_name,
		       uint32_t categories, const char *origin, struct bl_overlay **out)
{
	uint8_t wire[CORE_DNAME_WIRE_MAX];
	struct core_dname_error err;
	struct bl_overlay *o;

	if (!origin || !list_name || list_id >= BL_MAX_LISTS ||
	    core_dname_parse(origin, strlen(origin), wire, &err) == 0)
		return -EINVAL;
	o = core_calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->base = base;
	o->list_id = list_id;
	o->categories = categories;
	o->list_name = core_strdup(list_name);
	o->origin = core_strdup(origin);
	if (!o->list_name || !o->origin) {
		bl_overlay_free(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

struct bl_overlay *bl_overlay_new(const struct bl_set *base, uint16_t list_id,
				  const char *list_name, uint32_t categories, const char *origin)
{
	struct bl_overlay *o = NULL;

	return overlay_new(base, list_id, list_name, categories, origin, &o) == 0 ? o : NULL;
}

struct bl_overlay *bl_overlay_free(struct bl_overlay *o)
{
	if (!o)
		return NULL;
	table_deinit(&o->t, true);
	core_free(o->list_name);
	core_free(o->origin);
	return core_free(o);
}

size_t bl_overlay_count(const struct bl_overlay *o)
{
	return o->t.n;
}

/* ---- applying a delta ----------------------------------------------------------------------- */

/** The records of one kind (removed or added) and one owner kind ("x" or "*.x"). */
struct side {
	struct core_buf text; /**< the records, one per line */
	size_t *idx;	      /**< input index of each line */
	size_t n;
	struct bl_set *set; /**< what the parser made of them */
};

enum {
	SIDE_REMOVED_SELF,
	SIDE_REMOVED_BELOW,
	SIDE_ADDED_SELF,
	SIDE_ADDED_BELOW,
	SIDE_COUNT
};

/*
 * Check that @line is one whole record (an owner first, no newline inside, parentheses closed)
 * and say whether its owner is a wildcard ("*" or "*.…"). @return NULL, or what is wrong.
 */
static const char *check_line(const char *line, size_t len, bool *out_wild)
{
	int depth = 0;
	bool quoted = false;

	if (len == 0)
		return "is empty";
	if (line[0] == ' ' || line[0] == '\t')
		return "starts with a blank (no owner name)";
	if (line[0] == '$')
		return "is a directive, not a record";
	for (size_t i = 0; i < len; i++) {
		char c = line[i];

		if (c == '\n')
			return "is more than one line";
		if (c == '\\') {
			i++;
			continue;
		}
		if (c == '"')
			quoted = !quoted;
		else if (quoted)
			continue;
		else if (c == ';')
			break;
		else if (c == '(')
			depth++;
		else if (c == ')')
			depth--;
	}
	if (depth != 0)
		return "has unbalanced parentheses";
	*out_wild =
		line[0] == '*' && (len == 1 || line[1] == '.' || line[1] == ' ' || line[1] == '\t');
	return NULL;
}

/*
 * Sort @lines into the sides @s_self (owner "x") and @s_self + 1 (owner "*.x").
 * @return 0, -ENOMEM, CORE_ELIMIT, CORE_EPARSE (with @err).
 */
static int split_lines(struct side *sides, int s_self, const char *const *lines, size_t n,
		       const char *what, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *line = lines[i], *why;
		size_t len;
		struct side *sd;
		bool wild = false;
		int rc;

		if (!line) {
			why = "is NULL";
			len = 0;
		} else {
			len = strlen(line);
			while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
				len--;
			why = check_line(line, len, &wild);
		}
		if (why) {
			if (err && errlen)
				snprintf(err, errlen, "%s RR %zu: %s", what, i + 1, why);
			return CORE_EPARSE;
		}
		sd = &sides[s_self + (wild ? 1 : 0)];
		rc = core_buf_add(&sd->text, line, len);
		if (rc == 0)
			rc = core_buf_add(&sd->text, "\n", 1);
		if (rc < 0)
			return rc;
		sd->idx[sd->n++] = i;
	}
	return 0;
}

/* Parse side @sd into its set. @return 0, -ENOMEM, CORE_ELIMIT, CORE_EPARSE. */
static int parse_side(const struct bl_overlay *o, struct side *sd, const char *what, char *err,
		      size_t errlen)
{
	struct bl_parse_report rep;
	struct bl_builder *b;
	int rc;

	if (sd->n == 0)
		return 0;
	memset(&rep, 0, sizeof(rep));
	b = bl_builder_new(sd->n + 1);
	if (!b)
		return -ENOMEM;
	rc = bl_builder_set_list_name(b, o->list_id, o->list_name);
	if (rc == 0)
		rc = bl_parse_buffer(BL_FORMAT_RPZ, core_buf_str(&sd->text), sd->text.len,
				     o->origin, b, o->list_id, o->categories, &rep);
	if (rc == 0 && rep.bad > 0) {
		rc = CORE_EPARSE;
		if (err && errlen) {
			const struct bl_parse_diag *dg = &rep.diags[0];
			size_t line = dg->line >= 1 && dg->line <= sd->n ? dg->line : 1;

			snprintf(err, errlen, "%s RR %zu: %s", what, sd->idx[line - 1] + 1,
				 rep.n_diags ? dg->message : "is not a valid RPZ record");
		}
	}
	bl_parse_report_clear(&rep);
	if (rc == 0)
		rc = bl_builder_finish(b, &sd->set);
	bl_builder_free(b);
	return rc;
}

/*
 * The staged copy of (@name, @allow): made on first use from the overlay's entry, else from the
 * base's, else empty. @return it, or NULL when out of memory (@out_rc says which error).
 */
static struct ov_entry *stage_get(const struct bl_overlay *o, struct table *stage,
				  const uint8_t *name, size_t len, bool allow, int *out_rc)
{
	uint64_t hash = entry_hash(name, len, allow);
	struct ov_entry **s, *e, *cur;
	struct bl_match m;

	*out_rc = table_reserve(stage, 1);
	if (*out_rc < 0)
		return NULL;
	s = table_slot(stage, hash, name, len, allow);
	if (*s)
		return *s;
	cur = table_find(&o->t, name, len, allow);
	if (cur) {
		e = entry_dup(cur);
		*out_rc = e ? 0 : -ENOMEM;
	} else {
		e = entry_new(name, len, allow);
		*out_rc = e ? 0 : -ENOMEM;
		if (e && o->base && bl_set_find(o->base, name, len, allow, &m) == 0) {
			e->in_base = true;
			*out_rc = init_from_match(e, o->base, &m);
		}
	}
	if (*out_rc < 0)
		return entry_free(e);
	*s = e;
	stage->n++;
	return e;
}

/* Remove what entry @m (with local data @d) of a removed side says from owner @w. */
static void owner_remove(struct owner *w, const struct bl_match *m, const uint8_t *d, size_t dl)
{
	if (!w->present)
		return;
	if (m->action == BL_ACTION_LOCAL_DATA) {
		/* one record of a set of records: the owner stays while it has others */
		if (w->action != BL_ACTION_LOCAL_DATA)
			return;
		owner_remove_records(w, d, dl);
		if (w->data_len == 0)
			owner_clear(w);
		return;
	}
	owner_clear(w); /* an owner has one CNAME: it is gone */
}

/* Add what entry @m (with local data @d) of an added side says to owner @w. */
static int owner_add(struct owner *w, const struct bl_match *m, const uint8_t *d, size_t dl)
{
	if (m->action != BL_ACTION_LOCAL_DATA || !w->present || w->action != BL_ACTION_LOCAL_DATA) {
		owner_clear(w);
		w->present = true;
		w->action = m->action;
	}
	if (m->action == BL_ACTION_LOCAL_DATA)
		return owner_add_records(w, d, dl);
	return 0;
}

/* Bytes of local data @e compiles to (see compile_entry()). */
static size_t entry_data_len(const struct ov_entry *e)
{
	const struct owner *s = &e->own[OWN_SELF], *b = &e->own[OWN_BELOW];
	size_t len = 0;

	if (s->present && s->action == BL_ACTION_LOCAL_DATA)
		len += s->data_len;
	if ((!s->present || s->action == BL_ACTION_LOCAL_DATA) && b->present &&
	    b->action == BL_ACTION_LOCAL_DATA) {
		for (size_t pos = 0; pos + 4 <= b->data_len; pos += rec_len(b->data + pos))
			if (!s->present || !has_record(s->data, s->data_len, b->data + pos,
						       rec_len(b->data + pos)))
				len += rec_len(b->data + pos);
	}
	return len;
}

static bool entry_is_empty(const struct ov_entry *e)
{
	return !e->own[OWN_SELF].present && !e->own[OWN_BELOW].present;
}

/* Apply the entries of @set (one side) to the stage. @return 0, -ENOMEM, CORE_ELIMIT. */
static int apply_side(const struct bl_overlay *o, struct table *stage, const struct bl_set *set,
		      int own, bool add)
{
	size_t limit = set ? bl_set_entry_limit(set) : 0;

	for (uint32_t i = 0; i < limit; i++) {
		struct bl_source src;
		struct bl_match m;
		struct ov_entry *e;
		const uint8_t *d;
		size_t dl;
		int rc;

		if (bl_set_entry(set, i, &m) < 0)
			continue;
		rc = bl_set_entry_source(set, i, &src);
		if (rc < 0)
			return rc;
		e = stage_get(o, stage, src.name, src.name_len, m.flags & BL_ALLOW, &rc);
		if (!e)
			return rc;
		d = bl_set_local_data(set, i, &dl);
		if (!add) {
			owner_remove(&e->own[own], &m, d, dl);
			continue;
		}
		rc = owner_add(&e->own[own], &m, d, dl);
		if (rc < 0)
			return rc;
		e->categories |= m.categories;
	}
	return 0;
}

/* Replace the overlay's entries by the staged ones (allocates nothing: room was reserved). */
static void commit(struct bl_overlay *o, struct table *stage)
{
	for (size_t i = 0; i < stage->cap; i++) {
		struct ov_entry *e = stage->slot[i], **s;
		bool drop;

		if (!e)
			continue;
		stage->slot[i] = NULL;
		drop = entry_is_empty(e) && !e->in_base;
		s = table_slot(&o->t, e->hash, e->name, e->name_len, e->allow);
		if (*s) {
			entry_free(*s);
			if (drop) {
				table_remove(&o->t, s);
				entry_free(e);
				continue;
			}
			*s = e;
		} else if (drop) {
			entry_free(e);
		} else {
			*s = e;
			o->t.n++;
		}
	}
	stage->n = 0;
}

int bl_overlay_apply(struct bl_overlay *o, const char *const *removed, size_t n_removed,
		     const char *const *added, size_t n_added, char *err, size_t errlen)
{
	static const char *const what[SIDE_COUNT] = {"removed", "removed", "added", "added"};
	struct side sides[SIDE_COUNT];
	struct table stage = {0};
	size_t grow = 0, shrink = 0;
	int rc = -ENOMEM;

	if (err && errlen)
		err[0] = '\0';
	if (!o || (n_removed && !removed) || (n_added && !added))
		return -EINVAL;
	memset(sides, 0, sizeof(sides));
	for (int k = 0; k < SIDE_COUNT; k++) {
		size_t n = k < SIDE_ADDED_SELF ? n_removed : n_added;

		core_buf_init(&sides[k].text, MAX_SIDE_TEXT);
		sides[k].idx = core_malloc((n ? n : 1) * sizeof(size_t));
		if (!sides[k].idx)
			goto out;
	}
	rc = split_lines(sides, SIDE_REMOVED_SELF, removed, n_removed, "removed", err, errlen);
	if (rc == 0)
		rc = split_lines(sides, SIDE_ADDED_SELF, added, n_added, "added", err, errlen);
	for (int k = 0; rc == 0 && k < SIDE_COUNT; k++)
		rc = parse_side(o, &sides[k], what[k], err, errlen);
	/* IXFR order: every removal, then every addition */
	for (int k = 0; rc == 0 && k < SIDE_COUNT; k++)
		rc = apply_side(o, &stage, sides[k].set, k & 1 ? OWN_BELOW : OWN_SELF,
				k >= SIDE_ADDED_SELF);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < stage.cap; i++) {
		const struct ov_entry *e = stage.slot[i];
		bool there, drop;

		if (!e)
			continue;
		if (entry_data_len(e) > MAX_DATA) {
			rc = CORE_ELIMIT;
			if (err && errlen)
				snprintf(err, errlen,
					 "more than %u bytes of local data for one name", MAX_DATA);
			goto out;
		}
		there = table_find(&o->t, e->name, e->name_len, e->allow) != NULL;
		drop = entry_is_empty(e) && !e->in_base;
		grow += !there && !drop;
		shrink += there && drop;
	}
	if (o->t.n + grow - shrink > BL_OVERLAY_MAX_ENTRIES) {
		rc = CORE_ELIMIT;
		goto out;
	}
	rc = table_reserve(&o->t, grow);
	if (rc < 0)
		goto out;
	commit(o, &stage);
out:
	table_deinit(&stage, true);
	for (int k = 0; k < SIDE_COUNT; k++) {
		core_buf_deinit(&sides[k].text);
		core_free(sides[k].idx);
		bl_set_unref(sides[k].set);
	}
	return rc;
}

/* ---- compiling ------------------------------------------------------------------------------ */

/*
 * Add @e to @b as one entry: the owners present as match flags, the name's own action when it
 * has one, the union of the local data of the owners with that action (see overlay.h); a
 * shadow when no owner is left.
 */
static int compile_entry(const struct bl_overlay *o, struct bl_builder *b, const struct ov_entry *e)
{
	const struct owner *s = &e->own[OWN_SELF], *w = &e->own[OWN_BELOW];
	uint8_t allow = e->allow ? BL_ALLOW : 0, flags = 0;
	const struct owner *first = s->present ? s : w;
	struct owner data = {0};
	int rc = 0;

	if (entry_is_empty(e))
		return bl_builder_add(b, e->name, e->name_len, e->categories, o->list_id,
				      BL_SHADOW | allow, BL_ACTION_POLICY, 0, NULL, 0);
	flags = (s->present ? BL_MATCH_SELF : 0) | (w->present ? BL_MATCH_BELOW : 0);
	if (first->action == BL_ACTION_LOCAL_DATA) {
		for (int k = 0; k < 2 && rc == 0; k++)
			if (e->own[k].present && e->own[k].action == BL_ACTION_LOCAL_DATA)
				rc = owner_add_records(&data, e->own[k].data, e->own[k].data_len);
	}
	if (rc == 0)
		rc = bl_builder_add(b, e->name, e->name_len, e->categories, o->list_id,
				    flags | allow, (enum bl_action)first->action, 0, data.data,
				    data.data_len);
	core_free(data.data);
	return rc;
}

int bl_overlay_compile(const struct bl_overlay *o, struct bl_set **out_set)
{
	struct bl_builder *b;
	int rc;

	if (!o || !out_set)
		return -EINVAL;
	b = bl_builder_new(o->t.n + 1);
	if (!b)
		return -ENOMEM;
	rc = bl_builder_set_list_name(b, o->list_id, o->list_name);
	for (size_t i = 0; rc == 0 && i < o->t.cap; i++)
		if (o->t.slot[i])
			rc = compile_entry(o, b, o->t.slot[i]);
	/*
	 * Under the base's seed, a view hashes a name once for both sets. A fingerprint collision
	 * among the overlay's own names under that seed (probability ~n²/2^64) makes it take
	 * another seed; views handle both.
	 */
	if (rc == 0 && o->base) {
		rc = bl_builder_finish_seed(b, bl_set_seed(o->base), out_set);
		if (rc == CORE_ELIMIT)
			rc = bl_builder_finish(b, out_set);
	} else if (rc == 0) {
		rc = bl_builder_finish(b, out_set);
	}
	bl_builder_free(b);
	return rc;
}

int bl_overlay_from_set(const struct bl_set *base, const struct bl_set *compiled, uint16_t list_id,
			const char *list_name, uint32_t categories, const char *origin,
			struct bl_overlay **out)
{
	struct bl_overlay *o;
	size_t limit;
	int rc = 0;

	if (!compiled || !out)
		return -EINVAL;
	rc = overlay_new(base, list_id, list_name, categories, origin, &o);
	if (rc < 0)
		return rc;
	if (bl_set_count(compiled) > BL_OVERLAY_MAX_ENTRIES) {
		rc = CORE_ELIMIT;
		goto out_free;
	}
	rc = table_reserve(&o->t, bl_set_count(compiled));
	limit = bl_set_entry_limit(compiled);
	for (uint32_t i = 0; rc == 0 && i < limit; i++) {
		struct bl_source src;
		struct bl_match m, bm;
		struct ov_entry *e, **s;
		bool allow;

		if (bl_set_entry(compiled, i, &m) < 0)
			continue;
		if (m.list_id != list_id) {
			rc = -EINVAL;
			break;
		}
		rc = bl_set_entry_source(compiled, i, &src);
		if (rc < 0)
			break;
		allow = m.flags & BL_ALLOW;
		e = entry_new(src.name, src.name_len, allow);
		if (!e) {
			rc = -ENOMEM;
			break;
		}
		e->in_base = base && bl_set_find(base, src.name, src.name_len, allow, &bm) == 0;
		rc = init_from_match(e, compiled, &m);
		s = table_slot(&o->t, e->hash, e->name, e->name_len, allow);
		if (rc < 0 || *s) {
			/* a set has one entry per name and variant: a duplicate is corruption */
			rc = rc < 0 ? rc : CORE_EPARSE;
			entry_free(e);
			break;
		}
		*s = e;
		o->t.n++;
	}
	if (rc < 0)
		goto out_free;
	*out = o;
	return 0;

out_free:
	bl_overlay_free(o);
	return rc;
}
