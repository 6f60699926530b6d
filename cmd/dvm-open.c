/*
 * dvm-open: opens a file of this guest in a fresh disposable and takes
 * the edits back.  The --session mode is what dom0 runs inside that
 * disposable.
 */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
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
	    "       %s --session [-r] [-w exit|close] name opener [arg ...]\n",
	    getprogname(), getprogname());
	exit(status);
}


int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "session", no_argument, NULL, 'S' },
		{ "template", required_argument, NULL, 't' },
		{ "view-only", no_argument, NULL, 'r' },
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct ldvm_ctx *ctx;
	const char *tmpl = NULL, *wait = "exit";
	char saved[PATH_MAX];
	int ch, session = 0, view_only = 0, result, changed;

	while ((ch = getopt_long(argc, argv, "+hrt:w:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(0);
		case 'r':
			view_only = 1;
			break;
		case 'S':
			session = 1;
			break;
		case 't':
			tmpl = optarg;
			break;
		case 'w':
			wait = optarg;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || (session && argc < 2) || (!session && argc > 1)) {
		warnx(argc == 0 ? (session ? "no name given" : "no file given") :
		    session ? "no opener given" : "too many arguments");
		usage(EX_USAGE);
	}
	if (session && tmpl != NULL) {
		warnx("-t is for the guest side, not --session");
		usage(EX_USAGE);
	}
	if (!session && strcmp(wait, "exit") != 0) {
		warnx("-w is for --session");
		usage(EX_USAGE);
	}
	tool_signals((const int[]){ SIGHUP, 0 }, 0, 0);

	ctx = tool_ctx(&(struct tool_setup){ .level = LDVM_LOG_WARN,
	    .status = EX_FAILED });
	if (session) {
		if (ldvm_open_session(ctx, argv[0], view_only, wait, argv + 1,
		    0, 1, &changed) != 0)
			errx(EX_FAILED, "%s", ldvm_errmsg(ctx));
		return changed ? EX_REPLACED : EX_DONE;
	}
	if (ldvm_connect(ctx, LDVM_CONNECT_XS) != 0 ||
	    ldvm_open_file(ctx, argv[0], tmpl, view_only, &result, saved,
	    sizeof(saved)) != 0)
		errx(EX_FAILED, "%s: %s", argv[0], ldvm_errmsg(ctx));
	ldvm_ctx_free(ctx);
	switch (result) {
	case LDVM_OPEN_REPLACED:
		return EX_REPLACED;
	case LDVM_OPEN_SAVED:
		warnx("%s: not replaced (read-only, or changed meanwhile); "
		    "the edited file is %s", argv[0], saved);
		return EX_SAVED;
	default:
		return EX_DONE;
	}
}
