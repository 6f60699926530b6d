/*
 * The session pump's core (pump.c), both roles: events in, decisions out,
 * against a simulated ring and simulated descriptors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldvm_internal.h"
#include "unit.h"

#define RING (128 * 1024)

static struct ldvm__pump pump;

/* What the simulated peer got, and what the caller was asked to do. */
static struct {
	uint32_t type;
	size_t len;
	uint8_t head[8];
} sent[64];
static int nsent;
static int ends[2], resizes;
static uint16_t rows, cols;
static long room;              /* the simulated ring's free space */
static uint8_t frame[LDVM_FRAME_MAX];   /* the caller's receive buffer */
static uint8_t written[2][256];
static size_t nwritten[2];

static void
setup(enum ldvm__pump_role role, bool tty, bool src0, bool src1, bool sink0,
    bool sink1)
{
	struct ldvm__pump_cfg c = { .role = role, .tty = tty, .rows = 24,
	    .cols = 80, .src = { src0, src1 }, .sink = { sink0, sink1 } };

	ldvm__pump_init(&pump, &c);
	nsent = resizes = 0;
	ends[0] = ends[1] = 0;
	nwritten[0] = nwritten[1] = 0;
}

/*
 * The ring has space bytes free: only ever more than the core counted
 * (the peer read), or the peer took room back.
 */
static void
ring(long space)
{
	room = space;
	ldvm__pump_room(&pump, room, RING);
}

static void
dom0(void)
{
	setup(LDVM_PUMP_DOM0, false, true, false, true, true);
	ring(RING);
}

static void
agent(void)
{
	setup(LDVM_PUMP_AGENT, false, true, true, true, false);
	ring(RING);
}

/*
 * Does what ldvm__pump_next asks until it says WAIT or DONE: frames go
 * into the simulated ring, which nobody reads.
 */
static enum ldvm__pump_act
run(void)
{
	struct ldvm__pump_do d;
	enum ldvm__pump_act a;
	int n = 0;

	while ((a = ldvm__pump_next(&pump, &d)) != LDVM_PUMP_WAIT &&
	    a != LDVM_PUMP_DONE) {
		ck_assert_int_lt(n++, 50);      /* no endless decisions */
		if (a == LDVM_PUMP_SEND) {
			ck_assert_int_le((long)(d.len + LDVM_FRAME_HDR), room);
			ck_assert_int_lt(nsent, 64);
			sent[nsent].type = d.type;
			sent[nsent].len = d.len;
			memset(sent[nsent].head, 0, 8);
			if (d.len > 0)
				memcpy(sent[nsent].head, d.data, d.len < 8 ?
				    d.len : 8);
			nsent++;
			room -= (long)(d.len + LDVM_FRAME_HDR);
			ldvm__pump_sent(&pump);
		} else if (a == LDVM_PUMP_END) {
			ck_assert(d.sink == 0 || d.sink == 1);
			ends[d.sink]++;
		} else if (a == LDVM_PUMP_RESIZE) {
			resizes++;
			rows = d.rows;
			cols = d.cols;
		}
	}
	return a;
}

/* The peer read everything: the ring is empty again. */
static void
drained(void)
{
	ring(RING);
}

static int
give(uint32_t type, const char *s, size_t len)
{
	if (len > 0)
		memcpy(frame, s, len);
	return ldvm__pump_frame(&pump, type, frame, len);
}

/* Writes the held output, n bytes at a time; 1 once it was released. */
static int
write_out(size_t n)
{
	const uint8_t *data;
	size_t left;
	int sink, r = 0;

	while ((left = ldvm__pump_output(&pump, &sink, &data)) > 0) {
		struct ldvm__pump_wants w;

		ldvm__pump_wants(&pump, &w);
		ck_assert(w.write[sink] && !w.write[!sink] && !w.frames);
		if (left > n)
			left = n;
		ck_assert_uint_le(nwritten[sink] + left, sizeof(written[0]));
		memcpy(written[sink] + nwritten[sink], data, left);
		nwritten[sink] += left;
		r = ldvm__pump_wrote(&pump, left);
	}
	return r;
}

static void
read_in(int i, const char *s, size_t n)
{
	uint8_t *buf;
	size_t max = ldvm__pump_read_room(&pump, i, &buf);

	ck_assert_uint_ge(max, n);
	memcpy(buf, s, n);
	ldvm__pump_input(&pump, i, n);
}

static void
exit_frame(int status)
{
	uint8_t ex[8];

	ldvm__exit_encode(ex, 0, status);
	ck_assert_int_eq(ldvm__pump_frame(&pump, LDVM_F_EXIT, ex, 8), 1);
}

static void
assert_done(int rc, int status)
{
	struct ldvm__pump_do d;

	ck_assert_int_eq(ldvm__pump_next(&pump, &d), LDVM_PUMP_DONE);
	ck_assert_int_eq(d.rc, rc);
	if (rc == 0)
		ck_assert_int_eq(d.status, status);
	else
		ck_assert(d.why != NULL && d.why[0] != '\0');
}

static void
assert_sent(int k, uint32_t type, const char *s, size_t len)
{
	ck_assert_int_lt(k, nsent);
	ck_assert_uint_eq(sent[k].type, type);
	ck_assert_uint_eq(sent[k].len, len);
	ck_assert(memcmp(sent[k].head, s, len < 8 ? len : 8) == 0);
}

/* ---- dom0 ---- */

/*
 * Every order of a stdout and a stderr frame and both streams' ends, then
 * EXIT: each byte reaches its sink (unless its stream ended before it),
 * nothing else is taken while output is held, and the session is over
 * with the status once all is written.
 */
START_TEST(dom0_frame_orders)
{
	static const int perm[24][4] = {
		{0,1,2,3},{0,1,3,2},{0,2,1,3},{0,2,3,1},{0,3,1,2},{0,3,2,1},
		{1,0,2,3},{1,0,3,2},{1,2,0,3},{1,2,3,0},{1,3,0,2},{1,3,2,0},
		{2,0,1,3},{2,0,3,1},{2,1,0,3},{2,1,3,0},{2,3,0,1},{2,3,1,0},
		{3,0,1,2},{3,0,2,1},{3,1,0,2},{3,1,2,0},{3,2,0,1},{3,2,1,0} };
	static const struct { uint32_t type; const char *s; } f[4] = {
		{ LDVM_F_STDOUT, "out" }, { LDVM_F_STDERR, "error" },
		{ LDVM_F_STDOUT, "" }, { LDVM_F_STDERR, "" } };
	int k, j;

	for (k = 0; k < 24; k++) {
		bool ended[2] = { false, false }, lost[2] = { false, false };

		dom0();
		ldvm__pump_eof(&pump, 0);
		for (j = 0; j < 4; j++) {
			int e = perm[k][j], r;
			const char *s = f[e].s;

			/* After its stream's end, data is dropped. */
			if (e >= 2)
				ended[e - 2] = true;
			else
				lost[e] = ended[e];
			r = give(f[e].type, s, strlen(s));
			ck_assert_int_eq(r, e < 2 && !lost[e] ? 0 : 1);
			ck_assert(ldvm__pump_takes(&pump) == (r == 1));
			ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
			if (r == 0)
				ck_assert_int_eq(write_out(2), 1);
			ck_assert(ldvm__pump_takes(&pump));
		}
		/* The streams' ends asked for LDVM_PUMP_END, once each. */
		ck_assert_int_eq(ends[0], 1);
		ck_assert_int_eq(ends[1], 1);
		exit_frame(k);
		ck_assert(!ldvm__pump_takes(&pump));
		assert_done(0, k);
		ck_assert_uint_eq(nwritten[0], lost[0] ? 0 : 3);
		ck_assert_uint_eq(nwritten[1], lost[1] ? 0 : 5);
		ck_assert(lost[0] || memcmp(written[0], "out", 3) == 0);
		ck_assert(lost[1] || memcmp(written[1], "error", 5) == 0);
		/* Standard input had ended: one empty STDIN, first. */
		ck_assert_int_eq(nsent, 1);
		assert_sent(0, LDVM_F_STDIN, "", 0);
	}
}
END_TEST

/* Exit with output held: the output is written first, then it is over. */
START_TEST(dom0_output_before_exit)
{
	struct ldvm__pump_do d;

	dom0();
	ck_assert_int_eq(give(LDVM_F_STDOUT, "abcdef", 6), 0);
	/* A frame pushed in anyway is refused, and ends the session. */
	ck_assert_int_eq(ldvm__pump_frame(&pump, LDVM_F_EXIT, frame, 8),
	    LDVM_EINVAL);
	assert_done(LDVM_EINVAL, 0);

	dom0();
	ck_assert_int_eq(give(LDVM_F_STDOUT, "abcdef", 6), 0);
	ck_assert_int_eq(write_out(4), 1);
	exit_frame(3);
	ck_assert_int_eq(ldvm__pump_next(&pump, &d), LDVM_PUMP_DONE);
	ck_assert_int_eq(d.status, 3);
	ck_assert_uint_eq(nwritten[0], 6);
	/* Frames after EXIT are not taken. */
	ck_assert(!ldvm__pump_takes(&pump));
}
END_TEST

/* Partial writes, an absent sink, the escape filter on one sink only. */
START_TEST(dom0_sinks)
{
	struct ldvm__pump_cfg c = { .role = LDVM_PUMP_DOM0, .src = { true },
	    .sink = { true, true }, .filter = { true, false } };
	const char raw[] = "a\033[2Jb\x9b\n";
	size_t n = sizeof(raw) - 1;

	ldvm__pump_init(&pump, &c);
	nwritten[0] = nwritten[1] = 0;
	ck_assert_int_eq(give(LDVM_F_STDOUT, raw, n), 0);
	ck_assert_int_eq(write_out(1), 1);
	ck_assert_uint_eq(nwritten[0], 8);
	ck_assert(memcmp(written[0], "a_[2Jb_\n", 8) == 0);
	ck_assert_int_eq(give(LDVM_F_STDERR, raw, n), 0);
	ck_assert_int_eq(write_out(100), 1);
	ck_assert(memcmp(written[1], raw, n) == 0);

	/* No stderr: its frames are forgotten at once. */
	setup(LDVM_PUMP_DOM0, false, true, false, true, false);
	ck_assert_int_eq(give(LDVM_F_STDERR, "lost", 4), 1);
	ck_assert(ldvm__pump_takes(&pump));
	ck_assert_uint_eq(nwritten[1], 0);
	/* A sink that takes no more drops what it held, and what comes. */
	ck_assert_int_eq(give(LDVM_F_STDOUT, "xyz", 3), 0);
	ck_assert_int_eq(ldvm__pump_sink_gone(&pump, 1), 0);
	ck_assert_int_eq(ldvm__pump_sink_gone(&pump, 0), 1);
	ck_assert(ldvm__pump_takes(&pump));
	ck_assert_int_eq(give(LDVM_F_STDOUT, "xyz", 3), 1);
	/* Writing more than was held is the caller's error. */
	dom0();
	ck_assert_int_eq(give(LDVM_F_STDOUT, "xyz", 3), 0);
	ck_assert_int_eq(ldvm__pump_wrote(&pump, 4), 1);
	assert_done(LDVM_EINVAL, 0);
}
END_TEST

/*
 * Standard input: read as much as the ring takes into an empty buffer,
 * sent whole, its end sent once; before and after output, with EXIT.
 */
START_TEST(dom0_stdin)
{
	struct ldvm__pump_wants w;
	uint8_t *buf;
	int before;

	for (before = 0; before < 2; before++) {
		dom0();
		ldvm__pump_wants(&pump, &w);
		ck_assert(w.read[0] && !w.read[1] && w.frames);
		ck_assert_int_eq(w.timeout_ms, -1);
		ck_assert_uint_eq(ldvm__pump_read_room(&pump, 0, &buf),
		    LDVM_FRAME_MAX);
		read_in(0, "hello", 5);
		/* Held for sending: no more is read meanwhile. */
		ck_assert_uint_eq(ldvm__pump_read_room(&pump, 0, &buf), 0);
		if (!before) {
			ck_assert_int_eq(give(LDVM_F_STDOUT, "o", 1), 0);
			ck_assert_int_eq(write_out(1), 1);
		}
		ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
		ck_assert_int_eq(nsent, 1);
		assert_sent(0, LDVM_F_STDIN, "hello", 5);
		ldvm__pump_input(&pump, 0, 0);
		ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
		ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
		ck_assert_int_eq(nsent, 2);
		assert_sent(1, LDVM_F_STDIN, "", 0);
		ldvm__pump_wants(&pump, &w);
		ck_assert(!w.read[0]);
		if (before) {
			ck_assert_int_eq(give(LDVM_F_STDOUT, "o", 1), 0);
			ck_assert_int_eq(write_out(1), 1);
		}
		exit_frame(0);
		assert_done(0, 0);
		ck_assert_uint_eq(nwritten[0], 1);
	}
}
END_TEST

/*
 * The agent stops reading: with less room than LDVM_IN_MIN, standard
 * input is not read, and every decision is WAIT, however often asked.
 */
START_TEST(dom0_peer_stops_reading)
{
	struct ldvm__pump_wants w;
	uint8_t *buf;
	int k;

	static char big[LDVM_IN_MIN + 91];

	setup(LDVM_PUMP_DOM0, false, true, false, true, true);
	ring(LDVM_FRAME_HDR + LDVM_IN_MIN + 100);
	ck_assert_uint_eq(ldvm__pump_read_room(&pump, 0, &buf),
	    LDVM_IN_MIN + 100);
	read_in(0, "x", 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 1);
	/* A frame of 9 bytes took its room: read no more than is left. */
	ck_assert_uint_eq(ldvm__pump_read_room(&pump, 0, &buf),
	    LDVM_IN_MIN + 91);
	read_in(0, big, sizeof(big));
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 2);
	ck_assert_int_eq(room, 0);
	ring(LDVM_FRAME_HDR + LDVM_IN_MIN - 1);         /* it read a little */
	for (k = 0; k < 3; k++) {
		ldvm__pump_wants(&pump, &w);
		ck_assert(!w.read[0] && w.frames);
		ck_assert_int_eq(w.timeout_ms, -1);
		ck_assert_uint_eq(ldvm__pump_read_room(&pump, 0, &buf), 0);
		ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	}
	ck_assert_int_eq(nsent, 2);
	/* The end fits in less: it goes. */
	ldvm__pump_eof(&pump, 0);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 3);
	assert_sent(2, LDVM_F_STDIN, "", 0);
	/* A caller that reads more than it was offered is refused. */
	setup(LDVM_PUMP_DOM0, false, true, false, true, true);
	ring(LDVM_FRAME_HDR + LDVM_IN_MIN);
	ldvm__pump_input(&pump, 0, LDVM_IN_MIN + 1);
	assert_done(LDVM_EINVAL, 0);
}
END_TEST

/* The agent sent its exit with standard input still open or buffered. */
START_TEST(dom0_exit_with_input)
{
	struct ldvm__pump_wants w;

	dom0();
	exit_frame(7);
	ldvm__pump_wants(&pump, &w);
	ck_assert(!w.read[0] && !w.frames);
	assert_done(0, 7);
	ck_assert_int_eq(nsent, 0);

	/* Input read and not yet sent is not sent after the exit. */
	dom0();
	read_in(0, "data", 4);
	exit_frame(1);
	assert_done(0, 1);
	ck_assert_int_eq(nsent, 0);
}
END_TEST

START_TEST(dom0_winsize)
{
	struct ldvm__pump_wants w;
	uint8_t ex[8];

	setup(LDVM_PUMP_DOM0, true, true, false, true, false);
	ring(2 * LDVM_FRAME_HDR + 4 + 3);       /* one WINSIZE, not two */
	ldvm__pump_wants(&pump, &w);
	ck_assert_int_eq(w.timeout_ms, LDVM_PUMP_WINCH_MS);
	/* The size the EXEC carried, or none: nothing to send. */
	ldvm__pump_winch(&pump, 24, 80);
	ldvm__pump_winch(&pump, 0, 100);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 0);
	ldvm__pump_winch(&pump, 50, 300);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 1);
	assert_sent(0, LDVM_F_WINSIZE, "\x32\x00\x2c\x01", 4);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 1);
	/* No room: it waits, and goes when there is. */
	ldvm__pump_winch(&pump, 51, 300);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 1);
	/* Changed twice meanwhile: only the last size goes. */
	ldvm__pump_winch(&pump, 52, 301);
	drained();
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 2);
	assert_sent(1, LDVM_F_WINSIZE, "\x34\x00\x2d\x01", 4);
	/* Without a terminal, or after the exit: never. */
	dom0();
	ldvm__pump_winch(&pump, 50, 300);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 0);
	setup(LDVM_PUMP_DOM0, true, true, false, true, false);
	ring(RING);
	ldvm__exit_encode(ex, 0, 0);
	ck_assert_int_eq(give(LDVM_F_STDOUT, "z", 1), 0);
	ck_assert_int_eq(write_out(1), 1);
	ck_assert_int_eq(ldvm__pump_frame(&pump, LDVM_F_EXIT, ex, 8), 1);
	ldvm__pump_winch(&pump, 50, 300);
	assert_done(0, 0);
	ck_assert_int_eq(nsent, 0);
}
END_TEST

/* ERROR, malformed EXIT, frames the dom0 side never takes. */
START_TEST(dom0_bad_frames)
{
	struct ldvm__pump_do d;
	uint8_t ex[8];
	uint32_t odd[] = { LDVM_F_HELLO, LDVM_F_FILE, LDVM_F_STDIN, 99 };
	size_t k;

	dom0();
	ck_assert_int_eq(give(LDVM_F_ERROR, "no such user", 12), LDVM_EPROTO);
	ck_assert_int_eq(ldvm__pump_next(&pump, &d), LDVM_PUMP_DONE);
	ck_assert_str_eq(d.why, "agent: no such user");
	dom0();
	ck_assert_int_eq(give(LDVM_F_ERROR, "bad\033", 4), LDVM_EPROTO);
	ck_assert_int_eq(ldvm__pump_next(&pump, &d), LDVM_PUMP_DONE);
	ck_assert_str_eq(d.why, "agent sent an unprintable error");
	dom0();
	ldvm__exit_encode(ex, 1, 99);
	ck_assert_int_eq(ldvm__pump_frame(&pump, LDVM_F_EXIT, ex, 8),
	    LDVM_EPROTO);
	for (k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
		dom0();
		ck_assert_int_eq(give(odd[k], "abcd", 4), LDVM_EPROTO);
		assert_done(LDVM_EPROTO, 0);
	}
	/* A signal's status: 128 + its number. */
	dom0();
	ldvm__exit_encode(ex, 1, 9);
	ck_assert_int_eq(ldvm__pump_frame(&pump, LDVM_F_EXIT, ex, 8), 1);
	assert_done(0, 137);
}
END_TEST

/*
 * The agent closed the channel: input read and not sent is dropped (no
 * error, no STDIN), what it sent before closing is still taken, and
 * without an EXIT the session fails once nothing is left.
 */
START_TEST(dom0_peer_closed)
{
	struct ldvm__pump_wants w;
	struct ldvm__pump_do d;

	dom0();
	read_in(0, "late", 4);
	ldvm__pump_peer_closed(&pump, false);
	drained();
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 0);
	ldvm__pump_wants(&pump, &w);
	ck_assert(!w.read[0] && w.frames);
	ldvm__pump_eof(&pump, 0);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 0);
	ck_assert_int_eq(give(LDVM_F_STDOUT, "tail", 4), 0);
	ck_assert_int_eq(write_out(4), 1);
	exit_frame(2);
	ldvm__pump_peer_closed(&pump, true);
	assert_done(0, 2);
	ck_assert_uint_eq(nwritten[0], 4);

	dom0();
	ldvm__pump_peer_closed(&pump, false);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ldvm__pump_peer_closed(&pump, true);
	ck_assert_int_eq(ldvm__pump_next(&pump, &d), LDVM_PUMP_DONE);
	ck_assert_int_eq(d.rc, LDVM_EPROTO);
	ck_assert_str_eq(d.why, "agent closed the channel without an exit "
	    "status");
}
END_TEST

/*
 * Less room than the frames sent left: the peer moved its index back, on
 * a report or when a SEND found no room; either role.
 */
START_TEST(room_taken_back)
{
	struct ldvm__pump_do d;
	int role;

	for (role = 0; role < 2; role++) {
		setup(role, false, true, true, true, false);
		ring(RING - 1000);
		read_in(0, "abc", 3);
		ldvm__pump_eof(&pump, 0);
		ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
		ck_assert_int_eq(nsent, 2);
		ring(RING - 1000 - 2 * LDVM_FRAME_HDR - 3);     /* the same */
		ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
		ring(room - 1);
		ck_assert_int_eq(ldvm__pump_next(&pump, &d), LDVM_PUMP_DONE);
		ck_assert_int_eq(d.rc, LDVM_EPROTO);
		ck_assert_str_eq(d.why, role == LDVM_PUMP_DOM0 ?
		    "agent took back room in the ring" :
		    "dom0 took back room in the ring");
	}
	/* A SEND proposed that the ring then had no room for. */
	agent();
	read_in(1, "x", 1);
	ck_assert_int_eq(ldvm__pump_next(&pump, &d), LDVM_PUMP_SEND);
	ring(LDVM_FRAME_HDR);
	assert_done(LDVM_EPROTO, 0);
}
END_TEST

/* An abort at each stage ends the session with its code; none after. */
START_TEST(dom0_abort)
{
	struct ldvm__pump_wants w;
	struct ldvm__pump_do d;
	char why[32];
	int stage;

	for (stage = 0; stage < 5; stage++) {
		dom0();
		if (stage >= 1)
			read_in(0, "in", 2);
		if (stage >= 2)
			ck_assert_int_eq(give(LDVM_F_STDOUT, "held", 4), 0);
		if (stage >= 3) {
			ck_assert_int_eq(write_out(4), 1);
			exit_frame(5);
		}
		if (stage >= 4)
			assert_done(0, 5);
		ldvm__pump_abort(&pump, LDVM_EINTR, "interrupted at %d",
		    stage);
		ck_assert_int_eq(ldvm__pump_next(&pump, &d), LDVM_PUMP_DONE);
		ck_assert_int_eq(d.rc, stage == 4 ? 0 : LDVM_EINTR);
		snprintf(why, sizeof(why), "interrupted at %d", stage);
		if (stage < 4)
			ck_assert_str_eq(d.why, why);
		ldvm__pump_wants(&pump, &w);
		ck_assert(!w.frames && !w.read[0] && !w.write[0]);
		ck_assert_int_eq(run(), LDVM_PUMP_DONE);
		ck_assert_int_eq(nsent, 0);
		/* A second abort changes nothing. */
		ldvm__pump_abort(&pump, LDVM_ENOENT, "died");
		ck_assert_int_eq(ldvm__pump_next(&pump, &d), LDVM_PUMP_DONE);
		ck_assert_int_eq(d.rc, stage == 4 ? 0 : LDVM_EINTR);
	}
}
END_TEST

/* ---- agent ---- */

/*
 * The command's stdout and stderr each write, end, and the command exits,
 * in every order (each stream's data before its end): every stream's
 * bytes, then its empty frame, and EXIT only after both ends; then over.
 */
START_TEST(agent_eof_orders)
{
	/* 0: out data, 1: out EOF, 2: err data, 3: err EOF, 4: exit */
	int ev[5], k, j, n = 0, pd[2], pe[2];

	for (k = 0; k < 5 * 5 * 5 * 5 * 5; k++) {
		int x = k, seen = 0, at[5], ok = 1;

		for (j = 0; j < 5; j++, x /= 5) {
			ev[j] = x % 5;
			if (seen & 1 << ev[j])
				ok = 0;
			seen |= 1 << ev[j];
			at[ev[j]] = j;
		}
		if (!ok || at[0] > at[1] || at[2] > at[3])
			continue;
		n++;
		agent();
		for (j = 0; j < 5; j++) {
			if (ev[j] == 0)
				read_in(0, "OUT", 3);
			else if (ev[j] == 2)
				read_in(1, "ERR", 3);
			else if (ev[j] == 4)
				ldvm__pump_exited(&pump, false, 4);
			else
				ldvm__pump_eof(&pump, ev[j] == 1 ? 0 : 1);
			ck_assert_int_eq(run(), j == 4 ? LDVM_PUMP_DONE :
			    LDVM_PUMP_WAIT);
			/* dom0 reads all at once: the ring is idle again. */
			drained();
		}
		ck_assert_int_eq(nsent, 5);
		pd[0] = pd[1] = pe[0] = pe[1] = -1;
		for (j = 0; j < 4; j++) {
			uint32_t t = sent[j].type;
			int o = t == LDVM_F_STDERR;

			ck_assert(t == LDVM_F_STDOUT || t == LDVM_F_STDERR);
			if (sent[j].len == 0)
				pe[o] = j;
			else {
				pd[o] = j;
				ck_assert(memcmp(sent[j].head, o ? "ERR" :
				    "OUT", 3) == 0);
			}
		}
		ck_assert(pd[0] >= 0 && pd[0] < pe[0]);
		ck_assert(pd[1] >= 0 && pd[1] < pe[1]);
		assert_sent(4, LDVM_F_EXIT, "\0\0\0\0\4\0\0\0", 8);
		assert_done(0, 4);
	}
	ck_assert_int_eq(n, 30);
}
END_TEST

/*
 * While dom0 has not read everything, output waits for half a frame or
 * its end; an idle ring takes any.
 */
START_TEST(agent_batching)
{
	static char big[LDVM_PUMP_BATCH];
	struct ldvm__pump_do d;
	uint8_t *buf;

	setup(LDVM_PUMP_AGENT, false, true, true, true, false);
	ring(RING - 100);       /* dom0 has 100 bytes unread */
	read_in(0, "a", 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 0);
	/* More comes into the same frame. */
	ck_assert_uint_eq(ldvm__pump_read_room(&pump, 0, &buf),
	    LDVM_FRAME_MAX - 1);
	read_in(0, "b", 1);
	drained();
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 1);
	assert_sent(0, LDVM_F_STDOUT, "ab", 2);
	/* Half a frame goes though dom0 is behind. */
	read_in(1, big, sizeof(big) - 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 1);
	read_in(1, "!", 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 2);
	ck_assert_uint_eq(sent[1].len, LDVM_PUMP_BATCH);
	/* Its end makes a small remainder go. */
	read_in(0, "c", 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 2);
	ldvm__pump_eof(&pump, 0);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 4);
	assert_sent(2, LDVM_F_STDOUT, "c", 1);
	assert_sent(3, LDVM_F_STDOUT, "", 0);
	/* Read more between the SEND and its sending: the rest stays. */
	drained();
	read_in(1, "xy", 2);
	ck_assert_int_eq(ldvm__pump_next(&pump, &d), LDVM_PUMP_SEND);
	ck_assert_uint_eq(d.len, 2);
	read_in(1, "z", 1);
	ldvm__pump_sent(&pump);
	room -= LDVM_FRAME_HDR + 2;
	ldvm__pump_eof(&pump, 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 6);
	assert_sent(4, LDVM_F_STDERR, "z", 1);
	assert_sent(5, LDVM_F_STDERR, "", 0);
}
END_TEST

/*
 * dom0 stops reading: buffers fill, then nothing is read and every
 * decision is WAIT; room makes it flow again.  The exit waits for room,
 * LDVM_PUMP_LINGER_MS without any news ends the session.
 */
START_TEST(agent_peer_stops_reading)
{
	static char full[LDVM_FRAME_MAX];
	struct ldvm__pump_wants w;
	uint8_t *buf;
	int k;

	setup(LDVM_PUMP_AGENT, false, true, true, true, false);
	ring(0);
	read_in(0, full, sizeof(full));
	read_in(1, full, 10);
	ldvm__pump_exited(&pump, true, 15);
	for (k = 0; k < 3; k++) {
		ldvm__pump_wants(&pump, &w);
		ck_assert(!w.read[0] && w.read[1] && w.frames);
		ck_assert_int_eq(w.timeout_ms, -1);
		ck_assert_uint_eq(ldvm__pump_read_room(&pump, 0, &buf), 0);
		ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
		ldvm__pump_timeout(&pump);      /* not lingering: nothing */
	}
	ck_assert_int_eq(nsent, 0);
	/* Room for the full frame, not for the next. */
	ring(LDVM_FRAME_HDR + LDVM_FRAME_MAX);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 1);
	ck_assert_uint_eq(sent[0].len, LDVM_FRAME_MAX);
	ldvm__pump_eof(&pump, 0);
	ldvm__pump_eof(&pump, 1);
	ring(LDVM_FRAME_HDR * 3 + 10 + 4);      /* not for EXIT */
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(nsent, 4);
	assert_sent(1, LDVM_F_STDOUT, "", 0);
	assert_sent(2, LDVM_F_STDERR, full, 10);
	assert_sent(3, LDVM_F_STDERR, "", 0);
	ldvm__pump_wants(&pump, &w);
	ck_assert_int_eq(w.timeout_ms, LDVM_PUMP_LINGER_MS);
	ldvm__pump_timeout(&pump);
	assert_done(LDVM_ETIMEDOUT, 0);
	ck_assert_int_eq(nsent, 4);
}
END_TEST

/*
 * Standard input from dom0: held until written, its end asks for END once,
 * input after the end or after the command closed its stdin is dropped.
 */
START_TEST(agent_stdin)
{
	struct ldvm__pump_wants w;

	agent();
	ck_assert_int_eq(give(LDVM_F_STDIN, "line\n", 5), 0);
	ldvm__pump_wants(&pump, &w);
	ck_assert(w.write[0] && !w.frames);
	ck_assert_int_eq(write_out(2), 1);
	ck_assert(memcmp(written[0], "line\n", 5) == 0);
	ck_assert_int_eq(give(LDVM_F_STDIN, "", 0), 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(ends[0], 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(ends[0], 1);
	ck_assert_int_eq(give(LDVM_F_STDIN, "more", 4), 1);
	ck_assert_int_eq(give(LDVM_F_STDIN, "", 0), 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(ends[0], 1);
	ck_assert_uint_eq(nwritten[0], 5);

	/* The command closed its input with some held: dropped, no error. */
	agent();
	ck_assert_int_eq(give(LDVM_F_STDIN, "abcdef", 6), 0);
	ck_assert_int_eq(ldvm__pump_sink_gone(&pump, 0), 1);
	ck_assert_int_eq(give(LDVM_F_STDIN, "ghi", 3), 1);
	ck_assert_int_eq(give(LDVM_F_STDIN, "", 0), 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(ends[0], 0);
	ldvm__pump_wants(&pump, &w);
	ck_assert(!w.write[0] && w.frames);
	/* Input after the command exited: still taken (then dropped). */
	ldvm__pump_exited(&pump, false, 0);
	ck_assert(ldvm__pump_takes(&pump));
}
END_TEST

START_TEST(agent_winsize)
{
	uint8_t ws[4] = { 40, 0, 0x2c, 1 };

	setup(LDVM_PUMP_AGENT, true, true, false, true, false);
	ring(RING);
	ck_assert_int_eq(ldvm__pump_frame(&pump, LDVM_F_WINSIZE, ws, 4), 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(resizes, 1);
	ck_assert_uint_eq(rows, 40);
	ck_assert_uint_eq(cols, 300);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(resizes, 1);
	/* Two before the caller asks: the last counts. */
	ck_assert_int_eq(ldvm__pump_frame(&pump, LDVM_F_WINSIZE, ws, 4), 1);
	ws[0] = 41;
	ck_assert_int_eq(ldvm__pump_frame(&pump, LDVM_F_WINSIZE, ws, 4), 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(resizes, 2);
	ck_assert_uint_eq(rows, 41);
	/* No terminal: taken, nothing to do. */
	agent();
	ck_assert_int_eq(ldvm__pump_frame(&pump, LDVM_F_WINSIZE, ws, 4), 1);
	ck_assert_int_eq(run(), LDVM_PUMP_WAIT);
	ck_assert_int_eq(resizes, 0);
	ck_assert_int_eq(ldvm__pump_frame(&pump, LDVM_F_WINSIZE, ws, 3),
	    LDVM_EPROTO);
}
END_TEST

/* A terminal: one source, no stderr frames at all, not even its end. */
START_TEST(agent_tty_streams)
{
	setup(LDVM_PUMP_AGENT, true, true, false, true, false);
	ring(RING);
	read_in(0, "$ ", 2);
	ldvm__pump_eof(&pump, 0);
	ldvm__pump_eof(&pump, 1);
	ldvm__pump_exited(&pump, false, 0);
	ck_assert_int_eq(run(), LDVM_PUMP_DONE);
	ck_assert_int_eq(nsent, 3);
	assert_sent(0, LDVM_F_STDOUT, "$ ", 2);
	assert_sent(1, LDVM_F_STDOUT, "", 0);
	assert_sent(2, LDVM_F_EXIT, "\0\0\0\0\0\0\0\0", 8);
	assert_done(0, 0);
}
END_TEST

/* dom0 closed the channel, bad frames, and an abort at each stage. */
START_TEST(agent_ends)
{
	uint32_t odd[] = { LDVM_F_HELLO, LDVM_F_EXEC, LDVM_F_RESULT,
	    LDVM_F_FILE };
	struct ldvm__pump_do d;
	size_t k;
	int stage;

	agent();
	read_in(0, "unsent", 6);
	ldvm__pump_peer_closed(&pump, false);
	ck_assert_int_eq(ldvm__pump_next(&pump, &d), LDVM_PUMP_DONE);
	ck_assert_int_eq(d.rc, LDVM_EPROTO);
	ck_assert_str_eq(d.why, "dom0 closed the channel");
	for (k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
		agent();
		ck_assert_int_eq(give(odd[k], "abcd", 4), LDVM_EPROTO);
		assert_done(LDVM_EPROTO, 0);
	}
	for (stage = 0; stage < 5; stage++) {
		agent();
		if (stage >= 1)
			ck_assert_int_eq(give(LDVM_F_STDIN, "x", 1), 0);
		if (stage >= 2)
			read_in(0, "y", 1);
		if (stage >= 3)
			ldvm__pump_exited(&pump, false, 1);
		if (stage >= 4) {
			ck_assert_int_eq(write_out(1), 1);
			ldvm__pump_eof(&pump, 0);
			ldvm__pump_eof(&pump, 1);
			ck_assert_int_eq(run(), LDVM_PUMP_DONE);
		}
		ldvm__pump_abort(&pump, LDVM_EINTR, "stop");
		ck_assert_int_eq(ldvm__pump_next(&pump, &d), LDVM_PUMP_DONE);
		ck_assert_int_eq(d.rc, stage == 4 ? 0 : LDVM_EINTR);
		ck_assert_int_eq(run(), LDVM_PUMP_DONE);
		ck_assert_int_eq(nsent, stage == 4 ? 4 : 0);
		ck_assert_int_eq(ldvm__pump_frame(&pump, LDVM_F_STDIN, frame,
		    1), stage == 4 ? LDVM_EINVAL : LDVM_EINTR);
	}
}
END_TEST

/* ---- both ends at once ---- */

/*
 * A dom0 pump and an agent pump joined by two simulated rings, the agent
 * running a simulated cat(1) with a pipe of CAT_PIPE bytes each way and a
 * message on stderr: whatever goes in comes back out whole, through slow
 * and fast readers, and both sessions end with success.
 */
#define CAT_PIPE 65536

static struct ldvm__pump pd, pa;
static struct ldvm__rx rxd, rxa;
static struct ring {
	uint8_t b[RING];
	size_t len;
} tod, toa;
static struct {
	uint8_t in[CAT_PIPE], out[CAT_PIPE];
	size_t inlen, outlen, errsent;
	bool in_closed, exited;
} cat;
static uint8_t input[300000], got[2][300000];
static size_t inlen, inoff, gotlen[2];
static unsigned seed;

static size_t
roll(size_t max)
{
	seed = seed * 1103515245 + 12345;
	return max == 0 ? 0 : 1 + (seed >> 8) % max;
}

/* Does what p asks, its frames into r; false once it is over. */
static bool
side(struct ldvm__pump *p, struct ring *r)
{
	struct ldvm__pump_do d;
	enum ldvm__pump_act a;

	ldvm__pump_room(p, (long)(RING - r->len), RING);
	while ((a = ldvm__pump_next(p, &d)) != LDVM_PUMP_WAIT) {
		if (a == LDVM_PUMP_DONE) {
			ck_assert_msg(d.rc == 0, "%s", d.why);
			return false;
		}
		if (a == LDVM_PUMP_END && p == &pa)
			cat.in_closed = true;
		if (a != LDVM_PUMP_SEND)
			continue;
		ck_assert_uint_le(r->len + LDVM_FRAME_HDR + d.len, RING);
		ldvm__put32(r->b + r->len, d.type);
		ldvm__put32(r->b + r->len + 4, (uint32_t)d.len);
		if (d.len > 0)
			memcpy(r->b + r->len + LDVM_FRAME_HDR, d.data, d.len);
		r->len += LDVM_FRAME_HDR + d.len;
		ldvm__pump_sent(p);
	}
	return true;
}

/* Frames from r while p takes them, at most max bytes of the ring. */
static void
take(struct ldvm__pump *p, struct ldvm__rx *rx, struct ring *r, size_t max)
{
	char why[128];
	size_t used;
	int f;

	while (ldvm__pump_takes(p) && r->len > 0 && max > 0) {
		f = ldvm__rx_feed(rx, r->b, r->len < max ? r->len : max, &used,
		    why, sizeof(why));
		ck_assert_msg(f >= 0, "%s", why);
		memmove(r->b, r->b + used, r->len - used);
		r->len -= used;
		max -= used;
		if (f == 1 && ldvm__pump_frame(p, rx->type, rx->buf, rx->len))
			ldvm__rx_next(rx);
	}
}

/* dom0's terminal: types, and reads its output slowly or quickly. */
static void
dom0_local(size_t wmax)
{
	const uint8_t *data;
	uint8_t *buf;
	size_t n, max;
	int sink;

	if ((max = ldvm__pump_read_room(&pd, 0, &buf)) > 0) {
		n = roll(inlen - inoff < max ? inlen - inoff : max);
		memcpy(buf, input + inoff, n);
		inoff += n;
		ldvm__pump_input(&pd, 0, n);    /* 0: the end */
	}
	if ((n = ldvm__pump_output(&pd, &sink, &data)) > 0) {
		n = roll(n < wmax ? n : wmax);
		ck_assert_uint_le(gotlen[sink] + n, sizeof(got[0]));
		memcpy(got[sink] + gotlen[sink], data, n);
		gotlen[sink] += n;
		if (ldvm__pump_wrote(&pd, n))
			ldvm__rx_next(&rxd);
	}
}

/* cat in the guest: copies its stdin to its stdout, then exits 3. */
static void
agent_local(void)
{
	static const char msg[] = "cat: a word on stderr\n";
	const uint8_t *data;
	uint8_t *buf;
	size_t n, max;
	int sink;

	if ((n = ldvm__pump_output(&pa, &sink, &data)) > 0) {
		n = roll(n < CAT_PIPE - cat.inlen ? n : CAT_PIPE - cat.inlen);
		memcpy(cat.in + cat.inlen, data, n);
		cat.inlen += n;
		if (n > 0 && ldvm__pump_wrote(&pa, n))
			ldvm__rx_next(&rxa);
	}
	n = roll(cat.inlen < CAT_PIPE - cat.outlen ? cat.inlen :
	    CAT_PIPE - cat.outlen);
	memcpy(cat.out + cat.outlen, cat.in, n);
	memmove(cat.in, cat.in + n, cat.inlen - n);
	cat.inlen -= n;
	cat.outlen += n;
	if (cat.in_closed && cat.inlen == 0 && !cat.exited) {
		cat.exited = true;
		ldvm__pump_exited(&pa, false, 3);
	}
	if ((max = ldvm__pump_read_room(&pa, 0, &buf)) > 0) {
		n = roll(cat.outlen < max ? cat.outlen : max);
		memcpy(buf, cat.out, n);
		memmove(cat.out, cat.out + n, cat.outlen - n);
		cat.outlen -= n;
		if (n > 0 || cat.exited)
			ldvm__pump_input(&pa, 0, n);
	}
	if (ldvm__pump_read_room(&pa, 1, &buf) > 0) {
		n = cat.errsent < sizeof(msg) - 1 ? 5 : 0;
		if (n > sizeof(msg) - 1 - cat.errsent)
			n = sizeof(msg) - 1 - cat.errsent;
		memcpy(buf, msg + cat.errsent, n);
		cat.errsent += n;
		ldvm__pump_input(&pa, 1, n);
	}
}

static void
session(size_t len, size_t wmax, unsigned s)
{
	struct ldvm__pump_cfg cd = { .role = LDVM_PUMP_DOM0, .src = { true },
	    .sink = { true, true } };
	struct ldvm__pump_cfg ca = { .role = LDVM_PUMP_AGENT,
	    .src = { true, true }, .sink = { true } };
	bool dlive = true, alive = true;
	struct ldvm__pump_do d;
	size_t k;
	long steps = 0;

	ldvm__pump_init(&pd, &cd);
	ldvm__pump_init(&pa, &ca);
	ldvm__rx_init(&rxd, LDVM_TO_DOM0);
	ldvm__rx_init(&rxa, LDVM_TO_AGENT);
	tod.len = toa.len = 0;
	memset(&cat, 0, sizeof(cat));
	seed = s;
	for (k = 0; k < len; k++)
		input[k] = (uint8_t)(k * 31 + k / 977);
	inlen = len;
	inoff = gotlen[0] = gotlen[1] = 0;
	while (dlive || alive) {
		ck_assert_int_lt(steps++, 1000000);
		if (alive) {
			take(&pa, &rxa, &toa, roll(3 * LDVM_FRAME_MAX));
			agent_local();
			alive = side(&pa, &tod);
		}
		if (dlive) {
			take(&pd, &rxd, &tod, roll(3 * LDVM_FRAME_MAX));
			dom0_local(wmax);
			dlive = side(&pd, &toa);
		}
	}
	ck_assert_int_eq(ldvm__pump_next(&pd, &d), LDVM_PUMP_DONE);
	ck_assert_int_eq(d.status, 3);
	ck_assert_uint_eq(gotlen[0], len);
	ck_assert(memcmp(got[0], input, len) == 0);
	ck_assert_uint_eq(gotlen[1], 22);
	ck_assert(memcmp(got[1], "cat: a word on stderr\n", 22) == 0);
}

START_TEST(both_ends)
{
	static const size_t lens[] = { 0, 1, 4097, sizeof(input) };
	static const size_t wmax[] = { 1, 100, LDVM_FRAME_MAX };
	size_t i, j;

	for (i = 0; i < 4; i++)
		for (j = 0; j < 3; j++)
			if (lens[i] < 100000 || wmax[j] > 1)
				session(lens[i], wmax[j],
				    (unsigned)(i * 3 + j + 1));
}
END_TEST

Suite *
pump_suite(void)
{
	Suite *s = suite_create("pump");
	TCase *d = tcase_create("dom0");
	TCase *a = tcase_create("agent");
	TCase *b = tcase_create("both");

	tcase_add_test(d, dom0_frame_orders);
	tcase_add_test(d, dom0_output_before_exit);
	tcase_add_test(d, dom0_sinks);
	tcase_add_test(d, dom0_stdin);
	tcase_add_test(d, dom0_peer_stops_reading);
	tcase_add_test(d, dom0_exit_with_input);
	tcase_add_test(d, dom0_winsize);
	tcase_add_test(d, dom0_bad_frames);
	tcase_add_test(d, dom0_peer_closed);
	tcase_add_test(d, dom0_abort);
	tcase_add_test(d, room_taken_back);
	tcase_add_test(a, agent_eof_orders);
	tcase_add_test(a, agent_batching);
	tcase_add_test(a, agent_peer_stops_reading);
	tcase_add_test(a, agent_stdin);
	tcase_add_test(a, agent_winsize);
	tcase_add_test(a, agent_tty_streams);
	tcase_add_test(a, agent_ends);
	suite_add_tcase(s, d);
	tcase_add_test(b, both_ends);
	suite_add_tcase(s, a);
	suite_add_tcase(s, b);
	return s;
}
