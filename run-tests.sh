#!/usr/bin/env bash
# The whole test suite:
#   1. style: clang-format on all C++ sources
#   2. Wireshark 4.0 (this Debian 12 machine): core unit tests + fuzz corpus replay (ctest), the
#      integration suite (pytest: tshark on every capture, locale, kernel truth in network
#      namespaces, merge, report in Chromium, .deb, Wireshark GUI under Xvfb)
#   3. Wireshark 4.4 (Debian 13 chroot) and 4.6 (Debian unstable chroot), GUI tests included: build
#      with warnings as errors, ./install.sh unchanged, the integration suite (scripts/test-chroot.sh)
#   4. AddressSanitizer + UndefinedBehaviorSanitizer build: ctest, and the tshark suite with the
#      ASan runtime preloaded into tshark
#   5. libFuzzer (clang): every fuzz target for TRIAGE_FUZZ_SECONDS (default 30) each
# Extra arguments go to every pytest run (e.g. -k rtt). TRIAGE_QUICK=1 runs steps 1-2 only;
# TRIAGE_VERSIONS="trixie sid" picks the chroots of step 3 (empty: none).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/deps.sh
. scripts/chroot.sh
ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_locale de_DE.UTF-8
jobs=$(nproc)
start=$SECONDS
stamp() { echo "   ($(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s so far)"; }
versions=${TRIAGE_VERSIONS-trixie sid}
[ "${TRIAGE_QUICK:-0}" = 1 ] && versions=""

# The chroots of step 3 are made (or brought up to date) while step 2 runs.
mkdir -p "$TRIAGE_CHROOTS"
declare -A prep
for suite in $versions; do
    extra=(valgrind wireshark xvfb xdotool imagemagick xclip fonts-dejavu-core)
    (ensure_chroot "$suite" "${extra[@]}") >"$TRIAGE_CHROOTS/$suite.prepare.log" 2>&1 &
    prep[$suite]=$!
done
# A run that stops early stops its preparations too (they also wait for one
# another through a lock: scripts/chroot.sh).
work=""
cleanup() {
    local pid
    for pid in "${prep[@]}"; do
        pkill -P "$pid" 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
    done
    [ -n "$work" ] && rm -rf "$work"
    return 0
}
trap cleanup EXIT

echo "== 1. style (clang-format)"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror

echo "== 2. Wireshark $(dpkg-query -W -f='${Version}' tshark) (this machine)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIAGE_BUILD_TESTS=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure
/usr/bin/python3 -m pytest -q -p no:cacheprovider -n "$jobs" --dist loadgroup tests/integration "$@"
stamp

# Each pass mutates the captures with other seeds (tests/integration/test_robustness.py).
first_mutation=1
for suite in $versions; do
    echo "== 3. Debian $suite chroot"
    wait "${prep[$suite]}" || { cat "$TRIAGE_CHROOTS/$suite.prepare.log" >&2; exit 1; }
    unset "prep[$suite]"  # done: nothing of it left to stop
    gui=(--gui)  # Wireshark's GUI under Xvfb in every version
    TRIAGE_FIRST_MUTATION=$first_mutation scripts/test-chroot.sh "$suite" "${gui[@]}" "$@"
    first_mutation=$((first_mutation + 1))
    stamp
done
[ "${TRIAGE_QUICK:-0}" = 1 ] && exit 0

echo "== 4. sanitizers (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTRIAGE_SANITIZE=ON -DTRIAGE_BUILD_TESTS=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure
asan_rt=$(g++ -print-file-name=libasan.so)
TRIAGE_BUILD_DIR=build-asan TRIAGE_SANITIZER_PRELOAD="$(readlink -f "$asan_rt")" TRIAGE_FIRST_MUTATION=$first_mutation \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider -n "$jobs" --dist loadgroup tests/integration "$@"
stamp

echo "== 5. fuzzing (libFuzzer, ${TRIAGE_FUZZ_SECONDS:-30} s per target)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DTRIAGE_FUZZ=ON -DTRIAGE_BUILD_PLUGIN=OFF -DTRIAGE_BUILD_TESTS=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_parsers fuzz_trackers fuzz_wire
work=$(mktemp -d)
for t in parsers trackers wire; do
    mkdir -p "$work/$t"
    cp fuzz/corpus/$t/* "$work/$t/"
    build-fuzz/fuzz/fuzz_$t -max_total_time="${TRIAGE_FUZZ_SECONDS:-30}" -artifact_prefix="$work/" \
        -print_final_stats=1 "$work/$t" 2>&1 | grep -E "^(Done|stat::number_of_executed_units)|ERROR|crash" || true
    # (One `ls` of the three patterns fails when any of them matches nothing:
    # that check let a crash pass. Count the files instead.)
    found=$(find "$work" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \) | wc -l)
    if [ "$found" -gt 0 ]; then
        echo "fuzz_$t found a failing input; add it to fuzz/corpus/$t/ as a regression test:" >&2
        find "$work" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \) >&2
        exit 1
    fi
done
stamp
echo "all passes done"
