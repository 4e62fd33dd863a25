#!/usr/bin/env bash
# hearsayd end to end (suite "daemon"): a 3-node cluster of real daemons on
# the udp driver over 127.0.0.1 (no privilege needed), driven through the
# control API with curl and the hearsay CLI.
#
#   api.sh HEARSAYD HEARSAY
#
# Asserts: bad configuration files are refused with file, line and key
# before anything starts; the members converge (all alive); a write waited
# for (?wait=all) is reported reached and is read on the other nodes, by
# the API and the CLI; bad requests get the right 4xx and a JSON error
# naming the problem; an event published on one node comes out of another
# node's event stream; a change runs a configured hook with the event in
# its environment and stdin; promtool accepts /metrics; SIGHUP reloads;
# SIGTERM makes the others see the node `left` (not dead), and a SIGKILL
# makes them see the other one `dead`.  The frames are sealed with a key
# made by "hearsay keygen"; the keyring is rotated live through the CLI
# (install, use, remove on every node) with no frame refused and a write
# reaching everyone after it, the API's refusals are checked, and neither
# key is ever seen in an answer, /metrics or a log.
#
# Every wait is bounded and polls for the outcome.  Everything it starts is
# killed on exit, failure included.
set -euo pipefail

HEARSAYD=${1:?hearsayd path}
HEARSAY=${2:?hearsay path}
WORK=$(mktemp -d /tmp/hs-api.XXXXXX)
BASE=$((20000 + RANDOM % 20000))
pids=()

log() { printf '# %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*"
	for i in 1 2 3; do
		[[ -f $WORK/n$i.log ]] || continue
		echo "--- n$i.log (tail)"
		tail -n 20 "$WORK/n$i.log"
	done
	exit 1
}

cleanup() {
	set +e
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

for t in curl jq; do
	command -v $t >/dev/null || { echo "SKIP: $t missing (scripts/deps.sh installs it)"; exit 77; }
done

KEY=$("$HEARSAY" keygen)
[[ $KEY =~ ^[A-Za-z0-9+/]{43}=$ ]] || { echo "FAIL: keygen printed '$KEY'"; exit 1; }
sock() { echo "$WORK/n$1.sock"; }
api() {	# api NODE METHOD PATH [curl args...]: prints body, then status
	local n=$1 m=$2 p=$3
	shift 3
	curl -sS --unix-socket "$(sock "$n")" -X "$m" -w '\n%{http_code}' \
		"$@" "http://hearsay$p"
}
status_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }

# until DEADLINE_S CMD...: run CMD until it succeeds, at most DEADLINE_S
until_ok() {
	local end=$((SECONDS + $1))
	shift
	while ((SECONDS < end)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

conf() {	# conf I [extra lines]: node I's configuration file
	local i=$1
	shift
	cat >"$WORK/n$i.conf" <<EOF
node = { name = "n$i"; cluster = 7; };
network = { driver = "udp"; address = "127.0.0.1"; port = $((BASE + i)); };
gossip = { seeds = [ "127.0.0.1:$((BASE + 1))" ]; };
api = { socket = "$(sock "$i")"; };
log = { level = "info"; };
security = { keys = [ "$KEY" ]; };
$*
EOF
}

# ---- 1. bad configurations: refused before anything starts
cat >"$WORK/bad.conf" <<'EOF'
node = { name = "x"; };

gossip = { fanout = 40; };
EOF
rc=0
"$HEARSAYD" -c "$WORK/bad.conf" -s api.socket="$WORK/bad.sock" 2>"$WORK/bad.err" || rc=$?
((rc == 1)) || fail "bad fanout: exit $rc, not 1"
grep -q "bad.conf:3: gossip.fanout" "$WORK/bad.err" || fail "bad fanout: $(cat "$WORK/bad.err")"
[[ ! -e $WORK/bad.sock ]] || fail "a refused configuration opened its socket"
printf 'network = { drivre = "udp"; };\n' >"$WORK/bad2.conf"
rc=0
"$HEARSAYD" -c "$WORK/bad2.conf" 2>"$WORK/bad2.err" || rc=$?
((rc == 1)) && grep -q "bad2.conf:1: network.drivre" "$WORK/bad2.err" ||
	fail "unknown key: exit $rc, $(cat "$WORK/bad2.err")"
rc=0
"$HEARSAYD" -s gossip.interval_ms=abc 2>"$WORK/bad3.err" || rc=$?
((rc == 1)) && grep -q "gossip.interval_ms" "$WORK/bad3.err" ||
	fail "bad override: exit $rc, $(cat "$WORK/bad3.err")"
log "bad configurations refused with file, line and key"

# ---- 2. three nodes
mkdir -p "$WORK/hook"
cat >"$WORK/hook.sh" <<EOF
#!/bin/sh
f=\$(printf %s "\$HEARSAY_KEY" | tr / _)
env | grep '^HEARSAY_' | sort >"$WORK/hook/\$f.env"
cat >"$WORK/hook/\$f.stdin"
EOF
chmod +x "$WORK/hook.sh"
conf 1
conf 2 "hooks = ( { events = [ \"change\" ]; prefix = \"hooked/\"; exec = \"$WORK/hook.sh\"; } );"
conf 3
for i in 1 2 3; do
	"$HEARSAYD" -c "$WORK/n$i.conf" 2>"$WORK/n$i.log" &
	pids+=($!)
	until_ok 10 test -S "$(sock "$i")" || fail "n$i did not open its socket"
done
log "3 daemons up (udp, 127.0.0.1:$((BASE + 1))-$((BASE + 3)))"

alive_count() {	# alive_count NODE: members alive as seen by NODE
	body_of "$(api "$1" GET /v1/members)" | jq '[.members[] | select(.status == "alive")] | length'
}
all_alive() { for i in 1 2 3; do [[ $(alive_count "$i") == 3 ]] || return 1; done; }
until_ok 20 all_alive || fail "members did not converge: $(api 1 GET /v1/members)"
log "members converged: 3 alive on every node"

# ---- 3. writes, reads, wait
r=$(api 1 PUT '/v1/keys/app/load?wait=all&timeout_ms=5000' --data-binary '0.75')
[[ $(status_of "$r") == 200 ]] || fail "PUT wait: $r"
[[ $(body_of "$r" | jq -r .reached) == true ]] || fail "PUT wait not reached: $r"
v=$(body_of "$r" | jq -r .version)
for i in 2 3; do
	r=$(api "$i" GET /v1/keys/n1/app/load)
	[[ $(status_of "$r") == 200 ]] || fail "GET on n$i after a reached write: $r"
	[[ $(body_of "$r" | jq -r .value) == 0.75 && $(body_of "$r" | jq -r .version) == "$v" ]] ||
		fail "n$i read $(body_of "$r")"
done
[[ $("$HEARSAY" --socket "$(sock 3)" get n1 app/load) == 0.75 ]] || fail "CLI get"
rc=0; "$HEARSAY" --socket "$(sock 3)" get n1 no/such/key >/dev/null 2>&1 || rc=$?
((rc == 4)) || fail "CLI get of a missing key: exit $rc, not 4"
"$HEARSAY" --socket "$(sock 2)" members | grep -c alive | grep -qx 3 || fail "CLI members: $("$HEARSAY" --socket "$(sock 2)" members)"
r=$(api 1 DELETE '/v1/keys/app/load?wait=all')
[[ $(status_of "$r") == 200 ]] || fail "DELETE wait: $r"
r=$(api 2 GET /v1/keys/n1/app/load)
[[ $(status_of "$r") == 404 ]] || fail "deleted key still read on n2: $r"
log "write waited for every member, read on the others (API and CLI), delete too"

# ---- 3b. the keyring: rotated live, refusals, keys never shown
refused() {	# frames refused (unauthenticated or replayed) on every node
	local i t=0
	for i in 1 2 3; do
		t=$((t + $(api "$i" GET /v1/stats | sed '$d' | jq '.node.rx_unauth + .node.rx_replay')))
	done
	echo "$t"
}
r=$(api 1 GET /v1/keyring)
[[ $(status_of "$r") == 200 && $(body_of "$r" | jq '.keys | length') == 1 &&
   $(body_of "$r" | jq .keys[0].primary) == true ]] || fail "keyring: $r"
OLD=$(body_of "$r" | jq -r .keys[0].id)
NEW_KEY=$("$HEARSAY" keygen)
[[ $(refused) == 0 ]] || fail "frames refused before the rotation: $(refused)"
for i in 1 2 3; do
	out=$("$HEARSAY" --socket "$(sock "$i")" keyring install - <<<"$NEW_KEY") ||
		fail "keyring install on n$i: $out"
	NEW=${out#installed key }
done
for i in 1 2 3; do
	"$HEARSAY" --socket "$(sock "$i")" keyring use "$NEW" >/dev/null || fail "keyring use on n$i"
done
for i in 1 2 3; do
	"$HEARSAY" --socket "$(sock "$i")" keyring remove "$OLD" >/dev/null || fail "keyring remove on n$i"
done
r=$(api 2 GET /v1/keyring)
[[ $(body_of "$r" | jq -c '[.keys[] | [.id, .primary]]') == "[[\"$NEW\",true]]" ]] ||
	fail "keyring after the rotation: $r"
r=$(api 1 PUT '/v1/keys/app/rotated?wait=all&timeout_ms=5000' --data-binary 'yes')
[[ $(status_of "$r") == 200 && $(body_of "$r" | jq -r .reached) == true ]] ||
	fail "a write after the rotation did not reach everyone: $r"
[[ $(refused) == 0 ]] || fail "frames refused during the rotation: $(refused)"
# refusals
r=$(api 1 DELETE "/v1/keyring/$NEW")
[[ $(status_of "$r") == 409 ]] || fail "removing the primary: $r"
r=$(api 1 POST /v1/keyring --data-binary '{"key": "not a key"}')
[[ $(status_of "$r") == 400 ]] || fail "installing a bad key: $r"
r=$(api 1 POST /v1/keyring --data-binary "{\"key\": \"$NEW_KEY\"}")
[[ $(status_of "$r") == 409 ]] || fail "installing a key twice: $r"
r=$(api 1 POST "/v1/keyring/$OLD/use")
[[ $(status_of "$r") == 404 ]] || fail "using a removed key: $r"
rc=0; "$HEARSAY" --socket "$(sock 1)" keyring use 12345678 >/dev/null 2>&1 || rc=$?
((rc == 4)) || fail "CLI keyring use of an unknown id: exit $rc, not 4"
# the keys themselves never leave a node
for i in 1 2 3; do
	for p in /v1/keyring /v1/stats /v1/info /metrics; do
		api "$i" GET "$p" >"$WORK/out"
		! grep -qF -e "$KEY" -e "$NEW_KEY" "$WORK/out" || fail "a key in n$i's $p"
	done
	! grep -qF -e "$KEY" -e "$NEW_KEY" "$WORK/n$i.log" || fail "a key in n$i's log"
done
log "keyring rotated on 3 live nodes (install, use, remove), 0 frames refused; refusals and secrecy checked"

# ---- 4. bad requests: status and a JSON error naming the problem
check_err() {	# check_err WANT_STATUS WORD METHOD PATH [curl args]
	local want=$1 word=$2
	shift 2
	local r
	r=$(api 1 "$@")
	[[ $(status_of "$r") == "$want" ]] || fail "$*: status $(status_of "$r"), not $want"
	body_of "$r" | jq -e --arg w "$word" '.error | test($w)' >/dev/null ||
		fail "$*: error does not say '$word': $(body_of "$r")"
}
check_err 404 "no endpoint" GET /v1/nope
check_err 404 "no member" GET /v1/members/nobody
check_err 404 "has no key" GET /v1/keys/n2/absent
check_err 403 "hs\\." PUT /v1/keys/hs.addr --data-binary x
check_err 405 "not allowed" DELETE /v1/info
check_err 400 "status" GET '/v1/members?status=sleepy'
check_err 400 "timeout_ms" PUT '/v1/keys/a?wait=all&timeout_ms=soon' --data-binary x
check_err 400 "wait" PUT '/v1/keys/a?wait=some' --data-binary x
check_err 400 "types" GET '/v1/events/stream?types=join,explode'
head -c 5000 /dev/zero | tr '\0' x >"$WORK/big"
check_err 413 "max_value_bytes" PUT /v1/keys/big --data-binary "@$WORK/big"
log "bad requests: 400/403/404/405/413 with a message"

# ---- 5. events through the stream, hooks on change
curl -sS -N --unix-socket "$(sock 3)" --max-time 15 \
	'http://hearsay/v1/events/stream?types=event' >"$WORK/stream" 2>/dev/null &
spid=$!
pids+=($spid)
stream_up() { [[ $(body_of "$(api 3 GET /v1/stats)" | jq .api.sse_clients) == 1 ]]; }
until_ok 5 stream_up || fail "stream client not registered: $(api 3 GET /v1/stats)"
r=$(api 1 POST /v1/events --data-binary 'deploy v42')
[[ $(status_of "$r") == 201 ]] || fail "publish: $r"
until_ok 10 grep -q '"payload":"deploy v42"' "$WORK/stream" || fail "event not streamed: $(cat "$WORK/stream")"
grep -q '^event: event$' "$WORK/stream" || fail "SSE record without its event line"
kill "$spid" 2>/dev/null || true
r=$(api 1 PUT /v1/keys/hooked/x --data-binary 'hello hook')
[[ $(status_of "$r") == 200 ]] || fail "PUT hooked/x: $r"
until_ok 10 test -s "$WORK/hook/hooked_x.stdin" || fail "hook did not run on n2: $(ls -R "$WORK/hook")"
[[ $(cat "$WORK/hook/hooked_x.stdin") == "hello hook" ]] || fail "hook stdin: $(cat "$WORK/hook/hooked_x.stdin")"
grep -qx 'HEARSAY_EVENT=change' "$WORK/hook/hooked_x.env" && grep -qx 'HEARSAY_NODE_NAME=n1' "$WORK/hook/hooked_x.env" ||
	fail "hook env: $(cat "$WORK/hook/hooked_x.env")"
log "event streamed to another node; change hook ran with env and stdin"

# ---- 5b. the CLI: info, publish, watch, top, exit codes
H3=("$HEARSAY" --socket "$(sock 3)")
[[ $("${H3[@]}" --json info | jq -r .name) == n3 ]] || fail "CLI info --json"
"${H3[@]}" info | grep -q 'n3' || fail "CLI info: $("${H3[@]}" info)"
timeout 15 "${H3[@]}" --json watch --types event >"$WORK/watch" 2>/dev/null &
wpid=$!
pids+=($wpid)
# the stream may not be registered yet when the first event goes out:
# publish until one comes through (each is a new event)
publish_seen() {
	"$HEARSAY" --socket "$(sock 1)" publish 'from the cli' >/dev/null || return 1
	sleep 0.3
	grep -q 'from the cli' "$WORK/watch"
}
until_ok 10 publish_seen || fail "CLI watch did not show the event: $(cat "$WORK/watch")"
jq -e 'select(.type == "event") | .payload == "from the cli"' "$WORK/watch" >/dev/null || fail "CLI watch --json: $(cat "$WORK/watch")"
kill "$wpid" 2>/dev/null || true
"${H3[@]}" top --iterations 1 --interval-ms 100 >"$WORK/top" 2>&1 || fail "CLI top: $(cat "$WORK/top")"
for n in n1 n2 n3; do grep -q "$n" "$WORK/top" || fail "CLI top does not list $n: $(cat "$WORK/top")"; done
rc=0; "$HEARSAY" --socket "$WORK/none.sock" members >/dev/null 2>&1 || rc=$?
((rc == 3)) || fail "CLI without a daemon: exit $rc, not 3"
rc=0; "${H3[@]}" frobnicate >/dev/null 2>&1 || rc=$?
((rc == 2)) || fail "CLI unknown command: exit $rc, not 2"
rc=0; "${H3[@]}" put hs.rack x >/dev/null 2>&1 || rc=$?
((rc == 1)) || fail "CLI put of an hs. key: exit $rc, not 1"
log "CLI: info, publish, watch, top; exit codes 1, 2, 3, 4"

# ---- 6. metrics, reload
if command -v promtool >/dev/null; then
	api 1 GET /metrics | sed '$d' >"$WORK/metrics"
	promtool check metrics <"$WORK/metrics" || fail "promtool rejects /metrics"
	grep -q '^hearsay_members{status="alive"} 3$' "$WORK/metrics" || fail "metrics: members: $(grep members "$WORK/metrics")"
	awk '/^hearsay_uptime_seconds /{ up = $2 } END { exit !(up > 0) }' "$WORK/metrics" ||
		fail "metrics: uptime: $(grep uptime "$WORK/metrics")"
	awk '/^hearsay_rx_frames_total\{queue="0"\} /{ n = $2 } END { exit !(n > 0) }' "$WORK/metrics" ||
		fail "metrics: rx frames: $(grep rx_frames "$WORK/metrics")"
	log "promtool accepts /metrics"
else
	fail "promtool missing (scripts/deps.sh installs prometheus)"
fi
sed -i 's/level = "info"/level = "debug"/' "$WORK/n1.conf"
kill -HUP "${pids[0]}"
until_ok 5 grep -q "reloaded .*log.level debug" "$WORK/n1.log" || fail "SIGHUP: no reload logged"
log "SIGHUP reloaded log.level"

# ---- 7. leave vs crash
kill -TERM "${pids[2]}"
rc=0; wait "${pids[2]}" || rc=$?
((rc == 0)) || fail "n3 exited $rc on SIGTERM"
member_status() { body_of "$(api "$1" GET "/v1/members/$2")" | jq -r .status; }
status_is() { [[ $(member_status "$1" "$2") == "$3" ]]; }
until_ok 10 status_is 1 n3 left || fail "n1 sees n3 $(member_status 1 n3), not left"
until_ok 10 status_is 2 n3 left || fail "n2 sees n3 $(member_status 2 n3), not left"
kill -KILL "${pids[1]}"
until_ok 20 status_is 1 n2 dead || fail "n1 sees n2 $(member_status 1 n2) after SIGKILL, not dead"
[[ $(member_status 1 n3) == left ]] || fail "n3 turned $(member_status 1 n3) after the crash of n2"
log "SIGTERM: left (not dead); SIGKILL: dead"
echo "ok"
