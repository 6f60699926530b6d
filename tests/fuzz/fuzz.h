/*
 * Shared by the libFuzzer targets (tests/fuzz/NAME.c): each defines
 * LLVMFuzzerTestOneInput over pure internal functions of lib/ that take
 * bytes from a guest, a disposable or a configuration file.
 */
#ifndef LDVM_FUZZ_H
#define LDVM_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldvm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test: a failure is a crash to report. */
#define FUZZ_CHECK(c) do {                                              \
	if (!(c)) {                                                     \
		fprintf(stderr, "%s:%d: invariant failed: %s\n",        \
		    __FILE__, __LINE__, #c);                            \
		abort();                                                \
	}                                                               \
} while (0)

/*
 * A copy of exactly n bytes, so that ASan sees a read past the end; with
 * nul, one more byte holding a NUL (a C string, cut at the first NUL).
 */
static inline char *
fuzz_copy(const uint8_t *p, size_t n, int nul)
{
	char *s = malloc(n + (nul ? 1 : 0) + (n == 0 && !nul ? 1 : 0));

	if (s == NULL)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	if (nul)
		s[n] = '\0';
	return s;
}

/* Takes k bytes off the front of the input, zeros past its end. */
static inline uint32_t
fuzz_take(const uint8_t **p, size_t *n, size_t k)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < k; i++) {
		uint8_t b = 0;

		if (*n > 0) {
			b = **p;
			(*p)++;
			(*n)--;
		}
		v |= (uint32_t)b << (8 * i);
	}
	return v;
}

/* A why-buffer must always come back a C string. */
#define FUZZ_WHY_OK(w) FUZZ_CHECK(memchr((w), '\0', sizeof(w)) != NULL)

#endif /* LDVM_FUZZ_H */
