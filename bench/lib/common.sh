# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash disable=SC2034
#
# Shared by the bench/*.sh scripts: logging, a temp dir, processes started in the background and
# stopped by PID on every exit path, CPU ticks from /proc, CPU pinning, dnsperf runs.
#
# Source it, then call bench_init. Every process started with bench_spawn is stopped (TERM, then
# KILL after 5 s) by its PID when the script exits for any reason, newest first.

BENCH_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=$(dirname "$BENCH_LIB")
# Debian's python: the python3 first on PATH may be another one, without python3-dnspython.
BENCH_PY=${BENCH_PY:-/usr/bin/python3}

bench_log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bench_warn() { printf 'warning: %s\n' "$*" >&2; }
bench_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# bench_need BINARY [HINT]: fail clearly when a program is missing.
bench_need() {
	command -v "$1" >/dev/null 2>&1 || bench_die "'$1' not found${2:+ ($2)}"
}

benchlib() { "$BENCH_PY" "$BENCH_LIB/benchlib.py" "$@"; }

# ---------------------------------------------------------------------------------------------
# processes

BENCH_PIDS=()
BENCH_PNAMES=()
BENCH_TMP=

# bench_spawn NAME LOGFILE CMD...: start CMD in the background, stdout+stderr to LOGFILE.
# Sets BENCH_LAST_PID. CMD is exec'ed by the forked shell, so the PID is the program's own
# (env and taskset exec too).
bench_spawn() {
	local name=$1 logf=$2
	shift 2
	"$@" >"$logf" 2>&1 &
	BENCH_LAST_PID=$!
	BENCH_PIDS+=("$BENCH_LAST_PID")
	BENCH_PNAMES+=("$name")
	bench_log "started $name (pid $BENCH_LAST_PID): $*"
}

bench_alive() {
	local pid=$1 st
	[[ -r /proc/$pid/stat ]] || return 1
	st=$(</proc/"$pid"/stat) 2>/dev/null || return 1
	st=${st##*) }
	[[ ${st%% *} != Z && ${st%% *} != X ]]
}

# bench_stop PID NAME: TERM, wait up to 5 s, then KILL; reap it.
bench_stop() {
	local pid=$1 name=${2:-process} i
	if bench_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			bench_alive "$pid" || break
			sleep 0.1
		done
		if bench_alive "$pid"; then
			bench_warn "$name (pid $pid) ignored SIGTERM for 5 s, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	bench_forget "$pid"
	return 0
}

# bench_forget PID: a process that was reaped is no longer ours to stop (its PID may be reused).
bench_forget() {
	local i
	for i in "${!BENCH_PIDS[@]}"; do
		if [[ ${BENCH_PIDS[i]} == "$1" ]]; then unset 'BENCH_PIDS[i]' 'BENCH_PNAMES[i]'; fi
	done
}

bench_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	# A trap may run inside a redirected command group: talk to the script's own stderr.
	[[ -n ${BENCH_STDERR:-} ]] && exec 2>&"$BENCH_STDERR"
	trap '' INT TERM # finish stopping what we started even if ^C is pressed again
	local idx=("${!BENCH_PIDS[@]}")
	for ((i = ${#idx[@]} - 1; i >= 0; i--)); do
		bench_stop "${BENCH_PIDS[idx[i]]}" "${BENCH_PNAMES[idx[i]]}"
	done
	if [[ -n $BENCH_TMP && -d $BENCH_TMP ]]; then
		if [[ ${KEEP_TMP:-0} == 1 || $rc != 0 ]]; then
			bench_log "kept $BENCH_TMP (logs, configs, dnsperf output)"
		else
			rm -rf "$BENCH_TMP"
		fi
	fi
	exit "$rc"
}

# bench_init NAME: temp dir in $BENCH_TMP, traps.
bench_init() {
	BENCH_TMP=$(mktemp -d "/tmp/lanhmanh-bench-$1.XXXXXX") || bench_die "mktemp failed"
	exec {BENCH_STDERR}>&2
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# bench_free_ports N: prints N free ports on 127.0.0.1 (UDP and TCP).
bench_free_ports() { benchlib ports "$1"; }

# ---------------------------------------------------------------------------------------------
# CPU accounting and pinning

BENCH_CLK_TCK=$(getconf CLK_TCK)

# bench_cpu_ticks PID: utime+stime of the whole process (all its threads), in clock ticks.
bench_cpu_ticks() {
	local st f
	st=$(</proc/"$1"/stat) || bench_die "cannot read /proc/$1/stat (did the process die?)"
	# Field 2 (comm) may hold spaces and parentheses: cut after the last ')'. What is left
	# starts at field 3 (state); utime and stime are fields 14 and 15.
	st=${st##*) }
	read -r -a f <<<"$st"
	echo $((f[11] + f[12]))
}

# Pinning: on a 2-core box the load generator and the daemon under test would otherwise
# migrate over both cores and fight. PIN=1 (default when there are 2+ cores and taskset exists)
# puts the daemon under test on CPU_DAEMON and dnsperf and nsd on CPU_LOAD.
BENCH_NCPU=$(nproc)
: "${CPU_DAEMON:=1}" "${CPU_LOAD:=0}"
if [[ -z ${PIN:-} ]]; then
	if ((BENCH_NCPU >= 2)) && command -v taskset >/dev/null; then PIN=1; else PIN=0; fi
fi

# bench_pin CPU: the words to put before a command to run it on CPU (none with PIN=0), for use
# unquoted: bench_spawn NAME LOG $(bench_pin "$CPU_DAEMON") CMD...
bench_pin() {
	if [[ $PIN == 1 ]]; then echo "taskset -c $1"; fi
}

# bench_udp_drops: the kernel's count of UDP datagrams dropped because a socket's receive buffer
# was full (RcvbufErrors in /proc/net/snmp), all sockets of this network namespace together.
bench_udp_drops() {
	awk '$1 == "Udp:" { if (!n) { for (i = 2; i <= NF; i++) col[$i] = i; n = 1 } else { print $col["RcvbufErrors"]; exit } }' /proc/net/snmp
}

# bench_udp_port_drops PORT: datagrams dropped so far by the UDP sockets bound to 127.0.0.1:PORT
# (the last column of /proc/net/udp, per socket: so the daemon's own, apart from dnsperf's).
bench_udp_port_drops() {
	awk -v want="$(printf '0100007F:%04X' "$1")" '$2 == want { d += $NF } END { print d + 0 }' /proc/net/udp
}

# bench_busy_ticks: clock ticks all CPUs spent busy (not idle, not iowait) since boot; steal
# counts as busy (the hypervisor gave the time to someone else).
bench_busy_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

bench_loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_busy_check: warn when something else is eating CPU before a measurement.
bench_busy_check() {
	local l1
	l1=$(cut -d' ' -f1 /proc/loadavg)
	if awk -v l="$l1" -v n="$BENCH_NCPU" 'BEGIN { exit !(l > 0.5 * n) }'; then
		bench_warn "load average is $l1 on $BENCH_NCPU cores: other work is running, figures will be noisy"
		# top's second sample covers the last half second, not each process's lifetime.
		top -b -n 2 -d 0.5 -w 120 2>/dev/null | awk '/^top -/ { n++ } n == 2 && /^ *[0-9]+ / && $9 > 5 { print "  " $1, $9 "%", $12 }' | head -n 6 >&2
	fi
}

# ---------------------------------------------------------------------------------------------
# dnsperf

# bench_children_cpu: sets BENCH_CHILDREN_CPU to the user+system CPU seconds of this shell's
# reaped children so far (the second line of the `times` builtin). Not usable in $(...): a
# subshell has children of its own.
bench_children_cpu() {
	times >"$BENCH_TMP/.times"
	BENCH_CHILDREN_CPU=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); t += p[1] * 60 + p[2] } printf "%.3f", t }' \
		"$BENCH_TMP/.times")
}

# bench_dnsperf OUTFILE DNSPERF-ARGS...: run dnsperf on CPU_LOAD, output to OUTFILE; fails
# (after printing the output) when dnsperf does. It runs in the background and is waited for,
# so that INT/TERM stop the benchmark at once (and dnsperf with it, by its PID).
# Sets BENCH_DNSPERF_CPU_S: dnsperf's own CPU seconds (about 1 per second of run when the load
# generator, not the daemon, sets the pace).
bench_dnsperf() {
	local out=$1 pin c0 c1 pid rc
	shift
	pin=$(bench_pin "$CPU_LOAD")
	bench_children_cpu
	c0=$BENCH_CHILDREN_CPU
	# shellcheck disable=SC2086
	$pin dnsperf "$@" >"$out" 2>&1 &
	pid=$!
	BENCH_PIDS+=("$pid")
	BENCH_PNAMES+=(dnsperf)
	wait "$pid"
	rc=$?
	bench_forget "$pid"
	bench_children_cpu
	c1=$BENCH_CHILDREN_CPU
	BENCH_DNSPERF_CPU_S=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
	if ((rc != 0)); then
		grep -v '^\[Timeout\]' "$out" >&2
		bench_warn "dnsperf exited with $rc: dnsperf $*"
		return 1
	fi
}
