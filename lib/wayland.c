/*
 * A command's Wayland windows, carried by waypipe over a vchan of their
 * own beside the session's channel (LDVM_RUN_WAYLAND).
 *
 *   dom0:  the caller's compositor <- waypipe client <- unix socket
 *          <- relay thread <- vchan (dom0 serves it) <- the disposable
 *   guest: vchan (the agent connects) -> relay thread -> unix socket
 *          -> waypipe server -> the command (WAYLAND_SOCKET)
 *
 * For dvm-open the requesting guest's dvm-open plays dom0's part above
 * (it serves <its area>/open/wl to dom0), and dom0 only joins the two
 * streams: a socket pair, one relay to the guest's vchan (dom0 connects),
 * one to the disposable's (dom0 serves); no waypipe runs in dom0.
 *
 * Both waypipes run with --oneshot (one application connection, one
 * stream) and --no-gpu (no DMA buffers: nothing from the disposable
 * reaches dom0's GPU driver).  dom0 creates the vchan at <area>/wl/<seq>
 * (the session's listener number) before it sends EXEC, so the agent
 * connects without waiting.  Each end's relay is a thread with buffers of
 * LDVM_WL_BUF bytes each way; it reads no more than the other side takes.
 * The stream's bytes are waypipe's own protocol: the relay only moves
 * them, and dom0's waypipe client is what interprets them.
 *
 * The relay ends when either side closes or breaks the ring, or when its
 * owner stops it (the session is over); the stream's end reaches the other
 * waypipe as a closed socket.
 */
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxenvchan.h>

#include "ldvm_internal.h"

struct ldvm__wl {
	struct ldvm__chan *ch;  /* the stream's vchan */
	int fd;                 /* waypipe's end: connected unix socket */
	int lfd;                /* agent: listening until waypipe connects */
	int stop[2];            /* a byte ends the relay */
	pid_t pid;              /* waypipe client, when we started it */
	bool served, running;   /* served: we made the vchan's nodes */
	pthread_t th;
	char dir[64], sock[108];        /* agent: the socket and its dir */
	char xs_path[LDVM_XS_PATH_MAX];
	struct ldvm_ctx *tctx;  /* the thread's own, for its messages */
};

static const char *const waypipe_opts[] = { "waypipe", "--oneshot",
    "--no-gpu", "--socket" };

int
ldvm__wl_path(const char *chan_path, char *buf, size_t size)
{
	const char *v = NULL, *p;
	int n;

	for (p = chan_path; (p = strstr(p, "/vchan/")) != NULL; p++)
		v = p;
	if (v == NULL || v[7] == '\0' || strchr(v + 7, '/') != NULL)
		return -1;
	n = snprintf(buf, size, "%.*s/wl/%s", (int)(v - chan_path), chan_path,
	    v + 7);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

char **
ldvm__wl_argv(char *const argv[], const char *sock)
{
	size_t n, k = 0, i, pre = sizeof(waypipe_opts) / sizeof(*waypipe_opts);
	char **av;

	for (n = 0; argv[n] != NULL; n++)
		;
	if (n == 0 || (av = calloc(n + pre + 4, sizeof(*av))) == NULL)
		return NULL;
	for (i = 0; i < pre; i++)
		av[k++] = (char *)waypipe_opts[i];
	av[k++] = (char *)sock;
	av[k++] = "server";
	av[k++] = "--";
	for (i = 0; i < n; i++)
		av[k++] = argv[i];
	av[k] = NULL;
	return av;
}

bool
ldvm__wl_find(const char *path, const char *name)
{
	char buf[PATH_MAX];
	const char *p = path, *e;

	while (p != NULL && *p != '\0') {
		size_t len;

		e = strchr(p, ':');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		if (len > 0 && (size_t)snprintf(buf, sizeof(buf), "%.*s/%s",
		    (int)len, p, name) < sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		p = e != NULL ? e + 1 : NULL;
	}
	return false;
}

/* WAYLAND_DISPLAY as a path: absolute, or in XDG_RUNTIME_DIR. */
static int
display_path(struct ldvm_ctx *ctx, char *buf, size_t size)
{
	const char *d = getenv("WAYLAND_DISPLAY"), *rt;
	int n;

	if (d == NULL || *d == '\0')
		return ldvm__err(ctx, LDVM_EINVAL, "no Wayland session: "
		    "WAYLAND_DISPLAY is not set");
	rt = getenv("XDG_RUNTIME_DIR");
	if (d[0] != '/' && (rt == NULL || rt[0] != '/'))
		return ldvm__err(ctx, LDVM_EINVAL, "WAYLAND_DISPLAY=%s is "
		    "relative and XDG_RUNTIME_DIR is not set", d);
	n = d[0] == '/' ? snprintf(buf, size, "%s", d) :
	    snprintf(buf, size, "%s/%s", rt, d);
	if (n < 0 || (size_t)n >= size)
		return ldvm__err(ctx, LDVM_EINVAL, "WAYLAND_DISPLAY too long");
	return 0;
}

int
ldvm_wayland_check(struct ldvm_ctx *ctx)
{
	char p[PATH_MAX];
	struct stat st;
	const char *path = getenv("PATH");
	int rc;

	if ((rc = display_path(ctx, p, sizeof(p))) != 0)
		return rc;
	if (stat(p, &st) < 0 || !S_ISSOCK(st.st_mode))
		return ldvm__err(ctx, LDVM_ENOENT, "no Wayland compositor at "
		    "%s (WAYLAND_DISPLAY)", p);
	if (!ldvm__wl_find(path != NULL ? path : "/usr/bin:/bin", "waypipe"))
		return ldvm__err(ctx, LDVM_ENOENT, "waypipe is not installed "
		    "(not in PATH)");
	return 0;
}

static int
wl_new(struct ldvm_ctx *ctx, bool served, const char *xs_path,
    struct ldvm__wl **out)
{
	struct ldvm__wl *wl;

	if ((*out = wl = calloc(1, sizeof(*wl))) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "calloc");
	wl->fd = wl->lfd = wl->stop[0] = wl->stop[1] = -1;
	wl->served = served;
	snprintf(wl->xs_path, sizeof(wl->xs_path), "%s", xs_path);
	if (pipe2(wl->stop, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (wl->tctx = ldvm_ctx_new()) == NULL) {
		ldvm__closefd(&wl->stop[0]);
		ldvm__closefd(&wl->stop[1]);
		free(wl);
		*out = NULL;
		return ldvm__errno(ctx, LDVM_ESYS, "pipe");
	}
	return 0;
}

/*
 * dom0: waypipe client on sock, as the owner of the compositor's socket
 * (owner) when root runs it for another user's session: what the
 * disposable sends is interpreted there.
 */
static int
spawn_client(struct ldvm_ctx *ctx, struct ldvm__wl *wl, const char *sock,
    const struct stat *owner)
{
	bool drop = geteuid() == 0 && owner->st_uid != 0;
	/* Its own messages are for a caller who asked for details. */
	bool chatty = ctx->logfn != NULL && ctx->logmin <= LDVM_LOG_INFO;
	pid_t parent = getpid();

	if ((wl->pid = fork()) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "fork");
	if (wl->pid == 0) {
		char *argv[] = { "waypipe", "--oneshot", "--no-gpu",
		    "--socket", (char *)sock, "client", NULL };
		int null = open("/dev/null", O_RDWR);

		if (drop && (setgroups(0, NULL) < 0 ||
		    setgid(owner->st_gid) < 0 || setuid(owner->st_uid) < 0))
			_exit(126);
		/* It goes with its caller, even one killed outright. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		if (null >= 0 && !chatty)
			dup2(null, STDERR_FILENO);
		ldvm__child_exec_prep();
		execvp(argv[0], argv);
		_exit(127);
	}
	return 0;
}

/*
 * Connects to waypipe client's socket once it listens: its creation in
 * the directory (inotify in) wakes us; between its bind and its listen a
 * connection is refused, so we look again soon then.
 */
static int
connect_client(struct ldvm_ctx *ctx, struct ldvm__wl *wl, int in,
    const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = ldvm__now_ms() + LDVM_WL_START_MS;
	int rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	for (;;) {
		struct pollfd p = { .fd = in, .events = POLLIN };
		char ev[sizeof(struct inotify_event) + NAME_MAX + 1];
		int64_t left = deadline - ldvm__now_ms();
		int ws;

		if ((wl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return ldvm__errno(ctx, LDVM_ESYS, "socket");
		if (connect(wl->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			fcntl(wl->fd, F_SETFL, O_NONBLOCK);
			return 0;
		}
		ldvm__closefd(&wl->fd);
		if (waitpid(wl->pid, &ws, WNOHANG) == wl->pid) {
			wl->pid = 0;
			return ldvm__err(ctx, LDVM_ESYS, "waypipe client exited "
			    "before it listened (status %d)", WIFEXITED(ws) ?
			    WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
		}
		if (left <= 0)
			return ldvm__err(ctx, LDVM_ETIMEDOUT, "waypipe client "
			    "did not listen within %d s", LDVM_WL_START_MS / 1000);
		if (ldvm__poll(ctx, &p, 1, access(sock, F_OK) == 0 ? 20 :
		    (int)(left < 1000 ? left : 1000)) < 0 && errno != EINTR)
			return ldvm__errno(ctx, LDVM_ESYS, "poll");
		while (read(in, ev, sizeof(ev)) > 0)
			;
		if ((rc = ldvm__interrupted(ctx)) != 0)
			return rc;
	}
}

/*
 * dom0: starts `waypipe client` on a socket in a private directory and
 * connects to it; the socket and the directory are removed at once (one
 * connection is all it serves).
 */
static int
start_client(struct ldvm_ctx *ctx, struct ldvm__wl *wl)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char dir[96], sock[108], disp[PATH_MAX];
	struct stat st;
	int in = -1, rc;

	if ((rc = display_path(ctx, disp, sizeof(disp))) != 0)
		return rc;
	if (stat(disp, &st) < 0)
		return ldvm__errno(ctx, LDVM_ENOENT, "no Wayland compositor at "
		    "%s", disp);
	if (rt == NULL || rt[0] != '/' || strlen(rt) > 60)
		rt = "/tmp";
	snprintf(dir, sizeof(dir), "%s/litedvm-wl.XXXXXX", rt);
	if (mkdtemp(dir) == NULL)
		return ldvm__errno(ctx, LDVM_ESYS, "mkdtemp %s", dir);
	snprintf(sock, sizeof(sock), "%s/s", dir);
	if (geteuid() == 0 && st.st_uid != 0 &&
	    chown(dir, st.st_uid, st.st_gid) < 0)
		rc = ldvm__errno(ctx, LDVM_ESYS, "chown %s", dir);
	else if ((in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0 ||
	    inotify_add_watch(in, dir, IN_CREATE) < 0)
		rc = ldvm__errno(ctx, LDVM_ESYS, "inotify");
	else if ((rc = spawn_client(ctx, wl, sock, &st)) == 0)
		rc = connect_client(ctx, wl, in, sock);
	if (in >= 0)
		close(in);
	unlink(sock);
	rmdir(dir);
	return rc;
}

int
ldvm__wl_client_open(struct ldvm_ctx *ctx, uint32_t domid,
    const char *xs_path, struct ldvm__wl **out)
{
	struct ldvm__wl *wl;
	int rc;

	*out = NULL;
	if ((rc = wl_new(ctx, true, xs_path, &wl)) != 0)
		return rc;
	if ((rc = start_client(ctx, wl)) != 0 ||
	    (rc = ldvm__chan_listen_for(ctx, domid, xs_path, &wl->ch)) != 0) {
		ldvm__wl_close(ctx, wl);
		return rc;
	}
	*out = wl;
	return 0;
}

/* fd, ours from now on: non-blocking, kept beyond the caller's copy. */
static int
take_fd(struct ldvm_ctx *ctx, struct ldvm__wl *wl, int fd)
{
	if ((wl->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0 ||
	    fcntl(wl->fd, F_SETFL, O_NONBLOCK) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "socket");
	return 0;
}

/* fd relayed to a vchan we serve for domid at xs_path, or domid serves. */
static int
fd_open(struct ldvm_ctx *ctx, uint32_t domid, const char *xs_path, int fd,
    bool serve, struct ldvm__wl **out)
{
	struct ldvm__wl *wl;
	int rc;

	*out = NULL;
	if ((rc = wl_new(ctx, serve, xs_path, &wl)) != 0)
		return rc;
	if ((rc = take_fd(ctx, wl, fd)) == 0)
		rc = serve ? ldvm__chan_listen_for(ctx, domid, xs_path, &wl->ch) :
		    ldvm__chan_connect(ctx, domid, xs_path, &wl->ch);
	if (rc != 0) {
		ldvm__wl_close(ctx, wl);
		return rc;
	}
	*out = wl;
	return 0;
}

int
ldvm__wl_serve_fd(struct ldvm_ctx *ctx, uint32_t domid, const char *xs_path,
    int fd, struct ldvm__wl **out)
{
	return fd_open(ctx, domid, xs_path, fd, true, out);
}

int
ldvm__wl_connect_fd(struct ldvm_ctx *ctx, uint32_t domid,
    const char *xs_path, int fd, struct ldvm__wl **out)
{
	return fd_open(ctx, domid, xs_path, fd, false, out);
}

int
ldvm__wl_agent_open(struct ldvm_ctx *ctx, const char *xs_path, uid_t uid,
    gid_t gid, struct ldvm__wl **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ldvm__wl *wl;
	int rc = 0;

	*out = NULL;
	if ((rc = wl_new(ctx, false, xs_path, &wl)) != 0)
		return rc;
	snprintf(wl->dir, sizeof(wl->dir), "/tmp/.litedvm-wl.XXXXXX");
	if (mkdtemp(wl->dir) == NULL) {
		wl->dir[0] = '\0';
		rc = ldvm__errno(ctx, LDVM_ESYS, "mkdtemp");
		goto fail;
	}
	snprintf(wl->sock, sizeof(wl->sock), "%s/s", wl->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", wl->sock);
	/* Only the command's user may reach the socket. */
	if (chown(wl->dir, uid, gid) < 0 ||
	    (wl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0 ||
	    bind(wl->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chown(wl->sock, uid, gid) < 0 || chmod(wl->sock, 0600) < 0 ||
	    listen(wl->lfd, 1) < 0) {
		rc = ldvm__errno(ctx, LDVM_ESYS, "socket %s", wl->sock);
		goto fail;
	}
	if ((rc = ldvm__chan_connect(ctx, 0, xs_path, &wl->ch)) != 0)
		goto fail;
	*out = wl;
	return 0;
fail:
	ldvm__wl_close(ctx, wl);
	return rc;
}

const char *
ldvm__wl_socket(const struct ldvm__wl *wl)
{
	return wl->sock;
}

/* One direction's bytes in flight. */
struct buf {
	uint8_t b[LDVM_WL_BUF];
	size_t off, len;
};

/* The agent's relay first takes waypipe's one connection. */
static int
accept_one(struct ldvm__wl *wl)
{
	struct ldvm_ctx *ctx = wl->tctx;

	while (wl->fd < 0) {
		struct pollfd p[2] = { { .fd = wl->lfd, .events = POLLIN },
		    { .fd = wl->stop[0], .events = POLLIN } };
		int rc;

		if ((wl->fd = accept4(wl->lfd, NULL, NULL, SOCK_CLOEXEC |
		    SOCK_NONBLOCK)) >= 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			return ldvm__errno(ctx, LDVM_ESYS, "accept");
		if ((rc = ldvm__chan_wait_more(ctx, wl->ch, p, 2, -1)) != 0)
			return rc;
		if (p[1].revents || !libxenvchan_is_open(wl->ch->v))
			return LDVM_EINTR;
	}
	ldvm__closefd(&wl->lfd);
	unlink(wl->sock);
	rmdir(wl->dir);
	wl->dir[0] = '\0';
	return 0;
}

/*
 * One pass of moving what each side takes now: *moved tells whether any
 * byte moved; false once the stream is over.  The relay passes until
 * nothing moves: a last pass that finds the ring empty or full has asked
 * the peer to notify (libxenvchan_data_ready, libxenvchan_buffer_space),
 * so no byte can sit in a ring while the relay sleeps.
 */
static bool
shift(struct ldvm__wl *wl, struct buf *in, struct buf *out, bool *eof,
    bool *moved)
{
	struct libxenvchan *v = wl->ch->v;
	ssize_t n;
	int k;

	/* vchan -> socket */
	if (in->len == 0 && (k = libxenvchan_data_ready(v)) > 0) {
		if ((n = libxenvchan_read(v, in->b, sizeof(in->b))) < 0)
			return false;
		in->off = 0;
		in->len = (size_t)n;
		*moved |= n > 0;
	}
	while (in->len > 0) {
		if ((n = write(wl->fd, in->b + in->off, in->len)) < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return false;
			break;
		}
		in->off += (size_t)n;
		in->len -= (size_t)n;
		*moved |= n > 0;
	}
	/* socket -> vchan */
	if (out->len == 0 && !*eof) {
		n = read(wl->fd, out->b, sizeof(out->b));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			*eof = true;
		out->off = 0;
		out->len = n > 0 ? (size_t)n : 0;
		*moved |= n > 0;
	}
	while (out->len > 0 && (k = libxenvchan_buffer_space(v)) > 0) {
		if ((n = libxenvchan_write(v, out->b + out->off,
		    out->len < (size_t)k ? out->len : (size_t)k)) <= 0)
			return false;
		out->off += (size_t)n;
		out->len -= (size_t)n;
		*moved = true;
	}
	if (*eof && out->len == 0)
		return false;
	/* The peer closed: what it sent before is delivered first. */
	return libxenvchan_is_open(v) == 1 || libxenvchan_data_ready(v) > 0 ||
	    in->len > 0;
}

static void *
relay(void *arg)
{
	struct ldvm__wl *wl = arg;
	struct ldvm_ctx *ctx = wl->tctx;
	struct buf *in, *out;
	bool eof = false;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	in = calloc(1, sizeof(*in));
	out = calloc(1, sizeof(*out));
	if (in == NULL || out == NULL)
		goto done;
	if (wl->lfd >= 0 && accept_one(wl) != 0)
		goto done;
	/* A vchan we serve: the peer connects when it is ready. */
	while (libxenvchan_is_open(wl->ch->v) == 2) {
		struct pollfd p = { .fd = wl->stop[0], .events = POLLIN };

		if (ldvm__chan_wait_more(ctx, wl->ch, &p, 1, -1) != 0 ||
		    p.revents)
			goto done;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = wl->fd, .events = 0 },
		    { .fd = wl->stop[0], .events = POLLIN } };
		bool moved, going;

		do {
			moved = false;
			going = shift(wl, in, out, &eof, &moved);
		} while (going && moved);
		if (!going)
			break;
		if (in->len > 0)
			p[0].events |= POLLOUT;
		if (out->len == 0 && !eof)
			p[0].events |= POLLIN;
		if (ldvm__chan_wait_more(ctx, wl->ch, p, 2, -1) != 0 ||
		    p[1].revents)
			break;
	}
done:
	/* Both waypipes see the stream's end. */
	if (wl->fd >= 0)
		shutdown(wl->fd, SHUT_RDWR);
	ldvm__chan_close(wl->ch);
	wl->ch = NULL;
	free(in);
	free(out);
	return NULL;
}

int
ldvm__wl_start(struct ldvm_ctx *ctx, struct ldvm__wl *wl)
{
	int e;

	if ((e = pthread_create(&wl->th, NULL, relay, wl)) != 0) {
		errno = e;
		return ldvm__errno(ctx, LDVM_ESYS, "pthread_create");
	}
	wl->running = true;
	return 0;
}

void
ldvm__wl_close(struct ldvm_ctx *ctx, struct ldvm__wl *wl)
{
	if (wl == NULL)
		return;
	if (wl->running) {
		(void)write(wl->stop[1], "x", 1);
		pthread_join(wl->th, NULL);
	}
	ldvm__closefd(&wl->fd);
	ldvm__closefd(&wl->lfd);
	ldvm__closefd(&wl->stop[0]);
	ldvm__closefd(&wl->stop[1]);
	ldvm__chan_close(wl->ch);
	/* Our vchan's nodes, also those a failed server may have left. */
	if (wl->served)
		ldvm__xs_rm(ctx, XBT_NULL, wl->xs_path);
	if (wl->pid > 0) {
		kill(wl->pid, SIGKILL);
		waitpid(wl->pid, NULL, 0);
	}
	if (wl->sock[0] != '\0')
		unlink(wl->sock);
	if (wl->dir[0] != '\0')
		rmdir(wl->dir);
	ldvm_ctx_free(wl->tctx);
	free(wl);
}
