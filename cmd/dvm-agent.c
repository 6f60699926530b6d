/*
 * dvm-agent: runs inside each disposable and serves commands from dom0.
 */
#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"


int
main(int argc, char *argv[])
{
	struct ldvm_ctx *ctx;
	int verbose = tool_daemon_args(argc, argv);

	tool_signals(NULL, 1, 0);
	ctx = tool_ctx(&(struct tool_setup){ .connect = LDVM_CONNECT_XS,
	    .level = verbose ? LDVM_LOG_DEBUG : LDVM_LOG_WARN, .status = 1 });
	ldvm_agent_serve(ctx);
	if (stop)
		return 0;
	errx(1, "%s", ldvm_errmsg(ctx));
}
