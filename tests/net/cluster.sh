#!/usr/bin/env bash
# A real cluster in network namespaces, one node per namespace, over veth
# pairs and a Linux bridge (suite "net").
#
#   cluster.sh MODE NETNODE
#
# MODE picks the drivers (driver:workers per node):
#   udp          3 x udp
#   udp-mq       udp:2 + 11 x udp          (SO_REUSEPORT queues)
#   afpacket     3 x afpacket
#   afpacket-mq  afpacket:2 + 11 x afpacket (PACKET_FANOUT queues)
# (11 peers: the kernel hashes flows over the two queues, and the chance
# that all of them land on one is 2^-10)
#   dpdk         3 x dpdk (net_af_packet vdev, --no-huge)
#   dpdk-mq      dpdk:2 (net_af_packet, qpairs=2: the kernel's fanout hash
#                spreads flows as RSS would) + 11 x udp
#   dpdk-xdp     3 x dpdk (net_af_xdp vdev, --no-huge)
#   mixed        dpdk + afpacket + udp: one wire protocol
#
# Checks: every node reports "converged" (all others alive, all their keys)
# before the deadline; on SIGTERM each exits 0 and reports, per node,
# entries installed == the sum of every owner's watermark (each key is
# written once, so an entry installed twice or lost would show) and no
# undecodable frame; in the -mq modes both queues of node 1 received
# frames and the hand-over to the primary dropped nothing.  For the L2
# drivers a capture on the bridge (tshark) must decode every gossip frame
# as Ethernet/IPv4/UDP with good checksums and hold no ICMP
# port-unreachable; and the kernel of the bridge's namespace must resolve
# every dpdk node's address (which no kernel has: only hearsay answers ARP
# for it) to that node's MAC.
#
# Everything it makes (namespaces, hence veths and the bridge; processes;
# /var/run/dpdk/<prefix>) is removed on exit, failure included.  Exit 77
# (skip) only without root or without netns support.
set -euo pipefail

MODE=${1:?mode}
NETNODE=${2:?hs-netnode path}
TAG="hs$$"
BR_NS="${TAG}-br"
WORK=$(mktemp -d "/tmp/${TAG}-net.XXXXXX")
PORT=7946
DEADLINE=${HS_NET_DEADLINE:-60}
pids=()
nss=()
tshark_pid=""

log() { printf '# %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }

cleanup() {
	local rc=$?
	set +e
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	[[ -n "$tshark_pid" ]] && kill -KILL "$tshark_pid" 2>/dev/null
	wait 2>/dev/null
	for ns in "${nss[@]}"; do ip netns del "$ns" 2>/dev/null; done
	ip netns del "$BR_NS" 2>/dev/null
	rm -rf /var/run/dpdk/"${TAG}"-* 2>/dev/null
	if ((rc != 0 && rc != 77)); then
		for f in "$WORK"/*.out "$WORK"/*.err; do
			[[ -s "$f" ]] && { echo "== $f"; tail -20 "$f"; }
		done
	fi
	[[ -n "${HS_NET_KEEP:-}" ]] && cp -r "$WORK" "$HS_NET_KEEP"
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [[ $(id -u) -ne 0 ]]; then
	echo "skip: needs root (network namespaces, raw sockets)"
	exit 77
fi
if ! ip netns add "$BR_NS" 2>/dev/null; then
	echo "skip: cannot create a network namespace here"
	exit 77
fi

case "$MODE" in
udp)         spec=(udp:1 udp:1 udp:1) ;;
udp-mq)      spec=(udp:2 $(printf 'udp:1 %.0s' {1..11})) ;;
afpacket)    spec=(afpacket:1 afpacket:1 afpacket:1) ;;
afpacket-mq) spec=(afpacket:2 $(printf 'afpacket:1 %.0s' {1..11})) ;;
dpdk)        spec=(dpdk:1 dpdk:1 dpdk:1) ;;
dpdk-mq)     spec=(dpdk:2 $(printf 'udp:1 %.0s' {1..11})) ;;
dpdk-xdp)    spec=(dpdk-xdp:1 dpdk-xdp:1 dpdk-xdp:1) ;;
mixed)       spec=(dpdk:1 afpacket:1 udp:1) ;;
custom)      read -r -a spec <<<"${HS_NET_SPEC:?custom needs HS_NET_SPEC, e.g. \"dpdk:1 udp:2\"}" ;;
*) fail "unknown mode $MODE" ;;
esac
N=${#spec[@]}

ip -n "$BR_NS" link add br0 type bridge
ip -n "$BR_NS" link set br0 up
ip -n "$BR_NS" addr add 10.77.0.254/24 dev br0	# a kernel that asks ARP
l2=0
for i in $(seq 1 "$N"); do
	ns="${TAG}-n$i"
	ip netns add "$ns"
	nss+=("$ns")
	ip link add "${TAG}a$i" type veth peer name "${TAG}b$i"
	ip link set "${TAG}a$i" netns "$ns" name hs0
	ip link set "${TAG}b$i" netns "$BR_NS"
	ip -n "$BR_NS" link set "${TAG}b$i" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set hs0 up
	drv=${spec[$((i - 1))]%%:*}
	# the kernel holds the address of udp and afpacket nodes (a VM);
	# a dpdk node owns its port: the kernel has no address there
	case "$drv" in
	dpdk*) l2=1 ;;
	afpacket) l2=1; ip -n "$ns" addr add "10.77.0.$i/24" dev hs0 ;;
	*) ip -n "$ns" addr add "10.77.0.$i/24" dev hs0 ;;
	esac
	# A kernel sending over a veth leaves the UDP checksum to a "device"
	# that never computes it; a packet socket sees it unfinished, and a
	# dpdk node (net_af_packet, which does not report that status) would
	# drop it as a bad checksum.  A real NIC fills it in: so does the
	# kernel here, with the offload off.
	[[ "$drv" == dpdk* ]] || ip netns exec "$ns" ethtool -K hs0 tx off >/dev/null
done

if ((l2)) && command -v tshark >/dev/null; then
	ip netns exec "$BR_NS" tshark -i br0 -w "$WORK/cap.pcapng" -q \
		>"$WORK/tshark.out" 2>"$WORK/tshark.err" &
	tshark_pid=$!
	for _ in $(seq 1 100); do
		grep -q "Capturing on" "$WORK/tshark.err" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "Capturing on" "$WORK/tshark.err" || fail "tshark did not start"
fi

start=$(date +%s%N)
for i in $(seq 1 "$N"); do
	ns="${TAG}-n$i"
	drv=${spec[$((i - 1))]%%:*}
	w=${spec[$((i - 1))]##*:}
	args=(--id "$i" --nodes "$N" --ip "10.77.0.$i" --port "$PORT"
	      --iface hs0 --workers "$w" --timeout "$((DEADLINE + 30))")
	[[ $i -ne 1 ]] && args+=(--seed "10.77.0.1:$PORT")
	case "$drv" in
	dpdk)
		args+=(--driver dpdk --dev net_af_packet0
		       --eal "--no-huge -m 256 --no-pci --file-prefix ${TAG}-$i --vdev net_af_packet0,iface=hs0,qpairs=$w -l 0 --log-level 4") ;;
	dpdk-xdp)
		args+=(--driver dpdk --dev net_af_xdp0
		       --eal "--no-huge -m 256 --no-pci --file-prefix ${TAG}-$i --vdev net_af_xdp0,iface=hs0,queue_count=$w -l 0 --log-level 4") ;;
	*)
		args+=(--driver "$drv") ;;
	esac
	ip netns exec "$ns" "$NETNODE" "${args[@]}" \
		>"$WORK/n$i.out" 2>"$WORK/n$i.err" &
	pids+=($!)
	# the next node's first frames must find this one listening (else
	# its kernel rightly answers ICMP port-unreachable)
	for _ in $(seq 1 200); do
		grep -q '^ready' "$WORK/n$i.out" && break
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '^ready' "$WORK/n$i.out" || fail "node $i did not start: $(cat "$WORK/n$i.err")"
done

# wait for the outcome: every node converged (or one died, or the deadline)
end=$((SECONDS + DEADLINE))
while ((SECONDS < end)); do
	done_n=0
	for i in $(seq 1 "$N"); do
		grep -q '^converged' "$WORK/n$i.out" && done_n=$((done_n + 1))
		kill -0 "${pids[$((i - 1))]}" 2>/dev/null ||
			fail "node $i exited early: $(cat "$WORK/n$i.err")"
	done
	((done_n == N)) && break
	sleep 0.1
done
ms=$((($(date +%s%N) - start) / 1000000))
if ((done_n != N)); then
	# their own report of what they saw, for the log
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do timeout 10 tail --pid="$p" -f /dev/null || true; done
	fail "$done_n of $N nodes converged in ${DEADLINE}s"
fi
log "$MODE: $N nodes converged within $ms ms of the first start"
for i in $(seq 1 "$N"); do log "node $i ($(grep '^converged' "$WORK/n$i.out"))"; done

# our ARP answers the kernel's requests: the bridge namespace's kernel
# resolves each dpdk node (a datagram to a closed port is only the trigger)
for i in $(seq 1 "$N"); do
	drv=${spec[$((i - 1))]%%:*}
	[[ "$drv" == dpdk* ]] || continue
	mac=""
	for _ in $(seq 1 10); do
		ip netns exec "$BR_NS" bash -c "echo x > /dev/udp/10.77.0.$i/9" 2>/dev/null || true
		sleep 0.1
		mac=$(ip -n "$BR_NS" neigh show "10.77.0.$i" | grep -o 'lladdr [0-9a-f:]*' || true)
		[[ -n "$mac" ]] && break
	done
	[[ -n "$mac" ]] || fail "the kernel could not resolve dpdk node 10.77.0.$i by ARP"
	log "node $i ($drv): the kernel resolved 10.77.0.$i to ${mac#lladdr }"
done

# the capture ends while every node still runs: a node that has exited
# has no socket, and its kernel rightly answers ICMP port-unreachable
if [[ -n "$tshark_pid" ]]; then
	# the cluster keeps gossiping: let the capture file hold some of it
	# (the capture writes in blocks; it may lag the first frames)
	for _ in $(seq 1 100); do
		(($(stat -c %s "$WORK/cap.pcapng" 2>/dev/null || echo 0) > 65536)) && break
		sleep 0.1
	done
	kill -INT "$tshark_pid"
	wait "$tshark_pid" || true
	tshark_pid=""
	captured=1
fi

for p in "${pids[@]}"; do kill -TERM "$p"; done
for i in $(seq 1 "$N"); do
	rc=0
	wait "${pids[$((i - 1))]}" || rc=$?
	((rc == 0)) || fail "node $i exited $rc: $(tail -3 "$WORK/n$i.err")"
done
pids=()

python3 - "$WORK" "$N" "$MODE" <<'EOF'
import json, sys
work, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
bad = []
for i in range(1, n + 1):
    line = [l for l in open(f"{work}/n{i}.out") if l.startswith("stats ")]
    if not line:
        sys.exit(f"FAIL: node {i} printed no stats")
    st = json.loads(line[-1][6:])
    lanes = st["lanes"]
    print(f"# node {i}: installed {st['merged']} + {st['local_writes']}, "
          f"versions {st['versions']}, lanes rx "
          + "/".join(str(l["rx"]) for l in lanes)
          + ", handed over " + "/".join(str(l["fwd_frames"]) for l in lanes)
          + ", driver " + json.dumps([l["driver"] for l in lanes]))
    if st["merged"] + st["local_writes"] != st["versions"]:
        bad.append(f"node {i}: installed {st['merged'] + st['local_writes']}"
                   f" entries for {st['versions']} versions")
    if st["rx_bad"] != 0:
        bad.append(f"node {i}: {st['rx_bad']} undecodable frames")
    if len(lanes) > 1:
        if any(l["rx"] == 0 for l in lanes):
            bad.append(f"node {i}: a queue received nothing")
        if any(l["fwd_dropped"] != 0 for l in lanes):
            bad.append(f"node {i}: hand-over dropped")
    if i == 1 and mode.endswith("-mq") and len(lanes) < 2:
        bad.append("node 1 does not have two queues")
if bad:
    sys.exit("FAIL: " + "; ".join(bad))
EOF

if [[ -n "${captured:-}" ]]; then
	cap="$WORK/cap.pcapng"
	opts=(-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE)
	count() { tshark -r "$cap" "${opts[@]}" -Y "$1" 2>/dev/null | wc -l; }
	gossip=$(count "udp.port == $PORT")
	badck=$(count "udp.port == $PORT && (ip.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\" || _ws.malformed)")
	icmp=$(count "icmp.type == 3")
	log "capture: $gossip gossip frames, $badck with a bad checksum or malformed, $icmp ICMP unreachable"
	((gossip > 0)) || fail "no gossip frame in the capture"
	((badck == 0)) || fail "$badck frames with bad checksums"
	((icmp == 0)) || fail "the kernel answered gossip with ICMP unreachable: $(tshark -r "$cap" -Y 'icmp.type == 3' 2>/dev/null | head -3)"
	arp=$(count "arp.opcode == 2")
	log "capture: $arp ARP replies"
fi
log "$MODE: ok"
