#!/usr/bin/env bash
# hearsay-bench --api against a running cluster (suite "net"): four
# hearsayd nodes on the udp driver, each in its own network namespace,
# made by scripts/cluster.sh, measured through their API sockets.
#
#   bench_api.sh BUILD_DIR HEARSAY_BENCH
#
# Asserts, from the --json output: exit 0; 5 writes, each reached all 4
# nodes, residue 0; t_last on the nodes' clocks finite and >= 0, and never
# above the bench's own receipt bound (one machine: one clock, so the
# bound must hold); idle traffic and CPU above 0 on every node; the node
# killed by the --kill-cmd (cluster.sh kill: SIGKILL, no leave) seen dead
# by all 3 others, no false death, nothing dropped, no stream lost.  Then
# an endpoint nobody listens on makes it exit 2 at once, and an unknown
# --kill-node exits 2.
#
# Root only (exit 77 otherwise).  The cluster is stopped on exit, failure
# and signals included.
set -euo pipefail

BUILD=$(cd "${1:?build dir}" && pwd)
BENCH=${2:?hearsay-bench path}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CL="$ROOT/scripts/cluster.sh"
export HS_CLUSTER_NAME="hsb$$"
STATE=/run/hearsay-cluster/$HS_CLUSTER_NAME

((EUID == 0)) || { echo "SKIP: needs root (network namespaces)"; exit 77; }
ip netns list >/dev/null 2>&1 || { echo "SKIP: no network namespaces here"; exit 77; }
for t in jq ethtool flock setsid; do
	command -v $t >/dev/null || { echo "SKIP: $t missing (scripts/deps.sh installs it)"; exit 77; }
done

WORK=$(mktemp -d /tmp/hs-bench-api.XXXXXX)
log() { printf '# %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*"
	[[ -s $WORK/err ]] && { echo "--- hearsay-bench stderr"; cat "$WORK/err"; }
	for i in 1 2 3 4; do
		f=$STATE/n$i.log
		[[ -f $f ]] && { echo "--- n$i.log (tail)"; tail -n 10 "$f"; }
	done
	exit 1
}
cleanup() {
	"$CL" stop >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

"$CL" start -n 4 -d udp --build "$BUILD" >/dev/null || fail "cluster.sh start"
"$CL" wait --timeout 30 >/dev/null || fail "no convergence: $("$CL" cli 1 members)"
EP=$STATE/n1.sock,$STATE/n2.sock,$STATE/n3.sock,$STATE/n4.sock
log "4 udp nodes up and converged"

rc=0
timeout 120 "$BENCH" --api "$EP" --broadcasts 5 --spacing-ms 100 \
	--idle-seconds 2 --deadline-ms 3000 --detect-timeout 20 \
	--kill-cmd "'$CL' --name $HS_CLUSTER_NAME kill 4" --kill-node n4 \
	--json --svg "$WORK/cdf.svg" >"$WORK/out.json" 2>"$WORK/err" || rc=$?
((rc == 0)) || fail "hearsay-bench --api exited $rc"
J=$WORK/out.json
check() {	# DESCRIPTION JQ-EXPRESSION (true to pass)
	jq -e "$2" "$J" >/dev/null || fail "$1: $(jq -c "${3:-.}" "$J")"
}
check "mode and size" '.mode == "api" and .n == 4 and .clock_used == "node"'
check "broadcasts" '.broadcast.count == 5 and .broadcast.residue == 0 and
	.broadcast.writes_failed == 0' .broadcast
check "every write reached all 4" \
	'[.broadcast.writes[] | select(.reached == 4 and .residue == 0)] | length == 5' \
	.broadcast.writes
check "t_last finite and >= 0" \
	'[.broadcast.t_last_ms_p50, .broadcast.t_last_ms_max,
	  .broadcast.writes[].t_last_ms] |
	 all(type == "number" and . >= 0)' .broadcast
# one machine: the receipt bound (our clock) can only be later than the
# nodes' own times (1 µs rounding of ts_us aside)
check "node-clock times within the receipt bound" \
	'all(.broadcast.writes[]; .t_last_ms <= .t_last_ms_bound + 0.01 and
	     .t_avg_ms <= .t_avg_ms_bound + 0.01) and
	 .broadcast.node_clock.over_bound == 0 and
	 .broadcast.node_clock.negative == 0' .broadcast
check "idle traffic on every node" \
	'.idle.bytes_per_node_per_s > 0 and (.idle.per_node | length == 4) and
	 all(.idle.per_node[]; .bytes_per_s > 0 and .msgs_per_s > 0 and
	     .cpu_pct > 0)' .idle
check "detection by all 3 others" \
	'.detect.killed_name == "n4" and .detect.done == true and
	 .detect.observers == 3 and .detect.detected == 3 and
	 .detect.kill_cmd_status == 0 and
	 .detect.node_clock_from == "victim stream closed" and
	 .detect.gone_ms <= .detect.kill_cmd_ms and
	 (.detect.all_ms | type == "number") and
	 .detect.first_ms <= .detect.all_ms and
	 .detect.all_ms <= .detect.receipt_bound.all_ms + 0.01' .detect
check "no false death, nothing lost" \
	'.false_dead == 0 and .notices_dropped == 0 and .sse_dropped == 0 and
	 .streams_lost == 0'
grep -q '<polyline' "$WORK/cdf.svg" || fail "--svg wrote no curve"
log "5 writes to all 4 (t_last p50 $(jq .broadcast.t_last_ms_p50 "$J") ms," \
	"bound $(jq .broadcast.receipt_bound.t_last_ms_p50 "$J") ms); n4 dead" \
	"on 3 of 3 after $(jq .detect.all_ms "$J") ms; idle" \
	"$(jq .idle.bytes_per_node_per_s "$J") B/s per node"

# the three left: an endpoint nobody listens on is a setup failure (2),
# within the request deadline
rc=0
timeout 20 "$BENCH" --api "$STATE/n1.sock,$WORK/nobody.sock" --broadcasts 1 \
	--idle-seconds 0 --deadline-ms 2000 >/dev/null 2>"$WORK/err" || rc=$?
((rc == 2)) || fail "an unreachable endpoint: exit $rc, not 2"
grep -q "nobody.sock" "$WORK/err" || fail "the unreachable endpoint is not named"
rc=0
timeout 20 "$BENCH" --api "$STATE/n1.sock,$STATE/n2.sock" --broadcasts 0 \
	--idle-seconds 0 --kill-cmd true --kill-node no-such-node \
	>/dev/null 2>"$WORK/err" || rc=$?
((rc == 2)) || fail "an unknown --kill-node: exit $rc, not 2"
log "unreachable endpoint and unknown node: exit 2"
: >"$WORK/err"
echo ok
