#!/usr/bin/env bash
# Installs everything oemlink needs to build, test and benchmark on Debian 12.
# Idempotent: apt-get skips what is already there. Run as root (or with sudo).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential g++ cmake ninja-build ccache lld pkg-config git \
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-filesystem1.81-dev \
  libyaml-cpp-dev libcurl4-openssl-dev libssl-dev libspdlog-dev libfmt-dev \
  libgtest-dev libgmock-dev googletest libbenchmark-dev \
  libsqlite3-dev libsecp256k1-dev libmosquitto-dev mosquitto libcli11-dev \
  prometheus-cpp-dev prometheus libsystemd-dev systemd \
  openssl ca-certificates curl python3 faketime >/dev/null

# ethers.js, for the test that checks our signatures with an independent Ethereum library.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
here="$(cd "$(dirname "$0")" && pwd)"
if ! (cd "$here/verify-with-ethers" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
  echo "warning: npm ci in tools/verify-with-ethers failed; the ethers.js cross-check will be skipped" >&2
fi
