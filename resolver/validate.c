/* SPDX-License-Identifier: GPL-3.0-or-later */
/* DNSSEC validation steps for the iterator (see validate.h). */
#include "resolver/validate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "resolver/iter.h"

/* The root KSK 20326's DS (IANA, root-anchors.xml). */
static const char builtin_anchor[] =
	". 86400 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D";

/* @name as text in lower case (names in answers may carry the random case of our queries). */
static char *name_text(const ldns_rdf *name)
{
	char *n = name ? ldns_rdf2str(name) : NULL;
	for (char *c = n; c && *c; c++) {
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	}
	return n;
}

/* Record failure @ede: "@what: NAME". */
static void fail(struct rsv_val_fail *f, enum rsv_ede ede, const char *what, const ldns_rdf *name)
{
	char *n = name_text(name);
	f->ede = ede;
	snprintf(f->why, sizeof(f->why), "%s: %s", what, n ? n : "?");
	free(n);
}

static enum rsv_ede ede_of(ldns_status st)
{
	switch (st) {
	case LDNS_STATUS_CRYPTO_SIG_EXPIRED:
		return RSV_EDE_SIGNATURE_EXPIRED;
	case LDNS_STATUS_CRYPTO_SIG_NOT_INCEPTED:
		return RSV_EDE_SIGNATURE_NOT_YET_VALID;
	case LDNS_STATUS_CRYPTO_NO_MATCHING_KEYTAG_DNSKEY:
	case LDNS_STATUS_CRYPTO_NO_DNSKEY:
		return RSV_EDE_DNSKEY_MISSING;
	case LDNS_STATUS_CRYPTO_NO_RRSIG:
		return RSV_EDE_RRSIGS_MISSING;
	default:
		return RSV_EDE_DNSSEC_BOGUS;
	}
}

int rsv_val_anchor_load(const char *path, ldns_rr_list **out, char *err, size_t errlen)
{
	ldns_rr_list *l = ldns_rr_list_new();
	if (!l)
		return -ENOMEM;
	if (!path) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, builtin_anchor, 0, NULL, NULL) != LDNS_STATUS_OK) {
			ldns_rr_list_free(l);
			return CORE_EPARSE;
		}
		ldns_rr_list_push_rr(l, rr);
		*out = l;
		return 0;
	}
	ldns_zone *z = NULL;
	int e = rsv_zone_file_read(path, "server.trust_anchor", &z, err, errlen);
	if (e != 0) {
		ldns_rr_list_free(l);
		return e;
	}
	const ldns_rr_list *rrs = ldns_zone_rrs(z);
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if ((t == LDNS_RR_TYPE_DS || t == LDNS_RR_TYPE_DNSKEY) &&
		    ldns_dname_label_count(ldns_rr_owner(rr)) == 0)
			ldns_rr_list_push_rr(l, ldns_rr_clone(rr));
	}
	ldns_zone_deep_free(z);
	if (ldns_rr_list_rr_count(l) == 0) {
		snprintf(err, errlen, "server.trust_anchor: '%s' has no DS or DNSKEY record of '.'",
			 path);
		ldns_rr_list_deep_free(l);
		return CORE_EPARSE;
	}
	*out = l;
	return 0;
}

/* Copies of the records of @section owned by @name with type @type (RRSIGs: covering it). */
static ldns_rr_list *pick(const ldns_pkt *p, ldns_pkt_section section, const ldns_rdf *name,
			  uint16_t type, bool sigs)
{
	ldns_rr_list *src = ldns_pkt_get_section_clone(p, section);
	ldns_rr_list *out = ldns_rr_list_new();
	for (size_t i = 0; src && out && i < ldns_rr_list_rr_count(src); i++) {
		ldns_rr *rr = ldns_rr_list_rr(src, i);
		if (name && ldns_dname_compare(ldns_rr_owner(rr), name) != 0)
			continue;
		if (sigs) {
			const ldns_rdf *tc = ldns_rr_rrsig_typecovered(rr);
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG || !tc ||
			    ldns_rdf2rr_type(tc) != type)
				continue;
		} else if (ldns_rr_get_type(rr) != type) {
			continue;
		}
		ldns_rr_list_push_rr(out, ldns_rr_clone(rr));
	}
	ldns_rr_list_deep_free(src);
	return out;
}

/* @rrset is signed by @zone's @keys. */
static bool verify(ldns_rr_list *rrset, const ldns_rr_list *sigs, const ldns_rdf *zone,
		   const ldns_rr_list *keys, bool *out_wildcard, struct rsv_val_fail *f)
{
	const ldns_rdf *owner =
		ldns_rr_list_rr_count(rrset) ? ldns_rr_owner(ldns_rr_list_rr(rrset, 0)) : NULL;
	if (ldns_rr_list_rr_count(sigs) == 0) {
		fail(f, RSV_EDE_RRSIGS_MISSING, "no signature over the records of", owner);
		return false;
	}
	ldns_status worst = LDNS_STATUS_CRYPTO_NO_MATCHING_KEYTAG_DNSKEY;
	for (size_t i = 0; i < ldns_rr_list_rr_count(sigs); i++) {
		ldns_rr *sig = ldns_rr_list_rr(sigs, i);
		const ldns_rdf *signer = ldns_rr_rrsig_signame(sig);
		if (!signer || ldns_dname_compare(signer, zone) != 0)
			continue;
		ldns_rr_list *set = ldns_rr_list_clone(rrset);
		ldns_rr_list *good = ldns_rr_list_new();
		ldns_status st = set && good ? ldns_verify_rrsig_keylist(set, sig, keys, good) :
					       LDNS_STATUS_MEM_ERR;
		ldns_rr_list_deep_free(set);
		ldns_rr_list_free(good);
		if (st == LDNS_STATUS_OK) {
			if (out_wildcard) {
				const ldns_rdf *lab = ldns_rr_rrsig_labels(sig);
				*out_wildcard =
					lab && owner &&
					ldns_rdf2native_int8(lab) < ldns_dname_label_count(owner) &&
					!ldns_dname_is_wildcard(owner);
			}
			return true;
		}
		worst = st;
	}
	char text[160];
	char *o = name_text(owner);
	snprintf(text, sizeof(text), "signature over %s does not verify: %s", o ? o : "?",
		 ldns_get_errorstr_by_id(worst));
	free(o);
	f->ede = ede_of(worst);
	snprintf(f->why, sizeof(f->why), "%s", text);
	return false;
}

bool rsv_val_rrset(const ldns_pkt *p, ldns_pkt_section section, const ldns_rdf *name, uint16_t type,
		   const ldns_rdf *zone, const ldns_rr_list *keys, bool *out_wildcard,
		   struct rsv_val_fail *f)
{
	ldns_rr_list *set = pick(p, section, name, type, false);
	ldns_rr_list *sigs = pick(p, section, name, type, true);
	bool ok = set && sigs && verify(set, sigs, zone, keys, out_wildcard, f);
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(sigs);
	return ok;
}

const ldns_rdf *rsv_val_signer(const ldns_pkt *p, ldns_pkt_section section, const ldns_rdf *name,
			       uint16_t type)
{
	const ldns_rr_list *l = section == LDNS_SECTION_ANSWER	  ? ldns_pkt_answer(p) :
				section == LDNS_SECTION_AUTHORITY ? ldns_pkt_authority(p) :
								    ldns_pkt_additional(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		const ldns_rdf *tc = ldns_rr_rrsig_typecovered(rr);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && tc &&
		    ldns_rdf2rr_type(tc) == type &&
		    ldns_dname_compare(ldns_rr_owner(rr), name) == 0)
			return ldns_rr_rrsig_signame(rr);
	}
	return NULL;
}

bool rsv_val_dnskeys(const ldns_pkt *p, const ldns_rdf *zone, const ldns_rr_list *trusted,
		     ldns_rr_list **out_keys, struct rsv_val_fail *f)
{
	ldns_rr_list *keys = pick(p, LDNS_SECTION_ANSWER, zone, LDNS_RR_TYPE_DNSKEY, false);
	ldns_rr_list *sigs = pick(p, LDNS_SECTION_ANSWER, zone, LDNS_RR_TYPE_DNSKEY, true);
	ldns_rr_list *match = ldns_rr_list_new();
	bool ok = false;
	if (!keys || !sigs || !match)
		goto out;
	for (size_t i = 0; i < ldns_rr_list_rr_count(keys); i++) {
		ldns_rr *k = ldns_rr_list_rr(keys, i);
		for (size_t j = 0; j < ldns_rr_list_rr_count(trusted); j++) {
			const ldns_rr *t = ldns_rr_list_rr(trusted, j);
			bool same = ldns_rr_get_type(t) == LDNS_RR_TYPE_DS ?
					    ldns_rr_compare_ds(k, t) :
					    ldns_rr_compare(k, t) == 0;
			if (same) {
				ldns_rr_list_push_rr(match, k); /* borrowed */
				break;
			}
		}
	}
	if (ldns_rr_list_rr_count(match) == 0) {
		fail(f, RSV_EDE_DNSKEY_MISSING, "no DNSKEY matches the DS or trust anchor of",
		     zone);
		goto out;
	}
	ok = verify(keys, sigs, zone, match, NULL, f);
	if (ok) {
		*out_keys = keys;
		keys = NULL;
	}
out:
	ldns_rr_list_free(match);
	ldns_rr_list_deep_free(keys);
	ldns_rr_list_deep_free(sigs);
	return ok;
}

/* Verify every NSEC/NSEC3 RRset of the authority section of @p; the verified records in
 * @out_nsec (and their signatures in @out_sigs). False when one does not verify. */
static bool verified_nsecs(const ldns_pkt *p, const ldns_rdf *zone, const ldns_rr_list *keys,
			   ldns_rr_list **out_nsec, ldns_rr_list **out_sigs, struct rsv_val_fail *f)
{
	*out_nsec = ldns_rr_list_new();
	*out_sigs = ldns_rr_list_new();
	const ldns_rr_list *auth = ldns_pkt_authority(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (t != LDNS_RR_TYPE_NSEC && t != LDNS_RR_TYPE_NSEC3)
			continue;
		ldns_rr_list *set = pick(p, LDNS_SECTION_AUTHORITY, ldns_rr_owner(rr), t, false);
		ldns_rr_list *sigs = pick(p, LDNS_SECTION_AUTHORITY, ldns_rr_owner(rr), t, true);
		bool ok = set && sigs && verify(set, sigs, zone, keys, NULL, f);
		if (ok) {
			ldns_rr_list_push_rr(*out_nsec, ldns_rr_clone(rr));
			for (size_t j = 0; j < ldns_rr_list_rr_count(sigs); j++)
				ldns_rr_list_push_rr(*out_sigs,
						     ldns_rr_clone(ldns_rr_list_rr(sigs, j)));
		}
		ldns_rr_list_deep_free(set);
		ldns_rr_list_deep_free(sigs);
		if (!ok)
			return false;
	}
	return true;
}

/* The hashed owner name @name would have in NSEC3 @n3's zone (with its parameters), or NULL. */
static ldns_rdf *nsec3_hashed(const ldns_rr *n3, const ldns_rdf *name)
{
	ldns_rdf *h = ldns_nsec3_hash_name_frm_nsec3(n3, name);
	ldns_rdf *zone = ldns_dname_left_chop(ldns_rr_owner(n3));
	if (!h || !zone || ldns_dname_cat(h, zone) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(h);
		h = NULL;
	}
	ldns_rdf_deep_free(zone);
	return h;
}

/* The NSEC3 of @nsecs whose owner is @name's hash, or NULL. */
static const ldns_rr *nsec3_match(const ldns_rr_list *nsecs, const ldns_rdf *name)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
		const ldns_rr *n = ldns_rr_list_rr(nsecs, i);
		ldns_rdf *h = nsec3_hashed(n, name);
		bool m = h && ldns_dname_compare(ldns_rr_owner(n), h) == 0;
		ldns_rdf_deep_free(h);
		if (m)
			return n;
	}
	return NULL;
}

/* The NSEC3 of @nsecs whose span covers @name's hash (strictly), or NULL. */
static const ldns_rr *nsec3_cover(const ldns_rr_list *nsecs, const ldns_rdf *name)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
		const ldns_rr *n = ldns_rr_list_rr(nsecs, i);
		ldns_rdf *h = nsec3_hashed(n, name);
		bool c = h && ldns_dname_compare(ldns_rr_owner(n), h) != 0 &&
			 ldns_nsec_covers_name(n, h);
		ldns_rdf_deep_free(h);
		if (c)
			return n;
	}
	return NULL;
}

static bool bitmap_has(const ldns_rr *n, ldns_rr_type t)
{
	return ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(n), t);
}

/* A verified NSEC or NSEC3 of @nsecs says @name exists without a DS (a delegation to an
 * unsigned zone), or an opt-out NSEC3 covers it. */
static bool proves_no_ds(const ldns_rr_list *nsecs, const ldns_rdf *name)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
		const ldns_rr *n = ldns_rr_list_rr(nsecs, i);
		if (ldns_rr_get_type(n) == LDNS_RR_TYPE_NSEC) {
			if (ldns_dname_compare(ldns_rr_owner(n), name) == 0)
				return !ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(n),
								     LDNS_RR_TYPE_DS);
			continue;
		}
		ldns_rdf *hashed = nsec3_hashed(n, name);
		bool match = hashed && ldns_dname_compare(ldns_rr_owner(n), hashed) == 0;
		bool covered = hashed && !match && ldns_nsec_covers_name(n, hashed);
		ldns_rdf_deep_free(hashed);
		if (match)
			return !ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(n),
							     LDNS_RR_TYPE_DS);
		if (covered && ldns_nsec3_optout(n))
			return true;
	}
	return false;
}

static enum rsv_val_child child_state(const ldns_pkt *p, ldns_pkt_section ds_section,
				      const ldns_rdf *zone, const ldns_rr_list *keys,
				      const ldns_rdf *child, ldns_rr_list **out_ds,
				      struct rsv_val_fail *f)
{
	ldns_rr_list *ds = pick(p, ds_section, child, LDNS_RR_TYPE_DS, false);
	if (ds && ldns_rr_list_rr_count(ds) > 0) {
		ldns_rr_list *sigs = pick(p, ds_section, child, LDNS_RR_TYPE_DS, true);
		bool ok = sigs && verify(ds, sigs, zone, keys, NULL, f);
		ldns_rr_list_deep_free(sigs);
		if (!ok) {
			ldns_rr_list_deep_free(ds);
			return RSV_VAL_BOGUS;
		}
		*out_ds = ds;
		return RSV_VAL_SECURE;
	}
	ldns_rr_list_deep_free(ds);
	ldns_rr_list *nsecs, *sigs;
	bool ok = verified_nsecs(p, zone, keys, &nsecs, &sigs, f);
	bool insecure = ok && proves_no_ds(nsecs, child);
	ldns_rr_list_deep_free(nsecs);
	ldns_rr_list_deep_free(sigs);
	if (insecure)
		return RSV_VAL_INSECURE;
	if (ok)
		fail(f, RSV_EDE_NSEC_MISSING, "no DS and no proof that there is none for", child);
	return RSV_VAL_BOGUS;
}

enum rsv_val_child rsv_val_referral(const ldns_pkt *p, const ldns_rdf *zone,
				    const ldns_rr_list *keys, const ldns_rdf *child,
				    ldns_rr_list **out_ds, struct rsv_val_fail *f)
{
	return child_state(p, LDNS_SECTION_AUTHORITY, zone, keys, child, out_ds, f);
}

enum rsv_val_child rsv_val_ds_answer(const ldns_pkt *p, const ldns_rdf *zone,
				     const ldns_rr_list *keys, const ldns_rdf *child,
				     ldns_rr_list **out_ds, struct rsv_val_fail *f)
{
	return child_state(p, LDNS_SECTION_ANSWER, zone, keys, child, out_ds, f);
}

/*
 * RFC 5155 §8.4–8.7 with the verified NSEC3 records @nsecs: NODATA (a matching NSEC3 without
 * @qtype or CNAME; for DS also an opt-out span over the next closer name), or NXDOMAIN and
 * wildcard NODATA (the closest encloser matches, the next closer name is covered, and the
 * wildcard at the closest encloser is covered — or, for NODATA, matches without @qtype).
 * Ours rather than ldns_dnssec_verify_denial_nsec3(), which leaks a name per call in 1.8.3.
 */
static bool nsec3_denial(const ldns_rr_list *nsecs, const ldns_rdf *qname, uint16_t qtype,
			 bool nxdomain)
{
	if (!nxdomain) {
		const ldns_rr *m = nsec3_match(nsecs, qname);
		if (m)
			return !bitmap_has(m, (ldns_rr_type)qtype) &&
			       !bitmap_has(m, LDNS_RR_TYPE_CNAME);
	}
	uint8_t labels = ldns_dname_label_count(qname);
	for (uint16_t k = 1; k <= labels; k++) {
		ldns_rdf *ce = ldns_dname_clone_from(qname, k);
		if (!ce)
			return false;
		if (!nsec3_match(nsecs, ce)) {
			ldns_rdf_deep_free(ce);
			continue;
		}
		ldns_rdf *nc = ldns_dname_clone_from(qname, (uint16_t)(k - 1));
		ldns_rdf *wc = ldns_dname_new_frm_str("*");
		bool ok = false;
		if (nc && wc && ldns_dname_cat(wc, ce) == LDNS_STATUS_OK) {
			const ldns_rr *cover = nsec3_cover(nsecs, nc);
			if (nxdomain) {
				ok = cover && nsec3_cover(nsecs, wc);
			} else if (cover && qtype == LDNS_RR_TYPE_DS) {
				ok = ldns_nsec3_optout(cover);
			} else if (cover) {
				const ldns_rr *w = nsec3_match(nsecs, wc);
				ok = w && !bitmap_has(w, (ldns_rr_type)qtype) &&
				     !bitmap_has(w, LDNS_RR_TYPE_CNAME);
			}
		}
		ldns_rdf_deep_free(ce);
		ldns_rdf_deep_free(nc);
		ldns_rdf_deep_free(wc);
		return ok;
	}
	return false;
}

bool rsv_val_denial(const ldns_pkt *p, const ldns_rdf *qname, uint16_t qtype, const ldns_rdf *zone,
		    const ldns_rr_list *keys, struct rsv_val_fail *f)
{
	ldns_rr_list *nsecs, *sigs;
	bool ok = verified_nsecs(p, zone, keys, &nsecs, &sigs, f);
	if (ok && ldns_rr_list_rr_count(nsecs) == 0) {
		fail(f, RSV_EDE_NSEC_MISSING,
		     "no NSEC or NSEC3 record proves the negative answer for", qname);
		ok = false;
	}
	if (ok) {
		/* the SOA too, when there is one */
		const ldns_rr_list *auth = ldns_pkt_authority(p);
		for (size_t i = 0; ok && i < ldns_rr_list_rr_count(auth); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(auth, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA)
				ok = rsv_val_rrset(p, LDNS_SECTION_AUTHORITY, ldns_rr_owner(rr),
						   LDNS_RR_TYPE_SOA, zone, keys, NULL, f);
		}
	}
	if (ok) {
		ldns_rr *q = ldns_rr_new();
		ldns_status st = LDNS_STATUS_MEM_ERR;
		if (q) {
			ldns_rr_set_owner(q, ldns_rdf_clone(qname));
			ldns_rr_set_type(q, (ldns_rr_type)qtype);
			ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
			ldns_rr_set_question(q, true);
			bool nsec3 =
				ldns_rr_get_type(ldns_rr_list_rr(nsecs, 0)) == LDNS_RR_TYPE_NSEC3;
			if (nsec3)
				st = nsec3_denial(nsecs, qname, qtype,
						  ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN) ?
					     LDNS_STATUS_OK :
					     LDNS_STATUS_DNSSEC_NSEC_RR_NOT_COVERED;
			else
				st = ldns_dnssec_verify_denial(q, nsecs, sigs);
			ldns_rr_free(q);
		}
		if (st != LDNS_STATUS_OK) {
			char text[120];
			snprintf(text, sizeof(text), "the denial does not hold (%s) for",
				 ldns_get_errorstr_by_id(st));
			fail(f, RSV_EDE_DNSSEC_BOGUS, text, qname);
			ok = false;
		}
	}
	ldns_rr_list_deep_free(nsecs);
	ldns_rr_list_deep_free(sigs);
	return ok;
}

bool rsv_val_wildcard(const ldns_pkt *p, const ldns_rdf *qname, uint16_t qtype,
		      const ldns_rdf *zone, const ldns_rr_list *keys, struct rsv_val_fail *f)
{
	(void)qtype;
	ldns_rr_list *nsecs, *sigs;
	bool ok = verified_nsecs(p, zone, keys, &nsecs, &sigs, f);
	bool proved = false;
	for (size_t i = 0; ok && i < ldns_rr_list_rr_count(nsecs) && !proved; i++) {
		const ldns_rr *n = ldns_rr_list_rr(nsecs, i);
		if (ldns_rr_get_type(n) == LDNS_RR_TYPE_NSEC) {
			proved = ldns_nsec_covers_name(n, qname);
			continue;
		}
		/* NSEC3: an NSEC3 covers the hash of a name between the wildcard's parent and
		 * the query name (the "next closer" name) */
		uint8_t ql = ldns_dname_label_count(qname);
		for (uint8_t k = 0; k < ql && !proved; k++) {
			ldns_rdf *nc = ldns_dname_clone_from(qname, k);
			ldns_rdf *h = nc ? nsec3_hashed(n, nc) : NULL;
			if (h)
				proved = ldns_nsec_covers_name(n, h) &&
					 ldns_dname_compare(ldns_rr_owner(n), h) != 0;
			ldns_rdf_deep_free(nc);
			ldns_rdf_deep_free(h);
		}
	}
	if (ok && !proved)
		fail(f, RSV_EDE_NSEC_MISSING,
		     "a wildcard answer without proof that the name does not exist", qname);
	ldns_rr_list_deep_free(nsecs);
	ldns_rr_list_deep_free(sigs);
	return ok && proved;
}
