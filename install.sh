#!/usr/bin/env bash
# Builds triage.so, installs it (system plugin folder as root, personal folder
# otherwise) and runs all Triage statistics on the bundled example capture.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/deps.sh
ensure_packages "${BUILD_PACKAGES[@]}"

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIAGE_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
cmake --install build

echo
tshark -G plugins | grep -E '^triage\.so' || { echo "triage: tshark does not list the plugin" >&2; exit 1; }
tshark -r examples/triage-example.pcap -q -z triage_rtt,tree -z triage_unwanted,tree -z triage_egress,tree
