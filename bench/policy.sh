#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck source-path=SCRIPTDIR
#
# Policy overhead: the cached-name throughput of lanhmanhd with a realistic policy loaded (100,000
# CIDR networks in 6 groups with schedules, allow/deny names and safe search, and a 1M-name list
# split over 4 categories) against the bare core (one network 127.0.0.0/8, no list: the config
# of cached.sh), and optionally with the same networks as an MMDB file. Same nsd, same cached
# names, same dnsperf settings, same client address. See bench/README.md, "Policy overhead".
#
#   bench/policy.sh                    one run of each configuration
#   bench/policy.sh --interleave       3 rounds, A B C A B C A B C, medians
#
# Settings (environment): LANHMANHD, NAMES, NETWORKS, PREFIX, LIST_NAMES, DURATION, ROUNDS, MMDB,
# PERF, CLIENTS, OUTSTANDING, PIN, RESULTS_DIR, KEEP_TMP, DNSPERF_ARGS. --help lists them.

set -uo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/daemons.sh
. "$BENCH_LIB/daemons.sh"
# shellcheck source=lib/measure.sh
. "$BENCH_LIB/measure.sh"

usage() {
	cat <<-EOF
		usage: bench/policy.sh [--interleave] [--rounds N] [--duration S] [--networks N]
		                       [--list-names N] [--no-mmdb] [--no-stats] [--no-perf]

		Runs dnsperf, from one client address, on names already cached, against lanhmanhd in
		two or three configurations, all forwarding to one nsd with one worker thread:
		  core         one network 127.0.0.0/8 without a group, no list (as bench/cached.sh)
		  policy       NETWORKS CIDR networks in 6 groups (one per preset) with schedules,
		               allow/deny names, safe search; a LIST_NAMES-name list in 4 categories;
		               the client is in a tieu_hoc network
		  policy-mmdb  the same, the networks as an MMDB file (tests/lib/make_mmdb.pl)
		  policy-stats policy, counting the compliance statistics (compliance: interval 1m)
		and prints queries/s, daemon CPU-µs per query, queries per daemon CPU-second, RSS, and
		the ratios to core. A JSON line per invocation goes to bench/results/policy.jsonl.

		  --interleave     ROUNDS=3 (unless set): one run of each per round; medians
		  --rounds N       rounds
		  --duration S     seconds per dnsperf run (DURATION, default 10)
		  --networks N     CIDR networks (NETWORKS, default 100000; at most 262144 of /26)
		  --list-names N   names in the list (LIST_NAMES, default 1000000)
		  --no-mmdb        leave policy-mmdb out (MMDB=0)
		  --no-stats       leave policy-stats out (STATS=0)
		  --no-perf        no profile (PERF=0)

		Environment:
		  LANHMANHD=PATH     the daemon (default build-release/resolver/lanhmanhd, then build/…);
		                     the lanhmanh command next to it is used too
		  NAMES=10000        cached names (the zone and the query file, as cached.sh)
		  PREFIX=26          prefix length of the generated networks
		  PERF=1             after the rounds, one more run each of core and policy under
		                     perf record -g (self-time top symbols to bench/results/policy-perf.txt)
		  CLIENTS=8 OUTSTANDING=100 PIN=1 KEEP_TMP=1 DNSPERF_ARGS=…   as for cached.sh
		  READY_TIMEOUT=120  seconds to wait for each daemon to answer
	EOF
}

NAMES=${NAMES:-10000}
NETWORKS=${NETWORKS:-100000}
PREFIX=${PREFIX:-26}
LIST_NAMES=${LIST_NAMES:-1000000}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-8}
OUTSTANDING=${OUTSTANDING:-100}
MMDB=${MMDB:-1}
STATS=${STATS:-1}
PERF=${PERF:-1}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
READY_TIMEOUT=${READY_TIMEOUT:-120}
SINKHOLE=10.10.10.10
interleave=0
while (($#)); do
	case $1 in
	--interleave) interleave=1 ;;
	--rounds) ROUNDS=${2:?}; shift ;;
	--duration) DURATION=${2:?}; shift ;;
	--networks) NETWORKS=${2:?}; shift ;;
	--list-names) LIST_NAMES=${2:?}; shift ;;
	--no-mmdb) MMDB=0 ;;
	--no-stats) STATS=0 ;;
	--no-perf) PERF=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; bench_die "unknown argument '$1'" ;;
	esac
	shift
done
if [[ -z ${ROUNDS:-} ]]; then
	if ((interleave)); then ROUNDS=3; else ROUNDS=1; fi
fi
for v in NAMES NETWORKS PREFIX LIST_NAMES DURATION CLIENTS OUTSTANDING ROUNDS READY_TIMEOUT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer, not '${!v}'"
done
# The list is split into 4 categories, a name of each is used to check the policy.
((LIST_NAMES >= 100)) || bench_die "LIST_NAMES must be at least 100"

# ---------------------------------------------------------------------------------------------
# everything needed is there, before starting anything

[[ -x $BENCH_PY ]] || bench_die "$BENCH_PY not found (Debian's python3)"
"$BENCH_PY" -c 'import dns.message' 2>/dev/null || bench_die "$BENCH_PY lacks dnspython (apt-get install python3-dnspython)"
bench_need dnsperf "apt-get install dnsperf"
[[ $PIN == 1 ]] && bench_need taskset "util-linux"
resolver_check lanhmanh
LANHMANH_CLI=$(dirname "$LANHMANHD")/lanhmanh
[[ -x $LANHMANH_CLI ]] || bench_die "no lanhmanh command next to $LANHMANHD"
MAKE_MMDB=$(dirname "$BENCH_DIR")/tests/lib/make_mmdb.pl
if [[ $MMDB == 1 ]]; then
	[[ -f $MAKE_MMDB ]] || bench_die "$MAKE_MMDB not found (or MMDB=0)"
	perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null ||
		bench_die "perl lacks MaxMind::DB::Writer (apt-get install libmaxmind-db-writer-perl), or MMDB=0"
fi
[[ $PERF == 1 ]] && bench_need perf "apt-get install linux-perf, or PERF=0"

instances=(core policy)
[[ $MMDB == 1 ]] && instances+=(policy-mmdb)
[[ $STATS == 1 ]] && instances+=(policy-stats)

bench_init policy
T=$BENCH_TMP
bench_log "temp dir $T; ${instances[*]}; $NETWORKS networks, $LIST_NAMES listed names; $ROUNDS round(s) of ${DURATION}s; PIN=$PIN"

# ---------------------------------------------------------------------------------------------
# generated data: cached zone, list, networks

read -r -a ports <<<"$(bench_free_ports $((1 + ${#instances[@]})))" || bench_die "no free ports"
ORIGIN=bench.test.
PROBE_NAME=$(benchlib gen-zone --origin "$ORIGIN" --names "$NAMES" \
	--zone-file "$T/bench.test.zone" --query-file "$T/queries.txt") || bench_die "gen-zone failed"
PROBE_ADDR=10.0.0.0 # gen-zone: the first name's address

bench_log "generating $LIST_NAMES listed names"
benchlib gen-list --names "$LIST_NAMES" --domains "$T/list.txt" --rpz "$T/list.rpz" \
	--rpz-wildcards 0 --blocked-file "$T/blocked.txt" --blocked-queries 10 >/dev/null ||
	bench_die "gen-list failed"
rm -f "$T/list.rpz" "$T/blocked.txt"
# 40 % adult, 30 % gambling, 20 % social, 10 % giai_tri (a category of the site, blocked for
# tieu_hoc by an all-day schedule only)
awk -v n="$LIST_NAMES" -v d="$T" '
	/^#/ { next }
	{ i++; f = i <= n * 0.4 ? "adult" : i <= n * 0.7 ? "gambling" : i <= n * 0.9 ? "social" : "giai_tri"
	  print > (d "/list-" f ".txt") }' "$T/list.txt" || bench_die "cannot split the list"
rm -f "$T/list.txt"
declare -A LISTED # the first name of each part: checked below
for c in adult gambling social giai_tri; do LISTED[$c]=$(head -n 1 "$T/list-$c.txt"); done
ALLOWED_LISTED=$(sed -n 2p "$T/list-adult.txt") # in tieu_hoc's allow: passes
bench_log "list: adult $(wc -l <"$T/list-adult.txt"), gambling $(wc -l <"$T/list-gambling.txt"), social $(wc -l <"$T/list-social.txt"), giai_tri $(wc -l <"$T/list-giai_tri.txt") names"

read -r CLIENT CLIENT_NET CLIENT_CIDR OUTSIDE <<<"$(benchlib gen-networks --networks "$NETWORKS" \
	--prefix "$PREFIX" --client-group tieu_hoc --yaml "$T/networks.yaml" \
	--mmdb-input "$T/mmdb-ranges.txt")" || bench_die "gen-networks failed"
[[ -n $OUTSIDE ]] || bench_die "gen-networks printed no client"
bench_log "networks: $NETWORKS of /$PREFIX; client $CLIENT in $CLIENT_NET ($CLIENT_CIDR, tieu_hoc); $OUTSIDE in none"
MMDB_WRITE_S=
if [[ $MMDB == 1 ]]; then
	t0=$(date +%s%N)
	perl "$MAKE_MMDB" "$T/mmdb-ranges.txt" "$T/subscribers.mmdb" || bench_die "make_mmdb.pl failed"
	MMDB_WRITE_S=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	bench_log "subscribers.mmdb: $(du -k "$T/subscribers.mmdb" | cut -f1) KiB, written in $MMDB_WRITE_S s"
	printf 'networks:\n  - { mmdb: %s, name: subscribers }\n' "$T/subscribers.mmdb" >"$T/networks-mmdb.yaml"
fi

# names: N generated ones (DOMAIN SUFFIX N)
names() { awk -v p="$1" -v s="$2" -v n="$3" 'BEGIN { for (i = 1; i <= n; i++) printf "      - %s%d.%s\n", p, i, s }'; }
DENIED=deny1.tro-choi.vn
{
	printf 'sinkhole: { ipv4: %s }\nlists:\n' "$SINKHOLE"
	for c in adult gambling social giai_tri; do
		printf '  - { name: %s, category: %s, file: %s }\n' "$c" "$c" "$T/list-$c.txt"
	done
	echo "groups:"
	echo "  mam_non:"
	echo "    allow:"; names allow hoc.vn 100
	echo "  tieu_hoc:"
	echo "    allow:"; echo "      - $ALLOWED_LISTED"; names allow hoc10.vn 999
	echo "    deny:"; names deny tro-choi.vn 1000
	echo "    schedules:"
	echo '      - { block: [giai_tri], from: "00:00", to: "24:00" }'
	echo '      - { block: [games, social], days: [t2-t6], from: "07:00", to: "11:30" }'
	echo '      - { block: [games, social], days: [t2-t6], from: "13:30", to: "17:00" }'
	echo "  thcs:"
	echo "    block: [giai_tri]"
	echo "    allow:"; names allow hoc.vn 100
	echo "    deny:"; names deny game.vn 100
	echo "    schedules:"
	echo '      - { block: [social], days: [t2-t6], from: "07:00", to: "17:00" }'
	echo "  thpt:"
	echo "    deny:"; names deny game.vn 100
	echo "    schedules:"
	echo '      - { block: [games, social, giai_tri], days: [mon-fri], from: "07:00", to: "11:30" }'
	echo "  giao_vien:"
	echo "    deny:"; names deny game.vn 10
	echo "  khach:"
	echo "    allow:"; names allow hoc.vn 10
	echo "    deny:"; names deny game.vn 100
} >"$T/policy.yaml"
# policy-stats: the same, counting for the compliance statistics (compliance.interval 1m, the
# local store; no authority, nothing to send)
{ cat "$T/policy.yaml"; printf 'compliance:\n  interval: 1m\n'; } >"$T/policy-stats.yaml"

# ---------------------------------------------------------------------------------------------
# upstream and the daemons

MEASURE_QUERIES=$T/queries.txt
MEASURE_RUNS=$T/runs.jsonl
# Every query from the client address: it is in 127.0.0.0/8 (core) and in a tieu_hoc network
# (policy, policy-mmdb).
DNSPERF_ARGS="-a $CLIENT ${DNSPERF_ARGS:-}"
nsd_start "${ports[0]}" "$ORIGIN" "$T/bench.test.zone" "$PROBE_NAME"

declare -A START_S
i=1
for inst in "${instances[@]}"; do
	t0=$(date +%s%N)
	case $inst in
	core) resolver_start lanhmanh "${ports[i]}" core ;;
	policy) LANHMANHD_NETWORKS_YAML=$T/networks.yaml LANHMANHD_EXTRA_YAML=$T/policy.yaml \
		resolver_start lanhmanh "${ports[i]}" policy ;;
	policy-mmdb) LANHMANHD_NETWORKS_YAML=$T/networks-mmdb.yaml LANHMANHD_EXTRA_YAML=$T/policy.yaml \
		resolver_start lanhmanh "${ports[i]}" policy-mmdb ;;
	policy-stats) LANHMANHD_NETWORKS_YAML=$T/networks.yaml LANHMANHD_EXTRA_YAML=$T/policy-stats.yaml \
		resolver_start lanhmanh "${ports[i]}" policy-stats ;;
	esac
	# lanhmanh lists says "compiled" once the set is in force
	if [[ $inst != core ]]; then
		for ((k = 0; k < READY_TIMEOUT * 10; k++)); do
			"$LANHMANH_CLI" -s "$T/$inst/control.sock" lists 2>/dev/null | head -n 1 | grep -q compiled && break
			sleep 0.1
		done
		((k < READY_TIMEOUT * 10)) || bench_die "$inst: lanhmanh lists did not say 'compiled' within ${READY_TIMEOUT}s"
	fi
	START_S[$inst]=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	bench_log "$inst: answering$([[ $inst != core ]] && echo ", lists compiled") $(printf '%s' "${START_S[$inst]}") s after the start (the config check included)"
	i=$((i + 1))
done

# ---------------------------------------------------------------------------------------------
# the policy is live: check it from the client address (and from an address in no network)

declare -A STATUS
for inst in "${instances[@]}"; do
	STATUS[$inst]=$("$LANHMANH_CLI" -s "$T/$inst/control.sock" status 2>&1 |
		grep -E '^(networks:|subscriber database |groups:|blocklists:)' | sed 's|'"$T"'/||' | paste -sd';' -)
	bench_log "$inst: status: ${STATUS[$inst]}"
	"$LANHMANH_CLI" -s "$T/$inst/control.sock" lists 2>&1 | head -n 1 | sed "s/^/$inst: lists: /" >&2
	port=${RESOLVER_PORT[$inst]}
	checks=(--check "$PROBE_NAME=$PROBE_ADDR")
	if [[ $inst == core ]]; then
		checks+=(--check "${LISTED[adult]}=!$SINKHOLE")
	else
		[[ $inst == policy || $inst == policy-stats ]] && { [[ ${STATUS[$inst]} == *"networks: $NETWORKS;"* ]] ||
			bench_die "$inst: status does not say networks: $NETWORKS (${STATUS[$inst]})"; }
		[[ $inst == policy-mmdb ]] && { [[ ${STATUS[$inst]} == *"subscriber database"* ]] ||
			bench_die "$inst: status shows no subscriber database (${STATUS[$inst]})"; }
		checks+=(--check "${LISTED[adult]}=$SINKHOLE" --check "${LISTED[gambling]}=$SINKHOLE"
			--check "${LISTED[social]}=$SINKHOLE" --check "${LISTED[giai_tri]}=$SINKHOLE"
			--check "$DENIED=$SINKHOLE" --check "$ALLOWED_LISTED=!$SINKHOLE")
	fi
	bench_log "$inst: answers to $CLIENT:"
	benchlib ask --port "$port" --source "$CLIENT" "${checks[@]}" >&2 ||
		bench_die "$inst: the answers are not what the configuration says"
	if [[ $inst != core ]]; then
		benchlib ask --port "$port" --source "$OUTSIDE" --check "$PROBE_NAME=REFUSED" >&2 ||
			bench_die "$inst: a client in no network was not refused"
		for n in "$PROBE_NAME" "${LISTED[giai_tri]}" www.google.com; do
			"$LANHMANH_CLI" -s "$T/$inst/control.sock" explain "$CLIENT" "$n" 2>&1 |
				sed "s|$T/||g; s/^/  $inst explain $CLIENT $n: /" >&2
		done
	fi
done

# ---------------------------------------------------------------------------------------------
# warm, memory, measure: ROUNDS x (each instance once), in the same order every round

# lanhmanh status: "memory: N bytes allocated" (what the daemon's allocator wrapper counts)
allocated() { "$LANHMANH_CLI" -s "$T/$1/control.sock" status 2>/dev/null | sed -n 's/^memory: \([0-9]*\) bytes allocated.*/\1/p'; }
declare -A RSS_WARM RSS_END ALLOC_WARM
for inst in "${instances[@]}"; do measure_warm "$inst"; done
sleep 1
for inst in "${instances[@]}"; do
	RSS_WARM[$inst]=$(benchlib proc-mem "${RESOLVER_PID[$inst]}") || bench_die "cannot read the memory of $inst"
	ALLOC_WARM[$inst]=$(allocated "$inst")
	bench_log "$inst: memory after warm-up: ${RSS_WARM[$inst]}, allocated ${ALLOC_WARM[$inst]:-?} bytes"
done
bench_busy_check
for ((round = 1; round <= ROUNDS; round++)); do
	for inst in "${instances[@]}"; do
		measure_run "$inst" "$round"
		sleep 1
	done
done
for inst in "${instances[@]}"; do
	RSS_END[$inst]=$(benchlib proc-mem "${RESOLVER_PID[$inst]}") || bench_die "cannot read the memory of $inst"
done

# ---------------------------------------------------------------------------------------------
# report

root=$(dirname "$BENCH_DIR")
git=$(git -C "$root" describe --always --dirty 2>/dev/null || echo "no commit")
ver_lm="$("$LANHMANHD" --version 2>&1 | head -n 1), sha256 $(sha256sum "$LANHMANHD" | cut -c1-12)"
mem_json=$(for inst in "${instances[@]}"; do
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$inst" "${RSS_WARM[$inst]}" "${RSS_END[$inst]}" "${START_S[$inst]}" "${STATUS[$inst]}" "${ALLOC_WARM[$inst]:-}"
done)
params=$("$BENCH_PY" - "$NAMES" "$DURATION" "$CLIENTS" "$OUTSTANDING" "$ROUNDS" "$PIN" \
	"$(nsd -v 2>&1 | head -n 1)" "$(dnsperf -h 2>&1 | sed -n 's/^Version //p')" "$ver_lm" \
	"$LANHMANHD" "$DNSPERF_ARGS" "$NETWORKS" "$PREFIX" "$LIST_NAMES" "$CLIENT" "$CLIENT_NET" \
	"$CLIENT_CIDR" "$MMDB_WRITE_S" "$mem_json" <<-'EOF'
		import json, os, sys
		a = sys.argv[1:]
		cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
		inst = {}
		for line in a[18].splitlines():
		    n, warm, end, start, status, alloc = line.split("\t")
		    inst[n] = {"mem_after_warmup": json.loads(warm), "mem_after_runs": json.loads(end),
		               "start_s": float(start), "status": status,
		               "allocated_after_warmup": int(alloc) if alloc else None}
		print(json.dumps({"names": int(a[0]), "duration_s": int(a[1]), "clients": int(a[2]),
		    "outstanding": int(a[3]), "rounds": int(a[4]), "pinned": a[5] == "1", "nsd": a[6],
		    "dnsperf": a[7], "lanhmanhd": a[8], "lanhmanhd_path": a[9], "dnsperf_args": a[10].strip(),
		    "networks": int(a[11]), "prefix": int(a[12]), "list_names": int(a[13]),
		    "client": a[14], "client_network": a[15], "client_cidr": a[16],
		    "mmdb_write_s": float(a[17]) if a[17] else None, "instances": inst,
		    "cpus": os.cpu_count(), "cpu_model": cpu}))
	EOF
)
benchlib report --bench policy --runs "$MEASURE_RUNS" --baseline core --names "$NAMES" \
	--duration "$DURATION" --results-dir "$RESULTS_DIR" --git "$git" --params "$params" ||
	bench_die "report failed"
echo
echo "Memory (VmRSS after warm-up / after the runs, peak VmHWM; allocated after warm-up, as lanhmanh status says), start to answering:"
"$BENCH_PY" - "$params" <<-'EOF'
	import json, sys
	p = json.loads(sys.argv[1])
	for n, v in p["instances"].items():
	    w, e = v["mem_after_warmup"], v["mem_after_runs"]
	    print(f"  {n:12s} {w['VmRSS'] / 2**20:7.1f} MiB / {e['VmRSS'] / 2**20:7.1f} MiB, "
	          f"peak {e['VmHWM'] / 2**20:7.1f} MiB; allocated "
	          + (f"{v['allocated_after_warmup'] / 2**20:.1f} MiB" if v.get("allocated_after_warmup") else "?")
	          + f"; started in {v['start_s']:.2f} s; {v['status']}")
	if p.get("mmdb_write_s") is not None:
	    print(f"  make_mmdb.pl wrote {p['networks']} ranges in {p['mmdb_write_s']} s")
EOF

# ---------------------------------------------------------------------------------------------
# profile: one more run each of core and policy under perf (not counted in the figures above)

if [[ $PERF == 1 ]]; then
	mkdir -p "$RESULTS_DIR"
	out=$RESULTS_DIR/policy-perf.txt
	{
		echo "bench/policy.sh profile, $(date -u '+%Y-%m-%d %H:%M UTC'), tree $git, $ver_lm"
		echo "perf record -g -F 4999 -p PID, ${DURATION}s of cached names from $CLIENT; self time per symbol"
	} >"$out"
	for inst in core policy; do
		pid=${RESOLVER_PID[$inst]}
		bench_spawn perf-$inst "$T/perf-$inst.log" perf record -g -F 4999 -p "$pid" -o "$T/perf-$inst.data" -- sleep "$DURATION"
		perf_pid=$BENCH_LAST_PID
		sleep 0.2
		MEASURE_RUNS=$T/runs-perf.jsonl measure_run "$inst" 0
		wait "$perf_pid"
		bench_forget "$perf_pid"
		{
			echo
			echo "== $inst: $(perf report -i "$T/perf-$inst.data" --stdio 2>/dev/null | sed -n 's/^# Samples: //p' | head -n 1)"
			perf report -i "$T/perf-$inst.data" --stdio --no-children --sort symbol -g none 2>/dev/null |
				grep -v '^#' | awk '$1 ~ /%$/ { print "  " $1, $2, $3 }' >"$T/perf-$inst.txt"
			head -n 25 "$T/perf-$inst.txt"
			echo "  policy and lists (pol_*, bl_*, probe, core_ptrie_*, MMDB_*):"
			grep -E ' (pol_|bl_|probe$|core_ptrie_|MMDB_)' "$T/perf-$inst.txt" || echo "  none sampled"
			awk '$3 ~ /^(pol_|bl_|core_ptrie_|MMDB_)/ || $3 == "probe" { s += $1 } END { printf "  together: %.2f%% of the samples\n", s }' "$T/perf-$inst.txt"
		} >>"$out"
		sleep 1
	done
	echo
	cat "$out"
	echo "(written to $out)"
fi
