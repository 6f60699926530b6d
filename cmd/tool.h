/*
 * What every tool does alike: signals set an interrupt flag that the
 * library's long waits watch (they then return LDVM_EINTR), and library
 * messages go to standard error as err(3) would print them.  The signals
 * stay blocked but inside the library's waits (ppoll), so one can never
 * land between the look at the flag and a wait that would sleep past it.
 */
#ifndef TOOL_H
#define TOOL_H

#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "litedvm.h"

static volatile sig_atomic_t stop;
static sigset_t tool_waitmask;          /* the mask with them let in */

static inline void
tool_onsig(int sig)
{
	stop = sig;
}

/*
 * SIGINT, SIGTERM and each signal in also (a 0-terminated list) set stop;
 * SIGPIPE is ignored unless listed, SIGHUP unless listed or in ignore.
 * All of them but SIGPIPE (which a write of ours raises, and which must
 * be taken at once) are blocked outside the library's waits; extra, when
 * not 0, is blocked likewise without a handler of ours.
 */
static inline void
tool_signals(const int *also, int ignore_hup, int extra)
{
	struct sigaction sa;
	sigset_t block;

	/* No SA_RESTART: a signal must cut a wait short. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tool_onsig;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	if (ignore_hup)
		signal(SIGHUP, SIG_IGN);
	for (; also != NULL && *also != 0; also++) {
		sigaction(*also, &sa, NULL);
		if (*also != SIGPIPE)
			sigaddset(&block, *also);
	}
	if (extra != 0)
		sigaddset(&block, extra);
	sigprocmask(SIG_BLOCK, &block, &tool_waitmask);
}

/* The library's waits watch stop, with the signals let in meanwhile. */
static inline void
tool_interrupt(struct ldvm_ctx *ctx)
{
	ldvm_set_interrupt(ctx, &stop);
	ldvm_set_waitmask(ctx, &tool_waitmask);
}

static inline void
tool_journal_line(void *arg, const char *line)
{
	(void)arg;
	syslog(LOG_INFO, "%s", line);
}

/* dom0's tools keep the lifecycle journal in syslog, as "litedvm". */
static inline void
tool_journal(struct ldvm_ctx *ctx)
{
	openlog("litedvm", LOG_PID, LOG_DAEMON);
	ldvm_set_journal(ctx, tool_journal_line, NULL);
}

static inline void
tool_log(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	fprintf(stderr, "%s: %s\n", getprogname(), msg);
}

/* How a tool sets its context up: see tool_ctx. */
struct tool_setup {
	int connect;            /* LDVM_CONNECT_* flags; 0 connects nothing */
	int level;              /* the least LDVM_LOG_* level shown */
	int journal;            /* keep the lifecycle journal in syslog */
	int status;             /* the exit status when set-up fails */
	ldvm_log_fn *log;       /* NULL: tool_log */
};

/*
 * The one context set-up of every tool: a new context that watches the
 * interrupt flag, logs (and journals) as asked and is connected; exits
 * with s->status and the reason when any of it fails.
 */
static inline struct ldvm_ctx *
tool_ctx(const struct tool_setup *s)
{
	struct ldvm_ctx *ctx;

	if ((ctx = ldvm_ctx_new()) == NULL)
		errx(s->status, "out of memory");
	tool_interrupt(ctx);
	if (s->journal)
		tool_journal(ctx);
	ldvm_set_log(ctx, s->log != NULL ? s->log : tool_log, NULL, s->level);
	if (s->connect != 0 && ldvm_connect(ctx, s->connect) != 0)
		errx(s->status, "%s", ldvm_errmsg(ctx));
	return ctx;
}

/*
 * Exits with status, ctx left to the exit: closing its xenstore
 * connection (a reader thread to cancel and join) and libxl's handles
 * took dvm-run some 35 ms under emulation, after its command was over,
 * for nothing the kernel does not do at exit.  Kept in a static so
 * that a leak checker sees it reachable.
 */
static struct ldvm_ctx *tool_kept __attribute__((unused));

static inline void __attribute__((noreturn))
tool_exit(struct ldvm_ctx *ctx, int status)
{
	tool_kept = ctx;
	exit(status);
}

/*
 * A number of seconds, min to 31536000 (a year), given to option opt;
 * -1 once the mistake is said.
 */
static inline long long
tool_seconds(const char *opt, const char *arg, long long min)
{
	const char *errstr;
	long long v = strtonum(arg, min, 31536000, &errstr);

	if (errstr == NULL)
		return v;
	warnx("%s %s: %s (seconds, %lld to 31536000)", opt, arg, errstr, min);
	return -1;
}

/* False, once it is said, when arguments follow the options. */
static inline int
tool_no_args(int argc, char *argv[])
{
	if (optind == argc)
		return 1;
	warnx("unexpected argument '%s'", argv[optind]);
	return 0;
}

/* The usage of the services, dvm-agent and dvm-opend, which take -hv. */
static inline void __attribute__((noreturn))
tool_daemon_usage(int status)
{
	fprintf(status ? stderr : stdout, "usage: %s [-hv]\n", getprogname());
	exit(status);
}

/*
 * The command line of the services: -h, -v (returns 1) and nothing else;
 * a mistake is one line naming it, then the usage, exit status 2.
 */
static inline int
tool_daemon_args(int argc, char *argv[])
{
	int ch, verbose = 0;

	while ((ch = getopt(argc, argv, "hv")) != -1) {
		switch (ch) {
		case 'h':
			tool_daemon_usage(0);
		case 'v':
			verbose = 1;
			break;
		default:
			tool_daemon_usage(2);
		}
	}
	if (!tool_no_args(argc, argv))
		tool_daemon_usage(2);
	return verbose;
}

#endif
