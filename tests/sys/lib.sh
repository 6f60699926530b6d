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

# A volume group ldvm on the host's second disk with a thin pool and a thin
# volume tmpl-root holding a copy of the image $1.
setup_lvm() {
	while read -r m; do insmod "$m" 2>/dev/null; done < /etc/modules.dm
	mkdir -p /etc/lvm
	cat > /etc/lvm/lvm.conf <<'CONF'
activation {
	udev_rules = 0
	udev_sync = 0
	monitoring = 0
}
global {
	thin_check_executable = ""
	use_lvmpolld = 0
}
devices {
	obtain_device_list_from_udev = 0
	use_devicesfile = 0
}
CONF
	pvcreate -q /dev/vdb && vgcreate -q ldvm /dev/vdb &&
		lvcreate -q -L 600M -T ldvm/pool &&
		lvcreate -q -V 64M -T ldvm/pool -n tmpl-root &&
		dd if="$1" of=/dev/ldvm/tmpl-root bs=1M 2>/dev/null
}
