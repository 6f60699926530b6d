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
#include <poll.h>
#include <sys/stat.h>
#include <sys/types.h>

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

/* The size of a context's error message. */
#define LDVM__ERR_MAX 512

struct ldvm__logger {
	xentoollog_logger vtable;   /* must be first: libxl casts to it */
	struct ldvm_ctx *ctx;
};

struct xc_interface_core;

struct ldvm_ctx {
	libxl_ctx *xl;
	/* libxenctrl, opened by hyp.c when first needed, and its closer. */
	struct xc_interface_core *xc;
	int (*xc_close)(struct xc_interface_core *);
	struct xs_handle *xs;
	struct ldvm__logger lg;
	char err[LDVM__ERR_MAX];
	int syserr;                 /* errno behind err (ldvm__errno), or 0 */
	char xlmsg[384];            /* last error libxl logged */
	bool xlquiet;               /* libxl's messages dropped: its device
	                               lists in ldvm__disk_user, ldvm__mac_in_use */
	ldvm_log_fn *logfn;
	void *logarg;
	int logmin;
	unsigned long txn_retries;  /* statistics, for tests */
	const volatile sig_atomic_t *stop; /* see ldvm_set_interrupt */
	sigset_t waitmask;          /* see ldvm_set_waitmask */
	bool has_waitmask;
	ldvm_journal_fn *journalfn; /* see ldvm_set_journal */
	void *journalarg;
	int64_t deadline_ms;        /* ldvm__now_ms past which waits end; 0 */
	unsigned open_limit_s;      /* dvm-opend's open_timeout; 0: none */
	pid_t *helpers;             /* dvm-preloads started, not yet reaped */
	size_t nhelpers;
	ldvm_builtin_fn *builtin;   /* see ldvm_agent_builtin */
};

struct ldvm_template {
	char name[LDVM_NAME_MAX + 1];
	char *path;
	char version[17];           /* hash of config and volume identities */
	uint64_t texth;             /* the configuration text's part of it */
	libxl_domain_config cfg;
	bool dispvm;
	int preload;
	uint64_t preload_memkb;
	int preload_delay;          /* s after a claim before a refill */
	int ready_timeout;
	unsigned run_timeout;       /* litedvm_timeout: dvm-run's default */
	char **open_argv;           /* dvm-open's opener, "%f" the file */
	char open_wait[8];          /* "exit" or "close" */
	bool open_terminal;         /* the opener runs on the requester's
	                               terminal (litedvm_open_terminal) */
	bool open_wayland;          /* its windows go to the requester's
	                               Wayland session (litedvm_open_wayland) */
	uint64_t volatile_cap;      /* litedvm_volatile = "ram": bytes per
	                               writable volume; 0: on disk */
};

/* ---- errors (ctx.c) ---- */
/* Sets ctx's message and returns code. */
LDVM_HIDDEN int ldvm__err(struct ldvm_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, with ": strerror(errno)" appended; ctx->syserr keeps errno. */
LDVM_HIDDEN int ldvm__errno(struct ldvm_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, for a libxl return code, with what libxl logged appended. */
LDVM_HIDDEN int ldvm__xlerr(struct ldvm_ctx *ctx, int xlrc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
LDVM_HIDDEN void ldvm__log(struct ldvm_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * The first error wins: work that goes on past a failure (a teardown, a
 * sweep, cleanup after an error) notes each result in a struct
 * ldvm__first initialised to { 0 }; the first failure's code, message and
 * errno are kept, and ldvm__first_end puts them back over later ones.
 */
struct ldvm__first {
	int rc;
	int syserr;
	char msg[LDVM__ERR_MAX];
};
/* Keeps rc and ctx's message when rc is the first failure; returns rc. */
LDVM_HIDDEN int ldvm__first_note(struct ldvm_ctx *ctx, struct ldvm__first *f,
    int rc);
/* The first failure's code, its message in ctx again; 0 when none. */
LDVM_HIDDEN int ldvm__first_end(struct ldvm_ctx *ctx,
    const struct ldvm__first *f);
/* Connected as flags (LDVM_CONNECT_*) say: now, if not yet. */
LDVM_HIDDEN int ldvm__need(struct ldvm_ctx *ctx, unsigned flags);
/* LDVM_EXEN with the reason connecting to what failed (errno saved). */
/*
 * libxl and libxlutil loaded (lib/xlapi.h), before a first call to them
 * where no libxl context says they are: 0, or LDVM_EXEN with a message.
 */
LDVM_HIDDEN int ldvm__xl_need(struct ldvm_ctx *ctx);
LDVM_HIDDEN int ldvm__connect_failed(struct ldvm_ctx *ctx, const char *what,
    int saved);

/* ---- hyp.c: the hypervisor through libxenctrl ---- */
#define LDVM__UUID_LEN LIBXL_UUID_FMTLEN       /* 8-4-4-4-12 hex digits */
/* What the hypervisor says of a domain (as libxl_domain_info would). */
struct ldvm__dominfo {
	bool paused, shutdown, dying;
	uint64_t memkb;         /* current memory */
	uint64_t maxkb;         /* the hypervisor's maximum */
	uint64_t cpu_ns;        /* CPU time of all its vCPUs so far */
	char uuid[LDVM__UUID_LEN + 1];  /* its handle, as libxl prints it */
};
/* Whether libxenctrl is linked in: false in a guest's tools. */
LDVM_HIDDEN bool ldvm__has_xc(void);
/*
 * 0 and *out when domid exists, LDVM_ENOENT (no message) when not, or
 * another error with its message.
 */
LDVM_HIDDEN int ldvm__hyp_info(struct ldvm_ctx *ctx, uint32_t domid,
    struct ldvm__dominfo *out);
/* Pauses (pause) or unpauses domid. */
LDVM_HIDDEN int ldvm__hyp_pause(struct ldvm_ctx *ctx, uint32_t domid,
    bool pause);
/*
 * Whether a domain that used cpu1_ns - cpu0_ns of CPU time in span_ms used
 * at most permille thousandths of one CPU (false when span_ms <= 0 or the
 * count went back).
 */
LDVM_HIDDEN bool ldvm__cpu_quiet(uint64_t cpu0_ns, uint64_t cpu1_ns,
    int64_t span_ms, unsigned permille);
/* LDVM_EINTR with a message when the interrupt flag is set, else 0. */
LDVM_HIDDEN int ldvm__interrupted(struct ldvm_ctx *ctx);
/*
 * From now on, ms from now, ldvm__interrupted says LDVM_ETIMEDOUT and
 * ldvm__poll waits no longer than that; 0 lifts the limit.
 */
LDVM_HIDDEN void ldvm__set_deadline(struct ldvm_ctx *ctx, int64_t ms);
/*
 * poll(2) with the mask of ldvm_set_waitmask, so a signal that arrived
 * since ldvm__interrupted looked is taken here and ends the wait (-1,
 * EINTR).  timeout_ms < 0 waits for ever.
 */
LDVM_HIDDEN int ldvm__poll(struct ldvm_ctx *ctx, struct pollfd *fds,
    nfds_t n, int timeout_ms);
/*
 * In a child of fork that goes on without exec and makes a context of its
 * own: what libxl requires of it (libxl_postfork_child_noexec) for the
 * parent's libxl context, which the child must then neither use nor free.
 */
LDVM_HIDDEN void ldvm__postfork_child(struct ldvm_ctx *parent);
/* In a child about to exec: empty signal mask, descriptors 0-2 only. */
LDVM_HIDDEN void ldvm__child_exec_prep(void);
/* The same, keeping the descriptors below first (at least 3). */
LDVM_HIDDEN void ldvm__child_exec_prep_from(int first);

/* ---- configuration (config.c) ---- */
LDVM_HIDDEN int ldvm__conf_get(struct ldvm_ctx *ctx, const char *key,
    char *buf, size_t size);
/* The path of template name's configuration into path[PATH_MAX]. */
LDVM_HIDDEN int ldvm__template_path(struct ldvm_ctx *ctx, const char *name,
    char *path);
/* Template name's configuration text, read whole (*text is to be freed). */
LDVM_HIDDEN int ldvm__template_text(struct ldvm_ctx *ctx, const char *name,
    char **text, size_t *len);
/*
 * A template's version (ldvm_template_version) in steps, for a claim that
 * does not load the template: the hash of its configuration text, then of
 * the identity of each file it boots from, in order (NULL or "": none),
 * formatted as 16 hex digits.
 */
LDVM_HIDDEN uint64_t ldvm__version_text(const char *text, size_t len);
LDVM_HIDDEN uint64_t ldvm__version_file(uint64_t h, const char *path);
LDVM_HIDDEN void ldvm__version_format(uint64_t h, char out[17]);
/* The files the version covers: the kernel, the ramdisk, each disk. */
LDVM_HIDDEN int ldvm__template_nfiles(const struct ldvm_template *t);
LDVM_HIDDEN const char *ldvm__template_file(const struct ldvm_template *t,
    int i);
/*
 * t's version as its files are now: its text's hash (as loaded) folded
 * with each file's identity; it differs from t->version once one changed.
 */
LDVM_HIDDEN void ldvm__template_version_now(const struct ldvm_template *t,
    char out[17]);

/* ---- templates kept loaded (tcache.c) ---- */
#define LDVM__TCACHE_N 8
/*
 * Templates a long-running tool (dvm-opend) loaded, kept while each is
 * current: its configuration file's identity (device, inode, size,
 * modification and change times) as it was before the load, and its
 * version (ldvm_template_version) the same now.  Zeroed: empty.
 */
struct ldvm__tcache {
	struct ldvm__tcache_ent {
		struct ldvm_template *t;
		struct stat id;
	} e[LDVM__TCACHE_N];
	unsigned next;                  /* the entry replaced next when full */
};
/*
 * Template name, from the cache if it is current, else loaded (and kept,
 * when it could be); *out belongs to the cache, valid until its next use.
 */
LDVM_HIDDEN int ldvm__tcache_get(struct ldvm_ctx *ctx, struct ldvm__tcache *c,
    const char *name, const struct ldvm_template **out);
LDVM_HIDDEN void ldvm__tcache_clear(struct ldvm__tcache *c);

/* ---- a pool member's entry in its pool (poolent.c) ---- */
#define LDVM__POOLENT_MAX 2048          /* the value's bytes, at most */
#define LDVM__POOLENT_FILES 34          /* files it names, at most */
/*
 * What a claim needs that is not in the pool's listing, read at once: the
 * member's domain, volume driver, creation time and version, and of the
 * template it was made from, the memory to give back at the claim (0:
 * none), its refill delay, its dvm-run time limit and the files its
 * version covers.
 */
struct ldvm__poolent {
	char version[17];
	char domid[11];
	char uuid[LDVM__UUID_LEN + 1];
	char driver[16];
	char created[21];
	uint64_t target_kb;
	unsigned delay;
	unsigned timeout;
	int nfiles;
	const char *files[LDVM__POOLENT_FILES];     /* into buf; "": none */
	char buf[LDVM__POOLENT_MAX];
};
/*
 * The entry of member d (domain domid of UUID uuid, created at created) of
 * t into buf; -1 when it cannot be written (a UUID not as libxl prints
 * one, a file name with a newline, too many or too long):
 * the member then has the empty entry, claimed only by a caller that
 * loaded the template.
 */
LDVM_HIDDEN int ldvm__poolent_encode(const struct ldvm_template *t,
    uint32_t domid, const char *uuid, const char *driver, const char *created,
    char *buf, size_t size);
/* Parses an entry; -1 when it is not one (the empty entry included). */
LDVM_HIDDEN int ldvm__poolent_decode(const char *s, size_t len,
    struct ldvm__poolent *e);

/* ---- validation of untrusted strings (validate.c) ---- */
/* A UUID as libxl prints one: 8-4-4-4-12 lower-case hex digits. */
LDVM_HIDDEN bool ldvm__valid_uuid(const char *s);
/* A name: [A-Za-z0-9][A-Za-z0-9_-]*, at most max bytes. */
LDVM_HIDDEN bool ldvm__valid_name(const char *s, size_t max);
/* Strict decimal: no sign, no leading zeros, no spaces, <= max. */
LDVM_HIDDEN bool ldvm__parse_uint(const char *s, size_t len, unsigned long max,
    unsigned long *out);
/* Printable ASCII only (0x20-0x7e), exactly len bytes, no NUL inside. */
LDVM_HIDDEN bool ldvm__valid_text(const char *s, size_t len);
/* A user name: [A-Za-z0-9_][A-Za-z0-9_.-]*, at most LDVM_USER_MAX. */
LDVM_HIDDEN bool ldvm__valid_user(const char *s);
/* Absolute xenstore path: [A-Za-z0-9_@/-], no "//", no trailing '/'. */
LDVM_HIDDEN bool ldvm__valid_xs_path(const char *s);
/*
 * Splits a volume's last path component, "disp<N>-<vdev><suffix>", into
 * the disposable's name and the vdev; false when it is not of that form.
 */
LDVM_HIDDEN bool ldvm__vol_leaf(const char *leaf, const char *suffix,
    char *disp, size_t dsize, char *vdev, size_t vsize);

/* ---- the lifecycle journal (journal.c) ---- */
/* "EVENT name=NAME" and, with fmt, the fields it formats. */
LDVM_HIDDEN void ldvm__journal(struct ldvm_ctx *ctx, const char *event,
    const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* EVENT with the fields of name's record (template, domid, owner, driver,
 * lifetime) and extra ("key=value ...") when not NULL. */
LDVM_HIDDEN void ldvm__journal_rec(struct ldvm_ctx *ctx, const char *event,
    const char *name, const char *extra);
/*
 * ldvm__journal_rec for d, from what d holds when it was claimed (no
 * reads), else from its record.
 */
LDVM_HIDDEN void ldvm__journal_disp(struct ldvm_ctx *ctx, const char *event,
    const struct ldvm_disp *d);
/* The record's fields as ldvm__journal_rec writes them, into buf. */
LDVM_HIDDEN void ldvm__journal_fields(struct ldvm_ctx *ctx, const char *name,
    char *buf, size_t size);
/* s as a quoted field value, cut to size. */
LDVM_HIDDEN void ldvm__journal_text(char *out, size_t size, const char *s);

/* ---- output for dom0's terminal (escape.c) ---- */
/*
 * Replaces, in place, every byte but printable ASCII, tab, newline,
 * carriage return and backspace with '_'.
 */
LDVM_HIDDEN void ldvm__filter_escapes(uint8_t *p, size_t n);

/* ---- xenstore (xs.c) ---- */
/* Formats a path into buf and validates it; LDVM_EINVAL if it is not one. */
LDVM_HIDDEN int ldvm__path(struct ldvm_ctx *ctx, char *buf, size_t size,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A domain's own area of litedvm's: LDVM__AREA_PRE <domid> LDVM__AREA_POST. */
#define LDVM__AREA_PRE "/local/domain/"
#define LDVM__AREA_POST "/data/litedvm"
/*
 * Same, for the path in domid's area that fmt names ("/listen",
 * "/open/%s", ...; NULL: the area itself).
 */
LDVM_HIDDEN int ldvm__area_path(struct ldvm_ctx *ctx, char *buf, size_t size,
    uint32_t domid, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

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
/*
 * 1 when path exists, 0 when not (or it cannot be read); LDVM_EAGAIN, with
 * a message, when t must be run again.
 */
LDVM_HIDDEN int ldvm__xs_exists(struct ldvm_ctx *ctx, xs_transaction_t t,
    const char *path);
/* Children of path inside t; none when absent.  free(*names) when done. */
LDVM_HIDDEN int ldvm__xs_list(struct ldvm_ctx *ctx, xs_transaction_t t,
    const char *path, char ***names, unsigned *n);
/* The same outside a transaction, as xs_directory does it (errno). */
LDVM_HIDDEN char **ldvm__xs_dir(struct ldvm_ctx *ctx, const char *path,
    unsigned *n);
/*
 * The descriptor to poll for watch events; the next pending event
 * (XS_WATCH_PATH, XS_WATCH_TOKEN; free it), NULL when none; dropping
 * all pending ones.
 */
LDVM_HIDDEN int ldvm__xs_fd(struct ldvm_ctx *ctx);
LDVM_HIDDEN char **ldvm__xs_next_watch(struct ldvm_ctx *ctx);
LDVM_HIDDEN void ldvm__xs_drain_watches(struct ldvm_ctx *ctx);
/*
 * Reads path (*len its length) and removes it: what a guest wrote, read
 * once.  NULL when there is nothing to read; free the value.
 */
LDVM_HIDDEN char *ldvm__xs_take(struct ldvm_ctx *ctx, const char *path,
    unsigned *len);

/* ---- domains (domain.c) ---- */
/*
 * The running domain with a disk whose target is path: 1 and its id and
 * name, or 0 when no domain uses it.  A domain whose disks cannot be read
 * (one going away) uses none, and libxl's messages about it are dropped;
 * so with ldvm__mac_in_use's interfaces.
 */
LDVM_HIDDEN int ldvm__disk_user(struct ldvm_ctx *ctx, const char *path,
    uint32_t *domid, char *name, size_t namesz);
/*
 * 1 when the guest's kernel connected every disk of the domain (its block
 * frontends reached Connected), 0 when one never did.
 */
LDVM_HIDDEN int ldvm__domain_disks_up(struct ldvm_ctx *ctx, uint32_t domid);
/* Where xenconsoled --log=guest keeps guest-NAME.log (removed at teardown). */
#define LDVM_CONSOLE_LOG_DIR "/var/log/xen/console"
/* 1 when a network interface of a running domain has that MAC, else 0. */
LDVM_HIDDEN int ldvm__mac_in_use(struct ldvm_ctx *ctx, const uint8_t mac[6]);
/* Creates a paused domain from a complete config; see ldvm_domain_create. */
LDVM_HIDDEN int ldvm__domain_create_cfg(struct ldvm_ctx *ctx,
    libxl_domain_config *cfg, uint32_t *domid);
/* 1 when paused, 0 when running, -1 when there is no such domain. */
LDVM_HIDDEN int ldvm__domain_paused(struct ldvm_ctx *ctx, uint32_t domid);
/*
 * The same, and the domain's maximum memory in *maxkb; with uuid (not
 * NULL), -1 as well when domid's UUID is another (the id was reused).
 */
LDVM_HIDDEN int ldvm__domain_paused_max(struct ldvm_ctx *ctx, uint32_t domid,
    const char *uuid, uint64_t *maxkb);
/* True while the domain exists and is neither shut down nor dying. */
LDVM_HIDDEN bool ldvm__domain_running(struct ldvm_ctx *ctx, uint32_t domid);
/* Its current memory; -1 when there is no such domain. */
LDVM_HIDDEN int ldvm__domain_memkb(struct ldvm_ctx *ctx, uint32_t domid,
    uint64_t *memkb);
/* 1 and its id when a domain has that name, 0 when none, -1 on error. */
LDVM_HIDDEN int ldvm__domain_by_name(struct ldvm_ctx *ctx, const char *name,
    uint32_t *domid);
/* The name of domid (free it), NULL when it has none. */
LDVM_HIDDEN char *ldvm__domain_name(struct ldvm_ctx *ctx, uint32_t domid);
/* True when domid is still the domain of that name (ids are reused). */
LDVM_HIDDEN bool ldvm__domain_named(struct ldvm_ctx *ctx, uint32_t domid,
    const char *name);
/* The domain (not dom0) with that UUID string; INVALID_DOMID when none. */
LDVM_HIDDEN uint32_t ldvm__domain_by_uuid(struct ldvm_ctx *ctx,
    const char *uuid);
/* The host's free memory. */
LDVM_HIDDEN int ldvm__domain_free_memkb(struct ldvm_ctx *ctx, uint64_t *kb);
/*
 * Sets the balloon target and, with wait_s > 0, waits that long for the
 * guest to reach it; libxl's code (0: done), for a log line.  The domain's
 * maximum stays where it is, so ldvm__domain_target can raise the target
 * again without libxl.
 */
LDVM_HIDDEN int ldvm__domain_balloon(struct ldvm_ctx *ctx, uint32_t domid,
    uint64_t memkb, int wait_s);
/*
 * Sets the balloon target of a domain ldvm__domain_balloon lowered, whose
 * maximum is maxkb: by xenstore alone (memory/target, less the video
 * memory libxl keeps out of it) when the maximum allows, else by libxl,
 * raising the maximum too.
 */
LDVM_HIDDEN int ldvm__domain_target(struct ldvm_ctx *ctx, uint32_t domid,
    uint64_t memkb, uint64_t maxkb);
/*
 * dst (initialised here, for ldvm__domain_cfg_dispose whatever happens) a
 * copy of src for domain name, with a fresh UUID, formatted into uuid.
 */
LDVM_HIDDEN int ldvm__domain_cfg_copy(struct ldvm_ctx *ctx,
    libxl_domain_config *dst, const libxl_domain_config *src,
    const char *name, char *uuid, size_t usize);
LDVM_HIDDEN void ldvm__domain_cfg_dispose(libxl_domain_config *cfg);

/* ---- volumes (volume.c) ---- */
/* litedvm's own directory beside a template image, for the file copies. */
#define LDVM_VOL_DIR ".litedvm"
enum ldvm__voldrv { LDVM_VOL_REFLINK, LDVM_VOL_COPY, LDVM_VOL_THIN,
	LDVM_VOL_RAM };
LDVM_HIDDEN const char *ldvm__vol_drvname(enum ldvm__voldrv drv);
/*
 * Where disposable disp's copy of origin (its disk vdev) goes: a file
 * <origin's directory>/LDVM_VOL_DIR/<disp>-<vdev>.img, or a thin snapshot
 * /dev/VG/<disp>-<vdev> of an LVM origin.
 */
LDVM_HIDDEN int ldvm__vol_plan(struct ldvm_ctx *ctx, const char *origin,
    const char *disp, const char *vdev, bool ram, char *dst, size_t size);
/*
 * The disposable and vdev of a path ldvm__vol_plan could have given: a file
 * in an LDVM_VOL_DIR directory or a /dev/VG/LV; false for anything else.
 */
LDVM_HIDDEN bool ldvm__vol_parse(const char *path, char *disp, size_t dsize,
    char *vdev, size_t vsize);
/*
 * Makes dst (which must not exist) a copy-on-write copy of origin: a thin
 * snapshot for an LVM path, else a
 * reflink clone, or a plain copy where cloning is not supported.  On
 * failure nothing is left at dst.
 */
LDVM_HIDDEN int ldvm__vol_snapshot(struct ldvm_ctx *ctx, const char *origin,
    const char *dst, uint64_t ramcap, enum ldvm__voldrv *drv);
/* Detaches loop devices backed by path and removes it; absent is fine. */
LDVM_HIDDEN int ldvm__vol_remove(struct ldvm_ctx *ctx, const char *path);

/* ---- RAM-only volumes (ramvol.c) ---- */
/* Where RAM volumes' device nodes are; must be on tmpfs. */
#ifndef LDVM_RAM_DIR
#define LDVM_RAM_DIR "/run/litedvm-ram"
#endif
/* True for a path directly in LDVM_RAM_DIR. */
LDVM_HIDDEN bool ldvm__ram_path(const char *path);
/*
 * Makes dst (LDVM_RAM_DIR/<disp>-<vdev>.dev) a block device node of a dm
 * snapshot of origin whose changes, at most cap bytes, are kept in memory.
 * On failure nothing is left.
 */
LDVM_HIDDEN int ldvm__ram_create(struct ldvm_ctx *ctx, const char *origin,
    const char *dst, uint64_t cap);
/* Removes the dm device and node of dst; absent is fine. */
LDVM_HIDDEN int ldvm__ram_remove(struct ldvm_ctx *ctx, const char *path);
typedef void ldvm__ram_fn(struct ldvm_ctx *ctx, void *arg, const char *disp,
    const char *path);
/* Calls fn for every RAM volume node and dm device of litedvm's. */
LDVM_HIDDEN int ldvm__ram_sweep(struct ldvm_ctx *ctx, ldvm__ram_fn *fn,
    void *arg);

/* ---- LVM thin volumes (lvm.c) ---- */
LDVM_HIDDEN bool ldvm__lvm_split(const char *path, char *vg, size_t vgsz,
    char *lv, size_t lvsz);
LDVM_HIDDEN bool ldvm__lvm_is_lv(struct ldvm_ctx *ctx, const char *path);
LDVM_HIDDEN int ldvm__lvm_snapshot(struct ldvm_ctx *ctx, const char *origin,
    const char *dst);
LDVM_HIDDEN int ldvm__lvm_remove(struct ldvm_ctx *ctx, const char *path);
/* The tag every snapshot gets when it is created. */
#define LDVM_LV_TAG "litedvm"
/*
 * One line of `lvs --noheadings --separator / -o vg_name,lv_name,lv_tags`,
 * split in place; *tagged when LDVM_LV_TAG is among the tags.
 */
LDVM_HIDDEN bool ldvm__lvm_parse_line(char *line, char **vg, char **lv,
    bool *tagged);
typedef int ldvm__lvm_fn(struct ldvm_ctx *ctx, void *arg, const char *vg,
    const char *lv, bool tagged);
/* Calls fn for every LV of vg (NULL: of every VG); stops at its error. */
LDVM_HIDDEN int ldvm__lvm_list(struct ldvm_ctx *ctx, const char *vg,
    ldvm__lvm_fn *fn, void *arg);
/* True when the LV at /dev/VG/LV exists and carries LDVM_LV_TAG. */
LDVM_HIDDEN bool ldvm__lvm_tagged(struct ldvm_ctx *ctx, const char *path);

/* ---- leftovers: volumes with no record, after a reboot (leftover.c) ---- */
/*
 * The lock that orders volume creation (shared) against collection of
 * leftovers (exclusive); ldvm__vol_unlock(fd) releases it.
 */
LDVM_HIDDEN int ldvm__vol_lock(struct ldvm_ctx *ctx, bool excl, int *fd);
/* slot.c: one of preload_builds host-wide build slots, waited for. */
LDVM_HIDDEN int ldvm__build_slot(struct ldvm_ctx *ctx, int *fd);
LDVM_HIDDEN void ldvm__build_slot_free(int fd);
LDVM_HIDDEN void ldvm__vol_unlock(int fd);
/*
 * True when nothing can be using a volume of disposable disp: no domain of
 * that name and, unless mine (the caller holds the record), no record.
 */
LDVM_HIDDEN bool ldvm__vol_unclaimed(struct ldvm_ctx *ctx, const char *disp,
    bool mine);
/*
 * Removes every volume in litedvm's places (LDVM_VOL_DIR beside the images
 * of the configured templates, LVs tagged LDVM_LV_TAG) whose disposable is
 * unclaimed; *removed counts them.
 */
LDVM_HIDDEN int ldvm__leftovers(struct ldvm_ctx *ctx, unsigned *removed);

/* ---- state tree (state.c) ---- */
/* pid's start time (clock ticks after boot); -1 when gone or a zombie. */
LDVM_HIDDEN int ldvm__proc_start(pid_t pid, unsigned long long *start);
/* "<pid>:<start time>" of the calling process. */
LDVM_HIDDEN int ldvm__owner_self(char *buf, size_t size);
LDVM_HIDDEN bool ldvm__owner_alive(const char *owner);
/*
 * Allocates a disposable name (size LDVM_NAME_MAX + 1) and its record.
 * With pool_limit >= 0 the record is bound for tmpl's pool, and refused
 * with LDVM_EEXIST when that many already are: the check and the
 * reservation are one transaction, so concurrent fillers never overfill.
 * want, when not NULL, is the name to take (LDVM_EEXIST when taken).
 */
LDVM_HIDDEN int ldvm__rec_new(struct ldvm_ctx *ctx, const char *tmpl,
    const char *version, int pool_limit, const char *want, char *name);
/* /litedvm/disp/<name>[/<key>] */
LDVM_HIDDEN int ldvm__rec_path(struct ldvm_ctx *ctx, char *buf, size_t size,
    const char *name, const char *key);
LDVM_HIDDEN int ldvm__rec_write(struct ldvm_ctx *ctx, xs_transaction_t t,
    const char *name, const char *key, const char *val);
LDVM_HIDDEN int ldvm__rec_read(struct ldvm_ctx *ctx, xs_transaction_t t,
    const char *name, const char *key, char **val);
LDVM_HIDDEN int ldvm__rec_rm(struct ldvm_ctx *ctx, const char *name);
/* Removes one key of the record of name; absent is success. */
LDVM_HIDDEN int ldvm__rec_rm_key(struct ldvm_ctx *ctx, const char *name,
    const char *key);
/* 1 when a record of name exists, 0 when not, < 0 on error. */
LDVM_HIDDEN int ldvm__rec_exists(struct ldvm_ctx *ctx, const char *name);
/* Children of an absolute path; free(*names) when done. */
LDVM_HIDDEN int ldvm__rec_list(struct ldvm_ctx *ctx, const char *sub,
    char ***names, unsigned *n);
/* /litedvm/pool/<tmpl>[/<name>]: a pool's listing, or one member in it. */
LDVM_HIDDEN int ldvm__rec_pool_path(struct ldvm_ctx *ctx, char *buf,
    size_t size, const char *tmpl, const char *name);
/* Removes name from its template's pool listing, if it is in it. */
LDVM_HIDDEN void ldvm__rec_unpool(struct ldvm_ctx *ctx, const char *name);

/* ---- disposables (disp.c) ---- */
#define LDVM__MAX_PHASES 12
struct ldvm_disp {
	char name[LDVM_NAME_MAX + 1];
	char tmpl[LDVM_NAME_MAX + 1];
	uint32_t domid;
	bool owned;
	bool pooled;            /* came out of the preload pool */
	char voldrv[16];
	/*
	 * The record's owner and creation (seconds since the epoch) as read
	 * when it was claimed, for the journal; "" when not read.
	 */
	char owner[64];
	char created[24];
	/*
	 * A pool member's refill helper, started while its command runs and
	 * waiting for the write end of a pipe (standby_fd) to close: at the
	 * release, or when this process ends.
	 */
	bool standby;
	int standby_fd;
	/*
	 * A pool member's agent listener, claimed in the transaction that
	 * claimed the member (pool.c); 0: none, connect claims one.
	 */
	unsigned long chan_seq;
	int nphases;
	struct {
		const char *name;
		int64_t ms;
	} phases[LDVM__MAX_PHASES];
};
/*
 * Makes a disposable up to "agent ready"; bound for pool when pool_limit
 * is >= 0 (see ldvm__rec_new).  On failure nothing is left.
 */
LDVM_HIDDEN int ldvm__disp_build(struct ldvm_ctx *ctx,
    const struct ldvm_template *t, int pool_limit, const char *want,
    struct ldvm_disp **out);
/* A handle on name of template tmpl, nothing read; NULL: no memory. */
LDVM_HIDDEN struct ldvm_disp *ldvm__disp_new(const char *name,
    const char *tmpl);
/* A handle on the record of name, whatever its state. */
LDVM_HIDDEN int ldvm__disp_load(struct ldvm_ctx *ctx, const char *name,
    struct ldvm_disp **out);
/* Notes a phase of d ending now, begun at *t0; *t0 becomes now. */
LDVM_HIDDEN void ldvm__disp_phase(struct ldvm_disp *d, const char *name,
    int64_t *t0);
/*
 * The domain of the record of name: by its recorded id while the name
 * still agrees, else by name, else by its recorded UUID; INVALID_DOMID
 * when none.
 */
LDVM_HIDDEN int ldvm__disp_recorded_domid(struct ldvm_ctx *ctx,
    const char *name, uint32_t *domid);
/* The same, from recorded, the record's domid value ("": none) read before. */
LDVM_HIDDEN uint32_t ldvm__disp_domid_of(struct ldvm_ctx *ctx,
    const char *name, const char *recorded);
/* Destroys whatever the record of name describes, then the record. */
LDVM_HIDDEN int ldvm__teardown(struct ldvm_ctx *ctx, const char *name);
struct ldvm__abort;
/*
 * ldvm_disp_exec, ended early by ab (NULL: none, as ldvm_disp_exec).  With
 * LDVM_RUN_WAYLAND, wlfd >= 0 is the Wayland stream's other end (a socket
 * dom0 relays to someone else's waypipe client); -1: start waypipe client
 * here against the caller's WAYLAND_DISPLAY.
 */
LDVM_HIDDEN int ldvm__disp_exec(struct ldvm_ctx *ctx, struct ldvm_disp *d,
    const struct ldvm_run *r, const struct ldvm__abort *ab, int wlfd,
    int *status);

/* ---- preload pool (pool.c) ---- */
/* Pool members of tmpl, oldest first; free(*names). */
LDVM_HIDDEN int ldvm__pool_members(struct ldvm_ctx *ctx, const char *tmpl,
    char ***names, unsigned *n);
/* True for a pool member that is fine as it is (paused, domain alive). */
LDVM_HIDDEN bool ldvm__pool_keeps(struct ldvm_ctx *ctx, const char *name);

/* ---- channel framing (proto.c) ---- */
#define LDVM_PROTO_VERSION 1
#define LDVM_FRAME_HDR 8
#define LDVM_FRAME_MAX 65536
#define LDVM_ERROR_MAX 1024
#define LDVM_ARGV_MAX 4096
#define LDVM_EXEC_TTY 0x1u
#define LDVM_EXEC_USER 0x2u   /* the first string is a user name */
#define LDVM_EXEC_WAYLAND 0x4u /* under waypipe, its stream on <area>/wl/<seq> */
#define LDVM_USER_MAX 32
enum {
	LDVM_F_HELLO = 1, LDVM_F_EXEC, LDVM_F_STDIN, LDVM_F_STDOUT,
	LDVM_F_STDERR, LDVM_F_EXIT, LDVM_F_ERROR, LDVM_F_WINSIZE,
	LDVM_F_FILE,            /* dvm-open: file data; empty at the end */
	LDVM_F_RESULT,          /* dvm-open: u32 outcome, then a message */
	/* dvm-open's terminal: the requester's keys, the opener's screen,
	   the requester's window size (u16 rows, u16 columns) */
	LDVM_F_TTYIN, LDVM_F_TTYOUT, LDVM_F_TTYSIZE
};
/* Outcomes in a RESULT frame. */
enum { LDVM_RESULT_UNCHANGED, LDVM_RESULT_CHANGED, LDVM_RESULT_FAILED };
/* Which way a frame travels; each type has its allowed directions. */
enum ldvm__dir { LDVM_TO_AGENT, LDVM_TO_DOM0 };
/* Incremental receiver: at most one frame, bounded by LDVM_FRAME_MAX. */
struct ldvm__rx {
	enum ldvm__dir dir;
	uint8_t hdr[LDVM_FRAME_HDR];
	size_t hgot, pgot;
	uint32_t type, len;
	bool failed;            /* a header was refused: nothing more is taken */
	uint8_t buf[LDVM_FRAME_MAX];
};
LDVM_HIDDEN const char *ldvm__frame_name(uint32_t type);
LDVM_HIDDEN void ldvm__put32(uint8_t *p, uint32_t v);
LDVM_HIDDEN uint32_t ldvm__get32(const uint8_t *p);
/* 0 when a frame of this type and length may travel in dir, else -1 and why. */
LDVM_HIDDEN int ldvm__frame_check(uint32_t type, uint32_t len,
    enum ldvm__dir dir, char *why, size_t whysz);
LDVM_HIDDEN void ldvm__rx_init(struct ldvm__rx *rx, enum ldvm__dir dir);
/* Bytes still needed to complete the header or the current frame. */
LDVM_HIDDEN size_t ldvm__rx_want(const struct ldvm__rx *rx);
/*
 * Takes up to n bytes (*used says how many): 1 when a whole frame is in
 * rx->type/len/buf, 0 when more is needed, -1 on a bad header (why).
 */
LDVM_HIDDEN int ldvm__rx_feed(struct ldvm__rx *rx, const uint8_t *p, size_t n,
    size_t *used, char *why, size_t whysz);
/* Forgets the frame just delivered. */
LDVM_HIDDEN void ldvm__rx_next(struct ldvm__rx *rx);
/* EXEC payload: u32 flags, u16 rows, u16 cols, argv NUL-terminated.
 * With LDVM_EXEC_USER, argv[0] is the user to run argv + 1 as.
 * Returns its length, 0 when argv is empty or does not fit. */
LDVM_HIDDEN size_t ldvm__exec_encode(uint8_t *buf, size_t cap, unsigned flags,
    uint16_t rows, uint16_t cols, char *const argv[]);
/*
 * Checks and decodes an EXEC payload; free(*argv) when done.  With
 * LDVM_EXEC_USER, (*argv)[0] is a user name that ldvm__valid_user accepts
 * and a command follows it.
 */
LDVM_HIDDEN int ldvm__exec_decode(const uint8_t *p, size_t len,
    unsigned *flags, uint16_t *rows, uint16_t *cols, char ***argv, char *why,
    size_t whysz);
LDVM_HIDDEN void ldvm__exit_encode(uint8_t buf[8], int signaled, int value);
/* The exit status (0..255, or 128 + signal); -1 when malformed. */
LDVM_HIDDEN int ldvm__exit_decode(const uint8_t buf[8], int *status);

/* ---- the vchan channel (chan.c) ---- */
#define LDVM_HELLO_TIMEOUT_MS 30000
struct libxenvchan;
/*
 * What a peer can do to a ring without sending anything: rings too small
 * for a frame, indices moved backwards, wake-ups with nothing behind them.
 */
#define LDVM_IDLE_WAKES 1000    /* wake-ups in a row with no progress */
#define LDVM_IN_MIN 4096        /* least room worth a STDIN frame */
/* True when a ring of 2^order bytes holds a whole frame. */
LDVM_HIDDEN bool ldvm__ring_fits(int order);
/* Bytes between a ring's indices, -1 when more than the ring holds. */
LDVM_HIDDEN long ldvm__ring_used(uint32_t prod, uint32_t cons, int order);
/* How much standard input to read given a ring's free space, -1: none. */
LDVM_HIDDEN long ldvm__stdin_room(int space);
struct ldvm__wake {
	uint32_t seen[3];       /* peer's read and write index, liveness */
	unsigned idle;
};
/* Notes one wake-up; false once LDVM_IDLE_WAKES in a row changed nothing. */
LDVM_HIDDEN bool ldvm__wake_note(struct ldvm__wake *w, const uint32_t now[3]);

struct ldvm__chan {
	struct libxenvchan *v;
	struct ldvm__rx rx;
	struct ldvm__wake wake;
	/* Read from the ring but not yet fed to rx: a frame's worth at most. */
	uint8_t *stage;
	size_t soff, slen;
	char *path;             /* the vchan's xenstore path */
};
/* Bytes received and not yet delivered: zero once the peer has no more. */
LDVM_HIDDEN size_t ldvm__chan_unread(struct ldvm__chan *ch);
/* Waits for the channel's event, at most timeout_ms (-1: no bound). */
LDVM_HIDDEN int ldvm__chan_wait(struct ldvm_ctx *ctx, struct ldvm__chan *ch,
    int timeout_ms);
/*
 * ldvm__chan_wait, also woken by more[0..nmore) (at most 3; their revents
 * set; an fd of -1 is not polled).
 */
LDVM_HIDDEN int ldvm__chan_wait_more(struct ldvm_ctx *ctx,
    struct ldvm__chan *ch, struct pollfd *more, size_t nmore, int timeout_ms);
/* Sends a whole frame if the ring has room: 1 sent, 0 not yet, <0 error. */
LDVM_HIDDEN int ldvm__chan_send(struct ldvm_ctx *ctx, struct ldvm__chan *ch,
    uint32_t type, const void *p, size_t len);
LDVM_HIDDEN int ldvm__chan_send_wait(struct ldvm_ctx *ctx,
    struct ldvm__chan *ch, uint32_t type, const void *p, size_t len,
    int timeout_ms);
/* 1 when a whole frame is in ch->rx, 0 when more must come, <0 error. */
LDVM_HIDDEN int ldvm__chan_recv(struct ldvm_ctx *ctx, struct ldvm__chan *ch);
LDVM_HIDDEN int ldvm__chan_recv_wait(struct ldvm_ctx *ctx,
    struct ldvm__chan *ch, int timeout_ms);
/* Both sides: send HELLO, expect HELLO of the same version. */
LDVM_HIDDEN int ldvm__chan_hello(struct ldvm_ctx *ctx, struct ldvm__chan *ch);
/* Agent: a vchan server for dom0 at xs_path. */
LDVM_HIDDEN int ldvm__chan_listen(struct ldvm_ctx *ctx, const char *xs_path,
    struct ldvm__chan **out);
/* A vchan server for domain peer at xs_path (dom0 serving a guest). */
LDVM_HIDDEN int ldvm__chan_listen_for(struct ldvm_ctx *ctx, uint32_t peer,
    const char *xs_path, struct ldvm__chan **out);
/* dom0: connects to the vchan server of domid at xs_path. */
LDVM_HIDDEN int ldvm__chan_connect(struct ldvm_ctx *ctx, uint32_t domid,
    const char *xs_path, struct ldvm__chan **out);
/* Agent: waits until the client connected. */
LDVM_HIDDEN int ldvm__chan_accept(struct ldvm_ctx *ctx, struct ldvm__chan *ch);
/*
 * dom0: claims the agent's current listener of domid in one transaction
 * against claim_path (a dom0-only node with the last claimed number), so
 * no two clients take the same one, then connects to it.
 */
LDVM_HIDDEN int ldvm__chan_claim_connect(struct ldvm_ctx *ctx, uint32_t domid,
    const char *claim_path, int timeout_ms, struct ldvm__chan **out);
/*
 * The same claim inside a caller's transaction t, and no waiting: *seq
 * the listener's number, 0 when there is no free one.  A pool claim makes
 * it in its own transaction: the member is paused with a free listener
 * (dvm-preload waited for one), and no other client may take it then.
 */
LDVM_HIDDEN int ldvm__chan_claim_in(struct ldvm_ctx *ctx, xs_transaction_t t,
    uint32_t domid, const char *claim_path, unsigned long *seq);
/* dom0: connects to listener seq (claimed) of domid's agent. */
LDVM_HIDDEN int ldvm__chan_connect_seq(struct ldvm_ctx *ctx, uint32_t domid,
    unsigned long seq, struct ldvm__chan **out);
/*
 * dom0: waits until the agent of domid has a listener not yet claimed
 * against claim_path, and claims nothing.
 */
LDVM_HIDDEN int ldvm__chan_await_free(struct ldvm_ctx *ctx, uint32_t domid,
    const char *claim_path, int timeout_ms);
LDVM_HIDDEN void ldvm__chan_close(struct ldvm__chan *ch);
/*
 * A listener's (guest's) channel, closed once the peer has closed its
 * side, or after 2 s: see chan.c.
 */
LDVM_HIDDEN void ldvm__chan_close_after_peer(struct ldvm_ctx *ctx,
    struct ldvm__chan *ch);
/*
 * dom0: runs argv over ch, pumping in/out/err, until the agent reports the
 * exit status (*status).  Never reads more from the channel than it can
 * write out.  flags: LDVM_RUN_* of litedvm.h.
 */
LDVM_HIDDEN int ldvm__chan_run(struct ldvm_ctx *ctx, struct ldvm__chan *ch,
    uint32_t domid, char *const argv[], int flags, int in, int out, int err,
    int *status);
/*
 * An abort of the caller's beside a session (a requester gone): when fd
 * is readable, check says whether the session goes on (0) or ends with
 * that code (ctx's message set).
 */
struct ldvm__abort {
	int fd;                 /* polled for POLLIN; -1: none */
	int (*check)(struct ldvm_ctx *ctx, void *arg);
	void *arg;
};
/* The abort for when guard's peer closes it (or floods it with events). */
LDVM_HIDDEN void ldvm__chan_guard(struct ldvm__chan *guard,
    struct ldvm__abort *ab);
/* A call made once at a point of a longer one (fn NULL: none). */
struct ldvm__hook {
	void (*fn)(struct ldvm_ctx *ctx, void *arg);
	void *arg;
};
/*
 * The same as ldvm__chan_run, for r (its user, if any); ab may be NULL.
 * started (NULL: none) is called once the command is asked for, while the
 * guest starts it: dom0's work that may overlap the guest's.
 */
LDVM_HIDDEN int ldvm__chan_run_as(struct ldvm_ctx *ctx, struct ldvm__chan *ch,
    uint32_t domid, const struct ldvm_run *r, const struct ldvm__abort *ab,
    const struct ldvm__hook *started, int *status);
/* Agent: serves one command on a connected channel. */
LDVM_HIDDEN int ldvm__chan_serve(struct ldvm_ctx *ctx, struct ldvm__chan *ch);

/* ---- one side of a session, without I/O (pump.c) ---- */
/*
 * The core both ends of a command's session share: the caller reports
 * events and asks what to do next; the core makes no system call.  See
 * the comment at the top of pump.c.
 */
#define LDVM_PUMP_BATCH (LDVM_FRAME_MAX / 2) /* agent: output worth a frame */
#define LDVM_PUMP_WINCH_MS 500          /* dom0, tty: look at the size again */
#define LDVM_PUMP_LINGER_MS 30000       /* agent: wait for room for EXIT */
#define LDVM_PUMP_WHY_MAX 1100          /* an agent's ERROR fits */
enum ldvm__pump_role { LDVM_PUMP_DOM0, LDVM_PUMP_AGENT };
/* A local stream: a source (read, sent) or a sink (received, written). */
enum ldvm__pump_stream {
	LDVM_PUMP_ABSENT,       /* no descriptor: nothing to read or write */
	LDVM_PUMP_OPEN,
	LDVM_PUMP_ENDING,       /* its end came; still to be passed on */
	LDVM_PUMP_ENDED
};
enum ldvm__pump_phase {
	LDVM_PUMP_RUN,          /* the command runs */
	LDVM_PUMP_EXITED,       /* it exited: dom0 got EXIT, or the agent's
	                           child was reaped; output still drains */
	LDVM_PUMP_OVER          /* the session is over: see rc */
};
struct ldvm__pump_cfg {
	enum ldvm__pump_role role;
	/*
	 * Sources: dom0 0 = stdin (STDIN frames); agent 0 = the command's
	 * stdout, 1 = its stderr.  Sinks: dom0 0 = stdout, 1 = stderr;
	 * agent 0 = the command's stdin.  false: absent (dom0 without
	 * standard input: present, and ldvm__pump_eof at once).
	 */
	bool src[2], sink[2];
	bool filter[2];         /* sinks whose bytes ldvm__filter_escapes */
	bool tty;               /* dom0 sends WINSIZE, the agent applies it */
	uint16_t rows, cols;    /* dom0: the size the EXEC frame carried */
};
struct ldvm__pump_src {
	enum ldvm__pump_stream st;
	size_t len;             /* read and not yet sent */
	uint8_t buf[LDVM_FRAME_MAX];
};
struct ldvm__pump {
	enum ldvm__pump_role role;
	enum ldvm__pump_phase phase;
	bool tty, peer_closed;
	bool filter[2];
	enum ldvm__pump_stream sink[2];
	struct ldvm__pump_src src[2];
	int held;               /* sink of the output held, -1: none */
	uint8_t *out;           /* the held frame's payload (the caller's) */
	size_t out_off, out_len;
	size_t room;            /* free bytes in the ring towards the peer */
	bool idle;              /* the peer has read everything */
	uint16_t ws[2];         /* dom0: size sent; agent: size to apply */
	uint16_t ws_new[2];     /* dom0: the terminal's size now */
	bool ws_due;            /* agent: a RESIZE to report */
	int sending;            /* what the last SEND was: a source, or -1
	                           WINSIZE, -2 EXIT, -3 none */
	size_t sending_len;     /* and its payload's length */
	uint8_t ctl[8];         /* payload of WINSIZE or EXIT */
	int status;             /* the command's exit status, -1: none */
	int rc;                 /* LDVM_PUMP_OVER: 0 or an LDVM_E* code */
	char why[LDVM_PUMP_WHY_MAX];
};
/* What the core asks of its caller (ldvm__pump_next). */
enum ldvm__pump_act {
	LDVM_PUMP_WAIT,         /* nothing now: poll as ldvm__pump_wants says */
	LDVM_PUMP_SEND,         /* send this frame, then ldvm__pump_sent */
	LDVM_PUMP_RESIZE,       /* agent: set the terminal to rows x cols */
	LDVM_PUMP_END,          /* the peer's stream for sink ended */
	LDVM_PUMP_DONE          /* over: rc, status, why */
};
struct ldvm__pump_do {
	enum ldvm__pump_act act;
	uint32_t type;          /* SEND: the frame */
	const uint8_t *data;
	size_t len;
	uint16_t rows, cols;    /* RESIZE */
	int sink;               /* END */
	int rc, status;         /* DONE */
	const char *why;        /* DONE with rc != 0: the message */
};
/* What to poll for; timeout_ms -1: none (then ldvm__pump_timeout). */
struct ldvm__pump_wants {
	bool frames;            /* take received frames (ldvm__pump_takes) */
	bool read[2];           /* sources to poll for reading */
	bool write[2];          /* sinks to poll for writing */
	int timeout_ms;
};
LDVM_HIDDEN void ldvm__pump_init(struct ldvm__pump *p,
    const struct ldvm__pump_cfg *cfg);
/* Events. */
/*
 * The ring towards the peer has space free bytes of size (also after a
 * SEND found no room); less than the frames sent left, the peer took room
 * back: over with LDVM_EPROTO.
 */
LDVM_HIDDEN void ldvm__pump_room(struct ldvm__pump *p, long space, long size);
/*
 * A whole frame received (payload stays the caller's): 1 when it may be
 * forgotten now (ldvm__rx_next), 0 when held as output until
 * ldvm__pump_wrote or ldvm__pump_sink_gone says 1, <0 when the session is
 * over with that code.
 */
LDVM_HIDDEN int ldvm__pump_frame(struct ldvm__pump *p, uint32_t type,
    uint8_t *payload, size_t len);
/* Where to read source i into, and how much at most (0: do not read). */
LDVM_HIDDEN size_t ldvm__pump_read_room(struct ldvm__pump *p, int i,
    uint8_t **buf);
/* n bytes were read into it; 0: end of file. */
LDVM_HIDDEN void ldvm__pump_input(struct ldvm__pump *p, int i, size_t n);
/* Source i ended (end of file, or an error reading it). */
LDVM_HIDDEN void ldvm__pump_eof(struct ldvm__pump *p, int i);
/* The held output still to write: its sink and bytes; 0 when none. */
LDVM_HIDDEN size_t ldvm__pump_output(const struct ldvm__pump *p, int *sink,
    const uint8_t **data);
/* n bytes of it were written: 1 when the frame is done with. */
LDVM_HIDDEN int ldvm__pump_wrote(struct ldvm__pump *p, size_t n);
/* Sink i takes nothing more: its output is dropped; 1 as wrote. */
LDVM_HIDDEN int ldvm__pump_sink_gone(struct ldvm__pump *p, int i);
/* The last SEND went into the ring (before the next ldvm__pump_room). */
LDVM_HIDDEN void ldvm__pump_sent(struct ldvm__pump *p);
/* dom0: the terminal's size now. */
LDVM_HIDDEN void ldvm__pump_winch(struct ldvm__pump *p, uint16_t rows,
    uint16_t cols);
/* Agent: the command exited (signaled: value is the signal). */
LDVM_HIDDEN void ldvm__pump_exited(struct ldvm__pump *p, bool signaled,
    int value);
/* The peer closed the channel; drained: nothing of it is left unread. */
LDVM_HIDDEN void ldvm__pump_peer_closed(struct ldvm__pump *p, bool drained);
/* The wait of wants.timeout_ms passed with no event. */
LDVM_HIDDEN void ldvm__pump_timeout(struct ldvm__pump *p);
/* Ends the session with rc (an interrupt, a requester or domain gone). */
LDVM_HIDDEN void ldvm__pump_abort(struct ldvm__pump *p, int rc,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Decisions. */
LDVM_HIDDEN bool ldvm__pump_takes(const struct ldvm__pump *p);
LDVM_HIDDEN void ldvm__pump_wants(const struct ldvm__pump *p,
    struct ldvm__pump_wants *w);
LDVM_HIDDEN enum ldvm__pump_act ldvm__pump_next(struct ldvm__pump *p,
    struct ldvm__pump_do *d);

/*
 * The session's loop around the core, both sides (chan.c): the local
 * streams' descriptors, and the hooks of each side's own events.
 */
struct ldvm__pump_fds {
	int src[2];             /* the sources' descriptors; -1: none */
	int sink[2];            /* the sinks' */
	/*
	 * The session's own (the agent's): a source is closed at its end, a
	 * sink that fails is closed and its output dropped.  Else (dom0's
	 * caller's) a sink that fails ends the session ("output closed").
	 */
	bool own;
};
struct ldvm__pump_hooks {
	/* Each round, before the frames (dom0: the terminal's size). */
	void (*round)(struct ldvm__pump *p, void *arg);
	/* A descriptor of the side's own to poll for POLLIN; -1: none. */
	int (*fd)(struct ldvm_ctx *ctx, void *arg);
	/* It was ready: 0, or the code the session ends with. */
	int (*ready)(struct ldvm_ctx *ctx, struct ldvm__pump *p, void *arg);
	/* Milliseconds until the side's own timer, -1: none (NULL: none). */
	int (*due)(struct ldvm_ctx *ctx, void *arg);
	/*
	 * That timer passed (run at the next round, busy or not): 0, or the
	 * code the session ends with; due then says the next, or -1.
	 */
	int (*tick)(struct ldvm_ctx *ctx, struct ldvm__pump *p, void *arg);
	/* LDVM_PUMP_END and LDVM_PUMP_RESIZE (the agent). */
	void (*act)(struct ldvm__pump_fds *fds, const struct ldvm__pump_do *d,
	    void *arg);
	bool floods;            /* a hostile peer: its wake-ups are counted */
	const struct ldvm__abort *abort;        /* NULL: none */
	void *arg;
};
/*
 * Pumps the session on ch, p initialised, until the core is done: 0, or
 * an error (the I/O's own message, or the core's reason).  *status (if
 * not NULL): the exit status the core knows of, -1: none.
 */
LDVM_HIDDEN int ldvm__chan_pump(struct ldvm_ctx *ctx, struct ldvm__chan *ch,
    struct ldvm__pump *p, struct ldvm__pump_fds *fds,
    const struct ldvm__pump_hooks *h, int *status);

/* ---- dvm-open requests and file names (openreq.c) ---- */
#define LDVM_OPEN_REQ_MAX 512           /* bytes of a request value */
#define LDVM_OPEN_NAME_MAX 255          /* bytes of a file name */
#define LDVM_OPEN_SIZE_MAX (1UL << 40)  /* no file is larger, whatever the cap */
struct ldvm__openreq {
	bool view_only;
	bool terminal;                  /* asked from a terminal ("rwt") */
	bool wayland;                   /* windows welcome ("rwg", "rwtg") */
	char tmpl[LDVM_NAME_MAX + 1];   /* "": the guest's default */
	uint64_t size;
	char name[LDVM_OPEN_NAME_MAX + 1];
};
/*
 * A file name safe to create in a directory and to show: 1..255 bytes of
 * valid UTF-8, no control characters, no '/', no "..", no leading '-' or
 * '.'.
 */
LDVM_HIDDEN bool ldvm__safe_filename(const char *s, size_t len);
/* path's last component made safe (out of size >= 8); "file" if empty. */
LDVM_HIDDEN bool ldvm__reduce_filename(const char *path, char *out,
    size_t size);
/* "1 rw|ro TEMPLATE|- SIZE NAME"; -1 when r is invalid or does not fit. */
LDVM_HIDDEN int ldvm__openreq_format(const struct ldvm__openreq *r, char *buf,
    size_t size);
/* Checks a request a guest wrote; -1 and why when it is not one. */
LDVM_HIDDEN int ldvm__openreq_parse(const char *buf, size_t len,
    struct ldvm__openreq *r, char *why, size_t whysz);
/* A byte count with an optional K, M or G suffix. */
LDVM_HIDDEN bool ldvm__parse_size(const char *s, uint64_t *out);

/* ---- dvm-open policy (policy.c) ---- */
struct ldvm__policy;
LDVM_HIDDEN int ldvm__policy_parse(struct ldvm_ctx *ctx, const char *text,
    size_t len, const char *file, struct ldvm__policy **out);
/* Reads <confdir>/open.policy; LDVM_ENOENT when there is none. */
LDVM_HIDDEN int ldvm__policy_load(struct ldvm_ctx *ctx,
    struct ldvm__policy **out);
LDVM_HIDDEN void ldvm__policy_free(struct ldvm__policy *p);
/*
 * Whether a policy file of this owner and mode may be trusted by a process
 * of effective user me: owned by root or by me, writable by nobody else.
 */
LDVM_HIDDEN bool ldvm__policy_mode_ok(uid_t owner, mode_t mode, uid_t me);
/*
 * The template guest gets for want ("" or NULL: its default) into tmpl;
 * LDVM_EPERM with a message when the policy does not grant it.  A
 * disposable (a domain of a litedvm record) is judged by the
 * "@disposable" line alone, never by its name's or the "*" line.
 */
LDVM_HIDDEN int ldvm__policy_decide(struct ldvm_ctx *ctx,
    const struct ldvm__policy *p, const char *guest, bool disposable,
    const char *want, char *tmpl, size_t size);

/* ---- dvm-open in dom0 (open_worker.c) ---- */
/*
 * Serves one accepted request of guest domid for the file q in a
 * disposable of t, recorded as made for root (the ordinary guest at the
 * root of the chain); the disposable's answer is capped at cap bytes.
 * The guest hears the outcome; the return value is the same for the
 * caller.
 */
/* A terminal's rows or columns, at most, from a guest. */
#define LDVM_TTY_DIM_MAX 4096
/*
 * dvm-open's terminal in dom0 (open_relay.c): a pseudo-terminal whose far
 * end (*slave, the caller's to close) a session runs on, relayed to and
 * from guest's channel by a thread of its own, which owns that channel
 * until ldvm__relay_stop.  *ab ends the session when the guest leaves or
 * breaks the protocol.  ldvm__relay_stop sends what is left of the screen,
 * ends the thread and returns its failure, if any.
 */
struct ldvm__relay;
LDVM_HIDDEN int ldvm__relay_start(struct ldvm_ctx *ctx,
    struct ldvm__chan *guest, const uint16_t ws[2], struct ldvm__relay **out,
    int *slave, struct ldvm__abort *ab);
LDVM_HIDDEN int ldvm__relay_stop(struct ldvm_ctx *ctx, struct ldvm__relay *r);
/* t0: when dvm-opend read the request (ldvm__now_ms), for -v's steps. */
LDVM_HIDDEN int ldvm__open_work(struct ldvm_ctx *ctx, uint32_t domid,
    const char *root, const struct ldvm__openreq *q,
    const struct ldvm_template *t, uint64_t cap, int64_t t0);

/* ---- Wayland through waypipe (wayland.c) ---- */
#define LDVM_WL_BUF (64 * 1024)         /* each way, in each relay */
#define LDVM_WL_START_MS 30000          /* for waypipe client to listen */
struct ldvm__wl;
/* "<base>/wl/<seq>" of a channel's "<base>/vchan/<seq>"; -1: no such. */
LDVM_HIDDEN int ldvm__wl_path(const char *chan_path, char *buf, size_t size);
/*
 * argv under "waypipe --oneshot --no-gpu --socket sock server --"; NULL
 * when argv is empty or no memory.  The array is the caller's to free,
 * the strings not.
 */
LDVM_HIDDEN char **ldvm__wl_argv(char *const argv[], const char *sock);
/* Whether an executable name is in the ':'-separated directories path. */
LDVM_HIDDEN bool ldvm__wl_find(const char *path, const char *name);
/*
 * The compositor's side (dom0 for dvm-run, the requesting guest for
 * dvm-open): starts waypipe client against the caller's WAYLAND_DISPLAY
 * and serves the stream's vchan for domid at xs_path.
 */
LDVM_HIDDEN int ldvm__wl_client_open(struct ldvm_ctx *ctx, uint32_t domid,
    const char *xs_path, struct ldvm__wl **out);
/*
 * dom0 between two domains (dvm-open): relays fd (a copy is taken) to a
 * vchan served for domid at xs_path, or to the one domid serves there.
 */
LDVM_HIDDEN int ldvm__wl_serve_fd(struct ldvm_ctx *ctx, uint32_t domid,
    const char *xs_path, int fd, struct ldvm__wl **out);
LDVM_HIDDEN int ldvm__wl_connect_fd(struct ldvm_ctx *ctx, uint32_t domid,
    const char *xs_path, int fd, struct ldvm__wl **out);
/*
 * Agent: connects to dom0's vchan at xs_path and listens on a socket
 * that only uid may reach, for the command's waypipe server.
 */
LDVM_HIDDEN int ldvm__wl_agent_open(struct ldvm_ctx *ctx, const char *xs_path,
    uid_t uid, gid_t gid, struct ldvm__wl **out);
LDVM_HIDDEN const char *ldvm__wl_socket(const struct ldvm__wl *wl);
/* Starts the relay thread (after any fork of the caller's). */
LDVM_HIDDEN int ldvm__wl_start(struct ldvm_ctx *ctx, struct ldvm__wl *wl);
/* Stops the relay, ends waypipe client, removes what was made; NULL ok. */
LDVM_HIDDEN void ldvm__wl_close(struct ldvm_ctx *ctx, struct ldvm__wl *wl);

/* ---- background work (spawn.c) ---- */
/*
 * Runs argv and waits; its stderr goes into the message on failure.  add
 * (NULL: nothing) lists "NAME=value" strings for the child's environment
 * only: the caller's own is never changed.
 */
LDVM_HIDDEN int ldvm__run(struct ldvm_ctx *ctx, char *const argv[],
    const char *const add[]);
/* Same, keeping its stdout in out (size outsz, NUL-terminated, cut). */
LDVM_HIDDEN int ldvm__run_out(struct ldvm_ctx *ctx, char *const argv[],
    const char *const add[], char *out, size_t outsz);
/*
 * Starts "dvm-preload args..." in a session of its own, never waited for;
 * args ends with NULL (<= 6).
 */
LDVM_HIDDEN int ldvm__spawn_preload(struct ldvm_ctx *ctx, char *const args[]);
/*
 * Starts dvm-standby (LDVM_LIBEXECDIR) likewise, one end of a new stream
 * socket pair as its descriptor 3; *wfd is the other end (close-on-exec):
 * once it is closed, after ldvm__standby_send or without, the helper
 * becomes "dvm-preload -q -t tmpl --wait-fd 3" (collects, refills).
 */
LDVM_HIDDEN int ldvm__spawn_standby(struct ldvm_ctx *ctx, const char *tmpl,
    int *wfd);
/*
 * Tells the helper standing by at fd that disposable name, owned by owner,
 * is released (standby.c); 0, or -1 when it is gone (no SIGPIPE).
 */
LDVM_HIDDEN int ldvm__standby_send(int fd, const char *name,
    const char *owner);
/* Reaps, without waiting, the helpers of ctx that have ended (ctx.c). */
LDVM_HIDDEN void ldvm__reap_helpers(struct ldvm_ctx *ctx);

/* ---- whole writes (io.c) ---- */
/* Writes all n bytes, retrying short writes and EINTR; -1 with errno. */
LDVM_HIDDEN int ldvm__write_all(int fd, const void *buf, size_t n);
/* Closes *fd unless it is -1, and sets it to -1. */
LDVM_HIDDEN void ldvm__closefd(int *fd);

/* ---- time ---- */
LDVM_HIDDEN int64_t ldvm__now_ms(void);

#endif /* LDVM_INTERNAL_H */
