# Benchmark (not a test): dvm-open from an ordinary guest, cold vs from a
# pool of 1, N runs each, with an opener that only reads the file; median
# and p95 to dvm-open's exit, and the ratio.  Times include guestrun's own
# round trip to the guest's agent (about that of an idle dvm-run channel),
# which is measured too and taken off for the comparison with what the
# request costs by dvm-run: a pooled `dvm-run true` and the file's two
# moves (`cat` of it through a running disposable, less `true`), and a
# pooled dvm-run of the opener's own command and the two moves.
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
N=20 COLD=1
[ -r bench.env ] && . ./bench.env
cfg=/etc/litedvm
for t in cold pooled; do
	sed -e '/^name/d' -e '/litedvm_preload/d' $cfg/default.cfg > $cfg/$t.cfg
	echo 'litedvm_open_command = [ "/bin/sh", "-c", "cat \"$1\" > /dev/null", "opener", "%f" ]' >> $cfg/$t.cfg
done
# Members keep their memory, as by default: ballooned down, a member
# balloons back up while the first command runs, on the same vCPU, and a
# long session (this one's three programs) pays all of it where a short
# `true` pays part (dvm-opend's session step, median: 341 ms with 80 of
# 96 MiB, 222 ms with all 96, in two boots; bench.sh measures the
# balloon's cost on its own).
printf 'litedvm_preload = 1\n' >> $cfg/pooled.cfg
echo 'work cold pooled' > $cfg/open.policy
start_guest work
work=$(xl domid work)
guestrun "$work" sh -c 'head -c 65536 /dev/urandom > /root/doc.bin'
dvm-opend -v 2> opend.log &

# Before every run the pool holds its one member and nothing else is
# recorded: the last run's teardown and refill are over (untimed), Xen
# has scrubbed what they freed and the host is quiet (as bench.sh).
disps=1
settle() {
	dvm-preload -q -t pooled
	./xswait /litedvm/disp -count=$disps 120 ||
	    echo "the pool did not settle in 120 s" >&2
	./xswait -scrubbed 60 || echo "Xen still scrubs after 60 s" >&2
	./xswait -quiet 60 || echo "the host did not go quiet in 60 s" >&2
}
kinds=pooled
[ "$COLD" = 1 ] && kinds="cold pooled"
i=0
while [ $i -lt "$N" ]; do
	for t in $kinds; do
		settle $t
		elapsed guestrun "$work" dvm-open -t $t /root/doc.bin 2>> $t.log
	done
	elapsed guestrun "$work" true 2>> floor.log
	settle
	elapsed dvm-run -t pooled -- true 2>> run.log
	# The opener's own command, run by dvm-run in a pooled member.
	settle
	elapsed dvm-run -t pooled -- /bin/sh -c 'cat "$1" > /dev/null' \
	    opener /etc/hostname 2>> opener.log
	i=$((i + 1))
done
# The file's two moves, through a disposable that is running already.
guestrun "$work" cat /root/doc.bin > doc.bin
d=$(dvm-create) && disps=2
# Three times N pairs: the move is a few ms beside a ~150 ms session.
i=0
while [ $i -lt $((3 * N)) ]; do
	elapsed dvm-run -n "$d" -- cat < doc.bin 2>> cat.log > doc.out
	cmp -s doc.bin doc.out || echo "cat through $d differs!" >&2
	elapsed dvm-run -n "$d" -- true 2>> true.log
	i=$((i + 1))
done
xl destroy "$d"
# Each run's total (ms) in log $1, in the order the runs came.
run_totals() { sed -n 's/^elapsed \([0-9.]*\) ms$/\1/p' "$1"; }
median() {
	run_totals "$1" | sort -n |
	    awk '{ a[NR] = $1 } END { printf "median %s ms  p95 %s ms  (n=%d)", a[int((NR + 1) / 2)], a[int((NR * 95 + 99) / 100)], NR }'
}
[ "$COLD" = 1 ] && echo "dvm-open cold:   $(median cold.log)"
echo "dvm-open pooled: $(median pooled.log)"
# Each pooled request found a member listed (settle): none may go cold.
echo "pooled requests served from the pool: $(grep -c 'in disp[0-9]* (from the pool)' opend.log) of $(grep -c '^elapsed ' pooled.log)"
c=$(median cold.log 2>/dev/null | awk '{ print $2 }')
p=$(median pooled.log | awk '{ print $2 }')
[ "$COLD" = 1 ] && echo "ratio cold/pooled, median to dvm-open's exit: $c / $p = $(awk "BEGIN { printf \"%.1f\", $c / $p }")x"
m() { median "$1" | awk '{ print $2 }'; }
echo "guestrun true into the guest (taken off): $(median floor.log)"
echo "pooled dvm-run true:                      $(median run.log)"
echo "pooled dvm-run of the opener's command:   $(median opener.log)"
echo "dvm-run -n cat of the file:               $(median cat.log)"
echo "dvm-run -n true:                          $(median true.log)"
# Differences are taken run by run, A's i-th less B's i-th, and their
# median is used: each pair ran side by side, so a slow stretch of the
# boot weighs on both (a difference of two medians swung from 0 to 23 ms
# for the moves, from boot to boot).
diff_median() {
	run_totals "$1" > a.v
	run_totals "$2" > b.v
	paste a.v b.v | awk 'NF == 2 { print $1 - $2 }' | sort -n |
	    awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
o=$(diff_median pooled.log floor.log)
mv2=$(diff_median cat.log true.log)
echo "dvm-open pooled less guestrun (median of the pairs): $o ms"
echo "the file's two moves, cat less true (median of the pairs): $mv2 ms"
# against WHAT LOG: the request against pooled dvm-run's median in LOG
# plus the two moves.
against() {
	awk -v w="$1" -v o="$o" -v r="$(m "$2")" -v c="$mv2" 'BEGIN {
		printf "against a pooled dvm-run of %s + two moves: %.0f + %.0f = %.0f ms; ratio %.2fx\n", w, r, c, r + c, o / (r + c) }'
}
against true run.log
# Like for like: what dvm-run takes to run the same opener in a pooled
# member, plus the two moves; the difference is what dvm-open adds.
against "the opener command" opener.log
# dvm-opend -v: each pooled request's steps, ms after it read the request
# (medians); what is left of dvm-open's time is the guest's own: the
# tool's start, its channel and request, and the end after the outcome.
awk '/ opens .* in disp/ { pooled = / \(from the pool\)/ }
    pooled && /worker ready/ { o = ""; for (i = 3; i <= NF; i++) if ($i ~ /^\+-?[0-9]+,?$/) { gsub(/[+,]/, "", $i); o = o (o == "" ? "" : " ") $i } print o }' \
    opend.log > steps.txt
if [ -s steps.txt ]; then
	echo "dvm-opend's steps of a pooled request, median ms after reading it (n=$(wc -l < steps.txt)):"
	i=1
	for what in "worker ready" "guest connected" "file in" "disposable" "session over" "released" "outcome sent"; do
		printf '  %-16s %s\n' "$what" "$(cut -d' ' -f$i steps.txt | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
		i=$((i + 1))
	done
fi
stop_guests work
