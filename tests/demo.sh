#!/bin/sh
# The README's demo: boots the emulated Xen host and shows dvm-run at work.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
exec "$top/tests/xen/run" "$top/tests/sys/demo-script.sh"
