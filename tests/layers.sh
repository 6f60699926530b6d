#!/bin/sh
# tests/layers.sh BUILDDIR: lib/'s modules keep the layers HACKING states.
# A module calls functions of its own layer or a lower one only, no
# modules call each other around a cycle, and only the doors HACKING names
# call libxl and libxenstore.  The calls are read from the
# built objects' symbol tables (BUILDDIR/lib/*.o): a function one module
# defines and another leaves undefined is a call between them.  Static
# functions stay inside their module and are not seen, nor need to be.
B=${1:-build}

# The layer of each module, lowest first; a module not listed fails.
layer() {
	case $1 in
	ctx|hyp|xlapi|xs|validate|proto|io|spawn|escape|config|poolent|quiet|pump|\
	openreq|policy)
		echo 0 ;;       # ground
	state|journal|domain|volume|lvm|ramvol|leftover|slot|chan|wayland|tcache)
		echo 1 ;;       # state tree, domains, volumes, the channel
	disp|agent)
		echo 2 ;;       # disposables; the guest's end of a session
	pool|standby)
		echo 3 ;;       # preload pools
	gc)
		echo 4 ;;       # garbage collection, listing
	open_*)
		echo 5 ;;       # dvm-open
	*)
		echo x ;;
	esac
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

for src in lib/*.c; do
	m=${src#lib/}
	m=${m%.c}
	o=$B/lib/$m.o
	if [ ! -f "$o" ]; then
		echo "FAIL: $o not built" >&2
		failed=1
		continue
	fi
	if [ "$(layer "$m")" = x ]; then
		echo "FAIL: lib/$m.c has no layer (tests/layers.sh, HACKING)" >&2
		failed=1
		continue
	fi
	nm -P -g --defined-only "$o" | awk -v m="$m" '{ print "D", m, $1 }'
	nm -P -g --undefined-only "$o" | awk -v m="$m" '{ print "U", m, $1 }'
done > "$tmp/syms" || failed=1

# "caller callee" for every call between two modules.
awk '$1 == "D" { def[$3] = $2; next }
    { use[NR] = $2 " " $3 }
    END {
	for (i in use) {
		split(use[i], f, " ")
		if ((f[2] in def) && def[f[2]] != f[1])
			print f[1], def[f[2]]
	}
    }' "$tmp/syms" | sort -u > "$tmp/edges"

while read -r from to; do
	lf=$(layer "$from") lt=$(layer "$to")
	if [ "$lt" -gt "$lf" ]; then
		syms=$(awk -v a="$from" -v b="$to" '
		    $1 == "D" && $2 == b { d[$3] = 1 }
		    $1 == "U" && $2 == a { u[$3] = 1 }
		    END { for (s in u) if (s in d) printf " %s", s }' \
		    "$tmp/syms")
		echo "FAIL: $from (layer $lf) calls $to (layer $lt):$syms"
		failed=1
	fi
done < "$tmp/edges"

# Xen behind one door each: libxl (and libxlutil) through xlapi's table
# (ldvm__xl), loaded on need, from domain, config and ctx only, and never
# linked (an undefined libxl_* or xlu_*), libxenctrl's xc_* from hyp only,
# libxenstore's xs_* from xs, state and ctx only.
awk '$1 == "U" && $3 ~ /^(libxl|xlu)_/ ||
    $1 == "U" && $3 == "ldvm__xl" && $2 !~ /^(domain|config|ctx)$/ ||
    $1 == "U" && $3 ~ /^xc_/ && $2 != "hyp" ||
    $1 == "U" && $3 ~ /^xs_/ && $2 !~ /^(xs|state|ctx)$/ {
	print "FAIL: " $2 " calls " $3 " itself"; bad = 1 }
    END { exit bad }' "$tmp/syms" || failed=1

# tsort finds any cycle, also between modules of one layer.
if ! tsort "$tmp/edges" > /dev/null 2> "$tmp/tsort"; then
	echo "FAIL: a call cycle between modules:"
	sed 's/^/	/' "$tmp/tsort"
	failed=1
fi

n=$(wc -l < "$tmp/edges")
if [ "$failed" -ne 0 ]; then
	echo "layers: FAIL"
	exit 1
fi
echo "layers: PASS ($n calls between modules, all downwards or level)"
