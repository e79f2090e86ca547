#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck source-path=SCRIPTDIR
#
# Cached-name throughput: lanhmanhd and its peers, each forwarding to the same nsd with one worker
# thread, answering names already in their cache. See bench/README.md for the method.
#
#   bench/cached.sh                    one run of each resolver
#   bench/cached.sh --interleave       3 rounds, A B A B A B, medians
#
# Settings (environment): LANHMANHD, NAMES, DURATION, CLIENTS, OUTSTANDING, ROUNDS, RESOLVERS,
# SKIP_LANHMANH, PIN, CPU_DAEMON, CPU_LOAD, RESULTS_DIR, KEEP_TMP, DNSPERF_ARGS. --help lists them.

set -uo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/daemons.sh
. "$BENCH_LIB/daemons.sh"
# shellcheck source=lib/measure.sh
. "$BENCH_LIB/measure.sh"

usage() {
	cat <<-EOF
		usage: bench/cached.sh [--interleave] [--rounds N] [--duration S] [--names N] [--resolvers "A B"]

		Runs dnsperf against each resolver (default: "$BENCH_RESOLVERS"), all forwarding to one nsd,
		on names already cached, and prints queries/s, daemon CPU-µs per query, queries per daemon
		CPU-second, and the ratios lanhmanh/peer. A JSON line per invocation is appended to
		bench/results/cached.jsonl.

		  --interleave     ROUNDS=3 (unless set): A B, A B, A B; the table shows medians
		  --rounds N       rounds of one run per resolver
		  --duration S     seconds per dnsperf run (DURATION, default 10)
		  --names N        names in the zone and the query file (NAMES, default 10000)
		  --resolvers LIST which resolvers, in run order (RESOLVERS, default "$BENCH_RESOLVERS")

		Environment:
		  LANHMANHD=PATH     the daemon (default build-release/resolver/lanhmanhd, then build/…)
		  SKIP_LANHMANH=1    leave lanhmanh out (peers only)
		  CLIENTS=8          dnsperf -c (sockets)
		  OUTSTANDING=100    dnsperf -q (queries in flight; more overflows unbound's
		                     default socket buffer in dnsperf's first burst)
		  DNSPERF_ARGS=…     more dnsperf arguments
		  PIN=0|1            pin the daemon to CPU_DAEMON (1) and dnsperf+nsd to CPU_LOAD (0);
		                     default 1 on 2+ cores
		  RESULTS_DIR=DIR    where cached.jsonl goes (default bench/results)
		  KEEP_TMP=1         keep the temp dir (configs, logs, dnsperf output); kept on failure
		  READY_TIMEOUT=30   seconds to wait for each server to answer
	EOF
}

NAMES=${NAMES:-10000}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-8}
OUTSTANDING=${OUTSTANDING:-100}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
RESOLVERS=${RESOLVERS:-$BENCH_RESOLVERS}
interleave=0
while (($#)); do
	case $1 in
	--interleave) interleave=1 ;;
	--rounds) ROUNDS=${2:?}; shift ;;
	--duration) DURATION=${2:?}; shift ;;
	--names) NAMES=${2:?}; shift ;;
	--resolvers) RESOLVERS=${2:?}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; bench_die "unknown argument '$1'" ;;
	esac
	shift
done
if [[ -z ${ROUNDS:-} ]]; then
	if ((interleave)); then ROUNDS=3; else ROUNDS=1; fi
fi
for v in NAMES DURATION CLIENTS OUTSTANDING ROUNDS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer, not '${!v}'"
done
if [[ ${SKIP_LANHMANH:-0} == 1 ]]; then
	RESOLVERS=$(tr ' ' '\n' <<<"$RESOLVERS" | grep -vx lanhmanh | xargs)
fi
read -r -a resolvers <<<"$RESOLVERS"
((${#resolvers[@]})) || bench_die "no resolver to measure"

# ---------------------------------------------------------------------------------------------
# everything needed is there, before starting anything

[[ -x $BENCH_PY ]] || bench_die "$BENCH_PY not found (Debian's python3)"
"$BENCH_PY" -c 'import dns.message' 2>/dev/null || bench_die "$BENCH_PY lacks dnspython (apt-get install python3-dnspython)"
bench_need dnsperf "apt-get install dnsperf"
[[ $PIN == 1 ]] && bench_need taskset "util-linux"
for r in "${resolvers[@]}"; do resolver_check "$r"; done

bench_init cached
T=$BENCH_TMP
bench_log "temp dir $T; resolvers: ${resolvers[*]}; $ROUNDS round(s) of ${DURATION}s; PIN=$PIN"

# ---------------------------------------------------------------------------------------------
# upstream and resolvers

read -r -a ports <<<"$(bench_free_ports $((1 + ${#resolvers[@]})))" || bench_die "no free ports"
ORIGIN=bench.test.
PROBE_NAME=$(benchlib gen-zone --origin "$ORIGIN" --names "$NAMES" \
	--zone-file "$T/bench.test.zone" --query-file "$T/queries.txt") || bench_die "gen-zone failed"
MEASURE_QUERIES=$T/queries.txt
MEASURE_RUNS=$T/runs.jsonl
nsd_start "${ports[0]}" "$ORIGIN" "$T/bench.test.zone" "$PROBE_NAME"
i=1
for r in "${resolvers[@]}"; do
	resolver_start "$r" "${ports[i]}"
	i=$((i + 1))
done

# ---------------------------------------------------------------------------------------------
# warm the caches, then measure: ROUNDS x (each resolver once), in the same order every round

for r in "${resolvers[@]}"; do measure_warm "$r"; done
bench_busy_check
for ((round = 1; round <= ROUNDS; round++)); do
	for r in "${resolvers[@]}"; do
		measure_run "$r" "$round"
		sleep 1
	done
done

# ---------------------------------------------------------------------------------------------
# report

root=$(dirname "$BENCH_DIR")
git=$(git -C "$root" describe --always --dirty 2>/dev/null || echo "no commit")
ver_lm=-
if [[ -n ${RESOLVER_PID[lanhmanh]:-} ]]; then
	# The tree may have no commit yet, or be dirty: the binary's hash says what was measured.
	ver_lm="$("$LANHMANHD" --version 2>&1 | head -n 1), sha256 $(sha256sum "$LANHMANHD" | cut -c1-12)"
fi
params=$("$BENCH_PY" - "$NAMES" "$DURATION" "$CLIENTS" "$OUTSTANDING" "$ROUNDS" "$PIN" \
	"$(unbound -V 2>/dev/null | sed -n 's/^Version //p')" "$(nsd -v 2>&1 | head -n 1)" \
	"$(dnsperf -h 2>&1 | sed -n 's/^Version //p')" "$ver_lm" "${LANHMANHD:-}" "${DNSPERF_ARGS:-}" <<-'EOF'
		import json, os, sys
		a = sys.argv[1:]
		cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
		print(json.dumps({"names": int(a[0]), "duration_s": int(a[1]), "clients": int(a[2]),
		    "outstanding": int(a[3]), "rounds": int(a[4]), "pinned": a[5] == "1",
		    "unbound": a[6], "nsd": a[7], "dnsperf": a[8], "lanhmanhd": a[9], "lanhmanhd_path": a[10],
		    "dnsperf_args": a[11], "cpus": os.cpu_count(), "cpu_model": cpu}))
	EOF
)
benchlib report --bench cached --runs "$MEASURE_RUNS" --subject lanhmanh --names "$NAMES" \
	--duration "$DURATION" --results-dir "$RESULTS_DIR" --git "$git" --params "$params" ||
	bench_die "report failed"
