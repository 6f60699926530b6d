#!/bin/bash
# Builds the test host's second template, `debian`, into $X (build/xen):
# a Debian 12 root (mmdebstrap, systemd as PID 1, Debian's cloud kernel
# and its own initramfs) with this tree's guest side installed as README
# tells an administrator (`make install-guest DESTDIR=...`), on a btrfs
# image of its own (deb.img) so snapshots of it are reflink clones.
#   debian-base.tar   the Debian root, rebuilt when this script changes
#   deb.img           btrfs: vmlinux, initrd.img, root.img (dom0 mounts it
#                     on /var/lib/litedvm/debian)
#   debian.cfg        the template's xl.cfg
# Called by build.sh with X and STAGE_SUM set.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
: "${X:?}" "${STAGE_SUM:?}"

# The run-time packages README lists for a guest, plus what the tests use
# inside it (ip and ping for the network checks).
guest_pkgs="libxenstore4"
pkgs="systemd-sysv,udev,kmod,linux-image-cloud-amd64,$guest_pkgs,iproute2,iputils-ping,waypipe,weston"

# This machine's own apt sources, so mmdebstrap uses the mirror it reaches.
sources=$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1 || true)
[ -n "$sources" ] || sources=/etc/apt/sources.list

# The root is rebuilt when its package list (or this version) changes.
basesum=$(echo "bookworm minbase 1 $pkgs" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$X/debian-base.sum" 2>/dev/null)" != "$basesum" ] || [ ! -f "$X/debian-base.tar" ]; then
	rm -f "$X/debian-base.tar"
	mmdebstrap --quiet --variant=minbase --include="$pkgs" bookworm \
		"$X/debian-base.tmp.tar" "$sources"
	mv "$X/debian-base.tmp.tar" "$X/debian-base.tar"
	echo "$basesum" > "$X/debian-base.sum"
fi

debsum="$basesum $STAGE_SUM $(sha256sum < "$0" | cut -d' ' -f1)"
if [ "$(cat "$X/deb.sum" 2>/dev/null)" = "$debsum" ] && [ -f "$X/deb.img" ]; then
	exit 0
fi
r=$X/debianroot
rm -rf "$r" "$X/debimg"
mkdir -p "$r" "$X/debimg"
tar -C "$r" -xf "$X/debian-base.tar"
make -s -C "$top" install-guest DESTDIR="$r" >/dev/null

echo debian > "$r/etc/hostname"
# Only link-local IPv6 on every interface: the network tests need no DHCP.
mkdir -p "$r/etc/systemd/network"
cat > "$r/etc/systemd/network/80-litedvm-test.network" <<'NET'
[Match]
Name=en* eth*

[Network]
LinkLocalAddressing=ipv6
IPv6AcceptRA=no
NET
systemctl --root="$r" enable systemd-networkd.service >/dev/null 2>&1
# Units a disposable does without: under emulation each costs seconds of
# CPU that parallel boots share.
systemctl --root="$r" mask serial-getty@hvc0.service getty@tty1.service \
	getty-static.service e2scrub_reap.service >/dev/null 2>&1

d=$X/debimg
kver=$(basename "$(ls "$r"/boot/vmlinuz-* | sort -V | tail -n 1)")
kver=${kver#vmlinuz-}
# The ELF inside the bzImage: libxenguest would decompress it at every
# domain creation, seconds under emulation.
# Debian's cloud kernel is LZ4-compressed (legacy frame).
off=$(grep -obUaP '\x02\x21\x4c\x18' "$r/boot/vmlinuz-$kver" | head -n 1 | cut -d: -f1)
tail -c +$((off + 1)) "$r/boot/vmlinuz-$kver" | lz4 -dc > "$d/vmlinux" 2>/dev/null || true
head -c 4 "$d/vmlinux" | grep -q ELF || { echo "debian.sh: cannot extract vmlinux" >&2; exit 1; }
cp "$r/boot/initrd.img-$kver" "$d/initrd.img"

# Room for what a disposable writes on top of what is installed.
used=$(du -sm "$r" | cut -f1)
# Inode tables and journal zeroed now, not by every disposable's kernel
# after it boots (see build.sh).
mke2fs -q -t ext4 -E lazy_itable_init=0,lazy_journal_init=0 -d "$r" -L root "$d/root.img" "$((used + 256))M"
rm -rf "$r"
rm -f "$X/deb.img"
truncate -s "$((used + 256 + 512))M" "$X/deb.img"
mkfs.btrfs -q -r "$X/debimg" "$X/deb.img" >/dev/null
rm -rf "$X/debimg"

cat > "$X/debian.cfg" <<CFG
# The test host's Debian 12 template: systemd as PID 1, its own kernel
# and initramfs, dvm-agent installed by \`make install-guest\`.
name = "debian"
type = "pv"
memory = 384
maxmem = 384
vcpus = 1
kernel = "/var/lib/litedvm/debian/vmlinux"
ramdisk = "/var/lib/litedvm/debian/initrd.img"
extra = "console=hvc0 root=/dev/xvda rw quiet"
disk = [ "format=raw, vdev=xvda, access=rw, target=/var/lib/litedvm/debian/root.img" ]
litedvm_dispvm_template = 1
litedvm_ready_timeout = 600
CFG
echo "$debsum" > "$X/deb.sum"
