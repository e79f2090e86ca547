# SPDX-License-Identifier: GPL-3.0-or-later
"""Black-box test harness for lanhmanhd.

Everything runs on loopback: nsd serves tests/integration/zones/ as the upstream, lanhmanhd is
started with a YAML config rendered per test, and queries are sent with dnspython, raw sockets or
kdig; knotd is the primary in the zone transfer tests (class Knot). Each test function gets a
TestContext (its own temp dir); every process started through it is stopped by PID when the test
ends, pass or fail. On failure the temp dir is kept and the daemon's stderr, its config, the
control commands run and the nsd (and knotd) logs are printed.

Recursive mode: DnsTree builds a fake DNS hierarchy from the root down on 127.x addresses (one
nsd or scripted FakeNs per address, all on one port), see tests/integration/README.md.

Readiness is always explicit: nsd and knotd are polled with short SOA queries, lanhmanhd reports
READY=1 over the systemd notify protocol (NOTIFY_SOCKET points at an AF_UNIX datagram socket we
own), and a reload is over when RELOADING=1 has been followed by READY=1.

Binaries: LANHMANHD / LANHMANH from the environment (set by meson), or --lanhmanhd PATH /
--lanhmanh PATH on the command line, or the first build*/resolver/ of the source tree. Tools
(nsd, kdig, dnsperf, knotd, knotc) come from NSD / KDIG / DNSPERF / KNOTD / KNOTC or PATH plus
/usr/sbin.

Run one file by hand:  /usr/bin/python3 tests/integration/test_basic.py [-k PATTERN] [--keep]
"""

import glob
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import sys
import tempfile
import time
import traceback

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
SRC_ROOT = os.path.dirname(os.path.dirname(HERE))
ZONES_DIR = os.path.join(HERE, 'zones')
ZONE = 'example.test.'

SKIP_EXIT = 77  # meson: test skipped

# EDNS Extended DNS Error codes used by the tests (RFC 8914).
EDE_STALE_ANSWER = 3
EDE_PROHIBITED = 18
EDE_NO_REACHABLE_AUTHORITY = 22

_opts = {'lanhmanhd': None, 'lanhmanh': None, 'keep': False, 'patterns': []}


class TestFailure(AssertionError):
    """A check on the daemon's behaviour failed."""


class HarnessError(RuntimeError):
    """The test set-up itself failed (a process did not start, a tool is missing)."""


class NoAnswer(TestFailure):
    """No response arrived before the timeout."""


# --------------------------------------------------------------------------------------------
# checks: every failure message carries both values (and the DNS message when there is one)


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def eq(got, want, what):
    if got != want:
        raise TestFailure('%s: got %r, want %r' % (what, got, want))


def between(got, lo, hi, what):
    if got is None or not lo <= got <= hi:
        raise TestFailure('%s: got %r, want between %r and %r' % (what, got, lo, hi))


# --------------------------------------------------------------------------------------------
# programs and ports


def _executable(path):
    return path is not None and os.path.isfile(path) and os.access(path, os.X_OK)


def _find_built(name, env):
    if _opts.get(name):
        return _opts[name]
    if os.environ.get(env):
        return os.environ[env]
    for pattern in ('build/resolver/', 'build*/resolver/', 'build/', 'build*/'):
        for cand in sorted(glob.glob(os.path.join(SRC_ROOT, pattern, name))):
            if _executable(cand):
                return cand
    return None


def lanhmanhd_path():
    return _find_built('lanhmanhd', 'LANHMANHD')


def lanhmanh_path():
    return _find_built('lanhmanh', 'LANHMANH')


def tool(name):
    """Path of an installed tool (nsd, kdig, dnsperf) or None."""
    env = os.environ.get(name.upper())
    if env:
        return env
    path = os.environ.get('PATH', '') + ':/usr/sbin:/sbin:/usr/local/sbin'
    return shutil.which(name, path=path)


_ports_given = set()


def free_port(family=socket.AF_INET, host='127.0.0.1'):
    """A port free for both UDP and TCP on host, never handed out twice by this process."""
    for _ in range(200):
        u = socket.socket(family, socket.SOCK_DGRAM)
        t = socket.socket(family, socket.SOCK_STREAM)
        try:
            u.bind((host, 0))
            port = u.getsockname()[1]
            if port in _ports_given:
                continue
            try:
                t.bind((host, port))
            except OSError:
                continue
            if family == socket.AF_INET and socket.has_ipv6 and _has_ipv6_loopback():
                # listeners may be added on [::1] as well: keep the port free there too
                u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                try:
                    u6.bind(('::1', port))
                except OSError:
                    continue
                finally:
                    u6.close()
            _ports_given.add(port)
            return port
        finally:
            u.close()
            t.close()
    raise HarnessError('no free port found')


_ipv6_ok = None


def _has_ipv6_loopback():
    global _ipv6_ok
    if _ipv6_ok is None:
        try:
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.bind(('::1', 0))
            s.close()
            _ipv6_ok = True
        except OSError:
            _ipv6_ok = False
    return _ipv6_ok


def has_ipv6_loopback():
    return _has_ipv6_loopback()


def wait_until(pred, timeout, what, interval=0.05):
    """Poll pred() until it returns a true value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TestFailure('timed out after %.1f s waiting for %s' % (timeout, what))
        time.sleep(interval)


def _stop_process(proc, name, timeout=5.0):
    """SIGTERM by PID, wait, SIGKILL (the process group we created) on timeout.

    Returns (returncode, hung) where hung says SIGKILL was needed."""
    if proc.poll() is not None:
        return proc.returncode, False
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout)
        return proc.returncode, False
    except subprocess.TimeoutExpired:
        pass
    sys.stderr.write('harness: %s (pid %d) ignored SIGTERM for %.0f s: SIGKILL\n'
                     % (name, proc.pid, timeout))
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # group of that PID: created by us (new session)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait(10)
    return proc.returncode, True


def _tail(path, max_lines=300):
    try:
        with open(path, 'r', errors='replace') as f:
            lines = f.readlines()
    except OSError as e:
        return '(cannot read %s: %s)\n' % (path, e)
    if len(lines) > max_lines:
        return ('... (%d lines omitted, full file: %s)\n' % (len(lines) - max_lines, path)
                + ''.join(lines[-max_lines:]))
    return ''.join(lines)


# --------------------------------------------------------------------------------------------
# YAML rendering (config files are small; block style with flow lists of scalars)

_YAML_WORDS = {'true', 'false', 'yes', 'no', 'on', 'off', 'null', '~', 'y', 'n'}


def _yaml_scalar(v):
    if v is True:
        return 'true'
    if v is False:
        return 'false'
    if v is None:
        return 'null'
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    if (re.fullmatch(r'[A-Za-z0-9_./][A-Za-z0-9_./+-]*', s) and s.lower() not in _YAML_WORDS
            and not re.fullmatch(r'[-+.0-9eE]+', s)):
        return s
    return json.dumps(s, ensure_ascii=False)


def to_yaml(obj, indent=0):
    """Render nested dicts/lists/scalars as YAML text."""
    pad = ' ' * indent
    out = []
    for key, v in obj.items():
        if isinstance(v, dict):
            if not v:
                out.append('%s%s: {}' % (pad, key))
            else:
                out.append('%s%s:' % (pad, key))
                out.append(to_yaml(v, indent + 2))
        elif isinstance(v, (list, tuple)):
            if not any(isinstance(x, (dict, list, tuple)) for x in v):
                out.append('%s%s: [%s]' % (pad, key, ', '.join(
                    json.dumps(x, ensure_ascii=False) if isinstance(x, str) else _yaml_scalar(x)
                    for x in v)))
            else:
                out.append('%s%s:' % (pad, key))
                for item in v:
                    if not isinstance(item, dict):
                        raise HarnessError('to_yaml: nested lists are not supported')
                    body = to_yaml(item, indent + 4).split('\n')
                    out.append('%s  - %s' % (pad, body[0].lstrip()))
                    out.extend(body[1:])
        else:
            out.append('%s%s: %s' % (pad, key, _yaml_scalar(v)))
    return '\n'.join(out)


# --------------------------------------------------------------------------------------------
# DNS messages: building, sending, inspecting


def make_query(name, rdtype='A', edns=True, payload=1232, qid=None, rd=True, options=None,
               dnssec=False):
    """A dnspython query; edns=False sends no OPT record at all."""
    flags = dns.flags.RD if rd else 0
    if edns:
        q = dns.message.make_query(name, rdtype, use_edns=0, payload=payload, options=options,
                                   want_dnssec=dnssec, flags=flags, id=qid)
    else:
        q = dns.message.make_query(name, rdtype, use_edns=False, flags=flags, id=qid)
    return q


class Reply:
    """A response: the parsed message, its wire form and how long it took."""

    def __init__(self, wire, elapsed, transport):
        self.wire = wire
        self.elapsed = elapsed
        self.transport = transport
        self.msg = dns.message.from_wire(wire, ignore_trailing=False)

    def __repr__(self):
        return '<Reply %s %d bytes in %.3f s>' % (self.transport, len(self.wire), self.elapsed)

    def text(self):
        return ';; %s, %d bytes, %.3f s\n%s' % (self.transport, len(self.wire), self.elapsed,
                                                self.msg.to_text())

    @property
    def rcode(self):
        return dns.rcode.to_text(self.msg.rcode())

    @property
    def tc(self):
        return bool(self.msg.flags & dns.flags.TC)

    @property
    def qr(self):
        return bool(self.msg.flags & dns.flags.QR)

    @property
    def has_edns(self):
        return self.msg.edns >= 0

    @property
    def payload(self):
        return self.msg.payload if self.msg.edns >= 0 else None

    @property
    def ede(self):
        """List of (code, text) of the EDE options."""
        out = []
        for opt in (self.msg.options if self.msg.edns >= 0 else []):
            if int(opt.otype) == int(dns.edns.OptionType.EDE):
                out.append((int(opt.code), opt.text))
        return out

    @property
    def ede_codes(self):
        return [c for c, _ in self.ede]

    def rrset(self, name, rdtype, section='answer'):
        sec = getattr(self.msg, section)
        want_name = dns.name.from_text(name)
        want_type = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
        for rrs in sec:
            if rrs.name == want_name and rrs.rdtype == want_type:
                return rrs
        return None

    def values(self, name, rdtype, section='answer'):
        """Sorted rdata texts of name/rdtype in a section ([] if absent)."""
        rrs = self.rrset(name, rdtype, section)
        return sorted(r.to_text() for r in rrs) if rrs is not None else []

    def ttl(self, name, rdtype, section='answer'):
        rrs = self.rrset(name, rdtype, section)
        return rrs.ttl if rrs is not None else None

    def count(self, section='answer'):
        return sum(len(r) for r in getattr(self.msg, section))

    # expectations ---------------------------------------------------------------------------

    def expect(self, cond, what):
        if not cond:
            raise TestFailure('%s\n%s' % (what, self.text()))
        return self

    def expect_rcode(self, rcode):
        return self.expect(self.rcode == rcode, 'rcode: got %s, want %s' % (self.rcode, rcode))

    def expect_values(self, name, rdtype, want, section='answer'):
        got = self.values(name, rdtype, section)
        want = sorted(want)
        return self.expect(got == want, '%s %s in %s: got %r, want %r'
                           % (name, rdtype, section, got, want))

    def expect_ede(self, code):
        return self.expect(code in self.ede_codes,
                           'EDE: got %r, want code %d among them' % (self.ede, code))

    def expect_soa_authority(self, max_ttl=None):
        """A negative answer: the zone's SOA in the authority section."""
        rrs = self.rrset(ZONE, 'SOA', 'authority')
        self.expect(rrs is not None, 'no %s SOA in the authority section' % ZONE)
        self.expect(len(rrs) == 1, 'SOA rrset has %d records' % len(rrs))
        soa = rrs[0]
        self.expect(soa.serial == 2024010101 and soa.minimum == 60,
                    'SOA content: got %s' % soa.to_text())
        if max_ttl is not None:
            self.expect(rrs.ttl <= max_ttl, 'SOA TTL %d > %d' % (rrs.ttl, max_ttl))
        return self


def _family(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def _source_for(addr):
    return '::1' if ':' in addr else '127.0.0.1'


def send_udp(port, wire, addr='127.0.0.1', source=None, timeout=2.0, want_id=None):
    """Send one datagram and return the first reply datagram (bytes, elapsed), or raise NoAnswer.

    want_id: skip replies whose ID differs (strays from earlier packets)."""
    s = socket.socket(_family(addr), socket.SOCK_DGRAM)
    try:
        s.bind((source or _source_for(addr), 0))
        t0 = time.monotonic()
        s.sendto(wire, (addr, port))
        deadline = t0 + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NoAnswer('no UDP answer from %s port %d within %.1f s (source %s)'
                               % (addr, port, timeout, source))
            r, _, _ = select.select([s], [], [], left)
            if not r:
                continue
            data, peer = s.recvfrom(65535)
            if peer[1] != port:
                continue
            if want_id is not None and (len(data) < 2 or struct.unpack('!H', data[:2])[0] != want_id):
                continue
            return data, time.monotonic() - t0
    finally:
        s.close()


def udp(port, name, rdtype='A', addr='127.0.0.1', source=None, edns=True, payload=1232,
        timeout=2.0, query=None):
    """Query over UDP; returns a Reply (no retries, no TCP fallback)."""
    q = query if query is not None else make_query(name, rdtype, edns=edns, payload=payload)
    wire, elapsed = send_udp(port, q.to_wire(), addr=addr, source=source, timeout=timeout,
                             want_id=q.id)
    r = Reply(wire, elapsed, 'UDP')
    _check_matches(q, r)
    return r


def _check_matches(q, r):
    r.expect(r.msg.id == q.id, 'ID: got %d, want %d' % (r.msg.id, q.id))
    r.expect(r.qr, 'QR bit not set in the response')
    if r.rcode != 'FORMERR':
        r.expect(len(r.msg.question) == 1 and r.msg.question[0].name == q.question[0].name
                 and r.msg.question[0].rdtype == q.question[0].rdtype,
                 'question section differs from the query: %s' % q.question)


def recv_exact(sock, n, timeout):
    """Read exactly n bytes; returns fewer (possibly b'') on EOF; raises NoAnswer on timeout."""
    buf = b''
    deadline = time.monotonic() + timeout
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise NoAnswer('TCP read timed out after %.1f s (%d of %d bytes)' % (timeout, len(buf), n))
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            continue
        try:
            chunk = sock.recv(n - len(buf))
        except ConnectionResetError:
            return buf
        if not chunk:
            return buf
        buf += chunk
    return buf


def tcp_connect(port, addr='127.0.0.1', source=None, timeout=2.0):
    s = socket.socket(_family(addr), socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((addr, port))
    s.settimeout(None)
    return s


def tcp_read_frame(sock, timeout=2.0):
    """One length-prefixed DNS message, or None on a clean EOF at a frame boundary."""
    hdr = recv_exact(sock, 2, timeout)
    if len(hdr) == 0:
        return None
    if len(hdr) < 2:
        raise TestFailure('TCP: connection closed inside a length prefix')
    (n,) = struct.unpack('!H', hdr)
    body = recv_exact(sock, n, timeout)
    if len(body) < n:
        raise TestFailure('TCP: connection closed after %d of %d bytes of a message' % (len(body), n))
    return body


def frame(wire):
    return struct.pack('!H', len(wire)) + wire


def tcp(port, name, rdtype='A', addr='127.0.0.1', source=None, edns=True, payload=1232,
        timeout=2.0, query=None):
    """Query over a fresh TCP connection; returns a Reply."""
    q = query if query is not None else make_query(name, rdtype, edns=edns, payload=payload)
    t0 = time.monotonic()
    s = tcp_connect(port, addr, source, timeout)
    try:
        s.sendall(frame(q.to_wire()))
        wire = tcp_read_frame(s, timeout)
        if wire is None:
            raise NoAnswer('TCP connection closed without an answer to %s %s' % (name, rdtype))
    finally:
        s.close()
    r = Reply(wire, time.monotonic() - t0, 'TCP')
    _check_matches(q, r)
    return r


def parse_header(wire):
    """The 12-byte header of a raw message as a dict, or None if too short."""
    if len(wire) < 12:
        return None
    qid, flags, qd, an, ns, ar = struct.unpack('!HHHHHH', wire[:12])
    return {'id': qid, 'qr': bool(flags & 0x8000), 'opcode': (flags >> 11) & 0xF,
            'aa': bool(flags & 0x0400), 'tc': bool(flags & 0x0200), 'rd': bool(flags & 0x0100),
            'ra': bool(flags & 0x0080), 'rcode': flags & 0xF,
            'qd': qd, 'an': an, 'ns': ns, 'ar': ar}


# Raw wire building, for malformed packets.

def wire_name(name):
    out = b''
    for label in name.rstrip('.').split('.'):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b'\x00'


def wire_header(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack('!HHHHHH', qid, flags, qd, an, ns, ar)


def wire_question(name, rdtype=1, rdclass=1):
    return (wire_name(name) if isinstance(name, str) else name) + struct.pack('!HH', rdtype, rdclass)


def wire_opt(payload=1232, options=b'', rdlen=None, ext_flags=0):
    """An OPT RR; rdlen overrides the computed RDLENGTH (to lie about it)."""
    rdlen = len(options) if rdlen is None else rdlen
    return b'\x00' + struct.pack('!HHIH', 41, payload, ext_flags, rdlen) + options


def wire_option(code, data, length=None):
    return struct.pack('!HH', code, len(data) if length is None else length) + data


# --------------------------------------------------------------------------------------------
# kdig


class KdigResult:
    def __init__(self, argv, proc):
        self.argv = argv
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        m = re.search(r'status: (\w+)', self.stdout)
        self.status = m.group(1) if m else None
        m = re.search(r';; Flags: ([^;]*);', self.stdout)
        self.flags = m.group(1).split() if m else []
        self.ede = [int(c) for c in re.findall(r'EDE: (\d+)', self.stdout)]
        m = re.search(r'UDP size: (\d+)', self.stdout)
        self.udp_size = int(m.group(1)) if m else None
        self.sections = {}
        current = None
        for line in self.stdout.splitlines():
            m = re.match(r';; (\w+) SECTION:', line)
            if m:
                current = m.group(1).lower()
                self.sections[current] = []
                continue
            if not line.strip() or line.startswith(';;'):
                current = None if not line.strip() else current
                continue
            if current:
                f = line.split(None, 4)
                if len(f) == 5:
                    self.sections[current].append((f[0].lower(), int(f[1]), f[2], f[3], f[4].strip()))

    def records(self, section='answer', rdtype=None):
        return [r for r in self.sections.get(section, []) if rdtype is None or r[3] == rdtype]

    def values(self, name, rdtype, section='answer'):
        name = name.lower()
        return sorted(r[4] for r in self.sections.get(section, []) if r[0] == name and r[3] == rdtype)

    def text(self):
        return '$ %s\n(exit %d)\n%s%s' % (' '.join(self.argv), self.returncode, self.stdout,
                                          self.stderr)

    def expect(self, cond, what):
        if not cond:
            raise TestFailure('%s\n%s' % (what, self.text()))
        return self


def kdig(port, name, rdtype='A', *opts, addr='127.0.0.1', timeout=2):
    """Run kdig once (no retries) and parse its output."""
    exe = tool('kdig')
    if not exe:
        raise HarnessError('kdig not found')
    argv = [exe, '@' + addr, '-p', str(port), name, rdtype, '+timeout=%d' % timeout, '+retry=0']
    argv += list(opts)
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout * 3 + 5)
    return KdigResult(argv, proc)


# --------------------------------------------------------------------------------------------
# nsd


class Nsd:
    """nsd serving zones from tests/integration/zones/ on 127.0.0.1:port.

    zone_texts: more zones given inline, {zone name: zone file text}, served after @zones.
    Use as a context manager; stop()/start()/restart() may be called inside."""

    def __init__(self, ctx, zones=('example.test',), name='nsd', port=None, host='127.0.0.1',
                 zone_texts=None):
        self.ctx = ctx
        self.name = name
        self.host = host
        self.port = port or free_port()
        self.dir = ctx.path(name)
        zone_texts = dict(zone_texts or {})
        self.zones = list(zones) + [z for z in zone_texts if z not in zones]
        self.proc = None
        self.starts = 0
        os.makedirs(self.dir, exist_ok=True)
        for z in self.zones:
            if z in zone_texts:
                with open(os.path.join(self.dir, z + '.zone'), 'w') as f:
                    f.write(zone_texts[z])
            else:
                shutil.copy(os.path.join(ZONES_DIR, z + '.zone'),
                            os.path.join(self.dir, z + '.zone'))
        self.conf = os.path.join(self.dir, 'nsd.conf')
        self.log = os.path.join(self.dir, 'nsd.log')
        self.out = os.path.join(self.dir, 'nsd.out')
        d = self.dir
        lines = [
            'server:',
            '    ip-address: %s@%d' % (host, self.port),
            '    port: %d' % self.port,
            '    username: ""',
            '    chroot: ""',
            '    zonesdir: "%s"' % d,
            '    pidfile: "%s/nsd.pid"' % d,
            '    database: ""',
            '    xfrdfile: "%s/xfrd.state"' % d,
            '    zonelistfile: "%s/zone.list"' % d,
            '    logfile: "%s"' % self.log,
            '    verbosity: 2',
            '    server-count: 1',
            '    hide-version: yes',
            '    reuseport: no',
            'remote-control:',
            '    control-enable: no',
        ]
        for z in self.zones:
            lines += ['zone:', '    name: "%s"' % z, '    zonefile: "%s.zone"' % z]
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        ctx.add_log_source(self)
        ctx.add_cleanup(self.stop)

    @property
    def addr(self):
        return '%s:%d' % (self.host, self.port)

    def start(self, timeout=10.0, wait=True):
        """Start nsd and wait until it answers (wait=False: call wait_ready() later)."""
        if self.proc is not None and self.proc.poll() is None:
            raise HarnessError('nsd already running')
        exe = tool('nsd')
        if not exe:
            raise HarnessError('nsd not found')
        with open(self.out, 'ab') as out:
            self.proc = subprocess.Popen([exe, '-d', '-c', self.conf], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.starts += 1
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        q = make_query(self.zones[0], 'SOA', edns=False)
        while True:
            if self.proc.poll() is not None:
                raise HarnessError('nsd exited with %d before answering\n%s'
                                   % (self.proc.returncode, _tail(self.log) + _tail(self.out)))
            try:
                wire, _ = send_udp(self.port, q.to_wire(), addr=self.host, timeout=0.2, want_id=q.id)
                m = dns.message.from_wire(wire)
                if m.rcode() == dns.rcode.NOERROR and m.answer:
                    return
            except (NoAnswer, OSError):
                pass
            if time.monotonic() >= deadline:
                raise HarnessError('nsd not answering SOA queries after %.0f s\n%s'
                                   % (timeout, _tail(self.log)))
            time.sleep(0.05)

    def stop(self):
        if self.proc is None:
            return
        rc, hung = _stop_process(self.proc, 'nsd')
        self.proc = None
        if hung:
            raise HarnessError('nsd did not stop on SIGTERM')

    def restart(self):
        self.stop()
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def dump_logs(self):
        return '---- nsd %s (port %d): %s ----\n%s' % (self.name, self.port, self.log, _tail(self.log, 60))


# --------------------------------------------------------------------------------------------
# knotd: a primary server for zone transfer tests


class Knot:
    """knotd as the primary of one zone (the authority's RPZ) on 127.0.0.1:port.

    The zone file is zone_text (set_zone() writes the next version and `knotc zone-reload`s it;
    with `zonefile-load: difference` and `journal-content: changes` knotd keeps the difference
    in its journal and serves it by IXFR). Transfers are allowed from 127.0.0.0/8, with key
    when given: key = (name, algorithm, secret in base64). notify: 'host:port' addresses that
    get a NOTIFY at every change (and at start), signed with key unless notify_key is False.
    Started as the test's own process (foreground, no user switch), stopped by PID."""

    def __init__(self, ctx, zone, zone_text, name='knot', port=None, notify=(), key=None,
                 notify_key=True):
        self.ctx = ctx
        self.zone = zone if zone.endswith('.') else zone + '.'
        self.name = name
        self.port = port or free_port()
        self.notify = list(notify)
        self.key = key
        self.notify_key = notify_key
        self.dir = ctx.path(name)
        self.proc = None
        os.makedirs(self.dir, exist_ok=True)
        self.zone_path = os.path.join(self.dir, 'zone.rpz')
        self.conf = os.path.join(self.dir, 'knot.conf')
        self.log = os.path.join(self.dir, 'knotd.log')
        self.socket = os.path.join(self.dir, 'knot.sock')
        self.ctl_log = []
        self._write(self.zone_path, zone_text)
        self.write_config()
        ctx.add_log_source(self)
        ctx.add_cleanup(self.stop)

    @staticmethod
    def _write(path, text):
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            f.write(text)
        os.replace(tmp, path)

    @property
    def addr(self):
        return '127.0.0.1:%d' % self.port

    def write_config(self):
        d = self.dir
        lines = [
            'server:',
            '    rundir: "%s"' % d,
            '    listen: 127.0.0.1@%d' % self.port,
            '    udp-workers: 1',
            '    tcp-workers: 1',
            '    background-workers: 1',
            'database:',
            '    storage: "%s"' % d,
            'log:',
            '  - target: stderr',
            '    any: info',
        ]
        if self.key:
            lines += ['key:', '  - id: %s' % self.key[0], '    algorithm: %s' % self.key[1],
                      '    secret: %s' % self.key[2]]
        if self.notify:
            lines += ['remote:']
            for i, a in enumerate(self.notify):
                host, port = a.rsplit(':', 1)
                lines += ['  - id: notify%d' % i, '    address: %s@%s' % (host, port)]
                if self.key and self.notify_key:
                    lines += ['    key: %s' % self.key[0]]
        lines += ['acl:', '  - id: secondaries', '    address: 127.0.0.0/8',
                  '    action: transfer']
        if self.key:
            lines += ['    key: %s' % self.key[0]]
        lines += [
            'template:',
            '  - id: default',
            '    storage: "%s"' % d,
            '    zonefile-sync: -1',
            '    zonefile-load: difference',
            '    journal-content: changes',
            'zone:',
            '  - domain: %s' % self.zone,
            '    file: "%s"' % self.zone_path,
            '    acl: [secondaries]',
        ]
        if self.notify:
            lines += ['    notify: [%s]' % ', '.join('notify%d' % i
                                                     for i in range(len(self.notify)))]
        self._write(self.conf, '\n'.join(lines) + '\n')

    def start(self, timeout=10.0):
        if self.proc is not None and self.proc.poll() is None:
            raise HarnessError('knotd already running')
        exe = tool('knotd')
        if not exe:
            raise HarnessError('knotd not found')
        with open(self.log, 'ab') as out:
            self.proc = subprocess.Popen([exe, '-c', self.conf], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.wait_serial(None, timeout)
        return self

    def soa_serial(self, timeout=0.2):
        """The serial knotd serves now, or None (no answer)."""
        q = make_query(self.zone, 'SOA', edns=False, rd=False)
        try:
            wire, _ = send_udp(self.port, q.to_wire(), timeout=timeout, want_id=q.id)
        except (NoAnswer, OSError):
            return None
        m = dns.message.from_wire(wire)
        if m.rcode() != dns.rcode.NOERROR:
            return None
        for rrs in m.answer:
            if rrs.rdtype == dns.rdatatype.SOA:
                return rrs[0].serial
        return None

    def wait_serial(self, serial, timeout=10.0):
        """Poll the SOA until knotd serves serial (any serial when None)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise HarnessError('knotd exited (%r) before serving %s\n%s'
                                   % (self.proc.returncode if self.proc else None, self.zone,
                                      _tail(self.log, 40)))
            got = self.soa_serial()
            if got is not None and (serial is None or got == serial):
                return got
            if time.monotonic() >= deadline:
                raise HarnessError('knotd does not serve %s serial %s after %.0f s (serves %r)\n%s'
                                   % (self.zone, serial, timeout, got, _tail(self.log, 40)))
            time.sleep(0.02)

    def knotc(self, *args, timeout=15.0, check=True):
        """Run knotc against this knotd (blocking mode); returns its output. Raises on failure
        unless check is False (`zone-notify` fails when the secondary answers REFUSED)."""
        exe = tool('knotc')
        if not exe:
            raise HarnessError('knotc not found')
        argv = [exe, '-s', self.socket, '-b', '-t', '10'] + [str(a) for a in args]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        self.ctl_log.append('$ %s\n(exit %d)\n%s%s' % (' '.join(argv), p.returncode, p.stdout,
                                                        p.stderr))
        if p.returncode != 0 and check:
            raise HarnessError('knotc failed:\n' + self.ctl_log[-1])
        return p.stdout + p.stderr

    def write_zone(self, zone_text):
        """Replace the zone file (knotd reads it at its next start or zone-reload)."""
        self._write(self.zone_path, zone_text)

    def set_zone(self, zone_text, serial=None, timeout=10.0):
        """Write a new version of the zone file and have knotd load it (`knotc zone-reload`),
        which also sends the NOTIFYs; with serial, wait until knotd serves it."""
        self.write_zone(zone_text)
        self.knotc('zone-reload', self.zone)
        if serial is not None:
            self.wait_serial(serial, timeout)

    def reconfigure(self, **kw):
        """Change notify / key / notify_key, rewrite knot.conf and `knotc reload` it."""
        for k, v in kw.items():
            if k not in ('notify', 'key', 'notify_key'):
                raise HarnessError('Knot.reconfigure: unknown setting %r' % k)
            setattr(self, k, list(v) if k == 'notify' else v)
        self.write_config()
        self.knotc('reload')

    def stop(self):
        if self.proc is None:
            return
        rc, hung = _stop_process(self.proc, 'knotd')
        self.proc = None
        if hung:
            raise HarnessError('knotd did not stop on SIGTERM')

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def dump_logs(self):
        out = ['---- knotd %s (port %d): %s ----' % (self.name, self.port, self.conf)]
        try:
            with open(self.conf) as f:
                out.append(f.read())
        except OSError:
            pass
        out += self.ctl_log[-5:]
        out.append('---- knotd log: %s ----\n%s' % (self.log, _tail(self.log, 80)))
        return '\n'.join(out)


# --------------------------------------------------------------------------------------------
# lanhmanhd


# Tools the tests run to make their material (keys, certificates).


def run_tool(argv, what, cwd=None, timeout=30):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout, cwd=cwd)
    if p.returncode != 0:
        raise HarnessError('%s failed (exit %d): %s\n%s%s' % (what, p.returncode, ' '.join(argv),
                                                              p.stdout, p.stderr))
    return p


def make_pki(t):
    """A test CA and a certificate for IP 127.0.0.1 it signed; returns (ca, cert, key) paths."""
    d = t.path('pki')
    os.makedirs(d, exist_ok=True)
    ossl = tool('openssl')
    p = lambda n: os.path.join(d, n)
    with open(p('server.ext'), 'w') as f:
        f.write('subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n'
                'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n')
    ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    run_tool([ossl, 'req', '-x509'] + ec + ['-keyout', p('ca.key'), '-out', p('ca.pem'),
              '-days', '2', '-subj', '/CN=lanhmanh test CA',
              '-addext', 'basicConstraints=critical,CA:TRUE',
              '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], 'openssl req (CA)')
    run_tool([ossl, 'req', '-new'] + ec + ['-keyout', p('server.key'), '-out', p('server.csr'),
              '-subj', '/CN=127.0.0.1'], 'openssl req (server)')
    run_tool([ossl, 'x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'),
               '-CAkey', p('ca.key'), '-set_serial', '2', '-days', '2', '-out', p('server.pem'),
               '-extfile', p('server.ext')], 'openssl x509 (sign)')
    return p('ca.pem'), p('server.pem'), p('server.key')



def start_script_server(script, args, err_path, port=None, what='server', timeout=10.0,
                        host='127.0.0.1', udp=False, wait=True):
    """Run `/usr/bin/python3 script FD args...` on a TCP socket we bound to host:port (any
    free port when None; the same port again on a restart) and wait until it prints "ready".
    The script serves on socket FD. Returns (process, port); stop it with stop_script_server().
    The socket is ours until the process has it: no port race, and once it stops, connections
    are refused.

    udp=True: also a UDP socket on the same host:port, passed as a second descriptor:
    `script TCPFD UDPFD args...`. wait=False returns at once: call wait_script_ready() later
    (to start several servers side by side)."""
    fam = _family(host)
    s = socket.socket(fam, socket.SOCK_STREAM)
    u = socket.socket(fam, socket.SOCK_DGRAM) if udp else None
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port or 0))
        s.listen(64)
        port = s.getsockname()[1]
        fds = [s.fileno()]
        if u is not None:
            u.bind((host, port))
            fds.append(u.fileno())
        with open(err_path, 'ab') as err:
            proc = subprocess.Popen(['/usr/bin/python3', script] + [str(fd) for fd in fds]
                                    + list(args),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                    pass_fds=fds, start_new_session=True)
    finally:
        s.close()
        if u is not None:
            u.close()
    if wait:
        wait_script_ready(proc, err_path, what, timeout)
    return proc, port


def wait_script_ready(proc, err_path, what='server', timeout=10.0):
    """Wait until a process of start_script_server() prints its "ready" line."""
    deadline = time.monotonic() + timeout
    line = b''
    while not line.endswith(b'\n'):
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            _stop_process(proc, what)
            raise HarnessError('the %s did not say ready within %.0f s:\n%s'
                               % (what, timeout, _tail(err_path)))
        r, _, _ = select.select([proc.stdout], [], [], left)
        if r:
            c = os.read(proc.stdout.fileno(), 64)
            if c:
                line += c
    if not line.startswith(b'ready'):
        _stop_process(proc, what)
        raise HarnessError('the %s said %r' % (what, line))


def stop_script_server(proc, what='server'):
    """Stop a process of start_script_server() by PID; True when it needed SIGKILL."""
    _, hung = _stop_process(proc, what)
    proc.stdout.close()
    return hung


def default_config(ctx, port, forwarders, name='lanhmanhd'):
    d = ctx.path(name)
    return {
        'server': {
            'listen': ['127.0.0.1:%d' % port],
            'workers': 2,
            'mode': 'forward',
            'forwarders': list(forwarders),
            'cache_size': '16MiB',
            'state_dir': os.path.join(d, 'state'),
            'control_socket': os.path.join(d, 'control.sock'),
            'log_level': 'info',
            'upstream_timeout': '300ms',
            'serve_stale': '1d',
            'tcp_idle_timeout': '2s',
            'tcp_max_connections': 100,
        },
        'networks': [
            {'name': 'Trường TH Lê Lợi', 'id': '79-TH-0001',
             'cidr': ['127.0.3.0/24', '127.0.4.0/24']},
        ],
    }


class CtlResult:
    def __init__(self, argv, proc):
        self.argv = argv
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def output(self):
        return self.stdout + self.stderr

    def text(self):
        return '$ %s\n(exit %d)\n-- stdout --\n%s-- stderr --\n%s' % (
            ' '.join(self.argv), self.returncode, self.stdout, self.stderr)

    def expect(self, cond, what):
        if not cond:
            raise TestFailure('%s\n%s' % (what, self.text()))
        return self

    def expect_ok(self):
        return self.expect(self.returncode == 0, 'lanhmanh exited with %d' % self.returncode)


class Daemon:
    """lanhmanhd with a per-test config, started in the foreground with NOTIFY_SOCKET.

    config: None (default_config with forwarders), a dict (rendered to YAML) or YAML text."""

    def __init__(self, ctx, forwarders=(), config=None, name='lanhmanhd', port=None,
                 ready_timeout=10.0):
        self.ctx = ctx
        self.name = name
        self.port = port or free_port()
        self.dir = ctx.path(name)
        os.makedirs(os.path.join(self.dir, 'state'), exist_ok=True)
        self.config_path = os.path.join(self.dir, 'lanhmanh.yaml')
        self.stderr_path = os.path.join(self.dir, 'stderr.log')
        self.stdout_path = os.path.join(self.dir, 'stdout.log')
        self.notify_path = os.path.join(self.dir, 'notify.sock')
        self.ready_timeout = ready_timeout
        self.proc = None
        self.notify_sock = None
        self.notifications = []  # (monotonic time, [lines])
        self.ctl_log = []
        self.exit_problem = None
        self.config = default_config(ctx, self.port, forwarders, name) if config is None else config
        self.write_config(self.config)
        ctx.add_log_source(self)
        ctx.add_cleanup(self._cleanup)

    # config -----------------------------------------------------------------------------------

    @property
    def control_socket(self):
        if isinstance(self.config, dict):
            return self.config['server']['control_socket']
        m = re.search(r'control_socket:\s*"?([^"\n]+)"?', self.config)
        return m.group(1).strip() if m else os.path.join(self.dir, 'control.sock')

    def render(self, config):
        return config if isinstance(config, str) else to_yaml(config) + '\n'

    def write_config(self, config, path=None):
        """Write config (dict or text) atomically; returns the path written."""
        path = path or self.config_path
        text = self.render(config)
        tmp = path + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, path)
        if path == self.config_path:
            self.config = config
            self.config_text = text
        return path

    # process ----------------------------------------------------------------------------------

    def start(self):
        exe = lanhmanhd_path()
        if not _executable(exe):
            raise HarnessError('lanhmanhd not found (set LANHMANHD): %r' % exe)
        if os.path.exists(self.notify_path):
            os.unlink(self.notify_path)
        self.notify_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify_sock.bind(self.notify_path)
        self.notifications = []
        env = dict(os.environ)
        env['NOTIFY_SOCKET'] = self.notify_path
        env.setdefault('ASAN_OPTIONS', 'abort_on_error=0')
        self.argv = [exe, '-c', self.config_path]
        with open(self.stderr_path, 'ab') as err, open(self.stdout_path, 'ab') as out:
            self.t_start = time.monotonic()
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=env, start_new_session=True)
        self.wait_notify('READY=1', self.ready_timeout)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def expect_alive(self, what='daemon'):
        if not self.alive():
            rc = self.proc.returncode if self.proc else None
            raise TestFailure('%s: lanhmanhd is not running any more (exit status %r%s)'
                              % (what, rc, ', signal %s' % signal.Signals(-rc).name
                                 if rc is not None and rc < 0 else ''))

    def _recv_notify(self, timeout):
        r, _, _ = select.select([self.notify_sock], [], [], max(0.0, timeout))
        if not r:
            return None
        data = self.notify_sock.recv(4096)
        lines = data.decode('utf-8', 'replace').split('\n')
        self.notifications.append((time.monotonic(), lines))
        return lines

    def drain_notify(self):
        while self._recv_notify(0) is not None:
            pass

    def wait_notify(self, key, timeout):
        """Wait for a notify datagram containing the line key (e.g. READY=1)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise HarnessError('lanhmanhd exited with status %d while waiting for %s'
                                   % (self.proc.returncode, key))
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure('lanhmanhd sent no %s on NOTIFY_SOCKET within %.1f s '
                                  '(got %r)' % (key, timeout, [l for _, l in self.notifications]))
            lines = self._recv_notify(min(left, 0.1))
            if lines and key in lines:
                return lines

    def wait_sequence(self, start, keys, timeout):
        """Wait until notifications received since index start contain keys in order."""
        deadline = time.monotonic() + timeout
        while True:
            i = 0
            for _, lines in self.notifications[start:]:
                while i < len(keys) and keys[i] in lines:
                    i += 1
                if i == len(keys):
                    return
            if self.proc.poll() is not None:
                raise HarnessError('lanhmanhd exited with status %d while waiting for %s'
                                   % (self.proc.returncode, ' then '.join(keys)))
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure('lanhmanhd did not send %s on NOTIFY_SOCKET within %.1f s '
                                  '(got %r)' % (' then '.join(keys), timeout,
                                                [l for _, l in self.notifications[start:]]))
            self._recv_notify(min(left, 0.1))

    def reload(self, timeout=10.0):
        """SIGHUP, then wait for RELOADING=1 followed by READY=1; returns the seconds it took."""
        self.expect_alive('before reload')
        self.drain_notify()
        start = len(self.notifications)
        t0 = time.monotonic()
        os.kill(self.proc.pid, signal.SIGHUP)
        self.wait_sequence(start, ['RELOADING=1', 'READY=1'], timeout)
        return time.monotonic() - t0

    def ctl(self, *args, timeout=15.0, use_config=False):
        """Run the lanhmanh CLI against this daemon; returns a CtlResult."""
        exe = lanhmanh_path()
        if not _executable(exe):
            raise HarnessError('lanhmanh not found (set LANHMANH): %r' % exe)
        if use_config:
            argv = [exe, '-c', self.config_path] + [str(a) for a in args]
        else:
            argv = [exe, '-s', self.control_socket] + [str(a) for a in args]
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
        res = CtlResult(argv, proc)
        self.ctl_log.append(res)
        return res

    def ctl_reload(self, timeout=15.0, use_config=False):
        """`lanhmanh reload`; on success also consume the RELOADING=1 / READY=1 it causes."""
        self.drain_notify()
        start = len(self.notifications)
        res = self.ctl('reload', timeout=timeout, use_config=use_config)
        if res.returncode == 0:
            self.wait_sequence(start, ['RELOADING=1', 'READY=1'], 5.0)
        return res

    def status(self):
        """`lanhmanh status` as (dict of key: value, {upstream addr: 'up'|'down'}, CtlResult)."""
        res = self.ctl('status')
        res.expect_ok()
        kv, ups = {}, {}
        for line in res.stdout.splitlines():
            m = re.match(r'\s*upstream\s+(\S+):\s+(up|down)\b', line)
            if m:
                ups[m.group(1)] = m.group(2)
                continue
            m = re.match(r'\s*([^:]+):\s*(.*)$', line)
            if m:
                kv[m.group(1).strip()] = m.group(2).strip()
        return kv, ups, res

    def stop(self, timeout=5.0):
        """SIGTERM by PID; records a problem if it had died already or did not exit cleanly."""
        if self.proc is None:
            return
        if self.proc.poll() is not None:
            self.exit_problem = ('lanhmanhd had already exited (status %d) before it was stopped'
                                 % self.proc.returncode)
        else:
            rc, hung = _stop_process(self.proc, 'lanhmanhd', timeout)
            if hung:
                self.exit_problem = 'lanhmanhd did not exit within %.0f s of SIGTERM' % timeout
            elif rc not in (0, -signal.SIGTERM):
                self.exit_problem = 'lanhmanhd exited with status %d after SIGTERM' % rc
        self.final_rc = self.proc.returncode
        self.proc = None
        if self.notify_sock:
            self.notify_sock.close()
            self.notify_sock = None

    def _cleanup(self):
        self.stop()
        if self.exit_problem:
            raise TestFailure(self.exit_problem)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if exc_type is None and self.exit_problem:
            problem, self.exit_problem = self.exit_problem, None
            raise TestFailure(problem)
        return False

    def dump_logs(self):
        out = ['---- lanhmanhd %s (port %d) config %s ----' % (self.name, self.port, self.config_path),
               getattr(self, 'config_text', ''),
               '---- notify messages ----',
               '\n'.join(repr(l) for _, l in self.notifications)]
        for r in self.ctl_log[-10:]:
            out.append('---- control command ----\n' + r.text())
        out.append('---- lanhmanhd stderr: %s ----' % self.stderr_path)
        out.append(_tail(self.stderr_path))
        return '\n'.join(out)


# --------------------------------------------------------------------------------------------
# per-test context and the runner


class TestContext:
    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix='lanhmanh-%s-' % name.replace('test_', ''))
        self._cleanups = []
        self._log_sources = []

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def add_cleanup(self, fn):
        self._cleanups.append(fn)

    def add_log_source(self, src):
        self._log_sources.append(src)

    def nsd(self, **kw):
        return Nsd(self, **kw)

    def knot(self, zone, zone_text, **kw):
        return Knot(self, zone, zone_text, **kw)

    def daemon(self, forwarders=(), **kw):
        return Daemon(self, forwarders=forwarders, **kw)

    def blackhole(self, host='127.0.0.1'):
        """A bound UDP socket that never answers; returns 'host:port'."""
        s = socket.socket(_family(host), socket.SOCK_DGRAM)
        s.bind((host, 0))
        self.add_cleanup(s.close)
        return '%s:%d' % (host, s.getsockname()[1])

    def unused(self, host='127.0.0.1'):
        """'host:port' with nothing listening (queries get ICMP port unreachable)."""
        return '%s:%d' % (host, free_port(_family(host), host))

    def close(self):
        """Run cleanups in reverse order; returns the list of errors they raised."""
        errors = []
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as e:  # keep stopping the rest
                errors.append(e)
        return errors

    def logs(self):
        return '\n'.join(src.dump_logs() for src in self._log_sources)


def _parse_argv(argv):
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ('--lanhmanhd', '--lanhmanh') and i + 1 < len(argv):
            _opts[a[2:]] = argv[i + 1]
            i += 2
            continue
        if a == '-k' and i + 1 < len(argv):
            _opts['patterns'].append(argv[i + 1])
            i += 2
            continue
        if a == '--keep':
            _opts['keep'] = True
        elif a in ('-h', '--help'):
            print('usage: %s [--lanhmanhd PATH] [--lanhmanh PATH] [-k PATTERN]... [--keep]' % argv[0])
            sys.exit(0)
        else:
            print('unknown argument %r' % a)
            sys.exit(2)
        i += 1


def require(*tools_needed):
    """Exit with the meson skip status if a needed tool is missing."""
    missing = [t for t in tools_needed if not tool(t)]
    if missing:
        print('SKIP: missing tools: %s' % ', '.join(missing))
        sys.exit(SKIP_EXIT)


class Interrupted(BaseException):
    pass


def _on_sigterm(signum, frame):
    # meson's timeout: unwind so that every daemon and nsd we started is stopped by PID
    raise Interrupted('SIGTERM')


def run(namespace, needs=('nsd',)):
    """Run every test_* function of namespace (in definition order); exit 0, 1 or 77."""
    _parse_argv(sys.argv)
    require(*needs)
    for what, path in (('lanhmanhd', lanhmanhd_path()), ('lanhmanh', lanhmanh_path())):
        if not _executable(path):
            print('SKIP: %s not built (set %s or pass --%s): %r' % (what, what.upper(), what, path))
            sys.exit(SKIP_EXIT)
    print('lanhmanhd: %s\nlanhmanh:  %s' % (lanhmanhd_path(), lanhmanh_path()))
    tests = [(n, f) for n, f in namespace.items() if n.startswith('test_') and callable(f)]
    if _opts['patterns']:
        tests = [(n, f) for n, f in tests if any(p in n for p in _opts['patterns'])]
    failed = []
    t_all = time.monotonic()
    signal.signal(signal.SIGTERM, _on_sigterm)
    for n, f in tests:
        ctx = TestContext(n)
        t0 = time.monotonic()
        sys.stdout.write('== %s\n' % n)
        sys.stdout.flush()
        error = None
        try:
            f(ctx)
        except Exception:
            error = traceback.format_exc()
        except BaseException:  # interrupted (SIGINT, or SIGTERM from meson's timeout)
            ctx.close()
            print('   INTERRUPTED %s; processes stopped, logs kept in %s' % (n, ctx.dir))
            sys.stdout.flush()
            os._exit(1)
        cleanup_errors = ctx.close()
        if cleanup_errors and error is None:
            error = 'while stopping processes:\n' + '\n'.join(
                '%s: %s' % (type(e).__name__, e) for e in cleanup_errors)
        dt = time.monotonic() - t0
        if error is None:
            print('   PASS %s (%.1f s)' % (n, dt))
            if not _opts['keep']:
                shutil.rmtree(ctx.dir, ignore_errors=True)
        else:
            failed.append(n)
            print('   FAIL %s (%.1f s)\n%s' % (n, dt, error))
            print(ctx.logs())
            print('   logs kept in %s' % ctx.dir)
        sys.stdout.flush()
    print('%d/%d passed in %.1f s%s' % (len(tests) - len(failed), len(tests),
                                         time.monotonic() - t_all,
                                         ('; FAILED: ' + ', '.join(failed)) if failed else ''))
    sys.exit(1 if failed else 0)


# A stream of queries during a reload or a list update (zero-loss checks).


class QueryStream(threading.Thread):
    """UDP queries one after another from @client over names, until stopped (and at least
    @minimum); keeps (send time, name, rcode, addresses) and the queries left unanswered."""

    def __init__(self, port, client, names, minimum):
        super().__init__(daemon=True)
        self.port, self.client, self.names, self.minimum = port, client, names, minimum
        self.stop = threading.Event()
        self.results = []
        self.lost = []
        self.error = None

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((self.client, 0))
        try:
            i = 0
            while not self.stop.is_set() or i < self.minimum:
                name = self.names[i % len(self.names)]
                q = dns.message.make_query(name, 'A', use_edns=0)
                t0 = time.monotonic()
                s.sendto(q.to_wire(), ('127.0.0.1', self.port))
                deadline = t0 + 2.0
                got = None
                while got is None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    r, _, _ = select.select([s], [], [], left)
                    if not r:
                        continue
                    data, _ = s.recvfrom(65535)
                    m = dns.message.from_wire(data)
                    if m.id == q.id:
                        got = m
                if got is None:
                    self.lost.append((t0, name))
                else:
                    addrs = sorted(rd.to_text() for rrs in got.answer for rd in rrs
                                   if rrs.rdtype == 1)
                    self.results.append((t0, name, dns.rcode.to_text(got.rcode()),
                                         tuple(addrs)))
                i += 1
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            s.close()


# --------------------------------------------------------------------------------------------
# A fake DNS hierarchy on loopback, for recursive mode: DnsTree and the scripted servers


# Behaviours of a scripted server (FakeNs). Every scripted server appends each question it gets
# to its log file ("udp|tcp <TAB> name as received <TAB> type"), before it answers, if it does.
FAKE_NS_BEHAVIOURS = {
    'log': 'answers properly from its zones',
    'timeout': 'never answers (UDP or TCP)',
    'refused': 'REFUSED',
    'servfail': 'SERVFAIL',
    'truncate': 'UDP: TC=1 and no records; TCP: answers properly',
    'lame': 'NOERROR, no AA: an upward referral to the root (its NS and their addresses)',
    'lame-empty': 'NOERROR, no AA, no records at all',
    'no-0x20': 'answers properly but with the question name lower-cased',
    'late': 'answers properly; over UDP, the answers to names starting "late." come 300 ms late',
}

TREE_SOA = (3600, 600, 86400, 60)  # refresh retry expire minimum of every DnsTree zone
TREE_SERIAL = 2024010101


def _abs(name):
    return name if name.endswith('.') else name + '.'


def _under(name, zone):
    """name is zone or below it (names absolute, compared without case)."""
    return dns.name.from_text(name).is_subdomain(dns.name.from_text(zone))


class FakeNs:
    """A scripted name server on host:port, UDP and TCP, its own process (this file run as a
    script through start_script_server(udp=True)). It serves the given zone files with a
    small authoritative logic written with dnspython (answers, in-zone CNAME and DNAME,
    referrals with glue at zone cuts, NXDOMAIN/NODATA with the SOA), echoes the question
    exactly as received (case included), and misbehaves as told (FAKE_NS_BEHAVIOURS)."""

    def __init__(self, ctx, host, port, behaviour, zone_files, root=(), name=None):
        if behaviour not in FAKE_NS_BEHAVIOURS:
            raise HarnessError('FakeNs: unknown behaviour %r (one of %s)'
                               % (behaviour, ', '.join(FAKE_NS_BEHAVIOURS)))
        self.ctx = ctx
        self.host = host
        self.port = port
        self.behaviour = behaviour
        self.name = name or 'fakens-%s' % host
        self.dir = ctx.path(self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.log = os.path.join(self.dir, 'questions.log')
        self.err = os.path.join(self.dir, 'stderr.log')
        self.conf = os.path.join(self.dir, 'fakens.json')
        open(self.log, 'a').close()
        with open(self.conf, 'w') as f:
            json.dump({'behaviour': behaviour, 'zones': dict(zone_files), 'log': self.log,
                       'root': [[n, list(a)] for n, a in root]}, f, indent=1)
        self.proc = None
        ctx.add_log_source(self)
        ctx.add_cleanup(self.stop)

    def start(self, timeout=10.0, wait=True):
        self.proc, _ = start_script_server(os.path.abspath(__file__), ['fake-ns', self.conf],
                                           self.err, self.port, self.name, timeout,
                                           host=self.host, udp=True, wait=wait)
        return self

    def wait_ready(self, timeout=10.0):
        wait_script_ready(self.proc, self.err, self.name, timeout)

    def stop(self):
        if self.proc is not None:
            proc, self.proc = self.proc, None
            if stop_script_server(proc, self.name):
                raise HarnessError('%s did not stop on SIGTERM' % self.name)

    def questions(self):
        """[(transport, name as received, type)] in the order received."""
        with open(self.log) as f:
            return [tuple(line.rstrip('\n').split('\t')) for line in f if line.strip()]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def dump_logs(self):
        return '---- %s (%s, %s:%d) questions: %s ----\n%s---- stderr ----\n%s' % (
            self.name, self.behaviour, self.host, self.port, self.log, _tail(self.log, 80),
            _tail(self.err, 40))


class DnsTree:
    """A fake DNS hierarchy on loopback, from the root down, for recursive mode.

    zones: {zone name: {'ns': {NS name: address or [addresses]}, 'records': zone file text
    (names relative to the zone), 'glue': False (optional: no glue for this delegation in
    the parent even where the NS name is inside the parent)}}. '.' must be among them.
    behaviours: {address: one of FAKE_NS_BEHAVIOURS}; any other address is an nsd.

    Each zone file gets its SOA (serial TREE_SERIAL, TREE_SOA values, TTL 3600), its apex NS,
    the delegations to its child zones with in-bailiwick glue (only for NS names inside this
    zone: an NS name elsewhere gets none, the glueless case), and the A/AAAA records of the NS
    names it is authoritative for. Every address of an NS map is one server (nsd or FakeNs) on
    the same port (a free one unless given), holding only the zones it is named for. The root
    hints file (root_hints) lists the root's NS names and addresses, like
    /usr/share/dns/root.hints. All servers start side by side and are waited for."""

    def __init__(self, ctx, zones, behaviours=None, port=None, ttl=3600, name='tree'):
        self.ctx = ctx
        self.dir = ctx.path(name)
        os.makedirs(self.dir, exist_ok=True)
        self.ttl = ttl
        self.behaviours = dict(behaviours or {})
        self.zones = {}
        for z, spec in zones.items():
            ns = {}
            for n, a in spec['ns'].items():
                ns[_abs(n).lower()] = [a] if isinstance(a, str) else list(a)
            self.zones[_abs(z).lower() if z != '.' else '.'] = {
                'ns': ns, 'records': spec.get('records', ''), 'glue': spec.get('glue', True)}
        if '.' not in self.zones:
            raise HarnessError('DnsTree: no root zone')
        # every NS name has one address set, whichever zone names it
        self.ns_addrs = {}
        for z, spec in self.zones.items():
            for n, addrs in spec['ns'].items():
                if self.ns_addrs.setdefault(n, addrs) != addrs:
                    raise HarnessError('DnsTree: %s has addresses %r and %r'
                                       % (n, self.ns_addrs[n], addrs))
        for a in self.behaviours:
            if not any(a in addrs for addrs in self.ns_addrs.values()):
                raise HarnessError('DnsTree: behaviour for %s, which serves no zone' % a)
        self.port = port or self._free_port()
        self.zone_files = {}
        for z in self.zones:
            path = os.path.join(self.dir, ('root' if z == '.' else z.rstrip('.')) + '.zone')
            with open(path, 'w') as f:
                f.write(self.zone_text(z))
            self.zone_files[z] = path
        self.root_hints = os.path.join(self.dir, 'root.hints')
        with open(self.root_hints, 'w') as f:
            f.write(self.root_hints_text())
        # one server per address
        self.servers = {}
        for addr in self.addresses():
            served = [z for z in self.zones if addr in self.served_by(z)]
            b = self.behaviours.get(addr, 'nsd')
            if b == 'nsd':
                srv = Nsd(ctx, zones=(), name='nsd-%s' % addr, port=self.port, host=addr,
                          zone_texts={('.' if z == '.' else z.rstrip('.')):
                                      self.zone_text(z) for z in served})
            else:
                srv = FakeNs(ctx, addr, self.port, b, {z: self.zone_files[z] for z in served},
                             root=self.root_ns())
            self.servers[addr] = srv

    def _free_port(self):
        """A port free for UDP and TCP on every address of the tree (free_port() checks only
        127.0.0.1 and ::1; another tree may be running on the same addresses)."""
        for _ in range(50):
            port = free_port()
            socks = []
            try:
                for a in self.addresses():
                    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                        s = socket.socket(_family(a), kind)
                        socks.append(s)
                        s.bind((a, port))
                return port
            except OSError:
                continue
            finally:
                for s in socks:
                    s.close()
        raise HarnessError('DnsTree: no port free on all of %s' % ', '.join(self.addresses()))

    # description ------------------------------------------------------------------------------

    def addresses(self):
        out = []
        for addrs in self.ns_addrs.values():
            out += [a for a in addrs if a not in out]
        return out

    def served_by(self, zone):
        """Addresses of the servers of zone."""
        out = []
        for addrs in self.zones[zone]['ns'].values():
            out += [a for a in addrs if a not in out]
        return out

    def parent(self, zone):
        """The closest enclosing zone of the tree (None for the root)."""
        if zone == '.':
            return None
        n = dns.name.from_text(zone).parent()
        while True:
            t = n.to_text().lower()
            if t in self.zones:
                return t
            n = n.parent()

    def zone_of(self, name):
        """The zone of the tree that is authoritative for name (the closest enclosing one)."""
        n = dns.name.from_text(_abs(name))
        while True:
            t = n.to_text().lower()
            if t in self.zones:
                return t
            n = n.parent()

    def children(self, zone):
        return [z for z in self.zones if self.parent(z) == zone]

    def root_ns(self):
        return [(n, a) for n, a in self.zones['.']['ns'].items()]

    def root_addresses(self):
        return self.served_by('.')

    @staticmethod
    def _addr_lines(name, addrs, ttl):
        return ['%s %d IN %s %s' % (name, ttl, 'AAAA' if ':' in a else 'A', a) for a in addrs]

    def zone_text(self, zone):
        spec = self.zones[zone]
        ns_names = list(spec['ns'])
        origin = zone
        lines = ['$ORIGIN %s' % origin, '$TTL %d' % self.ttl,
                 '@ IN SOA %s hostmaster.%s %d %d %d %d %d'
                 % ((ns_names[0], '' if zone == '.' else zone, TREE_SERIAL) + TREE_SOA)]
        lines += ['@ IN NS %s' % n for n in ns_names]
        addr_names = []  # NS names whose addresses this zone holds (data or glue)
        for n in ns_names:
            if _under(n, zone):
                addr_names.append(n)
        for child in self.children(zone):
            cspec = self.zones[child]
            lines += ['%s IN NS %s' % (child, n) for n in cspec['ns']]
            if cspec['glue']:
                addr_names += [n for n in cspec['ns'] if _under(n, zone)]
        addr_names += [n for n in self.ns_addrs if self.zone_of(n) == zone]
        seen = set()
        for n in addr_names:
            if n not in seen:
                seen.add(n)
                lines += self._addr_lines(n, self.ns_addrs[n], self.ttl)
        lines.append(spec['records'].strip())
        return '\n'.join(lines) + '\n'

    def root_hints_text(self):
        lines = ['; root hints of a DnsTree (harness.py)']
        for n, addrs in self.root_ns():
            lines.append('. 3600000 NS %s' % n)
            lines += self._addr_lines(n, addrs, 3600000)
        return '\n'.join(lines) + '\n'

    # servers ----------------------------------------------------------------------------------

    def start(self, timeout=10.0):
        for srv in self.servers.values():
            srv.start(wait=False)
        for srv in self.servers.values():
            srv.wait_ready(timeout)
        return self

    def stop(self):
        errors = []
        for srv in self.servers.values():
            try:
                srv.stop()
            except HarnessError as e:
                errors.append(e)
        if errors:
            raise errors[0]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def server(self, addr):
        return self.servers[addr]

    def questions(self, addr):
        """What the scripted server at addr was asked: [(transport, name, type)]."""
        srv = self.servers[addr]
        if not isinstance(srv, FakeNs):
            raise HarnessError('%s is an nsd: no question log' % addr)
        return srv.questions()

    def resolver_config(self, cfg):
        """Turn a default_config() into recursive mode on this tree (no DNSSEC)."""
        s = cfg['server']
        s.pop('forwarders', None)
        s['mode'] = 'recursive'
        s['dnssec'] = False
        s['root_hints'] = self.root_hints
        s['ns_port'] = self.port
        s['ns_loopback'] = True
        return cfg


# --------------------------------------------------------------------------------------------
# DNSSEC: a DnsTree whose chosen zones are signed (ldns-keygen, ldns-key2ds, ldns-signzone)


SIGNING_OPTIONS = {
    'algorithm': "'ECDSAP256SHA256' (default) or 'RSASHA256' (2048 bits)",
    'nsec3': 'NSEC3 instead of NSEC (no salt, iterations 0 unless given)',
    'iterations': 'NSEC3 iterations (default 0)',
    'salt': 'NSEC3 salt in hex (default none)',
    'optout': "NSEC3 opt-out: -p, and the NSEC3 of every unsigned delegation removed (its "
              "predecessor re-linked and re-signed), so that its name is only covered by an "
              "opt-out span (ldns-signzone -p sets the flag but still makes those NSEC3s)",
    'inception': 'seconds from now (default -3600)',
    'expiration': 'seconds from now (default +30 days); negative: expired signatures',
    'ds': "the DS the parent gets: 'ksk' (default), 'other' (a KSK the zone does not publish: "
          "DNSKEY missing) or None (no DS: an island of security)",
    'corrupt': "['www A', ...]: one byte of the RRSIG over that RRset flipped (bogus)",
    'strip': "['www A', ...]: the RRSIG over that RRset removed",
}
SIGNING_ALGORITHMS = {'ECDSAP256SHA256': 13, 'RSASHA256': 8}

# Keys made once per process (ldns-keygen): (zone, role, algorithm) -> (base name, {suffix:
# text}); each tree writes them into its own keys/ directory.
_DNSSEC_KEYS = {}


def _read_text(path):
    with open(path) as f:
        return f.read()


def _write_text(path, text):
    with open(path, 'w') as f:
        f.write(text)


def _ldns_private_key(path):
    """The private key of an ldns/BIND .private file, as a cryptography object (ECDSA P-256
    or RSA), for dnspython's dns.dnssec.sign()."""
    import base64
    fields = {}
    for line in _read_text(path).splitlines():
        if ':' in line:
            k, v = line.split(':', 1)
            fields[k.strip()] = v.strip()
    alg = int(fields['Algorithm'].split()[0])
    num = lambda k: int.from_bytes(base64.b64decode(fields[k]), 'big')
    if alg == 13:
        from cryptography.hazmat.primitives.asymmetric import ec
        return ec.derive_private_key(num('PrivateKey'), ec.SECP256R1())
    if alg == 8:
        from cryptography.hazmat.primitives.asymmetric import rsa
        pub = rsa.RSAPublicNumbers(num('PublicExponent'), num('Modulus'))
        return rsa.RSAPrivateNumbers(num('Prime1'), num('Prime2'), num('PrivateExponent'),
                                     num('Exponent1'), num('Exponent2'), num('Coefficient'),
                                     pub).private_key()
    raise HarnessError('%s: algorithm %d not supported here' % (path, alg))


class SignedDnsTree(DnsTree):
    """A DnsTree whose zones named in signing ({zone: options}, SIGNING_OPTIONS) are signed.

    Every signed zone has a KSK (flags 257) and a ZSK (256) made by ldns-keygen (once per
    process, then copied into the tree's keys/ directory); children are signed first and the
    DS of each signed child (ldns-key2ds -2: SHA-256) goes into its parent before the parent
    is signed (ldns-signzone, NSEC or NSEC3), so that the chain runs root → test. → ...
    Then the zone file may be spoiled on purpose (options corrupt, strip, optout).

    trust_anchor: a file with the DS of the root's KSK (zone file lines);
    trust_anchor_dnskey: the same key as a DNSKEY record. Both need '.' among the signed
    zones. dnskeys(zone), ds(zone): what the zone publishes and what its parent holds, as
    dnspython RRsets; unsigned_file(zone) is the text before signing."""

    def __init__(self, ctx, zones, signing, behaviours=None, port=None, ttl=3600, name='tree',
                 now=None):
        missing = [t for t in ('ldns-keygen', 'ldns-key2ds', 'ldns-signzone') if not tool(t)]
        if missing:
            raise HarnessError('SignedDnsTree: %s not found (ldnsutils)' % ', '.join(missing))
        norm = lambda z: '.' if z == '.' else _abs(z).lower()
        self.signing = {}
        for z, opts in signing.items():
            opts = dict(opts or {})
            bad = [k for k in opts if k not in SIGNING_OPTIONS]
            if bad:
                raise HarnessError('SignedDnsTree: %s: unknown options %r (known: %s)'
                                   % (z, bad, ', '.join(SIGNING_OPTIONS)))
            if opts.get('algorithm', 'ECDSAP256SHA256') not in SIGNING_ALGORITHMS:
                raise HarnessError('SignedDnsTree: %s: algorithm %r' % (z, opts['algorithm']))
            if opts.get('optout'):
                opts['nsec3'] = True
            self.signing[norm(z)] = opts
        missing = [z for z in self.signing if z not in {norm(x) for x in zones}]
        if missing:
            raise HarnessError('SignedDnsTree: signing zones not in the tree: %r' % missing)
        self.now = int(now if now is not None else time.time())
        self.key_dir = os.path.join(ctx.path(name), 'keys')
        os.makedirs(self.key_dir, exist_ok=True)
        self.keys = {}        # zone -> {role: key base path (without .key/.private)}
        self._ds = {}         # zone -> DS lines its parent holds
        self._texts = {}      # zone -> final zone file text
        self._unsigned = {}   # zone -> text before signing
        self._dnskeys = {}    # zone -> DNSKEY RRset (dnskeys())
        super().__init__(ctx, zones, behaviours, port, ttl, name)
        self.trust_anchor = self.trust_anchor_dnskey = None
        if '.' in self.signing:
            self.trust_anchor = os.path.join(self.dir, 'trust-anchor.ds')
            _write_text(self.trust_anchor, '; the root KSK of a SignedDnsTree, as DS\n'
                   + ''.join(self.ds_lines('.')))
            self.trust_anchor_dnskey = os.path.join(self.dir, 'trust-anchor.dnskey')
            _write_text(self.trust_anchor_dnskey, '; the root KSK of a SignedDnsTree, as DNSKEY\n'
                   + self._dnskey_line(self.keys['.']['ksk']))

    # keys -------------------------------------------------------------------------------------

    def _key(self, zone, role, algorithm):
        """Base path of the zone's key for role ('ksk', 'zsk', 'ksk-other') in keys/."""
        ck = (zone, role, algorithm)
        if ck not in _DNSSEC_KEYS:
            exe = tool('ldns-keygen')
            if not exe:
                raise HarnessError('ldns-keygen not found (ldnsutils)')
            argv = [exe, '-a', algorithm] + (['-b', '2048'] if algorithm.startswith('RSA') else [])
            argv += (['-k'] if role.startswith('ksk') else []) + [zone]
            base = run_tool(argv, 'ldns-keygen', cwd=self.key_dir).stdout.strip().splitlines()[-1]
            _DNSSEC_KEYS[ck] = (base, {s: _read_text(os.path.join(self.key_dir, base + s))
                                       for s in ('.key', '.private')})
        base, files = _DNSSEC_KEYS[ck]
        for s, text in files.items():
            path = os.path.join(self.key_dir, base + s)
            if not os.path.exists(path):
                _write_text(path, text)
        os.chmod(os.path.join(self.key_dir, base + '.private'), 0o600)
        return os.path.join(self.key_dir, base)

    @staticmethod
    def _dnskey_line(base):
        """The DNSKEY record of a .key file as 'owner 3600 IN DNSKEY ...' (ldns writes it
        without a TTL and with a trailing comment)."""
        lines = [l.split(';')[0].split() for l in _read_text(base + '.key').splitlines()
                 if 'DNSKEY' in l.split(';')[0]]
        if len(lines) != 1:
            raise HarnessError('%s.key: %d DNSKEY records' % (base, len(lines)))
        f = lines[0]
        i = f.index('DNSKEY')
        return '%s 3600 IN DNSKEY %s\n' % (f[0], ' '.join(f[i + 1:]))

    def ds_lines(self, zone):
        """The DS lines the parent of zone holds (none for an unsigned zone or ds: None)."""
        if zone in self._ds:
            return self._ds[zone]
        lines = []
        opts = self.signing.get(zone)
        if opts is not None:
            self._zone_keys(zone)
            which = opts.get('ds', 'ksk')
            if which is not None:
                if which not in ('ksk', 'other'):
                    raise HarnessError('SignedDnsTree: %s: ds %r' % (zone, which))
                key = self.keys[zone]['ksk' if which == 'ksk' else 'ksk-other']
                out = run_tool([tool('ldns-key2ds'), '-n', '-2', key + '.key'], 'ldns-key2ds',
                               cwd=self.key_dir).stdout
                lines = [l.strip() + '\n' for l in out.splitlines() if '\tDS\t' in l or ' DS ' in l]
                if len(lines) != 1:
                    raise HarnessError('ldns-key2ds %s: %r' % (key, out))
        self._ds[zone] = lines
        return lines

    def _zone_keys(self, zone):
        if zone not in self.keys:
            opts = self.signing[zone]
            alg = opts.get('algorithm', 'ECDSAP256SHA256')
            roles = ['ksk', 'zsk'] + (['ksk-other'] if opts.get('ds') == 'other' else [])
            self.keys[zone] = {r: self._key(zone, r, alg) for r in roles}
        return self.keys[zone]

    # zone files -------------------------------------------------------------------------------

    def zone_text(self, zone):
        """The zone file: DnsTree's text plus the DS of its signed children, signed (and
        spoiled as told) when zone is in signing."""
        if zone in self._texts:
            return self._texts[zone]
        text = DnsTree.zone_text(self, zone)
        ds = [l for c in self.children(zone) for l in self.ds_lines(c)]
        if ds:
            text += '; DS of the signed children (ldns-key2ds -2)\n' + ''.join(ds)
        self._unsigned[zone] = text
        if zone in self.signing:
            text = self._sign(zone, text)
        self._texts[zone] = text
        return text

    def unsigned_file(self, zone):
        return os.path.join(self.dir, self._file_base(zone) + '.unsigned')

    @staticmethod
    def _file_base(zone):
        return 'root' if zone == '.' else zone.rstrip('.')

    def _sign(self, zone, text):
        opts = self.signing[zone]
        keys = self._zone_keys(zone)
        src = self.unsigned_file(zone)
        _write_text(src, text)
        out = os.path.join(self.dir, self._file_base(zone) + '.signed')
        inception = self.now + int(opts.get('inception', -3600))
        expiration = self.now + int(opts.get('expiration', 30 * 86400))
        argv = [tool('ldns-signzone'), '-i', str(inception), '-e', str(expiration), '-f', out,
                '-o', zone]
        if opts.get('nsec3'):
            argv += ['-n', '-t', str(int(opts.get('iterations', 0)))]
            if opts.get('salt'):
                argv += ['-s', opts['salt']]
            if opts.get('optout'):
                argv.append('-p')
        argv += [src, keys['ksk'], keys['zsk']]
        run_tool(argv, 'ldns-signzone')
        signed = _read_text(out)
        if opts.get('optout') or opts.get('corrupt') or opts.get('strip'):
            signed = self._spoil(zone, signed, opts, inception, expiration)
        return signed

    def _spoil(self, zone, text, opts, inception, expiration):
        """Opt-out spans, corrupted and removed RRSIGs, on the signed text (dnspython)."""
        import base64
        import dns.dnssec
        import dns.rdataclass
        import dns.rdataset
        import dns.rrset
        import dns.zone
        T = dns.rdatatype
        IN = dns.rdataclass.IN
        origin = dns.name.from_text(zone)
        z = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=True)
        if opts.get('optout'):
            param = z.get_rdataset(origin, T.NSEC3PARAM)[0]
            zsk = self.keys[zone]['zsk']
            dnskey = dns.rrset.from_text(zone, 3600, IN, T.DNSKEY,
                                         self._dnskey_line(zsk).split('DNSKEY', 1)[1].strip())[0]
            priv = _ldns_private_key(zsk + '.private')
            nsec3 = {}  # hash label (lower-case) -> (owner, rdataset)
            for owner, node in z.nodes.items():
                rds = node.get_rdataset(IN, T.NSEC3)
                if rds is not None:
                    nsec3[owner.labels[0].decode().lower()] = owner
            for owner, node in list(z.nodes.items()):
                if owner == origin or node.get_rdataset(IN, T.NS) is None \
                        or node.get_rdataset(IN, T.DS) is not None:
                    continue
                h = dns.dnssec.nsec3_hash(owner, param.salt or None, param.iterations,
                                          param.algorithm).lower()
                gone = nsec3.pop(h, None)
                if gone is None:
                    raise HarnessError('%s: no NSEC3 for the delegation %s' % (zone, owner))
                gone_rd = z.get_rdataset(gone, T.NSEC3)[0]
                prev = [o for o in nsec3.values()
                        if base64.b32hexencode(z.get_rdataset(o, T.NSEC3)[0].next).decode()
                        .lower() == h]
                if len(prev) != 1:
                    raise HarnessError('%s: NSEC3 chain: %r before %s' % (zone, prev, h))
                z.delete_node(gone)
                p = prev[0]
                old = z.get_rdataset(p, T.NSEC3)
                rrset = dns.rrset.RRset(p, IN, T.NSEC3)
                rrset.update_ttl(old.ttl)
                rrset.add(old[0].replace(next=gone_rd.next, flags=old[0].flags | 1))
                node = z.find_node(p)
                node.replace_rdataset(rrset.to_rdataset())
                sig = dns.dnssec.sign(rrset, priv, origin, dnskey, inception, expiration)
                sigs = dns.rrset.RRset(p, IN, T.RRSIG, T.NSEC3)
                sigs.update_ttl(old.ttl)
                sigs.add(sig)
                node.delete_rdataset(IN, T.RRSIG, T.NSEC3)
                node.replace_rdataset(sigs.to_rdataset())
        for what, verb in ([(x, 'corrupt') for x in opts.get('corrupt', [])]
                           + [(x, 'strip') for x in opts.get('strip', [])]):
            rel, rdtype = what.split()
            owner = dns.name.from_text(rel, origin)
            covers = T.from_text(rdtype)
            sigs = z.get_rdataset(owner, T.RRSIG, covers)
            if sigs is None:
                raise HarnessError('%s: no RRSIG over %s %s to %s' % (zone, owner, rdtype, verb))
            node = z.find_node(owner)
            node.delete_rdataset(IN, T.RRSIG, covers)
            if verb == 'corrupt':
                new = dns.rdataset.Rdataset(IN, T.RRSIG, covers, sigs.ttl)
                for rd in sigs:
                    s = bytearray(rd.signature)
                    s[len(s) // 2] ^= 0x5a
                    new.add(rd.replace(signature=bytes(s)))
                node.replace_rdataset(new)
        return '; signed by ldns-signzone, then changed on purpose (harness.SignedDnsTree)\n' \
            + z.to_text(relativize=False)

    # the material as dnspython objects --------------------------------------------------------

    def dnskeys(self, zone):
        """The DNSKEY RRset the zone publishes (None when unsigned)."""
        import dns.rrset
        import dns.zone
        if zone not in self.signing:
            return None
        if zone not in self._dnskeys:
            z = dns.zone.from_text(self.zone_text(zone), origin=zone, relativize=False)
            rds = z.get_rdataset(zone, 'DNSKEY')
            self._dnskeys[zone] = dns.rrset.from_rdata_list(zone, rds.ttl, list(rds))
        return self._dnskeys[zone]

    def ds(self, zone):
        """The DS RRset the parent holds for zone (None if none)."""
        lines = self.ds_lines(zone)
        return _rrset_from_lines(lines, zone) if lines else None

    def resolver_config(self, cfg, trust_anchor=None):
        """DnsTree.resolver_config, validating: dnssec: true, trust_anchor: FILE (the root's
        DS unless given)."""
        super().resolver_config(cfg)
        cfg['server']['dnssec'] = True
        cfg['server']['trust_anchor'] = trust_anchor or self.trust_anchor
        return cfg


def _rrset_from_lines(lines, name):
    """One RRset from zone file lines 'owner [ttl] [class] type rdata' of the same owner."""
    import dns.rrset
    rrset = None
    for line in lines:
        f = line.split()
        i = 1
        ttl = 3600
        if f[i].isdigit():
            ttl = int(f[i])
            i += 1
        if f[i].upper() == 'IN':
            i += 1
        rr = dns.rrset.from_text(f[0], ttl, 'IN', f[i], ' '.join(f[i + 1:]))
        if rrset is None:
            rrset = rr
        else:
            rrset.union_update(rr)
    if rrset is not None and rrset.name != dns.name.from_text(name):
        raise HarnessError('records of %s, not %s' % (rrset.name, name))
    return rrset


# The scripted server itself (the process FakeNs starts).


def _fake_ns_answer(zones, behaviour, root, q, transport):
    """The response to query q (a dns.message), or None to stay silent."""
    import dns.opcode
    import dns.rdataclass
    import dns.rrset
    IN = dns.rdataclass.IN
    T = dns.rdatatype
    r = dns.message.make_response(q, our_payload=1232)
    if behaviour == 'timeout':
        return None
    if q.opcode() != dns.opcode.QUERY or len(q.question) != 1:
        r.set_rcode(dns.rcode.NOTIMP)
        return r
    qname, qtype = q.question[0].name, q.question[0].rdtype
    if behaviour == 'no-0x20':
        r.question = [dns.rrset.RRset(qname.canonicalize(), q.question[0].rdclass, qtype)]
    if behaviour == 'refused':
        r.set_rcode(dns.rcode.REFUSED)
        return r
    if behaviour == 'servfail':
        r.set_rcode(dns.rcode.SERVFAIL)
        return r
    if behaviour == 'lame-empty':
        return r
    if behaviour == 'lame':
        ns = dns.rrset.from_text_list(dns.name.root, 3600000, IN, T.NS, [n for n, _ in root])
        r.authority.append(ns)
        for n, addrs in root:
            for a in addrs:
                r.additional.append(dns.rrset.from_text(n, 3600000, IN,
                                                        T.AAAA if ':' in a else T.A, a))
        return r
    if behaviour == 'truncate' and transport == 'udp':
        r.flags |= dns.flags.AA | dns.flags.TC
        return r
    zone = None
    for origin, z in zones.items():
        if qname.is_subdomain(origin) and (zone is None or origin.is_subdomain(zone.origin)):
            zone = z
    if zone is None:
        r.set_rcode(dns.rcode.REFUSED)
        return r
    r.flags |= dns.flags.AA
    origin = zone.origin

    def add(section, name, rds):
        if not any(x.name == name and x.rdtype == rds.rdtype for x in section):
            section.append(dns.rrset.from_rdata_list(name, rds.ttl, list(rds)))

    def addresses_of(targets):
        for t in targets:
            if t.is_subdomain(origin):
                node = zone.get_node(t)
                for typ in (T.A, T.AAAA):
                    rds = node.get_rdataset(IN, typ) if node else None
                    if rds:
                        add(r.additional, t, rds)

    def negative(name):
        soa = zone.get_node(origin).get_rdataset(IN, T.SOA)
        r.authority.append(dns.rrset.from_rdata_list(origin, min(soa.ttl, soa[0].minimum),
                                                     list(soa)))

    name = qname
    for _ in range(16):  # CNAME/DNAME chase inside the zone
        below = []
        n = name
        while n != origin:
            below.append(n)
            n = n.parent()
        redirected = False
        for n in reversed(below):
            node = zone.get_node(n)
            if node is None:
                continue
            ns = node.get_rdataset(IN, T.NS)
            if ns and not (n == name and qtype == T.DS):
                if not r.answer:  # a referral (after a CNAME into a cut: stop there)
                    r.flags &= ~dns.flags.AA
                    add(r.authority, n, ns)
                    addresses_of([rd.target for rd in ns])
                return r
            dname = node.get_rdataset(IN, T.DNAME) if n != name else None
            if dname:
                add(r.answer, n, dname)
                target = name.relativize(n).derelativize(dname[0].target)
                r.answer.append(dns.rrset.from_text(name, dname.ttl, IN, T.CNAME,
                                                    target.to_text()))
                if not target.is_subdomain(origin):
                    return r
                name = target
                redirected = True
                break
        if redirected:
            continue
        node = zone.get_node(name)
        if node is None:
            ent = any(k != name and k.is_subdomain(name) for k in zone.nodes)
            if not ent:
                r.set_rcode(dns.rcode.NXDOMAIN)
            negative(name)
            return r
        rds = node.get_rdataset(IN, qtype)
        if rds:
            add(r.answer, name, rds)
            if qtype == T.NS:
                addresses_of([rd.target for rd in rds])
            return r
        cname = node.get_rdataset(IN, T.CNAME)
        if cname and qtype != T.CNAME:
            add(r.answer, name, cname)
            if not cname[0].target.is_subdomain(origin):
                return r
            name = cname[0].target
            continue
        negative(name)
        return r
    return r


def _fake_ns_main(tcp_fd, udp_fd, conf_path):
    import dns.exception
    import dns.zone
    with open(conf_path) as f:
        conf = json.load(f)
    behaviour = conf['behaviour']
    root = [(n, a) for n, a in conf['root']]
    zones = {}
    for origin, path in conf['zones'].items():
        z = dns.zone.from_file(path, origin=origin, relativize=False, check_origin=True)
        zones[z.origin] = z
    logf = open(conf['log'], 'a')
    lock = threading.Lock()

    def handle(wire, transport):
        try:
            q = dns.message.from_wire(wire)
        except Exception as e:
            sys.stderr.write('bad query over %s: %s\n' % (transport, e))
            return None
        if q.question:
            with lock:
                logf.write('%s\t%s\t%s\n' % (transport, q.question[0].name.to_text(),
                                             dns.rdatatype.to_text(q.question[0].rdtype)))
                logf.flush()
        r = _fake_ns_answer(zones, behaviour, root, q, transport)
        if r is None:
            return None
        size = 65535
        if transport == 'udp':
            size = max(512, min(q.payload, 1232)) if q.edns >= 0 else 512
        try:
            return r.to_wire(max_size=size)
        except dns.exception.TooBig:
            r.answer, r.authority, r.additional = [], [], []
            r.flags |= dns.flags.TC
            return r.to_wire()

    def serve_tcp(conn):
        try:
            while True:
                hdr = recv_exact(conn, 2, 30.0)
                if len(hdr) < 2:
                    return
                body = recv_exact(conn, struct.unpack('!H', hdr)[0], 30.0)
                out = handle(body, 'tcp')
                if out is not None:
                    conn.sendall(frame(out))
        except (NoAnswer, OSError):
            pass
        finally:
            conn.close()

    def accept_loop(lsock):
        while True:
            conn, _ = lsock.accept()
            threading.Thread(target=serve_tcp, args=(conn,), daemon=True).start()

    tcp_sock = socket.socket(fileno=tcp_fd)
    udp_sock = socket.socket(fileno=udp_fd)
    threading.Thread(target=accept_loop, args=(tcp_sock,), daemon=True).start()
    sys.stdout.write('ready\n')
    sys.stdout.flush()
    while True:
        wire, peer = udp_sock.recvfrom(65535)
        out = handle(wire, 'udp')
        if out is None:
            continue
        if behaviour == 'late' and b'\x04late' in wire[12:18].lower():
            # a server that answers, but late: each answer 300 ms after its query
            threading.Timer(0.3, udp_sock.sendto, (out, peer)).start()
        else:
            udp_sock.sendto(out, peer)


if __name__ == '__main__':
    # harness.py TCPFD UDPFD fake-ns CONFIG: a FakeNs (started by start_script_server)
    if len(sys.argv) == 5 and sys.argv[3] == 'fake-ns':
        _fake_ns_main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[4])
    else:
        sys.stderr.write('usage: harness.py TCPFD UDPFD fake-ns CONFIG.json (FakeNs process)\n')
        sys.exit(2)
