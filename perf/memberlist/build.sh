#!/bin/sh
# Builds perf/memberlist (memberlist-bench) from Debian's packages only:
# golang-go and golang-github-hashicorp-memberlist-dev, in GOPATH mode
# against /usr/share/gocode/src, with modules and the module proxy off, so
# nothing is downloaded. Installs the two packages with apt-get when they are
# missing (needs root; idempotent).
#
#   perf/memberlist/build.sh [OUTPUT]     default OUTPUT: build/perf/memberlist-bench
#
# OUTPUT is taken relative to the current directory; the default is relative
# to the repository's root. See docs/MEMBERLIST.md.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build/perf/memberlist-bench}

GOCODE=/usr/share/gocode
PKGS="golang-go golang-github-hashicorp-memberlist-dev"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "build.sh: missing Debian packages:$missing (run as root, or: apt-get install$missing)" >&2
        exit 1
    fi
    echo "build.sh: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    # the package lists may be absent on a fresh machine
    apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
        apt-get update -q >/dev/null
        apt-get install -y --no-install-recommends $missing >/dev/null
    }
fi

GO=$(command -v go || true)
[ -n "$GO" ] || GO=/usr/lib/go/bin/go
[ -x "$GO" ] || { echo "build.sh: no go binary after installing golang-go" >&2; exit 1; }
[ -d "$GOCODE/src/github.com/hashicorp/memberlist" ] || {
    echo "build.sh: $GOCODE/src/github.com/hashicorp/memberlist missing" >&2; exit 1; }

version=$(dpkg-query -W -f='${Version}' golang-github-hashicorp-memberlist-dev)

# GOPATH mode: imports resolve from $GOCODE/src (memberlist's own vendor/
# directory is honoured); no go.mod, no proxy, no checksum database.
export GO111MODULE=off GOPATH="$GOCODE" GOFLAGS= GOPROXY=off GONOSUMDB= GOSUMDB=off GOTOOLCHAIN=local
export CGO_ENABLED=0
if [ -z "${GOCACHE:-}" ] && [ -z "${HOME:-}" ] && [ -z "${XDG_CACHE_HOME:-}" ]; then
    export GOCACHE="${TMPDIR:-/tmp}/memberlist-bench-gocache"
fi

case "$out" in /*) ;; *) out="$(pwd)/$out" ;; esac
mkdir -p "$(dirname "$out")"
cd "$here"
"$GO" build -trimpath -ldflags "-X main.memberlistVersion=$version" -o "$out" .
echo "built $out (memberlist $version, $("$GO" version | cut -d' ' -f3))" >&2
