#!/usr/bin/env bash
# Builds and tests Triage against the Wireshark of a Debian release, in a
# debootstrap chroot (created when missing, reused when present):
#   scripts/test-chroot.sh trixie        # Debian 13, Wireshark 4.4
#   scripts/test-chroot.sh sid --gui     # Debian unstable, Wireshark 4.6, GUI tests too
# In the chroot, on a copy of the tree: configure with warnings as errors,
# run ./install.sh unchanged (build, install, all statistics on the example),
# then the tshark integration suite as an unprivileged user (and the GUI
# tests under Xvfb with --gui). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
. scripts/chroot.sh

suite=$1
shift
gui=0
if [ "${1:-}" = "--gui" ]; then
    gui=1
    shift
fi
extra=(valgrind openssl)
[ $gui = 1 ] && extra+=(wireshark xvfb xdotool imagemagick xclip fonts-dejavu-core)
ensure_chroot "$suite" "${extra[@]}"

dir=$(chroot_dir "$suite")
# ngtcp2's client and server for the QUIC real-stack test where the release has
# them, else aioquic's (Debian unstable has dropped the ngtcp2 tools).
no_quic_lab=""
if in_chroot "$suite" apt-cache show ngtcp2-client ngtcp2-server >/dev/null 2>&1; then
    ensure_chroot "$suite" "${extra[@]}" ngtcp2-client ngtcp2-server
elif in_chroot "$suite" apt-cache show python3-aioquic >/dev/null 2>&1; then
    ensure_chroot "$suite" "${extra[@]}" python3-aioquic
else
    no_quic_lab="Debian $suite has neither ngtcp2-client/ngtcp2-server nor python3-aioquic"
fi
shared=$(cd .. && pwd)/shared
trap 'chroot_umount "$suite"' EXIT
chroot_mounts "$suite" "$PWD" "$shared"

# A copy of the tree (what git tracks or would track): install.sh runs there
# unchanged and builds in its own build/, away from the host's.
src=/tmp/triage-src
rm -rf "$dir$src"
mkdir -p "$dir$src"
git ls-files -co --exclude-standard -z | tar -c --null -T - -f - | tar -x -f - -C "$dir$src"

version=$(in_chroot "$suite" dpkg-query -W -f='${Version}' tshark)
echo "== Wireshark $version (Debian $suite chroot)"
in_chroot "$suite" bash -c "cd $src && cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIAGE_BUILD_TESTS=OFF \
    -DCMAKE_COMPILE_WARNING_AS_ERROR=ON >/dev/null && ./install.sh"

marks=(-m "not gui")
[ $gui = 1 ] && marks=()
set -- "${marks[@]}" "$@"
args=""
[ $# -gt 0 ] && args=$(printf '%q ' "$@")  # quoted for the shell in the chroot
# The HTML report's rendering (Chromium) and triage-batch --hosts (sshd, GNU
# parallel) are Python tooling around tshark, tested on the host.
in_chroot "$suite" env TRIAGE_CAPTURES=/triage/shared/captures TRIAGE_MUTATIONS="${TRIAGE_MUTATIONS:-1}" \
    TRIAGE_FIRST_MUTATION="${TRIAGE_FIRST_MUTATION:-0}" \
    TRIAGE_NO_QUIC_LAB="$no_quic_lab" \
    TRIAGE_SCREENSHOTS="$src/build/screenshots" \
    bash -c "cd $src && python3 -m pytest -q -p no:cacheprovider -n ${TRIAGE_JOBS:-2} --dist loadgroup \
        --ignore=tests/integration/test_report.py --ignore=tests/integration/test_hosts.py $args tests/integration"
