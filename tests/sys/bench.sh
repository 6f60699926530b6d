# Benchmark (not a test): dvm-run cold vs from a pool of 2, `true` and
# `cat` of 1 MiB, N runs each; median and p95 per phase, and the ratio.
# GUEST=debian: the floor, named and pooled `true` only, of the real
# Debian 12 guest (debian.sh's template) instead of the busybox one.
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
N=20 COLD=1 THROUGHPUT=1 GUEST=busybox
[ -r bench.env ] && . ./bench.env
cfg=/etc/litedvm
# The template of the named disposable, the pool of the pooled runs.
tnamed= tpool=pooled disps=3
if [ "$GUEST" = debian ]; then
	COLD=0 THROUGHPUT=0 tnamed=debian tpool=debpool disps=1
	sed -e 's/^name.*/name = "debpool"/' -e '/litedvm_preload/d' \
	    $cfg/debian.cfg > $cfg/debpool.cfg
	printf 'litedvm_preload = 1\n' >> $cfg/debpool.cfg
fi
# Two pools: "pooled" as a template has it by default (members keep their
# memory), "balloon" with members ballooned down to 80 of their 96 MiB,
# which they balloon back up while the command starts.
[ "$GUEST" = debian ] || {
sed -e '/litedvm_preload/d' -e '/^name/d' $cfg/default.cfg > $cfg/pooled.cfg
cp $cfg/pooled.cfg $cfg/balloon.cfg
# The named disposable's template: the default one, logging as they do.
cp $cfg/pooled.cfg $cfg/named.cfg
tnamed=named
printf 'litedvm_preload = 2\n' >> $cfg/pooled.cfg
printf 'litedvm_preload = 1\nlitedvm_preload_memory = 80\n' >> $cfg/balloon.cfg
# Their agents log each session's steps on the console (guest-init).  The
# named disposable's does too: the floor and the named path then carry
# the same console writes (a line at connect, one at the end, each woken
# on dom0's CPU by xenconsoled) as the pooled paths, and their guest's
# side is there to compare.
for t in pooled balloon named; do
	sed -i 's/^extra = "\(.*\)"/extra = "\1 litedvm.agentv"/' $cfg/$t.cfg
	grep -q agentv $cfg/$t.cfg || echo "$t.cfg: no extra line" >&2
done
}
head -c 1048576 /dev/urandom > in.bin

# The emulator's code-cache flushes (tests/xen/run XENVM_JIT=1): QEMU
# translates each guest's code once and keeps it; when its cache fills it
# drops all of it, and a guest paused across that (a pool member) or idle
# (the named disposable) then runs its next command at a third of its
# speed while its code is translated again: a stall no Xen host has.
# jit_note LOG [POOL], after each timed run: "flushed K" in LOG when the
# count rose since the guest last ran: since pool POOL's newest member
# joined it (jit_pools, at each settle), else since the last jit_note.
jitport= jit_last=
for p in /sys/class/virtio-ports/*; do
	[ "$(cat "$p/name" 2>/dev/null)" = jit ] && jitport=/dev/${p##*/}
done
[ -n "$jitport" ] && exec 9<>"$jitport"
jit_count() { echo q >&9 && read -r jn <&9 && echo "$jn"; }
jit_note() {
	[ -n "$jitport" ] || return 0
	jn=$(jit_count) || return 0
	since=$jit_last
	[ -n "${2:-}" ] && eval "since=\${built_$2:-\$jit_last}"
	[ -n "$since" ] && [ "$jn" -gt "$since" ] &&
	    echo "flushed $((jn - since))" >> "$1"
	jit_last=$jn
}
# For each pool: the count when a member joined it that was not there at
# the settle before (the newest, the one a claim takes).
jit_pools() {
	[ -n "$jitport" ] || return 0
	jn=$(jit_count) || return 0
	for t in pooled balloon debpool; do
		m=$(xenstore-list "/litedvm/pool/$t" 2>/dev/null | tr '\n' ' ')
		eval "old=\${members_$t:-}"
		for x in $m; do
			case " $old " in *" $x "*) ;; *) eval "built_$t=$jn" ;; esac
		done
		eval "members_$t=\$m"
	done
}

# The pool is refilled (untimed) before each pooled run, and the previous
# run's background teardown is let finish, so every run sees a full pool.
# $disps: how many disposables are recorded then (the pools' three, and
# the named path's one while it lives).  Xen scrubs a destroyed domain's
# memory in its idle loop, on a CPU the next run's guest may need: that
# is waited for too, and then for the host to go quiet (xswait -quiet):
# a block hotplug script or a helper's exit can still run once the state
# settled, and shared dom0's one CPU with the next timed run.  The floor,
# the named path and each pooled run come right after a settle (but
# "right after another", on purpose).  A Debian member's build takes
# minutes under emulation.
wait_s=120
[ "$GUEST" = debian ] && wait_s=900
settle() {
	dvm-preload -q
	./xswait /litedvm/disp -count=$disps $wait_s 2>/dev/null ||
	    echo "the pool did not settle in $wait_s s" >&2
	./xswait -scrubbed 60 || echo "Xen still scrubs after 60 s" >&2
	./xswait -quiet 60 || echo "the host did not go quiet in 60 s" >&2
	jit_pools
}

run() {
	# run LOG TEMPLATE CMD...
	log=$1 tpl=$2
	shift 2
	[ "$tpl" = default ] || settle
	if [ "$1" = cat ]; then
		elapsed dvm-run -v -t "$tpl" -- "$@" < in.bin > out.bin 2>>"$log"
	else
		elapsed dvm-run -v -t "$tpl" -- "$@" </dev/null >/dev/null 2>>"$log"
	fi
	jit_note "$log" "$tpl"
	cmp -s in.bin out.bin || [ "$1" != cat ] || echo "cat output differs!" >&2
	# The agent's steps, read from its console before the background
	# teardown destroys the domain (output still in its ring is lost).
	[ "$tpl" = default ] && return
	name=$(sed -n 's/^dvm-run: \(disp[0-9]*\): domain .*/\1/p' "$log" | tail -n 1)
	# Its first session was dvm-preload's own: this run's is the second.
	steps "$name" "$log" 2
}
# sessions NAME: how many sessions disposable NAME's agent logged.
sessions() {
	c=$(grep -c 'dom0 connected at' /var/log/xen/console/guest-$1.log \
	    2>/dev/null)
	echo "${c:-0}"
}
# steps NAME LOG N: the steps of its Nth session, the last, once
# xenconsoled copied that line from the console (2 s at most).  The
# Debian guest's agent logs none (no litedvm.agentv): nothing to wait for.
steps() {
	[ "$GUEST" = debian ] && return
	t=0
	while [ "$(sessions "$1")" -lt "$3" ] && [ $t -lt 40 ]; do
		sleep 0.05
		t=$((t + 1))
	done
	[ "$(sessions "$1")" -ge "$3" ] &&
	grep -h 'dom0 connected at' /var/log/xen/console/guest-$1.log \
	    2>/dev/null | tail -n 1 >> "${2%.log}-agent.txt"
}

# The floor: a command through the agent of an idle, running disposable,
# by the project's own guestrun (process start, connect, exec, exit
# status); and the named path, dvm-run -n into the same disposable.
[ "$N" -gt 0 ] && named=$(dvm-create ${tnamed:+-t $tnamed}) &&
    named_id=$(xl domid "$named") && disps=$((disps + 1))
# A Debian guest's boot goes on long after its agent answers (dvm-preload's
# first session waits for it the same way in a pool member).
[ "$GUEST" = debian ] && guestrun "$named_id" sh -c \
    'timeout 600 systemctl is-system-running --wait; sync' > /dev/null
i=0
while [ $i -lt "$N" ]; do
	# The last run's teardown and refill (a domain booting) are over:
	# else they share the CPU with the floor and the named run.
	settle
	# And one command untimed: the first after a refill settled is
	# slower still (in one boot the floor's median was 168.6 ms there,
	# 130.2 ms right after the named run), and the named and the first
	# pooled run come after runs that refill nothing.
	guestrun "$named_id" true
	jit_note /dev/null
	settle
	n0=$(sessions "$named")
	elapsed guestrun "$named_id" true 2>> floor-true.log
	jit_note floor-true.log
	steps "$named" floor-true.log $((n0 + 1))
	# The same, linked as dom0's tools are (GNUmakefile): liblitedvm
	# and Xen's libraries built in but libxenstore's.
	settle
	elapsed guestrun-static "$named_id" true 2>> floor-static.log
	jit_note floor-static.log
	settle
	n0=$(sessions "$named")
	elapsed dvm-run -v -n "$named" -- true 2>> named-true.log
	jit_note named-true.log
	steps "$named" named-true.log $((n0 + 1))
	if [ "$COLD" = 1 ]; then
		run cold-true.log default true
		run cold-cat.log default cat
	fi
	run pooled-true.log $tpool true
	i=$((i + 1))
	[ "$GUEST" = debian ] && continue
	run pooled-cat.log pooled cat
	run balloon-true.log balloon true
	# Right after another pooled run: that one's teardown and the pool's
	# refill (its background dvm-preload) run beside this one.
	settle
	dvm-run -t pooled -- true </dev/null >/dev/null 2>&1
	elapsed dvm-run -v -t pooled -- true </dev/null >/dev/null \
	    2>> pooled-next.log
	jit_note pooled-next.log pooled
done
[ "$N" -gt 0 ] && xl destroy "$named"

stats() {
	# Phase lines: "dvm-run: dispN: <phase...> <ms> ms"; "elapsed <ms> ms".
	# What no phase covers (the tool's start-up, the template's
	# parsing, its exit) is the total less the phases of that run.
	awk '
	/^elapsed / { v["total (to exit status)"] = v["total (to exit status)"] " " $2
		if (sum != "") v["outside the phases"] = v["outside the phases"] " " $2 - sum
		sum = ""; next }
	/^cpu / { v["cpu of the tool (user+sys)"] = v["cpu of the tool (user+sys)"] " " $2; next }
	/^dvm-run: disp[0-9]*: .* ms$/ {
		p = $0; sub(/^dvm-run: disp[0-9]*: /, "", p)
		ms = $(NF - 1); sub(/ +[0-9]+ ms$/, "", p)
		v[p] = v[p] " " ms; sum += ms
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

# The guest's side of each run, from its agent's log (dvm-agent
# -v), by the guest's own clock from dom0's connection: to the EXEC read,
# to the command's start, to the session's end.
guest_steps() {
	sed -n 's/.*dom0 connected at [0-9.]*; EXEC read +\([0-9]*\) ms, command started +\([0-9]*\) ms, session over +\([0-9]*\) ms.*/\1 \2 \3/p' \
	    "$1" 2>/dev/null |
	awk '{
		printf "dvm-run: disp: guest: connected to EXEC read %d ms\n", $1
		printf "dvm-run: disp: guest: EXEC to command started %d ms\n", $2 - $1
		printf "dvm-run: disp: guest: started to session over %d ms\n", $3 - $2 }'
}

# Each run's total (ms) in log $1, in the order they ran; sorted.
runs() { sed -n 's/^elapsed \([0-9.]*\) ms$/\1/p' "$1"; }
totals() { runs "$1" | sort -n; }

# nth Q: of the sorted values on its input, the Qth percentile by nearest
# rank (Q 50: the median).
nth() { awk -v q="$1" '{ a[NR] = $1 } END { if (NR) print a[int((NR * q + 99) / 100)] }'; }
median_total() { totals "$1" | nth 50; }
# The totals of the runs in log $1 with no code-cache flush (jit_note's
# "flushed" line follows its run's "elapsed" line), sorted; how many had.
clean() {
	awk '/^elapsed / { if (n++ && !bad) print v; v = $2; bad = 0 }
	/^flushed / { bad = 1 }
	END { if (n && !bad) print v }' "$1" | sort -n
}
flushed() { grep -c '^flushed ' "$1"; }

# BENCH_N=0: only the throughput below.
p95_total() { totals "$1" | nth 95; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

[ "$N" -gt 0 ] && for k in floor-true floor-static named-true cold-true pooled-true cold-cat pooled-cat balloon-true pooled-next; do
	[ -s $k.log ] || continue
	echo "$k:"
	stats $k.log
done
[ "$N" -gt 0 ] && for k in floor-true named-true pooled-true pooled-cat balloon-true pooled-next; do
	[ -s $k.log ] || continue
	case $k in
	floor-*|named-*) ;;
	*)
		# Every pooled run had a member listed (settle): none may go
		# cold.
		runs=$(grep -c '^elapsed ' $k.log)
		warm=$(grep -c 'from the preload pool' $k.log)
		echo "$k: $((runs - warm)) of $runs runs went cold with a member listed"
		[ "$k" = pooled-next ] && continue
	esac
	guest_steps $k-agent.txt > $k-guest.log
	# The Debian guest's agent logs no steps (no litedvm.agentv).
	if [ ! -s $k-guest.log ]; then
		[ "$GUEST" = debian ] || echo "$k: no guest steps logged"
		continue
	fi
	echo "$k, the guest's side (its agent's log):"
	stats $k-guest.log
done
[ "$N" -gt 0 ] && [ "$COLD" = 1 ] && for c in true cat; do
	cm=$(median_total cold-$c.log)
	pm=$(median_total pooled-$c.log)
	echo "ratio cold/pooled, $c, median to exit status: $cm / $pm = $(awk "BEGIN { printf \"%.1f\", $cm / $pm }")x"
done
if [ "$N" -gt 0 ]; then
	fm=$(median_total floor-true.log)
	echo "against the floor ($fm ms, median of guestrun true):"
	echo "  named  median $(ratio "$(median_total named-true.log)" "$fm")x  p95 $(ratio "$(p95_total named-true.log)" "$fm")x"
	echo "  pooled median $(ratio "$(median_total pooled-true.log)" "$fm")x  p95 $(ratio "$(p95_total pooled-true.log)" "$fm")x"
	[ -s balloon-true.log ] &&
	    echo "  pooled, ballooned down (80 of 96 MiB) median $(ratio "$(median_total balloon-true.log)" "$fm")x  p95 $(ratio "$(p95_total balloon-true.log)" "$fm")x"
	[ -s pooled-next.log ] &&
	    echo "  pooled, right after another median $(ratio "$(median_total pooled-next.log)" "$fm")x  p95 $(ratio "$(p95_total pooled-next.log)" "$fm")x"
	# The floor has a tail of its own (the emulator's noise, a guest
	# command's slow second mode), which every path shares: so the
	# tails are also compared with each other, and shown whole.
	fp=$(p95_total floor-true.log)
	echo "  the floor's own p95 $(ratio "$fp" "$fm")x of its median"
	# dvm-run has Xen's libraries built in, the floor loads them: the
	# ratios again against guestrun linked as dvm-run is.
	sm=$(median_total floor-static.log)
	echo "against the floor linked as the tools are ($sm ms, median of guestrun-static true):"
	echo "  named  median $(ratio "$(median_total named-true.log)" "$sm")x  p95 $(ratio "$(p95_total named-true.log)" "$sm")x"
	echo "  pooled median $(ratio "$(median_total pooled-true.log)" "$sm")x  p95 $(ratio "$(p95_total pooled-true.log)" "$sm")x"
	echo "against the floor's p95 ($fp ms):"
	echo "  named  p95 $(ratio "$(p95_total named-true.log)" "$fp")x"
	echo "  pooled p95 $(ratio "$(p95_total pooled-true.log)" "$fp")x"
	for k in floor-true floor-static named-true pooled-true; do
		echo "$k, each run (ms, sorted):" $(totals $k.log)
	done
	# Without the runs the emulator's code-cache flush reached: the
	# paths as a Xen host runs them (XENVM_JIT; none when not asked).
	if [ -n "$jitport" ]; then
		echo "runs after a code-cache flush of the emulator (since their guest last ran):"
		for k in floor-true named-true pooled-true pooled-cat balloon-true pooled-next; do
			[ -s $k.log ] && echo "  $k: $(flushed $k.log) of $(runs $k.log | wc -l)"
		done
		c=$(clean floor-true.log)
		cf=$(echo "$c" | nth 50)
		echo "against the floor, runs after no flush ($cf ms, median of $(echo "$c" | wc -l)):"
		for k in named-true pooled-true; do
			v=$(clean $k.log)
			echo "  ${k%-true} median $(ratio "$(echo "$v" | nth 50)" "$cf")x  p95 $(ratio "$(echo "$v" | nth 95)" "$cf")x  (n=$(echo "$v" | wc -l))"
		done
		echo "  the floor's own p95 $(ratio "$(echo "$c" | nth 95)" "$cf")x of its median"
	fi
	# In the order they ran: whether a tail sits early in the boot.
	for k in floor-true named-true pooled-true; do
		echo "$k, each run (ms, in order):" $(runs $k.log)
	done
	# And the host's CPU over each run (elapsed's "host" line): dom0's
	# busy, idle and stolen time, whether a slow run was slow for the
	# machine (busy or stolen beyond its usual) or for itself.
	for k in floor-true named-true pooled-true; do
		echo "$k, each run: total (dom0 busy/idle/steal) ms, in order:" \
		    $(awk '/^elapsed / { t = $2 }
		    /^host / { printf "%s(%s/%s/%s) ", t, $2, $3, $4 }' $k.log)
	done
	echo "pooled-true, its command phase (ms, in order):" \
	    $(sed -n 's/^dvm-run: disp[0-9]*: command  *\([0-9]*\) ms$/\1/p' \
	    pooled-true.log)
fi

[ "$THROUGHPUT" = 1 ] || exit 0

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
# The commands move 64 KiB blocks (dd), so what is measured is the channel,
# not busybox's own small reads.  Each figure is the best of three,
# interleaved, less the session alone (`true`): the host is shared.
blocks=$((MIB * 16))
: > floor.log; : > in.log; : > out.log; : > pipe.log; : > alone.log
for i in 1 2 3; do
	elapsed dvm-run -n "$d" -- true 2>> floor.log
	# The guest alone: the pipe any command's stream goes through.
	elapsed dvm-run -n "$d" -- sh -c "dd if=/dev/zero bs=64k \
	    count=$blocks 2>/dev/null | dd of=/dev/null bs=64k 2>/dev/null" \
	    2>> alone.log
	got=$(elapsed dvm-run -n "$d" -- sh -c 'dd bs=64k 2>/dev/null | wc -c' \
	    < big.bin 2>> /dev/null)
	[ "$got" = $bytes ] || echo "dvm-run in: $got bytes, not $bytes!"
	elapsed dvm-run -n "$d" -- dd of=/dev/null bs=64k < big.bin \
	    2>> in.log
	elapsed dvm-run -n "$d" -- dd if=/dev/zero bs=64k count=$blocks \
	    > big.out 2>> out.log
	got=$(wc -c < big.out)
	[ "$got" = $bytes ] || echo "dvm-run out: $got bytes, not $bytes!"
	rm -f big.out
	elapsed sh -c "dvm-run -n $d -- dd if=/dev/zero bs=64k \
	    count=$blocks 2>/dev/null | dd of=/dev/null bs=64k 2>/dev/null" \
	    2>> pipe.log
done
xl destroy "$d"
./xswait "/litedvm/disp/$d" -absent 30

# dvm-open: a file of MIB/16 MiB from an ordinary guest to a preloaded
# disposable whose opener appends a line, and back.
omib=$((MIB / 16))
sed -e '/^name/d' -e '/litedvm_preload/d' $cfg/default.cfg > $cfg/rt.cfg
echo 'litedvm_open_command = [ "/bin/sh", "-c", "echo edited >> \"$1\"", "opener", "%f" ]' >> $cfg/rt.cfg
# The busybox guest keeps /tmp in memory: room for the file twice over.
sed -i -e '/^memory/d' -e '/^maxmem/d' $cfg/rt.cfg
printf 'memory = %d\nmaxmem = %d\n' $((96 + 2 * omib)) $((96 + 2 * omib)) >> $cfg/rt.cfg
printf 'litedvm_preload = 1\n' >> $cfg/rt.cfg
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
floor=$(ms floor.log)
raw_in=$(awk '/raw vchan in/ { print $4 }' raw.txt)
raw_out=$(awk '/raw vchan out/ { print $4 }' raw.txt)
row() {
	# row WHAT MIB MS RAW [BOUND]: the session (floor) taken off MS
	awk -v w="$1" -v m="$2" -v t="$3" -v r="$4" -v b="${5:-0}" -v f="$floor" 'BEGIN {
		s = t - f
		v = m / (s / 1000)
		printf "  %-36s %6.2f s %7.1f MiB/s", w, s / 1000, v
		if (r > 0) printf "  %3.0f%% of raw", 100 * v / r
		if (b > 0) printf ", %3.0f%% of bound", 100 * v / b
		printf "\n" }'
}
pipe=$(awk -v m=$MIB -v t="$(ms alone.log)" -v f="$floor" \
    'BEGIN { print m / ((t - f) / 1000) }')
# A stream into or out of a command crosses the ring and the guest's pipe,
# both copied by the guest's one vCPU: at best 1 / (1/raw + 1/pipe).
bound() { awk -v r="$1" -v p="$pipe" 'BEGIN { print 1 / (1 / r + 1 / p) }'; }
echo "throughput, $MIB MiB, dom0 <-> one disposable (session of $floor ms taken off):"
cat raw.txt | sed 's/^/  /'
row "the guest's pipe alone (dd | dd)" $MIB "$(ms alone.log)" 0
echo "  bound: in $(bound "$raw_in" | cut -c1-5) MiB/s, out $(bound "$raw_out" | cut -c1-5) MiB/s (ring and pipe in series)"
row "dvm-run in  (file | dd)" $MIB "$(ms in.log)" "$raw_in" "$(bound "$raw_in")"
row "dvm-run out (dd > file)" $MIB "$(ms out.log)" "$raw_out" "$(bound "$raw_out")"
row "dvm-run out (dd | dd)" $MIB "$(ms pipe.log)" "$raw_out" "$(bound "$raw_out")"
# The round trip is the whole request, from a pool: no session taken off.
f0=$floor floor=0
row "dvm-open round trip ($omib MiB each way)" $((omib * 2)) "$(ms open.log)" 0
floor=$f0
grep -v '^elapsed' open.log | sed 's/^/  /'
