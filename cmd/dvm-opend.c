/*
 * dvm-opend: dom0's service for dvm-open.  Serves the requests guests
 * write into their own xenstore areas, as /etc/litedvm/open.policy allows,
 * each in a fresh disposable.
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

	tool_signals((const int[]){ SIGHUP, 0 }, 0, 0);
	ctx = tool_ctx(&(struct tool_setup){
	    .connect = LDVM_CONNECT_XS | LDVM_CONNECT_XL, .journal = 1,
	    .level = verbose ? LDVM_LOG_DEBUG : LDVM_LOG_INFO, .status = 1 });
	ldvm_open_serve(ctx);
	if (stop) {
		ldvm_ctx_free(ctx);
		return 0;
	}
	errx(1, "%s", ldvm_errmsg(ctx));
}
