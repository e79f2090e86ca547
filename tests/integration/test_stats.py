# SPDX-License-Identifier: GPL-3.0-or-later
"""Compliance statistics end to end: counting, the local store, the spool, the authority.

The authority is played by the test: a small HTTPS receiver (http.server + ssl, run with
/usr/bin/python3, certificate from a test CA made with openssl) that checks each batch's Ed25519
signature against the reporter's public key (python3-cryptography), keeps the batches it took
in a file (so that it remembers them across its own restarts, as a real receiver's database
would) and deduplicates by idempotency key. Its behaviour is set by a file: 'ok', or
'lose-ack-once' (take the batch, then answer 500 once, as if the acknowledgement were lost).

Intervals are closed with `lanhmanh stats flush` (the interval timer is an hour: it never fires
during a test); an upload is over when the receiver's log says so.

Clients are loopback addresses in three networks: 79-TH-0001 (127.0.3.0/24, no group: every
category blocked), 79-TH-0002 (127.0.5.0/24, group thcs) and 79-TH-0003 (127.0.6.0/24, sends
fewer queries than k = 3: folded into "other" in what is exported, kept as is locally).

- test_exact_totals_through_outage: batches delivered, then the receiver stopped for two
  intervals (status shows the spool and the error), restarted losing one acknowledgement: every
  batch arrives, the duplicate is recognised by its key, and the sums over all batches equal the
  queries sent, per network, category and national name.
- test_kill9_between_spool_and_upload: a batch spooled while the receiver is down, the daemon
  killed with SIGKILL, restarted with the receiver up: the batch arrives once, totals exact.
- test_no_client_address_leaves: no client address in the batches, the spool, or the store
  (client_ids: none); k-folding: the small network is "other" in the batch, itself in the store.
- test_retention: rows older than retention_days are deleted at start, the spool is not.
- test_query_log: the local log of blocked queries with pseudonymous client ids (no address,
  the same pseudonym for the same client on one day), and with full ids.
"""

import base64
import json
import os
import signal
import sqlite3
import subprocess
import time

import harness
from harness import (HarnessError, check, default_config, eq, make_pki, run, udp,
                     wait_until)

for _v in ('http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY'):
    os.environ.pop(_v, None)

PYTHON = '/usr/bin/python3'
SINK4 = '10.10.10.10'
K = 3

REAL = {'ok.example.test': '192.0.2.41', 'ok2.example.test': '192.0.2.42'}
UPSTREAM_ZONE = ('$ORIGIN example.test.\n$TTL 300\n'
                 '@ 120 IN SOA ns.example.test. hostmaster.example.test. 2024010101 3600 600 '
                 '86400 60\n@ IN NS ns.example.test.\nns IN A 127.0.0.1\n'
                 + ''.join('%s. IN A %s\n' % (n, a) for n, a in REAL.items()))
ADULT = 'adult.example.test\n'
NATIONAL = 'nat1.example.test\nnat2.example.test\n'

NET1, NET2, NET3 = '79-TH-0001', '79-TH-0002', '79-TH-0003'
CLIENT = {NET1: '127.0.3.10', NET2: '127.0.5.10', NET3: '127.0.6.10'}

RECEIVER_PY = r'''
import base64, http.server, json, os, socket, ssl, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature
fd, cert, key, pub, d = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
pk = Ed25519PublicKey.from_public_bytes(base64.b64decode(pub))
sock = socket.socket(fileno=fd)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
log = open(os.path.join(d, 'requests.log'), 'a', buffering=1)
store = os.path.join(d, 'batches.jsonl')
seen = set()
if os.path.exists(store):
    for line in open(store):
        seen.add(json.loads(line)['idempotency_key'])

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.0'
    def log_message(self, *args):
        pass
    def reply(self, code, text):
        body = (text + '\n').encode()
        self.send_response(code)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        key = self.headers.get('Idempotency-Key', '')
        sig = self.headers.get('X-Lanhmanh-Signature', '')
        mode = open(os.path.join(d, 'mode')).read().strip()
        try:
            if not sig.startswith('ed25519='):
                raise InvalidSignature()
            pk.verify(base64.b64decode(sig[8:]), body)
        except (InvalidSignature, ValueError):
            log.write('BADSIG %s\n' % key)
            return self.reply(401, 'bad signature')
        batch = json.loads(body)
        if batch['idempotency_key'] != key:
            log.write('KEYMISMATCH %s\n' % key)
            return self.reply(400, 'key mismatch')
        if key in seen:
            log.write('DUP %s %d\n' % (key, batch['seq']))
            return self.reply(200, 'already have it')
        seen.add(key)
        with open(store, 'a') as f:
            f.write(json.dumps(batch) + '\n')
            f.flush()
            os.fsync(f.fileno())
        if mode == 'lose-ack-once':
            open(os.path.join(d, 'mode'), 'w').write('ok\n')
            log.write('LOSTACK %s %d\n' % (key, batch['seq']))
            return self.reply(500, 'oops')
        log.write('OK %s %d\n' % (key, batch['seq']))
        self.reply(201, 'stored')

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def finish_request(self, request, client_address):
        try:
            conn = ctx.wrap_socket(request, server_side=True)
            self.RequestHandlerClass(conn, client_address, self)
        except OSError as e:
            log.write('TLS %s\n' % e)

srv = Server(('127.0.0.1', 0), Handler, bind_and_activate=False)
srv.socket.close()
srv.socket = sock
print('ready', flush=True)
srv.serve_forever()
'''


def make_key(t):
    """The reporter's key, made with `lanhmanh keygen`; returns (key file, public key)."""
    path = t.path('report.key')
    p = subprocess.run([harness.lanhmanh_path(), 'keygen', path], capture_output=True, text=True,
                       timeout=30)
    if p.returncode != 0:
        raise HarnessError('lanhmanh keygen failed: %s%s' % (p.stdout, p.stderr))
    eq(os.stat(path).st_mode & 0o777, 0o600, 'key file mode')
    pub = p.stdout.strip().splitlines()[-1]
    eq(len(base64.b64decode(pub)), 32, 'public key length')
    return path, pub


class Receiver:
    """The authority's HTTPS receiver on 127.0.0.1:port (the same port across restarts)."""

    def __init__(self, t, pub):
        self.t = t
        self.ca, self.cert, self.key = make_pki(t)
        self.pub = pub
        self.dir = t.path('receiver')
        os.makedirs(self.dir, exist_ok=True)
        self.script = os.path.join(self.dir, 'receiver.py')
        self.log = os.path.join(self.dir, 'requests.log')
        self.err = os.path.join(self.dir, 'receiver.err')
        with open(self.script, 'w') as f:
            f.write(RECEIVER_PY)
        open(self.log, 'a').close()
        self.set_mode('ok')
        self.port = None
        self.proc = None
        t.add_log_source(self)
        t.add_cleanup(self.stop)

    @property
    def url(self):
        return 'https://127.0.0.1:%d/v1/reports' % self.port

    def set_mode(self, mode):
        with open(os.path.join(self.dir, 'mode'), 'w') as f:
            f.write(mode + '\n')

    def start(self, timeout=10.0):
        self.proc, self.port = harness.start_script_server(
            self.script, [self.cert, self.key, self.pub, self.dir], self.err, self.port,
            'receiver', timeout)
        return self

    def stop(self):
        if self.proc is not None:
            harness.stop_script_server(self.proc, 'receiver')
            self.proc = None

    def batches(self):
        path = os.path.join(self.dir, 'batches.jsonl')
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def requests(self):
        with open(self.log) as f:
            return f.read().split('\n')

    def wait_batches(self, n, timeout=20.0):
        wait_until(lambda: len(self.batches()) >= n, timeout,
                   'the receiver to hold %d batches' % n)
        return self.batches()

    def dump_logs(self):
        return '---- receiver requests ----\n%s\n---- receiver stderr ----\n%s' % (
            harness._tail(self.log), harness._tail(self.err))


def config(t, port, upstream, receiver=None, key=None, **extra):
    c = default_config(t, port, ['127.0.0.1:%d' % upstream])
    lists_dir = t.path('lists')
    os.makedirs(lists_dir, exist_ok=True)
    with open(os.path.join(lists_dir, 'adult.txt'), 'w') as f:
        f.write(ADULT)
    with open(os.path.join(lists_dir, 'national.txt'), 'w') as f:
        f.write(NATIONAL)
    c['networks'] = [
        {'name': 'Trường TH Lê Lợi', 'id': NET1, 'cidr': ['127.0.3.0/24']},
        {'name': 'Trường THCS "Nguyễn Du"', 'id': NET2, 'cidr': ['127.0.5.0/24'],
         'group': 'thcs'},
        {'name': 'Điểm trường nhỏ', 'id': NET3, 'cidr': ['127.0.6.0/24']},
    ]
    c['sinkhole'] = {'ipv4': SINK4}
    c['lists'] = [
        {'name': 'national', 'category': 'national', 'file': os.path.join(lists_dir, 'national.txt'),
         'format': 'domains'},
        {'name': 'adult', 'category': 'adult', 'file': os.path.join(lists_dir, 'adult.txt'),
         'format': 'domains'},
    ]
    comp = {'reporter_id': '79-SGD-TEST', 'interval': '1h', 'k_threshold': K,
            'client_ids': 'none'}
    if receiver:
        comp['authority'] = {'url': receiver.url, 'key_file': key, 'ca_file': receiver.ca}
    comp.update(extra)
    c['compliance'] = comp
    return c


class Sent:
    """What the test sent, to compare with what the authority received."""

    def __init__(self):
        self.queries = {}
        self.blocked = {}  # (network, category) -> n
        self.national = {}  # (network, name) -> n

    def send(self, port, net, name, n, category=None):
        for _ in range(n):
            r = udp(port, name, source=CLIENT[net])
            if category:
                r.expect_values(name, 'A', [SINK4])
                self.blocked[(net, category)] = self.blocked.get((net, category), 0) + 1
                if category == 'national':
                    self.national[(net, name)] = self.national.get((net, name), 0) + 1
            else:
                r.expect_values(name, 'A', [REAL[name]])
        self.queries[net] = self.queries.get(net, 0) + n

    def round(self, port, scale=1):
        self.send(port, NET1, 'ok.example.test', 6 * scale)
        self.send(port, NET1, 'adult.example.test', 4 * scale, 'adult')
        self.send(port, NET1, 'nat1.example.test', 3 * scale, 'national')
        self.send(port, NET2, 'ok2.example.test', 5 * scale)
        self.send(port, NET2, 'nat2.example.test', 3 * scale, 'national')
        self.send(port, NET3, 'ok.example.test', 1)  # below k: "other" in the batch


def sums(batches):
    """Totals over batches: queries per network, blocks per (network, category), national
    names per (network, name)."""
    q, b, n = {}, {}, {}
    for x in batches:
        for r in x['totals']:
            q[r['network_id']] = q.get(r['network_id'], 0) + r['queries']
        for r in x['blocks']:
            k = (r['network_id'], r['category'])
            b[k] = b.get(k, 0) + r['count']
        for r in x['top_national']:
            k = (r['network_id'], r['domain'])
            n[k] = n.get(k, 0) + r['count']
    return q, b, n


def expect_sums(batches, sent):
    q, b, n = sums(batches)
    want_q = {NET1: sent.queries[NET1], NET2: sent.queries[NET2], 'other': sent.queries[NET3]}
    eq(q, want_q, 'queries per network over all batches')
    eq(b, sent.blocked, 'blocks per network and category over all batches')
    eq(n, sent.national, 'national names per network over all batches')
    seqs = [x['seq'] for x in batches]
    eq(seqs, sorted(set(seqs)), 'sequence numbers (each once, increasing)')
    for x in batches:
        eq(x['queries'], sum(r['queries'] for r in x['totals']), 'batch queries = sum of totals')
        eq(x['reporter_id'], '79-SGD-TEST', 'reporter id')


def flush(d):
    d.ctl('stats', 'flush').expect_ok()


def setup(t, receiver_mode='ok', **extra):
    nsd = harness.Nsd(t, zone_texts={'example.test': UPSTREAM_ZONE}).start()
    key, pub = make_key(t)
    rcv = Receiver(t, pub)
    rcv.set_mode(receiver_mode)
    rcv.start()
    port = harness.free_port()
    d = harness.Daemon(t, config=config(t, port, nsd.port, rcv, key, **extra), port=port)
    return nsd, rcv, d


def metrics(port):
    import urllib.request
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=5) as r:
        text = r.read().decode()
    promtool = harness.tool('promtool')
    if promtool:
        p = subprocess.run([promtool, 'check', 'metrics'], input=text, capture_output=True,
                           text=True, timeout=30)
        check(p.returncode == 0, 'promtool check metrics:\n%s%s' % (p.stdout, p.stderr))
    return {l.split(' ')[0]: l.split(' ')[1] for l in text.splitlines()
            if l.startswith('lanhmanh_spool') or l.startswith('lanhmanh_export')}


def test_exact_totals_through_outage(t):
    mport = harness.free_port()
    nsd, rcv, d = setup(t, metrics='127.0.0.1:%d' % mport)
    sent = Sent()
    with d:
        sent.round(d.port)
        flush(d)
        b = rcv.wait_batches(1)
        expect_sums(b, sent)
        one = b[0]
        eq(one['schema'], 'lanhmanh-report/1', 'schema')
        check(one['national_list'] is not None and one['national_list']['version'],
              'the national list version in force is in the batch: %r' % one['national_list'])
        eq(one['k_threshold'], K, 'k')
        # the authority goes away for two intervals
        rcv.stop()
        sent.round(d.port, 2)
        flush(d)
        wait_until(lambda: 'last error' in d.ctl('status').stdout, 20,
                   'status to report the failed upload')
        sent.round(d.port)
        flush(d)
        st = d.ctl('status').expect_ok().stdout
        check('export: ' in st and 'spool 2 batches' in st, 'status shows the spool:\n' + st)
        m = metrics(mport)
        eq(m.get('lanhmanh_spool_batches'), '2', '/metrics: spool depth')
        check(int(m.get('lanhmanh_export_last_success_timestamp_seconds', '0')) > 0,
              '/metrics: the first delivery: %r' % m)
        # back, losing the acknowledgement of the first batch it takes
        rcv.set_mode('lose-ack-once')
        rcv.start()
        flush(d)  # an empty interval, and "try now"
        b = rcv.wait_batches(4, timeout=30)
        wait_until(lambda: 'spool 0 batches' in d.ctl('status').stdout, 20,
                   'the spool to drain')
        expect_sums(rcv.batches(), sent)
        reqs = rcv.requests()
        check(any(l.startswith('LOSTACK') for l in reqs) and any(l.startswith('DUP') for l in reqs),
              'a lost acknowledgement and the resent duplicate:\n' + '\n'.join(reqs))
        check(not any(l.startswith('BADSIG') for l in reqs), 'every signature verified')


def test_kill9_between_spool_and_upload(t):
    nsd, rcv, d = setup(t)
    sent = Sent()
    d.start()
    sent.round(d.port)
    flush(d)
    rcv.wait_batches(1)
    rcv.stop()
    sent.round(d.port, 3)
    flush(d)
    db = os.path.join(d.config['server']['state_dir'], 'stats.sqlite')
    with sqlite3.connect(db) as c:
        eq(c.execute('SELECT count(*) FROM outbox').fetchone()[0], 1, 'batches in the spool')
    os.kill(d.proc.pid, signal.SIGKILL)
    d.proc.wait()
    d.proc = None
    rcv.start()
    d.start()
    b = rcv.wait_batches(2, timeout=30)
    expect_sums(b, sent)
    d.stop()


def test_spool_full(t):
    """A spool too small for the outage: the intervals wait in the store (status and /metrics say
    so) and go, in order, once the authority is back; nothing lost."""
    mport = harness.free_port()
    nsd, rcv, d = setup(t, metrics='127.0.0.1:%d' % mport)
    d.config['compliance']['authority']['spool_limit'] = '4KiB'
    d.write_config(d.config)
    sent = Sent()
    with d:
        rcv.stop()
        for _ in range(10):
            sent.round(d.port)
            flush(d)
        st = d.ctl('status').expect_ok().stdout
        check('ALERT spool full' in st, 'status says the spool is full:\n' + st)
        waiting = int(metrics(mport)['lanhmanh_spool_waiting_intervals'])
        check(waiting > 0, '/metrics: intervals waiting for room: %d' % waiting)
        rcv.start()
        flush(d)
        rcv.wait_batches(11, timeout=60)
        wait_until(lambda: 'spool 0 batches' in d.ctl('status').stdout, 30, 'the spool to drain')
    b = rcv.batches()
    expect_sums(b, sent)
    eq([x['seq'] for x in b], sorted(x['seq'] for x in b), 'delivered in order')


def test_no_client_address_leaves(t):
    nsd, rcv, d = setup(t)
    sent = Sent()
    with d:
        sent.round(d.port)
        flush(d)
        rcv.wait_batches(1)
        rcv.stop()  # the next batch stays in the spool
        sent.round(d.port)
        flush(d)
    b = rcv.batches()
    one = b[0]
    nets = sorted(set(r['network_id'] for r in one['totals']))
    eq(nets, sorted([NET1, NET2, 'other']), 'networks in the batch (the small one folded)')
    for r in one['blocks']:
        check(r['count'] >= K or r['network_id'] == 'other', 'no block record below k: %r' % r)
    db = os.path.join(d.config['server']['state_dir'], 'stats.sqlite')
    with sqlite3.connect(db) as c:
        local = sorted(set(r[0] for r in c.execute('SELECT network_id FROM totals')))
        eq(local, sorted([NET1, NET2, NET3]), 'networks in the local store (nothing folded)')
        names = [r[0] for r in c.execute(
            'SELECT network_name FROM totals WHERE network_id = ?', (NET2,))]
        check(names and names[0] == 'Trường THCS "Nguyễn Du"', 'network name kept: %r' % names)
        spool = b''.join(bytes(r[0]) if isinstance(r[0], (bytes, bytearray)) else r[0].encode()
                         for r in c.execute('SELECT body FROM outbox'))
        check(spool, 'a batch waits in the spool')
        dump = '\n'.join(c.iterdump())
    everything = json.dumps(b) + spool.decode() + dump
    for addr in CLIENT.values():
        check(addr not in everything, 'client address %s found in what is stored or sent' % addr)
    check('127.0.' not in json.dumps(b) + spool.decode(),
          'no loopback address at all in the batches')
    check('Nguyễn Du' not in json.dumps(b), 'network names stay local')


def test_retention(t):
    nsd = harness.Nsd(t, zone_texts={'example.test': UPSTREAM_ZONE}).start()
    port = harness.free_port()
    d = harness.Daemon(t, config=config(t, port, nsd.port, retention_days=30), port=port)
    sent = Sent()
    with d:
        sent.round(d.port)
        flush(d)
    db = os.path.join(d.config['server']['state_dir'], 'stats.sqlite')
    old = int(time.time()) - 40 * 86400  # an interval 0 (the daemon numbers them from 1)
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO intervals (id, start, end, day, queries, blocked, spooled) "
                  "VALUES (0, ?, ?, '2026-01-01', 5, 1, 2)", (old - 300, old))
        c.execute("INSERT INTO totals VALUES (0, 'old-net', 'old', '', 'all', 5, 1)")
        c.execute("INSERT INTO outbox (seq, idempotency_key, created, body, signature) "
                  "VALUES (999, 'k-old', ?, '{}', 'ed25519=x')", (old,))
        before = [r[0] for r in c.execute('SELECT id FROM intervals ORDER BY id')]
    check(0 in before and len(before) >= 2, 'intervals before: %r' % before)
    d.start()
    d.stop()
    with sqlite3.connect(db) as c:
        after = [r[0] for r in c.execute('SELECT id FROM intervals ORDER BY id')]
    check(0 not in after and set(before) - {0} <= set(after),
          'the old interval deleted at start, the others kept: %r -> %r' % (before, after))
    with sqlite3.connect(db) as c:
        eq(c.execute("SELECT count(*) FROM totals WHERE network_id = 'old-net'").fetchone()[0],
           0, 'rows of the old interval')
        eq(c.execute('SELECT count(*) FROM outbox WHERE seq = 999').fetchone()[0], 1,
           'the spool is not pruned')
        eq(c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0], '1',
           'schema version')


def test_query_log(t):
    nsd = harness.Nsd(t, zone_texts={'example.test': UPSTREAM_ZONE}).start()
    port = harness.free_port()
    c = config(t, port, nsd.port, query_log=True, client_ids='pseudonymous')
    d = harness.Daemon(t, config=c, port=port)
    db = os.path.join(c['server']['state_dir'], 'stats.sqlite')
    with d:
        for client in ('127.0.3.10', '127.0.3.11'):
            for _ in range(2):
                udp(d.port, 'adult.example.test', source=client).expect_values(
                    'adult.example.test', 'A', [SINK4])
        udp(d.port, 'ok.example.test', source='127.0.3.10').expect_values(
            'ok.example.test', 'A', [REAL['ok.example.test']])
        flush(d)  # writes what the workers logged
        with sqlite3.connect(db) as conn:
            rows = conn.execute('SELECT client, network_id, grp, qname, qtype, category, list '
                                'FROM query_log ORDER BY rowid').fetchall()
            dump = '\n'.join(conn.iterdump())
        eq(len(rows), 4, 'blocked queries logged (the passed one is not)')
        per = {}
        for r in rows:
            eq(r[1:], (NET1, 'all', 'adult.example.test', 1, 'adult', 'adult'), 'log line')
            check(r[0].startswith('c-') and len(r[0]) == 18, 'a pseudonym: %r' % (r[0],))
            per[r[0]] = per.get(r[0], 0) + 1
        eq(sorted(per.values()), [2, 2], 'two clients, each under one pseudonym (same day)')
        check('127.0.3.1' not in dump, 'no client address in the store')
        c['compliance']['client_ids'] = 'full'
        d.write_config(c)
        d.ctl_reload()
        udp(d.port, 'adult.example.test', source='127.0.3.10')
        flush(d)
        with sqlite3.connect(db) as conn:
            last = conn.execute('SELECT client FROM query_log ORDER BY rowid DESC LIMIT 1').fetchone()
        eq(last[0], '127.0.3.10', 'client_ids: full logs the address')


def test_exposed_key_refused(t):
    """A key file others can read: lanhmanhd does not start, and says which file and why."""
    key, _ = make_key(t)
    os.chmod(key, 0o644)

    class NoReceiver:
        url = 'https://127.0.0.1:9/v1/reports'
        ca = None
    port = harness.free_port()
    c = config(t, port, 9, NoReceiver(), key)
    d = harness.Daemon(t, config=c, port=port)
    p = subprocess.run([harness.lanhmanhd_path(), '-c', d.config_path], capture_output=True,
                       text=True, timeout=20)
    check(p.returncode != 0, 'lanhmanhd must refuse to start (exit %d)' % p.returncode)
    check(key in p.stderr and 'chmod' in p.stderr, 'the error names the key and the fix:\n'
          + p.stderr)


if __name__ == '__main__':
    run(globals(), needs=('nsd', 'openssl'))
