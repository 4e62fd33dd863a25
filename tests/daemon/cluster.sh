#!/usr/bin/env bash
# hearsayd in namespaces on the real datapaths (suite "net"): a local
# cluster made by scripts/cluster.sh of one dpdk node (net_af_xdp,
# --no-huge), one afpacket node and one udp node, driven through the
# hearsay CLI.
#
#   cluster.sh BUILD_DIR
#
# Asserts: the three converge (each sees three alive); a write on the dpdk
# node, waited for, is read on the udp node and the other way round; a
# partitioned node is seen dead by the others, and alive again after the
# heal (a new incarnation refutes); a SIGKILLed node is seen dead; stop
# leaves no namespace, process or /var/run/dpdk directory behind.
#
# Root only (exit 77 otherwise).  The cluster is stopped on exit, failure
# included.
set -euo pipefail

BUILD=$(cd "${1:?build dir}" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CL="$ROOT/scripts/cluster.sh"
export HS_CLUSTER_NAME="hst$$"

((EUID == 0)) || { echo "SKIP: needs root (namespaces, DPDK)"; exit 77; }
ip netns list >/dev/null 2>&1 || { echo "SKIP: no network namespaces here"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq missing (scripts/deps.sh installs it)"; exit 77; }

log() { printf '# %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*"
	for i in 1 2 3; do
		f=/run/hearsay-cluster/$HS_CLUSTER_NAME/n$i.log
		[[ -f $f ]] && { echo "--- n$i.log (tail)"; tail -n 15 "$f"; }
	done
	exit 1
}
cleanup() { "$CL" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT

cli() { "$CL" cli "$@"; }
status_is() {	# NODE MEMBER STATUS
	[[ $(cli "$1" --json member "$2" 2>/dev/null | jq -r .status) == "$3" ]]
}
until_ok() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 0.2
	done
}
all_alive() {
	local i j
	for i in 1 2 3; do
		for j in 1 2 3; do status_is "$i" "n$j" alive || return 1; done
	done
}

"$CL" start -n 3 -d dpdk-af_xdp,afpacket,udp --build "$BUILD" ||
	fail "cluster.sh start"
until_ok 30 all_alive || fail "no convergence: $(cli 1 members)"
log "dpdk-af_xdp + afpacket + udp converged"

r=$(cli 1 --json put t/k from-dpdk --wait) || fail "put on n1: $r"
[[ $(jq -r .reached <<<"$r") == true ]] || fail "put on n1 not reached: $r"
[[ $(cli 3 get n1 t/k) == from-dpdk ]] || fail "n3 reads $(cli 3 get n1 t/k)"
cli 3 put t/k from-udp --wait >/dev/null || fail "put on n3"
[[ $(cli 1 get n3 t/k) == from-udp ]] || fail "n1 reads $(cli 1 get n3 t/k)"
log "writes waited for and read across drivers"

"$CL" partition 2 >/dev/null
until_ok 20 status_is 1 n2 dead || fail "partitioned n2 not dead on n1: $(cli 1 members)"
until_ok 20 status_is 3 n2 dead || fail "partitioned n2 not dead on n3"
"$CL" heal 2 >/dev/null
until_ok 30 all_alive || fail "not all alive after the heal: $(cli 1 members)"
log "partition: n2 dead on both sides' view; heal: alive again"

"$CL" kill 3 >/dev/null
until_ok 20 status_is 1 n3 dead || fail "killed n3 not dead on n1"
until_ok 20 status_is 2 n3 dead || fail "killed n3 not dead on n2"
log "SIGKILL: dead"

"$CL" stop >/dev/null || fail "cluster.sh stop"
left=$(ip netns list | grep -c "^$HS_CLUSTER_NAME-" || true)
((left == 0)) || fail "$left namespaces left: $(ip netns list)"
ls -d /var/run/dpdk/"$HS_CLUSTER_NAME"-* >/dev/null 2>&1 && fail "DPDK runtime dirs left"
[[ ! -e /run/hearsay-cluster/$HS_CLUSTER_NAME ]] || fail "state dir left"
log "stop: nothing left"
echo ok
