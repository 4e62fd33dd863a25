#!/usr/bin/env bash
# hearsay in five minutes: build it, then watch one update spread through
# simulated clusters of 1000 and 26,000 real gossip engines, and a
# 128-node cluster detect a crash (hearsay-sim, docs/SIM.md).
#
#   ./scripts/demo.sh
#
# Installs the build dependencies first (scripts/deps.sh: as root it
# installs what is missing; as another user it names the missing packages
# and stops). Configures build/ if it is not configured yet, otherwise only
# rebuilds it. Runs the simulator three times in shared-view mode and once
# with 128 nodes in full-membership mode (under 10 s in all: a 1000-node
# run in full-membership mode takes ~40 s, so the demo does not use it)
# and writes the charts to build/sim-1000.svg,
# build/sim-1000-loss10.svg and build/sim-26000.svg. Exits non-zero if a
# run did not reach every node.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/deps.sh

if [[ ! -f build/meson-private/coredata.dat ]]; then
	meson setup build -Dbuildtype=debugoptimized
fi
ninja -C build

SIM=./build/perf/hearsay-sim
status=0

# run TITLE ARGS...: one simulation, its table on stdout, progress on stderr.
run() {
	local title=$1 rc=0
	shift
	echo
	echo "==> $title"
	echo "    $SIM $*"
	echo
	"$SIM" "$@" || rc=$?
	if ((rc != 0)); then
		echo "demo.sh: hearsay-sim exited $rc (1: some live node never got the update)" >&2
		status=1
	fi
}

cat <<'EOF'

What you are about to see
-------------------------
hearsay-sim starts 1000 (then 26,000) real hearsay engines in this one
process, each on its own port of an in-memory network, in virtual time (a
round is 10 ms of simulated time, however long it takes to compute). The
nodes draw their gossip partners from one shared list of every node
(--peers shared), so there is no membership phase: one node writes a key
at once, and the simulator counts, round by round, how many nodes hold it.
The same seed gives the same result, bit for bit.

What the numbers mean:
  residue       fraction of live nodes that never got the update (want 0)
  t_avg, t_last mean and worst time from the write until a node had it,
                in rounds and in milliseconds of simulated time
  log_fanout(N) the textbook expectation for an epidemic: about 6.3 rounds
                for 1000 nodes at fanout 3, 9.2 for 26,000
  traffic       frames and bytes each node sent while the update spread
                (every gossip frame, heartbeats included)
  peak RSS      the simulator's memory: about 120 KB per simulated node

With --peers full every node would first learn the whole membership by
gossip, which costs N^2 memory and about 40 s at 1000 nodes; docs/SIM.md
has both modes and their limits.
EOF

run "1000 nodes, fanout 3, no loss" \
	--nodes 1000 --peers shared --seed 1 --svg build/sim-1000.svg
run "1000 nodes, fanout 3, 10% of datagrams lost" \
	--nodes 1000 --peers shared --seed 1 --loss 0.1 \
	--svg build/sim-1000-loss10.svg
run "26,000 nodes, fanout 3, no loss (about 3 s, 3 GiB)" \
	--nodes 26000 --peers shared --seed 1 --svg build/sim-26000.svg

cat <<'EOF'

Membership and failure detection
--------------------------------
Now 128 nodes, each with its own membership (--peers full): they all start
at once and learn each other from one seed (a mass join), an update is
broadcast, then one node is killed without a word. Every node probes one
member a round (SWIM: directly, then through three others); a suspect that
is alive refutes, an unrefuted suspicion becomes dead. Watch the lines
"failure detection", "detection" (first node and all nodes to mark the
victim dead) and "false positives" (suspicions of live nodes: want 0),
with 5% of the datagrams lost.
EOF
run "128 nodes, own membership, 5% loss, one node killed" \
	--nodes 128 --peers full --seed 1 --loss 0.05

cat <<EOF

Charts (open in a browser):
  $(pwd)/build/sim-1000.svg          the infection curve without loss
  $(pwd)/build/sim-1000-loss10.svg   the same with 10% loss
  $(pwd)/build/sim-26000.svg         26,000 nodes, no loss
Dark blue dots: the fraction of nodes holding the update at the end of
each round; light blue: the same at every 1 ms tick; dashed red: the
textbook log_fanout(N); dashed green: the classic push-pull anti-entropy
epidemic for the same fanout and loss. Fresh updates are forwarded at once
(rumor mongering), so nearly every node has it within two rounds, well
before log_fanout(N). Loss costs retries: the update still reaches every
node (anti-entropy repairs what rumors miss), a little later. Try other
scenarios, for example:
  $SIM --nodes 200 --partition --heal-rounds 20
  $SIM --nodes 200 --crash 0.2 --loss 0.3 --json
  $SIM --nodes 26000 --rumor-rounds 1 --no-push-now   # rumors pushed once
  $SIM --nodes 500 --peers full                       # gossiped membership
EOF
exit $status
