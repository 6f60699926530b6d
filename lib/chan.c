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
chan_new(struct libxenvchan *v, enum ldvm__dir dir, const char *xs_path)
{
	struct ldvm__chan *ch = malloc(sizeof(*ch));

	if (ch == NULL)
		return NULL;
	if ((ch->stage = malloc(LDVM_FRAME_HDR + LDVM_FRAME_MAX)) == NULL ||
	    (ch->path = strdup(xs_path)) == NULL) {
		free(ch->stage);
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
	free(ch->path);
	free(ch);
}

#define PEER_CLOSE_MS 2000

/*
 * The listener's pages are shared with the peer, and a guest's kernel
 * frees a shared page only when no one maps it any more: one still mapped
 * when its sharer lets go waits on a list that Linux drains ten pages a
 * second.  An agent that closed a session before dom0 did left some 270
 * KiB a session there, and a guest running commands back to back ran out
 * of memory.  So the listener closes after the peer (a client unmaps its
 * rings before it tells it has gone), or when PEER_CLOSE_MS are over.
 */
void
ldvm__chan_close_after_peer(struct ldvm_ctx *ctx, struct ldvm__chan *ch)
{
	int64_t end = ldvm__now_ms() + PEER_CLOSE_MS, left;
	char err[sizeof(ctx->err)];
	int syserr = ctx->syserr;

	/* A failed wait only ends it: the caller's error stays. */
	memcpy(err, ctx->err, sizeof(err));
	while (ch != NULL && libxenvchan_is_open(ch->v) == 1 &&
	    (left = end - ldvm__now_ms()) > 0 &&
	    ldvm__chan_wait(ctx, ch, (int)left) == 0)
		;
	ldvm__chan_close(ch);
	memcpy(ctx->err, err, sizeof(err));
	ctx->syserr = syserr;
}

int
ldvm__chan_listen(struct ldvm_ctx *ctx, const char *xs_path,
    struct ldvm__chan **out)
{
	return ldvm__chan_listen_for(ctx, 0, xs_path, out);
}

int
ldvm__chan_listen_for(struct ldvm_ctx *ctx, uint32_t peer,
    const char *xs_path, struct ldvm__chan **out)
{
	struct libxenvchan *v;

	*out = NULL;
	v = libxenvchan_server_init(&ctx->lg.vtable, (int)peer, xs_path,
	    RING_SIZE, RING_SIZE);
	if (v == NULL)
		return ldvm__errno(ctx, LDVM_EXEN, "vchan server at %s", xs_path);
	if ((*out = chan_new(v, LDVM_TO_AGENT, xs_path)) == NULL) {
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
ldvm__chan_wait_more(struct ldvm_ctx *ctx, struct ldvm__chan *ch,
    struct pollfd *more, size_t nmore, int timeout_ms)
{
	struct pollfd p[4];
	int n, rc;

	if (nmore > 3)
		return ldvm__err(ctx, LDVM_EINVAL, "too many descriptors");
	p[0] = (struct pollfd){ .fd = libxenvchan_fd_for_select(ch->v),
	    .events = POLLIN };
	memcpy(p + 1, more, nmore * sizeof(*more));
	if ((rc = ldvm__interrupted(ctx)) != 0)
		return rc;
	n = ldvm__poll(ctx, p, nmore + 1, timeout_ms);
	if (n < 0 && errno != EINTR)
		return ldvm__errno(ctx, LDVM_ESYS, "poll");
	for (size_t i = 0; i < nmore; i++)
		more[i].revents = n > 0 ? p[i + 1].revents : 0;
	if (n > 0 && p[0].revents != 0 && (rc = chan_woke(ctx, ch)) != 0)
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

static int
hello_send(struct ldvm_ctx *ctx, struct ldvm__chan *ch)
{
	uint8_t v[4];

	ldvm__put32(v, LDVM_PROTO_VERSION);
	return ldvm__chan_send_wait(ctx, ch, LDVM_F_HELLO, v, 4,
	    LDVM_HELLO_TIMEOUT_MS);
}

/* The peer's HELLO, of our version. */
static int
hello_check(struct ldvm_ctx *ctx, struct ldvm__chan *ch)
{
	int rc;

	if ((rc = ldvm__chan_recv_wait(ctx, ch, LDVM_HELLO_TIMEOUT_MS)) != 0)
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

int
ldvm__chan_hello(struct ldvm_ctx *ctx, struct ldvm__chan *ch)
{
	int rc;

	if ((rc = hello_send(ctx, ch)) != 0)
		return rc;
	return hello_check(ctx, ch);
}

/* ---- dom0 side ---- */

struct claim {
	uint32_t domid;
	const char *claim_path;
	char listen_path[LDVM_XS_PATH_MAX];
	unsigned long seq;
	bool peek;              /* only see that there is one, claim nothing */
	bool got;
};

/* claim_txn's work, in transaction t: c->listen_path already made. */
static int
claim_listener(struct ldvm_ctx *ctx, xs_transaction_t t, struct claim *c)
{
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
	if (c->peek) {
		c->got = true;
		return 0;
	}
	snprintf(val, sizeof(val), "%lu", c->seq);
	if ((rc = ldvm__xs_write(ctx, t, c->claim_path, val)) != 0)
		return rc;
	c->got = true;
	return 0;
}

static int
claim_txn(struct ldvm_ctx *ctx, xs_transaction_t t, void *arg)
{
	return claim_listener(ctx, t, arg);
}

int
ldvm__chan_claim_in(struct ldvm_ctx *ctx, xs_transaction_t t, uint32_t domid,
    const char *claim_path, unsigned long *seq)
{
	struct claim c = { .domid = domid, .claim_path = claim_path };
	int rc;

	*seq = 0;
	if ((rc = ldvm__area_path(ctx, c.listen_path, sizeof(c.listen_path),
	    domid, "/listen")) != 0 ||
	    (rc = claim_listener(ctx, t, &c)) != 0)
		return rc;
	if (c.got)
		*seq = c.seq;
	return 0;
}

/* Runs claim_txn for c until it got a listener, or time runs out. */
static int
await_listener(struct ldvm_ctx *ctx, struct claim *c, int timeout_ms)
{
	int64_t deadline = ldvm__now_ms() + timeout_ms;
	int rc, watching = 0;

	if ((rc = ldvm__area_path(ctx, c->listen_path, sizeof(c->listen_path),
	    c->domid, "/listen")) != 0)
		return rc;
	for (;;) {
		int64_t left;

		if ((rc = ldvm__xs_txn(ctx, claim_txn, c)) != 0)
			break;
		if (c->got)
			break;
		left = deadline - ldvm__now_ms();
		if (left <= 0) {
			rc = ldvm__err(ctx, LDVM_ETIMEDOUT, "agent in domain %u "
			    "has no free listener after %d s", c->domid,
			    timeout_ms / 1000);
			break;
		}
		if (!watching) {
			if ((rc = ldvm__xs_watch(ctx, c->listen_path,
			    "claim")) != 0)
				break;
			watching = 1;
		}
		rc = ldvm__xs_wait_watch(ctx, (int)left, NULL, 0, NULL, 0);
		if (rc != 0 && rc != LDVM_ETIMEDOUT)
			break;
	}
	if (watching)
		ldvm__xs_unwatch(ctx, c->listen_path, "claim");
	return rc;
}

int
ldvm__chan_claim_connect(struct ldvm_ctx *ctx, uint32_t domid,
    const char *claim_path, int timeout_ms, struct ldvm__chan **out)
{
	struct claim c = { .domid = domid, .claim_path = claim_path };
	int rc;

	*out = NULL;
	if ((rc = await_listener(ctx, &c, timeout_ms)) != 0)
		return rc;
	return ldvm__chan_connect_seq(ctx, domid, c.seq, out);
}

int
ldvm__chan_connect_seq(struct ldvm_ctx *ctx, uint32_t domid,
    unsigned long seq, struct ldvm__chan **out)
{
	char vpath[LDVM_XS_PATH_MAX];
	int rc;

	*out = NULL;
	if ((rc = ldvm__area_path(ctx, vpath, sizeof(vpath), domid,
	    "/vchan/%lu", seq)) != 0)
		return rc;
	return ldvm__chan_connect(ctx, domid, vpath, out);
}

int
ldvm__chan_await_free(struct ldvm_ctx *ctx, uint32_t domid,
    const char *claim_path, int timeout_ms)
{
	struct claim c = { .domid = domid, .claim_path = claim_path,
	    .peek = true };

	return await_listener(ctx, &c, timeout_ms);
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
	if ((*out = chan_new(v, LDVM_TO_DOM0, xs_path)) == NULL) {
		libxenvchan_close(v);
		return ldvm__errno(ctx, LDVM_ENOMEM, "malloc");
	}
	return 0;
}

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

/* ---- the session's loop, both sides: I/O around the pump core ---- */

/* The ring towards the peer, as the core counts it. */
static void
pump_room(struct ldvm__pump *p, struct ldvm__chan *ch)
{
	ldvm__pump_room(p, libxenvchan_buffer_space(ch->v),
	    1L << ch->v->write.order);
}

/* Frames, while the core takes them: 0, or <0 on a channel error. */
static int
pump_recv(struct ldvm_ctx *ctx, struct ldvm__chan *ch, struct ldvm__pump *p)
{
	int r;

	while (ldvm__pump_takes(p)) {
		if ((r = ldvm__chan_recv(ctx, ch)) <= 0)
			return r;
		r = ldvm__pump_frame(p, ch->rx.type, ch->rx.buf, ch->rx.len);
		if (r < 0)
			return 0;       /* over: ldvm__pump_next says DONE */
		if (r == 1)
			ldvm__rx_next(&ch->rx);
	}
	return 0;
}

/*
 * Does what the core asks until it waits (0) or is done (1), or a channel
 * error (<0).  A frame that finds the channel closed is the peer's close:
 * a command that ended needs no more input, and what the peer sent before
 * closing (dom0: the exit status) may still be unread.
 */
static int
pump_act(struct ldvm_ctx *ctx, struct ldvm__chan *ch, struct ldvm__pump *p,
    struct ldvm__pump_fds *fds, const struct ldvm__pump_hooks *h,
    struct ldvm__pump_do *d)
{
	int r;

	for (;;) {
		switch (ldvm__pump_next(p, d)) {
		case LDVM_PUMP_DONE:
			return 1;
		case LDVM_PUMP_WAIT:
			return 0;
		case LDVM_PUMP_END:
		case LDVM_PUMP_RESIZE:
			if (h->act != NULL)
				h->act(fds, d, h->arg);
			break;
		case LDVM_PUMP_SEND:
			r = ldvm__chan_send(ctx, ch, d->type, d->data, d->len);
			if (r == 1)
				ldvm__pump_sent(p);
			else if (r == 0)
				pump_room(p, ch);       /* fits no more now */
			else if (!libxenvchan_is_open(ch->v))
				ldvm__pump_peer_closed(p,
				    ldvm__chan_unread(ch) == 0);
			else
				return r;
			break;
		}
	}
}

/*
 * Source i is readable: read what the core has room for.  An end of file
 * or an error ends it (a pty master says EIO once the last writer is
 * gone).
 */
static void
pump_read(struct ldvm__pump *p, struct ldvm__pump_fds *fds, int i)
{
	uint8_t *b;
	size_t max;
	ssize_t n;

	while ((max = ldvm__pump_read_room(p, i, &b)) > 0) {
		if ((n = read(fds->src[i], b, max)) > 0) {
			ldvm__pump_input(p, i, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		ldvm__pump_eof(p, i);
		if (fds->own)
			close(fds->src[i]);
		fds->src[i] = -1;
		return;
	}
}

/*
 * The held output's sink is writable: never more than fits, so a write
 * does not block.  A sink that fails is the session's end on dom0 (the
 * caller's descriptor), and closed with its output dropped where the
 * session owns it (the command closed its input).
 */
static int
pump_write(struct ldvm_ctx *ctx, struct ldvm__chan *ch, struct ldvm__pump *p,
    struct ldvm__pump_fds *fds, const size_t wmax[2])
{
	const uint8_t *b;
	size_t len, max;
	ssize_t w;
	int i, done;

	if ((len = ldvm__pump_output(p, &i, &b)) == 0)
		return 0;
	if ((max = wmax[i]) == 0)
		max = pipe_room(fds->sink[i]);
	w = write(fds->sink[i], b, len < max ? len : max);
	if (w >= 0 || errno == EAGAIN || errno == EINTR)
		done = w > 0 ? ldvm__pump_wrote(p, (size_t)w) : 0;
	else if (!fds->own)
		return ldvm__errno(ctx, LDVM_ESYS, "output closed");
	else {
		close(fds->sink[i]);
		fds->sink[i] = -1;
		done = ldvm__pump_sink_gone(p, i);
	}
	if (done == 1)
		ldvm__rx_next(&ch->rx);
	return 0;
}

static int
add_fd(struct pollfd *pf, int *n, int fd, short events)
{
	pf[*n].fd = fd;
	pf[*n].events = events;
	pf[*n].revents = 0;
	return (*n)++;
}

/* What became ready in pf: the channel, the abort, the side's own. */
static int
pump_ready(struct ldvm_ctx *ctx, struct ldvm__chan *ch, struct ldvm__pump *p,
    const struct ldvm__pump_hooks *h, const struct pollfd *pf, int ia,
    int ih)
{
	int rc;

	if (pf[0].revents) {
		if (h->floods && (rc = chan_woke(ctx, ch)) != 0)
			return rc;
		if (!h->floods)
			(void)libxenvchan_wait(ch->v);
	}
	if (ia >= 0 && pf[ia].revents &&
	    (rc = h->abort->check(ctx, h->abort->arg)) != 0)
		return rc;
	return ih >= 0 && pf[ih].revents ? h->ready(ctx, p, h->arg) : 0;
}

/* Polls for what the core wants, then does the I/O that became ready. */
static int
pump_poll(struct ldvm_ctx *ctx, struct ldvm__chan *ch, struct ldvm__pump *p,
    struct ldvm__pump_fds *fds, const struct ldvm__pump_hooks *h,
    const size_t wmax[2])
{
	struct pollfd pf[7];
	struct ldvm__pump_wants w;
	int n = 0, i, ia = -1, ih = -1, is[2] = { -1, -1 };
	int ik[2] = { -1, -1 }, r, t, due = -1;

	/*
	 * The side's timer: run when it passed, even while data flows and
	 * no poll times out; when it comes first, it bounds the wait too.
	 */
	if (h->due != NULL && (due = h->due(ctx, h->arg)) == 0) {
		if ((r = h->tick(ctx, p, h->arg)) != 0)
			return r;
		due = h->due(ctx, h->arg);      /* the tick moved it on */
	}
	ldvm__pump_wants(p, &w);
	t = w.timeout_ms;
	if (due >= 0 && (t < 0 || due <= t))
		t = due;
	else
		due = -1;
	add_fd(pf, &n, libxenvchan_fd_for_select(ch->v), POLLIN);
	if (h->abort != NULL && h->abort->fd >= 0)
		ia = add_fd(pf, &n, h->abort->fd, POLLIN);
	for (i = 0; i < 2; i++) {
		if (w.read[i] && fds->src[i] >= 0)
			is[i] = add_fd(pf, &n, fds->src[i], POLLIN);
		if (w.write[i] && fds->sink[i] >= 0)
			ik[i] = add_fd(pf, &n, fds->sink[i], POLLOUT);
	}
	if (h->fd != NULL && (r = h->fd(ctx, h->arg)) >= 0)
		ih = add_fd(pf, &n, r, POLLIN);
	if ((r = ldvm__poll(ctx, pf, (nfds_t)n, t)) <= 0) {
		if (r < 0)
			return errno == EINTR ? 0 :
			    ldvm__errno(ctx, LDVM_ESYS, "poll");
		if (t == w.timeout_ms)
			ldvm__pump_timeout(p);
		return due >= 0 ? h->tick(ctx, p, h->arg) : 0;
	}
	if ((r = pump_ready(ctx, ch, p, h, pf, ia, ih)) != 0)
		return r;
	for (i = 0; i < 2; i++)
		if (ik[i] >= 0 && pf[ik[i]].revents &&
		    (r = pump_write(ctx, ch, p, fds, wmax)) != 0)
			return r;
	for (i = 0; i < 2; i++)
		if (is[i] >= 0 && pf[is[i]].revents)
			pump_read(p, fds, i);
	return 0;
}

/*
 * One round after another: the ring's room and the peer's close, the
 * role's events, the frames the core takes, what it asks for, then a poll.
 * Errors of the I/O keep their own message; the core's end its reason.
 */
static int
pump_loop(struct ldvm_ctx *ctx, struct ldvm__chan *ch, struct ldvm__pump *p,
    struct ldvm__pump_fds *fds, const struct ldvm__pump_hooks *h)
{
	struct ldvm__pump_do d;
	size_t wmax[2];
	int rc;

	wmax[0] = write_max(fds->sink[0]);
	wmax[1] = write_max(fds->sink[1]);
	for (;;) {
		if ((rc = ldvm__interrupted(ctx)) != 0)
			return rc;
		pump_room(p, ch);
		if (!libxenvchan_is_open(ch->v))
			ldvm__pump_peer_closed(p, ldvm__chan_unread(ch) == 0);
		if (h->round != NULL)
			h->round(p, h->arg);
		if ((rc = pump_recv(ctx, ch, p)) != 0 ||
		    (rc = pump_act(ctx, ch, p, fds, h, &d)) < 0)
			return rc;
		if (rc == 1)
			return d.rc < 0 ? ldvm__err(ctx, d.rc, "%s", d.why) : 0;
		if ((rc = pump_poll(ctx, ch, p, fds, h, wmax)) != 0)
			return rc;
	}
}

int
ldvm__chan_pump(struct ldvm_ctx *ctx, struct ldvm__chan *ch,
    struct ldvm__pump *p, struct ldvm__pump_fds *fds,
    const struct ldvm__pump_hooks *h, int *status)
{
	int rc = pump_loop(ctx, ch, p, fds, h);

	if (status != NULL)
		*status = p->status;
	return rc;
}

/* ---- the abort of a requester gone ---- */

static int
guard_check(struct ldvm_ctx *ctx, void *arg)
{
	struct ldvm__chan *g = arg;
	int rc;

	if ((rc = chan_woke(ctx, g)) != 0)
		return rc;
	if (!libxenvchan_is_open(g->v))
		return ldvm__err(ctx, LDVM_EINTR, "the requester went away");
	return 0;
}

void
ldvm__chan_guard(struct ldvm__chan *guard, struct ldvm__abort *ab)
{
	ab->fd = libxenvchan_fd_for_select(guard->v);
	ab->check = guard_check;
	ab->arg = guard;
}

/* ---- dom0 side of a session ---- */

/*
 * False once the domain is gone or shut down: a domain that powered itself
 * off never closes its end of the channel.  Without libxenctrl (a guest),
 * only its xenstore directory tells.
 */
static int
domain_alive(struct ldvm_ctx *ctx, uint32_t domid)
{
	char path[64];

	if (ldvm__has_xc())
		return ldvm__domain_running(ctx, domid);
	snprintf(path, sizeof(path), "/local/domain/%u/domid", domid);
	return ldvm__xs_exists(ctx, XBT_NULL, path) == 1;
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

/* The terminal's size, rows and columns; false when it has none. */
static bool
term_size(int fd, uint16_t ws[2])
{
	struct winsize w;

	if (fd < 0 || ioctl(fd, TIOCGWINSZ, &w) < 0 || w.ws_row == 0 ||
	    w.ws_col == 0)
		return false;
	ws[0] = w.ws_row;
	ws[1] = w.ws_col;
	return true;
}

int
ldvm__chan_run(struct ldvm_ctx *ctx, struct ldvm__chan *ch, uint32_t domid,
    char *const argv[], int flags, int in, int out, int err, int *status)
{
	struct ldvm_run r = { .argv = argv, .flags = flags, .in = in,
	    .out = out, .err = err };

	return ldvm__chan_run_as(ctx, ch, domid, &r, NULL, NULL, status);
}

/* The EXEC payload of argv, run as user when not NULL, into buf. */
static size_t
exec_payload(uint8_t *buf, int rflags, const uint16_t ws[2],
    char *const argv[], const char *user)
{
	unsigned fl = (rflags & LDVM_RUN_TTY ? LDVM_EXEC_TTY : 0) |
	    (rflags & LDVM_RUN_WAYLAND ? LDVM_EXEC_WAYLAND : 0);
	char **av;
	size_t n, len;

	if (user == NULL)
		return ldvm__exec_encode(buf, LDVM_FRAME_MAX, fl, ws[0], ws[1],
		    argv);
	for (n = 0; argv[n] != NULL; n++)
		;
	if (n == 0 || (av = calloc(n + 2, sizeof(*av))) == NULL)
		return 0;
	av[0] = (char *)user;
	memcpy(av + 1, argv, n * sizeof(*av));
	len = ldvm__exec_encode(buf, LDVM_FRAME_MAX, fl | LDVM_EXEC_USER,
	    ws[0], ws[1], av);
	free(av);
	return len;
}

/* The handshake and the EXEC frame of r, for a terminal of size ws. */
static int
dom0_start(struct ldvm_ctx *ctx, struct ldvm__chan *ch,
    const struct ldvm_run *r, const uint16_t ws[2])
{
	uint8_t *buf;
	size_t len;
	int rc;

	if ((buf = malloc(LDVM_FRAME_MAX)) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "malloc");
	if (r->user != NULL && !ldvm__valid_user(r->user))
		rc = ldvm__err(ctx, LDVM_EINVAL, "invalid user name '%s'",
		    r->user);
	else if ((len = exec_payload(buf, r->flags, ws,
	    r->argv, r->user)) == 0)
		rc = ldvm__err(ctx, LDVM_EINVAL, "command line too long or "
		    "empty");
	/*
	 * EXEC goes right behind our HELLO, not after the agent's: the agent
	 * reads ours (and refuses another version) before it reads EXEC, so
	 * waiting for its HELLO first would only add a round trip to the
	 * guest before the command can start.
	 */
	else if ((rc = hello_send(ctx, ch)) == 0 &&
	    (rc = ldvm__chan_send_wait(ctx, ch, LDVM_F_EXEC, buf, len,
	    LDVM_HELLO_TIMEOUT_MS)) == 0)
		rc = hello_check(ctx, ch);
	free(buf);
	return rc;
}

/*
 * dom0's own events beside the channel: the terminal and the domain.  A
 * domain that dies never closes its end of the channel, so @releaseDomain
 * is watched, but only once the command has run for WATCH_AFTER_MS: the
 * watch, libxenstore's thread that reads its events and the unwatch cost
 * a short command some 5 ms, and a domain that died before is found by
 * the look taken when the watch is set.
 */
#define WATCH_AFTER_MS 500
struct dom0 {
	uint32_t domid;
	int tfd;                /* the terminal followed, -1: none */
	int64_t watch_at;       /* when to watch */
	bool watching;
};

/*
 * With a terminal, the command's follows the size of ours: it is looked
 * at again whenever poll returns, which a SIGWINCH handler of the caller's
 * makes immediate and the core's half-second timeout makes sure of.
 */
static void
dom0_round(struct ldvm__pump *p, void *arg)
{
	struct dom0 *s = arg;
	uint16_t ws[2];

	if (term_size(s->tfd, ws))
		ldvm__pump_winch(p, ws[0], ws[1]);
}

static int
dom0_fd(struct ldvm_ctx *ctx, void *arg)
{
	struct dom0 *s = arg;

	return s->watching ? ldvm__xs_fd(ctx) : -1;
}

static int
dom0_due(struct ldvm_ctx *ctx, void *arg)
{
	struct dom0 *s = arg;
	int64_t left = s->watch_at - ldvm__now_ms();

	(void)ctx;
	if (s->watching)
		return -1;
	return left > 0 ? (int)left : 0;
}

static int
dom0_ready(struct ldvm_ctx *ctx, struct ldvm__pump *p, void *arg)
{
	struct dom0 *s = arg;

	(void)p;
	ldvm__xs_drain_watches(ctx);
	if (!domain_alive(ctx, s->domid))
		return ldvm__err(ctx, LDVM_ENOENT, "the disposable died");
	return 0;
}

/* The command ran long enough: the watch, then a look at the domain. */
static int
dom0_tick(struct ldvm_ctx *ctx, struct ldvm__pump *p, void *arg)
{
	struct dom0 *s = arg;
	int rc;

	if ((rc = ldvm__xs_watch(ctx, "@releaseDomain", "chanrun")) != 0)
		return rc;
	s->watching = true;
	return dom0_ready(ctx, p, arg);
}

int
ldvm__chan_run_as(struct ldvm_ctx *ctx, struct ldvm__chan *ch, uint32_t domid,
    const struct ldvm_run *r, const struct ldvm__abort *ab,
    const struct ldvm__hook *started, int *status)
{
	struct dom0 s = { domid, -1, 0, false };
	struct ldvm__pump_hooks h = { .round = dom0_round, .fd = dom0_fd,
	    .ready = dom0_ready, .due = dom0_due, .tick = dom0_tick,
	    .floods = true, .abort = ab, .arg = &s };
	struct ldvm__pump_fds fds = { { r->in, -1 }, { r->out, r->err },
	    false };
	struct ldvm__pump_cfg cfg = { .role = LDVM_PUMP_DOM0 };
	struct ldvm__pump *p;
	uint16_t ws[2] = { 24, 80 };
	int rc;

	*status = -1;
	if (r->flags & LDVM_RUN_TTY)
		s.tfd = term_fd(r->in, r->out);
	term_size(s.tfd, ws);
	if ((rc = dom0_start(ctx, ch, r, ws)) != 0)
		return rc;
	if (started != NULL && started->fn != NULL)
		started->fn(ctx, started->arg);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "calloc");
	cfg.src[0] = true;
	cfg.sink[0] = r->out >= 0;
	cfg.sink[1] = r->err >= 0;
	cfg.filter[0] = r->flags & LDVM_RUN_FILTER_OUT;
	cfg.filter[1] = r->flags & LDVM_RUN_FILTER_ERR;
	cfg.tty = s.tfd >= 0;
	cfg.rows = ws[0];
	cfg.cols = ws[1];
	ldvm__pump_init(p, &cfg);
	if (r->in < 0)
		ldvm__pump_eof(p, 0);   /* the command still gets an end */
	s.watch_at = ldvm__now_ms() + WATCH_AFTER_MS;
	rc = ldvm__chan_pump(ctx, ch, p, &fds, &h, status);
	if (s.watching)
		ldvm__xs_unwatch(ctx, "@releaseDomain", "chanrun");
	free(p);
	return rc;
}
