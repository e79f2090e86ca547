# SPDX-License-Identifier: GPL-3.0-or-later
"""Blocklists end to end: sinkhole answers with EDE per reason, subdomains, CNAME chains that
reach a blocked name, allow entries, the national list beating every allow, RPZ actions, the
mmap'ed snapshot after a restart with the list file gone, reloads, `lanhmanh lists`/`explain`."""

import os
import subprocess
import threading

from harness import (NoAnswer, TestFailure, check, default_config, eq, kdig, run, tool, udp,
                     wait_until)

EDE_BLOCKED = 15
EDE_CENSORED = 16

NATIONAL_RPZ = """$TTL 300
@ SOA rpz.national.test. hostmaster.national.test. 7 3600 600 86400 60
@ NS localhost.
national.example.test CNAME .
*.national.example.test CNAME .
nodata.example.test CNAME *.
dropped.example.test CNAME rpz-drop.
walled.example.test A 10.99.0.1
walled.example.test AAAA fd00:99::1
exempt.national.example.test CNAME rpz-passthru.
32.25.2.0.192.rpz-ip CNAME .
rewrite.example.test CNAME walled.example.test.
"""

ADULT = """# adult sites (one domain per line)
h5.example.test
blocked.example.test
c.example.test
national.example.test
this is not a domain
"""

SCHOOL_ALLOW = """! school exceptions (AdBlock syntax)
@@||ok.blocked.example.test^
@@||national.example.test^
"""


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def config(t, nsd, port=None):
    """The default test config plus a sinkhole and three lists in the test's directory."""
    d = t.path('lists')
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, 'national.rpz'), NATIONAL_RPZ)
    write(os.path.join(d, 'adult.txt'), ADULT)
    write(os.path.join(d, 'allow.txt'), SCHOOL_ALLOW)
    from harness import free_port
    cfg = default_config(t, port or free_port(), [nsd.addr])
    cfg['sinkhole'] = {
        'ipv4': '10.10.10.10', 'ipv6': 'fd00:10::10', 'ttl': 60,
        'reasons': {'national': {'ipv4': '10.16.16.16'}},
    }
    cfg['lists'] = [
        {'name': 'national', 'category': 'national', 'format': 'rpz',
         'origin': 'rpz.national.test.', 'file': os.path.join(d, 'national.rpz')},
        {'name': 'adult', 'category': 'adult', 'format': 'domains',
         'file': os.path.join(d, 'adult.txt')},
        {'name': 'school-allow', 'category': 'adult', 'format': 'adblock',
         'file': os.path.join(d, 'allow.txt')},
    ]
    return cfg, d


def daemon(t, cfg, **kw):
    """t.daemon() on the port written in @cfg's listen address."""
    port = int(cfg['server']['listen'][0].rsplit(':', 1)[1])
    return t.daemon(config=cfg, port=port, **kw)


def expect_ede_text(r, *words):
    texts = ' '.join(t or '' for _, t in r.ede)
    for w in words:
        r.expect(w in texts, 'EDE text %r does not mention %r' % (texts, w))
    return r


def expect_sinkhole(r, name, rdtype, addr, ede, *words):
    r.expect_rcode('NOERROR').expect_values(name, rdtype, [addr]).expect_ede(ede)
    r.expect(r.ttl(name, rdtype) == 60, 'sinkhole TTL %r, want 60' % r.ttl(name, rdtype))
    return expect_ede_text(r, *words)


def expect_synth_soa(r, owner):
    rrs = r.rrset(owner, 'SOA', 'authority')
    r.expect(rrs is not None, 'no synthetic SOA at %s in the authority section' % owner)
    return r


def test_block_answers(t):
    with t.nsd() as nsd:
        cfg, _ = config(t, nsd)
        with daemon(t, cfg) as d:
            p = d.port
            # A name on the adult list and a name below it: the sinkhole, EDE 15.
            expect_sinkhole(udp(p, 'h5.example.test', 'A'), 'h5.example.test.', 'A',
                            '10.10.10.10', EDE_BLOCKED, "list 'adult'", 'category adult')
            expect_sinkhole(udp(p, 'x.y.blocked.example.test', 'A'),
                            'x.y.blocked.example.test.', 'A', '10.10.10.10', EDE_BLOCKED)
            expect_sinkhole(udp(p, 'h5.example.test', 'AAAA'), 'h5.example.test.', 'AAAA',
                            'fd00:10::10', EDE_BLOCKED)
            # Other types: NODATA with a synthetic SOA at the blocked name.
            r = udp(p, 'h5.example.test', 'MX').expect_rcode('NOERROR').expect_ede(EDE_BLOCKED)
            r.expect(not r.msg.answer, 'MX of a blocked name has answers')
            expect_synth_soa(r, 'h5.example.test.')
            # Unlisted names pass, with the upstream's data.
            udp(p, 'h6.example.test', 'A').expect_rcode('NOERROR') \
                .expect_values('h6.example.test.', 'A', ['198.51.100.6'])
            udp(p, 'www.example.test', 'A').expect_values('www.example.test.', 'A',
                                                           ['192.0.2.1'])
            # The allow list passes a name below a blocked one: upstream's answer (NXDOMAIN).
            r = udp(p, 'ok.blocked.example.test', 'A').expect_rcode('NXDOMAIN')
            r.expect(not r.ede_codes, 'allowed name carries EDE %r' % r.ede)
            # Case does not matter; the question keeps the client's case.
            r = udp(p, 'H5.Example.TEST', 'A').expect_ede(EDE_BLOCKED)
            eq(r.msg.question[0].name.to_text(), 'H5.Example.TEST.', 'question case')
            # Without EDNS: the same sinkhole, no OPT.
            r = udp(p, 'h5.example.test', 'A', edns=False)
            r.expect_values('h5.example.test.', 'A', ['10.10.10.10'])
            r.expect(not r.has_edns, 'OPT in an answer to a query without EDNS')
            # kdig sees the EDE too.
            k = kdig(p, 'h5.example.test', 'A', '+edns')
            k.expect(EDE_BLOCKED in k.ede, 'kdig: want EDE 15, got %r' % (k.ede,))


def test_national_list(t):
    with t.nsd() as nsd:
        cfg, _ = config(t, nsd)
        with daemon(t, cfg) as d:
            p = d.port
            # RPZ CNAME . = NXDOMAIN with EDE 16, the SOA at the trigger's name.
            r = udp(p, 'national.example.test', 'A').expect_rcode('NXDOMAIN')
            r.expect_ede(EDE_CENSORED)
            expect_ede_text(r, "list 'national'", 'category national')
            expect_synth_soa(r, 'national.example.test.')
            # The wildcard trigger covers names below; the school's allow entry for the name
            # and the adult list's entry change nothing: the national list decides.
            udp(p, 'www.national.example.test', 'A').expect_rcode('NXDOMAIN') \
                .expect_ede(EDE_CENSORED)
            # The authority's own exception (rpz-passthru) passes.
            r = udp(p, 'exempt.national.example.test', 'A').expect_rcode('NXDOMAIN')
            r.expect(not r.ede_codes, 'passthru name carries EDE %r' % r.ede)
            # CNAME *. = NODATA; rpz-drop = no answer at all; local data answers.
            r = udp(p, 'nodata.example.test', 'TXT').expect_rcode('NOERROR')
            r.expect_ede(EDE_CENSORED).expect(not r.msg.answer, 'NODATA with answers')
            try:
                udp(p, 'dropped.example.test', 'A', timeout=0.7)
                raise TestFailure('rpz-drop name was answered')
            except NoAnswer:
                pass
            udp(p, 'walled.example.test', 'A').expect_values('walled.example.test.', 'A',
                                                              ['10.99.0.1'])
            udp(p, 'walled.example.test', 'AAAA').expect_values('walled.example.test.', 'AAAA',
                                                                 ['fd00:99::1'])
            # An RPZ rewrite: the CNAME of the local data, then the target's records (here the
            # target's own local data), for any type.
            r = udp(p, 'rewrite.example.test', 'A').expect_rcode('NOERROR')
            r.expect_values('rewrite.example.test.', 'CNAME', ['walled.example.test.'])
            r.expect_values('walled.example.test.', 'A', ['10.99.0.1']).expect_ede(EDE_CENSORED)
            r = udp(p, 'rewrite.example.test', 'AAAA').expect_rcode('NOERROR')
            r.expect_values('walled.example.test.', 'AAAA', ['fd00:99::1'])
            # An RPZ IP trigger: any answer holding 192.0.2.25 is blocked, whatever the name.
            r = udp(p, 'mail.example.test', 'A').expect_rcode('NXDOMAIN').expect_ede(EDE_CENSORED)
            r.expect(not r.msg.answer, 'the blocked address was answered')
            udp(p, 'example.test', 'MX').expect_rcode('NOERROR') \
                .expect_values('example.test.', 'MX', ['10 mail.example.test.'])
            d.expect_alive()


def test_cname_to_blocked(t):
    """a -> b -> c (c on the adult list): a is blocked, from upstream and from the cache."""
    with t.nsd() as nsd:
        cfg, _ = config(t, nsd)
        with daemon(t, cfg) as d:
            for attempt in ('upstream', 'cache'):
                r = udp(d.port, 'a.example.test', 'A')
                r.expect_rcode('NOERROR').expect_values('a.example.test.', 'A', ['10.10.10.10'])
                r.expect_ede(EDE_BLOCKED)
                expect_ede_text(r, 'CNAME')
            st = d.ctl('stats').expect_ok().stdout
            check('blocked ' in st, 'stats has no blocked counter:\n' + st)


def test_lists_and_explain(t):
    with t.nsd() as nsd:
        cfg, d_lists = config(t, nsd)
        with daemon(t, cfg) as d:
            out = d.ctl('lists').expect_ok().stdout
            check("list adult: category adult, 4 entries, 1 bad lines, from file" in out,
                  'lanhmanh lists:\n' + out)
            check('list national: category national' in out, 'lanhmanh lists:\n' + out)
            out = d.ctl('explain', '127.0.3.5', 'x.blocked.example.test').expect_ok().stdout
            for want in ('network: Trường TH Lê Lợi (id 79-TH-0001',
                         "entry: blocked.example.test in list 'adult' (category adult), "
                         + os.path.join(d_lists, 'adult.txt') + ':3',
                         'group: none (every category of every list applies)',
                         'decision: BLOCK by list, reason age policy (EDE 15 Blocked), '
                         'answer sinkhole address'):
                check(want in out, 'explain lacks %r:\n%s' % (want, out))
            out = d.ctl('explain', '127.0.3.5', 'ok.blocked.example.test').expect_ok().stdout
            check('decision: PASS' in out and '(allow)' in out, 'explain allow:\n' + out)
            out = d.ctl('explain', '127.0.0.2', 'h5.example.test').expect_ok().stdout
            check('network: none' in out and 'REFUSED' in out, 'explain outsider:\n' + out)
            r = d.ctl('explain', 'not-an-ip', 'x.vn')
            r.expect(r.returncode == 1, 'explain with a bad address must fail')


def test_snapshot_after_restart_without_list(t):
    """The compiled set is saved; a restart serves it at once even with the list file gone,
    and the last good copy keeps the list in force after the lists are read again."""
    with t.nsd() as nsd:
        cfg, d_lists = config(t, nsd)
        with daemon(t, cfg, name='first') as d:
            udp(d.port, 'h5.example.test', 'A').expect_values('h5.example.test.', 'A',
                                                              ['10.10.10.10'])
            state = cfg['server']['state_dir']
        check(os.path.exists(os.path.join(state, 'blocklists.set')), 'no snapshot written')
        os.unlink(os.path.join(d_lists, 'adult.txt'))
        with daemon(t, cfg, name='second') as d:
            # READY=1 has been received: the very first query is already enforced.
            udp(d.port, 'h5.example.test', 'A').expect_values('h5.example.test.', 'A',
                                                              ['10.10.10.10'])

            def rebuilt():
                out = d.ctl('lists').expect_ok().stdout
                return 'snapshot mapped' not in out and out
            out = wait_until(rebuilt, 10.0, 'the lists to be read again after the start')
            check('list adult: category adult, 4 entries, 1 bad lines, from last good copy'
                  in out, 'lanhmanh lists after the file went away:\n' + out)
            udp(d.port, 'x.blocked.example.test', 'A').expect_values(
                'x.blocked.example.test.', 'A', ['10.10.10.10'])


def test_reload_lists(t):
    with t.nsd() as nsd:
        cfg, d_lists = config(t, nsd)
        with daemon(t, cfg) as d:
            udp(d.port, 'h7.example.test', 'A').expect_values('h7.example.test.', 'A',
                                                              ['198.51.100.7'])
            with open(os.path.join(d_lists, 'adult.txt'), 'a') as f:
                f.write('h7.example.test\n')
            d.ctl_reload().expect_ok()
            # Cached before, blocked now: policy applies on the way out of the cache.
            udp(d.port, 'h7.example.test', 'A').expect_values('h7.example.test.', 'A',
                                                              ['10.10.10.10'])
            # An empty list file keeps the last good copy.
            write(os.path.join(d_lists, 'adult.txt'), '')
            d.ctl_reload().expect_ok()
            udp(d.port, 'h7.example.test', 'A').expect_values('h7.example.test.', 'A',
                                                              ['10.10.10.10'])
            out = d.ctl('lists').expect_ok().stdout
            check('from last good copy (the file has no entries)' in out, out)


def test_reload_under_load_with_lists(t):
    """dnsperf on blocked and allowed names while the lists are reloaded: nothing lost."""
    dnsperf = tool('dnsperf')
    with t.nsd() as nsd:
        cfg, d_lists = config(t, nsd)
        with daemon(t, cfg) as d:
            names = ['h%d.example.test A' % i for i in range(1, 40)] + \
                    ['x%d.blocked.example.test A' % i for i in range(1, 20)] + \
                    ['national.example.test A', 'a.example.test A']
            qfile = t.path('queries.txt')
            write(qfile, '\n'.join(names) + '\n')
            for n in names:  # warm the cache
                udp(d.port, n.split()[0], 'A')
            stop = threading.Event()
            reloads = []

            def reloader():
                while not stop.is_set():
                    reloads.append(d.ctl_reload().returncode)
            th = threading.Thread(target=reloader)
            proc = subprocess.Popen([dnsperf, '-s', '127.0.0.1', '-p', str(d.port), '-d', qfile,
                                     '-l', '3', '-Q', '2000', '-t', '2'],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            th.start()
            out, _ = proc.communicate(timeout=30)
            stop.set()
            th.join(20)
            check(reloads and all(rc == 0 for rc in reloads), 'reloads: %r' % reloads)
            lost = [l for l in out.splitlines() if 'Queries lost' in l]
            check(lost and lost[0].split()[2] == '0', 'dnsperf lost queries:\n' + out)
            print('   %d reloads during the run' % len(reloads))


def test_block_page(t):
    """The sinkhole address serves the block page; HTTPS there is refused at once."""
    import socket
    from harness import free_port
    curl = tool('curl')
    sink = '127.0.0.77'
    http_port = free_port(host=sink)
    with t.nsd() as nsd:
        cfg, _ = config(t, nsd)
        cfg['sinkhole']['ipv4'] = sink
        cfg['sinkhole']['reasons'] = {}
        cfg['sinkhole']['block_page'] = {'listen': ['%s:%d' % (sink, http_port)],
                                         'contact': 'Phòng CNTT, 0123 456 789'}
        with daemon(t, cfg) as d:
            udp(d.port, 'h5.example.test', 'A', source='127.0.3.9') \
                .expect_values('h5.example.test.', 'A', [sink])
            # What a pupil's browser does next: HTTP to the sinkhole with the blocked Host.
            proc = subprocess.run([curl, '-sS', '--interface', '127.0.3.9', '-o', '-',
                                   '-w', '\nHTTP %{http_code}',
                                   '-H', 'Host: h5.example.test',
                                   'http://%s:%d/some/page' % (sink, http_port)],
                                  capture_output=True, text=True, timeout=10)
            page = proc.stdout
            check(proc.returncode == 0, 'curl failed: %s' % proc.stderr)
            for want in ('HTTP 403', 'h5.example.test', 'Trường TH Lê Lợi', 'adult',
                         'Phòng CNTT, 0123 456 789', '111', 'blocked'):
                check(want in page, 'block page lacks %r:\n%s' % (want, page[-3000:]))
            check('<form' in page, 'no unblock-request form for an age-policy block')
            # The unblock request is recorded for the admin, without the pupil's address.
            proc = subprocess.run([curl, '-sS', '--interface', '127.0.3.9', '-o', '/dev/null',
                                   '-w', '%{http_code}', '-d', 'host=h5.example.test',
                                   'http://%s:%d/unblock-request' % (sink, http_port)],
                                  capture_output=True, text=True, timeout=10)
            check(proc.stdout in ('200', '303'), 'unblock request: HTTP %s %s'
                  % (proc.stdout, proc.stderr))
            out = d.ctl('unblock-requests').expect_ok().stdout
            check('h5.example.test' in out and '127.0.3.9' not in out,
                  'unblock-requests:\n' + out)
            # Port 443 of the sinkhole: refused at once, so browsers fail fast.
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(2.0)
            try:
                err = s.connect_ex((sink, 443))
            finally:
                s.close()
            eq(err, 111, 'connect to %s:443 (111 = ECONNREFUSED)' % sink)


if __name__ == '__main__':
    run(globals())
