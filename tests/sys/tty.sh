# Interactive dvm-run: a shell on a terminal, typed into; window size.
. /tmp/lib.sh
cd /tmp
PATH=/tmp:$PATH
ptyrun 'echo typed-$((40+2)); stty size' 'stty size; exit 5' \
	-- dvm-run -- sh > tty.out 2>&1
rc=$?
sed 's/^/# /' tty.out | tr -d '\r'
check "interactive shell exits with its status 5 ($rc)" test "$rc" = 5
check "a typed command ran in the disposable" grep -q 'typed-42' tty.out
check "the window size is the terminal's (30 100)" grep -q '^30 100' tty.out
check "the window size follows a resize (40 120)" grep -q '^40 120' tty.out
check_clean "after the interactive shell"
