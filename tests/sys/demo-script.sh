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
