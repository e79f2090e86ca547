#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck source-path=SCRIPTDIR
#
# Recursive resolution (issue 7): lanhmanhd (server.mode: recursive) and unbound, each resolving
# from the root of the same private DNS tree of nsd servers on loopback addresses, port 53: a cold
# cache (every name of the query file once, from a fresh start) and then a warm one (the same
# names again for DURATION s). See bench/README.md, "Recursive resolution", for the method.
#
#   bench/recursive.sh                 3 rounds (lanhmanh, unbound, lanhmanh, unbound, …), medians
#   bench/recursive.sh --rounds 5 --zones 5000 --names 20000
#
# Needs root (the tree's servers listen on port 53: unbound asks no other port). The tree, the
# stall check, the sniffer and the report are in lib/rectree.py. Settings (environment):
# LANHMANHD, ZONES, NAMES, ROUNDS, DURATION, CLIENTS, COLD_OUTSTANDING, OUTSTANDING, COLD_LIMIT,
# GLUELESS, CNAME, RESOLVERS, LOG_LEVEL, STALL_MS, SNIFF, PIN, RESULTS_DIR, KEEP_TMP. --help.

set -uo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/daemons.sh
. "$BENCH_LIB/daemons.sh"
# shellcheck source=lib/measure.sh
. "$BENCH_LIB/measure.sh"

usage() {
	cat <<-EOF
		usage: bench/recursive.sh [--rounds N] [--zones N] [--names N] [--duration S] [--resolvers "A B"]

		Builds a private DNS tree on loopback (nsd: a root on 127.0.1.1, TLDs on 127.0.2.1-3, ZONES
		second-level zones on 127.0.3.1-4, port 53), then for each round and each resolver (default
		"$BENCH_RESOLVERS", in that order): a fresh start, the NAMES names of the query file once
		(cold cache: dnsperf -n 1), then the same names for DURATION s (warm cache). Prints
		queries/s, answered/lost/SERVFAIL, daemon CPU-µs per query, queries per daemon CPU-second,
		the queries the tree's servers received, medians and ratios lanhmanh/unbound; appends a JSON
		line to bench/results/recursive.jsonl.

		  --rounds N       cold+warm rounds per resolver, interleaved (ROUNDS, default 3)
		  --zones N        second-level zones in the tree (ZONES, default 2000)
		  --names N        distinct names in the query file (NAMES, default 10000)
		  --duration S     seconds of the warm run (DURATION, default 10)
		  --resolvers LIST which resolvers, in run order (RESOLVERS, default "$BENCH_RESOLVERS")

		Environment:
		  LANHMANHD=PATH      the daemon (default build-release/resolver/lanhmanhd, then build/…)
		  CLIENTS=8           dnsperf -c, both runs
		  COLD_OUTSTANDING=50 dnsperf -q of the cold run
		  OUTSTANDING=100     dnsperf -q of the warm run (as cached.sh)
		  COLD_LIMIT=120      at most this many seconds for the cold run (dnsperf -l)
		  GLUELESS=0.10 CNAME=0.10   share of zones delegated without glue / whose www is a CNAME
		  LOG_LEVEL=warning   lanhmanhd's log_level (info or debug for a diagnostic run; the logs
		                      are in the temp dir: KEEP_TMP=1)
		  STALL_MS=300        with the answer checks: the nsd of one second-level server is stopped
		                      (SIGSTOP) this long while a name of it is asked; what each resolver
		                      answers, and when, is reported (0: skip)
		  SNIFF=1             diagnostics: record every query the tree gets during the cold runs
		                      (an AF_PACKET sniffer on lo, on CPU_LOAD: not for figures you keep)
		                      to DIR/cold-tree-queries.txt, and summarise them
		  PIN=0|1             daemon on CPU_DAEMON (1), dnsperf and the nsd servers on CPU_LOAD (0)
		  RESULTS_DIR=DIR     where recursive.jsonl goes (default bench/results)
		  KEEP_TMP=1          keep the temp dir (tree, configs, logs, dnsperf output)
		  READY_TIMEOUT=30    seconds to wait for each server to answer
	EOF
}

ZONES=${ZONES:-2000}
NAMES=${NAMES:-10000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-8}
COLD_OUTSTANDING=${COLD_OUTSTANDING:-50}
OUTSTANDING=${OUTSTANDING:-100}
COLD_LIMIT=${COLD_LIMIT:-120}
GLUELESS=${GLUELESS:-0.10}
CNAME=${CNAME:-0.10}
LOG_LEVEL=${LOG_LEVEL:-warning}
SNIFF=${SNIFF:-0}
STALL_MS=${STALL_MS:-300}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
RESOLVERS=${RESOLVERS:-$BENCH_RESOLVERS}
NS_PORT=53 # unbound asks name servers on port 53 only
while (($#)); do
	case $1 in
	--rounds) ROUNDS=${2:?}; shift ;;
	--zones) ZONES=${2:?}; shift ;;
	--names) NAMES=${2:?}; shift ;;
	--duration) DURATION=${2:?}; shift ;;
	--resolvers) RESOLVERS=${2:?}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; bench_die "unknown argument '$1'" ;;
	esac
	shift
done
[[ $STALL_MS =~ ^[0-9]+$ ]] || bench_die "STALL_MS must be a number of milliseconds, not '$STALL_MS'"
for v in ZONES NAMES ROUNDS DURATION CLIENTS COLD_OUTSTANDING OUTSTANDING COLD_LIMIT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer, not '${!v}'"
done
read -r -a resolvers <<<"$RESOLVERS"
((${#resolvers[@]})) || bench_die "no resolver to measure"

# ---------------------------------------------------------------------------------------------
# everything needed is there, before starting anything

((EUID == 0)) || bench_die "run as root: the tree's servers listen on port 53 (unbound asks no other port)"
[[ -x $BENCH_PY ]] || bench_die "$BENCH_PY not found (Debian's python3)"
"$BENCH_PY" -c 'import dns.message' 2>/dev/null || bench_die "$BENCH_PY lacks dnspython (apt-get install python3-dnspython)"
bench_need dnsperf "apt-get install dnsperf"
bench_need nsd "apt-get install nsd"
bench_need nsd-control "apt-get install nsd"
[[ $PIN == 1 ]] && bench_need taskset "util-linux"
for r in "${resolvers[@]}"; do
	case $r in
	lanhmanh | unbound) resolver_check "$r" ;;
	*) bench_die "recursive.sh knows lanhmanh and unbound, not '$r'" ;;
	esac
done
# Someone else's server on one of the tree's addresses would answer instead of ours.
busy=$(ss -Hlnu "( sport = :$NS_PORT )" 2>/dev/null | awk '$4 ~ /^127\.0\.[123]\.|^0\.0\.0\.0:|^\*:/ { print $4 }')
[[ -z $busy ]] || bench_die "port $NS_PORT is taken on an address of the tree: $busy"

bench_init recursive
T=$BENCH_TMP
bench_log "temp dir $T; resolvers: ${resolvers[*]}; $ROUNDS round(s); $ZONES zones, $NAMES names; PIN=$PIN"

# ---------------------------------------------------------------------------------------------
# the tree

MEASURE_QUERIES=$T/queries.txt
benchlib_tree() { "$BENCH_PY" "$BENCH_LIB/rectree.py" "$@"; }
benchlib_tree tree --dir "$T/tree" --zones "$ZONES" --names "$NAMES" --glueless "$GLUELESS" \
	--cname "$CNAME" --port "$NS_PORT" --query-file "$MEASURE_QUERIES" >"$T/tree.out" ||
	bench_die "generating the tree failed"
HINTS=$T/tree/root.hints
TREE_INFO=$(sed -n 's/^info //p' "$T/tree.out")
mapfile -t CHECKS < <(sed -n 's/^check //p' "$T/tree.out")
read -r STALL_ADDR STALL_PRIME STALL_NAME STALL_EXPECT < <(sed -n 's/^stall //p' "$T/tree.out")
bench_log "tree: $TREE_INFO"

NSD_ADDRS=() NSD_CONFS=() NSD_PIDS=()
declare -A NSD_PID_OF=()
while read -r _ addr dir probe nzones; do
	nsd-checkconf "$dir/nsd.conf" || bench_die "nsd-checkconf rejected $dir/nsd.conf"
	# shellcheck disable=SC2046
	bench_spawn "nsd-$addr" "$dir/stderr.log" $(bench_pin "$CPU_LOAD") nsd -d -c "$dir/nsd.conf"
	benchlib probe --what "nsd $addr ($nzones zones)" --server "$addr" --port "$NS_PORT" --qname "$probe" \
		--qtype SOA --pid "$BENCH_LAST_PID" --timeout "$READY_TIMEOUT" >&2 ||
		{ tail -n 20 "$dir/stderr.log" "$dir/nsd.log" >&2; bench_die "nsd on $addr did not come up"; }
	NSD_ADDRS+=("$addr")
	NSD_PIDS+=("$BENCH_LAST_PID")
	NSD_PID_OF[$addr]=$BENCH_LAST_PID
	NSD_CONFS+=("$dir/nsd.conf")
done < <(grep '^server ' "$T/tree.out")

# tree_counts: num.queries of each server, in NSD_ADDRS order, on one line.
tree_counts() {
	local c n out=()
	for c in "${NSD_CONFS[@]}"; do
		n=$(nsd-control -c "$c" stats_noreset 2>/dev/null | sed -n 's/^num\.queries=//p')
		[[ $n =~ ^[0-9]+$ ]] || n=-1
		out+=("$n")
	done
	echo "${out[*]}"
}
# measure_run counts "upstream" queries with nsd_queries: here, the whole tree's.
nsd_queries() {
	local n s=0
	for n in $(tree_counts); do
		((n < 0)) && { echo -1; return; }
		s=$((s + n))
	done
	echo "$s"
}
# tree_tiers BEFORE AFTER: {"root": …, "tld": …, "sld": …} from two tree_counts lines.
tree_tiers() {
	local -a a b
	read -r -a a <<<"$1"
	read -r -a b <<<"$2"
	local i root=0 tld=0 sld=0 d
	for i in "${!NSD_ADDRS[@]}"; do
		d=$((b[i] - a[i]))
		case ${NSD_ADDRS[i]} in
		127.0.1.*) root=$((root + d)) ;;
		127.0.2.*) tld=$((tld + d)) ;;
		*) sld=$((sld + d)) ;;
		esac
	done
	echo "{\"root\": $root, \"tld\": $tld, \"sld\": $sld}"
}

# ---------------------------------------------------------------------------------------------
# the resolvers: recursive, one worker thread, 256 MiB of cache, from the tree's root hints

PROBE_NAME=ready. # in the root zone: the readiness probe primes the root, nothing below it
read -r -a ports <<<"$(bench_free_ports ${#resolvers[@]})" || bench_die "no free ports"
declare -A PORT_OF=()
i=0
for r in "${resolvers[@]}"; do PORT_OF[$r]=${ports[i]}; i=$((i + 1)); done

# rec_start NAME DIR: a fresh NAME (lanhmanh or unbound) with its config and log in DIR.
rec_start() {
	local r=$1 d=$2 port=${PORT_OF[$1]}
	mkdir -p "$d"
	case $r in
	lanhmanh)
		mkdir -p "$d/state"
		cat >"$d/lanhmanh.yaml" <<-EOF
			server:
			  listen: ["127.0.0.1:$port"]
			  workers: 1
			  mode: recursive
			  dnssec: false
			  root_hints: $HINTS
			  ns_port: $NS_PORT
			  ns_loopback: true
			  cache_size: 256MiB
			  state_dir: $d/state
			  control_socket: $d/control.sock
			  log_level: $LOG_LEVEL
			networks:
			  - { name: bench, cidr: ["127.0.0.0/8"] }
		EOF
		timeout 20 "$LANHMANHD" --check-config -c "$d/lanhmanh.yaml" >"$d/check-config.log" 2>&1 ||
			{ cat "$d/check-config.log" >&2; bench_die "lanhmanhd --check-config rejected $d/lanhmanh.yaml"; }
		# shellcheck disable=SC2046
		bench_spawn lanhmanh "$d/stderr.log" $(bench_pin "$CPU_DAEMON") "$LANHMANHD" -c "$d/lanhmanh.yaml"
		;;
	unbound)
		# The iterator alone (the tree is unsigned: no validation on either side; lanhmanhd
		# has dnssec: false), QNAME minimisation (lanhmanh does it too; unbound's default), one
		# thread, caches as large as lanhmanh's; allowed to ask 127.x; everything else at
		# unbound's defaults.
		cat >"$d/unbound.conf" <<-EOF
			server:
			  verbosity: 1
			  num-threads: 1
			  interface: 127.0.0.1@$port
			  port: $port
			  do-ip6: no
			  access-control: 127.0.0.0/8 allow
			  do-not-query-localhost: no
			  root-hints: "$HINTS"
			  module-config: "iterator"
			  qname-minimisation: yes
			  msg-cache-size: 256m
			  rrset-cache-size: 256m
			  chroot: ""
			  username: ""
			  directory: "$d"
			  pidfile: "$d/unbound.pid"
			  logfile: ""
			  use-syslog: no
			  do-daemonize: no
			remote-control:
			  control-enable: no
		EOF
		unbound-checkconf "$d/unbound.conf" >/dev/null || bench_die "unbound-checkconf rejected $d/unbound.conf"
		# shellcheck disable=SC2046
		bench_spawn unbound "$d/stderr.log" $(bench_pin "$CPU_DAEMON") "$UNBOUND_BIN" -d -c "$d/unbound.conf"
		;;
	esac
	RESOLVER_PID[$r]=$BENCH_LAST_PID
	RESOLVER_PORT[$r]=$port
	benchlib probe --what "$r" --port "$port" --qname "$PROBE_NAME" --pid "$BENCH_LAST_PID" \
		--timeout "$READY_TIMEOUT" >&2 ||
		{ tail -n 30 "$d/stderr.log" >&2; bench_die "$r did not come up"; }
}

rec_stop() {
	bench_stop "${RESOLVER_PID[$1]}" "$1"
	unset "RESOLVER_PID[$1]"
}

# log_problems NAME DIR: lanhmanhd's warnings and errors (count, the first lines).
log_problems() {
	local logf=$2/stderr.log n
	[[ $1 == lanhmanh && -s $logf ]] || return 0
	n=$(grep -cvE '^[0-9T:.+-]+ (info|notice|debug) ' "$logf")
	if ((n)); then
		bench_warn "lanhmanhd logged $n lines at warning or above ($logf):"
		grep -vE '^[0-9T:.+-]+ (info|notice|debug) ' "$logf" | head -n 10 | sed 's/^/  /' >&2
	fi
}

# cold_failures NAME FILE: from dnsperf -v's per-query lines ("> RCODE NAME TYPE LATENCY", "T" for
# a timeout), how many of each failure and a few of the names.
cold_failures() {
	local bad
	bad=$(awk '$1 == ">" && $2 != "NOERROR" { n[$2]++; if (ex[$2] == "" || cnt[$2]++ < 3) ex[$2] = ex[$2] " " $3 }
		END { for (k in n) printf "%s %d (e.g.%s); ", k, n[k], ex[k] }' "$2")
	[[ -z $bad ]] || bench_log "$1: cold run failures: $bad"
}

# ---------------------------------------------------------------------------------------------
# answers first: a name under each TLD, CNAMEs across zones, glueless zones, an NXDOMAIN

for r in "${resolvers[@]}"; do
	rec_start "$r" "$T/$r-check"
	bench_log "$r: checking answers"
	check_args=()
	for c in "${CHECKS[@]}"; do check_args+=(--check "$c"); done
	benchlib ask --port "${PORT_OF[$r]}" "${check_args[@]}" >&2 ||
		{ tail -n 30 "$T/$r-check/stderr.log" >&2; bench_die "$r gave wrong answers from the tree"; }
	if ((STALL_MS > 0)) && [[ -n ${STALL_NAME:-} ]]; then
		# not fatal: how the resolver copes with a server that answers late
		"$BENCH_PY" "$BENCH_LIB/rectree.py" stall --what "$r" --port "${PORT_OF[$r]}" --prime "$STALL_PRIME" \
			--name "$STALL_NAME" --expect "$STALL_EXPECT" --pid "${NSD_PID_OF[$STALL_ADDR]}" --ms "$STALL_MS" \
			>"$T/$r-check/stall.out" || bench_warn "$r: no answer at all while a server stalled"
		grep -v '^{' "$T/$r-check/stall.out" >&2
		grep '^{' "$T/$r-check/stall.out" >>"$T/stall.jsonl"
	fi
	log_problems "$r" "$T/$r-check"
	rec_stop "$r"
done

# ---------------------------------------------------------------------------------------------
# rounds: for each resolver, a fresh start, cold (each name once), warm (DURATION s)

# daemon_ns PID: nanoseconds the process's threads have run (the first field of each thread's
# schedstat): exact, where the CPU ticks of measure_run are sampled at 100 Hz (a 1-second cold run
# is only ~100 ticks).
daemon_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# phase NAME ROUND cold|warm: measure_run (the run's record to RUNS_cold or RUNS_warm), and around
# it, to $EXTRA, what the tree's servers received (root, TLDs, second level) and the CPU time they
# and the daemon used (schedstat).
phase() {
	local r=$1 round=$2 ph=$3 d=$T/$1-$2 c0 c1 k0 k1 n0 n1 pid=${RESOLVER_PID[$1]} sniff_pid
	c0=$(tree_counts)
	k0=$(benchlib_tree cpu "${NSD_PIDS[@]}")
	n0=$(daemon_ns "$pid")
	if [[ $ph == cold && $SNIFF == 1 ]]; then
		# shellcheck disable=SC2046
		bench_spawn sniff "$d/cold-tree-queries.txt" $(bench_pin "$CPU_LOAD") "$BENCH_PY" \
			"$BENCH_LIB/rectree.py" sniff --port "$NS_PORT"
		sniff_pid=$BENCH_LAST_PID
		sleep 0.5
	fi
	if [[ $ph == cold ]]; then
		# every name once (-n 1) in at most COLD_LIMIT s; -v: each answer's rcode and name
		DURATION=$COLD_LIMIT OUTSTANDING=$COLD_OUTSTANDING DNSPERF_ARGS="-n 1 -v ${DNSPERF_ARGS:-}" \
			MEASURE_RUNS=$T/cold.jsonl measure_run "$r" "$round"
	else
		MEASURE_RUNS=$T/warm.jsonl measure_run "$r" "$round"
	fi
	n1=$(daemon_ns "$pid")
	k1=$(benchlib_tree cpu "${NSD_PIDS[@]}")
	c1=$(tree_counts)
	mv "$T/run-$round-$r.txt" "$d/$ph-dnsperf.txt"
	if [[ $ph == cold && $SNIFF == 1 ]]; then
		sleep 0.5
		bench_stop "$sniff_pid" sniff
		sniff_summary "$r" "$d/cold-tree-queries.txt"
	fi
	echo "{\"daemon\": \"$r\", \"round\": $round, \"phase\": \"$ph\", \"tiers\": $(tree_tiers "$c0" "$c1"), \"tree_cpu_ticks\": $((k1 - k0)), \"clk_tck\": $BENCH_CLK_TCK, \"daemon_run_ns\": $((n1 - n0))}" >>"$EXTRA"
}

# sniff_summary NAME FILE: the queries the sniffer saw, by server tier, and the questions asked
# more than once.
sniff_summary() {
	bench_log "$1: the tree got $(awk '$3 != "tcp-syn"' "$2" | wc -l) UDP queries" \
		"(root $(awk '$2 ~ /^127\.0\.1\./' "$2" | wc -l), TLDs $(awk '$2 ~ /^127\.0\.2\./' "$2" | wc -l)," \
		"2nd level $(awk '$2 ~ /^127\.0\.3\./' "$2" | wc -l)), $(grep -c tcp-syn "$2") TCP connections;" \
		"$(awk '$3 != "tcp-syn" { print $2, $3, $4 }' "$2" | sort | uniq -d | wc -l) questions asked of one server more than once, e.g.:"
	awk '$3 != "tcp-syn" { print $2, $3, $4 }' "$2" | sort | uniq -c | sort -rn | awk '$1 > 1' | head -n 8 | sed 's/^/  /' >&2
}

EXTRA=$T/extra.jsonl
: >"$T/cold.jsonl"
: >"$T/warm.jsonl"
: >"$EXTRA"
bench_busy_check
for ((round = 1; round <= ROUNDS; round++)); do
	for r in "${resolvers[@]}"; do
		rec_start "$r" "$T/$r-$round"
		phase "$r" "$round" cold
		cold_failures "$r" "$T/$r-$round/cold-dnsperf.txt"
		phase "$r" "$round" warm
		log_problems "$r" "$T/$r-$round"
		rec_stop "$r"
		sleep 1
	done
done

# ---------------------------------------------------------------------------------------------
# report

root=$(dirname "$BENCH_DIR")
git=$(git -C "$root" describe --always --dirty 2>/dev/null || echo "no commit")
ver_lm=-
if [[ -n ${LANHMANHD:-} ]]; then
	ver_lm="$("$LANHMANHD" --version 2>&1 | head -n 1), sha256 $(sha256sum "$LANHMANHD" | cut -c1-12)"
fi
params=$("$BENCH_PY" - "$ZONES" "$NAMES" "$DURATION" "$CLIENTS" "$COLD_OUTSTANDING" "$OUTSTANDING" \
	"$ROUNDS" "$PIN" "$(unbound -V 2>/dev/null | sed -n 's/^Version //p')" "$(nsd -v 2>&1 | head -n 1)" \
	"$(dnsperf -h 2>&1 | sed -n 's/^Version //p')" "$ver_lm" "${LANHMANHD:-}" "$LOG_LEVEL" \
	"$GLUELESS" "$CNAME" <<-'EOF'
		import json, os, sys
		a = sys.argv[1:]
		cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
		print(json.dumps({"zones": int(a[0]), "names": int(a[1]), "duration_s": int(a[2]),
		    "clients": int(a[3]), "cold_outstanding": int(a[4]), "outstanding": int(a[5]),
		    "rounds": int(a[6]), "pinned": a[7] == "1", "unbound": a[8], "nsd": a[9], "dnsperf": a[10],
		    "lanhmanhd": a[11], "lanhmanhd_path": a[12], "log_level": a[13], "glueless": float(a[14]),
		    "cname": float(a[15]),
		    "cpus": os.cpu_count(), "cpu_model": cpu}))
	EOF
)
echo "loadavg at the end: $(bench_loadavg)"
"$BENCH_PY" "$BENCH_LIB/rectree.py" report --cold "$T/cold.jsonl" --warm "$T/warm.jsonl" --extra "$EXTRA" --stall "$T/stall.jsonl" --subject lanhmanh \
	--results-dir "$RESULTS_DIR" --git "$git" --params "$params" --tree "$TREE_INFO" ||
	bench_die "report failed"
