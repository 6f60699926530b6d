/*
 * ptyrun INPUT... -- COMMAND [ARG...]: runs COMMAND on a new pseudo-terminal
 * of 30 rows and 100 columns, as a user at a terminal would; each time the
 * command prints a shell prompt ("# "), types the next INPUT and a newline.
 * Before the second INPUT, the window grows by 10 rows and 20 columns, as
 * when a user resizes a terminal window; only then: a third prompt may be
 * an editor's screen, and busybox vi (1.35) resizes its screen inside its
 * SIGWINCH handler and can abort there.  Copies what the
 * terminal shows to standard output and exits with COMMAND's status.
 * Tests interactive dvm-run with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = 30, .ws_col = 100 };
	char buf[4096], seen[8192] = "";
	size_t seenlen = 0;
	int m, st, cmd, next = 1;
	pid_t pid;

	for (cmd = 1; cmd < argc && strcmp(argv[cmd], "--") != 0; cmd++)
		;
	if (cmd < 2 || cmd + 1 >= argc) {
		fprintf(stderr, "usage: ptyrun input ... -- command [arg ...]\n");
		return 2;
	}
	if ((m = posix_openpt(O_RDWR | O_NOCTTY)) < 0 || grantpt(m) < 0 ||
	    unlockpt(m) < 0)
		return 2;
	ioctl(m, TIOCSWINSZ, &ws);
	if ((pid = fork()) == 0) {
		int s;

		setsid();
		if ((s = open(ptsname(m), O_RDWR)) < 0)
			_exit(126);
		ioctl(s, TIOCSCTTY, 0);
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
		close(m);
		execvp(argv[cmd + 1], argv + cmd + 1);
		_exit(127);
	}
	for (;;) {
		struct pollfd p = { .fd = m, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 300000) <= 0)
			break;
		if ((n = read(m, buf, sizeof(buf))) <= 0)
			break;          /* EIO: the command is gone */
		fwrite(buf, 1, (size_t)n, stdout);
		/* A long screen: only its end can hold the prompt. */
		if (seenlen + (size_t)n >= sizeof(seen) - 1 && seenlen > 0) {
			seen[0] = seen[seenlen - 1];
			seenlen = 1;
		}
		if (next < cmd && seenlen + (size_t)n < sizeof(seen) - 1) {
			memcpy(seen + seenlen, buf, (size_t)n);
			seenlen += (size_t)n;
			seen[seenlen] = '\0';
			if (strstr(seen, "# ") != NULL) {
				if (next == 2) {
					ws.ws_row += 10;
					ws.ws_col += 20;
					ioctl(m, TIOCSWINSZ, &ws);
				}
				(void)write(m, argv[next], strlen(argv[next]));
				(void)write(m, "\r", 1);
				next++;
				seenlen = 0;
				seen[0] = '\0';
			}
		}
	}
	fflush(stdout);
	if (waitpid(pid, &st, 0) < 0)
		return 125;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
