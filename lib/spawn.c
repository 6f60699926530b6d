/*
 * Background helpers: work that must not sit on a caller's critical path
 * (refilling a pool, tearing down a used disposable) runs in a detached
 * dvm-preload process.  The child execs at once, as libxl requires of a
 * forked child that holds no new context.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ldvm_internal.h"

#ifndef LDVM_SBINDIR
#define LDVM_SBINDIR "/usr/local/sbin"
#endif

int
ldvm__spawn_preload(struct ldvm_ctx *ctx, char *const args[])
{
	char *argv[8];
	pid_t pid;
	int i, st;

	argv[0] = "dvm-preload";
	for (i = 0; args[i] != NULL && i < 6; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if ((pid = fork()) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "fork");
	if (pid == 0) {
		int fd;

		/* Detach twice so the caller never has to reap it. */
		setsid();
		if (fork() != 0)
			_exit(0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		ldvm__child_exec_prep();
		execvp(argv[0], argv);
		execv(LDVM_SBINDIR "/dvm-preload", argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/*
 * Runs argv (never through a shell) and waits for it; its standard error
 * becomes part of the message when it fails.  Returns 0 when it exited 0.
 * With out (size outsz > 0), standard output is kept there, NUL-terminated
 * and cut at outsz - 1 bytes; else it goes to /dev/null.
 */
int
ldvm__run_out(struct ldvm_ctx *ctx, char *const argv[], char *obuf,
    size_t outsz)
{
	char out[512];
	size_t got = 0, ogot = 0;
	int p[2], o[2] = { -1, -1 }, st;
	pid_t pid;
	ssize_t n;

	if (obuf != NULL && outsz > 0) {
		obuf[0] = '\0';
		if (pipe2(o, O_CLOEXEC) < 0)
			return ldvm__errno(ctx, LDVM_ESYS, "pipe");
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		int e = errno;

		if (o[0] >= 0) {
			close(o[0]);
			close(o[1]);
		}
		errno = e;
		return ldvm__errno(ctx, LDVM_ESYS, "pipe");
	}
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		if (o[0] >= 0) {
			close(o[0]);
			close(o[1]);
		}
		return ldvm__errno(ctx, LDVM_ESYS, "fork");
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(o[1] >= 0 ? o[1] : fd, STDOUT_FILENO);
		}
		dup2(p[1], STDERR_FILENO);
		ldvm__child_exec_prep();
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	if (o[1] >= 0) {
		/* Output first; what lvm(8) says on stderr fits its pipe. */
		close(o[1]);
		for (;;) {
			char sink[256];

			if (ogot < outsz - 1)
				n = read(o[0], obuf + ogot, outsz - 1 - ogot);
			else
				n = read(o[0], sink, sizeof(sink));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (ogot < outsz - 1)
				ogot += (size_t)n;
		}
		close(o[0]);
		obuf[ogot] = '\0';
	}
	for (;;) {
		n = read(p[0], out + got, sizeof(out) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(out) - 1) {
			char sink[256];

			/* Keep draining so the child never blocks on us. */
			while ((n = read(p[0], sink, sizeof(sink))) > 0 ||
			    (n < 0 && errno == EINTR))
				;
			break;
		}
	}
	close(p[0]);
	out[got] = '\0';
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return ldvm__errno(ctx, LDVM_ESYS, "wait for %s",
			    argv[0]);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == ' '))
		out[--got] = '\0';
	if (strchr(out, '\n') != NULL)
		*strrchr(out, '\n') = '\0';     /* keep the first lines short */
	return ldvm__err(ctx, LDVM_ESYS, "%s %s failed (%s%d)%s%s", argv[0],
	    argv[1] != NULL ? argv[1] : "", WIFEXITED(st) ? "status " :
	    "signal ", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
	    got > 0 ? ": " : "", out);
}

int
ldvm__run(struct ldvm_ctx *ctx, char *const argv[])
{
	return ldvm__run_out(ctx, argv, NULL, 0);
}
