# xenvm: systemd
# The installed units under systemd, sandboxed: dvm-gc and dvm-preload
# fill a pool, dvm-opend serves an ordinary guest's dvm-open and stops
# cleanly.  dom0's PID 1 is systemd here (the line above asks
# tests/xen/run for it); this script runs in its harness.service.
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
cfg=/etc/litedvm
units=/usr/lib/systemd/system

check "PID 1 is systemd ($(cat /proc/1/comm))" test "$(cat /proc/1/comm)" = systemd
for u in dvm-gc dvm-preload dvm-opend; do
	check "$u.service is installed in $units" test -f "$units/$u.service"
	systemd-analyze verify --man=no "$units/$u.service" > verify.txt 2>&1
	rc=$?
	check "systemd-analyze verify $u.service: no complaint ($rc: $(cat verify.txt))" \
		test "$rc" = 0 -a ! -s verify.txt
	score=$(systemd-analyze security --no-pager "$u.service" 2>&1 | sed -n 's/.*exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	# 9.6 without the sandboxing.
	check "$u.service: exposure level below 5 ($score)" \
		test "${score%%.*}" -lt 5 2>/dev/null
done

# ---- a template dvm-preload.service fills, on LVM thin volumes (device
# mapper, its nodes, LVM's locks and backups); an opener for dvm-opend
setup_lvm /var/lib/litedvm/templates/default/root.img
check "an LVM thin pool and template volume" test -b /dev/ldvm/tmpl-root
sed -e '/^name/d' -e '/litedvm_preload/d' \
	-e 's|target=[^"]*|target=/dev/ldvm/tmpl-root|' $cfg/default.cfg > $cfg/pooled.cfg
echo 'litedvm_preload = 1' >> $cfg/pooled.cfg
sed -e '/^name/d' $cfg/default.cfg > $cfg/editor.cfg
printf 'litedvm_open_command = [ "/bin/sh", "-c", "%s", "opener", "%%f" ]\n' \
	'echo edited-in-disp >> \"$1\"' >> $cfg/editor.cfg
echo 'work editor' > $cfg/open.policy
chmod 644 $cfg/open.policy

# A service's main process: sandboxed as its unit says.
sandboxed() {
	local u=$1 pid st
	pid=$(systemctl show -p MainPID --value "$u")
	if [ "${pid:-0}" -gt 0 ]; then pass "$u runs (MainPID $pid)"; else
		fail "$u runs (MainPID $pid)"; return; fi
	st=/proc/$pid/status
	check "$u: NoNewPrivs is set ($(grep NoNewPrivs $st))" \
		grep -q '^NoNewPrivs:[[:space:]]*1$' $st
	check "$u: a seccomp filter ($(grep '^Seccomp:' $st))" \
		grep -q '^Seccomp:[[:space:]]*2$' $st
	check "$u: a mount namespace of its own" \
		test "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/1/ns/mnt)"
	bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' $st)
	# Bits 1, 16, 22: CAP_DAC_OVERRIDE, CAP_SYS_MODULE, CAP_SYS_BOOT.
	check "$u: no CAP_DAC_OVERRIDE, CAP_SYS_MODULE, CAP_SYS_BOOT in its bounding set ($bnd)" \
		test $((0x$bnd & (1 << 1 | 1 << 16 | 1 << 22))) = 0
	check "$u: /usr is read-only for it" \
		grep -q ' /usr [^ ]* ro[, ]' /proc/$pid/mounts
}

# ---- dvm-preload.service (and dvm-gc.service, which it wants)
systemctl start dvm-preload.service
rc=$?
check "systemctl start dvm-preload.service succeeds ($rc)" test "$rc" = 0
check "dvm-gc.service ran before it and stays active ($(systemctl is-active dvm-gc.service))" \
	test "$(systemctl is-active dvm-gc.service)" = active
check "dvm-preload.service ended successfully ($(systemctl show -p Result --value dvm-preload.service))" \
	test "$(systemctl show -p Result --value dvm-preload.service)" = success
n=$(xenstore-list /litedvm/pool/pooled 2>/dev/null | wc -l)
check "the pool has its one member ($n)" test "$n" = 1
m=$(xenstore-list /litedvm/pool/pooled 2>/dev/null | head -n 1)
check "the member is recorded under /litedvm/disp ($m)" \
	xenstore-exists "/litedvm/disp/$m"
check "the member's domain exists and is paused" \
	sh -c "xl list | awk 'NR > 1 && \$5 ~ /p/' | grep -q ."
check "its volume is a thin snapshot ($(lvs --noheadings -o lv_name ldvm | tr -d ' ' | tr '\n' ' '))" \
	test "$(lvs --noheadings -o lv_name ldvm | grep -c "$m")" = 1

# ---- dvm-opend.service serves an ordinary guest's dvm-open
start_guest work
work=$(xl domid work)
systemctl start dvm-opend.service
rc=$?
check "systemctl start dvm-opend.service succeeds ($rc)" test "$rc" = 0
sandboxed dvm-opend.service
printf 'line one\n' | guestrun "$work" sh -c 'cat > /root/doc.txt'
guestrun "$work" dvm-open /root/doc.txt 2> err.txt
rc=$?
check "dvm-open through the sandboxed dvm-opend exits 3 ($rc: $(cat err.txt))" \
	test "$rc" = 3
printf 'line one\nedited-in-disp\n' > want.txt
guestrun "$work" cat /root/doc.txt > got.txt
check "the file came back edited" cmp -s want.txt got.txt
check "dvm-opend.service is still active" \
	test "$(systemctl is-active dvm-opend.service)" = active
systemctl stop dvm-opend.service
rc=$?
check "systemctl stop dvm-opend.service succeeds ($rc)" test "$rc" = 0
res=$(systemctl show -p Result --value dvm-opend.service)
st=$(systemctl is-active dvm-opend.service)
check "dvm-opend.service ended cleanly ($st, $res)" \
	test "$st" = inactive -a "$res" = success
journalctl --no-pager -o cat -u dvm-gc -u dvm-preload -u dvm-opend |
	tail -n 15 | sed 's/^/# /'

# ---- nothing left
stop_guests work
dvm-preload --drain
rc=$?
check "dvm-preload --drain exits 0 ($rc)" test "$rc" = 0
check_clean "after the services"
lvs=$(lvs --noheadings -o lv_name ldvm | tr -d ' ' | grep -v -x -e pool -e tmpl-root)
check "after the services: no volume left in LVM${lvs:+ (left: $lvs)}" test -z "$lvs"
