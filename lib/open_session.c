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

/*
 * In the opener (a child about to exec): the Wayland connection that
 * waypipe server gave this session (a graphical opener's, the descriptor
 * named by WAYLAND_SOCKET) as descriptor 3, kept when the others are
 * closed: returns the first descriptor to close.
 */
static int
keep_wayland_socket(void)
{
	const char *s = getenv("WAYLAND_SOCKET");
	unsigned long fd;

	if (s == NULL || !ldvm__parse_uint(s, strlen(s), INT_MAX, &fd) ||
	    fd <= STDERR_FILENO || fcntl((int)fd, F_GETFD) < 0) {
		unsetenv("WAYLAND_SOCKET");
		return 3;
	}
	if ((fd != 3 && dup2((int)fd, 3) < 0) || fcntl(3, F_SETFD, 0) < 0)
		_exit(126);
	setenv("WAYLAND_SOCKET", "3", 1);
	return 4;
}

/*
 * Runs the opener with nothing on stdin and its output on stderr, or, on
 * a terminal, with the session's own standard input and output.
 */
static int
run_opener(struct ldvm_ctx *ctx, char **av, bool terminal, int *status)
{
	pid_t pid;
	int st;

	if ((pid = fork()) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "fork");
	if (pid == 0) {
		int null = terminal ? -1 : open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		if (!terminal)
			dup2(2, 1);
		ldvm__child_exec_prep_from(keep_wayland_socket());
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

/* Writes the file from in to path, and a copy to orig. */
static int
stage(struct ldvm_ctx *ctx, const char *path, int view_only, int in, int orig)
{
	int fd, rc;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    view_only ? 0444 : 0644)) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", path);
	if ((rc = copy_all(ctx, in, fd, orig)) != 0) {
		close(fd);
		return rc;
	}
	/*
	 * No fsync: the opener reads it through the page cache, and the
	 * disposable's disk is thrown away (a flush to dom0's disk cost a
	 * just-woken disposable time, for nothing).
	 */
	if (close(fd) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", path);
	return 0;
}

/*
 * Runs the opener on dir/name and waits as wait says; *status is the
 * opener's.  On a terminal, the opener has the session's own.
 */
static int
open_with(struct ldvm_ctx *ctx, const char *dir, const char *name,
    const char *wait, char *const opener[], bool terminal, int *status)
{
	char path[PATH_MAX], **av;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((av = opener_argv(opener, path)) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "opener");
	rc = run_opener(ctx, av, terminal, status);
	if (rc == 0 && strcmp(wait, "close") == 0)
		rc = wait_closed(ctx, dir, name, path);
	for (char **a = av; *a != NULL; a++)
		free(*a);
	free(av);
	return rc;
}

/*
 * After the session: writes dir/name's content to out when it is not
 * orig's (*changed = 1).  The opener may have put anything there: a link
 * is not followed, a FIFO not waited on, and only a regular file is taken
 * back.  An opener that failed and changed nothing fails the session.
 */
static int
take_back(struct ldvm_ctx *ctx, const char *path, const char *name,
    int orig, int view_only, const char *opener, int status, int out,
    int *changed)
{
	struct stat st;
	int now, same, rc = 0;

	*changed = 0;
	if (view_only)
		return status == 0 ? 0 : ldvm__err(ctx, LDVM_EPROTO, "opener "
		    "%s exited with status %d", opener, status);
	if ((now = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "after the session: %s", name);
	if (fstat(now, &st) < 0 || !S_ISREG(st.st_mode) ||
	    fcntl(now, F_SETFL, 0) < 0)
		rc = ldvm__err(ctx, LDVM_EPROTO, "after the session: %s is not "
		    "a regular file", name);
	else if ((same = same_content(ctx, now, orig)) < 0)
		rc = same;
	else if (!same) {
		if ((rc = copy_all(ctx, now, out, -1)) == 0)
			*changed = 1;
	} else if (status != 0)
		rc = ldvm__err(ctx, LDVM_EPROTO, "opener %s exited with status "
		    "%d", opener, status);
	close(now);
	return rc;
}

/* The arguments of a run; wait and opener only for one that opens. */
static int
session_checks(struct ldvm_ctx *ctx, const char *name, const char *wait,
    char *const opener[])
{
	if (!ldvm__safe_filename(name, strlen(name)))
		return ldvm__err(ctx, LDVM_EINVAL, "unsafe file name");
	if (wait != NULL && strcmp(wait, "exit") != 0 &&
	    strcmp(wait, "close") != 0)
		return ldvm__err(ctx, LDVM_EINVAL, "unknown end of session '%s' "
		    "(exit or close)", wait);
	if (wait != NULL && (opener == NULL || opener[0] == NULL))
		return ldvm__err(ctx, LDVM_EINVAL, "no opener");
	return 0;
}

int
ldvm_open_session(struct ldvm_ctx *ctx, const char *name, int view_only,
    const char *wait, char *const opener[], int in, int out, int *changed)
{
	char dir[] = "/tmp/dvm-open.XXXXXX", path[PATH_MAX];
	int orig = -1, rc, status = 0;

	*changed = 0;
	if ((rc = session_checks(ctx, name, wait, opener)) != 0)
		return rc;
	if (mkdtemp(dir) == NULL)
		return ldvm__errno(ctx, LDVM_ESYS, "mkdtemp");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* The original stays in memory, out of the opener's reach. */
	if ((orig = memfd_create("dvm-open-original", MFD_CLOEXEC)) < 0)
		rc = ldvm__errno(ctx, LDVM_ESYS, "memfd_create");
	else if ((rc = stage(ctx, path, view_only, in, orig)) == 0 &&
	    (rc = open_with(ctx, dir, name, wait, opener, false,
	    &status)) == 0)
		rc = take_back(ctx, path, name, orig, view_only, opener[0],
		    status, out, changed);
	if (orig >= 0)
		close(orig);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}

/*
 * A terminal session comes in three runs of dvm-open --session in the
 * same disposable, the file kept between them in one place of root's:
 * the file in, the opener on the session's terminal, the content out.
 */
#define STAGE_DIR "/tmp/.dvm-open"
#define STAGE_ORIG "/tmp/.dvm-open.original"
#define STAGE_STATUS "/tmp/.dvm-open.status"

int
ldvm_open_stage(struct ldvm_ctx *ctx, const char *name, int view_only, int in)
{
	char path[PATH_MAX];
	int orig, rc;

	if ((rc = session_checks(ctx, name, NULL, NULL)) != 0)
		return rc;
	if (mkdir(STAGE_DIR, 0700) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", STAGE_DIR);
	if ((orig = open(STAGE_ORIG, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0400)) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", STAGE_ORIG);
	snprintf(path, sizeof(path), "%s/%s", STAGE_DIR, name);
	rc = stage(ctx, path, view_only, in, orig);
	if (close(orig) < 0 && rc == 0)
		rc = ldvm__errno(ctx, LDVM_ESYS, "%s", STAGE_ORIG);
	return rc;
}

int
ldvm_open_session_tty(struct ldvm_ctx *ctx, const char *name,
    const char *wait, char *const opener[], int *status)
{
	char buf[16];
	int fd, rc, n;

	*status = -1;
	if ((rc = session_checks(ctx, name, wait, opener)) != 0)
		return rc;
	if ((rc = open_with(ctx, STAGE_DIR, name, wait, opener, true,
	    status)) != 0)
		return rc;
	/* The opener's status, for the run that takes the content back. */
	n = snprintf(buf, sizeof(buf), "%d\n", *status);
	if ((fd = open(STAGE_STATUS, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0400)) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", STAGE_STATUS);
	if (ldvm__write_all(fd, buf, (size_t)n) < 0 || close(fd) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", STAGE_STATUS);
	return 0;
}

int
ldvm_open_take(struct ldvm_ctx *ctx, const char *name, int view_only,
    const char *opener, int out, int *changed)
{
	char path[PATH_MAX], buf[16] = "";
	long status;
	int orig, fd, rc;
	ssize_t n = -1;

	*changed = 0;
	if ((rc = session_checks(ctx, name, NULL, NULL)) != 0)
		return rc;
	if ((fd = open(STAGE_STATUS, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n <= 0)
		return ldvm__err(ctx, LDVM_EINVAL, "no terminal session ran "
		    "for %s", name);
	buf[n] = '\0';
	status = strtol(buf, NULL, 10);
	if ((orig = open(STAGE_ORIG, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", STAGE_ORIG);
	snprintf(path, sizeof(path), "%s/%s", STAGE_DIR, name);
	rc = take_back(ctx, path, name, orig, view_only, opener, (int)status,
	    out, changed);
	close(orig);
	return rc;
}
