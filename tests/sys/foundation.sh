# Foundation system tests: library lifecycle and xenstore layer against
# real libxl and xenstored.  Runs in the emulated dom0 (tests/xen/run).
. /tmp/lib.sh
cd /tmp

check "xl info answers" sh -c 'xl info >/dev/null'
# The xenstore daemon the harness was asked for (XENVM_XENSTORED), alone.
xs=$(cat /etc/harness-xenstored)
daemons=$(ps -o comm | grep 'xenstored$' | tr '\n' ' ')
check "dom0 runs $xs alone (running: $daemons)" test "$daemons" = "$xs "
check "default template installed" test -r /etc/litedvm/default.cfg

./sys-lifecycle default
./sys-xstxn
check_clean "after foundation tests"
