# SPDX-License-Identifier: GPL-3.0-or-later
"""Prometheus /metrics (compliance.metrics) end to end: known numbers of queries (blocked in two
categories, forwarded, answered from the cache, over UDP and TCP) and the exact counts they give,
the text accepted by `promtool check metrics`, 404/405/HEAD, a reload that moves the listener
(and one whose new address is taken), reload counters, a synced list's alert, a list synced
from knotd (serial, version, applied time; when knotd is installed), and a daemon that refuses
to start when its metrics address is in use. Everything on loopback."""

import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

from harness import (TestFailure, check, default_config, eq, free_port, lanhmanhd_path, run,
                     tcp, tool, udp, wait_until)

SINK4 = '10.10.10.10'
CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

LISTS = {  # name: (category, names); none of the names is in nsd's zone
    'adult': ('adult', ['adult1.example.test', 'adult2.example.test']),
    'games': ('games', ['game.example.test']),
}


# --------------------------------------------------------------------------------------------
# set-up and helpers


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def config(t, upstream, metrics_port, port=None, lists=LISTS):
    """The default test config, a sinkhole, domain lists, and compliance.metrics."""
    d = t.path('lists')
    os.makedirs(d, exist_ok=True)
    cfg = default_config(t, port or free_port(), [upstream])
    cfg['sinkhole'] = {'ipv4': SINK4, 'ipv6': 'fd00:10::10', 'ttl': 60}
    cfg['lists'] = []
    for name, (category, names) in lists.items():
        path = os.path.join(d, name + '.txt')
        write(path, ''.join(n + '\n' for n in names))
        cfg['lists'].append({'name': name, 'category': category, 'format': 'domains',
                             'file': path})
    cfg['compliance'] = {'metrics': '127.0.0.1:%d' % metrics_port}
    return cfg


def daemon(t, cfg):
    port = int(cfg['server']['listen'][0].rsplit(':', 1)[1])
    return t.daemon(config=cfg, port=port)


def http(port, path='/metrics', method='GET'):
    """(status, headers, body text) of one request to 127.0.0.1:port."""
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read().decode('utf-8')
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode('utf-8', 'replace')


_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _unescape(v):
    return re.sub(r'\\(.)', lambda m: {'n': '\n'}.get(m.group(1), m.group(1)), v)


class Metrics:
    """A scrape: the text, and its samples by (name, frozenset of labels)."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.types = {}
        for line in text.splitlines():
            if line.startswith('# TYPE '):
                _, _, name, kind = line.split(' ', 3)
                check(name not in self.types, 'second TYPE line for %s' % name)
                self.types[name] = kind
                continue
            if not line or line.startswith('#'):
                continue
            m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
            check(m is not None, 'not a sample line: %r' % line)
            labels = frozenset((k, _unescape(v)) for k, v in _LABEL.findall(m.group(2) or ''))
            key = (m.group(1), labels)
            check(key not in self.samples, 'duplicate series: %r' % line)
            self.samples[key] = float(m.group(3))

    def get(self, name, **labels):
        return self.samples.get((name, frozenset(labels.items())))

    def value(self, name, **labels):
        v = self.get(name, **labels)
        if v is None:
            raise TestFailure('no sample %s%r in:\n%s' % (name, labels, self.text))
        return v

    def expect(self, name, want, **labels):
        eq(self.value(name, **labels), want, '%s%r' % (name, labels))

    def series(self, name):
        """{frozenset(labels): value} of every sample of @name."""
        return {k[1]: v for k, v in self.samples.items() if k[0] == name}


def scrape(port):
    status, headers, body = http(port)
    eq(status, 200, 'GET /metrics status')
    eq(headers.get('Content-Type'), CONTENT_TYPE, 'Content-Type of /metrics')
    return Metrics(body)


def promtool_check(text):
    """`promtool check metrics` on @text (stdin): lint problems fail the test."""
    p = subprocess.run([tool('promtool'), 'check', 'metrics'], input=text, capture_output=True,
                       text=True, timeout=30)
    if p.returncode != 0 or p.stdout.strip() or p.stderr.strip():
        raise TestFailure('promtool check metrics failed (exit %d):\n%s%s\n-- text --\n%s'
                          % (p.returncode, p.stdout, p.stderr, text))


def port_closed(port):
    s = socket.socket()
    try:
        s.settimeout(1)
        return s.connect_ex(('127.0.0.1', port)) != 0
    finally:
        s.close()


# --------------------------------------------------------------------------------------------
# tests


def test_counts(t):
    with t.nsd() as nsd:
        mport = free_port()
        t0 = time.time()
        with daemon(t, config(t, nsd.addr, mport)) as d:
            p = d.port
            # Before any query: every counter there, at 0, and promtool happy.
            m = scrape(mport)
            promtool_check(m.text)
            m.expect('lanhmanh_queries_total', 0, protocol='udp')
            m.expect('lanhmanh_blocked_total', 0, category='adult')

            # Blocked: 3 adult, 2 games (answered with the sinkhole, never forwarded).
            for name, rdtype in (('adult1.example.test', 'A'), ('adult2.example.test', 'A'),
                                 ('x.adult1.example.test', 'AAAA'), ('game.example.test', 'A'),
                                 ('game.example.test', 'TXT')):
                r = udp(p, name, rdtype).expect_rcode('NOERROR')
                r.expect(15 in r.ede_codes, 'blocked answer without EDE 15')
            # Forwarded: 2 names over UDP, 1 over TCP; then 3 answers from the cache.
            udp(p, 'www.example.test', 'A').expect_values('www.example.test.', 'A',
                                                          ['192.0.2.1'])
            udp(p, 'mail.example.test', 'A').expect_values('mail.example.test.', 'A',
                                                           ['192.0.2.25'])
            tcp(p, 'www.example.test', 'AAAA').expect_values('www.example.test.', 'AAAA',
                                                             ['2001:db8::1'])
            for _ in range(2):
                udp(p, 'www.example.test', 'A').expect_values('www.example.test.', 'A',
                                                              ['192.0.2.1'])
            udp(p, 'mail.example.test', 'A')

            m = scrape(mport)
            promtool_check(m.text)
            m.expect('lanhmanh_queries_total', 10, protocol='udp')
            m.expect('lanhmanh_queries_total', 1, protocol='tcp')
            m.expect('lanhmanh_answers_total', 5, outcome='blocked')
            m.expect('lanhmanh_answers_total', 3, outcome='forwarded')
            m.expect('lanhmanh_answers_total', 3, outcome='cache_hit')
            for outcome in ('cache_stale', 'refused', 'formerr', 'servfail', 'dropped',
                            'rewritten'):
                m.expect('lanhmanh_answers_total', 0, outcome=outcome)
            m.expect('lanhmanh_blocked_total', 3, category='adult')
            m.expect('lanhmanh_blocked_total', 2, category='games')
            m.expect('lanhmanh_blocked_total', 0, category='national')
            m.expect('lanhmanh_blocked_total', 0, category='deny_override')
            eq(sum(m.series('lanhmanh_blocked_total').values()), 5,
               'sum of lanhmanh_blocked_total over categories')
            # Cache: three answers stored, three hits.
            m.expect('lanhmanh_cache_entries', 3)
            m.expect('lanhmanh_cache_inserts_total', 3)
            m.expect('lanhmanh_cache_hits_total', 3)
            m.expect('lanhmanh_cache_capacity_bytes', 16 * 1024 * 1024)
            check(m.value('lanhmanh_cache_bytes') > 0, 'lanhmanh_cache_bytes is 0')
            # The upstream: three queries, three answers, up, an RTT measured.
            up = nsd.addr
            m.expect('lanhmanh_upstream_queries_total', 3, upstream=up)
            m.expect('lanhmanh_upstream_answers_total', 3, upstream=up)
            m.expect('lanhmanh_upstream_timeouts_total', 0, upstream=up)
            m.expect('lanhmanh_upstream_errors_total', 0, upstream=up)
            m.expect('lanhmanh_upstream_up', 1, upstream=up)
            srtt = m.value('lanhmanh_upstream_srtt_seconds', upstream=up)
            check(0 < srtt < 1, 'srtt %r s' % srtt)
            # Lists.
            m.expect('lanhmanh_list_entries', 2, list='adult')
            m.expect('lanhmanh_list_entries', 1, list='games')
            m.expect('lanhmanh_list_info', 1, list='adult', category='adult', version='',
                     source='file')
            m.expect('lanhmanh_list_info', 1, list='games', category='games', version='',
                     source='file')
            applied = m.value('lanhmanh_list_applied_timestamp_seconds', list='adult')
            check(t0 - 2 <= applied <= time.time() + 2, 'applied timestamp %r' % applied)
            check(0 <= m.value('lanhmanh_list_age_seconds', list='games') < 60, 'list age')
            # The process and the configuration.
            eq(len(m.series('lanhmanh_build_info')), 1, 'lanhmanh_build_info series')
            check(t0 - 2 <= m.value('lanhmanh_start_time_seconds') <= time.time() + 2,
                  'start time')
            m.expect('lanhmanh_workers', 2)
            m.expect('lanhmanh_config_generation', 1)
            m.expect('lanhmanh_config_reloads_total', 0, result='ok')
            m.expect('lanhmanh_config_reloads_total', 0, result='failed')
            eq(m.types.get('lanhmanh_queries_total'), 'counter', 'TYPE of queries_total')
            eq(m.types.get('lanhmanh_list_age_seconds'), 'gauge', 'TYPE of list_age_seconds')
            # The control socket agrees.
            kv, _, _ = d.status()
            check(kv['queries'].startswith('11 (tcp 1)'), 'status queries: %r' % kv['queries'])


def test_http(t):
    with t.nsd() as nsd:
        mport = free_port()
        with daemon(t, config(t, nsd.addr, mport)):
            for path in ('/', '/metric', '/metrics/', '/other'):
                status, _, _ = http(mport, path)
                eq(status, 404, 'GET %s' % path)
            # The query string is not part of the path.
            eq(http(mport, '/metrics?x=1')[0], 200, 'GET /metrics?x=1')
            status, headers, _ = http(mport, method='POST')
            eq(status, 405, 'POST /metrics')
            eq(headers.get('Allow'), 'GET, HEAD', 'Allow header')
            status, headers, body = http(mport, method='HEAD')
            eq(status, 200, 'HEAD /metrics')
            eq(headers.get('Content-Type'), CONTENT_TYPE, 'Content-Type of HEAD')
            eq(body, '', 'HEAD body')


def test_reload(t):
    with t.nsd() as nsd:
        m1, m2 = free_port(), free_port()
        cfg = config(t, nsd.addr, m1)
        with daemon(t, cfg) as d:
            scrape(m1).expect('lanhmanh_config_generation', 1)
            # A new address: the listener moves.
            cfg['compliance']['metrics'] = '127.0.0.1:%d' % m2
            d.write_config(cfg)
            d.ctl_reload().expect_ok()
            check(port_closed(m1), 'the old metrics port still accepts connections')
            m = scrape(m2)
            m.expect('lanhmanh_config_generation', 2)
            m.expect('lanhmanh_config_reloads_total', 1, result='ok')
            # A new address that is taken: the reload applies, the metrics stay where they were.
            busy = socket.socket()
            busy.bind(('127.0.0.1', 0))
            busy.listen(1)
            t.add_cleanup(busy.close)
            m3 = busy.getsockname()[1]
            cfg['compliance']['metrics'] = '127.0.0.1:%d' % m3
            d.write_config(cfg)
            res = d.ctl_reload().expect_ok()
            res.expect('127.0.0.1:%d' % m3 in res.output and 'still served' in res.output,
                       'reload output does not report the metrics address')
            scrape(m2).expect('lanhmanh_config_generation', 3)
            # A refused reload is counted.
            d.write_config('server: [this is not a mapping\n')
            res = d.ctl_reload()
            res.expect(res.returncode != 0, 'a broken config was accepted')
            m = scrape(m2)
            m.expect('lanhmanh_config_reloads_total', 1, result='failed')
            m.expect('lanhmanh_config_reloads_total', 2, result='ok')
            # Metrics removed: the port closes.
            del cfg['compliance']['metrics']
            d.write_config(cfg)
            d.ctl_reload().expect_ok()
            check(port_closed(m2), 'metrics still served after compliance.metrics was removed')


def test_sync_alert(t):
    """A synced list whose primary does not answer: source missing, no version, an alert."""
    with t.nsd() as nsd:
        mport = free_port()
        cfg = config(t, nsd.addr, mport)
        cfg['lists'].append({'name': 'national', 'category': 'national',
                             'rpz_primary': t.unused(), 'zone': 'rpz.national.test.'})
        with daemon(t, cfg):
            def alerted():
                m = scrape(mport)
                return m if m.get('lanhmanh_list_sync_alert', list='national') == 1 else None
            m = wait_until(alerted, 10, 'lanhmanh_list_sync_alert{list="national"} 1')
            promtool_check(m.text)
            m.expect('lanhmanh_list_info', 1, list='national', category='national', version='',
                     source='missing')
            check(m.get('lanhmanh_list_applied_timestamp_seconds', list='national') is None,
                  'an applied time for a list with no version')
            check(m.get('lanhmanh_list_sync_alert', list='adult') is None,
                  'a sync alert for a list file')


def test_synced_version(t):
    """A list synced from a knotd primary: its serial, version label, entries and applied time;
    a block by it counted under its category."""
    if not (tool('knotd') and tool('knotc')):
        print('   (knotd/knotc not installed: nothing to check)')
        return
    zone = 'rpz.national.test.'
    with t.nsd() as nsd:
        text = ('$ORIGIN %s\n$TTL 300\n'
                '@ SOA ns.national.test. hostmaster.national.test. 42 3600 600 86400 60\n'
                '@ NS localhost.\nnational.example.test CNAME .\n'
                'x.national.example.test CNAME .\n' % zone)
        knot = t.knot(zone, text).start()
        mport = free_port()
        cfg = config(t, nsd.addr, mport)
        cfg['lists'].append({'name': 'national', 'category': 'national',
                             'rpz_primary': knot.addr, 'zone': zone})
        t0 = time.time()
        with daemon(t, cfg) as d:
            def applied():
                m = scrape(mport)
                return m if m.get('lanhmanh_list_serial', list='national') == 42 else None
            m = wait_until(applied, 15, 'lanhmanh_list_serial{list="national"} 42')
            promtool_check(m.text)
            m.expect('lanhmanh_list_info', 1, list='national', category='national',
                     version='42', source='transfer')
            m.expect('lanhmanh_list_entries', 2, list='national')
            m.expect('lanhmanh_list_sync_alert', 0, list='national')
            at = m.value('lanhmanh_list_applied_timestamp_seconds', list='national')
            check(t0 - 2 <= at <= time.time() + 2, 'applied timestamp %r' % at)
            r = udp(d.port, 'national.example.test')
            r.expect(16 in r.ede_codes, 'national block without EDE 16')
            m = scrape(mport)
            m.expect('lanhmanh_blocked_total', 1, category='national')
            m.expect('lanhmanh_answers_total', 1, outcome='blocked')


def test_address_in_use(t):
    """The daemon does not start when it cannot serve its metrics, and says where."""
    busy = socket.socket()
    busy.bind(('127.0.0.1', 0))
    busy.listen(1)
    t.add_cleanup(busy.close)
    mport = busy.getsockname()[1]
    cfg = config(t, t.unused(), mport)
    d = daemon(t, cfg)
    p = subprocess.run([lanhmanhd_path(), '-c', d.config_path], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    check(p.returncode != 0, 'lanhmanhd started with its metrics address in use')
    check('127.0.0.1:%d' % mport in p.stderr and 'in use' in p.stderr,
          'the error does not name the address:\n%s' % p.stderr)
    check('Sanitizer' not in p.stderr, 'sanitizer report:\n%s' % p.stderr)


if __name__ == '__main__':
    run(globals(), needs=('nsd', 'promtool'))
