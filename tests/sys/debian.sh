# A real Debian 12 guest as a disposable template: systemd as PID 1, its
# own kernel and initramfs, the guest side installed as README says (make
# install-guest).  Cold and pooled runs, a named disposable, a pty,
# dvm-open from an ordinary Debian guest, networking on a bridge, SIGKILL
# and gc.  Runs in the emulated dom0 (tests/xen/run); the template is
# built by tests/xen/debian.sh.  A Debian boot costs a minute of emulated
# CPU, so the test boots as few as it can, six in all, and never more
# than two at once.
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
cfg=/etc/litedvm
deb=/var/lib/litedvm/debian
tmac=00:16:3e:0a:0b:0c

snapshots() { ls $deb $deb/.litedvm 2>/dev/null | grep "^disp" || true; }
ms_of() { sed -n "s/^dvm-[a-z]*: disp[0-9]*: $1 *\([0-9]*\) ms$/\1/p" "$2" | tail -n 1; }
records() { xenstore-list /litedvm/disp 2>/dev/null | wc -l; }
pool_size() { xenstore-list /litedvm/pool/debpool 2>/dev/null | wc -l; }
# The interface's MAC of a domain, as its backend in dom0 has it.
mac_of() { xenstore-read "/local/domain/0/backend/vif/$(xl domid "$1")/0/mac"; }
# The link-local IPv6 address a MAC gives (EUI-64).
ll() {
	set -- $(echo "$1" | tr : ' ')
	printf 'fe80::%x:%x:%x:%x\n' $(( ((0x$1 ^ 2) << 8) | 0x$2 )) \
		$(( (0x$3 << 8) | 0xff )) $(( 0xfe00 | 0x$4 )) $(( (0x$5 << 8) | 0x$6 ))
}
# reach FROM ADDRESS: FROM (a disposable, or dom0) pings ADDRESS; a few
# tries, as a fresh interface's address is tentative for a moment.
reach() {
	i=0
	while [ $i -lt 15 ]; do
		if [ "$1" = dom0 ]; then
			ping6 -c 1 -W 2 -I xenbr0 "$2" >/dev/null 2>&1 && return 0
		else
			dvm-run -n "$1" -- sh -c 'ping -6 -c 1 -W 2 "$1%$(ls /sys/class/net | grep -v -x lo | head -n 1)"' \
			    sh "$2" >/dev/null 2>&1 && return 0
		fi
		i=$((i + 1))
	done
	return 1
}

# ---- the templates: debian on the bridge with a MAC of its own, which
# its disposables must never take; a pooled variant; an ordinary guest
brctl addbr xenbr0
ip link set xenbr0 up
echo "vif = [ \"mac=$tmac, bridge=xenbr0\" ]" >> $cfg/debian.cfg
sed -e 's/^name.*/name = "debpool"/' $cfg/debian.cfg > $cfg/debpool.cfg
cat >> $cfg/debpool.cfg <<'CFG'
litedvm_preload = 1
litedvm_open_command = [ "/bin/sh", "-c", "echo edited-in-debian >> \"$1\"", "opener", "%f" ]
CFG
cp --reflink=always $deb/root.img $deb/work.img
sed -e 's/^name.*/name = "debwork"/' -e "s|target=[^\"]*|target=$deb/work.img|" \
    -e '/^litedvm/d' -e '/^vif/d' $cfg/debian.cfg > /tmp/debwork.cfg

# ---- boot 1, cold: stdio and exit status pass through; systemd is PID 1
printf 'through stdin\n' | dvm-run -v -t debian -- \
	sh -c 'cat /proc/1/comm; cat; echo to-stderr >&2; exit 7' > out.txt 2> err.txt
rc=$?
sed 's/^/# /' err.txt
check "cold run: the command's exit status 7 passes through ($rc)" test "$rc" = 7
check "cold run: PID 1 of the disposable is systemd" \
	test "$(head -n 1 out.txt)" = systemd
check "cold run: standard input reaches the command" \
	test "$(sed -n 2p out.txt)" = "through stdin"
check "cold run: standard error comes back apart" grep -q -x to-stderr err.txt
check "cold run: volumes by reflink" grep -q 'volumes by reflink' err.txt
cold_ready=$(ms_of 'boot to agent ready' err.txt)
check_clean "after a cold Debian run"
check "after a cold Debian run: no snapshot files ($(snapshots))" test -z "$(snapshots)"
vifs=$(ip -o link | grep -o 'vif[0-9.]*' || true)
check "after a cold Debian run: its vif is gone${vifs:+ ($vifs)}" test -z "$vifs"

# ---- boots 2 and 3 at once: an ordinary guest, a named disposable
xl create -q /tmp/debwork.cfg
d=$(dvm-create -t debian)
check "dvm-create prints the disposable's name ($d)" test -n "$d"
[ -n "$d" ] || d=none

# ---- the named disposable: stdio, exit codes, a pty
out=$(echo abc | dvm-run -n "$d" -- tr a-z A-Z)
check "named: stdin to stdout ($out)" test "$out" = ABC
dvm-run -n "$d" -- sh -c 'exit 3'
check "named: exit status 3" test $? = 3
dvm-run -n "$d" -- /nonexistent 2>/tmp/missing.err
rc=$?
check "named: a missing command is 127 ($rc)" test $rc = 127
[ $rc = 127 ] || sed 's/^/# /' /tmp/missing.err
dvm-run -n "$d" -- sh -c 'kill -TERM $$'
check "named: a command killed by SIGTERM is 143" test $? = 143
# README's one package for the guest side: what its tools load, as the
# guest's own ld.so sees it.  dvm-open is linked statically: none.
t=/usr/local/sbin/dvm-agent
libs=$(dvm-run -n "$d" -- ldd "$t" | awk '$1 !~ /^(linux-vdso|\/lib64\/ld-linux)/ { printf "%s%s", s, $1; s = " " }')
check "named: $t loads only libc, libxenstore, libxentoolcore ($libs)" \
	test "$(echo "$libs" | tr ' ' '\n' | sort | tr '\n' ' ')" = \
	"libc.so.6 libxenstore.so.4 libxentoolcore.so.1 "
t=/usr/local/bin/dvm-open
libs=$(dvm-run -n "$d" -- ldd "$t" 2>&1)
check "named: $t is linked statically, it loads no library ($libs)" \
	sh -c 'echo "$1" | grep -q "not a dynamic executable"' - "$libs"
state=$(dvm-run -n "$d" -- systemctl is-system-running --wait)
check "named: systemd reached a running system ($state)" \
	test "$state" = running -o "$state" = degraded
ptyrun 'echo typed-$((40+2)); stty size' 'tty; exit 5' \
	-- dvm-run -n "$d" -- sh > tty.out 2>&1
rc=$?
check "named: an interactive shell on a pty exits 5 ($rc)" test "$rc" = 5
check "named: typed input ran" grep -q typed-42 tty.out
check "named: the pty has the terminal's size (30 100)" grep -q '^30 100' tty.out
check "named: the command has a pty" grep -q '^/dev/pts/' tty.out

# ---- boot 4 fills the pool; pooled: no boot on the caller's path
# (boot 5 refills)
dvm-preload -v -t debpool 2> fill.txt
sed 's/^/# /' fill.txt
check "dvm-preload fills the Debian pool ($(pool_size))" test "$(pool_size)" = 1
check "dvm-preload -v says how long the member's first session took" \
	grep -q 'first session over after [0-9]* ms' fill.txt
./xswait /litedvm/disp -count=2 60
elapsed dvm-run -v -t debpool -- true > /dev/null 2> pooled.txt
rc=$?
sed 's/^/# /' pooled.txt
check "pooled run exits 0 ($rc)" test "$rc" = 0
check "pooled run came from the pool" grep -q 'from the preload pool' pooled.txt
pooled=$(sed -n 's/^elapsed \([0-9]*\).*/\1/p' pooled.txt)

# ---- dvm-open from the ordinary Debian guest into a pooled Debian
# disposable (boot 6 refills)
work=$(xl domid debwork)
./xswait "/local/domain/$work/data/litedvm/listen" -present 600
check "the ordinary Debian guest's agent is ready" test $? = 0
./xswait /litedvm/pool/debpool -count=1 600
./xswait /litedvm/disp -count=2 60
echo 'debwork debpool' > $cfg/open.policy
dvm-opend > opend.log 2>&1 &
opend=$!
printf 'line one\n' | guestrun "$work" sh -c 'cat > /root/doc.txt'
guestrun "$work" dvm-open /root/doc.txt 2> open.err
rc=$?
check "dvm-open in a Debian guest: edited and replaced, exit 3 ($rc: $(cat open.err))" \
	test "$rc" = 3
got=$(guestrun "$work" cat /root/doc.txt | tr '\n' '|')
check "dvm-open: the original holds exactly the edit ($got)" \
	test "$got" = "line one|edited-in-debian|"
kill -TERM $opend
wait $opend
xl destroy debwork
rm -f $deb/work.img

# ---- networking: the named disposable and a pooled one on the bridge
./xswait /litedvm/pool/debpool -count=1 600
./xswait /litedvm/disp -count=2 60
mkfifo started
dvm-run -t debpool -- sh -c 'echo started $(systemctl is-system-running); exec sleep 1000' > started &
run=$!
read -r line < started
check "a pooled command runs ($line)" test "${line%% *}" = started
# The member was paused with its boot over (its first session waited),
# not woken into the rest of it.
check "the pooled member's boot was over when it was claimed ($line)" \
	test "$line" = "started running" -o "$line" = "started degraded"
p=$(xenstore-list /litedvm/disp | while read -r r; do
	[ "$r" != "$d" ] && [ "$(xenstore-read /litedvm/disp/$r/state)" = running ] && echo "$r"; done)
m1=$(mac_of "$d")
m2=$(mac_of "$p")
check "network: two disposables have MACs of their own ($m1, $m2)" \
	test -n "$m1" -a -n "$m2" -a "$m1" != "$m2"
check "network: neither has the template's MAC ($tmac)" \
	test "$m1" != $tmac -a "$m2" != $tmac
ports=$(ls /sys/class/net/xenbr0/brif 2>/dev/null | grep -c "^vif")
check "network: both interfaces are on the bridge ($ports)" test "$ports" = 2
check "network: dom0 reaches $d at $(ll "$m1")" reach dom0 "$(ll "$m1")"
check "network: $d reaches $p at $(ll "$m2")" reach "$d" "$(ll "$m2")"

# ---- SIGKILL of dvm-run while its command runs: the refill helper
# started beside the command collects its disposable (a gc run meanwhile
# leaves it to the helper) and refills the pool
kill -KILL $run
wait $run 2>/dev/null
dvm-create -G
check "gc after SIGKILL of dvm-run exits 0" test $? = 0
./xswait "/litedvm/disp/$p" -absent 120
check "the killed run's disposable is collected ($p)" test $? = 0

# ---- xl shutdown: a real distribution's init honours it; the owner of
# the named disposable removes everything
xl shutdown "$d"
./xswait "/litedvm/disp/$d" -absent 120
check "named: after xl shutdown its owner removed the record" test $? = 0
./xswait /litedvm/pool/debpool -count=1 600
check "the killed run's helper refilled the Debian pool" test $? = 0
sed -i 's/^litedvm_preload.*/litedvm_preload = 0/' $cfg/debpool.cfg
dvm-preload -q -t debpool
check "dvm-preload empties a pool whose template now keeps none" \
	test "$(pool_size)" = 0
./xswait /litedvm/disp -count=0 120
check_clean "at the end"
check "at the end: no snapshot files ($(snapshots))" test -z "$(snapshots)"
vifs=$(ip -o link | grep -o 'vif[0-9.]*' || true)
check "at the end: no vif left${vifs:+ ($vifs)}" test -z "$vifs"

# ---- figures (not checks)
echo "# debian: cold boot to agent ready ${cold_ready} ms; pooled dvm-run -- true to exit status ${pooled} ms"
[ -n "$pooled" ] && [ -n "$cold_ready" ] && awk "BEGIN { printf \"# debian: cold boot-to-ready / pooled run: %.1fx\n\", $cold_ready / $pooled }"
exit 0
