#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the shell benchmarks in bench/: the parts that are easier in Python.

Run with Debian's /usr/bin/python3 (it has python3-dnspython). Subcommands:

  ports N                      print N distinct free UDP+TCP ports on 127.0.0.1
  gen-zone ...                 write a zone of N A records and a dnsperf query file of their names
  probe ...                    wait (bounded) until a server answers a name; exit 1 on timeout
  notify-listen SOCKET ...     bind an AF_UNIX datagram socket, wait for READY=1 (sd_notify protocol)
  parse-dnsperf FILE           print dnsperf's statistics as JSON; exit 1 if the output is not understood
  record ...                   one measured run: dnsperf statistics + CPU ticks -> one JSON line
  report ...                   read the run lines, print the table, medians and ratios, append a result line
  gen-list ...                 N distinct realistic names: a domains list, the same as RPZ, query files
  exec-stamp FILE -- CMD...    write CLOCK_MONOTONIC (ns) to FILE, then exec CMD (same PID)
  startup-timer ...            from an exec-stamp to READY=1 and to the first blocked answer
  proc-mem PID                 VmRSS, VmHWM (and the set file's mapping) of a process, as JSON
  lists-report ...             the table of bench/lists.sh (load times, memory, bytes per entry)
  gen-networks ...             N CIDR networks in round-robin groups (YAML and make_mmdb.pl input)
  ask ...                      ask names from a given source address, check the answers
  sync-zone ...                version K of the national list zone of bench/sync.sh
  sync-rounds ...              bench/sync.sh's update rounds: reload, NOTIFY, poll until enforced
  sync-record ...              a daemon's memory and transfers at one point of bench/sync.sh
  sync-report ...              the table of bench/sync.sh

Every figure printed by `report` is computed here, in one place, so that later benchmarks (kresd,
blocklists) reuse the same arithmetic.
"""

import argparse
import datetime
import json
import os
import random
import re
import socket
import statistics
import sys
import time


def die(msg):
    print(f"benchlib: error: {msg}", file=sys.stderr)
    sys.exit(1)


# --------------------------------------------------------------------------------------------
# ports

def cmd_ports(args):
    """Ask the kernel for free ports; keep every socket open until all are chosen so that the
    ports are distinct, and check that the same port is free for TCP too."""
    held, ports = [], []
    tries = 0
    while len(ports) < args.n:
        tries += 1
        if tries > 100:
            die("could not find free ports on 127.0.0.1")
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
        except OSError:
            u.close()
            t.close()
            continue
        held += [u, t]
        ports.append(port)
    for s in held:
        s.close()
    print(" ".join(str(p) for p in ports))


# --------------------------------------------------------------------------------------------
# zone and query file

def cmd_gen_zone(args):
    origin = args.origin.rstrip(".") + "."
    names = [f"h{i:07d}" for i in range(args.names)]
    with open(args.zone_file, "w") as z:
        z.write(f"$ORIGIN {origin}\n$TTL {args.ttl}\n")
        z.write(f"@ IN SOA ns.{origin} hostmaster.{origin} 1 3600 900 604800 {args.ttl}\n")
        z.write("@ IN NS ns\nns IN A 127.0.0.1\n")
        for i, n in enumerate(names):
            # 10.0.0.0/8 holds 16M distinct addresses; more names than that just wrap.
            a = i % (1 << 24)
            z.write(f"{n} IN A 10.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}\n")
    # A fixed shuffle: dnsperf reads the file in order, and names in zone order would walk the
    # caches' hash tables in an order no client produces.
    order = list(names)
    random.Random(args.seed).shuffle(order)
    with open(args.query_file, "w") as q:
        for n in order:
            q.write(f"{n}.{origin} A\n")
    print(f"{names[0]}.{origin}")  # a name that exists, for readiness probes


# --------------------------------------------------------------------------------------------
# readiness

def pid_alive(pid):
    if not pid:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def cmd_probe(args):
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    deadline = time.monotonic() + args.timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not pid_alive(args.pid):
            die(f"{args.what}: process {args.pid} exited before answering")
        q = dns.message.make_query(args.qname, args.qtype)
        try:
            r = dns.query.udp(q, args.server, port=args.port, timeout=0.5)
            rc = dns.rcode.to_text(r.rcode())
            if rc == "NOERROR" and r.answer:
                print(f"{args.what}: answers {args.qname} {args.qtype}: "
                      f"{r.answer[0].to_text().splitlines()[0]}")
                return
            last = f"rcode {rc}, {len(r.answer)} answer RRsets"
        except Exception as e:  # timeout, refused socket: keep trying until the deadline
            last = f"{type(e).__name__}: {e}"
        time.sleep(0.2)
    die(f"{args.what}: no NOERROR answer for {args.qname} from {args.server}#{args.port} "
        f"within {args.timeout}s (last: {last})")


def cmd_notify_listen(args):
    """The sd_notify protocol: datagrams of newline-separated KEY=VALUE to $NOTIFY_SOCKET.
    Prints each message; exits 0 on READY=1, 1 on timeout. The caller polls for the socket
    file before starting the daemon, so no message is sent before we listen."""
    try:
        os.unlink(args.socket)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(args.socket)
    deadline = time.monotonic() + args.timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print("notify: timeout without READY=1", flush=True)
            sys.exit(1)
        s.settimeout(left)
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        text = data.decode("utf-8", "replace")
        print("notify: " + text.replace("\n", " ").strip(), flush=True)
        if "READY=1" in text.split("\n"):
            sys.exit(0)


# --------------------------------------------------------------------------------------------
# dnsperf output

_num = r"([0-9]+(?:\.[0-9]+)?)"
_DNSPERF_FIELDS = {
    "sent": rf"^\s*Queries sent:\s+{_num}",
    "completed": rf"^\s*Queries completed:\s+{_num}",
    "lost": rf"^\s*Queries lost:\s+{_num}",
    "run_time_s": rf"^\s*Run time \(s\):\s+{_num}",
    "qps": rf"^\s*Queries per second:\s+{_num}",
    "latency_avg_s": rf"^\s*Average Latency \(s\):\s+{_num}",
    "latency_stddev_s": rf"^\s*Latency StdDev \(s\):\s+{_num}",
}


def parse_dnsperf(text):
    out = {}
    for key, rx in _DNSPERF_FIELDS.items():
        m = re.search(rx, text, re.M)
        if m:
            out[key] = float(m.group(1))
    missing = [k for k in ("sent", "completed", "lost", "run_time_s", "qps") if k not in out]
    if missing:
        raise ValueError("dnsperf output lacks " + ", ".join(missing))
    for k in ("sent", "completed", "lost"):
        out[k] = int(out[k])
    m = re.search(r"^\s*Response codes:\s+(.*)$", text, re.M)
    rcodes = {}
    if m:
        for name, count in re.findall(r"([A-Z]+) ([0-9]+) \(", m.group(1)):
            rcodes[name] = int(count)
    out["rcodes"] = rcodes
    # Consistency: what we divide by must be what dnsperf counted.
    if out["completed"] + out["lost"] != out["sent"]:
        raise ValueError(f"dnsperf counts do not add up: sent {out['sent']} != completed "
                         f"{out['completed']} + lost {out['lost']}")
    if out["completed"] and sum(rcodes.values()) != out["completed"]:
        raise ValueError(f"dnsperf response codes add up to {sum(rcodes.values())}, "
                         f"not the {out['completed']} completed")
    m = re.search(r"^\[Status\] Testing complete \(([^)]*)\)", text, re.M)
    out["ended_by"] = m.group(1) if m else "?"
    return out


def cmd_parse_dnsperf(args):
    with open(args.file) as f:
        text = f.read()
    try:
        print(json.dumps(parse_dnsperf(text)))
    except ValueError as e:
        die(f"{args.file}: {e}")


def cmd_record(args):
    with open(args.dnsperf_out) as f:
        text = f.read()
    try:
        p = parse_dnsperf(text)
    except ValueError as e:
        die(f"{args.dnsperf_out}: {e}\n--- dnsperf output ---\n{text}")
    if p["completed"] == 0:
        die(f"{args.daemon}: dnsperf got no responses ({args.dnsperf_out})")
    ticks = args.ticks_after - args.ticks_before
    cpu_s = ticks / args.clk_tck
    wall_s = args.wall_ns / 1e9
    rec = {
        "daemon": args.daemon,
        "round": args.round,
        "completed": p["completed"],
        "sent": p["sent"],
        "lost": p["lost"],
        "rcodes": p["rcodes"],
        "ended_by": p["ended_by"],
        "run_time_s": p["run_time_s"],
        "qps": p["qps"],
        "latency_avg_ms": p.get("latency_avg_s", 0.0) * 1e3,
        "cpu_ticks": ticks,
        "cpu_s": cpu_s,
        "wall_s": wall_s,
        # The daemon's share of one core over the dnsperf window.
        "cpu_util": cpu_s / wall_s if wall_s > 0 else None,
        "cpu_us_per_q": cpu_s * 1e6 / p["completed"],
        "q_per_cpu_s": p["completed"] / cpu_s if cpu_s > 0 else None,
        "upstream_queries": args.upstream_queries,
        "loadgen_cpu_util": args.loadgen_cpu_s / wall_s if wall_s > 0 else None,
        # Everything else the box ran meanwhile (other users, nsd, the kernel's own threads,
        # steal), in cores: more than a few percent and the figures are noisy.
        "others_cpu_util": (max(0.0, args.box_busy_ticks / args.clk_tck - cpu_s - args.loadgen_cpu_s)
                            / wall_s if wall_s > 0 and args.box_busy_ticks is not None else None),
        "udp_drops": args.udp_drops,
        "daemon_udp_drops": args.daemon_udp_drops,
        "loadavg": args.loadavg,
    }
    print(json.dumps(rec))
    print(time.strftime("%H:%M:%S") + f" round {rec['round']} {rec['daemon']}: {rec['qps']:,.0f} q/s, "
          f"{rec['cpu_us_per_q']:.2f} CPU-µs/q, daemon CPU {rec['cpu_util']:.0%}, "
          f"dnsperf CPU {rec['loadgen_cpu_util']:.0%}, others {fmt('{:.0%}', rec['others_cpu_util'])}, "
          f"{rec['lost']} lost, UDP drops {rec['udp_drops']} ({rec['daemon_udp_drops']} at the daemon), "
          f"{rec['upstream_queries']} upstream", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# report

METRICS = [  # key, column title, format
    ("qps", "queries/s", "{:,.0f}"),
    ("cpu_us_per_q", "CPU-µs/query", "{:.2f}"),
    ("q_per_cpu_s", "queries/CPU-s", "{:,.0f}"),
    ("cpu_util", "daemon CPU", "{:.0%}"),
    ("loadgen_cpu_util", "dnsperf CPU", "{:.0%}"),
    ("others_cpu_util", "others CPU", "{:.0%}"),
    ("lost", "lost", "{:,d}"),
    ("udp_drops", "UDP drops", "{:,d}"),
    ("daemon_udp_drops", "at daemon", "{:,d}"),
    ("latency_avg_ms", "avg latency ms", "{:.3f}"),
    ("upstream_queries", "upstream q", "{:,d}"),
]


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(f, v):
    if v is None:
        return "-"
    if f == "{:,d}":
        v = int(round(v))
    return f.format(v)


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in [header] + rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_report(args):
    runs = []
    with open(args.runs) as f:
        for line in f:
            if line.strip():
                runs.append(json.loads(line))
    if not runs:
        die("no runs recorded")
    daemons = []
    for r in runs:
        if r["daemon"] not in daemons:
            daemons.append(r["daemon"])
    rounds = max(r["round"] for r in runs)

    summary = {}
    for d in daemons:
        rs = [r for r in runs if r["daemon"] == d]
        summary[d] = {k: median([r.get(k) for r in rs]) for k, _, _ in METRICS}
        summary[d]["runs"] = len(rs)
        bad = {}
        for r in rs:
            for rc, n in r["rcodes"].items():
                if rc != "NOERROR":
                    bad[rc] = bad.get(rc, 0) + n
        summary[d]["non_noerror"] = bad

    if rounds > 1:
        print(f"\nPer run ({rounds} rounds, interleaved):")
        hdr = ["round", "daemon"] + [t for _, t, _ in METRICS]
        rows = [[r["round"], r["daemon"]] + [fmt(f, r.get(k)) for k, _, f in METRICS]
                for r in runs]
        print(table(hdr, rows))
    prm = json.loads(args.params) if args.params else {}
    if prm:
        print(f"\n{prm.get('cpus', '?')} CPUs ({prm.get('cpu_model', '?')}), "
              f"{'pinned' if prm.get('pinned') else 'not pinned'}; dnsperf {prm.get('dnsperf', '?')} "
              f"-c {prm.get('clients', '?')} -q {prm.get('outstanding', '?')} {prm.get('dnsperf_args', '')}".rstrip()
              + (f"; unbound {prm.get('unbound', '?')}" if "unbound" in prm else "")
              + f"; {prm.get('nsd', '?')}; "
              f"lanhmanhd: {prm.get('lanhmanhd', '-')}; tree {args.git}")
    title = "median of %d rounds" % rounds if rounds > 1 else "one run"
    print(f"\nCached names, {args.names} names, dnsperf {args.duration}s x {rounds} ({title}):")
    hdr = ["daemon"] + [t for _, t, _ in METRICS]
    rows = [[d] + [fmt(f, summary[d][k]) for k, _, f in METRICS] for d in daemons]
    print(table(hdr, rows))

    ratios = {}
    subj = args.subject
    # Pairs (numerator, denominator, key): by default the subject against each peer, keyed by
    # the peer; with --baseline, each other daemon against the baseline, keyed by that daemon.
    if args.baseline:
        pairs = [(d, args.baseline, d) for d in daemons if d != args.baseline] \
            if args.baseline in summary else []
    else:
        pairs = [(subj, peer, peer) for peer in daemons if peer != subj] if subj in summary else []
    if pairs:
        for subj, peer, key in pairs:
            s, p = summary[subj], summary[peer]
            ratios[key] = {
                "qps": s["qps"] / p["qps"] if p["qps"] else None,
                "q_per_cpu_s": (s["q_per_cpu_s"] / p["q_per_cpu_s"]
                                if s["q_per_cpu_s"] and p["q_per_cpu_s"] else None),
            }
            # Per-round ratios show how much of the median ratio is noise.
            per_round = []
            for rnd in range(1, rounds + 1):
                a = [r for r in runs if r["daemon"] == subj and r["round"] == rnd]
                b = [r for r in runs if r["daemon"] == peer and r["round"] == rnd]
                if a and b and a[0]["q_per_cpu_s"] and b[0]["q_per_cpu_s"]:
                    per_round.append(a[0]["q_per_cpu_s"] / b[0]["q_per_cpu_s"])
            ratios[key]["q_per_cpu_s_per_round"] = per_round
        print()
        for subj, peer, key in pairs:
            r = ratios[key]
            line = (f"{subj}/{peer}: queries/s x{fmt('{:.2f}', r['qps'])}, "
                    f"queries per CPU-second x{fmt('{:.2f}', r['q_per_cpu_s'])}")
            if len(r["q_per_cpu_s_per_round"]) > 1:
                line += " (per round: " + ", ".join(
                    f"{x:.2f}" for x in r["q_per_cpu_s_per_round"]) + ")"
            print(line)

    warnings = []
    for d in daemons:
        s = summary[d]
        if s["non_noerror"]:
            warnings.append(f"{d}: answers other than NOERROR: {s['non_noerror']}")
        rs = [r for r in runs if r["daemon"] == d]
        lost = sum(r["lost"] for r in rs)
        sent = sum(r["sent"] for r in rs)
        if sent and lost / sent > 0.001:
            warnings.append(f"{d}: {lost} of {sent} queries lost ({lost / sent:.2%}): "
                            "lower -q, or the daemon drops under load")
        ups = [r["upstream_queries"] for r in rs if r.get("upstream_queries") is not None]
        if ups and max(ups) > 0:
            warnings.append(f"{d}: the upstream saw {max(ups)} queries during a measured run: "
                            "not every name was a cache hit")
        others = [r.get("others_cpu_util") for r in rs if r.get("others_cpu_util") is not None]
        if others and max(others) > 0.10:
            warnings.append(f"{d}: other processes used up to {max(others):.0%} of a core during "
                            "a run: the box was not quiet, figures are noisy")
        if any(r["cpu_ticks"] < 100 for r in rs):
            warnings.append(f"{d}: under 100 CPU ticks measured in a run: CPU figures are coarse, "
                            "run longer (DURATION)")
    for w in warnings:
        print("warning: " + w)

    if args.results_dir:
        os.makedirs(args.results_dir, exist_ok=True)
        line = {
            "bench": args.bench,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": socket.gethostname(),
            "git": args.git,
            "params": prm,
            "summary": summary,
            "ratios": ratios,
            "runs": runs,
            "warnings": warnings,
        }
        path = os.path.join(args.results_dir, f"{args.bench}.jsonl")
        with open(path, "a") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
        print(f"\nappended to {path}")


# --------------------------------------------------------------------------------------------
# blocklists (bench/lists.sh)

# Syllables of Vietnamese and English words as they appear in host names; labels are 1-4 of
# them, sometimes with digits or a hyphen, sometimes a tracker-style hex id.
_SYL = ("tin bao phim bet ads track cdn shop game vip so xo club hot news sex live tv online "
        "nha cai ca cuoc the thao keo top one web net hub pro max go app play win lucky casino "
        "poker slot bong da truc tiep ngay moi viet nam sai gon ha noi clip xem free dl img "
        "static api mail my pay link click zone box sky star sun moon red blue gold").split()
_TLDS = (["com"] * 30 + ["vn"] * 15 + ["com.vn"] * 10 + ["net"] * 12 + ["org"] * 6 +
         ["info"] * 5 + ["xyz"] * 5 + ["io"] * 3 + ["top"] * 5 + ["club"] * 3 + ["online"] * 3 +
         ["me"] * 3)


def _label(rnd):
    r = rnd.random()
    if r < 0.12:
        return "%x" % rnd.getrandbits(rnd.randint(24, 60))
    parts = [rnd.choice(_SYL) for _ in range(rnd.randint(1, 4))]
    lab = ("-" if rnd.random() < 0.15 else "").join(parts)
    if rnd.random() < 0.3:
        lab += str(rnd.randint(0, 999))
    return lab[:63]


def gen_names(n, seed):
    """n distinct names of 2-4 labels (the TLD counts as one or two), lower case, no final
    dot; never under test. (the cached benchmark's zone)."""
    rnd = random.Random(seed)
    seen = set()
    out = []
    while len(out) < n:
        tld = rnd.choice(_TLDS)
        k = rnd.choice((1, 1, 1, 2, 2, 3)) - (1 if "." in tld else 0)
        name = ".".join([_label(rnd) for _ in range(max(1, k))] + [tld])
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def cmd_gen_list(args):
    names = gen_names(args.names, args.seed)
    with open(args.domains, "w") as f:
        f.write("# generated by bench/lib/benchlib.py gen-list\n")
        for n in names:
            f.write(n + "\n")
    origin = args.rpz_origin.rstrip(".") + "."
    with open(args.rpz, "w") as f:
        f.write(f"$ORIGIN {origin}\n$TTL 300\n")
        f.write("@ SOA localhost. root.localhost. 1 3600 900 604800 300\n@ NS localhost.\n")
        for n in names:
            f.write(f"{n} CNAME .\n")
            if args.rpz_wildcards:
                f.write(f"*.{n} CNAME .\n")
    rnd = random.Random(args.seed + 1)
    sample = rnd.sample(names, min(args.blocked_queries, len(names)))
    with open(args.blocked_file, "w") as f:
        for n in sample:
            f.write(f"{n}. A\n")
    # the probe: the last name written (a reader that streams the file has read it all)
    print(names[-1] + ".")


def cmd_exec_stamp(args):
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    if not cmd:
        die("exec-stamp: no command")
    t = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    with open(args.file + ".tmp", "w") as f:
        f.write(f"{t} {os.getpid()}")  # exec keeps the PID
    os.rename(args.file + ".tmp", args.file)
    os.execvp(cmd[0], cmd)


def _blocked(resp, expect):
    import dns.rcode
    import dns.rdatatype
    if expect == "NXDOMAIN":
        return resp.rcode() == dns.rcode.NXDOMAIN
    for rrset in resp.answer:
        if rrset.rdtype == dns.rdatatype.A and any(r.address == expect for r in rrset):
            return True
    return False


def cmd_startup_timer(args):
    """Started before the daemon. Waits for the exec stamp, then asks QNAME every INTERVAL
    until the answer is the blocked one; meanwhile listens for READY=1 when --notify is given.
    Prints JSON: seconds from exec to READY and to the first blocked answer (CLOCK_MONOTONIC
    for all three, so they compare)."""
    import select
    import dns.message
    mono = lambda: time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    ns = None
    if args.notify:
        try:
            os.unlink(args.notify)
        except FileNotFoundError:
            pass
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(args.notify)
    deadline = time.monotonic() + args.timeout
    while not os.path.exists(args.stamp):
        if time.monotonic() > deadline:
            die("startup-timer: no exec stamp")
        time.sleep(0.001)
    t0, pid = (int(x) for x in open(args.stamp).read().split())
    ready = blocked = mem_at_blocked = None
    notes = []
    qs = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    qs.connect((args.server, args.port))
    wire = {}
    next_q = 0
    sent = 0
    while blocked is None or (ns is not None and ready is None):
        now = mono()
        if blocked is not None and now - blocked > 10e9:
            notes.append("no READY=1 within 10 s of the first blocked answer")
            break
        if time.monotonic() > deadline:
            print(json.dumps({"error": "timeout", "ready_s": ready and (ready - t0) / 1e9,
                              "blocked_s": blocked and (blocked - t0) / 1e9, "queries": sent}))
            sys.exit(1)
        if args.pid and not pid_alive(args.pid):
            die(f"startup-timer: process {args.pid} exited")
        if blocked is None and now >= next_q:
            q = dns.message.make_query(args.qname, "A")
            try:
                qs.send(q.to_wire())
                sent += 1
            except OSError:
                pass  # ECONNREFUSED from an earlier ICMP: nobody listens yet
            next_q = now + int(args.interval * 1e9)
        rl = [ns] if ns is not None and ready is None else []
        if blocked is None:
            rl.append(qs)
        wait = max(0.0, (next_q - mono()) / 1e9) if blocked is None else 0.05
        r, _, _ = select.select(rl, [], [], wait)
        for s in r:
            if s is ns:
                text = ns.recv(4096).decode("utf-8", "replace")
                t = mono()
                notes.append(text.replace("\n", " ").strip())
                if "READY=1" in text.split("\n") and ready is None:
                    ready = t
            else:
                try:
                    data = qs.recv(65535)
                except OSError:
                    continue
                t = mono()
                try:
                    m = dns.message.from_wire(data)
                except Exception:
                    continue
                if blocked is None and _blocked(m, args.expect):
                    blocked = t
                    # memory at that moment: before any later work (lanhmanhd re-reads its
                    # lists after starting from its snapshot)
                    try:
                        mem_at_blocked = proc_mem(pid, args.set_path)
                    except OSError:
                        mem_at_blocked = None
    print(json.dumps({"ready_s": (ready - t0) / 1e9 if ready else None,
                      "blocked_s": (blocked - t0) / 1e9, "queries": sent, "notify": notes,
                      "mem_at_blocked": mem_at_blocked}))


def proc_mem(pid, set_path=None):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0]) * 1024
    if set_path:
        rss, cur = 0, False
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    cur = line.rstrip().endswith(set_path)
                elif cur and line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
        out["set_mapping_rss"] = rss
    return out


def cmd_proc_mem(args):
    print(json.dumps(proc_mem(args.pid, args.set_path)))


def cmd_lists_report(args):
    recs = [json.loads(l) for l in open(args.records) if l.strip()]
    base = {r["daemon"]: r["mem"]["VmRSS"] for r in recs if r["kind"] == "baseline"}
    MiB = 1 << 20
    rows = []
    for r in recs:
        if r["kind"] == "baseline":
            continue
        n = r["names"]
        b = base.get(r["daemon"])
        m = r["mem"]
        bpe = (m["VmRSS"] - b) / n if b is not None else None
        r["bytes_per_entry"] = bpe
        mb = r.get("mem_at_blocked") or {}
        r["bytes_per_entry_at_blocked"] = (mb["VmRSS"] - b) / n if mb and b is not None else None
        rows.append([r["daemon"], r["format"], r["start"], f"{n:,}",
                     fmt("{:.3f}", r.get("ready_s")), fmt("{:.3f}", r.get("blocked_s")),
                     fmt("{:,.1f}", mb["VmRSS"] / MiB if mb else None),
                     fmt("{:.1f}", r["bytes_per_entry_at_blocked"]),
                     fmt("{:,.1f}", mb.get("set_mapping_rss") / MiB if "set_mapping_rss" in mb else None),
                     f"{m['VmRSS'] / MiB:,.1f}", f"{m['VmHWM'] / MiB:,.1f}",
                     fmt("{:.1f}", bpe), fmt("{:.1f}", m.get("set_mapping_rss", 0) / MiB
                                             if "set_mapping_rss" in m else None),
                     r.get("note", "")])
    hdr = ["daemon", "format", "start", "names", "exec→READY s", "exec→blocked s",
           "RSS@blocked MiB", "B/entry@blocked", "set map@blocked MiB", "RSS MiB", "peak MiB",
           "B/entry", "set map MiB", "note"]
    print("\nBaseline RSS (no list): " + ", ".join(f"{d} {v / MiB:.1f} MiB" for d, v in base.items()))
    print(table(hdr, rows))
    if args.results_dir:
        os.makedirs(args.results_dir, exist_ok=True)
        line = {"bench": "lists",
                "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "host": socket.gethostname(), "git": args.git,
                "params": json.loads(args.params) if args.params else {},
                "baseline_rss": base, "records": recs}
        path = os.path.join(args.results_dir, "lists.jsonl")
        with open(path, "a") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
        print(f"\nappended to {path}")


# --------------------------------------------------------------------------------------------
# policy (bench/policy.sh)

def _ipv4(n):
    return ".".join(str(n >> s & 255) for s in (24, 16, 8, 0))


def cmd_gen_networks(args):
    """N CIDR networks of /PREFIX: network i lies in 10.0.0.0/8 when i is even, in 127.0.0.0/8
    when odd, at block 2 * (i // 2) of its /8, so that the block after each network is in no
    network; group i % len(groups) (round-robin). Writes the `networks:` section (YAML) and the
    same ranges as make_mmdb.pl input (CIDR GROUP NETWORK_ID). Prints: the address of a client
    in a network of --client-group, in 127.0.0.0/8 (a local address dnsperf can send from), that
    network's name and CIDR, and an address of 127.0.0.0/8 in no network."""
    groups = args.groups.split()
    if not groups or args.client_group not in groups:
        die("gen-networks: --client-group must be one of --groups")
    size = 1 << (32 - args.prefix)
    if args.networks < 2 or args.networks * size > 1 << 24:
        die(f"gen-networks: {args.networks} networks of /{args.prefix} do not fit in two /8s "
            "with a gap after each")
    nets = []
    for i in range(args.networks):
        base = (10 << 24) if i % 2 == 0 else (127 << 24)
        addr = base + 2 * (i // 2) * size
        nets.append((f"{_ipv4(addr)}/{args.prefix}", groups[i % len(groups)], f"net-{i:06d}", addr))
    with open(args.yaml, "w") as y:
        y.write("networks:\n")
        for cidr, g, name, _ in nets:
            y.write(f'  - {{ name: "{name}", cidr: ["{cidr}"], group: {g} }}\n')
    if args.mmdb_input:
        with open(args.mmdb_input, "w") as m:
            for cidr, g, name, _ in nets:
                m.write(f"{cidr} {g} {name}\n")
    # the client: a network of client_group in 127/8, about half-way through the table
    i = args.networks // 2
    while not (i % 2 == 1 and groups[i % len(groups)] == args.client_group):
        i += 1
        if i >= args.networks:
            die("gen-networks: no network of the client group in 127.0.0.0/8")
    cidr, _, name, addr = nets[i]
    print(_ipv4(addr + 10), name, cidr, _ipv4(addr + size + 10))


def cmd_ask(args):
    """Each --check NAME=EXPECT, type A, over UDP from --source. EXPECT: an IPv4 address the
    answer must hold; !ADDR: an answer (any rcode) that does not hold it; or an rcode name
    (NXDOMAIN, REFUSED, ...). Prints one line per check; exit 1 when one fails."""
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype
    bad = 0
    for chk in args.check:
        name, _, expect = chk.rpartition("=")
        q = dns.message.make_query(name, "A")
        try:
            r = dns.query.udp(q, args.server, port=args.port, source=args.source,
                              timeout=args.timeout)
        except Exception as e:
            print(f"  FAIL {name} from {args.source}: {type(e).__name__}: {e}")
            bad += 1
            continue
        rc = dns.rcode.to_text(r.rcode())
        addrs = [a.address for rr in r.answer if rr.rdtype == dns.rdatatype.A for a in rr]
        if re.fullmatch(r"[0-9.]+", expect):
            ok = expect in addrs
        elif expect.startswith("!"):
            ok = expect[1:] not in addrs
        else:
            ok = rc == expect
        ede = [o.text for o in r.options if getattr(o, "otype", None) == 15 and o.text]
        print(f"  {'ok  ' if ok else 'FAIL'} {name} from {args.source}: {rc} "
              f"{','.join(addrs) or '-'}{' (EDE: ' + '; '.join(ede) + ')' if ede else ''}"
              f" (expected {expect})")
        bad += not ok
    sys.exit(1 if bad else 0)


# --------------------------------------------------------------------------------------------
# national list sync (bench/sync.sh)
#
# Version k of the zone (k = 0 is the first one, serial 1) holds the N base names minus the
# first k * REMOVE of them, plus the first k * ADD names generated after them (gen_names is
# prefix-stable: the first N names of gen_names(N + M) are gen_names(N)), so that every round's
# IXFR removes REMOVE triggers and adds ADD new ones, and the zone stays at N entries when both
# are equal.

SYNC_UNLISTED_SUFFIX = "stream.example."  # under no trigger; nsd's wildcard answers it


def _sync_versions(args):
    names = gen_names(args.names + args.rounds * args.add, args.seed)
    return names[:args.names], names[args.names:]


def _sync_version_names(base, adds, k, add, remove):
    return base[k * remove:], adds[:k * add]


def _sync_write_zone(path, origin, serial, names, wildcards):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"$ORIGIN {origin}\n$TTL 300\n")
        f.write(f"@ SOA localhost. hostmaster.localhost. {serial} 3600 900 604800 300\n"
                "@ NS localhost.\n")
        for part in names:
            for n in part:
                f.write(f"{n} CNAME .\n")
                if wildcards:
                    f.write(f"*.{n} CNAME .\n")
    os.replace(tmp, path)


def _canonical_sorted(names):
    import dns.name
    return sorted(names, key=lambda n: dns.name.from_text(n))


def cmd_sync_zone(args):
    """Write version --version of the zone; print the probe of the first transfer (a base name
    no round removes) and the number of triggers."""
    if args.rounds * args.remove >= args.names:
        die("sync-zone: rounds x remove must stay below the number of names")
    base, adds = _sync_versions(args)
    origin = args.origin.rstrip(".") + "."
    keep, added = _sync_version_names(base, adds, args.version, args.add, args.remove)
    _sync_write_zone(args.zone_file, origin, args.version + 1, (keep, added), args.wildcards)
    print(base[-1] + ".", len(keep) + len(added))


class _Udp:
    """One UDP socket to one server; queries tagged by ID, answers matched by ID."""

    def __init__(self, port, server="127.0.0.1"):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.connect((server, port))
        self.s.setblocking(False)
        self.pending = {}  # id -> (tag, t_send)
        self.nid = random.randrange(65536)

    def send(self, qname, tag, now):
        import dns.message
        for _ in range(65536):
            self.nid = (self.nid + 1) & 0xFFFF
            if self.nid not in self.pending:
                break
        q = dns.message.make_query(qname, "A")
        q.id = self.nid
        try:
            self.s.send(q.to_wire())
        except OSError:
            return False  # ECONNREFUSED after an ICMP: counted as unanswered
        self.pending[q.id] = (tag, now)
        return True

    def recv(self):
        """[(tag, t_send, message)] of every datagram waiting."""
        import dns.message
        out = []
        while True:
            try:
                data = self.s.recv(65535)
            except (BlockingIOError, InterruptedError):
                return out
            except OSError:
                continue  # ICMP error of an earlier send
            try:
                m = dns.message.from_wire(data)
            except Exception:
                continue
            p = self.pending.pop(m.id, None)
            if p is not None:
                out.append((p[0], p[1], m))


def _is_blocked(m):
    import dns.rcode
    return m.rcode() == dns.rcode.NXDOMAIN


def _is_resolved(m):
    import dns.rcode
    import dns.rdatatype
    return m.rcode() == dns.rcode.NOERROR and any(rr.rdtype == dns.rdatatype.A for rr in m.answer)


def _proc_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    return int(st[11]) + int(st[12])


_LM_LOG = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}) (\w+) sync: list '([^']*)': (.*)$")


def _lanhmanh_log_events(path, since_epoch):
    """(epoch, message) of lanhmanhd's sync log lines at or after since_epoch (its log is local
    time with milliseconds)."""
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = _LM_LOG.match(line.rstrip("\n"))
                if not m:
                    continue
                t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp()
                if t >= since_epoch - 0.001:
                    out.append((t, m.group(2), m.group(4)))
    except OSError:
        pass
    return out


_KNOT_XFR = re.compile(r"\] (AXFR|IXFR), outgoing, remote ([0-9.]+)@(\d+), (.*)$")


def _knot_transfers(path, serial):
    """Outgoing transfers knotd logged towards serial: {source address: [{type, port, seconds,
    messages, bytes}]} (knotd logs whole seconds only: the durations are its own figures)."""
    started, out = {}, {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = _KNOT_XFR.search(line)
                if not m:
                    continue
                typ, addr, port, rest = m.groups()
                if rest.startswith("started"):
                    sm = re.search(r"serial (?:\d+ -> )?(\d+)", rest)
                    if sm and int(sm.group(1)) == serial:
                        started[(addr, port)] = {"type": typ, "port": int(port)}
                        out.setdefault(addr, []).append(started[(addr, port)])
                elif (addr, port) in started:
                    rec = started[(addr, port)]
                    fm = re.search(r"finished, ([0-9.]+) seconds, (\d+) messages, (\d+) bytes", rest)
                    if fm:
                        rec.update(seconds=float(fm.group(1)), messages=int(fm.group(2)),
                                   bytes=int(fm.group(3)))
                    else:
                        rec["result"] = rest
    except OSError:
        pass
    return out


def _own_transfers(recs, targets):
    """Which of knotd's transfers towards a round's serial were each target's. knotd logs the
    client's address and port only, and both resolvers connect from 127.0.0.1: with one target
    they are all its own; with several, lanhmanhd's is the one its own log names (AXFR or
    IXFR), and a single other target gets the rest."""
    for rec in recs:
        rec["knot_transfers"] = []
    if not recs:
        return
    alls = recs[0].get("knot_transfers_all", [])
    if len(recs) == 1:
        recs[0]["knot_transfers"] = list(alls)
        return
    rest = list(alls)
    for rec, t in zip(recs, targets):
        if t["log"]:
            typ = (rec.get("log") or {}).get("transfer")
            for i, x in enumerate(rest):
                if x.get("type") == typ:
                    rec["knot_transfers"] = [rest.pop(i)]
                    break
    others = [rec for rec, t in zip(recs, targets) if not t["log"]]
    if len(others) == 1:
        others[0]["knot_transfers"] = rest


def _lanhmanh_allocated(cli, sock):
    """What `lanhmanh status` says the daemon has allocated (its own allocator's count; not
    what libraries such as ldns allocate), in bytes; None without a control socket."""
    import subprocess
    if not cli or not sock:
        return None
    try:
        out = subprocess.run([cli, "-s", sock, "status"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"memory: (\d+) bytes allocated", out)
    return int(m.group(1)) if m else None


def cmd_sync_rounds(args):
    """The update rounds of bench/sync.sh. Each round: write the next version of the zone,
    `knotc zone-reload` it (knotd then sends its NOTIFYs: first to our catcher, which stamps the
    moment, then to the resolvers), and poll every target every --interval for the first and the
    last new trigger (canonical order, the order of knotd's IXFR) until they are blocked and for
    a removed trigger until it resolves again; meanwhile a light stream of queries (listed and
    unlisted names) checks that nothing is lost or answered wrongly. Then a sample of the added
    and removed triggers is checked. One JSON line per round and target on stdout."""
    import select
    import dns.message
    import dns.flags
    import dns.opcode
    import dns.query
    import dns.rcode
    import dns.rdatatype

    base, adds = _sync_versions(args)
    origin = args.origin.rstrip(".") + "."
    targets = []
    for spec in args.target:
        name, port, pid, log, ctl = (spec.split(",") + [""] * 5)[:5]
        targets.append({"name": name, "port": int(port), "pid": int(pid), "log": log, "ctl": ctl})

    mono = time.monotonic
    clk = os.sysconf("SC_CLK_TCK")
    # knotd 3.2 sends its NOTIFYs over TCP; take UDP too
    catcher = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    catcher.bind(("127.0.0.1", args.catcher_port))
    catcher.setblocking(False)
    catcher_tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    catcher_tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    catcher_tcp.bind(("127.0.0.1", args.catcher_port))
    catcher_tcp.listen(8)
    catcher_tcp.setblocking(False)
    conns = {}  # accepted TCP connection -> bytes so far

    rnd = random.Random(args.seed + 2)
    untouched = base[args.rounds * args.remove:]
    listed = rnd.sample(untouched, min(500, len(untouched)))
    unlisted = [f"s{i}.{SYNC_UNLISTED_SUFFIX}" for i in range(500)]
    stream_names = [(n, "blocked") for n in listed] + [(n, "resolved") for n in unlisted]
    rnd.shuffle(stream_names)

    def tgt_alive(t):
        if not pid_alive(t["pid"]):
            die(f"sync-rounds: {t['name']} (pid {t['pid']}) died")

    for k in range(1, args.rounds + 1):
        serial = k + 1
        keep, added = _sync_version_names(base, adds, k, args.add, args.remove)
        new = adds[(k - 1) * args.add:k * args.add]
        gone = base[(k - 1) * args.remove:k * args.remove]
        if not new:
            die("sync-rounds: --add must be at least 1")
        new_sorted = _canonical_sorted(new)
        probes = {"first": (new_sorted[0] + ".", "blocked"), "last": (new_sorted[-1] + ".", "blocked")}
        if gone:
            probes["removed"] = (_canonical_sorted(gone)[0] + ".", "resolved")
        t_w0 = mono()
        _sync_write_zone(args.zone_file, origin, serial, (keep, added), args.wildcards)
        write_s = mono() - t_w0
        time.sleep(args.settle)

        st = {}
        for t in targets:
            tgt_alive(t)
            st[t["name"]] = {
                "poll": _Udp(t["port"]), "stream": _Udp(t["port"]),
                "done": {}, "before": {}, "ticks0": _proc_ticks(t["pid"]),
                "s_sent": 0, "s_ok": 0, "s_wrong": {}, "s_lat": [], "s_unsent": 0,
                "gap_max": 0.0, "last_answer": None, "stream_i": 0,
            }
        off = time.time() - mono()  # epoch = monotonic + off
        t_start = mono()
        reload = subprocess_popen([args.knotc, "-s", args.knot_socket, "-b", "-t", "120",
                                   "zone-reload", origin])
        t_reload_end = None
        t_notify = None
        notify_from = []
        next_poll = t_start
        next_stream = t_start
        stream_dt = 1.0 / args.stream_qps if args.stream_qps > 0 else None
        stream_stop = None

        def finished():
            return all(len(st[t["name"]]["done"]) == len(probes) for t in targets)

        while True:
            now = mono()
            if reload is not None and t_reload_end is None and reload.poll() is not None:
                t_reload_end = now
                out = reload.stdout.read().decode(errors="replace").strip()
                if reload.returncode != 0:
                    die(f"sync-rounds: knotc zone-reload failed ({reload.returncode}): {out}")
            if finished() and stream_stop is None:
                stream_stop = now + args.stream_tail
            if stream_stop is not None and now >= stream_stop:
                break
            if now - t_start > args.timeout:
                print(f"benchlib: sync-rounds: round {k}: timeout after {args.timeout} s",
                      file=sys.stderr)
                break
            if now >= next_poll:
                for t in targets:
                    s = st[t["name"]]
                    for p, (qn, _) in probes.items():
                        if p not in s["done"]:
                            s["poll"].send(qn, p, now)
                next_poll += args.interval
                if next_poll < now:
                    next_poll = now + args.interval
            if stream_dt and stream_stop is None and now >= next_stream:
                for t in targets:
                    s = st[t["name"]]
                    qn, exp = stream_names[s["stream_i"] % len(stream_names)]
                    s["stream_i"] += 1
                    if s["stream"].send(qn, exp, now):
                        s["s_sent"] += 1
                    else:
                        s["s_unsent"] += 1
                next_stream += stream_dt
                if next_stream < now - 1.0:  # we were held up for a second: do not burst
                    next_stream = now
            waits = [next_poll - now]
            if stream_dt and stream_stop is None:
                waits.append(next_stream - now)
            if stream_stop is not None:
                waits.append(stream_stop - now)
            if reload is not None and t_reload_end is None:
                waits.append(0.005)
            socks = [catcher, catcher_tcp] + list(conns) + \
                [st[t["name"]][w].s for t in targets for w in ("poll", "stream")]
            r, _, _ = select.select(socks, [], [], max(0.0, min(waits)))
            now = mono()

            def on_notify(data, proto):
                nonlocal t_notify
                try:
                    m = dns.message.from_wire(data)
                except Exception:
                    return None
                if m.opcode() != dns.opcode.NOTIFY or m.flags & dns.flags.QR:
                    return None
                ser = None
                for rr in m.answer:
                    if rr.rdtype == dns.rdatatype.SOA:
                        ser = rr[0].serial
                notify_from.append({"t": now - t_start, "serial": ser, "proto": proto})
                if t_notify is None and (ser is None or ser == serial):
                    t_notify = now
                    for t in targets:
                        st[t["name"]]["ticks_notify"] = _proc_ticks(t["pid"])
                resp = dns.message.make_response(m)
                resp.flags |= dns.flags.AA
                return resp.to_wire()

            for sk in r:
                if sk is catcher:
                    while True:
                        try:
                            data, peer = catcher.recvfrom(65535)
                        except (BlockingIOError, InterruptedError):
                            break
                        resp = on_notify(data, "udp")
                        if resp:
                            catcher.sendto(resp, peer)
                    continue
                if sk is catcher_tcp:
                    try:
                        c, _ = catcher_tcp.accept()
                        c.setblocking(False)
                        conns[c] = b""
                    except (BlockingIOError, InterruptedError):
                        pass
                    continue
                if sk in conns:
                    try:
                        data = sk.recv(65535)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        del conns[sk]
                        sk.close()
                        continue
                    buf = conns[sk] + data
                    while len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(buf[:2], "big"):
                        n = int.from_bytes(buf[:2], "big")
                        resp = on_notify(buf[2:2 + n], "tcp")
                        buf = buf[2 + n:]
                        if resp:
                            try:
                                sk.setblocking(True)
                                sk.sendall(len(resp).to_bytes(2, "big") + resp)
                                sk.setblocking(False)
                            except OSError:
                                pass
                    conns[sk] = buf
                    continue
                for t in targets:
                    s = st[t["name"]]
                    if sk is s["poll"].s:
                        for p, t_send, m in s["poll"].recv():
                            want = probes[p][1]
                            ok = _is_blocked(m) if want == "blocked" else _is_resolved(m)
                            if ok and p not in s["done"]:
                                s["done"][p] = {"t_recv": now, "t_send": t_send}
                            elif not ok and p not in s["done"]:
                                s["before"][p] = s["before"].get(p, 0) + 1
                    elif sk is s["stream"].s:
                        for exp, t_send, m in s["stream"].recv():
                            ok = _is_blocked(m) if exp == "blocked" else _is_resolved(m)
                            if ok:
                                s["s_ok"] += 1
                            else:
                                key = f"{exp}->{dns.rcode.to_text(m.rcode())}"
                                s["s_wrong"][key] = s["s_wrong"].get(key, 0) + 1
                            s["s_lat"].append(now - t_send)
                            if s["last_answer"] is not None:
                                s["gap_max"] = max(s["gap_max"], now - s["last_answer"])
                            s["last_answer"] = now
        t_end = mono()
        for t in targets:
            st[t["name"]]["ticks_end"] = _proc_ticks(t["pid"])
        if reload is not None and t_reload_end is None:
            reload.wait()
            t_reload_end = mono()

        recs = []
        for t in targets:
            s = st[t["name"]]
            tgt_alive(t)
            ticks = _proc_ticks(t["pid"]) - s["ticks0"]
            # what still has no answer after the tail is lost
            lost = len(s["stream"].pending)
            # sample check: every probe done, then a sample of all added and removed triggers
            bad = []
            smp_new = rnd.sample(new, min(args.verify, len(new)))
            smp_gone = rnd.sample(gone, min(args.verify, len(gone)))
            for n, want in [(x, "blocked") for x in smp_new] + [(x, "resolved") for x in smp_gone]:
                t_q = mono()
                try:
                    m = dns.query.udp(dns.message.make_query(n + ".", "A"), "127.0.0.1",
                                      port=t["port"], timeout=2)
                    ok = _is_blocked(m) if want == "blocked" else _is_resolved(m)
                    got = dns.rcode.to_text(m.rcode()) + " " + ",".join(
                        a.address for rr in m.answer if rr.rdtype == dns.rdatatype.A for a in rr)
                except Exception as e:
                    ok, got = False, f"{type(e).__name__}: {e}"
                if not ok:
                    bad.append(f"{n} want {want}, got {got.strip()} after {mono() - t_q:.3f} s")
            lat = sorted(s["s_lat"])
            rel = lambda x: None if x is None or t_notify is None else x - t_notify
            done = {p: s["done"][p]["t_recv"] if p in s["done"] else None for p in probes}
            rec = {
                "round": k, "daemon": t["name"], "serial": serial, "added": len(new),
                "removed": len(gone), "entries": len(keep) + len(added),
                "zone_write_s": write_s,
                "reload_s": t_reload_end - t_start,
                "reload_to_notify_s": (t_notify - t_reload_end) if t_notify else None,
                "notify_to_first_s": rel(done["first"]),
                "notify_to_last_s": rel(done["last"]),
                "notify_to_removed_s": rel(done.get("removed")),
                "reload_end_to_first_s": done["first"] - t_reload_end if done["first"] else None,
                "reload_end_to_last_s": done["last"] - t_reload_end if done["last"] else None,
                "probes": {p: q for p, (q, _) in probes.items()},
                "probe_not_yet_answers": s["before"],
                "probe_done_before_notify": [p for p, v in done.items()
                                             if v is not None and t_notify and v < t_notify],
                "notify_catcher": notify_from,
                "cpu_ticks": ticks,
                # from the NOTIFY to the end of the stream (--stream-tail after the last probe
                # was enforced): the update's cost, plus the probes' and the stream's queries
                "cpu_s_notify_to_end": ((s["ticks_end"] - s["ticks_notify"]) / clk
                                        if "ticks_notify" in s else None),
                "notify_to_end_s": t_end - t_notify if t_notify else None,
                "mem": proc_mem(t["pid"]),
                "allocated": _lanhmanh_allocated(args.lanhmanh, t["ctl"]),
                "stream": {"qps": args.stream_qps, "sent": s["s_sent"], "answered_ok": s["s_ok"],
                           "wrong": s["s_wrong"], "lost": lost, "unsent": s["s_unsent"],
                           "lat_p50_ms": lat[len(lat) // 2] * 1e3 if lat else None,
                           "lat_p99_ms": lat[int(len(lat) * 0.99)] * 1e3 if lat else None,
                           "lat_max_ms": lat[-1] * 1e3 if lat else None,
                           "gap_max_ms": s["gap_max"] * 1e3},
                "verify": {"checked": len(smp_new) + len(smp_gone), "bad": len(bad),
                           "examples": bad[:5]},
            }
            if t["log"]:
                ev = _lanhmanh_log_events(t["log"], t_start + off)
                app = [e for e in ev if f"serial {serial} of" in e[2] and "applied" in e[2]]
                if app:
                    ta = app[0][0]
                    nt = [e for e in ev if "NOTIFY for" in e[2] and e[0] <= ta]
                    mm = re.search(r"applied \((\w+), (\d+) entries\)", app[0][2])
                    rec["log"] = {
                        "transfer": mm.group(1) if mm else None,
                        "entries": int(mm.group(2)) if mm else None,
                        "notify_rx_s": nt[-1][0] - off - t_notify if nt and t_notify else None,
                        "applied_s": ta - off - t_notify if t_notify else None,
                    }
                rec["log_other"] = [f"{lvl} {msg}" for _, lvl, msg in ev
                                    if lvl not in ("info", "notice", "debug")][:10]
            if args.knot_log:
                xf = _knot_transfers(args.knot_log, serial)
                rec["knot_transfers_all"] = [x for v in xf.values() for x in v]
            recs.append(rec)
        _own_transfers(recs, targets)
        for t, rec in zip(targets, recs):
            s = st[t["name"]]
            ticks, lost, bad = rec["cpu_ticks"], rec["stream"]["lost"], rec["verify"]["bad"]
            print(json.dumps(rec), flush=True)
            x = rec
            print(time.strftime("%H:%M:%S") + f" round {k} {t['name']}: reload {x['reload_s']:.2f} s, "
                  f"reload→NOTIFY {fmt('{:.3f}', x['reload_to_notify_s'])} s, NOTIFY→first "
                  f"{fmt('{:.3f}', x['notify_to_first_s'])} s, →last {fmt('{:.3f}', x['notify_to_last_s'])} s, "
                  f"→removed {fmt('{:.3f}', x['notify_to_removed_s'])} s; "
                  f"{'/'.join(r.get('type', '?') for r in x.get('knot_transfers', [])) or '?'}; "
                  f"stream {x['stream']['sent']} sent, {lost} lost, wrong {s['s_wrong'] or 0}, "
                  f"max gap {x['stream']['gap_max_ms']:.0f} ms; verify {bad} bad; "
                  f"CPU {fmt('{:.2f}', x['cpu_s_notify_to_end'])} s from NOTIFY to {fmt('{:.1f}', x['notify_to_end_s'])} s; "
                  f"RSS {x['mem']['VmRSS'] / (1 << 20):.1f} MiB"
                  + (f", allocated {x['allocated'] / (1 << 20):.1f} MiB" if x["allocated"] else ""),
                  file=sys.stderr)
        for t in targets:
            st[t["name"]]["poll"].s.close()
            st[t["name"]]["stream"].s.close()
    for c in conns:
        c.close()


def subprocess_popen(argv):
    import subprocess
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


SYNC_ROUND_METRICS = [  # key, title
    ("notify_to_first_s", "NOTIFY→first new blocked s"),
    ("notify_to_last_s", "NOTIFY→last new blocked s"),
    ("notify_to_removed_s", "NOTIFY→removed unblocked s"),
    ("reload_end_to_first_s", "reload returned→first s"),
    ("reload_end_to_last_s", "reload returned→last s"),
    ("reload_to_notify_s", "reload returned→NOTIFY s"),
    ("reload_s", "knotc zone-reload s"),
]


def cmd_sync_report(args):
    """The table of bench/sync.sh from the start records and the round records; one JSON line to
    RESULTS_DIR/sync.jsonl."""
    starts = [json.loads(l) for l in open(args.starts) if l.strip()]
    rounds = [json.loads(l) for l in open(args.rounds) if l.strip() and l.startswith("{")]
    MiB = 1 << 20
    daemons = []
    for r in starts + rounds:
        if r["daemon"] not in daemons:
            daemons.append(r["daemon"])
    summary = {}
    for d in daemons:
        s = {}
        st = [r for r in starts if r["daemon"] == d]
        rs = [r for r in rounds if r["daemon"] == d]
        for r in st:
            s[r["when"]] = r
        for key, _ in SYNC_ROUND_METRICS:
            s[key] = median([r.get(key) for r in rs])
            s[key + "_all"] = [r.get(key) for r in rs]
        s["rounds"] = len(rs)
        s["lost"] = sum(r["stream"]["lost"] for r in rs)
        s["sent"] = sum(r["stream"]["sent"] for r in rs)
        s["wrong"] = sum(sum(r["stream"]["wrong"].values()) for r in rs)
        s["gap_max_ms"] = max((r["stream"]["gap_max_ms"] for r in rs), default=None)
        s["lat_max_ms"] = max((r["stream"]["lat_max_ms"] or 0 for r in rs), default=None)
        s["verify_bad"] = sum(r["verify"]["bad"] for r in rs)
        s["cpu_ticks"] = median([r["cpu_ticks"] for r in rs])
        s["cpu_s_notify_to_end"] = median([r.get("cpu_s_notify_to_end") for r in rs])
        s["rss_per_round"] = [(r.get("mem") or {}).get("VmRSS") for r in rs]
        s["allocated_per_round"] = [r.get("allocated") for r in rs]
        s["transfers"] = sorted({x.get("type", "?") for r in rs for x in r.get("knot_transfers", [])})
        s["log_applied_s"] = median([(r.get("log") or {}).get("applied_s") for r in rs])
        s["log_notify_rx_s"] = median([(r.get("log") or {}).get("notify_rx_s") for r in rs])
        summary[d] = s

    prm = json.loads(args.params) if args.params else {}
    print(f"\n{prm.get('names', '?'):,} triggers, {prm.get('rounds', '?')} rounds of +{prm.get('add', '?'):,}"
          f" / -{prm.get('remove', '?'):,}; mode {prm.get('mode', '?')}; poll every "
          f"{prm.get('interval_ms', '?')} ms; stream {prm.get('stream_qps', '?')} q/s per daemon; "
          f"{prm.get('knotd', '?')}; unbound {prm.get('unbound', '?')}; lanhmanhd {prm.get('lanhmanhd', '?')};"
          f" tree {args.git}")

    print("\nFirst transfer (AXFR), from the exec of the daemon:")
    hdr = ["daemon", "exec→enforcing s", "RSS MiB", "peak MiB", "RSS after rounds MiB",
           "peak after rounds MiB", "transfer"]
    rows = []
    for d in daemons:
        s = summary[d]
        a, b = s.get("axfr") or {}, s.get("after") or {}
        am, bm = a.get("mem") or {}, b.get("mem") or {}
        rows.append([d, fmt("{:.3f}", a.get("blocked_s")),
                     fmt("{:,.1f}", am["VmRSS"] / MiB if am else None),
                     fmt("{:,.1f}", am["VmHWM"] / MiB if am else None),
                     fmt("{:,.1f}", bm["VmRSS"] / MiB if bm else None),
                     fmt("{:,.1f}", bm["VmHWM"] / MiB if bm else None),
                     "/".join(x.get("type", "?") for x in a.get("knot_transfers", [])) or "-"])
    print(table(hdr, rows))

    print(f"\nUpdates: medians of {max(s['rounds'] for s in summary.values())} rounds "
          "(NOTIFY = when knotd's first NOTIFY of the round reached our catcher):")
    hdr = ["daemon"] + [t for _, t in SYNC_ROUND_METRICS] + ["transfer", "CPU s NOTIFY→end",
                                                             "stream sent", "lost", "wrong",
                                                             "max gap ms", "verify bad"]
    rows = []
    for d in daemons:
        s = summary[d]
        rows.append([d] + [fmt("{:.3f}", s[k]) for k, _ in SYNC_ROUND_METRICS] +
                    ["/".join(s["transfers"]) or "?", fmt("{:.2f}", s["cpu_s_notify_to_end"]),
                     fmt("{:,d}", s["sent"]), fmt("{:,d}", s["lost"]), fmt("{:,d}", s["wrong"]),
                     fmt("{:.0f}", s["gap_max_ms"]), fmt("{:,d}", s["verify_bad"])])
    print(table(hdr, rows))
    print("\nPer round, NOTIFY→last new blocked s; VmRSS after the round MiB; transfer:")
    for d in daemons:
        rs = [r for r in rounds if r["daemon"] == d]
        print(f"  {d}: " + ", ".join(fmt("{:.3f}", x) for x in summary[d]["notify_to_last_s_all"])
              + "; " + ", ".join(fmt("{:,.1f}", x / MiB if x else None) for x in summary[d]["rss_per_round"])
              + "; " + ", ".join("/".join(x.get("type", "?") for x in r.get("knot_transfers", [])) or "?"
                                 for r in rs))
        if any(summary[d]["allocated_per_round"]):
            print(f"  {d}, allocated (its status) MiB: " + ", ".join(
                fmt("{:,.1f}", x / MiB if x else None) for x in summary[d]["allocated_per_round"]))
    for d in daemons:
        s = summary[d]
        if s["log_applied_s"] is not None:
            print(f"  {d} (its log): NOTIFY received {fmt('{:+.3f}', s['log_notify_rx_s'])} s, "
                  f"version applied {fmt('{:+.3f}', s['log_applied_s'])} s after the catcher's NOTIFY (medians)")

    ratios = {}
    subj = args.subject
    if subj in summary:
        for peer in daemons:
            if peer == subj:
                continue
            a, b = summary[subj], summary[peer]
            r = {}
            ax, bx = (a.get("axfr") or {}).get("blocked_s"), (b.get("axfr") or {}).get("blocked_s")
            r["axfr_enforcing"] = bx / ax if ax and bx else None
            for key in ("notify_to_first_s", "notify_to_last_s", "notify_to_removed_s"):
                r[key] = b[key] / a[key] if a[key] and b[key] else None
            am = ((a.get("after") or {}).get("mem") or {}).get("VmRSS")
            bm = ((b.get("after") or {}).get("mem") or {}).get("VmRSS")
            r["rss_after"] = bm / am if am and bm else None
            ratios[peer] = r
            print(f"\n{peer}/{subj} (above 1: {subj} is faster or smaller): AXFR exec→enforcing "
                  f"x{fmt('{:.2f}', r['axfr_enforcing'])}; NOTIFY→first x{fmt('{:.2f}', r['notify_to_first_s'])}, "
                  f"→last x{fmt('{:.2f}', r['notify_to_last_s'])}, →removed "
                  f"x{fmt('{:.2f}', r['notify_to_removed_s'])}; RSS after rounds x{fmt('{:.2f}', r['rss_after'])}")

    warnings = []
    for d in daemons:
        s = summary[d]
        if s["lost"]:
            warnings.append(f"{d}: {s['lost']} of {s['sent']} stream queries lost during the updates")
        if s["wrong"]:
            warnings.append(f"{d}: {s['wrong']} stream answers were not the expected ones")
        if s["verify_bad"]:
            warnings.append(f"{d}: {s['verify_bad']} sampled triggers not in the expected state after a round")
        for r in rounds:
            if r["daemon"] == d and (r["notify_to_last_s"] is None or r.get("probe_done_before_notify")):
                warnings.append(f"{d}: round {r['round']}: last={r['notify_to_last_s']}, "
                                f"done before NOTIFY: {r.get('probe_done_before_notify')}")
            if r["daemon"] == d and r.get("log_other"):
                warnings.append(f"{d}: round {r['round']}: its log: {r['log_other']}")
    for w in warnings:
        print("warning: " + w)

    if args.results_dir:
        os.makedirs(args.results_dir, exist_ok=True)
        line = {"bench": "sync",
                "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "host": socket.gethostname(), "git": args.git, "params": prm,
                "summary": summary, "ratios": ratios, "starts": starts, "rounds": rounds,
                "warnings": warnings}
        path = os.path.join(args.results_dir, "sync.jsonl")
        with open(path, "a") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
        print(f"\nappended to {path}")


def cmd_sync_record(args):
    """One start record of bench/sync.sh: the daemon, when (axfr: a second after the first
    blocked answer; after: after the rounds), the startup timer's JSON, its memory, and the last
    transfer knotd logged towards --serial."""
    rec = {"daemon": args.daemon, "when": args.when}
    if args.timer:
        rec.update(json.loads(args.timer))
    rec["mem"] = proc_mem(args.pid)
    rec["cpu_ticks"] = _proc_ticks(args.pid)
    if args.knot_log:
        # the daemons start one after the other: the last transfer logged is this one's
        xf = [x for v in _knot_transfers(args.knot_log, args.serial).values() for x in v]
        rec["knot_transfers"] = xf[-1:]
    print(json.dumps(rec))


# --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("ports")
    p.add_argument("n", type=int)
    p.set_defaults(fn=cmd_ports)

    p = sub.add_parser("gen-zone")
    p.add_argument("--origin", default="bench.test.")
    p.add_argument("--names", type=int, required=True)
    p.add_argument("--ttl", type=int, default=86400)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--zone-file", required=True)
    p.add_argument("--query-file", required=True)
    p.set_defaults(fn=cmd_gen_zone)

    p = sub.add_parser("probe")
    p.add_argument("--what", default="server")
    p.add_argument("--server", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--qname", required=True)
    p.add_argument("--qtype", default="A")
    p.add_argument("--pid", type=int, default=0, help="give up if this process exits")
    p.add_argument("--timeout", type=float, default=20)
    p.set_defaults(fn=cmd_probe)

    p = sub.add_parser("notify-listen")
    p.add_argument("socket")
    p.add_argument("--timeout", type=float, default=30)
    p.set_defaults(fn=cmd_notify_listen)

    p = sub.add_parser("parse-dnsperf")
    p.add_argument("file")
    p.set_defaults(fn=cmd_parse_dnsperf)

    p = sub.add_parser("record")
    p.add_argument("--daemon", required=True)
    p.add_argument("--round", type=int, default=1)
    p.add_argument("--dnsperf-out", required=True)
    p.add_argument("--ticks-before", type=int, required=True)
    p.add_argument("--ticks-after", type=int, required=True)
    p.add_argument("--clk-tck", type=int, required=True)
    p.add_argument("--wall-ns", type=int, required=True)
    p.add_argument("--upstream-queries", type=int, default=None)
    p.add_argument("--udp-drops", type=int, default=None,
                   help="UDP receive-buffer drops (any socket) during the run")
    p.add_argument("--daemon-udp-drops", type=int, default=None,
                   help="of those, drops at the daemon's listening socket(s)")
    p.add_argument("--loadgen-cpu-s", type=float, default=0.0,
                   help="CPU seconds dnsperf itself used")
    p.add_argument("--box-busy-ticks", type=int, default=None,
                   help="busy ticks of all CPUs together during the run (/proc/stat)")
    p.add_argument("--loadavg", default=None)
    p.set_defaults(fn=cmd_record)

    p = sub.add_parser("report")
    p.add_argument("--bench", default="cached")
    p.add_argument("--runs", required=True)
    p.add_argument("--subject", default="lanhmanh")
    p.add_argument("--baseline", default="",
                   help="ratios of every other daemon to this one (instead of subject/peers)")
    p.add_argument("--names", type=int, default=0)
    p.add_argument("--duration", default="?")
    p.add_argument("--results-dir")
    p.add_argument("--git", default="")
    p.add_argument("--params", default="", help="JSON object of the run's parameters")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("gen-list")
    p.add_argument("--names", type=int, required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--domains", required=True)
    p.add_argument("--rpz", required=True)
    p.add_argument("--rpz-origin", default="rpz.bench.")
    p.add_argument("--rpz-wildcards", type=int, default=1,
                   help="1: also '*.name CNAME .' (name and below, like a domains line)")
    p.add_argument("--blocked-file", required=True, help="dnsperf file of listed names")
    p.add_argument("--blocked-queries", type=int, default=100000)
    p.set_defaults(fn=cmd_gen_list)

    p = sub.add_parser("exec-stamp")
    p.add_argument("file")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_exec_stamp)

    p = sub.add_parser("startup-timer")
    p.add_argument("--stamp", required=True)
    p.add_argument("--notify", default="", help="sd_notify socket to bind (lanhmanhd)")
    p.add_argument("--server", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--qname", required=True)
    p.add_argument("--expect", required=True, help="NXDOMAIN, or the sinkhole IPv4 address")
    p.add_argument("--interval", type=float, default=0.002)
    p.add_argument("--set-path", default=None, help="report the RSS of this file's mapping too")
    p.add_argument("--pid", type=int, default=0)
    p.add_argument("--timeout", type=float, default=1800)
    p.set_defaults(fn=cmd_startup_timer)

    p = sub.add_parser("proc-mem")
    p.add_argument("pid", type=int)
    p.add_argument("--set-path", default=None)
    p.set_defaults(fn=cmd_proc_mem)

    p = sub.add_parser("lists-report")
    p.add_argument("--records", required=True)
    p.add_argument("--results-dir")
    p.add_argument("--git", default="")
    p.add_argument("--params", default="")
    p.set_defaults(fn=cmd_lists_report)

    p = sub.add_parser("gen-networks")
    p.add_argument("--networks", type=int, required=True)
    p.add_argument("--prefix", type=int, default=26)
    p.add_argument("--groups", default="mam_non tieu_hoc thcs thpt giao_vien khach")
    p.add_argument("--client-group", default="tieu_hoc")
    p.add_argument("--yaml", required=True, help="the networks: section")
    p.add_argument("--mmdb-input", default="", help="the same ranges for make_mmdb.pl")
    p.set_defaults(fn=cmd_gen_networks)

    p = sub.add_parser("ask")
    p.add_argument("--server", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--source", default="127.0.0.1")
    p.add_argument("--timeout", type=float, default=3)
    p.add_argument("--check", action="append", default=[], help="NAME=EXPECT (repeatable)")
    p.set_defaults(fn=cmd_ask)

    def sync_zone_args(p):
        p.add_argument("--names", type=int, required=True)
        p.add_argument("--seed", type=int, default=7)
        p.add_argument("--origin", default="rpz.national.test.")
        p.add_argument("--rounds", type=int, required=True)
        p.add_argument("--add", type=int, required=True)
        p.add_argument("--remove", type=int, required=True)
        p.add_argument("--wildcards", type=int, default=0)
        p.add_argument("--zone-file", dest="zone_file", required=True)

    p = sub.add_parser("sync-zone")
    sync_zone_args(p)
    p.add_argument("--version", type=int, default=0)
    p.set_defaults(fn=cmd_sync_zone)

    p = sub.add_parser("sync-rounds")
    sync_zone_args(p)
    p.add_argument("--knotc", default="knotc")
    p.add_argument("--knot-socket", required=True)
    p.add_argument("--knot-log", default="")
    p.add_argument("--catcher-port", type=int, required=True,
                   help="knotd's first notify remote: stamps the NOTIFY")
    p.add_argument("--target", action="append", required=True,
                   help="NAME,PORT,PID[,LANHMANHD_LOG,CONTROL_SOCKET] (repeatable; the log and "
                        "the control socket for lanhmanhd)")
    p.add_argument("--lanhmanh", default="", help="the lanhmanh command (status: allocated)")
    p.add_argument("--interval", type=float, default=0.01)
    p.add_argument("--stream-qps", type=float, default=200)
    p.add_argument("--stream-tail", type=float, default=2.0,
                   help="seconds the stream goes on after the last probe is enforced")
    p.add_argument("--verify", type=int, default=1000)
    p.add_argument("--settle", type=float, default=2.0)
    p.add_argument("--timeout", type=float, default=180)
    p.set_defaults(fn=cmd_sync_rounds)

    p = sub.add_parser("sync-record")
    p.add_argument("--daemon", required=True)
    p.add_argument("--when", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--timer", default="")
    p.add_argument("--knot-log", default="")
    p.add_argument("--serial", type=int, default=1)
    p.set_defaults(fn=cmd_sync_record)

    p = sub.add_parser("sync-report")
    p.add_argument("--starts", required=True)
    p.add_argument("--rounds", required=True)
    p.add_argument("--subject", default="lanhmanh")
    p.add_argument("--results-dir")
    p.add_argument("--git", default="")
    p.add_argument("--params", default="")
    p.set_defaults(fn=cmd_sync_report)

    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
