# Shared helpers for system test scripts running in the emulated dom0.
# Every check prints one line: "PASS: what" or "FAIL: what".

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
check() {
	# check "description" command...
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# Nothing of litedvm may be left: only dom0, no records, no loop devices.
check_clean() {
	local what=$1 doms recs loops
	# A destroyed domain lingers in Xen until its pages are released.
	/tmp/xswait -domains 1 20 2>/dev/null
	doms=$(xl list | awk 'NR > 1 && $1 != "Domain-0" { print $1 }')
	check "$what: only Domain-0 in xl list${doms:+ (left: $doms)}" \
		test -z "$doms"
	recs=$(xenstore-list /litedvm/disp 2>/dev/null || true)
	check "$what: no litedvm records${recs:+ (left: $recs)}" test -z "$recs"
	loops=$(losetup -a 2>/dev/null | grep -v ' (/var/lib/litedvm/templates' || true)
	check "$what: no loop devices${loops:+ (left: $loops)}" test -z "$loops"
}

# An ordinary (not disposable) guest called $1, from the default template's
# kernel and a reflink copy of its root volume, running dvm-agent; waits
# until the agent is ready.  stop_guests destroys them and their volumes.
start_guest() {
	local name=$1 lib=/var/lib/litedvm id
	mkdir -p $lib/guests
	cp --reflink=always $lib/templates/default/root.img "$lib/guests/$name.img"
	sed -e "s/^name.*/name = \"$name\"/" \
	    -e "s|target=[^\"]*|target=$lib/guests/$name.img|" \
	    -e '/^litedvm/d' /etc/litedvm/default.cfg > "/tmp/$name.cfg"
	xl create -q "/tmp/$name.cfg" || { fail "xl create $name"; return 1; }
	id=$(xl domid "$name")
	/tmp/xswait "/local/domain/$id/data/litedvm/listen" -present 120
}
stop_guests() {
	for g in "$@"; do xl destroy "$g"; done
	rm -f /var/lib/litedvm/guests/*.img
}
