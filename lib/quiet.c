/*
 * Whether a guest has gone quiet: the CPU time the hypervisor counted for
 * it between two readings, against the time between them.  dvm-preload
 * pauses a pool member only once it is quiet (pool.c).
 */
#include "ldvm_internal.h"

bool
ldvm__cpu_quiet(uint64_t cpu0_ns, uint64_t cpu1_ns, int64_t span_ms,
    unsigned permille)
{
	uint64_t used;

	/* No time between the readings, or a count that went back: unknown. */
	if (span_ms <= 0 || cpu1_ns < cpu0_ns)
		return false;
	used = cpu1_ns - cpu0_ns;
	/* used / span <= permille / 1000, in ns; no overflow below 500 years. */
	return used / 1000 <= (uint64_t)span_ms * permille;
}
