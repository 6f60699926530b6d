/*
 * dvm-standby: the refill helper a pooled session starts while its
 * command starts (lib/spawn.c, ldvm__spawn_standby), parked until the
 * release.  It waits for its caller to close its end of the socket on
 * descriptor 3 (after the release's line, or at the caller's death), and
 * for the caller's exit (at most EXIT_WAIT_MS: a caller that lives on is
 * not waited for), then becomes the command its arguments name, by the
 * PATH or else in LDVM_SBINDIR: dvm-preload --wait-fd 3.
 *
 * A program of its own, linked statically with libc alone, so that its
 * start costs the caller no copy of its memory (a fork) and no loading
 * of libraries beside the command: posix_spawn holds the caller only
 * until this small program's exec.  Not for running by hand.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/pidfd.h>

#ifndef LDVM_SBINDIR
#define LDVM_SBINDIR "/usr/local/sbin"
#endif

#define SOCK_FD 3
#define EXIT_WAIT_MS 200

int
main(int argc, char *argv[])
{
	char path[256];
	struct pollfd pf;
	pid_t caller = getppid();
	int fd;

	if (argc < 2 || strchr(argv[1], '/') != NULL ||
	    fcntl(SOCK_FD, F_GETFD) < 0) {
		fputs("usage: dvm-standby command [arg ...] (litedvm's own "
		    "helper, with its socket on descriptor 3)\n", stderr);
		return 127;
	}
	/* The caller, while it surely is the parent (not a reaper after it). */
	fd = caller > 1 ? pidfd_open(caller, 0) : -1;
	if (fd >= 0 && getppid() != caller) {
		close(fd);
		fd = -1;
	}
	pf.fd = SOCK_FD;
	pf.events = POLLRDHUP;
	while (poll(&pf, 1, -1) < 0 || !(pf.revents & (POLLRDHUP | POLLHUP |
	    POLLERR | POLLNVAL)))
		;
	if (fd >= 0) {
		pf.fd = fd;
		pf.events = POLLIN;
		(void)poll(&pf, 1, EXIT_WAIT_MS);
		close(fd);
	}
	execvp(argv[1], argv + 1);
	if (snprintf(path, sizeof(path), "%s/%s", LDVM_SBINDIR, argv[1]) <
	    (int)sizeof(path))
		execv(path, argv + 1);
	return 127;
}
