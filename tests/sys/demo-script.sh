# Runs in the emulated dom0: what a user would type.
set -x
dvm-run -v -- uname -a
echo hello | dvm-run -- tr a-z A-Z
dvm-run -- sh -c 'echo to stderr >&2; exit 3'
echo "exit status: $?"
d=$(dvm-create)
dvm-run -n "$d" -- sh -c 'echo "running in $(hostname)"'
xl list
xl destroy "$d"
# A template with a preload pool of one: no boot on the caller's path.
sed -e '/litedvm_preload/d' /etc/litedvm/default.cfg > /etc/litedvm/web.cfg
echo 'litedvm_preload = 1' >> /etc/litedvm/web.cfg
dvm-preload -v -t web
dvm-preload -l
dvm-run -v -t web -- echo from the pool
