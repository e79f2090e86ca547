# SPDX-License-Identifier: GPL-3.0-or-later
"""Forwarders: failover past a dead one, `lanhmanh status` up/down, all dead -> SERVFAIL + EDE 22,
recovery when the upstream comes back."""

import re
import socket
import threading
import time

import dns.message
import dns.rrset

from harness import (EDE_NO_REACHABLE_AUTHORITY, NoAnswer, TestFailure, check, eq, kdig, run,
                     tcp, udp, wait_until)


def _h(i):
    return 'h%d.example.test' % i, ['198.51.100.%d' % i]


def _answer_h(d, i, timeout=3.0, query=udp):
    name, want = _h(i)
    r = query(d.port, name, 'A', timeout=timeout)
    return r.expect_rcode('NOERROR').expect_values(name + '.', 'A', want)


def _wait_marked_down(d, dead, first_name, timeout=3.0):
    """Keep sending fresh names (each a cache miss) until status shows dead down; fail after
    timeout seconds. Returns the parsed status."""
    names = iter(range(first_name, 100))
    state = {}

    def down():
        _answer_h(d, next(names))
        kv, ups, res = d.status()
        state.update(kv=kv, ups=ups, res=res)
        return ups.get(dead) == 'down'
    try:
        wait_until(down, timeout, 'status to show %s down' % dead, interval=0.1)
        return state['kv'], state['ups'], state['res']
    except TestFailure as e:
        why = str(e)
    state['res'].expect(False, '%s; last status: upstream %s is %r'
                        % (why, dead, state['ups'].get(dead)))


def test_failover_silent_forwarder(t):
    """First forwarder: a bound UDP socket that never answers; second: nsd."""
    dead = t.blackhole()
    with t.nsd() as nsd, t.daemon([dead, nsd.addr]) as d:
        r = _answer_h(d, 1)
        r.expect(r.elapsed < 2.0, 'failover took %.2f s' % r.elapsed)
        for i in range(2, 8):  # distinct names: each one is a cache miss
            _answer_h(d, i)
        # dead forwarders are skipped: fresh names no longer wait for its timeout (300 ms)
        times = [_answer_h(d, i).elapsed for i in range(10, 15)]
        check(sorted(times)[3] < 0.25, 'answers still wait for the dead forwarder once it is '
              'marked down: %s s' % ', '.join('%.3f' % x for x in times))
        _answer_h(d, 20, query=tcp)  # TCP clients too

        kv, ups, res = d.status()
        for key in ('uptime', 'queries', 'cache'):
            res.expect(key in kv, 'status has no "%s:" line' % key)
        m = re.match(r'\d+', kv['queries'])
        res.expect(m and int(m.group()) >= 13, 'queries: %r, want at least 13' % kv['queries'])
        res.expect(len(ups) == 2, 'one "upstream" line per forwarder, got %r' % ups)
        res.expect(ups.get(nsd.addr) == 'up', 'upstream %s: want up, got %r'
                   % (nsd.addr, ups.get(nsd.addr)))
        # the one that never answers is reported down (within 3 s of steady traffic)
        kv, ups, res = _wait_marked_down(d, dead, 30)
        res.expect(ups.get(nsd.addr) == 'up', 'upstream %s: want up' % nsd.addr)


def test_failover_closed_port(t):
    """First forwarder: a port nobody listens on (ICMP port unreachable)."""
    dead = t.unused()
    with t.nsd() as nsd, t.daemon([dead, nsd.addr]) as d:
        for i in range(1, 6):
            r = _answer_h(d, i)
            r.expect(r.elapsed < 2.0, 'failover took %.2f s' % r.elapsed)
        udp(d.port, 'a.example.test', 'A').expect_rcode('NOERROR') \
            .expect_values('c.example.test.', 'A', ['192.0.2.3'])
        udp(d.port, 'nx.example.test', 'A').expect_rcode('NXDOMAIN').expect_soa_authority(60)
        kv, ups, res = _wait_marked_down(d, dead, 30)
        res.expect(ups.get(nsd.addr) == 'up', 'upstream %s: want up' % nsd.addr)


def test_all_forwarders_dead(t):
    silent = t.blackhole()
    closed = t.unused()
    with t.daemon([silent, closed]) as d:
        for i in range(1, 4):
            name, _ = _h(i)
            try:
                r = udp(d.port, name, 'A', timeout=5.0)
            except NoAnswer:
                raise TestFailure('no answer at all when every forwarder is dead (want SERVFAIL '
                                  'within 5 s)')
            r.expect_rcode('SERVFAIL').expect_ede(EDE_NO_REACHABLE_AUTHORITY)
            r.expect(not r.msg.answer, 'SERVFAIL with an answer')
            r.expect(r.elapsed < 3.0, 'SERVFAIL took %.2f s (upstream_timeout is 300 ms)'
                     % r.elapsed)
        r = tcp(d.port, 'www.example.test', 'A', timeout=5.0)
        r.expect_rcode('SERVFAIL').expect_ede(EDE_NO_REACHABLE_AUTHORITY)
        # without EDNS: SERVFAIL and no OPT at all
        r = udp(d.port, 'mail.example.test', 'A', edns=False, timeout=5.0).expect_rcode('SERVFAIL')
        r.expect(not r.has_edns, 'OPT in the answer to a query without EDNS')
        k = kdig(d.port, 'txt.example.test', 'TXT', '+edns', timeout=5)
        k.expect(k.status == 'SERVFAIL' and EDE_NO_REACHABLE_AUTHORITY in k.ede,
                 'kdig: want SERVFAIL with EDE 22')
        kv, ups, res = d.status()
        res.expect(ups.get(silent) == 'down' and ups.get(closed) == 'down',
                   'upstreams: got %r, want both down' % ups)
        d.expect_alive()


def test_forwarder_comes_back(t):
    """The only forwarder stops, then comes back: answers resume without a restart."""
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        _answer_h(d, 1)
        nsd.stop()
        for i in (2, 5, 6, 7):
            r = udp(d.port, 'h%d.example.test' % i, 'A', timeout=5.0)
            r.expect_rcode('SERVFAIL').expect_ede(EDE_NO_REACHABLE_AUTHORITY)
        kv, ups, res = d.status()
        res.expect(ups.get(nsd.addr) == 'down', 'upstreams: got %r, want %s down' % (ups, nsd.addr))
        nsd.start()
        t0 = time.monotonic()

        def answered():
            try:
                r = udp(d.port, 'h3.example.test', 'A', timeout=2.0)
            except NoAnswer:
                return None
            return r if r.rcode == 'NOERROR' else None
        r = wait_until(answered, 10.0, 'answers once the forwarder is back', interval=0.2)
        r.expect_values('h3.example.test.', 'A', ['198.51.100.3'])
        print('   answers resumed %.1f s after the forwarder came back' % (time.monotonic() - t0))
        _answer_h(d, 4)
        kv, ups, res = d.status()
        eq(ups.get(nsd.addr), 'up', 'status of the forwarder that came back')


def _slow_upstream(t, delay):
    """A scripted forwarder that answers every A query with 192.0.2.99 after @delay seconds and
    counts the queries per name. nsd cannot be made slow, hence this small server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(('127.0.0.1', 0))
    seen = {}
    lock = threading.Lock()
    stop = threading.Event()

    def reply(wire, peer):
        q = dns.message.from_wire(wire)
        r = dns.message.make_response(q)
        name = q.question[0].name
        r.answer.append(dns.rrset.from_text(name, 60, 'IN', 'A', '192.0.2.99'))
        try:
            sock.sendto(r.to_wire(), peer)
        except OSError:
            pass

    def serve():
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            name = dns.message.from_wire(wire).question[0].name.to_text().lower()
            with lock:
                seen[name] = seen.get(name, 0) + 1
            threading.Timer(delay, reply, (wire, peer)).start()

    th = threading.Thread(target=serve, daemon=True)
    th.start()

    def close():
        stop.set()
        th.join(2)
        sock.close()
    t.add_cleanup(close)
    return '127.0.0.1:%d' % sock.getsockname()[1], seen


def test_coalescing(t):
    """Clients asking the same uncached question at once share one upstream query per worker."""
    addr, seen = _slow_upstream(t, 0.15)
    with t.daemon([addr]) as d:
        results = []

        def ask():
            results.append(udp(d.port, 'same.example.test', 'A', timeout=3.0))
        threads = [threading.Thread(target=ask) for _ in range(12)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        eq(len(results), 12, 'answers received')
        for r in results:
            r.expect_rcode('NOERROR').expect_values('same.example.test.', 'A', ['192.0.2.99'])
        n = seen.get('same.example.test.', 0)
        # Two workers: each may have sent the question once.
        check(1 <= n <= 2, 'the forwarder saw %d queries for 12 identical client queries, '
              'want 1 per worker (2 workers)' % n)


if __name__ == '__main__':
    run(globals())
