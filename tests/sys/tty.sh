# Interactive dvm-run: a shell on a terminal, typed into; window size.
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
ptyrun 'echo typed-$((40+2)); stty size' 'stty size; exit 5' \
	-- dvm-run -- sh > tty.out 2>&1
rc=$?
sed 's/^/# /' tty.out | tr -d '\r'
check "interactive shell exits with its status 5 ($rc)" test "$rc" = 5
check "a typed command ran in the disposable" grep -q 'typed-42' tty.out
check "the window size is the terminal's (30 100)" grep -q '^30 100' tty.out
check "the window size follows a resize (40 120)" grep -q '^40 120' tty.out
check_clean "after the interactive shell"

# Without a pty, what reaches a terminal is filtered of escapes; files and
# pipes get the bytes as they are, and the options override both ways.
d=$(dvm-create)
esc=$(printf '\033')
# In the disposable: ESC ] 0 ; title BEL, then a colour, on each stream.
cmd='printf "\033]0;owned\007out\033[31m\n"; printf "err\033[2J\n" >&2'
ptyrun none -- sh -c "dvm-run -n $d -- sh -c '$cmd' < /dev/null" > esc.tty
sed 's/^/# /' esc.tty | tr -d '\r'
check "output to a terminal has its escapes shown as _" \
	grep -q '_]0;owned_out_\[31m' esc.tty
check "errors to a terminal have their escapes shown as _" \
	grep -q 'err_\[2J' esc.tty
check "no escape byte reaches the terminal" sh -c "! grep -q '$esc' esc.tty"
ptyrun none -- sh -c "dvm-run -n $d -- sh -c '$cmd' < /dev/null \
	> esc.file" > esc.tty2
check "output to a file passes raw (ESC kept)" grep -q "${esc}\[31m" esc.file
check "errors to the terminal beside it are still filtered" \
	sh -c "grep -q 'err_\[2J' esc.tty2 && ! grep -q '$esc' esc.tty2"
ptyrun none -- sh -c "dvm-run --no-filter-escape-chars -n $d -- \
	sh -c '$cmd' < /dev/null" > esc.raw
check "--no-filter-escape-chars passes escapes to the terminal" \
	grep -q "${esc}\[2J" esc.raw
dvm-run --filter-escape-chars -n "$d" -- sh -c "$cmd" > esc.f2 2>&1
check "--filter-escape-chars filters a file too" \
	sh -c "grep -q '_\[31m' esc.f2 && ! grep -q '$esc' esc.f2"
xl destroy "$d"
/tmp/xswait "/litedvm/disp/$d" -absent 30
check_clean "after the escape filter runs"

# What a command in a disposable inherits from the agent: no descriptor
# but 0-2 (ls's own directory handle is 3), no blocked signal.
fds=$(dvm-run -- ls /proc/self/fd < /dev/null | tr '\n' ' ')
check "a command gets only descriptors 0-2 ($fds)" test "$fds" = "0 1 2 3 "
blk=$(dvm-run -- grep SigBlk /proc/self/status < /dev/null)
check "a command gets no blocked signal ($blk)" \
	test "$blk" = "SigBlk:	0000000000000000"
check_clean "after the inheritance checks"

# ---- the lifecycle journal, through syslog
syslogd -S -O /tmp/journal.log
# Waits until syslogd has written everything sent before: a marker of its
# own, sent last, shows in the file (no event tells of a file written).
journal_sync() {
	local m="sync-$$-$1" i=0
	logger -t litedvm-test "$m"
	while ! grep -q "$m" /tmp/journal.log 2>/dev/null && [ $i -lt 100 ]; do
		usleep 100000
		i=$((i + 1))
	done
}
has() { grep -q "litedvm\[[0-9]*\]: $1" /tmp/journal.log; }
dvm-run -v -- true 2> run.err
d=$(sed -n 's/^dvm-run: \(disp[0-9]*\): domain.*/\1/p' run.err | head -n 1)
journal_sync 1
f="template=default domid=[0-9]* owner=[0-9]*:[0-9]* driver=reflink"
check "journal: created ($d)" has "created name=$d $f lifetime_s=[0-9]*$"
check "journal: ready, with its build time and no pool" \
	has "ready name=$d $f lifetime_s=[0-9]* build_ms=[0-9]* pool=-$"
check "journal: released" has "released name=$d $f"
check "journal: destroyed" has "destroyed name=$d $f lifetime_s=[0-9]*$"
dvm-preload -t default -n 1
p=$(xenstore-list /litedvm/disp | head -n 1)
dvm-run -v -- true 2> run.err
check "the run took the pool's member ($p)" grep -q "$p: domain .*preload pool" run.err
/tmp/xswait "/litedvm/disp/$p" -absent 60
journal_sync 2
check "journal: a pool member is ready, for its pool" \
	has "ready name=$p .* pool=default$"
check "journal: claimed, by whom and how fast" \
	has "claimed name=$p template=default domid=[0-9]* owner=[0-9]*:[0-9]* claim_ms=[0-9]*$"
check "journal: a pool member's release has the record's fields" \
	has "released name=$p $f lifetime_s=[0-9]*$"
check "journal: released and destroyed" \
	sh -c "grep -q 'released name=$p ' /tmp/journal.log && grep -q 'destroyed name=$p ' /tmp/journal.log"
check "journal: a pool member's teardown is not garbage collection" \
	sh -c "! grep -q 'collected name=$p ' /tmp/journal.log"
dvm-preload -t default -n 0
dvm-run -- sleep 100 < /dev/null > /dev/null 2>&1 &
pid=$!
/tmp/xswait /litedvm/disp -count=1 60
k=$(xenstore-list /litedvm/disp | head -n 1)
/tmp/xswait "/litedvm/disp/$k/state" running 60
kill -9 $pid
wait $pid 2>/dev/null
dvm-create -G 2>/dev/null
journal_sync 3
check "journal: gc collected the orphan ($k)" \
	has "collected name=$k template=default .* by=gc was_owner=[0-9]*:[0-9]*$"
check "journal: ... and destroyed it" has "destroyed name=$k "
sed '/litedvm_dispvm_template/d' /etc/litedvm/default.cfg > /etc/litedvm/plain.cfg
dvm-run -t plain -- true 2>/dev/null
journal_sync 4
check "journal: a refusal" \
	has "refused name=- template=plain reason=\"not a disposable template\"$"
rm -f /etc/litedvm/plain.cfg
sed 's/^/# journal: /' /tmp/journal.log | grep -v litedvm-test | head -n 20
check_clean "after the journal checks"
