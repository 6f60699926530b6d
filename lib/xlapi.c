/*
 * libxl and libxlutil, opened with dlopen(3) on first need (see xlapi.h):
 * one load per process, its result kept for every later caller.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define LDVM__XLAPI_TABLE
#include "xlapi.h"

/* The sonames, read from the installed libraries by the GNUmakefile. */
#if !defined(LDVM_XL_SONAME) || !defined(LDVM_XLU_SONAME)
#error "LDVM_XL_SONAME and LDVM_XLU_SONAME must be defined"
#endif

struct ldvm__xlapi ldvm__xl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failed[256];        /* why the load failed; "" when it did not */

/* Each entry of the table from the library h, or why not into failed. */
static int
fill(void *h, void **entry, const char *name)
{
	if ((*entry = dlsym(h, name)) != NULL)
		return 0;
	snprintf(failed, sizeof(failed), "%s", dlerror());
	return -1;
}

static void
load(void)
{
	void *xl, *xlu, *h;

	if ((xl = dlopen(LDVM_XL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (xlu = dlopen(LDVM_XLU_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(failed, sizeof(failed), "%s", dlerror());
		return;
	}
	/* A function's address as the void * dlsym gives (POSIX allows it). */
#define LDVM__XL_FILL(f) \
	if (fill(h, (void **)&ldvm__xl.f, #f) != 0) \
		return;
	h = xl;
	LDVM__XL_FUNCS(LDVM__XL_FILL)
	h = xlu;
	LDVM__XLU_FUNCS(LDVM__XL_FILL)
#undef LDVM__XL_FILL
}

const char *
ldvm__xl_load(void)
{
	if (pthread_once(&once, load) != 0)
		return "pthread_once failed";
	return failed[0] != '\0' ? failed : NULL;
}
