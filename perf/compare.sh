#!/usr/bin/env bash
# hearsay next to HashiCorp memberlist, one command, one table with ratios
# (issue #7; docs/PERFORMANCE.md, "hearsay and memberlist side by side").
#
#   perf/compare.sh [-n N] [-i INTERVAL_MS] [-H] [-q] [-o DIR] [BUILD_DIR]
#
# Runs, one after another on this machine, N nodes of each system in one
# process on 127.0.0.1, measured the same way (docs/BENCH.md,
# docs/MEMBERLIST.md): join-all, idle traffic and CPU, 20 timed broadcasts
# (time-last p50/p99/max, residue), one node killed without a word (time
# until every other node holds it dead), false suspicions and deaths.
#   hearsay-bench -n N -w 2 --interval-ms INTERVAL_MS --kill
#   memberlist-bench -n N -config lan     (memberlist.DefaultLANConfig)
#   memberlist-bench -n N -config fast    (10 ms gossip, 100 ms probes)
# -H runs a CPU hog the whole time: one busy loop per online CPU at the
# same priority as the benchmark, so that the nodes share every core with
# it (false deaths are counted as ever).
# -o DIR keeps each system's JSON (and hearsay's SVG CDF) there.
# -q is quick, for the test suite: 3 broadcasts 50 ms apart and 1 s idle
# (figures too short to publish).
# memberlist-bench is built from Debian's packages when missing
# (perf/memberlist/build.sh; needs root for apt-get the first time).
# Prints the table, then the issue's targets with met/missed.
set -euo pipefail

N=128
INTERVAL=10
HOG=0
OUT=""
HQ=()
MQ=()
while getopts "n:i:Hqo:" o; do
	case "$o" in
	n) N=$OPTARG ;;
	i) INTERVAL=$OPTARG ;;
	H) HOG=1 ;;
	q) HQ=(--broadcasts 3 --spacing-ms 50 --idle-seconds 1)
	   MQ=(-broadcasts 3 -broadcast-gap 50ms -idle-seconds 1) ;;
	o) OUT=$OPTARG ;;
	*) echo "usage: $0 [-n N] [-i INTERVAL_MS] [-H] [-q] [-o DIR] [BUILD_DIR]" >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
HB="$BUILD/perf/hearsay-bench"
MB="$BUILD/perf/memberlist-bench"
[[ -x "$HB" ]] || { echo "compare: $HB not built (ninja -C $BUILD)" >&2; exit 2; }
if [[ ! -x "$MB" ]]; then
	echo "compare: building $MB" >&2
	"$here/memberlist/build.sh" "$MB" >&2
fi

WORK=$(mktemp -d /tmp/hscompare.XXXXXX)
hogs=()
cleanup() {
	set +e
	for p in "${hogs[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [[ -n "$OUT" ]]; then
		mkdir -p "$OUT" && cp "$WORK"/*.json "$WORK"/*.svg "$OUT"/ 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [[ $HOG == 1 ]]; then
	for ((c = 0; c < $(nproc); c++)); do
		bash -c 'while :; do :; done' &
		hogs+=($!)
	done
	echo "compare: CPU hog on: ${#hogs[@]} busy loops" >&2
fi

echo "compare: hearsay, $N nodes, ${INTERVAL} ms rounds" >&2
"$HB" -n "$N" -w 2 --interval-ms "$INTERVAL" --kill --json "${HQ[@]}" \
	--svg "$WORK/hearsay-$N.svg" >"$WORK/hearsay.json" 2>"$WORK/hearsay.err" ||
	{ tail -20 "$WORK/hearsay.err" >&2; echo "compare: hearsay-bench failed" >&2; }
for cfg in lan fast; do
	echo "compare: memberlist $cfg, $N nodes" >&2
	"$MB" -n "$N" -config "$cfg" -json "${MQ[@]}" >"$WORK/memberlist-$cfg.json" \
		2>"$WORK/memberlist-$cfg.err" ||
		{ tail -20 "$WORK/memberlist-$cfg.err" >&2; echo "compare: memberlist $cfg failed" >&2; }
done

python3 - "$WORK" "$N" "$INTERVAL" "$HOG" <<'EOF'
import json, sys
work, n, interval, hog = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
def load(name):
    try:
        with open(f"{work}/{name}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
h, lan, fast = load("hearsay"), load("memberlist-lan"), load("memberlist-fast")
def get(d, *path):
    for p in path:
        if not isinstance(d, dict) or d.get(p) is None:
            return None
        d = d[p]
    return d
# (label, hearsay path, memberlist path, unit, lower is better)
rows = [
    ("join-all", ("join_all_ms",), ("join_all_ms",), "ms"),
    ("broadcast time-avg p50", ("broadcast", "t_avg_ms_p50"), ("broadcast", "t_avg_ms_p50"), "ms"),
    ("broadcast time-last p50", ("broadcast", "t_last_ms_p50"), ("broadcast", "t_last_ms_p50"), "ms"),
    ("broadcast time-last p99", ("broadcast", "t_last_ms_p99"), ("broadcast", "t_last_ms_p99"), "ms"),
    ("broadcast time-last max", ("broadcast", "t_last_ms_max"), ("broadcast", "t_last_ms_max"), "ms"),
    ("broadcast residue", ("broadcast", "residue"), ("broadcast", "residue"), ""),
    ("crash detected by first", ("detect", "first_ms"), ("detect", "first_ms"), "ms"),
    ("crash detected by all", ("detect", "all_ms"), ("detect", "all_ms"), "ms"),
    ("false suspicions", ("false_suspect",), ("false_suspicions",), ""),
    ("false deaths", ("false_dead",), ("false_dead",), ""),
    ("idle bytes/node/s", ("idle", "bytes_per_node_per_s"), ("idle", "bytes_per_node_per_s"), "B/s"),
    ("idle msgs/node/s", ("idle", "msgs_per_node_per_s"), ("idle", "msgs_per_node_per_s"), "/s"),
    ("idle CPU per node", ("idle", "cpu_pct_per_node"), ("idle", "cpu_pct_per_node"), "%"),
]
def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "B/s":
        return f"{v / 1e3:.1f} KB/s" if v >= 1e3 else f"{v:.0f} B/s"
    if unit == "%":
        return f"{v:.3f} %"
    if unit == "ms":
        return f"{v / 1e3:.2f} s" if v >= 1e4 else f"{v:.1f} ms"
    return f"{v:g}"
def ratio(m, x):
    if m is None or x is None or x == 0:
        return "-"
    return f"{m / x:.1f}x"
title = f"N = {n}, hearsay {interval} ms rounds" + (", CPU hog on every core" if hog else "")
print(f"### {title}\n")
print("| | hearsay | memberlist lan | memberlist fast | lan / hearsay | fast / hearsay |")
print("| --- | --- | --- | --- | --- | --- |")
for label, hp, mp, unit in rows:
    hv, lv, fv = get(h, *hp), get(lan, *mp), get(fast, *mp)
    print(f"| {label} | {fmt(hv, unit)} | {fmt(lv, unit)} | {fmt(fv, unit)} | {ratio(lv, hv)} | {ratio(fv, hv)} |")
for name, d in (("hearsay", h), ("memberlist lan", lan), ("memberlist fast", fast)):
    if not d:
        print(f"\n{name}: no result (see its stderr above)")
    elif d.get("error"):
        print(f"\n{name}: {d['error']}")
print(f"\nIssue #7's targets (set for N = 128; this run: N = {n}, this machine, one run):\n")
def target(name, ok, detail):
    state = "met" if ok else ("missed" if ok is not None else "not measured")
    print(f"- {name}: **{state}** ({detail})")
hl, ll = get(h, "broadcast", "t_last_ms_p50"), get(lan, "broadcast", "t_last_ms_p50")
target("broadcast time-last >= 20x faster than memberlist lan",
       None if not hl or ll is None else ll / hl >= 20, f"{ratio(ll, hl)}")
hd, ld = get(h, "detect", "all_ms"), get(lan, "detect", "all_ms")
target("failure detection >= 40x faster than memberlist lan",
       None if not hd or ld is None else ld / hd >= 40, f"{ratio(ld, hd)}")
fd = get(h, "false_dead")
target("zero false deaths" + (" under the CPU hog" if hog else ""),
       None if fd is None else fd == 0, f"{fd}")
ib = get(h, "idle", "bytes_per_node_per_s")
target("idle traffic <= 60 KB/s per node", None if ib is None else ib <= 60e3,
       fmt(ib, "B/s"))
hc, fc = get(h, "idle", "cpu_pct_per_node"), get(fast, "idle", "cpu_pct_per_node")
target("idle CPU per node <= memberlist fast's",
       None if hc is None or fc is None else hc <= fc,
       f"{fmt(hc, '%')} against {fmt(fc, '%')}")
print(f"\nclocks: hearsay: {get(h, 'clock')}; memberlist: {get(lan, 'clock')}")
EOF
