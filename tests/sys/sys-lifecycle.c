/*
 * Domain lifecycle through the library, against real libxl and xenstored:
 * create paused from the default template, unpause, see the guest boot,
 * pause, unpause, destroy, and find nothing of it left.
 */
#include <stdio.h>
#include <string.h>

#include "ldvm_internal.h"
#include "systest.h"

static int
is_paused(struct ldvm_ctx *ctx, uint32_t domid)
{
	libxl_dominfo info;
	int paused;

	libxl_dominfo_init(&info);
	if (libxl_domain_info(ctx->xl, &info, domid) != 0)
		return -1;
	paused = info.paused;
	libxl_dominfo_dispose(&info);
	return paused;
}

int
main(int argc, char **argv)
{
	const char *tname = argc > 1 ? argv[1] : "default";
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	struct ldvm_template *t;
	uint32_t domid, found;
	char path[128], booted[8];
	int rc, how;
	int64_t t0;

	REQUIRE(ctx != NULL, "context allocated");
	rc = ldvm_connect(ctx, LDVM_CONNECT_XS | LDVM_CONNECT_XL);
	REQUIRE(rc == 0, "connect to xenstore and libxl (%s)", ldvm_errmsg(ctx));
	rc = ldvm_template_load(ctx, tname, &t);
	REQUIRE(rc == 0, "load template %s (%s)", tname, ldvm_errmsg(ctx));

	rc = ldvm_domain_lookup(ctx, "ldvm-lifecycle", &found);
	CHECK(rc == LDVM_ENOENT, "lookup of an absent name is ENOENT");

	t0 = ldvm__now_ms();
	rc = ldvm_domain_create(ctx, t, "ldvm-lifecycle", &domid);
	REQUIRE(rc == 0, "create domain (%s)", ldvm_errmsg(ctx));
	printf("# created domain %u in %lld ms\n", domid,
	    (long long)(ldvm__now_ms() - t0));
	CHECK(ldvm_domain_exists(ctx, domid) == 1, "domain %u exists", domid);
	rc = ldvm_domain_lookup(ctx, "ldvm-lifecycle", &found);
	CHECK(rc == 0 && found == domid, "lookup by name finds %u", domid);
	CHECK(is_paused(ctx, domid) == 1, "new domain is paused");

	/* Watch for the guest's init announcing itself before it can run. */
	snprintf(path, sizeof(path), "/local/domain/%u/data/booted", domid);
	REQUIRE(ldvm__xs_watch(ctx, path, "boot") == 0, "watch %s", path);
	rc = ldvm_domain_unpause(ctx, domid);
	CHECK(rc == 0 && is_paused(ctx, domid) == 0, "unpause (%s)",
	    ldvm_errmsg(ctx));
	t0 = ldvm__now_ms();
	booted[0] = '\0';
	while (ldvm__now_ms() - t0 < 60000) {
		if (ldvm__xs_wait_watch(ctx, 60000, NULL, 0, NULL, 0) != 0)
			break;
		if (ldvm__xs_read_untrusted(ctx, XBT_NULL, path, 4,
		    LDVM_V_UINT, booted, sizeof(booted)) == 0)
			break;
	}
	CHECK(strcmp(booted, "1") == 0, "guest booted and wrote data/booted "
	    "(%lld ms after unpause)", (long long)(ldvm__now_ms() - t0));
	ldvm__xs_unwatch(ctx, path, "boot");

	rc = ldvm_domain_pause(ctx, domid);
	CHECK(rc == 0 && is_paused(ctx, domid) == 1, "pause (%s)",
	    ldvm_errmsg(ctx));
	rc = ldvm_domain_unpause(ctx, domid);
	CHECK(rc == 0 && is_paused(ctx, domid) == 0, "unpause again");

	rc = ldvm_domain_wait(ctx, domid, 300, &how);
	CHECK(rc == LDVM_ETIMEDOUT, "wait on a running domain times out");

	rc = ldvm_domain_destroy(ctx, domid);
	CHECK(rc == 0, "destroy (%s)", ldvm_errmsg(ctx));
	CHECK(ldvm_domain_exists(ctx, domid) == 0, "domain %u is gone", domid);
	rc = ldvm_domain_lookup(ctx, "ldvm-lifecycle", &found);
	CHECK(rc == LDVM_ENOENT, "name is free again");
	rc = ldvm_domain_destroy(ctx, domid);
	CHECK(rc == LDVM_ENOENT, "second destroy says ENOENT");
	rc = ldvm_domain_destroy(ctx, 0);
	CHECK(rc == LDVM_EINVAL, "refuses to destroy dom0");

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	CHECK(xs_read(ctx->xs, XBT_NULL, path, NULL) == NULL,
	    "%s removed from xenstore", path);
	snprintf(path, sizeof(path), "/libxl/%u", domid);
	CHECK(xs_read(ctx->xs, XBT_NULL, path, NULL) == NULL,
	    "%s removed from xenstore", path);

	/* A guest that powers itself off: wait reports it, destroy cleans. */
	rc = ldvm_domain_create(ctx, t, "ldvm-lifecycle2", &domid);
	REQUIRE(rc == 0, "create second domain (%s)", ldvm_errmsg(ctx));
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown",
	    domid);
	ldvm_domain_unpause(ctx, domid);
	rc = ldvm_domain_destroy(ctx, domid);
	CHECK(rc == 0, "destroy a domain right after unpause");
	rc = ldvm_domain_wait(ctx, domid, 5000, &how);
	CHECK(rc == 0 && how == LDVM_DOM_DEAD,
	    "wait after destroy reports death (rc %d how %d)", rc, how);

	ldvm_template_free(t);
	ldvm_ctx_free(ctx);
	DONE();
}
