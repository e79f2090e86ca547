# SPDX-License-Identifier: GPL-3.0-or-later
"""Recursive mode (issue 7, the iterator; no DNSSEC yet): lanhmanhd resolves from the root of a
fake DNS tree on loopback (harness.DnsTree: one nsd or scripted server per 127.x address, all
on the same port, given to the daemon as `ns_port`, with `ns_loopback: true`).

The tree (TREE below): the root → test. (a 'log' server, so the test sees what the TLD is
asked) and vn. (two nsd) → example.test. (two nsd) with a zone cut at deep.sub.example.test.,
edu.vn., other.vn. served by ns.example.test (glueless), a CNAME chain across zones
(www.example.test → www.other.vn → cdn.example.test), a DNAME (old.test → example.test),
NXDOMAIN and NODATA names, and the awkward servers: a zone with a silent server beside a good
one, zones whose only servers refuse, are lame or fail, a server that truncates every UDP
answer, one that lower-cases the question (no 0x20 echo), and a delegation loop without glue.

EXPECT is what the tree says, checked by walking it by hand (walk(), test_tree_self_check,
which needs no resolver): the daemon's answers are compared with it, record for record."""

import select
import socket
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

from harness import (EDE_NO_REACHABLE_AUTHORITY, DnsTree, NoAnswer, TestFailure, check,
                     default_config, eq, free_port, run, tcp, udp)

EDE_BLOCKED = 15
SINK4 = '10.10.10.10'

ROOT = '127.0.1.1'
TLD_TEST = '127.0.2.1'      # 'log': test.
LOOP_NS = '127.0.4.9'       # 'log': a.loop.test. and b.loop.test., which nobody can reach
TRUNCATE_NS = '127.0.4.7'
NO0X20_NS = '127.0.4.8'
SILENT_NS = '127.0.4.1'
LATE_NS = '127.0.4.10'      # 'late': answers for late.* 300 ms after the query


TREE = {
    '.': {'ns': {'a.root.test.': ROOT}},
    'test.': {'ns': {'ns1.nic.test.': TLD_TEST}, 'records': '''
old DNAME example.test.
pool A 192.0.2.91
cached A 192.0.2.92
target A 192.0.2.94
cn1 CNAME target
cn2 CNAME target
www.blocked A 192.0.2.93
'''},
    'vn.': {'ns': {'ns1.nic.vn.': '127.0.2.2', 'ns2.nic.vn.': '127.0.2.3'}},
    'example.test.': {'ns': {'ns1.example.test.': '127.0.3.1',
                             'ns2.example.test.': '127.0.3.2'}, 'records': '''
host A 192.0.2.1
host AAAA 2001:db8::1
alias CNAME host
www CNAME www.other.vn.
cdn A 192.0.2.10
mail A 192.0.2.25
txt TXT "lanhmanh recursive test"
'''},
    # a zone cut two labels below example.test. (sub.example.test. is an empty non-terminal)
    'deep.sub.example.test.': {'ns': {'ns.deep.sub.example.test.': '127.0.3.4'},
                               'records': 'www A 192.0.2.40\n'},
    'edu.vn.': {'ns': {'ns.edu.vn.': '127.0.3.3'},
                'records': 'www A 192.0.2.30\n@ MX 10 mail.edu.vn.\nmail A 192.0.2.31\n'},
    # glueless: its server's name is in another zone (example.test.)
    'other.vn.': {'ns': {'ns.example.test.': '127.0.3.5'},
                  'records': 'www CNAME cdn.example.test.\ndirect A 192.0.2.32\n'},
    # one silent server, one good one
    'slow.vn.': {'ns': {'ns1.slow.vn.': SILENT_NS, 'ns2.slow.vn.': '127.0.4.2'},
                 'records': 'www A 192.0.2.60\n* A 192.0.2.61\n'},
    # nobody answers properly
    'dead.vn.': {'ns': {'ns1.dead.vn.': '127.0.4.3', 'ns2.dead.vn.': '127.0.4.4'},
                 'records': 'www A 192.0.2.66\n'},
    'broken.vn.': {'ns': {'ns1.broken.vn.': '127.0.4.5', 'ns2.broken.vn.': '127.0.4.6'},
                   'records': 'www A 192.0.2.67\n'},
    'big.test.': {'ns': {'ns.big.test.': TRUNCATE_NS},
                  'records': 'www A 192.0.2.70\n' + ''.join(
                      'many A 198.51.100.%d\n' % i for i in range(1, 41))},
    'quiet.test.': {'ns': {'ns.quiet.test.': NO0X20_NS}, 'records': 'www A 192.0.2.80\n'},
    # the only server of the zone: fast, except for late.late.test.
    'late.test.': {'ns': {'ns.late.test.': LATE_NS},
                   'records': 'www A 192.0.2.85\nlate A 192.0.2.86\n'},
    # a delegation loop: each zone's server is named inside the other, no glue anywhere
    'a.loop.test.': {'ns': {'ns.b.loop.test.': LOOP_NS}, 'glue': False,
                     'records': 'www A 192.0.2.98\n'},
    'b.loop.test.': {'ns': {'ns.a.loop.test.': LOOP_NS}, 'glue': False,
                     'records': 'www A 192.0.2.99\n'},
}

BEHAVIOURS = {
    TLD_TEST: 'log',
    SILENT_NS: 'timeout',
    '127.0.4.3': 'refused',
    '127.0.4.4': 'lame',
    '127.0.4.5': 'servfail',
    '127.0.4.6': 'lame-empty',
    TRUNCATE_NS: 'truncate',
    NO0X20_NS: 'no-0x20',
    LATE_NS: 'late',

    LOOP_NS: 'log',
}

MANY = sorted('198.51.100.%d' % i for i in range(1, 41))


def E(rcode, answer=(), soa=None):
    """An expected answer: rcode, answer RRsets [(owner, type, [rdata])], the SOA owner in the
    authority section (negative answers)."""
    return {'rcode': rcode, 'answer': sorted((o, t, tuple(sorted(v))) for o, t, v in answer),
            'soa': soa}


EXPECT = {
    ('host.example.test.', 'A'): E('NOERROR', [('host.example.test.', 'A', ['192.0.2.1'])]),
    ('host.example.test.', 'AAAA'): E('NOERROR', [('host.example.test.', 'AAAA',
                                                   ['2001:db8::1'])]),
    ('txt.example.test.', 'TXT'): E('NOERROR', [('txt.example.test.', 'TXT',
                                                 ['"lanhmanh recursive test"'])]),
    # in-zone CNAME
    ('alias.example.test.', 'A'): E('NOERROR', [
        ('alias.example.test.', 'CNAME', ['host.example.test.']),
        ('host.example.test.', 'A', ['192.0.2.1'])]),
    # the chain across zones: example.test → other.vn (glueless) → example.test
    ('www.example.test.', 'A'): E('NOERROR', [
        ('www.example.test.', 'CNAME', ['www.other.vn.']),
        ('www.other.vn.', 'CNAME', ['cdn.example.test.']),
        ('cdn.example.test.', 'A', ['192.0.2.10'])]),
    ('direct.other.vn.', 'A'): E('NOERROR', [('direct.other.vn.', 'A', ['192.0.2.32'])]),
    # below the zone cut under an empty non-terminal
    ('www.deep.sub.example.test.', 'A'): E('NOERROR', [('www.deep.sub.example.test.', 'A',
                                                        ['192.0.2.40'])]),
    ('www.edu.vn.', 'A'): E('NOERROR', [('www.edu.vn.', 'A', ['192.0.2.30'])]),
    ('edu.vn.', 'MX'): E('NOERROR', [('edu.vn.', 'MX', ['10 mail.edu.vn.'])]),
    # DNAME: the DNAME, the CNAME made from it, the target's A
    ('mail.old.test.', 'A'): E('NOERROR', [
        ('old.test.', 'DNAME', ['example.test.']),
        ('mail.old.test.', 'CNAME', ['mail.example.test.']),
        ('mail.example.test.', 'A', ['192.0.2.25'])]),
    # negative answers, at several levels
    ('nope.example.test.', 'A'): E('NXDOMAIN', soa='example.test.'),
    ('x.nope.example.test.', 'A'): E('NXDOMAIN', soa='example.test.'),
    ('nope.vn.', 'A'): E('NXDOMAIN', soa='vn.'),
    ('nope.zz.', 'A'): E('NXDOMAIN', soa='.'),
    ('nope.deep.sub.example.test.', 'AAAA'): E('NXDOMAIN', soa='deep.sub.example.test.'),
    ('host.example.test.', 'MX'): E('NOERROR', soa='example.test.'),       # NODATA
    ('sub.example.test.', 'A'): E('NOERROR', soa='example.test.'),         # empty non-terminal
    ('www.edu.vn.', 'AAAA'): E('NOERROR', soa='edu.vn.'),
    # awkward servers
    ('www.slow.vn.', 'A'): E('NOERROR', [('www.slow.vn.', 'A', ['192.0.2.60'])]),
    ('www.big.test.', 'A'): E('NOERROR', [('www.big.test.', 'A', ['192.0.2.70'])]),
    ('many.big.test.', 'A'): E('NOERROR', [('many.big.test.', 'A', MANY)]),
    ('www.quiet.test.', 'A'): E('NOERROR', [('www.quiet.test.', 'A', ['192.0.2.80'])]),
    ('www.dead.vn.', 'A'): E('SERVFAIL'),
    ('www.broken.vn.', 'A'): E('SERVFAIL'),
    ('www.a.loop.test.', 'A'): E('SERVFAIL'),
    ('www.b.loop.test.', 'A'): E('SERVFAIL'),
    # names of the test. zone itself (coalescing, cache, policy)
    ('pool.test.', 'A'): E('NOERROR', [('pool.test.', 'A', ['192.0.2.91'])]),
    ('cached.test.', 'A'): E('NOERROR', [('cached.test.', 'A', ['192.0.2.92'])]),
    ('www.blocked.test.', 'A'): E('NOERROR', [('www.blocked.test.', 'A', ['192.0.2.93'])]),
}

# slow.vn.'s wildcard, a fresh name for each fresh daemon of test_silent_server
for _i in range(8):
    _n = 'n%d.slow.vn.' % _i
    EXPECT[(_n, 'A')] = E('NOERROR', [(_n, 'A', ['192.0.2.61'])])

# The plain cases test_answers runs (the awkward ones have their own tests).
OWN_TEST = ('slow.vn.', 'big.test.', 'quiet.test.', 'late.test.', 'dead.vn.', 'broken.vn.',
            'loop.test.',
            'pool.test.', 'cached.test.', 'blocked.test.')
PLAIN = [k for k in EXPECT if not any(k[0].endswith(z) for z in OWN_TEST)]

TIMEOUT = 5.0  # client timeout: well above anything the resolver should need


# --------------------------------------------------------------------------------------------
# helpers


def summary(msg):
    """rcode, the answer as sorted (owner, type, (rdata...)) lower-cased, the SOA owners of the
    authority section."""
    ans = sorted((rrs.name.to_text().lower(), dns.rdatatype.to_text(rrs.rdtype),
                  tuple(sorted(rd.to_text().lower() for rd in rrs))) for rrs in msg.answer)
    soa = [rrs.name.to_text().lower() for rrs in msg.authority if rrs.rdtype == dns.rdatatype.SOA]
    return dns.rcode.to_text(msg.rcode()), ans, soa


def mismatch(key, got_msg, want):
    """None when got_msg (a dns.message) has want's rcode, answer and SOA owner; else a text."""
    rcode, ans, soa = summary(got_msg)
    want_ans = [(o, t, tuple(v.lower() for v in vals)) for o, t, vals in want['answer']]
    problems = []
    if rcode != want['rcode']:
        problems.append('rcode %s, want %s' % (rcode, want['rcode']))
    if want['rcode'] != 'SERVFAIL' and ans != sorted(want_ans):
        problems.append('answer %r, want %r' % (ans, sorted(want_ans)))
    if want['soa'] is not None and soa != [want['soa']]:
        problems.append('SOA owners in authority %r, want [%r]' % (soa, want['soa']))
    if not problems:
        return None
    return '%s %s: %s' % (key[0], key[1], '; '.join(problems))


def expect_answer(r, key):
    """A Reply from the daemon matches EXPECT[key], with RA=1 and AA=0, and no EDE unless it
    is a SERVFAIL; returns r."""
    want = EXPECT[key]
    m = mismatch(key, r.msg, want)
    r.expect(m is None, m)
    expect_ra_no_aa(r, '%s %s' % key)
    r.expect(r.msg.question[0].name == dns.name.from_text(key[0]), 'question changed')
    if want['rcode'] == 'SERVFAIL':
        r.expect(not r.msg.answer, '%s %s: SERVFAIL with answers' % key)
    else:
        r.expect(not r.ede_codes, '%s %s: EDE %r on an answer' % (key + (r.ede,)))
    return r


def expect_ra_no_aa(r, what='answer'):
    r.expect(bool(r.msg.flags & dns.flags.RA), '%s: RA=0' % what)
    r.expect(not r.msg.flags & dns.flags.AA, '%s: AA=1 from a recursive resolver' % what)
    return r


def resolver(t, tree, extra=None, name='lanhmanhd'):
    """A daemon in recursive mode on tree (config changes in extra(cfg))."""
    port = free_port()
    cfg = tree.resolver_config(default_config(t, port, [], name))
    cfg['server']['upstream_timeout'] = '400ms'
    if extra:
        extra(cfg)
    return t.daemon(config=cfg, port=port, name=name)


def ask(d, key, transport=udp):
    return transport(d.port, key[0], key[1], timeout=TIMEOUT)


def asked(tree, addr, under):
    """Names (lower-cased) the scripted server at addr was asked that are under `under`."""
    return [n.lower() for _, n, _ in tree.questions(addr)
            if dns.name.from_text(n).is_subdomain(dns.name.from_text(under))]


# --------------------------------------------------------------------------------------------
# walking the tree by hand, with dnspython (no resolver involved)


def _ask_servers(tree, addrs, name, rdtype, zone):
    """The first usable response from addrs for name/rdtype: authoritative, or a referral
    down from zone. Silent, refusing, failing and lame servers are passed over (a silent one
    is not asked again by later walks on the same tree); TC → TCP."""
    silent = getattr(tree, 'walk_silent', None)
    if silent is None:
        silent = tree.walk_silent = set()
    for a in addrs:
        if a in silent:
            continue
        q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
        q.flags &= ~dns.flags.RD
        try:
            r = dns.query.udp(q, a, port=tree.port, timeout=0.5)
            if r.flags & dns.flags.TC:
                r = dns.query.tcp(q, a, port=tree.port, timeout=1.0)
        except dns.exception.Timeout:
            silent.add(a)
            continue
        except OSError:
            continue
        if r.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            continue
        if r.flags & dns.flags.AA:
            return r
        cut = [rrs for rrs in r.authority if rrs.rdtype == dns.rdatatype.NS]
        if cut and cut[0].name.is_subdomain(dns.name.from_text(zone)) and \
                cut[0].name != dns.name.from_text(zone):
            return r
        # lame: no AA and no referral downwards
    return None


def walk(tree, name, rdtype='A', depth=0):
    """Resolve name/rdtype by iterating from the tree's root hints, by hand. Returns a
    dns.message.Message made of what the authoritative servers said (the answer chain, the
    last authority section), with rcode SERVFAIL when the walk gets stuck."""
    out = dns.message.make_response(dns.message.make_query(name, rdtype))
    if depth > 6:
        out.set_rcode(dns.rcode.SERVFAIL)
        return out
    qname = dns.name.from_text(name)
    want = dns.rdatatype.from_text(rdtype)
    zone, addrs = '.', tree.root_addresses()
    for _ in range(30):
        r = _ask_servers(tree, addrs, qname.to_text(), rdtype, zone)
        if r is None:
            out.set_rcode(dns.rcode.SERVFAIL)
            return out
        if r.flags & dns.flags.AA:
            out.answer += [rrs for rrs in r.answer if rrs not in out.answer]
            out.authority = r.authority
            out.set_rcode(r.rcode())
            # follow the chain in the answer; start again from the root where it leaves
            cur = qname
            while True:
                if any(rrs.name == cur and rrs.rdtype == want for rrs in r.answer):
                    return out
                cn = [rrs for rrs in r.answer
                      if rrs.name == cur and rrs.rdtype == dns.rdatatype.CNAME]
                if not cn:
                    break
                cur = cn[0][0].target
            negative = any(rrs.rdtype == dns.rdatatype.SOA for rrs in r.authority)
            if cur == qname or r.rcode() != dns.rcode.NOERROR or negative:
                return out
            qname, zone, addrs = cur, '.', tree.root_addresses()
            continue
        cut = [rrs for rrs in r.authority if rrs.rdtype == dns.rdatatype.NS][0]
        glue = [rd.address for rrs in r.additional
                if rrs.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) for rd in rrs]
        if not glue:  # glueless: resolve the server names themselves
            for rd in cut:
                sub = walk(tree, rd.target.to_text(), 'A', depth + 1)
                glue += [x.address for rrs in sub.answer
                         if rrs.rdtype == dns.rdatatype.A for x in rrs]
        if not glue:
            out.set_rcode(dns.rcode.SERVFAIL)
            return out
        zone, addrs = cut.name.to_text(), glue
    out.set_rcode(dns.rcode.SERVFAIL)
    return out


def tree(t):
    return DnsTree(t, TREE, BEHAVIOURS)


# --------------------------------------------------------------------------------------------
# the tree itself (no resolver)


def test_tree_self_check(t):
    """Every EXPECT entry is what the tree says when walked by hand; the scripted servers do
    what their behaviour says."""
    with tree(t) as tr:
        problems = [m for m in (mismatch(k, walk(tr, k[0], k[1]), w) for k, w in EXPECT.items())
                    if m]
        check(not problems, 'the tree does not give EXPECT:\n' + '\n'.join(problems))
        p = tr.port

        def q(addr, name, rdtype='A', transport=udp):
            return transport(p, name, rdtype, addr=addr, timeout=1.0)

        # the question is echoed exactly as received, case included
        r = q(TLD_TEST, 'PoOl.TeSt', 'A')
        eq(r.msg.question[0].name.to_text(), 'PoOl.TeSt.', 'log server: question echo')
        check(r.msg.flags & dns.flags.AA, 'log server: AA=0 for its own zone')
        r.expect_values('pool.test.', 'A', ['192.0.2.91'])
        # a referral with glue at a zone cut, no AA
        r = q(TLD_TEST, 'www.big.test', 'A')
        r.expect(not r.msg.flags & dns.flags.AA and not r.msg.answer, 'referral: AA or answers')
        lvals(r, 'big.test.', 'NS', ['ns.big.test.'], 'authority')
        lvals(r, 'ns.big.test.', 'A', [TRUNCATE_NS], 'additional')
        # no glue for the loop
        r = q(TLD_TEST, 'www.a.loop.test', 'A')
        lvals(r, 'a.loop.test.', 'NS', ['ns.b.loop.test.'], 'authority')
        r.expect(not r.msg.additional, 'glue for the loop')
        # glueless other.vn. at the vn. nsd
        r = q('127.0.2.2', 'direct.other.vn', 'A')
        lvals(r, 'other.vn.', 'NS', ['ns.example.test.'], 'authority')
        r.expect(not r.msg.additional, 'glue for other.vn.')
        r = q(TLD_TEST, 'Sub.Example.Test', 'A')  # above the deep cut: the example.test. cut
        lvals(r, 'example.test.', 'NS', ['ns1.example.test.', 'ns2.example.test.'], 'authority')
        # truncate: TC and nothing over UDP, the answer over TCP
        r = q(TRUNCATE_NS, 'many.big.test', 'A')
        r.expect(r.tc and not r.msg.answer, 'truncate over UDP: want TC=1 and no records')
        q(TRUNCATE_NS, 'many.big.test', 'A', tcp).expect_values('many.big.test.', 'A', MANY)
        # no-0x20: the question lower-cased
        r = dns.message.from_wire(send_raw(p, NO0X20_NS, 'WwW.QuIeT.TeSt'))
        eq(r.question[0].name.to_text(), 'www.quiet.test.', 'no-0x20: question')
        eq(summary(r)[1], [('www.quiet.test.', 'A', ('192.0.2.80',))], 'no-0x20: answer')
        # refused, servfail, lame, lame-empty, timeout
        q('127.0.4.3', 'www.dead.vn').expect_rcode('REFUSED')
        q('127.0.4.5', 'www.broken.vn').expect_rcode('SERVFAIL')
        r = q('127.0.4.4', 'www.dead.vn').expect_rcode('NOERROR')
        r.expect(not r.msg.flags & dns.flags.AA and not r.msg.answer, 'lame: AA or answers')
        lvals(r, '.', 'NS', ['a.root.test.'], 'authority')
        r = q('127.0.4.6', 'www.broken.vn').expect_rcode('NOERROR')
        r.expect(not r.msg.flags & dns.flags.AA and r.count('answer') == 0
                 and r.count('authority') == 0, 'lame-empty: AA or records')
        try:
            udp(p, 'www.slow.vn', 'A', addr=SILENT_NS, timeout=0.5)
            raise TestFailure('the timeout server answered')
        except NoAnswer:
            pass
        # the log: transport, name as received, type
        log = tr.questions(TLD_TEST)
        check(('udp', 'PoOl.TeSt.', 'A') in log, 'log server: %r' % log)
        check(('tcp', 'many.big.test.', 'A') in tr.questions(TRUNCATE_NS),
              'truncate server log: %r' % tr.questions(TRUNCATE_NS))
        root_hint = open(tr.root_hints).read()
        check('. 3600000 NS a.root.test.' in root_hint and 'a.root.test. 3600000 IN A 127.0.1.1'
              in root_hint, 'root hints:\n' + root_hint)


def lvals(r, name, rdtype, want, section):
    """r has name/rdtype in section with rdata want (compared lower-cased: names in rdata are
    compressed against the question, whose case the servers echo)."""
    got = [v.lower() for v in r.values(name, rdtype, section)]
    r.expect(got == sorted(want), '%s %s in %s: got %r, want %r'
             % (name, rdtype, section, got, sorted(want)))


def send_raw(port, addr, name, rdtype='A'):
    q = dns.message.make_query(name, rdtype)
    q.flags &= ~dns.flags.RD
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(1.0)
        s.sendto(q.to_wire(), (addr, port))
        return s.recvfrom(65535)[0]
    finally:
        s.close()


# --------------------------------------------------------------------------------------------
# the resolver


def test_answers(t):
    """Answers, CNAME chains across zones, a DNAME, a glueless delegation, a zone cut under an
    empty non-terminal, NXDOMAIN/NODATA at several levels: as the tree says, RA=1, AA=0."""
    with tree(t) as tr, resolver(t, tr) as d:
        problems = []
        for key in PLAIN:
            try:
                expect_answer(ask(d, key), key)
            except TestFailure as e:
                problems.append(str(e))
        check(not problems, '%d of %d wrong:\n%s' % (len(problems), len(PLAIN),
                                                     '\n'.join(problems)))
        # the same over TCP, and from the cache now
        expect_answer(ask(d, ('www.example.test.', 'A'), tcp), ('www.example.test.', 'A'))
        expect_answer(ask(d, ('mail.old.test.', 'A'), tcp), ('mail.old.test.', 'A'))
        d.expect_alive()


def test_silent_server(t):
    """slow.vn.: one server never answers, the other does (a wildcard). A fresh daemon picks
    either; fresh daemons (up to 8) until one has asked the silent one: every answer right,
    and within 2 s (the silent server costs one per-server timeout, ~400 ms)."""
    with tree(t) as tr:
        for i in range(8):
            with resolver(t, tr, name='lanhmanhd-%d' % i) as d:
                key = ('n%d.slow.vn.' % i, 'A')
                r = expect_answer(ask(d, key), key)
                check(r.elapsed < 2.0, '%s: answer took %.2f s' % (key[0], r.elapsed))
                key = ('www.slow.vn.', 'A')
                expect_answer(ask(d, key), key)
            if tr.questions(SILENT_NS):
                break
        check(tr.questions(SILENT_NS), '8 fresh daemons never asked the silent server of '
              'slow.vn.: the timeout could not be exercised')


def test_late_answer(t):
    """late.test.'s only server answers www at once (the resolver learns it is fast) and
    late.late.test. 300 ms late, well past the first wait (~4 x its RTT): the resolver asks it
    again with longer waits instead of giving the zone up, and answers (not SERVFAIL). One
    worker: server round-trip times are learnt per worker."""
    def one_worker(cfg):
        cfg['server']['workers'] = 1
    with tree(t) as tr, resolver(t, tr, one_worker) as d:
        for name in ('www.late.test.', 'nx.late.test.'):
            ask(d, (name, 'A'))  # two fast answers from the server: its RTT is known now
        r = ask(d, ('late.late.test.', 'A'))
        r.expect_rcode('NOERROR')
        eq(r.values('late.late.test.', 'A'), ['192.0.2.86'], 'late.late.test. A')
        tries = [q for q in tr.questions(LATE_NS) if q[1].lower() == 'late.late.test.']
        check(len(tries) >= 2, 'asked again after the first wait: %r' % tries)


def test_no_reachable_authority(t):
    """dead.vn. (refused + lame) and broken.vn. (servfail + lame-empty): SERVFAIL with EDE 22;
    the daemon answers other names right after."""
    with tree(t) as tr, resolver(t, tr) as d:
        for key in (('www.dead.vn.', 'A'), ('www.broken.vn.', 'A')):
            expect_answer(ask(d, key), key).expect_ede(EDE_NO_REACHABLE_AUTHORITY)
        for addr, zone in (('127.0.4.3', 'dead.vn.'), ('127.0.4.4', 'dead.vn.'),
                           ('127.0.4.5', 'broken.vn.'), ('127.0.4.6', 'broken.vn.')):
            check(asked(tr, addr, zone), '%s (%s) was never asked: %r'
                  % (addr, BEHAVIOURS[addr], tr.questions(addr)))
        key = ('www.edu.vn.', 'A')
        expect_answer(ask(d, key), key)
        d.expect_alive()


def test_truncated_then_tcp(t):
    """big.test.'s server truncates every UDP answer: the resolver retries over TCP and the
    answer is complete (40 A records)."""
    with tree(t) as tr, resolver(t, tr) as d:
        for key in (('many.big.test.', 'A'), ('www.big.test.', 'A')):
            expect_answer(ask(d, key), key)
        log = tr.questions(TRUNCATE_NS)
        check(any(tr_ == 'tcp' and n.lower() == 'many.big.test.' and ty == 'A'
                  for tr_, n, ty in log), 'no TCP query for many.big.test A: %r' % log)


def test_delegation_loop(t):
    """a.loop.test NS ns.b.loop.test, b.loop.test NS ns.a.loop.test, no glue: SERVFAIL (EDE
    22), nothing reaches the loop's server, and the daemon answers other names right after."""
    with tree(t) as tr, resolver(t, tr) as d:
        for key in (('www.a.loop.test.', 'A'), ('www.b.loop.test.', 'A')):
            r = ask(d, key)
            expect_answer(r, key).expect_ede(EDE_NO_REACHABLE_AUTHORITY)
        eq(tr.questions(LOOP_NS), [], "questions at the loop's server")
        d.expect_alive()
        for key in (('host.example.test.', 'A'), ('www.edu.vn.', 'A')):
            expect_answer(ask(d, key), key)


def test_no_0x20_echo(t):
    """quiet.test.'s server lower-cases the question: the answer is still right."""
    with tree(t) as tr, resolver(t, tr) as d:
        key = ('www.quiet.test.', 'A')
        expect_answer(ask(d, key), key)
        check(tr.questions(NO0X20_NS), 'the no-0x20 server was never asked')


def test_qname_minimisation(t):
    """RFC 9156: for www.deep.sub.example.test the test. server sees example.test. at most."""
    with tree(t) as tr, resolver(t, tr) as d:
        key = ('www.deep.sub.example.test.', 'A')
        expect_answer(ask(d, key), key)
        log = tr.questions(TLD_TEST)
        target = dns.name.from_text(key[0])
        # the names asked on the way to the target (other names, such as the servers' own
        # addresses, are not this query's business)
        on_path = [n for _, n, _ in log if target.is_subdomain(dns.name.from_text(n))]
        too_long = [n for n in on_path if len(dns.name.from_text(n).labels) > 3]
        check(not too_long, 'test. server saw more than one label below test.: %r (log %r)'
              % (too_long, log))
        check(any(n.lower() == 'example.test.' for n in on_path),
              'test. server never asked for example.test.: %r' % log)


def test_coalescing(t):
    """20 identical queries at once from 20 sockets: 20 answers, one question upstream.
    Requests are coalesced per worker (as in forward mode, test_forward.test_coalescing): one
    worker here, so that the count is exact."""
    def one_worker(cfg):
        cfg['server']['workers'] = 1
    with tree(t) as tr, resolver(t, tr, one_worker) as d:
        key = ('pool.test.', 'A')
        socks, ids = [], {}
        try:
            for _ in range(20):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(('127.0.0.1', 0))
                socks.append(s)
            wires = []
            for s in socks:
                q = dns.message.make_query(key[0], key[1], use_edns=0, payload=1232)
                ids[s] = q.id
                wires.append((s, q.to_wire()))
            for s, w in wires:
                s.sendto(w, ('127.0.0.1', d.port))
            got = {}
            deadline = time.monotonic() + TIMEOUT
            while len(got) < len(socks) and time.monotonic() < deadline:
                r, _, _ = select.select([s for s in socks if s not in got], [], [],
                                        max(0.0, deadline - time.monotonic()))
                for s in r:
                    m = dns.message.from_wire(s.recv(65535))
                    if m.id == ids[s]:
                        got[s] = m
            eq(len(got), 20, 'answers to 20 simultaneous queries')
            problems = [x for x in (mismatch(key, m, EXPECT[key]) for m in got.values()) if x]
            check(not problems, 'wrong answers:\n' + '\n'.join(problems))
        finally:
            for s in socks:
                s.close()
        seen = [x for x in tr.questions(TLD_TEST)
                if x[1].lower() == 'pool.test.' and x[2] == 'A']
        eq(len(seen), 1, 'pool.test A questions at the test. server (%r)' % seen)


def test_cache(t):
    """A second identical query is answered from the cache: no new question upstream. One
    worker: the cache is shared, but which worker answers a client decides nothing here."""
    def one_worker(cfg):
        cfg['server']['workers'] = 1
    with tree(t) as tr, resolver(t, tr, one_worker) as d:
        key = ('cached.test.', 'A')
        expect_answer(ask(d, key), key)
        before = tr.questions(TLD_TEST)
        check(any(n.lower() == 'cached.test.' for _, n, _ in before),
              'the test. server was not asked for cached.test.: %r' % before)
        r = expect_answer(ask(d, key), key)
        eq(tr.questions(TLD_TEST)[len(before):], [], 'questions upstream for the second query')
        check(r.ttl('cached.test.', 'A') <= 3600, 'TTL above the zone\'s')
        # the end of a CNAME chain is cached under its own name too: another CNAME to it, and
        # a query for it, do not ask it again
        r = ask(d, ('cn1.test.', 'A'))
        eq(r.values('target.test.', 'A'), ['192.0.2.94'], 'cn1.test. A (through the CNAME)')
        mark = len(tr.questions(TLD_TEST))
        r = ask(d, ('cn2.test.', 'A'))
        eq(r.values('cn2.test.', 'CNAME'), ['target.test.'], 'cn2.test. CNAME')
        eq(r.values('target.test.', 'A'), ['192.0.2.94'], 'cn2.test. A (through the CNAME)')
        r = ask(d, ('target.test.', 'A'))
        eq(r.values('target.test.', 'A'), ['192.0.2.94'], 'target.test. A')
        asked_again = [q for q in tr.questions(TLD_TEST)[mark:] if q[1].lower() == 'target.test.']
        eq(asked_again, [], 'questions for target.test. after cn1.test. resolved it')


def blocking(t):
    """A domains list (category adult) with cdn.example.test and blocked.test."""
    path = t.path('adult.txt')
    with open(path, 'w') as f:
        f.write('cdn.example.test\nblocked.test\n')

    def extra(cfg):
        cfg['sinkhole'] = {'ipv4': SINK4, 'ipv6': 'fd00:10::10', 'ttl': 60}
        cfg['lists'] = [{'name': 'adult', 'category': 'adult', 'format': 'domains',
                         'file': path}]
    return extra


def test_policy_cname_chain(t):
    """www.example.test's chain reaches cdn.example.test (listed) while iterating: the
    sinkhole, EDE 15, as in forwarding mode (test_blocklists.test_cname_to_blocked)."""
    with tree(t) as tr, resolver(t, tr, blocking(t)) as d:
        for attempt in ('iterating', 'cache'):
            r = udp(d.port, 'www.example.test', 'A', timeout=TIMEOUT)
            r.expect_rcode('NOERROR').expect_values('www.example.test.', 'A', [SINK4])
            r.expect_ede(EDE_BLOCKED)
            expect_ra_no_aa(r)
            texts = ' '.join(x or '' for _, x in r.ede)
            r.expect('CNAME' in texts, '%s: EDE text %r does not mention the CNAME'
                     % (attempt, texts))
        # an unlisted name still resolves
        key = ('host.example.test.', 'A')
        expect_answer(ask(d, key), key)


def test_policy_listed_name_not_resolved(t):
    """A listed name is blocked before any resolution: the test. server hears nothing of it."""
    with tree(t) as tr, resolver(t, tr, blocking(t)) as d:
        r = udp(d.port, 'www.blocked.test', 'A', timeout=TIMEOUT)
        r.expect_rcode('NOERROR').expect_values('www.blocked.test.', 'A', [SINK4])
        r.expect_ede(EDE_BLOCKED)
        expect_ra_no_aa(r)
        eq(r.count('answer'), 1, 'records in the sinkhole answer')
        # something else from test., so that the test. server was surely reachable
        key = ('cached.test.', 'A')
        expect_answer(ask(d, key), key)
        eq(asked(tr, TLD_TEST, 'blocked.test.'), [], 'questions about blocked.test.')


if __name__ == '__main__':
    run(globals())
