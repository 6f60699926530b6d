/*
 * dvm-open: opens a file of this guest in a fresh disposable and takes
 * the edits back.  The --session mode is what dom0 runs inside that
 * disposable.
 */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

/* Exit statuses; see dvm-open(1). */
enum { EX_DONE = 0, EX_FAILED = 1, EX_USAGE = 2, EX_REPLACED = 3,
	EX_SAVED = 4 };


static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: %s [-r] [-t template] file\n"
	    "       %s --session [--terminal | --take] [-r] [-w exit|close] "
	    "name opener [arg ...]\n"
	    "       %s --session --put [-r] name\n",
	    getprogname(), getprogname(), getprogname());
	exit(status);
}

/* Only to wake the library's poll, which then looks at the window size. */
static void
onwinch(int sig)
{
	(void)sig;
}

/*
 * The terminal a terminal opener runs on: dvm-open's own, when both its
 * standard input and output are one.  Window size changes wake the waits.
 */
static int
terminal(void)
{
	struct sigaction sa;
	int fd;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return -1;
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		fd = STDIN_FILENO;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onwinch;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	return fd;
}

/* dvm-open --session: what dom0 runs in the disposable. */
static int
session(struct ldvm_ctx *ctx, int mode, int view_only, const char *wait,
    char **argv)
{
	int changed = 0, status;

	switch (mode) {
	case 'P':
		if (ldvm_open_stage(ctx, argv[0], view_only, STDIN_FILENO) != 0)
			errx(EX_FAILED, "%s", ldvm_errmsg(ctx));
		return EX_DONE;
	case 'T':
		if (ldvm_open_session_tty(ctx, argv[0], wait, argv + 1,
		    &status) != 0)
			errx(EX_FAILED, "%s", ldvm_errmsg(ctx));
		return EX_DONE;
	case 'K':
		if (ldvm_open_take(ctx, argv[0], view_only, argv[1],
		    STDOUT_FILENO, &changed) != 0)
			errx(EX_FAILED, "%s", ldvm_errmsg(ctx));
		break;
	default:
		if (ldvm_open_session(ctx, argv[0], view_only, wait, argv + 1,
		    STDIN_FILENO, STDOUT_FILENO, &changed) != 0)
			errx(EX_FAILED, "%s", ldvm_errmsg(ctx));
	}
	return changed ? LDVM_OPEN_SESSION_CHANGED : EX_DONE;
}


/* What the command line asks for. */
struct opts {
	const char *tmpl, *wait;
	int in_session, mode, view_only;
	char **argv;                    /* file, or name [opener ...] */
};

/* The checks that need the whole command line; argc counts o->argv. */
static void
check_args(const struct opts *o, int argc)
{
	bool put = o->mode == 'P';

	if (o->mode != 0 && !o->in_session) {
		warnx("--put, --terminal and --take are for --session");
		usage(EX_USAGE);
	}
	if (argc == 0 || (o->in_session && !put && argc < 2) ||
	    (o->in_session && put && argc > 1) ||
	    (!o->in_session && argc > 1)) {
		warnx(argc == 0 ? (o->in_session ? "no name given" :
		    "no file given") : o->in_session && !put ?
		    "no opener given" : "too many arguments");
		usage(EX_USAGE);
	}
	if (o->in_session && o->tmpl != NULL) {
		warnx("-t is for the guest side, not --session");
		usage(EX_USAGE);
	}
	if (!o->in_session && strcmp(o->wait, "exit") != 0) {
		warnx("-w is for --session");
		usage(EX_USAGE);
	}
}

static void
parse(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "put", no_argument, NULL, 'P' },
		{ "session", no_argument, NULL, 'S' },
		{ "take", no_argument, NULL, 'K' },
		{ "terminal", no_argument, NULL, 'T' },
		{ "template", required_argument, NULL, 't' },
		{ "view-only", no_argument, NULL, 'r' },
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "+hrt:w:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(0);
		case 'r':
			o->view_only = 1;
			break;
		case 'S':
			o->in_session = 1;
			break;
		case 'P':
		case 'K':
		case 'T':
			if (o->mode != 0 && o->mode != ch) {
				warnx("--put, --terminal and --take exclude "
				    "one another");
				usage(EX_USAGE);
			}
			o->mode = ch;
			break;
		case 't':
			o->tmpl = optarg;
			break;
		case 'w':
			o->wait = optarg;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	o->argv = argv + optind;
	check_args(o, argc - optind);
}

/* The guest's side: the file to dom0, and what became of it. */
static int
open_file(struct ldvm_ctx *ctx, const struct opts *o)
{
	const char *file = o->argv[0];
	char saved[PATH_MAX];
	int result, tty = terminal();

	if (ldvm_connect(ctx, LDVM_CONNECT_XS) != 0 ||
	    ldvm_open_file_tty(ctx, file, o->tmpl, o->view_only, tty, &result,
	    saved, sizeof(saved)) != 0)
		errx(EX_FAILED, "%s: %s", file, ldvm_errmsg(ctx));
	ldvm_ctx_free(ctx);
	switch (result) {
	case LDVM_OPEN_REPLACED:
		return EX_REPLACED;
	case LDVM_OPEN_SAVED:
		warnx("%s: not replaced (read-only, or changed meanwhile); "
		    "the edited file is %s", file, saved);
		return EX_SAVED;
	default:
		return EX_DONE;
	}
}

/*
 * dvm-agent has this file built in, main renamed (GNUmakefile): it runs
 * dom0's `dvm-open --session` itself, in the command's process.
 */
#ifdef DVM_OPEN_IN_AGENT
int dvm_open_main(int argc, char *argv[]);

int
dvm_open_main(int argc, char *argv[])
#else
int
main(int argc, char *argv[])
#endif
{
	struct opts o = { .wait = "exit" };
	struct ldvm_ctx *ctx;

	parse(argc, argv, &o);
	tool_signals((const int[]){ SIGHUP, 0 }, 0,
	    o.in_session ? 0 : SIGWINCH);
	ctx = tool_ctx(&(struct tool_setup){ .level = LDVM_LOG_WARN,
	    .status = EX_FAILED });
	if (o.in_session)
		return session(ctx, o.mode, o.view_only, o.wait, o.argv);
	return open_file(ctx, &o);
}
