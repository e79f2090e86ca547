#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/recursive.sh's parts in Python: the fake DNS tree and the report.

Run with Debian's /usr/bin/python3. Subcommands:

  tree ...     write the zones, one nsd config per server address, the root hints, the query
               file and the answer checks of a private DNS tree on loopback
  stall ...    stop one server (SIGSTOP) while a resolver waits for it: what does it answer, when
  cpu PID...   CPU ticks of processes and all their descendants (the nsd servers)
  sniff ...    diagnostics: every query to the tree seen on lo (AF_PACKET), one line each
  report ...   the cold and warm runs (benchlib record lines) -> tables, medians, ratios, and one
               JSON line in RESULTS_DIR/recursive.jsonl

The tree (every server on port 53 of its own loopback address, TTL one day everywhere):

  127.0.1.1      the root zone "."; its server's name ns1.root. is in the root zone itself
  127.0.2.1-3    the TLDs vn., com., net. (one server each, ns1.nic.TLD with glue in the root)
  127.0.3.1-4    N second-level zones zNNNNN-WORD.TLD, zone i on server i % 4, spread over the
                 three TLDs; per zone the A names www, mail, h1..hK. Most zones are delegated with
                 in-bailiwick glue (ns1.ZONE); GLUELESS of those under vn. and com. (10 % of all
                 zones by default) name ns.dnsK.net. instead, a name under another TLD, so that the
                 referral has no glue and the resolver must resolve the server's name first
                 (dnsK.net. is a zone of server K, delegated with glue). In CNAME of the zones
                 (10 %), www is a CNAME to the www of another zone.

Every A record's address is 10.(i >> 8).(i & 255).(j + 1) for zone i and name j (the apex:
.254), so a check knows what to expect.
"""

import argparse
import datetime
import json
import math
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (median, fmt, table: the same arithmetic as the other reports)

TTL = 86400
ROOT = ("127.0.1.1", "ns1.root.")
TLDS = [("vn.", "127.0.2.1"), ("com.", "127.0.2.2"), ("net.", "127.0.2.3")]
SLD_SERVERS = ["127.0.3.1", "127.0.3.2", "127.0.3.3", "127.0.3.4"]
WORDS = ("truong hoc bao tin nha sach viet nam shop cdn news mail cloud game phim ca phe "
         "thao da bong ngan hang dien may xe du lich").split()


def soa(origin, ns):
    return f"{origin} {TTL} IN SOA {ns} hostmaster.{origin if origin != '.' else 'root.'} 1 3600 900 604800 3600\n"


def cmd_tree(args):
    rnd = random.Random(args.seed)
    n = args.zones
    per_zone = max(1, math.ceil(args.names / n))  # names per zone: www, mail, h1..
    labels = ["www", "mail"] + [f"h{k}" for k in range(1, max(0, per_zone - 2) + 1)]
    out = args.dir
    os.makedirs(out, exist_ok=True)

    zones = []  # (origin, server index, glueless, cname target zone index or None)
    for i in range(n):
        tld = TLDS[i % len(TLDS)][0]
        name = f"z{i:05d}-{rnd.choice(WORDS)}{rnd.choice(WORDS)}.{tld}"
        # glueless: only under a TLD other than the hosting zones' (net.), so that no server on
        # the way can add the address; drawn so that args.glueless of all zones are
        glueless = tld != "net." and rnd.random() < args.glueless * len(TLDS) / (len(TLDS) - 1)
        zones.append([name, i % len(SLD_SERVERS), glueless, None])
    plain = [i for i in range(n)]
    for i in range(n):
        if rnd.random() < args.cname:
            zones[i][3] = -1  # decided below: the target must not be a CNAME itself
    targets = [i for i in plain if zones[i][3] is None]
    for i in range(n):
        if zones[i][3] == -1:
            t = rnd.choice(targets)
            while t == i:
                t = rnd.choice(targets)
            zones[i][3] = t

    def addr(i, j):
        return f"10.{i >> 8 & 255}.{i & 255}.{j + 1}"

    hosting = [f"dns{k + 1}.net." for k in range(len(SLD_SERVERS))]

    # per server: list of (origin, file)
    servers = {ROOT[0]: [], **{a: [] for _, a in TLDS}, **{a: [] for a in SLD_SERVERS}}

    def write_zone(server, origin, text):
        fn = os.path.join(out, "zones", (origin.rstrip(".") or "root") + ".zone")
        os.makedirs(os.path.dirname(fn), exist_ok=True)
        with open(fn, "w") as f:
            f.write(text)
        servers[server].append((origin, fn))

    # root
    t = [f"$TTL {TTL}\n", soa(".", ROOT[1]), f". NS {ROOT[1]}\n", f"{ROOT[1]} A {ROOT[0]}\n",
         "ready. A 192.0.2.53\n"]  # the readiness probe: answered by the root itself
    for tld, a in TLDS:
        t += [f"{tld} NS ns1.nic.{tld}\n", f"ns1.nic.{tld} A {a}\n"]
    write_zone(ROOT[0], ".", "".join(t))
    # TLDs
    tld_text = {tld: [f"$TTL {TTL}\n", soa(tld, f"ns1.nic.{tld}"), f"{tld} NS ns1.nic.{tld}\n",
                      f"ns1.nic.{tld} A {a}\n"] for tld, a in TLDS}
    for k, h in enumerate(hosting):
        tld_text["net."] += [f"{h} NS ns.{h}\n", f"ns.{h} A {SLD_SERVERS[k]}\n"]
        write_zone(SLD_SERVERS[k], h, f"$TTL {TTL}\n" + soa(h, f"ns.{h}") +
                   f"{h} NS ns.{h}\nns.{h} A {SLD_SERVERS[k]}\n")
    for i, (origin, k, glueless, cname) in enumerate(zones):
        tld = origin.split(".", 1)[1]
        if glueless:
            ns = f"ns.{hosting[k]}"
            tld_text[tld].append(f"{origin} NS {ns}\n")
        else:
            ns = f"ns1.{origin}"
            tld_text[tld] += [f"{origin} NS {ns}\n", f"{ns} A {SLD_SERVERS[k]}\n"]
        z = [f"$TTL {TTL}\n", soa(origin, ns), f"{origin} NS {ns}\n"]
        if not glueless:
            z.append(f"{ns} A {SLD_SERVERS[k]}\n")
        z.append(f"{origin} A {addr(i, 253)}\n")
        for j, lab in enumerate(labels):
            if lab == "www" and cname is not None:
                z.append(f"www.{origin} CNAME www.{zones[cname][0]}\n")
            else:
                z.append(f"{lab}.{origin} A {addr(i, j)}\n")
        write_zone(SLD_SERVERS[k], origin, "".join(z))
    for tld, a in TLDS:
        write_zone(a, tld, "".join(tld_text[tld]))

    # one nsd config per server address
    manifest = []
    for a, zl in servers.items():
        d = os.path.join(out, "nsd-" + a)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "nsd.conf"), "w") as f:
            f.write(f"""server:
  ip-address: {a}@{args.port}
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  database: ""
  zonesdir: "{d}"
  zonelistfile: "{d}/zone.list"
  xfrdfile: "{d}/xfrd.state"
  xfrdir: "{d}"
  pidfile: "{d}/nsd.pid"
  logfile: "{d}/nsd.log"
  verbosity: 1
  hide-version: yes
  # nsd's response rate limiting (200/s per /24) would drop a resolver's cold burst
  rrl-ratelimit: 0
remote-control:
  control-enable: yes
  control-interface: "{d}/nsd.ctl"
""")
            for origin, fn in zl:
                f.write(f'zone:\n  name: "{origin}"\n  zonefile: "{fn}"\n')
        manifest.append({"addr": a, "dir": d, "zones": len(zl), "probe": zl[0][0]})

    with open(os.path.join(out, "root.hints"), "w") as f:
        f.write(f".  3600000  NS  {ROOT[1]}\n{ROOT[1]}  3600000  A  {ROOT[0]}\n")

    # the query file: M distinct names in a fixed shuffled order
    names = [(f"{lab}.{z[0]}", i, j) for i, z in enumerate(zones) for j, lab in enumerate(labels)]
    rnd.shuffle(names)
    if args.names > len(names):
        benchlib.die(f"only {len(names)} names in the tree")
    names = names[:args.names]
    with open(args.query_file, "w") as f:
        for q, _, _ in names:
            f.write(f"{q} A\n")
    cname_q = sum(1 for q, i, j in names if labels[j] == "www" and zones[i][3] is not None)
    glueless_q = sum(1 for q, i, j in names if zones[i][2])

    # checks: a glued zone under each TLD, a CNAME across zones, two glueless zones, an NXDOMAIN
    def expect(i, j):
        if labels[j] == "www" and zones[i][3] is not None:
            return addr(zones[i][3], 0)
        return addr(i, j)
    checks = []
    for tld, _ in TLDS:
        i = next(i for i, z in enumerate(zones) if z[0].endswith("." + tld) and not z[2] and z[3] is None)
        checks.append(f"www.{zones[i][0]}={expect(i, 0)}")
    c = [i for i, z in enumerate(zones) if z[3] is not None]
    g = [i for i, z in enumerate(zones) if z[2] and z[3] is None]
    gc = [i for i, z in enumerate(zones) if z[2] and z[3] is not None]
    for i in c[:1] + g[:2] + gc[:1]:
        checks.append(f"www.{zones[i][0]}={expect(i, 0)}")
    checks.append(f"mail.{zones[g[-1]][0]}={expect(g[-1], 1)}" if g else "")
    checks.append(f"nosuch.{zones[0][0]}=NXDOMAIN")
    checks = [x for x in checks if x]
    # the stall check: two glued zones of one second-level server, not used by the checks above
    used = {c.split("=")[0].split(".", 1)[1] for c in checks}
    k = len(SLD_SERVERS) - 2
    pair = [i for i, z in enumerate(zones) if z[1] == k and not z[2] and z[3] is None
            and z[0] not in used][:2]
    stall = (SLD_SERVERS[k], f"www.{zones[pair[0]][0]}", f"www.{zones[pair[1]][0]}",
             addr(pair[1], 0)) if len(pair) == 2 else None

    info = {"zones": n, "glueless_zones": sum(1 for z in zones if z[2]),
            "cname_zones": sum(1 for z in zones if z[3] is not None), "names_per_zone": len(labels),
            "names": len(names), "cname_queries": cname_q, "glueless_queries": glueless_q,
            "servers": manifest, "checks": checks, "probe": "ready.",
            "root_hints": os.path.join(out, "root.hints")}
    with open(os.path.join(out, "tree.json"), "w") as f:
        json.dump(info, f, indent=1)
    # for the shell: one line per server, then the checks
    for m in manifest:
        print("server", m["addr"], m["dir"], m["probe"], m["zones"])
    for ch in checks:
        print("check", ch)
    if stall:
        print("stall", *stall)
    print("info", json.dumps({k: v for k, v in info.items() if k not in ("servers", "checks")}))


# --------------------------------------------------------------------------------------------
# one server stalls

def _descendants(roots):
    ppid = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/stat") as f:
                    ppid[int(e)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
    mine = {p for p in roots if p in ppid}
    grown = True
    while grown:
        new = {p for p, pp in ppid.items() if pp in mine and p not in mine}
        mine |= new
        grown = bool(new)
    return mine


def cmd_stall(args):
    """Ask --prime (its server's round-trip time is then known), then stop the server's processes
    (--pid and its descendants: nsd's xfrd, main and server) with SIGSTOP for --ms, ask --name (a
    zone of the same server, not cached) meanwhile, and say what the resolver answered and when.
    A resolver that waits for, or asks again, a server that is late (a lost packet, a busy
    server) answers after about --ms; one that gives up on it answers SERVFAIL. Prints one line
    and a JSON object; exit 0 either way (1 only when the resolver gave no answer at all)."""
    import signal
    import threading
    import dns.message
    import dns.query
    import dns.rcode
    def ask(name):
        t = time.monotonic()
        r = dns.query.udp(dns.message.make_query(name, "A", use_edns=0), "127.0.0.1",
                          port=args.port, timeout=args.timeout)
        addrs = [a.address for rr in r.answer if rr.rdtype == 1 for a in rr]
        ede = [f"EDE {o.code}: {o.text}" for o in r.options if o.otype == 15]
        return dns.rcode.to_text(r.rcode()), addrs, ede, (time.monotonic() - t) * 1e3
    ask(args.prime)
    pids = sorted(_descendants([args.pid]))
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    cont = threading.Timer(args.ms / 1e3, lambda: [os.kill(p, signal.SIGCONT) for p in pids])
    cont.start()
    try:
        rc, addrs, ede, ms = ask(args.name)
    except Exception as e:
        cont.join()
        print(f"  {args.what}: {args.name}, its server stopped for {args.ms} ms: no answer ({type(e).__name__})")
        print(json.dumps({"daemon": args.what, "stall_ms": args.ms, "rcode": None}))
        sys.exit(1)
    cont.join()
    ok = args.expect in addrs
    print(f"  {args.what}: {args.name}, its server stopped for {args.ms} ms: {rc} "
          f"{','.join(addrs) or '-'} after {ms:.0f} ms" + (f" ({'; '.join(ede)})" if ede else "")
          + ("" if ok else f" (expected {args.expect})"))
    print(json.dumps({"daemon": args.what, "stall_ms": args.ms, "name": args.name, "rcode": rc,
                      "ok": ok, "ms": round(ms, 1), "ede": ede}))


# --------------------------------------------------------------------------------------------
# the tree's CPU time

def cmd_cpu(args):
    """utime + stime (clock ticks) of the given processes and all their descendants (nsd forks
    its server and xfrd processes), summed."""
    total = 0
    for p in _descendants(args.pids):
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
            total += int(st[11]) + int(st[12])
        except (OSError, IndexError):
            continue  # gone meanwhile
    print(total)


# --------------------------------------------------------------------------------------------
# diagnostics: what the resolver asked the tree

def cmd_sniff(args):
    """Until SIGTERM (and the socket is drained): every UDP query (and TCP SYN) to port --port of an address of the tree
    (127.0.1-3.x), seen on lo through an AF_PACKET socket, one line each to stdout:
    'SECONDS DST QNAME QTYPE' (or 'SECONDS DST tcp-syn'). For diagnostic runs only: it costs
    CPU on the load generator's core."""
    import signal
    import struct
    import dns.message
    import dns.rdatatype
    # SIGTERM: read what the socket still holds, then stop (when it stays empty for 0.3 s)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    # Only IPv4 UDP/TCP to the port, unfragmented, in the kernel (classic BPF, the code of
    # `tcpdump -dd 'ip and (udp or tcp) and dst port 53'`): python would miss packets otherwise.
    import ctypes
    prog = [(0x28, 0, 0, 12), (0x15, 0, 8, 0x0800), (0x30, 0, 0, 23), (0x15, 1, 0, 17),
            (0x15, 0, 5, 6), (0x28, 0, 0, 20), (0x45, 3, 0, 0x1fff), (0xb1, 0, 0, 14),
            (0x48, 0, 0, 16), (0x15, 1, 0, args.port), (0x06, 0, 0, 0), (0x06, 0, 0, 262144)]
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in prog))
    s.setsockopt(socket.SOL_SOCKET, 26,  # SO_ATTACH_FILTER
                 struct.pack("HL", len(prog), ctypes.addressof(code)))
    s.bind(("lo", 0))
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE (root)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    t0 = time.monotonic()
    out = sys.stdout
    s.settimeout(0.3)
    try:
        while True:
            try:
                pkt, addr = s.recvfrom(65535)
            except (socket.timeout, InterruptedError):
                if stop:
                    break
                continue
            if addr[2] != socket.PACKET_HOST:  # lo shows each packet twice: keep the received one
                continue
            ip = pkt[14:]
            if len(ip) < 20 or ip[0] >> 4 != 4:
                continue
            ihl = (ip[0] & 15) * 4
            proto, dst = ip[9], ip[16:20]
            if dst[0] != 127 or dst[1] != 0 or dst[2] not in (1, 2, 3):
                continue
            l4 = ip[ihl:]
            if len(l4) < 8:
                continue
            dport = struct.unpack("!H", l4[2:4])[0]
            if dport != args.port:
                continue
            d = ".".join(map(str, dst))
            t = time.monotonic() - t0
            if proto == 17:
                try:
                    m = dns.message.from_wire(l4[8:])
                    q = m.question[0]
                    out.write(f"{t:.6f} {d} {q.name.to_text().lower()} {dns.rdatatype.to_text(q.rdtype)}\n")
                except Exception as e:
                    out.write(f"{t:.6f} {d} unparsable {type(e).__name__}\n")
            elif proto == 6 and l4[13] & 0x02 and not l4[13] & 0x10:
                out.write(f"{t:.6f} {d} tcp-syn\n")
    finally:
        out.flush()


# --------------------------------------------------------------------------------------------
# report

COLD = [  # key, title, format
    ("sent", "sent", "{:,d}"),
    ("completion", "answered", "{:.2%}"),
    ("lost", "lost", "{:,d}"),
    ("servfail", "SERVFAIL", "{:,d}"),
    ("other_rcode", "other rcode", "{:,d}"),
    ("run_time_s", "run s", "{:.2f}"),
    ("qps", "queries/s", "{:,.0f}"),
    ("cpu_us_per_q", "CPU-µs/query", "{:.1f}"),
    ("q_per_cpu_s", "queries/CPU-s", "{:,.0f}"),
    ("cpu_us_per_q_exact", "CPU-µs/q exact", "{:.1f}"),
    ("q_per_cpu_s_exact", "q/CPU-s exact", "{:,.0f}"),
    ("cpu_util", "daemon CPU", "{:.0%}"),
    ("tree_cpu_util", "nsd CPU", "{:.0%}"),
    ("others_cpu_util", "others CPU", "{:.0%}"),
    ("upstream_queries", "tree queries", "{:,d}"),
    ("tree_root", "root", "{:,d}"),
    ("tree_tld", "TLDs", "{:,d}"),
    ("tree_sld", "2nd level", "{:,d}"),
    ("tree_per_q", "tree q/name", "{:.2f}"),
    ("latency_avg_ms", "avg latency ms", "{:.1f}"),
]
WARM = [
    ("qps", "queries/s", "{:,.0f}"),
    ("cpu_us_per_q", "CPU-µs/query", "{:.2f}"),
    ("q_per_cpu_s", "queries/CPU-s", "{:,.0f}"),
    ("cpu_us_per_q_exact", "CPU-µs/q exact", "{:.2f}"),
    ("q_per_cpu_s_exact", "q/CPU-s exact", "{:,.0f}"),
    ("cpu_util", "daemon CPU", "{:.0%}"),
    ("loadgen_cpu_util", "dnsperf CPU", "{:.0%}"),
    ("others_cpu_util", "others CPU", "{:.0%}"),
    ("lost", "lost", "{:,d}"),
    ("servfail", "SERVFAIL", "{:,d}"),
    ("udp_drops", "UDP drops", "{:,d}"),
    ("upstream_queries", "tree queries", "{:,d}"),
]


def _load(path, tiers=None):
    runs = []
    if os.path.exists(path):
        with open(path) as f:
            runs = [json.loads(x) for x in f if x.strip()]
    for r in runs:
        t = next((t for t in tiers or [] if t["daemon"] == r["daemon"] and t["round"] == r["round"]), None)
        if t:
            for k in ("root", "tld", "sld"):
                r["tree_" + k] = t["tiers"][k]
            r["tree_cpu_s"] = t["tree_cpu_ticks"] / t["clk_tck"]
            if t.get("daemon_run_ns") and r["completed"]:
                # the same figures from the scheduler's exact run time (schedstat)
                r["cpu_us_per_q_exact"] = t["daemon_run_ns"] / 1e3 / r["completed"]
                r["q_per_cpu_s_exact"] = r["completed"] / (t["daemon_run_ns"] / 1e9)
            r["tree_cpu_util"] = r["tree_cpu_s"] / r["wall_s"] if r["wall_s"] else None
            # "others" of benchlib record counts the tree's servers too: leave them out
            if r.get("others_cpu_util") is not None and r["tree_cpu_util"] is not None:
                r["others_cpu_util"] = max(0.0, r["others_cpu_util"] - r["tree_cpu_util"])
        rc = r.get("rcodes", {})
        r["servfail"] = rc.get("SERVFAIL", 0)
        r["other_rcode"] = sum(v for k, v in rc.items() if k not in ("NOERROR", "SERVFAIL"))
        r["completion"] = r["completed"] / r["sent"] if r["sent"] else None
        up = r.get("upstream_queries")
        r["tree_per_q"] = up / r["sent"] if up is not None and up >= 0 and r["sent"] else None
    return runs


def _phase(title, runs, metrics, daemons, subj):
    summary, ratios = {}, {}
    if not runs:
        return summary, ratios
    rounds = max(r["round"] for r in runs)
    print(f"\n{title}, per run:")
    print(benchlib.table(["round", "daemon"] + [t for _, t, _ in metrics],
                         [[r["round"], r["daemon"]] + [benchlib.fmt(f, r.get(k)) for k, _, f in metrics]
                          for r in runs]))
    for d in daemons:
        rs = [r for r in runs if r["daemon"] == d]
        summary[d] = {k: benchlib.median([r.get(k) for r in rs]) for k, _, _ in metrics}
        summary[d]["runs"] = len(rs)
        rc = {}
        for r in rs:
            for k, v in r.get("rcodes", {}).items():
                rc[k] = rc.get(k, 0) + v
        summary[d]["rcodes_total"] = rc
    print(f"\n{title}, median of {rounds} round(s):")
    print(benchlib.table(["daemon"] + [t for _, t, _ in metrics],
                         [[d] + [benchlib.fmt(f, summary[d].get(k)) for k, _, f in metrics]
                          for d in daemons if d in summary]))
    if subj in summary:
        for peer in daemons:
            if peer == subj or peer not in summary:
                continue
            s, p = summary[subj], summary[peer]
            r = {k: (s[k] / p[k] if s.get(k) and p.get(k) else None)
                 for k in ("qps", "q_per_cpu_s", "q_per_cpu_s_exact", "upstream_queries")}
            per_round, per_round_x = [], []
            for rnd in range(1, rounds + 1):
                a = [x for x in runs if x["daemon"] == subj and x["round"] == rnd]
                b = [x for x in runs if x["daemon"] == peer and x["round"] == rnd]
                if a and b and a[0]["q_per_cpu_s"] and b[0]["q_per_cpu_s"]:
                    per_round.append(a[0]["q_per_cpu_s"] / b[0]["q_per_cpu_s"])
                if a and b and a[0].get("q_per_cpu_s_exact") and b[0].get("q_per_cpu_s_exact"):
                    per_round_x.append(a[0]["q_per_cpu_s_exact"] / b[0]["q_per_cpu_s_exact"])
            r["q_per_cpu_s_per_round"] = per_round
            r["q_per_cpu_s_exact_per_round"] = per_round_x
            ratios[peer] = r
            print(f"{subj}/{peer}: queries/s x{benchlib.fmt('{:.2f}', r['qps'])}, queries per CPU-second "
                  f"x{benchlib.fmt('{:.2f}', r['q_per_cpu_s'])} (per round: "
                  + ", ".join(f"{x:.2f}" for x in per_round) + f"; exact x{benchlib.fmt('{:.2f}', r['q_per_cpu_s_exact'])}: "
                  + ", ".join(f"{x:.2f}" for x in per_round_x) + ")"
                  + (f", tree queries x{benchlib.fmt('{:.2f}', r['upstream_queries'])}"
                     if r.get("upstream_queries") else ""))
    return summary, ratios


def cmd_report(args):
    extra = []
    if args.extra and os.path.exists(args.extra):
        with open(args.extra) as f:
            extra = [json.loads(x) for x in f if x.strip()]
    cold = _load(args.cold, [x for x in extra if x["phase"] == "cold"])
    warm = _load(args.warm, [x for x in extra if x["phase"] == "warm"])
    if not cold and not warm:
        benchlib.die("no runs recorded")
    daemons = []
    for r in cold + warm:
        if r["daemon"] not in daemons:
            daemons.append(r["daemon"])
    prm = json.loads(args.params) if args.params else {}
    tree = json.loads(args.tree) if args.tree else {}
    print(f"\n{prm.get('cpus', '?')} CPUs ({prm.get('cpu_model', '?')}), "
          f"{'pinned' if prm.get('pinned') else 'not pinned'}; dnsperf {prm.get('dnsperf', '?')}; "
          f"unbound {prm.get('unbound', '?')}; {prm.get('nsd', '?')}; lanhmanhd: {prm.get('lanhmanhd', '-')}; "
          f"tree {args.git}")
    print(f"Tree: {tree.get('zones', '?')} zones ({tree.get('glueless_zones', '?')} glueless, "
          f"{tree.get('cname_zones', '?')} with www a CNAME to another zone); query file "
          f"{tree.get('names', '?')} names ({tree.get('glueless_queries', '?')} in glueless zones, "
          f"{tree.get('cname_queries', '?')} CNAMEs)")
    cs, cr = _phase(f"Cold cache: every name once (dnsperf -n 1 -c {prm.get('clients', '?')} "
                    f"-q {prm.get('cold_outstanding', '?')})", cold, COLD, daemons, args.subject)
    ws, wr = _phase(f"Warm cache: the same names for {prm.get('duration_s', '?')} s (dnsperf -l "
                    f"-c {prm.get('clients', '?')} -q {prm.get('outstanding', '?')})", warm, WARM,
                    daemons, args.subject)
    stall = []
    if args.stall and os.path.exists(args.stall):
        with open(args.stall) as f:
            stall = [json.loads(x) for x in f if x.strip()]
    if stall:
        print("\nA second-level server stopped (SIGSTOP) while one of its names is asked:")
        print(benchlib.table(["daemon", "stopped ms", "rcode", "answered after ms", "EDE"],
                             [[x["daemon"], x["stall_ms"], x.get("rcode") or "no answer",
                               benchlib.fmt("{:.0f}", x.get("ms")), "; ".join(x.get("ede") or []) or "-"]
                              for x in stall]))
    warnings = []
    for x in stall:
        if not x.get("ok"):
            warnings.append(f"{x['daemon']}: {x.get('rcode') or 'no answer'} for a name whose server was "
                            f"stopped for {x['stall_ms']} ms" + (f" ({'; '.join(x['ede'])})" if x.get("ede") else ""))
    for d in daemons:
        for r in cold:
            if r["daemon"] != d:
                continue
            if r["lost"] or r["servfail"] or r["other_rcode"]:
                warnings.append(f"{d}: cold round {r['round']}: {r['lost']} lost, {r['servfail']} SERVFAIL, "
                                f"rcodes {r['rcodes']}")
            if r["cpu_ticks"] < 100:
                warnings.append(f"{d}: cold round {r['round']}: only {r['cpu_ticks']} CPU ticks: the tick figures "
                                "are coarse (the exact columns are from schedstat)")
        for r in warm:
            if r["daemon"] != d:
                continue
            if r["lost"] or r["servfail"]:
                warnings.append(f"{d}: warm round {r['round']}: {r['lost']} lost, {r['servfail']} SERVFAIL")
            if r.get("upstream_queries") and r["upstream_queries"] > 0:
                warnings.append(f"{d}: warm round {r['round']}: the tree saw {r['upstream_queries']} "
                                "queries: not every answer came from the cache")
        # A cold run's "others" holds the kernel's own work for the tree's traffic (softirq on
        # an idle CPU): 30-45 % of a core on a quiet box. A warm run's is near 0 when quiet.
        for runs, phase, limit in ((cold, "cold", 0.60), (warm, "warm", 0.10)):
            oth = [r.get("others_cpu_util") for r in runs
                   if r["daemon"] == d and r.get("others_cpu_util") is not None]
            if oth and max(oth) > limit:
                warnings.append(f"{d}: others used up to {max(oth):.0%} of a core during a {phase} run "
                                f"(above {limit:.0%}): the box was not quiet, figures are noisy")
    for w in args.warning:
        warnings.append(w)
    for w in warnings:
        print("warning: " + w)
    if args.results_dir:
        os.makedirs(args.results_dir, exist_ok=True)
        line = {"bench": "recursive",
                "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "host": socket.gethostname(), "git": args.git, "params": prm, "tree": tree,
                "summary": {"cold": cs, "warm": ws}, "ratios": {"cold": cr, "warm": wr}, "stall": stall,
                "runs": {"cold": cold, "warm": warm}, "warnings": warnings}
        path = os.path.join(args.results_dir, "recursive.jsonl")
        with open(path, "a") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
        print(f"\nappended to {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("tree")
    p.add_argument("--dir", required=True)
    p.add_argument("--zones", type=int, default=2000)
    p.add_argument("--names", type=int, default=10000, help="names in the query file")
    p.add_argument("--glueless", type=float, default=0.10, help="share of zones without glue")
    p.add_argument("--cname", type=float, default=0.10, help="share of zones whose www is a CNAME")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--query-file", required=True)
    p.set_defaults(fn=cmd_tree)
    p = sub.add_parser("sniff")
    p.add_argument("--port", type=int, default=53)
    p.set_defaults(fn=cmd_sniff)
    p = sub.add_parser("stall")
    p.add_argument("--what", default="resolver")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--prime", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--expect", required=True)
    p.add_argument("--pid", type=int, required=True, help="the stalled server (and its children)")
    p.add_argument("--ms", type=int, default=300)
    p.add_argument("--timeout", type=float, default=6)
    p.set_defaults(fn=cmd_stall)
    p = sub.add_parser("cpu")
    p.add_argument("pids", type=int, nargs="+")
    p.set_defaults(fn=cmd_cpu)
    p = sub.add_parser("report")
    p.add_argument("--cold", required=True)
    p.add_argument("--warm", required=True)
    p.add_argument("--stall", default="", help="the stall checks (JSON lines)")
    p.add_argument("--extra", default="",
                   help="queries and CPU of the tree, the daemon's exact CPU time, during each run")
    p.add_argument("--subject", default="lanhmanh")
    p.add_argument("--results-dir")
    p.add_argument("--git", default="")
    p.add_argument("--params", default="")
    p.add_argument("--tree", default="")
    p.add_argument("--warning", action="append", default=[])
    p.set_defaults(fn=cmd_report)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
