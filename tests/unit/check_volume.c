/* Volume snapshots on files and LVM path handling (lib/volume.c, lvm.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ldvm_internal.h"
#include "unit.h"

START_TEST(lvm_paths)
{
	char vg[65], lv[65];

	ck_assert(ldvm__lvm_split("/dev/qubes/root", vg, sizeof(vg), lv,
	    sizeof(lv)));
	ck_assert_str_eq(vg, "qubes");
	ck_assert_str_eq(lv, "root");
	ck_assert(!ldvm__lvm_split("/dev/xvda", vg, sizeof(vg), lv,
	    sizeof(lv)));
	ck_assert(!ldvm__lvm_split("/dev/a/b/c", vg, sizeof(vg), lv,
	    sizeof(lv)));
	ck_assert(!ldvm__lvm_split("/var/lib/x.img", vg, sizeof(vg), lv,
	    sizeof(lv)));
	ck_assert(!ldvm__lvm_split("/dev//x", vg, sizeof(vg), lv, sizeof(lv)));
	ck_assert(!ldvm__lvm_split("/dev/vg/", vg, sizeof(vg), lv,
	    sizeof(lv)));
	ck_assert(!ldvm__lvm_split("/dev/vg/-x", vg, sizeof(vg), lv,
	    sizeof(lv)));
	ck_assert(!ldvm__lvm_split("/dev/v g/x", vg, sizeof(vg), lv,
	    sizeof(lv)));
}
END_TEST

START_TEST(plan_file)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	char dst[256];

	ck_assert_int_eq(ldvm__vol_plan(ctx, "/var/lib/litedvm/t/root.img",
	    "disp4", "xvda", false, dst, sizeof(dst)), 0);
	ck_assert_str_eq(dst, "/var/lib/litedvm/t/.litedvm/disp4-xvda.img");
	ck_assert_int_eq(ldvm__vol_plan(ctx, "/x/root.img", "disp4", "../a",
	    false, dst, sizeof(dst)), LDVM_EINVAL);
	ck_assert_int_eq(ldvm__vol_plan(ctx, "/x/root.img", "disp4", "xvda",
	    false, dst, 8), LDVM_EINVAL);
	ldvm_ctx_free(ctx);
}
END_TEST

START_TEST(leaf_names)
{
	char d[LDVM_NAME_MAX + 1], v[LDVM_NAME_MAX + 1];

	ck_assert(ldvm__vol_leaf("disp12-xvda.img", ".img", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert_str_eq(d, "disp12");
	ck_assert_str_eq(v, "xvda");
	/* A vdev may hold '-' itself; the name never does. */
	ck_assert(ldvm__vol_leaf("disp3-xvd-b", "", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert_str_eq(d, "disp3");
	ck_assert_str_eq(v, "xvd-b");
	ck_assert(!ldvm__vol_leaf("disp12-xvda.img", "", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert(!ldvm__vol_leaf("disp12-xvda", ".img", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert(!ldvm__vol_leaf("disp12-.img", ".img", d, sizeof(d), v,
	    sizeof(v)));
	/* Names of dvm-create -N: letters, digits and '_'. */
	ck_assert(ldvm__vol_leaf("mail_2-xvda.img", ".img", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert_str_eq(d, "mail_2");
	ck_assert_str_eq(v, "xvda");
	ck_assert(!ldvm__vol_leaf("_x-xvda.img", ".img", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert(!ldvm__vol_leaf("a.b-xvda.img", ".img", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert(!ldvm__vol_leaf("-xvda.img", ".img", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert(!ldvm__vol_leaf("root.img", ".img", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert(!ldvm__vol_leaf("disp1-x.y.img", ".img", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert(!ldvm__vol_leaf(".img", ".img", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert(!ldvm__vol_leaf("disp1-xvda.img", ".img", d, 5, v,
	    sizeof(v)));
}
END_TEST

START_TEST(volume_paths)
{
	char d[LDVM_NAME_MAX + 1], v[LDVM_NAME_MAX + 1];

	ck_assert(ldvm__vol_parse("/t/.litedvm/disp7-xvda.img", d, sizeof(d),
	    v, sizeof(v)));
	ck_assert_str_eq(d, "disp7");
	ck_assert_str_eq(v, "xvda");
	ck_assert(ldvm__vol_parse("/dev/vg/disp7-xvdb", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert_str_eq(d, "disp7");
	ck_assert_str_eq(v, "xvdb");
	ck_assert(ldvm__vol_parse(LDVM_RAM_DIR "/disp7-xvdc.dev", d, sizeof(d),
	    v, sizeof(v)));
	ck_assert_str_eq(v, "xvdc");
	ck_assert(!ldvm__vol_parse(LDVM_RAM_DIR "/x/disp7-xvdc.dev", d,
	    sizeof(d), v, sizeof(v)));
	/* Outside litedvm's directory: a user's file, never ours. */
	ck_assert(!ldvm__vol_parse("/t/disp7-xvda.img", d, sizeof(d), v,
	    sizeof(v)));
	ck_assert(!ldvm__vol_parse("/t/x.litedvm/disp7-xvda.img", d,
	    sizeof(d), v, sizeof(v)));
	ck_assert(!ldvm__vol_parse(".litedvm/disp7-xvda.img", d, sizeof(d),
	    v, sizeof(v)));
	ck_assert(!ldvm__vol_parse("/.litedvm/", d, sizeof(d), v,
	    sizeof(v)));
	/* Only its litedvm tag tells a disposable's LV (leftover.c). */
	ck_assert(!ldvm__vol_parse("/dev/vg/tmplroot", d, sizeof(d), v,
	    sizeof(v)));
}
END_TEST

START_TEST(lvs_lines)
{
	char l1[] = "  ldvm/disp3-xvda/litedvm\n", l2[] = "  ldvm/pool/";
	char l3[] = "  vg/disp4-xvda/a,litedvmx,b", l4[] = "vg/x,litedvm";
	char l5[] = "  v g/lv/litedvm", l6[] = "vg/lv/b,litedvm";
	char *vg, *lv;
	bool tagged;

	ck_assert(ldvm__lvm_parse_line(l1, &vg, &lv, &tagged));
	ck_assert_str_eq(vg, "ldvm");
	ck_assert_str_eq(lv, "disp3-xvda");
	ck_assert(tagged);
	ck_assert(ldvm__lvm_parse_line(l2, &vg, &lv, &tagged));
	ck_assert_str_eq(lv, "pool");
	ck_assert(!tagged);
	ck_assert(ldvm__lvm_parse_line(l3, &vg, &lv, &tagged));
	ck_assert(!tagged);
	ck_assert(!ldvm__lvm_parse_line(l4, &vg, &lv, &tagged));
	ck_assert(!ldvm__lvm_parse_line(l5, &vg, &lv, &tagged));
	ck_assert(ldvm__lvm_parse_line(l6, &vg, &lv, &tagged));
	ck_assert(tagged);
}
END_TEST

/* The copy goes into litedvm's own directory, made on first use. */
START_TEST(snapshot_into_voldir)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	char dir[] = "/tmp/ldvm-vol-XXXXXX", origin[64], dst[256], sub[80];
	enum ldvm__voldrv drv;
	struct stat st;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(origin, sizeof(origin), "%s/root.img", dir);
	ck_assert_int_ge(fd = open(origin, O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	ck_assert_int_eq(ldvm__vol_plan(ctx, origin, "disp2", "xvda", false, dst,
	    sizeof(dst)), 0);
	ck_assert_int_eq(ldvm__vol_snapshot(ctx, origin, dst, 0, &drv), 0);
	snprintf(sub, sizeof(sub), "%s/.litedvm", dir);
	ck_assert_int_eq(lstat(sub, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(ldvm__vol_remove(ctx, dst), 0);
	/* Not a directory of ours: refused, nothing made. */
	ck_assert_int_eq(rmdir(sub), 0);
	ck_assert_int_eq(symlink("/tmp", sub), 0);
	ck_assert_int_eq(ldvm__vol_snapshot(ctx, origin, dst, 0, &drv),
	    LDVM_EPERM);
	ck_assert_int_eq(unlink(sub), 0);
	ck_assert_int_eq(unlink(origin), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	ldvm_ctx_free(ctx);
}
END_TEST

/* A sparse origin with data in two places; the copy must match it. */
START_TEST(snapshot_and_remove)
{
	struct ldvm_ctx *ctx = ldvm_ctx_new();
	char dir[] = "/tmp/ldvm-vol-XXXXXX", origin[64], dst[64];
	char a[4096], b[4096];
	enum ldvm__voldrv drv;
	struct stat st;
	int fd, i;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(origin, sizeof(origin), "%s/root.img", dir);
	snprintf(dst, sizeof(dst), "%s/disp1-xvda.img", dir);
	ck_assert_int_ge(fd = open(origin, O_WRONLY | O_CREAT, 0600), 0);
	memset(a, 'A', sizeof(a));
	ck_assert_int_eq(pwrite(fd, a, sizeof(a), 0), sizeof(a));
	memset(a, 'Z', sizeof(a));
	ck_assert_int_eq(pwrite(fd, a, sizeof(a), 8 << 20), sizeof(a));
	ck_assert_int_eq(ftruncate(fd, 16 << 20), 0);
	close(fd);

	ck_assert_int_eq(ldvm__vol_snapshot(ctx, origin, dst, 0, &drv), 0);
	ck_assert(drv == LDVM_VOL_REFLINK || drv == LDVM_VOL_COPY);
	ck_assert_int_eq(stat(dst, &st), 0);
	ck_assert_int_eq(st.st_size, 16 << 20);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_ge(fd = open(dst, O_RDONLY), 0);
	ck_assert_int_eq(pread(fd, b, sizeof(b), 0), sizeof(b));
	for (i = 0; i < (int)sizeof(b); i++)
		ck_assert_int_eq(b[i], 'A');
	ck_assert_int_eq(pread(fd, b, sizeof(b), 8 << 20), sizeof(b));
	for (i = 0; i < (int)sizeof(b); i++)
		ck_assert_int_eq(b[i], 'Z');
	ck_assert_int_eq(pread(fd, b, sizeof(b), 4 << 20), sizeof(b));
	for (i = 0; i < (int)sizeof(b); i++)
		ck_assert_int_eq(b[i], 0);
	close(fd);

	/* Never clobbers: a second snapshot to the same place is refused. */
	ck_assert_int_eq(ldvm__vol_snapshot(ctx, origin, dst, 0, &drv),
	    LDVM_EEXIST);
	ck_assert_int_eq(stat(dst, &st), 0);

	ck_assert_int_eq(ldvm__vol_remove(ctx, dst), 0);
	ck_assert_int_eq(stat(dst, &st), -1);
	/* Idempotent. */
	ck_assert_int_eq(ldvm__vol_remove(ctx, dst), 0);

	/* A missing origin leaves nothing behind. */
	unlink(origin);
	ck_assert_int_eq(ldvm__vol_snapshot(ctx, origin, dst, 0, &drv),
	    LDVM_ENOENT);
	ck_assert_int_eq(stat(dst, &st), -1);
	ck_assert_int_eq(rmdir(dir), 0);
	ldvm_ctx_free(ctx);
}
END_TEST

Suite *
volume_suite(void)
{
	Suite *s = suite_create("volume");
	TCase *core = tcase_create("core");

	tcase_add_test(core, lvm_paths);
	tcase_add_test(core, plan_file);
	tcase_add_test(core, snapshot_and_remove);
	tcase_add_test(core, leaf_names);
	tcase_add_test(core, volume_paths);
	tcase_add_test(core, lvs_lines);
	tcase_add_test(core, snapshot_into_voldir);
	suite_add_tcase(s, core);
	return s;
}
