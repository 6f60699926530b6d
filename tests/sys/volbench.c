/*
 * volbench ORIGIN N [ram]: creates and removes a disposable's copy of ORIGIN
 * N times through the volume layer (the driver is chosen as for a real
 * disposable: reflink, plain copy or LVM thin snapshot) and prints the
 * median and p95 of create and of remove.  With "ram", the volume is a
 * RAM-only one (litedvm_volatile = "ram", 256 MiB cap).  A benchmark, not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldvm_internal.h"

static int
cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	enum ldvm__voldrv drv = LDVM_VOL_COPY;
	int64_t *mk, *rm, t0;
	char dst[4096], name[32];
	uint64_t cap;
	int i, n;

	if ((argc != 3 && (argc != 4 || strcmp(argv[3], "ram") != 0)) || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: volbench origin n [ram]\n");
		return 2;
	}
	mk = calloc(n, sizeof(*mk));
	rm = calloc(n, sizeof(*rm));
	cap = argc == 4 ? (uint64_t)256 << 20 : 0;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "disp%d", 900000 + i);
		if (ldvm__vol_plan(ctx, argv[1], name, "xvda", cap != 0,
		    dst, sizeof(dst)) != 0)
			goto fail;
		t0 = ldvm__now_ms();
		if (ldvm__vol_snapshot(ctx, argv[1], dst, cap, &drv) != 0)
			goto fail;
		mk[i] = ldvm__now_ms() - t0;
		t0 = ldvm__now_ms();
		if (ldvm__vol_remove(ctx, dst) != 0)
			goto fail;
		rm[i] = ldvm__now_ms() - t0;
	}
	qsort(mk, n, sizeof(*mk), cmp);
	qsort(rm, n, sizeof(*rm), cmp);
	printf("%-9s create median %5lld ms p95 %5lld ms   remove median %5lld "
	    "ms p95 %5lld ms   (n=%d, %s)\n", ldvm__vol_drvname(drv),
	    (long long)mk[(n - 1) / 2], (long long)mk[(n * 95 + 99) / 100 - 1],
	    (long long)rm[(n - 1) / 2], (long long)rm[(n * 95 + 99) / 100 - 1],
	    n, argv[1]);
	return 0;
fail:
	fprintf(stderr, "volbench: %s\n", ldvm_errmsg(ctx));
	return 1;
}
