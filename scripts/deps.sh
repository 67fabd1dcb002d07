# Sourced by the set-up scripts: installs the Debian packages that are missing.
# Usage: ensure_packages pkg...
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "triage: installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -q
    # tshark asks whether non-root users may capture; keep the default (no).
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

BUILD_PACKAGES=(cmake g++ make pkg-config wireshark-dev tshark)
TEST_PACKAGES=(libgtest-dev python3 python3-pytest valgrind clang clang-format libclang-rt-14-dev
    wireshark-qt xvfb xdotool imagemagick xclip fonts-dejavu-core  # GUI tests under Xvfb
    chromium                                                       # the HTML report, rendered headless
    dpkg-dev file)                                                 # the .deb (dpkg-shlibdeps)
