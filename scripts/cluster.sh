#!/usr/bin/env bash
# A local cluster of hearsayd, one node per network namespace, over veths
# and a Linux bridge: for operators, the demo and tests (docs/CLUSTER.md).
#
#   cluster.sh start -n N [-d DRIVER[,DRIVER...]] [-w WORKERS] [--name NAME]
#                  [--build DIR] [--hook EVENTS:EXEC[:PREFIX]]...
#                  [--set SECTION.KEY=VALUE]...
#   cluster.sh status     [--name NAME]
#   cluster.sh cli        [--name NAME] I ARGS...   the hearsay CLI on node I
#   cluster.sh exec       [--name NAME] I CMD...    a command in node I's netns
#   cluster.sh kill       [--name NAME] I           SIGKILL (a crash)
#   cluster.sh stop-node  [--name NAME] I           SIGTERM (graceful leave), wait
#   cluster.sh restart    [--name NAME] I           stop-node if running, start
#   cluster.sh partition  [--name NAME] [--split] I [J...]
#   cluster.sh heal       [--name NAME] [I...]      (no I: every node)
#   cluster.sh wait       [--name NAME] [--timeout S]  until every running
#                         node sees exactly the running nodes alive (30 s)
#   cluster.sh stop       [--name NAME]             tear everything down
#
# DRIVER: udp (default) | afpacket | dpdk-af_xdp | dpdk-af_packet; a comma
# list gives node i the i-th driver (the last one repeats), e.g.
# "dpdk-af_xdp,afpacket,udp" for a mixed cluster.  --name (default "hs",
# or $HS_CLUSTER_NAME) may also come before the command.
#
# Layout (NAME = the cluster's name, i = 1..N):
#   namespaces NAME-1..NAME-N, one node each, its end of the veth "veth0"
#     holding 10.77.0.(i+1)/24 (udp, afpacket; a dpdk node owns its port:
#     the kernel has no address there), gossip on port 7946;
#   namespace NAME-br: the bridge br0 (10.77.0.1/24) and the bridge-side
#     veths vn1..vnN (partition sets vnI down; --split moves it to br1);
#     nothing is added to the root namespace;
#   /run/hearsay-cluster/NAME: cluster.env, and per node nI.conf (the
#     hearsayd configuration), nI.log (its stderr), nI.pid, nI.sock (the
#     API socket);
#   DPDK nodes: --file-prefix NAME-i, so /var/run/dpdk/NAME-i.
#
# Needs root (exit 2 otherwise), ip (iproute2), ethtool, and
# BUILD/daemon/hearsayd and BUILD/daemon/hearsay (BUILD: --build, default
# the checkout's build/).  Environment: HS_CLUSTER_DAEMON, HS_CLUSTER_CLI
# (other binaries, e.g. a stand-in), HS_CLUSTER_START_TIMEOUT (seconds a
# node has to create its socket, 30), HS_CLUSTER_STOP_TIMEOUT (seconds
# nodes have to leave on SIGTERM, 10).
#
# Exit status: 0 done, 1 failed (start undoes what it made), 2 usage, not
# root, or a missing tool.
set -euo pipefail

PROG=cluster.sh
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE_ROOT=/run/hearsay-cluster
LOCK_FILE=/run/lock/hearsay-cluster.lock
DPDK_RUN=/var/run/dpdk
NET=10.77.0		# node i = $NET.(i+1), the bridge $NET.1
PORT=7946
NODE_IF=veth0		# a node's end of its veth, in NAME-i
BRIDGE=br0		# in NAME-br, with the bridge-side veths vn1..vnN
SPLIT_BRIDGE=br1	# the other side of a "partition --split"
MAX_NODES=253		# 10.77.0.2 .. 10.77.0.254
START_TIMEOUT=${HS_CLUSTER_START_TIMEOUT:-30}
STOP_TIMEOUT=${HS_CLUSTER_STOP_TIMEOUT:-10}

NAME=${HS_CLUSTER_NAME:-hs}
STARTING=0

# ---- messages ----

say() { printf '%s\n' "$*"; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { warn "$*"; exit 1; }
usage_die() { warn "$*"; warn "see '$PROG help'"; exit 2; }

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

# ---- names and paths ----

state_dir() { printf '%s/%s' "$STATE_ROOT" "$NAME"; }
node_ns() { printf '%s-%s' "$NAME" "$1"; }
bridge_ns() { printf '%s-br' "$NAME"; }
node_ip() { printf '%s.%d' "$NET" $(($1 + 1)); }
node_file() { printf '%s/n%s.%s' "$(state_dir)" "$1" "$2"; }
node_port() { printf 'vn%s' "$1"; }

check_name() {
	[[ $NAME =~ ^[A-Za-z0-9_]{1,20}$ ]] ||
		usage_die "bad cluster name '$NAME': 1 to 20 of A-Z a-z 0-9 _"
}

# The cluster's settings, written by start (HS_N, HS_DRIVERS, ...).
load_cluster() {
	local env
	env="$(state_dir)/cluster.env"
	[[ -r $env ]] || die "no cluster '$NAME' ($env not found)"
	# shellcheck source=/dev/null
	source "$env"
}

check_index() {
	[[ $1 =~ ^[1-9][0-9]*$ ]] && (($1 >= 1 && $1 <= HS_N)) && return 0
	usage_die "no node '$1' in cluster '$NAME' (1..$HS_N)"
}

# ---- preconditions ----

need_root() {
	if [[ $(id -u) -ne 0 ]]; then
		warn "needs root: it makes network namespaces, veths and a bridge"
		warn "(the udp driver alone would run unprivileged on 127.0.0.x, but this script always uses namespaces)"
		exit 2
	fi
}

need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null ||
			{ warn "'$t' not found: apt-get install ${t/ip/iproute2}"; exit 2; }
	done
}

need_exe() {	# WHAT PATH
	[[ -x $2 && -f $2 ]] && return 0
	warn "$1 not found at $2"
	warn "build it (meson setup build && ninja -C build), or pass --build DIR"
	exit 2
}

# One lock for every command that changes a cluster.  Children must not
# inherit it (see launch: 9>&-).
take_lock() {
	exec 9>"$LOCK_FILE"
	flock -w 120 9 || die "another $PROG holds $LOCK_FILE"
}

# ---- processes ----

# "PID STARTTIME": the start time tells a reused pid from ours.
proc_starttime() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	read -r -a f <<<"${s##*) }"
	printf '%s' "${f[19]}"
}

proc_alive() {	# "PID STARTTIME"
	local s f
	[[ -n $1 ]] || return 1
	s=$(cat "/proc/${1%% *}/stat" 2>/dev/null) || return 1
	read -r -a f <<<"${s##*) }"
	[[ ${f[0]} != Z && ${f[0]} != X && ${f[19]} == "${1##* }" ]]
}

node_pid() {	# I -> "PID STARTTIME", or nothing
	cat "$(node_file "$1" pid)" 2>/dev/null || true
}

node_alive() {
	proc_alive "$(node_pid "$1")"
}

# Wait until every "PID STARTTIME" given is gone; false at the deadline.
wait_gone() {	# SECONDS "PID STARTTIME"...
	local end=$((SECONDS + $1)) left p
	shift
	while :; do
		left=0
		for p; do proc_alive "$p" && left=1; done
		((left)) || return 0
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

log_tail() {	# I
	local log
	log=$(node_file "$1" log)
	warn "last lines of $log:"
	tail -n 20 "$log" 2>/dev/null | sed 's/^/    /' >&2 || true
}

# ---- configuration ----

engine_driver() {	# cluster driver -> network.driver
	case $1 in
	dpdk-*) say dpdk ;;
	*) say "$1" ;;
	esac
}

conf_str() {	# a libconfig string literal
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}

conf_list() {	# "a", "b", ...
	local out="" x
	for x; do out+="${out:+, }$(conf_str "$x")"; done
	printf '%s' "$out"
}

# The CPUs this script may use, as DPDK's cpuset syntax wants them
# ("0-1"): a DPDK node's lcore floats over all of them (below).
cpu_list() {
	sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status
}

# EAL arguments of node I: no hugepages, no PCI, the node's own runtime
# directory, its veth as a virtual device with one queue per worker.
# Several DPDK processes share this machine's few cores: the main lcore
# (whose affinity the workers inherit) may run on any of them, and the
# workers poll adaptively (sleep when idle) rather than own a core.
eal_args() {	# I DRIVER
	local vdev
	case $2 in
	dpdk-af_xdp) vdev="net_af_xdp0,iface=$NODE_IF,queue_count=$HS_WORKERS" ;;
	dpdk-af_packet) vdev="net_af_packet0,iface=$NODE_IF,qpairs=$HS_WORKERS" ;;
	esac
	printf '%s\n' --no-huge -m 256 --no-pci --file-prefix "$(node_ns "$1")" \
		--vdev "$vdev" --lcores "0@($(cpu_list))" --log-level 5
}

dpdk_device() {
	case $1 in
	dpdk-af_xdp) say net_af_xdp0 ;;
	dpdk-af_packet) say net_af_packet0 ;;
	esac
}

# Seeds: nodes 1 and 2, not the node itself.
seeds_of() {
	local i=$1 j
	for j in 1 2; do
		((j <= HS_N && j != i)) && printf '%s:%d\n' "$(node_ip "$j")" "$PORT"
	done
	return 0
}

write_hooks() {	# EVENTS:EXEC[:PREFIX]...
	local h events exec prefix sep=""
	(($# > 0)) || return 0
	say "hooks = ("
	for h; do
		IFS=: read -r events exec prefix <<<"$h"
		IFS=, read -r -a events <<<"$events"
		printf '%s  { events = [ %s ]; exec = %s;%s }' "$sep" \
			"$(conf_list "${events[@]}")" "$(conf_str "$exec")" \
			"${prefix:+ prefix = $(conf_str "$prefix");}"
		sep=$',\n'
	done
	printf '\n);\n'
}

write_conf() {	# I
	local i=$1 drv=${HS_DRIVERS[$1 - 1]}
	local -a eal seeds
	{
		printf '# hearsayd configuration of node %d of cluster "%s" (%s),\n' "$i" "$NAME" "$drv"
		printf '# written by scripts/cluster.sh: "cluster.sh stop" deletes it.\n'
		printf 'node = {\n  name = "n%d";\n};\n' "$i"
		printf 'network = {\n  driver = "%s";\n  address = "%s";\n  port = %d;\n' \
			"$(engine_driver "$drv")" "$(node_ip "$i")" "$PORT"
		[[ $drv == afpacket ]] && printf '  interface = "%s";\n' "$NODE_IF"
		printf '};\n'
		if [[ $drv == dpdk-* ]]; then
			mapfile -t eal < <(eal_args "$i" "$drv")
			printf 'dpdk = {\n  device = "%s";\n  eal = [ %s ];\n};\n' \
				"$(dpdk_device "$drv")" "$(conf_list "${eal[@]}")"
		fi
		mapfile -t seeds < <(seeds_of "$i")
		((${#seeds[@]} == 0)) ||
			printf 'gossip = {\n  seeds = [ %s ];\n};\n' "$(conf_list "${seeds[@]}")"
		printf 'workers = {\n  count = %d;\n  poll = "adaptive";\n};\n' "$HS_WORKERS"
		printf 'api = {\n  socket = %s;\n};\n' "$(conf_str "$(node_file "$i" sock)")"
		printf 'log = {\n  level = "info";\n};\n'
		printf 'security = {\n  keys = [ "%s" ];\n};\n' "$(cat "$(state_dir)/cluster.key")"
		write_hooks ${HS_HOOKS[@]+"${HS_HOOKS[@]}"}
	} >"$(node_file "$i" conf)"
}

daemon_args() {	# I -> hearsayd's arguments, one a line
	local s
	printf '%s\n' -c "$(node_file "$1" conf)"
	for s in ${HS_SETS[@]+"${HS_SETS[@]}"}; do printf '%s\n' -s "$s"; done
}

qlist() {	# shell-quoted words, nothing for none
	(($# == 0)) || printf '%q ' "$@"
}

write_env() {
	{
		printf 'HS_N=%q\n' "$HS_N"
		printf 'HS_DRIVERS=(%s)\n' "$(qlist "${HS_DRIVERS[@]}")"
		printf 'HS_WORKERS=%q\n' "$HS_WORKERS"
		printf 'HS_DAEMON=%q\n' "$HS_DAEMON"
		printf 'HS_CLI=%q\n' "$HS_CLI"
		printf 'HS_HOOKS=(%s)\n' "$(qlist ${HS_HOOKS[@]+"${HS_HOOKS[@]}"})"
		printf 'HS_SETS=(%s)\n' "$(qlist ${HS_SETS[@]+"${HS_SETS[@]}"})"
	} >"$(state_dir)/cluster.env"
}

# ---- network ----

ns_sysctl() {	# NS KEY=VALUE...: quiet, best effort (IPv6 off: gossip is IPv4)
	ip netns exec "$1" sysctl -qw "${@:2}" >/dev/null 2>&1 || true
}

make_bridge() {
	local br
	br=$(bridge_ns)
	ip netns add "$br"
	ns_sysctl "$br" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$br" link set lo up
	ip -n "$br" link add "$BRIDGE" type bridge
	ip -n "$br" addr add "$NET.1/24" dev "$BRIDGE"
	ip -n "$br" link set "$BRIDGE" up
}

make_node_net() {	# I
	local i=$1 ns br port q drv=${HS_DRIVERS[$1 - 1]}
	ns=$(node_ns "$i")
	br=$(bridge_ns)
	port=$(node_port "$i")
	q=$HS_WORKERS
	ip netns add "$ns"
	ns_sysctl "$ns" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
	# made in place (both ends in their namespaces: nothing in the root
	# namespace), one queue per worker (net_af_xdp binds one each)
	ip -n "$br" link add "$port" numtxqueues "$q" numrxqueues "$q" type veth \
		peer name "$NODE_IF" netns "$ns" numtxqueues "$q" numrxqueues "$q"
	ip -n "$br" link set "$port" master "$BRIDGE" up
	case $drv in
	dpdk-*) ;;	# the node owns the port: no kernel address
	*)
		# udp and afpacket nodes use the kernel's address (a VM)
		ip -n "$ns" addr add "$(node_ip "$i")/24" dev "$NODE_IF"
		# a veth leaves the UDP checksum to a "device" that never
		# computes it; packet sockets and DPDK nodes would see it
		# unfinished: the kernel fills it in with the offload off
		ip netns exec "$ns" ethtool -K "$NODE_IF" tx off >/dev/null
		;;
	esac
	ip -n "$ns" link set "$NODE_IF" up
}

# ---- nodes ----

# A restart must show as a higher generation, which hearsayd takes from
# the wall clock (milliseconds in hearsayd.c, seconds in config.h's
# comment): never start a node twice in one second, either way.
next_second() {	# I
	local last
	last=$(cat "$(node_file "$1" started)" 2>/dev/null || echo 0)
	while (($(date +%s) <= last)); do sleep 0.1; done
}

launch() {	# I
	local i=$1 ns log sock pid rc drv=${HS_DRIVERS[$1 - 1]}
	local -a args
	ns=$(node_ns "$i")
	log=$(node_file "$i" log)
	sock=$(node_file "$i" sock)
	mapfile -t args < <(daemon_args "$i")
	node_alive "$i" && die "n$i is already running (pid $(node_pid "$i"))"
	next_second "$i"
	rm -f "$sock"
	# an XDP program left by a node that was killed would keep the next
	# one from binding its queue
	[[ $drv == dpdk-af_xdp ]] && { ip -n "$ns" link set "$NODE_IF" xdp off 2>/dev/null || true; }
	printf '=== %s cluster.sh: starting n%d in %s: %s %s\n' \
		"$(date '+%F %T')" "$i" "$ns" "$HS_DAEMON" "${args[*]}" >>"$log"
	# setsid: its own session, out of reach of this terminal's signals
	ip netns exec "$ns" setsid "$HS_DAEMON" "${args[@]}" \
		</dev/null >>"$log" 2>&1 9>&- &
	pid=$!
	printf '%s %s\n' "$pid" "$(proc_starttime "$pid" || echo 0)" >"$(node_file "$i" pid)"
	date +%s >"$(node_file "$i" started)"
	# ready when its API socket exists
	local end=$((SECONDS + START_TIMEOUT))
	while [[ ! -S $sock ]]; do
		if ! node_alive "$i"; then
			rc=0
			wait "$pid" 2>/dev/null || rc=$?
			warn "n$i (pid $pid) exited with status $rc before creating $sock"
			log_tail "$i"
			return 1
		fi
		if ((SECONDS >= end)); then
			warn "n$i (pid $pid) has not created $sock after ${START_TIMEOUT}s"
			log_tail "$i"
			return 1
		fi
		sleep 0.05
	done
	say "n$i up: $(node_ip "$i"):$PORT in $ns, $drv, pid $pid"
}

# SIGTERM (hearsayd leaves the cluster, then exits) or SIGKILL, and wait.
signal_node() {	# I SIGNAL
	local i=$1 sig=$2 p
	p=$(node_pid "$i")
	if ! proc_alive "$p"; then
		say "n$i is not running"
		return 0
	fi
	kill -s "$sig" "${p%% *}" 2>/dev/null || true
	if [[ $sig == KILL ]]; then
		wait_gone 5 "$p" || die "n$i (pid ${p%% *}) survives SIGKILL"
		say "n$i killed (pid ${p%% *})"
		return 0
	fi
	if ! wait_gone "$STOP_TIMEOUT" "$p"; then
		warn "n$i (pid ${p%% *}) still runs ${STOP_TIMEOUT}s after SIGTERM: SIGKILL"
		log_tail "$i"
		kill -KILL "${p%% *}" 2>/dev/null || true
		wait_gone 5 "$p" || true
		return 1
	fi
	say "n$i stopped (pid ${p%% *})"
}

# ---- teardown ----

our_namespaces() {
	ip netns list 2>/dev/null | awk '{print $1}' |
		grep -E "^${NAME}-([0-9]+|br)\$" || true
}

# What still runs in the cluster's namespaces once its nodes are gone (a
# hook, a command from "cluster.sh exec", a node whose pid file was lost)
# would keep a namespace, its veth and the bridge alive: SIGNAL it, and
# wait up to 2 s.  False if some are left.
ns_reap() {	# SIGNAL
	local ns p
	local -a pids=()
	for ns in $(our_namespaces); do
		for p in $(ip netns pids "$ns" 2>/dev/null || true); do
			pids+=("$p $(proc_starttime "$p" || echo 0)")
		done
	done
	((${#pids[@]})) || return 1
	warn "SIG$1 to what still runs in the cluster's namespaces: $(for p in "${pids[@]}"; do
		printf '%s (%s) ' "${p%% *}" "$(cat "/proc/${p%% *}/comm" 2>/dev/null)"; done)"
	for p in "${pids[@]}"; do kill -s "$1" "${p%% *}" 2>/dev/null || true; done
	! wait_gone 2 "${pids[@]}"
}

# Everything of cluster NAME, whatever state it is in: SIGTERM to every
# node, SIGKILL to those still there after STOP_TIMEOUT, then namespaces
# (hence veths and bridges), DPDK runtime directories, the state dir.
teardown() {
	local dir f p ns d
	local -a pids=() names=()
	dir=$(state_dir)
	if [[ -d $dir ]]; then
		for f in "$dir"/n*.pid; do
			[[ -e $f ]] || continue
			p=$(cat "$f" 2>/dev/null || true)
			proc_alive "$p" || continue
			kill -TERM "${p%% *}" 2>/dev/null || true
			pids+=("$p")
			names[${p%% *}]=$(basename "$f" .pid)
		done
		if ((${#pids[@]})) && ! wait_gone "$STOP_TIMEOUT" "${pids[@]}"; then
			for p in "${pids[@]}"; do
				proc_alive "$p" || continue
				warn "${names[${p%% *}]} (pid ${p%% *}) still runs ${STOP_TIMEOUT}s after SIGTERM: SIGKILL"
				kill -KILL "${p%% *}" 2>/dev/null || true
			done
			wait_gone 5 "${pids[@]}" || warn "some nodes survive SIGKILL"
		fi
		((${#pids[@]} == 0)) || say "stopped ${#pids[@]} node(s)"
	fi
	ns_reap TERM && ns_reap KILL
	for ns in $(our_namespaces); do
		ip netns del "$ns" 2>/dev/null || warn "could not delete namespace $ns"
	done
	for d in "$DPDK_RUN/$NAME"-*; do
		[[ -e $d && ${d##*/} =~ ^${NAME}-[0-9]+$ ]] && rm -rf "$d"
	done
	rm -rf "$dir"
	rmdir "$STATE_ROOT" 2>/dev/null || true
}

on_start_exit() {
	local rc=$?
	if ((STARTING && rc != 0)); then
		warn "start failed: removing what it made"
		teardown >/dev/null || true
	fi
	exit "$rc"
}

# ---- commands ----

cmd_start() {
	local n="" drivers=udp w=1 build="$SCRIPT_DIR/../build" d i
	local -a hooks=() sets=() list
	while (($#)); do
		case $1 in
		-n) n=${2-}; shift 2 || usage_die "-n needs a value" ;;
		-d) drivers=${2-}; shift 2 || usage_die "-d needs a value" ;;
		-w) w=${2-}; shift 2 || usage_die "-w needs a value" ;;
		--name) NAME=${2-}; shift 2 || usage_die "--name needs a value" ;;
		--build) build=${2-}; shift 2 || usage_die "--build needs a value" ;;
		--hook) hooks+=("${2-}"); shift 2 || usage_die "--hook needs a value" ;;
		--set) sets+=("${2-}"); shift 2 || usage_die "--set needs a value" ;;
		*) usage_die "start: unknown argument '$1'" ;;
		esac
	done
	check_name
	if ! [[ $n =~ ^[1-9][0-9]*$ ]] || ((n < 1 || n > MAX_NODES)); then
		usage_die "start needs -n N, 1..$MAX_NODES"
	fi
	if ! [[ $w =~ ^[1-9][0-9]*$ ]] || ((w < 1 || w > 16)); then
		usage_die "-w: 1..16 workers"
	fi
	IFS=, read -r -a list <<<"$drivers"
	((${#list[@]})) || usage_die "-d: no driver"
	for d in "${list[@]}"; do
		case $d in
		udp | afpacket | dpdk-af_xdp | dpdk-af_packet) ;;
		*) usage_die "unknown driver '$d' (udp, afpacket, dpdk-af_xdp, dpdk-af_packet)" ;;
		esac
		# net_af_xdp binds "combined" channels, which a veth has not
		# (it has rx and tx queues): one queue only
		[[ $d == dpdk-af_xdp ]] && ((w > 1)) &&
			usage_die "dpdk-af_xdp on a veth has one queue: -w 1, or dpdk-af_packet (qpairs over the kernel's fanout) for several workers"
	done
	for d in ${hooks[@]+"${hooks[@]}"}; do
		[[ $d =~ ^[a-z,]+:/[^:]+(:.*)?$ ]] ||
			usage_die "--hook EVENTS:EXEC[:PREFIX], e.g. dead,leave:/usr/local/bin/page (EXEC an absolute path)"
	done
	for d in ${sets[@]+"${sets[@]}"}; do
		[[ $d =~ ^[a-z_]+\.[a-z_]+= ]] || usage_die "--set SECTION.KEY=VALUE, not '$d'"
	done
	need_root
	need_tools ip ethtool setsid flock
	HS_DAEMON=${HS_CLUSTER_DAEMON:-$build/daemon/hearsayd}
	HS_CLI=${HS_CLUSTER_CLI:-$build/daemon/hearsay}
	need_exe hearsayd "$HS_DAEMON"
	[[ -x $HS_CLI ]] || warn "the CLI is not at $HS_CLI: 'cluster.sh cli' will not work"
	HS_DAEMON=$(realpath "$HS_DAEMON")
	HS_CLI=$(realpath -m "$HS_CLI")
	HS_N=$n
	HS_WORKERS=$w
	HS_DRIVERS=()
	for ((i = 0; i < n; i++)); do
		HS_DRIVERS+=("${list[i < ${#list[@]} ? i : ${#list[@]} - 1]}")
	done
	HS_HOOKS=(${hooks[@]+"${hooks[@]}"})
	HS_SETS=(${sets[@]+"${sets[@]}"})

	take_lock
	if [[ -d $(state_dir) ]]; then
		for f in "$(state_dir)"/n*.pid; do
			[[ -e $f ]] || continue
			p=$(cat "$f" 2>/dev/null || true)
			proc_alive "$p" &&
				die "cluster '$NAME' is running ($f): '$PROG stop --name $NAME' first"
		done
	fi
	# leftovers of a cluster of that name that is not running
	[[ -d $(state_dir) || -n $(our_namespaces) ]] && {
		warn "removing the remains of an earlier cluster '$NAME'"
		teardown >/dev/null
	}

	STARTING=1
	trap on_start_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	mkdir -p "$(state_dir)"
	chmod 0750 "$(state_dir)"
	# one key for the cluster, made here; every frame is sealed with it
	(umask 077 && "$HS_CLI" keygen >"$(state_dir)/cluster.key")
	write_env
	for ((i = 1; i <= n; i++)); do
		write_conf "$i"
		local -a args
		mapfile -t args < <(daemon_args "$i")
		"$HS_DAEMON" "${args[@]}" --check >"$(node_file "$i" log)" 2>&1 || {
			warn "hearsayd --check refuses $(node_file "$i" conf):"
			sed 's/^/    /' "$(node_file "$i" log)" >&2
			exit 1
		}
		: >"$(node_file "$i" log)"
	done
	make_bridge
	for ((i = 1; i <= n; i++)); do make_node_net "$i"; done
	say "cluster '$NAME': bridge $BRIDGE ($NET.1/24) in namespace $(bridge_ns), state in $(state_dir)"
	# one after another: a node's first frames find the earlier ones up
	for ((i = 1; i <= n; i++)); do launch "$i"; done
	STARTING=0
	local opt=""
	[[ $NAME == hs ]] || opt=" --name $NAME"
	say "cluster '$NAME': $n node(s) up ('$PROG$opt cli 1 members', '$PROG$opt stop')"
}

# [--name NAME] before the rest of a command's arguments
parse_name() {
	REST=()
	while (($#)); do
		case $1 in
		--name) NAME=${2-}; shift 2 || usage_die "--name needs a value" ;;
		*) REST=("$@"); break ;;
		esac
	done
	check_name
}

cmd_status() {
	local i p pid state link port master
	parse_name "$@"
	((${#REST[@]} == 0)) || usage_die "status: unknown argument '${REST[0]}'"
	need_root
	[[ -r $(state_dir)/cluster.env ]] || { say "cluster '$NAME' is not running"; return 1; }
	load_cluster
	for ((i = 1; i <= HS_N; i++)); do
		p=$(node_pid "$i")
		pid=${p%% *}
		state=dead
		proc_alive "$p" && state=alive
		port=$(node_port "$i")
		link=$(ip -n "$(bridge_ns)" -o link show "$port" 2>/dev/null || true)
		master=$(sed -n 's/.* master \([^ ]*\).*/\1/p' <<<"$link")
		if [[ -z $link ]]; then link="missing"
		elif [[ $link != *",UP"* && $link != *"<UP"* ]]; then link="partitioned"
		elif [[ $master == "$SPLIT_BRIDGE" ]]; then link="split"
		else link="connected"
		fi
		printf '%-5s %-14s %-8s %-6s %-10s %-15s %s\n' "n$i" "$(node_ns "$i")" \
			"${pid:--}" "$state" "$(node_ip "$i")" "${HS_DRIVERS[i - 1]}" "$link"
	done
}

# The commands on one node: [--name NAME] I ...
node_cmd_prologue() {
	parse_name "$@"
	((${#REST[@]} >= 1)) || usage_die "which node? (an index, 1..N)"
	need_root
	load_cluster
	check_index "${REST[0]}"
}

cmd_cli() {
	local i sock
	node_cmd_prologue "$@"
	i=${REST[0]}
	need_exe "the hearsay CLI" "${HS_CLUSTER_CLI:-$HS_CLI}"
	sock=$(node_file "$i" sock)
	[[ -S $sock ]] || die "n$i has no API socket ($sock): not running? ('$PROG status')"
	exec "${HS_CLUSTER_CLI:-$HS_CLI}" --socket "$sock" "${REST[@]:1}"
}

cmd_exec() {
	node_cmd_prologue "$@"
	((${#REST[@]} >= 2)) || usage_die "exec I CMD..."
	exec ip netns exec "$(node_ns "${REST[0]}")" "${REST[@]:1}"
}

cmd_signal() {	# KILL|TERM [--name NAME] I
	local sig=$1
	shift
	node_cmd_prologue "$@"
	((${#REST[@]} == 1)) || usage_die "one node at a time"
	take_lock
	signal_node "${REST[0]}" "$sig"
}

cmd_restart() {
	node_cmd_prologue "$@"
	((${#REST[@]} == 1)) || usage_die "one node at a time"
	take_lock
	if node_alive "${REST[0]}"; then signal_node "${REST[0]}" TERM || true; fi
	launch "${REST[0]}"
}

cmd_partition() {
	local split=0 i br
	local -a nodes=()
	while (($#)); do
		case $1 in
		--split) split=1; shift ;;
		--name) NAME=${2-}; shift 2 || usage_die "--name needs a value" ;;
		*) nodes+=("$1"); shift ;;
		esac
	done
	check_name
	((${#nodes[@]})) || usage_die "partition [--split] I [J...]"
	need_root
	load_cluster
	for i in "${nodes[@]}"; do check_index "$i"; done
	take_lock
	br=$(bridge_ns)
	if ((split)); then
		# the nodes named form a side of their own: they reach each
		# other over br1, not the others (nor 10.77.0.1)
		ip -n "$br" link show "$SPLIT_BRIDGE" >/dev/null 2>&1 || {
			ip -n "$br" link add "$SPLIT_BRIDGE" type bridge
			ip -n "$br" link set "$SPLIT_BRIDGE" up
		}
		for i in "${nodes[@]}"; do
			ip -n "$br" link set "$(node_port "$i")" master "$SPLIT_BRIDGE" up
		done
		say "split: $(printf 'n%s ' "${nodes[@]}")on one side, the others on the other"
	else
		for i in "${nodes[@]}"; do
			ip -n "$br" link set "$(node_port "$i")" down
		done
		say "isolated: $(printf 'n%s ' "${nodes[@]}")"
	fi
}

cmd_heal() {
	local i br
	local -a nodes
	parse_name "$@"
	need_root
	load_cluster
	nodes=(${REST[@]+"${REST[@]}"})
	if ((${#nodes[@]} == 0)); then
		for ((i = 1; i <= HS_N; i++)); do nodes+=("$i"); done
	fi
	for i in "${nodes[@]}"; do check_index "$i"; done
	take_lock
	br=$(bridge_ns)
	for i in "${nodes[@]}"; do
		ip -n "$br" link set "$(node_port "$i")" master "$BRIDGE" up
	done
	say "healed: $(printf 'n%s ' "${nodes[@]}")"
}

# The names a node lists with those statuses, sorted, one line.
seen_as() {	# I STATUS[,STATUS...]
	"$HS_CLI" --socket "$(node_file "$1" sock)" --json members --status "$2" 2>/dev/null |
		grep -o '"name": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' | sort -V | tr '\n' ' ' || true
}

# Until every running node lists exactly the running nodes as alive, and
# none of the others as alive or suspect.
cmd_wait() {
	local timeout=30 i want seen ok
	local -a running
	while (($#)); do
		case $1 in
		--name) NAME=${2-}; shift 2 || usage_die "--name needs a value" ;;
		--timeout) timeout=${2-}; shift 2 || usage_die "--timeout needs a value" ;;
		*) usage_die "wait: unknown argument '$1'" ;;
		esac
	done
	check_name
	[[ $timeout =~ ^[0-9]+$ ]] || usage_die "--timeout SECONDS"
	need_root
	load_cluster
	HS_CLI=${HS_CLUSTER_CLI:-$HS_CLI}
	need_exe "the hearsay CLI" "$HS_CLI"
	local end=$((SECONDS + timeout))
	while :; do
		running=()
		want=""
		for ((i = 1; i <= HS_N; i++)); do
			node_alive "$i" && { running+=("$i"); want+="n$i "; }
		done
		ok=1
		# alive, and no other node alive or suspect
		for i in ${running[@]+"${running[@]}"}; do
			[[ $(seen_as "$i" alive) == "$want" &&
				$(seen_as "$i" alive,suspect) == "$want" ]] || { ok=0; break; }
		done
		if ((ok)); then
			say "converged: ${want:-no node running}"
			return 0
		fi
		if ((SECONDS >= end)); then
			warn "not converged after ${timeout}s; running: $want"
			for i in ${running[@]+"${running[@]}"}; do
				seen=$(seen_as "$i" alive)
				warn "  n$i sees alive: ${seen:-(nothing: no answer?)}; suspect: $(seen_as "$i" suspect)"
			done
			return 1
		fi
		sleep 0.2
	done
}

cmd_stop() {
	parse_name "$@"
	((${#REST[@]} == 0)) || usage_die "stop: unknown argument '${REST[0]}'"
	need_root
	need_tools ip flock
	take_lock
	teardown
	say "cluster '$NAME' stopped"
}

main() {
	local cmd
	while (($#)); do
		case $1 in
		--name) NAME=${2-}; shift 2 || usage_die "--name needs a value" ;;
		*) break ;;
		esac
	done
	(($#)) || { usage >&2; exit 2; }
	cmd=$1
	shift
	case $cmd in
	start) cmd_start "$@" ;;
	status) cmd_status "$@" ;;
	cli) cmd_cli "$@" ;;
	exec) cmd_exec "$@" ;;
	kill) cmd_signal KILL "$@" ;;
	stop-node) cmd_signal TERM "$@" ;;
	restart) cmd_restart "$@" ;;
	partition) cmd_partition "$@" ;;
	heal) cmd_heal "$@" ;;
	wait) cmd_wait "$@" ;;
	stop) cmd_stop "$@" ;;
	help | -h | --help) usage ;;
	*) usage_die "unknown command '$cmd'" ;;
	esac
}

main "$@"
