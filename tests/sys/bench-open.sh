# Benchmark (not a test): dvm-open from an ordinary guest, cold vs from a
# pool of 1, N runs each, with an opener that only reads the file; median
# and p95 to dvm-open's exit, and the ratio.  Times include guestrun's own
# round trip to the guest's agent (about that of an idle dvm-run channel).
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
N=10
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
dvm-opend 2> opend.log &

# Before every run the pool holds its one member and nothing else is
# recorded: the last run's teardown and refill are over (untimed).
settle() {
	dvm-preload -q -t pooled
	./xswait /litedvm/disp -count=1 120
}
i=0
while [ $i -lt "$N" ]; do
	for t in cold pooled; do
		settle $t
		elapsed guestrun "$work" dvm-open -t $t /root/doc.bin 2>> $t.log
	done
	i=$((i + 1))
done
median() {
	sed -n 's/^elapsed \([0-9.]*\) ms$/\1/p' "$1" | sort -n |
	    awk '{ a[NR] = $1 } END { printf "median %s ms  p95 %s ms  (n=%d)", a[int((NR + 1) / 2)], a[int((NR * 95 + 99) / 100)], NR }'
}
echo "dvm-open cold:   $(median cold.log)"
echo "dvm-open pooled: $(median pooled.log)"
c=$(median cold.log | awk '{ print $2 }')
p=$(median pooled.log | awk '{ print $2 }')
echo "ratio cold/pooled, median to dvm-open's exit: $c / $p = $(awk "BEGIN { printf \"%.1f\", $c / $p }")x"
stop_guests work
