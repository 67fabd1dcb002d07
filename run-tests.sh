#!/usr/bin/env bash
# The whole test suite:
#   1. style: clang-format on all C++ sources
#   2. plain build: core unit tests + fuzz corpus replay (ctest), tshark integration tests (pytest)
#   3. AddressSanitizer + UndefinedBehaviorSanitizer build: the same, with the ASan runtime
#      preloaded into tshark
#   4. libFuzzer (clang): every fuzz target for TRIAGE_FUZZ_SECONDS (default 30) each
# Extra arguments go to every pytest run (e.g. -k rtt). TRIAGE_QUICK=1 runs step 2 only.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/deps.sh
ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
jobs=$(nproc)

echo "== 1. style (clang-format)"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror

echo "== 2. plain build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIAGE_BUILD_TESTS=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure
/usr/bin/python3 -m pytest -q tests/integration "$@"
[ "${TRIAGE_QUICK:-0}" = 1 ] && exit 0

echo "== 3. sanitizers (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTRIAGE_SANITIZE=ON -DTRIAGE_BUILD_TESTS=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure
asan_rt=$(g++ -print-file-name=libasan.so)
TRIAGE_BUILD_DIR=build-asan TRIAGE_SANITIZER_PRELOAD="$(readlink -f "$asan_rt")" TRIAGE_MUTATIONS=1 \
    /usr/bin/python3 -m pytest -q tests/integration "$@"

echo "== 4. fuzzing (libFuzzer, ${TRIAGE_FUZZ_SECONDS:-30} s per target)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DTRIAGE_FUZZ=ON -DTRIAGE_BUILD_PLUGIN=OFF -DTRIAGE_BUILD_TESTS=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_parsers fuzz_trackers
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in parsers trackers; do
    mkdir -p "$work/$t"
    cp fuzz/corpus/$t/* "$work/$t/"
    build-fuzz/fuzz/fuzz_$t -max_total_time="${TRIAGE_FUZZ_SECONDS:-30}" -artifact_prefix="$work/" \
        -print_final_stats=1 "$work/$t" 2>&1 | grep -E "^(Done|stat::number_of_executed_units)|ERROR|crash" || true
    if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* >/dev/null 2>&1; then
        echo "fuzz_$t found a failing input; add it to fuzz/corpus/$t/ as a regression test:" >&2
        ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null >&2
        exit 1
    fi
done
echo "all passes done"
