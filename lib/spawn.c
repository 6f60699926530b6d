/*
 * Background helpers: work that must not sit on a caller's critical path
 * (refilling a pool, tearing down a used disposable) runs in a dvm-preload
 * process of its own session.  posix_spawn starts a refill without
 * copying the caller's address space (a fork of a process with libxl
 * loaded, then a second fork to detach, cost some 20 ms under
 * emulation), and it execs at once.  A pooled command's standby
 * (ldvm__spawn_standby) is spawned the same way, as dvm-standby, a small
 * static program in LDVM_LIBEXECDIR that waits and only then execs
 * dvm-preload.  The caller's helpers are reaped without waiting whenever
 * it starts another and when its context is freed; one still running
 * then is reparented and reaped by init.
 *
 * A helper does not keep a file size limit the caller lowered for a while
 * (dvm-opend bounds a disposable's answer by RLIMIT_FSIZE, and a pooled
 * session's helper starts during it): the soft limit goes back up to the
 * hard one for the spawn only, or the helper could not copy or clone a
 * volume (EFBIG) and the pool would not be refilled.
 *
 * A helper keeps the caller's priority.  At nice 19 it slowed a pooled
 * run that came right after another less, but a build starved by a busy
 * dom0 ran past its template's litedvm_ready_timeout and was thrown away,
 * leaving the pool empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ldvm_internal.h"

#ifndef LDVM_SBINDIR
#define LDVM_SBINDIR "/usr/local/sbin"
#endif
#ifndef LDVM_LIBEXECDIR
#define LDVM_LIBEXECDIR "/usr/local/libexec/litedvm"
#endif

#define STANDBY_FD 3            /* the standby's socket, in the helper */
#define STANDBY_FD_ARG "3"

/*
 * posix_spawn's error number, or 0; *pid the helper's.  path: the program,
 * or NULL for argv[0] by the PATH, else in LDVM_SBINDIR.  sock >= 0: the
 * helper's descriptor STANDBY_FD.
 */
static int
spawn_helper(pid_t *pid, const char *path, char *const argv[], int sock)
{
	extern char **environ;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t none, dfl;
	int e;

	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		return e;
	if ((e = posix_spawnattr_init(&sa)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return e;
	}
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGPIPE);
	/*
	 * Its own session: a terminal's ^C or hang-up is not for it.  The
	 * socket first (it may be one of 0-2); a dup2 onto itself clears its
	 * close-on-exec flag.
	 */
	if ((e = posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0 &&
	    (e = posix_spawnattr_setsigmask(&sa, &none)) == 0 &&
	    (e = posix_spawnattr_setsigdefault(&sa, &dfl)) == 0 &&
	    (sock < 0 || (e = posix_spawn_file_actions_adddup2(&fa, sock,
	    STANDBY_FD)) == 0) &&
	    (e = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO,
	    "/dev/null", O_RDWR, 0)) == 0 &&
	    (e = posix_spawn_file_actions_adddup2(&fa, STDIN_FILENO,
	    STDOUT_FILENO)) == 0 &&
	    (e = posix_spawn_file_actions_adddup2(&fa, STDIN_FILENO,
	    STDERR_FILENO)) == 0 &&
	    (e = posix_spawn_file_actions_addclosefrom_np(&fa,
	    sock < 0 ? STDERR_FILENO + 1 : STANDBY_FD + 1)) == 0) {
		struct rlimit fs, full;
		int lowered = getrlimit(RLIMIT_FSIZE, &fs) == 0 &&
		    fs.rlim_cur != fs.rlim_max;

		full = fs;
		full.rlim_cur = fs.rlim_max;
		if (lowered)
			setrlimit(RLIMIT_FSIZE, &full);
		if (path != NULL)
			e = posix_spawn(pid, path, &fa, &sa, argv, environ);
		else if ((e = posix_spawnp(pid, argv[0], &fa, &sa, argv,
		    environ)) == ENOENT)
			e = posix_spawn(pid, LDVM_SBINDIR "/dvm-preload", &fa,
			    &sa, argv, environ);
		if (lowered)
			setrlimit(RLIMIT_FSIZE, &fs);
	}
	posix_spawnattr_destroy(&sa);
	posix_spawn_file_actions_destroy(&fa);
	return e;
}

/*
 * Room in ctx's list of helpers for one more, the finished ones reaped
 * first; 0 or LDVM_ENOMEM.
 */
static int
helper_room(struct ldvm_ctx *ctx)
{
	pid_t *more;

	ldvm__reap_helpers(ctx);
	more = reallocarray(ctx->helpers, ctx->nhelpers + 1, sizeof(*more));
	if (more == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "dvm-preload");
	ctx->helpers = more;
	return 0;
}

int
ldvm__spawn_preload(struct ldvm_ctx *ctx, char *const args[])
{
	char *argv[8];
	pid_t pid;
	int i, e;

	argv[0] = "dvm-preload";
	for (i = 0; args[i] != NULL && i < 6; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if ((e = helper_room(ctx)) != 0)
		return e;
	if ((e = spawn_helper(&pid, NULL, argv, -1)) != 0) {
		errno = e;
		return ldvm__errno(ctx, LDVM_ESYS, "cannot start dvm-preload");
	}
	ctx->helpers[ctx->nhelpers++] = pid;
	return 0;
}

/*
 * The standby is spawned as dvm-standby, parked until the release.  A
 * spawn of dvm-preload itself held the caller until its exec was done
 * (5-15 ms under emulation), and its start (some 75 ms of CPU loading
 * libxl's libraries) then ran beside the command on dom0's CPU; a fork
 * that parked copied the caller's page tables, and every page either side
 * wrote while the command ran was copied again.  dvm-standby is linked
 * statically with libc alone: its exec is short, and it loads nothing.
 */
int
ldvm__spawn_standby(struct ldvm_ctx *ctx, const char *tmpl, int *wfd)
{
	char *argv[] = { "dvm-standby", "dvm-preload", "-q", "-t",
	    (char *)tmpl, "--wait-fd", STANDBY_FD_ARG, NULL };
	pid_t pid;
	int p[2], rc, e;

	*wfd = -1;
	if ((rc = helper_room(ctx)) != 0)
		return rc;
	/* A socket: sending to a helper that died raises no SIGPIPE. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "socketpair");
	e = spawn_helper(&pid, LDVM_LIBEXECDIR "/dvm-standby", argv, p[0]);
	close(p[0]);
	if (e != 0) {
		close(p[1]);
		errno = e;
		return ldvm__errno(ctx, LDVM_ESYS, "cannot start "
		    LDVM_LIBEXECDIR "/dvm-standby");
	}
	ctx->helpers[ctx->nhelpers++] = pid;
	*wfd = p[1];
	return 0;
}

/*
 * The caller's environment with the "NAME=value" strings of add in place
 * of any of the same names, for a child only; NULL when out of memory.
 * Free the array, not the strings.
 */
static char **
child_env(const char *const add[])
{
	extern char **environ;
	char **env;
	size_t n = 0, na = 0, i, j, k = 0;

	while (environ[n] != NULL)
		n++;
	while (add[na] != NULL)
		na++;
	if ((env = calloc(n + na + 1, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		for (j = 0; j < na; j++) {
			size_t len = strcspn(add[j], "=") + 1;

			if (strncmp(environ[i], add[j], len) == 0)
				break;
		}
		if (j == na)
			env[k++] = environ[i];
	}
	for (j = 0; j < na; j++)
		env[k++] = (char *)add[j];
	env[k] = NULL;
	return env;
}

/* The child: /dev/null in, out (or /dev/null) out, err for errors. */
static void __attribute__((noreturn))
exec_child(char *const argv[], char **env, int out, int err)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(out >= 0 ? out : fd, STDOUT_FILENO);
	}
	dup2(err, STDERR_FILENO);
	ldvm__child_exec_prep();
	if (env != NULL)
		execvpe(argv[0], argv, env);
	else
		execvp(argv[0], argv);
	_exit(127);
}

/*
 * Reads fd to its end: the first size - 1 bytes into buf, NUL-terminated,
 * the rest drained so that the writer never blocks; returns how many
 * bytes were kept.
 */
static size_t
read_all(int fd, char *buf, size_t size)
{
	char sink[256];
	size_t got = 0;
	ssize_t n;

	for (;;) {
		if (got < size - 1)
			n = read(fd, buf + got, size - 1 - got);
		else
			n = read(fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got < size - 1)
			got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/*
 * Runs argv (never through a shell) and waits for it; its standard error
 * becomes part of the message when it fails.  Returns 0 when it exited 0.
 * add, when not NULL, lists "NAME=value" strings set in the child's
 * environment only.  With out (size outsz > 0), standard output is kept
 * there, NUL-terminated and cut at outsz - 1 bytes; else it goes to
 * /dev/null.
 */
int
ldvm__run_out(struct ldvm_ctx *ctx, char *const argv[],
    const char *const add[], char *obuf, size_t outsz)
{
	char out[512], **env = NULL;
	size_t got;
	int p[2] = { -1, -1 }, o[2] = { -1, -1 }, st, e, i;
	pid_t pid = 0;

	if (add != NULL && (env = child_env(add)) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "malloc");
	if ((obuf != NULL && outsz > 0 && pipe2(o, O_CLOEXEC) < 0) ||
	    pipe2(p, O_CLOEXEC) < 0) {
		e = errno;
		goto fail;
	}
	if ((pid = fork()) < 0) {
		e = errno;
		goto fail;
	}
	if (pid == 0)
		exec_child(argv, env, o[1], p[1]);
	free(env);
	close(p[1]);
	if (o[1] >= 0) {
		/* Output first; what lvm(8) says on stderr fits its pipe. */
		close(o[1]);
		read_all(o[0], obuf, outsz);
		close(o[0]);
	}
	got = read_all(p[0], out, sizeof(out));
	close(p[0]);
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
fail:
	for (i = 0; i < 2; i++) {
		if (p[i] >= 0)
			close(p[i]);
		if (o[i] >= 0)
			close(o[i]);
	}
	free(env);
	errno = e;
	return ldvm__errno(ctx, LDVM_ESYS, pid < 0 ? "fork" : "pipe");
}

int
ldvm__run(struct ldvm_ctx *ctx, char *const argv[], const char *const add[])
{
	return ldvm__run_out(ctx, argv, add, NULL, 0);
}
