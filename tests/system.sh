#!/bin/sh
# Runs the system tests in the emulated Xen host, a few boots in all, and
# prints one closing "N passed, N failed" line.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
cd "$top"
log=$(mktemp)
trap 'rm -f "$log" "$log".*' EXIT

# POSIX sh has no pipefail: run the harness in a subshell that saves its
# status.  A boot's checks go to $log (the lane's own, in a lane).
boot() {
	script=$1
	# The script, and the xenstore daemon when one is asked for.
	label=$script${XENVM_XENSTORED:+ ($XENVM_XENSTORED)}
	echo "== $label" >&2
	t0=$(date +%s)
	{ tests/xen/run "$@"; echo $? > "$log.rc"; } | tee -a "$log"
	rc=$(cat "$log.rc")
	rm -f "$log.rc"
	echo "== $label: $(($(date +%s) - t0)) s" >&2
	if [ "$rc" != 0 ]; then
		echo "FAIL: $label exited $rc" | tee -a "$log"
	fi
}

# The harness itself: its exit statuses and its streams.
hcheck() {
	if [ "$2" = "$3" ]; then echo "PASS: harness: $1"; else
		echo "FAIL: harness: $1 (got $2, want $3)"; fi | tee -a "$log"
}
harness() {
	h=$B/harness-$$
	head -c 1048576 /dev/urandom > "$h.bin"
	cp "$h.bin" "$B/harness.bin"
	tests/xen/run tests/sys/harness.sh "$B/harness.bin" > "$h.out" 2> "$h.err"
	hcheck "script status passed on" $? 3
	hcheck "stdout apart from stderr" "$(head -n 1 "$h.out")" to-stdout
	hcheck "stderr apart from stdout" "$(grep -c . "$h.err")" 1
	hcheck "1 MiB of output arrives whole" "$(tail -c +11 "$h.out" | sha256sum)" "$(sha256sum < "$h.bin")"
	XENVM_TIMEOUT=5 tests/xen/run tests/sys/harness-sleep.sh > /dev/null 2>&1
	hcheck "a script past XENVM_TIMEOUT gives 124" $? 124
	XENVM_BOOT_TIMEOUT=1 tests/xen/run tests/sys/harness.sh "$B/harness.bin" > /dev/null 2>&1
	hcheck "a host that does not boot gives 2" $? 2
	rm -f "$h.bin" "$h.out" "$h.err" "$B/harness.bin"
}

# A bound on each boot's script (XENVM_TIMEOUT, 1800 s for all): beside
# the other lane the longest (pool, open, crash, disp, debian) took 740 to
# 1230 s here, and one slow run must not fail the suite.  The boots run in two lanes, two emulated hosts
# at once (XENVM_LANES=1: one after the other): a host keeps about one of
# the machine's cores busy, so two finish the suite in some two thirds of
# the time.  Each lane has its own console log.
lane_a() {
	# A real Debian 12 guest boots for a minute or more under emulation.
	boot tests/sys/debian.sh tests/sys/lib.sh "$B/tests/xswait" \
		"$B/tests/ptyrun" "$B/tests/guestrun" "$B/tests/elapsed"
	# Some 20 disposables over three volume drivers; the pool tests
	# build some 35 members.
	boot tests/sys/crash.sh tests/sys/lib.sh "$B/tests/xswait"
	boot tests/sys/pool.sh tests/sys/lib.sh "$B/tests/xswait" \
		"$B/tests/sys-release"
	boot tests/sys/lvm.sh tests/sys/lib.sh "$B/tests/xswait" "$B/tests/volbench"
	# Terminal openers: vi in a disposable on an ordinary guest's terminal.
	boot tests/sys/term.sh tests/sys/lib.sh "$B/tests/xswait" \
		"$B/tests/ptyrun" "$B/tests/guestrun"
	# systemd as dom0's PID 1: the installed units, sandboxed, fill a
	# pool on LVM and serve a dvm-open (some 2 min alone).
	boot tests/sys/systemd.sh tests/sys/lib.sh "$B/tests/xswait" \
		"$B/tests/guestrun"
}
lane_b() {
	harness
	boot tests/sys/foundation.sh tests/sys/lib.sh "$B/tests/xswait" \
		"$B/tests/sys-lifecycle" "$B/tests/sys-xstxn"
	boot tests/sys/chan.sh tests/sys/lib.sh "$B/tests/xswait" \
		"$B/tests/sys-chan" "$B/tests/hostile-agent"
	boot tests/sys/disp.sh tests/sys/lib.sh "$B/tests/xswait"
	# Names of one's own, users, a template's time limit.
	boot tests/sys/names.sh tests/sys/lib.sh "$B/tests/xswait" \
		"$B/tests/elapsed"
	boot tests/sys/tty.sh tests/sys/lib.sh "$B/tests/xswait" "$B/tests/ptyrun"
	boot tests/sys/open.sh tests/sys/lib.sh "$B/tests/xswait" "$B/tests/guestrun"
	# README's and the man pages' examples, extracted at test time.
	boot tests/sys/examples.sh tests/sys/lib.sh tests/sys/examples.awk README \
		man/*.[1-8] tests/sys/suspicious.zip "$B/tests/xswait" "$B/tests/guestrun"
	# RAM-only volumes: a marker scanned for on every disk, pools, dvm-open, gc.
	boot tests/sys/ram.sh tests/sys/lib.sh "$B/tests/xswait" "$B/tests/guestrun"
	# Wayland windows: dvm-run --wayland to dom0's weston, dvm-open's
	# graphical opener to a Debian guest's weston.
	boot tests/sys/wayland.sh tests/sys/lib.sh "$B/tests/xswait" \
		"$B/tests/guestrun"
	# The other xenstore daemon, the C one (upstream Xen's default, and
	# Qubes'): the xenstore layer, lifecycle and dvm-run's paths again.
	(
		XENVM_XENSTORED=xenstored
		export XENVM_XENSTORED
		boot tests/sys/foundation.sh tests/sys/lib.sh "$B/tests/xswait" \
			"$B/tests/sys-lifecycle" "$B/tests/sys-xstxn"
		boot tests/sys/names.sh tests/sys/lib.sh "$B/tests/xswait" \
			"$B/tests/elapsed"
	)
}
export XENVM_TIMEOUT=1800
X=${XENVM_DIR:-$top/build/xen}
# Build the host once, before the lanes share it.
mkdir -p "$X"
flock "$X/.build.lock" tests/xen/build.sh > "$X/build.log" 2>&1 || {
	tail -n 5 "$X/build.log" >&2
	echo "FAIL: the emulated host did not build (see $X/build.log)"
	exit 1
}
if [ "${XENVM_LANES:-2}" = 1 ]; then
	lane_a
	lane_b
else
	# Each lane's output is shown whole once it ends, not interleaved.
	(log=$log.a; export XENVM_CONSOLE=$X/console-a.log; lane_a) > "$log.a.out" 2>&1 &
	a=$!
	(log=$log.b; export XENVM_CONSOLE=$X/console-b.log; lane_b) > "$log.b.out" 2>&1 &
	b=$!
	wait $b
	cat "$log.b.out"
	wait $a
	cat "$log.a.out"
	cat "$log.a" "$log.b" >> "$log" 2>/dev/null
	rm -f "$log.a" "$log.b" "$log.a.out" "$log.b.out"
fi

passed=$(grep -c '^PASS: ' "$log")
failed=$(grep -c '^FAIL: ' "$log")
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
