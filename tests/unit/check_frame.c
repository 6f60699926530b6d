/* Framing under stress: streams of frames cut anywhere, lies, limits. */
#include <stdlib.h>
#include <string.h>

#include "ldvm_internal.h"
#include "unit.h"

static struct ldvm__rx rx;
static uint8_t stream[8 * (LDVM_FRAME_HDR + LDVM_FRAME_MAX)];

/* A frame appended to stream at *off; payload bytes derive from seed. */
static void
put_frame(size_t *off, uint32_t type, uint32_t len, unsigned seed)
{
	uint32_t i;

	ldvm__put32(stream + *off, type);
	ldvm__put32(stream + *off + 4, len);
	for (i = 0; i < len; i++)
		stream[*off + 8 + i] = (uint8_t)(seed + i * 7);
	*off += 8 + len;
}

/* Feeds stream[0..n) in pieces of chunk(i) bytes; counts whole frames. */
static int
feed_all(size_t n, size_t (*chunk)(unsigned), uint32_t *types,
    uint32_t *lens, unsigned *seeds, int max)
{
	size_t off = 0, used;
	unsigned i = 0;
	char why[128];
	int got = 0, r;

	while (off < n) {
		size_t c = chunk(i++);

		if (c > n - off)
			c = n - off;
		while (c > 0) {
			r = ldvm__rx_feed(&rx, stream + off, c, &used, why,
			    sizeof(why));
			ck_assert_int_ge(r, 0);
			ck_assert_uint_le(used, c);
			off += used;
			c -= used;
			if (r == 1) {
				uint32_t k;

				ck_assert_int_lt(got, max);
				ck_assert_uint_eq(rx.type, types[got]);
				ck_assert_uint_eq(rx.len, lens[got]);
				for (k = 0; k < rx.len; k++)
					if (rx.buf[k] != (uint8_t)(seeds[got] +
					    k * 7))
						ck_abort_msg("frame %d byte %u",
						    got, k);
				got++;
				ldvm__rx_next(&rx);
			} else
				ck_assert_uint_eq(c, 0);
		}
	}
	return got;
}

static size_t
one(unsigned i)
{
	(void)i;
	return 1;
}

static size_t
odd(unsigned i)
{
	static const size_t sizes[] = { 3, 7, 1, 4096, 13, 8, 65543, 2, 9 };

	return sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
}

static size_t
whole(unsigned i)
{
	(void)i;
	return sizeof(stream);
}

/* Every frame dom0 may receive, of edge sizes, in one stream. */
START_TEST(stream_to_dom0)
{
	uint32_t types[] = { LDVM_F_HELLO, LDVM_F_STDOUT, LDVM_F_STDERR,
	    LDVM_F_STDOUT, LDVM_F_STDOUT, LDVM_F_ERROR, LDVM_F_STDERR,
	    LDVM_F_EXIT };
	uint32_t lens[] = { 4, 1, 0, LDVM_FRAME_MAX, 0, LDVM_ERROR_MAX, 17,
	    8 };
	unsigned seeds[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t (*how[])(unsigned) = { one, odd, whole };
	size_t n = 0, k;

	for (k = 0; k < 8; k++)
		put_frame(&n, types[k], lens[k], seeds[k]);
	for (k = 0; k < 3; k++) {
		ldvm__rx_init(&rx, LDVM_TO_DOM0);
		ck_assert_int_eq(feed_all(n, how[k], types, lens, seeds, 8), 8);
		ck_assert_uint_eq(rx.hgot, 0);
	}
}
END_TEST

START_TEST(stream_to_agent)
{
	uint32_t types[] = { LDVM_F_HELLO, LDVM_F_EXEC, LDVM_F_STDIN,
	    LDVM_F_WINSIZE, LDVM_F_STDIN, LDVM_F_STDIN };
	uint32_t lens[] = { 4, LDVM_FRAME_MAX, LDVM_FRAME_MAX, 4, 3, 0 };
	unsigned seeds[] = { 9, 10, 11, 12, 13, 14 };
	size_t (*how[])(unsigned) = { one, odd, whole };
	size_t n = 0, k;

	for (k = 0; k < 6; k++)
		put_frame(&n, types[k], lens[k], seeds[k]);
	for (k = 0; k < 3; k++) {
		ldvm__rx_init(&rx, LDVM_TO_AGENT);
		ck_assert_int_eq(feed_all(n, how[k], types, lens, seeds, 6), 6);
	}
}
END_TEST

/* The receiver asks for exactly what the current frame still lacks. */
START_TEST(want_counts_down)
{
	uint8_t f[8 + 5];
	char why[128];
	size_t used;

	ldvm__rx_init(&rx, LDVM_TO_DOM0);
	ck_assert_uint_eq(ldvm__rx_want(&rx), 8);
	ldvm__put32(f, LDVM_F_STDOUT);
	ldvm__put32(f + 4, 5);
	memcpy(f + 8, "abcde", 5);
	ck_assert_int_eq(ldvm__rx_feed(&rx, f, 3, &used, why, sizeof(why)), 0);
	ck_assert_uint_eq(ldvm__rx_want(&rx), 5);
	ck_assert_int_eq(ldvm__rx_feed(&rx, f + 3, 7, &used, why,
	    sizeof(why)), 0);
	ck_assert_uint_eq(used, 7);
	ck_assert_uint_eq(ldvm__rx_want(&rx), 3);
	ck_assert_int_eq(ldvm__rx_feed(&rx, f + 10, 0, &used, why,
	    sizeof(why)), 0);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(ldvm__rx_feed(&rx, f + 10, 3, &used, why,
	    sizeof(why)), 1);
	ck_assert_uint_eq(ldvm__rx_want(&rx), 0);
	ck_assert_mem_eq(rx.buf, "abcde", 5);
}
END_TEST

/*
 * A length that lies upwards is refused with the header, before one
 * payload byte is taken; one that lies downwards only shifts the stream,
 * and the next "header" is then refused or read as what it says.
 */
START_TEST(lying_lengths)
{
	uint8_t f[64];
	char why[128] = "";
	size_t used;

	ldvm__rx_init(&rx, LDVM_TO_DOM0);
	ldvm__put32(f, LDVM_F_STDOUT);
	ldvm__put32(f + 4, LDVM_FRAME_MAX + 1);
	memset(f + 8, 'x', sizeof(f) - 8);
	ck_assert_int_eq(ldvm__rx_feed(&rx, f, sizeof(f), &used, why,
	    sizeof(why)), -1);
	ck_assert_uint_eq(used, 8);
	ck_assert_ptr_nonnull(strstr(why, "STDOUT"));
	ck_assert_ptr_nonnull(strstr(why, "65537"));
	/* Fed again after the error, it takes nothing: the refused length
	 * must never size a copy into buf. */
	ck_assert_int_eq(ldvm__rx_feed(&rx, f + 8, sizeof(f) - 8, &used, why,
	    sizeof(why)), -1);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(ldvm__rx_want(&rx), 0);
	ck_assert_ptr_nonnull(strstr(why, "already broke"));

	/* EXIT claiming 4096 bytes: refused, naming type and length. */
	ldvm__rx_init(&rx, LDVM_TO_DOM0);
	ldvm__put32(f, LDVM_F_EXIT);
	ldvm__put32(f + 4, 4096);
	ck_assert_int_eq(ldvm__rx_feed(&rx, f, sizeof(f), &used, why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "EXIT"));
	ck_assert_ptr_nonnull(strstr(why, "4096"));

	/* STDOUT of 2 followed by text: the text becomes a bad header. */
	ldvm__rx_init(&rx, LDVM_TO_DOM0);
	ldvm__put32(f, LDVM_F_STDOUT);
	ldvm__put32(f + 4, 2);
	memcpy(f + 8, "hi there, dom0", 14);
	ck_assert_int_eq(ldvm__rx_feed(&rx, f, 22, &used, why, sizeof(why)),
	    1);
	ck_assert_uint_eq(used, 10);
	ldvm__rx_next(&rx);
	ck_assert_int_eq(ldvm__rx_feed(&rx, f + 10, 12, &used, why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "unknown frame type"));
}
END_TEST

/* A bad header is refused at its last byte, not before, not after. */
START_TEST(refused_at_eighth_byte)
{
	uint8_t f[8];
	char why[128];
	size_t i, used;

	ldvm__rx_init(&rx, LDVM_TO_AGENT);
	ldvm__put32(f, LDVM_F_EXIT);
	ldvm__put32(f + 4, 8);
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(ldvm__rx_feed(&rx, f + i, 1, &used, why,
		    sizeof(why)), 0);
	ck_assert_int_eq(ldvm__rx_feed(&rx, f + 7, 1, &used, why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "EXIT"));
}
END_TEST

START_TEST(exec_limits)
{
	static uint8_t buf[LDVM_FRAME_MAX + 16];
	static char *argv[LDVM_ARGV_MAX + 2];
	static char big[LDVM_FRAME_MAX];
	char why[128], **out;
	unsigned flags;
	uint16_t rows, cols;
	size_t len, i;

	/* Exactly LDVM_ARGV_MAX arguments pass, one more does not. */
	for (i = 0; i < LDVM_ARGV_MAX; i++)
		argv[i] = "a";
	argv[LDVM_ARGV_MAX] = NULL;
	len = ldvm__exec_encode(buf, sizeof(buf), 0, 0, 0, argv);
	ck_assert_uint_eq(len, 8 + 2 * LDVM_ARGV_MAX);
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), 0);
	ck_assert_str_eq(out[LDVM_ARGV_MAX - 1], "a");
	ck_assert_ptr_null(out[LDVM_ARGV_MAX]);
	free(out);
	argv[LDVM_ARGV_MAX] = "a";
	argv[LDVM_ARGV_MAX + 1] = NULL;
	ck_assert_uint_eq(ldvm__exec_encode(buf, sizeof(buf), 0, 0, 0, argv),
	    0);

	/* A payload of exactly LDVM_FRAME_MAX bytes, then one more. */
	memset(big, 'b', sizeof(big));
	big[LDVM_FRAME_MAX - 8 - 1] = '\0';
	argv[0] = big;
	argv[1] = NULL;
	len = ldvm__exec_encode(buf, sizeof(buf), LDVM_EXEC_TTY, 1, 2, argv);
	ck_assert_uint_eq(len, LDVM_FRAME_MAX);
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), 0);
	ck_assert_uint_eq(strlen(out[0]), LDVM_FRAME_MAX - 9);
	free(out);
	big[LDVM_FRAME_MAX - 8 - 1] = 'b';
	big[LDVM_FRAME_MAX - 8] = '\0';
	ck_assert_uint_eq(ldvm__exec_encode(buf, sizeof(buf), 0, 0, 0, argv),
	    0);
	ck_assert_int_eq(ldvm__exec_decode(buf, LDVM_FRAME_MAX + 1, &flags,
	    &rows, &cols, &out, why, sizeof(why)), -1);
	ck_assert_ptr_null(out);
}
END_TEST

/* Every exit value and every signal survives the trip; nothing else. */
START_TEST(exit_every_value)
{
	uint8_t b[8];
	int v, st;

	for (v = 0; v <= 255; v++) {
		ldvm__exit_encode(b, 0, v);
		ck_assert_int_eq(ldvm__exit_decode(b, &st), 0);
		ck_assert_int_eq(st, v);
	}
	for (v = 1; v <= 64; v++) {
		ldvm__exit_encode(b, 1, v);
		ck_assert_int_eq(ldvm__exit_decode(b, &st), 0);
		ck_assert_int_eq(st, 128 + v);
	}
	ldvm__exit_encode(b, 0, -1);
	ck_assert_int_eq(ldvm__exit_decode(b, &st), -1);
	ldvm__put32(b, 0xffffffff);
	ck_assert_int_eq(ldvm__exit_decode(b, &st), -1);
}
END_TEST

/* What a hostile peer can do to the rings without sending a frame. */
START_TEST(ring_limits)
{
	struct ldvm__wake w = { { 0 }, 0 };
	uint32_t now[3] = { 1, 2, 1 };
	int i;

	ck_assert(!ldvm__ring_fits(10));
	ck_assert(!ldvm__ring_fits(16));       /* 64 KiB: no room for a header */
	ck_assert(ldvm__ring_fits(17));
	ck_assert(!ldvm__ring_fits(-1));
	ck_assert(!ldvm__ring_fits(40));
	ck_assert_int_eq(ldvm__ring_used(10, 10, 17), 0);
	ck_assert_int_eq(ldvm__ring_used(5, 0xfffffffb, 17), 10);
	ck_assert_int_eq(ldvm__ring_used(1 << 17, 0, 17), 1 << 17);
	ck_assert_int_eq(ldvm__ring_used((1 << 17) + 1, 0, 17), -1);
	ck_assert_int_eq(ldvm__ring_used(10, 11, 17), -1);  /* backwards */
	/* Room for standard input: never negative, never over a frame. */
	ck_assert_int_eq(ldvm__stdin_room(-5), -1);
	ck_assert_int_eq(ldvm__stdin_room(0), -1);
	ck_assert_int_eq(ldvm__stdin_room(LDVM_FRAME_HDR + LDVM_IN_MIN - 1),
	    -1);
	ck_assert_int_eq(ldvm__stdin_room(LDVM_FRAME_HDR + LDVM_IN_MIN),
	    LDVM_IN_MIN);
	ck_assert_int_eq(ldvm__stdin_room(1 << 17), LDVM_FRAME_MAX);
	/* Wake-ups: any change resets the count, LDVM_IDLE_WAKES do not. */
	for (i = 0; i < 5 * LDVM_IDLE_WAKES; i++) {
		now[i % 3]++;
		ck_assert(ldvm__wake_note(&w, now));
	}
	for (i = 1; i < LDVM_IDLE_WAKES; i++)
		ck_assert(ldvm__wake_note(&w, now));
	ck_assert(!ldvm__wake_note(&w, now));
	now[2] = 0;
	ck_assert(ldvm__wake_note(&w, now));
}
END_TEST

Suite *
frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_test(core, stream_to_dom0);
	tcase_add_test(core, stream_to_agent);
	tcase_add_test(core, want_counts_down);
	tcase_add_test(core, exit_every_value);
	tcase_add_test(limits, lying_lengths);
	tcase_add_test(limits, refused_at_eighth_byte);
	tcase_add_test(limits, exec_limits);
	tcase_add_test(limits, ring_limits);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}
