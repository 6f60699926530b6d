#!/bin/sh
# Runs the libFuzzer targets built under B/fuzz (see tests/fuzz/README).
#   run.sh replay B TARGET...        each reproducer in tests/fuzz/crashes/
#   run.sh fuzz B SECONDS TARGET...  each target for SECONDS
# New corpus entries go to B/fuzz/corpus/TARGET, crashes to
# B/fuzz/crashes/TARGET; nothing is written into the tree.  Exits 1 when a
# target crashed.
set -u
here=$(dirname "$0")
mode=$1 b=$2
shift 2
fail=0
# Leaks that are libxlutil's own, not litedvm's.
LSAN_OPTIONS=suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
export LSAN_OPTIONS

case "$mode" in
replay)
	for t in "$@"; do
		set --
		for f in "$here/crashes/$t"/*; do
			[ -f "$f" ] && set -- "$@" "$f"
		done
		[ $# -eq 0 ] && continue
		if "$b/fuzz/$t" "$@" >"$b/fuzz/$t.replay.log" 2>&1; then
			echo "fuzz: $t: $# reproducer(s) pass"
		else
			echo "fuzz: $t: a reproducer crashes, see $b/fuzz/$t.replay.log" >&2
			tail -n 30 "$b/fuzz/$t.replay.log" >&2
			fail=1
		fi
	done
	;;
fuzz)
	secs=$1
	shift
	case "$secs" in
	''|*[!0-9]*) echo "fuzz: FUZZ_TIME must be a number of seconds" >&2
		exit 2 ;;
	esac
	printf '%-10s %12s %8s %8s  %s\n' target executions cov ft result
	for t in "$@"; do
		mkdir -p "$b/fuzz/corpus/$t" "$b/fuzz/crashes/$t"
		log=$b/fuzz/$t.log
		dict=
		[ -f "$here/$t.dict" ] && dict=-dict=$here/$t.dict
		"$b/fuzz/$t" -max_total_time="$secs" -timeout=10 \
		    -print_final_stats=1 \
		    -artifact_prefix="$b/fuzz/crashes/$t/" ${dict:+"$dict"} \
		    "$b/fuzz/corpus/$t" "$here/corpus/$t" >"$log" 2>&1
		rc=$?
		# libFuzzer's last line: "#N DONE cov: C ft: F corp: ..."
		done=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
		execs=$(echo "$done" | sed -n 's/^#\([0-9]*\).*/\1/p')
		cov=$(echo "$done" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
		ft=$(echo "$done" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
		if [ $rc -eq 0 ] && [ -n "$done" ]; then
			res=ok
		else
			res="CRASH (exit $rc): $log"
			fail=1
		fi
		printf '%-10s %12s %8s %8s  %s\n' "$t" "${execs:--}" \
		    "${cov:--}" "${ft:--}" "$res"
		if [ "$res" != ok ]; then
			grep -E 'ERROR|SUMMARY|invariant failed|Test unit written' \
			    "$log" | head -n 10 >&2
			ls "$b/fuzz/crashes/$t" >&2
		fi
	done
	;;
*)
	echo "usage: run.sh replay B TARGET... | run.sh fuzz B SECONDS TARGET..." >&2
	exit 2
	;;
esac
exit $fail
