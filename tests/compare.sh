#!/usr/bin/env bash
# perf/compare.sh end to end (suite "sim"): hearsay and HashiCorp
# memberlist, 8 nodes each on 127.0.0.1, quick phases (-q).
#
#   compare.sh BUILD_DIR
#
# Builds memberlist-bench from Debian's packages when it is missing
# (perf/memberlist/build.sh; installing golang-go and the memberlist
# package needs root: without root and without them, SKIP with exit 77).
# Asserts, from the JSON each system wrote and the table printed: hearsay
# joined, its 3 writes reached every node (residue 0), the killed node was
# declared dead by all, no false death; memberlist's LAN and 10 ms configs
# ran every phase (no error, 3 broadcasts measured with their residue,
# detection finished: memberlist is measured here, not judged); the table has a
# ratio for broadcast time-last and detection, and the targets' verdicts.
set -euo pipefail

BUILD=$(cd "${1:?build dir}" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MB="$BUILD/perf/memberlist-bench"
WORK=$(mktemp -d /tmp/hs-compare.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

fail() {
	printf 'FAIL: %s\n' "$*"
	for f in "$WORK"/err "$WORK"/table; do
		[[ -s $f ]] && { echo "--- $f"; cat "$f"; }
	done
	exit 1
}

command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
if [[ ! -x $MB ]]; then
	if ! "$ROOT/perf/memberlist/build.sh" "$MB" >"$WORK/build" 2>&1; then
		if ((EUID != 0)) && grep -q "missing Debian packages" "$WORK/build"; then
			echo "SKIP: $(cat "$WORK/build") (scripts/deps.sh installs them)"
			exit 77
		fi
		cat "$WORK/build"
		fail "memberlist-bench did not build"
	fi
fi

"$ROOT/perf/compare.sh" -q -n 8 -o "$WORK/out" "$BUILD" >"$WORK/table" \
	2>"$WORK/err" || fail "perf/compare.sh exited $?"
cat "$WORK/table"

python3 - "$WORK/out" "$WORK/table" <<'EOF' || fail "results"
import json, re, sys
out, table = sys.argv[1], open(sys.argv[2]).read()
bad = []
def load(name):
    try:
        return json.load(open(f"{out}/{name}.json"))
    except (OSError, ValueError) as e:
        bad.append(f"{name}.json: {e}")
        return {}
h = load("hearsay")
if h.get("join_all_ms", 0) <= 0:
    bad.append("hearsay: no join-all time")
b = h.get("broadcast", {})
if b.get("count") != 3 or b.get("residue") != 0:
    bad.append(f"hearsay: broadcasts {b}")
d = h.get("detect", {})
if not d.get("done") or not d.get("all_ms", 0) > 0:
    bad.append(f"hearsay: detection {d}")
if h.get("false_dead") != 0:
    bad.append(f"hearsay: {h.get('false_dead')} false deaths")
for cfg in ("lan", "fast"):
    m = load(f"memberlist-{cfg}")
    if m.get("error"):
        bad.append(f"memberlist {cfg}: {m['error']}")
        continue
    # memberlist is measured, not judged: its residue is its own (its
    # 10 ms config loses a broadcast now and then); the phase must run
    mb = m.get("broadcast", {})
    if mb.get("count") != 3 or not isinstance(mb.get("residue"), int):
        bad.append(f"memberlist {cfg}: broadcast {mb}")
    if not m.get("detect", {}).get("all_ms", 0) > 0:
        bad.append(f"memberlist {cfg}: detection {m.get('detect')}")
for label in ("broadcast time-last p50", "crash detected by all"):
    row = [l for l in table.splitlines() if l.startswith(f"| {label} |")]
    if not row or not re.search(r"\| [0-9.]+x \|", row[0]):
        bad.append(f"table: no ratio for {label}: {row}")
for target in ("broadcast time-last >= 20x", "failure detection >= 40x",
               "idle traffic <= 60 KB/s"):
    if not re.search(re.escape(target) + r".*\*\*(met|missed)\*\*", table):
        bad.append(f"table: no verdict for '{target}'")
for x in bad:
    print("FAIL:", x)
sys.exit(1 if bad else 0)
EOF
echo "# hearsay and memberlist side by side: every phase ran, table and verdicts printed"
