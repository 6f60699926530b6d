# Wayland windows from a disposable: dvm-run --wayland, and dvm-open's
# graphical openers from an ordinary Debian guest (at the end).  dom0 has a
# headless Wayland compositor (weston's headless backend) and waypipe;
# this dom0 is busybox, so both run from the Debian template's own root,
# mounted read-only and entered with chroot (a real Debian userland: only
# the executables' location differs from an installed dom0).  The Debian
# disposable runs waypipe server and weston-simple-shm.  Proof that a
# window arrived: weston's protocol dump (the first buffer the client
# attaches) and its scene graph (a top-level 'simple-shm' of 250x250,
# owned by dvm-run's waypipe client).  Cold and pooled, with the time from
# dvm-run to the first frame.  Runs in the emulated dom0 (tests/xen/run).
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
cfg=/etc/litedvm
deb=/var/lib/litedvm/debian
root=/mnt/wlroot

mkdir -p $root
mount -o loop,ro,noload $deb/root.img $root || fail "mount the Debian root"
for d in proc sys dev run tmp; do mount -o bind /$d $root/$d; done
# waypipe for dvm-run: the Debian one, with that root's libraries (no
# chroot: dvm-run runs it as the compositor's user, who may not chroot).
mkdir -p /tmp/wlbin
lib=$root/usr/lib/x86_64-linux-gnu
printf '#!/bin/sh\nexec %s --library-path %s %s "$@"\n' $lib/ld-linux-x86-64.so.2 \
	$lib $root/usr/bin/waypipe > /tmp/wlbin/waypipe
chmod 755 /tmp/wlbin/waypipe
export XDG_RUNTIME_DIR=/run/wl WAYLAND_DISPLAY=wayland-1
mkdir -m 700 -p $XDG_RUNTIME_DIR
inroot() { chroot $root env XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR WAYLAND_DISPLAY=$WAYLAND_DISPLAY "$@"; }
# wait_for SECONDS COMMAND...: until COMMAND succeeds, looked at each 0.2 s.
wait_for() {
	local n=$(($1 * 5))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.2
	done
}

inroot weston --backend=headless-backend.so --socket=wayland-1 --width=640 \
	--height=480 --debug --idle-time=0 > weston.log 2>&1 &
wait_for 120 test -S $XDG_RUNTIME_DIR/wayland-1
check "weston runs headless in dom0 ($(tail -n 1 weston.log))" test -S $XDG_RUNTIME_DIR/wayland-1
# The session is user 1000's, as a desktop's is: root's dvm-run must run
# waypipe client as that user.
chown 1000:1000 $XDG_RUNTIME_DIR/wayland-1
chmod 711 $XDG_RUNTIME_DIR
inroot weston-debug proto > proto.log 2>&1 &
proto=$!

sed -e 's/^name.*/name = "debpool"/' $cfg/debian.cfg > $cfg/debpool.cfg
echo 'litedvm_preload = 1' >> $cfg/debpool.cfg

# ---- refusals before anything boots
next0=$(xenstore-read /litedvm/next 2>/dev/null || echo 0)
WAYLAND_DISPLAY= dvm-run --wayland -t debian -- true > /dev/null 2> e1.txt
rc=$?
check "no WAYLAND_DISPLAY: exit 125 ($rc)" test $rc = 125
check "no WAYLAND_DISPLAY: says so ($(cat e1.txt))" \
	grep -q -- '--wayland: no Wayland session: WAYLAND_DISPLAY is not set' e1.txt
WAYLAND_DISPLAY=wayland-9 dvm-run --wayland -t debian -- true > /dev/null 2> e2.txt
rc=$?
check "no compositor at WAYLAND_DISPLAY: exit 125, says where ($(cat e2.txt))" \
	sh -c "test $rc = 125 && grep -q 'no Wayland compositor at /run/wl/wayland-9' e2.txt"
dvm-run --wayland -t debian -- true > /dev/null 2> e3.txt
rc=$?
check "no waypipe in dom0's PATH: exit 125, says so ($(cat e3.txt))" \
	sh -c "test $rc = 125 && grep -q 'waypipe is not installed' e3.txt"
check "nothing was booted for them" test "$(xenstore-read /litedvm/next 2>/dev/null || echo 0)" = "$next0"
export PATH=/tmp/wlbin:$PATH

# The busybox template has no waypipe: the agent says so.
dvm-run --wayland -t default -- true > /dev/null 2> e4.txt
rc=$?
check "a template without waypipe: exit 125, the agent says why ($(cat e4.txt))" \
	sh -c "test $rc = 125 && grep -q 'waypipe is not installed in the disposable' e4.txt"

# ms_of_day HH:MM:SS.mmm
ms_of_day() { echo "$1" | awk -F: '{ printf "%d\n", ($1 * 3600 + $2 * 60 + $3) * 1000 }'; }
# first_frame FROM [LOG]: the time (ms of the day, the compositor's clock)
# at which simple-shm attached its first buffer, in LOG (proto.log) from
# line FROM.
first_frame() {
	tail -n +"$1" "${2:-proto.log}" | awk '
	    /xdg_toplevel@[0-9]*\.set_title\("simple-shm"\)/ { c = $4 }
	    c != "" && $4 == c && /wl_surface@[0-9]*\.attach\(wl_buffer@/ {
		split(substr($2, 1, 12), t, ":")
		printf "%d\n", (t[1] * 3600 + t[2] * 60 + t[3]) * 1000; exit }'
}
# frame_or_gone FROM PID: the first frame is in, or dvm-run PID is over.
frame_or_gone() { [ -n "$(first_frame "$1")" ] || ! kill -0 "$2" 2>/dev/null; }
waypipes() { ps -o pid,args | grep '[w]aypipe --oneshot' || true; }
# The window's corners in a scene graph: "x0 y0 x1 y1".
corners() {
	grep -A1 "window 'simple-shm'" "$1" | sed -n 's/.*position: (\([0-9-]*\), \([0-9-]*\)) -> (\([0-9-]*\), \([0-9-]*\)).*/\1 \2 \3 \4/p'
}

# run_window KIND TEMPLATE: dvm-run --wayland of weston-simple-shm, which
# runs until the test sends a line on its standard input, then exits 9.
run_window() {
	local kind=$1 t=$2 from t0 t1 pid wp c
	from=$(($(wc -l < proto.log) + 1))
	mkfifo /tmp/hold.$kind
	exec 7<>/tmp/hold.$kind
	t0=$(ms_of_day "$(inroot date +%H:%M:%S.%3N)")
	dvm-run -v --wayland -t "$t" -- sh -c 'weston-simple-shm & p=$!
	    read x; kill -INT $p; wait $p; exit 9' <&7 > out.$kind 2> err.$kind &
	pid=$!
	wait_for 900 frame_or_gone $from $pid
	t1=$(first_frame $from)
	check "$kind: the window's first frame reached dom0's compositor ($(tail -n 1 err.$kind))" test -n "$t1"
	[ -n "$t1" ] && echo "INFO: $kind: first frame $((t1 - t0)) ms after dvm-run --wayland started"
	inroot weston-debug scene-graph > scene.$kind 2>&1
	check "$kind: the scene graph has simple-shm's top-level window" \
		grep -q "top-level window 'simple-shm'" scene.$kind
	c=$(corners scene.$kind)
	check "$kind: of 250x250 ($c)" sh -c "echo $c | awk '{ exit !(\$3 - \$1 == 250 && \$4 - \$2 == 250) }'"
	wp=$(sed -n "s/.*role xdg_toplevel, PID \([0-9]*\),.*'simple-shm'.*/\1/p" scene.$kind | head -n 1)
	check "$kind: its owner is dvm-run's waypipe client (PID $wp)" \
		sh -c "tr '\\0' ' ' < /proc/$wp/cmdline | grep -q 'waypipe --oneshot --no-gpu --socket .* client' &&
		    grep -q '^PPid:[[:space:]]*$pid\$' /proc/$wp/status"
	check "$kind: waypipe client runs as the session's user, 1000, not root ($(grep '^Uid:' /proc/$wp/status))" \
		grep -q '^Uid:[[:space:]]*1000[[:space:]]' /proc/$wp/status
	check "$kind: dvm-run's socket and its directory are gone already" \
		sh -c "! ls -d $XDG_RUNTIME_DIR/litedvm-wl.* 2>/dev/null"
	echo go >&7
	if ! wait_for 120 sh -c "! kill -0 $pid 2>/dev/null"; then
		d=$(sed -n 's/^dvm-run: \(disp[0-9]*\): domain.*/\1/p' err.$kind | head -n 1)
		fail "$kind: dvm-run still runs 120 s after its command was told to end"
		echo "# dom0:"; ps -o pid,ppid,args | grep -v ' \[' | sed 's/^/#   /'
		echo "# $d:"; timeout 60 dvm-run -n "$d" -- sh -c 'for p in /proc/[0-9]*; do
		    c=$(tr "\0" " " < $p/cmdline); [ -n "$c" ] || continue
		    echo "${p#/proc/} $(sed -n "s/^State:\t//p; s/^PPid:\t/ppid /p" $p/status | tr "\n" " ") $c :: $(ls -l $p/fd 2>/dev/null | sed -n "s/.* \([0-9]*\) -> /\1=/p" | tr "\n" " ")"
		    done' 2>&1 | sed 's/^/#   /'
		echo "# stderr:"; sed 's/^/#   /' err.$kind
		kill $pid
	fi
	wait $pid
	rc=$?
	exec 7>&-
	rm -f /tmp/hold.$kind
	check "$kind: the command's exit status 9 passes through ($rc: $(tail -n 1 err.$kind))" test $rc = 9
	check "$kind: no waypipe left in dom0 ($(waypipes))" test -z "$(waypipes)"
	inroot weston-debug scene-graph > scene2.$kind 2>&1
	check "$kind: the window is gone from the compositor" \
		sh -c "! grep -q \"window 'simple-shm'\" scene2.$kind"
}

run_window cold debian
grep -q 'cold, volumes by' err.cold || fail "cold: the run was not cold"

dvm-preload -q -t debpool
check "the pool is filled ($(xenstore-list /litedvm/pool/debpool 2>/dev/null | wc -l))" \
	test "$(xenstore-list /litedvm/pool/debpool 2>/dev/null | wc -l)" = 1
run_window pooled debpool
check "pooled: it came from the pool" grep -q 'from the preload pool' err.pooled

# ---- dvm-run killed outright while its window is up (the pool's
# refill): its waypipe client goes with it, gc removes the disposable
dvm-preload -q -t debpool
from=$(($(wc -l < proto.log) + 1))
dvm-run --wayland -t debpool -- weston-simple-shm < /dev/null > /dev/null 2> err.kill &
run=$!
wait_for 900 frame_or_gone $from $run
check "killed: the window came up first ($(tail -n 1 err.kill))" test -n "$(first_frame $from)"
kill -KILL $run
wait $run 2>/dev/null
wait_for 30 test -z "$(waypipes)"
check "killed: dvm-run's waypipe client went with it ($(waypipes))" test -z "$(waypipes)"
check "killed: nothing of it in $XDG_RUNTIME_DIR ($(ls $XDG_RUNTIME_DIR | tr '\n' ' '))" \
	sh -c "! ls -d $XDG_RUNTIME_DIR/litedvm-wl.* 2>/dev/null"
sed -i 's/^litedvm_preload.*/litedvm_preload = 0/' $cfg/debpool.cfg
dvm-preload -q -t debpool

# ---- dvm-open from an ordinary Debian guest ("wlwork") with a Wayland
# session of its own (weston headless, root's): the opener's window
# appears there, dom0 only relays.  The opener shows weston-simple-shm
# until the test touches /tmp/done in the disposable (dvm-run -n), then
# edits the file.
cp --reflink=always $deb/root.img $deb/wlwork.img
sed -e 's/^name.*/name = "wlwork"/' -e "s|target=[^\"]*|target=$deb/wlwork.img|" \
    -e '/^litedvm/d' -e '/^vif/d' $cfg/debian.cfg > /tmp/wlwork.cfg
xl create -q /tmp/wlwork.cfg
sed -e 's/^name.*/name = "debwl"/' -e '/^litedvm_open/d' $cfg/debian.cfg > $cfg/debwl.cfg
cat >> $cfg/debwl.cfg <<'CFG'
litedvm_preload = 1
litedvm_open_wayland = 1
litedvm_open_command = [ "/bin/sh", "-c", "weston-simple-shm & p=$!; while [ ! -e /tmp/done ]; do sleep 0.2; done; kill -INT $p; wait $p; echo seen-in-a-window >> \"$1\"", "opener", "%f" ]
CFG
echo 'wlwork debwl' > $cfg/open.policy
dvm-preload -q -t debwl
check "the graphical opener's pool is filled" \
	test "$(xenstore-list /litedvm/pool/debwl 2>/dev/null | wc -l)" = 1
work=$(xl domid wlwork)
./xswait "/local/domain/$work/data/litedvm/listen" -present 600
check "the ordinary Debian guest's agent is ready" test $? = 0
gw() { guestrun "$work" "$@"; }
gwl() { guestrun "$work" env XDG_RUNTIME_DIR=/run/wl WAYLAND_DISPLAY=wayland-1 "$@"; }
gw sh -c 'mkdir -m 700 -p /run/wl; XDG_RUNTIME_DIR=/run/wl setsid weston \
    --backend=headless-backend.so --socket=wayland-1 --width=640 \
    --height=480 --debug --idle-time=0 > /tmp/weston.log 2>&1 < /dev/null &'
wait_for 300 gw test -S /run/wl/wayland-1
check "weston runs headless in the guest" gw test -S /run/wl/wayland-1
gwl sh -c 'setsid weston-debug proto > /tmp/proto.log 2>&1 < /dev/null &'
dvm-opend > opend.log 2>&1 &
opend=$!
printf 'line one\n' | gw sh -c 'cat > /root/pic.txt'

# ---- refused without a Wayland session: nothing booted, file untouched
next0=$(xenstore-read /litedvm/next 2>/dev/null || echo 0)
gw dvm-open -t debwl /root/pic.txt > /dev/null 2> e5.txt
rc=$?
check "graphical opener, no Wayland session: dvm-open exits 1 ($rc)" test $rc = 1
check "graphical opener, no Wayland session: says so ($(cat e5.txt))" \
	grep -q "opener shows windows: run dvm-open in a Wayland session" e5.txt
check "graphical opener, no Wayland session: nothing booted, the pool kept" \
	sh -c "test \"\$(xenstore-read /litedvm/next)\" = $next0 &&
	    test \"\$(xenstore-list /litedvm/pool/debwl | wc -l)\" = 1"
# A session whose waypipe client cannot start: the request goes without
# the offer, saying why, and dom0 refuses it the same way.
gw sh -c 'mkdir -p /tmp/nowp && printf "#!/bin/sh\nexit 1\n" > /tmp/nowp/waypipe &&
    chmod 755 /tmp/nowp/waypipe'
gwl env PATH=/tmp/nowp:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	dvm-open -t debwl /root/pic.txt > /dev/null 2> e6.txt
rc=$?
check "graphical opener, waypipe fails in the guest: exit 1, says so, then refused ($(tr '\n' ' ' < e6.txt))" \
	sh -c "test $rc = 1 && grep -q 'no windows offered to the disposable: waypipe client exited before it listened' e6.txt &&
	    grep -q 'opener shows windows' e6.txt"
check "graphical opener, waypipe fails: nothing booted" \
	test "$(xenstore-read /litedvm/next)" = "$next0"

# gproto FROM: the guest's protocol dump from line FROM, here.
gproto() { gw tail -n +"$1" /tmp/proto.log > gproto.log; }
# The disposable whose session was made for wlwork.
for_work() {
	for r in $(xenstore-list /litedvm/disp 2>/dev/null); do
		[ "$(xenstore-read /litedvm/disp/$r/for 2>/dev/null)" = wlwork ] && echo $r
	done
}
no_guest_waypipe() { ! gw sh -c 'cat /proc/[0-9]*/comm 2>/dev/null' | grep -q -x waypipe; }
gframe_or_gone() { gproto "$1"; [ -n "$(first_frame 1 gproto.log)" ] || ! kill -0 "$2" 2>/dev/null; }

# ---- the window in the guest's session, the edit back
from=$(($(gw cat /tmp/proto.log | wc -l) + 1))
t0=$(ms_of_day "$(gw date +%H:%M:%S.%3N)")
gwl dvm-open -t debwl /root/pic.txt > /dev/null 2> err.wlopen &
pid=$!
wait_for 900 gframe_or_gone $from $pid
t1=$(first_frame 1 gproto.log)
check "dvm-open: the opener's first frame reached the guest's compositor ($(cat err.wlopen))" test -n "$t1"
[ -n "$t1" ] && echo "INFO: dvm-open (pooled): first frame $((t1 - t0)) ms after dvm-open started in the guest"
gwl weston-debug scene-graph > gscene.txt 2>&1
check "dvm-open: the guest's scene graph has simple-shm's window" \
	grep -q "top-level window 'simple-shm'" gscene.txt
c=$(corners gscene.txt)
check "dvm-open: of 250x250 ($c)" sh -c "echo $c | awk '{ exit !(\$3 - \$1 == 250 && \$4 - \$2 == 250) }'"
wp=$(sed -n "s/.*role xdg_toplevel, PID \([0-9]*\),.*'simple-shm'.*/\1/p" gscene.txt | head -n 1)
gw sh -c 'tr "\0" " " < /proc/$1/cmdline; echo
	pp=$(sed -n "s/^PPid:[[:space:]]*//p" /proc/$1/status)
	tr "\0" " " < /proc/$pp/cmdline; echo' sh "$wp" > owner.txt
check "dvm-open: its owner is the guest's waypipe client, dvm-open's child ($(tr '\n' '/' < owner.txt))" \
	sh -c "sed -n 1p owner.txt | grep -q 'waypipe --oneshot --no-gpu --socket .* client' &&
	    sed -n 2p owner.txt | grep -q '^dvm-open '"
check "dvm-open: no waypipe runs in dom0 ($(waypipes))" test -z "$(waypipes)"
d=$(for_work)
check "dvm-open: the session runs in a disposable made for wlwork ($d)" test -n "$d"
dvm-run -n "$d" -- touch /tmp/done
wait $pid
rc=$?
check "dvm-open: edited and replaced, exit 3 ($rc: $(cat err.wlopen))" test $rc = 3
got=$(gw cat /root/pic.txt | tr '\n' '|')
check "dvm-open: the original holds exactly the edit ($got)" \
	test "$got" = "line one|seen-in-a-window|"
check "dvm-open: dvm-opend logs a session with windows" \
	grep -q "with windows in the requester's session" opend.log
./xswait "/litedvm/disp/$d" -absent 120
gwl weston-debug scene-graph > gscene2.txt 2>&1
check "dvm-open: the window is gone from the guest's compositor" \
	sh -c "! grep -q \"window 'simple-shm'\" gscene2.txt"
check "dvm-open: no waypipe left in the guest" no_guest_waypipe

# ---- the requester's dvm-open killed while the window is up: the
# disposable goes, and the guest's waypipe client with dvm-open
./xswait /litedvm/pool/debwl -count=1 900
from=$(($(gw cat /tmp/proto.log | wc -l) + 1))
gwl dvm-open -t debwl /root/pic.txt > /dev/null 2> err.wlkill &
pid=$!
wait_for 900 gframe_or_gone $from $pid
check "killed: the window came up first ($(cat err.wlkill))" test -n "$(first_frame 1 gproto.log)"
d=$(for_work)
gw sh -c 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = dvm-open ] && kill -9 ${p#/proc/}; done'
wait $pid 2>/dev/null
./xswait "/litedvm/disp/$d" -absent 120
check "killed: the requester's disposable ($d) is torn down" test $? = 0
wait_for 30 no_guest_waypipe
check "killed: the guest's waypipe client went with dvm-open" no_guest_waypipe
check "killed: the file is as the first session left it" \
	test "$(gw cat /root/pic.txt | tr '\n' '|')" = "line one|seen-in-a-window|"
kill -TERM $opend
wait $opend
check "dvm-opend stops cleanly ($?)" test $? = 0
sed 's/^/# dvm-opend: /' opend.log
xl destroy wlwork
rm -f $deb/wlwork.img
# The claims' refills may still be building: a drain waits for them.
sed -i 's/^litedvm_preload.*/litedvm_preload = 0/' $cfg/debwl.cfg
dvm-preload --drain
check "the pools drain, refills in flight included ($?)" test $? = 0

# The compositor and the Debian root go: nothing of the test's own stays.
kill $(pidof weston-debug weston) 2>/dev/null
for d in tmp run dev sys proc ''; do wait_for 30 umount $root/$d; done
dvm-create -G
check "gc after the SIGKILL exits 0" test $? = 0
./xswait /litedvm/disp -count=0 120
check_clean "after the Wayland runs"
wl=$(xenstore-ls -f /local/domain 2>/dev/null | grep '/data/litedvm/wl' || true)
check "no Wayland stream nodes left${wl:+ ($wl)}" test -z "$wl"
exit 0
