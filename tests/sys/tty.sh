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

# Without a pty, what reaches a terminal is filtered of escapes; files and
# pipes get the bytes as they are, and the options override both ways.
d=$(dvm-create)
esc=$(printf '\033')
# In the disposable: ESC ] 0 ; title BEL, then a colour, on each stream.
cmd='printf "\033]0;owned\007out\033[31m\n"; printf "err\033[2J\n" >&2'
ptyrun none -- sh -c "dvm-run -n $d -- sh -c '$cmd' < /dev/null" > esc.tty
sed 's/^/# /' esc.tty | tr -d '\r'
check "output to a terminal has its escapes shown as _" \
	grep -q '_]0;owned_out_\[31m' esc.tty
check "errors to a terminal have their escapes shown as _" \
	grep -q 'err_\[2J' esc.tty
check "no escape byte reaches the terminal" sh -c "! grep -q '$esc' esc.tty"
ptyrun none -- sh -c "dvm-run -n $d -- sh -c '$cmd' < /dev/null \
	> esc.file" > esc.tty2
check "output to a file passes raw (ESC kept)" grep -q "${esc}\[31m" esc.file
check "errors to the terminal beside it are still filtered" \
	sh -c "grep -q 'err_\[2J' esc.tty2 && ! grep -q '$esc' esc.tty2"
ptyrun none -- sh -c "dvm-run --no-filter-escape-chars -n $d -- \
	sh -c '$cmd' < /dev/null" > esc.raw
check "--no-filter-escape-chars passes escapes to the terminal" \
	grep -q "${esc}\[2J" esc.raw
dvm-run --filter-escape-chars -n "$d" -- sh -c "$cmd" > esc.f2 2>&1
check "--filter-escape-chars filters a file too" \
	sh -c "grep -q '_\[31m' esc.f2 && ! grep -q '$esc' esc.f2"
xl destroy "$d"
/tmp/xswait "/litedvm/disp/$d" -absent 30
check_clean "after the escape filter runs"
