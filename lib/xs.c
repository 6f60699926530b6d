/*
 * The xenstore layer: path building, transactions retried on conflict,
 * watches, and reads of values a guest may have written.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ldvm_internal.h"

/* A transaction that keeps conflicting this often is a livelock, not luck. */
#define TXN_TRIES 64

/* What ldvm__path says of buf, formatted in n bytes (< 0: failed). */
static int
path_ok(struct ldvm_ctx *ctx, const char *buf, size_t size, int n)
{
	if (n < 0 || (size_t)n >= size)
		return ldvm__err(ctx, LDVM_EINVAL, "xenstore path too long");
	if (!ldvm__valid_xs_path(buf))
		return ldvm__err(ctx, LDVM_EINVAL,
		    "invalid xenstore path '%s'", buf);
	return 0;
}

int
ldvm__path(struct ldvm_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return path_ok(ctx, buf, size, n);
}

int
ldvm__area_path(struct ldvm_ctx *ctx, char *buf, size_t size, uint32_t domid,
    const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(buf, size, LDVM__AREA_PRE "%u" LDVM__AREA_POST, domid);
	if (fmt != NULL && n >= 0 && (size_t)n < size) {
		va_start(ap, fmt);
		m = vsnprintf(buf + n, size - (size_t)n, fmt, ap);
		va_end(ap);
		n = m < 0 ? m : n + m;
	}
	return path_ok(ctx, buf, size, n);
}

static void
backoff(unsigned attempt)
{
	/*
	 * Spread colliding writers apart: 0.1 ms to ~3 ms, at random, and
	 * without rand(3)'s state, which is the caller's.
	 */
	uint32_t span = 1 + (attempt < 5 ? 1u << attempt : 32u);
	struct timespec ts = { 0, 100000L * (1 + arc4random_uniform(span)) };

	nanosleep(&ts, NULL);
}

int
ldvm__xs_txn(struct ldvm_ctx *ctx, ldvm__txn_fn *fn, void *arg)
{
	unsigned attempt;
	int rc;

	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS)) != 0)
		return rc;
	for (attempt = 0; attempt < TXN_TRIES; attempt++) {
		xs_transaction_t t = xs_transaction_start(ctx->xs);

		if (t == XBT_NULL) {
			if (errno == EAGAIN) {
				backoff(attempt);
				continue;
			}
			return ldvm__errno(ctx, LDVM_EXEN,
			    "xenstore transaction start");
		}
		rc = fn(ctx, t, arg);
		if (rc != 0) {
			int saved = errno;

			xs_transaction_end(ctx->xs, t, true);
			/*
			 * A read inside a doomed transaction may say EAGAIN;
			 * an rm in one says EIO when its copy of a parent
			 * names a child that another writer removed since
			 * (xenstored's "can't find child").
			 */
			if ((rc == LDVM_EAGAIN && saved == EAGAIN) ||
			    (rc == LDVM_EXEN && saved == EIO)) {
				ctx->txn_retries++;
				backoff(attempt);
				continue;
			}
			return rc;
		}
		if (xs_transaction_end(ctx->xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return ldvm__errno(ctx, LDVM_EXEN,
			    "xenstore transaction commit");
		ctx->txn_retries++;
		backoff(attempt);
	}
	return ldvm__err(ctx, LDVM_EAGAIN,
	    "xenstore transaction still conflicting after %d tries", TXN_TRIES);
}

static int
xs_fail(struct ldvm_ctx *ctx, const char *what, const char *path)
{
	if (errno == EAGAIN)
		return ldvm__errno(ctx, LDVM_EAGAIN, "xenstore %s %s", what,
		    path);
	if (errno == ENOENT)
		return ldvm__errno(ctx, LDVM_ENOENT, "xenstore %s %s", what,
		    path);
	return ldvm__errno(ctx, LDVM_EXEN, "xenstore %s %s", what, path);
}

int
ldvm__xs_read(struct ldvm_ctx *ctx, xs_transaction_t t, const char *path,
    char **out)
{
	unsigned int len;
	char *v;

	if ((v = xs_read(ctx->xs, t, path, &len)) == NULL)
		return xs_fail(ctx, "read", path);
	if (strlen(v) != len) {
		free(v);
		return ldvm__err(ctx, LDVM_EPROTO,
		    "xenstore value at %s contains NUL", path);
	}
	*out = v;
	return 0;
}

int
ldvm__xs_read_untrusted(struct ldvm_ctx *ctx, xs_transaction_t t,
    const char *path, size_t cap, enum ldvm__vkind kind, char *out,
    size_t outsz)
{
	unsigned long dummy;
	unsigned int len;
	bool ok = false;
	char *v;

	if ((v = xs_read(ctx->xs, t, path, &len)) == NULL)
		return xs_fail(ctx, "read", path);
	if (len > cap || len >= outsz) {
		free(v);
		return ldvm__err(ctx, LDVM_EPROTO,
		    "value at %s too long (%u bytes, limit %zu)", path, len,
		    cap < outsz ? cap : outsz - 1);
	}
	switch (kind) {
	case LDVM_V_UINT:
		ok = ldvm__parse_uint(v, len, ~0UL, &dummy);
		break;
	case LDVM_V_NAME:
		ok = strlen(v) == len && ldvm__valid_name(v, cap);
		break;
	case LDVM_V_TEXT:
		ok = ldvm__valid_text(v, len);
		break;
	}
	if (!ok) {
		free(v);
		return ldvm__err(ctx, LDVM_EPROTO, "malformed value at %s",
		    path);
	}
	memcpy(out, v, len);
	out[len] = '\0';
	free(v);
	return 0;
}

int
ldvm__xs_write(struct ldvm_ctx *ctx, xs_transaction_t t, const char *path,
    const char *val)
{
	if (!xs_write(ctx->xs, t, path, val, strlen(val)))
		return xs_fail(ctx, "write", path);
	return 0;
}

int
ldvm__xs_rm(struct ldvm_ctx *ctx, xs_transaction_t t, const char *path)
{
	if (!xs_rm(ctx->xs, t, path) && errno != ENOENT)
		return xs_fail(ctx, "rm", path);
	return 0;
}

int
ldvm__xs_dom0_only(struct ldvm_ctx *ctx, xs_transaction_t t, const char *path)
{
	struct xs_permissions perm = { .id = 0, .perms = XS_PERM_NONE };

	if (!xs_set_permissions(ctx->xs, t, path, &perm, 1))
		return xs_fail(ctx, "set permissions on", path);
	return 0;
}

int
ldvm__xs_watch(struct ldvm_ctx *ctx, const char *path, const char *token)
{
	int rc;

	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS)) != 0)
		return rc;
	if (!xs_watch(ctx->xs, path, token))
		return xs_fail(ctx, "watch", path);
	return 0;
}

int
ldvm__xs_unwatch(struct ldvm_ctx *ctx, const char *path, const char *token)
{
	if (!xs_unwatch(ctx->xs, path, token) && errno != ENOENT)
		return xs_fail(ctx, "unwatch", path);
	return 0;
}

int
ldvm__xs_wait_watch(struct ldvm_ctx *ctx, int timeout_ms, char *path,
    size_t psize, char *token, size_t tsize)
{
	int64_t deadline = timeout_ms < 0 ? -1 : ldvm__now_ms() + timeout_ms;
	struct pollfd pfd;
	char **vec;

	pfd.fd = xs_fileno(ctx->xs);
	pfd.events = POLLIN;
	for (;;) {
		int wait, n, rc;

		if ((rc = ldvm__interrupted(ctx)) != 0)
			return rc;
		/* xs_check_watch never blocks; poll only when it has nothing. */
		if ((vec = xs_check_watch(ctx->xs)) != NULL)
			break;
		if (errno != EAGAIN)
			return ldvm__errno(ctx, LDVM_EXEN, "xenstore watch");
		wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - ldvm__now_ms();

			if (left <= 0)
				return ldvm__err(ctx, LDVM_ETIMEDOUT,
				    "timed out waiting for xenstore");
			wait = (int)left;
		}
		n = ldvm__poll(ctx, &pfd, 1, wait);
		if (n < 0 && errno != EINTR)
			return ldvm__errno(ctx, LDVM_ESYS, "poll");
	}
	if (path != NULL)
		snprintf(path, psize, "%s", vec[XS_WATCH_PATH]);
	if (token != NULL)
		snprintf(token, tsize, "%s", vec[XS_WATCH_TOKEN]);
	free(vec);
	return 0;
}

int
ldvm__xs_exists(struct ldvm_ctx *ctx, xs_transaction_t t, const char *path)
{
	char *v;

	if ((v = xs_read(ctx->xs, t, path, NULL)) != NULL) {
		free(v);
		return 1;
	}
	return errno == EAGAIN ? ldvm__errno(ctx, LDVM_EAGAIN, "xenstore "
	    "read %s", path) : 0;
}

int
ldvm__xs_list(struct ldvm_ctx *ctx, xs_transaction_t t, const char *path,
    char ***names, unsigned *n)
{
	*n = 0;
	if ((*names = xs_directory(ctx->xs, t, path, n)) != NULL)
		return 0;
	*n = 0;
	return errno == ENOENT ? 0 : ldvm__errno(ctx, errno == EAGAIN ?
	    LDVM_EAGAIN : LDVM_EXEN, "xenstore list %s", path);
}

char **
ldvm__xs_dir(struct ldvm_ctx *ctx, const char *path, unsigned *n)
{
	return xs_directory(ctx->xs, XBT_NULL, path, n);
}

int
ldvm__xs_fd(struct ldvm_ctx *ctx)
{
	return xs_fileno(ctx->xs);
}

char **
ldvm__xs_next_watch(struct ldvm_ctx *ctx)
{
	return xs_check_watch(ctx->xs);
}

void
ldvm__xs_drain_watches(struct ldvm_ctx *ctx)
{
	char **w;

	while ((w = ldvm__xs_next_watch(ctx)) != NULL)
		free(w);
}

char *
ldvm__xs_take(struct ldvm_ctx *ctx, const char *path, unsigned *len)
{
	char *v;

	if ((v = xs_read(ctx->xs, XBT_NULL, path, len)) != NULL)
		xs_rm(ctx->xs, XBT_NULL, path);
	return v;
}
