#!/usr/bin/env bash
# hearsay's main job in two minutes: a real 5-node cluster of hearsayd.
#
#   ./scripts/demo.sh
#
# As root (the real thing): installs what is missing (scripts/deps.sh),
# builds build/, then starts 5 hearsayd nodes on the DPDK datapath
# (net_af_xdp on a veth per node, --no-huge: no hugepages needed), each in
# its own network namespace joined by a bridge (scripts/cluster.sh); shows
# `hearsay members` converging; writes a key on node 1 and reads it on
# node 4; kills node 5 without a word (SIGKILL) and shows the others mark
# it dead; stops node 3 gracefully (SIGTERM) and shows it `left`; then
# tears everything down, on failure too.
#
# Without root: says so and runs the same steps on the udp driver, five
# daemons on 127.0.0.1 (no namespaces, no privilege).
#
# HS_DEMO_DRIVER=dpdk-af_packet|afpacket|udp picks another datapath (root);
# HS_DEMO_LOCAL=1 runs the unprivileged version even as root.
# Exits non-zero if a step does not show what it should.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=5
DRIVER=${HS_DEMO_DRIVER:-dpdk-af_xdp}

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

if ((EUID == 0)); then
	./scripts/deps.sh
else
	./scripts/deps.sh || die "run as root to install the packages above"
fi
if [[ ! -f build/meson-private/coredata.dat ]]; then
	meson setup build -Dbuildtype=debugoptimized
fi
ninja -C build
HEARSAYD=$PWD/build/daemon/hearsayd
HEARSAY=$PWD/build/daemon/hearsay
[[ -x $HEARSAYD && -x $HEARSAY ]] || die "hearsayd was not built (meson summary says why)"

# ---- two ways to run a node: namespaces (root) or 127.0.0.1 (anyone)
if ((EUID == 0)) && [[ ${HS_DEMO_LOCAL:-0} != 1 ]]; then
	MODE=netns
	CL=./scripts/cluster.sh
	export HS_CLUSTER_NAME=hsdemo
	cli() { "$CL" cli "$@"; }
	start_all() { "$CL" start -n $N -d "$DRIVER"; }
	kill_node() { "$CL" kill "$1"; }
	stop_node() { "$CL" stop-node "$1"; }
	teardown() { "$CL" stop >/dev/null 2>&1 || true; }
	pre_clean() { teardown; }	# a cluster left by an interrupted demo
else
	MODE=local
	DRIVER=udp
	WORK=$(mktemp -d /tmp/hs-demo.XXXXXX)
	BASE=$((21000 + RANDOM % 10000))
	pids=()
	cli() { local i=$1; shift; "$HEARSAY" --socket "$WORK/n$i.sock" "$@"; }
	start_all() {
		local i key
		key=$("$HEARSAY" keygen)	# the frames are sealed with it
		for ((i = 1; i <= N; i++)); do
			"$HEARSAYD" -s node.name="n$i" -s network.port=$((BASE + i)) \
				-s security.keys="$key" \
				-s gossip.seeds=127.0.0.1:$((BASE + 1)) \
				-s api.socket="$WORK/n$i.sock" 2>"$WORK/n$i.log" &
			pids[i]=$!
			disown	# no "Killed" line from the shell when one is killed
			for _ in $(seq 50); do [[ -S $WORK/n$i.sock ]] && break; sleep 0.1; done
			[[ -S $WORK/n$i.sock ]] || { tail "$WORK/n$i.log"; return 1; }
		done
	}
	kill_node() { kill -KILL "${pids[$1]}"; }
	stop_node() {	# SIGTERM, then until it has exited (at most 10 s)
		local p=${pids[$1]} k
		kill -TERM "$p"
		for k in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
	}
	teardown() {
		local p
		for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
		rm -rf "$WORK"
	}
	pre_clean() { :; }
	((EUID == 0)) || echo "demo: not root: no namespaces or DPDK; running the same steps on the"
	((EUID != 0)) || echo "demo: HS_DEMO_LOCAL=1: running the same steps on the"
	echo "demo: udp driver, $N daemons on 127.0.0.1 (run as root for the DPDK datapath)"
fi
trap teardown EXIT

# count NODE STATUS: how many members NODE sees in STATUS
count() { cli "$1" --json members | jq --arg s "$2" '[.members[] | select(.status == $s)] | length'; }
# wait_for SECONDS CMD...: poll until CMD succeeds
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 0.2
	done
}
# status_is NODE MEMBER STATUS: NODE sees MEMBER in STATUS
status_is() { [[ $(cli "$1" --json member "$2" | jq -r .status) == "$3" ]]; }
all_alive() { local i; for ((i = 1; i <= N; i++)); do [[ $(count "$i" alive) == "$N" ]] || return 1; done; }

say "starting $N hearsayd nodes, driver $DRIVER ($MODE)"
pre_clean
start_all
t0=$SECONDS
wait_for 30 all_alive || { cli 1 members; die "the members did not converge"; }
say "converged within $((SECONDS - t0 + 1)) s: node 1 sees"
cli 1 members

say "write a key on node 1 (waiting until every live member holds it), read it on node 4"
cli 1 put demo/greeting "hello from n1" --wait
printf 'node 4 reads: '
cli 4 get n1 demo/greeting

say "kill node 5 without a word (SIGKILL)"
kill_node 5
t0=$SECONDS
wait_for 30 status_is 1 n5 dead || die "n5 was not marked dead"
say "node 1 marked n5 dead within $((SECONDS - t0 + 1)) s"
cli 1 members

say "stop node 3 gracefully (SIGTERM): it leaves, the others see it left, not dead"
stop_node 3
wait_for 15 status_is 2 n3 left || die "n3 was not seen as left"
cli 2 members

say "node 2's view in numbers (hearsay info)"
cli 2 info
echo
echo "demo: done; tearing down"
