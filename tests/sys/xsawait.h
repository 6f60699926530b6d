/*
 * For system test programs that share a xenstore node with an agent:
 * waiting, by a watch, for a node to hold a number.
 */
#ifndef XSAWAIT_H
#define XSAWAIT_H

#include <stdlib.h>

#include "ldvm_internal.h"

/*
 * Waits up to timeout_ms for path to hold a number of at least min: 0 once
 * it does, LDVM_ETIMEDOUT (or another error) with a message when not.
 */
static inline int
xs_await_at_least(struct ldvm_ctx *ctx, const char *path, unsigned long min,
    int timeout_ms)
{
	int64_t deadline = ldvm__now_ms() + timeout_ms;
	unsigned long last = 0;
	int rc;

	if ((rc = ldvm__xs_watch(ctx, path, "await")) != 0)
		return rc;
	for (;;) {
		char *s;
		int64_t left;

		if (ldvm__xs_read(ctx, XBT_NULL, path, &s) == 0) {
			last = strtoul(s, NULL, 10);
			free(s);
			if (last >= min)
				break;
		}
		if ((left = deadline - ldvm__now_ms()) <= 0) {
			rc = ldvm__err(ctx, LDVM_ETIMEDOUT, "%s is %lu, not %lu "
			    "or more, after %d ms", path, last, min,
			    timeout_ms);
			break;
		}
		rc = ldvm__xs_wait_watch(ctx, (int)left, NULL, 0, NULL, 0);
		if (rc != 0 && rc != LDVM_ETIMEDOUT)
			break;
		rc = 0;
	}
	ldvm__xs_unwatch(ctx, path, "await");
	return rc;
}

#endif
