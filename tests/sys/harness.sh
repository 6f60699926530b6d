# The harness's own contract: stdout and stderr apart, status passed on.
echo to-stdout
echo to-stderr >&2
cat /tmp/harness.bin
exit 3
