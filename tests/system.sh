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
	{ tests/xen/run "$@"; echo $? > "$log.rc"; } | tee -a "$log"
	rc=$(cat "$log.rc")
	rm -f "$log.rc"
	if [ "$rc" != 0 ]; then
		echo "FAIL: $script exited $rc" | tee -a "$log"
		status=1
	fi
}

boot tests/sys/foundation.sh tests/sys/lib.sh "$B/tests/xswait" \
	"$B/tests/sys-lifecycle" "$B/tests/sys-xstxn"
boot tests/sys/chan.sh tests/sys/lib.sh "$B/tests/xswait" \
	"$B/tests/sys-chan" "$B/tests/hostile-agent"
boot tests/sys/disp.sh tests/sys/lib.sh "$B/tests/xswait"
boot tests/sys/pool.sh tests/sys/lib.sh "$B/tests/xswait"
boot tests/sys/lvm.sh tests/sys/lib.sh "$B/tests/xswait" "$B/tests/volbench"

passed=$(grep -c '^PASS: ' "$log")
failed=$(grep -c '^FAIL: ' "$log")
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$status" = 0 ]
