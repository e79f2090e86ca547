# SPDX-License-Identifier: GPL-3.0-or-later
"""The answer cache: TTL countdown, answering with the upstream gone, negative caching,
serve-stale (TTL 30 + EDE 3) and `lanhmanh flush`."""

import re
import time

from harness import (EDE_NO_REACHABLE_AUTHORITY, EDE_STALE_ANSWER, between, check, eq, kdig, run,
                     tcp, udp)


def test_ttl_countdown(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        r1 = udp(d.port, 'countdown.example.test', 'A').expect_rcode('NOERROR')
        r1.expect_values('countdown.example.test.', 'A', ['192.0.2.60'])
        ttl1 = r1.ttl('countdown.example.test.', 'A')
        between(ttl1, 298, 300, 'TTL of a fresh answer (zone TTL 300)')
        t1 = time.monotonic()
        time.sleep(2.2)  # let the TTL count down
        r2 = udp(d.port, 'countdown.example.test', 'A').expect_rcode('NOERROR')
        elapsed = time.monotonic() - t1
        r2.expect_values('countdown.example.test.', 'A', ['192.0.2.60'])
        ttl2 = r2.ttl('countdown.example.test.', 'A')
        between(ttl1 - ttl2, 1, 3, 'TTL decrease after %.1f s (%s -> %s)' % (elapsed, ttl1, ttl2))
        eq(len(r2.msg.answer), 1, 'RRsets in the cached answer')
        # TCP sees the same entry
        r3 = tcp(d.port, 'countdown.example.test', 'A').expect_rcode('NOERROR')
        between(r3.ttl('countdown.example.test.', 'A'), ttl2 - 1, ttl2, 'TTL over TCP')
        # a CNAME chain counts down as a whole: every record carries a lowered TTL
        ra = udp(d.port, 'a.example.test', 'A').expect_rcode('NOERROR')
        time.sleep(1.1)
        rb = udp(d.port, 'a.example.test', 'A').expect_rcode('NOERROR')
        for name, rdtype in (('a.example.test.', 'CNAME'), ('b.example.test.', 'CNAME'),
                             ('c.example.test.', 'A')):
            between(ra.ttl(name, rdtype) - rb.ttl(name, rdtype), 1, 2,
                    'TTL decrease of %s %s in a cached chain' % (name, rdtype))


def test_cache_survives_upstream_stop(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        before = {}
        for name, rdtype in (('www.example.test', 'A'), ('www.example.test', 'AAAA'),
                             ('example.test', 'MX'), ('a.example.test', 'A'),
                             ('big.example.test', 'TXT')):
            q = tcp if rdtype == 'TXT' else udp
            r = q(d.port, name, rdtype).expect_rcode('NOERROR')
            before[(name, rdtype)] = r
        nsd.stop()
        for (name, rdtype), r0 in before.items():
            q = tcp if rdtype == 'TXT' else udp
            r = q(d.port, name, rdtype).expect_rcode('NOERROR')
            got = sorted(rd.to_text() for rrs in r.msg.answer for rd in rrs)
            want = sorted(rd.to_text() for rrs in r0.msg.answer for rd in rrs)
            r.expect(got == want, '%s %s from the cache: got %r, want %r' % (name, rdtype, got, want))
            r.expect(not r.ede_codes, 'a fresh cached answer carries EDE %r' % r.ede)
            for rrs in r.msg.answer:
                r.expect(rrs.ttl <= r0.rrset(rrs.name.to_text(), rrs.rdtype).ttl,
                         'TTL went up for %s' % rrs.name)
        k = kdig(d.port, 'www.example.test', 'AAAA')
        k.expect(k.status == 'NOERROR' and k.values('www.example.test.', 'AAAA') == ['2001:db8::1'],
                 'kdig from the cache')
        # and the upstream is really gone: an uncached name fails
        udp(d.port, 'h1.example.test', 'A', timeout=5.0).expect_rcode('SERVFAIL') \
            .expect_ede(EDE_NO_REACHABLE_AUTHORITY)


def test_negative_cache(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        nx1 = udp(d.port, 'nx.example.test', 'A').expect_rcode('NXDOMAIN').expect_soa_authority(60)
        nd1 = udp(d.port, 'nodata.example.test', 'A').expect_rcode('NOERROR') \
            .expect_soa_authority(60)
        nd1.expect(not nd1.msg.answer, 'NODATA with answers')
        nsd.stop()
        time.sleep(1.1)  # so that a countdown shows
        nx2 = udp(d.port, 'nx.example.test', 'A').expect_rcode('NXDOMAIN').expect_soa_authority(60)
        nx2.expect(not nx2.msg.answer, 'cached NXDOMAIN with answers')
        nd2 = udp(d.port, 'nodata.example.test', 'A').expect_rcode('NOERROR') \
            .expect_soa_authority(60)
        nd2.expect(not nd2.msg.answer, 'cached NODATA with answers')
        for r1, r2, what in ((nx1, nx2, 'NXDOMAIN'), (nd1, nd2, 'NODATA')):
            t1 = r1.ttl('example.test.', 'SOA', 'authority')
            t2 = r2.ttl('example.test.', 'SOA', 'authority')
            between(t1 - t2, 1, 2, 'SOA TTL countdown in a cached %s (%s -> %s)' % (what, t1, t2))
            r2.expect(not r2.ede_codes, 'cached %s carries EDE %r' % (what, r2.ede))
        # over TCP as well
        tcp(d.port, 'nx.example.test', 'A').expect_rcode('NXDOMAIN').expect_soa_authority(60)
        # another type at the NODATA name was never asked: not in the cache
        udp(d.port, 'nodata.example.test', 'AAAA', timeout=5.0).expect_rcode('SERVFAIL') \
            .expect_ede(EDE_NO_REACHABLE_AUTHORITY)


def test_serve_stale(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        r = udp(d.port, 'stale.example.test', 'A').expect_rcode('NOERROR')
        t_cached = time.monotonic()
        r.expect_values('stale.example.test.', 'A', ['192.0.2.50'])
        between(r.ttl('stale.example.test.', 'A'), 0, 1, 'TTL of the 1-s record')
        udp(d.port, 'www.example.test', 'A').expect_rcode('NOERROR')  # stays fresh (TTL 300)
        nsd.stop()
        time.sleep(max(0.0, t_cached + 2.1 - time.monotonic()))  # let the TTL 1 expire
        for q in (udp, tcp):
            r = q(d.port, 'stale.example.test', 'A', timeout=5.0)
            r.expect_rcode('NOERROR').expect_values('stale.example.test.', 'A', ['192.0.2.50'])
            eq(r.ttl('stale.example.test.', 'A'), 30, 'TTL of a stale answer')
            r.expect_ede(EDE_STALE_ANSWER)
            r.expect(r.elapsed < 3.0, 'stale answer took %.2f s' % r.elapsed)
        r = udp(d.port, 'www.example.test', 'A').expect_rcode('NOERROR')
        r.expect(EDE_STALE_ANSWER not in r.ede_codes, 'fresh answer marked stale: %r' % r.ede)
        between(r.ttl('www.example.test.', 'A'), 290, 300, 'TTL of a fresh cached answer')


def test_flush(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        udp(d.port, 'flushme.example.test', 'A').expect_values('flushme.example.test.', 'A',
                                                              ['192.0.2.70'])
        udp(d.port, 'flushme.example.test', 'TXT').expect_values('flushme.example.test.', 'TXT',
                                                                ['"flush me"'])
        udp(d.port, 'keepme.example.test', 'A').expect_values('keepme.example.test.', 'A',
                                                             ['192.0.2.71'])
        udp(d.port, 'www.example.test', 'A').expect_rcode('NOERROR')
        nsd.stop()

        res = d.ctl('flush', 'flushme.example.test').expect_ok()
        m = re.search(r'flushed (\d+) entr', res.stdout)
        res.expect(m, 'no "flushed N entries" in the output')
        res.expect(int(m.group(1)) >= 1, 'flushed %s entries, want at least 1' % m.group(1))
        # gone, and nothing stale left to serve: SERVFAIL + EDE 22
        for rdtype in ('A', 'TXT'):
            r = udp(d.port, 'flushme.example.test', rdtype, timeout=5.0)
            r.expect_rcode('SERVFAIL').expect_ede(EDE_NO_REACHABLE_AUTHORITY)
            r.expect(EDE_STALE_ANSWER not in r.ede_codes, 'stale answer after flush')
        # other names untouched
        udp(d.port, 'keepme.example.test', 'A').expect_rcode('NOERROR') \
            .expect_values('keepme.example.test.', 'A', ['192.0.2.71'])

        # flush everything
        res = d.ctl('flush').expect_ok()
        m = re.search(r'flushed (\d+) entr', res.stdout)
        res.expect(m and int(m.group(1)) >= 2, 'flush all: want at least 2 entries flushed')
        res = d.ctl('flush').expect_ok()
        m = re.search(r'flushed (\d+) entr', res.stdout)
        res.expect(m and int(m.group(1)) == 0, 'flush of an empty cache: want 0 entries')
        for name in ('keepme.example.test', 'www.example.test'):
            udp(d.port, name, 'A', timeout=5.0).expect_rcode('SERVFAIL') \
                .expect_ede(EDE_NO_REACHABLE_AUTHORITY)
        check(d.alive(), 'daemon died')


if __name__ == '__main__':
    run(globals())
