/*
 * dvm-open's terminal, in dom0's worker: a pseudo-terminal whose far end
 * the disposable's session runs on (ldvm__disp_exec, LDVM_RUN_TTY), and a
 * thread that carries its near end to the requesting guest's channel and
 * back: the guest's keys (TTYIN) in, the opener's screen (TTYOUT) out, the
 * guest's window size (TTYSIZE) onto the pseudo-terminal, where the
 * session's pump follows it.  Nothing here looks into the stream.  The
 * thread owns the guest's channel until ldvm__relay_stop; it tells the
 * session to end (the abort) when the guest leaves or breaks the protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <libxenvchan.h>

#include "ldvm_internal.h"

/* How long the last of the screen may take to reach the guest. */
#define DRAIN_TIMEOUT_MS 10000
/* The most the screen buffer holds on its way to the guest. */
#define SCREEN_MAX 16384

struct ldvm__relay {
	struct ldvm_ctx *tctx;          /* the thread's, for its errors */
	struct ldvm__chan *guest;
	int master;
	int gone[2];                    /* the thread tells the abort */
	int stop[2];                    /* the worker tells the thread */
	pthread_t thread;
	bool started;
	int rc;                         /* the thread's outcome */
	char why[LDVM_ERROR_MAX];
	/* keys on their way to the pseudo-terminal */
	size_t koff;
	bool keys;
	/* the screen on its way to the guest */
	uint8_t screen[SCREEN_MAX];
	size_t slen;
};

/* A window size of the guest's onto the pseudo-terminal. */
static int
set_size(struct ldvm__relay *r, const uint8_t *b)
{
	struct winsize w = { .ws_row = (unsigned short)(b[0] | b[1] << 8),
	    .ws_col = (unsigned short)(b[2] | b[3] << 8) };

	if (w.ws_row == 0 || w.ws_col == 0 || w.ws_row > LDVM_TTY_DIM_MAX ||
	    w.ws_col > LDVM_TTY_DIM_MAX)
		return ldvm__err(r->tctx, LDVM_EPROTO, "the requester sent a "
		    "window of %u by %u", w.ws_row, w.ws_col);
	if (ioctl(r->master, TIOCSWINSZ, &w) < 0)
		return ldvm__errno(r->tctx, LDVM_ESYS, "TIOCSWINSZ");
	return 0;
}

/* Keys of the frame in hand to the pseudo-terminal, as much as it takes. */
static int
put_keys(struct ldvm__relay *r)
{
	struct ldvm__rx *rx = &r->guest->rx;

	while (r->koff < rx->len) {
		ssize_t n = write(r->master, rx->buf + r->koff,
		    rx->len - r->koff);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n < 0)
			return ldvm__errno(r->tctx, LDVM_ESYS, "terminal write");
		r->koff += (size_t)n;
	}
	r->keys = false;
	ldvm__rx_next(rx);
	return 0;
}

/* The guest's frames, while no keys wait for the pseudo-terminal. */
static int
take_frames(struct ldvm__relay *r)
{
	struct ldvm__rx *rx = &r->guest->rx;
	int rc;

	while (!r->keys && (rc = ldvm__chan_recv(r->tctx, r->guest)) != 0) {
		if (rc < 0)
			return rc;
		if (rx->type == LDVM_F_TTYIN) {
			r->keys = true;
			r->koff = 0;
			if ((rc = put_keys(r)) != 0)
				return rc;
		} else if (rx->type == LDVM_F_TTYSIZE) {
			if ((rc = set_size(r, rx->buf)) != 0)
				return rc;
			ldvm__rx_next(rx);
		} else
			return ldvm__err(r->tctx, LDVM_EPROTO, "the requester "
			    "sent an unexpected %s frame",
			    ldvm__frame_name(rx->type));
	}
	return 0;
}

/* The screen, read when the last of it went on, and sent when it fits. */
static int
move_screen(struct ldvm__relay *r, bool *eof)
{
	int rc;

	if (r->slen == 0) {
		ssize_t n = read(r->master, r->screen, sizeof(r->screen));

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {           /* EIO: no session on it */
			*eof = true;
			return 0;
		}
		r->slen = (size_t)n;
	}
	if ((rc = ldvm__chan_send(r->tctx, r->guest, LDVM_F_TTYOUT, r->screen,
	    r->slen)) < 0)
		return rc;
	if (rc == 1)
		r->slen = 0;
	return 0;
}

/* After the session: what is left of its screen goes to the guest. */
static int
drain(struct ldvm__relay *r)
{
	int64_t end = ldvm__now_ms() + DRAIN_TIMEOUT_MS;
	int rc;

	for (;;) {
		if (r->slen == 0) {
			ssize_t n = read(r->master, r->screen,
			    sizeof(r->screen));

			if (n <= 0)     /* EAGAIN: all of it went */
				return 0;
			r->slen = (size_t)n;
		}
		if ((rc = ldvm__chan_send(r->tctx, r->guest, LDVM_F_TTYOUT,
		    r->screen, r->slen)) < 0)
			return rc;
		if (rc == 1) {
			r->slen = 0;
			continue;
		}
		if (ldvm__now_ms() >= end)
			return ldvm__err(r->tctx, LDVM_ETIMEDOUT, "the requester "
			    "stopped reading its terminal");
		if ((rc = ldvm__chan_wait(r->tctx, r->guest,
		    (int)(end - ldvm__now_ms()) + 1)) != 0)
			return rc;
	}
}

static int
relay_loop(struct ldvm__relay *r)
{
	bool eof = false;
	int rc;

	/*
	 * An empty screen first: the guest's terminal goes raw and its keys
	 * are read from now on, before the opener prints anything.
	 */
	if ((rc = ldvm__chan_send_wait(r->tctx, r->guest, LDVM_F_TTYOUT, NULL,
	    0, DRAIN_TIMEOUT_MS)) != 0)
		return rc;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = r->stop[0], .events = POLLIN },
			{ .fd = r->master, .events = 0 },
		};

		if ((r->keys && (rc = put_keys(r)) != 0) ||
		    (rc = take_frames(r)) != 0)
			return rc;
		if (!eof && (rc = move_screen(r, &eof)) != 0)
			return rc;
		if (!libxenvchan_is_open(r->guest->v) &&
		    ldvm__chan_unread(r->guest) == 0)
			return ldvm__err(r->tctx, LDVM_EINTR, "the requester "
			    "went away");
		if (r->keys)
			p[1].events |= POLLOUT;
		if (!eof && r->slen == 0)
			p[1].events |= POLLIN;
		if (p[1].events == 0)
			p[1].fd = -1;
		if ((rc = ldvm__chan_wait_more(r->tctx, r->guest, p, 2,
		    -1)) != 0)
			return rc;
		if (p[0].revents != 0)
			return drain(r);
	}
}

static void *
relay_main(void *arg)
{
	struct ldvm__relay *r = arg;
	sigset_t all;

	/* Signals are the worker's, taken by its own thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	r->rc = relay_loop(r);
	if (r->rc != 0) {
		snprintf(r->why, sizeof(r->why), "%s", ldvm_errmsg(r->tctx));
		/* The session ends with it; the abort reads r->rc. */
		(void)!write(r->gone[1], "x", 1);
	}
	return NULL;
}

static int
relay_check(struct ldvm_ctx *ctx, void *arg)
{
	struct ldvm__relay *r = arg;

	return ldvm__err(ctx, r->rc == LDVM_EINTR ? LDVM_EINTR : LDVM_EPROTO,
	    "%s", r->why);
}

/* A pseudo-terminal pair of dom0's, raw at both ends, of size ws. */
static int
open_pty(struct ldvm_ctx *ctx, const uint16_t ws[2], int *master, int *slave)
{
	struct winsize w = { .ws_row = ws[0], .ws_col = ws[1] };
	struct termios t;
	char name[64];

	*slave = -1;
	if ((*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "posix_openpt");
	if (grantpt(*master) < 0 || unlockpt(*master) < 0 ||
	    ptsname_r(*master, name, sizeof(name)) != 0 ||
	    (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC |
	    O_NONBLOCK)) < 0 ||
	    fcntl(*master, F_SETFL, O_NONBLOCK) < 0 ||
	    tcgetattr(*slave, &t) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "pseudo-terminal");
	/* dom0 interprets nothing: no echo, no signals, no line editing. */
	cfmakeraw(&t);
	if (tcsetattr(*slave, TCSANOW, &t) < 0 ||
	    ioctl(*master, TIOCSWINSZ, &w) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "pseudo-terminal");
	return 0;
}

static void
relay_free(struct ldvm__relay *r)
{
	for (int i = 0; i < 2; i++) {
		if (r->gone[i] >= 0)
			close(r->gone[i]);
		if (r->stop[i] >= 0)
			close(r->stop[i]);
	}
	if (r->master >= 0)
		close(r->master);
	ldvm_ctx_free(r->tctx);
	free(r);
}

int
ldvm__relay_start(struct ldvm_ctx *ctx, struct ldvm__chan *guest,
    const uint16_t ws[2], struct ldvm__relay **out, int *slave,
    struct ldvm__abort *ab)
{
	struct ldvm__relay *r;
	int rc, e;

	*out = NULL;
	*slave = -1;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return ldvm__errno(ctx, LDVM_ENOMEM, "calloc");
	r->guest = guest;
	r->master = r->gone[0] = r->gone[1] = r->stop[0] = r->stop[1] = -1;
	if ((r->tctx = ldvm_ctx_new()) == NULL) {
		relay_free(r);
		return ldvm__errno(ctx, LDVM_ENOMEM, "context");
	}
	if (pipe2(r->gone, O_CLOEXEC) < 0 || pipe2(r->stop, O_CLOEXEC) < 0) {
		rc = ldvm__errno(ctx, LDVM_ESYS, "pipe");
		goto fail;
	}
	if ((rc = open_pty(ctx, ws, &r->master, slave)) != 0)
		goto fail;
	if ((e = pthread_create(&r->thread, NULL, relay_main, r)) != 0) {
		errno = e;
		rc = ldvm__errno(ctx, LDVM_ESYS, "pthread_create");
		goto fail;
	}
	r->started = true;
	ab->fd = r->gone[0];
	ab->check = relay_check;
	ab->arg = r;
	*out = r;
	return 0;
fail:
	if (*slave >= 0)
		close(*slave);
	*slave = -1;
	relay_free(r);
	return rc;
}

int
ldvm__relay_stop(struct ldvm_ctx *ctx, struct ldvm__relay *r)
{
	int rc = 0;

	if (r == NULL)
		return 0;
	if (r->started) {
		(void)!write(r->stop[1], "x", 1);
		pthread_join(r->thread, NULL);
		if (r->rc != 0)
			rc = ldvm__err(ctx, r->rc, "%s", r->why);
	}
	relay_free(r);
	return rc;
}
