#!/bin/bash
# Builds what the emulated Xen host boots, into build/xen (or $XENVM_DIR),
# from Debian's packages and this tree's `make install`.  Each product is
# rebuilt only when its inputs changed:
#   xen, vmlinuz       the hypervisor (decompressed) and the dom0 kernel
#   base.cpio          dom0: busybox, Xen tools and libraries, modules, /init
#   proj.cpio          this project, installed, with the libraries it needs
#   systemd.cpio       systemd as dom0's PID 1, for the tests that ask
#                      for it (tests/xen/run); not in base.cpio: it would
#                      make every boot larger
#   tmpl.img           btrfs: the `default` template (kernel, initrd, root)
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
X=${XENVM_DIR:-$top/build/xen}
mkdir -p "$X"

kver=$(basename "$(ls /boot/vmlinuz-* | sort -V | tail -n 1)")
kver=${kver#vmlinuz-}
mods=/lib/modules/$kver
xenbin=$(ls -d /usr/lib/xen-4.*/bin | sort -V | tail -n 1)
xengz=$(ls /boot/xen-4.*-amd64.gz | sort -V | tail -n 1)

# stamp NAME INPUT...: true when NAME is up to date for these inputs.
stamp_of() { { printf '%s\n' "$@"; cat "$@" 2>/dev/null; } | sha256sum | cut -d' ' -f1; }
fresh() { local n=$1; shift; [ -f "$X/$n" ] && [ "$(cat "$X/$n.stamp" 2>/dev/null)" = "$(stamp_of "$@")" ]; }
mark() { local n=$1; shift; stamp_of "$@" > "$X/$n.stamp"; }

pkgver() { dpkg-query -W -f='${Package} ${Version}\n' "$@" 2>/dev/null; }

# copy_libs ROOT FILE...: the shared libraries FILEs need, into ROOT.
copy_libs() {
	local root=$1 f l
	shift
	for f in "$@"; do
		{ ldd "$f" 2>/dev/null || true; } | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'
	done | sort -u | while read -r l; do
		[ -e "$root$l" ] && continue
		mkdir -p "$root$(dirname "$l")"
		cp -L "$l" "$root$l"
	done
}

# drop_base_libs ROOT: removes from ROOT the libraries the dom0 base
# already has (its cpio is appended after base.cpio, which holds them).
# ld_cache DEST ROOT...: DEST/etc/ld.so.cache for the roots laid over one
# another, as a Debian system has one.  Without it ld.so tries some 30
# paths for each library a program needs, at 2-4 ms each under emulation:
# 100 ms more for a tool over /usr/lib/liblitedvm.so.0 than for one linked
# with it statically.
ld_cache() {
	local dest=$1 m
	shift
	m=$(mktemp -d "$X/ldcache.XXXXXX")
	for root; do cp -alf "$root/." "$m/"; done
	mkdir -p "$m/etc" "$dest/etc"
	: > "$m/etc/ld.so.conf"
	ldconfig -r "$m" && cp "$m/etc/ld.so.cache" "$dest/etc/ld.so.cache"
	rm -rf "$m"
}
drop_base_libs() {
	(cd "$1" && find . -type f -path './lib/*' | while read -r f; do
		if [ -e "$X/dom0root/$f" ]; then rm -f "$f"; fi; done)
}

# modules_for ROOT MODULE...: copies modules and dependencies, in load
# order, into ROOT and writes their paths to stdout.
modules_for() {
	local root=$1 m line path
	shift
	for m in "$@"; do
		modprobe -S "$kver" --show-depends "$m"
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r path; do
		mkdir -p "$root$(dirname "$path")"
		cp "$path" "$root$path"
		echo "$path"
	done
}

busybox_into() {
	local root=$1 a
	mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
	cp /bin/busybox "$root/bin/busybox"
	for a in $(busybox --list-full); do
		[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
	done
}

# ---- hypervisor and dom0 kernel
if ! fresh xen "$xengz"; then
	zcat "$xengz" > "$X/xen.tmp" && mv "$X/xen.tmp" "$X/xen"
	mark xen "$xengz"
fi
cp -u "/boot/vmlinuz-$kver" "$X/vmlinuz"

# ---- dom0 base
dom0_mods="xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs loop xen-blkback
virtio_pci virtio_blk virtio_console btrfs xen-netback bridge ext4"
# Debian's oxenstored.conf too: dom0 runs oxenstored with it.
base_inputs=("$here/build.sh" "$here/dom0-init" "$here/block" "$here/vif-bridge"
	/etc/xen/oxenstored.conf)
if ! fresh base.cpio "${base_inputs[@]}" <(pkgver busybox-static xen-utils-4.17 "linux-image-$kver" libc6 lvm2); then
	r=$X/dom0root
	rm -rf "$r"
	mkdir -p "$r"/{dev,proc,sys,run,tmp,etc/xen/scripts,var/lib,var/log,usr/lib,lib64}
	ln -s /run "$r/var/run"
	mknod -m 600 "$r/dev/console" c 5 1
	mknod -m 666 "$r/dev/null" c 1 3
	busybox_into "$r"
	mkdir -p "$r$xenbin"
	for b in xl xenstored oxenstored xen-init-dom0 xenconsoled; do
		cp "$xenbin/$b" "$r$xenbin/$b"
	done
	cp /etc/xen/oxenstored.conf "$r/etc/xen/"
	ln -sf "$xenbin/xl" "$r/usr/sbin/xl"
	cp /usr/bin/xenstore "$r/usr/bin/xenstore"
	for b in read write ls list rm watch exists chmod; do
		ln -sf xenstore "$r/usr/bin/xenstore-$b"
	done
	cp /sbin/lvm "$r/usr/sbin/lvm" 2>/dev/null || true
	for b in lvcreate lvremove lvrename lvs lvchange vgcreate pvcreate; do
		ln -sf lvm "$r/usr/sbin/$b"
	done
	cp /usr/sbin/thin_check "$r/usr/sbin/" 2>/dev/null || true
	copy_libs "$r" "$r$xenbin"/* "$r/usr/bin/xenstore" /bin/busybox /sbin/lvm
	# xl aborts without it, and ldd does not list it.
	cp -L "$(ldconfig -p | awk '/libgcc_s.so.1 .*x86-64/ { print $NF; exit }')" "$r/lib/x86_64-linux-gnu/"
	modules_for "$r" $dom0_mods > "$r/etc/modules.list"
	# Device mapper for the LVM tests: copied, loaded only by them (boot
	# time).  crc32c_generic is a soft dependency modprobe does not list.
	modules_for "$r" crc32c_generic dm-thin-pool dm-snapshot | grep -v -x -F -f "$r/etc/modules.list" > "$r/etc/modules.dm" || true
	cp "$mods/modules.dep" "$mods/modules.order" "$r$mods/" 2>/dev/null || true
	: > "$r/etc/xen/xl.conf"
	cp "$here/block" "$here/vif-bridge" "$r/etc/xen/scripts/"
	cp "$here/dom0-init" "$r/init"
	chmod 755 "$r/init" "$r/etc/xen/scripts/block" "$r/etc/xen/scripts/vif-bridge"
	(cd "$r" && find . | cpio -o -H newc --quiet) > "$X/base.cpio.tmp"
	mv "$X/base.cpio.tmp" "$X/base.cpio"
	mark base.cpio "${base_inputs[@]}" <(pkgver busybox-static xen-utils-4.17 "linux-image-$kver" libc6 lvm2)
fi

# ---- systemd for dom0 (Debian's, from this machine): PID 1, systemctl,
# systemd-analyze, journald, the targets and slices; /init execs it when
# it is there.  Its default target runs harness.service: `/init --run`.
sd_inputs=("$here/build.sh")
if ! fresh systemd.cpio "${sd_inputs[@]}" <(pkgver systemd libsystemd-shared libseccomp2 libmount1 libc6); then
	r=$X/systemdroot
	rm -rf "$r"
	mkdir -p "$r/lib/systemd/system/sockets.target.wants" "$r/bin" "$r/usr/bin" \
	    "$r/etc/systemd/system/harness.target.wants" "$r/usr/lib" "$r/var/tmp"
	for b in /lib/systemd/systemd /lib/systemd/systemd-journald; do
		cp "$b" "$r$b"
	done
	cp /bin/systemctl "$r/bin/"
	cp /usr/bin/systemd-analyze /usr/bin/journalctl "$r/usr/bin/"
	cp /lib/systemd/system/*.target /lib/systemd/system/*.slice \
	    /lib/systemd/system/systemd-journald.service \
	    /lib/systemd/system/systemd-journald.socket \
	    /lib/systemd/system/systemd-journald-dev-log.socket "$r/lib/systemd/system/"
	ln -s ../systemd-journald.socket ../systemd-journald-dev-log.socket \
	    "$r/lib/systemd/system/sockets.target.wants/"
	copy_libs "$r" "$r"/lib/systemd/systemd* "$r"/bin/systemctl "$r"/usr/bin/*
	drop_base_libs "$r"
	cp -L /usr/lib/os-release "$r/usr/lib/os-release"
	ln -s ../usr/lib/os-release "$r/etc/os-release"
	# A fixed machine id: no first-boot logic.
	printf '%s\n' 4c6974656476d6d0000000000000000a > "$r/etc/machine-id"
	cat > "$r/etc/systemd/system/harness.target" <<'UNIT'
[Unit]
Description=The emulated host's test script
Requires=basic.target
After=basic.target
AllowIsolate=yes
UNIT
	cat > "$r/etc/systemd/system/harness.service" <<'UNIT'
[Unit]
Description=Run the harness's script, report its status, power off
After=basic.target

[Service]
Type=exec
ExecStart=/init --run
UNIT
	ln -s harness.target "$r/etc/systemd/system/default.target"
	ln -s ../harness.service "$r/etc/systemd/system/harness.target.wants/"
	(cd "$r" && find . | cpio -o -H newc --quiet) > "$X/systemd.cpio.tmp"
	mv "$X/systemd.cpio.tmp" "$X/systemd.cpio"
	mark systemd.cpio "${sd_inputs[@]}" <(pkgver systemd libsystemd-shared libseccomp2 libmount1 libc6)
fi

# ---- this project, installed
stage=$X/stage
rm -rf "$stage"
make -s -C "$top" all >/dev/null
# Built for the paths it is installed at, beside the tree's own build.
make -s -C "$top" install B="$X/obj" DESTDIR="$stage" PREFIX=/usr SYSCONFDIR=/etc >/dev/null
projsum=$(cd "$stage" && find . -type f -o -type l | sort | xargs -d '\n' sha256sum | sha256sum | cut -d' ' -f1)
if [ "$(cat "$X/proj.sum" 2>/dev/null)" != "$projsum" ] || [ ! -f "$X/proj.cpio" ]; then
	r=$X/projroot
	rm -rf "$r"
	mkdir -p "$r"
	cp -a "$stage/." "$r/"
	# The tree's test programs (build/tests, linked with liblitedvm.a as
	# built for the default prefix) look for the standby helper there.
	mkdir -p "$r/usr/local/libexec/litedvm"
	ln -s /usr/libexec/litedvm/dvm-standby "$r/usr/local/libexec/litedvm/"
	copy_libs "$r" "$r"/usr/bin/* "$r"/usr/sbin/* "$r"/usr/lib/liblitedvm.so.*
	drop_base_libs "$r"
	mkdir -p "$r/etc"
	ld_cache "$r" "$X/dom0root" "$r"
	(cd "$r" && find . | cpio -o -H newc --quiet) > "$X/proj.cpio.tmp"
	mv "$X/proj.cpio.tmp" "$X/proj.cpio"
fi

# ---- the `default` template: guest kernel, initrd, root volume
tmpl_inputs=("$here/build.sh" "$here/guest-init" "$here/guest-initrd-init"
    "$top"/build/guest/*)
tmplsum=$(stamp_of "${tmpl_inputs[@]}" <(pkgver busybox-static xen-utils-4.17 "linux-image-$kver"))
if [ "$(cat "$X/tmpl.sum" 2>/dev/null)" != "$tmplsum $projsum" ] || [ ! -f "$X/tmpl.img" ]; then
	t=$X/tmplroot/templates/default
	rm -rf "$X/tmplroot"
	mkdir -p "$t" "$X/tmplroot/debian"
	# The ELF inside the bzImage: libxenguest would spend seconds
	# decompressing it under emulation at every domain creation.
	off=$(grep -obUaP '\xfd7zXZ\x00' "/boot/vmlinuz-$kver" | head -n 1 | cut -d: -f1)
	tail -c +$((off + 1)) "/boot/vmlinuz-$kver" | xz -dc --single-stream > "$t/vmlinux" 2>/dev/null || true
	head -c 4 "$t/vmlinux" | grep -q ELF || { echo "build.sh: cannot extract vmlinux" >&2; exit 1; }

	ir=$X/initrdroot
	rm -rf "$ir"
	mkdir -p "$ir"/{dev,proc,sys,newroot}
	busybox_into "$ir"
	modules_for "$ir" xen-blkfront ext4 xen-evtchn xen-gntdev xen-gntalloc > "$ir/modules.list"
	cp "$here/guest-initrd-init" "$ir/init"
	chmod 755 "$ir/init"
	(cd "$ir" && find . | cpio -o -H newc --quiet) > "$t/initrd.cpio"

	gr=$X/guestroot
	rm -rf "$gr"
	mkdir -p "$gr"/{dev,proc,sys,tmp,run,root,etc,var/tmp}
	busybox_into "$gr"
	cp /usr/bin/xenstore "$gr/usr/bin/xenstore"
	for b in read write ls list rm exists; do
		ln -sf xenstore "$gr/usr/bin/xenstore-$b"
	done
	# GNU make: dvm-run(1)'s example builds in a disposable.
	cp /usr/bin/make "$gr/usr/bin/make"
	cp -a "$stage/usr" "$gr/"
	# The guest's own dvm-agent and dvm-open, as a guest gets them (no
	# liblitedvm.so, no libxl), over the dom0 builds.
	make -s -C "$top" install-guest B="$X/obj" DESTDIR="$gr" PREFIX=/usr SYSCONFDIR=/etc >/dev/null
	rm -rf "$gr/usr/include" "$gr/usr/share"
	copy_libs "$gr" /bin/busybox /usr/bin/xenstore /usr/bin/make "$gr"/usr/bin/* "$gr"/usr/sbin/* "$gr"/usr/lib/liblitedvm.so.*
	# libxenstore's reader thread is cancelled at exit: glibc loads it then.
	cp -L "$(ldconfig -p | awk '/libgcc_s.so.1 .*x86-64/ { print $NF; exit }')" "$gr/lib/x86_64-linux-gnu/"
	ld_cache "$gr" "$gr"
	cp "$here/guest-init" "$gr/sbin/init.litedvm"
	rm -f "$gr/sbin/init"
	mv "$gr/sbin/init.litedvm" "$gr/sbin/init"
	chmod 755 "$gr/sbin/init"
	# root, and an ordinary user for dvm-run -u.
	printf '%s\n' "root:x:0:0:root:/root:/bin/sh" \
	    "user:x:1000:1000:user:/home/user:/bin/sh" > "$gr/etc/passwd"
	printf '%s\n' "root:x:0:" "user:x:1000:" "video:x:44:user" > "$gr/etc/group"
	mkdir -p "$gr/home/user"
	chown 1000:1000 "$gr/home/user"
	rm -f "$t/root.img"
	# Inode tables zeroed now (lazy_itable_init=0): left to the kernel,
	# every disposable booted from the image would zero them again in the
	# background (ext4lazyinit), some 3 MiB written through blkback while
	# a pooled member runs its first command.
	mke2fs -q -t ext4 -O ^has_journal -E lazy_itable_init=0 -d "$gr" -L root "$t/root.img" 48M

	cat > "$X/default.cfg" <<CFG
# The test host's disposable template: a small PV guest.
name = "default"
type = "pv"
memory = 96
maxmem = 96
vcpus = 1
kernel = "/var/lib/litedvm/templates/default/vmlinux"
ramdisk = "/var/lib/litedvm/templates/default/initrd.cpio"
extra = "console=hvc0 root=/dev/xvda rw quiet"
disk = [ "format=raw, vdev=xvda, access=rw, target=/var/lib/litedvm/templates/default/root.img" ]
litedvm_dispvm_template = 1
litedvm_preload = 0
litedvm_ready_timeout = 180
CFG
	rm -f "$X/tmpl.img"
	truncate -s 512M "$X/tmpl.img"
	mkfs.btrfs -q -r "$X/tmplroot" "$X/tmpl.img" >/dev/null
	echo "$tmplsum $projsum" > "$X/tmpl.sum"
fi
# An empty second disk for the LVM tests (sparse; QEMU never writes it).
[ -f "$X/lvm.img" ] || truncate -s 1G "$X/lvm.img"

# ---- the `debian` template: a real Debian 12 guest (tests/xen/debian.sh)
X=$X STAGE_SUM=$projsum "$here/debian.sh"

mkdir -p "$X/projroot/etc/litedvm"
if ! cmp -s "$X/default.cfg" "$X/projroot/etc/litedvm/default.cfg" ||
   ! cmp -s "$X/debian.cfg" "$X/projroot/etc/litedvm/debian.cfg"; then
	cp "$X/default.cfg" "$X/debian.cfg" "$X/projroot/etc/litedvm/"
	(cd "$X/projroot" && find . | cpio -o -H newc --quiet) > "$X/proj.cpio"
fi
