# SPDX-License-Identifier: GPL-3.0-or-later
"""Lists synced from the authority (`lists:` with `rpz_primary:`), end to end.

knotd is the authority's primary for rpz.national.test. (started by the test, zone file in the
test's directory, changes applied with `knotc zone-reload`, so that knotd keeps the differences
in its journal and serves them by IXFR) and sends its NOTIFYs to the daemon's own listen
address. nsd serves example.test, the names the triggers are about: a name that passes gets
its real address from upstream, a name the national list blocks does not.

- test_axfr_then_enforced: the first transfer (AXFR) from an empty state_dir, each kind of
  trigger enforced, the version shown by `lanhmanh lists` and recorded in NAME.versions.
- test_notify_ixfr_within_a_second: a change at the primary reaches the clients through
  NOTIFY + IXFR (the SOA refresh is an hour; the latency is printed), while a query stream
  loses nothing and sees each answer flip once; NOTIFY from elsewhere or for another zone.
- test_tsig: a wrong secret gives no version and an alert; NOTIFYs unsigned, signed with another
  secret or key, or sent from another address are refused and refresh nothing; the right key
  works, and its NOTIFY is answered signed.
- test_primary_goes_away: the version in force (AXFR + IXFR) stays when the primary is gone,
  also across a restart (served from state_dir/sync/ at once); the primary back is followed.
- test_ixfr_after_an_outage: after the primary was unreachable, the next transfer is an IXFR.
- test_list_removed_and_readded: a reload without the list stops it; adding it back serves the
  saved version at once.
- test_never_worse: an update removing 80% of the list and an empty zone are held back with an
  alert; a first transfer of an empty zone gives no version.
- test_empty_zone_with_max_shrink_100: an empty zone is held back even with max_shrink 100%.
- test_shrink_against_the_list_in_force: max_shrink counts against the entries in force (after
  IXFRs), which the versions record.
- test_fixed_after_held_back: after a held-back shrink the authority publishes a good version:
  it applies.
- test_explain_and_cached: a name cached before it is listed is blocked right after the IXFR;
  `lanhmanh explain` names the synced list.
- test_explain_names_the_source: explain says where a synced entry comes from.
"""

import base64
import os
import re
import time

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.tsig

from harness import (NoAnswer, QueryStream, TestFailure, check, default_config, eq, free_port,
                     run, send_udp, tcp, udp)

RPZ_ZONE = 'rpz.national.test.'
EDE_CENSORED = 16
SINK4 = '10.10.10.10'
LOCAL_DATA = '10.9.9.9'
NETWORK_CLIENT = '127.0.3.7'  # in the default config's network (no group: every category)

# example.test at nsd: what a name gets when nothing blocks it.
REAL = {
    'x.example.test': '192.0.2.11',
    'y.example.test': '192.0.2.12',
    'a.y.example.test': '192.0.2.13',
    'ok.y.example.test': '192.0.2.14',
    'z.example.test': '192.0.2.15',
    'w.example.test': '192.0.2.16',
    'open.example.test': '192.0.2.17',
    'cached.example.test': '192.0.2.18',
}
for _i in range(10):
    REAL['t%d.example.test' % _i] = '192.0.2.%d' % (100 + _i)

UPSTREAM_ZONE = ('$ORIGIN example.test.\n$TTL 300\n'
                 '@ 120 IN SOA ns.example.test. hostmaster.example.test. 2024010101 3600 600 '
                 '86400 60\n@ IN NS ns.example.test.\nns IN A 127.0.0.1\n'
                 + ''.join('%s. IN A %s\n' % (n, a) for n, a in REAL.items()))

# The national list's first version: a name, a wildcard, local data and the authority's own
# exception under the wildcard.
BASE = [
    'x.example.test CNAME .',
    '*.y.example.test CNAME .',
    'z.example.test A ' + LOCAL_DATA,
    'ok.y.example.test CNAME rpz-passthru.',
]

KEY_NAME = 'lanhmanh-79-th-0001.'
SECRET = base64.b64encode(b'secret shared with the authority!').decode()
WRONG_SECRET = base64.b64encode(b'not the secret the authority has').decode()
KEY = (KEY_NAME, 'hmac-sha256', SECRET)


def rpz(serial, triggers, refresh=3600, retry=600):
    return ('$ORIGIN %s\n$TTL 300\n'
            '@ SOA ns.national.test. hostmaster.national.test. %d %d %d 86400 60\n'
            '@ NS localhost.\n%s' % (RPZ_ZONE, serial, refresh, retry,
                                     ''.join(t + '\n' for t in triggers)))


# --------------------------------------------------------------------------------------------
# set-up


def config(t, port, upstream, primary, tsig=None, max_shrink=None, name='lanhmanhd',
           audit=False):
    cfg = default_config(t, port, [upstream], name)
    cfg['sinkhole'] = {'ipv4': SINK4, 'ipv6': 'fd00:10::10', 'ttl': 60}
    entry = {'name': 'national', 'category': 'national', 'rpz_primary': primary,
             'zone': RPZ_ZONE}
    if tsig:
        entry['tsig'] = {'name': tsig[0], 'algorithm': tsig[1], 'secret': tsig[2]}
    if max_shrink:
        entry['max_shrink'] = max_shrink
    if audit:
        entry['audit'] = True
    cfg['lists'] = [entry]
    return cfg


def setup(t, triggers, serial=1, refresh=3600, retry=600, key=None, daemon_key=None,
          notify_key=True, max_shrink=None, start_daemon=True, audit=False):
    """nsd (example.test), knotd (the RPZ zone, NOTIFY to the daemon's port), the daemon's
    config; the daemon is started unless start_daemon is False. Returns (knot, daemon)."""
    ns = t.nsd(zones=(), zone_texts={'example.test': UPSTREAM_ZONE}).start()
    port = free_port()
    knot = t.knot(RPZ_ZONE, rpz(serial, triggers, refresh, retry),
                  notify=['127.0.0.1:%d' % port], key=key, notify_key=notify_key).start()
    cfg = config(t, port, ns.addr, knot.addr, tsig=daemon_key, max_shrink=max_shrink,
                 audit=audit)
    d = t.daemon(config=cfg, port=port)
    if start_daemon:
        d.start()
    return knot, d


# --------------------------------------------------------------------------------------------
# checks


def ask(d, name, client='127.0.0.1', query=udp):
    try:
        return query(d.port, name, 'A', source=client)
    except NoAnswer as e:
        raise TestFailure('client %s, %s: %s' % (client, name, e))


def expect_censored(d, name, client='127.0.0.1', query=udp):
    """Blocked by the national RPZ (CNAME .): NXDOMAIN, EDE 16, no address at all."""
    r = ask(d, name, client, query)
    r.expect_rcode('NXDOMAIN').expect_ede(EDE_CENSORED)
    r.expect(not r.msg.answer, '%s: a blocked name has answer records' % name)
    r.expect(REAL[name] not in r.msg.to_text(), '%s: the real address leaked' % name)
    texts = ' '.join(x or '' for _, x in r.ede)
    r.expect("list 'national'" in texts, '%s: EDE text does not name the list: %r'
             % (name, texts))
    return r


def expect_pass(d, name, client='127.0.0.1', query=udp):
    r = ask(d, name, client, query)
    r.expect_rcode('NOERROR').expect_values(name + '.', 'A', [REAL[name]])
    r.expect(EDE_CENSORED not in r.ede_codes, '%s: a name that passes carries EDE %r'
             % (name, r.ede))
    return r


def expect_local_data(d, name='z.example.test', client='127.0.0.1'):
    r = ask(d, name, client)
    r.expect_rcode('NOERROR').expect_values(name + '.', 'A', [LOCAL_DATA])
    r.expect(REAL[name] not in r.msg.to_text(), '%s: the real address leaked' % name)
    return r


def expect_base_enforced(d, client='127.0.0.1'):
    expect_censored(d, 'x.example.test', client)
    expect_censored(d, 'a.y.example.test', client)
    expect_pass(d, 'y.example.test', client)      # the wildcard is only below y
    expect_pass(d, 'ok.y.example.test', client)   # the authority's passthru exception
    expect_local_data(d, 'z.example.test', client)
    expect_pass(d, 'open.example.test', client)


def lists_out(d):
    return d.ctl('lists').expect_ok().stdout


def sync_report(out):
    """The paragraph of `lanhmanh lists` about the synced list 'national'."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith('list national: zone '):
            para = [line]
            for more in lines[i + 1:]:
                if not more.startswith('  '):
                    break
                para.append(more)
            return '\n'.join(para)
    raise TestFailure('`lanhmanh lists` has no "list national: zone ..." line:\n' + out)


def poll(fn, timeout, what, interval=0.05):
    """Call fn() until it returns (ok, value) with ok true; fail with the last value."""
    deadline = time.monotonic() + timeout
    while True:
        ok, value = fn()
        if ok:
            return value
        if time.monotonic() >= deadline:
            raise TestFailure('timed out after %.1f s waiting for %s; last seen:\n%s'
                              % (timeout, what, value))
        time.sleep(interval)


def head_serial(report):
    m = re.match(r'list national: zone \S+ from \S+(?: \(TSIG\))?, serial (\d+), ', report)
    return int(m.group(1)) if m else None


def wait_report(d, pred, timeout, what):
    """Poll `lanhmanh lists` until pred(paragraph) holds; returns the paragraph."""
    def once():
        rep = sync_report(lists_out(d))
        return pred(rep), rep
    return poll(once, timeout, what)


def wait_serial(d, serial, timeout=10.0):
    return wait_report(d, lambda r: head_serial(r) == serial, timeout,
                       'serial %d in `lanhmanh lists`' % serial)


def versions(report):
    """[(serial, entries, how)] of the "version serial N: ..." lines, newest first."""
    return [(int(s), int(n), how) for s, n, how in re.findall(
        r'^  version serial (\d+): (\d+) entries, applied .* by (\S+)$', report, re.M)]


def versions_file(d):
    path = os.path.join(d.config['server']['state_dir'], 'sync', 'national.versions')
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError as e:
        raise TestFailure('cannot read %s: %s' % (path, e))


def status_alerts(d):
    out = d.ctl('status').expect_ok().stdout
    return [l for l in out.splitlines() if l.startswith('ALERT')], out


def stderr_text(d):
    with open(d.stderr_path, errors='replace') as f:
        return f.read()


def send_notify(d, source='127.0.0.1', key=None, zone=RPZ_ZONE):
    """A NOTIFY for zone to the daemon's listen port (signed when key = (name, alg, secret)).
    Returns the response message (its TSIG verified when it is signed and key is given)."""
    q = dns.message.make_query(zone, 'SOA', use_edns=False)
    q.flags = dns.flags.AA
    q.set_opcode(dns.opcode.NOTIFY)
    tkey = None
    if key:
        tkey = dns.tsig.Key(key[0], key[2], key[1])
        q.use_tsig(tkey)
    wire = q.to_wire()
    data, _ = send_udp(d.port, wire, source=source, want_id=q.id)
    m = dns.message.from_wire(data, keyring=tkey, request_mac=q.mac if key else b'')
    check(m.opcode() == dns.opcode.NOTIFY and m.flags & dns.flags.QR,
          'the answer to a NOTIFY is not a NOTIFY response:\n%s' % m)
    return m


# --------------------------------------------------------------------------------------------
# tests


def test_axfr_then_enforced(t):
    knot, d = setup(t, BASE, serial=2024070101)
    rep = wait_serial(d, 2024070101)
    expect_base_enforced(d)
    expect_base_enforced(d, NETWORK_CLIENT)
    expect_censored(d, 'x.example.test', query=tcp)
    expect_censored(d, 'a.y.example.test', query=tcp)
    # the version: serial, AXFR, entries; no failure, no alert
    check(rep.startswith('list national: zone %s from %s, serial 2024070101, '
                         % (RPZ_ZONE, knot.addr)), 'head line of the report:\n' + rep)
    v = versions(rep)
    check(len(v) == 1 and v[0][0] == 2024070101 and v[0][2] == 'AXFR',
          'want one version, serial 2024070101 by AXFR:\n' + rep)
    check(v[0][1] >= 3, 'the version counts %d entries, want the triggers:\n%s' % (v[0][1], rep))
    check('last refresh failed' not in rep and 'ALERT' not in rep, 'failure or alert:\n' + rep)
    alerts, _ = status_alerts(d)
    eq(alerts, [], 'alerts in `lanhmanh status`')
    lines = versions_file(d)
    eq(len(lines), 1, 'lines in national.versions %r' % lines)
    check(re.match(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ serial=2024070101 entries=%d how=AXFR '
                   r'primary=\S*%d zone=%s$' % (v[0][1], knot.port, re.escape(RPZ_ZONE)),
                   lines[0]), 'national.versions line: %r' % lines[0])
    d.expect_alive()


def test_notify_ixfr_within_a_second(t):
    knot, d = setup(t, BASE, serial=1)  # SOA refresh 3600: only the NOTIFY can bring serial 2
    wait_serial(d, 1)
    expect_censored(d, 'x.example.test')
    expect_pass(d, 'w.example.test')  # now cached: the cache holds upstream answers
    names = ['w.example.test', 'x.example.test', 'y.example.test', 'a.y.example.test',
             'open.example.test']
    stream = QueryStream(d.port, '127.0.0.1', names, 500)
    stream.start()
    try:
        poll(lambda: (len(stream.results) >= 100, len(stream.results)), 20.0,
             'the query stream to get going')
        # serial 2: w added, x removed
        new = [l for l in BASE if not l.startswith('x.')] + ['w.example.test CNAME .']
        t0 = time.monotonic()
        knot.set_zone(rpz(2, new))
        t_reloaded = time.monotonic()

        def blocked():
            r = ask(d, 'w.example.test')
            return r.rcode == 'NXDOMAIN', r.text()
        poll(blocked, 5.0, 'w.example.test blocked after the NOTIFY', interval=0.005)
        t_blocked = time.monotonic()
        n_at = len(stream.results)
        poll(lambda: (len(stream.results) >= n_at + 100, len(stream.results)), 20.0,
             'more answers after the update')
    finally:
        stream.stop.set()
        stream.join(60)
    check(not stream.is_alive(), 'query stream did not finish')
    check(stream.error is None, 'query stream failed: %r' % stream.error)
    print('   NOTIFY -> enforced: %.0f ms from `knotc zone-reload` (%.0f ms after it returned)'
          % ((t_blocked - t0) * 1000, (t_blocked - t_reloaded) * 1000))
    expect_censored(d, 'w.example.test')
    expect_pass(d, 'x.example.test')
    expect_censored(d, 'a.y.example.test')
    expect_local_data(d)
    expect_pass(d, 'ok.y.example.test')
    rep = wait_serial(d, 2, 1.0)
    v = versions(rep)
    check([(s, how) for s, _, how in v] == [(2, 'IXFR'), (1, 'AXFR')],
          'version history, want serial 2 by IXFR after 1 by AXFR:\n' + rep)
    check(re.search(r'\([1-9]\d* changed by IXFR', rep), 'no IXFR changes counted:\n' + rep)
    lines = versions_file(d)
    check(len(lines) == 2 and 'serial=2 ' in lines[1] and 'how=IXFR' in lines[1],
          'national.versions: %r' % lines)
    # the stream: nothing lost, each answer flips once at most
    eq(stream.lost, [], 'queries lost during the update (send time, name)')
    blocked_ans, seq = ('NXDOMAIN', ()), {}
    for _, name, rcode, addrs in stream.results:
        seq.setdefault(name, []).append((rcode, addrs))
    passed = {n: ('NOERROR', (REAL[n],)) for n in names}
    want = {'w.example.test': (passed, blocked_ans), 'x.example.test': (blocked_ans, passed),
            'y.example.test': (passed, passed), 'a.y.example.test': (blocked_ans, blocked_ans),
            'open.example.test': (passed, passed)}
    for name, answers in seq.items():
        first, last = want[name]
        first = first[name] if isinstance(first, dict) else first
        last = last[name] if isinstance(last, dict) else last
        flips = sum(1 for a, b in zip(answers, answers[1:]) if a != b)
        check(answers[0] == first and answers[-1] == last and flips <= (first != last),
              'stream answers for %s: first %r, last %r, %d changes (want %r then %r, %d at '
              'most); distinct: %r' % (name, answers[0], answers[-1], flips, first, last,
                                       int(first != last), sorted(set(answers))))
    print('   %d queries during the update, none lost' % len(stream.results))
    # without TSIG a NOTIFY is accepted from the primary's address only, and for our zone only
    m = send_notify(d, source='127.0.0.2')
    eq(dns.rcode.to_text(m.rcode()), 'REFUSED', 'rcode for a NOTIFY from 127.0.0.2')
    check("NOTIFY for %s refused: source address is not the primary's" % RPZ_ZONE
          in stderr_text(d), 'the refused NOTIFY is not logged')
    m = send_notify(d, zone='example.test.')
    check(m.rcode() != dns.rcode.NOERROR, 'a NOTIFY for a zone we do not sync got NOERROR')
    m = send_notify(d)
    eq(dns.rcode.to_text(m.rcode()), 'NOERROR', 'rcode for a NOTIFY from the primary')
    d.expect_alive()


def test_tsig(t):
    # knotd requires the key for transfers and signs its NOTIFYs with it; the daemon has the
    # right key name and algorithm but another secret
    bad = (KEY_NAME, 'hmac-sha256', WRONG_SECRET)
    knot, d = setup(t, BASE, serial=1, key=KEY, daemon_key=bad)
    rep = wait_report(d, lambda r: 'last refresh failed' in r, 10.0,
                      'the failed transfer in `lanhmanh lists`')
    check(re.match(r'list national: zone %s from \S+ \(TSIG\), no version yet '
                   % re.escape(RPZ_ZONE), rep), 'want "no version yet":\n' + rep)
    err = re.search(r'^  last refresh failed: (.*)$', rep, re.M).group(1)
    check('TSIG' in err, 'the failure does not mention TSIG: %r' % err)
    check(re.search(r'^  ALERT: no version yet: .*TSIG', rep, re.M), 'no alert:\n' + rep)
    check(not versions(rep), 'versions without a transfer:\n' + rep)
    alerts, out = status_alerts(d)
    check(any(a.startswith('ALERT list national: no version yet: ') and 'TSIG' in a
              for a in alerts), 'no ALERT line in `lanhmanh status`:\n' + out)
    for name in ('x.example.test', 'a.y.example.test', 'y.example.test', 'ok.y.example.test',
                 'z.example.test'):
        expect_pass(d, name)  # nothing is blocked by a list we do not have
    # knotd's NOTIFY, signed with the key whose secret the daemon does not have: refused
    refused0 = stderr_text(d).count('NOTIFY for %s refused' % RPZ_ZONE)
    knot.knotc('zone-notify', RPZ_ZONE, check=False)  # fails: the daemon refuses it
    poll(lambda: (stderr_text(d).count('NOTIFY for %s refused' % RPZ_ZONE) > refused0,
                  stderr_text(d)[-3000:]), 5.0, 'the daemon to refuse the signed NOTIFY')
    # the same from the test, signed with the key as the authority has it
    m = send_notify(d, key=KEY)
    eq(dns.rcode.to_text(m.rcode()), 'REFUSED', 'rcode for a NOTIFY the daemon cannot verify')

    # the right secret (a reload): the first transfer, enforced
    d.config['lists'][0]['tsig']['secret'] = SECRET
    d.write_config(d.config)
    d.ctl_reload().expect_ok()
    rep = wait_serial(d, 1)
    check('(TSIG)' in rep, 'report does not say TSIG:\n' + rep)
    check('ALERT' not in rep and 'last refresh failed' not in rep, 'alert left:\n' + rep)
    expect_base_enforced(d)
    alerts, out = status_alerts(d)
    eq(alerts, [], 'alerts in `lanhmanh status` after the good key')

    # knotd now NOTIFYs unsigned: serial 2 (w added) is not fetched on that NOTIFY
    knot.reconfigure(notify_key=False)
    refused0 = stderr_text(d).count('NOTIFY for %s refused' % RPZ_ZONE)
    knot.set_zone(rpz(2, BASE + ['w.example.test CNAME .']), serial=2)
    poll(lambda: (stderr_text(d).count('NOTIFY for %s refused' % RPZ_ZONE) > refused0,
                  stderr_text(d)[-3000:]), 5.0, 'the daemon to refuse the unsigned NOTIFY')
    # NOTIFYs from the test: unsigned, signed with another secret, or from another address
    for what, kw in (('unsigned', {}),
                     ('signed with another secret', {'key': bad}),
                     ('signed with another key name', {'key': ('other.', 'hmac-sha256',
                                                               SECRET)}),
                     ('from 127.0.0.2, signed right', {'key': KEY, 'source': '127.0.0.2'})):
        m = send_notify(d, **kw)
        eq(dns.rcode.to_text(m.rcode()), 'REFUSED', 'rcode for a NOTIFY %s' % what)
    expect_pass(d, 'w.example.test')
    rep = sync_report(lists_out(d))
    eq(head_serial(rep), 1, 'serial after refused NOTIFYs:\n' + rep)
    # a NOTIFY signed with the key: answered NOERROR, signed, and serial 2 comes
    m = send_notify(d, key=KEY)
    eq(dns.rcode.to_text(m.rcode()), 'NOERROR', 'rcode for a correctly signed NOTIFY')
    check(m.had_tsig, 'the answer to a signed NOTIFY is not signed:\n%s' % m)
    rep = wait_serial(d, 2, 5.0)
    check([(s, how) for s, _, how in versions(rep)] == [(2, 'IXFR'), (1, 'AXFR')],
          'versions:\n' + rep)
    expect_censored(d, 'w.example.test')
    # the refusals were for the reasons given
    log = stderr_text(d)
    for why in ('bad TSIG signature',                       # signed, the daemon's secret differs
                'not TSIG-signed, and a TSIG key is configured',
                'TSIG key name or algorithm is not the configured one',
                "source address is not the primary's"):
        check('NOTIFY for %s refused: %s' % (RPZ_ZONE, why) in log,
              'no "NOTIFY ... refused: %s" in the log:\n%s' % (why, log[-4000:]))
    d.expect_alive()


def test_primary_goes_away(t):
    """Serial 7 by AXFR, 8 by IXFR, then knotd stops: the version in force stays (the failed
    refresh is shown), also across a restart of the daemon, which serves it from state_dir/sync/
    before the primary answers. knotd comes back with serial 9: its NOTIFY brings it (whether
    by IXFR or AXFR is test_ixfr_after_an_outage's business)."""
    knot, d = setup(t, BASE, serial=7, refresh=5, retry=5)
    wait_serial(d, 7)
    expect_base_enforced(d)
    serial8 = [l for l in BASE if not l.startswith('x.')] + ['w.example.test CNAME .']
    knot.set_zone(rpz(8, serial8, 5, 5), serial=8)
    wait_serial(d, 8, 5.0)

    def expect_serial8():
        expect_pass(d, 'x.example.test')
        expect_censored(d, 'w.example.test')
        expect_censored(d, 'a.y.example.test')
        expect_pass(d, 'y.example.test')
        expect_pass(d, 'ok.y.example.test')
        expect_local_data(d)
    expect_serial8()
    knot.stop()
    t0 = time.monotonic()
    rep = wait_report(d, lambda r: 'last refresh failed' in r, 20.0,
                      'a failed refresh after the primary went away (SOA refresh 5 s)')
    print('   refresh failure reported %.1f s after knotd stopped' % (time.monotonic() - t0))
    eq(head_serial(rep), 8, 'serial in force:\n' + rep)
    check(str(knot.port) in rep, 'the failure does not name the primary:\n' + rep)
    expect_serial8()
    alerts, out = status_alerts(d)
    eq(alerts, [], 'alerts within the expire time (`lanhmanh status`)')
    # a restart with knotd still down: the saved version (base + IXFR changes) is enforced
    # from the first query
    d.stop()
    d.start()
    expect_serial8()
    rep = sync_report(lists_out(d))
    eq(head_serial(rep), 8, 'serial after the restart:\n' + rep)
    eq([(s, how) for s, _, how in versions(rep)], [(8, 'IXFR'), (7, 'AXFR')],
       'version history after the restart')
    rep = wait_report(d, lambda r: 'last refresh failed' in r, 10.0,
                      'the failed refresh after the restart')
    eq(head_serial(rep), 8, 'serial in force:\n' + rep)
    eq(len(versions_file(d)), 2, 'lines in national.versions')
    expect_serial8()
    # knotd is back with serial 9 (open.example.test added); it NOTIFYs at start
    knot.write_zone(rpz(9, serial8 + ['open.example.test CNAME .'], 5, 5))
    knot.start()
    rep = wait_serial(d, 9, 5.0)
    v = [(s, how) for s, _, how in versions(rep)]
    check(v[1:] == [(8, 'IXFR'), (7, 'AXFR')] and v[0][0] == 9,
          'version history after the primary came back: %r\n%s' % (v, rep))
    check('last refresh failed' not in rep, 'failure still shown:\n' + rep)
    expect_censored(d, 'open.example.test')
    expect_serial8()
    d.expect_alive()


def test_ixfr_after_an_outage(t):
    """A primary that could not be reached is no broken IXFR: once it is back, the changes
    since the version in force come by IXFR, not by a full transfer (README: "a broken IXFR is
    retried as a full transfer")."""
    knot, d = setup(t, BASE, serial=1)
    wait_serial(d, 1)
    knot.stop()
    m = send_notify(d)  # from the primary's address: refresh now, and fail
    eq(dns.rcode.to_text(m.rcode()), 'NOERROR', 'rcode for the NOTIFY')
    rep = wait_report(d, lambda r: 'last refresh failed' in r, 5.0, 'the failed refresh')
    check('connection refused' in rep, 'want "connection refused" in the failure:\n' + rep)
    knot.write_zone(rpz(2, BASE + ['w.example.test CNAME .']))
    knot.start()  # NOTIFYs at start
    rep = wait_serial(d, 2, 5.0)
    expect_censored(d, 'w.example.test')
    # The daemon asks for an IXFR after the outage (not a forced AXFR); this knotd lost its
    # history when it restarted ("incomplete history, fallback to AXFR" in its log) and answers
    # in full, which the daemon records as IXFR-full.
    eq([(s, how) for s, _, how in versions(rep)], [(2, 'IXFR-full'), (1, 'AXFR')],
       'version history after the outage')
    knot_log = open(knot.log, encoding='utf-8', errors='replace').read()
    check('IXFR, outgoing' in knot_log, 'the daemon did not ask for an IXFR:\n'
          + knot_log)
    d.expect_alive()


def test_list_removed_and_readded(t):
    """A reload without the synced list stops enforcing it; adding it back serves the saved
    version at once (no new transfer: the primary confirms the serial)."""
    knot, d = setup(t, BASE, serial=1)
    wait_serial(d, 1)
    expect_base_enforced(d)
    saved = d.config.pop('lists')
    d.write_config(d.config)
    d.ctl_reload().expect_ok()
    for name in ('x.example.test', 'a.y.example.test', 'z.example.test'):
        expect_pass(d, name)
    out = lists_out(d)
    check('list national: zone' not in out, 'a removed list is still reported:\n' + out)
    d.config['lists'] = saved
    d.write_config(d.config)
    d.ctl_reload().expect_ok()
    expect_base_enforced(d)
    rep = wait_report(d, lambda r: 'last confirmed' in r, 5.0, 'the list back')
    eq(head_serial(rep), 1, 'serial of the list added back:\n' + rep)
    eq(len(versions_file(d)), 1, 'lines in national.versions (the serial did not change)')
    d.expect_alive()


TEN = ['t%d.example.test CNAME .' % i for i in range(10)]


def test_never_worse(t):
    knot, d = setup(t, TEN, serial=1)
    wait_serial(d, 1)
    for i in range(10):
        expect_censored(d, 't%d.example.test' % i)
    # serial 2 keeps 2 of the 10 triggers: 80% removed
    knot.set_zone(rpz(2, TEN[:2]), serial=2)
    rep = wait_report(d, lambda r: 'ALERT' in r, 5.0, 'the held-back update')
    alerts, out = status_alerts(d)
    check(any(a.startswith('ALERT list national: update held back: ') for a in alerts),
          'no "ALERT list national: update held back" in `lanhmanh status`:\n' + out)
    print('   ' + alerts[0])
    eq(head_serial(rep), 1, 'serial in force after a shrink:\n' + rep)
    check(re.search(r'^  ALERT: update held back: .*from 10 to 2 entries', rep, re.M),
          'alert does not give the numbers (from 10 to 2):\n' + rep)
    for i in range(10):
        expect_censored(d, 't%d.example.test' % i)
    eq([(s, how) for s, _, how in versions(rep)], [(1, 'AXFR')], 'versions')
    # serial 3: an empty zone (SOA and NS only)
    before = stderr_text(d).count('refresh of %s' % RPZ_ZONE)
    knot.set_zone(rpz(3, []), serial=3)
    poll(lambda: (stderr_text(d).count('refresh of %s' % RPZ_ZONE) > before,
                  stderr_text(d)[-3000:]), 5.0, 'the refresh of serial 3 to fail')
    rep = sync_report(lists_out(d))
    eq(head_serial(rep), 1, 'serial in force after an empty zone:\n' + rep)
    check(re.search(r'^  ALERT: update held back: ', rep, re.M), 'no alert:\n' + rep)
    for i in range(10):
        expect_censored(d, 't%d.example.test' % i)
    eq(len(versions_file(d)), 1, 'lines in national.versions')
    d.expect_alive()
    d.stop()
    # a first transfer of an empty zone: no version at all
    port = free_port()
    d2 = t.daemon(config=config(t, port, d.config['server']['forwarders'][0], knot.addr,
                                name='fresh'), name='fresh', port=port).start()
    rep = wait_report(d2, lambda r: 'last refresh failed' in r, 10.0, 'the refused empty zone')
    check('no version yet' in rep and re.search(r'^  ALERT: .*serial 3 has no entry', rep, re.M),
          'want no version and an alert about the empty serial 3:\n' + rep)
    alerts, out = status_alerts(d2)
    check(any(a.startswith('ALERT list national: ') for a in alerts),
          'no alert in `lanhmanh status`:\n' + out)
    expect_pass(d2, 't0.example.test')
    d2.expect_alive()


def test_empty_zone_with_max_shrink_100(t):
    """max_shrink 100% accepts any shrink, but an empty zone is never a list (config/README.md:
    "a transfer that ... brings an empty zone ... leaves the version in force")."""
    knot, d = setup(t, TEN, serial=1, max_shrink='100%')
    wait_serial(d, 1)
    knot.set_zone(rpz(2, TEN[:2]), serial=2)   # 80% removed: accepted with 100%
    rep = wait_serial(d, 2, 5.0)
    check('ALERT' not in rep, 'alert for a shrink allowed by max_shrink 100%:\n' + rep)
    expect_censored(d, 't0.example.test')
    expect_pass(d, 't9.example.test')
    knot.set_zone(rpz(3, []), serial=3)        # SOA and NS only
    rep = wait_report(d, lambda r: head_serial(r) == 3 or 'ALERT' in r, 5.0,
                      'the refresh of serial 3 (empty)')
    problems = []
    if head_serial(rep) != 2:
        problems.append('the empty serial 3 was applied (want serial 2 kept):\n' + rep)
    if not re.search(r'^  ALERT: update held back: .*no entry', rep, re.M):
        problems.append('no "update held back: ... no entry" alert:\n' + rep)
    for name in ('t0.example.test', 't1.example.test'):
        r = ask(d, name)
        if r.rcode != 'NXDOMAIN':
            problems.append('%s is not blocked any more:\n%s' % (name, r.text()))
    check(not problems, '\n'.join(problems))
    d.expect_alive()


def test_shrink_against_the_list_in_force(t):
    """max_shrink is a share of the list's entries in force: 10 -> 6 (40%) passes, then
    6 -> 2 (67%) is held back, although it is only 40% of the first full version. The versions
    record the entries in force."""
    knot, d = setup(t, TEN, serial=1)
    wait_serial(d, 1)
    knot.set_zone(rpz(2, TEN[:6]), serial=2)
    rep = wait_serial(d, 2, 5.0)
    expect_censored(d, 't5.example.test')
    expect_pass(d, 't6.example.test')
    problems = []
    v = versions(rep)
    if not v or v[0][:2] != (2, 6):
        problems.append('version serial 2 should count 6 entries: %r\n%s' % (v[:1], rep))
    knot.set_zone(rpz(3, TEN[:2]), serial=3)
    rep = wait_report(d, lambda r: head_serial(r) == 3 or 'ALERT' in r, 5.0,
                      'the refresh of serial 3')
    if head_serial(rep) != 2 or 'ALERT: update held back' not in rep:
        problems.append('6 -> 2 entries (67%%) not held back:\n%s' % rep)
    r = ask(d, 't5.example.test')
    if r.rcode != 'NXDOMAIN':
        problems.append('t5.example.test is not blocked any more:\n' + r.text())
    check(not problems, '\n'.join(problems))
    d.expect_alive()


def test_fixed_after_held_back(t):
    """The authority publishes a broken version (80% of the list gone), then fixes it: the
    fixed version (more entries than before) applies, by IXFR or a full transfer."""
    knot, d = setup(t, TEN, serial=1)
    wait_serial(d, 1)
    knot.set_zone(rpz(2, TEN[:2]), serial=2)
    wait_report(d, lambda r: 'ALERT: update held back' in r, 5.0, 'the held-back update')
    knot.set_zone(rpz(3, TEN + ['w.example.test CNAME .']), serial=3)
    rep = wait_report(d, lambda r: head_serial(r) == 3, 5.0,
                      'serial 3 (the fixed version) in force')
    check('ALERT' not in rep, 'alert left after the fix:\n' + rep)
    expect_censored(d, 'w.example.test')
    for i in range(10):
        expect_censored(d, 't%d.example.test' % i)
    d.expect_alive()


def test_explain_and_cached(t):
    knot, d = setup(t, BASE, serial=1)
    wait_serial(d, 1)
    # cached before the list has it
    expect_pass(d, 'cached.example.test')
    expect_pass(d, 'cached.example.test')
    st = d.ctl('stats').expect_ok().stdout
    knot.set_zone(rpz(2, BASE + ['cached.example.test CNAME .']), serial=2)
    wait_serial(d, 2, 5.0)
    expect_censored(d, 'cached.example.test')
    expect_censored(d, 'cached.example.test', query=tcp)
    expect_censored(d, 'cached.example.test', NETWORK_CLIENT)
    upstream = lambda text: int(re.search(r'^upstream_queries (\d+)$', text, re.M).group(1))
    eq(upstream(d.ctl('stats').expect_ok().stdout), upstream(st),
       'upstream queries (the name was cached)')
    out = d.ctl('explain', '127.0.0.1', 'x.example.test').expect_ok().stdout
    for want in ("list 'national'", 'decision: BLOCK by national list'):
        check(want in out, 'explain x.example.test lacks %r:\n%s' % (want, out))
    out = d.ctl('explain', '127.0.0.1', 'cached.example.test').expect_ok().stdout
    for want in ("cached.example.test in list 'national'", 'decision: BLOCK by national list'):
        check(want in out, 'explain cached.example.test lacks %r:\n%s' % (want, out))
    out = d.ctl('explain', NETWORK_CLIENT, 'open.example.test').expect_ok().stdout
    check('decision: PASS' in out, 'explain open.example.test:\n' + out)
    d.expect_alive()


def test_explain_names_the_source(t):
    """`lanhmanh explain` says where a synced list's entry comes from (the zone and its
    primary), not "built in"."""
    knot, d = setup(t, BASE, serial=1)
    wait_serial(d, 1)
    out = d.ctl('explain', '127.0.0.1', 'x.example.test').expect_ok().stdout
    m = re.search(r'^entry: .*$', out, re.M)
    check(m, 'explain has no entry line:\n' + out)
    line = m.group(0)
    check('built in' not in line and (RPZ_ZONE in line or str(knot.port) in line),
          'the entry line should name the zone or its primary, not "built in": %r' % line)



def stat(d, name):
    out = d.ctl('stats').expect_ok().stdout
    m = re.search(r'^%s (\d+)$' % re.escape(name), out, re.M)
    check(m, 'no %s in stats:\n%s' % (name, out))
    return int(m.group(1))


def test_edu_gov_held_for_review(t):
    """A version that would block names under .edu.vn / .gov.vn waits for a person: the version
    in force stays, the waiting one is evaluated in log-only mode, `lists diff` shows it with
    the school's name marked, `lists promote` applies it."""
    knot, d = setup(t, BASE, serial=1)
    wait_serial(d, 1)
    knot.set_zone(rpz(2, BASE + ['w.example.test CNAME .', 'www.moet.edu.vn CNAME .']),
                  serial=2)
    rep = wait_report(d, lambda r: 'WAITING: serial 2' in r, 5.0, 'serial 2 waiting')
    eq(head_serial(rep), 1, 'serial in force while serial 2 waits:\n' + rep)
    alerts, out = status_alerts(d)
    check(any('held for review' in a and 'www.moet.edu.vn' in a for a in alerts),
          'no "held for review" alert naming www.moet.edu.vn:\n' + out)
    # not applied: w passes, but the waiting version's block is counted (log-only)
    before = stat(d, 'audit_would_block')
    expect_pass(d, 'w.example.test')
    eq(stat(d, 'audit_would_block'), before + 1, 'audit_would_block after one query')
    check('would be blocked by the waiting version' in stderr_text(d),
          'no audit log line:\n' + stderr_text(d)[-2000:])
    expect_base_enforced(d)
    diff = d.ctl('lists', 'diff', 'national').expect_ok().stdout
    for want in ('serial 1 in force, serial 2 waiting', 'added 2, removed 0, changed 0; blocks 1 more name under .edu.vn/.gov.vn',
                 '+ w.example.test.\n', '+ www.moet.edu.vn.   <-- .edu.vn/.gov.vn'):
        check(want in diff, 'lists diff lacks %r:\n%s' % (want, diff))
    out = d.ctl('lists', 'promote', 'national').expect_ok().stdout
    check('serial 2 is in force' in out, 'promote:\n' + out)
    expect_censored(d, 'w.example.test')
    r = ask(d, 'www.moet.edu.vn')
    r.expect_rcode('NXDOMAIN').expect_ede(EDE_CENSORED)
    rep = sync_report(lists_out(d))
    eq([(s, how) for s, _, how in versions(rep)], [(2, 'IXFR-promoted'), (1, 'AXFR')],
       'versions after promote')
    alerts, out = status_alerts(d)
    check(not alerts, 'alert left after promote:\n' + out)
    r = d.ctl('lists', 'promote', 'national')
    r.expect(r.returncode == 1, 'a second promote must fail (nothing waits)')
    d.expect_alive()


def test_audit_mode(t):
    """audit: true — the first version applies (no list would be worse); later versions wait
    in log-only mode until promoted; a newer version replaces the waiting one."""
    knot, d = setup(t, BASE, serial=1, audit=True)
    wait_serial(d, 1)
    expect_base_enforced(d)
    knot.set_zone(rpz(2, BASE + ['w.example.test CNAME .']), serial=2)
    wait_report(d, lambda r: 'WAITING: serial 2' in r, 5.0, 'serial 2 waiting')
    expect_pass(d, 'w.example.test')
    alerts, out = status_alerts(d)
    check(not alerts, 'audit mode is not an alert:\n' + out)
    knot.set_zone(rpz(3, BASE + ['w.example.test CNAME .', 't1.example.test CNAME .']),
                  serial=3)
    rep = wait_report(d, lambda r: 'WAITING: serial 3' in r, 5.0, 'serial 3 waiting')
    eq(head_serial(rep), 1, 'in force while serial 3 waits:\n' + rep)
    diff = d.ctl('lists', 'diff', 'national').expect_ok().stdout
    check('added 2, removed 0' in diff and '+ t1.example.test.' in diff,
          'lists diff of serial 3 against 1:\n' + diff)
    d.ctl('lists', 'promote', 'national').expect_ok()
    expect_censored(d, 'w.example.test')
    expect_censored(d, 't1.example.test')
    # the next version is fetched from the promoted serial, by IXFR
    knot.set_zone(rpz(4, BASE + ['w.example.test CNAME .', 't1.example.test CNAME .',
                                 't2.example.test CNAME .']), serial=4)
    wait_report(d, lambda r: 'WAITING: serial 4' in r, 5.0, 'serial 4 waiting')
    d.ctl('lists', 'promote', 'national').expect_ok()
    expect_censored(d, 't2.example.test')
    rep = sync_report(lists_out(d))
    eq([(s, how) for s, _, how in versions(rep)],
       [(4, 'IXFR-promoted'), (3, 'IXFR-promoted'), (1, 'AXFR')], 'versions in audit mode')
    d.expect_alive()


if __name__ == '__main__':
    run(globals(), needs=('nsd', 'knotd', 'knotc'))
