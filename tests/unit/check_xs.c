/* xenstore layer parts that need no xenstored (lib/xs.c). */
#include <string.h>
#include <unistd.h>

#include "ldvm_internal.h"
#include "unit.h"

START_TEST(path_building)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	char buf[64];

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(ldvm__path(ctx, buf, sizeof(buf), "%s/disp/%s/%s",
	    LDVM_XS_ROOT, "disp3", "state"), 0);
	ck_assert_str_eq(buf, "/litedvm/disp/disp3/state");
	/* A name with a slash would escape its directory. */
	ck_assert_int_eq(ldvm__path(ctx, buf, sizeof(buf), "%s/disp/%s",
	    LDVM_XS_ROOT, "a/"), LDVM_EINVAL);
	ck_assert(strstr(ldvm_errmsg(ctx), "invalid xenstore path") != NULL);
	ck_assert_int_eq(ldvm__path(ctx, buf, sizeof(buf), "%s/disp/%s",
	    LDVM_XS_ROOT, "x y"), LDVM_EINVAL);
	ldvm_ctx_free(ctx);
}
END_TEST

/* A domain's own area, and the paths in it, made in one place. */
START_TEST(area_path)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	char buf[64], small[24];

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(ldvm__area_path(ctx, buf, sizeof(buf), 3, NULL), 0);
	ck_assert_str_eq(buf, "/local/domain/3/data/litedvm");
	ck_assert_int_eq(ldvm__area_path(ctx, buf, sizeof(buf), 12,
	    "/vchan/%lu", 7UL), 0);
	ck_assert_str_eq(buf, "/local/domain/12/data/litedvm/vchan/7");
	ck_assert_int_eq(ldvm__area_path(ctx, buf, sizeof(buf), 5,
	    "/open/%s", "a b"), LDVM_EINVAL);
	ck_assert(strstr(ldvm_errmsg(ctx), "invalid xenstore path") != NULL);
	/* Cut in the area's own part or in fmt's: refused either way. */
	ck_assert_int_eq(ldvm__area_path(ctx, small, sizeof(small), 5, NULL),
	    LDVM_EINVAL);
	ck_assert_int_eq(ldvm__area_path(ctx, buf, 30, 5, "/listen"),
	    LDVM_EINVAL);
	ck_assert(strstr(ldvm_errmsg(ctx), "too long") != NULL);
	ldvm_ctx_free(ctx);
}
END_TEST

START_TEST(path_truncation)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	char buf[16];

	ck_assert_int_eq(ldvm__path(ctx, buf, sizeof(buf), "%s/disp/%s",
	    LDVM_XS_ROOT, "averyveryverylongname"), LDVM_EINVAL);
	ck_assert(strstr(ldvm_errmsg(ctx), "too long") != NULL);
	ldvm_ctx_free(ctx);
}
END_TEST

START_TEST(needs_connection)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	char out[8];

	ck_assert_int_eq(ldvm__xs_watch(ctx, "/litedvm", "t"), LDVM_EINVAL);
	ck_assert(strstr(ldvm_errmsg(ctx), "not connected") != NULL);
	/*
	 * libxl and libxenctrl are connected when first needed: here, on no
	 * Xen, that fails and says why.
	 */
	ck_assert_int_eq(ldvm_domain_pause(ctx, 1), LDVM_EXEN);
	ck_assert(strstr(ldvm_errmsg(ctx), "libxenctrl") != NULL);
	ck_assert_int_eq(ldvm_domain_destroy(ctx, 1), LDVM_EXEN);
	ck_assert(strstr(ldvm_errmsg(ctx), "libxl") != NULL);
	(void)out;
	ldvm_ctx_free(ctx);
}
END_TEST

/*
 * The build and CI machines run on no Xen at all: connecting there says
 * so and what litedvm needs, not only "No such file or directory".
 */
START_TEST(no_xen_named)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();

	if (access("/sys/hypervisor/type", F_OK) == 0 ||
	    access("/proc/xen", F_OK) == 0) {
		ldvm_ctx_free(ctx);
		return;         /* a Xen machine: nothing to see here */
	}
	ck_assert_int_eq(ldvm_connect(ctx, LDVM_CONNECT_XS), LDVM_EXEN);
	ck_assert(strstr(ldvm_errmsg(ctx), "does not run on Xen") != NULL);
	ck_assert(strstr(ldvm_errmsg(ctx), "Xen dom0") != NULL);
	ck_assert_int_eq(ldvm_connect(ctx, LDVM_CONNECT_XL), LDVM_EXEN);
	ck_assert(strstr(ldvm_errmsg(ctx), "does not run on Xen") != NULL);
	ck_assert_str_eq(ldvm_strerror(LDVM_EBUSY), "in use");
	ldvm_ctx_free(ctx);
}
END_TEST

START_TEST(errors_named)
{
	ck_assert_str_eq(ldvm_strerror(LDVM_OK), "success");
	ck_assert_str_eq(ldvm_strerror(LDVM_ETIMEDOUT), "timed out");
	ck_assert_str_eq(ldvm_strerror(-999), "unknown error");
	ck_assert_str_eq(ldvm_strerror(5), "unknown error");
	ck_assert_str_eq(ldvm_errmsg(NULL), "out of memory");
}
END_TEST

Suite *
xs_suite(void)
{
	Suite *s = suite_create("xs");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_test(core, path_building);
	tcase_add_test(core, area_path);
	tcase_add_test(core, needs_connection);
	tcase_add_test(core, errors_named);
	tcase_add_test(core, no_xen_named);
	tcase_add_test(limits, path_truncation);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}
