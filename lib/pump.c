/*
 * One side of a command's session, without I/O: the core that both the
 * dom0 caller and the guest's agent can pump a session with.  It makes no
 * system call; its caller reads and writes the descriptors and the
 * channel, reports what happened, and asks the core what to do next.
 * (lib/chan.c's ldvm__chan_pump is the loop around it that both sides
 * run: ldvm__chan_run_as for dom0, the agent's run_session in agent.c.)
 *
 * One state machine, parameterised by role (the table roles[] below):
 *
 *   dom0:  source 0 = standard input   -> STDIN frames
 *          STDOUT, STDERR frames       -> sink 0 = stdout, sink 1 = stderr
 *          sends WINSIZE (tty); takes EXIT (the end) and ERROR (failure)
 *   agent: source 0, 1 = the command's stdout, stderr -> STDOUT, STDERR
 *          STDIN frames                -> sink 0 = the command's stdin
 *          takes WINSIZE (tty: RESIZE); sends EXIT once the command
 *          exited and all its output is in the channel
 *
 * The session's phase: RUN -> EXITED -> OVER, or straight to OVER on an
 * error or an abort.  EXITED is reached by an EXIT frame (dom0) or by
 * ldvm__pump_exited (agent).  dom0 is OVER, with the exit status, once
 * EXITED with no output held; the agent once its EXIT went out.  After
 * EXIT dom0 takes no more frames and sends nothing; the agent goes on
 * sending the command's output, then EXIT.
 *
 * Each local stream (struct ldvm__pump_cfg says which are present) is
 * ABSENT (nothing is ever read, written or sent for it: a dom0 caller
 * with no standard input reports its end at once instead, so the command
 * gets one), OPEN, ENDING (its end came and is still to be passed on) or
 * ENDED.  A source ENDING still sends what it holds, then an empty frame
 * of its type; a sink ENDING asks for LDVM_PUMP_END (the agent closes the
 * command's stdin, or gives a terminal its end-of-file character; dom0
 * ignores it) and drops whatever comes later.  A sink that will take no
 * more (ldvm__pump_sink_gone) drops what it holds and what comes later.
 *
 * Events (the caller reports): the ring's free space (ldvm__pump_room,
 * before asking anything, and when a SEND found no room: less room than
 * the core counted means the peer took room back, and the session
 * fails), a whole frame received (ldvm__pump_frame), bytes read or the
 * end of a source (ldvm__pump_input, ldvm__pump_eof), bytes written to a
 * sink or the sink gone (ldvm__pump_wrote, ldvm__pump_sink_gone), a frame
 * sent (ldvm__pump_sent, right after the SEND), the terminal's size
 * (ldvm__pump_winch), the command's exit (ldvm__pump_exited), the peer's
 * close (ldvm__pump_peer_closed), a poll that timed out
 * (ldvm__pump_timeout), and an abort of the caller's (an interrupt, a
 * requester or a domain gone: ldvm__pump_abort).
 *
 * Decisions (the caller asks): ldvm__pump_next says what to do now --
 * SEND a frame (type, payload and its bounds), RESIZE the terminal, END a
 * sink, DONE with the result, or WAIT; ldvm__pump_wants what to poll for
 * then (whether to take frames, which sources to read, which sink to
 * write, and a timeout: LDVM_PUMP_WINCH_MS for dom0 on a terminal, to
 * look at its size again; LDVM_PUMP_LINGER_MS for the agent waiting for
 * room for EXIT, after which ldvm__pump_timeout ends the session);
 * ldvm__pump_read_room where and how much to read; ldvm__pump_output what
 * to write.
 *
 * Flow control: a frame is only taken while no output is held, so the
 * channel is read no faster than the sinks drain; a source is read only
 * while its buffer has room (dom0: only into an empty buffer, and only as
 * much as the ring takes in one frame, when it has room for at least
 * LDVM_IN_MIN bytes), and a frame is proposed only when the ring has room
 * for it.  A peer that stops reading leaves every decision at WAIT with
 * nothing to read: no busy loop.  The agent sends output while dom0 has
 * read everything, else once it holds LDVM_PUMP_BATCH bytes or its
 * stream ended (every frame costs both sides a wake-up).
 *
 * Input after the peer closed the channel is dropped, not an error; dom0
 * then still takes what the agent sent before closing, and the session
 * fails only when nothing is left and no EXIT came.  The agent's session
 * fails as soon as dom0 closed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ldvm_internal.h"

/* What the last SEND was, beside a source's index. */
#define SENT_WINSIZE (-1)
#define SENT_EXIT (-2)
#define SENT_NONE (-3)

static const struct role {
	uint32_t src_type[2];   /* frame each source sends; 0: none */
	uint32_t sink_type[2];  /* frame each sink takes; 0: none */
	size_t batch;           /* bytes worth a frame while the peer reads */
	bool room_reads;        /* read into an empty buffer what fits */
	bool src_after_exit;    /* sources drain after the exit */
	bool peer_ends;         /* the peer's EXIT ends the session */
	const char *peer;
} roles[] = {
	[LDVM_PUMP_DOM0] = { { LDVM_F_STDIN, 0 },
	    { LDVM_F_STDOUT, LDVM_F_STDERR }, 1, true, false, true, "agent" },
	[LDVM_PUMP_AGENT] = { { LDVM_F_STDOUT, LDVM_F_STDERR },
	    { LDVM_F_STDIN, 0 }, LDVM_PUMP_BATCH, false, true, false, "dom0" },
};

static int
vover(struct ldvm__pump *p, int rc, const char *fmt, va_list ap)
{
	if (p->phase == LDVM_PUMP_OVER)
		return p->rc;
	p->phase = LDVM_PUMP_OVER;
	p->rc = rc;
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	return rc;
}

/* Ends the session with rc (< 0) unless it is over already; the rc kept. */
static int __attribute__((format(printf, 3, 4)))
over(struct ldvm__pump *p, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = vover(p, rc, fmt, ap);
	va_end(ap);
	return rc;
}

void
ldvm__pump_abort(struct ldvm__pump *p, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vover(p, rc < 0 ? rc : LDVM_EINVAL, fmt, ap);
	va_end(ap);
}

void
ldvm__pump_init(struct ldvm__pump *p, const struct ldvm__pump_cfg *cfg)
{
	const struct role *r = &roles[cfg->role];
	int i;

	p->role = cfg->role;
	p->phase = LDVM_PUMP_RUN;
	p->tty = cfg->tty;
	p->peer_closed = false;
	for (i = 0; i < 2; i++) {
		p->src[i].st = cfg->src[i] && r->src_type[i] != 0 ?
		    LDVM_PUMP_OPEN : LDVM_PUMP_ABSENT;
		p->src[i].len = 0;
		p->sink[i] = cfg->sink[i] && r->sink_type[i] != 0 ?
		    LDVM_PUMP_OPEN : LDVM_PUMP_ABSENT;
		p->filter[i] = cfg->filter[i];
	}
	p->held = -1;
	p->out = NULL;
	p->out_off = p->out_len = 0;
	p->room = 0;
	p->idle = false;
	p->ws[0] = p->ws_new[0] = cfg->rows;
	p->ws[1] = p->ws_new[1] = cfg->cols;
	p->ws_due = false;
	p->sending = SENT_NONE;
	p->sending_len = 0;
	p->status = -1;
	p->rc = 0;
	p->why[0] = '\0';
}

/*
 * Only our own frames take room in the ring (ldvm__pump_sent counts them
 * off): less room than that means the peer moved its index back.
 */
void
ldvm__pump_room(struct ldvm__pump *p, long space, long size)
{
	size_t now = space > 0 ? (size_t)space : 0;

	if (now > (size_t)1 << 30)
		now = (size_t)1 << 30;
	p->sending = SENT_NONE;
	if (now < p->room) {
		over(p, LDVM_EPROTO, "%s took back room in the ring",
		    roles[p->role].peer);
		return;
	}
	p->room = now;
	p->idle = space >= 0 && space == size;
}

static bool
fits(const struct ldvm__pump *p, size_t len)
{
	return p->room >= LDVM_FRAME_HDR + len;
}

/* Whether sources are read and sent: the command's input stops at exit. */
static bool
src_live(const struct ldvm__pump *p)
{
	if (p->phase == LDVM_PUMP_OVER || p->peer_closed)
		return false;
	return p->phase == LDVM_PUMP_RUN || roles[p->role].src_after_exit;
}

/* Every source has passed its end on (or never was). */
static bool
src_done(const struct ldvm__pump *p)
{
	return (p->src[0].st == LDVM_PUMP_ABSENT ||
	    p->src[0].st == LDVM_PUMP_ENDED) &&
	    (p->src[1].st == LDVM_PUMP_ABSENT ||
	    p->src[1].st == LDVM_PUMP_ENDED);
}

static size_t
read_max(const struct ldvm__pump *p, int i)
{
	const struct ldvm__pump_src *s;
	long room;

	if (i < 0 || i > 1 || (s = &p->src[i])->st != LDVM_PUMP_OPEN ||
	    !src_live(p))
		return 0;
	if (!roles[p->role].room_reads)
		return sizeof(s->buf) - s->len;
	if (s->len > 0 || (room = ldvm__stdin_room((int)p->room)) < 0)
		return 0;
	return (size_t)room;
}

size_t
ldvm__pump_read_room(struct ldvm__pump *p, int i, uint8_t **buf)
{
	size_t max = read_max(p, i);

	*buf = max > 0 ? p->src[i].buf + p->src[i].len : NULL;
	return max;
}

void
ldvm__pump_eof(struct ldvm__pump *p, int i)
{
	struct ldvm__pump_src *s;

	if (i < 0 || i > 1 || (s = &p->src[i])->st != LDVM_PUMP_OPEN)
		return;
	if (src_live(p))
		s->st = LDVM_PUMP_ENDING;
	else {
		s->st = LDVM_PUMP_ENDED;
		s->len = 0;
	}
}

void
ldvm__pump_input(struct ldvm__pump *p, int i, size_t n)
{
	size_t max = read_max(p, i);

	if (n == 0)
		ldvm__pump_eof(p, i);
	else if (n > max)
		over(p, LDVM_EINVAL, "%zu bytes read where %zu were offered",
		    n, max);
	else
		p->src[i].len += n;
}

/* Payload of a frame for sink i: held as output, or forgotten (1). */
static int
to_sink(struct ldvm__pump *p, int i, uint8_t *b, size_t len)
{
	if (len == 0) {
		if (p->sink[i] == LDVM_PUMP_OPEN)
			p->sink[i] = LDVM_PUMP_ENDING;
		return 1;
	}
	if (p->sink[i] != LDVM_PUMP_OPEN)
		return 1;       /* absent, ended or gone: dropped */
	if (p->filter[i])
		ldvm__filter_escapes(b, len);
	p->held = i;
	p->out = b;
	p->out_off = 0;
	p->out_len = len;
	return 0;
}

/* A frame that is not a stream's: EXIT, ERROR, WINSIZE. */
static int
control(struct ldvm__pump *p, uint32_t type, const uint8_t *b, size_t len)
{
	bool dom0 = p->role == LDVM_PUMP_DOM0;

	if (dom0 && type == LDVM_F_EXIT) {
		if (len != 8 || ldvm__exit_decode(b, &p->status) != 0)
			return over(p, LDVM_EPROTO, "malformed exit status");
		p->phase = LDVM_PUMP_EXITED;
		return 1;
	}
	if (dom0 && type == LDVM_F_ERROR) {
		if (!ldvm__valid_text((const char *)b, len))
			return over(p, LDVM_EPROTO, "agent sent an unprintable "
			    "error");
		return over(p, LDVM_EPROTO, "agent: %.*s", (int)len,
		    (const char *)b);
	}
	if (!dom0 && type == LDVM_F_WINSIZE) {
		if (len != 4)
			return over(p, LDVM_EPROTO, "WINSIZE frame of bad "
			    "length %zu", len);
		if (p->tty) {
			p->ws[0] = (uint16_t)(b[0] | b[1] << 8);
			p->ws[1] = (uint16_t)(b[2] | b[3] << 8);
			p->ws_due = true;
		}
		return 1;
	}
	return over(p, LDVM_EPROTO, "unexpected %s frame",
	    ldvm__frame_name(type));
}

int
ldvm__pump_frame(struct ldvm__pump *p, uint32_t type, uint8_t *payload,
    size_t len)
{
	const struct role *r = &roles[p->role];
	int i;

	if (!ldvm__pump_takes(p)) {
		over(p, LDVM_EINVAL, "a %s frame given while none is taken",
		    ldvm__frame_name(type));
		return p->rc < 0 ? p->rc : LDVM_EINVAL;
	}
	for (i = 0; i < 2; i++)
		if (r->sink_type[i] != 0 && r->sink_type[i] == type)
			return to_sink(p, i, payload, len);
	return control(p, type, payload, len);
}

size_t
ldvm__pump_output(const struct ldvm__pump *p, int *sink, const uint8_t **data)
{
	*sink = p->held;
	*data = p->held >= 0 ? p->out + p->out_off : NULL;
	return p->held >= 0 ? p->out_len - p->out_off : 0;
}

static int
release(struct ldvm__pump *p)
{
	p->held = -1;
	p->out = NULL;
	p->out_off = p->out_len = 0;
	return 1;
}

int
ldvm__pump_wrote(struct ldvm__pump *p, size_t n)
{
	if (p->held < 0)
		return 0;
	if (n > p->out_len - p->out_off) {
		over(p, LDVM_EINVAL, "%zu bytes written where %zu were held",
		    n, p->out_len - p->out_off);
		return release(p);
	}
	p->out_off += n;
	return p->out_off == p->out_len ? release(p) : 0;
}

int
ldvm__pump_sink_gone(struct ldvm__pump *p, int i)
{
	if (i < 0 || i > 1)
		return 0;
	if (p->sink[i] != LDVM_PUMP_ABSENT)
		p->sink[i] = LDVM_PUMP_ENDED;
	return p->held == i ? release(p) : 0;
}

/*
 * The frame proposed went out.  A source may have read more since: what
 * was sent leaves its buffer, the rest stays.
 */
void
ldvm__pump_sent(struct ldvm__pump *p)
{
	size_t len = p->sending_len;

	if (p->sending == SENT_NONE)
		return;
	if (p->sending == SENT_WINSIZE) {
		p->ws[0] = (uint16_t)(p->ctl[0] | p->ctl[1] << 8);
		p->ws[1] = (uint16_t)(p->ctl[2] | p->ctl[3] << 8);
	} else if (p->sending == SENT_EXIT)
		p->phase = LDVM_PUMP_OVER;      /* rc 0: done */
	else {
		struct ldvm__pump_src *s = &p->src[p->sending];

		if (len == 0)
			s->st = LDVM_PUMP_ENDED;
		memmove(s->buf, s->buf + len, s->len - len);
		s->len -= len;
	}
	p->room -= LDVM_FRAME_HDR + len;
	p->idle = false;
	p->sending = SENT_NONE;
}

void
ldvm__pump_winch(struct ldvm__pump *p, uint16_t rows, uint16_t cols)
{
	if (rows == 0 || cols == 0)
		return;         /* a terminal without a size says nothing */
	p->ws_new[0] = rows;
	p->ws_new[1] = cols;
}

void
ldvm__pump_exited(struct ldvm__pump *p, bool signaled, int value)
{
	if (p->role != LDVM_PUMP_AGENT || p->phase != LDVM_PUMP_RUN)
		return;
	ldvm__exit_encode(p->ctl, signaled, value);
	if (ldvm__exit_decode(p->ctl, &p->status) != 0)
		p->status = -1;
	p->phase = LDVM_PUMP_EXITED;
}

void
ldvm__pump_peer_closed(struct ldvm__pump *p, bool drained)
{
	if (p->phase == LDVM_PUMP_OVER)
		return;
	p->peer_closed = true;  /* input is dropped (src_live), no error */
	if (!roles[p->role].peer_ends)
		over(p, LDVM_EPROTO, "dom0 closed the channel");
	else if (drained && p->phase != LDVM_PUMP_EXITED)
		over(p, LDVM_EPROTO, "%s closed the channel without an exit "
		    "status", roles[p->role].peer);
}

/* The agent waits for room for its EXIT, and for nothing else. */
static bool
lingers(const struct ldvm__pump *p)
{
	return p->role == LDVM_PUMP_AGENT && p->phase == LDVM_PUMP_EXITED &&
	    src_done(p);
}

void
ldvm__pump_timeout(struct ldvm__pump *p)
{
	if (lingers(p))
		over(p, LDVM_ETIMEDOUT, "dom0 stopped reading");
}

bool
ldvm__pump_takes(const struct ldvm__pump *p)
{
	if (p->held >= 0)
		return false;
	if (p->phase == LDVM_PUMP_RUN)
		return true;
	return p->phase == LDVM_PUMP_EXITED && !roles[p->role].peer_ends;
}

void
ldvm__pump_wants(const struct ldvm__pump *p, struct ldvm__pump_wants *w)
{
	int i;

	memset(w, 0, sizeof(*w));
	w->timeout_ms = -1;
	if (p->phase == LDVM_PUMP_OVER)
		return;
	w->frames = ldvm__pump_takes(p);
	for (i = 0; i < 2; i++) {
		w->read[i] = read_max(p, i) > 0;
		w->write[i] = p->held == i;
	}
	if (p->role == LDVM_PUMP_DOM0 && p->tty && p->phase == LDVM_PUMP_RUN &&
	    !p->peer_closed)
		w->timeout_ms = LDVM_PUMP_WINCH_MS;
	else if (lingers(p))
		w->timeout_ms = LDVM_PUMP_LINGER_MS;
}

static enum ldvm__pump_act
propose(struct ldvm__pump *p, struct ldvm__pump_do *d, int what, uint32_t type,
    const uint8_t *data, size_t len)
{
	p->sending = what;
	p->sending_len = len;
	d->act = LDVM_PUMP_SEND;
	d->type = type;
	d->data = data;
	d->len = len;
	return d->act;
}

/* A frame of source i's, if one is due and fits. */
static bool
src_frame(struct ldvm__pump *p, int i, struct ldvm__pump_do *d)
{
	const struct role *r = &roles[p->role];
	struct ldvm__pump_src *s = &p->src[i];
	bool ending = s->st == LDVM_PUMP_ENDING;

	if (s->len > 0 && (p->idle || s->len >= r->batch || ending) &&
	    fits(p, s->len)) {
		propose(p, d, i, r->src_type[i], s->buf, s->len);
		return true;
	}
	if (s->len == 0 && ending && fits(p, 0)) {
		propose(p, d, i, r->src_type[i], NULL, 0);
		return true;
	}
	return false;
}

/* The frames that are not a stream's: dom0's WINSIZE, the agent's EXIT. */
static bool
ctl_frame(struct ldvm__pump *p, struct ldvm__pump_do *d)
{
	if (lingers(p) && fits(p, 8)) {
		propose(p, d, SENT_EXIT, LDVM_F_EXIT, p->ctl, 8);
		return true;
	}
	if (p->role != LDVM_PUMP_DOM0 || !p->tty || !src_live(p) ||
	    (p->ws_new[0] == p->ws[0] && p->ws_new[1] == p->ws[1]) ||
	    !fits(p, 4))
		return false;
	p->ctl[0] = (uint8_t)p->ws_new[0];
	p->ctl[1] = (uint8_t)(p->ws_new[0] >> 8);
	p->ctl[2] = (uint8_t)p->ws_new[1];
	p->ctl[3] = (uint8_t)(p->ws_new[1] >> 8);
	propose(p, d, SENT_WINSIZE, LDVM_F_WINSIZE, p->ctl, 4);
	return true;
}

enum ldvm__pump_act
ldvm__pump_next(struct ldvm__pump *p, struct ldvm__pump_do *d)
{
	int i;

	memset(d, 0, sizeof(*d));
	d->sink = -1;
	p->sending = SENT_NONE;
	if (p->phase == LDVM_PUMP_EXITED && roles[p->role].peer_ends &&
	    p->held < 0)
		p->phase = LDVM_PUMP_OVER;      /* rc 0: done */
	if (p->phase == LDVM_PUMP_OVER) {
		d->act = LDVM_PUMP_DONE;
		d->rc = p->rc;
		d->status = p->status;
		d->why = p->why;
		return d->act;
	}
	for (i = 0; i < 2; i++)
		if (p->sink[i] == LDVM_PUMP_ENDING) {
			p->sink[i] = LDVM_PUMP_ENDED;
			d->act = LDVM_PUMP_END;
			d->sink = i;
			return d->act;
		}
	if (p->ws_due) {
		p->ws_due = false;
		d->act = LDVM_PUMP_RESIZE;
		d->rows = p->ws[0];
		d->cols = p->ws[1];
		return d->act;
	}
	for (i = 0; i < 2 && src_live(p); i++)
		if (src_frame(p, i, d))
			return d->act;
	if (ctl_frame(p, d))
		return d->act;
	d->act = LDVM_PUMP_WAIT;
	return d->act;
}
