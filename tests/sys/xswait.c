/*
 * xswait PATH VALUE|-absent|-present|-count=N SECONDS: waits on a xenstore
 * watch until PATH holds VALUE (or is absent, or exists, or has N
 * children); exits 0 then, 1 on timeout.  Tests synchronise on state changes with it instead of sleeping.
 * xswait -domains N SECONDS: until Xen has N domains.
 * xswait -scrubbed SECONDS: until Xen has scrubbed every page freed by a
 * destroyed domain (benchmarks: its idle loop does it, on a CPU a guest
 * just woken may need).
 * xswait -quiet SECONDS: until the host is quiet: all its domains, dom0
 * included, used at most a tenth of one CPU over half a second, by the
 * hypervisor's count (benchmarks: a hotplug script or a helper's exit
 * still running after the state settled shares the CPU with a timed run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ldvm_internal.h"

static int
matches(struct ldvm_ctx *ctx, const char *path, const char *want)
{
	char *v;
	int rc = ldvm__xs_read(ctx, XBT_NULL, path, &v), ok;

	if (strcmp(want, "-absent") == 0)
		return rc == LDVM_ENOENT;
	if (strncmp(want, "-count=", 7) == 0) {
		unsigned n = 0;
		char **kids;

		if (rc == 0)
			free(v);
		kids = xs_directory(ctx->xs, XBT_NULL, path, &n);
		free(kids);
		if (kids == NULL)
			n = 0;
		return (int)n == atoi(want + 7);
	}
	if (rc != 0)
		return 0;
	ok = strcmp(want, "-present") == 0 || strcmp(v, want) == 0;
	free(v);
	return ok;
}

/* All domains, dying ones included, as Xen counts them. */
static int
domains(struct ldvm_ctx *ctx)
{
	libxl_dominfo *l;
	int n;

	if ((l = libxl_list_domain(ctx->xl, &n)) == NULL)
		return -1;
	libxl_dominfo_list_free(l, n);
	return n;
}

/* xswait -domains N SECONDS: until Xen has N domains (@releaseDomain). */
static int
wait_domains(int want, int secs)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	int64_t deadline = ldvm__now_ms() + secs * 1000LL;

	if (ctx == NULL || ldvm_connect(ctx, LDVM_CONNECT_XS |
	    LDVM_CONNECT_XL) != 0 || ldvm__xs_watch(ctx, "@releaseDomain",
	    "r") != 0) {
		fprintf(stderr, "xswait: %s\n", ldvm_errmsg(ctx));
		return 2;
	}
	while (domains(ctx) != want) {
		int64_t left = deadline - ldvm__now_ms();

		if (left <= 0 || ldvm__xs_wait_watch(ctx, (int)left, NULL, 0,
		    NULL, 0) == LDVM_ETIMEDOUT) {
			fprintf(stderr, "xswait: still %d domains after %d s\n",
			    domains(ctx), secs);
			return 1;
		}
	}
	ldvm_ctx_free(ctx);
	return 0;
}

/*
 * xswait -scrubbed SECONDS.  Xen raises no event when its scrubbing is
 * done, so this one polls, every 10 ms.
 */
static int
wait_scrubbed(int secs)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	int64_t deadline = ldvm__now_ms() + secs * 1000LL;
	libxl_physinfo pi;
	uint64_t left;

	if (ctx == NULL || ldvm_connect(ctx, LDVM_CONNECT_XL) != 0) {
		fprintf(stderr, "xswait: %s\n", ldvm_errmsg(ctx));
		return 2;
	}
	for (;;) {
		libxl_physinfo_init(&pi);
		if (libxl_get_physinfo(ctx->xl, &pi) != 0) {
			fprintf(stderr, "xswait: libxl_get_physinfo failed\n");
			return 2;
		}
		left = pi.scrub_pages;
		libxl_physinfo_dispose(&pi);
		if (left == 0)
			break;
		if (ldvm__now_ms() >= deadline) {
			fprintf(stderr, "xswait: %llu pages still to scrub "
			    "after %d s\n", (unsigned long long)left, secs);
			return 1;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	ldvm_ctx_free(ctx);
	return 0;
}

/* The hypervisor's CPU time of domain id, *ns; 0 when it is not listed. */
static int
cpu_of(const libxl_dominfo *l, int n, uint32_t id, uint64_t *ns)
{
	int i;

	for (i = 0; i < n; i++)
		if (l[i].domid == id) {
			*ns = l[i].cpu_time;
			return 1;
		}
	return 0;
}

/*
 * xswait -quiet SECONDS.  Xen raises no event when its domains go idle, so
 * this one polls: two listings half a second apart, the CPU time of the
 * domains in both summed (ldvm__cpu_quiet's rule, as for a pool member).
 */
static int
wait_quiet(int secs)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	int64_t deadline = ldvm__now_ms() + secs * 1000LL, t0, t1;
	libxl_dominfo *a = NULL, *b;
	uint64_t c0, c1, ns;
	int na = 0, nb, i;

	if (ctx == NULL || ldvm_connect(ctx, LDVM_CONNECT_XL) != 0) {
		fprintf(stderr, "xswait: %s\n", ldvm_errmsg(ctx));
		return 2;
	}
	for (;;) {
		t0 = ldvm__now_ms();
		if (a == NULL && (a = libxl_list_domain(ctx->xl, &na)) == NULL)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 500000000 }, NULL);
		if ((b = libxl_list_domain(ctx->xl, &nb)) == NULL)
			break;
		t1 = ldvm__now_ms();
		for (c0 = c1 = 0, i = 0; i < nb; i++)
			if (cpu_of(a, na, b[i].domid, &ns)) {
				c0 += ns;
				c1 += b[i].cpu_time;
			}
		libxl_dominfo_list_free(a, na);
		a = b;
		na = nb;
		if (ldvm__cpu_quiet(c0, c1, t1 - t0, 100)) {
			libxl_dominfo_list_free(a, na);
			ldvm_ctx_free(ctx);
			return 0;
		}
		if (t1 >= deadline) {
			fprintf(stderr, "xswait: the host used %llu ms of CPU "
			    "in %lld ms, still, after %d s\n",
			    (unsigned long long)((c1 - c0) / 1000000),
			    (long long)(t1 - t0), secs);
			libxl_dominfo_list_free(a, na);
			return 1;
		}
	}
	fprintf(stderr, "xswait: libxl_list_domain failed\n");
	return 2;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "-domains") == 0)
		return wait_domains(atoi(argv[2]), atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "-scrubbed") == 0)
		return wait_scrubbed(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "-quiet") == 0)
		return wait_quiet(atoi(argv[2]));
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	int64_t deadline;

	if (argc != 4) {
		fprintf(stderr, "usage: xswait path value|-absent|-present|-count=n "
		    "seconds\n");
		return 2;
	}
	if (ctx == NULL || ldvm_connect(ctx, LDVM_CONNECT_XS) != 0 ||
	    ldvm__xs_watch(ctx, argv[1], "w") != 0) {
		fprintf(stderr, "xswait: %s\n", ldvm_errmsg(ctx));
		return 2;
	}
	deadline = ldvm__now_ms() + atoi(argv[3]) * 1000LL;
	while (!matches(ctx, argv[1], argv[2])) {
		int64_t left = deadline - ldvm__now_ms();

		if (left <= 0 || ldvm__xs_wait_watch(ctx, (int)left, NULL, 0,
		    NULL, 0) == LDVM_ETIMEDOUT) {
			fprintf(stderr, "xswait: %s is not %s after %s s\n",
			    argv[1], argv[2], argv[3]);
			return 1;
		}
	}
	ldvm_ctx_free(ctx);
	return 0;
}
