# Benchmark (not a test): dvm-open from an ordinary guest, cold vs from a
# pool of 1, N runs each, with an opener that only reads the file; median
# and p95 to dvm-open's exit, and the ratio.  Times include guestrun's own
# round trip to the guest's agent (about that of an idle dvm-run channel),
# which is measured too and taken off for the comparison with what the
# request costs by dvm-run: a pooled `dvm-run true` and the file's two
# moves (`cat` of it through a running disposable, less `true`).
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
N=10 COLD=1
[ -r bench.env ] && . ./bench.env
cfg=/etc/litedvm
for t in cold pooled; do
	sed -e '/^name/d' -e '/litedvm_preload/d' $cfg/default.cfg > $cfg/$t.cfg
	echo 'litedvm_open_command = [ "/bin/sh", "-c", "cat \"$1\" > /dev/null", "opener", "%f" ]' >> $cfg/$t.cfg
done
printf 'litedvm_preload = 1\nlitedvm_preload_memory = 80\n' >> $cfg/pooled.cfg
echo 'work cold pooled' > $cfg/open.policy
start_guest work
work=$(xl domid work)
guestrun "$work" sh -c 'head -c 65536 /dev/urandom > /root/doc.bin'
dvm-opend -v 2> opend.log &

# Before every run the pool holds its one member and nothing else is
# recorded: the last run's teardown and refill are over (untimed).
disps=1
settle() {
	dvm-preload -q -t pooled
	./xswait /litedvm/disp -count=$disps 120 ||
	    echo "the pool did not settle in 120 s" >&2
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
	i=$((i + 1))
done
# The file's two moves, through a disposable that is running already.
guestrun "$work" cat /root/doc.bin > doc.bin
d=$(dvm-create) && disps=2
i=0
while [ $i -lt "$N" ]; do
	elapsed dvm-run -n "$d" -- cat < doc.bin 2>> cat.log > doc.out
	cmp -s doc.bin doc.out || echo "cat through $d differs!" >&2
	elapsed dvm-run -n "$d" -- true 2>> true.log
	i=$((i + 1))
done
xl destroy "$d"
median() {
	sed -n 's/^elapsed \([0-9.]*\) ms$/\1/p' "$1" | sort -n |
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
echo "dvm-run -n cat of the file:               $(median cat.log)"
echo "dvm-run -n true:                          $(median true.log)"
awk -v o="$p" -v g="$(m floor.log)" -v r="$(m run.log)" -v c="$(m cat.log)" \
    -v t="$(m true.log)" 'BEGIN {
	printf "dvm-open pooled less guestrun: %.0f ms; pooled dvm-run + two moves: %.0f + %.0f = %.0f ms; ratio %.2fx\n", o - g, r, c - t, r + c - t, (o - g) / (r + c - t) }'
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
