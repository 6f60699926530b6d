/*
 * Helpers for system test programs run inside the emulated Xen host.
 * Each check prints one line, "PASS: what" or "FAIL: what"; the harness
 * (tests/system.sh) counts them.
 */
#ifndef SYSTEST_H
#define SYSTEST_H

#include <stdio.h>
#include <stdlib.h>

static int st_failed;

#define CHECK(cond, ...) do {						\
	int st_ok_ = (cond);						\
	printf("%s: ", st_ok_ ? "PASS" : "FAIL");			\
	printf(__VA_ARGS__);						\
	putchar('\n');							\
	fflush(stdout);							\
	if (!st_ok_)							\
		st_failed++;						\
} while (0)

/* A step the rest depends on: stop the program when it fails. */
#define REQUIRE(cond, ...) do {						\
	CHECK(cond, __VA_ARGS__);					\
	if (st_failed)							\
		exit(1);						\
} while (0)

#define DONE() return st_failed ? 1 : 0

#endif
