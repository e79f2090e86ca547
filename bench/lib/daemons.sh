# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash disable=SC2034
#
# Starting the servers a benchmark needs, each with a generated config in $BENCH_TMP, bound to
# 127.0.0.1 only, run as the current user in the foreground, and waited for (bounded).
#
# The upstream: nsd_start. The resolvers under test: resolver_start NAME PORT, where NAME is one
# of $BENCH_RESOLVERS; each resolver_start_NAME forwards everything to $NSD_PORT with one worker
# thread and a 256 MiB cache. A new peer (kresd, say) is one more resolver_start_NAME function.
#
# Needs NSD_PORT (nsd_start sets it) and PROBE_NAME, a name of the zone that readiness probes ask.
# After resolver_start NAME PORT [INSTANCE]: RESOLVER_PID[INSTANCE], RESOLVER_PORT[INSTANCE];
# INSTANCE (default NAME) names the temp subdirectory too, so that two instances of one daemon
# (with and without a list, say) can run side by side.
#
# Hooks for other benchmarks (all optional):
#   BENCH_EXEC_WRAP        words put right before the daemon's binary (e.g. benchlib exec-stamp)
#   LANHMANHD_EXTRA_YAML   a file appended to lanhmanhd's config (lists:, sinkhole:)
#   LANHMANHD_NETWORKS_YAML a file holding lanhmanhd's whole `networks:` section, instead of the
#                          default one network 127.0.0.0/8 (bench/policy.sh: 100k networks)
#   LANHMANH_NOTIFY_SOCKET an sd_notify socket someone else listens on (no listener started)
#   LANHMANHD_LOG_LEVEL    lanhmanhd's log_level (default warning)
#   NSD_SERVER_CONF        lines added to nsd's server: clause (bench/sync.sh: rrl-ratelimit: 0)
#   UNBOUND_MODULES        unbound's module-config (default "iterator")
#   UNBOUND_EXTRA_CONF     a file appended to unbound.conf (an rpz: clause)
#   UNBOUND_CHECK_CONFIG=0 / LANHMANHD_CHECK_CONFIG=0  skip the config check (it reads the lists)
#   KRESD_EXTRA_CONF       a Lua file put before kresd's forwarding rule (policy.rpz)

BENCH_RESOLVERS="lanhmanh unbound"
declare -A RESOLVER_PID=() RESOLVER_PORT=()

: "${READY_TIMEOUT:=30}"

# ---------------------------------------------------------------------------------------------
# nsd: the authoritative upstream

# nsd_start PORT ZONE_ORIGIN ZONE_FILE PROBE_NAME: sets NSD_PID, NSD_PORT, NSD_CONF.
nsd_start() {
	local port=$1 origin=$2 zonefile=$3 probe=$4 d=$BENCH_TMP/nsd
	bench_need nsd "apt-get install nsd"
	bench_need nsd-control "apt-get install nsd"
	mkdir -p "$d"
	NSD_CONF=$d/nsd.conf
	# NSD 4.6: database "" keeps zones in memory only (no nsd.db); username "" and chroot ""
	# keep the current user and root directory; every state file goes to the temp dir. The
	# control socket (a unix path: no keys needed) serves `nsd-control stats_noreset`, whose
	# num.queries tells how many queries reached the upstream, i.e. the resolvers' cache misses.
	cat >"$NSD_CONF" <<-EOF
		server:
		  ip-address: 127.0.0.1@$port
		  do-ip6: no
		  server-count: 1
		  username: ""
		  chroot: ""
		  database: ""
		  zonesdir: "$d"
		  zonelistfile: "$d/zone.list"
		  xfrdfile: "$d/xfrd.state"
		  xfrdir: "$d"
		  pidfile: "$d/nsd.pid"
		  logfile: "$d/nsd.log"
		  verbosity: 1
		  hide-version: yes
		${NSD_SERVER_CONF:-}
		remote-control:
		  control-enable: yes
		  control-interface: "$d/nsd.ctl"
		zone:
		  name: "$origin"
		  zonefile: "$zonefile"
	EOF
	nsd-checkconf "$NSD_CONF" || bench_die "nsd-checkconf rejected $NSD_CONF"
	# shellcheck disable=SC2046
	bench_spawn nsd "$d/stderr.log" $(bench_pin "$CPU_LOAD") nsd -d -c "$NSD_CONF"
	NSD_PID=$BENCH_LAST_PID
	NSD_PORT=$port
	benchlib probe --what nsd --port "$port" --qname "$probe" --pid "$NSD_PID" \
		--timeout "$READY_TIMEOUT" >&2 ||
		{ tail -n 20 "$d/stderr.log" "$d/nsd.log" >&2; bench_die "nsd did not come up"; }
}

# nsd_queries: queries nsd has answered so far (its counters are never reset here).
nsd_queries() {
	local n
	n=$(nsd-control -c "$NSD_CONF" stats_noreset 2>/dev/null | sed -n 's/^num\.queries=//p')
	[[ $n =~ ^[0-9]+$ ]] || { bench_warn "nsd-control stats_noreset gave no num.queries"; echo -1; return; }
	echo "$n"
}

# ---------------------------------------------------------------------------------------------
# knotd: a primary of one zone (bench/sync.sh: the authority's RPZ)

# knot_start DIR PORT ZONE ZONE_FILE [NOTIFY_ADDR...]: knotd serving ZONE from ZONE_FILE on
# 127.0.0.1@PORT, transfers allowed to 127.0.0.0/8, a NOTIFY to each ADDR (HOST@PORT, in that
# order) at every change; `knotc zone-reload` after the file changed makes an IXFR of the
# difference (zonefile-load: difference, journal-content: changes), as the test harness's Knot
# class does. Logs at info to DIR/knotd.log (knotd stamps whole seconds only). One UDP and one
# TCP worker. Sets KNOT_PID, KNOT_SOCK, KNOT_LOG. Waits (READY_TIMEOUT) until it serves ZONE.
knot_start() {
	local d=$1 port=$2 zone=$3 zfile=$4 i ids=()
	shift 4
	bench_need knotd "apt-get install knot"
	bench_need knotc "apt-get install knot"
	mkdir -p "$d"
	{
		printf 'server:\n    rundir: "%s"\n    listen: 127.0.0.1@%s\n' "$d" "$port"
		printf '    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n'
		printf 'database:\n    storage: "%s"\n' "$d"
		printf 'log:\n  - target: stderr\n    any: info\n'
		if (($#)); then
			echo "remote:"
			for ((i = 1; i <= $#; i++)); do
				printf '  - id: notify%d\n    address: %s\n' "$i" "${!i}"
				ids+=("notify$i")
			done
		fi
		printf 'acl:\n  - id: secondaries\n    address: 127.0.0.0/8\n    action: transfer\n'
		printf 'template:\n  - id: default\n    storage: "%s"\n    zonefile-sync: -1\n' "$d"
		printf '    zonefile-load: difference\n    journal-content: changes\n'
		printf 'zone:\n  - domain: %s\n    file: "%s"\n    acl: [secondaries]\n' "$zone" "$zfile"
		if ((${#ids[@]})); then
			local list
			list=$(IFS=,; echo "${ids[*]}")
			printf '    notify: [%s]\n' "${list//,/, }"
		fi
	} >"$d/knot.conf"
	knotc -c "$d/knot.conf" conf-check >/dev/null 2>&1 || bench_die "knotc conf-check rejected $d/knot.conf"
	KNOT_LOG=$d/knotd.log
	KNOT_SOCK=$d/knot.sock
	# shellcheck disable=SC2046
	bench_spawn knotd "$KNOT_LOG" $(bench_pin "$CPU_LOAD") knotd -c "$d/knot.conf"
	KNOT_PID=$BENCH_LAST_PID
	benchlib probe --what knotd --port "$port" --qname "$zone" --qtype SOA --pid "$KNOT_PID" \
		--timeout "$READY_TIMEOUT" >&2 ||
		{ tail -n 20 "$KNOT_LOG" >&2; bench_die "knotd did not serve $zone"; }
	# the control socket comes up after the zones are loaded
	for ((i = 0; i < 100; i++)); do
		[[ -S $KNOT_SOCK ]] && break
		sleep 0.1
	done
	[[ -S $KNOT_SOCK ]] || bench_die "knotd made no control socket $KNOT_SOCK"
}

# ---------------------------------------------------------------------------------------------
# resolvers under test

resolver_start() {
	local name=$1
	declare -F "resolver_start_$name" >/dev/null || bench_die "unknown resolver '$name' (known: $BENCH_RESOLVERS)"
	"resolver_start_$name" "$2" "${3:-$name}"
}

# resolver_check NAME: fail early, before starting anything, when NAME cannot run here.
resolver_check() {
	declare -F "resolver_check_$1" >/dev/null || bench_die "unknown resolver '$1' (known: $BENCH_RESOLVERS)"
	"resolver_check_$1"
}

# -- unbound ----------------------------------------------------------------------------------

resolver_check_unbound() {
	bench_need unbound "apt-get install unbound"
	bench_need unbound-checkconf "apt-get install unbound"
	UNBOUND_BIN=$(command -v unbound)
}

resolver_start_unbound() {
	local port=$1 inst=${2:-unbound} d=$BENCH_TMP/${2:-unbound}
	mkdir -p "$d"
	# A forwarder like lanhmanh's forward mode: iterator only (no validator: nsd's zone is not
	# signed and lanhmanh does not validate in forward mode), one thread, caches as large as
	# lanhmanh's. Everything else is left at unbound's defaults.
	cat >"$d/unbound.conf" <<-EOF
		server:
		  verbosity: 1
		  num-threads: 1
		  interface: 127.0.0.1@$port
		  port: $port
		  do-ip6: no
		  access-control: 127.0.0.0/8 allow
		  do-not-query-localhost: no
		  chroot: ""
		  username: ""
		  directory: "$d"
		  pidfile: "$d/unbound.pid"
		  logfile: ""
		  use-syslog: no
		  do-daemonize: no
		  module-config: "${UNBOUND_MODULES:-iterator}"
		  # unbound answers test. (RFC 6761) itself with NXDOMAIN unless told not to.
		  local-zone: "test." nodefault
		  qname-minimisation: no
		  msg-cache-size: 256m
		  rrset-cache-size: 256m
		remote-control:
		  control-enable: no
		forward-zone:
		  name: "."
		  forward-addr: 127.0.0.1@$NSD_PORT
	EOF
	if [[ -n ${UNBOUND_EXTRA_CONF:-} ]]; then
		cat "$UNBOUND_EXTRA_CONF" >>"$d/unbound.conf" || bench_die "cannot read UNBOUND_EXTRA_CONF=$UNBOUND_EXTRA_CONF"
	fi
	# unbound-checkconf loads rpz zone files too: UNBOUND_CHECK_CONFIG=0 skips it for big lists.
	if [[ ${UNBOUND_CHECK_CONFIG:-1} == 1 ]]; then
		unbound-checkconf "$d/unbound.conf" >/dev/null || bench_die "unbound-checkconf rejected $d/unbound.conf"
	fi
	# shellcheck disable=SC2046,SC2086
	bench_spawn "$inst" "$d/stderr.log" $(bench_pin "$CPU_DAEMON") ${BENCH_EXEC_WRAP:-} "$UNBOUND_BIN" -d -c "$d/unbound.conf"
	RESOLVER_PID[$inst]=$BENCH_LAST_PID
	RESOLVER_PORT[$inst]=$port
	benchlib probe --what "$inst" --port "$port" --qname "$PROBE_NAME" --pid "$BENCH_LAST_PID" \
		--timeout "$READY_TIMEOUT" >&2 ||
		{ tail -n 20 "$d/stderr.log" >&2; bench_die "unbound did not come up"; }
}

# -- lanhmanh ---------------------------------------------------------------------------------

resolver_check_lanhmanh() {
	local root cand
	root=$(dirname "$BENCH_DIR")
	if [[ -z ${LANHMANHD:-} ]]; then
		for cand in "$root/build-release/resolver/lanhmanhd" "$root/build/resolver/lanhmanhd"; do
			if [[ -x $cand ]]; then LANHMANHD=$cand; break; fi
		done
		[[ -n ${LANHMANHD:-} ]] || bench_die "no lanhmanhd binary: build one (meson setup build-release --buildtype=release && ninja -C build-release) or set LANHMANHD=/path/to/lanhmanhd (or SKIP_LANHMANH=1 to run the peers only)"
	fi
	[[ -x $LANHMANHD ]] || bench_die "LANHMANHD=$LANHMANHD is not an executable file"
}

# LANHMANHD_ARGS: extra arguments; LANHMANHD_EXTRA_YAML: a file appended to the generated config
# (lists:, groups: for the blocklist benchmarks); LANHMANHD_NETWORKS_YAML: the networks: section.
resolver_start_lanhmanh() {
	local port=$1 inst=${2:-lanhmanh} d=$BENCH_TMP/${2:-lanhmanh} rc i notify_pid notify_sock
	mkdir -p "$d/state"
	cat >"$d/lanhmanh.yaml" <<-EOF
		server:
		  listen: ["127.0.0.1:$port"]
		  workers: 1
		  mode: forward
		  forwarders: ["127.0.0.1:$NSD_PORT"]
		  cache_size: 256MiB
		  state_dir: $d/state
		  control_socket: $d/control.sock
		  log_level: ${LANHMANHD_LOG_LEVEL:-warning}
	EOF
	if [[ -n ${LANHMANHD_NETWORKS_YAML:-} ]]; then
		cat "$LANHMANHD_NETWORKS_YAML" >>"$d/lanhmanh.yaml" || bench_die "cannot read LANHMANHD_NETWORKS_YAML=$LANHMANHD_NETWORKS_YAML"
	else
		cat >>"$d/lanhmanh.yaml" <<-EOF
			networks:
			  - { name: bench, cidr: ["127.0.0.0/8"] }
		EOF
	fi
	if [[ -n ${LANHMANHD_EXTRA_YAML:-} ]]; then
		cat "$LANHMANHD_EXTRA_YAML" >>"$d/lanhmanh.yaml" || bench_die "cannot read LANHMANHD_EXTRA_YAML=$LANHMANHD_EXTRA_YAML"
	fi
	if [[ ${LANHMANHD_CHECK_CONFIG:-1} == 1 ]] &&
		! timeout 20 "$LANHMANHD" --check-config -c "$d/lanhmanh.yaml" >"$d/check-config.log" 2>&1; then
		cat "$d/check-config.log" >&2
		bench_die "lanhmanhd --check-config rejected $d/lanhmanh.yaml"
	fi

	# Readiness: the daemon sends READY=1 to $NOTIFY_SOCKET (sd_notify). Listen before starting
	# it; but what counts is that it answers, so the DNS probe decides and READY=1 is reported.
	notify_sock=${LANHMANH_NOTIFY_SOCKET:-$d/notify.sock}
	if [[ -z ${LANHMANH_NOTIFY_SOCKET:-} ]]; then
		bench_spawn lanhmanh-notify "$d/notify.log" "$BENCH_PY" "$BENCH_LIB/benchlib.py" \
			notify-listen "$d/notify.sock" --timeout "$READY_TIMEOUT"
		notify_pid=$BENCH_LAST_PID
	fi
	for ((i = 0; i < 50; i++)); do
		[[ -S $notify_sock ]] && break
		sleep 0.1
	done
	[[ -S $notify_sock ]] || bench_die "the notify listener did not create $notify_sock"

	# shellcheck disable=SC2046,SC2086
	bench_spawn "$inst" "$d/stderr.log" env NOTIFY_SOCKET="$notify_sock" \
		$(bench_pin "$CPU_DAEMON") ${BENCH_EXEC_WRAP:-} "$LANHMANHD" -c "$d/lanhmanh.yaml" ${LANHMANHD_ARGS:-}
	RESOLVER_PID[$inst]=$BENCH_LAST_PID
	RESOLVER_PORT[$inst]=$port
	benchlib probe --what "$inst" --port "$port" --qname "$PROBE_NAME" --pid "$BENCH_LAST_PID" \
		--timeout "$READY_TIMEOUT" >&2 ||
		{ tail -n 30 "$d/stderr.log" >&2; bench_die "lanhmanhd did not come up"; }
	[[ -n ${LANHMANH_NOTIFY_SOCKET:-} ]] && return 0
	for ((i = 0; i < 20; i++)); do bench_alive "$notify_pid" || break; sleep 0.1; done
	if bench_alive "$notify_pid"; then
		bench_warn "lanhmanhd answers but sent no READY=1 to NOTIFY_SOCKET within 2 s"
		bench_stop "$notify_pid" lanhmanh-notify
	else
		wait "$notify_pid"; rc=$?
		bench_forget "$notify_pid"
		if [[ $rc == 0 ]]; then
			bench_log "lanhmanhd sent READY=1"
		else
			bench_warn "lanhmanhd: notify listener: $(tail -n 1 "$d/notify.log")"
		fi
	fi
}

# -- kresd (Knot Resolver 5) ------------------------------------------------------------------

resolver_check_kresd() {
	bench_need kresd "apt-get install knot-resolver"
	KRESD_BIN=$(command -v kresd)
}

resolver_start_kresd() {
	local port=$1 inst=${2:-kresd} d=$BENCH_TMP/${2:-kresd}
	mkdir -p "$d/cache"
	# One process (kresd is single-threaded; one instance = one worker), the same 256 MiB
	# cache, everything forwarded to nsd without validation (nsd's zone is unsigned and has
	# no DS chain from the root), the extra rules (policy.rpz) before the forwarding rule,
	# which ends policy processing.
	{
		echo "net.listen('127.0.0.1', $port, { kind = 'dns' })"
		echo "net.ipv6 = false"
		echo "cache.open(256 * MB, 'lmdb://$d/cache')"
		echo "trust_anchors.remove('.')"
		echo "log_level('warning')"
		if [[ -n ${KRESD_EXTRA_CONF:-} ]]; then
			cat "$KRESD_EXTRA_CONF" || bench_die "cannot read KRESD_EXTRA_CONF=$KRESD_EXTRA_CONF"
		fi
		echo "policy.add(policy.all(policy.STUB({'127.0.0.1@$NSD_PORT'})))"
	} >"$d/kresd.conf"
	# shellcheck disable=SC2046,SC2086
	bench_spawn "$inst" "$d/stderr.log" $(bench_pin "$CPU_DAEMON") ${BENCH_EXEC_WRAP:-} \
		"$KRESD_BIN" -n -q -c "$d/kresd.conf" "$d"
	RESOLVER_PID[$inst]=$BENCH_LAST_PID
	RESOLVER_PORT[$inst]=$port
	benchlib probe --what "$inst" --port "$port" --qname "$PROBE_NAME" --pid "$BENCH_LAST_PID" \
		--timeout "$READY_TIMEOUT" >&2 ||
		{ tail -n 20 "$d/stderr.log" >&2; bench_die "kresd did not come up"; }
}
