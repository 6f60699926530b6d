# RAM-only disposables (litedvm_volatile = "ram"): what a disposable writes
# reaches no block device or image of dom0, nothing is left, a full volume
# fails in the guest only, pools, dvm-open and gc.  Runs in the emulated
# dom0 (tests/xen/run).
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
cfg=/etc/litedvm
ramdir=/run/litedvm-ram
while read -r m; do insmod "$m" 2>/dev/null; done < /etc/modules.dm

sed -e '/^name/d' $cfg/default.cfg > $cfg/ram.cfg
echo 'litedvm_volatile = "ram"' >> $cfg/ram.cfg
sed -e '/^name/d' $cfg/ram.cfg > $cfg/small.cfg
echo 'litedvm_volatile_size = 16' >> $cfg/small.cfg

# Nothing of a RAM volume is left: no node, no dm device, no loop device.
ram_clean() {
	check_clean "$1"
	left=$(ls $ramdir 2>/dev/null; ls /sys/block | grep '^dm-' || true)
	check "$1: no RAM volume node or dm device${left:+ (left: $left)}" \
		test -z "$left"
}

# found MARKER: the raw block devices and images of dom0 holding it.
# /dev/vda is the disk /var/lib/litedvm (templates, snapshots, guests) is
# on; the LVM disk (vdb) and the Debian template's (vdc) are not used in
# this boot, and reading their 2 GiB under emulation took minutes a scan.
found() {
	for f in /dev/vda /dev/loop[0-9]* /dev/dm-* $ramdir/* \
	    /var/lib/litedvm/templates/*/*.img /var/lib/litedvm/templates/*/.litedvm/*; do
		[ -e "$f" ] || continue
		grep -a -q -F "$1" "$f" 2>/dev/null && echo "$f"
	done
}

# write NAME MARKER: 16 MiB of lines of MARKER into NAME's root volume.
write_marker() {
	dvm-run -n "$1" -- sh -c "yes '$2' | head -c 16777216 > /marker; sync; wc -c < /marker"
}

# ---- the scanner finds what an ordinary (reflink) disposable wrote
m1="mk$(date +%s)-ref-$$"
d=$(dvm-create)
out=$(write_marker "$d" "$m1")
check "reflink disposable wrote 16 MiB ($out)" test "$out" = 16777216
where=$(found "$m1" | tr '\n' ' ')
check "the scan finds the marker of an on-disk disposable ($where)" test -n "$where"
xl destroy "$d"
./xswait "/litedvm/disp/$d" -absent 30

# ---- a RAM disposable: the marker is nowhere, while it runs and after
m2="mk$(date +%s)-ram-$$"
t0=$(date +%s)
d=$(dvm-create -t ram)
rc=$?
check "dvm-create -t ram exits 0 ($rc, $(($(date +%s) - t0)) s)" test $rc = 0
node=$(xenstore-read /litedvm/disp/$d/volumes/xvda)
check "the volume is a node in $ramdir ($node)" test -b "$node"
out=$(write_marker "$d" "$m2")
check "RAM disposable wrote 16 MiB ($out)" test "$out" = 16777216
out=$(dvm-run -n "$d" -- sh -c "grep -c '$m2' /marker")
check "the guest reads its marker back ($out lines)" test "${out:-0}" -gt 1000
# The snapshot itself and its copy-on-write loop device are in memory.
where=$(found "$m2" | grep -v -e '^/dev/dm-' -e '^/dev/loop' -e "^$ramdir/" | tr '\n' ' ')
check "while it runs, no disk or image holds the marker ($where)" test -z "$where"
xl destroy "$d"
./xswait "/litedvm/disp/$d" -absent 30
ram_clean "after a RAM disposable"
where=$(found "$m2" | tr '\n' ' ')
check "after teardown no block device or image holds the marker ($where)" test -z "$where"

# ---- a full RAM volume: an error in the guest, dom0 unharmed
# 24 MiB into a 16 MiB cap; the guest's filesystem has room for it.
dmesg -c > /dev/null
out=$(timeout 300 dvm-run -t small -- sh -c 'dd if=/dev/zero of=/fill bs=1M count=24 conv=fsync 2>&1; echo "dd=$?"' 2>&1)
rc=$?
echo "full volume: status $rc: $out"
case $out in *dd=0*) ok=0 ;; *) ok=1 ;; esac
check "filling a 16 MiB RAM volume fails in the guest ($rc: $(echo "$out" | grep -o -i -e 'Input/output error' -e 'No space left' | head -1))" test $ok = 1
# The error reaches the guest as EIO: dd's write fails with it, or, when
# the guest had to read back a page of the shell's own code after the
# snapshot was invalidated, that read fails and the kernel kills the shell
# with SIGBUS (dvm-run exits 128 + 7).  ENOSPC would mean no invalidation.
case $out in *'Input/output error'*) eio=1 ;; *) eio=0 ;; esac
[ $rc = 135 ] && [ -z "$out" ] && eio=1
check "it is an I/O error (EIO, or SIGBUS where code was read), as litedvm(7) says" test $eio = 1
check "the device mapper invalidated the snapshot ($(dmesg | grep -i -m1 invalidat))" \
	sh -c 'dmesg | grep -q -i invalidat'
check "dom0 still works after a full RAM volume" xl list
ram_clean "after a full RAM volume"

# ---- a cap dom0 cannot back is refused before anything is made
sed -e '/^name/d' $cfg/ram.cfg > $cfg/huge.cfg
echo 'litedvm_volatile_size = 1048576' >> $cfg/huge.cfg
dvm-run -t huge -- true 2>err.txt
rc=$?
check "a 1 TiB RAM volume is refused ($rc: $(cat err.txt))" \
	sh -c "test $rc != 0 && grep -q 'not enough memory in dom0' err.txt"
ram_clean "after a refused RAM volume"

# ---- gc after SIGKILL: the RAM volume of a disposable with no owner
d=$(dvm-create -t ram)
owner=$(xenstore-read "/litedvm/disp/$d/owner")
kill -9 "${owner%%:*}"
xl destroy "$d"
xenstore-rm "/litedvm/disp/$d"
check "the killed disposable left its RAM volume" test -n "$(ls $ramdir)"
dvm-preload -G 2>err.txt
check "dvm-preload -G collects it ($?: $(cat err.txt))" test -z "$(ls $ramdir)"
ram_clean "after gc"

# ---- a pool of RAM disposables
sed -e 's/^litedvm_preload.*/litedvm_preload = 2/' $cfg/ram.cfg > $cfg/rampool.cfg
dvm-preload -t rampool 2>err.txt
check "dvm-preload fills a RAM pool ($?: $(cat err.txt))" test "$(ls $ramdir | wc -l)" = 2
m3="mk$(date +%s)-pool-$$"
out=$(dvm-run -t rampool -- sh -c "yes '$m3' | head -c 4194304 > /m; sync; wc -c < /m")
check "a claimed pool member writes ($out)" test "$out" = 4194304
sed -i -e 's/^litedvm_preload.*/litedvm_preload = 0/' $cfg/rampool.cfg
dvm-preload -t rampool 2>/dev/null
ram_clean "after the RAM pool"
where=$(found "$m3" | tr '\n' ' ')
check "no disk holds the pool member's marker ($where)" test -z "$where"

# ---- dvm-open into a RAM disposable
sed -e '/^name/d' $cfg/ram.cfg > $cfg/ramedit.cfg
printf 'litedvm_open_command = [ "/bin/sh", "-c", "echo edited-in-ram >> \\"$1\\"", "opener", "%%f" ]\n' >> $cfg/ramedit.cfg
printf 'work ramedit\n' > $cfg/open.policy
start_guest work
work=$(xl domid work)
dvm-opend > opend.log 2>&1 &
opend=$!
guestrun "$work" sh -c 'echo doc > /root/doc.txt'
guestrun "$work" dvm-open /root/doc.txt 2> err.txt
rc=$?
check "dvm-open in a RAM disposable edits the file ($rc: $(cat err.txt))" test $rc = 3
check "the edit came back" guestrun "$work" grep -q edited-in-ram /root/doc.txt
kill $opend
wait $opend
stop_guests work
ram_clean "after dvm-open"
