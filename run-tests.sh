#!/usr/bin/env bash
# Runs the whole test suite: core unit tests (GoogleTest via ctest) and the
# tshark integration tests (pytest) against a fresh build of the plugin.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/deps.sh
ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIAGE_BUILD_TESTS=ON >/dev/null
cmake --build build -j"$(nproc)"

echo "== core unit tests (ctest)"
ctest --test-dir build --output-on-failure
echo "== tshark integration tests (pytest)"
/usr/bin/python3 -m pytest -q tests/integration "$@"
