# Extracts the examples a user reads from README and the man pages, for
# tests/sys/examples.sh, which runs them in the emulated Xen host.  POSIX
# awk (busybox awk in dom0 runs it, on the files themselves, at test time).
#
#   awk -f examples.awk README dvm-run.1 ...
#
# The convention, which README's test section states too:
#
# README: a line indented by exactly four spaces and starting with a
#   prompt, "$ " or "# ", is a command; the indented lines that follow it
#   without a prompt are its output (exactly what it must print).  Every
#   other indented block is a synopsis, a layout or a file's contents.  The
#   set-up blocks (make check, make demo, the other make targets) are not
#   prompted: they are the test suite itself.  The sections in covered[]
#   below are steps an administrator takes on a guest of their own; their
#   blocks are not run here, and the test that does the same is named.
#
# Man pages: in the EXAMPLES section every .Bd -literal block and every .Dl
#   line is an example.  Its lines start with a prompt ("$ " or "# "), end
#   with a backslash to continue on the next line, or are the output of the
#   command before them.  Comment lines just before a block say more:
#     .\" example: guest           run in an ordinary guest (as its user)
#     .\" example: status N        each command exits N, not 0
#     .\" example: file PATH       not commands: a file's contents, which is
#                                  installed at PATH before the examples run
#     .\" example: not run: WHY    not run here; WHY names what covers it
#   A block with neither a prompt nor a file or not-run marker is an error,
#   and so is an unprompted line naming one of the tools in a README block:
#   no command slips through untested.
#
# Output, one record per line, fields separated by tabs:
#   B  SRC:LINE  WHERE  STATUS     a block of commands (WHERE: dom0|guest)
#   C  COMMAND                     one command of it, continuations joined
#   O  TEXT                        a line of the previous command's output
#   F  SRC:LINE  PATH              a file block; its lines follow as
#   L  TEXT
#   N  SRC:LINE  WHY               a block that is not run
#   E  SRC:LINE  MESSAGE           a violation of the convention

function src() {
	n = split(FILENAME, parts, "/")
	return parts[n] ":" FNR
}

# Replaces every s in t by r, literally.
function repl(t, s, r,    out, i) {
	out = ""
	while ((i = index(t, s)) > 0) {
		out = out substr(t, 1, i - 1) r
		t = substr(t, i + length(s))
	}
	return out t
}

# The text mandoc shows for the escapes examples use.
function unescape(t) {
	t = repl(t, "\\e", "\001")
	t = repl(t, "\\-", "-")
	t = repl(t, "\\&", "")
	t = repl(t, "\\(aq", "'")
	t = repl(t, "\\(dq", "\"")
	t = repl(t, "\\(ga", "`")
	t = repl(t, "\\ ", " ")
	return repl(t, "\001", "\\")
}

function emit(s) { print s }

function reset_marks() {
	m_where = "dom0"; m_status = 0; m_file = ""; m_notrun = ""
}

# One example block: lines blk[1..nblk], from blk_src.
function flush_block(    i, l, cmd, prompted, sawcmd) {
	if (nblk == 0)
		return
	if (m_notrun != "") {
		emit("N\t" blk_src "\t" m_notrun)
	} else if (m_file != "") {
		emit("F\t" blk_src "\t" m_file)
		for (i = 1; i <= nblk; i++)
			emit("L\t" blk[i])
	} else if (blk[1] !~ /^[$#] /) {
		emit("E\t" blk_src "\tan example block with no prompt and no " \
		    "\"example:\" comment: " blk[1])
	} else {
		emit("B\t" blk_src "\t" m_where "\t" m_status)
		cmd = ""
		for (i = 1; i <= nblk; i++) {
			l = blk[i]
			if (cmd != "") {
				# continuation of a command
				sub(/^[ \t]+/, "", l)
				cmd = cmd " " l
			} else if (l ~ /^[$#] /) {
				cmd = substr(l, 3)
			} else {
				emit("O\t" l)
				continue
			}
			if (cmd ~ /\\$/) {
				sub(/[ \t]*\\$/, "", cmd)
				continue
			}
			emit("C\t" cmd)
			cmd = ""
		}
		if (cmd != "")
			emit("E\t" blk_src "\ta command continues past the " \
			    "end of its block")
	}
	nblk = 0
	reset_marks()
}

function add_line(t) {
	if (nblk == 0)
		blk_src = src()
	blk[++nblk] = t
}

BEGIN {
	covered["From your own guest to a disposable template"] = \
	    "steps on an administrator's own guest: tests/xen/debian.sh " \
	    "builds the Debian template by them (make install-guest " \
	    "DESTDIR=...), tests/sys/debian.sh runs it"
}

FNR == 1 {
	flush_block()
	readme = FILENAME ~ /(^|\/)README$/
	in_ex = 0; in_bd = 0; prev_blank = 1; rblock = 0
	section = ""; prev = ""
	reset_marks()
}

# ---- README
readme && /^(-+|=+)$/ && prev != "" { section = prev }
readme { prev = $0 }
readme && section in covered {
	if (!(section in noted))
		emit("N\t" src() "\t" covered[section])
	noted[section] = 1
	next
}
readme {
	if ($0 ~ /^[ \t]*$/) {
		flush_block()
		prev_blank = 1; rblock = 0
		next
	}
	if ($0 !~ /^    /) {
		flush_block()
		prev_blank = 0; rblock = 0
		next
	}
	# An indented run after a blank line is a block; indented text right
	# under a line of its own is a description.
	if (prev_blank)
		rblock = 1
	prev_blank = 0
	if (!rblock)
		next
	if ($0 ~ /^    [$#] / || nblk > 0 && blk[1] ~ /^[$#] / && $0 ~ /^    [^ ]/) {
		add_line(substr($0, 5))
		next
	}
	if (nblk > 0 && blk[nblk] ~ /\\$/) {
		add_line($0)
		next
	}
	t = $0
	sub(/^[ \t]+/, "", t)
	if (t ~ /(^|[|;&(][ \t]*)(dvm-[a-z]+|xl)([ \t]|$)/)
		emit("E\t" src() "\tan unprompted command in README: " t)
	next
}

# ---- man pages
/^\.Sh / {
	flush_block()
	in_ex = $0 ~ /^\.Sh EXAMPLES/
	next
}
!in_ex { next }
/^\.\\" example: / {
	t = $0
	sub(/^\.\\" example: /, "", t)
	if (t == "guest")
		m_where = "guest"
	else if (t ~ /^status [0-9]+$/)
		m_status = substr(t, 8) + 0
	else if (t ~ /^file \//)
		m_file = substr(t, 6)
	else if (t ~ /^not run: ./)
		m_notrun = substr(t, 10)
	else
		emit("E\t" src() "\tunknown example comment: " t)
	next
}
/^\.Bd -literal/ { flush_block(); in_bd = 1; next }
/^\.Ed/ { in_bd = 0; flush_block(); next }
in_bd && /^\./ { next }
in_bd { add_line(unescape($0)); next }
/^\.Dl / {
	flush_block()
	add_line(unescape(substr($0, 5)))
	flush_block()
	next
}

END { flush_block() }
