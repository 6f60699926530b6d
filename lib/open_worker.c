/*
 * One dvm-open request in dom0, in a process of its own: takes the file
 * from the guest's vchan, opens it in a disposable through the agent
 * (dvm-open --session there), and gives the guest the outcome.  Both
 * peers are hostile: the guest's file must be exactly the size it
 * announced, the disposable's answer at most the configured size, and the
 * guest hears of new content only once all of it arrived and the session
 * ended well.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ldvm_internal.h"

#define XFER_TIMEOUT_MS 60000

/* A nameless file for data in transit: nothing to leak when killed. */
static int
anon_file(struct ldvm_ctx *ctx, int *fd)
{
	static const char *const dirs[] = { "/var/tmp", "/tmp" };

	for (size_t i = 0; i < 2; i++)
		if ((*fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC,
		    0600)) >= 0)
			return 0;
	if ((*fd = memfd_create("dvm-open", MFD_CLOEXEC)) >= 0)
		return 0;
	return ldvm__errno(ctx, LDVM_ESYS, "temporary file");
}

/* The guest's file: FILE frames adding up to exactly size bytes. */
static int
recv_file(struct ldvm_ctx *ctx, struct ldvm__chan *ch, int fd, uint64_t size)
{
	uint64_t got = 0;
	int rc;

	for (;;) {
		if ((rc = ldvm__chan_recv_wait(ctx, ch, XFER_TIMEOUT_MS)) != 0)
			return rc;
		if (ch->rx.type != LDVM_F_FILE)
			return ldvm__err(ctx, LDVM_EPROTO, "guest sent a %s frame "
			    "instead of file data", ldvm__frame_name(ch->rx.type));
		if (ch->rx.len == 0)
			break;
		if (ch->rx.len > size - got)
			return ldvm__err(ctx, LDVM_EPROTO, "guest sent more than "
			    "the %llu bytes it announced",
			    (unsigned long long)size);
		if (ldvm__write_all(fd, ch->rx.buf, ch->rx.len) < 0)
			return ldvm__errno(ctx, LDVM_ESYS, "temporary file");
		got += ch->rx.len;
		ldvm__rx_next(&ch->rx);
	}
	ldvm__rx_next(&ch->rx);
	if (got != size)
		return ldvm__err(ctx, LDVM_EPROTO, "guest sent %llu of the %llu "
		    "bytes it announced", (unsigned long long)got,
		    (unsigned long long)size);
	return lseek(fd, 0, SEEK_SET) < 0 ?
	    ldvm__errno(ctx, LDVM_ESYS, "lseek") : 0;
}

/* The first line of what the session said on stderr, made printable. */
static void
first_line(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);
	size_t i;

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	for (i = 0; i < (size_t)n; i++) {
		if (buf[i] == '\n') {
			buf[i] = '\0';
			break;
		}
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
			buf[i] = '?';
	}
}

static int
too_much(struct ldvm_ctx *ctx, uint64_t cap)
{
	return ldvm__err(ctx, LDVM_EPROTO, "the disposable sent back more than "
	    "the %llu-byte limit", (unsigned long long)cap);
}

/*
 * Runs argv in d, the requester guest's session: a requester that goes
 * away ends it at once, and so does open_timeout.  The disposable's answer
 * is bounded by the file size limit of this process, lowered for the run
 * only: a write past it fails (EFBIG).
 */
static int
guarded_run(struct ldvm_ctx *ctx, struct ldvm__chan *guest,
    const struct ldvm__abort *tab, struct ldvm_disp *d, char **argv,
    int flags, uint64_t cap, int in, int out, int err, int wlfd, int *status,
    const char **pub)
{
	struct ldvm_run r = { .argv = argv, .flags = flags, .in = in,
	    .out = out, .err = err };
	struct rlimit old, lim;
	struct ldvm__abort ab;
	int rc;

	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = cap + 1;
	if (old.rlim_max != RLIM_INFINITY && lim.rlim_cur > old.rlim_max)
		lim.rlim_cur = old.rlim_max;
	setrlimit(RLIMIT_FSIZE, &lim);
	if (tab != NULL)
		ab = *tab;
	else
		ldvm__chan_guard(guest, &ab);
	/* open_timeout: the session's time, from when it starts to run. */
	ldvm__set_deadline(ctx, (int64_t)ctx->open_limit_s * 1000);
	rc = ldvm__disp_exec(ctx, d, &r, &ab, wlfd, status);
	if (rc == LDVM_ETIMEDOUT && ctx->open_limit_s > 0 &&
	    ldvm__interrupted(ctx) == LDVM_ETIMEDOUT) {
		rc = ldvm__err(ctx, LDVM_ETIMEDOUT, "the session in %s ran "
		    "past open_timeout (%u s)", d->name, ctx->open_limit_s);
		*pub = "the session ran past dom0's time limit";
	}
	ldvm__set_deadline(ctx, 0);
	setrlimit(RLIMIT_FSIZE, &old);
	if (rc != 0 && ctx->syserr == EFBIG) {
		rc = too_much(ctx, cap);
		*pub = "the disposable sent back more than the size limit";
	}
	return rc;
}

/*
 * dvm-open --session's command line in argv (at most 48): mode is NULL
 * for a session of its own, else "--put", "--terminal" or "--take".
 */
static void
session_argv(char **argv, const char *mode, const struct ldvm_template *t,
    const struct ldvm__openreq *q)
{
	int n = 0;

	argv[n++] = "dvm-open";
	argv[n++] = "--session";
	if (mode != NULL)
		argv[n++] = (char *)mode;
	if (q->view_only)
		argv[n++] = "-r";
	if (mode == NULL || strcmp(mode, "--terminal") == 0) {
		argv[n++] = "-w";
		argv[n++] = (char *)t->open_wait;
	}
	argv[n++] = "--";
	argv[n++] = (char *)q->name;
	if (mode == NULL || strcmp(mode, "--put") != 0)
		for (char **a = t->open_argv; *a != NULL && n < 47; a++)
			argv[n++] = *a;
	argv[n] = NULL;
}

/*
 * A terminal opener's session, in three runs: the file in, the opener on
 * a pseudo-terminal relayed to the requester's terminal (ws its size),
 * the content out.  *status is the last run's, or the first that failed.
 */
static int
terminal_runs(struct ldvm_ctx *ctx, struct ldvm__chan *guest,
    struct ldvm_disp *d, const struct ldvm_template *t,
    const struct ldvm__openreq *q, const uint16_t ws[2], uint64_t cap,
    int in, int out, int err, int *status, const char **pub)
{
	struct ldvm__relay *relay;
	struct ldvm__abort ab;
	struct ldvm__first f = { 0 };
	char *argv[48];
	int rc, slave;

	session_argv(argv, "--put", t, q);
	if ((rc = guarded_run(ctx, guest, NULL, d, argv, 0, cap, in, err, err,
	    -1, status, pub)) != 0 || *status != 0)
		return rc;
	*pub = "the requester's terminal could not be relayed";
	if ((rc = ldvm__relay_start(ctx, guest, ws, &relay, &slave,
	    &ab)) != 0)
		return rc;
	*pub = "the session in the disposable failed";
	session_argv(argv, "--terminal", t, q);
	rc = guarded_run(ctx, guest, &ab, d, argv, LDVM_RUN_TTY, cap, slave,
	    slave, err, -1, status, pub);
	ldvm__first_note(ctx, &f, rc);
	ldvm__first_note(ctx, &f, ldvm__relay_stop(ctx, relay));
	rc = ldvm__first_end(ctx, &f);
	close(slave);
	if (rc != 0 || *status != 0)
		return rc;
	session_argv(argv, "--take", t, q);
	return guarded_run(ctx, guest, NULL, d, argv, 0, cap, -1, out, err,
	    -1, status, pub);
}

/*
 * A graphical opener's session: its waypipe stream joined to the one the
 * requester (domid) serves for its own waypipe client.  dom0 only moves
 * the bytes: one relay to the requester's vchan, one to the disposable's,
 * a socket pair between them.
 */
static int
wayland_run(struct ldvm_ctx *ctx, struct ldvm__chan *guest, uint32_t domid,
    struct ldvm_disp *d, const struct ldvm_template *t,
    const struct ldvm__openreq *q, uint64_t cap, int in, int out, int err,
    int *status, const char **pub)
{
	char path[LDVM_XS_PATH_MAX], *argv[48];
	struct ldvm__wl *gw = NULL;
	int sv[2], rc;

	*pub = "the requester's Wayland session could not be reached";
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "socketpair");
	if ((rc = ldvm__area_path(ctx, path, sizeof(path), domid,
	    "/open/wl")) == 0 &&
	    (rc = ldvm__wl_connect_fd(ctx, domid, path, sv[0], &gw)) == 0)
		rc = ldvm__wl_start(ctx, gw);
	if (rc == 0) {
		*pub = "the session in the disposable failed";
		session_argv(argv, NULL, t, q);
		rc = guarded_run(ctx, guest, NULL, d, argv, LDVM_RUN_WAYLAND,
		    cap, in, out, err, sv[1], status, pub);
	}
	ldvm__wl_close(ctx, gw);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

/*
 * Runs the session in a disposable of t, made for root: in is the file,
 * out receives the new content (at most cap bytes).  *changed tells
 * whether it did.  ws: the requester's terminal size, for a template
 * whose opener runs on it.
 */
static int
run_session(struct ldvm_ctx *ctx, struct ldvm__chan *guest, uint32_t domid,
    const struct ldvm_template *t, const char *root,
    const struct ldvm__openreq *q, const uint16_t ws[2], uint64_t cap,
    int in, int out, int *changed, const char **pub, int64_t at[3])
{
	char *argv[48], msg[256];
	struct ldvm_disp *d = NULL;
	int err = -1, rc, status = -1;

	*changed = 0;
	*pub = "dom0 could not store the file";
	if ((rc = anon_file(ctx, &err)) != 0)
		return rc;
	*pub = "no disposable could be made";
	if ((rc = ldvm_disp_acquire(ctx, t, &d)) != 0)
		goto out;
	at[0] = ldvm__now_ms();
	/*
	 * Whom it is for, before anything of the requester's reaches it: its
	 * own requests count against that guest (dvm-opend).  The record,
	 * and this with it, goes when the disposable does.
	 */
	if ((rc = ldvm__rec_write(ctx, XBT_NULL, d->name, "for", root)) != 0)
		goto out;
	*pub = "the session in the disposable failed";
	ldvm__log(ctx, LDVM_LOG_INFO, "%s opens %s in %s%s%s", q->name,
	    q->view_only ? "view-only" : "read-write", d->name,
	    d->pooled ? " (from the pool)" : "",
	    t->open_terminal ? " on the requester's terminal" :
	    t->open_wayland ? " with windows in the requester's session" : "");
	if (t->open_terminal)
		rc = terminal_runs(ctx, guest, d, t, q, ws, cap, in, out, err,
		    &status, pub);
	else if (t->open_wayland)
		rc = wayland_run(ctx, guest, domid, d, t, q, cap, in, out, err,
		    &status, pub);
	else {
		session_argv(argv, NULL, t, q);
		rc = guarded_run(ctx, guest, NULL, d, argv, 0, cap, in, out,
		    err, -1, &status, pub);
	}
	at[1] = ldvm__now_ms();
	if (rc != 0)
		goto out;
	if (status == LDVM_OPEN_SESSION_CHANGED && !q->view_only) {
		struct stat st;

		if (fstat(out, &st) < 0 || (uint64_t)st.st_size > cap) {
			rc = too_much(ctx, cap);
			*pub = "the disposable sent back more than the size limit";
			goto out;
		}
		*changed = 1;
	} else if (status != 0 && status != LDVM_OPEN_SESSION_CHANGED) {
		first_line(err, msg, sizeof(msg));
		if (msg[0] == '\0')
			snprintf(msg, sizeof(msg), "the session exited with "
			    "status %d", status);
		rc = ldvm__err(ctx, LDVM_EPROTO, "in %s: %s", d->name, msg);
		*pub = "the opener in the disposable failed";
	}
out:
	if (d != NULL) {
		struct ldvm__first f = { 0 };

		/* Teardown errors must not hide the session's. */
		ldvm__first_note(ctx, &f, rc);
		if (ldvm_disp_destroy(ctx, d) != 0 && rc == 0)
			ldvm__log(ctx, LDVM_LOG_WARN, "%s", ctx->err);
		ldvm_disp_free(d);
		ldvm__first_end(ctx, &f);
		at[2] = ldvm__now_ms();
	}
	close(err);
	return rc;
}

/*
 * From a terminal, the requester sends its size after the file; a
 * template without a terminal opener has no use for it.
 */
static int
recv_size(struct ldvm_ctx *ctx, struct ldvm__chan *ch, uint16_t ws[2])
{
	int rc;

	if ((rc = ldvm__chan_recv_wait(ctx, ch, XFER_TIMEOUT_MS)) != 0)
		return rc;
	if (ch->rx.type != LDVM_F_TTYSIZE)
		return ldvm__err(ctx, LDVM_EPROTO, "guest sent a %s frame "
		    "instead of its terminal's size",
		    ldvm__frame_name(ch->rx.type));
	ws[0] = (uint16_t)(ch->rx.buf[0] | ch->rx.buf[1] << 8);
	ws[1] = (uint16_t)(ch->rx.buf[2] | ch->rx.buf[3] << 8);
	ldvm__rx_next(&ch->rx);
	if (ws[0] == 0 || ws[1] == 0 || ws[0] > LDVM_TTY_DIM_MAX ||
	    ws[1] > LDVM_TTY_DIM_MAX)
		return ldvm__err(ctx, LDVM_EPROTO, "guest sent a terminal of "
		    "%u by %u", ws[0], ws[1]);
	return 0;
}

/* New content to the guest, all of it, then the outcome. */
static int
send_result(struct ldvm_ctx *ctx, struct ldvm__chan *ch, uint32_t what,
    int content, const char *msg)
{
	uint8_t *buf = malloc(LDVM_FRAME_MAX);
	size_t mlen = strlen(msg);
	off_t off = 0;
	int rc = 0;

	if (buf == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "malloc");
	while (content >= 0) {
		ssize_t n = pread(content, buf, LDVM_FRAME_MAX, off);

		if (n < 0) {
			rc = ldvm__errno(ctx, LDVM_ESYS, "read back");
			break;
		}
		if ((rc = ldvm__chan_send_wait(ctx, ch, LDVM_F_FILE, buf,
		    (size_t)n, XFER_TIMEOUT_MS)) != 0 || n == 0)
			break;
		off += n;
	}
	if (rc == 0) {
		if (mlen > LDVM_ERROR_MAX)
			mlen = LDVM_ERROR_MAX;
		ldvm__put32(buf, what);
		memcpy(buf + 4, msg, mlen);
		for (size_t i = 0; i < mlen; i++)
			if (buf[4 + i] < 0x20 || buf[4 + i] > 0x7e)
				buf[4 + i] = '?';
		rc = ldvm__chan_send_wait(ctx, ch, LDVM_F_RESULT, buf, 4 + mlen,
		    XFER_TIMEOUT_MS);
	}
	free(buf);
	return rc;
}

/*
 * With dvm-opend -v, where a request's time went, each step's end in ms
 * after the request was read: at[0] the worker ready, 1 the guest
 * connected, 2 its file in, 3 a disposable had, 4 the session over, 5 the
 * disposable released, 6 the outcome sent.
 */
static void
log_steps(struct ldvm_ctx *ctx, const struct ldvm__openreq *q, int64_t t0,
    const int64_t at[7])
{
	long long d[7];

	for (int i = 0; i < 7; i++)
		d[i] = at[i] != 0 ? (long long)(at[i] - t0) : -1;
	ldvm__log(ctx, LDVM_LOG_DEBUG, "%s: worker ready +%lld ms, guest "
	    "connected +%lld, file in +%lld, disposable +%lld, session over "
	    "+%lld, released +%lld, outcome sent +%lld", q->name, d[0], d[1],
	    d[2], d[3], d[4], d[5], d[6]);
}

int
ldvm__open_work(struct ldvm_ctx *ctx, uint32_t domid, const char *root,
    const struct ldvm__openreq *q, const struct ldvm_template *t,
    uint64_t cap, int64_t t0)
{
	int64_t at[7] = { ldvm__now_ms() };
	char path[LDVM_XS_PATH_MAX];
	struct ldvm__first f = { 0 };
	struct ldvm__chan *ch = NULL;
	const char *pub = "dom0 could not store the file";
	uint16_t ws[2] = { 24, 80 };
	int in = -1, out = -1, rc, changed = 0;

	if ((rc = ldvm__area_path(ctx, path, sizeof(path), domid,
	    "/open/vchan")) != 0 ||
	    (rc = ldvm__chan_connect(ctx, domid, path, &ch)) != 0 ||
	    (rc = ldvm__chan_hello(ctx, ch)) != 0)
		goto out;
	at[1] = ldvm__now_ms();
	if ((rc = anon_file(ctx, &in)) != 0)
		goto fail;
	pub = "the file did not arrive whole";
	if ((rc = recv_file(ctx, ch, in, q->size)) != 0)
		goto fail;
	at[2] = ldvm__now_ms();
	if (q->terminal && (rc = recv_size(ctx, ch, ws)) != 0)
		goto fail;
	pub = "this template's opener needs a terminal: run dvm-open on one";
	if (t->open_terminal && !q->terminal) {
		rc = ldvm__err(ctx, LDVM_EINVAL, "%s's opener needs a terminal, "
		    "and the request came from none", t->name);
		goto fail;
	}
	pub = "this template's opener shows windows: run dvm-open in a "
	    "Wayland session, with waypipe installed";
	if (t->open_wayland && !q->wayland) {
		rc = ldvm__err(ctx, LDVM_EINVAL, "%s's opener shows windows, "
		    "and the request came from no Wayland session", t->name);
		goto fail;
	}
	pub = "dom0 could not store the file";
	if ((rc = anon_file(ctx, &out)) != 0 ||
	    (rc = run_session(ctx, ch, domid, t, root, q, ws, cap, in, out,
	    &changed, &pub, at + 3)) != 0)
		goto fail;
	rc = changed ? send_result(ctx, ch, LDVM_RESULT_CHANGED, out, "") :
	    send_result(ctx, ch, LDVM_RESULT_UNCHANGED, -1, "");
	at[6] = ldvm__now_ms();
	log_steps(ctx, q, t0, at);
	goto out;
fail:
	/*
	 * The guest learns why in general terms; the detail (dom0 paths,
	 * libxl's words) is the caller's to log.
	 */
	ldvm__first_note(ctx, &f, rc);
	send_result(ctx, ch, LDVM_RESULT_FAILED, -1, pub);
	ldvm__first_end(ctx, &f);
out:
	ldvm__chan_close(ch);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}
