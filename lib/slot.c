/*
 * Build slots: how many pool members the host builds at once.  A refill
 * holds one slot from the start of a member's build until it is listed,
 * so pools refilling together (after a resume, or several templates
 * claimed at once) take turns instead of asking for memory and CPU all
 * at the same moment.  A slot is an flock(2) on one of
 * /run/litedvm-build.N.lock, N below preload_builds in litedvm.conf
 * (default 1): a holder that dies frees its slot with its descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "ldvm_internal.h"

#ifndef LDVM_SLOTFILE
#define LDVM_SLOTFILE "/run/litedvm-build.%u.lock"
#endif
#define DEFAULT_BUILDS 1
#define MAX_BUILDS 64
#define SLOT_POLL_MS 200

static int
slots(struct ldvm_ctx *ctx, unsigned *n)
{
	unsigned long v = DEFAULT_BUILDS;
	char buf[32];

	if (ldvm__conf_get(ctx, "preload_builds", buf, sizeof(buf)) == 0 &&
	    (!ldvm__parse_uint(buf, strlen(buf), MAX_BUILDS, &v) || v == 0))
		return ldvm__err(ctx, LDVM_EINVAL, "%s/litedvm.conf: bad "
		    "preload_builds '%s' (1 to %d)", ldvm_confdir(), buf,
		    MAX_BUILDS);
	*n = (unsigned)v;
	return 0;
}

/* Tries each slot once: 1 with *fd holding one, 0 when all are taken. */
static int
try_slots(struct ldvm_ctx *ctx, unsigned n, int *fd)
{
	char path[64];
	unsigned i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), LDVM_SLOTFILE, i);
		*fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (*fd < 0)
			return ldvm__errno(ctx, LDVM_ESYS, "open %s", path);
		if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
			return 1;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = errno;

			close(*fd);
			*fd = -1;
			errno = e;
			return ldvm__errno(ctx, LDVM_ESYS, "lock %s", path);
		}
		close(*fd);
		*fd = -1;
	}
	return 0;
}

int
ldvm__build_slot(struct ldvm_ctx *ctx, int *fd)
{
	unsigned n = DEFAULT_BUILDS;
	int rc;

	*fd = -1;
	if ((rc = slots(ctx, &n)) != 0)
		return rc;
	/* flock has no timeout: poll the slots, waking for interrupts. */
	while ((rc = try_slots(ctx, n, fd)) == 0) {
		rc = ldvm__xs_wait_watch(ctx, SLOT_POLL_MS, NULL, 0, NULL, 0);
		if (rc != 0 && rc != LDVM_ETIMEDOUT)
			return rc;
	}
	return rc < 0 ? rc : 0;
}

void
ldvm__build_slot_free(int fd)
{
	if (fd >= 0)
		close(fd);
}
