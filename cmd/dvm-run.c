/*
 * dvm-run: run a command in a fresh disposable VM (or an existing one) with
 * standard input, output, error and exit status passed through.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tool.h"

#define EXIT_LITEDVM 125
#define EXIT_TIMEDOUT 124      /* as timeout(1) */


/* -h: the usage on standard output, status 0; else on error, 125. */
static void __attribute__((noreturn))
usage_exit(int status)
{
	fprintf(status ? stderr : stdout, "usage: %s [-hv] "
	    "[--[no-]filter-escape-chars] [--timeout seconds] [-u user]\n"
	    "\t[--wayland] [-t template | -n name] [--] command [arg ...]\n",
	    getprogname());
	exit(status);
}

static void __attribute__((noreturn))
usage(void)
{
	usage_exit(EXIT_LITEDVM);
}


static void
phases(const struct ldvm_disp *d, int from)
{
	const char *name;
	long ms;
	int i;

	for (i = from; ldvm_disp_phase(d, i, &name, &ms); i++)
		fprintf(stderr, "%s: %s: %-20s %6ld ms\n", getprogname(),
		    ldvm_disp_name(d), name, ms);
}

/* Only to wake the library's poll, which then looks at the window size. */
static void
onwinch(int sig)
{
	(void)sig;
}

/* A closed output pipe ends the run too, and a new window size wakes it. */
static void
catch_signals(void)
{
	struct sigaction sa;

	tool_signals((const int[]){ SIGHUP, SIGPIPE, SIGALRM, 0 }, 0,
	    SIGWINCH);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onwinch;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
}

static struct termios saved;
static int rawmode;

static void
restore_tty(void)
{
	if (rawmode)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
}

static void
raw_tty(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved) < 0)
		return;
	t = saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0) {
		rawmode = 1;
		atexit(restore_tty);
	}
}

/* What the command line asks for. */
struct opts {
	const char *tname, *dname, *user;
	char **argv;                    /* the command */
	int verbose;
	int wayland;                    /* --wayland */
	int filter;                     /* 1, 0, or -1: by the terminal */
	long long timeout;              /* -1: the template's default */
};

static void
parse(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "filter-escape-chars", no_argument, NULL, 'F' },
		{ "no-filter-escape-chars", no_argument, NULL, 'R' },
		{ "wayland", no_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "+hn:t:u:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'T':
			if ((o->timeout = tool_seconds("--timeout", optarg,
			    0)) < 0)
				usage();
			break;
		case 'h':
			usage_exit(0);
		case 'F':
			o->filter = 1;
			break;
		case 'R':
			o->filter = 0;
			break;
		case 'n':
			o->dname = optarg;
			break;
		case 't':
			o->tname = optarg;
			break;
		case 'u':
			if (!ldvm_user_name_ok(optarg)) {
				warnx("-u %s: not a user name (letters, digits, "
				    "'_', '.' and '-', at most 32, not starting "
				    "with '-' or '.')", optarg);
				usage();
			}
			o->user = optarg;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'W':
			o->wayland = 1;
			break;
		default:
			usage();
		}
	}
	o->argv = argv + optind;
	if (argc == optind) {
		warnx("no command given");
		usage();
	}
	if (o->tname != NULL && o->dname != NULL) {
		warnx("-t and -n exclude each other");
		usage();
	}
}

/*
 * The disposable to run in: the one named, or a fresh one of the template
 * (*fresh: this run's to destroy), from its pool or cold; *limit is the
 * template's litedvm_timeout.  A pool member is claimed by the template's
 * name first, without loading the template.
 */
static struct ldvm_disp *
acquire(struct ldvm_ctx *ctx, const struct opts *o, bool *fresh,
    unsigned *limit)
{
	char defname[LDVM_NAME_MAX + 1];
	const char *tname = o->tname;
	struct ldvm_template *t;
	struct ldvm_disp *d = NULL;
	int rc;

	*fresh = false;
	*limit = 0;
	if (o->dname != NULL) {
		if (ldvm_disp_open(ctx, o->dname, &d) != 0)
			errx(EXIT_LITEDVM, "%s", ldvm_errmsg(ctx));
		return d;
	}
	if (tname == NULL) {
		if (ldvm_default_template(ctx, defname, sizeof(defname)) != 0)
			errx(EXIT_LITEDVM, "%s", ldvm_errmsg(ctx));
		tname = defname;
	}
	*fresh = true;
	if ((rc = ldvm_pool_claim_named(ctx, tname, &d, limit)) != 0) {
		if (stop)
			errx(128 + stop, "%s", ldvm_errmsg(ctx));
		if (rc != LDVM_ENOENT && o->verbose)
			warnx("claim from the pool of %s: %s", tname,
			    ldvm_errmsg(ctx));
		if (ldvm_template_load(ctx, tname, &t) != 0)
			errx(EXIT_LITEDVM, "template %s: %s", tname,
			    ldvm_errmsg(ctx));
		if (ldvm_disp_acquire(ctx, t, &d) != 0)
			errx(stop ? 128 + stop : EXIT_LITEDVM, "%s",
			    ldvm_errmsg(ctx));
		*limit = ldvm_template_timeout(t);
		ldvm_template_free(t);
	}
	if (o->verbose && ldvm_disp_from_pool(d))
		fprintf(stderr, "%s: %s: domain %u, from the preload pool\n",
		    getprogname(), ldvm_disp_name(d), ldvm_disp_domid(d));
	else if (o->verbose)
		fprintf(stderr, "%s: %s: domain %u, cold, volumes by %s\n",
		    getprogname(), ldvm_disp_name(d), ldvm_disp_domid(d),
		    ldvm_disp_voldriver(d));
	return d;
}

/*
 * Runs the command in d, the terminal raw while a pty carries it, within
 * timeout seconds (0: none); returns the status dvm-run exits with.
 */
static int
run_in(struct ldvm_ctx *ctx, struct ldvm_disp *d, const struct opts *o,
    long long timeout)
{
	struct ldvm_run run;
	int tty, rc, status = EXIT_LITEDVM;

	tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	ldvm_run_init(&run);
	run.argv = o->argv;
	run.user = o->user;
	run.flags = tty ? LDVM_RUN_TTY : 0;
	if (o->wayland)
		run.flags |= LDVM_RUN_WAYLAND;
	/* Without a pty, what reaches a terminal is filtered by default. */
	if (o->filter == 1 || (o->filter == -1 && !tty &&
	    isatty(STDOUT_FILENO)))
		run.flags |= LDVM_RUN_FILTER_OUT;
	if (o->filter == 1 || (o->filter == -1 && !tty &&
	    isatty(STDERR_FILENO)))
		run.flags |= LDVM_RUN_FILTER_ERR;
	run.in = STDIN_FILENO;
	run.out = STDOUT_FILENO;
	run.err = STDERR_FILENO;
	if (tty)
		raw_tty();
	alarm((unsigned)timeout);
	rc = ldvm_disp_exec(ctx, d, &run, &status);
	alarm(0);
	restore_tty();
	rawmode = 0;
	if (rc != 0 && stop == SIGALRM) {
		warnx("%s: command timed out after %lld s", ldvm_disp_name(d),
		    timeout);
		status = EXIT_TIMEDOUT;
	} else if (rc != 0) {
		warnx("%s: %s", ldvm_disp_name(d), ldvm_errmsg(ctx));
		status = stop ? 128 + stop : EXIT_LITEDVM;
	}
	return status;
}

int
main(int argc, char *argv[])
{
	struct opts o = { .filter = -1, .timeout = -1 };
	struct ldvm_disp *d;
	struct ldvm_ctx *ctx;
	unsigned limit;
	bool fresh;
	int status;

	parse(argc, argv, &o);
	catch_signals();
	/* libxl's context only when needed: a cold start, a teardown. */
	ctx = tool_ctx(&(struct tool_setup){
	    .connect = LDVM_CONNECT_XS, .journal = 1,
	    .level = o.verbose ? LDVM_LOG_INFO : LDVM_LOG_WARN,
	    .status = EXIT_LITEDVM });
	/* Nothing is booted for windows that could not be shown. */
	if (o.wayland && ldvm_wayland_check(ctx) != 0)
		errx(EXIT_LITEDVM, "--wayland: %s", ldvm_errmsg(ctx));
	d = acquire(ctx, &o, &fresh, &limit);
	/* The limit counts the command's time, not the disposable's boot. */
	if (o.timeout < 0)
		o.timeout = limit;
	status = run_in(ctx, d, &o, o.timeout);
	if (fresh && ldvm_disp_destroy(ctx, d) != 0) {
		warnx("%s: %s", ldvm_disp_name(d), ldvm_errmsg(ctx));
		status = EXIT_LITEDVM;
	}
	if (o.verbose)
		phases(d, 0);
	ldvm_disp_free(d);
	tool_exit(ctx, status);
}
