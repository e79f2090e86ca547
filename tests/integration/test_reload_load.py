# SPDX-License-Identifier: GPL-3.0-or-later
"""Reload under load loses no query: dnsperf sends cached names for 4 s while the config is
reloaded every ~200 ms by SIGHUP and a few times by `lanhmanh reload`."""

import re
import subprocess
import time

from harness import TestFailure, check, eq, tool, run, udp

NAMES = 100
DURATION = 4
QPS = 2000


def _dnsperf_stats(out):
    def num(label):
        m = re.search(r'^\s*%s:\s+(\d+)' % label, out, re.M)
        if not m:
            raise TestFailure('no "%s:" in the dnsperf output:\n%s' % (label, out))
        return int(m.group(1))
    codes = {}
    m = re.search(r'^\s*Response codes:\s+(.*)$', out, re.M)
    if m:
        for code, n in re.findall(r'([A-Z]+) (\d+)', m.group(1)):
            codes[code] = int(n)
    return num('Queries sent'), num('Queries completed'), num('Queries lost'), codes


def test_reload_under_load(t):
    with t.nsd() as nsd, t.daemon([nsd.addr]) as d:
        qfile = t.path('queries.txt')
        with open(qfile, 'w') as f:
            for i in range(1, NAMES + 1):
                f.write('h%d.example.test A\n' % i)
        for i in range(1, NAMES + 1):  # warm the cache
            udp(d.port, 'h%d.example.test' % i, 'A').expect_rcode('NOERROR') \
                .expect_values('h%d.example.test.' % i, 'A', ['198.51.100.%d' % i])

        # two valid configs to alternate between, so every reload publishes a new ruleset
        base = d.config
        extra = {'name': 'Trường THCS Nguyễn Du', 'id': '79-THCS-0002', 'cidr': ['127.0.9.0/24']}
        configs = [d.render(base),
                   d.render(dict(base, networks=base['networks'] + [extra]))]

        out_path = t.path('dnsperf.out')
        argv = [tool('dnsperf'), '-s', '127.0.0.1', '-p', str(d.port), '-d', qfile,
                '-l', str(DURATION), '-Q', str(QPS), '-t', '2', '-c', '4']
        sighups, ctl_reloads, slowest = 0, 0, 0.0
        with open(out_path, 'w') as out:
            perf = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        try:
            t0 = time.monotonic()
            while time.monotonic() - t0 < DURATION - 0.4 and perf.poll() is None:
                tick = time.monotonic()
                d.write_config(configs[(sighups + ctl_reloads) % 2])
                if (sighups + ctl_reloads) % 6 == 5:
                    res = d.ctl_reload().expect_ok()
                    res.expect('reloaded' in res.stdout, 'no "reloaded" in the output')
                    ctl_reloads += 1
                else:
                    slowest = max(slowest, d.reload(timeout=5.0))
                    sighups += 1
                time.sleep(max(0.0, tick + 0.2 - time.monotonic()))  # pacing, ~200 ms
            perf.wait(DURATION + 20)
        finally:
            if perf.poll() is None:
                perf.terminate()
                perf.wait(5)
        with open(out_path) as f:
            out = f.read()
        print('   %d SIGHUP reloads (slowest %.3f s), %d `lanhmanh reload`'
              % (sighups, slowest, ctl_reloads))
        check(perf.returncode == 0, 'dnsperf exited with %d:\n%s' % (perf.returncode, out))
        sent, completed, lost, codes = _dnsperf_stats(out)
        print('   dnsperf: sent %d, completed %d, lost %d, %r' % (sent, completed, lost, codes))
        check(sighups >= 10, 'only %d SIGHUP reloads during the run\n%s' % (sighups, out))
        check(ctl_reloads >= 2, 'only %d `lanhmanh reload` during the run' % ctl_reloads)
        check(sent >= QPS * DURATION // 2, 'dnsperf sent only %d queries (want >= %d): the '
              'load was not applied\n%s' % (sent, QPS * DURATION // 2, out))
        eq(lost, 0, 'Queries lost while reloading\n' + out)
        eq(completed, sent, 'Queries completed vs sent\n' + out)
        eq(codes, {'NOERROR': completed}, 'Response codes\n' + out)

        d.expect_alive('after the load')
        kv, ups, res = d.status()
        m = re.match(r'\d+', kv.get('queries', ''))
        res.expect(m and int(m.group()) >= sent, 'status queries: %r, want >= %d'
                   % (kv.get('queries'), sent))
        udp(d.port, 'h1.example.test', 'A').expect_values('h1.example.test.', 'A',
                                                         ['198.51.100.1'])


if __name__ == '__main__':
    run(globals(), needs=('nsd', 'dnsperf'))
