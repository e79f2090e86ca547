#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck source-path=SCRIPTDIR
#
# National list sync (issue 5): how long from a NOTIFY to enforcement when the authority's
# 1M-trigger RPZ zone changes by a 10k-trigger IXFR, against unbound's RPZ transfer from the same
# primary. knotd is the primary (zone-file differences served by IXFR, a NOTIFY at each change);
# lanhmanhd (lists: rpz_primary) and unbound (rpz: primary) are its secondaries, both forwarding to
# one nsd. See bench/README.md, "National list sync", for the method.
#
#   bench/sync.sh                   each resolver in turn, with a knotd of its own: 1M, 5 rounds
#   bench/sync.sh --concurrent      both resolvers on one knotd, notified together
#
# Settings (environment): LANHMANHD, NAMES, ROUNDS, ADD, REMOVE, RESOLVERS, RPZ_WILDCARDS,
# INTERVAL_MS, STREAM_QPS, VERIFY, UNBOUND_ZONEFILE, LOAD_TIMEOUT, ROUND_TIMEOUT, PIN,
# RESULTS_DIR, KEEP_TMP. --help.

set -uo pipefail
# Both resolvers at once: let the scheduler spread them over the cores unless PIN is given.
for a in "$@"; do [[ $a == --concurrent && -z ${PIN:-} ]] && PIN=0; done
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/daemons.sh
. "$BENCH_LIB/daemons.sh"

usage() {
	cat <<-EOF
		usage: bench/sync.sh [--concurrent] [--names N] [--rounds N] [--add N] [--remove N]
		                     [--resolvers "lanhmanh unbound"]

		knotd serves an RPZ zone of N triggers (rpz.national.test.); each resolver transfers it
		(AXFR) from the start; then ROUNDS times the zone gains ADD new triggers and loses REMOVE,
		knotc zone-reload makes knotd send its NOTIFYs, and each resolver is polled every
		INTERVAL_MS until the new triggers are blocked (NXDOMAIN) and a removed one resolves.

		  --concurrent     both resolvers secondaries of one knotd, notified together (PIN=0
		                   unless set); default: each in turn with a fresh knotd of its own
		                   (daemon pinned to CPU 1, knotd, nsd and the poller to CPU 0)
		  --names N        triggers in the zone (NAMES, default 1000000)
		  --rounds N       update rounds (ROUNDS, default 5)
		  --add N          new triggers per round (ADD, default 10000)
		  --remove N       triggers removed per round (REMOVE, default 10000)
		  --resolvers L    (RESOLVERS, default "lanhmanh unbound")

		Environment:
		  RPZ_WILDCARDS=0    1: each name also as '*.name CNAME .' (2 records per trigger)
		  INTERVAL_MS=10     poll interval of the probes (first/last new trigger, a removed one)
		  STREAM_QPS=200     queries per second to each resolver during each round (listed and
		                     unlisted names): lost or wrong answers are counted
		  VERIFY=1000        after each round, this many added and as many removed triggers are
		                     checked one by one
		  UNBOUND_ZONEFILE=1 unbound keeps the zone in a file (as lanhmanhd keeps its state_dir);
		                     0: in memory only
		  LOAD_TIMEOUT=900 ROUND_TIMEOUT=180   seconds
		  PIN=1 KEEP_TMP=1 LANHMANHD=… RESULTS_DIR=…   as for the other scripts
	EOF
}

NAMES=${NAMES:-1000000}
ROUNDS=${ROUNDS:-5}
ADD=${ADD:-10000}
REMOVE=${REMOVE:-10000}
RESOLVERS=${RESOLVERS:-lanhmanh unbound}
RPZ_WILDCARDS=${RPZ_WILDCARDS:-0}
INTERVAL_MS=${INTERVAL_MS:-10}
STREAM_QPS=${STREAM_QPS:-200}
VERIFY=${VERIFY:-1000}
UNBOUND_ZONEFILE=${UNBOUND_ZONEFILE:-1}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-900}
ROUND_TIMEOUT=${ROUND_TIMEOUT:-180}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
MODE=turns
while (($#)); do
	case $1 in
	--concurrent) MODE=concurrent ;;
	--names) NAMES=${2:?}; shift ;;
	--rounds) ROUNDS=${2:?}; shift ;;
	--add) ADD=${2:?}; shift ;;
	--remove) REMOVE=${2:?}; shift ;;
	--resolvers) RESOLVERS=${2:?}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; bench_die "unknown argument '$1'" ;;
	esac
	shift
done
for v in NAMES ROUNDS ADD INTERVAL_MS LOAD_TIMEOUT ROUND_TIMEOUT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer, not '${!v}'"
done
for v in REMOVE STREAM_QPS VERIFY; do
	[[ ${!v} =~ ^[0-9]+$ ]] || bench_die "$v must be a number, not '${!v}'"
done
((ROUNDS * REMOVE < NAMES)) || bench_die "ROUNDS x REMOVE must stay below NAMES"
read -r -a resolvers <<<"$RESOLVERS"
READY_TIMEOUT=$LOAD_TIMEOUT
ZONE=rpz.national.test.

[[ -x $BENCH_PY ]] || bench_die "$BENCH_PY not found (Debian's python3)"
"$BENCH_PY" -c 'import dns.message' 2>/dev/null || bench_die "$BENCH_PY lacks dnspython (apt-get install python3-dnspython)"
bench_need knotd "apt-get install knot"
bench_need knotc "apt-get install knot"
[[ $PIN == 1 ]] && bench_need taskset "util-linux"
for r in "${resolvers[@]}"; do resolver_check "$r"; done

bench_init sync
T=$BENCH_TMP
STARTS=$T/starts.jsonl
ROUNDS_OUT=$T/rounds.jsonl
: >"$STARTS"
: >"$ROUNDS_OUT"
bench_log "temp dir $T; $NAMES triggers, $ROUNDS rounds of +$ADD/-$REMOVE; mode $MODE; PIN=$PIN; daemons: ${resolvers[*]}"

zone_args=(--names "$NAMES" --rounds "$ROUNDS" --add "$ADD" --remove "$REMOVE"
	--wildcards "$RPZ_WILDCARDS" --origin "$ZONE" --zone-file "$T/zone.rpz")

# ports: nsd, knotd, the NOTIFY catcher, one per resolver
read -r -a ports <<<"$(bench_free_ports $((3 + ${#resolvers[@]})))" || bench_die "no free ports"
NSD_P=${ports[0]} KNOT_P=${ports[1]} CATCHER_P=${ports[2]}
declare -A PORT_OF=()
i=3
for r in "${resolvers[@]}"; do PORT_OF[$r]=${ports[i]}; i=$((i + 1)); done

# The upstream: the root zone with a wildcard, so that every name that is not blocked resolves
# (NOERROR, 192.0.2.1) and a blocked one (NXDOMAIN, RPZ 'CNAME .') cannot be mistaken for it.
mkdir -p "$T/nsd"
cat >"$T/nsd/root.zone" <<-EOF
	\$ORIGIN .
	\$TTL 3600
	@ SOA ns.sync.test. hostmaster.sync.test. 1 3600 900 604800 60
	@ NS ns.sync.test.
	ns.sync.test. A 127.0.0.1
	probe.sync.test. A 10.0.0.1
	* 60 A 192.0.2.1
EOF
PROBE_NAME=probe.sync.test.
# nsd limits wildcard answers to 200/s per /24 by default (RRL): every unlisted name here is one
NSD_SERVER_CONF="  rrl-ratelimit: 0" nsd_start "$NSD_P" . "$T/nsd/root.zone" "$PROBE_NAME"

write_configs() {
	cat >"$T/lanhmanh-lists.yaml" <<-EOF
		lists:
		  - { name: national, category: national, rpz_primary: "127.0.0.1:$KNOT_P", zone: $ZONE }
	EOF
	{
		echo "rpz:"
		echo "  name: $ZONE"
		echo "  primary: 127.0.0.1@$KNOT_P"
		echo "  allow-notify: 127.0.0.1"
		[[ $UNBOUND_ZONEFILE == 1 ]] && echo "  zonefile: \"$T/unbound/${ZONE%.}.zone\""
		echo "  rpz-log: no"
	} >"$T/unbound-rpz.conf"
}

# timed_start NAME: start resolver NAME with its exec stamped, poll the probe trigger every
# INTERVAL_MS until it is blocked; sets TIMER_JSON (as bench/lists.sh's timed_start).
timed_start() {
	local name=$1 d=$T/$1 notify="" timer_pid rc
	mkdir -p "$d"
	[[ $name == lanhmanh ]] && notify=$d/timer-notify.sock
	rm -f "$d/exec.stamp" "$d/timer-notify.sock"
	bench_spawn "$name-timer" "$d/timer.json" "$BENCH_PY" "$BENCH_LIB/benchlib.py" startup-timer \
		--stamp "$d/exec.stamp" ${notify:+--notify "$notify"} --port "${PORT_OF[$name]}" \
		--qname "$BASE_PROBE" --expect NXDOMAIN --interval "$(awk -v m="$INTERVAL_MS" 'BEGIN { print m / 1000 }')" \
		--timeout "$LOAD_TIMEOUT"
	timer_pid=$BENCH_LAST_PID
	if [[ $name == lanhmanh ]]; then
		BENCH_EXEC_WRAP="$BENCH_PY $BENCH_LIB/benchlib.py exec-stamp $d/exec.stamp --" \
			LANHMANH_NOTIFY_SOCKET=$notify LANHMANHD_EXTRA_YAML=$T/lanhmanh-lists.yaml \
			LANHMANHD_LOG_LEVEL=info resolver_start lanhmanh "${PORT_OF[$name]}"
	else
		BENCH_EXEC_WRAP="$BENCH_PY $BENCH_LIB/benchlib.py exec-stamp $d/exec.stamp --" \
			UNBOUND_MODULES="respip iterator" UNBOUND_EXTRA_CONF=$T/unbound-rpz.conf \
			resolver_start "$name" "${PORT_OF[$name]}"
	fi
	wait "$timer_pid"
	rc=$?
	bench_forget "$timer_pid"
	TIMER_JSON=$(grep '^{' "$d/timer.json" | tail -n 1)
	((rc == 0)) || { cat "$d/timer.json" >&2; bench_die "$name: $BASE_PROBE never blocked"; }
}

# run_set NAME...: a fresh knotd notifying our catcher, then these resolvers; their first
# transfer, one after the other; the rounds, all of them polled together; memory after.
run_set() {
	local set=("$@") r kd notify=() targets=() drv rc out n
	kd=$T/knot-$(IFS=-; echo "${set[*]}")
	bench_log "zone version 0 ($NAMES triggers)"
	out=$(benchlib sync-zone "${zone_args[@]}" --version 0) || bench_die "sync-zone failed"
	read -r BASE_PROBE n <<<"$out"
	bench_log "zone: $n triggers, $(wc -l <"$T/zone.rpz") lines, $(du -m "$T/zone.rpz" | cut -f1) MB; probe $BASE_PROBE"
	# the catcher first: knotd notifies its remotes in order, so the catcher's stamp comes
	# before any resolver has the NOTIFY
	notify=("127.0.0.1@$CATCHER_P")
	for r in "${set[@]}"; do notify+=("127.0.0.1@${PORT_OF[$r]}"); done
	local t0=$SECONDS
	knot_start "$kd" "$KNOT_P" "$ZONE" "$T/zone.rpz" "${notify[@]}"
	bench_log "knotd serves $ZONE ($((SECONDS - t0)) s; RSS $(awk '/^VmRSS/ { print int($2 / 1024) " MiB" }' /proc/"$KNOT_PID"/status))"
	write_configs
	for r in "${set[@]}"; do
		timed_start "$r"
		bench_log "$r: enforcing after $(echo "$TIMER_JSON" | "$BENCH_PY" -c 'import json,sys; print(json.load(sys.stdin)["blocked_s"])') s"
		sleep 1
		benchlib sync-record --daemon "$r" --when axfr --pid "${RESOLVER_PID[$r]}" --timer "$TIMER_JSON" \
			--knot-log "$KNOT_LOG" --serial 1 >>"$STARTS" || bench_die "sync-record failed"
		if [[ $r == lanhmanh ]]; then
			targets+=(--target "$r,${PORT_OF[$r]},${RESOLVER_PID[$r]},$T/lanhmanh/stderr.log,$T/lanhmanh/control.sock"
				--lanhmanh "$(dirname "$LANHMANHD")/lanhmanh")
		else
			targets+=(--target "$r,${PORT_OF[$r]},${RESOLVER_PID[$r]}")
		fi
	done
	bench_busy_check
	# the rounds: stdout (one JSON line per round and resolver) to the file, progress to stderr
	# shellcheck disable=SC2046
	$(bench_pin "$CPU_LOAD") "$BENCH_PY" "$BENCH_LIB/benchlib.py" sync-rounds "${zone_args[@]}" \
		--knot-socket "$KNOT_SOCK" --knot-log "$KNOT_LOG" --catcher-port "$CATCHER_P" "${targets[@]}" \
		--interval "$(awk -v m="$INTERVAL_MS" 'BEGIN { print m / 1000 }')" --stream-qps "$STREAM_QPS" \
		--verify "$VERIFY" --timeout "$ROUND_TIMEOUT" >>"$ROUNDS_OUT" &
	drv=$!
	BENCH_PIDS+=("$drv")
	BENCH_PNAMES+=(sync-rounds)
	wait "$drv"
	rc=$?
	bench_forget "$drv"
	((rc == 0)) || bench_die "sync-rounds failed ($rc)"
	sleep 1
	for r in "${set[@]}"; do
		benchlib sync-record --daemon "$r" --when after --pid "${RESOLVER_PID[$r]}" >>"$STARTS" ||
			bench_die "sync-record failed"
		if [[ $r == lanhmanh ]]; then
			bench_log "lanhmanh lists:"
			"$(dirname "$LANHMANHD")/lanhmanh" -s "$T/lanhmanh/control.sock" lists 2>&1 | sed 's/^/  /' >&2
			if grep -vE '^[0-9T:.-]+ (info|notice|debug) ' "$T/lanhmanh/stderr.log" | grep -q .; then
				bench_warn "lanhmanhd logged warnings or errors:"
				grep -vE '^[0-9T:.-]+ (info|notice|debug) ' "$T/lanhmanh/stderr.log" | head -n 20 >&2
			fi
		fi
		bench_stop "${RESOLVER_PID[$r]}" "$r"
		unset "RESOLVER_PID[$r]"
	done
	bench_log "knotd's transfers:"
	grep -E 'XFR, outgoing|notify, outgoing' "$KNOT_LOG" | sed 's/^/  /' >&2
	bench_stop "$KNOT_PID" knotd
}

if [[ $MODE == concurrent ]]; then
	run_set "${resolvers[@]}"
else
	for r in "${resolvers[@]}"; do run_set "$r"; done
fi

# ---------------------------------------------------------------------------------------------
# report

root=$(dirname "$BENCH_DIR")
git=$(git -C "$root" describe --always --dirty 2>/dev/null || echo "no commit")
ver_lm=-
[[ -n ${LANHMANHD:-} ]] && ver_lm="$("$LANHMANHD" --version 2>&1 | head -n 1), sha256 $(sha256sum "$LANHMANHD" | cut -c1-12)"
params=$("$BENCH_PY" - "$NAMES" "$ROUNDS" "$ADD" "$REMOVE" "$MODE" "$RPZ_WILDCARDS" "$INTERVAL_MS" \
	"$STREAM_QPS" "$VERIFY" "$UNBOUND_ZONEFILE" "$PIN" "$ver_lm" \
	"$(unbound -V 2>/dev/null | sed -n 's/^Version //p')" "$(knotd -V 2>&1 | head -n 1)" \
	"$(nsd -v 2>&1 | head -n 1)" <<-'EOF'
		import json, os, sys
		a = sys.argv[1:]
		cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
		print(json.dumps({"names": int(a[0]), "rounds": int(a[1]), "add": int(a[2]), "remove": int(a[3]),
		    "mode": a[4], "rpz_wildcards": a[5] == "1", "interval_ms": int(a[6]), "stream_qps": int(a[7]),
		    "verify": int(a[8]), "unbound_zonefile": a[9] == "1", "pinned": a[10] == "1",
		    "lanhmanhd": a[11], "unbound": a[12], "knotd": a[13], "nsd": a[14],
		    "cpus": os.cpu_count(), "cpu_model": cpu}))
	EOF
)
echo
echo "lanhmanhd: $ver_lm; tree $git; loadavg at the end $(bench_loadavg)"
benchlib sync-report --starts "$STARTS" --rounds "$ROUNDS_OUT" --results-dir "$RESULTS_DIR" \
	--git "$git" --params "$params" || bench_die "sync-report failed"
