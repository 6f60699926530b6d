# Names of one's own (dvm-create -N), users (dvm-run -u) and a template's
# default time limit (litedvm_timeout).  Runs in the emulated dom0
# (tests/xen/run).
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
snapdir=/var/lib/litedvm/templates/default

no_snapshots() {
	left=$(ls "$snapdir" "$snapdir/.litedvm" 2>/dev/null | grep -- '-xvd' || true)
	check "$1: no snapshot files${left:+ (left: $left)}" test -z "$left"
}
clean() {
	check_clean "$1"
	no_snapshots "$1"
	# xenconsoled logs every guest's console (dom0-init's --log=guest);
	# only the ordinary guest's may stay.
	logs=$(ls /var/log/xen/console 2>/dev/null | grep -v '^guest-notdisp' || true)
	check "$1: no console log left${logs:+ (left: $logs)}" test -z "$logs"
}

# ---- names of one's own (dvm-create -N)
out=$(dvm-create -N mail_1)
check "dvm-create -N prints the name ($out)" test "$out" = mail_1
check "the domain has that name" sh -c "xl list | grep -q '^mail_1 '"
check "its record has that name" xenstore-exists /litedvm/disp/mail_1/state
out=$(dvm-run -n mail_1 -- echo named)
check "dvm-run -n runs in it" test "$out" = named
check "dvm-preload -l lists it by its name" \
	sh -c "dvm-preload -l | grep -q '^mail_1 '"
ls /var/lib/litedvm/templates/default/.litedvm > named.vols 2>&1
check "its volumes carry its name" grep -q '^mail_1-xvda' named.vols
dvm-create -N mail_1 > /dev/null 2> err.txt
rc=$?
check "a name taken by a disposable is refused (status $rc, $(cat err.txt))" \
	sh -c "test $rc = 1 && grep -q 'mail_1 is taken' err.txt"
dvm-create -N Domain-0 > /dev/null 2> err.txt
rc=$?
check "a name with '-' is a usage error (status $rc)" test "$rc" = 2
check "... naming -N and the rule" grep -q -- '-N Domain-0: not a disposable name' err.txt
check "... with the usage" grep -q '^usage: dvm-create' err.txt
start_guest notdisp
dvm-create -N notdisp > /dev/null 2> err.txt
rc=$?
check "a name taken by another domain is refused (status $rc, $(cat err.txt))" \
	sh -c "test $rc = 1 && grep -q 'notdisp is taken by domain' err.txt"
stop_guests notdisp
check "nothing was made for the refused names" sh -c \
	"test \"\$(xenstore-list /litedvm/disp)\" = mail_1"
# A host crash: the record is gone, the volume of the named one is not.
xl destroy mail_1
./xswait /litedvm/disp/mail_1 -absent 30
check "xl destroy ends the named one" test $? = 0
clean "after a named disposable"
mkdir -p /var/lib/litedvm/templates/default/.litedvm
cp --reflink=always /var/lib/litedvm/templates/default/root.img \
	/var/lib/litedvm/templates/default/.litedvm/mail_2-xvda.img
dvm-create -G 2> gc.txt
check "gc removes a named disposable's leftover volume ($(cat gc.txt))" \
	test ! -e /var/lib/litedvm/templates/default/.litedvm/mail_2-xvda.img

# ---- users (dvm-run -u)
d=$(dvm-create)
out=$(dvm-run -n "$d" -- sh -c 'id -u; pwd; echo "$HOME $USER $LOGNAME"')
check "the default user is root, in root's home ($out)" \
	test "$out" = "$(printf '0\n/root\n/root root root')"
out=$(dvm-run -u user -n "$d" -- sh -c 'id -u; id -G; pwd; echo "$HOME $USER $LOGNAME $SHELL"')
check "-u user runs as that user, its groups, home and environment ($out)" \
	test "$out" = "$(printf '1000\n1000 44\n/home/user\n/home/user user user /bin/sh')"
out=$(dvm-run -u user -n "$d" -- sh -c 'touch /root/x' 2>&1)
rc=$?
check "... without root's rights (status $rc)" test "$rc" != 0
dvm-run -u nosuch -n "$d" -- true > out.txt 2> err.txt
rc=$?
check "an unknown user fails the run with 125 ($rc)" test "$rc" = 125
check "... saying so ($(cat err.txt))" grep -q 'no user nosuch in the disposable' err.txt
dvm-run -u -rf -n "$d" -- true 2> err.txt
rc=$?
check "a bad user name is a usage error, 125 ($rc)" test "$rc" = 125
check "... naming it" grep -q -- '-u -rf: not a user name' err.txt
out=$(dvm-run -u user -- id -un)
check "-u works in a fresh disposable too ($out)" test "$out" = user
xl destroy "$d"
./xswait "/litedvm/disp/$d" -absent 30
clean "after dvm-run -u"

# ---- a disposable destroyed while its command runs: dvm-run ends with
# 125 at once and says why, whether the domain died in the command's first
# half second (found by the look taken as @releaseDomain is watched, then)
# or later (found by that watch).  The command would run for two minutes.
# dvm-create's owner destroys it as well, while xl destroy still does: its
# record must go all the same (libxl's second destroy of a dying domain
# fails; in one test host that left 2 records in 10 early deaths), so the
# early death is tried three times.
for after in 0 0 0 1; do
	d=$(dvm-create)
	rm -f run.fifo
	mkfifo run.fifo
	( elapsed dvm-run --timeout 60 -n "$d" -- sh -c "sleep $after; echo up; exec sleep 120" \
	    > run.fifo 2> died.txt; echo $? > rc.txt ) &
	pid=$!
	read -r line < run.fifo
	xl destroy "$d"
	wait "$pid"
	ms=$(sed -n 's/^elapsed \([0-9]*\).*/\1/p' died.txt)
	check "$d destroyed ${after} s into its command: dvm-run ends with 125 ($(cat rc.txt), $line)" \
		test "$(cat rc.txt)" = 125
	check "... saying the disposable died ($(grep -v '^elapsed\|^cpu\|^host' died.txt))" \
		grep -q "^dvm-run: $d: the disposable died" died.txt
	check "... within 30 s of a 2 min command (${ms:-?} ms)" \
		test "${ms:-999999}" -lt 30000
	check "... and its record goes" ./xswait "/litedvm/disp/$d" -absent 30
done
rm -f run.fifo
clean "after disposables destroyed during a command"

# ---- the next listener, set up beside a session, takes only idle CPU,
# for 100 ms at most (dvm-agent(8)): a command that never leaves the CPU
# idle delays the next session into its disposable little, and no session
# or command runs at idle priority (policy 0 is SCHED_OTHER, 5 SCHED_IDLE).
# sessions3 FILE: three sessions' times (ms) into disposable $d, sorted.
sessions3() {
	for i in 1 2 3; do
		elapsed dvm-run -n "$d" -- true 2> e.txt
		sed -n 's/^elapsed \([0-9]*\).*/\1/p' e.txt
	done | sort -n > "$1"
}
policy='echo $(cut -d" " -f41 /proc/$$/stat)'
d=$(dvm-create)
sessions3 base.txt
base=$(sed -n 2p base.txt)
out=$(dvm-run -n "$d" -- sh -c "$policy")
check "a command runs at normal priority ($out)" test "$out" = 0
rm -f hog.fifo
mkfifo hog.fifo
dvm-run -n "$d" -- sh -c 'echo busy; while :; do :; done' > hog.fifo &
hog=$!
read -r line < hog.fifo
check "a command keeps the disposable's CPU busy ($line)" test "$line" = busy
# With the 100 ms bound this took 6.4 times the idle run here, without
# it 23 times.  The fastest of three is compared: one run beside another
# emulated host once took 16 times (CI, stop 42), while a missing bound
# slows every run.
sessions3 busy.txt
busy=$(sed -n 1p busy.txt)
check "... a session beside it waits little ($(echo $(cat busy.txt)) ms, idle: $base ms)" \
	test "${busy:-99999}" -lt $((base * 15))
out=$(dvm-run -n "$d" -- sh -c "$policy")
check "... and runs at normal priority ($out)" test "$out" = 0
kill "$hog"
wait "$hog"
rm -f hog.fifo
xl destroy "$d"
./xswait "/litedvm/disp/$d" -absent 30
clean "after the busy disposable"

# ---- a template's default limit (litedvm_timeout); --timeout 0 lifts it.
sed '/^litedvm_/d' /etc/litedvm/default.cfg > /etc/litedvm/limited.cfg
printf '%s\n' 'litedvm_dispvm_template = 1' 'litedvm_timeout = 3' \
	>> /etc/litedvm/limited.cfg
dvm-run -t limited -- sh -c 'trap "" TERM; exec sleep 1000' 2> err.txt
rc=$?
check "litedvm_timeout ends a command with 124 ($rc)" test "$rc" = 124
check "... saying so ($(cat err.txt))" grep -q "timed out after 3 s" err.txt
dvm-run -t limited --timeout 0 -- sleep 5
rc=$?
check "--timeout 0 lifts the template's limit ($rc)" test "$rc" = 0
rm -f /etc/litedvm/limited.cfg
clean "after litedvm_timeout"
