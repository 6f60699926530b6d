# The cost of RAM-only volumes against reflink snapshots, in one boot: the
# time to make a disposable (dvm-create -v phases, medians of N), and dom0
# memory (Shmem of /proc/meminfo, where the tmpfs-backed COW store lives)
# with the disposable idle and after it wrote 32 MiB.
. /tmp/lib.sh
. /tmp/bench.env
cd /tmp
PATH=/tmp:$PATH
cfg=/etc/litedvm
while read -r m; do insmod "$m" 2>/dev/null; done < /etc/modules.dm
sed -e '/^name/d' $cfg/default.cfg > $cfg/ram.cfg
echo 'litedvm_volatile = "ram"' >> $cfg/ram.cfg

shmem() { awk '/^Shmem:/ { print $2 }' /proc/meminfo; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

for t in default ram; do
	: > snap.$t; : > total.$t; : > idle.$t; : > used.$t
	i=0
	while [ $i -lt "$N" ]; do
		s0=$(shmem)
		d=$(dvm-create -v -t $t 2> create.err)
		awk -v d="$d" '$2 == d":" && /snapshot/ { print $(NF - 1) }' \
			create.err >> snap.$t
		awk -v d="$d" '$2 == d":" && / ms$/ { s += $(NF - 1) } END { print s }' \
			create.err >> total.$t
		s1=$(shmem)
		dvm-run -n "$d" -- sh -c 'head -c 33554432 /dev/urandom > /w; sync' < /dev/null
		s2=$(shmem)
		echo $((s1 - s0)) >> idle.$t
		echo $((s2 - s0)) >> used.$t
		xl destroy "$d"
		/tmp/xswait "/litedvm/disp/$d" -absent 60
		i=$((i + 1))
	done
done
for t in default ram; do
	echo "RESULT $t: snapshot $(median < snap.$t) ms, create total" \
	    "$(median < total.$t) ms, dom0 Shmem +$(median < idle.$t) KiB idle," \
	    "+$(median < used.$t) KiB after 32 MiB written (medians of $N)"
done
check_clean "after the RAM benchmark"
