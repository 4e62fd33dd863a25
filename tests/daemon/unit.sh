#!/usr/bin/env bash
# The systemd unit (daemon/hearsayd.service) passes systemd-analyze verify,
# with its hearsayd path pointed at the one just built (suite "daemon").
# Skipped (77) where systemd-analyze is missing.
set -euo pipefail
UNIT=${1:?unit file}
HEARSAYD=${2:?hearsayd path}
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze missing"; exit 77; }
WORK=$(mktemp -d /tmp/hs-unit.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
sed "s|/usr/local/bin/hearsayd|$HEARSAYD|g" "$UNIT" >"$WORK/hearsayd.service"
out=$(systemd-analyze verify "$WORK/hearsayd.service" 2>&1) || { echo "FAIL: $out"; exit 1; }
# verify only warns about some mistakes: any line naming our unit is one
if grep -q 'hearsayd.service' <<<"$out"; then echo "FAIL: $out"; exit 1; fi
echo ok
