#!/usr/bin/env bash
# Build hearsay and run every test, the way CI does (.ci/run calls this).
#
#   build       default compiler (gcc), -Dwerror=true, debugoptimized:
#               unit tests, then the micro-benchmarks once as a smoke check
#   build-asan  clang, ASan + UBSan, -Dwerror=true, libFuzzer targets:
#               unit tests and every fuzz target for HS_FUZZ_SECONDS each
#
# Every step runs even when an earlier one failed; the exit status is 0 only
# if every meson invocation succeeded and no test failed. The last line of
# output is always "N passed, N failed, N skipped", summed over all runs.
# A configure or compile step that fails, or a meson test run that fails
# without a failed test in its log, counts as one failed.
#
# Environment (CI sets none of these):
#   HS_SKIP_ASAN=1      skip the sanitizer/fuzz build (quick local runs)
#   HS_SKIP_BENCH=1     skip the benchmark smoke run
#   HS_FUZZ_SECONDS=N   seconds per fuzz target (-Dfuzz_seconds), default 20
#
# Build directories are reused: an existing one is reconfigured, a stale or
# broken one (or build-asan made with another compiler) is wiped first.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

HS_SKIP_ASAN=${HS_SKIP_ASAN:-0}
HS_SKIP_BENCH=${HS_SKIP_BENCH:-0}
HS_FUZZ_SECONDS=${HS_FUZZ_SECONDS:-20}
if ! [[ $HS_FUZZ_SECONDS =~ ^[1-9][0-9]*$ ]]; then
	echo "test.sh: HS_FUZZ_SECONDS must be a positive integer, not '$HS_FUZZ_SECONDS'" >&2
	exit 2
fi

# Microseconds since the epoch; EPOCHREALTIME's separator follows the locale.
now_us() { echo "${EPOCHREALTIME//[.,]/}"; }
fmt_s() { printf '%d.%d s' $(($1 / 1000000)) $(($1 % 1000000 / 100000)); }

T_START=$(now_us)

# Run "$@" as one named phase: a banner, the command, its time and result.
# Returns the command's exit status without tripping set -e.
timed() {
	local name=$1 t0 rc=0
	shift
	echo
	echo "==> $name"
	t0=$(now_us)
	"$@" || rc=$?
	if ((rc == 0)); then
		echo "==> $name: ok in $(fmt_s $(($(now_us) - t0)))"
	else
		echo "==> $name: FAILED (exit $rc) in $(fmt_s $(($(now_us) - t0)))"
	fi
	return $rc
}

# Results for the summary, one "label|json log|exit status" per run.
# An empty log means the step has no test log (configure, compile).
RESULTS=()
SKIPPED_RUNS=()

# C compiler id meson found for a build dir ("gcc", "clang"), or "" if
# unknown. meson 1.0.1 has no compiler introspection; its log has the line
# "C compiler for the host machine: cc (gcc 12.2.0 ...)".
compiler_id() {
	sed -n 's/^C compiler for the host machine: [^(]*(\([A-Za-z0-9_-]*\) .*/\1/p' \
		"$1/meson-logs/meson-log.txt" 2>/dev/null | tail -n 1 || true
}

# setup_dir DIR WANT_CC_ID MESON_ARGS...: configure DIR, reusing it if it
# is a working meson build dir, wiping it if it is stale or broken.
setup_dir() {
	local dir=$1 want=$2 have
	shift 2
	if [[ -f $dir/meson-private/coredata.dat ]]; then
		have=$(compiler_id "$dir")
		if [[ -n $want && -n $have && $have != "$want" ]]; then
			# meson ignores CC on --reconfigure: the compiler is fixed at setup.
			echo "$dir was configured with $have, not $want: wiping it"
			rm -rf "$dir"
		elif meson setup --reconfigure "$dir" "$@"; then
			return 0
		else
			echo "reconfiguring $dir failed: wiping it and configuring from scratch"
			rm -rf "$dir"
		fi
	elif [[ -e $dir ]]; then
		echo "$dir is not a meson build dir (stale or half-made): wiping it"
		rm -rf "$dir"
	fi
	meson setup "$dir" "$@"
}

# build_and_test DIR WANT_CC_ID MESON_ARGS...: configure, compile, run all
# test suites. Callers set CC/CXX and sanitizer options in the environment.
build_and_test() {
	local dir=$1 want=$2 rc=0
	shift 2
	if ! timed "$dir: configure" setup_dir "$dir" "$want" "$@"; then
		RESULTS+=("$dir configure||1")
		return 1
	fi
	if ! timed "$dir: compile" meson compile -C "$dir"; then
		RESULTS+=("$dir compile||1")
		return 1
	fi
	# No log at all means no test ran: never count a stale one.
	rm -f "$dir/meson-logs/testlog.json"
	timed "$dir: test" meson test -C "$dir" --no-rebuild --print-errorlogs || rc=$?
	RESULTS+=("$dir tests|$dir/meson-logs/testlog.json|$rc")
	return 0
}

timed "deps" ./scripts/deps.sh || {
	echo "test.sh: scripts/deps.sh failed: cannot build without the packages above" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}

# (a) gcc, warnings as errors, tests and benchmarks.
if build_and_test build "" \
	-Dbuildtype=debugoptimized \
	-Dwerror=true \
	-Dtests=enabled \
	-Dbenchmarks=enabled \
	-Dfuzz=disabled; then
	if [[ $HS_SKIP_BENCH == 1 ]]; then
		SKIPPED_RUNS+=("build benchmarks (HS_SKIP_BENCH=1)")
	else
		# meson 1.0.1 writes --benchmark results to testlog.json too,
		# overwriting the test run's log, unless given its own logbase.
		rm -f build/meson-logs/benchmarklog.json
		rc=0
		timed "build: benchmarks (smoke)" meson test -C build --benchmark \
			--no-rebuild --print-errorlogs --logbase benchmarklog || rc=$?
		RESULTS+=("build benchmarks|build/meson-logs/benchmarklog.json|$rc")
	fi
fi

# (b) clang with ASan + UBSan, and the libFuzzer targets as tests.
if [[ $HS_SKIP_ASAN == 1 ]]; then
	SKIPPED_RUNS+=("build-asan (HS_SKIP_ASAN=1)")
else
	CC=clang CXX=clang++ \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	build_and_test build-asan clang \
		-Db_sanitize=address,undefined \
		-Db_lundef=false \
		-Dwerror=true \
		-Dtests=enabled \
		-Dfuzz=enabled \
		-Dfuzz_seconds="$HS_FUZZ_SECONDS" \
		-Dbenchmarks=disabled || true
fi

# Summary: per run, then the total, whose line is the last one printed.
echo
echo "==> summary"
python3 - "$(fmt_s $(($(now_us) - T_START)))" "${#SKIPPED_RUNS[@]}" \
	"${SKIPPED_RUNS[@]}" "${RESULTS[@]}" <<'PY'
import json, sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}
# Everything else (FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, INTERRUPT, ...) failed,
# and so does a SKIP from a libFuzzer target (see is_libfuzzer).

def is_libfuzzer(res):
    """libFuzzer exits 77 (-error_exitcode) on a leak, a UBSan report or a
    deadly signal, and meson reads 77 as SKIP. A fuzz target never skips."""
    cmd = res.get("command") or []
    out = (res.get("stdout") or "") + (res.get("stderr") or "")
    return (any(a.startswith(("-max_total_time=", "-runs=")) for a in cmd)
            or "INFO: Seed:" in out)

elapsed = sys.argv[1]
n_skipped_runs = int(sys.argv[2])
skipped_runs = sys.argv[3:3 + n_skipped_runs]
results = sys.argv[3 + n_skipped_runs:]

total = [0, 0, 0]
bad = False
for entry in results:
    label, log, rc = entry.rsplit("|", 2)
    rc = int(rc)
    p = f = s = 0
    notes = []
    if not log:
        f = 1
        bad = True
        notes.append(f"step failed (exit {rc}): counted as 1 failed")
    else:
        try:
            with open(log, encoding="utf-8", errors="replace") as fh:
                lines = [l for l in fh if l.strip()]
        except FileNotFoundError:
            lines = []
            notes.append("no test log: no tests registered")
        for line in lines:
            try:
                res = json.loads(line)
            except ValueError:
                f += 1
                notes.append("unreadable line in " + log)
                continue
            r = res.get("result")
            if r in PASSED:
                p += 1
            elif r in SKIPPED and is_libfuzzer(res):
                f += 1
                notes.append(f"FAIL: {res.get('name')} (libFuzzer exit 77, "
                             "read by meson as SKIP: a crash, leak or UB)")
            elif r in SKIPPED:
                s += 1
            else:
                f += 1
                notes.append(f"{r}: {res.get('name')}")
        if rc != 0:
            bad = True
            if f == 0:
                f = 1
                notes.append(f"meson test exited {rc} with no failed test "
                             "in its log: counted as 1 failed")
    total[0] += p
    total[1] += f
    total[2] += s
    print(f"  {label:<22} {p} passed, {f} failed, {s} skipped")
    for n in notes:
        print(f"      {n}")
for label in skipped_runs:
    print(f"  {label:<22} not run")
print(f"  total time {elapsed}")
print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
sys.exit(1 if bad or total[1] else 0)
PY
