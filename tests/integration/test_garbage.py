# SPDX-License-Identifier: GPL-3.0-or-later
"""Malformed packets over UDP and TCP: FORMERR with the ID echoed when a header could be parsed,
nothing otherwise; the daemon never crashes and keeps answering correctly."""

import random
import select
import socket
import struct
import time

from harness import (Reply, TestFailure, check, frame, make_query, parse_header, run, tcp,
                     tcp_connect, tcp_read_frame, udp, wire_header, wire_name, wire_opt,
                     wire_option, wire_question)

FORMERR = 1
WWW = wire_question('www.example.test')
TYPE_A_IN = struct.pack('!HH', 1, 1)


def malformed_messages():
    """[(what, builder(qid) -> bytes, expect)], expect 'formerr' or 'drop'."""
    h = wire_header
    return [
        ('empty datagram', lambda i: b'', 'drop'),
        ('5-byte header', lambda i: h(i)[:5], 'drop'),
        ('11-byte header', lambda i: h(i)[:11], 'drop'),
        ('header only, QDCOUNT 1', lambda i: h(i), 'formerr'),
        ('QDCOUNT 0', lambda i: h(i, qd=0), 'formerr'),
        ('QDCOUNT 0 with an OPT record', lambda i: h(i, qd=0, ar=1) + wire_opt(), 'formerr'),
        ('QDCOUNT 2', lambda i: h(i, qd=2) + WWW + wire_question('mail.example.test'), 'formerr'),
        ('QDCOUNT 2, one question present', lambda i: h(i, qd=2) + WWW, 'formerr'),
        ('label type 0x40 (extended label)',
         lambda i: h(i) + b'\x40' + b'a' * 64 + b'\x00' + TYPE_A_IN, 'formerr'),
        ('label type 0x80 (reserved)', lambda i: h(i) + b'\x80www\x00' + TYPE_A_IN, 'formerr'),
        ('label running past the end', lambda i: h(i) + b'\x3fwww', 'formerr'),
        ('name without its root label', lambda i: h(i) + b'\x03www\x07example', 'formerr'),
        ('compression pointer to itself', lambda i: h(i) + b'\xc0\x0c' + TYPE_A_IN, 'formerr'),
        ('compression loop through a label', lambda i: h(i) + b'\x01a\xc0\x0c' + TYPE_A_IN,
         'formerr'),
        ('two compression pointers pointing at each other',
         lambda i: h(i) + b'\xc0\x0e\xc0\x0c' + TYPE_A_IN, 'formerr'),
        ('compression pointer beyond the packet', lambda i: h(i) + b'\xc3\xff' + TYPE_A_IN,
         'formerr'),
        ('name longer than 255 bytes',
         lambda i: h(i) + (b'\x3f' + b'x' * 63) * 5 + b'\x00' + TYPE_A_IN, 'formerr'),
        ('question without type and class',
         lambda i: h(i) + wire_name('www.example.test'), 'formerr'),
        ('question without class', lambda i: h(i) + wire_name('www.example.test') + b'\x00\x01',
         'formerr'),
        ('ANCOUNT 3, no records', lambda i: h(i, an=3) + WWW, 'formerr'),
        ('NSCOUNT 1, record cut short', lambda i: h(i, ns=1) + WWW + b'\x00\x00\x01', 'formerr'),
        ('ARCOUNT 1, no records', lambda i: h(i, ar=1) + WWW, 'formerr'),
        ('ARCOUNT 2, one OPT', lambda i: h(i, ar=2) + WWW + wire_opt(), 'formerr'),
        ('EDNS option length 65000',
         lambda i: h(i, ar=1) + WWW + wire_opt(options=wire_option(10, b'\x01' * 8, length=65000)),
         'formerr'),
        ('EDNS option length 0xffff, OPT RDLENGTH 0xffff',
         lambda i: h(i, ar=1) + WWW + wire_opt(options=wire_option(12, b'', length=0xffff),
                                                rdlen=0xffff), 'formerr'),
        ('EDNS option header cut short',
         lambda i: h(i, ar=1) + WWW + wire_opt(options=b'\x00\x0a\x00'), 'formerr'),
        ('OPT RDLENGTH beyond the packet', lambda i: h(i, ar=1) + WWW + wire_opt(rdlen=5000),
         'formerr'),
        ('two OPT records', lambda i: h(i, ar=2) + WWW + wire_opt() + wire_opt(), 'formerr'),
        ('a response (QR=1) is never answered',
         lambda i: h(i, flags=0x8180) + WWW, 'drop'),
    ]


def _check_formerr(wire, qid, what):
    hd = parse_header(wire)
    check(hd is not None, '%s: %d-byte reply' % (what, len(wire)))
    check(hd['id'] == qid, '%s: FORMERR with ID %d, want %d (echoed)' % (what, hd['id'], qid))
    check(hd['qr'], '%s: reply without QR' % what)
    check(hd['rcode'] == FORMERR, '%s: rcode %d, want FORMERR (1)' % (what, hd['rcode']))
    check(hd['opcode'] == 0, '%s: opcode %d in the reply' % (what, hd['opcode']))
    check(len(wire) <= 512, '%s: %d-byte FORMERR over UDP' % (what, len(wire)))


def _probe(qid):
    return make_query('www.example.test', 'A', qid=qid)


def _check_probe(wire, what):
    r = Reply(wire, 0, 'probe')
    r.expect_rcode('NOERROR').expect_values('www.example.test.', 'A', ['192.0.2.1'])
    return r


def _udp_exchange(d, packets, probe_id, expect_replies=0, linger=0.05):
    """Send packets then a probe from one socket; returns (other replies, probe reply or None).

    Waits for the probe's answer, then for expect_replies other replies (at most 1 s more),
    then linger seconds for anything unexpected."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(('127.0.0.1', 0))
        for p in packets:
            s.sendto(p, ('127.0.0.1', d.port))
        s.sendto(_probe(probe_id).to_wire(), ('127.0.0.1', d.port))
        others, probe = [], None
        deadline = time.monotonic() + 3.0
        while True:
            now = time.monotonic()
            if probe is not None and len(others) >= expect_replies:
                deadline = min(deadline, now + linger)
            if now >= deadline:
                break
            r, _, _ = select.select([s], [], [], deadline - now)
            if not r:
                continue
            data = s.recv(65535)
            if probe is None and len(data) >= 2 and struct.unpack('!H', data[:2])[0] == probe_id:
                probe = data
                deadline = min(deadline, time.monotonic() + 1.0)
            else:
                others.append(data)
        return others, probe
    finally:
        s.close()


def test_udp_malformed(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        udp(d.port, 'www.example.test', 'A').expect_rcode('NOERROR')  # the probe is cached
        for n, (what, build, expect) in enumerate(malformed_messages()):
            qid = 0x5100 + n
            pkt = build(qid)
            others, probe = _udp_exchange(d, [pkt], 0x7000 + n,
                                          expect_replies=1 if expect == 'formerr' else 0)
            d.expect_alive('after "%s"' % what)
            check(probe is not None, 'UDP "%s": no answer to a valid query sent after it' % what)
            _check_probe(probe, what)
            if expect == 'formerr':
                check(len(others) == 1, 'UDP "%s": %d replies, want one FORMERR'
                      % (what, len(others)))
                _check_formerr(others[0], qid, 'UDP "%s"' % what)
            else:
                check(not others, 'UDP "%s": want no reply, got %r' % (what, others))


def _ids_of(packets, qr=False):
    return {struct.unpack('!H', p[:2])[0] for p in packets
            if len(p) >= 12 and bool(p[2] & 0x80) == qr}


def test_udp_random(t):
    rnd = random.Random(20240101)  # reproducible
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        udp(d.port, 'www.example.test', 'A').expect_rcode('NOERROR')
        # random bytes
        junk = [bytes(rnd.getrandbits(8) for _ in range(rnd.choice([0, 1, 7, 12, 13, 30, 100, 512,
                                                                      rnd.randrange(700)])))
                for _ in range(300)]
        # a valid query with a few bytes or bits changed
        base = make_query('www.example.test', 'A', payload=1232).to_wire()
        for _ in range(300):
            b = bytearray(base)
            for _ in range(rnd.randrange(1, 4)):
                pos = rnd.randrange(len(b))
                b[pos] = rnd.getrandbits(8) if rnd.random() < 0.5 else b[pos] ^ (1 << rnd.randrange(8))
            if rnd.random() < 0.2:
                b = b[:rnd.randrange(len(b))]
            junk.append(bytes(b))
        for chunk in range(0, len(junk), 100):
            part = junk[chunk:chunk + 100]
            others, probe = _udp_exchange(d, part, 0xF000 + chunk, linger=0.2)
            d.expect_alive('after random packets %d-%d' % (chunk, chunk + len(part)))
            check(probe is not None, 'no answer to a valid query after random packets %d-%d'
                  % (chunk, chunk + len(part)))
            _check_probe(probe, 'random')
            query_ids = _ids_of(part)
            for w in others:
                hd = parse_header(w)
                check(hd is not None, 'a %d-byte reply to random packets' % len(w))
                check(hd['qr'], 'reply without QR: %r' % w[:12])
                check(hd['id'] in query_ids, 'reply with ID %d which no query had (queries with '
                      'QR=1 must not be answered)' % hd['id'])


# ---- TCP ------------------------------------------------------------------------------------


def _read_frames_until(s, probe_id, timeout=3.0):
    """Frames read until the probe's answer, EOF (returns eof=True) or timeout (fails)."""
    frames = []
    while True:
        try:
            w = tcp_read_frame(s, timeout)
        except ConnectionResetError:
            return frames, None, True
        if w is None:
            return frames, None, True
        if len(w) >= 2 and struct.unpack('!H', w[:2])[0] == probe_id:
            return frames, w, False
        frames.append(w)


def test_tcp_malformed_messages(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        udp(d.port, 'www.example.test', 'A').expect_rcode('NOERROR')
        for n, (what, build, expect) in enumerate(malformed_messages()):
            if what == 'empty datagram':
                continue  # the zero-length frame has its own test below
            qid = 0x6100 + n
            s = tcp_connect(d.port)
            try:
                s.sendall(frame(build(qid)) + frame(_probe(0x7100 + n).to_wire()))
                frames, probe, eof = _read_frames_until(s, 0x7100 + n)
            except TestFailure as e:
                raise TestFailure('TCP "%s": %s' % (what, e))
            finally:
                s.close()
            d.expect_alive('after TCP "%s"' % what)
            if expect == 'formerr':
                check(len(frames) == 1, 'TCP "%s": %d replies before %s, want one FORMERR'
                      % (what, len(frames), 'EOF' if eof else 'the next answer'))
                hd = parse_header(frames[0])
                check(hd and hd['id'] == qid and hd['qr'] and hd['rcode'] == FORMERR,
                      'TCP "%s": want FORMERR with ID %d, got %r' % (what, qid, hd))
            else:
                check(not frames, 'TCP "%s": want no reply, got %r' % (what, frames))
            if probe is not None:  # closing the connection after garbage is fine, too
                _check_probe(probe, what)
            # the daemon still serves new connections
            tcp(d.port, 'www.example.test', 'A').expect_values('www.example.test.', 'A',
                                                              ['192.0.2.1'])


def _expect_eof_or_probe(s, probe_id, what):
    frames, probe, eof = _read_frames_until(s, probe_id, timeout=5.0)
    check(not frames, '%s: unexpected replies %r' % (what, frames))
    if probe is not None:
        _check_probe(probe, what)


def test_tcp_broken_streams(t):
    rnd = random.Random(7)
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        udp(d.port, 'www.example.test', 'A').expect_rcode('NOERROR')

        # a zero-length frame, then a real query: the connection is closed or the query answered
        s = tcp_connect(d.port)
        try:
            s.sendall(b'\x00\x00' + frame(_probe(0x7201).to_wire()))
            _expect_eof_or_probe(s, 0x7201, 'zero-length frame')
        finally:
            s.close()

        # a frame announcing 500 bytes, 20 sent, then our side closes: no reply, no crash
        s = tcp_connect(d.port)
        try:
            s.sendall(struct.pack('!H', 500) + wire_header(0x7202) + WWW[:8])
            s.shutdown(socket.SHUT_WR)
            frames, probe, eof = _read_frames_until(s, 0xFFFF, timeout=5.0)
            check(eof and not frames, 'short frame then close: want EOF, got %r' % frames)
        finally:
            s.close()

        # the same, but aborted with RST
        s = tcp_connect(d.port)
        s.sendall(struct.pack('!H', 500) + wire_header(0x7203) + WWW[:8])
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()

        # half a length prefix, then close
        s = tcp_connect(d.port)
        s.sendall(b'\x00')
        s.close()

        # a 65535-byte frame of zeros: header parses (ID 0, QDCOUNT 0): FORMERR
        s = tcp_connect(d.port)
        try:
            s.sendall(struct.pack('!H', 65535) + bytes(65535) + frame(_probe(0x7204).to_wire()))
            frames, probe, eof = _read_frames_until(s, 0x7204)
            check(len(frames) == 1, '65535 zero bytes: %d replies, want one FORMERR' % len(frames))
            hd = parse_header(frames[0])
            check(hd['id'] == 0 and hd['qr'] and hd['rcode'] == FORMERR,
                  '65535 zero bytes: want FORMERR with ID 0, got %r' % hd)
            if probe is not None:
                _check_probe(probe, '65535 zero bytes')
        finally:
            s.close()

        # random streams, then close
        for n in range(20):
            s = tcp_connect(d.port)
            try:
                s.sendall(bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 3000))))
            except (BrokenPipeError, ConnectionResetError):
                pass
            s.close()

        # many connections opened and dropped at once
        conns = [tcp_connect(d.port) for _ in range(50)]
        for s in conns:
            s.close()

        d.expect_alive('after the broken TCP streams')
        tcp(d.port, 'a.example.test', 'A').expect_rcode('NOERROR') \
            .expect_values('c.example.test.', 'A', ['192.0.2.3'])


def test_still_healthy_after_all(t):
    """Everything at once against one daemon, then normal service and a clean shutdown."""
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        udp(d.port, 'www.example.test', 'A').expect_rcode('NOERROR')
        packets = [build(0x5200 + n) for n, (_, build, _) in enumerate(malformed_messages())]
        _udp_exchange(d, packets * 5, 0x7300)
        for p in packets[1:]:
            s = tcp_connect(d.port)
            try:
                s.sendall(frame(p))
            finally:
                s.close()
        d.expect_alive('after the malformed packets')
        udp(d.port, 'www.example.test', 'A').expect_values('www.example.test.', 'A', ['192.0.2.1'])
        udp(d.port, 'h5.example.test', 'A').expect_values('h5.example.test.', 'A',
                                                         ['198.51.100.5'])
        tcp(d.port, 'big.example.test', 'TXT').expect_rcode('NOERROR')
        udp(d.port, 'nx.example.test', 'A').expect_rcode('NXDOMAIN').expect_soa_authority(60)
        kv, ups, res = d.status()
        res.expect(ups.get(nsd.addr) == 'up', 'upstream state %r' % ups)
        # leaving the with-block stops it: a crash or unclean exit fails the test


if __name__ == '__main__':
    run(globals())
