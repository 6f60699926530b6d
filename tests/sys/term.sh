# Terminal openers: dvm-open on a terminal of an ordinary guest ("work"),
# its opener (busybox vi) on that terminal through dom0's dvm-opend; keys
# in, the screen out, a resize followed, the edit back.  ptyrun plays the
# user at the guest's terminal.  Runs in the emulated dom0 (tests/xen/run).
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
cfg=/etc/litedvm

# The opener: two prompts that print the terminal's size (ptyrun resizes
# the window before its second answer), then vi on the file.
tmpl() {
	sed -e '/^name/d' $cfg/default.cfg > "$cfg/$1.cfg"
	printf 'litedvm_open_command = [ "/bin/sh", "-c", "%s", "opener", "%%f" ]\n' \
		"$2" >> "$cfg/$1.cfg"
	echo 'litedvm_open_terminal = 1' >> "$cfg/$1.cfg"
}
tmpl term "printf '# '; read a; stty size; printf '# '; read b; stty size; exec vi \\\"\$1\\\""
# A screenful far past every buffer on the way (the channel's rings, dom0's
# pseudo-terminal, the guest's), then a prompt.
tmpl termbig "head -c 300000 /dev/zero | tr '\\\\0' x; printf '\\\\n# '; read a"
# Holds the session on the terminal until the requester is gone.
tmpl termhold "xenstore-write data/waiting 1; exec sleep 1000"
cat > $cfg/open.policy <<'EOF'
work     term   termhold termbig
EOF

start_guest work
work=$(xl domid work)
in_work() { guestrun "$work" "$@"; }
in_work sh -c 'cat > /tmp/ptyrun && chmod 755 /tmp/ptyrun' < /tmp/ptyrun
dvm-opend > opend.log 2>&1 &
opend=$!
next_disp() { echo "disp$(xenstore-read /litedvm/next)"; }

# ---- vi on the guest's terminal: :s and :wq typed, the file edited
printf '# original line\n' | in_work sh -c 'cat > /root/notes.txt'
in_work /tmp/ptyrun 'size-one' 'size-two' ':s/original/edited-by-vi/
:wq' -- dvm-open /root/notes.txt > screen.txt 2> err.txt
rc=$?
check "terminal opener: dvm-open exits 3, replaced ($rc: $(cat err.txt))" \
	test "$rc" = 3
printf '# edited-by-vi line\n' > want.txt
in_work cat /root/notes.txt > got.txt
check "terminal opener: the original holds exactly vi's edit" cmp -s want.txt got.txt
check "terminal opener: the opener saw the guest's terminal (30 rows, 100 columns)" \
	grep -q '^30 100' screen.txt
check "terminal opener: a resize in the guest reached it (40 by 120)" \
	grep -q '^40 120' screen.txt
check "terminal opener: vi's screen reached the guest's terminal" \
	grep -q 'edited-by-vi' screen.txt
check "terminal opener: dvm-opend logs a session on the requester's terminal" \
	grep -q "on the requester's terminal" opend.log

# ---- 300,000 bytes of screen arrive whole: flow control on every hop
in_work /tmp/ptyrun done -- dvm-open -t termbig /root/notes.txt > big.txt 2> err.txt
rc=$?
check "terminal opener, a large screen: dvm-open exits 0 ($rc: $(cat err.txt))" \
	test "$rc" = 0
n=$(tr -cd x < big.txt | wc -c)
check "terminal opener, a large screen: all 300000 bytes reached the guest ($n)" \
	test "$n" = 300000

# ---- not from a terminal: refused, saying why
in_work dvm-open /root/notes.txt < /dev/null > /dev/null 2> err.txt
rc=$?
check "terminal opener, no terminal: dvm-open exits 1 ($rc)" test "$rc" = 1
check "terminal opener, no terminal: it says one is needed ($(cat err.txt))" \
	grep -q "needs a terminal" err.txt
check "terminal opener, no terminal: the file is untouched" \
	test "$(in_work cat /root/notes.txt)" = "# edited-by-vi line"

# ---- the requester's dvm-open killed mid-session: the disposable goes
name=$(next_disp)
in_work /tmp/ptyrun none -- dvm-open -t termhold /root/notes.txt > /dev/null 2>&1 &
held=$!
./xswait "/litedvm/disp/$name/state" running 120
id=$(xenstore-read "/litedvm/disp/$name/domid")
./xswait "/local/domain/$id/data/waiting" 1 60
check "terminal opener held: the session runs" test $? = 0
in_work killall -9 dvm-open
./xswait "/litedvm/disp/$name" -absent 60
check "terminal opener: a requester killed mid-session ends its disposable" \
	test $? = 0
wait $held

# ---- nothing left
kill -TERM $opend
wait $opend
check "dvm-opend stops cleanly on SIGTERM ($?)" test $? = 0
stop_guests work
check_clean "after terminal openers"
sed 's/^/# dvm-opend: /' opend.log
