# SPDX-License-Identifier: GPL-3.0-or-later
"""Lists downloaded over HTTPS and signed with minisign (`lists:` with `url:`), end to end.

The publisher is played by the test: a minisign key pair made with the `minisign` CLI, a test
CA and a certificate for 127.0.0.1 made with the `openssl` CLI, and a small Python HTTPS server
(http.server + ssl, run with /usr/bin/python3) serving the test's publish directory with an
ETag (hash of the content) and Last-Modified, answering conditional requests with 304, and
logging every request (path, status, validators received). The server gets its listening
socket from the test (no port race), says "ready" on stdout, and is stopped by PID. nsd serves
example.test: a name the list does not have gets its real address from upstream.

The list is in category adult: 127.0.0.1 belongs to no network with a group, so every category
is blocked for it (sinkhole address, EDE 15). Refreshes are asked for with `lanhmanh lists
refresh adult-https` (the refresh timer is a minute: it never fires during a test); a refresh
is over when the daemon logged its failure, or rewrote its state file (state_dir/sync/).

- test_signed_list_applied: the first download verifies and applies: names blocked, others
  pass; `lanhmanh lists` shows version 1, its trusted comment, by HTTPS; the version recorded.
  An unchanged list is asked conditionally (If-None-Match): the server answers 304, no new
  version is recorded.
- test_tampered_and_truncated_held_back: a line added under the old signature, then the list
  cut short: each is held back with an ALERT naming the signature; the names of the version in
  force stay blocked, the added one is not. A properly signed new version then applies
  (version 2, the new name blocked, the new trusted comment, the alert gone).
- test_missing_signature: a new list without its .minisig (404): the refresh fails with the
  HTTP status, version 1 stays, with an alert (config/README.md: an unsigned list is never
  applied, "the version in force stays, with an alert"); signed afterwards, it applies.
- test_wrong_public_key: signed with another key pair: the first download is refused, no version
  yet, nothing blocked, an ALERT.
- test_restart_with_the_server_down: the saved version is enforced right after READY when the
  server is gone, with its trusted comment; the failure is reported; the server back on the
  same port, the list is confirmed by a 304 (the validators were saved).
- test_untrusted_ca: without ca_file the system CAs do not know the test CA: TLS error, no
  version.
- test_config_errors: `url: http://...` and a url without minisign_key are refused by
  `lanhmanhd --check-config` with file:line:column.
"""

import os
import re
import subprocess
import time

import harness
from harness import (HarnessError, NoAnswer, TestFailure, check, default_config, eq, free_port,
                     lanhmanhd_path, make_pki, run, run_tool, tcp, tool, udp)

# The daemon talks to 127.0.0.1 directly, whatever proxy the environment names (libcurl reads
# these variables; the daemon inherits our environment).
for _v in ('http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY'):
    os.environ.pop(_v, None)

LIST = 'adult-https'
EDE_BLOCKED = 15
SINK4 = '10.10.10.10'
PYTHON = '/usr/bin/python3'
NETWORK_CLIENT = '127.0.3.7'  # in the default config's network (no group: every category)

# example.test at nsd: what a name gets when nothing blocks it.
REAL = {
    'bad1.example.test': '192.0.2.21',
    'bad2.example.test': '192.0.2.22',
    'www.bad2.example.test': '192.0.2.23',
    'bad3.example.test': '192.0.2.24',
    'added.example.test': '192.0.2.25',
    'new.example.test': '192.0.2.26',
    'open.example.test': '192.0.2.27',
}

UPSTREAM_ZONE = ('$ORIGIN example.test.\n$TTL 300\n'
                 '@ 120 IN SOA ns.example.test. hostmaster.example.test. 2024010101 3600 600 '
                 '86400 60\n@ IN NS ns.example.test.\nns IN A 127.0.0.1\n'
                 + ''.join('%s. IN A %s\n' % (n, a) for n, a in REAL.items()))

# Version 1 of the list (domains format: a name blocks itself and the names below it).
V1 = '# adult list, version 1\nbad1.example.test\nbad2.example.test\nbad3.example.test\n'
V1_NAMES = ['bad1.example.test', 'bad2.example.test', 'www.bad2.example.test',
            'bad3.example.test']
V1_ENTRIES = 3
COMMENT1 = 'adult list v1'
COMMENT2 = 'adult list v2 2024-07-02'


# --------------------------------------------------------------------------------------------
# the publisher: keys, certificates, the HTTPS server


class KeyPair:
    """A minisign key pair without password, in the test's directory."""

    def __init__(self, t, name):
        self.pub = t.path(name + '.pub')
        self.sec = t.path(name + '.key')
        run_tool([tool('minisign'), '-G', '-W', '-p', self.pub, '-s', self.sec],
                  'minisign -G')
        with open(self.pub) as f:
            self.public_key = f.read().splitlines()[1].strip()  # the "RW..." line

    def sign(self, path, comment, sig_path=None):
        """Sign path (prehashed, minisign's default) into sig_path (path + .minisig)."""
        sig_path = sig_path or path + '.minisig'
        tmp = sig_path + '.tmp'
        run_tool([tool('minisign'), '-S', '-s', self.sec, '-m', path, '-x', tmp, '-t', comment],
                  'minisign -S')
        os.replace(tmp, sig_path)


# Serves files of ROOT; ETag is a hash of the content, Last-Modified the file's mtime;
# If-None-Match (when sent) or else If-Modified-Since give a 304. One log line per request.
SERVER_PY = r'''
import email.utils, hashlib, http.server, os, socket, ssl, sys
fd, cert, key, root, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
sock = socket.socket(fileno=fd)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
logf = open(log, 'a', buffering=1)

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.0'

    def log_message(self, *args):
        pass

    def do_GET(self):
        name = self.path.split('?')[0].lstrip('/')
        path = os.path.join(root, name)
        inm = self.headers.get('If-None-Match')
        ims = self.headers.get('If-Modified-Since')
        headers = []
        body = b''
        if '/' in name or not name or not os.path.isfile(path):
            code, body = 404, b'not found\n'
        else:
            with open(path, 'rb') as f:
                data = f.read()
            mtime = int(os.stat(path).st_mtime)
            etag = '"%s"' % hashlib.sha256(data).hexdigest()[:20]
            headers = [('ETag', etag),
                       ('Last-Modified', email.utils.formatdate(mtime, usegmt=True))]
            if inm is not None:
                fresh = etag in [v.strip() for v in inm.split(',')]
            elif ims is not None:
                try:
                    fresh = email.utils.parsedate_to_datetime(ims).timestamp() >= mtime
                except (TypeError, ValueError):
                    fresh = False
            else:
                fresh = False
            code, body = (304, b'') if fresh else (200, data)
        logf.write('GET %s %d inm=%s ims=%s\n' % (self.path, code, inm, ims))
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if code != 304:
            self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if code != 304:
            self.wfile.write(body)

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def finish_request(self, request, client_address):
        try:
            conn = ctx.wrap_socket(request, server_side=True)
            self.RequestHandlerClass(conn, client_address, self)
        except OSError as e:
            logf.write('TLS %s\n' % e)

srv = Server(('127.0.0.1', 0), Handler, bind_and_activate=False)
srv.socket.close()
srv.socket = sock
print('ready', flush=True)
srv.serve_forever()
'''


class HttpsServer:
    """The publisher's HTTPS server on 127.0.0.1:port serving root (the test's directory)."""

    def __init__(self, t, cert, key, name='https'):
        self.t = t
        self.cert, self.key = cert, key
        self.dir = t.path(name)
        self.root = os.path.join(self.dir, 'www')
        os.makedirs(self.root, exist_ok=True)
        self.script = os.path.join(self.dir, 'server.py')
        self.log = os.path.join(self.dir, 'requests.log')
        self.err = os.path.join(self.dir, 'server.err')
        with open(self.script, 'w') as f:
            f.write(SERVER_PY)
        open(self.log, 'a').close()
        self.port = None
        self.proc = None
        t.add_log_source(self)
        t.add_cleanup(self.stop)

    def url(self, name='adult.txt'):
        return 'https://127.0.0.1:%d/%s' % (self.port, name)

    def start(self, timeout=10.0):
        self.proc, self.port = harness.start_script_server(
            self.script, [self.cert, self.key, self.root, self.log], self.err, self.port,
            'HTTPS server', timeout)
        return self

    def stop(self):
        if self.proc is None:
            return
        hung = harness.stop_script_server(self.proc, 'https server')
        self.proc = None
        if hung:
            raise HarnessError('the HTTPS server did not stop on SIGTERM')

    def requests(self):
        """[(path, status, If-None-Match, If-Modified-Since)] in the order served."""
        with open(self.log) as f:
            return [(m.group(1), int(m.group(2)), m.group(3), m.group(4)) for m in
                    (re.match(r'GET (\S+) (\d+) inm=(.*) ims=(.*)$', l) for l in f) if m]

    def publish(self, text, name='adult.txt', keys=None, comment=None, mtime=None):
        """Write a file (atomically) and, with keys, its signature; mtime sets Last-Modified."""
        path = os.path.join(self.root, name)
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            f.write(text)
        if mtime is not None:
            os.utime(tmp, (mtime, mtime))
        os.replace(tmp, path)
        if keys:
            keys.sign(path, comment)
        return path

    def remove(self, name):
        os.unlink(os.path.join(self.root, name))

    def dump_logs(self):
        return ('---- HTTPS server (port %s) requests: %s ----\n%s---- its stderr ----\n%s'
                % (self.port, self.log, harness._tail(self.log, 60), harness._tail(self.err, 40)))


# --------------------------------------------------------------------------------------------
# set-up


T0 = int(time.time()) - 86400  # mtimes of the published versions: T0 + 100 * version


def config(t, port, upstream, url, public_key, ca_file=None, name='lanhmanhd'):
    cfg = default_config(t, port, [upstream], name)
    cfg['sinkhole'] = {'ipv4': SINK4, 'ipv6': 'fd00:10::10', 'ttl': 60}
    entry = {'name': LIST, 'category': 'adult', 'url': url, 'minisign_key': public_key,
             'refresh': '1m', 'format': 'domains'}
    if ca_file:
        entry['ca_file'] = ca_file
    cfg['lists'] = [entry]
    return cfg


class Setup:
    """nsd, the PKI, a key pair, the HTTPS server publishing V1 signed with it, and (unless
    start_daemon is False) the daemon."""

    def __init__(self, t, start_daemon=True, daemon_key=None, ca=True, publish=True):
        self.t = t
        self.nsd = t.nsd(zones=(), zone_texts={'example.test': UPSTREAM_ZONE}).start()
        self.ca, cert, key = make_pki(t)
        self.keys = KeyPair(t, 'publisher')
        self.srv = HttpsServer(t, cert, key).start()
        if publish:
            self.srv.publish(V1, keys=self.keys, comment=COMMENT1, mtime=T0 + 100)
        port = free_port()
        self.cfg = config(t, port, self.nsd.addr, self.srv.url(),
                          daemon_key or self.keys.public_key, self.ca if ca else None)
        self.d = t.daemon(config=self.cfg, port=port)
        if start_daemon:
            self.d.start()


# --------------------------------------------------------------------------------------------
# checks


def ask(d, name, client='127.0.0.1', query=udp):
    try:
        return query(d.port, name, 'A', source=client)
    except NoAnswer as e:
        raise TestFailure('client %s, %s: %s' % (client, name, e))


def expect_blocked(d, name, query=udp, client='127.0.0.1'):
    """Blocked by the adult list: the sinkhole address, EDE 15 naming the list."""
    r = ask(d, name, client, query)
    r.expect_rcode('NOERROR').expect_values(name + '.', 'A', [SINK4]).expect_ede(EDE_BLOCKED)
    r.expect(REAL[name] not in r.msg.to_text(), '%s: the real address leaked' % name)
    texts = ' '.join(x or '' for _, x in r.ede)
    r.expect("list '%s'" % LIST in texts, '%s: EDE text does not name the list: %r'
             % (name, texts))
    return r


def expect_pass(d, name, query=udp, client='127.0.0.1'):
    r = ask(d, name, client, query)
    r.expect_rcode('NOERROR').expect_values(name + '.', 'A', [REAL[name]])
    r.expect(EDE_BLOCKED not in r.ede_codes, '%s: a name that passes carries EDE %r'
             % (name, r.ede))
    return r


def lists_out(d):
    return d.ctl('lists').expect_ok().stdout


def url_report(out):
    """The paragraph of `lanhmanh lists` about the HTTPS list."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith('list %s: https://' % LIST):
            para = [line]
            for more in lines[i + 1:]:
                if not more.startswith('  '):
                    break
                para.append(more)
            return '\n'.join(para)
    raise TestFailure('`lanhmanh lists` has no "list %s: https://..." line:\n%s' % (LIST, out))


def head(report):
    """(version, trusted comment, entries) of the head line, or None (no version yet)."""
    m = re.match(r'list %s: (\S+) \(minisign\), version (\d+) signed "(.*)", (\d+) entries, '
                 r'last confirmed ' % re.escape(LIST), report)
    return (int(m.group(2)), m.group(3), int(m.group(4))) if m else None


def versions(report):
    """[(serial, entries, how)] of the "version serial N: ..." lines, newest first."""
    return [(int(s), int(n), how) for s, n, how in re.findall(
        r'^  version serial (\d+): (\d+) entries, applied .* by (\S+)$', report, re.M)]


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


def wait_report(d, pred, timeout, what):
    """Poll `lanhmanh lists` until pred(paragraph) holds; returns the paragraph."""
    def once():
        rep = url_report(lists_out(d))
        return pred(rep), rep
    return poll(once, timeout, what)


def wait_version(d, version, timeout=10.0):
    return wait_report(d, lambda r: (head(r) or (None,))[0] == version, timeout,
                       'version %d in `lanhmanh lists`' % version)


def status_alerts(d):
    out = d.ctl('status').expect_ok().stdout
    return [l for l in out.splitlines() if l.startswith('ALERT')], out


def stderr_text(d):
    with open(d.stderr_path, errors='replace') as f:
        return f.read()


def state_path(d):
    return os.path.join(d.config['server']['state_dir'], 'sync', LIST + '.state')


def versions_file(d):
    path = os.path.join(d.config['server']['state_dir'], 'sync', LIST + '.versions')
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError:
        return []


def _state_sig(d):
    try:
        st = os.stat(state_path(d))
        return (st.st_ino, st.st_mtime_ns)
    except FileNotFoundError:
        return None


def _failures(d):
    return len(re.findall(r"list '%s': (?:refresh|transfer|download) of .* failed: " % re.escape(LIST),
                          stderr_text(d)))


def refresh(d, timeout=10.0):
    """`lanhmanh lists refresh`, then wait until that refresh is over: the daemon logged a
    failure (returns 'failed') or confirmed the list and rewrote its state file ('ok').
    Returns (how it ended, the report)."""
    state, failures = _state_sig(d), _failures(d)
    res = d.ctl('lists', 'refresh', LIST).expect_ok()
    res.expect('refreshing' in res.stdout, '`lists refresh` does not say it refreshes')

    def over():
        if _failures(d) > failures:
            return True, 'failed'
        if _state_sig(d) != state:
            return True, 'ok'
        return False, stderr_text(d)[-2000:]
    how = poll(over, timeout, 'the refresh asked with `lanhmanh lists refresh`')
    return how, url_report(lists_out(d))


# --------------------------------------------------------------------------------------------
# tests


def test_signed_list_applied(t):
    s = Setup(t)
    d, srv = s.d, s.srv
    rep = wait_version(d, 1)
    for name in V1_NAMES:
        expect_blocked(d, name)
    expect_blocked(d, 'bad1.example.test', query=tcp)
    expect_blocked(d, 'www.bad2.example.test', client=NETWORK_CLIENT)
    expect_pass(d, 'open.example.test')
    expect_pass(d, 'open.example.test', client=NETWORK_CLIENT)
    expect_pass(d, 'added.example.test')
    # the report: URL, minisign, version 1 with its trusted comment, entries, by HTTPS
    check(rep.startswith('list %s: %s (minisign), version 1 signed "%s", %d entries, '
                         % (LIST, srv.url(), COMMENT1, V1_ENTRIES)),
          'head line of the report:\n' + rep)
    eq(versions(rep), [(1, V1_ENTRIES, 'HTTPS')], 'versions in `lanhmanh lists`')
    check('last refresh failed' not in rep and 'ALERT' not in rep, 'failure or alert:\n' + rep)
    alerts, _ = status_alerts(d)
    eq(alerts, [], 'alerts in `lanhmanh status`')
    lines = versions_file(d)
    eq(len(lines), 1, 'lines in %s.versions %r' % (LIST, lines))
    check(re.match(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ serial=1 entries=%d how=HTTPS '
                   r'primary=%s ' % (V1_ENTRIES, re.escape(srv.url())), lines[0]),
          '%s.versions line: %r' % (LIST, lines[0]))
    check('new version signed "%s"' % COMMENT1 in stderr_text(d),
          'no log line about the signed version')
    reqs = srv.requests()
    eq([(p, c, i) for p, c, i, _ in reqs],
       [('/adult.txt', 200, 'None'), ('/adult.txt.minisig', 200, 'None')],
       'requests of the first download (path, status, If-None-Match)')

    # unchanged: a conditional request, a 304, nothing fetched or recorded again
    how, rep = refresh(d)
    eq(how, 'ok', 'refresh of an unchanged list')
    reqs = srv.requests()
    eq(len(reqs), 3, 'requests after the refresh %r' % reqs)
    path, code, inm, ims = reqs[2]
    check(path == '/adult.txt' and code == 304 and inm.startswith('"'),
          'the refresh of an unchanged list should be a conditional GET answered 304 '
          '(If-None-Match with the ETag): %r' % (reqs[2],))
    eq(head(rep), (1, COMMENT1, V1_ENTRIES), 'version in force after the 304')
    eq(versions(rep), [(1, V1_ENTRIES, 'HTTPS')], 'versions after the 304')
    check('last refresh failed' not in rep and 'ALERT' not in rep, 'failure or alert:\n' + rep)
    eq(len(versions_file(d)), 1, 'lines in %s.versions after the 304' % LIST)
    # once more, with the list touched (new Last-Modified) but not changed: the ETag decides
    srv.publish(V1, mtime=T0 + 150)
    how, rep = refresh(d)
    eq(srv.requests()[-1][:2], ('/adult.txt', 304), 'last request (same content, new mtime)')
    eq(versions(rep), [(1, V1_ENTRIES, 'HTTPS')], 'versions after the second 304')
    for name in V1_NAMES:
        expect_blocked(d, name)
    d.expect_alive()


def _expect_held_back(d, rep, what, want_words=('signature',)):
    problems = []
    if head(rep) != (1, COMMENT1, V1_ENTRIES):
        problems.append('%s: version 1 should stay in force:\n%s' % (what, rep))
    if versions(rep) != [(1, V1_ENTRIES, 'HTTPS')]:
        problems.append('%s: versions %r, want only version 1' % (what, versions(rep)))
    alert = re.search(r'^  ALERT: (update held back: .*)$', rep, re.M)
    if not alert:
        problems.append('%s: no "ALERT: update held back" in `lanhmanh lists`:\n%s'
                        % (what, rep))
    elif not all(w in alert.group(1) for w in want_words):
        problems.append('%s: the alert should mention %r: %r' % (what, want_words,
                                                                 alert.group(1)))
    alerts, out = status_alerts(d)
    mine = [a for a in alerts if a.startswith('ALERT list %s: update held back: ' % LIST)]
    if not mine:
        problems.append('%s: no "ALERT list %s: update held back" in `lanhmanh status`:\n%s'
                        % (what, LIST, out))
    elif 'signature' not in mine[0]:
        problems.append('%s: the status alert does not mention the signature: %r'
                        % (what, mine[0]))
    check(not problems, '\n'.join(problems))
    return mine[0]


def test_tampered_and_truncated_held_back(t):
    s = Setup(t)
    d, srv = s.d, s.srv
    wait_version(d, 1)
    expect_pass(d, 'added.example.test')  # also cached now: the list decides, not the cache
    # a line added, the old signature kept
    srv.publish(V1 + 'added.example.test\n', mtime=T0 + 200)
    how, rep = refresh(d)
    eq(how, 'failed', 'refresh of a tampered list')
    alert = _expect_held_back(d, rep, 'tampered list')
    print('   ' + alert)
    eq([r[:2] for r in srv.requests()[-2:]], [('/adult.txt', 200), ('/adult.txt.minisig', 200)],
       'the tampered list and its signature were downloaded')
    expect_pass(d, 'added.example.test')
    for name in V1_NAMES:
        expect_blocked(d, name)
    eq(len(versions_file(d)), 1, 'lines in %s.versions' % LIST)
    check(not os.path.exists(os.path.join(d.config['server']['state_dir'], 'sync',
                                          LIST + '.download')),
          'the refused download was left in state_dir/sync/')

    # the list cut short (its last line and a half), the old signature kept
    cut = V1[:V1.index('bad3')] + 'bad3.exa'
    srv.publish(cut, mtime=T0 + 300)
    how, rep = refresh(d)
    eq(how, 'failed', 'refresh of a truncated list')
    _expect_held_back(d, rep, 'truncated list')
    for name in V1_NAMES:
        expect_blocked(d, name)
    expect_pass(d, 'added.example.test')

    # the publisher signs a new version properly: it applies, the alert goes
    srv.publish(V1 + 'new.example.test\n', keys=s.keys, comment=COMMENT2, mtime=T0 + 400)
    how, rep = refresh(d)
    eq(how, 'ok', 'refresh of a properly signed version 2')
    eq(head(rep), (2, COMMENT2, V1_ENTRIES + 1), 'version in force (version, comment, entries)')
    eq(versions(rep), [(2, V1_ENTRIES + 1, 'HTTPS'), (1, V1_ENTRIES, 'HTTPS')], 'versions')
    check('ALERT' not in rep and 'last refresh failed' not in rep,
          'alert or failure left after a good version:\n' + rep)
    alerts, out = status_alerts(d)
    eq(alerts, [], 'alerts in `lanhmanh status` after version 2')
    expect_blocked(d, 'new.example.test')
    for name in V1_NAMES:
        expect_blocked(d, name)
    expect_pass(d, 'added.example.test')
    expect_pass(d, 'open.example.test')
    eq(len(versions_file(d)), 2, 'lines in %s.versions' % LIST)
    d.expect_alive()


def test_missing_signature(t):
    s = Setup(t)
    d, srv = s.d, s.srv
    wait_version(d, 1)
    # a new list published without its signature: the .minisig URL answers 404
    srv.publish(V1 + 'new.example.test\n', mtime=T0 + 200)
    srv.remove('adult.txt.minisig')
    how, rep = refresh(d)
    eq(how, 'failed', 'refresh of a list without signature')
    eq([r[:2] for r in srv.requests()[-2:]], [('/adult.txt', 200), ('/adult.txt.minisig', 404)],
       'requests of the unsigned list')
    problems = []
    m = re.search(r'^  last refresh failed: (.*)$', rep, re.M)
    if not m or '404' not in m.group(1):
        problems.append('want "last refresh failed: ..." with the HTTP status 404:\n' + rep)
    else:
        print('   last refresh failed: ' + m.group(1))
    if head(rep) != (1, COMMENT1, V1_ENTRIES) or versions(rep) != [(1, V1_ENTRIES, 'HTTPS')]:
        problems.append('version 1 should stay in force, alone:\n' + rep)
    for name in V1_NAMES:
        r = ask(d, name)
        if SINK4 not in r.values(name + '.', 'A'):
            problems.append('%s is not blocked any more:\n%s' % (name, r.text()))
    r = ask(d, 'new.example.test')
    if r.values('new.example.test.', 'A') != [REAL['new.example.test']]:
        problems.append('the unsigned list was applied: new.example.test:\n' + r.text())
    # config/README.md: "a list that is unsigned, badly signed, truncated or tampered with is
    # never applied: the version in force stays, with an alert"
    alerts, out = status_alerts(d)
    if not any(a.startswith('ALERT list %s: ' % LIST) for a in alerts):
        problems.append('no ALERT for the unsigned list in `lanhmanh status` (config/README.md: '
                        '"unsigned ... the version in force stays, with an alert"):\n%s\n%s'
                        % (out, rep))
    # the signature published: the next refresh applies it and clears the failure
    s.keys.sign(os.path.join(srv.root, 'adult.txt'), COMMENT2)
    how, rep = refresh(d)
    if how != 'ok' or head(rep) != (2, COMMENT2, V1_ENTRIES + 1):
        problems.append('the list signed afterwards was not applied:\n' + rep)
    if 'last refresh failed' in rep or 'ALERT' in rep:
        problems.append('failure or alert left after the good version:\n' + rep)
    r = ask(d, 'new.example.test')
    if r.values('new.example.test.', 'A') != [SINK4]:
        problems.append('new.example.test not blocked by version 2:\n' + r.text())
    d.expect_alive()
    check(not problems, '\n'.join(problems))


def test_wrong_public_key(t):
    other = KeyPair(t, 'other')
    s = Setup(t, daemon_key=other.public_key)
    d, srv = s.d, s.srv
    rep = wait_report(d, lambda r: 'ALERT' in r, 10.0, 'the refused first download')
    check(head(rep) is None and 'no version yet' in rep.splitlines()[0],
          'want "no version yet" on the head line:\n' + rep)
    eq(versions(rep), [], 'versions')
    check(re.search(r'^  ALERT: .*signature.*', rep, re.M),
          'the alert does not mention the signature:\n' + rep)
    alerts, out = status_alerts(d)
    check(any(a.startswith('ALERT list %s: ' % LIST) and 'signature' in a for a in alerts),
          'no ALERT about the signature in `lanhmanh status`:\n' + out)
    print('   ' + alerts[0])
    for name in V1_NAMES:
        expect_pass(d, name)
    eq(versions_file(d), [], '%s.versions' % LIST)
    eq([r[:2] for r in srv.requests()], [('/adult.txt', 200), ('/adult.txt.minisig', 200)],
       'requests')
    # asked again, still refused (no validators kept from a list that did not verify)
    how, rep = refresh(d)
    eq(how, 'failed', 'second refresh with the wrong key')
    eq(srv.requests()[-2][1:3], (200, 'None'),
       'the second download must not be conditional (nothing verified yet)')
    expect_pass(d, 'bad1.example.test')
    d.expect_alive()


def test_restart_with_the_server_down(t):
    s = Setup(t)
    d, srv = s.d, s.srv
    wait_version(d, 1)
    expect_blocked(d, 'bad1.example.test')
    d.stop()
    srv.stop()
    d.start()  # READY=1 received: the saved version must be in force now
    for name in V1_NAMES:
        expect_blocked(d, name)
    expect_pass(d, 'open.example.test')
    rep = wait_report(d, lambda r: 'last refresh failed' in r, 10.0,
                      'the failed refresh with the server down')
    problems = []
    if (head(rep) or (None,))[0] != 1 or versions(rep) != [(1, V1_ENTRIES, 'HTTPS')]:
        problems.append('version 1 should be in force after the restart:\n' + rep)
    elif head(rep)[1] != COMMENT1:
        problems.append('the trusted comment of the saved version is lost after a restart: '
                        'got %r, want %r:\n%s' % (head(rep)[1], COMMENT1, rep))
    if not re.search(r'(?i)refused|connect', rep):
        problems.append('the failure should say the connection failed:\n' + rep)
    check('serving saved serial 1' in stderr_text(d), 'no log line about the saved version')
    for name in V1_NAMES:
        r = ask(d, name)
        if SINK4 not in r.values(name + '.', 'A'):
            problems.append('%s not blocked after the failed refresh:\n%s' % (name, r.text()))
    # the server back on the same port: confirmed by a 304 (the validators were saved)
    srv.start()
    n = len(srv.requests())
    how, rep = refresh(d)
    reqs = srv.requests()[n:]
    if how != 'ok' or [r[:2] for r in reqs] != [('/adult.txt', 304)]:
        problems.append('with the server back: %s, requests %r (want one 304)\n%s'
                        % (how, reqs, rep))
    if 'last refresh failed' in rep or versions(rep) != [(1, V1_ENTRIES, 'HTTPS')]:
        problems.append('after the 304:\n' + rep)
    d.expect_alive()
    check(not problems, '\n'.join(problems))


def test_untrusted_ca(t):
    s = Setup(t, ca=False)
    d, srv = s.d, s.srv
    rep = wait_report(d, lambda r: 'last refresh failed' in r, 10.0, 'the TLS failure')
    check(head(rep) is None and 'no version yet' in rep.splitlines()[0],
          'want no version:\n' + rep)
    m = re.search(r'^  last refresh failed: (.*)$', rep, re.M)
    check(re.search(r'TLS|SSL|certificate', m.group(1)), 'want a TLS error:\n' + rep)
    print('   last refresh failed: ' + m.group(1))
    eq(versions(rep), [], 'versions')
    expect_pass(d, 'bad1.example.test')
    eq(srv.requests(), [],
       'the server must have served nothing')
    d.expect_alive()


def _check_config(path):
    return subprocess.run([lanhmanhd_path(), '--check-config', '-c', path],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)


def test_config_errors(t):
    keys = KeyPair(t, 'publisher')
    base = ('server:\n'                                          # 1
            '  listen: ["127.0.0.1:5353"]\n'                     # 2
            '  mode: forward\n'                                  # 3
            '  forwarders: ["127.0.0.1:53"]\n'                   # 4
            '  state_dir: %s\n'                                  # 5
            'lists:\n'                                           # 6
            '  - name: adult-https\n'                            # 7
            '    category: adult\n'                              # 8
            % t.path('state'))
    good = base + '    url: "https://127.0.0.1:8443/adult.txt"\n    minisign_key: %s\n' \
        % keys.public_key
    cases = [
        # (what, text, line, column, words in the message)
        ('url: http://', base + '    url: "http://127.0.0.1:8080/adult.txt"\n'
         '    minisign_key: %s\n' % keys.public_key, 9, 10, ('https',)),
        ('no minisign_key', base + '    url: "https://127.0.0.1:8443/adult.txt"\n', 7, 5,
         ('minisign_key',)),
        ('bad minisign_key', base + '    url: "https://127.0.0.1:8443/adult.txt"\n'
         '    minisign_key: RWnotakey\n', 10, 19, ('minisign',)),
        ('minisign_key without url', base + '    file: /dev/null\n    minisign_key: %s\n'
         % keys.public_key, 10, 5, ('url',)),
        ('refresh under a minute', good + '    refresh: 30s\n', 11, 14, ()),
    ]
    path = t.path('good.yaml')
    with open(path, 'w') as f:
        f.write(good)
    p = _check_config(path)
    check(p.returncode == 0, '--check-config on a good url list: exit %d\n%s\n%s'
          % (p.returncode, good, p.stderr))
    problems = []
    for i, (what, text, line, column, words) in enumerate(cases):
        path = t.path('bad%d.yaml' % i)
        with open(path, 'w') as f:
            f.write(text)
        p = _check_config(path)
        diags = re.findall(r'^(\S+?):(\d+):(\d+): error: (.+)$', p.stderr, re.M)
        ours = [(int(l), int(c), msg) for f, l, c, msg in diags if f == path]
        if p.returncode != 1:
            problems.append('%s: exit %d, want 1\n%s' % (what, p.returncode, p.stderr))
        elif (line, column) not in [(l, c) for l, c, _ in ours]:
            problems.append('%s: want an error at %s:%d:%d, got:\n%s'
                            % (what, path, line, column, p.stderr))
        elif not all(w in ' '.join(m for _, _, m in ours) for w in words):
            problems.append('%s: the message should mention %r:\n%s' % (what, words, p.stderr))
        else:
            print('   %s: %s' % (what, [m for _, _, m in ours][0][:140]))
    check(not problems, '\n\n'.join(problems))


if __name__ == '__main__':
    run(globals(), needs=('nsd', 'minisign', 'openssl'))
