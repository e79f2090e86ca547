#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck source-path=SCRIPTDIR
#
# Blocklists: how long from start to enforcing a list of N generated names, what it costs in
# memory, and what it costs per query. lanhmanhd (the list as `domains` and as `rpz`, first start
# and start from its snapshot), unbound (rpz: zone) and kresd (policy.rpz), all forwarding to the
# same nsd. See bench/README.md, "Blocklists", for the method.
#
#   bench/lists.sh                       1,000,000 names, everything
#   bench/lists.sh --names 10000000 --no-throughput
#
# Settings (environment): LANHMANHD, NAMES, RESOLVERS, FORMATS, RPZ_WILDCARDS, DURATION,
# BLOCKED_DURATION, ROUNDS, PERF, THROUGHPUT, CLIENTS, OUTSTANDING, PIN, KEEP_TMP. --help.

set -uo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/daemons.sh
. "$BENCH_LIB/daemons.sh"
# shellcheck source=lib/measure.sh
. "$BENCH_LIB/measure.sh"

usage() {
	cat <<-EOF
		usage: bench/lists.sh [--names N] [--resolvers "lanhmanh unbound kresd"] [--no-throughput]

		  --names N          names in the generated list (NAMES, default 1000000)
		  --resolvers LIST   which daemons load the list (RESOLVERS, default "lanhmanh unbound kresd")
		  --formats LIST     lanhmanh's list formats (FORMATS, default "domains rpz")
		  --no-throughput    only load times and memory (THROUGHPUT=0)

		Environment:
		  RPZ_WILDCARDS=1    the RPZ has 'name CNAME .' and '*.name CNAME .' (2 records per name,
		                     the meaning of a domains line); 0: only 'name CNAME .'
		  DURATION=10        seconds per cached-query run (with and without the list)
		  ROUNDS=3           interleaved rounds of those
		  BLOCKED_DURATION=60  seconds of dnsperf on listed names
		  PERF=1             perf record lanhmanhd during one extra cached run with the list
		  CLIENTS=8 OUTSTANDING=100 PIN=1 KEEP_TMP=1 LANHMANHD=…   as for cached.sh
		  LOAD_TIMEOUT=1800  seconds a daemon may take to enforce the list
	EOF
}

NAMES=${NAMES:-1000000}
RESOLVERS=${RESOLVERS:-lanhmanh unbound kresd}
FORMATS=${FORMATS:-domains rpz}
RPZ_WILDCARDS=${RPZ_WILDCARDS:-1}
THROUGHPUT=${THROUGHPUT:-1}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
BLOCKED_DURATION=${BLOCKED_DURATION:-60}
PERF=${PERF:-1}
CLIENTS=${CLIENTS:-8}
OUTSTANDING=${OUTSTANDING:-100}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-1800}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
CACHED_NAMES=${CACHED_NAMES:-10000}
SINKHOLE=10.10.10.10
while (($#)); do
	case $1 in
	--names) NAMES=${2:?}; shift ;;
	--resolvers) RESOLVERS=${2:?}; shift ;;
	--formats) FORMATS=${2:?}; shift ;;
	--no-throughput) THROUGHPUT=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; bench_die "unknown argument '$1'" ;;
	esac
	shift
done
for v in NAMES DURATION ROUNDS BLOCKED_DURATION CLIENTS OUTSTANDING LOAD_TIMEOUT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer, not '${!v}'"
done
read -r -a resolvers <<<"$RESOLVERS"
read -r -a formats <<<"$FORMATS"
# A daemon loading 10M names may take minutes before it answers anything.
READY_TIMEOUT=$LOAD_TIMEOUT

[[ -x $BENCH_PY ]] || bench_die "$BENCH_PY not found (Debian's python3)"
"$BENCH_PY" -c 'import dns.message' 2>/dev/null || bench_die "$BENCH_PY lacks dnspython (apt-get install python3-dnspython)"
bench_need dnsperf "apt-get install dnsperf"
[[ $PIN == 1 ]] && bench_need taskset "util-linux"
for r in "${resolvers[@]}"; do resolver_check "$r"; done
if [[ $THROUGHPUT == 1 && $PERF == 1 ]]; then
	bench_need perf "apt-get install linux-perf"
fi

bench_init lists
T=$BENCH_TMP
RECORDS=$T/records.jsonl
bench_log "temp dir $T; $NAMES names; daemons: ${resolvers[*]}; lanhmanh formats: ${formats[*]}"

# ---------------------------------------------------------------------------------------------
# the list, the upstream

bench_log "generating $NAMES names (domains list, RPZ with wildcards=$RPZ_WILDCARDS, blocked query file)"
BLOCKED_NAME=$(benchlib gen-list --names "$NAMES" --domains "$T/list.txt" --rpz "$T/list.rpz" \
	--rpz-wildcards "$RPZ_WILDCARDS" --blocked-file "$T/blocked.txt") || bench_die "gen-list failed"
bench_log "list: $(wc -l <"$T/list.txt") lines, $(du -m "$T/list.txt" | cut -f1) MB; RPZ $(wc -l <"$T/list.rpz") lines, $(du -m "$T/list.rpz" | cut -f1) MB; probe name $BLOCKED_NAME"

# every instance its own port: lanhmanhd binds with SO_REUSEPORT, so a second instance on the
# port of a first one would share its queries without any error.
read -r -a ports <<<"$(bench_free_ports 12)" || bench_die "no free ports"
next_port=1
take_port() { PORT=${ports[next_port]}; next_port=$((next_port + 1)); }
ORIGIN=bench.test.
PROBE_NAME=$(benchlib gen-zone --origin "$ORIGIN" --names "$CACHED_NAMES" \
	--zone-file "$T/bench.test.zone" --query-file "$T/queries.txt") || bench_die "gen-zone failed"
nsd_start "${ports[0]}" "$ORIGIN" "$T/bench.test.zone" "$PROBE_NAME"

# ---------------------------------------------------------------------------------------------
# helpers

# record KIND DAEMON FORMAT START PID [TIMER_JSON] [NOTE] [SET_PATH]: one line of $RECORDS.
record() {
	local kind=$1 daemon=$2 format=$3 start=$4 pid=$5 timer=${6:-"{}"} note=${7:-} setp=${8:-} mem
	mem=$(benchlib proc-mem "$pid" ${setp:+--set-path "$setp"}) || bench_die "cannot read the memory of $daemon"
	"$BENCH_PY" - "$kind" "$daemon" "$format" "$start" "$NAMES" "$timer" "$mem" "$note" "$(bench_loadavg)" \
		"$(bench_cpu_ticks "$pid")" >>"$RECORDS" <<-'EOF'
			import json, sys
			k, d, f, s, n, timer, mem, note, load, ticks = sys.argv[1:]
			r = {"kind": k, "daemon": d, "format": f, "start": s, "names": int(n), "mem": json.loads(mem),
			     "note": note, "loadavg": load, "cpu_ticks": int(ticks)}
			r.update(json.loads(timer))
			print(json.dumps(r))
		EOF
	bench_log "$kind $daemon $format $start: $(tail -n 1 "$RECORDS")"
}

# timed_start NAME PORT INSTANCE EXPECT: start a daemon with its exec timed; sets TIMER_JSON.
timed_start() {
	local name=$1 port=$2 inst=$3 expect=$4 d=$T/$3 notify="" timer_pid rc
	mkdir -p "$d"
	[[ $name == lanhmanh ]] && notify=$d/timer-notify.sock
	# a socket left by the previous start would let the daemon start before the timer listens
	rm -f "$d/exec.stamp" "$d/timer-notify.sock"
	bench_spawn "$inst-timer" "$d/timer.json" "$BENCH_PY" "$BENCH_LIB/benchlib.py" startup-timer \
		--stamp "$d/exec.stamp" ${notify:+--notify "$notify"} --port "$port" --qname "$BLOCKED_NAME" \
		--expect "$expect" --timeout "$LOAD_TIMEOUT" ${notify:+--set-path "$d/state/blocklists.set"}
	timer_pid=$BENCH_LAST_PID
	BENCH_EXEC_WRAP="$BENCH_PY $BENCH_LIB/benchlib.py exec-stamp $d/exec.stamp --" \
		LANHMANH_NOTIFY_SOCKET=$notify resolver_start "$name" "$port" "$inst"
	wait "$timer_pid"
	rc=$?
	bench_forget "$timer_pid"
	TIMER_JSON=$(grep '^{' "$d/timer.json" | tail -n 1)
	((rc == 0)) || { cat "$d/timer.json" >&2; bench_die "$inst: no blocked answer for $BLOCKED_NAME"; }
}

stop_instance() {
	bench_stop "${RESOLVER_PID[$1]}" "$1"
	unset "RESOLVER_PID[$1]"
}

lanhmanh_lists() { "$(dirname "$LANHMANHD")/lanhmanh" -s "$T/$1/control.sock" lists 2>&1 | head -n 1; }

# blocked_run INSTANCE: dnsperf on listed names for BLOCKED_DURATION (measure_run's record).
blocked_run() {
	local inst=$1 d0=$DURATION
	MEASURE_QUERIES=$T/blocked.txt MEASURE_RUNS=$T/runs-blocked.jsonl DURATION=$BLOCKED_DURATION \
		measure_run "$inst" 1
	DURATION=$d0
}

# ---------------------------------------------------------------------------------------------
# baselines: each daemon with no list, after answering one name

for r in "${resolvers[@]}"; do
	take_port
	resolver_start "$r" "$PORT" "$r-base"
	sleep 1
	record baseline "$r" - - "${RESOLVER_PID[$r-base]}"
	if [[ $r == lanhmanh && $THROUGHPUT == 1 ]]; then
		continue # kept: the "without list" side of the cached runs
	fi
	stop_instance "$r-base"
done

# ---------------------------------------------------------------------------------------------
# lanhmanhd: first start (compile), second start (snapshot), for each format

if [[ " ${resolvers[*]} " == *" lanhmanh "* ]]; then
	for f in "${formats[@]}"; do
		inst=lanhmanh-$f
		mkdir -p "$T/$inst"
		if [[ $f == rpz ]]; then
			expect=NXDOMAIN # RPZ 'CNAME .' is NXDOMAIN in lanhmanh too
			lst="{ name: big, category: adult, file: $T/list.rpz, format: rpz, origin: rpz.bench. }"
		else
			expect=$SINKHOLE
			lst="{ name: big, category: adult, file: $T/list.txt, format: domains }"
		fi
		printf 'sinkhole: { ipv4: %s }\nlists:\n  - %s\n' "$SINKHOLE" "$lst" >"$T/$inst.yaml"
		export LANHMANHD_EXTRA_YAML=$T/$inst.yaml
		# --check-config would parse the whole list before the timed start (and gives up after 20 s)
		export LANHMANHD_CHECK_CONFIG=0
		snap=$T/$inst/state/blocklists.set
		take_port

		timed_start lanhmanh "$PORT" "$inst" "$expect"
		record load lanhmanh "$f" first "${RESOLVER_PID[$inst]}" "$TIMER_JSON" "$(lanhmanh_lists "$inst")"
		stop_instance "$inst"
		[[ -f $snap ]] || bench_die "$inst wrote no snapshot ($snap)"

		timed_start lanhmanh "$PORT" "$inst" "$expect"
		pid=${RESOLVER_PID[$inst]}
		record load lanhmanh "$f" snapshot "$pid" "$TIMER_JSON" "$(lanhmanh_lists "$inst")" "$snap"
		# It reads the list files again after READY, and swaps the compiled set in.
		for ((k = 0; k < LOAD_TIMEOUT * 10; k++)); do
			[[ $(lanhmanh_lists "$inst") == *compiled* ]] && break
			sleep 0.1
		done
		sleep 1
		record load lanhmanh "$f" "snapshot+rebuilt" "$pid" "{}" "$(lanhmanh_lists "$inst")" "$snap"
		if [[ $THROUGHPUT == 1 && $f == domains ]]; then
			blocked_run "$inst"
			record load lanhmanh "$f" "snapshot+rebuilt+${BLOCKED_DURATION}s" "$pid" "{}" "after dnsperf on listed names" "$snap"
			# kept for the cached runs with the list
			unset LANHMANHD_EXTRA_YAML LANHMANHD_CHECK_CONFIG
			continue
		fi
		stop_instance "$inst"
		unset LANHMANHD_EXTRA_YAML LANHMANHD_CHECK_CONFIG
	done
fi

# ---------------------------------------------------------------------------------------------
# peers: the RPZ

if [[ " ${resolvers[*]} " == *" unbound "* ]]; then
	cat >"$T/unbound-rpz.conf" <<-EOF
		rpz:
		  name: rpz.bench.
		  zonefile: "$T/list.rpz"
		  rpz-log: no
	EOF
	take_port
	# unbound-checkconf loads the RPZ as unbound does (8 min, 12 GB for 10M names): skipped
	UNBOUND_CHECK_CONFIG=0 UNBOUND_MODULES="respip iterator" UNBOUND_EXTRA_CONF=$T/unbound-rpz.conf \
		timed_start unbound "$PORT" unbound-rpz NXDOMAIN
	sleep 1
	record load unbound rpz first "${RESOLVER_PID[unbound-rpz]}" "$TIMER_JSON"
	if [[ $THROUGHPUT == 1 ]]; then
		blocked_run unbound-rpz
		record load unbound rpz "first+${BLOCKED_DURATION}s" "${RESOLVER_PID[unbound-rpz]}" "{}" "after dnsperf on listed names"
	fi
	stop_instance unbound-rpz
fi

if [[ " ${resolvers[*]} " == *" kresd "* ]]; then
	echo "policy.add(policy.rpz(policy.DENY, '$T/list.rpz', true))" >"$T/kresd-rpz.lua"
	take_port
	KRESD_EXTRA_CONF=$T/kresd-rpz.lua timed_start kresd "$PORT" kresd-rpz NXDOMAIN
	sleep 1
	record load kresd rpz first "${RESOLVER_PID[kresd-rpz]}" "$TIMER_JSON"
	if [[ $THROUGHPUT == 1 ]]; then
		blocked_run kresd-rpz
		record load kresd rpz "first+${BLOCKED_DURATION}s" "${RESOLVER_PID[kresd-rpz]}" "{}" "after dnsperf on listed names"
	fi
	stop_instance kresd-rpz
fi

# ---------------------------------------------------------------------------------------------
# report: load and memory

root=$(dirname "$BENCH_DIR")
git=$(git -C "$root" describe --always --dirty 2>/dev/null || echo "no commit")
ver_lm=-
[[ -n ${LANHMANHD:-} ]] && ver_lm="$("$LANHMANHD" --version 2>&1 | head -n 1), sha256 $(sha256sum "$LANHMANHD" | cut -c1-12)"
params=$("$BENCH_PY" - "$NAMES" "$RPZ_WILDCARDS" "$ver_lm" "$(unbound -V 2>/dev/null | sed -n 's/^Version //p')" \
	"$(kresd --version 2>/dev/null | head -n 1)" "$PIN" "$(nsd -v 2>&1 | head -n 1)" \
	"$(dnsperf -h 2>&1 | sed -n 's/^Version //p')" "$CLIENTS" "$OUTSTANDING" <<-'EOF'
		import json, os, sys
		a = sys.argv[1:]
		cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
		print(json.dumps({"names": int(a[0]), "rpz_wildcards": a[1] == "1", "lanhmanhd": a[2],
		    "unbound": a[3], "kresd": a[4], "pinned": a[5] == "1", "nsd": a[6], "dnsperf": a[7],
		    "clients": int(a[8]), "outstanding": int(a[9]), "cpus": os.cpu_count(), "cpu_model": cpu}))
	EOF
)
echo
echo "lanhmanhd: $ver_lm; tree $git; loadavg at the end $(bench_loadavg)"
benchlib lists-report --records "$RECORDS" --results-dir "$RESULTS_DIR" --git "$git" --params "$params" ||
	bench_die "lists-report failed"

if [[ -s $T/runs-blocked.jsonl ]]; then
	benchlib report --bench lists-blocked --runs "$T/runs-blocked.jsonl" --subject lanhmanh-domains \
		--names "$NAMES" --duration "$BLOCKED_DURATION" --results-dir "$RESULTS_DIR" --git "$git" \
		--params "$params"
fi

# ---------------------------------------------------------------------------------------------
# cached names with and without the list (lanhmanhd only), interleaved; perf on one more run

if [[ $THROUGHPUT == 1 && -n ${RESOLVER_PID[lanhmanh-domains]:-} && -n ${RESOLVER_PID[lanhmanh-base]:-} ]]; then
	MEASURE_QUERIES=$T/queries.txt
	MEASURE_RUNS=$T/runs-cached.jsonl
	cached=(lanhmanh-domains lanhmanh-base)
	for r in "${cached[@]}"; do measure_warm "$r"; done
	bench_busy_check
	for ((round = 1; round <= ROUNDS; round++)); do
		for r in "${cached[@]}"; do
			measure_run "$r" "$round"
			sleep 1
		done
	done
	benchlib report --bench lists-cached --runs "$MEASURE_RUNS" --subject lanhmanh-domains \
		--names "$CACHED_NAMES" --duration "$DURATION" --results-dir "$RESULTS_DIR" --git "$git" \
		--params "$params"
	if [[ $PERF == 1 ]]; then
		pid=${RESOLVER_PID[lanhmanh-domains]}
		bench_spawn perf "$T/perf.log" perf record -F 4999 -p "$pid" -o "$T/perf.data" -- sleep "$DURATION"
		perf_pid=$BENCH_LAST_PID
		MEASURE_RUNS=$T/runs-perf.jsonl measure_run lanhmanh-domains 1
		wait "$perf_pid"
		bench_forget "$perf_pid"
		perf report -i "$T/perf.data" --stdio --sort symbol 2>/dev/null | grep -v '^#' | grep '%' >"$T/perf-all.txt"
		echo
		echo "perf record -F 4999 -p PID (lanhmanhd with the list, cached names): samples $(perf report -i "$T/perf.data" --stdio 2>/dev/null | sed -n 's/^# Samples: //p' | head -n 1); top symbols (self):"
		head -n 15 "$T/perf-all.txt"
		echo "symbols of the blocklists and the policy (bl_*, pol_*):"
		# probe is set.c's static bucket probe, called by bl_set_lookup
		grep -E '\] (bl_|pol_|probe )' "$T/perf-all.txt" || echo "  none sampled"
		awk '($3 ~ /^(bl_|pol_decide)/ || $3 == "probe") { s += $1 } END { printf "  bl_*, probe and pol_decide_*: %.2f%% of the samples (pol_networks_lookup is there without lists too)\n", s }' "$T/perf-all.txt"
		mkdir -p "$RESULTS_DIR" && cp "$T/perf-all.txt" "$RESULTS_DIR/lists-perf.txt"
	fi
fi
