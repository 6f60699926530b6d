# Every example of README and of each man page's EXAMPLES section, run as
# shown.  examples.awk extracts them from the files themselves (copied here
# by tests/system.sh) and states the convention.  Runs in the emulated dom0
# (tests/xen/run).
#
# Each command must exit 0 (or the status its "example: status" comment
# names) and print exactly the output its text shows, if any; after each
# block nothing may be left behind but preloaded pool members, which the
# examples ask for; at the end those go too and the host is clean.
#
# Set up first, from what the examples name: the files of "example: file"
# blocks; a template for every -t NAME and every template of the open
# policy, copied from `default` (an editor in the guest's default one, a
# viewer in the others); the ordinary guest "work" running dvm-agent, with
# dvm-opend in dom0, when a block runs in a guest; and the files commands
# name: suspicious.zip, a src directory with a Makefile, and invoice.odt and
# report.pdf in the guest's home.
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
cfg=/etc/litedvm
lib=/var/lib/litedvm
tab=$(printf '\t')

pages=$(ls /tmp/README /tmp/*.[1-8] 2>/dev/null)
awk -f /tmp/examples.awk $pages > examples.list
rc=$?
check "examples extracted from $(echo $pages | wc -w) files ($rc)" test "$rc" = 0
n=$(grep -c '^B' examples.list)
check "there are examples to run ($n blocks)" test "$n" -gt 0
# Violations of the convention fail, one line each.
grep "^E$tab" examples.list | while IFS=$tab read -r k where msg; do
	fail "$where: $msg"
done
grep "^N$tab" examples.list | while IFS=$tab read -r k where why; do
	echo "# not run: $where: $why"
done

# ---- set-up: files of file blocks
file=
while IFS=$tab read -r k a b c; do
	case $k in
	F)	file=$b
		mkdir -p "$(dirname "$file")"
		: > "$file"
		echo "# installed $file from $a" ;;
	L)	printf '%s\n' "$a" >> "$file" ;;
	esac
done < examples.list

# ---- templates the examples name
template() {
	[ -f "$cfg/$1.cfg" ] && return
	sed -e '/^name/d' $cfg/default.cfg > "$cfg/$1.cfg"
	echo "# template $1 from default${2:+, opener: $2}"
	[ -n "$2" ] && printf \
	    'litedvm_open_command = [ "/bin/sh", "-c", "%s", "opener", "%%f" ]\n' \
	    "$2" >> "$cfg/$1.cfg"
}
if [ -f $cfg/open.policy ]; then
	# The guest's default template edits; the others only look.
	awk '!/^#/ && NF >= 2 && $1 == "work" { print $2 }' $cfg/open.policy |
	    while read -r t; do
		template "$t" 'echo edited-in-disp >> \"$1\"'
	done
	awk '!/^#/ && NF >= 2 { for (i = 2; i <= NF; i++) print $i }' \
	    $cfg/open.policy | sort -u | while read -r t; do
		template "$t" 'cat \"$1\" > /dev/null'
	done
fi
grep "^C$tab" examples.list | tr ' ' '\n' |
    awk 'p { sub(/[^A-Za-z0-9_.-].*/, ""); print; p = 0 } $0 == "-t" { p = 1 }' |
    sort -u | while read -r t; do
	template "$t"
done

# ---- files the commands name
mkdir -p /tmp/ex/src
cp /tmp/suspicious.zip /tmp/ex/
printf 'all:\n\t@echo built in $$(hostname)\n' > /tmp/ex/src/Makefile
work=
if grep -q "^B$tab.*${tab}guest$tab" examples.list; then
	start_guest work
	work=$(xl domid work)
	printf 'an invoice\n' | guestrun "$work" sh -c 'cat > invoice.odt'
	printf '%%PDF-1.4 a report\n' | guestrun "$work" sh -c 'cat > report.pdf'
	dvm-opend > opend.log 2>&1 &
	opend=$!
fi

# ---- after each block: nothing left but pool members
pool_members() {
	for t in $(xenstore-list /litedvm/pool 2>/dev/null); do
		xenstore-list "/litedvm/pool/$t" 2>/dev/null
	done
}
left_behind() {
	local what=$1 r doms snaps members
	members=$(pool_members)
	for r in $(xenstore-list /litedvm/disp 2>/dev/null); do
		echo "$members" | grep -q -x "$r" && continue
		./xswait "/litedvm/disp/$r" -absent 60 ||
		    fail "$what: $r still there 60 s later"
	done
	./xswait -domains $(( $(echo "$members" | grep -c .) + 1 + ${work:+1} )) 20 2>/dev/null
	doms=$(xl list | awk 'NR > 2 { print $1 }' | grep -v -x -e work |
	    grep -v -x -F "$members" || true)
	check "$what: no domain left${doms:+ (left: $doms)}" test -z "$doms"
	snaps=$(ls $lib/templates/default $lib/templates/default/.litedvm \
	    2>/dev/null | grep '^disp' |
	    sed 's/[.-].*//' | sort -u | grep -v -x -F "$members" || true)
	check "$what: no volume left${snaps:+ (left: $snaps)}" test -z "$snaps"
}

# ---- the blocks: one script each, so a block's commands share variables
run_block() {
	local i=1 st want out
	[ -n "$blk" ] || return
	if [ "$where" = guest ] && [ -z "$work" ]; then
		fail "$src: no guest to run it in"
		return
	fi
	timeout 300 sh /tmp/ex/block.sh < /dev/null
	while [ $i -le "$ncmd" ]; do
		eval "cmd=\$cmd_$i"
		st=$(cat "/tmp/ex/st.$i" 2>/dev/null || echo none)
		check "$src: \$ $cmd: exits $status ($st)" test "$st" = "$status"
		if [ -f "/tmp/ex/want.$i" ]; then
			check "$src: \$ $cmd: prints what the text shows" \
			    cmp -s "/tmp/ex/want.$i" "/tmp/ex/out.$i"
		fi
		if [ "$st" != "$status" ] || { [ -f "/tmp/ex/want.$i" ] &&
		    ! cmp -s "/tmp/ex/want.$i" "/tmp/ex/out.$i"; }; then
			sed 's/^/# out: /' "/tmp/ex/out.$i"
			sed 's/^/# err: /' "/tmp/ex/err.$i"
		fi
		i=$((i + 1))
	done
	left_behind "$src"
	blk=
}

blk=
while IFS=$tab read -r k a b c; do
	case $k in
	B)	run_block
		blk=1 src=$a where=$b status=$c ncmd=0
		rm -f /tmp/ex/st.* /tmp/ex/out.* /tmp/ex/err.* /tmp/ex/want.*
		echo 'cd /tmp/ex' > /tmp/ex/block.sh ;;
	C)	ncmd=$((ncmd + 1))
		eval "cmd_$ncmd=\$a"
		o=/tmp/ex/out.$ncmd e=/tmp/ex/err.$ncmd s=/tmp/ex/st.$ncmd
		if [ "$where" = guest ]; then
			# As the guest's user, in its home directory.
			printf 'guestrun %s sh -c %s > %s 2> %s; echo $? > %s\n' \
			    "$work" "'$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'" \
			    "$o" "$e" "$s" >> /tmp/ex/block.sh
		else
			printf '{ %s\n} > %s 2> %s; echo $? > %s\n' \
			    "$a" "$o" "$e" "$s" >> /tmp/ex/block.sh
		fi ;;
	O)	printf '%s\n' "$a" >> "/tmp/ex/want.$ncmd" ;;
	*)	run_block ;;
	esac
done < examples.list
run_block

# ---- what the commands left that the text says they leave
if [ -n "$work" ]; then
	got=$(guestrun "$work" cat invoice.odt)
	check "dvm-open kept the edits in invoice.odt" \
	    test "$got" = "$(printf 'an invoice\nedited-in-disp')"
	kill "$opend"
	wait "$opend"
	stop_guests work
fi
if [ -f /tmp/ex/build.log ]; then
	check "build.log holds the build's output ($(grep -m 1 '^built' /tmp/ex/build.log))" \
	    grep -q '^built in guest$' /tmp/ex/build.log
fi

# ---- the cron example's command, and the pools the examples asked for
if [ -f /etc/cron.d/dvm-preload ]; then
	# The page shows the default prefix, /usr/local; this host has /usr.
	awk '/^@/ && NF > 2 { $1 = $2 = ""; print; next }
	    !/^#/ && NF > 6 { $1 = $2 = $3 = $4 = $5 = $6 = ""; print }' \
	    /etc/cron.d/dvm-preload | sed 's|/usr/local/|/usr/|g' |
	    while read -r c; do
		sh -c "$c" < /dev/null
		check "cron entry runs: $c ($?)" test $? = 0
	done
fi
for d in $(pool_members); do
	xl destroy "$d"
done
dvm-preload -G
check_clean "after the examples"
