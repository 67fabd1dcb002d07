#!/usr/bin/env bash
# The benchmark, from a fresh Debian 12 machine: installs what it needs, then
# runs bench/bench.py with the given options (see bench/bench.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
ensure_packages "${BUILD_PACKAGES[@]}" time python3 valgrind
exec /usr/bin/python3 bench/bench.py "$@"
