# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-client policy end to end: networks → groups (presets, block/unblock, allow/deny,
schedules), the national list beating every allow, safe search rewrites, bypass canaries and
local zones, the built-in proxy_vpn_doh names, MMDB subscriber networks, `lanhmanh explain`,
and group changes on reload (under load, and refused when bad).

nsd serves inline zones for the list names (school.test) and for the search engines, canaries
and DoH hosts, so that every answer that must NOT come from upstream is distinguishable from
nsd's record for the same name."""

import os
import re
import subprocess
import time


from harness import (EDE_PROHIBITED, NoAnswer, QueryStream, TestFailure, check, eq, free_port,
                     run, tcp, udp, wait_until)

EDE_BLOCKED = 15
EDE_CENSORED = 16
EDE_FILTERED = 17
BLOCK_EDES = (EDE_BLOCKED, EDE_CENSORED, EDE_FILTERED)

SINK4 = '10.10.10.10'
SINK_NATIONAL4 = '10.16.16.16'

# Clients (source addresses) and what they are.
TIEU_HOC = '127.0.3.1'       # tieu_hoc (+ the group's allow/deny), network allow entries
GIAO_VIEN = '127.0.4.1'      # giao_vien preset as it is (staff)
THPT = '127.0.5.1'           # thpt + a schedule blocking social every day, all day
LOP_MO = '127.0.6.1'         # from thpt: no canaries, no safe search, games never now
NO_GROUP = '127.0.7.1'       # a network without a group: every category
TIEU_HOC_2 = '127.0.12.1'    # tieu_hoc again, in a network without allow entries
LOCALHOST = '127.0.0.1'      # always served, no network: every category
OUTSIDER = '127.0.10.1'      # in no network and no MMDB range

# school.test: names on the lists, with the addresses nsd gives them.
REAL = {
    'www.national.school.test': '192.0.2.16',
    'www.adult.school.test': '192.0.2.11',
    'www.games.school.test': '192.0.2.21',
    'netallow.games.school.test': '192.0.2.22',
    'grpallow.games.school.test': '192.0.2.23',
    'www.social.school.test': '192.0.2.13',
    'denied.school.test': '192.0.2.30',
    'open.school.test': '192.0.2.40',
}


def zone(origin, records):
    return ('$ORIGIN %s.\n$TTL 86400\n'
            '@ 120 IN SOA ns.%s. hostmaster.%s. 2024010101 3600 600 86400 60\n'
            '@ IN NS ns.example.test.\n%s\n' % (origin, origin, origin, records))


ZONES = {
    'school.test': zone('school.test', '\n'.join(
        '%s. IN A %s' % (n, a) for n, a in REAL.items())),
    'google.com': zone('google.com', 'forcesafesearch IN A 216.239.38.120\n'
                                     'www IN A 9.9.9.4\nmail IN A 9.9.9.8'),
    'google.com.vn': zone('google.com.vn', 'www IN A 1.2.3.4\n@ IN A 1.2.3.5'),
    'youtube.com': zone('youtube.com', 'restrict IN A 216.239.38.120\n'
                                       'restrictmoderate IN A 216.239.38.119\n'
                                       'www IN A 9.9.9.1'),
    'bing.com': zone('bing.com', 'strict IN A 204.79.197.220\nwww IN A 9.9.9.2'),
    'duckduckgo.com': zone('duckduckgo.com', 'safe IN A 52.149.246.39\n@ IN A 9.9.9.3'),
    # Canaries and local zones served upstream: an answer from here means we forwarded.
    'use-application-dns.net': zone('use-application-dns.net', '@ IN A 9.9.9.5\n'
                                                               '@ IN AAAA 2001:db8::5'),
    'icloud.com': zone('icloud.com', 'mask IN A 9.9.9.6\nmask-h2 IN A 9.9.9.7'),
    'resolver.arpa': zone('resolver.arpa', '_dns IN SVCB 1 dns.example.test. alpn=dot'),
    # Built-in proxy_vpn_doh names.
    'dns.google': zone('dns.google', '@ IN A 8.8.8.8'),
    'cloudflare-dns.com': zone('cloudflare-dns.com', '@ IN A 1.1.1.1'),
}

LISTS = {  # name: (category, file text)
    'national': ('national', 'national.school.test\n'),
    'adult': ('adult', 'adult.school.test\n'),
    'games': ('games', 'games.school.test\n'),
    'social': ('social', 'social.school.test\n'),
}

EVERY_DAY = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']


# --------------------------------------------------------------------------------------------
# set-up


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def hhmm(minute):
    return '%02d:%02d' % (minute // 60, minute % 60)


def not_now_window():
    """(from, to) of a one-hour window starting two hours from now (UTC), every day: never now
    for the minute or so a test runs."""
    now = int(time.time()) // 60 % 1440
    start = (now + 120) % 1440
    end = (start + 60) % 1440
    return hhmm(start), ('24:00' if end == 0 else hhmm(end))


def nsd(t):
    return t.nsd(zones=(), zone_texts=ZONES)


def make_config(t, upstream, mmdb=None):
    """Networks 127.0.3/24 … 127.0.7/24 and 127.0.12/24, groups, four domain lists."""
    d = t.path('lists')
    os.makedirs(d, exist_ok=True)
    lists = []
    for name, (category, text) in LISTS.items():
        path = os.path.join(d, name + '.txt')
        write(path, text)
        lists.append({'name': name, 'category': category, 'format': 'domains', 'file': path})
    state = t.path('state')
    os.makedirs(state, exist_ok=True)
    frm, to = not_now_window()
    networks = [
        {'name': 'Tiểu học', 'id': 'TH', 'cidr': ['127.0.3.0/24'], 'group': 'tieu_hoc',
         'allow': ['netallow.games.school.test', 'www.national.school.test']},
        {'name': 'Giáo viên', 'id': 'GV', 'cidr': ['127.0.4.0/24'], 'group': 'giao_vien'},
        {'name': 'THPT', 'id': 'THPT', 'cidr': ['127.0.5.0/24'], 'group': 'thpt'},
        {'name': 'Lớp mở', 'id': 'MO', 'cidr': ['127.0.6.0/24'], 'group': 'lop_mo'},
        {'name': 'Không nhóm', 'id': 'NONE', 'cidr': ['127.0.7.0/24']},
        {'name': 'Tiểu học 2', 'id': 'TH2', 'cidr': ['127.0.12.0/24'], 'group': 'tieu_hoc'},
    ]
    if mmdb:
        networks.append({'mmdb': mmdb, 'province_field': 'province'})
    port = free_port()
    return {
        'server': {
            'listen': ['127.0.0.1:%d' % port],
            'workers': 2,
            'mode': 'forward',
            'forwarders': [upstream],
            'cache_size': '16MiB',
            'state_dir': state,
            'control_socket': t.path('control.sock'),
            'log_level': 'info',
            'upstream_timeout': '300ms',
            'tcp_idle_timeout': '2s',
            'timezone': 'UTC',
        },
        'sinkhole': {'ipv4': SINK4, 'ipv6': 'fd00:10::10', 'ttl': 60,
                     'reasons': {'national': {'ipv4': SINK_NATIONAL4}}},
        'lists': lists,
        'groups': {
            'tieu_hoc': {
                'allow': ['grpallow.games.school.test', 'www.national.school.test'],
                'deny': ['denied.school.test'],
            },
            'thpt': {
                'schedules': [{'block': ['social'], 'days': EVERY_DAY,
                               'from': '00:00', 'to': '24:00'}],
            },
            'lop_mo': {
                'preset': 'thpt',
                'safe_search': False,
                'bypass_canaries': False,
                'schedules': [{'block': ['games'], 'days': EVERY_DAY, 'from': frm, 'to': to}],
            },
        },
        'networks': networks,
    }


def daemon(t, cfg, **kw):
    port = int(cfg['server']['listen'][0].rsplit(':', 1)[1])
    return t.daemon(config=cfg, port=port, **kw)


# --------------------------------------------------------------------------------------------
# checks


def ask(d, client, name, rdtype='A', query=udp):
    try:
        return query(d.port, name, rdtype, source=client)
    except NoAnswer as e:
        raise TestFailure('client %s, %s %s: %s' % (client, name, rdtype, e))


def _with_client(client, name, fn):
    try:
        return fn()
    except TestFailure as e:
        raise TestFailure('client %s, %s: %s' % (client, name, e))


def expect_blocked(d, client, name, ede=EDE_BLOCKED, addr=SINK4, query=udp):
    r = ask(d, client, name, query=query)

    def checks():
        r.expect_rcode('NOERROR').expect_values(name + '.', 'A', [addr]).expect_ede(ede)
        r.expect(r.count() == 1, 'a blocked answer has %d records' % r.count())
        return r
    return _with_client(client, name, checks)


def expect_pass(d, client, name, addr=None, query=udp):
    addr = addr or REAL[name]
    r = ask(d, client, name, query=query)

    def checks():
        r.expect_rcode('NOERROR').expect_values(name + '.', 'A', [addr])
        r.expect(not set(r.ede_codes) & set(BLOCK_EDES), 'a passed answer carries EDE %r' % r.ede)
        return r
    return _with_client(client, name, checks)


def expect_national(d, client, name='www.national.school.test', query=udp):
    r = expect_blocked(d, client, name, EDE_CENSORED, SINK_NATIONAL4, query=query)
    _with_client(client, name, lambda: r.expect(
        EDE_BLOCKED not in r.ede_codes, 'national block with EDE 15 too: %r' % r.ede))
    return r


def expect_nxdomain_local(d, client, name, rdtype='A'):
    r = ask(d, client, name, rdtype)

    def checks():
        r.expect_rcode('NXDOMAIN')
        r.expect(not r.msg.answer, 'canary answered with records')
        r.expect(r.rrset(name + '.', 'SOA', 'authority') is not None,
                 'no synthetic SOA at the name for negative caching')
        r.expect(not set(r.ede_codes) & set(BLOCK_EDES), 'canary answer carries a block EDE %r'
                 % r.ede)
        return r
    return _with_client(client, name, checks)


def expect_safe(d, client, name, target, addr, rdtype='A', query=udp, real=None):
    """name CNAME target, then target's address; never the name's real address."""
    r = ask(d, client, name, rdtype, query=query)

    def checks():
        r.expect_rcode('NOERROR')
        r.expect_values(name + '.', 'CNAME', [target + '.'])
        if rdtype == 'A':
            r.expect_values(target + '.', 'A', [addr])
            r.expect(r.rrset(name + '.', 'A') is None, 'the real address of the name is there')
        else:
            r.expect(r.count() == 1, 'want the CNAME only (target has no %s)' % rdtype)
        if real:
            r.expect(real not in r.msg.to_text(), 'the real answer %s leaked' % real)
        r.expect(not set(r.ede_codes) & set(BLOCK_EDES), 'a rewrite carries EDE %r' % r.ede)
        return r
    return _with_client(client, name, checks)


def stats(d):
    out = d.ctl('stats').expect_ok().stdout
    kv = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 2 and f[1].isdigit():
            kv[f[0]] = int(f[1])
    check('upstream_queries' in kv, 'no upstream_queries in lanhmanh stats:\n' + out)
    return kv


def explain(d, client, name, *wants):
    out = d.ctl('explain', client, name).expect_ok().stdout
    for w in wants:
        check(w in out, 'explain %s %s lacks %r:\n%s' % (client, name, w, out))
    return out


# --------------------------------------------------------------------------------------------
# tests


def test_groups_per_network(t):
    """Same names, different answers by source address; the national list beats every allow."""
    with nsd(t) as ns:
        with daemon(t, make_config(t, ns.addr)) as d:
            # games: blocked by tieu_hoc and for a network without a group, not for staff,
            # not for thpt (its preset does not block games)
            expect_blocked(d, TIEU_HOC, 'www.games.school.test')
            expect_pass(d, GIAO_VIEN, 'www.games.school.test')
            expect_pass(d, THPT, 'www.games.school.test')
            expect_blocked(d, NO_GROUP, 'www.games.school.test')
            expect_blocked(d, TIEU_HOC_2, 'www.games.school.test')
            # ... asked again (the staff answer is cached now: the cache is policy-free)
            expect_blocked(d, TIEU_HOC, 'www.games.school.test')
            expect_blocked(d, TIEU_HOC, 'www.games.school.test', query=tcp)
            expect_pass(d, GIAO_VIEN, 'www.games.school.test', query=tcp)
            # adult: blocked for tieu_hoc and thpt, passes for giao_vien
            expect_pass(d, GIAO_VIEN, 'www.adult.school.test')
            expect_blocked(d, TIEU_HOC, 'www.adult.school.test')
            expect_blocked(d, THPT, 'www.adult.school.test')
            expect_blocked(d, LOP_MO, 'www.adult.school.test')
            expect_blocked(d, NO_GROUP, 'www.adult.school.test')
            # social: tieu_hoc blocks it always, thpt by its all-day schedule, staff never
            expect_blocked(d, TIEU_HOC, 'www.social.school.test')
            expect_pass(d, GIAO_VIEN, 'www.social.school.test')
            # the national list: every client, also the network and group that allow the name
            for client in (TIEU_HOC, GIAO_VIEN, THPT, LOP_MO, NO_GROUP, TIEU_HOC_2, LOCALHOST):
                expect_national(d, client)
            expect_national(d, TIEU_HOC, query=tcp)
            # the group's deny: only that group (both of its networks)
            r = expect_blocked(d, TIEU_HOC, 'denied.school.test')
            texts = ' '.join(x or '' for _, x in r.ede)
            r.expect('deny' in texts, 'EDE text of a deny entry does not say so: %r' % texts)
            expect_blocked(d, TIEU_HOC_2, 'denied.school.test')
            expect_pass(d, GIAO_VIEN, 'denied.school.test')
            expect_pass(d, THPT, 'denied.school.test')
            # the network's allow passes a name the group's list blocks, in that network only
            expect_pass(d, TIEU_HOC, 'netallow.games.school.test')
            expect_blocked(d, TIEU_HOC_2, 'netallow.games.school.test')
            # the group's allow: in both networks of the group, not in others
            expect_pass(d, TIEU_HOC, 'grpallow.games.school.test')
            expect_pass(d, TIEU_HOC_2, 'grpallow.games.school.test')
            expect_blocked(d, NO_GROUP, 'grpallow.games.school.test')
            # unlisted names pass for everyone; localhost has every category blocked
            for client in (TIEU_HOC, GIAO_VIEN, THPT, LOP_MO, NO_GROUP, TIEU_HOC_2, LOCALHOST):
                expect_pass(d, client, 'open.school.test')
            expect_blocked(d, LOCALHOST, 'www.games.school.test')
            # AAAA of a blocked name: the sinkhole's IPv6 address
            r = ask(d, TIEU_HOC, 'www.games.school.test', 'AAAA')
            r.expect_rcode('NOERROR').expect_values('www.games.school.test.', 'AAAA',
                                                    ['fd00:10::10']).expect_ede(EDE_BLOCKED)
            d.expect_alive()


def test_schedules(t):
    """An all-day schedule blocks now; a window two hours away does not; explain says which."""
    with nsd(t) as ns:
        with daemon(t, make_config(t, ns.addr)) as d:
            r = expect_blocked(d, THPT, 'www.social.school.test')
            texts = ' '.join(x or '' for _, x in r.ede)
            r.expect("list 'social'" in texts and 'category social' in texts
                     and 'by a schedule' in texts,
                     'EDE text of a scheduled block: %r' % texts)
            expect_blocked(d, THPT, 'www.social.school.test', query=tcp)
            expect_pass(d, LOP_MO, 'www.social.school.test')  # thpt preset, no such schedule
            # Its games window is not now: the name passes, but no client may cache it into
            # the window (2 h away): TTL capped at the next change; staff gets the zone's day.
            r = expect_pass(d, LOP_MO, 'www.games.school.test')
            ttl = r.msg.answer[0].ttl
            r.expect(7000 <= ttl <= 7200, 'TTL %d not capped at the schedule (<= 7200)' % ttl)
            r = expect_pass(d, GIAO_VIEN, 'www.games.school.test')
            r.expect(r.msg.answer[0].ttl > 80000, 'staff TTL %d capped' % r.msg.answer[0].ttl)
            r = expect_pass(d, LOP_MO, 'www.games.school.test')  # from the cache: capped too
            r.expect(r.msg.answer[0].ttl <= 7200, 'cached TTL %d not capped' % r.msg.answer[0].ttl)
            expect_pass(d, THPT, 'www.games.school.test')
            explain(d, THPT, 'www.social.school.test',
                    'group: thpt', 'local time: ', '(UTC)',
                    'schedule 1: IN FORCE: block social, every day 00:00-24:00',
                    'decision: BLOCK by schedule')
            frm, to = d.config['groups']['lop_mo']['schedules'][0]['from'], \
                d.config['groups']['lop_mo']['schedules'][0]['to']
            out = explain(d, LOP_MO, 'www.games.school.test',
                          'group: lop_mo (preset thpt', 'schedule 1: not now: block games',
                          'decision: PASS')
            check('schedule 1: not now: block games, every day %s-%s' % (frm, to) in out,
                  'explain: schedule window %s-%s not shown:\n%s' % (frm, to, out))
            m = re.search(r'next schedule change: in (\d+) min', out)
            check(m and 118 <= int(m.group(1)) <= 120, 'explain: next change in 118-120 min '
                  'expected:\n' + out)


def test_safe_search(t):
    with nsd(t) as ns:
        with daemon(t, make_config(t, ns.addr)) as d:
            g = 'www.google.com.vn'
            # staff first: the real answer, now in the cache ...
            expect_pass(d, GIAO_VIEN, g, '1.2.3.4')
            expect_pass(d, LOP_MO, g, '1.2.3.4')  # safe_search: false
            # ... which a pupil never gets: CNAME to the safe host and its address
            for query in (udp, udp, tcp):  # the second from the cache
                expect_safe(d, TIEU_HOC, g, 'forcesafesearch.google.com', '216.239.38.120',
                            query=query, real='1.2.3.4')
            expect_safe(d, THPT, g, 'forcesafesearch.google.com', '216.239.38.120',
                        real='1.2.3.4')
            expect_safe(d, TIEU_HOC, 'google.com.vn', 'forcesafesearch.google.com',
                        '216.239.38.120', real='1.2.3.5')
            expect_safe(d, TIEU_HOC, 'www.google.com', 'forcesafesearch.google.com',
                        '216.239.38.120', real='9.9.9.4')
            # a type the safe host does not have: the CNAME, NODATA for the target
            expect_safe(d, TIEU_HOC, g, 'forcesafesearch.google.com', None, rdtype='AAAA')
            expect_pass(d, GIAO_VIEN, g, '1.2.3.4')  # still real for staff, from the cache
            # not every Google name: mail.google.com is untouched
            for client in (TIEU_HOC, GIAO_VIEN):
                expect_pass(d, client, 'mail.google.com', '9.9.9.8')
            # the safe host itself is not rewritten
            expect_pass(d, TIEU_HOC, 'forcesafesearch.google.com', '216.239.38.120')
            # YouTube: strict for tieu_hoc, moderate for thpt, off for staff
            for query in (udp, udp, tcp):
                expect_safe(d, TIEU_HOC, 'www.youtube.com', 'restrict.youtube.com',
                            '216.239.38.120', query=query, real='9.9.9.1')
                expect_safe(d, THPT, 'www.youtube.com', 'restrictmoderate.youtube.com',
                            '216.239.38.119', query=query, real='9.9.9.1')
            expect_pass(d, GIAO_VIEN, 'www.youtube.com', '9.9.9.1')
            # Bing and DuckDuckGo
            for query in (udp, udp, tcp):
                expect_safe(d, TIEU_HOC, 'www.bing.com', 'strict.bing.com', '204.79.197.220',
                            query=query, real='9.9.9.2')
                expect_safe(d, TIEU_HOC, 'duckduckgo.com', 'safe.duckduckgo.com',
                            '52.149.246.39', query=query, real='9.9.9.3')
            expect_pass(d, GIAO_VIEN, 'www.bing.com', '9.9.9.2')
            expect_pass(d, GIAO_VIEN, 'duckduckgo.com', '9.9.9.3')
            # the client's case is kept in the question and the CNAME owner
            r = ask(d, TIEU_HOC, 'WWW.Google.Com.VN')
            r.expect_rcode('NOERROR').expect_values('www.google.com.vn.', 'CNAME',
                                                    ['forcesafesearch.google.com.'])
            eq(r.msg.question[0].name.to_text(), 'WWW.Google.Com.VN.', 'question case')
            check(stats(d).get('rewritten', 0) >= 18, 'rewritten counter: %r' % stats(d))


def test_bypass_canaries_and_local_zones(t):
    with nsd(t) as ns:
        with daemon(t, make_config(t, ns.addr)) as d:
            expect_pass(d, GIAO_VIEN, 'open.school.test')
            before = stats(d)
            for client in (TIEU_HOC, GIAO_VIEN, NO_GROUP, LOCALHOST):
                for name in ('use-application-dns.net', 'mask.icloud.com', 'mask-h2.icloud.com'):
                    expect_nxdomain_local(d, client, name)
                expect_nxdomain_local(d, client, 'use-application-dns.net', 'AAAA')
            # resolver.arpa: NODATA for everyone, also the group without canaries
            for client in (TIEU_HOC, GIAO_VIEN, LOP_MO, LOCALHOST):
                for query in (udp, tcp):
                    r = ask(d, client, '_dns.resolver.arpa', 'SVCB', query=query)
                    _with_client(client, '_dns.resolver.arpa', lambda: (
                        r.expect_rcode('NOERROR'),
                        r.expect(not r.msg.answer, 'NODATA wanted, got answers'),
                        r.expect(r.rrset('resolver.arpa.', 'SOA', 'authority') is not None,
                                 'no SOA of resolver.arpa in the authority section')))
            after = stats(d)
            eq(after['upstream_queries'], before['upstream_queries'],
               'upstream queries while answering canaries and resolver.arpa')
            eq(after.get('answered_locally', 0) - before.get('answered_locally', 0), 4 * 4 + 8,
               'answered_locally counter')
            # the group with bypass_canaries: false gets upstream's records
            for name, addr in (('use-application-dns.net', '9.9.9.5'),
                               ('mask.icloud.com', '9.9.9.6'), ('mask-h2.icloud.com', '9.9.9.7')):
                expect_pass(d, LOP_MO, name, addr)
            # and now that they are cached, the others still get NXDOMAIN
            expect_nxdomain_local(d, TIEU_HOC, 'use-application-dns.net')
            expect_nxdomain_local(d, GIAO_VIEN, 'mask.icloud.com')
            explain(d, TIEU_HOC, 'use-application-dns.net',
                    'decision: answered here (NXDOMAIN) by bypass canary')
            explain(d, LOP_MO, '_dns.resolver.arpa',
                    'decision: answered here (NODATA) by local zone')
            # localhost is this machine, whoever asks (RFC 6761), never forwarded
            before = stats(d)
            for rdtype, addr in (('A', '127.0.0.1'), ('AAAA', '::1')):
                r = ask(d, TIEU_HOC, 'localhost', rdtype).expect_rcode('NOERROR')
                r.expect_values('localhost.', rdtype, [addr])
                r = ask(d, GIAO_VIEN, 'www.localhost', rdtype).expect_rcode('NOERROR')
                r.expect_values('www.localhost.', rdtype, [addr])
            explain(d, TIEU_HOC, 'localhost', 'decision: answered here (local data) by local zone')
            # a query for the CNAME of a safe-search name gets the CNAME itself
            r = ask(d, TIEU_HOC, 'www.google.com.vn', 'CNAME').expect_rcode('NOERROR')
            r.expect_values('www.google.com.vn.', 'CNAME', ['forcesafesearch.google.com.'])
            eq(stats(d)['upstream_queries'], before['upstream_queries'],
               'upstream queries for localhost and a safe-search CNAME')


def test_builtin_bypass_names(t):
    """dns.google and cloudflare-dns.com are blocked by the built-in proxy_vpn_doh list for the
    groups that block the category, with no list file for it."""
    with nsd(t) as ns:
        cfg = make_config(t, ns.addr)
        check(not any(l['category'] == 'proxy_vpn_doh' for l in cfg['lists']), 'test bug')
        with daemon(t, cfg) as d:
            for name, real in (('dns.google', '8.8.8.8'), ('cloudflare-dns.com', '1.1.1.1')):
                expect_pass(d, GIAO_VIEN, name, real)
                expect_blocked(d, TIEU_HOC, name)
                expect_blocked(d, TIEU_HOC, name, query=tcp)
                expect_blocked(d, THPT, name)
                expect_blocked(d, NO_GROUP, name)
                expect_pass(d, GIAO_VIEN, name, real, query=tcp)
            r = expect_blocked(d, TIEU_HOC, 'dns.google')
            texts = ' '.join(x or '' for _, x in r.ede)
            r.expect('proxy_vpn_doh' in texts, 'EDE text does not name the category: %r' % texts)
            explain(d, TIEU_HOC, 'dns.google', 'category proxy_vpn_doh', 'built in',
                    'decision: BLOCK by list')


def test_mmdb_networks(t):
    if subprocess.run(['perl', '-MMaxMind::DB::Writer::Tree', '-e1'],
                      capture_output=True).returncode != 0:
        print('   (MaxMind::DB::Writer::Tree not installed: MMDB part skipped)')
        return
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'lib',
                       'make_mmdb.pl')
    mmdb = t.path('subscribers.mmdb')
    p = subprocess.run(['perl', src, '-', mmdb], capture_output=True, text=True,
                       input='127.0.8.0/24 thcs ISP-1 79\n127.0.9.0/24 giao_vien ISP-2 79\n')
    check(p.returncode == 0, 'make_mmdb.pl failed: %s%s' % (p.stdout, p.stderr))
    with nsd(t) as ns:
        with daemon(t, make_config(t, ns.addr, mmdb=mmdb)) as d:
            thcs, staff = '127.0.8.1', '127.0.9.1'
            expect_blocked(d, thcs, 'www.games.school.test')      # thcs blocks games
            expect_pass(d, thcs, 'www.social.school.test')        # ... not social
            expect_blocked(d, thcs, 'www.adult.school.test')
            expect_safe(d, thcs, 'www.youtube.com', 'restrict.youtube.com', '216.239.38.120')
            expect_pass(d, staff, 'www.games.school.test')
            expect_pass(d, staff, 'www.adult.school.test')
            expect_pass(d, staff, 'www.youtube.com', '9.9.9.1')
            expect_blocked(d, thcs, 'www.games.school.test', query=tcp)
            expect_pass(d, staff, 'www.games.school.test', query=tcp)
            for client in (thcs, staff):
                expect_national(d, client)
            # CIDR networks still work next to the database
            expect_blocked(d, TIEU_HOC, 'www.games.school.test')
            for query, edns in ((udp, True), (tcp, True), (udp, False)):
                r = query(d.port, 'open.school.test', 'A', source=OUTSIDER, edns=edns)
                r.expect_rcode('REFUSED').expect(not r.msg.answer, 'REFUSED with answers')
                if edns:
                    r.expect_ede(EDE_PROHIBITED)
            explain(d, thcs, 'www.games.school.test', 'network: id ISP-1, province 79',
                    'subscriber database ' + mmdb, 'group: thcs', 'decision: BLOCK by list')
            explain(d, staff, 'www.games.school.test', 'network: id ISP-2', 'group: giao_vien',
                    'decision: PASS')
            explain(d, OUTSIDER, 'www.games.school.test', 'network: none',
                    'decision: REFUSED')


def test_explain(t):
    with nsd(t) as ns:
        with daemon(t, make_config(t, ns.addr)) as d:
            cfg_path = d.config_path
            explain(d, TIEU_HOC, 'www.national.school.test',
                    'network: Tiểu học (id TH, %s line' % cfg_path, 'group: tieu_hoc (preset tieu_hoc',
                    "entry: national.school.test in list 'national' (category national)",
                    'decision: BLOCK by national list, reason national list (EDE 16 Censored)',
                    'note: the national list is mandatory')
            explain(d, TIEU_HOC_2, 'grpallow.games.school.test',
                    'entry: grpallow.games.school.test in the allow list of',
                    'decision: PASS (group allow)')
            explain(d, TIEU_HOC, 'netallow.games.school.test', 'decision: PASS (network allow)')
            explain(d, TIEU_HOC, 'denied.school.test',
                    'decision: BLOCK by group deny, reason age policy (EDE 15 Blocked)')
            explain(d, TIEU_HOC, 'www.games.school.test',
                    "entry: games.school.test in list 'games' (category games)",
                    'match: www.games.school.test is 1 label below the entry',
                    'decision: BLOCK by list, reason age policy (EDE 15 Blocked), answer '
                    'sinkhole address')
            explain(d, GIAO_VIEN, 'www.games.school.test', 'group: giao_vien',
                    'decision: PASS (the list\'s category is not blocked for this group now)')
            explain(d, TIEU_HOC, 'www.google.com.vn', 'safe search: strict',
                    "entry: www.google.com.vn (built-in table 'safe-search')",
                    'decision: REWRITE by safe search')
            explain(d, GIAO_VIEN, 'www.google.com.vn', 'safe search: off',
                    'decision: PASS (no list has this name)')
            explain(d, NO_GROUP, 'open.school.test',
                    'group: none (every category of every list applies)')
            explain(d, OUTSIDER, 'open.school.test', 'network: none', 'REFUSED')


# -- reload


def test_reload_group_under_load(t):
    """`unblock: [games]` for tieu_hoc by `lanhmanh reload`: the answer flips, while a stream
    of queries from that network loses none and never sees anything but the two answers."""
    names = ['www.games.school.test', 'open.school.test', 'www.national.school.test',
             'www.adult.school.test']
    with nsd(t) as ns:
        with daemon(t, make_config(t, ns.addr)) as d:
            for n in names:  # warm the cache (through staff: upstream data for every name)
                ask(d, GIAO_VIEN, n)
            expect_blocked(d, TIEU_HOC, 'www.games.school.test')
            streams = [QueryStream(d.port, TIEU_HOC, names, 2000),
                       QueryStream(d.port, GIAO_VIEN, names, 500)]
            for s in streams:
                s.start()
            wait_until(lambda: len(streams[0].results) >= 200, 20.0,
                       'the query stream to get going')
            t_before = time.monotonic()
            d.config['groups']['tieu_hoc']['unblock'] = ['games']
            d.write_config(d.config)
            res = d.ctl_reload().expect_ok()
            res.expect('reloaded' in res.stdout, 'no "reloaded" in the output')
            t_after = time.monotonic()
            expect_pass(d, TIEU_HOC, 'www.games.school.test')
            expect_pass(d, TIEU_HOC_2, 'www.games.school.test')
            expect_blocked(d, TIEU_HOC, 'www.adult.school.test')  # the rest is unchanged
            expect_national(d, TIEU_HOC)
            # a few more reloads of the same config while the stream runs
            for _ in range(3):
                d.ctl_reload().expect_ok()
            n_at = len(streams[0].results)
            wait_until(lambda: len(streams[0].results) >= n_at + 200, 20.0,
                       'more answers after the reloads')
            for s in streams:
                s.stop.set()
            for s in streams:
                s.join(60)
                check(not s.is_alive(), 'query stream did not finish')
                check(s.error is None, 'query stream failed: %r' % s.error)
            for s in streams:
                eq(s.lost, [], 'queries from %s lost (send time, name)' % s.client)
            want_always = {
                'open.school.test': ('NOERROR', (REAL['open.school.test'],)),
                'www.national.school.test': ('NOERROR', (SINK_NATIONAL4,)),
            }
            flip = {'www.games.school.test': ('NOERROR', (SINK4,)),
                    'www.adult.school.test': ('NOERROR', (SINK4,))}
            new = dict(flip, **{'www.games.school.test': ('NOERROR',
                                                          (REAL['www.games.school.test'],))})
            for t0, name, rcode, addrs in streams[0].results:
                got = (rcode, addrs)
                if name in want_always:
                    eq(got, want_always[name], 'stream answer for %s' % name)
                elif t0 < t_before:
                    eq(got, flip[name], 'stream answer for %s before the reload' % name)
                elif t0 > t_after:
                    eq(got, new[name], 'stream answer for %s after the reload' % name)
                else:
                    check(got in (flip[name], new[name]), 'stream answer for %s during the '
                          'reload: %r' % (name, got))
            games = [r[3] for r in streams[0].results if r[1] == 'www.games.school.test']
            check(games[0] == (SINK4,) and games[-1] == (REAL['www.games.school.test'],),
                  'the stream did not see the flip: first %r, last %r' % (games[0], games[-1]))
            staff = dict(want_always, **{n: ('NOERROR', (REAL[n],)) for n in flip})
            for _, name, rcode, addrs in streams[1].results:
                eq((rcode, addrs), staff[name], 'staff stream answer for %s' % name)
            print('   %d + %d queries during 4 reloads, none lost'
                  % (len(streams[0].results), len(streams[1].results)))
            d.expect_alive()


def test_bad_group_reload_keeps_policy(t):
    with nsd(t) as ns:
        with daemon(t, make_config(t, ns.addr)) as d:
            expect_blocked(d, TIEU_HOC, 'www.games.school.test')
            expect_pass(d, GIAO_VIEN, 'www.games.school.test')
            good = d.config_text
            # `unblock: [games]` (would pass games) and a misspelt category on the same group
            bad = good.replace('  tieu_hoc:\n', '  tieu_hoc:\n    unblock: [games]\n'
                               '    block: [gamez]\n', 1)
            check(bad != good, 'test bug: config not changed')
            d.write_config(bad)
            line = bad[:bad.index('block: [gamez]')].count('\n') + 1
            col = len('    block: [') + 1
            res = d.ctl_reload()
            res.expect(res.returncode == 1, 'reload of a bad config: exit %d, want 1'
                       % res.returncode)
            res.expect('reloaded' not in res.stdout, '"reloaded" printed for a bad config')
            diags = re.findall(r'(\S+):(\d+):(\d+): error: (.*)', res.output)
            res.expect(any(p.endswith('lanhmanh.yaml') and int(ln) == line and int(c) == col
                           and "'gamez'" in msg and 'games' in msg
                           for p, ln, c, msg in diags),
                       'want "%s:%d:%d: error: ... unknown category \'gamez\' (did you mean '
                       '\'games\'?)", got %r' % (d.config_path, line, col, diags))
            d.expect_alive('after a failed reload')
            # the old policy is still in force
            expect_blocked(d, TIEU_HOC, 'www.games.school.test')
            expect_blocked(d, TIEU_HOC, 'www.games.school.test', query=tcp)
            expect_pass(d, GIAO_VIEN, 'www.games.school.test')
            expect_pass(d, TIEU_HOC, 'grpallow.games.school.test')
            expect_safe(d, TIEU_HOC, 'www.bing.com', 'strict.bing.com', '204.79.197.220')
            # a good config afterwards applies
            d.write_config(good.replace('  tieu_hoc:\n', '  tieu_hoc:\n    unblock: [games]\n', 1))
            d.ctl_reload().expect_ok()
            expect_pass(d, TIEU_HOC, 'www.games.school.test')


if __name__ == '__main__':
    run(globals())
