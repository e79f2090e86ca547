# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash disable=SC2034
#
# One measured dnsperf run against a resolver started by resolver_start, and what is recorded
# around it. Needs common.sh and daemons.sh, and:
#   MEASURE_QUERIES   the dnsperf query file
#   MEASURE_RUNS      the file the run records go to (JSON lines)
#   CLIENTS, OUTSTANDING, DURATION, DNSPERF_ARGS (optional)
# Each run appends one JSON line (benchlib.py record) to $MEASURE_RUNS; `benchlib report` turns
# them into the table.

# measure_dnsperf NAME OUTFILE ARGS...: dnsperf against resolver NAME; fails the benchmark when
# dnsperf fails or the resolver died meanwhile.
measure_dnsperf() {
	local name=$1 out=$2
	shift 2
	# shellcheck disable=SC2086
	bench_dnsperf "$out" -s 127.0.0.1 -p "${RESOLVER_PORT[$name]}" -d "$MEASURE_QUERIES" \
		-c "$CLIENTS" "$@" ${DNSPERF_ARGS:-} || bench_die "dnsperf against $name failed"
	bench_alive "${RESOLVER_PID[$name]}" || bench_die "$name (pid ${RESOLVER_PID[$name]}) died under load"
}

# measure_warm NAME: every name of the query file once, gently (50 in flight, so that neither
# nsd nor the resolver drops any); again, up to 3 times, while some were lost.
measure_warm() {
	local r=$1 attempt up0 json lost out
	up0=$(nsd_queries)
	for attempt in 1 2 3; do
		out=$BENCH_TMP/warm-$r-$attempt.txt
		measure_dnsperf "$r" "$out" -n 1 -q 50 -t 5
		json=$(benchlib parse-dnsperf "$out") || bench_die "cannot read dnsperf's output ($out)"
		lost=$("$BENCH_PY" -c 'import json,sys; print(json.loads(sys.argv[1])["lost"])' "$json")
		bench_log "warmed $r: $json"
		((lost == 0)) && break
		bench_warn "$r: $lost queries lost while warming, warming again"
	done
	# Each name should reach nsd once (the readiness probe's name was asked already): this
	# checks that nsd's counter, which proves below that measured runs were all cache hits,
	# counts what it should.
	bench_log "$r: nsd answered $(($(nsd_queries) - up0)) queries while $r warmed" \
		"($(wc -l <"$MEASURE_QUERIES") names in the query file)"
}

# measure_run NAME ROUND: the measured run. Around dnsperf: the resolver's CPU ticks (all its
# threads), the box's busy ticks, UDP receive-buffer drops (all sockets, and the resolver's
# listening port alone), nsd's query count (cache misses), wall time.
measure_run() {
	local r=$1 round=$2 pid out load up0 up1 ups drop0 drop1 ddrop0 ddrop1 t0 t1 busy0 busy1 ns0 ns1 line
	pid=${RESOLVER_PID[$r]}
	out=$BENCH_TMP/run-$round-$r.txt
	load=$(bench_loadavg)
	up0=$(nsd_queries)
	drop0=$(bench_udp_drops)
	ddrop0=$(bench_udp_port_drops "${RESOLVER_PORT[$r]}")
	t0=$(bench_cpu_ticks "$pid")
	busy0=$(bench_busy_ticks)
	ns0=$(date +%s%N)
	measure_dnsperf "$r" "$out" -l "$DURATION" -q "$OUTSTANDING"
	ns1=$(date +%s%N)
	busy1=$(bench_busy_ticks)
	t1=$(bench_cpu_ticks "$pid")
	drop1=$(bench_udp_drops)
	ddrop1=$(bench_udp_port_drops "${RESOLVER_PORT[$r]}")
	up1=$(nsd_queries)
	ups=-1
	((up0 >= 0 && up1 >= 0)) && ups=$((up1 - up0))
	line=$(benchlib record --daemon "$r" --round "$round" --dnsperf-out "$out" \
		--ticks-before "$t0" --ticks-after "$t1" --clk-tck "$BENCH_CLK_TCK" \
		--wall-ns $((ns1 - ns0)) --loadgen-cpu-s "$BENCH_DNSPERF_CPU_S" \
		--box-busy-ticks $((busy1 - busy0)) --upstream-queries "$ups" \
		--udp-drops $((drop1 - drop0)) --daemon-udp-drops $((ddrop1 - ddrop0)) \
		--loadavg "$load") || bench_die "could not record the run against $r"
	echo "$line" >>"${MEASURE_RUNS:?}"
}
