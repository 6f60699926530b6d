# LVM thin volumes: a template on a thin LV in a volume group on the
# host's second disk.  Runs in the emulated dom0 (tests/xen/run).
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
cfg=/etc/litedvm
img=/var/lib/litedvm/templates/default/root.img

setup_lvm "$img"
check "volume group with a thin pool and a thin template volume" test -b /dev/ldvm/tmpl-root
sed "s|target=$img|target=/dev/ldvm/tmpl-root|" $cfg/default.cfg > $cfg/thin.cfg
before=$(sha256sum < /dev/ldvm/tmpl-root)

no_snapshot_lvs() {
	left=$(lvs --noheadings -o lv_name ldvm 2>/dev/null | grep disp | tr -d ' ' | tr '\n' ' ')
	check "$1: no snapshot LV left${left:+ ($left)}" test -z "$left"
}

out=$(dvm-run -v -t thin -- echo thin 2>err.txt)
check "dvm-run on a thin template ($out)" test "$out" = thin
check "the driver shows in dvm-run -v" grep -q "volumes by lvm-thin" err.txt
grep -E 'ms$' err.txt | sed 's/^/# /'
no_snapshot_lvs "after dvm-run"

dvm-run -t thin -- sh -c 'echo marker > /marker; sync'
out=$(dvm-run -t thin -- sh -c 'cat /marker 2>/dev/null || echo none')
check "a write in one disposable is not in the next ($out)" test "$out" = none
check "the origin volume is unchanged" test "$(sha256sum < /dev/ldvm/tmpl-root)" = "$before"
no_snapshot_lvs "after the isolation check"

d=$(dvm-create -t thin)
check "dvm-create on a thin template ($d)" test -n "$d"
check "its snapshot LV exists" test -b "/dev/ldvm/$d-xvda"
out=$(dvm-run -n "$d" -- echo in-"$d")
check "dvm-run -n in it" test "$out" = "in-$d"
xl destroy "$d"
./xswait "/litedvm/disp/$d" -absent 30
no_snapshot_lvs "after dvm-create and xl destroy"

sed -e '/litedvm_preload/d' $cfg/thin.cfg > $cfg/thinpool.cfg
echo 'litedvm_preload = 2' >> $cfg/thinpool.cfg
dvm-preload -t thinpool
check "dvm-preload fills a thin pool" test "$(xenstore-list /litedvm/pool/thinpool | wc -l)" = 2
out=$(dvm-run -v -t thinpool -- echo pooled 2>err.txt)
check "pooled dvm-run on thin volumes ($out)" test "$out" = pooled
check "it came from the pool" grep -q "from the preload pool" err.txt
./xswait /litedvm/pool/thinpool -count=2 120
./xswait /litedvm/disp -count=2 120
lvs=$(lvs --noheadings -o lv_name ldvm | grep -c disp)
check "snapshot LVs are the pool members ($lvs)" test "$lvs" = 2
# Template change detection for an LVM origin: the volume is replaced
# under the same name (same configuration text): old members must go.
old=$(xenstore-list /litedvm/pool/thinpool | sort | tr '\n' ' ')
lvrename -q ldvm tmpl-root tmpl-old
lvcreate -q -V 64M -T ldvm/pool -n tmpl-root
dd if=/dev/ldvm/tmpl-old of=/dev/ldvm/tmpl-root bs=1M 2>/dev/null
dvm-preload -t thinpool
new=$(xenstore-list /litedvm/pool/thinpool | sort | tr '\n' ' ')
both=$(for n in $old; do case " $new " in *" $n "*) echo "$n" ;; esac; done)
check "replacing the origin LV retires old members (old: $old new: $new)" test -z "$both"
before=$(sha256sum < /dev/ldvm/tmpl-root)
xl list | awk 'NR > 2 { print $1 }' | while read -r x; do xl destroy "$x"; done
dvm-preload -G
no_snapshot_lvs "after emptying the pool"

for ms in 0 100 250 400 600 900; do
	dvm-run -t thin -- true </dev/null >/dev/null 2>&1 &
	pid=$!
	usleep $((ms * 1000))
	kill -9 $pid
	wait $pid 2>/dev/null
	dvm-create -G 2>/dev/null
	left=$(lvs --noheadings -o lv_name ldvm | grep disp | tr -d ' ')
	check "dvm-run killed after $ms ms, gc: no LV left${left:+ ($left)}" test -z "$left"
done
check "origin still unchanged" test "$(sha256sum < /dev/ldvm/tmpl-root)" = "$before"
rm -f $cfg/thin.cfg $cfg/thinpool.cfg
check_clean "after the LVM tests"

# Benchmark (figures, not checks): snapshot create + remove per driver.
mkdir -p /tmp/tpl && cp "$img" /tmp/tpl/root.img
echo "# volume drivers, 10 create+remove each:"
./volbench "$img" 10 | sed 's/^/# /'
./volbench /tmp/tpl/root.img 10 | sed 's/^/# /'
./volbench /dev/ldvm/tmpl-root 10 | sed 's/^/# /'
