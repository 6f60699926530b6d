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
	    "\t[-t template | -n name] [--] command [arg ...]\n",
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

int
main(int argc, char *argv[])
{
	const char *tname = NULL, *dname = NULL, *user = NULL;
	char defname[LDVM_NAME_MAX + 1];
	struct ldvm_template *t = NULL;
	struct ldvm_disp *d = NULL;
	struct ldvm_ctx *ctx;
	struct ldvm_run run;
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "filter-escape-chars", no_argument, NULL, 'F' },
		{ "no-filter-escape-chars", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	const char *errstr;
	int ch, verbose = 0, tty, rc, status = EXIT_LITEDVM, filter = -1;
	int flags;
	long long timeout = -1;         /* -1: the template's default */

	while ((ch = getopt_long(argc, argv, "+hn:t:u:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'T':
			timeout = strtonum(optarg, 0, 31536000, &errstr);
			if (errstr != NULL) {
				warnx("--timeout %s: %s (seconds, 0 to 31536000)",
				    optarg, errstr);
				usage();
			}
			break;
		case 'h':
			usage_exit(0);
		case 'F':
			filter = 1;
			break;
		case 'R':
			filter = 0;
			break;
		case 'n':
			dname = optarg;
			break;
		case 't':
			tname = optarg;
			break;
		case 'u':
			if (!ldvm_user_name_ok(optarg)) {
				warnx("-u %s: not a user name (letters, digits, "
				    "'_', '.' and '-', at most 32, not starting "
				    "with '-' or '.')", optarg);
				usage();
			}
			user = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		warnx("no command given");
		usage();
	}
	if (tname != NULL && dname != NULL) {
		warnx("-t and -n exclude each other");
		usage();
	}

	catch_signals();
	ctx = tool_ctx(&(struct tool_setup){
	    .connect = LDVM_CONNECT_XS | LDVM_CONNECT_XL, .journal = 1,
	    .level = verbose ? LDVM_LOG_INFO : LDVM_LOG_WARN,
	    .status = EXIT_LITEDVM });

	if (dname != NULL) {
		if (ldvm_disp_open(ctx, dname, &d) != 0)
			errx(EXIT_LITEDVM, "%s", ldvm_errmsg(ctx));
	} else {
		if (tname == NULL) {
			if (ldvm_default_template(ctx, defname,
			    sizeof(defname)) != 0)
				errx(EXIT_LITEDVM, "%s", ldvm_errmsg(ctx));
			tname = defname;
		}
		if (ldvm_template_load(ctx, tname, &t) != 0)
			errx(EXIT_LITEDVM, "template %s: %s", tname,
			    ldvm_errmsg(ctx));
		if (ldvm_disp_acquire(ctx, t, &d) != 0)
			errx(stop ? 128 + stop : EXIT_LITEDVM, "%s",
			    ldvm_errmsg(ctx));
		if (verbose && ldvm_disp_from_pool(d))
			fprintf(stderr, "%s: %s: domain %u, from the preload "
			    "pool\n", getprogname(), ldvm_disp_name(d),
			    ldvm_disp_domid(d));
		else if (verbose)
			fprintf(stderr, "%s: %s: domain %u, cold, volumes by "
			    "%s\n", getprogname(), ldvm_disp_name(d),
			    ldvm_disp_domid(d), ldvm_disp_voldriver(d));
	}

	tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	flags = tty ? LDVM_RUN_TTY : 0;
	/* Without a pty, what reaches a terminal is filtered by default. */
	if (filter == 1 || (filter == -1 && !tty && isatty(STDOUT_FILENO)))
		flags |= LDVM_RUN_FILTER_OUT;
	if (filter == 1 || (filter == -1 && !tty && isatty(STDERR_FILENO)))
		flags |= LDVM_RUN_FILTER_ERR;
	if (tty)
		raw_tty();
	/* The limit counts the command's time, not the disposable's boot. */
	if (timeout < 0)
		timeout = t != NULL ? ldvm_template_timeout(t) : 0;
	alarm((unsigned)timeout);
	ldvm_run_init(&run);
	run.argv = argv;
	run.user = user;
	run.flags = flags;
	run.in = STDIN_FILENO;
	run.out = STDOUT_FILENO;
	run.err = STDERR_FILENO;
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
	if (t != NULL) {
		if (ldvm_disp_destroy(ctx, d) != 0) {
			warnx("%s: %s", ldvm_disp_name(d), ldvm_errmsg(ctx));
			status = EXIT_LITEDVM;
		}
	}
	if (verbose)
		phases(d, 0);
	ldvm_disp_free(d);
	ldvm_template_free(t);
	ldvm_ctx_free(ctx);
	return status;
}
