/*
 * Internal interfaces of liblitedvm.  Everything here is hidden from the
 * shared library's symbol table; the unit and system tests link the static
 * archive to reach it.
 */
#ifndef LDVM_INTERNAL_H
#define LDVM_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxl.h>
#include <xenstore.h>

#include "litedvm.h"

#define LDVM_HIDDEN __attribute__((visibility("hidden")))

#ifndef LDVM_SYSCONFDIR
#define LDVM_SYSCONFDIR "/etc"
#endif

/* xenstore: the stricter of C xenstored and oxenstored limits. */
#define LDVM_XS_PATH_MAX 1024
#define LDVM_XS_VALUE_MAX 2048

struct ldvm__logger {
	xentoollog_logger vtable;   /* must be first: libxl casts to it */
	struct ldvm_ctx *ctx;
};

struct ldvm_ctx {
	libxl_ctx *xl;
	struct xs_handle *xs;
	struct ldvm__logger lg;
	char err[512];
	char xlmsg[384];            /* last error libxl logged */
	ldvm_log_fn *logfn;
	void *logarg;
	int logmin;
	unsigned long txn_retries;  /* statistics, for tests */
	const volatile int *stop;   /* see ldvm_set_interrupt */
};

struct ldvm_template {
	char name[LDVM_NAME_MAX + 1];
	char *path;
	libxl_domain_config cfg;
	bool dispvm;
	int preload;
	uint64_t preload_memkb;
	int ready_timeout;
};

/* ---- errors (ctx.c) ---- */
/* Sets ctx's message and returns code. */
LDVM_HIDDEN int ldvm__err(struct ldvm_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, with ": strerror(errno)" appended. */
LDVM_HIDDEN int ldvm__errno(struct ldvm_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, for a libxl return code, with what libxl logged appended. */
LDVM_HIDDEN int ldvm__xlerr(struct ldvm_ctx *ctx, int xlrc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
LDVM_HIDDEN void ldvm__log(struct ldvm_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
LDVM_HIDDEN int ldvm__need(struct ldvm_ctx *ctx, unsigned flags);
/* LDVM_EINTR with a message when the interrupt flag is set, else 0. */
LDVM_HIDDEN int ldvm__interrupted(struct ldvm_ctx *ctx);

/* ---- validation of untrusted strings (validate.c) ---- */
/* A name: [A-Za-z0-9][A-Za-z0-9_-]*, at most max bytes. */
LDVM_HIDDEN bool ldvm__valid_name(const char *s, size_t max);
/* Strict decimal: no sign, no leading zeros, no spaces, <= max. */
LDVM_HIDDEN bool ldvm__parse_uint(const char *s, size_t len, unsigned long max,
    unsigned long *out);
/* Printable ASCII only (0x20-0x7e), exactly len bytes, no NUL inside. */
LDVM_HIDDEN bool ldvm__valid_text(const char *s, size_t len);
/* Absolute xenstore path: [A-Za-z0-9_@/-], no "//", no trailing '/'. */
LDVM_HIDDEN bool ldvm__valid_xs_path(const char *s);

/* ---- xenstore (xs.c) ---- */
/* Formats a path into buf and validates it; LDVM_EINVAL if it is not one. */
LDVM_HIDDEN int ldvm__path(struct ldvm_ctx *ctx, char *buf, size_t size,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

typedef int ldvm__txn_fn(struct ldvm_ctx *ctx, xs_transaction_t t, void *arg);
/*
 * Runs fn inside a transaction and commits; the whole transaction is run
 * again on EAGAIN (a conflicting writer), up to a bound.  fn returns 0 to
 * commit, or a negative code to abort with that code.
 */
LDVM_HIDDEN int ldvm__xs_txn(struct ldvm_ctx *ctx, ldvm__txn_fn *fn, void *arg);

/* Value kinds for ldvm__xs_read_untrusted. */
enum ldvm__vkind { LDVM_V_UINT, LDVM_V_NAME, LDVM_V_TEXT };
/*
 * Reads a value a guest may have written: at most cap bytes, checked to be
 * of the given kind, copied into out (size outsz, NUL-terminated).
 * LDVM_ENOENT when absent, LDVM_EPROTO when too long or malformed.
 */
LDVM_HIDDEN int ldvm__xs_read_untrusted(struct ldvm_ctx *ctx, xs_transaction_t t,
    const char *path, size_t cap, enum ldvm__vkind kind, char *out,
    size_t outsz);
/* Reads a trusted (dom0-owned) value; the caller frees *out. */
LDVM_HIDDEN int ldvm__xs_read(struct ldvm_ctx *ctx, xs_transaction_t t,
    const char *path, char **out);
LDVM_HIDDEN int ldvm__xs_write(struct ldvm_ctx *ctx, xs_transaction_t t,
    const char *path, const char *val);
/* Removes a subtree; absent is success. */
LDVM_HIDDEN int ldvm__xs_rm(struct ldvm_ctx *ctx, xs_transaction_t t,
    const char *path);
/* Sets a node readable and writable only by dom0. */
LDVM_HIDDEN int ldvm__xs_dom0_only(struct ldvm_ctx *ctx, xs_transaction_t t,
    const char *path);
/* Watches; events are collected with ldvm__xs_wait_watch. */
LDVM_HIDDEN int ldvm__xs_watch(struct ldvm_ctx *ctx, const char *path,
    const char *token);
LDVM_HIDDEN int ldvm__xs_unwatch(struct ldvm_ctx *ctx, const char *path,
    const char *token);
/*
 * Waits up to timeout_ms (-1: forever) for one watch event; on success
 * copies the fired path into path (size psize) if path is not NULL.
 * LDVM_ETIMEDOUT when nothing fired.
 */
LDVM_HIDDEN int ldvm__xs_wait_watch(struct ldvm_ctx *ctx, int timeout_ms,
    char *path, size_t psize, char *token, size_t tsize);

/* ---- domains (domain.c) ---- */
/* Creates a paused domain from a complete config; see ldvm_domain_create. */
LDVM_HIDDEN int ldvm__domain_create_cfg(struct ldvm_ctx *ctx,
    libxl_domain_config *cfg, uint32_t *domid);

/* ---- time ---- */
LDVM_HIDDEN int64_t ldvm__now_ms(void);

#endif /* LDVM_INTERNAL_H */
