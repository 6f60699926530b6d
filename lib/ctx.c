/* The library context: connections to libxl and xenstore, errors, logging. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ldvm_internal.h"
#include "xlapi.h"

static const char *const errnames[] = {
	[0] = "success",
	[1] = "system error",
	[2] = "invalid argument",
	[3] = "not found",
	[4] = "Xen error",
	[5] = "timed out",
	[6] = "protocol violation",
	[7] = "out of memory",
	[8] = "already exists",
	[9] = "not permitted",
	[10] = "resource busy",
	[11] = "interrupted",
	[12] = "in use",
};

const char *
ldvm_strerror(int code)
{
	if (code > 0 || -code >= (int)(sizeof(errnames) / sizeof(errnames[0])))
		return "unknown error";
	return errnames[-code];
}

static int
xtl_to_ldvm(xentoollog_level l)
{
	if (l >= XTL_ERROR)
		return LDVM_LOG_ERROR;
	if (l >= XTL_WARN)
		return LDVM_LOG_WARN;
	if (l >= XTL_INFO)
		return LDVM_LOG_INFO;
	return LDVM_LOG_DEBUG;
}

/* libxl reports through this logger; keep its last error for our messages. */
static void
lg_vmessage(xentoollog_logger *xl, xentoollog_level level, int errnoval,
    const char *context, const char *format, va_list al)
{
	struct ldvm__logger *lg = (struct ldvm__logger *)xl;
	struct ldvm_ctx *ctx = lg->ctx;
	char msg[384];
	int n;

	if (ctx->xlquiet)
		return;
	n = vsnprintf(msg, sizeof(msg), format, al);
	if (n >= 0 && errnoval >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnoval));
	if (level >= XTL_ERROR)
		snprintf(ctx->xlmsg, sizeof(ctx->xlmsg), "%s", msg);
	if (ctx->logfn != NULL && xtl_to_ldvm(level) >= ctx->logmin) {
		char line[420];
		snprintf(line, sizeof(line), "%s: %s",
		    context != NULL ? context : "libxl", msg);
		ctx->logfn(ctx->logarg, xtl_to_ldvm(level), line);
	}
}

static void
lg_destroy(xentoollog_logger *xl)
{
	(void)xl;
}

struct ldvm_ctx *
ldvm_ctx_new(void)
{
	struct ldvm_ctx *ctx;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return NULL;
	ctx->lg.vtable.vmessage = lg_vmessage;
	ctx->lg.vtable.destroy = lg_destroy;
	ctx->lg.ctx = ctx;
	ctx->logmin = LDVM_LOG_WARN;
	return ctx;
}

/* Xen's kernels say so in sysfs, dom0's and guests' alike. */
static bool
on_xen(void)
{
	char buf[8] = "";
	FILE *f = fopen("/sys/hypervisor/type", "re");

	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	return strncmp(buf, "xen", 3) == 0 || access("/proc/xen", F_OK) == 0;
}

/* What failed, and what to do about it: most failures here are set-up. */
int
ldvm__connect_failed(struct ldvm_ctx *ctx, const char *what, int saved)
{
	if (!on_xen())
		return ldvm__err(ctx, LDVM_EXEN, "cannot connect to %s: this "
		    "system does not run on Xen (no /sys/hypervisor/type "
		    "\"xen\"): litedvm runs in a Xen dom0, and dvm-agent and "
		    "dvm-open in its guests", what);
	if (saved == EACCES || saved == EPERM)
		return ldvm__err(ctx, LDVM_EXEN, "cannot connect to %s: %s "
		    "(litedvm's dom0 tools run as root)", what,
		    strerror(saved));
	return ldvm__err(ctx, LDVM_EXEN, "cannot connect to %s: %s (is "
	    "xenstored running, and /proc/xen mounted? On Debian: systemctl "
	    "start xen)", what, strerror(saved));
}

int
ldvm__xl_need(struct ldvm_ctx *ctx)
{
	const char *why;

	/* Loaded now (xlapi.h); a guest's tools have none to load. */
	if ((why = ldvm__xl_load()) != NULL)
		return ldvm__err(ctx, LDVM_EXEN, "libxl is not available (a "
		    "guest's tool, or no Xen tools in this dom0?): %s", why);
	return 0;
}

int
ldvm_connect(struct ldvm_ctx *ctx, unsigned flags)
{
	int rc;

	if ((flags & LDVM_CONNECT_XS) && ctx->xs == NULL) {
		if ((ctx->xs = xs_open(0)) == NULL)
			return ldvm__connect_failed(ctx, "xenstore", errno);
	}
	if ((flags & LDVM_CONNECT_XL) && ctx->xl == NULL) {
		if ((rc = ldvm__xl_need(ctx)) != 0)
			return rc;
		rc = libxl_ctx_alloc(&ctx->xl, LIBXL_VERSION, 0,
		    &ctx->lg.vtable);
		if (rc != 0) {
			ctx->xl = NULL;
			if (!on_xen() || access("/dev/xen/privcmd", R_OK) != 0)
				return ldvm__connect_failed(ctx, "libxl", errno);
			return ldvm__xlerr(ctx, rc, "cannot open libxl");
		}
	}
	return 0;
}

void
ldvm__postfork_child(struct ldvm_ctx *parent)
{
	if (parent != NULL && parent->xl != NULL)
		libxl_postfork_child_noexec(parent->xl);
}

/* The background helpers (ldvm__spawn_preload) that ended: reaped. */
void
ldvm__reap_helpers(struct ldvm_ctx *ctx)
{
	size_t i, k = 0;

	for (i = 0; i < ctx->nhelpers; i++)
		if (waitpid(ctx->helpers[i], NULL, WNOHANG) == 0)
			ctx->helpers[k++] = ctx->helpers[i];
	ctx->nhelpers = k;
}

void
ldvm_ctx_free(struct ldvm_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->xl != NULL)
		libxl_ctx_free(ctx->xl);
	if (ctx->xc != NULL)
		ctx->xc_close(ctx->xc);
	if (ctx->xs != NULL)
		xs_close(ctx->xs);
	ldvm__reap_helpers(ctx);
	free(ctx->helpers);
	free(ctx);
}

const char *
ldvm_errmsg(const struct ldvm_ctx *ctx)
{
	if (ctx == NULL)
		return "out of memory";
	return ctx->err[0] != '\0' ? ctx->err : "no error";
}

void
ldvm_set_log(struct ldvm_ctx *ctx, ldvm_log_fn *fn, void *arg, int min)
{
	ctx->logfn = fn;
	ctx->logarg = arg;
	ctx->logmin = min;
}

void
ldvm_set_interrupt(struct ldvm_ctx *ctx, const volatile sig_atomic_t *flag)
{
	ctx->stop = flag;
}

void
ldvm_set_waitmask(struct ldvm_ctx *ctx, const sigset_t *mask)
{
	ctx->has_waitmask = mask != NULL;
	if (mask != NULL)
		ctx->waitmask = *mask;
}

void
ldvm__set_deadline(struct ldvm_ctx *ctx, int64_t ms)
{
	ctx->deadline_ms = ms > 0 ? ldvm__now_ms() + ms : 0;
}

int
ldvm__poll(struct ldvm_ctx *ctx, struct pollfd *fds, nfds_t n, int timeout_ms)
{
	struct timespec ts;

	if (ctx != NULL && ctx->deadline_ms > 0) {
		int64_t left = ctx->deadline_ms - ldvm__now_ms();

		if (left < 0)
			left = 0;
		if (left > INT_MAX)
			left = INT_MAX;
		if (timeout_ms < 0 || left < timeout_ms)
			timeout_ms = (int)left;
	}
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
	}
	return ppoll(fds, n, timeout_ms >= 0 ? &ts : NULL,
	    ctx != NULL && ctx->has_waitmask ? &ctx->waitmask : NULL);
}

void
ldvm__child_exec_prep_from(int first)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	closefrom(first > STDERR_FILENO ? first : STDERR_FILENO + 1);
}

void
ldvm__child_exec_prep(void)
{
	ldvm__child_exec_prep_from(STDERR_FILENO + 1);
}

int
ldvm__interrupted(struct ldvm_ctx *ctx)
{
	if (ctx->stop != NULL && *ctx->stop)
		return ldvm__err(ctx, LDVM_EINTR, "interrupted");
	if (ctx->deadline_ms > 0 && ldvm__now_ms() >= ctx->deadline_ms)
		return ldvm__err(ctx, LDVM_ETIMEDOUT, "time limit reached");
	return 0;
}

/*
 * xenstore is the caller's to connect (ldvm_connect); libxl's context is
 * made when first needed: a pooled or named dvm-run never pays for it
 * (its own xenstore connection, libxenctrl and more: some 7 ms under
 * emulation) when xenstore and libxenctrl (hyp.c) answer all it asks.
 */
int
ldvm__need(struct ldvm_ctx *ctx, unsigned flags)
{
	if ((flags & LDVM_CONNECT_XS) && ctx->xs == NULL)
		return ldvm__err(ctx, LDVM_EINVAL, "not connected to xenstore");
	if (flags & LDVM_CONNECT_XL)
		return ldvm_connect(ctx, LDVM_CONNECT_XL);
	return 0;
}

static void
verr(struct ldvm_ctx *ctx, const char *fmt, va_list ap)
{
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	ctx->syserr = 0;
}

int
ldvm__err(struct ldvm_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(ctx, fmt, ap);
	va_end(ap);
	return code;
}

int
ldvm__errno(struct ldvm_ctx *ctx, int code, const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	verr(ctx, fmt, ap);
	va_end(ap);
	n = strlen(ctx->err);
	snprintf(ctx->err + n, sizeof(ctx->err) - n, ": %s", strerror(saved));
	ctx->syserr = saved;
	if (saved == ENOMEM)
		return LDVM_ENOMEM;
	return code;
}

int
ldvm__xlerr(struct ldvm_ctx *ctx, int xlrc, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	verr(ctx, fmt, ap);
	va_end(ap);
	n = strlen(ctx->err);
	if (ctx->xlmsg[0] != '\0')
		snprintf(ctx->err + n, sizeof(ctx->err) - n, ": %s",
		    ctx->xlmsg);
	else
		snprintf(ctx->err + n, sizeof(ctx->err) - n,
		    ": libxl error %d", xlrc);
	ctx->xlmsg[0] = '\0';
	if (xlrc == ERROR_DOMAIN_NOTFOUND)
		return LDVM_ENOENT;
	if (xlrc == ERROR_NOMEM)
		return LDVM_ENOMEM;
	return LDVM_EXEN;
}

int
ldvm__first_note(struct ldvm_ctx *ctx, struct ldvm__first *f, int rc)
{
	if (rc != 0 && f->rc == 0) {
		f->rc = rc;
		f->syserr = ctx->syserr;
		memcpy(f->msg, ctx->err, sizeof(f->msg));
	}
	return rc;
}

int
ldvm__first_end(struct ldvm_ctx *ctx, const struct ldvm__first *f)
{
	if (f->rc != 0) {
		memcpy(ctx->err, f->msg, sizeof(ctx->err));
		ctx->syserr = f->syserr;
	}
	return f->rc;
}

void
ldvm__log(struct ldvm_ctx *ctx, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (ctx->logfn == NULL || level < ctx->logmin)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctx->logfn(ctx->logarg, level, line);
}

int64_t
ldvm__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
