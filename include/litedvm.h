/*
 * liblitedvm: disposable VMs for Xen.
 *
 * The library keeps every piece of shared state in a xenstore tree under
 * LDVM_XS_ROOT, drives domains through libxenlight and talks to the agent
 * inside a disposable over libxenvchan.  It never prints and never exits:
 * every function that can fail returns 0 or a negative LDVM_E* code, and
 * ldvm_errmsg() gives a one-line description of the last failure on that
 * context.  Handles are opaque; whatever a function hands out is freed with
 * the matching *_free function.  Only standard headers are included here,
 * so no Xen type leaks into programs that use the library.
 *
 * A context is not thread-safe: use one per thread.
 */
#ifndef LITEDVM_H
#define LITEDVM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LDVM_API __attribute__((visibility("default")))
#else
#define LDVM_API
#endif

#define LDVM_XS_ROOT "/litedvm"

/* Return codes: 0 is success, every failure is negative. */
enum {
	LDVM_OK = 0,
	LDVM_ESYS = -1,      /* a system call failed; the message says which */
	LDVM_EINVAL = -2,    /* bad argument, bad configuration */
	LDVM_ENOENT = -3,    /* no such template, domain or record */
	LDVM_EXEN = -4,      /* libxl or xenstore failed */
	LDVM_ETIMEDOUT = -5,
	LDVM_EPROTO = -6,    /* the peer broke the protocol */
	LDVM_ENOMEM = -7,
	LDVM_EEXIST = -8,
	LDVM_EPERM = -9,     /* refused by configuration or policy */
	LDVM_EAGAIN = -10,   /* contention that did not resolve in time */
	LDVM_EINTR = -11,    /* interrupted: the interrupt flag was set */
	LDVM_EBUSY = -12,    /* a template volume is in use by a domain */
};

/* Upper bounds on names, so callers can size buffers. */
#define LDVM_NAME_MAX 32        /* template and disposable names, without NUL */

struct ldvm_ctx;
struct ldvm_template;

/* ---- context ------------------------------------------------------- */

/* Connection flags for ldvm_connect. */
#define LDVM_CONNECT_XS 0x1u    /* xenstore (dom0 or guest) */
#define LDVM_CONNECT_XL 0x2u    /* libxenlight (dom0 only) */

/* Log levels for the optional log callback. */
enum { LDVM_LOG_DEBUG, LDVM_LOG_INFO, LDVM_LOG_WARN, LDVM_LOG_ERROR };
typedef void ldvm_log_fn(void *arg, int level, const char *msg);

/* A new context with nothing connected; NULL when out of memory. */
LDVM_API struct ldvm_ctx *ldvm_ctx_new(void);
/* Connects to xenstore and/or libxl (LDVM_CONNECT_* flags). */
LDVM_API int ldvm_connect(struct ldvm_ctx *ctx, unsigned flags);
LDVM_API void ldvm_ctx_free(struct ldvm_ctx *ctx);
/* The last failure on ctx, one line without trailing newline; never NULL. */
LDVM_API const char *ldvm_errmsg(const struct ldvm_ctx *ctx);
/* Messages from libxl and the library at level >= min go to fn. */
LDVM_API void ldvm_set_log(struct ldvm_ctx *ctx, ldvm_log_fn *fn, void *arg,
    int min);
/*
 * Long waits (boot, channel, domain death) return LDVM_EINTR soon after
 * *flag becomes non-zero, typically set by the caller's signal handler.
 */
LDVM_API void ldvm_set_interrupt(struct ldvm_ctx *ctx,
    const volatile sig_atomic_t *flag);
/*
 * The signal mask the library's waits run with (ppoll(2)).  A caller that
 * keeps its interrupt signals blocked passes the mask that lets them in:
 * a signal is then taken only inside a wait, which returns at once, never
 * between the look at the flag and the wait that would sleep past it.
 * NULL (the default) waits with the caller's mask.  Programs the library
 * starts get an empty mask.
 */
LDVM_API void ldvm_set_waitmask(struct ldvm_ctx *ctx, const sigset_t *mask);
/*
 * The lifecycle journal: fn gets one line per event in a disposable's
 * life ("EVENT key=value ...", see litedvm(7)); the tools send it to
 * syslog(3).  NULL (the default) keeps no journal.
 */
typedef void ldvm_journal_fn(void *arg, const char *line);
LDVM_API void ldvm_set_journal(struct ldvm_ctx *ctx, ldvm_journal_fn *fn,
    void *arg);
#define LDVM_HAVE_JOURNAL 1
#define LDVM_HAVE_WAITMASK 1
/* A short name for a return code ("invalid argument", ...). */
LDVM_API const char *ldvm_strerror(int code);

/* ---- templates ----------------------------------------------------- */

/*
 * A template is an xl.cfg(5) file, one per template, plus litedvm keys:
 *   litedvm_dispvm_template = 1      may spawn disposables (default 0)
 *   litedvm_preload = N              pool size for dvm-preload (default 0)
 *   litedvm_preload_memory = MiB     balloon target while pooled
 *   litedvm_ready_timeout = seconds  boot-to-agent-ready bound (default 60)
 * Files live in the configuration directory: $LITEDVM_CONFDIR, else
 * SYSCONFDIR/litedvm.
 */
LDVM_API const char *ldvm_confdir(void);
/*
 * The default template's name: default_template in <confdir>/litedvm.conf,
 * else "default".
 */
LDVM_API int ldvm_default_template(struct ldvm_ctx *ctx, char *buf,
    size_t size);
/*
 * Calls fn(arg, name) for each file <confdir>/<name>.cfg, in directory
 * order; name is at most LDVM_NAME_MAX bytes, and otherwise unchecked
 * (ldvm_template_load says whether it is a template).  A non-zero return
 * from fn ends the walk and is returned.  LDVM_ENOENT when the directory
 * does not exist.
 */
typedef int ldvm_template_fn(void *arg, const char *name);
LDVM_API int ldvm_template_list(struct ldvm_ctx *ctx, ldvm_template_fn *fn,
    void *arg);
#define LDVM_HAVE_TEMPLATE_LIST 1
/* Loads <confdir>/<name>.cfg. */
LDVM_API int ldvm_template_load(struct ldvm_ctx *ctx, const char *name,
    struct ldvm_template **out);
/* Loads a template from an explicit path; name must still be valid. */
LDVM_API int ldvm_template_load_file(struct ldvm_ctx *ctx, const char *name,
    const char *path, struct ldvm_template **out);
LDVM_API void ldvm_template_free(struct ldvm_template *t);
LDVM_API const char *ldvm_template_name(const struct ldvm_template *t);
LDVM_API int ldvm_template_is_dispvm(const struct ldvm_template *t);
LDVM_API int ldvm_template_preload(const struct ldvm_template *t);
LDVM_API int ldvm_template_ready_timeout(const struct ldvm_template *t);
/* litedvm_timeout: seconds a command may run by default, 0 for no limit. */
LDVM_API unsigned ldvm_template_timeout(const struct ldvm_template *t);
LDVM_API uint64_t ldvm_template_memory_kb(const struct ldvm_template *t);
LDVM_API uint64_t ldvm_template_preload_memory_kb(const struct ldvm_template *t);
LDVM_API int ldvm_template_ndisks(const struct ldvm_template *t);
/* Changes whenever the configuration or a file it boots from changes. */
LDVM_API const char *ldvm_template_version(const struct ldvm_template *t);
/* The libxl view of the template as JSON; the caller frees *json. */
LDVM_API int ldvm_template_to_json(struct ldvm_ctx *ctx,
    const struct ldvm_template *t, char **json);

/* ---- domains ------------------------------------------------------- */

/*
 * Creates a domain from t, named name, left paused.  *domid is set as soon
 * as the domain exists, also when a later step fails (then the domain has
 * already been destroyed again) so callers can record it.
 */
LDVM_API int ldvm_domain_create(struct ldvm_ctx *ctx,
    const struct ldvm_template *t, const char *name, uint32_t *domid);
LDVM_API int ldvm_domain_pause(struct ldvm_ctx *ctx, uint32_t domid);
LDVM_API int ldvm_domain_unpause(struct ldvm_ctx *ctx, uint32_t domid);
/*
 * Destroys the domain and its backends; LDVM_ENOENT when it is gone.  A
 * domain already being destroyed (xl destroy) is waited for, up to 10 s:
 * 0 once it is gone.
 */
LDVM_API int ldvm_domain_destroy(struct ldvm_ctx *ctx, uint32_t domid);
/* 1 when a domain with that id exists, 0 when not, <0 on error. */
LDVM_API int ldvm_domain_exists(struct ldvm_ctx *ctx, uint32_t domid);
/* LDVM_ENOENT when no domain has that name. */
LDVM_API int ldvm_domain_lookup(struct ldvm_ctx *ctx, const char *name,
    uint32_t *domid);
/* Domain states reported by ldvm_domain_wait. */
enum { LDVM_DOM_SHUTDOWN = 1, LDVM_DOM_DEAD = 2 };
/*
 * Waits until the domain shuts down or is gone, at most timeout_ms
 * (-1: no bound).  *how is LDVM_DOM_SHUTDOWN or LDVM_DOM_DEAD.
 */
LDVM_API int ldvm_domain_wait(struct ldvm_ctx *ctx, uint32_t domid,
    int timeout_ms, int *how);

/* ---- disposables -------------------------------------------------- */

struct ldvm_disp;

/*
 * Makes a disposable from t: records it, snapshots its writable volumes,
 * creates and starts the domain and waits until its agent is ready.  The
 * calling process owns it: when the process dies, ldvm_gc removes it.  On
 * failure everything made so far is removed again.
 */
LDVM_API int ldvm_disp_create(struct ldvm_ctx *ctx,
    const struct ldvm_template *t, struct ldvm_disp **out);
/*
 * As ldvm_disp_create, under a name of the caller's (NULL: dispN):
 * LDVM_EEXIST when a disposable or any domain has it, LDVM_EINVAL when
 * ldvm_disp_name_ok refuses it.
 */
LDVM_API int ldvm_disp_create_named(struct ldvm_ctx *ctx,
    const struct ldvm_template *t, const char *name, struct ldvm_disp **out);
/* A name for ldvm_disp_create_named: [A-Za-z0-9][A-Za-z0-9_]*, <= 32. */
LDVM_API bool ldvm_disp_name_ok(const char *name);
#define LDVM_HAVE_DISP_NAMED 1
/*
 * A disposable from t's preload pool when one is ready, else a fresh one as
 * ldvm_disp_create makes (and a background refill of the pool is started).
 * A pooled one is refilled when it is released by ldvm_disp_destroy; a
 * caller that keeps it calls ldvm_pool_refill itself.
 */
LDVM_API int ldvm_disp_acquire(struct ldvm_ctx *ctx,
    const struct ldvm_template *t, struct ldvm_disp **out);
/* 1 when d came out of the preload pool. */
LDVM_API int ldvm_disp_from_pool(const struct ldvm_disp *d);
/* A handle on an existing, running disposable (not owned). */
LDVM_API int ldvm_disp_open(struct ldvm_ctx *ctx, const char *name,
    struct ldvm_disp **out);
LDVM_API const char *ldvm_disp_name(const struct ldvm_disp *d);
LDVM_API uint32_t ldvm_disp_domid(const struct ldvm_disp *d);
/* "reflink", "copy" or "none": how its volumes were made. */
LDVM_API const char *ldvm_disp_voldriver(const struct ldvm_disp *d);
/* Phase i's name and duration; 0 past the last phase. */
LDVM_API int ldvm_disp_phase(const struct ldvm_disp *d, int i,
    const char **name, long *ms);
/* ldvm_disp_run's flags. */
#define LDVM_RUN_TTY 0x1        /* the command runs on a pseudo-terminal */
#define LDVM_RUN_FILTER_OUT 0x2 /* its output: escapes become '_' */
#define LDVM_RUN_FILTER_ERR 0x4 /* its error output: likewise */
#define LDVM_HAVE_RUN_FILTER 1  /* the two above exist */
/*
 * The command runs under waypipe server in the disposable; its windows
 * reach the caller's Wayland compositor (WAYLAND_DISPLAY) through a
 * waypipe client that the library starts, over a vchan of their own.
 */
#define LDVM_RUN_WAYLAND 0x8
#define LDVM_HAVE_RUN_WAYLAND 1
/*
 * Whether LDVM_RUN_WAYLAND can work here: WAYLAND_DISPLAY names a socket
 * and waypipe is in PATH.  LDVM_EINVAL or LDVM_ENOENT, saying what is
 * missing, when not.
 */
LDVM_API int ldvm_wayland_check(struct ldvm_ctx *ctx);
/*
 * Runs argv (never through a shell) in d, passing in/out/err through.
 * flags are LDVM_RUN_*: a pseudo-terminal, and which streams have every
 * byte but printable ASCII, tab, newline, carriage return and backspace
 * replaced by '_' (what a terminal may safely show).  *status is the
 * command's exit status, or 128 + signal number.
 */
LDVM_API int ldvm_disp_run(struct ldvm_ctx *ctx, struct ldvm_disp *d,
    char *const argv[], int flags, int in, int out, int err, int *status);
/* What ldvm_disp_exec runs, how, and as whom; ldvm_run_init sets defaults. */
struct ldvm_run {
	char *const *argv;      /* the command, never through a shell */
	const char *user;       /* NULL: the agent's own user, root */
	int flags;              /* LDVM_RUN_* */
	int in, out, err;       /* descriptors passed through; -1: none */
};
LDVM_API void ldvm_run_init(struct ldvm_run *r);
/* A user name for struct ldvm_run: [A-Za-z0-9_][A-Za-z0-9_.-]*, <= 32. */
LDVM_API bool ldvm_user_name_ok(const char *name);
/*
 * ldvm_disp_run with a struct ldvm_run.  A user the disposable does not
 * know fails the run (LDVM_EPROTO, the agent's reason in the message)
 * before anything is started.
 */
LDVM_API int ldvm_disp_exec(struct ldvm_ctx *ctx, struct ldvm_disp *d,
    const struct ldvm_run *r, int *status);
#define LDVM_HAVE_RUN_USER 1
/*
 * Destroys d's domain, volumes and record; for a disposable from the pool
 * this is handed to a background process (the one standing by since its
 * command started, see ldvm_standby_wait; else after marking d dying, a
 * new one), so it returns at once.  The handle stays to be freed.
 */
LDVM_API int ldvm_disp_destroy(struct ldvm_ctx *ctx, struct ldvm_disp *d);
LDVM_API void ldvm_disp_free(struct ldvm_disp *d);
/* Waits for d's domain to shut down or die, then tears d down. */
LDVM_API int ldvm_disp_monitor(struct ldvm_ctx *ctx, struct ldvm_disp *d);
/* ---- preload pool ------------------------------------------------- */

/*
 * Brings the pool of t to count members (count < 0: the template's
 * litedvm_preload): replaces members of older template versions and
 * members someone unpaused, then boots, balloons down and pauses new ones.
 * Safe to run concurrently with itself and with claims; never overfills.
 * *made counts the members it added.
 */
LDVM_API int ldvm_pool_fill(struct ldvm_ctx *ctx,
    const struct ldvm_template *t, int count, int *made);
/*
 * Brings a pool above keep members (keep < 0: the template's
 * litedvm_preload) down to keep: the newest surplus members are destroyed,
 * never one being claimed.  ldvm_pool_fill does this first.
 */
LDVM_API int ldvm_pool_trim(struct ldvm_ctx *ctx,
    const struct ldvm_template *t, int keep, unsigned *removed);
/*
 * Empties every pool: no member joins a pool meanwhile, members being built
 * are torn down as they finish.  Returns once no pool member is left, or
 * LDVM_ETIMEDOUT after timeout_s.  *removed counts members destroyed here.
 */
LDVM_API int ldvm_pool_drain(struct ldvm_ctx *ctx, int timeout_s,
    unsigned *removed);
/* Removes pool members that must not be handed out; *removed counts them. */
LDVM_API int ldvm_pool_prune(struct ldvm_ctx *ctx,
    const struct ldvm_template *t, unsigned *removed);
/*
 * Takes the newest ready member of t's pool in one transaction, unpauses it
 * and gives its memory back.  LDVM_ENOENT when the pool has none.
 */
LDVM_API int ldvm_pool_claim(struct ldvm_ctx *ctx,
    const struct ldvm_template *t, struct ldvm_disp **out);
/*
 * As ldvm_pool_claim, by the template's name and without loading it: its
 * configuration is read and hashed, not parsed, and a member is taken
 * only if that and the files its entry in the pool names give the version
 * it was made from.  *timeout (if not NULL): the template's
 * litedvm_timeout.  LDVM_ENOENT when no such member is ready: load the
 * template then and call ldvm_disp_acquire.  For a caller that runs its
 * command at once: the record stays "claimed" until ldvm_disp_exec makes
 * it "running" (ldvm_pool_claim's says "ready" in between), and the
 * agent's listener is claimed with the member, for this process's first
 * ldvm_disp_exec: no other client connects to it before that.
 */
LDVM_API int ldvm_pool_claim_named(struct ldvm_ctx *ctx, const char *tmpl,
    struct ldvm_disp **out, unsigned *timeout);
#define LDVM_HAVE_POOL_CLAIM_NAMED 1
/* Starts a background dvm-preload for t's pool, if t has one. */
LDVM_API int ldvm_pool_refill(struct ldvm_ctx *ctx,
    const struct ldvm_template *t);
/* How many members t's pool has now. */
LDVM_API int ldvm_pool_size(struct ldvm_ctx *ctx, const char *tmpl, int *n);

/* What ldvm_list reports of each disposable. */
struct ldvm_info {
	const char *name;
	const char *tmpl;
	const char *state;
	const char *owner;      /* "<pid>:<start>", "pool", or "" */
	uint32_t domid;         /* ~0 when there is no domain */
	uint64_t memkb;         /* current memory */
	long age_s;
	int pooled;             /* a paused pool member, hidden from use */
	int owner_alive;
};
typedef void ldvm_list_fn(void *arg, const struct ldvm_info *info);
/* Calls fn for every recorded disposable. */
LDVM_API int ldvm_list(struct ldvm_ctx *ctx, ldvm_list_fn *fn, void *arg);

/* ---- inside a disposable ------------------------------------------ */

/*
 * The agent: announces readiness in the guest's own xenstore area and
 * serves commands from dom0 over libxenvchan, one listener per session.
 * Needs only LDVM_CONNECT_XS.  Returns only on failure or interruption.
 * It is its process's main loop: each session is a child process, and
 * SIGCHLD is set to SIG_DFL with SA_NOCLDWAIT so that they need no
 * reaping; the caller must have no children of its own to wait for.
 */
LDVM_API int ldvm_agent_serve(struct ldvm_ctx *ctx);

/*
 * A command the agent runs without an exec: fn is called in the
 * command's process, where the exec would be (its standard streams,
 * user, environment and directory set, signals at their defaults), with
 * the command's argc and argv.  It returns -1 when argv is not its
 * command (which is then exec'd as any other), else the exit status; it
 * may also exit itself.  NULL (the default): every command is exec'd.
 */
typedef int ldvm_builtin_fn(int argc, char *argv[]);
LDVM_API void ldvm_agent_builtin(struct ldvm_ctx *ctx, ldvm_builtin_fn *fn);

/* ---- dvm-open ---------------------------------------------------- */

/* What ldvm_open_file did with the file. */
enum {
	LDVM_OPEN_UNCHANGED = 0,        /* unchanged, or opened view-only */
	LDVM_OPEN_REPLACED = 1,         /* edited; the original was replaced */
	LDVM_OPEN_SAVED = 2             /* edited; saved elsewhere (*saved) */
};
/*
 * In a guest: asks dom0's dvm-open service to open the file at path in a
 * disposable of template tmpl (NULL: the guest's default), and waits until
 * that session is over.  Edits come back by content: the original is
 * replaced atomically, or, when its directory or the file is not
 * writable, the new content is saved beside it or in $TMPDIR and the path
 * goes to saved (size savedsz).  view_only never writes anything.
 * LDVM_EPERM when dom0 refused the request.  Needs LDVM_CONNECT_XS.
 */
LDVM_API int ldvm_open_file(struct ldvm_ctx *ctx, const char *path,
    const char *tmpl, int view_only, int *result, char *saved,
    size_t savedsz);
/*
 * In dom0: serves dvm-open requests of all guests, as the policy in
 * <confdir>/open.policy allows, each in a process of its own.  Learns of
 * requests through xenstore watches on the guests' own areas only.
 * Returns only on failure or interruption.  Needs both connections.
 */
LDVM_API int ldvm_open_serve(struct ldvm_ctx *ctx);
/*
 * In the disposable: reads the file from in, opens it as name with the
 * opener (argv; "%f" stands for the file), waits for the opener to exit
 * (wait "exit") or also until no process holds the file open ("close"),
 * and writes the content to out when it changed (*changed = 1).
 */
LDVM_API int ldvm_open_session(struct ldvm_ctx *ctx, const char *name,
    int view_only, const char *wait, char *const opener[], int in, int out,
    int *changed);
/*
 * The exit status of dvm-open --session (and --take) in the disposable
 * when the file came back changed, its content on standard output: the
 * one contract between dom0's dvm-open service and the session it runs.
 */
#define LDVM_OPEN_SESSION_CHANGED 3
/*
 * A session whose opener runs on the requester's terminal, in three runs
 * in the same disposable (dvm-open --session --put, --terminal, --take):
 * ldvm_open_stage reads the file from in and keeps it as name;
 * ldvm_open_session_tty opens it with the opener, which inherits the
 * caller's standard input, output and error (the terminal), and notes the
 * opener's exit status in *status; ldvm_open_take then writes the content
 * to out when it changed (*changed = 1), as ldvm_open_session does.
 * opener names the opener in messages.
 */
LDVM_API int ldvm_open_stage(struct ldvm_ctx *ctx, const char *name,
    int view_only, int in);
LDVM_API int ldvm_open_session_tty(struct ldvm_ctx *ctx, const char *name,
    const char *wait, char *const opener[], int *status);
LDVM_API int ldvm_open_take(struct ldvm_ctx *ctx, const char *name,
    int view_only, const char *opener, int out, int *changed);
/*
 * ldvm_open_file, from a terminal: tty (-1: none) is the terminal, read
 * and written, that a template's terminal opener (litedvm_open_terminal)
 * runs on.  While it runs, tty is in raw mode; its former mode is back
 * before this returns.  Its window size is followed: a caller that
 * catches SIGWINCH and lets it interrupt the waits (ldvm_set_waitmask)
 * makes a resize seen at once.
 */
LDVM_API int ldvm_open_file_tty(struct ldvm_ctx *ctx, const char *path,
    const char *tmpl, int view_only, int tty, int *result, char *saved,
    size_t savedsz);
#define LDVM_HAVE_OPEN_TERMINAL 1
/*
 * ldvm_open_file and ldvm_open_file_tty offer the caller's Wayland session
 * (WAYLAND_DISPLAY a socket, waypipe in PATH) to a template whose opener
 * shows windows (litedvm_open_wayland): waypipe client runs against it,
 * as the caller, until the call returns.
 */
#define LDVM_HAVE_OPEN_WAYLAND 1

/*
 * The refill helper a pooled session starts (dvm-preload --wait-fd):
 * ldvm_standby_wait blocks until fd reads end of file (every holder of its
 * other end closed it or ended) and keeps what ldvm_disp_destroy sent
 * there, the disposable released and its owner; NULL with errno set on a
 * read error or out of memory.  fd stays open.  ldvm_standby_name says
 * which disposable was released (NULL: none was, its caller died).
 * ldvm_standby_release marks that record dying with no owner, the hand-off
 * to its teardown that ldvm_gc then finishes, only while the sender still
 * owns it (else it does nothing): 0, or the error.
 */
struct ldvm_standby;
LDVM_API struct ldvm_standby *ldvm_standby_wait(int fd);
LDVM_API const char *ldvm_standby_name(const struct ldvm_standby *s);
LDVM_API int ldvm_standby_release(struct ldvm_ctx *ctx,
    const struct ldvm_standby *s);
LDVM_API void ldvm_standby_free(struct ldvm_standby *s);
#define LDVM_HAVE_STANDBY 1

/*
 * Garbage collection: tears down every disposable whose owner is dead or
 * whose domain is gone, then removes leftovers, the volumes in litedvm's
 * places that no record describes (as a reboot leaves them); *removed
 * counts the disposables and the leftover volumes.
 */
LDVM_API int ldvm_gc(struct ldvm_ctx *ctx, unsigned *removed);

#ifdef __cplusplus
}
#endif
#endif /* LITEDVM_H */
