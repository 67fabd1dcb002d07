# Sourced by the set-up scripts: Debian chroots holding the other Wireshark
# versions Triage is built and tested against (Debian 13 "trixie": 4.4,
# Debian unstable "sid": 4.6). Created with debootstrap's default mirror when
# missing, reused when present. No registry host is named here: the chroot's
# apt sources are the ones debootstrap wrote.
#
#   TRIAGE_CHROOTS   where the chroots live (default /var/cache/triage/chroots)
#
# Functions: chroot_dir SUITE, ensure_chroot SUITE [extra packages],
#            chroot_mounts SUITE SRC SHARED, chroot_umount SUITE, in_chroot SUITE cmd...

TRIAGE_CHROOTS=${TRIAGE_CHROOTS:-/var/cache/triage/chroots}
# What every chroot needs to build the plugin, run the tshark suite and make the .deb.
CHROOT_PACKAGES=(cmake g++ make pkg-config wireshark-dev tshark python3 python3-pytest python3-pytest-xdist
    dpkg-dev file util-linux ca-certificates locales iproute2)

chroot_dir() { echo "$TRIAGE_CHROOTS/$1"; }

_chroot_apt() {  # SUITE apt-get args...
    local suite=$1
    shift
    # sid's Release file on the registry can be past its Valid-Until date.
    chroot "$(chroot_dir "$suite")" env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
        apt-get -o Acquire::Check-Valid-Until=false -q "$@"
}

ensure_chroot() {  # SUITE [extra packages...]
    # One preparation of a suite at a time: another test run's, or one that
    # an aborted run left going, is waited for (flock), not raced (two
    # debootstraps into one directory, two apt-gets on one dpkg lock).
    mkdir -p "$TRIAGE_CHROOTS"
    (
        flock 9
        _ensure_chroot_locked "$@"
    ) 9>"$TRIAGE_CHROOTS/$1.lock"
}

_ensure_chroot_locked() {  # SUITE [extra packages...]
    local suite=$1
    shift
    local dir
    dir=$(chroot_dir "$suite")
    if [ ! -x "$dir/usr/bin/apt-get" ] || [ ! -e "$dir/.triage-bootstrapped" ]; then
        echo "triage: creating the Debian $suite chroot in $dir (debootstrap, about a minute)"
        command -v debootstrap >/dev/null || ensure_packages debootstrap
        rm -rf "$dir"
        mkdir -p "$dir"
        debootstrap --variant=minbase "$suite" "$dir" >"$TRIAGE_CHROOTS/$suite.debootstrap.log" 2>&1 || {
            tail -20 "$TRIAGE_CHROOTS/$suite.debootstrap.log" >&2
            echo "triage: debootstrap $suite failed (log: $TRIAGE_CHROOTS/$suite.debootstrap.log)" >&2
            return 1
        }
        touch "$dir/.triage-bootstrapped"
    fi
    local want=("${CHROOT_PACKAGES[@]}" "$@") missing=() p
    for p in "${want[@]}"; do
        chroot "$dir" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "triage: installing into the $suite chroot: ${missing[*]}"
    _chroot_apt "$suite" update >/dev/null
    _chroot_apt "$suite" install -y --no-install-recommends "${missing[@]}" >"$TRIAGE_CHROOTS/$suite.apt.log" 2>&1 || {
        tail -20 "$TRIAGE_CHROOTS/$suite.apt.log" >&2
        return 1
    }
    # The locale tests need a comma-decimal locale.
    if ! chroot "$dir" locale -a 2>/dev/null | grep -qi '^de_DE.utf8$'; then
        sed -i 's/^# *de_DE.UTF-8 UTF-8/de_DE.UTF-8 UTF-8/' "$dir/etc/locale.gen"
        chroot "$dir" locale-gen >/dev/null
    fi
}

# Mounts /proc, /dev and the project (and ../shared) at /triage/main and
# /triage/shared inside the chroot. Idempotent.
chroot_mounts() {  # SUITE SRC SHARED
    local dir
    dir=$(chroot_dir "$1")
    local m
    # The chroot's / must be a mount point for `ip netns exec` (it makes / rslave).
    mountpoint -q "$dir" || mount --bind "$dir" "$dir"
    for m in proc sys dev dev/pts; do
        mkdir -p "$dir/$m"
        mountpoint -q "$dir/$m" || mount --bind "/$m" "$dir/$m"
    done
    mkdir -p "$dir/triage/main" "$dir/triage/shared" "$dir/tmp"
    chmod 1777 "$dir/tmp"
    mountpoint -q "$dir/triage/main" || mount --bind "$2" "$dir/triage/main"
    if [ -d "$3" ]; then mountpoint -q "$dir/triage/shared" || mount --bind "$3" "$dir/triage/shared"; fi
}

chroot_umount() {  # SUITE
    local dir m
    dir=$(chroot_dir "$1")
    for m in run/netns triage/shared triage/main dev/pts dev sys proc; do
        mountpoint -q "$dir/$m" && umount -l "$dir/$m"
    done
    mountpoint -q "$dir" && umount -l "$dir"
    return 0
}

in_chroot() {  # SUITE command...
    local dir
    dir=$(chroot_dir "$1")
    shift
    chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb ${CI:+CI=$CI} "$@"
}
