# SPDX-License-Identifier: GPL-3.0-or-later
"""`lanhmanh report` as an operator runs it: the built binary on a statistics store made here with
the schema of compliance/schema.h (no daemon), in each format, with its filters, the store found
through the config, while a writer holds the store open, and its errors (a missing store, another
schema version, bad arguments).

Needs only /usr/bin/python3 (sqlite3, csv, html.parser and xml.etree are in its standard
library). Binary: LANHMANH from the environment (meson sets it), --lanhmanh PATH, or the first
build*/resolver/lanhmanh of the source tree.

Run by hand: /usr/bin/python3 tests/integration/test_report.py [--lanhmanh PATH] [-k NAME] [--keep]
"""

import csv
import glob
import html.parser
import io
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import traceback
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SRC_ROOT = os.path.dirname(os.path.dirname(HERE))
SKIP_EXIT = 77
DAY1 = 1714496400  # 2024-05-01 00:00 +07:00
HOUR = 3600

HEADER = ['day', 'network_id', 'network_name', 'province', 'group', 'category', 'queries',
          'blocked']
EVIL_NAME = '<script>alert("x")</script>, a'


class TestFailure(AssertionError):
    pass


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def eq(got, want, what):
    if got != want:
        raise TestFailure('%s:\n  got  %r\n  want %r' % (what, got, want))


def schema_sql():
    """The CREATE statements of CMPL_SCHEMA_SQL, read from compliance/schema.h."""
    lines = open(os.path.join(SRC_ROOT, 'compliance', 'schema.h'), encoding='utf-8').readlines()
    start = next(i for i, l in enumerate(lines) if l.startswith('#define CMPL_SCHEMA_SQL'))
    macro = []
    for line in lines[start:]:
        macro.append(line)
        if not line.rstrip().endswith('\\'):
            break
    text = re.sub(r'/\*.*?\*/', '', ''.join(macro), flags=re.S)
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
    return ''.join(p.replace('\\n', '\n').replace('\\"', '"').replace('\\\\', '\\')
                   for p in parts)


def make_store(path, version='1', reporter='79-TH-0001'):
    """A store like the daemon's (WAL mode) with two days of two networks."""
    db = sqlite3.connect(path)
    db.execute('PRAGMA journal_mode=WAL')
    db.executescript(schema_sql())
    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (version,))
    if reporter:
        db.execute("INSERT INTO meta VALUES ('reporter_id', ?)", (reporter,))
    db.executemany('INSERT INTO intervals (id, start, end, day, queries, blocked,'
                   ' national_version, national_applied) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
                       (1, DAY1, DAY1 + 300, '2024-05-01', 100, 10, 'serial 1', DAY1 - 600),
                       (2, DAY1 + 4 * HOUR, DAY1 + 4 * HOUR + 300, '2024-05-01', 50, 5,
                        'serial 2', DAY1 + 3 * HOUR),
                       (3, DAY1 + 24 * HOUR, DAY1 + 24 * HOUR + 300, '2024-05-02', 70, 7,
                        'serial 2', DAY1 + 3 * HOUR)])
    db.executemany('INSERT INTO totals VALUES (?, ?, ?, ?, ?, ?, ?)', [
        (1, 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'hoc_sinh', 80, 8),
        (1, 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'giao_vien', 20, 2),
        (1, 'x"y', EVIL_NAME, 'Hà Nội', 'hoc_sinh', 0, 0),
        (2, 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'hoc_sinh', 50, 5),
        (3, 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'hoc_sinh', 70, 7)])
    db.executemany('INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?, ?)', [
        (1, 'th-a', 'hoc_sinh', 'national', 'national', 'serial 1', 3),
        (1, 'th-a', 'hoc_sinh', 'adult', 'adult', 'file', 5),
        (1, 'th-a', 'giao_vien', 'games', 'games', 'file', 2),
        (2, 'th-a', 'hoc_sinh', 'national', 'national', 'serial 2', 5),
        (3, 'th-a', 'hoc_sinh', 'deny', 'deny (group)', 'file', 7)])
    db.executemany('INSERT INTO top_national VALUES (?, ?, ?, ?)', [
        (1, 'th-a', 'bad.example', 3), (2, 'th-a', 'bad.example', 2),
        (2, 'th-a', 'worse.example', 3)])
    db.executemany('INSERT INTO list_versions VALUES (?, ?, ?, ?, ?, ?)', [
        ('national', 'national', 'serial 1', DAY1 - 600, 'sync', 120034),
        ('national', 'national', 'serial 2', DAY1 + 3 * HOUR, 'sync', 120040)])
    db.commit()
    return db


EXPECTED_CSV = [
    HEADER,
    ['2024-05-01', 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'giao_vien', '', '20', '2'],
    ['2024-05-01', 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'giao_vien', 'games', '', '2'],
    ['2024-05-01', 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'hoc_sinh', '', '130', '13'],
    ['2024-05-01', 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'hoc_sinh', 'national', '', '8'],
    ['2024-05-01', 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'hoc_sinh', 'adult', '', '5'],
    ['2024-05-01', 'x"y', EVIL_NAME, 'Hà Nội', 'hoc_sinh', '', '0', '0'],
    ['2024-05-02', 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'hoc_sinh', '', '70', '7'],
    ['2024-05-02', 'th-a', 'Trường TH A', 'Hồ Chí Minh', 'hoc_sinh', 'deny', '', '7'],
]


class Ctx:
    def __init__(self, name, lanhmanh):
        self.dir = tempfile.mkdtemp(prefix='lanhmanh-report-%s.' % name)
        self.lanhmanh = lanhmanh
        self.store = os.path.join(self.dir, 'stats.sqlite')

    def run(self, *args, config=None):
        cmd = [self.lanhmanh]
        if config:
            cmd += ['-c', config]
        cmd += ['report'] + list(args)
        p = subprocess.run(cmd, capture_output=True, timeout=30)
        err = p.stderr.decode('utf-8')
        # Under ASan/UBSan a report on stderr fails the test whatever the exit status.
        check('Sanitizer' not in err and 'runtime error' not in err, err)
        return p.returncode, p.stdout.decode('utf-8'), err

    def ok(self, *args, config=None):
        rc, out, err = self.run(*args, config=config)
        eq(rc, 0, 'exit status of lanhmanh report %s (stderr %r)' % (' '.join(args), err))
        eq(err, '', 'stderr of lanhmanh report %s' % ' '.join(args))
        return out

    def fails(self, want_rc, want_err, *args, config=None):
        rc, out, err = self.run(*args, config=config)
        eq(rc, want_rc, 'exit status of lanhmanh report %s (stderr %r)' % (' '.join(args), err))
        eq(out, '', 'stdout of a failed report')
        check(want_err in err, 'stderr %r should contain %r' % (err, want_err))
        return err


def test_text(ctx):
    make_store(ctx.store).close()
    out = ctx.ok('--store', ctx.store)
    for want in ['lanhmanh report: reporter 79-TH-0001\n'
                 'days 2024-05-01 to 2024-05-02, all networks; times in Asia/Ho_Chi_Minh\n',
                 '  th-a         150       15     10.0%  Trường TH A (Hồ Chí Minh)\n'
                 '    by category: national 8, adult 5, games 2\n',
                 '  th-a          70        7     10.0%  Trường TH A (Hồ Chí Minh)\n'
                 '    by category: deny 7\n',
                 '        5  bad.example\n',
                 '  national  serial 1  2024-04-30 23:50:00 +07:00  sync   120034\n',
                 '  national  serial 2  2024-05-01 03:00:00 +07:00  sync   120040\n',
                 '  2024-05-01  serial 1 from 00:00, serial 2 from 04:00\n'
                 '  2024-05-02  serial 2\n']:
        check(want in out, 'text report should contain\n%s\ngot:\n%s' % (want, out))


def test_csv(ctx):
    make_store(ctx.store).close()
    out = ctx.ok('--store', ctx.store, '--format', 'csv')
    eq(list(csv.reader(io.StringIO(out))), EXPECTED_CSV, 'CSV rows')
    check(out.startswith(','.join(HEADER) + '\n'), 'CSV header line')
    check(',"x""y","<script>alert(""x"")</script>, a",Hà Nội,' in out, 'RFC 4180 quoting:\n' + out)

    # Filters: days inclusive, one network.
    out = ctx.ok('--store', ctx.store, '--format', 'csv', '--from', '2024-05-02',
                 '--to', '2024-05-02')
    eq(list(csv.reader(io.StringIO(out))), [HEADER] + EXPECTED_CSV[7:], 'CSV of the 2nd day')
    out = ctx.ok('--store', ctx.store, '--format', 'csv', '--network', 'x"y')
    eq(list(csv.reader(io.StringIO(out))), [HEADER, EXPECTED_CSV[6]], 'CSV of one network')


class PageChecker(html.parser.HTMLParser):
    """Collects the page's text, tags and attributes, and checks that elements nest."""
    VOID = {'meta', 'br', 'rect', 'line'}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.text, self.attrs, self.errors = [], set(), [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += attrs
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += attrs

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append('</%s> closes <%s>' % (tag, self.stack[-1] if self.stack else ''))
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_html(ctx):
    make_store(ctx.store).close()
    page_path = os.path.join(ctx.dir, 'report.html')
    out = ctx.ok('--store', ctx.store, '--format', 'html', '-o', page_path)
    eq(out, '', 'stdout with -o')
    raw = open(page_path, 'rb').read()
    page = raw.decode('utf-8')  # valid UTF-8
    check(page.startswith('<!DOCTYPE html>\n<html lang="vi">'), 'doctype and language')
    check('<meta charset="utf-8">' in page, 'charset')
    low = page.lower()
    check('<script' not in low, 'no script element')
    for ref in ('src=', 'href=', '<link', '@import', 'url('):
        check(ref not in low, 'no external resource (%s)' % ref)

    p = PageChecker()
    p.feed(page)
    p.close()
    eq(p.errors, [], 'element nesting')
    eq(p.stack, [], 'unclosed elements')
    check({'svg', 'rect', 'table', 'style'} <= p.tags, 'tags: %r' % sorted(p.tags))
    text = ''.join(p.text)
    check(EVIL_NAME in text, 'the network name, escaped in markup, reads back as text')
    check('Trường TH A' in text and 'Hồ Chí Minh' in text, 'Vietnamese text')
    check('Tuân thủ danh sách quốc gia' in text, 'compliance section heading')
    check('220 truy vấn / queries, 22 bị chặn / blocked (10.0%)' in text, 'totals')
    for a, v in p.attrs:
        check(not a.startswith('on'), 'no event handler attribute (%s)' % a)

    # The chart is well-formed SVG with one bar per day and category and a legend.
    svg = page[page.index('<svg'):page.index('</svg>') + 6]
    root = ET.fromstring(svg)
    ns = '{http://www.w3.org/2000/svg}'
    bars = [r for r in root.iter(ns + 'rect') if r.find(ns + 'title') is not None]
    titles = sorted(r.find(ns + 'title').text for r in bars)
    eq(titles, ['2024-05-01 · adult: 5', '2024-05-01 · games: 2', '2024-05-01 · national: 8',
                '2024-05-02 · deny: 7'], 'bars')
    for r in bars:
        check(float(r.get('height')) > 0 and float(r.get('width')) > 0, 'bar size')
    labels = [t.text for t in root.iter(ns + 'text')]
    for want in ('2024-05-01', '2024-05-02', 'Ngày / Day', 'Truy vấn bị chặn / Blocked queries',
                 'Danh sách quốc gia (national)', 'Chặn riêng (deny)'):
        check(want in labels, 'chart text %r in %r' % (want, labels))

    # To stdout as well.
    out = ctx.ok('--store', ctx.store, '--format', 'html')
    check(out.rstrip().endswith('</html>'), 'HTML on stdout')


def write_config(ctx, extra):
    path = os.path.join(ctx.dir, 'lanhmanh.yaml')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('server:\n  forwarders: [192.0.2.53]\n  state_dir: %s\n' % ctx.dir + extra)
    return path


def test_store_from_config(ctx):
    # The default place: state_dir/stats.sqlite; the reporter id of the config is used when the
    # store has none.
    make_store(ctx.store, reporter=None).close()
    cfg = write_config(ctx, 'compliance:\n  reporter_id: "79-TH-0042"\n')
    out = ctx.ok(config=cfg)
    check(out.startswith('lanhmanh report: reporter 79-TH-0042\n'), out)
    # compliance.store, elsewhere.
    other = os.path.join(ctx.dir, 'elsewhere.sqlite')
    make_store(other).close()
    cfg = write_config(ctx, 'compliance:\n  store: %s\n' % other)
    out = ctx.ok('--format', 'csv', config=cfg)
    eq(list(csv.reader(io.StringIO(out))), EXPECTED_CSV, 'CSV through compliance.store')
    # A config that does not load.
    cfg = write_config(ctx, 'compliance:\n  interval: soon\n')
    rc, out, err = ctx.run(config=cfg)
    eq(rc, 1, 'exit status with a bad config (stderr %r)' % err)
    check('lanhmanh.yaml:' in err and 'error' in err, 'config diagnostics: %r' % err)


def test_while_daemon_writes(ctx):
    db = make_store(ctx.store)
    db.execute('BEGIN IMMEDIATE')
    db.execute("INSERT INTO intervals (id, start, end, day, queries, blocked)"
               " VALUES (9, 0, 300, '2024-05-03', 1, 0)")
    try:
        out = ctx.ok('--store', ctx.store, '--format', 'csv')
        eq(list(csv.reader(io.StringIO(out))), EXPECTED_CSV, 'CSV while a write is open')
    finally:
        db.rollback()
        db.close()


def test_errors(ctx):
    missing = os.path.join(ctx.dir, 'nothing-here.sqlite')
    err = ctx.fails(1, "statistics store '%s' does not exist" % missing, '--store', missing)
    eq(err.count('\n'), 1, 'one line: %r' % err)
    check(err.startswith('lanhmanh report: '), err)

    make_store(ctx.store, version='7').close()
    err = ctx.fails(1, "has schema version '7'; this lanhmanh reads version 1",
                    '--store', ctx.store)
    eq(err.count('\n'), 1, 'one line: %r' % err)

    junk = os.path.join(ctx.dir, 'junk.sqlite')
    with open(junk, 'w') as f:
        f.write('not a database\n' * 100)
    ctx.fails(1, 'is not an SQLite database', '--store', junk)

    ctx.fails(2, "'2024-13-01' is not a day", '--store', ctx.store, '--from', '2024-13-01')
    ctx.fails(2, "'2024-02-30' is not a day", '--store', ctx.store, '--to', '2024-02-30')
    ctx.fails(2, '--from 2024-05-02 is after --to 2024-05-01', '--store', ctx.store,
              '--from', '2024-05-02', '--to', '2024-05-01')
    ctx.fails(2, "unknown format 'pdf'", '--store', ctx.store, '--format', 'pdf')
    ctx.fails(2, 'usage: lanhmanh', '--store', ctx.store, 'extra')
    make_store(os.path.join(ctx.dir, 'good.sqlite')).close()
    ctx.fails(1, 'cannot write', '--store', os.path.join(ctx.dir, 'good.sqlite'),
              '-o', os.path.join(ctx.dir, 'no', 'such', 'dir.html'))

    # --help works without any store or config.
    rc, out, err = ctx.run('--help')
    eq(rc, 0, 'exit status of --help')
    check('--format FORMAT' in out, out)


def find_lanhmanh(argv):
    if '--lanhmanh' in argv:
        return argv[argv.index('--lanhmanh') + 1]
    if os.environ.get('LANHMANH'):
        return os.environ['LANHMANH']
    for cand in sorted(glob.glob(os.path.join(SRC_ROOT, 'build*/resolver/lanhmanh'))):
        if os.access(cand, os.X_OK):
            return cand
    return None


def main(argv):
    lanhmanh = find_lanhmanh(argv)
    if not lanhmanh or not os.access(lanhmanh, os.X_OK):
        print('SKIP: lanhmanh not built (set LANHMANH or pass --lanhmanh): %r' % lanhmanh)
        return SKIP_EXIT
    keep = '--keep' in argv
    patterns = [argv[i + 1] for i, a in enumerate(argv) if a == '-k' and i + 1 < len(argv)]
    print('lanhmanh: %s' % lanhmanh)
    tests = [(n, f) for n, f in globals().items() if n.startswith('test_') and callable(f)]
    if patterns:
        tests = [(n, f) for n, f in tests if any(p in n for p in patterns)]
    failed = []
    for name, fn in tests:
        ctx = Ctx(name, lanhmanh)
        print('== %s' % name)
        try:
            fn(ctx)
        except Exception:
            failed.append(name)
            print('   FAIL %s\n%s   files kept in %s' % (name, traceback.format_exc(), ctx.dir))
            continue
        print('   PASS %s' % name)
        if not keep:
            shutil.rmtree(ctx.dir, ignore_errors=True)
    print('%d/%d passed%s' % (len(tests) - len(failed), len(tests),
                              ('; FAILED: ' + ', '.join(failed)) if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
