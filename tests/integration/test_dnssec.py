# SPDX-License-Identifier: GPL-3.0-or-later
"""DNSSEC validation in recursive mode (issue 7): lanhmanhd with `dnssec: true` and
`trust_anchor: FILE` resolves from the root of a signed fake DNS tree on loopback
(harness.SignedDnsTree: zones signed with ldns-signzone, the DS of each signed child in its
parent, the root's DS as the trust anchor).

The tree (TREE, SIGNING below), one nsd per zone:
  .  test.                       signed, NSEC (ECDSA P-256, as every zone unless said)
  secure.test.                   NSEC: A, a CNAME into nsec3.test., NXDOMAIN, NODATA, a
                                 wildcard (*.wild), CNAMEs into insecure.test. and bogus.test.
  nsec3.test.                    NSEC3 (RSASHA256): the same cases, and plain.nsec3.test., an
                                 unsigned child (no DS, proven by the matching NSEC3)
  insecure.test.                 unsigned, no DS in test. (proven by test.'s NSEC)
  optout.test.                   NSEC3 opt-out; legacy.optout.test. is unsigned and has no
                                 NSEC3 of its own: only an opt-out span covers it
  bogus.test.                    the RRSIG over www A has one byte changed    → EDE 6
  expired.test.                  signed 60 to 30 days ago                     → EDE 7
  future.test.                   signatures valid from 30 days on             → EDE 8
  rekeyed.test.                  test. holds the DS of a KSK it does not publish → EDE 9
  nosig.test.                    the RRSIG over www A removed                 → EDE 10

EXPECT says, for each question, what the zones hold (rcode, answer, the SOA owner of a
negative answer) and what a validator must conclude: secure, insecure, or bogus and why.
test_signed_tree_self_check proves EXPECT without lanhmanhd: ldns-verify-zone on every signed
zone file, and a small validator written here with dnspython (dns.dnssec.validate,
python3-cryptography) that walks the chain from the trust anchor, asking each zone's server
directly. The other tests hold the daemon to EXPECT: rcode, answers, AD (set for secure data
when the query has DO=1 or AD=1, clear otherwise and for insecure data; RFC 6840 §5.8), RRSIGs
with DO=1 (checked against the zones' keys), no DNSSEC records without DO, the EDE code of
each SERVFAIL, CD=1 (the unvalidated answer, AD clear, and the bogus data not served later
without CD), a trust anchor given as DNSKEY, and a wrong trust anchor.

EDE codes where RFC 8914 allows two readings: a DS for a key the zone does not publish is
DNSKEY Missing (9) but a resolver that only knows that no key validated the DNSKEY RRset may
say DNSSEC Bogus (6); an RRset without its RRSIG is RRSIGs Missing (10), or 6 for the same
reason. Both are accepted there (WHY_EDE); an expired signature must be 7 and a signature not
yet valid 8, a bad one 6.
"""

import base64
import os
import subprocess
import time

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from harness import (SKIP_EXIT, SignedDnsTree, TestFailure, check, default_config, eq,
                     free_port, lanhmanhd_path, make_query, run, run_tool, tcp, tool, udp)

T = dns.rdatatype
IN = dns.rdataclass.IN

EDE_DNSSEC_BOGUS = 6
EDE_SIGNATURE_EXPIRED = 7
EDE_SIGNATURE_NOT_YET_VALID = 8
EDE_DNSKEY_MISSING = 9
EDE_RRSIGS_MISSING = 10

# why a validator finds data bogus -> the EDE codes accepted on the SERVFAIL (module doc)
WHY_EDE = {
    'bad-signature': (EDE_DNSSEC_BOGUS,),
    'expired': (EDE_SIGNATURE_EXPIRED,),
    'not-yet-valid': (EDE_SIGNATURE_NOT_YET_VALID,),
    'dnskey-missing': (EDE_DNSKEY_MISSING, EDE_DNSSEC_BOGUS),
    'no-rrsig': (EDE_RRSIGS_MISSING, EDE_DNSSEC_BOGUS),
}

DAY = 86400

TREE = {
    '.': {'ns': {'a.root.test.': '127.0.21.1'}},
    'test.': {'ns': {'ns1.nic.test.': '127.0.21.2'}},
    'secure.test.': {'ns': {'ns.secure.test.': '127.0.22.1'}, 'records': '''
www A 192.0.2.10
alias CNAME www.nsec3.test.
*.wild A 192.0.2.11
txt TXT "lanhmanh dnssec test"
toinsecure CNAME www.insecure.test.
tobogus CNAME www.bogus.test.
'''},
    'nsec3.test.': {'ns': {'ns.nsec3.test.': '127.0.22.2'}, 'records': '''
www A 192.0.2.20
alias CNAME www.secure.test.
*.wild A 192.0.2.21
'''},
    'plain.nsec3.test.': {'ns': {'ns.plain.nsec3.test.': '127.0.22.6'},
                          'records': 'www A 192.0.2.22\n'},
    'insecure.test.': {'ns': {'ns.insecure.test.': '127.0.22.3'},
                       'records': 'www A 192.0.2.30\n'},
    'optout.test.': {'ns': {'ns.optout.test.': '127.0.22.4'}, 'records': 'www A 192.0.2.40\n'},
    # its NSEC3 hash (s11c...) falls in the span of ns.optout.test.'s NSEC3 (jakg...), not of
    # the apex's: the proof needs two NSEC3 records (closest encloser, opt-out cover)
    'legacy.optout.test.': {'ns': {'ns.legacy.optout.test.': '127.0.22.5'},
                            'records': 'www A 192.0.2.41\n'},
    'bogus.test.': {'ns': {'ns.bogus.test.': '127.0.23.1'},
                    'records': 'www A 192.0.2.50\ngood A 192.0.2.51\n'},
    'expired.test.': {'ns': {'ns.expired.test.': '127.0.23.2'}, 'records': 'www A 192.0.2.60\n'},
    'future.test.': {'ns': {'ns.future.test.': '127.0.23.3'}, 'records': 'www A 192.0.2.61\n'},
    'rekeyed.test.': {'ns': {'ns.rekeyed.test.': '127.0.23.4'}, 'records': 'www A 192.0.2.70\n'},
    'nosig.test.': {'ns': {'ns.nosig.test.': '127.0.23.5'},
                    'records': 'www A 192.0.2.80\ngood A 192.0.2.81\n'},
}

SIGNING = {
    '.': {},
    'test.': {},
    'secure.test.': {},
    'nsec3.test.': {'nsec3': True, 'algorithm': 'RSASHA256'},
    'optout.test.': {'optout': True},
    'bogus.test.': {'corrupt': ['www A']},
    'expired.test.': {'inception': -60 * DAY, 'expiration': -30 * DAY},
    'future.test.': {'inception': 30 * DAY, 'expiration': 60 * DAY},
    'rekeyed.test.': {'ds': 'other'},
    'nosig.test.': {'strip': ['www A']},
}

# zones ldns-verify-zone must reject, and what it must say
BROKEN = {
    'bogus.test.': 'Bogus DNSSEC signature for www.bogus.test.',
    'expired.test.': 'expired',
    'future.test.': 'not incepted',
    'nosig.test.': 'www.nosig.test.',
}


def E(rcode, answer=(), soa=None, status='secure', why=None):
    """What the zones hold for a question (rcode, answer RRsets [(owner, type, [rdata])],
    the SOA owner of a negative answer) and the validator's conclusion (secure, insecure,
    bogus with why: a WHY_EDE key)."""
    return {'rcode': rcode, 'answer': sorted((o, t, tuple(sorted(v))) for o, t, v in answer),
            'soa': soa, 'status': status, 'why': why}


def A(owner, *addrs):
    return (owner, 'A', list(addrs))


def CNAME(owner, target):
    return (owner, 'CNAME', [target])


EXPECT = {
    # secure, NSEC
    ('www.secure.test.', 'A'): E('NOERROR', [A('www.secure.test.', '192.0.2.10')]),
    ('txt.secure.test.', 'TXT'): E('NOERROR', [('txt.secure.test.', 'TXT',
                                                ['"lanhmanh dnssec test"'])]),
    ('alias.secure.test.', 'A'): E('NOERROR', [CNAME('alias.secure.test.', 'www.nsec3.test.'),
                                               A('www.nsec3.test.', '192.0.2.20')]),
    ('nope.secure.test.', 'A'): E('NXDOMAIN', soa='secure.test.'),
    ('www.secure.test.', 'MX'): E('NOERROR', soa='secure.test.'),
    ('a.wild.secure.test.', 'A'): E('NOERROR', [A('a.wild.secure.test.', '192.0.2.11')]),
    ('nope.zz.', 'A'): E('NXDOMAIN', soa='.'),
    # secure, NSEC3 (RSASHA256)
    ('www.nsec3.test.', 'A'): E('NOERROR', [A('www.nsec3.test.', '192.0.2.20')]),
    ('alias.nsec3.test.', 'A'): E('NOERROR', [CNAME('alias.nsec3.test.', 'www.secure.test.'),
                                              A('www.secure.test.', '192.0.2.10')]),
    ('nope.nsec3.test.', 'A'): E('NXDOMAIN', soa='nsec3.test.'),
    ('www.nsec3.test.', 'MX'): E('NOERROR', soa='nsec3.test.'),
    ('a.wild.nsec3.test.', 'A'): E('NOERROR', [A('a.wild.nsec3.test.', '192.0.2.21')]),
    # secure, in an opt-out zone and beside the broken names
    ('www.optout.test.', 'A'): E('NOERROR', [A('www.optout.test.', '192.0.2.40')]),
    ('good.bogus.test.', 'A'): E('NOERROR', [A('good.bogus.test.', '192.0.2.51')]),
    ('good.nosig.test.', 'A'): E('NOERROR', [A('good.nosig.test.', '192.0.2.81')]),
    # insecure
    ('www.insecure.test.', 'A'): E('NOERROR', [A('www.insecure.test.', '192.0.2.30')],
                                   status='insecure'),
    ('nope.insecure.test.', 'A'): E('NXDOMAIN', soa='insecure.test.', status='insecure'),
    ('www.plain.nsec3.test.', 'A'): E('NOERROR', [A('www.plain.nsec3.test.', '192.0.2.22')],
                                      status='insecure'),
    ('www.legacy.optout.test.', 'A'): E('NOERROR', [A('www.legacy.optout.test.', '192.0.2.41')],
                                        status='insecure'),
    ('toinsecure.secure.test.', 'A'): E('NOERROR', [
        CNAME('toinsecure.secure.test.', 'www.insecure.test.'),
        A('www.insecure.test.', '192.0.2.30')], status='insecure'),
    # bogus: what the zones hold (served with CD=1), SERVFAIL otherwise
    ('www.bogus.test.', 'A'): E('NOERROR', [A('www.bogus.test.', '192.0.2.50')],
                                status='bogus', why='bad-signature'),
    ('tobogus.secure.test.', 'A'): E('NOERROR', [CNAME('tobogus.secure.test.', 'www.bogus.test.'),
                                                 A('www.bogus.test.', '192.0.2.50')],
                                     status='bogus', why='bad-signature'),
    ('www.expired.test.', 'A'): E('NOERROR', [A('www.expired.test.', '192.0.2.60')],
                                  status='bogus', why='expired'),
    ('www.future.test.', 'A'): E('NOERROR', [A('www.future.test.', '192.0.2.61')],
                                 status='bogus', why='not-yet-valid'),
    ('www.rekeyed.test.', 'A'): E('NOERROR', [A('www.rekeyed.test.', '192.0.2.70')],
                                  status='bogus', why='dnskey-missing'),
    ('www.nosig.test.', 'A'): E('NOERROR', [A('www.nosig.test.', '192.0.2.80')],
                                status='bogus', why='no-rrsig'),
}

SECURE = [k for k, w in EXPECT.items() if w['status'] == 'secure']
INSECURE = [k for k, w in EXPECT.items() if w['status'] == 'insecure']
BOGUS = [k for k, w in EXPECT.items() if w['status'] == 'bogus']

TIMEOUT = 5.0  # client timeout: well above anything the resolver should need
DNSSEC_TYPES = (T.RRSIG, T.NSEC, T.NSEC3)


def tree(t, name='tree'):
    return SignedDnsTree(t, TREE, SIGNING, name=name)


# --------------------------------------------------------------------------------------------
# comparing answers


def summary(msg):
    """rcode, the answer without DNSSEC records as sorted (owner, type, (rdata...)) lower-cased,
    the SOA owners of the authority section."""
    ans = sorted((rrs.name.to_text().lower(), T.to_text(rrs.rdtype),
                  tuple(sorted(rd.to_text().lower() for rd in rrs)))
                 for rrs in msg.answer if rrs.rdtype not in DNSSEC_TYPES)
    soa = [rrs.name.to_text().lower() for rrs in msg.authority if rrs.rdtype == T.SOA]
    return dns.rcode.to_text(msg.rcode()), ans, soa


def data_mismatch(key, rcode, ans, soa):
    """None when (rcode, answer, SOA owners) are what the zones hold for key, else a text."""
    want = EXPECT[key]
    want_ans = sorted((o, t, tuple(v.lower() for v in vals)) for o, t, vals in want['answer'])
    problems = []
    if rcode != want['rcode']:
        problems.append('rcode %s, want %s' % (rcode, want['rcode']))
    if ans != want_ans:
        problems.append('answer %r, want %r' % (ans, want_ans))
    if want['soa'] is not None and soa != [want['soa']]:
        problems.append('SOA owners in authority %r, want [%r]' % (soa, want['soa']))
    return '; '.join(problems) or None


# --------------------------------------------------------------------------------------------
# an independent validator (dnspython), asking each zone's own server


def direct(tr, zone, name, rdtype):
    """Ask the first server of zone for name/rdtype: DO=1, RD=0, TCP after TC."""
    addr = tr.served_by(zone)[0]
    q = dns.message.make_query(name, rdtype, want_dnssec=True, payload=1232)
    q.flags &= ~dns.flags.RD
    r = dns.query.udp(q, addr, port=tr.port, timeout=2.0)
    if r.flags & dns.flags.TC:
        r = dns.query.tcp(q, addr, port=tr.port, timeout=2.0)
    return r


def find(section, name, rdtype, covers=T.NONE):
    name = dns.name.from_text(name) if isinstance(name, str) else name
    for rrs in section:
        if rrs.name == name and rrs.rdtype == rdtype and rrs.covers == covers:
            return rrs
    return None


def bitmap(rd):
    """The types in the bitmap of an NSEC or NSEC3 rdata."""
    out = set()
    for window, bits in rd.windows:
        for i, byte in enumerate(bits):
            for b in range(8):
                if byte & (0x80 >> b):
                    out.add(window * 256 + i * 8 + b)
    return out


def between(lo, x, hi):
    """x strictly inside the span lo → hi of a chain (wrapping at the end)."""
    if lo < hi:
        return lo < x < hi
    return x > lo or x < hi


class Validator:
    """What a validating resolver must conclude, from the trust anchor down, by asking the
    zones' servers directly (the tree's structure says which server holds which zone)."""

    def __init__(self, tr, anchor, now=None):
        self.tr = tr
        self.anchor = anchor          # DS RRset of '.'
        self.now = now if now is not None else time.time()
        self.zones = {}               # zone -> (status, DNSKEY RRset or why)

    def sigs_why(self, rrs, section, zone, keys):
        """None when rrs has an RRSIG of zone in section that validates with keys; else why."""
        sigs = find(section, rrs.name, T.RRSIG, rrs.rdtype)
        signer = dns.name.from_text(zone)
        if sigs is None or not [s for s in sigs if s.signer == signer]:
            return 'no-rrsig'
        if all(self.now > s.expiration for s in sigs):
            return 'expired'
        if all(self.now < s.inception for s in sigs):
            return 'not-yet-valid'
        try:
            dns.dnssec.validate(rrs, sigs, {signer: keys}, now=self.now)
        except dns.dnssec.ValidationFailure:
            return 'bad-signature'
        return None

    def zone(self, zone):
        """('secure', DNSKEY RRset) | ('insecure', None) | ('bogus', why)."""
        if zone in self.zones:
            return self.zones[zone]
        if zone == '.':
            ds = self.anchor
        else:
            parent = self.tr.parent(zone)
            st, keys = self.zone(parent)
            if st != 'secure':
                self.zones[zone] = (st, keys)
                return self.zones[zone]
            r = direct(self.tr, parent, zone, 'DS')
            ds = find(r.answer, zone, T.DS)
            if ds is None:
                why = self.denial(r, parent, keys, zone, T.DS, nxdomain=False)
                self.zones[zone] = ('insecure', None) if why is None else ('bogus', why)
                return self.zones[zone]
            why = self.sigs_why(ds, r.answer, parent, keys)
            if why:
                self.zones[zone] = ('bogus', why)
                return self.zones[zone]
        r = direct(self.tr, zone, zone, 'DNSKEY')
        keys = find(r.answer, zone, T.DNSKEY)
        sep = [k for k in (keys or []) for d in ds
               if dns.dnssec.make_ds(zone, k, dns.dnssec.DSDigest(d.digest_type)) == d]
        if not sep:
            self.zones[zone] = ('bogus', 'dnskey-missing')
            return self.zones[zone]
        why = self.sigs_why(keys, r.answer, zone,
                            dns.rrset.from_rdata_list(zone, keys.ttl, sep))
        self.zones[zone] = ('bogus', why) if why else ('secure', keys)
        return self.zones[zone]

    # denial of existence --------------------------------------------------------------------

    def denial(self, r, zone, keys, qname, qtype, nxdomain, wildcard_of=None):
        """None when r's authority section proves, signed by zone, that qname/qtype does not
        exist (nxdomain: that qname does not; wildcard_of=N: that the name qname, answered
        from the wildcard below N, does not); else why."""
        qname = dns.name.from_text(qname) if isinstance(qname, str) else qname
        proofs = [rrs for rrs in r.authority if rrs.rdtype in (T.NSEC, T.NSEC3, T.SOA)]
        for rrs in proofs:
            why = self.sigs_why(rrs, r.authority, zone, keys)
            if why:
                return why
        nsec = [(rrs.name, rd) for rrs in proofs if rrs.rdtype == T.NSEC for rd in rrs]
        nsec3 = [(rrs.name, rd) for rrs in proofs if rrs.rdtype == T.NSEC3 for rd in rrs]
        if nsec:
            ok = self.nsec_proof(nsec, qname, qtype, nxdomain, wildcard_of)
        elif nsec3:
            ok = self.nsec3_proof(nsec3, dns.name.from_text(zone), qname, qtype, nxdomain,
                                  wildcard_of)
        else:
            return 'no-rrsig'
        return None if ok else 'bad-signature'

    @staticmethod
    def nsec_proof(nsec, qname, qtype, nxdomain, wildcard_of):
        covered = lambda n: any(between(o, n, rd.next) for o, rd in nsec)
        if wildcard_of is not None:
            return covered(qname)
        if not nxdomain:
            return any(o == qname and qtype not in bitmap(rd) and T.CNAME not in bitmap(rd)
                       and (qtype != T.DS or T.SOA not in bitmap(rd)) for o, rd in nsec)
        if not covered(qname):
            return False
        # the closest encloser: the longest common ancestor of qname and the covering NSEC
        o, rd = [(o, rd) for o, rd in nsec if between(o, qname, rd.next)][0]
        ce = qname
        while not (o.is_subdomain(ce) or rd.next.is_subdomain(ce)):
            ce = ce.parent()
        return covered(dns.name.Name((b'*',) + ce.labels))

    @staticmethod
    def nsec3_proof(nsec3, apex, qname, qtype, nxdomain, wildcard_of):
        rd0 = nsec3[0][1]
        h = lambda n: dns.dnssec.nsec3_hash(n, rd0.salt or None, rd0.iterations,
                                            rd0.algorithm).lower()
        chain = [(o.labels[0].decode().lower(), base64.b32hexencode(rd.next).decode().lower(),
                  rd) for o, rd in nsec3]
        match = lambda n: [rd for o, _, rd in chain if o == h(n)]
        cover = lambda n: [rd for o, nxt, rd in chain if between(o, h(n), nxt)]
        if not nxdomain and wildcard_of is None and match(qname):
            bits = bitmap(match(qname)[0])
            return qtype not in bits and T.CNAME not in bits
        # the closest encloser proof (RFC 5155 §8.3)
        ce, nc = None, qname
        if wildcard_of is not None:
            ce = wildcard_of
            while nc.parent() != ce:
                nc = nc.parent()
            return bool(cover(nc))
        n = qname
        while n != apex:
            if match(n.parent()):
                ce, nc = n.parent(), n
                break
            n = n.parent()
        if ce is None or not cover(nc):
            return False
        if nxdomain:
            return bool(cover(dns.name.Name((b'*',) + ce.labels)))
        # no data and no matching NSEC3: only an opt-out span may cover a DS question
        return qtype == T.DS and all(rd.flags & 1 for rd in cover(nc))

    # answers --------------------------------------------------------------------------------

    def resolve(self, name, rdtype, depth=0):
        """(rcode, answer as in summary(), SOA owners, status, why) for name/rdtype."""
        qname = dns.name.from_text(name)
        qtype = T.from_text(rdtype)
        zone = self.tr.zone_of(name)
        st, keys = self.zone(zone)
        r = direct(self.tr, zone, name, rdtype)
        rcode, ans, soa = summary(r)
        status, why = st, (keys if st == 'bogus' else None)
        if st == 'secure':
            for rrs in r.answer:
                if rrs.rdtype in DNSSEC_TYPES:
                    continue
                why = why or self.sigs_why(rrs, r.answer, zone, keys)
                sigs = find(r.answer, rrs.name, T.RRSIG, rrs.rdtype)
                labels = len(rrs.name) - 1
                if not why and sigs is not None and sigs[0].labels < labels:
                    ce = dns.name.Name(rrs.name.labels[-(sigs[0].labels + 1):])
                    why = self.denial(r, zone, keys, rrs.name, rrs.rdtype, False, ce)
        # follow the chain
        cur = qname
        while True:
            cn = find(r.answer, cur, T.CNAME)
            if cn is None or qtype == T.CNAME:
                break
            cur = cn[0].target
        has_data = find(r.answer, cur, qtype) is not None
        if not has_data and st == 'secure' and not why and cur == qname:
            why = self.denial(r, zone, keys, qname, qtype, r.rcode() == dns.rcode.NXDOMAIN)
        if why:
            status = 'bogus'
        if not has_data and cur != qname and depth < 8 and \
                self.tr.zone_of(cur.to_text()) != zone:
            rc2, ans2, soa2, st2, why2 = self.resolve(cur.to_text(), rdtype, depth + 1)
            rcode, ans, soa = rc2, sorted(ans + ans2), soa2
            if status != 'bogus' and st2 != 'secure':
                status, why = st2, why2
        return rcode, ans, soa, status, why


def anchor_rrset(path):
    import dns.zone
    text = open(path).read()
    z = dns.zone.from_text('. 3600 IN SOA a. b. 1 1 1 1 1\n. 3600 IN NS a.\n' + text,
                           origin='.', relativize=False)
    ds = z.get_rdataset('.', 'DS')
    dnskey = z.get_rdataset('.', 'DNSKEY')
    return ds, dnskey


# --------------------------------------------------------------------------------------------
# the tree itself (no resolver)


def test_signed_tree_self_check(t):
    """EXPECT is what the signed tree says: ldns-verify-zone passes every signed zone but the
    broken ones (and names the fault), the DS and trust anchor match the keys (but for
    rekeyed.test.), the opt-out zone has no NSEC3 for its unsigned child, and a validator
    written here with dnspython reaches EXPECT's conclusion for every question."""
    with tree(t) as tr:
        problems = []
        verify = tool('ldns-verify-zone')
        for zone in tr.signing:
            p = run_tool_rc([verify, tr.zone_files[zone]])
            out = p.stdout + p.stderr
            if zone in BROKEN:
                if p.returncode == 0 or BROKEN[zone] not in out:
                    problems.append('ldns-verify-zone %s: exit %d, want failure naming %r:\n%s'
                                    % (zone, p.returncode, BROKEN[zone], out))
            elif p.returncode != 0:
                problems.append('ldns-verify-zone %s: exit %d\n%s' % (zone, p.returncode, out))
        # the DS in each parent is the zone's KSK (rekeyed.test.: another one)
        for zone in tr.signing:
            if zone == '.':
                continue
            ds, keys = tr.ds(zone), tr.dnskeys(zone)
            if ds is None:
                if tr.signing[zone].get('ds', 'ksk') is not None:
                    problems.append('%s: no DS in %s' % (zone, tr.parent(zone)))
                continue
            made = [dns.dnssec.make_ds(zone, k, 'SHA256') for k in keys]
            found = [d for d in ds if d in made]
            if (zone == 'rekeyed.test.') != (not found):
                problems.append('%s: DS %s, DNSKEYs %s' % (zone, ds, keys))
            parent_text = tr.zone_text(tr.parent(zone))
            if str(ds[0].key_tag) not in parent_text:
                problems.append('%s: its DS is not in %s' % (zone, tr.parent(zone)))
        ds, dnskey = anchor_rrset(tr.trust_anchor)
        _, dnskey2 = anchor_rrset(tr.trust_anchor_dnskey)
        root_keys = tr.dnskeys('.')
        check(ds is not None and dnskey is None and len(ds) == 1, 'trust anchor file: %s' % ds)
        check(dnskey2 is not None and len(dnskey2) == 1 and dnskey2[0] in root_keys
              and dnskey2[0].flags == 257, 'DNSKEY trust anchor: %s' % dnskey2)
        eq(dns.dnssec.make_ds('.', dnskey2[0], 'SHA256'), ds[0], 'the two trust anchors')
        # opt-out: legacy.optout.test. has no NSEC3; the span covering it is opt-out; the
        # DS question gets the closest encloser and the covering NSEC3
        r = direct(tr, 'optout.test.', 'legacy.optout.test.', 'DS')
        owners = sorted(rrs.name.labels[0].decode() for rrs in r.authority
                        if rrs.rdtype == T.NSEC3)
        h = lambda n: dns.dnssec.nsec3_hash(n, None, 0, 1).lower()
        eq(owners, sorted([h('optout.test.'), h('ns.optout.test.')]),
           'NSEC3 owners in the no-DS answer for legacy.optout.test.')
        check(h('legacy.optout.test.') not in tr.zone_text('optout.test.'),
              'optout.test. still has an NSEC3 for legacy.optout.test.')
        # a validator from the trust anchor
        v = Validator(tr, ds)
        for key, want in EXPECT.items():
            rcode, ans, soa, status, why = v.resolve(*key)
            m = data_mismatch(key, rcode, ans, soa)
            if m or status != want['status'] or why != want['why']:
                problems.append('%s %s: %s; validator says %s/%s, EXPECT %s/%s'
                                % (key + (m or 'data right', status, why, want['status'],
                                          want['why'])))
        # with the wrong key as anchor, even the root is bogus
        other = make_other_anchor(t)
        st, why = Validator(tr, anchor_rrset(other)[0]).zone('.')
        check((st, why) == ('bogus', 'dnskey-missing'), 'wrong anchor: %s %s' % (st, why))
        check(not problems, 'the signed tree does not give EXPECT:\n' + '\n'.join(problems))


def run_tool_rc(argv):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=30)


def make_other_anchor(t):
    """A trust anchor file for a root KSK the tree does not use."""
    d = t.path('other-anchor')
    os.makedirs(d, exist_ok=True)
    base = run_tool([tool('ldns-keygen'), '-a', 'ECDSAP256SHA256', '-k', '.'], 'ldns-keygen',
                    cwd=d).stdout.strip().splitlines()[-1]
    out = run_tool([tool('ldns-key2ds'), '-n', '-2', os.path.join(d, base + '.key')],
                   'ldns-key2ds').stdout
    path = os.path.join(d, 'anchor.ds')
    with open(path, 'w') as f:
        f.write(out)
    return path


# --------------------------------------------------------------------------------------------
# the resolver


def resolver(t, tr, trust_anchor=None, name='lanhmanhd'):
    port = free_port()
    cfg = tr.resolver_config(default_config(t, port, [], name), trust_anchor)
    cfg['server']['upstream_timeout'] = '400ms'
    return t.daemon(config=cfg, port=port, name=name)


def ask(d, key, do=False, ad=False, cd=False, transport=udp):
    """Ask the daemon key (RD=1, EDNS 1232) with DO, AD, CD as told; TCP after TC."""
    q = make_query(key[0], key[1], dnssec=do)
    if ad:
        q.flags |= dns.flags.AD
    if cd:
        q.flags |= dns.flags.CD
    r = transport(d.port, key[0], key[1], query=q, timeout=TIMEOUT)
    if r.tc and transport is udp:
        r = tcp(d.port, key[0], key[1], query=q, timeout=TIMEOUT)
    return r


def flags_text(r):
    return dns.flags.to_text(r.msg.flags) or '-'


def reply_problems(tr, key, r, do=False, ad=False, cd=False, wildcard_proof=False):
    """What is wrong with the daemon's reply r to key asked with DO/AD/CD ([] if nothing);
    wildcard_proof: a wildcard answer must carry its NSEC/NSEC3 (signature_problems)."""
    want = EXPECT[key]
    what = '%s %s (DO=%d AD=%d CD=%d)' % (key + (do, ad, cd))
    got_ad = bool(r.msg.flags & dns.flags.AD)
    ad_allowed = want['status'] == 'secure' and (do or ad)
    p = []
    if not r.msg.flags & dns.flags.RA:
        p.append('RA=0')
    if want['status'] == 'bogus' and not cd:
        if r.rcode != 'SERVFAIL':
            p.append('rcode %s, want SERVFAIL (bogus: %s)' % (r.rcode, want['why']))
        if r.msg.answer:
            p.append('answer records in a SERVFAIL')
        codes = WHY_EDE[want['why']]
        if not any(c in codes for c in r.ede_codes):
            p.append('EDE %r, want one of %r (%s)' % (r.ede, codes, want['why']))
    else:
        m = data_mismatch(key, *summary(r.msg))
        if m:
            p.append(m)
        if r.ede_codes and not cd:
            p.append('EDE %r on a %s answer' % (r.ede, want['status']))
    if want['status'] == 'secure' and not cd and (do or ad) and not got_ad:
        p.append('AD=0 on secure data')
    if got_ad and not ad_allowed:
        p.append('AD=1 on %s data%s' % (want['status'], '' if do or ad else
                                        ' asked without DO or AD (RFC 6840 5.8)'))
    dnssec_rrs = [rrs for sec in (r.msg.answer, r.msg.authority) for rrs in sec
                  if rrs.rdtype in DNSSEC_TYPES]
    if not do and dnssec_rrs:
        p.append('DNSSEC records without DO: %s' % ', '.join(
            '%s %s' % (rrs.name, T.to_text(rrs.rdtype)) for rrs in dnssec_rrs))
    if do and want['status'] == 'secure' and not cd and r.rcode != 'SERVFAIL':
        p += signature_problems(tr, r, wildcard_proof)
    return ['%s: %s' % (what, x) for x in p]


def signature_problems(tr, r, wildcard_proof=False):
    """A secure answer to a DO=1 query: every answer RRset comes with RRSIGs that validate
    with the DNSKEYs of their zone; a negative answer (and with wildcard_proof, an answer
    made from a wildcard) has the NSEC/NSEC3 proof (and the SOA) in the authority section,
    signed, so that the client can validate too."""
    p = []
    sections = [('answer', r.msg.answer)]
    data = [rrs for rrs in r.msg.answer if rrs.rdtype not in DNSSEC_TYPES]
    wildcard = [rrs for rrs in r.msg.answer if rrs.rdtype == T.RRSIG
                and rrs[0].labels < len(rrs.name) - 1]
    if not data or (wildcard and wildcard_proof):
        sections.append(('authority', r.msg.authority))
        if not [rrs for rrs in r.msg.authority if rrs.rdtype in (T.NSEC, T.NSEC3)]:
            p.append('a %s answer without NSEC or NSEC3 records in the authority section'
                     % ('wildcard' if data else 'negative'))
    for secname, sec in sections:
        for rrs in sec:
            if rrs.rdtype == T.RRSIG:
                continue
            sigs = find(sec, rrs.name, T.RRSIG, rrs.rdtype)
            if sigs is None:
                p.append('no RRSIG over %s %s in the %s section'
                         % (rrs.name, T.to_text(rrs.rdtype), secname))
                continue
            signer = sigs[0].signer
            try:
                dns.dnssec.validate(rrs, sigs, {signer: tr.dnskeys(signer.to_text().lower())})
            except dns.dnssec.ValidationFailure as e:
                p.append('RRSIG over %s %s does not validate: %s'
                         % (rrs.name, T.to_text(rrs.rdtype), e))
    return p


def expect_replies(tr, d, keys, transport=udp, wildcard_proof=False, **flags):
    """Ask each of keys with flags (do, ad, cd); every reply as EXPECT says."""
    problems, replies = [], []
    for key in keys:
        r = ask(d, key, transport=transport, **flags)
        replies.append(r)
        pr = reply_problems(tr, key, r, wildcard_proof=wildcard_proof, **flags)
        if pr:
            problems.append('\n'.join(pr) + '\n' + r.text())
    check(not problems, '%d of %d replies wrong:\n%s' % (len(problems), len(keys),
                                                         '\n'.join(problems)))
    return replies


def test_secure(t):
    """Secure names (NSEC and NSEC3 zones, a CNAME across them, NXDOMAIN, NODATA, wildcards,
    the root's NXDOMAIN): the zones' data with AD=1 when asked with DO=1, RRSIGs that
    validate; asked with AD=1 only, AD=1 and no DNSSEC records; over TCP too."""
    with tree(t) as tr, resolver(t, tr) as d:
        expect_replies(tr, d, SECURE, do=True)
        expect_replies(tr, d, SECURE, ad=True)
        expect_replies(tr, d, [('alias.secure.test.', 'A'), ('nope.nsec3.test.', 'A')],
                       do=True, transport=tcp)
        d.expect_alive()


WILDCARDS = [('a.wild.secure.test.', 'A'), ('a.wild.nsec3.test.', 'A')]


def test_wildcard_fresh(t):
    """A wildcard answer as the very first question of each zone (no NSEC/NSEC3 of the zone
    cached yet): secure (the resolver fetched and checked the proof that the name itself
    does not exist), RRSIGs with labels below the owner's."""
    with tree(t) as tr, resolver(t, tr) as d:
        expect_replies(tr, d, WILDCARDS, do=True)


def test_wildcard_proof_in_answer(t):
    """DO=1: an answer made from a wildcard carries, in its authority section, the signed
    NSEC/NSEC3 proving that the name itself does not exist (RFC 4035 §3.1.3.3, §3.2: a
    validating client behind the resolver needs it), fresh and from the cache."""
    with tree(t) as tr, resolver(t, tr) as d:
        expect_replies(tr, d, WILDCARDS, do=True, wildcard_proof=True)
        expect_replies(tr, d, WILDCARDS, do=True, wildcard_proof=True)


def test_ad_only_when_asked(t):
    """RFC 6840 §5.8: a query with neither DO nor AD gets AD=0, even for secure data."""
    with tree(t) as tr, resolver(t, tr) as d:
        expect_replies(tr, d, [('www.secure.test.', 'A'), ('www.nsec3.test.', 'A'),
                               ('nope.secure.test.', 'A')])


def test_insecure(t):
    """Unsigned zones below a proof of no DS (test.'s NSEC, nsec3.test.'s NSEC3, an opt-out
    span of optout.test.), and a secure CNAME into one: the data, NOERROR/NXDOMAIN, AD=0,
    no EDE."""
    with tree(t) as tr, resolver(t, tr) as d:
        expect_replies(tr, d, INSECURE, do=True)
        expect_replies(tr, d, INSECURE, ad=True)
        expect_replies(tr, d, INSECURE)


def bogus_case(t, keys, also_secure=()):
    """keys: SERVFAIL with their EDE, asked with DO=1 and without, then again (cached);
    also_secure: secure names of the same zones still validate."""
    with tree(t) as tr, resolver(t, tr) as d:
        expect_replies(tr, d, keys, do=True)
        expect_replies(tr, d, keys)
        expect_replies(tr, d, keys, do=True)
        if also_secure:
            expect_replies(tr, d, also_secure, do=True)
        d.expect_alive()


def test_bogus_signature(t):
    """bogus.test.'s RRSIG over www A has a changed byte: SERVFAIL, EDE 6 (DNSSEC Bogus), also
    through a secure CNAME; good.bogus.test. is still secure."""
    bogus_case(t, [('www.bogus.test.', 'A'), ('tobogus.secure.test.', 'A')],
               [('good.bogus.test.', 'A')])


def test_signature_expired(t):
    """expired.test. was signed for a month that ended 30 days ago: SERVFAIL, EDE 7 (Signature
    Expired); future.test.'s signatures start in 30 days: EDE 8 (Not Yet Valid)."""
    bogus_case(t, [('www.expired.test.', 'A'), ('www.future.test.', 'A')])


def test_dnskey_missing(t):
    """test. holds the DS of a KSK rekeyed.test. does not publish: SERVFAIL, EDE 9 (DNSKEY
    Missing; 6 accepted, see the module doc)."""
    bogus_case(t, [('www.rekeyed.test.', 'A')])


def test_rrsigs_missing(t):
    """nosig.test.'s www A comes without its RRSIG: SERVFAIL, EDE 10 (RRSIGs Missing; 6
    accepted); good.nosig.test. is still secure."""
    bogus_case(t, [('www.nosig.test.', 'A')], [('good.nosig.test.', 'A')])


def test_checking_disabled(t):
    """CD=1: every bogus name gets the zone's (unvalidated) answer with AD=0, not SERVFAIL;
    the same names asked afterwards without CD are SERVFAIL again (no laundering through the
    cache); a name first found bogus is still served with CD=1 after; secure data with CD=1
    is the data."""
    with tree(t) as tr, resolver(t, tr) as d:
        first = [k for k in BOGUS if k[0] != 'www.expired.test.']
        expect_replies(tr, d, first, do=True, cd=True)
        expect_replies(tr, d, first, do=True)
        expect_replies(tr, d, first, cd=True)
        key = [('www.expired.test.', 'A')]
        expect_replies(tr, d, key, do=True)
        expect_replies(tr, d, key, do=True, cd=True)
        expect_replies(tr, d, key, do=True)
        expect_replies(tr, d, [('www.secure.test.', 'A'), ('www.insecure.test.', 'A')],
                       do=True, cd=True)
        d.expect_alive()


def test_trust_anchor_dnskey(t):
    """The trust anchor given as the root's DNSKEY instead of its DS: the same conclusions."""
    with tree(t) as tr, resolver(t, tr, trust_anchor=tr.trust_anchor_dnskey) as d:
        expect_replies(tr, d, [('www.secure.test.', 'A'), ('www.nsec3.test.', 'A'),
                               ('nope.secure.test.', 'A')], do=True)
        expect_replies(tr, d, [('www.insecure.test.', 'A'), ('www.bogus.test.', 'A')],
                       do=True)


def test_wrong_trust_anchor(t):
    """A trust anchor for a root key the tree does not have: the root's DNSKEY RRset cannot
    be validated, so every answer is bogus: SERVFAIL with EDE 9 (or 6), insecure zones
    included."""
    other = make_other_anchor(t)
    with tree(t) as tr, resolver(t, tr, trust_anchor=other) as d:
        problems = []
        for key in (('www.secure.test.', 'A'), ('www.insecure.test.', 'A')):
            for do in (True, False):
                r = ask(d, key, do=do)
                if r.rcode != 'SERVFAIL' or r.msg.answer or r.msg.flags & dns.flags.AD or \
                        not set(r.ede_codes) & {EDE_DNSKEY_MISSING, EDE_DNSSEC_BOGUS}:
                    problems.append('%s %s DO=%d: want SERVFAIL, no answer, AD=0, EDE 9 or '
                                    '6\n%s' % (key + (do, r.text())))
        check(not problems, '\n'.join(problems))
        d.expect_alive()


def test_trust_anchor_config(t):
    """`lanhmanhd --check-config` accepts dnssec: true with either trust anchor file (DS or
    DNSKEY) in recursive mode. Files are read at start (as root_hints): a trust anchor that
    does not exist, that has no DS or DNSKEY record of '.', or that is a directory, stops the
    daemon from starting (within 5 s) with an error naming the file."""
    tr = tree(t)  # only its files: no server needed

    def config(anchor, name):
        cfg = tr.resolver_config(default_config(t, free_port(), [], name), anchor)
        return t.daemon(config=cfg, name=name).config_path

    for anchor in (tr.trust_anchor, tr.trust_anchor_dnskey):
        path = config(anchor, 'ok-' + os.path.basename(anchor))
        p = subprocess.run([lanhmanhd_path(), '--check-config', '-c', path],
                           capture_output=True, text=True, timeout=10)
        check(p.returncode == 0, '--check-config with %s: exit %d\n%s%s'
              % (os.path.basename(anchor), p.returncode, p.stdout, p.stderr))
    no_root = t.path('no-root-anchor.ds')
    with open(no_root, 'w') as f:
        f.write(''.join(tr.ds_lines('secure.test.')))   # a DS, but not of '.'
    a_dir = t.path('anchor-dir')                        # fopen() succeeds, reads fail
    os.makedirs(a_dir)
    for anchor in (t.path('no-such-anchor.ds'), no_root, a_dir):
        name = os.path.basename(anchor)
        path = config(anchor, 'lanhmanhd-' + name)
        try:
            p = subprocess.run([lanhmanhd_path(), '-c', path], capture_output=True, text=True,
                               timeout=5)
        except subprocess.TimeoutExpired:  # subprocess.run killed it by PID
            raise TestFailure('lanhmanhd with trust_anchor %s still running after 5 s, want '
                              'a failure naming the file' % name)
        check(p.returncode != 0 and name in p.stderr,
              'lanhmanhd with trust_anchor %s: exit %d, want a failure naming the file\n%s'
              % (name, p.returncode, p.stderr))


if __name__ == '__main__':
    import importlib.util
    if importlib.util.find_spec('cryptography') is None:  # dns.dnssec signs and validates with it
        print('SKIP: python3-cryptography missing')
        raise SystemExit(SKIP_EXIT)
    run(globals(), needs=('nsd', 'ldns-keygen', 'ldns-signzone', 'ldns-key2ds',
                          'ldns-verify-zone'))
