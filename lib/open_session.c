/*
 * dvm-open inside the disposable: receives the file on standard input,
 * opens it with the template's opener, waits until the editing session is
 * over and, when the content changed, sends it back on standard output.
 * dom0 starts this through the agent (dvm-open --session); nothing here
 * needs xenstore.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ldvm_internal.h"

/* Copies everything from in to each of the (up to two) outputs. */
static int
copy_all(struct ldvm_ctx *ctx, int in, int out1, int out2)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ldvm__errno(ctx, LDVM_ESYS, "read");
		}
		if ((out1 >= 0 && ldvm__write_all(out1, buf, (size_t)n) < 0) ||
		    (out2 >= 0 && ldvm__write_all(out2, buf, (size_t)n) < 0))
			return ldvm__errno(ctx, LDVM_ESYS, "write");
	}
	return 0;
}

/* 1 when the two files hold the same bytes, 0 when not, <0 on error. */
static int
same_content(struct ldvm_ctx *ctx, int a, int b)
{
	char x[32768], y[32768];
	struct stat sa, sb;
	off_t off = 0;

	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "fstat");
	if (sa.st_size != sb.st_size)
		return 0;
	while (off < sa.st_size) {
		ssize_t n = pread(a, x, sizeof(x), off), m;

		if (n <= 0)
			return ldvm__errno(ctx, LDVM_ESYS, "read");
		if ((m = pread(b, y, (size_t)n, off)) != n)
			return ldvm__errno(ctx, LDVM_ESYS, "read");
		if (memcmp(x, y, (size_t)n) != 0)
			return 0;
		off += n;
	}
	return 1;
}

/* The opener's argv: "%f" in any argument becomes path; else appended. */
static char **
opener_argv(char *const opener[], const char *path)
{
	size_t n = 0, i;
	bool used = false;
	char **av;

	while (opener[n] != NULL)
		n++;
	if ((av = calloc(n + 2, sizeof(char *))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *f = strstr(opener[i], "%f");

		if (f == NULL)
			av[i] = strdup(opener[i]);
		else if (asprintf(&av[i], "%.*s%s%s", (int)(f - opener[i]),
		    opener[i], path, f + 2) < 0)
			av[i] = NULL;
		used |= f != NULL;
		if (av[i] == NULL)
			goto fail;
	}
	if (!used && (av[n] = strdup(path)) == NULL)
		goto fail;
	return av;
fail:
	for (i = 0; i <= n; i++)
		free(av[i]);
	free(av);
	return NULL;
}

/* Runs the opener with nothing on stdin and its output on stderr. */
static int
run_opener(struct ldvm_ctx *ctx, char **av, int *status)
{
	pid_t pid;
	int st;

	if ((pid = fork()) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(2, 1);
		ldvm__child_exec_prep();
		execvp(av[0], av);
		fprintf(stderr, "dvm-open: %s: %s\n", av[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return ldvm__errno(ctx, LDVM_ESYS, "waitpid");
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

/*
 * True while some process keeps path open, or a lock file of the kind
 * office suites leave beside a document (".~lock.NAME#") exists.
 */
static bool
in_use(const char *dir, const char *name, const char *path)
{
	char lock[PATH_MAX], fdp[300], link[PATH_MAX];
	DIR *proc, *fds;
	struct dirent *p, *f;
	bool used = false;

	snprintf(lock, sizeof(lock), "%s/.~lock.%s#", dir, name);
	if (access(lock, F_OK) == 0)
		return true;
	if ((proc = opendir("/proc")) == NULL)
		return false;
	while (!used && (p = readdir(proc)) != NULL) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(fdp, sizeof(fdp), "/proc/%s/fd", p->d_name);
		if ((fds = opendir(fdp)) == NULL)
			continue;
		while (!used && (f = readdir(fds)) != NULL) {
			char fp[600];
			ssize_t n;

			snprintf(fp, sizeof(fp), "%s/%s", fdp, f->d_name);
			n = readlink(fp, link, sizeof(link) - 1);
			if (n > 0) {
				link[n] = '\0';
				used = strcmp(link, path) == 0;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return used;
}

/*
 * For openers that detach: waits until nobody has the file open and no
 * lock file is left.  Closes and deletions in the directory wake it; a
 * periodic look covers processes that die without closing anything.
 */
static int
wait_closed(struct ldvm_ctx *ctx, const char *dir, const char *name,
    const char *path)
{
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), rc = 0;

	if (in < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "inotify");
	if (inotify_add_watch(in, dir, IN_CLOSE | IN_DELETE | IN_MOVED_FROM) < 0) {
		close(in);
		return ldvm__errno(ctx, LDVM_ESYS, "inotify %s", dir);
	}
	while (in_use(dir, name, path)) {
		struct pollfd p = { .fd = in, .events = POLLIN };
		char ev[4096];

		if ((rc = ldvm__interrupted(ctx)) != 0)
			break;
		if (ldvm__poll(ctx, &p, 1, 2000) > 0)
			while (read(in, ev, sizeof(ev)) > 0)
				;
	}
	close(in);
	return rc;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

int
ldvm_open_session(struct ldvm_ctx *ctx, const char *name, int view_only,
    const char *wait, char *const opener[], int in, int out, int *changed)
{
	struct stat st;
	char dir[] = "/tmp/dvm-open.XXXXXX", path[PATH_MAX];
	char **av = NULL;
	int fd = -1, orig = -1, now = -1, rc, status = 0, same;

	*changed = 0;
	if (!ldvm__safe_filename(name, strlen(name)))
		return ldvm__err(ctx, LDVM_EINVAL, "unsafe file name");
	if (strcmp(wait, "exit") != 0 && strcmp(wait, "close") != 0)
		return ldvm__err(ctx, LDVM_EINVAL, "unknown end of session '%s' "
		    "(exit or close)", wait);
	if (opener == NULL || opener[0] == NULL)
		return ldvm__err(ctx, LDVM_EINVAL, "no opener");
	if (mkdtemp(dir) == NULL)
		return ldvm__errno(ctx, LDVM_ESYS, "mkdtemp");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* The original stays in memory, out of the opener's reach. */
	if ((orig = memfd_create("dvm-open-original", MFD_CLOEXEC)) < 0) {
		rc = ldvm__errno(ctx, LDVM_ESYS, "memfd_create");
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    view_only ? 0444 : 0644)) < 0) {
		rc = ldvm__errno(ctx, LDVM_ESYS, "%s", path);
		goto out;
	}
	if ((rc = copy_all(ctx, in, fd, orig)) != 0)
		goto out;
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		rc = ldvm__errno(ctx, LDVM_ESYS, "%s", path);
		goto out;
	}
	fd = -1;
	if ((av = opener_argv(opener, path)) == NULL) {
		rc = ldvm__errno(ctx, LDVM_ENOMEM, "opener");
		goto out;
	}
	if ((rc = run_opener(ctx, av, &status)) != 0)
		goto out;
	if (strcmp(wait, "close") == 0 &&
	    (rc = wait_closed(ctx, dir, name, path)) != 0)
		goto out;
	if (view_only) {
		rc = status == 0 ? 0 : ldvm__err(ctx, LDVM_EPROTO, "opener %s "
		    "exited with status %d", opener[0], status);
		goto out;
	}
	/*
	 * The opener may have put anything there: a link is not followed,
	 * a FIFO not waited on, and only a regular file is taken back.
	 */
	if ((now = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) < 0) {
		rc = ldvm__errno(ctx, LDVM_ESYS, "after the session: %s", name);
		goto out;
	}
	if (fstat(now, &st) < 0 || !S_ISREG(st.st_mode) ||
	    fcntl(now, F_SETFL, 0) < 0) {
		rc = ldvm__err(ctx, LDVM_EPROTO, "after the session: %s is not "
		    "a regular file", name);
		goto out;
	}
	if ((same = same_content(ctx, now, orig)) < 0) {
		rc = same;
		goto out;
	}
	if (!same) {
		if ((rc = copy_all(ctx, now, out, -1)) != 0)
			goto out;
		*changed = 1;
	} else if (status != 0) {
		rc = ldvm__err(ctx, LDVM_EPROTO, "opener %s exited with status "
		    "%d", opener[0], status);
		goto out;
	}
	rc = 0;
out:
	if (av != NULL) {
		for (char **a = av; *a != NULL; a++)
			free(*a);
		free(av);
	}
	if (fd >= 0)
		close(fd);
	if (orig >= 0)
		close(orig);
	if (now >= 0)
		close(now);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
