/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNSSEC validation for the iterator (resolver/iter.c), with ldns's verification primitives.
 *
 * The iterator walks down from the root with the validated DNSKEYs of the zone it asks. Each
 * step is checked here against those keys: the DS of a child in a referral (or the NSEC/NSEC3
 * proof that it has none: the child is insecure), the child's DNSKEY set against that DS, and
 * at the end the RRsets of the answer (CNAME, DNAME and the final RRset), the proof that a
 * wildcard answer's name does not exist, and the proofs of NXDOMAIN and NODATA.
 *
 * A failure says which Extended DNS Error the client gets (RFC 8914): 6 DNSSEC Bogus, 7
 * Signature Expired, 8 Signature Not Yet Valid, 9 DNSKEY Missing, 10 RRSIGs Missing, 12 NSEC
 * Missing.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <ldns/ldns.h>

#include "resolver/wire.h"

/** Why validation failed. */
struct rsv_val_fail {
	enum rsv_ede ede;
	char why[200];
};

/** What a referral says of the child's security. */
enum rsv_val_child {
	RSV_VAL_SECURE,	  /**< a DS set signed by the parent: the child must be signed */
	RSV_VAL_INSECURE, /**< the parent proves there is no DS (or an opt-out span covers it) */
	RSV_VAL_BOGUS,	  /**< neither */
};

/**
 * The trust anchor: DS and/or DNSKEY records of the root from zone file @path, or (NULL) the
 * built-in DS of the root's KSK 20326.
 * @return 0 and the records in @out (ldns_rr_list_deep_free); -errno, CORE_EPARSE (no DS or
 *         DNSKEY record of '.'), -ENOMEM; @err names the file.
 */
int rsv_val_anchor_load(const char *path, ldns_rr_list **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/**
 * The DNSKEY set of @zone in answer @p, validated against @trusted (DS records, or DNSKEY
 * records taken as trusted, of @zone): a key the DS names signs the set.
 * @return true and the set in @out_keys (ldns_rr_list_deep_free).
 */
bool rsv_val_dnskeys(const ldns_pkt *p, const ldns_rdf *zone, const ldns_rr_list *trusted,
		     ldns_rr_list **out_keys, struct rsv_val_fail *f);

/**
 * The RRset (@name, @type) of @section of @p is signed by @zone's @keys. With @out_wildcard,
 * tells whether the signature is of a wildcard expansion (labels < the owner's).
 */
bool rsv_val_rrset(const ldns_pkt *p, ldns_pkt_section section, const ldns_rdf *name,
		   uint16_t type, const ldns_rdf *zone, const ldns_rr_list *keys, bool *out_wildcard,
		   struct rsv_val_fail *f);

/**
 * The signer of the RRset (@name, @type) in @section of @p, or NULL (none signed it). Points
 * into @p.
 */
const ldns_rdf *rsv_val_signer(const ldns_pkt *p, ldns_pkt_section section, const ldns_rdf *name,
			       uint16_t type);

/**
 * Referral @p from @zone (keys @keys) to @child: its DS set validated (in @out_ds,
 * ldns_rr_list_deep_free), or a validated proof of no DS.
 */
enum rsv_val_child rsv_val_referral(const ldns_pkt *p, const ldns_rdf *zone,
				    const ldns_rr_list *keys, const ldns_rdf *child,
				    ldns_rr_list **out_ds, struct rsv_val_fail *f);

/**
 * The DS answer @p (to a query for @child DS, asked to @zone's servers) validated: a DS set
 * (@out_ds), or a proof there is none (insecure), or bogus.
 */
enum rsv_val_child rsv_val_ds_answer(const ldns_pkt *p, const ldns_rdf *zone,
				     const ldns_rr_list *keys, const ldns_rdf *child,
				     ldns_rr_list **out_ds, struct rsv_val_fail *f);

/**
 * Negative answer @p (NXDOMAIN, or NODATA) for (@qname, @qtype) from @zone: its SOA and its
 * NSEC/NSEC3 records are signed by @keys and prove it.
 */
bool rsv_val_denial(const ldns_pkt *p, const ldns_rdf *qname, uint16_t qtype,
		    const ldns_rdf *zone, const ldns_rr_list *keys, struct rsv_val_fail *f);

/**
 * The name of wildcard answer @p does not exist itself (NSEC/NSEC3 in the authority section,
 * signed by @keys).
 */
bool rsv_val_wildcard(const ldns_pkt *p, const ldns_rdf *qname, uint16_t qtype,
		      const ldns_rdf *zone, const ldns_rr_list *keys, struct rsv_val_fail *f);
