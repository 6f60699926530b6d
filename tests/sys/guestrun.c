/*
 * guestrun DOMID COMMAND [ARG...]: runs COMMAND in the ordinary guest
 * DOMID through the agent it runs, with standard input, output and error
 * passed through, and exits with its status (125 when that fails).  The
 * dvm-open tests act as a user of that guest with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldvm_internal.h"

/* Kept reachable from here while exiting (leak checkers). */
static struct ldvm_ctx *kept __attribute__((unused));

int
main(int argc, char **argv)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	struct ldvm__chan *ch;
	unsigned long domid;
	char claim[128];
	int status;

	if (argc < 3 || !ldvm__parse_uint(argv[1], strlen(argv[1]), 0x7fef,
	    &domid)) {
		fprintf(stderr, "usage: guestrun domid command [arg ...]\n");
		return 2;
	}
	snprintf(claim, sizeof(claim), LDVM_XS_ROOT "/test-guest/%lu", domid);
	if (ctx == NULL || ldvm_connect(ctx, LDVM_CONNECT_XS) != 0 ||
	    ldvm__chan_claim_connect(ctx, (uint32_t)domid, claim, 60000,
	    &ch) != 0 ||
	    ldvm__chan_run(ctx, ch, (uint32_t)domid, argv + 2, 0, 0, 1, 2,
	    &status) != 0) {
		fprintf(stderr, "guestrun: %s\n", ctx ? ldvm_errmsg(ctx) : "oom");
		return 125;
	}
	ldvm__chan_close(ch);
	/*
	 * As dvm-run (tool_exit): the context is not freed, so the floor of
	 * the benchmark does not count closing the xenstore connection.
	 */
	kept = ctx;
	exit(status);
}
