/*
 * The channel between dom0 and the agent inside a disposable: one
 * libxenvchan connection per command, the agent its server.  Frames are
 * written only whole (a ring holds any frame), read only as fast as their
 * contents can be delivered, and checked by proto.c before use.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <libxenvchan.h>

#include "ldvm_internal.h"

/* Rings of 128 KiB each way: a whole frame of 64 KiB always fits. */
#define RING_SIZE (128 * 1024)

static struct ldvm__chan *
chan_new(struct libxenvchan *v, enum ldvm__dir dir)
{
	struct ldvm__chan *ch = malloc(sizeof(*ch));

	if (ch == NULL)
		return NULL;
	if ((ch->stage = malloc(LDVM_FRAME_HDR + LDVM_FRAME_MAX)) == NULL) {
		free(ch);
		return NULL;
	}
	ch->soff = ch->slen = 0;
	memset(&ch->wake, 0, sizeof(ch->wake));
	ch->v = v;
	v->blocking = 0;
	ldvm__rx_init(&ch->rx, dir);
	return ch;
}

void
ldvm__chan_close(struct ldvm__chan *ch)
{
	if (ch == NULL)
		return;
	libxenvchan_close(ch->v);
	free(ch->stage);
	free(ch);
}

int
ldvm__chan_listen(struct ldvm_ctx *ctx, const char *xs_path,
    struct ldvm__chan **out)
{
	struct libxenvchan *v;

	*out = NULL;
	v = libxenvchan_server_init(&ctx->lg.vtable, 0, xs_path, RING_SIZE,
	    RING_SIZE);
	if (v == NULL)
		return ldvm__errno(ctx, LDVM_EXEN, "vchan server at %s", xs_path);
	if ((*out = chan_new(v, LDVM_TO_AGENT)) == NULL) {
		libxenvchan_close(v);
		return ldvm__errno(ctx, LDVM_ENOMEM, "malloc");
	}
	return 0;
}

static uint32_t
shared(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/*
 * The peer shares the rings' indices with us and could set them to
 * anything: more bytes between them than a ring holds means it moved one
 * backwards (or past the other), and the session ends.
 */
static int
chan_sane(struct ldvm_ctx *ctx, struct ldvm__chan *ch)
{
	struct libxenvchan *v = ch->v;

	if (ldvm__ring_used(shared(&v->read.shr->prod),
	    shared(&v->read.shr->cons), v->read.order) < 0 ||
	    ldvm__ring_used(shared(&v->write.shr->prod),
	    shared(&v->write.shr->cons), v->write.order) < 0)
		return ldvm__err(ctx, LDVM_EPROTO, "peer corrupted the ring "
		    "indices");
	return 0;
}

/*
 * After each of the channel's events: the peer's indices or liveness must
 * change now and then, or it is only flooding us with notifications.
 */
static int
chan_woke(struct ldvm_ctx *ctx, struct ldvm__chan *ch)
{
	struct libxenvchan *v = ch->v;
	uint32_t now[3];

	if (libxenvchan_wait(v) < 0)
		return ldvm__errno(ctx, LDVM_EXEN, "vchan event");
	now[0] = shared(&v->read.shr->prod);
	now[1] = shared(&v->write.shr->cons);
	now[2] = (uint32_t)libxenvchan_is_open(v);
	if (!ldvm__wake_note(&ch->wake, now))
		return ldvm__err(ctx, LDVM_EPROTO, "peer floods the channel "
		    "with events (%d in a row, nothing sent)", LDVM_IDLE_WAKES);
	return chan_sane(ctx, ch);
}

/* Waits for the channel's event, at most timeout_ms (-1: no bound). */
int
ldvm__chan_wait(struct ldvm_ctx *ctx, struct ldvm__chan *ch, int timeout_ms)
{
	struct pollfd p = { .fd = libxenvchan_fd_for_select(ch->v),
	    .events = POLLIN };
	int n, rc;

	if ((rc = ldvm__interrupted(ctx)) != 0)
		return rc;
	n = ldvm__poll(ctx, &p, 1, timeout_ms);
	if (n < 0 && errno != EINTR)
		return ldvm__errno(ctx, LDVM_ESYS, "poll");
	if (n > 0 && (rc = chan_woke(ctx, ch)) != 0)
		return rc;
	return ldvm__interrupted(ctx);
}

int
ldvm__chan_accept(struct ldvm_ctx *ctx, struct ldvm__chan *ch)
{
	int rc;

	while (libxenvchan_is_open(ch->v) == 2)
		if ((rc = ldvm__chan_wait(ctx, ch, -1)) != 0)
			return rc;
	if (libxenvchan_is_open(ch->v) != 1)
		return ldvm__err(ctx, LDVM_EPROTO, "vchan client went away");
	return 0;
}

/* Sends a whole frame if the ring has room for it: 1 sent, 0 not yet. */
int
ldvm__chan_send(struct ldvm_ctx *ctx, struct ldvm__chan *ch, uint32_t type,
    const void *p, size_t len)
{
	uint8_t hdr[LDVM_FRAME_HDR];
	int space, rc;

	if (!libxenvchan_is_open(ch->v))
		return ldvm__err(ctx, LDVM_EPROTO, "channel closed by the peer");
	if ((rc = chan_sane(ctx, ch)) != 0)
		return rc;
	if ((space = libxenvchan_buffer_space(ch->v)) < 0 ||
	    (size_t)space < sizeof(hdr) + len)
		return 0;
	ldvm__put32(hdr, type);
	ldvm__put32(hdr + 4, (uint32_t)len);
	if (libxenvchan_write(ch->v, hdr, sizeof(hdr)) != (int)sizeof(hdr) ||
	    (len > 0 && libxenvchan_write(ch->v, p, len) != (int)len))
		return ldvm__err(ctx, LDVM_EXEN, "vchan write failed");
	return 1;
}

/* Sends a frame, waiting for room. */
int
ldvm__chan_send_wait(struct ldvm_ctx *ctx, struct ldvm__chan *ch, uint32_t type,
    const void *p, size_t len, int timeout_ms)
{
	int64_t deadline = ldvm__now_ms() + timeout_ms;
	int rc;

	while ((rc = ldvm__chan_send(ctx, ch, type, p, len)) == 0) {
		int64_t left = deadline - ldvm__now_ms();

		if (left <= 0)
			return ldvm__err(ctx, LDVM_ETIMEDOUT, "peer stopped "
			    "reading the channel");
		if ((rc = ldvm__chan_wait(ctx, ch, (int)left)) != 0)
			return rc;
	}
	return rc < 0 ? rc : 0;
}

size_t
ldvm__chan_unread(struct ldvm__chan *ch)
{
	int n = libxenvchan_data_ready(ch->v);

	return ch->slen + (n > 0 ? (size_t)n : 0);
}

/*
 * Reads what the ring has towards the next frame: 1 when a whole frame is
 * in ch->rx, 0 when more must come, <0 on a protocol violation.  Every
 * read of the ring may wake the writer, so a frame is read whole when the
 * ring has it: header and payload at once into the stage (the start of the
 * next frame may come along and waits there), and the rest of a payload
 * begun straight into the frame's buffer.  ldvm__rx_feed checks the header
 * before any payload is taken.  Returning 0, the stage is always empty.
 */
int
ldvm__chan_recv(struct ldvm_ctx *ctx, struct ldvm__chan *ch)
{
	struct ldvm__rx *rx = &ch->rx;
	char why[160];
	int avail, n, r;

	if ((r = chan_sane(ctx, ch)) != 0)
		return r;
	for (;;) {
		size_t want = ldvm__rx_want(rx), used;

		if (rx->hgot == LDVM_FRAME_HDR && want == 0)
			return 1;       /* an empty frame */
		if (ch->slen == 0) {
			if ((avail = libxenvchan_data_ready(ch->v)) <= 0)
				return 0;
			if (rx->hgot == LDVM_FRAME_HDR) {
				if ((size_t)avail < want)
					want = (size_t)avail;
				if ((n = libxenvchan_read(ch->v, rx->buf +
				    rx->pgot, want)) <= 0)
					goto readerr;
				if ((rx->pgot += (size_t)n) == rx->len)
					return 1;
				continue;
			}
			want = LDVM_FRAME_HDR + LDVM_FRAME_MAX - rx->hgot;
			if ((size_t)avail < want)
				want = (size_t)avail;
			if ((n = libxenvchan_read(ch->v, ch->stage, want)) <= 0)
				goto readerr;
			ch->soff = 0;
			ch->slen = (size_t)n;
		}
		r = ldvm__rx_feed(rx, ch->stage + ch->soff, ch->slen, &used, why,
		    sizeof(why));
		if (r < 0)
			return ldvm__err(ctx, LDVM_EPROTO, "%s", why);
		ch->soff += used;
		ch->slen -= used;
		if (r == 1)
			return 1;
	}
readerr:
	return n == 0 ? 0 : ldvm__err(ctx, LDVM_EXEN, "vchan read failed");
}

/* Waits for one whole frame (handshakes only). */
int
ldvm__chan_recv_wait(struct ldvm_ctx *ctx, struct ldvm__chan *ch, int timeout_ms)
{
	int64_t deadline = ldvm__now_ms() + timeout_ms;
	int rc;

	while ((rc = ldvm__chan_recv(ctx, ch)) == 0) {
		int64_t left = deadline - ldvm__now_ms();

		if (!libxenvchan_is_open(ch->v) &&
		    ldvm__chan_unread(ch) == 0)
			return ldvm__err(ctx, LDVM_EPROTO, "peer closed the "
			    "channel");
		if (left <= 0)
			return ldvm__err(ctx, LDVM_ETIMEDOUT, "peer silent on "
			    "the channel");
		if ((rc = ldvm__chan_wait(ctx, ch, (int)left)) != 0)
			return rc;
	}
	return rc < 0 ? rc : 0;
}

int
ldvm__chan_hello(struct ldvm_ctx *ctx, struct ldvm__chan *ch)
{
	uint8_t v[4];
	int rc;

	ldvm__put32(v, LDVM_PROTO_VERSION);
	if ((rc = ldvm__chan_send_wait(ctx, ch, LDVM_F_HELLO, v, 4,
	    LDVM_HELLO_TIMEOUT_MS)) != 0 ||
	    (rc = ldvm__chan_recv_wait(ctx, ch, LDVM_HELLO_TIMEOUT_MS)) != 0)
		return rc;
	if (ch->rx.type != LDVM_F_HELLO)
		return ldvm__err(ctx, LDVM_EPROTO, "expected HELLO, got %s",
		    ldvm__frame_name(ch->rx.type));
	if (ldvm__get32(ch->rx.buf) != LDVM_PROTO_VERSION)
		return ldvm__err(ctx, LDVM_EPROTO, "peer speaks protocol "
		    "version %u, not %u", ldvm__get32(ch->rx.buf),
		    LDVM_PROTO_VERSION);
	ldvm__rx_next(&ch->rx);
	return 0;
}

/* ---- dom0 side ---- */

struct claim {
	uint32_t domid;
	const char *claim_path;
	char listen_path[LDVM_XS_PATH_MAX];
	unsigned long seq;
	bool got;
};

static int
claim_txn(struct ldvm_ctx *ctx, xs_transaction_t t, void *arg)
{
	struct claim *c = arg;
	unsigned long last = 0;
	char val[16], *s;
	int rc;

	c->got = false;
	rc = ldvm__xs_read_untrusted(ctx, t, c->listen_path, 10, LDVM_V_UINT,
	    val, sizeof(val));
	if (rc == LDVM_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	if (!ldvm__parse_uint(val, strlen(val), 999999999, &c->seq))
		return ldvm__err(ctx, LDVM_EPROTO, "bad listener number");
	if ((rc = ldvm__xs_read(ctx, t, c->claim_path, &s)) == 0) {
		if (!ldvm__parse_uint(s, strlen(s), 999999999, &last))
			last = 0;
		free(s);
		if (c->seq <= last)
			return 0;       /* taken: wait for the next listener */
	} else if (rc != LDVM_ENOENT)
		return rc;
	snprintf(val, sizeof(val), "%lu", c->seq);
	if ((rc = ldvm__xs_write(ctx, t, c->claim_path, val)) != 0)
		return rc;
	c->got = true;
	return 0;
}

int
ldvm__chan_claim_connect(struct ldvm_ctx *ctx, uint32_t domid,
    const char *claim_path, int timeout_ms, struct ldvm__chan **out)
{
	struct claim c = { .domid = domid, .claim_path = claim_path };
	int64_t deadline = ldvm__now_ms() + timeout_ms;
	char vpath[LDVM_XS_PATH_MAX];
	int rc, watching = 0;

	*out = NULL;
	if ((rc = ldvm__area_path(ctx, c.listen_path, sizeof(c.listen_path),
	    domid, "/listen")) != 0)
		return rc;
	for (;;) {
		int64_t left;

		if ((rc = ldvm__xs_txn(ctx, claim_txn, &c)) != 0)
			break;
		if (c.got)
			break;
		left = deadline - ldvm__now_ms();
		if (left <= 0) {
			rc = ldvm__err(ctx, LDVM_ETIMEDOUT, "agent in domain %u "
			    "has no free listener", domid);
			break;
		}
		if (!watching) {
			if ((rc = ldvm__xs_watch(ctx, c.listen_path,
			    "claim")) != 0)
				break;
			watching = 1;
		}
		rc = ldvm__xs_wait_watch(ctx, (int)left, NULL, 0, NULL, 0);
		if (rc != 0 && rc != LDVM_ETIMEDOUT)
			break;
	}
	if (watching)
		ldvm__xs_unwatch(ctx, c.listen_path, "claim");
	if (rc != 0)
		return rc;
	if ((rc = ldvm__area_path(ctx, vpath, sizeof(vpath), domid,
	    "/vchan/%lu", c.seq)) != 0)
		return rc;
	return ldvm__chan_connect(ctx, domid, vpath, out);
}

int
ldvm__chan_connect(struct ldvm_ctx *ctx, uint32_t domid, const char *xs_path,
    struct ldvm__chan **out)
{
	struct libxenvchan *v;

	*out = NULL;
	if ((v = libxenvchan_client_init(&ctx->lg.vtable, (int)domid,
	    xs_path)) == NULL)
		return ldvm__errno(ctx, LDVM_EXEN, "cannot connect to domain "
		    "%u at %s", domid, xs_path);
	/* The server chose the rings' sizes: a frame must fit each way. */
	if (!ldvm__ring_fits(v->read.order) ||
	    !ldvm__ring_fits(v->write.order)) {
		libxenvchan_close(v);
		return ldvm__err(ctx, LDVM_EPROTO, "domain %u offers rings too "
		    "small for a frame (%d and %d bytes)", domid,
		    1 << v->read.order, 1 << v->write.order);
	}
	if ((*out = chan_new(v, LDVM_TO_DOM0)) == NULL) {
		libxenvchan_close(v);
		return ldvm__errno(ctx, LDVM_ENOMEM, "malloc");
	}
	return 0;
}

/* Output waiting to be written to out_fd or err_fd, from ch->rx.buf. */
struct pending {
	int fd;
	size_t off, len;
};

/*
 * How much may be written to fd after POLLOUT without blocking for long:
 * anything to a non-blocking descriptor, a regular file or a device that
 * is not a terminal (/dev/null); 0 for a pipe, whose room pipe_room tells
 * at each write; else PIPE_BUF.
 */
static size_t
write_max(int fd)
{
	struct stat st;
	int fl;

	if (fd < 0)
		return PIPE_BUF;
	if ((fl = fcntl(fd, F_GETFL)) >= 0 && (fl & O_NONBLOCK))
		return LDVM_FRAME_MAX;
	if (fstat(fd, &st) < 0)
		return PIPE_BUF;
	if (S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && !isatty(fd)))
		return LDVM_FRAME_MAX;
	return S_ISFIFO(st.st_mode) ? 0 : PIPE_BUF;
}

/*
 * What a write to a pipe may hold without blocking: the pipe holds whole
 * pages, and its unread bytes may straddle one page more than they fill,
 * so its capacity less those pages and one spare.  At least PIPE_BUF,
 * which POLLOUT promises.  (Another writer of the same pipe may take some
 * room meanwhile; a write then waits for the reader, as any writer's.)
 */
static size_t
pipe_room(int fd)
{
	long pg = sysconf(_SC_PAGESIZE);
	int cap = fcntl(fd, F_GETPIPE_SZ), unread;
	long pages;

	if (pg <= 0 || cap <= 0 || ioctl(fd, FIONREAD, &unread) < 0 ||
	    unread < 0)
		return PIPE_BUF;
	pages = cap / pg - unread / pg - 2;
	return pages * pg > PIPE_BUF ? (size_t)(pages * pg) : PIPE_BUF;
}

/*
 * False once the domain is gone or shut down: a domain that powered itself
 * off never closes its end of the channel.  Without libxl (a guest), only
 * its xenstore directory tells.
 */
static int
domain_alive(struct ldvm_ctx *ctx, uint32_t domid)
{
	char path[64], *v;

	if (ctx->xl != NULL) {
		libxl_dominfo info;
		int alive;

		libxl_dominfo_init(&info);
		alive = libxl_domain_info(ctx->xl, &info, domid) == 0 &&
		    !info.shutdown && !info.dying;
		libxl_dominfo_dispose(&info);
		return alive;
	}
	snprintf(path, sizeof(path), "/local/domain/%u/domid", domid);
	if ((v = xs_read(ctx->xs, XBT_NULL, path, NULL)) == NULL)
		return 0;
	free(v);
	return 1;
}

/* The terminal whose size a pseudo-terminal command should follow. */
static int
term_fd(int in, int out)
{
	if (in >= 0 && isatty(in))
		return in;
	if (out >= 0 && isatty(out))
		return out;
	return -1;
}

/* The terminal's size as a WINSIZE payload; false when it has none. */
static bool
term_size(int fd, uint8_t ws[4])
{
	struct winsize w;

	if (fd < 0 || ioctl(fd, TIOCGWINSZ, &w) < 0 || w.ws_row == 0 ||
	    w.ws_col == 0)
		return false;
	ws[0] = (uint8_t)w.ws_row;
	ws[1] = (uint8_t)(w.ws_row >> 8);
	ws[2] = (uint8_t)w.ws_col;
	ws[3] = (uint8_t)(w.ws_col >> 8);
	return true;
}

/*
 * With tty, the command's terminal follows the size of ours: it is looked
 * at again whenever poll returns, which a SIGWINCH handler of the caller's
 * makes immediate and a half-second timeout makes sure of otherwise.
 */
int
ldvm__chan_run(struct ldvm_ctx *ctx, struct ldvm__chan *ch, uint32_t domid,
    char *const argv[], int flags, int in, int out, int err, int *status)
{
	return ldvm__chan_run_as(ctx, ch, domid, argv, NULL, flags, in, out,
	    err, status);
}

/*
 * A frame towards the command, as ldvm__chan_send; 2 when the agent closed
 * the channel already: a command that ended needs no more input, and what
 * the agent sent before closing (its exit status) is still to be read.
 */
static int
send_input(struct ldvm_ctx *ctx, struct ldvm__chan *ch, uint32_t type,
    const void *p, size_t len)
{
	int r = ldvm__chan_send(ctx, ch, type, p, len);

	return r < 0 && !libxenvchan_is_open(ch->v) ? 2 : r;
}

/* The EXEC payload of argv, run as user when not NULL, into buf. */
static size_t
exec_payload(uint8_t *buf, bool tty, const uint8_t ws[4], char *const argv[],
    const char *user)
{
	char **av;
	size_t n, len;

	if (user == NULL)
		return ldvm__exec_encode(buf, LDVM_FRAME_MAX, tty ?
		    LDVM_EXEC_TTY : 0, (uint16_t)(ws[0] | ws[1] << 8),
		    (uint16_t)(ws[2] | ws[3] << 8), argv);
	for (n = 0; argv[n] != NULL; n++)
		;
	if (n == 0 || (av = calloc(n + 2, sizeof(*av))) == NULL)
		return 0;
	av[0] = (char *)user;
	memcpy(av + 1, argv, n * sizeof(*av));
	len = ldvm__exec_encode(buf, LDVM_FRAME_MAX, (tty ? LDVM_EXEC_TTY :
	    0) | LDVM_EXEC_USER, (uint16_t)(ws[0] | ws[1] << 8),
	    (uint16_t)(ws[2] | ws[3] << 8), av);
	free(av);
	return len;
}

int
ldvm__chan_run_as(struct ldvm_ctx *ctx, struct ldvm__chan *ch, uint32_t domid,
    char *const argv[], const char *user, int flags, int in, int out, int err,
    int *status)
{
	struct pending pend = { .fd = -1 };
	bool tty = flags & LDVM_RUN_TTY;
	size_t inlen = 0;
	bool in_eof = in < 0, eof_sent = false, exited = false;
	int rc, watching = 0, tfd = tty ? term_fd(in, out) : -1;
	size_t outmax = write_max(out), errmax = write_max(err);
	uint8_t *inbuf, ws[4] = { 24, 0, 80, 0 }, nws[4];
	size_t elen;

	*status = -1;
	if (tfd >= 0)
		term_size(tfd, ws);
	/* One buffer for the EXEC frame, then for standard input. */
	if ((inbuf = malloc(LDVM_FRAME_MAX)) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "malloc");
	if (user != NULL && !ldvm__valid_user(user)) {
		rc = ldvm__err(ctx, LDVM_EINVAL, "invalid user name '%s'",
		    user);
		goto out;
	}
	elen = exec_payload(inbuf, tty, ws, argv, user);
	if (elen == 0) {
		rc = ldvm__err(ctx, LDVM_EINVAL, "command line too long or "
		    "empty");
		goto out;
	}
	if ((rc = ldvm__chan_hello(ctx, ch)) != 0 ||
	    (rc = ldvm__chan_send_wait(ctx, ch, LDVM_F_EXEC, inbuf, elen,
	    LDVM_HELLO_TIMEOUT_MS)) != 0)
		goto out;
	/* A domain that dies never closes its end: watch for that too. */
	if ((rc = ldvm__xs_watch(ctx, "@releaseDomain", "chanrun")) != 0)
		goto out;
	watching = 1;

	for (;;) {
		struct pollfd p[4];
		int n = 0, iv, ii = -1, io = -1, ix, ig = -1;

		if ((rc = ldvm__interrupted(ctx)) != 0)
			break;
		/* Deliver frames only while no output is waiting. */
		while (pend.fd < 0 && !exited) {
			int r = ldvm__chan_recv(ctx, ch);

			if (r < 0) {
				rc = r;
				goto out;
			}
			if (r == 0)
				break;
			switch (ch->rx.type) {
			case LDVM_F_STDOUT:
			case LDVM_F_STDERR:
				pend.fd = ch->rx.type == LDVM_F_STDOUT ? out :
				    err;
				pend.off = 0;
				pend.len = ch->rx.len;
				if (flags & (ch->rx.type == LDVM_F_STDOUT ?
				    LDVM_RUN_FILTER_OUT : LDVM_RUN_FILTER_ERR))
					ldvm__filter_escapes(ch->rx.buf,
					    pend.len);
				if (pend.len == 0 || pend.fd < 0) {
					pend.fd = -1;
					ldvm__rx_next(&ch->rx);
				}
				break;
			case LDVM_F_EXIT:
				if (ldvm__exit_decode(ch->rx.buf, status)) {
					rc = ldvm__err(ctx, LDVM_EPROTO,
					    "malformed exit status");
					goto out;
				}
				exited = true;
				ldvm__rx_next(&ch->rx);
				break;
			case LDVM_F_ERROR:
				if (!ldvm__valid_text((char *)ch->rx.buf,
				    ch->rx.len)) {
					rc = ldvm__err(ctx, LDVM_EPROTO,
					    "agent sent an unprintable error");
					goto out;
				}
				rc = ldvm__err(ctx, LDVM_EPROTO, "agent: %.*s",
				    (int)ch->rx.len, (char *)ch->rx.buf);
				goto out;
			default:
				rc = ldvm__err(ctx, LDVM_EPROTO, "unexpected %s "
				    "frame", ldvm__frame_name(ch->rx.type));
				goto out;
			}
		}
		if (exited && pend.fd < 0) {
			rc = 0;
			break;
		}
		/* Standard input goes out whole frames at a time. */
		if (inlen > 0) {
			int r = send_input(ctx, ch, LDVM_F_STDIN, inbuf, inlen);

			if (r < 0) {
				rc = r;
				break;
			}
			if (r == 2)
				in_eof = eof_sent = true;
			if (r >= 1)
				inlen = 0;
		}
		if (in_eof && inlen == 0 && !eof_sent && !exited) {
			int r = send_input(ctx, ch, LDVM_F_STDIN, NULL, 0);

			if (r < 0) {
				rc = r;
				break;
			}
			eof_sent = r >= 1;
		}
		if (tfd >= 0 && !exited && term_size(tfd, nws) &&
		    memcmp(ws, nws, sizeof(ws)) != 0) {
			int r = send_input(ctx, ch, LDVM_F_WINSIZE, nws, 4);

			if (r < 0) {
				rc = r;
				break;
			}
			if (r >= 1)
				memcpy(ws, nws, sizeof(ws));
		}
		if (!exited && !libxenvchan_is_open(ch->v) &&
		    ldvm__chan_unread(ch) == 0) {
			rc = ldvm__err(ctx, LDVM_EPROTO, "agent closed the "
			    "channel without an exit status");
			break;
		}

		p[n].fd = libxenvchan_fd_for_select(ch->v);
		p[n].events = POLLIN;
		iv = n++;
		p[n].fd = xs_fileno(ctx->xs);
		p[n].events = POLLIN;
		ix = n++;
		if (ctx->guard != NULL) {
			p[n].fd = libxenvchan_fd_for_select(ctx->guard->v);
			p[n].events = POLLIN;
			ig = n++;
		}
		if (!in_eof && inlen == 0 && !exited &&
		    libxenvchan_buffer_space(ch->v) >= LDVM_FRAME_HDR +
		    LDVM_IN_MIN) {
			p[n].fd = in;
			p[n].events = POLLIN;
			ii = n++;
		}
		if (pend.fd >= 0) {
			p[n].fd = pend.fd;
			p[n].events = POLLOUT;
			io = n++;
		}
		if (ldvm__poll(ctx, p, n, tfd >= 0 ? 500 : -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = ldvm__errno(ctx, LDVM_ESYS, "poll");
			break;
		}
		if (p[iv].revents && (rc = chan_woke(ctx, ch)) != 0)
			break;
		if (ig >= 0 && p[ig].revents &&
		    (rc = chan_woke(ctx, ctx->guard)) != 0)
			break;
		if (ig >= 0 && p[ig].revents &&
		    !libxenvchan_is_open(ctx->guard->v)) {
			rc = ldvm__err(ctx, LDVM_EINTR, "the requester went away");
			break;
		}
		if (p[ix].revents) {
			char **w;

			while ((w = xs_check_watch(ctx->xs)) != NULL)
				free(w);
			if (!domain_alive(ctx, domid)) {
				rc = ldvm__err(ctx, LDVM_ENOENT, "the disposable "
				    "died");
				break;
			}
		}
		if (io >= 0 && p[io].revents) {
			size_t want = pend.len - pend.off, max;
			ssize_t w;

			/* Never more than fits: a write must not block. */
			max = pend.fd == out ? outmax : errmax;
			if (max == 0)
				max = pipe_room(pend.fd);
			if (want > max)
				want = max;
			w = write(pend.fd, ch->rx.buf + pend.off, want);
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				rc = ldvm__errno(ctx, LDVM_ESYS, "output "
				    "closed");
				break;
			}
			if (w > 0 && (pend.off += (size_t)w) == pend.len) {
				pend.fd = -1;
				ldvm__rx_next(&ch->rx);
			}
		}
		if (ii >= 0 && p[ii].revents) {
			long room = ldvm__stdin_room(
			    libxenvchan_buffer_space(ch->v));
			ssize_t r;

			if (room < 0) {
				rc = ldvm__err(ctx, LDVM_EPROTO, "agent took "
				    "back room in the ring");
				break;
			}
			r = read(in, inbuf, (size_t)room);
			if (r > 0)
				inlen = (size_t)r;
			else if (r == 0 || (errno != EAGAIN && errno != EINTR))
				in_eof = true;
		}
	}
out:
	if (watching)
		ldvm__xs_unwatch(ctx, "@releaseDomain", "chanrun");
	free(inbuf);
	return rc;
}
