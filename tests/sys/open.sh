# dvm-open: files of ordinary guests opened in disposables, edits coming
# back, the policy, hostile requests and hostile disposables.  Two ordinary
# guests, "work" and "other", run beside dom0's dvm-opend; guestrun acts as
# their user.  Runs in the emulated dom0 (tests/xen/run).
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
cfg=/etc/litedvm
lib=/var/lib/litedvm

# ---- templates whose openers edit, only look, overflow, or die
opener() {
	sed -e '/^name/d' $cfg/default.cfg > "$cfg/$1.cfg"
	printf 'litedvm_open_command = [ "/bin/sh", "-c", "%s", "opener", "%%f" ]\n' \
		"$2" >> "$cfg/$1.cfg"
}
opener editor 'echo edited-in-disp >> \"$1\"'
opener viewer 'cat \"$1\" > /dev/null'
opener big 'head -c 2097152 /dev/zero >> \"$1\"'
opener dying 'echo more >> \"$1\"; poweroff -f'
opener slow 'exec sleep 1000'
# Edits once the test says so: the original is changed in between.
opener waitedit 'xenstore-write data/waiting 1; until xenstore-read data/go; do sleep 0.2; done; echo edited >> \"$1\"'
opener agentkill 'echo more >> \"$1\"; killall -9 dvm-agent'
# Swap the file for a link to another file, or for a FIFO.
opener symlink 'rm \"$1\"; ln -s /etc/passwd \"$1\"'
opener fifo 'rm \"$1\"; mkfifo \"$1\"'
# Runs (a copy of) the file itself as a script: dvm-open from inside.
opener script 'cp \"$1\" /tmp/s.sh; exec sh /tmp/s.sh \"$1\"'
# Appends the program its parent runs: the session's (dvm-agent's builtin).
opener whoruns 'readlink /proc/$PPID/exe >> \"$1\"'
# Holds the session until the test says so, changing nothing.
opener hold 'xenstore-write data/waiting 1; until xenstore-read data/go; do sleep 0.2; done'
# Detaches: returns at once, a background process edits later (the user).
opener detach 'exec 3>>\"$1\"; (sleep 2; echo detached >&3) & exit 0'
echo 'litedvm_open_done = "close"' >> $cfg/detach.cfg
sed -e 's/^litedvm_dispvm_template.*/litedvm_dispvm_template = 0/' \
	$cfg/editor.cfg > $cfg/plain.cfg
cat > $cfg/open.policy <<'EOF'
# guest  default  others
work     editor   viewer big dying plain slow detach agentkill waitedit symlink fifo script whoruns
other    viewer
EOF
# The policy above plus $1 (a "*" or an "@disposable" line, or nothing).
policy() {
	sed -i -e '/^\*/d' -e '/^@disposable/d' $cfg/open.policy
	[ -z "$1" ] || echo "$1" >> $cfg/open.policy
}
echo 'open_max_size = "1M"' >> $cfg/litedvm.conf

# ---- two ordinary guests, each with its own copy of the root volume
start_guest work
start_guest other
work=$(xl domid work)
other=$(xl domid other)
in_work() { guestrun "$work" "$@"; }
in_other() { guestrun "$other" "$@"; }

# A policy that others may write is not trusted: the service refuses to start.
chmod 666 $cfg/open.policy
dvm-opend > unsafe.log 2>&1
rc=$?
check "a world-writable open.policy: dvm-opend refuses to start ($rc)" test "$rc" != 0
check "it names the unsafe mode ($(cat unsafe.log))" grep -q "unsafe owner or mode" unsafe.log
chmod 644 $cfg/open.policy

dvm-opend > opend.log 2>&1 &
opend=$!

no_disposables() {
	recs=$(xenstore-list /litedvm/disp 2>/dev/null || true)
	check "$1: no disposable records${recs:+ (left: $recs)}" test -z "$recs"
	doms=$(xl list | awk 'NR > 1 { print $1 }' | grep -v -x -e Domain-0 \
		-e work -e other || true)
	check "$1: no disposable domains${doms:+ (left: $doms)}" test -z "$doms"
	snaps=$(ls $lib/templates/default $lib/templates/default/.litedvm 2>/dev/null | grep "^disp" || true)
	check "$1: no snapshot files${snaps:+ (left: $snaps)}" test -z "$snaps"
	nodes=$(xenstore-list "/local/domain/$work/data/litedvm/open" 2>/dev/null || true)
	check "$1: nothing left in the guest's request area${nodes:+ ($nodes)}" \
		test -z "$nodes"
}
sum() { in_work sha256sum "$1" | cut -d' ' -f1; }
next_disp() { echo "disp$(xenstore-read /litedvm/next)"; }
ino() { in_work stat -c %i "$1"; }

# ---- round trip: the opener appends a line; the original is replaced
printf 'line one\nline two\n' | in_work sh -c 'cat > /root/doc.txt'
in_work dvm-open /root/doc.txt 2> err.txt
rc=$?
check "edited file: dvm-open exits 3 ($rc: $(cat err.txt))" test "$rc" = 3
printf 'line one\nline two\nedited-in-disp\n' > want.txt
in_work cat /root/doc.txt > got.txt
check "edited file: the original now holds exactly the edited content" \
	cmp -s want.txt got.txt
left=$(in_work ls -A /root | grep -v -x doc.txt || true)
check "edited file: no temporary file left beside it${left:+ ($left)}" \
	test -z "$left"
no_disposables "after an edit"

# ---- the disposable's agent runs dom0's `dvm-open --session` itself
in_work sh -c 'echo who > /root/who.txt'
in_work dvm-open -t whoruns /root/who.txt 2> err.txt
rc=$?
who=$(in_work tail -n 1 /root/who.txt)
in_work rm -f /root/who.txt
check "session in the agent: dvm-open exits 3 ($rc: $(cat err.txt))" \
	test "$rc" = 3
check "session in the agent: the opener's parent runs dvm-agent ($who)" \
	test "${who##*/}" = dvm-agent
dvm-run -t viewer -- dvm-open --session --put > out.txt 2> err.txt
rc=$?
check "session in the agent: a usage error exits 2 ($rc)" test "$rc" = 2
check "session in the agent: it names dvm-open ($(head -n 1 err.txt))" \
	grep -q '^dvm-open: no name given' err.txt
check "session in the agent: the usage is dvm-open's" \
	grep -q '^usage: dvm-open ' err.txt
no_disposables "after the sessions in the agent"

# ---- view-only: the same editing opener, the original untouched
before=$(sum /root/doc.txt)
in_work dvm-open --view-only /root/doc.txt 2> err.txt
rc=$?
check "view-only: dvm-open exits 0 ($rc: $(cat err.txt))" test "$rc" = 0
check "view-only: the original is byte-identical" \
	test "$(sum /root/doc.txt)" = "$before"

# ---- unchanged: nothing written back, the same inode
i1=$(ino /root/doc.txt)
m1=$(in_work stat -c %Y.%y /root/doc.txt)
in_work dvm-open -t viewer /root/doc.txt 2> err.txt
rc=$?
check "unchanged file: dvm-open exits 0 ($rc: $(cat err.txt))" test "$rc" = 0
check "unchanged file: same inode" test "$(ino /root/doc.txt)" = "$i1"
check "unchanged file: same modification time" \
	test "$(in_work stat -c %Y.%y /root/doc.txt)" = "$m1"
no_disposables "after view-only and unchanged"

# ---- a directory that cannot be written: saved elsewhere, and said where
in_work sh -c 'mkdir -p /mnt/ro && mount -t tmpfs ro /mnt/ro &&
	echo readonly > /mnt/ro/r.txt && mount -o remount,ro /mnt/ro'
in_work dvm-open /mnt/ro/r.txt 2> err.txt
rc=$?
check "read-only directory: dvm-open exits 4 ($rc: $(cat err.txt))" test "$rc" = 4
saved=$(sed -n 's/.*the edited file is //p' err.txt)
check "read-only directory: dvm-open names where it saved ($saved)" \
	test -n "$saved"
printf 'readonly\nedited-in-disp\n' > want.txt
in_work cat "$saved" > got.txt 2>/dev/null
check "read-only directory: the saved file holds the edit" cmp -s want.txt got.txt
check "read-only directory: the original is untouched" \
	test "$(in_work cat /mnt/ro/r.txt)" = readonly

# ---- policy: a template the guest is not granted; a guest with no rights
in_work dvm-open -t default /root/doc.txt 2> err.txt
rc=$?
check "ungranted template: refused with exit 1 ($rc)" test "$rc" = 1
check "ungranted template: the refusal says why" \
	grep -q 'may not use template default' err.txt
check "ungranted template: dom0 logged the refusal" \
	grep -q 'refused a request of work.*template default' opend.log
in_work dvm-open -t plain /root/doc.txt 2> err.txt
check "a template not for disposables is refused ($(cat err.txt))" \
	grep -q 'not for disposables' err.txt
echo other > other.txt
in_other sh -c 'echo other > /root/o.txt'
in_other dvm-open -t editor /root/o.txt 2> err.txt
rc=$?
check "guest other may not use editor: exit 1 ($rc)" test "$rc" = 1
check "guest other is unchanged after the refusal" \
	test "$(in_other cat /root/o.txt)" = other

# ---- size limits: a file over the limit; a disposable sending too much
in_work sh -c 'head -c 1100000 /dev/zero > /root/big.bin'
in_work dvm-open /root/big.bin 2> err.txt
rc=$?
check "file over open_max_size: refused, exit 1 ($rc)" test "$rc" = 1
check "file over open_max_size: the limit is named" grep -q 'limit' err.txt
before=$(sum /root/doc.txt)
in_work dvm-open -t big /root/doc.txt 2> err.txt
rc=$?
check "disposable sending 2 MiB back: exit 1 ($rc: $(cat err.txt))" test "$rc" = 1
check "disposable sending too much: the limit is named" grep -q 'limit' err.txt
check "disposable sending too much: the original is untouched" \
	test "$(sum /root/doc.txt)" = "$before"
in_work dvm-open -t dying /root/doc.txt 2> err.txt
rc=$?
check "disposable dying mid-session: exit 1 ($rc: $(cat err.txt))" test "$rc" = 1
check "disposable dying mid-session: the guest is told in general terms" \
	grep -q 'the session in the disposable failed' err.txt
check "disposable dying mid-session: no dom0 detail reaches the guest" \
	sh -c "! grep -q -e libxl -e /var/ -e 'disp[0-9]' -e 'domain [0-9]' err.txt"
check "disposable dying mid-session: the original is untouched" \
	test "$(sum /root/doc.txt)" = "$before"
in_work dvm-open -t agentkill /root/doc.txt 2> err.txt
rc=$?
check "disposable's agent killed mid-request: exit 1 ($rc: $(cat err.txt))" test "$rc" = 1
check "disposable's agent killed mid-request: the original is untouched" \
	test "$(sum /root/doc.txt)" = "$before"
for how in symlink fifo; do
	timeout 300 guestrun "$work" dvm-open -t $how /root/doc.txt 2> err.txt
	rc=$?
	check "opener leaving a $how: refused, exit 1 ($rc: $(cat err.txt))" \
		test "$rc" = 1
	check "opener leaving a $how: the original is untouched" \
		test "$(sum /root/doc.txt)" = "$before"
done
left=$(in_work ls -A /root | grep -v -x -e doc.txt -e big.bin || true)
check "no temporary files left in the guest${left:+ ($left)}" test -z "$left"
no_disposables "after failed sessions"

# ---- what dvm-open takes in the guest, and what it writes back
in_work mkfifo /root/f.fifo
timeout 60 guestrun "$work" dvm-open /root/f.fifo 2> err.txt
rc=$?
check "a FIFO in the guest: refused at once, exit 1 ($rc: $(cat err.txt))" \
	test "$rc" = 1
check "a FIFO in the guest: not a regular file" grep -q 'not a regular file' err.txt
in_work rm -f /root/f.fifo
in_work sh -c 'echo suid > /root/suid.txt; chmod 6755 /root/suid.txt'
in_work dvm-open /root/suid.txt 2> err.txt
rc=$?
check "set-ID file: edited, exit 3 ($rc: $(cat err.txt))" test "$rc" = 3
check "set-ID file: the result has no set-ID bits" \
	test "$(in_work stat -c %a /root/suid.txt)" = 755
in_work rm -f /root/suid.txt

# ---- one lock for root and users alike, wherever it may be created
in_work sh -c 'echo "user:x:1000:1000:user:/tmp:/bin/sh" >> /etc/passwd
	chmod 666 /dev/xen/xenbus /dev/xen/evtchn /dev/xen/gntalloc /dev/xen/gntdev
	rm -f /run/litedvm-open.lock /tmp/.litedvm-open.lock
	echo user > /tmp/u.txt; chown user /tmp/u.txt'
in_work su user -c 'dvm-open -t viewer /tmp/u.txt' 2> err.txt
rc=$?
check "no lock file yet: a user's dvm-open refuses, exit 1 ($rc: $(cat err.txt))" \
	test "$rc" = 1
check "no lock file yet: the refusal names /run/litedvm-open.lock" \
	grep -q /run/litedvm-open.lock err.txt
left=$(in_work ls -A /tmp | grep lock || true)
check "no lock file yet: no other lock file was made${left:+ ($left)}" \
	test -z "$left"
in_work dvm-open -t viewer /root/doc.txt 2> err.txt
rc=$?
check "root's dvm-open makes the lock file ($rc: $(cat err.txt))" test "$rc" = 0
check "the lock file is root's and readable by all" \
	test "$(in_work stat -c %a:%U /run/litedvm-open.lock)" = 444:root
name=$(next_disp)
in_work su user -c 'dvm-open -t waitedit /tmp/u.txt' > /dev/null 2> uerr.txt &
userrun=$!
./xswait "/litedvm/disp/$name/state" running 120
check "a user's dvm-open runs a session" test $? = 0
id=$(xenstore-read "/litedvm/disp/$name/domid")
./xswait "/local/domain/$id/data/waiting" 1 60
in_work dvm-open -t viewer /root/doc.txt > /dev/null 2> err.txt &
rootrun=$!
# No event tells that a process sleeps in flock: the kernel lists it.
i=0
while [ $i -lt 150 ] && ! in_work grep -q -e '->' /proc/locks; do
	sleep 0.2
	i=$((i + 1))
done
check "root's dvm-open waits for the user's session: one lock" \
	in_work grep -q -e '-> FLOCK' /proc/locks
xenstore-write "/local/domain/$id/data/go" 1
wait $userrun
rc=$?
check "the user's session ends with the edit, exit 3 ($rc: $(cat uerr.txt))" \
	test "$rc" = 3
wait $rootrun
rc=$?
check "after the user's session, root's runs (exit $rc: $(cat err.txt))" \
	test "$rc" = 0
in_work rm -f /tmp/u.txt
./xswait /litedvm/disp -count=0 60
no_disposables "after root and user sessions"

# ---- an opener that detaches, with litedvm_open_done = "close"
printf 'start\n' | in_work sh -c 'cat > /root/det.txt'
in_work dvm-open -t detach /root/det.txt 2> err.txt
rc=$?
check "detaching opener: dvm-open waits for the close, exit 3 ($rc: $(cat err.txt))" \
	test "$rc" = 3
check "detaching opener: the late edit came back" \
	test "$(in_work cat /root/det.txt)" = "$(printf 'start\ndetached')"

# ---- the original changes during the session: the edit never overwrites it
printf 'base\n' | in_work sh -c 'cat > /root/race.txt'
name=$(next_disp)
in_work dvm-open -t waitedit /root/race.txt 2> err.txt &
runner=$!
./xswait "/litedvm/disp/$name/state" running 120
id=$(xenstore-read "/litedvm/disp/$name/domid")
./xswait "/local/domain/$id/data/waiting" 1 60
in_work sh -c 'echo concurrent >> /root/race.txt'
xenstore-write "/local/domain/$id/data/go" 1
wait $runner
rc=$?
check "original changed meanwhile: dvm-open exits 4 ($rc: $(cat err.txt))" \
	test "$rc" = 4
check "original changed meanwhile: it keeps the concurrent write" \
	test "$(in_work cat /root/race.txt)" = "$(printf 'base\nconcurrent')"
check "original changed meanwhile: the edit is saved beside it" \
	test "$(in_work cat /root/race.txt.edited)" = "$(printf 'base\nedited')"
in_work rm -f /root/race.txt /root/race.txt.edited

# ---- killed mid-session: the guest's dvm-open, then dom0's worker
name=$(next_disp)
in_work sh -c 'dvm-open -t slow /root/doc.txt & echo $! > /tmp/dvm-open.pid; wait' &
runner=$!
./xswait "/litedvm/disp/$name/state" running 120
in_work sh -c 'kill -9 $(cat /tmp/dvm-open.pid)'
wait $runner
./xswait /litedvm/disp -count=0 60
check "guest's dvm-open killed: its disposable is gone" \
	test "$(xenstore-list /litedvm/disp 2>/dev/null | wc -l)" = 0
in_work dvm-open -t viewer /root/doc.txt 2> err.txt
rc=$?
check "after a killed dvm-open, the next one works ($rc: $(cat err.txt))" \
	test "$rc" = 0
no_disposables "after killing the guest's dvm-open"

workers() {
	for p in /proc/[0-9]*; do
		grep -q "^PPid:[[:space:]]*$opend\$" "$p/status" 2>/dev/null &&
			echo "${p#/proc/}"
	done
}
before=$(sum /root/doc.txt)
name=$(next_disp)
in_work dvm-open -t slow /root/doc.txt 2> err.txt &
runner=$!
./xswait "/litedvm/disp/$name/state" running 120
w=$(workers)
check "one worker serves the request (${w:-none})" test -n "$w"
kill -9 $w
wait $runner
rc=$?
check "worker killed: the guest's dvm-open fails, exit 1 ($rc: $(cat err.txt))" \
	test "$rc" = 1
./xswait /litedvm/disp -count=0 60
check "worker killed: the original is untouched" \
	test "$(sum /root/doc.txt)" = "$before"
check "worker killed: dvm-opend collected its disposable" \
	grep -q 'removed 1 disposables' opend.log
no_disposables "after killing a worker"

# ---- hostile requests, written by guest other into its own area
hostile() {
	in_other xenstore-write data/litedvm/open/request "$2"
	if ./xswait "/local/domain/$other/data/litedvm/open/reply" -present 30; then
		r=$(xenstore-read "/local/domain/$other/data/litedvm/open/reply")
		xenstore-rm "/local/domain/$other/data/litedvm/open/reply"
	else
		r="(no reply)"
	fi
	check "hostile request ($1) refused: $r" \
		sh -c "echo '$r' | grep -q '^error '"
}
long=$(head -c 700 /dev/zero | tr '\0' a)
xenstore-ls "/local/domain/$work" > work-before.txt
hostile "path traversal" "1 rw viewer 5 ../../etc/evil"
hostile "absolute path" "1 rw viewer 5 /etc/evil"
hostile "leading dash" "1 rw viewer 5 -rf"
hostile "dot-dot name" "1 rw viewer 5 .."
hostile "control character" "$(printf '1 rw viewer 5 a\033b')"
hostile "oversized request" "1 rw viewer 5 $long"
hostile "malformed" "hello dom0"
hostile "bad size" "1 rw viewer -5 x.txt"
hostile "huge size" "1 rw viewer 99999999999999999999 x.txt"
hostile "bad template name" "1 rw ../x 5 x.txt"
xenstore-ls "/local/domain/$work" > work-after.txt
check "hostile requests wrote nothing into guest work's xenstore area" \
	cmp -s work-before.txt work-after.txt
check "hostile requests were logged in dom0" \
	test "$(grep -c 'refused a request of other' opend.log)" -ge 8
evil=$(find / -xdev -name 'evil*' 2>/dev/null; ls /etc/evil 2>/dev/null)
check "nothing named by a hostile request exists in dom0${evil:+ ($evil)}" \
	test -z "$evil"
evil=$(in_work sh -c 'ls /etc/evil /root/evil 2>/dev/null' || true)
check "nothing named by a hostile request exists in guest work" test -z "$evil"
check "dvm-opend survived the hostile requests" kill -0 $opend
no_disposables "after hostile requests"

# ---- and it still serves the other guest
printf 'after\n' | in_work sh -c 'cat > /root/after.txt'
in_work dvm-open /root/after.txt 2> err.txt
rc=$?
check "after hostile requests, work is served (exit 3, $rc)" test "$rc" = 3
check "after hostile requests, work's edit came back" \
	test "$(in_work cat /root/after.txt)" = "$(printf 'after\nedited-in-disp')"

# ---- a pool serves dvm-open too
sed -i 's/^litedvm_preload.*//' $cfg/editor.cfg
echo 'litedvm_preload = 1' >> $cfg/editor.cfg
dvm-preload -q -t editor
check "a pool of editor is ready" \
	test "$(xenstore-list /litedvm/pool/editor 2>/dev/null | wc -l)" = 1
in_work dvm-open /root/after.txt 2> err.txt
rc=$?
check "from the pool: edited, exit 3 ($rc: $(cat err.txt))" test "$rc" = 3
check "from the pool: dvm-opend took a pooled disposable" \
	grep -q 'from the pool' opend.log
# The refill after the release (its helper starts during the session, when
# dvm-opend's file size limit is open_max_size: not the helper's), then a
# template change empties the pool.
./xswait /litedvm/pool/editor -count=1 120
check "from the pool: the pool is refilled after a dvm-open session" test $? = 0
./xswait /litedvm/disp -count=1 120
sed -i 's/^litedvm_preload.*//' $cfg/editor.cfg
dvm-preload -q -t editor
./xswait /litedvm/disp -count=0 120
no_disposables "after the pooled request"

# ---- data in transit: open_max_total bounds all requests together
kill -TERM $opend
wait $opend
echo 'open_max_total = "2M"' >> $cfg/litedvm.conf
dvm-opend >> opend.log 2>&1 &
opend=$!
name=$(next_disp)
in_work sh -c 'dvm-open -t slow /root/doc.txt & echo $! > /tmp/dvm-open.pid; wait' &
runner=$!
./xswait "/litedvm/disp/$name/state" running 120
check "within open_max_total: a session runs" test $? = 0
in_other sh -c 'echo other > /root/o.txt'
in_other dvm-open /root/o.txt 2> err.txt
rc=$?
check "over open_max_total: refused, exit 1 ($rc: $(cat err.txt))" test "$rc" = 1
check "over open_max_total: the guest is told dom0 is busy" \
	grep -q 'dom0 is busy' err.txt
check "over open_max_total: dom0 logged the total" \
	grep -q 'would pass open_max_total' opend.log
in_work sh -c 'kill -9 $(cat /tmp/dvm-open.pid)'
wait $runner
./xswait /litedvm/disp -count=0 60
kill -TERM $opend
wait $opend
sed -i '/^open_max_total/d' $cfg/litedvm.conf

# ---- open_timeout: an opener that never lets go no longer keeps the
# guest waiting; the original stays as it was
echo 'open_timeout = 5' >> $cfg/litedvm.conf
dvm-opend >> opend.log 2>&1 &
opend=$!
in_work sh -c 'cat /root/doc.txt' > before.txt
in_work dvm-open -t slow /root/doc.txt 2> err.txt
rc=$?
check "open_timeout: the session ends, dvm-open fails with 1 ($rc: $(cat err.txt))" \
	test "$rc" = 1
check "open_timeout: the guest is told why" \
	grep -q "the session ran past dom0's time limit" err.txt
check "open_timeout: dom0 logged it" grep -q 'ran past open_timeout (5 s)' opend.log
in_work sh -c 'cat /root/doc.txt' > after.txt
check "open_timeout: the original is untouched" cmp -s before.txt after.txt
./xswait /litedvm/disp -count=0 60
check "open_timeout: its disposable is gone" test $? = 0
kill -TERM $opend
wait $opend
sed -i '/^open_timeout/d' $cfg/litedvm.conf
dvm-opend >> opend.log 2>&1 &
opend=$!

# ---- the spare worker: forked ahead while dvm-opend is idle, it ends with
# dvm-opend, even one killed (no event tells of a child: /proc is polled)
children_within() {
	i=0
	while [ $i -lt 100 ]; do
		c=$(workers)
		[ -n "$c" ] && { echo $c; return 0; }
		i=$((i + 1))
		sleep 0.1
	done
}
gone_within() {
	i=0
	while [ $i -lt 100 ]; do
		kill -0 "$@" 2>/dev/null || return 0
		i=$((i + 1))
		sleep 0.1
	done
	return 1
}
spare=$(children_within)
check "an idle dvm-opend keeps one spare worker (${spare:-none})" \
	test "$(echo $spare | wc -w)" = 1
in_work dvm-open -t viewer /root/doc.txt > /dev/null 2> err.txt
rc=$?
check "with a spare worker, a request is served ($rc: $(cat err.txt))" \
	test $rc = 0
check "the spare worker served it and ended" gone_within ${spare:-0}
spare=$(children_within)
check "after the request, another spare stands by (${spare:-none})" \
	test "$(echo $spare | wc -w)" = 1
kill -9 $opend
wait $opend
check "dvm-opend killed: its spare worker ends with it" gone_within $spare
dvm-opend >> opend.log 2>&1 &
opend=$!

# ---- nested: a disposable made for work runs dvm-open itself
# work's file is the script its disposable runs (the "script" opener); what
# the nested dvm-open said comes back appended to the file.
restart_opend() {
	kill -TERM $opend
	wait $opend
	dvm-opend >> opend.log 2>&1 &
	opend=$!
}
nested_script() {
	printf '%s\n' 'echo x > /tmp/n.txt' \
		"dvm-open -t $1 /tmp/n.txt 2> /tmp/n.err" \
		'echo "nested $? $(head -n 1 /tmp/n.err)" >> "$1"'
}
nested_line() { in_work sed -n 's/^nested //p' /root/nest.sh; }
has() { printf '%s\n' "$1" | grep -q -e "$2"; }

# A "*" line does not reach disposables.
policy '*        viewer hold'
nested_script viewer | in_work sh -c 'cat > /root/nest.sh'
d1=$(next_disp)
timeout 600 guestrun "$work" dvm-open -t script /root/nest.sh 2> err.txt
rc=$?
check "nested under a '*' policy: work's session ends with the edit ($rc: $(cat err.txt))" \
	test "$rc" = 3
got=$(nested_line)
check "nested under a '*' policy: the disposable's dvm-open is refused ($got)" \
	test "${got%% *}" = 1
check "nested under a '*' policy: it is told there is no @disposable line" \
	has "$got" "dom0: disposable $d1 may not open files in disposables (no @disposable line)"
check "nested under a '*' policy: dom0 logged whose disposable asked" \
	grep -q "refused a request of $d1, a disposable of work (domain [0-9]*): disposable $d1 may not" opend.log
no_disposables "after a nested request refused by the policy"

# "@disposable" lets it; each record says whom it was made for: the root.
policy '@disposable viewer hold'
nested_script hold | in_work sh -c 'cat > /root/nest.sh'
d1=$(next_disp)
d2="disp$(( ${d1#disp} + 1 ))"
timeout 600 guestrun "$work" dvm-open -t script /root/nest.sh 2> err.txt &
runner=$!
./xswait "/litedvm/disp/$d2/state" running 300
check "nested under @disposable: the disposable's dvm-open runs a session" test $? = 0
for1=$(xenstore-read "/litedvm/disp/$d1/for")
for2=$(xenstore-read "/litedvm/disp/$d2/for")
check "nested: $d1 is recorded as made for work ($for1)" test "$for1" = work
check "nested: $d2, made for $d1, is recorded for the root, work ($for2)" \
	test "$for2" = work
check "nested: dom0 logged the request as work's disposable's" \
	grep -q "$d1, a disposable of work (domain [0-9]*) opens n.txt" opend.log
id=$(xenstore-read "/litedvm/disp/$d2/domid")
./xswait "/local/domain/$id/data/waiting" 1 60
xenstore-write "/local/domain/$id/data/go" 1
wait $runner
rc=$?
check "nested under @disposable: work's session ends with the edit ($rc: $(cat err.txt))" \
	test "$rc" = 3
got=$(nested_line)
check "nested under @disposable: the disposable's dvm-open succeeds ($got)" \
	test "${got%% *}" = 0
./xswait /litedvm/disp -count=0 60
no_disposables "after a nested request"

# open_max_guest = 1: work's own session is its one request in progress,
# so its disposable's request is refused as a second one of work's would be.
echo 'open_max_guest = 1' >> $cfg/litedvm.conf
restart_opend
nested_script viewer | in_work sh -c 'cat > /root/nest.sh'
d1=$(next_disp)
timeout 600 guestrun "$work" dvm-open -t script /root/nest.sh 2> err.txt
rc=$?
check "open_max_guest = 1: work's session ends with the edit ($rc: $(cat err.txt))" \
	test "$rc" = 3
got=$(nested_line)
check "open_max_guest = 1: the nested request is refused ($got)" \
	test "${got%% *}" = 1
check "open_max_guest = 1: as too many requests in progress" \
	has "$got" 'dom0: too many requests in progress$'
check "open_max_guest = 1: dom0 counted it against work" \
	grep -q "refused a request of $d1, a disposable of work (domain [0-9]*): 1 requests of work in progress (open_max_guest)" opend.log
no_disposables "after a nested request over open_max_guest"
sed -i '/^open_max_guest/d' $cfg/litedvm.conf

# open_rate: the disposable draws on work's bucket.  work spends its tokens
# while its session waits; then its disposable asks three times.  With a
# bucket of its own none would be refused for the rate; with work's, at
# most one can pass (the bucket gains a token a minute), and is refused by
# the policy ("*" only).
echo 'open_rate = 1' >> $cfg/litedvm.conf
restart_opend
policy '*        viewer hold'
printf '%s\n' 'xenstore-write data/waiting 1' \
	'until xenstore-read data/go; do sleep 0.2; done' \
	'echo x > /tmp/n.txt' \
	'for i in 1 2 3; do' \
	'dvm-open -t viewer /tmp/n.txt 2> /tmp/n.err' \
	'echo "nested $? $(head -n 1 /tmp/n.err)" >> "$1"' \
	'done' | in_work sh -c 'cat > /root/nest.sh'
d1=$(next_disp)
timeout 600 guestrun "$work" dvm-open -t script /root/nest.sh 2> err.txt &
runner=$!
./xswait "/litedvm/disp/$d1/state" running 300
id=$(xenstore-read "/litedvm/disp/$d1/domid")
./xswait "/local/domain/$id/data/waiting" 1 60
i=0
r=
while [ $i -lt 15 ]; do
	i=$((i + 1))
	in_work xenstore-write data/litedvm/open/request "spend a token"
	./xswait "/local/domain/$work/data/litedvm/open/reply" -present 30
	r=$(xenstore-read "/local/domain/$work/data/litedvm/open/reply")
	xenstore-rm "/local/domain/$work/data/litedvm/open/reply"
	[ "$r" = "error too many requests" ] && break
done
check "open_rate: work's own requests emptied its bucket ($r, request $i)" \
	test "$r" = "error too many requests"
xenstore-write "/local/domain/$id/data/go" 1
wait $runner
rc=$?
check "open_rate: work's session ends with the edit ($rc: $(cat err.txt))" \
	test "$rc" = 3
got=$(nested_line)
n=$(printf '%s\n' "$got" | grep -c 'dom0: too many requests$')
check "open_rate: the disposable's requests meet work's empty bucket ($n of 3: $got)" \
	test "$n" -ge 2
no_disposables "after nested requests over open_rate"
sed -i '/^open_rate/d' $cfg/litedvm.conf
policy ""
restart_opend

# ---- the requesting guest destroyed mid-session: its session ends at once
# A viewer that takes its time, so the session is still on (the file comes
# after the command: sh takes it as $0; sleep refused it as a number).
sed -i 's/^litedvm_open_command.*/litedvm_open_command = [ "sh", "-c", "sleep 1000" ]/' $cfg/viewer.cfg
printf 'other\n' | in_other sh -c 'cat > /root/o.txt'
name=$(next_disp)
in_other dvm-open /root/o.txt > /dev/null 2>&1 &
./xswait "/litedvm/disp/$name/state" running 120
xl destroy other
./xswait "/litedvm/disp/$name" -absent 60
check "requesting guest destroyed mid-session: its disposable is torn down" test $? = 0
check "dvm-opend says the requester went away" grep -q "is gone: ending its request" opend.log
check "dvm-opend survives a requester that vanished" kill -0 $opend

# ---- stopping the service leaves nothing behind
kill -TERM $opend
wait $opend
check "dvm-opend stops cleanly on SIGTERM ($?)" test $? = 0
stop_guests work other
check_clean "after dvm-open"
sed 's/^/# dvm-opend: /' opend.log
