# SPDX-License-Identifier: GPL-3.0-or-later
"""Basic forwarding: record types, CNAME chains, negative answers, UDP/TCP/IPv6, kdig, and the
--version / --check-config command line of lanhmanhd."""

import os
import re
import subprocess

from harness import (ZONE, TestFailure, between, check, eq, free_port, has_ipv6_loopback, kdig,
                     lanhmanhd_path, run, tcp, udp)

import dns.flags

SRC_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What the zone holds (tests/integration/zones/example.test.zone).
WWW_A = ['192.0.2.1']
WWW_AAAA = ['2001:db8::1']
MX = ['10 mail.example.test.']
TXT = ['"lanh manh" "second string"']


def _check_positive(d, query):
    """The positive answers, through query = udp or tcp."""
    r = query(d.port, 'www.example.test', 'A').expect_rcode('NOERROR')
    r.expect_values('www.example.test.', 'A', WWW_A)
    r.expect(r.msg.flags & dns.flags.RA, 'RA flag not set')
    between(r.ttl('www.example.test.', 'A'), 290, 300, 'www A TTL')

    query(d.port, 'www.example.test', 'AAAA').expect_rcode('NOERROR') \
        .expect_values('www.example.test.', 'AAAA', WWW_AAAA)
    query(d.port, 'example.test', 'MX').expect_rcode('NOERROR').expect_values(ZONE, 'MX', MX)
    query(d.port, 'txt.example.test', 'TXT').expect_rcode('NOERROR') \
        .expect_values('txt.example.test.', 'TXT', TXT)

    # the whole chain a -> b -> c -> A, in order
    r = query(d.port, 'a.example.test', 'A').expect_rcode('NOERROR')
    r.expect_values('a.example.test.', 'CNAME', ['b.example.test.'])
    r.expect_values('b.example.test.', 'CNAME', ['c.example.test.'])
    r.expect_values('c.example.test.', 'A', ['192.0.2.3'])
    order = [(rrs.name.to_text(), rrs.rdtype) for rrs in r.msg.answer]
    r.expect(order == [('a.example.test.', 5), ('b.example.test.', 5), ('c.example.test.', 1)],
             'CNAME chain out of order: %r' % order)


def _check_negative(d, query):
    r = query(d.port, 'nx.example.test', 'A').expect_rcode('NXDOMAIN')
    r.expect(not r.msg.answer, 'NXDOMAIN with an answer section')
    r.expect_soa_authority(max_ttl=60)

    r = query(d.port, 'nodata.example.test', 'A').expect_rcode('NOERROR')
    r.expect(not r.msg.answer, 'NODATA with an answer section')
    r.expect_soa_authority(max_ttl=60)

    # the name does exist: its TXT still comes through
    query(d.port, 'nodata.example.test', 'TXT').expect_rcode('NOERROR') \
        .expect_values('nodata.example.test.', 'TXT', ['"only text here"'])


def test_udp(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        _check_positive(d, udp)
        _check_negative(d, udp)
        # again, now from the cache: same contents
        _check_positive(d, udp)
        _check_negative(d, udp)
        # the question is echoed as asked (case preserved), even on a cache hit
        r = udp(d.port, 'WwW.ExAmPlE.TeSt', 'A').expect_rcode('NOERROR')
        eq(r.msg.question[0].name.to_text(), 'WwW.ExAmPlE.TeSt.', 'question name case')
        eq(sorted(rd.to_text() for rrs in r.msg.answer for rd in rrs), WWW_A, 'answer to mixed case')
        # a query without EDNS gets an answer without OPT
        r = udp(d.port, 'www.example.test', 'A', edns=False).expect_rcode('NOERROR')
        r.expect(not r.has_edns, 'OPT record in the answer to a query without EDNS')
        r.expect_values('www.example.test.', 'A', WWW_A)
        # with EDNS, the daemon advertises 1232
        r = udp(d.port, 'www.example.test', 'A', payload=4096)
        eq(r.payload, 1232, 'advertised EDNS UDP size')


def test_tcp(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        _check_positive(d, tcp)  # first through TCP (cache empty)
        _check_negative(d, tcp)
        _check_positive(d, udp)  # then the same entries through UDP
        _check_negative(d, tcp)


def test_ipv6_listener(t):
    if not has_ipv6_loopback():
        print('   (no ::1 here: only 127.0.0.1 checked)')
    with t.nsd() as nsd:
        d = t.daemon([nsd.addr])
        if has_ipv6_loopback():
            d.config['server']['listen'] = ['127.0.0.1:%d' % d.port, '[::1]:%d' % d.port]
            d.write_config(d.config)
        with d:
            udp(d.port, 'www.example.test', 'A').expect_values('www.example.test.', 'A', WWW_A)
            if has_ipv6_loopback():
                udp(d.port, 'www.example.test', 'AAAA', addr='::1', source='::1') \
                    .expect_rcode('NOERROR').expect_values('www.example.test.', 'AAAA', WWW_AAAA)
                tcp(d.port, 'a.example.test', 'A', addr='::1', source='::1') \
                    .expect_rcode('NOERROR').expect_values('c.example.test.', 'A', ['192.0.2.3'])
                udp(d.port, 'nx.example.test', 'A', addr='::1', source='::1') \
                    .expect_rcode('NXDOMAIN').expect_soa_authority(max_ttl=60)


def test_kdig(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        k = kdig(d.port, 'www.example.test', 'A', '+edns')
        k.expect(k.returncode == 0 and k.status == 'NOERROR', 'kdig www A')
        k.expect(k.values('www.example.test.', 'A') == WWW_A, 'kdig www A values')
        k.expect('ra' in k.flags and 'qr' in k.flags, 'flags %r' % k.flags)
        k.expect(k.udp_size == 1232, 'EDNS UDP size %r' % k.udp_size)

        k = kdig(d.port, 'a.example.test', 'A', '+tcp')
        k.expect(k.status == 'NOERROR', 'kdig +tcp a A')
        k.expect(k.values('a.example.test.', 'CNAME') == ['b.example.test.']
                 and k.values('b.example.test.', 'CNAME') == ['c.example.test.']
                 and k.values('c.example.test.', 'A') == ['192.0.2.3'], 'CNAME chain via kdig')

        k = kdig(d.port, 'example.test', 'MX', '+noedns')
        k.expect(k.status == 'NOERROR' and k.values(ZONE, 'MX') == MX, 'kdig MX +noedns')
        k.expect(k.udp_size is None, 'OPT in the answer to a query without EDNS')

        k = kdig(d.port, 'nx.example.test', 'A')
        k.expect(k.status == 'NXDOMAIN', 'kdig NXDOMAIN')
        soa = k.records('authority', 'SOA')
        k.expect(len(soa) == 1 and soa[0][0] == ZONE and soa[0][1] <= 60
                 and soa[0][4].endswith(' 60'), 'SOA in authority: %r' % soa)

        k = kdig(d.port, 'nodata.example.test', 'AAAA', '+tcp')
        k.expect(k.status == 'NOERROR' and not k.records('answer'), 'kdig NODATA')
        k.expect(len(k.records('authority', 'SOA')) == 1, 'NODATA SOA in authority')


# ---- command line ---------------------------------------------------------------------------


def _daemon_cmd(*args, timeout=20):
    return subprocess.run([lanhmanhd_path()] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def test_version(t):
    with open(os.path.join(SRC_ROOT, 'meson.build')) as f:
        version = re.search(r"version:\s*'([^']+)'", f.read()).group(1)
    p = _daemon_cmd('--version')
    eq(p.returncode, 0, 'lanhmanhd --version exit status (stderr %r)' % p.stderr)
    check(version in p.stdout + p.stderr, 'lanhmanhd --version does not print %s: %r'
          % (version, p.stdout + p.stderr))


def _expect_diagnostic(p, path, line, what, column=None):
    """exit 1 and a `path:line:column: error: ...` line for the given line (and column)."""
    out = p.stderr
    check(p.returncode == 1, '%s: exit status %d, want 1\nstderr:\n%s' % (what, p.returncode, out))
    diags = re.findall(r'^(\S+?):(\d+):(\d+): error: (.+)$', out, re.M)
    ours = [dg for dg in diags if dg[0] == path or os.path.basename(dg[0]) == os.path.basename(path)]
    check(ours, '%s: no "%s:LINE:COLUMN: error: ..." diagnostic in stderr:\n%s' % (what, path, out))
    lines = [int(dg[1]) for dg in ours]
    check(line in lines, '%s: diagnostics name lines %r, want line %d\nstderr:\n%s'
          % (what, lines, line, out))
    check(all(int(dg[2]) >= 1 for dg in ours), '%s: column numbers must start at 1:\n%s'
          % (what, out))
    if column is not None:
        cols = [int(dg[2]) for dg in ours if int(dg[1]) == line]
        check(column in cols, '%s: diagnostics for line %d name columns %r, want %d\nstderr:\n%s'
              % (what, line, cols, column, out))


BAD_CONFIGS = [
    # (what, text, line of the error, column or None when either the key or the value will do)
    ('unknown key', '''server:
  listen: ["127.0.0.1:5353"]
  mode: forward
  forwarders: ["127.0.0.1:53"]
  cache_sise: 16MiB
''', 5, 3),
    ('bad CIDR', '''server:
  listen: ["127.0.0.1:5353"]
  mode: forward
  forwarders: ["127.0.0.1:53"]
networks:
  - name: "Trường TH Lê Lợi"
    id: "79-TH-0001"
    cidr:
      - "127.0.3.0/24"
      - "127.0.4.0/33"
''', 10, None),
    ('bad forwarder', '''server:
  listen: ["127.0.0.1:5353"]
  mode: forward
  forwarders:
    - "127.0.0.1:53"
    - "not an address"
''', 6, None),
    ('bad workers', '''server:
  listen: ["127.0.0.1:5353"]
  workers: many
  mode: forward
  forwarders: ["127.0.0.1:53"]
''', 3, None),
    ('bad duration', '''server:
  listen: ["127.0.0.1:5353"]
  mode: forward
  forwarders: ["127.0.0.1:53"]
  upstream_timeout: soon
''', 5, None),
]


def test_check_config(t):
    # the config every other test uses is valid
    d = t.daemon(['127.0.0.1:53'])
    p = _daemon_cmd('--check-config', '-c', d.config_path)
    check(p.returncode == 0, '--check-config on a good config: exit %d\n%s\n%s'
          % (p.returncode, d.config_text, p.stderr))
    check('error' not in p.stderr.lower(), 'errors for a good config: %r' % p.stderr)

    for i, (what, text, line, column) in enumerate(BAD_CONFIGS):
        path = t.path('bad%d.yaml' % i)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
        _expect_diagnostic(_daemon_cmd('--check-config', '-c', path), path, line, what, column)

    # YAML syntax error: libyaml reports it where it notices, on line 2 or 3
    path = t.path('syntax.yaml')
    with open(path, 'w') as f:
        f.write('server:\n  listen: ["127.0.0.1:5353"\n  mode: forward\n')
    p = _daemon_cmd('--check-config', '-c', path)
    check(p.returncode == 1, 'YAML syntax error: exit %d, want 1\n%s' % (p.returncode, p.stderr))
    m = re.search(r'^\S*syntax\.yaml:(\d+):(\d+): error: ', p.stderr, re.M)
    check(m and int(m.group(1)) in (2, 3, 4), 'YAML syntax error: no diagnostic for line 2-4:\n%s'
          % p.stderr)

    # what the daemon builds from a valid file is checked too: a subscriber database that
    # cannot be opened is named, with the line of its entry
    path = t.path('mmdb.yaml')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('networks:\n  - { mmdb: %s }\n' % t.path('missing.mmdb'))
    p = _daemon_cmd('--check-config', '-c', path)
    check(p.returncode == 1, 'missing MMDB file: exit %d, want 1\n%s' % (p.returncode, p.stderr))
    check('%s:2: networks[0].mmdb: ' % path in p.stderr and 'missing.mmdb' in p.stderr,
          'missing MMDB file not named with its line:\n%s' % p.stderr)

    # missing file
    path = t.path('does-not-exist.yaml')
    p = _daemon_cmd('--check-config', '-c', path)
    check(p.returncode != 0, 'missing config file accepted')
    check('does-not-exist.yaml' in p.stderr, 'missing file not named: %r' % p.stderr)

    # the daemon refuses to start on a bad config, with the same diagnostic
    path = t.path('bad-start.yaml')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(BAD_CONFIGS[0][1].replace('5353', str(free_port())))
    try:
        p = _daemon_cmd('-c', path, timeout=10)
    except subprocess.TimeoutExpired:
        raise TestFailure('lanhmanhd kept running with a bad config (killed after 10 s)')
    check(p.returncode != 0, 'lanhmanhd started with a bad config')
    check(re.search(r'bad-start\.yaml:5:\d+: error: ', p.stderr),
          'start with a bad config: no diagnostic:\n%s' % p.stderr)


def test_port_in_use_refused(t):
    """A second daemon on a port already served is refused (its SO_REUSEPORT sockets would
    otherwise share the port and answer half of the queries)."""
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        second = dict(d.config)
        second['server'] = dict(d.config['server'])
        second['server']['control_socket'] = t.path('second.sock')
        second['server']['state_dir'] = t.path('second-state')
        path = t.path('second.yaml')
        from harness import to_yaml
        with open(path, 'w', encoding='utf-8') as f:
            f.write(to_yaml(second) + '\n')
        p = subprocess.run([lanhmanhd_path(), '-c', path], capture_output=True, text=True,
                           timeout=10)
        check(p.returncode != 0, 'a second daemon on port %d started' % d.port)
        check('already in use' in p.stderr, 'no clear error: %r' % p.stderr)
        udp(d.port, 'www.example.test', 'A').expect_values('www.example.test.', 'A',
                                                           ['192.0.2.1'])


if __name__ == '__main__':
    run(globals(), needs=('nsd', 'kdig'))
