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

    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
