#!/bin/sh
# Runs the dvm-run benchmark in the emulated Xen host (BENCH_N runs each).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
cd "$top"
make -s all >/dev/null || exit 1
echo "N=${BENCH_N:-10}" > "$B/bench.env"
# tests/bench.sh open: the dvm-open benchmark instead of dvm-run's.
if [ "${1:-}" = open ]; then
	exec tests/xen/run tests/sys/bench-open.sh "$B/bench.env" \
		tests/sys/lib.sh "$B/tests/elapsed" "$B/tests/xswait" \
		"$B/tests/guestrun"
fi
echo "MIB=${BENCH_MIB:-64}" >> "$B/bench.env"
exec tests/xen/run tests/sys/bench.sh "$B/bench.env" tests/sys/lib.sh \
	"$B/tests/elapsed" "$B/tests/xswait" "$B/tests/vchanbench" \
	"$B/tests/guestrun"
