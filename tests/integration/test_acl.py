# SPDX-License-Identifier: GPL-3.0-or-later
"""Who is served: the configured networks plus 127.0.0.1 and ::1; everyone else gets REFUSED
(+ EDE 18 with EDNS). Reloads (SIGHUP, `lanhmanh reload`) apply a new network list; a bad config
on reload is reported with file:line:column and the old config keeps running."""

import re

from harness import (EDE_PROHIBITED, NoAnswer, TestFailure, check, has_ipv6_loopback, kdig, run,
                     tcp, udp)

WWW_A = ['192.0.2.1']


def _served(d, source, query=udp):
    try:
        r = query(d.port, 'www.example.test', 'A', source=source)
    except NoAnswer as e:
        raise TestFailure('client %s: %s' % (source, e))
    r.expect_rcode('NOERROR')
    r.expect(not r.ede_codes, 'client %s: served answer carries EDE %r' % (source, r.ede))
    return r.expect_values('www.example.test.', 'A', WWW_A)


def _refused(d, source, query=udp, edns=True):
    try:
        r = query(d.port, 'www.example.test', 'A', source=source, edns=edns)
    except NoAnswer as e:
        raise TestFailure('client %s must get REFUSED, not silence: %s' % (source, e))
    r.expect_rcode('REFUSED')
    r.expect(not r.msg.answer, 'client %s: REFUSED with an answer' % source)
    if edns:
        r.expect_ede(EDE_PROHIBITED)
    else:
        r.expect(not r.has_edns, 'OPT in the answer to a query without EDNS')
    return r


def test_sources(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        for src in ('127.0.0.1', '127.0.3.5', '127.0.4.9', '127.0.3.254'):
            _served(d, src)
            _served(d, src, query=tcp)
        for src in ('127.0.0.2', '127.0.5.1', '127.0.2.255', '127.1.3.5'):
            _refused(d, src)
            _refused(d, src, edns=False)
            _refused(d, src, query=tcp)
        # refused clients do not reach the upstream or fill the cache
        r = _refused(d, '127.0.0.2')
        r.expect(not r.msg.authority, 'REFUSED with an authority section')
        k = kdig(d.port, 'www.example.test', 'A', '-b', '127.0.0.2', '+edns')
        k.expect(k.status == 'REFUSED' and EDE_PROHIBITED in k.ede, 'kdig from 127.0.0.2')
        k = kdig(d.port, 'www.example.test', 'A', '-b', '127.0.4.9')
        k.expect(k.status == 'NOERROR' and k.values('www.example.test.', 'A') == WWW_A,
                 'kdig from 127.0.4.9')


def test_ipv6_loopback_served(t):
    if not has_ipv6_loopback():
        print('   (no ::1 on this host: skipped)')
        return
    with t.nsd() as nsd:
        d = t.daemon([nsd.addr])
        d.config['server']['listen'].append('[::1]:%d' % d.port)
        d.write_config(d.config)
        with d:
            r = udp(d.port, 'www.example.test', 'A', addr='::1', source='::1')
            r.expect_rcode('NOERROR').expect_values('www.example.test.', 'A', WWW_A)


def test_reload_applies_networks(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        _served(d, '127.0.4.9')
        # `lanhmanh reload` with 127.0.4.0/24 dropped
        d.config['networks'][0]['cidr'] = ['127.0.3.0/24']
        d.write_config(d.config)
        res = d.ctl_reload().expect_ok()
        res.expect('reloaded' in res.stdout, 'no "reloaded" in the output')
        _refused(d, '127.0.4.9')
        _refused(d, '127.0.4.9', query=tcp)
        _served(d, '127.0.3.5')
        _served(d, '127.0.0.1')

        # SIGHUP: 127.0.4.0/24 back, and a second network
        d.config['networks'][0]['cidr'] = ['127.0.3.0/24', '127.0.4.0/24']
        d.config['networks'].append({'name': 'Trường THCS Nguyễn Du', 'id': '79-THCS-0002',
                                     'cidr': ['127.0.9.0/24']})
        d.write_config(d.config)
        d.reload()
        _served(d, '127.0.4.9')
        _served(d, '127.0.9.1')
        _served(d, '127.0.9.1', query=tcp)
        _refused(d, '127.0.0.2')

        # `lanhmanh -c CONFIG reload` takes the socket from the config
        d.config['networks'].pop()
        d.write_config(d.config)
        res = d.ctl_reload(use_config=True)
        res.expect_ok().expect('reloaded' in res.stdout, 'no "reloaded" in the output')
        _refused(d, '127.0.9.1')
        _served(d, '127.0.4.9')


BAD_LINE = 10
BAD_NETWORKS = '''networks:
  - name: "Trường TH Lê Lợi"
    id: "79-TH-0001"
    cidr:
      - "127.0.3.0/24"
      - "127.0.4.0/24"
  - name: "Trường THCS Nguyễn Du"
    id: "79-THCS-0002"
    cidr:
      - "127.0.9.0/33"
'''


def _bad_config_text(d):
    """The running config with its networks replaced by BAD_NETWORKS; returns (text, line)."""
    text = d.config_text
    head = text[:text.index('networks:')]
    return head + BAD_NETWORKS, head.count('\n') + BAD_LINE


def _count_diagnostics(d, line):
    with open(d.stderr_path, errors='replace') as f:
        return len(re.findall(r'lanhmanh\.yaml:%d:\d+: error' % line, f.read()))


def test_bad_reload_keeps_old_config(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        _served(d, '127.0.4.9')
        good_text = d.config_text
        bad_text, bad_line = _bad_config_text(d)
        d.write_config(bad_text)

        res = d.ctl_reload()
        res.expect(res.returncode == 1, 'reload of a bad config: exit %d, want 1' % res.returncode)
        res.expect('reloaded' not in res.stdout, '"reloaded" printed for a bad config')
        diags = re.findall(r'(\S+):(\d+):(\d+): error: ', res.output)
        res.expect(any(p.endswith('lanhmanh.yaml') and int(ln) == bad_line for p, ln, _ in diags),
                   'want a "%s:%d:COLUMN: error: ..." diagnostic, got %r'
                   % (d.config_path, bad_line, diags))
        d.expect_alive('after a failed reload')
        # the old config is still in force
        _served(d, '127.0.4.9')
        _served(d, '127.0.3.5', query=tcp)
        _refused(d, '127.0.9.1')
        _refused(d, '127.0.0.2')
        udp(d.port, 'a.example.test', 'A').expect_rcode('NOERROR') \
            .expect_values('c.example.test.', 'A', ['192.0.2.3'])

        # SIGHUP with the same bad file: still RELOADING=1 then READY=1, still the old config,
        # and the diagnostic is logged
        logged_before = _count_diagnostics(d, bad_line)
        d.reload()
        d.expect_alive('after a failed SIGHUP reload')
        _served(d, '127.0.4.9')
        _refused(d, '127.0.9.1')
        logged_after = _count_diagnostics(d, bad_line)
        check(logged_after > logged_before, 'the failed SIGHUP reload did not log '
              '"%s:%d:COLUMN: error: ..." on stderr' % (d.config_path, bad_line))

        # and a good config afterwards is applied: reload is not wedged by the failure
        d.write_config(good_text.replace('"127.0.3.0/24", "127.0.4.0/24"', '"127.0.3.0/24"'))
        check('127.0.4.0/24' not in d.config_text, 'test bug: config not changed')
        res = d.ctl_reload().expect_ok()
        res.expect('reloaded' in res.stdout, 'no "reloaded" in the output')
        _refused(d, '127.0.4.9')
        _served(d, '127.0.3.5')


if __name__ == '__main__':
    run(globals())
