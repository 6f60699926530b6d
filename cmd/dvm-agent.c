/*
 * dvm-agent: runs inside each disposable and serves commands from dom0.
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/prctl.h>

#include "tool.h"

int dvm_open_main(int argc, char *argv[]);      /* dvm-open.c */

/*
 * dom0's `dvm-open --session ...`, run without an exec (dvm-open.c is
 * built in): each request paid for dvm-open's start in a disposable just
 * woken from its pool, loading and linking its libraries.  Any other
 * command, dvm-open called by a path among them, is exec'd.
 */
static int
builtin(int argc, char *argv[])
{
	static char name[] = "dvm-open";

	if (argc < 2 || strcmp(argv[0], name) != 0 ||
	    strcmp(argv[1], "--session") != 0)
		return -1;
	/* Its messages, as err(3) and getprogname(3) name it, and ps(1). */
	program_invocation_name = program_invocation_short_name = name;
	setprogname(name);
	prctl(PR_SET_NAME, name);
	optind = 0;
	return dvm_open_main(argc, argv);
}


int
main(int argc, char *argv[])
{
	struct ldvm_ctx *ctx;
	int verbose = tool_daemon_args(argc, argv);

	tool_signals(NULL, 1, 0);
	ctx = tool_ctx(&(struct tool_setup){ .connect = LDVM_CONNECT_XS,
	    .level = verbose ? LDVM_LOG_DEBUG : LDVM_LOG_WARN, .status = 1 });
	ldvm_agent_builtin(ctx, builtin);
	ldvm_agent_serve(ctx);
	if (stop)
		return 0;
	errx(1, "%s", ldvm_errmsg(ctx));
}
