#!/bin/sh
# Runs the dvm-run benchmark in the emulated Xen host (BENCH_N runs each);
# "open" runs dvm-open's instead, "ram" the cost of RAM-only volumes,
# "debian" dvm-run's with the real Debian guest.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
cd "$top"
make -s all >/dev/null || exit 1
# 20 runs by default: the p95 (by nearest rank) is then the 19th of 20,
# where with 10 it was the slowest run, the emulator's worst stall.
echo "N=${BENCH_N:-20}" > "$B/bench.env"
# A benchmark boot builds some 5 N disposables: an hour, not the harness's
# default 10 minutes (BENCH_N=7 took 41 min with another host beside it).
export XENVM_TIMEOUT=${XENVM_TIMEOUT:-3600}
# The runs the emulator's code-cache flushes reached are told apart
# (tests/sys/bench.sh, jit_note); XENVM_JIT=0 leaves that out.
export XENVM_JIT=${XENVM_JIT:-1}
# tests/bench.sh open: the dvm-open benchmark instead of dvm-run's.
if [ "${1:-}" = open ]; then
	echo "COLD=${BENCH_COLD:-1}" >> "$B/bench.env"
	exec tests/xen/run tests/sys/bench-open.sh "$B/bench.env" \
		tests/sys/lib.sh "$B/tests/elapsed" "$B/tests/xswait" \
		"$B/tests/guestrun"
fi
# tests/bench.sh ram: RAM-only volumes against reflink snapshots.
if [ "${1:-}" = ram ]; then
	exec tests/xen/run tests/sys/bench-ram.sh "$B/bench.env" \
		tests/sys/lib.sh "$B/tests/xswait"
fi
# tests/bench.sh debian: the floor, named and pooled paths of the real
# Debian 12 guest (tests/xen/debian.sh's template), BENCH_N 5 by default:
# each pooled run waits for a Debian member's build.
if [ "${1:-}" = debian ]; then
	echo "N=${BENCH_N:-5} GUEST=debian" > "$B/bench.env"
	exec tests/xen/run tests/sys/bench.sh "$B/bench.env" tests/sys/lib.sh \
		"$B/tests/elapsed" "$B/tests/xswait" "$B/tests/guestrun" \
		"$B/tests/guestrun-static"
fi
echo "MIB=${BENCH_MIB:-64}" >> "$B/bench.env"
# BENCH_COLD=0 leaves out the cold runs, BENCH_THROUGHPUT=0 the streams:
# a quick comparison of the floor, named and pooled paths.
echo "COLD=${BENCH_COLD:-1} THROUGHPUT=${BENCH_THROUGHPUT:-1}" >> "$B/bench.env"
exec tests/xen/run tests/sys/bench.sh "$B/bench.env" tests/sys/lib.sh \
	"$B/tests/elapsed" "$B/tests/xswait" "$B/tests/vchanbench" \
	"$B/tests/guestrun" "$B/tests/guestrun-static"
