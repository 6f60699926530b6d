#!/bin/sh
# tests/cli.sh BUILDDIR: the command-line rules every tool keeps, on the
# build machine (no Xen needed): -h prints the usage on standard output
# and exits 0; an unknown option prints one line naming it and the usage
# on standard error and exits with the tool's usage status.
B=${1:-build}
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
passed=0 failed=0
check() {
	if eval "$2"; then passed=$((passed + 1)); else
		echo "FAIL: $1"; failed=$((failed + 1)); fi
}
# tool usage-status
for t in "dvm-run 125" "dvm-create 2" "dvm-preload 2" "dvm-opend 2" \
    "dvm-open 2" "dvm-agent 2"; do
	tool=${t% *} ustat=${t#* }
	bin=$B/cmd/$tool
	"$bin" -h > "$out" 2> "$err"
	rc=$?
	check "$tool -h exits 0 ($rc)" 'test $rc = 0'
	check "$tool -h prints the usage on stdout" \
		'grep -q "^usage: $tool " "$out"'
	check "$tool -h prints nothing on stderr" 'test ! -s "$err"'
	"$bin" -Z > "$out" 2> "$err"
	rc=$?
	check "$tool with an unknown option exits $ustat ($rc)" \
		'test $rc = $ustat'
	check "$tool names the unknown option" 'grep -q "option.*Z" "$err"'
	check "$tool then prints the usage on stderr" \
		'grep -q "usage: $tool " "$err"'
	check "$tool prints nothing on stdout then" 'test ! -s "$out"'
done
# dvm-preload --wait-fd (its background helpers'): a descriptor number.
for a in x -1 1024; do
	$B/cmd/dvm-preload -t default --wait-fd "$a" > "$out" 2> "$err"
	rc=$?
	check "dvm-preload --wait-fd $a exits 2 ($rc)" 'test $rc = 2'
	check "dvm-preload --wait-fd $a names it" \
		'grep -q "^dvm-preload: --wait-fd $a: " "$err"'
done
$B/cmd/dvm-preload -l --wait-fd 3 > "$out" 2> "$err"
rc=$?
check "dvm-preload -l --wait-fd exits 2 ($rc)" 'test $rc = 2'
echo "cli: $passed passed, $failed failed"
[ "$failed" = 0 ]
