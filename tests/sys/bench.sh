# Benchmark (not a test): dvm-run cold vs from a pool of 2, `true` and
# `cat` of 1 MiB, N runs each; median and p95 per phase, and the ratio.
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
N=10
[ -r bench.env ] && . ./bench.env
cfg=/etc/litedvm
sed -e '/litedvm_preload/d' $cfg/default.cfg > $cfg/pooled.cfg
printf 'litedvm_preload = 2\nlitedvm_preload_memory = 80\n' >> $cfg/pooled.cfg
head -c 1048576 /dev/urandom > in.bin

# The pool is refilled (untimed) before each pooled run, and the previous
# run's background teardown is let finish, so every run sees a full pool.
settle() {
	dvm-preload -q -t pooled
	./xswait /litedvm/disp -count=2 120 2>/dev/null
}

run() {
	# run LOG TEMPLATE CMD...
	log=$1 tpl=$2
	shift 2
	[ "$tpl" = pooled ] && settle
	if [ "$1" = cat ]; then
		elapsed dvm-run -v -t "$tpl" -- "$@" < in.bin > out.bin 2>>"$log"
	else
		elapsed dvm-run -v -t "$tpl" -- "$@" </dev/null >/dev/null 2>>"$log"
	fi
	cmp -s in.bin out.bin || [ "$1" != cat ] || echo "cat output differs!" >&2
}

i=0
while [ $i -lt "$N" ]; do
	run cold-true.log default true
	run cold-cat.log default cat
	run pooled-true.log pooled true
	run pooled-cat.log pooled cat
	i=$((i + 1))
done

stats() {
	# Phase lines: "dvm-run: dispN: <phase...> <ms> ms"; "elapsed <ms> ms".
	awk '
	/^elapsed / { v["total (to exit status)"] = v["total (to exit status)"] " " $2; next }
	/^dvm-run: disp[0-9]*: .* ms$/ {
		p = $0; sub(/^dvm-run: disp[0-9]*: /, "", p)
		ms = $(NF - 1); sub(/ +[0-9]+ ms$/, "", p)
		v[p] = v[p] " " ms
	}
	END { for (p in v) print p "\t" v[p] }' "$1" |
	while IFS='	' read -r phase vals; do
		set -- $(printf '%s\n' $vals | sort -n)
		n=$#
		med=$(printf '%s\n' "$@" | sed -n "$(( (n + 1) / 2 ))p")
		p95=$(printf '%s\n' "$@" | sed -n "$(( (n * 95 + 99) / 100 ))p")
		printf '  %-26s median %8s ms  p95 %8s ms  (n=%d)\n' "$phase" "$med" "$p95" "$n"
	done
}

median_total() {
	sed -n 's/^elapsed \([0-9.]*\) ms$/\1/p' "$1" | sort -n |
	    awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

# BENCH_N=0: only the throughput below.
[ "$N" -gt 0 ] && for k in cold-true pooled-true cold-cat pooled-cat; do
	echo "$k:"
	stats $k.log
done
[ "$N" -gt 0 ] && for c in true cat; do
	cm=$(median_total cold-$c.log)
	pm=$(median_total pooled-$c.log)
	echo "ratio cold/pooled, $c, median to exit status: $cm / $pm = $(awk "BEGIN { printf \"%.1f\", $cm / $pm }")x"
done

# ---- stream throughput, one disposable, MIB MiB each way (default 64):
# raw libxenvchan (vchanbench, the agent's ring sizes) against dvm-run's
# standard input and output, and a dvm-open round trip.
MIB=${MIB:-64}
bytes=$((MIB * 1048576))
d=$(dvm-create)
id=$(xl domid "$d")
dvm-run -n "$d" -- sh -c 'cat > /tmp/vchanbench && chmod +x /tmp/vchanbench' \
	< vchanbench
dvm-run -n "$d" -- /tmp/vchanbench serve $bytes < /dev/null &
vb=$!
./xswait "/local/domain/$id/data/vchanbench/event-channel" -present 60
./vchanbench connect "$id" $bytes > raw.txt
wait $vb
head -c $bytes /dev/zero > big.bin
# Twice each, interleaved, the best counts: the host is shared.
# The command's own cost, no channel: head | wc in the guest.
: > in.log; : > out.log; : > pipe.log; : > alone.log
for i in 1 2; do
	elapsed dvm-run -n "$d" -- sh -c "head -c $bytes /dev/zero | wc -c" \
	    > /dev/null 2>> alone.log
	got=$(elapsed dvm-run -n "$d" -- wc -c < big.bin 2>> in.log)
	[ "$got" = $bytes ] || echo "dvm-run in: $got bytes, not $bytes!"
	elapsed dvm-run -n "$d" -- head -c $bytes /dev/zero > big.out 2>> out.log
	got=$(wc -c < big.out)
	[ "$got" = $bytes ] || echo "dvm-run out: $got bytes, not $bytes!"
	rm -f big.out
	got=$(elapsed sh -c "dvm-run -n $d -- head -c $bytes /dev/zero | wc -c" 2>> pipe.log)
	[ "$got" = $bytes ] || echo "dvm-run out to a pipe: $got bytes, not $bytes!"
done
xl destroy "$d"
./xswait "/litedvm/disp/$d" -absent 30

# dvm-open: a file of MIB/16 MiB from an ordinary guest to a preloaded
# disposable whose opener appends a line, and back.
omib=$((MIB / 16))
sed -e '/^name/d' -e '/litedvm_preload/d' $cfg/default.cfg > $cfg/rt.cfg
echo 'litedvm_open_command = [ "/bin/sh", "-c", "echo edited >> \"$1\"", "opener", "%f" ]' >> $cfg/rt.cfg
printf 'litedvm_preload = 1\nlitedvm_preload_memory = 80\n' >> $cfg/rt.cfg
echo 'work rt' > $cfg/open.policy
start_guest work
work=$(xl domid work)
guestrun "$work" sh -c "head -c $((omib * 1048576)) /dev/zero > /root/doc.bin"
dvm-opend 2> opend.log &
opend=$!
dvm-preload -q -t rt
./xswait /litedvm/disp -count=1 120
elapsed guestrun "$work" dvm-open /root/doc.bin 2> open.log
rc=$?
echo "dvm-open exit $rc (3: replaced)" >> open.log
if [ $rc != 3 ]; then
	tail -n 20 /var/log/xen/console/guest-*.log opend.log 2>/dev/null |
	    sed 's/^/# /'
fi
kill $opend
wait $opend
stop_guests work

ms() { sed -n 's/^elapsed \([0-9.]*\) ms$/\1/p' "$1" | sort -n | head -n 1; }
raw_in=$(awk '/raw vchan in/ { print $4 }' raw.txt)
raw_out=$(awk '/raw vchan out/ { print $4 }' raw.txt)
row() {
	# row WHAT MIB MS RAW
	awk -v w="$1" -v m="$2" -v t="$3" -v r="$4" 'BEGIN {
		v = m / (t / 1000)
		printf "  %-40s %6.1f s %7.2f MiB/s", w, t / 1000, v
		if (r > 0) printf "  %3.0f%% of raw", 100 * v / r
		printf "\n" }'
}
echo "throughput, $MIB MiB, dom0 <-> one disposable:"
cat raw.txt | sed 's/^/  /'
row "dvm-run in  (file | wc -c)" $MIB "$(ms in.log)" "$raw_in"
row "dvm-run out (head -c > file)" $MIB "$(ms out.log)" "$raw_out"
row "dvm-run out (head -c | wc -c)" $MIB "$(ms pipe.log)" "$raw_out"
row "in the guest alone (head -c | wc -c)" $MIB "$(ms alone.log)" 0
row "dvm-open round trip ($omib MiB each way)" $((omib * 2)) "$(ms open.log)" 0
grep -v '^elapsed' open.log | sed 's/^/  /'
