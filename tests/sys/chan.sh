# The channel between dom0 and the agent: sys-chan drives a real guest's
# dvm-agent through the library.  Runs in the emulated dom0 (tests/xen/run).
. /tmp/lib.sh
cd /tmp

./sys-chan default /tmp/hostile-agent
rc=$?
check "sys-chan exits 0 ($rc)" test "$rc" = 0
if [ "$rc" != 0 ]; then
	for f in /var/log/xen/console/guest-*.log; do
		[ -f "$f" ] || continue
		echo "# --- $f"
		sed 's/^/# /' "$f"
	done
fi
check_clean "after channel tests"
