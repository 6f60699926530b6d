/*
 * dvm-open in an ordinary guest: writes one request into the guest's own
 * xenstore area, serves a vchan for dom0's dvm-open service, sends the
 * file over it and takes back the outcome, with the new content when the
 * file was edited.  The guest trusts dom0; the checks here guard against
 * mistakes, not against it.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <libxenvchan.h>

#include "ldvm_internal.h"

/* How long dom0 may take to take up a request. */
#define ANSWER_TIMEOUT_MS 30000
#define SEND_TIMEOUT_MS 60000

struct req {
	char base[LDVM_XS_PATH_MAX];    /* /local/domain/<id>/data/litedvm/open */
	char path[PATH_MAX];            /* the file, resolved */
	char dir[PATH_MAX];
	char tmp[PATH_MAX];             /* where new content arrives */
	int fd, tmpfd, lock;
	struct stat st;
	struct ldvm__chan *ch;
	bool watching;
	/* The requester's terminal, when a terminal opener runs on it. */
	int tty;
	bool raw, keys;         /* in raw mode; its keys still read */
	struct termios saved;
	uint16_t ws[2];         /* the size dom0 knows */
	/* This session's waypipe client, when the user has one. */
	struct ldvm__wl *wl;
};

static int
sub(struct ldvm_ctx *ctx, const struct req *r, const char *key, char *buf,
    size_t size)
{
	return ldvm__path(ctx, buf, size, "%s/%s", r->base, key);
}

#define LOCKFILE "/run/litedvm-open.lock"

/*
 * Serialises dvm-open within this guest: one request at a time, whoever
 * runs it, so one lock file only (any other place would let root and a
 * user hold two).  Root creates it when the guest's tmpfiles did not.
 */
static int
take_lock(struct ldvm_ctx *ctx, struct req *r)
{
	struct stat st;

	/* flock needs no write access: every user can take it. */
	r->lock = open(LOCKFILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK | (geteuid() == 0 ? O_CREAT : 0), 0444);
	if (r->lock < 0 && errno == ENOENT)
		return ldvm__err(ctx, LDVM_ESYS, "%s is missing: it is "
		    "created at boot by litedvm's tmpfiles.d entry, or by "
		    "dvm-open run as root", LOCKFILE);
	if (r->lock < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", LOCKFILE);
	if (fstat(r->lock, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0)
		return ldvm__err(ctx, LDVM_ESYS, "%s: not a regular file of "
		    "root's", LOCKFILE);
	/*
	 * Wait in flock with the waits' signal mask in force, so that an
	 * interrupt ends the wait (EINTR).  A signal that lands between the
	 * look at the flag and flock is seen once the lock is had: flock
	 * offers no ppoll of its own.
	 */
	{
		sigset_t old;
		int rc = 0, e = 0;

		if (ctx->has_waitmask)
			sigprocmask(SIG_SETMASK, &ctx->waitmask, &old);
		while ((rc = ldvm__interrupted(ctx)) == 0 &&
		    flock(r->lock, LOCK_EX) < 0 && (e = errno) == EINTR)
			e = 0;
		if (ctx->has_waitmask)
			sigprocmask(SIG_SETMASK, &old, NULL);
		if (rc != 0)
			return rc;
		if (e != 0) {
			errno = e;
			return ldvm__errno(ctx, LDVM_ESYS, "lock");
		}
	}
	return 0;
}

/* Waits until dom0 connected, or refused the request. */
static int
await_dom0(struct ldvm_ctx *ctx, struct req *r)
{
	int64_t deadline = ldvm__now_ms() + ANSWER_TIMEOUT_MS;
	char reply[LDVM_XS_PATH_MAX];
	int rc;

	if ((rc = sub(ctx, r, "reply", reply, sizeof(reply))) != 0)
		return rc;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = libxenvchan_fd_for_select(r->ch->v), .events = POLLIN },
			{ .fd = ldvm__xs_fd(ctx), .events = POLLIN },
		};
		char val[LDVM_ERROR_MAX + 1];
		int64_t left = deadline - ldvm__now_ms();

		if (libxenvchan_is_open(r->ch->v) == 1)
			return 0;
		rc = ldvm__xs_read_untrusted(ctx, XBT_NULL, reply, LDVM_ERROR_MAX,
		    LDVM_V_TEXT, val, sizeof(val));
		if (rc == 0)
			return ldvm__err(ctx, LDVM_EPERM, "dom0: %s",
			    strncmp(val, "error ", 6) == 0 ? val + 6 : val);
		if (rc != LDVM_ENOENT)
			return rc;
		if (left <= 0)
			return ldvm__err(ctx, LDVM_ETIMEDOUT, "no answer from "
			    "dom0 (is dvm-opend running there?)");
		if ((rc = ldvm__interrupted(ctx)) != 0)
			return rc;
		if (ldvm__poll(ctx, p, 2, (int)left) < 0 && errno != EINTR)
			return ldvm__errno(ctx, LDVM_ESYS, "poll");
		if (p[0].revents)
			libxenvchan_wait(r->ch->v);
		if (p[1].revents)
			ldvm__xs_drain_watches(ctx);
	}
}

static int
send_file(struct ldvm_ctx *ctx, struct req *r)
{
	uint8_t *buf = malloc(LDVM_FRAME_MAX);
	uint64_t sent = 0;
	int rc = 0;

	if (buf == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "malloc");
	while (sent < (uint64_t)r->st.st_size) {
		ssize_t n = pread(r->fd, buf, LDVM_FRAME_MAX, (off_t)sent);

		if (n <= 0) {
			rc = n == 0 ? ldvm__err(ctx, LDVM_ESYS, "%s shrank while "
			    "being sent", r->path) :
			    ldvm__errno(ctx, LDVM_ESYS, "%s", r->path);
			break;
		}
		if ((rc = ldvm__chan_send_wait(ctx, r->ch, LDVM_F_FILE, buf,
		    (size_t)n, SEND_TIMEOUT_MS)) != 0)
			break;
		sent += (uint64_t)n;
	}
	if (rc == 0)
		rc = ldvm__chan_send_wait(ctx, r->ch, LDVM_F_FILE, NULL, 0,
		    SEND_TIMEOUT_MS);
	free(buf);
	return rc;
}

/* A file for the new content: beside the original if we may, else $TMPDIR. */
static int
open_tmp(struct ldvm_ctx *ctx, struct req *r)
{
	const char *td = getenv("TMPDIR");

	if (td == NULL || td[0] != '/')
		td = "/tmp";
	for (int i = 0; i < 2; i++) {
		int n = snprintf(r->tmp, sizeof(r->tmp), "%s/.dvm-open-XXXXXX",
		    i == 0 ? r->dir : td);

		if (n > 0 && (size_t)n < sizeof(r->tmp) &&
		    (r->tmpfd = mkostemp(r->tmp, O_CLOEXEC)) >= 0)
			return 0;
	}
	r->tmp[0] = '\0';
	return ldvm__errno(ctx, LDVM_ESYS, "no place for the edited file");
}

/*
 * True when what is at path is no longer the file that was sent: replaced
 * (by anything, a symbolic link too), or written to during the session.
 * Then the edit must not overwrite it.  A rename changes the ctime, so
 * ctime is compared only before one.
 */
static bool
changed_since(const struct req *r, const char *path, bool ctime)
{
	struct stat now;

	if (lstat(path, &now) < 0)
		return true;
	return now.st_dev != r->st.st_dev || now.st_ino != r->st.st_ino ||
	    now.st_size != r->st.st_size ||
	    now.st_mtim.tv_sec != r->st.st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != r->st.st_mtim.tv_nsec ||
	    (ctime && (now.st_ctim.tv_sec != r->st.st_ctim.tv_sec ||
	    now.st_ctim.tv_nsec != r->st.st_ctim.tv_nsec));
}

/*
 * The new content takes the original's place only if the original is
 * still there unchanged at that moment: the two are exchanged atomically
 * and what came out is checked; anything else goes back where it was.
 * 1 replaced, 0 not (the new content is at r->tmp again), <0 error.
 */
static int
replace(struct ldvm_ctx *ctx, struct req *r)
{
	int rc;

	if (changed_since(r, r->path, true))
		return 0;
	if (renameat2(AT_FDCWD, r->tmp, AT_FDCWD, r->path,
	    RENAME_EXCHANGE) < 0) {
		/* A file system without the exchange: saved beside it. */
		if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
			return 0;
		return ldvm__errno(ctx, LDVM_ESYS, "rename to %s", r->path);
	}
	if (changed_since(r, r->tmp, false)) {
		if (renameat2(AT_FDCWD, r->tmp, AT_FDCWD, r->path,
		    RENAME_EXCHANGE) < 0) {
			rc = ldvm__errno(ctx, LDVM_ESYS, "rename back to %s "
			    "(the new content is there, the original at %s)",
			    r->path, r->tmp);
			r->tmp[0] = '\0';      /* keep both */
			return rc;
		}
		return 0;
	}
	if (unlink(r->tmp) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", r->tmp);
	r->tmp[0] = '\0';
	return 1;
}

/* The new content in r->tmp takes the original's place, or a new name. */
static int
install(struct ldvm_ctx *ctx, struct req *r, int *result, char *saved,
    size_t savedsz)
{
	char *slash = strrchr(r->tmp, '/'), name[PATH_MAX];
	bool beside = (size_t)(slash - r->tmp) == strlen(r->dir) &&
	    strncmp(r->tmp, r->dir, strlen(r->dir)) == 0;
	int dfd, i, rc;

	/* The owner's as before, where we may (root editing a user's file). */
	if (fchown(r->tmpfd, r->st.st_uid, r->st.st_gid) < 0 && errno != EPERM)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", r->tmp);
	/* Its permissions, less set-user-ID, set-group-ID and sticky. */
	if (fchmod(r->tmpfd, r->st.st_mode & 0777) < 0 || fsync(r->tmpfd) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", r->tmp);
	if (beside && access(r->path, W_OK) == 0 &&
	    (rc = replace(ctx, r)) != 0) {
		if (rc < 0)
			return rc;
		if ((dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			fsync(dfd);
			close(dfd);
		}
		*result = LDVM_OPEN_REPLACED;
		return 0;
	}
	/* Not ours to replace: a clear new name, never over anything. */
	for (i = 0; i < 100; i++) {
		int n = i == 0 ?
		    snprintf(name, sizeof(name), "%.*s/%s.edited",
		    (int)(slash - r->tmp), r->tmp, basename(r->path)) :
		    snprintf(name, sizeof(name), "%.*s/%s.edited.%d",
		    (int)(slash - r->tmp), r->tmp, basename(r->path), i);

		if (n < 0 || (size_t)n >= sizeof(name))
			return ldvm__err(ctx, LDVM_EINVAL, "path too long");
		if (renameat2(AT_FDCWD, r->tmp, AT_FDCWD, name,
		    RENAME_NOREPLACE) == 0) {
			r->tmp[0] = '\0';
			snprintf(saved, savedsz, "%s", name);
			*result = LDVM_OPEN_SAVED;
			return 0;
		}
		if (errno != EEXIST)
			return ldvm__errno(ctx, LDVM_ESYS, "rename to %s", name);
	}
	return ldvm__err(ctx, LDVM_EEXIST, "too many edited copies of %s",
	    r->path);
}

/* The terminal's size, rows and columns; false when it has none. */
static bool
tty_size(int fd, uint16_t ws[2])
{
	struct winsize w;

	if (ioctl(fd, TIOCGWINSZ, &w) < 0 || w.ws_row == 0 || w.ws_col == 0)
		return false;
	ws[0] = w.ws_row > LDVM_TTY_DIM_MAX ? LDVM_TTY_DIM_MAX : w.ws_row;
	ws[1] = w.ws_col > LDVM_TTY_DIM_MAX ? LDVM_TTY_DIM_MAX : w.ws_col;
	return true;
}

/* Tells dom0 the terminal's size when it is new: 1 told, 0 not now. */
static int
send_size(struct ldvm_ctx *ctx, struct req *r, bool first)
{
	uint16_t ws[2] = { 24, 80 };
	uint8_t b[4];
	int rc;

	if (!tty_size(r->tty, ws) && !first)
		return 0;
	if (!first && ws[0] == r->ws[0] && ws[1] == r->ws[1])
		return 0;
	b[0] = (uint8_t)ws[0];
	b[1] = (uint8_t)(ws[0] >> 8);
	b[2] = (uint8_t)ws[1];
	b[3] = (uint8_t)(ws[1] >> 8);
	rc = first ? ldvm__chan_send_wait(ctx, r->ch, LDVM_F_TTYSIZE, b, 4,
	    SEND_TIMEOUT_MS) : ldvm__chan_send(ctx, r->ch, LDVM_F_TTYSIZE, b, 4);
	if (rc < 0)
		return rc;
	if (first || rc == 1) {
		r->ws[0] = ws[0];
		r->ws[1] = ws[1];
	}
	return 0;
}

/* The terminal in raw mode, once the opener's screen arrives. */
static void
go_raw(struct req *r)
{
	struct termios t;

	if (r->raw || tcgetattr(r->tty, &r->saved) < 0)
		return;
	t = r->saved;
	cfmakeraw(&t);
	if (tcsetattr(r->tty, TCSADRAIN, &t) == 0)
		r->raw = r->keys = true;
}

/* Keys typed, as many as the ring has room for. */
static int
send_keys(struct ldvm_ctx *ctx, struct req *r)
{
	uint8_t buf[4096];
	int space = libxenvchan_buffer_space(r->ch->v);
	size_t want;
	ssize_t n;
	int rc;

	if (space <= LDVM_FRAME_HDR)
		return 0;
	want = (size_t)space - LDVM_FRAME_HDR;
	if (want > sizeof(buf))
		want = sizeof(buf);
	if ((n = read(r->tty, buf, want)) < 0 &&
	    (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		r->keys = false;        /* the terminal hung up */
		return 0;
	}
	/* The room was there: this sends. */
	rc = ldvm__chan_send(ctx, r->ch, LDVM_F_TTYIN, buf, (size_t)n);
	return rc < 0 ? rc : 0;
}

/*
 * Waits for dom0, and on a terminal in use for keys too, and tells dom0
 * a new window size (a SIGWINCH let into the waits shows it at once, else
 * the half-second look).
 */
static int
await_more(struct ldvm_ctx *ctx, struct req *r)
{
	struct pollfd p = { .fd = -1, .events = POLLIN };
	int rc;

	if (!r->raw)
		return ldvm__chan_wait(ctx, r->ch, -1);
	if ((rc = send_size(ctx, r, false)) != 0)
		return rc;
	if (r->keys && libxenvchan_buffer_space(r->ch->v) > LDVM_FRAME_HDR)
		p.fd = r->tty;
	if ((rc = ldvm__chan_wait_more(ctx, r->ch, &p, 1, 500)) != 0)
		return rc;
	if (p.revents != 0)
		return send_keys(ctx, r);
	return 0;
}

/* Takes dom0's answer: new content, then the outcome. */
static int
receive(struct ldvm_ctx *ctx, struct req *r, int view_only, int *result,
    char *saved, size_t savedsz)
{
	bool ended = false;
	int rc;

	for (;;) {
		if ((rc = ldvm__chan_recv(ctx, r->ch)) < 0)
			return rc;
		if (rc == 0) {
			if (!libxenvchan_is_open(r->ch->v) &&
			    ldvm__chan_unread(r->ch) == 0)
				return ldvm__err(ctx, LDVM_EPROTO, "dom0 closed "
				    "the channel without an outcome");
			if ((rc = await_more(ctx, r)) != 0)
				return rc;
			continue;
		}
		if (r->ch->rx.type == LDVM_F_TTYOUT) {
			if (r->tty < 0)
				return ldvm__err(ctx, LDVM_EPROTO, "dom0 sent "
				    "terminal output to a request without one");
			go_raw(r);
			if (ldvm__write_all(r->tty, r->ch->rx.buf,
			    r->ch->rx.len) < 0)
				return ldvm__errno(ctx, LDVM_ESYS, "terminal");
			ldvm__rx_next(&r->ch->rx);
			continue;
		}
		if (r->ch->rx.type == LDVM_F_FILE) {
			if (ended || view_only)
				return ldvm__err(ctx, LDVM_EPROTO, "dom0 sent "
				    "unexpected file data");
			if (r->ch->rx.len == 0)
				ended = true;
			else if ((r->tmpfd < 0 && (rc = open_tmp(ctx, r)) != 0))
				return rc;
			else if (ldvm__write_all(r->tmpfd, r->ch->rx.buf,
			    r->ch->rx.len) < 0)
				return ldvm__errno(ctx, LDVM_ESYS, "%s", r->tmp);
			ldvm__rx_next(&r->ch->rx);
			continue;
		}
		if (r->ch->rx.type != LDVM_F_RESULT)
			return ldvm__err(ctx, LDVM_EPROTO, "unexpected %s frame",
			    ldvm__frame_name(r->ch->rx.type));
		break;
	}
	{
		uint32_t what = ldvm__get32(r->ch->rx.buf);
		const char *msg = (const char *)r->ch->rx.buf + 4;
		int mlen = (int)r->ch->rx.len - 4;

		if (!ldvm__valid_text(msg, (size_t)mlen))
			return ldvm__err(ctx, LDVM_EPROTO, "unprintable outcome");
		switch (what) {
		case LDVM_RESULT_UNCHANGED:
			*result = LDVM_OPEN_UNCHANGED;
			return 0;
		case LDVM_RESULT_CHANGED:
			if (!ended)
				return ldvm__err(ctx, LDVM_EPROTO, "edited file "
				    "incomplete");
			if (r->tmpfd < 0 && (rc = open_tmp(ctx, r)) != 0)
				return rc;      /* edited to empty */
			return install(ctx, r, result, saved, savedsz);
		case LDVM_RESULT_FAILED:
			return ldvm__err(ctx, LDVM_EPROTO, "%.*s", mlen, msg);
		default:
			return ldvm__err(ctx, LDVM_EPROTO, "unknown outcome %u",
			    what);
		}
	}
}

int
ldvm_open_file(struct ldvm_ctx *ctx, const char *path, const char *tmpl,
    int view_only, int *result, char *saved, size_t savedsz)
{
	return ldvm_open_file_tty(ctx, path, tmpl, view_only, -1, result,
	    saved, savedsz);
}

/*
 * The file at path, resolved and opened: never through a link put there
 * since, and never waiting on a FIFO or device; only a regular file.
 */
static int
open_original(struct ldvm_ctx *ctx, struct req *r, const char *path)
{
	if (realpath(path, r->path) == NULL)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", path);
	if ((r->fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "%s", path);
	if (fstat(r->fd, &r->st) < 0 || !S_ISREG(r->st.st_mode) ||
	    fcntl(r->fd, F_SETFL, 0) < 0)
		return ldvm__err(ctx, LDVM_EINVAL, "%s: not a regular file", path);
	return 0;
}

/* The request's text, from the file as seen once it is our turn. */
static int
make_request(struct ldvm_ctx *ctx, struct req *r, struct ldvm__openreq *q,
    const char *path, const char *tmpl, char *val, size_t valsz)
{
	if (fstat(r->fd, &r->st) < 0 || !S_ISREG(r->st.st_mode))
		return ldvm__err(ctx, LDVM_EINVAL, "%s: not a regular file", path);
	snprintf(r->dir, sizeof(r->dir), "%s", r->path);
	*strrchr(r->dir, '/') = '\0';
	if (r->dir[0] == '\0')
		snprintf(r->dir, sizeof(r->dir), "/");
	ldvm__reduce_filename(r->path, q->name, sizeof(q->name));
	snprintf(q->tmpl, sizeof(q->tmpl), "%s", tmpl == NULL ? "" : tmpl);
	q->size = (uint64_t)r->st.st_size;
	if (ldvm__openreq_format(q, val, valsz) != 0)
		return ldvm__err(ctx, LDVM_EINVAL, "%s: cannot make a request of "
		    "it", path);
	return 0;
}

/*
 * From a Wayland session: waypipe client against it, and a vchan of its
 * stream for dom0, used if the template's opener shows windows.  When
 * that cannot start, the request (val) goes without the offer, saying
 * why: an opener without windows does not need it.
 */
static int
offer_windows(struct ldvm_ctx *ctx, struct req *r, struct ldvm__openreq *q,
    char *val, size_t valsz)
{
	char p[LDVM_XS_PATH_MAX];

	if (!q->wayland)
		return 0;
	if (sub(ctx, r, "wl", p, sizeof(p)) == 0 &&
	    ldvm__wl_client_open(ctx, 0, p, &r->wl) == 0 &&
	    ldvm__wl_start(ctx, r->wl) == 0)
		return 0;
	ldvm__log(ctx, LDVM_LOG_WARN, "no windows offered to the disposable: "
	    "%s", ctx->err);
	ldvm__wl_close(ctx, r->wl);
	r->wl = NULL;
	q->wayland = false;
	if (ldvm__openreq_format(q, val, valsz) != 0)
		return ldvm__err(ctx, LDVM_EINVAL, "cannot make a request");
	return 0;
}

/*
 * Into this guest's own area: a vchan for dom0, a watch on the reply,
 * then the request; once dom0 connected, the file and (from a terminal)
 * the terminal's size.
 */
static int
post_request(struct ldvm_ctx *ctx, struct req *r, struct ldvm__openreq *q,
    char *val, size_t valsz)
{
	char p[LDVM_XS_PATH_MAX], *id = NULL;
	unsigned long domid;
	int rc;

	if ((rc = ldvm__xs_read(ctx, XBT_NULL, "domid", &id)) != 0)
		return rc;
	if (!ldvm__parse_uint(id, strlen(id), 0x7fef, &domid))
		rc = ldvm__err(ctx, LDVM_EXEN, "bad domid '%s'", id);
	free(id);
	if (rc != 0 || (rc = ldvm__area_path(ctx, r->base, sizeof(r->base),
	    (uint32_t)domid, "/open")) != 0)
		return rc;
	/* Whatever an earlier, killed dvm-open left. */
	if ((rc = ldvm__xs_rm(ctx, XBT_NULL, r->base)) != 0 ||
	    (rc = sub(ctx, r, "vchan", p, sizeof(p))) != 0 ||
	    (rc = ldvm__chan_listen(ctx, p, &r->ch)) != 0 ||
	    (rc = offer_windows(ctx, r, q, val, valsz)) != 0 ||
	    (rc = sub(ctx, r, "reply", p, sizeof(p))) != 0 ||
	    (rc = ldvm__xs_watch(ctx, p, "reply")) != 0)
		return rc;
	r->watching = true;
	if ((rc = sub(ctx, r, "request", p, sizeof(p))) != 0 ||
	    (rc = ldvm__xs_write(ctx, XBT_NULL, p, val)) != 0 ||
	    (rc = await_dom0(ctx, r)) != 0 ||
	    (rc = ldvm__chan_hello(ctx, r->ch)) != 0 ||
	    (rc = send_file(ctx, r)) != 0)
		return rc;
	return r->tty >= 0 ? send_size(ctx, r, true) : 0;
}

/* Everything a request holds, given back: terminal, area, files, lock. */
static void
req_end(struct ldvm_ctx *ctx, struct req *r)
{
	char p[LDVM_XS_PATH_MAX];

	if (r->raw)
		tcsetattr(r->tty, TCSADRAIN, &r->saved);
	if (r->watching && sub(ctx, r, "reply", p, sizeof(p)) == 0)
		ldvm__xs_unwatch(ctx, p, "reply");
	ldvm__wl_close(ctx, r->wl);
	ldvm__chan_close_after_peer(ctx, r->ch);
	if (r->base[0] != '\0')
		ldvm__xs_rm(ctx, XBT_NULL, r->base);
	if (r->tmpfd >= 0)
		close(r->tmpfd);
	if (r->tmp[0] != '\0')
		unlink(r->tmp);
	if (r->lock >= 0)
		close(r->lock);
	if (r->fd >= 0)
		close(r->fd);
}

int
ldvm_open_file_tty(struct ldvm_ctx *ctx, const char *path, const char *tmpl,
    int view_only, int tty, int *result, char *saved, size_t savedsz)
{
	struct req r = { .fd = -1, .tmpfd = -1, .lock = -1, .tty = -1 };
	struct ldvm__openreq q = { .view_only = view_only != 0 };
	char val[LDVM_OPEN_REQ_MAX + 1];
	int rc;

	*result = LDVM_OPEN_UNCHANGED;
	if (savedsz > 0)
		saved[0] = '\0';
	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS)) != 0)
		return rc;
	if (tmpl != NULL && !ldvm__valid_name(tmpl, LDVM_NAME_MAX))
		return ldvm__err(ctx, LDVM_EINVAL, "invalid template name '%s'",
		    tmpl);
	if (tty >= 0 && isatty(tty)) {
		r.tty = tty;
		q.terminal = true;
	}
	/* Windows are welcome from a Wayland session with waypipe. */
	if (ldvm_wayland_check(ctx) == 0)
		q.wayland = true;
	ctx->err[0] = '\0';
	/* The size and identity sent are those seen once it is our turn. */
	if ((rc = open_original(ctx, &r, path)) == 0 &&
	    (rc = take_lock(ctx, &r)) == 0 &&
	    (rc = make_request(ctx, &r, &q, path, tmpl, val,
	    sizeof(val))) == 0 &&
	    (rc = post_request(ctx, &r, &q, val, sizeof(val))) == 0)
		rc = receive(ctx, &r, view_only, result, saved, savedsz);
	req_end(ctx, &r);
	return rc;
}
