#!/usr/bin/env bash
# Packet I/O benchmark: hearsay's drivers next to dpdk-testpmd on the same
# device, in one run (docs/PERFORMANCE.md, "Packet I/O").
#
#   perf/iobench.sh [-s SECONDS] [-d DEVICES] [BUILD_DIR]
#
# DEVICES (comma-separated, default all):
#   memif     DPDK net_memif between two processes (no kernel: the
#             engine's own cost)
#   afxdp     DPDK net_af_xdp on a veth pair in two namespaces
#   afpacket  DPDK net_af_packet on a veth pair, then hearsay's native
#             afpacket driver and the udp driver on the same veth pair
#
# On each device, two processes each on its own core (sink on cpu 0,
# generator on cpu 1):
#   testpmd   rxonly <- txonly, at the gossip frames' sizes
#   hearsay   sink (a real node, one worker) <- hearsay-iobench gen,
#             workloads known (deltas the sink holds), fresh (new versions:
#             every entry merged), sync (SYNs of digests in sync: nothing
#             to merge, nothing to answer), hashes (SYNs of bucket hashes
#             in sync: what a cluster at rest sends), known0 (known, sent
#             with UDP checksum 0: network.udp_checksum = false; L2
#             drivers only)
# and prints one table: frames/s (median of 100 ms samples), entries/s
# merged, and the ratios the issue asks for.  Needs root.  Cleans up its
# namespaces, processes and /var/run/dpdk/<prefix> on exit.
set -euo pipefail

SECONDS_RUN=5
DEVICES=memif,afxdp,afpacket
while getopts "s:d:" o; do
	case "$o" in
	s) SECONDS_RUN=$OPTARG ;;
	d) DEVICES=$OPTARG ;;
	*) echo "usage: $0 [-s SECONDS] [-d DEVICES] [BUILD_DIR]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
BUILD=${1:-build}
IOB="$BUILD/perf/hearsay-iobench"
TESTPMD=$(command -v dpdk-testpmd || true)
[[ $(id -u) -eq 0 ]] || { echo "iobench: needs root" >&2; exit 2; }
[[ -x "$IOB" ]] || { echo "iobench: $IOB not built (meson with libdpdk-dev)" >&2; exit 2; }
[[ -n "$TESTPMD" ]] || { echo "iobench: dpdk-testpmd missing (apt-get install dpdk-dev)" >&2; exit 2; }

TAG="hsiob$$"
WORK=$(mktemp -d "/tmp/${TAG}.XXXXXX")
pids=()
cleanup() {
	set +e
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "${TAG}-a" 2>/dev/null
	ip netns del "${TAG}-b" 2>/dev/null
	[[ -n "${HS_IOB_KEEP:-}" ]] && cp -r "$WORK" "$HS_IOB_KEEP"
	rm -rf /var/run/dpdk/"${TAG}"-* "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

EAL_COMMON="--no-huge -m 512 --no-pci --log-level 3"
DELTA_LEN=1514		# 1472-byte gossip frame + 42 bytes of headers
SYN_LEN=$((40 + 4 + 31 * 40 + 42))
HASH_LEN=$((40 + 4 + 8 + 4 * 8 + 42))	# 4 buckets over 31 owners
results="$WORK/results"
: >"$results"

# run_pair NAME SINK_CMD... :: GEN_CMD...: both at once, the sink first
# ("::", since testpmd's own command line holds a "--")
run_pair() {
	local name=$1; shift
	local sink=() gen=()
	while [[ $1 != :: ]]; do sink+=("$1"); shift; done
	shift
	gen=("$@")
	"${sink[@]}" >"$WORK/$name.sink" 2>"$WORK/$name.sink.err" &
	local sp=$!
	pids+=("$sp")
	sleep 1.5	# the sink's EAL and port up, the memif server listening
	"${gen[@]}" >"$WORK/$name.gen" 2>"$WORK/$name.gen.err" &
	local gp=$!
	pids+=("$gp")
	wait "$gp" || true
	wait "$sp" || true
	pids=()
}

testpmd_pair() {	# NAME LEN SINK_NS SINK_VDEV GEN_NS GEN_VDEV
	local name=$1 len=$2 sns=$3 svdev=$4 gns=$5 gvdev=$6
	local run=$((SECONDS_RUN + 2))
	run_pair "$name" \
		$sns timeout -s INT "$((run + 2))" "$TESTPMD" --lcores 0@1,1@0 $EAL_COMMON \
			--file-prefix "${TAG}-s" --vdev "$svdev" -- --forward-mode=rxonly \
			--auto-start --stats-period=1 --nb-cores=1 --rxq=1 --txq=1 --total-num-mbufs=16384 \
		:: \
		$gns timeout -s INT "$run" "$TESTPMD" --lcores 0@0,1@1 $EAL_COMMON \
			--file-prefix "${TAG}-g" --vdev "$gvdev" -- --forward-mode=txonly \
			--auto-start --stats-period=1 --nb-cores=1 --rxq=1 --txq=1 --total-num-mbufs=16384 \
			--txpkts="$len"
	python3 - "$WORK/$name" "$name" "$len" >>"$results" <<'EOF'
import re, statistics, sys
base, name, length = sys.argv[1], sys.argv[2], sys.argv[3]
def med(path, key):
    v = [int(x) for x in re.findall(key + r":\s+(\d+)", open(path, errors="replace").read())]
    v = [x for x in v if x > 0][1:-1] or [x for x in v if x > 0]
    return statistics.median(v) if v else 0
print(f"{name} testpmd {length} rx {med(base + '.sink', 'Rx-pps')} tx {med(base + '.gen', 'Tx-pps')}")
EOF
}

ours_pair() {	# NAME WORKLOAD DRIVER SINK_NS GEN_NS SINK_ARGS -- GEN_ARGS
	local name=$1 wl=$2 drv=$3 sns=$4 gns=$5; shift 5
	local sargs=() gargs=()
	while [[ $1 != -- ]]; do sargs+=("$1"); shift; done
	shift
	gargs=("$@")
	[[ $wl == known0 ]] && gargs+=(--no-udp-csum)
	run_pair "$name" \
		$sns "$IOB" --role sink --workload "${wl%0}" --driver "$drv" --cpu 0 \
			--seconds "$((SECONDS_RUN + 2))" --json "${sargs[@]}" \
		:: \
		$gns "$IOB" --role gen --workload "${wl%0}" --driver "$drv" --cpu 1 \
			--seconds "$SECONDS_RUN" --json "${gargs[@]}"
	python3 - "$WORK/$name" "$name" "$wl" >>"$results" <<'EOF'
import json, sys
base, name, wl = sys.argv[1], sys.argv[2], sys.argv[3]
def last_json(path):
    for line in reversed(open(path).read().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {}
s, g = last_json(base + ".sink"), last_json(base + ".gen")
answered = s.get("ack_sent", 0) + s.get("syn_replies", 0)
if wl in ("sync", "hashes") and answered:
    print(f"iobench: {name}: the sink answered {answered} SYNs meant to be in sync", file=sys.stderr)
print(f"{name} hearsay {wl} rx {s.get('frames_per_s', 0):.0f} entries {s.get('entries_per_s', 0):.0f} tx {g.get('frames_per_s', 0):.0f}")
EOF
}

netns_pair() {	# with_ip: 1 to give the kernel the addresses
	ip netns del "${TAG}-a" 2>/dev/null || true
	ip netns del "${TAG}-b" 2>/dev/null || true
	ip netns add "${TAG}-a"
	ip netns add "${TAG}-b"
	ip link add "${TAG}x" type veth peer name "${TAG}y"
	ip link set "${TAG}x" netns "${TAG}-a" name veth0
	ip link set "${TAG}y" netns "${TAG}-b" name veth0
	for n in a b; do
		ip -n "${TAG}-$n" link set lo up
		ip -n "${TAG}-$n" link set veth0 up
	done
	if [[ $1 == 1 ]]; then
		ip -n "${TAG}-a" addr add 10.88.0.1/24 dev veth0
		ip -n "${TAG}-b" addr add 10.88.0.2/24 dev veth0
	fi
}

SA="ip netns exec ${TAG}-a"
SB="ip netns exec ${TAG}-b"
ADDR_S=(--ip 10.88.0.1 --peer 10.88.0.2)
ADDR_G=(--ip 10.88.0.2 --peer 10.88.0.1)

# the in-memory reference for the fresh workload, in the same run:
# decode + merge of the same frames (hearsay-microbench), free to use both
# cores (its call_rcu thread on the idle one) and held to one core (as the
# sink is, with the generator busy on the other)
MB="$BUILD/perf/hearsay-microbench"
if [[ -x "$MB" ]]; then
	for pin in both one; do
		pre=()
		[[ $pin == one ]] && pre=(taskset -c 0)
		r=$("${pre[@]}" "$MB" --benchmark_filter='BM_table_merge_fresh/100000/1' \
			--benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>/dev/null |
			awk '/_median/ { for (i = 1; i <= NF; i++) if ($i ~ /^items_per_second=/) { sub("items_per_second=", "", $i); print $i } }')
		echo "microbench-$pin ref merge_fresh $r" >>"$results"
	done
fi

for dev in ${DEVICES//,/ }; do
	case "$dev" in
	memif)
		sock="/run/${TAG}.sock"
		sv="net_memif0,role=server,socket=$sock"
		gv="net_memif0,role=client,socket=$sock"
		testpmd_pair memif-$DELTA_LEN $DELTA_LEN "" "$sv" "" "$gv"
		testpmd_pair memif-$SYN_LEN $SYN_LEN "" "$sv" "" "$gv"
		testpmd_pair memif-$HASH_LEN $HASH_LEN "" "$sv" "" "$gv"
		for wl in known known0 fresh sync hashes; do
			ours_pair memif-$wl $wl dpdk "" "" "${ADDR_S[@]}" --dev net_memif0 \
				--eal "--lcores 0@0 $EAL_COMMON --file-prefix ${TAG}-s --vdev $sv" \
				-- "${ADDR_G[@]}" --dev net_memif0 \
				--eal "--lcores 0@1 $EAL_COMMON --file-prefix ${TAG}-g --vdev $gv"
		done
		;;
	afxdp|afpacket)
		netns_pair 0
		[[ $dev == afxdp ]] && pmd=net_af_xdp0,iface=veth0 || pmd=net_af_packet0,iface=veth0
		pdev=${pmd%%,*}
		testpmd_pair $dev-$DELTA_LEN $DELTA_LEN "$SA" "$pmd" "$SB" "$pmd"
		testpmd_pair $dev-$SYN_LEN $SYN_LEN "$SA" "$pmd" "$SB" "$pmd"
		testpmd_pair $dev-$HASH_LEN $HASH_LEN "$SA" "$pmd" "$SB" "$pmd"
		for wl in known known0 fresh sync hashes; do
			ours_pair $dev-$wl $wl dpdk "$SA" "$SB" "${ADDR_S[@]}" --dev "$pdev" \
				--eal "--lcores 0@0 $EAL_COMMON --file-prefix ${TAG}-s --vdev $pmd" \
				-- "${ADDR_G[@]}" --dev "$pdev" \
				--eal "--lcores 0@1 $EAL_COMMON --file-prefix ${TAG}-g --vdev $pmd"
		done
		if [[ $dev == afpacket ]]; then
			netns_pair 1
			for drv in afpacket udp; do
				wls="known fresh sync hashes"
				[[ $drv == afpacket ]] && wls="known known0 fresh sync hashes"
				for wl in $wls; do
					ours_pair native-$drv-$wl $wl $drv "$SA" "$SB" \
						"${ADDR_S[@]}" --iface veth0 -- \
						"${ADDR_G[@]}" --iface veth0
				done
			done
		fi
		;;
	*) echo "iobench: unknown device $dev" >&2; exit 2 ;;
	esac
done

python3 - "$results" "$BUILD" <<'EOF'
import re, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
tp, ours, ref = {}, {}, {}
def num(x):
    m = {"k": 1e3, "M": 1e6, "G": 1e9}
    x = x.removesuffix("/s")
    return float(x[:-1]) * m[x[-1]] if x and x[-1] in m else float(x or 0)
for r in rows:
    if r[1] == "ref":
        ref[r[0].split("-")[1]] = num(r[3]) if len(r) > 3 else 0
        continue
    if r[1] == "testpmd":
        dev = r[0].rsplit("-", 1)[0]
        tp[(dev, int(r[2]))] = (float(r[4]), float(r[6]))
    else:
        ours[r[0]] = dict(wl=r[2], rx=float(r[4]), ent=float(r[6]), tx=float(r[8]))
def fmt(x):
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"
print("| device | driver | workload | sink frames/s | entries/s | entries / in-memory (2 cores, 1 core) | gen frames/s | testpmd rxonly | testpmd txonly | rx / rxonly | tx / txonly |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for name, o in ours.items():
    parts = name.split("-")
    if parts[0] == "native":
        dev, drv = "veth (afpacket)", parts[1]
        key = "afpacket"
    else:
        dev, drv, key = parts[0], "dpdk", parts[0]
    length = {"sync": 1326, "hashes": 126}.get(o["wl"], 1514)
    trx, ttx = tp.get((key, length), (0, 0))
    rr = f"{o['rx'] / trx:.2f}" if trx else "-"
    rt = f"{o['tx'] / ttx:.2f}" if ttx else "-"
    ent = fmt(o["ent"]) if o["wl"] == "fresh" else "-"
    er = "-"
    if o["wl"] == "fresh" and ref.get("both") and ref.get("one"):
        er = f"{o['ent'] / ref['both']:.2f}, {o['ent'] / ref['one']:.2f}"
    wl = "known, UDP csum 0" if o["wl"] == "known0" else o["wl"]
    print(f"| {dev} | {drv} | {wl} | {fmt(o['rx'])} | {ent} | {er} | {fmt(o['tx'])} | {fmt(trx)} | {fmt(ttx)} | {rr} | {rt} |")
if ref:
    print()
    print("in-memory decode + merge (hearsay-microbench BM_table_merge_fresh/100000/1, median of 3): "
          + ", ".join(f"{k} core{'s' if k == 'both' else ''}: {fmt(v)} entries/s" for k, v in ref.items()))
EOF
