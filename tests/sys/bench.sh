# Benchmark (not a test): dvm-run cold vs from a pool of 2, `true` and
# `cat` of 1 MiB, N runs each; median and p95 per phase, and the ratio.
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

for k in cold-true pooled-true cold-cat pooled-cat; do
	echo "$k:"
	stats $k.log
done
for c in true cat; do
	cm=$(median_total cold-$c.log)
	pm=$(median_total pooled-$c.log)
	echo "ratio cold/pooled, $c, median to exit status: $cm / $pm = $(awk "BEGIN { printf \"%.1f\", $cm / $pm }")x"
done
