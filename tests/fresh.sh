#!/bin/sh
# The README's set-up on a fresh Debian 12 machine: a minbase bookworm root
# holding only git and make, this tree cloned into it, and there `make
# check`'s own first step (deps), then the build, lint, the unit tests,
# the sanitizers and install.  Everything but the emulated Xen host.
# The root is built anew every run, so no cache hides a missing install
# step; it lives in $B/fresh and is removed afterwards.  Needs root and
# the mirror this machine's apt uses (FRESH_SOURCES overrides the file).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
root=$B/fresh
log=$B/fresh.log

if [ "$(id -u)" != 0 ]; then
	echo "FAIL: fresh: needs root (chroot, mounts)"
	exit 1
fi
if ! command -v mmdebstrap > /dev/null; then
	echo "FAIL: fresh: mmdebstrap not found: run 'make deps' as root"
	exit 1
fi
# The chroot's mounts live in a private mount namespace, so they cannot
# outlive this script however it ends; cleanup still unmounts them before
# it removes the root.
if [ -z "${FRESH_UNSHARED:-}" ]; then
	FRESH_UNSHARED=1 exec unshare --mount --propagation private /bin/sh "$0" "$@"
fi

src=${FRESH_SOURCES:-}
if [ -z "$src" ]; then
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
		if grep -q '^[^#]' "$f" 2> /dev/null; then src=$f; break; fi
	done
fi
if [ -z "$src" ]; then
	echo "FAIL: fresh: no Debian apt sources on this machine (set FRESH_SOURCES)"
	exit 1
fi

mounts_under() {
	awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r
}
# Processes still in the root go first: dpkg runs in a session of its own,
# beyond the reach of a Ctrl-C, and would write on while the root goes.
pids_in_root() {
	for d in /proc/[0-9]*; do
		if [ "$(readlink "$d/root" 2> /dev/null)" = "$root" ]; then
			echo "${d#/proc/}"
		fi
	done
}
remove_root() {
	n=0
	while [ "$n" -lt 20 ] && pids=$(pids_in_root) && [ -n "$pids" ]; do
		# shellcheck disable=SC2086
		if [ "$n" -lt 10 ]; then kill $pids; else kill -9 $pids; fi 2> /dev/null
		n=$((n + 1))
		sleep 1
	done
	for m in $(mounts_under); do umount "$m" || umount -l "$m"; done
	if [ -n "$(mounts_under)" ]; then
		echo "fresh: mounts left under $root, not removing it" >&2
		return 1
	fi
	rm -rf --one-file-system "$root"
}
cleanup() {
	rc=$?
	set +e
	remove_root || rc=1
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "FAIL: fresh: interrupted"; exit 129' HUP
trap 'echo "FAIL: fresh: interrupted"; exit 130' INT
trap 'echo "FAIL: fresh: interrupted"; exit 143' TERM

mkdir -p "$B"
remove_root
: > "$log"
t0=$(date +%s)

# step NAME COMMAND...: runs COMMAND with its output in the log and prints
# one PASS or FAIL line; the first failure ends the run, as later steps
# need the earlier ones.  COMMAND runs outside any condition so that set -e
# holds in the functions it calls.
step() {
	name=$1
	shift
	printf '== %s\n' "$name" >> "$log"
	s=$(date +%s)
	set +e
	(set -e; "$@") >> "$log" 2>&1
	rc=$?
	set -e
	if [ "$rc" = 0 ]; then
		echo "PASS: fresh: $name ($(($(date +%s) - s)) s)"
	else
		echo "FAIL: fresh: $name ($(($(date +%s) - s)) s; log in $log)"
		tail -n 20 "$log" >&2
		exit 1
	fi
}

# in_root COMMAND: runs COMMAND by sh in the clone, as root on a console
# would, with nothing of this machine's environment.
in_root() {
	chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 /bin/sh -c "cd /src && $1"
}

build_root() {
	mmdebstrap --variant=minbase --include=git,make bookworm "$root" "$src"
	# A chroot shares this machine's kernel and processes: the packages
	# deps installs must not start their services here.
	printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount --rbind /dev "$root/dev"
}

# The committed HEAD only, cloned as a user would: uncommitted changes in
# this tree are not tested.
clone_tree() {
	git clone --no-local --quiet "$top" "$root/src"
	git -C "$root/src" checkout --quiet --detach "$(git -C "$top" rev-parse HEAD)"
}

# Before deps, a goal that compiles stops with one clear line, also with
# pkg-config itself missing.
names_missing_package() {
	if out=$(in_root make 2>&1); then return 1; fi
	printf '%s\n' "$out"
	[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
		printf '%s\n' "$out" | grep -q "pkg-config package 'xenlight' not found: run 'make deps' as root"
}

# make check with its sub-makes turned into no-ops: what runs is check's
# own first step, deps, for real, on a machine without the packages.
check_starts_with_deps() {
	in_root 'make check MAKE=true'
}

deps_complete() {
	out=$(in_root 'make deps' 2>&1) || return 1
	printf '%s\n' "$out"
	! printf '%s\n' "$out" | grep -q '^deps: '
}

step "mmdebstrap builds a minbase bookworm root with git and make" build_root
step "this tree's HEAD cloned into it" clone_tree
step "make before deps names the missing package" names_missing_package
step "make check starts by installing the packages (make deps)" check_starts_with_deps
step "make deps then finds nothing missing" deps_complete
step "make builds" in_root 'make'
step "make lint" in_root 'make lint'
step "make check-unit" in_root 'make check-unit'
step "make sanitize" in_root 'make sanitize'
step "make install" in_root 'make install DESTDIR=/tmp/destdir'
echo "PASS: fresh: all steps ($(($(date +%s) - t0)) s)"
