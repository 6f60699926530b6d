/*
 * The agent's side of a session: take one EXEC from dom0, run it with
 * pipes or a pseudo-terminal, pump its output into the channel only as
 * fast as the channel drains, and report its exit status.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libxenvchan.h>

#include "ldvm_internal.h"

struct child {
	pid_t pid;
	int pidfd;
	int in, out, err;       /* our ends; -1 once closed */
	bool tty;
	bool exited;
	int wstatus;
};

/* Whom a command runs as, from the disposable's own passwd. */
struct runas {
	bool switch_ids;        /* false: the agent's own user, ids kept */
	uid_t uid;
	gid_t gid;
	char name[LDVM_USER_MAX + 1];
	char home[256];
	char shell[256];
};

/* Becomes ru's user, with its groups and its login environment. */
static void
become(const struct runas *ru, bool tty)
{
	int e;

	if (ru->switch_ids && tty)
		(void)fchown(STDIN_FILENO, ru->uid, (gid_t)-1);
	if (ru->switch_ids && (initgroups(ru->name, ru->gid) < 0 ||
	    setgid(ru->gid) < 0 || setuid(ru->uid) < 0)) {
		e = errno;
		dprintf(STDERR_FILENO, "dvm-agent: cannot become %s: %s\n",
		    ru->name, strerror(e));
		_exit(126);
	}
	setenv("HOME", ru->home, 1);
	setenv("USER", ru->name, 1);
	setenv("LOGNAME", ru->name, 1);
	setenv("SHELL", ru->shell, 1);
}

/* At most this long a listener set up beside a session waits for idle CPU. */
#define LISTENER_IDLE_MS 100

/* The commands' PATH. */
#define AGENT_PATH_DIRS \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define AGENT_PATH "PATH=" AGENT_PATH_DIRS

/* The command, by builtin when it is builtin's (ldvm_agent_builtin). */
static void __attribute__((noreturn))
exec_child(char **argv, ldvm_builtin_fn *builtin)
{
	static const char path[] = AGENT_PATH;
	int e, argc;

	ldvm__child_exec_prep();
	putenv((char *)path);
	if (getenv("HOME") == NULL)
		putenv("HOME=/root");
	if (chdir(getenv("HOME")) < 0)
		(void)chdir("/");
	if (builtin != NULL) {
		for (argc = 0; argv[argc] != NULL; argc++)
			;
		/* As an exec would: no handler of the agent stays. */
		signal(SIGINT, SIG_DFL);
		if ((e = builtin(argc, argv)) >= 0) {
			fflush(NULL);
			_exit(e & 0xff);
		}
	}
	execvp(argv[0], argv);
	e = errno;
	dprintf(STDERR_FILENO, "dvm-agent: %s: %s\n", argv[0], strerror(e));
	/* As env(1): 127 when not found, 126 when found but not runnable. */
	_exit(e == ENOENT ? 127 : 126);
}

static int
spawn(struct ldvm_ctx *ctx, char **argv, const struct runas *ru, bool tty,
    uint16_t rows, uint16_t cols, struct child *c)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	int master = -1;
	char slave[64];         /* ptsname_r: no static buffer */

	memset(c, 0, sizeof(*c));
	c->in = c->out = c->err = c->pidfd = -1;
	c->tty = tty;
	if (tty) {
		struct winsize ws = { .ws_row = rows, .ws_col = cols };

		if ((master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 ||
		    grantpt(master) < 0 || unlockpt(master) < 0 ||
		    (errno = ptsname_r(master, slave, sizeof(slave))) != 0) {
			if (master >= 0)
				close(master);
			return ldvm__errno(ctx, LDVM_ESYS, "pseudo-terminal");
		}
		if (rows > 0 && cols > 0)
			ioctl(master, TIOCSWINSZ, &ws);
	} else if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
	    pipe2(perr, O_CLOEXEC) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "pipe");
	if ((c->pid = fork()) < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "fork");
	if (c->pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		setsid();
		if (tty) {
			int s = open(slave, O_RDWR);

			if (s < 0)
				_exit(126);
			ioctl(s, TIOCSCTTY, 0);
			dup2(s, 0);
			dup2(s, 1);
			dup2(s, 2);
			if (s > 2)
				close(s);
			putenv("TERM=xterm");
		} else {
			dup2(pin[0], 0);
			dup2(pout[1], 1);
			dup2(perr[1], 2);
		}
		if (ru != NULL)
			become(ru, tty);
		exec_child(argv, ctx->builtin);
	}
	if (tty) {
		c->in = master;
		c->out = fcntl(master, F_DUPFD_CLOEXEC, 0);
	} else {
		close(pin[0]);
		close(pout[1]);
		close(perr[1]);
		c->in = pin[1];
		c->out = pout[0];
		c->err = perr[0];
	}
	fcntl(c->in, F_SETFL, O_NONBLOCK);
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	if (c->err >= 0)
		fcntl(c->err, F_SETFL, O_NONBLOCK);
	c->pidfd = pidfd_open(c->pid, 0);
	if (c->pidfd < 0)
		return ldvm__errno(ctx, LDVM_ESYS, "pidfd_open");
	return 0;
}

/*
 * dom0 names the user (NULL: the agent's own); the disposable's passwd
 * says who that is.
 */
static int
lookup_user(struct ldvm_ctx *ctx, const char *name, struct runas *ru)
{
	struct passwd pwd, *pw = NULL;
	char buf[8192];         /* the entry's strings: no static storage */
	int e;

	e = name != NULL ? getpwnam_r(name, &pwd, buf, sizeof(buf), &pw) :
	    getpwuid_r(geteuid(), &pwd, buf, sizeof(buf), &pw);
	if (pw == NULL && name == NULL)
		return ldvm__err(ctx, LDVM_ENOENT, "the agent's user is not "
		    "in the disposable's passwd");
	errno = e;
	if (pw == NULL)
		return e != 0 && e != ENOENT && e != ESRCH ?
		    ldvm__errno(ctx, LDVM_ESYS, "user %s", name) :
		    ldvm__err(ctx, LDVM_ENOENT, "no user %s in the disposable",
		    name);
	if (name == NULL)
		name = pw->pw_name;
	if (!ldvm__valid_user(name))
		return ldvm__err(ctx, LDVM_EINVAL, "user name unusable");
	memset(ru, 0, sizeof(*ru));
	ru->switch_ids = pw->pw_uid != geteuid();
	ru->uid = pw->pw_uid;
	ru->gid = pw->pw_gid;
	snprintf(ru->name, sizeof(ru->name), "%s", name);
	snprintf(ru->home, sizeof(ru->home), "%s", pw->pw_dir != NULL &&
	    pw->pw_dir[0] == '/' ? pw->pw_dir : "/");
	snprintf(ru->shell, sizeof(ru->shell), "%s", pw->pw_shell != NULL &&
	    pw->pw_shell[0] == '/' ? pw->pw_shell : "/bin/sh");
	return 0;
}

/* A session's command and its descriptors, as the pump sees them. */
struct session {
	struct child c;
	struct ldvm__pump_fds fds;      /* src: stdout, stderr; sink: stdin */
};

/* A reaped child's pidfd reports POLLHUP for ever: it is polled no more. */
static int
agent_fd(struct ldvm_ctx *ctx, void *arg)
{
	struct session *s = arg;

	(void)ctx;
	return s->c.exited ? -1 : s->c.pidfd;
}

static int
agent_ready(struct ldvm_ctx *ctx, struct ldvm__pump *p, void *arg)
{
	struct session *s = arg;
	int ws;

	(void)ctx;
	if (s->c.exited ||
	    waitpid(s->c.pid, &s->c.wstatus, WNOHANG) != s->c.pid)
		return 0;
	s->c.exited = true;
	ws = s->c.wstatus;
	ldvm__pump_exited(p, WIFSIGNALED(ws), WIFSIGNALED(ws) ? WTERMSIG(ws) :
	    WEXITSTATUS(ws));
	return 0;
}

/*
 * The end of dom0's input closes the command's (a terminal gets its
 * end-of-file character instead); a new size goes to the terminal.
 */
static void
agent_act(struct ldvm__pump_fds *fds, const struct ldvm__pump_do *d,
    void *arg)
{
	struct session *s = arg;
	struct winsize ws = { .ws_row = d->rows, .ws_col = d->cols };
	char eof = 4;

	if (fds->sink[0] < 0)
		return;
	if (d->act == LDVM_PUMP_RESIZE && s->c.tty)
		ioctl(fds->sink[0], TIOCSWINSZ, &ws);
	else if (d->act == LDVM_PUMP_END && s->c.tty)
		(void)write(fds->sink[0], &eof, 1);
	else if (d->act == LDVM_PUMP_END)
		ldvm__closefd(&fds->sink[0]);
}

/* Ends the command if it still runs (the session broke), and its fds. */
static void
reap(struct session *s)
{
	if (!s->c.exited && s->c.pid > 0) {
		kill(-s->c.pid, SIGKILL);
		kill(s->c.pid, SIGKILL);
		waitpid(s->c.pid, &s->c.wstatus, 0);
	}
	ldvm__closefd(&s->c.in);
	ldvm__closefd(&s->c.out);
	ldvm__closefd(&s->c.err);
	ldvm__closefd(&s->c.pidfd);
	ldvm__closefd(&s->fds.src[0]);
	ldvm__closefd(&s->fds.src[1]);
	ldvm__closefd(&s->fds.sink[0]);
}

/* Pumps the spawned command's session; the descriptors become the pump's. */
static int
pump_child(struct ldvm_ctx *ctx, struct ldvm__chan *ch, struct session *s,
    struct ldvm__pump *p)
{
	struct ldvm__pump_hooks h = { .fd = agent_fd, .ready = agent_ready,
	    .act = agent_act, .arg = s };
	struct ldvm__pump_cfg cfg = { .role = LDVM_PUMP_AGENT };

	s->fds.src[0] = s->c.out;
	s->fds.src[1] = s->c.err;
	s->fds.sink[0] = s->c.in;
	s->c.out = s->c.err = s->c.in = -1;
	cfg.src[0] = true;
	cfg.src[1] = s->fds.src[1] >= 0;
	cfg.sink[0] = true;
	cfg.tty = s->c.tty;
	ldvm__pump_init(p, &cfg);
	return ldvm__chan_pump(ctx, ch, p, &s->fds, &h, NULL);
}

/*
 * A Wayland session: the command argv runs under waypipe server (*wargv),
 * which reaches dom0 through *wl.
 */
static int
wayland_open(struct ldvm_ctx *ctx, const struct ldvm__chan *ch,
    const struct runas *ru, char **argv, struct ldvm__wl **wl,
    char ***wargv)
{
	char path[LDVM_XS_PATH_MAX];
	int rc;

	if (!ldvm__wl_find(AGENT_PATH_DIRS, "waypipe"))
		return ldvm__err(ctx, LDVM_ENOENT, "waypipe is not installed "
		    "in the disposable (the template needs it for --wayland)");
	if (ldvm__wl_path(ch->path, path, sizeof(path)) != 0)
		return ldvm__err(ctx, LDVM_EINVAL, "no Wayland stream beside "
		    "%s", ch->path);
	if ((rc = ldvm__wl_agent_open(ctx, path, ru != NULL ? ru->uid :
	    geteuid(), ru != NULL ? ru->gid : getegid(), wl)) != 0)
		return rc;
	if ((*wargv = ldvm__wl_argv(argv, ldvm__wl_socket(*wl))) == NULL) {
		ldvm__wl_close(ctx, *wl);
		*wl = NULL;
		return ldvm__errno(ctx, LDVM_ENOMEM, "calloc");
	}
	return 0;
}

/* Runs argv for the session; *started: when it was spawned (ldvm__now_ms). */
static int
run_session(struct ldvm_ctx *ctx, struct ldvm__chan *ch, char **argv,
    unsigned flags, uint16_t rows, uint16_t cols, int64_t *started)
{
	struct session s = { .fds = { { -1, -1 }, { -1, -1 }, true } };
	struct ldvm__pump *p = NULL;
	struct ldvm__wl *wl = NULL;
	struct runas ru;
	char **wargv = NULL;
	bool has_ru;
	int rc;

	if ((flags & LDVM_EXEC_USER) && (rc = lookup_user(ctx, argv[0],
	    &ru)) != 0)
		return rc;
	/* By default the agent's own user, with its login environment. */
	has_ru = (flags & LDVM_EXEC_USER) || lookup_user(ctx, NULL, &ru) == 0;
	if (flags & LDVM_EXEC_USER)
		argv++;
	if ((flags & LDVM_EXEC_WAYLAND) && (rc = wayland_open(ctx, ch,
	    has_ru ? &ru : NULL, argv, &wl, &wargv)) != 0)
		return rc;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		rc = ldvm__errno(ctx, LDVM_ENOMEM, "calloc");
	else if ((rc = spawn(ctx, wargv != NULL ? wargv : argv, has_ru ? &ru :
	    NULL, flags & LDVM_EXEC_TTY, rows, cols, &s.c)) == 0) {
		*started = ldvm__now_ms();
		/* The relay's thread only after the fork. */
		if (wl == NULL || (rc = ldvm__wl_start(ctx, wl)) == 0)
			rc = pump_child(ctx, ch, &s, p);
		/* dom0 went away or the session broke: end the command. */
		reap(&s);
	}
	ldvm__wl_close(ctx, wl);
	free(wargv);
	free(p);
	return rc;
}

/*
 * The session's steps as the guest saw them, at debug level: when dom0
 * connected by the guest's wall clock (for finding the session in a log;
 * it can be tens of ms off dom0's), then, by the steady clock, how long
 * after that its EXEC was read, the command started and the session ended.
 */
static void
log_steps(struct ldvm_ctx *ctx, const struct ldvm__chan *ch,
    const struct timespec *rt, const int64_t t[4])
{
	ldvm__log(ctx, LDVM_LOG_DEBUG, "%s: dom0 connected at %lld.%03ld; "
	    "EXEC read +%lld ms, command started +%lld ms, session over "
	    "+%lld ms", ch->path, (long long)rt->tv_sec, rt->tv_nsec / 1000000,
	    (long long)(t[1] - t[0]), (long long)(t[2] - t[0]),
	    (long long)(t[3] - t[0]));
}

int
ldvm__chan_serve(struct ldvm_ctx *ctx, struct ldvm__chan *ch)
{
	uint16_t rows, cols;
	unsigned flags;
	char why[160], **argv;
	struct timespec rt;
	int64_t t[4];
	int rc;

	clock_gettime(CLOCK_REALTIME, &rt);
	t[0] = ldvm__now_ms();
	if ((rc = ldvm__chan_hello(ctx, ch)) != 0 ||
	    (rc = ldvm__chan_recv_wait(ctx, ch, LDVM_HELLO_TIMEOUT_MS)) != 0)
		return rc;
	if (ch->rx.type != LDVM_F_EXEC)
		return ldvm__err(ctx, LDVM_EPROTO, "expected EXEC, got %s",
		    ldvm__frame_name(ch->rx.type));
	if (ldvm__exec_decode(ch->rx.buf, ch->rx.len, &flags, &rows, &cols,
	    &argv, why, sizeof(why)) != 0) {
		ldvm__chan_send_wait(ctx, ch, LDVM_F_ERROR, why, strlen(why),
		    LDVM_HELLO_TIMEOUT_MS);
		return ldvm__err(ctx, LDVM_EPROTO, "%s", why);
	}
	ldvm__rx_next(&ch->rx);
	t[1] = t[2] = ldvm__now_ms();
	rc = run_session(ctx, ch, argv, flags, rows, cols, &t[2]);
	t[3] = ldvm__now_ms();
	log_steps(ctx, ch, &rt, t);
	if (rc != 0 && rc != LDVM_EPROTO && libxenvchan_is_open(ch->v)) {
		const char *m = ldvm_errmsg(ctx);

		ldvm__chan_send(ctx, ch, LDVM_F_ERROR, m, strlen(m));
	}
	free(argv);
	return rc;
}

/*
 * One listener: a vchan server at base/vchan/<seq>, announced in
 * base/listen; reports on fd once dom0 connected ('c'), then serves that
 * session.  Set up while a session begins (idle), it first makes itself
 * an idle-priority process and says so ('i'): the command that session
 * runs, and the exchange with dom0 around it, come first; the agent gives
 * it back its priority after LISTENER_IDLE_MS at most, and it takes it
 * back itself before it accepts anyone.
 */
static void __attribute__((noreturn))
listener(const char *base, unsigned long seq, int fd,
    const struct ldvm_ctx *parent, bool idle)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	struct ldvm__chan *ch;
	char path[LDVM_XS_PATH_MAX], lpath[LDVM_XS_PATH_MAX], val[24];
	struct sched_param sp = { .sched_priority = 0 };

	signal(SIGCHLD, SIG_DFL);
	if (idle && sched_setscheduler(0, SCHED_IDLE, &sp) == 0)
		(void)write(fd, "i", 1);
	/* A connection of our own: the parent's must not be shared. */
	if (ctx == NULL || ldvm_connect(ctx, LDVM_CONNECT_XS) != 0)
		_exit(1);
	ldvm_set_interrupt(ctx, parent->stop);
	ldvm_set_log(ctx, parent->logfn, parent->logarg, parent->logmin);
	ldvm_set_waitmask(ctx, parent->has_waitmask ? &parent->waitmask : NULL);
	ctx->builtin = parent->builtin;
	snprintf(val, sizeof(val), "%lu", seq);
	if (ldvm__path(ctx, path, sizeof(path), "%s/vchan/%lu", base, seq) ||
	    ldvm__path(ctx, lpath, sizeof(lpath), "%s/listen", base) ||
	    ldvm__chan_listen(ctx, path, &ch) != 0 ||
	    ldvm__xs_write(ctx, XBT_NULL, lpath, val) != 0)
		_exit(1);
	/* Never a session (nor its command) at idle priority. */
	if (idle && sched_setscheduler(0, SCHED_OTHER, &sp) != 0)
		_exit(1);
	if (ldvm__chan_accept(ctx, ch) != 0)
		_exit(1);
	(void)write(fd, "c", 1);
	close(fd);
	ldvm__chan_serve(ctx, ch);
	ldvm__chan_close_after_peer(ctx, ch);
	ldvm_ctx_free(ctx);
	_exit(0);
}

/*
 * The agent's area and the number of its first listener: whatever an
 * earlier agent left is stale now, but dom0 remembers the last listener
 * it claimed, so a restarted agent numbers on from there.
 */
static int
agent_start(struct ldvm_ctx *ctx, char *base, size_t size, unsigned long *seq)
{
	char lpath[LDVM_XS_PATH_MAX], val[16], *id;
	unsigned long domid;
	int rc;

	if ((rc = ldvm__need(ctx, LDVM_CONNECT_XS)) != 0 ||
	    (rc = ldvm__xs_read(ctx, XBT_NULL, "domid", &id)) != 0)
		return rc;
	if (!ldvm__parse_uint(id, strlen(id), 0x7fef, &domid)) {
		free(id);
		return ldvm__err(ctx, LDVM_EPROTO, "bad own domain id");
	}
	free(id);
	if ((rc = ldvm__area_path(ctx, base, size, (uint32_t)domid,
	    NULL)) != 0)
		return rc;
	if (ldvm__path(ctx, lpath, sizeof(lpath), "%s/listen", base) == 0 &&
	    ldvm__xs_read_untrusted(ctx, XBT_NULL, lpath, 9, LDVM_V_UINT, val,
	    sizeof(val)) == 0 && ldvm__parse_uint(val, strlen(val), 99999999,
	    seq))
		(*seq)++;
	else
		*seq = 1;
	ldvm__xs_rm(ctx, XBT_NULL, base);
	return 0;
}

/*
 * Waits for the listener pid's word on fd: 1 when a client connected, 0
 * when the listener died first; a signal is let in only while waiting
 * here.  A listener gone idle ('i') is given its priority back after
 * LISTENER_IDLE_MS, so a command that never leaves the CPU idle delays the
 * next session by that much at most.
 */
static int
await_listener(struct ldvm_ctx *ctx, int fd, pid_t pid, int *connected)
{
	struct sched_param sp = { .sched_priority = 0 };
	int64_t boost = -1;     /* when to end the listener's idle priority */
	ssize_t n = 0;
	char c;
	int rc = 0, wait;

	for (;;) {
		struct pollfd pl = { .fd = fd, .events = POLLIN };

		if ((rc = ldvm__interrupted(ctx)) != 0)
			break;
		wait = -1;
		if (boost >= 0 && (wait = (int)(boost - ldvm__now_ms())) <= 0) {
			(void)sched_setscheduler(pid, SCHED_OTHER, &sp);
			boost = -1;
			continue;
		}
		if ((n = ldvm__poll(ctx, &pl, 1, wait)) < 0) {
			if (errno == EINTR)
				continue;
			rc = ldvm__errno(ctx, LDVM_ESYS, "poll");
			break;
		}
		if (n == 0)
			continue;
		if ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
			continue;
		if (n == 1 && c == 'i') {
			boost = ldvm__now_ms() + LISTENER_IDLE_MS;
			continue;
		}
		break;
	}
	*connected = n == 1 && c == 'c';
	return rc;
}

/*
 * Whether the agent may give a listener back its priority once it made
 * itself idle (CAP_SYS_NICE); without, listeners keep theirs throughout.
 */
static bool
may_renice(void)
{
	char line[128];
	unsigned long long cap;
	bool ok = false;
	FILE *f;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "CapEff: %llx", &cap) == 1) {
			ok = (cap >> CAP_SYS_NICE) & 1;
			break;
		}
	fclose(f);
	return ok;
}

/*
 * Reads once, before the first listener is announced, what a session's
 * first command would otherwise read from the disk of a just-booted (or
 * just-claimed, preloaded) disposable: the user and group databases
 * (their set-up then stays in this process, inherited by every listener)
 * and the directories PATH searches.
 */
static void
warm(void)
{
	static const char dirs[] = AGENT_PATH_DIRS;
	char buf[8192], dir[64];
	struct passwd pwd, *pw = NULL;
	gid_t groups[64];
	int n = 64;
	size_t i = 0, k;
	DIR *d;

	if (getpwuid_r(geteuid(), &pwd, buf, sizeof(buf), &pw) == 0 &&
	    pw != NULL)
		(void)getgrouplist(pw->pw_name, pw->pw_gid, groups, &n);
	while (dirs[i] != '\0') {
		k = strcspn(dirs + i, ":");
		snprintf(dir, sizeof(dir), "%.*s", (int)k, dirs + i);
		if ((d = opendir(dir)) != NULL) {
			while (readdir(d) != NULL)
				;
			closedir(d);
		}
		i += k + (dirs[i + k] == ':');
	}
}

void
ldvm_agent_builtin(struct ldvm_ctx *ctx, ldvm_builtin_fn *fn)
{
	ctx->builtin = fn;
}

int
ldvm_agent_serve(struct ldvm_ctx *ctx)
{
	char base[LDVM_XS_PATH_MAX];
	unsigned long seq;
	unsigned failures = 0;
	struct sigaction sa;
	int rc, connected;
	bool renice, busy = false;      /* busy: a session just began */

	if ((rc = agent_start(ctx, base, sizeof(base), &seq)) != 0)
		return rc;
	warm();
	renice = may_renice();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDWAIT;     /* sessions reap themselves */
	sigaction(SIGCHLD, &sa, NULL);
	for (;;) {
		int p[2];
		pid_t pid;

		if ((rc = ldvm__interrupted(ctx)) != 0)
			return rc;
		if (pipe2(p, O_CLOEXEC) < 0)
			return ldvm__errno(ctx, LDVM_ESYS, "pipe");
		/* The next listener (a guest's agent: no libxl here). */
		if ((pid = fork()) < 0) {
			close(p[0]);
			close(p[1]);
			return ldvm__errno(ctx, LDVM_ESYS, "fork");
		}
		if (pid == 0) {
			close(p[0]);
			listener(base, seq, p[1], ctx, busy && renice);
		}
		close(p[1]);
		rc = await_listener(ctx, p[0], pid, &connected);
		close(p[0]);
		if (rc != 0) {
			kill(pid, SIGTERM);
			return rc;
		}
		if (connected) {
			ldvm__log(ctx, LDVM_LOG_DEBUG, "session %lu connected",
			    seq);
			seq++;
			failures = 0;
			busy = true;
			continue;
		}
		/*
		 * The listener died before anyone connected.  Its number may
		 * have been claimed already: never announce it again.
		 */
		ldvm__log(ctx, LDVM_LOG_WARN, "listener %lu failed", seq++);
		busy = false;
		if (++failures >= 10)
			return ldvm__err(ctx, LDVM_EXEN, "cannot set up a vchan "
			    "listener (is xen-gntalloc loaded?)");
		sleep(1);
	}
}
