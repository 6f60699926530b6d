#!/bin/sh
# tests/install.sh BUILDDIR: make install into a scratch DESTDIR, then make
# uninstall, and the same for install-guest and uninstall-guest: every
# file and link an install put there must be gone after its uninstall.
# Also: make install builds no test program and needs no check (it runs
# here with a pkg-config that knows no "check").
B=${1:-build}
MAKE=${MAKE:-make}
d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
passed=0 failed=0
check() {
	if eval "$2"; then passed=$((passed + 1)); else
		echo "FAIL: $1"; failed=$((failed + 1)); fi
}

real=$(command -v pkg-config) || { echo "install: no pkg-config"; exit 1; }
mkdir "$d/bin"
cat > "$d/bin/pkg-config" <<EOS
#!/bin/sh
for a; do [ "\$a" = check ] && exit 1; done
exec "$real" "\$@"
EOS
chmod +x "$d/bin/pkg-config"
PATH="$d/bin:$PATH"
export PATH

# From nothing, install would build the library and the tools, nothing else.
$MAKE -n install B="$d/fresh" DESTDIR="$d/root" > "$d/plan" 2>&1
rc=$?
check "make -n install without check succeeds ($rc)" 'test $rc = 0'
check "make install would build no test program" \
	'! grep -q "tests/" "$d/plan"'
check "make install would build the tools" \
	'grep -q -- "-o $d/fresh/cmd/dvm-run " "$d/plan"'
check "make -n installed nothing" 'test ! -e "$d/root"'

# The paths built in follow the prefix, and an object built for one prefix
# is built again for another (B/paths): make install PREFIX=/usr after a
# plain make must not install tools that look in /usr/local.
$MAKE -n install B="$d/fresh" PREFIX=/opt/ldvm DESTDIR="$d/root" > "$d/plan" 2>&1
check "make install PREFIX=/opt/ldvm builds for /opt/ldvm/libexec/litedvm" \
	'grep -q "LDVM_LIBEXECDIR=.*/opt/ldvm/libexec/litedvm" "$d/plan"'
$MAKE -s B="$d/st" "$d/st/lib/ctx.o" > "$d/log" 2>&1
check "an object builds alone" 'test -e "$d/st/lib/ctx.o" || { cat "$d/log"; false; }'
$MAKE -q B="$d/st" "$d/st/lib/ctx.o"
rc=$?
check "it is then up to date ($rc)" 'test $rc = 0'
$MAKE -q B="$d/st" PREFIX=/opt/ldvm "$d/st/lib/ctx.o"
rc=$?
check "it is not, for another prefix ($rc)" 'test $rc = 1'

# install-target uninstall-target least-files
for pair in "install uninstall 30" "install-guest uninstall-guest 10"; do
	set -- $pair
	in=$1 un=$2 least=$3 root=$d/root-$1
	$MAKE "$in" B="$B" DESTDIR="$root" > "$d/log" 2>&1
	rc=$?
	[ $rc = 0 ] || cat "$d/log"
	check "make $in succeeds ($rc)" 'test $rc = 0'
	n=$(find "$root" ! -type d | wc -l)
	check "make $in installs at least $least files ($n)" \
		'test "$n" -ge "$least"'
	# One of each kind: man page, completions, unit, pkg-config file.
	case $in in
	install) files="man/man3/liblitedvm.3 man/man7/litedvm.7
	    bash-completion/completions/dvm-create
	    zsh/vendor-completions/_litedvm pkgconfig/litedvm.pc
	    systemd/system/dvm-preload.timer" ;;
	*) files="man/man8/dvm-agent.8 bash-completion/completions/dvm-open
	    zsh/vendor-completions/_litedvm systemd/system/dvm-agent.service"
	esac
	for f in $files; do
		case $f in
		pkgconfig/*|systemd/*) p=$root/usr/local/lib/$f ;;
		*) p=$root/usr/local/share/$f ;;
		esac
		check "make $in installs $f" 'test -e "$p"'
	done
	# A guest's tools load no libxl (nor liblitedvm.so): ld.so would map
	# its twenty libraries at every dvm-open.
	if [ "$in" = install-guest ]; then
		for t in sbin/dvm-agent bin/dvm-open; do
			libs=$(ldd "$root/usr/local/$t" 2>&1 | grep -Eo 'lib(xenlight|xlutil|litedvm)[^ ]*' | tr '\n' ' ')
			check "make $in: $t needs neither libxl nor liblitedvm.so ($libs)" \
				'test -z "$libs"'
		done
	else
		# The standby helper: libc alone, built in (its exec loads no
		# library beside a pooled command).
		sb=$root/usr/local/libexec/litedvm/dvm-standby
		libs=$(objdump -p "$sb" 2>&1 | awk '$1 == "NEEDED" { printf "%s ", $2 }')
		check "make $in: dvm-standby in libexec/litedvm, static ($libs)" \
			'test -x "$sb" && test -z "$libs"'
		# Run by hand (no socket on descriptor 3): its usage, never
		# the command it names.
		out=$("$sb" touch "$root/standby-ran" 3>&- 2>&1)
		rc=$?
		check "make $in: dvm-standby without its descriptor 3 prints its usage ($rc: $out)" \
			'test "$rc" = 127 && case "$out" in usage:*) true ;; *) false ;; esac && test ! -e "$root/standby-ran"'
		# Nor does liblitedvm.so: it loads libxl when first needed
		# (lib/xlapi.h), so a pooled dvm-run never maps it.
		libs=$(objdump -p "$root/usr/local/lib/liblitedvm.so.0" 2>&1 |
		    awk '$1 == "NEEDED" && $2 ~ /^lib(xenlight|xlutil)/ { printf "%s ", $2 }')
		check "make $in: liblitedvm.so does not link libxl ($libs)" \
			'test -z "$libs" && test -e "$root/usr/local/lib/liblitedvm.so.0"'
		# dom0's tools have liblitedvm and Xen's libraries built in,
		# all but libxenstore and libxentoolcore: ld.so maps three
		# libraries at each start, not thirteen (GNUmakefile); the
		# sanitizers' own (make sanitize) aside.
		for t in bin/dvm-run bin/dvm-create bin/dvm-open sbin/dvm-preload \
		    sbin/dvm-opend sbin/dvm-agent; do
			libs=$(objdump -p "$root/usr/local/$t" 2>&1 |
			    awk '$1 == "NEEDED" && $2 !~ /^lib(a|ub)san\./ { printf "%s ", $2 }')
			check "make $in: $t loads libxenstore, libxentoolcore and libc only ($libs)" \
				'test "$libs" = "libxenstore.so.4 libxentoolcore.so.1 libc.so.6 "'
		done
	fi
	$MAKE "$un" B="$B" DESTDIR="$root" > "$d/log" 2>&1
	rc=$?
	[ $rc = 0 ] || cat "$d/log"
	check "make $un succeeds ($rc)" 'test $rc = 0'
	find "$root" ! -type d > "$d/left"
	check "make $un leaves nothing of make $in's" 'test ! -s "$d/left"'
	sed "s|^$root|  left: |" "$d/left"
done
echo "install: $passed passed, $failed failed"
[ "$failed" = 0 ]
