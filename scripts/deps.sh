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

# Generates a locale (the tests compare outputs under a comma-decimal one).
ensure_locale() {  # e.g. de_DE.UTF-8
    local want=${1/UTF-8/utf8}
    locale -a 2>/dev/null | grep -qix "$want" && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo sed -i "s/^# *$1 UTF-8/$1 UTF-8/" /etc/locale.gen
    $sudo locale-gen >/dev/null
}

BUILD_PACKAGES=(cmake g++ make pkg-config wireshark-dev tshark)
TEST_PACKAGES=(libgtest-dev python3 python3-pytest python3-pytest-xdist valgrind clang clang-format libclang-rt-14-dev
    locales iproute2 debootstrap                                   # locale tests, network namespaces, chroots
    openssl ngtcp2-client ngtcp2-server                            # real TLS and QUIC stacks in the namespaces
    wireshark-qt xvfb xdotool imagemagick xclip fonts-dejavu-core  # GUI tests under Xvfb
    chromium                                                       # the HTML report, rendered headless
    dpkg-dev file                                                  # the .deb (dpkg-shlibdeps)
    parallel rsync openssh-server openssh-client)                  # triage-batch --hosts, sshd test hosts
