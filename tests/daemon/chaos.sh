#!/usr/bin/env bash
# Chaos on the real datapaths (suite "net", issue #8 section 4): a sealed
# cluster of hearsayd nodes in namespaces made by scripts/cluster.sh (one
# dpdk net_af_xdp, one afpacket, two udp), every node losing 20 % of the
# frames it receives in the driver layer (network.loss), while two nodes
# write all along:
#
#   - a node is killed with SIGKILL and restarted (a new generation);
#   - another is partitioned (its link down) and healed;
#   - keys acknowledged by every member are deleted (tombstones);
#   - a raw sender floods one node with malformed frames at full rate.
#
# Asserts, after the heal: every node holds the same keys of each writer
# (key, value and version); every write acknowledged by every member
# (put --wait, reached) is there on every node; no deleted key is back;
# the flooded node counted the flood, kept its memory and kept converging;
# a killed node left dead is forgotten and does not come back as a ghost.
#
#   chaos.sh BUILD_DIR        (HS_CHAOS_LOSS=0.4: another loss rate)
#
# Root only (exit 77 otherwise).  The cluster, the writers and the flood
# are stopped on exit, failure included.
set -euo pipefail

BUILD=$(cd "${1:?build dir}" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CL="$ROOT/scripts/cluster.sh"
export HS_CLUSTER_NAME="hsc$$"
WORK=$(mktemp -d /tmp/hs-chaos.XXXXXX)
N=4
LOSS=${HS_CHAOS_LOSS:-0.2}	# share of received frames dropped
pids=()

((EUID == 0)) || { echo "SKIP: needs root (namespaces, DPDK)"; exit 77; }
ip netns list >/dev/null 2>&1 || { echo "SKIP: no network namespaces here"; exit 77; }
for t in jq python3; do
	command -v $t >/dev/null || { echo "SKIP: $t missing (scripts/deps.sh installs it)"; exit 77; }
done

log() { printf '# %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*"
	for ((i = 1; i <= N; i++)); do
		f=/run/hearsay-cluster/$HS_CLUSTER_NAME/n$i.log
		[[ -f $f ]] && { echo "--- n$i.log (tail)"; tail -n 12 "$f"; }
	done
	exit 1
}
cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$CL" stop >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

cli() { "$CL" cli "$@"; }
status_of() {	# NODE MEMBER
	cli "$1" --json member "$2" 2>/dev/null | jq -r .status 2>/dev/null || true
}
status_is() { [[ $(status_of "$1" "$2") == "$3" ]]; }
until_ok() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 0.2
	done
}
all_alive() {	# every node in $@ sees every node in $@ alive
	local i j
	for i; do for j; do status_is "$i" "n$j" alive || return 1; done; done
}
stat_of() {	# NODE FIELD: a node counter from /v1/stats
	cli "$1" --json stats | jq -r ".node.$2"
}
pid_of() { cut -d" " -f1 "/run/hearsay-cluster/$HS_CLUSTER_NAME/n$1.pid"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$(pid_of "$1")/status"; }

# A writer: unique keys on node $1 until $WORK/stop exists; each write
# waits for every member; those reached go to $WORK/acked.$1 as
# "key value".
writer() {
	local n=$1 k=0 r
	until [[ -e $WORK/stop ]]; do
		k=$((k + 1))
		r=$(cli "$n" --json put "w/$k" "v$n-$k" --wait --wait-timeout-ms 2000 2>/dev/null) || continue
		[[ $(jq -r .reached <<<"$r") == true ]] && echo "w/$k v$n-$k" >>"$WORK/acked.$n"
		sleep 0.05
	done
}

"$CL" start -n $N -d dpdk-af_xdp,afpacket,udp,udp --build "$BUILD" \
	--set network.loss="$LOSS" --set failure.forget_s=5 >/dev/null ||
	fail "cluster.sh start"
until_ok 60 all_alive 1 2 3 4 || fail "no convergence at loss $LOSS: $(cli 1 members)"
log "4 sealed nodes (af_xdp, afpacket, udp, udp) converged with a share of $LOSS of received frames dropped in the driver layer"

: >"$WORK/acked.1"
: >"$WORK/acked.3"
writer 1 & pids+=($!)
writer 3 & pids+=($!)

# kill -9 and restart n2 under the load
sleep 2
kill -KILL "$(pid_of 2)"
until_ok 30 status_is 1 n2 dead || fail "killed n2 not dead on n1: $(cli 1 members)"
gen_old=$(cli 1 --json member n2 | jq -r .generation)
"$CL" restart 2 >/dev/null || fail "restart n2"
until_ok 30 all_alive 1 2 3 4 || fail "n2 not back: $(cli 1 members)"
gen_new=$(cli 1 --json member n2 | jq -r .generation)
((gen_new > gen_old)) || fail "n2 came back with generation $gen_new, not above $gen_old"
log "n2 killed -9 and restarted under load: generation $gen_old -> $gen_new"

# partition n4 and heal
"$CL" partition 4 >/dev/null
until_ok 30 status_is 1 n4 dead || fail "partitioned n4 not dead on n1"
t0=$SECONDS
"$CL" heal 4 >/dev/null
until_ok 30 all_alive 1 2 3 4 || fail "not all alive after the heal: $(cli 1 members)"
log "n4 partitioned (seen dead) and healed: all alive $((SECONDS - t0)) s after"

# delete keys that every member acknowledged
mapfile -t del < <(head -n 5 "$WORK/acked.1" | cut -d' ' -f1)
((${#del[@]} > 0)) || fail "no write of n1 was acknowledged by every member"
for k in "${del[@]}"; do
	r=$(cli 1 --json del "$k" --wait --wait-timeout-ms 5000) || fail "del $k: $r"
	echo "$k" >>"$WORK/deleted"
done

# a flood of malformed frames at n1, from the bridge's namespace (with
# the UDP checksums done in software, so that frames reach the engine)
ip netns exec "$HS_CLUSTER_NAME-br" ethtool -K br0 tx off >/dev/null 2>&1 || true
# refused by the engine (another cluster, unauthenticated, malformed) or
# by the driver (bad headers or checksums, its ring full)
refused_of() {
	cli "$1" --json stats | jq '(.node | .rx_unauth + .rx_bad + .rx_other_cluster) +
		([.driver[0] | to_entries[] | select(.key | test("^bad_|^rx_drops$")) | .value] | add)'
}
before_bad=$(refused_of 1)
rss_before=$(rss_kib 1)
ip netns exec "$HS_CLUSTER_NAME-br" python3 - <<'EOF' >"$WORK/flood" &
import os, random, socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rnd = random.Random(8)
end, n = time.time() + 3, 0
frames = [os.urandom(rnd.randint(1, 1472)) for _ in range(256)]
# a few that look like ours: the magic and version, then garbage
for i in range(0, 256, 4):
    frames[i] = b"HS\x01" + frames[i][3:]
while time.time() < end:
    try:
        s.sendto(frames[n & 255], ("10.77.0.2", 7946))
    except OSError:
        pass
    n += 1
print(n)
EOF
pids+=($!)
wait "${pids[-1]}"
sent=$(cat "$WORK/flood")
sleep 1
after_bad=$(refused_of 1)
rss_after=$(rss_kib 1)
counted=$((after_bad - before_bad))
log "malformed flood: $sent frames sent to n1 in 3 s, $counted counted as refused (another cluster, unauthenticated, malformed; the rest lost on the way or injected); n1 RSS ${rss_before} -> ${rss_after} KiB"
((counted > sent / 4)) || fail "n1 counted $counted of $sent malformed frames"
((rss_after < rss_before + 16384)) || fail "n1 grew from $rss_before to $rss_after KiB under the flood"
r=$(cli 1 --json put after/flood yes --wait --wait-timeout-ms 10000) || fail "put after the flood: $r"
[[ $(jq -r .reached <<<"$r") == true ]] || fail "a write after the flood did not reach every member: $r"

touch "$WORK/stop"
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()

# every node holds the same keys of each writer
same_keys() {
	local w i ref
	for w in 1 3; do
		ref=$(cli "$w" --json keys "n$w" --prefix w/ | jq -c '[.keys[] | [.key, .value, .version]] | sort')
		for ((i = 1; i <= N; i++)); do
			[[ $(cli "$i" --json keys "n$w" --prefix w/ | jq -c '[.keys[] | [.key, .value, .version]] | sort') == "$ref" ]] || return 1
		done
	done
}
until_ok 30 same_keys || fail "the nodes' tables differ after the heal"
acked=$(cat "$WORK/acked.1" "$WORK/acked.3" | wc -l)
for ((i = 1; i <= N; i++)); do
	for w in 1 3; do
		cli "$i" --json keys "n$w" --prefix w/ | jq -r '.keys[] | "\(.key) \(.value)"' | sort >"$WORK/have.$i.$w"
		while read -r k v; do
			grep -qxF -- "$k" "$WORK/deleted" && continue
			grep -qxF -- "$k $v" "$WORK/have.$i.$w" || fail "n$i lost $k=$v of n$w, acknowledged by every member"
		done <"$WORK/acked.$w"
	done
	while read -r k; do
		! grep -q "^$k " "$WORK/have.$i.1" || fail "n$i holds $k of n1 again after its delete"
	done <"$WORK/deleted"
done
log "all $N nodes hold the same keys; $acked acknowledged writes everywhere; ${#del[@]} deleted keys stayed deleted"

# a node killed and left dead is forgotten, and no ghost comes back
kill -KILL "$(pid_of 4)"
until_ok 30 status_is 1 n4 dead || fail "killed n4 not dead"
gone() { local i; for i in 1 2 3; do [[ -z $(status_of "$i" n4) || $(status_of "$i" n4) == null ]] || return 1; done; }
until_ok 30 gone || fail "n4 not forgotten: $(cli 1 members)"
sleep 3
gone || fail "n4 came back after it was forgotten: $(cli 1 members)"
for ((i = 1; i <= 3; i++)); do
	lost=$(cli "$i" --json stats | jq '.driver[0].loss_injected // 0')
	((lost > 0)) || fail "n$i injected no loss"
done
log "n4 killed, forgotten everywhere, no ghost 3 s later; loss injected on every node"
echo ok
