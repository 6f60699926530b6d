# Disposables end to end: dvm-run, dvm-create, volumes, cleanup, garbage
# collection.  Runs in the emulated dom0 (tests/xen/run).
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
snapdir=/var/lib/litedvm/templates/default

no_snapshots() {
	left=$(ls "$snapdir" "$snapdir/.litedvm" 2>/dev/null | grep '^disp' || true)
	check "$1: no snapshot files${left:+ (left: $left)}" test -z "$left"
}

clean() {
	check_clean "$1"
	no_snapshots "$1"
	# xenconsoled logs every guest's console here (dom0-init's --log=guest).
	logs=$(ls /var/log/xen/console 2>/dev/null | grep '^guest-disp' || true)
	check "$1: no console log left${logs:+ (left: $logs)}" test -z "$logs"
}

# ---- pass-through of output, error and status
out=$(dvm-run -- sh -c 'echo out; echo err >&2; exit 3' 2>err.txt)
rc=$?
check "exit status passes through (3, got $rc)" test "$rc" = 3
check "stdout passes through" test "$out" = out
check "stderr passes through" test "$(cat err.txt)" = err
clean "after pass-through"

head -c 1048576 /dev/urandom > in.bin
dvm-run -- cat < in.bin > out.bin
rc=$?
check "1 MiB through cat exits 0 ($rc)" test "$rc" = 0
check "1 MiB through cat: same sha256" \
	test "$(sha256sum < in.bin)" = "$(sha256sum < out.bin)"
# The same exec path serves a named disposable: the statuses below are
# checked in one, which saves a boot each.
s=$(dvm-create)
sum=$(dvm-run -n "$s" -- sha256sum < in.bin)
check "guest sees the same 1 MiB" \
	test "${sum%% *}" = "$(sha256sum < in.bin | cut -d' ' -f1)"

dvm-run -n "$s" -- no-such-command 2>err.txt
rc=$?
check "missing command exits 127 ($rc)" test "$rc" = 127
check "missing command is named on stderr" grep -q no-such-command err.txt
dvm-run -n "$s" -- /etc 2>err.txt
rc=$?
check "non-executable exits 126 ($rc)" test "$rc" = 126
dvm-run -n "$s" -- sh -c 'kill -9 $$'
rc=$?
check "command killed by SIGKILL exits 137 ($rc)" test "$rc" = 137
printf 'a b\n' > 'arg file'
out=$(dvm-run -n "$s" -- printf '[%s]' 'a b' '$HOME' '*' '')
check "argv is passed as argv, no shell ($out)" \
	test "$out" = '[a b][$HOME][*][]'
xl destroy "$s"
./xswait "/litedvm/disp/$s" -absent 30
clean "after status tests"

# ---- interruption: SIGINT while the command runs
dvm-run -- sleep 1000 &
pid=$!
./xswait /litedvm/next -present 30
n=$(xenstore-read /litedvm/next)
name=disp$((n - 1))
./xswait "/litedvm/disp/$name/state" running 60
kill -INT $pid
wait $pid
rc=$?
check "interrupted dvm-run exits 130 ($rc)" test "$rc" = 130
clean "after SIGINT"

# ---- four at once, four distinct domains
for i in 1 2 3 4; do
	dvm-run -- cat /sys/hypervisor/uuid > "par$i.out" 2>"par$i.err" </dev/null &
done
wait
ok=1
for i in 1 2 3 4; do
	[ -s "par$i.out" ] || ok=0
done
check "four parallel dvm-run all produced output" test $ok = 1
[ $ok = 1 ] || sed 's/^/# parallel: /' par1.err par2.err par3.err par4.err
# sysfs gives no newline: add one per file before counting.
distinct=$(for i in 1 2 3 4; do cat "par$i.out"; echo; done | sort -u | grep -c .)
check "four parallel dvm-run used four domains ($distinct)" test "$distinct" = 4
clean "after parallel runs"

# ---- dvm-create, dvm-run -n, destroy by name
d=$(dvm-create)
rc=$?
check "dvm-create exits 0 and names $d" test "$rc" = 0 -a -n "$d"
check "dvm-create's disposable is running" sh -c "xl list | grep -q '^$d '"
out=$(dvm-run -n "$d" -- echo hi)
check "dvm-run -n runs in it" test "$out" = hi
out=$(dvm-run -n "$d" -- echo again)
check "dvm-run -n twice" test "$out" = again
check "it is still running after dvm-run -n" sh -c "xl list | grep -q '^$d '"
# Sessions back to back leave the guest its memory: the agent closes a
# session's channel after dom0 has (closed first, its shared pages went
# on a list the guest's kernel drains ten pages a second: some 270 KiB a
# session, 5.5 MiB less MemAvailable after 20 and a guest out of memory
# after some 60).
avail() {
	dvm-run -n "$d" -- sed -n 's/^MemAvailable: *\([0-9]*\) kB$/\1/p' \
	    /proc/meminfo
}
before=$(avail)
i=0
while [ $i -lt 40 ]; do
	dvm-run -n "$d" -- true
	i=$((i + 1))
done
after=$(avail)
fell=$((${before:-0} - ${after:-0}))
check "40 sessions: the guest's MemAvailable fell by under 3 MiB ($before kB, then $after kB)" \
    test -n "$before" -a -n "$after" -a "$fell" -lt 3072
xl destroy "$d"
./xswait "/litedvm/disp/$d" -absent 30
check "record removed after xl destroy" test $? = 0
clean "after dvm-create and xl destroy"

d=$(dvm-create)
timeout 120 dvm-run -n "$d" -- poweroff -f 2> err.txt
rc=$?
check "dvm-run -n of a command that powers the disposable off ends with 125 ($rc: $(cat err.txt))" \
	test $rc = 125
./xswait "/litedvm/disp/$d" -absent 60
check "record removed after power-off from inside" test $? = 0
clean "after power-off from inside"

# The guest's init honours the PV shutdown requests, as a distribution's
# does; a reboot ends a disposable too (on_reboot = destroy).
d=$(dvm-create)
t0=$(date +%s)
xl shutdown "$d"
./xswait "/litedvm/disp/$d" -absent 60
check "record removed after xl shutdown" test $? = 0
check "xl shutdown ended it within 30 s ($(( $(date +%s) - t0 )) s)" \
	test $(( $(date +%s) - t0 )) -le 30
clean "after xl shutdown"
d=$(dvm-create)
xl reboot "$d"
./xswait "/litedvm/disp/$d" -absent 60
check "record removed after xl reboot" test $? = 0
check "xl reboot did not start it again" sh -c "! xl list | grep -q '^$d '"
clean "after xl reboot"


# ---- refusals
sed '/litedvm_dispvm_template/d' /etc/litedvm/default.cfg > /etc/litedvm/plain.cfg
dvm-run -t plain -- true 2>err.txt
rc=$?
check "non-disposable template refused with 125 ($rc)" test "$rc" = 125
check "refusal says why" grep -q "not a disposable template" err.txt
dvm-run -t nosuch -- true 2>err.txt
check "unknown template: 125" test $? = 125
dvm-run 2>err.txt
check "no command: 125 and usage" sh -c "test $? = 125 && grep -q usage err.txt"
clean "after refusals"

# ---- set-up mistakes are named with their fix
# A guest that never gets as far as its disks: no ramdisk, and a kernel
# that waits forever when it finds no root.
sed -e '/^ramdisk/d' -e '/^litedvm_ready_timeout/d' \
    -e 's/^extra.*/extra = "console=hvc0 root=\/dev\/xvda panic=0 quiet"/' \
    /etc/litedvm/default.cfg > /etc/litedvm/nodisk.cfg
echo 'litedvm_ready_timeout = 15' >> /etc/litedvm/nodisk.cfg
dvm-run -t nodisk -- true 2>err.txt
rc=$?
check "a guest that never connects its disks: 125 ($rc)" test "$rc" = 125
check "it says the disks never connected and what to check ($(cat err.txt))" \
	grep -q "never connected its disks; check kernel, ramdisk and root=" err.txt
# A guest that boots but runs no agent (the test guest's init obeys
# litedvm.noagent on its command line, as a guest without the agent would).
sed -e '/^litedvm_ready_timeout/d' \
    -e 's/^extra = "\(.*\)"/extra = "\1 litedvm.noagent"/' \
    /etc/litedvm/default.cfg > /etc/litedvm/noagent.cfg
echo 'litedvm_ready_timeout = 15' >> /etc/litedvm/noagent.cfg
dvm-run -t noagent -- true 2>err.txt
rc=$?
check "a guest with no agent: 125 ($rc)" test "$rc" = 125
check "it says no agent announced itself and how to install it ($(cat err.txt))" \
	grep -q "no dvm-agent announced itself; install the guest side" err.txt
# The template's own disk in use by a running domain (the template guest).
sed -e 's/^name.*/name = "tmplguest"/' -e '/^litedvm/d' \
    /etc/litedvm/default.cfg > /tmp/tmplguest.cfg
xl create -q /tmp/tmplguest.cfg
dvm-run -- true 2>err.txt
rc=$?
check "a template disk in use: 125 ($rc)" test "$rc" = 125
check "it names the domain and says to shut it down ($(cat err.txt))" \
	grep -q "is in use by running domain tmplguest (id [0-9]*); shut it down" err.txt
xl destroy tmplguest
# Whether a volume is in use is read from every domain's disks; one whose
# entries are half gone (a domain being destroyed as it is read: here
# dom0 with an entry that has no backend) has none, and libxl's complaint
# about it is no message for the caller.
xenstore-write /libxl/0/device/vbd/99999/frontend x
dvm-run -v -- true 2>reflink.txt
check "once that domain is gone the template works again" test $? = 0
check "a domain's half-gone disk entry is not reported ($(grep libxl reflink.txt))" \
	test -z "$(grep libxl reflink.txt)"
xenstore-rm /libxl/0/device/vbd/99999
check "reflink driver used on btrfs" grep -q "volumes by reflink" reflink.txt
clean "after set-up mistakes"

# ---- copy fallback: a template whose volume is on tmpfs
mkdir -p /tmp/tpl
cp "$snapdir/root.img" /tmp/tpl/root.img
sed "s|$snapdir/root.img|/tmp/tpl/root.img|" /etc/litedvm/default.cfg > /etc/litedvm/copy.cfg
dvm-run -v -t copy -- true 2>err.txt
rc=$?
check "copy fallback works ($rc)" test "$rc" = 0
check "copy fallback is reported" grep -q "volumes by copy" err.txt
check "copy fallback warns it is slow" grep -q "slow" err.txt
check "copy fallback names the fix" grep -q "btrfs, XFS with reflink, or LVM thin" err.txt
grep -E 'ms$' reflink.txt | sed 's/^/# /'
left=$(ls /tmp/tpl /tmp/tpl/.litedvm | grep '^disp' || true)
check "no copies left in /tmp/tpl${left:+ ($left)}" test -z "$left"
clean "after volume drivers"

# ---- a write in one disposable is not seen by the next
dvm-run -- sh -c 'echo marker > /marker; sync'
out=$(dvm-run -- sh -c 'cat /marker 2>/dev/null || echo none')
check "writes do not leak into the next disposable ($out)" test "$out" = none
clean "after isolation check"

# ---- --timeout: the command ends, the disposable goes, exit 124
dvm-run --timeout 3 -- sh -c 'trap "" TERM; echo started; exec sleep 1000' > out.txt 2> err.txt
rc=$?
check "--timeout: a command that ignores SIGTERM ends with 124 ($rc)" test "$rc" = 124
check "--timeout: it had started" grep -q started out.txt
check "--timeout: it says so ($(cat err.txt))" grep -q "timed out after 3 s" err.txt
clean "after --timeout"
d=$(dvm-create)
head -c 67108864 /dev/zero | dvm-run -n "$d" --timeout 3 -- sleep 1000 2>/dev/null
rc=$?
check "--timeout: a command that never reads its input ends with 124 ($rc)" test "$rc" = 124
dvm-run -n "$d" --timeout 2 -- sleep 1000
rc=$?
check "--timeout with -n: 124 ($rc)" test "$rc" = 124
check "--timeout with -n: the named disposable is left running" \
	test "$(dvm-run -n "$d" -- echo alive)" = alive
xl destroy "$d"
./xswait "/litedvm/disp/$d" -absent 30
clean "after --timeout with -n"
d=$(dvm-create --lifetime 3)
check "--lifetime: dvm-create prints the name ($d)" test -n "$d"
./xswait "/litedvm/disp/${d:-none}" -absent 60
check "--lifetime: the disposable is destroyed after its lifetime" test $? = 0
clean "after --lifetime"
dvm-run --timeout -1 -- true 2>err.txt
check "--timeout -1 is a usage error (125)" test $? = 125
check "--timeout -1 names the problem" grep -q "too small" err.txt

# ---- SIGKILL at different moments, then garbage collection
for ms in 0 150 500 1200 2300 4000 7000; do
	dvm-run -- sleep 100 </dev/null >/dev/null 2>&1 &
	pid=$!
	usleep $((ms * 1000))
	kill -9 $pid
	wait $pid 2>/dev/null
	dvm-create -G 2>/dev/null
	check "dvm-run killed after $ms ms, gc: nothing left" \
		sh -c '[ -z "$(xenstore-list /litedvm/disp 2>/dev/null)" ]'
done
clean "after SIGKILL of dvm-run"
for ms in 0 800 2500 4000; do
	rm -f made.txt
	setsid dvm-create </dev/null >made.txt 2>/dev/null &
	pid=$!
	usleep $((ms * 1000))
	kill -9 -- -$pid 2>/dev/null || kill -9 $pid
	wait $pid 2>/dev/null
	dvm-create -G 2>/dev/null
	# Finished before the kill: it is a live disposable; end it by name.
	if [ -s made.txt ]; then
		d=$(cat made.txt)
		xl destroy "$d"
		./xswait "/litedvm/disp/$d" -absent 30
	fi
	check "dvm-create killed after $ms ms, gc: nothing left" \
		sh -c '[ -z "$(xenstore-list /litedvm/disp 2>/dev/null)" ]'
done
clean "after SIGKILL of dvm-create"
