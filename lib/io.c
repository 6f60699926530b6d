/*
 * Whole writes to descriptors: what a short write or a signal leaves
 * undone is finished.
 */
#include <errno.h>
#include <unistd.h>

#include "ldvm_internal.h"

int
ldvm__write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void
ldvm__closefd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
