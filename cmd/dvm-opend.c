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


static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout, "usage: %s [-hv]\n", getprogname());
	exit(status);
}


int
main(int argc, char *argv[])
{
	struct ldvm_ctx *ctx;
	int ch, verbose = 0;

	while ((ch = getopt(argc, argv, "hv")) != -1) {
		switch (ch) {
		case 'h':
			usage(0);
		case 'v':
			verbose = 1;
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc) {
		warnx("unexpected argument '%s'", argv[optind]);
		usage(2);
	}
	tool_signals((const int[]){ SIGHUP, 0 }, 0, 0);

	if ((ctx = ldvm_ctx_new()) == NULL)
		errx(1, "out of memory");
	tool_interrupt(ctx);
	tool_journal(ctx);
	ldvm_set_log(ctx, tool_log, NULL, verbose ? LDVM_LOG_DEBUG :
	    LDVM_LOG_INFO);
	if (ldvm_connect(ctx, LDVM_CONNECT_XS | LDVM_CONNECT_XL) != 0)
		errx(1, "%s", ldvm_errmsg(ctx));
	ldvm_open_serve(ctx);
	if (stop) {
		ldvm_ctx_free(ctx);
		return 0;
	}
	errx(1, "%s", ldvm_errmsg(ctx));
}
