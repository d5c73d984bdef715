#!/bin/sh
# Build BusyBox VERSION from busybox.tar.bz2 into ./rootfs, the official image's
# glibc variant's layout. Runs in the build stage (debian:trixie-slim with gcc).
set -eux
version="$1"
src="/usr/src/busybox-$version"

tar -xf busybox.tar.bz2
# The build fixes the official image applies to 1.37.0, here from Debian's source
# package of the same release: tc without CBQ (Linux 6.8 removed its UAPI
# definitions; trixie's headers are 6.12), and the SHA-NI guard (non-x86 builds).
tar -xf debian.tar.xz debian/patches/busybox-1.36.1-no-cbq.patch \
    debian/patches/libbb-sha-add-missing-sha-NI-guard.patch
for fix in busybox-1.36.1-no-cbq.patch libbb-sha-add-missing-sha-NI-guard.patch; do
    patch -d "$src" -p1 <"debian/patches/$fix"
done

# The build date BusyBox prints is the release's (the tarball's timestamp), as
# the official image's is: the same source gives the same binary.
SOURCE_DATE_EPOCH="$(stat -c %Y "$src")"
export SOURCE_DATE_EPOCH

cd "$src"
make defconfig
while IFS= read -r line; do
    case "$line" in
    CONFIG_*=*) name="${line%%=*}" ;;
    "# CONFIG_"*" is not set")
        name="${line#\# }"
        name="${name%% *}"
        ;;
    *) continue ;;
    esac
    sed -i -e "/^$name=/d" -e "/^# $name is not set\$/d" .config
    echo "$line" >>.config
done <../config-changes
make oldconfig </dev/null
while IFS= read -r line; do
    case "$line" in
    CONFIG_*=* | "# CONFIG_"*" is not set") grep -qxF "$line" .config ;;
    esac
done <../config-changes

case "$(dpkg --print-architecture)" in
amd64) ARCH=x86_64 ;;
arm64) ARCH=aarch64 ;;
*) echo "build.sh: no BusyBox ARCH known for $(dpkg --print-architecture)" >&2; exit 1 ;;
esac
export ARCH
make -j "$(nproc)" busybox
./busybox --help >/dev/null

root=/usr/src/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/lib"
cp busybox "$root/bin/busybox"
cp "$(command -v getconf)" "$root/bin/getconf"
cp /etc/nsswitch.conf "$root/etc/nsswitch.conf"
ln -s lib "$root/lib64"

# glibc and what it loads at run time (libnss for names, users and groups): each
# library the binaries and those need, found with ldd, copied into /lib.
multiarch="$(gcc -print-multiarch)"
set -- "$root/bin/busybox" "$root/bin/getconf" /lib/"$multiarch"/libnss_*.so.* \
    /lib/"$multiarch"/libpthread.so.*
while [ "$#" -gt 0 ]; do
    file="$1"
    shift
    target="$root/lib/$(basename "$file")"
    case "$file" in
    "$root"/*) ;;
    *)
        [ ! -e "$target" ] || continue
        cp -L "$file" "$target"
        ;;
    esac
    # shellcheck disable=SC2046 # one word per library path
    set -- "$@" $(ldd "$file" | awk '$1 ~ /^\// { print $1 } $2 == "=>" && $3 ~ /^\// { print $3 }')
done
chroot "$root" /bin/getconf _NPROCESSORS_ONLN
chroot "$root" /bin/busybox --install /bin

cd /usr/src
cp passwd group shadow "$root/etc/"
# buildroot's device table (modes), then a home directory for every account
# that lacks one, owned by it; /usr/bin/env for scripts' #! lines.
mkdir -p "$root/dev" "$root/tmp" "$root/root" "$root/var/www"
chmod 755 "$root/dev" "$root/etc" "$root/var/www"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
chmod 600 "$root/etc/shadow"
chmod 644 "$root/etc/passwd" "$root/etc/group"
awk -F: '{ print $3 ":" $4 " " $6 }' passwd | while read -r owner home; do
    if [ ! -d "$root$home" ]; then
        mkdir -p "$root$home"
        chown "$owner" "$root$home"
        chmod 755 "$root$home"
    fi
done
mkdir -p "$root/usr/bin"
ln -s ../../bin/env "$root/usr/bin/env"
cp -L /usr/share/zoneinfo/UTC "$root/etc/localtime"

chroot "$root" /usr/bin/env sh -ec 'true'
[ "$(chroot "$root" date +%Z)" = UTC ]
