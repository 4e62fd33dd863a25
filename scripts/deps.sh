#!/usr/bin/env bash
# Install what hearsay's build and tests need on Debian 12 (bookworm).
#
# Idempotent and silent when everything is already there: each package is
# checked with dpkg-query first, and apt-get runs only for the missing ones.
# Needs root to install; without root it lists what is missing, says how to
# install it, and exits 1.
#
# The package list is the one place to add a dependency: add it to PACKAGES
# below, one a line, alphabetical, with why in a comment.
set -euo pipefail

PACKAGES=(
	build-essential      # gcc, make, libc headers
	clang                # clang 14: fuzz targets and the sanitizer build
	curl                 # tests/daemon: the control API end to end
	dpdk-dev             # dpdk-testpmd: the reference in perf/iobench.sh
	ethtool              # tests/net: checksum offload off on kernel veths
	g++                  # C++ for the Google Benchmark programs in perf/
	golang-go            # perf/memberlist: memberlist-bench (compare.sh)
	golang-github-hashicorp-memberlist-dev  # the memberlist it measures
	jq                   # tests/daemon: JSON answers checked field by field
	iproute2             # tests/net: namespaces, veths, bridges
	libbenchmark-dev     # Google Benchmark: micro-benchmarks
	libclang-rt-14-dev   # libFuzzer and the ASan/UBSan runtimes for clang 14
	libcmocka-dev        # unit tests
	libconfig-dev        # hearsayd's configuration file
	libcurl4-openssl-dev # the hearsay CLI's HTTP client (Unix socket)
	libdpdk-dev          # DPDK 22.11: kernel-bypass driver (optional part)
	libjansson-dev       # JSON: control API and CLI
	libmicrohttpd-dev    # the control API's HTTP server
	libsodium-dev        # XChaCha20-Poly1305: frames sealed with a keyring
	liburcu-dev          # QSBR RCU, cds_lfht lock-free hash table
	libxxhash-dev        # XXH3 hash
	meson                # build system (Debian 12 ships 1.0.1)
	ninja-build          # build backend
	pkg-config           # dependency lookup for meson
	prometheus           # promtool: tests check /metrics with it
	python3              # meson itself; scripts/test.sh parses test logs
	tshark               # tests/net: decodes captures of our frames
)

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	if [[ "$status" != "installed" ]]; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

if ((EUID != 0)); then
	echo "deps.sh: missing packages: ${missing[*]}" >&2
	echo "deps.sh: install them as root with:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -q --no-install-recommends "${missing[@]}"
