#!/bin/sh
# tests/forks.sh: every fork in lib/ and cmd/ follows libxl's rule for a
# child of a process that may hold a libxl context: the child execs, or
# calls ldvm__postfork_child (libxl_postfork_child_noexec) before it uses
# libxl again, or the fork's comment says why no libxl can be there
# ("no libxl").  The child's code is read from the source: the block after
# the fork's "== 0)" test (or, for "if (fork() != 0)", the rest of the
# function), and the body of a function of the same file it calls.
failed=0
n=0
for f in lib/*.c cmd/*.c; do
	grep -q 'fork()' "$f" || continue
	out=$(awk '
	function body(name,   i, s, on) {
		s = ""; on = 0
		for (i = 1; i <= NR; i++) {
			if (!on && line[i] ~ "^" name "\\(") on = 1
			if (on) s = s "\n" line[i]
			if (on && line[i] ~ /^}/) break
		}
		return s
	}
	# The block that starts at line i: to its closing brace.
	function block(i,   d, s, c, k) {
		d = 0; s = ""
		for (k = i; k <= NR; k++) {
			s = s "\n" line[k]
			c = line[k]
			d += gsub(/{/, "{", c) - gsub(/}/, "}", c)
			if (d <= 0 && k > i) break
			if (d <= 0 && line[k] !~ /{/) break
		}
		return s
	}
	{ line[NR] = $0 }
	END {
		for (i = 1; i <= NR; i++) {
			if (line[i] !~ /fork\(\)/ || line[i] ~ /^[ \t]*\*/)
				continue
			why = line[i]
			for (k = i - 6; k < i; k++) why = why line[k]
			if (why ~ /no libxl/) { print "ok " i; continue }
			child = ""
			if (line[i] ~ /fork\(\) != 0/) {
				for (k = i + 1; k <= NR && line[k] !~ /^}/; k++)
					child = child "\n" line[k]
			} else {
				for (k = i; k <= i + 8; k++)
					if (line[k] ~ /== 0\)/) break
				if (k > i + 8) { print "nochild " i; continue }
				child = block(k)
				# "if (pid == 0)" alone: its statement is the next line.
				if (line[k] ~ /\)[ \t]*$/)
					child = child "\n" line[k + 1]
			}
			# A function of this file the child calls: its body too.
			s = child
			while (match(s, /[a-z_][a-z_0-9]*\(/)) {
				name = substr(s, RSTART, RLENGTH - 1)
				s = substr(s, RSTART + RLENGTH)
				child = child body(name)
			}
			if (child ~ /exec[vl]p?e?\(|exec_child\(|ldvm__postfork_child\(/)
				print "ok " i
			else
				print "bad " i
		}
	}' "$f")
	echo "$out" | while read -r what at; do
		case $what in
		ok) ;;
		bad) echo "FAIL: $f:$at: the child neither execs nor calls ldvm__postfork_child" ;;
		nochild) echo "FAIL: $f:$at: no child branch found after the fork" ;;
		esac
	done | grep . && failed=1
	n=$((n + $(echo "$out" | grep -c .)))
done
if [ "$failed" -ne 0 ]; then
	echo "forks: FAIL"
	exit 1
fi
echo "forks: PASS ($n forks: each child execs, or tells libxl, or has none)"
