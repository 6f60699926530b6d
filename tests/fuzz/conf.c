/*
 * ldvm__conf_get and ldvm_default_template: dom0's litedvm.conf (xl.cfg
 * syntax) and the values litedvm reads from it, each then put through the
 * check its user applies.  The input is the file, in a directory made for
 * the run (LITEDVM_CONFDIR).
 */
#include <unistd.h>

#include "fuzz.h"

static struct ldvm_ctx *ctx;
static char dir[] = "/tmp/ldvm-fuzz-conf-XXXXXX";
static char file[sizeof(dir) + 16];

static void
cleanup(void)
{
	unlink(file);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((ctx = ldvm_ctx_new()) == NULL || mkdtemp(dir) == NULL ||
	    setenv("LITEDVM_CONFDIR", dir, 1) != 0)
		abort();
	snprintf(file, sizeof(file), "%s/litedvm.conf", dir);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "open_max_size", "open_rate",
	    "open_max_total", "preload_min_free_memory", "preload_builds",
	    "default_template" };
	char v[64], tmpl[LDVM_NAME_MAX + 1];
	unsigned long n;
	uint64_t sz;
	size_t i;
	FILE *f;
	int rc;

	if ((f = fopen(file, "we")) == NULL)
		abort();
	if (fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		memset(v, 'x', sizeof(v));
		rc = ldvm__conf_get(ctx, keys[i], v, sizeof(v));
		FUZZ_CHECK(rc == 0 || rc == LDVM_ENOENT || rc == LDVM_EINVAL);
		if (rc != 0)
			continue;
		FUZZ_CHECK(memchr(v, '\0', sizeof(v)) != NULL);
		(void)ldvm__parse_size(v, &sz);
		(void)ldvm__parse_uint(v, strlen(v), ~0UL, &n);
	}
	memset(tmpl, 'x', sizeof(tmpl));
	if (ldvm_default_template(ctx, tmpl, sizeof(tmpl)) == 0)
		FUZZ_CHECK(ldvm__valid_name(tmpl, LDVM_NAME_MAX));
	return 0;
}
