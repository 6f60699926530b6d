# A host that crashed (issue #16): a reboot empties xenstore, and with it
# every record, while the volumes of the disposables that ran are still on
# disk.  Simulated for each volume driver as a reboot leaves it: the owner
# killed with SIGKILL, the domain destroyed, /litedvm removed.  Then gc
# must remove exactly the leftovers, a user's files and LVs beside them
# survive, and dvm-run and dvm-preload work at once, with or without gc
# first.  Runs in the emulated dom0 (tests/xen/run).
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
cfg=/etc/litedvm
snapdir=/var/lib/litedvm/templates/default
img=$snapdir/root.img
: > decoys
: > decoylvs

# What litedvm could have left anywhere near the templates, but the decoys.
leftovers() {
	{
		find $snapdir /tmp/tpl -name 'disp*' 2>/dev/null |
			grep -v -x -F -f decoys
		lvs --noheadings -o lv_name ldvm 2>/dev/null | tr -d ' ' |
			grep '^disp' | grep -v -x -F -f decoylvs
	} | sort | tr '\n' ' ' | sed 's/ $//'
}
count() { echo $#; }

# decoy FILE: a user's file that must survive every gc.
decoy() {
	echo "user data $1" > "$1"
	echo "$1" >> decoys
}
decoys_intact() {
	local f ok=1
	while read -r f; do
		[ "$(cat "$f" 2>/dev/null)" = "user data $f" ] || ok=0
	done < decoys
	while read -r f; do
		[ -b "/dev/ldvm/$f" ] || lvs "ldvm/$f" >/dev/null 2>&1 || ok=0
	done < decoylvs
	check "$1: the user's files and LVs beside the templates survive" \
		test $ok = 1
}

# crash TEMPLATE N: N disposables of TEMPLATE (named disp1...), running,
# then what a reboot leaves of them: no owner, no domain, no /litedvm.
crash() {
	local t=$1 n=$2 i d made= owner
	xenstore-rm /litedvm/next 2>/dev/null
	for i in $(seq "$n"); do
		d=$(dvm-create -t "$t") || { fail "dvm-create -t $t"; return 1; }
		made="$made $d"
	done
	for d in $made; do
		owner=$(xenstore-read "/litedvm/disp/$d/owner")
		kill -9 "${owner%%:*}"
	done
	xl list | awk 'NR > 2 { print $1 }' | while read -r x; do
		xl destroy "$x"
	done
	./xswait -domains 1 20 2>/dev/null
	xenstore-rm /litedvm
}

# scenario DRIVER TEMPLATE RUNS
scenario() {
	local drv=$1 t=$2 runs=$3 left out rc i
	crash "$t" 2
	left=$(leftovers)
	check "$drv: the crash left 2 volumes ($left)" \
		test "$(count $left)" = 2
	dvm-preload -G 2>err.txt
	rc=$?
	check "$drv: dvm-preload -G after the crash exits 0 ($rc)" test $rc = 0
	left=$(leftovers)
	check "$drv: gc removed every leftover${left:+ (left: $left)}" \
		test -z "$left"
	decoys_intact "$drv: after gc"
	out=$(dvm-run -t "$t" -- echo ok 2>err.txt)
	rc=$?
	check "$drv: the next dvm-run works at once ($rc: $out)" \
		test "$rc:$out" = 0:ok
	dvm-preload -q 2>err.txt
	rc=$?
	check "$drv: the next dvm-preload works at once ($rc)" test $rc = 0

	# No gc this time: the runs meet leftovers under their own names.
	crash "$t" 2
	for i in $(seq "$runs"); do
		out=$(dvm-run -t "$t" -- echo ok 2>err.txt)
		rc=$?
		check "$drv: dvm-run $i after a crash, no gc ($rc: $out)" \
			test "$rc:$out" = 0:ok
		[ $rc = 0 ] || sed 's/^/# /' err.txt
	done
	left=$(leftovers)
	check "$drv: they removed the leftovers of their names${left:+ (left: $left)}" \
		test -z "$left"
	decoys_intact "$drv: after the runs"
	check_clean "$drv"
}

# ---- reflink clones (the template images are on btrfs)
decoy "$snapdir/disp5-xvda.img"
decoy "$snapdir/notes.txt"
scenario reflink default 2

# A live disposable's volume is not a leftover.
d=$(dvm-create)
dvm-preload -G 2>/dev/null
check "gc keeps a live disposable's volume" test -f "$snapdir/.litedvm/$d-xvda.img"
out=$(dvm-run -n "$d" -- echo alive)
check "and the disposable still works ($out)" test "$out" = alive
xl destroy "$d"
./xswait "/litedvm/disp/$d" -absent 30

# A preload pool after a crash: gc, then it fills again and serves.
sed -e '/litedvm_preload/d' $cfg/default.cfg > $cfg/crashpool.cfg
echo 'litedvm_preload = 1' >> $cfg/crashpool.cfg
dvm-preload -t crashpool
crash default 0
left=$(leftovers)
check "the pool member's volume is left after the crash ($left)" \
	test "$(count $left)" = 1
dvm-preload -t crashpool 2>err.txt
rc=$?
check "dvm-preload refills the pool at once after the crash ($rc)" test $rc = 0
out=$(dvm-run -v -t crashpool -- echo pooled 2>err.txt)
check "dvm-run from the refilled pool ($out)" test "$out" = pooled
check "it came from the pool" grep -q "from the preload pool" err.txt
./xswait /litedvm/pool/crashpool -count=1 120
rm -f $cfg/crashpool.cfg
xl list | awk 'NR > 2 { print $1 }' | while read -r x; do xl destroy "$x"; done
dvm-preload -G 2>/dev/null
left=$(leftovers)
check "nothing left of the pool${left:+ (left: $left)}" test -z "$left"

# ---- plain copies (a template image on tmpfs, which cannot clone)
mkdir -p /tmp/tpl
cp "$img" /tmp/tpl/root.img
sed "s|$img|/tmp/tpl/root.img|" $cfg/default.cfg > $cfg/copy.cfg
decoy /tmp/tpl/disp5-xvda.img
scenario copy copy 2

# ---- LVM thin snapshots
setup_lvm "$img"
check "volume group with a thin pool and a thin template volume" \
	test -b /dev/ldvm/tmpl-root
sed "s|target=$img|target=/dev/ldvm/tmpl-root|" $cfg/default.cfg > $cfg/thin.cfg
# A user's LVs in the same VG: one named as litedvm names its snapshots
# (the third run of the scenario meets it), one not; neither is tagged.
lvcreate -q -s -K -n disp3-xvda ldvm/tmpl-root >/dev/null && echo disp3-xvda >> decoylvs
lvcreate -q -V 16M -T ldvm/pool -n userdata >/dev/null && echo userdata >> decoylvs
scenario lvm-thin thin 3

# ---- a gc killed half-way: the next one finishes, the decoys stay
for i in 11 12 13 14; do
	# Exactly as litedvm names and tags them.
	lvcreate -q -s -K --addtag litedvm -n "disp$i-xvda" ldvm/tmpl-root >/dev/null
	head -c 1048576 /dev/zero > "$snapdir/.litedvm/disp$i-xvda.img"
	head -c 1048576 /dev/zero > "/tmp/tpl/.litedvm/disp$i-xvda.img"
done
left=$(leftovers)
check "12 made-up leftovers ($left)" test "$(count $left)" = 12
for ms in 1500 3000; do
	dvm-preload -G 2>/dev/null &
	pid=$!
	usleep $((ms * 1000))
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	left=$(leftovers)
	echo "# gc killed after $ms ms left $(count $left): $left"
done
dvm-preload -G 2>err.txt
rc=$?
check "gc after a killed gc exits 0 ($rc)" test $rc = 0
left=$(leftovers)
check "and removes what the killed one left${left:+ (left: $left)}" \
	test -z "$left"
decoys_intact "after killed gcs"
out=$(dvm-run -t thin -- echo ok 2>err.txt)
check "dvm-run works after killed gcs ($out)" test "$out" = ok
rm -f $cfg/thin.cfg $cfg/copy.cfg
check_clean "after the crash tests"
