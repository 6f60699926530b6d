/*
 * The guest tools' own xenstore client (lib/guest/xenstore.c), against a
 * scripted peer on a Unix socket (XENSTORED_PATH) standing in for
 * xenstored: its framing, and its sorting of replies from watch events.
 * A program of its own: it links the client, not libxenstore.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/io/xs_wire.h>

#define HDR sizeof(struct xsd_sockmsg)

static char sockpath[108];
static pid_t peer;

/* ---- the peer: a child that serves one connection by a script ---- */

static void
put(int fd, uint32_t type, uint32_t req, uint32_t tx, const void *body,
    uint32_t len)
{
	struct xsd_sockmsg m = { type, req, tx, len };
	char b[HDR + 256];

	/* In one write: the client sees the message whole, or none of it. */
	if (len > sizeof(b) - HDR)
		_exit(90);
	memcpy(b, &m, HDR);
	memcpy(b + HDR, body, len);
	if (write(fd, b, HDR + len) != (ssize_t)(HDR + len))
		_exit(90);
}

/* One request in: its header, and its payload in body (NUL after). */
static void
get(int fd, struct xsd_sockmsg *m, char *body)
{
	size_t got = 0;

	while (got < HDR) {
		ssize_t n = read(fd, (char *)m + got, HDR - got);

		if (n <= 0)
			_exit(91);
		got += (size_t)n;
	}
	if (m->len > XENSTORE_PAYLOAD_MAX)
		_exit(92);
	for (got = 0; got < m->len;) {
		ssize_t n = read(fd, body + got, m->len - got);

		if (n <= 0)
			_exit(93);
		got += (size_t)n;
	}
	body[m->len] = '\0';
}

/* The request must be of type with this payload (len bytes). */
static void
expect(int fd, struct xsd_sockmsg *m, uint32_t type, const char *want,
    uint32_t len)
{
	static char body[XENSTORE_PAYLOAD_MAX + 1];

	get(fd, m, body);
	if (m->type != type)
		_exit(94);
	if (m->len != len || memcmp(body, want, len) != 0)
		_exit(95);
}

static void
event(int fd, const char *path, const char *token)
{
	char b[256];
	size_t p = strlen(path) + 1, t = strlen(token) + 1;

	memcpy(b, path, p);
	memcpy(b + p, token, t);
	put(fd, XS_WATCH_EVENT, 0, 0, b, (uint32_t)(p + t));
}

/* Starts the peer running script on the connection it accepts. */
static void
serve(void (*script)(int fd))
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int l, c;

	snprintf(sockpath, sizeof(sockpath), "/tmp/xs-unit.%d", getpid());
	unlink(sockpath);
	memcpy(a.sun_path, sockpath, strlen(sockpath) + 1);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	setenv("XENSTORED_PATH", sockpath, 1);
	peer = fork();
	ck_assert_int_ge(peer, 0);
	if (peer == 0) {
		if ((c = accept(l, NULL, NULL)) < 0)
			_exit(96);
		script(c);
		/* Held open until the client closes. */
		while (read(c, sockpath, 1) > 0)
			;
		_exit(0);
	}
	close(l);
}

/* The peer followed its script to the end. */
static void
peer_done(void)
{
	int st;

	ck_assert_int_eq(waitpid(peer, &st, 0), peer);
	unlink(sockpath);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "the peer's script failed (status %d)", st);
}

static bool
readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* ---- the tests ---- */

/* A watch's first event comes before the watch's own reply. */
static void
s_event_first(int fd)
{
	struct xsd_sockmsg m;

	expect(fd, &m, XS_WATCH, "/a\0tok", 7);
	event(fd, "/a", "tok");
	put(fd, XS_WATCH, m.req_id, 0, "OK", 3);
	expect(fd, &m, XS_READ, "/a", 3);
	event(fd, "/a/b", "tok");
	put(fd, XS_READ, m.req_id, 0, "v1", 2);
}

START_TEST(event_before_reply)
{
	struct xs_handle *h;
	char **w, *v;
	unsigned len;

	serve(s_event_first);
	ck_assert_ptr_nonnull(h = xs_open(0));
	ck_assert(xs_watch(h, "/a", "tok"));
	/* Queued meanwhile: the descriptor says so at once. */
	ck_assert(readable(xs_fileno(h), 0));
	ck_assert_ptr_nonnull(v = xs_read(h, XBT_NULL, "/a", &len));
	ck_assert_uint_eq(len, 2);
	ck_assert_str_eq(v, "v1");
	free(v);
	ck_assert_ptr_nonnull(w = xs_check_watch(h));
	ck_assert_str_eq(w[XS_WATCH_PATH], "/a");
	ck_assert_str_eq(w[XS_WATCH_TOKEN], "tok");
	free(w);
	ck_assert_ptr_nonnull(w = xs_check_watch(h));
	ck_assert_str_eq(w[XS_WATCH_PATH], "/a/b");
	free(w);
	ck_assert_ptr_null(xs_check_watch(h));
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert(!readable(xs_fileno(h), 0));
	xs_close(h);
	peer_done();
}
END_TEST

/* An event that comes while the program polls wakes it. */
static void
s_idle_event(int fd)
{
	struct xsd_sockmsg m;

	expect(fd, &m, XS_WATCH, "/x\0t", 5);
	put(fd, XS_WATCH, m.req_id, 0, "OK", 3);
	/* After the client's write below: then the event. */
	expect(fd, &m, XS_WRITE, "/go\0" "1", 5);
	put(fd, XS_WRITE, m.req_id, 0, "OK", 3);
	event(fd, "/x", "t");
}

START_TEST(event_while_idle)
{
	struct xs_handle *h;
	char **w;

	serve(s_idle_event);
	ck_assert_ptr_nonnull(h = xs_open(0));
	ck_assert(xs_watch(h, "/x", "t"));
	ck_assert(!readable(xs_fileno(h), 0));
	ck_assert(xs_write(h, XBT_NULL, "/go", "1", 1));
	ck_assert(readable(xs_fileno(h), 10000));
	ck_assert_ptr_nonnull(w = xs_check_watch(h));
	ck_assert_str_eq(w[XS_WATCH_TOKEN], "t");
	free(w);
	xs_close(h);
	peer_done();
}
END_TEST

/* A reply in pieces, one byte at a time, is put together. */
static void
s_bytewise(int fd)
{
	struct xsd_sockmsg m, r;
	char out[HDR + 5];

	expect(fd, &m, XS_READ, "/slow", 6);
	r = (struct xsd_sockmsg){ XS_READ, m.req_id, 0, 5 };
	memcpy(out, &r, HDR);
	memcpy(out + HDR, "hello", 5);
	for (size_t i = 0; i < sizeof(out); i++) {
		if (write(fd, out + i, 1) != 1)
			_exit(97);
		usleep(1000);
	}
}

START_TEST(reply_in_pieces)
{
	struct xs_handle *h;
	char *v;

	serve(s_bytewise);
	ck_assert_ptr_nonnull(h = xs_open(0));
	ck_assert_ptr_nonnull(v = xs_read(h, XBT_NULL, "/slow", NULL));
	ck_assert_str_eq(v, "hello");
	free(v);
	xs_close(h);
	peer_done();
}
END_TEST

/* xenstored's errors, by name, become errno. */
static void
s_errors(int fd)
{
	struct xsd_sockmsg m;

	expect(fd, &m, XS_READ, "/none", 6);
	put(fd, XS_ERROR, m.req_id, 0, "ENOENT", 7);
	expect(fd, &m, XS_RM, "/ro", 4);
	put(fd, XS_ERROR, m.req_id, 0, "EACCES", 7);
	expect(fd, &m, XS_READ, "/odd", 5);
	put(fd, XS_ERROR, m.req_id, 0, "EWHAT", 6);
}

START_TEST(errors)
{
	struct xs_handle *h;

	serve(s_errors);
	ck_assert_ptr_nonnull(h = xs_open(0));
	ck_assert_ptr_null(xs_read(h, XBT_NULL, "/none", NULL));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(!xs_rm(h, XBT_NULL, "/ro"));
	ck_assert_int_eq(errno, EACCES);
	ck_assert_ptr_null(xs_read(h, XBT_NULL, "/odd", NULL));
	ck_assert_int_eq(errno, EINVAL);
	xs_close(h);
	peer_done();
}
END_TEST

/* A transaction's id in each header; permissions spelled by letter. */
static void
s_txn(int fd)
{
	struct xsd_sockmsg m;

	expect(fd, &m, XS_TRANSACTION_START, "", 1);
	put(fd, XS_TRANSACTION_START, m.req_id, 0, "17", 3);
	expect(fd, &m, XS_WRITE, "/t\0v", 4);
	if (m.tx_id != 17)
		_exit(98);
	put(fd, XS_WRITE, m.req_id, 17, "OK", 3);
	expect(fd, &m, XS_SET_PERMS, "/t\0n5\0r0\0b7\0w2", 15);
	if (m.tx_id != 17)
		_exit(98);
	put(fd, XS_SET_PERMS, m.req_id, 17, "OK", 3);
	expect(fd, &m, XS_TRANSACTION_END, "T", 2);
	if (m.tx_id != 17)
		_exit(98);
	put(fd, XS_ERROR, m.req_id, 17, "EAGAIN", 7);
	expect(fd, &m, XS_DIRECTORY, "/d", 3);
	put(fd, XS_DIRECTORY, m.req_id, 0, "a\0bc\0", 5);
}

START_TEST(transaction)
{
	struct xs_permissions p[4] = { { 5, XS_PERM_NONE },
	    { 0, XS_PERM_READ }, { 7, XS_PERM_READ | XS_PERM_WRITE },
	    { 2, XS_PERM_WRITE } };
	struct xs_handle *h;
	xs_transaction_t t;
	unsigned n;
	char **d;

	serve(s_txn);
	ck_assert_ptr_nonnull(h = xs_open(0));
	ck_assert_uint_eq(t = xs_transaction_start(h), 17);
	ck_assert(xs_write(h, t, "/t", "v", 1));
	ck_assert(xs_set_permissions(h, t, "/t", p, 4));
	ck_assert(!xs_transaction_end(h, t, false));
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_ptr_nonnull(d = xs_directory(h, XBT_NULL, "/d", &n));
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(d[0], "a");
	ck_assert_str_eq(d[1], "bc");
	free(d);
	xs_close(h);
	peer_done();
}
END_TEST

/* An unwatch drops that watch's events still queued, no other's. */
static void
s_unwatch(int fd)
{
	struct xsd_sockmsg m;

	expect(fd, &m, XS_UNWATCH, "/w\0k", 5);
	event(fd, "/w/x", "k");
	event(fd, "/wx", "k");
	event(fd, "/w", "other");
	put(fd, XS_UNWATCH, m.req_id, 0, "OK", 3);
}

START_TEST(unwatch_drops)
{
	struct xs_handle *h;
	char **w;

	serve(s_unwatch);
	ck_assert_ptr_nonnull(h = xs_open(0));
	ck_assert(xs_unwatch(h, "/w", "k"));
	ck_assert_ptr_nonnull(w = xs_check_watch(h));
	ck_assert_str_eq(w[XS_WATCH_PATH], "/wx");
	free(w);
	ck_assert_ptr_nonnull(w = xs_check_watch(h));
	ck_assert_str_eq(w[XS_WATCH_TOKEN], "other");
	free(w);
	ck_assert_ptr_null(xs_check_watch(h));
	ck_assert_int_eq(errno, EAGAIN);
	xs_close(h);
	peer_done();
}
END_TEST

/*
 * A peer that breaks the protocol (a length past the payload limit, a
 * reply of another type, a reply no call waits for) ends the connection:
 * every later call fails.
 */
static void
s_oversized(int fd)
{
	struct xsd_sockmsg m, r;

	expect(fd, &m, XS_READ, "/big", 5);
	r = (struct xsd_sockmsg){ XS_READ, m.req_id, 0,
	    XENSTORE_PAYLOAD_MAX + 1 };
	if (write(fd, &r, HDR) != (ssize_t)HDR)
		_exit(99);
}

static void
s_wrong_type(int fd)
{
	struct xsd_sockmsg m;

	expect(fd, &m, XS_RM, "/r", 3);
	put(fd, XS_READ, m.req_id, 0, "x", 1);
}

static void
s_unasked(int fd)
{
	put(fd, XS_READ, 1, 0, "x", 1);
}

START_TEST(protocol_breaks)
{
	struct xs_handle *h;

	serve(s_oversized);
	ck_assert_ptr_nonnull(h = xs_open(0));
	ck_assert_ptr_null(xs_read(h, XBT_NULL, "/big", NULL));
	ck_assert_int_eq(errno, E2BIG);
	ck_assert(!xs_rm(h, XBT_NULL, "/big"));
	ck_assert_int_eq(errno, EBADF);
	xs_close(h);
	peer_done();

	serve(s_wrong_type);
	ck_assert_ptr_nonnull(h = xs_open(0));
	ck_assert(!xs_rm(h, XBT_NULL, "/r"));
	ck_assert_int_eq(errno, EBADF);
	xs_close(h);
	peer_done();

	serve(s_unasked);
	ck_assert_ptr_nonnull(h = xs_open(0));
	ck_assert(readable(xs_fileno(h), 10000));
	ck_assert_ptr_null(xs_check_watch(h));
	ck_assert_int_eq(errno, EBADF);
	ck_assert_ptr_null(xs_read(h, XBT_NULL, "/a", NULL));
	xs_close(h);
	peer_done();
}
END_TEST

/* Payloads past xenstore's limit are refused before anything is sent. */
static void
s_nothing(int fd)
{
	(void)fd;
}

START_TEST(too_long)
{
	static char big[XENSTORE_PAYLOAD_MAX + 2];
	struct xs_handle *h;

	memset(big, 'a', sizeof(big) - 1);
	serve(s_nothing);
	ck_assert_ptr_nonnull(h = xs_open(0));
	ck_assert(!xs_write(h, XBT_NULL, "/p", big, sizeof(big) - 1));
	ck_assert_int_eq(errno, E2BIG);
	xs_close(h);
	peer_done();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("guest xenstore");
	TCase *tc = tcase_create("wire");
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	tcase_add_test(tc, event_before_reply);
	tcase_add_test(tc, event_while_idle);
	tcase_add_test(tc, reply_in_pieces);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, transaction);
	tcase_add_test(tc, unwatch_drops);
	tcase_add_test(tc, protocol_breaks);
	tcase_add_test(tc, too_long);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
