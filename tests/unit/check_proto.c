/* Channel framing (lib/proto.c): every frame a peer sends is checked. */
#include <stdlib.h>
#include <string.h>

#include "ldvm_internal.h"
#include "unit.h"

static struct ldvm__rx rx;

static void
hdr(uint8_t *p, uint32_t type, uint32_t len)
{
	ldvm__put32(p, type);
	ldvm__put32(p + 4, len);
}

/* Feeds n bytes one at a time: split delivery must not matter. */
static int
feed_bytewise(const uint8_t *p, size_t n, char *why, size_t whysz)
{
	size_t i, used;
	int r = 0;

	for (i = 0; i < n; i++) {
		r = ldvm__rx_feed(&rx, p + i, 1, &used, why, whysz);
		if (r != 0)
			return i + 1 == n ? r : -2;   /* -2: ended early */
	}
	return r;
}

START_TEST(little_endian)
{
	uint8_t b[4];

	ldvm__put32(b, 0x04030201);
	ck_assert_uint_eq(b[0], 1);
	ck_assert_uint_eq(b[3], 4);
	ck_assert_uint_eq(ldvm__get32(b), 0x04030201);
}
END_TEST

START_TEST(frames_bytewise)
{
	uint8_t f[8 + 5];
	char why[128];

	ldvm__rx_init(&rx, LDVM_TO_DOM0);
	hdr(f, LDVM_F_STDOUT, 5);
	memcpy(f + 8, "hello", 5);
	ck_assert_int_eq(feed_bytewise(f, sizeof(f), why, sizeof(why)), 1);
	ck_assert_uint_eq(rx.type, LDVM_F_STDOUT);
	ck_assert_uint_eq(rx.len, 5);
	ck_assert_mem_eq(rx.buf, "hello", 5);
	ldvm__rx_next(&rx);
	/* An empty frame (EOF) completes with its header. */
	hdr(f, LDVM_F_STDERR, 0);
	ck_assert_int_eq(feed_bytewise(f, 8, why, sizeof(why)), 1);
	ck_assert_uint_eq(rx.len, 0);
}
END_TEST

START_TEST(two_frames_one_buffer)
{
	uint8_t f[16 + 8];
	char why[128];
	size_t used;

	ldvm__rx_init(&rx, LDVM_TO_DOM0);
	hdr(f, LDVM_F_STDOUT, 8);
	memcpy(f + 8, "abcdefgh", 8);
	hdr(f + 16, LDVM_F_EXIT, 8);
	/* The receiver takes only the first frame and says how much. */
	ck_assert_int_eq(ldvm__rx_feed(&rx, f, sizeof(f), &used, why,
	    sizeof(why)), 1);
	ck_assert_uint_eq(used, 16);
}
END_TEST

static const struct {
	enum ldvm__dir dir;
	uint32_t type, len;
	const char *msg;
} refused[] = {
	{ LDVM_TO_DOM0, 0, 4, "unknown frame type 0" },
	{ LDVM_TO_DOM0, 14, 4, "unknown frame type 14" },
	{ LDVM_TO_AGENT, LDVM_F_TTYIN, 4, "wrong direction" },
	{ LDVM_TO_DOM0, LDVM_F_TTYOUT, 4, "wrong direction" },
	{ LDVM_TO_AGENT, LDVM_F_TTYSIZE, 4, "wrong direction" },
	{ LDVM_TO_DOM0, LDVM_F_TTYSIZE, 5, "bad length" },
	{ LDVM_TO_DOM0, LDVM_F_TTYIN, LDVM_FRAME_MAX + 1, "bad length" },
	{ LDVM_TO_DOM0, LDVM_F_RESULT, 4, "wrong direction" },
	{ LDVM_TO_AGENT, LDVM_F_RESULT, 3, "bad length" },
	{ LDVM_TO_AGENT, LDVM_F_RESULT, 4 + LDVM_ERROR_MAX + 1, "bad length" },
	{ LDVM_TO_DOM0, LDVM_F_FILE, LDVM_FRAME_MAX + 1, "bad length" },
	{ LDVM_TO_DOM0, 0xffffffff, 4, "unknown frame type" },
	{ LDVM_TO_DOM0, LDVM_F_STDIN, 4, "wrong direction" },
	{ LDVM_TO_DOM0, LDVM_F_EXEC, 20, "wrong direction" },
	{ LDVM_TO_DOM0, LDVM_F_WINSIZE, 4, "wrong direction" },
	{ LDVM_TO_AGENT, LDVM_F_STDOUT, 4, "wrong direction" },
	{ LDVM_TO_AGENT, LDVM_F_EXIT, 8, "wrong direction" },
	{ LDVM_TO_AGENT, LDVM_F_ERROR, 8, "wrong direction" },
	{ LDVM_TO_DOM0, LDVM_F_STDOUT, LDVM_FRAME_MAX + 1, "bad length" },
	{ LDVM_TO_DOM0, LDVM_F_STDOUT, 0xffffffff, "bad length" },
	{ LDVM_TO_DOM0, LDVM_F_EXIT, 7, "bad length" },
	{ LDVM_TO_DOM0, LDVM_F_EXIT, 9, "bad length" },
	{ LDVM_TO_DOM0, LDVM_F_HELLO, 0, "bad length" },
	{ LDVM_TO_DOM0, LDVM_F_ERROR, LDVM_ERROR_MAX + 1, "bad length" },
	{ LDVM_TO_AGENT, LDVM_F_EXEC, 9, "bad length" },
	{ LDVM_TO_AGENT, LDVM_F_WINSIZE, 5, "bad length" },
};

START_TEST(refusals)
{
	uint8_t f[8];
	char why[128] = "";

	ldvm__rx_init(&rx, refused[_i].dir);
	hdr(f, refused[_i].type, refused[_i].len);
	ck_assert_int_eq(feed_bytewise(f, 8, why, sizeof(why)), -1);
	if (strstr(why, refused[_i].msg) == NULL)
		ck_abort_msg("case %d: '%s' lacks '%s'", _i, why,
		    refused[_i].msg);
}
END_TEST

START_TEST(allowed)
{
	char why[128];

	ck_assert_int_eq(ldvm__frame_check(LDVM_F_HELLO, 4, LDVM_TO_AGENT,
	    why, sizeof(why)), 0);
	ck_assert_int_eq(ldvm__frame_check(LDVM_F_HELLO, 4, LDVM_TO_DOM0,
	    why, sizeof(why)), 0);
	ck_assert_int_eq(ldvm__frame_check(LDVM_F_STDOUT, LDVM_FRAME_MAX,
	    LDVM_TO_DOM0, why, sizeof(why)), 0);
	ck_assert_int_eq(ldvm__frame_check(LDVM_F_STDIN, 0, LDVM_TO_AGENT,
	    why, sizeof(why)), 0);
	ck_assert_str_eq(ldvm__frame_name(LDVM_F_WINSIZE), "WINSIZE");
	ck_assert_str_eq(ldvm__frame_name(77), "unknown");
}
END_TEST

START_TEST(exec_round_trip)
{
	char *argv[] = { "printf", "%s\n", "a b", "", "$HOME", NULL };
	uint8_t buf[256];
	char why[128], **out;
	unsigned flags;
	uint16_t rows, cols;
	size_t len;

	len = ldvm__exec_encode(buf, sizeof(buf), LDVM_EXEC_TTY, 40, 120, argv);
	ck_assert_uint_gt(len, 8);
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), 0);
	ck_assert_uint_eq(flags, LDVM_EXEC_TTY);
	ck_assert_uint_eq(rows, 40);
	ck_assert_uint_eq(cols, 120);
	ck_assert_str_eq(out[0], "printf");
	ck_assert_str_eq(out[1], "%s\n");
	ck_assert_str_eq(out[2], "a b");
	ck_assert_str_eq(out[3], "");
	ck_assert_str_eq(out[4], "$HOME");
	ck_assert_ptr_null(out[5]);
	free(out);
}
END_TEST

/* A user travels as the first string; a bad one or none is refused. */
START_TEST(exec_user)
{
	char *argv[] = { "nobody", "id", "-u", NULL };
	char *bad[] = { "-rf", "id", NULL }, *alone[] = { "nobody", NULL };
	char *empty[] = { "nobody", "", NULL };
	uint8_t buf[256];
	char why[128], **out;
	unsigned flags;
	uint16_t rows, cols;
	size_t len;

	len = ldvm__exec_encode(buf, sizeof(buf), LDVM_EXEC_USER, 0, 0, argv);
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), 0);
	ck_assert_uint_eq(flags, LDVM_EXEC_USER);
	ck_assert_str_eq(out[0], "nobody");
	ck_assert_str_eq(out[1], "id");
	ck_assert_ptr_null(out[3]);
	free(out);
	len = ldvm__exec_encode(buf, sizeof(buf), LDVM_EXEC_USER, 0, 0, bad);
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), -1);
	ck_assert_ptr_null(out);
	len = ldvm__exec_encode(buf, sizeof(buf), LDVM_EXEC_USER, 0, 0, alone);
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), -1);
	len = ldvm__exec_encode(buf, sizeof(buf), LDVM_EXEC_USER, 0, 0, empty);
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), -1);
	/* Unknown flags are still refused. */
	len = ldvm__exec_encode(buf, sizeof(buf), 0x8, 0, 0, argv);
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), -1);
	len = ldvm__exec_encode(buf, sizeof(buf), LDVM_EXEC_WAYLAND, 0, 0,
	    argv);
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), 0);
	ck_assert_uint_eq(flags, LDVM_EXEC_WAYLAND);
	free(out);

	ck_assert(ldvm__valid_user("nobody"));
	ck_assert(ldvm__valid_user("_apt"));
	ck_assert(ldvm__valid_user("a.b-c"));
	ck_assert(!ldvm__valid_user("-x"));
	ck_assert(!ldvm__valid_user(".x"));
	ck_assert(!ldvm__valid_user(""));
	ck_assert(!ldvm__valid_user("a b"));
	ck_assert(!ldvm__valid_user("a:b"));
	ck_assert(!ldvm__valid_user("a/b"));
	ck_assert(ldvm__valid_user("abcdefghijklmnopqrstuvwxyz012345"));
	ck_assert(!ldvm__valid_user("abcdefghijklmnopqrstuvwxyz0123456"));
}
END_TEST

START_TEST(exec_refusals)
{
	char *empty[] = { NULL }, *blank[] = { "", NULL };
	char *one[] = { "x", NULL };
	uint8_t buf[64];
	char why[128], **out;
	unsigned flags;
	uint16_t rows, cols;
	size_t len;

	ck_assert_uint_eq(ldvm__exec_encode(buf, sizeof(buf), 0, 0, 0, empty), 0);
	ck_assert_uint_eq(ldvm__exec_encode(buf, sizeof(buf), 0, 0, 0, blank), 0);
	ck_assert_uint_eq(ldvm__exec_encode(buf, 9, 0, 0, 0, one), 0);
	len = ldvm__exec_encode(buf, sizeof(buf), 0, 0, 0, one);
	ck_assert_uint_eq(len, 10);
	/* Unterminated last argument. */
	buf[len - 1] = 'y';
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), -1);
	ck_assert(strstr(why, "not terminated") != NULL);
	buf[len - 1] = '\0';
	/* Empty command. */
	buf[8] = '\0';
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), -1);
	ck_assert(strstr(why, "empty") != NULL);
	buf[8] = 'x';
	/* Unknown flags. */
	ldvm__put32(buf, 0x80);
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), -1);
	ck_assert(strstr(why, "flags") != NULL);
	/* Too short. */
	ck_assert_int_eq(ldvm__exec_decode(buf, 9, &flags, &rows, &cols,
	    &out, why, sizeof(why)), -1);
}
END_TEST

START_TEST(exec_too_many_args)
{
	static uint8_t buf[LDVM_FRAME_MAX];
	char why[128], **out;
	unsigned flags;
	uint16_t rows, cols;
	size_t i, len = 8;

	memset(buf, 0, 8);
	for (i = 0; i <= LDVM_ARGV_MAX; i++) {
		buf[len++] = 'a';
		buf[len++] = '\0';
	}
	ck_assert_int_eq(ldvm__exec_decode(buf, len, &flags, &rows, &cols,
	    &out, why, sizeof(why)), -1);
	ck_assert(strstr(why, "too many") != NULL);
}
END_TEST

START_TEST(exit_status)
{
	uint8_t b[8];
	int st;

	ldvm__exit_encode(b, 0, 3);
	ck_assert_int_eq(ldvm__exit_decode(b, &st), 0);
	ck_assert_int_eq(st, 3);
	ldvm__exit_encode(b, 1, 9);
	ck_assert_int_eq(ldvm__exit_decode(b, &st), 0);
	ck_assert_int_eq(st, 137);
	ldvm__exit_encode(b, 0, 256);
	ck_assert_int_eq(ldvm__exit_decode(b, &st), -1);
	ldvm__exit_encode(b, 1, 0);
	ck_assert_int_eq(ldvm__exit_decode(b, &st), -1);
	ldvm__exit_encode(b, 1, 65);
	ck_assert_int_eq(ldvm__exit_decode(b, &st), -1);
	ldvm__put32(b, 2);
	ck_assert_int_eq(ldvm__exit_decode(b, &st), -1);
}
END_TEST

/* The Wayland stream's path sits beside the session's channel. */
START_TEST(wl_path)
{
	char b[64];

	ck_assert_int_eq(ldvm__wl_path("/local/domain/7/data/litedvm/vchan/12",
	    b, sizeof(b)), 0);
	ck_assert_str_eq(b, "/local/domain/7/data/litedvm/wl/12");
	ck_assert_int_eq(ldvm__wl_path("/a/vchan/x/vchan/3", b, sizeof(b)), 0);
	ck_assert_str_eq(b, "/a/vchan/x/wl/3");
	ck_assert_int_eq(ldvm__wl_path("/a/vchan/", b, sizeof(b)), -1);
	ck_assert_int_eq(ldvm__wl_path("/a/vchan/3/ring", b, sizeof(b)), -1);
	ck_assert_int_eq(ldvm__wl_path("/a/chan/3", b, sizeof(b)), -1);
	ck_assert_int_eq(ldvm__wl_path("/a/vchan/123456", b, 12), -1);
}
END_TEST

/* The command runs under waypipe server, never through a shell. */
START_TEST(wl_argv)
{
	char *argv[] = { "evince", "x; rm -rf /", NULL }, *none[] = { NULL };
	const char *want[] = { "waypipe", "--oneshot", "--no-gpu", "--socket",
	    "/tmp/.litedvm-wl.x/s", "server", "--", "evince", "x; rm -rf /" };
	char **av = ldvm__wl_argv(argv, "/tmp/.litedvm-wl.x/s");
	size_t i;

	ck_assert_ptr_nonnull(av);
	for (i = 0; i < sizeof(want) / sizeof(*want); i++)
		ck_assert_str_eq(av[i], want[i]);
	ck_assert_ptr_null(av[i]);
	free(av);
	ck_assert_ptr_null(ldvm__wl_argv(none, "/s"));
}
END_TEST

START_TEST(wl_find)
{
	ck_assert(ldvm__wl_find("/nonexistent:/bin", "sh"));
	ck_assert(ldvm__wl_find("/bin:", "sh"));
	ck_assert(!ldvm__wl_find("/nonexistent", "sh"));
	ck_assert(!ldvm__wl_find("", "sh"));
	ck_assert(!ldvm__wl_find("/bin", "no-such-program-here"));
}
END_TEST

Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_test(core, little_endian);
	tcase_add_test(core, frames_bytewise);
	tcase_add_test(core, two_frames_one_buffer);
	tcase_add_test(core, allowed);
	tcase_add_test(core, exec_round_trip);
	tcase_add_test(core, exit_status);
	tcase_add_loop_test(limits, refusals, 0,
	    sizeof(refused) / sizeof(refused[0]));
	tcase_add_test(limits, exec_refusals);
	tcase_add_test(limits, exec_user);
	tcase_add_test(limits, exec_too_many_args);
	tcase_add_test(limits, wl_path);
	tcase_add_test(limits, wl_argv);
	tcase_add_test(limits, wl_find);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}
