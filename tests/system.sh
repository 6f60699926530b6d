#!/bin/sh
# Runs the system tests in the emulated Xen host, a few boots in all, and
# prints one closing "N passed, N failed" line.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
cd "$top"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

# POSIX sh has no pipefail: run the harness in a subshell that saves its status.
boot() {
	script=$1
	echo "== $script" >&2
	t0=$(date +%s)
	{ tests/xen/run "$@"; echo $? > "$log.rc"; } | tee -a "$log"
	rc=$(cat "$log.rc")
	rm -f "$log.rc"
	echo "== $script: $(($(date +%s) - t0)) s" >&2
	if [ "$rc" != 0 ]; then
		echo "FAIL: $script exited $rc" | tee -a "$log"
		status=1
	fi
}

# The harness itself: its exit statuses and its streams.
hcheck() {
	if [ "$2" = "$3" ]; then echo "PASS: harness: $1"; else
		echo "FAIL: harness: $1 (got $2, want $3)"; fi | tee -a "$log"
}
head -c 1048576 /dev/urandom > "$log.bin"
cp "$log.bin" "$B/harness.bin"
tests/xen/run tests/sys/harness.sh "$B/harness.bin" > "$log.out" 2> "$log.err"
hcheck "script status passed on" $? 3
hcheck "stdout apart from stderr" "$(head -n 1 "$log.out")" to-stdout
hcheck "stderr apart from stdout" "$(grep -c . "$log.err")" 1
hcheck "1 MiB of output arrives whole" "$(tail -c +11 "$log.out" | sha256sum)" "$(sha256sum < "$log.bin")"
XENVM_TIMEOUT=5 tests/xen/run tests/sys/harness-sleep.sh > /dev/null 2>&1
hcheck "a script past XENVM_TIMEOUT gives 124" $? 124
XENVM_BOOT_TIMEOUT=1 tests/xen/run tests/sys/harness.sh "$B/harness.bin" > /dev/null 2>&1
hcheck "a host that does not boot gives 2" $? 2
rm -f "$log.bin" "$log.out" "$log.err" "$B/harness.bin"

# A bound on each boot's script: the longest (disp, pool, crash) take
# several minutes under emulation.
export XENVM_TIMEOUT=900
boot tests/sys/foundation.sh tests/sys/lib.sh "$B/tests/xswait" \
	"$B/tests/sys-lifecycle" "$B/tests/sys-xstxn"
boot tests/sys/chan.sh tests/sys/lib.sh "$B/tests/xswait" \
	"$B/tests/sys-chan" "$B/tests/hostile-agent"
boot tests/sys/disp.sh tests/sys/lib.sh "$B/tests/xswait"
# Names of one's own, users, a template's time limit.
boot tests/sys/names.sh tests/sys/lib.sh "$B/tests/xswait"
boot tests/sys/tty.sh tests/sys/lib.sh "$B/tests/xswait" "$B/tests/ptyrun"
# The pool tests build some 30 members: more time than the others.
XENVM_TIMEOUT=1200
boot tests/sys/pool.sh tests/sys/lib.sh "$B/tests/xswait"
XENVM_TIMEOUT=900
boot tests/sys/open.sh tests/sys/lib.sh "$B/tests/xswait" "$B/tests/guestrun"
# README's and the man pages' examples, extracted at test time.
boot tests/sys/examples.sh tests/sys/lib.sh tests/sys/examples.awk README \
	man/*.[1-8] tests/sys/suspicious.zip "$B/tests/xswait" "$B/tests/guestrun"
boot tests/sys/lvm.sh tests/sys/lib.sh "$B/tests/xswait" "$B/tests/volbench"
# RAM-only volumes: a marker scanned for on every disk, pools, dvm-open, gc.
boot tests/sys/ram.sh tests/sys/lib.sh "$B/tests/xswait" "$B/tests/guestrun"
# Some 20 disposables over three volume drivers.
boot tests/sys/crash.sh tests/sys/lib.sh "$B/tests/xswait"
# A real Debian 12 guest boots for a minute or more under emulation.
export XENVM_TIMEOUT=1800
boot tests/sys/debian.sh tests/sys/lib.sh "$B/tests/xswait" \
	"$B/tests/ptyrun" "$B/tests/guestrun" "$B/tests/elapsed"

passed=$(grep -c '^PASS: ' "$log")
failed=$(grep -c '^FAIL: ' "$log")
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$status" = 0 ]
