#!/bin/sh
# Installs the Debian packages litedvm needs to build, test and demo.
# Does nothing when all of them are present.
set -eu
here=$(dirname "$0")
# clang and its run-time libraries (libFuzzer, sanitizers): make fuzz.
pkgs="build-essential pkg-config libxen-dev libbsd-dev check mandoc bash-completion
e2fsprogs btrfs-progs xz-utils mmdebstrap clang libclang-rt-14-dev"
# The emulated Xen host's packages are listed by the harness.
if [ -f "$here/xen/packages" ]; then
	pkgs="$pkgs $(grep -v '^#' "$here/xen/packages" | tr '\n' ' ')"
fi
missing=""
for p in $pkgs; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
