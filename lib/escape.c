/*
 * What a disposable's output may show on dom0's terminal: printable ASCII
 * and the few controls that only move the cursor within the output
 * itself.  Everything else, escape sequences and all non-ASCII bytes
 * (UTF-8 included, since a terminal may take U+009B for CSI), becomes '_'.
 * Byte by byte, so a sequence split across frames is caught as well.
 */
#include "ldvm_internal.h"

void
ldvm__filter_escapes(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] <= 0x7e)
			continue;
		if (p[i] == '\t' || p[i] == '\n' || p[i] == '\r' ||
		    p[i] == '\b')
			continue;
		p[i] = '_';
	}
}
