# SPDX-License-Identifier: GPL-3.0-or-later
"""EDNS sizes and truncation, complete answers over TCP, TCP pipelining and the idle timeout."""

import select
import time

from harness import (NoAnswer, Reply, TestFailure, between, check, eq, frame, make_query, run,
                     tcp, tcp_connect, tcp_read_frame, udp)

BIG_TXT = sorted('"big-%02d-%s"' % (i, 'x' * 93) for i in range(20))
MID_TXT = sorted('"mid-%02d-%s"' % (i, 'y' * 93) for i in range(6))
MANY_A = sorted('198.18.0.%d' % (i + 1) for i in range(100))


def _expect_truncated(r, limit, what):
    r.expect_rcode('NOERROR')
    r.expect(r.tc, '%s: TC not set on a %d-byte answer' % (what, len(r.wire)))
    r.expect(len(r.wire) <= limit, '%s: UDP answer of %d bytes > %d' % (what, len(r.wire), limit))
    r.expect(not r.msg.answer and not r.msg.authority and not r.msg.additional,
             '%s: a truncated answer must carry the question only' % what)


def test_truncation(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        # EDNS 1232: TC, at most 1232 bytes, and the daemon advertises 1232
        r = udp(d.port, 'big.example.test', 'TXT', payload=1232)
        _expect_truncated(r, 1232, 'big TXT, EDNS 1232')
        eq(r.payload, 1232, 'advertised EDNS UDP size')
        # no EDNS: 512 bytes at most, no OPT
        r = udp(d.port, 'big.example.test', 'TXT', edns=False)
        _expect_truncated(r, 512, 'big TXT, no EDNS')
        r.expect(not r.has_edns, 'OPT in the answer to a query without EDNS')
        # the client's 4096 does not lift the daemon's 1232 limit
        r = udp(d.port, 'big.example.test', 'TXT', payload=4096)
        _expect_truncated(r, 1232, 'big TXT, EDNS 4096')
        r = udp(d.port, 'manya.example.test', 'A', payload=4096)
        _expect_truncated(r, 1232, '100 A records, EDNS 4096')

        # the full answers over TCP (cached or not, same content)
        for _ in range(2):
            r = tcp(d.port, 'big.example.test', 'TXT').expect_rcode('NOERROR')
            r.expect(not r.tc, 'TC set over TCP')
            eq(len(r.rrset('big.example.test.', 'TXT')), 20, 'TXT records of big over TCP')
            r.expect_values('big.example.test.', 'TXT', BIG_TXT)
        r = tcp(d.port, 'manya.example.test', 'A', edns=False).expect_rcode('NOERROR')
        r.expect_values('manya.example.test.', 'A', MANY_A)

        # a ~750-byte answer: truncated without EDNS or with a 600-byte buffer, whole with 1232
        r = udp(d.port, 'mid.example.test', 'TXT', edns=False)
        _expect_truncated(r, 512, 'mid TXT, no EDNS')
        r = udp(d.port, 'mid.example.test', 'TXT', payload=600)
        _expect_truncated(r, 600, 'mid TXT, EDNS 600')
        r = udp(d.port, 'mid.example.test', 'TXT', payload=1232).expect_rcode('NOERROR')
        r.expect(not r.tc, 'mid TXT truncated although it fits in 1232 bytes')
        r.expect(len(r.wire) <= 1232, 'answer of %d bytes' % len(r.wire))
        r.expect_values('mid.example.test.', 'TXT', MID_TXT)

        # small answers are not truncated, with or without EDNS
        r = udp(d.port, 'www.example.test', 'A', edns=False).expect_rcode('NOERROR')
        r.expect(not r.tc, 'small answer truncated')
        r.expect_values('www.example.test.', 'A', ['192.0.2.1'])


def test_tcp_pipelining(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        udp(d.port, 'www.example.test', 'A').expect_rcode('NOERROR')  # one cached name
        for rnd in range(2):  # first round mostly forwarded, second from the cache
            queries = {}
            for i in range(1, 31):
                q = make_query('h%d.example.test' % i, 'A', qid=1000 * (rnd + 1) + i)
                queries[q.id] = (q, ['198.51.100.%d' % i])
            q = make_query('www.example.test', 'A', qid=1000 * (rnd + 1) + 100)
            queries[q.id] = (q, ['192.0.2.1'])
            q = make_query('nx.example.test', 'A', qid=1000 * (rnd + 1) + 101)
            queries[q.id] = (q, None)
            q = make_query('big.example.test', 'TXT', qid=1000 * (rnd + 1) + 102)
            queries[q.id] = (q, BIG_TXT)

            s = tcp_connect(d.port)
            try:
                # all queries back to back, in one write
                s.sendall(b''.join(frame(q.to_wire()) for q, _ in queries.values()))
                answers = {}
                t0 = time.monotonic()
                while len(answers) < len(queries):
                    wire = tcp_read_frame(s, timeout=5.0)
                    if wire is None:
                        raise TestFailure('round %d: connection closed after %d of %d answers'
                                          % (rnd, len(answers), len(queries)))
                    r = Reply(wire, time.monotonic() - t0, 'TCP')
                    r.expect(r.msg.id in queries, 'answer with unknown ID %d' % r.msg.id)
                    r.expect(r.msg.id not in answers, 'second answer for ID %d' % r.msg.id)
                    answers[r.msg.id] = r
            finally:
                s.close()
            for qid, (q, want) in queries.items():
                r = answers[qid]
                name = q.question[0].name.to_text()
                r.expect(r.msg.question[0].name == q.question[0].name,
                         'ID %d answered with the question of another query' % qid)
                if want is None:
                    r.expect_rcode('NXDOMAIN').expect_soa_authority(max_ttl=60)
                else:
                    rdtype = 'TXT' if name.startswith('big.') else 'A'
                    r.expect_rcode('NOERROR').expect_values(name, rdtype, want)


def test_tcp_slow_reader(t):
    """A client that pipelines far more answers than it reads at once: the daemon pauses
    reading that connection (back-pressure) instead of queueing without bound, keeps serving
    others, and loses nothing while the client keeps reading, however slowly."""
    import threading
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        udp(d.port, 'big.example.test', 'TXT').expect_rcode('NOERROR')  # cache it (TC over UDP)
        tcp(d.port, 'big.example.test', 'TXT').expect_rcode('NOERROR')
        n = 5000  # ~2.3 KB each: ~11 MB, more than the kernel buffers and the unsent bound
        s = tcp_connect(d.port)
        s.settimeout(10.0)
        wire = b''.join(frame(make_query('big.example.test', 'TXT', qid=i).to_wire())
                        for i in range(n))
        # The queries go out from another thread: a real client reads while it sends.
        sender = threading.Thread(target=s.sendall, args=(wire,))
        try:
            sender.start()
            # Meanwhile other clients are served normally.
            udp(d.port, 'www.example.test', 'A').expect_values('www.example.test.', 'A',
                                                                ['192.0.2.1'])
            seen = set()
            while len(seen) < n:
                w = tcp_read_frame(s, timeout=5.0)
                if w is None:
                    raise TestFailure('connection closed after %d of %d answers' % (len(seen), n))
                r = Reply(w, 0.0, 'TCP')
                r.expect_rcode('NOERROR').expect_values('big.example.test.', 'TXT', BIG_TXT)
                seen.add(r.msg.id)
        finally:
            sender.join(10)
            s.close()
        eq(len(seen), n, 'distinct answers')
        d.expect_alive()


def _is_closed(s):
    """s is readable: True on EOF or reset, a failure if the daemon sent data."""
    try:
        data = s.recv(4096)
    except ConnectionResetError:
        return True
    if data:
        raise TestFailure('unexpected %d bytes from the daemon on an idle connection' % len(data))
    return True


def test_tcp_idle_timeout(t):
    """tcp_idle_timeout: 2s closes idle connections, used or not; busy ones stay open."""
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        t0 = time.monotonic()
        silent = tcp_connect(d.port)  # never sends anything
        used = tcp_connect(d.port)  # one query, then idle
        busy = tcp_connect(d.port)  # a query every 0.5 s
        closed = {}
        try:
            used.sendall(frame(make_query('www.example.test', 'A', qid=7).to_wire()))
            r = Reply(tcp_read_frame(used), 0, 'TCP')
            r.expect_rcode('NOERROR').expect_values('www.example.test.', 'A', ['192.0.2.1'])
            t_used = time.monotonic()

            qid = 100
            while time.monotonic() - t0 < 3.5:
                qid += 1
                busy.sendall(frame(make_query('www.example.test', 'A', qid=qid).to_wire()))
                wire = tcp_read_frame(busy)
                check(wire is not None, 'connection with a query every 0.5 s closed after %.1f s'
                      % (time.monotonic() - t0))
                eq(Reply(wire, 0, 'TCP').msg.id, qid, 'ID on the busy connection')
                # wait 0.5 s between queries, watching the idle connections close meanwhile
                pace = time.monotonic() + 0.5
                while time.monotonic() < pace:
                    idle = [c for c in (silent, used) if c not in closed]
                    if not idle:
                        time.sleep(max(0.0, pace - time.monotonic()))
                        break
                    rd, _, _ = select.select(idle, [], [], max(0.0, pace - time.monotonic()))
                    for c in rd:
                        if _is_closed(c):
                            closed[c] = time.monotonic()
            # give stragglers until 6 s
            while len(closed) < 2 and time.monotonic() - t0 < 6.0:
                idle = [c for c in (silent, used) if c not in closed]
                rd, _, _ = select.select(idle, [], [], max(0.0, t0 + 6.0 - time.monotonic()))
                for c in rd:
                    if _is_closed(c):
                        closed[c] = time.monotonic()
        finally:
            for c in (silent, used, busy):
                c.close()
        check(silent in closed, 'a connection that never sent a query was still open after 6 s')
        check(used in closed, 'an idle connection was still open 6 s after its last answer')
        between(round(closed[silent] - t0, 2), 1.5, 3.2, 'seconds until a silent connection closed')
        between(round(closed[used] - t_used, 2), 1.5, 3.2,
                'seconds from the last answer until an idle connection closed')
        try:
            tcp(d.port, 'www.example.test', 'A').expect_values('www.example.test.', 'A',
                                                              ['192.0.2.1'])
        except NoAnswer as e:
            raise TestFailure('no TCP answer after the idle connections were closed: %s' % e)


if __name__ == '__main__':
    run(globals())
