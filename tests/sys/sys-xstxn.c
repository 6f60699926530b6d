/*
 * The xenstore layer against the real xenstored: a transaction that
 * conflicts is retried, concurrent writers lose no update, guest-style
 * values are capped and checked, watches fire and time out.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ldvm_internal.h"
#include "systest.h"

#define BASE "/ldvm-systest"
#define WRITERS 4
#define ROUNDS 100

struct incr {
	struct xs_handle *other;   /* a second connection that interferes */
	int interfere;
	int calls;
};

static int
incr(struct ldvm_ctx *ctx, xs_transaction_t t, void *arg)
{
	struct incr *in = arg;
	unsigned long v = 0;
	char *s, buf[24];
	int rc;

	in->calls++;
	rc = ldvm__xs_read(ctx, t, BASE "/counter", &s);
	if (rc == 0) {
		if (!ldvm__parse_uint(s, strlen(s), 1000000, &v))
			v = 0;
		free(s);
	} else if (rc != LDVM_ENOENT)
		return rc;
	if (in->interfere > 0) {
		/*
		 * Someone else changes the node under our transaction, to a
		 * value it did not have: oxenstored sees no conflict in a
		 * write of the same value.
		 */
		snprintf(buf, sizeof(buf), "%d", 1000 * in->calls);
		in->interfere--;
		xs_write(in->other, XBT_NULL, BASE "/counter", buf,
		    strlen(buf));
	}
	snprintf(buf, sizeof(buf), "%lu", v + 1);
	return ldvm__xs_write(ctx, t, BASE "/counter", buf);
}

static int
writer(void)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	struct incr in = { 0 };
	int i;

	if (ctx == NULL || ldvm_connect(ctx, LDVM_CONNECT_XS) != 0)
		return 2;
	for (i = 0; i < ROUNDS; i++)
		if (ldvm__xs_txn(ctx, incr, &in) != 0)
			return 1;
	printf("# writer %d: %lu retries\n", (int)getpid(), ctx->txn_retries);
	fflush(stdout);
	ldvm_ctx_free(ctx);
	return 0;
}

int
main(void)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	struct incr in = { 0 };
	char *s = NULL, out[16];
	pid_t pids[WRITERS];
	int i, rc, ok;

	REQUIRE(ctx != NULL && ldvm_connect(ctx, LDVM_CONNECT_XS) == 0,
	    "connect to xenstore");
	ldvm__xs_rm(ctx, XBT_NULL, BASE);

	/* A conflict forced from a second connection: retried, not lost. */
	in.other = xs_open(0);
	in.interfere = 2;
	rc = ldvm__xs_txn(ctx, incr, &in);
	CHECK(rc == 0, "transaction commits after conflicts (%s)",
	    ldvm_errmsg(ctx));
	CHECK(in.calls == 3 && ctx->txn_retries == 2,
	    "conflicting transaction ran 3 times, 2 retries (ran %d, %lu)",
	    in.calls, ctx->txn_retries);
	rc = ldvm__xs_read(ctx, XBT_NULL, BASE "/counter", &s);
	CHECK(rc == 0 && strcmp(s, "2001") == 0,
	    "result built on the other writer's value (%s)", s ? s : "-");
	free(s);
	xs_close(in.other);

	/* Endless interference: the retry bound ends it with EAGAIN. */
	in.other = xs_open(0);
	in.interfere = 1000;
	rc = ldvm__xs_txn(ctx, incr, &in);
	CHECK(rc == LDVM_EAGAIN, "livelocked transaction gives up (%s)",
	    ldvm_errmsg(ctx));
	xs_close(in.other);

	/* Concurrent writers lose no increment. */
	ldvm__xs_write(ctx, XBT_NULL, BASE "/counter", "0");
	for (i = 0; i < WRITERS; i++) {
		fflush(stdout);
		if ((pids[i] = fork()) == 0)
			_exit(writer());
	}
	ok = 1;
	for (i = 0; i < WRITERS; i++) {
		int st;

		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			ok = 0;
	}
	CHECK(ok, "%d concurrent writers finished", WRITERS);
	s = NULL;
	rc = ldvm__xs_read(ctx, XBT_NULL, BASE "/counter", &s);
	CHECK(rc == 0 && atoi(s) == WRITERS * ROUNDS,
	    "counter is %d after %d concurrent increments (%s)",
	    WRITERS * ROUNDS, WRITERS * ROUNDS, s ? s : "-");
	free(s);

	/* Values a guest may write: capped, checked, read once. */
	ldvm__xs_write(ctx, XBT_NULL, BASE "/num", "123");
	rc = ldvm__xs_read_untrusted(ctx, XBT_NULL, BASE "/num", 8,
	    LDVM_V_UINT, out, sizeof(out));
	CHECK(rc == 0 && strcmp(out, "123") == 0, "well-formed number read");
	ldvm__xs_write(ctx, XBT_NULL, BASE "/num", "12a");
	rc = ldvm__xs_read_untrusted(ctx, XBT_NULL, BASE "/num", 8,
	    LDVM_V_UINT, out, sizeof(out));
	CHECK(rc == LDVM_EPROTO, "malformed number refused (%s)",
	    ldvm_errmsg(ctx));
	ldvm__xs_write(ctx, XBT_NULL, BASE "/num", "123456789");
	rc = ldvm__xs_read_untrusted(ctx, XBT_NULL, BASE "/num", 8,
	    LDVM_V_UINT, out, sizeof(out));
	CHECK(rc == LDVM_EPROTO, "oversized value refused (%s)",
	    ldvm_errmsg(ctx));
	xs_write(ctx->xs, XBT_NULL, BASE "/name", "ab\0cd", 5);
	rc = ldvm__xs_read_untrusted(ctx, XBT_NULL, BASE "/name", 8,
	    LDVM_V_NAME, out, sizeof(out));
	CHECK(rc == LDVM_EPROTO, "embedded NUL refused");
	ldvm__xs_write(ctx, XBT_NULL, BASE "/name", "../x");
	rc = ldvm__xs_read_untrusted(ctx, XBT_NULL, BASE "/name", 8,
	    LDVM_V_NAME, out, sizeof(out));
	CHECK(rc == LDVM_EPROTO, "path-like name refused");
	rc = ldvm__xs_read_untrusted(ctx, XBT_NULL, BASE "/absent", 8,
	    LDVM_V_NAME, out, sizeof(out));
	CHECK(rc == LDVM_ENOENT, "absent value is ENOENT");

	/* Watches: the registration event, a real change, then silence. */
	rc = ldvm__xs_watch(ctx, BASE "/w", "tok");
	CHECK(rc == 0, "watch registered");
	rc = ldvm__xs_wait_watch(ctx, 2000, NULL, 0, out, sizeof(out));
	CHECK(rc == 0 && strcmp(out, "tok") == 0, "initial watch event");
	ldvm__xs_write(ctx, XBT_NULL, BASE "/w", "x");
	rc = ldvm__xs_wait_watch(ctx, 2000, NULL, 0, NULL, 0);
	CHECK(rc == 0, "watch fires on write");
	rc = ldvm__xs_wait_watch(ctx, 200, NULL, 0, NULL, 0);
	CHECK(rc == LDVM_ETIMEDOUT, "no event: wait times out");
	ldvm__xs_unwatch(ctx, BASE "/w", "tok");

	ldvm__xs_rm(ctx, XBT_NULL, BASE);
	CHECK(xs_read(ctx->xs, XBT_NULL, BASE, NULL) == NULL,
	    "test nodes removed");
	ldvm_ctx_free(ctx);
	DONE();
}
