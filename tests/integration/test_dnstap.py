# SPDX-License-Identifier: GPL-3.0-or-later
"""dnstap (compliance.dnstap): client queries and responses written to a Frame Streams collector
(fstrm_capture) and read back with dnstap-ldns: one CLIENT_QUERY and one CLIENT_RESPONSE per
query, over UDP and TCP (and IPv6 when ::1 exists), with the client's address and port, our
listen address and port, the query's ID and the answer (the sinkhole for a blocked name). Also:
the daemon connects again when the collector restarts, a reload switches queries/responses and
reports a changed socket as needing a restart, and a build without dnstap refuses such a file.

Readiness without sleeps: the collector's socket is listening (/proc/net/unix), and fstrm_capture
-dddd logs the control frames of each stream: START when lanhmanhd has connected, "closing (read
N frames" once lanhmanhd ended its stream. fstrm_capture writes its file out when it gets
SIGTERM."""

import datetime
import os
import re
import signal
import socket
import subprocess

import dns.message
import dns.query

import harness
from harness import (HarnessError, TestFailure, check, default_config, eq, free_port,
                     has_ipv6_loopback, run, tool, wait_until)

CONTENT_TYPE = 'protobuf:dnstap.Dnstap'
SINKHOLE = '10.10.10.10'
CLIENT = '127.0.3.7'  # in default_config's network, and not our own address
STREAM_STARTED = r'received FSTRM_CONTROL_START'
STREAM_ENDED = r'closing \(read \d+ frames'


# --------------------------------------------------------------------------------------------
# the collector


def unix_listening(path):
    """True when a Unix stream socket is listening at path (no connection made to find out)."""
    try:
        with open('/proc/net/unix') as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return os.path.exists(path)
    for line in lines:
        fields = line.split()
        # Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = __SO_ACCEPTCON
        if len(fields) >= 8 and fields[7] == path and int(fields[3], 16) & 0x10000:
            return True
    return False


class Capture:
    """fstrm_capture listening on a Unix socket and writing a Frame Streams file."""

    def __init__(self, t, name, sock=None):
        self.name = name
        self.sock = sock or t.path(name + '.sock')
        self.file = t.path(name + '.fstrm')
        self.log = t.path(name + '.log')
        self.proc = None
        t.add_log_source(self)
        t.add_cleanup(self.stop)

    def start(self, timeout=5.0):
        argv = [tool('fstrm_capture'), '-dddd', '-t', CONTENT_TYPE, '-u', self.sock,
                '-w', self.file]
        with open(self.log, 'ab') as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        wait_until(lambda: self._alive() and unix_listening(self.sock), timeout,
                   'fstrm_capture %s listening on %s' % (self.name, self.sock))
        return self

    def _alive(self):
        if self.proc is None or self.proc.poll() is not None:
            raise HarnessError('fstrm_capture %s exited (status %r):\n%s'
                               % (self.name, self.proc and self.proc.returncode, self.log_text()))
        return True

    def log_text(self):
        try:
            with open(self.log, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def wait_log(self, pattern, count=1, timeout=5.0):
        """Wait until pattern has been logged count times (stream started, stream ended)."""
        wait_until(lambda: self._alive() and len(re.findall(pattern, self.log_text())) >= count,
                   timeout, '%r %d time(s) in the log of fstrm_capture %s'
                   % (pattern, count, self.name))

    def stop(self, timeout=5.0):
        """SIGTERM by PID: fstrm_capture writes what it holds, closes the file and exits 0."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        rc, hung = harness._stop_process(proc, 'fstrm_capture', timeout)
        if hung or rc not in (0, -signal.SIGTERM):
            raise TestFailure('fstrm_capture %s: exit status %r after SIGTERM%s'
                              % (self.name, rc, ' (SIGKILL needed)' if hung else ''))

    def read(self, quiet=False):
        """dnstap-ldns's reading of the file: frames (dicts) from its YAML, or the quiet text."""
        argv = [tool('dnstap-ldns')] + ([] if quiet else ['-y']) + ['-r', self.file]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=30)
        if p.returncode != 0:
            raise TestFailure('%s exited with %d:\n%s%s' % (' '.join(argv), p.returncode,
                                                           p.stdout, p.stderr))
        return p.stdout if quiet else parse_frames(p.stdout)

    def dump_logs(self):
        return '---- fstrm_capture %s: %s ----\n%s' % (self.name, self.log, self.log_text())


def parse_frames(text):
    """dnstap-ldns -y output as a list of {'identity', 'version', 'message': {...}}; the DNS
    messages (query_message, response_message) are kept as their text."""
    frames = []
    for doc in re.split(r'^---$', text, flags=re.M):
        if not doc.strip():
            continue
        frame = {'message': {}}
        block = None
        for line in doc.split('\n'):
            if block is not None and (line.startswith('    ') or line == ''):
                frame['message'][block] += line[4:] + '\n'
                continue
            block = None
            m = re.match(r'^( *)(\w+):\s*(.*)$', line)
            if not m:
                continue
            indent, key, value = m.groups()
            if not indent and not value:
                continue  # 'message:', the mapping that follows
            if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
                value = value[1:-1]
            target = frame['message'] if indent else frame
            if value == '|':
                target[key] = ''
                block = key
            else:
                target[key] = value
        frames.append(frame)
    return frames


def question(dns_text):
    """(name, type) of the question of a DNS message as dnstap-ldns prints it."""
    m = re.search(r'^;; QUESTION SECTION:\n;(\S+)\s+IN\s+(\S+)$', dns_text, flags=re.M)
    return (m.group(1).lower(), m.group(2)) if m else (None, None)


def message_id(dns_text):
    m = re.search(r'\bid: (\d+)', dns_text)
    return int(m.group(1)) if m else None


def timestamp(value):
    return datetime.datetime.strptime(value.replace('!!timestamp ', ''), '%Y-%m-%d %H:%M:%S.%f')


# --------------------------------------------------------------------------------------------
# the daemon and the queries


def built_with_dnstap(t):
    """Whether this lanhmanhd has dnstap: --check-config on a file that asks for it. With
    dnstap, the tools that read it back must be there."""
    cfg = default_config(t, free_port(), ['127.0.0.1:9'], name='probe')
    cfg['compliance'] = {'dnstap': {'socket': t.path('probe.sock')}}
    path = t.path('probe.yaml')
    with open(path, 'w') as f:
        f.write(harness.to_yaml(cfg) + '\n')
    p = subprocess.run([harness.lanhmanhd_path(), '--check-config', '-c', path],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    if p.returncode == 0:
        missing = [x for x in ('fstrm_capture', 'dnstap-ldns') if not tool(x)]
        if missing:
            raise HarnessError('lanhmanhd has dnstap, but %s missing (packages fstrm-bin, '
                               'dnstap-ldns)' % ' and '.join(missing))
        return True
    if 'built without dnstap' in p.stderr:
        return False
    raise HarnessError('lanhmanhd --check-config failed on the probe file (%d):\n%s%s'
                       % (p.returncode, p.stdout, p.stderr))


def config(t, nsd, sock, queries=True, responses=True):
    """The default test config on a fresh port, plus a blocklist, a sinkhole and dnstap."""
    port = free_port()
    cfg = default_config(t, port, [nsd.addr])
    if has_ipv6_loopback():
        cfg['server']['listen'].append('[::1]:%d' % port)
        cfg['networks'].append({'name': 'IPv6 loopback', 'id': 'lo6', 'cidr': ['::1/128']})
    lists = t.path('lists')
    os.makedirs(lists, exist_ok=True)
    with open(os.path.join(lists, 'adult.txt'), 'w') as f:
        f.write('blocked.example.test\n')
    cfg['sinkhole'] = {'ipv4': SINKHOLE, 'ipv6': 'fd00:10::10', 'ttl': 60}
    cfg['lists'] = [{'name': 'adult', 'category': 'adult', 'format': 'domains',
                     'file': os.path.join(lists, 'adult.txt')}]
    cfg['compliance'] = {'dnstap': {'socket': sock, 'queries': queries,
                                    'responses': responses}}
    return cfg


def daemon(t, cfg):
    port = int(cfg['server']['listen'][0].rsplit(':', 1)[1])
    return t.daemon(config=cfg, port=port)


class Sent:
    """One query sent from a socket we bound ourselves, so that its port is known."""

    def __init__(self, name, proto, client, client_port, server, server_port, qid, reply):
        self.name = name.lower().rstrip('.') + '.'
        self.proto, self.client, self.client_port = proto, client, client_port
        self.server, self.server_port, self.qid, self.reply = server, server_port, qid, reply

    def __repr__(self):
        return '%s %s from %s port %d (id %d)' % (self.name, self.proto, self.client,
                                                 self.client_port, self.qid)

    def addresses(self):
        return sorted(rd.to_text() for rrs in self.reply.answer for rd in rrs if rrs.rdtype == 1)


def ask(port, name, tcp=False, client=CLIENT):
    server = '::1' if ':' in client else '127.0.0.1'
    family = socket.AF_INET6 if ':' in client else socket.AF_INET
    q = dns.message.make_query(name, 'A', use_edns=0)
    s = socket.socket(family, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    try:
        s.bind((client, 0))
        client_port = s.getsockname()[1]
        if tcp:
            s.settimeout(3.0)
            s.connect((server, port))
            r = dns.query.tcp(q, server, timeout=3.0, port=port, sock=s)
        else:
            r = dns.query.udp(q, server, timeout=3.0, port=port, sock=s)
    finally:
        s.close()
    return Sent(name, 'TCP' if tcp else 'UDP', client, client_port, server, port, q.id, r)


def frames_of(frames, sent, mtype):
    """The frames of type mtype ('CLIENT_QUERY'...) that belong to query sent."""
    out = []
    for f in frames:
        m = f['message']
        text = m.get('query_message' if mtype == 'CLIENT_QUERY' else 'response_message', '')
        if (m.get('type') == mtype and m.get('query_address') == sent.client
                and m.get('query_port') == str(sent.client_port)
                and m.get('socket_protocol') == sent.proto and question(text)[0] == sent.name):
            out.append(f)
    return out


def expect_tapped(frames, sent, query=True, response=True):
    """One CLIENT_QUERY and one CLIENT_RESPONSE for sent (or none when off), fully checked."""
    family = 'INET6' if ':' in sent.client else 'INET'
    pair = {}
    for mtype, want, key in (('CLIENT_QUERY', query, 'query_message'),
                             ('CLIENT_RESPONSE', response, 'response_message')):
        got = frames_of(frames, sent, mtype)
        eq(len(got), 1 if want else 0, '%s frames for %r' % (mtype, sent))
        if not want:
            continue
        f = got[0]
        m = f['message']
        eq(f.get('type'), 'MESSAGE', 'frame type')
        eq(f.get('identity'), socket.gethostname(), 'identity')
        check(f.get('version', '').startswith('lanhmanh '), 'version %r' % f.get('version'))
        eq(m.get('socket_family'), family, '%s socket_family of %r' % (mtype, sent))
        eq(m.get('response_address'), sent.server, '%s response_address of %r' % (mtype, sent))
        eq(m.get('response_port'), str(sent.server_port),
           '%s response_port of %r' % (mtype, sent))
        eq(message_id(m[key]), sent.qid, '%s: DNS message ID of %r' % (mtype, sent))
        pair[mtype] = m
    if query and response:
        tq = timestamp(pair['CLIENT_QUERY']['query_time'])
        tr = timestamp(pair['CLIENT_RESPONSE']['response_time'])
        check(tq <= tr, 'query_time %s after response_time %s for %r' % (tq, tr, sent))
    return pair.get('CLIENT_RESPONSE')


# --------------------------------------------------------------------------------------------
# the tests


def test_queries_and_responses(t):
    if not built_with_dnstap(t):
        print('   (built without dnstap: see test_without_dnstap)')
        return
    with t.nsd() as nsd:
        cap = Capture(t, 'collector').start()
        cfg = config(t, nsd, cap.sock)
        with daemon(t, cfg) as d:
            cap.wait_log(STREAM_STARTED)
            p = d.port
            www_miss = ask(p, 'www.example.test')
            www_hit = ask(p, 'www.example.test')
            h7_tcp = ask(p, 'h7.example.test', tcp=True)
            blocked = ask(p, 'blocked.example.test')
            blocked_tcp = ask(p, 'x.blocked.example.test', tcp=True)
            sent = [www_miss, www_hit, h7_tcp, blocked, blocked_tcp]
            if has_ipv6_loopback():
                sent.append(ask(p, 'h8.example.test', client='::1'))
            for s in (www_miss, www_hit):
                eq(s.addresses(), ['192.0.2.1'], 'answer to %r' % s)
            eq(h7_tcp.addresses(), ['198.51.100.7'], 'answer to %r' % h7_tcp)
            for s in (blocked, blocked_tcp):
                eq(s.addresses(), [SINKHOLE], 'answer to %r' % s)
            status = d.ctl('status').expect_ok().stdout
            check(re.search(r'^dnstap: %s \(queries on, responses on\), 0 frames dropped$'
                            % re.escape(cap.sock), status, flags=re.M),
                  'no dnstap line in lanhmanh status:\n' + status)
        # The daemon has stopped (SIGTERM by PID, waited for): its stream ended with a flush.
        cap.wait_log(STREAM_ENDED)
        cap.stop()
    frames = cap.read()
    eq(len(frames), 2 * len(sent), 'frames written (one query and one response per query)')
    for s in sent:
        expect_tapped(frames, s)
    for s in (blocked, blocked_tcp):
        r = expect_tapped(frames, s)
        check(re.search(r'^%s\s+60\s+IN\s+A\s+%s$' % (re.escape(s.name), re.escape(SINKHOLE)),
                        r['response_message'], flags=re.M),
              'the response to %r does not carry the sinkhole:\n%s'
              % (s, r['response_message']))
    r = expect_tapped(frames, www_hit)
    check(re.search(r'^www\.example\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.1$',
                    r['response_message'], flags=re.M),
          'the cached answer is not in its frame:\n' + r['response_message'])
    quiet = cap.read(quiet=True)
    print(quiet, end='')
    for s in sent:
        for mnemonic in ('CQ', 'CR'):
            check(re.search(r' %s %s %s \d+b "%s" IN A$' % (mnemonic, re.escape(s.client),
                                                            s.proto, re.escape(s.name)),
                            quiet, flags=re.M),
                  'dnstap-ldns -r shows no %s line for %r:\n%s' % (mnemonic, s, quiet))


def test_collector_restarts(t):
    """The collector goes away and comes back on the same socket: lanhmanhd connects again."""
    if not built_with_dnstap(t):
        return
    with t.nsd() as nsd:
        first = Capture(t, 'first').start()
        cfg = config(t, nsd, first.sock)
        with daemon(t, cfg) as d:
            first.wait_log(STREAM_STARTED)
            ask(d.port, 'h1.example.test')
            first.stop()
            second = Capture(t, 'second', sock=first.sock).start()
            # The I/O thread sees the old stream fail at its next write and reconnects within a
            # second: keep the traffic going until the new collector logs our stream's START.
            def reconnected():
                ask(d.port, 'h2.example.test')
                return re.search(STREAM_STARTED, second.log_text())
            wait_until(reconnected, 10.0, 'lanhmanhd to reconnect to the restarted collector',
                       interval=0.1)
            marker = ask(d.port, 'h3.example.test', tcp=True)
            d.expect_alive('after the collector restarted')
        second.wait_log(STREAM_ENDED)
        second.stop()
    expect_tapped(second.read(), marker)


def test_reload(t):
    """queries/responses follow a reload; a new socket needs a restart (and is said so)."""
    if not built_with_dnstap(t):
        return
    with t.nsd() as nsd:
        cap = Capture(t, 'collector').start()
        cfg = config(t, nsd, cap.sock, queries=True, responses=False)
        with daemon(t, cfg) as d:
            cap.wait_log(STREAM_STARTED)
            before = ask(d.port, 'h4.example.test')
            cfg['compliance']['dnstap'] = {'socket': t.path('elsewhere.sock'), 'queries': False,
                                           'responses': True}
            d.write_config(cfg)
            d.reload()
            after = ask(d.port, 'h5.example.test', tcp=True)
            status = d.ctl('status').expect_ok().stdout
            check('dnstap: %s (queries off, responses on)' % cap.sock in status,
                  'lanhmanh status after the reload:\n' + status)
        cap.wait_log(STREAM_ENDED)
        cap.stop()
        with open(d.stderr_path, errors='replace') as f:
            log = f.read()
        check('compliance.dnstap.socket changed: restart lanhmanhd to apply it' in log,
              'no restart warning for the changed socket in the log:\n' + log)
    frames = cap.read()
    expect_tapped(frames, before, query=True, response=False)
    expect_tapped(frames, after, query=False, response=True)
    eq(len(frames), 2, 'frames written')


def test_without_dnstap(t):
    """A build without dnstap refuses a file that asks for it, in --check-config and at start."""
    if built_with_dnstap(t):
        print('   (built with dnstap: the refusal is not checked)')
        return
    port = free_port()
    cfg = default_config(t, port, ['127.0.0.1:9'])
    cfg['compliance'] = {'dnstap': {'socket': t.path('tap.sock')}}
    path = t.path('lanhmanh.yaml')
    with open(path, 'w') as f:
        f.write(harness.to_yaml(cfg) + '\n')
    for argv in ([harness.lanhmanhd_path(), '--check-config', '-c', path],
                 [harness.lanhmanhd_path(), '-c', path]):
        # Exits at once; the timeout only guards against a daemon that would start anyway.
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=20)
        eq(p.returncode, 1, 'exit status of %s' % ' '.join(argv))
        check('built without dnstap' in p.stderr and 'compliance.dnstap' in p.stderr,
              '%s: no clear message:\n%s' % (' '.join(argv), p.stderr))


if __name__ == '__main__':
    # fstrm_capture and dnstap-ldns: needed only when lanhmanhd has dnstap (built_with_dnstap)
    run(globals(), needs=('nsd',))
